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


def relabelled(L: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Votes with class c renamed perm[c]."""
    return np.where(L >= 0, perm[np.maximum(L, 0)], -1)


def test_matrix_completion_on_tied_moments_keeps_the_solvers_class_order():
    """Two items fit the moments exactly with either class assignment (objective 0): the
    tie keeps the solver's own alignment, where each rule starts out voting its class
    right, whatever the classes are called (not by the class order, which sent both the
    votes (1, 0, 1) and, renamed, (0, 1, 0) to class 0)."""
    L = np.array([[-1, -1, -1, 1], [-1, 1, 0, 1]])
    p = MatrixCompletionLabelModel().fit(L).soft_labels_.probs
    q = MatrixCompletionLabelModel().fit(relabelled(L, np.array([1, 0]))).soft_labels_.probs
    np.testing.assert_allclose(q, p[:, ::-1], rtol=0, atol=TOL)
    assert p[1].argmax() == 1  # two of its three votes say 1


@pytest.mark.parametrize("abstain", ["ignore", "model"])
def test_matrix_completion_is_equivariant_under_class_renaming(abstain):
    rng = np.random.default_rng(7)
    for k, seed in ((2, 2), (3, 3)):
        L = votes(80, 5, k, seed)
        p = MatrixCompletionLabelModel(abstain=abstain).fit(L).soft_labels_.probs
        perm = rng.permutation(k)
        q = MatrixCompletionLabelModel(abstain=abstain, classes=k).fit(relabelled(L, perm)).soft_labels_.probs
        np.testing.assert_allclose(q[:, perm], p, rtol=0, atol=1e-8)  # the solver's precision


ONE_COIN = ("shared-one-coin", "pooled-one-coin", "one-coin", "hierarchical-one-coin")


@pytest.mark.parametrize("model", LabelModel.MODELS)
def test_a_declared_class_no_rule_votes_for_is_as_documented(model):
    """LabelModel's ``classes``: with the uniform prior the one-coin models never make
    such a class the most likely one of an item with votes (the confusion models may);
    with a learned prior it gets no mass; the silent items lean to it unless
    ``uncovered="prior"``, which gives them the prior."""
    for k, seed in ((2, 0), (3, 2)):
        L = votes(80, 5, k, seed)
        covered = (L >= 0).any(axis=1)
        uniform = LabelModel(model=model, classes=k + 1).fit(L)
        p = uniform.soft_labels_.probs
        assert p.shape == (80, k + 1)
        if model in ONE_COIN:
            assert (p[covered].argmax(axis=1) < k).all()
        if model != "data-programming":  # which reads its own abstention rates
            assert uniform.uncovered_probs_.argmax() == k
        learned = LabelModel(model=model, classes=k + 1, class_balance="learn").fit(L).soft_labels_.probs
        assert learned[:, k].max() < 1e-3
        prior = LabelModel(model=model, classes=k + 1, uncovered="prior").fit(L)
        np.testing.assert_allclose(prior.uncovered_probs_, 1.0 / (k + 1))


@pytest.mark.parametrize("params", list(label_models()))
def test_label_model_is_equivariant_under_reordering(params):
    """Items, rules and class names in another order: the same soft labels, rows and
    columns moved accordingly (every variant, both priors)."""
    rng = np.random.default_rng(11)
    for k, seed in ((2, 4), (3, 5)):
        L = votes(60, 5, k, seed)
        p = LabelModel(classes=k, **params).fit(L).soft_labels_.probs
        rows, rules, perm = rng.permutation(60), rng.permutation(5), rng.permutation(k)
        moved = LabelModel(classes=k, **params).fit(relabelled(L[rows][:, rules], perm)).soft_labels_.probs
        np.testing.assert_allclose(moved[:, perm], p[rows], rtol=0, atol=TOL)


DEGENERATE = {
    "one-item-one-rule": [[1]],
    "one-rule": [[0], [1], [-1], [1]],
    "all-agree": [[1, 1, 1], [1, 1, 1], [1, -1, 1]],
    "each-class-once": [[0, 1, 2]],
    "opposite-pairs": [[0, 1], [1, 0]],
}


@pytest.mark.parametrize("case", DEGENERATE)
@pytest.mark.parametrize("params", list(label_models()))
def test_degenerate_vote_matrices_give_distributions(params, case):
    L = np.array(DEGENERATE[case])
    p = LabelModel(**params).fit(L).soft_labels_.probs
    assert not np.isnan(p).any() and (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    if case in ("each-class-once", "opposite-pairs"):  # symmetric in the classes
        np.testing.assert_allclose(p, 1.0 / p.shape[1], rtol=0, atol=TOL)


def test_matrix_completion_on_a_few_items_depends_on_rule_order_only_within_the_documented_bound():
    """MatrixCompletionLabelModel's docstring: on ten items, reordering the rules or
    renaming the classes moves the soft labels by up to about 1e-3."""
    rng = np.random.default_rng(5)
    worst = 0.0
    for _ in range(20):
        k, n, m = int(rng.integers(2, 4)), int(rng.integers(3, 11)), int(rng.integers(3, 6))
        L = rng.integers(-1, k, (n, m))
        if not (L >= 0).any():
            continue
        p = MatrixCompletionLabelModel(classes=k).fit(L).soft_labels_.probs
        rules, perm = rng.permutation(m), rng.permutation(k)
        q = MatrixCompletionLabelModel(classes=k).fit(relabelled(L[:, rules], perm)).soft_labels_.probs
        worst = max(worst, float(np.abs(q[:, perm] - p).max()))
    assert worst < 1e-3
