"""The label-quality report: one self-contained HTML page for a labelled data set.

The page follows the Dataset Nutrition Label (Holland et al. 2018, arXiv 1805.03677;
second generation: Chmielinski et al. 2022, arXiv 2201.03954): a fixed-format "label
facts" panel and automatically computed alerts up front, then one module per aspect
of label quality (provenance, class balance, annotators and agreement, ambiguity,
label issues, calibration, conformal prediction sets). Owner-supplied context (the
``description``) is kept apart from the computed statistics, and no badge is filled
in that would need a human to attest it.

The page contains no script and carries a Content-Security-Policy that forbids
scripts, network requests and external resources, so it is safe to open even when it
shows untrusted names; every user string is escaped as well.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from softlabels.core.validation import check_float, check_int
from softlabels._version import __version__
from softlabels.core.io import atomic_path
from softlabels.core.soft import SoftLabels
from softlabels.report import svg
from softlabels.report._data import ReportData, fmt_int, fmt_num, fmt_pct, resolve_inputs

__all__ = ["build_report", "write_report", "CONTENT_SECURITY_POLICY"]

#: The page's policy: nothing may run or load; only inline styles and data: images.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)
_OWNER = "build_report"


# ---------------------------------------------------------------------- page model
@dataclass
class Block:
    """One piece of a section: ``metrics``, ``figure``, ``table``, ``text`` or
    ``columns`` (side-by-side lists of blocks)."""

    kind: str
    data: dict[str, Any]


@dataclass
class Section:
    id: str
    title: str
    lead: str = ""
    blocks: list[Block] = field(default_factory=list)


class _Skip(Exception):
    """Raised by a section builder that cannot run on these inputs (with the reason)."""


@dataclass
class Alert:
    id: str
    severity: str  # "info", "warn" or "critical"
    message: str
    mitigation: str = ""


def _metrics(*items: tuple[str, str, str]) -> Block:
    return Block("metrics", {"items": [{"label": a, "value": b, "hint": c} for a, b, c in items]})


def _figure(chart: Markup, caption: str = "", wide: bool = True) -> Block:
    return Block("figure", {"svg": chart, "caption": caption, "wide": wide})


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, numeric: Sequence[bool],
           total: int | None = None, caption: str = "", max_rows: int) -> Block:
    shown = [[str(v) for v in r] for r in rows[:max_rows]]
    total = len(rows) if total is None else total
    return Block("table", {
        "columns": list(columns), "numeric": list(numeric), "rows": shown,
        "omitted": max(total - len(shown), 0), "caption": caption,
    })


def _text(text: str) -> Block:
    return Block("text", {"text": text})


def _columns(*cols: list[Block]) -> Block:
    return Block("columns", {"cols": list(cols)})


# ---------------------------------------------------------------------- context
@dataclass
class _Context:
    data: ReportData
    max_rows: int
    alpha: float
    n_bins: int
    random_state: int
    facts: list[tuple[str, str, str]] = field(default_factory=list)  # (group, label, value)
    alerts: list[Alert] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)

    def class_name(self, code: int, max_len: int = 40) -> str:
        return svg.clean_text(self.data.classes[int(code)], max_len)


#: Most classes listed in the answers evidence of one item.
_EVIDENCE = 6


def _answers_evidence(ctx: _Context, rows: np.ndarray) -> list[str]:
    """'G×3 · P×2' per item: the answers behind each listed item."""
    ann = ctx.data.ann
    if ann is None:
        return [""] * len(rows)
    counts = ann.counts[rows]
    out = []
    for c in counts:
        order = [k for k in np.argsort(-c, kind="stable") if c[k] > 0]
        parts = [f"{ctx.class_name(k, 16)}\u00d7{int(c[k])}" for k in order[:_EVIDENCE]]
        if len(order) > _EVIDENCE:
            parts.append(f"+{len(order) - _EVIDENCE} more")
        out.append(" \u00b7 ".join(parts))
    return out


def _ambiguity(ctx: _Context) -> np.ndarray:
    """Normalised entropy of each consensus soft label (computed once)."""
    from softlabels.audit.agreement import item_ambiguity

    if "ambiguity" not in ctx.results:
        ctx.results["ambiguity"] = item_ambiguity(ctx.data.soft)
    return ctx.results["ambiguity"]


def _vote_ambiguity(ctx: _Context) -> np.ndarray | None:
    """Normalised entropy of each item's vote shares (None without answers)."""
    from softlabels.audit.agreement import item_ambiguity

    ann = ctx.data.ann
    if ann is None:
        return None
    if "vote_ambiguity" not in ctx.results:
        counts = ann.counts
        ctx.results["vote_ambiguity"] = item_ambiguity(counts / counts.sum(axis=1, keepdims=True))
    return ctx.results["vote_ambiguity"]


# ---------------------------------------------------------------------- sections
def _section_provenance(ctx: _Context) -> Section:
    d = ctx.data
    rows: list[tuple[str, str]] = []
    if d.source:
        rows.append(("Data", d.source))
    if d.ann is not None:
        rows.append(("Answers", f"{fmt_int(d.ann.n_answers)} answers on {fmt_int(d.ann.n_items)} "
                                f"items by {fmt_int(d.ann.n_workers)} workers"))
    if d.soft is not None:
        how = "fitted here on the answers" if d.model is not None else "given (soft_labels)"
        rows.append(("Consensus", f"{d.method or 'unknown method'} ({how})"))
        if d.method_params:
            rows.append(("Method parameters", ", ".join(
                f"{k}={v!r}" for k, v in sorted(d.method_params.items()))))
        made_with = d.soft.provenance.get("version")
        if made_with:
            rows.append(("Soft labels made with", f"softlabels {made_with}"))
    if d.labels is not None:
        rows.append(("Labels", "given by the user" if d.labels_source == "given"
                     else "the consensus (no labels were given)"))
    if d.pred is not None:
        rows.append(("Predicted probabilities", f"given ({d.pred.shape[0]:,} \u00d7 "
                                                f"{d.pred.shape[1]}); assumed out-of-sample"))
    rows.append(("Classes", ", ".join(svg.clean_text(c, 40) for c in d.classes[:30])
                 + (f" (+{len(d.classes) - 30} more)" if len(d.classes) > 30 else "")))
    rows.append(("Report", f"softlabels {__version__}, {ctx.results['created']}"))
    return Section("provenance", "Provenance", "Where the data and the labels came from.",
                   [Block("keyvalue", {"rows": rows})])


def _section_classes(ctx: _Context) -> Section:
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
        title="Class balance", xlabel="share of the total", value_format="{:.1%}",
        percent_axis=True,
        max_bars=ctx.max_rows,
    )
    rows = [[svg.clean_text(d.classes[i], 60)] + [c[i] for c in table_cols] for i in order]
    lead = ("How the items and answers spread over the classes. The consensus counts "
            "items by their most probable class; the soft-label mass sums the "
            "probabilities, so uncertain items count partly towards several classes.")
    return Section("class-balance", "Class balance", lead, [
        _figure(chart),
        _metrics(("classes", fmt_int(k), ""),
                 ("largest / smallest", f"{ratio:,.1f} : 1", "imbalance ratio"),
                 ("empty classes", fmt_int(empty), "")),
        _table(cols, rows, numeric=[False] + [True] * (len(cols) - 1), max_rows=ctx.max_rows),
    ])


def _section_ambiguity(ctx: _Context) -> Section:
    d = ctx.data
    soft = d.soft
    assert soft is not None
    h = _ambiguity(ctx)
    conf = soft.confidence()
    mean_h = float(h.mean())
    weak = float((conf < 0.6).mean())
    ctx.facts.append(("labels", "Mean ambiguity (entropy)", f"{mean_h:.3f}"))
    ctx.facts.append(("labels", "Weak consensus (< 60%)", fmt_pct(weak)))
    if weak >= 0.1:
        ctx.alerts.append(Alert(
            "weak-consensus", "warn" if weak < 0.25 else "critical",
            f"{fmt_pct(weak)} of the items have a consensus probability below 60%.",
            "Collect more answers for these items, or train on the soft labels instead of "
            "hard labels so the model sees the ambiguity.",
        ))
    title = "Consensus soft labels" if d.ann is not None else "Soft labels"
    counts, edges = np.histogram(h, bins=20, range=(0.0, 1.0))
    figures = [_figure(svg.histogram(
        counts, edges, title=f"{title}: entropy", ylabel="items",
        xlabel="normalised entropy (0 = certain, 1 = uniform)",
        mark=(mean_h, f"mean {mean_h:.2f}"), width=480, height=240,
    ), f"{title}: how certain the label of each item is.")]
    items = [("mean entropy", fmt_num(mean_h), title.lower())]
    if d.ann is not None:
        hv = _vote_ambiguity(ctx)
        assert hv is not None
        mean_v = float(hv.mean())
        counts_v, _ = np.histogram(hv, bins=20, range=(0.0, 1.0))
        figures.insert(0, _figure(svg.histogram(
            counts_v, edges, title="Answers: entropy of the vote shares", ylabel="items",
            xlabel="normalised entropy (0 = unanimous)",
            mark=(mean_v, f"mean {mean_v:.2f}"), width=480, height=240,
        ), "Answers: how much the annotators of each item disagree (vote shares)."))
        unanimous = float((d.ann.counts.max(axis=1) == d.ann.counts.sum(axis=1)).mean())
        items.insert(0, ("mean vote entropy", fmt_num(mean_v), "how much the answers disagree"))
        items.append(("unanimous items", fmt_pct(unanimous), "every answer the same"))
    items += [
        ("median confidence", fmt_num(float(np.median(conf))), "largest consensus probability"),
        ("confidence < 60%", fmt_pct(weak), "items with a weak consensus"),
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
    shown = _columns(*([f] for f in figures)) if len(figures) > 1 else figures[0]
    return Section("ambiguity", "Ambiguity", lead, [shown, _metrics(*items)])


def _section_weak_consensus(ctx: _Context) -> Section:
    d = ctx.data
    soft = d.soft
    assert soft is not None
    conf = soft.confidence()
    h = _ambiguity(ctx)
    hv = _vote_ambiguity(ctx)
    order = np.lexsort((-(hv if hv is not None else h), conf))[: ctx.max_rows]
    evidence = _answers_evidence(ctx, order)
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
    return Section("weak-consensus", "Weakest consensus", lead, [
        _table(columns, rows, numeric=numeric, total=d.n_items, max_rows=ctx.max_rows),
    ])


#: A worker whose spammer score is below this, on at least _MIN_ITEMS items, is flagged.
_SPAMMER = 0.1
_MIN_ITEMS = 10
#: Most workers drawn in the scatter plot.
_MAX_POINTS = 3000


def _section_annotators(ctx: _Context) -> Section:
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
        _metrics(
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
        blocks.append(_figure(svg.scatter_plot(
            tab["n_answers"].to_numpy()[ok], acc[ok],
            labels=[f"{svg.clean_text(w, 60)}: {n:,} answers, accuracy {a:.2f}"
                    for w, n, a in zip(tab["worker"][ok], tab["n_answers"][ok], acc[ok])],
            highlight=spam[ok], xlog=wide_range, ylim=(0.0, 1.0),
            title="Workers: accuracy against the number of answers",
            xlabel="answers (log scale)" if wide_range else "answers",
            ylabel="accuracy vs consensus",
        ), "Each point is a worker; likely spammers are in orange. Hover a point for "
           "the worker id." + plotted))
    blocks.append(Block("heading", {"text": "Most reliable workers"}))
    blocks.append(_table(columns, rows_of(top), numeric=numeric, max_rows=ctx.max_rows))
    if bottom.size:
        blocks.append(Block("heading", {"text": "Least reliable workers"}))
        blocks.append(_table(columns, rows_of(bottom), numeric=numeric, max_rows=ctx.max_rows))
    if spam.any():
        flagged = np.flatnonzero(spam)
        flagged = flagged[np.argsort(-tab["n_answers"].to_numpy()[flagged], kind="stable")]
        blocks.append(Block("heading", {"text": "Likely spammers"}))
        blocks.append(_table(columns, rows_of(flagged), numeric=numeric, max_rows=ctx.max_rows))
    unranked = ann.n_workers - int(rankable.size)
    if unranked:
        blocks.append(_text(f"{unranked:,} of {ann.n_workers:,} workers are not ranked: fewer "
                            f"than {_MIN_ITEMS} items, or no item shared with another worker."))
    lead = ("How well the annotators agree with each other and with the consensus. "
            "Accuracy is agreement with the majority of the other workers on the same "
            "items (leave-one-out); agreement is the mean share of other workers who gave "
            "the same answer; the spammer score (Raykar & Yu 2012) is 0 for a worker whose "
            "answers do not depend on the true class and 1 for a perfect one.")
    return Section("annotators", "Annotators and agreement", lead, blocks)


def _section_issues(ctx: _Context) -> Section:
    from softlabels.audit.issues import audit_labels, estimate_noise_matrix

    d = ctx.data
    assert d.pred is not None and d.labels is not None
    given = d.labels_source == "given"
    crowd = None
    if given and d.ann is not None:  # the raw votes, weighted by their number (CROWDLAB)
        crowd = SoftLabels.from_counts(d.ann.counts, d.classes, d.item_ids)
    elif given and d.soft is not None:
        crowd = d.soft
    audit = audit_labels(d.labels, d.pred, crowd, classes=list(d.classes))
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
    evidence = _answers_evidence(ctx, top)
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
    blocks: list[Block] = [_metrics(
        ("flagged items", fmt_int(n_flagged), f"of {fmt_int(d.n_items)}"),
        ("flagged share", fmt_pct(share), what),
        ("estimated noise rate", fmt_pct(noise.noise_rate), "model only: off-diagonal joint"),
    )]
    blocks.append(_table(columns, rows, numeric=numeric, total=d.n_items,
                         max_rows=ctx.max_rows))
    if confusion_rows:
        blocks.append(Block("heading", {"text": "Most frequent confusions"}))
        blocks.append(_table(["given", "probably", "items", "share of the given class"],
                             confusion_rows, numeric=[False, False, True, True],
                             max_rows=ctx.max_rows))
    return Section("issues", "Label issues", lead, blocks)


def _targets(ctx: _Context) -> tuple[Any, str]:
    """What the model is scored against: the given labels, else the consensus soft labels."""
    d = ctx.data
    if d.labels_source == "given":
        return d.labels, "the given labels"
    assert d.soft is not None
    return d.soft.probs, "the consensus soft labels"


def _section_calibration(ctx: _Context) -> Section:
    from softlabels.audit.calibration import calibration_report, reliability_diagram

    d = ctx.data
    assert d.pred is not None
    target, against = _targets(ctx)
    human = d.soft.probs if d.soft is not None else None
    rep = calibration_report(d.pred, target, n_bins=ctx.n_bins, soft_labels=human)
    bins = reliability_diagram(d.pred, target, n_bins=ctx.n_bins)
    edges = np.append(bins["lower"].to_numpy(), bins["upper"].to_numpy()[-1])
    chart = svg.reliability_plot(
        edges, bins["confidence"].to_numpy(), bins["accuracy"].to_numpy(),
        bins["count"].to_numpy(), title="Reliability diagram",
    )
    gap = rep["confidence"] - rep["accuracy"]
    ece = rep["ece"]
    ctx.facts.append(("model", "Model accuracy", fmt_pct(rep["accuracy"])))
    ctx.facts.append(("model", "Calibration error (ECE)", fmt_num(ece)))
    if ece > 0.05:
        way = "over-confident" if gap > 0 else "under-confident"
        ctx.alerts.append(Alert(
            "miscalibrated", "warn",
            f"The model is {way}: expected calibration error {ece:.3f} "
            f"(mean confidence {rep['confidence']:.3f}, accuracy {rep['accuracy']:.3f}).",
            "Recalibrate on held-out data (temperature scaling) before using the "
            "probabilities as confidences.",
        ))
    items = [
        ("accuracy", fmt_pct(rep["accuracy"]), "top-label"),
        ("mean confidence", fmt_pct(rep["confidence"]), "mean top probability"),
        ("ECE", fmt_num(ece), f"{rep['n_bins']} equal-width bins"),
        ("ECE, equal-mass bins", fmt_num(rep["ece_quantile"]), ""),
        ("class-wise ECE", fmt_num(rep["classwise_ece"]), "mean over classes"),
        ("Brier score", fmt_num(rep["brier"]), "lower is better"),
        ("log loss", fmt_num(rep["nll"]), "negative log-likelihood, nats"),
    ]
    if rep["kl"] is not None:
        items.append(("KL(crowd ‖ model)", fmt_num(rep["kl"]),
                      "distance to the crowd's soft labels, nats"))
    lead = (f"Whether the model's predicted probabilities can be read as confidences, "
            f"scored against {against}. Bars show the accuracy in each confidence bin; "
            "the shaded gap is the distance to the diagonal of perfect calibration.")
    metrics = _metrics(*items)
    return Section("calibration", "Calibration", lead,
                   [_columns([_figure(chart, wide=False)], [metrics])])


#: Fewest items for the conformal summary (half of them calibrate the threshold).
_MIN_CONFORMAL = 40


def _section_conformal(ctx: _Context) -> Section:
    from softlabels.audit.conformal import SplitConformalClassifier, coverage, mean_set_size

    d = ctx.data
    assert d.pred is not None and d.labels is not None
    n = d.n_items
    if n < _MIN_CONFORMAL:
        raise _Skip(f"needs at least {_MIN_CONFORMAL} items with predictions; got {n}")
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
    return Section("conformal", "Conformal prediction sets", lead, [
        _metrics(
            ("coverage (LAC)", fmt_pct(cov), f"target {target:.0%}"),
            ("mean set size", fmt_num(mean_size, 2), f"of {k} classes"),
            ("singletons", fmt_pct(float((size == 1).mean())), "one class only"),
            ("empty sets", fmt_pct(float((size == 0).mean())), "no class confident enough"),
        ),
        _columns(
            [_figure(chart, wide=False)],
            [_table(["score", "coverage", "mean size", "singletons", "empty"], rows,
                    numeric=[False, True, True, True, True], max_rows=ctx.max_rows),
             Block("heading", {"text": "Coverage per class (LAC)"}),
             _table(["class", "test items", "coverage", "mean size"], per_class,
                    numeric=[False, True, True, True], max_rows=ctx.max_rows)],
        ),
    ])


def _has_model(d: ReportData) -> bool:
    return d.pred is not None and d.labels is not None


def _has_soft(d: ReportData) -> bool:
    return d.soft is not None


_NEEDS_MODEL = "needs pred_probs, with labels or crowd answers"
_NEEDS_SOFT = "needs crowd answers or soft labels"

#: The sections in page order: (id, title, builder, needs, reason shown when absent).
_SECTIONS = (
    ("provenance", "Provenance", _section_provenance, lambda d: True, ""),
    ("class-balance", "Class balance", _section_classes, lambda d: True, ""),
    ("annotators", "Annotators and agreement", _section_annotators,
     lambda d: d.ann is not None, "needs crowd answers"),
    ("ambiguity", "Ambiguity", _section_ambiguity, _has_soft, _NEEDS_SOFT),
    ("weak-consensus", "Weakest consensus", _section_weak_consensus, _has_soft, _NEEDS_SOFT),
    ("issues", "Label issues", _section_issues, _has_model, _NEEDS_MODEL),
    ("calibration", "Calibration", _section_calibration, _has_model, _NEEDS_MODEL),
    ("conformal", "Conformal prediction sets", _section_conformal, _has_model, _NEEDS_MODEL),
)


# ---------------------------------------------------------------------- summary
def _summary(ctx: _Context, description: str | None) -> dict[str, Any]:
    d = ctx.data
    facts = [("data", "Items", fmt_int(d.n_items)), ("data", "Classes", fmt_int(len(d.classes)))]
    if d.ann is not None:
        facts += [("crowd", "Answers", fmt_int(d.ann.n_answers)),
                  ("crowd", "Workers", fmt_int(d.ann.n_workers)),
                  ("crowd", "Answers per item",
                   f"{d.ann.n_answers / max(d.ann.n_items, 1):,.1f}")]
    if d.soft is not None:
        facts.append(("crowd" if d.ann is not None else "labels", "Consensus method",
                      d.method or "given"))
    facts += ctx.facts
    rank = {"data": 0, "crowd": 1, "labels": 2, "model": 3}
    facts.sort(key=lambda f: rank[f[0]])  # stable: keeps the order within a group
    badges = [
        ("several annotators", d.ann is not None and d.ann.n_workers > 1),
        ("soft labels", d.soft is not None),
        ("given labels", d.labels_source == "given"),
        ("model predictions", d.pred is not None),
    ]
    return {
        "facts": [{"group": g, "label": a, "value": b} for g, a, b in facts],
        "badges": [{"name": n, "on": bool(on)} for n, on in badges],
        "description": description,
    }


def _created(created: Any) -> str:
    """The time stamp shown on the page: aware datetimes in UTC, naive ones as given."""
    if created is None:
        created = _dt.datetime.now(_dt.timezone.utc)
    if isinstance(created, _dt.datetime):
        if created.utcoffset() is not None:
            return created.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return created.strftime("%Y-%m-%d %H:%M")
    if isinstance(created, _dt.date):
        return created.isoformat()
    return svg.clean_text(created, 60)


def _render(page: dict[str, Any]) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("softlabels.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(**page)


def build_report(
    answers: Any = None,
    *,
    soft_labels: SoftLabels | None = None,
    labels: Any = None,
    pred_probs: Any = None,
    classes: Sequence[Any] | None = None,
    title: str | None = None,
    description: str | None = None,
    method: str = "dawid-skene",
    method_params: Mapping[str, Any] | None = None,
    item_col: str = "item",
    worker_col: str = "worker",
    label_col: str = "label",
    alpha: float = 0.1,
    n_bins: int = 10,
    max_rows: int = 15,
    random_state: int = 0,
    created: _dt.datetime | _dt.date | str | None = None,
) -> str:
    """Build the label-quality report as one self-contained HTML page.

    Crowd answers alone give the summary, provenance, class balance, annotator
    agreement, ambiguity and the items with the weakest consensus. Given labels with
    out-of-sample predicted probabilities add the top label issues, a reliability
    diagram with calibration numbers and a split-conformal summary.

    Parameters
    ----------
    answers : DataFrame, path or Annotations, optional
        Crowd answers in long format (``item, worker, label``), as accepted by
        :func:`softlabels.core.annotations.as_annotations`.
    soft_labels : SoftLabels, optional
        Consensus soft labels. When ``answers`` are given too, these are used instead
        of fitting ``method`` (their items must cover the answers' items).
    labels : array-like or Series, optional
        One given label per item: class values (or indices 0..K-1 when the classes
        have no names). A Series indexed by item id is aligned to the items.
    pred_probs : array-like or SoftLabels, optional
        Out-of-sample predicted probabilities ``(n_items, n_classes)``, rows in the
        item order of the soft labels (a SoftLabels is aligned by item id). Without
        ``labels`` the model is audited against the consensus.
    classes : sequence, optional
        The class list, in order (for answers: the declared classes).
    title, description : str, optional
        Page title, and a free-text description from the data owner (shown apart
        from the computed statistics).
    method : str, default="dawid-skene"
        Crowd model fitted to the answers (:func:`softlabels.list_methods`).
    method_params : mapping, optional
        Parameters of that method.
    item_col, worker_col, label_col : str
        Column names of ``answers``.
    alpha : float, default=0.1
        Miscoverage level of the conformal prediction sets (target coverage 1 - alpha).
    n_bins : int, default=10
        Confidence bins of the reliability diagram.
    max_rows : int, default=15
        Longest table; the page says how many rows were left out.
    random_state : int, default=0
        Seed of the calibration/test split used for the conformal summary.
    created : datetime, date or str, optional
        Time stamp shown on the page (default: now, UTC).

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> from softlabels.datasets import load_adult3
    >>> html = build_report(load_adult3(), title="Adult content ratings")
    >>> html.startswith("<!DOCTYPE html>") and "Class balance" in html
    True
    """
    alpha = check_float(alpha, "alpha", _OWNER, low=0.0, high=1.0, low_open=True)
    if alpha >= 1.0:
        from softlabels.core.errors import InvalidParameterError

        raise InvalidParameterError(f"The 'alpha' parameter of {_OWNER} must be < 1; got {alpha}.")
    n_bins = check_int(n_bins, "n_bins", _OWNER, low=2)
    max_rows = check_int(max_rows, "max_rows", _OWNER, low=1)
    random_state = check_int(random_state, "random_state", _OWNER, low=0)
    data = resolve_inputs(
        answers,
        soft_labels=soft_labels,
        labels=labels,
        pred_probs=pred_probs,
        classes=classes,
        method=method,
        method_params=method_params,
        read_options={"item_col": item_col, "worker_col": worker_col, "label_col": label_col},
    )
    ctx = _Context(data, max_rows=max_rows, alpha=alpha, n_bins=n_bins,
                   random_state=random_state)
    ctx.results["created"] = _created(created)
    sections: list[Section] = []
    missing: list[dict[str, str]] = []
    for _sid, stitle, builder, needs, reason in _SECTIONS:
        if needs(data):
            try:
                sections.append(builder(ctx))
            except _Skip as skip:
                missing.append({"title": stitle, "reason": str(skip)})
        elif reason:
            missing.append({"title": stitle, "reason": reason})
    order = {"critical": 0, "warn": 1, "info": 2}
    ctx.alerts.sort(key=lambda a: order[a.severity])
    page = {
        "title": svg.clean_text(title) if title else "Label report",
        "subtitle": data.source,
        "csp": CONTENT_SECURITY_POLICY,
        "version": __version__,
        "created": ctx.results["created"],
        "alerts": ctx.alerts,
        "sections": sections,
        "missing": missing,
        **_summary(ctx, svg.clean_text(description) if description else None),
    }
    return _render(page)


def write_report(path: str | os.PathLike[str], answers: Any = None, **kwargs: Any) -> Path:
    """Build the report (same arguments as :func:`build_report`) and write it to
    ``path`` atomically: on any error no file is left and an existing file is kept.

    Returns
    -------
    Path
        The path written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from softlabels.datasets import load_adult3
    >>> out = write_report(pathlib.Path(tempfile.mkdtemp()) / "report.html",
    ...                    answers=load_adult3())
    >>> out.read_text(encoding="utf-8").count("<script")
    0
    """
    html = build_report(answers, **kwargs)
    target = Path(path)
    with atomic_path(target) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(html)
    return target
