"""FedLabel's global–local consistency: a divergence on the items where two models agree."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from softlabels.core.validation import check_params
from softlabels.train.nn._common import REDUCTION, class_index, option, reduce
from softlabels.train.nn._distill import kl_rows, student_teacher
from softlabels.train.nn.losses._base import LossModule, register_loss

__all__ = ["AgreementConsistencyLoss", "agreement_consistency_loss", "DIVERGENCES"]

#: the divergences of :func:`agreement_consistency_loss`
DIVERGENCES = ("kl", "js")
AGREEMENT_PARAMS = {"divergence": option(*DIVERGENCES), "reduction": REDUCTION}


def agreement_consistency_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    target: Tensor | None = None,
    *,
    divergence: str = "kl",
    reduction: str = "mean",
) -> Tensor:
    """FedLabel's global–local consistency regulariser (Cho, Joshi, Dimitriadis, "Local or
    Global: Selective Knowledge Assimilation for Federated Learning with Limited Labels",
    ICCV 2023).

    On each row where the two models give the same pseudo-label
    (``argmax z_s = argmax z_t``, and ``= target`` when class indices are given) the loss is
    ``KL(p_t || p_s)`` (``divergence="kl"``) or the Jensen–Shannon divergence
    ``JS(p_t, p_s)`` (``"js"``), with ``p = softmax(z)``; on the other rows it is 0. The
    teacher (e.g. the global model, when the local one is trained) is detached. ``"mean"``
    averages over all rows, FixMatch-style. The abstract names the rule; the divergence and
    its direction are not given there, so both are options.

    Parameters
    ----------
    student_logits, teacher_logits : Tensor of shape (N, C)
    target : Tensor of shape (N,), optional
        Class indices; rows whose pseudo-label differs from it count as disagreeing.
    divergence : {"kl", "js"}, default "kl"
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> t = torch.tensor([[2.0, 0.0], [1.0, 0.0]])      # agree on row 0 only
    >>> agreement_consistency_loss(s, t, reduction="none").round(decimals=4)
    tensor([0.0671, 0.0000])
    """
    check_params("agreement_consistency_loss", AGREEMENT_PARAMS, divergence=divergence,
                 reduction=reduction)
    s, t = student_teacher(student_logits, teacher_logits, target)
    agree = s.argmax(dim=1) == t.argmax(dim=1)
    if target is not None:
        agree = agree & (class_index(target, s.shape[0], s.shape[1], "target") == s.argmax(dim=1))
    log_s, log_t = F.log_softmax(s, dim=1), F.log_softmax(t, dim=1)
    if divergence == "kl":
        per_row = kl_rows(log_t, log_s)
    else:
        # where both are -inf (a class masked out in both), logaddexp's gradient is NaN: the
        # mixture is -inf there, and kl_rows drops the class (p = 0) from both terms
        both = torch.isneginf(log_s) & torch.isneginf(log_t)
        log_m = torch.logaddexp(log_s.masked_fill(both, 0.0), log_t.masked_fill(both, 0.0))
        log_m = log_m.masked_fill(both, float("-inf")) - math.log(2.0)
        per_row = 0.5 * (kl_rows(log_t, log_m) + kl_rows(log_s, log_m))
    return reduce(torch.where(agree, per_row, torch.zeros_like(per_row)), reduction)


@register_loss(
    "agreement-consistency",
    function=agreement_consistency_loss,
    call="distill",
    summary="FedLabel consistency: KL or JS to the teacher where both models agree",
    order=23,
)
class AgreementConsistencyLoss(LossModule):
    """Module twin of :func:`agreement_consistency_loss`;
    ``forward(student_logits, teacher_logits, target=None)``.

    Parameters
    ----------
    divergence, reduction
        As for :func:`agreement_consistency_loss`.
    """

    _spec = AGREEMENT_PARAMS

    def __init__(self, *, divergence: str = "kl", reduction: str = "mean") -> None:
        super().__init__(divergence=divergence, reduction=reduction)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor,
                target: Tensor | None = None) -> Tensor:
        """The loss on a batch (see :func:`agreement_consistency_loss`).

        Parameters
        ----------
        student_logits, teacher_logits, target
            As for :func:`agreement_consistency_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return agreement_consistency_loss(student_logits, teacher_logits, target,
                                          **self._kwargs())
