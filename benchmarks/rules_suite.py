"""Label models on several rule sets: every LabelModel variant vs majority vote and
snorkel 0.10's LabelModel, and a leave-one-rule-set-out choice of the default.

Rule sets (benchmarks/rulesets/): two independent YouTube comment spam sets (keyword
rules; structural rules), each scored on every one of the five YouTube Spam Collection
files (../shared/data/spam), and threshold rules on scikit-learn's breast cancer, wine
(3 classes) and iris (3 classes) tables. Every model is fitted on the vote matrix it is
scored on (transductive), on all items.

Accuracy is snorkel's spam tutorial scoring: every item, the prediction
``snorkel.utils.probs_to_preds(probs)`` with its default tie policy ("random", a fixed
hash of the row number, the same for every model), so uncovered items and ties count
as a random guess. NLL is the mean of ``-log P(true class)`` over all items (the
probabilities clipped at 1e-6), for the models that give probabilities.

Leave-one-set-out: for each held-out rule set (a spam set with its five files, or a
table), the variant chosen on the other sets by the criterion (fewest scored matrices
where it is below majority vote or below snorkel's mean accuracy, then the highest
mean accuracy) is scored on the held-out set.

    python benchmarks/rules_suite.py --output benchmarks/_out/rules_suite.md \
        --csv benchmarks/_out/rules_suite.csv
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from _common import emit, environment, markdown_table, parser
from infer_rules import DATA, majority
from rulesets import spam_keywords, spam_structure, tabular

from softlabels.infer.rules import LabelModel, MatrixCompletionLabelModel, apply_rules, vote_summary

SNORKEL_SEEDS = range(5)
SNORKEL_EPOCHS = 500
EPS = 1e-9  # accuracies closer than this count as equal

Unit = tuple[str, str, np.ndarray, np.ndarray, int]  # group, name, L, truth, n_classes


def load_units() -> list[Unit]:
    units: list[Unit] = []
    files = sorted(DATA.glob("Youtube0*.csv")) if DATA.is_dir() else []
    for group, module in (("spam_keywords", spam_keywords), ("spam_structure", spam_structure)):
        for path in files:
            frame = pd.read_csv(path)
            L = apply_rules(module.RULES, frame, classes=2).to_numpy()
            units.append((group, f"{group} / {path.stem}", L, frame["CLASS"].to_numpy(), 2))
    for name in ("breast_cancer", "wine", "iris"):
        X, y, rules, k = tabular.load(name)
        units.append((name, name, apply_rules(rules, X, classes=k).to_numpy(), y, k))
    return units


def ours(model: str, balance: str) -> Callable[[np.ndarray, int], np.ndarray]:
    return lambda L, k: LabelModel(model=model, class_balance=balance, classes=k).fit(L).soft_labels_.probs


def variants() -> dict[str, Callable[[np.ndarray, int], np.ndarray]]:
    out = {}
    for model in LabelModel.MODELS:
        for balance in ("uniform", "learn"):
            out[f"{model}, {balance}"] = ours(model, balance)
    out["matrix-completion"] = lambda L, k: MatrixCompletionLabelModel(classes=k).fit(L).soft_labels_.probs
    return out


def snorkel(L: np.ndarray, k: int, seed: int) -> np.ndarray:
    from snorkel.labeling.model import LabelModel as SnorkelLabelModel

    model = SnorkelLabelModel(cardinality=k, verbose=False)
    model.fit(L, n_epochs=SNORKEL_EPOCHS, seed=seed, progress_bar=False)
    return model.predict_proba(L)


def accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    from snorkel.utils import probs_to_preds

    return float((probs_to_preds(probs) == y).mean())


def nll(probs: np.ndarray, y: np.ndarray) -> float:
    p = probs[np.arange(y.size), y] / np.maximum(probs.sum(axis=1), 1e-300)
    return float(-np.log(np.clip(p, 1e-6, 1.0)).mean())


def score_all(units: list[Unit]) -> pd.DataFrame:
    rows = []
    runs = variants()
    for group, name, L, y, k in units:
        mv = majority(L, k)
        rows.append({"group": group, "set": name, "method": "majority vote",
                     "accuracy": accuracy(mv, y), "accuracy_std": 0.0, "nll": np.nan})
        for label, run in runs.items():
            probs = run(L, k)
            rows.append({"group": group, "set": name, "method": label,
                         "accuracy": accuracy(probs, y), "accuracy_std": 0.0, "nll": nll(probs, y)})
        sn = [snorkel(L, k, s) for s in SNORKEL_SEEDS]
        accs = [accuracy(p, y) for p in sn]
        rows.append({"group": group, "set": name, "method": "snorkel",
                     "accuracy": float(np.mean(accs)), "accuracy_std": float(np.std(accs)),
                     "nll": float(np.mean([nll(p, y) for p in sn]))})
    return pd.DataFrame(rows)


def criterion(frame: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Per method: matrices below majority vote, below snorkel, failing either, and
    mean accuracy, over the sets in ``frame``."""
    acc = frame.pivot(index="set", columns="method", values="accuracy")
    out = []
    for m in methods:
        below_mv = acc[m] < acc["majority vote"] - EPS
        below_sn = acc[m] < acc["snorkel"] - EPS
        out.append({"method": m, "below_mv": int(below_mv.sum()), "below_snorkel": int(below_sn.sum()),
                    "fails": int((below_mv | below_sn).sum()), "mean_accuracy": float(acc[m].mean())})
    table = pd.DataFrame(out)
    return table.sort_values(["fails", "mean_accuracy"], ascending=[True, False], kind="stable")


def leave_one_out(frame: pd.DataFrame, methods: list[str]) -> list[list[str]]:
    rows = []
    for held in frame["group"].unique():
        pick = criterion(frame[frame["group"] != held], methods).iloc[0]["method"]
        test = frame[frame["group"] == held]
        acc = test.pivot(index="set", columns="method", values="accuracy")
        d_mv = acc[pick] - acc["majority vote"]
        d_sn = acc[pick] - acc["snorkel"]
        rows.append([held, pick, f"{acc[pick].mean():.3f}", f"{acc['majority vote'].mean():.3f}",
                     f"{acc['snorkel'].mean():.3f}", f"{d_mv.min():+.3f}", f"{d_sn.min():+.3f}",
                     f"{int(((d_mv < -EPS) | (d_sn < -EPS)).sum())} / {len(acc)}"])
    return rows


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--csv", type=Path, help="write every (set, method) score to this CSV")
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import torch

    torch.set_num_threads(1)
    from importlib import metadata

    units = load_units()
    frame = score_all(units)
    methods = list(variants())
    parts = ["## Label models on several rule sets", "", environment(),
             f"- snorkel {metadata.version('snorkel')}, torch {metadata.version('torch')}", "",
             __doc__.split("\n\n")[1].replace("\n", " "), "",
             __doc__.split("\n\n")[2].replace("\n", " "), ""]
    summary = []
    for _, name, L, y, k in units:
        s = vote_summary(L)
        summary.append([name, L.shape[0], L.shape[1], k, f"{s['coverage']:.3f}", f"{s['overlap']:.3f}",
                        f"{s['conflict']:.3f}"])
    parts += ["### Rule sets", "", markdown_table(
        ["set", "items", "rules", "classes", "coverage", "overlap", "conflict"], summary), ""]
    acc = frame.pivot(index="set", columns="method", values="accuracy").loc[[u[1] for u in units]]
    std = frame[frame.method == "snorkel"].set_index("set")["accuracy_std"]
    cols = ["majority vote", "snorkel", *methods]
    rows = [[name] + [f"{acc.loc[name, c]:.3f}" + (f" ± {std[name]:.3f}" if c == "snorkel" else "")
                      for c in cols] for name in acc.index]
    parts += ["### Accuracy, all items (snorkel: mean ± std over seeds "
              f"{SNORKEL_SEEDS.start}-{SNORKEL_SEEDS.stop - 1}, {SNORKEL_EPOCHS} epochs)", "",
              markdown_table(["set", *cols], rows), ""]
    nl = frame.pivot(index="set", columns="method", values="nll").loc[acc.index]
    parts += ["### NLL, all items", "", markdown_table(
        ["set", *cols[1:]], [[n] + [f"{nl.loc[n, c]:.3f}" for c in cols[1:]] for n in nl.index]), ""]
    crit = criterion(frame, methods)
    parts += ["### Criterion on all sets", "", markdown_table(
        ["method", "below MV", "below snorkel", "fails (either)", "mean accuracy"],
        [[r.method, r.below_mv, r.below_snorkel, r.fails, f"{r.mean_accuracy:.4f}"]
         for r in crit.itertuples()]), ""]
    parts += ["### Leave one rule set out", "", markdown_table(
        ["held-out set", "pick (other sets)", "pick accuracy", "MV", "snorkel",
         "worst pick - MV", "worst pick - snorkel", "matrices failing"],
        leave_one_out(frame, methods)), "",
        f"Final pick on all sets: **{crit.iloc[0]['method']}**.", ""]
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(args.csv, index=False)
    emit("\n".join(parts), args.output)


if __name__ == "__main__":
    main()
