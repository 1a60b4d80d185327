"""Summaries of prediction sets (coverage, mean size) and label-set regions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
import numpy as np

from softlabels.audit.conformal._common import _check_label_sets
from softlabels.core.errors import InputError
from softlabels.core.validation import check_labels

__all__ = ["coverage", "mean_set_size", "LabelSetRegions"]


def _check_sets(sets: Any) -> np.ndarray:
    arr = np.asarray(sets)
    if arr.ndim != 2:
        raise InputError(f"sets must be 2-D (n_items, n_classes); got shape {arr.shape}.")
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf" or not np.isin(arr, (0, 1)).all():
            raise InputError("sets must be boolean (or 0/1) membership, one column per class.")
        arr = arr.astype(bool)
    return arr


def coverage(sets: Any, labels: Any) -> float:
    """Share of items whose set contains the true label.

    Parameters
    ----------
    sets : array-like of bool, shape (n_items, n_classes), or LabelSetRegions
        Membership matrix from :meth:`SplitConformalClassifier.predict_sets`, or the
        regions of :meth:`LabelPowersetICP.predict_regions`.
    labels : array-like
        Class indices of shape (n_items,); for regions, binary label vectors of shape
        (n_items, n_labels).

    Returns
    -------
    float

    Examples
    --------
    >>> coverage([[True, False], [True, True], [False, True]], [1, 0, 1])
    0.6666666666666666
    """
    if isinstance(sets, LabelSetRegions):
        y = _check_label_sets(labels, "labels", (len(sets), sets.n_labels))
        return float(sets.contains(y).mean())
    s = _check_sets(sets)
    y = check_labels(labels, s.shape[1], name="labels", n_items=s.shape[0])
    return float(s[np.arange(s.shape[0]), y].mean())


def mean_set_size(sets: Any) -> float:
    """Mean number of classes per set (or of label-sets per region).

    Parameters
    ----------
    sets : array-like of bool, shape (n_items, n_classes), or LabelSetRegions
        Membership matrix (0/1 accepted) from
        :meth:`SplitConformalClassifier.predict_sets`, or the regions of
        :meth:`LabelPowersetICP.predict_regions`. Any other shape or values raise
        :class:`InputError`.

    Returns
    -------
    float
        NaN for no items.

    Examples
    --------
    >>> mean_set_size([[True, False], [True, True], [False, False]])
    1.0
    """
    if isinstance(sets, LabelSetRegions):
        return float(sets.sizes.mean())
    return float(_check_sets(sets).sum(axis=1).mean())


@dataclass(frozen=True, eq=False)
class LabelSetRegions:
    """Prediction regions of :meth:`LabelPowersetICP.predict_regions`: per item, the
    label-sets whose p-value exceeds the significance level, most plausible first.

    Attributes
    ----------
    rows : ndarray of uint8, shape (n_sets_total, n_labels)
        All regions' label-sets stacked, item after item.
    offsets : ndarray of shape (n_items + 1,)
        Item ``i``'s region is ``rows[offsets[i]:offsets[i + 1]]`` (also ``regions[i]``).
    p_values : ndarray of shape (n_sets_total,)
        The p-value of each row.
    truncated : ndarray of bool, shape (n_items,)
        True where the region held more than ``max_region_size`` label-sets and only
        that many (the most plausible) are listed.
    """

    rows: np.ndarray
    offsets: np.ndarray
    p_values: np.ndarray
    truncated: np.ndarray

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    def __getitem__(self, i: int) -> np.ndarray:
        """Item ``i``'s label-sets, shape ``(size_i, n_labels)``."""
        return self.rows[self.offsets[i] : self.offsets[i + 1]]

    @property
    def n_labels(self) -> int:
        return int(self.rows.shape[1])

    @property
    def sizes(self) -> np.ndarray:
        """Number of label-sets in each region, shape ``(n_items,)``."""
        return np.diff(self.offsets)

    def _owner(self) -> np.ndarray:
        return np.repeat(np.arange(len(self)), self.sizes)

    def contains(self, label_sets: Any) -> np.ndarray:
        """Whether each item's region holds the given label vector, shape ``(n_items,)``.

        Parameters
        ----------
        label_sets : array-like of 0/1, shape (n_items, n_labels)
            One binary label vector per item.
        """
        y = _check_label_sets(label_sets, "label_sets", (len(self), self.n_labels))
        owner = self._owner()
        hit = (self.rows == y[owner]).all(axis=1)
        return np.bincount(owner[hit], minlength=len(self)) > 0

    def label_inclusion(self) -> np.ndarray:
        """Per item and label, whether the label is in at least one label-set of the
        region, shape ``(n_items, n_labels)`` (all False for an empty region)."""
        out = np.zeros((len(self), self.n_labels), dtype=np.int64)
        np.add.at(out, self._owner(), self.rows)
        return out > 0
