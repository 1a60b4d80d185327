"""Heads and prediction rules: EBV generation and head, the cosine head, Loki's Fréchet rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from softlabels import SoftLabels  # noqa: E402
from softlabels.core.errors import InputError, InvalidParameterError  # noqa: E402
from softlabels.train.nn import (  # noqa: E402
    CosineHead,
    EBVHead,
    embedding_distance_matrix,
    expected_squared_distance,
    frechet_predict,
    frechet_scores,
    generate_ebv,
    welch_bound,
)


def off_diagonal_cos(v):
    g = v @ v.T
    return g[~torch.eye(v.shape[0], dtype=torch.bool)]


# --------------------------------------------------------------------------- EBV generation
def test_welch_bound_formula():
    assert welch_bound(10, 16) == 0.0
    assert welch_bound(16, 16) == 0.0
    assert welch_bound(1000, 100) == pytest.approx(math.sqrt(900 / (100 * 999)))
    # d + 1 vectors in d dimensions: the regular simplex, |cos| = 1/d
    assert welch_bound(4, 3) == pytest.approx(1 / 3)


def test_ebv_with_room_are_nearly_orthogonal_unit_vectors():
    ebv = generate_ebv(10, 16, seed=0)
    v = ebv.vectors
    assert v.shape == (10, 16) and v.dtype == torch.float32
    torch.testing.assert_close(v.norm(dim=1), torch.ones(10))
    cos = off_diagonal_cos(v).abs()
    assert ebv.converged
    assert float(cos.max()) <= 0.002 + 1e-4
    assert ebv.max_abs_cos == pytest.approx(float(cos.max()), abs=1e-6)
    # pairwise angles all within a fraction of a degree of 90
    angles = torch.rad2deg(torch.arccos(off_diagonal_cos(v).clamp(-1, 1)))
    assert float((angles - 90).abs().max()) < 0.2
    assert 0 < ebv.n_steps < 2000


def test_ebv_overcomplete_reach_the_threshold_above_the_welch_bound():
    n, d = 16, 8
    thr = 1.5 * welch_bound(n, d)
    ebv = generate_ebv(n, d, threshold=thr, seed=1)
    assert ebv.converged
    cos = off_diagonal_cos(ebv.vectors).abs()
    assert float(cos.max()) <= thr + 1e-4
    # "equiangular": the spread is small compared with random unit vectors
    g = torch.Generator().manual_seed(1)
    rand = torch.nn.functional.normalize(torch.randn(n, d, generator=g), dim=1)
    assert float(cos.max()) < float(off_diagonal_cos(rand).abs().max())


def test_ebv_default_threshold_is_the_paper_value_or_a_welch_margin():
    start = generate_ebv(4, 8, max_steps=0, seed=3)  # no step: the normalised start
    init = torch.randn(4, 8, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(start.vectors, torch.nn.functional.normalize(init, dim=1))
    assert start.n_steps == 0 and not start.converged
    ebv = generate_ebv(16, 8, seed=3)
    assert ebv.converged
    assert ebv.max_abs_cos <= 1.5 * welch_bound(16, 8) + 1e-4
    assert ebv.max_abs_cos > welch_bound(16, 8) - 1e-6


def test_ebv_are_deterministic_for_a_seed_and_differ_across_seeds():
    a, b = generate_ebv(6, 8, seed=5), generate_ebv(6, 8, seed=5)
    torch.testing.assert_close(a.vectors, b.vectors, rtol=0, atol=0)
    assert not torch.allclose(a.vectors, generate_ebv(6, 8, seed=6).vectors)
    before = torch.random.get_rng_state()
    generate_ebv(6, 8, seed=7)
    assert torch.equal(before, torch.random.get_rng_state())  # global RNG untouched


def test_ebv_block_size_does_not_change_the_result():
    a = generate_ebv(12, 16, seed=2, block=1024)
    b = generate_ebv(12, 16, seed=2, block=5)
    torch.testing.assert_close(a.vectors, b.vectors, rtol=0, atol=1e-6)
    assert a.n_steps == b.n_steps


def test_ebv_max_steps_stops_without_converging():
    ebv = generate_ebv(10, 16, seed=0, max_steps=3)
    assert ebv.n_steps == 3 and not ebv.converged
    assert ebv.max_abs_cos > 0.002


def test_ebv_threshold_below_the_welch_bound_is_refused():
    with pytest.raises(InvalidParameterError, match=r"Welch bound 0\.14.* got 0\.002"):
        generate_ebv(100, 32, threshold=0.002)


def test_ebv_collapse_is_detected():
    # strongly over-complete: the relu objective acts like an L1 penalty and collapses
    with pytest.raises(InvalidParameterError, match="collapsed"):
        generate_ebv(40, 4, threshold=1.3 * welch_bound(40, 4), seed=0)


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0, "dim": 3}, "'n'"), ({"n": 3, "dim": 0}, "'dim'"),
    ({"n": 3, "dim": 3, "lr": 0.0}, "'lr'"), ({"n": 3, "dim": 3, "threshold": 1.5}, "'threshold'"),
])
def test_ebv_parameter_errors(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        generate_ebv(**kwargs)


# --------------------------------------------------------------------------- EBV head
def test_ebv_head_logits_are_cosines_over_tau():
    head = EBVHead(8, 5, tau=0.07, seed=0)
    f = torch.randn(20, 8, generator=torch.Generator().manual_seed(0)) * 30
    z = head(f)
    assert z.shape == (20, 5)
    assert float(z.detach().abs().max()) <= 1 / 0.07 + 1e-4
    want = torch.nn.functional.normalize(f, dim=1) @ head.ebv.T / 0.07
    torch.testing.assert_close(z, want)
    # a feature equal to EBV c gets the maximal logit 1/tau on class c
    torch.testing.assert_close(head(head.ebv[2:3] * 7.0)[0, 2], torch.tensor(1 / 0.07))


def test_ebv_head_buffer_is_fixed_and_the_projection_learns():
    head = EBVHead(6, 4, dim=8, tau=0.1)
    assert [name for name, _ in head.named_buffers()] == ["ebv"]
    assert "ebv" in head.state_dict()
    x, y = torch.randn(10, 6), torch.arange(10) % 4
    torch.nn.functional.cross_entropy(head(x), y).backward()
    assert head.ebv.grad is None and not head.ebv.requires_grad
    assert head.proj.weight.grad is not None and float(head.proj.weight.grad.abs().sum()) > 0
    assert head.max_abs_cos <= 0.002 + 1e-4


def test_ebv_head_accepts_given_vectors_and_normalises_them():
    vecs = torch.eye(3) * 5
    head = EBVHead(3, 3, vectors=vecs, tau=1.0)
    torch.testing.assert_close(head.ebv, torch.eye(3))
    torch.testing.assert_close(head(torch.tensor([[0.0, 2.0, 0.0]])),
                               torch.tensor([[0.0, 1.0, 0.0]]))
    assert head.max_abs_cos == 0.0
    with pytest.raises(InputError, match=r"shape \(3, 3\)"):
        EBVHead(3, 3, vectors=torch.eye(4))
    with pytest.raises(InputError, match="non-zero"):
        EBVHead(2, 2, vectors=torch.zeros(2, 2))
    with pytest.raises(InvalidParameterError, match="'tau'"):
        EBVHead(3, 3, tau=0.0)


# --------------------------------------------------------------------------- cosine head
def test_cosine_head_is_scaled_cosine_without_bias():
    head = CosineHead(4, 3, scale=5.0)
    f = torch.randn(7, 4) * 100
    z = head(f)
    assert float(z.detach().abs().max()) <= 5.0 + 1e-5
    w = head.weight.detach()
    want = 5.0 * (f / f.norm(dim=1, keepdim=True)) @ (w / w.norm(dim=1, keepdim=True)).T
    torch.testing.assert_close(z, want)
    torch.testing.assert_close(head(f * 3.0), z)  # scale-invariant in the features
    assert [n for n, _ in head.named_parameters()] == ["weight"]


def test_cosine_head_learnable_scale():
    head = CosineHead(4, 3, scale=2.0, learn_scale=True)
    assert head.scale == pytest.approx(2.0)
    f = torch.randn(5, 4)
    head(f).sum().backward()
    assert head.log_scale.grad is not None
    fixed = CosineHead(4, 3, scale=2.0)
    fixed.weight.data.copy_(head.weight.data)
    torch.testing.assert_close(head(f), fixed(f))


def test_cosine_head_add_classes_uses_renormalised_mean_of_unit_features():
    head = CosineHead(2, 2, scale=10.0)
    head.weight.data = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    support = torch.tensor([[-10.0, 0.0], [0.0, -1.0], [3.0, 3.0]])
    new = head.add_classes(support, torch.tensor([5, 5, 9]))
    assert new.tolist() == [2, 3]
    proto = head.prototypes()
    s = 1 / math.sqrt(2)
    # mean of (-1, 0) and (0, -1) is (-.5, -.5); renormalised (-s, -s); raw mean would differ
    torch.testing.assert_close(proto[2], torch.tensor([-s, -s]))
    torch.testing.assert_close(proto[3], torch.tensor([s, s]))
    assert head(torch.tensor([[-1.0, -1.2]])).argmax().item() == 2
    with pytest.raises(InputError, match="support_labels"):
        head.add_classes(support, torch.tensor([0.5, 1.0, 2.0]))
    with pytest.raises(InputError, match=r"shape \(M, 2\)"):
        head.add_classes(torch.randn(3, 5), torch.tensor([0, 1, 2]))


# --------------------------------------------------------------------------- Loki
def ordinal(n):
    pos = np.arange(n, dtype=float)
    return np.abs(pos[:, None] - pos[None, :])


def naive_frechet(p, d):
    """sum_k p_k d(y, k)^2 minimised by brute force, one item and one candidate at a time."""
    out = []
    for row in p:
        costs = [sum(row[k] * d[k, y] ** 2 for k in range(d.shape[0])) for y in range(d.shape[1])]
        out.append(int(np.argmin(costs)))
    return np.array(out)


def test_frechet_on_a_hand_made_metric():
    # labels 0..4 on a line; the model only outputs classes {0, 4}
    d = ordinal(5)[[0, 4]]
    p = np.array([[0.5, 0.5], [0.8, 0.2], [0.3, 0.7], [1.0, 0.0]])
    # costs of y for p=(a, 1-a): a y^2 + (1-a)(4-y)^2, minimised at y = 4(1-a)
    assert frechet_predict(p, d).tolist() == [2, 1, 3, 0]
    np.testing.assert_allclose(frechet_scores(p[:1], d), [[-8.0, -5.0, -4.0, -5.0, -8.0]])
    assert frechet_predict(p, d ** 2, squared=True).tolist() == [2, 1, 3, 0]


def test_frechet_with_a_discrete_metric_is_argmax():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(6), size=50)
    d = 1.0 - np.eye(6)
    assert frechet_predict(p, d).tolist() == p.argmax(1).tolist()


def test_frechet_one_hot_returns_the_observed_class_and_is_scale_invariant():
    d = ordinal(7)[[0, 2, 5]]  # observed classes 0, 2, 5 of 7
    p = np.eye(3)
    assert frechet_predict(p, d).tolist() == [0, 2, 5]
    rng = np.random.default_rng(1)
    q = rng.dirichlet(np.ones(3), size=40)
    assert frechet_predict(q, 3.7 * d).tolist() == frechet_predict(q, d).tolist()


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 6), st.integers(0, 10_000))
def test_frechet_matches_the_naive_formula(k, n, seed):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(k), size=5)
    d = rng.uniform(0, 3, size=(k, n))
    assert frechet_predict(p, d).tolist() == naive_frechet(p, d).tolist()


def test_frechet_tensor_in_tensor_out_and_soft_labels():
    d = ordinal(5)[[0, 4]]
    p = torch.tensor([[0.5, 0.5], [0.8, 0.2]])
    out = frechet_predict(p, torch.tensor(d))
    assert isinstance(out, torch.Tensor) and out.tolist() == [2, 1]
    assert frechet_predict(p, d).tolist() == [2, 1]  # tensor probs, numpy metric
    soft = SoftLabels([[0.5, 0.5], [0.8, 0.2]], classes=["lo", "hi"])
    assert frechet_predict(soft, d).tolist() == [2, 1]


def test_frechet_errors():
    with pytest.raises(InputError, match="one row per model class"):
        frechet_predict(np.ones((2, 3)) / 3, np.ones((2, 4)))
    with pytest.raises(InputError, match="non-negative"):
        frechet_predict(np.ones((1, 2)) / 2, -np.ones((2, 2)))
    with pytest.raises(InputError, match="2-D"):
        frechet_predict(np.ones(3), np.ones((3, 3)))


def test_frechet_predicts_unobserved_labels_on_ordinal_data():
    """Loki's CPU check (WEAK_NOISY 9.4): 10 labels on a line, a model over {0, 3, 6, 9}."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    v = rng.normal(size=20)
    v /= np.linalg.norm(v)

    def sample(m):
        y = rng.integers(0, 10, size=m)
        return y[:, None] * v + rng.normal(scale=0.6, size=(m, 20)), y

    x_tr, y_tr = sample(4000)
    x_te, y_te = sample(2000)
    observed = [0, 3, 6, 9]
    keep = np.isin(y_tr, observed)
    clf = LogisticRegression(max_iter=1000).fit(x_tr[keep], y_tr[keep])
    p = clf.predict_proba(x_te)
    metric = ordinal(10)
    argmax = np.array(observed)[p.argmax(1)]
    loki = frechet_predict(p, metric[observed])
    unseen = ~np.isin(y_te, observed)
    assert (argmax[unseen] == y_te[unseen]).mean() == 0.0
    assert (loki[unseen] == y_te[unseen]).mean() > 0.15
    assert (loki == y_te).mean() > (argmax == y_te).mean() + 0.05
    assert expected_squared_distance(loki, y_te, metric) < \
        0.8 * expected_squared_distance(argmax, y_te, metric)


def test_expected_squared_distance_and_embedding_metric():
    d = ordinal(3)
    assert expected_squared_distance([0, 2], [2, 2], d) == pytest.approx(2.0)
    with pytest.raises(InputError, match=r"y_true values must lie in \[0, 3\)"):
        expected_squared_distance([0], [3], d)
    a, b = np.array([[3.0, 4.0], [0.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 2.0], [6.0, 8.0]])
    got = embedding_distance_matrix(a, b)
    unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)  # noqa: E731
    na, nb = unit(a), unit(b)
    want = np.array([[np.linalg.norm(x - y) for y in nb] for x in na])
    np.testing.assert_allclose(got, want, atol=1e-12)
    raw = embedding_distance_matrix(a, b, normalize=False)
    np.testing.assert_allclose(raw, [[np.linalg.norm(x - y) for y in b] for x in a], atol=1e-12)
    t = embedding_distance_matrix(torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(t.numpy(), want, atol=1e-6)
    assert got[1, 1] == pytest.approx(0.0, abs=1e-7)  # (0, 1) and (0, 2): same direction
