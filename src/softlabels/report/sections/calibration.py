"""Calibration: whether the predicted probabilities can be read as confidences."""

from __future__ import annotations

from typing import Any

import numpy as np

from softlabels.report import svg
from softlabels.report.checks import NEEDS_MODEL, has_model, register_check
from softlabels.report.data import fmt_num, fmt_pct
from softlabels.report.page import Alert, Block, Context, columns, figure, metrics

#: Calibration numbers below this are float noise (probabilities are clipped by 2.2e-16
#: before binning and logs): shown as 0, not as '1.2e-16' (tiny numbers keep two digits).
_NOISE = 1e-12


def _num(x: float) -> str:
    return fmt_num(0.0 if abs(x) < _NOISE else x)


def _targets(ctx: Context) -> tuple[Any, str]:
    """What the model is scored against: the given labels, else the consensus soft labels."""
    d = ctx.data
    if d.labels_source == "given":
        return d.labels, "the given labels"
    assert d.soft is not None
    return d.soft.probs, "the consensus soft labels"


@register_check("calibration", order=70, title="Calibration", needs=has_model, reason=NEEDS_MODEL)
def calibration_section(ctx: Context) -> tuple[str, list[Block]]:
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
    ctx.facts.append(("model", "Calibration error (ECE)", _num(ece)))
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
        ("ECE", _num(ece), f"{rep['n_bins']} equal-width bins"),
        ("ECE, equal-mass bins", _num(rep["ece_quantile"]), ""),
        ("class-wise ECE", _num(rep["classwise_ece"]), "mean over classes"),
        ("Brier score", _num(rep["brier"]), "lower is better"),
        ("log loss", _num(rep["nll"]), "negative log-likelihood, nats"),
    ]
    if rep["kl"] is not None:
        items.append(("KL(crowd ‖ model)", _num(rep["kl"]),
                      "distance to the crowd's soft labels, nats"))
    lead = (f"Whether the model's predicted probabilities can be read as confidences, "
            f"scored against {against}. Bars show the accuracy in each confidence bin; "
            "the shaded gap is the distance to the diagonal of perfect calibration.")
    numbers = metrics(*items)
    return (lead,
                   [columns([figure(chart, wide=False)], [numbers])])
