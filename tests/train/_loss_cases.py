"""One small input builder per registered loss, shared by the registry-wide contract tests.

``CASES[name] = Case(params, build, twin)``: ``build(n, dtype, scale, seed)`` returns the
forward arguments (floating inputs that take gradients first, flagged in ``grad_args``);
``twin(module, args, reduction)`` computes the same loss with the pure function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from softlabels.train.nn import functional as F

C = 5      # classes
L = 6      # labels for the multi-label retrieval losses
D = 3      # feature size
HEADS = 3


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _logits(n: int, c: int, dtype: torch.dtype, scale: float, g: torch.Generator) -> torch.Tensor:
    x = torch.randn(n, c, generator=g, dtype=torch.float64)
    if scale != 1.0:
        x = torch.sign(x) * scale
    return x.to(dtype).requires_grad_(True)


def _labels(n: int, c: int, g: torch.Generator) -> torch.Tensor:
    return torch.randint(0, c, (n,), generator=g)


def _probs(n: int, c: int, g: torch.Generator) -> torch.Tensor:
    return torch.softmax(torch.randn(n, c, generator=g, dtype=torch.float64), dim=1)


def _relevance(n: int, g: torch.Generator) -> torch.Tensor:
    rel = (torch.rand(n, L, generator=g, dtype=torch.float64) < 0.4).double()
    rel[:, 0] = 1.0  # every row has a positive
    rel[:, -1] = 0.0  # and a negative
    return rel * torch.randint(1, 4, (n, L), generator=g).double()


def _stochastic(c: int, g: torch.Generator) -> torch.Tensor:
    q = torch.rand(c, c, generator=g, dtype=torch.float64) + 0.1
    return q / q.sum(dim=1, keepdim=True)


@dataclass
class Case:
    params: dict[str, Any]
    build: Callable[[int, torch.dtype, float, int], tuple]
    twin: Callable[[Any, tuple, str], torch.Tensor]
    grad_args: tuple[int, ...] = (0,)
    extra: dict[str, Any] = field(default_factory=dict)


def _plain(fn: Callable) -> Callable:
    """A twin that calls ``fn(*args, **module hyper-parameters)``."""

    def twin(module: Any, args: tuple, reduction: str) -> torch.Tensor:
        return fn(*args, **{**module._kwargs(), "reduction": reduction})

    return twin


def _classify(n, dtype, scale, seed):
    g = _gen(seed)
    return _logits(n, C, dtype, scale, g), _labels(n, C, g)


def _classify_soft(n, dtype, scale, seed):
    g = _gen(seed)
    return _logits(n, C, dtype, scale, g), _probs(n, C, g).to(dtype)


def _distill(n, dtype, scale, seed):
    g = _gen(seed)
    return _logits(n, C, dtype, scale, g), _logits(n, C, dtype, scale, g), _labels(n, C, g)


def _uskd(n, dtype, scale, seed):
    g = _gen(seed)
    feats = torch.randn(n, D, generator=g, dtype=torch.float64).to(dtype).requires_grad_(True)
    return _logits(n, C, dtype, scale, g), _labels(n, C, g), feats


def _elr(n, dtype, scale, seed):
    g = _gen(seed)
    return _logits(n, C, dtype, scale, g), _labels(n, C, g), torch.randperm(10, generator=g)[:n]


def _dllp(n, dtype, scale, seed):
    g = _gen(seed)
    n_bags = (n + 1) // 2
    bag = torch.arange(n) % max(n_bags, 1)
    return _logits(n, C, dtype, scale, g), bag, _probs(n_bags, C, g).to(dtype)


def _multilabel(n, dtype, scale, seed):
    g = _gen(seed)
    y = torch.randint(-1, 2, (n, C), generator=g)
    return _logits(n, C, dtype, scale, g), y


def _multihot(n, dtype, scale, seed):
    g = _gen(seed)
    return _logits(n, C, dtype, scale, g), (torch.rand(n, C, generator=g) < 0.4).to(dtype)


def _features(n, dtype, scale, seed):
    g = _gen(seed)
    f = torch.randn(n, D, generator=g, dtype=torch.float64) * (scale if scale != 1.0 else 1.0)
    return f.to(dtype).requires_grad_(True), _labels(n, C, g)


def _retrieval(n, dtype, scale, seed):
    g = _gen(seed)
    return _logits(n, L, dtype, scale, g), _relevance(n, g).to(dtype)


def _pairs(n, dtype, scale, seed):
    g = _gen(seed)
    return (_logits(n, 5, dtype, scale, g), _logits(n, 5, dtype, scale, g),
            torch.rand(n, generator=g, dtype=torch.float64).to(dtype))


def _soft_teacher(n, dtype, scale, seed):
    g = _gen(seed)
    return _logits(n, C, dtype, scale, g), _labels(n, C, g), torch.rand(n, generator=g).to(dtype)


def _heads(n, dtype, scale, seed):
    g = _gen(seed)
    z = torch.randn(n, HEADS, C, generator=g, dtype=torch.float64)
    if scale != 1.0:
        z = torch.sign(z) * scale
    return z.to(dtype).requires_grad_(True), _labels(n, C, g)


_Q = _stochastic(C, _gen(99))
_COUNTS = [200.0, 50.0, 20.0, 5.0, 1.0]
_COOC = (torch.rand(C, C, generator=_gen(98)) * 10).round()


def _uskd_twin(module, args, reduction):
    logits, target, feats = args
    return F.uskd_loss(logits, target, module.head(feats.to(module.head.weight.dtype)),
                       **{**module._kwargs(), "reduction": reduction})


def _elr_twin(module, args, reduction):
    logits, target, _ = args
    ema = F.elr_update_targets(torch.zeros(logits.shape, dtype=torch.float64), logits,
                               beta=module.beta, clamp_eps=module.clamp_eps)
    return F.elr_loss(logits, target, ema.to(module.ema_target.dtype), lam=module.lam,
                      clamp_eps=module.clamp_eps, reduction=reduction)


def _normalized_twin(module, args, reduction):
    feats, target = args
    return F.normalized_softmax_loss(feats, module.weight, target, scale=module.scale,
                                     reduction=reduction)


def _focal_twin(module, args, reduction):
    return F.multi_focal_loss(*args, class_counts=module.class_counts,
                              cooccurrence=module.cooccurrence,
                              **{**module._kwargs(), "reduction": reduction})


CASES: dict[str, Case] = {
    "soft-cross-entropy": Case({"label_smoothing": 0.1}, _classify_soft,
                               _plain(F.soft_cross_entropy)),
    "kd": Case({"temperature": 2.0}, _distill, _plain(F.kd_loss), grad_args=(0,)),
    "dkd": Case({}, _distill, _plain(F.dkd_loss)),
    "nkd": Case({"temperature": 2.0}, _distill, _plain(F.nkd_loss)),
    "uskd": Case({"in_features": D, "num_classes": C}, _uskd, _uskd_twin, grad_args=(0, 2)),
    "elr": Case({"num_examples": 10, "num_classes": C}, _elr, _elr_twin),
    "scl-nl": Case({}, _classify, _plain(F.scl_nl_loss)),
    "scl-exp": Case({}, _classify, _plain(F.scl_exp_loss)),
    "ure-ga": Case({}, _classify, _plain(F.ure_ga_loss)),
    "forward-correction": Case({"transition": _Q}, _classify,
                               lambda m, a, r: F.forward_correction_loss(
                                   *a, m.transition, eps=m.eps, reduction=r)),
    "pc": Case({}, _classify, _plain(F.pc_loss)),
    "dllp": Case({}, _dllp, _plain(F.dllp_loss)),
    "pu-mlc": Case({}, _multilabel, _plain(F.pu_mlc_loss)),
    "multi-focal": Case({"class_counts": _COUNTS, "cooccurrence": _COOC}, _multihot,
                        _focal_twin),
    "z-loss": Case({"b": 0.5}, _classify, _plain(F.z_loss)),
    "squared-hinge": Case({}, _classify, _plain(F.squared_hinge_loss)),
    "normalized-softmax": Case({"in_features": D, "num_classes": C}, _features,
                               _normalized_twin),
    "decoupled-softmax": Case({}, _retrieval, _plain(F.decoupled_softmax_loss)),
    "soft-top-k": Case({"k": 2}, _retrieval, _plain(F.soft_top_k_loss)),
    "thurstone-fidelity": Case({"fixed_pred_std": False}, _pairs,
                               _plain(F.thurstone_fidelity_loss), grad_args=(0, 1)),
    "soft-teacher-ce": Case({}, _soft_teacher, _plain(F.soft_teacher_ce_loss)),
    "best-of-heads": Case({"relax": 0.1}, _heads, _plain(F.best_of_heads_loss)),
}


def make(name: str, *, n: int = 4, dtype: torch.dtype = torch.float64, scale: float = 1.0,
         seed: int = 0, reduction: str = "mean") -> tuple[Any, tuple]:
    """A fresh module (in ``dtype`` for float64 runs) and its inputs."""
    from softlabels.train.nn import create_loss

    case = CASES[name]
    torch.manual_seed(seed)  # parameter initialisation (USKD head, class vectors)
    module = create_loss(name, **{**case.params, "reduction": reduction})
    if dtype == torch.float64:
        module = module.double()
    return module, case.build(n, dtype, scale, seed)
