"""Values, not presence: the CLI's calibrate numbers, the soft-label weights reaching a
Pipeline's last step, the report's calibration numbers and alert direction, and the file
mode of every written output."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from softlabels.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def row(stdout: str, metric: str) -> tuple[float, float]:
    found = re.search(rf"\b{metric}\b\W+([0-9.]+)\W+([0-9.]+)", stdout)
    assert found, (metric, stdout)
    return float(found.group(1)), float(found.group(2))


# ----------------------------------------------------------------- calibrate, held out
def overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 3)) * 3.0
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=0.5 * r + 0.5 / 3) for r in p])  # truth is flatter
    return p, y


def test_calibrate_scores_the_held_out_half_not_the_fitting_half(tmp_path, capsys):
    from softlabels.audit.calibration import TemperatureScaling, calibration_report

    p, y = overconfident(40, 7)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", y)
    code, stdout, err = run(capsys, "calibrate", "--probs", tmp_path / "p.npy",
                            "--labels", tmp_path / "y.npy", "--seed", 3)
    assert code == 0, err
    # the documented split: a seeded permutation, first half fits, second half scores
    order = np.random.default_rng(3).permutation(40)
    fit, held = np.sort(order[:20]), np.sort(order[20:])
    ts = TemperatureScaling(inputs="probs").fit(p[fit], y[fit])
    scaled = ts.transform(p)
    before = calibration_report(p[held], y[held], n_bins=15)
    after = calibration_report(scaled[held], y[held], n_bins=15)
    wrong = calibration_report(p[fit], y[fit], n_bins=15)
    for metric in ("ece", "nll", "brier", "accuracy"):
        shown = row(stdout, metric)
        assert shown == pytest.approx((before[metric], after[metric]), abs=6e-5), metric
    assert abs(wrong["nll"] - before["nll"]) > 1e-3  # the case tells the halves apart
    assert f"T = {ts.temperature_:.3f}" in stdout


# ----------------------------------------------------------------- Pipeline weights
def test_pipeline_last_step_receives_the_soft_label_weights():
    pytest.importorskip("sklearn")
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from softlabels.train import SoftLabelClassifier, expand_soft_labels

    class Recorder(ClassifierMixin, BaseEstimator):
        def fit(self, X, y, sample_weight=None):
            self.classes_ = np.unique(y)
            self.seen_ = (np.asarray(y), None if sample_weight is None else np.asarray(sample_weight))
            return self

        def predict_proba(self, X):
            return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))

    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3))
    probs = rng.dirichlet(np.ones(3), size=30)
    clf = SoftLabelClassifier(make_pipeline(StandardScaler(), Recorder())).fit(x, probs)
    labels, weights = clf.estimator_[-1].seen_
    exp = expand_soft_labels(probs)
    assert weights is not None
    np.testing.assert_array_equal(labels, exp.labels)
    np.testing.assert_allclose(weights, exp.weights)

    # and a real pipeline equals the same pipeline fitted on the weighted expansion
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    got = SoftLabelClassifier(pipe).fit(x, probs).predict_proba(x)
    ref = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        x[exp.rows], exp.labels, logisticregression__sample_weight=exp.weights)
    np.testing.assert_allclose(got, ref.predict_proba(x), atol=1e-6)
    unweighted = make_pipeline(StandardScaler(), LogisticRegression()).fit(x[exp.rows], exp.labels)
    assert np.abs(unweighted.predict_proba(x) - got).max() > 1e-3


# ----------------------------------------------------------------- report numbers
def fact(html: str, name: str) -> str:
    found = re.search(rf"<dt>{re.escape(name)}</dt><dd>([^<]*)</dd>", html)
    assert found, name
    return found.group(1)


@pytest.mark.parametrize("case", ["over", "under"])
def test_report_calibration_numbers_and_direction(case):
    from softlabels.report import build_report

    if case == "over":  # always 90% sure, right half of the time
        pred = np.array([[0.9, 0.1]] * 20)
        labels = np.array([0, 1] * 10)
        acc, conf = 0.5, 0.9
    else:  # 60% sure, always right
        pred = np.array([[0.6, 0.4]] * 10 + [[0.4, 0.6]] * 10)
        labels = np.array([0] * 10 + [1] * 10)
        acc, conf = 1.0, 0.6
    html = build_report(labels=labels, pred_probs=pred, created="2026-01-01")
    ece = abs(conf - acc)
    brier = float(np.mean(np.sum((pred - np.eye(2)[labels]) ** 2, axis=1)))
    nll = float(-np.mean(np.log(pred[np.arange(20), labels])))
    assert fact(html, "Model accuracy") == f"{100 * acc:.1f}%"
    assert fact(html, "Calibration error (ECE)") == f"{ece:.3f}"
    text = re.sub(r"<[^>]+>", " ", html)
    assert f"The model is {case}-confident" in text
    assert f"The model is {'under' if case == 'over' else 'over'}-confident" not in text
    assert f"mean confidence {conf:.3f}, accuracy {acc:.3f}" in text
    for label, value in [("Brier score", f"{brier:.3f}"), ("log loss", f"{nll:.3f}"),
                         ("mean confidence", f"{100 * conf:.1f}%")]:
        shown = re.search(rf'<div class="value">([^<]*)</div><div class="label">{label}</div>', html)
        assert shown and shown.group(1) == value, label


# ----------------------------------------------------------------- file modes
ANSWERS = "item,worker,label\n1,a,x\n1,b,x\n1,c,y\n2,a,y\n2,b,y\n2,c,y\n3,a,x\n3,b,y\n3,c,x\n"


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_outputs_respect_the_umask(umask, tmp_path, capsys):
    src = tmp_path / "answers.csv"
    src.write_text(ANSWERS)
    p, y = overconfident(10, 1)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", y)
    outs = {
        "agg": tmp_path / "soft.csv",
        "workers": tmp_path / "workers.csv",
        "cal": tmp_path / "cal.parquet",
        "rep": tmp_path / "report.html",
    }
    assert run(capsys, "aggregate", src, "-o", outs["agg"], "--workers-out", outs["workers"])[0] == 0
    assert run(capsys, "calibrate", "--probs", tmp_path / "p.npy", "--labels", tmp_path / "y.npy",
               "--calib-probs", tmp_path / "p.npy", "--calib-labels", tmp_path / "y.npy",
               "-o", outs["cal"])[0] == 0
    assert run(capsys, "report", "--answers", src, "-o", outs["rep"])[0] == 0
    for name, path in outs.items():
        assert mode(path) == 0o666 & ~umask, (name, oct(mode(path)))
    # overwriting keeps the umask's mode too
    assert run(capsys, "aggregate", src, "-o", outs["agg"])[0] == 0
    assert mode(outs["agg"]) == 0o666 & ~umask
