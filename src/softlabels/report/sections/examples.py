"""Representative examples: per class, the items a labelling instruction would show, and
the boundary items between the most confused classes."""

from __future__ import annotations

import numpy as np

from softlabels.report import svg
from softlabels.report.checks import NEEDS_SOFT, has_soft, register_check
from softlabels.report.data import fmt_num, fmt_pct
from softlabels.report.page import Block, Context, answers_evidence, metrics, table

#: Examples shown per class.
PER_CLASS = 3


@register_check("examples", order=55, title="Representative examples", needs=has_soft,
                reason=NEEDS_SOFT)
def examples_section(ctx: Context) -> tuple[str, list[Block]]:
    from softlabels.audit.exemplars import representative_examples

    d = ctx.data
    assert d.soft is not None
    ex = representative_examples(d.soft, features=d.pred, n_per_class=PER_CLASS,
                                 random_state=ctx.random_state)
    with_answers = d.ann is not None
    evidence = answers_evidence(ctx, ex.items)
    columns = ["class", "rank", "item", "consensus probability", "typicality"]
    numeric = [False, True, False, True, True]
    if with_answers:
        columns.append("answers")
        numeric.append(False)
    rows = []
    for j, i in enumerate(ex.items):
        row = [ctx.class_name(ex.classes_of[j]), str(ex.rank[j] + 1),
               svg.clean_text(d.item_ids[i], 80), fmt_num(ex.confidence[j]),
               fmt_num(ex.typicality[j])]
        if with_answers:
            row.append(evidence[j])
        rows.append(row)
    n_rows = max(ctx.max_rows, PER_CLASS * len(d.classes))
    blocks: list[Block] = []
    cover = ex.coverage[np.isfinite(ex.coverage)]
    sure = float(np.mean(ex.confidence >= 0.8)) if ex.items.size else float("nan")
    blocks.append(metrics(
        ("classes with examples", f"{len(np.unique(ex.classes_of))} of {len(d.classes)}",
         "classes that are some item's consensus label"),
        ("examples with a clear consensus", fmt_pct(sure), "consensus probability >= 0.8"),
        ("mean coverage", fmt_num(float(cover.mean()) if cover.size else None),
         "members' similarity to their nearest example (1 = identical)"),
    ))
    blocks.append(table(columns, rows, numeric=numeric, total=len(rows), max_rows=n_rows))
    if ex.boundary.size:
        b_rows = []
        b_evidence = answers_evidence(ctx, ex.boundary)
        for j, i in enumerate(ex.boundary):
            a, b = ex.pairs[j]
            row = [f"{ctx.class_name(a)} / {ctx.class_name(b)}",
                   svg.clean_text(d.item_ids[i], 80), fmt_num(ex.boundary_probs[j, 0]),
                   fmt_num(ex.boundary_probs[j, 1])]
            if with_answers:
                row.append(b_evidence[j])
            b_rows.append(row)
        blocks.append(Block("heading", {"text": "Boundary items of the most confused classes"}))
        b_cols = ["classes", "item", "p(first)", "p(second)"] + (["answers"] if with_answers
                                                                 else [])
        blocks.append(table(b_cols, b_rows, numeric=[False, False, True, True]
                            + ([False] if with_answers else []), max_rows=n_rows))
    how = ("the ones that best cover them in the model's predicted probabilities (greedy "
           "facility location, weighted by the consensus probability): rank 1 is the most "
           "typical item, later ranks add what it leaves out"
           if d.pred is not None else
           "the most confident, ties broken by the number of answers (with predicted "
           "probabilities, the examples would also be chosen to cover the class)")
    lead = ("The examples a labelling instruction could show for each class (Chang et al. "
            "2023, \u201cThinking Like an Annotator\u201d): among the items whose consensus "
            f"probability is at least 0.8 (or the most confident ones), {how}. The boundary "
            "items are split between the most confused classes: the cases an instruction "
            "should settle.")
    return (lead, blocks)
