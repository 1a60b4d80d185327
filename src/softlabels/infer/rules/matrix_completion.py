"""A label model fitted from the rules' agreement matrix (the idea of snorkel's LabelModel)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment, minimize

from softlabels.core.validation import anything, integer, none_or, option, real
from softlabels.core.errors import InputError
from softlabels.infer.rules.votes import Votes
from softlabels.infer.rules.label_model import (
    RuleLabelModel,
    balance_constraint,
    fixed_prior,
    posterior,
)

__all__ = ["MatrixCompletionLabelModel"]


class MatrixCompletionLabelModel(RuleLabelModel):
    """Label model fitted by matching the second moments of the votes (Ratner et al.
    2019; the method of snorkel's LabelModel), with a bounded quasi-Newton solver.

    With ``mu[j*K + l, y] = P(rule j votes l | Y = y)`` (non-abstain l) and the class
    prior ``P = diag(p)``, conditionally independent rules give, for the observed
    indicator moments ``O = A^T A / n`` (A: items x (rule, class) one-hot votes, abstain
    = all zeros),

    - ``O[r, s] = (mu P mu^T)[r, s]`` for r, s of two different rules, and
    - ``O[r, r] = (mu p)[r]`` (how often the rule votes that class).

    The fit minimises ``sum_{r, s of different rules} (O - mu P mu^T)^2 + ||mu p -
    diag(O)||^2 + l2 ||mu - mu_init||^2``, as snorkel does, plus a penalty that keeps
    each rule's probabilities of voting (``sum_l mu[j*K + l, y]``) at most 1. Where
    snorkel runs 100 steps of SGD from a randomly scaled start, this runs L-BFGS-B
    within the box ``[0, 1]`` to convergence from the start ``mu_init[j*K + y, y] =
    P(rule j votes y) * prec_init / p_y`` (deterministic). The class symmetry is then
    resolved as in snorkel: among classes of equal prior, the column permutation that
    maximises ``sum_j sum_y p_y mu[j*K + y, y]`` (rules better than chance). Entries
    are clipped to ``[min_prob, 1 - min_prob]``. The solver stops at ``tol``: where
    few items leave the objective flat, the same votes with the rules or the classes
    in another order can end a little apart (soft labels up to about 1e-3 apart on
    ten items); on hundreds of items the difference is rounding.

    The posterior is ``P(y | votes) ~ p_y prod_j P(rule j outputs L[i, j] | y)``, with
    the abstain terms ``1 - sum_l mu[j*K + l, y]`` (``abstain="model"``) or without
    them (``abstain="ignore"``: snorkel's ``predict_proba``). Items where every rule
    abstains get the class prior.

    Parameters
    ----------
    classes : int or sequence, optional
        As :class:`LabelModel`. A declared class that no rule votes for keeps its share
        of the fixed class prior, and the moments can be matched by giving it the
        rules' disagreements: items with votes may get it as their most likely class.
        Pass a ``class_balance`` with a small probability for it if it is rare.
    abstain : {"ignore", "model"}, default="ignore"
        Whether the abstain terms enter the posterior (``"ignore"``: snorkel's
        ``predict_proba``).
    class_balance : "uniform" or array-like, default="uniform"
        The fixed class prior ``p``: uniform (snorkel's default) or the given
        probabilities. It is not learned: the moments barely constrain it (on 20,000
        synthetic items with prior (0.7, 0.3) the objective differs by under 0.1 %
        between the true and the uniform prior).
    prec_init : float, default=0.7
        Initial precision of every rule (snorkel's ``prec_init``).
    l2 : float, default=0.0
        Strength of the pull towards ``mu_init``.
    n_iter : int, default=500
        Maximum L-BFGS-B iterations.
    tol : float, default=1e-12
        Relative change of the objective at which the solver stops.
    min_prob : float or None, default=None
        Clip of the fitted probabilities; None is snorkel's default
        ``min(0.01, 10^-ceil(log10 n_items))``.

    Attributes
    ----------
    mu_ : ndarray of shape (n_rules * n_classes, n_classes)
    confusions_ : ndarray of shape (n_rules, n_classes, n_classes + 1)
        ``P(rule j outputs l | y)``, the last column abstain.
    accuracies_ : ndarray of shape (n_rules,)
        Expected fraction of each rule's votes that are correct under the posteriors.
    weights_ : ndarray of shape (n_rules,)
        snorkel's ``get_weights()``: ``sum_y p_y P(vote y | y) / coverage``, clipped to
        ``[1e-6, 1]``.
    class_prior_, coverage_, n_votes_, classes_, rule_names_, soft_labels_, labels_ :
        as :class:`LabelModel`
    objective_ : float
    n_iter_ : int
    converged_ : bool

    References
    ----------
    A. Ratner, B. Hancock, J. Dunnmon, F. Sala, S. Pandey and C. Ré, "Training complex
    models with multi-task weak supervision", AAAI 2019.

    Examples
    --------
    >>> L = [[1, 1, -1], [1, -1, 0], [-1, 0, 0], [0, 0, -1], [1, 1, 1], [0, 0, 0]]
    >>> MatrixCompletionLabelModel().fit(L).labels_.tolist()
    [1, 1, 0, 0, 1, 0]
    """

    name = "rules-matrix-completion"
    summary = "rule accuracies from the votes' agreement matrix (snorkel's method)"
    _parameter_constraints = {
        "classes": anything,  # resolved against the votes in fit
        "abstain": option("model", "ignore"),
        "class_balance": balance_constraint("uniform"),
        "prec_init": real(low=0.0, high=1.0),
        "l2": real(low=0.0),
        "n_iter": integer(low=1),
        "tol": real(low=0.0),
        "min_prob": none_or(real(low=0.0, high=0.5)),
    }

    #: weight of the penalty on probabilities of voting above 1
    _SUM_PENALTY = 10.0

    def __init__(
        self,
        *,
        classes: Any = None,
        abstain: str = "ignore",
        class_balance: Any = "uniform",
        prec_init: float = 0.7,
        l2: float = 0.0,
        n_iter: int = 500,
        tol: float = 1e-12,
        min_prob: float | None = None,
    ) -> None:
        self.classes = classes
        self.abstain = abstain
        self.class_balance = class_balance
        self.prec_init = prec_init
        self.l2 = l2
        self.n_iter = n_iter
        self.tol = tol
        self.min_prob = min_prob

    def _check_votes(self, votes: Votes) -> None:
        if votes.n_rules < 3:
            raise InputError(
                f"L has {votes.n_rules} rules; MatrixCompletionLabelModel needs at least 3 "
                "(the agreements of three rules identify their accuracies). Use LabelModel."
            )
        if not votes.voted.any():
            raise InputError("L: every rule abstains on every item; there is nothing to fit.")

    def _fit(self, votes: Votes) -> np.ndarray:
        k, m, n = votes.n_classes, votes.n_rules, votes.n_items
        d = m * k
        a = votes.annotations.item_pair_matrix
        O = np.asarray((a.T @ a).todense()) / n  # noqa: N806 - the paper's notation
        diag_o = np.diag(O).copy()
        rule_of = np.repeat(np.arange(m), k)
        mask = (rule_of[:, None] != rule_of[None, :]).astype(np.float64)
        fixed = fixed_prior(self.class_balance, votes, "MatrixCompletionLabelModel")
        p = np.full(k, 1.0 / k) if fixed is None else fixed
        mu_init = np.zeros((d, k))
        idx = np.arange(d)
        mu_init[idx, idx % k] = np.clip(diag_o * self.prec_init / p[idx % k], 0.0, 1.0)
        l2, w = float(self.l2), self._SUM_PENALTY

        def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
            mu = x.reshape(d, k)
            mp = mu * p  # mu P
            resid = mask * (O - mp @ mu.T)
            err = mp.sum(axis=1) - diag_o
            over = np.maximum(mu.reshape(m, k, k).sum(axis=1) - 1.0, 0.0)  # (m, K)
            shift = mu - mu_init
            loss = (resid**2).sum() + err @ err + w * (over**2).sum() + l2 * (shift**2).sum()
            g_mu = -4.0 * (resid @ mp) + 2.0 * err[:, None] * p[None, :]
            g_mu += 2.0 * w * np.repeat(over, k, axis=0).reshape(d, k)
            g_mu += 2.0 * l2 * shift
            return float(loss), g_mu.ravel()

        res = minimize(
            objective,
            mu_init.ravel(),
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * (d * k),
            options={"maxiter": int(self.n_iter), "ftol": float(self.tol), "gtol": 1e-14},
        )
        mu, p = _break_symmetry(res.x.reshape(d, k).copy(), p.copy(), m)
        eps = self.min_prob
        if eps is None:
            eps = min(0.01, 10.0 ** -np.ceil(np.log10(max(n, 2))))
        self.mu_ = np.clip(mu, eps, 1.0 - eps)
        self.confusions_ = _confusions(self.mu_, m, eps)
        self._table = self.confusions_
        self.class_prior_ = p
        cover = np.maximum(votes.voted.mean(axis=0), 1e-300)
        right = np.einsum("jyy,y->j", self.confusions_[:, :, :k], p)
        self.weights_ = np.clip(right / cover, 1e-6, 1.0)
        self.objective_ = float(res.fun)
        self.n_iter_ = int(res.nit)
        self.converged_ = bool(res.success)
        return posterior(votes, self._table, p, self._posterior_mode())

    def _posterior_mode(self) -> str:
        return "model" if self.abstain == "model" else "drop"


def _break_symmetry(mu: np.ndarray, p: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Permute classes (columns of mu, entries of p) within groups of equal prior so
    that the rules' summed probability of a correct vote is largest. A group is left as
    the solver aligned it unless a permutation does better beyond rounding: on a tie the
    result does not depend on the order of the classes."""
    k = p.shape[0]
    agree = mu.reshape(m, k, k).sum(axis=0) * p[None, :]  # [voted l, true y]
    perm = np.arange(k)
    rounded = np.round(p, 3)
    for value in np.unique(rounded):
        group = np.flatnonzero(rounded == value)
        if group.size < 2:
            continue
        sub = agree[np.ix_(group, group)]  # rows: voted class, cols: column to place there
        rows, cols = linear_sum_assignment(-sub)
        kept = np.trace(sub)
        if sub[rows, cols].sum() > kept + 1e-9 * max(abs(kept), 1.0):
            perm[group[rows]] = group[cols]
    return mu[:, perm], p[perm]


def _confusions(mu: np.ndarray, m: int, eps: float) -> np.ndarray:
    """(m, K, K + 1) tables from mu: vote probabilities then abstain, rows summing to 1."""
    k = mu.shape[1]
    conf = np.empty((m, k, k + 1))
    votes = mu.reshape(m, k, k).transpose(0, 2, 1)  # [j, y, l]
    total = votes.sum(axis=2, keepdims=True)
    scale = np.minimum(1.0, (1.0 - eps) / np.maximum(total, 1e-300))
    conf[:, :, :k] = votes * scale
    conf[:, :, k] = 1.0 - conf[:, :, :k].sum(axis=2)
    return conf
