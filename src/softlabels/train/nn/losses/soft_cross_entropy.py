"""Soft cross-entropy: probability (or index) targets, label smoothing, per-sample weights."""

from __future__ import annotations

from torch import Tensor

from softlabels.train.nn import _classification as _c
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["SoftCrossEntropy"]


@register_loss(
    "soft-cross-entropy",
    function=_c.soft_cross_entropy,
    summary="cross-entropy with probability targets, label smoothing and per-sample weights",
    order=1,
)
class SoftCrossEntropy(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.soft_cross_entropy`.

    ``forward(logits, target, weight=None)``: target = class indices ``(N,)`` or
    probabilities ``(N, C)``; weight = per-sample weights ``(N,)``.

    Parameters
    ----------
    label_smoothing, reduction
        As for :func:`~softlabels.train.nn.functional.soft_cross_entropy`.
    """

    _spec = _c.SOFT_CE_PARAMS

    def __init__(self, *, label_smoothing: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(label_smoothing=label_smoothing, reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.soft_cross_entropy`).

        Parameters
        ----------
        logits, target, weight
            As for :func:`~softlabels.train.nn.functional.soft_cross_entropy`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _c.soft_cross_entropy(logits, target, weight, **self._kwargs())
