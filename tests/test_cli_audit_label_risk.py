"""`softlabels audit --answers [--gold]` and `softlabels report --gold`: the label risk of
each item and the labellers' quality on gold items (Estes et al. 2024)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from softlabels import SoftLabels
from softlabels.audit.agreement import bayesian_label_risk, labeller_quality
from softlabels.cli import main

# Three items, in order of first appearance 1, 2, 3. With equal weights the risks are
# 1/3 (x, x, y), 0 (y, y, y) and 1/3 (x, y, x).
ANSWERS = "item,worker,label\n1,a,x\n1,b,x\n1,c,y\n2,a,y\n2,b,y\n2,c,y\n3,a,x\n3,b,y\n3,c,x\n"
P = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
Y = np.array([0, 1, 0])


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def files(tmp_path):
    f = {"answers": tmp_path / "answers.csv", "gold": tmp_path / "gold.csv",
         "p": tmp_path / "p.npy", "y": tmp_path / "y.npy", "out": tmp_path / "issues.csv"}
    f["answers"].write_text(ANSWERS)
    f["gold"].write_text("item,label\n1,x\n2,y\n")  # c is wrong on item 1: quality 1/2
    np.save(f["p"], P)
    np.save(f["y"], Y)
    return f


def test_answers_add_the_label_risk_column(files, capsys):
    code, stdout, err = run(capsys, "audit", "--labels", files["y"], "--pred-probs", files["p"],
                            "-o", files["out"], "--answers", files["answers"])
    assert code == 0, err
    table = pd.read_csv(files["out"])
    np.testing.assert_allclose(table["label_risk"], [1 / 3, 0.0, 1 / 3])
    assert table["n_labellers"].tolist() == [3, 3, 3]
    assert "label risk (equal weights): mean 0.222, 0.0% of 3 items above 0.34" in stdout
    assert "labeller quality" not in stdout


def test_gold_weighs_the_risk_and_reports_the_labellers(files, capsys):
    code, stdout, err = run(capsys, "audit", "--labels", files["y"], "--pred-probs", files["p"],
                            "-o", files["out"], "--answers", files["answers"],
                            "--gold", files["gold"])
    assert code == 0, err
    table = pd.read_csv(files["out"])
    answers = pd.read_csv(files["answers"])
    q = labeller_quality(answers, {1: "x", 2: "y"})
    want = bayesian_label_risk(answers, q, unknown="mean")
    np.testing.assert_allclose(table["label_risk"], want.risk)
    # a and b are right on both gold items (weight 1); c only on item 2: quality 1/2,
    # recall 0 on x and 1 on y, so his x weighs 0 and his y 1/2. Item 1: C = (2, 0.5) / 2.5;
    # item 3: a's x against b's y, c's x weighs nothing
    np.testing.assert_allclose(table["label_risk"], [0.2, 0.0, 0.5])
    assert table["n_labellers"].tolist() == [3, 3, 2]
    assert "labeller quality (accuracy on 2 gold items): 3 of 3 labellers scored" in stdout
    assert "lowest: c 0.50 (2 gold), a 1.00 (2 gold), b 1.00 (2 gold)" in stdout
    assert "label risk (quality-weighted): mean 0.233, 33.3% of 3 items above 0.34" in stdout


def test_rows_follow_a_soft_label_table_by_item_id(files, tmp_path, capsys):
    probs = tmp_path / "probs.csv"
    SoftLabels(P[::-1], classes=["x", "y"], item_ids=[3, 2, 1]).to_frame().to_csv(
        probs, index=False)
    code, _, err = run(capsys, "audit", "--labels", files["y"], "--pred-probs", probs,
                       "-o", files["out"], "--answers", files["answers"])
    assert code == 0, err
    table = pd.read_csv(files["out"])
    np.testing.assert_allclose(table["label_risk"], [1 / 3, 0.0, 1 / 3])  # items 3, 2, 1


@pytest.mark.parametrize("case, message", [
    ("gold-alone", "--gold needs --answers"),
    ("rows", "3 items but .* has answers on 2"),
    ("gold-items", "none of its items appear"),
])
def test_bad_inputs_name_the_fault(case, message, files, tmp_path, capsys):
    argv = ["audit", "--labels", files["y"], "--pred-probs", files["p"], "-o", files["out"]]
    if case == "gold-alone":
        argv += ["--gold", files["gold"]]
    elif case == "rows":
        short = tmp_path / "short.csv"
        short.write_text("\n".join(ANSWERS.splitlines()[:7]) + "\n")  # items 1 and 2
        argv += ["--answers", short]
    else:
        bad = tmp_path / "bad_gold.csv"
        bad.write_text("item,label\n7,x\n")
        argv += ["--answers", files["answers"], "--gold", bad]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert re.search(message, err), err
    assert not files["out"].exists()


def test_report_gold_adds_labeller_quality(files, tmp_path, capsys):
    page = tmp_path / "report.html"
    code, _, err = run(capsys, "report", "--answers", files["answers"], "--gold", files["gold"],
                       "--method", "majority-vote", "-o", page)
    assert code == 0, err
    html = page.read_text(encoding="utf-8")
    assert 'id="labeller-quality"' in html and "Labellers of lowest quality" in html
    code, _, err = run(capsys, "report", "--labels", files["y"], "--pred-probs", files["p"],
                       "--gold", files["gold"], "-o", tmp_path / "r2.html")
    assert code == 2 and "--gold needs --answers" in err


def test_answers_with_other_column_names(files, tmp_path, capsys):
    named = tmp_path / "named.csv"
    named.write_text(ANSWERS.replace("item,worker,label", "task,annotator,answer"))
    gold = tmp_path / "named_gold.csv"
    gold.write_text("task,answer\n1,x\n2,y\n")
    base = ["audit", "--labels", files["y"], "--pred-probs", files["p"], "-o", files["out"],
            "--answers", named]
    code, _, err = run(capsys, *base)
    assert code == 2 and "--item-col" in err, err  # the error names an option audit has
    code, stdout, err = run(capsys, *base, "--gold", gold, "--item-col", "task",
                            "--worker-col", "annotator", "--label-col", "answer")
    assert code == 0, err
    np.testing.assert_allclose(pd.read_csv(files["out"])["label_risk"].iloc[1], 0.0)
    assert "labeller quality (accuracy on 2 gold items)" in stdout
