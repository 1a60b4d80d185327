"""The registry of audit checks: each section of the report is one registered check.

A check is a function ``build(ctx) -> (lead, blocks)`` in its own module under
:mod:`softlabels.report.sections`, registered where it is defined::

    @register_check("answer-count", order=25, title="Answers per item",
                    needs=has_answers, reason="needs crowd answers")
    def answer_count(ctx: Context) -> tuple[str, list[Block]]:
        ...

Every module of that package is imported when the checks are first listed
(:func:`list_checks`), so adding a check is adding one file. The page shows the checks
in increasing ``order``; one whose ``needs`` is false for the inputs is listed at the
end of the page with its ``reason`` (or left out when the reason is empty), and one
that raises :class:`~softlabels.report.page.Skip` is listed with the skip's message.

>>> from softlabels.report import list_checks
>>> list_checks()[:3]
['provenance', 'class-balance', 'annotators']
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from softlabels.report.data import ReportData
    from softlabels.report.page import Block, Context

__all__ = [
    "Check",
    "NEEDS_MODEL",
    "NEEDS_SOFT",
    "always",
    "get_check",
    "has_answers",
    "has_model",
    "has_soft",
    "list_checks",
    "register_check",
    "registered_checks",
]

Builder = Callable[["Context"], "tuple[str, list[Block]]"]


@dataclass(frozen=True)
class Check:
    """One registered check: its name (the section's id), title, place on the page, the
    inputs it needs (and the reason shown when they are missing) and its builder.

    Parameters
    ----------
    name : str
        The check's name, the section's id.
    title : str
        The section's heading.
    order : int
        Its place on the page.
    build : callable
        ``build(context) -> (lead, blocks)``: the section's lead text and content.
    needs : callable
        ``needs(data) -> bool``: whether the report's inputs have what the check needs.
    reason : str, default=""
        Shown at the end of the page when ``needs`` is false.
    """

    name: str
    title: str
    order: int
    build: Builder
    needs: Callable[[ReportData], bool]
    reason: str = ""


_CHECKS: dict[str, Check] = {}
_DISCOVERED = False


def always(data: ReportData) -> bool:
    """Every input set has what the check needs.

    Parameters
    ----------
    data : ReportData
        The report's inputs.

    Returns
    -------
    bool
    """
    return True


def has_answers(data: ReportData) -> bool:
    """Crowd answers were given.

    Parameters
    ----------
    data : ReportData
        The report's inputs.

    Returns
    -------
    bool
    """
    return data.ann is not None


def has_soft(data: ReportData) -> bool:
    """Soft labels were given or fitted.

    Parameters
    ----------
    data : ReportData
        The report's inputs.

    Returns
    -------
    bool
    """
    return data.soft is not None


def has_model(data: ReportData) -> bool:
    """Predicted probabilities, and labels (given or from the consensus), are known.

    Parameters
    ----------
    data : ReportData
        The report's inputs.

    Returns
    -------
    bool
    """
    return data.pred is not None and data.labels is not None


NEEDS_MODEL = "needs pred_probs, with labels or crowd answers"
NEEDS_SOFT = "needs crowd answers or soft labels"


def register_check(
    name: str,
    *,
    order: int,
    title: str,
    needs: Callable[[ReportData], bool] = always,
    reason: str = "",
) -> Callable[[Builder], Builder]:
    """Register the decorated builder as the check ``name`` (kebab-case; the section id).

    A second check of the same name from another function is an error; registering the
    same function again (a reloaded module) replaces the entry.

    Parameters
    ----------
    name : str
        The check's name, lower-case without spaces (otherwise ``ValueError``).
    order : int
        Its place on the page: checks are shown by increasing ``order``, then name.
    title : str
        The section's heading.
    needs : callable, default=always
        ``needs(data) -> bool``: whether the report's inputs have what the check needs.
    reason : str, default=""
        Shown at the end of the page when ``needs`` is false (the check is left out
        when it is empty).

    Returns
    -------
    callable
        The decorator, which registers the builder and returns it unchanged.
    """
    if not name or name != name.strip().lower() or " " in name:
        raise ValueError(f"check names are lower-case without spaces; got {name!r}.")

    def decorate(build: Builder) -> Builder:
        old = _CHECKS.get(name)
        if old is not None and (old.build.__module__, old.build.__qualname__) != (
            build.__module__, build.__qualname__
        ):
            raise ValueError(
                f"the check {name!r} is registered twice: by {old.build.__module__}."
                f"{old.build.__qualname__} and by {build.__module__}.{build.__qualname__}."
            )
        _CHECKS[name] = Check(name, title, int(order), build, needs, reason)
        return build

    return decorate


def _discover() -> None:
    """Import every module of :mod:`softlabels.report.sections` (once)."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    from softlabels.report import sections

    for info in sorted(pkgutil.iter_modules(sections.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{sections.__name__}.{info.name}")
    _DISCOVERED = True


def registered_checks() -> list[Check]:
    """Every check, in page order (by ``order``, then name)."""
    _discover()
    return sorted(_CHECKS.values(), key=lambda c: (c.order, c.name))


def list_checks() -> list[str]:
    """The names of the report's checks, in the order the page shows them."""
    return [c.name for c in registered_checks()]


def get_check(name: str) -> Check:
    """The registered check ``name``.

    Parameters
    ----------
    name : str
        The check's name.

    Returns
    -------
    Check

    Raises
    ------
    UnknownNameError
        When no check has that name (the message suggests the nearest names).
    """
    _discover()
    try:
        return _CHECKS[name]
    except KeyError:
        from softlabels.core.errors import UnknownNameError
        from softlabels.core.validation import suggest

        raise UnknownNameError(f"no check named {name!r}." + suggest(name, _CHECKS)) from None
