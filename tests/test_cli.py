"""The command line: outputs, summaries and bad input (exit 2, one line, no file)."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from softlabels import SoftLabels
from softlabels.cli import main

ANSWERS = "item,worker,label\n1,a,x\n1,b,x\n1,c,y\n2,a,y\n2,b,y\n2,c,y\n3,a,x\n3,b,y\n3,c,x\n"


@pytest.fixture()
def answers(tmp_path: Path) -> Path:
    path = tmp_path / "answers.csv"
    path.write_text(ANSWERS)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_aggregate_writes_soft_label_table(answers, tmp_path, capsys):
    out = tmp_path / "labels.csv"
    workers = tmp_path / "workers.csv"
    code, stdout, _ = run(
        capsys, "aggregate", answers, "-m", "majority-vote", "-o", out, "--workers-out", workers
    )
    assert code == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["item", "label", "confidence", "support", "x", "y"]
    assert table["label"].tolist() == ["x", "y", "x"]
    np.testing.assert_allclose(table["x"], [1.0, 0.0, 1.0])
    np.testing.assert_allclose(table["support"], [3, 3, 3])
    w = pd.read_csv(workers)
    assert list(w.columns[:3]) == ["worker", "n_answers", "skill"]
    # worker c agrees with the majority on items 2 and 3 only
    assert w.set_index("worker").loc["c", "skill"] == pytest.approx(2 / 3)
    assert "majority-vote" in stdout


def test_aggregate_parquet_round_trip_keeps_provenance(answers, tmp_path, capsys):
    out = tmp_path / "labels.parquet"
    code, _, _ = run(capsys, "aggregate", answers, "-m", "dawid-skene", "-o", out,
                     "--n-iter", "7", "--tol", "0", "--n-jobs", "2")
    assert code == 0
    soft = SoftLabels.read_parquet(out)
    assert soft.provenance["method"] == "dawid-skene"
    assert soft.provenance["params"]["n_iter"] == 7
    assert soft.provenance["params"]["n_jobs"] == 2
    assert soft.classes.tolist() == ["x", "y"]


def test_aggregate_custom_columns_classes_and_gold(tmp_path, capsys):
    src = tmp_path / "votes.csv"
    src.write_text(ANSWERS.replace("item,worker,label", "task,annotator,answer"))
    gold = tmp_path / "gold.csv"
    gold.write_text("item,label\n3,y\n")
    out = tmp_path / "out.csv"
    code, _, err = run(
        capsys, "aggregate", src, "-o", out, "-m", "wawa", "--item-col", "task",
        "--worker-col", "annotator", "--label-col", "answer", "--classes", "y,x,z",
        "--gold", gold,
    )
    assert code == 0, err
    table = pd.read_csv(out)
    assert list(table.columns[4:]) == ["y", "x", "z"]
    assert table.set_index("item").loc[3, "label"] == "y"  # pinned by gold


def test_methods_lists_every_registered_method(capsys):
    import softlabels

    code, stdout, _ = run(capsys, "methods")
    assert code == 0
    for name in softlabels.list_methods():
        assert name in stdout


def test_quickstart_writes_results(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    target = tmp_path / "qs"
    code, stdout, _ = run(capsys, "quickstart", "--out-dir", target, "-m", "dawid-skene")
    assert code == 0
    soft = SoftLabels.read_csv(target / "soft_labels.csv")
    assert soft.n_items == 496
    assert set(soft.classes.tolist()) == {"B", "G", "P", "R", "X"}
    workers = pd.read_csv(target / "workers.csv")
    assert len(workers) == 338
    assert "496" in stdout
    # The summary's weakest items are the report's "Weakest consensus" rows, in order.
    at = stdout.index("weakest consensus")
    shown = [line.split("│")[1].strip() for line in stdout[at:].splitlines()
             if line.startswith("│")][:5]
    report = (target / "report.html").read_text()
    section = report[report.index(">Weakest consensus</h2>"):]
    listed = [html.unescape(c).rstrip("…") for c in re.findall(r"<tr><td>([^<]*)</td>", section)]
    assert len(shown) == 5 and all(s.startswith(c) for s, c in zip(shown, listed[:5]))
    conf = dict(zip(soft.item_ids.astype(str), soft.confidence()))
    assert [conf[item] for item in shown] == sorted(conf.values())[:5]


def test_version(capsys):
    code, stdout, _ = run(capsys, "--version")
    assert code == 0 and stdout.startswith("softlabels ")


BAD_INPUTS = {
    "misspelled column": ("item,wrker,label\n1,a,x\n", "no 'worker' column"),
    "empty file": ("", "empty"),
    "header only": ("item,worker,label\n", "no rows"),
    "missing item": ("item,worker,label\n1,a,x\n,b,y\n", "missing values"),
    "empty worker column": ("item,worker,label\n1,,x\n2,,y\n", "entirely empty"),
    "ragged csv": ('item,worker,label\n1,a,x\n2,b,"y\n', "cannot be parsed"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_answers_exit_2_with_one_line_and_no_output(case, tmp_path, capsys):
    text, expected = BAD_INPUTS[case]
    src = tmp_path / "answers.csv"
    src.write_text(text)
    out = tmp_path / "labels.csv"
    code, stdout, err = run(capsys, "aggregate", src, "-o", out)
    assert code == 2
    assert expected in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert "answers.csv" in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.csv"]


def test_binary_and_mismatched_content(tmp_path, capsys):
    binary = tmp_path / "answers.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    code, _, err = run(capsys, "aggregate", binary, "-o", tmp_path / "o.csv")
    assert code == 2 and "binary" in err
    fake = tmp_path / "answers.parquet"
    fake.write_text(ANSWERS)
    code, _, err = run(capsys, "aggregate", fake, "-o", tmp_path / "o.csv")
    assert code == 2 and "not Parquet" in err
    real = tmp_path / "real.csv"
    pd.read_csv(pd.io.common.StringIO(ANSWERS)).to_parquet(real)
    code, _, err = run(capsys, "aggregate", real, "-o", tmp_path / "o.csv")
    assert code == 2 and "content is Parquet" in err
    assert not (tmp_path / "o.csv").exists()


def test_failure_never_overwrites_existing_output(tmp_path, capsys):
    src = tmp_path / "answers.csv"
    src.write_text("item,worker,label\n1,a,x\n1,b,q\n")
    out = tmp_path / "labels.csv"
    out.write_text("precious\n")
    code, _, err = run(capsys, "aggregate", src, "-o", out, "--classes", "x,y")
    assert code == 2
    assert "'q'" in err and "data row 2" in err
    assert out.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.csv", "labels.csv"]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["-m", "dawid-skeen"], "Did you mean 'dawid-skene'"),
        (["-m", "dawid-skene:alpha"], "'alpha' is not key=value"),
        (["-m", "dawid-skene:uncertainty=sure"], "'uncertainty' parameter of DawidSkene"),
        (["-m", "majority-vote", "--n-iter", "5"], "--n-iter does not apply"),
        (["-m", "glad", "--n-iter", "0"], "--n-iter must be >= 1; got 0."),
        (["-m", "kos", "--tol", "-1"], "--tol must be >= 0.0; got -1.0."),
        (["-m", "glad", "--n-jobs", "2"], "--n-jobs does not apply to glad"),
        (["--duplicates", "sometimes"], "duplicates must be"),
        (["--bogus"], "No such option"),
    ],
)
def test_bad_options(argv, expected, answers, tmp_path, capsys):
    out = tmp_path / "o.csv"
    code, _, err = run(capsys, "aggregate", answers, "-o", out, *argv)
    assert code == 2
    assert expected in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("error", [KeyError("summary"), RuntimeError("summary")])
def test_a_lookup_that_fails_in_the_code_is_not_reported_as_bad_input(error, capsys,
                                                                      monkeypatch):
    """Unknown names are UnknownNameError (an InvalidParameterError): status 2, one line.
    A plain KeyError is a failure of the code, not of the input, and surfaces as any
    other unexpected exception does; it was printed as ``error: summary``, status 2."""
    from softlabels.cli import crowd

    def broken(name):
        raise error

    monkeypatch.setattr(crowd, "method_summary", broken)
    with pytest.raises(type(error), match="summary"):
        main(["methods"])
    assert "error:" not in capsys.readouterr().err


def test_output_checks_happen_before_work(answers, tmp_path, capsys):
    code, _, err = run(capsys, "aggregate", answers, "-o", tmp_path / "o.txt")
    assert code == 2 and ".csv or .parquet" in err
    code, _, err = run(capsys, "aggregate", answers, "-o", answers)
    assert code == 2 and "overwrite an input" in err
    assert answers.read_text() == ANSWERS
    code, _, err = run(capsys, "aggregate", answers, "-o", tmp_path / "nope" / "o.csv")
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, "aggregate", tmp_path / "absent.csv", "-o", tmp_path / "o.csv")
    assert code == 2 and "no such file" in err


@pytest.mark.parametrize(
    "text",
    [
        "item,worker,label\n1,a,x\n",  # one answer in the whole file
        "item,worker,label\n1,a,x\n2,a,y\n3,a,x\n",  # one worker
        "item,worker,label\n1,a,x\n2,b,x\n2,a,x\n",  # one class
        "item,worker,label\n1,a,x\n1,b,y\n2,a,y\n2,b,y\n3,z,x\n",  # a worker seen once
    ],
)
@pytest.mark.parametrize("method", ["majority-vote", "dawid-skene", "glad", "mace", "mmsr",
                                    "soft-average"])
def test_valid_edge_cases_give_results(text, method, tmp_path, capsys):
    src = tmp_path / "answers.csv"
    src.write_text(text)
    out = tmp_path / "o.csv"
    code, _, err = run(capsys, "aggregate", src, "-m", method, "-o", out)
    assert code == 0, err
    table = pd.read_csv(out)
    probs = table.iloc[:, 4:].to_numpy()
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)


def test_importing_the_main_module_runs_nothing():
    # `python -m softlabels` runs the CLI; importing softlabels.__main__ (as doc tools
    # and module walkers do) must not, or it would exit the importing process
    proc = subprocess.run(
        [sys.executable, "-c", "import softlabels.__main__; print('imported')"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "imported"


def test_console_script_prints_no_traceback(tmp_path):
    src = tmp_path / "answers.csv"
    src.write_text("item,worker,label\n")
    proc = subprocess.run(
        [sys.executable, "-m", "softlabels", "aggregate", str(src), "-o", str(tmp_path / "o.csv")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: ")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_reflow_joins_prose_lines_and_keeps_examples():
    from softlabels.cli._common import reflow

    doc = """Title line.

    A paragraph wrapped
    in the source.

    Example:

        softlabels x --a 1
        softlabels y
    """
    assert reflow(doc) == (
        "Title line.\n\nA paragraph wrapped in the source.\n\nExample:\n\n"
        "[b][/b]    softlabels x --a 1\n[b][/b]    softlabels y"
    )


@pytest.mark.parametrize(
    "command",
    [["aggregate"], ["methods"], ["quickstart"], ["audit"], ["conformal"], ["calibrate"],
     ["report"], ["rules", "apply"], ["rules", "analyze"], ["rules", "fit"]],
)
def test_every_command_help_shows_an_indented_example(capsys, command):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "Example:")
    example = next(line for line in lines[at + 1:] if line.strip())
    assert example.startswith("     softlabels " + " ".join(command[:1])), example
    # Flags take no value: no type is shown for them (typer prints '<bool>' by default).
    assert "<bool>" not in out
    assert "--help" in out and "Show this message" in out


def test_method_with_parameters(answers, tmp_path, capsys):
    out = tmp_path / "o.parquet"
    code, _, _ = run(capsys, "aggregate", answers, "-o", out, "-m", "dawid-skene:uncertainty=plug-in")
    assert code == 0
    soft = SoftLabels.read_parquet(out)
    assert soft.provenance["method"] == "dawid-skene"
    assert soft.provenance["params"]["uncertainty"] == "plug-in"


def test_local_workers_below_one_is_refused(answers, tmp_path, capsys):
    code, _, err = run(capsys, "aggregate", answers, "-o", tmp_path / "o.csv", "--engine", "dask",
                       "--local-workers", "0")
    assert code == 2
    assert "--local-workers must be >= 1; got 0." in err and len(err.strip().splitlines()) == 1


def test_a_missing_extra_is_one_line_and_status_2(answers, tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ModuleNotFoundError("No module named 'distributed'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    monkeypatch.delitem(sys.modules, "distributed", raising=False)
    out = tmp_path / "out"
    code, _, err = run(capsys, "aggregate", answers, "--engine", "dask", "-o", out)
    assert code == 2
    assert err.strip() == "error: 'distributed' is required here: pip install 'softlabels[dask]'"
    assert not out.exists()


def _commands() -> list[list[str]]:
    import typer

    from softlabels.cli import app

    def walk(group, prefix):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from walk(command, [*prefix, name])
            else:
                yield [*prefix, name]

    return list(walk(typer.main.get_command(app), []))


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_option_help_is_shown_as_written(capsys, monkeypatch, command):
    """No help text loses a part to the terminal markup ('softlabels[hf]' read as a tag)."""
    import typer

    from softlabels.cli import app

    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    shown = " ".join(out.replace("│", " ").split())
    cli = typer.main.get_command(app)
    target = cli
    for name in command:
        target = target.commands[name]
    checked = 0
    for param in target.params:
        text = getattr(param, "help", None)
        if text and param.param_type_name == "option":
            assert " ".join(text.split()) in shown, (param.name, text)
            checked += 1
    assert checked >= 3  # --progress, --quiet and --json at least
