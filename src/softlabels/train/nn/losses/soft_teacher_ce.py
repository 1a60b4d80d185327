"""Soft Teacher's CE with background samples weighted by the teacher."""

from __future__ import annotations

from torch import Tensor

from softlabels.train.nn import _classification as _c
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["SoftTeacherCELoss"]


@register_loss(
    "soft-teacher-ce",
    function=_c.soft_teacher_ce_loss,
    call="custom",
    summary="CE with background samples weighted by the teacher's background score (Soft Teacher)",
    order=21,
)
class SoftTeacherCELoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.soft_teacher_ce_loss`;
    ``forward(logits, target, bg_score)``.

    Parameters
    ----------
    bg_index, normalize, reduction
        As for :func:`~softlabels.train.nn.functional.soft_teacher_ce_loss`.
    """

    _spec = _c.SOFT_TEACHER_PARAMS

    def __init__(self, *, bg_index: int = -1, normalize: str = "joint",
                 reduction: str = "mean") -> None:
        super().__init__(bg_index=bg_index, normalize=normalize, reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor, bg_score: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.soft_teacher_ce_loss`).

        Parameters
        ----------
        logits, target, bg_score
            As for :func:`~softlabels.train.nn.functional.soft_teacher_ce_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _c.soft_teacher_ce_loss(logits, target, bg_score, **self._kwargs())
