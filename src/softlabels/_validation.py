"""Shared argument checks. Internal: the public entry points call these."""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from softlabels.core.errors import InputError, InvalidParameterError, NotFittedError

#: Rows of a probability matrix must sum to 1 within this absolute tolerance.
SUM_ATOL = 1e-5


def suggest(name: str, choices: Iterable[str]) -> str:
    """A ' Did you mean ...?' hint, or an empty string."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=3, cutoff=0.5)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


def check_random_state(seed: Any) -> np.random.Generator:
    """Turn None, an int >= 0, a Generator or a legacy RandomState into a
    ``np.random.Generator``; anything else (a negative int, a bool, a float, a string)
    is an :class:`InvalidParameterError`."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (numbers.Integral, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise InvalidParameterError(f"random_state must be >= 0; got {int(seed)}.")
        return np.random.default_rng(int(seed))
    if seed is None:
        return np.random.default_rng(None)
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(0, 2**31 - 1))
    raise InvalidParameterError(
        f"random_state must be None, an int or a numpy Generator; got {type(seed).__name__}."
    )


def check_int(value: Any, name: str, owner: str, *, low: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be an int; got {value!r}."
        )
    if low is not None and value < low:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be >= {low}; got {value!r}."
        )
    return int(value)


def check_float(
    value: Any,
    name: str,
    owner: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating)):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a number; got {value!r}."
        )
    v = float(value)
    if not np.isfinite(v):
        raise InvalidParameterError(f"The {name!r} parameter of {owner} must be finite; got {v}.")
    if low is not None and (v < low or (low_open and v == low)):
        op = ">" if low_open else ">="
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be {op} {low}; got {v}."
        )
    if high is not None and v > high:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be <= {high}; got {v}."
        )
    return v


def check_option(value: Any, name: str, owner: str, options: Iterable[str]) -> str:
    options = list(options)
    if value not in options:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be one of {options}; got {value!r}."
            + suggest(str(value), options)
        )
    return str(value)


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise :class:`InputError` naming the first NaN or infinite cell of a 2-D array."""
    bad = ~np.isfinite(arr)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(
            f"{name} contains {int(bad.sum())} non-finite values (first at row {r}, column {c})."
        )


def check_probs(p: Any, *, name: str = "probs", atol: float = SUM_ATOL) -> np.ndarray:
    """Validate a 2-D matrix of probabilities and return it as float64.

    Rows must be finite, non-negative and sum to 1 within ``atol``.
    """
    try:
        arr = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be numeric; {err}") from None
    if arr.ndim != 2:
        raise InputError(f"{name} must be 2-D (n_items, n_classes); got shape {arr.shape}.")
    if arr.shape[1] == 0:
        raise InputError(f"{name} has no class columns.")
    check_finite(arr, name)
    if (arr < 0).any():
        r, c = np.argwhere(arr < 0)[0]
        raise InputError(
            f"{name} contains negative values (first at row {r}, column {c}: {arr[r, c]:.6g})."
        )
    sums = arr.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > atol)
    if off.size:
        r = off[0]
        raise InputError(
            f"{name}: {off.size} rows do not sum to 1 (row {r} sums to {sums[r]:.6g}; "
            f"tolerance {atol:g}). For counts use SoftLabels.from_counts(), for logits "
            "SoftLabels.from_logits()."
        )
    return arr


def check_is_fitted(estimator: Any, attribute: str, call: str = "fit()") -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has the fitted ``attribute``."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"This {type(estimator).__name__} is not fitted yet; call {call} first."
        )
