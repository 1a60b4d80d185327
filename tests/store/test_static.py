"""INFER static labels: the mean of the teachers' logits, and Mixup interpolation in
logit space (versus probability space), checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.store.static import StaticLabels, mixup_with_static_labels


def test_mean_of_teacher_logits_and_bytes():
    t1 = np.array([[1.0, 3.0, 0.0], [0.0, 0.0, 6.0]])
    t2 = np.array([[3.0, 1.0, 0.0], [2.0, 0.0, 0.0]])
    s = StaticLabels.from_teachers([t1, t2], dtype=np.float32)
    np.testing.assert_array_equal(s.logits, [[2.0, 2.0, 0.0], [1.0, 0.0, 3.0]])
    assert s.logits.dtype == np.float32 and s.nbytes() == 2 * 3 * 4
    assert StaticLabels.from_teachers(t1).nbytes() == 2 * 3 * 2  # float16 by default


def test_mixup_interpolates_logits_before_the_softmax():
    # z_0 = (2, 0), z_1 = (0, 4); lam = 0.25 -> mixed logits (0.5, 3.0)
    s = StaticLabels(np.array([[2.0, 0.0], [0.0, 4.0]]))
    got = s.mix([0], [1], 0.25)
    p1 = 1.0 / (1.0 + np.exp(0.5 - 3.0))
    np.testing.assert_allclose(got, [[1 - p1, p1]])
    # probability space: 0.25 * softmax(2, 0) + 0.75 * softmax(0, 4)
    a, b = 1 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(-4.0))
    want = 0.25 * np.array([a, 1 - a]) + 0.75 * np.array([1 - b, b])
    np.testing.assert_allclose(s.mix([0], [1], 0.25, space="probs"), [want])
    assert not np.allclose(got, [want], atol=1e-3)  # the two rules differ


def test_temperature_divides_the_mixed_logits():
    s = StaticLabels(np.array([[30.0, 0.0], [0.0, 30.0]]))
    got = s.mix([0, 0], [1, 0], [0.5, 1.0], temperature=30.0)
    e = 1 / (1 + np.exp(-1.0))
    np.testing.assert_allclose(got, [[0.5, 0.5], [e, 1 - e]])


def test_lam_one_returns_the_item_and_rows_sum_to_one():
    rng = np.random.default_rng(0)
    s = StaticLabels(rng.normal(size=(5, 4)))
    idx, perm = np.arange(5), rng.permutation(5)
    np.testing.assert_allclose(s.mix(idx, perm, 1.0), s.probs(idx))
    np.testing.assert_allclose(s.mix(idx, perm, 0.0, space="probs"), s.probs(perm))
    np.testing.assert_allclose(s.mix(idx, perm, 0.3).sum(axis=1), 1.0)


def test_mixup_batch_uses_one_lambda_and_the_permutation():
    s = StaticLabels(np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))
    x = np.arange(6.0).reshape(3, 2)
    b = mixup_with_static_labels(x, [2, 0, 1], s, random_state=3)
    np.testing.assert_allclose(b.inputs, b.lam * x + (1 - b.lam) * x[b.perm])
    np.testing.assert_allclose(b.targets, s.mix([2, 0, 1], np.array([2, 0, 1])[b.perm], b.lam))
    again = mixup_with_static_labels(x, [2, 0, 1], s, random_state=3)
    assert again.lam == b.lam


def test_bad_input_is_named():
    s = StaticLabels(np.zeros((2, 3)))
    with pytest.raises(InputError, match="partner must lie in"):
        s.mix([0], [2], 0.5)
    with pytest.raises(InputError, match="lam must lie"):
        s.mix([0], [1], 1.5)
    with pytest.raises(InvalidParameterError, match="space"):
        s.mix([0], [1], 0.5, space="log")
    with pytest.raises(InputError, match="non-finite"):
        StaticLabels.from_teachers(np.array([[np.nan, 0.0]]))
    with pytest.raises(InputError, match="rows but index"):
        mixup_with_static_labels(np.zeros((3, 2)), [0, 1], s)
