"""Registry-wide batch properties of the losses: the order of the samples in a batch does not
matter, a batch of one works, and the smooth losses not covered by test_loss_reference's
gradcheck pass it too (float64)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from _loss_cases import case, make  # noqa: E402

from softlabels.train import loss_info  # noqa: E402
from softlabels.train.nn import functional as F  # noqa: E402
from softlabels.train.nn import list_losses  # noqa: E402

NAMES = list_losses()
N = 6
PERM = torch.tensor([3, 0, 5, 1, 4, 2])


def _permuted(args: tuple, perm: torch.Tensor) -> tuple:
    """Every per-sample input (first axis of length N) reordered; the rest as it is."""
    return tuple(a.detach()[perm].requires_grad_(a.requires_grad)
                 if torch.is_tensor(a) and a.ndim and a.shape[0] == N else a for a in args)


@pytest.mark.parametrize("name", NAMES)
def test_sample_order_does_not_matter(name):
    """Reordering the samples reorders the per-sample losses (per-bag losses stay put) and
    leaves the mean and each sample's gradient unchanged, also for the losses whose terms
    depend on the whole batch (USKD, URE-GA, PU-MLC, soft entropy, Soft Teacher)."""
    c = case(name)
    module, args = make(name, n=N, reduction="none")
    out = module(*args)
    out.sum().backward()
    moved = _permuted(args, PERM)
    other, _ = make(name, n=N, reduction="none")  # fresh state (ELR) and the same parameters
    out_moved = other(*moved)
    out_moved.sum().backward()
    per_bag = loss_info(name).call == "bags"
    torch.testing.assert_close(out_moved, out if per_bag else out[PERM], rtol=0, atol=1e-10)
    for i in c.grad_args:
        if args[i].shape[0] == N:
            torch.testing.assert_close(moved[i].grad, args[i].grad[PERM], rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_batch_of_one(name):
    c = case(name)
    module, args = make(name, n=1, reduction="none")
    per_sample = module(*args)
    assert per_sample.shape == (1,)
    module, args = make(name, n=1, reduction="mean")
    value = module(*args)
    torch.testing.assert_close(value, per_sample[0].detach(), rtol=0, atol=1e-12)
    value.backward()
    for i in c.grad_args:
        assert args[i].grad is not None and torch.isfinite(args[i].grad).all()


def _leaf(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).requires_grad_(True)


def _probs(n, c, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(n, c, generator=g, dtype=torch.float64), dim=1)


@pytest.mark.parametrize(
    "fn, args",
    [
        (lambda z, t: F.soft_cross_entropy(z, t, torch.tensor([0.5, 2.0, 1.0], dtype=z.dtype),
                                           label_smoothing=0.1),
         lambda: (_leaf(3, 4), _probs(3, 4, 1))),
        (lambda z, t: F.elr_loss(z, t, _probs(3, 4, 2) * 0.9), lambda: (_leaf(3, 4),
                                                                         torch.tensor([0, 3, 1]))),
        (lambda z, t: F.soft_teacher_ce_loss(z, t, torch.tensor([0.3, 0.8, 0.5],
                                                                 dtype=z.dtype)),
         lambda: (_leaf(3, 4), torch.tensor([3, 0, 3]))),
        (lambda z, t: F.soft_teacher_ce_loss(z, t, torch.tensor([0.3, 0.8, 0.5], dtype=z.dtype),
                                             normalize="paper"),
         lambda: (_leaf(3, 4), torch.tensor([3, 0, 3]))),
        (lambda z: F.soft_entropy_loss(z, num_old=2, temperature=0.5), lambda: (_leaf(4, 5),)),
        (lambda z: F.soft_entropy_loss(z, temperature=0.5), lambda: (_leaf(4, 5),)),
        (lambda z, t: F.normalized_softmax_loss(z, _leaf(4, 3, seed=5).detach(), t, scale=3.0),
         lambda: (_leaf(3, 3), torch.tensor([0, 3, 1]))),
        (lambda z, t: F.uskd_loss(t, torch.tensor([0, 2, 1]), z, mu=0.5),
         lambda: (_leaf(3, 4), _leaf(3, 4, seed=3).detach())),
        (lambda z, t: F.agreement_consistency_loss(z, t, divergence="js"),
         lambda: (_leaf(3, 4), 3 * _leaf(3, 4).detach())),
        (lambda z, t: F.agreement_consistency_loss(z, t), lambda: (_leaf(3, 4),
                                                                  3 * _leaf(3, 4).detach())),
        (lambda z, t: F.pc_loss(z, t), lambda: (_leaf(3, 4), _probs(3, 4, 4))),
        (lambda z, t: F.scl_nl_loss(z, t, eps=0.0), lambda: (_leaf(3, 4), _probs(3, 4, 5))),
        (lambda z, t: F.forward_correction_loss(z, t, eps=0.0),
         lambda: (_leaf(3, 4), _probs(3, 4, 6))),
    ],
    ids=["soft-ce-weighted-smoothed", "elr", "soft-teacher-joint", "soft-teacher-paper",
         "soft-entropy-groups", "soft-entropy-plain", "normalized-softmax", "uskd-weak-head",
         "agreement-js", "agreement-kl", "pc-distribution", "scl-nl-distribution-eps0",
         "forward-correction-distribution-eps0"],
)
def test_gradcheck_of_the_other_smooth_losses(fn, args):
    """Analytical against numerical gradients (float64) for the losses or inputs that
    test_loss_reference's gradcheck leaves out; where a loss detaches an input-dependent
    factor, only an input it does not detach is checked (the USKD weak head)."""
    inputs = args()
    assert torch.autograd.gradcheck(lambda x: fn(x, *inputs[1:]), (inputs[0],), eps=1e-6,
                                    atol=1e-6)
