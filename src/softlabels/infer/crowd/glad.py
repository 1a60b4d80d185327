"""GLAD: worker ability times item difficulty (Whitehill et al., 2009)."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit

from softlabels.core.validation import integer, option, real
from softlabels.core.annotations import Annotations
from softlabels.infer import em as K
from softlabels.infer.crowd.em import EM_CONSTRAINTS, EMModel

__all__ = ["GLAD"]


class GLAD(EMModel):
    """Generative model of Labels, Abilities and Difficulties.

    An answer is correct with probability ``sigmoid(alpha_w * beta_i)`` (worker
    ability ``alpha_w`` in R, item easiness ``beta_i > 0``, i.e. difficulty
    ``1 / beta_i``); a wrong answer is uniform over the other ``K - 1`` classes.
    EM: the E-step is exact; the M-step maximises the expected complete
    log-likelihood plus Gaussian priors ``alpha ~ N(alpha_prior, 1)`` and
    ``log beta ~ N(log_beta_prior, 1)`` by ``m_steps`` alternating Fisher-scoring
    (Newton with the expected Hessian) updates of ``alpha`` and ``log beta``
    (a generalised EM: each update increases the objective; the reference code
    runs a gradient optimiser to convergence instead, which reaches the same fixed
    points at a higher cost). The class prior is uniform, as in the reference code,
    unless ``prior="learn"``.

    Parameters
    ----------
    n_iter : int, default=100
    tol : float, default=1e-6
        Per-answer change of the log-likelihood below which EM stops.
    alpha_prior, log_beta_prior : float, default=1.0
        Means of the Gaussian priors (unit variance), as in the reference code.
    m_steps : int, default=3
        Scoring updates per M-step.
    prior : {"uniform", "learn"}, default="uniform"
    init : {"soft-vote", "majority-vote", "uniform", "spectral"}, default="soft-vote"

    Attributes
    ----------
    alphas_ : ndarray of shape (n_workers,)
    betas_ : ndarray of shape (n_items,)
    priors_ : ndarray of shape (n_classes,)
    skills_ : ndarray of shape (n_workers,)
        ``sigmoid(alpha_w)``: the probability of a correct answer on an item with
        ``beta = 1``.

    References
    ----------
    J. Whitehill, P. Ruvolo, T. Wu, J. Bergsma, J. Movellan, "Whose vote should count
    more: optimal integration of labels from labelers of unknown expertise", NIPS 2009.
    """

    name = "glad"
    summary = "EM with worker ability x item difficulty (Whitehill et al. 2009)"
    _parameter_constraints = {
        **EM_CONSTRAINTS,
        "alpha_prior": real(),
        "log_beta_prior": real(),
        "m_steps": integer(low=1),
        "prior": option("uniform", "learn"),
    }

    def __init__(
        self,
        *,
        n_iter: int = 100,
        tol: float = 1e-6,
        alpha_prior: float = 1.0,
        log_beta_prior: float = 1.0,
        m_steps: int = 3,
        prior: str = "uniform",
        init: str = "soft-vote",
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.alpha_prior = alpha_prior
        self.log_beta_prior = log_beta_prior
        self.m_steps = m_steps
        self.prior = prior
        self.init = init

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        k = ann.n_classes
        w_idx, i_idx = ann.worker, ann.item
        state = {
            "alpha": np.full(ann.n_workers, self.alpha_prior, dtype=np.float64),
            "log_beta": np.full(ann.n_items, self.log_beta_prior, dtype=np.float64),
        }
        log_k1 = np.log(k - 1) if k > 1 else 0.0

        def m_step(post: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            p = K.answer_agreement(ann, post)  # P(answer correct)
            alpha, log_beta = state["alpha"], state["log_beta"]
            for _ in range(self.m_steps):
                beta = np.exp(log_beta)
                z = alpha[w_idx] * beta[i_idx]
                s = expit(z)
                g = p - s
                v = s * (1.0 - s)
                bb = beta[i_idx]
                grad = K.per_worker_sum(ann, g * bb) - (alpha - self.alpha_prior)
                info = K.per_worker_sum(ann, v * bb * bb) + 1.0
                alpha = alpha + grad / info
                z = alpha[w_idx] * bb
                s = expit(z)
                g = p - s
                v = s * (1.0 - s)
                grad = K.per_item_sum(ann, g * z) - (log_beta - self.log_beta_prior)
                info = K.per_item_sum(ann, v * z * z) + 1.0
                log_beta = np.clip(log_beta + grad / info, -20.0, 20.0)
            state["alpha"], state["log_beta"] = alpha, log_beta
            prior = K.class_prior(post) if self.prior == "learn" else np.full(k, 1.0 / k)
            return alpha, log_beta, prior

        def e_step(params: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, float]:
            alpha, log_beta, prior = params
            z = alpha[w_idx] * np.exp(log_beta)[i_idx]
            right = log_expit(z)
            wrong = log_expit(-z) - log_k1 if k > 1 else np.zeros_like(z)
            if k < 2:
                right = np.zeros_like(z)
            return K.log_normalize(K.coin_log_scores(ann, right, wrong) + np.log(prior))

        post, (alpha, log_beta, prior) = self._run(ann, gold, m_step, e_step)
        self.alphas_ = alpha
        self.betas_ = np.exp(log_beta)
        self.priors_ = prior
        self.skills_ = expit(alpha)
        return post

    def _extra_worker_columns(self) -> dict[str, np.ndarray]:
        return {"alpha": self.alphas_}
