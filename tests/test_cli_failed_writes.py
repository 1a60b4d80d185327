"""The command line when an output cannot be written (a full disk, a quota): exit 2 with
one line naming the file, and no output of the run changed, existing ones included."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

import softlabels.cli.audit as audit_cli
from softlabels import SoftLabels
from softlabels.core.io import atomic_path
from test_cli_rules import one_line_error, run


def full_disk(*args, **kwargs):
    """A writer that starts its file, then finds the disk full."""
    path = next(a for a in (*args, *kwargs.values()) if isinstance(a, (str, os.PathLike)))
    with atomic_path(path) as tmp:
        Path(tmp).write_text("half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_audit_keeps_the_issues_table_when_the_review_queue_fails(tmp_path, capsys, monkeypatch):
    labels, probs = tmp_path / "y.npy", tmp_path / "p.csv"
    np.save(labels, np.array([0, 0, 1, 1]))
    SoftLabels(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]), ["a", "b"],
               ["i1", "i2", "i3", "i4"]).save(probs)
    issues = tmp_path / "issues.csv"
    issues.write_text("precious\n")
    monkeypatch.setattr(audit_cli, "write_label_studio_tasks", full_disk)
    code, _, err = run(capsys, "audit", "--labels", labels, "--pred-probs", probs, "-o", issues,
                       "--review-queue", tmp_path / "queue.json")
    one_line_error(code, err, "queue.json: cannot be written")
    assert issues.read_text() == "precious\n"
    assert names(tmp_path) == ["issues.csv", "p.csv", "y.npy"]


ANSWERS = "item,worker,label\n1,a,x\n1,b,x\n1,c,y\n2,a,y\n2,b,y\n2,c,y\n3,a,x\n3,b,y\n3,c,x\n"
RATINGS = "item,worker,rating\n1,a,1\n1,b,2\n2,a,4\n2,b,5\n3,a,3\n3,b,3\n"


@pytest.mark.parametrize(
    ("module", "command", "text", "second"),
    [
        ("crowd", "aggregate", ANSWERS, "--workers-out"),
        ("ratings", "ratings", RATINGS, "--estimates-out"),
    ],
)
def test_no_dataset_folder_is_left_when_a_second_output_fails(
    tmp_path, capsys, monkeypatch, module, command, text, second
):
    pytest.importorskip("datasets")
    import importlib

    cli_module = importlib.import_module(f"softlabels.cli.{module}")
    monkeypatch.setattr(cli_module, "write_frame", full_disk)
    src = tmp_path / "in.csv"
    src.write_text(text)
    code, _, err = run(capsys, command, src, "-o", f"hf:{tmp_path / 'labels'}",
                       second, tmp_path / "more.csv")
    one_line_error(code, err, "more.csv: cannot be written")
    assert names(tmp_path) == ["in.csv"]


def test_report_that_cannot_be_written_names_the_report_not_the_inputs(tmp_path, capsys,
                                                                       monkeypatch):
    import softlabels.report

    monkeypatch.setattr(softlabels.report, "write_report", full_disk)
    src = tmp_path / "answers.csv"
    src.write_text(ANSWERS)
    page = tmp_path / "report.html"
    page.write_text("precious\n")
    code, _, err = run(capsys, "report", "--answers", src, "-o", page)
    one_line_error(code, err, f"error: {page}: cannot be written")
    assert page.read_text() == "precious\n"
    assert names(tmp_path) == ["answers.csv", "report.html"]



def test_dask_engine_leaves_no_folder_when_the_worker_table_fails(tmp_path, capsys, monkeypatch):
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    import pandas as pd

    import softlabels.cli.crowd as crowd

    monkeypatch.setattr(crowd, "write_frame", full_disk)
    src = tmp_path / "answers.parquet"
    pd.DataFrame({"item": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"],
                  "label": ["x", "x", "y", "x"]}).to_parquet(src)
    code, _, err = run(capsys, "aggregate", src, "--engine", "dask", "-m", "majority-vote",
                       "-o", tmp_path / "soft", "--workers-out", tmp_path / "workers.csv")
    one_line_error(code, err, "workers.csv: cannot be written")
    assert names(tmp_path) == ["answers.parquet"]


def test_dask_engine_errors_name_the_answers(tmp_path, capsys):
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    import pandas as pd

    src = tmp_path / "answers.parquet"
    pd.DataFrame({"item": [1, 1], "worker": ["a", "b"], "label": ["x", "y"]}).to_parquet(src)
    code, _, err = run(capsys, "aggregate", src, "--engine", "dask", "-m", "majority-vote",
                       "-o", tmp_path / "soft", "--item-col", "task")
    one_line_error(code, err, f"error: {src}: no 'task' column")
    assert names(tmp_path) == ["answers.parquet"]



def test_a_stop_signal_while_outputs_are_moved_in_place_leaves_no_temporary_file(
    tmp_path, capsys, monkeypatch
):
    import signal

    import softlabels.core.io as io_module
    from softlabels.cli._common import Interrupted

    real, moved = os.replace, []

    def interrupted_after_the_first(src, dst):
        if moved:  # SIGTERM arrives between the two moves
            raise Interrupted(signal.SIGTERM)
        moved.append(dst)
        real(src, dst)

    monkeypatch.setattr(io_module.os, "replace", interrupted_after_the_first)
    src = tmp_path / "answers.csv"
    src.write_text(ANSWERS)
    code, _, err = run(capsys, "aggregate", src, "-m", "majority-vote", "-o", tmp_path / "soft.csv",
                       "--workers-out", tmp_path / "workers.csv")
    assert code == 128 + signal.SIGTERM and err == "error: interrupted by SIGTERM.\n", err
    assert not [name for name in names(tmp_path) if name.endswith(".tmp")], names(tmp_path)
