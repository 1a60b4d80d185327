"""ReLabel's label maps and LabelPooling (Yun et al., CVPR 2021).

A label map is a per-item spatial map of class scores, ``(n_classes, height, width)``,
of which only the ``k`` best classes per location are stored. A training crop gets its
own soft label by pooling the map over the crop's box (an RoIAlign-style average of
bilinear samples) and taking a softmax over the classes, so no teacher runs during
training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import softmax as softmax_rows
from softlabels.core.validation import check_finite, check_float, check_int

__all__ = ["LabelMap", "label_pool", "box_weights"]

Fill = Literal["zero", "min"]


def _index_dtype(n_classes: int) -> np.dtype:
    return np.dtype(np.uint8 if n_classes <= 256 else np.int16 if n_classes <= 32767 else np.int32)


@dataclass(frozen=True)
class LabelMap:
    """Top-``k`` class scores at each location of an ``height x width`` map.

    Parameters
    ----------
    values : ndarray of shape (k, height, width)
        The ``k`` largest scores at each location, in decreasing order.
    indices : ndarray of shape (k, height, width)
        Their class indices (``0 .. n_classes - 1``).
    n_classes : int
        Number of classes of the full map.

    Notes
    -----
    ReLabel stores an EfficientNet-L2's final layer applied as a 1x1 convolution to its
    last feature map (``C x 15 x 15`` for ImageNet), keeping the top 5 classes per
    location as a ``[2, 5, 15, 15]`` tensor (scores, then indices) [1]_. Here the scores
    are kept in their own dtype (float16 by default in :meth:`from_dense`) and the
    indices in the smallest unsigned or signed integer type that holds ``n_classes``;
    :meth:`nbytes` counts exactly these two arrays. ``from_dense(centre=True)``
    (our option, not ReLabel's) shifts each location so that the dropped classes count
    at their mean rather than at 0 when pooled.

    References
    ----------
    .. [1] S. Yun, S. J. Oh, B. Heo, D. Han, J. Choe and S. Chun, "Re-labeling ImageNet:
       from Single to Multi-Labels, from Global to Localized Labels", CVPR 2021.

    Examples
    --------
    >>> m = LabelMap.from_dense(np.arange(12.0).reshape(3, 2, 2), k=1)
    >>> m.indices[0].tolist(), m.values[0].tolist()
    ([[2, 2], [2, 2]], [[8.0, 9.0], [10.0, 11.0]])
    >>> m.nbytes()
    12
    """

    values: np.ndarray
    indices: np.ndarray
    n_classes: int

    def __post_init__(self) -> None:
        v, i = np.asarray(self.values), np.asarray(self.indices)
        if v.ndim != 3 or v.shape != i.shape:
            raise InputError(
                "LabelMap values and indices must both have shape (k, height, width); "
                f"got {v.shape} and {i.shape}."
            )
        if not np.issubdtype(i.dtype, np.integer):
            raise InputError(f"LabelMap indices must be integers; got dtype {i.dtype}.")
        n = check_int(self.n_classes, "n_classes", "LabelMap", low=1)
        if v.shape[0] > n:
            raise InputError(f"LabelMap holds k={v.shape[0]} classes per location but n_classes={n}.")
        if i.size and (i.min() < 0 or i.max() >= n):
            raise InputError(
                f"LabelMap indices must lie in [0, {n - 1}]; got values in [{i.min()}, {i.max()}]."
            )
        check_finite(v.astype(np.float64).reshape(v.shape[0], -1), "LabelMap values")

    @classmethod
    def from_dense(
        cls, scores: Any, k: int = 5, *, dtype: Any = np.float16, centre: bool = False
    ) -> "LabelMap":
        """Keep the ``k`` largest of ``scores`` (shape ``(n_classes, height, width)``) per
        location, in decreasing order, as ``dtype``.

        With ``centre=True`` each location's scores are first shifted by the mean of its
        classes outside the top ``k`` (by the mean of all classes when ``k = n_classes``).
        A per-location shift changes every class's pooled score by the same amount, so
        the softmax of a pooled dense map is unchanged; after top-``k`` with
        ``fill="zero"`` the dropped classes then count at their mean instead of at 0.
        This is our option for maps of logits; ReLabel stores the raw scores.

        Parameters
        ----------
        scores : array-like of shape (n_classes, height, width)
            Finite (otherwise :class:`InputError`).
        k : int, default=5
            Classes kept per location, from 1 to ``n_classes``.
        dtype : numpy dtype, default=float16
            Storage type of the kept scores.
        centre : bool, default=False
            Shift each location's scores as above.

        Returns
        -------
        LabelMap
        """
        s = np.asarray(scores, dtype=np.float64)
        if s.ndim != 3:
            raise InputError(f"scores must have shape (n_classes, height, width); got {s.shape}.")
        check_finite(s.reshape(s.shape[0], -1), "scores")
        n = s.shape[0]
        k = check_int(k, "k", "LabelMap.from_dense", low=1, high=n)
        order = np.argsort(-s, axis=0, kind="stable")
        if centre:
            rest = order[k:] if k < n else order
            s = s - np.take_along_axis(s, rest, axis=0).mean(axis=0)
        order = order[:k]
        vals = np.take_along_axis(s, order, axis=0).astype(dtype)
        return cls(vals, order.astype(_index_dtype(n)), n)

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` of the map."""
        return (int(self.values.shape[1]), int(self.values.shape[2]))

    def nbytes(self) -> int:
        """Bytes of the stored scores and indices."""
        return int(np.asarray(self.values).nbytes + np.asarray(self.indices).nbytes)

    def dense(self, fill: Fill = "zero") -> np.ndarray:
        """The ``(n_classes, height, width)`` map with the stored scores scattered back;
        classes outside the top ``k`` get 0 (``fill="zero"``, as ReLabel's code does) or
        the smallest stored score at that location (``fill="min"``).

        Parameters
        ----------
        fill : {"zero", "min"}, default="zero"
            As above; another value raises :class:`InvalidParameterError`.

        Returns
        -------
        ndarray of shape (n_classes, height, width)
        """
        v = np.asarray(self.values, dtype=np.float64)
        base = _fill_values(v, fill)
        out = np.broadcast_to(base, (self.n_classes, *self.shape)).copy()
        np.put_along_axis(out, np.asarray(self.indices, dtype=np.intp), v, axis=0)
        return out


def _fill_values(v: np.ndarray, fill: str) -> np.ndarray:
    if fill == "zero":
        return np.zeros(v.shape[1:])
    if fill == "min":
        return v.min(axis=0)
    raise InvalidParameterError(f"fill must be 'zero' or 'min'; got {fill!r}.")


def _axis_weights(lo: float, hi: float, size: int, samples: int | None, min_size: float) -> np.ndarray:
    """Mean bilinear weights over ``size`` cells of the sample points of one box side.

    ``lo``/``hi`` are normalised to [0, 1]; cell ``i`` has its centre at ``(i + 0.5) / size``.
    """
    start, end = lo * size - 0.5, hi * size - 0.5
    length = max(end - start, min_size)
    n = samples if samples is not None else max(1, math.ceil(length))
    pos = start + (np.arange(n) + 0.5) * length / n
    w = np.zeros((n, size))
    for j, p in enumerate(pos):
        if p < -1.0 or p > size:  # outside the map: the sample counts as zero
            continue
        p = max(p, 0.0)
        low = int(p)
        if low >= size - 1:
            w[j, size - 1] = 1.0
            continue
        frac = p - low
        w[j, low] += 1.0 - frac
        w[j, low + 1] += frac
    return w.mean(axis=0)


def box_weights(
    box: Any, shape: tuple[int, int], *, samples: int | None = None, min_size: float = 1.0
) -> np.ndarray:
    """Weights of each map cell in the RoIAlign average over one box.

    Parameters
    ----------
    box : array-like of shape (4,)
        ``(x1, y1, x2, y2)``, normalised to [0, 1] (x along the width, y along the
        height), with ``x1 < x2`` and ``y1 < y2``.
    shape : tuple of int
        ``(height, width)`` of the map.
    samples : int, optional
        Bilinear samples per box side. By default ``ceil(side length in cells)``, as
        RoIAlign with ``sampling_ratio=-1`` and a 1x1 output.
    min_size : float, default=1.0
        Smallest side length in map cells (RoIAlign with ``aligned=False`` widens
        shorter boxes to one cell).

    Returns
    -------
    ndarray of shape (height, width)
        Non-negative weights summing to 1 for a box inside the map.

    Notes
    -----
    The sample points form a product grid and bilinear weights are products of 1-D
    weights, so the average over the grid is the outer product of two 1-D averages.

    Examples
    --------
    >>> box_weights([0.0, 0.0, 0.5, 1.0], (2, 2)).tolist()
    [[0.5, 0.0], [0.5, 0.0]]
    """
    b = np.asarray(box, dtype=np.float64)
    if b.shape != (4,):
        raise InputError(f"box must be (x1, y1, x2, y2); got shape {b.shape}.")
    x1, y1, x2, y2 = (float(t) for t in b)
    if not (0.0 <= x1 < x2 <= 1.0 and 0.0 <= y1 < y2 <= 1.0):
        raise InputError(
            "box must be (x1, y1, x2, y2) normalised to [0, 1] with x1 < x2 and y1 < y2; "
            f"got {b.tolist()}."
        )
    if samples is not None:
        samples = check_int(samples, "samples", "box_weights", low=1)
    min_size = check_float(min_size, "min_size", "box_weights", low=0.0)
    h, w = shape
    wy = _axis_weights(y1, y2, h, samples, min_size)
    wx = _axis_weights(x1, x2, w, samples, min_size)
    return np.outer(wy, wx)


def label_pool(
    maps: LabelMap | list[LabelMap],
    boxes: Any,
    *,
    fill: Fill = "zero",
    softmax: bool = True,
    samples: int | None = None,
    min_size: float = 1.0,
) -> np.ndarray:
    """LabelPooling: one soft label per crop box from a stored label map.

    Parameters
    ----------
    maps : LabelMap or list of LabelMap
        One map shared by all boxes, or one map per box.
    boxes : array-like of shape (n_boxes, 4)
        ``(x1, y1, x2, y2)`` normalised to [0, 1] (x along the width). A horizontal flip
        of the crop does not change its pooled label; flip the box itself only if the
        map was computed on the flipped image.
    fill : {"zero", "min"}, default="zero"
        Score of the classes outside a location's top ``k`` before pooling: 0 (the
        official code) or the smallest stored score at that location.
    softmax : bool, default=True
        Return ``softmax(pooled scores)`` (the training target) rather than the pooled
        scores themselves.
    samples, min_size
        Passed to :func:`box_weights`.

    Returns
    -------
    ndarray of shape (n_boxes, n_classes)

    Notes
    -----
    ReLabel scatters the top-5 scores into a dense map (zeros elsewhere), converts the
    RandomResizedCrop box to map coordinates (``x * size - 0.5``), applies
    ``torchvision.ops.roi_align`` to a 1x1 output and a softmax [1]_. This function
    computes the same average without building the dense map: the pooled score of class
    ``c`` is ``sum_hw W_hw fill_hw + sum_{k,hw} W_hw (v_khw - fill_hw) [idx_khw = c]``.

    Departures: boxes are taken explicitly as ``(x1, y1, x2, y2)`` with x along the map's
    width (the official code passes (top, left, bottom, right), which is right only for
    transposed maps); non-square maps are handled (each side scaled by its own size);
    ``fill="min"`` is our option for scores that are logits; numpy only.

    References
    ----------
    .. [1] S. Yun et al., "Re-labeling ImageNet: from Single to Multi-Labels, from Global
       to Localized Labels", CVPR 2021.

    Examples
    --------
    A map whose left column says class 0 and right column class 1:

    >>> scores = np.zeros((2, 2, 2)); scores[0, :, 0] = 4.0; scores[1, :, 1] = 4.0
    >>> m = LabelMap.from_dense(scores, k=1, dtype=np.float32)
    >>> label_pool(m, [[0.0, 0.0, 0.5, 1.0]], softmax=False).tolist()
    [[4.0, 0.0]]
    >>> label_pool(m, [[0.0, 0.0, 1.0, 1.0]]).round(3).tolist()
    [[0.5, 0.5]]
    """
    b = np.asarray(boxes, dtype=np.float64)
    if b.ndim != 2 or b.shape[1] != 4:
        raise InputError(f"boxes must have shape (n_boxes, 4); got {b.shape}.")
    if isinstance(maps, LabelMap):
        mlist = [maps] * b.shape[0]
    else:
        mlist = list(maps)
        if len(mlist) != b.shape[0]:
            raise InputError(f"got {len(mlist)} label maps for {b.shape[0]} boxes; give one per box or one map.")
        if not all(isinstance(m, LabelMap) for m in mlist):
            raise InputError("maps must be LabelMap objects (see LabelMap.from_dense).")
    if fill not in ("zero", "min"):
        raise InvalidParameterError(f"fill must be 'zero' or 'min'; got {fill!r}.")
    if not mlist:  # no boxes: no rows (of the shared map's classes, when there is one)
        return np.zeros((0, maps.n_classes if isinstance(maps, LabelMap) else 0))
    n_classes = mlist[0].n_classes
    if any(m.n_classes != n_classes for m in mlist):
        raise InputError("all label maps must have the same n_classes.")
    out = np.empty((b.shape[0], n_classes))
    for r, (m, box) in enumerate(zip(mlist, b)):
        wgt = box_weights(box, m.shape, samples=samples, min_size=min_size)
        v = np.asarray(m.values, dtype=np.float64)
        base = _fill_values(v, fill)
        contrib = (v - base) * wgt  # (k, h, w)
        out[r] = np.bincount(np.asarray(m.indices, dtype=np.intp).ravel(), contrib.ravel(),
                             minlength=n_classes) + float((base * wgt).sum())
    return softmax_rows(out) if softmax else out
