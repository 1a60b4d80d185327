"""Metamorphic checks of RatingAggregator beyond row order (``test_ratings.py``):
renamed raters and items, and ratings on a scale stretched with its levels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from softlabels.infer.ratings import RatingAggregator

METHODS = ("reliability", "mean", "median")


def ratings(seed: int, n_items: int = 15, n_workers: int = 5) -> pd.DataFrame:
    """1-5 star ratings by workers of increasing noise, 1 to 5 per item."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_items):
        truth = rng.uniform(1, 5)
        for w in rng.choice(n_workers, size=rng.integers(1, n_workers + 1), replace=False):
            rows.append((i, w, float(np.clip(np.round(truth + rng.normal(0, 0.3 + 0.3 * w)), 1, 5))))
    return pd.DataFrame(rows, columns=["item", "worker", "label"])


def by_item(model: RatingAggregator) -> pd.DataFrame:
    s = model.soft_labels_
    return pd.DataFrame(s.probs, index=list(s.item_ids))


@pytest.mark.parametrize("uncertainty", ["spread", "std_error"])
@pytest.mark.parametrize("method", METHODS)
def test_renamed_raters_and_items_change_nothing(method, uncertainty):
    rng = np.random.default_rng(1)
    for seed in range(3):
        df = ratings(seed)
        a = by_item(RatingAggregator(method=method, uncertainty=uncertainty).fit(df))
        workers = sorted(df["worker"].unique())
        new_worker = dict(zip(workers, (f"r{p}" for p in rng.permutation(len(workers)))))
        items = sorted(df["item"].unique())
        new_item = dict(zip(items, (f"i{p:02d}" for p in rng.permutation(len(items)))))
        renamed = df.assign(worker=df["worker"].map(new_worker), item=df["item"].map(new_item))
        b = by_item(RatingAggregator(method=method, uncertainty=uncertainty).fit(renamed))
        b = b.rename(index={v: i for i, v in new_item.items()}).loc[a.index]
        np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_a_stretched_scale_gives_the_same_soft_labels(method):
    """Stars 1-5 written as 3-15 (levels inferred, or given, stretched alike): the
    fallback thresholds are in level steps, so nothing changes."""
    for seed in range(3):
        df = ratings(seed)
        a = RatingAggregator(method=method).fit(df)
        b = RatingAggregator(method=method).fit(df.assign(label=3 * df["label"]))
        c = RatingAggregator(method=method, levels=[3, 6, 9, 12, 15]).fit(df.assign(label=3 * df["label"]))
        assert b.levels_.tolist() == [3, 6, 9, 12, 15]
        for other in (b, c):
            np.testing.assert_allclose(other.soft_labels_.probs, a.soft_labels_.probs, rtol=0, atol=1e-9)
        np.testing.assert_allclose(b.estimates_["estimate"], 3 * a.estimates_["estimate"], rtol=1e-9)
