"""Symmetries of the teacher, partial-label and bag sources: the order of the teachers
does not matter, renaming or reordering the classes permutes the columns, and every
result is a distribution, also on degenerate input (one item, one teacher)."""

from __future__ import annotations

import numpy as np
import pytest

from softlabels.infer.bags import proportion_pseudo_labels
from softlabels.infer.partial import (
    from_candidate_sets,
    from_complementary,
    from_positive_unlabeled,
)
from softlabels.infer.teachers import (
    MEASURES,
    committee_soft_labels,
    meal_v2_soft_labels,
    robust_sampling_distribution,
    teacher_soft_labels,
    uncertainty_scores,
)

SEEDS = range(6)


def _case(seed):
    rng = np.random.default_rng(seed)
    m, n, c = rng.integers(1, 4), rng.integers(1, 6), rng.integers(2, 5)
    z = rng.normal(size=(m, n, c)) * rng.choice([0.1, 1.0, 8.0])
    return rng, z


def assert_distribution(p):
    assert np.isfinite(p).all() and (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("pool", ["probs", "logits"])
def test_teacher_pooling_ignores_teacher_order_and_follows_the_classes(seed, pool):
    rng, z = _case(seed)
    m, _, c = z.shape
    w = rng.random(m) + 0.1
    t, k = rng.permutation(m), rng.permutation(c)
    base = teacher_soft_labels(z, inputs="logits", pool=pool, weights=w, temperature=2.0)
    assert_distribution(base.probs)
    moved = teacher_soft_labels(z[t], inputs="logits", pool=pool, weights=w[t], temperature=2.0)
    np.testing.assert_allclose(moved.probs, base.probs, atol=1e-12)
    renamed = teacher_soft_labels(z[:, :, k], inputs="logits", pool=pool, weights=w,
                                  temperature=2.0)
    np.testing.assert_allclose(renamed.probs, base.probs[:, k], atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_committee_and_meal_ignore_teacher_order_and_follow_the_classes(seed):
    rng, z = _case(seed)
    m, _, c = z.shape
    scores = rng.uniform(40, 90, m)
    t, k = rng.permutation(m), rng.permutation(c)
    base = committee_soft_labels(z, scores, inputs="logits")
    assert_distribution(base.probs)
    np.testing.assert_allclose(
        committee_soft_labels(z[t], scores[t], inputs="logits").probs, base.probs, atol=1e-12)
    np.testing.assert_allclose(
        committee_soft_labels(z[:, :, k], scores, inputs="logits").probs, base.probs[:, k],
        atol=1e-12)
    meal = meal_v2_soft_labels(z, inputs="logits")
    assert_distribution(meal.probs)
    np.testing.assert_allclose(meal_v2_soft_labels(z[t], inputs="logits").probs, meal.probs,
                               atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_uncertainty_and_robust_distribution_do_not_see_class_names(seed):
    rng, z = _case(seed)
    k = rng.permutation(z.shape[2])
    for measure in MEASURES:
        u = uncertainty_scores(z[0], measure=measure, inputs="logits")
        assert ((u >= 0) & (u <= 1)).all()
        np.testing.assert_allclose(
            uncertainty_scores(z[0][:, k], measure=measure, inputs="logits"), u, atol=1e-12)
    g = uncertainty_scores(z[0], inputs="logits")
    r = robust_sampling_distribution(g, 0)
    assert r.p.min() >= 0 and r.p.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_partial_labels_follow_a_renaming_of_the_classes(seed):
    rng = np.random.default_rng(seed)
    n, c = rng.integers(1, 8), rng.integers(2, 6)
    k = rng.permutation(c)
    inverse = np.argsort(k)
    pred = rng.dirichlet(np.ones(c), size=n)
    cand = rng.random((n, c)) < 0.5
    cand[np.arange(n), rng.integers(0, c, n)] = True
    base = from_candidate_sets(cand, pred_probs=pred)
    assert_distribution(base.probs)
    np.testing.assert_allclose(
        from_candidate_sets(cand[:, k], pred_probs=pred[:, k]).probs, base.probs[:, k],
        atol=1e-12)
    comp = rng.integers(0, c, n)
    q = rng.dirichlet(np.ones(c), size=c)
    soft = from_complementary(comp, c, transition=q, pred_probs=pred)
    assert_distribution(soft.probs)
    # class j is now called inverse[j]: the labels, the matrix and the predictions follow
    renamed = from_complementary(inverse[comp], c, transition=q[np.ix_(k, k)],
                                 pred_probs=pred[:, k])
    np.testing.assert_allclose(renamed.probs, soft.probs[:, k], atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_positive_unlabeled_follows_a_reordering_of_the_labels(seed):
    rng = np.random.default_rng(seed)
    n, n_labels = rng.integers(1, 10), rng.integers(1, 4)
    obs = (rng.random((n, n_labels)) < 0.4).astype(int)
    obs[0] = 1  # every label has an observed positive
    g = np.clip(rng.random((n, n_labels)), 0.01, 0.99)
    names = [f"l{j}" for j in range(n_labels)]
    base = from_positive_unlabeled(obs, pred_probs=g, labels=names)
    k = rng.permutation(n_labels)
    moved = from_positive_unlabeled(obs[:, k], pred_probs=g[:, k], labels=[names[j] for j in k])
    for name, soft in base.items():
        assert_distribution(soft.probs)
        np.testing.assert_allclose(moved[name].probs, soft.probs, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_projection_follows_a_renaming_of_the_classes(seed):
    rng = np.random.default_rng(seed)
    n, c = rng.integers(1, 12), rng.integers(2, 5)
    bag = rng.integers(0, max(1, n // 3), n)
    _, bag = np.unique(bag, return_inverse=True)
    sizes = np.bincount(bag)
    counts = np.array([rng.multinomial(s, np.ones(c) / c) for s in sizes])
    pred = rng.dirichlet(np.ones(c), size=n)
    k = rng.permutation(c)
    base = proportion_pseudo_labels(pred, bag, counts=counts)
    assert_distribution(base.probs)
    np.testing.assert_allclose(
        proportion_pseudo_labels(pred[:, k], bag, counts=counts[:, k]).probs, base.probs[:, k],
        atol=1e-8)
