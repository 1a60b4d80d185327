"""Tests for softlabels.audit.calibration: hand-computed cases, naive reference formulas,
recovery of a known temperature, hypothesis properties, input errors and CIFAR-10."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import check_grad
from scipy.stats import entropy as scipy_entropy

from softlabels import SoftLabels
from softlabels.audit import calibration as cal
from softlabels.audit.calibration import (
    TemperatureScaling,
    VectorScaling,
    brier_score,
    calibration_report,
    classwise_ece,
    expected_calibration_error,
    negative_log_likelihood,
    reliability_diagram,
    score_against_truth,
    soft_label_divergence,
)
from softlabels.core.errors import InputError, InvalidParameterError, ProbabilityWarning

EPS = np.finfo(np.float64).eps
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cifar10"


# ---------------------------------------------------------------------- references
def naive_binned_ece(scores, hits, n_bins, strategy):
    """Loop over bins with explicit interval masks: [lower, upper), last bin closed."""
    s = np.clip(np.asarray(scores, float), EPS, 1 - EPS)
    hits = np.asarray(hits, float)
    if strategy == "uniform":
        edges = np.linspace(0, 1, n_bins + 1)
    else:
        edges = np.quantile(s, np.linspace(0, 1, n_bins + 1))
        edges[0], edges[-1] = 0.0, 1.0
    total = 0.0
    for b in range(n_bins):
        lo, hi = edges[b], edges[b + 1]
        inside = (s >= lo) & ((s < hi) | ((b == n_bins - 1) & (s <= hi)))
        if inside.any():
            total += inside.mean() * abs(hits[inside].mean() - s[inside].mean())
    return total


def renormalised(probs):
    """Rows divided by their sums, as the input check does (this can move a value by
    one ulp, which matters for values on bin edges)."""
    probs = np.asarray(probs, float)
    return probs / probs.sum(axis=1, keepdims=True)


def naive_top_label_ece(probs, labels, n_bins, strategy):
    probs = renormalised(probs)
    pred = probs.argmax(axis=1)
    conf = probs.max(axis=1)
    labels = np.asarray(labels)
    if labels.ndim == 2:
        hits = np.array([labels[i, pred[i]] for i in range(len(pred))])
    else:
        hits = (pred == labels).astype(float)
    return naive_binned_ece(conf, hits, n_bins, strategy)


def naive_brier(probs, targets):
    total = 0.0
    for p, t in zip(probs, targets):
        total += sum((pk - tk) ** 2 for pk, tk in zip(p, t))
    return total / len(probs)


def one_hot(labels, k):
    return np.eye(k)[labels]


def sample_labels(probs, rng):
    """One class per row, drawn from the row's distribution."""
    u = rng.random(probs.shape[0])
    return np.minimum((u[:, None] > probs.cumsum(axis=1)).sum(axis=1), probs.shape[1] - 1)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# Probabilities from small integer weights: many ties and values on bin edges.
@st.composite
def probs_and_labels(draw, max_items=40):
    n = draw(st.integers(1, max_items))
    k = draw(st.integers(2, 5))
    w = np.array(draw(st.lists(st.integers(0, 6), min_size=n * k, max_size=n * k)), float)
    w = w.reshape(n, k)
    w[:, 0] += w.sum(axis=1) == 0
    probs = w / w.sum(axis=1, keepdims=True)
    labels = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    return probs, labels


# ---------------------------------------------------------------------- ECE by hand
PROBS3 = np.array([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2], [0.9, 0.05, 0.05], [0.1, 0.2, 0.7]])
LABELS3 = np.array([0, 1, 0, 1])


def test_ece_uniform_by_hand():
    # confidences 0.5 (right), 0.4 (tie -> class 0, wrong), 0.9 (right), 0.7 (wrong)
    # bins [0, .5) and [.5, 1]: 0.5 sits on the edge and joins the upper bin.
    # bin 0: {0.4}: |0 - 0.4| * 1/4 ; bin 1: {0.5, 0.9, 0.7}: |2/3 - 2.1/3| * 3/4
    expected = 0.4 / 4 + abs(2 / 3 - 2.1 / 3) * 3 / 4
    got = expected_calibration_error(PROBS3, LABELS3, n_bins=2)
    assert got == pytest.approx(expected, abs=1e-15)
    # ten bins: each item alone in its bin, ECE = mean |hit - conf|
    ten = np.mean([0.5, 0.4, 0.1, 0.7])
    assert expected_calibration_error(PROBS3, LABELS3, n_bins=10) == pytest.approx(ten, abs=1e-15)


def test_ece_quantile_by_hand():
    # sorted confidences 0.4, 0.5, 0.7, 0.9; three equal-mass bins: quantiles at
    # positions 0, 1, 2, 3 -> edges [0, 0.5, 0.7, 1]; 0.5 and 0.7 lie on inner edges
    # and go up: bins {0.4}, {0.5}, {0.7, 0.9}.
    expected = (0.4 + 0.5 + abs(1 - 1.6)) / 4
    got = expected_calibration_error(PROBS3, LABELS3, n_bins=3, strategy="quantile")
    assert got == pytest.approx(expected, abs=1e-15)
    # two bins: median 0.6 -> {0.4, 0.5} and {0.7, 0.9}
    expected2 = (abs(1 - 0.9) + abs(1 - 1.6)) / 4
    got2 = expected_calibration_error(PROBS3, LABELS3, n_bins=2, strategy="quantile")
    assert got2 == pytest.approx(expected2, abs=1e-15)
    diagram = reliability_diagram(PROBS3, LABELS3, n_bins=3, strategy="quantile")
    np.testing.assert_allclose(diagram["lower"], [0.0, 0.5, 0.7])
    np.testing.assert_allclose(diagram["upper"], [0.5, 0.7, 1.0])
    assert diagram["count"].tolist() == [1, 1, 2]


def test_quantile_repeated_edges_leave_empty_bins():
    probs = np.array([[0.8, 0.2]] * 6 + [[0.6, 0.4]] * 2)
    labels = np.array([0, 0, 0, 0, 1, 1, 0, 1])
    diagram = reliability_diagram(probs, labels, n_bins=4, strategy="quantile")
    assert diagram["count"].sum() == 8
    assert (diagram["count"] == 0).sum() >= 1
    assert diagram.loc[diagram["count"] == 0, "accuracy"].isna().all()
    got = expected_calibration_error(probs, labels, n_bins=4, strategy="quantile")
    assert got == pytest.approx(naive_top_label_ece(probs, labels, 4, "quantile"), abs=1e-15)
    # 0.6-group: acc 1/2, conf 0.6; 0.8-group: acc 4/6, conf 0.8
    assert got == pytest.approx((2 * 0.1 + 6 * abs(4 / 6 - 0.8)) / 8, abs=1e-15)


def test_certain_predictions_fall_in_last_bin():
    probs = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    diagram = reliability_diagram(probs, [0, 1, 1], n_bins=5)
    assert diagram["count"].tolist() == [0, 0, 0, 0, 3]
    assert expected_calibration_error(probs, [0, 1, 1], n_bins=5) == pytest.approx(1 / 3, abs=1e-12)


def test_classwise_ece_by_hand():
    probs = [[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]]
    # class 0: bins {0.3, 0.2} (no hit) and {0.9, 0.6} (one hit): (0.5 + 0.5) / 4
    # class 1 mirrors it: 0.25 as well
    assert classwise_ece(probs, [0, 1, 1, 1], n_bins=2) == pytest.approx(0.25, abs=1e-15)


def test_soft_labels_give_expected_accuracy():
    soft = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    # hits = soft prob of predicted class (0, 0, 0, 2): 0.5, 0.2, 1.0, 0.5
    # bin {0.4}: |0.2 - 0.4|; bin {0.5, 0.9, 0.7}: |(0.5 + 1 + 0.5) - 2.1|
    expected = (abs(0.2 - 0.4) + abs(2.0 - 2.1)) / 4
    got = expected_calibration_error(PROBS3, soft, n_bins=2)
    assert got == pytest.approx(expected, abs=1e-15)
    assert got == pytest.approx(naive_top_label_ece(PROBS3, soft, 2, "uniform"), abs=1e-15)
    as_soft = SoftLabels(soft, classes=["a", "b", "c"])
    assert expected_calibration_error(PROBS3, as_soft, n_bins=2) == got


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_one_hot_soft_labels_equal_hard_labels(strategy):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=300)
    labels = rng.integers(0, 4, size=300)
    soft = one_hot(labels, 4)
    for fn in (expected_calibration_error, classwise_ece):
        assert fn(probs, soft, strategy=strategy) == pytest.approx(
            fn(probs, labels, strategy=strategy), abs=1e-14
        )
    assert brier_score(probs, soft) == pytest.approx(brier_score(probs, labels), abs=1e-14)
    assert negative_log_likelihood(probs, soft) == pytest.approx(
        negative_log_likelihood(probs, labels), abs=1e-14
    )


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_calibrated_data_has_ece_near_zero(strategy):
    rng = np.random.default_rng(1)
    n = 20_000
    probs = rng.dirichlet(np.full(4, 0.7), size=n)
    labels = sample_labels(probs, rng)  # calibrated by construction
    ece = expected_calibration_error(probs, labels, strategy=strategy)
    # a 3-sigma per-bin sampling bound: 3 * sum_b sqrt(sum_{i in b} c_i (1 - c_i)) / N
    table = reliability_diagram(probs, labels, strategy=strategy)
    conf = probs.max(axis=1)
    edges = np.r_[table["lower"].to_numpy(), 1.0]
    idx = np.minimum(np.searchsorted(edges, conf, side="right") - 1, len(table) - 1)
    var = np.bincount(idx, conf * (1 - conf), minlength=len(table))
    bound = 3 * np.sqrt(var).sum() / n
    assert ece < bound
    assert classwise_ece(probs, labels, strategy=strategy) < 0.03
    # the same predictions made over-confident are clearly flagged
    sharp = softmax(3 * np.log(probs))
    assert expected_calibration_error(sharp, labels, strategy=strategy) > 3 * bound


@given(probs_and_labels(), st.integers(1, 20), st.sampled_from(["uniform", "quantile"]))
def test_ece_matches_naive_reference(data, n_bins, strategy):
    probs, labels = data
    got = expected_calibration_error(probs, labels, n_bins=n_bins, strategy=strategy)
    assert got == pytest.approx(naive_top_label_ece(probs, labels, n_bins, strategy), abs=1e-12)
    k = probs.shape[1]
    per_class = [
        naive_binned_ece(renormalised(probs)[:, c], labels == c, n_bins, strategy)
        for c in range(k)
    ]
    got_cw = classwise_ece(probs, labels, n_bins=n_bins, strategy=strategy)
    assert got_cw == pytest.approx(np.mean(per_class), abs=1e-12)


@given(
    probs_and_labels(), st.integers(1, 20), st.sampled_from(["uniform", "quantile"]), st.randoms()
)
def test_ece_bounded_and_permutation_invariant(data, n_bins, strategy, rnd):
    probs, labels = data
    perm = np.array(rnd.sample(range(len(labels)), len(labels)))
    for fn in (expected_calibration_error, classwise_ece):
        value = fn(probs, labels, n_bins=n_bins, strategy=strategy)
        assert 0.0 <= value <= 1.0
        permuted = fn(probs[perm], labels[perm], n_bins=n_bins, strategy=strategy)
        assert permuted == pytest.approx(value, abs=1e-12)


@given(probs_and_labels(), st.integers(1, 20), st.sampled_from(["uniform", "quantile"]))
def test_reliability_diagram_adds_up_to_ece(data, n_bins, strategy):
    probs, labels = data
    table = reliability_diagram(probs, labels, n_bins=n_bins, strategy=strategy)
    assert len(table) == n_bins
    assert list(table.columns) == [
        "lower", "upper", "count", "fraction", "confidence", "accuracy", "gap"
    ]
    assert table["count"].sum() == len(labels)
    assert (table["upper"].to_numpy() >= table["lower"].to_numpy()).all()
    ece = expected_calibration_error(probs, labels, n_bins=n_bins, strategy=strategy)
    assert (table["fraction"] * table["gap"].abs()).sum() == pytest.approx(ece, abs=1e-12)
    assert table["confidence"].isna().tolist() == (table["count"] == 0).tolist()


# ---------------------------------------------------------------------- proper scores
def test_brier_by_hand_and_one_hot_zero():
    assert brier_score([[0.8, 0.2], [0.5, 0.5]], [0, 1]) == pytest.approx(0.29, abs=1e-15)
    labels = np.array([2, 0, 1, 1])
    assert brier_score(one_hot(labels, 3), labels) == 0.0
    assert brier_score([[1.0, 0.0]], [1]) == pytest.approx(2.0)


@given(probs_and_labels())
def test_brier_and_nll_match_naive_with_soft_targets(data):
    probs, labels = data
    rng = np.random.default_rng(len(labels))
    soft = rng.dirichlet(np.ones(probs.shape[1]), size=len(labels))
    assert brier_score(probs, soft) == pytest.approx(naive_brier(probs, soft), abs=1e-12)
    assert brier_score(probs, labels) == pytest.approx(
        naive_brier(probs, one_hot(labels, probs.shape[1])), abs=1e-12
    )
    ce = -np.mean(
        [sum(t * np.log(max(p, EPS)) for p, t in zip(pr, tr)) for pr, tr in zip(probs, soft)]
    )
    assert negative_log_likelihood(probs, soft) == pytest.approx(ce, rel=1e-12, abs=1e-12)


def test_nll_by_hand_and_eps():
    nll = negative_log_likelihood([[0.8, 0.2], [0.5, 0.5]], [0, 1])
    assert nll == pytest.approx(-(np.log(0.8) + np.log(0.5)) / 2, abs=1e-15)
    assert negative_log_likelihood([[1.0, 0.0]], [1]) == pytest.approx(-np.log(EPS))
    assert negative_log_likelihood([[1.0, 0.0]], [1], eps=1e-3) == pytest.approx(-np.log(1e-3))
    assert negative_log_likelihood([[1.0, 0.0]], [0]) == 0.0


def test_soft_label_divergence_by_hand_and_against_scipy():
    d = soft_label_divergence([[0.5, 0.5]], [[1.0, 0.0]])
    assert d["kl"] == pytest.approx(np.log(2)) and d["entropy"] == 0.0
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(5), size=50)
    h = rng.dirichlet(np.full(5, 0.3), size=50)
    h[0] = [0.5, 0.5, 0.0, 0.0, 0.0]
    d = soft_label_divergence(p, SoftLabels(h, classes=list("abcde")))
    kl = np.mean([scipy_entropy(hi, pi) for hi, pi in zip(h, p)])
    assert d["kl"] == pytest.approx(kl, rel=1e-10)
    assert d["entropy"] == pytest.approx(np.mean([scipy_entropy(hi) for hi in h]), rel=1e-10)
    assert d["cross_entropy"] == pytest.approx(d["entropy"] + d["kl"], abs=1e-12)
    assert d["cross_entropy"] == pytest.approx(negative_log_likelihood(p, h), abs=1e-12)
    assert soft_label_divergence(h, h)["kl"] == pytest.approx(0.0, abs=1e-12)


def test_calibration_report_keys_and_values():
    rng = np.random.default_rng(4)
    probs = rng.dirichlet(np.ones(3), size=200)
    labels = rng.integers(0, 3, size=200)
    human = rng.dirichlet(np.ones(3), size=200)
    keys = [
        "n_items", "n_classes", "n_bins", "accuracy", "confidence", "ece", "ece_quantile",
        "classwise_ece", "brier", "nll", "kl", "cross_entropy",
    ]
    r = calibration_report(probs, labels, n_bins=10)
    assert list(r) == keys
    assert r["kl"] is None and r["cross_entropy"] is None
    assert r["accuracy"] == np.mean(probs.argmax(axis=1) == labels)
    assert r["ece"] == expected_calibration_error(probs, labels, n_bins=10)
    quantile = expected_calibration_error(probs, labels, n_bins=10, strategy="quantile")
    assert r["ece_quantile"] == quantile
    assert r["classwise_ece"] == classwise_ece(probs, labels, n_bins=10)
    assert r["brier"] == brier_score(probs, labels)
    assert r["nll"] == negative_log_likelihood(probs, labels)
    with_human = calibration_report(probs, labels, n_bins=10, soft_labels=human)
    assert list(with_human) == keys
    assert with_human["kl"] == soft_label_divergence(probs, human)["kl"]
    soft = calibration_report(probs, human, n_bins=10)
    assert soft["cross_entropy"] == soft["nll"] == negative_log_likelihood(probs, human)


# ---------------------------------------------------------------------- scaling
def tempered_data(n, k, temperature, seed, shift=None):
    rng = np.random.default_rng(seed)
    true_logits = rng.normal(0.0, 2.0, size=(n, k))
    labels = sample_labels(softmax(true_logits), rng)
    observed = true_logits * temperature  # a model over-confident by `temperature`
    if shift is not None:
        observed = observed + shift
    return true_logits, observed, labels


def test_temperature_scaling_recovers_known_temperature():
    true_logits, observed, labels = tempered_data(20_000, 5, 2.5, seed=5)
    ts = TemperatureScaling().fit(observed, labels)
    assert ts.converged_
    assert ts.temperature_ == pytest.approx(2.5, rel=0.04)
    calibrated = ts.transform(observed)
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0, atol=1e-12)
    assert np.abs(calibrated - softmax(true_logits)).max() < 0.05
    assert (calibrated.argmax(axis=1) == observed.argmax(axis=1)).all()
    assert ts.nll_ == pytest.approx(negative_log_likelihood(calibrated, labels), abs=1e-10)
    assert ts.nll_ < negative_log_likelihood(softmax(observed), labels)


def test_temperature_scaling_probs_input_equals_logits_input():
    _, observed, labels = tempered_data(3_000, 4, 1.7, seed=6)
    from_logits = TemperatureScaling().fit(observed, labels)
    probs = softmax(observed)
    from_probs = TemperatureScaling(inputs="probs").fit(probs, labels)
    assert from_probs.temperature_ == pytest.approx(from_logits.temperature_, rel=1e-6)
    np.testing.assert_allclose(
        from_probs.transform(probs), from_logits.transform(observed), atol=1e-7
    )


def test_temperature_scaling_soft_one_hot_equals_hard_and_is_deterministic():
    _, observed, labels = tempered_data(2_000, 3, 1.5, seed=7)
    hard = TemperatureScaling().fit(observed, labels)
    soft = TemperatureScaling().fit(observed, one_hot(labels, 3))
    assert soft.temperature_ == pytest.approx(hard.temperature_, rel=1e-9)
    again = TemperatureScaling().fit(observed, labels)
    assert again.temperature_ == hard.temperature_
    vs1 = VectorScaling().fit(observed, labels)
    vs2 = VectorScaling().fit(observed, labels)
    assert np.array_equal(vs1.weights_, vs2.weights_) and np.array_equal(vs1.bias_, vs2.bias_)


@pytest.mark.parametrize("model", [TemperatureScaling(), VectorScaling()])
@pytest.mark.parametrize("soft", [False, True])
def test_analytic_gradient_matches_finite_differences(model, soft):
    _, observed, labels = tempered_data(400, 4, 1.3, seed=8)
    rng = np.random.default_rng(9)
    target = rng.dirichlet(np.ones(4), size=400) if soft else labels
    t = cal._check_targets(target, 400, 4)
    theta0, _ = model._start(4)
    theta = theta0 + rng.normal(0, 0.3, size=theta0.shape)
    err = check_grad(
        lambda th: model._objective(th, observed, t)[0],
        lambda th: model._objective(th, observed, t)[1],
        theta,
    )
    assert err < 1e-5


def test_vector_scaling_generalises_temperature_scaling():
    # pure temperature miscalibration: vector scaling finds (about) the same map
    _, observed, labels = tempered_data(20_000, 5, 2.5, seed=10)
    ts = TemperatureScaling().fit(observed, labels)
    vs = VectorScaling().fit(observed, labels)
    assert vs.nll_ <= ts.nll_ + 1e-9
    np.testing.assert_allclose(vs.weights_, 1 / ts.temperature_, rtol=0.08)
    assert np.abs(vs.bias_).max() < 0.1
    assert vs.bias_.sum() == pytest.approx(0.0, abs=1e-12)
    # per-class offsets: only vector scaling can undo them (judged on held-out items)
    shift = np.array([1.5, 0.0, -1.0, 0.5, -1.0])
    true_logits, observed, labels = tempered_data(20_000, 5, 2.0, seed=11, shift=shift)
    fit, held = slice(0, 10_000), slice(10_000, None)
    ts = TemperatureScaling().fit(observed[fit], labels[fit])
    vs = VectorScaling().fit(observed[fit], labels[fit])
    nll_ts = negative_log_likelihood(ts.transform(observed[held]), labels[held])
    nll_vs = negative_log_likelihood(vs.transform(observed[held]), labels[held])
    assert nll_vs < nll_ts - 0.01
    np.testing.assert_allclose(vs.bias_, -(shift - shift.mean()) / 2.0, atol=0.15)
    np.testing.assert_allclose(vs.weights_, 0.5, rtol=0.08)


def test_scaling_parameters_and_state_errors():
    _, observed, labels = tempered_data(100, 3, 1.0, seed=12)
    with pytest.raises(ValueError, match="not fitted"):
        TemperatureScaling().transform(observed)
    with pytest.raises(InvalidParameterError, match="'inputs' parameter of TemperatureScaling"):
        TemperatureScaling(inputs="logprobs").fit(observed, labels)
    with pytest.raises(InvalidParameterError, match="'max_iter'"):
        VectorScaling(max_iter=0).fit(observed, labels)
    ts = TemperatureScaling().fit(observed, labels)
    with pytest.raises(InputError, match="fitted on 3 classes"):
        ts.transform(observed[:, :2])
    with pytest.raises(InputError, match=r"scores has values outside \[0, 1\]"):
        TemperatureScaling(inputs="probs").fit(observed, labels)
    with pytest.raises(InputError, match="non-finite"):
        TemperatureScaling().fit(np.where(observed > 2, np.inf, observed), labels)
    assert "inputs='probs'" in repr(TemperatureScaling(inputs="probs"))
    params = TemperatureScaling(tol=1e-6).get_params()
    assert params == {"inputs": "logits", "max_iter": 200, "tol": 1e-6}


# ---------------------------------------------------------------------- bad input
def test_bad_input_errors():
    with pytest.raises(InputError, match="labels has 2 rows but there are 4 items"):
        expected_calibration_error(PROBS3, [0, 1])
    with pytest.raises(InputError, match="labels has 3 rows but there are 4 items"):
        brier_score(PROBS3, np.full((3, 3), 1 / 3))
    bad = PROBS3.copy()
    bad[2, 1] = np.nan
    with pytest.raises(InputError, match=r"probs contains 1 non-finite .* row 2, column 1\)"):
        classwise_ece(bad, LABELS3)
    with pytest.raises(InputError, match=r"labels: 1 values outside 0..2 \(first at row 3: 3\)"):
        negative_log_likelihood(PROBS3, [0, 1, 2, 3])
    with pytest.raises(InputError, match="labels has 2 columns; expected 3 classes"):
        expected_calibration_error(PROBS3, np.full((4, 2), 0.5))
    with pytest.raises(InputError, match="rows do not sum to 1"):
        expected_calibration_error(PROBS3 * 1.1, LABELS3)
    with pytest.raises(InvalidParameterError, match="'strategy' .* Did you mean 'quantile'"):
        expected_calibration_error(PROBS3, LABELS3, strategy="quantiles")
    with pytest.raises(InvalidParameterError, match="'n_bins' parameter of reliability_diagram"):
        reliability_diagram(PROBS3, LABELS3, n_bins=0)
    with pytest.raises(InvalidParameterError, match="'eps'"):
        negative_log_likelihood(PROBS3, LABELS3, eps=0.0)
    with pytest.raises(InputError, match="soft_labels must be a probability matrix"):
        soft_label_divergence(PROBS3, LABELS3)
    with pytest.raises(InputError, match="soft_labels must be a probability matrix"):
        calibration_report(PROBS3, LABELS3, soft_labels=LABELS3)


def test_nearly_normalised_rows_warn_and_are_accepted():
    probs = PROBS3.copy()
    probs[0, 0] += 5e-5
    with pytest.warns(ProbabilityWarning, match="renormalised"):
        value = expected_calibration_error(probs, LABELS3, n_bins=2)
    assert value == pytest.approx(expected_calibration_error(PROBS3, LABELS3, n_bins=2), abs=1e-4)


def test_docstring_examples_run():
    result = doctest.testmod(cal, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10 and result.failed == 0


# ---------------------------------------------------------------------- CIFAR-10
@pytest.fixture(scope="module")
def cifar10():
    if not (DATA / "pred_probs.npy").exists():
        pytest.skip(f"real data not found at {DATA.resolve()}")
    probs = np.load(DATA / "pred_probs.npy")
    labels = np.load(DATA / "given_labels.npy").astype(np.int64)
    counts = np.load(DATA / "cifar10h_counts.npy")
    return probs, labels, counts


@pytest.mark.realdata
def test_cifar10_metrics_regression(cifar10):
    probs, labels, counts = cifar10
    # netcal 1.4.0 ECE(bins=15) gives these numbers on the row-normalised matrix
    # (benchmarks/audit_calibration.py shows the agreement)
    assert expected_calibration_error(probs, labels) == pytest.approx(0.0325884630753729, abs=1e-12)
    assert expected_calibration_error(probs, labels, strategy="quantile") == pytest.approx(
        0.032099156757633425, abs=1e-12
    )
    assert classwise_ece(probs, labels) == pytest.approx(0.007124659906013494, abs=1e-12)
    human = SoftLabels.from_counts(counts, classes=list(range(10)))
    report = calibration_report(probs, labels, soft_labels=human)
    assert report["accuracy"] == pytest.approx(0.9294)
    assert report["nll"] == pytest.approx(0.24917124089283849, abs=1e-10)
    # CIFAR-10H vote shares: the model is further from the human distributions than
    # from the given labels (human entropy 0.154 nats on average)
    assert report["kl"] == pytest.approx(0.3590707485365273, abs=1e-10)
    assert report["cross_entropy"] == pytest.approx(0.5135303329027905, abs=1e-10)
    # against the soft labels themselves, expected accuracy drops and ECE doubles
    soft = calibration_report(probs, human)
    assert soft["accuracy"] == pytest.approx(0.8966682178220572, abs=1e-10)
    assert soft["ece"] > 1.9 * report["ece"]


@pytest.mark.realdata
def test_cifar10_temperature_scaling_lowers_held_out_nll(cifar10):
    probs, labels, _ = cifar10
    perm = np.random.default_rng(0).permutation(len(labels))
    fit, held = perm[:5000], perm[5000:]
    ts = TemperatureScaling(inputs="probs").fit(probs[fit], labels[fit])
    assert ts.temperature_ == pytest.approx(1.4996, abs=2e-3)  # netcal: 1 / 0.66683
    calibrated = ts.transform(probs[held])
    before = negative_log_likelihood(probs[held], labels[held])
    after = negative_log_likelihood(calibrated, labels[held])
    assert after < before - 0.015
    assert expected_calibration_error(calibrated, labels[held]) < expected_calibration_error(
        probs[held], labels[held]
    )
    vs = VectorScaling(inputs="probs").fit(probs[fit], labels[fit])
    assert negative_log_likelihood(vs.transform(probs[held]), labels[held]) < after



def test_two_softlabels_are_matched_by_class_name():
    rng = np.random.default_rng(5)
    p, h = rng.dirichlet(np.ones(3), size=30), rng.dirichlet(np.ones(3), size=30)
    pred = SoftLabels(p, classes=["a", "b", "c"], item_ids=np.arange(30))
    human = SoftLabels(h[:, [2, 0, 1]], classes=["c", "a", "b"], item_ids=np.arange(30))
    assert brier_score(pred, human) == pytest.approx(brier_score(p, h))
    assert expected_calibration_error(pred, human) == pytest.approx(
        expected_calibration_error(p, h))
    want = soft_label_divergence(p, h)
    assert soft_label_divergence(pred, human) == pytest.approx(want)
    assert calibration_report(pred, human)["kl"] == pytest.approx(want["kl"])
    assert calibration_report(pred, np.argmax(h, axis=1), soft_labels=human)["kl"] == (
        pytest.approx(want["kl"]))
    other = SoftLabels(h, classes=["a", "b", "z"], item_ids=np.arange(30))
    with pytest.raises(InputError, match="labels has classes"):
        brier_score(pred, other)

# ---------------------------------------------------------------------- score_against_truth
def test_score_against_truth_hand_computed():
    # three items with truth and soft labels, one truth item without a soft label (left
    # out), one true class ("c") the soft labels lack (probability 0 there).
    soft = pd.DataFrame(
        {"a": [0.7, 0.2, 0.5], "b": [0.3, 0.8, 0.5]}, index=["i1", "i2", "i3"]
    )
    truth = pd.Series({"i1": "a", "i2": "a", "i3": "c", "i9": "b"})
    r = score_against_truth(soft, truth, n_bins=2, eps=1e-3)
    # i1 right (0.7), i2 wrong (pred b at 0.8), i3: tie a/b -> a, wrong (truth c)
    assert r["n_items"] == 3
    assert r["accuracy"] == pytest.approx(1 / 3)
    assert r["nll"] == pytest.approx(-(np.log(0.7) + np.log(0.2) + np.log(1e-3)) / 3)
    # Brier with classes a, b, c: (.09+.09+0) + (.64+.64+0) + (.25+.25+1)
    assert r["brier"] == pytest.approx((0.18 + 1.28 + 1.5) / 3)
    # top-label: confidences .7, .8, .5 all in the upper bin [.5, 1]; hits 1, 0, 0
    assert r["ece"] == pytest.approx(abs(1 - 2.0) / 3)
    # classwise, 2 bins [0,.5) [.5,1]:
    #  a: scores .7 (hit 1), .2 (hit 1), .5 (hit 0) -> low bin |1-.2|, high |1-1.2|
    #  b: .3 (0), .8 (0), .5 (0) -> low |0-.3|, high |0-1.3|
    #  c: 0, 0, 0 with hits 0, 0, 1 -> low |1-0|
    a = (0.8 + 0.2) / 3
    b = (0.3 + 1.3) / 3
    c = 1.0 / 3
    assert r["classwise_ece"] == pytest.approx((a + b + c) / 3)


def test_score_against_truth_agrees_with_array_metrics():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), size=40)
    y = rng.integers(0, 3, size=40)
    soft = SoftLabels(p, classes=["x", "y", "z"], item_ids=np.arange(40))
    truth = pd.Series(np.array(["x", "y", "z"])[y], index=np.arange(40))
    r = score_against_truth(soft, truth)
    assert r["accuracy"] == pytest.approx(float((p.argmax(1) == y).mean()))
    assert r["nll"] == pytest.approx(negative_log_likelihood(p, y))
    assert r["brier"] == pytest.approx(brier_score(p, y))
    assert r["ece"] == pytest.approx(expected_calibration_error(p, y))
    assert r["classwise_ece"] == pytest.approx(classwise_ece(p, y))


def test_score_against_truth_errors():
    soft = pd.DataFrame({"a": [1.0]}, index=["i1"])
    with pytest.raises(InputError, match="no item of truth"):
        score_against_truth(soft, {"other": "a"})
    with pytest.raises(InputError, match="SoftLabels or a DataFrame"):
        score_against_truth(np.ones((1, 1)), {"i1": "a"})



@pytest.mark.parametrize("values, match", [
    ([[0.9, 0.1], [np.nan, 0.6]], "soft_labels"),  # NaN gave NaN Brier and ECE, finite NLL
    ([[0.9, 0.1], [3.0, 0.6]], "soft_labels"),  # gave a Brier score of 4.59 (at most 2)
    ([[0.9, 0.1], [-0.4, 1.4]], "soft_labels"),
])
def test_score_against_truth_checks_the_probabilities_of_a_frame(values, match):
    soft = pd.DataFrame(values, columns=["a", "b"], index=["x", "y"])
    with pytest.raises(InputError, match=match):
        score_against_truth(soft, {"x": "a", "y": "b"})


def test_score_against_truth_rejects_repeated_items():
    soft = pd.DataFrame({"a": [0.9, 0.3], "b": [0.1, 0.7]}, index=["x", "x"])
    with pytest.raises(InputError, match="'x'"):
        score_against_truth(soft, {"x": "a"})
    # a truth Series with an item twice (two different answers) was scored twice
    soft = pd.DataFrame({"a": [0.9, 0.3], "b": [0.1, 0.7]}, index=["x", "y"])
    with pytest.raises(InputError, match="truth has item 'x' more than once"):
        score_against_truth(soft, pd.Series(["a", "b", "b"], index=["x", "x", "y"]))

def test_score_against_truth_rejects_missing_truth_labels():
    soft = SoftLabels(np.array([[0.7, 0.3], [0.2, 0.8]]), classes=["a", "b"], item_ids=[1, 2])
    with pytest.raises(InputError, match=r"1 missing labels \(first at item 2\)"):
        score_against_truth(soft, pd.Series(["a", None], index=[1, 2]))
