"""Shared pieces of the command line: consoles, errors, progress, output checks."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import os
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from softlabels.core.errors import InputError, InvalidParameterError

#: No markup in what the commands print: paths and labels are shown as given ('[red]' in
#: a file name is not a style, '[/x]' not an error).
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


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


def hide_flag_types() -> None:
    """Show no value type (``<bool>``) for flags such as ``--help`` in the help panels:
    a flag takes no value. Typer versions without the rich type column are left as
    they are."""
    import typer.core

    option = getattr(typer.core, "TyperOption", None)
    shown = getattr(option, "display_type_rich", None)
    if shown is None or getattr(shown, "_hides_flags", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    display_type_rich._hides_flags = True  # type: ignore[attr-defined]
    option.display_type_rich = display_type_rich


def sep_option() -> Any:
    """``--sep``: the field separator of every CSV/TSV table a command reads."""
    import typer

    return typer.Option(
        None, "--sep",
        help="Field separator of CSV/TSV input: one character, '\\t' for a tab "
        "(default: ',' for .csv, a tab for .tsv).",
    )


def encoding_option() -> Any:
    """``--encoding``: the text encoding of every CSV/TSV/JSONL table a command reads."""
    import typer

    return typer.Option(
        None, "--encoding", help="Text encoding of CSV/TSV/JSONL input, e.g. latin-1 (default: utf-8)."
    )


def format_option() -> Any:
    """``--format``: the format of the answers file (see :func:`read_annotations`)."""
    import typer

    return typer.Option(
        None, "--format", help="The answers' format: table (item, worker, label), label-studio, "
        "mturk, toloka, prodigy, ground-truth or hf (a saved datasets folder), optionally :FIELD, "
        "the field holding the labels (mturk:sentiment). Default: detected from the file.",
    )


def text_options(sep: str | None, encoding: str | None) -> dict[str, Any]:
    """``sep`` and ``encoding`` checked before any file is read (a bad one is named)."""
    from softlabels.core.io import check_encoding, check_sep

    try:
        return {"sep": check_sep(sep), "encoding": check_encoding(encoding)}
    except InputError as exc:
        flag = "--sep" if "separator" in str(exc) else "--encoding"
        raise CLIError(f"{flag}: {exc}") from None


class CLIError(Exception):
    """A one-line error for the user; the command exits with status 2."""


def check_options(estimator: Any, flags: dict[str, str] | None = None) -> Any:
    """Check an estimator's parameters (its ``_parameter_constraints``) before any file
    is read, so that a bad option fails first; the message names the option
    (``--alpha``), or ``flags[parameter]`` where the option has another name."""
    try:
        estimator._validate_params()
    except InvalidParameterError as exc:
        raise option_error(exc, flags) from None
    return estimator


def option_error(exc: InvalidParameterError, flags: dict[str, str] | None = None, *,
                 only: bool = False) -> Exception:
    """An estimator's parameter error as a :class:`CLIError` naming the option
    (``--alpha``, or ``flags[parameter]``); ``exc`` itself when it names no parameter,
    or with ``only`` a parameter that ``flags`` does not hold (given another way)."""
    name = re.match(r"The '(\w+)' parameter of \w+ ", str(exc))
    if name is None or (only and name[1] not in (flags or {})):
        return exc
    flag = (flags or {}).get(name[1], "--" + name[1].replace("_", "-"))
    return CLIError(f"{flag} {str(exc)[name.end():]}")


def check_output(path: str | os.PathLike[str], *, inputs: tuple[Any, ...] = (),
                 suffixes: tuple[str, ...] = (".csv", ".parquet", ".pq")) -> Path:
    """Fail before any work when an output path cannot be written as asked (a table:
    ``.csv`` or ``.parquet``, unless ``suffixes`` says otherwise)."""
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        shown = " or ".join(s for s in suffixes if s != ".pq")
        raise InputError(f"{path}: write {shown}.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{path}: the folder {parent} does not exist.")
    if p.is_dir():
        raise InputError(f"{path}: is a directory.")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{path}: cannot be written (the folder {parent} is read-only).")
    for source in inputs:
        if source is not None and p.exists() and Path(source).exists():
            if os.path.samefile(p, source):
                raise InputError(f"{path}: the output would overwrite an input file.")
    return p


def hf_output(output: Path) -> Path | None:
    """The folder of an ``-o hf:FOLDER`` output (None for a file)."""
    text = str(output)
    if not text.startswith("hf:"):
        return None
    if not text[3:].strip("/"):
        raise CLIError("-o hf: needs a folder, e.g. -o hf:labels/.")
    return Path(text[3:])


def check_hf_folder(folder: Path) -> None:
    """Fail before any work when a dataset cannot be saved to ``folder``: the ``hf``
    extra is missing, the folder exists, or its parent does not."""
    from softlabels._optional import require

    try:
        require("datasets", "hf")
    except ImportError as err:
        raise CLIError(str(err)) from None
    parent = folder.parent if str(folder.parent) else Path(".")
    if folder.exists():
        raise CLIError(f"{folder}: already exists; a dataset is saved to a new folder.")
    if not parent.is_dir():
        raise CLIError(f"{folder}: the folder {parent} does not exist.")


#: the files a soft-label table can be written to (``SoftLabels.save``)
SOFT_LABEL_SUFFIXES = (".csv", ".parquet", ".pq", ".jsonl")


def check_soft_output(output: Path, *, inputs: tuple[Any, ...] = ()) -> None:
    """Fail before any work when soft labels cannot be written to ``output``: a
    ``.csv``, ``.parquet`` or ``.jsonl`` file, or ``hf:FOLDER`` (a Hugging Face dataset)."""
    folder = hf_output(output)
    if folder is not None:
        check_hf_folder(folder)
    else:
        check_output(output, inputs=inputs, suffixes=SOFT_LABEL_SUFFIXES)


def save_soft_labels(soft: Any, output: Path) -> None:
    """Write soft labels as :func:`check_soft_output` allowed (call it inside
    :func:`~softlabels.core.io.all_or_nothing`, after the block's other writes: a
    dataset folder is put in place at once, not held back with them)."""
    folder = hf_output(output)
    if folder is not None:
        from softlabels.core.formats import save_hf_dataset

        save_hf_dataset(soft, folder)
    else:
        soft.save(output)


STDIO = "-"


@contextlib.contextmanager
def stdin_as_file(path: Path, suffix: str = ".csv") -> Iterator[Path]:
    """``path`` itself, or for ``-`` standard input copied to a temporary file (a CSV
    table unless ``suffix`` says otherwise), removed afterwards; errors about it name
    ``<stdin>``."""
    import shutil
    import sys
    import tempfile

    if str(path) != STDIO:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="softlabels-stdin-") as folder:
        spooled = Path(folder) / f"stdin{suffix}"
        with open(spooled, "wb") as fh:
            shutil.copyfileobj(sys.stdin.buffer, fh)
        try:
            yield spooled
        except InputError as exc:
            raise InputError(str(exc).replace(str(spooled), "<stdin>")) from None


def write_stdout_csv(frame: Any) -> None:
    """A table as CSV on standard output (``-o -``), full float precision."""
    import sys

    from softlabels.core.io import csv_quoting

    quoting = csv_quoting(frame, "<stdout>")  # a carriage return in text: quoted
    frame.to_csv(sys.stdout, index=False, float_format=None, quoting=quoting)
    sys.stdout.flush()


# --- signals ---------------------------------------------------------------------------

#: The signals that stop a command cleanly: temporary files are removed, no output is
#: half-written, and the exit status is 128 + the signal number (130, 143, 129).
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


class Interrupted(BaseException):
    """A stop signal arrived. A ``BaseException`` like ``KeyboardInterrupt``, so that
    every ``except BaseException`` cleanup (see :func:`softlabels.core.io.atomic_path`)
    runs on the way out, and no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def __str__(self) -> str:
        return f"interrupted by {signal.Signals(self.signum).name}."


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` in the
    main thread. A second signal while the first one is being handled is ignored, so
    that the cleanup it started finishes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if received:
            return
        received.append(signum)
        raise Interrupted(signum)

    previous = {}
    for name in STOP_SIGNALS:
        number = getattr(signal, name, None)
        if number is not None:
            previous[number] = signal.signal(number, handler)
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


# --- integer options -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class IntRange:
    """The values an integer option accepts: ``low <= value <= high`` (a bound of
    ``None`` is open), or one of ``also``."""

    low: int | None = None
    high: int | None = None
    also: tuple[int, ...] = ()

    def __contains__(self, value: int) -> bool:
        return value in self.also or (
            (self.low is None or value >= self.low) and (self.high is None or value <= self.high)
        )

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            text = f"from {self.low} to {self.high}"
        elif self.low is not None:
            text = f">= {self.low}"
        elif self.high is not None:
            text = f"<= {self.high}"
        else:
            text = "any integer"
        return text + "".join(f" or {v}" for v in self.also)


#: The range of every integer option of every command, by parameter name: the one place
#: they are declared (:func:`check_int_options` applies them before the command runs).
INT_RANGES: dict[str, IntRange] = {
    "n_jobs": IntRange(low=1, also=(-1,)),
    "top": IntRange(low=0),
    "n_iter": IntRange(low=1),
    "n_bins": IntRange(low=1),
    "levels": IntRange(low=2),
    "seed": IntRange(low=0, high=2**32 - 1),
    "local_workers": IntRange(low=1),
    "k": IntRange(low=1),
    "items_per_group": IntRange(low=1),
    "start": IntRange(low=0),
    "stop": IntRange(low=0),
}


def _option_flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_int_options(app: Any) -> None:
    """Make every command of a Typer ``app`` check its integer options against
    :data:`INT_RANGES` before it runs (a value out of range: :class:`CLIError`)."""
    for command in app.registered_commands:
        callback = command.callback
        if callback is None or getattr(callback, "_int_ranges_checked", False):
            continue
        names = [n for n in inspect.signature(callback).parameters if n in INT_RANGES]
        if names:
            command.callback = _with_int_checks(callback, names)


def _with_int_checks(callback: Any, names: list[str]) -> Any:
    @functools.wraps(callback)
    def checked(*args: Any, **kwargs: Any) -> Any:
        for name in names:
            value = kwargs.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value not in INT_RANGES[name]:
                raise CLIError(
                    f"{_option_flag(name)} must be {INT_RANGES[name].describe()}; got {value}."
                )
        return callback(*args, **kwargs)

    checked._int_ranges_checked = True  # type: ignore[attr-defined]
    return checked


# --- labels that look like ratings ------------------------------------------------------

#: More distinct numeric labels than this look like ratings rather than classes (a
#: 0-10 scale has 11); so do numeric labels written several ways ("0", "00", "-0").
MAX_NUMERIC_CLASSES = 10


def warn_if_ratings(classes: Any, label_col: str) -> None:
    """Warn, pointing to ``softlabels ratings``, when every class is a number and there
    are many of them or one number is written in several ways."""
    import warnings

    import numpy as np
    import pandas as pd

    values = pd.to_numeric(pd.Series(list(classes), dtype=object), errors="coerce")
    if len(values) < 2 or values.isna().any():
        return
    n_classes, n_numbers = len(values), int(values.nunique())
    if n_classes <= MAX_NUMERIC_CLASSES and n_numbers == n_classes:
        return
    same = "" if n_numbers == n_classes else (
        f" ({n_classes - n_numbers} of them {'repeats' if n_classes - n_numbers == 1 else 'repeat'}"
        " a number written another way, e.g. "
        + ", ".join(repr(str(c)) for c in _same_number(list(classes), values.to_numpy(np.float64)))
        + ")"
    )
    warnings.warn(
        f"the {n_classes} labels in column {label_col!r} are all numbers{same}; aggregate "
        "treats each as a separate class. For numeric ratings use `softlabels ratings`.",
        UserWarning,
        stacklevel=2,
    )


def _same_number(classes: list[Any], numbers: Any) -> list[Any]:
    """The spellings of the first number written in several ways."""
    seen: dict[float, list[Any]] = {}
    for label, number in zip(classes, numbers):
        seen.setdefault(float(number), []).append(label)
    return next((spellings for spellings in seen.values() if len(spellings) > 1), [])
