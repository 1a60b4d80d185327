"""NRR-DD's distance-based records (DBR): two numbers per training instance in place of a
soft label.

For an augmented or mixed instance whose original item has class ``y_org`` and whose
augmentation brings in class ``y_aug`` (the mixed-in item's class under Mixup or
CutMix), NRR-DD (Tran, Le, Le, Do and Phung, CVPR 2025) stores the teacher's
cross-entropy distances to the two one-hot labels instead of its whole distribution.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import log_softmax

from softlabels.core.errors import InputError
from softlabels.core.validation import check_finite, check_float, check_labels

__all__ = ["dbr_encode", "dbr_decode", "dbr_targets"]

#: log-probabilities are clamped to at least log(EPS) so that distances stay finite
EPS = 1e-8


def dbr_encode(
    teacher_logits: Any, y_org: Any, y_aug: Any, *, eps: float = EPS, dtype: Any = np.float16
) -> np.ndarray:
    """The two teacher distances of each instance.

    Parameters
    ----------
    teacher_logits : array-like of shape (n, n_classes)
        Teacher logits on each (augmented) instance.
    y_org, y_aug : array-like of int, shape (n,)
        Class of the original item and of the augmentation's one-hot label (the
        mixed-in item's class; equal to ``y_org`` for an unmixed view).
    eps : float, default=1e-8
        Probabilities are clamped to at least ``eps`` before the log.
    dtype : numpy dtype, default=float16
        Storage type of the distances.

    Returns
    -------
    ndarray of shape (n, 2)
        ``d_org = -log p_{y_org}`` and ``d_aug = -log p_{y_aug}``, both >= 0.

    Notes
    -----
    The paper stores, per instance, ``CE(onehot(y_org), p^T(x))`` and
    ``CE(onehot(y_aug), p^T(x))`` [1]_; its student matches its own two distances to
    these. No official code could be read, so the choice of distance (cross-entropy),
    the clamp and the float16 storage are ours. When ``y_org == y_aug`` the two columns
    are equal and carry one number.

    References
    ----------
    .. [1] M.-T. Tran, T. Le, X.-M. Le, T.-T. Do and D. Phung, "Enhancing Dataset
       Distillation via Non-Critical Region Refinement", CVPR 2025.

    Examples
    --------
    >>> d = dbr_encode(np.log([[0.5, 0.25, 0.25]]), [0], [1], dtype=np.float64)
    >>> np.exp(-d).round(6).tolist()
    [[0.5, 0.25]]
    """
    z = np.asarray(teacher_logits, dtype=np.float64)
    if z.ndim != 2:
        raise InputError(f"teacher_logits must have shape (n, n_classes); got {z.shape}.")
    check_finite(z, "teacher_logits")
    n, c = z.shape
    yo = check_labels(y_org, c, name="y_org", n_items=n)
    ya = check_labels(y_aug, c, name="y_aug", n_items=n)
    e = check_float(eps, "eps", "dbr_encode", low=0.0, high=1.0, low_open=True)
    logp = np.maximum(log_softmax(z, axis=1), np.log(e))
    rows = np.arange(n)
    return np.stack([-logp[rows, yo], -logp[rows, ya]], axis=1).astype(dtype)


def _check_distances(distances: Any) -> np.ndarray:
    d = np.asarray(distances, dtype=np.float64)
    if d.ndim != 2 or d.shape[1] != 2:
        raise InputError(f"distances must have shape (n, 2); got {d.shape}.")
    check_finite(d, "distances")
    if (d < 0).any():
        r = int(np.argwhere(d < 0)[0, 0])
        raise InputError(f"distances must be >= 0 (they are -log p); row {r} is {d[r].tolist()}.")
    return d


def dbr_targets(distances: Any, y_org: Any, y_aug: Any) -> tuple[np.ndarray, np.ndarray]:
    """The two teacher probabilities a record pins down, ``exp(-d)``.

    This is what the paper's loss uses; :func:`dbr_decode` builds a full distribution
    from them.

    Parameters
    ----------
    distances : array-like of shape (n, 2)
        Output of :func:`dbr_encode`: finite and non-negative (``-log p``), otherwise
        :class:`InputError`.
    y_org, y_aug : array-like of int, shape (n,)
        The two classes each record is about.

    Returns
    -------
    p_org, p_aug : ndarray of shape (n,)
        The teacher's probabilities of ``y_org`` and ``y_aug``.

    Examples
    --------
    >>> [p.round(3).tolist() for p in dbr_targets([[0.0, np.log(4.0)]], [0], [1])]
    [[1.0], [0.25]]
    """
    d = _check_distances(distances)
    n = d.shape[0]
    yo, ya = np.asarray(y_org), np.asarray(y_aug)
    if yo.shape != (n,) or ya.shape != (n,):
        raise InputError(f"y_org and y_aug must have shape ({n},); got {yo.shape} and {ya.shape}.")
    return np.exp(-d[:, 0]), np.exp(-d[:, 1])


def dbr_decode(distances: Any, y_org: Any, y_aug: Any, n_classes: int) -> np.ndarray:
    """A full soft label from each two-distance record.

    Parameters
    ----------
    distances : array-like of shape (n, 2)
        Output of :func:`dbr_encode`.
    y_org, y_aug : array-like of int, shape (n,)
    n_classes : int

    Returns
    -------
    ndarray of shape (n, n_classes)
        Rows sum to 1.

    Notes
    -----
    The record fixes ``p_{y_org} = exp(-d_org)`` and ``p_{y_aug} = exp(-d_aug)``
    exactly; these two entries are what the paper transfers. Spreading the remaining
    mass uniformly over the other ``n_classes - 2`` classes (``n_classes - 1`` when
    ``y_org == y_aug``, counting the shared class once) is our reconstruction, after
    FKD's marginal smoothing, not the paper's. If rounding makes the two probabilities
    sum above 1, they are scaled to sum to 1. With two classes and ``y_org != y_aug``
    the two probabilities are renormalised.

    Examples
    --------
    >>> dbr_decode(-np.log([[0.5, 0.25]]), [0], [1], 4).round(3).tolist()
    [[0.5, 0.25, 0.125, 0.125]]
    >>> dbr_decode(-np.log([[0.7, 0.7]]), [2], [2], 4).round(3).tolist()
    [[0.1, 0.1, 0.7, 0.1]]
    """
    d = _check_distances(distances)
    n = d.shape[0]
    c = int(n_classes)
    if c < 2 or c != n_classes:
        raise InputError(f"n_classes must be an int >= 2; got {n_classes!r}.")
    yo = check_labels(y_org, c, name="y_org", n_items=n)
    ya = check_labels(y_aug, c, name="y_aug", n_items=n)
    p_org, p_aug = np.exp(-d[:, 0]), np.exp(-d[:, 1])
    same = yo == ya
    p_aug = np.where(same, 0.0, p_aug)  # one class, counted once
    pinned = p_org + p_aug
    scale = np.where(pinned > 1.0, 1.0 / np.maximum(pinned, 1e-300), 1.0)
    p_org, p_aug = p_org * scale, p_aug * scale
    n_rest = np.where(same, c - 1, c - 2)
    rest = 1.0 - p_org - p_aug
    out = np.empty((n, c))
    out[:] = np.where(n_rest > 0, rest / np.maximum(n_rest, 1), 0.0)[:, None]
    rows = np.arange(n)
    # with no other class to take it, the leftover mass goes to the two pinned classes
    lonely = n_rest == 0
    if lonely.any():
        tot = p_org + p_aug
        ok = tot > 0
        safe = np.where(ok, tot, 1.0)
        p_org = np.where(lonely, np.where(ok, p_org / safe, 0.5), p_org)
        p_aug = np.where(lonely, np.where(ok, p_aug / safe, 0.5), p_aug)
    out[rows, yo] = p_org
    out[rows[~same], ya[~same]] = p_aug[~same]
    return out
