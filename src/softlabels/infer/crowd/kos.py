"""KOS: iterative message passing for binary crowd labels (Karger, Oh & Shah, 2011)."""

from __future__ import annotations

import numpy as np

from softlabels.core.validation import check_random_state, integer, random_state, real
from softlabels.core.annotations import Annotations
from softlabels.infer.base import CrowdModel
from softlabels.infer import em as K

__all__ = ["KOS"]


class KOS(CrowdModel):
    """Belief-propagation-like message passing on the item–worker graph.

    Answers are coded ``A = +1`` (first class) or ``-1`` (second class). Messages live
    on answers: item-to-worker ``x[a] = sum over the item's answers by other workers of
    A y``, and worker-to-item ``y[a] = sum over the worker's answers on other items of
    A x``. (A message leaves out its whole (item, worker) edge of the paper's graph, so
    that a worker's repeated answers on one item never echo each other.) After
    ``n_iter`` rounds the item score is ``sum over its answers of A y`` and its label
    the sign. Messages are rescaled each round (which does not change signs).

    KOS estimates labels, not probabilities: the soft label is the one-hot vector of
    the decision (0.5/0.5 when the score is 0 up to rounding). Binary answers only.

    Parameters
    ----------
    n_iter : int, default=100
    tol : float, default=0
        Stop early when no decision has changed and the normalised messages moved by
        less than ``tol``; ``0`` runs ``n_iter`` rounds.
    init_scale : float, default=0
        Worker messages start at ``1 + init_scale * N(0, 1)``. The paper draws them
        from N(1, 1) (``init_scale=1``); the default, all ones, starts from the
        majority vote and makes the result independent of answer order.
    random_state : int, Generator or None, default=0

    Attributes
    ----------
    scores_ : ndarray of shape (n_items,)
        Positive for the first class.
    skills_ : ndarray of shape (n_workers,)
        Agreement of each worker with the decisions.

    References
    ----------
    D. R. Karger, S. Oh, D. Shah, "Iterative learning for reliable crowdsourcing
    systems", NIPS 2011.
    """

    name = "kos"
    summary = "message passing on the item-worker graph, binary (Karger et al. 2011)"
    _parameter_constraints = {
        "n_iter": integer(low=1),
        "tol": real(low=0.0),
        "init_scale": real(low=0.0),
        "random_state": random_state,
    }
    max_classes = 2

    def __init__(
        self,
        *,
        n_iter: int = 100,
        tol: float = 0.0,
        init_scale: float = 0.0,
        random_state: int | np.random.Generator | None = 0,
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.init_scale = init_scale
        self.random_state = random_state

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        rng = check_random_state(self.random_state)
        # Rounding differences grow along unstable directions of the iteration (exact
        # ties), so every sum is taken in an order fixed by the values themselves: the
        # same answers in any row order, under any worker or item ids, give the same
        # floats. A sum within rounding of zero (an exact tie) is set to zero, so that
        # rounding noise cannot grow into a decision.
        order = ann.canonical_order()
        item, worker = ann.item[order], ann.worker[order]
        a = np.where(ann.label[order] == 0, 1.0, -1.0)

        def group_sum(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
            by_value = np.lexsort((values, groups))
            g, v = groups[by_value], values[by_value]
            total = np.bincount(g, weights=v, minlength=n)
            size = np.bincount(g, weights=np.abs(v), minlength=n)
            total[np.abs(total) <= 8 * np.finfo(float).eps * size] = 0.0
            return total

        def per_item(values: np.ndarray) -> np.ndarray:
            return group_sum(item, values, ann.n_items)

        # the (item, worker) pair of every answer: consecutive in the canonical order
        new_pair = np.ones(item.size, dtype=bool)
        new_pair[1:] = (item[1:] != item[:-1]) | (worker[1:] != worker[:-1])
        pair = np.cumsum(new_pair) - 1

        def own_pair(values: np.ndarray) -> np.ndarray:
            """The sum of ``values`` over each answer's (item, worker) pair."""
            return group_sum(pair, values, int(pair[-1]) + 1 if pair.size else 0)[pair]

        known = gold >= 0
        pinned = np.where(gold == 0, 1.0, -1.0)
        y = 1.0 + self.init_scale * rng.standard_normal(ann.n_answers)
        self.converged_ = False
        prev = None
        for it in range(1, self.n_iter + 1):
            s_item = per_item(a * y)
            if known.any():  # gold items send their known sign, strongly
                s_item[known] = pinned[known] * (np.abs(s_item).max(initial=1.0) + 1.0)
            x = s_item[item] - own_pair(a * y)
            y = group_sum(worker, a * x, ann.n_workers)[worker] - own_pair(a * x)
            scale = np.sqrt(np.mean(np.sort(y * y)))
            y = y / scale if scale > 0 else np.ones_like(y)
            self.n_iter_ = it
            if self.tol > 0 and prev is not None and np.abs(y - prev).max() < self.tol:
                self.converged_ = True
                break
            prev = y
        scores = per_item(a * y)
        # a score within rounding of zero is a tie, whatever the summation order
        scores[np.abs(scores) <= 1e-8 * np.abs(scores).max(initial=0.0)] = 0.0
        self.scores_ = scores
        post = np.zeros((ann.n_items, ann.n_classes))
        if ann.n_classes == 1:
            post[:, 0] = 1.0
        else:
            post[:, 0] = (scores > 0) + 0.5 * (scores == 0)
            post[:, 1] = 1.0 - post[:, 0]
        self.skills_ = K.worker_agreement(ann, post)
        return post
