"""USKD: self-distillation with a weak supervision head (Yang et al. 2023)."""

from __future__ import annotations

from torch import Tensor, nn

from softlabels.core.errors import InputError
from softlabels.train.nn import _distill as _d
from softlabels.train.nn._common import positive_int
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["USKDLoss"]


@register_loss(
    "uskd",
    function=_d.uskd_loss,
    call="features",
    summary="self-KD with customized soft labels and a weak head (Yang et al. 2023)",
    order=5,
)
class USKDLoss(LossModule):
    """USKD with its weak supervision head ``head = nn.Linear(in_features, num_classes)``;
    ``forward(logits, target, features)`` where ``features`` is a mid-level pooled feature
    (ResNet: the GAP of stage 3, 256 channels for ResNet-18).

    Twin of :func:`~softlabels.train.nn.functional.uskd_loss`. The head has trainable
    parameters: give this module's parameters to the optimiser.

    Parameters
    ----------
    in_features : int >= 1
        Width of the mid-level features the head reads.
    num_classes : int >= 1
        Outputs of the head.
    alpha, beta, mu, rank_source, reduction
        As for :func:`~softlabels.train.nn.functional.uskd_loss`.
    """

    _spec = _d.USKD_PARAMS

    def __init__(self, in_features: int, num_classes: int, *, alpha: float = 1.0,
                 beta: float = 0.1, mu: float = 0.005, rank_source: str = "code",
                 reduction: str = "mean") -> None:
        super().__init__(alpha=alpha, beta=beta, mu=mu, rank_source=rank_source,
                         reduction=reduction)
        positive_int(in_features, "in_features", "USKDLoss")
        positive_int(num_classes, "num_classes", "USKDLoss")
        self.head = nn.Linear(in_features, num_classes)

    def forward(self, logits: Tensor, target: Tensor, features: Tensor) -> Tensor:
        """The loss on a batch, the weak logits computed by ``head`` from ``features``.

        Parameters
        ----------
        logits, target
            As for :func:`~softlabels.train.nn.functional.uskd_loss`.
        features : Tensor of shape (N, in_features)
            The mid-level pooled features.

        Returns
        -------
        Tensor
        """
        if not isinstance(features, Tensor):
            raise InputError(f"features must be a torch.Tensor; got {type(features).__name__}.")
        width, classes = self.head.in_features, self.head.out_features
        rows = logits.shape[0] if isinstance(logits, Tensor) and logits.ndim == 2 else None
        if features.ndim != 2 or features.shape[1] != width or \
                (rows is not None and features.shape[0] != rows):
            raise InputError(
                f"features must have shape ({'N' if rows is None else rows}, {width}) "
                f"(N, in_features); got {tuple(features.shape)}."
            )
        if rows is not None and logits.shape[1] != classes:
            raise InputError(
                f"logits has {logits.shape[1]} classes but the head has num_classes={classes}."
            )
        weak = self.head(features.to(self.head.weight.dtype))
        return _d.uskd_loss(logits, target, weak, **self._kwargs())
