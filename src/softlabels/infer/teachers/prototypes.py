"""Prototype soft labels with a prototype bank (PS-TTL, Gao et al., ACM MM 2024).

Each class keeps a first-in-first-out queue of feature vectors; its prototype follows
``P_c <- m * P_c + (1 - m) * mean(queue_c)`` after every update. An item with feature ``f``
gets the soft label ``q_c = softmax_c(scale * cos(f, P_c))``. PS-TTL gives these soft
labels to the teacher's middle-confidence detections (between ``low`` and ``high``), keeps
hard pseudo-labels above ``high`` and drops the rest (:func:`confidence_bands`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from softlabels.core.validation import (
    check_features,
    check_float,
    check_int,
    check_is_fitted,
    integer,
    none_or,
    real,
)
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import SoftLabels
from softlabels.infer.base import BaseInferrer
from softlabels.infer.teachers._inputs import (
    Inputs,
    check_single,
    make_soft_labels,
    softmax_rows,
    tempered_probs,
)

__all__ = ["prototype_soft_labels", "PrototypeBank", "ConfidenceBands", "confidence_bands"]

#: Norms below this count as zero when features and prototypes are L2-normalised.
NORM_EPS = 1e-12


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), NORM_EPS)


def _prototype_probs(features: np.ndarray, prototypes: np.ndarray, scale: float) -> np.ndarray:
    valid = np.isfinite(prototypes).all(axis=1)
    sims = _unit(features) @ _unit(np.where(valid[:, None], prototypes, 0.0)).T
    z = np.where(valid[None, :], scale * sims, -np.inf)
    return softmax_rows(z)


def _check_prototypes(prototypes: Any, n_features: int) -> np.ndarray:
    try:
        proto = np.asarray(prototypes, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"prototypes must be numeric; {err}") from None
    if proto.ndim != 2 or proto.shape[0] < 2:
        raise InputError(
            f"prototypes must be 2-D (n_classes >= 2, n_features); got shape {proto.shape}."
        )
    if proto.shape[1] != n_features:
        raise InputError(
            f"prototypes have {proto.shape[1]} features but the items have {n_features}."
        )
    finite = np.isfinite(proto)
    partial = np.flatnonzero(finite.any(axis=1) & ~finite.all(axis=1))
    if partial.size:
        raise InputError(
            f"prototypes row {partial[0]} is partly non-finite; a class without a prototype "
            "must be a row of NaN."
        )
    if not finite.all(axis=1).any():
        raise InputError("every prototype is NaN: no class has a prototype yet.")
    return proto


def prototype_soft_labels(
    features: Any,
    prototypes: Any,
    *,
    scale: float = 10.0,
    classes: Any = None,
    item_ids: Any = None,
) -> SoftLabels:
    """Soft labels from cosine similarity to class prototypes:
    ``q_ic = softmax_c(scale * cos(f_i, P_c))``.

    PS-TTL (official code, ``roi_heads.py``) uses ``scale = 10`` (a temperature of 0.1).
    Features and prototypes are L2-normalised (norms below ``1e-12`` count as zero, so a
    zero vector has similarity 0 to everything). A prototype row of NaN marks a class
    without a prototype: it gets probability 0.

    Parameters
    ----------
    features : array-like of shape (n_items, n_features)
    prototypes : array-like of shape (n_classes, n_features)
    scale : float > 0, default 10.0
    classes, item_ids : array-like, optional
        Class names and item ids of the result (default ``0 .. C-1`` and ``0 .. n-1``).

    Returns
    -------
    SoftLabels

    Examples
    --------
    >>> P = [[1.0, 0.0], [0.0, 1.0]]
    >>> prototype_soft_labels([[2.0, 0.0], [1.0, 1.0]], P, scale=1.0).probs.round(3).tolist()
    [[0.731, 0.269], [0.5, 0.5]]
    """
    f = check_features(features, name="features")
    proto = _check_prototypes(prototypes, f.shape[1])
    s = check_float(scale, "scale", "prototype_soft_labels", low=0.0, low_open=True)
    return make_soft_labels(
        _prototype_probs(f, proto, s), classes=classes, item_ids=item_ids, teachers=None,
        method="prototype-soft-labels", params={"scale": scale},
    )


class PrototypeBank(BaseInferrer):
    """Per-class FIFO feature queues and their moving-average prototypes (PS-TTL).

    ``fit(features, labels=labels)`` starts the bank from a labelled support set: each class's
    queue gets its features and ``P_c = mean(queue_c)``. Each ``partial_fit`` enqueues new
    labelled features (negative labels, e.g. ``-1``, are skipped; a label ``>= n_classes``,
    e.g. a background class, is an error: mask those rows first) and
    refreshes ``P_c <- momentum * P_c + (1 - momentum) * mean(queue_c)``; a class that had no
    prototype takes ``mean(queue_c)``. Classes never seen have a NaN prototype and get
    probability 0.

    Within one call the features are queued in row order, so when a class receives more than
    ``queue_len`` features only the last ones stay.

    Parameters
    ----------
    queue_len : int >= 1, default 128
        Features kept per class (PS-TTL: 128).
    momentum : float in [0, 1], default 0.5
        Weight of the old prototype (PS-TTL: 0.5, hard-coded).
    scale : float > 0, default 10.0
        Multiplier of the cosine similarity in :meth:`predict_proba`.
    n_classes : int >= 2, optional
        Default: ``max(labels) + 1`` of the first ``fit``.

    Attributes
    ----------
    prototypes_ : ndarray of shape (n_classes, n_features)
    queue_counts_ : ndarray of shape (n_classes,)
        Features held per class.
    n_classes_ : int
    n_features_in_ : int
    soft_labels_ : SoftLabels
        Prototype soft labels of the features of the last ``fit`` / ``partial_fit``.

    Examples
    --------
    >>> bank = PrototypeBank(scale=1.0).fit([[1.0, 0.0], [0.0, 1.0]], labels=[0, 1])
    >>> bank.prototypes_.tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    >>> _ = bank.partial_fit([[0.0, 3.0]], [0])     # class 0 drifts
    >>> bank.prototypes_[0].round(3).tolist()
    [0.75, 0.75]
    """

    name = "prototype-bank"
    summary = "cosine similarity to per-class moving-average prototypes (PS-TTL)"
    evidence = "features"
    _parameter_constraints = {
        "queue_len": integer(low=1),
        "momentum": real(low=0.0, high=1.0),
        "scale": real(low=0.0, low_open=True),
        "n_classes": none_or(integer(low=2)),
    }

    def __init__(
        self,
        *,
        queue_len: int = 128,
        momentum: float = 0.5,
        scale: float = 10.0,
        n_classes: int | None = None,
    ) -> None:
        self.queue_len = queue_len
        self.momentum = momentum
        self.scale = scale
        self.n_classes = n_classes

    def _check_data(
        self, features: Any, labels: Any, n_features: int | None
    ) -> tuple[np.ndarray, np.ndarray]:
        f = check_features(features, name="features")
        if n_features is not None and f.shape[1] != n_features:
            raise InputError(f"features have {f.shape[1]} columns; the bank holds {n_features}.")
        y = np.asarray(labels)
        if y.shape != (f.shape[0],):
            raise InputError(
                f"labels must have shape ({f.shape[0]},), one per feature row; got {y.shape}."
            )
        if y.dtype.kind not in "iu":
            if y.dtype.kind != "f" or not np.all(np.isfinite(y) & (y == np.round(y))):
                raise InputError(f"labels must be integer class indices; got dtype {y.dtype}.")
        return f, y.astype(np.int64)

    def _enqueue(self, f: np.ndarray, y: np.ndarray) -> None:
        length = self.queue_.shape[1]
        inside = (y >= 0) & (y < self.n_classes_)
        for c in np.unique(y[inside]):
            new = f[y == c][-length:]
            k = new.shape[0]
            slots = (self.queue_ptr_[c] + np.arange(k)) % length
            self.queue_[c, slots] = new
            self.queue_ptr_[c] = (self.queue_ptr_[c] + k) % length
            self.queue_counts_[c] = min(self.queue_counts_[c] + k, length)

    def _queue_means(self) -> tuple[np.ndarray, np.ndarray]:
        filled = np.arange(self.queue_.shape[1])[None, :] < self.queue_counts_[:, None]
        sums = np.einsum("cl,cld->cd", filled.astype(np.float64), self.queue_)
        has = self.queue_counts_ > 0
        means = np.full_like(sums, np.nan)
        means[has] = sums[has] / self.queue_counts_[has, None]
        return means, has

    def fit(self, features: Any, /, *, labels: Any) -> PrototypeBank:
        """Start the bank from a labelled support set: ``features`` (n_items,
        n_features) and their integer ``labels``.

        Parameters
        ----------
        features : array-like of shape (n_items, n_features)
        labels : array-like of int, shape (n_items,)
            Class indices; without ``n_classes`` they must name at least two classes.

        Returns
        -------
        self
        """
        self._validate_params()
        f, y = self._check_data(features, labels, None)
        if self.n_classes is None:
            n_classes = int(y.max()) + 1 if y.size else 0
            if n_classes < 2:
                raise InputError("labels name fewer than 2 classes; set n_classes.")
        else:
            n_classes = int(self.n_classes)
        over = np.flatnonzero(y >= n_classes)
        if over.size:
            raise InputError(
                f"labels: {over.size} values >= n_classes={n_classes} (first at row {over[0]}: "
                f"{y[over[0]]})."
            )
        self.n_classes_ = n_classes
        self.n_features_in_ = int(f.shape[1])
        self.queue_ = np.zeros((n_classes, int(self.queue_len), f.shape[1]))
        self.queue_ptr_ = np.zeros(n_classes, dtype=np.int64)
        self.queue_counts_ = np.zeros(n_classes, dtype=np.int64)
        self._enqueue(f, y)
        self.prototypes_ = self._queue_means()[0]
        self._set_soft_labels(f)
        return self

    def partial_fit(self, features: Any, labels: Any) -> PrototypeBank:
        """Enqueue labelled features and refresh the prototypes (fits when not fitted).

        Parameters
        ----------
        features : array-like of shape (n_items, n_features)
            With the bank's number of columns.
        labels : array-like of int, shape (n_items,)
            Class indices below the bank's number of classes.

        Returns
        -------
        self
        """
        if not hasattr(self, "prototypes_"):
            return self.fit(features, labels=labels)
        self._validate_params()
        f, y = self._check_data(features, labels, self.n_features_in_)
        over = np.flatnonzero(y >= self.n_classes_)
        if over.size:
            raise InputError(
                f"labels: {over.size} values >= n_classes={self.n_classes_} (first at row "
                f"{over[0]}: {y[over[0]]})."
            )
        self._enqueue(f, y)
        means, has = self._queue_means()
        m = float(self.momentum)
        old = np.isfinite(self.prototypes_).all(axis=1)
        blend = has & old
        self.prototypes_[blend] = m * self.prototypes_[blend] + (1.0 - m) * means[blend]
        self.prototypes_[has & ~old] = means[has & ~old]
        self._set_soft_labels(f)
        return self

    def _set_soft_labels(self, f: np.ndarray) -> None:
        if not np.isfinite(self.prototypes_).all(axis=1).any():
            raise InputError("no class has a prototype: every label was outside 0..n_classes-1.")
        self.soft_labels_ = make_soft_labels(
            _prototype_probs(f, self.prototypes_, float(self.scale)), classes=None,
            item_ids=None, teachers=None, method=self.name, params=self.get_params(),
        )

    def predict_proba(self, features: Any) -> np.ndarray:
        """Prototype soft labels ``(n_items, n_classes)`` of new features.

        Parameters
        ----------
        features : array-like of shape (n_items, n_features)
            With the bank's number of columns.
        """
        check_is_fitted(self, "prototypes_")
        f = check_features(features, name="features")
        if f.shape[1] != self.n_features_in_:
            raise InputError(
                f"features have {f.shape[1]} columns; the bank holds {self.n_features_in_}."
            )
        return _prototype_probs(f, self.prototypes_, float(self.scale))


class ConfidenceBands(NamedTuple):
    """Row indices of :func:`confidence_bands`.

    Attributes
    ----------
    hard : numpy.ndarray
        Rows with confidence above ``high``: keep the teacher's hard label.
    soft : numpy.ndarray
        Rows with ``low < confidence <= high``: give a soft label.
    dropped : numpy.ndarray
        Rows with confidence at most ``low``.
    """

    hard: np.ndarray  # confidence > high: keep the teacher's hard label
    soft: np.ndarray  # low < confidence <= high: give a soft label
    dropped: np.ndarray  # confidence <= low


def confidence_bands(
    outputs: Any, *, inputs: Inputs, high: float = 0.9, low: float = 0.5
) -> ConfidenceBands:
    """Split items by the teacher's top probability as PS-TTL splits its detections:
    above ``high`` (0.9) hard pseudo-labels, in ``(low, high]`` (``low`` = 0.5) soft
    labels (e.g. from :class:`PrototypeBank`), at most ``low`` dropped.

    Parameters
    ----------
    outputs : array-like of shape (n_items, n_classes)
        One teacher's outputs (several teachers raise :class:`InputError`: combine them
        first, e.g. with :func:`teacher_soft_labels`).
    inputs : {"logits", "probs"}
        What ``outputs`` hold. Required: never guessed from the values.
    high : float in [0, 1], default=0.9
        Top probability above which an item keeps the teacher's hard label.
    low : float in [0, 1], default=0.5
        Top probability at or below which an item is dropped; above ``high`` raises
        :class:`InvalidParameterError`.

    Returns
    -------
    ConfidenceBands
        The row indices ``hard``, ``soft`` and ``dropped``, each ascending.

    Examples
    --------
    >>> confidence_bands([[0.95, 0.05], [0.7, 0.3], [0.5, 0.5]], inputs="probs")
    ConfidenceBands(hard=array([0]), soft=array([1]), dropped=array([2]))
    """
    owner = "confidence_bands"
    t = check_single(outputs, inputs, owner)
    lo = check_float(low, "low", owner, low=0.0, high=1.0)
    hi = check_float(high, "high", owner, low=0.0, high=1.0)
    if hi < lo:
        raise InvalidParameterError(f"{owner}: high ({hi}) must be >= low ({lo}).")
    conf = tempered_probs(t.values[0], t.inputs, 1.0).max(axis=1)
    return ConfidenceBands(
        np.flatnonzero(conf > hi),
        np.flatnonzero((conf > lo) & (conf <= hi)),
        np.flatnonzero(conf <= lo),
    )
