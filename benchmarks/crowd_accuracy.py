"""Accuracy, NLL, calibration and fit time of every softlabels crowd method and its
crowd-kit counterpart on real crowd data sets with ground truth.

Data: ``<project root>/../shared/data/crowd/<name>/{answers,truth}.csv``.
Run:  python benchmarks/crowd_accuracy.py [--output benchmarks/_out/accuracy.md]
"""

from __future__ import annotations

import sys
import warnings

import pandas as pd
from _common import fmt_seconds, markdown_table, median_time, parser, to_crowdkit, emit

import softlabels
from crowd_suite import DATA, EPS, N_BINS, crowdkit, load
from softlabels.audit.calibration import score_against_truth

DATASETS = ["duck", "product", "dog", "face"]
#: softlabels method -> crowd-kit class of the same algorithm (None: no counterpart)
CROWDKIT = {
    "majority-vote": "MajorityVote",
    "soft-vote": None,
    "wawa": "Wawa",
    "zero-based-skill": "ZeroBasedSkill",
    "one-coin-dawid-skene": "OneCoinDawidSkene",
    "dawid-skene": "DawidSkene",
    "glad": "GLAD",
    "mace": "MACE",
    "kos": "KOS",
    "mmsr": "MMSR",
    "ibcc": None,  # crowd-kit has no Bayesian classifier combination
    "ebcc": None,
    "soft-average": None,
}
def scores(probs: pd.DataFrame, truth: pd.Series) -> dict[str, float]:
    """Accuracy, NLL and top-label ECE on the items with truth (the conventions of
    crowd_suite.py, which scores every set and model; this script keeps four sets with
    one table per set and both libraries' fit times side by side)."""
    r = score_against_truth(probs, truth, n_bins=N_BINS, eps=EPS)
    return {"acc": r["accuracy"], "nll": r["nll"], "ece": r["ece"]}


def ours(method: str, answers: pd.DataFrame) -> pd.DataFrame:
    soft = softlabels.aggregate(answers, method=method)
    return pd.DataFrame(soft.probs, index=soft.item_ids, columns=soft.classes)


def evaluate(fit, truth: pd.Series, repeats: int) -> dict[str, object]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            probs, seconds = median_time(fit, repeats, single_above=30.0)
    except Exception as err:  # noqa: BLE001 - recorded in the table
        return {"error": f"fails ({type(err).__name__})"}
    return {**scores(probs, truth), "time": seconds}


def cell(result: dict[str, object] | None, key: str) -> str:
    if result is None:
        return "—"
    if "error" in result:
        return str(result["error"])
    value = result[key]
    return fmt_seconds(value) if key == "time" else f"{value:.3f}"


def benchmark(name: str, repeats: int) -> tuple[str, list[str]]:
    """The markdown section for one data set, and its row of the soft-average summary."""
    answers, truth = load(name)
    data = to_crowdkit(answers)
    n_classes = answers["label"].nunique()
    rows = []
    results: dict[str, dict[str, object]] = {}
    for method, ck_name in CROWDKIT.items():
        if method == "kos" and n_classes != 2:
            continue
        mine = evaluate(lambda: ours(method, answers), truth, repeats)
        results[method] = mine
        theirs = None if ck_name is None else evaluate(lambda: crowdkit(ck_name, data), truth, repeats)
        rows.append(
            [method] + [cell(r, key) for key in ("acc", "nll", "ece", "time") for r in (mine, theirs)]
        )
        print(f"  {name:8} {method:22} " + "  ".join(rows[-1][1:]), file=sys.stderr)
    n_truth = truth.index.isin(answers["item"]).sum()
    title = (
        f"### {name}\n\n{len(answers):,} answers, {answers['item'].nunique():,} items "
        f"({n_truth:,} with truth), {answers['worker'].nunique():,} workers, "
        f"{n_classes} classes\n"
    )
    headers = ["method"] + [
        f"{m} {lib}" for m in ("acc", "NLL", "ECE", "fit s") for lib in ("ours", "crowd-kit")
    ]
    return title + "\n" + markdown_table(headers, rows), average_summary(name, results)


def average_summary(name: str, results: dict[str, dict[str, object]]) -> list[str]:
    """How the average of soft labels compares with every single method of ours."""
    avg = results["soft-average"]
    singles = {m: r for m, r in results.items() if m != "soft-average" and "error" not in r}

    def rank(key: str) -> int:  # 1 = lowest NLL / ECE among all methods incl. the average
        return 1 + sum(float(r[key]) < float(avg[key]) for r in singles.values())

    best_nll = min(singles, key=lambda m: float(singles[m]["nll"]))
    best_acc = max(singles, key=lambda m: float(singles[m]["acc"]))
    return [
        name,
        f"{avg['nll']:.3f}",
        f"{best_nll} {singles[best_nll]['nll']:.3f}",
        f"{rank('nll')} of {len(singles) + 1}",
        f"{rank('ece')} of {len(singles) + 1}",
        f"{avg['acc']:.3f}",
        f"{best_acc} {singles[best_acc]['acc']:.3f}",
    ]


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3, help="timed runs per fit (median)")
    p.add_argument("--datasets", nargs="+", default=DATASETS)
    args = p.parse_args()
    if not DATA.is_dir():
        sys.exit(f"crowd data not found: expected {DATA} (answers.csv and truth.csv per data set)")
    done = [benchmark(name, args.repeats) for name in args.datasets]
    sections = [text for text, _ in done]
    summary = (
        "### The average of soft labels (Wright & Augenstein) against each single method\n\n"
        "The paper proposes averaging the soft labels of seven methods for better "
        "uncertainty estimates with competitive accuracy. Rank 1 = lowest NLL (or ECE) "
        "among all softlabels methods on the data set.\n\n"
        + markdown_table(
            ["data set", "NLL average", "best single NLL", "NLL rank", "ECE rank",
             "acc average", "best single acc"],
            [row for _, row in done],
        )
    )
    sections.append(summary)
    intro = (
        "## Accuracy on real crowd data\n\n"
        "Default parameters of both libraries; metrics on the items with ground truth. "
        "acc: accuracy of the most probable class (ties: first class in sorted order); "
        f"NLL: mean -log p(true class), probabilities clipped to [{EPS:g}, 1]; "
        f"ECE: top-label expected calibration error, {N_BINS} equal-width bins [lo, hi); "
        f"fit s: median wall time of up to {args.repeats} fits (a single fit when one takes "
        "over 30 s), from the DataFrame in memory to probabilities. crowd-kit's KOS gives "
        "labels only (scored as one-hot); its MMSR gives vote scores normalised per task, "
        "negative where workers worse than chance dominate, which we clip at 0 and "
        "renormalise. softlabels' majority-vote is a hard vote (ties shared), crowd-kit's "
        "gives vote proportions (softlabels' soft-vote). soft-vote, ibcc, ebcc and "
        "soft-average have no crowd-kit counterpart (—); kos is binary only. 'fails (E)': crowd-kit raised E."
    )
    emit("\n\n".join([intro, *sections]), args.output)


if __name__ == "__main__":
    main()
