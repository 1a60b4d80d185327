"""The inline-SVG charts: well-formed XML, escaped text, geometry that matches the data."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from _report_helpers import HOSTILE
from hypothesis import example, given
from hypothesis import strategies as st

from softlabels.report import svg

NS = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    root = ET.fromstring(str(markup))
    assert root.tag == f"{NS}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter() if el.tag in (f"{NS}text", f"{NS}title")]


def assert_inert(root: ET.Element) -> None:
    """No element that runs code, no event-handler attribute, no link anywhere."""
    for el in root.iter():
        local = el.tag.split("}")[-1]
        assert local not in {"script", "foreignObject", "a", "image", "use", "iframe", "img"}
        for name in el.attrib:
            assert not name.lower().startswith("on"), (local, name)
            assert "href" not in name.lower()


def all_charts(name: str) -> list[str]:
    return [
        svg.bar_chart([name, "b"], {name: [1, 2], "other": [2, 1]}, title=name, xlabel=name),
        svg.histogram([1, 2], [0.0, 0.5, 1.0], title=name, xlabel=name, ylabel=name,
                      mark=(0.5, name)),
        svg.column_chart([name, "x"], [3, 4], title=name, xlabel=name, ylabel=name),
        svg.scatter_plot([1, 10], [0.2, 0.8], labels=[name, "b"], title=name, xlabel=name,
                         ylabel=name, xlog=True),
        svg.reliability_plot([0, 0.5, 1], [0.3, 0.8], [0.2, 0.9], [5, 5], title=name),
    ]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_text_is_escaped_everywhere(name):
    for chart in all_charts(name):
        root = parse(chart)  # would fail if a name broke out of its element
        assert_inert(root)
        shown = texts(root)
        # the literal string survives as text (in the title, labels or tooltips)
        assert any(name[:20] in t for t in shown), (name, shown[:5])
        assert root.get("aria-label") == name


def test_control_characters_are_replaced_so_the_xml_stays_valid():
    name = "bad\x00name\x1b[31m\ud800"
    for chart in all_charts(name):
        root = parse(chart)
        assert any("bad\ufffdname\ufffd[31m\ufffd" in t for t in texts(root))


def test_clean_text_shortens_with_an_ellipsis():
    assert svg.clean_text("abcdefgh", 5) == "abcd\u2026"
    assert svg.clean_text("abc", 5) == "abc"
    assert svg.clean_text(3.5) == "3.5"


def rects(root: ET.Element, cls: str = "sl-bar") -> list[ET.Element]:
    return [r for r in root.iter(f"{NS}rect") if cls in r.get("class", "").split()]


def test_bar_lengths_are_proportional_to_values():
    root = parse(svg.bar_chart(["a", "b", "c"], {"n": [10, 20, 40]}, title="t"))
    widths = [float(r.get("width")) for r in rects(root)]
    assert widths[1] == pytest.approx(2 * widths[0], rel=1e-3)
    assert widths[2] == pytest.approx(4 * widths[0], rel=1e-3)
    assert {"a", "b", "c"} <= set(texts(root))


def test_bar_chart_caps_the_bars_and_says_how_many_were_left_out():
    cats = [f"c{i}" for i in range(12)]
    root = parse(svg.bar_chart(cats, {"n": np.arange(12) + 1.0}, title="t", max_bars=5))
    assert len(rects(root)) == 5
    assert "7 more not shown" in texts(root)


def test_several_series_get_a_legend_and_one_bar_each():
    root = parse(svg.bar_chart(["a", "b"], {"x": [1, 2], "y": [3, 4]}, title="t"))
    assert len(rects(root)) == 4
    assert len(rects(root, "sl-swatch")) == 2


def test_histogram_has_one_bar_per_bin_with_heights_proportional_to_counts():
    counts = [0, 5, 10, 20]
    root = parse(svg.histogram(counts, [0, 1, 2, 3, 4], title="t"))
    bars = rects(root)
    assert len(bars) == 4
    heights = [float(b.get("height")) for b in bars]
    assert heights[0] == 0
    assert heights[2] == pytest.approx(2 * heights[1], rel=1e-3)
    assert heights[3] == pytest.approx(4 * heights[1], rel=1e-3)
    xs = [float(b.get("x")) for b in bars]
    assert xs == sorted(xs)


def test_histogram_mark_is_drawn_with_its_label():
    root = parse(svg.histogram([1, 1], [0, 1, 2], title="t", mark=(1.0, "mean 1.0")))
    assert any(el.get("class") == "sl-mark" for el in root.iter(f"{NS}line"))
    assert "mean 1.0" in texts(root)


def test_scatter_draws_every_point_and_highlights_some():
    root = parse(svg.scatter_plot([1, 2, 3], [0.1, 0.5, 0.9], title="t",
                                  highlight=[False, True, False]))
    circles = list(root.iter(f"{NS}circle"))
    assert len(circles) == 3
    assert sum(c.get("fill") == svg.PALETTE[1] for c in circles) == 1
    # higher y is drawn higher (smaller SVG y)
    ys = {round(float(c.get("cy")), 2) for c in circles}
    assert len(ys) == 3


def test_reliability_plot_skips_empty_bins_and_shades_the_gaps():
    root = parse(svg.reliability_plot(
        [0, 0.25, 0.5, 0.75, 1.0], [np.nan, 0.4, 0.6, 0.9], [np.nan, 0.3, 0.6, 0.95],
        [0, 10, 20, 30],
    ))
    accuracy_bars = [r for r in rects(root) if "sl-muted" not in r.get("class")]
    assert len(accuracy_bars) == 3  # the empty first bin has none
    gaps = rects(root, "sl-gap")
    assert len(gaps) == 3
    heights = sorted(float(g.get("height")) for g in gaps)
    assert heights[0] == pytest.approx(0.0, abs=1e-6)  # bin with accuracy == confidence
    assert any(el.get("class") == "sl-diagonal" for el in root.iter(f"{NS}line"))


@pytest.mark.parametrize(
    "call",
    [
        lambda: svg.bar_chart(["a"], {"n": [np.nan]}, title="t"),
        lambda: svg.bar_chart(["a"], {"n": [-1]}, title="t"),
        lambda: svg.bar_chart(["a", "b"], {"n": [1]}, title="t"),
        lambda: svg.bar_chart(["a"], {}, title="t"),
        lambda: svg.histogram([1, 2], [0, 1], title="t"),
        lambda: svg.histogram([1, 2], [0, 2, 1], title="t"),
        lambda: svg.histogram([1, np.inf], [0, 1, 2], title="t"),
        lambda: svg.column_chart(["a"], [1, 2], title="t"),
        lambda: svg.scatter_plot([0, 1], [1, 2], title="t", xlog=True),
        lambda: svg.scatter_plot([1, 2], [1], title="t"),
        lambda: svg.reliability_plot([0, 1], [np.nan], [0.5], [3], title="t"),
    ],
)
def test_bad_chart_data_is_refused(call):
    with pytest.raises(ValueError):
        call()


@given(
    lo=st.floats(-1e6, 1e6, allow_nan=False),
    span=st.floats(1e-6, 1e6, allow_nan=False),
    n=st.integers(2, 10),
)
def test_nice_ticks_cover_the_range_with_round_equal_steps(lo, span, n):
    hi = lo + span
    ticks = svg.nice_ticks(lo, hi, n)
    assert ticks[0] <= lo + 1e-9 * max(1, abs(lo))
    assert ticks[-1] >= hi - 1e-9 * max(1, abs(hi))
    steps = np.diff(ticks)
    # tick values are exact up to float spacing at their magnitude
    tol = 1e-6 + 8 * np.finfo(float).eps * max(abs(lo), abs(hi), 1.0) / steps[0]
    assert np.allclose(steps, steps[0], rtol=tol)
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert min(abs(mantissa - m) for m in (1, 2, 2.5, 5, 10)) < 10 * tol
    assert 2 <= len(ticks) <= 2 * n + 2


def test_nice_ticks_examples():
    assert svg.nice_ticks(0, 87) == [0, 20, 40, 60, 80, 100]
    assert svg.nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert svg.nice_ticks(5, 5)[0] <= 5 <= svg.nice_ticks(5, 5)[-1]


def test_scatter_centres_a_single_x_value():
    root = parse(svg.scatter_plot([24, 24, 24], [0.2, 0.5, 0.9], title="t", width=400))
    xs = {float(c.get("cx")) for c in root.iter(f"{NS}circle")}
    assert len(xs) == 1
    x = xs.pop()
    assert 150 < x < 250  # in the middle of the plot, not on an edge


@pytest.mark.parametrize(
    "lo, hi",
    [
        (18806673.979532383, 18806673.979532387),  # one float spacing apart
        (1e17, 1e17 + 16),  # integers beyond 2**53
        (-123456789.123, -123456789.12299998),
        (0.0, 5e-324),  # a subnormal range
        (-5e-324, 5e-324),
        (1e300, 1e301),
        (-1e300, 1e300),
    ],
)
def test_nice_ticks_near_float_resolution_are_distinct_and_cover_the_range(lo, hi):
    ticks = svg.nice_ticks(lo, hi)
    assert all(math.isfinite(t) for t in ticks)
    assert len(ticks) >= 2 and len(set(ticks)) == len(ticks)
    assert ticks == sorted(ticks)
    assert ticks[0] <= lo and ticks[-1] >= hi


@pytest.mark.parametrize("lo, hi", [(0.0, 1.7e308), (-1.7e308, 1.7e308)])
def test_nice_ticks_beyond_the_float_range_raise_a_clear_error(lo, hi):
    with pytest.raises(ValueError, match="too large"):
        svg.nice_ticks(lo, hi)


def test_charts_draw_values_one_float_spacing_apart():
    lo = 18806673.979532383
    vals = [lo, 18806673.979532387]
    root = parse(svg.scatter_plot(vals, vals, title="t"))
    assert len(list(root.iter(f"{NS}circle"))) == 2
    parse(svg.histogram([1, 2], [lo, 18806673.979532387, 18806673.97953239], title="t"))


@pytest.mark.parametrize(
    "extra", [{"labels": ["a"]}, {"highlight": [True]}, {"highlight": [True, False, True]}]
)
def test_scatter_refuses_labels_or_highlight_of_another_length(extra):
    with pytest.raises(ValueError, match="labels|highlight"):
        svg.scatter_plot([1, 2], [1, 2], title="t", **extra)


def tick_labels(root: ET.Element) -> list[str]:
    return [el.text for el in root.iter(f"{NS}text") if el.get("class") == "sl-tick"]


@pytest.mark.parametrize(
    "chart",
    [
        lambda: svg.scatter_plot([12345670, 12345700], [0.5, 0.6], title="t"),  # x: 12.3457M
        lambda: svg.scatter_plot([1, 2], [0.10001, 0.10005], title="t",
                                 ylim=(0.10001, 0.10005)),  # y: 0.1
        lambda: svg.scatter_plot([123456.1, 123456.9], [1, 2], title="t"),  # x: 123.456k
        lambda: svg.histogram([1, 2], [123456.1, 123456.5, 123456.9], title="t"),
    ],
)
def test_tick_labels_of_one_axis_differ(chart):
    root = parse(chart())
    labels = tick_labels(root)
    x_labels = [el.text for el in root.iter(f"{NS}text")
                if el.get("class") == "sl-tick" and el.get("text-anchor") == "middle"]
    y_labels = [t for t in labels if t not in x_labels]
    for axis in (x_labels, y_labels):
        assert len(set(axis)) == len(axis), axis


@pytest.mark.parametrize("ys", [[100.1, 100.2], [-5.0, -3.0], [0.4, 0.6]])
def test_scatter_y_axis_spans_the_values_not_zero_to_one(ys):
    root = parse(svg.scatter_plot([1, 2], ys, title="t"))
    y_ticks = [float(el.text) for el in root.iter(f"{NS}text")
               if el.get("class") == "sl-tick" and el.get("text-anchor") == "end"]
    assert y_ticks[0] <= min(ys) and y_ticks[-1] >= max(ys)
    assert y_ticks[-1] - y_ticks[0] <= 2 * (max(ys) - min(ys))
    cys = sorted(float(c.get("cy")) for c in root.iter(f"{NS}circle"))
    assert cys[1] - cys[0] > 100  # the two points are far apart on a 320 px chart


@pytest.mark.parametrize(
    "chart",
    [
        lambda: svg.bar_chart(["a", "b"], {"s": [1e300, 1.5e308]}, title="t"),
        lambda: svg.column_chart(["a", "b"], [1e300, 1.5e308], title="t"),
        lambda: svg.histogram([1, 2], [-1e308, 0.0, 1e308], title="t"),
        lambda: svg.scatter_plot([-1e308, 1e308], [1e308, -1e308], title="t"),
    ],
)
def test_charts_draw_values_near_the_float_maximum(chart):
    root = parse(chart())
    marks = [el for el in root.iter() if el.tag in (f"{NS}rect", f"{NS}circle")]
    assert marks


def test_percent_axis_labels_differ_for_small_shares():
    # 200 classes: the largest share is below 1%, the ticks 0.2% apart
    root = parse(svg.bar_chart(["a", "b"], {"s": [0.008, 0.005]}, title="t",
                               percent_axis=True))
    labels = tick_labels(root)
    assert len(set(labels)) == len(labels), labels
    assert all(t.endswith("%") for t in labels)
    assert "0.4%" in labels


@given(
    exponent=st.floats(-300, 300),
    sign=st.sampled_from([-1.0, 1.0]),
    ulps=st.integers(0, 10**6),
    n=st.integers(1, 10),
)
@example(exponent=7.0, sign=1.0, ulps=1, n=5)
@example(exponent=15.0, sign=-1.0, ulps=1, n=5)
def test_nice_ticks_a_few_float_spacings_apart(exponent, sign, ulps, n):
    lo = sign * 10.0**exponent
    hi = lo + ulps * float(np.spacing(abs(lo)))
    ticks = svg.nice_ticks(lo, hi, n)
    assert len(ticks) >= 2 and len(set(ticks)) == len(ticks) and ticks == sorted(ticks)
    assert ticks[0] <= min(lo, hi) and ticks[-1] >= max(lo, hi)
    assert all(math.isfinite(t) for t in ticks) and len(ticks) <= 2 * n + 3
