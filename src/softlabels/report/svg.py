"""Small inline-SVG charts for the HTML report (no plotting library needed).

Every function returns a :class:`markupsafe.Markup` string holding one ``<svg>``
element. All text that may come from users (class names, worker ids, titles) is
escaped for XML text and attributes, and characters that XML 1.0 forbids are replaced,
so each chart parses as XML on its own and cannot break out of its element when it is
inlined into HTML. Numbers are checked to be finite before they are written.

Charts scale to their container (``viewBox`` with ``width="100%"``); colours and fonts
come from CSS classes (``sl-bar``, ``sl-axis``, ...) so the page's stylesheet controls
the look, with plain presentation attributes as a fallback.
"""

from __future__ import annotations

import math
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from markupsafe import Markup, escape

__all__ = [
    "clean_text",
    "nice_ticks",
    "bar_chart",
    "histogram",
    "column_chart",
    "scatter_plot",
    "reliability_plot",
]

#: Series colours (colour-blind friendly, Okabe-Ito based), used in order.
PALETTE = ("#3b6ea5", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00")

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_FONT = 12  # px; the page's font size for chart text
_CHAR_W = 0.58 * _FONT  # average glyph width used to size label gutters


#: Bidi classes that reorder neighbouring text: right-to-left letters and digits, and
#: the explicit embeddings, overrides and isolates.
_BIDI_ACTIVE = frozenset({"R", "AL", "AN", "LRE", "RLE", "LRO", "RLO", "PDF",
                          "LRI", "RLI", "FSI", "PDI"})


def _isolate(s: str) -> str:
    """``s`` between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE when it holds
    right-to-left text or bidi controls, so that it cannot reorder the text written
    around it (a U+202E in a name would show '12 answers' after it as 'srewsna 21').
    A closing isolate in ``s`` with no opening one before it is replaced by U+FFFD
    (it would end the isolation early)."""
    if s.isascii() or not any(unicodedata.bidirectional(c) in _BIDI_ACTIVE for c in s):
        return s
    depth, out = 0, []
    for c in s:
        if c in "\u2066\u2067\u2068":
            depth += 1
        elif c == "\u2069":
            if not depth:
                c = "\ufffd"
            depth = max(depth - 1, 0)
        out.append(c)
    return "\u2068" + "".join(out) + "\u2069"


def clean_text(value: Any, max_len: int | None = None) -> str:
    """``str(value)`` with XML-invalid characters replaced by U+FFFD, optionally
    shortened to ``max_len`` characters (ending in an ellipsis), and isolated from the
    surrounding text (U+2068 ... U+2069) when it holds right-to-left text or bidi
    controls. Not escaped.

    Parameters
    ----------
    value : Any
        The value shown.
    max_len : int, optional
        Largest number of characters kept (none if None).

    Returns
    -------
    str
    """
    s = _XML_INVALID.sub("\ufffd", str(value))
    if max_len is not None and len(s) > max_len:
        s = s[: max(max_len - 1, 1)] + "\u2026"
    return _isolate(s)


def _t(value: Any, max_len: int | None = None) -> str:
    """Escaped text, safe in XML/HTML text nodes and quoted attributes."""
    return str(escape(clean_text(value, max_len)))


def _n(x: float) -> str:
    """A coordinate: finite, compact (two decimals at most)."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"cannot draw a non-finite coordinate ({x!r}).")
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values (steps of 1, 2 or 5 times a power of ten)
    covering ``[lo, hi]``; the first tick is <= lo and the last >= hi.

    Parameters
    ----------
    lo : float
        Lowest value to cover.
    hi : float
        Highest value to cover.
    n : int, default 5
        About how many ticks.

    Returns
    -------
    list of float

    Examples
    --------
    >>> nice_ticks(0, 87)
    [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    >>> nice_ticks(0, 1)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("tick range must be finite.")
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        hi = lo + (abs(lo) if lo else 1.0)
    # the step is at least 1e-14 of the values' magnitude (and a normal float), so that
    # the ticks stay distinct where lo and hi are a few float spacings apart
    floor = max(1e-14 * max(abs(lo), abs(hi)), sys.float_info.min)
    raw = max(hi / max(n, 1) - lo / max(n, 1), floor)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= raw * (1 - 1e-9))
    digits = max(0, -int(math.floor(math.log10(step))) + 1)

    def tick(i: int) -> float:
        return round(i * step, digits) + 0.0

    i0, i1 = math.floor(lo / step), math.ceil(hi / step)
    while tick(i0) > lo:
        i0 -= 1
    while tick(i1) < hi:
        i1 += 1
    ticks = [tick(i) for i in range(i0, i1 + 1)]
    if not (math.isfinite(ticks[0]) and math.isfinite(ticks[-1])):
        raise ValueError(f"tick range [{lo:g}, {hi:g}] is too large to draw.")
    return ticks


def _fmt_tick(v: float, digits: int | None = None) -> str:
    """A tick label; ``digits`` significant digits where the default ones would make
    two labels of one axis equal (see :func:`_tick_labels`)."""
    if v == 0:
        return "0"
    a = abs(v)
    g = f".{digits}g" if digits else "g"
    if a >= 1e6:
        return f"{v / 1e6:{g}}M"
    if a >= 1e4:
        return f"{v / 1e3:{g}}k"
    if a >= 1:
        return f"{v:,.{max(digits or 0, 10)}g}"
    return f"{v:.{digits or 3}g}"


def _fmt_percent(v: float, digits: int | None = None) -> str:
    return f"{v:.{digits or 0}%}"


def _tick_labels(ticks: Sequence[float], fmt: Any = _fmt_tick) -> list[str]:
    """The labels of one axis's ticks (``fmt`` is :func:`_fmt_tick` or
    :func:`_fmt_percent`), with as many digits as it takes to tell them apart (ticks a
    small step apart on large values: 12.34567M, 12.34568M; small shares: 0.2%, 0.4%)."""
    labels = [fmt(t) for t in ticks]
    digits = 1 if fmt is _fmt_percent else 4
    while len(set(labels)) < len(labels) and digits <= 17:
        labels = [fmt(t, digits) for t in ticks]
        digits += 1
    return labels


def _svg(width: float, height: float, title: str, body: list[str], desc: str = "") -> Markup:
    label = _t(title)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sl-chart" role="img" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" aria-label="{label}" '
        f'font-size="{_FONT}" font-family="system-ui, sans-serif">',
        f"<title>{label}</title>",
    ]
    if desc:
        parts.append(f"<desc>{_t(desc)}</desc>")
    parts.extend(body)
    parts.append("</svg>")
    return Markup("".join(parts))


def _text(x: float, y: float, s: Any, *, anchor: str = "start", cls: str = "sl-label",
          max_len: int | None = None) -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" class="{cls}">'
        f"{_t(s, max_len)}</text>"
    )


def _line(x1: float, y1: float, x2: float, y2: float, cls: str) -> str:
    return f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" class="{cls}"/>'


def _rect(x: float, y: float, w: float, h: float, cls: str, fill: str | None = None,
          tip: str | None = None) -> str:
    f = f' fill="{fill}"' if fill else ""
    inner = f"<title>{_t(tip)}</title>" if tip else ""
    return (
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0.0))}" '
        f'height="{_n(max(h, 0.0))}" class="{cls}"{f}>{inner}</rect>'
    )


def _frac(v: float, lo: float, hi: float) -> float:
    """Where ``v`` lies from ``lo`` (0) to ``hi`` (1), without overflow for values
    near the float maximum (where ``hi - lo`` itself would overflow)."""
    if math.isfinite(hi - lo):
        return (v - lo) / (hi - lo)
    return (v / 2 - lo / 2) / (hi / 2 - lo / 2)


def _finite(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite.")
    return arr


def _value_axis_x(x0: float, x1: float, top: float, bottom: float, vmax: float,
                  label: str, fmt: Any = _fmt_tick) -> tuple[list[str], float]:
    """Vertical grid lines and tick labels for a horizontal value axis starting at 0."""
    ticks = nice_ticks(0.0, vmax if vmax > 0 else 1.0)
    tmax = ticks[-1]
    shown = _tick_labels(ticks, fmt)
    out = []
    for tv, lab in zip(ticks, shown):
        x = x0 + (x1 - x0) * _frac(tv, 0.0, tmax)
        out.append(_line(x, top, x, bottom, "sl-grid"))
        out.append(_text(x, bottom + 14, lab, anchor="middle", cls="sl-tick"))
    if label:
        out.append(_text((x0 + x1) / 2, bottom + 30, label, anchor="middle", cls="sl-axis-label"))
    return out, tmax


def _value_axis_y(x0: float, x1: float, top: float, bottom: float, lo: float, hi: float,
                  label: str, ticks: list[float] | None = None) -> tuple[list[str], float, float]:
    ticks = ticks or nice_ticks(lo, hi if hi > lo else lo + 1.0)
    tlo, thi = ticks[0], ticks[-1]
    out = []
    for tv, lab in zip(ticks, _tick_labels(ticks)):
        y = bottom - (bottom - top) * _frac(tv, tlo, thi)
        out.append(_line(x0, y, x1, y, "sl-grid"))
        out.append(_text(x0 - 6, y + 4, lab, anchor="end", cls="sl-tick"))
    if label:
        cy = (top + bottom) / 2
        out.append(
            f'<text x="{_n(14)}" y="{_n(cy)}" text-anchor="middle" class="sl-axis-label" '
            f'transform="rotate(-90 {_n(14)} {_n(cy)})">{_t(label)}</text>'
        )
    return out, tlo, thi


def _legend(names: Sequence[str], x: float, y: float) -> list[str]:
    out = []
    for j, name in enumerate(names):
        out.append(_rect(x, y - 9, 10, 10, "sl-swatch", PALETTE[j % len(PALETTE)]))
        out.append(_text(x + 14, y, name, max_len=40))
        x += 24 + _CHAR_W * min(len(clean_text(name)), 40)
    return out


def bar_chart(
    categories: Sequence[Any],
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    xlabel: str = "",
    value_format: str | Any = "{:,.0f}",
    percent_axis: bool = False,
    max_bars: int = 30,
    width: float = 960,
    label_chars: int = 28,
) -> Markup:
    """Horizontal bars, one group per category and one bar per series.

    Parameters
    ----------
    categories : sequence
        Category names (shown shortened to ``label_chars``; the full name is in the
        bar's tooltip).
    series : mapping of str to sequence of float
        Series name to one non-negative value per category. Several series are drawn
        side by side with a legend.
    title, xlabel : str
        Accessible title of the chart and the value-axis label.
    value_format : str or callable
        Format of the value written at the end of each bar, or a function from the
        value to its text.
    percent_axis : bool
        Label the value axis in percent (values are fractions).
    max_bars : int
        Only the first ``max_bars`` categories are drawn; the chart says how many
        were left out.
    width : float
        Width of the drawing in SVG user units (the chart scales to its container).
    label_chars : int
        Category names longer than this are shortened on the axis.

    Examples
    --------
    >>> svg = bar_chart(["cat", "dog"], {"items": [3, 5]}, title="Classes")
    >>> svg.startswith("<svg") and "dog" in svg
    True
    """
    cats = [clean_text(c) for c in categories]
    names = list(series)
    if not names:
        raise ValueError("bar_chart needs at least one series.")
    vals = np.vstack([_finite(series[k], f"series {k!r}") for k in names])
    if vals.shape[1] != len(cats):
        raise ValueError(f"each series needs {len(cats)} values; got {vals.shape[1]}.")
    if (vals < 0).any():
        raise ValueError("bar_chart values must be non-negative.")
    omitted = max(len(cats) - max_bars, 0)
    cats, vals = cats[:max_bars], vals[:, :max_bars]
    n_s = len(names)
    bar_h = 16 if n_s == 1 else 11
    group_h = bar_h * n_s + 8
    gutter = 12 + _CHAR_W * min(max((len(c) for c in cats), default=4), label_chars)
    x0, x1 = gutter, width - 64
    top = 30 if n_s > 1 else 10
    bottom = top + group_h * len(cats)
    fmt = _fmt_percent if percent_axis else _fmt_tick
    body, tmax = _value_axis_x(x0, x1, top, bottom, float(vals.max(initial=0.0)), xlabel, fmt)
    if n_s > 1:
        body[:0] = _legend(names, x0, 16)
    for i, cat in enumerate(cats):
        gy = top + i * group_h + 4
        body.append(_text(x0 - 8, gy + group_h / 2, cat, anchor="end", max_len=label_chars))
        for j, name in enumerate(names):
            v = float(vals[j, i])
            y = gy + j * bar_h
            w = (x1 - x0) * _frac(v, 0.0, tmax)
            shown = value_format(v) if callable(value_format) else value_format.format(v)
            tip = f"{cat} \u2014 {name}: {shown}"
            body.append(_rect(x0, y, w, bar_h - 2, "sl-bar", PALETTE[j % len(PALETTE)], tip))
            body.append(_text(x0 + w + 4, y + bar_h - 5, shown, cls="sl-value"))
    body.append(_line(x0, top, x0, bottom, "sl-axis"))
    height = bottom + (40 if xlabel else 24)
    if omitted:
        body.append(_text(x0, height, f"{omitted:,} more not shown", cls="sl-note"))
        height += 12
    return _svg(width, height, title, body)


def _columns(
    lefts: np.ndarray,
    rights: np.ndarray,
    counts: np.ndarray,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    width: float,
    height: float,
    x_ticks: list[tuple[float, str]],
    tips: Sequence[str],
    xlo: float,
    xhi: float,
    mark: tuple[float, str] | None = None,
) -> Markup:
    x0, x1 = 58.0, width - 16
    top, bottom = 12.0 + (14 if mark is not None else 0), height - (44 if xlabel else 28)
    body, _, ymax = _value_axis_y(x0, x1, top, bottom, 0.0, float(counts.max(initial=0.0)), ylabel)

    def sx(v: float) -> float:
        return x0 + (x1 - x0) * _frac(v, xlo, xhi)

    for left, right, c, tip in zip(lefts, rights, counts, tips):
        h = (bottom - top) * _frac(c, 0.0, ymax)
        a, b = sx(left), sx(right)
        pad = min(1.0, (b - a) * 0.1)
        body.append(_rect(a + pad, bottom - h, b - a - 2 * pad, h, "sl-bar", PALETTE[0], tip))
    for v, lab in x_ticks:
        body.append(_line(sx(v), bottom, sx(v), bottom + 4, "sl-axis"))
        body.append(_text(sx(v), bottom + 16, lab, anchor="middle", cls="sl-tick"))
    if mark is not None and xlo <= mark[0] <= xhi:
        mx = sx(mark[0])
        body.append(_line(mx, top - 4, mx, bottom, "sl-mark"))
        anchor = "start" if mx < (x0 + x1) / 2 else "end"
        body.append(_text(mx + (4 if anchor == "start" else -4), top - 6, mark[1],
                          anchor=anchor, cls="sl-note"))
    body.append(_line(x0, bottom, x1, bottom, "sl-axis"))
    if xlabel:
        body.append(_text((x0 + x1) / 2, height - 8, xlabel, anchor="middle", cls="sl-axis-label"))
    return _svg(width, height, title, body)


def histogram(
    counts: Sequence[float],
    edges: Sequence[float],
    *,
    title: str,
    xlabel: str = "",
    ylabel: str = "count",
    width: float = 960,
    height: float = 260,
    mark: tuple[float, str] | None = None,
) -> Markup:
    """Vertical bars over contiguous numeric bins.

    ``edges`` has one more value than ``counts`` (as from :func:`numpy.histogram`).
    ``mark=(x, text)`` draws a labelled vertical line, e.g. at the mean.

    Parameters
    ----------
    counts : sequence of float
        Height of each bar.
    edges : sequence of float
        Bin edges, one more than ``counts``.
    title : str
        Chart title.
    xlabel : str, default ''
        Label of the x axis.
    ylabel : str, default 'count'
        Label of the y axis.
    width : float, default 960
        Width in pixels.
    height : float, default 260
        Height in pixels.
    mark : tuple of (float, str), optional
        Position and text of a labelled vertical line.

    Returns
    -------
    Markup
        The SVG.

    Examples
    --------
    >>> c, e = [3, 1], [0.0, 0.5, 1.0]
    >>> "<rect" in histogram(c, e, title="Entropy")
    True
    """
    c = _finite(counts, "counts")
    e = _finite(edges, "edges")
    if e.size != c.size + 1 or c.size == 0:
        raise ValueError(f"edges must have len(counts) + 1 values; got {e.size} and {c.size}.")
    if (np.diff(e) <= 0).any():
        raise ValueError("edges must increase.")
    if (c < 0).any():
        raise ValueError("counts must be non-negative.")
    ticks = [v for v in nice_ticks(e[0], e[-1], 6) if e[0] - 1e-12 <= v <= e[-1] + 1e-12]
    tips = [f"{a:.3g} \u2013 {b:.3g}: {v:,.0f}" for a, b, v in zip(e[:-1], e[1:], c)]
    return _columns(
        e[:-1], e[1:], c, title=title, xlabel=xlabel, ylabel=ylabel, width=width,
        height=height, x_ticks=list(zip(ticks, _tick_labels(ticks))), tips=tips,
        xlo=float(e[0]), xhi=float(e[-1]), mark=mark,
    )


def column_chart(
    categories: Sequence[Any],
    values: Sequence[float],
    *,
    title: str,
    xlabel: str = "",
    ylabel: str = "count",
    width: float = 480,
    height: float = 240,
) -> Markup:
    """Vertical bars, one per (short) category, e.g. prediction-set sizes.

    Parameters
    ----------
    categories : sequence
        Label of each bar.
    values : sequence of float
        Height of each bar.
    title : str
        Chart title.
    xlabel : str, default ''
        Label of the x axis.
    ylabel : str, default 'count'
        Label of the y axis.
    width : float, default 480
        Width in pixels.
    height : float, default 240
        Height in pixels.

    Returns
    -------
    Markup
        The SVG.

    Examples
    --------
    >>> "<rect" in column_chart(["1", "2"], [10, 4], title="Set sizes")
    True
    """
    v = _finite(values, "values")
    cats = [clean_text(c) for c in categories]
    if v.size != len(cats) or v.size == 0:
        raise ValueError(f"need one value per category; got {v.size} and {len(cats)}.")
    if (v < 0).any():
        raise ValueError("values must be non-negative.")
    idx = np.arange(v.size, dtype=np.float64)
    tips = [f"{c}: {x:,.0f}" for c, x in zip(cats, v)]
    return _columns(
        idx, idx + 1, v, title=title, xlabel=xlabel, ylabel=ylabel, width=width,
        height=height, x_ticks=[(i + 0.5, clean_text(c, 8)) for i, c in enumerate(cats)],
        tips=tips, xlo=0.0, xhi=float(v.size),
    )


def scatter_plot(
    x: Sequence[float],
    y: Sequence[float],
    *,
    title: str,
    labels: Sequence[Any] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    xlog: bool = False,
    ylim: tuple[float, float] | None = None,
    highlight: Sequence[bool] | None = None,
    width: float = 960,
    height: float = 320,
) -> Markup:
    """Points with an optional per-point tooltip (``labels``) and highlighted subset
    (drawn in the second palette colour). ``xlog`` puts x on a log10 axis (x > 0).

    Parameters
    ----------
    x, y : sequence of float
        Coordinates of the points.
    title : str
        Chart title.
    labels : sequence, optional
        Tooltip of each point.
    xlabel : str, default ''
        Label of the x axis.
    ylabel : str, default ''
        Label of the y axis.
    xlog : bool, default False
        Put x on a log10 axis.
    ylim : tuple of float, optional
        Range of the y axis (from the data if None).
    highlight : sequence of bool, optional
        Points drawn in the second palette colour.
    width : float, default 960
        Width in pixels.
    height : float, default 320
        Height in pixels.

    Returns
    -------
    Markup
        The SVG.

    Examples
    --------
    >>> "<circle" in scatter_plot([1, 10], [0.5, 0.9], labels=["a", "b"], title="Workers")
    True
    """
    xs = _finite(x, "x")
    ys = _finite(y, "y")
    if xs.size != ys.size:
        raise ValueError(f"x and y differ in length ({xs.size} and {ys.size}).")
    if xlog and (xs <= 0).any():
        raise ValueError("xlog needs x > 0.")
    tips = [clean_text(s) for s in labels] if labels is not None else [""] * xs.size
    hi_mask = np.zeros(xs.size, bool) if highlight is None else np.asarray(highlight, bool).ravel()
    for name, n in (("labels", len(tips)), ("highlight", hi_mask.size)):
        if n != xs.size:
            raise ValueError(f"{name} needs one value per point ({xs.size}); got {n}.")
    x0, x1 = 58.0, width - 16
    top, bottom = 12.0, height - 44
    if ylim is not None:
        lo_y, hi_y = ylim
    else:  # the values' range (0 to 1 without points)
        lo_y, hi_y = (float(ys.min()), float(ys.max())) if ys.size else (0.0, 1.0)
    body, ylo, yhi = _value_axis_y(x0, x1, top, bottom, lo_y, hi_y, ylabel)
    tx = np.log10(xs) if xlog else xs
    if xs.size:
        xlo, xhi = float(tx.min()), float(tx.max())
    else:
        xlo, xhi = 0.0, 1.0
    if xlog:
        xlo, xhi = math.floor(xlo), max(math.ceil(xhi), math.floor(xlo) + 1)
        xt = [(float(p), _fmt_tick(10.0**p)) for p in range(int(xlo), int(xhi) + 1)]
    else:
        if xhi == xlo:  # one value: centre it
            pad = max(abs(xlo) * 0.1, 0.5)
            xlo, xhi = xlo - pad, xhi + pad
        ticks = nice_ticks(xlo, xhi, 6)
        xlo, xhi = ticks[0], ticks[-1]
        xt = list(zip(ticks, _tick_labels(ticks)))

    def sx(v: float) -> float:
        return x0 + (x1 - x0) * _frac(v, xlo, xhi)

    def sy(v: float) -> float:
        return bottom - (bottom - top) * _frac(v, ylo, yhi)

    for v, lab in xt:
        body.append(_line(sx(v), bottom, sx(v), bottom + 4, "sl-axis"))
        body.append(_text(sx(v), bottom + 16, lab, anchor="middle", cls="sl-tick"))
    body.append(_line(x0, bottom, x1, bottom, "sl-axis"))
    order = np.argsort(hi_mask, kind="stable")  # highlighted points on top
    for i in order:
        colour = PALETTE[1] if hi_mask[i] else PALETTE[0]
        tip = f"<title>{_t(tips[i])}</title>" if tips[i] else ""
        body.append(
            f'<circle cx="{_n(sx(tx[i]))}" cy="{_n(sy(min(max(ys[i], ylo), yhi)))}" r="3.5" '
            f'class="sl-point" fill="{colour}">{tip}</circle>'
        )
    if xlabel:
        body.append(_text((x0 + x1) / 2, height - 8, xlabel, anchor="middle", cls="sl-axis-label"))
    return _svg(width, height, title, body)


def reliability_plot(
    edges: Sequence[float],
    confidence: Sequence[float],
    accuracy: Sequence[float],
    counts: Sequence[float],
    *,
    title: str = "Reliability diagram",
    width: float = 420,
) -> Markup:
    """Reliability diagram: per confidence bin, a bar at the observed accuracy, the gap
    to the bin's mean confidence shaded, the diagonal of perfect calibration, and the
    share of items per bin underneath. Empty bins (count 0) are left blank; their
    accuracy and confidence may be NaN.

    Parameters
    ----------
    edges : sequence of float
        Confidence bin edges, one more than the bins.
    confidence : sequence of float
        Mean confidence of each bin.
    accuracy : sequence of float
        Observed accuracy of each bin.
    counts : sequence of float
        Number of items in each bin.
    title : str, default 'Reliability diagram'
        Chart title.
    width : float, default 420
        Width in pixels.

    Returns
    -------
    Markup
        The SVG.

    Examples
    --------
    >>> svg = reliability_plot([0, .5, 1], [.3, .8], [.25, .9], [10, 30])
    >>> svg.count("sl-bar") >= 2
    True
    """
    e = _finite(edges, "edges")
    cnt = _finite(counts, "counts")
    conf = np.asarray(confidence, dtype=np.float64).ravel()
    acc = np.asarray(accuracy, dtype=np.float64).ravel()
    k = e.size - 1
    if not (conf.size == acc.size == cnt.size == k) or k < 1:
        raise ValueError("need len(edges) - 1 values of confidence, accuracy and counts.")
    full = cnt > 0
    if not (np.isfinite(conf[full]).all() and np.isfinite(acc[full]).all()):
        raise ValueError("confidence and accuracy must be finite in non-empty bins.")
    x0, side = 58.0, width - 58.0 - 16.0
    top = 12.0
    bottom = top + side
    hist_top, hist_bottom = bottom + 36, bottom + 36 + 56
    height = hist_bottom + 44
    body, _, _ = _value_axis_y(x0, x0 + side, top, bottom, 0.0, 1.0, "accuracy",
                               ticks=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0])

    def sx(v: float) -> float:
        return x0 + side * v

    def sy(v: float) -> float:
        return bottom - side * v

    total = float(cnt.sum()) or 1.0
    share = cnt / total
    smax = float(share.max(initial=0.0)) or 1.0
    for i in range(k):
        a, b = sx(e[i]), sx(e[i + 1])
        if full[i]:
            tip = (
                f"confidence {e[i]:.2f}\u2013{e[i + 1]:.2f}: accuracy {acc[i]:.3f}, "
                f"mean confidence {conf[i]:.3f}, {cnt[i]:,.0f} items"
            )
            body.append(_rect(a + 0.5, sy(acc[i]), b - a - 1, sy(0) - sy(acc[i]), "sl-bar",
                              PALETTE[0], tip))
            lo, hi = sorted((acc[i], conf[i]))
            body.append(_rect(a + 0.5, sy(hi), b - a - 1, sy(lo) - sy(hi), "sl-gap"))
        h = (hist_bottom - hist_top) * share[i] / smax
        body.append(_rect(a + 0.5, hist_bottom - h, b - a - 1, h, "sl-bar sl-muted", PALETTE[4],
                          f"{cnt[i]:,.0f} items ({share[i]:.1%})"))
    body.append(_line(sx(0), sy(0), sx(1), sy(1), "sl-diagonal"))
    body.append(_line(x0, bottom, x0 + side, bottom, "sl-axis"))
    body.append(_line(x0, hist_bottom, x0 + side, hist_bottom, "sl-axis"))
    for v in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        body.append(_text(sx(v), bottom + 16, _fmt_tick(v), anchor="middle", cls="sl-tick"))
        body.append(_text(sx(v), hist_bottom + 16, _fmt_tick(v), anchor="middle", cls="sl-tick"))
    body.append(_text(x0 - 6, hist_top + 10, "items", anchor="end", cls="sl-tick"))
    body.append(_text(x0 + side / 2, height - 8, "predicted confidence", anchor="middle",
                      cls="sl-axis-label"))
    return _svg(width, height, title, body)
