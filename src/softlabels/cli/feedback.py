"""What a command tells its user while and after it works: progress on stderr (live bars
on a terminal, plain periodic lines in a log or pipe), the summary on stdout, or one
JSON object instead of the summary (``--json``), or nothing but errors (``--quiet``).

Every command gets the options ``--progress auto|always|never``, ``--quiet`` and
``--json`` from :func:`add_feedback_options`; the commands themselves only open
:func:`phase` blocks and print their summaries to ``out`` as before.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from softlabels.cli._common import CLIError, err, out

#: Seconds between two plain progress lines of one phase (``--progress auto``) ...
LINE_EVERY = 10.0
#: ... and with ``--progress always``, which also prints when each phase starts and ends.
LINE_EVERY_ALWAYS = 1.0
PROGRESS_MODES = ("auto", "always", "never")


@dataclasses.dataclass
class Feedback:
    """The feedback options of the running command."""

    progress: str = "auto"
    quiet: bool = False
    json: bool = False
    command: str = ""
    records: list[Any] = dataclasses.field(default_factory=list)

    @property
    def live(self) -> bool:
        """Live bars: ``auto`` on a terminal."""
        return self.progress == "auto" and err.is_terminal and not self.quiet

    @property
    def lines(self) -> bool:
        """Plain lines: ``auto`` in a log or pipe, or ``always``."""
        return not self.quiet and (
            self.progress == "always" or (self.progress == "auto" and not err.is_terminal)
        )


FEEDBACK = Feedback()


def _configure(progress: str = "auto", quiet: bool = False, json: bool = False,
               command: str = "") -> None:
    """Set the running command's feedback (the defaults again when it ends)."""
    FEEDBACK.progress, FEEDBACK.quiet, FEEDBACK.json = progress, quiet, json
    FEEDBACK.command, FEEDBACK.records = command, []


# --- progress ------------------------------------------------------------------------


class _Lines:
    """Plain progress lines for one phase: a line when it starts (``always``), one at
    most every :data:`LINE_EVERY` seconds while it runs, and one when it ends if it
    printed anything before or took that long (``auto``)."""

    def __init__(self, label: str, total: float | None, every: float, eager: bool,
                 unit: str = "") -> None:
        self.label, self.total, self.every, self.eager = label, total, every, eager
        self.unit = unit
        self.start = self.last = time.monotonic()
        self.printed = False
        self.lock = threading.Lock()
        if eager:
            self._line("started")

    def _line(self, text: str) -> None:
        elapsed = time.monotonic() - self.start
        err.print(f"{self.label}: {text} [{elapsed:,.1f} s]", soft_wrap=True, highlight=False)
        self.printed = True
        self.last = time.monotonic()

    def update(self, completed: float, info: str = "") -> None:
        with self.lock:
            if time.monotonic() - self.last < self.every:
                return
            if not completed and not self.total:
                self._line("working")
            else:
                self._line(_amount(completed, self.total, self.unit) + (f", {info}" if info else ""))

    def close(self, summary: str) -> None:
        if self.printed or self.eager or time.monotonic() - self.start >= self.every:
            self._line(summary or "done")


def _amount(completed: float, total: float | None, unit: str = "") -> str:
    """``3 of 20 (15%)``, ``1.2 of 26.3 MB (5%)`` or ``1.2 MB`` without a total."""
    fmt = ",.1f" if unit else ",.0f"
    tail = f" {unit}" if unit else ""
    if total:
        return f"{completed:{fmt}} of {total:{fmt}}{tail} ({completed / total:.0%})"
    return f"{completed:{fmt}}{tail}"


@contextlib.contextmanager
def phase(label: str, total: float | None = None, *, unit: str = "") -> Iterator[Callable[..., None]]:
    """A stretch of work the user should see progress on. Yields ``update(completed,
    info="", total=None)``; ``total`` may be given later (or ``None`` for a spinner).
    On a terminal a transient bar on stderr; otherwise plain lines (see
    :data:`LINE_EVERY`); nothing with ``--progress never`` or ``--quiet``."""
    fb = FEEDBACK
    if fb.live:
        from rich.progress import (
            BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
            TimeElapsedColumn,
        )

        progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}", style="bold", markup=False),
            BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(), console=err, transient=True,
        )
        with progress:
            task = progress.add_task(label, total=total, info="")

            def bar(completed: float, info: str = "", total: float | None = None) -> None:
                if total is not None:
                    progress.update(task, total=total)
                progress.update(task, completed=completed, info=info)

            yield bar
        return
    if fb.lines:
        always = fb.progress == "always"
        lines = _Lines(label, total, LINE_EVERY_ALWAYS if always else LINE_EVERY, eager=always,
                       unit=unit)
        state = {"completed": 0.0, "info": ""}

        def line(completed: float, info: str = "", total: float | None = None) -> None:
            if total is not None:
                lines.total = total
            state["completed"], state["info"] = completed, info
            lines.update(completed, info)

        stop = threading.Event()

        def tick() -> None:  # a line while a long step reports nothing (a file write)
            while not stop.wait(lines.every):
                lines.update(state["completed"], state["info"])

        ticker = threading.Thread(target=tick, name="softlabels-progress", daemon=True)
        ticker.start()
        try:
            yield line
        finally:
            stop.set()
            ticker.join()
        lines.close(f"done: {_amount(state['completed'], lines.total, unit)}"
                    + (f", {state['info']}" if state["info"] else "")
                    if state["completed"] else "done")
        return
    yield lambda completed, info="", total=None: None


@contextlib.contextmanager
def iteration_progress(label: str, total: int | None) -> Iterator[Any]:
    """:func:`phase` for the iterative models: yields ``(iteration, objective) -> None``."""
    with phase(label, total) as update:

        def callback(iteration: int, objective: float) -> None:
            grown = None if total is None or iteration <= total else iteration
            update(iteration, f"log-lik {objective:,.1f}", total=grown)

        yield callback


@contextlib.contextmanager
def read_progress(path: Any) -> Iterator[Callable[[int, int], None]]:
    """:func:`phase` for reading a file: yields ``(bytes_read, file_bytes) -> None``
    (``file_bytes`` 0 when unknown), shown in MB."""
    name = "<stdin>" if str(path) == "-" else getattr(path, "name", str(path))
    with phase(f"reading {name}", unit="MB") as update:

        def bytes_read(done: int, total: int) -> None:
            update(done / 1e6, total=total / 1e6 if total else None)

        yield bytes_read


# --- summaries: the console, silent, or JSON -----------------------------------------


def _value(text: str) -> Any:
    """A printed cell as JSON: numbers as numbers (``4,000`` -> 4000, ``1e+05`` ->
    100000.0), else the text (``0,5`` and ``1,2`` are not numbers with thousands
    separators)."""
    if not re.fullmatch(r"-?(\d{1,3}(,\d{3})+|\d*)(\.\d*)?([eE][-+]?\d+)?", text):
        return text
    plain = text.replace(",", "")
    if re.fullmatch(r"-?\d+", plain):
        return int(plain)
    if re.fullmatch(r"-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?", plain):
        return float(plain)
    return text


def _record(renderable: Any) -> Any:
    """A printed table as a JSON value (key-value pairs, or rows keyed by header); a
    printed text as its plain string."""
    from rich.table import Table

    if isinstance(renderable, Table):  # cells are plain text: the consoles take no markup
        columns = [[str(c) for c in col.cells] for col in renderable.columns]
        rows = list(zip(*columns))
        title = str(renderable.title) if renderable.title else None
        if not renderable.show_header and len(renderable.columns) == 2:
            body: Any = {k: _value(v) for k, v in rows}
        else:
            names = [str(col.header) for col in renderable.columns]
            body = [{n: _value(v) for n, v in zip(names, row)} for row in rows]
        return {"title": title, "table": body} if title else {"table": body}
    if isinstance(renderable, str):
        return renderable
    return str(renderable)


def _recording_print(*objects: Any, **kwargs: Any) -> None:
    if FEEDBACK.json:
        FEEDBACK.records.extend(_record(o) for o in objects)


def _json_summary() -> str:
    fb = FEEDBACK
    summary: dict[str, Any] = {"command": fb.command, "tables": [], "messages": []}
    for rec in fb.records:
        if isinstance(rec, dict):
            summary["tables"].append(rec)
        else:
            summary["messages"].extend(line for line in rec.splitlines() if line.strip())
    return json.dumps(summary, ensure_ascii=False, default=str)


def add_feedback_options(app: Any, prefix: str = "") -> None:
    """Give every command of a Typer ``app`` the options ``--progress``, ``--quiet``
    and ``--json``, set before the command runs."""
    for command in app.registered_commands:
        callback = command.callback
        if callback is None or getattr(callback, "_feedback", False):
            continue
        name = prefix + (command.name or callback.__name__.replace("_", "-"))
        command.callback = _with_feedback(callback, name)


def _with_feedback(callback: Callable[..., Any], name: str) -> Callable[..., Any]:
    import typer

    extra = [
        inspect.Parameter("progress", inspect.Parameter.KEYWORD_ONLY, annotation=str, default=typer.Option(
            "auto", "--progress",
            help="auto: live bars on a terminal, a plain line every "
            f"{LINE_EVERY:.0f} s in a log or pipe; always: lines every {LINE_EVERY_ALWAYS:.0f} s "
            "and at each step's start and end, even on a terminal; never.",
        )),
        inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, annotation=bool, default=typer.Option(
            False, "--quiet", "-q", help="Print nothing but errors and warnings.",
        )),
        inspect.Parameter("json_summary", inspect.Parameter.KEYWORD_ONLY, annotation=bool, default=typer.Option(
            False, "--json", help="Print the summary as one JSON object on stdout instead.",
        )),
    ]
    signature = inspect.signature(callback)

    @functools.wraps(callback)
    def run(*args: Any, progress: str = "auto", quiet: bool = False,
            json_summary: bool = False, **kwargs: Any) -> Any:
        if progress not in PROGRESS_MODES:
            raise CLIError(f"--progress must be one of {', '.join(PROGRESS_MODES)}; got {progress!r}.")
        if quiet and json_summary:
            raise CLIError("--quiet and --json exclude each other.")
        _configure(progress=progress, quiet=quiet, json=json_summary, command=name)
        silent = quiet or json_summary
        if silent:
            out.print = _recording_print  # type: ignore[method-assign]
        try:
            result = callback(*args, **kwargs)
            if json_summary:
                import sys

                print(_json_summary(), file=sys.stdout, flush=True)
        finally:
            if silent:
                del out.print
            _configure()
        return result

    run.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=list(signature.parameters.values()) + extra
    )
    run._feedback = True  # type: ignore[attr-defined]
    return run
