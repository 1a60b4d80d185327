"""Partial supervision: candidate sets, complementary labels, positive-unlabeled data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

from softlabels import InputError, InvalidParameterError, SoftLabels
from softlabels.infer.partial import (
    anchor_transition,
    empirical_transition,
    from_candidate_sets,
    from_complementary,
    from_positive_unlabeled,
    uniform_transition,
)


# ---------------------------------------------------------------------- candidate sets
def test_candidate_sets_by_hand():
    cand = [[1, 1, 0], [0, 1, 1], [0, 0, 1]]
    s = from_candidate_sets(cand)
    np.testing.assert_allclose(s.probs, [[0.5, 0.5, 0], [0, 0.5, 0.5], [0, 0, 1]])
    assert s.support.tolist() == [2, 2, 1]
    assert s.provenance["method"] == "candidate-sets"
    assert s.provenance["params"] == {"weights": "uniform"}
    p = from_candidate_sets(cand, prior=[2, 1, 1], classes=["a", "b", "c"], item_ids=[7, 8, 9])
    np.testing.assert_allclose(p.probs, [[2 / 3, 1 / 3, 0], [0, 0.5, 0.5], [0, 0, 1]])
    assert p.classes.tolist() == ["a", "b", "c"] and p.item_ids.tolist() == [7, 8, 9]
    pred = np.array([[0.2, 0.6, 0.2], [0.9, 0.0, 0.1], [0.5, 0.5, 0.0]])
    q = from_candidate_sets(cand, pred_probs=pred).probs
    # row 2: the model gives no weight to the only candidate -> uniform over candidates
    np.testing.assert_allclose(q, [[0.25, 0.75, 0], [0, 0, 1], [0, 0, 1]])


def test_softlabels_predictions_are_matched_to_the_classes_by_name():
    pred = SoftLabels([[0.2, 0.3, 0.5]], ["c", "b", "a"])
    # classes named in another order: the prediction of each class is found by its name
    s = from_candidate_sets([[1, 1, 0]], pred_probs=pred, classes=["a", "b", "c"])
    np.testing.assert_allclose(s.probs, [[0.625, 0.375, 0.0]])
    c = from_complementary([2], pred_probs=pred, classes=["a", "b", "c"])
    np.testing.assert_allclose(c.probs, [[0.625, 0.375, 0.0]])
    # no classes given: the predictions' own
    assert from_candidate_sets([[0, 1, 1]], pred_probs=pred).classes.tolist() == ["c", "b", "a"]
    assert from_complementary([0], pred_probs=pred).classes.tolist() == ["c", "b", "a"]
    with pytest.raises(InputError, match=r"pred_probs has classes \['c', 'b', 'a'\] but"):
        from_candidate_sets([[1, 1, 0]], pred_probs=pred, classes=["a", "b", "d"])
    # no class name in common: the columns are taken in order, under the names given
    named = from_candidate_sets([[1, 1, 0]], pred_probs=pred, classes=["x", "y", "z"])
    np.testing.assert_allclose(named.probs, [[0.4, 0.6, 0.0]])
    assert named.classes.tolist() == ["x", "y", "z"]


@given(
    data=st.data(),
    n=st.integers(1, 30),
    k=st.integers(2, 6),
)
def test_candidate_posterior_matches_bayes_rule(data, n, k):
    seed = data.draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    cand = rng.random((n, k)) < 0.5
    cand[np.arange(n), rng.integers(0, k, n)] = True
    pred = rng.dirichlet(np.ones(k), size=n)
    s = from_candidate_sets(cand, pred_probs=pred)
    for i in range(n):  # naive per item
        w = [pred[i, j] if cand[i, j] else 0.0 for j in range(k)]
        np.testing.assert_allclose(s.probs[i], np.array(w) / sum(w), rtol=1e-12)
    perm = rng.permutation(n)
    np.testing.assert_array_equal(
        from_candidate_sets(cand[perm], pred_probs=pred[perm]).probs, s.probs[perm]
    )


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"candidates": [[1, 0], [0, 0]]}, InputError, "row 1 has no candidate class"),
        ({"candidates": [[1, 2], [0, 1]]}, InputError, "only 0 and 1; row 0, column 1"),
        ({"candidates": [1, 0]}, InputError, "2-D"),
        ({"candidates": [[1, 0]], "prior": [1, 1], "pred_probs": [[0.5, 0.5]]},
         InvalidParameterError, "prior or pred_probs, not both"),
        ({"candidates": [[1, 0]], "pred_probs": [[0.5, 0.5], [0.5, 0.5]]}, InputError,
         "2 rows but there are 1 items"),
        ({"candidates": [[1, 0]], "prior": [1, -1]}, InvalidParameterError, "non-negative"),
        ({"candidates": [[1, 0]], "prior": [1, 1, 1]}, InvalidParameterError,
         "one value per class"),
    ],
)
def test_candidate_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        from_candidate_sets(**kwargs)


# ---------------------------------------------------------------------- complementary
def test_complementary_by_hand():
    s = from_complementary([0, 2, 1], 3)
    np.testing.assert_allclose(s.probs, [[0, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5]])
    assert s.provenance["method"] == "complementary"
    assert s.provenance["params"] == {"transition": "uniform", "weights": "uniform"}
    multi = from_complementary([[0, 1], [2, -1], [-1, -1]], 3, prior=[0.2, 0.2, 0.6])
    np.testing.assert_allclose(multi.probs, [[0, 0, 1], [0.5, 0.5, 0], [0.2, 0.2, 0.6]])
    assert multi.support.tolist() == [2, 1, 0]
    assert from_complementary([1], classes=["x", "y", "z"]).classes.tolist() == ["x", "y", "z"]
    assert from_complementary([1], pred_probs=[[0.2, 0.3, 0.5]]).probs.round(3).tolist() == [
        [0.286, 0.0, 0.714]
    ]


def test_noisy_transition_keeps_the_named_class_possible():
    q = 0.9 * uniform_transition(3) + 0.1 / 3
    s = from_complementary([0], transition=q)
    # P(y | ybar=0) ∝ Q[y, 0]: 1/30, 0.45 + 1/30, 0.45 + 1/30
    expected = np.array([0.1 / 3, 0.45 + 0.1 / 3, 0.45 + 0.1 / 3])
    np.testing.assert_allclose(s.probs[0], expected / expected.sum())
    np.testing.assert_allclose(s.provenance["params"]["transition_matrix"], q)


@given(data=st.data(), n=st.integers(1, 20), k=st.integers(2, 6), m=st.integers(1, 4))
def test_complementary_matches_a_naive_posterior(data, n, k, m):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    q = rng.dirichlet(np.ones(k), size=k)  # any transition, diagonal included
    comp = rng.integers(0, k, (n, m))
    comp[rng.random((n, m)) < 0.3] = -1
    pred = rng.dirichlet(np.ones(k), size=n)
    s = from_complementary(comp, k, transition=q, pred_probs=pred)
    for i in range(n):
        lik = np.array([np.prod([q[y, j] for j in comp[i] if j >= 0]) for y in range(k)])
        post = pred[i] * lik
        np.testing.assert_allclose(s.probs[i], post / post.sum(), rtol=1e-9, atol=1e-300)
    perm = rng.permutation(n)
    np.testing.assert_array_equal(
        from_complementary(comp[perm], k, transition=q, pred_probs=pred[perm]).probs,
        s.probs[perm],
    )


def test_uniform_without_replacement_is_the_restriction():
    rng = np.random.default_rng(0)
    k, n = 6, 50
    y = rng.integers(0, k, n)
    pred = rng.dirichlet(np.ones(k), size=n)
    comp = np.stack([rng.permutation(np.setdiff1d(np.arange(k), [t]))[:3] for t in y])
    s = from_complementary(comp, k, pred_probs=pred)
    allowed = np.ones((n, k), dtype=bool)
    allowed[np.arange(n)[:, None], comp] = False
    expected = np.where(allowed, pred, 0.0)
    np.testing.assert_allclose(s.probs, expected / expected.sum(axis=1, keepdims=True))
    assert (s.probs[np.arange(n), y] > 0).all()


def test_complementary_weights_that_rule_out_every_allowed_class():
    # a model sure of the class the label rules out (its softmax underflows to 0 elsewhere),
    # as in a refinement round: the labels alone decide, as for candidate sets
    pred = [[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]]
    s = from_complementary([0, 0], 3, pred_probs=pred)
    np.testing.assert_allclose(s.probs, [[0.0, 0.5, 0.5], [0.0, 0.375, 0.625]])
    q = np.array([[0.0, 0.8, 0.2], [0.5, 0.0, 0.5], [0.3, 0.7, 0.0]])
    biased = from_complementary([1], 3, transition=q, prior=[0.0, 1.0, 0.0])
    np.testing.assert_allclose(biased.probs, [[0.8 / 1.5, 0.0, 0.7 / 1.5]])


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        (([[1, -1], [0, 1]],), {"n_classes": 3, "transition": np.eye(3)[[1, 2, 0]]},
         InputError, r"row 1 \(complementary labels \[0, 1\]\) rules out every class"),
        (([[0, 1, 2]],), {"n_classes": 3}, InputError, "row 0 .* rules out every class"),
        (([0, 3],), {"n_classes": 3}, InputError, r"outside 0..2 \(first at row 1: 3\)"),
        (([[0, -2]],), {"n_classes": 3}, InputError, "-1 \\(none\\) or 0..2; row 0 has -2"),
        (([0],), {}, InvalidParameterError, "needs n_classes"),
        (([0],), {"n_classes": 3, "transition": "biased"}, InvalidParameterError, "'uniform'"),
        (([0],), {"n_classes": 3, "transition": np.ones((3, 3))}, InvalidParameterError,
         "row 0 sums to 3"),
        (([0],), {"n_classes": 3, "transition": np.ones((2, 2)) / 2}, InvalidParameterError,
         r"shape \(3, 3\)"),
        (([0.5],), {"n_classes": 3}, InputError, "integer class indices"),
    ],
)
def test_complementary_errors(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        from_complementary(*args, **kwargs)


def test_transition_helpers():
    np.testing.assert_allclose(uniform_transition(4).sum(axis=1), 1.0)
    assert np.diag(uniform_transition(4)).tolist() == [0.0] * 4
    q = empirical_transition([0, 0, 1, 1, 1], [[1, 2], [1, -1], [0, 2], [2, -1], [2, 0]], 3)
    # class 1 is named 0 twice and 2 three times; class 2 has no labelled item: uniform
    np.testing.assert_allclose(q, [[0, 2 / 3, 1 / 3], [0.4, 0, 0.6], [0.5, 0.5, 0]])
    smooth = empirical_transition([0], [1], 3, smoothing=1.0)
    np.testing.assert_allclose(smooth[0], [0, 2 / 3, 1 / 3])
    with pytest.raises(InputError, match="true_labels has 2 rows but there are 1 items"):
        empirical_transition([0, 1], [1], 3)


def test_anchor_transition_recovers_q_from_exact_predictions():
    rng = np.random.default_rng(1)
    k = 4
    q = rng.dirichlet(np.ones(k - 1), size=k)
    q = np.stack([np.insert(row, i, 0.0) for i, row in enumerate(q)])
    post = rng.dirichlet(np.full(k, 0.2), size=3000)
    post[:k] = np.eye(k)  # one exact anchor per class
    est = anchor_transition(post @ q, quantile=0.0)
    np.testing.assert_allclose(est, q, atol=1e-12)
    # outliers with a tiny P(ybar = k | x) for the wrong reason are skipped by a quantile
    noisy = post @ q
    noisy[k : k + 3] = np.full(k, 1.0 / k) * 0.0 + np.eye(k)[[1, 2, 3]]
    robust = anchor_transition(noisy, quantile=0.01)
    assert np.abs(robust - q).sum(axis=1).max() < 0.3
    assert np.abs(anchor_transition(noisy, quantile=0.0) - q).sum(axis=1).max() > 0.5


# ---------------------------------------------------------------------- positive-unlabeled
def test_positive_unlabeled_prior_by_hand():
    obs = [[1, 0], [0, 0], [1, 1], [0, -1]]
    out = from_positive_unlabeled(obs, [0.75, 0.5], labels=["cat", "dog"], item_ids=list("abcd"))
    assert list(out) == ["cat", "dog"]
    cat, dog = out["cat"], out["dog"]
    assert isinstance(cat, SoftLabels) and cat.classes.tolist() == [0, 1]
    # o = 0.5, pi = 0.75: (0.75 - 0.5) / (1 - 0.5) = 0.5; o = 0.25, pi = 0.5: 1/3
    np.testing.assert_allclose(cat.probs[:, 1], [1, 0.5, 1, 0.5])
    np.testing.assert_allclose(dog.probs[:, 1], [1 / 3, 1 / 3, 1, 1 / 3])
    assert cat.item_ids.tolist() == list("abcd")
    assert cat.support.tolist() == [1, 0, 1, 0]
    params = dog.provenance["params"]
    assert params["prior"] == 0.5 and params["label_frequency"] == 0.5 and params["label"] == "dog"


def test_positive_unlabeled_elkan_noto():
    obs = np.array([[1], [1], [0], [0], [0]])
    g = np.array([[0.8], [0.6], [0.5], [0.2], [0.0]])
    out = from_positive_unlabeled(obs, pred_probs=g)[0]
    c = 0.7  # mean of g over the observed positives (estimator e1)
    expected = np.clip((1 - c) / c * g[:, 0] / (1 - g[:, 0]), 0, 1)
    expected[:2] = 1.0
    np.testing.assert_allclose(out.probs[:, 1], expected)
    assert out.provenance["params"]["label_frequency"] == pytest.approx(c)
    rng = np.random.default_rng(0)
    big = rng.random((500, 3)) < 0.3
    big_g = np.clip(big * 0.6 + rng.random((500, 3)) * 0.3, 0, 1)
    perm = rng.permutation(500)
    a = from_positive_unlabeled(big, pred_probs=big_g)
    b = from_positive_unlabeled(big[perm], pred_probs=big_g[perm])
    for j in range(3):  # row order permutes the rows and changes nothing else
        np.testing.assert_array_equal(b[j].probs, a[j].probs[perm])
        assert b[j].provenance == a[j].provenance
    given_c = from_positive_unlabeled(obs, pred_probs=g, label_frequency=[0.5])[0]
    np.testing.assert_allclose(given_c.probs[2:, 1], [1.0, 0.25, 0.0])


def test_positive_unlabeled_is_calibrated_under_scar():
    rng = np.random.default_rng(0)
    n, n_labels = 40000, 3
    x = rng.standard_normal((n, n_labels))
    truth_p = 1 / (1 + np.exp(-(2 * x - 1)))  # P(present | x)
    present = rng.random((n, n_labels)) < truth_p
    c = np.array([0.3, 0.5, 0.8])
    observed = present & (rng.random((n, n_labels)) < c)
    g = truth_p * c  # the exact P(observed | x)
    out = from_positive_unlabeled(observed.astype(int), pred_probs=g, label_frequency=c)
    for j in range(n_labels):
        post = out[j].probs[:, 1]
        unl = ~observed[:, j]
        # the mean posterior of the unlabeled entries matches their true positive rate
        assert post[unl].mean() == pytest.approx(present[unl, j].mean(), abs=0.01)
    prior_only = from_positive_unlabeled(observed.astype(int), present.mean(axis=0))
    for j in range(n_labels):
        unl = ~observed[:, j]
        assert prior_only[j].probs[unl, 1].mean() == pytest.approx(
            present[unl, j].mean(), abs=1e-9
        )


def test_label_frequency_estimate_when_positives_are_certain():
    rng = np.random.default_rng(1)
    n = 20000
    g_true = rng.random(n) < 0.3  # separable: P(present | x) is 0 or 1
    observed = g_true & (rng.random(n) < 0.4)
    g = np.where(g_true, 0.4, 0.0)[:, None]
    out = from_positive_unlabeled(observed[:, None].astype(int), pred_probs=g)[0]
    assert out.provenance["params"]["label_frequency"] == pytest.approx(0.4)
    np.testing.assert_allclose(out.probs[~observed, 1], g_true[~observed].astype(float))


def test_positive_unlabeled_full_label_frequency_with_a_sure_classifier():
    # c = 1: every present label was observed, so an unlabeled entry is absent, even
    # where the classifier is sure (g = 1) -- (1 - c) / c * g / (1 - g) is 0 * inf there
    obs = np.array([[1], [1], [0], [0]])
    g = np.array([[1.0], [1.0], [1.0], [0.3]])
    for kwargs in ({}, {"label_frequency": [1.0]}):
        out = from_positive_unlabeled(obs, pred_probs=g, **kwargs)[0]
        assert out.provenance["params"]["label_frequency"] == 1.0
        np.testing.assert_array_equal(out.probs[:, 1], [1.0, 1.0, 0.0, 0.0])


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        (([[1, 0], [0, 0]], [0.2, 0.5]), {}, InvalidParameterError,
         "prior of label 0 is 0.2, below its observed positive rate 0.5"),
        (([[1, 2]], [0.5, 0.5]), {}, InputError, "row 0, column 1 is 2"),
        (([1, 0], [0.5]), {}, InputError, "2-D"),
        (([[1, 0]],), {}, InvalidParameterError, "needs prior or pred_probs"),
        (([[1, 0]],), {"pred_probs": [[0.5, 0.5]]}, InvalidParameterError,
         "label 1 has no observed positive"),
        (([[1, 0], [0, 0]], [0.5, 0.5]), {"pred_probs": [[0.9, 0.0], [0.2, 0.3]]},
         InvalidParameterError, "label 1 has no observed positive"),
        (([[1, 0]],), {"pred_probs": [[0.5, 1.5]]}, InputError, "row 0, column 1 is 1.5"),
        (([[1, 0]], [0.5, 0.0]), {}, InvalidParameterError, r"\(0, 1\]"),
        (([[1, 0]], [0.5, 0.5]), {"labels": ["a"]}, InputError, "labels must list 2"),
        (([[1, 0], [0, 1]], [0.5, 0.5]), {"labels": ["a", "a"]}, InputError,
         "labels must be distinct; 'a' appears more than once"),
    ],
)
def test_positive_unlabeled_errors(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        from_positive_unlabeled(*args, **kwargs)


# ---------------------------------------------------------------------- digits evidence
def softmax_regression(x, targets, w0, l2=1e-2, max_iter=30):
    """Multinomial logistic regression on soft targets (L-BFGS, warm start)."""
    n, d = x.shape
    k = targets.shape[1]

    def loss(w):
        w = w.reshape(d, k)
        z = x @ w
        value = -(targets * log_softmax(z, axis=1)).sum() / n + 0.5 * l2 * (w[:-1] ** 2).sum()
        grad = x.T @ (softmax(z, axis=1) - targets) / n
        grad[:-1] += l2 * w[:-1]
        return value, grad.ravel()

    res = minimize(loss, w0.ravel(), jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return res.x.reshape(d, k)


@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    x, y = datasets.load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, test = order[:1200], order[1200:]
    mu, sd = x[train].mean(axis=0), x[train].std(axis=0) + 1e-8
    x = np.c_[(x - mu) / sd, np.ones(len(x))]
    return x[train], y[train], x[test], y[test]


def rounds_accuracy(digits, make, n_rounds):
    # small matrices: one BLAS thread is much faster on a busy machine
    limits = pytest.importorskip("threadpoolctl").threadpool_limits
    with limits(1):
        return _rounds_accuracy(digits, make, n_rounds)


def _rounds_accuracy(digits, make, n_rounds):
    xtr, ytr, xte, yte = digits
    soft = make(None)
    w = np.zeros((xtr.shape[1], 10))
    acc = []
    for r in range(n_rounds + 1):
        w = softmax_regression(xtr, soft.probs, w)
        acc.append(float(((xte @ w).argmax(axis=1) == yte).mean()))
        if r < n_rounds:
            soft = make(softmax(xtr @ w, axis=1))
    return acc


def test_digits_candidate_sets_recover_most_of_the_accuracy(digits):
    xtr, ytr, xte, yte = digits
    rng = np.random.default_rng(1)
    n = len(ytr)
    full = rounds_accuracy(digits, lambda p: SoftLabels(np.eye(10)[ytr], np.arange(10)), 0)[0]
    cand = np.zeros((n, 10), dtype=bool)
    cand[np.arange(n), ytr] = True
    cand[np.arange(n), (ytr + rng.integers(1, 10, n)) % 10] = True  # sets of size 2
    acc = rounds_accuracy(digits, lambda p: from_candidate_sets(cand, pred_probs=p), 3)
    assert full > 0.93
    assert acc[0] > 0.8  # uniform over the candidates already learns
    assert acc[-1] > full - 0.03
    assert acc[-1] >= acc[0]


def test_digits_complementary_labels_far_above_chance(digits):
    xtr, ytr, xte, yte = digits
    rng = np.random.default_rng(2)
    n = len(ytr)
    one = (ytr + rng.integers(1, 10, n)) % 10
    three = np.argsort(rng.random((n, 10)) + 10 * np.eye(10)[ytr], axis=1)[:, :3]
    assert not (three == ytr[:, None]).any() and not (one == ytr).any()
    acc1 = rounds_accuracy(digits, lambda p: from_complementary(one, 10, pred_probs=p), 8)
    acc3 = rounds_accuracy(digits, lambda p: from_complementary(three, 10, pred_probs=p), 4)
    assert acc1[-1] > 0.45 and acc1[-1] > acc1[0] + 0.05  # chance is 0.1
    assert acc3[-1] > 0.7
