"""CROWDLAB weighting (softlabels.audit.crowdlab), shared by multiannotator and issues."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from softlabels.audit import crowdlab, issues, multiannotator


def test_baseline_error_is_the_minority_share_floored():
    assert crowdlab.baseline_error(np.array([0, 0, 1, 2, 0]), 3) == pytest.approx(0.4)
    # one class only: floored, so weights stay finite
    assert crowdlab.baseline_error(np.array([1, 1, 1]), 2) == crowdlab.MIN_BASELINE_ERROR


def test_source_weight_values_scalar_and_array():
    assert crowdlab.source_weight(0.1, 0.4) == pytest.approx(0.75)
    assert isinstance(crowdlab.source_weight(0.1, 0.4), float)
    # worse than the baseline: clipped at the floor, never negative
    assert crowdlab.source_weight(0.6, 0.4) == crowdlab.MIN_WEIGHT
    got = crowdlab.source_weight(np.array([0.0, 0.2, 0.4, 0.9]), 0.4)
    np.testing.assert_allclose(got, [1.0, 0.5, crowdlab.MIN_WEIGHT, crowdlab.MIN_WEIGHT])


def test_clip_trust_bounds():
    assert crowdlab.clip_trust(0.1, 4) == 0.25
    assert crowdlab.clip_trust(0.6, 4) == 0.6
    assert crowdlab.clip_trust(1.0, 4) == 1.0 - crowdlab.MAX_TRUST_GAP


def _crowd():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=60)
    rows = [(i, w, t if rng.random() < 0.8 else int(rng.integers(3)))
            for i, t in enumerate(truth) for w in range(4)]
    return truth, pd.DataFrame(rows, columns=["item", "worker", "label"])


def test_both_users_take_the_floor_from_one_place(monkeypatch):
    """A model that is always wrong gets the floor weight in both users; moving the one
    floor moves both."""
    truth, answers = _crowd()
    wrong = np.full((60, 3), 0.05)
    wrong[np.arange(60), (truth + 1) % 3] = 0.9
    soft = np.eye(3)[truth]

    def weights():
        fit = multiannotator._fit(answers, wrong, None)
        _, w_model, _ = issues._combine_with_crowd(truth, wrong, soft, None)
        return fit.model_weight / np.sqrt(fit.ann.answers_per_item.mean()), w_model

    assert weights() == pytest.approx((1e-3, 1e-3))
    monkeypatch.setattr(crowdlab, "MIN_WEIGHT", 0.25)
    assert weights() == pytest.approx((0.25, 0.25))


def test_docstring_examples_run():
    result = doctest.testmod(crowdlab)
    assert result.attempted > 0 and result.failed == 0
