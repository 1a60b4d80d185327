"""Stored labels joined with their inputs, for training loops (NumPy; no torch).

:class:`StoreDataset` pairs each record of a :class:`~softlabels.store.LabelStore` with
its input, found by item id: from an array (rows given by ``input_ids``, or indexed by
the item id itself), a mapping, or a callable ``loader(item_id)``. For a store of
views, the input image is cropped by the view's stored box, flipped when the view was
flipped, and resized to a fixed size (:func:`replay_view`), so that the image matches
the label the teacher gave. Labels are decoded on the fly, as float32 rows.

A :class:`StoreDataset` is map-style: record ``i`` is the store's row ``i`` (a view, or
an item), and it keeps the whole store *encoded* in memory (about the store's
``nbytes()``). :meth:`StoreDataset.iter_records` streams the store instead, a row group
at a time, for one shard of the row groups (``shard=(index, count)``), which is how the
PyTorch ``IterableDataset`` of :mod:`softlabels.store.torch_data` splits the work
between ``DataLoader`` workers. Each process opens its own reader: the dataset holds the
store's path, and the open files are never pickled.

Images are ``(H, W)`` or ``(H, W, channels)`` arrays (channels last).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from softlabels.core.errors import InputError
from softlabels.store.codecs import Codec, Sparse
from softlabels.store.container import LabelStore
from softlabels.store.records import Encoded

__all__ = ["StoreDataset", "replay_view", "take_rows"]

INTERPOLATIONS = ("nearest", "bilinear")


# ------------------------------------------------------------------------- crops
def _check_size(size: Any) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (int(size), int(size))
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise InputError(f"size must be an integer or (height, width); got {size!r}.") from None
    if h < 1 or w < 1:
        raise InputError(f"size must be positive; got {(h, w)}.")
    return h, w


def _sample_points(start: float, extent: float, n_src: int, n_out: int) -> np.ndarray:
    """Source pixel coordinates of the centres of ``n_out`` output pixels spanning
    ``[start, start + extent)`` (fractions of the ``n_src`` source pixels)."""
    step = extent * n_src / n_out
    return start * n_src + (np.arange(n_out) + 0.5) * step - 0.5


def replay_view(
    image: Any,
    box: Any = None,
    flip: bool = False,
    size: Any = None,
    *,
    interpolation: str = "bilinear",
) -> np.ndarray:
    """The view of ``image`` that a stored record describes.

    Parameters
    ----------
    image : array of shape (H, W) or (H, W, channels)
    box : (top, left, height, width), optional
        The crop as fractions of the image's height and width. ``None``, or a box of
        zero height and width (what :class:`ViewLabels` stores when given no boxes),
        is the whole image.
    flip : bool
        Flip the crop horizontally (left-right).
    size : int or (height, width), optional
        Output size; by default the image's own size.
    interpolation : {"bilinear", "nearest"}
        How output pixels are sampled from the crop. Samples past the image's edge
        take the edge pixel.

    Returns
    -------
    float array of shape ``size`` (+ channels): float32 unless the image is float64.

    Examples
    --------
    >>> img = np.arange(16.0).reshape(4, 4)
    >>> replay_view(img, (0, 0.5, 0.5, 0.5), size=2).tolist()  # the top-right quarter
    [[2.0, 3.0], [6.0, 7.0]]
    >>> replay_view(img, (0, 0.5, 0.5, 0.5), flip=True, size=2).tolist()
    [[3.0, 2.0], [7.0, 6.0]]
    """
    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.shape[0] == 0 or img.shape[1] == 0:
        raise InputError(f"image must have shape (H, W) or (H, W, channels); got {img.shape}.")
    if interpolation not in INTERPOLATIONS:
        raise InputError(f"interpolation must be one of {list(INTERPOLATIONS)}; got {interpolation!r}.")
    h_src, w_src = img.shape[:2]
    out_h, out_w = (h_src, w_src) if size is None else _check_size(size)
    if box is None:
        top, left, height, width = 0.0, 0.0, 1.0, 1.0
    else:
        b = np.asarray(box, dtype=np.float64).reshape(-1)
        if b.shape != (4,) or not np.isfinite(b).all():
            raise InputError(f"box must be 4 finite numbers (top, left, height, width); got {box!r}.")
        top, left, height, width = (float(v) for v in b)
        if height == 0 and width == 0:
            top, left, height, width = 0.0, 0.0, 1.0, 1.0
        elif height <= 0 or width <= 0:
            raise InputError(f"box height and width must be positive; got {(height, width)}.")
    ys = _sample_points(top, height, h_src, out_h)
    xs = _sample_points(left, width, w_src, out_w)
    dtype = np.float64 if img.dtype == np.float64 else np.float32
    src = img.astype(dtype, copy=False)
    if interpolation == "nearest":
        yi = np.clip(np.floor(ys + 0.5), 0, h_src - 1).astype(np.intp)
        xi = np.clip(np.floor(xs + 0.5), 0, w_src - 1).astype(np.intp)
        out = src[yi[:, None], xi[None, :]]
    else:
        ys = np.clip(ys, 0, h_src - 1)
        xs = np.clip(xs, 0, w_src - 1)
        y0 = np.floor(ys).astype(np.intp)
        x0 = np.floor(xs).astype(np.intp)
        y1 = np.minimum(y0 + 1, h_src - 1)
        x1 = np.minimum(x0 + 1, w_src - 1)
        wy = (ys - y0).astype(dtype)[:, None]
        wx = (xs - x0).astype(dtype)[None, :]
        if img.ndim == 3:
            wy, wx = wy[..., None], wx[..., None]
        top_row = src[y0[:, None], x0[None, :]] * (1 - wx) + src[y0[:, None], x1[None, :]] * wx
        bottom_row = src[y1[:, None], x0[None, :]] * (1 - wx) + src[y1[:, None], x1[None, :]] * wx
        out = top_row * (1 - wy) + bottom_row * wy
    if flip:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


# ------------------------------------------------------------------------- labels
def take_rows(codec: Codec, arrays: Mapping[str, np.ndarray], rows: Any) -> dict[str, np.ndarray]:
    """The encoded arrays of the rows ``rows`` (any order, repeats allowed).

    Parameters
    ----------
    codec : Codec
        The codec that made ``arrays``.
    arrays : mapping of str to ndarray
        Encoded arrays of every row (for :class:`Sparse`, ``offsets``, ``indices`` and
        ``values``).
    rows : array-like of int
        Rows to take.

    Returns
    -------
    dict of str to ndarray
        The arrays of the rows taken, in the order of ``rows`` (new offsets for
        :class:`Sparse`).
    """
    r = np.asarray(rows, dtype=np.intp)
    if isinstance(codec, Sparse):
        off = np.asarray(arrays["offsets"])
        lengths = off[r + 1] - off[r]
        new_off = np.zeros(r.shape[0] + 1, dtype=np.int64)
        np.cumsum(lengths, out=new_off[1:])
        pick = np.repeat(off[r] - new_off[:-1], lengths) + np.arange(int(new_off[-1]))
        return {"offsets": new_off, "indices": np.asarray(arrays["indices"])[pick],
                "values": np.asarray(arrays["values"])[pick]}
    return {k: np.asarray(v)[r] for k, v in arrays.items()}


# ------------------------------------------------------------------------- inputs
class _Inputs:
    """Inputs by item id: ``get(item_id, hint)``; ``hint`` is the item's row in an
    array joined ahead of time."""

    def __init__(self, inputs: Any, input_ids: Any) -> None:
        self.array: np.ndarray | None = None
        self.loader: Callable[[Any], Any] | None = None
        self.ids: np.ndarray | None = None
        if callable(inputs) and not isinstance(inputs, np.ndarray):
            if input_ids is not None:
                raise InputError("input_ids go with an array of inputs, not with a loader.")
            self.loader = inputs
        elif isinstance(inputs, Mapping):
            if input_ids is not None:
                raise InputError("input_ids go with an array of inputs, not with a mapping.")
            self.loader = inputs.__getitem__
        else:
            a = np.asarray(inputs)
            if a.ndim == 0:
                raise InputError("inputs must be an array indexed by item, a mapping or a callable.")
            self.array = a
            if input_ids is not None:
                ids = np.asarray(input_ids)
                if ids.shape != (a.shape[0],):
                    raise InputError(
                        f"input_ids must have one id per input row ({a.shape[0]}); got shape {ids.shape}."
                    )
                self.ids = ids

    def join(self, item_ids: np.ndarray) -> np.ndarray | None:
        """Rows of the array for ``item_ids`` (checked); ``None`` for a loader."""
        if self.array is None:
            return None
        if self.ids is None:
            if item_ids.size and item_ids.dtype.kind not in "iu":
                raise InputError(
                    "the store's item ids are not integers: give input_ids (the id of each input row)."
                )
            pos = np.asarray(item_ids, dtype=np.int64)
            bad = (pos < 0) | (pos >= self.array.shape[0])
        else:
            import pandas as pd

            index = pd.Index(self.ids)
            if not index.is_unique:
                dup = index[index.duplicated()][0]
                raise InputError(f"input_ids repeat the id {dup!r}.")
            pos = index.get_indexer(item_ids)
            bad = pos < 0
        if bad.any():
            first = item_ids[np.flatnonzero(bad)[0]]
            first = first.item() if isinstance(first, np.generic) else first
            raise InputError(f"no input for item {first!r} ({int(bad.sum())} items without one).")
        return pos

    def get(self, item_id: Any, row: int | None) -> np.ndarray:
        if self.loader is not None:
            key = item_id.item() if isinstance(item_id, np.generic) else item_id
            return np.asarray(self.loader(key))
        assert self.array is not None and row is not None
        return self.array[row]


# ------------------------------------------------------------------------- dataset
class StoreDataset:
    """Records of a label store with their inputs (see the module docstring).

    Parameters
    ----------
    store : LabelStore or path
    inputs : array, mapping or callable
        An array whose rows are the inputs (row ``i`` is item ``input_ids[i]``, or,
        without ``input_ids``, item id ``i``: the store's ids must then be integers), a
        mapping from item id to input, or a callable ``loader(item_id) -> input``.
    input_ids : array-like, optional
        The item id of each row of an array of inputs.
    size : int or (height, width), optional
        For a store of views: the size of every view (default: the image's own size).
    interpolation : {"bilinear", "nearest"}
    replay : bool
        For a store of views: crop and flip the inputs as stored (default). With
        ``False`` inputs are returned as they are.
    return_index : bool
        Records are ``(input, label, row)`` rather than ``(input, label)``: ``row`` is
        the record's row in the store.

    Notes
    -----
    Each record's label is the decoded float32 probability row (``(n_classes,)``).
    """

    def __init__(
        self,
        store: LabelStore | str | os.PathLike[str],
        inputs: Any,
        *,
        input_ids: Any = None,
        size: Any = None,
        interpolation: str = "bilinear",
        replay: bool = True,
        return_index: bool = False,
    ) -> None:
        if isinstance(store, LabelStore):
            self.path = store.path
        elif isinstance(store, (str, os.PathLike)):
            self.path = Path(store)
        else:
            raise InputError(f"store must be a LabelStore or a path; got {type(store).__name__}.")
        if interpolation not in INTERPOLATIONS:
            raise InputError(f"interpolation must be one of {list(INTERPOLATIONS)}; got {interpolation!r}.")
        self.size = None if size is None else _check_size(size)
        self.interpolation = interpolation
        self.replay = bool(replay)
        self.return_index = bool(return_index)
        self._inputs = _Inputs(inputs, input_ids)
        reader = LabelStore(self.path)
        self.views = reader.views
        self.n_classes = len(reader.classes)
        self.classes = reader.classes
        self._n_rows = reader.n_rows
        self._reader: LabelStore | None = None
        self._pid: int | None = None
        self._enc: Encoded | None = None
        self._rows: np.ndarray | None = None
        self._check_inputs(reader)

    def _check_inputs(self, reader: LabelStore) -> None:
        """Join the inputs to every item now, so that a missing input fails here."""
        ids = reader.item_ids()
        pos = self._inputs.join(ids)
        if pos is not None:
            self._item_row = np.repeat(pos, np.diff(reader.row_offsets()))  # input row of each store row

    # -------------------------------------------------------------- per process
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_reader=None, _pid=None, _enc=None)
        return state

    def reader(self) -> LabelStore:
        """This process's reader of the store (opened on first use in each process)."""
        if self._reader is None or self._pid != os.getpid():
            self._reader = LabelStore(self.path)
            self._pid = os.getpid()
            self._enc = None
        return self._reader

    def _encoded(self) -> Encoded:
        reader = self.reader()
        if self._enc is None:
            self._enc = reader.read_encoded()
        return self._enc

    # -------------------------------------------------------------- map-style
    def __len__(self) -> int:
        return int(self._n_rows)

    def __getitem__(self, i: int) -> tuple[Any, ...]:
        n = len(self)
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise InputError(f"records are indexed by integers; got {type(i).__name__}.")
        if not -n <= i < n:
            raise IndexError(f"record {i} is out of range for {n} records.")
        return self.__getitems__([int(i) % n])[0]

    def _check_rows(self, rows: Any) -> np.ndarray:
        """``rows`` as positions ``0 .. n - 1`` (negative rows count from the end, as in
        :meth:`__getitem__`)."""
        r = np.asarray(rows)
        if r.ndim == 1 and r.size == 0:
            return np.zeros(0, dtype=np.intp)
        if r.ndim != 1 or r.dtype.kind not in "iu":
            what = f"an array of shape {r.shape}" if r.ndim != 1 else f"{r.dtype} values"
            raise InputError(f"records are indexed by integers; got {what}.")
        n = len(self)
        bad = np.flatnonzero((r < -n) | (r >= n))
        if bad.size:
            raise IndexError(f"record {r[bad[0]]} is out of range for {n} records.")
        return np.where(r < 0, r + n, r).astype(np.intp)

    def __getitems__(self, rows: Sequence[int]) -> list[tuple[Any, ...]]:
        """Records ``rows`` at once (their labels decoded together)."""
        r = self._check_rows(rows)
        enc = self._encoded()
        labels = enc.codec.decode(take_rows(enc.codec, enc.arrays, r), self.n_classes, dtype=np.float32)
        return self._records(enc, r, r, labels)

    def labels(self, rows: Any = None) -> np.ndarray:
        """Decoded float32 labels of ``rows`` (all rows by default).

        Parameters
        ----------
        rows : array-like of int, optional
            Row positions.

        Returns
        -------
        ndarray of float32, shape (n_rows, n_classes)
        """
        enc = self._encoded()
        if rows is None:
            return enc.decode(dtype=np.float32)
        r = self._check_rows(rows)
        return enc.codec.decode(take_rows(enc.codec, enc.arrays, r), self.n_classes, dtype=np.float32)

    def _records(
        self, enc: Encoded, local: np.ndarray, global_rows: np.ndarray, labels: np.ndarray
    ) -> list[tuple[Any, ...]]:
        boxes = enc.decoded_boxes() if self.views else None
        out = []
        for j, (lr, gr) in enumerate(zip(local.tolist(), global_rows.tolist())):
            row = None if self._inputs.array is None else int(self._item_row[gr])
            x = self._inputs.get(enc.item_ids[lr], row)
            if self.views and self.replay:
                x = replay_view(x, boxes[lr], bool(enc.flips[lr]), self.size,
                                interpolation=self.interpolation)
            out.append((x, labels[j], gr) if self.return_index else (x, labels[j]))
        return out

    # -------------------------------------------------------------- streaming
    def n_groups(self) -> int:
        """Row groups of the store: the units that :meth:`iter_records` shards."""
        return len(self.reader().group_ranges())

    def iter_blocks(
        self, *, shard: tuple[int, int] = (0, 1), shuffle: bool = False, seed: int = 0
    ) -> Iterator[list[tuple[Any, ...]]]:
        """The records of this shard's row groups, one list per row group.

        ``shard=(index, count)`` takes row groups ``index, index + count, ...``;
        ``shuffle`` shuffles the order of those groups and of the records in each
        (with ``seed``).

        Parameters
        ----------
        shard : tuple of int, default=(0, 1)
            ``(index, count)`` with ``0 <= index < count``.
        shuffle : bool, default=False
            Shuffle the row groups and the records within each.
        seed : int, default=0
            Seed of the shuffle.

        Yields
        ------
        list of tuple
            The records of one row group.
        """
        index, count = check_shard(shard)
        reader = self.reader()
        ranges = reader.group_ranges()
        mine = list(range(index, len(ranges), count))
        rng = np.random.default_rng(seed)
        if shuffle:
            rng.shuffle(mine)
        for g in mine:
            items, rows = ranges[g]
            enc = reader.read_encoded(items[0], items[1])
            local = np.arange(enc.n_rows, dtype=np.intp)
            if shuffle:
                rng.shuffle(local)
            labels = enc.codec.decode(take_rows(enc.codec, enc.arrays, local), self.n_classes,
                                      dtype=np.float32)
            yield self._records(enc, local, local + rows[0], labels)

    def iter_records(
        self, *, shard: tuple[int, int] = (0, 1), shuffle: bool = False, seed: int = 0
    ) -> Iterator[tuple[Any, ...]]:
        """The records of this shard, a row group at a time (see :meth:`iter_blocks`).

        Parameters
        ----------
        shard, shuffle, seed
            As for :meth:`iter_blocks`.

        Yields
        ------
        tuple
            One record.
        """
        for block in self.iter_blocks(shard=shard, shuffle=shuffle, seed=seed):
            yield from block


def check_shard(shard: Any) -> tuple[int, int]:
    try:
        index, count = (int(v) for v in shard)
    except (TypeError, ValueError):
        raise InputError(f"shard must be (index, count); got {shard!r}.") from None
    if count < 1 or not 0 <= index < count:
        raise InputError(f"shard must be (index, count) with 0 <= index < count; got {shard!r}.")
    return index, count
