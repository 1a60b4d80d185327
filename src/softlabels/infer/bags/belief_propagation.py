"""Belief propagation for LLP-BP pseudo-labels (Havaldar et al., ICLR 2024), binary.

:func:`bp_pseudo_labels` takes the marginals of the Gibbs distribution that ties similar
instances together and each bag to its count of positives, by sum-product loopy belief
propagation (the bag term as pairwise potentials, as in the official code, or as one
exact cardinality factor per bag).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import expit, logsumexp

from softlabels.core.errors import InputError
from softlabels.core.soft import SoftLabels
from softlabels.core.validation import boolean, check_params, integer, none_or, option, real
from softlabels.infer.bags._common import check_binary, check_item_ids, provenance
from softlabels.infer.bags.evidence import BagProportions, as_bag_proportions

__all__ = ["BP_CONSTRAINTS", "BPResult", "BPSettings", "ConvergenceWarning", "bp_marginals",
           "bp_pseudo_labels", "bp_settings", "warn_if_not_converged"]

_BAG_FACTORS = ("pairwise", "cardinality")


class ConvergenceWarning(UserWarning):
    """Loopy belief propagation stopped before its messages settled."""


@dataclass(frozen=True)
class BPResult:
    """Result of :func:`bp_marginals`.

    Attributes
    ----------
    marginals : numpy.ndarray, shape (n_items,)
        Probability that each item's label is 1.
    n_iter : int
        Iterations run.
    converged : bool
        Whether the messages settled within ``tol``.
    delta : float
        Largest message change in the last iteration.
    """

    marginals: np.ndarray
    n_iter: int
    converged: bool
    delta: float


def _bag_layout(codes: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Items sorted by bag and the position of each item inside its bag."""
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.empty(codes.shape[0], dtype=np.int64)
    pos[order] = np.arange(codes.shape[0]) - starts[codes[order]]
    return order, pos


def _bag_pairs(codes: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All unordered pairs of items that share a bag (one block per distinct bag size)."""
    order, _ = _bag_layout(codes, sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    first, second = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
    for m in np.unique(sizes[sizes > 1]):
        members = order[starts[sizes == m][:, None] + np.arange(m)]
        a, b = np.triu_indices(m, 1)
        first.append(members[:, a].ravel())
        second.append(members[:, b].ravel())
    return np.concatenate(first), np.concatenate(second)


def _cardinality_messages(h: np.ndarray, codes: np.ndarray, pos: np.ndarray,
                          sizes: np.ndarray, target: np.ndarray, lam: float) -> np.ndarray:
    """Exact sum-product messages (log-odds) from each bag factor
    ``exp(-lam * (sum_{i in b} y_i - k_b)^2)`` to its items, given the items' incoming
    log-odds ``h``: a forward pass over the count of the items before ``i`` and a
    backward pass over the potential of the count after it, all in log space and
    vectorised over bags (padding items are certain zeros)."""
    n_bags, width = sizes.shape[0], int(sizes.max())
    logits = np.full((n_bags, width), -np.inf)
    logits[codes, pos] = h
    log1 = -np.logaddexp(0.0, -logits)
    log0 = -np.logaddexp(0.0, logits)
    count = np.arange(width + 2)
    forward = np.empty((width + 1, n_bags, width + 1))
    a = np.full((n_bags, width + 1), -np.inf)
    a[:, 0] = 0.0
    forward[0] = a
    for j in range(width):
        nxt = a + log0[:, j, None]
        nxt[:, 1:] = np.logaddexp(nxt[:, 1:], a[:, :-1] + log1[:, j, None])
        forward[j + 1] = a = nxt
    backward = np.empty((width + 1, n_bags, width + 2))
    b = -lam * (count[None, :] - target[:, None]) ** 2
    backward[width] = b
    for j in range(width - 1, -1, -1):
        nxt = b + log0[:, j, None]
        nxt[:, :-1] = np.logaddexp(nxt[:, :-1], b[:, 1:] + log1[:, j, None])
        backward[j] = b = nxt
    before = forward[pos, codes]
    after = backward[pos + 1, codes]
    return logsumexp(before + after[:, 1:], axis=1) - logsumexp(before + after[:, :-1], axis=1)


def _loopy_bp(unary: np.ndarray, first: np.ndarray, second: np.ndarray, weight: np.ndarray,
              bag_factor: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float] | None,
              damping: float, n_iter: int, tol: float) -> BPResult:
    """Sum-product loopy BP on the binary MRF
    ``P(y) ∝ exp(sum_i unary_i y_i + sum_e weight_e y_first y_second) * prod_b bag_b(y)``
    with synchronous, damped log-odds messages, all initialised to 0:
    ``h_{i->j} = unary_i + sum_{k != j} mu_{k->i}``,
    ``mu_{i->j} = softplus(h_{i->j} + w_ij) - softplus(h_{i->j})``,
    ``mu <- damping * mu_old + (1 - damping) * mu_new``,
    ``P(y_i = 1) = sigmoid(unary_i + sum_k mu_{k->i})``."""
    n, n_edges = unary.shape[0], first.shape[0]
    src = np.concatenate([first, second])
    dst = np.concatenate([second, first])
    w = np.concatenate([weight, weight])
    rev = np.concatenate([np.arange(n_edges, 2 * n_edges), np.arange(n_edges)])
    mu = np.zeros(2 * n_edges)
    from_bag = np.zeros(n)
    delta, it = np.inf, 0
    for it in range(1, n_iter + 1):
        incoming = np.bincount(dst, weights=mu, minlength=n)
        h = (unary + incoming + from_bag)[src] - mu[rev]
        new = np.logaddexp(0.0, h + w) - np.logaddexp(0.0, h)
        new = damping * mu + (1.0 - damping) * new
        delta = float(np.abs(new - mu).max(initial=0.0))
        if bag_factor is not None:
            bag_new = _cardinality_messages(unary + incoming, *bag_factor)
            bag_new = damping * from_bag + (1.0 - damping) * bag_new
            delta = max(delta, float(np.abs(bag_new - from_bag).max(initial=0.0)))
            from_bag = bag_new
        mu = new
        if delta <= tol:
            break
    total = unary + np.bincount(dst, weights=mu, minlength=n) + from_bag
    return BPResult(expit(total), it, delta <= tol, delta)


def _check_graph(edges: Any, sims: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    e = np.asarray(edges)
    if e.size == 0:
        e = e.reshape(0, 2)
    if e.ndim != 2 or e.shape[1] != 2 or (e.size and e.dtype.kind not in "iu"):
        raise InputError(f"edges must be an integer array of shape (n_edges, 2); got "
                         f"shape {e.shape}, dtype {e.dtype}.")
    s = np.asarray(sims, dtype=np.float64)
    if s.shape != (e.shape[0],):
        raise InputError(f"sims must have shape ({e.shape[0]},) (one per edge); got {s.shape}.")
    if e.size:
        bad = np.flatnonzero((e < 0).any(axis=1) | (e >= n).any(axis=1))
        if bad.size:
            raise InputError(f"edges: row {bad[0]} ({e[bad[0]].tolist()}) names an item "
                             f"outside 0..{n - 1}.")
        loop = np.flatnonzero(e[:, 0] == e[:, 1])
        if loop.size:
            raise InputError(f"edges: row {loop[0]} joins item {e[loop[0], 0]} to itself.")
    bad = np.flatnonzero(~np.isfinite(s) | (s < 0))
    if bad.size:
        raise InputError(f"sims: edge {bad[0]} has weight {s[bad[0]]}; weights must be "
                         "finite and non-negative.")
    return e.astype(np.int64), s


@dataclass(frozen=True)
class BPSettings:
    """Checked settings of belief propagation (:func:`bp_settings`); the parameters of
    the same names of :func:`bp_pseudo_labels`.

    Parameters
    ----------
    sim_lambda : float
        Weight of the similarity edges.
    bag_lambda : float
        Weight of the bag-count terms.
    bag_factor : str
        ``"pairwise"`` or ``"cardinality"``.
    damping : float
        Share of the old message kept at each update.
    n_iter : int
        Largest number of iterations.
    tol : float
        Stop when no message changes by more than this.
    fix_pure_bags : bool
        Condition on the known labels of items of bags with proportion 0 or 1.
    max_bag_count_for_edges : float or None
        Drop similarity edges whose two bags both have a count of positives above this.
    """

    sim_lambda: float
    bag_lambda: float
    bag_factor: str
    damping: float
    n_iter: int
    tol: float
    fix_pure_bags: bool
    max_bag_count_for_edges: float | None


#: the parameters of belief propagation, shared by :func:`bp_pseudo_labels` and LLPBP
BP_CONSTRAINTS = {
    "sim_lambda": real(low=0.0),
    "bag_lambda": real(low=0.0),
    "bag_factor": option(*_BAG_FACTORS),
    "damping": real(low=0.0, high=0.999),
    "n_iter": integer(low=1),
    "tol": real(low=0.0),
    "fix_pure_bags": boolean,
    "max_bag_count_for_edges": none_or(real(low=0.0)),
}


def bp_settings(values: Mapping[str, Any]) -> BPSettings:
    """The settings from checked parameter values (numbers as float and int).

    Parameters
    ----------
    values : mapping
        Values of every name in :data:`BP_CONSTRAINTS`, already checked.

    Returns
    -------
    BPSettings
    """
    cap = values["max_bag_count_for_edges"]
    return BPSettings(
        float(values["sim_lambda"]), float(values["bag_lambda"]), str(values["bag_factor"]),
        float(values["damping"]), int(values["n_iter"]), float(values["tol"]),
        bool(values["fix_pure_bags"]), None if cap is None else float(cap),
    )


def bp_marginals(edges: np.ndarray, sims: np.ndarray, bags: BagProportions,
                  cfg: BPSettings) -> BPResult:
    """Build the LLP-BP Gibbs distribution and run BP; see :func:`bp_pseudo_labels`.

    Parameters
    ----------
    edges : numpy.ndarray of int, shape (n_edges, 2)
        Checked similarity edges between items.
    sims : numpy.ndarray, shape (n_edges,)
        Their non-negative weights.
    bags : BagProportions
        Binary bag supervision.
    cfg : BPSettings
        The settings.

    Returns
    -------
    BPResult
    """
    n, codes, sizes = bags.n_items, bags.codes, bags.sizes
    k = bags.counts[:, 1]
    i, j = edges[:, 0], edges[:, 1]
    if cfg.max_bag_count_for_edges is not None:
        keep = np.minimum(k[codes[i]], k[codes[j]]) <= cfg.max_bag_count_for_edges + 1e-9
        i, j, sims = i[keep], j[keep], sims[keep]
    ls, lb = cfg.sim_lambda, cfg.bag_lambda
    unary = -ls * (np.bincount(i, sims, n) + np.bincount(j, sims, n))
    rows, cols, vals = [i], [j], [2.0 * ls * sims]
    if cfg.bag_factor == "pairwise":
        unary += -lb * (1.0 - 2.0 * k[codes])
        a, b = _bag_pairs(codes, sizes)
        rows.append(a)
        cols.append(b)
        vals.append(np.full(a.shape[0], -2.0 * lb))
    r, c = np.concatenate(rows), np.concatenate(cols)
    coupling = sparse.coo_matrix((np.concatenate(vals), (np.minimum(r, c), np.maximum(r, c))),
                                 shape=(n, n)).tocsr().tocoo()  # duplicates add up
    first, second, weight = coupling.row, coupling.col, coupling.data

    fixed = np.zeros(n, dtype=bool)
    value = np.zeros(n)
    if cfg.fix_pure_bags:
        pure = np.isclose(k, 0.0) | np.isclose(k, sizes)
        fixed = pure[codes]
        value = np.where(fixed, np.round(k[codes] / sizes[codes]), 0.0)
    free = np.flatnonzero(~fixed)
    marginals = value.copy()
    if free.size == 0:
        return BPResult(marginals, 0, True, 0.0)
    # condition on the fixed labels: an edge to a fixed item becomes a unary term
    unary = unary + np.bincount(first, weight * value[second], n) \
        + np.bincount(second, weight * value[first], n)
    inner = ~fixed[first] & ~fixed[second]
    new_index = np.full(n, -1)
    new_index[free] = np.arange(free.size)
    card = None
    if cfg.bag_factor == "cardinality":
        bag_of_free = codes[free]
        used, local = np.unique(bag_of_free, return_inverse=True)
        local_sizes = np.bincount(local)
        _, pos = _bag_layout(local, local_sizes)
        card = (local, pos, local_sizes, k[used], lb)
    res = _loopy_bp(unary[free], new_index[first[inner]], new_index[second[inner]],
                    weight[inner], card, cfg.damping, cfg.n_iter, cfg.tol)
    marginals[free] = res.marginals
    return BPResult(marginals, res.n_iter, res.converged, res.delta)


def warn_if_not_converged(res: BPResult, cfg: BPSettings, stacklevel: int) -> None:
    if not res.converged:
        warnings.warn(
            f"belief propagation did not converge in {res.n_iter} iterations (largest "
            f"message change {res.delta:.3g} > tol {cfg.tol:g}); the marginals may be "
            "poor. Try more damping (e.g. 0.9), more n_iter, smaller sim_lambda / "
            "bag_lambda, or bag_factor='cardinality'.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )


def bp_pseudo_labels(
    edges: Any,
    sims: Any,
    bag_ids: Any,
    proportions: Any = None,
    *,
    counts: Any = None,
    classes: Sequence[Any] | None = None,
    item_ids: Any = None,
    sim_lambda: float = 10.0,
    bag_lambda: float = 10.0,
    bag_factor: str = "pairwise",
    damping: float = 0.5,
    n_iter: int = 100,
    tol: float = 1e-6,
    fix_pure_bags: bool = True,
    max_bag_count_for_edges: float | None = None,
) -> SoftLabels:
    """LLP-BP pseudo-labels: belief-propagation marginals of the Gibbs distribution
    over binary instance labels (Havaldar et al., ICLR 2024).

    ``P(y) ∝ exp(- sim_lambda * sum_{(i,j) in E} s_ij (y_i - y_j)^2
    - bag_lambda * sum_b (sum_{i in b} y_i - k_b)^2)``, with ``E`` the similarity graph
    (:func:`knn_graph`) and ``k_b = proportion_b * |b|`` the bag's count of positives.

    With ``bag_factor="pairwise"`` (the official code) ``y^2 = y`` turns the bag term into
    a unary log-potential ``-bag_lambda * (1 - 2 k_b)`` per item and ``-2 * bag_lambda``
    on the (1, 1) state of every pair in a bag; a similarity edge adds
    ``-sim_lambda * s_ij`` to both unaries and ``2 * sim_lambda * s_ij`` to the pair.
    ``"cardinality"`` keeps each bag term as one factor over its items and passes its
    messages exactly (the same distribution, fewer loops: exact on graphs whose only loops
    were inside bags). Sum-product loopy BP then runs with synchronous, damped messages,
    initialised to 0 (the official code uses PGMax, ``temperature=1``, 100 iterations,
    damping 0.5: marginals, not MAP).

    Parameters
    ----------
    edges : array-like of shape (n_edges, 2)
        Similarity edges between items (duplicates add up).
    sims : array-like of shape (n_edges,)
        Non-negative edge weights ``s_ij``.
    bag_ids, proportions, counts, classes
        Binary bag supervision, as in :func:`as_bag_proportions`.
    item_ids : array-like, optional
    sim_lambda, bag_lambda : float, default 10.0
        The official script's values. Large bags (32 and more) need smaller values and
        more damping; see Notes.
    bag_factor : {"pairwise", "cardinality"}, default "pairwise"
    damping : float, default 0.5
        ``mu <- damping * mu_old + (1 - damping) * mu_new``.
    n_iter : int, default 100
    tol : float, default 1e-6
        Stop when no message changes by more than this; a :class:`ConvergenceWarning`
        says when the iterations ran out first.
    fix_pure_bags : bool, default True
        Items of bags with proportion 0 or 1 have known labels: condition on them (exact
        labels, and their certainty propagates to their neighbours). ``False`` treats them
        like every other item, as the official code does (then they are only nearly
        certain).
    max_bag_count_for_edges : float, optional
        Keep a similarity edge only when an endpoint's bag has at most this many positives
        (the official script uses 1 on its low-positive-rate data: the pair is kept when
        the kNN search started from such an item; here, when either endpoint qualifies).

    Returns
    -------
    SoftLabels
        ``P(y_i = 1)`` in the second column; provenance method ``"llp-bp"`` with the
        iterations run and whether BP converged.

    Notes
    -----
    Loopy BP on the pairwise expansion is fragile: the bag term couples every pair of
    items in a bag with weight ``-2 * bag_lambda``, and with the defaults messages oscillate
    for bags of 32 or more (on breast cancer the pseudo-labels are then near chance).
    Heavier damping (0.9), more iterations and smaller lambdas help only on some splits.
    ``bag_factor="cardinality"`` with ``sim_lambda=1`` converged on every split we tried,
    for bags of 8 and 32, and was accurate on all splits with bags of 8; with bags of 32
    it settled in a poor fixed point on 5 to 8 splits out of 30
    (``benchmarks/infer_bags.py``). Each iteration costs ``O(sum_b |b|^2)`` either way (the
    pairs of a bag, or its count table).

    Examples
    --------
    >>> edges = [[0, 1], [1, 2], [2, 3]]
    >>> s = bp_pseudo_labels(edges, [1.0, 0.2, 1.0], [0, 0, 1, 1], counts=[1, 1],
    ...                      sim_lambda=1.0, bag_lambda=1.0)
    >>> s.probs[:, 1].round(3).tolist()
    [0.5, 0.5, 0.5, 0.5]
    >>> s = bp_pseudo_labels(edges, [1.0, 0.2, 1.0], [0, 0, 1, 1], counts=[0, 2])
    >>> s.probs[:, 1].tolist()
    [0.0, 0.0, 1.0, 1.0]
    """
    owner = "bp_pseudo_labels"
    settings = bp_settings(check_params(owner, BP_CONSTRAINTS, **{
        name: value for name, value in locals().items() if name in BP_CONSTRAINTS}))
    bags = check_binary(as_bag_proportions(bag_ids, proportions, counts=counts,
                                           classes=classes), owner)
    e, s = _check_graph(edges, sims, bags.n_items)
    res = bp_marginals(e, s, bags, settings)
    warn_if_not_converged(res, settings, stacklevel=3)
    return SoftLabels(
        np.column_stack([1.0 - res.marginals, res.marginals]), bags.classes,
        check_item_ids(item_ids, bags.n_items),
        provenance=provenance("llp-bp", asdict(settings), n_iter=res.n_iter,
                               converged=res.converged),
    )
