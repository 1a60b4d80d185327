"""Labeling rules: our label models vs snorkel 0.10's LabelModel and majority vote.

Real data: the YouTube Spam Collection (../shared/data/spam). The rules of
softlabels.infer.rules.examples were written from general knowledge of comment spam
while reading the four development files only; Youtube05-Shakira.csv is the test set.
Every model is fitted on the vote matrix of the file it is scored on (transductive).
Synthetic data: conditionally independent rules with known accuracies (the setting the
per-rule models assume).

    python benchmarks/infer_rules.py --output benchmarks/_out/infer_rules.md
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from _common import emit, environment, fmt_seconds, markdown_table, parser, timed

from softlabels.infer.rules import LabelModel, MatrixCompletionLabelModel, apply_rules, vote_summary
from softlabels.infer.rules.examples import SPAM_RULES, SPAM_RULES_SMALL

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "spam"
SEEDS = range(10)
TIE = 1e-6  # top probabilities closer than this are a tie (snorkel's predict uses 1e-5)


def scores(probs: np.ndarray, y: np.ndarray, covered: np.ndarray) -> dict[str, float]:
    """Accuracy with ties given half credit (the expected accuracy of a random tie
    break) on covered items and on all items (uncovered count as wrong), with ties
    counted as wrong (snorkel's tie_break_policy="abstain"), and as snorkel's spam
    tutorial scores it: every item, ties broken by snorkel's ``probs_to_preds``
    (its default policy "random", a fixed hash of the row number)."""
    from snorkel.utils import probs_to_preds

    top = probs.max(axis=1, keepdims=True)
    win = probs >= top - TIE
    share = (win / win.sum(axis=1, keepdims=True))[np.arange(y.size), y]
    tied = win.sum(axis=1) > 1
    strict = np.where(tied, 0.0, share)
    return {
        "covered": float(share[covered].mean()),
        "all": float((share * covered).sum() / y.size),
        "ties_wrong": float(strict[covered].mean()),
        "n_ties": int((tied & covered).sum()),
        "snorkel": float((probs_to_preds(probs, tie_break_policy="random") == y).mean()),
    }


def majority(L: np.ndarray, k: int) -> np.ndarray:
    return np.stack([(L == c).sum(axis=1) for c in range(k)], axis=1).astype(float)


def snorkel_probs(L: np.ndarray, seed: int, **fit: object) -> np.ndarray:
    from snorkel.labeling.model import LabelModel as SnorkelLabelModel

    model = SnorkelLabelModel(cardinality=2, verbose=False)
    model.fit(L, seed=seed, progress_bar=False, **fit)
    return model.predict_proba(L)


def evaluate(L_frame: pd.DataFrame, y: np.ndarray) -> list[list[str]]:
    L = L_frame.to_numpy()
    covered = (L >= 0).any(axis=1)
    runs: list[tuple[str, Callable[[int], np.ndarray], bool]] = [
        ("majority vote", lambda s: majority(L, 2), False),
        ("**ours: LabelModel() (default)**", lambda s: LabelModel().fit(L).soft_labels_.probs, False),
        ("ours: LabelModel(class_balance='learn')",
         lambda s: LabelModel(class_balance="learn").fit(L).soft_labels_.probs, False),
        ("ours: LabelModel(model='dawid-skene', class_balance='learn')",
         lambda s: LabelModel(model="dawid-skene", class_balance="learn").fit(L).soft_labels_.probs, False),
        ("ours: LabelModel(model='data-programming', class_balance='learn')",
         lambda s: LabelModel(model="data-programming", class_balance="learn").fit(L).soft_labels_.probs, False),
        ("ours: MatrixCompletionLabelModel() (default)",
         lambda s: MatrixCompletionLabelModel().fit(L).soft_labels_.probs, False),
        ("snorkel LabelModel, default fit (100 epochs)", lambda s: snorkel_probs(L, s), True),
        ("snorkel LabelModel, tutorial fit (500 epochs, lr 0.001)",
         lambda s: snorkel_probs(L, s, n_epochs=500, lr=0.001, log_freq=100), True),
    ]
    rows = []
    for label, run, seeded in runs:
        results = [scores(run(s), y, covered) for s in (SEEDS if seeded else [0])]
        cell = {}
        for key in ("covered", "all", "ties_wrong", "snorkel"):
            vals = np.array([r[key] for r in results])
            cell[key] = f"{vals.mean():.3f}" + (f" ± {vals.std():.3f}" if seeded else "")
        ties = np.mean([r["n_ties"] for r in results])
        rows.append([label, cell["covered"], cell["all"], cell["ties_wrong"], f"{ties:.0f}",
                     cell["snorkel"]])
    return rows


def spam_section(name: str, rules: list, frames: dict[str, pd.DataFrame]) -> str:
    out = [f"### Rule set `{name}` ({len(rules)} rules)", ""]
    for split, frame in frames.items():
        y = frame["CLASS"].to_numpy()
        L = apply_rules(rules, frame, classes=2)
        summ = vote_summary(L)
        out += [
            f"**{split}** ({summ['n_items']} comments, {y.mean():.1%} spam): coverage "
            f"{summ['coverage']:.3f}, overlap {summ['overlap']:.3f}, conflict "
            f"{summ['conflict']:.3f}.",
            "",
            markdown_table(
                ["model", "accuracy, covered items", "accuracy, all items", "covered, ties wrong",
                 "ties", "snorkel's scoring, all items"],
                evaluate(L, y),
            ),
            "",
        ]
    return "\n".join(out)


def make_synthetic(n: int, m: int, prior: tuple[float, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Conditionally independent rules: rule j votes with probability U(0.1, 0.6) and is
    then right with probability U(0.55, 0.95), otherwise names another class at random."""
    rng = np.random.default_rng(seed)
    k = len(prior)
    y = rng.choice(k, n, p=prior)
    cover, acc = rng.uniform(0.1, 0.6, m), rng.uniform(0.55, 0.95, m)
    fire = rng.random((n, m)) < cover
    right = rng.random((n, m)) < acc
    wrong = (y[:, None] + rng.integers(1, k, (n, m))) % k
    return np.where(fire, np.where(right, y[:, None], wrong), -1), y


def synthetic_section() -> str:
    rows = []
    for prior in [(0.7, 0.3), (0.5, 0.3, 0.2)]:
        k = len(prior)
        runs = {
            "majority vote": lambda L: majority(L, k),
            "ours: LabelModel() (default)": lambda L: LabelModel().fit(L).soft_labels_.probs,
            "ours: LabelModel(model='dawid-skene', class_balance='learn')":
                lambda L: LabelModel(model="dawid-skene", class_balance="learn").fit(L).soft_labels_.probs,
            "ours: LabelModel(model='data-programming', class_balance='learn')":
                lambda L: LabelModel(model="data-programming", class_balance="learn").fit(L).soft_labels_.probs,
            "ours: MatrixCompletionLabelModel()": lambda L: MatrixCompletionLabelModel().fit(L).soft_labels_.probs,
            "ours: MatrixCompletionLabelModel(class_balance=true prior)":
                lambda L: MatrixCompletionLabelModel(class_balance=list(prior)).fit(L).soft_labels_.probs,
            "snorkel LabelModel, 100 epochs": None,
            "snorkel LabelModel, 500 epochs": None,
            "snorkel LabelModel, 500 epochs, class_balance=true prior": None,
        }
        res: dict[str, list[float]] = {name: [] for name in runs}
        secs: dict[str, list[float]] = {name: [] for name in runs}
        for seed in range(5):
            L, y = make_synthetic(10_000, 10, prior, seed)
            covered = (L >= 0).any(axis=1)
            for name, run in runs.items():
                if run is None:
                    epochs = 100 if "100" in name else 500
                    balance = list(prior) if "true prior" in name else None
                    from snorkel.labeling.model import LabelModel as SnorkelLabelModel

                    def run_snorkel(L=L, seed=seed, epochs=epochs, balance=balance):  # type: ignore[no-untyped-def]
                        sm = SnorkelLabelModel(cardinality=k, verbose=False)
                        sm.fit(L, seed=seed, n_epochs=epochs, class_balance=balance, progress_bar=False)
                        return sm.predict_proba(L)

                    probs, sec = timed(run_snorkel)
                else:
                    probs, sec = timed(lambda run=run, L=L: run(L))
                res[name].append(scores(probs, y, covered)["covered"])
                secs[name].append(sec)
        for name in runs:
            vals = np.array(res[name])
            rows.append([str(prior), name, f"{vals.mean():.3f} ± {vals.std():.3f}",
                         fmt_seconds(float(np.median(secs[name])))])
    return markdown_table(["class prior", "model", "accuracy, covered items", "fit seconds (median)"], rows)


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import torch

    torch.set_num_threads(1)  # two shared cores; snorkel's tiny problems gain nothing
    parts = ["## Labeling rules: label models vs snorkel 0.10 and majority vote", "", environment(), ""]
    from importlib import metadata

    parts += [f"- snorkel {metadata.version('snorkel')}, torch {metadata.version('torch')}", ""]
    parts += [
        "Accuracy: ties (top probabilities within 1e-6) get half credit, the expected "
        "accuracy of a random tie break; *covered items* are those with at least one vote, "
        "*all items* counts every uncovered item as wrong; *covered, ties wrong* counts "
        "ties as wrong (snorkel's `tie_break_policy='abstain'`); *snorkel's scoring* is how "
        "snorkel's own spam tutorial scores its models on this data: every item, ties "
        "(within 1e-5) broken by `snorkel.utils.probs_to_preds` with its default policy "
        "`'random'` (a fixed hash of the row number, the same for every model). snorkel rows: mean ± std "
        f"over seeds {SEEDS.start}-{SEEDS.stop - 1}. Every model is fitted on the vote "
        "matrix it is scored on.",
        "",
    ]
    if DATA.is_dir():
        files = sorted(DATA.glob("Youtube0*.csv"))
        dev = pd.concat([pd.read_csv(f) for f in files[:4]], ignore_index=True)
        test = pd.read_csv(files[4])
        frames = {"test: Youtube05-Shakira": test, "development: Youtube01-04 pooled": dev}
        parts += ["### YouTube spam", ""]
        parts.append(spam_section("SPAM_RULES", SPAM_RULES, frames))
        parts.append(spam_section("SPAM_RULES_SMALL", SPAM_RULES_SMALL, frames))
    else:
        parts += [f"(YouTube spam data not found at {DATA}; skipped.)", ""]
    parts += [
        "### Synthetic, conditionally independent rules",
        "",
        "n = 10,000 items, 10 rules, coverage U(0.1, 0.6), accuracy U(0.55, 0.95), wrong "
        "votes uniform over the other classes; mean ± std over 5 data seeds (snorkel seeded "
        "like the data).",
        "",
        synthetic_section(),
        "",
    ]
    emit("\n".join(parts), args.output)


if __name__ == "__main__":
    main()
