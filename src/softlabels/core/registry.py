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
    """

    def __init__(self, kind: str, listing: str) -> None:
        self.kind = kind
        self.listing = listing
        self._entries: dict[str, T | str] = {}
        self._summaries: dict[str, str] = {}

    def register(
        self, name: str, obj: T | str | None = None, *, summary: str = ""
    ) -> Callable[[T], T] | None:
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
        """The entry under ``name`` as stored (a lazy path is not imported), or None."""
        return self._entries.get(name)

    def remove(self, name: str) -> None:
        """Forget ``name`` (to register it again, e.g. after a module reload)."""
        del self._entries[name]
        del self._summaries[name]

    def names(self, pattern: str = "*") -> list[str]:
        return [n for n in self._entries if fnmatch.fnmatchcase(n, pattern)]

    def summary(self, name: str) -> str:
        self.get(name)  # raise the helpful KeyError for unknown names
        return self._summaries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries
