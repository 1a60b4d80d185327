"""The report in a real browser (headless Chromium): it loads without a console error or
a network request, shows its sections and charts, and hostile names stay inert text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _chromium import CHROMIUM, Browser, available
from _report_helpers import HOSTILE, model_inputs

from softlabels.datasets import load_adult3
from softlabels.report import build_report, write_report

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not available(), reason=f"Chromium not found at {CHROMIUM} "
                       "(apt install chromium, or set SOFTLABELS_CHROMIUM)"),
]

DOM = {
    "sections": "[...document.querySelectorAll('main > section')].map(s => s.id)",
    "headings": "[...document.querySelectorAll('main h2')].map(h => h.textContent.trim())",
    "charts": "[...document.querySelectorAll('svg.sl-chart')].map(s => {"
              " const r = s.getBoundingClientRect(); return [r.width, r.height]; })",
    "scripts": "document.scripts.length",
    "images": "document.images.length",
    "overflow": "document.documentElement.scrollWidth - window.innerWidth",
    "title": "document.title",
    "pwned": "typeof window.__pwned",
    "facts": "Object.fromEntries([...document.querySelectorAll('.facts .row')]"
             ".map(r => [r.querySelector('dt').textContent, r.querySelector('dd').textContent]))",
    "text": "document.body.innerText",
}


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


def _clean_load(result) -> None:
    assert result.errors() == []
    assert result.console == [], result.console
    assert len(result.requests) == 1 and result.requests[0].startswith("file://")
    assert result.values["scripts"] == 0
    assert result.values["pwned"] == "undefined"


def test_adult3_report_renders(browser, tmp_path, artifacts_dir):
    path = write_report(tmp_path / "adult3.html", load_adult3(),
                        title="Adult content ratings (AdultContent3)")
    result = browser.open(path, expressions=DOM, screenshot=True)
    _clean_load(result)
    v = result.values
    assert v["sections"] == ["summary", "provenance", "class-balance", "annotators",
                             "labeller-quality", "ambiguity", "weak-consensus", "examples",
                             "not-shown"]
    assert "Annotators and agreement" in v["headings"]
    assert v["facts"]["Items"] == "496" and v["facts"]["Workers"] == "338"
    assert len(v["charts"]) >= 4 and all(w > 300 and h > 100 for w, h in v["charts"])
    assert v["overflow"] <= 0
    shot = artifacts_dir / "report-adult3.png"
    shot.write_bytes(result.screenshot)
    assert result.screenshot[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000


def test_model_sections_render(browser, tmp_path, artifacts_dir):
    answers = load_adult3()
    labels, pred = model_inputs(answers)
    path = write_report(tmp_path / "model.html", answers, labels=labels, pred_probs=pred)
    result = browser.open(path, expressions=DOM, screenshot=True, pdf=True)
    _clean_load(result)
    assert result.pdf[:5] == b"%PDF-"
    pages = len(re.findall(rb"/Type\s*/Page[^s]", result.pdf))
    assert 2 <= pages <= 40  # printable: A4 pages, not one endless sheet
    assert {"calibration", "conformal"} <= set(result.values["sections"])
    assert {"Calibration", "Conformal prediction sets"} <= set(result.values["headings"])
    assert len(result.values["charts"]) >= 6
    (artifacts_dir / "report-adult3-model.png").write_bytes(result.screenshot)


@pytest.fixture(scope="module")
def hostile_html(hostile_answers) -> str:
    labels, pred = model_inputs(hostile_answers)
    return build_report(hostile_answers, labels=labels, pred_probs=pred, title=HOSTILE[0],
                        description="\n".join(HOSTILE), max_rows=50)


def _check_hostile(result) -> None:
    _clean_load(result)
    v = result.values
    assert v["images"] == 0
    assert v["title"] == HOSTILE[0]
    for s in HOSTILE:  # shown literally, as text
        assert s in v["text"], s
    assert v["overflow"] <= 0  # long hostile ids wrap instead of widening the page


def test_hostile_names_do_not_execute(browser, tmp_path, hostile_html, artifacts_dir):
    path = tmp_path / "hostile.html"
    path.write_text(hostile_html, encoding="utf-8")
    result = browser.open(path, expressions=DOM, screenshot=True)
    _check_hostile(result)
    (artifacts_dir / "report-hostile.png").write_bytes(result.screenshot)


def test_escaping_alone_stops_hostile_names(browser, tmp_path, hostile_html):
    """Without the Content-Security-Policy the page is still inert: the escaping holds
    by itself (a CSP violation would otherwise hide an escaping bug)."""
    start = hostile_html.index('<meta http-equiv="Content-Security-Policy"')
    end = hostile_html.index(">", start) + 1
    path = tmp_path / "hostile-no-csp.html"
    path.write_text(hostile_html[:start] + hostile_html[end:], encoding="utf-8")
    assert "Content-Security-Policy" not in path.read_text(encoding="utf-8")
    _check_hostile(browser.open(path, expressions=DOM))


def test_the_policy_blocks_what_escaping_would_miss(browser, tmp_path, hostile_html):
    """Control: a script smuggled into the page is blocked by the page's policy, and
    the harness sees the violation (so a clean run above means something)."""
    smuggled = hostile_html.replace(
        "</main>",
        '<script>window.__pwned = 9</script><img src=x onerror="window.__pwned=8"></main>',
    )
    path = tmp_path / "smuggled.html"
    path.write_text(smuggled, encoding="utf-8")
    result = browser.open(path, expressions={"pwned": DOM["pwned"]})
    assert result.values["pwned"] == "undefined"
    assert any("Content Security Policy" in e for e in result.errors())


def test_harness_detects_execution_without_a_policy(browser, tmp_path):
    """Control: the harness does see a script that runs."""
    path = tmp_path / "runs.html"
    path.write_text("<!DOCTYPE html><title>t</title><script>window.__pwned = 1;"
                    "console.error('ran')</script>", encoding="utf-8")
    result = browser.open(path, expressions={"pwned": DOM["pwned"]})
    assert result.values["pwned"] == "number"
    assert result.errors()


def test_artifact_folder_is_under_the_project(artifacts_dir):
    assert artifacts_dir.parent == Path(__file__).resolve().parents[2]


def test_a_long_label_fact_stays_in_the_facts_panel(browser, tmp_path):
    """The consensus method is written with its parameters (as --method reads it back);
    a long one ran out of the 300-pixel panel over the alerts beside it."""
    answers = load_adult3().iloc[:3000]
    path = write_report(tmp_path / "long-fact.html", answers, method="dawid-skene",
                        method_params={"prior_strength": 5.0, "n_iter": 500, "tol": 1e-8})
    outside = ("[...document.querySelectorAll('.facts dd')].filter(d => "
               "d.getBoundingClientRect().right > "
               "document.querySelector('.facts').getBoundingClientRect().right)"
               ".map(d => d.textContent)")
    result = browser.open(path, expressions={**DOM, "outside": outside})
    _clean_load(result)
    assert result.values["facts"]["Consensus method"].startswith("dawid-skene:n_iter=500")
    assert result.values["outside"] == []
    # short numbers are still kept on one line
    lines = ("[...document.querySelectorAll('.facts dd')].filter(d => d.textContent.length"
             " <= 16).map(d => { const r = document.createRange(); r.selectNodeContents(d);"
             " return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; })")
    assert set(browser.open(path, expressions={"n": lines}).values["n"]) == {1}
