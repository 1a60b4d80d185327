"""The report's labeller-quality section: labeller scores on gold items and the label risk
of every item (Estes et al. 2024)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from softlabels.audit.agreement import bayesian_label_risk, labeller_quality
from softlabels.core.errors import InputError
from softlabels.datasets import make_crowd
from softlabels.report import build_report


@pytest.fixture(scope="module")
def crowd():
    return make_crowd(n_items=120, n_workers=12, n_classes=3, random_state=4)


def section(html: str) -> str:
    start = html.index('id="labeller-quality"')
    return html[start:html.index("</section>", start)]


def cells(html: str, heading: str) -> list[list[str]]:
    """The rows of the table under ``heading`` (cell texts)."""
    part = html[html.index(heading):]
    body = part[part.index("<tbody>"):part.index("</tbody>")]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_without_gold_the_risk_has_equal_weights(crowd):
    answers, _ = crowd
    html = section(build_report(answers, method="majority-vote"))
    risk = bayesian_label_risk(answers)
    assert f"{risk.mean_risk:.3f}" in html
    assert "Labellers of lowest quality" not in html and "Give the known labels" in html
    rows = cells(html, "Items of highest label risk")
    top = np.argsort(-risk.risk, kind="stable")[: len(rows)]
    assert [r[0] for r in rows] == [str(i) for i in risk.soft_labels.item_ids[top]]
    assert [float(r[2]) for r in rows] == pytest.approx(risk.risk[top], abs=5e-4)


def test_gold_scores_the_labellers_and_weighs_the_risk(crowd):
    answers, truth = crowd
    gold = truth.iloc[:30]
    page = build_report(answers, gold=gold, method="majority-vote")
    html = section(page)
    q = labeller_quality(answers, gold)
    risk = bayesian_label_risk(answers, q, unknown="mean")
    assert f"{risk.mean_risk:.3f}" in html
    assert re.search(r"30</[^>]+>\s*<[^>]+>gold items", html)
    rows = cells(html, "Labellers of lowest quality")
    worst = np.lexsort((-q.n_gold, q.qscore))[: len(rows)]
    assert [r[0] for r in rows] == [str(w) for w in q.worker_ids[worst]]
    assert [float(r[2]) for r in rows] == pytest.approx(q.qscore[worst], abs=5e-4)
    assert "Gold items" in page  # a label fact


def test_gold_needs_answers_and_matching_items(crowd):
    answers, truth = crowd
    with pytest.raises(InputError, match="gold needs crowd answers"):
        build_report(labels=[0, 1], pred_probs=[[0.9, 0.1], [0.2, 0.8]], gold={0: 0})
    with pytest.raises(InputError, match="none of its items appear"):
        build_report(answers, gold=pd.Series({"nope": truth.iloc[0]}))
    with pytest.raises(InputError, match="not one of the classes|not among"):
        build_report(answers, gold={truth.index[0]: "no such class"})
