"""`softlabels audit`, `conformal`, `calibrate` and `report` on small hand-made files:
documented outputs, and bad input (exit 2, one line naming the fault, no file written)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

from softlabels import SoftLabels
from softlabels.cli import main
from softlabels.core.errors import ProbabilityWarning
from softlabels.core.tables import read_probs

# Ten items, two classes. Item 4 is labelled 0 but the model gives class 1 0.95: an
# obvious error. Item 9 is labelled 1 with p = 0.2: doubtful. The confident joint counts
# one error in each direction, so the default filter (posterior_count) flags both; the
# posterior filter keeps item 9 (the model is wrong on it as often as it is on clean
# class-0 items: the posterior of its label is exactly 1/2).
P = np.array([[0.9, 0.1]] * 4 + [[0.05, 0.95]] + [[0.1, 0.9]] * 4 + [[0.8, 0.2]])
Y = np.array([0] * 5 + [1] * 5)

# A tiny LAC calibration set (3 classes). Scores 1 - p[y]: 0.3, 0.4, 0.7, 0.5.
CAL_P = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.3, 0.5], [0.5, 0.4, 0.1]])
CAL_Y = np.array([0, 1, 1, 0])
TEST_P = np.array([[0.55, 0.40, 0.05], [0.5, 0.5, 0.0], [0.34, 0.33, 0.33], [0.1, 0.1, 0.8]])

ANSWERS = "item,worker,label\n1,a,x\n1,b,x\n1,c,y\n2,a,y\n2,b,y\n2,c,y\n3,a,x\n3,b,y\n3,c,x\n"

FORMATS = ("npy", "csv", "csv-header", "parquet")


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(folder: Path, stem: str, values: np.ndarray, fmt: str) -> Path:
    """``values`` (1-D labels or a 2-D matrix) as .npy, .csv (with or without a header)
    or .parquet."""
    arr = np.asarray(values)
    table = arr.reshape(len(arr), -1)
    names = [f"c{j}" for j in range(table.shape[1])]
    if fmt == "npy":
        path = folder / f"{stem}.npy"
        np.save(path, arr)
    elif fmt == "parquet":
        path = folder / f"{stem}.parquet"
        pd.DataFrame(table, columns=names).to_parquet(path)
    else:
        path = folder / f"{stem}.csv"
        pd.DataFrame(table, columns=names).to_csv(
            path, index=False, header=fmt == "csv-header", float_format="%.17g"
        )
    return path


def read_out(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    """Good and bad inputs, all in tmp_path."""
    f = {
        "p": write(tmp_path, "p", P, "npy"),
        "y": write(tmp_path, "y", Y, "npy"),
        "p_csv": write(tmp_path, "p_csv", P, "csv"),
        "y_csv": write(tmp_path, "y_csv", Y, "csv"),
        "p3": write(tmp_path, "p3", np.full((10, 3), 1 / 3), "npy"),
        "y9": write(tmp_path, "y9", Y[:9], "npy"),
        "y_out": write(tmp_path, "y_out", np.r_[Y[:9], 2], "npy"),
        "missing": tmp_path / "missing.npy",
        "empty": tmp_path / "empty.csv",
        "binary": tmp_path / "binary.csv",
        "text_npy": tmp_path / "text.npy",
        "nan_csv": tmp_path / "nan.csv",
        "answers": tmp_path / "answers.csv",
    }
    nan = P.copy()
    nan[2, 0] = np.nan
    f["nan"] = write(tmp_path, "nan", nan, "npy")
    off = P.copy()
    off[3, 0] += 2e-4  # beyond the 1e-4 tolerance
    f["badsum"] = write(tmp_path, "badsum", off, "npy")
    f["empty"].write_bytes(b"")
    f["binary"].write_bytes(bytes(range(256)) * 4)
    f["text_npy"].write_text("0.9,0.1\n0.2,0.8\n")
    f["nan_csv"].write_text("0.9,0.1\n0.8,nan\n")
    f["answers"].write_text(ANSWERS)
    return f


# ------------------------------------------------------------------------------ help
@pytest.mark.parametrize("command", ["audit", "conformal", "calibrate", "report"])
def test_help_shows_an_example(command, capsys):
    code, stdout, _ = run(capsys, command, "--help")
    assert code == 0
    assert "Example" in stdout
    assert f"softlabels {command} --" in stdout
    assert "--output" in stdout


# ----------------------------------------------------------------------------- audit
@pytest.mark.parametrize("fmt, out_ext", [("npy", "csv"), ("csv", "parquet"),
                                          ("csv-header", "csv"), ("parquet", "parquet")])
def test_audit_flags_the_obvious_error(fmt, out_ext, tmp_path, capsys):
    labels = write(tmp_path, "labels", Y, fmt)
    probs = write(tmp_path, "probs", P, fmt)
    out = tmp_path / f"issues.{out_ext}"
    code, stdout, err = run(capsys, "audit", "--labels", labels, "--pred-probs", probs, "-o", out)
    assert code == 0, err
    table = read_out(out)
    assert {"index", "given", "suggested", "score", "is_issue"} <= set(table.columns)
    assert table["index"].tolist() == list(range(10))  # input order
    assert table["given"].astype(int).tolist() == Y.tolist()
    assert table.loc[table["is_issue"].astype(bool), "index"].tolist() == [4, 9]
    assert int(table.loc[4, "suggested"]) == 1 and int(table.loc[9, "suggested"]) == 0
    assert not table.loc[0, "is_issue"] and int(table.loc[0, "suggested"]) == 0
    # the default score (self-confidence) is the probability of the given label
    np.testing.assert_allclose(table["score"], P[np.arange(10), Y])
    assert "2 of 10 items flagged" in stdout


def test_audit_keeps_the_previous_posterior_filter(tmp_path, capsys):
    labels = write(tmp_path, "labels", Y, "npy")
    probs = write(tmp_path, "probs", P, "npy")
    out = tmp_path / "issues.csv"
    code, stdout, err = run(capsys, "audit", "--labels", labels, "--pred-probs", probs,
                            "-o", out, "--filter-by", "posterior")
    assert code == 0, err
    table = read_out(out)
    assert table.loc[table["is_issue"], "index"].tolist() == [4]
    assert "1 of 10 items flagged" in stdout


def test_audit_help_names_the_default_filter(capsys):
    code, stdout, _ = run(capsys, "audit", "--help")
    assert code == 0
    text = " ".join(re.sub("[\u2500-\u257f]", " ", stdout).split())  # no box drawing
    assert "posterior_count (default)" in text
    assert "posterior (the previous default)" in text


def test_audit_soft_label_table_keeps_item_ids_and_crowd(tmp_path, capsys):
    soft = SoftLabels(P, classes=["cat", "dog"], item_ids=[f"i{j}" for j in range(10)])
    probs = tmp_path / "probs.csv"
    soft.to_frame().to_csv(probs, index=False)
    labels = write(tmp_path, "labels", Y, "npy")
    crowd = write(tmp_path, "crowd", np.eye(2)[np.r_[Y[:4], 1, Y[5:]]], "npy")
    out = tmp_path / "issues.csv"
    code, _, err = run(capsys, "audit", "--labels", labels, "--pred-probs", probs,
                       "--soft-labels", crowd, "-o", out)
    assert code == 0, err
    table = pd.read_csv(out)
    assert table["item"].tolist() == [f"i{j}" for j in range(10)]
    assert table["given"].tolist() == ["cat"] * 5 + ["dog"] * 5
    assert "crowd_label" in table.columns
    assert table.loc[table["is_issue"], "index"].tolist() == [4]
    assert table.loc[4, "suggested"] == "dog"


# ------------------------------------------------------------------------- conformal
# LAC keeps class c when 1 - p_c <= q, q the ceil((n + 1)(1 - alpha))-th smallest
# calibration score (n = 4; scores 0.3, 0.4, 0.5, 0.7), infinite past the n-th.
LAC_CASES = {
    0.4: [[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 0, 1]],  # rank ceil(3.0) = 3: q = 0.5
    0.2: [[1, 1, 0], [1, 1, 0], [1, 1, 1], [0, 0, 1]],  # rank ceil(4.0) = 4: q = 0.7
    0.1: [[1, 1, 1]] * 4,  # rank ceil(4.5) = 5 > 4: q = inf
}


@pytest.mark.parametrize("alpha", sorted(LAC_CASES))
def test_conformal_lac_sets_match_hand_threshold(alpha, tmp_path, capsys):
    cal_p = write(tmp_path, "cal", CAL_P, "npy")
    cal_y = write(tmp_path, "cal_y", CAL_Y, "npy")
    test_p = write(tmp_path, "test", TEST_P, "npy")
    out = tmp_path / "sets.csv"
    code, stdout, err = run(capsys, "conformal", "--calib-probs", cal_p, "--calib-labels", cal_y,
                            "--probs", test_p, "--alpha", alpha, "--score", "lac", "-o", out)
    assert code == 0, err
    sets = pd.read_csv(out)
    assert list(sets.columns) == ["item", "0", "1", "2"]  # items: the rows of a matrix
    assert sets["item"].tolist() == [0, 1, 2, 3]
    assert sets.drop(columns="item").to_numpy().tolist() == LAC_CASES[alpha]
    threshold = {0.4: "0.5", 0.2: "0.7", 0.1: "inf"}[alpha]
    assert re.search(rf"threshold\W+{threshold}\W", stdout), stdout


@pytest.mark.parametrize("fmt, out_ext", [("csv", "parquet"), ("csv-header", "csv"),
                                          ("parquet", "csv")])
def test_conformal_reads_every_format(fmt, out_ext, tmp_path, capsys):
    cal_p = write(tmp_path, "cal", CAL_P, fmt)
    cal_y = write(tmp_path, "cal_y", CAL_Y, fmt)
    test_p = write(tmp_path, "test", np.vstack([TEST_P, TEST_P[:1]]), fmt)
    out = tmp_path / f"sets.{out_ext}"
    code, _, err = run(capsys, "conformal", "--calib-probs", cal_p, "--calib-labels", cal_y,
                       "--probs", test_p, "--alpha", "0.4", "-o", out)
    assert code == 0, err
    sets = read_out(out)
    assert sets.shape == (5, 4)  # one row per item of --probs: its id, one column per class
    assert sets["item"].tolist() == [0, 1, 2, 3, 4]
    assert sets.drop(columns="item").to_numpy().tolist() == LAC_CASES[0.4] + LAC_CASES[0.4][:1]


def test_conformal_columns_named_by_classes_of_a_soft_label_table(tmp_path, capsys):
    cal_p = write(tmp_path, "cal", CAL_P, "npy")
    cal_y = write(tmp_path, "cal_y", CAL_Y, "npy")
    test_p = tmp_path / "test.parquet"
    ids = ["w9", "x1", "a5", "b0"]  # not sorted: rows stay in the input's order
    SoftLabels(TEST_P, classes=["ant", "bee", "cow"], item_ids=ids).to_frame().to_parquet(test_p)
    out = tmp_path / "sets.csv"
    code, _, err = run(capsys, "conformal", "--calib-probs", cal_p, "--calib-labels", cal_y,
                       "--probs", test_p, "--alpha", "0.4", "-o", out)
    assert code == 0, err
    sets = pd.read_csv(out)
    assert list(sets.columns) == ["item", "ant", "bee", "cow"]
    assert sets["item"].tolist() == ids
    assert sets.drop(columns="item").to_numpy().tolist() == LAC_CASES[0.4]


# ------------------------------------------------------------------------- calibrate
def _temperature(stdout: str) -> float:
    match = re.search(r"T = ([0-9.]+)", stdout)
    assert match, stdout
    return float(match.group(1))


def _scaled(p: np.ndarray, t: float) -> np.ndarray:
    z = np.log(p) / t
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("fmt, out_ext", [("npy", "csv"), ("csv-header", "parquet")])
def test_calibrate_with_calibration_set(fmt, out_ext, tmp_path, capsys):
    probs = write(tmp_path, "probs", P, fmt)
    labels = write(tmp_path, "labels", Y, fmt)
    cal = write(tmp_path, "cal", P[::-1], fmt)
    cal_y = write(tmp_path, "cal_y", Y[::-1], fmt)
    out = tmp_path / f"calibrated.{out_ext}"
    code, stdout, err = run(capsys, "calibrate", "--probs", probs, "--labels", labels,
                            "--calib-probs", cal, "--calib-labels", cal_y, "-o", out)
    assert code == 0, err
    for metric in ("accuracy", "ece", "classwise_ece", "brier", "nll"):
        assert re.search(rf"\b{metric}\b", stdout), metric
    # all of --probs is scored; temperature scaling keeps the argmax: 8 of 10 right
    assert re.search(r"accuracy\W+0\.8000\W+0\.8000", stdout), stdout
    table = read_out(out)
    assert table.columns[:3].tolist() == ["item", "label", "confidence"]
    assert table["item"].tolist() == list(range(len(P)))
    scaled = read_probs(out).probs
    assert scaled.shape == P.shape
    np.testing.assert_allclose(scaled.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(scaled.argmax(axis=1), P.argmax(axis=1))
    # the file is softmax(log p / T) for the printed T (rounded to 3 decimals)
    np.testing.assert_allclose(scaled, _scaled(P, _temperature(stdout)), atol=2e-3)
    if out_ext == "parquet":
        provenance = SoftLabels.read_parquet(out).provenance
        assert provenance["method"] == "temperature-scaling"
        assert round(provenance["temperature"], 3) == _temperature(stdout)


def test_calibrate_on_a_held_out_half_prints_metrics_only(tmp_path, capsys, files):
    code, stdout, err = run(capsys, "calibrate", "--probs", files["p_csv"],
                            "--labels", files["y_csv"])
    assert code == 0, err
    assert "held-out half (5 items; seed 0)" in stdout
    assert re.search(r"\bece\b", stdout) and re.search(r"\bnll\b", stdout)
    assert not list(tmp_path.glob("*calibrated*"))


# ---------------------------------------------------------------------------- report
def _check_html(path: Path) -> str:
    html = path.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "<script" not in html.lower()
    return html


def test_report_from_answers_alone(files, tmp_path, capsys):
    out = tmp_path / "report.html"
    code, stdout, err = run(capsys, "report", "--answers", files["answers"], "-o", out,
                            "--title", "Tiny crowd")
    assert code == 0, err
    html = _check_html(out)
    assert "Tiny crowd" in html
    assert 'id="annotators"' in html and 'id="issues"' not in html
    assert "report.html" in stdout


def test_report_from_labels_and_pred_probs(files, tmp_path, capsys):
    out = tmp_path / "report.html"
    code, _, err = run(capsys, "report", "--labels", files["y_csv"], "--pred-probs", files["p"],
                       "-o", out)
    assert code == 0, err
    html = _check_html(out)
    assert 'id="issues"' in html and 'id="calibration"' in html
    assert 'id="annotators"' not in html


# ------------------------------------------------------------------------- bad input
def _audit(f: dict[str, Path], out: Path, **swap: object) -> list[object]:
    args = {"--labels": f["y"], "--pred-probs": f["p"], "-o": out}
    return ["audit", *_flat({**args, **swap})]


def _conformal(f: dict[str, Path], out: Path, **swap: object) -> list[object]:
    args = {"--calib-probs": f["p"], "--calib-labels": f["y"], "--probs": f["p_csv"], "-o": out}
    return ["conformal", *_flat({**args, **swap})]


def _calibrate(f: dict[str, Path], out: Path, **swap: object) -> list[object]:
    args = {"--probs": f["p"], "--labels": f["y"], "-o": out}
    return ["calibrate", *_flat({**args, **swap})]


def _report(f: dict[str, Path], out: Path, **swap: object) -> list[object]:
    args = {"--labels": f["y"], "--pred-probs": f["p"], "-o": out}
    return ["report", *_flat({**args, **swap})]


def _flat(args: dict[str, object]) -> list[object]:
    """Options to argv: None drops an option, True is a flag."""
    flat: list[object] = []
    for key, value in args.items():
        if value is not None:
            flat += [key] if value is True else [key, value]
    return flat


def _opt(**kw: object) -> dict[str, object]:
    """Options as keyword arguments: ``pred_probs=...`` stands for ``--pred-probs``."""
    return {f"--{k.replace('_', '-')}" if k != "o" else "-o": v for k, v in kw.items()}


def case(build: Callable[..., list[object]], expected: tuple[str, ...], **swap: object) -> Any:
    return build, swap, expected


# command, the options replaced (``f:NAME``: that file of the ``files`` fixture;
# ``OUT:NAME``: a path beside the default output; None: option left out), text expected
BAD = {
    # audit
    "audit missing file": case(_audit, ("missing.npy", "no such file"), pred_probs="f:missing"),
    "audit empty file": case(_audit, ("empty.csv", "empty"), pred_probs="f:empty"),
    "audit binary csv": case(_audit, ("binary.csv", "binary"), labels="f:binary"),
    "audit text in npy": case(_audit, ("text.npy", "not a NumPy"), pred_probs="f:text_npy"),
    "audit nan npy": case(_audit, ("nan.npy", "not finite"), pred_probs="f:nan"),
    "audit nan csv": case(_audit, ("nan.csv", "line 2, column 2"), pred_probs="f:nan_csv"),
    "audit bad sums": case(_audit, ("badsum.npy", "do not sum to 1", "row 3"),
                           pred_probs="f:badsum"),
    "audit label range": case(_audit, ("labels", "outside 0..1", "row 9"), labels="f:y_out"),
    "audit lengths": case(_audit, ("y9.npy", "9 labels", "10 rows"), labels="f:y9"),
    "audit soft classes": case(_audit, ("p3.npy", "class"), soft_labels="f:p3"),
    "audit unknown score": case(_audit, ("score", "'nope'"), score="nope"),
    "audit unknown filter": case(_audit, ("--filter-by", "'nope'"), filter_by="nope"),
    "audit out extension": case(_audit, ("issues.json", ".csv or .parquet"), o="OUT:issues.json"),
    "audit out npy": case(_audit, ("issues.npy", ".csv or .parquet"), o="OUT:issues.npy"),
    "audit overwrite input": case(_audit, ("overwrite an input",), labels="f:y_csv",
                                  o="f:y_csv"),
    "audit out folder": case(_audit, ("does not exist",), o="OUT:nowhere/issues.csv"),
    # conformal
    "conformal alpha 0": case(_conformal, ("alpha", "> 0"), alpha="0"),
    "conformal alpha 1": case(_conformal, ("alpha", "< 1"), alpha="1"),
    "conformal alpha 1.5": case(_conformal, ("alpha",), alpha="1.5"),
    "conformal alpha -0.1": case(_conformal, ("alpha",), alpha="-0.1"),
    "conformal alpha text": case(_conformal, ("alpha",), alpha="often"),
    "conformal unknown score": case(_conformal, ("score", "'bad'"), score="bad"),
    "conformal lac randomized": case(_conformal, ("randomized",), randomized=True),
    "conformal classes": case(_conformal, ("p3.npy", "3 class columns", "has 2"),
                              probs="f:p3"),
    "conformal calib lengths": case(_conformal, ("y9.npy", "9 labels", "10 rows"),
                                    calib_labels="f:y9"),
    "conformal label range": case(_conformal, ("calib_labels", "outside 0..1"),
                                  calib_labels="f:y_out"),
    "conformal nan": case(_conformal, ("nan.npy", "not finite"), probs="f:nan"),
    "conformal bad sums": case(_conformal, ("badsum.npy", "do not sum to 1"),
                               calib_probs="f:badsum"),
    "conformal missing": case(_conformal, ("missing.npy", "no such file"),
                              calib_labels="f:missing"),
    "conformal binary csv": case(_conformal, ("binary.csv", "binary"), probs="f:binary"),
    "conformal text in npy": case(_conformal, ("text.npy", "not a NumPy"),
                                  calib_probs="f:text_npy"),
    "conformal out extension": case(_conformal, ("sets.txt", ".csv or .parquet"),
                                    o="OUT:sets.txt"),
    "conformal overwrite input": case(_conformal, ("overwrite an input",), o="f:p_csv"),
    # calibrate
    "calibrate bad sums": case(_calibrate, ("badsum.npy", "do not sum to 1"), probs="f:badsum"),
    "calibrate nan": case(_calibrate, ("nan.csv", "not a finite number"), probs="f:nan_csv"),
    "calibrate label range": case(_calibrate, ("outside 0..1",), labels="f:y_out"),
    "calibrate lengths": case(_calibrate, ("y9.npy", "9 labels", "10 rows"), labels="f:y9"),
    "calibrate calib classes": case(_calibrate, ("p3.npy", "class columns"),
                                    calib_probs="f:p3", calib_labels="f:y"),
    "calibrate calib lengths": case(_calibrate, ("y9.npy", "9 labels", "10 rows"),
                                    calib_probs="f:p", calib_labels="f:y9"),
    "calibrate calib alone": case(_calibrate, ("--calib-probs and --calib-labels",),
                                  calib_probs="f:p"),
    "calibrate empty": case(_calibrate, ("empty.csv", "empty"), labels="f:empty"),
    "calibrate out extension": case(_calibrate, ("out.html", ".csv or .parquet"),
                                    o="OUT:out.html"),
    "calibrate overwrite input": case(_calibrate, ("overwrite an input",), probs="f:p_csv",
                                      o="f:p_csv"),
    # report
    "report labels alone": case(_report, ("--pred-probs",), pred_probs=None),
    "report labels with soft labels": case(_report, ("--labels needs --pred-probs",),
                                           pred_probs=None, soft_labels="f:p"),
    "report nothing": case(_report, ("--answers",), pred_probs=None, labels=None),
    "report lengths": case(_report, ("y9.npy", "9 labels", "10 rows"), labels="f:y9"),
    "report bad sums": case(_report, ("badsum.npy", "do not sum to 1"), pred_probs="f:badsum"),
    "report label range": case(_report, ("outside 0..1",), labels="f:y_out"),
    "report missing answers": case(_report, ("missing.npy", "no such file"),
                                   answers="f:missing", labels=None, pred_probs=None),
    "report out extension": case(_report, ("report.csv", "HTML"), o="OUT:report.csv"),
    "report alpha": case(_report, ("alpha",), alpha="1"),
    "report unknown method": case(_report, ("dawid-skeen",), answers="f:answers",
                                  method="dawid-skeen"),
}


def _argv(name: str, files: dict[str, Path], out: Path) -> tuple[list[str], Path]:
    build, swap, _ = BAD[name]

    def resolve(value: object) -> object:
        if isinstance(value, str) and value.startswith("f:"):
            return files[value[2:]]
        if isinstance(value, str) and value.startswith("OUT:"):
            return out.parent / value[4:]
        return value

    swapped = {k: resolve(v) for k, v in _opt(**swap).items()}
    target = swapped.get("-o", out)
    return [str(a) for a in build(files, out, **swapped)], Path(str(target))


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_exits_2_with_one_line_and_writes_nothing(name, files, tmp_path, capsys):
    out = tmp_path / ("out.html" if name.startswith("report") else "out.csv")
    argv, target = _argv(name, files, out)
    expected = BAD[name][2]
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}

    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, (text, err)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before  # no output, no temporary file, inputs untouched

    if target.parent.is_dir() and target not in files.values():
        # an existing good output survives the failure
        target.write_text("precious\n")
        code, _, err = run(capsys, *argv)
        assert code == 2, err
        assert target.read_text() == "precious\n"


# ------------------------------------------------------------- probability tolerance
def _near_one(tmp_path: Path, delta: float) -> Path:
    p = P.copy()
    p[3, 0] += delta
    return write(tmp_path, f"near_{delta:g}", p, "npy")


@pytest.mark.parametrize("command", ["audit", "conformal", "calibrate", "report"])
def test_rows_off_by_less_than_1e4_are_accepted_with_a_warning(command, files, tmp_path,
                                                               capsys):
    near = _near_one(tmp_path, 5e-5)
    build = {"audit": _audit, "conformal": _conformal, "calibrate": _calibrate,
             "report": _report}[command]
    key = {"audit": "--pred-probs", "conformal": "--probs", "calibrate": "--probs",
           "report": "--pred-probs"}[command]
    out = tmp_path / ("out.html" if command == "report" else "out.csv")
    with pytest.warns(ProbabilityWarning, match="renormalised") as record:
        code, _, err = run(capsys, *build(files, out, **{key: near}))
    assert code == 0, err
    assert out.exists()
    assert any(near.name in str(w.message) for w in record)


def test_console_script_one_line_error_and_readable_warning(files, tmp_path):
    def cli(*argv: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "softlabels", *map(str, argv)],
                              capture_output=True, text=True, check=False, cwd=tmp_path)

    bad = cli("audit", "--labels", files["y"], "--pred-probs", files["badsum"],
              "-o", tmp_path / "o.csv")
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.csv").exists()
    near = _near_one(tmp_path, 5e-5)
    ok = cli("audit", "--labels", files["y"], "--pred-probs", near, "-o", tmp_path / "o.csv")
    assert ok.returncode == 0, ok.stderr
    assert "Traceback" not in ok.stderr and "renormalised" in ok.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["audit", "--labels", "{y}", "--pred-probs", "{p}", "-o", "{o}", "--filter-by", "best"],
         "--filter-by must be one of"),
        (["audit", "--labels", "{y}", "--pred-probs", "{p}", "-o", "{o}", "--score", "margin"],
         "--score must be one of"),
        (["aggregate", "{a}", "-o", "{o}", "--duplicates", "first"],
         "--duplicates must be keep, last or error; got 'first'"),
    ],
)
def test_bad_choices_name_the_option(tmp_path, capsys, argv, message):
    paths = {"y": tmp_path / "y.npy", "p": tmp_path / "p.npy", "o": tmp_path / "out.csv",
             "a": tmp_path / "a.csv"}
    np.save(paths["y"], np.array([0, 1, 1]))
    np.save(paths["p"], np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]))
    paths["a"].write_text("item,worker,label\n1,a,x\n1,b,y\n")
    code = main([a.format(**paths) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: {message}") and err.count("\n") == 1, err
    assert not paths["o"].exists()
