"""Calibration metrics and temperature / vector scaling of softlabels.audit next to
netcal (and scikit-learn, scipy and torch for the metrics netcal lacks) on the CIFAR-10
test set: out-of-sample predicted probabilities, the given labels and the CIFAR-10H
human votes.

Run: python benchmarks/audit_calibration.py [--output benchmarks/_out/calibration.md]
     [--repeats 7] [--seed 0]
"""

from __future__ import annotations

import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from _common import ROOT, emit, environment, fmt_seconds, markdown_table, median_time, parser

from softlabels import SoftLabels
from softlabels.audit import calibration as cal

DATA = ROOT / ".." / "shared" / "data" / "cifar10"
BINS = 15


def load(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not (folder / "pred_probs.npy").exists():
        raise SystemExit(
            f"CIFAR-10 data not found in {folder.resolve()} (see shared/data/README.md)"
        )
    probs = np.load(folder / "pred_probs.npy")
    labels = np.load(folder / "given_labels.npy").astype(np.int64)
    counts = np.load(folder / "cifar10h_counts.npy")
    return probs, labels, counts


def netcal_ece(probs: np.ndarray, labels: np.ndarray, strategy: str) -> float:
    from netcal.metrics import ECE

    return float(ECE(bins=BINS, equal_intervals=strategy == "uniform").measure(probs, labels))


def netcal_classwise(probs: np.ndarray, labels: np.ndarray, strategy: str) -> float:
    """netcal has no classwise ECE: the mean of its binary ECE over one-vs-rest problems."""
    from netcal.metrics import ECE

    metric = ECE(bins=BINS, equal_intervals=strategy == "uniform")
    return float(
        np.mean([metric.measure(probs[:, k], (labels == k).astype(np.int64))
                 for k in range(probs.shape[1])])
    )


def sklearn_nll(probs: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import log_loss

    with warnings.catch_warnings():  # "y_pred values do not sum to one" (within 2.3e-7)
        warnings.simplefilter("ignore", UserWarning)
        return float(log_loss(labels, probs, labels=np.arange(probs.shape[1])))


def numpy_brier(probs: np.ndarray, labels: np.ndarray) -> float:
    """The textbook formula on the raw input (scikit-learn 1.5's Brier is binary only)."""
    return float(np.square(probs - np.eye(probs.shape[1])[labels]).sum(axis=1).mean())


def torch_cross_entropy(probs: np.ndarray, human: np.ndarray) -> float:
    import torch

    logp = torch.log(torch.from_numpy(np.array(probs)))
    return float(torch.nn.functional.cross_entropy(logp, torch.from_numpy(np.array(human))))


def scipy_kl(probs: np.ndarray, human: np.ndarray) -> float:
    from scipy.special import rel_entr

    return float(rel_entr(human, probs).sum(axis=1).mean())


def metric_rows(
    probs: np.ndarray, labels: np.ndarray, human: np.ndarray, repeats: int
) -> list[list[Any]]:
    """Each metric: ours, the peer on the raw input and on the row-normalised input
    (our input check renormalises rows that sum to 1 within 1e-4), and both timings."""
    normed = probs / probs.sum(axis=1, keepdims=True)
    cases = [
        ("ECE, 15 equal-width bins", "netcal ECE",
         lambda: cal.expected_calibration_error(probs, labels, n_bins=BINS),
         lambda p: netcal_ece(p, labels, "uniform")),
        ("ECE, 15 equal-mass bins", "netcal ECE(equal_intervals=False)",
         lambda: cal.expected_calibration_error(probs, labels, n_bins=BINS, strategy="quantile"),
         lambda p: netcal_ece(p, labels, "quantile")),
        ("classwise ECE, equal-width", "netcal ECE per class, mean",
         lambda: cal.classwise_ece(probs, labels, n_bins=BINS),
         lambda p: netcal_classwise(p, labels, "uniform")),
        ("classwise ECE, equal-mass", "netcal ECE per class, mean",
         lambda: cal.classwise_ece(probs, labels, n_bins=BINS, strategy="quantile"),
         lambda p: netcal_classwise(p, labels, "quantile")),
        ("NLL", "scikit-learn log_loss",
         lambda: cal.negative_log_likelihood(probs, labels),
         lambda p: sklearn_nll(p, labels)),
        ("Brier", "numpy formula",
         lambda: cal.brier_score(probs, labels),
         lambda p: numpy_brier(p, labels)),
        ("KL(CIFAR-10H ‖ model)", "scipy rel_entr",
         lambda: cal.soft_label_divergence(probs, human)["kl"],
         lambda p: scipy_kl(p, human)),
        ("cross-entropy vs CIFAR-10H", "torch cross_entropy",
         lambda: cal.soft_label_divergence(probs, human)["cross_entropy"],
         lambda p: torch_cross_entropy(p, human)),
    ]
    rows = []
    for name, peer, ours_fn, peer_fn in cases:
        ours, t_ours = median_time(ours_fn, repeats)
        raw, t_peer = median_time(lambda: peer_fn(probs), repeats)
        renormed = peer_fn(normed)
        rows.append([
            name, f"{ours:.10f}", peer, f"{raw:.10f}", f"{abs(ours - raw):.1e}",
            f"{abs(ours - renormed):.1e}", f"{t_ours * 1e3:.2f}", f"{t_peer * 1e3:.2f}",
            f"{t_peer / t_ours:.1f}",
        ])
    return rows


def scaling_rows(
    probs: np.ndarray, labels: np.ndarray, seed: int, repeats: int
) -> tuple[list[list[Any]], dict[str, Any]]:
    """Fit on a random half, evaluate on the other half (both libraries' models are
    scored with the same functions, whose ECE equals netcal's)."""
    from netcal.scaling import LogisticCalibration
    from netcal.scaling import TemperatureScaling as NetcalTS

    perm = np.random.default_rng(seed).permutation(len(labels))
    fit, held = perm[: len(perm) // 2], perm[len(perm) // 2:]

    def score(p: np.ndarray) -> tuple[float, float]:
        p = p / p.sum(axis=1, keepdims=True)
        return (cal.negative_log_likelihood(p, labels[held]),
                cal.expected_calibration_error(p, labels[held], n_bins=BINS))

    nll0, ece0 = score(probs[held])
    models = [
        ("softlabels TemperatureScaling", lambda: cal.TemperatureScaling(inputs="probs")
         .fit(probs[fit], labels[fit]), lambda m: f"T = {m.temperature_:.6f}", repeats),
        ("netcal TemperatureScaling (mle)", lambda: NetcalTS(method="mle")
         .fit(probs[fit], labels[fit]), lambda m: f"T = 1 / {float(m.temperature[0]):.6f} = "
         f"{1 / float(m.temperature[0]):.6f}", repeats),
        ("softlabels VectorScaling", lambda: cal.VectorScaling(inputs="probs")
         .fit(probs[fit], labels[fit]), lambda m: f"mean w = {m.weights_.mean():.4f}", repeats),
        ("netcal LogisticCalibration (mle)", lambda: LogisticCalibration(method="mle")
         .fit(probs[fit], labels[fit]), lambda m: f"mean w = {float(np.mean(m.weights)):.4f}", 1),
    ]
    rows = []
    fitted = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, make, describe, reps in models:
            model, seconds = median_time(make, reps)
            fitted[name] = model
            nll1, ece1 = score(model.transform(probs[held]))
            rows.append([name, describe(model), f"{nll0:.5f}", f"{nll1:.5f}", f"{ece0:.5f}",
                         f"{ece1:.5f}", fmt_seconds(seconds)])
    ours_ts = fitted["softlabels TemperatureScaling"]
    theirs_ts = fitted["netcal TemperatureScaling (mle)"]
    ours_vs = fitted["softlabels VectorScaling"]
    theirs_vs = fitted["netcal LogisticCalibration (mle)"]
    def largest_gap(ours: Any, theirs: Any) -> float:
        return float(np.abs(ours.transform(probs[held]) - theirs.transform(probs[held])).max())

    def fit_nll(model: Any) -> float:
        q = model.transform(probs[fit])
        return cal.negative_log_likelihood(q / q.sum(axis=1, keepdims=True), labels[fit])

    diffs = {
        "temperature": abs(ours_ts.temperature_ - 1 / float(theirs_ts.temperature[0])),
        "ts_probs": largest_gap(ours_ts, theirs_ts),
        "vs_weights": float(np.abs(ours_vs.weights_ - np.asarray(theirs_vs.weights)).max()),
        "vs_probs": largest_gap(ours_vs, theirs_vs),
        "ts_fit_nll": (fit_nll(ours_ts), fit_nll(theirs_ts)),
        "vs_fit_nll": (fit_nll(ours_vs), fit_nll(theirs_vs)),
    }
    return rows, diffs


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7, help="timed runs per measurement (median)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random half used for fitting")
    p.add_argument("--data", type=Path, default=DATA, help="folder with the CIFAR-10 .npy files")
    args = p.parse_args()

    probs, labels, counts = load(args.data)
    human = SoftLabels.from_counts(counts, classes=list(range(10))).probs
    metrics = metric_rows(probs, labels, human, args.repeats)
    scaling, diffs = scaling_rows(probs, labels, args.seed, max(1, args.repeats // 2))
    row_err = float(np.abs(probs.sum(axis=1) - 1).max())

    md = [
        "## Calibration (softlabels.audit.calibration vs netcal)",
        "",
        environment(),
        f"- Peers: netcal {metadata.version('netcal')}, scikit-learn "
        f"{metadata.version('scikit-learn')}, torch {metadata.version('torch')}",
        "",
        f"CIFAR-10 test set, {len(labels):,} items, 10 classes: cross-validated predicted "
        "probabilities and the given labels; soft labels are the CIFAR-10H vote shares "
        f"(~51 votes per image). The input rows sum to 1 only within {row_err:.1e}; "
        "softlabels renormalises them, so each peer is shown on the raw input and on the "
        "row-normalised input. Times: median of "
        f"{args.repeats} runs, milliseconds, same process; ratio = peer / softlabels.",
        "",
        markdown_table(
            ["metric", "softlabels", "peer", "peer value (raw input)", "|diff| raw",
             "|diff| normalised", "softlabels ms", "peer ms", "ratio"],
            metrics,
        ),
        "",
        f"### Temperature and vector scaling (fit on a random half, seed {args.seed}; "
        "NLL and ECE on the other half)",
        "",
        "Both libraries receive the predicted probabilities and work on their logarithms "
        "(floored at 2.2e-16). netcal's `temperature` is the inverse temperature (it "
        "multiplies the log-probabilities); netcal minimises with scipy L-BFGS-B on "
        "numerical gradients, softlabels with an analytic gradient. Fit time: median of "
        f"{max(1, args.repeats // 2)} fits (netcal LogisticCalibration: one fit).",
        "",
        markdown_table(
            ["model", "fitted", "NLL before", "NLL after", "ECE before", "ECE after", "fit s"],
            scaling,
        ),
        "",
        f"- Temperature scaling: |temperature difference| = {diffs['temperature']:.1e}; "
        f"largest difference of the calibrated probabilities = {diffs['ts_probs']:.1e}; "
        f"NLL on the fitting half: softlabels {diffs['ts_fit_nll'][0]:.8f}, netcal "
        f"{diffs['ts_fit_nll'][1]:.8f}.",
        f"- Vector scaling vs netcal LogisticCalibration: largest weight difference "
        f"{diffs['vs_weights']:.1e}, largest probability difference {diffs['vs_probs']:.1e}; "
        f"NLL on the fitting half (the objective both minimise): softlabels "
        f"{diffs['vs_fit_nll'][0]:.8f}, netcal {diffs['vs_fit_nll'][1]:.8f}. netcal's "
        "biases are not centred, which does not change the probabilities.",
        "",
        "Conventions (identical to netcal.metrics.ECE): confidences clipped to "
        "[eps, 1 - eps]; bins [lower, upper), the last one closed; equal-mass edges are "
        "`np.quantile` (linear) of the confidences with the ends set to 0 and 1; empty "
        "bins count zero. netcal has no classwise ECE: its binary ECE per class "
        "(one-vs-rest) is averaged, which is the definition of Kull et al. (2019).",
    ]
    emit("\n".join(md), args.output)


if __name__ == "__main__":
    main()
