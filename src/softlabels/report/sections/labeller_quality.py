"""Labeller quality and label risk: each labeller scored on gold items, and the Bayes risk
of the quality-weighted consensus of every item (Estes et al. 2024)."""

from __future__ import annotations

import numpy as np

from softlabels.report import svg
from softlabels.report.checks import has_answers, register_check
from softlabels.report.data import fmt_int, fmt_num, fmt_pct
from softlabels.report.page import Block, Context, answers_evidence, metrics, table, text


@register_check(
    "labeller-quality", order=35, title="Labeller quality and label risk", needs=has_answers,
    reason="needs crowd answers",
)
def labeller_quality_section(ctx: Context) -> tuple[str, list[Block]]:
    from softlabels.audit.agreement import bayesian_label_risk, labeller_quality

    d = ctx.data
    ann = d.ann
    assert ann is not None
    quality = None
    if d.gold is not None:
        quality = labeller_quality(ann, d.gold)
        risk = bayesian_label_risk(ann, quality, unknown="mean")
    else:
        risk = bayesian_label_risk(ann)
    items: list[tuple[str, str, str]] = [
        ("mean label risk", fmt_num(risk.mean_risk), "1 \u2212 top consensus share"),
        ("items at risk", fmt_pct(risk.frac_risky), f"risk > {risk.threshold:g}"),
    ]
    blocks: list[Block] = []
    if quality is not None:
        scored = np.flatnonzero(quality.n_gold > 0)
        n_gold_items = int((ann.gold_codes(d.gold) >= 0).sum())
        ctx.facts.append(("crowd", "Gold items", fmt_int(n_gold_items)))
        items = [
            ("gold items", fmt_int(n_gold_items), "answered items of known label"),
            ("labellers scored", fmt_int(scored.size), f"of {ann.n_workers:,}"),
            ("median quality", fmt_num(np.median(quality.qscore[scored]) if scored.size
                                       else float("nan")), "accuracy on gold"),
            *items,
        ]
    blocks.append(metrics(*items))
    if quality is not None and scored.size:
        pa = quality.producer_accuracy
        order = scored[np.lexsort((-quality.n_gold[scored], quality.qscore[scored]))]
        rows = []
        for i in order:
            met = np.flatnonzero(np.isfinite(pa[i]))
            weakest = (f"{ctx.class_name(met[np.argmin(pa[i, met])], 24)} "
                       f"({fmt_num(pa[i, met].min(), 2)})") if met.size else "\u2013"
            rows.append([svg.clean_text(quality.worker_ids[i], 60),
                         fmt_int(quality.n_gold[i]), fmt_num(quality.qscore[i]), weakest])
        blocks.append(Block("heading", {"text": "Labellers of lowest quality"}))
        blocks.append(table(["worker", "gold answers", "quality", "weakest class (recall)"],
                            rows, numeric=[False, True, True, False],
                            max_rows=ctx.max_rows))
    r = risk.risk
    ranked = np.flatnonzero(np.isfinite(r))
    ranked = ranked[np.argsort(-r[ranked], kind="stable")][: ctx.max_rows]
    if ranked.size:
        hard = risk.soft_labels.probs.argmax(axis=1)
        n_lab = risk.n_labellers
        evidence = answers_evidence(ctx, ranked)
        rows = [[svg.clean_text(d.item_ids[i], 80), ctx.class_name(hard[i]), fmt_num(r[i]),
                 fmt_int(n_lab[i]), evidence[j]] for j, i in enumerate(ranked)]
        blocks.append(Block("heading", {"text": "Items of highest label risk"}))
        blocks.append(table(["item", "consensus", "risk", "labellers", "answers"], rows,
                            numeric=[False, False, True, True, False],
                            total=int(np.isfinite(r).sum()), max_rows=ctx.max_rows))
    if quality is None:
        blocks.append(text("Without gold items every labeller weighs the same, so the risk "
                           "is one minus the majority's share of the votes. Give the known "
                           "labels of some items (gold) to score the labellers and weigh "
                           "the consensus by their quality."))
    lead = ("The Bayes risk of each item's consensus label (Estes et al. 2024): the "
            "consensus weighs each answer by its labeller's prior probability of being "
            "right, and the risk is one minus the consensus share of the chosen class. "
            f"Items above {risk.threshold:g} are counted at risk. With n equal binary "
            "votes the risk can only be a multiple of 1/n, so the number of labellers is "
            "shown beside it."
            + (" Each labeller's quality is his accuracy on the gold items; his prior for "
               "a class is that quality times his recall of the class on gold. Labellers "
               "without gold answers get the mean prior of the others."
               if quality is not None else ""))
    return (lead, blocks)
