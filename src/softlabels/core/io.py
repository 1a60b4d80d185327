"""File input and output: table readers with clear errors, and atomic writes."""

from __future__ import annotations

import contextlib
import contextvars
import errno
import functools
import gzip
import io
import json
import os
import signal
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from softlabels.core.errors import InputError
from softlabels.core.validation import shortened

__all__ = [
    "read_table",
    "read_array",
    "csv_quoting",
    "ids_from_text",
    "atomic_path",
    "atomic_folder",
    "all_or_nothing",
    "check_readable",
    "table_format",
    "OutputError",
]

T = TypeVar("T")

_OLD_PANDAS = int(pd.__version__.split(".")[0]) < 3
#: pandas < 3 parses CSV floats approximately by default (pandas 3 is exact and
#: deprecates the option): written probabilities must read back bit for bit.
_EXACT_FLOATS = {"float_precision": "round_trip"} if _OLD_PANDAS else {}
#: JSON values as written: no dtype guessing, and (pandas < 3) no dates from column
#: names such as ``date`` or ``created_at``.
_JSON_AS_WRITTEN = {"dtype": False} | (
    {"convert_dates": False, "keep_default_dates": False} if _OLD_PANDAS else {}
)

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


#: The signals whose Python handlers wait while a file is read (see :func:`_uninterrupted`).
_DEFERRED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def _uninterrupted(read: Callable[..., T]) -> Callable[..., T]:
    """Run a reader with the Python handlers of SIGINT, SIGTERM and SIGHUP held back
    until it returns, then deliver a signal that arrived meanwhile (Ctrl-C raises
    ``KeyboardInterrupt`` just after the read). An exception raised in the middle of a
    read leaves the reader threads of pandas (parallel ``read_csv``) and pyarrow running
    over buffers that the unwinding frees: a crash, not an exception. Signals left to
    the system (``SIG_DFL``, ``SIG_IGN``) and other threads are not affected."""

    @functools.wraps(read)
    def held(*args: Any, **kwargs: Any) -> T:
        if threading.current_thread() is not threading.main_thread():
            return read(*args, **kwargs)
        arrived: list[int] = []
        previous: dict[int, Any] = {}
        for name in _DEFERRED_SIGNALS:
            number = getattr(signal, name, None)
            if number is not None and callable(signal.getsignal(number)):
                previous[number] = signal.signal(number, lambda n, _: arrived.append(n))
        try:
            return read(*args, **kwargs)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            if arrived:
                signal.raise_signal(arrived[0])

    return held


def table_format(path: str | os.PathLike[str]) -> str:
    """The table format implied by a path's extension (``.gz`` is looked through).

    Parameters
    ----------
    path : str or path
        Ending in ``.csv``, ``.txt``, ``.tsv``, ``.parquet``, ``.pq``, ``.jsonl``,
        ``.ndjson`` or ``.json``; another extension raises :class:`InputError`.

    Returns
    -------
    {"csv", "tsv", "parquet", "jsonl"}
    """
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
    """``path``, checked to be an existing, non-empty file (otherwise
    :class:`InputError`).

    Parameters
    ----------
    path : str or path

    Returns
    -------
    Path
    """
    p = Path(path)
    try:
        if not p.exists():
            raise InputError(f"{path}: no such file.")
        if p.is_dir():
            raise InputError(f"{path}: is a directory, not a file.")
        size = p.stat().st_size
    except OSError as err:  # e.g. a name too long for the file system
        raise InputError(f"{path}: cannot be read ({err.strerror or err}).") from None
    if size == 0:
        raise InputError(f"{path}: the file is empty.")
    return p


#: What reading a truncated or corrupt ``.gz`` file raises (besides ``OSError``).
_BROKEN_GZIP = (EOFError, zlib.error)


def _head(p: Path, n: int = 8192) -> bytes:
    opener = gzip.open if p.suffix.lower() == ".gz" else open
    try:
        with opener(p, "rb") as fh:
            return fh.read(n)
    except (OSError, *_BROKEN_GZIP) as err:  # e.g. a .gz that is not gzip, or is cut short
        raise InputError(f"{p}: cannot be read ({err}).") from None


#: Byte-order marks of the text encodings whose characters hold NUL bytes (UTF-32 LE
#: first: its mark starts with UTF-16 LE's).
_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32", "utf-32-le"),
              (b"\x00\x00\xfe\xff", "UTF-32", "utf-32-be"),
              (b"\xff\xfe", "UTF-16", "utf-16-le"), (b"\xfe\xff", "UTF-16", "utf-16-be"))


def check_byte_order_mark(path: str | os.PathLike[str], head: bytes, encoding: str) -> None:
    """Raise :class:`InputError` when text to be read in an ASCII-compatible
    ``encoding`` starts (``head``: its first bytes) with a UTF-16 or UTF-32 byte-order
    mark (Excel's "Unicode text", Windows tools), saying which encoding to give: read
    as UTF-8 it would look binary, or garbled."""
    import codecs

    if "\x00a".encode(encoding) != b"\x00a":
        return
    for mark, name, codec in _WIDE_BOMS:
        if head.startswith(mark):
            # text after the mark, or binary that happens to start with those bytes?
            try:
                text = codecs.getincrementaldecoder(codec)().decode(head[len(mark):])
            except UnicodeDecodeError:
                return
            if not all(c.isprintable() or c in "\t\r\n" for c in text):
                return
            shown = "UTF-8" if encoding == "utf-8" else encoding
            raise InputError(
                f"{path}: is {name} text (it starts with a {name} byte-order mark), not "
                f"{shown}; give its encoding (--encoding {name.lower()}, encoding=...)."
            )


def _check_text_head(
    path: str | os.PathLike[str], head: bytes, fmt: str, file: Path | None = None,
    encoding: str = "utf-8",
) -> None:
    """Raise :class:`InputError` unless the first bytes of a file look like text in
    ``encoding`` and (given the ``file``) no NUL byte lies anywhere in it. Encodings
    that write NUL bytes in ordinary text (UTF-16, UTF-32) skip the NUL checks."""
    if head.startswith(_PARQUET_MAGIC):
        raise InputError(f"{path}: the content is Parquet but the extension says {fmt}.")
    check_byte_order_mark(path, head, encoding)
    if "\x00a".encode(encoding) == b"\x00a":  # ASCII-compatible: NUL means binary
        if b"\x00" in head:
            raise InputError(f"{path}: looks like a binary file, not {fmt} text.")
        if file is not None:
            _check_no_nul(path, file, fmt)
    try:
        head.decode(encoding)
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a multibyte char cut at the boundary
            name = "UTF-8" if encoding == "utf-8" else encoding
            hint = " (give its encoding, e.g. --encoding latin-1)" if encoding == "utf-8" else ""
            raise InputError(
                f"{path}: is not {name} text ({err.reason} at byte {err.start}){hint}."
            )


def check_encoding(encoding: str | None) -> str:
    """The codec name of ``encoding`` (default UTF-8), or :class:`InputError` naming an
    unknown one."""
    import codecs

    if encoding is None:
        return "utf-8"
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise InputError(f"unknown text encoding {encoding!r} (e.g. utf-8, latin-1, cp1252).") from None


def check_sep(sep: str | None) -> str | None:
    """A field separator: one character, ``\\t`` (as typed in a shell) meaning a tab."""
    if sep is None:
        return None
    sep = {"\\t": "\t", "tab": "\t"}.get(sep, sep)
    if len(sep) != 1 or sep in "\r\n\"":
        raise InputError(
            f"the field separator must be one character other than a quote or a line break "
            f"(',' ';' '|' or '\\t' for a tab); got {sep!r}."
        )
    return sep


def text_header(path: str | os.PathLike[str], fmt: str, sep: str | None = None,
                encoding: str | None = None) -> list[str]:
    """The column names of a CSV or TSV file (``fmt``) as written in its first line: the
    CSV reader renames a repeated ``cat`` to ``cat.1``, this does not."""
    import csv

    opener = gzip.open if Path(path).suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding=check_encoding(encoding),  # type: ignore[operator]
                newline="") as fh:
        first = fh.readline().removeprefix("\ufeff")
    delimiter = check_sep(sep) or ("," if fmt == "csv" else "\t")
    try:
        return next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    except csv.Error as err:  # e.g. a name longer than the csv module's field limit
        raise InputError(f"{path}: line 1 (the header) cannot be parsed ({err}).") from None


def check_unique_header(path: str | os.PathLike[str], fmt: str, where: str) -> None:
    """Raise :class:`InputError` when a column name repeats in the header of a CSV or
    TSV file (``fmt``): the CSV reader renames the second ``cat`` to ``cat.1``, which
    would make it a class of its own."""
    check_unique_columns(text_header(path, fmt), where)


def check_unique_columns(names: Sequence[Any], where: str, what: str = "class") -> None:
    """Raise :class:`InputError` naming the first column name that appears twice (each
    ``what``, a class or a rule, has one column)."""
    seen: dict[str, int] = {}
    for j, column in enumerate(str(c) for c in names):
        if column in seen:
            raise InputError(
                f"{where}: column {column!r} appears more than once (columns {seen[column] + 1} "
                f"and {j + 1}); each {what} has one column."
            )
        seen[column] = j


def _check_no_nul(path: str | os.PathLike[str], p: Path, fmt: str) -> None:
    """Raise :class:`InputError` when the (uncompressed) file holds a NUL byte, which no
    text table has: a file padded with NULs (preallocated, or cut short by a crash)
    would otherwise be parsed in full, slowly and into a misleading error. One scan of
    the mapped file (``memchr``), a small fraction of the time parsing it takes."""
    if p.suffix.lower() == ".gz":
        return
    import mmap

    try:
        with open(p, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            at = mm.find(b"\x00")
    except (OSError, ValueError):  # not mappable (a pipe, a special file): leave it to the parser
        return
    if at >= 0:
        raise InputError(
            f"{path}: holds NUL bytes (the first at byte {at:,}), which {fmt} text never "
            "does; is the file truncated, preallocated or binary?"
        )


@_uninterrupted
def read_table(
    path: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    columns: list[str] | None = None,
    id_columns: Sequence[str] = (),
    sep: str | None = None,
    encoding: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Read a CSV, TSV, Parquet or JSON-lines file into a DataFrame.

    ``id_columns`` of a CSV or TSV file are kept as written, so ids such as ``007`` and
    ``7`` stay distinct: a column that parses as numbers stays numeric only when every
    value is written as a plain integer (see :func:`ids_from_text`), else it is text;
    ``NA``, ``None`` or ``null`` there are text too (only an empty cell is missing).
    ``sep`` (one character; default ``,`` for CSV and a tab for TSV) and ``encoding``
    (default UTF-8) apply to text files; a ``sep`` for a Parquet or JSON-lines file is
    an error. ``progress(bytes_read, file_bytes)`` is called as a text file is parsed.

    Raises :class:`InputError` naming the file when it is missing, empty, binary where
    text was expected (or the reverse), not in the encoding, or not parseable.

    Parameters
    ----------
    path : str or path
        The file.
    fmt : {"csv", "tsv", "parquet", "jsonl"}, optional
        Default: from the extension (:func:`table_format`).
    columns : list of str, optional
        Read only these columns of a CSV, TSV or Parquet file (a JSON-lines file is
        read whole).
    id_columns : sequence of str, default=()
        Columns of ids, read as written.
    sep : str, optional
        Field separator of a text file.
    encoding : str, optional
        Encoding of a text file.
    progress : callable, optional
        ``progress(bytes_read, file_bytes)``.

    Returns
    -------
    DataFrame
    """
    sep, encoding = check_sep(sep), check_encoding(encoding)
    p = check_readable(path)
    fmt = fmt or table_format(p)
    if sep is not None and fmt not in ("csv", "tsv"):
        raise InputError(f"{path}: a field separator applies to CSV or TSV text, not {fmt}.")
    head = _head(p)
    if fmt == "parquet":
        if not head.startswith(_PARQUET_MAGIC):
            raise InputError(
                f"{path}: the content is not Parquet although the extension says so."
            )
        try:
            with _arrow_without_signal_handlers():
                frame = pd.read_parquet(p, columns=columns)
        except Exception as err:  # pyarrow raises many types for corrupt files
            reason = " ".join(str(err).split())  # some run over several lines
            raise InputError(f"{path}: not a readable Parquet file ({reason}).") from None
        _check_utf8(frame, path)
        return _flat_columns(frame, path, "data row")
    _check_text_head(path, head, fmt, p, encoding)
    if fmt == "jsonl" and head.decode(encoding, "replace").lstrip("\ufeff \t\r\n")[:1] == "[":
        raise InputError(f"{path}: holds a JSON array; JSON lines has one object per line, no "
                         "enclosing [ ] (e.g. jq -c '.[]' turns one into the other). A Label "
                         "Studio export is read by softlabels.read_annotations.")
    try:
        if fmt in ("csv", "tsv"):
            sep = sep or ("," if fmt == "csv" else "\t")
            with _counted(p, progress) as source:
                frame = pd.read_csv(source, sep=sep, usecols=columns, encoding=encoding,
                                    **_EXACT_FLOATS)
            ids = [c for c in dict.fromkeys(id_columns) if c in frame.columns]
            # "NA", "None", "null"... are ids or labels there: only an empty cell is missing
            missing = [c for c in ids if frame[c].isna().any()]
            if missing:
                _missing_as_written(p, sep, frame, missing, encoding)
            # only a column parsed as numbers can have lost how it was written
            numeric = [c for c in ids if c not in missing and frame[c].dtype.kind in "iuf"]
            if numeric:
                _ids_as_written(p, sep, frame, numeric, encoding)
        else:  # JSON types as written: the string "007" stays a string, dates stay text
            if encoding == "utf-8":  # read through a byte-order mark, as CSV is
                encoding = "utf-8-sig"
            frame = pd.read_json(p, lines=True, encoding=encoding, **_JSON_AS_WRITTEN)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file has no data.") from None
    except (pd.errors.ParserError, ValueError, TypeError, UnicodeDecodeError,
            *_BROKEN_GZIP) as err:  # TypeError: a JSON line that is not an object
        if fmt == "jsonl":
            _check_json_objects(p, path, encoding)
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"{path}: cannot be parsed as {fmt} ({msg}).") from None
    if fmt == "jsonl":
        frame = _flat_columns(frame, path, "line")
    return frame


def _check_json_objects(p: Path, path: str | os.PathLike[str], encoding: str) -> None:
    """Raise :class:`InputError` naming the first line of a JSON-lines file that is
    valid JSON but not an object (pandas fails on one with an unrelated message)."""
    kinds = {list: "a list", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    opener = gzip.open if p.suffix.lower() == ".gz" else open
    try:
        with opener(p, "rt", encoding=encoding) as fh:  # type: ignore[operator]
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except ValueError:
                    return  # not JSON: the parser's own message says so
                if not isinstance(value, dict):
                    raise InputError(f"{path}: line {n} is {kinds.get(type(value), 'not an object')}"
                                     ", not a JSON object; JSON lines has one object per line.")
    except (OSError, UnicodeError, *_BROKEN_GZIP):  # e.g. UTF-16 without a byte-order mark
        return


#: An integer written plainly: no ``+``, no leading zero, no decimal point, at most 19
#: digits (int64 holds every 18-digit one; a 19-digit one is checked against its range).
_PLAIN_INT = r"0|-?[1-9][0-9]{0,18}"


def ids_from_text(values: pd.Series) -> pd.Series:
    """Ids read as text: integers when every value is one written plainly (``"12"`` or
    ``"-4"``, not ``"012"``, ``"+12"`` or ``"1.0"``) that fits int64, else the text
    unchanged. A missing
    value keeps the column as text (the caller names its row).

    Parameters
    ----------
    values : Series
        A column as read from a text file.

    Returns
    -------
    Series
    """
    if values.empty or not pd.api.types.is_string_dtype(values) or values.isna().any():
        return values
    if not values.str.fullmatch(_PLAIN_INT).all():
        return values
    try:
        return values.astype(np.int64)
    except (OverflowError, ValueError):  # beyond int64: 19-digit ids from 2**63 on
        return values


class _CountingReader(io.RawIOBase):
    """A binary file that reports how many of its bytes were read so far."""

    def __init__(self, fh: Any, total: int, progress: Callable[[int, int], None]) -> None:
        super().__init__()
        self._fh, self._total, self._progress, self.done = fh, total, progress, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._fh.readinto(buffer)
        self.done += n
        self._progress(self.done, self._total)
        return n

    def tell(self) -> int:
        return self.done


@contextlib.contextmanager
def _counted(p: Path, progress: Callable[[int, int], None] | None) -> Iterator[Any]:
    """``p`` itself, or (given ``progress``) an open reader that counts its bytes; for a
    gzipped file, uncompressed bytes with an unknown total (0)."""
    if progress is None:
        yield p
        return
    gz = p.suffix.lower() == ".gz"
    total = 0 if gz else p.stat().st_size
    with (gzip.open if gz else open)(p, "rb") as fh:
        counter = _CountingReader(fh, total, progress)
        yield io.BufferedReader(counter, buffer_size=1 << 20)
    progress(counter.done if gz else total, total)


def _ids_as_written(
    p: Path, sep: str, frame: pd.DataFrame, columns: list[str], encoding: str = "utf-8"
) -> None:
    """Put back, in ``frame``, the ``columns`` that parsed as numbers as they were
    written: left as parsed when every value is a plain integer (pandas then read them
    as int64), else their text (see :func:`ids_from_text`). One pyarrow read of those columns as text, 10-20x
    faster than pandas' text columns; pandas reads them where pyarrow cannot or counts
    the rows differently."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    try:
        with _arrow_without_signal_handlers():
            table = pacsv.read_csv(
                p,
                read_options=pacsv.ReadOptions(encoding=encoding),
                parse_options=pacsv.ParseOptions(delimiter=sep),
                convert_options=pacsv.ConvertOptions(
                    include_columns=columns,
                    column_types=dict.fromkeys(columns, pa.string()),
                    strings_can_be_null=True,
                ),
            )
    except (pa.ArrowException, OSError):
        table = None
    if table is None or table.num_rows != len(frame):
        text = pd.read_csv(p, sep=sep, usecols=columns, dtype=str, encoding=encoding)
        for column in columns:
            frame[column] = ids_from_text(text[column])
        return
    for column in columns:
        values = table.column(column)
        plain = frame[column].dtype == np.int64 and values.null_count == 0 and pc.all(
            pc.match_substring_regex(values, f"^(?:{_PLAIN_INT})$")
        ).as_py()  # pandas parses ids beyond int64 as uint64 or float: inexact
        if not plain:
            text = pd.Series(values.to_pylist(), index=frame.index, dtype=object)
            frame[column] = ids_from_text(text)


def _missing_as_written(
    p: Path, sep: str, frame: pd.DataFrame, columns: list[str], encoding: str = "utf-8"
) -> None:
    """Put back, in ``frame``, the ``columns`` that have missing values as they were
    written: pandas reads ``NA``, ``None``, ``null``, ``nan``, ``N/A`` and the like as
    missing, but in an id or label column they are values. Only an empty cell stays
    missing; see :func:`ids_from_text` for the rest."""
    text = pd.read_csv(p, sep=sep, usecols=columns, dtype=str, keep_default_na=False,
                       encoding=encoding)
    if len(text) != len(frame):  # counted differently: leave pandas' reading
        return
    for column in columns:
        values = text[column].to_numpy(dtype=object)
        values[values == ""] = None
        frame[column] = ids_from_text(pd.Series(values, index=frame.index, dtype=object))


def _check_utf8(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Raise :class:`InputError` naming a text column of a Parquet file that holds bytes
    that are not UTF-8: Parquet does not check them, and pandas keeps pyarrow-backed
    text as read, so they would fail later, in whatever first looks at the values."""
    import pyarrow as pa

    for column in frame.columns:
        values = frame[column].array
        if not hasattr(values, "__arrow_array__") or not pd.api.types.is_string_dtype(values):
            continue  # Python strings (decoded on reading) or not text
        try:
            pa.array(values).validate(full=True)
        except pa.ArrowInvalid as err:
            raise InputError(
                f"{path}: column {column!r} holds text that is not UTF-8 ({err})."
            ) from None


@contextlib.contextmanager
def _arrow_without_signal_handlers() -> Iterator[None]:
    """pyarrow's own SIGINT handling off during a read: a signal that arrives while its
    reader threads start could crash the process (a segmentation fault, not an
    exception). Python's handler then runs as soon as the read returns."""
    import pyarrow as pa

    pa.enable_signal_handlers(False)
    try:
        yield
    finally:
        pa.enable_signal_handlers(True)


def _flat_columns(frame: pd.DataFrame, path: str | os.PathLike[str], row: str) -> pd.DataFrame:
    """Refuse nested values (JSON lists and objects, Parquet lists and structs); read a
    column that mixes numbers, booleans and text as text, as a CSV reader would."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) not in (
            "mixed", "mixed-integer", "mixed-integer-float"
        ):
            continue
        nested = values.map(lambda v: isinstance(v, (list, dict, np.ndarray))).to_numpy(dtype=bool)
        if nested.any():
            r = int(np.argmax(nested))
            kind = "an object" if isinstance(values.iloc[r], dict) else "a list"
            raise InputError(
                f"{path}: {row} {r + 1}, field {column!r} holds {kind}; every field must be "
                "a single value (text, number or boolean)."
            )
        frame[column] = values.where(values.isna(), values.astype(str))
    return frame


_ARRAY_FORMATS = {
    ".npy": "npy",
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_NPY_MAGIC = b"\x93NUMPY"


@_uninterrupted
def read_array(path: str | os.PathLike[str], *, name: str | None = None) -> np.ndarray:
    """Read a numeric array (features, labels, logits, probabilities) from a file.

    Formats, by extension:

    * ``.npy``: loaded as stored, without pickle; an object array is refused.
    * ``.csv`` / ``.tsv`` / ``.txt`` (comma-separated), optionally gzipped (``.csv.gz``):
      the first row is a header when any of its cells is not a number, otherwise it
      is data. Every other cell must be a number.
    * ``.parquet`` / ``.pq``: every column must be numeric.

    A table with a single column gives a 1-D array and one with several columns a 2-D
    array (``int64`` when every cell is an integer, else ``float64``). Every value must
    be finite.

    Parameters
    ----------
    path : str or path-like
    name : str, optional
        What the file holds (a command-line option such as ``--features``), put before
        the path in error messages.

    Returns
    -------
    ndarray

    Raises
    ------
    InputError
        Naming the file when it is missing, empty, of an unsupported extension, binary
        where text was expected (or the reverse), ragged, or holds a value that is not a
        finite number (the message gives its line and column, counted from 1 with the
        header as line 1, or its row and column for ``.npy`` and Parquet, counted from 0).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = f.write_text("a,b\\n1,2.5\\n3,4\\n")
    >>> read_array(f)
    array([[1. , 2.5],
           [3. , 4. ]])
    """
    where = str(path) if name is None else f"{name} ({path})"
    try:
        return _read_array(path, where)
    except InputError as err:
        if name is None or str(err).startswith(where):
            raise
        raise InputError(f"{name}: {err}") from None


def _read_array(path: str | os.PathLike[str], where: str) -> np.ndarray:
    suffixes = [s.lower() for s in Path(path).suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    ext = (suffixes[:-1] if gz else suffixes)[-1:] or [""]
    fmt = _ARRAY_FORMATS.get(ext[0])
    if fmt is None or (gz and fmt not in ("csv", "tsv")):
        shown = "".join(ext + [".gz"] if gz else ext) or "(none)"
        raise InputError(
            f"{where}: cannot read an array from a {shown!r} file; use .npy, .csv, .tsv "
            "(optionally gzipped: .csv.gz) or .parquet."
        )
    p = check_readable(path)
    if fmt == "parquet":
        arr = _parquet_array(read_table(p, fmt="parquet"), where)
    elif fmt == "npy":
        arr = _npy_array(p, where)
    else:
        head = _head(p)
        _check_text_head(where, head, fmt, p)
        arr = _text_array(p, fmt, where)
    if arr.size == 0:
        raise InputError(f"{where}: the file holds no values.")
    return arr


def _npy_array(p: Path, where: str) -> np.ndarray:
    import tokenize

    with open(p, "rb") as fh:
        if fh.read(len(_NPY_MAGIC)) != _NPY_MAGIC:
            raise InputError(f"{where}: not a NumPy .npy file although the extension says so.")
    try:
        _check_npy_size(p, where)
        arr = np.load(p, allow_pickle=False)
    except InputError:
        raise
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise InputError(
                f"{where}: holds a pickled object array; save a numeric array instead."
            ) from None
        raise InputError(f"{where}: not a readable .npy file ({err}).") from None
    except tokenize.TokenError as err:  # brackets of the header cut or damaged
        raise InputError(f"{where}: not a readable .npy file (damaged header: "
                         f"{err.args[0] if err.args else err}).") from None
    except (OSError, EOFError) as err:
        raise InputError(f"{where}: not a readable .npy file ({err}).") from None
    if arr.dtype.kind not in "biuf" or arr.ndim == 0:
        raise InputError(
            f"{where}: expected a numeric array of at least one dimension; got dtype "
            f"{arr.dtype} and shape {arr.shape}."
        )
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InputError(
                f"{where}: {int(bad.sum())} values are not finite numbers (first at index {first})."
            )
    return arr


def _check_npy_size(p: Path, where: str) -> None:
    """Raise :class:`InputError` when the header of a ``.npy`` file (format 1.0 or 2.0)
    promises more bytes than the file holds: a damaged header (or a cut file) would
    otherwise make ``np.load`` allocate whatever size it says before reading."""
    from numpy.lib import format as npy

    with open(p, "rb") as fh:
        version = npy.read_magic(fh)
        if version not in ((1, 0), (2, 0)):
            return  # np.load reads (and checks) the other versions
        read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, _, dtype = read_header(fh)
        follow = p.stat().st_size - fh.tell()
    if dtype.hasobject:
        return  # pickled: refused by np.load
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if need > follow:
        raise InputError(
            f"{where}: not a readable .npy file (the header says shape {shape} of {dtype}, "
            f"{need:,} bytes, but {follow:,} bytes follow: is it cut short or damaged?)."
        )


def _parquet_array(frame: pd.DataFrame, where: str) -> np.ndarray:
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise InputError(
                f"{where}: column {column!r} is not numeric (dtype {frame[column].dtype})."
            )
    columns = [frame[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in frame.columns]
    values = np.column_stack(columns) if columns else np.empty((0, 0))
    bad = ~np.isfinite(values)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(
            f"{where}: row {r}, column {frame.columns[c]!r} is {values[r, c]} "
            "(every value must be a finite number)."
        )
    if all(pd.api.types.is_integer_dtype(frame[c]) for c in frame.columns):
        values = values.astype(np.int64)
    return values[:, 0] if values.shape[1] == 1 else values


def _text_array(p: Path, fmt: str, where: str) -> np.ndarray:
    try:
        cells = pd.read_csv(
            p,
            sep="," if fmt == "csv" else "\t",
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"{where}: the file has no data.") from None
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError, *_BROKEN_GZIP) as err:
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"{where}: cannot be parsed as {fmt} ({msg}).") from None
    text = cells.to_numpy(dtype=object)
    filled = (text != "").any(axis=1)
    text = text[: len(filled) - int(np.argmax(filled[::-1]))] if filled.any() else text[:0]
    line = 1
    header: list[str] | None = None
    if len(text) and any(not _is_number(cell) for cell in text[0] if cell.strip()):
        header = list(text[0])
        text, line = text[1:], 2
    if len(text) == 0:
        raise InputError(f"{where}: the file has a header but no data rows.")
    values = _parse_numbers(text)
    bad = ~np.isfinite(values.astype(np.float64))
    if bad.any():
        r, c = (int(i) for i in np.argwhere(bad)[0])
        column = f"column {c + 1}" + (f" ({header[c]!r})" if header else "")
        cell = text[r, c]
        what = ("the cell is empty" if not cell.strip()
                else f"{shortened(cell)!r} is not a finite number")
        raise InputError(f"{where}: line {r + line}, {column}: {what}.")
    if values.dtype.kind not in "iu":
        values = values.astype(np.float64)
    return values[:, 0] if values.shape[1] == 1 else values


def _parse_numbers(text: np.ndarray) -> np.ndarray:
    """Cells as int64 when all are integers, else float64 (Python's ``int``/``float``:
    exact, where pandas < 3 parses floats approximately); a cell that is not a number
    becomes NaN, for the caller to name. Spellings only Python reads as numbers (digit
    separators such as ``1_0``, non-ASCII digits) are not numbers."""
    cells = text.ravel().tolist()
    joined = "".join(cells)
    plain = joined.isascii() and "_" not in joined
    for dtype in (np.int64, np.float64) if plain else ():
        try:
            return np.array(text, dtype=dtype)
        except (ValueError, OverflowError):
            continue
    values = np.array(pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce"),
                      dtype=np.float64)
    if not plain:
        values[[not c.isascii() or "_" in c for c in cells]] = np.nan
    return values.reshape(text.shape)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_PENDING: contextvars.ContextVar[list[tuple[str, Path]] | None] = contextvars.ContextVar(
    "softlabels_pending_writes", default=None
)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    On any error the temporary file is removed and ``path`` is left untouched. Inside
    :func:`all_or_nothing` the rename waits until the whole block has succeeded.

    Parameters
    ----------
    path : str or path
        The file to write, in an existing folder (otherwise :class:`InputError`).

    Yields
    ------
    str
        The temporary path to write to.
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise InputError(f"{path}: the folder {parent} does not exist.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as err:
        raise _write_error(path, err) from None
    pending = _PENDING.get()
    try:
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        yield tmp
        if pending is None:
            os.replace(tmp, target)
        else:
            pending.append((tmp, target))
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):  # a full disk, a quota, a folder made read-only
            raise _write_error(path, err) from None
        raise


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str], *, replace: bool = True) -> Iterator[Path]:
    """Yield a new, empty temporary folder beside ``path``; on success rename it onto
    ``path``, replacing an existing folder there only once the new one is complete.

    On any error the temporary folder is removed and ``path`` is left as it was; a
    failed write (a full disk, a quota) is a one-line :class:`OutputError`. Whether an
    existing ``path`` may be replaced is for the caller to check first; with
    ``replace=False`` a folder that appeared at ``path`` in the meantime (another
    process writing the same path) is kept and the write is an :class:`InputError`
    (the rename itself refuses a non-empty folder: no check-then-write race).

    Parameters
    ----------
    path : str or path
        The folder to write, in an existing parent (otherwise :class:`InputError`).
    replace : bool, default=True
        Whether an existing folder at ``path`` is replaced.

    Yields
    ------
    Path
        The temporary folder to write into.
    """
    import shutil

    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{path}: the folder {parent} does not exist.")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    except OSError as err:
        raise _write_error(path, err) from None
    old = tmp.with_suffix(".old")
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the usual permissions
        yield tmp
        if not replace:
            try:
                os.rename(tmp, target)  # fails on a non-empty folder, atomically
            except OSError as err:
                if err.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
                raise InputError(f"{path}: already exists (written meanwhile); "
                                 "nothing was written there.") from None
        elif target.exists():
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException as err:
        if old.exists() and not target.exists():  # moved aside, the new one not in: put it back
            with contextlib.suppress(OSError):
                os.replace(old, target)
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError):
            raise _write_error(path, err) from None
        raise


class OutputError(InputError, OSError):
    """An output could not be written (a full disk, a read-only folder, a quota): an
    :class:`InputError` naming the path, for the command line's one-line errors, and
    still an ``OSError`` with the original ``errno`` for callers that catch that."""


def _write_error(path: str | os.PathLike[str], err: OSError) -> OutputError:
    """The one-line error for an output that could not be written."""
    reason = err.strerror or (str(err).splitlines()[0] if str(err) else type(err).__name__)
    error = OutputError(f"{path}: cannot be written ({reason}); nothing was written there.")
    error.errno = err.errno
    return error


@contextlib.contextmanager
def all_or_nothing() -> Iterator[None]:
    """Hold back every :func:`atomic_path` write made inside the block and put them all
    in place only when the block succeeds; on an error inside the block none of the
    targets changes. (Should moving one into place fail, those before it stay moved and
    no temporary file is left.)

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> try:
    ...     with all_or_nothing():
    ...         write_frame(pd.DataFrame({"a": [1]}), d / "one.csv")
    ...         raise RuntimeError("the second write failed")
    ... except RuntimeError:
    ...     pass
    >>> sorted(p.name for p in d.iterdir())
    []
    """
    pending: list[tuple[str, Path]] = []
    token = _PENDING.set(pending)
    done, moving = 0, False
    try:
        try:
            yield
        finally:
            _PENDING.reset(token)
        moving = True
        for tmp, target in pending:
            os.replace(tmp, target)
            done += 1
    except BaseException as err:  # the block, a move, or a stop signal at any point: the
        for left, _ in pending[done:]:  # files not moved yet are removed (those before
            with contextlib.suppress(OSError):  # a failed move stay in place)
                os.unlink(left)
        if moving and isinstance(err, OSError):
            raise _write_error(pending[done][1], err) from None
        raise


def csv_quoting(frame: pd.DataFrame, path: str | os.PathLike[str]) -> int:
    """How to quote ``frame`` as CSV so that it reads back as written: ``csv.QUOTE_MINIMAL``,
    or ``csv.QUOTE_NONNUMERIC`` when some text holds a carriage return (the writer leaves
    it unquoted, and a reader takes it for the end of the line). Text with a NUL
    character raises :class:`InputError` naming the file and column: a text file cannot
    hold one.

    Parameters
    ----------
    frame : DataFrame
        The table to write.
    path : str or path
        The file it goes to, for the error message.

    Returns
    -------
    int
        A ``csv`` quoting constant for ``DataFrame.to_csv``.
    """
    import csv

    quoting = csv.QUOTE_MINIMAL
    names = pd.Series([str(c) for c in frame.columns], dtype=object)
    texts = [("the header", names)] + [
        (f"column {str(c)!r}", frame.iloc[:, j]) for j, c in enumerate(frame.columns)
        if frame.dtypes.iloc[j] == object or pd.api.types.is_string_dtype(frame.dtypes.iloc[j])
    ]
    for what, values in texts:
        try:
            nul = values.str.contains("\x00", regex=False, na=False).to_numpy(dtype=bool)
            cr = values.str.contains("\r", regex=False, na=False).to_numpy(dtype=bool)
        except AttributeError:  # no text in the column (.str refuses it)
            continue
        if nul.any():
            raise InputError(
                f"{path}: {what} holds text with a NUL character (row {np.flatnonzero(nul)[0]}),"
                " which a text file cannot hold; save as .parquet or .jsonl."
            )
        if cr.any():
            quoting = csv.QUOTE_NONNUMERIC
    return quoting


def write_frame(frame: pd.DataFrame, path: str | os.PathLike[str], **kwargs: Any) -> None:
    """Write a DataFrame to ``.csv``, ``.tsv``, ``.parquet`` or ``.jsonl`` (by extension;
    a text format gzipped when the name ends in ``.gz``), atomically."""
    fmt = table_format(path)
    gz = Path(path).suffix.lower() == ".gz"
    if gz and fmt == "parquet":
        raise InputError(f"{path}: Parquet is compressed inside; drop the .gz.")
    # the temporary file's name does not end in .gz: say so, or it is written plain
    compression = "gzip" if gz else None
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            frame.to_parquet(tmp, index=False, **kwargs)
        elif fmt in ("csv", "tsv"):
            kwargs.setdefault("quoting", csv_quoting(frame, path))
            frame.to_csv(tmp, index=False, sep="," if fmt == "csv" else "\t",
                         compression=compression, **kwargs)
        else:
            frame.to_json(tmp, orient="records", lines=True, compression=compression, **kwargs)
