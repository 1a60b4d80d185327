"""Validation, the one home: parameter constraints and the checks of input arrays.

Two kinds of check live here, and every module of softlabels uses them:

* **Parameters** (:class:`~softlabels.core.errors.InvalidParameterError`). Estimators
  declare ``_parameter_constraints``, a mapping from each parameter to a constraint such
  as :func:`real`, :func:`integer` or :func:`option`; one hook,
  :meth:`~softlabels.core.base.BaseEstimator._validate_params`, applies them at ``fit``.
  Functions call the same constraints, or :func:`check_int` / :func:`check_float` /
  :func:`check_option` directly.
* **Data** (:class:`~softlabels.core.errors.InputError`): :func:`check_probs` (one
  implementation for soft labels and model outputs), :func:`check_labels`,
  :func:`check_features`, :func:`check_finite`, :func:`float_matrix`.

Predicted probabilities from real models are rarely exact: float32 softmax outputs sum
to 1 only within ~1e-6, and some pipelines round to a few decimals.
:func:`check_pred_probs` accepts rows within :data:`PRED_ATOL` of a distribution and
renormalises them with a :class:`~softlabels.core.errors.ProbabilityWarning`; soft
labels themselves must sum to 1 within :data:`SUM_ATOL`.
"""

from __future__ import annotations

import difflib
import numbers
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from softlabels.core.errors import (
    InputError,
    InvalidParameterError,
    NotFittedError,
    ProbabilityWarning,
)

__all__ = [
    "PRED_ATOL",
    "SUM_ATOL",
    "Constraint",
    "anything",
    "boolean",
    "check_features",
    "check_finite",
    "check_float",
    "check_int",
    "check_is_fitted",
    "check_labels",
    "check_option",
    "check_params",
    "check_pred_probs",
    "check_probs",
    "check_random_state",
    "float_matrix",
    "integer",
    "n_jobs",
    "none_or",
    "option",
    "random_state",
    "real",
    "shortened",
    "suggest",
]

#: Rows of a soft-label matrix must sum to 1 within this absolute tolerance.
SUM_ATOL = 1e-5
#: Rows of predicted probabilities may sum to 1 within this tolerance (and single
#: values may be below 0 or above 1 by as much); they are then renormalised.
PRED_ATOL = 1e-4


def suggest(name: str, choices: Iterable[str]) -> str:
    """A ' Did you mean ...?' hint, or an empty string.

    Parameters
    ----------
    name : str
        The name given.
    choices : iterable of str
        The valid names; up to three close ones are suggested.

    Returns
    -------
    str
    """
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=3, cutoff=0.5)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


def shortened(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters, ending in ``...`` when cut: input quoted in
    an error message (a header run together, a field of a whole file) stays short.

    Parameters
    ----------
    text : str
        The text.
    limit : int, default 40
        Largest length returned.

    Returns
    -------
    str
    """
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- parameters
def check_random_state(seed: Any) -> np.random.Generator:
    """Turn None, an int >= 0, a Generator or a legacy RandomState into a
    ``np.random.Generator``; anything else (a negative int, a bool, a float, a string)
    is an :class:`InvalidParameterError`.

    Parameters
    ----------
    seed : None, int, numpy.random.Generator or numpy.random.RandomState
        The seed; a Generator is returned as it is, a RandomState seeds a new Generator
        with a draw of its own.

    Returns
    -------
    numpy.random.Generator
    """
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


def check_int(
    value: Any, name: str, owner: str, *, low: int | None = None, high: int | None = None
) -> int:
    """``value`` as an int (bools refused), within ``[low, high]`` when given.

    Parameters
    ----------
    value : object
        The value to check; anything else raises :class:`InvalidParameterError`.
    name : str
        The parameter's name, for the error message.
    owner : str
        The function or class that takes it, for the error message.
    low, high : int, optional
        Inclusive bounds.

    Returns
    -------
    int
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be an int; got {value!r}."
        )
    if low is not None and value < low:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be >= {low}; got {value!r}."
        )
    if high is not None and value > high:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be <= {high}; got {value!r}."
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
    high_open: bool = False,
) -> float:
    """``value`` as a finite float (bools refused), within the given bounds.

    Parameters
    ----------
    value, name, owner
        As for :func:`check_int`.
    low, high : float, optional
        Bounds, inclusive unless ``low_open`` or ``high_open``.
    low_open, high_open : bool, default=False
        Exclude the bound itself.

    Returns
    -------
    float
    """
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
    if high is not None and (v > high or (high_open and v == high)):
        op = "<" if high_open else "<="
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be {op} {high}; got {v}."
        )
    return v


def check_option(value: Any, name: str, owner: str, options: Iterable[str]) -> str:
    """``value`` if it is one of ``options``, else an error with the closest matches.

    Parameters
    ----------
    value, name, owner
        As for :func:`check_int`.
    options : iterable of str
        The accepted values.

    Returns
    -------
    str
    """
    options = list(options)
    if value not in options:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be one of {options}; got {value!r}."
            + suggest(str(value), options)
        )
    return str(value)


#: A parameter constraint: ``check(value, name, owner)`` returns the value (converted)
#: or raises :class:`InvalidParameterError` naming the parameter and its owner.
Constraint = Callable[[Any, str, str], Any]


def real(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> Constraint:
    """A finite number in ``[low, high]`` (ends excluded with ``low_open``/``high_open``).

    Parameters
    ----------
    low : float, optional
        Lower bound (none if None).
    high : float, optional
        Upper bound (none if None).
    low_open : bool, default False
        Exclude ``low``.
    high_open : bool, default False
        Exclude ``high``.

    Returns
    -------
    Constraint
    """

    def check(value: Any, name: str, owner: str) -> float:
        return check_float(
            value, name, owner, low=low, high=high, low_open=low_open, high_open=high_open
        )

    return check


def integer(low: int | None = None, high: int | None = None) -> Constraint:
    """An int (not a bool) in ``[low, high]``.

    Parameters
    ----------
    low : int, optional
        Lower bound (none if None).
    high : int, optional
        Upper bound (none if None).

    Returns
    -------
    Constraint
    """

    def check(value: Any, name: str, owner: str) -> int:
        return check_int(value, name, owner, low=low, high=high)

    return check


def option(*choices: str) -> Constraint:
    """One of ``choices``.

    Parameters
    ----------
    *choices : str
        The allowed values.

    Returns
    -------
    Constraint
    """

    def check(value: Any, name: str, owner: str) -> str:
        return check_option(value, name, owner, choices)

    return check


def none_or(constraint: Constraint) -> Constraint:
    """None, or a value that passes ``constraint``.

    Parameters
    ----------
    constraint : Constraint
        The check of every value other than None.

    Returns
    -------
    Constraint
    """

    def check(value: Any, name: str, owner: str) -> Any:
        return None if value is None else constraint(value, name, owner)

    return check


def boolean(value: Any, name: str, owner: str) -> bool:
    """True or False (not 0/1).

    Parameters
    ----------
    value : Any
        The value given.
    name : str
        Name of the parameter, used in the error message.
    owner : str
        Name of the function or estimator, used in the error message.

    Returns
    -------
    bool

    Raises
    ------
    InvalidParameterError
        When ``value`` is not a bool.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be True or False; got {value!r}."
        )
    return bool(value)


def n_jobs(value: Any, name: str, owner: str) -> int | None:
    """None (one thread), -1 (all cores) or an int >= 1.

    Parameters
    ----------
    value : Any
        The value given.
    name : str
        Name of the parameter, used in the error message.
    owner : str
        Name of the function or estimator, used in the error message.

    Returns
    -------
    int or None

    Raises
    ------
    InvalidParameterError
        When ``value`` is not None, -1 or an int of at least 1.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or (
        value < 1 and value != -1
    ):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be None, -1 (all cores) or an "
            f"int >= 1; got {value!r}."
        )
    return int(value)


def random_state(value: Any, name: str, owner: str) -> Any:
    """Anything :func:`check_random_state` accepts (the value itself is kept).

    Parameters
    ----------
    value : Any
        The value given.
    name : str
        Name of the parameter, used in the error message.
    owner : str
        Name of the function or estimator, used in the error message.

    Returns
    -------
    Any
        ``value``.

    Raises
    ------
    InvalidParameterError
        When :func:`check_random_state` refuses ``value``.
    """
    try:
        check_random_state(value)
    except InvalidParameterError as err:
        raise InvalidParameterError(f"The {name!r} parameter of {owner}: {err}") from None
    return value


def anything(value: Any, name: str, owner: str) -> Any:
    """No constraint (the parameter is checked where it is used).

    Parameters
    ----------
    value : Any
        The value given.
    name : str
        Name of the parameter, used in the error message.
    owner : str
        Name of the function or estimator, used in the error message.

    Returns
    -------
    Any
        ``value``.
    """
    return value


def check_params(owner: str, spec: Mapping[str, Constraint], **params: Any) -> dict[str, Any]:
    """Apply the constraint of ``spec`` to every parameter; return the checked values.

    Parameters
    ----------
    owner : str
        Name of the function or estimator, used in the error messages.
    spec : mapping of str to Constraint
        The constraint of each parameter.
    **params : Any
        The values given, by parameter name (each must be in ``spec``).

    Returns
    -------
    dict
        The checked values.
    """
    return {name: spec[name](value, name, owner) for name, value in params.items()}


def check_is_fitted(estimator: Any, attribute: str, call: str = "fit()") -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has the fitted ``attribute``.

    Parameters
    ----------
    estimator : Any
        The estimator.
    attribute : str
        An attribute set by fitting.
    call : str, default 'fit()'
        What to call first, named in the error message.

    Raises
    ------
    NotFittedError
        When ``estimator`` has no ``attribute``.
    """
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"This {type(estimator).__name__} is not fitted yet; call {call} first."
        )


# --------------------------------------------------------------------------- data
def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise :class:`InputError` naming the first NaN or infinite cell of a 2-D array.

    Parameters
    ----------
    arr : numpy.ndarray
        The 2-D array to check.
    name : str
        Name of the input, used in the error message.

    Raises
    ------
    InputError
        When a cell is NaN or infinite.
    """
    bad = ~np.isfinite(arr)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(
            f"{name} contains {int(bad.sum())} non-finite values (first at row {r}, column {c})."
        )


def float_matrix(values: Any, name: str, *, copy: bool = False) -> np.ndarray:
    """``values`` as a 2-D float64 array ``(n_items, n_classes)``, else an
    :class:`InputError` naming ``name`` and what is wrong: a row of another length,
    a value that is not a number, another number of dimensions.

    Parameters
    ----------
    values : array-like
    name : str
        The argument's name, for the error message.
    copy : bool, default=False
        Always return a new array (else ``values`` itself when already float64).

    Returns
    -------
    ndarray of float64, shape (n_items, n_classes)
    """
    try:
        arr = np.array(values, dtype=np.float64) if copy else np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        lengths = [len(r) if hasattr(r, "__len__") else -1 for r in values] \
            if isinstance(values, (list, tuple)) else []
        if lengths and min(lengths) >= 0 and len(set(lengths)) > 1:
            r = next(i for i, n in enumerate(lengths) if n != lengths[0])
            raise InputError(f"{name}: row {r} has {lengths[r]} values but row 0 has "
                             f"{lengths[0]}; every row has one per class.") from None
        raise InputError(f"{name} must be numeric; {err}") from None
    if arr.ndim != 2:
        raise InputError(f"{name} must be 2-D (n_items, n_classes); got shape {arr.shape}.")
    return arr


def check_probs(
    p: Any,
    *,
    name: str = "probs",
    atol: float = SUM_ATOL,
    repair_atol: float = 0.0,
    n_classes: int | None = None,
    min_classes: int = 1,
    min_rows: int = 0,
) -> np.ndarray:
    """Validate a 2-D matrix of probabilities and return it as float64.

    Rows must be finite, non-negative and sum to 1 within ``atol``. With
    ``repair_atol > atol``, rows (and single values below 0 or above 1) off by at most
    ``repair_atol`` are accepted, clipped and renormalised with a
    :class:`ProbabilityWarning`; the result is then a new array whose rows sum to 1.
    A :class:`~softlabels.SoftLabels` is accepted for its ``probs``.

    Parameters
    ----------
    p : array-like of shape (n_rows, n_classes) or SoftLabels
    name : str, default="probs"
        The argument's name, for the error message.
    atol : float, optional
        Tolerance of a row sum; default :data:`SUM_ATOL` (1e-5).
    repair_atol : float, default=0.0
        Larger deviations up to this are repaired with a warning (see above).
    n_classes : int, optional
        The number of columns required.
    min_classes : int, default=1
        The fewest columns accepted.
    min_rows : int, default=0
        The fewest rows accepted.

    Returns
    -------
    ndarray of float64, shape (n_rows, n_classes)
    """
    repair = repair_atol > atol
    if hasattr(p, "probs") and hasattr(p, "classes"):
        p = p.probs
    arr = float_matrix(p, name, copy=repair)
    if arr.shape[0] < min_rows:
        raise InputError(f"{name} has no rows.")
    if arr.shape[1] == 0 and min_classes <= 1:
        raise InputError(f"{name} has no class columns.")
    if arr.shape[1] < min_classes:
        raise InputError(
            f"{name} needs at least {min_classes} class columns; got {arr.shape[1]}."
        )
    if n_classes is not None and arr.shape[1] != n_classes:
        raise InputError(f"{name} has {arr.shape[1]} columns; expected {n_classes} classes.")
    check_finite(arr, name)
    slack = repair_atol if repair else 0.0
    outside = (arr < -slack) | (arr > 1 + slack) if repair else arr < 0
    if outside.any():
        r, c = np.argwhere(outside)[0]
        what = "has values outside [0, 1]" if repair else "contains negative values"
        raise InputError(f"{name} {what} (first at row {r}, column {c}: {arr[r, c]:.6g}).")
    sums = arr.sum(axis=1)
    err = np.abs(sums - 1.0)
    tol = repair_atol if repair else atol
    off = np.flatnonzero(err > tol)
    if off.size:
        r = off[0]
        hint = (
            "Pass probabilities, not logits or scores."
            if repair
            else "For counts use SoftLabels.from_counts(), for logits SoftLabels.from_logits()."
        )
        raise InputError(
            f"{name}: {off.size} rows do not sum to 1 (row {r} sums to {sums[r]:.6g}; "
            f"tolerance {tol:g}). {hint}"
        )
    if repair:
        np.clip(arr, 0.0, None, out=arr)
        off_sum, above = err > atol, (arr > 1.0).any(axis=1)
        if off_sum.any() or above.any():
            parts = [f"{int(off_sum.sum())} rows sum to 1 only within {repair_atol:g}"] \
                if off_sum.any() else []
            if above.any():  # such a row may sum to 1 exactly
                parts.append(f"{int(above.sum())} rows hold a value above 1")
            warnings.warn(f"{name}: {' and '.join(parts)}; renormalised.", ProbabilityWarning,
                          stacklevel=3)
        arr /= arr.sum(axis=1, keepdims=True)
    return arr


def check_pred_probs(
    pred_probs: Any, *, name: str = "pred_probs", n_classes: int | None = None
) -> np.ndarray:
    """Validate an ``(n_items, n_classes)`` matrix of predicted probabilities.

    :func:`check_probs` for model outputs: at least one row and two classes; rows off
    by more than :data:`SUM_ATOL` but at most :data:`PRED_ATOL` are renormalised with
    a warning. Accepts an array-like or a :class:`~softlabels.SoftLabels`; returns a
    new float64 array whose rows sum to 1.

    Parameters
    ----------
    pred_probs : array-like of shape (n_items, n_classes) or SoftLabels
    name : str, default="pred_probs"
        The argument's name, for the error message.
    n_classes : int, optional
        The number of columns required.

    Returns
    -------
    ndarray of float64, shape (n_items, n_classes)
    """
    return check_probs(
        pred_probs,
        name=name,
        n_classes=n_classes,
        min_classes=2,
        min_rows=1,
        repair_atol=PRED_ATOL,
    )


def check_labels(
    labels: Any, n_classes: int, *, name: str = "labels", n_items: int | None = None
) -> np.ndarray:
    """Validate 1-D integer class indices in ``[0, n_classes)``; return int64.

    Integer-valued floats (as read from a CSV), and an object array of integers (not
    booleans), are accepted. ``n_items``, when given,
    must equal the length (the error names both lengths).

    Parameters
    ----------
    labels : array-like of shape (n_items,) or (n_items, 1)
        Not empty.
    n_classes : int
    name : str, default="labels"
        The argument's name, for the error message.
    n_items : int, optional
        The length required.

    Returns
    -------
    ndarray of int64, shape (n_items,)
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
    if arr.dtype.kind == "O" and all(  # Python ints in an object column, as pandas gives
            isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))
            for v in arr.tolist()):
        arr = np.array([int(v) for v in arr.tolist()], dtype=object)
        if all(0 <= v < n_classes for v in arr.tolist()):
            arr = arr.astype(np.int64)
    elif arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
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
    off = np.flatnonzero((arr < 0) | (arr >= n_classes))  # before the cast, which wraps
    if off.size:
        i = int(off[0])
        value = arr[i].item() if isinstance(arr[i], np.generic) else arr[i]
        shown = int(value) if isinstance(value, float) and abs(value) < 2**53 else value
        raise InputError(
            f"{name}: {off.size} values outside 0..{n_classes - 1} "
            f"(first at row {i}: {shown})."
        )
    out = arr.astype(np.int64)
    if n_items is not None and out.size != n_items:
        raise InputError(f"{name} has {out.size} rows but there are {n_items} items.")
    return out


def check_features(features: Any, *, name: str = "features", n_items: int | None = None,
                   fitted: tuple[str, int] | None = None) -> np.ndarray:
    """Validate a finite 2-D float feature matrix; return float64. ``fitted = (what,
    n_columns)``: the columns must be as many as ``what`` was fitted on.

    Parameters
    ----------
    features : array-like of shape (n_items, n_features)
        Numeric, finite and not empty.
    name : str, default="features"
        The argument's name, for the error message.
    n_items : int, optional
        The number of rows required.
    fitted : tuple of (str, int), optional
        What was fitted and on how many columns.

    Returns
    -------
    ndarray of float64, shape (n_items, n_features)
    """
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
    if fitted is not None and arr.shape[1] != fitted[1]:
        raise InputError(
            f"{name} has {arr.shape[1]} columns; the {fitted[0]} was fitted on {fitted[1]}."
        )
    return arr
