"""DLLP: learning from label proportions of bags."""

from __future__ import annotations

from torch import Tensor

from softlabels.train.nn import _weak as _w
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["DLLPLoss"]


@register_loss(
    "dllp",
    function=_w.dllp_loss,
    call="bags",
    summary="label proportions: CE between bag proportions and mean predictions",
    order=12,
)
class DLLPLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.dllp_loss`;
    ``forward(logits, bag_index, bag_proportions)``, reduced over bags.

    Parameters
    ----------
    eps, reduction
        As for :func:`~softlabels.train.nn.functional.dllp_loss`.
    """

    _spec = _w.DLLP_PARAMS

    def __init__(self, *, eps: float = 1e-7, reduction: str = "mean") -> None:
        super().__init__(eps=eps, reduction=reduction)

    def forward(self, logits: Tensor, bag_index: Tensor, bag_proportions: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.dllp_loss`).

        Parameters
        ----------
        logits, bag_index, bag_proportions
            As for :func:`~softlabels.train.nn.functional.dllp_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _w.dllp_loss(logits, bag_index, bag_proportions, **self._kwargs())
