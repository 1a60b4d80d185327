"""DEXML's multi-label retrieval losses: decoupled softmax and soft top-k."""

from __future__ import annotations

import torch
from torch import Tensor

from softlabels.train.nn import _ranking as _r
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["DecoupledSoftmaxLoss", "SoftTopKLoss"]


@register_loss(
    "decoupled-softmax",
    function=_r.decoupled_softmax_loss,
    summary="multi-label softmax with one denominator per positive (DEXML)",
    order=18,
)
class DecoupledSoftmaxLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.decoupled_softmax_loss`;
    ``forward(scores, target)``.

    Parameters
    ----------
    sample_positives, weighted, generator, reduction
        As for :func:`~softlabels.train.nn.functional.decoupled_softmax_loss`.
    """

    _spec = _r.DEXML_PARAMS

    def __init__(self, *, sample_positives: bool = False, weighted: bool = False,
                 generator: torch.Generator | None = None, reduction: str = "mean") -> None:
        super().__init__(sample_positives=sample_positives, weighted=weighted,
                         generator=generator, reduction=reduction)

    def forward(self, scores: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.decoupled_softmax_loss`).

        Parameters
        ----------
        scores, target
            As for :func:`~softlabels.train.nn.functional.decoupled_softmax_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _r.decoupled_softmax_loss(scores, target, **self._kwargs())


@register_loss(
    "soft-top-k",
    function=_r.soft_top_k_loss,
    summary="multi-label loss on a differentiable soft top-k (DEXML)",
    order=19,
)
class SoftTopKLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.soft_top_k_loss`;
    ``forward(scores, target)``.

    Parameters
    ----------
    k, alpha, n_iter, sample_positives, weighted, generator, reduction
        As for :func:`~softlabels.train.nn.functional.soft_top_k_loss`.
    """

    _spec = _r.TOPK_PARAMS

    def __init__(self, *, k: int = 5, alpha: float = 2.0, n_iter: int = 32,
                 sample_positives: bool = False, weighted: bool = False,
                 generator: torch.Generator | None = None, reduction: str = "mean") -> None:
        super().__init__(k=k, alpha=alpha, n_iter=n_iter, sample_positives=sample_positives,
                         weighted=weighted, generator=generator, reduction=reduction)

    def forward(self, scores: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.soft_top_k_loss`).

        Parameters
        ----------
        scores, target
            As for :func:`~softlabels.train.nn.functional.soft_top_k_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _r.soft_top_k_loss(scores, target, **self._kwargs())
