"""Per-view soft labels and encoded blocks of labels.

:class:`ViewLabels` holds the soft labels of many views of each item (crops or
augmentations), with each view's crop box and flip, as FKD stores them (Shen & Xing,
ECCV 2022): the box is ``(top, left, height, width)`` as fractions of the image's height
and width, rows first. :class:`Encoded` is a block of rows (of a :class:`SoftLabels` or
a :class:`ViewLabels`) under a codec: what a store holds and what its readers return.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from softlabels.core.errors import InputError
from softlabels.core.soft import SoftLabels, class_array
from softlabels.core.validation import check_probs
from softlabels.store.codecs import Codec, Fidelity, measure

__all__ = ["ViewLabels", "Encoded", "encode", "item_runs"]

BOX_TYPES = ("float16", "float32")


def item_runs(item_per_row: np.ndarray) -> np.ndarray:
    """Row offsets of the runs of equal consecutive values: ``(n_runs + 1,)``.

    Parameters
    ----------
    item_per_row : array-like of shape (n_rows,)
        The item of each row.

    Returns
    -------
    ndarray of int64 of shape (n_runs + 1,)
        Start of each run, then ``n_rows``; ``[0]`` without rows.
    """
    ids = np.asarray(item_per_row)
    n = ids.shape[0]
    if n == 0:
        return np.zeros(1, dtype=np.int64)
    change = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    return np.concatenate([[0], change, [n]]).astype(np.int64)


class ViewLabels:
    """Soft labels of the views of items: one row per view.

    Parameters
    ----------
    probs : array-like of shape (n_views, n_classes)
        One distribution per view (rows sum to 1).
    classes : array-like of shape (n_classes,)
    item_ids : array-like of shape (n_views,)
        The item of each view. The views of one item must be consecutive rows.
    boxes : array-like of shape (n_views, 4), optional
        Crop boxes ``(top, left, height, width)`` as fractions of the image size.
    flips : array-like of shape (n_views,), optional
        Whether the view was flipped horizontally.
    provenance : dict, optional
    """

    __slots__ = ("probs", "classes", "item_ids", "boxes", "flips", "provenance")

    def __init__(
        self,
        probs: Any,
        classes: Any,
        item_ids: Any,
        *,
        boxes: Any = None,
        flips: Any = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> None:
        p = check_probs(probs, name="probs")
        n = p.shape[0]
        cls = np.asarray(classes)
        if cls.ndim != 1 or cls.shape[0] != p.shape[1]:
            raise InputError(f"probs has {p.shape[1]} columns but classes has shape {cls.shape}.")
        if len(set(cls.tolist())) != cls.shape[0]:
            raise InputError("classes must be unique.")
        ids = np.asarray(item_ids)
        if ids.shape != (n,):
            raise InputError(f"item_ids must have shape ({n},) (one per view); got {ids.shape}.")
        runs = item_runs(ids)
        firsts = ids[runs[:-1]]
        if len(set(firsts.tolist())) != firsts.shape[0]:
            seen: set[Any] = set()
            for v in firsts.tolist():
                if v in seen:
                    raise InputError(
                        f"the views of item {v!r} are not consecutive rows; sort the views by item."
                    )
                seen.add(v)
        b = np.zeros((n, 4), dtype=np.float32) if boxes is None else np.asarray(boxes, dtype=np.float32)
        if b.shape != (n, 4):
            raise InputError(f"boxes must have shape ({n}, 4); got {b.shape}.")
        if not np.isfinite(b).all():
            raise InputError("boxes contain NaN or infinite values.")
        f = np.zeros(n, dtype=bool) if flips is None else np.asarray(flips)
        if f.shape != (n,):
            raise InputError(f"flips must have shape ({n},); got {f.shape}.")
        if f.dtype != bool:
            if not np.isin(f, (0, 1)).all():
                raise InputError("flips must be booleans (or 0/1).")
            f = f.astype(bool)
        self.probs = np.asarray(p, dtype=np.float64)
        self.classes = cls
        self.item_ids = ids
        self.boxes = b
        self.flips = f
        self.provenance = dict(provenance or {})

    @property
    def n_views(self) -> int:
        return int(self.probs.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.probs.shape[1])

    @property
    def n_items(self) -> int:
        return int(item_runs(self.item_ids).shape[0] - 1)

    def __len__(self) -> int:
        return self.n_views

    def __repr__(self) -> str:
        return f"ViewLabels(n_views={self.n_views}, n_items={self.n_items}, n_classes={self.n_classes})"

    def equals(self, other: object, *, atol: float = 0.0, box_atol: float = 0.0) -> bool:
        """Whether ``other`` holds the same views: classes, item ids, provenance and
        flips equal, probabilities and boxes within an absolute tolerance.

        Parameters
        ----------
        other : object
            Anything; only a :class:`ViewLabels` of the same shape can be equal.
        atol : float, default=0.0
            Largest difference of one probability.
        box_atol : float, default=0.0
            Largest difference of one box coordinate.

        Returns
        -------
        bool
        """
        if not isinstance(other, ViewLabels) or self.probs.shape != other.probs.shape:
            return False
        return (
            self.classes.tolist() == other.classes.tolist()
            and self.item_ids.tolist() == other.item_ids.tolist()
            and self.provenance == other.provenance
            and bool(np.array_equal(self.flips, other.flips))
            and bool(np.allclose(self.boxes, other.boxes, rtol=0, atol=box_atol))
            and bool(np.allclose(self.probs, other.probs, rtol=0, atol=atol))
        )


@dataclasses.dataclass
class Encoded:
    """Rows under a codec: the codec's arrays and what goes with the rows.

    ``item_ids`` has one entry per row (for views, the item of each view); ``boxes``
    (stored bits of ``box_dtype``) and ``flips`` are set for views only; ``support``
    for items only, when the labels had it.

    Parameters
    ----------
    codec : Codec
    arrays : dict of str to ndarray
        As ``codec.encode`` returns them.
    classes : ndarray of shape (n_classes,)
    item_ids : ndarray of shape (n_rows,)
    provenance : dict
    views : bool, default=False
        Whether the rows are views of items.
    boxes : ndarray of shape (n_rows, 4), optional
    flips : ndarray of bool, shape (n_rows,), optional
    support : ndarray of shape (n_rows,), optional
    box_dtype : {"float16", "float32"}, default="float16"
    """

    codec: Codec
    arrays: dict[str, np.ndarray]
    classes: np.ndarray
    item_ids: np.ndarray
    provenance: dict[str, Any]
    views: bool = False
    boxes: np.ndarray | None = None
    flips: np.ndarray | None = None
    support: np.ndarray | None = None
    box_dtype: str = "float16"

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])

    @property
    def n_rows(self) -> int:
        return int(self.item_ids.shape[0])

    def nbytes(self) -> int:
        """Bytes of the labels (codec arrays) plus, for views, boxes and flips (1 byte
        per flip); item ids are not counted."""
        n = self.codec.nbytes(self.arrays)
        if self.views:
            n += int(np.asarray(self.boxes).nbytes) + self.n_rows
        return n

    def decode(self, *, dtype: Any = np.float64) -> np.ndarray:
        """Dense ``(n_rows, n_classes)`` probabilities.

        Parameters
        ----------
        dtype : numpy dtype, default=float64
        """
        return self.codec.decode(self.arrays, self.n_classes, dtype=dtype)

    def decode_topk(self, *, dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-k codecs only: indices, values and the value of every other class
        (another codec raises :class:`InputError`).

        Parameters
        ----------
        dtype : numpy dtype, default=float32
            Of the values.

        Returns
        -------
        tuple of ndarray
            As :meth:`TopK.decode_topk` returns them.
        """
        method = getattr(self.codec, "decode_topk", None)
        if method is None:
            raise InputError(f"codec {self.codec.name} is not a top-k codec.")
        return method(self.arrays, self.n_classes, dtype=dtype)

    def decoded_boxes(self) -> np.ndarray:
        if self.boxes is None:
            raise InputError("these rows are items, not views: they have no boxes.")
        return np.asarray(self.boxes).astype(np.float32)

    def labels(self) -> SoftLabels | ViewLabels:
        """The decoded :class:`SoftLabels` (items) or :class:`ViewLabels` (views)."""
        probs = self.decode(dtype=np.float64)
        classes = class_array(self.classes.tolist())
        if self.views:
            return ViewLabels(
                probs, classes, self.item_ids, boxes=self.decoded_boxes(),
                flips=self.flips, provenance=self.provenance,
            )
        return SoftLabels(
            probs, classes, self.item_ids, provenance=self.provenance, support=self.support
        )

    def fidelity(self, original: SoftLabels | ViewLabels | np.ndarray) -> Fidelity:
        """How far these rows, decoded, are from ``original``.

        Parameters
        ----------
        original : SoftLabels, ViewLabels or ndarray of shape (n_rows, n_classes)
            The rows that were encoded.

        Returns
        -------
        Fidelity
        """
        p = original.probs if isinstance(original, (SoftLabels, ViewLabels)) else original
        return measure(self.codec, self.arrays, p)


def encode(
    labels: SoftLabels | ViewLabels, codec: Codec, *, box_dtype: str = "float16"
) -> Encoded:
    """Encode a :class:`SoftLabels` or :class:`ViewLabels` with ``codec``.

    Parameters
    ----------
    labels : SoftLabels or ViewLabels
        Anything else raises :class:`InputError`.
    codec : Codec
        E.g. ``TopK(5)``; it must be able to hold the labels' classes.
    box_dtype : {"float16", "float32"}, default="float16"
        Storage type of the crop boxes of views.

    Returns
    -------
    Encoded
    """
    if not isinstance(codec, Codec):
        raise InputError(f"codec must be a Codec (e.g. TopK(5)); got {type(codec).__name__}.")
    if box_dtype not in BOX_TYPES:
        raise InputError(f"box_dtype must be one of {list(BOX_TYPES)}; got {box_dtype!r}.")
    if isinstance(labels, SoftLabels):
        codec.check(labels.n_classes)
        return Encoded(
            codec, codec.encode(labels.probs), np.asarray(labels.classes), np.asarray(labels.item_ids),
            labels.provenance, support=labels.support, box_dtype=box_dtype,
        )
    if isinstance(labels, ViewLabels):
        codec.check(labels.n_classes)
        return Encoded(
            codec, codec.encode(labels.probs), np.asarray(labels.classes), labels.item_ids,
            dict(labels.provenance), views=True,
            boxes=np.asarray(labels.boxes, dtype=np.float32).astype(box_dtype),
            flips=labels.flips, box_dtype=box_dtype,
        )
    raise InputError(f"expected SoftLabels or ViewLabels; got {type(labels).__name__}.")

