"""Normalized knowledge distillation (Yang et al. 2023)."""

from __future__ import annotations

from torch import Tensor

from softlabels.train.nn import _distill as _d
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["NKDLoss"]


@register_loss(
    "nkd",
    function=_d.nkd_loss,
    call="distill",
    summary="normalized KD: target part + normalized non-target part (Yang et al. 2023)",
    order=4,
)
class NKDLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.nkd_loss`;
    ``forward(student_logits, teacher_logits, target)``.

    Parameters
    ----------
    temperature, gamma, reduction
        As for :func:`~softlabels.train.nn.functional.nkd_loss`.
    """

    _spec = _d.NKD_PARAMS

    def __init__(self, *, temperature: float = 1.0, gamma: float = 1.5,
                 reduction: str = "mean") -> None:
        super().__init__(temperature=temperature, gamma=gamma, reduction=reduction)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.nkd_loss`).

        Parameters
        ----------
        student_logits, teacher_logits, target
            As for :func:`~softlabels.train.nn.functional.nkd_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _d.nkd_loss(student_logits, teacher_logits, target, **self._kwargs())
