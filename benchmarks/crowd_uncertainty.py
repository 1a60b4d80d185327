"""Honest uncertainty of the crowd models, measured without any truth about real items:
the confidence on an item answered 4:3 by seven workers seen nowhere else (added to a
real set), and the top-label ECE on data drawn from the Dawid–Skene model with 5 answers
per item (there the truth is the generator's).

Models are named as in ``crowd_suite.py --configs`` (``method`` or
``method:key=value,...``); ``--csv`` writes one row per model, which
``crowd_defaults.py --honesty`` reads to rule out dishonest candidates for the default.

Run:  python benchmarks/crowd_uncertainty.py --csv benchmarks/_out/crowd_uncertainty.csv \\
          --output benchmarks/_out/crowd_uncertainty.md
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import emit, markdown_table, parser
from crowd_suite import DATA, EPS, N_BINS, load, parse_config

import softlabels
from softlabels.audit.calibration import score_against_truth
from softlabels.datasets import make_crowd

#: every crowd model with its defaults (kos gives labels only, two classes), and the
#: variants the crowd suite runs
CONFIGS = [
    "majority-vote", "soft-vote", "wawa", "zero-based-skill", "one-coin-dawid-skene",
    "dawid-skene", "glad", "mace", "mmsr", "ibcc", "ebcc", "soft-average",  # kos: labels only
    "dawid-skene:uncertainty=leave-self-out", "dawid-skene:uncertainty=plug-in",
    "dawid-skene:alpha=0", "dawid-skene:uncertainty=leave-self-out,alpha=0",
    "dawid-skene:uncertainty=leave-self-out,prior_strength=0", "dawid-skene:prior_strength=0",
    "dawid-skene:init=spectral", "one-coin-dawid-skene:uncertainty=leave-self-out",
    "one-coin-dawid-skene:uncertainty=plug-in", "ibcc:inference=collapsed",
    "ibcc:inference=vb", "ebcc:inference=collapsed", "ebcc:inference=vb", "mace:method=em",
    "stacked", "stacked:random_state=1", "stacked:n_folds=10",
]
SPLIT_SETS = ["rte", "duck", "temp"]  # binary sets: the 4:3 item is added to each
SYNTHETIC = [(seed, k) for seed in range(3) for k in (2, 3)]
SPLIT_BELOW, ECE_AT_MOST = 0.9, 0.02  # the targets


def fit(config: str, answers: pd.DataFrame) -> softlabels.SoftLabels:
    _, method, params = parse_config(config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return softlabels.create_source(method, **params).fit(answers).soft_labels_


def split_confidence(config: str, name: str) -> float:
    answers, _ = load(name)
    classes = sorted(answers["label"].unique())
    item = pd.DataFrame({
        "item": ["split-4-3"] * 7,
        "worker": [f"unseen-{j}" for j in range(7)],
        "label": [classes[0]] * 4 + [classes[1]] * 3,
    })
    soft = fit(config, pd.concat([answers, item], ignore_index=True))
    return float(soft.probs[soft.item_ids.tolist().index("split-4-3")].max())


def synthetic_ece(config: str, seed: int, k: int) -> float:
    answers, truth = make_crowd(n_items=2000, n_workers=50, n_classes=k, answers_per_item=5,
                                random_state=seed)
    soft = fit(config, answers)
    probs = pd.DataFrame(soft.probs, index=soft.item_ids, columns=soft.classes)
    return float(score_against_truth(probs, truth, n_bins=N_BINS, eps=EPS)["ece"])


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--configs", nargs="+", default=CONFIGS, help="models, as crowd_suite.py")
    p.add_argument("--csv", type=Path, help="write one row per model")
    args = p.parse_args()
    configs = [parse_config(c)[0] for c in args.configs]
    sets = SPLIT_SETS if DATA.is_dir() else []  # the real data is optional here, but
    if args.csv is not None and not sets:  # without it no model can be called honest
        raise SystemExit(
            f"--csv: the honesty verdict needs the 4:3 item added to real sets "
            f"({', '.join(SPLIT_SETS)}) in {DATA}, which is missing; without --csv the "
            "synthetic ECE alone is shown")
    records = []
    for config in configs:
        split = {name: split_confidence(config, name) for name in sets}
        ece = [synthetic_ece(config, seed, k) for seed, k in SYNTHETIC]
        records.append({"config": config, **{f"split_{n}": v for n, v in split.items()},
                        "split_max": max(split.values(), default=float("nan")),
                        "ece_mean": float(np.mean(ece)), "ece_max": float(np.max(ece))})
        print(config, "done", flush=True)
    table = pd.DataFrame(records)
    table["honest"] = (table["split_max"] < SPLIT_BELOW) & (table["ece_max"] <= ECE_AT_MOST)
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.csv, index=False)
    rows = [[r["config"], *(f"{r[f'split_{n}']:.3f}" for n in sets), f"{r['ece_mean']:.4f}",
             f"{r['ece_max']:.4f}", "yes" if r["honest"] else "no"] for r in records
            for r in [{**r, "honest": table.set_index("config").at[r["config"], "honest"]}]]
    headers = ["model", *(f"4:3 max p ({n})" for n in sets), "synthetic ECE mean",
               "synthetic ECE max", "honest"]
    text = (
        "## Honest uncertainty of the crowd models\n\n"
        "4:3 max p: the largest probability on an item answered 4:3 by seven workers seen "
        "nowhere else, added to the real set (target < 0.9: the answers say little more than "
        "4 : 3). Synthetic ECE: top-label ECE (15 bins) on 2,000 items, 50 workers, 5 answers "
        f"per item drawn from the Dawid–Skene model ({len(SYNTHETIC)} draws: seeds 0-2, 2 and "
        f"3 classes; target <= {ECE_AT_MOST}). *Honest*: both targets met.\n\n"
        + markdown_table(headers, rows)
    )
    emit(text, args.output)


if __name__ == "__main__":
    main()
