"""One small registry class for everything chosen by name (methods, losses, checks)."""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from softlabels.core.errors import UnknownNameError
from softlabels.core.validation import suggest

T = TypeVar("T")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """Names to objects (or to lazy ``"module:attr"`` import paths).

    A duplicate name is an error; an unknown name gets the closest matches.

    Parameters
    ----------
    kind : str
        What the entries are (``"method"``, ``"loss"``), for error messages.
    listing : str
        Where to list the names, for the error on an unknown name.
    """

    def __init__(self, kind: str, listing: str) -> None:
        self.kind = kind
        self.listing = listing
        self._entries: dict[str, T | str] = {}
        self._summaries: dict[str, str] = {}

    def register(
        self, name: str, obj: T | str | None = None, *, summary: str = ""
    ) -> Callable[[T], T] | None:
        """Add ``obj`` under ``name``; without ``obj``, a decorator that adds what it
        decorates.

        Parameters
        ----------
        name : str
            A name not yet taken (otherwise ``ValueError``).
        obj : object or str, optional
            The entry, or a lazy ``"module:attr"`` path imported on first :meth:`get`.
        summary : str, default=""
            One line on the entry.

        Returns
        -------
        callable or None
            The decorator when ``obj`` is omitted.
        """
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered.")

        def add(target: T | str) -> Any:
            self._entries[name] = target
            self._summaries[name] = summary
            return target

        if obj is None:
            return add  # used as a decorator
        add(obj)
        return None

    def get(self, name: str) -> T:
        """The entry under ``name`` (a lazy path is imported now).

        Parameters
        ----------
        name : str
            A registered name; another raises
            :class:`~softlabels.core.errors.UnknownNameError` with the closest names.
        """
        if name not in self._entries:
            raise UnknownNameError(
                f"Unknown {self.kind} {name!r}.{suggest(name, self._entries)} "
                f"See {self.listing}."
            )
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module), attr)
            self._entries[name] = entry
        return entry  # type: ignore[return-value]

    def peek(self, name: str) -> T | str | None:
        """The entry under ``name`` as stored (a lazy path is not imported), or None.

        Parameters
        ----------
        name : str
        """
        return self._entries.get(name)

    def remove(self, name: str) -> None:
        """Forget ``name`` (to register it again, e.g. after a module reload).

        Parameters
        ----------
        name : str
            A registered name (otherwise ``KeyError``).
        """
        del self._entries[name]
        del self._summaries[name]

    def names(self, pattern: str = "*") -> list[str]:
        """The registered names matching the glob ``pattern``, in registration order.

        Parameters
        ----------
        pattern : str, default="*"
        """
        return [n for n in self._entries if fnmatch.fnmatchcase(n, pattern)]

    def summary(self, name: str) -> str:
        """The one line registered with ``name``.

        Parameters
        ----------
        name : str
            A registered name (as for :meth:`get`).
        """
        self.get(name)  # raise the helpful KeyError for unknown names
        return self._summaries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries
