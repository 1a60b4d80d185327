"""benchmarks/store_methods.py without the experiment: crops are rendered as stated and the
stored boxes are valid LabelPooling boxes."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def sm():
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module("store_methods")
    finally:
        sys.path.remove(str(BENCH))


def test_whole_box_reproduces_the_image_and_flip_mirrors_it(sm):
    img = np.arange(64.0).reshape(1, 8, 8)
    whole = np.array([[0.0, 0.0, 1.0, 1.0]])
    out = sm.render(img, np.array([0]), whole, np.array([False]))
    np.testing.assert_allclose(out.reshape(8, 8), img[0])
    flipped = sm.render(img, np.array([0]), whole, np.array([True]))
    np.testing.assert_allclose(flipped.reshape(8, 8), img[0][:, ::-1])


def test_left_half_box_is_stretched_bilinearly(sm):
    img = np.tile(np.arange(8.0), (8, 1))[None]  # value = column index
    out = sm.render(img, np.array([0]), np.array([[0.0, 0.0, 0.5, 1.0]]), np.array([False])).reshape(8, 8)
    # output column c samples input column (c + 0.5) / 2 - 0.5, clamped at 0
    want = np.maximum((np.arange(8) + 0.5) / 2 - 0.5, 0.0)
    np.testing.assert_allclose(out, np.tile(want, (8, 1)))


def test_sampled_boxes_are_inside_the_image_with_the_stated_area(sm):
    b = sm.sample_boxes(np.random.default_rng(0), 2000)
    assert (b[:, 0] >= 0).all() and (b[:, 2] <= 1 + 1e-12).all() and (b[:, 0] < b[:, 2]).all()
    assert (b[:, 1] >= 0).all() and (b[:, 3] <= 1 + 1e-12).all() and (b[:, 1] < b[:, 3]).all()
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    assert area.max() <= sm.SCALE[1] + 1e-12 and area.min() >= sm.SCALE[0] * 0.74
