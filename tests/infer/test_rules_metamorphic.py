"""Metamorphic checks of the rule label models: the same votes presented differently
(items reordered, rules reordered, classes renamed, a rule that never votes added)
give the same soft labels, up to the matching permutation."""

from __future__ import annotations

import numpy as np
import pytest

from softlabels.infer.rules import LabelModel, MatrixCompletionLabelModel

UNCOVERED = ("mixed-abstentions", "abstentions", "class-abstentions", "prior")
TOL = 1e-9


def votes(n: int, m: int, k: int, seed: int) -> np.ndarray:
    """Conditionally independent rules that vote on about half of the items, right with
    probability 0.55 to 0.9; some items get no vote."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    right = rng.random((n, m)) < rng.uniform(0.55, 0.9, m)
    L = np.where(right, y[:, None], rng.integers(0, k, (n, m)))
    L[rng.random((n, m)) > 0.5] = -1
    return L


def label_models():
    for model in LabelModel.MODELS:
        for uncovered in UNCOVERED:
            yield pytest.param(dict(model=model, uncovered=uncovered), id=f"{model}-{uncovered}")
    for model in LabelModel.MODELS:
        yield pytest.param(dict(model=model, class_balance="learn"), id=f"{model}-learn")


def with_silent_rule(L: np.ndarray, at: int) -> np.ndarray:
    return np.insert(L, at, -1, axis=1)


@pytest.mark.parametrize("params", list(label_models()))
def test_a_rule_that_never_votes_changes_nothing(params):
    """A rule that matches nothing in this data (a keyword absent from the corpus) says
    nothing about any class: every item keeps its soft label, and the rule's accuracy is
    NaN."""
    for k, seed in ((2, 0), (3, 1)):
        L = votes(60, 5, k, seed)
        base = LabelModel(classes=k, **params).fit(L)
        more = LabelModel(classes=k, **params).fit(with_silent_rule(L, 2))
        np.testing.assert_allclose(more.soft_labels_.probs, base.soft_labels_.probs, rtol=0, atol=TOL)
        np.testing.assert_allclose(more.uncovered_probs_, base.uncovered_probs_, rtol=0, atol=TOL)
        assert np.isnan(more.accuracies_[2]) and more.n_votes_[2] == 0


@pytest.mark.parametrize("abstain", ["ignore", "model"])
def test_matrix_completion_ignores_a_rule_that_never_votes(abstain):
    L = votes(60, 5, 2, 0)
    base = MatrixCompletionLabelModel(abstain=abstain).fit(L).soft_labels_.probs
    more = MatrixCompletionLabelModel(abstain=abstain).fit(with_silent_rule(L, 2)).soft_labels_.probs
    np.testing.assert_allclose(more, base, rtol=0, atol=1e-8)  # the solver's precision
