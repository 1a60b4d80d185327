"""The compiled kernels (numba extra) give the numpy path's numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from softlabels.datasets import make_crowd
from softlabels.infer import compiled
from softlabels.infer import em as K
from softlabels.infer.crowd import DawidSkene

pytest.importorskip("numba")


@pytest.mark.parametrize("n_classes", [2, 3, 5, 7])
@pytest.mark.parametrize("n_jobs", [None, 2])
@pytest.mark.parametrize("alpha", [0.0, 0.01])
def test_dawid_skene_same_as_numpy(monkeypatch, n_classes, n_jobs, alpha):
    monkeypatch.setattr(K.RowBlocks, "MIN_ANSWERS", 0)  # threads on small data too
    answers, _ = make_crowd(n_items=400, n_workers=30, n_classes=n_classes, random_state=3)
    params = dict(n_iter=12, tol=0, alpha=alpha, n_jobs=n_jobs, uncertainty="tempered")
    gold = {answers["item"].iloc[0]: answers["label"].iloc[0]}
    monkeypatch.setenv(compiled.ENV_SWITCH, "0")
    numpy_fit = DawidSkene(**params).fit(answers, gold=gold)
    monkeypatch.setenv(compiled.ENV_SWITCH, "1")
    assert compiled.kernels(n_classes) is not None
    fast_fit = DawidSkene(**params).fit(answers, gold=gold)
    np.testing.assert_allclose(fast_fit.soft_labels_.probs, numpy_fit.soft_labels_.probs,
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast_fit.confusions_, numpy_fit.confusions_, rtol=0, atol=1e-12)
    assert fast_fit.log_likelihood_ == pytest.approx(numpy_fit.log_likelihood_, rel=1e-12)
    assert fast_fit.temperature_ == pytest.approx(numpy_fit.temperature_, rel=1e-9)


def test_repeated_answers_weigh_twice(monkeypatch):
    """An answer given twice is a stored 2 in the sparse matrices: the kernels'
    weighted branch."""
    answers, _ = make_crowd(n_items=200, n_workers=12, n_classes=3, random_state=5)
    answers = pd.concat([answers, answers.iloc[::7]], ignore_index=True)
    monkeypatch.setenv(compiled.ENV_SWITCH, "0")
    numpy_fit = DawidSkene(n_iter=10, tol=0).fit(answers)
    monkeypatch.setenv(compiled.ENV_SWITCH, "1")
    fast_fit = DawidSkene(n_iter=10, tol=0).fit(answers)
    np.testing.assert_allclose(fast_fit.soft_labels_.probs, numpy_fit.soft_labels_.probs,
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("k", [2, 4, 5, 9])
def test_kernels_against_scipy(k):
    rng = np.random.default_rng(k)
    matrix = sp.random(300, 120, density=0.05, random_state=k, format="csr")
    matrix.data = rng.integers(1, 4, matrix.nnz).astype(np.float64)
    dense = rng.normal(size=(120, k))
    fast = compiled.kernels(k)
    out = np.empty((300, k))
    fast.product_rows(matrix.indptr, matrix.indices, matrix.data, False, dense, out, 0, 300)
    np.testing.assert_array_equal(out, matrix @ dense)  # the same sums in the same order

    post = rng.dirichlet(np.ones(k), 300)
    counts = np.empty((120, k))
    fast.scatter_rows(matrix.indptr, matrix.indices, matrix.data, False, post, counts)
    np.testing.assert_array_equal(counts, matrix.T.tocsr() @ post)

    np.testing.assert_array_equal(K.column_sums(post), post.sum(axis=0))

    log_prior = np.log(rng.dirichlet(np.ones(k)))
    expected, loglik = K.log_normalize(np.asarray(matrix[:150] @ dense) + log_prior)
    got = np.full((300, k), np.nan)
    total = compiled.softmax_rows(fast, matrix, False, dense, log_prior, got, slice(0, 150))
    np.testing.assert_allclose(got[:150], expected, rtol=0, atol=1e-15)
    assert np.isnan(got[150:]).all()  # rows outside the range are not touched
    assert total == pytest.approx(loglik, rel=1e-13)


def test_kernels_absent_or_switched_off(monkeypatch):
    assert compiled.kernels(1) is None  # one class: nothing to compile
    assert compiled.kernels(compiled.MAX_CLASSES + 1) is None
    monkeypatch.setenv(compiled.ENV_SWITCH, "0")
    assert compiled.kernels(3) is None and not compiled.available()


def test_fallback_when_numba_is_missing(monkeypatch):
    def no_numba(k):
        raise ImportError("No module named 'numba'")

    monkeypatch.setattr(compiled, "_KERNELS", {})
    monkeypatch.setattr(compiled, "_FAILED", False)
    monkeypatch.setattr(compiled, "_build", no_numba)
    assert compiled.kernels(3) is None
    answers, truth = make_crowd(n_items=100, n_workers=10, n_classes=3, random_state=0)
    model = DawidSkene(n_iter=5).fit(answers)
    assert model.soft_labels_.probs.shape == (100, 3)


@pytest.mark.parametrize("k", [2, 5])
@pytest.mark.parametrize("plain", [False, True])
def test_log_confusion_block_is_numpys(k, plain):
    from softlabels.infer.crowd.dawid_skene import log_confusion_rows

    rng = np.random.default_rng(k)
    n_workers = 30
    counts = rng.gamma(0.5, size=(n_workers * k, k))
    counts[:k] = 0.0  # worker 0 never saw any class: uniform rows when plain
    counts[k:2 * k, 1] = 0.0  # worker 1 never saw class 1
    pseudo = 0.0 if plain else 0.01 + rng.dirichlet(np.ones(k), k)
    expected = counts.copy()
    cube = expected.reshape(-1, k, k)
    cube += pseudo
    log_confusion_rows(cube, plain)
    got = counts.copy()
    totals, log_totals = np.empty((n_workers, k)), np.empty((n_workers, k))
    fast = compiled.kernels(k)
    for workers in (slice(0, 11), slice(11, n_workers)):  # two blocks, as two threads
        compiled.log_confusion_block(fast, got, pseudo, plain, K.TINY, workers, totals,
                                     log_totals)
    np.testing.assert_array_equal(got, expected)
    if plain:
        assert np.allclose(got[:k], -np.log(k))


def test_normalize_rows_log_likelihood():
    """One logarithm per block of rows: the sum of the rows' log normalisers."""
    rng = np.random.default_rng(0)
    shifted = -rng.exponential(size=(1000, 4))
    shifted[np.arange(1000), rng.integers(0, 4, 1000)] = 0.0  # each row's largest is 0
    post = np.exp(shifted)
    totals = post.sum(axis=1)
    got = compiled.kernels(4).normalize_rows(post, 3, 1000)
    assert got == pytest.approx(np.log(totals[3:]).sum(), rel=1e-13)
    np.testing.assert_array_equal(post[3:], np.exp(shifted[3:]) / totals[3:, None])
    np.testing.assert_array_equal(post[:3], np.exp(shifted[:3]))  # outside the range


@pytest.mark.parametrize("k", [2, 5])
def test_temperature_loglik_is_numpys(monkeypatch, k):
    rng = np.random.default_rng(k)
    logits = rng.normal(scale=20, size=(500, k))
    log_held = np.log(rng.dirichlet(np.ones(k), 500))
    fast = [K.temperature_loglik(inv, logits, log_held) for inv in (1.0, 0.37, 0.01)]
    monkeypatch.setenv(compiled.ENV_SWITCH, "0")
    plain = [K.temperature_loglik(inv, logits, log_held) for inv in (1.0, 0.37, 0.01)]
    assert fast == plain


@pytest.mark.parametrize("k", [2, 5, 11])
def test_pooled_counts_are_numpys(k):
    rng = np.random.default_rng(k)
    table = rng.gamma(0.3, size=(3000 * k, k))
    expected = table.reshape(-1, k, k).sum(axis=0)
    np.testing.assert_array_equal(compiled.pooled_counts(table), expected)
    assert compiled.pooled_counts(np.asfortranarray(table)) is None  # not C-contiguous
