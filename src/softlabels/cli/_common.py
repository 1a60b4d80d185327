"""Shared pieces of the command line: consoles, errors, progress, output checks."""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from softlabels.core.errors import InputError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def reflow(doc: str | None) -> str:
    """A command docstring as ``--help`` text: the lines of each prose paragraph are
    joined, for the terminal to wrap; indented blocks (examples) and lists keep their
    lines."""
    paragraphs = inspect.cleandoc(doc or "").split("\n\n")
    return "\n\n".join(
        "\n".join(_keep_indent(line) for line in par.splitlines())
        if any(line.startswith((" ", "- ", "* ")) for line in par.splitlines())
        else " ".join(line.strip() for line in par.splitlines())
        for par in paragraphs
    )


def _keep_indent(line: str) -> str:
    """An indented line behind an empty Rich markup tag: Typer dedents the help text
    again (``inspect.cleandoc``, which ignores the first line) and would otherwise strip
    the indentation of an example that directly follows ``Example:``."""
    return "[b][/b]" + line if line.startswith(" ") else line


def reflow_help(app: Any) -> None:
    """Give each command of a Typer ``app`` without an explicit help its reflowed
    docstring."""
    for command in app.registered_commands:
        if command.help is None and command.callback is not None:
            command.help = reflow(command.callback.__doc__)


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
