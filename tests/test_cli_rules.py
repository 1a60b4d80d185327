"""`softlabels rules apply|analyze|fit`: outputs and bad input (exit 2, one line, no file)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import softlabels.infer.rules.examples as examples_module
import softlabels
from softlabels import SoftLabels
from softlabels.cli import app, main
from softlabels.cli.rules import rules_app
from softlabels.infer.rules import LabelModel

RULES = textwrap.dedent("""
    from softlabels.infer.rules import labeling_function

    @labeling_function(column="text")
    def link(text):
        return 1 if "http" in text else -1

    @labeling_function(column="text")
    def short(text):
        return 0 if len(text.split()) < 3 else -1

    @labeling_function(column="text")
    def check_out(text):
        return 1 if "check out" in text.lower() else -1
""")
DATA = "id,text\nc1,nice song\nc2,check out http://a.io now\nc3,Check out my channel please\nc4,cool\nc5,what a long quiet comment\n"


@pytest.fixture(scope="module", autouse=True)
def registered():
    """Register the group as ``softlabels rules`` (the package's cli/__init__ does it)."""
    if not any(group.name == "rules" for group in app.registered_groups):
        app.add_typer(rules_app, name="rules")


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    rules = tmp_path / "my_rules.py"
    rules.write_text(RULES)
    data = tmp_path / "comments.csv"
    data.write_text(DATA)
    return {"rules": rules, "data": data, "dir": tmp_path}


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(code: int, err: str, expected: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert expected in err, err


def test_apply_writes_the_vote_matrix(files, capsys):
    votes = files["dir"] / "votes.csv"
    code, stdout, err = run(capsys, "rules", "apply", "--rules", files["rules"], "--data", files["data"],
                            "-o", votes, "--id-col", "id", "--classes", "2")
    assert code == 0, err
    table = pd.read_csv(votes)
    assert table.columns.tolist() == ["item", "link", "short", "check_out"]
    assert table["item"].tolist() == ["c1", "c2", "c3", "c4", "c5"]
    assert table[["link", "short", "check_out"]].to_numpy().tolist() == [
        [-1, 0, -1], [1, -1, 1], [-1, -1, 1], [-1, 0, -1], [-1, -1, -1]
    ]
    assert "coverage 80.0%" in stdout


def test_apply_with_a_rules_list_and_row_numbers(files, capsys):
    listed = files["dir"] / "listed.py"
    listed.write_text("def shout(row):\n    return 1 if row.text.isupper() else -1\n\nRULES = [shout]\n")
    votes = files["dir"] / "votes.parquet"
    code, _, err = run(capsys, "rules", "apply", "--rules", listed, "--data", files["data"], "-o", votes)
    assert code == 0, err
    table = pd.read_parquet(votes)
    assert table.columns.tolist() == ["item", "shout"] and table["item"].tolist() == [0, 1, 2, 3, 4]


def test_the_example_rules_file_runs(files, capsys):
    data = files["dir"] / "yt.csv"
    pd.DataFrame({"CONTENT": ["subscribe to my channel http://x.io", "love this song lol"]}).to_csv(data, index=False)
    votes = files["dir"] / "votes.csv"
    code, _, err = run(capsys, "rules", "apply", "--rules", examples_module.__file__, "--data", data, "-o", votes)
    assert code == 0, err
    table = pd.read_csv(votes).set_index("item")
    assert table.columns.tolist() == [r.name for r in examples_module.SPAM_RULES]
    assert table.loc[0, "link"] == 1 and table.loc[0, "subscribe"] == 1
    assert table.loc[1, "laugh"] == 0 and table.loc[1, "appreciation"] == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("from softlabels.infer.rules import labeling_function\n"
         "@labeling_function(column='text')\ndef boom(text):\n    return 1 // (len(text) - 4)\n",
         "rule 'boom' raised ZeroDivisionError on row 3"),
        ("from softlabels.infer.rules import labeling_function\n"
         "@labeling_function(column='text')\ndef three(text):\n    return 3\n",
         "rule 'three' returned 3 on row 0"),
        ("x = 1\n", "defines no rules"),
        ("def broken(:\n", "syntax error on line 1"),
    ],
)
def test_apply_bad_rules_exit_2_without_output(files, capsys, body, expected):
    rules = files["dir"] / "bad_rules.py"
    rules.write_text(body)
    votes = files["dir"] / "votes.csv"
    code, _, err = run(capsys, "rules", "apply", "--rules", rules, "--data", files["data"], "-o", votes,
                       "--classes", "2")
    one_line_error(code, err, expected)
    assert not votes.exists()


def test_apply_bad_options(files, capsys):
    votes = files["dir"] / "votes.csv"
    args = ["rules", "apply", "--rules", files["rules"], "--data", files["data"]]
    one_line_error(*run(capsys, *args, "-o", votes, "--id-col", "nope")[::2], "no 'nope' column")
    one_line_error(*run(capsys, *args, "-o", files["dir"] / "votes.txt")[::2], "write .csv or .parquet")
    one_line_error(*run(capsys, *args, "-o", files["data"])[::2], "overwrite an input")
    one_line_error(*run(capsys, *args, "-o", votes, "--classes", "x")[::2], "--classes")
    assert not votes.exists()


@pytest.fixture()
def votes_file(files, capsys) -> Path:
    votes = files["dir"] / "votes.csv"
    assert run(capsys, "rules", "apply", "--rules", files["rules"], "--data", files["data"], "-o", votes,
               "--id-col", "id")[0] == 0
    return votes


@pytest.mark.parametrize("command", ["analyze", "fit"])
@pytest.mark.parametrize("header, repeated", [("item\tlink\tshort\tlink", "'link' appears more "
                                               "than once (columns 2 and 4); each rule"),
                                              ("item\tlink\titem\tcheck_out", "'item' appears "
                                               "more than once (columns 1 and 3)")])
def test_a_repeated_column_in_a_vote_file_is_an_error(votes_file, files, capsys, command,
                                                        header, repeated):
    # the CSV reader renames the second 'link' to 'link.1': a rule of its own
    lines = votes_file.read_text().splitlines()
    votes = files["dir"] / "votes.tsv"
    votes.write_text("\n".join([header] + [line.replace(",", "\t") for line in lines[1:]]) + "\n")
    out = files["dir"] / "soft.csv"
    argv = ["rules", command, votes] + (["-o", out] if command == "fit" else [])
    code, _, err = run(capsys, *argv)
    one_line_error(code, err, f"{votes}: column {repeated}")
    assert not out.exists()


def test_analyze_prints_and_writes_the_rule_table(votes_file, files, capsys):
    gold = files["dir"] / "gold.csv"
    gold.write_text("item,label\nc1,0\nc2,1\nc3,1\nc4,1\n")
    table_out = files["dir"] / "rules.csv"
    code, stdout, err = run(capsys, "rules", "analyze", votes_file, "--gold", gold, "-o", table_out)
    assert code == 0, err
    assert "check_out" in stdout and "coverage 80.0%" in stdout
    table = pd.read_csv(table_out).set_index("rule")
    assert table.loc["short", "coverage"] == pytest.approx(0.4)
    assert table.loc["short", "correct"] == 1 and table.loc["short", "incorrect"] == 1
    assert table.loc["check_out", "accuracy"] == 1.0
    assert str(table.loc["link", "polarity"]) == "1"


def test_analyze_headers_fit_an_80_column_terminal(votes_file, files, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    gold = files["dir"] / "gold.csv"
    gold.write_text("item,label\nc1,0\nc2,1\nc3,1\nc4,1\n")
    code, stdout, err = run(capsys, "rules", "analyze", votes_file, "--gold", gold)
    assert code == 0, err
    header = next(line for line in stdout.splitlines() if line.startswith("rule"))
    assert header.split() == ["rule", "polarity", "coverage", "overlaps", "conflicts",
                              "correct", "incorrect", "accuracy"]
    assert max(len(line) for line in stdout.splitlines()[1:]) <= 80


def test_analyze_gold_with_class_names(votes_file, files, capsys):
    gold = files["dir"] / "gold.csv"
    gold.write_text("item,label\nc1,ham\nc2,spam\n")
    code, stdout, err = run(capsys, "rules", "analyze", votes_file, "--gold", gold, "--classes", "ham,spam")
    assert code == 0, err
    bad = files["dir"] / "bad_gold.csv"
    bad.write_text("item,label\nc1,eggs\n")
    one_line_error(*run(capsys, "rules", "analyze", votes_file, "--gold", bad, "--classes", "ham,spam")[::2],
                   "label 'eggs' in data row 1 is not one of the classes")
    other = files["dir"] / "other_gold.csv"
    other.write_text("item,label\nzz,0\n")
    one_line_error(*run(capsys, "rules", "analyze", votes_file, "--gold", other)[::2],
                   "none of its items appear")
    twice = files["dir"] / "twice_gold.csv"  # read as 'label' and 'label.1': which is gold?
    twice.write_text("item,label,label\nc1,ham,spam\n")
    one_line_error(*run(capsys, "rules", "analyze", votes_file, "--gold", twice, "--classes",
                        "ham,spam")[::2],
                   f"{twice}: the label column 'label' appears 2 times (columns 2 and 3)")


def test_fit_writes_soft_labels(votes_file, files, capsys):
    out = files["dir"] / "labels.csv"
    rules_out = files["dir"] / "per_rule.csv"
    code, stdout, err = run(capsys, "rules", "fit", votes_file, "-o", out, "--classes", "ham,spam",
                            "--rules-out", rules_out)
    assert code == 0, err
    soft = SoftLabels.read_csv(out)
    assert soft.classes.tolist() == ["ham", "spam"]
    assert soft.item_ids.tolist() == ["c1", "c2", "c3", "c4", "c5"]
    assert soft.hard().tolist()[:4] == ["ham", "spam", "spam", "ham"]
    # no vote: P(class | every rule abstains), the default's uncovered posterior
    L = [[-1, 0, -1], [1, -1, 1], [-1, -1, 1], [-1, 0, -1], [-1, -1, -1]]
    np.testing.assert_allclose(soft.probs[4], LabelModel(classes=2).fit(L).uncovered_probs_, rtol=1e-6)
    assert soft.probs[4, 0] > 0.5  # the spam rules fire on every spam item with a vote
    assert soft.support.tolist() == [1, 2, 1, 1, 0]
    assert pd.read_csv(rules_out)["rule"].tolist() == ["link", "short", "check_out"]
    assert "80.0% with a vote" in stdout


def test_fit_methods_and_class_balance(votes_file, files, capsys):
    out = files["dir"] / "labels.parquet"
    code, _, err = run(capsys, "rules", "fit", votes_file, "-o", out, "--method", "matrix-completion",
                       "--class-balance", "0.7,0.3")
    assert code == 0, err
    soft = SoftLabels.read_parquet(out)
    assert soft.provenance["method"] == "rules-matrix-completion"
    np.testing.assert_allclose(soft.probs[4], [0.7, 0.3])
    code, _, err = run(capsys, "rules", "fit", votes_file, "-o", out, "--model", "data-programming",
                       "--class-balance", "learn")
    assert code == 0, err
    assert SoftLabels.read_parquet(out).provenance["params"]["model"] == "data-programming"


@pytest.mark.parametrize(
    ("spelling", "method"),
    [("label-model", "rules-label-model"), ("rules-label-model", "rules-label-model"),
     ("matrix-completion", "rules-matrix-completion"),
     ("rules-matrix-completion", "rules-matrix-completion")],
)
def test_fit_method_by_short_or_registered_name(votes_file, files, capsys, spelling, method):
    assert method in softlabels.list_sources(evidence="label-matrix")
    out = files["dir"] / "labels.parquet"
    code, _, err = run(capsys, "rules", "fit", votes_file, "-o", out, "--method", spelling)
    assert code == 0, err
    soft = SoftLabels.read_parquet(out)
    assert soft.item_ids.tolist() == ["c1", "c2", "c3", "c4", "c5"]
    assert soft.provenance["method"] == method  # the registered name, whichever was typed


@pytest.mark.parametrize(
    ("typo", "hint"),
    [("label-modle", "Did you mean 'label-model'"),
     ("rules-matrix-completon", "Did you mean 'rules-matrix-completion'")],
)
def test_fit_misspelt_method_suggests_the_name(votes_file, files, capsys, typo, hint):
    out = files["dir"] / "labels.csv"
    one_line_error(*run(capsys, "rules", "fit", votes_file, "-o", out, "--method", typo)[::2], hint)
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "args", "expected"),
    [
        ("item,a,b,c\n1,0,1,x\n", [], "rule 'c' is 'x', not an integer"),
        ("item,a,b,c\n1,0,1,-2\n", [], "only -1 means abstain"),
        ("item,a,b,c\n1,0,1,2\n", ["--classes", "2"], "outside the 2 classes"),
        ("item,a,b,c\n1,0,1,1\n1,0,0,1\n", [], "item 1 appears more than once"),
        ("item,a,b,c\n1,0,1,1\n", ["--method", "snorkel"], "--method must be one of"),
        ("item,a,b,c\n1,0,1,1\n", ["--model", "one-coins"], "Did you mean 'one-coin'"),
        ("item,a,b,c\n1,0,1,1\n", ["--class-balance", "0.5,x"], "--class-balance"),
        ("item,a,b,c\n1,0,1,1\n", ["--class-balance", "0.5,0.6"], "must sum to 1"),
        ("item,a,b\n1,0,1\n", ["--method", "matrix-completion"], "needs at least 3"),
        ("item,a,b\n1,-1,-1\n", [], "every rule abstains on every item"),
    ],
)
def test_fit_bad_input_exit_2_without_output(files, capsys, content, args, expected):
    votes = files["dir"] / "bad_votes.csv"
    votes.write_text(content)
    out = files["dir"] / "labels.csv"
    one_line_error(*run(capsys, "rules", "fit", votes, "-o", out, *args)[::2], expected)
    assert not out.exists()


def test_help_shows_examples(capsys):
    for command in ("apply", "analyze", "fit"):
        code, stdout, _ = run(capsys, "rules", command, "--help")
        assert code == 0 and f"softlabels rules {command}" in stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["--model", "one-coins"], "--model must be one of"),
     (["--class-balance", "0.5,0.6"], "must sum to 1"),
     (["--method", "matrix-completion", "--class-balance", "learn"], "--class-balance"),
     (["--method", "snorkel"], "--method must be one of")],
)
def test_fit_bad_option_reported_before_a_missing_vote_file(files, capsys, args, expected):
    out = files["dir"] / "labels.csv"
    code, _, err = run(capsys, "rules", "fit", files["dir"] / "missing.csv", "-o", out, *args)
    one_line_error(code, err, expected)
    assert "missing.csv" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--classes", "ham,spam,ham"], "--classes lists 'ham' more than once"),
        (["--class-balance", "0.2,0.3,0.5"], "--class-balance has 3 entries but"),
    ],
)
def test_fit_errors_name_the_option(votes_file, capsys, args, message):
    out = votes_file.parent / "labels.csv"
    one_line_error(*run(capsys, "rules", "fit", votes_file, "-o", out, *args)[::2], message)
    assert not out.exists()
