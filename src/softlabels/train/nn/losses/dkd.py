"""Decoupled knowledge distillation (Zhao et al. 2022)."""

from __future__ import annotations

from torch import Tensor

from softlabels.train.nn import _distill as _d
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["DKDLoss"]


@register_loss(
    "dkd",
    function=_d.dkd_loss,
    call="distill",
    summary="decoupled KD: target-class and non-target-class terms (Zhao et al. 2022)",
    order=3,
)
class DKDLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.dkd_loss`;
    ``forward(student_logits, teacher_logits, target)``.

    Parameters
    ----------
    alpha, beta, temperature, t2_scale, reduction
        As for :func:`~softlabels.train.nn.functional.dkd_loss`.
    """

    _spec = _d.DKD_PARAMS

    def __init__(self, *, alpha: float = 1.0, beta: float = 8.0, temperature: float = 4.0,
                 t2_scale: bool = True, reduction: str = "mean") -> None:
        super().__init__(alpha=alpha, beta=beta, temperature=temperature, t2_scale=t2_scale,
                         reduction=reduction)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.dkd_loss`).

        Parameters
        ----------
        student_logits, teacher_logits, target
            As for :func:`~softlabels.train.nn.functional.dkd_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _d.dkd_loss(student_logits, teacher_logits, target, **self._kwargs())
