"""Label issues: confident learning against out-of-sample predictions."""

from __future__ import annotations


import numpy as np

from softlabels.core.soft import SoftLabels
from softlabels.report import svg
from softlabels.report.checks import NEEDS_MODEL, has_model, register_check
from softlabels.report.data import fmt_int, fmt_num, fmt_pct
from softlabels.report.page import (
    Alert,
    Block,
    Context,
    answers_evidence,
    columns,
    metrics,
    table,
    text,
)


@register_check("issues", order=60, title="Label issues", needs=has_model, reason=NEEDS_MODEL)
def issues_section(ctx: Context) -> tuple[str, list[Block]]:
    from softlabels.audit.issues import audit_labels, estimate_noise_matrix

    d = ctx.data
    assert d.pred is not None and d.labels is not None
    given = d.labels_source == "given"
    # the class names as the page writes them (isolated), so that the reasons quote them so
    names = [svg.clean_text(c) for c in d.classes]
    if len(set(names)) < len(names):
        names = list(d.classes)
    crowd = None
    if given and d.ann is not None:  # the raw votes, weighted by their number (CROWDLAB)
        crowd = SoftLabels.from_counts(d.ann.counts, names, d.item_ids)
    elif given and d.soft is not None:
        crowd = SoftLabels(d.soft.probs, names, d.item_ids, support=d.soft.support)
    audit = audit_labels(d.labels, d.pred, crowd, classes=names)
    noise = estimate_noise_matrix(d.labels, d.pred)
    flagged = audit["is_issue"].to_numpy()
    n_flagged = int(flagged.sum())
    share = n_flagged / d.n_items
    what = "given labels" if given else "consensus labels"
    ctx.facts.append(("labels", "Likely label errors", f"{fmt_int(n_flagged)} ({fmt_pct(share)})"))
    if share >= 0.05:
        ctx.alerts.append(Alert(
            "label-issues", "critical" if share >= 0.15 else "warn",
            f"{fmt_pct(share)} of the {what} ({fmt_int(n_flagged)} items) look wrong: the "
            "model confidently prefers another class.",
            "Review the listed items first (they are ranked by how unlikely the label "
            "is); relabel or drop them, or train on soft labels.",
        ))
    order = np.lexsort((audit["score"].to_numpy(), ~flagged))
    top = order[: ctx.max_rows]
    evidence = answers_evidence(ctx, top)
    columns = ["item", "given", "flagged", "suggested", "score", "p(given)", "evidence"]
    numeric = [False, False, False, False, True, True, False]
    if d.ann is not None:
        columns.append("answers")
        numeric.append(False)
    rows = []
    for j, i in enumerate(top):
        rec = audit.iloc[i]
        row = [svg.clean_text(d.item_ids[i], 80), svg.clean_text(rec["given"], 40),
               "yes" if rec["is_issue"] else "no", svg.clean_text(rec["suggested"], 40),
               fmt_num(rec["score"]),
               fmt_num(rec["p_given"]), svg.clean_text(rec["reason"], 300)]
        if d.ann is not None:
            row.append(evidence[j])
        rows.append(row)
    pairs = noise.to_frame(list(d.classes))
    pairs = pairs[(pairs["given"].astype(str) != pairs["true"].astype(str))
                  & (pairs["count"] > 0)].head(min(ctx.max_rows, 8))
    confusion_rows = [
        [svg.clean_text(r.given, 40), svg.clean_text(r.true, 40), fmt_int(r.count),
         fmt_pct(r.p_true_if_given)]
        for r in pairs.itertuples(index=False)
    ]
    against = ("the given labels against the model's out-of-sample probabilities"
               + (" and the crowd's votes (CROWDLAB weighting)" if crowd is not None else "")
               if given else
               "the consensus labels against the model's out-of-sample probabilities "
               "(no labels were given)")
    lead = (f"Confident learning (Northcutt et al. 2021) checks {against}. The items are "
            "ranked for review: flagged ones first, then by label quality (the score, "
            "low is suspicious); the evidence says why.")
    blocks: list[Block] = [metrics(
        ("flagged items", fmt_int(n_flagged), f"of {fmt_int(d.n_items)}"),
        ("flagged share", fmt_pct(share), what),
        ("estimated noise rate", fmt_pct(noise.noise_rate), "model only: off-diagonal joint"),
    )]
    blocks.append(table(columns, rows, numeric=numeric, total=d.n_items,
                         max_rows=ctx.max_rows))
    if confusion_rows:
        blocks.append(Block("heading", {"text": "Most frequent confusions"}))
        blocks.append(table(["given", "probably", "items", "share of the given class"],
                             confusion_rows, numeric=[False, False, True, True],
                             max_rows=ctx.max_rows))
    return (lead, blocks)
