"""Shared pieces of the command line: consoles, errors, progress, output checks."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from softlabels.core.errors import InputError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class CLIError(Exception):
    """A one-line error for the user; the command exits with status 2."""


def check_output(path: str | os.PathLike[str], *, inputs: tuple[Any, ...] = ()) -> Path:
    """Fail before any work when an output path cannot be written as asked."""
    p = Path(path)
    if p.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise InputError(f"{path}: write .csv or .parquet.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{path}: the folder {parent} does not exist.")
    if p.is_dir():
        raise InputError(f"{path}: is a directory.")
    for source in inputs:
        if source is not None and p.exists() and Path(source).exists():
            if os.path.samefile(p, source):
                raise InputError(f"{path}: the output would overwrite an input file.")
    return p


@contextlib.contextmanager
def iteration_progress(label: str, total: int | None) -> Iterator[Any]:
    """A transient progress bar on stderr (only on a terminal); yields a callback
    ``(iteration, objective) -> None`` for the iterative models."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with progress:
        task = progress.add_task(label, total=total, info="")

        def callback(iteration: int, objective: float) -> None:
            if total is not None and iteration > total:
                progress.update(task, total=None)
            progress.update(task, completed=iteration, info=f"log-lik {objective:,.1f}")

        yield callback
