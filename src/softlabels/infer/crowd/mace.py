"""MACE: Multi-Annotator Competence Estimation (Hovy et al., 2013)."""

from __future__ import annotations

import numpy as np
from scipy.special import digamma

from softlabels.core.validation import (
    check_random_state,
    integer,
    none_or,
    option,
    random_state,
    real,
)
from softlabels.core.annotations import Annotations
from softlabels.core.soft import normalize_rows
from softlabels.infer import em as K
from softlabels.infer.crowd.em import EMModel

__all__ = ["MACE"]


class MACE(EMModel):
    """Each worker knows the answer with probability ``theta_w`` (competence) and
    otherwise spams from a personal distribution ``xi_w`` over the classes.

    P(answer l | truth k) = ``theta_w [l = k] + (1 - theta_w) xi_w[l]``. EM over the truth and the spamming indicators; with
    ``method="vb"`` (the default, as in the reference tool) the M-step is the
    variational Bayes update under ``theta ~ Beta(alpha, beta)`` and
    ``xi ~ Dirichlet(xi_prior)``; with ``method="em"`` it is the smoothed
    maximum-likelihood update.

    Initialisation: the first run starts from the vote proportions (as
    Dawid–Skene does); ``n_restarts`` further runs start from random parameters near
    the uniform ones, as in the reference tool. The run with the highest log
    marginal likelihood is kept. The default of no random restarts keeps the result
    independent of the order of workers; raise it to guard against poor local optima.

    Parameters
    ----------
    n_iter : int, default=50
        EM iterations per run.
    tol : float, default=1e-8
        Per-answer change of the log-likelihood below which a run stops. The
        variational updates creep: the likelihood can change by under 1e-6 per answer
        while posteriors still move (on the duchenne set, stopping there costs 1.3
        points of accuracy); the reference tool runs all its iterations instead.
        ``tol=0`` does that here too.
    n_restarts : int, default=0
    method : {"vb", "em"}, default="vb"
    alpha, beta : float, default=0.5
        Beta prior on competence (``alpha`` on knowing, ``beta`` on spamming).
    xi_prior : float, default=10.0
        Symmetric Dirichlet prior on the spamming distributions.
    smoothing : float, default=None
        Added to expected counts with ``method="em"``; None means ``0.01 / n_classes``.
    prior : {"learn", "uniform"}, default="learn"
        The class prior. The reference tool keeps it uniform; on imbalanced data the
        model then prefers explaining the majority class's answers as spam (a
        solution of higher likelihood under a uniform prior, and far lower
        accuracy), so it is re-estimated in each M-step by default, as in
        Dawid–Skene. MACE's spamming distributions capture worker bias, so a learned
        prior does not run away as it does in the one-coin model.
    random_state : int, Generator or None, default=0

    Attributes
    ----------
    competence_ : ndarray of shape (n_workers,)
        ``theta_w``; also ``skills_``.
    spamming_ : ndarray of shape (n_workers, n_classes)
        ``xi_w``, each row a distribution.
    log_likelihood_ : float

    References
    ----------
    D. Hovy, T. Berg-Kirkpatrick, A. Vaswani, E. Hovy, "Learning whom to trust with
    MACE", NAACL-HLT 2013.
    """

    name = "mace"
    summary = "EM with worker competence and spamming behaviour (Hovy et al. 2013)"
    _parameter_constraints = {
        "n_iter": integer(low=1),
        "tol": real(low=0.0),
        "n_restarts": integer(low=0),
        "method": option("vb", "em"),
        "alpha": real(low=0.0, low_open=True),
        "beta": real(low=0.0, low_open=True),
        "xi_prior": real(low=0.0, low_open=True),
        "smoothing": none_or(real(low=0.0)),
        "prior": option("learn", "uniform"),
        "random_state": random_state,
    }

    def __init__(
        self,
        *,
        n_iter: int = 50,
        tol: float = 1e-8,
        n_restarts: int = 0,
        method: str = "vb",
        alpha: float = 0.5,
        beta: float = 0.5,
        xi_prior: float = 10.0,
        smoothing: float | None = None,
        prior: str = "learn",
        random_state: int | np.random.Generator | None = 0,
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.n_restarts = n_restarts
        self.method = method
        self.alpha = alpha
        self.beta = beta
        self.xi_prior = xi_prior
        self.smoothing = smoothing
        self.prior = prior
        self.random_state = random_state

    def _memory_bytes(self, n_workers: int, n_classes: int, n_items: int) -> int:
        """Peak bytes of a fit: the confusion cube, its logarithm and the expected
        confusion counts (n_workers * n_classes² each), and the posteriors."""
        return 8 * (3 * n_workers * n_classes**2 + 4 * n_items * n_classes)

    def _smoothing(self, k: int) -> float:
        return 0.01 / k if self.smoothing is None else float(self.smoothing)

    def _update(self, know: np.ndarray, spam: np.ndarray, n_w: np.ndarray,
                class_mass: np.ndarray) -> tuple[np.ndarray, ...]:
        """Parameters (theta, 1 - theta, xi, class prior) from the expected counts:
        per worker the answers given knowingly (``know``) and, per label, by spamming
        (``spam``); ``class_mass`` is the posterior mass per class."""
        k = spam.shape[1]
        if self.method == "vb":
            total = digamma(n_w + self.alpha + self.beta)
            theta = np.exp(digamma(know + self.alpha) - total)
            not_theta = np.exp(digamma(n_w - know + self.beta) - total)
            xi = np.exp(
                digamma(spam + self.xi_prior)
                - digamma(spam.sum(axis=1, keepdims=True) + k * self.xi_prior)
            )
        else:
            smoothing = self._smoothing(k)
            theta = (know + smoothing) / (n_w + 2 * smoothing)
            not_theta = 1.0 - theta
            xi = normalize_rows(spam + smoothing)
        return theta, not_theta, xi, K.class_prior(class_mass[None, :])

    @staticmethod
    def _expected_counts(c: np.ndarray, params: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
        """From the expected confusion counts ``c[w, k, l]``: answers given knowingly
        per worker, and answers given by spamming per worker and label."""
        theta, not_theta, xi = params[:3]
        n_wl = c.sum(axis=1)  # answers of w with label l
        correct = np.diagonal(c, axis1=1, axis2=2)  # mass on truth == answer
        p_know = theta[:, None] / (theta[:, None] + not_theta[:, None] * xi)
        know_wl = correct * p_know
        return know_wl.sum(axis=1), np.maximum(n_wl - know_wl, 0.0)

    @staticmethod
    def _log_pi(params: tuple[np.ndarray, ...]) -> np.ndarray:
        """log P(answer l | class k) per worker, ``[w, k, l]``."""
        theta, not_theta, xi = params[:3]
        w, k = xi.shape
        pi = np.broadcast_to((not_theta[:, None] * xi)[:, None, :], (w, k, k)).copy()
        pi[:, np.eye(k, dtype=bool)] += theta[:, None]
        return K.safe_log(pi)

    def _log_prior(self, params: tuple[np.ndarray, ...], k: int) -> np.ndarray | float:
        return np.log(params[3]) if self.prior == "learn" else -np.log(k)

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        k = ann.n_classes
        n_w = ann.answers_per_worker

        def update(know: np.ndarray, spam: np.ndarray, post: np.ndarray):  # type: ignore[no-untyped-def]
            return self._update(know, spam, n_w, post.sum(axis=0))

        def expected_counts(post: np.ndarray, params) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
            return self._expected_counts(K.confusion_counts(ann, post), params)

        def e_step(params) -> tuple[np.ndarray, float]:  # type: ignore[no-untyped-def]
            scores = K.confusion_log_scores(ann, self._log_pi(params))
            return K.log_normalize(scores + self._log_prior(params, k))

        def one_run(init_params) -> tuple[np.ndarray, object, int, bool, float]:  # type: ignore[no-untyped-def]
            current = {"params": init_params}

            def m_step(post: np.ndarray):  # type: ignore[no-untyped-def]
                know, spam = expected_counts(post, current["params"])
                current["params"] = update(know, spam, post)
                return current["params"]

            init_post, _ = e_step(init_params)
            return K.run_em(
                init_post, m_step, e_step, gold=gold, n_iter=self.n_iter, tol=self.tol,
                n_answers=ann.n_answers, callback=self._callback,
            )

        # first run: parameters estimated from the vote proportions
        vote = normalize_rows(ann.counts)
        flat = (np.full(ann.n_workers, 0.5), np.full(ann.n_workers, 0.5),
                np.full((ann.n_workers, k), 1.0 / k))
        start = update(*expected_counts(vote, flat), vote)
        runs = [one_run(start)]
        rng = check_random_state(self.random_state)
        for _ in range(self.n_restarts):
            know = rng.uniform(1.0, 1.5, size=(ann.n_workers, 2))
            know /= know.sum(axis=1, keepdims=True)
            xi = normalize_rows(rng.uniform(1.0, 1.5, size=(ann.n_workers, k)))
            runs.append(one_run((know[:, 0], know[:, 1], xi, np.full(k, 1.0 / k))))
        best = max(range(len(runs)), key=lambda r: runs[r][4])
        post, params, it, converged, objective = runs[best]
        theta, not_theta, xi, prior = params
        self.priors_ = prior if self.prior == "learn" else np.full(k, 1.0 / k)
        self.n_iter_, self.converged_, self.log_likelihood_ = it, converged, objective
        self.competence_ = theta / (theta + not_theta)
        self.spamming_ = normalize_rows(xi)
        self.skills_ = self.competence_
        return post

    def _extra_worker_columns(self) -> dict[str, np.ndarray]:
        return {"competence": self.competence_}
