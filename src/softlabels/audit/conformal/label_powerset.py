"""The label-powerset inductive conformal predictor for multi-label data."""

from __future__ import annotations

import heapq
import math
import warnings
from typing import Any
import numpy as np

from softlabels.audit.conformal._common import (
    _NORMS,
    Norm,
    _as_float,
    _check_label_sets,
    _check_level,
    _exact,
)
from softlabels.audit.conformal.sets import LabelSetRegions
from softlabels.core.base import BaseEstimator
from softlabels.core.errors import InputError
from softlabels.core.validation import integer, option

__all__ = ["LabelPowersetICP"]


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

    _parameter_constraints = {
        "norm": option(*_NORMS),
        "alpha": _check_level,
        "max_region_size": integer(low=1),
    }

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
        self._validate_params()
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
