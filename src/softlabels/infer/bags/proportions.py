"""Proportion projection: instance soft labels from predictions and bag proportions.

:func:`proportion_pseudo_labels` (and its estimator form :class:`ProportionProjection`)
moves a model's instance predictions as little as possible, in KL divergence, until every
bag's mean soft label equals the bag's class proportions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from scipy.special import logsumexp

from softlabels.core.errors import InputError
from softlabels.core.soft import SoftLabels
from softlabels.core.validation import check_params, check_pred_probs, integer, real
from softlabels.infer.bags._common import (
    check_evidence,
    check_item_ids,
    check_n_classes,
    indicator,
    match_classes,
    own_classes,
    provenance,
)
from softlabels.infer.bags.evidence import BagProportions, as_bag_proportions
from softlabels.infer.base import BaseInferrer

__all__ = ["ProportionProjection", "project_onto_proportions", "proportion_pseudo_labels"]

_PARAMS = {"n_iter": integer(low=1), "tol": real(low=0.0)}


def project_onto_proportions(probs: np.ndarray, bags: BagProportions, n_iter: int, tol: float
             ) -> tuple[np.ndarray, int, bool]:
    """The rows closest to ``probs`` in KL divergence whose bag means equal the
    proportions: ``q_i = softmax(log p_i + lam_b)``, with ``lam_b`` minimising the convex
    dual ``sum_{i in b} logsumexp(log p_i + lam_b) - |b| <rho_b, lam_b>`` by damped Newton
    steps (vectorised over bags; classes with proportion 0 get ``lam = -inf``).

    Parameters
    ----------
    probs : ndarray of shape (n_items, n_classes)
        The instance probabilities, one row per item of ``bags``, in their order.
    bags : BagProportions
    n_iter : int
        Most Newton steps.
    tol : float
        Stop when every bag's mean is within ``tol`` of its proportions.

    Returns
    -------
    q : ndarray of shape (n_items, n_classes)
    n_iter : int
        Steps taken.
    converged : bool
    """
    n, c = probs.shape
    codes, sizes, rho = bags.codes, bags.sizes.astype(np.float64), bags.proportions
    logp = np.log(np.clip(probs, 1e-12, None))
    active = rho > 0
    mask = np.where(active, 0.0, -np.inf)[codes]
    ind = indicator(codes, bags.n_bags)
    u = active.astype(np.float64)
    rank_one = u[:, :, None] * u[:, None, :] + np.eye(c) * (1.0 - u)[:, None, :]

    def dual(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = logp + lam[codes] + mask
        lse = logsumexp(z, axis=1)
        return np.bincount(codes, lse, bags.n_bags) - sizes * (rho * lam).sum(axis=1), \
            z - lse[:, None]

    lam = np.zeros_like(rho)
    value, logq = dual(lam)
    for it in range(1, n_iter + 1):
        q = np.exp(logq)
        grad = ind @ q - sizes[:, None] * rho
        if (np.abs(grad) / sizes[:, None]).max() <= tol:
            return q, it, True
        outer = (ind @ (q[:, :, None] * q[:, None, :]).reshape(n, c * c)).reshape(-1, c, c)
        hess = np.einsum("bc,cd->bcd", ind @ q, np.eye(c)) - outer + rank_one
        step = -np.linalg.solve(hess, grad[:, :, None])[:, :, 0] * u
        step *= np.minimum(1.0, 5.0 / np.maximum(np.abs(step).max(axis=1), 1e-300))[:, None]
        slope = (grad * step).sum(axis=1)
        t = np.ones(bags.n_bags)
        pending = np.ones(bags.n_bags, dtype=bool)
        new_lam = lam.copy()
        for _ in range(60):  # Armijo backtracking, bag by bag
            trial = np.where(pending[:, None], lam + t[:, None] * step, new_lam)
            trial_value, _ = dual(trial)
            # (a step too small to change the value in floating point is taken as is)
            ok = pending & ((trial_value <= value + 1e-4 * t * slope)
                            | (np.abs(slope) <= 1e-13 * (1.0 + np.abs(value))))
            new_lam[ok] = trial[ok]
            pending &= ~ok
            if not pending.any():
                break
            t = np.where(pending, t / 2, t)
        lam = new_lam
        value, logq = dual(lam)
    return np.exp(logq), n_iter, False


def proportion_pseudo_labels(
    pred_probs: Any,
    bag_ids: Any,
    proportions: Any = None,
    *,
    counts: Any = None,
    classes: Sequence[Any] | None = None,
    item_ids: Any = None,
    n_iter: int = 100,
    tol: float = 1e-9,
) -> SoftLabels:
    """Instance soft labels implied by a model's predictions and the bag proportions.

    The predictions are moved as little as possible (in KL divergence) until every bag's
    mean soft label equals its proportions:
    ``q_i = argmin sum_i KL(q_i || p_i)`` subject to ``mean_{i in b} q_i = rho_b``, whose
    solution is ``q_ic ∝ p_ic * w_bc`` with one weight per bag and class (found by Newton's
    method on the dual, vectorised over bags). A bag with
    proportion 0 or 1 for a class gives every item a certain label; uniform predictions
    give every item its bag's proportions (the "bag prior").

    Parameters
    ----------
    pred_probs : array-like of shape (n_items, n_classes) or SoftLabels
        Instance predictions, e.g. from a model trained with :func:`dllp_loss`. A
        SoftLabels that names the proportions' classes in another order is matched to
        them by name.
    bag_ids, proportions, counts, classes
        As in :func:`as_bag_proportions`; the classes default to those of ``pred_probs``
        when it is a SoftLabels (and the proportions are not a DataFrame).
    item_ids : array-like of shape (n_items,), optional
        Defaults to the ids of ``pred_probs`` when it is a SoftLabels.
    n_iter : int, default 100
        Newton iterations.
    tol : float, default 1e-9
        Largest allowed gap between a bag's mean soft label and its proportions.

    Returns
    -------
    SoftLabels
        Provenance method ``"proportion-projection"``.

    Examples
    --------
    >>> s = proportion_pseudo_labels([[0.6, 0.4], [0.3, 0.7], [0.9, 0.1]], [0, 0, 1],
    ...                              [0.5, 0.0])
    >>> s.probs.round(3).tolist()
    [[0.652, 0.348], [0.348, 0.652], [1.0, 0.0]]
    """
    checked = check_params("proportion_pseudo_labels", _PARAMS, n_iter=n_iter, tol=tol)
    n_iter, tol = checked["n_iter"], checked["tol"]
    if isinstance(pred_probs, SoftLabels):
        item_ids = pred_probs.item_ids if item_ids is None else item_ids
    if classes is None:
        classes = own_classes(pred_probs, proportions, counts)
    probs = check_pred_probs(pred_probs)
    bags = as_bag_proportions(bag_ids, proportions, counts=counts, classes=classes,
                              n_items=probs.shape[0])
    probs = check_pred_probs(match_classes(pred_probs, bags, "pred_probs"))
    check_n_classes(probs, bags, "pred_probs")
    q, it, converged = project_onto_proportions(probs, bags, n_iter, tol)
    return SoftLabels(
        q, bags.classes, check_item_ids(item_ids, probs.shape[0]),
        provenance=provenance("proportion-projection", {"n_iter": n_iter, "tol": tol},
                               n_iter=it, converged=converged),
    )


class ProportionProjection(BaseInferrer):
    """:func:`proportion_pseudo_labels` as an estimator: fitted on bag proportions, with
    the instance predictions to project given as ``pred_probs=``.

    Parameters
    ----------
    n_iter : int, default 100
        Newton iterations.
    tol : float, default 1e-9
        Largest allowed gap between a bag's mean soft label and its proportions.

    Attributes
    ----------
    soft_labels_ : SoftLabels
        The projected predictions; classes are those of the bags.
    n_iter_ : int
        Newton iterations run.
    converged_ : bool
    bags_ : BagProportions

    Examples
    --------
    >>> bags = as_bag_proportions([0, 0, 1], [0.5, 0.0])
    >>> model = ProportionProjection().fit(bags, pred_probs=[[0.6, 0.4], [0.3, 0.7], [0.9, 0.1]])
    >>> model.soft_labels_.probs.round(3).tolist()
    [[0.652, 0.348], [0.348, 0.652], [1.0, 0.0]]
    """

    name: ClassVar[str] = "proportion-projection"
    summary: ClassVar[str] = "instance predictions projected onto each bag's label proportions"
    evidence: ClassVar[str] = "bag-proportions"
    _parameter_constraints = _PARAMS

    def __init__(self, *, n_iter: int = 100, tol: float = 1e-9) -> None:
        self.n_iter = n_iter
        self.tol = tol

    def fit(self, bags: BagProportions, /, *, pred_probs: Any, item_ids: Any = None
            ) -> ProportionProjection:
        """Fit on bag proportions (:func:`as_bag_proportions`) and the instance
        predictions ``pred_probs`` (n_items, n_classes), an array or SoftLabels whose item
        ids are used when ``item_ids`` is not given.

        Parameters
        ----------
        bags : BagProportions
            Made by :func:`as_bag_proportions`.
        pred_probs : array-like of shape (n_items, n_classes) or SoftLabels
            The instance predictions, one row per item of the bags, in their order.
        item_ids : array-like of shape (n_items,), optional
            Item ids of ``soft_labels_``.

        Returns
        -------
        self
        """
        self._validate_params()
        bags = check_evidence(bags, BagProportions, type(self).__name__,
                              "as_bag_proportions(bag_ids, proportions)",
                              "the predictions go in pred_probs=")
        if isinstance(pred_probs, SoftLabels) and item_ids is None:
            item_ids = pred_probs.item_ids
        probs = check_pred_probs(match_classes(pred_probs, bags, "pred_probs"))
        if probs.shape[0] != bags.n_items:
            raise InputError(
                f"pred_probs has {probs.shape[0]} rows but the bags hold {bags.n_items} items."
            )
        check_n_classes(probs, bags, "pred_probs")
        n_iter, tol = int(self.n_iter), float(self.tol)
        q, it, converged = project_onto_proportions(probs, bags, n_iter, tol)
        self.bags_ = bags
        self.n_iter_, self.converged_ = it, converged
        self.soft_labels_ = SoftLabels(
            q, bags.classes, check_item_ids(item_ids, probs.shape[0]),
            provenance=provenance(self.name, self.get_params(), n_iter=it,
                                  converged=converged),
        )
        return self
