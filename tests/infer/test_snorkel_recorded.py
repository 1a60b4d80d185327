"""The snorkel cross-checks against snorkel's recorded outputs (tests/fixtures/
snorkel_outputs.npz, made by tests/fixtures/make_snorkel_fixtures.py), so they run
without snorkel or torch: rule analysis, the matrix-completion label model's weights at
convergence, and the default label model not below snorkel on the Shakira test file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from softlabels.infer.rules import LabelModel, MatrixCompletionLabelModel, analyze_rules, vote_summary

REC = np.load(Path(__file__).resolve().parents[1] / "fixtures" / "snorkel_outputs.npz")


def half_credit(probs, y, covered):
    """Accuracy on covered items; a tie for the top class gets its share of the credit."""
    probs = np.asarray(probs, dtype=float)
    score = 0.0
    for row, t in zip(probs[covered], y[covered]):
        top = [c for c in range(row.size) if row[c] >= row.max() - 1e-9]
        score += (t in top) / len(top)
    return score / int(covered.sum())


def test_fixture_records_its_inputs_and_versions():
    assert str(REC["versions"][0]).startswith("snorkel 0.10")
    assert REC["analysis_L"].shape == (200, 5) and REC["converged_L"].shape == (5000, 6)


def test_analysis_agrees_with_recorded_snorkel():
    L, y = REC["analysis_L"], REC["analysis_y"]
    ours = analyze_rules(L, gold=y)
    assert [str(sorted(int(c) for c in p)) for p in ours["polarity"]] == REC["analysis_polarity"].tolist()
    for a, b in [("coverage", "Coverage"), ("overlaps", "Overlaps"), ("conflicts", "Conflicts"),
                 ("correct", "Correct"), ("incorrect", "Incorrect"), ("accuracy", "Emp. Acc.")]:
        np.testing.assert_allclose(ours[a].to_numpy(float), REC[f"analysis_{b}"], rtol=1e-12)
    summ = vote_summary(L)
    np.testing.assert_allclose([summ["coverage"], summ["overlap"], summ["conflict"]],
                               REC["analysis_totals"], rtol=1e-12)


def test_matrix_completion_close_to_recorded_snorkel_at_convergence():
    ours = MatrixCompletionLabelModel().fit(REC["converged_L"])
    np.testing.assert_allclose(ours.weights_, REC["converged_weights"], atol=0.03)


@pytest.mark.parametrize("rule_set", ["SPAM_RULES", "SPAM_RULES_SMALL"])
def test_default_label_model_not_below_recorded_snorkel(rule_set):
    L, y = REC[f"{rule_set}_L"], REC[f"{rule_set}_y"]
    covered = (L >= 0).any(axis=1)
    ours = half_credit(LabelModel().fit(L).soft_labels_.probs, y, covered)
    theirs = half_credit(REC[f"{rule_set}_probs"], y, covered)
    assert ours >= theirs
    counts = np.stack([(L == c).sum(axis=1) for c in range(2)], axis=1).astype(float)
    assert ours >= half_credit(counts, y, covered) - 1e-12
