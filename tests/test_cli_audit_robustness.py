"""`softlabels audit`, `conformal` and `calibrate` on unusual files: inputs that are
valid but easy to misread, and bad inputs whose error must name the file, the row and
what is wrong (exit 2, one line, nothing written)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from softlabels import SoftLabels
from softlabels.core.errors import ProbabilityWarning
from test_cli_audit import CAL_P, CAL_Y, P, TEST_P, Y, read_out, run, write

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10"


def fails(capsys: pytest.CaptureFixture[str], folder: Path, out: Path | None,
          *argv: object) -> str:
    """Run a command that must fail: exit 2, one line on stderr, no file of ``folder``
    changed, and an existing ``out`` left as it was. Returns the error line."""
    if out is not None:
        out.write_text("precious\n")
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    return err


def conformal_argv(cal_p: Path, cal_y: Path, probs: Path, out: Path, *extra: object) -> list:
    return ["conformal", "--calib-probs", cal_p, "--calib-labels", cal_y, "--probs", probs,
            "-o", out, *extra]


# ------------------------------------------- the header 0,1,..,K-1 of a written matrix
def test_conformal_reads_probabilities_written_by_calibrate(tmp_path, capsys):
    """calibrate writes a softlabels table (item, label, confidence, then the classes
    0,1,2 of a matrix); conformal reads it back with the same items and classes."""
    probs = write(tmp_path, "probs", CAL_P, "npy")
    labels = write(tmp_path, "labels", CAL_Y, "npy")
    calibrated = tmp_path / "calibrated.csv"
    code, _, err = run(capsys, "calibrate", "--probs", probs, "--labels", labels,
                       "--calib-probs", probs, "--calib-labels", labels, "-o", calibrated)
    assert code == 0, err
    assert calibrated.read_text().splitlines()[0] == "item,label,confidence,0,1,2"
    sets = tmp_path / "sets.csv"
    code, _, err = run(capsys, *conformal_argv(probs, labels, calibrated, sets, "--alpha", 0.4))
    assert code == 0, err
    assert read_out(sets).columns.tolist() == ["item", "0", "1", "2"]
    assert read_out(sets)["item"].tolist() == [0, 1, 2, 3]


def test_two_class_header_is_not_an_extra_item(tmp_path, capsys):
    """With two classes the header 0,1 is also a valid probability row: reading it as
    data added an item (conformal wrote n + 1 sets)."""
    probs = tmp_path / "probs.csv"
    pd.DataFrame(P).to_csv(probs, index=False)  # pandas' default header: 0,1
    labels = write(tmp_path, "labels", Y, "npy")
    sets = tmp_path / "sets.csv"
    code, _, err = run(capsys, *conformal_argv(probs, labels, probs, sets, "--alpha", 0.5))
    assert code == 0, err
    assert read_out(sets).shape == (10, 3)  # item, then the two classes
    issues = tmp_path / "issues.csv"
    code, _, err = run(capsys, "audit", "--labels", labels, "--pred-probs", probs, "-o", issues)
    assert code == 0, err
    np.testing.assert_allclose(read_out(issues)["score"], P[np.arange(10), Y])
    # but a headerless one-hot matrix of integers whose first row is 0,1 is all data
    onehot = tmp_path / "onehot.csv"
    onehot.write_text("".join(f"{a},{b}\n" for a, b in np.eye(2, dtype=int)[Y[::-1]]))
    code, _, err = run(capsys, "audit", "--labels", labels, "--pred-probs", onehot, "-o", issues)
    assert code == 0, err
    assert len(read_out(issues)) == 10


def test_header_without_data_rows(tmp_path, capsys):
    probs = tmp_path / "probs.csv"
    probs.write_text("0,1,2\n")
    labels = write(tmp_path, "labels", CAL_Y, "npy")
    err = fails(capsys, tmp_path, tmp_path / "sets.csv",
                *conformal_argv(write(tmp_path, "cal", CAL_P, "npy"), labels, probs,
                                tmp_path / "sets.csv"))
    assert "probs.csv" in err and "no data rows" in err


@pytest.mark.realdata
def test_cifar10_calibrate_then_conformal(tmp_path, capsys):
    if not (DATA / "pred_probs.npy").exists():
        pytest.skip(f"real data not found at {DATA}")
    p = np.load(DATA / "pred_probs.npy")[:1500]
    y = np.load(DATA / "given_labels.npy")[:1500]
    cal_p, cal_y = write(tmp_path, "cal", p[:1000], "npy"), write(tmp_path, "cal_y", y[:1000], "npy")
    test = write(tmp_path, "test", p[1000:], "npy")
    calibrated = tmp_path / "calibrated.csv"
    code, _, err = run(capsys, "calibrate", "--probs", test, "--labels",
                       write(tmp_path, "test_y", y[1000:], "csv-header"), "--calib-probs", cal_p,
                       "--calib-labels", cal_y, "-o", calibrated)
    assert code == 0, err
    sets = tmp_path / "sets.parquet"
    code, _, err = run(capsys, *conformal_argv(cal_p, cal_y, calibrated, sets))
    assert code == 0, err
    table = read_out(sets)
    assert table.shape == (500, 11)
    assert table["item"].tolist() == list(range(500))
    member = table.drop(columns="item").to_numpy()
    assert (member[np.arange(500), y[1000:]] == 1).mean() > 0.8


# ----------------------------------------------------------------- softlabels tables
def _soft_table(probs: np.ndarray) -> pd.DataFrame:
    return SoftLabels(probs, classes=["cat", "dog"],
                      item_ids=[f"i{j}" for j in range(len(probs))]).to_frame()


def test_soft_label_table_within_tolerance_is_renormalised(tmp_path, capsys):
    """A softlabels table rounded to 5 decimals (rows off by up to 1e-5 .. 1e-4) gets
    the documented 1e-4 tolerance, as a plain matrix does."""
    probs = tmp_path / "probs.csv"
    frame = _soft_table(P)
    frame.loc[3, "cat"] += 5e-5
    frame.to_csv(probs, index=False)
    labels = write(tmp_path, "labels", Y, "npy")
    out = tmp_path / "issues.csv"
    with pytest.warns(ProbabilityWarning, match="renormalised"):
        code, _, err = run(capsys, "audit", "--labels", labels, "--pred-probs", probs, "-o", out)
    assert code == 0, err
    table = read_out(out)
    assert table["item"].tolist() == [f"i{j}" for j in range(10)]
    # the same flags as the unrounded matrix (test_cli_audit: items 4 and 9)
    assert table.loc[table["is_issue"], "index"].tolist() == [4, 9]


def test_soft_label_table_with_a_misspelled_column(tmp_path, capsys):
    probs = tmp_path / "probs.csv"
    _soft_table(P).rename(columns={"confidence": "confidense"}).to_csv(probs, index=False)
    labels = write(tmp_path, "labels", Y, "npy")
    err = fails(capsys, tmp_path, tmp_path / "out.csv", "audit", "--labels", labels,
                "--pred-probs", probs, "-o", tmp_path / "out.csv")
    assert "probs.csv" in err and "'confidence'" in err and "confidense" in err


def test_soft_label_tables_of_other_items(tmp_path, capsys):
    """Two softlabels tables must list the same items in the same order."""
    probs, crowd = tmp_path / "probs.csv", tmp_path / "crowd.csv"
    _soft_table(P).to_csv(probs, index=False)
    _soft_table(P).iloc[::-1].to_csv(crowd, index=False)
    labels = write(tmp_path, "labels", Y, "npy")
    out = tmp_path / "out.csv"
    err = fails(capsys, tmp_path, out, "audit", "--labels", labels, "--pred-probs", probs,
                "--soft-labels", crowd, "-o", out)
    assert "crowd.csv" in err and "row 0" in err and "'i9'" in err
    err = fails(capsys, tmp_path, out, "calibrate", "--probs", probs, "--labels", labels,
                "--soft-labels", crowd, "-o", out)
    assert "crowd.csv" in err and "row 0" in err


def test_soft_labels_of_another_length_give_both_counts(tmp_path, capsys):
    probs, labels = write(tmp_path, "probs", P, "npy"), write(tmp_path, "labels", Y, "npy")
    crowd = write(tmp_path, "crowd", P[:7], "npy")
    out = tmp_path / "out.csv"
    err = fails(capsys, tmp_path, out, "audit", "--labels", labels, "--pred-probs", probs,
                "--soft-labels", crowd, "-o", out)
    assert "crowd.npy" in err and "7 rows" in err and "10" in err


# -------------------------------------------------------------------------- labels
@pytest.mark.parametrize("bad, shown", [(-1, "-1"), (2, "2"), (1.5, "1.5")])
def test_calibrate_names_the_labels_file_and_the_true_row(bad, shown, tmp_path, capsys):
    """On a held-out half the row was counted within the half, and no file was named."""
    y = Y.astype(np.float64)
    y[7] = bad
    labels = write(tmp_path, "labels", y, "npy")
    probs = write(tmp_path, "probs", P, "npy")
    out = tmp_path / "out.csv"
    err = fails(capsys, tmp_path, out, "calibrate", "--probs", probs, "--labels", labels,
                "-o", out)
    assert "labels.npy" in err and "row 7" in err and shown in err
    assert "np.float64" not in err


@pytest.mark.parametrize("command", ["audit", "conformal", "calibrate"])
def test_bad_labels_name_their_file(command, tmp_path, capsys):
    probs = write(tmp_path, "probs", P, "npy")
    good = write(tmp_path, "good", Y, "npy")
    bad = write(tmp_path, "bad", np.r_[Y[:9], -3], "npy")
    out = tmp_path / "out.csv"
    argv = {
        "audit": ["audit", "--labels", bad, "--pred-probs", probs],
        "conformal": conformal_argv(probs, bad, probs, out)[:-2],
        "calibrate": ["calibrate", "--probs", probs, "--labels", good,
                      "--calib-probs", probs, "--calib-labels", bad],
    }[command]
    err = fails(capsys, tmp_path, out, *argv, "-o", out)
    assert "bad.npy" in err and "row 9" in err and "-3" in err


def test_numeric_header_of_labels_gets_a_hint(tmp_path, capsys):
    """pandas writes a Series with the header 0, which reads as one more label."""
    labels = tmp_path / "labels.csv"
    pd.Series(Y).to_csv(labels, index=False)
    probs = write(tmp_path, "probs", P, "npy")
    out = tmp_path / "out.csv"
    err = fails(capsys, tmp_path, out, "audit", "--labels", labels, "--pred-probs", probs,
                "-o", out)
    assert "labels.csv: 11 labels but" in err and "10 rows" in err and "a header of numbers" in err


# ------------------------------------------------------------------- probabilities
def test_three_dimensional_probabilities_name_their_shape(tmp_path, capsys):
    probs = write(tmp_path, "probs", P[:, :, None], "npy")
    labels = write(tmp_path, "labels", Y, "npy")
    out = tmp_path / "out.csv"
    err = fails(capsys, tmp_path, out, "audit", "--labels", labels, "--pred-probs", probs,
                "-o", out)
    assert "probs.npy" in err and "got shape (10, 2, 1)" in err


def test_empty_text_file_says_which_input(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    labels = write(tmp_path, "labels", Y, "npy")
    out = tmp_path / "out.csv"
    err = fails(capsys, tmp_path, out, "audit", "--labels", labels, "--pred-probs", empty,
                "-o", out)
    assert "predicted probabilities" in err and "empty.csv: the file is empty" in err


# ----------------------------------------------------------------------- seeds, RAPS
@pytest.mark.parametrize("command", ["conformal", "calibrate"])
def test_negative_seed_is_a_usage_error(command, tmp_path, capsys):
    probs, labels = write(tmp_path, "probs", P, "npy"), write(tmp_path, "labels", Y, "npy")
    out = tmp_path / "out.csv"
    argv = (conformal_argv(probs, labels, probs, out, "--score", "aps", "--randomized")
            if command == "conformal" else ["calibrate", "--probs", probs, "--labels", labels,
                                            "-o", out])
    err = fails(capsys, tmp_path, out, *argv, "--seed", "-1")
    assert "--seed" in err


def test_raps_on_a_single_calibration_item(tmp_path, capsys):
    """The library's advice (pass k_reg and lam) names options the command lacks."""
    cal_p = write(tmp_path, "cal", CAL_P[:1], "npy")
    cal_y = write(tmp_path, "cal_y", CAL_Y[:1], "npy")
    test = write(tmp_path, "test", TEST_P, "npy")
    out = tmp_path / "sets.csv"
    err = fails(capsys, tmp_path, out, *conformal_argv(cal_p, cal_y, test, out,
                                                       "--score", "raps", "--alpha", 0.5))
    assert "cal_y.npy" in err and "--score raps" in err and "k_reg" not in err


# ------------------------------------------------- calibration too small for alpha
def test_too_few_calibration_items_warn_and_give_full_sets(tmp_path, capsys):
    cal_p = write(tmp_path, "cal", CAL_P, "npy")
    cal_y = write(tmp_path, "cal_y", CAL_Y, "npy")
    test = write(tmp_path, "test", TEST_P, "npy")
    out = tmp_path / "sets.csv"
    with pytest.warns(UserWarning, match=r"4 calibration items are too few for alpha=0\.1 "
                                         r"\(at least 9 needed\)"):
        code, _, err = run(capsys, *conformal_argv(cal_p, cal_y, test, out, "--alpha", 0.1))
    assert code == 0, err
    assert read_out(out).drop(columns="item").to_numpy().tolist() == [[1, 1, 1]] * 4


def test_mondrian_class_without_calibration_items_warns(tmp_path, capsys):
    cal_p = write(tmp_path, "cal", CAL_P, "npy")  # no item of class 2
    cal_y = write(tmp_path, "cal_y", CAL_Y, "npy")
    test = write(tmp_path, "test", TEST_P, "npy")
    out = tmp_path / "sets.csv"
    with pytest.warns(UserWarning, match=r"1 of 3 classes have fewer than 2 calibration "
                                         r"items for alpha=0\.4 \(first: class 2\)"):
        code, _, err = run(capsys, *conformal_argv(cal_p, cal_y, test, out, "--alpha", 0.4,
                                                   "--mondrian"))
    assert code == 0, err
    assert read_out(out)["2"].tolist() == [1, 1, 1, 1]  # infinite threshold: in every set


# ------------------------------------------------ ids as written, classes matched by name
def test_audit_reads_a_soft_label_table_with_leading_zero_ids(tmp_path, capsys):
    soft = SoftLabels(P, ["a", "b"], ["007", "7"] + [f"i{i}" for i in range(8)])
    soft.to_csv(tmp_path / "probs.csv")
    labels = write(tmp_path, "labels", Y, "npy")
    out = tmp_path / "issues.csv"
    code, _, err = run(capsys, "audit", "--labels", labels, "--pred-probs",
                       tmp_path / "probs.csv", "-o", out)
    assert code == 0, err
    assert len(read_out(out)) == 10


def test_crowd_table_with_its_classes_in_another_order_is_matched_by_name(tmp_path, capsys):
    ids = [f"i{i}" for i in range(10)]
    SoftLabels(P, ["a", "b"], ids).to_csv(tmp_path / "probs.csv")
    crowd = np.column_stack([P[:, 1], P[:, 0]])[::-1]  # the items' crowd labels: reversed
    crowd = np.ascontiguousarray(crowd)
    SoftLabels(crowd, ["b", "a"], ids).to_csv(tmp_path / "crowd_ba.csv")
    SoftLabels(crowd[:, ::-1], ["a", "b"], ids).to_csv(tmp_path / "crowd_ab.csv")
    labels = write(tmp_path, "labels", Y, "npy")
    tables = []
    for name in ("crowd_ba.csv", "crowd_ab.csv"):
        out = tmp_path / f"issues_{name}"
        code, _, err = run(capsys, "audit", "--labels", labels, "--pred-probs",
                           tmp_path / "probs.csv", "--soft-labels", tmp_path / name, "-o", out)
        assert code == 0, err
        tables.append(read_out(out))
    pd.testing.assert_frame_equal(tables[0], tables[1])
    SoftLabels(crowd, ["b", "c"], ids).to_csv(tmp_path / "crowd_bc.csv")
    err = fails(capsys, tmp_path, tmp_path / "issues.csv", "audit", "--labels", labels,
                "--pred-probs", tmp_path / "probs.csv", "--soft-labels",
                tmp_path / "crowd_bc.csv", "-o", tmp_path / "issues.csv")
    assert "classes ['b', 'c'] are not those of" in err


def test_calibrate_matches_calibration_classes_by_name_and_remaps_their_labels(tmp_path, capsys):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([1, 1, 1], 120)
    labels = np.array([rng.choice(3, p=row) for row in probs])
    ids = [f"i{i}" for i in range(120)]
    SoftLabels(probs[60:], ["a", "b", "c"], ids[60:]).to_csv(tmp_path / "test.csv")
    test_y = write(tmp_path, "test_y", labels[60:], "npy")
    SoftLabels(probs[:60], ["a", "b", "c"], ids[:60]).to_csv(tmp_path / "cal_abc.csv")
    cal_abc_y = write(tmp_path, "cal_abc_y", labels[:60], "npy")
    order = [2, 0, 1]  # the same calibration set with columns c, a, b and labels to match
    SoftLabels(probs[:60, order], ["c", "a", "b"], ids[:60]).to_csv(tmp_path / "cal_cab.csv")
    cal_cab_y = write(tmp_path, "cal_cab_y", np.argsort(order)[labels[:60]], "npy")
    outs = []
    for cal, cal_y in (("cal_abc.csv", cal_abc_y), ("cal_cab.csv", cal_cab_y)):
        out = tmp_path / f"out_{cal}"
        code, _, err = run(capsys, "calibrate", "--probs", tmp_path / "test.csv", "--labels",
                           test_y, "--calib-probs", tmp_path / cal, "--calib-labels", cal_y,
                           "-o", out)
        assert code == 0, err
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_report_seed_below_zero_is_a_usage_error(tmp_path, capsys):
    answers = tmp_path / "answers.csv"
    answers.write_text("item,worker,label\n1,a,x\n1,b,y\n2,a,y\n")
    code, _, err = run(capsys, "report", "--answers", answers, "--seed", "-1",
                       "-o", tmp_path / "r.html")
    assert code == 2 and "--seed" in err


# ------------------------------------------- faults inside a softlabels table, named
def test_soft_label_table_with_an_empty_cell_names_row_item_and_class(tmp_path, capsys):
    probs = tmp_path / "probs.csv"
    frame = _soft_table(P)
    frame.loc[6, "dog"] = np.nan
    frame.to_csv(probs, index=False)
    labels = write(tmp_path, "labels", Y, "npy")
    out = tmp_path / "out.csv"
    err = fails(capsys, tmp_path, out, "audit", "--labels", labels, "--pred-probs", probs,
                "-o", out)
    assert f"predicted probabilities ({probs}): row 6 (item 'i6'), class 'dog' is missing" in err


def test_soft_label_table_with_a_repeated_class_column(tmp_path, capsys):
    """The CSV reader renames the second 'cat' to 'cat.1', which read as a third class."""
    crowd = tmp_path / "crowd.csv"
    crowd.write_text("item,label,confidence,cat,dog,cat\n"
                     + "".join(f"i{j},cat,1,1,0,0\n" for j in range(10)))
    probs = tmp_path / "probs.csv"
    _soft_table(P).to_csv(probs, index=False)
    labels = write(tmp_path, "labels", Y, "npy")
    out = tmp_path / "out.csv"
    err = fails(capsys, tmp_path, out, "audit", "--labels", labels, "--pred-probs", probs,
                "--soft-labels", crowd, "-o", out)
    assert "crowd.csv" in err and "column 'cat' appears more than once (columns 4 and 6)" in err


def test_soft_label_table_with_a_repeated_item(tmp_path, capsys):
    probs = tmp_path / "probs.csv"
    frame = _soft_table(P)
    frame.loc[8, "item"] = "i2"
    frame.to_csv(probs, index=False)
    labels = write(tmp_path, "labels", Y, "npy")
    out = tmp_path / "out.csv"
    err = fails(capsys, tmp_path, out, "audit", "--labels", labels, "--pred-probs", probs,
                "-o", out)
    assert "probs.csv" in err and "item 'i2' appears more than once (rows 2 and 8)" in err


def test_labels_saved_as_one_column_matrix_are_read(tmp_path, capsys):
    """An (n, 1) .npy of labels (a column vector) is one label per item."""
    labels = write(tmp_path, "labels", Y[:, None], "npy")
    probs = write(tmp_path, "probs", P, "npy")
    out = tmp_path / "issues.csv"
    code, _, err = run(capsys, "audit", "--labels", labels, "--pred-probs", probs, "-o", out)
    assert code == 0, err
    assert read_out(out)["given"].tolist() == Y.tolist()


# ------------------------------------------- options are checked before any file is read
@pytest.mark.parametrize(
    ("extra", "expected"),
    [(("--alpha", "2"), "error: --alpha must be > 0 and < 1; got 2.0."),
     (("--alpha", "0"), "error: --alpha must be > 0 and < 1; got 0.0."),
     (("--score", "apss"), "error: --score must be one of ['lac', 'aps', 'raps']; got 'apss'."),
     (("--randomized",), "randomized=True applies to score='aps' or 'raps'")],
)
def test_conformal_bad_option_reported_before_a_missing_file(tmp_path, capsys, extra, expected):
    missing = tmp_path / "missing.npy"
    err = fails(capsys, tmp_path, None, *conformal_argv(missing, missing, missing,
                                                        tmp_path / "sets.csv", *extra))
    assert expected in err
    assert "missing.npy" not in err


def test_conformal_missing_file_is_reported_when_the_options_are_good(tmp_path, capsys):
    missing = tmp_path / "missing.npy"
    err = fails(capsys, tmp_path, None, *conformal_argv(missing, missing, missing,
                                                        tmp_path / "sets.csv", "--alpha", "0.2"))
    assert "missing.npy: no such file" in err
