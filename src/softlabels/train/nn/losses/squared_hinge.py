"""One-vs-rest squared hinge (L2-SVM)."""

from __future__ import annotations

from torch import Tensor

from softlabels.train.nn import _classification as _c
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["SquaredHingeLoss"]


@register_loss(
    "squared-hinge",
    function=_c.squared_hinge_loss,
    summary="one-vs-rest L2-SVM squared hinge (CNN-SVM)",
    order=16,
)
class SquaredHingeLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.squared_hinge_loss`;
    ``forward(logits, target)``.

    Parameters
    ----------
    margin : float >= 0, default=1.0
        The hinge's margin: a logit counts as right once ``t * o >= margin``.
    reduction : {"mean", "sum", "none"}, default="mean"
        Over the samples (the classes are always summed).
    """

    _spec = _c.HINGE_PARAMS

    def __init__(self, *, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(margin=margin, reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch.

        Parameters
        ----------
        logits : Tensor of shape (N, C)
        target : Tensor
            Class indices ``(N,)``, or floating targets ``(N, C)`` (``t = 2 p - 1``).

        Returns
        -------
        Tensor
        """
        return _c.squared_hinge_loss(logits, target, **self._kwargs())
