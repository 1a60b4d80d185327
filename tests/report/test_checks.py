"""The registry of audit checks (softlabels.report.checks) and the page built from it."""

from __future__ import annotations

import doctest
import re

import pytest

from softlabels.datasets import load_adult3
from softlabels.report import build_report, checks, list_checks, register_check
from softlabels.report.page import Skip, text

PAGE = ["provenance", "class-balance", "annotators", "labeller-quality", "ambiguity",
        "weak-consensus", "examples", "issues", "calibration", "conformal"]


@pytest.fixture
def registry(monkeypatch):
    """A copy of the registry that the test may add to; the real one is left as it was."""
    checks._discover()
    monkeypatch.setattr(checks, "_CHECKS", dict(checks._CHECKS))
    return checks._CHECKS


def section_ids(html: str) -> list[str]:
    return re.findall(r'<section[^>]* id="([^"]+)"', html)


def test_every_section_is_a_registered_check_in_page_order():
    assert list_checks() == PAGE
    got = [c.order for c in checks.registered_checks()]
    assert got == sorted(got)
    html = build_report(load_adult3(), method="majority-vote")
    assert [s for s in section_ids(html) if s in PAGE] == PAGE[:7]


def test_a_new_check_is_placed_by_its_order_and_shown(registry):
    @register_check("hello", order=15, title="Hello check")
    def hello(ctx):
        return f"{ctx.data.n_items} items", [text("hello from a check")]

    assert list_checks()[:3] == ["provenance", "hello", "class-balance"]
    html = build_report(load_adult3(), method="majority-vote")
    ids = section_ids(html)
    assert ids.index("hello") == ids.index("provenance") + 1
    assert "496 items" in html and "hello from a check" in html and "Hello check" in html


def test_unmet_needs_and_skips_are_listed_with_their_reason(registry):
    @register_check("needs-gold", order=90, title="Gold check", needs=lambda d: False,
                    reason="needs gold labels")
    def gold(ctx):  # pragma: no cover - never called
        raise AssertionError

    @register_check("skipper", order=91, title="Skipping check")
    def skipper(ctx):
        raise Skip("not today")

    html = build_report(load_adult3(), method="majority-vote")
    assert "needs-gold" not in section_ids(html) and "skipper" not in section_ids(html)
    assert re.search(r"Gold check.*?needs gold labels", html, re.S)
    assert re.search(r"Skipping check.*?not today", html, re.S)


def test_registering_a_name_twice_is_an_error(registry):
    def other(ctx):
        return "", []

    with pytest.raises(ValueError, match="'ambiguity' is registered twice"):
        register_check("ambiguity", order=1, title="x")(other)
    with pytest.raises(ValueError, match="lower-case without spaces"):
        register_check("Bad Name", order=1, title="x")


def test_get_check_suggests_a_near_name():
    assert checks.get_check("conformal").title == "Conformal prediction sets"
    with pytest.raises(KeyError, match="Did you mean 'calibration'"):
        checks.get_check("calibraton")


def test_docstring_examples_run():
    result = doctest.testmod(checks)
    assert result.attempted > 0 and result.failed == 0
