"""Early-learning regularisation (Liu et al. 2020)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from softlabels.core.errors import InputError
from softlabels.train.nn import _weak as _w
from softlabels.train.nn._common import class_probs, compute_dtype, positive_int
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["ELRLoss"]


@register_loss(
    "elr",
    function=_w.elr_loss,
    call="index",
    summary="CE + early-learning regularization with per-sample EMA targets (Liu et al. 2020)",
    order=6,
)
class ELRLoss(LossModule):
    """Early-learning regularisation with per-sample EMA targets in the buffer
    ``ema_target`` of shape ``(num_examples, num_classes)`` (zeros at start).

    ``forward(logits, target, index)``: ``index`` (integer, ``(N,)``) gives each sample's
    position in the training set; indices in one batch must be distinct. Every call first
    updates ``ema_target[index]`` (:func:`~softlabels.train.nn.functional.elr_update_targets`),
    then returns :func:`~softlabels.train.nn.functional.elr_loss` with the updated rows,
    as the official code does.

    Parameters
    ----------
    num_examples : int >= 1
        Size of the training set: rows of ``ema_target``.
    num_classes : int >= 1
        Columns of ``ema_target``.
    lam : float, default=3.0
        Weight of the regulariser, as for :func:`~softlabels.train.nn.functional.elr_loss`.
    beta : float in [0, 1], default=0.7
        Momentum of the target update
        (:func:`~softlabels.train.nn.functional.elr_update_targets`).
    clamp_eps, reduction
        As for :func:`~softlabels.train.nn.functional.elr_loss`.

    Examples
    --------
    >>> import torch
    >>> loss = ELRLoss(num_examples=4, num_classes=3)
    >>> value = loss(torch.zeros(2, 3), torch.tensor([0, 1]), torch.tensor([3, 1]))
    >>> loss.ema_target[3]
    tensor([0.1000, 0.1000, 0.1000])
    """

    _spec = _w.ELR_PARAMS

    def __init__(self, num_examples: int, num_classes: int, *, lam: float = 3.0,
                 beta: float = 0.7, clamp_eps: float = 1e-4, reduction: str = "mean") -> None:
        super().__init__(lam=lam, beta=beta, clamp_eps=clamp_eps, reduction=reduction)
        positive_int(num_examples, "num_examples", "ELRLoss")
        positive_int(num_classes, "num_classes", "ELRLoss")
        self.register_buffer("ema_target", torch.zeros(num_examples, num_classes))

    def _check_index(self, index: Any, n: int) -> Tensor:
        if not isinstance(index, Tensor) or index.is_floating_point() or \
                index.dtype == torch.bool or index.shape != (n,):
            got = f"{index.dtype} {tuple(index.shape)}" if isinstance(index, Tensor) else \
                type(index).__name__
            raise InputError(f"index must be an integer tensor of shape ({n},); got {got}.")
        size = self.ema_target.shape[0]
        if n and (int(index.min()) < 0 or int(index.max()) >= size):
            raise InputError(f"index values must lie in [0, {size}) (num_examples).")
        if n and torch.unique(index).numel() != n:
            raise InputError("index has repeated samples in one batch; ELR needs distinct indices.")
        return index.long().to(self.ema_target.device)

    def forward(self, logits: Tensor, target: Tensor, index: Tensor) -> Tensor:
        """Update ``ema_target[index]``, then the loss on the batch.

        Parameters
        ----------
        logits : Tensor of shape (N, num_classes)
        target : Tensor
            Noisy labels: class indices ``(N,)`` or probabilities ``(N, C)``.
        index : Tensor of int, shape (N,)
            Each sample's position in the training set, distinct within the batch and
            in ``[0, num_examples)``.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        if not isinstance(logits, Tensor) or logits.ndim != 2 or \
                logits.shape[1] != self.ema_target.shape[1]:
            got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
            raise InputError(
                f"logits must have shape (N, {self.ema_target.shape[1]}) (num_classes); got {got}."
            )
        idx = self._check_index(index, logits.shape[0])
        # the target is checked before the state changes, so that a failed call leaves it
        class_probs(target, *logits.shape, "target", compute_dtype(logits, target))
        old = self.ema_target[idx]
        rows = _w.elr_update_targets(old, logits, beta=self.beta, clamp_eps=self.clamp_eps)
        # a diverged row (NaN / inf logits) gives a NaN loss but keeps its target
        finite = torch.isfinite(rows).all(dim=1, keepdim=True)
        self.ema_target[idx] = torch.where(finite, rows.to(old.dtype), old)
        return _w.elr_loss(logits, target, self.ema_target[idx], lam=self.lam,
                           clamp_eps=self.clamp_eps, reduction=self.reduction)

    def flag_noisy(self, labels: Tensor) -> Tensor:
        """Boolean ``(num_examples,)``: samples whose EMA target's argmax differs from the
        given label (the official noisy-label detection rule).

        Parameters
        ----------
        labels : Tensor or array-like of int, shape (num_examples,)
            The given label of every training sample.

        Returns
        -------
        Tensor of bool, shape (num_examples,)
        """
        labels = torch.as_tensor(labels, device=self.ema_target.device)
        if labels.shape != (self.ema_target.shape[0],):
            raise InputError(
                f"labels must have shape ({self.ema_target.shape[0]},); got {tuple(labels.shape)}."
            )
        return self.ema_target.argmax(dim=1) != labels
