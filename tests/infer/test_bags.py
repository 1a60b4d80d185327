"""Bags: label proportions (DLLP, LLP-BP) and bag scores (multiple-instance regression)."""

from __future__ import annotations

import doctest
import itertools
import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softlabels import InputError, InvalidParameterError, SoftLabels
from softlabels.infer.bags import _mlp, dllp as dllp_module, mil as mil_module
from softlabels.infer.bags import (
    DLLP,
    LLPBP,
    ConvergenceWarning,
    MILRegressor,
    ProportionProjection,
    as_bag_proportions,
    as_bag_scores,
    as_set_labels,
    bp_pseudo_labels,
    dllp_loss,
    knn_graph,
    proportion_pseudo_labels,
)
from softlabels.infer.base import clone


# ---------------------------------------------------------------------- references
def brute_force_marginals(n, edges, sims, bag, k, sim_lambda, bag_lambda, fixed=None):
    """P(y_i = 1) under exp(-ls sum s (y_i - y_j)^2 - lb sum_b (sum y - k_b)^2) by
    enumerating all 2^n labelings (optionally conditioned on ``fixed``: item -> label)."""
    ys = np.array(list(itertools.product([0, 1], repeat=n)))
    energy = np.zeros(len(ys))
    for (i, j), s in zip(edges, sims):
        energy -= sim_lambda * s * (ys[:, i] - ys[:, j]) ** 2
    bag = np.asarray(bag)
    for b, kb in enumerate(k):
        energy -= bag_lambda * (ys[:, bag == b].sum(axis=1) - kb) ** 2
    if fixed:
        for i, v in fixed.items():
            energy[ys[:, i] != v] = -np.inf
    w = np.exp(energy - energy.max())
    return w @ ys / w.sum()


def naive_dllp(probs, bag, rho, eps=1e-7):
    total = 0.0
    for b in range(len(rho)):
        mean = np.mean([probs[i] for i in range(len(bag)) if bag[i] == b], axis=0)
        total -= sum(r * np.log(min(max(m, eps), 1 - eps)) for r, m in zip(rho[b], mean))
    return total / len(rho)


def two_blobs(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(-2, 1, (n // 2, 2)), rng.normal(2, 1, (n // 2, 2))])
    y = np.repeat([0, 1], n // 2)
    perm = rng.permutation(n)
    return X[perm], y[perm]


def bags_of(y, m):
    bag = np.arange(len(y)) // m
    return bag, np.bincount(bag, y)


def four_bags(y):
    bag, k = bags_of(y, 4)
    return as_bag_proportions(bag, counts=k)


# ---------------------------------------------------------------------- input checks
def test_proportions_keyed_by_bag_id():
    b = as_bag_proportions(["x", "y", "x", "x"], pd.Series({"y": 1.0, "x": 0.25}))
    assert b.bag_ids.tolist() == ["y", "x"]
    assert b.codes.tolist() == [1, 0, 1, 1]
    assert b.sizes.tolist() == [1, 3]
    np.testing.assert_allclose(b.proportions, [[0.0, 1.0], [0.75, 0.25]])
    assert b.classes.tolist() == [0, 1]
    np.testing.assert_allclose(b.counts[:, 1], [1.0, 0.75])


def test_multiclass_frame_and_counts():
    frame = pd.DataFrame({"cat": [0.5, 0.0], "dog": [0.25, 1.0], "eel": [0.25, 0.0]},
                         index=[7, 9])
    b = as_bag_proportions([9, 7, 7, 7, 7], frame)
    assert b.classes.tolist() == ["cat", "dog", "eel"]
    assert b.codes.tolist() == [1, 0, 0, 0, 0]
    c = as_bag_proportions([9, 7, 7, 7, 7], counts=pd.DataFrame(
        {"cat": [2, 0], "dog": [1, 1], "eel": [1, 0]}, index=[7, 9]))
    np.testing.assert_allclose(c.proportions, b.proportions)


def test_binary_classes_and_rounding_tolerance():
    b = as_bag_proportions([0, 1], [[0.33334, 0.66667], [1.0, 0.0]], classes=["n", "p"])
    np.testing.assert_allclose(b.proportions.sum(axis=1), 1.0)
    assert b.classes.tolist() == ["n", "p"]


@pytest.mark.parametrize(
    ("bag_ids", "kwargs", "match"),
    [
        (["a", "b"], {"proportions": {"a": 1.5, "b": 0.0}},
         r"bag 'a' has proportion 1\.5.*outside \[0, 1\]"),
        ([0, 1], {"proportions": [0.5, -0.2]}, r"bag 1 has proportion -0\.2"),
        ([0, 1], {"proportions": [[0.5, 0.4], [1.0, 0.0]]}, r"bag 0 sums to 0\.9, not 1"),
        ([0, 0, 1], {"counts": [3, 1]}, r"counts: bag 0 has 3 positives but only 2 items"),
        ([0, 0, 1], {"counts": [1.5, 1]}, r"counts: bag 0 has a non-integer count"),
        ([0, 0, 1], {"counts": [-1, 1]}, r"counts: bag 0 has a negative count"),
        ([0, 0, 1], {"counts": [[1, 0], [1, 1]]}, r"bag 0 has counts summing to 1 but 2 items"),
        (["a", "a"], {"proportions": {"a": 0.5, "b": 0.5}}, r"bag 'b' has no items in bag_ids"),
        (["a", "c", "a"], {"proportions": {"a": 0.5}}, r"row 1 is in bag 'c', which has no entry"),
        ([0, 3], {"proportions": [0.5, 0.5]}, r"row 1 is in bag 3"),
        ([0, None], {"proportions": [0.5]}, r"row 1 has no bag id"),
        ([0, 1], {"proportions": [0.5, np.nan]}, r"bag 1 has a missing or non-finite value"),
        ([0, 1], {"proportions": [[0.5], [1.0]]}, r"has 1 column"),
        ([0, 1], {}, r"exactly one of proportions= and counts="),
        ([0, 1], {"proportions": [0.5, 0.5], "counts": [1, 1]}, r"exactly one of"),
        ([0, 1], {"proportions": [0.5, 0.5], "classes": ["a", "b", "c"]}, r"classes must list 2"),
        ([[0, 1]], {"proportions": [0.5, 0.5]}, r"bag_ids must be a non-empty 1-D array"),
        ([0, 1], {"proportions": pd.Series([0.5, 0.5], index=[0, 0])},
         r"bag 0 appears more than once"),
        ([0, 1], {"proportions": ["x", "y"]}, r"proportions must be numbers"),
    ],
)
def test_bad_bag_input(bag_ids, kwargs, match):
    with pytest.raises(InputError, match=match):
        as_bag_proportions(bag_ids, **kwargs)


def test_bag_ids_length_must_match_rows():
    with pytest.raises(InputError, match="X has 4 rows but there are 3 items"):
        DLLP().fit(as_bag_proportions([0, 0, 1], [0.5, 0.5]), X=np.zeros((4, 2)))


# ---------------------------------------------------------------------- DLLP loss
def test_dllp_loss_by_hand_and_against_a_loop():
    p = np.array([[0.8, 0.2], [0.2, 0.8], [0.5, 0.5]])
    # bag 0 mean (0.5, 0.5) against (0.5, 0.5): log 2; bag 1 mean 0.5 against 1: log 2
    assert dllp_loss(p, [0, 0, 1], [0.5, 1.0]) == pytest.approx(np.log(2))
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(3), size=12)
    bag = rng.integers(0, 4, 12)
    bag[:4] = np.arange(4)
    rho = rng.dirichlet(np.ones(3), size=4)
    assert dllp_loss(probs, bag, rho) == pytest.approx(naive_dllp(probs, bag, rho), rel=1e-12)


def test_dllp_loss_clamps_a_zero_mean():
    p = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert dllp_loss(p, [0, 0], [1.0], eps=1e-7) == pytest.approx(-np.log(1e-7))


def test_dllp_loss_matches_the_torch_loss():
    torch = pytest.importorskip("torch")
    from softlabels.train.nn.functional import dllp_loss as torch_dllp

    rng = np.random.default_rng(2)
    z = rng.normal(size=(10, 3))
    bag = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 0])
    rho = rng.dirichlet(np.ones(3), size=3)
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    expected = torch_dllp(torch.tensor(z), torch.tensor(bag), torch.tensor(rho)).item()
    assert dllp_loss(probs, bag, rho) == pytest.approx(expected, rel=1e-9)


def test_dllp_loss_rejects_a_class_mismatch():
    with pytest.raises(InputError, match="3 class columns but the bag proportions have 2"):
        dllp_loss(np.full((2, 3), 1 / 3), [0, 0], [0.5])


# ---------------------------------------------------------------------- projection
def test_projection_by_hand():
    s = proportion_pseudo_labels([[0.6, 0.4], [0.3, 0.7], [0.9, 0.1]], [0, 0, 1], [0.5, 0.0])
    # q_i1 = p_i1 w / (p_i0 + p_i1 w) with q_01 + q_11 = 1: w^2 = (0.6 * 0.3) / (0.4 * 0.7)
    w = np.sqrt(0.18 / 0.28)
    q0 = 0.4 * w / (0.6 + 0.4 * w)
    np.testing.assert_allclose(s.probs[:, 1], [q0, 1 - q0, 0.0], atol=1e-9)
    assert s.provenance["method"] == "proportion-projection" and s.provenance["converged"]


def test_projection_pure_bags_give_certain_labels():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=6)
    rho = [[0, 1, 0], [1, 0, 0]]
    s = proportion_pseudo_labels(probs, [0, 0, 0, 1, 1, 1], rho, classes=["a", "b", "c"])
    np.testing.assert_array_equal(s.probs, np.repeat(np.array(rho, float), 3, axis=0))
    assert s.hard().tolist() == ["b"] * 3 + ["a"] * 3


def test_projection_of_uniform_predictions_is_the_bag_prior():
    s = proportion_pseudo_labels(np.full((5, 2), 0.5), [0, 0, 1, 1, 1], [0.5, 2 / 3])
    np.testing.assert_allclose(s.probs[:, 1], [0.5, 0.5, 2 / 3, 2 / 3, 2 / 3], atol=1e-9)


def test_projection_keeps_item_ids_of_soft_labels():
    soft = SoftLabels([[0.5, 0.5], [0.2, 0.8]], ["n", "p"], item_ids=["u", "v"])
    s = proportion_pseudo_labels(soft, [0, 0], [0.5])
    assert s.item_ids.tolist() == ["u", "v"] and s.classes.tolist() == ["n", "p"]
    frame = pd.DataFrame({"a": [0.5], "b": [0.5]})
    assert proportion_pseudo_labels(soft, [0, 0], frame).classes.tolist() == ["a", "b"]


def test_soft_labels_are_matched_to_the_proportions_by_class_name():
    soft = SoftLabels([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], ["a", "b"])
    bag = ["x", "x", "y"]
    table = pd.DataFrame({"a": [0.5, 1.0], "b": [0.5, 0.0]}, index=["x", "y"])
    swapped = table[["b", "a"]]  # the same proportions, columns in the other order
    same = proportion_pseudo_labels(soft, bag, table)
    other = proportion_pseudo_labels(soft, bag, swapped)
    assert other.classes.tolist() == ["b", "a"]
    np.testing.assert_allclose(other.probs, same.probs[:, ::-1], atol=1e-12)
    fitted = ProportionProjection().fit(as_bag_proportions(bag, swapped), pred_probs=soft)
    np.testing.assert_allclose(fitted.soft_labels_.probs, other.probs, atol=1e-12)
    assert dllp_loss(soft, bag, swapped) == pytest.approx(dllp_loss(soft, bag, table))
    # one proportion per bag: the fraction of the second of the predictions' classes,
    # in the loss as in the projection
    flipped = SoftLabels(soft.probs, [1, 0])
    codes = [0, 0, 1]
    assert dllp_loss(flipped, codes, [0.5, 0.0]) == pytest.approx(
        dllp_loss(soft.probs, codes, [0.5, 0.0]))
    np.testing.assert_allclose(proportion_pseudo_labels(flipped, codes, [0.5, 0.0]).probs,
                               proportion_pseudo_labels(soft.probs, codes, [0.5, 0.0]).probs)
    with pytest.raises(InputError, match=r"pred_probs has classes \['a', 'b'\] but the bag"):
        proportion_pseudo_labels(soft, bag, table.rename(columns={"b": "c"}))


@settings(max_examples=40)
@given(seed=st.integers(0, 2**31 - 1), n_bags=st.integers(1, 5), n_classes=st.integers(2, 4))
def test_projection_matches_the_proportions(seed, n_bags, n_classes):
    rng = np.random.default_rng(seed)
    bag = np.concatenate([np.arange(n_bags), rng.integers(0, n_bags, 10)])
    probs = rng.dirichlet(np.ones(n_classes), size=bag.size)
    rho = rng.dirichlet(np.full(n_classes, 0.5), size=n_bags)
    q = proportion_pseudo_labels(probs, bag, rho, tol=1e-10).probs
    np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-12)
    means = np.array([q[bag == b].mean(axis=0) for b in range(n_bags)])
    np.testing.assert_allclose(means, rho, atol=1e-8)
    # the I-projection has the form q_ic ∝ p_ic w_bc: within a bag, log(q / p) differs
    # between items only by a per-item constant
    for b in range(n_bags):
        ratio = np.log(q[bag == b] / probs[bag == b])
        keep = np.isfinite(ratio).all(axis=0)
        centred = ratio[:, keep] - ratio[:, keep].mean(axis=1, keepdims=True)
        np.testing.assert_allclose(centred, centred[:1].repeat(len(centred), 0), atol=1e-6)


# ---------------------------------------------------------------------- gradients
@pytest.mark.parametrize("kind", ["dllp", "mse", "mse-unbounded", "soft-ce"])
def test_loss_gradients_match_finite_differences(kind):
    rng = np.random.default_rng(3)
    codes = np.array([0, 0, 1, 1, 1, 2])
    sizes = np.bincount(codes)
    if kind == "dllp":
        b = as_bag_proportions(codes, rng.dirichlet(np.ones(3), size=3))
        loss, width = dllp_module._dllp_objective(b), 3
    elif kind == "soft-ce":
        loss, width = _mlp.soft_cross_entropy(rng.dirichlet(np.ones(3), size=6)), 3
    else:
        rng_ = None if kind == "mse-unbounded" else (0.0, 2.0)
        loss, width = mil_module._bag_mse(codes, sizes, rng.uniform(0, 2, 3), rng_), 1
    z = rng.normal(size=(6, width))
    _, grad = loss(z)
    num = np.zeros_like(z)
    for idx in np.ndindex(*z.shape):
        step = np.zeros_like(z)
        step[idx] = 1e-6
        num[idx] = (loss(z + step)[0] - loss(z - step)[0]) / 2e-6
    np.testing.assert_allclose(grad, num, atol=1e-7)


def test_network_gradient_matches_finite_differences():
    from scipy.optimize import check_grad

    rng = np.random.default_rng(4)
    X = rng.normal(size=(15, 3))
    targets = rng.dirichlet(np.ones(2), size=15)
    net = _mlp.Net((4, 3), 2, 0.1, 1, 1e-6, rng)
    captured = {}
    real_minimize = _mlp.minimize

    def spy(fun, theta, **kwargs):
        captured["fun"], captured["theta"] = fun, theta
        return real_minimize(fun, theta, **kwargs)

    _mlp.minimize = spy
    try:
        net.fit(X, _mlp.soft_cross_entropy(targets))
    finally:
        _mlp.minimize = real_minimize
    fun = captured["fun"]
    err = check_grad(lambda t: fun(t)[0], lambda t: fun(t)[1], captured["theta"] + 0.1)
    assert err < 1e-5


# ---------------------------------------------------------------------- DLLP model
def test_dllp_with_singleton_bags_is_multinomial_logistic_regression():
    sklearn_lm = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(90, 3))
    X = (X - X.mean(0)) / X.std(0)
    y = np.argmax(X @ rng.normal(size=(3, 3)) + rng.normal(size=(90, 3)), axis=1)
    model = DLLP(alpha=1.0, tol=1e-10, max_iter=2000, random_state=0)
    model.fit(as_bag_proportions(np.arange(90), np.eye(3)[y]), X=X)
    ref = sklearn_lm.LogisticRegression(C=1.0, tol=1e-10, max_iter=5000).fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X), atol=1e-5)


def test_dllp_learns_from_bags():
    X, y = two_blobs(200, seed=1)
    bag, k = bags_of(y, 8)
    model = DLLP(random_state=0).fit(as_bag_proportions(bag, counts=k), X=X)
    assert model.converged_ and model.n_iter_ > 0
    assert (model.predict_proba(X).argmax(1) == y).mean() > 0.95
    # soft labels match the bag proportions exactly; raw predictions only roughly
    means = np.bincount(bag, model.soft_labels_.probs[:, 1]) / 8
    np.testing.assert_allclose(means, k / 8, atol=1e-8)
    raw = DLLP(match_proportions=False, random_state=0).fit(as_bag_proportions(bag, counts=k), X=X)
    np.testing.assert_allclose(raw.soft_labels_.probs, model.instance_probs_)
    uniform = np.full((200, 2), 0.5)
    assert dllp_loss(model.instance_probs_, bag, counts=k) < dllp_loss(uniform, bag, counts=k)


def test_dllp_multiclass_with_named_bags():
    rng = np.random.default_rng(6)
    centers = np.array([[0, 4], [4, 0], [-4, -4]])
    y = rng.integers(0, 3, 300)
    X = centers[y] + rng.normal(size=(300, 2))
    bag = np.array([f"b{i // 10}" for i in range(300)])
    counts = pd.crosstab(bag, y)
    counts.columns = ["r", "g", "b"]
    model = DLLP(random_state=0).fit(as_bag_proportions(bag, counts=counts), X=X)
    assert model.soft_labels_.classes.tolist() == ["r", "g", "b"]
    assert (model.soft_labels_.hard_codes() == y).mean() > 0.9
    assert (model.predict_proba(X).argmax(1) == y).mean() > 0.9


# ---------------------------------------------------------------------- kNN graph
def test_knn_graph_by_hand():
    X = [[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.0, 2.0]]
    edges, sims = knn_graph(X, n_neighbors=1)
    # normalised rows: 3 coincides with 2, so 2 and 3 are each other's neighbour
    assert edges.tolist() == [[0, 1], [2, 3]]
    gap = np.array([1.0, 0.0]) - np.array([1.0, 0.1]) / np.sqrt(1.01)
    np.testing.assert_allclose(sims, [np.exp(-np.linalg.norm(gap)), 1.0])
    raw_edges, raw_sims = knn_graph(X, n_neighbors=1, normalize=False)
    assert raw_edges.tolist() == [[0, 1], [2, 3]]
    np.testing.assert_allclose(raw_sims, [np.exp(-0.1), np.exp(-1.0)])
    # same direction but far apart: neighbours by angle, not by euclidean distance
    Y = [[1.0, 0.0], [10.0, 0.5], [0.1, 1.0]]
    assert knn_graph(Y, n_neighbors=1)[0].tolist() == [[0, 1], [1, 2]]
    eu, _ = knn_graph(Y, n_neighbors=1, metric="euclidean", normalize=False)
    assert eu.tolist() == [[0, 1], [0, 2]]


def test_knn_graph_neighbours_and_limits():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(30, 4))
    edges, sims = knn_graph(X, n_neighbors=3)
    assert (edges[:, 0] < edges[:, 1]).all()
    assert len({tuple(e) for e in edges.tolist()}) == len(edges)
    degree = np.bincount(edges.ravel(), minlength=30)
    assert degree.min() >= 3
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    cos = unit @ unit.T
    np.fill_diagonal(cos, -np.inf)
    nearest = np.argsort(-cos, axis=1)[:, :3]
    pairs = {tuple(sorted((i, int(j)))) for i in range(30) for j in nearest[i]}
    assert pairs == {tuple(e) for e in edges.tolist()}
    assert ((sims > 0) & (sims <= 1)).all()
    few, _ = knn_graph(X[:3], n_neighbors=10)
    assert few.tolist() == [[0, 1], [0, 2], [1, 2]]
    none, _ = knn_graph(X[:1])
    assert none.shape == (0, 2)
    near, _ = knn_graph(X, n_neighbors=3, max_distance=0.2)
    dist = 1 - cos[near[:, 0], near[:, 1]]
    assert (dist < 0.2).all() and len(near) < len(edges)


def test_knn_graph_duplicate_rows_skip_only_the_item_itself():
    X = np.array([[1.0, 1.0]] * 3 + [[1.0, -1.0]])
    edges, _ = knn_graph(X, n_neighbors=2)
    assert {(0, 1), (0, 2), (1, 2)} <= {tuple(e) for e in edges.tolist()}
    assert not (edges[:, 0] == edges[:, 1]).any()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n_neighbors": 0}, "'n_neighbors' parameter of knn_graph must be >= 1"),
     ({"metric": "cosin"}, "Did you mean 'cosine'"),
     ({"length_scale": 0.0}, "'length_scale' parameter of knn_graph must be > 0")],
)
def test_knn_graph_bad_parameters(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        knn_graph(np.ones((3, 2)), **kwargs)


# ---------------------------------------------------------------------- BP
@pytest.mark.parametrize("bag_factor", ["pairwise", "cardinality"])
def test_bp_is_exact_on_a_tree(bag_factor):
    # bags of two chained by similarity edges: 0-1 | 1-2 | 2-3 | 3-4 | 4-5, no loops
    edges, sims, bag, k = [[1, 2], [3, 4]], [0.7, 0.4], [0, 0, 1, 1, 2, 2], [1, 1, 2]
    s = bp_pseudo_labels(edges, sims, bag, counts=k, sim_lambda=1.5, bag_lambda=0.8,
                         bag_factor=bag_factor, fix_pure_bags=False, n_iter=500, tol=1e-13)
    exact = brute_force_marginals(6, edges, sims, bag, k, 1.5, 0.8)
    np.testing.assert_allclose(s.probs[:, 1], exact, atol=1e-10)
    assert s.provenance["converged"] and s.provenance["method"] == "llp-bp"


def test_cardinality_bp_is_exact_on_a_tree_of_bags_and_pairwise_is_close():
    # bags of three (cliques under the pairwise expansion) linked by a tree of edges
    edges, sims, bag, k = [[0, 3], [4, 6]], [0.9, 0.5], [0, 0, 0, 1, 1, 1, 2, 2], [1, 2, 1]
    exact = brute_force_marginals(8, edges, sims, bag, k, 2.0, 0.7)
    kw = dict(sim_lambda=2.0, bag_lambda=0.7, n_iter=2000, tol=1e-13, damping=0.3)
    card = bp_pseudo_labels(edges, sims, bag, counts=k, bag_factor="cardinality", **kw)
    np.testing.assert_allclose(card.probs[:, 1], exact, atol=1e-10)
    pair = bp_pseudo_labels(edges, sims, bag, counts=k, bag_factor="pairwise", **kw)
    err = np.abs(pair.probs[:, 1] - exact).max()
    assert 1e-4 < err < 0.02  # loopy: close, not exact


def test_bp_on_a_small_loopy_graph_is_close_to_exact():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(10, 3))
    edges, sims = knn_graph(X, n_neighbors=3)
    bag = np.repeat([0, 1, 2], [3, 3, 4])
    k = [1, 2, 2]
    exact = brute_force_marginals(10, edges, sims, bag, k, 0.5, 0.5)
    for factor in ("pairwise", "cardinality"):
        p = bp_pseudo_labels(edges, sims, bag, counts=k, sim_lambda=0.5, bag_lambda=0.5,
                             bag_factor=factor, n_iter=2000, tol=1e-12).probs[:, 1]
        assert np.abs(p - exact).max() < 0.05
        assert np.corrcoef(p, exact)[0, 1] > 0.95


def test_bp_with_fractional_counts_uses_proportion_times_size():
    edges, sims, bag = [[0, 2]], [1.0], [0, 0, 1, 1, 1, 1]
    s = bp_pseudo_labels(edges, sims, bag, [0.5, 0.25], sim_lambda=1.0, bag_lambda=1.0,
                         bag_factor="cardinality", n_iter=1000, tol=1e-13)
    exact = brute_force_marginals(6, edges, sims, bag, [1, 1], 1.0, 1.0)
    np.testing.assert_allclose(s.probs[:, 1], exact, atol=1e-10)


@pytest.mark.parametrize("bag_factor", ["pairwise", "cardinality"])
def test_pure_bags_are_conditioned_on(bag_factor):
    # bag 0 all negative, bag 2 all positive; bag 1 mixed and linked to both
    edges, sims, bag, k = [[0, 2], [3, 5], [1, 3]], [0.8, 0.6, 0.3], [0, 0, 1, 1, 2, 2], [0, 1, 2]
    s = bp_pseudo_labels(edges, sims, bag, counts=k, sim_lambda=1.0, bag_lambda=0.5,
                         bag_factor=bag_factor, n_iter=1000, tol=1e-13)
    fixed = {0: 0, 1: 0, 4: 1, 5: 1}
    exact = brute_force_marginals(6, edges, sims, bag, k, 1.0, 0.5, fixed=fixed)
    np.testing.assert_allclose(s.probs[:, 1], exact, atol=1e-10)
    assert s.probs[[0, 1], 1].tolist() == [0.0, 0.0]
    assert s.probs[[4, 5], 1].tolist() == [1.0, 1.0]
    # without conditioning the defaults make them only nearly certain
    loose = bp_pseudo_labels(edges, sims, bag, counts=k, fix_pure_bags=False)
    assert 0 < loose.probs[0, 1] < 1e-3 and 1 - 1e-3 < loose.probs[5, 1] < 1


def test_bp_of_a_pure_sample_needs_no_iterations():
    s = bp_pseudo_labels([[0, 1]], [1.0], [0, 0, 1], counts=[2, 0])
    assert s.probs[:, 1].tolist() == [1.0, 1.0, 0.0]
    assert s.provenance["n_iter"] == 0


def test_bp_reports_non_convergence():
    X, y = two_blobs(64)
    bag, k = bags_of(y, 32)
    edges, sims = knn_graph(X)
    with pytest.warns(ConvergenceWarning, match="did not converge in 3 iterations"):
        s = bp_pseudo_labels(edges, sims, bag, counts=k, n_iter=3)
    assert s.provenance["converged"] is False and s.provenance["n_iter"] == 3


def test_edges_limited_by_bag_count():
    edges, sims, bag = [[0, 2], [1, 3]], [1.0, 1.0], [0, 0, 1, 1, 2, 2]
    k = [1, 2, 1]
    with_cap = bp_pseudo_labels(edges, sims, bag, counts=k, max_bag_count_for_edges=0,
                                fix_pure_bags=False, sim_lambda=1, bag_lambda=1, n_iter=500,
                                tol=1e-12)
    no_edges = bp_pseudo_labels(np.empty((0, 2), int), [], bag, counts=k, fix_pure_bags=False,
                                sim_lambda=1, bag_lambda=1, n_iter=500, tol=1e-12)
    np.testing.assert_allclose(with_cap.probs, no_edges.probs)


@pytest.mark.parametrize(
    ("edges", "sims", "match"),
    [([[0, 5]], [1.0], r"edges: row 0 \(\[0, 5\]\) names an item outside 0\.\.2"),
     ([[1, 1]], [1.0], "joins item 1 to itself"),
     ([[0, 1]], [-1.0], "edge 0 has weight -1.0"),
     ([[0, 1]], [1.0, 2.0], r"sims must have shape \(1,\)"),
     ([0.5, 1.0], [1.0], "edges must be an integer array of shape")],
)
def test_bp_bad_graph(edges, sims, match):
    with pytest.raises(InputError, match=match):
        bp_pseudo_labels(edges, sims, [0, 0, 1], [0.5, 1.0])


def test_bp_is_binary_only():
    with pytest.raises(InputError, match="bp_pseudo_labels is for binary labels; .* 3 classes"):
        bp_pseudo_labels([[0, 1]], [1.0], [0, 0], [[0.5, 0.25, 0.25]])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"damping": 1.0}, "'damping' parameter of bp_pseudo_labels must be <= 0.999"),
     ({"bag_factor": "cardinal"}, "Did you mean 'cardinality'"),
     ({"n_iter": 0}, "'n_iter' parameter of bp_pseudo_labels must be >= 1")],
)
def test_bp_bad_parameters(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        bp_pseudo_labels([[0, 1]], [1.0], [0, 0], [0.5], **kwargs)


# ---------------------------------------------------------------------- LLP-BP model
def test_llpbp_recovers_two_blobs_and_records_rounds():
    X, y = two_blobs(96)
    bag, k = bags_of(y, 8)
    model = LLPBP(random_state=0).fit(as_bag_proportions(bag, counts=k), X=X,
                                      item_ids=[f"i{i}" for i in range(96)])
    assert len(model.pseudo_labels_) == 2 and len(model.graphs_) == 2
    assert ((model.soft_labels_.probs[:, 1] > 0.5) == y).mean() > 0.95
    assert (model.predict_proba(X).argmax(1) == y).mean() > 0.95
    assert model.soft_labels_.item_ids[0] == "i0"
    edges, sims = model.graphs_[0]
    ref_edges, ref_sims = knn_graph(X)
    np.testing.assert_array_equal(edges, ref_edges)
    np.testing.assert_allclose(sims, ref_sims)
    assert isinstance(model.n_iter_, int) and isinstance(model.converged_, bool)


def test_llpbp_with_a_scikit_learn_estimator():
    lm = pytest.importorskip("sklearn.linear_model")
    X, y = two_blobs(96, seed=2)
    bag, k = bags_of(y, 8)
    bags = as_bag_proportions(bag, counts=k)
    model = LLPBP(estimator=lm.LogisticRegression(), n_rounds=1).fit(bags, X=X)
    assert (model.predict_proba(X).argmax(1) == y).mean() > 0.95
    soft = LLPBP(estimator=lm.LogisticRegression(), n_rounds=1, threshold=None)
    soft.fit(as_bag_proportions(bag, counts=k), X=X)
    assert (soft.predict_proba(X).argmax(1) == y).mean() > 0.95
    def margin(est, Z):  # a 2-D covariate from the fitted learner
        return np.column_stack([est.decision_function(Z), np.ones(len(Z))])

    emb = LLPBP(estimator=lm.LogisticRegression(), embedding=margin)
    assert len(emb.fit(as_bag_proportions(bag, counts=k), X=X).pseudo_labels_) == 2
    with pytest.raises(InvalidParameterError, match="LogisticRegression has no transform"):
        LLPBP(estimator=lm.LogisticRegression()).fit(as_bag_proportions(bag, counts=k), X=X)


def test_llpbp_learner_sees_one_class_only():
    lm = pytest.importorskip("sklearn.linear_model")
    X, y = two_blobs(16)
    model = LLPBP(estimator=lm.LogisticRegression(), n_rounds=1)
    with pytest.raises(ValueError):  # scikit-learn refuses one class; the built-in does not
        model.fit(as_bag_proportions(np.zeros(16, int), [0.0]), X=X)
    only = LLPBP(n_rounds=1, random_state=0).fit(as_bag_proportions(np.zeros(16, int), [0.0]), X=X)
    assert (only.soft_labels_.probs[:, 1] == 0).all()
    assert (only.predict_proba(X)[:, 1] < 0.5).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n_rounds": 0}, "'n_rounds' parameter of LLPBP must be >= 1"),
     ({"threshold": 1.5}, "'threshold' parameter of LLPBP must be <= 1.0"),
     ({"estimator": object()}, "must have fit\\(\\) and predict_proba\\(\\)"),
     ({"embedding": 3}, "'embedding' parameter of LLPBP must be callable"),
     ({"hidden_layer_sizes": (0,)}, "tuple of positive ints"),
     ({"learner_tol": -1.0}, "'learner_tol' parameter of LLPBP must be >= 0")],
)
def test_llpbp_bad_parameters(kwargs, match):
    X, y = two_blobs(16)
    with pytest.raises(InvalidParameterError, match=match):
        LLPBP(**kwargs).fit(four_bags(y), X=X)


def test_llpbp_rejects_multiclass_and_wrong_widths():
    X, y = two_blobs(16)
    with pytest.raises(InputError, match="LLPBP is for binary labels"):
        LLPBP().fit(as_bag_proportions(np.zeros(16, int), [[0.2, 0.3, 0.5]]), X=X)
    model = LLPBP(n_rounds=1, random_state=0).fit(four_bags(y), X=X)
    with pytest.raises(InputError, match="X has 3 features but the model was fitted on 2"):
        model.predict_proba(np.ones((2, 3)))


# ---------------------------------------------------------------------- MIL regression
def test_mil_regression_recovers_instance_scores():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(1200, 4))
    truth = 1 / (1 + np.exp(-(2 * X[:, 0] - X[:, 1])))
    bag = rng.permutation(np.arange(1200) // 12)
    scores = pd.Series(np.bincount(bag, truth) / 12, index=np.arange(100))
    model = MILRegressor(random_state=0).fit(as_bag_scores(bag, scores), X=X)
    assert np.corrcoef(model.instance_scores_, truth)[0, 1] > 0.9
    np.testing.assert_allclose(model.bag_predictions_,
                               np.bincount(bag, model.instance_scores_) / 12)
    assert np.abs(model.bag_predictions_ - scores.to_numpy()).max() < 0.05
    np.testing.assert_allclose(model.predict(X), model.instance_scores_)
    np.testing.assert_allclose(model.soft_labels_.probs[:, 1], model.instance_scores_)
    # the naive answer (every instance gets its bag's score) is far worse
    assert np.corrcoef(scores.to_numpy()[bag], truth)[0, 1] < 0.5


def test_mil_regression_on_another_scale_and_unbounded():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(600, 2))
    truth = 3 * X[:, 0] + 1
    bag = np.arange(600) // 6
    unbounded = MILRegressor(hidden_layer_sizes=(), alpha=0.0, score_range=None, random_state=0)
    unbounded.fit(as_bag_scores(bag, np.bincount(bag, truth) / 6), X=X)
    np.testing.assert_allclose(unbounded.instance_scores_, truth, atol=1e-3)
    assert unbounded.soft_labels_ is None
    pct = 100 / (1 + np.exp(-X[:, 0]))
    model = MILRegressor(score_range=(0, 100), random_state=0)
    model.fit(as_bag_scores(bag, np.bincount(bag, pct) / 6), X=X)
    assert model.soft_labels_.classes.tolist() == [0.0, 100.0]
    np.testing.assert_allclose(model.soft_labels_.probs @ [0.0, 100.0], model.instance_scores_)


@pytest.mark.parametrize(
    ("scores", "match"),
    [({"a": 0.5, "b": 1.2}, r"bag 'b' has score 1\.2, outside score_range \[0, 1\]"),
     ({"a": 0.5}, "row 2 is in bag 'b', which has no entry in bag_scores"),
     ({"a": 0.5, "b": 0.5, "c": 0.1}, "bag 'c' has no items"),
     ({"a": [0.5, 0.5], "b": [0.5, 0.5]}, "one number per bag")],
)
def test_mil_regression_bad_scores(scores, match):
    with pytest.raises(InputError, match=match):
        MILRegressor().fit(as_bag_scores(["a", "a", "b"], scores), X=np.ones((3, 2)))


def test_mil_regression_bad_range():
    with pytest.raises(InvalidParameterError, match="needs low < high"):
        MILRegressor(score_range=(1, 0)).fit(as_bag_scores([0, 1], [0.5, 0.5]), X=np.ones((2, 1)))
    with pytest.raises(InvalidParameterError, match=r"must be \(low, high\) or None"):
        MILRegressor(score_range=1.0).fit(as_bag_scores([0, 1], [0.5, 0.5]), X=np.ones((2, 1)))


# ---------------------------------------------------------------------- shared contract
def _fit(name, seed=0, order=None, table_order=None):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(48, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=48) > 0).astype(int)
    bag = np.arange(48) // 6
    if order is None:
        order = np.arange(48)
    if table_order is None:  # the rows of the per-bag table (a Series keyed by bag id)
        table_order = np.arange(8)
    X, y, bag = X[order], y[order], bag[order]
    props = pd.Series(np.bincount(bag, y) / np.bincount(bag)).iloc[table_order]
    if name == "dllp":
        model = DLLP(hidden_layer_sizes=(5,), random_state=seed)
        return model.fit(as_bag_proportions(bag, props), X=X)
    if name == "llp-bp":
        model = LLPBP(hidden_layer_sizes=(5,), max_iter=50, random_state=seed)
        return model.fit(as_bag_proportions(bag, props), X=X)
    truth = 1 / (1 + np.exp(-X[:, 0]))
    scores = pd.Series(np.bincount(bag, truth) / 6).iloc[table_order]
    model = MILRegressor(hidden_layer_sizes=(5,), max_iter=100, random_state=seed)
    return model.fit(as_bag_scores(bag, scores), X=X)


NAMES = ["dllp", "llp-bp", "mil-regression"]
CLASSES = {"dllp": DLLP, "llp-bp": LLPBP, "mil-regression": MILRegressor}


@pytest.mark.parametrize("name", NAMES)
def test_contract_distributions_and_provenance(name):
    model = _fit(name)
    s = model.soft_labels_
    assert s.probs.shape == (48, 2) and not np.isnan(s.probs).any()
    np.testing.assert_allclose(s.probs.sum(axis=1), 1.0, atol=1e-12)
    assert s.provenance["method"] == name == type(model).name
    assert s.provenance["params"] == json.loads(json.dumps(model.get_params()))
    assert isinstance(model.n_iter_, int) and isinstance(model.converged_, bool)


@pytest.mark.parametrize("name", NAMES)
def test_contract_seeded_and_row_order_invariant(name):
    a, b = _fit(name, seed=3), _fit(name, seed=3)
    np.testing.assert_array_equal(a.soft_labels_.probs, b.soft_labels_.probs)
    other = _fit(name, seed=4)
    assert not np.array_equal(a.soft_labels_.probs, other.soft_labels_.probs)
    perm = np.random.default_rng(0).permutation(48)
    c = _fit(name, seed=3, order=perm)
    np.testing.assert_allclose(c.soft_labels_.probs, a.soft_labels_.probs[perm], atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_contract_bag_table_order_invariant(name):
    # the same bags listed in another order in the table of proportions or scores
    a = _fit(name, seed=3)
    for table_order in ([7, 6, 5, 4, 3, 2, 1, 0], [3, 0, 6, 1, 7, 2, 5, 4]):
        b = _fit(name, seed=3, table_order=table_order)
        np.testing.assert_allclose(b.soft_labels_.probs, a.soft_labels_.probs, atol=1e-8)


def test_tuple_bag_ids_in_a_list():
    # "any hashable ids": a list of tuples is one id per item, as the keys of the table
    ids = [("s1", 1), ("s1", 1), ("s2", 0)]
    b = as_bag_proportions(ids, {("s2", 0): 1.0, ("s1", 1): 0.5})
    assert b.codes.tolist() == [1, 1, 0] and b.sizes.tolist() == [1, 2]
    s = as_bag_scores(ids, pd.Series([0.5, 1.0], index=pd.MultiIndex.from_tuples(
        [("s1", 1), ("s2", 0)])))
    assert s.codes.tolist() == [0, 0, 1]
    assert as_set_labels(ids, {("s1", 1): "a", ("s2", 0): "b"}).labels.tolist() == [0, 1]


def test_in_id_order_sorts_the_table_and_keeps_each_items_bag():
    ids = np.array(["c", "a", "b", "c"])
    for table in ({"c": 0.5, "a": 1.0, "b": 0.0}, {"b": 0.0, "c": 0.5, "a": 1.0}):
        o = as_bag_proportions(ids, table).in_id_order()
        assert o.bag_ids.tolist() == ["a", "b", "c"] and o.sizes.tolist() == [1, 1, 2]
        assert o.codes.tolist() == [2, 0, 1, 2]
        assert o.proportions[:, 1].tolist() == [1.0, 0.0, 0.5]
    s = as_bag_scores(ids, {"b": 2.0, "c": 3.0, "a": 1.0}).in_id_order()
    assert s.bag_ids.tolist() == ["a", "b", "c"] and s.scores[s.codes].tolist() == [3, 1, 2, 3]
    # ids that do not compare: by type name, then text, whatever the table's order
    mixed = np.array(["a", 1, "a", 2.5], dtype=object)
    for table in ({"a": 0.5, 1: 1.0, 2.5: 0.0}, {2.5: 0.0, "a": 0.5, 1: 1.0}):
        o = as_bag_proportions(mixed, table).in_id_order()
        assert o.bag_ids.tolist() == [2.5, 1, "a"] and o.codes.tolist() == [2, 1, 2, 0]


@pytest.mark.parametrize("name", NAMES)
def test_contract_estimator_protocol(name):
    cls = CLASSES[name]
    model = cls()
    import inspect

    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        assert p.kind is p.KEYWORD_ONLY, p.name
    assert clone(model).get_params() == model.get_params()
    assert not hasattr(model, "soft_labels_")
    with pytest.raises(InvalidParameterError, match="has no parameter 'bogus'"):
        model.set_params(bogus=1)


def test_inputs_are_not_mutated():
    X, y = two_blobs(48)
    bag, k = bags_of(y, 6)
    before = (X.copy(), bag.copy(), k.copy())
    LLPBP(n_rounds=1, random_state=0).fit(as_bag_proportions(bag, counts=k), X=X)
    DLLP(random_state=0).fit(as_bag_proportions(bag, counts=k), X=X)
    for a, b in zip(before, (X, bag, k)):
        np.testing.assert_array_equal(a, b)


def test_predict_before_fit():
    with pytest.raises(AttributeError, match="not fitted yet"):
        DLLP().predict_proba(np.ones((2, 2)))


# ---------------------------------------------------------------------- evidence
@pytest.fixture(scope="module")
def breast_cancer():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y))
    train, test = idx[:400], idx[400:]
    mean, std = X[train].mean(0), X[train].std(0)
    return (X[train] - mean) / std, y[train], (X[test] - mean) / std, y[test]


def test_llpbp_is_close_to_supervised_on_breast_cancer_bags_of_8(breast_cancer):
    """Bags of 8, only counts given, official defaults: BP pseudo-labels beat the bag
    prior by far and the final classifier is within a few points of the same learner
    trained on the true labels (bags of one)."""
    Xtr, ytr, Xte, yte = breast_cancer
    bag, k = bags_of(ytr, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LLPBP(random_state=0).fit(as_bag_proportions(bag, counts=k), X=Xtr)
        supervised = LLPBP(random_state=0).fit(as_bag_proportions(np.arange(400), counts=ytr),
                                               X=Xtr)
    pseudo = model.pseudo_labels_[0]
    prior = (k / 8)[bag]
    assert ((pseudo > 0.5) == ytr).mean() > 0.93
    assert ((prior > 0.5) == ytr).mean() < 0.85
    acc = (model.predict_proba(Xte).argmax(1) == yte).mean()
    ref = (supervised.predict_proba(Xte).argmax(1) == yte).mean()
    assert ref > 0.95 and acc > ref - 0.04


def test_bags_of_32_official_settings_fail_and_the_cardinality_factor_often_helps(
        breast_cancer):
    """Bags of 32, eight shuffles of the training items: with the official pairwise
    settings loopy BP oscillates (and says so) and its pseudo-labels are near chance; the
    exact cardinality factor always converges and is right on most shuffles, but can
    settle in a poor fixed point."""
    Xtr, ytr, _, _ = breast_cancer
    pairwise, card = [], []
    for seed in range(8):
        keep = np.random.default_rng(seed).permutation(400)[:384]
        X, y = Xtr[keep], ytr[keep]
        bag, k = bags_of(y, 32)
        edges, sims = knn_graph(X)
        with pytest.warns(ConvergenceWarning):
            p = bp_pseudo_labels(edges, sims, bag, counts=k).probs[:, 1]
        pairwise.append(((p > 0.5) == y).mean())
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            p = bp_pseudo_labels(edges, sims, bag, counts=k, bag_factor="cardinality",
                                 sim_lambda=1.0, n_iter=300).probs[:, 1]
        card.append(((p > 0.5) == y).mean())
    assert max(pairwise) < 0.6
    assert sum(a > 0.9 for a in card) >= 4 and min(card) < 0.9


def test_dllp_is_close_to_supervised_on_breast_cancer_bags_of_8(breast_cancer):
    Xtr, ytr, Xte, yte = breast_cancer
    bag, k = bags_of(ytr, 8)
    model = DLLP(random_state=0).fit(as_bag_proportions(bag, counts=k), X=Xtr)
    supervised = DLLP(random_state=0).fit(as_bag_proportions(np.arange(400), counts=ytr), X=Xtr)
    acc = (model.predict_proba(Xte).argmax(1) == yte).mean()
    ref = (supervised.predict_proba(Xte).argmax(1) == yte).mean()
    assert ref > 0.95 and acc > ref - 0.04


# ---------------------------------------------------------------------- module
def test_docstring_examples():
    import importlib

    attempted = 0
    for name in ("evidence", "proportions", "dllp", "belief_propagation", "llp_bp", "mil"):
        module = importlib.import_module(f"softlabels.infer.bags.{name}")
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, name
        attempted += result.attempted
    assert attempted > 20


def test_import_stays_light():
    code = ("import sys, softlabels.infer.bags; "
            "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------- source contract
def test_proportion_projection_estimator_matches_the_function():
    rng = np.random.default_rng(21)
    probs = rng.dirichlet(np.ones(3), size=30)
    bag = np.arange(30) // 5
    props = rng.dirichlet(np.ones(3), size=6)
    props[0] = [0.0, 0.4, 0.6]  # a class absent from a bag
    expected = proportion_pseudo_labels(probs, bag, props, n_iter=50, tol=1e-10)
    model = ProportionProjection(n_iter=50, tol=1e-10).fit(as_bag_proportions(bag, props),
                                                            pred_probs=probs)
    np.testing.assert_array_equal(model.soft_labels_.probs, expected.probs)
    assert model.soft_labels_.provenance == expected.provenance
    assert model.soft_labels_.provenance["method"] == "proportion-projection"
    assert model.n_iter_ == expected.provenance["n_iter"] and model.converged_
    np.testing.assert_allclose(
        np.stack([model.soft_labels_.probs[bag == b].mean(0) for b in range(6)]), props,
        atol=1e-9)
    assert (model.soft_labels_.probs[bag == 0, 0] == 0).all()


def test_proportion_projection_takes_soft_labels_and_checks_its_input():
    probs = SoftLabels([[0.6, 0.4], [0.3, 0.7], [0.9, 0.1]], ["no", "yes"], ["a", "b", "c"])
    bags = as_bag_proportions([0, 0, 1], [0.5, 0.0], classes=["no", "yes"])
    model = ProportionProjection().fit(bags, pred_probs=probs)
    assert model.soft_labels_.item_ids.tolist() == ["a", "b", "c"]
    assert model.soft_labels_.probs.round(3).tolist() == [[0.652, 0.348], [0.348, 0.652],
                                                          [1.0, 0.0]]
    with pytest.raises(InputError, match="pred_probs has 2 rows but the bags hold 3 items"):
        ProportionProjection().fit(bags, pred_probs=[[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(InputError, match="pred_probs has 3 class columns"):
        ProportionProjection().fit(bags, pred_probs=np.full((3, 3), 1 / 3))
    with pytest.raises(InvalidParameterError, match="'n_iter' parameter of ProportionProjection"):
        ProportionProjection(n_iter=0).fit(bags, pred_probs=probs)


def test_bag_scores_container():
    s = as_bag_scores(["x", "y", "x", "x"], pd.Series({"y": 2.5, "x": -1.0}))
    assert s.codes.tolist() == [1, 0, 1, 1] and s.bag_ids.tolist() == ["y", "x"]
    assert s.sizes.tolist() == [1, 3] and s.scores.tolist() == [2.5, -1.0]
    assert (s.n_items, s.n_bags) == (4, 2)
    with pytest.raises(InputError, match="bag_scores: bag 1 has a missing or non-finite value"):
        as_bag_scores([0, 1], [0.5, np.nan])


SOURCE_CLASSES = {
    "dllp": (DLLP, "bag-proportions"),
    "llp-bp": (LLPBP, "bag-proportions"),
    "proportion-projection": (ProportionProjection, "bag-proportions"),
    "mil-regression": (MILRegressor, "bag-scores"),
}


@pytest.mark.parametrize("name", sorted(SOURCE_CLASSES))
def test_sources_declare_name_evidence_and_fit_signature(name):
    import inspect

    cls, evidence = SOURCE_CLASSES[name]
    assert cls.name == name and cls.evidence == evidence
    params = list(inspect.signature(cls.fit).parameters.values())[1:]
    assert params[0].kind is params[0].POSITIONAL_ONLY
    assert all(p.kind is p.KEYWORD_ONLY for p in params[1:])
    assert set(cls._parameter_constraints) == set(cls._param_names())


@pytest.mark.parametrize("cls", [DLLP, LLPBP, MILRegressor])
def test_fit_names_the_evidence_it_needs(cls):
    X = np.ones((3, 2))
    wrong = as_bag_proportions([0, 0, 1], [0.5, 1.0]) if cls is MILRegressor else \
        as_bag_scores([0, 0, 1], [0.5, 1.0])
    make = "as_bag_scores" if cls is MILRegressor else "as_bag_proportions"
    with pytest.raises(InputError, match=f"{cls.__name__}.fit takes .* with {make}"):
        cls().fit(wrong, X=X)
    with pytest.raises(InputError, match=f"{cls.__name__}.fit takes"):
        cls().fit(X, X=X)


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [(DLLP, {"match_proportions": 1}, "'match_proportions' parameter of DLLP must be True"),
     (DLLP, {"alpha": -1.0}, "'alpha' parameter of DLLP must be >= 0"),
     (DLLP, {"random_state": -1}, "'random_state' parameter of DLLP"),
     (LLPBP, {"metric": "cosin"}, "Did you mean 'cosine'"),
     (LLPBP, {"damping": 1.0}, "'damping' parameter of LLPBP must be <= 0.999"),
     (LLPBP, {"bag_factor": "pair"}, "'bag_factor' parameter of LLPBP must be one of"),
     (LLPBP, {"max_bag_count_for_edges": -1}, "'max_bag_count_for_edges' parameter"),
     (MILRegressor, {"max_iter": 0}, "'max_iter' parameter of MILRegressor must be >= 1"),
     (MILRegressor, {"hidden_layer_sizes": (4, -1)}, "tuple of positive ints")],
)
def test_parameters_are_checked_by_the_one_hook(cls, kwargs, match):
    model = cls(**kwargs)
    with pytest.raises(InvalidParameterError, match=match):
        model._validate_params()
    evidence = as_bag_scores([0, 1], [0.5, 0.5]) if cls is MILRegressor else \
        as_bag_proportions([0, 1], [0.5, 0.5])
    with pytest.raises(InvalidParameterError, match=match):
        model.fit(evidence, X=np.ones((2, 1)))


def test_proportion_projection_names_its_evidence():
    with pytest.raises(InputError, match="takes BagProportions .* predictions go in pred_probs="):
        ProportionProjection().fit(np.full((3, 2), 0.5), pred_probs=np.full((3, 2), 0.5))
