"""Input checks shared by the teacher functions: teacher outputs as logits or probabilities.

Whether an array holds logits or probabilities is never guessed from its values: every
entry point takes ``inputs="logits"`` or ``inputs="probs"``. Probabilities go through
:func:`softlabels.core.validation.check_pred_probs` (rows within ``1e-4`` of summing to 1
are renormalised with a warning; anything further off is an error that names the row).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np

from softlabels.core.validation import check_features, check_int, check_pred_probs, suggest
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import SoftLabels, softmax

__all__ = ["Inputs", "INPUTS", "TeacherOutputs", "as_numbers", "check_ignore_index", "check_inputs", "check_outputs",
           "check_single", "inputs_constraint", "tempered_probs", "log_scores", "make_soft_labels", "softmax_rows"]

Inputs = Literal["logits", "probs"]
INPUTS = ("logits", "probs")


class TeacherOutputs(NamedTuple):
    """Validated outputs of ``M`` teachers on the same ``n`` items and ``C`` classes.

    Attributes
    ----------
    values : numpy.ndarray, shape (M, n, C)
        Float64 logits, or probabilities whose rows sum to 1.
    inputs : str
        ``"logits"`` or ``"probs"``.
    classes : numpy.ndarray or None
        The classes of SoftLabels teachers, else None.
    item_ids : numpy.ndarray or None
        The item ids of SoftLabels teachers, else None.
    """

    values: np.ndarray  # (M, n, C) float64: logits, or probabilities whose rows sum to 1
    inputs: str
    classes: np.ndarray | None  # from SoftLabels inputs, else None
    item_ids: np.ndarray | None

    @property
    def n_teachers(self) -> int:
        return int(self.values.shape[0])


def as_numbers(values: Any, name: str) -> np.ndarray:
    """``values`` as a float64 array; anything that is not numbers is an :class:`InputError`
    naming ``name``.

    Parameters
    ----------
    values : array-like
        The values.
    name : str
        Name of the argument, used in the error message.

    Returns
    -------
    numpy.ndarray of float64
    """
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numbers; got {values!r}.") from None


def check_ignore_index(value: Any, n_classes: int, owner: str) -> int:
    """The label of items without a pseudo-label: an integer that is not a class index
    (else that class's pseudo-labels could not be told from the ignored items).

    Parameters
    ----------
    value : int
        The ``ignore_index`` argument.
    n_classes : int
        Number of classes.
    owner : str
        Name of the calling function or estimator, used in the error messages.

    Returns
    -------
    int

    Raises
    ------
    InputError
        When ``value`` is in ``0 .. n_classes-1``.
    """
    ignore = check_int(value, "ignore_index", owner)
    if 0 <= ignore < n_classes:
        raise InputError(f"{owner}: ignore_index={ignore} is a class index; use e.g. -1.")
    return ignore


def inputs_constraint(value: Any, name: str, owner: str) -> str:
    """The parameter constraint of ``inputs`` (see :func:`check_inputs`).

    Parameters
    ----------
    value : Any
        The value given.
    name : str
        Name of the parameter (unused: it is always ``inputs``).
    owner : str
        Name of the calling function or estimator, used in the error messages.

    Returns
    -------
    str
    """
    return check_inputs(value, owner)


def check_inputs(inputs: Any, owner: str) -> str:
    """``inputs`` must be said explicitly: ``"logits"`` or ``"probs"``.

    Parameters
    ----------
    inputs : Any
        The value given.
    owner : str
        Name of the calling function or estimator, used in the error messages.

    Returns
    -------
    str

    Raises
    ------
    InvalidParameterError
        When ``inputs`` is neither ``"logits"`` nor ``"probs"``.
    """
    if not isinstance(inputs, str) or inputs not in INPUTS:
        raise InvalidParameterError(
            f"The 'inputs' parameter of {owner} must be one of {list(INPUTS)}; got {inputs!r}."
            + suggest(str(inputs), INPUTS)
            + " Say what the arrays hold: 'logits' (unnormalised scores) or 'probs' (rows "
            "summing to 1); it is never guessed from the values."
        )
    return inputs


def _one(values: Any, inputs: str, name: str) -> tuple[np.ndarray, Any, Any]:
    classes = item_ids = None
    if isinstance(values, SoftLabels):
        if inputs != "probs":
            raise InputError(
                f"{name} is a SoftLabels, which holds probabilities; pass inputs='probs'."
            )
        classes, item_ids = values.classes, values.item_ids
        return np.array(values.probs, dtype=np.float64), classes, item_ids
    if inputs == "probs":
        try:
            return check_pred_probs(values, name=name), None, None
        except InputError as err:
            if "outside [0, 1]" in str(err) or "do not sum to 1" in str(err):
                raise InputError(f"{err} If these are logits, pass inputs='logits'.") from None
            raise
    arr = np.array(check_features(values, name=name))  # finite, 2-D, non-empty; a copy
    if arr.shape[1] < 2:
        raise InputError(f"{name} needs at least 2 class columns; got {arr.shape[1]}.")
    return arr, None, None


def _ragged(outputs: Sequence[Any]) -> bool:
    """True when nested lists do not form one rectangular array."""
    try:
        np.asarray(outputs, dtype=np.float64)
    except (TypeError, ValueError):
        return True
    return False


def check_outputs(
    outputs: Any, inputs: Any, owner: str, *, name: str = "outputs"
) -> TeacherOutputs:
    """Validate one teacher (a 2-D array or a SoftLabels) or several (a sequence of them,
    or a 3-D array ``(n_teachers, n_items, n_classes)``).

    Nested lists are read as an array: two levels are one teacher, three are several.
    A sequence whose parts do not stack (different shapes) is read as several teachers,
    so that the error can name the one that differs.

    Parameters
    ----------
    outputs : array-like, SoftLabels or sequence of them
        One teacher's ``(n_items, n_classes)`` outputs, a sequence of them, or a 3-D array
        ``(n_teachers, n_items, n_classes)``.
    inputs : str
        What the arrays hold: ``"logits"`` or ``"probs"``.
    owner : str
        Name of the calling function or estimator, used in the error messages.
    name : str, default 'outputs'
        Name of the argument, used in the error messages.

    Returns
    -------
    TeacherOutputs

    Raises
    ------
    InputError
        When there is no teacher, the shapes differ between teachers, SoftLabels teachers
        have other classes or item ids, or a teacher's values do not match ``inputs``.
    """
    inputs = check_inputs(inputs, owner)
    if isinstance(outputs, SoftLabels):
        parts: Sequence[Any] = [outputs]
        names = [name]
    elif isinstance(outputs, (list, tuple)) and (
        len(outputs) == 0 or any(isinstance(o, SoftLabels) for o in outputs) or _ragged(outputs)
    ):
        # teachers of different shapes: each is checked, and the shapes compared, below
        if len(outputs) == 0:
            raise InputError(f"{name} is an empty sequence; give at least one teacher's outputs.")
        parts = list(outputs)
        names = [f"{name}[{m}]" for m in range(len(parts))]
    else:
        arr = np.asarray(outputs)
        if arr.ndim == 3:
            if arr.shape[0] == 0:
                raise InputError(f"{name} holds no teachers (shape {arr.shape}).")
            parts = list(arr)
            names = [f"{name}[{m}]" for m in range(arr.shape[0])]
        elif arr.ndim == 2:
            parts, names = [outputs], [name]
        else:
            raise InputError(
                f"{name} must be a 2-D array (n_items, n_classes), a sequence of them (one per "
                f"teacher) or a 3-D array (n_teachers, n_items, n_classes); got shape {arr.shape}."
            )
    checked = [_one(p, inputs, nm) for p, nm in zip(parts, names)]
    first = checked[0][0].shape
    for (arr, _, _), nm in zip(checked[1:], names[1:]):
        if arr.shape != first:
            raise InputError(
                f"{nm} has shape {arr.shape} but {names[0]} has shape {first}; every teacher "
                "must score the same items (rows) and classes (columns), in the same order."
            )
    classes = item_ids = None
    for (_, cls, ids), nm in zip(checked, names):
        if cls is None:
            continue
        if classes is None:
            classes, item_ids = cls, ids
        elif cls.tolist() != classes.tolist() or ids.tolist() != item_ids.tolist():
            raise InputError(
                f"{nm} has other classes or item ids than the first SoftLabels teacher; align "
                "them first."
            )
    values = np.stack([c[0] for c in checked])
    return TeacherOutputs(values, inputs, classes, item_ids)


def check_single(outputs: Any, inputs: Any, owner: str, *, name: str = "outputs") -> TeacherOutputs:
    """Like :func:`check_outputs` for functions that take exactly one teacher.

    Parameters
    ----------
    outputs : array-like, SoftLabels or sequence of them
        One teacher's ``(n_items, n_classes)`` outputs, a sequence of them, or a 3-D array
        ``(n_teachers, n_items, n_classes)``.
    inputs : str
        What the arrays hold: ``"logits"`` or ``"probs"``.
    owner : str
        Name of the calling function or estimator, used in the error messages.
    name : str, default 'outputs'
        Name of the argument, used in the error messages.

    Returns
    -------
    TeacherOutputs

    Raises
    ------
    InputError
        As :func:`check_outputs`, and when there is more than one teacher.
    """
    t = check_outputs(outputs, inputs, owner, name=name)
    if t.n_teachers != 1:
        raise InputError(
            f"{owner} takes one teacher's outputs (a 2-D array); got {t.n_teachers} teachers. "
            "Combine them first (e.g. with teacher_soft_labels)."
        )
    return t


def softmax_rows(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis that allows ``-inf`` entries (probability 0), as long as
    every row has a finite one.

    Parameters
    ----------
    z : numpy.ndarray
        Scores.

    Returns
    -------
    numpy.ndarray
        Same shape, rows summing to 1.
    """
    m = np.max(z, axis=-1, keepdims=True)
    e = np.exp(z - m)
    return e / e.sum(axis=-1, keepdims=True)


def log_scores(values: np.ndarray, inputs: str) -> np.ndarray:
    """Logits, or log-probabilities (``-inf`` where a probability is 0). Both give the
    probabilities back through a softmax.

    Parameters
    ----------
    values : numpy.ndarray
        Logits or probabilities.
    inputs : str
        ``"logits"`` or ``"probs"``.

    Returns
    -------
    numpy.ndarray
    """
    if inputs == "logits":
        return values
    with np.errstate(divide="ignore"):
        return np.log(values)


def tempered_probs(values: np.ndarray, inputs: str, temperature: float) -> np.ndarray:
    """``softmax(z / T)``; for probabilities ``p^(1/T)`` renormalised (the same thing with
    ``z = log p``). ``T = 1`` returns probabilities unchanged.

    Parameters
    ----------
    values : numpy.ndarray
        Logits or probabilities, classes on the last axis.
    inputs : str
        ``"logits"`` or ``"probs"``.
    temperature : float
        Positive temperature ``T``.

    Returns
    -------
    numpy.ndarray
        Probabilities of the same shape.
    """
    if inputs == "probs" and temperature == 1.0:
        return values
    if inputs == "logits":
        return softmax(values / temperature)
    return softmax_rows(log_scores(values, inputs) / temperature)


def make_soft_labels(
    probs: np.ndarray,
    *,
    classes: Any,
    item_ids: Any,
    teachers: TeacherOutputs | None,
    method: str,
    params: dict[str, Any],
) -> SoftLabels:
    """Wrap a probability matrix with classes, ids and provenance. Explicit ``classes`` /
    ``item_ids`` win over those carried by SoftLabels teachers; the default classes are
    ``0 .. C-1``.

    Parameters
    ----------
    probs : numpy.ndarray, shape (n_items, n_classes)
        Probabilities; renormalised to rows summing to 1.
    classes : array-like or None
        Class names.
    item_ids : array-like or None
        Item ids.
    teachers : TeacherOutputs or None
        The checked teachers, whose classes and ids are used when not given.
    method : str
        Method name recorded in the provenance.
    params : dict
        Parameters recorded in the provenance.

    Returns
    -------
    SoftLabels
    """
    if classes is None:
        classes = teachers.classes if teachers is not None else None
    if classes is None:
        classes = np.arange(probs.shape[1])
    if item_ids is None and teachers is not None:
        item_ids = teachers.item_ids
    probs = probs / probs.sum(axis=1, keepdims=True)
    return SoftLabels(
        probs, classes, item_ids, provenance={"method": method, "params": params}
    )
