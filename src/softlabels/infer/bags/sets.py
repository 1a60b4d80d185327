"""Set-level (coarse) labels: an instance encoder and classifier learned from labels
known only for sets of instances (FACILE, Zhang et al., ICLR 2024).

:func:`set_label_loss` is the loss of a model's instance logits; :class:`SetClassifier`
trains the built-in numpy network on it and exposes the learned instance encoder
(``transform``) for fine-grained downstream tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
from scipy.special import log_softmax, softmax

from softlabels.core.errors import InputError
from softlabels.core.soft import SoftLabels
from softlabels.core.validation import check_is_fitted, check_features
from softlabels.infer.bags._common import (
    check_bag_features,
    check_evidence,
    check_item_ids,
    check_width,
    indicator,
    provenance,
)
from softlabels.infer.bags._mlp import NET_CONSTRAINTS, fit_net, net_outputs
from softlabels.infer.bags.evidence import SetLabels, as_set_labels
from softlabels.infer.base import BaseInferrer

__all__ = ["SetClassifier", "set_label_loss"]


def set_label_loss(logits: Any, set_ids: Any, labels: Any) -> float:
    """Set-level cross-entropy of instance logits, with mean pooling.

    ``z_b = mean_{i in b} z_i`` and ``L = (1 / n_sets) sum_b -log softmax(z_b)[y_b]``.
    Pooling the instance *logits* by their mean is the same as FACILE's mean pooling of
    instance embeddings followed by a linear head (the head is linear, so it commutes
    with the mean); DLLP (:func:`dllp_loss`) averages probabilities instead.

    Parameters
    ----------
    logits : array-like of shape (n_items, n_classes)
        The model's instance logits.
    set_ids, labels
        As in :func:`as_set_labels`.

    Examples
    --------
    >>> z = [[2.0, 0.0], [0.0, 2.0], [1.0, 0.0]]
    >>> round(set_label_loss(z, [0, 0, 1], ["a", "b"]), 4)   # (log 2 + log(1 + e)) / 2
    1.0032
    """
    z = check_features(logits, name="logits")
    sets = as_set_labels(set_ids, labels, n_items=z.shape[0])
    if z.shape[1] != sets.n_classes:
        raise InputError(
            f"logits has {z.shape[1]} class columns but the set labels have "
            f"{sets.n_classes} classes."
        )
    value, _ = _set_objective(sets)(z)
    return value


def _set_objective(sets: SetLabels) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    pool = indicator(sets.codes, sets.n_bags)
    sizes, codes = sets.sizes[:, None].astype(np.float64), sets.codes
    target = np.eye(sets.n_classes)[sets.labels]
    m = sets.n_bags

    def loss(z: np.ndarray) -> tuple[float, np.ndarray]:
        pooled = (pool @ z) / sizes
        logp = log_softmax(pooled, axis=1)
        value = float(-(target * logp).sum() / m)
        d_pooled = (np.exp(logp) - target) / m
        return value, (d_pooled / sizes)[codes]

    return loss


class SetClassifier(BaseInferrer):
    """An instance classifier and encoder learned from set-level labels (FACILE).

    FACILE (Zhang, Khan, Chen and Grossman, "Enhancing Instance-Level Image
    Classification with Set-Level Labels", ICLR 2024) pretrains an instance encoder on
    coarse labels attached to sets of instances (a slide's cancer type for its tiles),
    through a permutation-invariant set model and a linear head, then reuses the encoder
    for fine-grained few-shot classification. Here the encoder is the built-in numpy
    network's ReLU layers, the set model is mean pooling (FACILE's DeepSet-style
    alternative) and the head is linear; the whole is fitted full-batch by L-BFGS on
    :func:`set_label_loss`.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (64, 32)
        The encoder's ReLU layers; the last one is the embedding of :meth:`transform`.
        ``()`` makes a linear model (and :meth:`transform` returns the standardised inputs).
    alpha : float, default 1e-4
        L2 penalty ``alpha / (2 n) * ||weights||^2``.
    max_iter : int, default 200
        L-BFGS iterations.
    tol : float, default 1e-6
    random_state : int, Generator or None
        Seeds the initial weights.

    Attributes
    ----------
    soft_labels_ : SoftLabels
        The coarse-class probabilities of each training item on its own (a set of one).
    sets_ : SetLabels
    classes_ : ndarray
    loss_ : float
    n_iter_ : int
    converged_ : bool

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 100)
    >>> X = rng.normal(size=(200, 3)) + 2.0 * y[:, None]
    >>> sets = as_set_labels(np.arange(200) // 5, y[::5])
    >>> model = SetClassifier(hidden_layer_sizes=(8,), random_state=0).fit(sets, X=X)
    >>> float((model.predict_proba(X).argmax(1) == y).mean()) > 0.9, model.transform(X).shape
    (True, (200, 8))
    """

    name: ClassVar[str] = "set-classifier"
    summary: ClassVar[str] = "an instance classifier and encoder from set-level labels (FACILE)"
    evidence: ClassVar[str] = "set-labels"
    _parameter_constraints = dict(NET_CONSTRAINTS)

    def __init__(self, *, hidden_layer_sizes: Sequence[int] = (64, 32), alpha: float = 1e-4,
                 max_iter: int = 200, tol: float = 1e-6, random_state: Any = None) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def fit(self, sets: SetLabels, /, *, X: Any, item_ids: Any = None) -> SetClassifier:
        """Fit on set labels (:func:`as_set_labels`) and the items' features ``X``
        (n_items, n_features), in the order of the sets' items.

        Parameters
        ----------
        sets : SetLabels
            Made by :func:`as_set_labels`.
        X : array-like of shape (n_items, n_features)
            The items' features, one row per item of the sets, in their order.
        item_ids : array-like of shape (n_items,), optional
            Item ids of ``soft_labels_`` (default ``0 .. n-1``).

        Returns
        -------
        self
        """
        self._validate_params()
        sets = check_evidence(sets, SetLabels, type(self).__name__,
                              "as_set_labels(set_ids, labels)")
        X = check_bag_features(X, sets)
        ordered = sets.in_id_order()  # the fit does not depend on the table's set order
        net = fit_net(self, X, ordered.codes, sets.n_classes,
                      lambda order: _set_objective(ordered.take(order)))
        self.sets_, self.classes_ = sets, sets.classes
        self.soft_labels_ = SoftLabels(
            softmax(net.outputs(X), axis=1), sets.classes, check_item_ids(item_ids, X.shape[0]),
            provenance=provenance(self.name, self.get_params()),
        )
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Coarse-class probabilities ``(n, n_classes)`` of single items.

        Parameters
        ----------
        X : array-like of shape (n, n_features)
            Features of the new items.
        """
        return softmax(net_outputs(self, X), axis=1)

    def transform(self, X: Any) -> np.ndarray:
        """The learned instance embeddings (the encoder's last ReLU layer), for a
        downstream fine-grained classifier.

        Parameters
        ----------
        X : array-like of shape (n, n_features)
            Features of the new items.
        """
        check_is_fitted(self, "net_")
        X = check_features(X, name="X")
        check_width(X, self.net_.sizes_[0])
        return self.net_.embed(X)
