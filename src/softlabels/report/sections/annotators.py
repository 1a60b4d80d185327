"""Annotators and agreement: agreement coefficients, worker accuracy, likely spammers."""

from __future__ import annotations


import numpy as np

from softlabels.report import svg
from softlabels.report.checks import has_answers, register_check
from softlabels.report.data import fmt_int, fmt_num, fmt_pct
from softlabels.report.page import Alert, Block, Context, columns, figure, metrics, table, text

#: A worker whose spammer score is below this, on at least _MIN_ITEMS items, is flagged.
_SPAMMER = 0.1
_MIN_ITEMS = 10
#: Most workers drawn in the scatter plot.
_MAX_POINTS = 3000


@register_check(
    "annotators", order=30, title="Annotators and agreement", needs=has_answers, reason="needs crowd answers"
)
def annotators_section(ctx: Context) -> tuple[str, list[Block]]:
    from softlabels.audit.agreement import annotator_table, fleiss_kappa, krippendorff_alpha

    d = ctx.data
    ann = d.ann
    assert ann is not None
    alpha = krippendorff_alpha(ann)
    kappa = fleiss_kappa(ann)
    ctx.facts.append(("crowd", "Krippendorff's \u03b1", fmt_num(alpha)))
    tab = annotator_table(ann)
    if d.model is not None and hasattr(d.model, "skills_"):
        tab["model skill"] = np.asarray(d.model.skills_, dtype=np.float64)
    enough = tab["n_items"].to_numpy() >= _MIN_ITEMS
    spam = enough & (tab["spammer_score"].to_numpy() < _SPAMMER)
    spam_answers = float(tab.loc[spam, "n_answers"].sum()) / max(ann.n_answers, 1)
    if np.isfinite(alpha) and alpha < 0.667:
        ctx.alerts.append(Alert(
            "low-agreement", "warn",
            f"Annotator agreement is low: Krippendorff's \u03b1 = {alpha:.2f}, below the "
            "0.667 that Krippendorff asks for even tentative conclusions.",
            "Do not treat a majority vote as ground truth: use the model-based soft labels, "
            "review the guidelines on the disputed classes, or add expert labels.",
        ))
    elif np.isfinite(alpha) and alpha < 0.8:
        ctx.alerts.append(Alert(
            "moderate-agreement", "info",
            f"Annotator agreement is moderate: Krippendorff's \u03b1 = {alpha:.2f} "
            "(0.8 is the usual bar for reliable data).", "",
        ))
    if spam.any():
        ctx.alerts.append(Alert(
            "spammers", "warn" if spam_answers >= 0.05 else "info",
            f"{int(spam.sum())} worker(s) answer almost independently of the consensus "
            f"class (spammer score < {_SPAMMER}); they gave {fmt_pct(spam_answers)} of the "
            "answers.",
            "Check these workers (listed under Annotators); a crowd model such as Dawid-Skene "
            "already down-weights them, a majority vote does not.",
        ))

    skill_col = f"{d.method} skill" if "model skill" in tab.columns else None
    columns = ["worker", "answers", "items", "accuracy", "agreement", "spammer score"]
    if skill_col:
        columns.append(skill_col)
    numeric = [False] + [True] * (len(columns) - 1)

    def rows_of(idx: np.ndarray) -> list[list[str]]:
        return [
            [svg.clean_text(tab["worker"].iat[i], 60), fmt_int(tab["n_answers"].iat[i]),
             fmt_int(tab["n_items"].iat[i]), fmt_num(tab["accuracy"].iat[i]),
             fmt_num(tab["agreement"].iat[i]), fmt_num(tab["spammer_score"].iat[i])]
            + ([fmt_num(tab["model skill"].iat[i])] if skill_col else [])
            for i in idx
        ]

    acc_all = tab["accuracy"].to_numpy(dtype=np.float64)
    rankable = np.flatnonzero(enough & np.isfinite(acc_all))
    by_acc = rankable[np.lexsort((-tab["n_answers"].to_numpy()[rankable], -acc_all[rankable]))]
    half = max(min(10, (ctx.max_rows + 1) // 2), 1)
    top = by_acc[:half]
    bottom = by_acc[::-1][: min(half, by_acc.size - top.size)]
    blocks: list[Block] = [
        metrics(
            ("Krippendorff's \u03b1", fmt_num(alpha), "nominal; 1 = perfect, 0 = chance"),
            ("Fleiss' \u03ba", fmt_num(kappa), "generalised to unequal raters per item"),
            ("workers", fmt_int(ann.n_workers), ""),
            ("answers per worker", f"{np.median(tab['n_answers']):,.0f}",
             f"median (max {tab['n_answers'].max():,})"),
            ("likely spammers", fmt_int(int(spam.sum())),
             f"spammer score < {_SPAMMER}, \u2265 {_MIN_ITEMS} items"),
        ),
    ]
    acc = acc_all
    ok = np.isfinite(acc) & (tab["n_answers"].to_numpy() > 0)
    plotted = ""
    if ok.sum() > _MAX_POINTS:  # keep the page light: the workers with most answers
        keep = np.flatnonzero(ok)
        keep = keep[np.argsort(-tab["n_answers"].to_numpy()[keep], kind="stable")[:_MAX_POINTS]]
        ok = np.zeros_like(ok)
        ok[keep] = True
        plotted = f" Only the {_MAX_POINTS:,} workers with the most answers are drawn."
    if ok.any():
        n_ans = tab["n_answers"].to_numpy()[ok]
        wide_range = n_ans.max() >= 10 * n_ans.min()
        blocks.append(figure(svg.scatter_plot(
            tab["n_answers"].to_numpy()[ok], acc[ok],
            labels=[f"{svg.clean_text(w, 60)}: {n:,} answers, accuracy {a:.2f}"
                    for w, n, a in zip(tab["worker"][ok], tab["n_answers"][ok], acc[ok])],
            highlight=spam[ok], xlog=wide_range, ylim=(0.0, 1.0),
            title="Workers: accuracy against the number of answers",
            xlabel="answers (log scale)" if wide_range else "answers",
            ylabel="accuracy vs consensus",
        ), "Each point is a worker; likely spammers are in orange. Hover a point for "
           "the worker id." + plotted))
    if top.size:
        blocks.append(Block("heading", {"text": "Most reliable workers"}))
        blocks.append(table(columns, rows_of(top), numeric=numeric, max_rows=ctx.max_rows))
    if bottom.size:
        blocks.append(Block("heading", {"text": "Least reliable workers"}))
        blocks.append(table(columns, rows_of(bottom), numeric=numeric, max_rows=ctx.max_rows))
    if spam.any():
        flagged = np.flatnonzero(spam)
        flagged = flagged[np.argsort(-tab["n_answers"].to_numpy()[flagged], kind="stable")]
        blocks.append(Block("heading", {"text": "Likely spammers"}))
        blocks.append(table(columns, rows_of(flagged), numeric=numeric, max_rows=ctx.max_rows))
    unranked = ann.n_workers - int(rankable.size)
    if unranked:
        blocks.append(text(f"{unranked:,} of {ann.n_workers:,} workers are not ranked: fewer "
                            f"than {_MIN_ITEMS} items, or no item shared with another worker."))
    lead = ("How well the annotators agree with each other and with the consensus. "
            "Accuracy is agreement with the majority of the other workers on the same "
            "items (leave-one-out); agreement is the mean share of other workers who gave "
            "the same answer; the spammer score (Raykar & Yu 2012) is 0 for a worker whose "
            "answers do not depend on the true class and 1 for a perfect one.")
    return (lead, blocks)
