"""`softlabels aggregate`, `softlabels methods` and `softlabels quickstart`."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from softlabels.cli._common import (
    STDIO,
    CLIError,
    check_output,
    check_soft_output,
    encoding_option,
    format_option,
    err,
    hf_output,
    option_error,
    out,
    save_soft_labels,
    sep_option,
    stdin_as_file,
    text_options,
    warn_if_ratings,
    write_stdout_csv,
)
from softlabels.cli.feedback import FEEDBACK, iteration_progress, phase, read_progress
from softlabels.core.annotations import Annotations, check_header_once
from softlabels.core.defaults import (
    DEFAULT_CROWD_METHOD,
    DEFAULT_DASK_METHOD,
    WEAK_CONSENSUS_BELOW,
    weak_consensus,
    weakest_first,
)
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.formats import read_annotations
from softlabels.core.io import all_or_nothing, read_table, write_frame
from softlabels.infer.base import CrowdModel
from softlabels.api import check_gold, fit_method
from softlabels.infer.registry import create_method, list_methods, method_summary, spec_of


def method_params(
    method: str,
    *,
    seed: Optional[int],
    n_iter: Optional[int],
    tol: Optional[float],
    n_jobs: Optional[int] = None,
) -> dict[str, Any]:
    """The CLI's common options as parameters of ``method`` (an option the method does
    not have is an error naming it); the method and its parameters are checked here."""
    accepted = set(create_method(method).get_params())  # unknown names: suggestions
    params: dict[str, Any] = {}
    flags: dict[str, str] = {}
    for flag, key, value in (("--seed", "random_state", seed), ("--n-iter", "n_iter", n_iter),
                             ("--tol", "tol", tol), ("--n-jobs", "n_jobs", n_jobs)):
        if value is None:
            continue
        if key not in accepted:
            raise CLIError(f"{flag} does not apply to {method}: it has no {key!r} parameter.")
        params[key], flags[key] = value, flag
    model = create_method(method, **params)
    try:
        getattr(model, "_validate_params", lambda: None)()
    except InvalidParameterError as exc:  # named by its option when one gave it
        raise option_error(exc, flags, only=True) from None
    return params


def fit_with_progress(ann: Annotations, method: str, params: dict[str, Any], gold: Any) -> CrowdModel:
    """:func:`softlabels.fit_method` with a progress bar for the iterative methods."""
    total = create_method(method, **params).get_params().get("n_iter")
    with iteration_progress(f"fitting {method}", total) as callback:
        return fit_method(ann, method, gold=gold, callback=callback, **params)


def summary_table(model: CrowdModel, ann: Annotations, title: str) -> Table:
    soft = model.soft_labels_
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("answers", f"{ann.n_answers:,}")
    table.add_row("items", f"{ann.n_items:,}")
    table.add_row("workers", f"{ann.n_workers:,}")
    table.add_row("method", spec_of(model))
    if getattr(model, "n_iter", None) is not None:
        state = "converged" if model.converged_ else "stopped at n_iter"
        table.add_row("iterations", f"{model.n_iter_} ({state})")
    shares = pd.Series(soft.probs.sum(axis=0) / max(soft.n_items, 1), index=soft.classes)
    table.add_row(
        "class shares", ", ".join(f"{c}: {v:.1%}" for c, v in shares.items())
    )
    conf = soft.confidence()
    table.add_row(
        "confidence",
        f"median {np.median(conf):.3f}; {weak_consensus(soft.probs).mean():.1%} of items "
        f"below {WEAK_CONSENSUS_BELOW:.0%} (weak consensus)",
    )
    return table


def _either(name: str, alias: str) -> str:
    """``"an 'item'"`` or ``"an 'item' (or 'task')"``: the column names a gold file may use."""
    article = "an" if name[0] in "aeiou" else "a"
    return f"{article} {name!r}" if alias == name else f"{article} {name!r} (or {alias!r})"


def read_gold(
    path: Optional[Path], label_col: str, item_col: str = "item", **text: Any
) -> Optional[pd.DataFrame]:
    """The gold file: columns ``item, label``, or named like the answers' columns
    (``text``: ``sep`` and ``encoding`` of a text file)."""
    if path is None:
        return None
    frame = read_table(path, id_columns=("item", item_col, "label", label_col), **text)
    item = "item" if "item" in frame.columns else item_col
    if item not in frame.columns:
        raise InputError(f"{path}: the gold file needs {_either('item', item_col)} column.")
    col = "label" if "label" in frame.columns else label_col
    if col not in frame.columns:
        raise InputError(f"{path}: the gold file needs {_either('label', label_col)} column.")
    check_header_once(path, frame, {"item": item, "label": col}, **text)
    frame = frame.rename(columns={item: "item"})
    for name in ("item", col):
        missing = frame[name].isna().to_numpy()
        if missing.any():
            raise InputError(
                f"{path}: the {name!r} column is empty in data row {int(np.argmax(missing)) + 1}."
            )
    return frame[["item", col]].rename(columns={col: "label"})


def check_gold_file(ann: Annotations, gold: pd.DataFrame, path: Path, answers: Path) -> None:
    """:func:`softlabels.api.check_gold`, its errors naming the gold file."""
    try:
        check_gold(ann, gold)
    except InputError as exc:
        message = str(exc).removeprefix("gold: ").replace("the answers", str(answers))
        raise InputError(f"{path}: {message}") from None


def aggregate(
    answers: Path = typer.Argument(
        ..., help="Answers in long format: .csv, .tsv, .parquet or .jsonl; - reads CSV from stdin."
    ),
    method: Optional[str] = typer.Option(
        None, "--method", "-m", show_default=DEFAULT_CROWD_METHOD,
        help="See `softlabels methods`" + (
            "." if DEFAULT_DASK_METHOD == DEFAULT_CROWD_METHOD
            else f" (with --engine dask: {DEFAULT_DASK_METHOD})."),
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Soft labels out: .csv, .parquet or .jsonl; hf:FOLDER saves "
        "a Hugging Face dataset (needs the hf extra); - writes CSV to stdout."
    ),
    item_col: str = typer.Option("item", help="Column with item ids."),
    worker_col: str = typer.Option("worker", help="Column with worker ids."),
    label_col: str = typer.Option(
        "label",
        help="Column with the answers. Labels that differ only by surrounding spaces "
        "('cat', ' cat') are refused, not merged. Numeric ratings: see `softlabels ratings`.",
    ),
    classes: Optional[str] = typer.Option(
        None, help="Comma-separated class list, in order; other labels are an error."
    ),
    gold: Optional[Path] = typer.Option(None, help="Known labels: a table with item, label."),
    workers_out: Optional[Path] = typer.Option(None, help="Worker table out: .csv or .parquet."),
    duplicates: str = typer.Option(
        "keep", help="Repeated (item, worker) answers: keep, last or error."
    ),
    seed: Optional[int] = typer.Option(None, help="Random seed (methods with random_state)."),
    n_iter: Optional[int] = typer.Option(None, help="Maximum iterations (iterative methods)."),
    tol: Optional[float] = typer.Option(None, help="Convergence tolerance; 0 runs all n_iter."),
    n_jobs: Optional[int] = typer.Option(
        None, help="Threads for large inputs (dawid-skene); -1: all cores."
    ),
    engine: str = typer.Option(
        "numpy", help="numpy (in-process) or dask: Parquet answers (a file, folder or quoted "
        "glob) fitted on a Dask cluster, soft labels written as a Parquet folder."
    ),
    scheduler: Optional[str] = typer.Option(
        None, help="--engine dask: address of a running Dask scheduler."
    ),
    local_workers: Optional[int] = typer.Option(
        None, help="--engine dask: start a local cluster of this many worker processes."
    ),
    sep: Optional[str] = sep_option(),
    encoding: Optional[str] = encoding_option(),
    format: Optional[str] = format_option(),
) -> None:
    """Aggregate crowd answers into soft labels.

    Writes one row per item: item, label, confidence, support (answers), then one
    probability column per class.

    Example:

        softlabels aggregate answers.csv -m dawid-skene -o labels.parquet --workers-out workers.csv

        softlabels aggregate answers.csv -o hf:labels/

        softlabels aggregate "answers/*.parquet" --engine dask --local-workers 4 -o labels/
    """
    method = method or (DEFAULT_DASK_METHOD if engine == "dask" else DEFAULT_CROWD_METHOD)
    params = method_params(method, seed=seed, n_iter=n_iter, tol=tol, n_jobs=n_jobs)
    text = text_options(sep, encoding)
    if engine not in ("numpy", "dask"):
        raise CLIError(f"--engine must be numpy or dask; got {engine!r}.")
    if duplicates not in ("keep", "last", "error"):
        raise CLIError(f"--duplicates must be keep, last or error; got {duplicates!r}.")
    if engine == "numpy" and (scheduler is not None or local_workers is not None):
        raise CLIError("--scheduler and --local-workers need --engine dask.")
    if engine == "dask":
        if hf_output(output) is not None:
            raise CLIError("--engine dask writes a Parquet folder; -o hf:FOLDER needs the numpy engine.")
        if duplicates != "keep":
            raise CLIError("--duplicates is not supported with --engine dask yet.")
        if sep is not None or encoding is not None:
            raise CLIError("--sep and --encoding are for text input; --engine dask reads Parquet.")
        if format not in (None, "table"):
            raise CLIError("--engine dask reads the answer table; give the numpy engine --format.")
        if gold is not None:
            params = {**params, "gold": read_gold(gold, label_col, item_col)}
        aggregate_on_dask(
            str(answers), method, params, output, workers_out,
            dict(item_col=item_col, worker_col=worker_col, label_col=label_col),
            parse_classes(classes), scheduler, local_workers, gold,
        )
        return
    to_stdout = str(output) == STDIO
    if to_stdout and FEEDBACK.json:
        raise CLIError("-o - writes the soft labels to stdout; --json cannot share it.")
    if not to_stdout:
        check_soft_output(output, inputs=(answers, gold))
    if workers_out is not None:
        check_output(workers_out, inputs=(answers, gold))
        if not to_stdout and workers_out.resolve() == output.resolve():
            raise CLIError("--workers-out and --output must be different files.")
    class_list = parse_classes(classes)
    with stdin_as_file(answers) as source, read_progress(answers) as progress:
        ann = read_annotations(
            source,
            "table" if format is None and str(answers) == STDIO else format,
            item_col=item_col,
            worker_col=worker_col,
            label_col=label_col,
            classes=class_list,
            duplicates=duplicates,  # type: ignore[arg-type]
            progress=progress,
            **text,
        )
    warn_if_ratings(ann.classes, label_col)
    gold_frame = read_gold(gold, label_col, item_col, **text)
    if gold_frame is not None:
        check_gold_file(ann, gold_frame, gold, answers)  # type: ignore[arg-type]
    model = fit_with_progress(ann, method, params, gold_frame)
    with phase(f"writing {'<stdout>' if to_stdout else output.name}"), all_or_nothing():
        if workers_out is not None:  # first: a dataset folder (hf:) is in place at once
            write_frame(model.reliability_frame(), workers_out)
        if not to_stdout:
            save_soft_labels(model.soft_labels_, output)
    if to_stdout:  # the table alone on stdout; the summary goes to stderr
        write_stdout_csv(model.soft_labels_.to_frame())
    where = "<stdin>" if str(answers) == STDIO else answers
    if to_stdout and FEEDBACK.quiet:
        return
    console = err if to_stdout else out
    console.print(summary_table(model, ann, f"softlabels aggregate: {where}"))
    console.print(f"soft labels -> {'<stdout>' if to_stdout else output}"
                  + (f"; workers -> {workers_out}" if workers_out else ""))


def parse_classes(classes: Optional[str]) -> Optional[list[str]]:
    """The --classes option as a list (None when not given)."""
    if classes is None:
        return None
    class_list = [c.strip() for c in classes.split(",") if c.strip()]
    if not class_list:
        raise CLIError("--classes is empty; give a comma-separated list.")
    names = pd.Index(class_list)
    if names.has_duplicates:
        raise CLIError(f"--classes lists {names[names.duplicated()][0]!r} more than once.")
    return class_list


def aggregate_on_dask(
    answers: str, method: str, params: dict[str, Any], output: Path,
    workers_out: Optional[Path], columns: dict[str, str], classes: Optional[list[str]],
    scheduler: Optional[str], local_workers: Optional[int], gold: Optional[Path] = None,
) -> None:
    """`softlabels aggregate --engine dask`: the fit on a Dask cluster (an address, a
    local cluster, or the default scheduler), soft labels written as a Parquet folder.
    ``gold``: the gold file (its table in ``params``), checked as on the numpy engine
    (:func:`check_gold_file`): its errors name it, and one that matches no answered
    item is refused."""
    from softlabels._optional import require

    try:
        require("distributed", "dask")
        require("dask.dataframe", "dask")
    except ImportError as err:  # the extra is missing: one line, status 2
        raise CLIError(str(err)) from None
    from distributed import Client, LocalCluster
    from softlabels.engines.dask import aggregate as dask_aggregate, write_parquet

    if scheduler is not None and local_workers is not None:
        raise CLIError("give --scheduler or --local-workers, not both.")
    if output.exists():
        raise CLIError(f"{output}: already exists; the soft labels go to a new folder.")
    if workers_out is not None:
        check_output(workers_out, inputs=())
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            stack.enter_context(Client(scheduler))
        elif local_workers is not None:
            cluster = stack.enter_context(LocalCluster(
                n_workers=local_workers, threads_per_worker=1, processes=True,
                dashboard_address=None,
            ))
            stack.enter_context(Client(cluster))
        model_params = {k: v for k, v in params.items() if k != "gold"}
        total = create_method(method, **model_params).get_params().get("n_iter")
        with iteration_progress(f"fitting {method} on dask", total) as callback:
            try:
                fit = dask_aggregate(answers, method, classes=classes, callback=callback,
                                     **columns, **params)
            except InputError as exc:  # a column, label or value of the answers or gold
                if answers in str(exc):
                    raise
                where = gold if gold is not None and str(exc).startswith("gold") else answers
                raise InputError(f"{where}: {exc}") from None
        if gold is not None and len(params["gold"]) and not fit.n_gold_:
            raise InputError(f"{gold}: none of its items appear in {answers} "
                             f"({len(params['gold'])} given).")
        with all_or_nothing():  # the folder last: it is put in place at once
            if workers_out is not None:
                write_frame(fit.reliability_frame(), workers_out)
            write_parquet(fit.soft_labels_, output)
    out.print(
        f"{fit.n_answers_:,} answers, {fit.n_items_:,} items, {fit.worker_ids_.size:,} "
        f"workers; {fit.method}"
        + (f", {fit.n_iter_} iterations" if fit.n_iter_ else "")
        + f"\nsoft labels -> {output}/" + (f"; workers -> {workers_out}" if workers_out else "")
    )


def methods() -> None:
    """List the aggregation methods.

    Example:

        softlabels methods
    """
    table = Table(show_header=True, header_style="bold")
    table.add_column("method")
    table.add_column("what it does")
    for name in list_methods():
        table.add_row(name, method_summary(name))
    out.print(table)


def quickstart(
    out_dir: Path = typer.Option(Path("softlabels-quickstart"), help="Folder for the results."),
    method: str = typer.Option(DEFAULT_CROWD_METHOD, "--method", "-m", help="See `softlabels methods`."),
) -> None:
    """Aggregate the bundled sample and write soft labels, workers and a report.

    The sample: 44,373 adult-content ratings of 496 websites (about 90 per site) by
    338 Mechanical Turk workers.

    Example:

        softlabels quickstart
    """
    from softlabels.datasets.sample import load_adult3

    params = method_params(method, seed=None, n_iter=None, tol=None)
    if out_dir.exists() and not out_dir.is_dir():
        raise CLIError(f"{out_dir}: exists and is not a folder.")
    ann = Annotations.from_frame(load_adult3(), source="adult3 (bundled)")
    model = fit_with_progress(ann, method, params, None)  # before making the folder: a failed fit leaves none
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    labels_path = out_dir / "soft_labels.csv"
    workers_path = out_dir / "workers.csv"
    workers = model.reliability_frame().sort_values("skill", ascending=False)
    from softlabels.report import write_report

    try:
        with all_or_nothing():
            model.soft_labels_.save(labels_path)
            write_frame(workers, workers_path)
            report_path = write_report(
                out_dir / "report.html",
                model=model,
                title="Adult content ratings of 496 websites (adult3)",
            )
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        raise

    out.print(summary_table(model, ann, "softlabels quickstart: adult3 website ratings"))
    soft = model.soft_labels_
    frame = soft.to_frame()
    from softlabels.audit.agreement import item_ambiguity

    counts = ann.counts
    order = weakest_first(soft.confidence(), item_ambiguity(counts / counts.sum(axis=1, keepdims=True)))
    unsure = frame.iloc[order[:5]]
    table = Table(title="weakest consensus (lowest confidence first; ties: most disagreement)",
                  title_justify="left")
    for col in ("item", "label", "confidence", "support"):
        table.add_column(col)
    for row in unsure.itertuples(index=False):
        table.add_row(str(row.item), str(row.label), f"{row.confidence:.2f}", f"{row.support:.0f}")
    out.print(table)
    busy = workers[workers["n_answers"] >= 20]
    if len(busy):
        worst = busy.nsmallest(3, "skill")
        out.print(
            "lowest-skill workers (>= 20 answers): "
            + ", ".join(f"{r.worker} ({r.skill:.2f}, {r.n_answers} answers)" for r in worst.itertuples())
        )
    out.print(f"wrote {labels_path}, {workers_path} and {report_path} (open it in a browser)")
    out.print("data: Get-Another-Label project (P. Ipeirotis), Apache License 2.0", style="dim")
