"""Classes ranked by probability, and the APS/RAPS scores and thresholds computed on them."""

from __future__ import annotations

import numpy as np

from softlabels.audit.conformal._common import _upper_rank


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
