"""The page model of the report: sections made of blocks, alerts, and the context every
section builder reads and adds to (facts, alerts, shared results)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from markupsafe import Markup

from softlabels.report import svg
from softlabels.report.data import ReportData

__all__ = [
    "Alert",
    "Block",
    "Context",
    "Section",
    "Skip",
    "ambiguity",
    "answers_evidence",
    "columns",
    "figure",
    "metrics",
    "table",
    "text",
    "vote_ambiguity",
]


@dataclass
class Block:
    """One piece of a section: ``metrics``, ``figure``, ``table``, ``text``,
    ``keyvalue``, ``heading`` or ``columns`` (side-by-side lists of blocks).

    Parameters
    ----------
    kind : str
        The kind of block.
    data : dict
        What the page template shows for it.
    """

    kind: str
    data: dict[str, Any]


@dataclass
class Section:
    """One section of the report page.

    Parameters
    ----------
    id : str
        The check's name, used as the section's id.
    title : str
        The section's heading.
    lead : str, default=""
        Text under the heading.
    blocks : list of Block
        The section's content.
    """

    id: str
    title: str
    lead: str = ""
    blocks: list[Block] = field(default_factory=list)


class Skip(Exception):
    """Raised by a section builder that cannot run on these inputs (with the reason)."""


@dataclass
class Alert:
    """A warning shown at the top of the report.

    Parameters
    ----------
    id : str
        The alert's id.
    severity : str
        ``"info"``, ``"warn"`` or ``"critical"``.
    message : str
        What was found.
    mitigation : str, default=""
        What to do about it.
    """

    id: str
    severity: str  # "info", "warn" or "critical"
    message: str
    mitigation: str = ""


def metrics(*items: tuple[str, str, str]) -> Block:
    """Headline numbers: ``(label, value, hint)`` each.

    Parameters
    ----------
    *items : tuple of (str, str, str)
        Label, formatted value and hint of each number.

    Returns
    -------
    Block
    """
    return Block("metrics", {"items": [{"label": a, "value": b, "hint": c} for a, b, c in items]})


def figure(chart: Markup, caption: str = "", wide: bool = True) -> Block:
    """An inline SVG chart (see :mod:`softlabels.report.svg`).

    Parameters
    ----------
    chart : Markup
        The SVG.
    caption : str, default ''
        Caption under the chart.
    wide : bool, default True
        Whether the chart takes the page's full width.

    Returns
    -------
    Block
    """
    return Block("figure", {"svg": chart, "caption": caption, "wide": wide})


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, numeric: Sequence[bool],
          total: int | None = None, caption: str = "", max_rows: int) -> Block:
    """A table of at most ``max_rows`` rows; the page says how many of ``total`` are left out.

    Parameters
    ----------
    columns : sequence of str
        Column headings.
    rows : sequence of sequences
        The rows; each value is shown as ``str(value)``.
    numeric : sequence of bool
        Whether each column is numeric (right-aligned).
    total : int, optional
        Number of rows in all (``len(rows)`` if None).
    caption : str, default ''
        Caption under the table.
    max_rows : int
        Most rows shown.

    Returns
    -------
    Block
    """
    shown = [[str(v) for v in r] for r in rows[:max_rows]]
    total = len(rows) if total is None else total
    return Block("table", {
        "columns": list(columns), "numeric": list(numeric), "rows": shown,
        "omitted": max(total - len(shown), 0), "caption": caption,
    })


def text(text: str) -> Block:
    """A paragraph.

    Parameters
    ----------
    text : str
        The paragraph's text.

    Returns
    -------
    Block
    """
    return Block("text", {"text": text})


def columns(*cols: list[Block]) -> Block:
    """Lists of blocks shown side by side.

    Parameters
    ----------
    *cols : list of Block
        The blocks of each column.

    Returns
    -------
    Block
    """
    return Block("columns", {"cols": list(cols)})


@dataclass
class Context:
    """What every section builder gets: the resolved inputs and the report options; it
    adds label facts and alerts, and caches results other sections reuse.

    Parameters
    ----------
    data : ReportData
        The resolved inputs.
    max_rows : int
        Most rows of a table.
    alpha : float
        Miscoverage level of the conformal prediction sets.
    n_bins : int
        Confidence bins of the reliability diagram.
    random_state : int
        Seed of the calibration/test split used for the conformal summary.
    facts : list of (str, str, str)
        Label facts as ``(group, label, value)``.
    alerts : list of Alert
        The alerts found so far.
    results : dict
        Results cached for other sections.
    """

    data: ReportData
    max_rows: int
    alpha: float
    n_bins: int
    random_state: int
    facts: list[tuple[str, str, str]] = field(default_factory=list)  # (group, label, value)
    alerts: list[Alert] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)

    def class_name(self, code: int, max_len: int = 40) -> str:
        return svg.clean_text(self.data.classes[int(code)], max_len)


#: Most classes listed in the answers evidence of one item.
EVIDENCE = 6


def answers_evidence(ctx: Context, rows: np.ndarray) -> list[str]:
    """'G×3 · P×2' per item: the answers behind each listed item.

    Parameters
    ----------
    ctx : Context
        The report's context.
    rows : numpy.ndarray of int
        The items listed, as rows of the report's item order.

    Returns
    -------
    list of str
        Up to :data:`EVIDENCE` classes per item, most answered first; empty strings
        without answers.
    """
    ann = ctx.data.ann
    if ann is None:
        return [""] * len(rows)
    counts = ann.counts[rows]
    out = []
    for c in counts:
        order = [k for k in np.argsort(-c, kind="stable") if c[k] > 0]
        parts = [f"{ctx.class_name(k, 16)}\u00d7{int(c[k])}" for k in order[:EVIDENCE]]
        if len(order) > EVIDENCE:
            parts.append(f"+{len(order) - EVIDENCE} more")
        out.append(" \u00b7 ".join(parts))
    return out


def _entropy(probs: Any) -> np.ndarray:
    """Normalised entropy of each row, within [0, 1]: rounding puts a uniform row of
    some class counts (5, 7, 13, ...) at 1 + 2e-16, outside the histograms' range."""
    from softlabels.audit.agreement import item_ambiguity

    return np.clip(item_ambiguity(probs), 0.0, 1.0)


def ambiguity(ctx: Context) -> np.ndarray:
    """Normalised entropy of each consensus soft label (computed once).

    Parameters
    ----------
    ctx : Context
        The report's context (the result is cached in ``ctx.results``).

    Returns
    -------
    numpy.ndarray, shape (n_items,)
    """
    if "ambiguity" not in ctx.results:
        ctx.results["ambiguity"] = _entropy(ctx.data.soft)
    return ctx.results["ambiguity"]


def vote_ambiguity(ctx: Context) -> np.ndarray | None:
    """Normalised entropy of each item's vote shares (None without answers).

    Parameters
    ----------
    ctx : Context
        The report's context (the result is cached in ``ctx.results``).

    Returns
    -------
    numpy.ndarray of shape (n_items,), or None
    """
    ann = ctx.data.ann
    if ann is None:
        return None
    if "vote_ambiguity" not in ctx.results:
        counts = ann.counts
        ctx.results["vote_ambiguity"] = _entropy(counts / counts.sum(axis=1, keepdims=True))
    return ctx.results["vote_ambiguity"]
