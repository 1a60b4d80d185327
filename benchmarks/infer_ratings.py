"""Numeric ratings (softlabels.infer.ratings): crowd aggregation and DeQA-Score soft labels.

Part A: MAE against the truth of the per-item estimates on the ``emotion`` crowd (700
items, 10 ratings each, scores -100..100): mean, median, our reliability-weighted
estimate (Gaussian worker-variance EM) and crowd-kit's RASA on the ratings as 1-D
embeddings (its reliability-weighted mean, ``aggregated_embeddings_``).

Part B: the same estimators on synthetic crowds with known truth, the settings the
default ``prior_strength`` was chosen on (mean ± std over seeds), plus the calibration
of the standard errors (std of ``(estimate - truth) / std_error``, 1 is ideal).

Part C: DeQA-Score soft labels: how well each renormalisation keeps the mean, how the
spread is recovered (``soft_labels_to_gaussian``), and the speed on 100 000 items.

Run from the repository root:

    python benchmarks/infer_ratings.py \
        --output benchmarks/_out/infer_ratings.md
"""

from __future__ import annotations

import _one_thread  # noqa: F401  (before numpy: one BLAS thread)

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    ROOT,
    emit,
    environment,
    fmt_seconds,
    markdown_table,
    median_time,
    parser,
)

from softlabels.infer.ratings import (  # noqa: E402
    RatingAggregator,
    deqa_level_probs,
    gaussian_to_soft_labels,
    soft_labels_to_gaussian,
)

DATA = ROOT.parent / "shared" / "data" / "crowd" / "emotion"
PRIORS = (3.0, 10.0, 30.0)


def mean_std(values: list[float], digits: int = 3) -> str:
    v = np.asarray(values)
    return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}"


def rasa(answers: pd.DataFrame) -> pd.Series:
    """crowd-kit RASA's reliability-weighted mean of the ratings (1-D embeddings)."""
    from crowdkit.aggregation import RASA

    df = pd.DataFrame(
        {
            "task": answers["item"],
            "worker": answers["worker"],
            "embedding": [np.array([float(v)]) for v in answers["label"]],
        }
    )
    agg = RASA().fit(df).aggregated_embeddings_
    return agg.map(lambda e: float(np.asarray(e).ravel()[0]))


def estimates(answers: pd.DataFrame) -> dict[str, tuple[pd.Series, float]]:
    """Per-item estimates (indexed by item) and the fit time of each method."""
    out = {}
    for label, kwargs in [
        ("mean", {"method": "mean"}),
        ("median", {"method": "median"}),
        *[
            (f"reliability, prior_strength={p:g}" + (" (default)" if p == 10 else ""),
             {"prior_strength": p})
            for p in PRIORS
        ],
    ]:
        model, seconds = median_time(lambda: RatingAggregator(**kwargs).fit(answers), 3)
        out[label] = (model.estimates_.set_index("item")["estimate"], seconds)
    series, seconds = median_time(lambda: rasa(answers), 1)
    out["crowd-kit RASA (weighted mean)"] = (series, seconds)
    return out


def part_a() -> str:
    if not (DATA / "answers.csv").exists():
        return f"### A. emotion\n\nData not found at {DATA}.\n"
    answers = pd.read_csv(DATA / "answers.csv")
    truth = pd.read_csv(DATA / "truth.csv").set_index("item")["label"]
    rows = []
    for label, (est, seconds) in estimates(answers).items():
        mae = float((est - truth.reindex(est.index)).abs().mean())
        rows.append([label, f"{mae:.3f}", fmt_seconds(seconds)])
    return "\n".join([
        "### A. emotion crowd (700 items x 10 ratings, 38 workers): MAE against the truth",
        "",
        markdown_table(["estimator", "MAE", "fit seconds"], rows),
        "",
        "prior_strength 3 and 30 are shown for sensitivity only; the default (10) was fixed on "
        "the synthetic crowds of part B before this table was made.",
        "",
    ])


SETTINGS = [
    ("5 ratings/item, 60 workers, noise sd 10-40", {}),
    ("3 ratings/item", {"k": 3}),
    ("workers alike (sd 20-30)", {"lo": 20.0, "hi": 30.0}),
    ("300 workers (5 ratings each)", {"m": 300}),
    ("Student-t(3) noise", {"heavy": True}),
    ("very unequal workers (sd 5-60)", {"lo": 5.0, "hi": 60.0}),
]


def synthetic(seed: int, n: int = 300, m: int = 60, k: int = 5, lo: float = 10.0,
              hi: float = 40.0, heavy: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.normal(0.0, 30.0, n)
    sd = np.exp(rng.uniform(np.log(lo), np.log(hi), m))
    item = np.repeat(np.arange(n), k)
    worker = np.concatenate([rng.choice(m, k, replace=False) for _ in range(n)])
    noise = rng.standard_t(3, item.size) / np.sqrt(3) if heavy else rng.standard_normal(item.size)
    answers = pd.DataFrame(
        {"item": item, "worker": worker, "label": truth[item] + sd[worker] * noise}
    )
    return answers, truth


def part_b(n_seeds: int) -> str:
    rows = []
    for name, cfg in SETTINGS:
        maes: dict[str, list[float]] = {}
        zs: list[float] = []
        for seed in range(n_seeds):
            answers, truth = synthetic(seed, **cfg)
            for label, kw in [("mean", {"method": "mean"}), ("median", {"method": "median"})] + [
                (f"rel. {p:g}", {"prior_strength": p}) for p in PRIORS
            ]:
                model = RatingAggregator(**kw).fit(answers)
                est = model.estimates_.set_index("item")
                err = est["estimate"].to_numpy() - truth[est.index.to_numpy()]
                maes.setdefault(label, []).append(float(np.abs(err).mean()))
                if label == "rel. 10":
                    zs.append(float(np.std(err / est["std_error"].to_numpy())))
            r = rasa(answers)
            maes.setdefault("RASA", []).append(
                float(np.abs(r.to_numpy() - truth[r.index.to_numpy()]).mean())
            )
        labels = ["mean", "median", "rel. 3", "rel. 10", "rel. 30", "RASA"]
        rows.append([name, *[mean_std(maes[lab], 2) for lab in labels], mean_std(zs, 2)])
    head = ["setting", "mean", "median", "reliability 3", "reliability 10 (default)",
            "reliability 30", "crowd-kit RASA", "z std (rel. 10)"]
    return "\n".join([
        f"### B. synthetic crowds: MAE (mean ± std over {n_seeds} seeds; 300 items, truth "
        "N(0, 30²), worker noise sd log-uniform)",
        "",
        markdown_table(head, rows),
        "",
    ])


def part_c() -> str:
    rng = np.random.default_rng(0)
    n = 5000
    mu = rng.uniform(1.0, 5.0, n)
    sd = rng.uniform(0.1, 1.0, n)
    levels = np.arange(1.0, 6.0)
    rows = []
    for density in ("pdf", "cdf"):
        raw, binary = deqa_level_probs(mu, sd, density=density)
        sums = raw.sum(axis=1)
        err = {"official (no renormalisation)": np.abs(raw @ levels - mu)}
        for how in ("divide", "project"):
            q = gaussian_to_soft_labels(mu, sd, density=density, renormalize=how).probs
            err[f"renormalize={how!r}"] = np.abs(q @ levels - mu)
        for label, e in err.items():
            rows.append([density, label, f"{e.mean():.4f}", f"{e.max():.4f}",
                         f"{binary.mean():.1%}", f"{sums.min():.3f}-{sums.max():.3f}"
                         if label.startswith("official") else "1"])
    onehot = np.minimum(np.floor((mu - 1.0) / 0.8), 4) + 1
    e_one = np.abs(onehot - mu)
    rows.append(["-", "one-hot level of the mean (5 bins over [1, 5])",
                 f"{e_one.mean():.4f}", f"{e_one.max():.4f}", "-", "1"])
    part1 = markdown_table(
        ["density", "label", "mean abs(E[level] - mu)", "max", "fallback rows", "row sums"], rows
    )

    srows = []
    for density in ("pdf", "cdf"):
        soft = gaussian_to_soft_labels(mu, sd, density=density)
        raw, binary = deqa_level_probs(mu, sd, density=density)
        inv = soft_labels_to_gaussian(soft, density=density)
        mom = soft_labels_to_gaussian(soft, method="moments")
        ok = ~inv["binary"].to_numpy()
        unclipped = ok & (raw > 1e-9).all(axis=1)
        e_inv = np.abs(inv["std"].to_numpy() - sd)
        e_mom = np.abs(mom["std"].to_numpy() - sd)
        back = gaussian_to_soft_labels(inv["mean"][ok], inv["std"][ok], density=density).probs
        srows.append([
            density, f"{ok.mean():.1%}", f"{e_mom[ok].mean():.4f}", f"{e_inv[ok].mean():.4f}",
            f"{(e_inv[unclipped] < 1e-5 * sd[unclipped]).mean():.1%} of {unclipped.sum()}",
            f"{np.abs(back - soft.probs[ok]).max():.1e}",
        ])
    part2 = markdown_table(
        ["density", "rows with a spread", "mean abs(std - sigma), moments (DeQA get_score)",
         "mean abs(std - sigma), invert", "exact (rel. 1e-5), unclipped rows",
         "max label error after the round trip"],
        srows,
    )

    big = 100_000
    mu_b = rng.uniform(1.0, 5.0, big)
    sd_b = rng.uniform(0.2, 1.5, big)
    soft_b, t_fwd = median_time(lambda: gaussian_to_soft_labels(mu_b, sd_b), 3)
    _, t_inv = median_time(lambda: soft_labels_to_gaussian(soft_b), 1)
    return "\n".join([
        "### C. DeQA-Score soft labels over levels 1..5",
        "",
        "5000 random (mu ~ U[1, 5], sigma ~ U[0.1, 1]), thresholds 0.2 / 0.1 (the official "
        "values). Mean kept by each renormalisation (the official labels are not "
        "renormalised; a SoftLabels row must sum to 1):",
        "",
        part1,
        "",
        "Spread recovered from the soft labels (rows that did not fall back to two levels):",
        "",
        part2,
        "",
        f"Speed, 100 000 items: Gaussian to soft labels {fmt_seconds(t_fwd)} s; soft labels "
        f"to Gaussian (invert) {fmt_seconds(t_inv)} s.",
        "",
    ])


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10)
    args = p.parse_args()
    from importlib.metadata import version

    start = time.perf_counter()
    a = part_a()
    b = part_b(args.seeds)
    c = part_c()
    seconds = time.perf_counter() - start
    md = "\n".join([
        "## Ratings: crowd aggregation and DeQA-Score soft labels (infer.ratings)",
        "",
        environment(),
        f"- crowd-kit {version('crowd-kit')}; BLAS limited to 1 thread; total run {seconds:.0f} s",
        "",
        a,
        b,
        c,
    ])
    emit(md, args.output)


if __name__ == "__main__":
    main()
