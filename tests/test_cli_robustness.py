"""The command line on bad and unusual input: one-line errors naming the file, exit 2,
nothing half-written; unusual but valid files give results."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd
import pytest

import softlabels.cli.crowd as crowd
import softlabels.report
from softlabels import SoftLabels
from test_cli_rules import files, one_line_error, run  # noqa: F401 (files: a fixture)

ANSWERS = "item,worker,label\n1,a,x\n1,b,x\n1,c,y\n2,a,y\n2,b,y\n2,c,y\n3,a,x\n3,b,y\n3,c,x\n"
VOTES = "item,link,short\nc1,-1,0\nc2,1,-1\nc3,-1,-1\nc4,-1,0\n"


def error(code: int, err: str, *parts: str) -> None:
    """Exit 2 with one line on stderr that holds every part."""
    for part in parts:
        one_line_error(code, err, part)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture()
def answers(tmp_path: Path) -> Path:
    path = tmp_path / "answers.csv"
    path.write_text(ANSWERS)
    return path


# --- aggregate: JSON lines ------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"item": 1, "worker": "a", "label": {"x": 1}}', "field 'label' holds an object"),
        ('{"item": [1], "worker": "a", "label": "x"}', "field 'item' holds a list"),
    ],
)
def test_nested_json_values_are_a_error(tmp_path, capsys, line, expected):
    src = tmp_path / "answers.jsonl"
    src.write_text('{"item": 2, "worker": "b", "label": "y"}\n' + line + "\n")
    out = tmp_path / "labels.csv"
    error(*run(capsys, "aggregate", src, "-o", out)[::2], "answers.jsonl", "line 2", expected)
    assert files_in(tmp_path) == ["answers.jsonl"]


def test_nested_parquet_values_are_a_one_line_error(tmp_path, capsys):
    src = tmp_path / "answers.parquet"
    pd.DataFrame({"item": [[1], [2]], "worker": ["a", "b"], "label": ["x", "y"]}).to_parquet(src)
    out = tmp_path / "labels.csv"
    code, _, err = run(capsys, "aggregate", src, "-o", out)
    error(code, err, "answers.parquet: data row 1, field 'item' holds a list")
    assert not out.exists()


def test_json_ids_mixing_numbers_and_text_are_read_as_text(tmp_path, capsys):
    src = tmp_path / "answers.jsonl"
    src.write_text(
        '{"item": 1, "worker": "a", "label": "x"}\n{"item": "b", "worker": 2, "label": "y"}\n'
        '{"item": "b", "worker": "a", "label": "y"}\n'
    )
    out = tmp_path / "labels.parquet"
    code, _, err = run(capsys, "aggregate", src, "-m", "majority-vote", "-o", out)
    assert code == 0, err
    soft = SoftLabels.read_parquet(out)
    assert soft.item_ids.tolist() == ["1", "b"]
    assert soft.hard().tolist() == ["x", "y"]


def test_json_text_ids_keep_leading_zeros(tmp_path, capsys):
    src = tmp_path / "answers.jsonl"
    src.write_text('{"item": "001", "worker": "a", "label": "x"}\n'
                   '{"item": "1", "worker": "a", "label": "y"}\n')
    out = tmp_path / "labels.csv"
    code, _, err = run(capsys, "aggregate", src, "-m", "majority-vote", "-o", out)
    assert code == 0, err
    table = pd.read_csv(out, dtype={"item": str})
    assert table["item"].tolist() == ["001", "1"]  # two items, not one with two answers
    assert table["support"].tolist() == [1, 1]


# --- aggregate: gold, classes, several outputs ----------------------------------------


@pytest.mark.parametrize(
    ("gold", "expected"),
    [
        ("item,label\n1,q\n", "gold label 'q' (item 1) is not one of the classes"),
        ("item,label\n1,x\n2,\n", "'label' column is empty in data row 2"),
        ("item,label\n1,x\n1,y\n", "item 1 more than once"),
        ("item,label\n99,x\n", "none of its items appear in"),
        ("item,answer\n1,x\n", "the gold file needs a 'label' column."),
        ("task,label\n1,x\n", "the gold file needs an 'item' column."),
        ("item,label,label\n1,x,y\n", "the label column 'label' appears 2 times (columns 2 "
                                       "and 3); keep one."),
        ("item,label,item\n1,x,2\n", "the item column 'item' appears 2 times"),
    ],
)
def test_gold_errors_name_the_gold_file(answers, tmp_path, capsys, gold, expected):
    path = tmp_path / "gold.csv"
    path.write_text(gold)
    out = tmp_path / "labels.csv"
    error(*run(capsys, "aggregate", answers, "-o", out, "--gold", path)[::2],
                   "gold.csv: ", expected)
    assert not out.exists()


def test_repeated_class_is_named_plainly(answers, tmp_path, capsys):
    out = tmp_path / "labels.csv"
    code, _, err = run(capsys, "aggregate", answers, "-o", out, "--classes", "x,x,y")
    error(code, err, "--classes lists 'x' more than once")
    assert "np.str_" not in err


def test_aggregate_writes_both_outputs_or_neither(answers, tmp_path, capsys, monkeypatch):
    from softlabels.core.errors import InputError

    def failing_write(frame, path, **kwargs):
        raise InputError(f"{path}: cannot be written.")

    monkeypatch.setattr(crowd, "write_frame", failing_write)
    out, workers = tmp_path / "labels.csv", tmp_path / "workers.csv"
    out.write_text("precious\n")
    code, _, err = run(capsys, "aggregate", answers, "-o", out, "--workers-out", workers)
    error(code, err, "workers.csv: cannot be written")
    assert out.read_text() == "precious\n"
    assert files_in(tmp_path) == ["answers.csv", "labels.csv"]


# --- quickstart -------------------------------------------------------------------------


def test_quickstart_failed_fit_leaves_no_folder(tmp_path, capsys):
    target = tmp_path / "qs"
    code, _, err = run(capsys, "quickstart", "--out-dir", target, "-m", "kos")
    error(code, err, "KOS supports at most 2 classes")
    assert not target.exists()


def test_quickstart_failed_report_leaves_no_partial_results(tmp_path, capsys, monkeypatch):
    from softlabels.core.errors import InputError

    def failing_report(*args, **kwargs):
        raise InputError("the report cannot be built.")

    monkeypatch.setattr(softlabels.report, "write_report", failing_report)
    target = tmp_path / "qs"
    code, _, err = run(capsys, "quickstart", "--out-dir", target, "-m", "majority-vote")
    error(code, err, "the report cannot be built")
    assert not target.exists()


# --- rules apply --------------------------------------------------------------------------


@pytest.fixture()
def rule_files(files: dict[str, Path]) -> dict[str, Path]:
    """The rules and data of test_cli_rules, and a vote file."""
    files["votes"] = files["dir"] / "votes.csv"
    files["votes"].write_text(VOTES)
    return files


def rules_apply(capsys, files, *extra: object, rules: Path | None = None,
                data: Path | None = None) -> tuple[int, str, Path]:
    """``softlabels rules apply`` into ``out.csv``: exit code, stderr and the output path."""
    out = files["dir"] / "out.csv"
    code, _, err = run(capsys, "rules", "apply", "--rules", rules or files["rules"], "--data",
                       data or files["data"], "-o", out, *extra)
    return code, err, out


def apply_refused(capsys, files, name: str, text: str, expected: str, *extra: object) -> None:
    """``rules apply`` on data ``text`` saved as ``name``: exit 2 with ``expected``, and
    no vote file."""
    path = files["dir"] / name
    path.write_text(text)
    code, err, out = rules_apply(capsys, files, *extra, data=path)
    error(code, err, name, expected)
    assert not out.exists()


def test_apply_header_only_data_writes_nothing(rule_files, capsys):
    apply_refused(capsys, rule_files, "empty.csv", "id,text\n", "no data rows")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("id,text\nc1,nice\nc1,http x\n", "item 'c1' appears more than once (--id-col column 'id', data row 2)"),
        ("id,text\nc1,nice\n,http x\n", "--id-col column 'id' is empty in data row 2"),
        # read as 'id' and 'id.1': which are the item ids?
        ("id,text,id\nc1,nice,z1\nc2,http x,z2\n",
         "the --id-col column 'id' appears 2 times (columns 1 and 3); keep one."),
    ],
)
def test_apply_refuses_ids_that_cannot_key_the_votes(rule_files, capsys, data, expected):
    apply_refused(capsys, rule_files, "ids.csv", data, expected, "--id-col", "id")


def test_apply_refuses_a_repeated_data_column(rule_files, capsys):
    # read as 'text' and 'text.1': the rules would see the first copy only
    apply_refused(capsys, rule_files, "twice.csv", "text,n,text\nnice,1,http x\nhi,2,ok\n",
                  "the data column 'text' appears 2 times (columns 1 and 3)")
    # a column really named like pandas' renaming is no repeat
    path = rule_files["dir"] / "twice.csv"
    path.write_text("text,text.1\nnice,1\nhi,2\n")
    code, _, out = rules_apply(capsys, rule_files, data=path)
    assert code == 0 and out.exists()


@pytest.mark.parametrize("k", ["0", "1"])
def test_apply_too_few_classes_names_the_option(rule_files, capsys, k):
    code, err, _ = rules_apply(capsys, rule_files, "--classes", k)
    error(code, err, f"--classes '{k}'", "at least 2 classes")


@pytest.mark.parametrize("body", ["import sys\nsys.exit(3)\n", "raise SystemExit\n"])
def test_apply_rules_file_calling_exit_is_a_one_line_error(rule_files, capsys, body):
    rules = rule_files["dir"] / "exits.py"
    rules.write_text(body)
    code, err, out = rules_apply(capsys, rule_files, rules=rules)
    error(code, err, "exits.py", "called exit")
    assert not out.exists()


# --- rules analyze / fit ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "args"),
    [
        ("item,label\nc1,\nc2,1\nc3,\n", []),  # a blank label is unknown; the column reads as float
        ("item,label\nc1,0.0\nc2,1.0\n", []),  # indices written as floats
        ("item,label\nc1,0\nc2,1\n", ["--classes", "ham,spam"]),  # indices with named classes
    ],
)
def test_analyze_accepts_gold_as_class_indices(rule_files, capsys, gold, args):
    path = rule_files["dir"] / "gold.csv"
    path.write_text(gold)
    table = rule_files["dir"] / "rules.csv"
    code, _, err = run(capsys, "rules", "analyze", rule_files["votes"], "--gold", path, "-o", table, *args)
    assert code == 0, err
    result = pd.read_csv(table).set_index("rule")
    assert result.loc["link", "correct"] == 1 and result.loc["link", "incorrect"] == 0
    expected_short = 0 if "c1,\n" in gold else 1  # c1 is the only gold item short votes on
    assert result.loc["short", "correct"] == expected_short
    assert result.loc["short", "incorrect"] == 0


@pytest.mark.parametrize("command", ["analyze", "fit"])
def test_votes_with_a_missing_item_id_are_refused(rule_files, capsys, command):
    votes = rule_files["dir"] / "holes.csv"
    votes.write_text("item,a,b\nc1,0,1\n,1,-1\n")
    out = rule_files["dir"] / "out.csv"
    args = ["-o", out] if command == "fit" else []
    code, _, err = run(capsys, "rules", command, votes, *args)
    error(code, err, "holes.csv", "column 'item' is empty in data row 2")
    assert not out.exists()


def test_fit_writes_both_outputs_or_neither(rule_files, capsys, monkeypatch):
    from softlabels.core.errors import InputError

    def failing_save(self, path):
        raise InputError(f"{path}: cannot be written.")

    monkeypatch.setattr(SoftLabels, "save", failing_save)
    out, per_rule = rule_files["dir"] / "labels.csv", rule_files["dir"] / "per_rule.csv"
    code, _, err = run(capsys, "rules", "fit", rule_files["votes"], "-o", out, "--rules-out", per_rule)
    error(code, err, "labels.csv: cannot be written")
    assert not per_rule.exists() and not out.exists()
    assert not [p for p in rule_files["dir"].iterdir() if p.name.endswith(".tmp")]



# --- report: errors name the option and the file ------------------------------------------


@pytest.mark.parametrize(
    ("labels", "extra", "expected"),
    [
        ("label\n0\n1\n5\n", [],
         ["--labels (", "labels.csv): 1 values outside 0..1 (first at row 2: 5)"]),
        ("label\n0\n1\n", [], ["labels.csv: 2 labels but ", "answers.csv has 3 items"]),
        ("label\n0\n1\n1\n", ["--alpha", "2"], ["--alpha must be > 0 and < 1; got 2.0"]),
    ],
)
def test_report_errors_name_the_option_and_file(tmp_path, capsys, answers, labels, extra,
                                                expected):
    (tmp_path / "labels.csv").write_text(labels)
    out = tmp_path / "report.html"
    code, _, err = run(capsys, "report", "--answers", answers, "--labels",
                       tmp_path / "labels.csv", "-o", out, *extra)
    error(code, err, *expected)
    assert not out.exists()


def test_report_on_one_class_names_the_answers_file(tmp_path, capsys):
    src = tmp_path / "one.csv"
    src.write_text("item,worker,label\n1,a,x\n2,b,x\n")
    code, _, err = run(capsys, "report", "--answers", src, "-o", tmp_path / "r.html")
    error(code, err, "one.csv: a report needs at least 2 classes")


def test_gold_file_may_use_the_answers_column_names_and_keeps_ids(tmp_path, capsys):
    src = tmp_path / "answers.csv"
    src.write_text("task,who,answer\n007,a,x\n007,b,x\n7,a,y\n7,b,x\n8,a,y\n8,b,y\n")
    gold = tmp_path / "known.csv"
    gold.write_text("task,answer\n007,x\n7,y\n")
    out = tmp_path / "labels.csv"
    code, _, err = run(capsys, "aggregate", src, "-o", out, "--item-col", "task",
                       "--worker-col", "who", "--label-col", "answer", "--gold", gold)
    assert code == 0, err
    frame = pd.read_csv(out, dtype={"item": str}).set_index("item")
    assert frame.index.tolist() == ["007", "7", "8"]
    assert frame.loc["7", "label"] == "y"  # the gold label wins over the 1:1 split


# --- ids and labels as written; other fixes -------------------------------------------------


def test_labels_written_with_leading_zeros_stay_classes(tmp_path, capsys):
    src = tmp_path / "answers.csv"
    src.write_text("item,worker,label\na,w1,01\na,w2,01\nb,w1,02\nb,w2,1\n")
    out = tmp_path / "labels.csv"
    code, _, err = run(capsys, "aggregate", src, "-o", out, "--classes", "01,02,1",
                       "-m", "majority-vote")
    assert code == 0, err
    assert open(out).readline().strip().endswith("01,02,1")


def test_rules_keep_leading_zero_item_ids(files, capsys):
    data = files["dir"] / "ids.csv"
    data.write_text("id,text\n007,check my channel http://x.io\n7,nice song\n")
    votes = files["dir"] / "votes.csv"
    code, _, err = run(capsys, "rules", "apply", "--rules", files["rules"], "--data", data,
                       "--id-col", "id", "-o", votes)
    assert code == 0, err
    assert pd.read_csv(votes, dtype=str)["item"].tolist() == ["007", "7"]
    gold = files["dir"] / "gold.csv"
    gold.write_text("item,label\n007,1\n7,-1\n")  # -1: unknown, as in vote files
    code, _, err = run(capsys, "rules", "analyze", votes, "--gold", gold,
                       "-o", files["dir"] / "rules.csv")
    assert code == 0, err
    out = files["dir"] / "labels.csv"
    code, _, err = run(capsys, "rules", "fit", votes, "-o", out)
    assert code == 0, err
    assert pd.read_csv(out, dtype={"item": str})["item"].tolist() == ["007", "7"]


def test_classes_given_as_a_non_ascii_digit_is_a_one_line_error(files, capsys):
    code, _, err = run(capsys, "rules", "apply", "--rules", files["rules"], "--data",
                       files["data"], "--classes", "²", "-o", files["dir"] / "v.csv")
    error(code, err, "--classes")


def test_json_lines_keep_date_like_columns_as_text(tmp_path):
    from softlabels.core.io import read_table

    src = tmp_path / "answers.jsonl"
    src.write_text('{"item": "a", "worker": "w", "label": "x", "date": "2024-01-01"}\n')
    assert read_table(src)["date"].tolist() == ["2024-01-01"]


# --- --sep and --encoding: semicolon-separated latin-1 text ---------------------------


def _latin1_semicolons(path: Path, text: str) -> Path:
    path.write_bytes(text.replace(",", ";").replace("x", "café").replace("y", "thé")
                     .encode("latin-1"))
    return path


def test_aggregate_reads_semicolon_latin1_answers_and_gold(tmp_path, capsys):
    src = _latin1_semicolons(tmp_path / "answers.csv", ANSWERS)
    gold = _latin1_semicolons(tmp_path / "gold.csv", "item,label\n3,y\n")
    out = tmp_path / "labels.csv"
    code, _, err = run(capsys, "aggregate", src, "-o", out)
    error(code, err, "answers.csv: is not UTF-8 text", "--encoding latin-1")
    code, _, err = run(capsys, "aggregate", src, "-o", out, "--encoding", "latin-1")
    error(code, err, "fields look separated by ';'", "--sep ';'")
    code, _, err = run(capsys, "aggregate", src, "-o", out, "--sep", ";", "--encoding",
                       "latin-1", "--gold", gold, "-m", "majority-vote")
    assert code == 0, err
    soft = SoftLabels.read_csv(out)
    assert soft.classes.tolist() == ["café", "thé"]
    assert soft.to_frame()["label"].tolist() == ["café", "thé", "thé"]  # item 3 pinned by gold


def test_sep_and_encoding_on_every_text_reading_command(tmp_path, capsys, files):
    ratings = tmp_path / "ratings.csv"
    ratings.write_bytes("item;worker;rating\n1;é;3\n1;b;4\n2;é;1\n2;b;2\n".encode("latin-1"))
    text = ["--sep", ";", "--encoding", "latin-1"]
    code, _, err = run(capsys, "ratings", ratings, "-o", tmp_path / "r.csv", *text)
    assert code == 0, err
    src = _latin1_semicolons(tmp_path / "answers.csv", ANSWERS)
    code, _, err = run(capsys, "report", "--answers", src, "-o", tmp_path / "r.html", *text)
    assert code == 0, err
    votes = _latin1_semicolons(tmp_path / "votes.csv", VOTES)
    code, _, err = run(capsys, "rules", "fit", votes, "-o", tmp_path / "l.csv", *text)
    assert code == 0, err
    assert SoftLabels.read_csv(tmp_path / "l.csv").item_ids.tolist() == ["c1", "c2", "c3", "c4"]
    code, _, err = run(capsys, "rules", "analyze", votes, *text)
    assert code == 0, err
    data = tmp_path / "data.csv"
    pd.read_csv(files["data"]).to_csv(data, sep="|", index=False)
    code, _, err = run(capsys, "rules", "apply", "--rules", files["rules"], "--data", data,
                       "-o", tmp_path / "v.csv", "--sep", "|")
    assert code == 0, err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--sep", ";;"], "--sep: the field separator must be one character"),
        (["--encoding", "klingon"], "--encoding: unknown text encoding 'klingon'"),
        (["--engine", "dask", "--sep", ";"], "--sep and --encoding are for text input"),
    ],
)
def test_bad_sep_or_encoding_is_one_line(answers, tmp_path, capsys, extra, expected):
    out = tmp_path / "labels.csv"
    error(*run(capsys, "aggregate", answers, "-o", out, *extra)[::2], expected)
    assert not out.exists()


# --- '-' : answers from stdin, soft labels to stdout ---------------------------------


class _Stdin:
    def __init__(self, text: str) -> None:
        self.buffer = io.BytesIO(text.encode())


def test_aggregate_from_stdin_to_stdout(tmp_path, capsys, monkeypatch, answers):
    monkeypatch.setattr(sys, "stdin", _Stdin(ANSWERS))
    code, out, err = run(capsys, "aggregate", "-", "-o", "-", "-m", "majority-vote")
    assert code == 0, err
    piped = pd.read_csv(io.StringIO(out))  # stdout holds the table and nothing else
    assert "softlabels aggregate: <stdin>" in err and "soft labels -> <stdout>" in err
    code, _, err = run(capsys, "aggregate", answers, "-o", tmp_path / "f.csv", "-m", "majority-vote")
    assert code == 0, err
    pd.testing.assert_frame_equal(piped, pd.read_csv(tmp_path / "f.csv"))


def test_bad_stdin_is_named_stdin(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", _Stdin("item,wrker,label\n1,a,x\n"))
    code, out, err = run(capsys, "aggregate", "-", "-o", "-")
    error(code, err, "<stdin>: no 'worker' column")
    assert out == "" and "softlabels-stdin" not in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("item,worker,rating\n,w1,3\ni2,w1,4\n", "the item column 'item' has 1 missing values"),
        ("item,worker,rating\ni1,,3\ni2,w1,4\n", "the worker column 'worker' has 1 missing values"),
        # the CSV reader renames the second 'rating' to 'rating.1': which one is meant?
        ("item,worker,rating,rating\ni1,w1,3,1\ni2,w1,4,2\n",
         "the rating column 'rating' appears 2 times (columns 3 and 4); keep one."),
    ],
)
def test_ratings_errors_name_the_file(tmp_path, capsys, text, message):
    src = tmp_path / "ratings.csv"
    src.write_text(text)
    code, _, err = run(capsys, "ratings", src, "-o", tmp_path / "soft.csv")
    error(code, err, f"error: {src}: {message}")
    assert files_in(tmp_path) == ["ratings.csv"]


def _broken_gzip(path: Path, how: str) -> Path:
    import gzip

    data = gzip.compress(ANSWERS.encode() * 200)
    cut = {"truncated": data[:40], "tail cut": data[:-12],
           "corrupt": data[:30] + b"\0" * 20 + data[50:]}
    path.write_bytes(cut[how])
    return path


@pytest.mark.parametrize("how", ["truncated", "tail cut", "corrupt"])
@pytest.mark.parametrize("command", ["aggregate", "audit"])
def test_a_broken_gzip_file_is_named(tmp_path, capsys, how, command):
    import numpy as np

    src = _broken_gzip(tmp_path / "in.csv.gz", how)
    out = tmp_path / "out.csv"
    if command == "aggregate":
        argv = ["aggregate", src, "-o", out]
    else:
        np.save(tmp_path / "p.npy", np.full((3, 2), 0.5))
        argv = ["audit", "--labels", src, "--pred-probs", tmp_path / "p.npy", "-o", out]
    code, _, err = run(capsys, *argv)
    error(code, err, str(src), "in.csv.gz")
    assert not out.exists()
