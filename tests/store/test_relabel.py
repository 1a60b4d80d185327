"""ReLabel label maps and LabelPooling: hand-computed boxes, an obvious RoIAlign
reference, the coordinate order on asymmetric maps, and the fill of absent classes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.store.relabel import LabelMap, box_weights, label_pool


def _roi_align_1x1(dense: np.ndarray, box: np.ndarray) -> np.ndarray:
    """RoIAlign to one output cell, written out point by point (torchvision's rules,
    aligned=False, sampling_ratio=-1) on map coordinates ``x * size - 0.5``."""
    c, h, w = dense.shape
    x1, y1, x2, y2 = box[0] * w - 0.5, box[1] * h - 0.5, box[2] * w - 0.5, box[3] * h - 0.5
    rw, rh = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    gw, gh = math.ceil(rw), math.ceil(rh)
    total = np.zeros(c)
    for iy in range(gh):
        y = y1 + (iy + 0.5) * rh / gh
        for ix in range(gw):
            x = x1 + (ix + 0.5) * rw / gw
            y_, x_ = max(y, 0.0), max(x, 0.0)
            yl, xl = int(y_), int(x_)
            if yl >= h - 1:
                yl = yh = h - 1
                y_ = float(yl)
            else:
                yh = yl + 1
            if xl >= w - 1:
                xl = xh = w - 1
                x_ = float(xl)
            else:
                xh = xl + 1
            ly, lx = y_ - yl, x_ - xl
            total += ((1 - ly) * (1 - lx) * dense[:, yl, xl] + (1 - ly) * lx * dense[:, yl, xh]
                      + ly * (1 - lx) * dense[:, yh, xl] + ly * lx * dense[:, yh, xh])
    return total / (gh * gw)


def test_box_weights_by_hand_on_a_non_square_map():
    # width 4: x in [0.25, 0.75] -> map x in [0.5, 2.5], two samples at 1.0 and 2.0
    # height 2: y in [0, 0.5] -> map y in [-0.5, 0.5], one sample at 0.0
    w = box_weights([0.25, 0.0, 0.75, 0.5], (2, 4))
    np.testing.assert_allclose(w, [[0, 0.5, 0.5, 0], [0, 0, 0, 0]])


def test_box_weights_with_fractional_samples():
    # width 3, x in [0, 0.5] -> [-0.5, 1.0]: samples at -0.125 (clamped to 0) and 0.625
    # -> weights (1 + 0.375) / 2 = 0.6875 on cell 0 and 0.625 / 2 = 0.3125 on cell 1
    w = box_weights([0.0, 0.0, 0.5, 1.0 / 3.0], (3, 3))
    np.testing.assert_allclose(w[0], [0.6875, 0.3125, 0.0])
    np.testing.assert_allclose(w[1:], 0.0)


def test_pooling_over_a_box_by_hand():
    scores = np.zeros((3, 2, 4))
    scores[0] = [[1, 2, 3, 4], [5, 6, 7, 8]]
    scores[1] = [[8, 7, 6, 5], [4, 3, 2, 1]]
    scores[2] = -1.0
    m = LabelMap.from_dense(scores, k=3, dtype=np.float64)
    pooled = label_pool(m, [[0.25, 0.0, 0.75, 0.5]], softmax=False)
    np.testing.assert_allclose(pooled, [[2.5, 6.5, -1.0]])  # mean of cells (0, 1) and (0, 2)
    probs = label_pool(m, [[0.25, 0.0, 0.75, 0.5]])
    e = np.exp([2.5, 6.5, -1.0])
    np.testing.assert_allclose(probs, [e / e.sum()])


def test_top_k_keeps_the_largest_scores_and_zero_fill_drops_the_rest():
    scores = np.array([[[3.0]], [[1.0]], [[2.0]]])  # one location, three classes
    m = LabelMap.from_dense(scores, k=2, dtype=np.float32)
    assert m.indices[:, 0, 0].tolist() == [0, 2]
    np.testing.assert_allclose(m.dense(), [[[3.0]], [[0.0]], [[2.0]]])
    np.testing.assert_allclose(m.dense("min"), [[[3.0]], [[2.0]], [[2.0]]])
    box = [[0.0, 0.0, 1.0, 1.0]]
    np.testing.assert_allclose(label_pool(m, box, softmax=False), [[3.0, 0.0, 2.0]])
    np.testing.assert_allclose(label_pool(m, box, softmax=False, fill="min"), [[3.0, 2.0, 2.0]])
    assert m.nbytes() == 2 * 4 + 2 * 1  # float32 scores, uint8 indices


def test_left_half_gives_the_left_class_and_top_half_the_top_class():
    # a 3 x 5 map: class 0 on the left two columns, class 1 on the right; class 2 on top row
    scores = np.zeros((3, 3, 5))
    scores[0, :, :2] = 5.0
    scores[1, :, 3:] = 5.0
    scores[2, 0, :] = 6.0
    m = LabelMap.from_dense(scores, k=2)
    left, right, top = label_pool(m, [[0, 1 / 3, 0.4, 1], [0.6, 1 / 3, 1, 1], [0, 0, 1, 1 / 3]])
    assert left.argmax() == 0 and right.argmax() == 1 and top.argmax() == 2


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(2, 5), seed=st.integers(0, 2**31 - 1),
    fill=st.sampled_from(["zero", "min"]),
)
def test_pooling_equals_roi_align_on_the_dense_map(h, w, c, seed, fill):
    rng = np.random.default_rng(seed)
    m = LabelMap.from_dense(rng.normal(size=(c, h, w)), k=int(rng.integers(1, c + 1)), dtype=np.float64)
    lo = rng.uniform(0, 0.9, size=2)
    hi = lo + rng.uniform(0.05, 1.0, size=2) * (1 - lo)
    box = np.array([lo[0], lo[1], hi[0], hi[1]])
    got = label_pool(m, box[None], softmax=False, fill=fill)[0]
    np.testing.assert_allclose(got, _roi_align_1x1(m.dense(fill), box), atol=1e-12)
    np.testing.assert_allclose(box_weights(box, (h, w)).sum(), 1.0)


def test_one_map_per_box():
    a = LabelMap.from_dense(np.array([[[2.0]], [[0.0]]]), k=1, dtype=np.float32)
    b = LabelMap.from_dense(np.array([[[0.0]], [[2.0]]]), k=1, dtype=np.float32)
    out = label_pool([a, b], [[0, 0, 1, 1], [0, 0, 1, 1]], softmax=False)
    np.testing.assert_allclose(out, [[2.0, 0.0], [0.0, 2.0]])


@pytest.mark.parametrize(
    ("box", "match"),
    [([0.5, 0.0, 0.2, 1.0], "x1 < x2"), ([0.0, 0.0, 1.2, 1.0], "normalised"), ([0, 0, 1], "shape")],
)
def test_bad_boxes_are_named(box, match):
    m = LabelMap.from_dense(np.zeros((2, 2, 2)), k=1)
    with pytest.raises(InputError, match=match):
        label_pool(m, [box] if len(box) == 4 else np.array([box]))


def test_bad_maps_and_options_are_named():
    with pytest.raises(InputError, match="indices must lie in"):
        LabelMap(np.zeros((1, 2, 2)), np.full((1, 2, 2), 3), n_classes=3)
    with pytest.raises(InputError, match="shape"):
        LabelMap.from_dense(np.zeros((2, 2)))
    with pytest.raises(InvalidParameterError, match="'k'"):
        LabelMap.from_dense(np.zeros((2, 2, 2)), k=3)
    m = LabelMap.from_dense(np.zeros((2, 2, 2)), k=1)
    with pytest.raises(InvalidParameterError, match="fill"):
        label_pool(m, [[0, 0, 1, 1]], fill="max")
    with pytest.raises(InputError, match="one per box"):
        label_pool([m, m], [[0, 0, 1, 1]])


def test_centring_shifts_each_location_by_the_mean_of_its_dropped_classes():
    scores = np.array([[[4.0, 0.0]], [[1.0, 3.0]], [[-2.0, 1.0]], [[0.0, -5.0]]])  # 4 classes, 1x2 map
    m = LabelMap.from_dense(scores, k=2, dtype=np.float64, centre=True)
    # location 0 keeps classes 0, 1 and drops (-2, 0): mean -1; location 1 keeps 1, 2 and drops (0, -5)
    np.testing.assert_allclose(m.values[:, 0, 0], [5.0, 2.0])
    np.testing.assert_allclose(m.values[:, 0, 1], [5.5, 3.5])
    # pooled with zero fill = pooled dense map whose dropped classes are set to their mean
    approx = scores.copy()
    approx[[2, 3], 0, 0] = -1.0
    approx[[0, 3], 0, 1] = -2.5
    box = np.array([[0.0, 0.0, 1.0, 1.0]])
    e = np.exp(approx.mean(axis=(1, 2)))
    np.testing.assert_allclose(label_pool(m, box), [e / e.sum()])


def test_centring_a_full_map_keeps_the_pooled_softmax():
    rng = np.random.default_rng(2)
    scores = rng.normal(size=(4, 3, 3)) * 3
    raw = LabelMap.from_dense(scores, k=4, dtype=np.float64)
    centred = LabelMap.from_dense(scores, k=4, dtype=np.float64, centre=True)
    boxes = np.array([[0.1, 0.2, 0.7, 0.9], [0.0, 0.0, 0.4, 0.5]])
    np.testing.assert_allclose(label_pool(centred, boxes), label_pool(raw, boxes), atol=1e-12)
    assert not np.allclose(centred.values, raw.values)


def test_no_boxes_give_no_rows_of_n_classes():
    m = LabelMap.from_dense(np.random.default_rng(0).normal(size=(7, 3, 3)), k=2)
    for softmax in (True, False):
        assert label_pool(m, np.zeros((0, 4)), softmax=softmax).shape == (0, 7)
        assert label_pool([], np.zeros((0, 4)), softmax=softmax).shape[0] == 0
