"""Soft labels from one or more teachers: temperature, probability or logit pooling,
prior-weighted committees (CV-DD) and MEAL V2 averaging.

Notation: teacher ``m`` gives logits ``z_m`` (or probabilities ``p_m``; their logarithms
serve as logits, since a softmax undoes them) for every item; ``w`` are teacher weights
that sum to 1 and ``T`` is the temperature.

* ``pool="probs"``: ``q = sum_m w_m softmax(z_m / T)``, the mixture of the tempered
  teacher distributions (Hinton et al. 2015 for an ensemble; MEAL V2 with ``T = 1`` and
  equal weights).
* ``pool="logits"``: ``q = softmax(sum_m w_m z_m / T)``, the weighted geometric mean of the
  teachers' distributions, renormalised (CV-DD's committee, which sums the weighted logits).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from softlabels.core.validation import check_float, check_is_fitted, check_option, option, real
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import SoftLabels, softmax
from softlabels.infer.base import BaseInferrer
from softlabels.infer.teachers._inputs import (
    Inputs,
    TeacherOutputs,
    as_numbers,
    check_inputs,
    inputs_constraint,
    check_outputs,
    log_scores,
    make_soft_labels,
    softmax_rows,
    tempered_probs,
)

__all__ = [
    "teacher_soft_labels",
    "prior_weights",
    "committee_soft_labels",
    "TeacherCommittee",
    "MealV2Teachers",
    "meal_v2_soft_labels",
    "TeacherEnsemble",
]

Pool = Literal["probs", "logits"]
_POOLS = ("probs", "logits")


def prior_weights(scores: Any, *, temperature: float = 10.0) -> np.ndarray:
    """Committee weights from prior scores: ``w_m = exp(s_m / tau) / sum_j exp(s_j / tau)``.

    CV-DD (Cui et al. 2025, "Dataset Distillation via Committee Voting") weighs its models
    this way with ``tau = 10`` when it relabels, the scores being each model's accuracy in
    percent.

    Parameters
    ----------
    scores : array-like of shape (n_teachers,)
        Finite prior scores, e.g. validation accuracies in percent.
    temperature : float > 0, default 10.0
        ``tau``. Large values flatten the weights towards uniform.

    Returns
    -------
    ndarray of shape (n_teachers,), summing to 1.

    Examples
    --------
    >>> prior_weights([64.0, 60.6, 51.6]).round(3).tolist()
    [0.5, 0.356, 0.145]
    """
    s = as_numbers(scores, "scores")
    if s.ndim != 1 or s.size == 0:
        raise InputError(
            f"scores must be a non-empty 1-D array (one per teacher); got shape {s.shape}."
        )
    if not np.isfinite(s).all():
        bad = int(np.flatnonzero(~np.isfinite(s))[0])
        raise InputError(f"scores must be finite; scores[{bad}] is not.")
    tau = check_float(temperature, "temperature", "prior_weights", low=0.0, low_open=True)
    return softmax(s / tau)


def _check_weights(weights: Any, n_teachers: int, owner: str) -> np.ndarray:
    if weights is None:
        return np.full(n_teachers, 1.0 / n_teachers)
    w = as_numbers(weights, "weights")
    if w.shape != (n_teachers,):
        raise InputError(
            f"weights must have one entry per teacher, shape ({n_teachers},); got {w.shape}."
        )
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"weights must be finite and non-negative; weights[{i}] = {w[i]}.")
    if w.sum() <= 0:
        raise InputError(f"{owner}: weights sum to 0; give at least one teacher a positive weight.")
    return w / w.sum()


def _pool(t: TeacherOutputs, w: np.ndarray, pool: str, temperature: float) -> np.ndarray:
    if pool == "probs":
        return np.tensordot(w, tempered_probs(t.values, t.inputs, temperature), axes=1)
    active = w > 0  # 0 * log(0) would be NaN: teachers without weight take no part
    z = np.tensordot(w[active], log_scores(t.values[active], t.inputs), axes=1) / temperature
    dead = np.flatnonzero(~np.isfinite(z).any(axis=1))
    if dead.size:
        raise InputError(
            f"{dead.size} rows get probability 0 for every class from some teacher (first: "
            f"row {dead[0]}): the teachers' supports do not overlap, so their geometric mean is "
            "undefined. Use pool='probs'."
        )
    return softmax_rows(z)


def _combine(
    outputs: Any,
    *,
    inputs: Any,
    pool: Any,
    weights: Any,
    temperature: Any,
    owner: str,
) -> tuple[np.ndarray, TeacherOutputs, np.ndarray]:
    t = check_outputs(outputs, inputs, owner)
    pool = check_option(pool, "pool", owner, _POOLS)
    temp = check_float(temperature, "temperature", owner, low=0.0, low_open=True)
    w = _check_weights(weights, t.n_teachers, owner)
    return _pool(t, w, pool, temp), t, w


def teacher_soft_labels(
    outputs: Any,
    *,
    inputs: Inputs,
    temperature: float = 1.0,
    pool: Pool = "probs",
    weights: Any = None,
    classes: Any = None,
    item_ids: Any = None,
) -> SoftLabels:
    """Soft labels from one teacher (temperature only) or several (pooled).

    Parameters
    ----------
    outputs : array-like
        ``(n_items, n_classes)`` for one teacher; a sequence of them or an array
        ``(n_teachers, n_items, n_classes)`` for several, all on the same items in the same
        class order. SoftLabels are accepted as probabilities (their classes and item ids
        are kept).
    inputs : {"logits", "probs"}
        What ``outputs`` hold. Required: never guessed from the values.
    temperature : float > 0, default 1.0
        ``T``: ``softmax(z / T)``; for probabilities ``p^(1/T)`` renormalised. ``T > 1``
        softens, ``T < 1`` sharpens.
    pool : {"probs", "logits"}, default "probs"
        ``"probs"``: ``sum_m w_m softmax(z_m / T)`` (arithmetic mean of distributions).
        ``"logits"``: ``softmax(sum_m w_m z_m / T)`` (geometric mean, renormalised); with
        probabilities the logits are ``log p_m``.
    weights : array-like of shape (n_teachers,), optional
        Non-negative teacher weights, normalised to sum 1. Default: equal weights.
    classes, item_ids : array-like, optional
        Class names and item ids of the result (default: those of SoftLabels teachers,
        else ``0 .. C-1`` and ``0 .. n-1``).

    Returns
    -------
    SoftLabels
        ``provenance["method"] == "teacher-soft-labels"``.

    Raises
    ------
    InputError
        Teachers of different shapes, probabilities whose rows do not sum to 1,
        non-finite logits, bad weights.
    InvalidParameterError
        ``inputs``, ``pool`` or ``temperature`` out of range.

    Examples
    --------
    >>> z1 = [[2.0, 0.0], [0.0, 0.0]]
    >>> z2 = [[0.0, 2.0], [0.0, 0.0]]
    >>> teacher_soft_labels([z1, z2], inputs="logits").probs.round(3).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    >>> teacher_soft_labels(z1, inputs="logits", temperature=2.0).probs.round(3).tolist()
    [[0.731, 0.269], [0.5, 0.5]]
    """
    q, t, _ = _combine(
        outputs, inputs=inputs, pool=pool, weights=weights, temperature=temperature,
        owner="teacher_soft_labels",
    )
    params = {"inputs": inputs, "temperature": temperature, "pool": pool, "weights": weights}
    return make_soft_labels(
        q, classes=classes, item_ids=item_ids, teachers=t, method="teacher-soft-labels",
        params=params,
    )


def committee_soft_labels(
    outputs: Any,
    scores: Any = None,
    *,
    inputs: Inputs,
    weight_temperature: float = 10.0,
    temperature: float = 1.0,
    classes: Any = None,
    item_ids: Any = None,
) -> SoftLabels:
    """CV-DD committee soft labels: prior-weighted sum of the teachers' logits.

    ``w = softmax(scores / weight_temperature)`` (:func:`prior_weights`), then
    ``q = softmax(sum_m w_m z_m / T)`` (Cui et al. 2025, ``relabel/relabel.py`` of the
    official code: ``tau = 10`` for the weights; the student then matches ``q`` at its
    own temperature, 20 in the scripts). Without ``scores`` the weights are equal.

    With ``inputs="probs"`` the logits are ``log p_m``. The pooling is over logits, so a
    teacher with a larger logit scale pulls harder (a property of the method).

    Parameters
    ----------
    outputs : array-like
        ``(n_items, n_classes)`` for one teacher; a sequence of them or an array
        ``(n_teachers, n_items, n_classes)`` for several, all on the same items in the same
        class order (as for :func:`teacher_soft_labels`).
    scores : array-like of shape (n_teachers,), optional
        Prior scores of the teachers (CV-DD: validation accuracy in percent), turned
        into weights by :func:`prior_weights`; one per teacher, else
        :class:`InputError`. Omitted: equal weights.
    inputs : {"logits", "probs"}
        What ``outputs`` hold. Required: never guessed from the values.
    weight_temperature : float > 0, default=10.0
        ``tau`` of :func:`prior_weights`.
    temperature : float > 0, default=1.0
        ``T`` of the pooled softmax; ``T > 1`` softens.
    classes, item_ids : array-like, optional
        As for :func:`teacher_soft_labels`.

    Returns
    -------
    SoftLabels
        ``provenance["method"] == "cv-dd-committee"``.

    Examples
    --------
    >>> z = [[[4.0, 0.0]], [[0.0, 1.0]]]          # two teachers, one item
    >>> committee_soft_labels(z, [90.0, 50.0], inputs="logits").probs.round(3).tolist()
    [[0.98, 0.02]]
    """
    t = check_outputs(outputs, inputs, "committee_soft_labels")
    w = None if scores is None else prior_weights(scores, temperature=weight_temperature)
    if w is not None and w.shape[0] != t.n_teachers:
        raise InputError(
            f"scores has {w.shape[0]} entries but there are {t.n_teachers} teachers."
        )
    temp = check_float(temperature, "temperature", "committee_soft_labels", low=0.0, low_open=True)
    w = _check_weights(w, t.n_teachers, "committee_soft_labels")
    q = _pool(t, w, "logits", temp)
    params = {
        "inputs": inputs, "scores": scores, "weight_temperature": weight_temperature,
        "temperature": temperature,
    }
    return make_soft_labels(
        q, classes=classes, item_ids=item_ids, teachers=t, method="cv-dd-committee",
        params=params,
    )


def meal_v2_soft_labels(
    outputs: Any, *, inputs: Inputs, classes: Any = None, item_ids: Any = None
) -> SoftLabels:
    """MEAL V2 targets: the plain mean of the teachers' probabilities at ``T = 1``.

    ``q = (1/M) sum_m softmax(z_m)`` (Shen & Savvides 2020; ``extensions/teacher_wrapper.py``
    of the official code averages probabilities, not logits). The ground-truth label is not
    used.

    Parameters
    ----------
    outputs, inputs, classes, item_ids
        As for :func:`committee_soft_labels`.

    Returns
    -------
    SoftLabels
        ``provenance["method"] == "meal-v2"``.

    Examples
    --------
    >>> p1 = [[0.9, 0.1]]
    >>> p2 = [[0.5, 0.5]]
    >>> meal_v2_soft_labels([p1, p2], inputs="probs").probs.tolist()
    [[0.7, 0.3]]
    """
    q, t, _ = _combine(
        outputs, inputs=inputs, pool="probs", weights=None, temperature=1.0,
        owner="meal_v2_soft_labels",
    )
    return make_soft_labels(
        q, classes=classes, item_ids=item_ids, teachers=t, method="meal-v2",
        params={"inputs": inputs},
    )


class TeacherEnsemble(BaseInferrer):
    """A fixed ensemble of teachers, as an estimator: ``fit`` on the teachers' outputs for a
    set of items gives ``soft_labels_``; ``predict_proba`` pools outputs for new items with
    the same weights.

    Parameters
    ----------
    inputs : {"probs", "logits"}, default "probs"
        What the outputs hold. The default is the strict one: logits passed as
        probabilities fail the row-sum check instead of being silently accepted.
    pool : {"probs", "logits"}, default "probs"
        See :func:`teacher_soft_labels`.
    temperature : float > 0, default 1.0
    weights : array-like of shape (n_teachers,), optional
        Fixed teacher weights (normalised). Exclusive with ``scores``.
    scores : array-like of shape (n_teachers,), optional
        Prior scores turned into weights by :func:`prior_weights` (CV-DD).
    weight_temperature : float > 0, default 10.0
        ``tau`` of :func:`prior_weights`.

    Attributes
    ----------
    weights_ : ndarray of shape (n_teachers,)
    n_teachers_ : int
    n_classes_ : int
    soft_labels_ : SoftLabels

    Examples
    --------
    >>> ens = TeacherEnsemble(scores=[90.0, 60.0]).fit([[[0.8, 0.2]], [[0.4, 0.6]]])
    >>> ens.weights_.round(3).tolist(), ens.soft_labels_.probs.round(3).tolist()
    ([0.953, 0.047], [[0.781, 0.219]])
    """

    name = "teacher-ensemble"
    summary = "weighted pool of teachers' probabilities or logits, with a temperature"
    evidence = "teacher-outputs"
    _parameter_constraints = {
        "inputs": inputs_constraint,
        "pool": option(*_POOLS),
        "temperature": real(low=0.0, low_open=True),
        "weight_temperature": real(low=0.0, low_open=True),
    }

    def __init__(
        self,
        *,
        inputs: Inputs = "probs",
        pool: Pool = "probs",
        temperature: float = 1.0,
        weights: Any = None,
        scores: Any = None,
        weight_temperature: float = 10.0,
    ) -> None:
        self.inputs = inputs
        self.pool = pool
        self.temperature = temperature
        self.weights = weights
        self.scores = scores
        self.weight_temperature = weight_temperature

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.weights is not None and self.scores is not None:
            raise InvalidParameterError(f"{type(self).__name__}: give weights or scores, not both.")

    def _teacher_weights(self, n_teachers: int) -> np.ndarray:
        owner = type(self).__name__
        w = self.weights
        if self.scores is not None:
            w = prior_weights(self.scores, temperature=self.weight_temperature)
            if w.shape[0] != n_teachers:
                raise InputError(
                    f"scores has {w.shape[0]} entries but there are {n_teachers} teachers."
                )
        return _check_weights(w, n_teachers, owner)

    def fit(
        self, outputs: Any, /, *, classes: Any = None, item_ids: Any = None
    ) -> TeacherEnsemble:
        """Pool the teachers' ``outputs`` on a set of items (see :func:`teacher_soft_labels`).

        Parameters
        ----------
        outputs : array-like
            The teachers' outputs on the items, ``(n_teachers, n_items, n_classes)``
            (or one teacher's ``(n_items, n_classes)``).
        classes, item_ids : array-like, optional
            Class names and item ids of ``soft_labels_``.

        Returns
        -------
        self
        """
        self._validate_params()
        t = check_outputs(outputs, self.inputs, type(self).__name__)
        w = self._teacher_weights(t.n_teachers)
        q = _pool(t, w, self.pool, float(self.temperature))
        self.weights_ = w
        self.n_teachers_ = t.n_teachers
        self.n_classes_ = int(t.values.shape[2])
        self.soft_labels_ = make_soft_labels(
            q, classes=classes, item_ids=item_ids, teachers=t, method=self.name,
            params=self.get_params(),
        )
        return self

    def reliability_frame(self) -> pd.DataFrame:
        """One row per teacher: ``teacher`` (its position) and ``weight``."""
        check_is_fitted(self, "weights_")
        return pd.DataFrame({"teacher": np.arange(self.n_teachers_), "weight": self.weights_})

    def predict_proba(self, outputs: Any) -> np.ndarray:
        """Pooled probabilities ``(n_items, n_classes)`` for the teachers' outputs on new items.

        Parameters
        ----------
        outputs : array-like
            As for :meth:`fit`, with the fitted numbers of teachers and classes.
        """
        check_is_fitted(self, "weights_")
        t = check_outputs(outputs, self.inputs, type(self).__name__)
        if t.n_teachers != self.n_teachers_ or t.values.shape[2] != self.n_classes_:
            raise InputError(
                f"fitted on {self.n_teachers_} teachers and {self.n_classes_} classes; got "
                f"{t.n_teachers} teachers and {t.values.shape[2]} classes."
            )
        return _pool(t, self.weights_, self.pool, float(self.temperature))


class TeacherCommittee(BaseInferrer):
    """CV-DD committee soft labels as an estimator: :func:`committee_soft_labels` with
    the teachers' prior ``scores`` as a parameter.

    Parameters
    ----------
    scores : array-like of shape (n_teachers,), optional
        Prior scores of the teachers (validation accuracy in percent), one per teacher
        of the outputs ``fit`` gets. Omitted: equal weights.
    inputs : {"probs", "logits"}, default="probs"
        What the outputs hold.
    weight_temperature : float > 0, default=10.0
        ``tau`` of :func:`prior_weights`.
    temperature : float > 0, default=1.0
        ``T`` of the pooled softmax.

    Attributes
    ----------
    soft_labels_ : SoftLabels

    Examples
    --------
    >>> z = [[[4.0, 0.0]], [[0.0, 1.0]]]
    >>> TeacherCommittee(scores=[90.0, 50.0], inputs="logits").fit(z).soft_labels_.probs.round(3).tolist()
    [[0.98, 0.02]]
    """

    name = "cv-dd-committee"
    evidence = "teacher-outputs"
    summary = "prior-weighted sum of the teachers' logits (CV-DD, Cui et al. 2025)"
    _parameter_constraints = {
        "inputs": inputs_constraint,
        "weight_temperature": real(low=0.0, low_open=True),
        "temperature": real(low=0.0, low_open=True),
    }

    def __init__(
        self,
        *,
        scores: Any = None,
        inputs: Inputs = "probs",
        weight_temperature: float = 10.0,
        temperature: float = 1.0,
    ) -> None:
        self.scores = scores
        self.inputs = inputs
        self.weight_temperature = weight_temperature
        self.temperature = temperature

    def fit(self, outputs: Any, /, *, classes: Any = None, item_ids: Any = None) -> TeacherCommittee:
        """Pool the teachers' ``outputs`` (see :func:`committee_soft_labels`).

        Parameters
        ----------
        outputs : array-like
            The teachers' outputs on the items, ``(n_teachers, n_items, n_classes)``.
        classes, item_ids : array-like, optional
            Class names and item ids of ``soft_labels_``.

        Returns
        -------
        self
        """
        self._validate_params()
        soft = committee_soft_labels(
            outputs, self.scores, inputs=self.inputs, weight_temperature=self.weight_temperature,
            temperature=self.temperature, classes=classes, item_ids=item_ids,
        )
        self.soft_labels_ = self._own(soft)
        return self


class MealV2Teachers(BaseInferrer):
    """MEAL V2 targets as an estimator: :func:`meal_v2_soft_labels`, the plain mean of
    the teachers' probabilities.

    Parameters
    ----------
    inputs : {"probs", "logits"}, default="probs"
        What the outputs hold.

    Attributes
    ----------
    soft_labels_ : SoftLabels

    Examples
    --------
    >>> MealV2Teachers().fit([[[0.9, 0.1]], [[0.5, 0.5]]]).soft_labels_.probs.tolist()
    [[0.7, 0.3]]
    """

    name = "meal-v2"
    evidence = "teacher-outputs"
    summary = "mean of the teachers' probabilities (MEAL V2, Shen & Savvides 2020)"
    _parameter_constraints = {"inputs": inputs_constraint}

    def __init__(self, *, inputs: Inputs = "probs") -> None:
        self.inputs = inputs

    def fit(self, outputs: Any, /, *, classes: Any = None, item_ids: Any = None) -> MealV2Teachers:
        """Average the teachers' ``outputs`` (see :func:`meal_v2_soft_labels`).

        Parameters
        ----------
        outputs, classes, item_ids
            As for :meth:`TeacherCommittee.fit`.

        Returns
        -------
        self
        """
        self._validate_params()
        soft = meal_v2_soft_labels(outputs, inputs=self.inputs, classes=classes, item_ids=item_ids)
        self.soft_labels_ = self._own(soft)
        return self
