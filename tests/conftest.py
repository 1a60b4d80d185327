"""Shared fixtures (small hand-made answer tables) and hypothesis profiles."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

# CI exports HYPOTHESIS_PROFILE=ci: derandomised, so a red build replays exactly.
# No deadlines anywhere: two shared cores make per-example timings noisy.
settings.register_profile("default", deadline=None)
settings.register_profile(
    "ci", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def tiny_answers() -> pd.DataFrame:
    """Three items, three workers, two classes; items 1 and 3 are 2-1 splits."""
    return pd.DataFrame(
        {
            "item": [1, 1, 1, 2, 2, 2, 3, 3, 3],
            "worker": ["a", "b", "c"] * 3,
            "label": ["x", "x", "y", "y", "y", "y", "x", "y", "x"],
        }
    )


@pytest.fixture
def binary_crowd() -> pd.DataFrame:
    """A small binary crowd with overlapping workers (every model accepts it)."""
    from softlabels.datasets import make_crowd

    answers, _ = make_crowd(n_items=30, n_workers=8, n_classes=2, random_state=3)
    return answers


@pytest.fixture
def multiclass_crowd() -> pd.DataFrame:
    from softlabels.datasets import make_crowd

    answers, _ = make_crowd(n_items=40, n_workers=10, n_classes=3, random_state=5)
    return answers
