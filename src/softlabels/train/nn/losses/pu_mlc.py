"""Positive-unlabeled multi-label loss (Yuan et al. 2023)."""

from __future__ import annotations

from torch import Tensor

from softlabels.train.nn import _weak as _w
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["PUMLCLoss"]


@register_loss(
    "pu-mlc",
    function=_w.pu_mlc_loss,
    summary="positive-unlabeled multi-label variational loss (Yuan et al. 2023)",
    order=13,
)
class PUMLCLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.pu_mlc_loss`;
    ``forward(logits, target)`` with a ``(N, C)`` label matrix (1 = positive).

    Parameters
    ----------
    alpha, gamma, eps, min_tau, max_tau, reduction
        As for :func:`~softlabels.train.nn.functional.pu_mlc_loss`.
    """

    _spec = _w.PU_PARAMS

    def __init__(self, *, alpha: float = 1.0, gamma: float = 0.55, eps: float = 1e-10,
                 min_tau: float = 1e-3, max_tau: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(alpha=alpha, gamma=gamma, eps=eps, min_tau=min_tau, max_tau=max_tau,
                         reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.pu_mlc_loss`).

        Parameters
        ----------
        logits, target
            As for :func:`~softlabels.train.nn.functional.pu_mlc_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _w.pu_mlc_loss(logits, target, **self._kwargs())
