"""`SoftLabels`: the one data type of softlabels.

An ``(n_items, n_classes)`` matrix of probabilities whose rows sum to 1, the item ids,
the ordered class names, provenance (which method made it, with which parameters and
which version) and, optionally, per-item support (how much evidence stood behind each
row, e.g. the number of answers).
"""

from __future__ import annotations

import gzip
import json
import numbers
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from softlabels.core.validation import SUM_ATOL, check_float, check_probs, float_matrix
from softlabels._version import __version__
from softlabels.core.errors import InputError, InvalidParameterError

__all__ = ["SoftLabels", "RESERVED_COLUMNS"]

#: Column names of the on-disk table that are not classes.
RESERVED_COLUMNS = ("item", "label", "confidence", "support")
_META_KEY = b"softlabels"
_FORMAT_VERSION = 1


def _as_1d(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InputError(f"{name} must be 1-D; got shape {arr.shape}.")
    return arr


def _distinct_ints(ids: np.ndarray) -> bool:
    """True when ``ids`` are integers spanning at most 4 per id (plus 1,024) values,
    each at most once (checked by counting, not hashing); False when they repeat or
    the check does not apply."""
    if ids.dtype.kind not in "iu" or ids.size == 0:
        return False
    low, high = int(ids.min()), int(ids.max())
    if high - low >= 4 * ids.size + 1024:
        return False
    offset = ids.astype(np.int64, copy=False) - np.int64(ids.min().astype(np.int64))
    return bool(np.bincount(offset).max() <= 1)


def jsonable(value: Any) -> Any:
    """Make numpy scalars, arrays and tuples JSON-friendly (for provenance)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


class SoftLabels:
    """Per-item probability distributions over an ordered set of classes.

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes)
        Finite, non-negative, each row summing to 1 within ``1e-5``. Stored as float64.
        Use :meth:`from_counts` or :meth:`from_logits` for unnormalised input.
    classes : array-like of shape (n_classes,)
        Class names, in column order. Must be unique and not missing (None, NaN).
    item_ids : array-like of shape (n_items,), optional
        Item identifiers (unique). Defaults to ``0 .. n_items - 1``.
    provenance : dict, optional
        What made these labels: ``method``, ``params``; ``version`` is filled in.
    support : array-like of shape (n_items,), optional
        Evidence per item (for crowd labels, the number of answers).

    Examples
    --------
    >>> s = SoftLabels([[0.9, 0.1], [0.5, 0.5]], classes=["cat", "dog"])
    >>> s.hard().tolist(), s.confidence().tolist()
    (['cat', 'cat'], [0.9, 0.5])
    >>> s.entropy().round(3).tolist()
    [0.325, 0.693]
    """

    __slots__ = ("_probs", "_classes", "_item_ids", "_provenance", "_support")

    def __init__(
        self,
        probs: Any,
        classes: Any,
        item_ids: Any = None,
        *,
        provenance: Mapping[str, Any] | None = None,
        support: Any = None,
    ) -> None:
        p = check_probs(probs, name="probs")
        if isinstance(classes, (list, tuple)):  # numpy would make [1, "a"] text
            classes = class_array(classes)
        cls = _as_1d(classes, "classes")
        if cls.shape[0] != p.shape[1]:
            raise InputError(
                f"probs has {p.shape[1]} columns but {cls.shape[0]} classes were given."
            )
        if cls.dtype.kind in "fO" and pd.isna(cls).any():
            raise InputError(f"classes: position {np.flatnonzero(pd.isna(cls))[0]} is missing; "
                             "every class needs a name.")
        if len(pd.unique(cls)) != cls.shape[0]:
            names = pd.Series(cls, dtype=object)  # pandas text fails on surrogates
            dup = names[names.duplicated()].iloc[0]
            dup = dup.item() if isinstance(dup, np.generic) else dup
            raise InputError(f"classes must be unique; {dup!r} appears more than once.")
        if item_ids is None:
            ids = np.arange(p.shape[0])
        else:
            if isinstance(item_ids, (list, tuple)):
                item_ids = _item_array(list(item_ids))
            ids = _as_1d(item_ids, "item_ids")
            if ids.shape[0] != p.shape[0]:
                raise InputError(
                    f"probs has {p.shape[0]} rows but {ids.shape[0]} item ids were given."
                )
            if ids.dtype.kind in "fO":
                missing = np.flatnonzero(pd.isna(ids))
                if missing.size:
                    raise InputError(f"item_ids: row {missing[0]} is missing ({missing.size} "
                                     "missing); every item needs an id.")
            if not _distinct_ints(ids):
                # text as objects: pandas' own text type fails on surrogates (file names
                # in another encoding), and is slower
                text = object if ids.dtype.kind in "UO" else None
                dup = pd.Series(ids, dtype=text).duplicated().to_numpy()
                if dup.any():
                    first = ids[np.flatnonzero(dup)[0]]
                    first = first.item() if isinstance(first, np.generic) else first
                    raise InputError(
                        f"item_ids must be unique; {first!r} appears more than once "
                        f"({int(dup.sum())} repeats)."
                    )
        sup = None
        if support is not None:
            sup = np.asarray(support, dtype=np.float64)
            if sup.shape != (p.shape[0],):
                raise InputError(
                    f"support must have shape ({p.shape[0]},); got {sup.shape}."
                )
            bad = np.flatnonzero(~np.isfinite(sup) | (sup < 0))
            if bad.size:
                r = int(bad[0])
                item = ids[r].item() if isinstance(ids[r], np.generic) else ids[r]
                raise InputError(f"support must be finite and non-negative (row {r} (item "
                                 f"{item!r}): {sup[r]}).")
            sup.setflags(write=False)
        prov = dict(provenance or {})
        prov.setdefault("version", __version__)
        p = np.array(p, dtype=np.float64, copy=True)
        p.setflags(write=False)
        cls = cls.copy()
        cls.setflags(write=False)
        ids = ids.copy()
        ids.setflags(write=False)
        self._probs = p
        self._classes = cls
        self._item_ids = ids
        self._provenance = jsonable(prov)
        self._support = sup

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_counts(
        cls,
        counts: Any,
        classes: Any,
        item_ids: Any = None,
        *,
        smoothing: float = 0.0,
        provenance: Mapping[str, Any] | None = None,
    ) -> SoftLabels:
        """Normalise non-negative counts (or weights) row by row.

        ``smoothing`` is added to every count first (additive, Laplace-style). A row
        whose total is zero becomes the uniform distribution.

        Parameters
        ----------
        counts : array-like of shape (n_items, n_classes)
            Finite and non-negative, each row's total (after smoothing) too (otherwise
            :class:`InputError`).
        classes, item_ids
            As for :class:`SoftLabels`.
        smoothing : float, default=0.0
            Pseudo-count, finite and >= 0.
        provenance : dict, optional
            As for :class:`SoftLabels`.

        Returns
        -------
        SoftLabels
            ``support`` is each row's total count (before smoothing).
        """
        c = float_matrix(counts, "counts")
        if c.shape[1] == 0:
            raise InputError("counts has no class columns.")
        if not np.isfinite(c).all():
            raise InputError("counts contain NaN or infinite values.")
        if (c < 0).any():
            r, k = np.argwhere(c < 0)[0]
            raise InputError(f"counts must be non-negative (row {r}, column {k}: {c[r, k]}).")
        if not 0 <= _real(smoothing) < np.inf:
            raise InputError(f"smoothing must be >= 0 and finite; got {smoothing!r}.")
        with np.errstate(over="ignore"):  # a total beyond float64 is named below
            support = c.sum(axis=1)
            c = c + smoothing
            over = np.flatnonzero(~np.isfinite(c.sum(axis=1)))
        if over.size:
            raise InputError(f"counts: row {over[0]} sums to more than a float64 holds "
                             f"({np.finfo(np.float64).max:.2g}); divide the counts by a "
                             "constant first.")
        return cls(
            normalize_rows(c),
            classes,
            item_ids,
            provenance=provenance,
            support=support,
        )

    @classmethod
    def from_logits(
        cls,
        logits: Any,
        classes: Any,
        item_ids: Any = None,
        *,
        temperature: float = 1.0,
        provenance: Mapping[str, Any] | None = None,
    ) -> SoftLabels:
        """Softmax of ``logits / temperature`` row by row.

        Parameters
        ----------
        logits : array-like of shape (n_items, n_classes)
            Finite (otherwise :class:`InputError`).
        classes, item_ids
            As for :class:`SoftLabels`.
        temperature : float > 0, default=1.0
        provenance : dict, optional
            As for :class:`SoftLabels`.

        Returns
        -------
        SoftLabels
        """
        z = float_matrix(logits, "logits")
        if z.shape[1] == 0:
            raise InputError("logits has no class columns.")
        if not np.isfinite(z).all():
            raise InputError("logits contain NaN or infinite values.")
        if not _real(temperature) > 0:
            raise InputError(f"temperature must be > 0; got {temperature!r}.")
        return cls(softmax(z / temperature), classes, item_ids, provenance=provenance)

    # ------------------------------------------------------------------ attributes
    @property
    def probs(self) -> np.ndarray:
        """Read-only float64 array of shape (n_items, n_classes)."""
        return self._probs

    @property
    def classes(self) -> np.ndarray:
        return self._classes

    @property
    def item_ids(self) -> np.ndarray:
        return self._item_ids

    @property
    def provenance(self) -> dict[str, Any]:
        """A copy (nested parameters too) of what made these labels."""
        return jsonable(self._provenance)

    @property
    def support(self) -> np.ndarray | None:
        return self._support

    @property
    def n_items(self) -> int:
        return int(self._probs.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self._probs.shape[1])

    def __len__(self) -> int:
        return self.n_items

    def __repr__(self) -> str:
        method = self._provenance.get("method", "")
        src = f", method={method!r}" if method else ""
        names = self._classes.tolist()
        if len(names) <= 10:
            shown = repr(names)
        else:  # thousands of classes: the first few, the last and how many
            head = ", ".join(repr(c) for c in names[:5])
            shown = f"[{head}, ..., {names[-1]!r}] ({len(names)} classes)"
        return f"SoftLabels(n_items={self.n_items}, classes={shown}{src})"

    # ------------------------------------------------------------------ summaries
    def hard(self) -> np.ndarray:
        """The most probable class of each item (ties: the first class in class order)."""
        return self._classes[self.hard_codes()]

    def hard_codes(self) -> np.ndarray:
        """Like :meth:`hard` but as integer column indices."""
        return row_argmax(self._probs)

    def confidence(self) -> np.ndarray:
        """The largest probability of each item."""
        return self._probs.max(axis=1)

    def entropy(self, *, base: float | None = None) -> np.ndarray:
        """Shannon entropy of each row, in nats (or in ``base``, a number > 0 other
        than 1).

        Parameters
        ----------
        base : float, optional
            The logarithm's base (2 for bits); 0, a negative number or 1 raises
            :class:`InvalidParameterError`. Default: nats.

        Returns
        -------
        ndarray of shape (n_items,)
        """
        if base is not None:
            base = check_float(base, "base", "SoftLabels.entropy", low=0, low_open=True)
            if base == 1:
                raise InvalidParameterError("The 'base' parameter of SoftLabels.entropy must "
                                            "not be 1 (log 1 = 0); got 1.")
        p = self._probs
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
        h = np.maximum(h, 0.0)
        return h / np.log(base) if base is not None else h

    def take(self, indices: Any) -> SoftLabels:
        """A new SoftLabels with the rows at ``indices`` (ints or a boolean mask).

        Parameters
        ----------
        indices : array-like of int or bool
            Row positions (in any order, each at most once, as item ids are unique;
            none gives zero items) or a mask of length ``n_items``.

        Returns
        -------
        SoftLabels
            With the same classes and provenance, and the rows' ids and support.
        """
        idx = np.asarray(indices)
        if idx.size == 0:  # [] is float64 to numpy, which cannot index
            idx = idx.astype(np.intp)
        try:
            return SoftLabels(
                self._probs[idx],
                self._classes,
                self._item_ids[idx],
                provenance=self._provenance,
                support=None if self._support is None else self._support[idx],
            )
        except InputError:  # only the ids can be wrong: a row taken twice
            rows = np.arange(self.n_items)[idx]
            twice = rows[pd.Series(rows).duplicated().to_numpy()][0]
            raise InputError(f"take: row {twice} is taken more than once; item ids are "
                             "unique, so each row can be taken once.") from None

    def with_provenance(self, **provenance: Any) -> SoftLabels:
        """A copy whose provenance is updated with ``provenance``.

        Parameters
        ----------
        **provenance
            Entries to add or replace, e.g. ``method="dawid-skene"``.

        Returns
        -------
        SoftLabels
        """
        prov = {**self._provenance, **provenance}
        return SoftLabels(
            self._probs, self._classes, self._item_ids, provenance=prov, support=self._support
        )

    # ------------------------------------------------------------------ equality
    def equals(self, other: object, *, atol: float = 0.0) -> bool:
        """True when both hold the same items, classes, provenance, support and
        probabilities (within ``atol``; exactly by default). Items and classes are the
        same when equal and of the same type: item ``1``, ``1.0`` and ``True`` are three
        items (files write them as three ids); the width of a numpy type does not
        matter.

        Parameters
        ----------
        other : object
            Anything; only a SoftLabels can be equal.
        atol : float, default=0.0
            Largest absolute difference of one probability: a number >= 0 (else
            :class:`InvalidParameterError`).

        Returns
        -------
        bool
        """
        atol = check_float(atol, "atol", "SoftLabels.equals", low=0)
        if not isinstance(other, SoftLabels):
            return False
        if self._probs.shape != other._probs.shape:
            return False
        if not _same_values(self._classes, other._classes):
            return False
        if not _same_values(self._item_ids, other._item_ids):
            return False
        if self._provenance != other._provenance:
            return False
        if (self._support is None) != (other._support is None):
            return False
        if self._support is not None and not np.array_equal(self._support, other._support):
            return False
        if atol == 0:
            return bool(np.array_equal(self._probs, other._probs))
        return bool(np.allclose(self._probs, other._probs, rtol=0, atol=atol))

    def __eq__(self, other: object) -> bool:
        return self.equals(other)

    __hash__ = None  # type: ignore[assignment]

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state: Any) -> None:
        """Unpickled or deep-copied arrays come back writable: read-only again."""
        if isinstance(state, tuple):  # (None, slots) as pickled without __getstate__
            state = {**(state[0] or {}), **state[1]}
        for name, value in state.items():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            setattr(self, name, value)

    # ------------------------------------------------------------------ tables
    def _class_columns(self) -> list[str]:
        names = [str(c) for c in self._classes.tolist()]
        clash = [n for n in names if n in RESERVED_COLUMNS]
        if clash:
            raise InputError(
                f"class name {clash[0]!r} clashes with a reserved column of the soft-label "
                f"table {list(RESERVED_COLUMNS)}; rename that class."
            )
        if len(set(names)) != len(names):
            raise InputError("two classes have the same string form; they cannot be columns.")
        return names

    def to_frame(self) -> pd.DataFrame:
        """The soft-label table: ``item, label, confidence`` [``, support``], then one
        probability column per class, in class order, named by the class. ``support`` is
        an integer column when every value is a whole number."""
        names = self._class_columns()
        codes = self.hard_codes()
        data: dict[str, Any] = {
            "item": self._item_ids,
            "label": self._classes[codes],
            "confidence": self._probs[np.arange(self.n_items), codes],
        }
        if self._support is not None:
            data["support"] = self._support_column()
        frame = pd.DataFrame(data)
        probs = pd.DataFrame(self._probs, columns=names)
        return pd.concat([frame, probs], axis=1)

    def _support_column(self) -> np.ndarray:
        """Support as written: counts of answers or votes as integers (89, not 89.0)."""
        sup = self._support
        assert sup is not None
        whole = np.all(sup == np.round(sup)) and (sup.size == 0 or sup.max() < 2**53)
        return sup.astype(np.int64) if whole else sup

    def _check_unicode(self, path: str | os.PathLike[str]) -> None:
        """Raise :class:`InputError` naming the first class or item id that UTF-8 cannot
        hold (a lone surrogate, as a file name in another encoding is decoded)."""
        for what, values in (("class", self._classes), ("item", self._item_ids)):
            if values.dtype.kind not in "UO":
                continue
            texts = values.tolist()
            try:
                "".join(v for v in texts if isinstance(v, str)).encode("utf-8")
            except UnicodeEncodeError:
                r = next(i for i, v in enumerate(texts) if isinstance(v, str) and not _utf8(v))
                raise InputError(
                    f"{path}: {what} {r} ({texts[r]!r}) is not Unicode text: it holds a lone "
                    "surrogate (as a file name in another encoding does), which no file can "
                    "hold as UTF-8."
                ) from None

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        classes: Sequence[Any] | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> SoftLabels:
        """Read a soft-label table (the layout of :meth:`to_frame`).

        Class columns are every column other than ``item, label, confidence, support``,
        in order. Pass ``classes`` to restore their original values (column names are
        strings); when omitted and the ``label`` column is integer-valued, integer class
        names are restored.

        Parameters
        ----------
        frame : DataFrame
            With an ``item`` column and at least one class column.
        classes : sequence, optional
            The class values, one per class column, in order.
        provenance : dict, optional

        Returns
        -------
        SoftLabels
        """
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"expected a pandas DataFrame; got {type(frame).__name__}.")
        columns = [str(c) for c in frame.columns]
        if "item" not in columns:
            raise InputError(
                f"soft-label table has no 'item' column; columns are {columns[:8]}."
            )
        class_cols = [c for c in frame.columns if str(c) not in RESERVED_COLUMNS]
        if not class_cols:
            raise InputError("soft-label table has no probability columns.")
        if classes is None:
            names: Any = [str(c) for c in class_cols]
            if "label" in columns and pd.api.types.is_integer_dtype(frame["label"].dtype):
                try:
                    names = [int(c) for c in names]
                except ValueError:
                    pass
        else:
            names = list(classes)
            if len(names) != len(class_cols):
                raise InputError(
                    f"{len(names)} classes given but the table has {len(class_cols)} "
                    "probability columns."
                )
        for c in class_cols:
            _check_numbers(frame[c], f"class column {str(c)!r}", "a probability")
        probs = frame[class_cols].to_numpy(dtype=np.float64, na_value=np.nan)
        support = None
        if "support" in columns:
            _check_numbers(frame["support"], "the support column", "a number")
            support = frame["support"].to_numpy(dtype=np.float64, na_value=np.nan)
        return cls(
            probs,
            class_array(names),
            frame["item"].to_numpy(),
            provenance=provenance,
            support=support,
        )

    # ------------------------------------------------------------------ files
    def to_parquet(self, path: str | os.PathLike[str]) -> None:
        """Write the table of :meth:`to_frame` to Parquet, with the class values,
        provenance and a format version in the file's metadata. Atomic.

        Parameters
        ----------
        path : str or path
            The file to write. Item ids that mix types or integers beyond 64 bits raise
            :class:`InputError` (a Parquet column holds one type), as do classes or ids
            that are not Unicode text (a lone surrogate).
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        from softlabels.core.io import atomic_path

        self._check_unicode(path)
        frame = self.to_frame()
        if len({type(c) for c in self._classes.tolist()}) > 1:  # 1 and "a": kept in the
            frame["label"] = frame["label"].astype(str)  # metadata; a column holds one type
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            raise InputError(f"{path}: the item ids mix types (e.g. numbers and text) or are "
                             "integers beyond 64 bits; a Parquet column holds one type of at "
                             "most 64 bits. Make them all text first, or save as .jsonl.") from None
        meta = dict(table.schema.metadata or {})
        meta[_META_KEY] = json.dumps(
            {
                "format_version": _FORMAT_VERSION,
                "classes": jsonable(self._classes.tolist()),
                "provenance": self._provenance,
            }
        ).encode()
        table = table.replace_schema_metadata(meta)
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)

    @classmethod
    def read_parquet(cls, path: str | os.PathLike[str]) -> SoftLabels:
        """Read a file written by :meth:`to_parquet` (or any table in that layout).

        Parameters
        ----------
        path : str or path

        Returns
        -------
        SoftLabels
        """
        import pyarrow.parquet as pq

        from softlabels.core.io import check_readable

        check_readable(path)
        try:
            table = pq.read_table(path)
            table.validate(full=True)  # text that is not UTF-8 fails here, not later
            frame = table.to_pandas()  # decodes pandas' own metadata
        except Exception as err:  # pyarrow raises several types for corrupt files
            reason = " ".join(str(err).split())  # some run over several lines
            raise InputError(f"{path}: not a readable Parquet file ({reason}).") from None
        raw = (table.schema.metadata or {}).get(_META_KEY)
        if raw is None:
            return _in_file(path, cls.from_frame, frame)
        try:
            meta = json.loads(raw)
            if not isinstance(meta, dict) or not isinstance(meta.get("classes"), list):
                raise ValueError("no list of classes")
            if not isinstance(meta.get("provenance", {}), (dict, type(None))):
                raise ValueError("provenance is not an object")
            version = meta.get("format_version", 0)
            classes = class_array(meta["classes"])
            newer = version > _FORMAT_VERSION
        except (ValueError, TypeError) as err:  # JSON errors are ValueErrors
            raise InputError(f"{path}: the softlabels metadata of the file is damaged "
                             f"({err}); write the file again.") from None
        if newer:
            raise InputError(
                f"{path}: written by a newer softlabels (format "
                f"{version}); upgrade softlabels to read it."
            )
        return _in_file(path, cls.from_frame, frame, classes=classes,
                        provenance=meta.get("provenance"))

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the table of :meth:`to_frame` as CSV (full float precision). Atomic.
        Text with a NUL character, and a class or item id that is empty text (read back
        as missing), raise :class:`InputError` (save as Parquet or JSON lines), as does
        text that is not Unicode (a lone surrogate). Dates and times are written as
        text, and read back as text (Parquet keeps them).

        Parameters
        ----------
        path : str or path
            The file to write, gzipped when its name ends in ``.gz``.
        """
        from softlabels.core.io import atomic_path, csv_quoting

        self._check_unicode(path)
        for what, values in (("class", self._classes), ("item", self._item_ids)):
            empty = np.flatnonzero(values == "") if values.dtype.kind in "UO" else []
            if len(empty):
                raise InputError(f"{path}: {what} {empty[0]} is empty text, which CSV reads as "
                                 "missing; save as .parquet or .jsonl.")
        frame = self.to_frame()
        quoting = csv_quoting(frame, path)
        with atomic_path(path) as tmp:  # its name does not end in .gz: say so
            frame.to_csv(tmp, index=False, float_format=None, quoting=quoting,
                         compression="gzip" if _gzipped(path) else None)

    @classmethod
    def read_csv(cls, path: str | os.PathLike[str], **kwargs: Any) -> SoftLabels:
        """Read a CSV soft-label table (see :meth:`from_frame` for ``classes``); item
        ids are kept as written (``007`` and ``7`` are two items).

        Parameters
        ----------
        path : str or path
        **kwargs
            ``classes``, as for :meth:`from_frame`.

        Returns
        -------
        SoftLabels
        """
        from softlabels.core.io import check_unique_header, read_table

        frame = read_table(path, fmt="csv", id_columns=("item",))
        check_unique_header(path, "csv", str(path))
        return _in_file(path, cls.from_frame, frame, **kwargs)

    def to_jsonl(self, path: str | os.PathLike[str]) -> None:
        """Write JSON lines, one object per item: ``{"item", "label", "confidence"[,
        "support"], "probs": {class: probability}}``, the classes in order and as text
        (JSON keys), every float exact (shortest repr that reads back to the same
        float64). The provenance is not kept (use Parquet or :meth:`to_hf`). Atomic.

        Parameters
        ----------
        path : str or path
            The file to write, gzipped when its name ends in ``.gz``. Classes whose
            text forms coincide raise
            :class:`InputError` (they cannot be JSON keys), as do classes or ids that are
            not Unicode text (a lone surrogate), and ids that are neither text, numbers
            nor booleans (dates, time spans: JSON has no such type).
        """
        from softlabels.core.io import atomic_path

        self._check_unicode(path)
        odd = json_id_type(self._item_ids)
        if odd is not None:
            raise InputError(f"{path}: item {odd[0]} is {odd[1]}, which JSON cannot hold; "
                             "save as .parquet, or make the ids text first.")
        names = [str(c) for c in self._classes.tolist()]
        if len(set(names)) != len(names):
            raise InputError("two classes have the same text form; they cannot be JSON keys.")
        codes = self.hard_codes()
        head: dict[str, list[Any]] = {
            "item": self._item_ids.tolist(),
            "label": self._classes[codes].tolist(),
            "confidence": self._probs[np.arange(self.n_items), codes].tolist(),
        }
        if self._support is not None:
            head["support"] = self._support_column().tolist()
        rows = self._probs.tolist()  # Python floats: their repr reads back exactly
        encode = json.JSONEncoder(ensure_ascii=False, check_circular=False,
                                  default=_json_scalar).encode
        opener = gzip.open if _gzipped(path) else open
        with atomic_path(path) as tmp, opener(tmp, "wt", encoding="utf-8") as fh:
            for r, values in enumerate(zip(*head.values())):
                record = dict(zip(head, values), probs=dict(zip(names, rows[r])))
                fh.write(encode(record) + "\n")

    @classmethod
    def read_jsonl(
        cls, path: str | os.PathLike[str], *, classes: Sequence[Any] | None = None
    ) -> SoftLabels:
        """Read JSON lines written by :meth:`to_jsonl` (gzipped when the name ends in
        ``.gz``). The classes are the keys of the
        first line's ``probs``, in order (every line must have the same keys); they are
        read as integers when every key is a plain integer and every ``label`` is a JSON
        integer. ``classes`` gives them instead (as many, in the same order); with
        ``classes``, a file of no lines (as written of zero items) is zero items.

        Parameters
        ----------
        path : str or path
        classes : sequence, optional

        Returns
        -------
        SoftLabels
        """
        from softlabels.core.io import check_readable

        none = " (no lines, so no classes: pass classes=[...] to read it as zero items)"
        try:
            p = check_readable(path)
        except InputError as err:  # an empty file: what to_jsonl writes of zero items
            if classes is None or not os.path.isfile(path) or os.path.getsize(path):
                hint = none if os.path.isfile(path) else ""
                raise InputError(f"{str(err).rstrip('.')}{hint}.") from None
            return cls(np.zeros((0, len(classes))), class_array(classes), [])
        items: list[Any] = []
        support: list[Any] = []
        labels: list[Any] = []
        rows: list[list[Any]] = []
        keys: list[str] | None = None
        has_support: bool | None = None
        numbers: list[int] = []
        import gzip
        import zlib

        opener: Any = gzip.open if p.suffix.lower() == ".gz" else open
        try:  # utf-8-sig: through a byte-order mark, as CSV
            with opener(p, "rt", encoding="utf-8-sig") as fh:
                lines = list(enumerate(fh, start=1))
        except UnicodeDecodeError as err:
            raise InputError(f"{path}: is not UTF-8 text ({err.reason}).") from None
        except (OSError, EOFError, zlib.error) as err:  # a .gz cut short or not gzip
            raise InputError(f"{path}: cannot be read ({err}).") from None
        for number, line in lines:
            if not line.strip():
                continue
            where = f"{path}: line {number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{where}: not JSON ({err.msg}).") from None
            if not isinstance(record, dict):
                raise InputError(f"{where}: expected a JSON object per line.")
            for field in ("item", "probs"):
                if field not in record:
                    raise InputError(f"{where}: no {field!r} field.")
            probs = record["probs"]
            if not isinstance(probs, dict) or not probs:
                raise InputError(f"{where}: 'probs' must be an object {{class: probability}}.")
            if keys is None:
                keys, key_set, first = list(probs), set(probs), number
            elif probs.keys() != key_set:
                other = sorted(set(probs) ^ key_set)[0]
                raise InputError(
                    f"{where}: the classes differ from line {first}'s (e.g. {other!r})."
                )
            if has_support is None:
                has_support = "support" in record
            elif ("support" in record) != has_support:
                raise InputError(f"{where}: 'support' is given on some lines, not all.")
            if has_support:
                value = record["support"]
                if isinstance(value, bool) or not isinstance(value, (int, float)) \
                        or not value >= 0:
                    raise InputError(
                        f"{where}: 'support' must be a non-negative number; got {value!r}."
                    )
                support.append(value)
            item = record["item"]
            if not isinstance(item, (str, int, float)):  # bool is an int: as CSV, Parquet
                raise InputError(f"{where}: every 'item' must be text, a number or a "
                                 f"boolean; got {item!r}.")
            items.append(item)
            labels.append(record.get("label"))
            rows.append([probs[k] for k in keys])
            numbers.append(number)
        if keys is None:
            if classes is not None:
                return cls(np.zeros((0, len(classes))), class_array(classes), [])
            raise InputError(f"{path}: the file has no data{none}.")
        if {type(v) for row in rows for v in row} - {int, float}:  # one pass: bool, str, None
            r = next(r for r, row in enumerate(rows) if {type(v) for v in row} - {int, float})
            raise InputError(f"{path}: line {numbers[r]}: every probability must be a number.")
        if classes is None:
            names: Any = keys
            if all(isinstance(v, int) and not isinstance(v, bool) for v in labels) and all(
                re.fullmatch(r"-?(0|[1-9][0-9]*)", k) for k in keys
            ):
                names = [int(k) for k in keys]
        else:
            names = list(classes)
            if len(names) != len(keys):
                raise InputError(
                    f"{len(names)} classes given but {path} has {len(keys)} probabilities per line."
                )
        try:
            return cls(rows, class_array(names), _item_array(items),
                       support=support or None)
        except (InputError, TypeError, ValueError) as err:
            raise InputError(f"{path}: {err}") from None

    def to_hf(self) -> Any:
        """These soft labels as a Hugging Face ``datasets.Dataset``: see
        :func:`softlabels.core.formats.to_hf_dataset`."""
        from softlabels.core.formats import to_hf_dataset

        return to_hf_dataset(self)

    @classmethod
    def from_hf(cls, source: Any, **kwargs: Any) -> SoftLabels:
        """Soft labels from a Hugging Face dataset or ``save_to_disk`` folder: see
        :func:`softlabels.core.formats.from_hf_dataset`.

        Parameters
        ----------
        source : datasets.Dataset, str or path
        **kwargs
            ``classes``, ``item_col``, ``probs_col``, as for ``from_hf_dataset``.

        Returns
        -------
        SoftLabels
        """
        from softlabels.core.formats import from_hf_dataset

        return from_hf_dataset(source, **kwargs)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write to ``.parquet``, ``.csv`` or ``.jsonl``, chosen by the file extension.

        Parameters
        ----------
        path : str or path
            Ending in ``.parquet`` (or ``.pq``), ``.csv``, or ``.jsonl`` (or ``.ndjson``),
            the text formats gzipped when followed by ``.gz``; another extension raises
            :class:`InputError`. See :meth:`to_parquet`,
            :meth:`to_csv` and :meth:`to_jsonl`.
        """
        suffix = _kind(path)
        if suffix in (".parquet", ".pq"):
            self.to_parquet(path)
        elif suffix == ".csv":
            self.to_csv(path)
        elif suffix in (".jsonl", ".ndjson"):
            self.to_jsonl(path)
        else:
            raise InputError(
                f"{path}: unsupported output extension {suffix!r}; use .parquet, .csv or .jsonl."
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SoftLabels:
        """Read a file written by :meth:`save` (``.parquet``, ``.csv`` or ``.jsonl``).

        Parameters
        ----------
        path : str or path
            Ending in ``.parquet`` (or ``.pq``), ``.csv``, or ``.jsonl`` (or ``.ndjson``),
            the text formats gzipped when followed by ``.gz``; another extension raises
            :class:`InputError`.

        Returns
        -------
        SoftLabels
        """
        suffix = _kind(path)
        if suffix in (".parquet", ".pq"):
            return cls.read_parquet(path)
        if suffix == ".csv":
            return cls.read_csv(path)
        if suffix in (".jsonl", ".ndjson"):
            return cls.read_jsonl(path)
        raise InputError(
            f"{path}: read .parquet, .csv or .jsonl soft-label files; got {suffix or '(none)'!r}."
        )


def _gzipped(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() == ".gz"


def _kind(path: str | os.PathLike[str]) -> str:
    """The extension that says the format: ``.csv`` of ``x.csv`` and of ``x.csv.gz``
    (text formats are gzipped by a final ``.gz``; Parquet compresses inside)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".gz" and Path(p.stem).suffix.lower() in (".csv", ".jsonl", ".ndjson"):
        return Path(p.stem).suffix.lower()
    return suffix


def _in_file(path: str | os.PathLike[str], read: Any, *args: Any, **kwargs: Any) -> Any:
    """``read(*args, **kwargs)``, its :class:`InputError` prefixed with the file name."""
    try:
        return read(*args, **kwargs)
    except InputError as err:
        raise InputError(f"{path}: {err}") from None


def _same_values(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` and ``b`` hold equal values of the same Python types (``1``,
    ``1.0`` and ``True`` differ; int32 and int64 do not)."""
    left, right = a.tolist(), b.tolist()
    if left != right:
        return False
    if a.dtype == b.dtype and a.dtype.kind != "O":
        return True

    def kind(v: Any) -> type:
        return type(v.item() if isinstance(v, np.generic) else v)

    return list(map(kind, left)) == list(map(kind, right))


def _real(value: Any) -> float:
    """``value`` as a float, or NaN when it is no number (a bool, text, None), so that
    a range check refuses it rather than raise TypeError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return float("nan")
    return float(value)


def _check_numbers(values: pd.Series, what: str, noun: str) -> None:
    """Raise :class:`InputError` naming the first value of a column that is text, not
    ``noun`` (its row counted from 0)."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return
    number = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero((number.isna() & values.notna()).to_numpy())
    if bad.size:
        r = int(bad[0])
        raise InputError(f"{what} holds {values.iloc[r]!r} (row {r}), not {noun}.")


def json_id_type(ids: Sequence[Any]) -> tuple[int, str] | None:
    """The position and description (type and value) of the first id that JSON cannot
    hold as itself (a date, a time span, None, a tuple), or None when every id is text,
    a number or a boolean. A datetime64 would become an integer, a Timestamp fail."""
    kind = getattr(getattr(ids, "dtype", None), "kind", "O")
    if kind in "biufUS":
        return None
    for i, value in enumerate(ids):
        if isinstance(value, np.timedelta64) or not isinstance(
                value, (str, int, float, np.str_, np.integer, np.floating, np.bool_)):
            return i, f"a {type(value).__name__} ({value!r})"
    return None


def _json_scalar(value: Any) -> Any:
    """A numpy scalar (held in an object array) as its Python value, for JSON."""
    if isinstance(value, np.generic):
        return value.item()
    raise InputError(f"{value!r} ({type(value).__name__}) cannot be written as JSON.")


def _item_array(items: list[Any]) -> np.ndarray:
    """Item ids from a list: mixed types (1 and "a") stay as they are (object), and
    integers exact (int64, uint64 or, beyond, object), where numpy would make text of
    the first and float64 of ``[2**63 + 5, 3]``."""
    kinds = {type(v) for v in items}
    mixed = len(kinds) > 1 or _trailing_nul(items)
    if kinds == {int}:  # numpy would make [2**63 + 5, 3] float64: inexact
        for dtype in (np.int64, np.uint64):
            try:
                return np.asarray(items, dtype=dtype)
            except OverflowError:
                continue
        return np.asarray(items, dtype=object)  # integers beyond 64 bits
    return np.asarray(items, dtype=object if mixed else None)


def class_array(values: Sequence[Any]) -> np.ndarray:
    """Class values as an array; mixed types (1 and "a") and text ending in NUL stay as
    they are (object)."""
    values = list(values)
    mixed = len({type(v.item() if isinstance(v, np.generic) else v) for v in values}) > 1 \
        or _trailing_nul(values)
    return np.asarray(values, dtype=object if mixed else None)


def _utf8(text: str) -> bool:
    """Whether UTF-8 can hold ``text`` (it cannot hold a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _trailing_nul(values: Sequence[Any]) -> bool:
    """Whether some text ends with NUL, which a fixed-width numpy string would drop."""
    return any(isinstance(v, str) and v.endswith("\x00") for v in values)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax."""
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def row_argmax(a: np.ndarray) -> np.ndarray:
    """``a.argmax(axis=1)`` of a finite 2-D array (the first column on ties), column
    by column for few columns: several times faster than numpy's per-row search."""
    if a.shape[1] > 32 or a.shape[1] == 0 or a.shape[0] == 0:
        return a.argmax(axis=1)
    best = a[:, 0].copy()
    out = np.zeros(a.shape[0], dtype=np.intp)
    for j in range(1, a.shape[1]):
        column = a[:, j]
        better = column > best  # strictly: a tie keeps the earlier column
        out[better] = j
        np.maximum(best, column, out=best)
    return out


def normalize_rows(a: np.ndarray) -> np.ndarray:
    """Divide each row by its sum; all-zero rows become uniform."""
    a = np.asarray(a, dtype=np.float64)
    s = a.sum(axis=1, keepdims=True)
    out = np.empty_like(a)
    zero = s[:, 0] <= 0
    np.divide(a, s, out=out, where=~zero[:, None])
    if zero.any():
        out[zero] = 1.0 / a.shape[1]
    return out


# keep the tolerance visible to users
SoftLabels.SUM_ATOL = SUM_ATOL  # type: ignore[attr-defined]
