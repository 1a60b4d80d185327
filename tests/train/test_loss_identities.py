"""Documented identities and limit cases, in float64."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as TF  # noqa: E402

from softlabels.train.nn import ELRLoss, create_loss  # noqa: E402
from softlabels.train.nn import functional as F  # noqa: E402

DT = torch.float64
TOL = {"rtol": 0.0, "atol": 1e-6}


def gen(seed):
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed=0, scale=1.0):
    return torch.randn(*shape, generator=gen(seed), dtype=DT) * scale


def close(a, b, atol=1e-6):
    torch.testing.assert_close(a, b, rtol=0.0, atol=atol)


# --------------------------------------------------------------------------- soft CE
def test_soft_ce_with_one_hot_targets_is_cross_entropy():
    z, y = randn(6, 4), torch.tensor([0, 3, 1, 1, 2, 0])
    close(F.soft_cross_entropy(z, y), TF.cross_entropy(z, y), 1e-12)
    close(F.soft_cross_entropy(z, TF.one_hot(y, 4).to(DT)), TF.cross_entropy(z, y), 1e-12)
    close(F.soft_cross_entropy(z, y, reduction="none"),
          TF.cross_entropy(z, y, reduction="none"), 1e-12)


def test_masked_classes_with_zero_target_count_as_zero():
    """Logits of -inf (a class masked out) where the target has no mass add 0 log 0 = 0:
    class indices give F.cross_entropy, probabilities the loss of a logit whose
    probability underflows to 0; gradients stay finite."""
    z, y = randn(4, 5), torch.tensor([0, 1, 2, 3])
    z[:, 4] = -1e4
    masked = z.masked_fill(z == -1e4, -math.inf)
    q = torch.softmax(randn(4, 5, seed=2), 1)
    q[:, 4] = 0.0
    q = q / q.sum(1, keepdim=True)
    for target, reference in ((y, TF.cross_entropy(masked, y, reduction="none")),
                              (q, F.soft_cross_entropy(z, q, reduction="none"))):
        x = masked.clone().requires_grad_(True)
        out = F.soft_cross_entropy(x, target, reduction="none")
        out.sum().backward()
        assert torch.isfinite(x.grad).all()
        close(out, reference, 1e-12)
    close(F.best_of_heads_loss(masked[:, None, :], y), TF.cross_entropy(masked, y), 1e-12)


@pytest.mark.parametrize("eps", [0.05, 0.3])
def test_label_smoothing_matches_torch(eps):
    z, y = randn(6, 4), torch.tensor([0, 3, 1, 1, 2, 0])
    p = torch.softmax(randn(6, 4, seed=3), 1)
    close(F.soft_cross_entropy(z, y, label_smoothing=eps),
          TF.cross_entropy(z, y, label_smoothing=eps), 1e-12)
    close(F.soft_cross_entropy(z, p, label_smoothing=eps),
          TF.cross_entropy(z, p, label_smoothing=eps), 1e-12)


def test_per_sample_weights():
    z, y = randn(4, 3), torch.tensor([0, 1, 2, 0])
    w = torch.tensor([1.0, 0.0, 2.0, 0.5], dtype=DT)
    per = TF.cross_entropy(z, y, reduction="none")
    close(F.soft_cross_entropy(z, y, w, reduction="sum"), (w * per).sum(), 1e-12)
    close(F.soft_cross_entropy(z, y, w), (w * per).sum() / 4, 1e-12)


# --------------------------------------------------------------------------- KD / DKD / NKD
def test_kd_t2_switch():
    s, t = randn(5, 6), randn(5, 6, seed=1, scale=2.0)
    close(F.kd_loss(s, t, temperature=1.0, t2_scale=True),
          F.kd_loss(s, t, temperature=1.0, t2_scale=False), 1e-12)
    close(F.kd_loss(s, t, temperature=2.0, t2_scale=False) * 4.0,
          F.kd_loss(s, t, temperature=2.0, t2_scale=True), 1e-12)


def test_kd_at_t1_is_kl_divergence_and_zero_on_itself():
    s, t = randn(5, 6), randn(5, 6, seed=1, scale=2.0)
    kl = TF.kl_div(torch.log_softmax(s, 1), torch.log_softmax(t, 1), log_target=True,
                   reduction="batchmean")
    close(F.kd_loss(s, t, temperature=1.0), kl, 1e-12)
    close(F.kd_loss(s, s.clone(), temperature=3.0), torch.zeros((), dtype=DT), 1e-12)


def test_kd_hinton_mix():
    s, t, y = randn(5, 6), randn(5, 6, seed=1), torch.tensor([0, 1, 2, 3, 4])
    soft = F.kd_loss(s, t, temperature=4.0)
    close(F.kd_loss(s, t, y, temperature=4.0, alpha=0.9),
          0.9 * soft + 0.1 * TF.cross_entropy(s, y), 1e-12)
    close(F.kd_loss(s, t, y, alpha=0.0), TF.cross_entropy(s, y), 1e-12)


_TEACHER_ZEROS = {
    "kd": lambda s, t, y: F.kd_loss(s, t, reduction="none"),
    "kd with target": lambda s, t, y: F.kd_loss(s, t, y, reduction="none"),
    "dkd": lambda s, t, y: F.dkd_loss(s, t, y, reduction="none"),
    "nkd": lambda s, t, y: F.nkd_loss(s, t, y, reduction="none"),
    "agreement kl": lambda s, t, y: F.agreement_consistency_loss(s, t, reduction="none"),
    "agreement js": lambda s, t, y: F.agreement_consistency_loss(s, t, divergence="js",
                                                                 reduction="none"),
}


@pytest.mark.parametrize("name", list(_TEACHER_ZEROS))
def test_teacher_probabilities_of_exactly_zero_count_as_zero(name):
    """A teacher that rules a class out (logit -inf, probability 0) adds 0 log 0 = 0 for it,
    as torch's kl_div does: the loss equals that of a logit so low that its probability
    underflows to 0, instead of NaN."""
    s, y = randn(4, 5), torch.tensor([0, 1, 2, 0])
    t = randn(4, 5, seed=1)
    t[:, 4] = -1e4  # exp underflows to exactly 0 in float64, the log stays finite
    t[2, 3] = -1e4  # a row with two classes ruled out
    masked = t.masked_fill(t == -1e4, -math.inf)
    x = s.clone().requires_grad_(True)
    out = _TEACHER_ZEROS[name](x, masked, y)
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    close(out, _TEACHER_ZEROS[name](s, t, y), 1e-12)


@pytest.mark.parametrize("name", list(_TEACHER_ZEROS))
def test_classes_masked_in_both_models_count_as_zero(name):
    """A class ruled out by the student and the teacher alike (both logits -inf: a class
    absent from the task) adds nothing: the loss and the student's gradient equal those of
    logits so low that both probabilities underflow to 0, instead of NaN."""
    s, t, y = randn(4, 5), randn(4, 5, seed=1), torch.tensor([0, 1, 2, 0])
    s[:, 4] = t[:, 4] = -1e4
    s[2, 3] = t[2, 3] = -1e4
    masked_s = s.masked_fill(s == -1e4, -math.inf).requires_grad_(True)
    masked_t = t.masked_fill(t == -1e4, -math.inf)
    low_s = s.clone().requires_grad_(True)
    out = _TEACHER_ZEROS[name](masked_s, masked_t, y)
    want = _TEACHER_ZEROS[name](low_s, t, y)
    close(out, want, 1e-12)
    out.sum().backward()
    want.sum().backward()
    assert torch.isfinite(masked_s.grad).all()
    close(masked_s.grad, low_s.grad, 1e-12)


@pytest.mark.parametrize("name", ["kd", "kd with target", "dkd", "nkd"])
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_teacher_logits_give_a_nan_loss(name, bad):
    """A NaN or +inf teacher logit (a diverged teacher) makes that row's loss NaN, as torch's
    kl_div does, so that fit stops and says so; it is not read as probabilities of 0 that
    silently give a loss of 0."""
    s, y = randn(3, 5), torch.tensor([0, 1, 2])
    t = randn(3, 5, seed=1)
    t[1, 3] = bad
    out = _TEACHER_ZEROS[name](s, t, y)
    assert torch.isnan(out[1])
    assert torch.isfinite(out[[0, 2]]).all()


def test_dkd_with_a_teacher_certain_of_the_target_is_finite():
    """All non-target teacher probabilities 0: the non-target distribution is undefined and
    its KL counts as 0; the loss and its gradient stay finite."""
    s, y = randn(2, 4).requires_grad_(True), torch.tensor([1, 3])
    t = torch.full((2, 4), -math.inf, dtype=DT)
    t[0, 1] = t[1, 3] = 0.0
    out = F.dkd_loss(s, t, y)
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(s.grad).all()


def test_nkd_with_a_teacher_certain_of_the_target_is_its_target_part():
    """The same for NKD (e.g. a teacher read back from top-1 soft labels): the undefined
    non-target part counts as 0, leaving -log p_s,y (p_t,y = 1), with a finite gradient."""
    s, y = randn(2, 4).requires_grad_(True), torch.tensor([1, 3])
    t = torch.full((2, 4), -math.inf, dtype=DT)
    t[0, 1] = t[1, 3] = 0.0
    out = F.nkd_loss(s, t, y, temperature=2.0, reduction="none")
    close(out, TF.cross_entropy(s, y, reduction="none"), 1e-12)
    out.sum().backward()
    assert torch.isfinite(s.grad).all()


def test_kd_t2_keeps_the_gradient_scale():
    """With T^2 the gradient norm barely moves between T = 2 and 8; without it, it shrinks
    roughly like 1 / T^2."""
    s, t = randn(64, 10, scale=0.5), randn(64, 10, seed=1, scale=0.5)

    def grad_norm(temperature, t2):
        x = s.clone().requires_grad_(True)
        F.kd_loss(x, t, temperature=temperature, t2_scale=t2).backward()
        return float(x.grad.norm())

    assert grad_norm(8.0, True) / grad_norm(2.0, True) > 0.7
    assert grad_norm(8.0, False) / grad_norm(2.0, False) < 0.1


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.0])
def test_dkd_decomposition_of_kd(temperature):
    """KD = TCKD + (1 - p_t,y^T) NCKD, per sample, both with the same T^2 factor."""
    s, t = randn(8, 7, scale=2.0), randn(8, 7, seed=1, scale=3.0)
    y = torch.randint(0, 7, (8,), generator=gen(2))
    kd = F.kd_loss(s, t, temperature=temperature, reduction="none")
    tckd = F.dkd_loss(s, t, y, alpha=1.0, beta=0.0, temperature=temperature, reduction="none")
    nckd = F.dkd_loss(s, t, y, alpha=0.0, beta=1.0, temperature=temperature, reduction="none")
    p_target = torch.softmax(t / temperature, 1).gather(1, y[:, None]).squeeze(1)
    close(kd, tckd + (1.0 - p_target) * nckd, 1e-12)
    close(F.dkd_loss(s, t, y, alpha=1.5, beta=4.0, temperature=temperature, reduction="none"),
          1.5 * tckd + 4.0 * nckd, 1e-12)


def test_nkd_relation_to_kd():
    """At T = 1: KD's cross-entropy = NKD target part - (1 - p_t,y) log(1 - p_s,y)
    + (1 - p_t,y) NKD non-target part; NKD (gamma = 1) keeps the first and last terms with
    the (1 - p_t,y) factor removed."""
    s, t = randn(8, 6, scale=2.0), randn(8, 6, seed=1, scale=2.0)
    y = torch.randint(0, 6, (8,), generator=gen(2))
    pt, ps = torch.softmax(t, 1), torch.softmax(s, 1)
    kd_ce = -(pt * torch.log_softmax(s, 1)).sum(1)
    target_part = F.nkd_loss(s, t, y, gamma=0.0, reduction="none")
    non_target = F.nkd_loss(s, t, y, gamma=1.0, reduction="none") - target_part
    pt_y, ps_y = pt.gather(1, y[:, None]).squeeze(1), ps.gather(1, y[:, None]).squeeze(1)
    middle = -(1.0 - pt_y) * torch.log(1.0 - ps_y)
    close(kd_ce, target_part + middle + (1.0 - pt_y) * non_target, 1e-12)
    close(target_part, -pt_y * torch.log(ps_y), 1e-12)
    # the same split written with KD's own value: KL + teacher entropy
    entropy = -(pt * torch.log(pt)).sum(1)
    close(F.kd_loss(s, t, temperature=1.0, reduction="none") + entropy, kd_ce, 1e-12)


def test_nkd_non_target_part_scales_with_gamma_t2():
    s, t, y = randn(4, 5), randn(4, 5, seed=1), torch.tensor([0, 1, 2, 3])
    base = F.nkd_loss(s, t, y, temperature=3.0, gamma=0.0)
    one = F.nkd_loss(s, t, y, temperature=3.0, gamma=1.0) - base
    close(F.nkd_loss(s, t, y, temperature=3.0, gamma=2.5) - base, 2.5 * one, 1e-12)


# --------------------------------------------------------------------------- ELR
@pytest.mark.parametrize("soft", [False, True])
def test_elr_with_zero_lambda_is_cross_entropy(soft):
    z = randn(6, 4, scale=2.0)
    y = torch.tensor([0, 3, 1, 1, 2, 0])
    target = torch.softmax(randn(6, 4, seed=3), 1) if soft else y
    loss = ELRLoss(num_examples=10, num_classes=4, lam=0.0).double()
    close(loss(z, target, torch.arange(6)), TF.cross_entropy(z, target), 1e-12)
    close(F.elr_loss(z, target, torch.rand(6, 4, dtype=DT) / 4, lam=0.0),
          TF.cross_entropy(z, target), 1e-12)


def test_elr_with_zero_beta_targets_the_current_prediction():
    z, y = randn(5, 4, scale=2.0), torch.tensor([0, 3, 1, 2, 0])
    loss = ELRLoss(num_examples=9, num_classes=4, lam=2.0, beta=0.0, reduction="none").double()
    loss.ema_target.fill_(0.25)  # earlier history is forgotten at beta = 0
    index = torch.tensor([8, 0, 4, 2, 6])
    value = loss(z, y, index)
    p = torch.softmax(z, 1).clamp(1e-4, 1 - 1e-4)
    current = p / p.sum(1, keepdim=True)
    close(loss.ema_target[index], current, 1e-12)
    expected = TF.cross_entropy(z, y, reduction="none") + 2.0 * torch.log(1 - (current * p).sum(1))
    close(value, expected, 1e-12)
    assert (value < TF.cross_entropy(z, y, reduction="none")).all()  # the regulariser is < 0


def test_elr_targets_stay_on_the_simplex_and_flag_noise():
    loss = ELRLoss(num_examples=6, num_classes=3, beta=0.5).double()
    z = torch.tensor([[4.0, 0.0, 0.0]] * 6, dtype=DT)
    labels = torch.tensor([0, 0, 1, 0, 2, 0])
    for _ in range(5):
        loss(z, labels, torch.arange(6))
    close(loss.ema_target.sum(1), torch.full((6,), 1 - 0.5**5, dtype=DT), 1e-12)
    assert loss.flag_noisy(labels).tolist() == [False, False, True, False, True, False]


def test_elr_untouched_rows_keep_their_state():
    loss = ELRLoss(num_examples=5, num_classes=2).double()
    loss(randn(2, 2), torch.tensor([0, 1]), torch.tensor([1, 3]))
    assert loss.ema_target[[0, 2, 4]].abs().sum() == 0
    assert loss.ema_target[[1, 3]].sum() > 0


def test_elr_diverged_logits_do_not_poison_the_targets():
    """A NaN row (a diverged step that fit reports, suggesting a lower lr) makes the loss
    NaN but leaves that sample's EMA target as it was, so training can go on."""
    loss = ELRLoss(num_examples=4, num_classes=3).double()
    loss(randn(2, 3), torch.tensor([0, 1]), torch.tensor([0, 1]))
    before = loss.ema_target.clone()
    z = randn(2, 3, seed=1)
    z[1, 2] = math.nan
    assert torch.isnan(loss(z, torch.tensor([0, 1]), torch.tensor([0, 1])))
    close(loss.ema_target[1], before[1], 0.0)
    assert not torch.equal(loss.ema_target[0], before[0])  # the finite row is updated
    assert torch.isfinite(loss.ema_target).all()


# --------------------------------------------------------------------------- complementary
def test_forward_correction_with_uniform_q_is_scl_nl_plus_log_k_minus_1():
    z, ybar = randn(6, 5, scale=2.0), torch.tensor([0, 1, 2, 3, 4, 0])
    close(F.forward_correction_loss(z, ybar, eps=0.0, reduction="none"),
          F.scl_nl_loss(z, ybar, eps=0.0, reduction="none") + math.log(4), 1e-12)
    close(F.forward_correction_loss(z, ybar, F.uniform_transition(5, dtype=DT)),
          F.forward_correction_loss(z, ybar), 1e-12)


def test_eps_zero_classes_without_target_mass_add_nothing():
    """eps = 0 (the papers' formulas): a class the target gives no weight adds 0, even where
    the log of its term is -inf (a prediction certain of another class); a prediction that
    matches the bag proportions exactly gives DLLP 0. Values and gradients stay finite."""
    z = torch.tensor([[-3.0, 800.0, -5.0], [2.0, 0.0, -1.0]], dtype=DT)  # row 0: p = (0, 1, 0)
    ybar = torch.tensor([2, 0])
    dist = torch.tensor([[0.5, 0.0, 0.5], [0.2, 0.3, 0.5]], dtype=DT)
    p = torch.softmax(z, 1)
    for fn, want_index, want_dist in (
        (F.scl_nl_loss, -torch.log1p(-p[[0, 1], ybar]),
         -torch.where(dist > 0, dist * torch.log1p(-p), 0.0).sum(1)),
        (F.forward_correction_loss, -torch.log(p @ F.uniform_transition(3, dtype=DT))[[0, 1], ybar],
         None),
    ):
        for target, want in ((ybar, want_index), (dist, want_dist)):
            x = z.clone().requires_grad_(True)
            out = fn(x, target, eps=0.0, reduction="none")
            out.sum().backward()
            assert torch.isfinite(out).all() and torch.isfinite(x.grad).all(), (fn, target)
            if want is not None:
                close(out, want, 1e-12)
    x = torch.tensor([[800.0, 0.0], [0.0, 800.0], [0.0, 0.0]], dtype=DT, requires_grad=True)
    rho = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], dtype=DT)
    out = F.dllp_loss(x, torch.arange(3), rho, eps=0.0, reduction="none")
    out.sum().backward()
    close(out, torch.tensor([0.0, 0.0, math.log(2.0)], dtype=DT), 1e-12)
    assert torch.isfinite(x.grad).all()


def test_ure_ga_is_the_plain_estimator_when_no_risk_is_negative():
    z = torch.zeros(4, 3, dtype=DT)  # uniform predictions: R_j = pi_j * log 3 > 0
    ybar = torch.tensor([0, 1, 2, 0])
    close(F.ure_ga_loss(z, ybar), torch.tensor(math.log(3.0), dtype=DT), 1e-12)


# --------------------------------------------------------------------------- others
def test_dllp_single_instance_bags_are_cross_entropy():
    z, y = randn(4, 3), torch.tensor([2, 0, 1, 1])
    close(F.dllp_loss(z, torch.arange(4), TF.one_hot(y, 3).to(DT)), TF.cross_entropy(z, y),
          1e-6)


def test_z_loss_invariances():
    o, y = randn(6, 5), torch.tensor([0, 1, 2, 3, 4, 0])
    base = F.z_loss(o, y, reduction="none")
    close(F.z_loss(3.0 * o + 5.0, y, reduction="none"), base, 1e-9)
    x = o.clone().requires_grad_(True)
    F.z_loss(x, y, b=1.0).backward()
    close(x.grad.sum(1), torch.zeros(6, dtype=DT), 1e-12)   # shift invariance
    close((x.grad * o).sum(1), torch.zeros(6, dtype=DT), 1e-9)  # scale invariance (Euler)
    standard = (o - o.mean(1, keepdim=True)) / o.std(1, correction=0, keepdim=True)
    hinge = torch.relu(1.0 - standard.gather(1, y[:, None]).squeeze(1))
    close(F.z_loss(o, y, a=200.0, b=1.0, reduction="none"), hinge, 5e-3)


def test_z_loss_constant_logits_stay_finite():
    x = torch.zeros(2, 4, dtype=DT, requires_grad=True)
    value = F.z_loss(x, torch.tensor([0, 1]))
    value.backward()
    close(value, torch.tensor(math.log(2.0), dtype=DT), 1e-12)
    assert torch.isfinite(x.grad).all()


def test_squared_hinge_is_zero_beyond_the_margin():
    o = torch.tensor([[1.5, -1.0, -3.0], [-2.0, 1.0, -1.2]], dtype=DT)
    close(F.squared_hinge_loss(o, torch.tensor([0, 1])), torch.zeros((), dtype=DT), 0)
    close(F.squared_hinge_loss(o, torch.tensor([1, 0]), reduction="none"),
          torch.tensor([2.5**2 + 2.0**2, 3.0**2 + 2.0**2], dtype=DT), 1e-12)


def test_decoupled_softmax_limits():
    s = torch.tensor([[30.0, 30.0, 30.0, 0.0, 0.0]], dtype=DT)
    rel = torch.tensor([[1.0, 1.0, 1.0, 0.0, 0.0]], dtype=DT)
    assert float(F.decoupled_softmax_loss(s, rel)) < 1e-12  # infimum 0, not 3 log 3
    z, y = randn(5, 4), torch.tensor([0, 1, 2, 3, 0])
    close(F.decoupled_softmax_loss(z, y), TF.cross_entropy(z, y), 1e-12)


def test_soft_top_k_rows_sum_to_k():
    s = torch.randn(6, 20, generator=gen(1)) * 3
    close(F.soft_top_k(s, 5).sum(1).double(), torch.full((6,), 5.0, dtype=DT), 1e-4)
    k = torch.tensor([1, 2, 3, 4, 5, 19])
    close(F.soft_top_k(s, k, alpha=0.5).sum(1).double(), k.double(), 1e-4)


def test_soft_top_k_rows_sum_to_k_over_many_near_tied_candidates():
    """50 000 candidates within a few hundredths of each other: the bisection bracket must
    still hold the threshold (sigmoid(-10) per candidate no longer sums below k)."""
    s = randn(2, 50_000, seed=3, scale=0.01)
    k = torch.tensor([1, 49_999])
    close(F.soft_top_k(s, k).sum(1), k.double(), 1e-6)


def test_sample_positives_follows_the_relevance():
    rel = torch.tensor([[3.0, 1.0, 0.0, 0.0]]).repeat(4000, 1)
    chosen = F.sample_positives(rel, 1, generator=gen(0))
    assert chosen.sum(1).eq(1).all() and not chosen[:, 2:].any()
    assert abs(chosen[:, 0].double().mean() - 0.75) < 0.03
    both = F.sample_positives(torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]]), 5)
    assert both.tolist() == [[True, True, False], [False, False, False]]


def test_thurstone_fidelity_vanishes_when_prediction_matches():
    sa, sb = randn(5), randn(5, seed=1)
    d = (sa - sb) / math.sqrt(2.0)  # unit std per item: Phi(d), d = diff / sqrt(1 + 1)
    g = 0.5 * (1 + torch.erf(d / math.sqrt(2.0)))
    assert F.thurstone_fidelity_loss(sa, sb, g, reduction="none").abs().max() < 1e-7
    wrong = F.thurstone_fidelity_loss(sa, sb, 1.0 - g, reduction="none")
    assert (wrong >= -1e-7).all() and wrong.max() > 0.01


def test_thurstone_levels_order_matters():
    za = torch.tensor([[3.0, 0.0, 0.0, 0.0, 0.0]], dtype=DT)  # mass on "excellent" (5)
    zb = torch.tensor([[0.0, 0.0, 0.0, 0.0, 3.0]], dtype=DT)
    prefer_a = torch.tensor([1.0], dtype=DT)
    assert float(F.thurstone_fidelity_loss(za, zb, prefer_a)) < 0.05
    assert float(F.thurstone_fidelity_loss(za, zb, prefer_a, levels=(1, 2, 3, 4, 5))) > 0.5


def test_best_of_heads_with_one_head_is_cross_entropy():
    z, y = randn(4, 1, 3), torch.tensor([0, 1, 2, 0])
    close(F.best_of_heads_loss(z, y), TF.cross_entropy(z[:, 0], y), 1e-12)


def test_soft_teacher_ce_with_unit_scores_is_cross_entropy():
    z, y = randn(5, 4), torch.tensor([0, 3, 1, 3, 2])
    close(F.soft_teacher_ce_loss(z, y, torch.ones(5, dtype=DT)), TF.cross_entropy(z, y), 1e-12)


def test_multi_focal_without_focusing_or_prior_is_clipped_bce():
    z = randn(4, 3)
    y = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0]],
                     dtype=DT)
    loss = create_loss("multi-focal", class_counts=[5, 5, 5], gamma_neg=0.0, clip=0.0,
                       reduction="sum").double()
    close(loss(z, y), TF.binary_cross_entropy_with_logits(z, y, reduction="sum"), 1e-9)


def test_pu_mlc_weights_and_temperature_are_detached():
    z = randn(6, 3, scale=0.5).requires_grad_(True)
    y = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 1], [0, 0, 0], [0, 1, 0]])
    F.pu_mlc_loss(z, y, gamma=0.0, alpha=100.0).backward()  # tau = 1, w = 1: plain VPU
    phi = torch.sigmoid(z.detach())
    expected = []
    for c in range(3):
        pos = y[:, c] == 1
        grad = phi[:, c] * (1 - phi[:, c]) / phi[:, c].sum()
        grad = grad - torch.where(pos, (1 - phi[:, c]) / pos.sum(), 0.0)
        expected.append(grad)
    close(z.grad, torch.stack(expected, 1), 1e-8)
