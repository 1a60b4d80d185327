"""Representative examples for labelling instructions: facility location against a naive
greedy and brute force, hand-computed choices, boundary items, and the errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from softlabels.audit import facility_location, representative_examples
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import SoftLabels


def _naive_greedy(sim, k, w, cand):
    chosen = []
    for _ in range(k):
        best_j, best_f = None, -1.0
        for j in cand:
            if j in chosen:
                continue
            f = sum(w[i] * max(sim[i][s] for s in chosen + [j]) for i in range(len(sim)))
            if f > best_f + 1e-12:
                best_j, best_f = j, f
        chosen.append(best_j)
    return chosen


def _objective(sim, w, chosen):
    return sum(w[i] * max(sim[i][s] for s in chosen) for i in range(len(sim)))


@pytest.mark.parametrize("seed", range(5))
def test_facility_location_matches_a_naive_greedy_and_the_1_minus_1_over_e_bound(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(9, 3))
    sim = np.exp(-((x[:, None] - x[None]) ** 2).sum(-1))
    w = rng.uniform(0.1, 1.0, size=9)
    cand = [0, 2, 3, 5, 6, 8]
    got = facility_location(sim, 3, weights=w, candidates=cand).tolist()
    assert got == _naive_greedy(sim.tolist(), 3, w.tolist(), cand)
    best = max(_objective(sim, w, list(c)) for c in itertools.combinations(cand, 3))
    assert _objective(sim, w, got) >= (1 - 1 / np.e) * best


def test_first_example_is_the_weighted_medoid_and_the_next_covers_another_mode():
    # class 0: a tight mode of three items (0 in its middle) and a far pair
    p = np.array([[0.9, 0.1], [0.95, 0.05], [0.92, 0.08], [0.85, 0.15], [0.9, 0.1],
                  [0.1, 0.9], [0.2, 0.8]])
    f = np.array([[1.0, 0.0, 0.0], [1.0, 0.05, 0.0], [1.0, -0.05, 0.0], [0.0, 0.0, 1.0],
                  [0.05, 0.0, 1.0], [-1.0, 0.0, 0.0], [-1.0, 0.1, 0.0]])
    ex = representative_examples(p, features=f, n_per_class=2, n_pairs=0)
    assert ex.of_class(0).tolist() == [0, 4]   # the medoid of the big mode, then the pair
    assert ex.of_class(1).tolist() == [5, 6]
    assert ex.rank.tolist() == [0, 1, 0, 1]
    np.testing.assert_allclose(ex.confidence, [0.9, 0.9, 0.9, 0.8])
    assert ex.coverage[0] > 0.99 and ex.boundary.size == 0


def test_low_agreement_items_are_not_chosen():
    # item 0 is the centre in feature space but the crowd is split on it
    p = np.array([[0.55, 0.45], [0.9, 0.1], [0.95, 0.05], [0.1, 0.9], [0.05, 0.95]])
    f = np.array([[0.0, 1.0], [0.2, 1.0], [-0.2, 1.0], [1.0, 0.0], [1.0, 0.1]])
    ex = representative_examples(p, features=f, n_per_class=1, min_confidence=0.8)
    assert 0 not in ex.items.tolist()
    # with no confident member, the most confident ones are used instead
    ex2 = representative_examples(p, features=f, n_per_class=1, min_confidence=0.99)
    assert ex2.of_class(0).tolist() == [2] and ex2.of_class(1).tolist() == [4]


def test_without_features_the_most_confident_then_best_supported_members():
    p = np.array([[1.0, 0.0], [0.9, 0.1], [1.0, 0.0], [1.0, 0.0], [0.3, 0.7]])
    ex = representative_examples(p, n_per_class=2, support=[3, 10, 5, 5, 1])
    assert ex.of_class(0).tolist() == [2, 3]   # confidence 1.0 first; ties: support, order
    soft = SoftLabels(p, [0, 1], support=[3, 10, 9, 5, 1])
    assert representative_examples(soft, n_per_class=2).of_class(0).tolist() == [2, 3]
    assert representative_examples(soft, n_per_class=2, support=[9, 1, 1, 1, 1]).of_class(
        0).tolist() == [0, 2]


def test_boundary_items_of_the_most_confused_pair():
    p = np.array([[0.5, 0.4, 0.1], [0.45, 0.45, 0.1], [0.1, 0.3, 0.6], [1.0, 0.0, 0.0],
                  [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    ex = representative_examples(p, n_per_class=1, n_pairs=2, n_boundary=2)
    # pair masses: (0,1) = 0.4+0.45 = 0.85; (1,2) = 0.1+0.1+0.3 = 0.5; (0,2) = 0.1+0.1+0.1
    assert ex.pairs.tolist() == [[0, 1], [0, 1], [2, 1], [1, 2]]
    assert ex.boundary.tolist() == [1, 0, 2, 0]
    frame = ex.boundary_frame()
    assert frame["p_a"].round(2).tolist() == [0.45, 0.5, 0.6, 0.4]


def test_soft_labels_names_and_frame():
    soft = SoftLabels(np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]), ["cat", "dog"],
                      ["a", "b", "c"])
    ex = representative_examples(soft, n_per_class=3)
    frame = ex.to_frame()
    assert frame["class"].tolist() == ["cat", "cat", "dog"]
    assert set(frame["item"]) == {"a", "b", "c"}
    assert frame.columns.tolist() == ["class", "rank", "item", "confidence", "typicality"]


def test_large_classes_are_subsampled_but_keep_their_candidates():
    rng = np.random.default_rng(0)
    p = np.full((500, 2), 0.3)
    p[:, 0] = 0.7
    p[:5] = [1.0, 0.0]
    ex = representative_examples(p, features=rng.normal(size=(500, 4)), n_per_class=3,
                                 min_confidence=0.9, max_members=50)
    assert set(ex.items.tolist()) <= set(range(5)) and ex.items.size == 3


def test_errors():
    p = np.array([[0.9, 0.1], [0.2, 0.8]])
    with pytest.raises(InputError, match="features has 3 rows but there are 2 items"):
        representative_examples(p, features=np.ones((3, 2)))
    with pytest.raises(InputError, match="support must hold one finite number per item"):
        representative_examples(p, support=[1.0])
    with pytest.raises(InvalidParameterError, match="'n_per_class'.*>= 1"):
        representative_examples(p, n_per_class=0)
    with pytest.raises(InvalidParameterError, match="'min_confidence'.*<= 1"):
        representative_examples(p, min_confidence=1.5)
    with pytest.raises(InputError, match="do not sum to 1"):
        representative_examples([[0.5, 0.2]])
    with pytest.raises(InputError, match="similarity must be .* >= 0"):
        facility_location([[-1.0]], 1)
    with pytest.raises(InputError, match="weights must be 2 finite values"):
        facility_location(np.ones((2, 2)), 1, weights=[1.0])
    with pytest.raises(InputError, match="candidates must be column positions"):
        facility_location(np.ones((2, 2)), 1, candidates=[5])
    with pytest.raises(InvalidParameterError, match="'k'.*<= 2"):
        facility_location(np.ones((2, 2)), 3)


def test_facility_location_returns_distinct_columns():
    # S is a set: a column listed twice among the candidates is still one column
    sim = [[1.0, 0.2], [0.2, 1.0]]
    with pytest.raises(InputError, match=r"candidates has column 0 more than once"):
        facility_location(sim, 2, candidates=[0, 0])
    with pytest.raises(InputError, match=r"candidates has column 1 more than once"):
        facility_location(sim, 1, candidates=[1, 0, 1])


def _cosine01(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (1.0 + a @ b.T) / 2.0


def test_coverage_is_the_weighted_similarity_to_the_nearest_example():
    rng = np.random.default_rng(3)
    p = rng.dirichlet([2.0, 1.0, 1.0], size=60)
    z = rng.normal(size=(60, 5))
    ex = representative_examples(p, features=z, n_per_class=2, min_confidence=0.5)
    hard = p.argmax(axis=1)
    for c in range(3):
        members = np.flatnonzero(hard == c)
        near = _cosine01(z[members], z[ex.of_class(c)]).max(axis=1)
        want = (p[members, c] * near).sum() / p[members, c].sum()
        assert ex.coverage[c] == pytest.approx(want, rel=1e-12)


def test_memory_does_not_grow_with_the_square_of_a_large_class():
    import tracemalloc

    rng = np.random.default_rng(0)
    n = 6000  # a members x members float matrix would take 288 MB
    p = np.tile([0.95, 0.05], (n, 1))
    z = rng.normal(size=(n, 8))
    tracemalloc.start()
    try:
        ex = representative_examples(p, features=z, n_per_class=3, max_members=200)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ex.items.size == 3
    assert peak < 40 * 2**20


def test_typicality_is_the_weighted_similarity_to_the_core():
    rng = np.random.default_rng(8)
    p = rng.dirichlet([3.0, 1.0], size=40)
    z = rng.normal(size=(40, 3))
    ex = representative_examples(p, features=z, n_per_class=2, min_confidence=0.7)
    hard = p.argmax(axis=1)
    checked = 0
    for j, item in enumerate(ex.items):
        c = ex.classes_of[j]
        core = np.flatnonzero((hard == c) & (p[:, c] >= 0.7))
        if core.size < 2:  # fewer sure members than examples: the most confident instead
            continue
        assert core.size < (hard == c).sum()  # the core is not the whole class
        w = p[core, c]
        want = (w * _cosine01(z[core], z[[item]])[:, 0]).sum() / w.sum()
        assert ex.typicality[j] == pytest.approx(want, rel=1e-12)
        checked += 1
    assert checked >= 2


def test_without_features_a_subsampled_class_still_gives_its_most_confident_members():
    # max_members bounds the similarity matrix; without features the choice needs none,
    # so it must not depend on which members the subsample happens to keep
    p = np.tile([0.9, 0.1], (300, 1))
    p[250] = [1.0, 0.0]
    p[-5:] = [0.1, 0.9]
    support = np.ones(300)
    support[17] = 50.0
    for seed in range(3):
        ex = representative_examples(p, n_per_class=2, max_members=50, support=support,
                                     random_state=seed)
        assert ex.of_class(0).tolist() == [250, 17]
        np.testing.assert_allclose(ex.confidence[:2], [1.0, 0.9])
        # typicality: the weighted similarity to the subsampled core, which holds at
        # most item 250 besides members identical to item 17
        sure_vs_rest = _cosine01(np.array([[1.0, 0.0]]), np.array([[0.9, 0.1]]))[0, 0]
        assert ex.typicality[0] == pytest.approx(sure_vs_rest, abs=2e-3)
        assert sure_vs_rest - 1e-12 <= ex.typicality[1] <= 1.0
