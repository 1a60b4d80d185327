"""Provenance: where the data and the labels came from."""

from __future__ import annotations



from softlabels._version import __version__
from softlabels.report import svg
from softlabels.report.checks import register_check
from softlabels.report.data import fmt_int
from softlabels.report.page import Block, Context


@register_check("provenance", order=10, title="Provenance")
def provenance_section(ctx: Context) -> tuple[str, list[Block]]:
    d = ctx.data
    rows: list[tuple[str, str]] = []
    if d.source:
        rows.append(("Data", d.source))
    if d.ann is not None:
        rows.append(("Answers", f"{fmt_int(d.ann.n_answers)} answers on {fmt_int(d.ann.n_items)} "
                                f"items by {fmt_int(d.ann.n_workers)} workers"))
    if d.soft is not None:
        how = ("fitted on the answers before the report" if d.model_given
               else "fitted here on the answers" if d.model is not None
               else "given (soft_labels)")
        method = svg.clean_text(d.method) if d.method else "unknown method"
        rows.append(("Consensus", f"{method} ({how})"))
        if d.method_params:  # read from a soft-labels file, as names are: cleaned
            rows.append(("Method parameters", ", ".join(
                svg.clean_text(f"{k}={v!r}") for k, v in sorted(d.method_params.items()))))
        made_with = d.soft.provenance.get("version")
        if made_with:
            rows.append(("Soft labels made with", f"softlabels {svg.clean_text(made_with)}"))
    if d.labels is not None:
        rows.append(("Labels", "given by the user" if d.labels_source == "given"
                     else "the consensus (no labels were given)"))
    if d.pred is not None:
        rows.append(("Predicted probabilities", f"given ({d.pred.shape[0]:,} \u00d7 "
                                                f"{d.pred.shape[1]}); assumed out-of-sample"))
    rows.append(("Classes", ", ".join(svg.clean_text(c, 40) for c in d.classes[:30])
                 + (f" (+{len(d.classes) - 30} more)" if len(d.classes) > 30 else "")))
    rows.append(("Report", f"softlabels {__version__}, {ctx.results['created']}"))
    return ("Where the data and the labels came from.",
                   [Block("keyvalue", {"rows": rows})])
