"""The `softlabels` command line. Commands compute nothing the Python API cannot."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import typer

from softlabels._version import __version__
from softlabels.cli import audit, crowd, ratings, rules, sources, store
from softlabels.cli.feedback import add_feedback_options
from softlabels.cli._common import (
    CLIError,
    Interrupted,
    check_int_options,
    err,
    hide_flag_types,
    reflow_help,
    signals_as_interrupts,
)

__all__ = ["app", "main", "run"]

app = typer.Typer(
    name="softlabels",
    help="Learn from imperfect labels: every label is a distribution.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("aggregate")(crowd.aggregate)
app.command("methods")(crowd.methods)
app.command("sources")(sources.sources)
app.command("quickstart")(crowd.quickstart)
app.command("audit")(audit.audit)
app.command("conformal")(audit.conformal)
app.command("calibrate")(audit.calibrate)
app.command("report")(audit.report)
app.command("ratings")(ratings.ratings)
app.add_typer(rules.rules_app, name="rules")
app.add_typer(store.store_app, name="store")
reflow_help(app)
reflow_help(rules.rules_app)
reflow_help(store.store_app)
hide_flag_types()
check_int_options(app)
check_int_options(rules.rules_app)
check_int_options(store.store_app)
add_feedback_options(app)
add_feedback_options(rules.rules_app, prefix="rules ")
add_feedback_options(store.store_app, prefix="store ")


def _version(value: bool) -> None:
    if value:
        print(f"softlabels {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Learn from imperfect labels: every label is a distribution."""


def _click_exception() -> type[Exception]:
    """click's base exception, whether typer uses click or its vendored copy."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == "ClickException":
            return cls
    return typer.BadParameter  # pragma: no cover


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Bad input (a file, column, value or option at fault) prints one line on stderr and
    returns 2; nothing half-written is left behind.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name, e.g. ``["aggregate", "answers.csv"]``.

    Returns
    -------
    int
        The exit code: 0 on success, 2 for bad input or a usage error, 1 when aborted
        or out of memory, ``128 + signal`` after a stop signal (130 for Ctrl-C).
    """
    from softlabels.core.errors import InputError, InvalidParameterError

    import warnings

    def one_line_warning(message, category, filename, lineno, line=None):  # type: ignore[no-untyped-def]
        return f"warning: {_one_line(str(message))}\n"

    click_exception = _click_exception()
    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    formatter = warnings.formatwarning
    warnings.formatwarning = one_line_warning
    try:
        with signals_as_interrupts():
            result = command.main(args=args, prog_name="softlabels", standalone_mode=False)
    except Interrupted as exc:  # temporary files are already removed
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except typer.Abort:
        err.print("aborted")
        return 1
    except click_exception as exc:
        message = exc.format_message()  # type: ignore[attr-defined]
        if type(exc).__name__ == "NoArgsIsHelpError":  # no arguments: show the help
            print(message, file=sys.stderr)
        else:
            print(f"error: {_one_line(message)}", file=sys.stderr)
        return 2
    except (InputError, InvalidParameterError, CLIError) as exc:  # unknown names included
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. an input that cannot be read
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{_one_line(exc.strerror or str(exc))}", file=sys.stderr)
        return 2
    except MemoryError as exc:  # with a message when estimated before allocating
        print(f"error: {_one_line(str(exc)) or 'out of memory'}", file=sys.stderr)
        return 1
    finally:
        warnings.formatwarning = formatter
    return int(result) if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point. After a stop signal it leaves with ``os._exit``
    (output flushed, temporary files already removed): worker threads that numerical
    or reading libraries started may still be running, and the interpreter's shutdown
    must neither wait for them nor race them."""
    code = main()
    if code > 128:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
