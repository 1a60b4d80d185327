"""Happy's group-wise soft entropy regulariser for category discovery."""

from __future__ import annotations

from torch import Tensor

from softlabels.train.nn import _discovery as _d
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["SoftEntropyLoss"]


@register_loss(
    "soft-entropy",
    function=_d.soft_entropy_loss,
    call="custom",
    summary="Happy's group-wise entropy of the batch-mean prediction over known and new classes",
    order=24,
)
class SoftEntropyLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.soft_entropy_loss`;
    ``forward(logits)`` (no target: a regulariser on the batch's mean prediction).

    Parameters
    ----------
    num_old, old_new_weight, old_weight, new_weight, temperature, reduction
        As for :func:`~softlabels.train.nn.functional.soft_entropy_loss`.
    """

    _spec = _d.SOFT_ENTROPY_PARAMS

    def __init__(self, *, num_old: int | None = None, old_new_weight: float = 2.0,
                 old_weight: float = 1.0, new_weight: float = 1.0, temperature: float = 0.1,
                 reduction: str = "mean") -> None:
        super().__init__(num_old=num_old, old_new_weight=old_new_weight, old_weight=old_weight,
                         new_weight=new_weight, temperature=temperature, reduction=reduction)

    def forward(self, logits: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.soft_entropy_loss`).

        Parameters
        ----------
        logits
            As for :func:`~softlabels.train.nn.functional.soft_entropy_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _d.soft_entropy_loss(logits, **self._kwargs())
