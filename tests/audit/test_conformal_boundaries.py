"""Conformal ranks at their boundaries: (n + 1)(1 - alpha) an exact integer that floating
point rounds up, and Mondrian classes with exactly as many items as the rank needs."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from softlabels.audit.conformal import SplitConformalClassifier, conformal_quantile


def exact_rank(n: int, alpha: float) -> int:
    """ceil((n + 1)(1 - alpha)) with alpha read as the decimal it prints as."""
    return math.ceil((n + 1) * (1 - Fraction(repr(alpha))))


def float_rank(n: int, alpha: float) -> int:
    return math.ceil((n + 1) * (1 - alpha))


# (n, alpha) where the float product lands just above an integer (or below it)
SEPARATING = [
    (n, a)
    for n in range(1, 200)
    for a in [j / 100 for j in range(1, 100)]
    if exact_rank(n, a) != float_rank(n, a)
]


def test_the_boundary_cases_exist():
    assert (49, 0.42) in SEPARATING and len(SEPARATING) >= 10
    assert exact_rank(49, 0.42) == 29 and float_rank(49, 0.42) == 30


@pytest.mark.parametrize("n, alpha", SEPARATING[::max(1, len(SEPARATING) // 40)])
def test_quantile_uses_the_exact_rank(n, alpha):
    rng = np.random.default_rng(n)
    scores = rng.permutation(np.arange(1.0, n + 1))  # the k-th smallest is k
    k = exact_rank(n, alpha)
    want = float(k) if k <= n else math.inf
    assert conformal_quantile(scores, alpha) == want


def test_split_classifier_uses_the_exact_rank():
    n, alpha = 49, 0.42
    probs = np.column_stack([np.linspace(0.99, 0.5, n), 1 - np.linspace(0.99, 0.5, n)])
    labels = np.zeros(n, dtype=int)
    cp = SplitConformalClassifier("lac", alpha=alpha).fit(probs, labels)
    scores = np.sort(1 - probs[:, 0])
    assert cp.threshold_ == pytest.approx(scores[29 - 1], abs=0)


@pytest.mark.parametrize("alpha, n_c", [(0.2, 4), (0.1, 9), (0.25, 3), (0.5, 1), (0.02, 49)])
def test_mondrian_class_with_exactly_k_items_gets_a_finite_threshold(alpha, n_c):
    """k = ceil((n_c + 1)(1 - alpha)) == n_c: the largest score of the class; one item
    fewer: k > n_c and the threshold is infinite."""
    assert exact_rank(n_c, alpha) == n_c
    rng = np.random.default_rng(n_c)
    # class 0: n_c items; class 1: many items, so only class 0 sits on the boundary
    p0 = rng.uniform(0.4, 0.99, n_c)
    p1 = rng.uniform(0.4, 0.99, 60)
    probs = np.vstack([np.column_stack([p0, 1 - p0]), np.column_stack([1 - p1, p1])])
    labels = np.r_[np.zeros(n_c, int), np.ones(60, int)]
    cp = SplitConformalClassifier("lac", alpha=alpha, mondrian=True).fit(probs, labels)
    assert cp.thresholds_[0] == pytest.approx(float(np.max(1 - p0)), abs=0)
    k1 = exact_rank(60, alpha)
    assert cp.thresholds_[1] == pytest.approx(float(np.sort(1 - p1)[k1 - 1]), abs=0)
    if n_c > 1:
        fewer = np.r_[np.arange(n_c - 1), np.arange(n_c, n_c + 60)]
        small = SplitConformalClassifier("lac", alpha=alpha, mondrian=True).fit(
            probs[fewer], labels[fewer])
        assert small.thresholds_[0] == math.inf
