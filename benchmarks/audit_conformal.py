"""Split-conformal prediction sets on CIFAR-10: softlabels against MAPIE 1.6 and crepes.

Out-of-sample predicted probabilities of the CIFAR-10 test set
(``<project root>/../shared/data/cifar10/pred_probs.npy``, ``given_labels.npy``) are
split at random into halves, 100 times: calibration on one half, sets for the other.
Every method sees the same splits. Reported per miscoverage level ``alpha``: mean
coverage with its standard error over splits, mean set size, for MAPIE's randomised
APS/RAPS the mean over splits of softlabels' set size minus MAPIE's on the same split
(paired) with its standard error, median wall time per split (fit + sets, validation
included) and that time relative to softlabels with the same score.

MAPIE wants an estimator, so the probabilities are wrapped in a prefit estimator whose
"features" are row numbers. MAPIE 1.6 conventions: ``conformity_score`` is "lac"
(``1 - p_y``), "aps" or "raps" (a stratified share of the calibration half set aside
to choose ``k*`` and ``lambda*``: 10%, scikit-learn's default, as its
``SplitConformalClassifier`` leaves ``size_raps`` None; softlabels, like the RAPS
authors' code, sets aside a random 30%); its APS/RAPS calibration scores are always
randomised (sorted mass up to the label minus ``u * p_y``), and
``include_last_label`` picks the sets: True (default) adds the class that crosses the
threshold, "randomized" removes it at random. crepes' ``ConformalClassifier`` takes the
hinge score ``1 - p_y`` (LAC) and returns ``{y : p-value >= alpha}``, smoothed
(randomised tie-breaking) or not.

Run from the project root with the bench environment:
``python benchmarks/audit_conformal.py --output benchmarks/_out/conformal.md``.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from _common import ROOT, _version, emit, environment, fmt_seconds, markdown_table, parser
from softlabels.audit.conformal import SplitConformalClassifier, coverage, mean_set_size

DATA = ROOT.parent / "shared" / "data" / "cifar10"

Runner = Callable[[np.ndarray, np.ndarray, np.ndarray, float, int], np.ndarray]


def ours(score: str, randomized: bool, **params: object) -> Runner:
    def run(pc: np.ndarray, yc: np.ndarray, pt: np.ndarray, alpha: float, seed: int) -> np.ndarray:
        cp = SplitConformalClassifier(
            score, alpha=alpha, randomized=randomized, random_state=seed, **params
        )
        return cp.fit(pc, yc).predict_sets(pt)

    return run


def mapie(score: str, include_last_label: bool | str) -> Runner:
    from mapie.classification import SplitConformalClassifier as MapieSCC
    from sklearn.base import BaseEstimator, ClassifierMixin

    class PrefitTable(ClassifierMixin, BaseEstimator):
        """A fitted classifier whose input is the row number of a probability table."""

        def __init__(self, table: np.ndarray) -> None:
            self.table = table
            self.classes_ = np.arange(table.shape[1])

        def __sklearn_is_fitted__(self) -> bool:
            return True

        def fit(self, X: np.ndarray, y: np.ndarray) -> PrefitTable:
            return self

        def predict_proba(self, X: np.ndarray) -> np.ndarray:
            return self.table[np.asarray(X)[:, 0].astype(np.intp)]

        def predict(self, X: np.ndarray) -> np.ndarray:
            return self.predict_proba(X).argmax(axis=1)

    def run(pc: np.ndarray, yc: np.ndarray, pt: np.ndarray, alpha: float, seed: int) -> np.ndarray:
        table = np.concatenate([pc, pt])
        rows = np.arange(table.shape[0])[:, None]
        model = MapieSCC(
            estimator=PrefitTable(table),
            confidence_level=1 - alpha,
            conformity_score=score,
            prefit=True,
            random_state=seed,
        )
        model.conformalize(rows[: len(pc)], yc)
        params = {"include_last_label": include_last_label} if score != "lac" else None
        _, sets = model.predict_set(rows[len(pc) :], conformity_score_params=params)
        return sets[:, :, 0].astype(bool)

    return run


def crepes_lac(smoothing: bool) -> Runner:
    from crepes import ConformalClassifier
    from crepes.extras import hinge

    def run(pc: np.ndarray, yc: np.ndarray, pt: np.ndarray, alpha: float, seed: int) -> np.ndarray:
        classes = np.arange(pc.shape[1])
        cc = ConformalClassifier().fit(hinge(pc, classes, yc), seed=seed)
        return cc.predict_set(hinge(pt), confidence=1 - alpha, smoothing=smoothing).astype(bool)

    return run


#: (library, method, score key for the time ratio, factory)
METHODS: list[tuple[str, str, str, Callable[[], Runner]]] = [
    ("softlabels", "LAC", "lac", lambda: ours("lac", False)),
    ("softlabels", "APS (u = 0)", "aps", lambda: ours("aps", False)),
    ("softlabels", "APS randomised", "aps-r", lambda: ours("aps", True)),
    ("softlabels", "RAPS (u = 0; k_reg, lam chosen)", "raps", lambda: ours("raps", False)),
    # the official k_reg rule first: the default below is the one the peers are paired with
    ("softlabels", "RAPS randomised (k_reg='quantile', the official rule; lam chosen)", "raps-r",
     lambda: ours("raps", True, k_reg="quantile")),
    ("softlabels", "RAPS randomised (k_reg, lam chosen together, default)", "raps-r",
     lambda: ours("raps", True)),
    ("MAPIE", "lac", "lac", lambda: mapie("lac", True)),
    ("MAPIE", "aps, include_last_label=True (default)", "aps", lambda: mapie("aps", True)),
    ("MAPIE", "aps, include_last_label='randomized'", "aps-r", lambda: mapie("aps", "randomized")),
    ("MAPIE", "raps, include_last_label=True (default)", "raps", lambda: mapie("raps", True)),
    ("MAPIE", "raps, include_last_label='randomized'", "raps-r",
     lambda: mapie("raps", "randomized")),
    ("crepes", "ConformalClassifier + hinge (LAC)", "lac", lambda: crepes_lac(False)),
    ("crepes", "ConformalClassifier + hinge, smoothed", "lac", lambda: crepes_lac(True)),
]


def _se(values: list[float] | np.ndarray) -> float:
    """Standard error of the mean over splits."""
    return float(np.std(values, ddof=1) / np.sqrt(len(values)))


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--splits", type=int, default=100, help="random 50/50 splits (default 100)")
    p.add_argument("--alphas", type=float, nargs="+", default=[0.05, 0.1])
    p.add_argument(
        "--crepes-splits", type=int, default=10, help="splits for crepes, ~2 s each (default 10)"
    )
    args = p.parse_args()
    if not (DATA / "pred_probs.npy").is_file():
        sys.exit(f"CIFAR-10 data not found: {DATA} needs pred_probs.npy and given_labels.npy")
    probs = np.load(DATA / "pred_probs.npy")
    labels = np.load(DATA / "given_labels.npy").astype(np.int64)
    n = labels.size
    splits = [np.random.default_rng(seed).permutation(n) for seed in range(args.splits)]

    runners = []
    for lib, name, key, factory in METHODS:
        try:
            runners.append((lib, name, key, factory()))
        except ImportError as err:
            print(f"skipping {lib} {name}: {err}", file=sys.stderr)

    rows = []
    for alpha in args.alphas:
        own_time: dict[str, float] = {}
        own_size: dict[str, np.ndarray] = {}
        for lib, name, key, run in runners:
            cov, size, secs = [], [], []
            used = splits[: args.crepes_splits] if lib == "crepes" else splits
            for seed, perm in enumerate(used):
                cal, test = perm[: n // 2], perm[n // 2 :]
                pc, yc, pt = probs[cal], labels[cal], probs[test]
                start = time.perf_counter()
                sets = run(pc, yc, pt, alpha, seed)
                secs.append(time.perf_counter() - start)
                cov.append(coverage(sets, labels[test]))
                size.append(mean_set_size(sets))
            med = statistics.median(secs)
            if lib == "softlabels":
                own_time[key], own_size[key] = med, np.array(size)
            ratio = f"{med / own_time[key]:.1f}x" if key in own_time else ""
            paired = ""
            if lib != "softlabels" and key.endswith("-r") and key in own_size:
                diff = own_size[key][: len(size)] - np.array(size)
                paired = f"{diff.mean():+.4f} ± {_se(diff):.4f}"
            rows.append(
                [alpha, lib, name, len(used), f"{np.mean(cov):.4f} ± {_se(cov):.4f}",
                 f"{np.mean(size):.4f}", paired,
                 f"{fmt_seconds(med * 1000)} ms" if med < 1 else f"{fmt_seconds(med)} s", ratio]
            )
            print(" | ".join(str(c) for c in rows[-1]), file=sys.stderr)

    md = "\n\n".join(
        [
            "## Conformal prediction sets (CIFAR-10, 10,000 test images, 10 classes)",
            f"{args.splits} random 50/50 calibration/test splits, the same for every method "
            f"(crepes, about 2 s a split, on the first {args.crepes_splits}). "
            "Coverage: mean over splits ± its standard error; the target is at least "
            "1 - alpha, and for LAC and the randomised scores the expected coverage is "
            "ceil(5001 (1 - alpha)) / 5001 (0.95001 and 0.90002). Time: median per split, "
            "fit and sets together; 'vs ours': that time over softlabels' time for the "
            "same score, randomised against randomised and MAPIE's default sets against "
            "softlabels' non-randomised (u = 0) sets. 'Ours - this, paired': for the "
            "randomised scores, softlabels' mean set size minus this method's on the same "
            "split, averaged over splits ± its standard error (negative: softlabels' sets "
            "are smaller).",
            markdown_table(
                ["alpha", "library", "method", "splits", "coverage", "mean set size",
                 "ours - this, paired", "time / split", "vs ours"],
                rows,
            ),
            environment() + "\n- Peers: " + ", ".join(
                f"{pkg} {_version(pkg)}" for pkg in ("mapie", "crepes", "scikit-learn")
            ),
        ]
    )
    emit(md, args.output)


if __name__ == "__main__":
    main()
