"""The Z-loss (de Brebisson & Vincent 2016)."""

from __future__ import annotations

from torch import Tensor

from softlabels.train.nn import _classification as _c
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["ZLoss"]


@register_loss(
    "z-loss",
    function=_c.z_loss,
    summary="shift- and scale-invariant Z-loss (de Brebisson & Vincent 2016)",
    order=15,
)
class ZLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.z_loss`; ``forward(logits, target)``.

    Parameters
    ----------
    a, b, eps, reduction
        As for :func:`~softlabels.train.nn.functional.z_loss`.
    """

    _spec = _c.Z_PARAMS

    def __init__(self, *, a: float = 1.0, b: float = 0.0, eps: float = 1e-12,
                 reduction: str = "mean") -> None:
        super().__init__(a=a, b=b, eps=eps, reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.z_loss`).

        Parameters
        ----------
        logits, target
            As for :func:`~softlabels.train.nn.functional.z_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _c.z_loss(logits, target, **self._kwargs())
