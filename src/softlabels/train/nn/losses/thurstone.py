"""DeQA-Score's Thurstone fidelity loss on pairs."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from softlabels.train.nn import _ranking as _r
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["ThurstoneFidelityLoss"]


@register_loss(
    "thurstone-fidelity",
    function=_r.thurstone_fidelity_loss,
    call="custom",
    summary="pairwise fidelity between Thurstone preferences (DeQA-Score)",
    order=20,
)
class ThurstoneFidelityLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.thurstone_fidelity_loss`;
    ``forward(pred_a, pred_b, target)``.

    Parameters
    ----------
    levels, fixed_pred_std, detach_pred_std, eps, reduction
        As for :func:`~softlabels.train.nn.functional.thurstone_fidelity_loss`.
    """

    _spec = _r.THURSTONE_PARAMS

    def __init__(self, *, levels: Any = (5.0, 4.0, 3.0, 2.0, 1.0), fixed_pred_std: bool = True,
                 detach_pred_std: bool = True, eps: float = 1e-8,
                 reduction: str = "mean") -> None:
        super().__init__(levels=tuple(levels), fixed_pred_std=fixed_pred_std,
                         detach_pred_std=detach_pred_std, eps=eps, reduction=reduction)

    def forward(self, pred_a: Tensor, pred_b: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.thurstone_fidelity_loss`).

        Parameters
        ----------
        pred_a, pred_b, target
            As for :func:`~softlabels.train.nn.functional.thurstone_fidelity_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _r.thurstone_fidelity_loss(pred_a, pred_b, target, **self._kwargs())
