"""benchmarks/rules_suite.py without the data: the selection criterion and the
leave-one-set-out choice on a hand-made results frame, and the shape of the rule sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def _frame(rs):
    # sets a1, a2 (group A) and b (group B); methods x, y and the current default
    acc = {
        "a1": {"majority vote": 0.80, "snorkel": 0.70, "x": 0.85, "y": 0.81, rs.DEFAULT: 0.80},
        "a2": {"majority vote": 0.60, "snorkel": 0.65, "x": 0.70, "y": 0.66, rs.DEFAULT: 0.60},
        "b": {"majority vote": 0.90, "snorkel": 0.80, "x": 0.70, "y": 0.95, rs.DEFAULT: 0.90},
    }
    rows = [{"group": s[0].upper(), "set": s, "method": m, "accuracy": a}
            for s, by in acc.items() for m, a in by.items()]
    return pd.DataFrame(rows)


def test_criterion_counts_failures_then_mean_accuracy(rs):
    table = rs.criterion(_frame(rs), ["x", "y", rs.DEFAULT])
    # y: never below either; x: below MV and snorkel on b; default: below snorkel on a2;
    # x and the default fail once each and the default's mean (0.767) beats x's (0.75)
    assert table["method"].tolist() == ["y", rs.DEFAULT, "x"]
    assert table.set_index("method").loc["x", ["below_mv", "below_snorkel", "fails"]].tolist() == [1, 1, 1]
    assert table.set_index("method").loc[rs.DEFAULT, "fails"] == 1
    assert table.set_index("method").loc["y", "mean_accuracy"] == pytest.approx((0.81 + 0.66 + 0.95) / 3)


def test_criterion_keeps_the_default_on_equal_scores(rs):
    frame = _frame(rs)
    frame.loc[frame.method == "x", "accuracy"] = frame.loc[frame.method == rs.DEFAULT, "accuracy"].to_numpy()
    assert rs.criterion(frame, ["x", rs.DEFAULT])["method"].iloc[0] == rs.DEFAULT


def test_criterion_prefers_the_lower_nll_on_equal_accuracy_after_the_default(rs):
    frame = _frame(rs)
    frame.loc[frame.method == "x", "accuracy"] = frame.loc[frame.method == "y", "accuracy"].to_numpy()
    frame["nll"] = np.where(frame.method == "x", 0.3, 0.4)
    table = rs.criterion(frame, ["y", "x", rs.DEFAULT])
    assert table["method"].tolist()[:2] == ["x", "y"]
    assert table.set_index("method").loc["x", "mean_nll"] == pytest.approx(0.3)
    # tied with the default, the lower NLL does not replace it
    frame.loc[frame.method == rs.DEFAULT, "accuracy"] = frame.loc[frame.method == "y", "accuracy"].to_numpy()
    assert rs.criterion(frame, ["y", "x", rs.DEFAULT])["method"].tolist() == [rs.DEFAULT, "x", "y"]


def test_expected_accuracy_counts_a_tie_of_n_classes_as_1_over_n(rs):
    scores = np.array([[2.0, 2.0, 0.0], [1.0, 1.0, 1.0], [0.0, 3.0, 1.0], [0.0, 0.0, 0.0]])
    y = np.array([0, 2, 1, 2])
    assert rs.expected_accuracy(scores, y) == pytest.approx((1 / 2 + 1 / 3 + 1 + 1 / 3) / 4)


def test_leave_one_out_picks_on_the_other_groups(rs):
    rows = {r[0]: r for r in rs.leave_one_out(_frame(rs), ["x", "y", rs.DEFAULT])}
    # holding out B, on A x and y never fail and x is more accurate: x, which fails on b
    assert rows["B"][1] == "x" and rows["B"][-1] == "1 / 1"
    assert rows["B"][5] == "-0.200"
    # holding out A, on b only y is at least as accurate as both references
    assert rows["A"][1] == "y" and rows["A"][-1] == "0 / 2"


def test_rule_sets_are_realistic_sizes_and_abstain():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        from rulesets import spam_keywords, spam_structure, tabular
    finally:
        sys.path.pop(0)
    from softlabels.infer.rules import apply_rules

    for rules in (spam_keywords.RULES, spam_structure.RULES, tabular.BREAST_CANCER, tabular.WINE,
                  tabular.IRIS):
        assert 5 <= len(rules) <= 20
        assert len({r.name for r in rules}) == len(rules)
    texts = pd.DataFrame({"CONTENT": ["Check out my channel http://x.io\ufeff", "nice song lol", "ok?"]})
    L = apply_rules(spam_structure.RULES, texts, classes=2).to_numpy()
    names = [r.name for r in spam_structure.RULES]
    assert L[0, names.index("url")] == 1 and L[0, names.index("check_out")] == 1
    assert L[2, names.index("question")] == 0  # end-of-text rule after the byte-order mark
    # a threshold rule votes above its quantile and abstains elsewhere
    x = pd.DataFrame({"alcohol": np.arange(10.0)})
    votes = tabular.threshold("alcohol", ">", 0.7, 0).apply(x)
    assert votes.tolist() == [-1] * 7 + [0] * 3
    band = tabular.threshold("alcohol", "in", (0.4, 0.6), 1).apply(x)
    assert band.tolist() == [-1] * 4 + [1] * 2 + [-1] * 4


def test_candidates_are_distinct_and_include_the_default(rs):
    labels = [rs.label(rs.LabelModel(**params)) for params in rs.candidates()]
    # the hierarchical model of the alpha grid (uniform, alpha 1, default pooling and
    # prior) is also in the pooling grid, once per handling of silent items
    assert len(set(labels)) == len(labels) - len(rs.UNCOVERED)
    assert len(rs.variants()) == len(set(labels)) + 2  # and the two matrix-completion models
    assert rs.DEFAULT in rs.variants()
    # the hierarchical model is labelled with its pooling and prior, the silent items' rule last
    params = dict(model="hierarchical-one-coin", class_balance="uniform", alpha=1.0, pooling=30.0,
                  prior_accuracy=0.7, uncovered="abstentions")
    assert rs.label(rs.LabelModel(**params)) == (
        "hierarchical-one-coin, uniform, alpha=1, pooling=30, prior_accuracy=0.7, uncovered=abstentions")
    assert rs.label(rs.LabelModel(model="one-coin", uncovered="prior")) == "one-coin, uniform, alpha=1"
