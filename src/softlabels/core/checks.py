"""Checks of model outputs, class labels and features, shared by infer, audit and the CLI.

Predicted probabilities from real models are rarely exact: float32 softmax outputs sum
to 1 only within ~1e-6, and some pipelines round to a few decimals. Rows within
:data:`PRED_ATOL` of a valid distribution are accepted and renormalised with a
:class:`~softlabels.core.errors.ProbabilityWarning`; anything further off is an
:class:`~softlabels.core.errors.InputError`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from softlabels._validation import SUM_ATOL, check_finite
from softlabels.core.errors import InputError, ProbabilityWarning

__all__ = ["PRED_ATOL", "check_pred_probs", "check_labels", "check_features"]

#: Rows of predicted probabilities may sum to 1 within this tolerance (and single
#: values may be below 0 or above 1 by as much); they are then renormalised.
PRED_ATOL = 1e-4


def check_pred_probs(
    pred_probs: Any, *, name: str = "pred_probs", n_classes: int | None = None
) -> np.ndarray:
    """Validate an ``(n_items, n_classes)`` matrix of predicted probabilities.

    Accepts an array-like or a :class:`~softlabels.SoftLabels`. Returns a new float64
    array whose rows sum to 1. Rows off by more than ``1e-5`` but at most
    :data:`PRED_ATOL` are renormalised with a warning.
    """
    if hasattr(pred_probs, "probs") and hasattr(pred_probs, "classes"):
        pred_probs = pred_probs.probs
    try:
        arr = np.array(pred_probs, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be numeric; {err}") from None
    if arr.ndim != 2:
        raise InputError(f"{name} must be 2-D (n_items, n_classes); got shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise InputError(f"{name} has no rows.")
    if arr.shape[1] < 2:
        raise InputError(f"{name} needs at least 2 class columns; got {arr.shape[1]}.")
    if n_classes is not None and arr.shape[1] != n_classes:
        raise InputError(f"{name} has {arr.shape[1]} columns; expected {n_classes} classes.")
    check_finite(arr, name)
    low = arr < -PRED_ATOL
    high = arr > 1 + PRED_ATOL
    if low.any() or high.any():
        r, c = np.argwhere(low | high)[0]
        raise InputError(
            f"{name} has values outside [0, 1] (first at row {r}, column {c}: {arr[r, c]:.6g})."
        )
    sums = arr.sum(axis=1)
    err = np.abs(sums - 1.0)
    far = np.flatnonzero(err > PRED_ATOL)
    if far.size:
        r = far[0]
        raise InputError(
            f"{name}: {far.size} rows do not sum to 1 (row {r} sums to {sums[r]:.6g}; "
            f"tolerance {PRED_ATOL:g}). Pass probabilities, not logits or scores."
        )
    np.clip(arr, 0.0, None, out=arr)
    if (err > SUM_ATOL).any() or (arr > 1.0).any():
        warnings.warn(
            f"{name}: {int((err > SUM_ATOL).sum())} rows sum to 1 only within "
            f"{PRED_ATOL:g}; renormalised.",
            ProbabilityWarning,
            stacklevel=3,
        )
    arr /= arr.sum(axis=1, keepdims=True)
    return arr


def check_labels(
    labels: Any, n_classes: int, *, name: str = "labels", n_items: int | None = None
) -> np.ndarray:
    """Validate 1-D integer class indices in ``[0, n_classes)``; return int64.

    Integer-valued floats (as read from a CSV) are accepted. ``n_items``, when given,
    must equal the length (the error names both lengths).
    """
    try:
        arr = np.asarray(labels)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name}: {err}") from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InputError(f"{name} must be 1-D (one class index per item); got shape {arr.shape}.")
    if arr.size == 0:
        raise InputError(f"{name} is empty.")
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise InputError(
            f"{name} must be integer class indices 0..{n_classes - 1}; got dtype {arr.dtype}."
        )
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{name} must be integer class indices; row {i} is {arr[i].item()!r}."
            )
    out = arr.astype(np.int64)
    off = np.flatnonzero((out < 0) | (out >= n_classes))
    if off.size:
        i = int(off[0])
        raise InputError(
            f"{name}: {off.size} values outside 0..{n_classes - 1} "
            f"(first at row {i}: {out[i]})."
        )
    if n_items is not None and out.size != n_items:
        raise InputError(f"{name} has {out.size} rows but there are {n_items} items.")
    return out


def check_features(features: Any, *, name: str = "features", n_items: int | None = None) -> np.ndarray:
    """Validate a finite 2-D float feature matrix; return float64."""
    try:
        arr = np.asarray(features, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be numeric; {err}") from None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"{name} must be a non-empty 2-D array; got shape {arr.shape}.")
    bad = ~np.isfinite(arr)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(f"{name} contains non-finite values (first at row {r}, column {c}).")
    if n_items is not None and arr.shape[0] != n_items:
        raise InputError(f"{name} has {arr.shape[0]} rows but there are {n_items} items.")
    return arr
