"""NGAME's clustered mini-batches: balanced spherical k-means against brute force, the
batch sampler's curriculum, in-batch targets against a naive loop, and the errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.train import (
    ClusteredBatchSampler,
    balanced_spherical_kmeans,
    in_batch_targets,
    sample_positives,
)


def _unit(z):
    z = np.asarray(z, dtype=float)
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def _objective(z, parts):
    """Spherical k-means objective: sum over clusters of the norm of the summed unit rows."""
    u = _unit(z)
    return sum(np.linalg.norm(u[p].sum(axis=0)) for p in parts)


def test_bisection_matches_brute_force_on_separated_groups():
    rng = np.random.default_rng(0)
    centres = _unit(rng.normal(size=(2, 5)))
    z = np.concatenate([centres[0] + 0.1 * rng.normal(size=(4, 5)),
                        centres[1] + 0.1 * rng.normal(size=(4, 5))])
    best = max(
        _objective(z, [list(a), [i for i in range(8) if i not in a]])
        for a in itertools.combinations(range(8), 4)
    )
    for seed in range(5):
        parts = balanced_spherical_kmeans(z, 2, random_state=seed)
        assert sorted(p.size for p in parts) == [4, 4]
        assert _objective(z, parts) == pytest.approx(best)
        assert [p.tolist() for p in parts] == [[0, 1, 2, 3], [4, 5, 6, 7]]


@pytest.mark.parametrize("n,k", [(64, 8), (100, 16), (37, 5), (10, 10), (9, 1)])
def test_clusters_partition_the_items_and_are_balanced(n, k):
    z = np.random.default_rng(1).normal(size=(n, 6))
    parts = balanced_spherical_kmeans(z, k, random_state=0)
    assert len(parts) == k
    assert sorted(np.concatenate(parts).tolist()) == list(range(n))
    sizes = [p.size for p in parts]
    if k & (k - 1) == 0:  # a power of two: equal halves at every level
        assert max(sizes) - min(sizes) <= 1
    assert max(sizes) <= -(-n // k) + 1 and min(sizes) >= n // k - 1


def test_scale_of_the_rows_does_not_matter():
    z = np.random.default_rng(2).normal(size=(32, 4))
    a = balanced_spherical_kmeans(z, 4, random_state=3)
    b = balanced_spherical_kmeans(z * np.arange(1, 33)[:, None], 4, random_state=3)
    assert [p.tolist() for p in a] == [p.tolist() for p in b]


def test_sampler_is_random_batching_until_clustered():
    s = ClusteredBatchSampler(10, 4, schedule=(2, 4), refresh_interval=2, random_state=0)
    batches = list(s)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(sum(batches, [])) == list(range(10))
    assert s.cluster_size == 1 and len(s) == 3
    s2 = ClusteredBatchSampler(10, 4, drop_last=True, random_state=0)
    assert len(s2) == 2 and [len(b) for b in s2] == [4, 4]


def test_curriculum_doubles_the_cluster_size():
    z = np.random.default_rng(3).normal(size=(64, 5))
    s = ClusteredBatchSampler(64, 16, schedule=(2, 4, 6, 8, 10), refresh_interval=2,
                              random_state=0)
    sizes = []
    for epoch in range(12):
        s.update(z, epoch)
        sizes.append(s.cluster_size)
    assert sizes == [1, 1, 2, 2, 4, 4, 8, 8, 16, 16, 16, 16]
    assert s.size_at(100) == 16  # capped at the batch size
    # once clustered, each batch is whole clusters of the order
    for batch in s:
        hit = {i for i, c in enumerate(s.clusters_) if set(c.tolist()) & set(batch)}
        assert sum(s.clusters_[i].size for i in hit) == len(batch)


def test_refresh_only_on_the_interval():
    z = np.random.default_rng(4).normal(size=(16, 3))
    s = ClusteredBatchSampler(16, 8, schedule=(3,), refresh_interval=5, random_state=0)
    done = [s.update(z, e) for e in range(12)]
    # epoch 3: the size changed (1 -> 2); then every 5 epochs
    assert [e for e, d in enumerate(done) if d] == [3, 5, 10]
    assert s.n_reclusters_ == 3


def test_refresh_interval_holds_when_clusters_are_uneven():
    """100 items in clusters of 8 make clusters of 8 and 9 items: the sampler must still
    re-cluster only when the curriculum's size changes or on the interval."""
    z = np.random.default_rng(7).normal(size=(100, 3))
    s = ClusteredBatchSampler(100, 16, schedule=(1, 2, 3), refresh_interval=5, random_state=0)
    done = [s.update(z, e) for e in range(12)]
    assert s.cluster_size == 9  # 12 clusters of 100 items: not all of size 8
    assert [e for e, d in enumerate(done) if d] == [1, 2, 3, 5, 10]
    assert s.n_reclusters_ == 5


def test_clustered_batches_hold_harder_negatives():
    """Items of the same topic land in the same batch: the nearest batch mate is closer."""
    rng = np.random.default_rng(5)
    topics = _unit(rng.normal(size=(64, 8)))
    z = topics[np.arange(512) % 64] + 0.3 * rng.normal(size=(512, 8))
    u = _unit(z)

    def hardest(sampler):
        vals = []
        for b in sampler:
            sim = u[b] @ u[b].T
            np.fill_diagonal(sim, -np.inf)
            vals.append(sim.max(axis=1).mean())
        return float(np.mean(vals))

    random_batches = ClusteredBatchSampler(512, 32, random_state=0)
    clustered = ClusteredBatchSampler(512, 32, schedule=(0, 1, 2, 3), random_state=0)
    clustered.update(z, 5)
    assert clustered.cluster_size == 16
    assert hardest(clustered) > hardest(random_batches) + 0.1


def test_in_batch_targets_against_a_naive_loop():
    rng = np.random.default_rng(6)
    pos = [rng.choice(20, size=rng.integers(1, 4), replace=False) for _ in range(12)]
    sampled = sample_positives(pos, random_state=1)
    t = in_batch_targets(pos, sampled)
    naive = np.array([[1.0 if sampled[j] in pos[i] else 0.0 for j in range(12)]
                      for i in range(12)])
    np.testing.assert_array_equal(t, naive)
    dense = np.zeros((12, 20))
    for i, p in enumerate(pos):
        dense[i, p] = 1
    np.testing.assert_array_equal(in_batch_targets(dense, sampled), naive)
    assert all(s in p for s, p in zip(sampled, pos))


def test_label_matrices_that_are_not_numpy_arrays_are_read_as_matrices():
    """A 0/1 torch tensor or scipy sparse matrix is a label matrix, like an ndarray: its
    0/1 values are not label indices."""
    torch = pytest.importorskip("torch")
    sparse = pytest.importorskip("scipy.sparse")
    dense = np.array([[1, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0]])
    want_sampled = sample_positives(dense, random_state=3)
    want = in_batch_targets(dense, want_sampled)
    for matrix in (torch.tensor(dense), sparse.csr_matrix(dense), sparse.coo_matrix(dense)):
        sampled = sample_positives(matrix, random_state=3)
        np.testing.assert_array_equal(sampled, want_sampled)
        assert all(dense[i, j] == 1 for i, j in enumerate(sampled))
        np.testing.assert_array_equal(in_batch_targets(matrix, want_sampled), want)


def test_in_batch_targets_work_with_the_decoupled_softmax():
    torch = pytest.importorskip("torch")
    from softlabels.train.nn.functional import decoupled_softmax_loss

    t = torch.tensor(in_batch_targets([[0, 1], [1], [2]], [0, 1, 2]))
    good = 20 * t - 10  # positives far above negatives: the loss goes to 0
    assert float(decoupled_softmax_loss(good, t)) < 1e-6


def test_errors():
    with pytest.raises(InvalidParameterError, match="n_clusters.*<= the number of items"):
        balanced_spherical_kmeans(np.ones((3, 2)), 4)
    with pytest.raises(InvalidParameterError, match="'n_clusters'.*>= 1"):
        balanced_spherical_kmeans(np.ones((3, 2)), 0)
    with pytest.raises(InputError, match="embeddings contains non-finite"):
        balanced_spherical_kmeans([[1.0, np.nan], [0.0, 1.0]], 1)
    with pytest.raises(InvalidParameterError, match="strictly increasing"):
        ClusteredBatchSampler(10, 2, schedule=(5, 3))
    with pytest.raises(InvalidParameterError, match="'batch_size'.*>= 1"):
        ClusteredBatchSampler(10, 0)
    with pytest.raises(InvalidParameterError, match="drop_last.*bool"):
        ClusteredBatchSampler(10, 2, drop_last="yes")
    s = ClusteredBatchSampler(10, 2, schedule=(0,))
    with pytest.raises(InputError, match="embeddings has 3 rows but there are 10 items"):
        s.update(np.ones((3, 2)), 0)
    with pytest.raises(InputError, match="sampled\\[1\\] = 0 is not a positive of item 1"):
        in_batch_targets([[0], [1]], [0, 0])
    with pytest.raises(InputError, match="one integer label per item, shape \\(2,\\)"):
        in_batch_targets([[0], [1]], [0])
    with pytest.raises(InputError, match="items have no positive label \\(first: item 1\\)"):
        sample_positives([[0], []])
    with pytest.raises(InputError, match="integer label indices"):
        sample_positives([[0.5]])


def test_works_as_a_torch_batch_sampler():
    torch = pytest.importorskip("torch")
    x = torch.arange(10.0)[:, None]
    s = ClusteredBatchSampler(10, 4, random_state=0)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_sampler=s)
    got = sorted(int(v) for (b,) in loader for v in b[:, 0])
    assert got == list(range(10)) and len(loader) == 3
