"""The label-quality report: one self-contained HTML page for a labelled data set.

The page follows the Dataset Nutrition Label (Holland et al. 2018, arXiv 1805.03677;
second generation: Chmielinski et al. 2022, arXiv 2201.03954): a fixed-format "label
facts" panel and automatically computed alerts up front, then one module per aspect
of label quality (provenance, class balance, annotators and agreement, labeller
quality and label risk, ambiguity, weakest consensus, representative examples, label
issues, calibration, conformal prediction sets). Owner-supplied context (the
``description``) is kept apart from the computed statistics, and no badge is filled
in that would need a human to attest it.

Each module is an audit check: one file under :mod:`softlabels.report.sections`,
registered with :func:`softlabels.report.checks.register_check`; the page shows them in
their registered order.

The page contains no script and carries a Content-Security-Policy that forbids
scripts, network requests and external resources, so it is safe to open even when it
shows untrusted names; every user string is escaped as well.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from softlabels.core.validation import check_float, check_int
from softlabels._version import __version__
from softlabels.core.defaults import DEFAULT_CROWD_METHOD
from softlabels.core.io import atomic_path
from softlabels.core.soft import SoftLabels
from softlabels.report import svg
from softlabels.report.checks import registered_checks
from softlabels.report.data import fmt_int, resolve_inputs
from softlabels.report.page import Context, Section, Skip

__all__ = ["build_report", "write_report", "CONTENT_SECURITY_POLICY"]

#: The page's policy: nothing may run or load; only inline styles and data: images.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)
_OWNER = "build_report"


# ---------------------------------------------------------------------- summary
def _summary(ctx: Context, description: str | None) -> dict[str, Any]:
    d = ctx.data
    facts = [("data", "Items", fmt_int(d.n_items)), ("data", "Classes", fmt_int(len(d.classes)))]
    if d.ann is not None:
        facts += [("crowd", "Answers", fmt_int(d.ann.n_answers)),
                  ("crowd", "Workers", fmt_int(d.ann.n_workers)),
                  ("crowd", "Answers per item",
                   f"{d.ann.n_answers / max(d.ann.n_items, 1):,.1f}")]
    if d.soft is not None:
        from softlabels.infer.registry import spec_of

        method = spec_of(d.model) if d.model is not None else d.method
        facts.append(("crowd" if d.ann is not None else "labels", "Consensus method",
                      svg.clean_text(method) if method else "given"))
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
    model: Any = None,
    labels: Any = None,
    pred_probs: Any = None,
    gold: Any = None,
    classes: Sequence[Any] | None = None,
    title: str | None = None,
    description: str | None = None,
    method: str = DEFAULT_CROWD_METHOD,
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
    agreement, the label risk of each item, ambiguity, the items with the weakest
    consensus and representative examples of each class; ``gold`` adds each
    labeller's quality. Given labels with
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
    model : fitted crowd model, optional
        A crowd model already fitted to the answers (e.g. by :func:`softlabels.aggregate`
        with ``return_model=True`` or ``create_source(...).fit``): its soft labels and
        worker skills are used instead of fitting ``method`` again. Without ``answers``,
        the answers it was fitted on; with them, they must be those answers. Not
        together with ``soft_labels``.
    labels : array-like or Series, optional
        One given label per item: class values (or indices 0..K-1 when the classes
        have no names). A Series is matched on its index, item ids (the default
        ``0 .. n-1`` included), to the items (those of the soft labels, else those of
        a SoftLabels of predictions); with only an array of predictions it is read in
        row order.
    pred_probs : array-like or SoftLabels, optional
        Out-of-sample predicted probabilities ``(n_items, n_classes)``, rows in the
        item order of the soft labels (a SoftLabels is aligned by item id). Without
        ``labels`` the model is audited against the consensus.
    gold : mapping, Series or DataFrame, optional
        Known true labels of some answered items (item id -> label, or ``item``,
        ``label`` columns), e.g. hidden quality-control tasks. Needs ``answers``: the
        labeller-quality section scores each labeller on them and weighs the label
        risk by that quality (Estes et al. 2024).
    classes : sequence, optional
        The class list, in order (for answers: the declared classes).
    title, description : str, optional
        Page title, and a free-text description from the data owner (shown apart
        from the computed statistics).
    method : str, default=DEFAULT_CROWD_METHOD ("stacked")
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
        model=model,
        labels=labels,
        pred_probs=pred_probs,
        classes=classes,
        method=method,
        method_params=method_params,
        read_options={"item_col": item_col, "worker_col": worker_col, "label_col": label_col},
        gold=gold,
    )
    ctx = Context(data, max_rows=max_rows, alpha=alpha, n_bins=n_bins,
                  random_state=random_state)
    ctx.results["created"] = _created(created)
    sections: list[Section] = []
    missing: list[dict[str, str]] = []
    for check in registered_checks():
        if check.needs(data):
            try:
                lead, blocks = check.build(ctx)
            except Skip as skip:
                missing.append({"title": check.title, "reason": str(skip)})
            else:
                sections.append(Section(check.name, check.title, lead, blocks))
        elif check.reason:
            missing.append({"title": check.title, "reason": check.reason})
    order = {"critical": 0, "warn": 1, "info": 2}
    ctx.alerts.sort(key=lambda a: order[a.severity])
    page = {
        "title": svg.clean_text(title) if title else "Label report",
        "subtitle": svg.clean_text(data.source),
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

    Parameters
    ----------
    path : str or path
        The HTML file to write.
    answers : optional
        As for :func:`build_report`.
    **kwargs
        The other arguments of :func:`build_report`.

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
