"""Label models on several rule sets: every LabelModel variant vs majority vote and
snorkel 0.10's LabelModel, and a leave-one-rule-set-out choice of the default.

Rule sets (benchmarks/rulesets/): two independent YouTube comment spam sets (keyword
rules; structural rules), each scored on every one of the five YouTube Spam Collection
files (../shared/data/spam), the package's own example spam rules
(softlabels.infer.rules.examples.SPAM_RULES, written while reading files 01-04) on the
same five files, and threshold rules on scikit-learn's breast cancer, wine
(3 classes) and iris (3 classes) tables. Every model is fitted on the vote matrix it is
scored on (transductive), on all items.

Accuracy is snorkel's spam tutorial scoring: every item, the prediction
``snorkel.utils.probs_to_preds(probs)`` with its default tie policy ("random", a fixed
hash of the row number, the same for every model), so ties, and the items without a
vote of the models that give them the class prior (majority vote, snorkel, uncovered
"prior"), count as a random guess. NLL is the mean of ``-log P(true class)`` over all items (the
probabilities clipped at 1e-6), for the models that give probabilities.

Leave-one-set-out: for each held-out rule set (a spam set with its five files, or a
table), the variant chosen on the other sets by the criterion (fewest scored matrices
where it is below majority vote or below snorkel's mean accuracy, then the highest
mean accuracy; on equal scores the current default, then the lowest mean NLL) is scored
on the held-out set.
Candidates: every LabelModel model x class_balance ("uniform", "learn") x alpha (0.1,
1, 10) (the hierarchical one-coin model at its default pooling and prior accuracy), the
hierarchical one-coin model (uniform, alpha 1) x pooling (30, 100, 300, 1000) x
prior_accuracy (0.7, 0.9), each with uncovered "prior" (items without a vote get the
class prior), "abstentions" (the posterior given that every rule abstained, the rules
firing independently given the class), "class-abstentions" (given that no class got a
vote, the votes for each class firing as one source) or "mixed-abstentions" (the
geometric mean of the two), and MatrixCompletionLabelModel (abstentions ignored or
modelled). Majority
vote with ties broken by the data-programming model, and majority vote's expected
accuracy over the draws of its ties (a tie of n classes counts 1/n when the true class is
among them), are shown for reference only.

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
from softlabels.infer.rules.examples import SPAM_RULES

SNORKEL_SEEDS = range(5)
SNORKEL_EPOCHS = 500
EPS = 1e-9  # accuracies closer than this count as equal

Unit = tuple[str, str, np.ndarray, np.ndarray, int]  # group, name, L, truth, n_classes


def load_units() -> list[Unit]:
    units: list[Unit] = []
    files = sorted(DATA.glob("Youtube0*.csv")) if DATA.is_dir() else []
    spam = (("spam_keywords", spam_keywords.RULES), ("spam_structure", spam_structure.RULES),
            ("spam_examples", SPAM_RULES))
    for group, rules in spam:
        for path in files:
            frame = pd.read_csv(path)
            L = apply_rules(rules, frame, classes=2).to_numpy()
            units.append((group, f"{group} / {path.stem}", L, frame["CLASS"].to_numpy(), 2))
    for name in ("breast_cancer", "wine", "iris"):
        X, y, rules, k = tabular.load(name)
        units.append((name, name, apply_rules(rules, X, classes=k).to_numpy(), y, k))
    return units


ALPHAS = (0.1, 1.0, 10.0)
POOLINGS = (30.0, 100.0, 300.0, 1000.0)
PRIOR_ACCURACIES = (0.7, 0.9)
UNCOVERED = ("prior", "abstentions", "class-abstentions", "mixed-abstentions")
HIERARCHICAL = "hierarchical-one-coin"


def label(model: LabelModel) -> str:
    """``model, class_balance, alpha=...`` with the pooling and prior accuracy of the
    hierarchical model and ``uncovered=abstentions`` where they apply."""
    parts = [model.model, str(model.class_balance), f"alpha={model.alpha:g}"]
    if model.model == HIERARCHICAL:
        parts += [f"pooling={model.pooling:g}", f"prior_accuracy={model.prior_accuracy:g}"]
    if model.uncovered != "prior":
        parts.append(f"uncovered={model.uncovered}")
    return ", ".join(parts)


DEFAULT = label(LabelModel())


def ours(**params: object) -> Callable[[np.ndarray, int], np.ndarray]:
    return lambda L, k: LabelModel(classes=k, **params).fit(L).soft_labels_.probs  # type: ignore[arg-type]


def candidates() -> list[dict[str, object]]:
    """LabelModel parameters of the candidate defaults (without duplicates)."""
    grid = [dict(model=model, class_balance=balance, alpha=alpha)
            for model in LabelModel.MODELS for balance in ("uniform", "learn") for alpha in ALPHAS]
    grid += [dict(model=HIERARCHICAL, class_balance="uniform", alpha=1.0, pooling=pooling,
                  prior_accuracy=prior) for pooling in POOLINGS for prior in PRIOR_ACCURACIES]
    return [{**params, "uncovered": uncovered} for params in grid for uncovered in UNCOVERED]


def matrix_completion(abstain: str) -> Callable[[np.ndarray, int], np.ndarray]:
    return lambda L, k: MatrixCompletionLabelModel(classes=k, abstain=abstain).fit(L).soft_labels_.probs


def variants() -> dict[str, Callable[[np.ndarray, int], np.ndarray]]:
    """The candidate defaults: every LabelModel model x class_balance x alpha, the
    hierarchical one-coin model x pooling x prior_accuracy, each with every handling of
    the items without a vote (``UNCOVERED``), and MatrixCompletionLabelModel with
    abstentions ignored (its default) or modelled."""
    out = {}
    for params in candidates():
        out.setdefault(label(LabelModel(**params)), ours(**params))  # type: ignore[arg-type]
    out["matrix-completion, abstain=ignore"] = matrix_completion("ignore")
    out["matrix-completion, abstain=model"] = matrix_completion("model")
    return out


def tie_breakers() -> dict[str, Callable[[np.ndarray, int], np.ndarray]]:
    """Not a candidate (no LabelModel setting gives it): majority vote with its ties
    broken by the data-programming posterior, next to "pooled-one-coin" (ties broken by
    the one-coin posterior)."""
    run = ours(model="data-programming", class_balance="uniform", alpha=1.0)
    return {"MV, ties by data-programming": lambda L, k: majority(L, k) + 1e-3 * run(L, k)}


MV_EXPECTED = "MV, ties at their expectation"


def expected_accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the argmax of ``scores`` averaged over uniform draws among tied
    classes: an item counts 1 / (number of top classes) when its class is one of them."""
    top = scores >= scores.max(axis=1, keepdims=True)
    return float((top[np.arange(y.size), y] / top.sum(axis=1)).mean())


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
    runs = {**variants(), **tie_breakers()}
    for group, name, L, y, k in units:
        mv = majority(L, k)
        rows.append({"group": group, "set": name, "method": "majority vote",
                     "accuracy": accuracy(mv, y), "accuracy_std": 0.0, "nll": np.nan})
        rows.append({"group": group, "set": name, "method": MV_EXPECTED,
                     "accuracy": expected_accuracy(mv, y), "accuracy_std": 0.0, "nll": np.nan})
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
    """Per method: matrices below majority vote, below snorkel, failing either, mean
    accuracy and mean NLL, over the sets in ``frame``, best first: fewest failing
    matrices, then the highest mean accuracy; on equal scores the current default (a
    default changes only for a gain), then the lowest mean NLL."""
    acc = frame.pivot(index="set", columns="method", values="accuracy")
    losses = frame.pivot(index="set", columns="method", values="nll") if "nll" in frame else None
    out = []
    for m in methods:
        below_mv = acc[m] < acc["majority vote"] - EPS
        below_sn = acc[m] < acc["snorkel"] - EPS
        out.append({"method": m, "below_mv": int(below_mv.sum()), "below_snorkel": int(below_sn.sum()),
                    "fails": int((below_mv | below_sn).sum()), "mean_accuracy": float(acc[m].mean()),
                    "mean_nll": float(losses[m].mean()) if losses is not None else np.nan})
    table = pd.DataFrame(out)
    table["current_default"] = table["method"] == DEFAULT  # equal scores: keep the default
    # means that differ by rounding only count as equal
    table["_acc"], table["_nll"] = table["mean_accuracy"].round(9), table["mean_nll"].round(9)
    table = table.sort_values(["fails", "_acc", "current_default", "_nll"],
                              ascending=[True, False, False, True], kind="stable")
    return table.drop(columns=["_acc", "_nll"])


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
        voted = L >= 0
        rule_acc = ((L == y[:, None]) & voted).sum(axis=0) / np.maximum(voted.sum(axis=0), 1)
        rule_cov = voted.mean(axis=0)
        summary.append([name, L.shape[0], L.shape[1], k, f"{s['coverage']:.3f}", f"{s['overlap']:.3f}",
                        f"{s['conflict']:.3f}",
                        "–".join(f"{q:.2f}" for q in np.quantile(rule_acc, [0, 0.5, 1])),
                        f"{rule_cov.min():.2f}–{rule_cov.max():.2f}"])
    parts += ["### Rule sets", "",
              "Rule accuracy: the fraction of a rule's votes that are right (min–median–max over "
              "the rules; measured here, never used by the rules); rule coverage: min–max.", "",
              markdown_table(["set", "items", "rules", "classes", "coverage", "overlap", "conflict",
                              "rule accuracy", "rule coverage"], summary), ""]
    sets = [u[1] for u in units]
    short = [name.replace("spam_keywords / Youtube0", "kw ").replace("spam_structure / Youtube0", "st ")
             .replace("spam_examples / Youtube0", "ex ") for name in sets]
    acc = frame.pivot(index="method", columns="set", values="accuracy")[sets]
    std = frame[frame.method == "snorkel"].set_index("set")["accuracy_std"]
    order = ["majority vote", MV_EXPECTED, "snorkel", *methods, *tie_breakers()]
    rows = [[m] + [f"{acc.loc[m, c]:.3f}" for c in sets] + [f"{acc.loc[m].mean():.4f}"] for m in order]
    parts += ["### Accuracy, all items", "",
              "Columns: kw = spam_keywords, st = spam_structure, ex = spam_examples, with the file number "
              "(1 Psy, 2 KatyPerry, 3 LMFAO, 4 Eminem, 5 Shakira). snorkel: mean over seeds "
              f"{SNORKEL_SEEDS.start}-{SNORKEL_SEEDS.stop - 1}, {SNORKEL_EPOCHS} epochs (largest "
              f"std over seeds {std.max():.3f}).", "",
              markdown_table(["model", *short, "mean"], rows), ""]
    nl = frame.pivot(index="method", columns="set", values="nll")[sets]
    parts += ["### NLL, all items", "", markdown_table(
        ["model", *short], [[m] + [f"{nl.loc[m, c]:.3f}" for c in sets] for m in order[2:]
                            if not m.startswith("MV")]), ""]
    crit = criterion(frame, methods)
    parts += ["### Criterion on all sets", "", markdown_table(
        ["method", "below MV", "below snorkel", "fails (either)", "mean accuracy", "mean NLL"],
        [[r.method, r.below_mv, r.below_snorkel, r.fails, f"{r.mean_accuracy:.4f}", f"{r.mean_nll:.4f}"]
         for r in crit.itertuples()]), ""]
    parts += ["### The default against the references", "",
              f"Default: {DEFAULT}. MV expected: majority vote's accuracy averaged over the draws "
              "of its ties (reference only; the criterion uses the scored draw).", "",
              markdown_table(["set", "default", "majority vote", "MV expected", "snorkel", "default - MV",
                              "default - snorkel"],
                             [[c, f"{acc.loc[DEFAULT, c]:.3f}", f"{acc.loc['majority vote', c]:.3f}",
                               f"{acc.loc[MV_EXPECTED, c]:.3f}", f"{acc.loc['snorkel', c]:.3f}",
                               f"{acc.loc[DEFAULT, c] - acc.loc['majority vote', c]:+.3f}",
                               f"{acc.loc[DEFAULT, c] - acc.loc['snorkel', c]:+.3f}"] for c in sets]), ""]
    parts += ["### Leave one rule set out", "", markdown_table(
        ["held-out set", "pick (other sets)", "pick accuracy", "MV", "snorkel",
         "worst pick - MV", "worst pick - snorkel", "matrices failing"],
        leave_one_out(frame, methods)), "",
        f"Final pick on all sets: **{crit.iloc[0]['method']}** (current default: {DEFAULT}).", ""]
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(args.csv, index=False)
    emit("\n".join(parts), args.output)


if __name__ == "__main__":
    main()
