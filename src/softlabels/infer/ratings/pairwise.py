"""Pairwise judgements ("a beat b") as per-item scores and soft labels: the
Bradley–Terry and Thurstone (Case V) models.

The functions work on a win matrix ``W`` (``W[i, j]`` = how often item i beat item j,
a tie counting half a win for each side): :func:`win_matrix` builds it from integer
codes, :func:`bradley_terry` and :func:`thurstone` fit the scores (maximum likelihood,
or MAP under a Gaussian prior with ``l2 > 0``), :func:`pairwise_std_errors` gives their
standard errors and :func:`is_strongly_connected` says whether finite maximum-likelihood
scores exist. :class:`BradleyTerry` and :class:`Thurstone` are the estimators, fitted on
a table ``left, right, winner`` (evidence kind ``"pairwise-comparisons"``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import expit, log_expit, log_ndtr, ndtr

from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import SoftLabels
from softlabels.core.validation import check_is_fitted, check_option, integer, option, real
from softlabels.infer.base import BaseInferrer

__all__ = [
    "BradleyTerry",
    "Thurstone",
    "bradley_terry",
    "is_strongly_connected",
    "pairwise_std_errors",
    "thurstone",
    "win_matrix",
    "win_rates",
]

LINKS = ("logistic", "probit")


def win_matrix(left: Any, right: Any, outcome: Any, *, n_items: int | None = None) -> np.ndarray:
    """The win matrix of comparisons given as integer item codes.

    Parameters
    ----------
    left, right : array-like of int, shape (n_comparisons,)
        The two items of each comparison (codes ``0 .. n_items - 1``).
    outcome : array-like of float, shape (n_comparisons,)
        The share of the win that goes to ``left``: 1 (left won), 0 (right won), 0.5 (a
        tie, half a win each); any value in [0, 1] is allowed.
    n_items : int, optional
        Default: one more than the largest code.

    Returns
    -------
    ndarray of shape (n_items, n_items)
        ``W[i, j]``: the wins of i over j.

    Examples
    --------
    >>> win_matrix([0, 0, 1], [1, 2, 2], [1, 0.5, 0]).tolist()
    [[0.0, 1.0, 0.5], [0.0, 0.0, 0.0], [0.5, 1.0, 0.0]]
    """
    a = np.asarray(left)
    b = np.asarray(right)
    w = np.asarray(outcome, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.shape != w.shape:
        raise InputError(
            f"win_matrix: left, right and outcome must be 1-D of one length; got shapes "
            f"{a.shape}, {b.shape} and {w.shape}."
        )
    for name, codes in (("left", a), ("right", b)):
        if codes.size and (not np.issubdtype(codes.dtype, np.integer) or codes.min() < 0):
            raise InputError(f"win_matrix: {name} must hold item codes (ints >= 0).")
    if not np.isfinite(w).all() or ((w < 0) | (w > 1)).any():
        raise InputError("win_matrix: outcome must lie in [0, 1] (1: left won, 0: right won).")
    same = np.flatnonzero(a == b)
    if same.size:
        raise InputError(
            f"win_matrix: comparison {same[0]} compares item {a[same[0]]} with itself."
        )
    k = int(max(a.max(initial=-1), b.max(initial=-1)) + 1) if n_items is None else int(n_items)
    if a.size and max(a.max(), b.max()) >= k:
        raise InputError(f"win_matrix: an item code is >= n_items={k}.")
    W = np.zeros((k, k))
    np.add.at(W, (a, b), w)
    np.add.at(W, (b, a), 1.0 - w)
    return W


def _check_w(W: Any, owner: str) -> np.ndarray:
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] < 2:
        raise InputError(
            f"{owner}: W must be a square win matrix of >= 2 items; got shape {W.shape}."
        )
    if not np.isfinite(W).all() or (W < 0).any():
        raise InputError(f"{owner}: W must hold finite win counts >= 0.")
    if np.diag(W).any():
        raise InputError(f"{owner}: W has wins of an item over itself (non-zero diagonal).")
    return W


def is_strongly_connected(W: Any) -> bool:
    """Whether the "beat" graph (an edge i → j when i beat j at least once, ties counting
    both ways) is strongly connected: the condition (Ford 1957) under which the
    maximum-likelihood Bradley–Terry and Thurstone scores are finite.

    Parameters
    ----------
    W : array-like of shape (n_items, n_items)
        Wins of i over j (see :func:`win_matrix`): finite, non-negative, at least two
        items and a zero diagonal (otherwise :class:`InputError`).

    Returns
    -------
    bool
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    W = _check_w(W, "is_strongly_connected")
    n, _ = connected_components(csr_matrix(W > 0), directed=True, connection="strong")
    return bool(n == 1)


def win_rates(W: Any) -> np.ndarray:
    """Each item's share of wins over its comparisons (NaN for an item never compared):
    the plain baseline the models improve on when items meet opponents of unequal strength.

    Parameters
    ----------
    W : array-like of shape (n_items, n_items)
        Wins of i over j, as for :func:`is_strongly_connected`.

    Returns
    -------
    ndarray of shape (n_items,)
    """
    W = _check_w(W, "win_rates")
    games = W.sum(axis=1) + W.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return W.sum(axis=1) / games


def _pair_terms(W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The compared pairs ``i < j`` with the wins of i and the number of comparisons."""
    N = W + W.T
    i, j = np.nonzero(np.triu(N, 1))
    return i, j, W[i, j], N[i, j]


def _log_lik(theta: np.ndarray, pairs: tuple, link: str, l2: float) -> float:
    i, j, w, n = pairs
    d = theta[i] - theta[j]
    logf = log_expit if link == "logistic" else log_ndtr
    return float((w * logf(d) + (n - w) * logf(-d)).sum() - 0.5 * l2 * theta @ theta)


def _derivatives(theta: np.ndarray, pairs: tuple, link: str, l2: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and the negative Hessian of the (penalised) log-likelihood."""
    i, j, w, n = pairs
    k = theta.size
    d = theta[i] - theta[j]
    if link == "logistic":
        p = expit(d)
        g = w - n * p
        h = n * p * (1.0 - p)
    else:
        lam_p = np.exp(-0.5 * d * d - 0.5 * np.log(2 * np.pi) - log_ndtr(d))  # phi/Phi at d
        lam_m = np.exp(-0.5 * d * d - 0.5 * np.log(2 * np.pi) - log_ndtr(-d))
        g = w * lam_p - (n - w) * lam_m
        h = w * lam_p * (d + lam_p) + (n - w) * lam_m * (lam_m - d)
    grad = np.bincount(i, g, minlength=k) - np.bincount(j, g, minlength=k) - l2 * theta
    info = np.zeros((k, k))
    np.add.at(info, (i, j), -h)
    info += info.T
    info[np.diag_indices(k)] = -info.sum(axis=1) + l2
    return grad, info


def _solve(info: np.ndarray, grad: np.ndarray, l2: float) -> np.ndarray:
    if l2 > 0:
        return np.linalg.solve(info, grad)
    k = grad.size
    # the likelihood is flat along the all-ones direction: add it back to the system, the
    # step then has mean 0 (the gradient sums to 0)
    return np.linalg.solve(info + np.full((k, k), 1.0 / k), grad)


def _check_fit_args(W: Any, l2: float, max_iter: int, tol: float, owner: str) -> np.ndarray:
    W = _check_w(W, owner)
    l2 = float(l2)
    if not np.isfinite(l2) or l2 < 0:
        raise InvalidParameterError(f"{owner}: l2 must be a finite number >= 0; got {l2!r}.")
    if int(max_iter) < 1 or float(tol) < 0:
        raise InvalidParameterError(f"{owner}: max_iter must be >= 1 and tol >= 0.")
    if l2 == 0 and not is_strongly_connected(W):
        raise InputError(
            f"{owner}: the comparisons have no finite maximum-likelihood scores: the "
            "'beat' graph is not strongly connected (some items never lose, never win, "
            "or are never compared with the rest). Set l2 > 0 (a Gaussian prior on the "
            "scores) to get finite MAP scores."
        )
    return W


def _newton(W: np.ndarray, link: str, l2: float, max_iter: int, tol: float
            ) -> tuple[np.ndarray, int, bool]:
    pairs = _pair_terms(W)
    theta = np.zeros(W.shape[0])
    value = _log_lik(theta, pairs, link, l2)
    for it in range(1, max_iter + 1):
        grad, info = _derivatives(theta, pairs, link, l2)
        step = _solve(info, grad, l2)
        t = 1.0
        while True:  # backtracking: the log-likelihood is concave, a short step gains
            new = theta + t * step
            new_value = _log_lik(new, pairs, link, l2)
            if new_value >= value - 1e-12 * abs(value) or t < 1e-10:
                break
            t *= 0.5
        theta, value = new, new_value
        if np.max(np.abs(t * step)) <= tol:
            return theta - (theta.mean() if l2 == 0 else 0.0), it, True
    return theta - (theta.mean() if l2 == 0 else 0.0), max_iter, False


def bradley_terry(W: Any, *, method: str = "newton", l2: float = 0.0, max_iter: int = 1000,
                  tol: float = 1e-10) -> tuple[np.ndarray, int, bool]:
    """Bradley–Terry scores from a win matrix.

    The model is ``P(i beats j) = sigmoid(theta_i - theta_j)`` (Bradley & Terry 1952;
    Zermelo 1929). The scores maximise the log-likelihood ``sum_ij W_ij log
    sigmoid(theta_i - theta_j)``, minus ``l2 / 2 * ||theta||^2`` when ``l2 > 0`` (MAP under
    a ``N(0, 1 / l2)`` prior, finite for any comparisons).

    Parameters
    ----------
    W : array-like of shape (n_items, n_items)
        Wins of i over j (see :func:`win_matrix`).
    method : {"newton", "mm"}, default="newton"
        Newton's method with backtracking, or the minorise–maximise iterations of Hunter
        (2004) ``pi_i <- w_i / sum_j N_ij / (pi_i + pi_j)`` (Zermelo's; maximum likelihood
        only, so ``l2`` must be 0).
    l2 : float, default=0
        Strength of the Gaussian prior. With 0 the maximum-likelihood scores must exist
        (:func:`is_strongly_connected`), else an :class:`InputError` says to set ``l2 > 0``.
    max_iter, tol : int and float
        Stop when no score moves by more than ``tol``.

    Returns
    -------
    theta : ndarray of shape (n_items,)
        The scores (mean 0 for maximum likelihood, where only differences are identified).
    n_iter : int
    converged : bool

    Examples
    --------
    Two items, 3 wins to 1: the log-odds 3 : 1 split around 0.

    >>> theta, _, _ = bradley_terry([[0, 3], [1, 0]])
    >>> theta.round(4).tolist(), round(float(np.log(3) / 2), 4)
    ([0.5493, -0.5493], 0.5493)
    """
    check_option(method, "method", "bradley_terry", ("newton", "mm"))
    W = _check_fit_args(W, l2, max_iter, tol, "bradley_terry")
    if method == "newton":
        return _newton(W, "logistic", float(l2), int(max_iter), float(tol))
    if float(l2) > 0:
        raise InvalidParameterError(
            "bradley_terry: method='mm' fits the maximum-likelihood scores only; use "
            "method='newton' for l2 > 0."
        )
    wins = W.sum(axis=1)
    N = W + W.T
    theta = np.zeros(W.shape[0])
    for it in range(1, int(max_iter) + 1):
        pi = np.exp(theta)
        denom = (N / (pi[:, None] + pi[None, :])).sum(axis=1)
        new = np.log(wins / denom)
        new -= new.mean()
        moved = float(np.max(np.abs(new - theta)))
        theta = new
        if moved <= tol:
            return theta, it, True
    return theta, int(max_iter), False


def thurstone(W: Any, *, l2: float = 0.0, max_iter: int = 1000, tol: float = 1e-10
              ) -> tuple[np.ndarray, int, bool]:
    """Thurstone Case V scores from a win matrix: ``P(i beats j) = Phi(theta_i -
    theta_j)`` (Thurstone 1927; each item's perceived value is ``N(theta_i, 1/2)``, so
    their difference has unit variance), fitted by maximum likelihood (or MAP with
    ``l2 > 0``) with Newton's method. Parameters and returns as :func:`bradley_terry`.

    Parameters
    ----------
    W : array-like of shape (n_items, n_items)
        Wins of i over j (see :func:`win_matrix`): finite, non-negative, at least two
        items and a zero diagonal (otherwise :class:`InputError`).
    l2 : float >= 0, default=0.0
        Strength of the Gaussian prior. With 0 the maximum-likelihood scores must exist
        (:func:`is_strongly_connected`), else an :class:`InputError` says to set ``l2 > 0``.
    max_iter : int >= 1, default=1000
    tol : float >= 0, default=1e-10
        Stop when no score moves by more than ``tol``.

    Returns
    -------
    theta : ndarray of shape (n_items,)
        The scores (mean 0 for maximum likelihood).
    n_iter : int
    converged : bool

    Examples
    --------
    >>> theta, _, _ = thurstone([[0, 3], [1, 0]])
    >>> from scipy.stats import norm
    >>> round(float(theta[0] - theta[1]), 4), round(float(norm.ppf(0.75)), 4)
    (0.6745, 0.6745)
    """
    W = _check_fit_args(W, l2, max_iter, tol, "thurstone")
    return _newton(W, "probit", float(l2), int(max_iter), float(tol))


def pairwise_std_errors(W: Any, theta: Any, *, link: str = "logistic", l2: float = 0.0
                        ) -> np.ndarray:
    """Standard errors of fitted scores: the square roots of the diagonal of the inverse
    Fisher information (the negative Hessian of the penalised log-likelihood) at
    ``theta``. With ``l2 = 0`` the information is singular along the common shift; its
    pseudo-inverse is the covariance of the scores constrained to mean 0.

    Parameters
    ----------
    W : array-like of shape (n_items, n_items)
        Wins of i over j (see :func:`win_matrix`): finite, non-negative, at least two
        items and a zero diagonal (otherwise :class:`InputError`).
    theta : array-like of shape (n_items,)
        The fitted scores.
    link : {"logistic", "probit"}, default="logistic"
        ``"logistic"`` (Bradley–Terry, :func:`bradley_terry`) or ``"probit"``
        (Thurstone, :func:`thurstone`).
    l2 : float, default=0.0
        The prior strength the scores were fitted with.

    Returns
    -------
    ndarray of shape (n_items,)
    """
    check_option(link, "link", "pairwise_std_errors", LINKS)
    W = _check_w(W, "pairwise_std_errors")
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (W.shape[0],):
        raise InputError(
            f"pairwise_std_errors: theta must have one score per item ({W.shape[0]}); "
            f"got shape {theta.shape}."
        )
    _, info = _derivatives(theta, _pair_terms(W), link, float(l2))
    cov = np.linalg.inv(info) if l2 > 0 else np.linalg.pinv(info, hermitian=True)
    return np.sqrt(np.clip(np.diag(cov), 0.0, None))


def _read_comparisons(table: Any, left_col: str, right_col: str, winner_col: str, owner: str
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Item ids (sorted) and the codes and outcomes of each comparison."""
    if not isinstance(table, pd.DataFrame):
        raise InputError(
            f"{owner}.fit takes a DataFrame with columns {left_col}, {right_col}, "
            f"{winner_col}; got {type(table).__name__}."
        )
    missing = [c for c in (left_col, right_col, winner_col) if c not in table.columns]
    if missing:
        raise InputError(
            f"the comparisons have no {', '.join(map(repr, missing))} column (columns: "
            f"{list(table.columns)}); give {left_col}, {right_col} and {winner_col} (the "
            "winning item's id, empty for a tie)."
        )
    if len(table) == 0:
        raise InputError(f"{owner}.fit: the comparison table is empty.")
    left = table[left_col].to_numpy()
    right = table[right_col].to_numpy()
    winner = table[winner_col].to_numpy()
    if pd.isna(left).any() or pd.isna(right).any():
        row = int(np.flatnonzero(pd.isna(left) | pd.isna(right))[0])
        raise InputError(f"{owner}.fit: comparison row {row} has a missing item id.")
    tie = pd.isna(winner)
    left_won = ~tie & (winner == left)
    right_won = ~tie & (winner == right)
    bad = np.flatnonzero(~tie & ~left_won & ~right_won)
    if bad.size:
        r = int(bad[0])
        raise InputError(
            f"{owner}.fit: comparison row {r} ({left[r]!r} vs {right[r]!r}) names the "
            f"winner {winner[r]!r}, which is neither item ({bad.size} such rows); the "
            f"{winner_col!r} column must hold one of the two ids, or be empty for a tie."
        )
    same = np.flatnonzero(left == right)
    if same.size:
        raise InputError(
            f"{owner}.fit: comparison row {int(same[0])} compares {left[same[0]]!r} with itself."
        )
    ids = pd.unique(np.concatenate([left, right]))
    try:
        ids = np.sort(ids)
    except TypeError:
        ids = ids[np.argsort([str(v) for v in ids], kind="stable")]
    index = pd.Index(ids)
    outcome = np.where(tie, 0.5, left_won.astype(np.float64))
    return ids, index.get_indexer(left), index.get_indexer(right), outcome


class _PairwiseModel(BaseInferrer):
    """Shared fit of :class:`BradleyTerry` and :class:`Thurstone`."""

    evidence: ClassVar[str] = "pairwise-comparisons"
    _link: ClassVar[str] = "logistic"
    _parameter_constraints = {
        "l2": real(low=0.0),
        "threshold": real(),
        "max_iter": integer(low=1),
        "tol": real(low=0.0),
    }

    def _fit_theta(self, W: np.ndarray) -> tuple[np.ndarray, int, bool]:
        raise NotImplementedError

    def fit(self, comparisons: pd.DataFrame, /, *, left_col: str = "left",
            right_col: str = "right", winner_col: str = "winner") -> _PairwiseModel:
        """Fit on a DataFrame with one row per comparison: the two items' ids and the
        winner's id (missing, e.g. None or NaN, for a tie: half a win each)."""
        self._validate_params()
        owner = type(self).__name__
        ids, a, b, outcome = _read_comparisons(comparisons, left_col, right_col, winner_col, owner)
        W = win_matrix(a, b, outcome, n_items=ids.size)
        if ids.size < 2:
            raise InputError(f"{owner}.fit: the comparisons name fewer than 2 items.")
        theta, self.n_iter_, self.converged_ = self._fit_theta(W)
        se = pairwise_std_errors(W, theta, link=self._link, l2=float(self.l2))
        games = W.sum(axis=1) + W.sum(axis=0)
        self.item_ids_, self.theta_, self.std_errors_, self.win_matrix_ = ids, theta, se, W
        self.scores_ = pd.DataFrame({
            "item": ids, "score": theta, "std_error": se,
            "n_comparisons": games, "wins": W.sum(axis=1), "win_rate": W.sum(axis=1) / games,
        })
        z = (theta - float(self.threshold)) / np.where(se > 0, se, np.inf)
        above = np.where(se > 0, ndtr(z), (theta > float(self.threshold)).astype(np.float64))
        self.soft_labels_ = SoftLabels(
            np.column_stack([1.0 - above, above]), np.array([0, 1]), ids,
            provenance=self._provenance(), support=games,
        )
        return self

    def _prob(self, d: np.ndarray) -> np.ndarray:
        return expit(d) if self._link == "logistic" else ndtr(d)

    def predict_proba(self, a: Any, b: Any) -> np.ndarray:
        """Soft labels of new pairs: an array ``(n_pairs, 2)`` whose columns are
        P(``a`` beats ``b``) and P(``b`` beats ``a``), for item ids seen in ``fit``."""
        check_is_fitted(self, "theta_")
        index = pd.Index(self.item_ids_)
        codes = []
        for name, ids in (("a", a), ("b", b)):
            ids = np.atleast_1d(np.asarray(ids, dtype=object))
            c = index.get_indexer(ids)
            if (c < 0).any():
                raise InputError(
                    f"{type(self).__name__}.predict_proba: item {ids[c < 0][0]!r} (in {name}) "
                    "was not in the comparisons it was fitted on."
                )
            codes.append(c)
        if codes[0].shape != codes[1].shape:
            raise InputError("predict_proba: a and b must have the same length.")
        p = self._prob(self.theta_[codes[0]] - self.theta_[codes[1]])
        return np.column_stack([p, 1.0 - p])


_MODEL_DOC = """

    Parameters
    ----------
{extra}    l2 : float, default=0
        Strength of a Gaussian prior ``N(0, 1 / l2)`` on the scores (MAP). With 0 the
        maximum-likelihood scores, which exist only when every item has both won and lost
        within one strongly connected comparison graph (else a clear error).
    threshold : float, default=0
        The soft label of an item is P(score > threshold) under the normal approximation
        ``N(score_, std_error_**2)``; classes ``[0, 1]`` (1: above). With ``l2 = 0`` the
        scores have mean 0, so the default reads "better than the average item".
    max_iter, tol : int and float, default=1000 and 1e-10

    Attributes
    ----------
    scores_ : DataFrame
        One row per item (ids sorted): ``item, score, std_error, n_comparisons, wins,
        win_rate``.
    theta_, std_errors_ : ndarray of shape (n_items,)
    item_ids_ : ndarray
    win_matrix_ : ndarray of shape (n_items, n_items)
    soft_labels_ : SoftLabels
        P(score <= threshold), P(score > threshold) per item; support: comparisons.
    n_iter_ : int
    converged_ : bool

    Notes
    -----
    The fit is dense: a ``(n_items, n_items)`` win matrix and Newton steps that cost
    ``O(n_items^3)``, for up to a few thousand items.
"""


class BradleyTerry(_PairwiseModel):
    """Per-item scores and soft labels from pairwise judgements (Bradley–Terry).

    ``P(a beats b) = sigmoid(theta_a - theta_b)`` (Bradley & Terry 1952), fitted with
    :func:`bradley_terry`; the standard errors come from the Fisher information. LEGIT
    (Seth et al., "Learning the Legibility of Visual Text Perturbations", EACL 2023)
    trains its legibility scorer with this model on the score difference.
    """

    __doc__ = (__doc__ or "").rstrip() + _MODEL_DOC.format(extra=(
        '    method : {"newton", "mm"}, default="newton"\n'
        '        See :func:`bradley_terry` (``"mm"`` needs ``l2 = 0``).\n'))
    name: ClassVar[str] = "bradley-terry"
    summary: ClassVar[str] = "per-item scores from pairwise judgements (Bradley-Terry)"
    _link: ClassVar[str] = "logistic"
    _parameter_constraints = {**_PairwiseModel._parameter_constraints,
                              "method": option("newton", "mm")}

    def __init__(self, *, method: str = "newton", l2: float = 0.0, threshold: float = 0.0,
                 max_iter: int = 1000, tol: float = 1e-10) -> None:
        self.method = method
        self.l2 = l2
        self.threshold = threshold
        self.max_iter = max_iter
        self.tol = tol

    def _fit_theta(self, W: np.ndarray) -> tuple[np.ndarray, int, bool]:
        return bradley_terry(W, method=self.method, l2=self.l2, max_iter=self.max_iter,
                             tol=self.tol)


class Thurstone(_PairwiseModel):
    """Per-item scores and soft labels from pairwise judgements (Thurstone Case V).

    ``P(a beats b) = Phi(theta_a - theta_b)`` (Thurstone, "A law of comparative
    judgment", 1927), fitted with :func:`thurstone`; otherwise as :class:`BradleyTerry`.
    """

    __doc__ = (__doc__ or "").rstrip() + _MODEL_DOC.format(extra="")
    name: ClassVar[str] = "thurstone"
    summary: ClassVar[str] = "per-item scores from pairwise judgements (Thurstone Case V)"
    _link: ClassVar[str] = "probit"

    def __init__(self, *, l2: float = 0.0, threshold: float = 0.0, max_iter: int = 1000,
                 tol: float = 1e-10) -> None:
        self.l2 = l2
        self.threshold = threshold
        self.max_iter = max_iter
        self.tol = tol

    def _fit_theta(self, W: np.ndarray) -> tuple[np.ndarray, int, bool]:
        return thurstone(W, l2=self.l2, max_iter=self.max_iter, tol=self.tol)
