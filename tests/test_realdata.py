"""Accuracy on four public crowdsourcing data sets, against crowd-kit 1.4.2.

Each method must reach crowd-kit's accuracy on the items with a known truth, minus
0.005. The data live outside the repository, in ``<project root>/../shared/data/crowd``;
the tests are skipped when that folder is absent.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from softlabels import create_method

pytestmark = pytest.mark.realdata

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "crowd"
SLACK = 0.005

# accuracy of crowd-kit 1.4.2 with default parameters
CROWDKIT = {
    "duck": {"majority-vote": 0.759, "wawa": 0.759, "zero-based-skill": 0.759, "one-coin-dawid-skene": 0.583,
             "dawid-skene": 0.889, "glad": 0.722, "mace": 0.806, "kos": 0.722, "mmsr": 0.713},
    "product": {"majority-vote": 0.897, "wawa": 0.897, "zero-based-skill": 0.897, "one-coin-dawid-skene": 0.908,
                "dawid-skene": 0.940, "glad": 0.928, "mace": 0.929, "kos": 0.895},
    "dog": {"majority-vote": 0.818, "wawa": 0.829, "zero-based-skill": 0.830, "one-coin-dawid-skene": 0.830,
            "dawid-skene": 0.843, "glad": 0.834, "mace": 0.830, "mmsr": 0.828},
    "face": {"majority-vote": 0.630, "wawa": 0.630, "zero-based-skill": 0.630, "one-coin-dawid-skene": 0.611,
             "dawid-skene": 0.640, "glad": 0.630, "mace": 0.635, "mmsr": 0.630},
}
# single models on further sets: GLAD's unguarded M-step lost 11 points on rte, MACE's
# loose stopping rule 1.3 on duchenne
CROWDKIT_MORE = {
    "rte": {"glad": 0.925},
    "possent": {"glad": 0.948},
    "duchenne": {"mace": 0.767},
}


@lru_cache(maxsize=None)
def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = DATA / name
    if not (folder / "answers.csv").is_file() or not (folder / "truth.csv").is_file():
        pytest.skip(f"real data not found: {folder} needs answers.csv and truth.csv")
    return pd.read_csv(folder / "answers.csv"), pd.read_csv(folder / "truth.csv")


@lru_cache(maxsize=None)
def accuracy(dataset: str, method: str) -> float:
    answers, truth = load(dataset)
    soft = create_method(method).fit(answers).soft_labels_
    assert np.isfinite(soft.probs).all()
    np.testing.assert_allclose(soft.probs.sum(axis=1), 1.0, atol=1e-9)
    predicted = pd.Series(soft.hard(), index=soft.item_ids)
    known = truth[truth["item"].isin(predicted.index)]
    assert len(known) > 50
    return float((predicted.loc[known["item"]].to_numpy() == known["label"].to_numpy()).mean())


CASES = [(d, m, acc) for d, methods in {**CROWDKIT, **CROWDKIT_MORE}.items()
         for m, acc in methods.items()]


@pytest.mark.parametrize("dataset, method, reference", CASES, ids=[f"{d}-{m}" for d, m, _ in CASES])
def test_at_least_crowdkit(dataset, method, reference):
    acc = accuracy(dataset, method)
    assert acc >= reference - SLACK, f"{method} on {dataset}: {acc:.4f} < crowd-kit {reference:.3f} - {SLACK}"


def test_mmsr_on_product_at_least_majority_vote():
    # crowd-kit's MMSR fails on this data set, so the bar is majority vote
    assert accuracy("product", "mmsr") >= accuracy("product", "majority-vote")


def test_one_coin_on_duck_at_least_majority_vote():
    assert accuracy("duck", "one-coin-dawid-skene") >= accuracy("duck", "majority-vote")


@pytest.mark.parametrize("dataset", list(CROWDKIT))
def test_soft_vote_decides_like_majority_vote(dataset):
    assert accuracy(dataset, "soft-vote") == accuracy(dataset, "majority-vote")


@pytest.mark.parametrize("dataset", list(CROWDKIT))
def test_soft_average_at_least_majority_vote(dataset):
    assert accuracy(dataset, "soft-average") >= accuracy(dataset, "majority-vote") - SLACK


@pytest.mark.parametrize("dataset", ["dog", "face"])
def test_kos_refuses_multiclass_data(dataset):
    from softlabels import InvalidParameterError

    answers, _ = load(dataset)
    with pytest.raises(InvalidParameterError, match="at most 2 classes"):
        create_method("kos").fit(answers)
