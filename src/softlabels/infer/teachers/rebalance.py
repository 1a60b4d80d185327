"""Class-rebalanced pseudo-labels for class-imbalanced data (Yang & Xu, NeurIPS 2020).

"Rethinking the Value of Labels for Improving Class-Imbalanced Learning" (Yang & Xu,
NeurIPS 2020, arXiv 2006.07529) shows that unlabelled data pseudo-labelled by a model
trained on a long-tailed labelled set improves it, and that the pseudo-labels inherit the
labelled set's bias toward head classes. :func:`class_rebalanced_pseudo_labels` spends a
budget of pseudo-labels so that the labelled plus pseudo-labelled class counts are as even
as the candidates allow (the most confident items of each predicted class first), instead
of taking the most confident items overall, which are mostly head classes.
:func:`longtail_counts` is the paper's long-tailed class-size profile.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from softlabels.core.errors import InputError
from softlabels.core.validation import check_float, check_int, check_option
from softlabels.infer.teachers._inputs import Inputs, check_single, tempered_probs

__all__ = ["longtail_counts", "class_rebalanced_pseudo_labels", "rebalanced_quotas"]


def longtail_counts(
    n_max: int, n_classes: int, imb_factor: float, *, kind: str = "exp"
) -> np.ndarray:
    """Per-class sizes of a long-tailed set (Yang & Xu, NeurIPS 2020; official
    ``imbalance_cifar.py``): ``n_c = int(n_max * imb_factor ** (-c / (C - 1)))`` for
    ``kind="exp"``; for ``"step"`` the first half of the classes has ``n_max`` and the rest
    ``int(n_max / imb_factor)``. ``imb_factor`` is the ratio ``rho = n_max / n_min >= 1``.

    Parameters
    ----------
    n_max : int >= 1
        Size of the largest (first) class.
    n_classes : int >= 2
        Number of classes.
    imb_factor : float >= 1
        ``rho``, the ratio of the largest to the smallest class.
    kind : {"exp", "step"}, default="exp"
        Exponential decay over the classes, or two steps.

    Returns
    -------
    ndarray of int64, shape (n_classes,)
        The sizes, largest first; each at least 1.

    Examples
    --------
    >>> longtail_counts(60, 10, 20).tolist()
    [60, 43, 30, 22, 15, 11, 8, 5, 4, 3]
    >>> longtail_counts(100, 4, 10, kind="step").tolist()
    [100, 100, 10, 10]
    """
    owner = "longtail_counts"
    top = check_int(n_max, "n_max", owner, low=1)
    k = check_int(n_classes, "n_classes", owner, low=2)
    rho = check_float(imb_factor, "imb_factor", owner, low=1.0)
    form = check_option(kind, "kind", owner, ("exp", "step"))
    c = np.arange(k)
    if form == "exp":
        sizes = top * rho ** (-c / (k - 1))
    else:
        sizes = np.where(c < k // 2, top, top / rho)
    # a hair of slack so that exact powers (60 * 20**-1 = 3) are not floored below
    return np.maximum(np.floor(sizes + 1e-9).astype(np.int64), 1)


def _whole_numbers(values: Any, name: str, owner: str) -> np.ndarray:
    """Non-negative integer counts as int64; a fraction, NaN or text is an error naming
    the entry (never truncated)."""
    raw = np.asarray(values)
    flat = raw.reshape(-1)
    for i, v in enumerate(flat.tolist()):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (
            np.isfinite(v) and v == round(v) and v >= 0
        ):
            where = f"{name}[{i}]" if raw.ndim == 1 else f"{name} entry {i}"
            raise InputError(
                f"{owner}: {name} must be non-negative whole numbers; {where} is {v!r}."
            )
    return flat.astype(np.int64).reshape(raw.shape)


def rebalanced_quotas(counts: Any, available: Any, budget: int) -> np.ndarray:
    """Integer quotas ``q_c <= available_c`` with ``sum q = min(budget, sum available)``
    that make ``counts + q`` as even as possible (water filling; a remainder unit goes to
    the classes at the level with the fewest ``counts``, then the lowest index).

    Parameters
    ----------
    counts : array-like of int, shape (n_classes,)
        Items each class already has (non-negative).
    available : array-like of int, shape (n_classes,)
        Candidates each class can still take (non-negative); shapes that differ from
        ``counts`` raise :class:`InputError`.
    budget : int >= 0
        Units to share out.

    Returns
    -------
    ndarray of int64, shape (n_classes,)
        The quota of each class.

    Examples
    --------
    >>> rebalanced_quotas([10, 2, 0], [50, 50, 1], 12).tolist()
    [1, 10, 1]
    """
    owner = "rebalanced_quotas"
    n = _whole_numbers(counts, "counts", owner)
    cap = _whole_numbers(available, "available", owner)
    if n.ndim != 1 or cap.shape != n.shape:
        raise InputError(
            f"{owner}: counts and available must be 1-D non-negative and of the same length; "
            f"got shapes {n.shape} and {cap.shape}."
        )
    b = min(check_int(budget, "budget", owner, low=0), int(cap.sum()))

    def spent(level: int) -> int:
        return int(np.clip(level - n, 0, cap).sum())

    lo, hi = 0, int((n + cap).max())  # spent(hi) == sum(cap) >= b
    while lo < hi:  # the largest level whose fill does not exceed the budget
        mid = (lo + hi + 1) // 2
        if spent(mid) <= b:
            lo = mid
        else:
            hi = mid - 1
    q = np.clip(lo - n, 0, cap)
    rest = b - int(q.sum())
    can = np.flatnonzero(n + q == lo)  # at the level and with candidates to spare
    can = can[q[can] < cap[can]]
    can = can[np.argsort(n[can], kind="stable")]
    q[can[:rest]] += 1
    return q


def class_rebalanced_pseudo_labels(
    outputs: Any,
    *,
    inputs: Inputs,
    budget: int,
    labelled_counts: Any = None,
    threshold: float = 0.0,
    ignore_index: int = -1,
) -> np.ndarray:
    """Class-rebalanced pseudo-label selection for class-imbalanced data (after Yang & Xu,
    "Rethinking the Value of Labels for Improving Class-Imbalanced Learning", NeurIPS 2020).

    Each item's candidate pseudo-label is the teacher's ``argmax``; items whose top
    probability is below ``threshold`` are no candidates. ``budget`` pseudo-labels are
    then shared among the predicted classes by :func:`rebalanced_quotas`, so that
    ``labelled_counts + selected`` is as even as the candidates allow, and each class takes
    its most confident candidates (ties: the lower row first). Without ``labelled_counts``
    every class gets an equal share. The paper's own recipe pseudo-labels *every*
    unlabelled item (``budget = n_items``, which makes the selection a plain argmax); this
    function is the rebalanced selection for a limited budget, compared in the benchmarks
    with the most confident ``budget`` items overall.

    Parameters
    ----------
    outputs : array-like of shape (n_items, n_classes)
        The teacher's outputs on the unlabelled items.
    inputs : {"logits", "probs"}
    budget : int >= 0
        Pseudo-labels to hand out (fewer when there are fewer candidates).
    labelled_counts : array-like of shape (n_classes,), optional
        Items per class already labelled; default zeros.
    threshold : float in [0, 1], default 0.0
    ignore_index : int, default -1

    Returns
    -------
    ndarray of shape (n_items,)
        The pseudo-label, or ``ignore_index`` for an item not selected.

    Examples
    --------
    >>> p = [[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.4, 0.6]]
    >>> class_rebalanced_pseudo_labels(p, inputs="probs", budget=2).tolist()
    [0, -1, -1, 1]
    >>> class_rebalanced_pseudo_labels(p, inputs="probs", budget=2, labelled_counts=[0, 3]).tolist()
    [0, 0, -1, -1]
    """
    owner = "class_rebalanced_pseudo_labels"
    t = check_single(outputs, inputs, owner)
    p = tempered_probs(t.values[0], t.inputs, 1.0)
    n, k = p.shape
    b = check_int(budget, "budget", owner, low=0)
    tau = check_float(threshold, "threshold", owner, low=0.0, high=1.0)
    ignore = check_int(ignore_index, "ignore_index", owner)
    if 0 <= ignore < k:
        raise InputError(f"{owner}: ignore_index={ignore} is a class index; use e.g. -1.")
    if labelled_counts is None:
        have = np.zeros(k, dtype=np.int64)
    else:
        raw = np.asarray(labelled_counts)
        if raw.shape != (k,):
            raise InputError(
                f"labelled_counts must have one entry per class, shape ({k},); got {raw.shape}."
            )
        if raw.dtype.kind not in "iuf" or raw.dtype.kind == "b" or not (
            np.isfinite(raw).all() and (raw == np.round(raw)).all() and (raw >= 0).all()
        ):
            raise InputError(
                f"labelled_counts must be non-negative integers; got {raw.tolist()}."
            )
        have = raw.astype(np.int64)
    conf, pred = p.max(axis=1), p.argmax(axis=1)
    cand = np.flatnonzero(conf >= tau)
    quotas = rebalanced_quotas(have, np.bincount(pred[cand], minlength=k), b)
    # candidates by class, most confident first (ties: lower row first)
    order = cand[np.lexsort((cand, -conf[cand], pred[cand]))]
    cls = pred[order]
    first = np.searchsorted(cls, np.arange(k))
    rank = np.arange(order.size) - first[cls]
    out = np.full(n, ignore, dtype=np.int64)
    take = order[rank < quotas[cls]]
    out[take] = pred[take]
    return out
