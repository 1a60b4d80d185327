"""Label errors from given labels and predicted probabilities (softlabels.audit.issues)."""

from __future__ import annotations

import doctest
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from softlabels import SoftLabels
from softlabels.audit import issues
from softlabels.audit.issues import (
    FILTERS,
    SCORES,
    audit_labels,
    compute_confident_joint,
    estimate_noise_matrix,
    find_label_issues,
    label_quality_scores,
)
from softlabels.core.errors import InputError, InvalidParameterError, ProbabilityWarning

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cifar10"

TINY_LABELS = [0, 0, 0, 1, 1]
TINY_PROBS = [[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.3, 0.7], [0.1, 0.9]]


# ---------------------------------------------------------------------- helpers
def noisy_data(n: int, k: int, noise: np.ndarray, strength: float, seed: int):
    """True labels, given labels flipped with ``noise[i, j] = P(given=i | true=j)``,
    and probabilities of a model that sees the true class (softmax of
    ``strength * onehot(true) + N(0, 1)``)."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    logits = strength * np.eye(k)[true] + rng.normal(size=(n, k))
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    cum = noise.cumsum(axis=0)[:, true].T
    given_ = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), k - 1)
    return true, given_, probs


def random_probs(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return rng.dirichlet(np.full(k, 0.7), size=n)


NOISE = np.array(
    [
        [0.85, 0.05, 0.00, 0.10],
        [0.10, 0.90, 0.05, 0.00],
        [0.05, 0.00, 0.90, 0.00],
        [0.00, 0.05, 0.05, 0.90],
    ]
)


# ---------------------------------------------------------------------- naive references
def ref_confident_joint(labels, probs, calibrate=True):
    """Northcutt et al. 2021, eq. 1-2, one item at a time."""
    n, k = len(labels), len(probs[0])
    t = []
    for j in range(k):
        mine = [probs[i][j] for i in range(n) if labels[i] == j]
        t.append(sum(mine) / len(mine) if mine else 1.0)
    c = [[0.0] * k for _ in range(k)]
    for i in range(n):
        ok = [j for j in range(k) if probs[i][j] >= max(t[j], 2e-6) - 1e-6]
        if ok:
            j = max(ok, key=lambda j: (probs[i][j], -j))
            c[labels[i]][j] += 1
    for j in range(k):
        c[j][j] = max(c[j][j], 1.0)
    if calibrate:
        for i in range(k):
            n_i = sum(1 for lab in labels if lab == i)
            row = sum(c[i])
            c[i] = [v * n_i / row for v in c[i]]
    return np.array(c)


def ref_scores(labels, probs, method):
    out = []
    k = len(probs[0])
    for y, p in zip(labels, probs):
        if method == "self_confidence":
            out.append(p[y])
        elif method == "normalized_margin":
            out.append((1 + p[y] - max(p[j] for j in range(k) if j != y)) / 2)
        else:
            q = [max(v, 1e-6) for v in p]
            h = -sum(v * math.log(v) for v in q) / math.log(k)
            r = h / q[y]
            out.append(math.log1p(r) / r)
    return np.array(out)


def ref_posterior_flags(labels, probs):
    """Bayes' rule per item with the noise matrix from the reference joint."""
    c = ref_confident_joint(labels, probs)
    k = len(probs[0])
    joint = c / c.sum()
    prior = joint.sum(axis=0)
    noise = joint / prior
    flags = []
    for y, p in zip(labels, probs):
        w = [max(noise[y][j], 1e-12) * p[j] for j in range(k)]
        post = w[y] / sum(w)
        top = max(p[j] for j in range(k) if j != y)
        flags.append(post < 0.5 and top > p[y] + 1e-6)
    return np.array(flags)


def ref_posterior_count_flags(labels, probs, frac=1.0):
    """Rank by the reference posterior of the given label; flag as many as
    sum over off-diagonal cells of min(round(frac * C[i, j]), items labelled i with top j)."""
    c = ref_confident_joint(labels, probs)
    k = len(probs[0])
    joint = c / c.sum()
    prior = joint.sum(axis=0)
    noise = np.where(prior > 0, joint / np.where(prior > 0, prior, 1.0), np.eye(k))
    post, disagree, cell = [], [], []
    for y, p in zip(labels, probs):
        w = [max(noise[y][j], 1e-12) * p[j] for j in range(k)]
        post.append(w[y] / sum(w))
        top = max(range(k), key=lambda j: (p[j] if j != y else -1.0, -j))
        disagree.append(p[top] > p[y] + 1e-6)
        cell.append((y, top))
    m = 0
    for i in range(k):
        for j in range(k):
            if i != j:
                cands = sum(1 for d, ce in zip(disagree, cell) if d and ce == (i, j))
                m += min(int(np.rint(frac * c[i][j])), cands)
    # most likely wrong first: P(wrong) = 1 - P(given is right), ties by position
    order = sorted((n for n in range(len(labels)) if disagree[n]), key=lambda n: (-(1 - post[n]), n))
    flags = np.zeros(len(labels), dtype=bool)
    flags[order[:m]] = True
    return flags


def ref_prune_by_noise_rate(labels, probs, frac=1.0):
    """Per off-diagonal cell (i, j): items labelled i whose top class is j, the
    round(frac * C[i, j]) with the largest p_j - p_i."""
    c = ref_confident_joint(labels, probs)
    k = len(probs[0])
    flags = np.zeros(len(labels), dtype=bool)
    for i in range(k):
        for j in range(k):
            if i == j:
                continue
            cand = [
                n for n, (y, p) in enumerate(zip(labels, probs))
                if y == i and int(np.argmax(p)) == j and p[j] > p[i] + 1e-6
            ]
            cand.sort(key=lambda n: -(probs[n][j] - probs[n][i]))
            for n in cand[: int(np.rint(frac * c[i][j]))]:
                flags[n] = True
    return flags


# ---------------------------------------------------------------------- confident joint
def test_confident_joint_hand_computed():
    # t = [0.633, 0.8]; item 2 reaches t_1 -> C[0, 1]; item 3 reaches nothing
    raw = compute_confident_joint(TINY_LABELS, TINY_PROBS, calibrate=False)
    np.testing.assert_array_equal(raw, [[2, 1], [0, 1]])
    cal = compute_confident_joint(TINY_LABELS, TINY_PROBS)
    np.testing.assert_allclose(cal, [[2, 1], [0, 2]])


def test_confident_joint_three_classes_hand_computed():
    labels = [0, 0, 1, 1, 2, 2]
    probs = [
        [0.7, 0.2, 0.1],  # t0 = (0.7 + 0.5) / 2 = 0.6
        [0.5, 0.4, 0.1],  # reaches t1 = 0.35 only -> C[0, 1]
        [0.1, 0.6, 0.3],  # reaches t1 and t2 = 0.45 -> the larger, class 1
        [0.6, 0.1, 0.3],  # reaches t0 -> C[1, 0]
        [0.2, 0.2, 0.6],
        [0.1, 0.6, 0.3],  # reaches t1 (0.6 >= 0.35), not t2 -> C[2, 1]
    ]
    raw = compute_confident_joint(labels, probs, calibrate=False)
    np.testing.assert_array_equal(raw, [[1, 1, 0], [1, 1, 0], [0, 1, 1]])
    np.testing.assert_allclose(raw, ref_confident_joint(labels, probs, calibrate=False))


def test_confident_joint_counts_the_most_probable_class_that_reaches_its_threshold():
    # item 4 reaches t1 = 0.25 and t2 = 0.15 but not t0 = 0.9: it counts in C[2, 1],
    # although its top class is 0 (cleanlab 2.9 counts it in C[2, 0])
    labels = [0, 0, 1, 1, 2, 2]
    probs = [
        [0.95, 0.03, 0.02],  # reaches t0 -> C[0, 0]
        [0.85, 0.10, 0.05],  # reaches nothing
        [0.1, 0.3, 0.6],  # reaches t1 and t2 -> the larger, C[1, 2]
        [0.6, 0.2, 0.2],  # reaches t2 only -> C[1, 2]
        [0.5, 0.3, 0.2],
        [0.7, 0.2, 0.1],  # reaches nothing; C[2, 2] = 1 (forced diagonal)
    ]
    raw = compute_confident_joint(labels, probs, calibrate=False)
    np.testing.assert_array_equal(raw, [[1, 0, 0], [0, 1, 2], [0, 1, 1]])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("calibrate", [True, False])
def test_confident_joint_matches_loop_reference(seed, calibrate):
    rng = np.random.default_rng(seed)
    probs = random_probs(rng, 300, 4)
    labels = rng.integers(0, 4, 300)
    got = compute_confident_joint(labels, probs, calibrate=calibrate)
    want = ref_confident_joint(labels.tolist(), probs.tolist(), calibrate=calibrate)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_calibrated_rows_sum_to_given_counts():
    rng = np.random.default_rng(3)
    probs = random_probs(rng, 500, 5)
    labels = rng.integers(0, 5, 500)
    c = compute_confident_joint(labels, probs)
    np.testing.assert_allclose(c.sum(axis=1), np.bincount(labels, minlength=5))
    assert c.sum() == pytest.approx(500)


def test_class_without_items_keeps_identity():
    labels = [0, 0, 1, 1]
    probs = [[0.8, 0.1, 0.1], [0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.6, 0.1]]
    est = estimate_noise_matrix(labels, probs)
    assert est.thresholds[2] == 1.0
    np.testing.assert_allclose(est.confident_joint[2], [0, 0, 0])
    np.testing.assert_allclose(est.noise_matrix.sum(axis=0), 1.0)
    np.testing.assert_allclose(est.inverse_noise_matrix.sum(axis=1), 1.0)


# ---------------------------------------------------------------------- noise matrix
def test_noise_estimate_hand_computed():
    est = estimate_noise_matrix(TINY_LABELS, TINY_PROBS)
    np.testing.assert_allclose(est.joint, [[0.4, 0.2], [0.0, 0.4]])
    np.testing.assert_allclose(est.true_prior, [0.4, 0.6])
    np.testing.assert_allclose(est.given_prior, [0.6, 0.4])
    np.testing.assert_allclose(est.noise_matrix, [[1.0, 1 / 3], [0.0, 2 / 3]])
    np.testing.assert_allclose(est.inverse_noise_matrix, [[2 / 3, 1 / 3], [0.0, 1.0]])
    assert est.noise_rate == pytest.approx(0.2)


def test_noise_frame_is_tidy():
    est = estimate_noise_matrix(TINY_LABELS, TINY_PROBS)
    frame = est.to_frame(["cat", "dog"])
    assert list(frame.columns) == ["given", "true", "count", "joint", "p_given_if_true", "p_true_if_given"]
    assert len(frame) == 4
    assert frame.iloc[2][["given", "true"]].tolist() == ["cat", "dog"]
    assert frame["joint"].sum() == pytest.approx(1.0)
    with pytest.raises(InputError, match="classes has 3 names"):
        est.to_frame(["a", "b", "c"])


@pytest.mark.parametrize("seed", [0, 1])
def test_noise_matrix_recovered_on_synthetic_noise(seed):
    true, labels, probs = noisy_data(4000, 4, NOISE, strength=5.0, seed=seed)
    est = estimate_noise_matrix(labels, probs)
    assert np.abs(est.noise_matrix - NOISE).max() < 0.04
    assert est.noise_rate == pytest.approx(np.mean(labels != true), abs=0.01)
    np.testing.assert_allclose(est.true_prior, np.bincount(true) / true.size, atol=0.02)


@pytest.mark.parametrize(
    "filter_by", ["posterior_count", "posterior", "prune_by_noise_rate", "both", "confident_learning"]
)
def test_synthetic_noise_found_with_high_precision_and_recall(filter_by):
    true, labels, probs = noisy_data(4000, 4, NOISE, strength=5.0, seed=7)
    err = labels != true
    flags = find_label_issues(labels, probs, filter_by=filter_by)
    assert err[flags].mean() > 0.97  # precision
    assert flags[err].mean() > 0.9  # recall


def test_posterior_is_more_precise_than_pruning_with_a_weak_model():
    true, labels, probs = noisy_data(4000, 4, NOISE, strength=3.0, seed=8)
    err = labels != true
    post = find_label_issues(labels, probs, filter_by="posterior")
    prune = find_label_issues(labels, probs, filter_by="prune_by_noise_rate")
    assert err[post].mean() > err[prune].mean()
    assert err[post].mean() > 0.97


# ---------------------------------------------------------------------- scores
@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin", "confidence_weighted_entropy"])
def test_scores_match_loop_reference(method):
    rng = np.random.default_rng(4)
    probs = random_probs(rng, 200, 5)
    labels = rng.integers(0, 5, 200)
    got = label_quality_scores(labels, probs, method=method)
    np.testing.assert_allclose(got, ref_scores(labels.tolist(), probs.tolist(), method), rtol=1e-12)


def test_scores_hand_computed():
    probs = [[0.9, 0.1], [0.3, 0.7], [1.0, 0.0]]
    np.testing.assert_allclose(label_quality_scores([0, 0, 0], probs), [0.9, 0.3, 1.0])
    np.testing.assert_allclose(
        label_quality_scores([0, 0, 0], probs, method="normalized_margin"), [0.9, 0.3, 1.0]
    )
    cwe = label_quality_scores([0, 0, 0], probs, method="confidence_weighted_entropy")
    assert cwe[2] > 0.9999  # certain and right
    nearly = label_quality_scores([0], [[1 - 2e-9, 1e-9, 1e-9]], method="confidence_weighted_entropy")
    assert nearly[0] > 0.999  # near the limit 1 of ln(1 + r) / r
    assert cwe[0] > cwe[1]


def test_confidence_weighted_entropy_scores_a_certainly_wrong_label_low():
    # The model is certain of class 0. A given label 1 with probability 0 (or 1e-12)
    # is a label error and must score below an undecided item, never as a perfect label.
    probs = [[1.0, 0.0], [1.0, 0.0], [1 - 1e-12, 1e-12], [0.5, 0.5]]
    s = label_quality_scores([0, 1, 1, 1], probs, method="confidence_weighted_entropy")
    assert s[0] > 0.999  # certain and right
    assert s[1] < s[3] and s[2] < s[3]
    # probabilities floored at 1e-6 in the entropy as in the denominator:
    # H = -1e-6 ln(1e-6) / ln 2, r = H / 1e-6 = ln(1e6) / ln 2
    r = math.log(1e6) / math.log(2)
    assert s[1] == pytest.approx(math.log1p(r) / r, rel=1e-4)



@pytest.mark.parametrize("top", [1.0, 1 - 1e-9, 0.999])
def test_a_class_nobody_is_labelled_with_is_never_confidently_reached(top):
    # class 2 has no threshold; a (near-)certain prediction of it must not count,
    # as for a prediction of 0.999 (and as in cleanlab), whatever the rounding
    labels = [0, 0, 0, 0, 1, 1, 1, 1]
    probs = [[0.9, 0.1, 0.0]] * 3 + [[0.0, 1 - top, top]] + [[0.1, 0.9, 0.0]] * 4
    joint = compute_confident_joint(labels, probs, calibrate=False)
    assert joint[:, 2].tolist() == [0.0, 0.0, 1.0]  # only the forced diagonal
    assert not find_label_issues(labels, probs, filter_by="confident_learning").any()

def test_a_zero_probability_never_reaches_a_zero_threshold():
    # every item labelled 2 gives class 2 probability 0, so t_2 = 0; a probability of 0
    # is no evidence for class 2 and must not count as confidently reaching it
    labels = [0, 0, 0, 1, 1, 2]
    probs = [
        [0.8, 0.2, 0.0],  # t0 = (0.8 + 0.9 + 0.6) / 3 = 0.767 -> C[0, 0]
        [0.9, 0.1, 0.0],  # -> C[0, 0]
        [0.6, 0.4, 0.0],  # below t0 and t1 = 0.85: not counted
        [0.1, 0.9, 0.0],  # -> C[1, 1]
        [0.2, 0.8, 0.0],  # below t1: not counted
        [0.5, 0.5, 0.0],  # below t0 and t1: not counted; C[2, 2] = 1 (forced diagonal)
    ]
    joint = compute_confident_joint(labels, probs, calibrate=False)
    np.testing.assert_array_equal(joint, [[2, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert estimate_noise_matrix(labels, probs).noise_rate == pytest.approx(0.0)


def test_posterior_score_hand_computed():
    # noise matrix [[1, 1/3], [0, 2/3]]: item 2 (labelled 0, p = [.2, .8]) has
    # P(true=0) = 1 * 0.2 / (0.2 + 0.8 / 3) = 3/7
    got = label_quality_scores(TINY_LABELS, TINY_PROBS, method="posterior")
    assert got[2] == pytest.approx(3 / 7)
    assert got[3] == pytest.approx(1.0)  # N[1, 0] = 0: floored, 0.7 * 2/3 dominates


def test_adjusted_scores_hand_computed():
    # t = [0.633.., 0.8]; p - t + 0.8, renormalised
    got = label_quality_scores(TINY_LABELS, TINY_PROBS, adjust_pred_probs=True)
    t = np.array([1.9 / 3, 0.8])
    adj = np.array(TINY_PROBS) - t + t.max()
    adj /= adj.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(got, adj[np.arange(5), TINY_LABELS])


def test_posterior_flags_match_loop_reference():
    rng = np.random.default_rng(5)
    probs = random_probs(rng, 300, 4)
    labels = rng.integers(0, 4, 300)
    got = find_label_issues(labels, probs, filter_by="posterior", min_per_class=0)
    want = ref_posterior_flags(labels.tolist(), probs.tolist())
    np.testing.assert_array_equal(got, want)
    assert got.sum() > 10


# ---------------------------------------------------------------------- the default filter
# Ten items, two classes: item 4 (labelled 0) gets 0.95 for class 1, a clear error; item
# 9 (labelled 1) gets 0.8 for class 0, doubtful.
P10 = np.array([[0.9, 0.1]] * 4 + [[0.05, 0.95]] + [[0.1, 0.9]] * 4 + [[0.8, 0.2]])
Y10 = np.array([0] * 5 + [1] * 5)


def test_default_filter_is_posterior_count():
    assert FILTERS[0] == "posterior_count"
    np.testing.assert_array_equal(
        find_label_issues(Y10, P10), find_label_issues(Y10, P10, filter_by="posterior_count")
    )


def test_posterior_count_hand_computed():
    # t0 = (4 * 0.9 + 0.05) / 5 = 0.73, t1 = (4 * 0.9 + 0.2) / 5 = 0.76. Item 4 reaches
    # t1 -> C[0, 1]; item 9 reaches t0 (0.8) -> C[1, 0]; the others their own class.
    # C = [[4, 1], [1, 4]] (rows already sum to 5): two errors expected, one candidate in
    # each cell, so both are flagged.
    np.testing.assert_array_equal(compute_confident_joint(Y10, P10), [[4, 1], [1, 4]])
    flags = find_label_issues(Y10, P10)
    assert flags.nonzero()[0].tolist() == [4, 9]
    # the previous default keeps item 9: N = [[.8, .2], [.2, .8]] and the posterior of
    # its label is .8 * .2 / (.8 * .2 + .2 * .8) = 1/2, not below 1/2
    assert find_label_issues(Y10, P10, filter_by="posterior").nonzero()[0].tolist() == [4]
    # half the quota: round(0.5 * 1) = 0 in each cell (numpy rounds half to even)
    assert not find_label_issues(Y10, P10, frac_noise=0.5).any()


def test_posterior_count_takes_the_count_where_the_evidence_is():
    # Three classes. C[0, 1] = 2 but only one item labelled 0 prefers class 1: that cell
    # gives 1. C[0, 2] = 0 although item 3 (labelled 0) prefers class 2 weakly: no quota
    # there, yet a global ranking spends the count on the strongest evidence.
    labels = [0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    probs = np.array(
        [
            [0.9, 0.05, 0.05],
            [0.9, 0.05, 0.05],
            [0.02, 0.96, 0.02],  # labelled 0, clearly 1
            [0.4, 0.1, 0.5],  # labelled 0, prefers 2 weakly
            [0.5, 0.45, 0.05],  # labelled 0, agrees, but reaches t1 -> C[0, 1]
            [0.8, 0.1, 0.1],
            [0.1, 0.8, 0.1],
            [0.1, 0.8, 0.1],
            [0.05, 0.9, 0.05],
            [0.1, 0.1, 0.8],
            [0.1, 0.1, 0.8],
            [0.1, 0.1, 0.8],
        ]
    )
    raw = compute_confident_joint(labels, probs, calibrate=False)
    # t = [0.587, 0.833, 0.8]: item 2 -> (0, 1); items 3 and 4 reach no threshold, nor
    # do items 6 and 7 (0.8 < t1)
    t = [(0.9 + 0.9 + 0.02 + 0.4 + 0.5 + 0.8) / 6, (0.8 + 0.8 + 0.9) / 3, 0.8]
    np.testing.assert_allclose(estimate_noise_matrix(labels, probs).thresholds, t)
    np.testing.assert_array_equal(raw, [[3, 1, 0], [0, 1, 0], [0, 0, 3]])
    # calibrated row 0: 6 items over 4 counted -> [4.5, 1.5, 0]; round(1.5) = 2 in C[0, 1]
    # but one candidate there; C[0, 2] = 0: one flag, item 2
    flags = find_label_issues(labels, probs, min_per_class=0)
    assert flags.nonzero()[0].tolist() == [2]
    np.testing.assert_array_equal(flags, ref_posterior_count_flags(labels, probs.tolist()))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("frac", [1.0, 0.4])
def test_posterior_count_matches_loop_reference(seed, frac):
    true, labels, probs = noisy_data(600, 4, NOISE, strength=2.0, seed=30 + seed)
    got = find_label_issues(labels, probs, frac_noise=frac, min_per_class=0)
    want = ref_posterior_count_flags(labels.tolist(), probs.tolist(), frac)
    np.testing.assert_array_equal(got, want)


def test_a_clean_set_flags_almost_nothing():
    true, labels, probs = noisy_data(3000, 4, np.eye(4), strength=5.0, seed=40)
    assert (labels == true).all()
    assert find_label_issues(labels, probs).sum() <= 3  # 0.1 %


def test_one_clear_error_in_a_clean_set_is_flagged():
    true, labels, probs = noisy_data(2000, 4, np.eye(4), strength=5.0, seed=41)
    labels = labels.copy()
    item = int(np.flatnonzero(probs.max(axis=1) > 0.99)[0])
    labels[item] = (true[item] + 1) % 4
    flags = find_label_issues(labels, probs)
    assert flags[item]
    assert flags.sum() <= 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_posterior_count_spends_the_pruning_count_on_the_lowest_posteriors(seed):
    true, labels, probs = noisy_data(1500, 4, NOISE, strength=2.0, seed=50 + seed)
    flags = find_label_issues(labels, probs, min_per_class=0)
    pruned = find_label_issues(labels, probs, filter_by="prune_by_noise_rate", min_per_class=0)
    assert flags.sum() == pruned.sum() > 0
    post = label_quality_scores(labels, probs, method="posterior")
    candidates = probs.argmax(axis=1) != labels
    assert post[flags].max() <= post[candidates & ~flags].min()


def test_posterior_count_grows_with_frac_noise():
    true, labels, probs = noisy_data(1500, 4, NOISE, strength=2.0, seed=60)
    prev = np.zeros(labels.size, dtype=bool)
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        flags = find_label_issues(labels, probs, frac_noise=frac)
        assert not (prev & ~flags).any()  # nested: a larger quota only adds flags
        prev = flags
    assert prev.sum() > 0


def test_posterior_count_finds_more_than_the_posterior_threshold_with_a_weak_model():
    true, labels, probs = noisy_data(4000, 4, NOISE, strength=2.0, seed=8)
    err = labels != true
    count = find_label_issues(labels, probs)
    thresh = find_label_issues(labels, probs, filter_by="posterior")
    assert count[err].mean() > thresh[err].mean() + 0.05
    assert not (thresh & ~count).any()


# ---------------------------------------------------------------------- filter properties
def _cells(labels, probs):
    return labels * probs.shape[1] + probs.argmax(axis=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prune_by_noise_rate_flags_exactly_the_rounded_counts(seed):
    true, labels, probs = noisy_data(1500, 4, NOISE, strength=2.0, seed=seed)
    c = compute_confident_joint(labels, probs)
    flags = find_label_issues(labels, probs, filter_by="prune_by_noise_rate", min_per_class=0)
    cells = _cells(labels, probs)
    disagree = probs.argmax(axis=1) != labels
    k = 4
    for i in range(k):
        for j in range(k):
            if i == j:
                continue
            candidates = int(np.sum(disagree & (cells == i * k + j)))
            flagged = int(np.sum(flags & (cells == i * k + j)))
            assert flagged == min(int(np.rint(c[i, j])), candidates)
    np.testing.assert_array_equal(flags, ref_prune_by_noise_rate(labels.tolist(), probs.tolist()))


@pytest.mark.parametrize("frac", [0.0, 0.3, 0.5])
def test_frac_noise_scales_the_quotas(frac):
    true, labels, probs = noisy_data(1500, 4, NOISE, strength=2.0, seed=11)
    flags = find_label_issues(
        labels, probs, filter_by="prune_by_noise_rate", frac_noise=frac, min_per_class=0
    )
    np.testing.assert_array_equal(flags, ref_prune_by_noise_rate(labels.tolist(), probs.tolist(), frac))


def test_prune_by_class_flags_lowest_self_confidence():
    true, labels, probs = noisy_data(1500, 4, NOISE, strength=2.0, seed=12)
    c = compute_confident_joint(labels, probs)
    flags = find_label_issues(labels, probs, filter_by="prune_by_class", min_per_class=0)
    disagree = probs.argmax(axis=1) != labels
    sc = probs[np.arange(labels.size), labels]
    for i in range(4):
        mine = (labels == i) & disagree
        quota = int(np.rint(c[i].sum() - c[i, i]))
        assert flags[labels == i].sum() == min(quota, mine.sum())
        if flags[mine].any() and (~flags[mine]).any():
            assert sc[mine & flags].max() <= sc[mine & ~flags].min()


def test_both_is_the_intersection():
    true, labels, probs = noisy_data(1500, 4, NOISE, strength=2.0, seed=13)
    a = find_label_issues(labels, probs, filter_by="prune_by_noise_rate")
    b = find_label_issues(labels, probs, filter_by="prune_by_class")
    np.testing.assert_array_equal(find_label_issues(labels, probs, filter_by="both"), a & b)


def test_confident_learning_is_the_off_diagonal_of_the_confident_joint():
    rng = np.random.default_rng(14)
    probs = random_probs(rng, 400, 3)
    labels = rng.integers(0, 3, 400)
    flags = find_label_issues(labels, probs, filter_by="confident_learning", min_per_class=0)
    est = estimate_noise_matrix(labels, probs)
    t = est.thresholds
    for n in range(400):
        ok = [j for j in range(3) if probs[n, j] >= t[j] - 1e-6]
        guess = max(ok, key=lambda j: probs[n, j]) if ok else labels[n]
        expect = guess != labels[n] and probs[n].argmax() != labels[n]
        assert flags[n] == expect


@pytest.mark.parametrize("filter_by", FILTERS)
def test_flagged_items_never_agree_with_the_model(filter_by):
    rng = np.random.default_rng(15)
    probs = random_probs(rng, 500, 4)
    labels = rng.integers(0, 4, 500)
    flags = find_label_issues(labels, probs, filter_by=filter_by)
    assert flags.any()
    assert not np.any(probs.argmax(axis=1)[flags] == labels[flags])


@pytest.mark.parametrize("filter_by", FILTERS)
def test_min_per_class_leaves_items_unflagged(filter_by):
    rng = np.random.default_rng(16)
    probs = random_probs(rng, 60, 3)
    labels = rng.integers(0, 3, 60)
    flags = find_label_issues(labels, probs, filter_by=filter_by, min_per_class=18)
    for k in range(3):
        assert (~flags[labels == k]).sum() >= min(18, (labels == k).sum())


def test_predicted_neq_given_and_frac_noise_keeps_strongest():
    probs = np.array([[0.1, 0.9], [0.4, 0.6], [0.3, 0.7], [0.8, 0.2]])
    labels = [0, 0, 0, 1]
    flags = find_label_issues(labels, probs, filter_by="predicted_neq_given", min_per_class=0)
    np.testing.assert_array_equal(flags, [True, True, True, True])
    half = find_label_issues(
        labels, probs, filter_by="predicted_neq_given", frac_noise=0.5, min_per_class=0
    )
    np.testing.assert_array_equal(half, [True, False, False, True])  # margins .8 .2 .4 .6


def test_ties_with_the_given_label_are_not_flagged():
    probs = [[0.5, 0.5], [0.5, 0.5], [0.1, 0.9], [0.2, 0.8]]
    for f in FILTERS:
        assert not find_label_issues([0, 1, 1, 1], probs, filter_by=f, min_per_class=0)[:2].any()


# ---------------------------------------------------------------------- bad input
def test_mismatched_lengths_name_the_argument():
    with pytest.raises(InputError, match="labels has 3 rows but there are 5 items"):
        find_label_issues([0, 1, 0], TINY_PROBS)


def test_labels_outside_range():
    with pytest.raises(InputError, match=r"labels: 1 values outside 0\.\.1 \(first at row 4: 2\)"):
        find_label_issues([0, 0, 1, 1, 2], TINY_PROBS)
    with pytest.raises(InputError, match="labels must be integer class indices; row 1"):
        label_quality_scores([0, 0.5, 1, 1, 1], TINY_PROBS)


def test_probabilities_that_do_not_sum_to_one():
    bad = [[0.9, 0.2], [0.8, 0.2]]
    with pytest.raises(InputError, match=r"pred_probs: 1 rows do not sum to 1 \(row 0"):
        compute_confident_joint([0, 0], bad)
    with pytest.raises(InputError, match="pred_probs must be 2-D"):
        estimate_noise_matrix([0, 1], [0.5, 0.5])
    with pytest.raises(InputError, match="pred_probs contains 1 non-finite"):
        audit_labels([0, 1], [[np.nan, 0.5], [0.5, 0.5]])


def test_nearly_normalised_rows_are_accepted_with_a_warning():
    probs = np.array(TINY_PROBS) + np.array([[5e-5, 0.0]] * 5)
    with pytest.warns(ProbabilityWarning, match="renormalised"):
        got = label_quality_scores(TINY_LABELS, probs)
    np.testing.assert_allclose(got, probs[np.arange(5), TINY_LABELS] / probs.sum(axis=1))


def test_bad_parameters():
    with pytest.raises(InvalidParameterError, match="'filter_by'.*Did you mean 'prune_by_class'"):
        find_label_issues(TINY_LABELS, TINY_PROBS, filter_by="prune_by_clas")
    with pytest.raises(InvalidParameterError, match="'frac_noise'.*<= 1"):
        find_label_issues(TINY_LABELS, TINY_PROBS, frac_noise=1.5)
    with pytest.raises(InvalidParameterError, match="'min_per_class'.*>= 0"):
        find_label_issues(TINY_LABELS, TINY_PROBS, min_per_class=-1)
    with pytest.raises(InvalidParameterError, match="'method'"):
        label_quality_scores(TINY_LABELS, TINY_PROBS, method="entropy")
    with pytest.raises(InputError, match="adjust_pred_probs"):
        label_quality_scores(TINY_LABELS, TINY_PROBS, method="posterior", adjust_pred_probs=True)


def test_bad_soft_labels_and_class_names():
    with pytest.raises(InputError, match="soft_labels has 2 rows but pred_probs has 5"):
        audit_labels(TINY_LABELS, TINY_PROBS, [[0.5, 0.5], [1.0, 0.0]])
    with pytest.raises(InputError, match="soft_labels has 3 columns"):
        audit_labels(TINY_LABELS, TINY_PROBS, [[0.5, 0.25, 0.25]] * 5)
    with pytest.raises(InputError, match="classes has 3 names but pred_probs has 2"):
        audit_labels(TINY_LABELS, TINY_PROBS, classes=["a", "b", "c"])
    with pytest.raises(InputError, match="labels: 1 values are not class names .*row 2: 'cow'"):
        audit_labels(["cat", "dog", "cow", "dog", "dog"], TINY_PROBS, classes=["cat", "dog"])


# ---------------------------------------------------------------------- properties
probs_and_labels = st.integers(min_value=0, max_value=2**32 - 1).flatmap(
    lambda seed: st.tuples(st.just(seed), st.integers(2, 6), st.integers(2, 60))
)


def _draw(seed: int, k: int, n: int):
    rng = np.random.default_rng(seed)
    return rng.integers(0, k, n), random_probs(rng, n, k), rng


@settings(max_examples=60)
@given(probs_and_labels)
def test_scores_are_in_unit_interval(case):
    labels, probs, _ = _draw(*case)
    for method in SCORES:
        s = label_quality_scores(labels, probs, method=method)
        assert s.shape == labels.shape
        assert np.all((s >= 0) & (s <= 1))
        if method != "posterior":
            s = label_quality_scores(labels, probs, method=method, adjust_pred_probs=True)
            assert np.all((s >= 0) & (s <= 1))


@settings(max_examples=40)
@given(probs_and_labels)
def test_permuting_items_permutes_the_results(case):
    labels, probs, rng = _draw(*case)
    perm = rng.permutation(labels.size)
    for method in SCORES:
        a = label_quality_scores(labels, probs, method=method)
        b = label_quality_scores(labels[perm], probs[perm], method=method)
        np.testing.assert_allclose(b, a[perm], rtol=1e-9, atol=1e-12)
    for f in FILTERS:
        a = find_label_issues(labels, probs, filter_by=f)
        b = find_label_issues(labels[perm], probs[perm], filter_by=f)
        np.testing.assert_array_equal(b, a[perm])


@settings(max_examples=40)
@given(probs_and_labels)
def test_relabelling_classes_changes_nothing(case):
    labels, probs, rng = _draw(*case)
    k = probs.shape[1]
    new_of_old = rng.permutation(k)
    old_of_new = np.argsort(new_of_old)
    labels2, probs2 = new_of_old[labels], probs[:, old_of_new]
    for method in SCORES:
        np.testing.assert_allclose(
            label_quality_scores(labels2, probs2, method=method),
            label_quality_scores(labels, probs, method=method), rtol=1e-9, atol=1e-12,
        )
    for f in FILTERS:
        np.testing.assert_array_equal(
            find_label_issues(labels2, probs2, filter_by=f), find_label_issues(labels, probs, filter_by=f)
        )
    c1 = compute_confident_joint(labels, probs)
    c2 = compute_confident_joint(labels2, probs2)
    np.testing.assert_allclose(c2[np.ix_(new_of_old, new_of_old)], c1)


@settings(max_examples=60)
@given(probs_and_labels)
def test_posterior_count_property(case):
    labels, probs, _ = _draw(*case)
    # a confident-joint cell at a half count rounds either way with float noise
    half = np.abs(np.modf(ref_confident_joint(labels, probs))[0] - 0.5) < 1e-9
    assume(not half.any())
    flags = find_label_issues(labels, probs, min_per_class=0)
    # as many flags as pruning by noise rate, the lowest posteriors among the candidates
    pruned = find_label_issues(labels, probs, filter_by="prune_by_noise_rate", min_per_class=0)
    assert flags.sum() == pruned.sum()
    np.testing.assert_array_equal(flags, ref_posterior_count_flags(labels.tolist(), probs.tolist()))
    # the previous default's flags are among them whenever it flags no more
    old = find_label_issues(labels, probs, filter_by="posterior", min_per_class=0)
    if old.sum() <= flags.sum():
        assert not (old & ~flags).any()


# ---------------------------------------------------------------------- audit table
def test_audit_table_columns_order_and_reasons():
    probs = [[0.95, 0.05]] * 4 + [[0.02, 0.98]] + [[0.1, 0.9]] * 4 + [[0.6, 0.4]]
    labels = ["cat"] * 5 + ["dog"] * 5
    audit = audit_labels(labels, probs, classes=["cat", "dog"])
    assert list(audit.columns[:6]) == ["index", "given", "suggested", "score", "is_issue", "reason"]
    assert audit["index"].tolist() == list(range(10))
    assert audit["is_issue"].tolist() == [False] * 4 + [True] + [False] * 5
    assert audit.loc[4, "reason"] == "model gives 'dog' 0.98 vs 0.02 for the given 'cat'"
    assert audit.loc[0, "reason"] == "model agrees with the given 'cat' (0.95)"
    assert audit.loc[9, "reason"] == "model prefers 'cat' 0.60 over the given 'dog' 0.40, not enough to flag"
    assert audit.loc[9, "suggested"] == "dog" and audit.loc[9, "predicted"] == "cat"
    np.testing.assert_allclose(audit["score"], label_quality_scores([0] * 5 + [1] * 5, probs))
    ranked = audit.sort_values(["is_issue", "score"], ascending=[False, True])
    assert ranked["index"].tolist()[:2] == [4, 9]


def test_audit_takes_classes_and_ids_from_soft_labels():
    soft = SoftLabels(TINY_PROBS, classes=["cat", "dog"], item_ids=["a", "b", "c", "d", "e"])
    audit = audit_labels(["cat", "cat", "cat", "dog", "dog"], soft, filter_by="predicted_neq_given")
    assert audit["item"].tolist() == ["a", "b", "c", "d", "e"]
    assert audit["given"].tolist() == ["cat", "cat", "cat", "dog", "dog"]
    assert audit.loc[2, "suggested"] == "dog" and bool(audit.loc[2, "is_issue"])



def test_audit_aligns_soft_labels_by_class_name():
    probs = np.array([[0.95, 0.05]] * 4 + [[0.02, 0.98]] + [[0.1, 0.9]] * 4 + [[0.6, 0.4]])
    votes = np.array([[3, 0]] * 4 + [[0, 3]] + [[1, 2]] * 4 + [[2, 1]], dtype=float)
    labels = ["cat"] * 5 + ["dog"] * 5
    pred = SoftLabels(probs, classes=["cat", "dog"], item_ids=np.arange(10))
    want = audit_labels(labels, pred, SoftLabels.from_counts(votes, classes=["cat", "dog"]))
    # the crowd's classes in the other order
    crowd = SoftLabels.from_counts(votes[:, ::-1], classes=["dog", "cat"])
    pd.testing.assert_frame_equal(audit_labels(labels, pred, crowd), want)
    # the class list given in another order than the model's columns
    pd.testing.assert_frame_equal(
        audit_labels(labels, pred, SoftLabels.from_counts(votes, classes=["cat", "dog"]),
                     classes=["dog", "cat"]),
        want,
    )
    with pytest.raises(InputError, match="soft_labels has classes"):
        audit_labels(labels, pred, SoftLabels.from_counts(votes, classes=["cat", "cow"]))


@pytest.mark.parametrize("labels", [["a", "a"], [0, 1]], ids=["names", "codes"])
def test_audit_rejects_repeated_class_names(labels):
    with pytest.raises(InputError, match="classes has 'a' more than once"):
        audit_labels(labels, [[0.5, 0.5], [0.4, 0.6]], classes=["a", "a"])

def test_audit_with_crowd_soft_labels():
    true, labels, probs = noisy_data(3000, 4, NOISE, strength=2.0, seed=21)
    rng = np.random.default_rng(0)
    votes = np.zeros((3000, 4))
    for _ in range(5):  # five 80%-accurate annotators
        right = rng.random(3000) < 0.8
        vote = np.where(right, true, rng.integers(0, 4, 3000))
        votes[np.arange(3000), vote] += 1
    crowd = SoftLabels.from_counts(votes, classes=["a", "b", "c", "d"])
    err = labels != true
    alone = audit_labels(labels, probs)
    both = audit_labels(labels, probs, crowd)
    assert {"crowd_label", "crowd_p_given", "crowd_answers"} <= set(both.columns)
    assert both["reason"].str.contains("; crowd: '").all()
    assert both["reason"].str.contains(" of 5 answers").all()
    f1 = lambda m: 2 * np.sum(m & err) / (m.sum() + err.sum())  # noqa: E731
    assert f1(both["is_issue"].to_numpy()) > f1(alone["is_issue"].to_numpy()) + 0.05
    assert err[both["is_issue"].to_numpy()].mean() > 0.95
    # a plain matrix counts as one opinion per item: the model keeps more weight
    plain = audit_labels(labels, probs, votes / 5)
    assert "crowd_answers" not in plain.columns


def test_crowd_combination_hand_computed():
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]])  # agrees with all 4
    s = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.25, 0.75]])  # misses item 1
    combined, w_model, w_crowd = issues._combine_with_crowd(y, p, s, np.full(4, 2.0))
    # baseline error 0.5: model 1 - 0 / 0.5 = 1; crowd 1 - 0.25 / 0.5 = 0.5; a = 3/4
    assert (w_model, w_crowd) == (pytest.approx(1.0), pytest.approx(0.5))
    for i in range(4):
        votes = 2 * s[i]
        lik = 0.75 ** votes * 0.25 ** (2 - votes)  # K = 2: (1 - a) / (K - 1) = 0.25
        q = p[i] * lik**0.5
        np.testing.assert_allclose(combined[i], q / q.sum())


def test_doc_examples_run():
    result = doctest.testmod(issues, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10 and result.failed == 0


# ---------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def cifar10():
    files = [DATA / f for f in ("pred_probs.npy", "given_labels.npy", "cifar10h_counts.npy")]
    if not all(f.is_file() for f in files):
        pytest.skip(f"CIFAR-10 data not found under {DATA}")
    probs, labels, counts = (np.load(f) for f in files)
    return labels.astype(np.int64), probs, counts.argmax(axis=1) != labels


def _auroc(truth: np.ndarray, scores: np.ndarray) -> float:
    ranks = pd.Series(-scores).rank().to_numpy()
    pos = truth.sum()
    return float((ranks[truth].sum() - pos * (pos + 1) / 2) / (pos * (truth.size - pos)))


@pytest.mark.realdata
def test_cifar10_label_errors(cifar10):
    labels, probs, truth = cifar10
    assert truth.sum() == 79
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flags = find_label_issues(labels, probs)
    tp = int(np.sum(flags & truth))
    precision, recall = tp / flags.sum(), tp / truth.sum()
    f1 = 2 * tp / (flags.sum() + truth.sum())
    # cleanlab 2.9.0's default (prune_by_noise_rate): 284 flagged, 15 right
    assert recall >= 15 / 79
    assert precision >= 0.053
    assert f1 > 0.083
    assert (flags.sum(), tp) == (281, 17)
    # the previous default: fewer flags, more precise, less recall
    old = find_label_issues(labels, probs, filter_by="posterior")
    assert (old.sum(), int(np.sum(old & truth))) == (143, 10)
    pruned = find_label_issues(labels, probs, filter_by="prune_by_noise_rate")
    assert (pruned.sum(), int(np.sum(pruned & truth))) == (281, 15)
    assert _auroc(truth, label_quality_scores(labels, probs)) == pytest.approx(0.8653, abs=1e-4)
    est = estimate_noise_matrix(labels, probs)
    assert 0.02 < est.noise_rate < 0.04  # the model's confusions inflate the ~0.8% true rate


@pytest.mark.realdata
def test_cifar10_audit_table(cifar10):
    labels, probs, truth = cifar10
    audit = audit_labels(labels, probs)
    assert len(audit) == labels.size and audit["is_issue"].sum() == 281
    ranked = audit.sort_values(["is_issue", "score"], ascending=[False, True])
    assert ranked["is_issue"].iloc[:281].all()
    assert ranked["reason"].iloc[0].startswith("model gives '")
