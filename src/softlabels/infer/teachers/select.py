"""Which items to send to a teacher or an annotator under a budget.

:func:`select` is the one entry point; the strategies are

* ``"uncertainty"``: the ``budget`` items the model is least sure of
  (:func:`uncertainty_scores`: entropy, margin or least confidence);
* ``"random"``: a uniform sample without replacement;
* ``"robust-active-distillation"``: a draw from the robust sampling distribution of
  :func:`robust_sampling_distribution` (Baykal et al., ICLR 2023), which spreads the queries
  so that a teacher who is wrong on the most informative items costs little;
* ``"locle"``: Locle's critical items (Zhang et al., SIGIR 2025), those both most
  disharmonious with their graph neighbours and most uncertain
  (:func:`split_confident_critical`);
* ``"active-gcd"``: Active GCD's adaptive novel sampling (Ma et al., CVPR 2024) for category
  discovery, items predicted in the new-class heads, spread over them, confident first and
  uncertain in later rounds (:func:`select_novel`).
"""

from __future__ import annotations

import warnings
from typing import Any, Literal, NamedTuple

import numpy as np

from softlabels.core.validation import check_float, check_int, check_option, check_random_state
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.infer.teachers._inputs import Inputs, as_numbers, check_single, tempered_probs

__all__ = [
    "STRATEGIES",
    "MEASURES",
    "select",
    "uncertainty_scores",
    "RobustDistribution",
    "robust_sampling_distribution",
    "label_disharmonicity",
    "ConfidentCritical",
    "split_confident_critical",
    "select_novel",
]

Strategy = Literal["uncertainty", "random", "robust-active-distillation", "locle", "active-gcd"]
Measure = Literal["entropy", "margin", "least-confidence"]
STRATEGIES = ("uncertainty", "random", "robust-active-distillation", "locle", "active-gcd")
MEASURES = ("entropy", "margin", "least-confidence")

#: Gains are clipped to ``[MIN_GAIN, 1]`` so that ``1 / g`` stays finite.
MIN_GAIN = 1e-6


def _probs(probs: Any, inputs: Any, owner: str) -> np.ndarray:
    t = check_single(probs, inputs, owner, name="probs")
    return tempered_probs(t.values[0], t.inputs, 1.0)


def _scores(p: np.ndarray, measure: str) -> np.ndarray:
    c = p.shape[1]
    if measure == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
        return np.clip(h / np.log(c), 0.0, 1.0)
    top2 = -np.partition(-p, 1, axis=1)[:, :2]
    if measure == "margin":
        return 1.0 - (top2[:, 0] - top2[:, 1])
    return (1.0 - top2[:, 0]) * c / (c - 1)


def uncertainty_scores(
    probs: Any, *, measure: Measure = "margin", inputs: Inputs = "probs"
) -> np.ndarray:
    """Per-item uncertainty in ``[0, 1]``, higher meaning less sure.

    * ``"entropy"``: ``H(p) / log C``;
    * ``"margin"``: ``1 - (p_(1) - p_(2))``, one minus the gap between the two largest
      probabilities;
    * ``"least-confidence"``: ``(1 - p_(1)) * C / (C - 1)``.

    Each is a monotone rescaling of the textbook score (Settles 2009), so the rankings are the
    usual ones; the ``[0, 1]`` range lets them serve as the gains of
    :func:`robust_sampling_distribution`.

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes)
        The model's predictions.
    measure : {"entropy", "margin", "least-confidence"}, default="margin"
        The score, as above.
    inputs : {"probs", "logits"}, default="probs"
        What ``probs`` holds (logits are turned into probabilities with a softmax).

    Returns
    -------
    ndarray of shape (n_items,)
        Scores in ``[0, 1]``.

    Examples
    --------
    >>> uncertainty_scores([[0.5, 0.5], [0.9, 0.1]]).round(3).tolist()
    [1.0, 0.2]
    """
    owner = "uncertainty_scores"
    measure = check_option(measure, "measure", owner, MEASURES)
    return _scores(_probs(probs, inputs, owner), measure)


class RobustDistribution(NamedTuple):
    """Result of :func:`robust_sampling_distribution`.

    Attributes
    ----------
    p : numpy.ndarray, shape (n,)
        Sampling probabilities, summing to 1.
    value : float
        The guaranteed gain ``V(p)`` against ``k`` wrong labels.
    support_size : int
        ``m``: how many items have ``p > 0``.
    """

    p: np.ndarray  # (n,) sampling probabilities, summing to 1
    value: float  # the guaranteed gain V(p) against k wrong labels
    support_size: int  # m: how many items have p > 0


def robust_sampling_distribution(
    gains: Any, n_wrong: int, *, min_support: int = 1
) -> RobustDistribution:
    """The sampling distribution that maximises the gain guaranteed against ``k`` wrong
    teacher labels: ``max_p [sum_i p_i g_i - (sum of the k largest p_i g_i)]``.

    The learner picks ``p`` on the simplex; an adversary then makes the teacher wrong on up
    to ``k`` items, whose gain is lost. Sorting ``g_(1) >= ... >= g_(n)``, the optimum puts
    ``p_(i) = (1 / g_(i)) / sum_{j <= m} 1 / g_(j)`` on the ``m`` most informative items,
    with value ``V_m = (m - k) / sum_{j <= m} 1 / g_(j)`` and ``m`` the maximiser of
    ``V_m`` over ``m > k`` (at least ``min_support``; the largest such ``m`` on ties).
    Every item in the support then has the same ``p_i g_i``: the most informative items,
    where the teacher is most likely wrong, are drawn less often than their gain alone
    would suggest.

    This is our reconstruction of Robust Active Distillation (Baykal et al., ICLR 2023):
    no official code was available, and the paper's exact game may differ. The closed form
    is checked against a linear program in the tests. Gains are clipped to ``[1e-6, 1]``.
    If ``k >= n`` nothing can be guaranteed: the uniform distribution, value 0 and a warning.

    Parameters
    ----------
    gains : array-like of shape (n,)
        Informativeness of each item, e.g. :func:`uncertainty_scores`.
    n_wrong : int >= 0
        ``k``, the number of wrong teacher labels to guard against.
    min_support : int >= 1, default 1
        Smallest support allowed (:func:`select` sets it to the budget so that the budget
        can be drawn without replacement).

    Returns
    -------
    RobustDistribution

    Examples
    --------
    >>> r = robust_sampling_distribution([1.0, 1.0, 0.5, 0.1], n_wrong=1)
    >>> r.p.round(3).tolist(), round(r.value, 3), r.support_size
    ([0.25, 0.25, 0.5, 0.0], 0.5, 3)
    """
    owner = "robust_sampling_distribution"
    g = as_numbers(gains, "gains")
    if g.ndim != 1 or g.size == 0:
        raise InputError(f"gains must be a non-empty 1-D array; got shape {g.shape}.")
    if not np.isfinite(g).all():
        bad = int(np.flatnonzero(~np.isfinite(g))[0])
        raise InputError(f"gains must be finite; gains[{bad}] is not.")
    k = check_int(n_wrong, "n_wrong", owner, low=0)
    lo = check_int(min_support, "min_support", owner, low=1)
    n = g.size
    if lo > n:
        raise InvalidParameterError(
            f"The 'min_support' parameter of {owner} must be <= the number of items ({n}); "
            f"got {lo}."
        )
    if k >= n:
        warnings.warn(
            f"n_wrong={k} >= the {n} items: no gain can be guaranteed; returning the uniform "
            "distribution.",
            UserWarning,
            stacklevel=2,
        )
        return RobustDistribution(np.full(n, 1.0 / n), 0.0, n)
    g = np.clip(g, MIN_GAIN, 1.0)
    order = np.argsort(-g, kind="stable")
    inv = np.cumsum(1.0 / g[order])
    m_all = np.arange(1, n + 1)
    value = (m_all - k) / inv
    first = max(k + 1, lo)  # m is 1-based
    tail = value[first - 1:]
    m = n - int(np.argmax(tail[::-1]))  # ties: the largest support, the most spread out
    p = np.zeros(n)
    top = order[:m]
    p[top] = (1.0 / g[top]) / inv[m - 1]
    return RobustDistribution(p, float(value[m - 1]), m)


def label_disharmonicity(probs: Any, adjacency: Any, *, inputs: Inputs = "probs") -> np.ndarray:
    """Locle's label disharmonicity: ``LH_i = sum_c |((I - D^-1 A) Y)_ic|``, the L1 distance
    between an item's predicted distribution and the (edge-weighted) mean of its
    neighbours'. Items without neighbours get 0.

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes)
        Predictions ``Y`` (e.g. a GNN's softmax).
    adjacency : array or scipy sparse matrix of shape (n_items, n_items)
        Non-negative edge weights.
    inputs : {"probs", "logits"}, default "probs"
        What ``probs`` holds (logits are turned into probabilities with a softmax).

    Examples
    --------
    >>> A = [[0, 1, 1], [1, 0, 0], [1, 0, 0]]
    >>> Y = [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    >>> label_disharmonicity(Y, A).tolist()
    [1.0, 0.0, 2.0]
    """
    y = _probs(probs, inputs, "label_disharmonicity")
    a = _check_adjacency(adjacency, y.shape[0])
    deg = np.asarray(a.sum(axis=1), dtype=np.float64).ravel()
    agg = np.asarray(a @ y, dtype=np.float64)
    has = deg > 0
    out = np.zeros(y.shape[0])
    out[has] = np.abs(y[has] - agg[has] / deg[has, None]).sum(axis=1)
    return out


def _check_adjacency(adjacency: Any, n: int) -> Any:
    if hasattr(adjacency, "tocsr"):  # scipy sparse, used through its own operators
        a = adjacency.tocsr()
        data = np.asarray(a.data, dtype=np.float64)
    else:
        try:
            a = np.asarray(adjacency, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise InputError(f"adjacency must be numeric; {err}") from None
        data = a
    if a.shape != (n, n):
        raise InputError(
            f"adjacency must have shape ({n}, {n}), one row and column per item; got {a.shape}."
        )
    if not np.isfinite(data).all() or (data < 0).any():
        raise InputError("adjacency must hold finite, non-negative edge weights.")
    return a


class ConfidentCritical(NamedTuple):
    """Row indices of :func:`split_confident_critical`.

    Attributes
    ----------
    confident : numpy.ndarray
        Rows of low disharmonicity and low entropy: pseudo-label them.
    critical : numpy.ndarray
        Rows of high disharmonicity and high entropy: query them.
    """

    confident: np.ndarray  # low disharmonicity and low entropy: pseudo-label them
    critical: np.ndarray  # high disharmonicity and high entropy: query them


def _agree_then_alternate(rank_a: np.ndarray, rank_b: np.ndarray, k: int) -> np.ndarray:
    """The items in both top-``k`` lists, then the rest of both lists taken alternately
    (``a[0], b[0], a[1], b[1], ...``) until there are ``k``."""
    if k == 0:
        return np.empty(0, dtype=np.int64)
    both = np.intersect1d(rank_a[:k], rank_b[:k])
    # keep the order of the first ranking for the agreed items
    both = rank_a[np.isin(rank_a, both)]
    woven = np.column_stack([rank_a, rank_b]).ravel()
    woven = woven[~np.isin(woven, both)]
    _, first = np.unique(woven, return_index=True)
    rest = woven[np.sort(first)]
    return np.concatenate([both, rest[: k - both.size]])


def split_confident_critical(
    probs: Any,
    adjacency: Any,
    *,
    n_confident: int,
    n_critical: int,
    candidates: Any = None,
    inputs: Inputs = "probs",
) -> ConfidentCritical:
    """Locle's split of the candidate items (Zhang et al., SIGIR 2025, ``measure_confidence``).

    *Critical* items (to query): those in both the ``n_critical`` highest disharmonicity
    (:func:`label_disharmonicity`) and the ``n_critical`` highest entropy, topped up
    alternately from the two rankings when the intersection is short. *Confident* items (to
    pseudo-label with the model's own labels): the same with the lowest values. Plain
    intersections are small (the method notes found 12 of 100), hence the top-up. The two
    sets may overlap when they ask for more than half of the candidates.

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes)
        The model's predictions ``Y`` (e.g. a GNN's softmax).
    adjacency : array or scipy sparse matrix of shape (n_items, n_items)
        Non-negative edge weights (see :func:`label_disharmonicity`).
    n_confident, n_critical : int >= 0
        Sizes of the two sets, each at most the number of candidates (otherwise
        :class:`InvalidParameterError`).
    candidates : array-like of row indices or boolean mask, optional
        The pool to split; default every row. Repeated or out-of-range indices raise
        :class:`InputError`.
    inputs : {"probs", "logits"}, default="probs"
        What ``probs`` holds.

    Returns
    -------
    ConfidentCritical
        The row indices ``confident`` and ``critical``, in the order they were chosen.

    Examples
    --------
    >>> A = [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]
    >>> Y = [[0.9, 0.1], [0.9, 0.1], [0.5, 0.5], [0.8, 0.2]]
    >>> split_confident_critical(Y, A, n_confident=1, n_critical=1)
    ConfidentCritical(confident=array([0]), critical=array([2]))
    """
    owner = "split_confident_critical"
    y = _probs(probs, inputs, owner)
    n = y.shape[0]
    cand = _check_candidates(candidates, n)
    kc = check_int(n_confident, "n_confident", owner, low=0)
    kq = check_int(n_critical, "n_critical", owner, low=0)
    for name, k in (("n_confident", kc), ("n_critical", kq)):
        if k > cand.size:
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} must be <= the {cand.size} candidate "
                f"items; got {k}."
            )
    lh = label_disharmonicity(y, adjacency)[cand]
    h = _scores(y[cand], "entropy")
    up_lh, up_h = np.argsort(-lh, kind="stable"), np.argsort(-h, kind="stable")
    down_lh, down_h = np.argsort(lh, kind="stable"), np.argsort(h, kind="stable")
    return ConfidentCritical(
        cand[_agree_then_alternate(down_lh, down_h, kc)],
        cand[_agree_then_alternate(up_lh, up_h, kq)],
    )


def _check_candidates(candidates: Any, n: int) -> np.ndarray:
    if candidates is None:
        return np.arange(n)
    c = np.asarray(candidates)
    if c.dtype.kind == "b":
        if c.shape != (n,):
            raise InputError(f"a boolean candidates mask must have shape ({n},); got {c.shape}.")
        return np.flatnonzero(c)
    if c.ndim != 1 or (c.size and c.dtype.kind not in "iu"):
        raise InputError("candidates must be a 1-D array of row indices or a boolean mask.")
    c = c.astype(np.int64)
    out = np.flatnonzero((c < 0) | (c >= n))
    if out.size:
        raise InputError(f"candidates[{out[0]}] = {c[out[0]]} is not a row index in 0..{n - 1}.")
    if np.unique(c).size != c.size:
        raise InputError("candidates contain repeated row indices.")
    return c


def _pool_and_budget(candidates: Any, budget: Any, n: int, owner: str) -> tuple[np.ndarray, int]:
    """The candidate rows and the budget, checked to fit in them."""
    cand = _check_candidates(candidates, n)
    b = check_int(budget, "budget", owner, low=0)
    if b > cand.size:
        raise InvalidParameterError(
            f"The 'budget' parameter of {owner} must be <= the {cand.size} candidate items; "
            f"got {b}."
        )
    return cand, b


def select(
    probs: Any,
    budget: int,
    *,
    strategy: Strategy = "uncertainty",
    measure: Measure = "margin",
    candidates: Any = None,
    n_wrong: int | None = None,
    teacher_error_rate: float | None = None,
    adjacency: Any = None,
    num_old: int | None = None,
    round_index: int = 0,
    adaptive_round: int = 2,
    inputs: Inputs = "probs",
    random_state: Any = None,
) -> np.ndarray:
    """Choose ``budget`` items to send to a teacher or an annotator.

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes)
        The current model's (student's) predictions on every item.
    budget : int
        How many items to choose, ``0 <= budget <= number of candidates``.
    strategy : str, default "uncertainty"
        One of ``"uncertainty"``, ``"random"``, ``"robust-active-distillation"``, ``"locle"``:

        * ``"uncertainty"``: the top ``budget`` of :func:`uncertainty_scores` (``measure``);
        * ``"random"``: uniform without replacement;
        * ``"robust-active-distillation"``: ``budget`` distinct items drawn with weights
          :func:`robust_sampling_distribution` of the gains ``uncertainty_scores(measure)``
          (successive sampling, i.e. Gumbel top-``budget``); the support is at least
          ``budget`` items. Needs ``n_wrong`` or ``teacher_error_rate``;
        * ``"locle"``: the critical items of :func:`split_confident_critical`. Needs
          ``adjacency``;
        * ``"active-gcd"``: :func:`select_novel` (category discovery). Needs ``num_old``.
    measure : {"margin", "entropy", "least-confidence"}, default "margin"
        Uncertainty measure of ``"uncertainty"`` and gain of ``"robust-active-distillation"``.
    candidates : array-like of row indices or boolean mask, optional
        The pool to choose from (e.g. the items not yet labelled). Default: every row.
    n_wrong : int, optional
        RAD's ``k``: how many wrong teacher labels to guard against among the candidates.
    teacher_error_rate : float in [0, 1], optional
        Alternative to ``n_wrong``: ``k = round(rate * n_candidates)``, e.g. the teacher's
        error rate measured on labelled items.
    adjacency : array or sparse matrix (n_items, n_items), optional
        The item graph, for ``"locle"``.
    num_old, round_index, adaptive_round : int
        For ``"active-gcd"``: the number of known classes (the first columns), the current
        query round and the first round that queries uncertain items (see :func:`select_novel`).
    inputs : {"probs", "logits"}, default "probs"
    random_state : None, int or Generator
        For ``"random"`` and ``"robust-active-distillation"``.

    Returns
    -------
    ndarray of int64, shape (budget,)
        Row indices into ``probs``, distinct, in priority order (most uncertain first for
        ``"uncertainty"``; draw order for the random strategies).

    Examples
    --------
    >>> p = [[0.5, 0.5], [0.9, 0.1], [0.6, 0.4], [0.99, 0.01]]
    >>> select(p, 2).tolist()
    [0, 2]
    >>> rad = select(p, 2, strategy="robust-active-distillation", n_wrong=1, random_state=0)
    >>> sorted(rad.tolist())
    [0, 2]
    """
    owner = "select"
    strategy = check_option(strategy, "strategy", owner, STRATEGIES)
    measure = check_option(measure, "measure", owner, MEASURES)
    p = _probs(probs, inputs, owner)
    cand, b = _pool_and_budget(candidates, budget, p.shape[0], owner)
    if strategy == "locle":
        if adjacency is None:
            raise InvalidParameterError("strategy='locle' needs the item graph: pass adjacency.")
        return split_confident_critical(
            p, adjacency, n_confident=0, n_critical=b, candidates=cand
        ).critical
    if strategy == "active-gcd":
        if num_old is None:
            raise InvalidParameterError(
                "strategy='active-gcd' needs num_old, the number of known classes (the first "
                "columns of probs)."
            )
        return select_novel(p, b, num_old=num_old, round_index=round_index,
                            adaptive_round=adaptive_round, candidates=cand)
    if strategy == "uncertainty":
        s = _scores(p[cand], measure)
        return cand[np.argsort(-s, kind="stable")[:b]]
    rng = check_random_state(random_state)
    if strategy == "random":
        return cand[rng.permutation(cand.size)[:b]]
    k = _n_wrong(n_wrong, teacher_error_rate, cand.size)
    if b == 0:
        return np.empty(0, dtype=np.int64)
    dist = robust_sampling_distribution(_scores(p[cand], measure), k, min_support=b)
    with np.errstate(divide="ignore"):
        keys = np.log(dist.p) + rng.gumbel(size=cand.size)
    return cand[np.argsort(-keys, kind="stable")[:b]]


def _n_wrong(n_wrong: Any, rate: Any, n: int) -> int:
    owner = "select"
    if (n_wrong is None) == (rate is None):
        raise InvalidParameterError(
            "strategy='robust-active-distillation' needs exactly one of n_wrong (how many wrong "
            "teacher labels to guard against) or teacher_error_rate (e.g. measured on labelled "
            "items)."
        )
    if n_wrong is not None:
        return check_int(n_wrong, "n_wrong", owner, low=0)
    r = check_float(rate, "teacher_error_rate", owner, low=0.0, high=1.0)
    return int(round(r * n))


def select_novel(
    probs: Any,
    budget: int,
    *,
    num_old: int,
    round_index: int = 0,
    adaptive_round: int = 2,
    candidates: Any = None,
    inputs: Inputs = "probs",
) -> np.ndarray:
    """Active GCD's adaptive novel sampling (Ma et al., CVPR 2024, "Active Generalized
    Category Discovery"; ``NovelMarginSamplingAdaptive`` in the official code).

    For category discovery: the model has ``num_old`` heads for the known classes (the first
    columns of ``probs``) and the rest for new classes, whose indices are arbitrary clusters.
    The selection weighs three things:

    * *novelty*: only items whose prediction ``argmax p`` is a new-class head are candidates
      (labels of new classes are what the labelled set lacks);
    * *diversity*: ``budget // C_new`` items from each predicted new cluster, then the rest of
      the budget from the remaining novel-predicted items;
    * *informativeness, adaptive*: items are taken in order of the margin
      ``p_(1) - p_(2)``, the most confident first in rounds ``< adaptive_round`` (clean anchors
      for clusters that are still forming), the least confident first from then on.

    If fewer than ``budget`` candidates are predicted new, the rest of the budget comes from
    the other candidates in the same margin order, with a warning (the official code stops).

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes)
        The current model's predictions, known classes first.
    budget : int
        How many items to choose.
    num_old : int
        The number of known classes, ``1 <= num_old < n_classes``.
    round_index : int, default 0
        The current query round (0-based).
    adaptive_round : int, default 2
        The first round that takes uncertain items first (the official default).
    candidates : array-like of row indices or boolean mask, optional
        The unlabelled pool; default every row.
    inputs : {"probs", "logits"}, default "probs"

    Returns
    -------
    ndarray of int64, shape (budget,)
        Row indices into ``probs``, cluster by cluster (new heads in order), then the top-up.

    Examples
    --------
    >>> p = [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.1, 0.5, 0.4],
    ...      [0.1, 0.2, 0.7], [0.2, 0.35, 0.45]]
    >>> select_novel(p, 2, num_old=1).tolist()                 # confident: one per cluster
    [1, 3]
    >>> select_novel(p, 2, num_old=1, round_index=2).tolist()  # uncertain
    [2, 4]
    """
    owner = "select_novel"
    p = _probs(probs, inputs, owner)
    c = p.shape[1]
    k_old = check_int(num_old, "num_old", owner, low=1)
    if k_old >= c:
        raise InvalidParameterError(
            f"The 'num_old' parameter of {owner} must be < the {c} columns of probs (the new "
            f"classes are the columns after the first num_old); got {k_old}."
        )
    r = check_int(round_index, "round_index", owner, low=0)
    a = check_int(adaptive_round, "adaptive_round", owner, low=0)
    cand, b = _pool_and_budget(candidates, budget, p.shape[0], owner)
    margin = 1.0 - _scores(p[cand], "margin")  # p_(1) - p_(2)
    order = np.argsort(margin if r >= a else -margin, kind="stable")
    ranked = cand[order]
    pred = p[ranked].argmax(axis=1)
    per_cluster = b // (c - k_old)
    chosen = [ranked[pred == k][:per_cluster] for k in range(k_old, c)]
    picked = np.concatenate(chosen) if chosen else np.empty(0, dtype=np.int64)
    novel = ranked[pred >= k_old]
    rest = novel[~np.isin(novel, picked)]
    picked = np.concatenate([picked, rest[: b - picked.size]])
    if picked.size < b:
        warnings.warn(
            f"{owner}: only {picked.size} of the {cand.size} candidates are predicted in a new "
            f"class; the other {b - picked.size} queries are the remaining candidates in the "
            "same margin order.",
            UserWarning,
            stacklevel=2,
        )
        others = ranked[~np.isin(ranked, picked)]
        picked = np.concatenate([picked, others[: b - picked.size]])
    return picked.astype(np.int64)
