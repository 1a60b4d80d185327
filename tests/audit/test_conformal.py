"""Conformal prediction: quantile, LAC/APS/RAPS scores and sets, Mondrian, LP-ICP.

Coverage is checked against the theory: with ``n`` continuous calibration scores and
``k = ceil((n + 1)(1 - alpha))``, the coverage of a split is Beta(k, n + 1 - k)
distributed, with mean ``k / (n + 1)``; averaged over ``S`` splits of ``m`` test items
its standard deviation is at most ``sqrt(mu (1 - mu) (1 / (n + 2) + 1 / m) / S)``.
"""

from __future__ import annotations

import doctest
import importlib
import itertools
import math
import warnings
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softlabels.audit.conformal as cm
import softlabels.audit.conformal._ranking as conformal_ranking
import softlabels.audit.conformal.split as conformal_split
from softlabels.audit import (
    LabelPowersetICP,
    SplitConformalClassifier,
    conformal_quantile,
    coverage,
)
from softlabels.audit.conformal import LabelSetRegions, mean_set_size, nonconformity_scores
from softlabels.core.errors import InputError, InvalidParameterError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10"
Z = 4.5  # standard deviations allowed by the coverage checks


# ----------------------------------------------------------------------- helpers
def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sample(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    return (rng.random(probs.shape[:-1])[..., None] > probs.cumsum(axis=-1)).sum(axis=-1).clip(
        max=probs.shape[-1] - 1
    )


def synthetic(
    rng: np.random.Generator, shape: tuple[int, ...], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exchangeable items: labels from softmax(z), a miscalibrated, noisy model sees
    softmax(0.6 z + noise)."""
    z = 2.0 * rng.normal(size=(*shape, k))
    labels = sample(rng, softmax(z))
    probs = softmax(0.6 * z + 0.5 * rng.normal(size=z.shape))
    return probs, labels


def expected_coverage(n: int, alpha: float) -> float:
    k = math.ceil(round((n + 1) * (1 - alpha), 9))
    return 1.0 if k > n else k / (n + 1)


def coverage_sd(mu: float, n: int, m: int, splits: int) -> float:
    return math.sqrt(max(mu * (1 - mu), 1e-4) * (1 / (n + 2) + 1 / m) / splits)


# --------------------------------------------------------------------- quantile
SCORES10 = [0.7, 0.1, 1.0, 0.4, 0.9, 0.2, 0.6, 0.3, 0.8, 0.5]


@pytest.mark.parametrize(
    "scores, alpha, expected",
    [
        (SCORES10, 0.1, 1.0),  # k = ceil(11 * 0.9) = ceil(9.9) = 10
        (SCORES10, 0.2, 0.9),  # k = ceil(8.8) = 9
        (SCORES10, 0.5, 0.6),  # k = ceil(5.5) = 6
        (list(range(1, 10)), 0.1, 9),  # n = 9: 10 * 0.9 = 9 exactly, k = 9
        (list(range(19)), 0.05, 18),  # n = 19: 20 * 0.95 = 19 exactly, k = 19
        (list(range(1, 10)), 0.3, 7),  # 10 * 0.7 = 7 exactly (0.7 is not exact in binary)
        ([2, 1, 2, 1, 1], 0.5, 1),  # ties: k = ceil(3) = 3 -> third of 1,1,1,2,2
        ([2, 1, 2, 1, 1], 0.4, 2),  # k = ceil(3.6) = 4
        ([0.5, np.inf, 0.1], 0.5, 0.5),  # k = 2; +inf scores are allowed
        (list(range(8)), 0.1, np.inf),  # k = ceil(8.1) = 9 > 8
        (list(range(5)), 0.1, np.inf),  # k = 6 > 5
        ([], 0.5, np.inf),
    ],
)
def test_quantile_hand_cases(scores, alpha, expected):
    assert conformal_quantile(scores, alpha) == expected


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    scores=st.lists(st.integers(0, 20), min_size=1, max_size=60),
    permille=st.integers(1, 999),
)
def test_quantile_is_the_kth_smallest(scores, permille):
    # integer arithmetic for k = ceil((n + 1)(1000 - permille) / 1000)
    n = len(scores)
    k = -(-(n + 1) * (1000 - permille) // 1000)
    expected = math.inf if k > n else sorted(scores)[k - 1]
    assert conformal_quantile(np.array(scores, dtype=float), permille / 1000) == expected


def test_quantile_matches_numpy_inverted_cdf():
    rng = np.random.default_rng(1)
    s = rng.random(101)
    k = math.ceil(102 * 0.9)  # 92
    q = conformal_quantile(s, 0.1)
    assert q == np.sort(s)[k - 1]
    assert q == np.quantile(s, k / 101, method="lower")  # MAPIE's form
    assert q < np.quantile(s, k / 101, method="higher")  # one score too far
    assert q > np.quantile(s, 0.9)  # the uncorrected quantile under-covers



def test_quantile_is_numpy_lower_at_k_over_n_but_not_always_inverted_cdf():
    # k / n rounds up for some (n, k): inverted_cdf then takes the next score
    mismatched = 0
    for n in range(1, 120):
        s = np.arange(n, dtype=float)
        for alpha in (0.05, 0.1, 0.2, 0.5):
            k = -(-(n + 1) * (100 - round(alpha * 100)) // 100)
            if k > n:
                continue
            q = conformal_quantile(s, alpha)
            assert q == np.quantile(s, k / n, method="lower")
            mismatched += q != np.quantile(s, k / n, method="inverted_cdf")
    assert mismatched > 0  # e.g. n = 29, alpha = 0.5: k / n = 15 / 29

# ------------------------------------------------------------------------ scores
P2 = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])


def test_scores_hand_case():
    # row 2 sorted: class 1 (0.6), class 2 (0.3), class 0 (0.1); mass above: 0, 0.6, 0.9
    np.testing.assert_allclose(nonconformity_scores(P2, "lac"), 1 - P2)
    np.testing.assert_allclose(nonconformity_scores(P2, "aps"), [[0, 0.5, 0.8], [0.9, 0, 0.6]])
    np.testing.assert_allclose(
        nonconformity_scores(P2, "aps", u=[0.5, 1.0]), [[0.25, 0.65, 0.9], [1.0, 0.6, 0.9]]
    )
    np.testing.assert_allclose(
        nonconformity_scores(P2, "aps", u=1.0), [[0.5, 0.8, 1.0], [1.0, 0.6, 0.9]]
    )
    # RAPS: + 0.1 * max(0, rank - 1)
    np.testing.assert_allclose(
        nonconformity_scores(P2, "raps", k_reg=1, lam=0.1), [[0, 0.6, 1.0], [1.1, 0, 0.7]]
    )
    np.testing.assert_allclose(
        nonconformity_scores(P2, "raps", u=0.5, k_reg=1, lam=0.1),
        [[0.25, 0.75, 1.1], [1.15, 0.3, 0.85]],
    )
    # k_reg = 0 penalises the top class too
    np.testing.assert_allclose(
        nonconformity_scores(P2[:1], "raps", k_reg=0, lam=0.1), [[0.1, 0.7, 1.1]]
    )


def test_scores_ties_rank_lower_class_first():
    np.testing.assert_allclose(nonconformity_scores([[0.4, 0.4, 0.2]], "aps"), [[0, 0.4, 0.8]])
    np.testing.assert_allclose(nonconformity_scores([[0.2, 0.4, 0.4]], "aps"), [[0.8, 0, 0.4]])


def naive_aps(p: np.ndarray, y: int, u: float, k_reg: int, lam: float) -> float:
    """The RAPS paper's formula for one item, written out with a loop."""
    order = sorted(range(len(p)), key=lambda c: (-p[c], c))
    rank = order.index(y) + 1
    above = sum(p[c] for c in order[: rank - 1])
    return above + u * p[y] + lam * max(0, rank - k_reg)


@settings(max_examples=50, derandomize=True, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 7), k_reg=st.integers(0, 7))
def test_scores_match_naive_formula(seed, k, k_reg):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(k), size=6)
    u = rng.random(6)
    got = nonconformity_scores(p, "raps", u=u, k_reg=k_reg, lam=0.3)
    want = [[naive_aps(p[i], y, u[i], k_reg, 0.3) for y in range(k)] for i in range(6)]
    np.testing.assert_allclose(got, want, atol=1e-12)


# -------------------------------------------------------------- hand-made sets
# calibration: true-label masses above = 0, 0.5, 0.8 (rows 1-3) and 0.6 (row 4)
CAL_P = np.array([[0.5, 0.3, 0.2]] * 3 + [[0.6, 0.3, 0.1]])
CAL_Y = np.array([0, 1, 2, 1])
TEST_P = np.array([[0.5, 0.3, 0.2], [0.45, 0.35, 0.2]])


def test_lac_hand_case():
    # scores 0.5, 0.7, 0.8, 0.7; alpha = 0.4: k = ceil(5 * 0.6) = 3 -> 0.7
    cp = SplitConformalClassifier("lac", alpha=0.4).fit(CAL_P, CAL_Y)
    assert cp.threshold_ == pytest.approx(0.7)
    assert cp.n_calib_ == 4
    probs = np.array([[0.8, 0.15, 0.05], [0.25, 0.25, 0.5], [0.2, 0.3, 0.5], [0.34, 0.33, 0.33]])
    # 1 - p <= 0.7 <=> p >= 0.3
    np.testing.assert_array_equal(
        cp.predict_sets(probs),
        [[True, False, False], [False, False, True], [False, True, True], [True, True, True]],
    )
    # alpha = 0.8: k = ceil(5 * 0.2) = 1 -> threshold 0.5, p >= 0.5 needed
    sets = SplitConformalClassifier("lac", alpha=0.8).fit(CAL_P, CAL_Y).predict_sets(probs)
    assert not sets[3].any()  # LAC may give an empty set
    filled = SplitConformalClassifier("lac", alpha=0.8, allow_empty=False).fit(CAL_P, CAL_Y)
    np.testing.assert_array_equal(filled.predict_sets(probs)[3], [True, False, False])


def test_aps_hand_case():
    # u = 0 scores 0, 0.5, 0.8, 0.6 -> sorted 0, 0.5, 0.6, 0.8; alpha = 0.4: k = 3 -> 0.6
    cp = SplitConformalClassifier("aps", alpha=0.4).fit(CAL_P, CAL_Y)
    np.testing.assert_allclose(cp.calib_scores_, [0, 0.5, 0.8, 0.6])
    assert cp.threshold_ == pytest.approx(0.6)
    # masses above: row 1: 0, 0.5, 0.8; row 2: 0, 0.45, 0.8
    np.testing.assert_array_equal(cp.predict_sets(TEST_P), [[1, 1, 0], [1, 1, 0]])
    # a tiny threshold still keeps the top class
    tiny = SplitConformalClassifier("aps", alpha=0.4).fit(np.tile([[0.9, 0.1]], (9, 1)), [0] * 9)
    assert tiny.threshold_ == 0.0
    np.testing.assert_array_equal(tiny.predict_sets([[0.2, 0.8], [0.5, 0.5]]), [[0, 1], [1, 0]])


def test_randomised_aps_with_given_u():
    cp = SplitConformalClassifier("aps", alpha=0.4, randomized=True, random_state=0)
    cp.fit(CAL_P, CAL_Y)
    # each calibration score lies between the mass above and the mass up to the label
    above = np.array([0, 0.5, 0.8, 0.6])
    assert np.all(cp.calib_scores_ >= above)
    assert np.all(cp.calib_scores_ <= above + CAL_P[np.arange(4), CAL_Y])
    q = cp.threshold_
    for u in (0.0, 0.3, 0.7, 1.0):
        want = nonconformity_scores(TEST_P, "aps", u=u) <= q
        np.testing.assert_array_equal(cp.predict_sets(TEST_P, u=u), want)
    # per-item u, shared by all classes of an item
    np.testing.assert_array_equal(
        cp.predict_sets(TEST_P, u=[0.0, 1.0]),
        nonconformity_scores(TEST_P, "aps", u=[0.0, 1.0]) <= q,
    )


def test_raps_hand_case_with_given_parameters():
    # k_reg = 1, lam = 0.1: scores 0, 0.6, 1.0, 0.7 -> alpha = 0.4: 0.7
    cp = SplitConformalClassifier("raps", alpha=0.4, k_reg=1, lam=0.1).fit(CAL_P, CAL_Y)
    np.testing.assert_allclose(cp.calib_scores_, [0, 0.6, 1.0, 0.7])
    assert cp.threshold_ == pytest.approx(0.7)
    assert (cp.k_reg_, cp.lam_, cp.n_tune_, cp.n_calib_) == (1, 0.1, 0, 4)
    # row 1 scores 0, 0.6, 1.0; row 2: 0, 0.55, 1.0
    np.testing.assert_array_equal(cp.predict_sets(TEST_P), [[1, 1, 0], [1, 1, 0]])


def test_raps_chooses_k_reg_and_lam_like_the_official_code():
    # every true label ranked second -> k_reg = 1 + 1 = 2 whatever the split
    rng = np.random.default_rng(0)
    top = rng.uniform(0.3, 0.9, size=200)
    second = (1 - top) * 0.5
    probs = np.column_stack([top, second, (1 - top) * 0.3, (1 - top) * 0.2])
    labels = np.ones(200, dtype=int)
    cp = SplitConformalClassifier("raps", alpha=0.1, k_reg="quantile", random_state=0)
    cp.fit(probs, labels)
    assert cp.k_reg_ == 2
    assert cp.n_tune_ == 60 and cp.n_calib_ == 140
    # the third class enters when above + lam <= threshold: the largest lam keeps sets
    # smallest, so 0.5 is chosen
    assert cp.lam_ == 0.5
    # identical rows: every lam gives the same sets -> the first of the grid
    # (by default k_reg is searched too, from k* = 2 down: the tie keeps the official pair)
    for k_reg in ("quantile", None):
        same = SplitConformalClassifier("raps", alpha=0.1, k_reg=k_reg, random_state=0)
        same.fit(np.tile([[0.5, 0.3, 0.15, 0.05]], (50, 1)), np.ones(50, dtype=int))
        assert (same.k_reg_, same.lam_) == (2, cm.RAPS_LAMBDA_GRID[0])
    # a given k_reg is kept, lam still chosen on the held-out share
    given_k = SplitConformalClassifier("raps", alpha=0.1, k_reg=3, random_state=0)
    given_k.fit(probs, labels)
    assert given_k.k_reg_ == 3 and given_k.n_tune_ == 60
    # randomised: the same choice (the expected criterion sees the same ordering)
    rand = SplitConformalClassifier("raps", alpha=0.1, randomized=True, k_reg="quantile",
                                    random_state=0)
    assert (rand.fit(probs, labels).k_reg_, rand.lam_) == (2, 0.5)


def test_raps_default_searches_k_reg_below_the_quantile_rule():
    # a sharp, calibrated model over 10 classes: at alpha = 0.05 the quantile rule gives
    # k* = 4, while the search finds k_reg = 1 with smaller randomised sets on the
    # held-out half, at the same coverage (seeded; checked by hand once)
    rng = np.random.default_rng(0)
    probs = softmax(3.0 * rng.normal(size=(4000, 10)))
    labels = sample(rng, probs)
    fitted = {
        k_reg: SplitConformalClassifier(
            "raps", alpha=0.05, randomized=True, k_reg=k_reg, random_state=0
        ).fit(probs[:2000], labels[:2000])
        for k_reg in ("quantile", None)
    }
    assert (fitted["quantile"].k_reg_, fitted[None].k_reg_) == (4, 1)
    sets = {k: cp.predict_sets(probs[2000:]) for k, cp in fitted.items()}
    assert sets[None].sum(axis=1).mean() < sets["quantile"].sum(axis=1).mean() - 0.1
    assert coverage(sets[None], labels[2000:]) >= 0.94
    assert conformal_split._k_reg_candidates(4) == [4, 3, 2, 1]
    many = conformal_split._k_reg_candidates(500)
    assert many[0] == 500 and many[-1] == 1 and len(many) <= cm.RAPS_MAX_K_TRIED
    with pytest.raises(InvalidParameterError, match="'k_reg' .* 'quantile'"):
        SplitConformalClassifier("raps", k_reg="median").fit(probs, labels)


def naive_share(q: float, base: np.ndarray, width: np.ndarray) -> float:
    """Expected share of scores ``base + u * width`` (u uniform) at or below ``q``."""
    total = 0.0
    for b, w in zip(base.tolist(), width.tolist()):
        total += (1.0 if q >= b else 0.0) if w == 0 else min(1.0, max(0.0, (q - b) / w))
    return total / len(base)


def naive_averaged_threshold(base: np.ndarray, width: np.ndarray, alpha: float) -> float:
    """Smallest q with naive_share(q) >= k / n: walk the knots of the piecewise-linear
    share and interpolate inside the segment where it first reaches the target."""
    n = len(base)
    k = math.ceil((n + 1) * (1 - Fraction(repr(alpha))))
    if k > n:
        return math.inf
    target = k / n
    knots = sorted(set(base.tolist()) | set((base + width).tolist()))
    if naive_share(knots[0], base, width) >= target:
        return knots[0]
    for prev, knot in zip(knots, knots[1:]):
        at = naive_share(knot, base, width)
        if at >= target:
            # the share is linear between knots and jumps at a zero-width score
            left = at - sum(1 for b, w in zip(base, width) if w == 0 and b == knot) / n
            if left < target:
                return knot
            lo = naive_share(prev, base, width)
            return prev + (knot - prev) * (target - lo) / (left - lo)
    raise AssertionError("the share reaches 1 at the last knot")


def test_averaged_threshold_hand_cases():
    # shares of base + u * 0.4 at q = 0.7: 1, 1, 0.75, 0.25 -> 3 / 4 = ceil(5 * 0.6) / 4
    base, width = np.array([0.0, 0.2, 0.4, 0.6]), np.full(4, 0.4)
    # group 1: one item, k = 2 > 1 -> inf; group 2: empty -> inf; group 3: zero widths,
    # k = ceil(3 * 0.6) = 2 of 2 -> the larger score, 0.3
    base = np.concatenate([base, [0.1, 0.3, 0.1]])
    width = np.concatenate([width, [0.5, 0.0, 0.0]])
    groups = np.array([0, 0, 0, 0, 1, 3, 3])
    got = conformal_ranking._averaged_thresholds(base, width, groups, 4, 0.4)
    np.testing.assert_allclose(got, [0.7, np.inf, np.inf, 0.3], atol=1e-12)


@settings(max_examples=40, derandomize=True, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    alpha=st.sampled_from([0.05, 0.1, 0.25, 0.5]),
    zero_share=st.sampled_from([0.0, 0.3]),
)
def test_averaged_threshold_matches_naive_definition(seed, n, alpha, zero_share):
    rng = np.random.default_rng(seed)
    base = rng.random(n)
    width = np.where(rng.random(n) < zero_share, 0.0, rng.random(n))
    got = conformal_ranking._averaged_thresholds(base, width, np.zeros(n, dtype=np.intp), 1, alpha)[0]
    want = naive_averaged_threshold(base, width, alpha)
    assert got == pytest.approx(want, abs=1e-12, rel=1e-12)


def test_expected_set_size_is_the_mean_over_u():
    rng = np.random.default_rng(7)
    probs, labels = synthetic(rng, (60,), 5)
    m = 4000
    u = np.tile((np.arange(m) + 0.5) / m, 60)  # midpoints: error <= 5 jumps / m per row
    rows = np.repeat(probs, m, axis=0)
    for allow_empty, mondrian in itertools.product((True, False), (False, True)):
        cp = SplitConformalClassifier(
            "raps", alpha=0.3, randomized=True, k_reg=1, lam=0.1,
            allow_empty=allow_empty, mondrian=mondrian,
        ).fit(probs, labels)
        q = cp.thresholds_ if mondrian else cp.threshold_
        realised = cp.predict_sets(rows, u=u).sum(axis=1).mean()
        expected = cp._expected_mean_size(conformal_ranking._Ranked(probs), q, 1, 0.1)
        assert expected == pytest.approx(realised, abs=5 / m)


def naive_quantile(scores: np.ndarray, alpha: float) -> float:
    """The k-th smallest score, k = ceil((n + 1)(1 - alpha)) in exact decimal arithmetic."""
    k = math.ceil((len(scores) + 1) * (1 - Fraction(repr(float(alpha)))))
    return sorted(scores.tolist())[k - 1] if k <= len(scores) else math.inf


def naive_raps_choice(
    probs: np.ndarray, labels: np.ndarray, alpha: float, seed: int, randomized: bool,
    joint: bool,
) -> tuple[int, float]:
    """The RAPS parameter choice, written out item by item: the official k* from the
    held-out ranks and lam by the (expected, when randomised) mean set size; with
    ``joint``, every k_reg from k* down to 1 is scored the same way."""
    n, k = probs.shape
    tune = np.random.default_rng(seed).permutation(n)[: math.ceil(0.3 * n)]
    p, y = probs[tune], labels[tune]
    orders = [sorted(range(k), key=lambda c, row=row: (-row[c], c)) for row in p]
    ranks = [order.index(t) for order, t in zip(orders, y.tolist())]
    k_star = int(np.quantile(ranks, 1 - alpha, method="higher")) + 1
    best, best_size = None, math.inf
    for k_reg, lam in itertools.product(range(k_star, 0 if joint else k_star - 1, -1),
                                        cm.RAPS_LAMBDA_GRID):
        base = np.array([naive_aps(row, t, 0.0, k_reg, lam) for row, t in zip(p, y.tolist())])
        if randomized:
            width = p[np.arange(len(y)), y]
            q = naive_averaged_threshold(base, width, alpha)
        else:
            q = naive_quantile(base, alpha)
        size = 0.0
        for row in p:
            for c in range(k):
                s0 = naive_aps(row, c, 0.0, k_reg, lam)
                if randomized:
                    size += min(1.0, max(0.0, (q - s0) / row[c])) if row[c] > 0 else float(q >= s0)
                else:
                    size += float(s0 <= q)
        size /= len(y)
        if size < best_size:
            best, best_size = (k_reg, lam), size
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("randomized", [False, True])
@pytest.mark.parametrize("k_reg", ["quantile", None])
def test_raps_choice_matches_naive_procedure(seed, randomized, k_reg):
    rng = np.random.default_rng(100 + seed)
    probs, labels = synthetic(rng, (200,), 6)
    alpha = (0.05, 0.1, 0.2)[seed % 3]
    cp = SplitConformalClassifier(
        "raps", alpha=alpha, randomized=randomized, k_reg=k_reg, random_state=seed
    )
    cp.fit(probs, labels)
    want = naive_raps_choice(probs, labels, alpha, seed, randomized, joint=k_reg is None)
    assert (cp.k_reg_, cp.lam_) == want


def test_infinite_threshold_puts_every_class_in_every_set():
    rng = np.random.default_rng(3)
    probs, labels = synthetic(rng, (5,), 4)
    test, _ = synthetic(rng, (20,), 4)
    for kwargs in [
        {"score": "lac"},
        {"score": "aps"},
        {"score": "aps", "randomized": True},
        {"score": "raps", "k_reg": 1, "lam": 0.5, "randomized": True},
    ]:
        cp = SplitConformalClassifier(alpha=0.1, random_state=0, **kwargs).fit(probs, labels)
        assert cp.threshold_ == np.inf  # k = ceil(6 * 0.9) = 6 > 5
        assert cp.predict_sets(test).all()


def test_alpha_at_predict_equals_refit():
    rng = np.random.default_rng(4)
    probs, labels = synthetic(rng, (300,), 5)
    test, _ = synthetic(rng, (100,), 5)
    for score in ("lac", "aps"):
        a = SplitConformalClassifier(score, alpha=0.1).fit(probs, labels)
        b = SplitConformalClassifier(score, alpha=0.25).fit(probs, labels)
        np.testing.assert_array_equal(a.predict_sets(test, alpha=0.25), b.predict_sets(test))
        # smaller alpha, nested larger sets (u = 0 sets are level sets of one score)
        assert np.all(a.predict_sets(test, alpha=0.05) >= a.predict_sets(test))


def test_u0_sets_always_hold_the_top_class():
    rng = np.random.default_rng(5)
    probs, labels = synthetic(rng, (200,), 6)
    test, _ = synthetic(rng, (500,), 6)
    cases = [("aps", {}), ("raps", {"k_reg": 0, "lam": 0.2}), ("raps", {"k_reg": 2, "lam": 0.2})]
    for score, kw in cases:
        for alpha in (0.05, 0.3, 0.6, 0.9):
            cp = SplitConformalClassifier(score, alpha=alpha, **kw).fit(probs, labels)
            sets = cp.predict_sets(test)
            assert sets[np.arange(500), test.argmax(axis=1)].all()


@pytest.mark.parametrize("score, kw", [("aps", {}), ("raps", {"k_reg": 1, "lam": 0.1})])
def test_randomised_sets_are_top_ranked_classes(score, kw):
    # one u per item, shared by its classes: a set is always a run of top-ranked classes
    rng = np.random.default_rng(9)
    probs, labels = synthetic(rng, (300,), 6)
    test, _ = synthetic(rng, (3000,), 6)
    cp = SplitConformalClassifier(score, alpha=0.2, randomized=True, random_state=0, **kw)
    sets = cp.fit(probs, labels).predict_sets(test)
    in_sorted = np.take_along_axis(sets, np.argsort(-test, axis=1, kind="stable"), axis=1)
    assert np.all(in_sorted[:, :-1] >= in_sorted[:, 1:])
    assert len(np.unique(sets.sum(axis=1))) > 2  # sets of several sizes


def test_randomised_sets_can_be_empty_unless_forbidden():
    rng = np.random.default_rng(6)
    probs, labels = synthetic(rng, (300,), 3)
    test, _ = synthetic(rng, (2000,), 3)
    free = SplitConformalClassifier("aps", alpha=0.4, randomized=True, random_state=1)
    free.fit(probs, labels)
    assert (~free.predict_sets(test).any(axis=1)).any()
    kept = SplitConformalClassifier(
        "aps", alpha=0.4, randomized=True, allow_empty=False, random_state=1
    ).fit(probs, labels)
    assert kept.predict_sets(test).any(axis=1).all()


def test_random_state_replays_and_calls_draw_fresh_u():
    rng = np.random.default_rng(7)
    probs, labels = synthetic(rng, (300,), 5)
    test, _ = synthetic(rng, (1000,), 5)

    def fitted():
        return SplitConformalClassifier("aps", randomized=True, random_state=42).fit(probs, labels)

    a, b = fitted(), fitted()
    np.testing.assert_array_equal(a.calib_scores_, b.calib_scores_)
    first = a.predict_sets(test)
    np.testing.assert_array_equal(first, b.predict_sets(test))
    assert (a.predict_sets(test) != first).any()


def test_mondrian_thresholds_are_per_class_quantiles():
    rng = np.random.default_rng(8)
    probs, labels = synthetic(rng, (400,), 4)
    cp = SplitConformalClassifier("lac", alpha=0.1, mondrian=True).fit(probs, labels)
    assert not hasattr(cp, "threshold_")
    for c in range(4):
        own = 1 - probs[labels == c, c]
        assert cp.thresholds_[c] == conformal_quantile(own, 0.1)
    test, _ = synthetic(rng, (50,), 4)
    np.testing.assert_array_equal(cp.predict_sets(test), (1 - test) <= cp.thresholds_)
    # a class without calibration items enters every set
    absent = SplitConformalClassifier("aps", alpha=0.1, mondrian=True)
    absent.fit(probs[labels != 3], labels[labels != 3])
    assert absent.thresholds_[3] == np.inf
    assert absent.predict_sets(test)[:, 3].all()


def test_params_and_repr():
    cp = SplitConformalClassifier("raps", alpha=0.05, k_reg=2)
    assert cp.get_params()["k_reg"] == 2 and cp.get_params()["score"] == "raps"
    assert "score='raps'" in repr(cp) and "alpha=0.05" in repr(cp)


def test_coverage_and_size_helpers():
    sets = np.array([[True, False, True], [False, False, False], [True, True, True]])
    assert coverage(sets, [2, 0, 1]) == pytest.approx(2 / 3)
    assert mean_set_size(sets) == pytest.approx(5 / 3)
    assert coverage(sets.astype(int), [0, 1, 2]) == pytest.approx(2 / 3)


# ------------------------------------------------------------- coverage theory
@settings(max_examples=30, derandomize=True, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    method=st.sampled_from(["lac", "aps", "aps-r", "raps", "raps-r", "raps-r-auto"]),
    n=st.integers(5, 250),
    alpha=st.sampled_from([0.02, 0.05, 0.1, 0.2, 0.3, 0.5]),
    k=st.integers(2, 8),
)
def test_marginal_coverage_over_random_splits(seed, method, n, alpha, k):
    rng = np.random.default_rng(seed)
    splits, m = 100, 200
    probs, labels = synthetic(rng, (splits, n + m), k)
    score = method.split("-")[0]
    randomized = method.endswith("-r") or "-r-" in method
    params = {} if score != "raps" or method.endswith("auto") else {"k_reg": 1, "lam": 0.05}
    cov, n_cal = [], n
    for s in range(splits):
        cp = SplitConformalClassifier(
            score, alpha=alpha, randomized=randomized, random_state=s, **params
        )
        if score == "raps" and not params and n < 2:
            continue
        cp.fit(probs[s, :n], labels[s, :n])
        n_cal = cp.n_calib_
        cov.append(coverage(cp.predict_sets(probs[s, n:]), labels[s, n:]))
    mu = expected_coverage(n_cal, alpha)
    mean = float(np.mean(cov))
    sd = coverage_sd(mu, n_cal, m, len(cov))
    assert mu >= 1 - alpha
    assert mean >= mu - Z * sd, f"{method}: coverage {mean:.4f} < {mu:.4f} - {Z} sd ({sd:.4f})"
    if score == "lac" or randomized:  # continuous scores: the mean is exactly mu
        assert mean <= mu + Z * sd, f"{method}: coverage {mean:.4f} > {mu:.4f} + {Z} sd ({sd:.4f})"
    if mu == 1.0:
        assert mean == 1.0


def imbalanced(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Four classes with priors 0.7/0.2/0.07/0.03 and a model biased towards class 0."""
    prior = np.array([0.7, 0.2, 0.07, 0.03])
    y = rng.choice(4, size=n, p=prior)
    x = np.eye(4)[y] + rng.normal(size=(n, 4))
    return softmax(2.0 * x + np.log(prior) + [1.0, 0, 0, 0]), y


@pytest.mark.parametrize("score, randomized", [("lac", False), ("aps", True), ("raps", True)])
def test_mondrian_covers_every_class(score, randomized):
    rng = np.random.default_rng(11)
    alpha, splits = 0.1, 40
    per_class = {True: [], False: []}
    counts = np.zeros(4)
    for s in range(splits):
        pc, yc = imbalanced(rng, 600)
        pt, yt = imbalanced(rng, 2000)
        counts += np.bincount(yc, minlength=4)
        for mondrian in (True, False):
            cp = SplitConformalClassifier(
                score, alpha=alpha, randomized=randomized, mondrian=mondrian, random_state=s
            ).fit(pc, yc)
            hit = cp.predict_sets(pt)[np.arange(yt.size), yt]
            per_class[mondrian].append([hit[yt == c].mean() for c in range(4)])
    cls = np.mean(per_class[True], axis=0)
    n_c = counts / splits
    sd = np.sqrt(alpha * (1 - alpha) * (1 / (n_c + 2) + 1 / (n_c * 2000 / 600)) / splits)
    assert np.all(cls >= 1 - alpha - Z * sd), cls
    # without Mondrian the rarest class is far below 1 - alpha: the test has teeth
    assert np.mean(per_class[False], axis=0)[3] < 1 - alpha - 0.1


# ----------------------------------------------------------------------- errors
def test_bad_parameters():
    X, y = CAL_P, CAL_Y
    with pytest.raises(InvalidParameterError, match="'alpha'.*> 0"):
        SplitConformalClassifier(alpha=0).fit(X, y)
    for alpha in (1.0, 1.5):  # one message for both ends of the open interval
        with pytest.raises(InvalidParameterError, match=r"'alpha'.*> 0 and < 1; got"):
            SplitConformalClassifier(alpha=alpha).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'alpha'.*number"):
        SplitConformalClassifier(alpha="0.1").fit(X, y)
    with pytest.raises(InvalidParameterError, match="Did you mean 'aps'"):
        SplitConformalClassifier("apss").fit(X, y)
    with pytest.raises(InvalidParameterError, match="LAC has no randomised form"):
        SplitConformalClassifier("lac", randomized=True).fit(X, y)
    with pytest.raises(InvalidParameterError, match="score='raps' only"):
        SplitConformalClassifier("aps", k_reg=1).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'k_reg'.*>= 0"):
        SplitConformalClassifier("raps", k_reg=-1, lam=0.1).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'lam'.*>= 0"):
        SplitConformalClassifier("raps", k_reg=1, lam=-0.1).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'randomized'.*True or False"):
        SplitConformalClassifier("aps", randomized="yes").fit(X, y)
    with pytest.raises(InvalidParameterError, match="'alpha'"):
        conformal_quantile([1.0, 2.0], 1.5)


def test_bad_data():
    with pytest.raises(InputError, match=r"calib_labels: 1 values outside 0..2 \(first at row 3"):
        SplitConformalClassifier().fit(CAL_P, [0, 1, 2, 3])
    with pytest.raises(InputError, match="calib_labels has 3 rows but there are 4 items"):
        SplitConformalClassifier().fit(CAL_P, [0, 1, 2])
    with pytest.raises(InputError, match="calib_probs contains 1 non-finite .*row 0, column 1"):
        SplitConformalClassifier().fit([[0.5, np.nan, 0.5], [0.2, 0.3, 0.5]], [0, 1])
    with pytest.raises(InputError, match="calib_probs: 1 rows do not sum to 1"):
        SplitConformalClassifier().fit([[0.5, 0.6, 0.5], [0.2, 0.3, 0.5]], [0, 1])
    with pytest.raises(InputError, match="RAPS needs at least 2 calibration items"):
        SplitConformalClassifier("raps").fit(CAL_P[:1], CAL_Y[:1])
    with pytest.raises(ValueError, match="not fitted yet"):
        SplitConformalClassifier().predict_sets(TEST_P)
    cp = SplitConformalClassifier("aps", randomized=True, random_state=0).fit(CAL_P, CAL_Y)
    with pytest.raises(InputError, match="probs has 2 columns; expected 3 classes"):
        cp.predict_sets([[0.5, 0.5]])
    with pytest.raises(InputError, match=r"u must lie in \[0, 1\]; position 1"):
        cp.predict_sets(TEST_P, u=[0.5, 1.5])
    with pytest.raises(InputError, match="one value per item"):
        cp.predict_sets(TEST_P, u=[0.5, 0.5, 0.5])
    with pytest.raises(InvalidParameterError, match="u applies only when randomized=True"):
        SplitConformalClassifier("aps").fit(CAL_P, CAL_Y).predict_sets(TEST_P, u=0.5)
    with pytest.raises(InputError, match="scores contains 1 NaN values"):
        conformal_quantile([0.1, np.nan], 0.1)
    with pytest.raises(InputError, match="scores must be 1-D"):
        conformal_quantile([[0.1, 0.2]], 0.1)
    with pytest.raises(InputError, match="labels has 2 rows but there are 3 items"):
        coverage(np.ones((3, 2), dtype=bool), [0, 1])
    with pytest.raises(InputError, match="sets must be boolean"):
        mean_set_size([[0, 2]])


# ----------------------------------------------------------------------- LP-ICP
@lru_cache(maxsize=None)
def all_label_sets(n_labels: int) -> np.ndarray:
    return ((np.arange(2**n_labels)[:, None] >> np.arange(n_labels)) & 1).astype(np.uint8)


def naive_scores(p: np.ndarray, sets: np.ndarray, norm: str) -> np.ndarray:
    diff = sets - p
    return np.abs(diff).sum(axis=1) if norm == "l1" else np.sqrt((diff**2).sum(axis=1))


def naive_p(calib: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return np.array([(np.sum(calib >= s) + 1) / (calib.size + 1) for s in scores])


def test_lp_icp_hand_case():
    cal_p = [[0.9, 0.2], [0.8, 0.3], [0.6, 0.6]]
    cal_y = [[1, 0], [1, 1], [0, 1]]
    # l2 scores: sqrt(0.05) = 0.224, sqrt(0.53) = 0.728, sqrt(0.52) = 0.721
    icp = LabelPowersetICP(alpha=0.3).fit(cal_p, cal_y)
    np.testing.assert_allclose(icp.calib_scores_, np.sqrt([0.05, 0.52, 0.53]))
    p = [[0.7, 0.4]]
    # candidates: [1,0] 0.5, [1,1] 0.671, [0,0] 0.806, [0,1] 0.922 -> p 3/4, 3/4, 1/4, 1/4
    np.testing.assert_allclose(icp.p_values(p * 4, all_label_sets(2)), [0.25, 0.75, 0.25, 0.75])
    regions = icp.predict_regions(p)
    np.testing.assert_array_equal(regions[0], [[1, 0], [1, 1]])
    np.testing.assert_allclose(regions.p_values, [0.75, 0.75])
    np.testing.assert_array_equal(regions.label_inclusion(), [[True, True]])
    np.testing.assert_array_equal(regions.contains([[1, 1]]), [True])
    np.testing.assert_array_equal(regions.contains([[0, 1]]), [False])
    assert coverage(regions, [[0, 0]]) == 0.0 and mean_set_size(regions) == 2.0
    assert not regions.truncated.any()
    # alpha = 0.8: k = floor(0.8 * 4) = 3 > ... -> only scores <= smallest calib score
    assert icp.predict_regions(p, alpha=0.8).sizes.tolist() == [0]


@settings(max_examples=60, derandomize=True, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_labels=st.integers(1, 8),
    n_calib=st.integers(1, 60),
    norm=st.sampled_from(["l2", "l1"]),
    alpha=st.sampled_from([0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.9]),
    cap=st.sampled_from([1, 7, 40, 100_000]),
)
def test_lp_icp_pruned_regions_equal_brute_force(seed, n_labels, n_calib, norm, alpha, cap):
    rng = np.random.default_rng(seed)

    def probs(m: int) -> np.ndarray:
        p = rng.random((m, n_labels))
        # saturated and undecided entries create ties between label-sets
        p[rng.random(p.shape) < 0.15] = 0.0
        p[rng.random(p.shape) < 0.15] = 1.0
        p[rng.random(p.shape) < 0.1] = 0.5
        return p

    cal_p = probs(n_calib)
    cal_y = (rng.random(cal_p.shape) < cal_p).astype(int)
    test = probs(12)
    icp = LabelPowersetICP(norm=norm, alpha=alpha, max_region_size=cap).fit(cal_p, cal_y)
    calib = np.array([naive_scores(cal_p[i], cal_y[i : i + 1], norm)[0] for i in range(n_calib)])
    everything = all_label_sets(n_labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        regions = icp.predict_regions(test)
    for i, p in enumerate(test):
        s = naive_scores(p, everything, norm)
        pv = naive_p(calib, s)
        tiled = np.tile(p, (len(everything), 1))
        np.testing.assert_array_equal(icp.p_values(tiled, everything), pv)
        inside = pv > alpha
        got = regions[i]
        got_scores = naive_scores(p, got, norm)
        own = regions.p_values[regions.offsets[i] : regions.offsets[i + 1]]
        np.testing.assert_array_equal(own, naive_p(calib, got_scores))
        assert np.all(np.diff(got_scores) >= 0)  # most plausible first
        assert len({tuple(r) for r in got}) == len(got)  # no duplicates
        if inside.sum() <= cap:
            assert not regions.truncated[i]
            assert {tuple(r) for r in got} == {tuple(r) for r in everything[inside]}
        else:  # the cap label-sets of smallest score, from the region
            assert regions.truncated[i] and len(got) == cap
            assert all(pv[int("".join(map(str, r[::-1])), 2)] > alpha for r in got)
            np.testing.assert_allclose(got_scores, np.sort(s[inside])[:cap], rtol=0, atol=1e-12)


def test_lp_icp_truncation_warns():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.4, 0.6, size=(50, 10))
    y = (rng.random(p.shape) < p).astype(int)
    icp = LabelPowersetICP(alpha=0.05, max_region_size=30).fit(p, y)
    with pytest.warns(UserWarning, match="hold more than max_region_size=30"):
        regions = icp.predict_regions(p[:5])
    assert regions.truncated.all() and (regions.sizes == 30).all()


def test_lp_icp_large_label_count_is_not_enumerated():
    # 40 labels (2^40 label-sets); confident probabilities keep the region small
    rng = np.random.default_rng(1)
    on = rng.random((400, 40)) < 0.1
    p = np.where(on, rng.uniform(0.99, 1.0, on.shape), rng.uniform(0.0, 0.01, on.shape))
    p[:, :3] = rng.uniform(0.2, 0.8, (400, 3))
    y = (rng.random(p.shape) < p).astype(int)
    icp = LabelPowersetICP(alpha=0.1).fit(p[:300], y[:300])
    regions = icp.predict_regions(p[300:])
    assert not regions.truncated.any()
    assert 1 <= regions.sizes.max() < 1000  # out of 2^40
    assert coverage(regions, y[300:]) >= 0.8
    for i in range(10):  # listed <=> p-value above alpha, on label-sets near the best one
        listed = {tuple(r) for r in regions[i]}
        cand = np.repeat((p[300 + i] >= 0.5).astype(np.uint8)[None], 300, axis=0)
        flips = rng.integers(0, 40, size=(300, 2))
        cand[np.arange(300), flips[:, 0]] ^= 1
        cand[np.arange(300), flips[:, 1]] ^= 1
        pv = icp.p_values(np.tile(p[300 + i], (300, 1)), cand)
        assert [tuple(c) in listed for c in cand] == list(pv > 0.1)


@settings(max_examples=15, derandomize=True, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(5, 150),
    alpha=st.sampled_from([0.05, 0.1, 0.2]),
)
def test_lp_icp_coverage_over_random_splits(seed, n, alpha):
    rng = np.random.default_rng(seed)
    splits, m, n_labels = 60, 100, 5
    p = rng.random((splits, n + m, n_labels))
    y = (rng.random(p.shape) < p).astype(int)
    cov = []
    for s in range(splits):
        icp = LabelPowersetICP(alpha=alpha).fit(p[s, :n], y[s, :n])
        cov.append(coverage(icp.predict_regions(p[s, n:]), y[s, n:]))
    k = math.floor(round(alpha * (n + 1), 9))
    mu = (n + 1 - k) / (n + 1)  # p > alpha <=> score <= the k-th largest calibration score
    sd = coverage_sd(mu, n, m, splits)
    assert mu >= 1 - alpha
    assert mu - Z * sd <= np.mean(cov) <= mu + Z * sd


def test_lp_icp_errors():
    with pytest.raises(InputError, match=r"calib_probs must hold .* in \[0, 1\]; row 0, column 1"):
        LabelPowersetICP().fit([[0.5, 1.5]], [[0, 1]])
    with pytest.raises(InputError, match="calib_labels must be binary .*row 0, column 1 is 2"):
        LabelPowersetICP().fit([[0.5, 0.5]], [[0, 2]])
    with pytest.raises(InputError, match=r"calib_labels must have shape \(1, 2\)"):
        LabelPowersetICP().fit([[0.5, 0.5]], [[0, 1, 1]])
    with pytest.raises(InvalidParameterError, match="'norm'"):
        LabelPowersetICP(norm="l3").fit([[0.5, 0.5]], [[0, 1]])
    with pytest.raises(InvalidParameterError, match="'max_region_size'.*>= 1"):
        LabelPowersetICP(max_region_size=0).fit([[0.5, 0.5]], [[0, 1]])
    with pytest.raises(ValueError, match="not fitted yet"):
        LabelPowersetICP().predict_regions([[0.5, 0.5]])
    icp = LabelPowersetICP().fit([[0.5, 0.5]], [[0, 1]])
    with pytest.raises(InputError, match="probs has 3 columns; the predictor was fitted on 2"):
        icp.predict_regions([[0.5, 0.5, 0.5]])
    with pytest.raises(InvalidParameterError, match="'alpha'"):
        icp.predict_regions([[0.5, 0.5]], alpha=0)
    assert isinstance(icp.predict_regions([[0.5, 0.5]]), LabelSetRegions)


# --------------------------------------------------------------------- examples
@pytest.mark.parametrize("module", ["quantile", "scores", "split", "sets", "label_powerset"])
def test_docstring_examples_run(module):
    mod = importlib.import_module(f"softlabels.audit.conformal.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------- real data
@lru_cache(maxsize=None)
def cifar10() -> tuple[np.ndarray, np.ndarray]:
    if not (DATA / "pred_probs.npy").is_file() or not (DATA / "given_labels.npy").is_file():
        pytest.skip(f"real data not found: {DATA} needs pred_probs.npy and given_labels.npy")
    return np.load(DATA / "pred_probs.npy"), np.load(DATA / "given_labels.npy").astype(np.int64)


# (score, randomized) -> alpha -> mean set size over 20 splits (seeds 0..19), pinned
CIFAR_SIZES = {
    ("lac", False): {0.05: 1.063, 0.1: 0.945},
    ("aps", True): {0.05: 1.175, 0.1: 1.050},
    ("raps", True): {0.05: 1.073, 0.1: 0.973},  # k_reg searched: 1.140 with k_reg="quantile"
    ("aps", False): {0.05: 1.065, 0.1: 1.000},
}
# MAPIE 1.6 over 100 splits (benchmarks/audit_conformal.py), the same score: its
# randomised sets for the randomised scores, its default sets
# (include_last_label=True) for APS with u = 0
MAPIE_SIZES = {
    ("lac", False): {0.05: 1.063, 0.1: 0.942},
    ("aps", True): {0.05: 1.173, 0.1: 1.051},
    ("raps", True): {0.05: 1.138, 0.1: 0.971},
    ("aps", False): {0.05: 1.254, 0.1: 1.161},
}


@pytest.mark.realdata
@pytest.mark.parametrize("alpha", [0.05, 0.1])
@pytest.mark.parametrize("score, randomized", list(CIFAR_SIZES))
def test_cifar10_coverage_near_nominal(score, randomized, alpha):
    probs, labels = cifar10()
    n = labels.size
    cov, size = [], []
    for seed in range(20):
        perm = np.random.default_rng(seed).permutation(n)
        cal, test = perm[: n // 2], perm[n // 2 :]
        cp = SplitConformalClassifier(score, alpha=alpha, randomized=randomized, random_state=seed)
        sets = cp.fit(probs[cal], labels[cal]).predict_sets(probs[test])
        cov.append(coverage(sets, labels[test]))
        size.append(mean_set_size(sets))
    mean_cov, mean_size = float(np.mean(cov)), float(np.mean(size))
    if score == "lac" or randomized:
        # expected 0.95001 / 0.90002; sd of a 20-split mean is about 0.001
        assert 1 - alpha - 0.004 <= mean_cov <= 1 - alpha + 0.01
    else:
        assert mean_cov >= 1 - alpha - 0.004
    assert mean_size == pytest.approx(CIFAR_SIZES[score, randomized][alpha], abs=0.02)
    assert mean_size <= MAPIE_SIZES[score, randomized][alpha] + 0.01
