"""Conformal prediction: sets of classes (multi-class) and sets of label-sets (multi-label)
that contain the true answer with a guaranteed probability.

Split conformal prediction needs a classifier that was *not* fitted on a held-out
calibration set, its predicted probabilities on that set and the true labels there.
Calibration turns the probabilities of the true labels into non-conformity scores
(higher = stranger) and takes their finite-sample quantile :math:`\\hat q`
(:func:`conformal_quantile`); a new item's set holds every label whose score is at most
:math:`\\hat q`. When calibration and test items are exchangeable,
``P(y in set) >= 1 - alpha`` for any model, marginally over items and calibration sets
(Vovk, Gammerman and Shafer 2005; Lei et al. 2018).

Scores (:func:`nonconformity_scores`; ``pi_(1) >= pi_(2) >= ...`` is the row sorted in
decreasing order, ties broken towards the lower class index, ``o(y)`` the 1-based rank of
``y``, ``rho(y) = sum_{j < o(y)} pi_(j)`` the mass ranked strictly above ``y``):

* ``"lac"`` (Sadinle, Lei and Wasserman 2019): ``1 - p_y``.
* ``"aps"`` (Romano, Sesia and Candès 2020): randomised ``rho(y) + u * p_y`` with
  ``u ~ Uniform(0, 1)``; it runs from the mass strictly above ``y`` (``u = 0``, the
  non-randomised score) to the mass up to and including ``y`` (``u = 1``).
* ``"raps"`` (Angelopoulos, Bates, Malik and Jordan 2021): the APS score plus
  ``lam * max(0, o(y) - k_reg)``; unless given, ``k_reg`` and ``lam`` are chosen on
  30% of the calibration items, held out, as in the authors' code, by the mean set
  size (for randomised sets, the expected rather than one sampled size), and the
  threshold comes from the rest.

:class:`LabelPowersetICP` is the inductive conformal predictor over label-sets for
multi-label data (Maltoudoglou et al. 2022), with an exact pruned enumeration of the
label-sets whose p-value exceeds the significance level.
"""

from __future__ import annotations

import heapq
import math
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import numpy as np

from softlabels.core.validation import (
    check_float,
    check_int,
    check_labels,
    check_option,
    check_pred_probs,
    check_random_state,
)
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.base import BaseEstimator

__all__ = [
    "conformal_quantile",
    "nonconformity_scores",
    "SplitConformalClassifier",
    "LabelPowersetICP",
    "LabelSetRegions",
    "coverage",
    "mean_set_size",
]

Score = Literal["lac", "aps", "raps"]
Norm = Literal["l2", "l1"]
_SCORES = ("lac", "aps", "raps")
_NORMS = ("l2", "l1")

#: Values of ``lam`` tried when RAPS chooses it (the grid of the official RAPS code,
#: ``pick_lamda_size``); the one with the smallest mean set size on the held-out items
#: wins (for randomised sets, the size expected over the uniform draws).
RAPS_LAMBDA_GRID = (0.001, 0.01, 0.1, 0.2, 0.5)
#: Share of the calibration items set aside to choose ``k_reg`` and ``lam`` when either
#: is None (``pct_paramtune`` of the official RAPS code); rounded up.
RAPS_TUNE_FRACTION = 0.3
#: Most values of ``k_reg`` tried when it is chosen by set size (beyond this many, a
#: geometric grid from 1 to the official choice).
RAPS_MAX_K_TRIED = 10


# --------------------------------------------------------------------- small helpers
def _exact(alpha: float) -> Fraction:
    """``alpha`` as the decimal it prints as: 0.1 is 1/10, so 10 * (1 - 0.1) is 9."""
    return Fraction(repr(float(alpha)))


def _upper_rank(n: int, alpha: float) -> int:
    """``ceil((n + 1) * (1 - alpha))``, computed exactly."""
    return math.ceil((n + 1) * (1 - _exact(alpha)))


def _check_level(value: Any, name: str, owner: str) -> float:
    v = check_float(value, name, owner)
    if not 0.0 < v < 1.0:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be > 0 and < 1; got {v}."
        )
    return v


def _check_bool(value: Any, name: str, owner: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be True or False; got {value!r}."
        )
    return bool(value)


def _as_float(values: Any, name: str) -> np.ndarray:
    try:
        return np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be numeric; {err}") from None


def _check_scores(scores: Any, name: str = "scores") -> np.ndarray:
    arr = _as_float(scores, name)
    if arr.ndim != 1:
        raise InputError(f"{name} must be 1-D (one score per item); got shape {arr.shape}.")
    nan = np.flatnonzero(np.isnan(arr))
    if nan.size:
        raise InputError(f"{name} contains {nan.size} NaN values (first at position {nan[0]}).")
    return arr


def _kth_smallest(scores: np.ndarray, alpha: float) -> float:
    k = _upper_rank(scores.size, alpha)
    if k > scores.size:
        return math.inf
    return float(np.partition(scores, k - 1)[k - 1])


def _class_quantiles(
    scores: np.ndarray, labels: np.ndarray, n_classes: int, alpha: float
) -> np.ndarray:
    """:func:`conformal_quantile` of each class's scores (Mondrian); inf for a class with
    too few (or no) calibration items."""
    order = np.lexsort((scores, labels))
    s = scores[order]
    counts = np.bincount(labels, minlength=n_classes)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    ranks = {c: _upper_rank(int(c), alpha) for c in np.unique(counts).tolist()}
    k = np.array([ranks[c] for c in counts.tolist()], dtype=np.int64)
    out = np.full(n_classes, np.inf)
    ok = k <= counts
    out[ok] = s[starts[ok] + k[ok] - 1]
    return out


def conformal_quantile(scores: Any, alpha: float) -> float:
    """The split-conformal threshold: the ``ceil((n + 1)(1 - alpha))``-th smallest score.

    With ``n`` calibration scores and ``k = ceil((n + 1)(1 - alpha))``, the threshold is
    the ``k``-th smallest score when ``k <= n`` and ``+inf`` otherwise (then every label
    enters every set). A new exchangeable score is at most this value with probability
    at least ``1 - alpha``, and, without ties, at most ``1 - alpha + 1 / (n + 1)``.
    When ``k <= n`` this equals ``np.quantile(scores, k / n, method="inverted_cdf")``
    (or ``method="lower"``, as MAPIE computes it; ``method="higher"`` would take the
    next score up); ``np.quantile(scores, 1 - alpha)`` is smaller and under-covers for
    small ``n``.

    ``alpha`` is read as the decimal number it prints as, so that ``(n + 1)(1 - alpha)``
    is exact: with ``n = 19`` and ``alpha = 0.05``, ``k`` is 19, not 20.

    Parameters
    ----------
    scores : array-like of shape (n,)
        Calibration non-conformity scores (higher = stranger); ``+inf`` is allowed,
        NaN is not. An empty array gives ``+inf``.
    alpha : float in (0, 1)
        Miscoverage level.

    Returns
    -------
    float

    Raises
    ------
    InputError
        ``scores`` not 1-D or containing NaN.
    InvalidParameterError
        ``alpha`` outside ``(0, 1)``.

    References
    ----------
    Vovk, Gammerman and Shafer, *Algorithmic Learning in a Random World*, 2005;
    Lei, G'Sell, Rinaldo, Tibshirani and Wasserman, "Distribution-free predictive
    inference for regression", JASA 2018.

    Examples
    --------
    >>> conformal_quantile([0.3, 0.1, 0.4, 0.2], alpha=0.4)   # k = ceil(5 * 0.6) = 3
    0.3
    >>> conformal_quantile([0.3, 0.1, 0.4, 0.2], alpha=0.1)   # k = 5 > 4
    inf
    """
    a = _check_level(alpha, "alpha", "conformal_quantile")
    return _kth_smallest(_check_scores(scores), a)


# ------------------------------------------------------------ multi-class scores
class _Ranked:
    """Each row's classes by decreasing probability (stable: ties go to the lower
    class index), the sorted probabilities and the mass ranked strictly above."""

    __slots__ = ("order", "sorted", "above")

    def __init__(self, probs: np.ndarray) -> None:
        neg = -probs
        self.order = np.argsort(neg, axis=1, kind="stable")
        neg.sort(axis=1)  # the same values as probs in `order` (tied values are equal)
        self.sorted = np.negative(neg, out=neg)
        self.above = np.empty_like(neg)
        self.above[:, 0] = 0.0
        np.cumsum(self.sorted[:, :-1], axis=1, out=self.above[:, 1:])

    def position(self, labels: np.ndarray) -> np.ndarray:
        """0-based rank of ``labels[i]`` in row ``i``."""
        return np.argmax(self.order == labels[:, None], axis=1)

    def subset(self, rows: np.ndarray) -> _Ranked:
        out = object.__new__(_Ranked)
        out.order, out.sorted, out.above = self.order[rows], self.sorted[rows], self.above[rows]
        return out


def _k_reg_candidates(k_star: int) -> list[int]:
    """``k_reg`` values tried by RAPS, the official ``k_star`` first, then down to 1:
    all of them up to :data:`RAPS_MAX_K_TRIED` values, else a geometric grid."""
    if k_star <= RAPS_MAX_K_TRIED:
        return list(range(k_star, 0, -1))
    grid = np.rint(np.geomspace(1, k_star, RAPS_MAX_K_TRIED)).astype(int)
    return sorted({int(k) for k in grid} | {k_star}, reverse=True)


def _penalty(n_classes: int, k_reg: int, lam: float) -> np.ndarray:
    """``lam * max(0, rank - k_reg)`` for ranks 1..n_classes."""
    return lam * np.maximum(0, np.arange(1, n_classes + 1) - k_reg)


def _all_scores(r: _Ranked, u: np.ndarray | None, k_reg: int, lam: float) -> np.ndarray:
    """APS/RAPS scores at every sorted position: ``above + u * p + penalty`` (u None: 0)."""
    out = r.above if u is None else r.above + r.sorted * u[:, None]
    return out + _penalty(r.order.shape[1], k_reg, lam) if lam else out


def _label_scores(
    r: _Ranked, pos: np.ndarray, u: np.ndarray | None, k_reg: int, lam: float
) -> np.ndarray:
    """The same score at one sorted position per row (``pos``, 0-based)."""
    rows = np.arange(pos.size)
    out = r.above[rows, pos] if u is None else r.above[rows, pos] + r.sorted[rows, pos] * u
    return out + _penalty(r.order.shape[1], k_reg, lam)[pos] if lam else out


def _inclusion_chance(slack: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``P(u * p <= slack)`` for ``u ~ Uniform(0, 1)``: ``clip(slack / p, 0, 1)``, and
    ``1[slack >= 0]`` where ``p = 0``."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = np.where(p > 0, slack / p, np.where(slack >= 0, 1.0, 0.0))
    return np.clip(t, 0.0, 1.0, out=t)


def _averaged_thresholds(
    base: np.ndarray, p: np.ndarray, groups: np.ndarray, n_groups: int, alpha: float
) -> np.ndarray:
    """Per group, the threshold of randomised scores ``base + u * p`` averaged over
    ``u``: the smallest ``q`` with ``F(q) = sum_i P(base_i + u p_i <= q) >= k``,
    ``k = ceil((n + 1)(1 - alpha))`` (the rank :func:`conformal_quantile` takes), and
    ``+inf`` when ``k > n``. The realised threshold is the ``k``-th smallest score, with
    exactly ``k`` scores at or below it; this is the same rule applied to the expected
    count, so it does not depend on the draws.

    ``F`` is piecewise linear between the knots ``base_i`` and ``base_i + p_i`` (with
    a jump at ``base_i`` where ``p_i = 0``): a binary search over each group's sorted
    knots finds the first at which ``F >= k``, then ``F`` is solved on the segment
    before it. All groups at once."""
    counts = np.bincount(groups, minlength=n_groups)
    ranks = {c: _upper_rank(int(c), alpha) for c in np.unique(counts).tolist()}
    k = np.array([ranks[c] for c in counts.tolist()], dtype=np.float64)
    ok = k <= counts
    out = np.full(n_groups, np.inf)
    if not ok.any():
        return out
    sel = ok[groups]
    base, width, g = base[sel], p[sel], groups[sel]
    top = base + width
    inv = 1.0 / np.maximum(width, 1e-300)

    def expected_count(q: np.ndarray, left: bool = False) -> np.ndarray:
        """``F(q_g)`` per group, or its left limit."""
        qi = q[g]
        with np.errstate(over="ignore", invalid="ignore"):
            t = np.clip((qi - base) * inv, 0.0, 1.0)
        t[(qi > top) if left else (qi >= top)] = 1.0
        return np.bincount(g, weights=t, minlength=n_groups)

    knots = np.concatenate([base, top])
    kg = np.concatenate([g, g])
    order = np.lexsort((knots, kg))
    knots = knots[order]
    n_knots = np.bincount(kg, minlength=n_groups)
    first = np.cumsum(n_knots) - n_knots
    lo = first - 1  # F < k below a group's first knot; F = count >= k at its last
    hi = first + n_knots - 1
    hi[~ok] = lo[~ok] = 0
    for _ in range(int(n_knots.max()).bit_length()):
        mid = (lo + hi) // 2
        enough = expected_count(knots[mid]) >= k
        move = hi - lo > 1
        hi = np.where(move & enough, mid, hi)
        lo = np.where(move & ~enough, mid, lo)
    cur = knots[hi]
    prev = knots[np.maximum(lo, 0)]
    f_prev = expected_count(prev)
    f_left = expected_count(cur, left=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = prev + (k - f_prev) / (f_left - f_prev) * (cur - prev)
    q = np.where((lo >= first) & (f_left >= k), inside, cur)
    out[ok] = q[ok]
    return out


def _scatter(order: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    np.put_along_axis(out, order, values, axis=1)
    return out


def _check_u(u: Any, n: int, name: str = "u") -> np.ndarray:
    arr = _as_float(u, name)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise InputError(
            f"{name} must be a number or have one value per item ({n}); got shape {arr.shape}."
        )
    bad = np.flatnonzero(~((arr >= 0) & (arr <= 1)))
    if bad.size:
        raise InputError(f"{name} must lie in [0, 1]; position {bad[0]} is {arr[bad[0]].item()!r}.")
    return arr


def nonconformity_scores(
    probs: Any, score: Score = "lac", *, u: Any = None, k_reg: int = 0, lam: float = 0.0
) -> np.ndarray:
    """Non-conformity score of every (item, class) pair; higher = stranger.

    With the row sorted in decreasing order (ties: lower class index first), ``o(y)``
    the 1-based rank of class ``y`` and ``rho(y)`` the probability mass ranked strictly
    above it:

    * ``"lac"``: ``1 - p_y``;
    * ``"aps"``: ``rho(y) + u * p_y``; without ``u``, ``rho(y)`` (``u = 0``); ``u = 1``
      gives the sorted mass up to and including ``y``;
    * ``"raps"``: the APS score ``+ lam * max(0, o(y) - k_reg)``.

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes) or SoftLabels
        Predicted probabilities.
    score : {"lac", "aps", "raps"}, default="lac"
    u : float or array-like of shape (n_items,), optional
        Uniform draws in [0, 1] of the randomised APS/RAPS score, one per item (the same
        for every class of the item). None: the non-randomised score (``u = 0``).
    k_reg : int, default=0
        RAPS: ranks up to ``k_reg`` carry no penalty.
    lam : float, default=0.0
        RAPS: penalty per rank beyond ``k_reg``.

    Returns
    -------
    ndarray of shape (n_items, n_classes)

    Examples
    --------
    >>> p = [[0.5, 0.3, 0.2]]
    >>> nonconformity_scores(p, "aps").round(2).tolist()
    [[0.0, 0.5, 0.8]]
    >>> nonconformity_scores(p, "aps", u=1.0).round(2).tolist()
    [[0.5, 0.8, 1.0]]
    >>> nonconformity_scores(p, "raps", u=0.5, k_reg=1, lam=0.1).round(2).tolist()
    [[0.25, 0.75, 1.1]]
    """
    owner = "nonconformity_scores"
    score = check_option(score, "score", owner, _SCORES)  # type: ignore[assignment]
    p = check_pred_probs(probs, name="probs")
    if score == "lac":
        if u is not None:
            raise InvalidParameterError("u applies to the 'aps' and 'raps' scores only.")
        return 1.0 - p
    k_reg = check_int(k_reg, "k_reg", owner, low=0)
    lam = check_float(lam, "lam", owner, low=0.0)
    if score == "aps" and lam:
        raise InvalidParameterError("lam applies to the 'raps' score only.")
    uu = None if u is None else _check_u(u, p.shape[0])
    r = _Ranked(p)
    return _scatter(r.order, _all_scores(r, uu, k_reg, lam))


# --------------------------------------------------------- the multi-class predictor
class SplitConformalClassifier(BaseEstimator):
    """Split-conformal prediction sets from predicted probabilities (LAC, APS, RAPS).

    ``fit`` computes the non-conformity score of the true label of each calibration item
    and the threshold :func:`conformal_quantile` of those scores; ``predict_sets``
    returns, per new item, the classes whose score is at most the threshold. With
    exchangeable calibration and test items, ``P(y in set) >= 1 - alpha``; for LAC and
    the randomised APS/RAPS (continuous scores) also ``<= 1 - alpha + 1 / (n + 1)``.

    Parameters
    ----------
    score : {"lac", "aps", "raps"}, default="lac"
        Non-conformity score (see :func:`nonconformity_scores`).
    alpha : float in (0, 1), default=0.1
        Miscoverage level: sets contain the truth with probability at least
        ``1 - alpha``.
    randomized : bool, default=False
        APS/RAPS only. True: the score ``rho(y) + u * p_y (+ penalty)`` with a fresh
        ``u ~ Uniform(0, 1)`` per item, drawn independently for calibration and for
        prediction and shared by all classes of one item, so coverage is close to
        ``1 - alpha``; a set may be empty. False: ``u = 0`` in calibration and
        prediction alike, i.e. the score is the (penalised) mass ranked strictly above
        the label, as in the APS authors' code; no random numbers are used, the top
        class is in every set (its score is 0, or ``lam`` when ``k_reg = 0``, never
        above the threshold) and coverage is at least ``1 - alpha`` but can be well
        above it (many items share the score 0).
    k_reg : int >= 0, "quantile" or None, default=None
        RAPS: ranks up to ``k_reg`` are not penalised. None: chosen together with
        ``lam`` by set size on held-out calibration items; ``"quantile"``: the official
        code's rule, from the ranks of the held-out labels (see Notes).
    lam : float >= 0, optional
        RAPS: penalty per rank beyond ``k_reg``. None: chosen on held-out calibration
        items (see Notes).
    mondrian : bool, default=False
        True: one threshold per class from that class's calibration items
        (class-conditional coverage ``P(y in set | y = c) >= 1 - alpha`` for every
        class ``c``). A class with fewer than ``ceil(1 / alpha) - 1`` calibration items
        gets an infinite threshold and enters every set.
    allow_empty : bool, default=True
        False: an empty set is replaced by the top class (the ``allow_zero_sets=False``
        default of the official RAPS code). Coverage stays ``>= 1 - alpha`` but is no
        longer close to it.
    random_state : None, int or numpy Generator
        Seeds the randomised scores and the RAPS tuning split. ``predict_sets`` draws
        from the same stream, so successive calls get fresh draws and a refit with the
        same seed replays them.

    Attributes
    ----------
    threshold_ : float
        The calibrated threshold (not set when ``mondrian=True``).
    thresholds_ : ndarray of shape (n_classes,)
        One threshold per class (only when ``mondrian=True``).
    calib_scores_ : ndarray of shape (n_calib,)
        Scores of the true labels of the calibration items used for the threshold.
    n_calib_ : int
        Number of calibration items behind the threshold (for RAPS with ``k_reg`` or
        ``lam`` None, those left after the tuning split).
    n_classes_ : int
    k_reg_, lam_ : int, float
        RAPS: the parameters used (given or chosen).
    n_tune_ : int
        RAPS: calibration items used to choose ``k_reg``/``lam`` (0 when both given).

    Notes
    -----
    Empty sets: LAC gives one when no class has ``p_y >= 1 - threshold``; randomised
    APS/RAPS when ``u * p_top (+ penalty)`` exceeds the threshold. Non-randomised
    APS/RAPS never do.

    Choice of ``k_reg`` and ``lam`` (after ``pick_parameters`` of the official RAPS
    code, ``aangelopoulos/conformal_classification``): ``ceil(0.3 n)`` calibration
    items, drawn at random, are set aside. The official rule (``k_reg="quantile"``)
    takes ``k* =`` the ``1 - alpha`` quantile (``method="higher"``) of the 0-based rank
    of their true label, plus one, so the penalty starts one rank after the rank that
    covers ``1 - alpha`` of them; ``lam`` is the value of :data:`RAPS_LAMBDA_GRID` whose
    sets, calibrated and evaluated on those items, are smallest on average. The
    threshold then uses the other items only, so the guarantee holds whatever is
    chosen.

    One departure, the default ``k_reg=None``: ``k_reg`` is chosen by the same
    criterion as ``lam``, the pair ``(k_reg, lam)`` with the smallest mean set size
    on the held-out items, ``k_reg`` running from ``k*`` down to 1 (all of them up
    to :data:`RAPS_MAX_K_TRIED` values, else a geometric grid); ties keep the earlier
    pair, so the official choice wins unless another is strictly smaller. The
    quantile rule is a heuristic for the size objective the RAPS paper states; on
    CIFAR-10 at ``alpha = 0.05`` (100 random 50/50 splits) it gives ``k* = 2``,
    where ``k_reg = 1`` gives randomised sets of 1.07 classes on average instead of
    1.14 at the same coverage (``benchmarks/audit_conformal.py``).

    One difference, with ``randomized=True``: the official code scores each ``lam``
    by one draw of the uniforms (calibration and sets), so the comparison carries
    Monte Carlo noise that says nothing about ``lam``. Here each ``lam`` is scored by
    the expectation over those draws: a class enters a set with probability
    ``clip((q - rho - penalty) / p, 0, 1)``, and ``q`` is the smallest value at which
    the expected share of held-out randomised scores at or below it reaches ``k / n``
    (``k`` the rank :func:`conformal_quantile` takes; the ``k``-th smallest score has
    that share exactly). The choice is a function of the held-out items alone. The
    official code also temperature-scales the logits first; here probabilities are
    used as given (see :class:`TemperatureScaling`).

    Differences from published code. The official RAPS code takes
    ``np.quantile(scores, 1 - alpha, "higher")`` without the ``(n + 1)`` correction
    (its LAC branch has the correction, without ``"higher"``, and keeps ``1 - p < q``
    strictly); the finite-sample quantile and ``<=`` are used here throughout (the
    rank is the official one or the next). Its randomised sets (``gcq``) keep the
    class whose inclusive mass first passes the threshold when a uniform falls below
    ``V``; that is this rule, ``rho + u * p (+ penalty) <= q`` with one ``u`` per item.
    For non-randomised sets, the RAPS code and MAPIE calibrate with randomised scores
    and then add classes until the cumulative mass passes the threshold; the RAPS
    authors' blog post calibrates with the mass up to and including the label. Both
    are valid but give larger sets than the ``u = 0`` rule of the APS authors' code
    (``msesia/arc``, ``calibrate_scores`` without ``epsilon``) used here: on CIFAR-10
    at ``alpha = 0.05`` the inclusive-mass rule gives 5.7 classes per set on average,
    this one 1.07.

    MAPIE 1.6 (``conformity_score="raps"``, ``include_last_label="randomized"``) gives
    the same sets for the same ``k_reg``, ``lam``, threshold and draws (its ``u`` is
    ``1 - u`` here), but chooses the parameters otherwise (``k_reg`` by rank only). Its
    ``SplitConformalClassifier`` resets ``size_raps`` to None, so the held-out share
    is scikit-learn's default 10%, stratified by label (stratifying ties the class
    counts of the remaining items to those held out, so they and a new item are no
    longer exactly exchangeable); ``k_reg`` is the ``ceil((m + 1)(1 - alpha))``-th
    smallest of the ``m`` held-out ranks plus one; and while scoring each ``lam`` its
    scores are the inclusive masses and its sets use ``k_reg = lam`` and keep the
    boundary class. Past rank ``k_reg + 1`` its randomised sets keep the boundary
    class with the wrong chance (they divide by ``p - lam (L - k_reg - 1)``, ``L``
    the boundary rank, instead of ``p``).

    References
    ----------
    Sadinle, Lei and Wasserman, "Least ambiguous set-valued classifiers with bounded
    error levels", JASA 2019. Romano, Sesia and Candès, "Classification with valid and
    adaptive coverage", NeurIPS 2020. Angelopoulos, Bates, Malik and Jordan,
    "Uncertainty sets for image classifiers using conformal prediction", ICLR 2021.
    Vovk, "Conditional validity of inductive conformal predictors", ACML 2012 (Mondrian).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> probs = rng.dirichlet(np.ones(4), size=400)
    >>> labels = (rng.random(400)[:, None] > probs.cumsum(axis=1)).sum(axis=1)
    >>> cp = SplitConformalClassifier("aps", alpha=0.1, randomized=True, random_state=0)
    >>> cp = cp.fit(probs[:200], labels[:200])
    >>> sets = cp.predict_sets(probs[200:])
    >>> sets.shape, sets.dtype
    ((200, 4), dtype('bool'))
    >>> 0.8 < coverage(sets, labels[200:]) < 1.0
    True
    """

    def __init__(
        self,
        score: Score = "lac",
        *,
        alpha: float = 0.1,
        randomized: bool = False,
        k_reg: int | None = None,
        lam: float | None = None,
        mondrian: bool = False,
        allow_empty: bool = True,
        random_state: Any = None,
    ) -> None:
        self.score = score
        self.alpha = alpha
        self.randomized = randomized
        self.k_reg = k_reg
        self.lam = lam
        self.mondrian = mondrian
        self.allow_empty = allow_empty
        self.random_state = random_state

    # -- parameters
    def _validate_params(self) -> tuple[str, float, bool]:
        owner = type(self).__name__
        score = check_option(self.score, "score", owner, _SCORES)
        alpha = _check_level(self.alpha, "alpha", owner)
        randomized = _check_bool(self.randomized, "randomized", owner)
        _check_bool(self.mondrian, "mondrian", owner)
        _check_bool(self.allow_empty, "allow_empty", owner)
        if score == "lac" and randomized:
            raise InvalidParameterError(
                "randomized=True applies to score='aps' or 'raps'; LAC has no randomised form."
            )
        if score != "raps" and (self.k_reg is not None or self.lam is not None):
            raise InvalidParameterError(
                f"k_reg and lam apply to score='raps' only; score is {score!r}."
            )
        if isinstance(self.k_reg, str):
            if self.k_reg != "quantile":
                raise InvalidParameterError(
                    f"The 'k_reg' parameter of {owner} must be an int >= 0, 'quantile' or "
                    f"None; got {self.k_reg!r}."
                )
        elif self.k_reg is not None:
            check_int(self.k_reg, "k_reg", owner, low=0)
        if self.lam is not None:
            check_float(self.lam, "lam", owner, low=0.0)
        return score, alpha, randomized

    # -- fitting
    def fit(self, calib_probs: Any, calib_labels: Any) -> SplitConformalClassifier:
        """Compute the calibration scores and the threshold(s).

        Parameters
        ----------
        calib_probs : array-like of shape (n_calib, n_classes) or SoftLabels
            Predicted probabilities on calibration items the model was not fitted on.
        calib_labels : array-like of shape (n_calib,)
            Their true class indices ``0 .. n_classes - 1``.

        Returns
        -------
        self
        """
        score, alpha, randomized = self._validate_params()
        probs = check_pred_probs(calib_probs, name="calib_probs")
        n, k = probs.shape
        labels = check_labels(calib_labels, k, name="calib_labels", n_items=n)
        rng = check_random_state(self.random_state)
        for name in ("threshold_", "thresholds_", "k_reg_", "lam_", "n_tune_"):
            self.__dict__.pop(name, None)  # from an earlier fit with other parameters
        self.n_classes_ = int(k)
        if score == "lac":
            scores = 1.0 - probs[np.arange(n), labels]
        else:
            ranked = _Ranked(probs)
            k_reg, lam = 0, 0.0
            if score == "raps":
                k_reg, lam, keep = self._tune(ranked, labels, alpha, randomized, rng)
                self.k_reg_, self.lam_, self.n_tune_ = k_reg, lam, n - keep.size
                if self.n_tune_:
                    ranked, labels = ranked.subset(keep), labels[keep]
            u = rng.random(labels.size) if randomized else None
            scores = _label_scores(ranked, ranked.position(labels), u, k_reg, lam)
        self.calib_scores_ = scores
        self._calib_labels = labels
        self.n_calib_ = int(labels.size)
        if self.mondrian:
            self.thresholds_ = _class_quantiles(scores, labels, k, alpha)
        else:
            self.threshold_ = _kth_smallest(scores, alpha)
        self._rng = rng
        return self

    def _tune(
        self,
        ranked: _Ranked,
        labels: np.ndarray,
        alpha: float,
        randomized: bool,
        rng: np.random.Generator,
    ) -> tuple[int, float, np.ndarray]:
        """RAPS ``k_reg``/``lam``: given, or chosen by set size on a held-out share."""
        n = labels.size
        fixed_k = self.k_reg is not None and self.k_reg != "quantile"
        if fixed_k and self.lam is not None:
            return int(self.k_reg), float(self.lam), np.arange(n)
        n_tune = math.ceil(RAPS_TUNE_FRACTION * n)
        if n_tune >= n:
            raise InputError(
                f"RAPS needs at least 2 calibration items to choose k_reg and lam (got {n}); "
                "pass both k_reg and lam."
            )
        perm = rng.permutation(n)
        tune, keep = perm[:n_tune], np.sort(perm[n_tune:])
        rt, yt = ranked.subset(tune), labels[tune]
        pos = rt.position(yt)
        if fixed_k:
            k_options = [int(self.k_reg)]
        else:
            k_star = int(np.quantile(pos, 1 - alpha, method="higher")) + 1
            k_options = [k_star] if self.k_reg == "quantile" else _k_reg_candidates(k_star)
        lam_options = RAPS_LAMBDA_GRID if self.lam is None else (float(self.lam),)
        if len(k_options) == 1 and len(lam_options) == 1:
            return k_options[0], lam_options[0], keep
        n_classes = ranked.order.shape[1]
        width = rt.sorted[np.arange(n_tune), pos]
        groups = yt if self.mondrian else np.zeros(n_tune, dtype=np.intp)
        n_groups = n_classes if self.mondrian else 1
        best, best_size = (k_options[0], lam_options[0]), math.inf
        for k_reg in k_options:
            for lam in lam_options:
                base = _label_scores(rt, pos, None, k_reg, lam)  # u = 0
                if randomized:
                    qs = _averaged_thresholds(base, width, groups, n_groups, alpha)
                    q = qs if self.mondrian else float(qs[0])
                    size = self._expected_mean_size(rt, q, k_reg, lam)
                else:
                    q = (
                        _class_quantiles(base, yt, n_classes, alpha)
                        if self.mondrian
                        else _kth_smallest(base, alpha)
                    )
                    size = self._sets_sorted(rt, q, k_reg, lam, False, None).sum(axis=1).mean()
                if size < best_size:
                    best, best_size = (k_reg, lam), size
        return best[0], best[1], keep

    def _expected_mean_size(
        self, r: _Ranked, q: float | np.ndarray, k_reg: int, lam: float
    ) -> float:
        """Mean over rows of the expected size of the randomised set, over its draw ``u``:
        position ``j`` is in the set with probability ``P(u p_j <= q - above_j - pen_j)``
        (the sets are nested in ``u``), plus the chance of an empty set when it is
        replaced by the top class."""
        qq = q[r.order] if isinstance(q, np.ndarray) else q
        chance = _inclusion_chance(qq - _all_scores(r, None, k_reg, lam), r.sorted)
        size = chance.sum(axis=1)
        if not self.allow_empty:
            size += 1.0 - chance.max(axis=1)
        return float(size.mean())

    # -- prediction
    def _sets_sorted(
        self,
        r: _Ranked,
        q: float | np.ndarray,
        k_reg: int,
        lam: float,
        randomized: bool,
        rng: np.random.Generator | None,
        u: np.ndarray | None = None,
    ) -> np.ndarray:
        """Set membership at sorted positions for APS/RAPS."""
        qq = q[r.order] if isinstance(q, np.ndarray) else q
        if randomized and u is None:
            u = rng.random(r.order.shape[0])  # type: ignore[union-attr]
        inside = _all_scores(r, u if randomized else None, k_reg, lam) <= qq
        if not self.allow_empty:
            inside[:, 0] |= ~inside.any(axis=1)
        return inside

    def predict_sets(self, probs: Any, alpha: float | None = None, *, u: Any = None) -> np.ndarray:
        """Prediction sets as a boolean membership matrix.

        Parameters
        ----------
        probs : array-like of shape (n_items, n_classes) or SoftLabels
            Predicted probabilities of new items.
        alpha : float in (0, 1), optional
            Another miscoverage level; the threshold is recomputed from the stored
            calibration scores (RAPS keeps the fitted ``k_reg_``/``lam_``). None: the
            fitted one.
        u : float or array-like of shape (n_items,), optional
            Randomised APS/RAPS only: the uniform draws to use instead of the estimator's
            random stream.

        Returns
        -------
        ndarray of bool, shape (n_items, n_classes)
            ``sets[i, c]`` is True when class ``c`` is in item ``i``'s set.
        """
        if not hasattr(self, "n_calib_"):
            raise ValueError(f"This {type(self).__name__} is not fitted yet; call fit() first.")
        owner = type(self).__name__
        p = check_pred_probs(probs, name="probs", n_classes=self.n_classes_)
        score = self.score
        if alpha is None:
            q: float | np.ndarray = self.thresholds_ if self.mondrian else self.threshold_
        else:
            a = _check_level(alpha, "alpha", f"{owner}.predict_sets")
            q = (
                _class_quantiles(self.calib_scores_, self._calib_labels, self.n_classes_, a)
                if self.mondrian
                else _kth_smallest(self.calib_scores_, a)
            )
        if u is not None:
            if not self.randomized:
                raise InvalidParameterError("u applies only when randomized=True.")
            u = _check_u(u, p.shape[0])
        if score == "lac":
            sets = (1.0 - p) <= q
            if not self.allow_empty:
                empty = ~sets.any(axis=1)
                sets[empty, np.argmax(p[empty], axis=1)] = True
            return sets
        r = _Ranked(p)
        kr, lm = (self.k_reg_, self.lam_) if score == "raps" else (0, 0.0)
        return _scatter(r.order, self._sets_sorted(r, q, kr, lm, self.randomized, self._rng, u))


# ------------------------------------------------------------------ set summaries
def _check_sets(sets: Any) -> np.ndarray:
    arr = np.asarray(sets)
    if arr.ndim != 2:
        raise InputError(f"sets must be 2-D (n_items, n_classes); got shape {arr.shape}.")
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf" or not np.isin(arr, (0, 1)).all():
            raise InputError("sets must be boolean (or 0/1) membership, one column per class.")
        arr = arr.astype(bool)
    return arr


def coverage(sets: Any, labels: Any) -> float:
    """Share of items whose set contains the true label.

    Parameters
    ----------
    sets : array-like of bool, shape (n_items, n_classes), or LabelSetRegions
        Membership matrix from :meth:`SplitConformalClassifier.predict_sets`, or the
        regions of :meth:`LabelPowersetICP.predict_regions`.
    labels : array-like
        Class indices of shape (n_items,); for regions, binary label vectors of shape
        (n_items, n_labels).

    Returns
    -------
    float

    Examples
    --------
    >>> coverage([[True, False], [True, True], [False, True]], [1, 0, 1])
    0.6666666666666666
    """
    if isinstance(sets, LabelSetRegions):
        y = _check_label_sets(labels, "labels", (len(sets), sets.n_labels))
        return float(sets.contains(y).mean())
    s = _check_sets(sets)
    y = check_labels(labels, s.shape[1], name="labels", n_items=s.shape[0])
    return float(s[np.arange(s.shape[0]), y].mean())


def mean_set_size(sets: Any) -> float:
    """Mean number of classes per set (or of label-sets per region).

    Examples
    --------
    >>> mean_set_size([[True, False], [True, True], [False, False]])
    1.0
    """
    if isinstance(sets, LabelSetRegions):
        return float(sets.sizes.mean())
    return float(_check_sets(sets).sum(axis=1).mean())


# --------------------------------------------------------------- multi-label (LP-ICP)
def _check_label_probs(probs: Any, name: str, n_labels: int | None = None) -> np.ndarray:
    arr = _as_float(probs, name)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(
            f"{name} must be a non-empty 2-D array (n_items, n_labels); got shape {arr.shape}."
        )
    if n_labels is not None and arr.shape[1] != n_labels:
        raise InputError(
            f"{name} has {arr.shape[1]} columns; the predictor was fitted on {n_labels} labels."
        )
    bad = ~((arr >= 0) & (arr <= 1))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(
            f"{name} must hold per-label probabilities in [0, 1]; row {r}, column {c} is "
            f"{arr[r, c].item()!r}."
        )
    return arr


def _check_label_sets(labels: Any, name: str, shape: tuple[int, int]) -> np.ndarray:
    try:
        arr = np.asarray(labels)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name}: {err}") from None
    if arr.ndim == 1 and arr.shape[0] == shape[1]:
        arr = np.broadcast_to(arr, shape)
    if arr.shape != shape:
        raise InputError(f"{name} must have shape {shape} (binary label vectors); got {arr.shape}.")
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf":
            raise InputError(f"{name} must be binary (0/1); got dtype {arr.dtype}.")
        bad = ~np.isin(arr, (0, 1))
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise InputError(
                f"{name} must be binary (0/1); row {r}, column {c} is {arr[r, c].item()!r}."
            )
    return arr.astype(np.uint8)


@dataclass(frozen=True, eq=False)
class LabelSetRegions:
    """Prediction regions of :meth:`LabelPowersetICP.predict_regions`: per item, the
    label-sets whose p-value exceeds the significance level, most plausible first.

    Attributes
    ----------
    rows : ndarray of uint8, shape (n_sets_total, n_labels)
        All regions' label-sets stacked, item after item.
    offsets : ndarray of shape (n_items + 1,)
        Item ``i``'s region is ``rows[offsets[i]:offsets[i + 1]]`` (also ``regions[i]``).
    p_values : ndarray of shape (n_sets_total,)
        The p-value of each row.
    truncated : ndarray of bool, shape (n_items,)
        True where the region held more than ``max_region_size`` label-sets and only
        that many (the most plausible) are listed.
    """

    rows: np.ndarray
    offsets: np.ndarray
    p_values: np.ndarray
    truncated: np.ndarray

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    def __getitem__(self, i: int) -> np.ndarray:
        """Item ``i``'s label-sets, shape ``(size_i, n_labels)``."""
        return self.rows[self.offsets[i] : self.offsets[i + 1]]

    @property
    def n_labels(self) -> int:
        return int(self.rows.shape[1])

    @property
    def sizes(self) -> np.ndarray:
        """Number of label-sets in each region, shape ``(n_items,)``."""
        return np.diff(self.offsets)

    def _owner(self) -> np.ndarray:
        return np.repeat(np.arange(len(self)), self.sizes)

    def contains(self, label_sets: Any) -> np.ndarray:
        """Whether each item's region holds the given label vector, shape ``(n_items,)``."""
        y = _check_label_sets(label_sets, "label_sets", (len(self), self.n_labels))
        owner = self._owner()
        hit = (self.rows == y[owner]).all(axis=1)
        return np.bincount(owner[hit], minlength=len(self)) > 0

    def label_inclusion(self) -> np.ndarray:
        """Per item and label, whether the label is in at least one label-set of the
        region, shape ``(n_items, n_labels)`` (all False for an empty region)."""
        out = np.zeros((len(self), self.n_labels), dtype=np.int64)
        np.add.at(out, self._owner(), self.rows)
        return out > 0


def _flip_enumeration(d_sorted: np.ndarray, budget: np.ndarray, cap: int) -> tuple[np.ndarray, ...]:
    """All flip sets ``F`` (subsets of sorted label positions) with
    ``sum_{j in F} d_sorted[i, j] <= budget[i]``, level by level, vectorised over items.

    ``d_sorted`` rows are ascending, so a node whose last position is ``l`` has as
    children exactly the positions ``l + 1 .. c - 1`` with ``c`` the number of costs
    within the remaining budget. Items whose count would pass ``cap`` stop early and
    are flagged. Returns node item, parent (-1 for the empty set), added sorted
    position, the ``(start, end)`` id range of each level after the first (ids grow
    level by level), and the overflow flags.
    """
    m, n_labels = d_sorted.shape
    over = np.zeros(m, dtype=bool)
    f_item = np.flatnonzero(budget >= 0)
    counts = np.zeros(m, dtype=np.int64)
    counts[f_item] = 1
    f_last = np.full(f_item.size, -1, dtype=np.int64)
    f_cost = np.zeros(f_item.size)
    f_id = np.arange(f_item.size)
    items, parents, positions = [f_item], [np.full(f_item.size, -1)], [f_last]
    levels: list[tuple[int, int]] = []
    next_id = f_item.size
    while f_item.size:
        room = budget[f_item] - f_cost
        fits = (d_sorted[f_item] <= room[:, None]).sum(axis=1)
        n_child = np.maximum(fits - f_last - 1, 0)
        new = np.bincount(f_item, weights=n_child, minlength=m).astype(np.int64)
        over |= counts + new > cap
        n_child[over[f_item]] = 0
        counts += np.where(over, 0, new)
        total = int(n_child.sum())
        if total == 0:
            break
        parent = np.repeat(np.arange(f_item.size), n_child)
        first = np.cumsum(n_child) - n_child
        pos = f_last[parent] + 1 + (np.arange(total) - np.repeat(first, n_child))
        f_item, f_last = f_item[parent], pos
        f_cost = f_cost[parent] + d_sorted[f_item, pos]
        parents.append(f_id[parent])
        f_id = next_id + np.arange(total)
        levels.append((next_id, next_id + total))
        next_id += total
        items.append(f_item)
        positions.append(pos)
    return np.concatenate(items), np.concatenate(parents), np.concatenate(positions), levels, over


def _smallest_flip_sets(d_sorted: np.ndarray, budget: float, cap: int) -> np.ndarray:
    """The ``cap`` flip sets of smallest total cost within ``budget`` (one item), as a
    boolean matrix over sorted positions. Best-first over subset sums: from a set whose
    largest position is ``i``, add ``i + 1`` or move ``i`` to ``i + 1``; each subset is
    reached once and costs never decrease along the way."""
    n_labels = d_sorted.size
    masks = [0] if budget >= 0 else []
    heap = [(float(d_sorted[0]), 0, 1)] if n_labels and d_sorted[0] <= budget else []
    while heap and len(masks) < cap:
        cost, i, mask = heapq.heappop(heap)
        if cost > budget:
            break
        masks.append(mask)
        if i + 1 < n_labels:
            nxt = 1 << (i + 1)
            heapq.heappush(heap, (cost + d_sorted[i + 1], i + 1, mask | nxt))
            moved = (mask ^ (1 << i)) | nxt
            heapq.heappush(heap, (cost - d_sorted[i] + d_sorted[i + 1], i + 1, moved))
    nbytes = (n_labels + 7) // 8
    raw = b"".join(mk.to_bytes(nbytes, "little") for mk in masks)
    packed = np.frombuffer(raw, dtype=np.uint8).reshape(len(masks), nbytes)
    bits = np.unpackbits(packed, axis=1, bitorder="little")
    return bits[:, :n_labels].astype(bool)


class LabelPowersetICP(BaseEstimator):
    """Inductive conformal prediction over label-sets for multi-label data, with an
    exact pruned search of the prediction region.

    Each label-set ``Y`` in ``{0, 1}^L`` is a candidate answer (the label powerset).
    Its non-conformity for an item with per-label probabilities ``p`` is
    ``||Y - p||_2`` (``norm="l2"``) or ``||Y - p||_1``; with calibration scores
    ``a_1 .. a_n`` its p-value is ``(#{i : a_i >= a(Y)} + 1) / (n + 1)``, and the
    region at significance ``alpha`` is ``{Y : p(Y) > alpha}``, which contains the true
    label-set with probability at least ``1 - alpha``.

    Parameters
    ----------
    norm : {"l2", "l1"}, default="l2"
    alpha : float in (0, 1), default=0.1
        Significance level (the paper's epsilon) used by :meth:`predict_regions`.
    max_region_size : int, default=100000
        Regions with more label-sets are cut to that many, the most plausible, and
        flagged in ``truncated`` (a warning says how many).

    Attributes
    ----------
    calib_scores_ : ndarray of shape (n_calib,)
        Calibration non-conformity scores, sorted ascending.
    n_calib_, n_labels_ : int

    Notes
    -----
    Pruning. Let ``b = 1[p >= 0.5]`` (the most plausible label-set) and
    ``d_j = |2 p_j - 1|``. Flipping the labels in ``F`` away from ``b`` gives
    ``||Y - p||_1 = sum_j min(p_j, 1 - p_j) + sum_{j in F} d_j`` and
    ``||Y - p||_2^2 = sum_j min(p_j, 1 - p_j)^2 + sum_{j in F} d_j``. Both norms rank
    label-sets by the flip cost ``S(F) = sum_{j in F} d_j``. With
    ``k = floor(alpha (n + 1))``, ``p(Y) > alpha`` holds iff ``a(Y)`` is at most the
    ``k``-th largest calibration score (every label-set when ``k = 0``, none when
    ``k > n``), i.e. iff ``S(F)`` is within a budget. The search walks flip sets over
    labels sorted by ``d_j`` and stops a branch at the first cost over budget, so its
    work grows with the size of the region, not with ``2^L``; all items advance
    together, one level (number of flips) at a time. Candidates are confirmed with the
    score as :meth:`p_values` computes it, so regions and p-values agree exactly.

    The Euclidean score and this pruning are our reconstruction of the paper's idea of
    discarding label-sets whose p-value is surely below epsilon; its exact measure and
    search may differ. Coverage is marginal over label-sets, not per label.

    References
    ----------
    Maltoudoglou, Paisios, Lenc, Martínek, Král and Papadopoulos, "Well-calibrated
    confidence measures for multi-label text classification with a large number of
    labels", Pattern Recognition 122:108271, 2022.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = rng.random((300, 5))
    >>> y = (rng.random((300, 5)) < p).astype(int)
    >>> icp = LabelPowersetICP(alpha=0.1).fit(p[:200], y[:200])
    >>> regions = icp.predict_regions(p[200:])
    >>> len(regions), regions[0].shape[1]
    (100, 5)
    >>> bool(np.all(icp.p_values(p[200:][[0]], regions[0][:1]) > 0.1))
    True
    """

    def __init__(
        self, *, norm: Norm = "l2", alpha: float = 0.1, max_region_size: int = 100_000
    ) -> None:
        self.norm = norm
        self.alpha = alpha
        self.max_region_size = max_region_size

    def _score(
        self, probs: np.ndarray, label_sets: np.ndarray, item: np.ndarray | None = None
    ) -> np.ndarray:
        """Non-conformity of ``label_sets[r]`` for ``probs[item[r]]`` (``item`` None: row
        ``r``), in blocks of about a million values to bound memory."""
        n, n_labels = label_sets.shape
        out = np.empty(n)
        step = max(1, (1 << 20) // n_labels)
        for a in range(0, n, step):
            b = min(n, a + step)
            diff = label_sets[a:b].astype(np.float64)  # mixed uint8 - float64 is slow
            diff -= probs[a:b] if item is None else probs[item[a:b]]
            if self.norm == "l1":
                np.abs(diff, out=diff)
                out[a:b] = diff.sum(axis=1)
            else:
                diff *= diff
                out[a:b] = np.sqrt(diff.sum(axis=1))
        return out

    def fit(self, calib_probs: Any, calib_labels: Any) -> LabelPowersetICP:
        """Compute the calibration scores.

        Parameters
        ----------
        calib_probs : array-like of shape (n_calib, n_labels)
            Per-label probabilities in [0, 1] on calibration items (rows need not sum
            to 1).
        calib_labels : array-like of shape (n_calib, n_labels)
            Their true label vectors, 0/1.

        Returns
        -------
        self
        """
        owner = type(self).__name__
        check_option(self.norm, "norm", owner, _NORMS)
        _check_level(self.alpha, "alpha", owner)
        check_int(self.max_region_size, "max_region_size", owner, low=1)
        p = _check_label_probs(calib_probs, "calib_probs")
        y = _check_label_sets(calib_labels, "calib_labels", p.shape)
        self.calib_scores_ = np.sort(self._score(p, y))
        self.n_calib_, self.n_labels_ = int(p.shape[0]), int(p.shape[1])
        return self

    def _fitted(self) -> None:
        if not hasattr(self, "calib_scores_"):
            raise ValueError(f"This {type(self).__name__} is not fitted yet; call fit() first.")

    def p_values(self, probs: Any, label_sets: Any) -> np.ndarray:
        """p-value of one candidate label-set per item.

        Parameters
        ----------
        probs : array-like of shape (n_items, n_labels)
        label_sets : array-like of shape (n_items, n_labels), or (n_labels,)
            Candidate 0/1 label vectors (one shared by all items when 1-D).

        Returns
        -------
        ndarray of shape (n_items,)
            ``(#{i : a_i >= a(Y)} + 1) / (n_calib + 1)``.
        """
        self._fitted()
        p = _check_label_probs(probs, "probs", self.n_labels_)
        y = _check_label_sets(label_sets, "label_sets", p.shape)
        return self._p_of_scores(self._score(p, y))

    def _p_of_scores(self, scores: np.ndarray) -> np.ndarray:
        n = self.n_calib_
        at_least = n - np.searchsorted(self.calib_scores_, scores, side="left")
        return (at_least + 1) / (n + 1)

    def predict_regions(self, probs: Any, alpha: float | None = None) -> LabelSetRegions:
        """The label-sets with p-value above ``alpha``, per item.

        Parameters
        ----------
        probs : array-like of shape (n_items, n_labels)
            Per-label probabilities of new items.
        alpha : float in (0, 1), optional
            Significance level; None: the fitted ``alpha``.

        Returns
        -------
        LabelSetRegions
            Per item, its label-sets (most plausible first), their p-values and a
            truncation flag; :meth:`LabelSetRegions.label_inclusion` gives the labels
            that appear in some label-set of the region.
        """
        self._fitted()
        a = _check_level(self.alpha if alpha is None else alpha, "alpha", type(self).__name__)
        p = _check_label_probs(probs, "probs", self.n_labels_)
        m, n_labels = p.shape
        n = self.n_calib_
        k = math.floor(_exact(a) * (n + 1))
        limit = math.inf if k == 0 else (-math.inf if k > n else float(self.calib_scores_[n - k]))
        near = np.minimum(p, 1.0 - p)
        d = np.abs(2.0 * p - 1.0)
        if self.norm == "l1":
            budget = limit - near.sum(axis=1)
            slack = 1e-9 * (1.0 + abs(limit)) if math.isfinite(limit) else 0.0
        else:
            budget = (limit * limit if limit >= 0 else -math.inf) - (near * near).sum(axis=1)
            slack = 1e-9 * (1.0 + limit * limit) if math.isfinite(limit) else 0.0
        budget = budget + slack
        order = np.argsort(d, axis=1, kind="stable")
        d_sorted = np.take_along_axis(d, order, axis=1)
        cap = int(self.max_region_size)
        item, parent, pos, levels, over = _flip_enumeration(d_sorted, budget, cap)
        base = (p >= 0.5).astype(np.uint8)
        rows = np.empty((item.size, n_labels), dtype=np.uint8)
        n_roots = levels[0][0] if levels else item.size
        rows[:n_roots] = base[item[:n_roots]]
        for start, end in levels:  # a level's parents are complete before it
            rows[start:end] = rows[parent[start:end]]
            rows[np.arange(start, end), order[item[start:end], pos[start:end]]] ^= 1
        keep = ~over[item]
        item, rows = item[keep], rows[keep]
        extra_items, extra_rows = [], []
        for i in np.flatnonzero(over).tolist():
            f_sorted = _smallest_flip_sets(d_sorted[i], float(budget[i]), cap)
            r = np.repeat(base[i : i + 1], f_sorted.shape[0], axis=0)
            r[:, order[i]] ^= f_sorted.astype(np.uint8)
            extra_items.append(np.full(r.shape[0], i))
            extra_rows.append(r)
        if extra_items:
            item = np.concatenate([item, *extra_items])
            rows = np.concatenate([rows, *extra_rows])
        scores = self._score(p, rows, item)
        ok = scores <= limit
        item, rows, scores = item[ok], rows[ok], scores[ok]
        srt = np.lexsort((scores, item))
        item, rows, scores = item[srt], rows[srt], scores[srt]
        offsets = np.concatenate(([0], np.cumsum(np.bincount(item, minlength=m))))
        if over.any():
            warnings.warn(
                f"{int(over.sum())} of {m} prediction regions hold more than "
                f"max_region_size={cap} label-sets and list only the {cap} most plausible "
                f"(first: item {int(np.flatnonzero(over)[0])}); see LabelSetRegions.truncated.",
                UserWarning,
                stacklevel=2,
            )
        return LabelSetRegions(rows, offsets, self._p_of_scores(scores), over.copy())

