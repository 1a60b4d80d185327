"""Ratings: numeric scores (1-5 stars, 0-100 sliders, quality scores) as soft labels.

Two parts:

* **Score distributions to soft labels and back** (DeQA-Score, You et al., CVPR 2025).
  A Gaussian opinion distribution ``N(mean, std**2)`` per item becomes a distribution over
  K equally spaced rating levels that keeps the mean exactly;
  :func:`soft_labels_to_gaussian` recovers the mean and the standard deviation.
* **Aggregation of crowd ratings** (long format ``item, worker, rating``):
  :class:`RatingAggregator` gives per-item estimates (mean, median, or a
  reliability-weighted estimate from a Gaussian model with one noise variance per
  worker), their standard errors, per-worker variances, and the soft labels over levels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from softlabels.core.validation import check_float, check_int, check_option, check_probs
from softlabels.core.annotations import Annotations, _sort_order, as_annotations
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import SoftLabels
from softlabels.infer.base import BaseInferrer

__all__ = [
    "deqa_level_probs",
    "gaussian_to_soft_labels",
    "soft_labels_to_gaussian",
    "normalize_scores",
    "RatingAggregator",
]

_DENSITIES = ("pdf", "cdf")
_RENORMALIZE = ("project", "divide")
#: standard deviations above this many level steps are treated as this many: the soft
#: label no longer changes at that scale, and larger values lose floating-point precision.
_MAX_STD_STEPS = 1e3
_SQRT_2PI = np.sqrt(2.0 * np.pi)
#: how many sign changes of the residual are refined when inverting a label
_N_VALLEYS = 3


# ---------------------------------------------------------------------- levels
def _check_levels(levels: Any, name: str = "levels") -> np.ndarray:
    """Finite, strictly monotone, equally spaced numbers (at least two)."""
    try:
        lv = np.asarray(levels, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"{name} must be numbers (the rating value of each level); got {levels!r}."
        ) from None
    if lv.ndim != 1 or lv.size < 2:
        raise InvalidParameterError(
            f"{name} must be a 1-D list of at least two rating values; got shape {lv.shape}."
        )
    if not np.isfinite(lv).all():
        raise InvalidParameterError(f"{name} must be finite; got {lv.tolist()}.")
    gaps = np.diff(lv)
    if not ((gaps > 0).all() or (gaps < 0).all()):
        raise InvalidParameterError(
            f"{name} must be strictly increasing or decreasing; got {lv.tolist()}."
        )
    if not np.allclose(gaps, gaps[0], rtol=1e-9, atol=0.0):
        raise InvalidParameterError(
            f"{name} must be equally spaced (the DeQA discretisation assumes one level "
            f"step); got {lv.tolist()}."
        )
    return lv


def _as_vector(values: Any, name: str, n: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numeric.") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InputError(f"{name} must be 1-D (one value per item); got shape {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise InputError(f"{name} has {arr.shape[0]} values but there are {n} items.")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise InputError(f"{name} has {bad.size} non-finite values (first at row {bad[0]}).")
    return arr


# ---------------------------------------------------------------------- DeQA core
def _discretise(
    mu: np.ndarray, sd: np.ndarray, lv: np.ndarray, density: str
) -> tuple[np.ndarray, np.ndarray]:
    """Unnormalised level weights p (n, K) and their derivative in the mean.

    ``pdf``: the density at each level; ``cdf``: the Gaussian mass of the interval of
    one level step centred on each level (the outer intervals are not extended).
    """
    step = abs(lv[1] - lv[0])
    s = sd[:, None]
    z = (lv[None, :] - mu[:, None]) / s
    if density == "pdf":
        p = np.exp(-0.5 * z * z) / (_SQRT_2PI * s)
        dp = p * z / s
    else:
        h = 0.5 * step / s
        p = ndtr(z + h) - ndtr(z - h)
        lo = np.exp(-0.5 * (z - h) ** 2) / _SQRT_2PI
        hi = np.exp(-0.5 * (z + h) ** 2) / _SQRT_2PI
        dp = (lo - hi) / s
    return p, dp


def _affine(
    p: np.ndarray, dp: np.ndarray, mu: np.ndarray, lv: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The (alpha, beta) with ``sum_x (alpha p_x + beta) = 1`` and
    ``sum_x x (alpha p_x + beta) = mu``.

    ``alpha = (mu - xbar) / sum_x (x - xbar) p_x`` with ``xbar`` the centre of the
    levels. At ``mu = xbar`` both terms vanish and any alpha solves the equations; the
    continuous limit ``1 / d/dmu sum_x (x - xbar) p_x`` is used there.
    """
    step = abs(lv[1] - lv[0])
    xbar = lv.mean()
    dev = lv[None, :] - xbar
    g = (dev * p).sum(axis=1)
    gp = (dev * dp).sum(axis=1)
    d = mu - xbar
    at_centre = np.abs(d) <= 1e-6 * step
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = 1.0 / np.where(at_centre, gp, 1.0)
        alpha = np.where(at_centre, limit, d / np.where(at_centre, 1.0, g))
        beta = (1.0 - alpha * p.sum(axis=1)) / lv.size
    return alpha, beta


def _binary_probs(mu: np.ndarray, lv: np.ndarray) -> np.ndarray:
    """Linear interpolation between the two levels around ``mu`` (levels ascending)."""
    k = lv.size
    t = np.clip((mu - lv[0]) / (lv[1] - lv[0]), 0.0, k - 1.0)
    i = np.minimum(np.floor(t).astype(np.int64), k - 2)
    f = t - i
    q = np.zeros((mu.size, k))
    rows = np.arange(mu.size)
    q[rows, i] = 1.0 - f
    q[rows, i + 1] += f
    return q


def _project(u: np.ndarray, mu: np.ndarray, lv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean projection of each row of ``u`` onto the distributions over ``lv``
    with mean ``mu``.

    The projection is ``q = max(u + a + b x, 0)`` where (a, b) minimise the convex dual
    ``phi(a, b) = sum max(u + a + b x, 0)^2 / 2 - a - b mu``, whose gradient is
    (mass - 1, mean - mu). Damped Newton with backtracking, on the unfinished rows only;
    rows of ``u`` that already are such distributions come back unchanged. Returns the
    labels and a mask of rows where the iteration did not converge.
    """
    n = u.shape[0]
    scale = float(np.abs(lv).max()) + 1.0
    a = np.zeros(n)
    b = np.zeros(n)

    def parts(rows: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
        q = np.maximum(u[rows] + a[:, None] + b[:, None] * lv[None, :], 0.0)
        phi = 0.5 * (q * q).sum(axis=1) - a - b * mu[rows]
        return q, phi, q.sum(axis=1) - 1.0, q @ lv - mu[rows]

    def converged(f1: np.ndarray, f2: np.ndarray) -> np.ndarray:
        return (np.abs(f1) <= 1e-12) & (np.abs(f2) <= 1e-12 * scale)

    rows = np.arange(n)
    q, phi, f1, f2 = parts(rows, a, b)
    keep = ~converged(f1, f2)
    rows, q, phi, f1, f2 = rows[keep], q[keep], phi[keep], f1[keep], f2[keep]
    for _ in range(100):
        if rows.size == 0:
            break
        act = q > 0.0
        j11 = act.sum(axis=1) + 1e-12
        j12 = np.where(act, lv[None, :], 0.0).sum(axis=1)
        j22 = np.where(act, lv[None, :] ** 2, 0.0).sum(axis=1) + 1e-12 * scale**2
        det = j11 * j22 - j12 * j12
        det = np.where(det > 0, det, 1.0)
        da = -(j22 * f1 - j12 * f2) / det
        db = -(j11 * f2 - j12 * f1) / det
        step = np.ones(rows.size)
        for _ in range(40):  # backtracking until phi does not increase
            qn, phin, f1n, f2n = parts(rows, a[rows] + step * da, b[rows] + step * db)
            worse = phin > phi + 1e-15 * (1.0 + np.abs(phi))
            if not worse.any():
                break
            step = np.where(worse, 0.5 * step, step)
        a[rows] += step * da
        b[rows] += step * db
        q, phi, f1, f2 = qn, phin, f1n, f2n
        keep = ~converged(f1, f2)
        rows, q, phi, f1, f2 = rows[keep], q[keep], phi[keep], f1[keep], f2[keep]
    failed = np.zeros(n, dtype=bool)
    failed[rows] = True
    out = np.maximum(u + a[:, None] + b[:, None] * lv[None, :], 0.0)
    return out, failed


@np.errstate(divide="ignore", invalid="ignore", over="ignore")
def _deqa(
    mu: np.ndarray,
    sd: np.ndarray,
    lv: np.ndarray,
    density: str,
    min_std: float,
    max_mean_shift: float,
    renormalize: str | None,
) -> tuple[np.ndarray, np.ndarray]:
    """DeQA labels over ascending levels ``lv``; thresholds in level steps. Rows whose
    adjustment is not finite (a spread far below the level step) fall back."""
    step = lv[1] - lv[0]
    sd_eff = np.clip(sd, 1e-3 * step, _MAX_STD_STEPS * step)
    p, dp = _discretise(mu, sd_eff, lv, density)
    alpha, beta = _affine(p, dp, mu, lv)
    q = np.maximum(alpha[:, None] * p + beta[:, None], 0.0)
    shift = np.abs(q @ lv - mu)
    binary = (sd < min_std * step) | ~(shift <= max_mean_shift * step)
    if renormalize == "project":
        u = alpha[:, None] * p + beta[:, None]
        clipped = ~binary & (u < 0.0).any(axis=1)
        if clipped.any():
            fixed, failed = _project(u[clipped], mu[clipped], lv)
            q[clipped] = fixed
            binary[np.flatnonzero(clipped)[failed]] = True
    elif renormalize == "divide":
        total = q.sum(axis=1, keepdims=True)
        q = np.divide(q, total, out=np.zeros_like(q), where=total > 0)
    if binary.any():
        q[binary] = _binary_probs(mu[binary], lv)
    return q, binary


def _prepare(
    mean: Any,
    std: Any,
    levels: Any,
    density: str,
    min_std: float,
    max_mean_shift: float,
    owner: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    check_option(density, "density", owner, _DENSITIES)
    check_float(min_std, "min_std", owner, low=0.0)
    check_float(max_mean_shift, "max_mean_shift", owner, low=0.0)
    lv = _check_levels(levels)
    descending = bool(lv[1] < lv[0])
    asc = lv[::-1] if descending else lv
    mu = _as_vector(mean, "mean")
    sd = _as_vector(std, "std", n=mu.shape[0])
    if (sd < 0).any():
        r = int(np.flatnonzero(sd < 0)[0])
        raise InputError(f"std must be non-negative; row {r} is {sd[r]:.6g}.")
    tol = 1e-9 * (asc[-1] - asc[0])
    out = np.flatnonzero((mu < asc[0] - tol) | (mu > asc[-1] + tol))
    if out.size:
        r = int(out[0])
        raise InputError(
            f"mean must lie within the levels [{asc[0]:g}, {asc[-1]:g}]; row {r} is "
            f"{mu[r]:.6g} ({out.size} such rows). Rescale the scores first "
            "(normalize_scores) or widen the levels."
        )
    return np.clip(mu, asc[0], asc[-1]), sd, asc, descending


def deqa_level_probs(
    mean: Any,
    std: Any,
    *,
    levels: Sequence[float] = (1, 2, 3, 4, 5),
    density: str = "pdf",
    min_std: float = 0.2,
    max_mean_shift: float = 0.1,
    renormalize: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """DeQA-Score level probabilities as plain arrays, with the fallback flags.

    The raw form of :func:`gaussian_to_soft_labels`: with ``renormalize=None`` (the
    default) it is the official soft-label builder, whose rows may sum to slightly more
    than 1 (up to about 1.07) after negative values are clipped.

    Parameters
    ----------
    mean, std : array-like of shape (n_items,)
        The Gaussian opinion distribution of each item, on the scale of ``levels``.
    levels : sequence of float, default=(1, 2, 3, 4, 5)
        Equally spaced rating values, one per output column, in column order (the
        official code orders them from "excellent" (5) to "bad" (1); the order changes
        only the columns).
    density : {"pdf", "cdf"}, default="pdf"
        ``"pdf"``: the Gaussian density at each level (the official choice for
        large-spread data sets, KonIQ and KADID); ``"cdf"``: the Gaussian mass of the
        interval of one level step around each level (SPAQ, small spreads).
    min_std, max_mean_shift : float, default=0.2 and 0.1
        The fallback thresholds, in units of the level step (the official values for
        levels 1..5).
    renormalize : {None, "project", "divide"}, default=None
        What to do when clipping breaks the total mass: nothing (official); project
        the unclipped label onto the distributions with the right mean (``"project"``:
        mass 1 and the mean exact, see :func:`gaussian_to_soft_labels`); or divide by
        the row sum (``"divide"``: the mean moves).

    Returns
    -------
    probs : ndarray of shape (n_items, n_levels)
    binary : ndarray of shape (n_items,), bool
        Rows that fell back to the two-level interpolation.

    Notes
    -----
    With ``p_x`` the discretised Gaussian, the label is ``q_x = max(alpha p_x + beta, 0)``
    where ``sum_x (alpha p_x + beta) = 1`` and ``sum_x x (alpha p_x + beta) = mean``.
    If ``std < min_std`` or the clipped label's mean is off by more than
    ``max_mean_shift``, the label interpolates linearly between the two levels around
    the mean instead. Two deliberate differences from the official code: at a mean
    exactly at the centre of the levels, where the two equations leave ``alpha`` free
    (0/0; the official code then returns the uniform label), the continuous limit is
    used; and a mean exactly on a level puts all the mass on that level (the official
    code leaves about 1e-8 on the level below).

    Examples
    --------
    >>> probs, binary = deqa_level_probs([3.2, 2.0, 4.3], [0.7, 0.1, 0.6])
    >>> probs.round(2).tolist()
    [[0.0, 0.13, 0.55, 0.3, 0.02], [0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.06, 0.6, 0.34]]
    >>> binary.tolist()
    [False, True, False]
    >>> probs.sum(axis=1).round(4).tolist()  # clipping at level 2 adds mass
    [1.0, 1.0, 1.0072]
    """
    if renormalize is not None:
        check_option(renormalize, "renormalize", "deqa_level_probs", _RENORMALIZE)
    mu, sd, asc, descending = _prepare(
        mean, std, levels, density, min_std, max_mean_shift, "deqa_level_probs"
    )
    q, binary = _deqa(mu, sd, asc, density, min_std, max_mean_shift, renormalize)
    return (q[:, ::-1] if descending else q), binary


def gaussian_to_soft_labels(
    mean: Any,
    std: Any,
    *,
    levels: Sequence[float] = (1, 2, 3, 4, 5),
    density: str = "pdf",
    min_std: float = 0.2,
    max_mean_shift: float = 0.1,
    renormalize: str = "project",
    item_ids: Any = None,
    support: Any = None,
) -> SoftLabels:
    """Soft labels over rating levels from Gaussian opinion distributions (DeQA-Score).

    Parameters
    ----------
    mean, std : array-like of shape (n_items,)
        Mean and standard deviation of each item's scores, on the scale of ``levels``
        (see :func:`normalize_scores` to map a data set's scores there, as DeQA does).
    levels : sequence of float, default=(1, 2, 3, 4, 5)
        Equally spaced rating values; they become the classes, in this order.
    density : {"pdf", "cdf"}, default="pdf"
        How the Gaussian is discretised (see :func:`deqa_level_probs`).
    min_std, max_mean_shift : float, default=0.2 and 0.1
        Fallback thresholds, in level steps (the official values).
    renormalize : {"project", "divide"}, default="project"
        A soft label must sum to 1, which the official labels do not after clipping
        negative values to 0 (their sums reach about 1.07). ``"project"`` takes the
        Euclidean projection of the unclipped label ``alpha p + beta`` onto the
        distributions over the levels with the given mean, ``max(alpha p + beta + a +
        b x, 0)`` with (a, b) solving the two equations, so the total mass is 1 and
        the mean exact, and the label depends continuously on the mean and the spread;
        ``"divide"`` divides the clipped label by its sum (the mean then moves, by up
        to 0.2 level steps). Rows without clipping are the official labels either way.
    item_ids, support : array-like of shape (n_items,), optional
        Passed to :class:`~softlabels.SoftLabels`.

    Returns
    -------
    SoftLabels
        Classes are ``levels``; provenance method ``"deqa-gaussian"``.

    Notes
    -----
    You, Cai, Gu, Xue and Dong, "Teaching Large Language Models to Regress Accurate
    Image Quality Scores using Score Distribution" (CVPR 2025): ``q_x = alpha p_x +
    beta`` with ``p`` the discretised Gaussian, matching the total mass and the mean;
    below ``min_std`` (or when clipping moves the mean too far) the label interpolates
    linearly between the two levels around the mean. See :func:`deqa_level_probs`.
    The inverse is :func:`soft_labels_to_gaussian`.

    Examples
    --------
    >>> s = gaussian_to_soft_labels([3.2, 4.3, 4.9], [0.7, 0.6, 0.5])
    >>> s.probs.round(3).tolist()
    [[0.003, 0.131, 0.549, 0.297, 0.02], [0.0, 0.0, 0.05, 0.599, 0.35], [0.0, 0.0, 0.0, 0.1, 0.9]]
    >>> (s.probs @ s.classes).round(6).tolist()
    [3.2, 4.3, 4.9]
    """
    check_option(renormalize, "renormalize", "gaussian_to_soft_labels", _RENORMALIZE)
    mu, sd, asc, descending = _prepare(
        mean, std, levels, density, min_std, max_mean_shift, "gaussian_to_soft_labels"
    )
    q, _ = _deqa(mu, sd, asc, density, min_std, max_mean_shift, renormalize)
    q /= q.sum(axis=1, keepdims=True)
    lv = _check_levels(levels)
    classes = lv.astype(np.int64) if np.array_equal(lv, np.round(lv)) else lv
    params = {
        "levels": lv.tolist(),
        "density": density,
        "min_std": float(min_std),
        "max_mean_shift": float(max_mean_shift),
        "renormalize": renormalize,
    }
    return SoftLabels(
        q[:, ::-1] if descending else q,
        classes,
        item_ids,
        provenance={"method": "deqa-gaussian", "params": params},
        support=support,
    )


# ---------------------------------------------------------------------- inverse
def _distance(
    q: np.ndarray,
    mu: np.ndarray,
    sd: np.ndarray,
    lv: np.ndarray,
    density: str,
    thresholds: tuple[float, float],
) -> np.ndarray:
    """Squared distance between ``q`` and the DeQA label ("project") of N(mu, sd^2)."""
    fwd, _ = _deqa(mu, sd, lv, density, thresholds[0], thresholds[1], "project")
    return ((fwd - q) ** 2).sum(axis=1)


def _perp(v: np.ndarray, basis: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """The part of ``v`` on the support orthogonal to ``{1, x}`` there."""
    mask, e1, e2 = basis
    va = np.where(mask, v, 0.0)
    return (
        va
        - (va * e1).sum(axis=1, keepdims=True) * e1
        - (va * e2).sum(axis=1, keepdims=True) * e2
    )


def _residual(
    perp_q: np.ndarray,
    basis: tuple[np.ndarray, np.ndarray, np.ndarray],
    curve: np.ndarray,
    mu: np.ndarray,
    sd: np.ndarray,
    lv: np.ndarray,
    density: str,
) -> tuple[np.ndarray, np.ndarray]:
    """How far ``q`` is from ``alpha p + a + b x`` on its support, for some (a, b).

    On the support A of a DeQA label (``"project"``), ``q = alpha p + beta + a + b x``:
    so ``q - alpha p`` is affine in x there. Returns the squared norm of the part of
    ``q - alpha p`` on A orthogonal to ``{1, x}`` (smooth in the spread, zero at the
    spread that made the label) and its signed component along ``curve`` (the
    quadratic direction), which changes sign there.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p, dp = _discretise(mu, sd, lv, density)
        alpha, _ = _affine(p, dp, mu, lv)
        r = perp_q - alpha[:, None] * _perp(p, basis)
        sq = (r * r).sum(axis=1)
        signed = (r * curve).sum(axis=1)
    ok = np.isfinite(sq)
    return np.where(ok, sq, np.inf), np.where(ok, signed, np.nan)


def _golden(fun: Any, a: np.ndarray, b: np.ndarray, n_steps: int = 45) -> np.ndarray:
    """Golden-section search of ``fun(log_std)`` on ``[a, b]``, vectorised over rows."""
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    c = b - ratio * (b - a)
    d = a + ratio * (b - a)
    fc, fd = fun(c), fun(d)
    for _ in range(n_steps):
        left = fc <= fd  # the minimum lies in [a, d]
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        c_new = np.where(left, b - ratio * (b - a), d)
        d_new = np.where(left, c, a + ratio * (b - a))
        f_new = fun(np.where(left, c_new, d_new))
        fc, fd = np.where(left, f_new, fd), np.where(left, fc, f_new)
        c, d = c_new, d_new
    return 0.5 * (a + b)


def _invert_std(
    q: np.ndarray,
    mu: np.ndarray,
    lv: np.ndarray,
    density: str,
    thresholds: tuple[float, float],
    high: float,
) -> np.ndarray:
    """The spread whose DeQA label with mean ``mu`` reproduces ``q``.

    The residual of :func:`_residual` on a log-spaced grid from ``min_std`` to
    ``high``; bisection on up to three sign changes of its signed component and
    golden-section search around two minima of its squared norm; of those candidates,
    the one whose label (fallback rule included) is closest to ``q`` wins.
    """
    low = thresholds[0] * (lv[1] - lv[0])
    n = q.shape[0]
    mask = q > 1e-12
    cnt = mask.sum(axis=1, keepdims=True)
    e1 = np.where(mask, 1.0, 0.0) / np.sqrt(cnt)
    xbar = np.where(mask, lv[None, :], 0.0).sum(axis=1, keepdims=True) / cnt
    dev = np.where(mask, lv[None, :] - xbar, 0.0)
    e2 = dev / np.sqrt((dev * dev).sum(axis=1, keepdims=True))
    basis = (mask, e1, e2)
    perp_q = _perp(q, basis)
    curve = _perp(np.broadcast_to(dev**2, q.shape), basis)
    curve /= np.sqrt((curve * curve).sum(axis=1, keepdims=True))

    def residual(rows: np.ndarray, log_sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sub = (mask[rows], e1[rows], e2[rows])
        return _residual(perp_q[rows], sub, curve[rows], mu[rows], np.exp(log_sd), lv, density)

    everything = np.arange(n)
    grid = np.linspace(np.log(low), np.log(high), 96)
    res = np.empty((n, grid.size))
    sgn = np.empty((n, grid.size))
    for j, g in enumerate(grid):
        res[:, j], sgn[:, j] = residual(everything, np.full(n, g))
    best_sd = np.exp(grid[res.argmin(axis=1)])
    best = _distance(q, mu, best_sd, lv, density, thresholds)

    def keep_if_better(rows: np.ndarray, sd: np.ndarray) -> None:
        d = _distance(q[rows], mu[rows], sd, lv, density, thresholds)
        better = d < best[rows]
        best_sd[rows[better]] = sd[better]
        best[rows[better]] = d[better]

    # zeros of the signed component: grid intervals where it changes sign (bisection),
    # the most promising first; each pass works on the rows that still have one
    change = np.signbit(sgn[:, :-1]) != np.signbit(sgn[:, 1:])
    change &= np.isfinite(sgn[:, :-1]) & np.isfinite(sgn[:, 1:])
    score = np.where(change, np.minimum(res[:, :-1], res[:, 1:]), np.inf)
    for _ in range(_N_VALLEYS):
        j = score.argmin(axis=1)
        rows = np.flatnonzero(np.isfinite(score[everything, j]))
        if rows.size == 0:
            break
        j = j[rows]
        score[rows, j] = np.inf
        a, b = grid[j], grid[j + 1]
        fa = sgn[rows, j]
        for _ in range(45):
            mid = 0.5 * (a + b)
            fm = residual(rows, mid)[1]
            left = np.signbit(fm) != np.signbit(fa)
            b = np.where(left, mid, b)
            a = np.where(left, a, mid)
            fa = np.where(left, fa, fm)
        keep_if_better(rows, np.exp(0.5 * (a + b)))
    # minima of the squared residual that do not cross zero (labels that are not exact)
    padded = np.pad(res, ((0, 0), (1, 1)), constant_values=np.inf)
    score = np.where((res <= padded[:, 2:]) & (res <= padded[:, :-2]), res, np.inf)
    for _ in range(2):
        j = score.argmin(axis=1)
        rows = np.flatnonzero(np.isfinite(score[everything, j]) & (best > 1e-20))
        if rows.size == 0:
            break
        j = j[rows]
        score[rows, j] = np.inf
        lo = grid[np.maximum(j - 1, 0)]
        hi = grid[np.minimum(j + 1, grid.size - 1)]
        found = _golden(lambda x, rows=rows: residual(rows, x)[0], lo, hi)
        keep_if_better(rows, np.exp(found))
    return best_sd


def soft_labels_to_gaussian(
    soft: Any,
    *,
    levels: Sequence[float] | None = None,
    method: str = "invert",
    density: str = "pdf",
    min_std: float = 0.2,
    max_mean_shift: float = 0.1,
) -> pd.DataFrame:
    """Mean and standard deviation of the score distribution behind each soft label.

    Parameters
    ----------
    soft : SoftLabels or array-like of shape (n_items, n_levels)
        Distributions over rating levels (e.g. from :func:`gaussian_to_soft_labels`, or
        a model's predicted probabilities over the level tokens).
    levels : sequence of float, optional
        The rating value of each column. Defaults to the classes of ``soft``.
    method : {"invert", "moments"}, default="invert"
        ``"moments"``: the mean and standard deviation of the discrete distribution
        (DeQA-Score's predicted score and spread). ``"invert"``: the mean as before,
        and the standard deviation whose DeQA label (``density``, ``"project"``
        renormalisation, no fallback) reproduces the soft label, so that
        :func:`gaussian_to_soft_labels` followed by this function returns its input.
    density : {"pdf", "cdf"}, default="pdf"
        The discretisation the labels were made with (``"invert"`` only).
    min_std, max_mean_shift : float, default=0.2 and 0.1
        The fallback thresholds the labels were made with, in level steps (``"invert"``
        only): no smaller spread is searched, and a spread whose label would fall back
        is not returned for a label that did not.

    Returns
    -------
    DataFrame
        ``item, mean, std, binary``, one row per item. ``binary`` marks labels with at
        most two adjacent non-zero levels: the fallback labels of DeQA carry no spread
        information, so ``"invert"`` gives them ``std = NaN``.

    Notes
    -----
    On its support A a DeQA label is ``alpha(std) p(std) + beta + a + b x``, so the
    spread is where ``q - alpha p`` is affine in the level on A: a 1-D root-finding
    problem over ``log std`` from ``min_std`` to 1000 level steps (a grid of 96
    points; bisection on the sign changes of the residual's quadratic component,
    golden-section search on the minima of its squared norm; of the candidates, the
    spread whose label, fallback rule included, is closest to ``q`` wins). For labels
    that did not fall back the label is reproduced to about 1e-10. The spread itself
    is recovered exactly wherever the DeQA map is one-to-one, which it is for labels
    with every level positive and spreads up to a few level steps; beyond that the
    label tends to a fixed quadratic shape, and near the ends of the scale, where
    levels are clipped, two spreads can give the same label (either is returned).
    About 0.2 ms per item.

    Examples
    --------
    >>> s = gaussian_to_soft_labels([3.2, 2.5], [0.7, 0.1])
    >>> g = soft_labels_to_gaussian(s)
    >>> g[["mean", "std"]].round(4).to_numpy().tolist()
    [[3.2, 0.7], [2.5, nan]]
    >>> g["binary"].tolist()
    [False, True]
    """
    owner = "soft_labels_to_gaussian"
    check_option(method, "method", owner, ("invert", "moments"))
    check_option(density, "density", owner, _DENSITIES)
    check_float(min_std, "min_std", owner, low=0.0, low_open=True)
    check_float(max_mean_shift, "max_mean_shift", owner, low=0.0)
    if isinstance(soft, SoftLabels):
        probs, item_ids = soft.probs, soft.item_ids
        if levels is None:
            levels = soft.classes
    else:
        probs = check_probs(soft, name="soft")
        item_ids = np.arange(probs.shape[0])
        if levels is None:
            raise InvalidParameterError(
                "levels must be given when soft is an array (the rating value of each "
                "column)."
            )
    lv = _check_levels(levels)
    if lv.size != probs.shape[1]:
        raise InvalidParameterError(
            f"levels has {lv.size} values but the soft labels have {probs.shape[1]} columns."
        )
    if lv[1] < lv[0]:
        lv, probs = lv[::-1], probs[:, ::-1]
    q = probs / probs.sum(axis=1, keepdims=True)
    mean = q @ lv
    std = np.sqrt(np.maximum(q @ lv**2 - mean**2, 0.0))
    nz = q > 1e-12
    first = nz.argmax(axis=1)
    last = lv.size - 1 - nz[:, ::-1].argmax(axis=1)
    binary = (nz.sum(axis=1) <= 2) & (last - first <= 1)
    if method == "invert":
        std = np.full(q.shape[0], np.nan)
        rows = np.flatnonzero(~binary)
        if rows.size:
            step = lv[1] - lv[0]
            std[rows] = _invert_std(
                q[rows], mean[rows], lv, density, (min_std, max_mean_shift),
                _MAX_STD_STEPS * step,
            )
    return pd.DataFrame({"item": item_ids, "mean": mean, "std": std, "binary": binary})


def normalize_scores(
    mean: Any,
    std: Any = None,
    *,
    low: float | None = None,
    high: float | None = None,
    levels: Sequence[float] = (1, 2, 3, 4, 5),
) -> tuple[np.ndarray, np.ndarray | None]:
    """Map scores linearly from ``[low, high]`` onto the span of ``levels`` (DeQA).

    ``mean' = lo + (hi - lo) (mean - low) / (high - low)`` and
    ``std' = (hi - lo) std / (high - low)``, with ``lo, hi`` the smallest and largest
    level. ``low`` and ``high`` default to the smallest and largest mean (DeQA-Score
    normalises each data set's MOS this way).

    Examples
    --------
    >>> m, s = normalize_scores([10, 55, 100], [9, 18, 0])
    >>> m.tolist(), s.tolist()
    ([1.0, 3.0, 5.0], [0.4, 0.8, 0.0])
    """
    mu = _as_vector(mean, "mean")
    lv = _check_levels(levels)
    lo, hi = float(lv.min()), float(lv.max())
    a = float(mu.min()) if low is None else check_float(low, "low", "normalize_scores")
    b = float(mu.max()) if high is None else check_float(high, "high", "normalize_scores")
    if not b > a:
        raise InvalidParameterError(
            f"normalize_scores needs high > low; got low={a:g}, high={b:g}."
        )
    scale = (hi - lo) / (b - a)
    out_mu = lo + (mu - a) * scale
    if std is None:
        return out_mu, None
    sd = _as_vector(std, "std", n=mu.shape[0])
    return out_mu, sd * scale


# ---------------------------------------------------------------------- aggregation
def _read_ratings(
    answers: Any, item_col: str, worker_col: str, rating_col: str
) -> tuple[Annotations, np.ndarray, np.ndarray]:
    """Validated answers, numeric ratings, and the canonical answer order."""
    if isinstance(answers, Annotations):
        ann = answers
    else:
        ann = as_annotations(
            answers, item_col=item_col, worker_col=worker_col, label_col=rating_col
        )
    classes = ann.classes
    try:
        values = pd.to_numeric(pd.Series(classes), errors="raise").to_numpy(np.float64)
    except (TypeError, ValueError):
        as_num = pd.to_numeric(pd.Series(classes), errors="coerce")
        bad = classes[int(np.flatnonzero(as_num.isna().to_numpy())[0])]
        code = int(np.flatnonzero(classes == bad)[0])
        row = int(np.flatnonzero(ann.label == code)[0])
        raise InputError(
            f"ratings must be numeric; the rating column {rating_col!r} holds {bad!r} "
            f"(data row {row + 1})."
        ) from None
    if not np.isfinite(values).all():
        raise InputError(f"the rating column {rating_col!r} holds infinite values.")
    order = ann.canonical_order()
    return ann, values[ann.label], order


def _infer_levels(r: np.ndarray) -> np.ndarray:
    u = np.unique(r)
    if u.size == 1:
        return u[0] + np.array([-1.0, 0.0, 1.0])
    step = float(np.diff(u).min())
    pos = (u - u[0]) / step
    if np.allclose(pos, np.round(pos), atol=1e-9) and round(pos[-1]) + 1 <= 11:
        return u[0] + step * np.arange(round(pos[-1]) + 1)
    return np.linspace(u[0], u[-1], 5)


def _group_median(item: np.ndarray, r: np.ndarray, n_items: int) -> np.ndarray:
    order = np.lexsort((r, item))
    rs = r[order]
    counts = np.bincount(item, minlength=n_items)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    lo = starts + (counts - 1) // 2
    hi = starts + counts // 2
    return 0.5 * (rs[lo] + rs[hi])


class RatingAggregator(BaseInferrer):
    """Per-item estimates from numeric crowd ratings, and soft labels over levels.

    Parameters
    ----------
    method : {"reliability", "mean", "median"}, default="reliability"
        ``"mean"`` and ``"median"`` of each item's ratings; ``"reliability"``: the
        inverse-variance weighted mean under a Gaussian model with one noise variance
        per worker, fitted by EM (see Notes).
    prior_strength : float, default=10
        ``"reliability"`` only: how many ratings' worth of evidence the shared prior on
        each worker's variance carries. A worker with few ratings keeps a variance near
        the workers' average (harmonic mean); with ``0`` each variance is its own
        expected residual mean square (maximum likelihood).
    n_iter : int, default=100
        Most EM iterations.
    tol : float, default=1e-6
        EM stops when no worker variance changes by more than this fraction.
    levels : None, int or sequence of float, default=None
        The rating levels of the soft labels. ``None``: the observed ratings when they
        lie on an equally spaced grid of at most 11 values, else 5 levels spanning the
        smallest to the largest rating. An int: that many levels over that span.
    uncertainty : {"spread", "std_error"}, default="spread"
        The standard deviation of each item's Gaussian: the spread of its ratings (the
        sample standard deviation, as the MOS std of DeQA-Score; 0 for one rating) or
        the standard error of the estimate.
    density : {"pdf", "cdf"}, default="pdf"
        DeQA discretisation (see :func:`gaussian_to_soft_labels`).

    Attributes
    ----------
    estimates_ : DataFrame
        One row per item: ``item, estimate, std_error, spread, n_ratings, mean, median``.
    workers_ : DataFrame
        One row per worker: ``worker, n_ratings, variance, weight`` (``weight`` is
        ``1 / variance`` relative to its mean over workers; all 1 for mean and median).
    soft_labels_ : SoftLabels
        Gaussian ``N(estimate, uncertainty**2)`` per item as a DeQA soft label over
        ``levels_`` (``"project"`` renormalisation); ``support`` is the number of ratings.
    levels_ : ndarray
    n_iter_ : int
    converged_ : bool

    Notes
    -----
    ``"reliability"`` model: ``r_ij ~ N(mu_i, v_j)`` with a flat prior on each item
    mean and a conjugate prior on each worker's precision ``1 / v_j`` (gamma, worth
    ``prior_strength`` ratings, centred on the workers' average precision
    ``1 / s0^2 = sum_j n_j / v_j / sum_j n_j``, re-estimated each iteration: empirical
    Bayes). EM alternates

    * ``mu_i = sum_j r_ij / v_j / W_i`` with ``W_i = sum_j 1 / v_j``;
    * ``v_j = (sum_i E[(r_ij - mu_i)^2] + prior_strength s0^2) / (n_j + prior_strength)``
      with ``E[(r_ij - mu_i)^2] = (r_ij - mu_i)^2 + 1 / W_i`` (posterior of ``mu_i``).

    The standard error of item i is ``W_i^{-1/2}``. For ``"mean"`` it is
    ``s / sqrt(n_i)`` and for ``"median"`` ``1.2533 s / sqrt(n_i)`` (asymptotic
    efficiency under normality), with ``s`` the pooled within-item standard deviation.

    The default ``prior_strength=10`` was chosen on synthetic crowds (Gaussian and
    Student-t noise, 3 to 10 ratings per item, worker noise levels from equal to 12-fold
    apart; ``benchmarks/infer_ratings.py``): 3 does better when workers differ a lot
    and worse than the plain mean when they do not; 10 stayed within 9% of the best of
    3, 10 and 30 in every setting, and within 1% of the plain mean when all workers are
    equally noisy.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2], "worker": list("abcabc"),
    ...                    "label": [4, 5, 4, 2, 1, 2]})
    >>> agg = RatingAggregator(method="mean").fit(df)
    >>> agg.estimates_["estimate"].round(3).tolist()
    [4.333, 1.667]
    >>> agg.soft_labels_.classes.tolist()
    [1, 2, 3, 4, 5]
    """

    name = "ratings"

    def __init__(
        self,
        *,
        method: str = "reliability",
        prior_strength: float = 10.0,
        n_iter: int = 100,
        tol: float = 1e-6,
        levels: Any = None,
        uncertainty: str = "spread",
        density: str = "pdf",
    ) -> None:
        self.method = method
        self.prior_strength = prior_strength
        self.n_iter = n_iter
        self.tol = tol
        self.levels = levels
        self.uncertainty = uncertainty
        self.density = density

    def _validate_params(self) -> None:
        owner = type(self).__name__
        check_option(self.method, "method", owner, ("reliability", "mean", "median"))
        check_float(self.prior_strength, "prior_strength", owner, low=0.0)
        check_int(self.n_iter, "n_iter", owner, low=1)
        check_float(self.tol, "tol", owner, low=0.0)
        check_option(self.uncertainty, "uncertainty", owner, ("spread", "std_error"))
        check_option(self.density, "density", owner, _DENSITIES)
        if self.levels is not None and not isinstance(self.levels, (int, np.integer)):
            _check_levels(self.levels)
        elif isinstance(self.levels, bool) or (
            self.levels is not None and self.levels < 2
        ):
            raise InvalidParameterError(
                f"The 'levels' parameter of {owner} must be None, an int >= 2 or a list "
                f"of rating values; got {self.levels!r}."
            )

    def fit(
        self,
        answers: Any,
        *,
        item_col: str = "item",
        worker_col: str = "worker",
        rating_col: str = "label",
    ) -> RatingAggregator:
        """Fit on ratings: an :class:`~softlabels.Annotations`, a DataFrame or a file
        path, one row per rating with numeric values in ``rating_col``."""
        self._validate_params()
        ann, ratings, order = _read_ratings(answers, item_col, worker_col, rating_col)
        item = ann.item[order].astype(np.int64)
        worker = ann.worker[order].astype(np.int64)
        r = ratings[order]
        n, m = ann.n_items, ann.n_workers
        n_i = np.bincount(item, minlength=n).astype(np.float64)
        n_j = np.bincount(worker, minlength=m).astype(np.float64)
        mean = np.bincount(item, weights=r, minlength=n) / n_i
        median = _group_median(item, r, n)
        sq = np.bincount(item, weights=(r - mean[item]) ** 2, minlength=n)
        spread = np.sqrt(np.divide(sq, n_i - 1, out=np.zeros(n), where=n_i > 1))
        multi = n_i > 1
        pooled = float(np.sqrt(sq[multi].sum() / (n_i[multi] - 1).sum())) if multi.any() else 0.0
        self.n_iter_, self.converged_ = 0, True
        if self.method == "reliability":
            worker_order = _sort_order(ann.worker_ids)
            estimate, std_error, variance = self._em(item, worker, r, n, m, n_j, worker_order)
            weight = (1.0 / variance) / np.mean((1.0 / variance)[worker_order])
        else:
            estimate = mean if self.method == "mean" else median
            factor = 1.0 if self.method == "mean" else np.sqrt(np.pi / 2.0)
            std_error = factor * pooled / np.sqrt(n_i)
            resid = (r - estimate[item]) ** 2
            variance = np.bincount(worker, weights=resid, minlength=m) / n_j
            weight = np.ones(m)
        self.estimates_ = pd.DataFrame(
            {
                "item": ann.item_ids,
                "estimate": estimate,
                "std_error": std_error,
                "spread": spread,
                "n_ratings": n_i.astype(np.int64),
                "mean": mean,
                "median": median,
            }
        )
        self.workers_ = pd.DataFrame(
            {
                "worker": ann.worker_ids,
                "n_ratings": n_j.astype(np.int64),
                "variance": variance,
                "weight": weight,
            }
        )
        if self.levels is None:
            lv = _infer_levels(r)
        elif isinstance(self.levels, (int, np.integer)):
            lo, hi = float(r.min()), float(r.max())
            if hi == lo:
                lo, hi = lo - 1.0, hi + 1.0
            lv = np.linspace(lo, hi, int(self.levels))
        else:
            lv = _check_levels(self.levels)
        self.levels_ = lv
        sd = spread if self.uncertainty == "spread" else std_error
        soft = gaussian_to_soft_labels(
            estimate,
            sd,
            levels=lv,
            density=self.density,
            item_ids=ann.item_ids,
            support=n_i,
        )
        self.soft_labels_ = soft.with_provenance(
            method=self.name, params=self.get_params()
        )
        return self

    def _em(
        self,
        item: np.ndarray,
        worker: np.ndarray,
        r: np.ndarray,
        n: int,
        m: int,
        n_j: np.ndarray,
        worker_order: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        total_var = float(np.var(r))
        floor = 1e-12 * (total_var if total_var > 0 else 1.0)
        v = np.full(m, total_var if total_var > 0 else 1.0)
        nu0 = float(self.prior_strength)
        converged = False
        it = 0
        share = n_j[worker_order] / n_j.sum()
        for it in range(1, int(self.n_iter) + 1):
            w = 1.0 / v[worker]
            big_w = np.bincount(item, weights=w, minlength=n)
            mu = np.bincount(item, weights=w * r, minlength=n) / big_w
            e2 = (r - mu[item]) ** 2 + 1.0 / big_w[item]
            # prior centre: the answer-weighted harmonic mean of the worker variances
            s0 = 1.0 / float(np.sum(share / v[worker_order]))
            new = (np.bincount(worker, weights=e2, minlength=m) + nu0 * s0) / (n_j + nu0)
            new = np.maximum(new, floor)
            change = float(np.max(np.abs(new / v - 1.0)))
            v = new
            if change <= self.tol:
                converged = True
                break
        w = 1.0 / v[worker]
        big_w = np.bincount(item, weights=w, minlength=n)
        mu = np.bincount(item, weights=w * r, minlength=n) / big_w
        self.n_iter_, self.converged_ = it, converged
        return mu, np.sqrt(1.0 / big_w), v
