"""Best of K heads (multiple-output training)."""

from __future__ import annotations

from torch import Tensor

from softlabels.train.nn import _classification as _c
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["BestOfHeadsLoss"]


@register_loss(
    "best-of-heads",
    function=_c.best_of_heads_loss,
    summary="minimum over K heads of the per-sample CE (multi-output)",
    order=22,
)
class BestOfHeadsLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.best_of_heads_loss`;
    ``forward(logits, target)`` with logits of shape ``(N, K, C)``.

    Parameters
    ----------
    relax, reduction
        As for :func:`~softlabels.train.nn.functional.best_of_heads_loss`.
    """

    _spec = _c.BEST_OF_PARAMS

    def __init__(self, *, relax: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(relax=relax, reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.best_of_heads_loss`).

        Parameters
        ----------
        logits, target
            As for :func:`~softlabels.train.nn.functional.best_of_heads_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _c.best_of_heads_loss(logits, target, **self._kwargs())
