"""NRR-DD distance records: the two distances by hand, the round trip back to the two
pinned probabilities and to a full soft label, and the degenerate cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softlabels.core.errors import InputError
from softlabels.store.distance import dbr_decode, dbr_encode, dbr_targets


def test_distances_by_hand():
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    d = dbr_encode(np.log(p) + 7.0, [0, 2], [2, 2], dtype=np.float64)  # shifts do not matter
    np.testing.assert_allclose(d, -np.log([[0.5, 0.2], [0.8, 0.8]]))


def test_round_trip_pins_both_probabilities_and_spreads_the_rest():
    p = np.array([[0.5, 0.3, 0.1, 0.1], [0.05, 0.6, 0.25, 0.1]])
    yo, ya = np.array([0, 1]), np.array([1, 2])
    d = dbr_encode(np.log(p), yo, ya, dtype=np.float32)
    assert d.dtype == np.float32 and d.nbytes == 2 * 2 * 4
    q = dbr_decode(d, yo, ya, 4)
    np.testing.assert_allclose(q, [[0.5, 0.3, 0.1, 0.1], [0.075, 0.6, 0.25, 0.075]], rtol=1e-6)
    np.testing.assert_allclose(q.sum(axis=1), 1.0)
    po, pa = dbr_targets(d, yo, ya)
    np.testing.assert_allclose(po, [0.5, 0.6], rtol=1e-6)
    np.testing.assert_allclose(pa, [0.3, 0.25], rtol=1e-6)


def test_float16_round_trip_error_is_small():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(200, 10)) * 3
    yo, ya = rng.integers(0, 10, 200), rng.integers(0, 10, 200)
    q = dbr_decode(dbr_encode(z, yo, ya), yo, ya, 10)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    rows = np.arange(200)
    d = -np.log(p[rows, yo])
    # float16 keeps d to half an ulp (2**-11 relative), so log p is off by at most d * 2**-11
    assert (np.abs(np.log(q[rows, yo]) - np.log(p[rows, yo])) <= d * 2.0**-11 + 1e-12).all()
    np.testing.assert_allclose(q.sum(axis=1), 1.0)


def test_same_class_is_counted_once():
    q = dbr_decode(-np.log([[0.4, 0.4]]), [1], [1], 3)
    np.testing.assert_allclose(q, [[0.3, 0.4, 0.3]])


def test_rounding_above_one_is_rescaled_and_two_classes_renormalise():
    q = dbr_decode(-np.log([[0.6, 0.6]]), [0], [1], 3)
    np.testing.assert_allclose(q, [[0.5, 0.5, 0.0]])
    q2 = dbr_decode(-np.log([[0.3, 0.6]]), [0], [1], 2)
    np.testing.assert_allclose(q2, [[1 / 3, 2 / 3]])


def test_clamp_keeps_distances_finite():
    d = dbr_encode([[0.0, -1e4]], [0], [1], dtype=np.float64)
    np.testing.assert_allclose(d, [[0.0, -np.log(1e-8)]])


@settings(max_examples=50, deadline=None)
@given(c=st.integers(2, 8), n=st.integers(1, 20), seed=st.integers(0, 2**31 - 1))
def test_decoded_rows_are_distributions_that_keep_the_pinned_classes(c, n, seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, c)) * 4
    yo, ya = rng.integers(0, c, n), rng.integers(0, c, n)
    d = dbr_encode(z, yo, ya, dtype=np.float64)
    q = dbr_decode(d, yo, ya, c)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-12)
    assert (q >= 0).all()
    if c > 2:
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        keep = p[rows, yo] > 1e-8
        np.testing.assert_allclose(q[rows, yo][keep], p[rows, yo][keep], rtol=1e-9)


def test_bad_input_is_named():
    with pytest.raises(InputError, match="y_aug: 1 values outside"):
        dbr_encode(np.zeros((1, 3)), [0], [3])
    with pytest.raises(InputError, match=r"shape \(n, 2\)"):
        dbr_decode(np.zeros((2, 3)), [0, 0], [0, 0], 3)
    with pytest.raises(InputError, match=">= 0"):
        dbr_decode([[-1.0, 0.0]], [0], [1], 3)
    with pytest.raises(InputError, match="n_classes"):
        dbr_decode([[1.0, 1.0]], [0], [0], 1)
