"""The report's representative-examples section: the chosen items and boundary items are
shown, by item id, with the answers behind them."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from softlabels.audit import representative_examples
from softlabels.core.soft import SoftLabels
from softlabels.report import build_report


def _section(html: str, sid: str) -> str:
    start = html.index(f'id="{sid}"')
    end = html.find("<section", start + 1)
    return html[start:end if end > 0 else len(html)]


def test_soft_labels_show_the_exemplars_and_the_boundary():
    soft = SoftLabels([[0.9, 0.1], [0.95, 0.05], [0.1, 0.9], [0.52, 0.48], [0.2, 0.8]],
                      classes=["no", "yes"], item_ids=["a", "b", "c", "d", "e"])
    sec = _section(build_report(soft_labels=soft), "examples")
    ex = representative_examples(soft, n_per_class=3)
    shown = re.findall(r"<tr><td>(no|yes)</td><td[^>]*>(\d)</td><td>([a-e])</td>", sec)
    assert [s[2] for s in shown] == [soft.item_ids[i] for i in ex.items]
    assert "Boundary items of the most confused classes" in sec
    assert "<td>no / yes</td><td>d</td>" in sec


def test_answers_give_the_evidence_and_predictions_the_space():
    rng = np.random.default_rng(0)
    rows = []
    for i in range(60):
        truth = i % 3
        for w in range(5):
            lab = truth if rng.random() < 0.8 else rng.integers(3)
            rows.append((f"item{i}", f"w{w}", ["cat", "dog", "<b>bird</b>"][lab]))
    answers = pd.DataFrame(rows, columns=["item", "worker", "label"])
    html = build_report(answers, method="majority-vote")
    sec = _section(html, "examples")
    assert "\u00d7" in sec and "<b>bird</b>" not in sec  # answers shown, names escaped
    assert "ties broken by the number of answers" in sec
    pred = rng.dirichlet(np.ones(3), 60)
    labels = [["cat", "dog", "<b>bird</b>"][i % 3] for i in range(60)]
    html2 = build_report(answers, labels=labels, pred_probs=pred, method="majority-vote")
    assert "predicted probabilities (greedy facility" in _section(html2, "examples")
