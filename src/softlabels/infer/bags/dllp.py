"""DLLP (Ardehaly & Culotta 2017): learning from label proportions through the
bag-level proportion loss.

:func:`dllp_loss` is the loss of a model's instance predictions; :class:`DLLP` trains the
built-in numpy network on it. For a torch model use
:func:`softlabels.train.nn.functional.dllp_loss`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
from scipy.special import softmax

from softlabels.core.soft import SoftLabels
from softlabels.core.validation import boolean, check_float, check_pred_probs
from softlabels.infer.bags._common import (
    check_bag_features,
    check_evidence,
    check_item_ids,
    check_n_classes,
    indicator,
    match_classes,
    own_classes,
    provenance,
)
from softlabels.infer.bags._mlp import NET_CONSTRAINTS, fit_net, net_outputs
from softlabels.infer.bags.evidence import BagProportions, as_bag_proportions
from softlabels.infer.bags.proportions import project_onto_proportions
from softlabels.infer.base import BaseInferrer

__all__ = ["DLLP", "dllp_loss"]


def dllp_loss(
    pred_probs: Any,
    bag_ids: Any,
    proportions: Any = None,
    *,
    counts: Any = None,
    eps: float = 1e-7,
) -> float:
    """DLLP proportion loss of instance predictions (Ardehaly & Culotta 2017).

    ``pbar_b = mean_{i in b} p_i`` and
    ``L = (1 / n_bags) * sum_b -sum_c rho_bc * log(clip(pbar_bc, eps, 1 - eps))``:
    the cross-entropy between each bag's known proportions and its mean prediction (a
    log of the bag average, not an average of logs).

    Parameters
    ----------
    pred_probs : array-like of shape (n_items, n_classes) or SoftLabels
        A SoftLabels lends its classes to proportions that are not a DataFrame (one value
        per bag is then the share of its second class), as in
        :func:`proportion_pseudo_labels`; one that names the proportions' classes in
        another order is matched to them by name.
    bag_ids, proportions, counts
        As in :func:`as_bag_proportions`.
    eps : float, default 1e-7

    Returns
    -------
    float

    See Also
    --------
    softlabels.train.nn.functional.dllp_loss : the same loss on torch logits.

    Examples
    --------
    >>> p = [[0.8, 0.2], [0.2, 0.8], [0.5, 0.5]]
    >>> round(dllp_loss(p, [0, 0, 1], [0.5, 1.0]), 4)   # (log 2 + log 2) / 2
    0.6931
    """
    eps = check_float(eps, "eps", "dllp_loss", low=0.0, high=0.5)
    probs = check_pred_probs(pred_probs)
    bags = as_bag_proportions(bag_ids, proportions, counts=counts, n_items=probs.shape[0],
                              classes=own_classes(pred_probs, proportions, counts))
    probs = check_pred_probs(match_classes(pred_probs, bags, "pred_probs"))
    check_n_classes(probs, bags, "pred_probs")
    pbar = (indicator(bags.codes, bags.n_bags) @ probs) / bags.sizes[:, None]
    return float(-(bags.proportions * np.log(np.clip(pbar, eps, 1 - eps))).sum(1).mean())



def _dllp_objective(bags: BagProportions, eps: float = 1e-7
                    ) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    ind = indicator(bags.codes, bags.n_bags)
    rho, sizes, codes = bags.proportions, bags.sizes[:, None], bags.codes

    def loss(z: np.ndarray) -> tuple[float, np.ndarray]:
        p = softmax(z, axis=1)
        pbar = (ind @ p) / sizes
        clipped = np.clip(pbar, eps, 1 - eps)
        value = float(-(rho * np.log(clipped)).sum() / bags.n_bags)
        dpbar = np.where(clipped == pbar, -rho / clipped, 0.0) / bags.n_bags
        dp = (dpbar / sizes)[codes]
        return value, p * (dp - (dp * p).sum(axis=1, keepdims=True))

    return loss



class DLLP(BaseInferrer):
    """Learning from label proportions with the DLLP loss (Ardehaly & Culotta 2017).

    A built-in numpy network (``hidden_layer_sizes=()``: multinomial logistic regression)
    is trained full-batch by L-BFGS on :func:`dllp_loss`; binary and multi-class.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default ()
        ReLU hidden layers; ``()`` is a linear model.
    alpha : float, default 1e-4
        L2 penalty ``alpha / (2 n) * ||weights||^2``.
    max_iter : int, default 500
        L-BFGS iterations.
    tol : float, default 1e-6
        L-BFGS gradient tolerance.
    match_proportions : bool, default True
        ``soft_labels_`` are the model's predictions projected onto the bag proportions
        (:func:`proportion_pseudo_labels`); ``False`` keeps the raw predictions.
    random_state : int, Generator or None
        Seeds the network's initial weights.

    Attributes
    ----------
    soft_labels_ : SoftLabels
        Instance soft labels of the training items.
    instance_probs_ : ndarray of shape (n_items, n_classes)
        The model's raw predictions on the training items.
    bags_ : BagProportions
    loss_ : float
        The final training objective (DLLP loss plus penalty).
    n_iter_ : int
    converged_ : bool

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] > 0).astype(int)
    >>> bag = np.arange(200) // 10
    >>> rho = np.bincount(bag, y) / 10
    >>> model = DLLP(random_state=0).fit(as_bag_proportions(bag, rho), X=X)
    >>> bool((model.predict_proba(X).argmax(1) == y).mean() > 0.9)
    True
    """

    name: ClassVar[str] = "dllp"
    summary: ClassVar[str] = "a classifier trained on bag proportions with the DLLP loss (Ardehaly & Culotta 2017)"
    evidence: ClassVar[str] = "bag-proportions"
    _parameter_constraints = {**NET_CONSTRAINTS, "match_proportions": boolean}

    def __init__(self, *, hidden_layer_sizes: Sequence[int] = (), alpha: float = 1e-4,
                 max_iter: int = 500, tol: float = 1e-6, match_proportions: bool = True,
                 random_state: Any = None) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.match_proportions = match_proportions
        self.random_state = random_state

    def fit(self, bags: BagProportions, /, *, X: Any, item_ids: Any = None) -> DLLP:
        """Fit on bag proportions (:func:`as_bag_proportions`) and the items' features
        ``X`` (n_items, n_features), in the order of the bags' items.

        Parameters
        ----------
        bags : BagProportions
            Made by :func:`as_bag_proportions`.
        X : array-like of shape (n_items, n_features)
            The items' features, one row per item of the bags, in their order.
        item_ids : array-like of shape (n_items,), optional
            Item ids of ``soft_labels_`` (default ``0 .. n-1``).

        Returns
        -------
        self
        """
        self._validate_params()
        bags = check_evidence(bags, BagProportions, type(self).__name__,
                              "as_bag_proportions(bag_ids, proportions)")
        X = check_bag_features(X, bags)
        ordered = bags.in_id_order()  # the fit does not depend on the table's bag order
        net = fit_net(self, X, ordered.codes, bags.n_classes,
                      lambda order: _dllp_objective(ordered.take(order)))
        probs = softmax(net.outputs(X), axis=1)
        self.bags_ = bags
        self.instance_probs_ = probs
        labels = (project_onto_proportions(probs, bags, 100, 1e-9)[0]
                  if self.match_proportions else probs)
        self.soft_labels_ = SoftLabels(
            labels, bags.classes, check_item_ids(item_ids, X.shape[0]),
            provenance=provenance(self.name, self.get_params()),
        )
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` for new items.

        Parameters
        ----------
        X : array-like of shape (n, n_features)
            Features of the new items.
        """
        return softmax(net_outputs(self, X), axis=1)
