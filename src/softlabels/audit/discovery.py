"""Category discovery: match discovered clusters to classes, score them, and score a query set.

In generalized category discovery (GCD) a model sees labelled items of the known ("old")
classes and unlabelled items of old and new classes; the indices it gives the new classes are
arbitrary cluster ids. :func:`hungarian_label_map` finds the one-to-one map from classes to
cluster (head) indices that agrees with the most items, :func:`cluster_accuracy` is the GCD
accuracy under that map, overall and on the old and the new classes, and
:func:`novelty_metrics` says how much of an active-learning query set is new-class and how
evenly it covers the new classes (Ma et al., CVPR 2024, Active GCD).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from softlabels.core.errors import InputError
from softlabels.core.validation import check_int

__all__ = ["ClusterAccuracy", "NoveltyMetrics", "cluster_accuracy", "hungarian_label_map",
           "novelty_metrics"]


def _codes(values: Any, name: str, owner: str) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 1:
        raise InputError(f"{owner}: {name} must be a 1-D array of integer ids; got shape "
                         f"{a.shape}.")
    if a.size and a.dtype.kind not in "iu":
        if a.dtype.kind == "f" and np.isfinite(a).all() and (a == np.round(a)).all():
            a = a.astype(np.int64)
        else:
            raise InputError(f"{owner}: {name} must hold integer ids (class or cluster "
                             f"indices); got dtype {a.dtype}.")
    a = a.astype(np.int64)
    if a.size and a.min() < 0:
        bad = int(np.flatnonzero(a < 0)[0])
        raise InputError(f"{owner}: {name}[{bad}] = {a[bad]} is negative; ids must be >= 0.")
    return a


def _pair(pred: Any, true: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    p, t = _codes(pred, "pred", owner), _codes(true, "true", owner)
    if p.shape != t.shape:
        raise InputError(f"{owner}: pred and true must have the same length; got {p.size} "
                         f"and {t.size}.")
    return p, t


def hungarian_label_map(pred: Any, true: Any, *, n_heads: int | None = None) -> np.ndarray:
    """The one-to-one map ``class -> head index`` that agrees with the most items.

    Counts ``W[head, class]`` over the items and solves the assignment that maximises the
    matched count (Hungarian algorithm, :func:`scipy.optimize.linear_sum_assignment`). Active
    GCD (Ma et al., CVPR 2024) uses it as its *stable label mapping*: the queried labels of
    new-class items are mapped into the classifier's own label space (with the predictions of
    an EMA model on every labelled item so far) before training on them, so the arbitrary
    order of the discovered clusters is respected rather than fought.

    Parameters
    ----------
    pred : array-like of int, shape (n,)
        The head (cluster) index the model gives each item.
    true : array-like of int, shape (n,)
        Each item's class.
    n_heads : int, optional
        ``D``, the number of heads = classes; default ``max(pred, true) + 1``. Classes and
        heads that no item uses are matched among themselves, arbitrarily.

    Returns
    -------
    ndarray of int64, shape (D,)
        ``mapping[c]`` is the head of class ``c``; a permutation of ``0..D-1``, so
        ``mapping[labels]`` maps labels into head indices and ``np.argsort(mapping)[heads]``
        maps predictions back to classes.

    Examples
    --------
    >>> hungarian_label_map([1, 1, 0, 2, 2], [0, 0, 1, 2, 1]).tolist()
    [1, 0, 2]
    """
    from scipy.optimize import linear_sum_assignment

    owner = "hungarian_label_map"
    p, t = _pair(pred, true, owner)
    used = int(max(p.max(initial=-1), t.max(initial=-1))) + 1
    d = used if n_heads is None else check_int(n_heads, "n_heads", owner, low=1)
    if used > d:
        raise InputError(f"{owner}: an id {used - 1} in pred or true is not below "
                         f"n_heads={d}.")
    w = np.zeros((d, d), dtype=np.int64)
    np.add.at(w, (p, t), 1)
    heads, classes = linear_sum_assignment(w, maximize=True)
    mapping = np.empty(d, dtype=np.int64)
    mapping[classes] = heads
    return mapping


class ClusterAccuracy(NamedTuple):
    """Result of :func:`cluster_accuracy`.

    Attributes
    ----------
    all : float
        Accuracy over every item under the best one-to-one map of heads to classes.
    old : float
        The same map, items of the old classes only (NaN without ``old_classes``).
    new : float
        The same map, items of the new classes only (NaN without ``old_classes``).
    mapping : numpy.ndarray, shape (D,)
        Class to head, from :func:`hungarian_label_map`.
    """

    all: float  # accuracy over every item under the best one-to-one map
    old: float  # the same map, items of the old classes only (NaN without old_classes)
    new: float  # the same map, items of the new classes only (NaN without old_classes)
    mapping: np.ndarray  # (D,) class -> head, from hungarian_label_map


def cluster_accuracy(true: Any, pred: Any, *, old_classes: Any = None) -> ClusterAccuracy:
    """Clustering accuracy: the accuracy of ``pred`` after the best one-to-one map of heads to
    classes, overall and on the old and the new classes.

    This is the "v2" protocol of generalized category discovery (used by SimGCD, Active GCD
    and Happy): one Hungarian map is computed on all items together
    (:func:`hungarian_label_map`), then the accuracy is split by the true class. An old-class
    item predicted as a new cluster (or the reverse) counts as wrong.

    Parameters
    ----------
    true : array-like of int, shape (n,)
    pred : array-like of int, shape (n,)
        Head or cluster ids, numbered independently of the classes and matched to them
        by the map. Like the classes they are non-negative integers indexing a dense
        ``D x D`` count (``D`` = the largest id + 1), so they should be compact
        (``np.unique(pred, return_inverse=True)[1]`` makes them so).
    old_classes : array-like of int, optional
        The known classes; the others are new. Without it ``old`` and ``new`` are NaN.

    Returns
    -------
    ClusterAccuracy
        ``all``, ``old`` and ``new`` accuracies (``old`` or ``new`` is NaN when no item
        is of such a class) and the ``mapping`` used.

    Examples
    --------
    >>> r = cluster_accuracy([0, 0, 1, 1, 2, 2], [0, 0, 1, 2, 2, 2], old_classes=[0])
    >>> round(r.all, 3), r.old, r.new
    (0.833, 1.0, 0.75)
    """
    owner = "cluster_accuracy"
    p, t = _pair(pred, true, owner)
    if t.size == 0:
        raise InputError(f"{owner}: no items to score.")
    mapping = hungarian_label_map(p, t)
    hit = mapping[t] == p
    if old_classes is None:
        return ClusterAccuracy(float(hit.mean()), math.nan, math.nan, mapping)
    old = _codes(old_classes, "old_classes", owner)
    is_old = np.isin(t, old)

    def share(mask: np.ndarray) -> float:
        return float(hit[mask].mean()) if mask.any() else math.nan

    return ClusterAccuracy(float(hit.mean()), share(is_old), share(~is_old), mapping)


class NoveltyMetrics(NamedTuple):
    """Result of :func:`novelty_metrics`.

    Attributes
    ----------
    ratio : float
        Share of the queried items that belong to a new class.
    coverage : float
        Distinct new classes queried / number of new classes.
    uniformity : float
        Entropy of the queried new-class histogram (nats).
    uniformity_max : float
        Its upper bound, ``log(num_new)``.
    """

    ratio: float  # share of the queried items that belong to a new class
    coverage: float  # distinct new classes queried / number of new classes
    uniformity: float  # entropy of the queried new-class histogram (nats)
    uniformity_max: float  # its upper bound, log(num_new)


def novelty_metrics(labels: Any, *, num_old: int, num_new: int) -> NoveltyMetrics:
    """How novel and how diverse a query set is, from the true labels of the queried items
    (Active GCD's selection metrics, Ma et al., CVPR 2024).

    Classes ``0..num_old-1`` are old and ``num_old..num_old+num_new-1`` new. ``ratio`` is the
    share of queried items that are new-class, ``coverage`` the share of the new classes
    queried at least once, ``uniformity`` the entropy of the new-class histogram of the query
    set, to compare with ``uniformity_max = log(num_new)``. With no new-class item queried,
    ``uniformity`` is 0.

    Parameters
    ----------
    labels : array-like of int, shape (n_queried,)
        True classes of the queried items, in ``0..num_old+num_new-1``; an empty query
        set, a negative or larger id raises :class:`InputError`.
    num_old : int
        Number of old (known) classes, 0 or more.
    num_new : int
        Number of new classes, at least 1.

    Returns
    -------
    NoveltyMetrics
        ``ratio``, ``coverage``, ``uniformity`` and ``uniformity_max``.

    Examples
    --------
    >>> m = novelty_metrics([0, 3, 3, 4, 2], num_old=3, num_new=3)
    >>> m.ratio, round(m.coverage, 3), round(m.uniformity, 3), round(m.uniformity_max, 3)
    (0.6, 0.667, 0.637, 1.099)
    """
    owner = "novelty_metrics"
    y = _codes(labels, "labels", owner)
    k_old = check_int(num_old, "num_old", owner, low=0)
    k_new = check_int(num_new, "num_new", owner, low=1)
    if y.size == 0:
        raise InputError(f"{owner}: labels is empty; score a non-empty query set.")
    if y.max() >= k_old + k_new:
        bad = int(np.flatnonzero(y >= k_old + k_new)[0])
        raise InputError(f"{owner}: labels[{bad}] = {y[bad]} is not a class in "
                         f"0..{k_old + k_new - 1} (num_old + num_new classes).")
    new = y[y >= k_old]
    counts = np.bincount(new - k_old, minlength=k_new)
    q = counts[counts > 0] / max(new.size, 1)
    return NoveltyMetrics(new.size / y.size, float((counts > 0).sum() / k_new),
                          float(-(q * np.log(q)).sum()), math.log(k_new))
