"""`softlabels ratings`: numeric crowd ratings into per-item estimates and soft labels."""

from __future__ import annotations

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
    out,
    save_soft_labels,
    sep_option,
    text_options,
)
from softlabels.cli.feedback import phase
from softlabels.core.annotations import check_header_once
from softlabels.core.errors import InputError
from softlabels.core.io import all_or_nothing, read_table, write_frame


def read_ratings(
    path: Path, item_col: str, worker_col: str, rating_col: str, **text: Any
) -> pd.DataFrame:
    """The ratings as a table with columns ``item, worker, label`` (the names
    :class:`~softlabels.infer.ratings.RatingAggregator` reads), the ratings as numbers
    (``text``: ``sep`` and ``encoding`` of a text file)."""
    frame = read_table(path, id_columns=(item_col, worker_col), **text)
    check_header_once(path, frame, {"item": item_col, "worker": worker_col,
                                    "rating": rating_col}, **text)
    cols = {item_col: "item", worker_col: "worker", rating_col: "label"}
    for name, role in cols.items():
        if name not in frame.columns:
            flag = {"item": "--item-col", "worker": "--worker-col", "label": "--rating-col"}[role]
            raise InputError(
                f"{path}: no {name!r} column (columns: {', '.join(map(str, frame.columns[:10]))}); "
                f"choose it with {flag}."
            )
    if len(set(cols)) < 3:
        raise CLIError("--item-col, --worker-col and --rating-col must name different columns.")
    frame = frame[list(cols)].rename(columns=cols)
    raw = frame["label"]
    numbers = pd.to_numeric(raw, errors="coerce")
    bad = (numbers.isna() | ~np.isfinite(numbers.to_numpy(np.float64, na_value=np.nan))).to_numpy()
    if bad.any():
        r = int(np.argmax(bad))
        value = raw.iloc[r]
        what = "is empty" if pd.isna(value) else f"is {str(value)!r}, not a finite number"
        raise InputError(f"{path}: the rating in data row {r + 1} {what} ({int(bad.sum())} such rows).")
    frame["label"] = numbers.astype(np.float64)
    return frame


def ratings(
    answers: Path = typer.Argument(..., help="Ratings in long format: .csv, .tsv, .parquet or .jsonl."),
    output: Path = typer.Option(..., "--output", "-o", help="Soft labels over rating levels out: .csv, .parquet or .jsonl; hf:FOLDER saves a Hugging Face dataset."),
    method: str = typer.Option(
        "reliability", "--method", "-m",
        help="reliability (weights workers by their noise), mean or median.",
    ),
    item_col: str = typer.Option("item", help="Column with item ids."),
    worker_col: str = typer.Option("worker", help="Column with worker ids."),
    rating_col: str = typer.Option("rating", help="Column with the numeric ratings."),
    levels: Optional[int] = typer.Option(
        None, help="Rating levels of the soft labels (default: the observed grid, at most 11)."
    ),
    uncertainty: str = typer.Option("spread", help="spread (of the ratings) or std_error."),
    n_iter: Optional[int] = typer.Option(None, help="Maximum EM iterations (reliability)."),
    estimates_out: Optional[Path] = typer.Option(
        None, help="Per-item estimates out (estimate, std_error, spread, n_ratings, mean, median)."
    ),
    workers_out: Optional[Path] = typer.Option(None, help="Worker table out (n_ratings, variance, weight)."),
    sep: Optional[str] = sep_option(),
    encoding: Optional[str] = encoding_option(),
) -> None:
    """Aggregate numeric ratings (scores such as 1-5 or 0-100) into per-item estimates
    and soft labels over the rating levels.

    Use this rather than `aggregate` when the labels are numbers: aggregate treats every
    distinct value as an unrelated class.

    Example:

        softlabels ratings scores.csv --rating-col score -o soft.csv --estimates-out estimates.csv
    """
    from softlabels.infer.ratings import RatingAggregator

    params: dict[str, Any] = {"method": method, "levels": levels, "uncertainty": uncertainty}
    if n_iter is not None:
        params["n_iter"] = n_iter
    model = check_options(RatingAggregator(**params))  # before the ratings are read
    text = text_options(sep, encoding)
    outputs = [p for p in (output, estimates_out, workers_out) if p is not None]
    check_soft_output(output, inputs=(answers,))
    for path in outputs[1:]:
        check_output(path, inputs=(answers,))
    if len({p.resolve() for p in outputs}) < len(outputs):
        raise CLIError("--output, --estimates-out and --workers-out must be different files.")
    frame = read_ratings(answers, item_col, worker_col, rating_col, **text)
    with phase(f"fitting {method}"):
        try:
            model.fit(frame)
        except InputError as err:  # a missing item or worker id
            raise InputError(f"{answers}: {err}") from None
    with all_or_nothing():  # the soft labels last: a dataset folder (hf:) is in place at once
        if estimates_out is not None:
            write_frame(model.estimates_, estimates_out)
        if workers_out is not None:
            write_frame(reliability(model), workers_out)
        save_soft_labels(model.soft_labels_, output)
    out.print(summary(model, answers))
    written = [f"soft labels -> {output}"]
    written += [f"estimates -> {estimates_out}"] if estimates_out else []
    written += [f"workers -> {workers_out}"] if workers_out else []
    out.print("; ".join(written))


def reliability(model: Any) -> pd.DataFrame:
    """The per-worker table (the model's reliability frame, its ``rater`` column named
    ``worker`` as in the other commands' worker tables)."""
    return model.reliability_frame().rename(columns={"rater": "worker"})


def summary(model: Any, answers: Path) -> Table:
    est = model.estimates_
    table = Table(title=f"softlabels ratings: {answers}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("ratings", f"{int(est['n_ratings'].sum()):,}")
    table.add_row("items", f"{len(est):,}")
    table.add_row("workers", f"{len(reliability(model)):,}")
    table.add_row("method", model.method)
    table.add_row("levels", ", ".join(f"{v:g}" for v in model.levels_))
    table.add_row(
        "estimates",
        f"median {est['estimate'].median():.3g}; std error median {est['std_error'].median():.3g}",
    )
    return table
