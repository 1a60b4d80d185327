"""File input and output: table readers with clear errors, and atomic writes."""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from softlabels.core.errors import InputError

__all__ = ["read_table", "atomic_path", "check_readable", "table_format"]

_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_PARQUET_MAGIC = b"PAR1"


def table_format(path: str | os.PathLike[str]) -> str:
    """The table format implied by a path's extension (``.gz`` is looked through)."""
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext not in _FORMATS:
        raise InputError(
            f"{path}: cannot tell the format from the extension {ext or '(none)'!r}; "
            "use .csv, .tsv, .parquet or .jsonl."
        )
    return _FORMATS[ext]


def check_readable(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: no such file.")
    if p.is_dir():
        raise InputError(f"{path}: is a directory, not a file.")
    if p.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty.")
    return p


def _head(p: Path, n: int = 8192) -> bytes:
    opener = gzip.open if p.suffix.lower() == ".gz" else open
    try:
        with opener(p, "rb") as fh:
            return fh.read(n)
    except OSError as err:  # e.g. a .gz that is not gzip
        raise InputError(f"{p}: cannot be read ({err}).") from None


def read_table(
    path: str | os.PathLike[str], *, fmt: str | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    """Read a CSV, TSV, Parquet or JSON-lines file into a DataFrame.

    Raises :class:`InputError` naming the file when it is missing, empty, binary where
    text was expected (or the reverse), or not parseable.
    """
    p = check_readable(path)
    fmt = fmt or table_format(p)
    head = _head(p)
    if fmt == "parquet":
        if not head.startswith(_PARQUET_MAGIC):
            raise InputError(
                f"{path}: the content is not Parquet although the extension says so."
            )
        try:
            return pd.read_parquet(p, columns=columns)
        except Exception as err:  # pyarrow raises many types for corrupt files
            raise InputError(f"{path}: not a readable Parquet file ({err}).") from None
    if head.startswith(_PARQUET_MAGIC):
        raise InputError(f"{path}: the content is Parquet but the extension says {fmt}.")
    if b"\x00" in head:
        raise InputError(f"{path}: looks like a binary file, not {fmt} text.")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a multibyte char cut at the boundary
            raise InputError(f"{path}: is not UTF-8 text ({err.reason} at byte {err.start}).")
    try:
        if fmt in ("csv", "tsv"):
            frame = pd.read_csv(p, sep="," if fmt == "csv" else "\t", usecols=columns)
        else:
            frame = pd.read_json(p, lines=True)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file has no data.") from None
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as err:
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"{path}: cannot be parsed as {fmt} ({msg}).") from None
    return frame


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    On any error the temporary file is removed and ``path`` is left untouched.
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise InputError(f"{path}: the folder {parent} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_frame(frame: pd.DataFrame, path: str | os.PathLike[str], **kwargs: Any) -> None:
    """Write a DataFrame to ``.csv`` or ``.parquet`` (by extension), atomically."""
    fmt = table_format(path)
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            frame.to_parquet(tmp, index=False, **kwargs)
        elif fmt in ("csv", "tsv"):
            frame.to_csv(tmp, index=False, sep="," if fmt == "csv" else "\t", **kwargs)
        else:
            frame.to_json(tmp, orient="records", lines=True, **kwargs)
