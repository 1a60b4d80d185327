"""Helpers shared by the conformal predictors: exact ranks, level and input checks."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Literal
import numpy as np

from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.validation import check_float


Score = Literal["lac", "aps", "raps"]


Norm = Literal["l2", "l1"]


_SCORES = ("lac", "aps", "raps")


_NORMS = ("l2", "l1")


def _exact(alpha: float) -> Fraction:
    """``alpha`` as the decimal it prints as: 0.1 is 1/10, so 10 * (1 - 0.1) is 9."""
    return Fraction(repr(float(alpha)))


def _upper_rank(n: int, alpha: float) -> int:
    """``ceil((n + 1) * (1 - alpha))``, computed exactly."""
    return math.ceil((n + 1) * (1 - _exact(alpha)))


def _check_level(value: Any, name: str, owner: str) -> float:
    v = check_float(value, name, owner)
    if not 0.0 < v < 1.0:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be > 0 and < 1; got {v}."
        )
    return v


def _as_float(values: Any, name: str) -> np.ndarray:
    try:
        return np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be numeric; {err}") from None


def _check_scores(scores: Any, name: str = "scores") -> np.ndarray:
    arr = _as_float(scores, name)
    if arr.ndim != 1:
        raise InputError(f"{name} must be 1-D (one score per item); got shape {arr.shape}.")
    nan = np.flatnonzero(np.isnan(arr))
    if nan.size:
        raise InputError(f"{name} contains {nan.size} NaN values (first at position {nan[0]}).")
    return arr


def _kth_smallest(scores: np.ndarray, alpha: float) -> float:
    k = _upper_rank(scores.size, alpha)
    if k > scores.size:
        return math.inf
    return float(np.partition(scores, k - 1)[k - 1])


def _class_quantiles(
    scores: np.ndarray, labels: np.ndarray, n_classes: int, alpha: float
) -> np.ndarray:
    """:func:`conformal_quantile` of each class's scores (Mondrian); inf for a class with
    too few (or no) calibration items."""
    order = np.lexsort((scores, labels))
    s = scores[order]
    counts = np.bincount(labels, minlength=n_classes)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    ranks = {c: _upper_rank(int(c), alpha) for c in np.unique(counts).tolist()}
    k = np.array([ranks[c] for c in counts.tolist()], dtype=np.int64)
    out = np.full(n_classes, np.inf)
    ok = k <= counts
    out[ok] = s[starts[ok] + k[ok] - 1]
    return out


def _check_u(u: Any, n: int, name: str = "u") -> np.ndarray:
    arr = _as_float(u, name)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise InputError(
            f"{name} must be a number or have one value per item ({n}); got shape {arr.shape}."
        )
    bad = np.flatnonzero(~((arr >= 0) & (arr <= 1)))
    if bad.size:
        raise InputError(f"{name} must lie in [0, 1]; position {bad[0]} is {arr[bad[0]].item()!r}.")
    return arr


def _check_label_sets(labels: Any, name: str, shape: tuple[int, int]) -> np.ndarray:
    try:
        arr = np.asarray(labels)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name}: {err}") from None
    if arr.ndim == 1 and arr.shape[0] == shape[1]:
        arr = np.broadcast_to(arr, shape)
    if arr.shape != shape:
        raise InputError(f"{name} must have shape {shape} (binary label vectors); got {arr.shape}.")
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf":
            raise InputError(f"{name} must be binary (0/1); got dtype {arr.dtype}.")
        bad = ~np.isin(arr, (0, 1))
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise InputError(
                f"{name} must be binary (0/1); row {r}, column {c} is {arr[r, c].item()!r}."
            )
    return arr.astype(np.uint8)
