"""Weakest consensus: the items whose consensus label is least certain."""

from __future__ import annotations


import numpy as np

from softlabels.core.defaults import weakest_first
from softlabels.report import svg
from softlabels.report.checks import NEEDS_SOFT, has_soft, register_check
from softlabels.report.data import fmt_num
from softlabels.report.page import (
    Block,
    Context,
    ambiguity,
    answers_evidence,
    columns,
    table,
    vote_ambiguity,
)


@register_check(
    "weak-consensus", order=50, title="Weakest consensus", needs=has_soft, reason=NEEDS_SOFT
)
def weak_consensus_section(ctx: Context) -> tuple[str, list[Block]]:
    d = ctx.data
    soft = d.soft
    assert soft is not None
    conf = soft.confidence()
    h = ambiguity(ctx)
    hv = vote_ambiguity(ctx)
    order = weakest_first(conf, hv if hv is not None else h)[: ctx.max_rows]
    evidence = answers_evidence(ctx, order)
    hard = soft.hard_codes()
    columns = ["item", "consensus", "probability", "entropy"]
    numeric = [False, False, True, True]
    if hv is not None:
        columns += ["vote entropy", "answers"]
        numeric += [True, False]
    rows = []
    for j, i in enumerate(order):
        row = [svg.clean_text(d.item_ids[i], 80), ctx.class_name(hard[i]), fmt_num(conf[i]),
               fmt_num(h[i])]
        if hv is not None:
            row += [fmt_num(hv[i]), evidence[j]]
        rows.append(row)
    lead = ("The items whose consensus label is least certain (lowest top probability; "
            "ties broken by how much the annotators disagree). These are the first "
            "candidates for more answers or an expert look."
            + (" The answers column is the evidence: class \u00d7 number of answers."
               if hv is not None else ""))
    return (lead, [
        table(columns, rows, numeric=numeric, total=d.n_items, max_rows=ctx.max_rows),
    ])
