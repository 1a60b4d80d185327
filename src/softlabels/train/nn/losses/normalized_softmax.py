"""Normalized softmax with learned class vectors."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from softlabels.train.nn import _classification as _c
from softlabels.train.nn._common import positive_int
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["NormalizedSoftmaxLoss"]


@register_loss(
    "normalized-softmax",
    function=_c.normalized_softmax_loss,
    summary="cosine logits times a fixed scale, then CE (hyperspherical embedding)",
    order=17,
)
class NormalizedSoftmaxLoss(LossModule):
    """Normalized softmax with its own class vectors ``weight`` of shape
    ``(num_classes, in_features)``; ``forward(features, target)``.

    Twin of :func:`~softlabels.train.nn.functional.normalized_softmax_loss`. Use
    :meth:`logits` for predictions; a new class can be added later by appending the
    normalised mean embedding of its examples as a new row of ``weight``.

    Parameters
    ----------
    in_features : int >= 1
        Width of the features.
    num_classes : int >= 1
        Number of class vectors (rows of ``weight``, drawn from a standard normal).
    scale, reduction
        As for :func:`~softlabels.train.nn.functional.normalized_softmax_loss`.
    """

    _spec = _c.NORMALIZED_PARAMS

    def __init__(self, in_features: int, num_classes: int, *, scale: float = 10.0,
                 reduction: str = "mean") -> None:
        super().__init__(scale=scale, reduction=reduction)
        positive_int(in_features, "in_features", "NormalizedSoftmaxLoss")
        positive_int(num_classes, "num_classes", "NormalizedSoftmaxLoss")
        self.weight = nn.Parameter(torch.randn(num_classes, in_features))

    def logits(self, features: Tensor) -> Tensor:
        """Scaled cosine logits of ``features`` against the class vectors, for
        predictions.

        Parameters
        ----------
        features : Tensor of shape (N, in_features)

        Returns
        -------
        Tensor of shape (N, num_classes)
        """
        return _c.normalized_logits(features, self.weight, scale=self.scale)

    def forward(self, features: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.normalized_softmax_loss`).

        Parameters
        ----------
        features, target
            As for :func:`~softlabels.train.nn.functional.normalized_softmax_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _c.normalized_softmax_loss(features, self.weight, target, **self._kwargs())
