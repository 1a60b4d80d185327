"""DeQA-Score's discretisation of a Gaussian opinion distribution over rating levels
(You et al., CVPR 2025): the level probabilities that keep the mean exactly, with the
official fallback to the two levels around the mean.

:func:`deqa_level_probs` is the raw form (plain arrays, optionally unnormalised as in the
official code); the helpers here are shared by the rest of :mod:`softlabels.infer.ratings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import ndtr

from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.validation import check_float, check_option

__all__ = ["DENSITIES", "MAX_STD_STEPS", "RENORMALIZE", "affine", "as_vector", "check_levels",
           "deqa_labels", "deqa_level_probs", "discretise", "prepare_gaussians"]

DENSITIES = ("pdf", "cdf")
RENORMALIZE = ("project", "divide")
#: standard deviations above this many level steps are treated as this many: the soft
#: label no longer changes at that scale, and larger values lose floating-point precision.
MAX_STD_STEPS = 1e3
_SQRT_2PI = np.sqrt(2.0 * np.pi)


def check_levels(levels: Any, name: str = "levels") -> np.ndarray:
    """Finite, strictly monotone, equally spaced numbers (at least two).

    Parameters
    ----------
    levels : array-like
        The rating value of each level.
    name : str, default 'levels'
        Name of the argument, used in the error messages.

    Returns
    -------
    numpy.ndarray
        The levels as a 1-D float64 array.

    Raises
    ------
    InvalidParameterError
        When the levels are not numbers, fewer than two, not 1-D, not finite, not
        strictly increasing or decreasing, or not equally spaced.
    """
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
        raise InvalidParameterError(f"{name} must be finite; got {_shown(lv)}.")
    gaps = np.diff(lv)
    if not ((gaps > 0).all() or (gaps < 0).all()):
        raise InvalidParameterError(
            f"{name} must be strictly increasing or decreasing; got {_shown(lv)}."
        )
    # equal within 1e-9 of the step, or within the rounding of the levels themselves
    slack = 1e-9 * abs(gaps[0]) + 16 * np.finfo(np.float64).eps * float(np.abs(lv).max())
    uneven = np.flatnonzero(np.abs(gaps - gaps[0]) > slack)
    if uneven.size:
        i = int(uneven[0])
        raise InvalidParameterError(
            f"{name} must be equally spaced (the DeQA discretisation assumes one level "
            f"step); the step from level {i} to {i + 1} is {gaps[i]:g}, the first is "
            f"{gaps[0]:g}; got {_shown(lv)}."
        )
    return lv


def _shown(lv: np.ndarray, head: int = 5) -> str:
    """The levels for an error message: all of a short list, the ends of a long one."""
    if lv.size <= 2 * head:
        return str(lv.tolist())
    ends = ", ".join(f"{v:g}" for v in lv[:head]) + ", ..., " + ", ".join(
        f"{v:g}" for v in lv[-2:])
    return f"[{ends}] ({lv.size:,} levels)"


def as_vector(values: Any, name: str, n: int | None = None) -> np.ndarray:
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
def discretise(
    mu: np.ndarray, sd: np.ndarray, lv: np.ndarray, density: str
) -> tuple[np.ndarray, np.ndarray]:
    """Unnormalised level weights p (n, K) and their derivative in the mean.

    ``pdf``: the density at each level; ``cdf``: the Gaussian mass of the interval of
    one level step centred on each level (the outer intervals are not extended).

    Parameters
    ----------
    mu : numpy.ndarray, shape (n,)
        Mean of each item's Gaussian.
    sd : numpy.ndarray, shape (n,)
        Standard deviation of each item's Gaussian, positive.
    lv : numpy.ndarray, shape (K,)
        Equally spaced levels.
    density : str
        ``"pdf"`` or ``"cdf"`` (any other value is taken as ``"cdf"``).

    Returns
    -------
    p, dp : numpy.ndarray, shape (n, K)
        The weights and their derivative in ``mu``.
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


def affine(
    p: np.ndarray, dp: np.ndarray, mu: np.ndarray, lv: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The (alpha, beta) with ``sum_x (alpha p_x + beta) = 1`` and
    ``sum_x x (alpha p_x + beta) = mu``.

    ``alpha = (mu - xbar) / sum_x (x - xbar) p_x`` with ``xbar`` the centre of the
    levels. At ``mu = xbar`` both terms vanish and any alpha solves the equations; the
    continuous limit ``1 / d/dmu sum_x (x - xbar) p_x`` is used there.

    Parameters
    ----------
    p : numpy.ndarray, shape (n, K)
        Unnormalised level weights, from :func:`discretise`.
    dp : numpy.ndarray, shape (n, K)
        Their derivative in the mean.
    mu : numpy.ndarray, shape (n,)
        Mean of each item.
    lv : numpy.ndarray, shape (K,)
        Equally spaced levels.

    Returns
    -------
    alpha, beta : numpy.ndarray, shape (n,)
        Scale and offset of each item's adjusted weights.
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
def deqa_labels(
    mu: np.ndarray,
    sd: np.ndarray,
    lv: np.ndarray,
    density: str,
    min_std: float,
    max_mean_shift: float,
    renormalize: str | None,
) -> tuple[np.ndarray, np.ndarray]:
    """DeQA labels over ascending levels ``lv``; thresholds in level steps. Rows whose
    adjustment is not finite (a spread far below the level step) fall back.

    Parameters
    ----------
    mu : numpy.ndarray, shape (n,)
        Mean rating of each item.
    sd : numpy.ndarray, shape (n,)
        Standard deviation of each item's rating; clipped to ``[1e-3, MAX_STD_STEPS]``
        level steps.
    lv : numpy.ndarray, shape (K,)
        Ascending, equally spaced levels.
    density : str
        ``"pdf"`` or ``"cdf"``, as in :func:`discretise`.
    min_std : float
        Rows with ``sd`` below this many level steps fall back to the two levels around
        the mean.
    max_mean_shift : float
        Rows whose clipped label moves the mean by more than this many level steps fall
        back the same way.
    renormalize : str or None
        ``"project"`` (the nearest distribution with the right mean), ``"divide"``
        (divide by the sum) or None (leave the clipped weights as they are).

    Returns
    -------
    q : numpy.ndarray, shape (n, K)
        The soft label of each item.
    binary : numpy.ndarray of bool, shape (n,)
        Whether each row fell back to the two levels around its mean.
    """
    step = lv[1] - lv[0]
    sd_eff = np.clip(sd, 1e-3 * step, MAX_STD_STEPS * step)
    p, dp = discretise(mu, sd_eff, lv, density)
    alpha, beta = affine(p, dp, mu, lv)
    q = np.maximum(alpha[:, None] * p + beta[:, None], 0.0)
    # the clipped label's mean error in level steps, with the levels numbered 1..L as the
    # official code's 1..5: q may sum to more than 1, so on the written scale the error
    # would move with the scale's origin (1..5 written as 0..4 would fall back elsewhere)
    pos = (lv - lv[0]) / step + 1.0
    shift = np.abs(q @ pos - ((mu - lv[0]) / step + 1.0))
    binary = (sd < min_std * step) | ~(shift <= max_mean_shift)
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


def prepare_gaussians(
    mean: Any,
    std: Any,
    levels: Any,
    density: str,
    min_std: float,
    max_mean_shift: float,
    owner: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    check_option(density, "density", owner, DENSITIES)
    check_float(min_std, "min_std", owner, low=0.0)
    check_float(max_mean_shift, "max_mean_shift", owner, low=0.0)
    lv = check_levels(levels)
    descending = bool(lv[1] < lv[0])
    asc = lv[::-1] if descending else lv
    mu = as_vector(mean, "mean")
    sd = as_vector(std, "std", n=mu.shape[0])
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
        check_option(renormalize, "renormalize", "deqa_level_probs", RENORMALIZE)
    mu, sd, asc, descending = prepare_gaussians(
        mean, std, levels, density, min_std, max_mean_shift, "deqa_level_probs"
    )
    q, binary = deqa_labels(mu, sd, asc, density, min_std, max_mean_shift, renormalize)
    return (q[:, ::-1] if descending else q), binary
