"""Spectral initialisation of Dawid–Skene by the method of moments.

Zhang, Chen, Zhou and Jordan (2014) estimate the confusion matrices without EM:

1. The workers are split into three groups, and each item gets one aggregated label
   vector per group, ``Z_g[i] = sum of the one-hot answers of group g on item i``. Given
   the true class the three vectors are independent, with means ``mu_g[:, h]``.
2. For each group ``c`` (the other two ``a`` and ``b``), the symmetrised vectors
   ``Z'_a = E[Z_c Z_b^T] E[Z_a Z_b^T]^-1 Z_a`` and ``Z'_b = E[Z_c Z_a^T] E[Z_b Z_a^T]^-1 Z_b``
   have the same conditional means as ``Z_c``, so
   ``M2 = E[Z'_a Z'_b^T] = sum_h w_h mu_c,h mu_c,h^T`` and
   ``M3 = E[Z'_a x Z'_b x Z_c] = sum_h w_h mu_c,h^(x3)``.
   Whitening ``M2`` turns ``M3`` into an orthogonally decomposable tensor, whose
   eigenpairs ``(lambda_h, v_h)`` (robust tensor power method) give ``w_h = lambda_h^-2``
   and ``mu_c,h = lambda_h (Q^T)^+ v_h``.
3. The group means are refined from second-order moments only,
   ``M_c = E[Z_c Z_alt^T] (W M_alt^T)^-1`` with ``Z_alt = Z_a + Z_b``.
4. Each worker's confusion follows from its cross moment with the other two groups:
   ``E[z_w Z_alt^T] = C~_w W M_alt^T``, so ``C~_w = E[z_w Z_alt^T] (W M_alt^T)^-1``; the
   clipped, pseudo-counted columns are normalised, and one E-step gives the posteriors.

With two classes, the one-coin variant of step 2 comes first: it needs second-order
moments only (see :func:`_binary_means`), and the tensor is the fallback.

The components come out unordered; each group's columns are matched to classes by the
assignment that maximises the trace (the paper assumes every group answers the true
class more often than any single wrong one). An estimate is kept only if every group
then answers each class more often than any wrong one and the means explain the
observed cross moments ``E[Z_a Z_b^T]`` to within half their size; otherwise the raw
(unrefined) means are tried, then the soft vote is returned.

Everything is deterministic: the groups are balanced by answer counts (workers in
order of decreasing count, each to the group with fewest answers so far, ties by
worker id, so that the order of the answers does not matter) and the power method
starts from a fixed seed.

References
----------
Y. Zhang, X. Chen, D. Zhou and M. I. Jordan, "Spectral methods meet EM: a provably
optimal algorithm for crowdsourcing", NeurIPS 2014; JMLR 17(102), 2016.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

from softlabels.core.annotations import Annotations, sort_order
from softlabels.core.soft import normalize_rows
from softlabels.core.validation import check_float, check_int

__all__ = [
    "SpectralEstimate", "estimate_from_moments", "estimate_posteriors", "group_moments",
    "spectral_estimate", "spectral_posteriors",
]

#: group means ``mu_g[:, h]`` (one K x K matrix per group) and the class prior
Means = tuple[list[np.ndarray], np.ndarray]
#: relative size below which a singular value counts as zero
_RCOND = 1e-8
#: largest relative misfit of the estimated cross moments that is accepted
_MAX_RESIDUAL = 0.5


@dataclass(frozen=True)
class SpectralEstimate:
    """The moment estimates.

    Attributes
    ----------
    groups : ndarray of shape (n_workers,)
        Group (0, 1 or 2) of each worker.
    group_confusions : ndarray of shape (3, n_classes, n_classes)
        ``[g, k, l]`` = P(an answer of group g is l | true class k): the answer-weighted
        average confusion of the group's workers.
    priors : ndarray of shape (n_classes,)
    confusions : ndarray of shape (n_workers, n_classes, n_classes)
        ``[w, k, l]`` = P(worker w answers l | true class k).
    """

    groups: np.ndarray
    group_confusions: np.ndarray
    priors: np.ndarray
    confusions: np.ndarray


def split_workers(answers_per_worker: np.ndarray, n_groups: int = 3) -> np.ndarray:
    """Balanced split by answer counts: workers in order of decreasing count (ties by
    code) go one by one to the group with the fewest answers so far (ties to the lowest
    group)."""
    order = np.argsort(-answers_per_worker, kind="stable")
    load = np.zeros(n_groups)
    groups = np.empty(answers_per_worker.shape[0], dtype=np.int64)
    for w in order:
        g = int(np.argmin(load))
        groups[w] = g
        load[g] += answers_per_worker[w]
    return groups


def symmetric_moments(
    za: np.ndarray, zb: np.ndarray, zc: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """``M2`` and ``M3`` of group c from the (n_items, K) aggregated vectors of the three
    groups, or None when a cross moment is singular."""
    return _symmetric(za.T @ zb, zc.T @ zb, zc.T @ za,
                      np.einsum("ia,ib,ic->abc", za, zb, zc), za.shape[0])


def _symmetric(
    c_ab: np.ndarray, c_cb: np.ndarray, c_ca: np.ndarray, t_abc: np.ndarray, n: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`symmetric_moments` from the sums over items ``Z_a^T Z_b``, ``Z_c^T Z_b``,
    ``Z_c^T Z_a`` and ``sum_i Z_a[i] x Z_b[i] x Z_c[i]``: with ``Z'_a = Z_a X`` and
    ``Z'_b = Z_b Y``, ``M2 = X^T E[Z_a Z_b^T] Y`` and ``M3`` is the triple sum with its
    first two axes mapped by ``X`` and ``Y``."""
    m_ab, m_ba = c_ab / n, c_ab.T / n
    m_cb, m_ca = c_cb / n, c_ca / n
    if not (_invertible(m_ab) and _invertible(m_ba)):
        return None
    x = np.linalg.solve(m_ab.T, m_cb.T)  # Z'_a = Z_a x: rows (M_cb M_ab^-1 z_a)^T
    y = np.linalg.solve(m_ba.T, m_ca.T)
    m2 = x.T @ m_ab @ y
    m2 = (m2 + m2.T) / 2
    m3 = np.einsum("pqr,pa,qb->abr", t_abc, x, y) / n
    return m2, m3


def _invertible(m: np.ndarray) -> bool:
    s = np.linalg.svd(m, compute_uv=False)
    return bool(np.isfinite(s).all() and s[0] > 0 and s[-1] > _RCOND * s[0])


def tensor_components(
    m2: np.ndarray,
    m3: np.ndarray,
    *,
    n_starts: int = 20,
    n_steps: int = 100,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Weights ``w`` and columns ``mu[:, h]`` with ``M2 = sum_h w_h mu_h mu_h^T`` and
    ``M3 = sum_h w_h mu_h^(x3)``, by whitening and the robust tensor power method
    (Anandkumar et al. 2014); None when ``M2`` is not positive definite."""
    k = m2.shape[0]
    vals, vecs = np.linalg.eigh(m2)
    if not (np.isfinite(vals).all() and vals[-1] > 0 and vals[0] > _RCOND * vals[-1]):
        return None
    q = vecs / np.sqrt(vals)  # Q^T M2 Q = I
    unwhiten = vecs * np.sqrt(vals)  # (Q^T)^+
    t = np.einsum("abc,ai,bj,ck->ijk", m3, q, q, q)
    rng = np.random.default_rng(seed)
    lams, cols = np.empty(k), np.empty((k, k))
    for h in range(k):
        starts = rng.standard_normal((n_starts, k))
        thetas = _power(t, starts / np.linalg.norm(starts, axis=1, keepdims=True), n_steps)
        vals = np.einsum("abc,sa,sb,sc->s", t, thetas, thetas, thetas)
        theta = _power(t, thetas[[int(np.argmax(vals))]], n_steps)[0]
        lam = float(np.einsum("abc,a,b,c->", t, theta, theta, theta))
        if not np.isfinite(lam) or lam <= 0:
            return None
        lams[h], cols[:, h] = lam, unwhiten @ theta * lam
        t = t - lam * np.einsum("a,b,c->abc", theta, theta, theta)
    return lams**-2.0, cols


def _power(t: np.ndarray, thetas: np.ndarray, n_steps: int) -> np.ndarray:
    """``n_steps`` power iterations ``theta <- T(I, theta, theta) / norm`` of each row of
    ``thetas``, stopping early once no row moves."""
    k = t.shape[0]
    flat = t.reshape(k, k * k)
    for _ in range(n_steps):
        pairs = (thetas[:, :, None] * thetas[:, None, :]).reshape(len(thetas), k * k)
        nxt = pairs @ flat.T
        norm = np.linalg.norm(nxt, axis=1, keepdims=True)
        nxt = np.where(norm > 0, nxt / np.where(norm > 0, norm, 1.0), thetas)
        done = np.abs(nxt - thetas).max() < 1e-12
        thetas = nxt
        if done:
            break
    return thetas


def spectral_estimate(
    ann: Annotations, *, alpha: float = 1.0, seed: int = 0
) -> SpectralEstimate | None:
    """Group and worker confusion matrices by the method of moments, or None when the
    moments are degenerate (fewer than two classes or three workers answering, a group
    without answers, a singular cross moment, a class the data never separates, a
    non-positive component, a group whose estimate answers a wrong class at least as
    often as the true one).

    ``alpha`` pseudo-counts are added to each worker's estimated counts (as in the
    Dawid–Skene M-step) before its confusion rows are normalised; the moment estimates
    of a worker with few answers are noisy, and clipped negative cells would otherwise
    become near-zero probabilities.

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    alpha : float, default 1.0
        Pseudo-count added to each worker's estimated counts, 0 or more.
    seed : int, default 0
        Seed of the random starts of the tensor power method, 0 or more.

    Returns
    -------
    SpectralEstimate or None
        None when the moments are degenerate.

    Raises
    ------
    InvalidParameterError
        When ``alpha`` is negative or ``seed`` is not a non-negative integer.
    """
    alpha = check_float(alpha, "alpha", "spectral_estimate", low=0.0)
    seed = check_int(seed, "seed", "spectral_estimate", low=0)
    k, n_w = ann.n_classes, ann.answers_per_worker
    if k < 2 or np.count_nonzero(n_w) < 3:
        return None
    by_id = sort_order(ann.worker_ids)  # ties by worker id, not by first appearance
    groups = np.empty(ann.n_workers, dtype=np.int64)
    groups[by_id] = split_workers(n_w[by_id])
    return estimate_from_moments(group_moments(ann, groups), groups, alpha=alpha, seed=seed)


Moments = dict[str, Any]


def group_moments(ann: Annotations, groups: np.ndarray) -> Moments:
    """What the estimate reads from the answers, all sums over items of the groups'
    vote vectors ``Z_g[i]`` (so the sums over any split of the items add up to them):
    ``n`` items, ``cross[g, h] = sum_i Z_g[i] Z_h[i]^T``, ``triple = sum_i Z_0[i] x
    Z_1[i] x Z_2[i]``, ``totals[g] = sum_i Z_g[i]``, and ``pairs[w * K + l]``: the sum of
    ``Z_alt[i]`` (the other two groups' votes) over the items worker w answered l.

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    groups : numpy.ndarray of int, shape (n_workers,)
        Group (0, 1 or 2) of each worker.

    Returns
    -------
    dict
        ``n``, ``cross``, ``triple``, ``totals`` and ``pairs``.
    """
    z = [_group_votes(ann, groups == g) for g in range(3)]
    k = ann.n_classes
    pairs = np.zeros((ann.n_workers * k, k))
    pair_item = ann.pair_item_matrix
    for g in range(3):
        members = np.flatnonzero(groups == g)
        rows = (members[:, None] * k + np.arange(k)).ravel()
        z_alt = sum(z[h] for h in range(3) if h != g)
        pairs[rows] = np.asarray(sp.csr_matrix(pair_item[rows]) @ z_alt)
    return {
        "n": float(ann.n_items),
        "cross": np.stack([np.stack([za.T @ zb for zb in z]) for za in z]),
        "triple": np.einsum("ia,ib,ic->abc", *z),
        "totals": np.stack([zg.sum(axis=0) for zg in z]),
        "pairs": pairs,
    }


def estimate_from_moments(
    moments: Moments, groups: np.ndarray, *, alpha: float = 1.0, seed: int = 0
) -> SpectralEstimate | None:
    """:func:`spectral_estimate` from :func:`group_moments` (summed over the parts of
    the answers) and the worker groups.

    Parameters
    ----------
    moments : dict
        The sums of :func:`group_moments`.
    groups : numpy.ndarray of int, shape (n_workers,)
        Group (0, 1 or 2) of each worker.
    alpha : float, default 1.0
        Pseudo-count added to each worker's estimated counts, 0 or more.
    seed : int, default 0
        Seed of the random starts of the tensor power method, 0 or more.

    Returns
    -------
    SpectralEstimate or None
        None when no items were seen or the moments are degenerate.
    """
    if moments["n"] <= 0:
        return None
    # two classes: the one-coin second-order moments first, the tensor if they fail;
    # the refined means first, the raw ones if refining breaks them
    for found in _candidate_means(moments, seed):
        if found is None:
            continue
        mus, prior = found
        for means in (_refine(moments, mus, prior), mus):
            group_conf = None if means is None else _group_confusions(means)
            if group_conf is None or not _fits_cross_moments(moments, means, prior):
                continue
            conf = _worker_confusions(moments["pairs"], groups, means, prior, alpha)
            if conf is not None:
                return SpectralEstimate(groups, group_conf, prior, conf)
    return None


def _candidate_means(moments: Moments, seed: int) -> Iterator[Means | None]:
    """Group means and prior by each method in turn, computed only when asked for: the
    one-coin second-order moments first when there are two classes, then the tensor."""
    if moments["totals"].shape[1] == 2:
        yield _binary_means(moments)
    yield _tensor_means(moments, seed)


def _fits_cross_moments(moments: Moments, mus: list[np.ndarray], prior: np.ndarray) -> bool:
    """Whether the means explain the observed cross moments, ``E[Z_a Z_b^T] = M_a W M_b^T``,
    to within half their size for every pair of groups (a group matched to the wrong
    classes misses by more than their size)."""
    n = moments["n"]
    for a, b in ((0, 1), (0, 2), (1, 2)):
        seen = moments["cross"][a, b] / n
        misfit = np.linalg.norm(seen - (mus[a] * prior) @ mus[b].T)
        if misfit > _MAX_RESIDUAL * np.linalg.norm(seen):
            return False
    return True


def _group_confusions(mus: list[np.ndarray]) -> np.ndarray | None:
    """Normalised group confusions ``[g, k, l]``, or None when a group answers some
    wrong class at least as often as the true one (the matching assumption fails)."""
    k = mus[0].shape[0]
    group_conf = np.stack([normalize_rows(np.maximum(mu, 0.0).T) for mu in mus])
    diag = np.einsum("gkk->gk", group_conf)
    if (group_conf >= diag[:, :, None] - np.eye(k)).sum(axis=2).max() > 1:
        return None
    return group_conf


def _tensor_means(moments: Moments, seed: int) -> Means | None:
    """Each group's conditional means ``mu_g[:, h]`` and the class prior, from the
    whitened third-order moments (classes matched per group)."""
    mus, weights = [], []
    cross = moments["cross"]
    for c in range(3):
        a, b = (c + 1) % 3, (c + 2) % 3
        sym = _symmetric(cross[a, b], cross[c, b], cross[c, a],
                         moments["triple"].transpose(a, b, c), moments["n"])
        found = None if sym is None else tensor_components(*sym, seed=seed)
        perm = None if found is None else _match_classes(found[1])
        if perm is None:
            return None
        mus.append(found[1][:, perm])
        weights.append(found[0][perm])
    prior = np.mean(weights, axis=0)
    if not (np.isfinite(prior).all() and (prior > 0).all()):
        return None
    return mus, prior / prior.sum()


def _binary_means(moments: Moments) -> Means | None:
    """Two classes, one coin per group: with ``s_g = Z_g[:, 0] - Z_g[:, 1]`` and
    ``y = +-1``, ``E[s_a s_b] = d_a d_b`` where ``d_g`` is the group's expected
    surplus of right over wrong answers, so ``d_a = sqrt(E[s_a s_b] E[s_a s_c] / E[s_b s_c])``
    (positive: groups better than chance), and ``E[s_g] = d_g E[y]`` gives the prior.
    Second-order moments only: far steadier than the tensor on small sets."""
    n, c = moments["n"], moments["cross"]
    cross = (c[:, :, 0, 0] - c[:, :, 0, 1] - c[:, :, 1, 0] + c[:, :, 1, 1]) / n  # E[s_g s_h]
    d = np.empty(3)
    for c in range(3):
        a, b = (c + 1) % 3, (c + 2) % 3
        if not (cross[c, a] > 0 and cross[c, b] > 0 and cross[a, b] > 0):
            return None
        d[c] = np.sqrt(cross[c, a] * cross[c, b] / cross[a, b])
    totals = moments["totals"]
    rate = totals.sum(axis=1) / n  # answers per item
    d = np.minimum(d, rate)  # above the rate only by noise: a perfect group
    mean_s = (totals[:, 0] - totals[:, 1]) / n  # E[s_g]
    bias = float(np.clip(np.mean(mean_s / d), -0.98, 0.98))  # E[y]
    prior = np.array([1 + bias, 1 - bias]) / 2
    mus = [np.array([[r + dg, r - dg], [r - dg, r + dg]]) / 2 for r, dg in zip(rate, d)]
    return mus, prior


def _refine(
    moments: Moments, mus: list[np.ndarray], prior: np.ndarray
) -> list[np.ndarray] | None:
    """Each group's means again, from its cross moment with the other two groups:
    ``M_c = E[Z_c Z_alt^T] (W M_alt^T)^-1``. Second-order moments are far less noisy
    than the third-order ones the tensor estimates came from."""
    n, sums = moments["n"], moments["cross"]
    out = []
    for c in range(3):
        a, b = (c + 1) % 3, (c + 2) % 3
        denom = (mus[a] + mus[b]) * prior  # M_alt W
        if not _invertible(denom):
            return None
        cross = (sums[c, a] + sums[c, b]) / n
        out.append(np.linalg.solve(denom, cross.T).T)
    return out


def _group_votes(ann: Annotations, members: np.ndarray) -> np.ndarray:
    """(n_items, K) answer counts per class from the workers in ``members``."""
    keep = members[ann.worker]
    k = ann.n_classes
    flat = np.bincount(
        ann.item[keep].astype(np.int64) * k + ann.label[keep], minlength=ann.n_items * k
    )
    return flat.reshape(ann.n_items, k).astype(np.float64)


def _match_classes(mu: np.ndarray) -> np.ndarray | None:
    """Column order that puts each component on the class it answers most often."""
    if not np.isfinite(mu).all():
        return None
    share = np.maximum(mu, 0.0) / np.maximum(np.maximum(mu, 0.0).sum(axis=0), 1e-300)
    rows, cols = linear_sum_assignment(-share)  # rows: classes, cols: components
    return cols[np.argsort(rows)]


def _worker_confusions(
    pairs: np.ndarray,
    groups: np.ndarray,
    mus: list[np.ndarray],
    prior: np.ndarray,
    alpha: float,
) -> np.ndarray | None:
    """``C~_w = E[z_w Z_alt^T] (W M_alt^T)^-1`` per worker, as expected counts on the
    n items (clipped at 0, plus ``alpha``), normalised per true class; ``pairs`` (of
    :func:`group_moments`) stacks the sums over items of ``z_w Z_alt^T`` by worker."""
    k = prior.shape[0]
    conf = np.empty((groups.shape[0], k, k))
    for g in range(3):
        others = [h for h in range(3) if h != g]
        m_alt = mus[others[0]] + mus[others[1]]
        denom = (m_alt * prior).T  # W M_alt^T
        if not _invertible(denom):
            return None
        inv = np.linalg.inv(denom)
        members = np.flatnonzero(groups == g)
        rows = (members[:, None] * k + np.arange(k)).ravel()
        est = (pairs[rows] @ inv).reshape(-1, k, k)  # [w, l, h] = n * C~_w[l, h]
        counts = np.maximum(est * prior[None, None, :], 0.0) + alpha  # ~ answers of w on class h
        counts = counts.transpose(0, 2, 1)  # [w, h, l]
        conf[members] = counts / counts.sum(axis=2, keepdims=True)
    if not np.isfinite(conf).all():
        return None
    return conf


def spectral_posteriors(
    ann: Annotations, *, alpha: float = 1.0, seed: int = 0
) -> np.ndarray:
    """(n_items, n_classes) posteriors of one E-step from the spectral estimates of the
    worker confusions and class prior.

    Falls back, silently, to the soft-vote posteriors (answer shares per item) when the
    moments are degenerate: fewer than two classes or three answering workers, a group
    with no answers or whose answers never meet another group's, a class no group
    separates, a non-positive tensor component, a group that would answer a wrong class
    as often as the true one, means that do not explain the cross moments, or non-finite
    results. :func:`spectral_estimate` says whether it happened (None on fallback).

    Parameters
    ----------
    ann : Annotations
    alpha : float, default=1.0
        Pseudo-count added to each worker's estimated answer counts per true class.
    seed : int, default=0
        Seed of the random starts of the tensor power method.
    """
    est = spectral_estimate(ann, alpha=alpha, seed=seed)
    post = None if est is None else estimate_posteriors(ann, est)
    if post is None or not np.isfinite(post).all():
        return normalize_rows(ann.counts)
    return post


def estimate_posteriors(ann: Annotations, est: SpectralEstimate) -> np.ndarray:
    """One E-step from the estimated worker confusions and class prior (rows may be
    non-finite: :func:`spectral_posteriors` then falls back to the soft vote).

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    est : SpectralEstimate
        The moment estimates.

    Returns
    -------
    numpy.ndarray, shape (n_items, n_classes)
    """
    k = ann.n_classes
    with np.errstate(divide="ignore", invalid="ignore"):  # alpha=0 leaves exact zeros
        log_table = np.log(est.confusions).transpose(0, 2, 1).reshape(-1, k)  # [w*K + l, k]
        logits = np.asarray(ann.item_pair_matrix @ log_table) + np.log(est.priors)
        logits -= logits.max(axis=1, keepdims=True)
        post = np.exp(logits)
        post /= post.sum(axis=1, keepdims=True)
    return post
