"""benchmarks/evidence_teachers.py without the experiments: the crops and the verdicts are
what the report says they are."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
torch = pytest.importorskip("torch")


def test_small_crops_come_from_their_own_image(et):
    imgs = torch.stack([torch.zeros(8, 8), torch.ones(8, 8)])
    crops, src = et.random_resized_crops(imgs, 20, (0.1, 0.3), np.random.default_rng(1))
    assert crops.shape == (40, 8, 8)
    np.testing.assert_allclose(crops.mean(dim=(1, 2)).numpy(), src.astype(float), atol=1e-6)


def test_verdicts(et):
    base = [0.5] * 5
    assert et.verdict([0.6] * 5, base) == "yes"
    assert et.verdict([0.6, 0.6, 0.6, 0.6, 0.4], base) == "yes"
    assert et.verdict([0.6, 0.6, 0.6, 0.45, 0.45], base) == "partly"
    assert et.verdict([0.6, 0.6, 0.4, 0.4, 0.4], base) == "no"
    assert et.verdict([0.51, 0.51, 0.51, 0.51, 0.1], base) == "no"  # mean below the baseline
    assert et.paired([0.6, 0.4], [0.5, 0.5]).endswith("(better in 1/2)")
