"""``bayesian_label_risk(unknown="mean")``: labellers without a weight count as an average
one instead of being left out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from softlabels.audit.agreement import bayesian_label_risk, labeller_quality
from softlabels.core.annotations import Annotations
from softlabels.core.errors import InvalidParameterError


def frame(rows):
    return pd.DataFrame(rows, columns=["item", "worker", "label"])


DF = frame([(1, "a", 1), (1, "b", 1), (1, "c", 0), (2, "a", 0), (2, "b", 1), (3, "c", 1)])


def test_unknown_labeller_gets_the_mean_weight():
    # c has no weight: "mean" gives him (0.9 + 0.3) / 2 = 0.6, as if quality were
    # [0.9, 0.3, 0.6]: item 1 C1 = 1.2 / 1.8; item 3 (c alone) is defined
    res = bayesian_label_risk(DF, quality={"a": 0.9, "b": 0.3}, unknown="mean")
    np.testing.assert_allclose(res.soft_labels.probs, [[1 / 3, 2 / 3], [0.75, 0.25], [0, 1]])
    np.testing.assert_allclose(res.risk, [1 / 3, 0.25, 0.0])
    assert res.n_labellers.tolist() == [3, 2, 1]
    assert res.soft_labels.provenance["params"]["unknown"] == "mean"
    # the default leaves c out: item 1 is then unanimous, item 3 has no risk
    drop = bayesian_label_risk(DF, quality={"a": 0.9, "b": 0.3})
    np.testing.assert_allclose(drop.risk[:2], [0.0, 0.25])
    assert np.isnan(drop.risk[2]) and drop.n_labellers.tolist() == [2, 2, 0]


def test_mean_is_taken_per_class_over_known_weights():
    ann = Annotations.from_frame(DF)
    w = np.array([[0.9, np.nan], [0.2, 0.4], [np.nan, np.nan]])  # rows: a, b, c
    res = bayesian_label_risk(ann, quality=w, unknown="mean")
    # naive: NaN -> mean of the known weights of its column
    filled = w.copy()
    for k in range(2):
        known = w[~np.isnan(w[:, k]), k]
        filled[np.isnan(w[:, k]), k] = known.mean()
    want = bayesian_label_risk(ann, quality=filled)
    np.testing.assert_allclose(res.soft_labels.probs, want.soft_labels.probs, atol=1e-12)
    np.testing.assert_allclose(res.risk, want.risk, atol=1e-12)
    # a class without any known weight takes the mean of all known weights
    w2 = np.array([[0.9, np.nan], [0.3, np.nan], [np.nan, np.nan]])
    res2 = bayesian_label_risk(ann, quality=w2, unknown="mean")
    want2 = bayesian_label_risk(ann, quality=np.where(np.isnan(w2), 0.6, w2))
    np.testing.assert_allclose(res2.risk, want2.risk, atol=1e-12)


def test_no_known_weight_is_equal_weights():
    res = bayesian_label_risk(DF, quality=np.full((3, 2), np.nan), unknown="mean")
    np.testing.assert_allclose(res.risk, bayesian_label_risk(DF).risk)


def test_labeller_quality_without_gold_for_some():
    df = frame([(1, "a", 0), (2, "a", 1), (1, "b", 0), (2, "b", 0), (9, "a", 0), (9, "b", 0),
                (9, "c", 1), (8, "c", 1)])
    q = labeller_quality(df, {1: 0, 2: 1})
    # a: quality 1, recall 1 on both classes; b: quality 0.5, recall 1 on 0, 0 on 1;
    # c has no gold: mean prior (0.75 on class 0, 0.5 on class 1)
    res = bayesian_label_risk(df, q, unknown="mean")
    items = list(Annotations.from_frame(df).item_ids)
    c0 = (1.0 + 0.5) / (1.0 + 0.5 + 0.5)
    assert res.soft_labels.probs[items.index(9), 0] == pytest.approx(c0)
    assert res.risk[items.index(8)] == pytest.approx(0.0)
    assert np.isnan(bayesian_label_risk(df, q).risk[items.index(8)])


def test_unknown_option_is_checked():
    with pytest.raises(InvalidParameterError, match="'unknown'.*'drop', 'mean'.*'average'"):
        bayesian_label_risk(DF, unknown="average")
