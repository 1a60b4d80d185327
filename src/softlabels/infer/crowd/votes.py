"""Voting models: majority vote, soft vote, Wawa and zero-based skill."""

from __future__ import annotations

import numpy as np

from softlabels.core.validation import integer, option, real
from softlabels.core.annotations import Annotations
from softlabels.core.soft import normalize_rows, softmax
from softlabels.infer.base import CrowdModel, pin_gold
from softlabels.infer import em as K

__all__ = ["MajorityVote", "SoftVote", "Wawa", "ZeroBasedSkill"]


class MajorityVote(CrowdModel):
    """The class chosen by most answers.

    Tie rule: the soft label shares the probability equally between the tied classes;
    the hard label (``labels_``, ``SoftLabels.hard()``) is then the first of them in
    class order.

    Attributes
    ----------
    skills_ : ndarray of shape (n_workers,)
        Mean agreement of each worker's answers with the majority.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2], "worker": list("abcab"),
    ...                    "label": ["x", "x", "y", "x", "y"]})
    >>> MajorityVote().fit(df).soft_labels_.probs.tolist()
    [[1.0, 0.0], [0.5, 0.5]]
    """

    name = "majority-vote"
    summary = "most frequent answer; ties share the probability"

    def __init__(self) -> None:
        pass

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        post = K.split_argmax(ann.counts)
        self.skills_ = K.worker_agreement(ann, post)
        return post


class SoftVote(CrowdModel):
    """Vote proportions: ``n_ik / n_i`` with optional additive smoothing.

    Parameters
    ----------
    smoothing : float, default=0
        Pseudo-count added to every class of every item before normalising.
    normalization : {"proportions", "softmax"}, default="proportions"
        ``"softmax"`` takes the softmax of the raw counts instead (one of the
        soft-labeling methods compared by Wright & Augenstein; sharper as votes grow).
    """

    name = "soft-vote"
    summary = "vote proportions, optional additive smoothing or softmax"
    _parameter_constraints = {
        "smoothing": real(low=0.0),
        "normalization": option("proportions", "softmax"),
    }

    def __init__(self, *, smoothing: float = 0.0, normalization: str = "proportions") -> None:
        self.smoothing = smoothing
        self.normalization = normalization

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        counts = ann.counts
        if self.normalization == "softmax":
            post = softmax(counts + self.smoothing)
        else:
            post = normalize_rows(counts + self.smoothing)
        self.skills_ = K.worker_agreement(ann, post)
        return post


class Wawa(CrowdModel):
    """Worker agreement with aggregate: majority vote, then each worker weighted by
    their agreement with it, then the weighted vote (normalised: the soft label).

    Gold items count with their known label when the agreement is measured.
    """

    name = "wawa"
    summary = "vote weighted by each worker's agreement with the majority"

    def __init__(self) -> None:
        pass

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        mv = pin_gold(K.split_argmax(ann.counts), gold)
        self.skills_ = K.worker_agreement(ann, mv)
        return normalize_rows(K.worker_votes(ann, self.skills_))


class ZeroBasedSkill(CrowdModel):
    """Zero-based skill: a skill-weighted vote whose skills move towards each worker's
    agreement with the current weighted vote, with a decaying step.

    Skills start at ``1 / n_classes + eps``; each iteration computes the weighted
    majority (ties shared), then ``skill += lr * (agreement - skill)``; the step is
    multiplied by ``lr_reduce_factor`` every ``lr_steps_to_reduce`` iterations.
    The soft label is the normalised skill-weighted vote.

    Parameters
    ----------
    n_iter : int, default=100
    tol : float, default=1e-7
        Stop when no skill moves by more than ``tol``. ``tol=0`` runs ``n_iter``.
    lr_init, lr_steps_to_reduce, lr_reduce_factor, eps : see above.
    """

    name = "zero-based-skill"
    summary = "skill-weighted vote, skills learned by decaying steps"
    _parameter_constraints = {
        "n_iter": integer(low=1),
        "tol": real(low=0.0),
        "lr_init": real(low=0.0, low_open=True),
        "lr_steps_to_reduce": integer(low=1),
        "lr_reduce_factor": real(low=0.0, high=1.0),
        "eps": real(low=0.0),
    }

    def __init__(
        self,
        *,
        n_iter: int = 100,
        tol: float = 1e-7,
        lr_init: float = 1.0,
        lr_steps_to_reduce: int = 20,
        lr_reduce_factor: float = 0.5,
        eps: float = 1e-5,
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.lr_init = lr_init
        self.lr_steps_to_reduce = lr_steps_to_reduce
        self.lr_reduce_factor = lr_reduce_factor
        self.eps = eps

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        skills = np.full(ann.n_workers, 1.0 / ann.n_classes + self.eps)
        lr = self.lr_init
        self.converged_ = False
        for it in range(1, self.n_iter + 1):
            if it % self.lr_steps_to_reduce == 0:
                lr *= self.lr_reduce_factor
            vote = pin_gold(K.split_argmax(K.worker_votes(ann, skills)), gold)
            step = lr * (K.worker_agreement(ann, vote) - skills)
            skills = skills + step
            self.n_iter_ = it
            if self._callback is not None:  # the objective: the largest skill step
                self._callback(it, float(np.abs(step).max(initial=0.0)))
            if np.abs(step).max(initial=0.0) < self.tol:
                self.converged_ = True
                break
        self.skills_ = skills
        return normalize_rows(K.worker_votes(ann, skills))
