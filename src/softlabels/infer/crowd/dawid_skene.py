"""Dawid–Skene with full confusion matrices, and its one-coin special case."""

from __future__ import annotations

import numpy as np

from softlabels.core.validation import n_jobs, option, real
from softlabels.core.annotations import Annotations
from softlabels.core.soft import normalize_rows
from softlabels.infer.base import chance_or
from softlabels.infer.crowd.em import EM_CONSTRAINTS, EMModel
from softlabels.infer import em as K

__all__ = ["DawidSkene", "OneCoinDawidSkene"]


class OneCoinDawidSkene(EMModel):
    """Dawid–Skene with one skill per worker: ``pi[w, k, k] = s_w`` and
    ``pi[w, k, l] = (1 - s_w) / (K - 1)`` for ``l != k``.

    With few answers per worker this is far more stable than full confusion
    matrices. The skill update is the MAP estimate under a Beta(a, b) prior with
    ``a = b = 1 + alpha``: ``s_w = (sum_a T[i_a, l_a] + alpha) / (n_w + 2 alpha)``,
    then floored at ``min_skill``.

    Two defaults differ from textbook EM, both because the one-coin model cannot
    represent a worker's bias towards one class. A learned class prior then absorbs
    that bias and runs away (on a crowd of biased workers it converges to nearly all
    items in one class), so the prior is uniform unless ``prior="learn"``. And a
    biased worker can look worse than chance, which the model would read as
    adversarial and invert; skills are therefore floored at chance, ``1 / K``, unless
    ``min_skill=0``.

    Parameters
    ----------
    n_iter, tol, init : as :class:`DawidSkene`.
    alpha : float, default=0.01
        Pseudo-count for the skills (keeps them inside (0, 1)).
    prior : {"uniform", "learn"}, default="uniform"
        Class prior: fixed uniform, or re-estimated in each M-step.
    min_skill : float or "chance", default="chance"
        Lower bound on skills; ``"chance"`` is ``1 / n_classes``.

    Attributes
    ----------
    skills_ : ndarray of shape (n_workers,)
    priors_ : ndarray of shape (n_classes,)
    """

    name = "one-coin-dawid-skene"
    summary = "EM with one accuracy per worker"
    _parameter_constraints = {
        **EM_CONSTRAINTS,
        "alpha": real(low=0.0),
        "prior": option("uniform", "learn"),
        "min_skill": chance_or(real(low=0.0, high=1.0)),
    }

    def __init__(
        self,
        *,
        n_iter: int = 100,
        tol: float = 1e-6,
        alpha: float = 0.01,
        prior: str = "uniform",
        min_skill: float | str = "chance",
        init: str = "soft-vote",
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.alpha = alpha
        self.prior = prior
        self.min_skill = min_skill
        self.init = init

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        n_w = ann.answers_per_worker
        k = ann.n_classes
        floor = 1.0 / k if self.min_skill == "chance" else float(self.min_skill)
        uniform = np.full(k, 1.0 / k)

        def m_step(post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            agree = K.per_worker_sum(ann, K.answer_agreement(ann, post))
            skills = np.maximum((agree + self.alpha) / (n_w + 2 * self.alpha), floor)
            if k < 2:
                skills = np.ones_like(skills)
            return skills, K.class_prior(post) if self.prior == "learn" else uniform

        def e_step(params: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, float]:
            skills, prior = params
            right = K.safe_log(skills)[ann.worker]
            wrong = K.log_wrong(skills, k)[ann.worker]
            return K.log_normalize(K.coin_log_scores(ann, right, wrong) + np.log(prior))

        post, (skills, prior) = self._run(ann, gold, m_step, e_step)
        self.skills_ = skills
        self.priors_ = prior
        return post


class DawidSkene(EMModel):
    """Dawid & Skene (1979): one confusion matrix per worker, learned by EM.

    E-step: ``log T[i, k] = log rho[k] + sum over answers (i, w, l) of log pi[w, k, l]``;
    M-step: ``pi[w, k, :]`` proportional to the expected counts of w's answers on items
    of class k, plus ``alpha`` pseudo-counts (a symmetric Dirichlet prior: MAP
    estimation); ``rho`` proportional to the posterior mass per class.

    Parameters
    ----------
    n_iter : int, default=100
        Maximum EM iterations (one M-step then one E-step each).
    tol : float, default=1e-6
        Stop when the log-likelihood changes by less than ``tol`` per answer.
        ``tol=0`` runs exactly ``n_iter`` iterations.
    alpha : float, default=0.01
        Dirichlet pseudo-count added to every confusion cell. The small default only
        keeps probabilities away from zero (a worker seen once cannot veto a class);
        raise it to shrink sparse workers towards uniform confusion.
    init : {"soft-vote", "majority-vote", "uniform"}, default="soft-vote"
        Initial posteriors.
    n_jobs : int or None, default=None
        Threads for the E- and M-steps on large inputs (200,000 answers or more):
        None is one, -1 all cores. The result does not depend on it.

    Attributes
    ----------
    confusions_ : ndarray of shape (n_workers, n_classes, n_classes)
        ``confusions_[w, k, l]`` = P(worker w answers l | true class k).
    priors_ : ndarray of shape (n_classes,)
    skills_ : ndarray of shape (n_workers,)
        Expected accuracy ``sum_k priors_[k] * confusions_[w, k, k]``.
    log_likelihood_ : float
    n_iter_, converged_

    References
    ----------
    A. P. Dawid and A. M. Skene, "Maximum likelihood estimation of observer
    error-rates using the EM algorithm", Applied Statistics 28(1), 1979.
    """

    name = "dawid-skene"
    summary = "EM with a full confusion matrix per worker (Dawid & Skene 1979)"
    _parameter_constraints = {
        **EM_CONSTRAINTS,
        "alpha": real(low=0.0),
        "n_jobs": n_jobs,
    }

    def __init__(
        self,
        *,
        n_iter: int = 100,
        tol: float = 1e-6,
        alpha: float = 0.01,
        init: str = "soft-vote",
        n_jobs: int | None = None,
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.alpha = alpha
        self.init = init
        self.n_jobs = n_jobs

    def _memory_bytes(self, n_workers: int, n_classes: int, n_items: int) -> int:
        """Peak bytes of a fit: the (worker, label) x class log table, its exponent and
        the contiguous confusion cube (n_workers * n_classes² each), and the posteriors."""
        return 8 * (3 * n_workers * n_classes**2 + 4 * n_items * n_classes)

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        # Parameters live in the layout the E-step multiplies with: rows are
        # (worker, answered label) pairs, columns true classes, so that
        # log_table[w * K + l, k] = log pi[w, k, l]. No transposes in the loop.
        w, k = ann.n_workers, ann.n_classes
        blocks = K.RowBlocks(ann, K.resolve_n_jobs(self.n_jobs))
        log_table = np.empty((w * k, k))
        post = np.empty((ann.n_items, k))

        def m_block(b: int, post: np.ndarray) -> None:
            """Log confusion rows of one block of workers, in place in log_table."""
            counts = log_table[blocks.pairs[b]]  # a view: written in place
            counts[...] = blocks.pair_item[b] @ post  # expected counts
            counts += self.alpha
            cube = counts.reshape(-1, k, k)  # [w, l, k]
            totals = cube[:, 0, :].copy()  # [w, k]: expected answers of w on class k
            for label in range(1, k):  # a loop over classes beats sum(axis=1) here
                totals += cube[:, label, :]
            if self.alpha <= 0:
                np.maximum(cube, K.TINY, out=cube)
            np.log(cube, out=cube)
            with np.errstate(divide="ignore"):
                cube -= np.log(totals)[:, None, :]
            if self.alpha <= 0:
                rows, cols = np.nonzero(totals <= 0)  # classes a worker never saw
                cube[rows, :, cols] = -np.log(k)  # get a uniform confusion row

        def m_step(current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            blocks.map(lambda b: m_block(b, current))
            return log_table, K.class_prior(current)

        def e_step(params: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, float]:
            table, prior = params
            log_prior = np.log(prior)

            def e_block(b: int) -> float:
                logits = np.asarray(blocks.item_pair[b] @ table)
                logits += log_prior
                post[blocks.items[b]], loglik = K.log_normalize(logits)
                return loglik

            loglik = float(sum(blocks.map(e_block)))
            return post, loglik  # the M-step reads it before the next E-step writes

        with blocks:
            post, (log_table, prior) = self._run(ann, gold, m_step, e_step)
        pi = np.exp(log_table.reshape(w, k, k)).transpose(0, 2, 1)  # [w, k, l]
        self.confusions_ = np.ascontiguousarray(pi)
        self.priors_ = prior
        self.skills_ = np.einsum("wkk,k->w", self.confusions_, prior)
        return post
