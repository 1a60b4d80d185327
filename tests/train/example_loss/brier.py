"""The Brier score: squared distance between the predicted and the target distribution."""

from __future__ import annotations

import torch
from torch import Tensor

from softlabels.core.validation import check_params
from softlabels.train.nn._common import REDUCTION, as_float, class_probs, compute_dtype, reduce
from softlabels.train.nn.losses import LossModule, register_loss

__all__ = ["BrierLoss", "brier_loss"]

BRIER_PARAMS = {"reduction": REDUCTION}


def brier_loss(logits: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """``sum_k (softmax(z)_k - q_k)^2`` per sample; ``target`` is class indices ``(N,)`` or
    probabilities ``(N, C)``."""
    check_params("brier_loss", BRIER_PARAMS, reduction=reduction)
    dtype = compute_dtype(logits, target)
    z = as_float(logits, "logits", dtype, ndim=2)
    q = class_probs(target, z.shape[0], z.shape[1], "target", dtype)
    return reduce((torch.softmax(z, dim=1) - q).pow(2).sum(dim=1), reduction)


@register_loss(
    "brier",
    function=brier_loss,
    summary="Brier score: squared error between softmax and target probabilities",
)
class BrierLoss(LossModule):
    """Module twin of :func:`brier_loss`; ``forward(logits, target)``."""

    _spec = BRIER_PARAMS

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return brier_loss(logits, target, **self._kwargs())
