"""Enhanced Bayesian Classifier Combination (Li, Rubinstein & Cohn 2019)."""

from __future__ import annotations

from typing import Any

import numpy as np

from softlabels.core.annotations import Annotations, sort_order
from softlabels.core.errors import InvalidParameterError
from softlabels.core.validation import (
    check_is_fitted, check_random_state, integer, random_state, real,
)
from softlabels.infer import em as K
from softlabels.infer.crowd.ibcc import BCC_CONSTRAINTS, IBCC

__all__ = ["EBCC", "subtype_answer_probabilities"]


def item_order(ids: np.ndarray) -> np.ndarray:
    """Positions of the item ids in sorted order (by their text where ids of different
    types do not compare, then by type: see
    :func:`~softlabels.core.annotations.sort_order`)."""
    return sort_order(ids)


class EBCC(IBCC):
    """IBCC with worker correlation: every class has ``n_subtypes`` subtypes, each
    item one of them, and all workers answer an item from their confusion row for its
    (class, subtype), fitted by mean-field variational Bayes.

    Item i has class ``t_i ~ tau`` and subtype ``g_i ~ pi[t_i]``; worker w answers
    label l with probability ``v[w, t_i, g_i, l]``. Workers who err together on one
    kind of item (a subtype) are thus modelled as correlated, where IBCC treats their
    errors as independent. Priors: ``tau ~ Dir(class_prior)``,
    ``pi[k] ~ Dir(subtype_prior / M, ...)``, and each confusion row
    ``v[w, k, m] ~ Dir`` with ``diag_prior`` on the correct label and
    ``off_diag_prior`` elsewhere.

    With ``inference="vb"`` (the reference implementation's updates)
    the posterior ``q(t_i = k, g_i = m)`` is proportional to ``exp(E[log tau_k] +
    E[log pi_km] + sum over answers (i, w, l) of E[log v[w, k, m, l]])``; with
    ``inference="collapsed"`` (see :class:`IBCC`) each factor is instead the predictive
    probability with the item's own share of the counts taken out; ``"vb-collapsed"``
    (the default) runs VB, then one collapsed update tempered by held-out answers. The
    soft label is the sum over subtypes. ``"vb"`` is accurate but not honest where
    evidence is thin: it gives an item answered 4:3 by workers seen nowhere else 0.99,
    and with a single worker answering x, y, x it settles on x for all three items with
    probability 1. Over the 19 crowd sets with ground truth, ``"vb-collapsed"`` keeps
    VB's accuracy (mean .841 against .842; ``"collapsed"``: .831) at a mean NLL of 0.73
    (VB 1.24, collapsed 1.27), and is honest (4:3 item at most 0.77, synthetic ECE at
    most 0.016).

    The subtypes are exchangeable, so the fit must start from a random split of the
    initial posteriors over them; ``n_init`` splits drawn from ``random_state`` (one
    per item, shared by its classes, in the order of the item ids) are each run to
    convergence, and the one with
    the highest objective is kept. With one subtype the model is :class:`IBCC`.

    Parameters
    ----------
    n_iter : int, default=500
        Maximum iterations per run.
    tol : float, default=1e-6
        Stop a run when its objective changes by less than ``tol`` per answer.
    n_subtypes : int, default=10
        Subtypes per class (``M``).
    subtype_prior : float, default=0.1
        Total Dirichlet pseudo-count on each class's subtype weights (``M`` times the
        per-subtype count); small values let few subtypes be used.
    diag_prior, off_diag_prior : float, default=4.0 and 1.0
        Dirichlet prior on the confusion rows, as in :class:`IBCC`.
    class_prior : float or "empirical", default="empirical"
        Pseudo-counts on the class proportions; ``"empirical"`` is the column sums of
        the vote proportions.
    inference : {"vb-collapsed", "collapsed", "vb"}, default="vb-collapsed"
    init : {"soft-vote", "majority-vote", "uniform", "spectral"}, default="soft-vote"
        Initial class posteriors, split at random over the subtypes.
    n_init : int, default=5
        Random starts; the best by evidence lower bound is kept.
    random_state : int, Generator or None, default=0

    Attributes
    ----------
    confusions_ : ndarray of shape (n_workers, n_classes, n_classes)
        Posterior mean confusion, averaged over each class's subtypes.
    subtype_confusions_ : ndarray of shape (n_workers, n_classes, n_subtypes, n_classes)
    subtype_weights_ : ndarray of shape (n_classes, n_subtypes)
    subtype_posteriors_ : ndarray of shape (n_items, n_classes, n_subtypes)
        The joint posterior ``q(t_i = k, g_i = m)`` of every item's class and subtype;
        summed over the subtypes it is the soft label.
    priors_, skills_, skill_sd_, log_likelihood_, n_iter_, converged_, temperature_ : as :class:`IBCC`
        (``n_iter_`` and ``converged_`` of the kept run).

    References
    ----------
    Y. Li, B. I. P. Rubinstein and T. Cohn, "Exploiting worker correlation for label
    aggregation in crowdsourcing", ICML 2019.
    """

    name = "ebcc"
    summary = "Bayesian classifier combination with correlated worker subtypes (Li et al. 2019)"
    _parameter_constraints = {
        **BCC_CONSTRAINTS,
        "n_subtypes": integer(low=1),
        "subtype_prior": real(low=0.0, low_open=True),
        "n_init": integer(low=1),
        "random_state": random_state,
    }

    def __init__(
        self,
        *,
        n_iter: int = 500,
        tol: float = 1e-6,
        n_subtypes: int = 10,
        subtype_prior: float = 0.1,
        diag_prior: float = 4.0,
        off_diag_prior: float = 1.0,
        class_prior: float | str = "empirical",
        inference: str = "vb-collapsed",
        init: str = "soft-vote",
        n_init: int = 5,
        random_state: int | np.random.Generator | None = 0,
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.n_subtypes = n_subtypes
        self.subtype_prior = subtype_prior
        self.diag_prior = diag_prior
        self.off_diag_prior = off_diag_prior
        self.class_prior = class_prior
        self.inference = inference
        self.init = init
        self.n_init = n_init
        self.random_state = random_state

    def _memory_bytes(self, n_workers: int, n_classes: int, n_items: int) -> int:
        """Peak bytes of a fit: IBCC's arrays with ``n_subtypes`` times the columns,
        for the run in progress and the best run so far."""
        m = self.n_subtypes
        return 8 * (6 * n_workers * n_classes**2 * m + 6 * n_items * n_classes * m)

    def _subtypes(self) -> dict[str, Any]:
        return {"n_subtypes": self.n_subtypes, "subtype_prior": self.subtype_prior}

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        k, m = ann.n_classes, self.n_subtypes
        kernel = self._kernel(ann, gold, collapsed=self.inference == "collapsed")
        self.temperature_ = 1.0
        classes = self._initial_posteriors(ann)
        no_gold = np.full(ann.n_items, -1)  # the kernel clamps gold items itself
        rng = check_random_state(self.random_state)
        # one draw per item, the same for all its classes, in the order of the item ids:
        # reordering the answers or renaming the classes only reorders the result
        rank = np.empty(ann.n_items, dtype=np.int64)
        rank[item_order(ann.item_ids)] = np.arange(ann.n_items)
        best = None
        for _ in range(self.n_init):
            split = rng.dirichlet(np.ones(m), size=ann.n_items)[rank]
            start = kernel.pin((classes[:, :, None] * split[:, None, :]).reshape(ann.n_items, k * m))
            run = K.run_em(
                start, kernel.m_step, kernel.e_step, gold=no_gold, n_iter=self.n_iter,
                tol=self.tol, n_answers=ann.n_answers, callback=self._callback,
            )
            if best is None or run[4] > best[4]:
                best = run
        joint, params, it, converged, objective = best  # type: ignore[misc]
        self.n_iter_, self.converged_, self.log_likelihood_ = it, converged, objective
        if self.inference == "vb-collapsed":
            joint, params = self._collapse(kernel, joint, gold)
        summary = kernel.summarise(params)
        self._keep(summary)
        self.subtype_confusions_ = summary["subtype_confusions"]
        self.subtype_weights_ = summary["subtype_weights"]
        self.subtype_posteriors_ = joint.reshape(ann.n_items, k, m)
        return self.subtype_posteriors_.sum(axis=2)

    def answer_probabilities(self, item: np.ndarray, worker: np.ndarray,
                             label: np.ndarray) -> np.ndarray:
        """The fitted model's probability of answers it was not fitted on: answer
        ``(i, w, l)`` (codes of the fitted annotations) gets ``sum_{k, m} q(t_i = k,
        g_i = m) v[w, k, m, l]``, with ``q`` the item's joint posterior of class and
        subtype (:attr:`subtype_posteriors_`, from the item's answers the model saw) and
        ``v`` the posterior mean confusion rows (:attr:`subtype_confusions_`). So the
        prediction knows what the item's other answers say about its subtype: workers who
        err together on a kind of item are expected to err together again, which a
        model of answers independent given the class cannot express. Stacking
        (:class:`~softlabels.infer.crowd.stacking.HeldOutStacking`) scores EBCC with it.

        Parameters
        ----------
        item, worker, label : ndarray of int, shape (n,)
            Codes of the fitted annotations (items, workers and classes the model has
            seen); other shapes or codes out of range raise
            :class:`~softlabels.InvalidParameterError`.

        Returns
        -------
        ndarray of shape (n,)
            The probability of each answer.
        """
        check_is_fitted(self, "subtype_posteriors_")
        codes = [np.asarray(a) for a in (item, worker, label)]
        if len({c.shape for c in codes}) != 1 or codes[0].ndim != 1:
            raise InvalidParameterError(
                "item, worker and label must be 1-D arrays of one length; got shapes "
                f"{', '.join(str(c.shape) for c in codes)}.")
        n_workers, _, _, n_labels = self.subtype_confusions_.shape
        sizes = (self.subtype_posteriors_.shape[0], n_workers, n_labels)
        for name, c, n in zip(("item", "worker", "label"), codes, sizes):
            if c.size and (not np.issubdtype(c.dtype, np.integer) or c.min() < 0 or c.max() >= n):
                raise InvalidParameterError(
                    f"{name} must hold integer codes in [0, {n}) of the fitted answers; "
                    f"got values from {c.min()} to {c.max()} ({c.dtype}).")
        return subtype_answer_probabilities(self.subtype_posteriors_, self.subtype_confusions_,
                                            *codes)


def subtype_answer_probabilities(
    joint: np.ndarray, confusions: np.ndarray, item: np.ndarray, worker: np.ndarray,
    label: np.ndarray,
) -> np.ndarray:
    """``sum_{k, m} joint[i, k, m] confusions[w, k, m, l]`` for the answers ``(i, w, l)``
    (:meth:`EBCC.answer_probabilities`; the Dask engine computes it per partition, on
    the partition's items).

    Parameters
    ----------
    joint : numpy.ndarray, shape (n_items, K, M)
        Posterior of each item's class and subtype.
    confusions : numpy.ndarray, shape (n_workers, K, M, n_classes)
        Answer probabilities of each worker given class and subtype.
    item, worker, label : array-like of int, shape (n_answers,)
        The answers' item, worker and label codes.

    Returns
    -------
    numpy.ndarray, shape (n_answers,)
    """
    item, worker, label = (np.asarray(a, dtype=np.int64) for a in (item, worker, label))
    q = joint[item]  # (n, K, M)
    v = confusions[worker, :, :, label]  # (n, K, M)
    return np.einsum("akm,akm->a", q, v)
