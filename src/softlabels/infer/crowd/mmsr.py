"""M-MSR: worker reliabilities by robust rank-one completion (Ma & Olshevsky, 2020)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from softlabels.core.validation import integer, none_or, real
from softlabels.core.annotations import Annotations
from softlabels.core.soft import softmax
from softlabels.infer.base import CrowdModel
from softlabels.infer import em as K

__all__ = ["MMSR"]


def _trimmed_row_means(
    rows: np.ndarray, vals: np.ndarray, n_rows: int, indptr: np.ndarray, trim: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of each row's values after dropping its ``trim[row]`` smallest and largest.

    ``rows`` must be sorted and ``indptr`` be the CSR row pointer for them.
    """
    order = np.lexsort((vals, rows))
    v = vals[order]
    r = rows[order]
    rank = np.arange(r.size) - indptr[r]
    deg = np.diff(indptr)[r]
    keep = (rank >= trim[r]) & (rank < deg - trim[r])
    sums = np.bincount(r[keep], weights=v[keep], minlength=n_rows)
    counts = np.bincount(r[keep], minlength=n_rows)
    return sums, counts


def _leading_signs(
    cov: sp.csr_matrix, weights: np.ndarray, n_iter: int = 2000, tol: float = 1e-12
) -> np.ndarray:
    """Signs of the leading eigenvector of ``C``, per connected component.

    ``C ~ s s^T`` away from the diagonal, so its leading eigenvector points along ``s``;
    the covariances themselves are used, not their signs, so that a pair that agrees
    about as often as chance (``C_ij`` near 0, the noisiest entries) weighs little
    where ``sign(C)`` would count it as fully as a pair that always agrees.
    Power iteration on ``C + d I`` (``d`` the largest absolute row sum, so that every
    eigenvalue is >= 0 and the dominant one is the largest), started from all ones so
    that a component's majority counts as better than chance. Each component is
    normalised on its own: a small component would otherwise shrink towards 0 beside
    a large one and take its signs from rounding. An eigenvector's overall sign is
    arbitrary: each component is oriented so that the workers on the positive side
    carry more ``weights`` (the number of answers: most answers come from
    better-than-chance workers) than those on the negative side; when both sides
    carry the same the data cannot tell, and every worker of the component counts as
    better than chance. Entries within rounding of 0 count as +1.
    """
    from scipy.sparse.csgraph import connected_components

    n = cov.shape[0]
    _, comp = connected_components(cov, directed=False)
    shift = float(np.bincount(np.repeat(np.arange(n), np.diff(cov.indptr)),
                              weights=np.abs(cov.data), minlength=n).max(initial=0.0))
    vec = np.ones(n)
    for _ in range(n_iter):
        nxt = cov @ vec + shift * vec
        scale = np.zeros(comp.max() + 1)
        np.maximum.at(scale, comp, np.abs(nxt))
        nxt /= np.where(scale > 0, scale, 1.0)[comp]
        done = np.abs(nxt - vec).max() < tol
        vec = nxt
        if done:
            break
    vec[np.abs(vec) < 1e-9] = 0.0
    n_comp = comp.max() + 1
    side = np.sign(vec)
    total = np.bincount(comp, weights=side * weights, minlength=n_comp)
    scale = np.bincount(comp, weights=np.abs(side) * weights, minlength=n_comp)
    orient = np.sign(np.where(np.abs(total) > 1e-9 * scale, total, 0.0))
    vec = np.where(orient[comp] == 0, 1.0, vec * orient[comp])
    return np.where(vec < 0, -1.0, 1.0)


class MMSR(CrowdModel):
    """Matrix Mean-Subsequence-Reduced: estimate each worker's reliability from how
    often pairs of workers agree, robustly to adversarial workers.

    For workers i, j with common items, ``C_ij = (K a_ij - 1) / (K - 1)`` where
    ``a_ij`` is their agreement rate; in expectation ``C_ij = s_i s_j`` with
    ``s = (K p - 1) / (K - 1)`` and ``p`` the worker's accuracy. ``|C|`` is completed
    as a rank-one matrix ``u v^T`` by alternating trimmed means (each row drops its
    ``F`` largest and ``F`` smallest ratios), signs come from the leading eigenvector
    of ``C`` on the co-answer graph (power iteration from all ones, so that
    most workers count as better than chance; ``C`` itself rather than ``sign(C)``:
    near-chance pairs, the noisiest, weigh little), and skills are clipped to
    ``[-1/(K-1) + 1/sqrt(n), 1 - 1/sqrt(n)]`` as in the reference code (``n``: the items
    with at least one answer).

    Labels are the weighted vote with log-odds weights ``log(p (K-1) / (1-p))``; the
    soft label is its softmax, i.e. the one-coin posterior given those accuracies.
    Workers who share no item with anyone get the median reliability of the others.

    Parameters
    ----------
    n_iter : int, default=1000
    tol : float, default=1e-10
        Stop when ``u`` and ``v`` change by less than ``tol`` (max abs).
    n_trim : int or None, default=None
        ``F``. None uses the reference rule ``floor(min_degree / 2) - 1`` (at least 0);
        each row never trims more than leaves one value.

    Attributes
    ----------
    reliabilities_ : ndarray of shape (n_workers,)
        ``s`` in ``[-1/(K-1), 1]``.
    skills_ : ndarray of shape (n_workers,)
        Accuracy ``p``.
    weights_ : ndarray of shape (n_workers,)
        Log-odds vote weights.

    References
    ----------
    Q. Ma, A. Olshevsky, "Adversarial crowdsourcing through robust rank-one matrix
    completion", NeurIPS 2020.
    """

    name = "mmsr"
    summary = "reliabilities by robust rank-one completion (Ma & Olshevsky 2020)"
    _parameter_constraints = {
        "n_iter": integer(low=1),
        "tol": real(low=0.0),
        "n_trim": none_or(integer(low=0)),
    }

    def __init__(self, *, n_iter: int = 1000, tol: float = 1e-10, n_trim: int | None = None) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.n_trim = n_trim

    def _covariance(self, ann: Annotations) -> sp.csr_matrix:
        k = ann.n_classes
        # a worker's answers on an item count as a distribution (repeats share weight 1)
        key = ann.worker.astype(np.int64) * ann.n_items + ann.item
        _, pos, per_pair = np.unique(key, return_inverse=True, return_counts=True)
        weight = 1.0 / per_pair[pos]
        b = sp.csr_matrix((weight, (ann.worker, ann.item)), shape=(ann.n_workers, ann.n_items))
        b.data[:] = 1.0  # duplicates summed to 1 already; make it exact
        o = sp.csr_matrix(
            (weight, (ann.worker, ann.item.astype(np.int64) * k + ann.label)),
            shape=(ann.n_workers, ann.n_items * k),
        )
        common = (b @ b.T).tocoo()
        agree = (o @ o.T).tocsr()
        off = common.row != common.col
        rows, cols, n_common = common.row[off], common.col[off], common.data[off]
        if rows.size == 0:  # nobody shares an item with anybody
            return sp.csr_matrix((ann.n_workers, ann.n_workers))
        a = np.asarray(agree[rows, cols], dtype=np.float64).ravel() / n_common
        c = (k * a - 1.0) / (k - 1)
        return sp.csr_matrix((c, (rows, cols)), shape=(ann.n_workers, ann.n_workers))

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        n_w, k = ann.n_workers, ann.n_classes
        if k < 2:
            self.reliabilities_ = np.ones(n_w)
            self.skills_ = np.ones(n_w)
            self.weights_ = np.zeros(n_w)
            return np.ones((ann.n_items, 1))
        cov = self._covariance(ann)
        cov.sort_indices()
        deg = np.diff(cov.indptr)
        connected = deg > 0
        s = np.zeros(n_w)
        if connected.any():
            rows = np.repeat(np.arange(n_w), deg)
            cols = cov.indices
            x = np.abs(cov.data)
            f = self.n_trim
            if f is None:
                f = max(int(np.floor(deg[connected].min() / 2)) - 1, 0)
            trim = np.minimum(f, np.maximum((deg - 1) // 2, 0))
            u = np.ones(n_w)
            v = np.ones(n_w)
            self.converged_ = False
            for it in range(1, self.n_iter + 1):
                sums, counts = _trimmed_row_means(
                    rows, x / np.maximum(u[cols], 1e-6), n_w, cov.indptr, trim
                )
                v_new = np.where(counts > 0, sums / np.maximum(counts, 1), v)
                sums, counts = _trimmed_row_means(
                    rows, x / np.maximum(v_new[cols], 1e-6), n_w, cov.indptr, trim
                )
                u_new = np.where(counts > 0, sums / np.maximum(counts, 1), u)
                change = max(np.abs(u_new - u).max(), np.abs(v_new - v).max())
                u, v = u_new, v_new
                self.n_iter_ = it
                if change < self.tol:
                    self.converged_ = True
                    break
            norm_u, norm_v = np.linalg.norm(u[connected]), np.linalg.norm(v[connected])
            s_abs = u / np.sqrt(norm_u / norm_v) if norm_u > 0 and norm_v > 0 else np.zeros(n_w)
            sign = _leading_signs(cov, ann.answers_per_worker.astype(np.float64))
            s = sign * s_abs
            s[~connected] = np.median(s[connected])
        else:
            s[:] = 0.5
        # n: the items answered (the reference's tasks); a declared item nobody answered,
        # as in stacking's training folds, must not move the other items
        answered = int(np.count_nonzero(ann.answers_per_item))
        margin = 1.0 / np.sqrt(max(answered, 2))
        lo, hi = -1.0 / (k - 1) + margin, 1.0 - margin
        if lo > hi:  # too few items for the reference margins
            lo = hi = (lo + hi) / 2
        s = np.clip(s, lo, hi)
        p = s * (k - 1) / k + 1.0 / k
        weights = np.log(p * (k - 1) / (1.0 - p))
        self.reliabilities_ = s
        self.skills_ = p
        self.weights_ = weights
        return softmax(K.worker_votes(ann, weights))

    def _extra_worker_columns(self) -> dict[str, np.ndarray]:
        return {"reliability": self.reliabilities_, "weight": self.weights_}
