"""Category discovery: the Hungarian class -> head map, clustering accuracy (old / new / all)
and the novelty metrics of a query set, against brute force and hand-computed cases."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from softlabels.audit import (
    ClusterAccuracy,
    cluster_accuracy,
    hungarian_label_map,
    novelty_metrics,
)
from softlabels.core.errors import InputError, InvalidParameterError


def brute_force_best(pred, true, d):
    """The largest number of items any permutation class -> head agrees with."""
    return max(sum(perm[t] == p for p, t in zip(pred, true))
               for perm in itertools.permutations(range(d)))


def test_map_is_a_permutation_that_agrees_with_the_most_items():
    rng = np.random.default_rng(0)
    for _ in range(20):
        d = int(rng.integers(2, 6))
        true = rng.integers(0, d, 30)
        noisy = np.where(rng.random(30) < 0.6, rng.permutation(d)[true], rng.integers(0, d, 30))
        mapping = hungarian_label_map(noisy, true, n_heads=d)
        assert sorted(mapping.tolist()) == list(range(d))
        assert int((mapping[true] == noisy).sum()) == brute_force_best(noisy, true, d)


def test_map_hand_computed_and_relabelling_round_trip():
    # clusters 2, 0, 1 hold classes 0, 1, 2
    true = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    pred = np.array([2, 2, 1, 0, 0, 1, 1, 0])
    mapping = hungarian_label_map(pred, true)
    assert mapping.tolist() == [2, 0, 1]
    np.testing.assert_array_equal(np.argsort(mapping)[mapping[true]], true)
    # an unused class gets the unused head
    assert hungarian_label_map([1, 1], [0, 0], n_heads=3).tolist() in ([1, 0, 2], [1, 2, 0])


def test_cluster_accuracy_hand_computed():
    true = [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]
    pred = [5, 5, 7, 6, 6, 7, 7, 7, 6, 8]  # any ids; 5->0, 6->1, 7->2, 8->3 is best
    r = cluster_accuracy(true, pred, old_classes=[0, 1])
    assert isinstance(r, ClusterAccuracy)
    # hits: items 0, 1 (class 0), 3, 4 (class 1), 5, 6, 7 (class 2), 9 (class 3)
    assert r.all == pytest.approx(8 / 10)
    assert r.old == pytest.approx(4 / 5)
    assert r.new == pytest.approx(4 / 5)
    assert r.mapping[[0, 1, 2, 3]].tolist() == [5, 6, 7, 8]


def test_one_global_map_not_one_per_group():
    # old class 0 and new class 1 both predicted as head 0: only one of them can have it
    r = cluster_accuracy([0, 0, 1, 1, 1], [0, 0, 0, 0, 0], old_classes=[0])
    assert (r.old, r.new) == (0.0, 1.0)
    assert r.all == pytest.approx(0.6)
    plain = cluster_accuracy([0, 0, 1, 1, 1], [0, 0, 0, 0, 0])
    assert plain.all == pytest.approx(0.6) and math.isnan(plain.old) and math.isnan(plain.new)


def test_cluster_accuracy_is_invariant_to_renaming_the_clusters():
    rng = np.random.default_rng(1)
    true = rng.integers(0, 6, 200)
    pred = np.where(rng.random(200) < 0.7, true, rng.integers(0, 6, 200))
    rename = rng.permutation(6)
    a = cluster_accuracy(true, pred, old_classes=[0, 1, 2])
    b = cluster_accuracy(true, rename[pred], old_classes=[0, 1, 2])
    assert (a.all, a.old, a.new) == (b.all, b.old, b.new)


def test_novelty_metrics_hand_computed():
    m = novelty_metrics([5, 5, 6, 0, 9, 9, 9, 2], num_old=5, num_new=5)
    assert m.ratio == pytest.approx(6 / 8)
    assert m.coverage == pytest.approx(3 / 5)
    # new classes 5, 6, 9 queried 2, 1, 3 times out of 6
    q = [2 / 6, 1 / 6, 3 / 6]
    assert m.uniformity == pytest.approx(-sum(v * math.log(v) for v in q))
    assert m.uniformity_max == pytest.approx(math.log(5))
    none_new = novelty_metrics([0, 1], num_old=2, num_new=3)
    assert (none_new.ratio, none_new.coverage, none_new.uniformity) == (0.0, 0.0, 0.0)


def test_bad_inputs_say_what_is_wrong():
    with pytest.raises(InputError, match="pred and true must have the same length; got 2 and 3"):
        hungarian_label_map([0, 1], [0, 1, 1])
    with pytest.raises(InputError, match=r"true\[1\] = -1 is negative"):
        cluster_accuracy([0, -1], [0, 0])
    with pytest.raises(InputError, match="must hold integer ids"):
        cluster_accuracy([0.5, 1.0], [0, 1])
    with pytest.raises(InputError, match="an id 3 in pred or true is not below n_heads=3"):
        hungarian_label_map([0, 3], [0, 1], n_heads=3)
    with pytest.raises(InputError, match="no items to score"):
        cluster_accuracy([], [])
    with pytest.raises(InputError, match=r"labels\[0\] = 7 is not a class in 0..5"):
        novelty_metrics([7], num_old=3, num_new=3)
    with pytest.raises(InvalidParameterError, match="'num_new' parameter of novelty_metrics"):
        novelty_metrics([1], num_old=3, num_new=0)
