"""Pairwise judgements: Bradley–Terry and Thurstone scores, their standard errors and
soft labels, against hand-computed cases and a naive likelihood maximisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.special import expit
from scipy.stats import norm

import softlabels
from softlabels import InputError, InvalidParameterError
from softlabels.infer.ratings import (
    BradleyTerry,
    Thurstone,
    bradley_terry,
    is_strongly_connected,
    pairwise_std_errors,
    thurstone,
    win_matrix,
    win_rates,
)


def simulate(rng: np.random.Generator, k: int = 8, m: int = 300, link: str = "logistic"
             ) -> tuple[np.ndarray, np.ndarray]:
    theta = rng.normal(size=k)
    a = rng.integers(0, k, m)
    b = (a + rng.integers(1, k, m)) % k
    f = expit if link == "logistic" else norm.cdf
    won = (rng.random(m) < f(theta[a] - theta[b])).astype(float)
    return win_matrix(a, b, won, n_items=k), theta


def naive_fit(W: np.ndarray, link: str, l2: float = 0.0) -> np.ndarray:
    """Direct maximisation of the log-likelihood, written from the model, by BFGS."""
    k = W.shape[0]
    logf = (lambda d: -np.logaddexp(0.0, -d)) if link == "logistic" else norm.logcdf

    def nll(t: np.ndarray) -> float:
        value = 0.0
        for i in range(k):
            for j in range(k):
                if W[i, j]:
                    value -= W[i, j] * logf(t[i] - t[j])
        return value + 0.5 * l2 * t @ t

    res = minimize(nll, np.zeros(k), method="BFGS", options={"gtol": 1e-9})
    t = res.x
    return t - t.mean() if l2 == 0 else t


def test_two_items_by_hand():
    W = np.array([[0.0, 7.0], [3.0, 0.0]])
    theta, _, ok = bradley_terry(W)
    assert ok
    d = np.log(7 / 3)
    np.testing.assert_allclose(theta, [d / 2, -d / 2], atol=1e-10)
    # Var(theta_0 - theta_1) = 1 / (n p (1 - p)); each score is half the difference
    se = pairwise_std_errors(W, theta)
    np.testing.assert_allclose(se, 0.5 / np.sqrt(10 * 0.7 * 0.3), rtol=1e-8)
    t, _, _ = thurstone(W)
    np.testing.assert_allclose(t[0] - t[1], norm.ppf(0.7), atol=1e-10)
    # Thurstone: Var(d) = p (1 - p) / (n phi(d)^2) (delta method on the probit)
    se_t = pairwise_std_errors(W, t, link="probit")
    expect = 0.5 * np.sqrt(0.7 * 0.3 / 10) / norm.pdf(norm.ppf(0.7))
    np.testing.assert_allclose(se_t, expect, rtol=1e-8)


def test_a_balanced_cycle_gives_equal_scores():
    W = win_matrix([0, 1, 2], [1, 2, 0], [1, 1, 1])
    for fit in (bradley_terry, thurstone):
        np.testing.assert_allclose(fit(W)[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(bradley_terry(W, method="mm")[0], 0.0, atol=1e-12)


def test_win_matrix_counts_ties_as_half_wins():
    W = win_matrix([0, 0, 1], [1, 1, 0], [1, 0.5, 1])
    assert W.tolist() == [[0.0, 1.5], [1.5, 0.0]]
    np.testing.assert_allclose(win_rates(W), [0.5, 0.5])


@pytest.mark.parametrize("seed", [0, 1])
def test_bradley_terry_matches_naive_likelihood_maximisation(seed):
    W, _ = simulate(np.random.default_rng(seed))
    ref = naive_fit(W, "logistic")
    newton, _, ok = bradley_terry(W)
    mm, it, ok_mm = bradley_terry(W, method="mm")
    assert ok and ok_mm and it > 1
    np.testing.assert_allclose(newton, ref, atol=1e-5)
    np.testing.assert_allclose(mm, newton, atol=1e-8)


@pytest.mark.parametrize("seed", [0, 1])
def test_thurstone_matches_naive_likelihood_maximisation(seed):
    W, _ = simulate(np.random.default_rng(seed), link="probit")
    np.testing.assert_allclose(thurstone(W)[0], naive_fit(W, "probit"), atol=1e-5)


@pytest.mark.parametrize("link", ["logistic", "probit"])
def test_map_and_its_std_errors_match_a_numerical_hessian(link):
    W, _ = simulate(np.random.default_rng(5), k=5, m=60, link=link)
    fit = bradley_terry if link == "logistic" else thurstone
    theta, _, _ = fit(W, l2=0.5)
    np.testing.assert_allclose(theta, naive_fit(W, link, l2=0.5), atol=1e-5)
    logf = (lambda d: -np.logaddexp(0.0, -d)) if link == "logistic" else norm.logcdf
    i, j = np.nonzero(W)

    def nll(t: np.ndarray) -> float:
        return float(-(W[i, j] * logf(t[i] - t[j])).sum() + 0.25 * t @ t)

    k, h = theta.size, 1e-4
    H = np.zeros((k, k))
    for a in range(k):
        for b in range(k):
            ea, eb = np.eye(k)[a] * h, np.eye(k)[b] * h
            H[a, b] = (nll(theta + ea + eb) - nll(theta + ea - eb) - nll(theta - ea + eb)
                       + nll(theta - ea - eb)) / (4 * h * h)
    se = pairwise_std_errors(W, theta, link=link, l2=0.5)
    np.testing.assert_allclose(se, np.sqrt(np.diag(np.linalg.inv(H))), rtol=1e-4)


def _table(rng: np.random.Generator, n_items: int = 10, m: int = 200) -> pd.DataFrame:
    theta = np.linspace(-2, 2, n_items)
    a = rng.integers(0, n_items, m)
    b = (a + rng.integers(1, n_items, m)) % n_items
    won = rng.random(m) < expit(theta[a] - theta[b])
    ids = np.array([f"item{i:02d}" for i in range(n_items)])
    winner = np.where(won, ids[a], ids[b]).astype(object)
    winner[:5] = None  # ties
    return pd.DataFrame({"left": ids[a], "right": ids[b], "winner": winner})


@pytest.mark.parametrize("cls", [BradleyTerry, Thurstone])
def test_relabelling_and_reordering_items_changes_nothing(cls):
    rng = np.random.default_rng(2)
    table = _table(rng)
    base = cls().fit(table)
    names = {f"item{i:02d}": f"z{(7 * i) % 10}" for i in range(10)}  # a new order of ids
    moved = table.replace(names).sample(frac=1.0, random_state=4)
    swap = rng.random(len(moved)) < 0.5
    moved.loc[swap, ["left", "right"]] = moved.loc[swap, ["right", "left"]].to_numpy()
    again = cls().fit(moved)
    got = again.scores_.set_index("item").loc[[names[i] for i in base.item_ids_]]
    np.testing.assert_allclose(got["score"], base.theta_, atol=1e-9)
    np.testing.assert_allclose(got["std_error"], base.std_errors_, atol=1e-9)
    np.testing.assert_allclose(got["wins"], base.scores_["wins"])


def test_estimator_outputs():
    table = _table(np.random.default_rng(0))
    model = BradleyTerry(threshold=0.5).fit(table)
    assert model.converged_ and list(model.item_ids_) == sorted(model.item_ids_)
    assert model.scores_.columns.tolist() == [
        "item", "score", "std_error", "n_comparisons", "wins", "win_rate"]
    assert model.scores_["n_comparisons"].sum() == 2 * len(table)
    p_above = norm.cdf((model.theta_ - 0.5) / model.std_errors_)
    np.testing.assert_allclose(model.soft_labels_.probs[:, 1], p_above)
    assert model.soft_labels_.classes.tolist() == [0, 1]
    assert model.soft_labels_.provenance["method"] == "bradley-terry"
    p = model.predict_proba(["item09", "item00"], ["item00", "item09"])
    d = model.theta_[9] - model.theta_[0]
    np.testing.assert_allclose(p, [[expit(d), expit(-d)], [expit(-d), expit(d)]])
    assert Thurstone().fit(table).predict_proba("item09", "item00")[0, 0] > 0.9
    mm = BradleyTerry(method="mm").fit(table)
    np.testing.assert_allclose(mm.theta_, model.theta_, atol=1e-8)
    assert "pairwise-comparisons" == softlabels.source_evidence("bradley-terry")
    assert softlabels.list_sources(evidence="pairwise-comparisons") == ["bradley-terry", "thurstone"]


def test_disconnected_comparisons_need_a_prior():
    # item 2 never loses: no finite maximum-likelihood score
    W = win_matrix([0, 1, 2, 2], [1, 0, 0, 1], [1, 1, 1, 1])
    assert not is_strongly_connected(W)
    assert is_strongly_connected(win_matrix([0, 1], [1, 0], [1, 1]))
    with pytest.raises(InputError, match="not strongly connected.*l2 > 0"):
        bradley_terry(W)
    with pytest.raises(InputError, match="not strongly connected"):
        thurstone(W)
    theta, _, ok = bradley_terry(W, l2=0.1)
    assert ok and np.isfinite(theta).all() and theta.argmax() == 2
    table = pd.DataFrame({"left": ["a", "c"], "right": ["b", "a"], "winner": ["a", "c"]})
    with pytest.raises(InputError, match="l2 > 0"):
        BradleyTerry().fit(table)
    model = BradleyTerry(l2=1.0).fit(table)
    assert model.theta_[2] > model.theta_[0] > model.theta_[1]


def test_bad_input_is_explained():
    table = pd.DataFrame({"left": ["a", "b"], "right": ["b", "c"], "winner": ["a", "x"]})
    with pytest.raises(InputError, match="row 1 .*winner 'x', which is neither item"):
        BradleyTerry().fit(table)
    with pytest.raises(InputError, match="no 'winner' column"):
        BradleyTerry().fit(table.drop(columns="winner"))
    with pytest.raises(InputError, match="takes a DataFrame"):
        Thurstone().fit(np.zeros((3, 3)))
    same = pd.DataFrame({"left": ["a"], "right": ["a"], "winner": ["a"]})
    with pytest.raises(InputError, match="compares 'a' with itself"):
        BradleyTerry().fit(same)
    with pytest.raises(InvalidParameterError, match="method='mm'.*l2 > 0"):
        bradley_terry(np.array([[0, 1], [1, 0]]), method="mm", l2=1.0)
    with pytest.raises(InvalidParameterError, match="'l2'"):
        BradleyTerry(l2=-1).fit(_table(np.random.default_rng(0)))
    with pytest.raises(InputError, match="square win matrix"):
        bradley_terry(np.zeros((2, 3)))
    with pytest.raises(InputError, match="outcome must lie in"):
        win_matrix([0], [1], [2.0])
    model = BradleyTerry().fit(_table(np.random.default_rng(0)))
    with pytest.raises(InputError, match="item 'nope'"):
        model.predict_proba("nope", "item00")
