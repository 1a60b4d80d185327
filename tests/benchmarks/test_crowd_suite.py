"""benchmarks/crowd_suite.py without the data: parsing of parameter variants and the
tables built from a small hand-made results frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def test_parse_config(cs):
    assert cs.parse_config("dawid-skene") == ("dawid-skene", "dawid-skene", {})
    label, method, params = cs.parse_config("dawid-skene:alpha=0, n_iter=5")
    assert (label, method) == ("dawid-skene:alpha=0,n_iter=5", "dawid-skene")
    assert params == {"alpha": 0, "n_iter": 5}
    assert cs.parse_config("mace:method=em")[2] == {"method": "em"}  # not a literal: a string
    with pytest.raises(SystemExit, match="not a crowd source"):
        cs.parse_config("no-such-model:alpha=0")
    with pytest.raises(SystemExit, match="not key=value"):
        cs.parse_config("dawid-skene:alpha")


def test_parse_config_rejects_bad_parameters(cs):
    from softlabels.core.errors import InvalidParameterError

    with pytest.raises((InvalidParameterError, TypeError)):
        cs.parse_config("dawid-skene:no_such_parameter=1")


def _results(cs):
    rows = [
        ("softlabels", "m1", "A", 0.9, 0.3), ("softlabels", "m2", "A", 0.8, 0.2),
        ("crowd-kit", "K", "A", 0.85, 0.4),
        ("softlabels", "m1", "B", 0.6, 1.0), ("softlabels", "m2", "B", np.nan, np.nan),
        ("crowd-kit", "K", "B", 0.7, 0.5),
    ]
    frame = pd.DataFrame(rows, columns=["library", "method", "dataset", "accuracy", "nll"])
    frame["error"] = [None, None, None, None, "ValueError: boom", None]
    return frame


def test_metric_table_bold_best_and_partial_means(cs):
    text = cs.metric_table(_results(cs), "accuracy", "max")
    lines = text.splitlines()
    assert lines[0] == "| set | m1 | m2 | ck:K |"
    assert lines[2] == "| A | **0.900** | 0.800 | 0.850 |"
    assert lines[3] == "| B | 0.600 | fails | **0.700** |"
    # m2 ran on one set of two: its mean is marked with the count
    assert lines[4] == "| **mean** | 0.750 | 0.800 (1) | 0.775 |"


def test_comparison_table(cs):
    text = cs.comparison_table(_results(cs), "m1")
    rows = text.splitlines()[2:]
    assert rows[0] == ("| A | m1 0.900 | ck:K 0.850 | +0.050 | m2 0.200 | ck:K 0.400 | "
                       "0.900 | 0.300 |")
    assert rows[1] == ("| B | m1 0.600 | ck:K 0.700 | -0.100 | m1 1.000 | ck:K 0.500 | "
                       "0.600 | 1.000 |")


def test_tie_accuracy_counts_a_tie_as_a_random_break(cs):
    probs = pd.DataFrame(
        {"a": [0.5, 0.4, 1 / 3, 0.2], "b": [0.5, 0.6, 1 / 3, 0.8], "c": [0.0, 0.0, 1 / 3, 0.0]},
        index=["i1", "i2", "i3", "i4"],
    )
    truth = pd.Series({"i1": "b", "i2": "a", "i3": "c", "i4": "b", "missing": "a"})
    # i1: tie of 2, truth in it -> 1/2; i2: miss; i3: tie of 3 -> 1/3; i4: hit
    assert cs.tie_accuracy(probs, truth) == pytest.approx((0.5 + 0 + 1 / 3 + 1) / 4)
    # the tie does not depend on the column order, unlike an arg-max
    assert cs.tie_accuracy(probs[["c", "b", "a"]], truth) == pytest.approx(
        cs.tie_accuracy(probs, truth))
    # a near tie (rounding) counts as a tie; a true class no model outputs is a miss
    near = pd.DataFrame({"a": [0.5 + 1e-12], "b": [0.5 - 1e-12]}, index=["i1"])
    assert cs.tie_accuracy(near, pd.Series({"i1": "a"})) == pytest.approx(0.5)
    assert cs.tie_accuracy(near, pd.Series({"i1": "z"})) == 0.0


def test_a_run_named_twice_is_refused_before_any_fit(cs):
    # two rows for one (library, method, set) cannot be tabled: refused up front,
    # not after the whole suite has run
    configs = [cs.parse_config("majority-vote"), cs.parse_config("dawid-skene:alpha=0")]
    cs.check_unique(configs, ["DawidSkene", "GLAD"])  # all distinct: no error
    with pytest.raises(SystemExit, match="majority-vote.*more than once"):
        cs.check_unique([*configs, cs.parse_config("majority-vote")], [])
    with pytest.raises(SystemExit, match="dawid-skene:alpha=0.*more than once"):
        cs.check_unique([*configs, cs.parse_config("dawid-skene: alpha=0")], [])
    with pytest.raises(SystemExit, match="--crowdkit.*GLAD.*more than once"):
        cs.check_unique(configs, ["GLAD", "DawidSkene", "GLAD"])


def test_rebuilt_tables_state_the_environment_of_the_fits(cs, tmp_path):
    # the fits' environment (crowd-kit and pandas versions: crowd-kit's Wawa breaks the
    # ties of its majority vote by pandas' column order) travels with the CSV; a
    # rebuild from the CSV states it, and its own environment only as the rebuild's
    csv_path = tmp_path / "suite.csv"
    text = cs.environment_text(12.0, csv_path)  # nothing recorded beside this CSV
    assert "not recorded" in text and "Tables rebuilt from suite.csv" in text
    cs.environment_path(csv_path).write_text("- Python 0.0; crowd-kit 9.9.9\n")
    text = cs.environment_text(12.0, csv_path)
    fits, rebuilt = text.split("Tables rebuilt from suite.csv")
    assert "crowd-kit 9.9.9" in fits and "not recorded" not in text
    assert "crowd-kit 9.9.9" not in rebuilt and "Python" in rebuilt
    whole = cs.environment_text(120.0, None)  # a run that fitted: its own environment
    assert whole.startswith("Environment:\n- Machine") and "Whole run: 2.0 min" in whole
