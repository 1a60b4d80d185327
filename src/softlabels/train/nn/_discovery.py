"""Regularisers for category discovery: Happy's group-wise soft entropy."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from softlabels.core.errors import InputError
from softlabels.core.validation import none_or
from softlabels.train.nn._common import (
    NON_NEGATIVE,
    POSITIVE,
    REDUCTION,
    as_float,
    check_params,
    compute_dtype,
    positive_int,
    reduce,
)

__all__ = ["soft_entropy_loss"]

#: Floor of the batch-mean probabilities inside the logarithms (keeps 0 log 0 at 0 and the
#: gradients finite when a group receives no mass at all).
FLOOR = 1e-12

SOFT_ENTROPY_PARAMS = {
    "num_old": none_or(positive_int),
    "old_new_weight": NON_NEGATIVE,
    "old_weight": NON_NEGATIVE,
    "new_weight": NON_NEGATIVE,
    "temperature": POSITIVE,
    "reduction": REDUCTION,
}


def _block_terms(p: Tensor, mean: Tensor) -> Tensor:
    """Each row's share of ``log K - H(mean / m)`` for one block of ``K`` columns, where
    ``m = sum(mean)``: ``sum_k (p_ik / m) log(mean_k / m) + log K``; the rows average to it."""
    m = mean.sum().clamp_min(FLOOR)
    log_ratio = torch.log(mean.clamp_min(FLOOR) / m)
    return (p / m * log_ratio).sum(dim=1) + math.log(p.shape[1])


def soft_entropy_loss(
    logits: Tensor,
    *,
    num_old: int | None = None,
    old_new_weight: float = 2.0,
    old_weight: float = 1.0,
    new_weight: float = 1.0,
    temperature: float = 0.1,
    reduction: str = "mean",
) -> Tensor:
    """Happy's group-wise soft entropy regulariser (Ma et al., NeurIPS 2024, "Happy: A
    Debiased Learning Framework for Continual Generalized Category Discovery").

    With ``p = softmax(logits / temperature)``, ``p̄`` its batch mean, the classes split into
    the ``num_old`` known ones ``O`` (the first columns) and the new ones ``N`` (the rest),
    ``m_O = sum_{k in O} p̄_k`` and ``m_N = 1 - m_O``::

        L_on = m_O log m_O + m_N log m_N + log 2        (old/new split)
        L_o  = log|O| - H(p̄_O / m_O)                    (spread inside the old classes)
        L_n  = log|N| - H(p̄_N / m_N)                    (spread inside the new classes)
        L    = old_new_weight * L_on + old_weight * L_o + new_weight * L_n

    Each term is ``>= 0`` and ``0`` when its distribution is uniform. Maximising the entropy of
    the old/new split and of each group separately keeps a model trained mostly on labelled
    known classes from predicting every unlabelled item as a known class, without forcing a
    uniform prediction over all classes (the plain "me-max" term, which is wrong once the
    known classes dominate). With ``num_old=None`` the loss is that plain term,
    ``log C - H(p̄)`` (Happy's offline session; SimGCD).

    The loss is a property of the batch, not of single items: ``reduction="none"`` gives each
    item's share ``l_i`` (e.g. ``sum_k p_ik log p̄_k + log C`` for the plain term), whose mean
    is the loss; so ``"mean"`` is the loss and ``"sum"`` is ``N`` times it. Small batches make
    ``p̄`` noisy. Add it to the other losses of a training step (it takes no target).

    Parameters
    ----------
    logits : Tensor of shape (N, C)
        Logits of the labelled and unlabelled items of a batch, known classes first.
    num_old : int, optional
        ``|O|``, the number of known classes, ``1 <= num_old < C``. None: the plain term.
    old_new_weight : float, default 2.0
        Weight of ``L_on`` (the official code's default ``memax_old_new_weight``; its README
        commands use 1).
    old_weight, new_weight : float, default 1.0
        Weights of ``L_o`` and ``L_n``. ``L_n`` is ``0`` when there is a single new class.
    temperature : float, default 0.1
        Divides the logits before the softmax (the official code's 0.1, for cosine logits).
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> z = torch.eye(4)                      # p̄ uniform, and as much mass old as new
    >>> soft_entropy_loss(z, num_old=2).abs().item() < 1e-6
    True
    >>> old_only = torch.tensor([[5.0, 5.0, -5.0], [5.0, 5.0, -5.0]])
    >>> soft_entropy_loss(old_only, num_old=2, old_new_weight=1.0).round(decimals=4)
    tensor(0.6931)
    """
    check_params("soft_entropy_loss", SOFT_ENTROPY_PARAMS, num_old=num_old,
                 old_new_weight=old_new_weight, old_weight=old_weight,
                 new_weight=new_weight, temperature=temperature, reduction=reduction)
    z = as_float(logits, "logits", compute_dtype(logits), ndim=2)
    n, c = z.shape
    if num_old is not None and num_old >= c:
        raise InputError(
            f"soft_entropy_loss: num_old={num_old} leaves no new class among the {c} columns "
            f"of logits; num_old must be < {c} (or None for the plain entropy term)."
        )
    p = torch.softmax(z / temperature, dim=1)
    mean = p.sum(dim=0) / max(n, 1)
    if num_old is None:
        return reduce(_block_terms(p, mean), reduction)
    old, new = p[:, :num_old], p[:, num_old:]
    mean_old, mean_new = mean[:num_old], mean[num_old:]
    m_old, m_new = mean_old.sum().clamp_min(FLOOR), mean_new.sum().clamp_min(FLOOR)
    split = old.sum(dim=1) * torch.log(m_old) + new.sum(dim=1) * torch.log(m_new) + math.log(2)
    loss = old_new_weight * split
    if old_weight:
        loss = loss + old_weight * _block_terms(old, mean_old)
    if new_weight:
        loss = loss + new_weight * _block_terms(new, mean_new)
    return reduce(loss, reduction)
