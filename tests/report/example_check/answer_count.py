"""Answers per item: how many crowd answers each item received.

An example audit check. This one file, saved as
``src/softlabels/report/sections/answer_count.py``, adds a section to every report built
from crowd answers: nothing else is edited (the sections are found and ordered by the
registry, :mod:`softlabels.report.checks`).
"""

from __future__ import annotations

import numpy as np

from softlabels.report.checks import has_answers, register_check
from softlabels.report.data import fmt_int, fmt_pct
from softlabels.report.page import Alert, Block, Context, metrics, table

#: Items with fewer answers than this are thinly answered.
FEW_ANSWERS = 3


@register_check("answer-count", order=25, title="Answers per item",
                needs=has_answers, reason="needs crowd answers")
def answer_count_section(ctx: Context) -> tuple[str, list[Block]]:
    ann = ctx.data.ann
    assert ann is not None  # has_answers
    per_item = ann.answers_per_item
    few = int((per_item < FEW_ANSWERS).sum())
    ctx.facts.append(("crowd", f"Items with < {FEW_ANSWERS} answers", fmt_int(few)))
    if few >= 0.1 * per_item.size:
        ctx.alerts.append(Alert(
            "few-answers", "warn",
            f"{fmt_int(few)} items ({fmt_pct(few / per_item.size)}) have fewer than "
            f"{FEW_ANSWERS} answers.",
            "Collect more answers for them before trusting their consensus.",
        ))
    values, counts = np.unique(per_item, return_counts=True)
    order = np.lexsort((values, -counts))  # most common first, then fewer answers first
    rows = [[fmt_int(values[i]), fmt_int(counts[i]), fmt_pct(counts[i] / per_item.size)]
            for i in order]
    lead = "How many answers each item received: the more, the surer its consensus."
    return lead, [
        metrics(
            ("fewest", fmt_int(per_item.min()), "answers on one item"),
            ("median", f"{np.median(per_item):,.1f}", "answers per item"),
            ("most", fmt_int(per_item.max()), "answers on one item"),
            (f"under {FEW_ANSWERS}", fmt_int(few), "thinly answered items"),
        ),
        table(["answers", "items", "share of items"], rows, numeric=[True, True, True],
              max_rows=ctx.max_rows),
    ]
