"""`softlabels aggregate --format`: annotation-tool exports on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from softlabels.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "formats"

#: fixture, --format (None: detected)
CASES = [
    ("label_studio.json", "label-studio"),
    ("label_studio.json", None),
    ("label_studio_min.json", "label-studio:sentiment"),
    ("label_studio_taxonomy.json", None),
    ("mturk_batch_results.csv", None),
    ("mturk_radio_buttons.csv", "mturk"),
    ("toloka_results.tsv", None),
    ("prodigy_choice.jsonl", "prodigy"),
    ("prodigy_binary.jsonl", "prodigy:SPORTS"),
    ("ground_truth.manifest", "ground-truth"),
    ("ground_truth_workers.manifest", None),
    ("mturk_task_answers.csv", None),
]


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("name, fmt", CASES)
def test_export_aggregates_like_the_hand_written_table(tmp_path, capsys, name, fmt):
    table = FIXTURES / f"{name.split('.')[0]}.expected.csv"
    code, _, _ = run(capsys, "aggregate", table, "-m", "dawid-skene",
                     "-o", tmp_path / "from_table.csv")
    assert code == 0
    option = [] if fmt is None else ["--format", fmt]
    code, out, err = run(capsys, "aggregate", FIXTURES / name, *option, "-m", "dawid-skene",
                         "-o", tmp_path / "from_export.csv")
    assert code == 0, err
    assert f"softlabels aggregate: {FIXTURES / name}" in out.replace("\n", "")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "from_export.csv"),
                                  pd.read_csv(tmp_path / "from_table.csv"))


def _one_line_error(capsys, *argv) -> str:
    code, out, err = run(capsys, "aggregate", *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_malformed_label_studio_export_exits_2_naming_the_task(tmp_path, capsys):
    tasks = json.loads((FIXTURES / "label_studio.json").read_text())
    tasks[1]["annotations"] = []
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    line = _one_line_error(capsys, path, "--format", "label-studio", "-o", tmp_path / "o.csv")
    assert line == f"error: {path}: task 2: has an empty annotation list."
    assert not (tmp_path / "o.csv").exists()


def test_mixed_prodigy_schemas_exit_2_naming_the_line(tmp_path, capsys):
    lines = (FIXTURES / "prodigy_choice.jsonl").read_text().splitlines()
    lines.append((FIXTURES / "prodigy_binary.jsonl").read_text().splitlines()[0])
    path = tmp_path / "db.jsonl"
    path.write_text("\n".join(lines) + "\n")
    line = _one_line_error(capsys, path, "-o", tmp_path / "o.csv")  # detected
    assert line == (f"error: {path}: line 7: is a binary task but line 1 is a choice task "
                    "(mixed schemas).")


def test_mturk_row_without_worker_exits_2_naming_the_row(tmp_path, capsys):
    frame = pd.read_csv(FIXTURES / "mturk_batch_results.csv", dtype=str, keep_default_na=False)
    frame.loc[3, "WorkerId"] = ""
    path = tmp_path / "batch.csv"
    frame.to_csv(path, index=False)
    line = _one_line_error(capsys, path, "-o", tmp_path / "o.csv")
    assert line == f"error: {path}: data row 4: 'WorkerId' is empty."


def test_unknown_format_exits_2_listing_the_formats(tmp_path, capsys):
    line = _one_line_error(capsys, FIXTURES / "label_studio.json", "--format", "labelbox",
                           "-o", tmp_path / "o.csv")
    assert line.startswith("error: unknown annotation format 'labelbox'; use one of table, "
                           "label-studio, mturk, toloka, prodigy, ground-truth, hf.")


def test_json_min_without_field_exits_2_naming_the_keys(tmp_path, capsys):
    line = _one_line_error(capsys, FIXTURES / "label_studio_min.json", "-o", tmp_path / "o.csv")
    assert line.endswith("name it as format 'label-studio:KEY' with KEY one of 'text', "
                         "'sentiment'.")


def test_format_does_not_apply_to_the_dask_engine(tmp_path, capsys):
    line = _one_line_error(capsys, FIXTURES / "label_studio.json", "--format", "label-studio",
                           "--engine", "dask", "-o", tmp_path / "out")
    assert line == ("error: --engine dask reads the answer table; give the numpy engine "
                    "--format.")


def test_report_reads_a_tool_export_like_aggregate(tmp_path, capsys):
    """report --answers takes the same exports (and --format) as aggregate: the page
    counts the answers of the long table the fixture stands for."""
    expected = pd.read_csv(FIXTURES / "label_studio.expected.csv")
    for extra in ([], ["--format", "label-studio"]):
        out = tmp_path / "report.html"
        out.unlink(missing_ok=True)
        code = main(["report", "--answers", str(FIXTURES / "label_studio.json"), "-o", str(out),
                     *extra])
        assert code == 0, capsys.readouterr().err
        assert f">{len(expected):,}<" in out.read_text()
    code = main(["report", "--answers", str(FIXTURES / "label_studio.json"), "--format", "mturk",
                 "-o", str(tmp_path / "bad.html")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad.html").exists()
