"""The contract every supervision source keeps: it returns SoftLabels whose rows sum
to 1 without NaN, with provenance; the same input and seed give the same result; and
permuting the input rows permutes the output rows and changes nothing else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from softlabels.core.soft import SoftLabels

N, K = 40, 3


@dataclass
class Source:
    """``make(rng)`` draws an input; ``run(data, order)`` applies the source to the rows
    of that input taken in ``order`` and returns SoftLabels."""

    make: Callable[[np.random.Generator], Any]
    run: Callable[[Any, np.ndarray], SoftLabels]


def _probs(rng: np.random.Generator, n: int = N, k: int = K) -> np.ndarray:
    return rng.dirichlet(np.ones(k), size=n)


def _teachers(rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.normal(size=(N, K)) for _ in range(3)]


def _teacher_ensemble(data: list[np.ndarray], order: np.ndarray) -> SoftLabels:
    from softlabels.infer.teachers import teacher_soft_labels

    return teacher_soft_labels([z[order] for z in data], inputs="logits", temperature=2.0,
                               pool="logits")


def _committee(data: list[np.ndarray], order: np.ndarray) -> SoftLabels:
    from softlabels.infer.teachers import committee_soft_labels

    return committee_soft_labels([z[order] for z in data], [0.7, 0.8, 0.9], inputs="logits")


def _meal_v2(data: list[np.ndarray], order: np.ndarray) -> SoftLabels:
    from softlabels.infer.teachers import meal_v2_soft_labels

    return meal_v2_soft_labels([z[order] for z in data], inputs="logits")


def _gaussian(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(1, 5, N), rng.uniform(0.2, 1.5, N)


def _deqa(data: tuple[np.ndarray, np.ndarray], order: np.ndarray) -> SoftLabels:
    from softlabels.infer.ratings import gaussian_to_soft_labels

    mean, std = data
    return gaussian_to_soft_labels(mean[order], std[order])


def _candidates(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    cand = rng.random((N, K)) < 0.5
    cand[np.arange(N), rng.integers(0, K, N)] = True
    return cand, _probs(rng)


def _candidate_sets(data: tuple[np.ndarray, np.ndarray], order: np.ndarray) -> SoftLabels:
    from softlabels.infer.partial import from_candidate_sets

    cand, probs = data
    return from_candidate_sets(cand[order], pred_probs=probs[order])


def _complementary_input(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, K, N), _probs(rng)


def _complementary(data: tuple[np.ndarray, np.ndarray], order: np.ndarray) -> SoftLabels:
    from softlabels.infer.partial import from_complementary

    comp, probs = data
    return from_complementary(comp[order], K, pred_probs=probs[order])


def _ratings(rng: np.random.Generator) -> pd.DataFrame:
    truth = rng.uniform(1, 5, N)
    rows = [(i, w, float(np.clip(truth[i] + rng.normal(0, 0.3 + 0.2 * w), 1, 5)))
            for i in range(N) for w in rng.choice(8, 4, replace=False)]
    return pd.DataFrame(rows, columns=["item", "worker", "label"])


def _rating_aggregator(data: pd.DataFrame, order: np.ndarray) -> SoftLabels:
    from softlabels.infer.ratings import RatingAggregator

    # ``order`` permutes items: the answers of item order[j] come j-th.
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    frame = data.iloc[np.argsort(rank[data["item"].to_numpy()], kind="stable")]
    return RatingAggregator().fit(frame.reset_index(drop=True)).soft_labels_


def _votes(rng: np.random.Generator) -> np.ndarray:
    truth = rng.integers(0, K, N)
    votes = np.where(rng.random((N, 5)) < 0.7, truth[:, None], rng.integers(0, K, (N, 5)))
    votes[rng.random((N, 5)) < 0.3] = -1  # abstain
    return votes


def _label_model(model: str) -> Callable[[np.ndarray, np.ndarray], SoftLabels]:
    def run(data: np.ndarray, order: np.ndarray) -> SoftLabels:
        from softlabels.infer.rules import LabelModel, MatrixCompletionLabelModel

        if model == "matrix-completion":
            return MatrixCompletionLabelModel(classes=list(range(K))).fit(data[order]).soft_labels_
        return LabelModel(classes=list(range(K)), model=model).fit(data[order]).soft_labels_

    return run


def _bags(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict[int, float]]:
    bag_ids = np.repeat(np.arange(N // 8), 8)
    truth = rng.random(N) < 0.4
    props = {int(b): float(truth[bag_ids == b].mean()) for b in np.unique(bag_ids)}
    return _probs(rng, k=2), bag_ids, props


def _bag_pseudo_labels(data: tuple[np.ndarray, np.ndarray, dict[int, float]],
                       order: np.ndarray) -> SoftLabels:
    from softlabels.infer.bags import proportion_pseudo_labels

    probs, bag_ids, props = data
    return proportion_pseudo_labels(probs[order], bag_ids[order], props)


SOURCES = {
    "bags:proportion-pseudo-labels": Source(_bags, _bag_pseudo_labels),
    "rules:label-model": Source(_votes, _label_model("shared-one-coin")),
    "rules:dawid-skene": Source(_votes, _label_model("dawid-skene")),
    "rules:matrix-completion": Source(_votes, _label_model("matrix-completion")),
    "teachers:pooled-logits": Source(_teachers, _teacher_ensemble),
    "teachers:committee": Source(_teachers, _committee),
    "teachers:meal-v2": Source(_teachers, _meal_v2),
    "ratings:deqa": Source(_gaussian, _deqa),
    "ratings:aggregator": Source(_ratings, _rating_aggregator),
    "partial:candidate-sets": Source(_candidates, _candidate_sets),
    "partial:complementary": Source(_complementary_input, _complementary),
}


def _by_item(soft: SoftLabels, ids: np.ndarray) -> np.ndarray:
    """Rows of ``soft`` in the order of the item ids ``ids``."""
    position = pd.Index(soft.item_ids).get_indexer(ids)
    assert (position >= 0).all()
    return soft.probs[position]


@pytest.fixture(params=sorted(SOURCES), name="source")
def _source(request: pytest.FixtureRequest) -> Source:
    return SOURCES[request.param]


def test_rows_are_distributions_with_provenance(source: Source) -> None:
    data = source.make(np.random.default_rng(0))
    soft = source.run(data, np.arange(N))
    assert isinstance(soft, SoftLabels)
    assert soft.n_items == N
    assert np.isfinite(soft.probs).all() and (soft.probs >= 0).all()
    np.testing.assert_allclose(soft.probs.sum(axis=1), 1.0, atol=1e-9)
    assert soft.provenance.get("method")


def test_deterministic(source: Source) -> None:
    data = source.make(np.random.default_rng(1))
    a = source.run(data, np.arange(N))
    b = source.run(data, np.arange(N))
    np.testing.assert_array_equal(a.probs, b.probs)


def test_row_order_only_permutes_rows(source: Source) -> None:
    data = source.make(np.random.default_rng(2))
    order = np.random.default_rng(3).permutation(N)
    base = source.run(data, np.arange(N))
    moved = source.run(data, order)
    if isinstance(data, pd.DataFrame):  # long format: items keep their ids
        ids = np.asarray(base.item_ids)
        np.testing.assert_allclose(_by_item(moved, ids), base.probs, rtol=1e-9, atol=1e-12)
    else:  # arrays: row j of the output belongs to input row order[j]
        np.testing.assert_allclose(moved.probs, base.probs[order], rtol=1e-9, atol=1e-12)
