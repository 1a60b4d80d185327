"""`softlabels audit`, `softlabels conformal` and `softlabels calibrate`."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from softlabels.cli._common import (
    CLIError,
    check_options,
    check_output,
    check_soft_output,
    encoding_option,
    format_option,
    option_error,
    out,
    save_soft_labels,
    sep_option,
    text_options,
)
from softlabels.cli.feedback import phase, read_progress
from softlabels.core.defaults import DEFAULT_CROWD_METHOD, weak_consensus
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.io import OutputError, all_or_nothing, write_frame
from softlabels.core.review import label_studio_tasks, write_label_studio_tasks
from softlabels.core.soft import SoftLabels
from softlabels.core.tables import (
    align_items,
    class_order,
    match_classes,
    match_labels,
    read_labels,
    read_probs,
)

_ARRAY_HELP = ".npy, .csv or .parquet"


def _class_names(probs: Any, n_classes: int) -> list[str]:
    """Column names of the classes: a softlabels table's classes, else 0..K-1."""
    classes = getattr(probs, "classes", None)
    return [str(c) for c in classes] if classes is not None else [str(k) for k in range(n_classes)]


def _item_ids(probs: Any, n_items: int) -> np.ndarray:
    """The items of an output table, in input order: a softlabels table's ids, else the
    row numbers of the matrix (0, 1, ...)."""
    ids = getattr(probs, "item_ids", None)
    return np.asarray(ids) if ids is not None else np.arange(n_items)


def _matrix(probs: Any) -> np.ndarray:
    """The probability matrix of a softlabels table or of a plain matrix."""
    return np.asarray(getattr(probs, "probs", probs))


def _same_items(probs: Any, probs_path: Path, other: Any, other_path: Path) -> Any:
    """``other`` checked against ``probs``: the same number of rows, with two softlabels
    tables the same item ids in the same order, and the same classes (returned in the
    order of ``probs``)."""
    names = {"name": str(other_path), "reference_name": str(probs_path)}
    other = align_items(probs, other, **names)
    return match_classes(probs, other, **names)


def _check_outputs(output: Optional[Path], *inputs: Optional[Path]) -> None:
    if output is not None:
        if output.suffix.lower() not in (".csv", ".parquet", ".pq"):  # name what is written
            raise InputError(f"{output}: write .csv or .parquet.")
        check_output(output, inputs=inputs)


def _write_review_queue(table: pd.DataFrame, crowd: Any, path: Path) -> int:
    """The flagged items, most suspicious first, then the other items of weak crowd
    consensus, as Label Studio tasks with the suggested label pre-filled."""
    flagged = table[table["is_issue"]].sort_values("score", kind="stable")
    queue = [flagged]
    if crowd is not None:
        probs = _matrix(crowd)
        rows = np.flatnonzero(weak_consensus(probs) & ~table["is_issue"].to_numpy())
        weak = table.iloc[rows]
        top = probs.max(axis=1)[rows]
        queue.append(weak.assign(reason=[f"weak crowd consensus (top probability {t:.2f})"
                                         for t in top]))
    rows = pd.concat(queue)
    ids = rows["item"] if "item" in rows.columns else rows["index"]
    tasks = label_studio_tasks(ids.tolist(), rows["suggested"].tolist(),
                               given=rows["given"].tolist(), score=rows["score"].tolist(),
                               reason=rows["reason"].tolist(), model_version="softlabels audit")
    write_label_studio_tasks(tasks, path)
    return len(tasks)


def _metric_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, value)
    return table


def audit(
    labels: Path = typer.Option(..., "--labels", help=f"Given class indices, one per item: {_ARRAY_HELP}."),
    pred_probs: Path = typer.Option(
        ..., "--pred-probs", help=f"Out-of-sample predicted probabilities: {_ARRAY_HELP}."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="The issues table: .csv or .parquet."),
    soft_labels: Optional[Path] = typer.Option(
        None, "--soft-labels", help="Crowd soft labels for the same items (a softlabels table, "
        "its .jsonl, or a matrix)."
    ),
    filter_by: str = typer.Option(
        "posterior_count",
        help="Which items to flag. posterior_count (default): the items most likely "
        "mislabelled, as many as the estimated number of label errors; posterior (the "
        "previous default): those more likely wrong than right, fewer and more precise; "
        "or prune_by_noise_rate, prune_by_class, both, confident_learning, "
        "predicted_neq_given (see softlabels.audit.find_label_issues).",
    ),
    score: str = typer.Option(
        "self_confidence",
        help="Ranking score: self_confidence, normalized_margin, confidence_weighted_entropy "
        "or posterior.",
    ),
    top: int = typer.Option(10, help="Flagged items shown on screen."),
    review_queue: Optional[Path] = typer.Option(
        None, "--review-queue", help="Label Studio tasks out (.json): the flagged items and, "
        "with --soft-labels, those of weak crowd consensus, the suggested label pre-filled.",
    ),
    answers: Optional[Path] = typer.Option(
        None, "--answers", help="Crowd answers on the same items (columns item, worker, "
        "label, or see --item-col ...): adds each item's label risk. Rows of --labels follow "
        "the answers' items in order of first appearance, or the item ids of a softlabels "
        "--pred-probs table.",
    ),
    gold: Optional[Path] = typer.Option(
        None, "--gold", help="Known labels of some answered items (item, label), e.g. "
        "quality-control tasks: scores each labeller and weighs the label risk by quality.",
    ),
    item_col: str = typer.Option("item", help="Column of --answers (and --gold) with item ids."),
    worker_col: str = typer.Option("worker", help="Column of --answers with labeller ids."),
    label_col: str = typer.Option(
        "label", help="Column of --answers (and --gold) with the labels."
    ),
) -> None:
    """Find likely label errors (confident learning), optionally helped by crowd soft labels.

    Inputs: given labels and out-of-sample predicted probabilities.

    Writes one row per item, in input order: index, given, suggested, score, is_issue,
    reason, and the evidence behind it. A lower score means more likely mislabelled.
    With --answers, label_risk and n_labellers too: the Bayes risk of the crowd's
    consensus (Estes et al. 2024; above 0.34 is at risk) and how many labellers it
    weighs; --gold adds a line on labeller quality.

    Example:

        softlabels audit --labels y.npy --pred-probs p.npy -o issues.csv
    """
    from softlabels.audit.issues import audit_labels

    if gold is not None and answers is None:
        raise CLIError("--gold needs --answers: it scores the labellers who gave them.")
    _check_outputs(output, labels, pred_probs, soft_labels, answers, gold)
    if review_queue is not None:
        check_output(review_queue, inputs=(labels, pred_probs, soft_labels, answers, gold),
                     suffixes=(".json",))
        if review_queue.resolve() == output.resolve():
            raise CLIError("--review-queue and --output must be different files.")
    p = read_probs(pred_probs, name="predicted probabilities")
    y = match_labels(read_labels(labels, name="labels"), p, probs_name=str(pred_probs), path=labels)
    crowd = None
    if soft_labels is not None:
        crowd = read_probs(soft_labels, name="soft labels")
        crowd = _same_items(p, pred_probs, crowd, soft_labels)
    with phase("finding label issues"):
        try:
            table = audit_labels(y, p, crowd, filter_by=filter_by, score=score)
        except InvalidParameterError as exc:  # --filter-by, --score
            raise option_error(exc) from None
    lines: list[str] = []
    if answers is not None:
        columns = {"item_col": item_col, "worker_col": worker_col, "label_col": label_col}
        with phase("scoring the label risk"):
            lines = _add_label_risk(table, p, labels, answers, gold, columns)
    with all_or_nothing():  # the issues table and the review queue, or neither
        write_frame(table, output)
        n_queued = None if review_queue is None else _write_review_queue(table, crowd, review_queue)
    flagged = table[table["is_issue"]].sort_values("score")
    shown = Table(
        title=f"softlabels audit: {len(flagged):,} of {len(table):,} items flagged",
        title_justify="left",
    )
    for col in ("index", "given", "suggested", "score", "reason"):
        shown.add_column(col)
    for row in flagged.head(max(top, 0)).itertuples(index=False):
        shown.add_row(str(row.index), str(row.given), str(row.suggested), f"{row.score:.3g}", str(row.reason))
    out.print(shown)
    for line in lines:
        out.print(line, markup=False)
    out.print(f"issues table -> {output}")
    if n_queued is not None:
        out.print(f"review queue -> {review_queue} ({n_queued:,} Label Studio tasks)")


def _add_label_risk(table: pd.DataFrame, probs: Any, labels: Path, answers: Path,
                    gold: Optional[Path], columns: dict[str, str]) -> list[str]:
    """Add ``label_risk`` and ``n_labellers`` to the issues table (Estes et al. 2024),
    the consensus weighted by labeller quality when gold labels are given; return the
    summary lines to print."""
    from softlabels.audit.agreement import bayesian_label_risk, labeller_quality
    from softlabels.cli.crowd import check_gold_file, read_gold
    from softlabels.core.formats import read_annotations

    ann = read_annotations(answers, **columns)
    ids = getattr(probs, "item_ids", None)
    if ids is not None:
        rows = pd.Index(ann.item_ids).get_indexer(np.asarray(ids))
        if (rows < 0).any():
            rows = pd.Index([str(i) for i in ann.item_ids]).get_indexer(
                [str(i) for i in np.asarray(ids)])
        if (rows < 0).any():
            first = np.asarray(ids)[np.flatnonzero(rows < 0)[0]]
            raise InputError(f"{answers}: no answers on item {first!r} of the predicted "
                             f"probabilities ({int((rows < 0).sum())} items have none).")
    elif len(table) != ann.n_items:
        raise InputError(
            f"{labels}: {len(table)} items but {answers} has answers on {ann.n_items}; "
            "the rows must be the answers' items in order of first appearance."
        )
    else:
        rows = np.arange(ann.n_items)
    quality = None
    lines = []
    if gold is not None:
        frame = read_gold(gold, columns["label_col"], columns["item_col"])
        check_gold_file(ann, frame, gold, answers)  # type: ignore[arg-type]
        quality = labeller_quality(ann, frame)
        scored = np.flatnonzero(quality.n_gold > 0)
        n_gold = int((ann.gold_codes(frame) >= 0).sum())
        order = scored[np.lexsort((-quality.n_gold[scored], quality.qscore[scored]))]
        lowest = ", ".join(f"{quality.worker_ids[i]} {quality.qscore[i]:.2f} "
                           f"({quality.n_gold[i]} gold)" for i in order[:3])
        median = f"{np.median(quality.qscore[scored]):.2f}" if scored.size else "-"
        lines.append(f"labeller quality (accuracy on {n_gold:,} gold items): {scored.size:,} "
                     f"of {ann.n_workers:,} labellers scored, median {median}"
                     + (f"; lowest: {lowest}" if lowest else ""))
    risk = bayesian_label_risk(ann, quality, unknown="mean")
    table["label_risk"] = risk.risk[rows]
    table["n_labellers"] = risk.n_labellers[rows]
    r = risk.risk[rows]
    ok = np.isfinite(r)
    weights = "quality-weighted" if quality is not None else "equal weights"
    at_risk = float(np.mean(r[ok] > risk.threshold)) if ok.any() else float("nan")
    lines.append(f"label risk ({weights}): mean {np.mean(r[ok]) if ok.any() else float('nan'):.3f}, "
                 f"{at_risk:.1%} of {int(ok.sum()):,} items above {risk.threshold:g}")
    return lines


def conformal(
    calib_probs: Path = typer.Option(..., "--calib-probs", help=f"Calibration probabilities: {_ARRAY_HELP}."),
    calib_labels: Path = typer.Option(..., "--calib-labels", help=f"Calibration class indices: {_ARRAY_HELP}."),
    probs: Path = typer.Option(..., "--probs", help=f"Probabilities of the items to predict: {_ARRAY_HELP}."),
    output: Path = typer.Option(..., "--output", "-o", help="Prediction sets out: .csv or .parquet."),
    alpha: float = typer.Option(0.1, help="Miscoverage: sets hold the truth with probability >= 1 - alpha."),
    score: str = typer.Option("lac", help="Non-conformity score: lac, aps or raps."),
    randomized: bool = typer.Option(False, "--randomized", help="Randomised APS/RAPS (coverage close to 1 - alpha)."),
    mondrian: bool = typer.Option(False, "--mondrian", help="One threshold per class (class-conditional coverage)."),
    seed: Optional[int] = typer.Option(None, min=0, help="Random seed (randomised scores)."),
) -> None:
    """Split-conformal prediction sets from held-out calibration probabilities.

    Writes one row per item of --probs, in its order: the item (its id in a softlabels
    table, else its row number from 0), then one 0/1 column per class (1: in the set).

    Too few calibration items for alpha (under ceil(1/alpha) - 1, per class with --mondrian):
    the threshold is infinite and the sets hold every class (that class); a warning says so.

    Example:

        softlabels conformal --calib-probs cal.npy --calib-labels cal_y.npy --probs test.npy --alpha 0.1 --score aps --randomized -o sets.csv
    """
    from softlabels.audit.conformal import RAPS_TUNE_FRACTION, SplitConformalClassifier, mean_set_size

    model = check_options(SplitConformalClassifier(
        score=score, alpha=alpha, randomized=randomized, mondrian=mondrian, random_state=seed
    ), flags={"random_state": "--seed"})
    _check_outputs(output, calib_probs, calib_labels, probs)
    cal_p = read_probs(calib_probs, name="calibration probabilities")
    cal_y = read_labels(calib_labels, name="calibration labels")
    test_p = read_probs(probs, name="probabilities")
    cal_y = match_labels(cal_y, cal_p, name="calib_labels", probs_name=str(calib_probs),
                         path=calib_labels)
    test_p = match_classes(cal_p, test_p, name=str(probs), reference_name=str(calib_probs))
    if score == "raps" and math.ceil(RAPS_TUNE_FRACTION * len(cal_y)) >= len(cal_y):
        raise InputError(
            f"{calib_labels}: --score raps holds out calibration items to tune its penalty "
            f"and needs at least 2 of them; got {len(cal_y)}. Use --score aps or lac."
        )
    model.fit(cal_p, cal_y)
    _warn_infinite_thresholds(model, alpha, classes=getattr(cal_p, "classes", None))
    sets = model.predict_sets(test_p)
    frame = pd.DataFrame(sets.astype(np.int8), columns=_class_names(test_p, sets.shape[1]))
    frame.insert(0, "item", _item_ids(test_p, len(sets)))
    write_frame(frame, output)
    sizes = sets.sum(axis=1)
    threshold = getattr(model, "threshold_", None)
    rows = [
        ("calibration items", f"{len(cal_y):,}"),
        ("items", f"{len(sets):,}"),
        ("score", score + (" (randomised)" if randomized else "") + (", Mondrian" if mondrian else "")),
        ("alpha", f"{alpha:g} (target coverage {1 - alpha:.1%})"),
    ]
    if threshold is not None:
        rows.append(("threshold", f"{float(threshold):.4g}"))
    rows += [
        ("mean set size", f"{mean_set_size(sets):.3f}"),
        ("singletons / empty", f"{np.mean(sizes == 1):.1%} / {np.mean(sizes == 0):.1%}"),
    ]
    out.print(_metric_table("softlabels conformal", rows))
    out.print(f"prediction sets -> {output}")


def _warn_infinite_thresholds(model: Any, alpha: float, classes: Any = None) -> None:
    """Say when calibration is too small for ``alpha``: an infinite threshold."""
    need = math.ceil(1 / alpha) - 1
    thresholds = getattr(model, "thresholds_", None)
    if thresholds is None:
        if np.isposinf(model.threshold_):
            tuned = getattr(model, "n_tune_", 0)
            used = f"{model.n_calib_} calibration items" + (
                f" (of {model.n_calib_ + tuned}: {tuned} went to choosing k_reg and lam)"
                if tuned else ""
            )
            warnings.warn(
                f"{used} are too few for alpha={alpha:g} (at least {need} needed): the "
                "threshold is infinite and every set holds every class.",
                UserWarning,
                stacklevel=2,
            )
        return
    inf = np.flatnonzero(np.isposinf(thresholds))
    if inf.size:
        first = inf[0] if classes is None else classes[inf[0]]
        warnings.warn(
            f"{inf.size} of {len(thresholds)} classes have fewer than {need} calibration "
            f"items for alpha={alpha:g} (first: class {first}); they get an infinite "
            "threshold and enter every set.",
            UserWarning,
            stacklevel=2,
        )


def calibrate(
    probs: Path = typer.Option(..., "--probs", help=f"Predicted probabilities: {_ARRAY_HELP}."),
    labels: Path = typer.Option(..., "--labels", help=f"True class indices: {_ARRAY_HELP}."),
    calib_probs: Optional[Path] = typer.Option(
        None, "--calib-probs", help="Held-out probabilities to fit the temperature on (default: a random half of --probs)."
    ),
    calib_labels: Optional[Path] = typer.Option(None, "--calib-labels", help="Their class indices."),
    soft_labels: Optional[Path] = typer.Option(
        None, "--soft-labels", help="Human soft labels for KL / cross-entropy (softlabels table or matrix)."
    ),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o",
        help="Temperature-scaled probabilities of --probs, as a soft-label table (item, label, "
        "confidence, classes): .csv, .parquet or .jsonl; hf:FOLDER saves a Hugging Face dataset.",
    ),
    n_bins: int = typer.Option(15, help="Bins for the ECEs."),
    seed: int = typer.Option(0, min=0, help="Seed of the random half when no --calib-probs."),
) -> None:
    """Calibration metrics (ECE, classwise ECE, Brier, NLL) and temperature scaling.

    The temperature is fitted on --calib-probs/--calib-labels; without them, on a random
    half of --probs, and the metrics before and after are reported on the other half.

    Example:

        softlabels calibrate --probs test.npy --labels test_y.npy --calib-probs cal.npy --calib-labels cal_y.npy -o calibrated.csv
    """
    from softlabels.audit.calibration import TemperatureScaling, calibration_report

    if (calib_probs is None) != (calib_labels is None):
        raise CLIError("--calib-probs and --calib-labels go together.")
    if output is not None:
        check_soft_output(output, inputs=(probs, labels, calib_probs, calib_labels, soft_labels))
    p = read_probs(probs, name="probabilities")
    y = match_labels(read_labels(labels, name="labels"), p, probs_name=str(probs), path=labels)
    p_arr = _matrix(p)
    human = None
    if soft_labels is not None:
        human = read_probs(soft_labels, name="soft labels")
        human = _same_items(p, probs, human, soft_labels)
    scaler = TemperatureScaling(inputs="probs")
    if calib_probs is not None:
        cp = read_probs(calib_probs, name="calibration probabilities")
        cy = read_labels(calib_labels, name="calibration labels")
        cy = match_labels(cy, cp, name="calib_labels", probs_name=str(calib_probs),
                          path=calib_labels)
        aligned = match_classes(p, cp, name=str(calib_probs), reference_name=str(probs))
        if aligned is not cp:  # columns matched by name: the labels follow their class
            order = class_order(cp.classes, p.classes)  # type: ignore[union-attr]
            cy = np.argsort(order)[cy]
            cp = aligned
        scaler.fit(cp, cy)
        eval_rows = np.arange(len(y))
        where = "on --probs"
    else:
        if len(y) < 4:
            raise InputError(f"{probs}: need at least 4 items to fit on one half and test on the other.")
        order = np.random.default_rng(seed).permutation(len(y))
        fit_rows, eval_rows = np.sort(order[: len(y) // 2]), np.sort(order[len(y) // 2 :])
        scaler.fit(p_arr[fit_rows], y[fit_rows])
        where = f"on a held-out half ({len(eval_rows):,} items; seed {seed})"
    scaled = scaler.transform(p_arr)
    h = None if human is None else _matrix(human)[eval_rows]
    before = calibration_report(p_arr[eval_rows], y[eval_rows], n_bins=n_bins, soft_labels=h)
    after = calibration_report(scaled[eval_rows], y[eval_rows], n_bins=n_bins, soft_labels=h)
    table = Table(title=f"softlabels calibrate: {where}", title_justify="left")
    for col in ("metric", "as given", f"T = {scaler.temperature_:.3f}"):
        table.add_column(col)
    for key, value in before.items():
        if isinstance(value, float):
            table.add_row(key, f"{value:.4f}", f"{after[key]:.4f}")
    out.print(table)
    if output is not None:
        calibrated = SoftLabels(
            scaled, classes=_class_names(p, p_arr.shape[1]), item_ids=_item_ids(p, len(p_arr)),
            provenance={"method": "temperature-scaling", "temperature": scaler.temperature_},
        )
        with all_or_nothing():  # Parquet keeps the temperature in its metadata
            save_soft_labels(calibrated, output)
        out.print(f"calibrated probabilities -> {output}")


def report(
    output: Path = typer.Option(..., "--output", "-o", help="The HTML file to write."),
    answers: Optional[Path] = typer.Option(
        None, "--answers", help="Crowd answers in long format: .csv, .tsv, .parquet or .jsonl."
    ),
    labels: Optional[Path] = typer.Option(None, "--labels", help=f"Given class indices: {_ARRAY_HELP}."),
    pred_probs: Optional[Path] = typer.Option(
        None, "--pred-probs", help=f"Out-of-sample predicted probabilities: {_ARRAY_HELP}."
    ),
    soft_labels: Optional[Path] = typer.Option(
        None, "--soft-labels", help="Consensus soft labels (a softlabels table) instead of fitting --method."
    ),
    method: str = typer.Option(DEFAULT_CROWD_METHOD, "--method", "-m", help="Crowd model for the consensus."),
    gold: Optional[Path] = typer.Option(
        None, "--gold", help="Known labels of some answered items (item, label): adds "
        "labeller quality, and weighs the label risk by it.",
    ),
    title: Optional[str] = typer.Option(None, help="Title of the page."),
    item_col: str = typer.Option("item", help="Column with item ids."),
    worker_col: str = typer.Option("worker", help="Column with worker ids."),
    label_col: str = typer.Option("label", help="Column with the answers."),
    alpha: float = typer.Option(0.1, help="Miscoverage of the conformal summary."),
    seed: int = typer.Option(0, min=0, help="Seed of the conformal split."),
    sep: Optional[str] = sep_option(),
    encoding: Optional[str] = encoding_option(),
    format: Optional[str] = format_option(),
) -> None:
    """Write one self-contained HTML page about a labelled data set.

    Sections: label facts and alerts, provenance, class balance, annotators and
    agreement, labeller quality and label risk, ambiguity, weakest consensus,
    representative examples, label issues, calibration, conformal prediction sets.

    Crowd answers alone are enough; given labels and predicted probabilities add the
    model sections. The page runs no scripts and fetches nothing.

    Example:

        softlabels report --answers answers.csv -o report.html
        softlabels report --labels y.npy --pred-probs p.npy -o report.html
    """
    from softlabels.infer.registry import METHODS, parse_spec
    from softlabels.report import write_report

    if answers is None and soft_labels is None and pred_probs is None:
        raise CLIError("give --answers, --soft-labels or --pred-probs (with --labels).")
    if labels is not None and pred_probs is None and answers is None:
        raise CLIError("--labels needs --pred-probs or --answers to compare with.")
    if gold is not None and answers is None:
        raise CLIError("--gold needs --answers: it scores the labellers who gave them.")
    METHODS.get(parse_spec(method)[0])  # unknown names fail before any reading
    text = text_options(sep, encoding)
    if not 0.0 < alpha < 1.0:
        raise CLIError(f"--alpha must be > 0 and < 1; got {alpha}.")
    if output.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{output}: the report is HTML; name it .html.")
    check_output(output, suffixes=(".html", ".htm"))  # a folder that exists and can be written
    ans = None
    if answers is not None:
        from softlabels.core.formats import read_annotations

        with read_progress(answers) as progress:
            ans = read_annotations(answers, format, item_col=item_col, worker_col=worker_col,
                                   label_col=label_col, progress=progress, **text)
    gold_frame = None
    if gold is not None and ans is not None:
        from softlabels.cli.crowd import check_gold_file, read_gold

        gold_frame = read_gold(gold, label_col, item_col, **text)
        check_gold_file(ans, gold_frame, gold, answers)  # type: ignore[arg-type]
    soft = None
    if soft_labels is not None:
        soft = read_probs(soft_labels, name="soft labels")
        if not hasattr(soft, "classes"):
            from softlabels.core.soft import SoftLabels

            soft = SoftLabels(soft, classes=[str(k) for k in range(soft.shape[1])])
    probs = None if pred_probs is None else read_probs(pred_probs, name="predicted probabilities")
    given = None if labels is None else read_labels(labels, name="labels")
    if given is not None and probs is not None:
        given = match_labels(given, probs, probs_name=str(pred_probs), path=labels)
    elif given is not None and ans is not None and len(given) != ans.n_items:
        raise InputError(f"{labels}: {len(given)} labels but {answers} has {ans.n_items} items.")
    files = {"answers": answers, "soft_labels": soft_labels, "labels": labels,
             "pred_probs": pred_probs, "gold": gold}
    try:
        with phase("building the report"):
            path = write_report(
                output,
                ans,
                soft_labels=soft,
                labels=given,
                pred_probs=probs,
                gold=gold_frame,
                title=title,
                method=method,
                alpha=alpha,
                random_state=seed,
            )
    except OutputError:  # the report itself could not be written: it names the report
        raise
    except InputError as err:
        raise InputError(_name_input_files(str(err), files)) from None
    out.print(f"report -> {path}")


def _name_input_files(message: str, files: dict[str, Optional[Path]]) -> str:
    """A library message about ``labels``, ``pred_probs``, ... with the option and file
    named instead; a message naming none of them gets the input files in front."""
    named = message
    for arg, path in files.items():
        if path is not None:
            option = "--" + arg.replace("_", "-")
            named = re.sub(rf"(?<![\w'-]){arg}(?![\w'])", f"{option} ({path})", named, count=1)
    if named == message:
        given = ", ".join(str(p) for p in files.values() if p is not None)
        named = f"{given}: {message}"
    return named
