"""NGAME's negative-mining-aware mini-batches for in-batch softmax over many labels.

In-batch negatives are free but easy when the batches are random. NGAME (Dahiya et al.,
WSDM 2023) builds each mini-batch from whole clusters of training items that lie close in
the current embedding space, so the positives of an item's neighbours become its in-batch
negatives, and hard ones. The clusters come from recursive balanced spherical 2-means
(:func:`balanced_spherical_kmeans`); their size grows along a curriculum, from 1 (random
batches) by doubling at each epoch of ``schedule`` (:class:`ClusteredBatchSampler`).
:func:`in_batch_targets` gives the ``(B, B)`` relevance of the labels sampled for a batch,
for :func:`softlabels.train.nn.functional.decoupled_softmax_loss` or any in-batch loss.

NumPy only: the sampler yields lists of item positions, which is what a PyTorch
``DataLoader(dataset, batch_sampler=sampler)`` takes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.validation import check_features, check_float, check_int, check_random_state

__all__ = [
    "balanced_spherical_kmeans",
    "ClusteredBatchSampler",
    "in_batch_targets",
    "sample_positives",
]

#: NGAME's curriculum (``sampling_curr_epochs`` of the official configs): the cluster size
#: doubles at each of these epochs.
NGAME_SCHEDULE = (10, 20, 25, 50, 75, 100, 125, 150, 200)

_NORM_EPS = 1e-12


def _unit(z: np.ndarray) -> np.ndarray:
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), _NORM_EPS)


def _split_two(z: np.ndarray, n_first: int, rng: np.random.Generator, tol: float,
               max_iter: int) -> np.ndarray:
    """Balanced spherical 2-means of the unit rows ``z``: a boolean mask of the ``n_first``
    rows of the first part. For fixed centroids, sorting the rows by
    ``sim(x, c2) - sim(x, c1)`` and cutting after ``n_first`` is the best assignment with
    those part sizes."""
    m = z.shape[0]
    a = int(rng.integers(m))
    c = z[[a, int(np.argmin(z @ z[a]))]]  # a random member and the one least like it
    first = np.zeros(m, dtype=bool)
    old = -np.inf
    for _ in range(max_iter):
        diff = z @ c[1] - z @ c[0]
        order = np.argsort(diff, kind="stable")
        first[:] = False
        first[order[:n_first]] = True
        c = _unit(np.stack([z[first].sum(axis=0), z[~first].sum(axis=0)]))
        obj = float((z[first] @ c[0]).sum() + (z[~first] @ c[1]).sum()) / m
        if obj - old < tol:
            break
        old = obj
    return first


def balanced_spherical_kmeans(
    embeddings: Any,
    n_clusters: int,
    *,
    tol: float = 1e-4,
    max_iter: int = 50,
    random_state: Any = None,
) -> list[np.ndarray]:
    """Balanced clusters of L2-normalised embeddings by recursive spherical 2-means.

    NGAME's clustering (``cluster_balance`` with ``b_kmeans_dense`` in the authors'
    pyxclib): normalise the rows, then bisect recursively; a part that is to hold ``k``
    clusters is cut into parts for ``floor(k/2)`` and ``ceil(k/2)`` clusters with sizes in
    that ratio (NGAME's ``n_clusters`` is a power of two: equal halves). A split starts
    from a random member and the member least similar to it as centroids (pyxclib draws
    both at random, which can start both in one group and stay there) and alternates (a)
    sorting the members by ``cos(x, c_2) - cos(x, c_1)`` and cutting the list at the
    part's size with (b) setting each centroid to the normalised mean of its part, until
    the mean similarity gains less than ``tol``. The sizes differ by at most one for a
    power of two, and stay within a few items of ``n_items / n_clusters`` otherwise.

    Parameters
    ----------
    embeddings : array-like of shape (n_items, n_features)
        Finite item embeddings (zero rows are allowed; they stay zero).
    n_clusters : int in [1, n_items]
        Number of clusters.
    tol : float >= 0, default 1e-4
        Stop a split when the mean cosine to the centroids gains less than this.
    max_iter : int >= 1, default 50
        Most iterations of one split.
    random_state : int, Generator or None
        Seeds of the splits.

    Returns
    -------
    list of ndarray of int
        The item positions of each cluster, sorted within the cluster.

    References
    ----------
    K. Dahiya, N. Gupta, D. Saini, A. Soni, Y. Wang, K. Dave, J. Jiao, G. K, P. Dey,
    A. Singh, D. Hada, V. Jain, B. Paliwal, A. Mittal, S. Mehta, R. Ramjee, S. Agarwal,
    P. Kar and M. Varma, "NGAME: Negative Mining-aware Mini-batching for Extreme
    Classification", WSDM 2023 (arXiv 2207.04452).

    Examples
    --------
    >>> z = [[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]]
    >>> [c.tolist() for c in balanced_spherical_kmeans(z, 2, random_state=0)]
    [[0, 1], [2, 3]]
    """
    owner = "balanced_spherical_kmeans"
    z = _unit(check_features(embeddings, name="embeddings"))
    n = z.shape[0]
    k = check_int(n_clusters, "n_clusters", owner, low=1)
    if k > n:
        raise InvalidParameterError(
            f"The 'n_clusters' parameter of {owner} must be <= the number of items ({n}); "
            f"got {k}."
        )
    tol = check_float(tol, "tol", owner, low=0.0)
    max_iter = check_int(max_iter, "max_iter", owner, low=1)
    rng = check_random_state(random_state)
    clusters: list[np.ndarray] = []
    todo = [(np.arange(n), k)]  # (members, number of clusters to make of them)
    while todo:
        members, want = todo.pop()
        if want == 1:
            clusters.append(members)
            continue
        k1 = want // 2  # clusters on the first side; its share of the members to match
        n_first = int(round(members.size * k1 / want))
        first = _split_two(z[members], n_first, rng, tol, max_iter)
        todo += [(members[~first], want - k1), (members[first], k1)]
    clusters.sort(key=lambda c: int(c[0]))
    return clusters


def _check_schedule(schedule: Any, owner: str) -> tuple[int, ...]:
    try:
        sched = tuple(int(e) for e in schedule)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"The 'schedule' parameter of {owner} must be a sequence of epochs (ints); got "
            f"{schedule!r}."
        ) from None
    if any(e < 0 for e in sched) or any(b <= a for a, b in zip(sched, sched[1:])):
        raise InvalidParameterError(
            f"The 'schedule' parameter of {owner} must hold non-negative, strictly increasing "
            f"epochs; got {list(sched)}."
        )
    return sched


class ClusteredBatchSampler:
    """Mini-batches made of whole clusters of nearby items (NGAME), as a batch sampler.

    Each epoch shuffles the list of clusters, concatenates their members and cuts that
    order into consecutive batches of ``batch_size``: a batch holds a few whole clusters of
    neighbouring items, whose labels are each other's hard in-batch negatives. Until
    :meth:`update` has clustered the items every cluster holds one item, which gives
    ordinary random batches.

    The curriculum: at epoch ``e`` the cluster size is ``2 ** (number of schedule entries
    <= e)``, capped at ``batch_size``; :meth:`update` re-embeds nothing itself: give it the
    current embeddings of all items, and it re-clusters them when ``e`` has reached the first
    schedule entry and ``e % refresh_interval == 0`` (or when the size changed). NGAME's
    defaults are ``schedule=(10, 20, 25, 50, 75, 100, 125, 150, 200)`` and
    ``refresh_interval=5``; shorter runs need a shorter schedule.

    Parameters
    ----------
    n_items : int >= 1
        Number of training items.
    batch_size : int >= 1
        Items per batch.
    schedule : sequence of int, default NGAME's
        Epochs at which the cluster size doubles (strictly increasing).
    refresh_interval : int >= 1, default 5
        Re-cluster every this many epochs once the curriculum has started.
    drop_last : bool, default False
        Drop the last, smaller batch.
    random_state : int, Generator or None
        Seeds the shuffles and the clustering.

    Attributes
    ----------
    clusters_ : list of ndarray
        The current clusters (item positions).
    n_reclusters_ : int
        How often :meth:`update` re-clustered.

    References
    ----------
    K. Dahiya et al., "NGAME: Negative Mining-aware Mini-batching for Extreme
    Classification", WSDM 2023 (arXiv 2207.04452); official code
    ``Extreme-classification/ngame`` (``indices_permutation``, ``ClusteringIndex``).

    Examples
    --------
    >>> z = [[1, 0.1 * i] if i % 2 == 0 else [0.1 * i, 1] for i in range(8)]
    >>> s = ClusteredBatchSampler(8, 2, schedule=(1,), random_state=0)
    >>> s.update(z, epoch=1)
    True
    >>> s.cluster_size, len(s)
    (2, 4)
    >>> all(b[0] % 2 == b[1] % 2 for b in s)   # each batch is one cluster of look-alikes
    True
    """

    def __init__(
        self,
        n_items: int,
        batch_size: int,
        *,
        schedule: Sequence[int] = NGAME_SCHEDULE,
        refresh_interval: int = 5,
        drop_last: bool = False,
        random_state: Any = None,
    ) -> None:
        owner = "ClusteredBatchSampler"
        self.n_items = check_int(n_items, "n_items", owner, low=1)
        self.batch_size = check_int(batch_size, "batch_size", owner, low=1)
        self.schedule = _check_schedule(schedule, owner)
        self.refresh_interval = check_int(refresh_interval, "refresh_interval", owner, low=1)
        if not isinstance(drop_last, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The 'drop_last' parameter of {owner} must be a bool; got {drop_last!r}."
            )
        self.drop_last = bool(drop_last)
        self.random_state = random_state
        self._rng = check_random_state(random_state)
        self.clusters_: list[np.ndarray] = [np.array([i]) for i in range(self.n_items)]
        self._size = 1  # the curriculum size the current clusters were made for
        self.n_reclusters_ = 0
        self.epoch = 0

    def size_at(self, epoch: int) -> int:
        """The curriculum's cluster size at ``epoch`` (capped at ``batch_size``).

        Parameters
        ----------
        epoch : int

        Returns
        -------
        int
            ``2 ** (milestones of the schedule reached)``, at most ``batch_size`` and
            the number of items.
        """
        reached = sum(1 for e in self.schedule if e <= epoch)
        return int(min(2**reached, self.batch_size, self.n_items))

    @property
    def cluster_size(self) -> int:
        """The size of the current clusters (the largest one)."""
        return int(max(c.size for c in self.clusters_))

    def set_epoch(self, epoch: int) -> None:
        """The epoch of the next iteration (as ``DistributedSampler.set_epoch``).

        Parameters
        ----------
        epoch : int >= 0
        """
        self.epoch = check_int(epoch, "epoch", "ClusteredBatchSampler.set_epoch", low=0)

    def update(self, embeddings: Any, epoch: int) -> bool:
        """Re-cluster ``embeddings`` (one row per item) if the schedule says so at
        ``epoch``; the new clusters order the batches of the following iterations.
        Returns whether it re-clustered.

        Parameters
        ----------
        embeddings : array-like of shape (n_items, n_features)
            The current embedding of every item.
        epoch : int >= 0
            The current epoch (also set as the sampler's epoch).

        Returns
        -------
        bool
        """
        epoch = check_int(epoch, "epoch", "ClusteredBatchSampler.update", low=0)
        z = check_features(embeddings, name="embeddings", n_items=self.n_items)
        self.epoch = epoch
        size = self.size_at(epoch)
        started = bool(self.schedule) and epoch >= self.schedule[0]
        due = started and (epoch % self.refresh_interval == 0 or size != self._size)
        if size <= 1 or not due:
            return False
        n_clusters = max(1, self.n_items // size)
        self.clusters_ = balanced_spherical_kmeans(z, n_clusters, random_state=self._rng)
        self._size = size
        self.n_reclusters_ += 1
        return True

    def order(self) -> np.ndarray:
        """One epoch's item order: the clusters shuffled, their members concatenated
        (each cluster's members shuffled too)."""
        perm = self._rng.permutation(len(self.clusters_))
        return np.concatenate([self._rng.permutation(self.clusters_[j]) for j in perm])

    def __iter__(self) -> Iterator[list[int]]:
        order = self.order()
        stop = len(self) * self.batch_size
        for start in range(0, stop, self.batch_size):
            yield order[start:start + self.batch_size].tolist()

    def __len__(self) -> int:
        if self.drop_last:
            return self.n_items // self.batch_size
        return -(-self.n_items // self.batch_size)

    def __repr__(self) -> str:
        return (f"ClusteredBatchSampler(n_items={self.n_items}, batch_size={self.batch_size}, "
                f"cluster_size={self.cluster_size})")


def _check_positives(positives: Any, n_labels: int | None) -> list[np.ndarray]:
    if hasattr(positives, "tocsr"):  # a scipy sparse label matrix
        m = positives.tocsr(copy=True)
        m.sort_indices()
        return [m.indices[a:b][m.data[a:b] > 0] for a, b in zip(m.indptr[:-1], m.indptr[1:])]
    if not isinstance(positives, np.ndarray) and getattr(positives, "ndim", None) == 2:
        # a torch tensor or a DataFrame: a label matrix, not rows of label indices
        positives = np.asarray(positives.detach().cpu() if hasattr(positives, "detach")
                               else positives)
    if isinstance(positives, np.ndarray) and positives.ndim == 2:
        return [np.flatnonzero(row > 0) for row in positives]
    try:
        rows = [np.asarray(p).reshape(-1) for p in positives]
    except TypeError:
        raise InputError(
            "positives must be a (n_items, n_labels) 0/1 matrix or a sequence of label-index "
            f"arrays (one per item); got {type(positives).__name__}."
        ) from None
    for i, r in enumerate(rows):
        if r.size and not np.issubdtype(r.dtype, np.integer):
            raise InputError(f"positives[{i}] must hold integer label indices; got {r.dtype}.")
        if r.size and (r.min() < 0 or (n_labels is not None and r.max() >= n_labels)):
            raise InputError(f"positives[{i}] holds a label index out of range: {r.tolist()}.")
    return rows


def sample_positives(positives: Any, *, random_state: Any = None) -> np.ndarray:
    """One positive label per item, drawn uniformly from its positives (NGAME's
    ``collate_implicit``). ``positives`` is a 0/1 matrix ``(n, L)`` (a NumPy array, torch
    tensor or scipy sparse matrix) or one array of label indices per item (a list of lists
    is read this way); every item needs at least one positive.

    Parameters
    ----------
    positives : array-like, tensor, sparse matrix or sequence of arrays
        The positive labels of each item, as above; an item without one raises
        :class:`InputError`.
    random_state : int, Generator or None, default=None
        Seed of the draw.

    Returns
    -------
    ndarray of int64, shape (n,)
        The label drawn for each item.

    Examples
    --------
    >>> sample_positives([[3], [1, 1]], random_state=0).tolist()
    [3, 1]
    """
    rows = _check_positives(positives, None)
    rng = check_random_state(random_state)
    empty = [i for i, r in enumerate(rows) if r.size == 0]
    if empty:
        raise InputError(
            f"{len(empty)} items have no positive label (first: item {empty[0]}); drop them "
            "before building in-batch targets."
        )
    return np.array([r[rng.integers(r.size)] for r in rows], dtype=np.int64)


def in_batch_targets(positives: Any, sampled: Any) -> np.ndarray:
    """The ``(B, B)`` relevance of in-batch training: ``T[i, j] = 1`` iff the label
    sampled for item ``j`` is a positive of item ``i``.

    Column ``j`` scores item ``i`` against label ``sampled[j]``; building ``T`` from the
    full positive sets (not from the diagonal only) keeps a label that item ``i`` shares
    with a batch mate from counting as its negative (NGAME's ``collate_implicit``).

    Parameters
    ----------
    positives : (B, L) 0/1 array, tensor or sparse matrix, or sequence of B integer arrays
        The positives of each item of the batch (a list of lists holds label indices).
    sampled : array-like of int, shape (B,)
        The label drawn for each item (:func:`sample_positives`); must be one of its
        positives.

    Returns
    -------
    ndarray of shape (B, B), float32

    Examples
    --------
    >>> in_batch_targets([[0, 2], [2], [1]], [0, 2, 1]).tolist()
    [[1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    rows = _check_positives(positives, None)
    s = np.asarray(sampled)
    if s.shape != (len(rows),) or (s.size and not np.issubdtype(s.dtype, np.integer)):
        raise InputError(
            f"sampled must hold one integer label per item, shape ({len(rows)},); got "
            f"{s.dtype} {s.shape}."
        )
    t = np.zeros((len(rows), len(rows)), dtype=np.float32)
    for i, r in enumerate(rows):
        t[i] = np.isin(s, r)
    missing = np.flatnonzero(np.diag(t) == 0)
    if missing.size:
        i = int(missing[0])
        raise InputError(
            f"sampled[{i}] = {int(s[i])} is not a positive of item {i} ({rows[i].tolist()}); "
            "draw the sampled labels from the items' positives."
        )
    return t
