"""Class balance: how the items and answers spread over the classes."""

from __future__ import annotations


import numpy as np

from softlabels.report import svg
from softlabels.report.checks import register_check
from softlabels.report.data import fmt_int, fmt_pct
from softlabels.report.page import Alert, Block, Context, figure, metrics, table


@register_check("class-balance", order=20, title="Class balance")
def class_balance_section(ctx: Context) -> tuple[str, list[Block]]:
    d = ctx.data
    k = len(d.classes)
    series: dict[str, np.ndarray] = {}
    cols = ["class"]
    table_cols: list[np.ndarray] = []
    if d.ann is not None:
        per_class = d.ann.counts.sum(axis=0)
        series["answers"] = per_class / per_class.sum()
        cols += ["answers", "answer share"]
        table_cols += [np.array([fmt_int(v) for v in per_class]),
                       np.array([fmt_pct(v) for v in series["answers"]])]
    if d.soft is not None:
        hard = np.bincount(d.soft.hard_codes(), minlength=k)
        mass = d.soft.probs.sum(axis=0)
        series["consensus (soft)"] = mass / mass.sum()
        cols += ["consensus items", "soft-label mass"]
        table_cols += [np.array([fmt_int(v) for v in hard]),
                       np.array([fmt_pct(v / d.n_items) for v in mass])]
        main, by = hard, "the consensus"
    if d.labels is not None and d.labels_source == "given":
        given = np.bincount(d.labels, minlength=k)
        series["given labels"] = given / given.sum()
        cols += ["given labels"]
        table_cols += [np.array([fmt_int(v) for v in given])]
        if d.soft is None:
            main, by = given, "the given labels"
    if d.soft is None and d.labels is None:
        assert d.pred is not None
        main, by = np.bincount(d.pred.argmax(axis=1), minlength=k), "the predictions"
        series["predicted"] = main / main.sum()
        cols += ["predicted"]
        table_cols += [np.array([fmt_int(v) for v in main])]
    order = np.argsort(-main, kind="stable")
    nonzero = main[main > 0]
    ratio = float(nonzero.max() / nonzero.min()) if nonzero.size else float("nan")
    empty = int((main == 0).sum())
    ctx.facts.append(("labels", "Largest / smallest class", f"{ratio:,.1f} : 1"))
    if ratio >= 10:
        ctx.alerts.append(Alert(
            "class-imbalance", "warn",
            f"The largest class is {ratio:,.0f} times the smallest.",
            "Report per-class metrics; consider class weights or collecting more items of "
            "the rare classes.",
        ))
    if empty:
        ctx.alerts.append(Alert(
            "empty-class", "info", f"{empty} class(es) have no items by {by}.",
            "Check whether the class list is right, or merge unused classes.",
        ))
    chart = svg.bar_chart(
        [d.classes[i] for i in order], {n: v[order] for n, v in series.items()},
        title="Class balance", xlabel="share of the total", value_format=fmt_pct,
        percent_axis=True,
        max_bars=ctx.max_rows,
    )
    rows = [[svg.clean_text(d.classes[i], 60)] + [c[i] for c in table_cols] for i in order]
    spread = [w for w, there in (("items", True), ("answers", d.ann is not None)) if there]
    lead = f"How the {' and '.join(spread)} spread over the classes"
    if d.soft is not None:
        lead += (". The consensus counts items by their most probable class; the soft-label "
                 "mass sums the probabilities, so uncertain items count partly towards "
                 "several classes.")
    elif d.labels is not None and d.labels_source == "given":
        lead += ", by the given labels (no consensus was computed)."
    else:
        lead += ", by the model's most probable class (no labels were given)."
    return (lead, [
        figure(chart),
        metrics(("classes", fmt_int(k), ""),
                 ("largest / smallest", f"{ratio:,.1f} : 1", "imbalance ratio"),
                 ("empty classes", fmt_int(empty), "")),
        table(cols, rows, numeric=[False] + [True] * (len(cols) - 1), max_rows=ctx.max_rows),
    ])
