"""The command line's promises under hostile conditions: an output that cannot be
written, integer options out of range, labels padded with spaces, numeric labels,
models too large for memory, NUL-padded files. Each: exit status, one line, no
temporary file left, no good output overwritten."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import softlabels.core.io as io
from softlabels import Annotations
from softlabels.core.errors import InputError
from softlabels.infer.memory import InsufficientMemoryError, available_memory, check_memory
from test_cli_rules import one_line_error, run

ANSWERS = "item,worker,label\n1,a,x\n1,b,x\n1,c,y\n2,a,y\n2,b,y\n2,c,y\n3,a,x\n3,b,y\n3,c,x\n"
GOOD = "item,label\nkeep,me\n"
SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture()
def answers(tmp_path: Path) -> Path:
    path = tmp_path / "answers.csv"
    path.write_text(ANSWERS)
    return path


@pytest.fixture()
def good_output(tmp_path: Path) -> Path:
    """An output file from an earlier run, which a failed run must leave as it is."""
    path = tmp_path / "out.csv"
    path.write_text(GOOD)
    return path


def untouched(folder: Path, good: Path) -> None:
    assert good.read_text() == GOOD
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


# --- a. an output that cannot be written ------------------------------------------------


def test_full_disk_while_writing_is_a_one_line_error(answers, good_output, capsys, monkeypatch):
    def full(self, path, *args, **kwargs):  # half a file, then the disk is full
        Path(path).write_text("item,la")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    code, _, err = run(capsys, "aggregate", answers, "-m", "majority-vote", "-o", good_output)
    one_line_error(code, err, f"{good_output}: cannot be written (No space left on device)")
    untouched(good_output.parent, good_output)


def test_folder_refusing_new_files_is_a_one_line_error(answers, good_output, capsys, monkeypatch):
    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    code, _, err = run(capsys, "aggregate", answers, "-m", "majority-vote", "-o", good_output)
    one_line_error(code, err, f"{good_output}: cannot be written (Permission denied)")
    untouched(good_output.parent, good_output)


def test_read_only_folder_is_refused_before_any_work(answers, good_output, capsys, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode == os.W_OK else real_access(p, mode))
    code, _, err = run(capsys, "aggregate", answers, "-m", "majority-vote", "-o", good_output)
    one_line_error(code, err, f"{good_output}: cannot be written (the folder")
    untouched(good_output.parent, good_output)


def test_second_output_failing_leaves_the_first_untouched(answers, good_output, tmp_path, capsys,
                                                          monkeypatch):
    workers = tmp_path / "workers.csv"
    workers.write_text("old workers\n")
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst).name == "workers.csv":
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_replace(src, dst)

    monkeypatch.setattr(io.os, "replace", replace)
    code, _, err = run(capsys, "aggregate", answers, "-m", "majority-vote", "-o", good_output,
                       "--workers-out", workers)
    one_line_error(code, err, f"{workers}: cannot be written (Input/output error)")
    assert workers.read_text() == "old workers\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_real_folder_that_takes_no_files(answers, capsys):
    """/proc refuses new files even to root, where chmod would not."""
    code, _, err = run(capsys, "aggregate", answers, "-m", "majority-vote", "-o", "/proc/out.csv")
    one_line_error(code, err, "/proc/out.csv: cannot be written")


# --- c. integer options -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--n-jobs", "0"], "--n-jobs must be >= 1 or -1; got 0."),
        (["--n-jobs", "-5"], "--n-jobs must be >= 1 or -1; got -5."),
        (["--n-iter", "0"], "--n-iter must be >= 1; got 0."),
        (["--seed", "-1"], "--seed must be from 0 to 4294967295; got -1."),
    ],
)
def test_aggregate_integer_options_out_of_range(answers, good_output, capsys, args, expected):
    code, _, err = run(capsys, "aggregate", answers, "-o", good_output, *args)
    one_line_error(code, err, expected)
    untouched(good_output.parent, good_output)


@pytest.mark.parametrize("n_jobs", ["1", "-1", "2"])
def test_aggregate_accepts_n_jobs_in_range(answers, tmp_path, capsys, n_jobs):
    code, _, err = run(capsys, "aggregate", answers, "-o", tmp_path / "s.csv", "--n-jobs", n_jobs)
    assert code == 0, err


def test_audit_top_below_zero(tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    labels.write_text("0\n1\n0\n1\n")
    probs = tmp_path / "probs.csv"
    probs.write_text("0.9,0.1\n0.2,0.8\n0.3,0.7\n0.6,0.4\n")
    out = tmp_path / "issues.csv"
    code, _, err = run(capsys, "audit", "--labels", labels, "--pred-probs", probs, "-o", out,
                       "--top", "-5")
    one_line_error(code, err, "--top must be >= 0; got -5.")
    assert not out.exists()
    code, _, err = run(capsys, "audit", "--labels", labels, "--pred-probs", probs, "-o", out,
                       "--top", "0")
    assert code == 0, err


def test_every_integer_option_has_a_declared_range():
    """A new integer option must say its range in INT_RANGES (or be deliberately open)."""
    import inspect
    import typing

    from softlabels.cli import app
    from softlabels.cli._common import INT_RANGES
    from softlabels.cli.rules import rules_app
    from softlabels.cli.store import store_app

    undeclared = []
    for group in (app, rules_app, store_app):
        for command in group.registered_commands:
            hints = typing.get_type_hints(inspect.unwrap(command.callback))
            for name, hint in hints.items():
                if int in (hint, *typing.get_args(hint)) and name not in INT_RANGES:
                    undeclared.append(f"{command.callback.__name__}: {name}")
    assert undeclared == []


# --- d. labels padded with whitespace ---------------------------------------------------


def test_labels_differing_by_spaces_are_refused_by_the_library():
    frame = pd.DataFrame({"item": [1, 1, 2, 2, 3], "worker": list("ababa"),
                          "label": ["cat", " cat", "cat ", "dog", "dog"]})
    with pytest.raises(InputError, match=r"surrounding whitespace.*' cat', 'cat', 'cat '"):
        Annotations.from_frame(frame)
    with pytest.raises(InputError, match="'dog', 'dog '"):
        Annotations.from_frame(frame.assign(label=["cat", "dog ", "cat", "dog", "cat"]))
    # a declared class list with near-duplicates is refused too
    with pytest.raises(InputError, match="'cat', 'cat '"):
        Annotations.from_frame(frame.assign(label="cat"), classes=["cat", "cat "])
    # spaces inside a label are not whitespace around it
    ann = Annotations.from_frame(frame.assign(label=["a cat", "a  cat", "dog", "dog", "a cat"]))
    assert ann.classes.tolist() == ["a  cat", "a cat", "dog"]


def test_labels_differing_by_spaces_are_a_one_line_cli_error(tmp_path, good_output, capsys):
    answers = tmp_path / "spaces.csv"
    answers.write_text("item,worker,label\n1,a,cat\n1,b, cat\n2,a,cat \n2,b,dog\n")
    code, _, err = run(capsys, "aggregate", answers, "-o", good_output)
    one_line_error(code, err, f"{answers}: labels that differ only by surrounding whitespace")
    assert "' cat', 'cat', 'cat '" in err
    untouched(tmp_path, good_output)


def test_aggregate_help_says_padded_labels_are_refused(capsys):
    code, out, _ = run(capsys, "aggregate", "--help")
    assert code == 0
    assert "surrounding spaces" in " ".join(out.split())


# --- e. numeric labels and the ratings command ------------------------------------------


def test_many_numeric_labels_warn_towards_ratings(tmp_path):
    """In a real process: the warning is one line on stderr."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"item": np.repeat(np.arange(40), 3), "worker": np.tile(list("abc"), 40),
                          "label": rng.integers(0, 100, 120)})
    answers = tmp_path / "scores.csv"
    frame.to_csv(answers, index=False)
    n_labels = frame["label"].nunique()
    done = subprocess.run(
        [sys.executable, "-m", "softlabels", "aggregate", str(answers), "-m", "majority-vote",
         "-o", str(tmp_path / "s.csv")],
        capture_output=True, text=True, timeout=60, env=os.environ | {"PYTHONPATH": SRC},
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        f"warning: the {n_labels} labels in column 'label' are all numbers; aggregate treats "
        "each as a separate class. For numeric ratings use `softlabels ratings`.\n"
    )


def test_numbers_written_several_ways_warn_even_when_few(tmp_path, capsys):
    answers = tmp_path / "zeros.csv"
    answers.write_text("item,worker,label\n1,a,0\n1,b,00\n2,a,-0\n2,b,1\n")
    with pytest.warns(UserWarning, match="2 of them repeat a number written another way, e.g. "
                      "'-0', '0', '00'.*softlabels ratings"):
        code, _, err = run(capsys, "aggregate", answers, "-m", "majority-vote", "-o",
                           tmp_path / "s.csv")
    assert code == 0, err


def test_few_numeric_classes_do_not_warn(tmp_path, capsys):
    answers = tmp_path / "likert.csv"
    answers.write_text("item,worker,label\n1,a,1\n1,b,2\n2,a,5\n2,b,4\n3,a,3\n")
    code, _, err = run(capsys, "aggregate", answers, "-m", "majority-vote", "-o", tmp_path / "s.csv")
    assert code == 0 and err == ""


def test_ratings_command_matches_the_library(tmp_path, capsys):
    from softlabels.infer.ratings import RatingAggregator

    frame = pd.DataFrame({"id": [1, 1, 1, 2, 2, 2, 3, 3], "rater": list("abcabcab"),
                          "score": [4, 5, 4, 2, 1, 2, 3, 5]})
    path = tmp_path / "scores.csv"
    frame.to_csv(path, index=False)
    soft, est, workers = tmp_path / "soft.csv", tmp_path / "est.csv", tmp_path / "w.csv"
    code, out, err = run(capsys, "ratings", path, "--item-col", "id", "--worker-col", "rater",
                         "--rating-col", "score", "-o", soft, "--estimates-out", est,
                         "--workers-out", workers)
    assert code == 0, err
    model = RatingAggregator().fit(frame.set_axis(["item", "worker", "label"], axis=1))
    written = pd.read_csv(est)
    np.testing.assert_allclose(written["estimate"], model.estimates_["estimate"], rtol=1e-12)
    assert written["item"].tolist() == [1, 2, 3]
    table = pd.read_csv(soft)
    assert table.columns[4:].tolist() == ["1", "2", "3", "4", "5"]
    np.testing.assert_allclose(table.iloc[:, 4:].to_numpy(), model.soft_labels_.probs, rtol=1e-12)
    assert pd.read_csv(workers)["worker"].tolist() == ["a", "b", "c"]
    code, _, err = run(capsys, "ratings", path, "--item-col", "id", "--worker-col", "rater",
                       "--rating-col", "score", "-o", soft, "-m", "mean", "--estimates-out", est)
    assert code == 0, err
    assert pd.read_csv(est)["estimate"].round(4).tolist() == [4.3333, 1.6667, 4.0]


def test_ratings_bad_input_is_one_line(tmp_path, good_output, capsys):
    path = tmp_path / "scores.csv"
    path.write_text("item,worker,rating\n1,a,4\n1,b,five\n2,a,3\n")
    code, _, err = run(capsys, "ratings", path, "-o", good_output)
    one_line_error(code, err, f"{path}: the rating in data row 2 is 'five', not a finite number")
    code, _, err = run(capsys, "ratings", path, "-o", good_output, "--rating-col", "score")
    one_line_error(code, err, "no 'score' column")
    code, _, err = run(capsys, "ratings", path, "-o", good_output, "--levels", "1")
    one_line_error(code, err, "--levels must be >= 2; got 1.")
    untouched(tmp_path, good_output)



@pytest.mark.parametrize(
    ("args", "expected"),
    [(["--method", "meen"], "--method must be one of ['reliability', 'mean', 'median']; got 'meen'. Did you mean 'mean'"),
     (["--uncertainty", "sd"], "--uncertainty must be one of"),
     (["--n-iter", "0"], "--n-iter")],
)
def test_ratings_bad_option_reported_before_a_missing_file(tmp_path, capsys, args, expected):
    code, _, err = run(capsys, "ratings", tmp_path / "missing.csv", "-o", tmp_path / "o.csv", *args)
    one_line_error(code, err, expected)
    assert "missing.csv" not in err
    assert not (tmp_path / "o.csv").exists()

# --- f. memory estimated before allocating ----------------------------------------------


def test_check_memory_names_need_available_and_alternatives(monkeypatch):
    monkeypatch.setenv("SOFTLABELS_MEMORY_LIMIT", str(1024**3))
    assert available_memory() == 1024**3
    check_memory(1024**3, "small")  # exactly fits
    with pytest.raises(InsufficientMemoryError, match=r"^big needs about 2\.0 GiB of memory; "
                       r"1\.0 GiB is available\. Methods that fit: a, b\.$"):
        check_memory(2 * 1024**3, "big", lambda free: ["a", "b"] if free == 1024**3 else [])


def test_dawid_skene_with_many_classes_fails_before_allocating(monkeypatch):
    from softlabels.infer.crowd.dawid_skene import DawidSkene

    k, w, n = 400, 20, 800
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"item": np.arange(n), "worker": rng.integers(0, w, n),
                          "label": np.arange(n) % k})
    ann = Annotations.from_frame(frame)
    need = 8 * (3 * ann.n_workers * k**2 + 4 * n * k)
    monkeypatch.setenv("SOFTLABELS_MEMORY_LIMIT", str(need - 1))
    with pytest.raises(InsufficientMemoryError) as info:
        DawidSkene().fit(ann)
    message = str(info.value)
    assert message.startswith("dawid-skene with 400 classes, 20 workers and 800 items needs "
                              f"about {need / 1024**2:.1f} MiB")
    assert "majority-vote" in message and "glad" in message
    assert "mace" not in message and "soft-average" not in message  # also classes²
    monkeypatch.setenv("SOFTLABELS_MEMORY_LIMIT", str(need))
    assert DawidSkene(n_iter=1).fit(ann).confusions_.shape == (20, k, k)


def test_cli_memory_error_is_one_line_exit_1(tmp_path, good_output, capsys, monkeypatch):
    frame = pd.DataFrame({"item": np.arange(300), "worker": np.arange(300) % 7,
                          "label": [f"c{i}" for i in range(300)]})
    path = tmp_path / "many.csv"
    frame.to_csv(path, index=False)
    monkeypatch.setenv("SOFTLABELS_MEMORY_LIMIT", str(4 * 10**6))
    code, _, err = run(capsys, "aggregate", path, "-m", "mace", "-o", good_output)
    assert code == 1
    assert len(err.strip().splitlines()) == 1, err
    # 8 * (3 * 7 * 300**2 + 4 * 300 * 300) bytes; the posteriors alone (2.9 MB) fit
    assert err.startswith("error: mace with 300 classes, 7 workers and 300 items needs about 17.2 MiB"
                          " of memory; 3.8 MiB is available. Methods that fit: majority-vote, "
                          "soft-vote, wawa, zero-based-skill, one-coin-dawid-skene, glad, mmsr."), err
    untouched(tmp_path, good_output)


def test_rule_label_model_checks_its_confusion_tables(monkeypatch):
    from softlabels.infer.rules.label_model import LabelModel

    L = np.array([[0, 1, -1], [2, 2, 1], [1, -1, 0], [0, 0, 0]])
    need = 8 * (3 * 3 * 3 * 4 + 4 * 4 * 3)
    monkeypatch.setenv("SOFTLABELS_MEMORY_LIMIT", str(need - 1))
    with pytest.raises(InsufficientMemoryError, match="3 classes, 3 rules and 4 items needs about"):
        LabelModel(model="dawid-skene").fit(L)
    monkeypatch.setenv("SOFTLABELS_MEMORY_LIMIT", str(need))
    assert LabelModel(model="dawid-skene").fit(L).confusions_.shape == (3, 3, 4)


# --- g. NUL bytes -----------------------------------------------------------------------


def test_csv_padded_with_nul_bytes_is_refused_naming_the_offset(tmp_path, good_output, capsys):
    path = tmp_path / "padded.csv"
    head = ANSWERS * 1000  # NULs only after the first 8 KiB that are sniffed
    path.write_bytes(head.encode() + b"\x00" * 100_000)
    code, _, err = run(capsys, "aggregate", path, "-o", good_output)
    one_line_error(code, err, f"{path}: holds NUL bytes (the first at byte {len(head):,})")
    untouched(tmp_path, good_output)


def test_nul_in_the_middle_of_an_array_file(tmp_path):
    from softlabels.core.io import read_array

    path = tmp_path / "x.csv"
    path.write_bytes(b"1,2\n" * 5000 + b"3,\x004\n" + b"5,6\n")
    with pytest.raises(InputError, match=r"holds NUL bytes \(the first at byte 20,002\)"):
        read_array(path)
