"""Distillation losses: Hinton KD, DKD, NKD and USKD (self-distillation with a weak head)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from softlabels.core.errors import InputError
from softlabels.train.nn._classification import rows_ce
from softlabels.train.nn._common import (
    NON_NEGATIVE,
    POSITIVE,
    REDUCTION,
    UNIT,
    as_float,
    boolean,
    check_params,
    check_same_shape,
    class_index,
    class_probs,
    compute_dtype,
    drop_columns,
    one_hot_mask,
    option,
    reduce,
)

__all__ = ["dkd_loss", "kd_loss", "nkd_loss", "uskd_loss"]


def student_teacher(student_logits: Tensor, teacher_logits: Tensor, *extra: Tensor | None
                    ) -> tuple[Tensor, Tensor]:
    """Both logits in the compute dtype, the teacher detached; shapes checked."""
    dtype = compute_dtype(student_logits, teacher_logits, *extra)
    s = as_float(student_logits, "student_logits", dtype, ndim=2)
    t = as_float(teacher_logits, "teacher_logits", dtype, ndim=2).detach()
    check_same_shape(s, t, "student_logits", "teacher_logits")
    return s, t


def need_two_classes(z: Tensor, name: str) -> None:
    if z.shape[1] < 2:
        raise InputError(f"{name} must have at least 2 classes; got shape {tuple(z.shape)}.")


def kl_rows(log_p: Tensor, log_q: Tensor) -> Tensor:
    """``KL(p || q)`` per row from log-probabilities (last axis); entries with ``p = 0``
    (``log p = -inf``) add ``0 log 0 = 0``. NaN (from non-finite logits) propagates."""
    p = log_p.exp()
    keep = (p > 0) | torch.isnan(p)
    return (torch.where(keep, p, 0.0) * torch.where(keep, log_p - log_q, 0.0)).sum(dim=-1)


def non_target_teacher(t: Tensor, gt: Tensor) -> tuple[Tensor, Tensor]:
    """The teacher's non-target logits ``(N, C - 1)`` and a mask of the rows where they are
    all ``-inf`` (a teacher certain of the target: its non-target distribution is undefined
    and the loss's non-target part counts as 0). Those rows are set to 0, so that the
    softmax stays finite there."""
    rest = drop_columns(t, gt)
    undefined = torch.isneginf(rest).all(dim=1)
    return rest.masked_fill(undefined[:, None], 0.0), undefined


# --------------------------------------------------------------------------- KD
KD_PARAMS = {"temperature": POSITIVE, "alpha": UNIT, "t2_scale": boolean, "reduction": REDUCTION}


def kd_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    target: Tensor | None = None,
    *,
    temperature: float = 4.0,
    alpha: float = 0.9,
    t2_scale: bool = True,
    reduction: str = "mean",
) -> Tensor:
    """Knowledge distillation (Hinton, Vinyals & Dean 2015).

    ``L_soft = T^2 KL(softmax(z_t / T) || softmax(z_s / T))`` (the ``T^2`` only with
    ``t2_scale``). Without ``target`` the loss is ``L_soft``; with it, Hinton's mix
    ``alpha L_soft + (1 - alpha) CE(target, softmax(z_s))``.

    The KL form is 0 when the student matches the teacher; the cross-entropy form
    ``-sum p_t log p_s`` differs by the teacher entropy and has the same gradient.

    Parameters
    ----------
    student_logits, teacher_logits : Tensor of shape (N, C)
        The teacher is detached inside.
    target : Tensor, optional
        Class indices ``(N,)`` or probabilities ``(N, C)`` for the hard-label term.
    temperature : float, default 4.0
        mdistiller's CIFAR default.
    alpha : float in [0, 1], default 0.9
        Weight of the distillation term in the mix (mdistiller: KD 0.9, CE 0.1); unused
        without ``target``.
    t2_scale : bool, default True
        Multiply the soft term by ``T^2`` so its gradient scale does not depend on T.
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> s, t = torch.tensor([[1.0, 0.0, -1.0]]), torch.tensor([[2.0, 0.0, -2.0]])
    >>> kd_loss(s, t, temperature=1.0).round(decimals=4)
    tensor(0.1156)
    >>> kd_loss(s, s, temperature=4.0)
    tensor(0.)
    """
    check_params("kd_loss", KD_PARAMS, temperature=temperature, alpha=alpha,
                 t2_scale=t2_scale, reduction=reduction)
    s, t = student_teacher(student_logits, teacher_logits, target)
    soft = kl_rows(F.log_softmax(t / temperature, dim=1), F.log_softmax(s / temperature, dim=1))
    if t2_scale:
        soft = soft * temperature**2
    if target is None:
        return reduce(soft, reduction)
    q = class_probs(target, s.shape[0], s.shape[1], "target", s.dtype)
    return reduce(alpha * soft + (1.0 - alpha) * rows_ce(s, q), reduction)


# --------------------------------------------------------------------------- DKD
DKD_PARAMS = {"alpha": NON_NEGATIVE, "beta": NON_NEGATIVE, "temperature": POSITIVE,
              "t2_scale": boolean, "reduction": REDUCTION}


def _binary_log_probs(log_p: Tensor, gt: Tensor) -> Tensor:
    """``[log p_y, log(1 - p_y)]`` per row, computed from log-probabilities."""
    target = torch.where(gt, log_p, 0.0).sum(dim=1)
    rest = torch.logsumexp(log_p.masked_fill(gt, float("-inf")), dim=1)
    return torch.stack([target, rest], dim=1)


def dkd_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    target: Tensor,
    *,
    alpha: float = 1.0,
    beta: float = 8.0,
    temperature: float = 4.0,
    t2_scale: bool = True,
    reduction: str = "mean",
) -> Tensor:
    """Decoupled knowledge distillation (Zhao et al., CVPR 2022).

    With T-softened probabilities, ``b = [p_y, 1 - p_y]`` and the non-target distribution
    ``p_hat`` (softmax over the C - 1 non-target logits):
    ``TCKD = KL(b_t || b_s)``, ``NCKD = KL(p_hat_t || p_hat_s)`` and
    ``L = T^2 (alpha TCKD + beta NCKD)``. Classic KD is the special case
    ``KL(p_t || p_s) = TCKD + (1 - p_t,y) NCKD``.

    This is the distillation term of the official ``dkd_loss``; add the hard-label CE
    (weight 1 in mdistiller) and the warm-up factor ``min(epoch / warmup, 1)`` outside.

    Parameters
    ----------
    student_logits, teacher_logits : Tensor of shape (N, C), C >= 2
    target : Tensor
        Class indices ``(N,)``, or probabilities ``(N, C)`` reduced to their argmax.
    alpha, beta : float, default 1.0 and 8.0
        Weights of TCKD and NCKD (mdistiller CIFAR-100; ImageNet uses beta = 0.5, T = 1).
    temperature : float, default 4.0
    t2_scale : bool, default True
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> s, t = torch.tensor([[1.0, 0.0, -1.0]]), torch.tensor([[2.0, 0.0, -2.0]])
    >>> dkd_loss(s, t, torch.tensor([0]), temperature=1.0).round(decimals=4)
    tensor(0.6437)
    """
    check_params("dkd_loss", DKD_PARAMS, alpha=alpha, beta=beta, temperature=temperature,
                 t2_scale=t2_scale, reduction=reduction)
    s, t = student_teacher(student_logits, teacher_logits)
    need_two_classes(s, "student_logits")
    gt = one_hot_mask(class_index(target, s.shape[0], s.shape[1], "target"), s.shape[1])
    s, t = s / temperature, t / temperature
    tckd = kl_rows(_binary_log_probs(F.log_softmax(t, dim=1), gt),
                   _binary_log_probs(F.log_softmax(s, dim=1), gt))
    t_rest, undefined = non_target_teacher(t, gt)
    nckd = torch.where(undefined, 0.0, kl_rows(F.log_softmax(t_rest, dim=1),
                                               F.log_softmax(drop_columns(s, gt), dim=1)))
    loss = alpha * tckd + beta * nckd
    if t2_scale:
        loss = loss * temperature**2
    return reduce(loss, reduction)


# --------------------------------------------------------------------------- NKD
NKD_PARAMS = {"temperature": POSITIVE, "gamma": NON_NEGATIVE, "reduction": REDUCTION}


def nkd_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    target: Tensor,
    *,
    temperature: float = 1.0,
    gamma: float = 1.5,
    reduction: str = "mean",
) -> Tensor:
    """Normalized knowledge distillation (Yang et al., ICCV 2023).

    ``L = -p_t,y log p_s,y - gamma T^2 sum_{k != y} p_hat_t,k(T) log p_hat_s,k(T)``: the
    target part has no temperature; the non-target part uses the distributions renormalised
    over the C - 1 non-target classes. As in the official code it is the cross-entropy form
    (it includes the teacher's non-target entropy) and it is *added* to the student's CE.
    A teacher certain of the target (every non-target logit ``-inf``) has no non-target
    distribution: that part counts as 0, as in :func:`dkd_loss`.

    At ``T = 1``, KD's cross-entropy splits as
    ``-p_t,y log p_s,y - (1 - p_t,y) log(1 - p_s,y) - (1 - p_t,y) sum p_hat_t log p_hat_s``;
    NKD drops the middle term and the ``(1 - p_t,y)`` factor.

    Parameters
    ----------
    student_logits, teacher_logits : Tensor of shape (N, C), C >= 2
    target : Tensor
        Class indices ``(N,)``, or probabilities ``(N, C)`` reduced to their argmax (as the
        official code does).
    temperature : float, default 1.0
    gamma : float, default 1.5
        Weight of the non-target part (ImageNet configs; CIFAR-100 uses T = 3, gamma = 3.5).
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> s, t = torch.tensor([[1.0, 0.0, -1.0]]), torch.tensor([[2.0, 0.0, -2.0]])
    >>> nkd_loss(s, t, torch.tensor([0])).round(decimals=4)
    tensor(1.0020)
    """
    check_params("nkd_loss", NKD_PARAMS, temperature=temperature, gamma=gamma,
                 reduction=reduction)
    s, t = student_teacher(student_logits, teacher_logits)
    need_two_classes(s, "student_logits")
    y = class_index(target, s.shape[0], s.shape[1], "target")[:, None]
    gt = one_hot_mask(y[:, 0], s.shape[1])
    # gathered, not multiplied by the mask: a class masked out (-inf) elsewhere adds nothing
    target_part = -(F.softmax(t, dim=1).gather(1, y) * F.log_softmax(s, dim=1).gather(1, y))[:, 0]
    t_rest, undefined = non_target_teacher(t, gt)
    t_non = F.softmax(t_rest / temperature, dim=1)
    non_target = torch.where(undefined, 0.0, rows_ce(drop_columns(s, gt) / temperature, t_non))
    return reduce(target_part + gamma * temperature**2 * non_target, reduction)


# --------------------------------------------------------------------------- USKD
USKD_PARAMS = {"alpha": NON_NEGATIVE, "beta": NON_NEGATIVE, "mu": NON_NEGATIVE,
               "rank_source": option("code", "paper"), "reduction": REDUCTION}


def _zipf_non_target(rank_score: Tensor, label_mask: Tensor, dropped: int) -> Tensor:
    """Zipf labels ``1 / position`` from a descending ranking, target columns dropped,
    renormalised over the non-target classes."""
    order = torch.argsort(rank_score, dim=1, descending=True, stable=True)
    position = torch.argsort(order, dim=1, stable=True)
    zipf = 1.0 / (position + 1).to(rank_score.dtype)
    zipf = drop_columns(zipf, label_mask, dropped)
    return zipf / zipf.sum(dim=1, keepdim=True)


def uskd_loss(
    logits: Tensor,
    target: Tensor,
    weak_logits: Tensor,
    *,
    alpha: float = 1.0,
    beta: float = 0.1,
    mu: float = 0.005,
    rank_source: str = "code",
    reduction: str = "mean",
) -> Tensor:
    """USKD, self-distillation with customized soft labels (Yang et al., ICCV 2023).

    ``L = alpha L_t + beta L_non + L_weak`` (added to the student's CE), with

    * ``L_t = -sum v log s_y`` where ``v = s_y^2 + 1 - mean_batch(s_y^2)`` (detached);
    * ``L_weak = -mu sum_k q_k log w_k``, ``w = softmax(weak_logits)`` and
      ``q = 0.9 onehot(y) + 0.1 / C``;
    * ``L_non = -sum_{k != y} u_k log s_hat_k``: Zipf labels ``u`` (``1 / rank``, renormalised
      over non-targets, detached) against the non-target softmax of the student. Classes are
      ranked by ``w_k / (1 - w_y) + l_k / (1 - l_y)``.

    For probability targets the two largest entries play the role of ``y`` (their values
    replace the 1 in ``v``, entries equal to 0 get ``v = 0``), and ``q = 0.9 t + 0.1 / C``,
    as in the official code.

    Parameters
    ----------
    logits : Tensor of shape (N, C)
        Student logits.
    target : Tensor
        Class indices ``(N,)`` or probabilities ``(N, C)`` (C >= 3 then).
    weak_logits : Tensor of shape (N, C)
        Output of the weak linear head on a mid-level feature (``USKDLoss`` owns that head).
    alpha, beta, mu : float, default 1.0, 0.1, 0.005
        ImageNet defaults (``mu = 0.005`` for C = 1000; CIFAR-100 uses 0.1, 0.1, 0.1).
    rank_source : {"code", "paper"}, default "code"
        ``"code"``: ``l`` is the student's log-softmax, as the official code computes it;
        ``"paper"``: ``l`` is the student's softmax probability, as the paper describes.
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[2.0, 0.5, 0.0, -1.0]])
    >>> w = torch.tensor([[1.0, 0.0, 0.2, 0.0]])
    >>> uskd_loss(z, torch.tensor([0]), w).round(decimals=4)
    tensor(0.4570)
    """
    check_params("uskd_loss", USKD_PARAMS, alpha=alpha, beta=beta, mu=mu,
                 rank_source=rank_source, reduction=reduction)
    dtype = compute_dtype(logits, weak_logits, target)
    z = as_float(logits, "logits", dtype, ndim=2)
    w_logits = as_float(weak_logits, "weak_logits", dtype, ndim=2)
    check_same_shape(z, w_logits, "logits", "weak_logits")
    n, c = z.shape
    q = class_probs(target, n, c, "target", dtype)
    if target.is_floating_point():
        if c < 3:
            raise InputError(f"probability targets need at least 3 classes; got shape {(n, c)}.")
        value, label = torch.sort(q, dim=1, descending=True, stable=True)
        value, label = value[:, :2], label[:, :2]
    else:
        need_two_classes(z, "logits")
        label = target.long()[:, None]
        value = torch.ones(n, 1, dtype=dtype, device=z.device)
    log_s = F.log_softmax(z, dim=1)
    log_s_t = log_s.gather(1, label)
    a = log_s_t.detach().exp() ** 2
    v = torch.where(value == 0, 0.0, a + value - a.mean(dim=0, keepdim=True))
    loss_t = -(v * log_s_t).sum(dim=1)

    log_w = F.log_softmax(w_logits, dim=1)
    loss_weak = -mu * ((0.9 * q + 0.1 / c) * log_w).sum(dim=1)

    w = log_w.detach().exp()
    w_rest = 1.0 - w.gather(1, label).sum(dim=1, keepdim=True) + 1e-6
    ell = log_s.detach() if rank_source == "code" else log_s.detach().exp()
    ell_rest = 1.0 - ell.gather(1, label).sum(dim=1, keepdim=True) + 1e-6
    label_mask = torch.zeros(n, c, dtype=torch.bool, device=z.device).scatter_(1, label, True)
    u = _zipf_non_target(w / w_rest + ell / ell_rest, label_mask, label.shape[1])
    loss_non = rows_ce(drop_columns(z, label_mask, label.shape[1]), u)
    return reduce(alpha * loss_t + beta * loss_non + loss_weak, reduction)
