"""COMIC's multi-focal loss for long-tailed partial multi-label."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from softlabels.core.errors import InputError
from softlabels.train.nn import _weak as _w
from softlabels.train.nn.losses._base import LossModule, optional_buffer, register_loss

__all__ = ["MultiFocalLoss"]


@register_loss(
    "multi-focal",
    function=_w.multi_focal_loss,
    summary="COMIC multi-focal modifier for long-tailed partial multi-label",
    order=14,
)
class MultiFocalLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.multi_focal_loss`, with
    ``class_counts`` and ``cooccurrence`` in buffers; ``forward(logits, target)``.

    Parameters
    ----------
    class_counts, cooccurrence, gamma_pos, gamma_neg, clip, neg_boost, prior_power, eps, reduction
        As for :func:`~softlabels.train.nn.functional.multi_focal_loss`.
    """

    _spec = _w.FOCAL_PARAMS

    def __init__(self, class_counts: Any, cooccurrence: Any = None, *, gamma_pos: float = 0.0,
                 gamma_neg: float = 3.0, clip: float = 0.05, neg_boost: float = 1.2,
                 prior_power: float = 1.0 / 3.0, eps: float = 1e-8,
                 reduction: str = "mean") -> None:
        super().__init__(gamma_pos=gamma_pos, gamma_neg=gamma_neg, clip=clip,
                         neg_boost=neg_boost, prior_power=prior_power, eps=eps,
                         reduction=reduction)
        if class_counts is None:
            raise InputError("MultiFocalLoss needs class_counts (positives per class).")
        self.register_buffer("class_counts", optional_buffer(class_counts))
        self.register_buffer("cooccurrence", optional_buffer(cooccurrence))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.multi_focal_loss`).

        Parameters
        ----------
        logits, target
            As for :func:`~softlabels.train.nn.functional.multi_focal_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _w.multi_focal_loss(logits, target, class_counts=self.class_counts,
                                   cooccurrence=self.cooccurrence, **self._kwargs())
