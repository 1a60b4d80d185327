"""``nn.Module`` twins of the functions in :mod:`softlabels.train.nn.functional`.

Each module stores its hyper-parameters as attributes (checked on construction and again on
every call) and its ``forward`` calls the function. Modules with learnable parts own them
(``USKDLoss.head``, ``NormalizedSoftmaxLoss.weight``); stateful ones keep their state in
registered buffers (``ELRLoss.ema_target``), so ``.to(device)`` and ``state_dict()`` carry it.
All are registered by name in :data:`softlabels.train.LOSSES`.

>>> import torch
>>> from softlabels.train.nn import create_loss
>>> loss = create_loss("soft-cross-entropy", label_smoothing=0.1)
>>> loss(torch.zeros(2, 3), torch.tensor([0, 2])).round(decimals=4)
tensor(1.0986)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from softlabels.core.errors import InputError
from softlabels.train.nn import _classification as _c
from softlabels.train.nn import _distill as _d
from softlabels.train.nn import _ranking as _r
from softlabels.train.nn import _weak as _w
from softlabels.core.validation import Constraint, check_params
from softlabels.train.nn._common import positive_int

__all__ = [
    "BestOfHeadsLoss",
    "DKDLoss",
    "DLLPLoss",
    "DecoupledSoftmaxLoss",
    "ELRLoss",
    "ForwardCorrectionLoss",
    "KDLoss",
    "MultiFocalLoss",
    "NKDLoss",
    "NormalizedSoftmaxLoss",
    "PCLoss",
    "PUMLCLoss",
    "SCLEXPLoss",
    "SCLNLLoss",
    "SoftCrossEntropy",
    "SoftTeacherCELoss",
    "SoftTopKLoss",
    "SquaredHingeLoss",
    "ThurstoneFidelityLoss",
    "UREGALoss",
    "USKDLoss",
    "ZLoss",
]


class _Loss(nn.Module):
    _spec: ClassVar[Mapping[str, Constraint]]

    def __init__(self, **params: Any) -> None:
        super().__init__()
        check_params(type(self).__name__, self._spec, **params)
        self._param_names = tuple(params)
        for name, value in params.items():
            setattr(self, name, value)

    def _kwargs(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names}

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self._param_names)


def _optional_buffer(value: Any) -> Tensor | None:
    if value is None:
        return None
    t = torch.as_tensor(value).detach().clone()
    return t if t.is_floating_point() else t.float()


# --------------------------------------------------------------------------- classification
class SoftCrossEntropy(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.soft_cross_entropy`.

    ``forward(logits, target, weight=None)``: target = class indices ``(N,)`` or
    probabilities ``(N, C)``; weight = per-sample weights ``(N,)``.
    """

    _spec = _c.SOFT_CE_PARAMS

    def __init__(self, *, label_smoothing: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(label_smoothing=label_smoothing, reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
        return _c.soft_cross_entropy(logits, target, weight, **self._kwargs())


class ZLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.z_loss`; ``forward(logits, target)``."""

    _spec = _c.Z_PARAMS

    def __init__(self, *, a: float = 1.0, b: float = 0.0, eps: float = 1e-12,
                 reduction: str = "mean") -> None:
        super().__init__(a=a, b=b, eps=eps, reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return _c.z_loss(logits, target, **self._kwargs())


class SquaredHingeLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.squared_hinge_loss`;
    ``forward(logits, target)``."""

    _spec = _c.HINGE_PARAMS

    def __init__(self, *, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(margin=margin, reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return _c.squared_hinge_loss(logits, target, **self._kwargs())


class NormalizedSoftmaxLoss(_Loss):
    """Normalized softmax with its own class vectors ``weight`` of shape
    ``(num_classes, in_features)``; ``forward(features, target)``.

    Twin of :func:`~softlabels.train.nn.functional.normalized_softmax_loss`. Use
    :meth:`logits` for predictions; a new class can be added later by appending the
    normalised mean embedding of its examples as a new row of ``weight``.
    """

    _spec = _c.NORMALIZED_PARAMS

    def __init__(self, in_features: int, num_classes: int, *, scale: float = 10.0,
                 reduction: str = "mean") -> None:
        super().__init__(scale=scale, reduction=reduction)
        positive_int(in_features, "in_features", "NormalizedSoftmaxLoss")
        positive_int(num_classes, "num_classes", "NormalizedSoftmaxLoss")
        self.weight = nn.Parameter(torch.randn(num_classes, in_features))

    def logits(self, features: Tensor) -> Tensor:
        return _c.normalized_logits(features, self.weight, scale=self.scale)

    def forward(self, features: Tensor, target: Tensor) -> Tensor:
        return _c.normalized_softmax_loss(features, self.weight, target, **self._kwargs())


class SoftTeacherCELoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.soft_teacher_ce_loss`;
    ``forward(logits, target, bg_score)``."""

    _spec = _c.SOFT_TEACHER_PARAMS

    def __init__(self, *, bg_index: int = -1, normalize: str = "joint",
                 reduction: str = "mean") -> None:
        super().__init__(bg_index=bg_index, normalize=normalize, reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor, bg_score: Tensor) -> Tensor:
        return _c.soft_teacher_ce_loss(logits, target, bg_score, **self._kwargs())


class BestOfHeadsLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.best_of_heads_loss`;
    ``forward(logits, target)`` with logits of shape ``(N, K, C)``."""

    _spec = _c.BEST_OF_PARAMS

    def __init__(self, *, relax: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(relax=relax, reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return _c.best_of_heads_loss(logits, target, **self._kwargs())


# --------------------------------------------------------------------------- distillation
class KDLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.kd_loss`;
    ``forward(student_logits, teacher_logits, target=None)``."""

    _spec = _d.KD_PARAMS

    def __init__(self, *, temperature: float = 4.0, alpha: float = 0.9, t2_scale: bool = True,
                 reduction: str = "mean") -> None:
        super().__init__(temperature=temperature, alpha=alpha, t2_scale=t2_scale,
                         reduction=reduction)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor,
                target: Tensor | None = None) -> Tensor:
        return _d.kd_loss(student_logits, teacher_logits, target, **self._kwargs())


class DKDLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.dkd_loss`;
    ``forward(student_logits, teacher_logits, target)``."""

    _spec = _d.DKD_PARAMS

    def __init__(self, *, alpha: float = 1.0, beta: float = 8.0, temperature: float = 4.0,
                 t2_scale: bool = True, reduction: str = "mean") -> None:
        super().__init__(alpha=alpha, beta=beta, temperature=temperature, t2_scale=t2_scale,
                         reduction=reduction)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor, target: Tensor) -> Tensor:
        return _d.dkd_loss(student_logits, teacher_logits, target, **self._kwargs())


class NKDLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.nkd_loss`;
    ``forward(student_logits, teacher_logits, target)``."""

    _spec = _d.NKD_PARAMS

    def __init__(self, *, temperature: float = 1.0, gamma: float = 1.5,
                 reduction: str = "mean") -> None:
        super().__init__(temperature=temperature, gamma=gamma, reduction=reduction)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor, target: Tensor) -> Tensor:
        return _d.nkd_loss(student_logits, teacher_logits, target, **self._kwargs())


class USKDLoss(_Loss):
    """USKD with its weak supervision head ``head = nn.Linear(in_features, num_classes)``;
    ``forward(logits, target, features)`` where ``features`` is a mid-level pooled feature
    (ResNet: the GAP of stage 3, 256 channels for ResNet-18).

    Twin of :func:`~softlabels.train.nn.functional.uskd_loss`. The head has trainable
    parameters: give this module's parameters to the optimiser.
    """

    _spec = _d.USKD_PARAMS

    def __init__(self, in_features: int, num_classes: int, *, alpha: float = 1.0,
                 beta: float = 0.1, mu: float = 0.005, rank_source: str = "code",
                 reduction: str = "mean") -> None:
        super().__init__(alpha=alpha, beta=beta, mu=mu, rank_source=rank_source,
                         reduction=reduction)
        positive_int(in_features, "in_features", "USKDLoss")
        positive_int(num_classes, "num_classes", "USKDLoss")
        self.head = nn.Linear(in_features, num_classes)

    def forward(self, logits: Tensor, target: Tensor, features: Tensor) -> Tensor:
        weak = self.head(features.to(self.head.weight.dtype))
        return _d.uskd_loss(logits, target, weak, **self._kwargs())


# --------------------------------------------------------------------------- noisy labels
class ELRLoss(_Loss):
    """Early-learning regularisation with per-sample EMA targets in the buffer
    ``ema_target`` of shape ``(num_examples, num_classes)`` (zeros at start).

    ``forward(logits, target, index)``: ``index`` (integer, ``(N,)``) gives each sample's
    position in the training set; indices in one batch must be distinct. Every call first
    updates ``ema_target[index]`` (:func:`~softlabels.train.nn.functional.elr_update_targets`),
    then returns :func:`~softlabels.train.nn.functional.elr_loss` with the updated rows,
    as the official code does.

    Examples
    --------
    >>> import torch
    >>> loss = ELRLoss(num_examples=4, num_classes=3)
    >>> value = loss(torch.zeros(2, 3), torch.tensor([0, 1]), torch.tensor([3, 1]))
    >>> loss.ema_target[3]
    tensor([0.1000, 0.1000, 0.1000])
    """

    _spec = _w.ELR_PARAMS

    def __init__(self, num_examples: int, num_classes: int, *, lam: float = 3.0,
                 beta: float = 0.7, clamp_eps: float = 1e-4, reduction: str = "mean") -> None:
        super().__init__(lam=lam, beta=beta, clamp_eps=clamp_eps, reduction=reduction)
        positive_int(num_examples, "num_examples", "ELRLoss")
        positive_int(num_classes, "num_classes", "ELRLoss")
        self.register_buffer("ema_target", torch.zeros(num_examples, num_classes))

    def _check_index(self, index: Any, n: int) -> Tensor:
        if not isinstance(index, Tensor) or index.is_floating_point() or \
                index.dtype == torch.bool or index.shape != (n,):
            got = f"{index.dtype} {tuple(index.shape)}" if isinstance(index, Tensor) else \
                type(index).__name__
            raise InputError(f"index must be an integer tensor of shape ({n},); got {got}.")
        size = self.ema_target.shape[0]
        if n and (int(index.min()) < 0 or int(index.max()) >= size):
            raise InputError(f"index values must lie in [0, {size}) (num_examples).")
        if n and torch.unique(index).numel() != n:
            raise InputError("index has repeated samples in one batch; ELR needs distinct indices.")
        return index.long().to(self.ema_target.device)

    def forward(self, logits: Tensor, target: Tensor, index: Tensor) -> Tensor:
        if not isinstance(logits, Tensor) or logits.ndim != 2 or \
                logits.shape[1] != self.ema_target.shape[1]:
            got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
            raise InputError(
                f"logits must have shape (N, {self.ema_target.shape[1]}) (num_classes); got {got}."
            )
        idx = self._check_index(index, logits.shape[0])
        rows = _w.elr_update_targets(self.ema_target[idx], logits, beta=self.beta,
                                     clamp_eps=self.clamp_eps)
        self.ema_target[idx] = rows.to(self.ema_target.dtype)
        return _w.elr_loss(logits, target, self.ema_target[idx], lam=self.lam,
                           clamp_eps=self.clamp_eps, reduction=self.reduction)

    def flag_noisy(self, labels: Tensor) -> Tensor:
        """Boolean ``(num_examples,)``: samples whose EMA target's argmax differs from the
        given label (the official noisy-label detection rule)."""
        labels = torch.as_tensor(labels, device=self.ema_target.device)
        if labels.shape != (self.ema_target.shape[0],):
            raise InputError(
                f"labels must have shape ({self.ema_target.shape[0]},); got {tuple(labels.shape)}."
            )
        return self.ema_target.argmax(dim=1) != labels


# --------------------------------------------------------------------------- complementary labels
class SCLNLLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.scl_nl_loss`;
    ``forward(logits, target)`` with complementary labels."""

    _spec = _w.CLL_PARAMS

    def __init__(self, *, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(eps=eps, reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return _w.scl_nl_loss(logits, target, **self._kwargs())


class SCLEXPLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.scl_exp_loss`;
    ``forward(logits, target)`` with complementary labels."""

    _spec = _w.CLL_PARAMS

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return _w.scl_exp_loss(logits, target, **self._kwargs())


class PCLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.pc_loss`;
    ``forward(logits, target)`` with complementary labels."""

    _spec = _w.CLL_PARAMS

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return _w.pc_loss(logits, target, **self._kwargs())


class ForwardCorrectionLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.forward_correction_loss`, with the
    transition matrix (or None for uniform) in the buffer ``transition``;
    ``forward(logits, target)``."""

    _spec = _w.CLL_PARAMS

    def __init__(self, transition: Any = None, *, eps: float = 1e-6,
                 reduction: str = "mean") -> None:
        super().__init__(eps=eps, reduction=reduction)
        self.register_buffer("transition", _optional_buffer(transition))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return _w.forward_correction_loss(logits, target, self.transition, **self._kwargs())


class UREGALoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.ure_ga_loss`, with the optional
    ``transition`` and ``prior`` in buffers; ``forward(logits, target)``."""

    _spec = _w.CLL_PARAMS

    def __init__(self, transition: Any = None, prior: Any = None, *,
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.register_buffer("transition", _optional_buffer(transition))
        self.register_buffer("prior", _optional_buffer(prior))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return _w.ure_ga_loss(logits, target, self.transition, self.prior, **self._kwargs())


# --------------------------------------------------------------------------- bags and multi-label
class DLLPLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.dllp_loss`;
    ``forward(logits, bag_index, bag_proportions)``, reduced over bags."""

    _spec = _w.DLLP_PARAMS

    def __init__(self, *, eps: float = 1e-7, reduction: str = "mean") -> None:
        super().__init__(eps=eps, reduction=reduction)

    def forward(self, logits: Tensor, bag_index: Tensor, bag_proportions: Tensor) -> Tensor:
        return _w.dllp_loss(logits, bag_index, bag_proportions, **self._kwargs())


class PUMLCLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.pu_mlc_loss`;
    ``forward(logits, target)`` with a ``(N, C)`` label matrix (1 = positive)."""

    _spec = _w.PU_PARAMS

    def __init__(self, *, alpha: float = 1.0, gamma: float = 0.55, eps: float = 1e-10,
                 min_tau: float = 1e-3, max_tau: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(alpha=alpha, gamma=gamma, eps=eps, min_tau=min_tau, max_tau=max_tau,
                         reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return _w.pu_mlc_loss(logits, target, **self._kwargs())


class MultiFocalLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.multi_focal_loss`, with
    ``class_counts`` and ``cooccurrence`` in buffers; ``forward(logits, target)``."""

    _spec = _w.FOCAL_PARAMS

    def __init__(self, class_counts: Any, cooccurrence: Any = None, *, gamma_pos: float = 0.0,
                 gamma_neg: float = 3.0, clip: float = 0.05, neg_boost: float = 1.2,
                 prior_power: float = 1.0 / 3.0, eps: float = 1e-8,
                 reduction: str = "mean") -> None:
        super().__init__(gamma_pos=gamma_pos, gamma_neg=gamma_neg, clip=clip,
                         neg_boost=neg_boost, prior_power=prior_power, eps=eps,
                         reduction=reduction)
        if class_counts is None:
            raise InputError("MultiFocalLoss needs class_counts (positives per class).")
        self.register_buffer("class_counts", _optional_buffer(class_counts))
        self.register_buffer("cooccurrence", _optional_buffer(cooccurrence))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return _w.multi_focal_loss(logits, target, class_counts=self.class_counts,
                                   cooccurrence=self.cooccurrence, **self._kwargs())


# --------------------------------------------------------------------------- ranking
class DecoupledSoftmaxLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.decoupled_softmax_loss`;
    ``forward(scores, target)``."""

    _spec = _r.DEXML_PARAMS

    def __init__(self, *, sample_positives: bool = False, weighted: bool = False,
                 generator: torch.Generator | None = None, reduction: str = "mean") -> None:
        super().__init__(sample_positives=sample_positives, weighted=weighted,
                         generator=generator, reduction=reduction)

    def forward(self, scores: Tensor, target: Tensor) -> Tensor:
        return _r.decoupled_softmax_loss(scores, target, **self._kwargs())


class SoftTopKLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.soft_top_k_loss`;
    ``forward(scores, target)``."""

    _spec = _r.TOPK_PARAMS

    def __init__(self, *, k: int = 5, alpha: float = 2.0, n_iter: int = 32,
                 sample_positives: bool = False, weighted: bool = False,
                 generator: torch.Generator | None = None, reduction: str = "mean") -> None:
        super().__init__(k=k, alpha=alpha, n_iter=n_iter, sample_positives=sample_positives,
                         weighted=weighted, generator=generator, reduction=reduction)

    def forward(self, scores: Tensor, target: Tensor) -> Tensor:
        return _r.soft_top_k_loss(scores, target, **self._kwargs())


class ThurstoneFidelityLoss(_Loss):
    """Module twin of :func:`~softlabels.train.nn.functional.thurstone_fidelity_loss`;
    ``forward(pred_a, pred_b, target)``."""

    _spec = _r.THURSTONE_PARAMS

    def __init__(self, *, levels: Any = (5.0, 4.0, 3.0, 2.0, 1.0), fixed_pred_std: bool = True,
                 detach_pred_std: bool = True, eps: float = 1e-8,
                 reduction: str = "mean") -> None:
        super().__init__(levels=tuple(levels), fixed_pred_std=fixed_pred_std,
                         detach_pred_std=detach_pred_std, eps=eps, reduction=reduction)

    def forward(self, pred_a: Tensor, pred_b: Tensor, target: Tensor) -> Tensor:
        return _r.thurstone_fidelity_loss(pred_a, pred_b, target, **self._kwargs())
