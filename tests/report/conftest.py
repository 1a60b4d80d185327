"""Fixtures for the report tests: hostile strings, small data sets, the artifact folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _report_helpers import HOSTILE


def pytest_configure(config: pytest.Config) -> None:
    # The browser tests carry this marker (select them with -m browser, skip with
    # -m "not browser").
    config.addinivalue_line("markers", "browser: tests that drive headless Chromium")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """test-artifacts/ under the project root (screenshots of the rendered report)."""
    path = Path(__file__).resolve().parents[2] / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def hostile_answers() -> pd.DataFrame:
    """Answers whose item ids, worker ids and class names are all hostile strings."""
    rng = np.random.default_rng(7)
    items = [f"{HOSTILE[i % len(HOSTILE)]}#{i}" for i in range(24)]
    workers = [f"{h}@w{j}" for j, h in enumerate(HOSTILE)]
    classes = HOSTILE[:3]
    rows = []
    for i, item in enumerate(items):
        truth = i % 3
        for w in workers:
            lab = truth if rng.random() < 0.75 else int(rng.integers(3))
            rows.append((item, w, classes[lab]))
    return pd.DataFrame(rows, columns=["item", "worker", "label"])
