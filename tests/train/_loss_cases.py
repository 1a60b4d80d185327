"""Input builders for the registry-wide contract tests.

``case(name)`` gives a :class:`Case`: ``build(n, dtype, scale, seed)`` returns the forward
arguments (floating inputs that take gradients first, flagged in ``grad_args``). A loss called
as ``loss(logits, target)``, ``loss(student, teacher, target)`` or with bags needs no entry in
:data:`CASES` (it is tested with default parameters); an entry sets explicit hyper-parameters
and, for losses with buffers or learned parts, how its function is called.
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
    """How the contract tests exercise one loss.

    ``params`` are hyper-parameters given explicitly, and identically, to the module's
    constructor and to the function (non-default values, so a module that drops, swaps or
    mis-stores one differs from its function); ``init`` are constructor-only arguments (sizes,
    buffers). ``twin(function, module, args, params)`` computes the loss with the function,
    taking from the module only its learned parts (heads, class vectors), never its
    hyper-parameters; by default it is ``function(*args, **params)``.
    """

    params: dict[str, Any]
    build: Callable[[int, torch.dtype, float, int], tuple]
    twin: Callable[[Callable, Any, tuple, dict], torch.Tensor] | None = None
    grad_args: tuple[int, ...] = (0,)
    init: dict[str, Any] = field(default_factory=dict)


def _plain(fn: Callable, module: Any, args: tuple, params: dict) -> torch.Tensor:
    return fn(*args, **params)


def _classify(n, dtype, scale, seed):
    g = _gen(seed)
    return _logits(n, C, dtype, scale, g), _labels(n, C, g)


def _classify_soft(n, dtype, scale, seed):
    g = _gen(seed)
    return _logits(n, C, dtype, scale, g), _probs(n, C, g).to(dtype)


def _distill(n, dtype, scale, seed):
    g = _gen(seed)
    return _logits(n, C, dtype, scale, g), _logits(n, C, dtype, scale, g), _labels(n, C, g)


def _distill_pair(n, dtype, scale, seed):
    """Student and teacher logits that agree on every other row (no target)."""
    student, teacher, _ = _distill(n, dtype, scale, seed)
    with torch.no_grad():
        teacher[::2] = 2 * student[::2]  # same argmax, another distribution
    return student, teacher


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


def _logits_only(n, dtype, scale, seed):
    return (_logits(n, C, dtype, scale, _gen(seed)),)


def _heads(n, dtype, scale, seed):
    g = _gen(seed)
    z = torch.randn(n, HEADS, C, generator=g, dtype=torch.float64)
    if scale != 1.0:
        z = torch.sign(z) * scale
    return z.to(dtype).requires_grad_(True), _labels(n, C, g)


_Q = _stochastic(C, _gen(99))
_COUNTS = [200.0, 50.0, 20.0, 5.0, 1.0]
_COOC = (torch.rand(C, C, generator=_gen(98)) * 10).round()


def _uskd_twin(fn, module, args, params):
    logits, target, feats = args
    return fn(logits, target, module.head(feats.to(module.head.weight.dtype)), **params)


def _elr_twin(fn, module, args, params):
    logits, target, _ = args  # a fresh module: every row of its EMA target starts at zero
    update = {k: params[k] for k in ("beta", "clamp_eps")}
    loss = {k: params[k] for k in ("lam", "clamp_eps", "reduction")}
    ema = F.elr_update_targets(torch.zeros(logits.shape, dtype=torch.float64), logits, **update)
    return fn(logits, target, ema.to(module.ema_target.dtype), **loss)


def _normalized_twin(fn, module, args, params):
    feats, target = args
    return fn(feats, module.weight, target, **params)


def _forward_twin(fn, module, args, params):
    return fn(*args, _Q, **params)


def _focal_twin(fn, module, args, params):
    return fn(*args, class_counts=torch.tensor(_COUNTS), cooccurrence=_COOC, **params)


def _ure_twin(fn, module, args, params):
    return fn(*args, _Q, torch.tensor(_PRIOR), **params)


_PRIOR = [0.3, 0.25, 0.2, 0.15, 0.1]

CASES: dict[str, Case] = {
    "soft-cross-entropy": Case({"label_smoothing": 0.1}, _classify_soft),
    "kd": Case({"temperature": 2.0, "alpha": 0.7, "t2_scale": False}, _distill),
    "dkd": Case({"alpha": 0.5, "beta": 2.0, "temperature": 3.0, "t2_scale": False}, _distill),
    "nkd": Case({"temperature": 2.0, "gamma": 1.0}, _distill),
    "uskd": Case({"alpha": 0.8, "beta": 0.2, "mu": 0.01, "rank_source": "paper"}, _uskd,
                 _uskd_twin, grad_args=(0, 2), init={"in_features": D, "num_classes": C}),
    "elr": Case({"lam": 2.0, "beta": 0.5, "clamp_eps": 1e-3}, _elr, _elr_twin,
                init={"num_examples": 10, "num_classes": C}),
    "scl-nl": Case({"eps": 1e-4}, _classify),
    "ure-ga": Case({}, _classify, _ure_twin, init={"transition": _Q, "prior": _PRIOR}),
    "forward-correction": Case({"eps": 1e-4}, _classify, _forward_twin,
                               init={"transition": _Q}),
    "dllp": Case({"eps": 1e-5}, _dllp),
    "pu-mlc": Case({"alpha": 0.5, "gamma": 0.4, "eps": 1e-8, "min_tau": 1e-2, "max_tau": 0.9},
                   _multilabel),
    "multi-focal": Case({"gamma_pos": 0.5, "gamma_neg": 2.0, "clip": 0.1, "neg_boost": 1.5,
                         "prior_power": 0.5, "eps": 1e-6}, _multihot, _focal_twin,
                        init={"class_counts": _COUNTS, "cooccurrence": _COOC}),
    "z-loss": Case({"a": 2.0, "b": 0.5, "eps": 1e-10}, _classify),
    "squared-hinge": Case({"margin": 0.5}, _classify),
    "normalized-softmax": Case({"scale": 5.0}, _features, _normalized_twin,
                               init={"in_features": D, "num_classes": C}),
    "decoupled-softmax": Case({"weighted": True}, _retrieval),
    "soft-top-k": Case({"k": 2, "alpha": 3.0, "n_iter": 20, "weighted": True}, _retrieval),
    "thurstone-fidelity": Case({"levels": (4.0, 3.5, 2.0, 1.5, 1.0), "fixed_pred_std": False,
                                "eps": 1e-6}, _pairs, grad_args=(0, 1)),
    "soft-teacher-ce": Case({"bg_index": 0, "normalize": "paper"}, _soft_teacher),
    "best-of-heads": Case({"relax": 0.1}, _heads),
    "agreement-consistency": Case({"divergence": "js"}, _distill_pair),
    "soft-entropy": Case({"num_old": 2, "old_new_weight": 1.5, "old_weight": 0.5,
                          "new_weight": 2.0, "temperature": 0.5}, _logits_only),
}

#: Inputs for a loss without an entry above, chosen by its declared call convention.
_BY_CALL = {"target": _classify, "distill": _distill, "bags": _dllp}


def case(name: str) -> Case:
    """The case of a registered loss: its entry in :data:`CASES`, or plain default-parameter
    inputs for its call convention (losses with other conventions need an entry)."""
    from softlabels.train import loss_info

    if name in CASES:
        return CASES[name]
    call = loss_info(name).call
    if call not in _BY_CALL:
        raise LookupError(f"loss {name!r} (call={call!r}) needs a Case in _loss_cases.CASES: "
                          "the contract tests cannot guess its extra inputs.")
    return Case({}, _BY_CALL[call])


def function_of(name: str) -> Callable:
    """The registered pure function of a loss."""
    from softlabels.train import LOSSES

    return LOSSES.get(name).function


def twin(name: str, module: Any, args: tuple, reduction: str) -> torch.Tensor:
    """The loss computed by its function with the case's parameters given explicitly."""
    c = case(name)
    return (c.twin or _plain)(function_of(name), module, args,
                              {**c.params, "reduction": reduction})


def make(name: str, *, n: int = 4, dtype: torch.dtype = torch.float64, scale: float = 1.0,
         seed: int = 0, reduction: str = "mean") -> tuple[Any, tuple]:
    """A fresh module (in ``dtype`` for float64 runs) and its inputs."""
    from softlabels.train.nn import create_loss

    c = case(name)
    torch.manual_seed(seed)  # parameter initialisation (USKD head, class vectors)
    module = create_loss(name, **{**c.init, **c.params, "reduction": reduction})
    if dtype == torch.float64:
        module = module.double()
    return module, c.build(n, dtype, scale, seed)
