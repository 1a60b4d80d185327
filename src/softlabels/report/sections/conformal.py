"""Conformal prediction sets: split-conformal coverage and set sizes."""

from __future__ import annotations


import numpy as np

from softlabels.report import svg
from softlabels.report.checks import NEEDS_MODEL, has_model, register_check
from softlabels.report.data import fmt_int, fmt_num, fmt_pct
from softlabels.report.page import (
    Alert,
    Block,
    Context,
    Skip,
    columns,
    figure,
    metrics,
    table,
    text,
)

#: Fewest items for the conformal summary (half of them calibrate the threshold).
_MIN_CONFORMAL = 40


@register_check(
    "conformal", order=80, title="Conformal prediction sets", needs=has_model, reason=NEEDS_MODEL
)
def conformal_section(ctx: Context) -> tuple[str, list[Block]]:
    from softlabels.audit.conformal import SplitConformalClassifier, coverage, mean_set_size

    d = ctx.data
    assert d.pred is not None and d.labels is not None
    n = d.n_items
    if n < _MIN_CONFORMAL:
        raise Skip(f"needs at least {_MIN_CONFORMAL} items with predictions; got {n}")
    rng = np.random.default_rng(ctx.random_state)
    perm = rng.permutation(n)
    cal, test = perm[: n // 2], perm[n // 2:]
    y_cal, y_test = d.labels[cal], d.labels[test]
    k = len(d.classes)
    target = 1.0 - ctx.alpha
    rows = []
    results = {}
    for score, name in (("lac", "LAC"), ("aps", "APS (randomised)")):
        cp = SplitConformalClassifier(score, alpha=ctx.alpha, randomized=score == "aps",
                                      random_state=ctx.random_state)
        sets = cp.fit(d.pred[cal], y_cal).predict_sets(d.pred[test])
        size = sets.sum(axis=1)
        results[score] = (sets, size)
        rows.append([name, fmt_pct(coverage(sets, y_test)), fmt_num(mean_set_size(sets), 2),
                     fmt_pct(float((size == 1).mean())), fmt_pct(float((size == 0).mean()))])
    sets, size = results["lac"]
    cov = coverage(sets, y_test)
    mean_size = mean_set_size(sets)
    ctx.facts.append(("model", f"Conformal coverage ({target:.0%} target)", fmt_pct(cov)))
    slack = 2.0 * np.sqrt(ctx.alpha * (1 - ctx.alpha) / len(test))
    if cov < target - slack:
        ctx.alerts.append(Alert(
            "coverage-gap", "warn",
            f"Conformal sets cover {fmt_pct(cov)} of the held-out items, below the "
            f"{target:.0%} target by more than chance allows.",
            "The items are probably not exchangeable (e.g. the predictions were fitted on "
            "some of them); use predictions from held-out folds.",
        ))
    # coverage within each true class: the share of its items whose set holds it
    counts = np.bincount(y_test, minlength=k)
    covered = np.bincount(y_test, weights=sets[np.arange(y_test.size), y_test], minlength=k)
    sizes = np.bincount(y_test, weights=size, minlength=k)
    present = counts > 0
    class_cov = np.divide(covered, counts, out=np.full(k, np.nan), where=present)
    class_size = np.divide(sizes, counts, out=np.full(k, np.nan), where=present)
    shown = [c for c in np.argsort(-counts, kind="stable") if present[c]]
    per_class = [[ctx.class_name(c, 60), fmt_int(counts[c]), fmt_pct(class_cov[c]),
                  fmt_num(class_size[c], 2)] for c in shown]
    judged = np.flatnonzero(counts >= 20)
    worst = int(judged[np.argmin(class_cov[judged])]) if judged.size else -1
    if worst >= 0 and class_cov[worst] < target - 0.1:
        ctx.alerts.append(Alert(
            "class-coverage", "info",
            f"Class {ctx.class_name(worst)} is covered for only {fmt_pct(class_cov[worst])} "
            f"of its held-out items (overall {fmt_pct(cov)}).",
            "The guarantee is marginal; use class-conditional (Mondrian) calibration if "
            "every class needs the target coverage.",
        ))
    largest = int(size.max(initial=0))
    if largest <= 24:
        hist = np.bincount(size, minlength=min(k, max(largest, 2)) + 1)
        chart = svg.column_chart([str(i) for i in range(hist.size)], hist,
                                 title="Prediction-set sizes (LAC)",
                                 xlabel="classes in the set", ylabel="items")
    else:
        counts, edges = np.histogram(size, bins=20, range=(0, largest + 1))
        chart = svg.histogram(counts, edges, title="Prediction-set sizes (LAC)",
                              xlabel="classes in the set", ylabel="items", width=480)
    against = "the given labels" if d.labels_source == "given" else "the consensus labels"
    lead = (f"Split-conformal prediction sets at {target:.0%} target coverage: the "
            f"predicted probabilities of a random half of the items ({len(cal):,}) set the "
            f"threshold, the other half ({len(test):,}) measures coverage against {against}. "
            "LAC gives the smallest sets; APS adapts the set size to how hard an item is.")
    return (lead, [
        metrics(
            ("coverage (LAC)", fmt_pct(cov), f"target {target:.0%}"),
            ("mean set size", fmt_num(mean_size, 2), f"of {k} classes"),
            ("singletons", fmt_pct(float((size == 1).mean())), "one class only"),
            ("empty sets", fmt_pct(float((size == 0).mean())), "no class confident enough"),
        ),
        columns(
            [figure(chart, wide=False)],
            [table(["score", "coverage", "mean size", "singletons", "empty"], rows,
                    numeric=[False, True, True, True, True], max_rows=ctx.max_rows),
             Block("heading", {"text": "Coverage per class (LAC)"}),
             table(["class", "test items", "coverage", "mean size"], per_class,
                    numeric=[False, True, True, True], max_rows=ctx.max_rows)],
        ),
    ])
