"""Which members should the default stack have? The default (`stacked`: full and one-coin
Dawid–Skene, leave-self-out) against the same stack with EBCC added (EBCC scored on the
held-out answers with its own model: the item's subtype), on every crowd set with truth;
and how far the default's probabilities are from the truth's calibration.

Per set: accuracy (expected over random tie breaks, as ``crowd_suite.py``), NLL, the
stacking weights, and whether the set passes the default's criterion (accuracy at most 2
points below crowd-kit's most accurate model there, NLL at most crowd-kit's lowest there,
read from the crowd suite's CSV). The second table is a *diagnosis that uses the truth*
(it chooses nothing): the default's NLL when its probabilities are sharpened or flattened
by a temperature T (``p ** (1/T)``, renormalised); T > 1 helping means the probabilities
are overconfident against the truth.

Run:  python benchmarks/crowd_stack_members.py --suite benchmarks/_out/crowd_suite.csv \\
          --output benchmarks/_out/crowd_stack_members.md
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import emit, environment, markdown_table, parser
from crowd_defaults import passes, read_results, reference
from crowd_suite import EPS, aligned, available_sets, load, tie_accuracy

import softlabels
from softlabels.infer.crowd import HeldOutStacking
from softlabels.infer.crowd.stacking import DEFAULT_STACK

STACKS = {"default": DEFAULT_STACK, "with EBCC": (*DEFAULT_STACK, "ebcc")}
TEMPERATURES = (1.0, 1.2, 1.5, 2.0, 3.0)


def tempered_nll(probs: pd.DataFrame, truth: pd.Series, t: float) -> float:
    """The NLL against the truth of ``probs ** (1/t)``, renormalised (``t = 1``: the
    suite's NLL)."""
    p, y = aligned(probs, truth)
    logp = np.log(np.maximum(p, 1e-300)) / t
    logp -= logp.max(axis=1, keepdims=True)
    q = np.exp(logp)
    q /= q.sum(axis=1, keepdims=True)
    return float(-np.log(np.maximum(q[np.arange(len(q)), y], EPS)).mean())


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--suite", type=Path, required=True,
                   help="crowd_suite.py's CSV (crowd-kit's reference per set)")
    args = p.parse_args()
    ref = reference(read_results(args.suite))
    rows, temps, found = [], [], {name: [] for name in STACKS}
    for name_set in available_sets():
        answers, truth = load(name_set)
        ann = softlabels.Annotations.from_frame(answers)
        row = [name_set]
        for name, members in STACKS.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = HeldOutStacking(members=list(members)).fit(ann)
            soft = model.soft_labels_
            probs = pd.DataFrame(soft.probs, index=soft.item_ids, columns=soft.classes)
            acc, nll = tie_accuracy(probs, truth), tempered_nll(probs, truth, 1.0)
            ok = passes(pd.Series([acc], index=[name_set]), pd.Series([nll], index=[name_set]),
                        ref).iloc[0]
            found[name].append((acc, nll, bool(ok["acc_ok"]), bool(ok["nll_ok"])))
            flag = "" if ok["pass"] else " ✗" + ("a" if not ok["acc_ok"] else "") + (
                "n" if not ok["nll_ok"] else "")
            row += [f"{acc:.3f}", f"{nll:.3f}{flag}",
                    " / ".join(f"{w:.2f}" for w in model.weights_)]
            if name == "default":
                temps.append([name_set] + [f"{tempered_nll(probs, truth, t):.3f}"
                                           for t in TEMPERATURES])
        rows.append(row)
        print(name_set, row[1:], flush=True)
    summary = []
    for name, res in found.items():
        acc = np.array([r[0] for r in res])
        summary.append([name, f"{acc.mean():.4f}", f"{np.mean([r[1] for r in res]):.3f}",
                        str(sum(not (r[2] and r[3]) for r in res)),
                        str(sum(not r[2] for r in res)), str(sum(not r[3] for r in res))])
    diff = np.array([a[0] - b[0] for a, b in zip(found["with EBCC"], found["default"])])
    heads = ["set"] + [f"{n}: {m}" for n in STACKS for m in ("acc", "NLL", "weights")]
    text = "\n\n".join([
        "## Which members for the default stack: with and without EBCC",
        environment(),
        "Default members: " + ", ".join(f"`{m}`" for m in DEFAULT_STACK) + "; *with EBCC* "
        "adds `ebcc`, scored on the held-out answers through its own model (the item's "
        "class and subtype posterior). ✗a / ✗n: more than 2 points below crowd-kit's most "
        "accurate model / NLL above crowd-kit's lowest on that set (crowd suite CSV). "
        "Weights in member order.",
        markdown_table(heads, rows),
        markdown_table(["stack", "mean acc", "mean NLL", "sets failed", "accuracy fails",
                        "NLL fails"], summary),
        f"With EBCC minus default, accuracy per set: better on {int((diff > 5e-4).sum())}, "
        f"worse on {int((diff < -5e-4).sum())}, median {np.median(diff) * 100:+.2f} points, "
        f"range {diff.min() * 100:+.1f} to {diff.max() * 100:+.1f}.",
        "### The default's NLL against the truth under a temperature (diagnosis, uses the "
        "truth)",
        markdown_table(["set"] + [f"T = {t:g}" for t in TEMPERATURES], temps),
    ])
    emit(text, args.output)


if __name__ == "__main__":
    main()
