"""GLAD: worker ability times item difficulty (Whitehill et al., 2009)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import expit, log_expit

from softlabels.core.validation import integer, option, real
from softlabels.core.annotations import Annotations
from softlabels.infer import em as K
from softlabels.infer.crowd.em import EM_CONSTRAINTS, EMModel

__all__ = ["GLAD", "ascend", "fit_sums", "glad_logits", "safeguarded_step", "scoring_sums"]


class GLAD(EMModel):
    """Generative model of Labels, Abilities and Difficulties.

    An answer is correct with probability ``sigmoid(alpha_w * beta_i)`` (worker
    ability ``alpha_w`` in R, item easiness ``beta_i > 0``, i.e. difficulty
    ``1 / beta_i``); a wrong answer is uniform over the other ``K - 1`` classes.
    EM: the E-step is exact; the M-step maximises the expected complete
    log-likelihood plus Gaussian priors ``alpha ~ N(alpha_prior, 1)`` and
    ``log beta ~ N(log_beta_prior, 1)`` by alternating Fisher-scoring (Newton with the
    expected Hessian) updates of ``alpha`` and ``log beta``, until no parameter moves by
    more than ``m_tol`` or ``m_steps`` rounds. The objective is separable over workers
    (for ``alpha``) and over items (for ``log beta``), and each worker's or item's step
    is halved until its own objective does not decrease: without that safeguard a full
    step on ``log beta`` can overshoot (the objective is not concave in it) and EM then
    wanders off the fixed points of the model (on RTE: 81% instead of 92.5%). The class
    prior is uniform, as in the reference code, unless ``prior="learn"``.

    Parameters
    ----------
    n_iter : int, default=100
    tol : float, default=1e-6
        Per-answer change of the log-likelihood below which EM stops.
    alpha_prior, log_beta_prior : float, default=1.0
        Means of the Gaussian priors (unit variance), as in the reference code.
    m_steps : int, default=25
        Most rounds of scoring updates (abilities, then easiness) per M-step.
    m_tol : float, default=1e-6
        The M-step stops when no ``alpha`` or ``log beta`` moved by more than this in
        a round. ``m_tol=0`` runs ``m_steps`` rounds.
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
        "m_tol": real(low=0.0),
        "prior": option("uniform", "learn"),
    }

    def __init__(
        self,
        *,
        n_iter: int = 100,
        tol: float = 1e-6,
        alpha_prior: float = 1.0,
        log_beta_prior: float = 1.0,
        m_steps: int = 25,
        m_tol: float = 1e-6,
        prior: str = "uniform",
        init: str = "soft-vote",
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.alpha_prior = alpha_prior
        self.log_beta_prior = log_beta_prior
        self.m_steps = m_steps
        self.m_tol = m_tol
        self.prior = prior
        self.init = init

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        k = ann.n_classes
        w_idx, i_idx = ann.worker, ann.item
        state = {
            "alpha": np.full(ann.n_workers, self.alpha_prior, dtype=np.float64),
            "log_beta": np.full(ann.n_items, self.log_beta_prior, dtype=np.float64),
        }

        def m_step(post: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            p = K.answer_agreement(ann, post)  # P(answer correct)
            alpha, log_beta = state["alpha"], state["log_beta"]
            for _ in range(self.m_steps):
                beta = np.exp(log_beta)
                alpha, moved_a = ascend(
                    alpha, beta[i_idx], w_idx, p, self.alpha_prior, ann.n_workers, False
                )
                log_beta, moved_b = ascend(
                    log_beta, alpha[w_idx], i_idx, p, self.log_beta_prior, ann.n_items, True
                )
                if max(moved_a, moved_b) < self.m_tol:
                    break
            state["alpha"], state["log_beta"] = alpha, log_beta
            prior = K.class_prior(post) if self.prior == "learn" else np.full(k, 1.0 / k)
            return alpha, log_beta, prior

        def e_step(params: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, float]:
            return K.log_normalize(glad_logits(ann, *params))

        post, (alpha, log_beta, prior) = self._run(ann, gold, m_step, e_step)
        self.alphas_ = alpha
        self.betas_ = np.exp(log_beta)
        self.priors_ = prior
        self.skills_ = expit(alpha)
        return post

    def _extra_worker_columns(self) -> dict[str, np.ndarray]:
        return {"alpha": self.alphas_}


def glad_logits(
    ann: Annotations, alpha: np.ndarray, log_beta: np.ndarray, prior: np.ndarray
) -> np.ndarray:
    """The E-step's unnormalised log-posteriors of ``ann``'s items: a right answer has
    log-probability ``log sigmoid(alpha_w beta_i)``, a wrong one
    ``log sigmoid(-alpha_w beta_i) - log(K - 1)``; plus the log class prior.

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    alpha : numpy.ndarray, shape (n_workers,)
        Ability of each worker.
    log_beta : numpy.ndarray, shape (n_items,)
        Log easiness of each item.
    prior : numpy.ndarray, shape (n_classes,)
        Class prior.

    Returns
    -------
    numpy.ndarray, shape (n_items, n_classes)
    """
    k = ann.n_classes
    z = alpha[ann.worker] * np.exp(log_beta)[ann.item]
    if k < 2:
        right = wrong = np.zeros_like(z)
    else:
        right, wrong = log_expit(z), log_expit(-z) - np.log(k - 1)
    return K.coin_log_scores(ann, right, wrong) + np.log(prior)


def fit_sums(z: np.ndarray, p: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Per owner (worker or item): the expected complete log-likelihood of its answers,
    ``sum p log sigmoid(z) + (1 - p) log sigmoid(-z)`` (constants dropped).

    Parameters
    ----------
    z : numpy.ndarray, shape (n_answers,)
        ``alpha_w beta_i`` of each answer.
    p : numpy.ndarray, shape (n_answers,)
        Posterior probability that each answer is right.
    owner : numpy.ndarray of int, shape (n_answers,)
        Owner (worker or item code) of each answer.
    n : int
        Number of owners.

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    fit = p * log_expit(z) + (1.0 - p) * log_expit(-z)
    return np.bincount(owner, weights=fit, minlength=n)


def scoring_sums(
    value: np.ndarray, other: np.ndarray, owner: np.ndarray, p: np.ndarray, n: int,
    log_scale: bool,
) -> np.ndarray:
    """Per owner, the answer sums of one Fisher-scoring step: rows gradient, expected
    information and objective (:func:`fit_sums`) of the likelihood part, at
    ``z = value[owner] * other`` (``value = exp(theta)`` if ``log_scale``, else
    ``theta``). Sums over any split of the answers add up to the whole's.

    Parameters
    ----------
    value : numpy.ndarray, shape (n,)
        Each owner's parameter, on the scale of ``z``.
    other : numpy.ndarray, shape (n_answers,)
        The other factor of ``z`` for each answer.
    owner : numpy.ndarray of int, shape (n_answers,)
        Owner (worker or item code) of each answer.
    p : numpy.ndarray, shape (n_answers,)
        Posterior probability that each answer is right.
    n : int
        Number of owners.
    log_scale : bool
        Whether the parameter is ``log(value)`` (item easiness) rather than ``value``.

    Returns
    -------
    numpy.ndarray, shape (3, n)
        Gradient, expected information and objective of each owner.
    """
    z = value[owner] * other
    s = expit(z)
    dz = other * value[owner] if log_scale else other  # d z / d theta
    return np.stack([
        np.bincount(owner, weights=(p - s) * dz, minlength=n),
        np.bincount(owner, weights=s * (1.0 - s) * dz * dz, minlength=n),
        fit_sums(z, p, owner, n),
    ])


def safeguarded_step(
    theta: np.ndarray, sums: np.ndarray, mean: float, fit_at: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, float]:
    """One safeguarded Fisher-scoring step on one block of GLAD parameters from their
    :func:`scoring_sums`: the unit-variance Gaussian prior around ``mean`` is added to
    the gradient, information and objective; the objective is separable over owners,
    so each owner's step is halved (at most 30 times) until its own objective does not
    decrease, ``fit_at(trial)`` giving the likelihood part (:func:`fit_sums`) at trial
    parameters. The update never lowers the M-step objective. Returns the new
    parameters and the largest absolute change.

    Parameters
    ----------
    theta : numpy.ndarray, shape (n,)
        Current parameters.
    sums : numpy.ndarray, shape (3, n)
        Their :func:`scoring_sums`.
    mean : float
        Mean of the Gaussian prior.
    fit_at : callable
        Likelihood part of each owner's objective at trial parameters.

    Returns
    -------
    theta : numpy.ndarray, shape (n,)
        New parameters, within ``[-20, 20]``.
    change : float
        Largest absolute change.
    """
    step = (sums[0] - (theta - mean)) / (sums[1] + 1.0)
    before = sums[2] - 0.5 * (theta - mean) ** 2
    scale = np.ones(theta.shape[0])
    for _ in range(30):
        trial = np.clip(theta + scale * step, -20.0, 20.0)
        after = fit_at(trial) - 0.5 * (trial - mean) ** 2
        worse = after < before - 1e-12 * np.abs(before)
        if not worse.any():
            break
        scale[worse] *= 0.5
    else:
        trial = np.where(worse, theta, trial)
    return trial, float(np.abs(trial - theta).max(initial=0.0))


def ascend(
    theta: np.ndarray,
    other: np.ndarray,
    owner: np.ndarray,
    p: np.ndarray,
    mean: float,
    n: int,
    log_scale: bool,
) -> tuple[np.ndarray, float]:
    """:func:`safeguarded_step` on parameters whose answers are all at hand: ``z =
    v[owner] * other`` for each answer, ``v = exp(theta)`` if ``log_scale`` (item
    easiness) else ``theta`` (worker ability).

    Parameters
    ----------
    theta : numpy.ndarray, shape (n,)
        Current parameters.
    other : numpy.ndarray, shape (n_answers,)
        The other factor of ``z`` for each answer.
    owner : numpy.ndarray of int, shape (n_answers,)
        Owner (worker or item code) of each answer.
    p : numpy.ndarray, shape (n_answers,)
        Posterior probability that each answer is right.
    mean : float
        Mean of the Gaussian prior.
    n : int
        Number of owners.
    log_scale : bool
        Whether ``theta`` is a log scale (item easiness).

    Returns
    -------
    theta : numpy.ndarray, shape (n,)
    change : float
    """
    link = np.exp if log_scale else (lambda t: t)
    sums = scoring_sums(link(theta), other, owner, p, n, log_scale)
    return safeguarded_step(
        theta, sums, mean, lambda trial: fit_sums(link(trial)[owner] * other, p, owner, n)
    )
