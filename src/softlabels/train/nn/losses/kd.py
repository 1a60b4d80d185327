"""Hinton knowledge distillation."""

from __future__ import annotations

from torch import Tensor

from softlabels.train.nn import _distill as _d
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["KDLoss"]


@register_loss(
    "kd",
    function=_d.kd_loss,
    call="distill",
    summary="Hinton knowledge distillation: T^2 KL to the teacher, optional CE mix",
    order=2,
)
class KDLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.kd_loss`;
    ``forward(student_logits, teacher_logits, target=None)``.

    Parameters
    ----------
    temperature, alpha, t2_scale, reduction
        As for :func:`~softlabels.train.nn.functional.kd_loss`.
    """

    _spec = _d.KD_PARAMS

    def __init__(self, *, temperature: float = 4.0, alpha: float = 0.9, t2_scale: bool = True,
                 reduction: str = "mean") -> None:
        super().__init__(temperature=temperature, alpha=alpha, t2_scale=t2_scale,
                         reduction=reduction)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor,
                target: Tensor | None = None) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.kd_loss`).

        Parameters
        ----------
        student_logits, teacher_logits, target
            As for :func:`~softlabels.train.nn.functional.kd_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _d.kd_loss(student_logits, teacher_logits, target, **self._kwargs())
