"""The annotation table: answers in long format, factorised once into integer codes.

Every crowd model works on three integer arrays of equal length (item, worker and
label codes) plus the original ids at the edges. Nothing downstream touches pandas.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from softlabels import _compiled
from softlabels.core.validation import shortened, suggest
from softlabels.core.errors import InputError
from softlabels.core.io import read_table, table_format, text_header

__all__ = ["Annotations", "read_answers", "as_annotations"]

DuplicatePolicy = Literal["keep", "last", "error"]


def _index_dtype(n: int) -> type:
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


def sort_order(values: np.ndarray) -> np.ndarray:
    """Stable argsort; values of mixed types are ordered by their string form, and
    values that share it (``0`` and ``"0"``) by their type's name, so that the order
    never depends on the order the values came in."""
    try:
        return np.argsort(values, kind="stable")
    except TypeError:
        text = np.asarray([str(v) for v in values])
        kind = np.asarray([type(v).__name__ for v in values])
        return np.lexsort((kind, text))


def sorted_unique(values: pd.Series) -> np.ndarray:
    uniq = np.asarray(pd.unique(values))
    return uniq[sort_order(uniq)]


class _Rows:
    """The data-row numbers of an unfiltered input: row r is r."""

    def __getitem__(self, r: int) -> int:
        return r


def _factorize(col: pd.Series) -> tuple[np.ndarray, Any]:
    """``pd.factorize(col, sort=False)``; compiled for many non-negative integers."""
    numeric = isinstance(col.dtype, np.dtype) and col.dtype.kind in "iu"
    fast = _compiled.factorize(col.to_numpy()) if numeric else None
    return fast if fast is not None else pd.factorize(col, sort=False)


def _small_int_codes(labels: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """For integer labels spanning fewer than 65,536 values: their codes and the sorted
    distinct labels (what :func:`class_list` and :func:`codes_in` give) by counting
    instead of hashing; None otherwise."""
    if not isinstance(labels.dtype, np.dtype) or labels.dtype.kind not in "iu":
        return None
    values = labels.to_numpy()
    low, high = values.min(), values.max()
    if int(high) - int(low) >= 1 << 16:
        return None
    # int64 differences are exact here (a wrapped uint64 wraps both terms alike)
    offset = values.astype(np.int64, copy=False) - np.int64(low.astype(np.int64))
    present = np.bincount(offset) > 0
    rank = np.cumsum(present, dtype=np.int32) - 1
    classes = np.flatnonzero(present).astype(values.dtype) + low
    return rank[offset], classes


def _first_missing(col: pd.Series) -> tuple[int, int]:
    """How many values are missing (NaN, None or blank text), and the first position."""
    mask = np.array(col.isna().to_numpy(), dtype=bool, copy=True)
    if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
        text = col[~mask].astype(str).str.strip()
        mask[np.flatnonzero(~mask)[text.eq("").to_numpy()]] = True
    idx = np.flatnonzero(mask)
    return int(idx.size), int(idx[0]) if idx.size else -1


#: Values that cannot be an id or a label (unhashable), and how a message calls them.
_NESTED = {list: "a list", np.ndarray: "a list", dict: "an object", set: "a set"}


def _first_nested(col: pd.Series) -> tuple[int, str]:
    """The position of the first list, object or set in ``col`` and what it is, or
    ``(-1, "")`` (one pass of pandas' type inference unless the column mixes types)."""
    if col.dtype != object or pd.api.types.infer_dtype(col, skipna=True) not in (
            "mixed", "mixed-integer", "mixed-integer-float"):
        return -1, ""
    nested = col.map(lambda v: type(v) in _NESTED).to_numpy(dtype=bool)
    if not nested.any():
        return -1, ""
    r = int(np.argmax(nested))
    return r, _NESTED[type(col.iloc[r])]


def _id_ranks(ids: np.ndarray) -> np.ndarray:
    """Rank of each id in sorted order (by string form when types are mixed)."""
    order = sort_order(ids)
    ranks = np.empty(ids.shape[0], dtype=np.int64)
    ranks[order] = np.arange(ids.shape[0])
    return ranks


def class_list(labels: pd.Series, classes: Sequence[Any] | None, where: str = "") -> np.ndarray:
    """The classes of some answers: the declared list (non-empty, no repeats), or the
    distinct labels sorted."""
    if classes is None:
        return sorted_unique(labels)
    class_arr = np.asarray(list(classes))
    if class_arr.ndim != 1 or class_arr.size == 0:
        raise InputError(f"{where}the class list must be a non-empty list of labels.")
    if len(pd.unique(class_arr)) != class_arr.size:
        seen = pd.Series(class_arr.tolist())
        twice = seen[seen.duplicated()].unique().tolist()
        raise InputError(f"{where}the class list has repeated entries: {twice} "
                         f"(in {class_arr.tolist()}).")
    return class_arr


def codes_in(values: pd.Series, ids: np.ndarray) -> np.ndarray:
    """Positions of ``values`` in ``ids``, -1 where absent; when some are absent, "1"
    and 1 are matched by their string forms."""
    codes = pd.Index(ids).get_indexer(values)
    if (codes < 0).any():
        codes = pd.Index([str(c) for c in ids]).get_indexer(values.astype(str))
    return codes


def check_padded_labels(classes: np.ndarray, where: str) -> None:
    """Refuse classes that differ only by surrounding whitespace (``"cat"``, ``" cat"``,
    ``"cat "``): almost always one class typed carelessly, which would silently become
    several. Which spelling is meant is for the user to say, so nothing is stripped."""
    groups: dict[str, list[str]] = {}
    for label in classes:
        if isinstance(label, str):
            groups.setdefault(label.strip(), []).append(label)
    near = [spellings for spellings in groups.values() if len(spellings) > 1]
    if near:
        shown = "; ".join(", ".join(repr(str(s)) for s in spellings) for spellings in near[:3])
        more = f" (and {len(near) - 3} more groups)" if len(near) > 3 else ""
        raise InputError(
            f"{where}labels that differ only by surrounding whitespace would be different "
            f"classes: {shown}{more}. Write each class one way (strip the spaces)."
        )


def show(value: Any) -> str:
    """repr of a value as a user typed it: 5 and 'a', not np.int64(5)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)



def check_answer_columns(
    columns: Any, item_col: str, worker_col: str, label_col: str, where: str = ""
) -> None:
    """The three answer columns exist among ``columns`` and differ; else an
    :class:`InputError` naming the missing column, the columns there are, and the option
    that chooses it (``where``: a prefix such as the file name)."""
    cols = {"item": item_col, "worker": worker_col, "label": label_col}
    present = [str(c) for c in columns]
    # a header run together (a wrong separator, a lost line break) is shown shortened
    shown = [shortened(c) for c in present[:10]]
    for role, name in cols.items():
        if name not in columns:
            if len(present) == 1 and (sep := _other_separator(present[0])):
                raise InputError(
                    f"{where}one column {shown[0]!r}: the fields look separated by "
                    f"{sep!r}; give the separator (--sep {sep!r}, sep=...)."
                )
            raise InputError(
                f"{where}no {name!r} column for the {role}s (columns: "
                f"{', '.join(shown)}).{suggest(name, present)} "
                f"Choose the column with --{role}-col ({role}_col=...)."
            )
    if len(set(cols.values())) < 3:
        raise InputError(f"{where}item, worker and label columns must differ; got {cols}.")
    check_once(columns, cols, where)


def check_once(columns: Any, cols: Mapping[str, str], where: str = "") -> None:
    """Each answer column (``cols``: role to name) is among ``columns`` at most once."""
    for role, name in cols.items():
        at = [j + 1 for j, c in enumerate(columns) if c == name]
        if len(at) > 1:
            raise InputError(
                f"{where}the {role} column {name!r} appears {len(at)} times (columns "
                f"{', '.join(map(str, at[:-1]))} and {at[-1]}); keep one."
            )

def check_header_once(path: str | os.PathLike[str], frame: pd.DataFrame,
                      cols: Mapping[str, str], sep: str | None = None,
                      encoding: str | None = None) -> None:
    """Each column of ``cols`` (role to name) appears once in the header of the CSV or
    TSV file ``path``, which was read into ``frame``: the CSV reader renames a repeated
    ``label`` to ``label.1``, so only the header says (an :class:`InputError` naming
    the column and where it appears)."""
    fmt = table_format(path)
    if fmt in ("csv", "tsv") and any(f"{c}.1" in frame.columns for c in cols.values()):
        check_once(text_header(path, fmt, sep, encoding), cols, f"{path}: ")


def _other_separator(header: str) -> str | None:
    """The separator a one-column header seems to use instead of the expected one."""
    for sep in (";", "\t", "|", ","):
        if sep in header:
            return sep
    return None


class Annotations:
    """Crowd answers (item, worker, label) with integer codes.

    Build one with :meth:`from_frame`, :meth:`from_arrays` or :func:`read_answers`.

    Parameters
    ----------
    item, worker, label : ndarray of shape (n_answers,)
        Integer codes into ``item_ids``, ``worker_ids`` and ``classes``, taken as given
        (the builders check them; this constructor only checks the three lengths agree
        and raises :class:`InputError` otherwise).
    item_ids, worker_ids, classes : ndarray
        The original values, in code order.
    source : str, default=""
        Where the answers came from (a file name), for error messages.

    Attributes
    ----------
    item, worker, label : ndarray of shape (n_answers,)
        Integer codes into ``item_ids``, ``worker_ids`` and ``classes``.
    item_ids, worker_ids, classes : ndarray
        The original values, in code order. Items and workers are in order of first
        appearance; classes are the declared list, or the sorted distinct labels.
    """

    def __init__(
        self,
        item: np.ndarray,
        worker: np.ndarray,
        label: np.ndarray,
        item_ids: np.ndarray,
        worker_ids: np.ndarray,
        classes: np.ndarray,
        *,
        source: str = "",
    ) -> None:
        n = item.shape[0]
        if not (worker.shape[0] == n and label.shape[0] == n):
            raise InputError(
                f"item, worker and label must have the same length; got {n}, "
                f"{worker.shape[0]} and {label.shape[0]}."
            )
        self.item = item
        self.worker = worker
        self.label = label
        self.item_ids = item_ids
        self.worker_ids = worker_ids
        self.classes = classes
        self.source = source

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        item_col: str = "item",
        worker_col: str = "worker",
        label_col: str = "label",
        classes: Sequence[Any] | None = None,
        duplicates: DuplicatePolicy = "keep",
        source: str = "",
    ) -> Annotations:
        """Factorise a long-format DataFrame of answers.

        Parameters
        ----------
        frame : DataFrame
            One row per answer.
        item_col, worker_col, label_col : str
            Column names.
        classes : sequence, optional
            The declared class list, in order. A label outside it is an error. When
            omitted, the classes are the distinct labels, sorted. Labels (or declared
            classes) that differ only by surrounding whitespace, such as ``"cat"`` and
            ``" cat"``, are an :class:`InputError` naming them: nothing is stripped.
        duplicates : {"keep", "last", "error"}
            What to do with several answers by one worker on one item: keep them all,
            keep the last one (in row order), or raise.
        source : str, default ""
            Where the answers came from (a file name); when given, error messages start
            with it.
        """
        where = f"{source}: " if source else ""
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"{where}expected a pandas DataFrame; got {type(frame).__name__}.")
        if duplicates not in ("keep", "last", "error"):
            raise InputError(
                f"duplicates must be 'keep', 'last' or 'error'; got {duplicates!r}."
                + suggest(str(duplicates), ["keep", "last", "error"])
            )
        check_answer_columns(frame.columns, item_col, worker_col, label_col, where)
        cols = {"item": item_col, "worker": worker_col, "label": label_col}
        if len(frame) == 0:
            raise InputError(f"{where}the answer table has no rows.")
        for role, name in cols.items():
            col = frame[name]
            n_missing, first = _first_missing(col)
            if n_missing == len(frame):
                raise InputError(f"{where}the {role} column {name!r} is entirely empty.")
            if n_missing:
                raise InputError(
                    f"{where}the {role} column {name!r} has {n_missing} missing values "
                    f"(first in data row {first + 1})."
                )
            r, kind = _first_nested(col)
            if r >= 0:
                raise InputError(
                    f"{where}the {role} column {name!r} holds {kind} in data row {r + 1}; "
                    "each answer has one item, one worker and one label."
                )
        rows: Any = _Rows()  # data-row numbers of the input, for messages
        if duplicates != "keep":
            dup = frame.duplicated([item_col, worker_col], keep="last").to_numpy()
            if dup.any():
                if duplicates == "error":
                    r = int(np.flatnonzero(dup)[0])
                    raise InputError(
                        f"{where}worker {show(frame[worker_col].iloc[r])} answered item "
                        f"{show(frame[item_col].iloc[r])} more than once (data row {r + 1}); "
                        "use duplicates='keep' or 'last' to allow it."
                    )
                frame = frame.loc[~dup]
                rows = np.flatnonzero(~dup)

        item_codes, item_ids = _factorize(frame[item_col])
        worker_codes, worker_ids = _factorize(frame[worker_col])
        labels = frame[label_col]
        small = None if classes is not None else _small_int_codes(labels)
        if small is not None:
            label_codes, class_arr = small
        else:
            class_arr = class_list(labels, classes, where)
            label_codes = codes_in(labels, class_arr)
        bad = np.flatnonzero(label_codes < 0)
        if bad.size:
            r = int(bad[0])
            raise InputError(
                f"{where}label {show(labels.iloc[r])} in data row {rows[r] + 1} is not one "
                f"of the declared classes {class_arr.tolist()} ({bad.size} such rows)."
            )
        check_padded_labels(class_arr, where)
        return cls(
            item_codes.astype(_index_dtype(len(item_ids)), copy=False),
            worker_codes.astype(_index_dtype(len(worker_ids)), copy=False),
            np.asarray(label_codes).astype(np.int32, copy=False),
            np.asarray(item_ids),
            np.asarray(worker_ids),
            class_arr,
            source=source,
        )

    @classmethod
    def from_arrays(
        cls,
        items: Any,
        workers: Any,
        labels: Any,
        *,
        classes: Sequence[Any] | None = None,
        duplicates: DuplicatePolicy = "keep",
    ) -> Annotations:
        """Build from three equal-length sequences (any hashable values).

        Parameters
        ----------
        items, workers, labels : sequence
            One value per answer, one-dimensional and of one length (otherwise
            :class:`InputError`).
        classes, duplicates
            As for :meth:`from_frame`.

        Returns
        -------
        Annotations
        """
        for name, values in (("items", items), ("workers", workers), ("labels", labels)):
            if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") \
                    or getattr(values, "ndim", 1) != 1:
                shape = getattr(values, "shape", None)
                got = f"shape {shape}" if shape is not None else type(values).__name__
                raise InputError(f"{name} must be a one-dimensional sequence, one value per "
                                 f"answer; got {got}.")
        lens = {len(items), len(workers), len(labels)}
        if len(lens) != 1:
            raise InputError(
                f"items, workers and labels must have the same length; got "
                f"{len(items)}, {len(workers)} and {len(labels)}."
            )
        frame = pd.DataFrame({"item": items, "worker": workers, "label": labels})
        return cls.from_frame(frame, classes=classes, duplicates=duplicates)

    # ------------------------------------------------------------------ sizes
    @property
    def n_answers(self) -> int:
        return int(self.item.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.item_ids.shape[0])

    @property
    def n_workers(self) -> int:
        return int(self.worker_ids.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])

    def __len__(self) -> int:
        return self.n_answers

    def __repr__(self) -> str:
        return (
            f"Annotations(n_answers={self.n_answers}, n_items={self.n_items}, "
            f"n_workers={self.n_workers}, classes={self.classes.tolist()!r})"
        )

    # ------------------------------------------------------------------ derived arrays
    @cached_property
    def counts(self) -> np.ndarray:
        """Dense (n_items, n_classes) matrix of answer counts per class."""
        k = self.n_classes
        if "item_pair_matrix" in self.__dict__:  # built already: count from it
            counts = _compiled.label_counts(self.item_pair_matrix, k)
            if counts is not None:
                return counts
        flat = np.bincount(
            self.item.astype(np.int64) * k + self.label, minlength=self.n_items * k
        )
        return flat.reshape(self.n_items, k).astype(np.float64)

    @cached_property
    def answers_per_worker(self) -> np.ndarray:
        return np.bincount(self.worker, minlength=self.n_workers).astype(np.float64)

    @cached_property
    def answers_per_item(self) -> np.ndarray:
        return np.bincount(self.item, minlength=self.n_items).astype(np.float64)

    @cached_property
    def pair(self) -> np.ndarray:
        """Code of each answer's (worker, label) pair: ``worker * n_classes + label``."""
        return self.worker.astype(np.int64) * self.n_classes + self.label

    @cached_property
    def item_pair_matrix(self) -> sp.csr_matrix:
        """Sparse (n_items, n_workers * n_classes) count matrix of (worker, label)
        pairs per item: the one structure the EM kernels multiply with."""
        shape = (self.n_items, self.n_workers * self.n_classes)
        fast = _compiled.item_pair_csr(self.item, self.worker, self.label, self.n_items,
                                       self.n_classes, shape)
        if fast is not None:
            matrix, per_item = fast
            self.__dict__.setdefault("answers_per_item", per_item.astype(np.float64))
            return matrix
        data = np.ones(self.n_answers, dtype=np.float64)
        m = sp.csr_matrix((data, (self.item, self.pair)), shape=shape)
        m.sum_duplicates()
        return m

    @cached_property
    def pair_item_matrix(self) -> sp.csr_matrix:
        """Transpose of :attr:`item_pair_matrix`, in CSR for fast products."""
        fast = _compiled.transpose_csr(self.item_pair_matrix)
        return fast if fast is not None else self.item_pair_matrix.T.tocsr()

    def canonical_order(self) -> np.ndarray:
        """A permutation of the answers sorted by item id, worker id and label: the same
        answers in any row order give the same sequence (for models whose result
        depends on the order of floating-point sums)."""
        item_rank = _id_ranks(self.item_ids)[self.item]
        worker_rank = _id_ranks(self.worker_ids)[self.worker]
        return np.lexsort((self.label, worker_rank, item_rank))

    def to_frame(self) -> pd.DataFrame:
        """Back to a long DataFrame with the original ids."""
        return pd.DataFrame(
            {
                "item": self.item_ids[self.item],
                "worker": self.worker_ids[self.worker],
                "label": self.classes[self.label],
            }
        )

    def gold_codes(self, gold: Any) -> np.ndarray:
        """Map known true labels to an int array of shape (n_items,), -1 where unknown.

        ``gold`` is a mapping or Series from item id to label, or a DataFrame with
        ``item`` and ``label`` columns. Gold items absent from the answers are ignored.

        Parameters
        ----------
        gold : mapping, Series, DataFrame or None
            Known labels by item id; None gives -1 everywhere. A missing column or
            value, an item listed twice, or a label that is not a class raises
            :class:`InputError`.

        Returns
        -------
        ndarray of int64, shape (n_items,)
            The class code of each item's known label, -1 where unknown.
        """
        if gold is None:
            return np.full(self.n_items, -1, dtype=np.int64)
        keys, codes = gold_table(gold, self.classes)
        by_str = len(keys) > 0 and not pd.Index(self.item_ids).isin(keys).any()
        return gold_of(self.item_ids, keys, codes, by_str)


def gold_table(gold: Any, classes: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Known labels as item ids and class codes (:meth:`Annotations.gold_codes`'s
    input, checked: an error names a missing column, a missing value, an item listed
    twice or a label that is not a class). Labels match the classes as they are, or
    else all as strings."""
    if isinstance(gold, pd.DataFrame):
        missing = [c for c in ("item", "label") if c not in gold.columns]
        if missing:
            raise InputError(
                f"gold table needs 'item' and 'label' columns; missing {missing} "
                f"(columns: {[str(c) for c in gold.columns]})."
            )
        keys, vals = gold["item"], gold["label"]
    elif isinstance(gold, (Mapping, pd.Series)):
        s = pd.Series(gold)
        keys, vals = pd.Series(s.index), pd.Series(s.to_numpy())
    else:
        raise InputError(
            f"gold must be a mapping, a Series or a DataFrame; got {type(gold).__name__}."
        )
    keys = pd.Series(keys).reset_index(drop=True)
    vals = pd.Series(vals).reset_index(drop=True)
    no_key, no_val = keys.isna().to_numpy(), vals.isna().to_numpy()
    if no_key.any() or no_val.any():
        r = int(np.argmax(no_key | no_val))
        first = f"the item of row {r}" if no_key[r] else f"the label of item {show(keys[r])}"
        raise InputError(f"gold labels contain missing values (first: {first}).")
    if keys.duplicated().any():
        raise InputError(f"gold lists item {show(keys[keys.duplicated()].iloc[0])} more than once.")
    codes = pd.Index(classes).get_indexer(pd.Series(vals))
    if (codes < 0).any():
        codes = pd.Index([str(c) for c in classes]).get_indexer(pd.Series(vals).astype(str))
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        raise InputError(
            f"gold label {show(pd.Series(vals).iloc[bad[0]])} (item "
            f"{show(keys.iloc[bad[0]])}) is not one of the classes {classes.tolist()}. "
            "To keep a class that no answer has, declare every class (classes=[...], "
            "--classes)."
        )
    return keys, codes.astype(np.int64)


def gold_of(item_ids: Any, keys: pd.Series, codes: np.ndarray, by_str: bool) -> np.ndarray:
    """The gold codes of ``item_ids`` (-1 where unknown) from :func:`gold_table`;
    ``by_str`` matches ids as strings (used when no id matches as it is)."""
    out = np.full(len(item_ids), -1, dtype=np.int64)
    if by_str:
        pos = pd.Index([str(i) for i in item_ids]).get_indexer(keys.astype(str))
    else:
        pos = pd.Index(item_ids).get_indexer(keys)
    keep = pos >= 0
    out[pos[keep]] = codes[keep]
    return out


def read_answers(
    path: str | os.PathLike[str],
    *,
    item_col: str = "item",
    worker_col: str = "worker",
    label_col: str = "label",
    classes: Sequence[Any] | None = None,
    duplicates: DuplicatePolicy = "keep",
    sep: str | None = None,
    encoding: str | None = None,
    progress: Any = None,
) -> Annotations:
    """Read answers from CSV, TSV, Parquet or JSON lines (format from the extension).

    Item and worker ids and labels of a CSV or TSV file are read as written: ``007`` and
    ``7`` are two items (a column of plain integers is read as integers).

    Parameters
    ----------
    path : str or path
        A ``.csv``, ``.tsv``, ``.parquet`` or ``.jsonl`` file, one row per answer.
    item_col, worker_col, label_col, classes, duplicates
        As in :meth:`Annotations.from_frame`.
    sep, encoding : str, optional
        Of a text file (default: ``,`` or a tab, and UTF-8; see
        :func:`~softlabels.core.io.read_table`).
    progress : callable, optional
        Called as ``progress(bytes_read, file_bytes)`` while the file is parsed.

    Returns
    -------
    Annotations
    """
    frame = read_table(path, id_columns=(item_col, worker_col, label_col), sep=sep,
                       encoding=encoding, progress=progress)
    check_header_once(path, frame, {"item": item_col, "worker": worker_col,
                                     "label": label_col}, sep, encoding)
    return Annotations.from_frame(
        frame,
        item_col=item_col,
        worker_col=worker_col,
        label_col=label_col,
        classes=classes,
        duplicates=duplicates,
        source=str(path),
    )


def as_annotations(answers: Any, **kwargs: Any) -> Annotations:
    """Accept an Annotations, a DataFrame or a file path.

    Parameters
    ----------
    answers : Annotations, DataFrame, str or path
        Anything else raises :class:`InputError`.
    **kwargs
        Reading options of :meth:`Annotations.from_frame` (for a DataFrame) or of
        :func:`read_answers` (for a path). An Annotations is returned as it is; of the
        options only ``classes`` is looked at, and must agree with its classes.

    Returns
    -------
    Annotations
    """
    if isinstance(answers, Annotations):
        if kwargs.get("classes") is not None:
            declared = list(kwargs["classes"])
            if [str(c) for c in declared] != [str(c) for c in answers.classes]:
                raise InputError(
                    "classes were given but the Annotations already fix them to "
                    f"{answers.classes.tolist()}."
                )
        return answers
    if isinstance(answers, pd.DataFrame):
        return Annotations.from_frame(answers, **kwargs)
    if isinstance(answers, (str, os.PathLike)):
        return read_answers(answers, **kwargs)
    raise InputError(
        "answers must be an Annotations, a pandas DataFrame or a file path; "
        f"got {type(answers).__name__}."
    )
