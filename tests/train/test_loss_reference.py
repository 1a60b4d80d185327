"""Each loss against a naive float64 reference of its formula (tests/train/_loss_references):
per-sample values and the gradients autograd gives through both."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

import _loss_references as ref  # noqa: E402

from softlabels.train.nn import ELRLoss, USKDLoss  # noqa: E402
from softlabels.train.nn import functional as F  # noqa: E402

N, C = 5, 4
DT = torch.float64


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def leaf(*shape, seed=0, scale=1.0):
    return (torch.randn(*shape, generator=gen(seed), dtype=DT) * scale).requires_grad_(True)


def labels(n=N, c=C, seed=1):
    return torch.randint(0, c, (n,), generator=gen(seed))


def probs(n=N, c=C, seed=2):
    return torch.softmax(torch.randn(n, c, generator=gen(seed), dtype=DT), dim=1)


def check(ours, reference, inputs, atol=1e-10):
    """Values equal, and the gradients of the same random weighting of them."""
    torch.testing.assert_close(ours, reference, rtol=0, atol=atol)
    weights = torch.rand(ours.shape, generator=gen(7), dtype=DT) if ours.ndim else None
    got = torch.autograd.grad((ours * weights).sum() if ours.ndim else ours, inputs,
                              retain_graph=True, allow_unused=True)
    want = torch.autograd.grad((reference * weights).sum() if ours.ndim else reference, inputs,
                               allow_unused=True)
    for g, w in zip(got, want):
        if w is None:
            assert g is None or not g.any()
        else:
            torch.testing.assert_close(g, w, rtol=0, atol=atol)


@pytest.mark.parametrize("target", ["index", "probs"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_soft_cross_entropy(target, smoothing):
    z = leaf(N, C)
    t = labels() if target == "index" else probs()
    w = torch.rand(N, generator=gen(3), dtype=DT)
    ours = F.soft_cross_entropy(z, t, w, label_smoothing=smoothing, reduction="none")
    check(ours, ref.soft_ce(z, t, w, smoothing), [z])


@pytest.mark.parametrize("with_target", [False, True])
@pytest.mark.parametrize("t2", [True, False])
def test_kd(with_target, t2):
    s, t = leaf(N, C), leaf(N, C, seed=5, scale=2.0)
    y = labels() if with_target else None
    ours = F.kd_loss(s, t, y, temperature=3.0, alpha=0.7, t2_scale=t2, reduction="none")
    check(ours, ref.kd(s, t, y, T=3.0, alpha=0.7, t2=t2), [s, t])


@pytest.mark.parametrize("alpha, beta, temperature", [(1.0, 8.0, 4.0), (0.5, 2.0, 1.0)])
def test_dkd(alpha, beta, temperature):
    s, t, y = leaf(N, C), leaf(N, C, seed=5, scale=2.0), labels()
    ours = F.dkd_loss(s, t, y, alpha=alpha, beta=beta, temperature=temperature, reduction="none")
    check(ours, ref.dkd(s, t, y, alpha, beta, temperature), [s, t])


def test_dkd_probability_target_uses_argmax():
    s, t, p = leaf(N, C), leaf(N, C, seed=5), probs()
    check(F.dkd_loss(s, t, p, reduction="none"), ref.dkd(s, t, p.argmax(1)), [s])


@pytest.mark.parametrize("temperature, gamma", [(1.0, 1.5), (3.0, 3.5)])
def test_nkd(temperature, gamma):
    s, t, y = leaf(N, C), leaf(N, C, seed=5, scale=2.0), labels()
    ours = F.nkd_loss(s, t, y, temperature=temperature, gamma=gamma, reduction="none")
    check(ours, ref.nkd(s, t, y, temperature, gamma), [s, t])


@pytest.mark.parametrize("rank_source", ["code", "paper"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_uskd(rank_source, seed):
    z, w = leaf(8, 6, seed=seed, scale=2.0), leaf(8, 6, seed=seed + 6, scale=3.0)
    y = labels(8, 6, seed=seed + 12)
    ours = F.uskd_loss(z, y, w, alpha=0.7, beta=0.3, mu=0.1, rank_source=rank_source,
                       reduction="none")
    check(ours, ref.uskd(z, y, w, 0.7, 0.3, 0.1, rank_source), [z, w])


def test_uskd_soft_target_follows_the_code():
    """Top-2 classes as targets, v = s^2 + value - mean(s^2), both dropped from non-targets."""
    z, w = leaf(3, 5), leaf(3, 5, seed=6)
    q = torch.tensor([[0.6, 0.3, 0.1, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0],
                      [0.1, 0.2, 0.3, 0.4, 0.0]], dtype=DT)
    ours = F.uskd_loss(z, q, w, alpha=1.0, beta=0.5, mu=0.2, reduction="none")
    top = [[0, 1], [2, 0], [3, 2]]
    val = [[0.6, 0.3], [1.0, 0.0], [0.4, 0.3]]
    s = torch.softmax(z.detach(), 1)
    a = torch.tensor([[float(s[i, k]) ** 2 for k in top[i]] for i in range(3)], dtype=DT)
    expected = []
    for i in range(3):
        ls = torch.log_softmax(z[i], 0)
        v = [0.0 if val[i][m] == 0 else a[i, m] + val[i][m] - a[:, m].mean() for m in range(2)]
        loss_t = -sum(v[m] * ls[top[i][m]] for m in range(2))
        tq = 0.9 * q[i] + 0.1 / 5
        loss_weak = -0.2 * (tq * torch.log_softmax(w[i], 0)).sum()
        wp = torch.softmax(w[i].detach(), 0)
        lsd = ls.detach()
        score = wp / (1 - wp[top[i]].sum() + 1e-6) + lsd / (1 - lsd[top[i]].sum() + 1e-6)
        ranked = sorted(range(5), key=lambda j: -float(score[j]))
        keep = [j for j in range(5) if j not in top[i]]
        zipf = torch.tensor([1.0 / (ranked.index(j) + 1) for j in keep], dtype=DT)
        zipf = zipf / zipf.sum()
        loss_non = -(zipf * torch.log_softmax(z[i][keep], 0)).sum()
        expected.append(loss_t + 0.5 * loss_non + loss_weak)
    check(ours, torch.stack(expected), [z, w])


def test_elr_function():
    z, y = leaf(N, C), labels()
    ema = probs(seed=9) * 0.8
    ours = F.elr_loss(z, y, ema, lam=2.0, reduction="none")
    check(ours, ref.elr(z, y, ema, lam=2.0), [z])
    torch.testing.assert_close(F.elr_update_targets(ema, z, beta=0.6),
                               ref.elr_update(ema, z, beta=0.6), rtol=0, atol=1e-12)


def test_elr_module_over_several_steps():
    """Buffer updates before the loss, per index, across batches (state kept in float64)."""
    loss = ELRLoss(num_examples=8, num_classes=C, lam=3.0, beta=0.7, reduction="none").double()
    state = torch.zeros(8, C, dtype=DT)
    for step, index in enumerate([[0, 3, 5], [3, 1, 7], [5, 0, 2], [3, 5, 6]]):
        idx = torch.tensor(index)
        z, y = leaf(3, C, seed=10 + step), labels(3, C, seed=20 + step)
        state[idx] = ref.elr_update(state[idx], z, beta=0.7)
        check(loss(z, y, idx), ref.elr(z, y, state[idx], lam=3.0), [z])
        torch.testing.assert_close(loss.ema_target, state, rtol=0, atol=1e-12)


def test_complementary_losses():
    z, ybar = leaf(N, C), labels()
    q = torch.rand(C, C, generator=gen(4), dtype=DT) + 0.2
    q = q / q.sum(1, keepdim=True)
    check(F.scl_nl_loss(z, ybar, reduction="none"), ref.scl_nl(z, ybar), [z])
    check(F.scl_exp_loss(z, ybar, reduction="none"), ref.scl_exp(z, ybar), [z])
    check(F.pc_loss(z, ybar, reduction="none"), ref.pc(z, ybar), [z])
    check(F.forward_correction_loss(z, ybar, q, reduction="none"),
          ref.forward_correction(z, ybar, q), [z])


def test_complementary_distribution_target_is_the_expectation():
    z, ybar = leaf(N, C), labels()
    dist = probs(seed=11)
    for fn in (F.scl_nl_loss, F.scl_exp_loss, F.pc_loss, F.forward_correction_loss):
        per_label = torch.stack([fn(z, torch.full((N,), k), reduction="none") for k in range(C)], 1)
        torch.testing.assert_close(fn(z, dist, reduction="none"), (dist * per_label).sum(1),
                                   rtol=0, atol=1e-12)
    assert ybar.shape == (N,)


def test_complementary_distribution_target_with_a_masked_class():
    """A class masked out (logit -inf) that the distribution never names: the loss is still
    the expectation of the class-index losses over the named classes, with finite gradients."""
    z = leaf(N, C).detach()
    z[:, C - 1] = -math.inf
    dist = probs(seed=11)
    dist[:, C - 1] = 0.0
    dist = dist / dist.sum(1, keepdim=True)
    for fn in (F.scl_nl_loss, F.scl_exp_loss, F.pc_loss, F.forward_correction_loss):
        per_label = torch.stack([fn(z, torch.full((N,), k), reduction="none")
                                 for k in range(C - 1)], 1)
        x = z.clone().requires_grad_(True)
        out = fn(x, dist, reduction="none")
        out.sum().backward()
        torch.testing.assert_close(out.detach(), (dist[:, :-1] * per_label).sum(1), rtol=0,
                                   atol=1e-12)
        assert torch.isfinite(x.grad).all(), fn.__name__


@pytest.mark.parametrize("transition", [False, True])
@pytest.mark.parametrize("prior", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_ure_ga(transition, prior, seed):
    z, ybar = leaf(8, C, seed=seed, scale=2.0), labels(8, C, seed=seed + 10)
    q = None
    if transition:
        q = torch.rand(C, C, generator=gen(seed), dtype=DT) + torch.eye(C, dtype=DT)
        q = q / q.sum(1, keepdim=True)
    pi = torch.tensor([3.0, 1.0, 2.0, 2.0], dtype=DT) if prior else None
    check(F.ure_ga_loss(z, ybar, q, pi), ref.ure_ga(z, ybar, q, pi), [z])


def test_ure_ga_draws_cover_both_branches():
    """The draws of test_ure_ga include batches with and without a negative class risk."""
    negative = []
    for seed in range(4):
        z, ybar = leaf(8, C, seed=seed, scale=2.0), labels(8, C, seed=seed + 10)
        negative.append(min(float(r.detach()) for r in ref.ure_risks(z, ybar)) < 0)
    assert any(negative) and not all(negative)


def test_dllp():
    z = leaf(7, C)
    bag = torch.tensor([0, 1, 0, 2, 1, 2, 2])
    rho = probs(3, C, seed=4)
    check(F.dllp_loss(z, bag, rho, reduction="none"), ref.dllp(z, bag, rho), [z])


def test_pu_mlc():
    z = leaf(6, C, scale=0.3)
    y = torch.randint(-1, 2, (6, C), generator=gen(5))
    y[:, 0] = 0  # a class without positives
    check(F.pu_mlc_loss(z, y, alpha=1.5, gamma=0.85), ref.pu_mlc(z, y, 1.5, 0.85), [z])


def test_pu_mlc_temperature_floor_and_cap():
    z = torch.zeros(4, 2, dtype=DT, requires_grad=True)  # constant column: std = 0
    y = torch.tensor([[1, 0], [0, 0], [0, 1], [0, 0]])
    check(F.pu_mlc_loss(z, y), ref.pu_mlc(z, y), [z])
    big = leaf(4, 2, scale=50.0)
    check(F.pu_mlc_loss(big, y), ref.pu_mlc(big, y), [big])


@pytest.mark.parametrize("with_cooc", [False, True])
def test_multi_focal(with_cooc):
    z = leaf(N, C)
    y = (torch.rand(N, C, generator=gen(6)) < 0.4).to(DT)
    y[0] = 0.0  # a sample without positives: attention 0 (the official code gives NaN)
    counts = [100.0, 30.0, 7.0, 2.0]
    cooc = [[5, 2, 0, 1], [2, 9, 1, 0], [0, 1, 4, 2], [1, 0, 2, 3]] if with_cooc else None
    ours = F.multi_focal_loss(z, y, class_counts=counts, cooccurrence=cooc, gamma_pos=0.5,
                              reduction="none")
    check(ours, ref.multi_focal(z, y, counts, cooc, gamma_pos=0.5), [z])


@pytest.mark.parametrize("a, b", [(1.0, 0.0), (0.5, 2.0), (3.0, 1.0)])
def test_z_loss(a, b):
    o, y = leaf(N, C, scale=2.0), labels()
    check(F.z_loss(o, y, a=a, b=b, reduction="none"), ref.z_loss(o, y, a, b), [o])


def test_squared_hinge():
    o, y = leaf(N, C, scale=1.5), labels()
    check(F.squared_hinge_loss(o, y, margin=1.0, reduction="none"), ref.squared_hinge(o, y), [o])


def test_normalized_softmax():
    f, w, y = leaf(N, 3), leaf(C, 3, seed=8), labels()
    check(F.normalized_softmax_loss(f, w, y, scale=7.0, reduction="none"),
          ref.normalized_softmax(f, w, y, 7.0), [f, w])


@pytest.mark.parametrize("weighted", [False, True])
def test_decoupled_softmax(weighted):
    s = leaf(N, 6, scale=2.0)
    rel = torch.tensor([[1, 0, 2, 0, 0, 0], [0, 0, 0, 0, 0, 0], [3, 1, 1, 0, 0, 1],
                        [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 2]], dtype=DT)
    ours = F.decoupled_softmax_loss(s, rel, weighted=weighted, reduction="none")
    check(ours, ref.decoupled_softmax(s, rel, weighted=weighted), [s])


def test_decoupled_softmax_sampled_positive():
    s = leaf(N, 6, scale=2.0)
    rel = (torch.rand(N, 6, generator=gen(3), dtype=DT) < 0.5).to(DT) * 2
    chosen = F.sample_positives(rel, 1, generator=gen(42))
    ours = F.decoupled_softmax_loss(s, rel, sample_positives=True, generator=gen(42),
                                    reduction="none")
    check(ours, ref.decoupled_softmax(s, rel, chosen=chosen), [s])


def test_soft_top_k_loss_against_root_finder():
    s = leaf(N, 7, scale=2.0)
    rel = (torch.rand(N, 7, generator=gen(3), dtype=DT) < 0.4).to(DT)
    ours = F.soft_top_k_loss(s, rel, k=3, alpha=1.5, n_iter=100, reduction="none")
    check(ours, ref.soft_top_k_loss(s, rel, 3, 1.5), [s], atol=1e-9)


def test_soft_top_k_gradcheck_on_the_implicit_threshold():
    s = leaf(3, 6, scale=2.0)
    assert torch.autograd.gradcheck(
        lambda x: F.soft_top_k(x, 2, alpha=1.5, n_iter=100), (s,), eps=1e-6, atol=1e-6)
    rel = torch.tensor([[1, 1, 0, 0, 1, 0], [0, 1, 0, 0, 0, 0], [1, 0, 1, 1, 0, 1]], dtype=DT)
    assert torch.autograd.gradcheck(
        lambda x: F.soft_top_k_loss(x, rel, k=2, alpha=1.5, n_iter=100, sample_positives=True,
                                    generator=gen(5)), (s,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("fixed", [True, False])
def test_thurstone_fidelity(fixed):
    za, zb = leaf(N, 5), leaf(N, 5, seed=4)
    g = torch.rand(N, generator=gen(5), dtype=DT)
    ours = F.thurstone_fidelity_loss(za, zb, g, fixed_pred_std=fixed, reduction="none")
    check(ours, ref.thurstone(za, zb, g, fixed=fixed), [za, zb])


def test_thurstone_preference():
    mu_a = torch.tensor([3.0, 1.0, 4.0], dtype=DT)
    mu_b = torch.tensor([2.0, 1.0, 1.0], dtype=DT)
    sa = torch.tensor([0.5, 1.0, 0.0], dtype=DT)
    sb = torch.tensor([0.5, 0.3, 0.0], dtype=DT)
    expected = ref.phi((mu_a - mu_b) / torch.sqrt(sa**2 + sb**2 + 1e-8))
    torch.testing.assert_close(F.thurstone_preference(mu_a, mu_b, sa, sb), expected)


@pytest.mark.parametrize("normalize", ["joint", "paper"])
def test_soft_teacher_ce(normalize):
    z = leaf(6, C)
    y = torch.tensor([0, 3, 3, 1, 3, 2])
    r = torch.tensor([0.9, 0.2, 0.5, 0.1, 0.0, 0.3], dtype=DT)
    want = (ref.soft_teacher_joint if normalize == "joint" else ref.soft_teacher_paper)(z, y, r, 3)
    check(F.soft_teacher_ce_loss(z, y, r, normalize=normalize), want, [z])


def test_soft_teacher_ce_without_foreground_or_background():
    z = leaf(3, C)
    y_bg = torch.tensor([3, 3, 3])
    r = torch.tensor([0.1, 0.2, 0.0], dtype=DT)
    check(F.soft_teacher_ce_loss(z, y_bg, r), ref.soft_teacher_joint(z, y_bg, r, 3), [z])
    check(F.soft_teacher_ce_loss(z, y_bg, r, normalize="paper"),
          ref.soft_teacher_paper(z, y_bg, r, 3), [z])
    y_fg = torch.tensor([0, 1, 2])
    check(F.soft_teacher_ce_loss(z, y_fg, r, normalize="paper"),
          ref.soft_teacher_paper(z, y_fg, r, 3), [z])


@pytest.mark.parametrize("relax", [0.0, 0.25])
def test_best_of_heads(relax):
    z, y = leaf(N, 3, C, scale=2.0), labels()
    check(F.best_of_heads_loss(z, y, relax=relax, reduction="none"),
          ref.best_of_heads(z, y, relax), [z])


def test_best_of_heads_only_the_winner_gets_gradient():
    z = torch.tensor([[[3.0, 0.0], [0.0, 3.0], [1.0, 1.0]]], dtype=DT, requires_grad=True)
    F.best_of_heads_loss(z, torch.tensor([1])).backward()
    assert z.grad[0, 0].abs().sum() == 0 and z.grad[0, 2].abs().sum() == 0
    assert z.grad[0, 1].abs().sum() > 0


@pytest.mark.parametrize(
    "fn, args",
    [
        (F.soft_cross_entropy, lambda: (leaf(3, C), probs(3))),
        (F.kd_loss, lambda: (leaf(3, C), leaf(3, C, seed=4), labels(3))),
        (F.dkd_loss, lambda: (leaf(3, C), leaf(3, C, seed=4), labels(3))),
        (F.nkd_loss, lambda: (leaf(3, C), leaf(3, C, seed=4), labels(3))),
        (F.z_loss, lambda: (leaf(3, C), labels(3))),
        (F.scl_nl_loss, lambda: (leaf(3, C), labels(3))),
        (F.scl_exp_loss, lambda: (leaf(3, C), labels(3))),
        (F.pc_loss, lambda: (leaf(3, C), labels(3))),
        (F.forward_correction_loss, lambda: (leaf(3, C), labels(3))),
        (F.ure_ga_loss, lambda: (leaf(3, C), labels(3))),
        (F.dllp_loss, lambda: (leaf(3, C), torch.tensor([0, 1, 0]), probs(2))),
        (F.decoupled_softmax_loss, lambda: (leaf(3, C), probs(3))),
        (F.thurstone_fidelity_loss, lambda: (leaf(3, 5), leaf(3, 5, seed=4),
                                             torch.rand(3, dtype=DT))),
        (F.best_of_heads_loss, lambda: (leaf(3, 2, C), labels(3))),
    ],
)
def test_gradcheck(fn, args):
    """Analytical against numerical gradients where nothing input-dependent is detached."""
    inputs = args()
    assert torch.autograd.gradcheck(lambda x: fn(x, *inputs[1:]), (inputs[0],), eps=1e-6,
                                    atol=1e-6)


def test_uskd_module_head_gets_gradient():
    loss = USKDLoss(3, C).double()
    z, y, f = leaf(N, C), labels(), leaf(N, 3, seed=3)
    loss(z, y, f).backward()
    assert loss.head.weight.grad is not None and loss.head.weight.grad.abs().sum() > 0
