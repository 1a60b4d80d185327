"""Ambiguity: how sure the labels are about each item."""

from __future__ import annotations


import numpy as np

from softlabels.core.defaults import WEAK_CONSENSUS_BELOW, weak_consensus
from softlabels.report import svg
from softlabels.report.checks import NEEDS_SOFT, has_soft, register_check
from softlabels.report.data import fmt_num, fmt_pct
from softlabels.report.page import (
    Alert,
    Block,
    Context,
    ambiguity,
    columns,
    figure,
    metrics,
    vote_ambiguity,
)


@register_check("ambiguity", order=40, title="Ambiguity", needs=has_soft, reason=NEEDS_SOFT)
def ambiguity_section(ctx: Context) -> tuple[str, list[Block]]:
    d = ctx.data
    soft = d.soft
    assert soft is not None
    h = ambiguity(ctx)
    conf = soft.confidence()
    mean_h = float(h.mean())
    weak = float(weak_consensus(soft.probs).mean())
    bar = f"{WEAK_CONSENSUS_BELOW:.0%}"
    ctx.facts.append(("labels", "Mean ambiguity (entropy)", f"{mean_h:.3f}"))
    ctx.facts.append(("labels", f"Weak consensus (< {bar})", fmt_pct(weak)))
    if weak >= 0.1:
        ctx.alerts.append(Alert(
            "weak-consensus", "warn" if weak < 0.25 else "critical",
            f"{fmt_pct(weak)} of the items have a consensus probability below {bar}.",
            "Collect more answers for these items, or train on the soft labels instead of "
            "hard labels so the model sees the ambiguity.",
        ))
    title = "Consensus soft labels" if d.ann is not None else "Soft labels"
    counts, edges = np.histogram(h, bins=20, range=(0.0, 1.0))
    figures = [figure(svg.histogram(
        counts, edges, title=f"{title}: entropy", ylabel="items",
        xlabel="normalised entropy (0 = certain, 1 = uniform)",
        mark=(mean_h, f"mean {mean_h:.2f}"), width=480, height=240,
    ), f"{title}: how certain the label of each item is.")]
    items = [("mean entropy", fmt_num(mean_h), title.lower())]
    if d.ann is not None:
        hv = vote_ambiguity(ctx)
        assert hv is not None
        mean_v = float(hv.mean())
        counts_v, _ = np.histogram(hv, bins=20, range=(0.0, 1.0))
        figures.insert(0, figure(svg.histogram(
            counts_v, edges, title="Answers: entropy of the vote shares", ylabel="items",
            xlabel="normalised entropy (0 = unanimous)",
            mark=(mean_v, f"mean {mean_v:.2f}"), width=480, height=240,
        ), "Answers: how much the annotators of each item disagree (vote shares)."))
        unanimous = float((d.ann.counts.max(axis=1) == d.ann.counts.sum(axis=1)).mean())
        items.insert(0, ("mean vote entropy", fmt_num(mean_v), "how much the answers disagree"))
        items.append(("unanimous items", fmt_pct(unanimous), "every answer the same"))
    items += [
        ("median confidence", fmt_num(float(np.median(conf))), "largest consensus probability"),
        (f"confidence < {bar}", fmt_pct(weak), "items with a weak consensus"),
    ]
    if soft.support is not None:
        sup = soft.support
        items.append(("answers per item", f"{np.median(sup):,.0f}",
                      f"median (min {sup.min():,.0f}, max {sup.max():,.0f})"))
    lead = ("How sure the labels are about each item, as the entropy of a distribution "
            "divided by log K (0: one class for certain, 1: all classes equally likely). "
            + ("The answers' vote shares show how much the annotators disagree; the "
               "consensus soft labels show what remains after the crowd model has weighed "
               "the workers." if d.ann is not None else ""))
    shown = columns(*([f] for f in figures)) if len(figures) > 1 else figures[0]
    return (lead, [shown, metrics(*items)])
