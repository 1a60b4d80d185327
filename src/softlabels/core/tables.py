"""Probability tables: read them, put their classes in one order, match their items.

A probability table is either

* a **softlabels table** (``item, label, confidence`` [``, support``], then one column
  per class, as written by :meth:`SoftLabels.to_frame`), read as a
  :class:`~softlabels.SoftLabels` that knows its classes and item ids, or
* a **plain matrix**: one row per item, one column per class, nothing else (a header of
  names is allowed in a file, and ignored).

Predicted probabilities, soft labels and calibrated outputs all come in these two forms.
:func:`read_probs` reads either from a file or a DataFrame; :func:`read_labels` reads
class indices. Two tables that should describe the same items are matched with
:func:`match_classes` (class columns put in one order, by name) and
:func:`align_items` (the same item ids, in the same order, or reordered by id); given
labels are checked against their probabilities with :func:`match_labels`. Every error
is an :class:`~softlabels.core.errors.InputError` that names the input (the file, when
read from one), and the row, item or class at fault. The command line
(``softlabels audit``, ``conformal``, ``calibrate``, ``report``) calls these functions.

Probabilities get the tolerance of model outputs
(:func:`~softlabels.core.validation.check_pred_probs`): rows that sum to 1 within
:data:`~softlabels.core.validation.PRED_ATOL` are renormalised with a warning.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd

from softlabels.core.annotations import show
from softlabels.core.errors import InputError
from softlabels.core.io import (
    check_unique_columns,
    check_unique_header,
    read_array,
    read_table,
    table_format,
)
from softlabels.core.soft import RESERVED_COLUMNS, SoftLabels
from softlabels.core.validation import check_labels, check_pred_probs

__all__ = [
    "read_probs",
    "read_labels",
    "class_order",
    "match_classes",
    "align_items",
    "match_labels",
]

#: What :func:`read_probs` returns: a SoftLabels (from a softlabels table) or a plain
#: ``(n_items, n_classes)`` float64 matrix.
Probs = Union[SoftLabels, np.ndarray]

_PathLike = (str, os.PathLike)


# ----------------------------------------------------------------------- reading
def read_probs(source: Any, *, name: str | None = None) -> Probs:
    """Read probabilities: a softlabels table gives a SoftLabels, anything else a matrix.

    Parameters
    ----------
    source : path, DataFrame, SoftLabels or array-like
        A file (``.npy``, ``.csv``, ``.tsv``, ``.parquet``; see
        :func:`~softlabels.core.io.read_array` and :func:`~softlabels.core.io.read_table`;
        or the JSON lines of :meth:`SoftLabels.to_jsonl <softlabels.SoftLabels.to_jsonl>`,
        optionally gzipped),
        a DataFrame, or values already in memory. A table with an ``item`` column, or
        with both ``label`` and ``confidence``, is a softlabels table; its class columns
        are every other column (``support`` aside). Any other table is a plain matrix:
        its column names are not kept.
    name : str, optional
        What the values are (``"predicted probabilities"``), put in error messages
        before the path.

    Returns
    -------
    SoftLabels or ndarray of shape (n_items, n_classes)
        Rows sum to 1: rows off by at most
        :data:`~softlabels.core.validation.PRED_ATOL` are renormalised with a
        :class:`~softlabels.core.errors.ProbabilityWarning`.

    Raises
    ------
    InputError
        Naming the input and what is wrong: a missing ``item``/``label``/``confidence``
        column, a class column that is not numeric or appears twice, a duplicated item
        id, a missing value (with its row, item and class), a row that does not sum to
        1, fewer than two classes, no rows, or any reading error of the file.

    Notes
    -----
    A text matrix whose first row is ``0,1,...,K-1`` (pandas' default header, and the
    header ``softlabels calibrate`` writes) has that row read as its header. With two
    classes ``0,1`` is also a valid row of probabilities: it is a header only when the
    other rows are not all integers (a one-hot matrix keeps it as data).

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"item": ["a", "b"], "label": ["dog", "cat"],
    ...                       "confidence": [0.8, 0.6], "cat": [0.2, 0.6], "dog": [0.8, 0.4]})
    >>> soft = read_probs(table)
    >>> soft.classes.tolist(), soft.item_ids.tolist()
    (['cat', 'dog'], ['a', 'b'])
    >>> read_probs(pd.DataFrame({"p0": [0.9, 0.3], "p1": [0.1, 0.7]}))
    array([[0.9, 0.1],
           [0.3, 0.7]])
    >>> read_probs(pd.DataFrame({"p0": [0.9, 0.3], "p1": [0.1, 0.6]}), name="scores")
    Traceback (most recent call last):
    ...
    softlabels.core.errors.InputError: scores: 1 rows do not sum to 1 (row 1 sums to 0.9; tolerance 0.0001). Pass probabilities, not logits or scores.
    """
    if isinstance(source, SoftLabels):
        return source
    if isinstance(source, pd.DataFrame):
        return _probs_from_frame(source, name or "probs")
    if not isinstance(source, _PathLike):
        return check_pred_probs(source, name=name or "probs")
    path = Path(source)
    where = str(source) if name is None else f"{name} ({source})"
    what = name or "probabilities"
    header: list[str] = []
    if _soft_label_lines(path):
        try:
            return SoftLabels.read_jsonl(path)
        except InputError as exc:
            raise InputError(str(exc) if name is None else f"{name}: {exc}") from None
    if path.suffix.lower() != ".npy":
        try:
            frame = read_table(path, id_columns=("item",))
        except InputError as exc:
            raise InputError(str(exc) if name is None else f"{name}: {exc}") from None
        header = [str(c) for c in frame.columns]
        if _is_soft_label_table(header):
            fmt = table_format(path)
            if fmt in ("csv", "tsv"):
                check_unique_header(path, fmt, where)
            return _soft_label_table(frame, where)
        if table_format(path) not in ("csv", "tsv"):
            header = []
    values = read_array(path, name=name)
    if values.ndim != 2:
        got = "one column" if values.ndim == 1 else f"shape {values.shape}"
        raise InputError(f"{source}: {what} must have one column per class; got {got}.")
    if header and _class_index_header(header, values):
        if len(values) == 1:
            raise InputError(f"{where}: the file has a header but no data rows.")
        values = values[1:]
    return check_pred_probs(values, name=where)


def _soft_label_lines(path: Path) -> bool:
    """Whether ``path`` holds soft labels as :meth:`SoftLabels.to_jsonl` writes them
    (gzipped or not): JSON lines whose first object has a ``probs`` object."""
    suffixes = [s.lower() for s in path.suffixes]
    gz = suffixes[-1:] == [".gz"]
    if (suffixes[:-1] if gz else suffixes)[-1:] not in ([".jsonl"], [".ndjson"], [".json"]) \
            or not path.is_file():
        return False
    opener: Any = gzip.open if gz else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", errors="replace") as fh:
            first = next((line for line in fh if line.strip()), "")
    except (OSError, EOFError, zlib.error):  # a damaged .gz: the table reader names it
        return False
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(record, dict) and isinstance(record.get("probs"), dict)


def _is_soft_label_table(columns: list[str]) -> bool:
    return "item" in columns or {"label", "confidence"} <= set(columns)


def _class_index_header(columns: list[str], values: np.ndarray) -> bool:
    """Whether the first row of a text matrix, read as data, is the header ``0..K-1``
    (see the notes of :func:`read_probs`)."""
    k = values.shape[1]
    if columns != [str(j) for j in range(k)] or not np.array_equal(values[0], np.arange(k)):
        return False
    return k >= 3 or values.dtype.kind == "f"


def _probs_from_frame(frame: pd.DataFrame, where: str) -> Probs:
    columns = [str(c) for c in frame.columns]
    if _is_soft_label_table(columns):
        return _soft_label_table(frame, where)
    for c in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[c]):
            raise InputError(f"{where}: column {str(c)!r} is not numeric (dtype {frame[c].dtype}).")
    return check_pred_probs(frame.to_numpy(dtype=np.float64, na_value=np.nan), name=where)


def _soft_label_table(frame: pd.DataFrame, where: str) -> SoftLabels:
    """A SoftLabels from a softlabels table, with the predicted-probability tolerance."""
    columns = [str(c) for c in frame.columns]
    missing = [c for c in ("item", "label", "confidence") if c not in columns]
    if missing:
        shown = ", ".join(columns[:8]) + (", ..." if len(columns) > 8 else "")
        raise InputError(
            f"{where}: a softlabels table has the columns item, label, confidence and one "
            f"per class; no {' or '.join(map(repr, missing))} column (columns: {shown})."
        )
    check_unique_columns(columns, where)
    if len(frame) == 0:
        raise InputError(f"{where}: the table has a header but no data rows.")
    repeated = frame["item"].astype(str).duplicated().to_numpy()
    if repeated.any():
        j = int(np.argmax(repeated))
        i = int(np.argmax(frame["item"].astype(str).to_numpy() == str(frame["item"].iloc[j])))
        raise InputError(
            f"{where}: item {show(frame['item'].iloc[j])} appears more than once (rows {i} "
            f"and {j}); each item has one row."
        )
    class_cols = [c for c in frame.columns if str(c) not in RESERVED_COLUMNS]
    for c in class_cols:
        if not pd.api.types.is_numeric_dtype(frame[c]):
            raise InputError(f"{where}: class column {str(c)!r} is not numeric.")
    values = frame[class_cols].to_numpy(dtype=np.float64, na_value=np.nan)
    nan = np.isnan(values)
    if nan.any():
        r, c = (int(i) for i in np.argwhere(nan)[0])
        raise InputError(
            f"{where}: row {r} (item {show(frame['item'].iloc[r])}), class "
            f"{str(class_cols[c])!r} is missing ({int(nan.sum())} missing values in all)."
        )
    frame = frame.copy()
    frame[class_cols] = check_pred_probs(values, name=where)
    try:
        return SoftLabels.from_frame(frame)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def read_labels(source: Any, *, name: str | None = None) -> np.ndarray:
    """Read class indices, one per item, from a file (or check values in memory).

    Parameters
    ----------
    source : path or array-like
        ``.npy``, ``.csv``, ``.tsv`` or ``.parquet`` with a single column (see
        :func:`~softlabels.core.io.read_array`), or a 1-D array-like.
    name : str, optional
        What the values are, put in error messages.

    Returns
    -------
    ndarray of shape (n_items,)
        As read (integer-valued floats stay floats): :func:`match_labels` checks them
        against the probabilities they label.

    Examples
    --------
    >>> read_labels([0, 2, 1])
    array([0, 2, 1])
    >>> read_labels([[0, 1], [1, 0]], name="labels")
    Traceback (most recent call last):
    ...
    softlabels.core.errors.InputError: labels must have one column (a class index per item); got 2 columns.
    """
    if isinstance(source, _PathLike):
        values = read_array(source, name=name)
        where = f"{source}: {name or 'labels'}"
    else:
        values = np.asarray(source)
        where = name or "labels"
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        got = f"{values.shape[1]} columns" if values.ndim == 2 else f"shape {values.shape}"
        raise InputError(f"{where} must have one column (a class index per item); got {got}.")
    return values


# ---------------------------------------------------------------------- matching
def _matrix(probs: Any) -> np.ndarray:
    return np.asarray(getattr(probs, "probs", probs))


def _class_names(probs: Any) -> list[str] | None:
    classes = getattr(probs, "classes", None)
    return None if classes is None else [str(c) for c in classes]


def _first_repeat(names: Sequence[str]) -> tuple[str, int, int] | None:
    seen: dict[str, int] = {}
    for j, n in enumerate(names):
        if n in seen:
            return n, seen[n], j
        seen[n] = j
    return None


def class_order(
    classes: Sequence[Any],
    reference: Sequence[Any],
    *,
    name: str = "classes",
    reference_name: str = "reference",
) -> np.ndarray:
    """The column indices that put ``classes`` in the order of ``reference``.

    Classes are compared by their string form (a column name ``"1"`` is class ``1``).
    ``probs[:, order]`` has the columns of ``reference``; to move class indices the
    other way (labels coded by ``classes`` to codes of ``reference``) use
    ``np.argsort(order)[labels]``.

    Parameters
    ----------
    classes : sequence
        The classes in their given order.
    reference : sequence
        The classes in the order wanted.
    name : str, default 'classes'
        Name of ``classes``, used in the error messages.
    reference_name : str, default 'reference'
        Name of ``reference``, used in the error messages.

    Returns
    -------
    numpy.ndarray of int
        The position in ``classes`` of each class of ``reference``.

    Raises
    ------
    InputError
        When a class appears twice in either list (naming it and both positions), or
        the two lists do not name the same classes (naming those missing and extra).

    Examples
    --------
    >>> class_order(["dog", "cat", "bird"], ["cat", "dog", "bird"]).tolist()
    [1, 0, 2]
    >>> class_order(["dog", "cow"], ["cat", "dog"], name="crowd.csv")
    Traceback (most recent call last):
    ...
    softlabels.core.errors.InputError: crowd.csv: classes ['dog', 'cow'] are not those of reference (['cat', 'dog']): no 'cat'; 'cow' is not a class there.
    """
    have, want = [str(c) for c in classes], [str(c) for c in reference]
    for label, names in ((name, have), (reference_name, want)):
        repeat = _first_repeat(names)
        if repeat is not None:
            cls, i, j = repeat
            raise InputError(
                f"{label}: class {cls!r} appears more than once (positions {i} and {j})."
            )
    position = {c: j for j, c in enumerate(have)}
    if set(have) != set(want):
        missing = [c for c in want if c not in position]
        extra = [c for c in have if c not in set(want)]
        parts = []
        if missing:
            parts.append("no " + ", ".join(map(repr, missing)))
        if extra:
            verb = "is not a class" if len(extra) == 1 else "are not classes"
            parts.append(f"{', '.join(map(repr, extra))} {verb} there")
        raise InputError(
            f"{name}: classes {have} are not those of {reference_name} ({want}): "
            f"{'; '.join(parts)}."
        )
    return np.array([position[c] for c in want], dtype=np.intp)


def match_classes(
    reference: Probs,
    other: Probs,
    *,
    name: str = "other",
    reference_name: str = "reference",
) -> Probs:
    """``other`` with its class columns in the order of ``reference``.

    Both must have as many class columns. When both are SoftLabels with class names
    (softlabels tables), the columns are matched by name and ``other`` comes back
    reordered, with the classes of ``reference``; a plain matrix has no names and is
    taken to be in the order of the other input already.

    Parameters
    ----------
    reference, other : SoftLabels or array-like of shape (n_items, n_classes)
    name, reference_name : str
        How error messages call ``other`` and ``reference`` (a file name, an option).

    Returns
    -------
    SoftLabels or ndarray
        ``other`` itself when there is nothing to reorder.

    Raises
    ------
    InputError
        When the class counts differ, or two tables do not name the same classes (see
        :func:`class_order`).

    Examples
    --------
    >>> from softlabels import SoftLabels
    >>> model = SoftLabels([[0.9, 0.1]], classes=["cat", "dog"])
    >>> crowd = SoftLabels([[0.3, 0.7]], classes=["dog", "cat"])
    >>> match_classes(model, crowd).probs.tolist()
    [[0.7, 0.3]]
    >>> match_classes(model, [[0.2, 0.3, 0.5]], name="crowd")
    Traceback (most recent call last):
    ...
    softlabels.core.errors.InputError: crowd: 3 class columns but reference has 2.
    """
    k, k_other = (_matrix(a).shape[-1] for a in (reference, other))
    if k != k_other:
        raise InputError(f"{name}: {k_other} class columns but {reference_name} has {k}.")
    names, other_names = _class_names(reference), _class_names(other)
    if names is None or other_names is None or names == other_names:
        return other
    order = class_order(other_names, names, name=name, reference_name=reference_name)
    return SoftLabels(
        other.probs[:, order],  # type: ignore[union-attr]
        reference.classes,  # type: ignore[union-attr]
        other.item_ids,  # type: ignore[union-attr]
        provenance=other.provenance,  # type: ignore[union-attr]
        support=other.support,  # type: ignore[union-attr]
    )


def align_items(
    reference: Probs,
    other: Probs,
    *,
    reorder: bool = False,
    name: str = "other",
    reference_name: str = "reference",
) -> Probs:
    """Check that ``other`` describes the items of ``reference``, row for row.

    Both must have as many rows. When both are SoftLabels, their item ids must also
    agree (compared by their string form): in the same order, or, with
    ``reorder=True``, as the same set, ``other`` then coming back with its rows in the
    order of ``reference``. A plain matrix has no ids: its rows are taken to be the
    items of the other input, in order.

    Parameters
    ----------
    reference, other : SoftLabels or array-like of shape (n_items, n_classes)
    reorder : bool, default False
        Match the items of two SoftLabels by id rather than require the same order.
    name, reference_name : str
        How error messages call ``other`` and ``reference``.

    Returns
    -------
    SoftLabels or ndarray
        ``other`` itself when the rows already match.

    Raises
    ------
    InputError
        Naming the first row whose item differs (and both ids); with ``reorder``, the
        items missing from ``other`` or not in ``reference`` (how many, and the first
        with its row), an id that two items share once written as text, or an input
        without item ids.

    Examples
    --------
    >>> from softlabels import SoftLabels
    >>> model = SoftLabels([[0.9, 0.1], [0.2, 0.8]], ["cat", "dog"], item_ids=["a", "b"])
    >>> crowd = SoftLabels([[0.4, 0.6], [1.0, 0.0]], ["cat", "dog"], item_ids=["b", "a"])
    >>> align_items(model, crowd, reorder=True).item_ids.tolist()
    ['a', 'b']
    >>> align_items(model, crowd, name="crowd")
    Traceback (most recent call last):
    ...
    softlabels.core.errors.InputError: crowd: the items are not those of reference, in the same order (row 0: item 'b' there, 'a' in reference).
    """
    n, n_other = len(_matrix(reference)), len(_matrix(other))
    ids, other_ids = (getattr(a, "item_ids", None) for a in (reference, other))
    if reorder:
        if ids is None or other_ids is None:
            without = reference_name if ids is None else name
            raise InputError(
                f"{without}: has no item ids, so its rows cannot be matched by id; give a "
                "softlabels table (with an item column) or the rows in the same order."
            )
        return _reorder_by_id(other, np.asarray(ids), np.asarray(other_ids), name, reference_name)
    if n != n_other:
        raise InputError(f"{name}: {n_other} rows but {reference_name} has {n}.")
    if ids is not None and other_ids is not None:
        differ = np.flatnonzero(np.asarray(ids).astype(str) != np.asarray(other_ids).astype(str))
        if differ.size:
            r = int(differ[0])
            raise InputError(
                f"{name}: the items are not those of {reference_name}, in the same order "
                f"(row {r}: item {show(other_ids[r])} there, {show(ids[r])} in "
                f"{reference_name})."
            )
    return other


def _reorder_by_id(
    other: Any, ids: np.ndarray, other_ids: np.ndarray, name: str, reference_name: str
) -> Any:
    # as objects: pandas' own text type fails on surrogates (file names in another encoding)
    keys = pd.Index(ids.astype(str), dtype=object)
    other_keys = pd.Index(other_ids.astype(str), dtype=object)
    for label, index, raw in ((reference_name, keys, ids), (name, other_keys, other_ids)):
        if index.has_duplicates:
            rows = np.flatnonzero(index == index[index.duplicated()][0])
            raise InputError(
                f"{label}: item {show(raw[rows[1]])} (row {rows[1]}) and item "
                f"{show(raw[rows[0]])} (row {rows[0]}) are the same id once written as text."
            )
    rows = other_keys.get_indexer(keys)  # the row of `other` of each reference item
    missing = np.flatnonzero(rows < 0)
    if missing.size:
        r = int(missing[0])
        raise InputError(
            f"{name}: {missing.size} items of {reference_name} are missing (first: item "
            f"{show(ids[r])}, row {r} there)."
        )
    if len(other_keys) != len(keys):
        extra = np.flatnonzero(keys.get_indexer(other_keys) < 0)
        r = int(extra[0])
        raise InputError(
            f"{name}: {extra.size} items are not in {reference_name} (first: item "
            f"{show(other_ids[r])}, row {r})."
        )
    if np.array_equal(rows, np.arange(len(rows))):
        return other
    return other.take(rows)


def match_labels(
    labels: Any,
    probs: Probs,
    *,
    name: str = "labels",
    probs_name: str = "probs",
    path: str | os.PathLike[str] | None = None,
) -> np.ndarray:
    """Class indices checked against the probabilities they label.

    One label per row of ``probs``, each an integer in ``0 .. n_classes - 1``
    (integer-valued floats, as read from a CSV, are accepted).

    Parameters
    ----------
    labels : path or array-like of shape (n_items,)
        A file is read with :func:`read_labels`.
    probs : SoftLabels or array-like of shape (n_items, n_classes)
    name, probs_name : str
        How error messages call the labels and the probabilities.
    path : path, optional
        The file the labels were read from, named in error messages (by default
        ``labels`` itself when it is a path).

    Returns
    -------
    ndarray of int64

    Raises
    ------
    InputError
        When the counts differ (both are given; a text file with one label too many
        gets a hint about a numeric header), or naming the first label out of range
        or not an integer, with its row.

    Examples
    --------
    >>> match_labels([0, 1, 1.0], [[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]).tolist()
    [0, 1, 1]
    >>> match_labels([0, 2], [[0.9, 0.1], [0.2, 0.8]], probs_name="p.npy")
    Traceback (most recent call last):
    ...
    softlabels.core.errors.InputError: labels: 1 values outside 0..1 (first at row 1: 2).
    """
    if isinstance(labels, _PathLike):
        path = labels if path is None else path
        labels = read_labels(labels, name=name)
    values = np.asarray(labels)
    matrix = _matrix(probs)
    n = len(matrix)
    if values.ndim and len(values) != n:
        hint = ""
        if path is not None and len(values) == n + 1 and Path(path).suffix.lower() != ".npy":
            hint = (" If its first line is a header of numbers (pandas writes 0), name the "
                    "column, e.g. label.")
        raise InputError(
            f"{path if path is not None else name}: {len(values)} labels but {probs_name} "
            f"has {n} rows.{hint}"
        )
    k = matrix.shape[1] if matrix.ndim == 2 else 0
    return check_labels(values, k, name=name if path is None else f"{name} ({path})")
