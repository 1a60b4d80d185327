"""The selection logic of benchmarks/crowd_defaults.py on a small hand-made results table
(the numbers are chosen so that every rule of the criterion decides one case)."""

from __future__ import annotations

import pandas as pd
import pytest


# (library, method, dataset, accuracy, nll)
ROWS = [
    # crowd-kit: best accuracy / lowest NLL per set are A .85 / .50, B .90 / .30, C .65 / .80
    ("crowd-kit", "ck1", "A", 0.80, 0.50), ("crowd-kit", "ck2", "A", 0.85, 0.60),
    ("crowd-kit", "ck1", "B", 0.90, 0.30), ("crowd-kit", "ck2", "B", 0.70, 0.90),
    ("crowd-kit", "ck1", "C", 0.60, 1.00), ("crowd-kit", "ck2", "C", 0.65, 0.80),
    # x: accurate, overconfident on A (NLL .90 > .50)
    ("softlabels", "x", "A", 0.90, 0.90), ("softlabels", "x", "B", 0.95, 0.20),
    ("softlabels", "x", "C", 0.70, 0.50),
    # y: passes everywhere (A: .84 >= .85 - .02), least accurate
    ("softlabels", "y", "A", 0.84, 0.40), ("softlabels", "y", "B", 0.89, 0.25),
    ("softlabels", "y", "C", 0.64, 0.70),
    # z: more than 2 points below crowd-kit on B (.87 < .88)
    ("softlabels", "z", "A", 0.86, 0.45), ("softlabels", "z", "B", 0.87, 0.28),
    ("softlabels", "z", "C", 0.70, 0.60),
    # w: best of all on A and B, but failed on C
    ("softlabels", "w", "A", 0.95, 0.10), ("softlabels", "w", "B", 0.99, 0.05),
]


@pytest.fixture()
def results(cd, tmp_path):
    frame = pd.DataFrame(ROWS, columns=["library", "method", "dataset", "accuracy", "nll"])
    frame["error"] = ""
    failed = {"library": "softlabels", "method": "w", "dataset": "C", "accuracy": "",
              "nll": "", "error": "ValueError: two classes only"}
    frame = pd.concat([frame, pd.DataFrame([failed])], ignore_index=True)
    path = tmp_path / "suite.csv"
    frame.to_csv(path, index=False)
    return cd.read_results(path)


def test_reference_is_crowdkit_best_accuracy_and_lowest_nll(cd, results):
    ref = cd.reference(results)
    assert ref.loc[["A", "B", "C"], "ck_acc"].tolist() == [0.85, 0.90, 0.65]
    assert ref.loc[["A", "B", "C"], "ck_best"].tolist() == ["ck2", "ck1", "ck2"]
    assert ref.loc[["A", "B", "C"], "ck_nll"].tolist() == [0.50, 0.30, 0.80]


def test_final_pick_prefers_fewest_failures_over_accuracy(cd, results):
    ref = cd.reference(results)
    table = cd.scores(results, ref, ["A", "B", "C"])
    # w did not run on C: not a candidate; x and z fail one set each, y none
    assert table["config"].tolist() == ["y", "x", "z"]
    assert table["fails"].tolist() == [0, 1, 1]
    assert table["mean_acc"].iloc[0] == pytest.approx((0.84 + 0.89 + 0.64) / 3)


def test_leave_one_out_picks_on_the_other_sets(cd, results):
    ref = cd.reference(results)
    loo = cd.leave_one_out(results, ref).set_index("held_out")
    # held out A: on B and C, x and y pass both; x is more accurate
    assert loo.at["A", "pick"] == "x"
    assert loo.at["A", "verdict"] == "fail: NLL"
    assert loo.at["A", "acc"] == pytest.approx(0.90)
    # held out B: x fails A; y and z pass A and C; z is more accurate
    assert loo.at["B", "pick"] == "z"
    assert loo.at["B", "verdict"] == "fail: acc"
    # held out C: w ran on A and B and wins there, but has no result on C
    assert loo.at["C", "pick"] == "w"
    assert loo.at["C", "verdict"] == "fail: did not run"


def test_ties_go_to_lower_nll_then_name(cd):
    rows = [("crowd-kit", "ck", "A", 0.5, 1.0),
            ("softlabels", "b", "A", 0.8, 0.3), ("softlabels", "a", "A", 0.8, 0.3),
            ("softlabels", "c", "A", 0.8, 0.2)]
    frame = pd.DataFrame(rows, columns=["library", "method", "dataset", "accuracy", "nll"])
    table = cd.scores(frame, cd.reference(frame), ["A"])
    assert table["config"].tolist() == ["c", "a", "b"]


def test_suite_checks_for_the_pick(cd, results):
    ref = cd.reference(results)
    lines = cd.suite_checks(results, ref, "y")
    # crowd-kit's best single model by mean accuracy: ck1 (.7667 > ck2's .7333)
    assert "0.7900 against 0.7667" in lines[0] and "ck1" in lines[0] and "**met**" in lines[0]
    assert "**met** (3 of 3)" in lines[1]
    assert "**met** (3 of 3)" in lines[2]
    lines = cd.suite_checks(results, ref, "x")
    assert "**not met** (2 of 3); above on A (0.900 vs 0.500)" in lines[2]


def test_shared_models_behind_crowdkit(cd):
    rows = [("softlabels", "glad", "A", 0.80, 0.5), ("crowd-kit", "GLAD", "A", 0.81, 0.5),
            ("softlabels", "glad", "B", 0.80, 0.5), ("crowd-kit", "GLAD", "B", 0.804, 0.5)]
    frame = pd.DataFrame(rows, columns=["library", "method", "dataset", "accuracy", "nll"])
    assert cd.shared_checks(frame) == [["glad", "2", "1", "A 0.800 vs 0.810"]]


def test_models_without_probabilities_are_not_the_nll_reference(cd, results):
    mmsr = pd.DataFrame([("crowd-kit", "MMSR", "A", 0.50, 0.01, "")],
                        columns=["library", "method", "dataset", "accuracy", "nll", "error"])
    ref = cd.reference(pd.concat([results, mmsr], ignore_index=True))
    assert ref.at["A", "ck_nll"] == 0.50  # not MMSR's 0.01


def test_only_honest_candidates_are_picked(cd, results, tmp_path):
    ref = cd.reference(results)
    honesty = tmp_path / "honesty.csv"
    pd.DataFrame({"config": ["x", "y", "z"], "honest": [True, False, True]}).to_csv(honesty, index=False)
    honest = cd.read_honesty(honesty)
    assert honest == {"x", "z"}
    table = cd.scores(results, ref, ["A", "B", "C"], honest)
    # y passes everywhere but is not honest: listed last, never picked
    assert table["config"].tolist() == ["x", "z", "y"]
    assert cd.pick(results, ref, ["A", "B", "C"], honest) == "x"
    with pytest.raises(SystemExit, match="no honest candidate"):
        cd.pick(results, ref, ["A", "B", "C"], set())


def test_seeds_are_one_candidate(cd, tmp_path):
    assert cd.without_seed("stacked:random_state=1") == "stacked"
    assert cd.without_seed("stacked:n_folds=10,random_state=1") == "stacked:n_folds=10"
    assert cd.without_seed("dawid-skene:alpha=0") == "dawid-skene:alpha=0"
    rows = [("crowd-kit", "ck", "A", 0.80, 0.50), ("crowd-kit", "ck", "B", 0.80, 0.50),
            # seed 1 passes A's NLL check, seed 0 does not; their mean (.49) does
            ("softlabels", "s", "A", 0.85, 0.52), ("softlabels", "s:random_state=1", "A", 0.87, 0.46),
            ("softlabels", "s", "B", 0.90, 0.30), ("softlabels", "s:random_state=1", "B", 0.90, 0.30),
            ("softlabels", "t", "A", 0.83, 0.40), ("softlabels", "t", "B", 0.84, 0.40)]
    frame = pd.DataFrame(rows, columns=["library", "method", "dataset", "accuracy", "nll"])
    table = cd.scores(frame, cd.reference(frame), ["A", "B"]).set_index("config")
    assert sorted(table.index) == ["s", "t"]
    assert table.at["s", "mean_acc"] == pytest.approx((0.86 + 0.90) / 2)
    assert table.at["s", "fails"] == 0
    loo = cd.leave_one_out(frame, cd.reference(frame)).set_index("held_out")
    assert loo.at["A", "pick"] == "s" and loo.at["A", "nll"] == pytest.approx(0.49)
    # a candidate is honest only when every seed is
    honesty = tmp_path / "honesty.csv"
    pd.DataFrame({"config": ["s", "s:random_state=1", "t"],
                  "honest": [True, False, True]}).to_csv(honesty, index=False)
    assert cd.read_honesty(honesty) == {"t"}
