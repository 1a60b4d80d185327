"""Losses for noisy, complementary, proportion and partial multi-label supervision:
ELR, SCL-NL, SCL-EXP, URE-GA, forward correction, PC, DLLP, PU-MLC and COMIC's
multi-focal modifier."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.train.nn._classification import logits_and_target, rows_ce
from softlabels.train.nn._common import (
    NON_NEGATIVE,
    POSITIVE,
    REDUCTION,
    as_float,
    as_matrix,
    as_vector,
    check_distributions,
    check_params,
    check_same_shape,
    compute_dtype,
    real,
    reduce,
)

__all__ = [
    "dllp_loss",
    "elr_loss",
    "elr_update_targets",
    "forward_correction_loss",
    "multi_focal_loss",
    "pc_loss",
    "pu_mlc_loss",
    "scl_exp_loss",
    "scl_nl_loss",
    "uniform_transition",
    "ure_ga_loss",
]

CLAMP = real(0.0, 0.5, low_open=True)


# --------------------------------------------------------------------------- ELR
ELR_PARAMS = {"lam": NON_NEGATIVE, "beta": real(0.0, 1.0), "clamp_eps": CLAMP,
              "reduction": REDUCTION}


def _clamped_probs(logits: Tensor, clamp_eps: float) -> Tensor:
    return F.softmax(logits, dim=1).clamp(clamp_eps, 1.0 - clamp_eps)


def elr_update_targets(
    ema_target: Tensor, logits: Tensor, *, beta: float = 0.7, clamp_eps: float = 1e-4
) -> Tensor:
    """One ELR target update: ``beta t + (1 - beta) p_c / sum(p_c)`` (no gradient).

    ``p_c = clamp(softmax(logits), eps, 1 - eps)``, renormalised, detached.

    Parameters
    ----------
    ema_target : Tensor of shape (N, C)
        The current targets of the batch's samples (zeros before their first visit).
    logits : Tensor of shape (N, C)
    beta : float in [0, 1], default 0.7
        EMA momentum (CIFAR-10 config; 0.9 for CIFAR-100). ``beta = 0`` makes the target
        the current (clamped, renormalised) prediction.
    clamp_eps : float in (0, 0.5], default 1e-4
        The ``eps`` of the clamp.

    Returns
    -------
    Tensor of shape (N, C), in the compute dtype.

    Examples
    --------
    >>> import torch
    >>> elr_update_targets(torch.zeros(1, 2), torch.zeros(1, 2), beta=0.5)
    tensor([[0.2500, 0.2500]])
    """
    check_params("elr_update_targets", ELR_PARAMS, beta=beta, clamp_eps=clamp_eps)
    dtype = compute_dtype(ema_target, logits)
    z = as_float(logits, "logits", dtype, ndim=2).detach()
    old = as_float(ema_target, "ema_target", dtype, ndim=2).detach()
    check_same_shape(z, old, "logits", "ema_target")
    p = _clamped_probs(z, clamp_eps)
    return beta * old + (1.0 - beta) * p / p.sum(dim=1, keepdim=True)


def elr_loss(
    logits: Tensor,
    target: Tensor,
    ema_target: Tensor,
    *,
    lam: float = 3.0,
    clamp_eps: float = 1e-4,
    reduction: str = "mean",
) -> Tensor:
    """Early-learning regularisation (Liu et al., NeurIPS 2020), stateless form.

    ``loss_i = CE(target_i, softmax(z_i)) + lam log(1 - <t_i, clamp(softmax(z_i))>)`` with
    the per-sample EMA targets ``t`` given (already updated for this step, detached).
    The regulariser is negative; the loss is not clipped. :class:`ELRLoss` keeps the
    targets in a buffer and updates them with :func:`elr_update_targets`.

    Parameters
    ----------
    logits : Tensor of shape (N, C)
    target : Tensor
        Noisy labels: class indices ``(N,)`` or probabilities ``(N, C)``.
    ema_target : Tensor of shape (N, C)
        Running-average targets of these samples.
    lam : float, default 3.0
        Regularisation weight (CIFAR-10 symmetric noise; 1 to 7 in the official configs).
    clamp_eps : float, default 1e-4
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[2.0, 0.0]])
    >>> elr_loss(z, torch.tensor([0]), torch.tensor([[0.5, 0.5]])).round(decimals=4)
    tensor(-1.9525)
    """
    check_params("elr_loss", ELR_PARAMS, lam=lam, clamp_eps=clamp_eps, reduction=reduction)
    z, q = logits_and_target(logits, target)
    t = as_float(ema_target, "ema_target", z.dtype, ndim=2).detach()
    check_same_shape(z, t, "logits", "ema_target")
    agreement = (t * _clamped_probs(z, clamp_eps)).sum(dim=1)
    return reduce(rows_ce(z, q) + lam * torch.log1p(-agreement), reduction)


# --------------------------------------------------------------------------- complementary labels
CLL_PARAMS = {"eps": NON_NEGATIVE, "reduction": REDUCTION}


def uniform_transition(n_classes: int, *, dtype: torch.dtype = torch.float32,
                       device: Any = None) -> Tensor:
    """``Q = (J - I) / (K - 1)``: each wrong class equally likely as the complementary label.

    Parameters
    ----------
    n_classes : int
        Number of classes ``K``, at least 2.
    dtype : torch.dtype, default torch.float32
    device : torch device, optional

    Returns
    -------
    Tensor of shape (n_classes, n_classes)

    Raises
    ------
    InputError
        When ``n_classes`` is not an int of at least 2.

    Examples
    --------
    >>> uniform_transition(3)
    tensor([[0.0000, 0.5000, 0.5000],
            [0.5000, 0.0000, 0.5000],
            [0.5000, 0.5000, 0.0000]])
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise InputError(f"n_classes must be an int >= 2; got {n_classes!r}.")
    ones = torch.ones(n_classes, n_classes, dtype=dtype, device=device)
    return (ones - torch.eye(n_classes, dtype=dtype, device=device)) / (n_classes - 1)


def _transition(transition: Any, k: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    if transition is None:
        return uniform_transition(k, dtype=dtype, device=device)
    q = as_matrix(transition, "transition", (k, k), dtype, device)
    if bool((q < 0).any()):
        raise InputError("transition has negative entries; it must hold P(ybar = j | y = i).")
    sums = q.sum(dim=1)
    off = torch.nonzero((sums - 1.0).abs() > 1e-4)
    if off.numel():
        row = int(off[0, 0])
        raise InputError(
            f"transition rows must sum to 1 (row i is P(ybar | y = i)); row {row} sums to "
            f"{float(sums[row]):.6g}."
        )
    return q


def _complementary(logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    z, q = logits_and_target(logits, target)
    if z.shape[1] < 2:
        raise InputError(f"logits must have at least 2 classes; got shape {tuple(z.shape)}.")
    return z, q





def scl_nl_loss(logits: Tensor, target: Tensor, *, eps: float = 1e-6,
                reduction: str = "mean") -> Tensor:
    """SCL-NL complementary-label loss (Chou et al., ICML 2020): ``-log(1 - p_ybar + eps)``.

    Parameters
    ----------
    logits : Tensor of shape (N, C)
    target : Tensor
        Complementary labels: class indices ``(N,)`` of a class each sample is *not*, or a
        distribution ``(N, C)`` over complementary labels (the loss is then its expectation,
        an extension).
    eps : float, default 1e-6
        Inside the log, as in libcll.
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> scl_nl_loss(torch.tensor([[0.0, 0.0]]), torch.tensor([1])).round(decimals=4)
    tensor(0.6931)
    """
    check_params("scl_nl_loss", CLL_PARAMS, eps=eps, reduction=reduction)
    z, q = _complementary(logits, target)
    # classes without target weight add 0, also where log1p(eps - p) is -inf (eps = 0, p = 1)
    inner = torch.where(q > 0, eps - F.softmax(z, dim=1), 0.0)
    return reduce(-(q * torch.log1p(inner)).sum(dim=1), reduction)


def scl_exp_loss(logits: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """SCL-EXP complementary-label loss (Chou et al., ICML 2020): ``exp(p_ybar)``.

    Parameters
    ----------
    logits : Tensor of shape (N, C)
    target : Tensor
        Complementary labels, as for :func:`scl_nl_loss`.
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> scl_exp_loss(torch.tensor([[0.0, 0.0]]), torch.tensor([1])).round(decimals=4)
    tensor(1.6487)
    """
    check_params("scl_exp_loss", CLL_PARAMS, reduction=reduction)
    z, q = _complementary(logits, target)
    return reduce((q * F.softmax(z, dim=1).exp()).sum(dim=1), reduction)


def forward_correction_loss(
    logits: Tensor,
    target: Tensor,
    transition: Tensor | None = None,
    *,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Forward correction for complementary labels (Yu et al., ECCV 2018):
    ``-log((p @ Q)[ybar] + eps)``.

    Parameters
    ----------
    logits : Tensor of shape (N, C)
    target : Tensor
        Complementary labels, as for :func:`scl_nl_loss`.
    transition : Tensor of shape (C, C), optional
        ``Q[i, j] = P(ybar = j | y = i)``: rows are true classes and sum to 1. Default:
        :func:`uniform_transition` (then the loss is SCL-NL plus ``log(C - 1)``, up to
        where ``eps`` sits).
    eps : float, default 1e-6
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> forward_correction_loss(torch.tensor([[0.0, 0.0, 0.0]]), torch.tensor([1])).round(decimals=4)
    tensor(1.0986)
    """
    check_params("forward_correction_loss", CLL_PARAMS, eps=eps, reduction=reduction)
    z, q = _complementary(logits, target)
    mix = F.softmax(z, dim=1) @ _transition(transition, z.shape[1], z.dtype, z.device)
    # classes without target weight add 0, also where mix + eps is 0 (eps = 0)
    return reduce(-(q * torch.log(torch.where(q > 0, mix + eps, 1.0))).sum(dim=1), reduction)


def pc_loss(logits: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Pairwise-comparison complementary-label loss (Ishida et al., NeurIPS 2017), sigmoid
    form: ``sum_{k != ybar} sigmoid(z_ybar - z_k)``.

    Parameters
    ----------
    logits : Tensor of shape (N, C)
    target : Tensor
        Complementary labels, as for :func:`scl_nl_loss`.
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> pc_loss(torch.tensor([[0.0, 0.0, 0.0]]), torch.tensor([1]))
    tensor(1.)
    """
    check_params("pc_loss", CLL_PARAMS, reduction=reduction)
    z, q = _complementary(logits, target)
    if not torch.is_floating_point(target):  # one complementary label: one row, O(N C)
        zbar = z.gather(1, target.reshape(-1, 1).long())
        return reduce(torch.sigmoid(zbar - z).sum(dim=1) - 0.5, reduction)
    # only the named labels' rows, without the diagonal: for a class masked out (-inf) that
    # the target never names, z_k - z_k is NaN and would poison the sum
    keep = (q > 0)[:, :, None] & ~torch.eye(z.shape[1], dtype=torch.bool, device=z.device)
    diff = torch.where(keep, z[:, :, None] - z[:, None, :], 0.0)
    pairwise = torch.where(keep, torch.sigmoid(diff), 0.0).sum(dim=2)
    return reduce((q * pairwise).sum(dim=1), reduction)


def ure_ga_loss(
    logits: Tensor,
    target: Tensor,
    transition: Tensor | None = None,
    prior: Tensor | None = None,
    *,
    reduction: str = "mean",
) -> Tensor:
    """Unbiased risk estimator with gradient ascent (Ishida et al., ICML 2019), cross-entropy
    base loss, as in libcll.

    With ``l_k = -log softmax(z)_k`` and ``Qinv = Q^-1`` (pseudo-inverse if singular), the
    per-class risks are ``R_j = pi_j mean_{i: ybar_i = j} sum_k Qinv[j, k] l_ik`` (0 for a
    class absent from the batch). The objective is ``sum_j R_j`` when every ``R_j >= 0``;
    otherwise ``-sum_{j: R_j < 0} R_j`` (gradient ascent on the negative risks).

    Parameters
    ----------
    logits : Tensor of shape (N, C)
    target : Tensor
        Complementary labels, as for :func:`scl_nl_loss`.
    transition : Tensor of shape (C, C), optional
        Default uniform (libcll's "GA"); a given matrix gives its "TGA".
    prior : Tensor of shape (C,), optional
        Prior of each complementary label; normalised to sum to 1 (counts are accepted).
        Default uniform ``1 / C``. Ishida's code uses the complementary-label frequencies of
        the training set.
    reduction : {"mean", "sum", "none"}, default "mean"
        ``"mean"`` is the batch objective above; ``"none"`` gives per-sample terms
        ``N sign_j pi_j (Qinv l_i)_j / n_j`` whose mean is that objective.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    >>> ure_ga_loss(z, torch.tensor([1, 0])).round(decimals=4)
    tensor(0.1597)
    """
    check_params("ure_ga_loss", CLL_PARAMS, reduction=reduction)
    z, q = _complementary(logits, target)
    n, k = z.shape
    if transition is None:
        inverse = torch.ones(k, k, dtype=z.dtype, device=z.device) - (k - 1) * torch.eye(
            k, dtype=z.dtype, device=z.device)
    else:
        tq = _transition(transition, k, torch.float64, z.device)
        singular = abs(float(torch.linalg.det(tq))) < 1e-12
        inverse = (torch.linalg.pinv(tq) if singular else torch.linalg.inv(tq)).to(z.dtype)
    if prior is None:
        pi = torch.full((k,), 1.0 / k, dtype=z.dtype, device=z.device)
    else:
        pi = as_vector(prior, "prior", k, z.dtype, z.device)
        if bool((pi < 0).any()) or float(pi.sum()) <= 0:
            raise InputError("prior must be non-negative with a positive sum.")
        pi = pi / pi.sum()
    unbiased = -F.log_softmax(z, dim=1) @ inverse.T
    counts = q.sum(dim=0)
    scale = torch.where(counts > 0, pi / torch.where(counts > 0, counts, 1.0), 0.0)
    terms = q * unbiased * scale
    risks = terms.sum(dim=0)
    negative = risks < 0
    sign = torch.where(negative.any(), -negative.to(z.dtype), torch.ones_like(risks))
    return reduce(n * (terms * sign).sum(dim=1), reduction)


# --------------------------------------------------------------------------- DLLP
DLLP_PARAMS = {"eps": real(0.0, 0.5), "reduction": REDUCTION}


def dllp_loss(
    logits: Tensor,
    bag_index: Tensor,
    bag_proportions: Tensor,
    *,
    eps: float = 1e-7,
    reduction: str = "mean",
) -> Tensor:
    """DLLP label-proportion loss (Ardehaly & Culotta 2017): per bag, the cross-entropy
    between the known class proportions and the mean predicted distribution.

    ``pbar_b = mean_{i in b} softmax(z_i)`` and ``loss_b = -sum_c rho_bc log clamp(pbar_bc)``.

    Parameters
    ----------
    logits : Tensor of shape (N, C)
        Instance logits (binary problems: two columns).
    bag_index : Tensor of shape (N,)
        Integer bag of each instance, in ``[0, n_bags)``. Every bag needs an instance: a
        bag must not be split across mini-batches.
    bag_proportions : Tensor of shape (n_bags, C)
        Class proportions of each bag (rows sum to 1; checked).
    eps : float, default 1e-7
        ``pbar`` is clamped to ``[eps, 1 - eps]``.
    reduction : {"mean", "sum", "none"}, default "mean"
        Over *bags*: ``"none"`` returns ``(n_bags,)``.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[2.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> rho = torch.tensor([[0.5, 0.5], [1.0, 0.0]])
    >>> dllp_loss(z, torch.tensor([0, 0, 1]), rho).round(decimals=4)
    tensor(0.6931)
    """
    check_params("dllp_loss", DLLP_PARAMS, eps=eps, reduction=reduction)
    dtype = compute_dtype(logits, bag_proportions)
    z = as_float(logits, "logits", dtype, ndim=2)
    rho = as_float(bag_proportions, "bag_proportions", dtype, ndim=2).detach()
    n, c = z.shape
    if rho.shape[1] != c:
        raise InputError(
            f"bag_proportions must have shape (n_bags, {c}) to match logits {tuple(z.shape)}; "
            f"got {tuple(rho.shape)}."
        )
    if not isinstance(bag_index, Tensor) or bag_index.is_floating_point() or \
            bag_index.dtype == torch.bool or bag_index.shape != (n,):
        shape = tuple(bag_index.shape) if isinstance(bag_index, Tensor) else type(bag_index)
        raise InputError(f"bag_index must be an integer tensor of shape ({n},); got {shape}.")
    check_distributions(rho, "bag_proportions", bag_proportions.dtype)
    n_bags = rho.shape[0]
    idx = bag_index.long()
    if n and (int(idx.min()) < 0 or int(idx.max()) >= n_bags):
        raise InputError(f"bag_index values must lie in [0, {n_bags}) (rows of bag_proportions).")
    counts = torch.bincount(idx, minlength=n_bags)
    if n_bags and int(counts.min()) == 0:
        empty = int(torch.nonzero(counts == 0)[0, 0])
        raise InputError(f"bag {empty} has no instance in this batch; keep bags whole.")
    sums = torch.zeros(n_bags, c, dtype=dtype, device=z.device).index_add(
        0, idx, F.softmax(z, dim=1))
    mean = (sums / counts[:, None].to(dtype)).clamp(eps, 1.0 - eps)
    # classes absent from a bag add 0, also where the mean is 0 (eps = 0)
    return reduce(-(rho * torch.where(rho > 0, mean, 1.0).log()).sum(dim=1), reduction)


# --------------------------------------------------------------------------- PU-MLC
PU_PARAMS = {"alpha": POSITIVE, "gamma": NON_NEGATIVE, "eps": NON_NEGATIVE,
             "min_tau": POSITIVE, "max_tau": POSITIVE, "reduction": REDUCTION}


def _multilabel(logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    z = as_float(logits, "logits", compute_dtype(logits, target), ndim=2)
    if not isinstance(target, Tensor):
        raise InputError(f"target must be a torch.Tensor; got {type(target).__name__}.")
    if target.shape != z.shape:
        raise InputError(
            f"target must be a (N, C) label matrix like logits {tuple(z.shape)}; "
            f"got {tuple(target.shape)}."
        )
    return z, target.detach()


def pu_mlc_loss(
    logits: Tensor,
    target: Tensor,
    *,
    alpha: float = 1.0,
    gamma: float = 0.55,
    eps: float = 1e-10,
    min_tau: float = 1e-3,
    max_tau: float = 1.0,
    reduction: str = "mean",
) -> Tensor:
    """PU-MLC variational loss (Yuan, Zhang & Huang 2023): multi-label learning from positive
    labels only, per class over the batch (VPU applied to each class).

    ``tau_c = clamp(alpha std_batch(z_c), min_tau, max_tau)`` (detached),
    ``phi = sigmoid(z / tau)``, ``w_c = mean_batch(phi_c)^gamma`` (detached) and
    ``L = sum_c [w_c log(mean_batch(phi_c) + eps) - mean_{i: y_ic = 1} log(phi_ic + eps)]``.
    Every sample counts as unlabelled (positives included); entries other than 1
    (0 = unknown, -1 = negative) are all treated as unlabelled. The MixUp regulariser needs a
    second forward pass through the model and is not part of this loss.

    Parameters
    ----------
    logits : Tensor of shape (N, C)
    target : Tensor of shape (N, C)
        Label matrix, any numeric dtype: 1 marks a positive.
    alpha : float, default 1.0
        Temperature multiplier (MS-COCO; 2.0 for VOC).
    gamma : float, default 0.55
        Re-balance exponent (MS-COCO; 0.85 for VOC).
    eps : float, default 1e-10
    min_tau : float, default 1e-3
        Floor on the temperature (the official code has none and divides by zero when a
        class has constant logits in a batch).
    max_tau : float, default 1.0
    reduction : {"mean", "sum", "none"}, default "mean"
        ``"mean"`` is the batch loss above (summed over classes); ``"none"`` gives per-sample
        terms whose mean is that loss.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[2.0, -1.0], [0.0, 1.0], [-2.0, 0.0]])
    >>> y = torch.tensor([[1, 0], [0, 1], [0, 0]])
    >>> pu_mlc_loss(z, y).round(decimals=4)
    tensor(-0.5623)
    """
    check_params("pu_mlc_loss", PU_PARAMS, alpha=alpha, gamma=gamma, eps=eps, min_tau=min_tau,
                 max_tau=max_tau, reduction=reduction)
    if min_tau > max_tau:
        raise InvalidParameterError(
            f"pu_mlc_loss: min_tau ({min_tau}) must be <= max_tau ({max_tau}); the temperature "
            "is clamped to [min_tau, max_tau]."
        )
    z, y = _multilabel(logits, target)
    n = z.shape[0]
    if n == 0:
        return reduce(z.sum(dim=1), reduction)
    std = z.detach().std(dim=0, correction=0)
    tau = (alpha * std).clamp(min_tau, max_tau)
    phi = torch.sigmoid(z / tau)
    weight = phi.detach().mean(dim=0) ** gamma
    unlabeled = (weight * torch.log(phi.mean(dim=0) + eps)).sum()
    positive = (y == 1).to(z.dtype)
    per_class = n / positive.sum(dim=0).clamp_min(1.0)
    labeled = (positive * torch.log(phi + eps) * per_class).sum(dim=1)
    return reduce(unlabeled - labeled, reduction)


# --------------------------------------------------------------------------- COMIC multi-focal
FOCAL_PARAMS = {"gamma_pos": NON_NEGATIVE, "gamma_neg": NON_NEGATIVE, "clip": real(0.0, 1.0),
                "neg_boost": POSITIVE, "prior_power": NON_NEGATIVE, "eps": POSITIVE,
                "reduction": REDUCTION}


def class_prior_weights(class_counts: Any, c: int, dtype: torch.dtype, device: torch.device,
                        prior_power: float) -> Tensor:
    """``w_c = (1 - log(n_c / max n))^prior_power``: 1 for the largest class, more for the tail."""
    counts = as_vector(class_counts, "class_counts", c, dtype, device)
    if bool((counts <= 0).any()):
        raise InputError("class_counts must be positive (positives per class in the training set).")
    return (1.0 - torch.log(counts / counts.max())) ** prior_power


def cooccurrence_attention(positive: Tensor, cooccurrence: Any) -> Tensor:
    """COMIC's attention ``a_i``: the mean over the sample's positive classes of the
    column-normalised co-occurrence rows, renormalised to sum 1 (0 for a sample with no
    positive)."""
    n, c = positive.shape
    m = as_matrix(cooccurrence, "cooccurrence", (c, c), positive.dtype, positive.device)
    if bool((m < 0).any()):
        raise InputError("cooccurrence must be non-negative (label co-occurrence counts).")
    col = m.sum(dim=0)
    m = torch.where(col > 0, m / torch.where(col > 0, col, 1.0), 0.0)
    a = positive @ m / positive.sum(dim=1, keepdim=True).clamp_min(1.0)
    total = a.sum(dim=1, keepdim=True)
    return torch.where(total > 0, a / torch.where(total > 0, total, 1.0), 0.0)


def multi_focal_loss(
    logits: Tensor,
    target: Tensor,
    *,
    class_counts: Any,
    cooccurrence: Any = None,
    gamma_pos: float = 0.0,
    gamma_neg: float = 3.0,
    clip: float = 0.05,
    neg_boost: float = 1.2,
    prior_power: float = 1.0 / 3.0,
    eps: float = 1e-8,
    reduction: str = "mean",
) -> Tensor:
    """COMIC's multi-focal modifier loss (PLT-MLC, ICCV 2023), read from the official code.

    With ``p = sigmoid(z)``, the prior weight ``w_c`` (:func:`class_prior_weights`) and the
    co-occurrence attention ``a`` (:func:`cooccurrence_attention`, 0 without a matrix):
    ``pp = p (1 - a)``; ``pn = min(1 - p + clip, 1)``, times ``neg_boost`` (then capped at 1)
    where ``a != 0``. Per entry ``l = w_c [y log pp + (1 - y) log pn]`` (arguments floored at
    ``eps``) times the detached focusing factor ``(1 - pt)^e`` with ``pt = pp`` or ``pn`` and
    ``e = gamma_pos`` for positives, ``gamma_neg + w_c`` for negatives. ``loss_i = -sum_c l``.

    Parameters
    ----------
    logits : Tensor of shape (N, C)
    target : Tensor of shape (N, C)
        Observed multi-hot labels in [0, 1] (floating or integer; missing positives are 0).
    class_counts : Tensor or sequence of shape (C,)
        Positives per class in the training set (> 0).
    cooccurrence : Tensor or array of shape (C, C), optional
        Label co-occurrence counts.
    gamma_pos, gamma_neg, clip, neg_boost, prior_power, eps :
        Defaults are the values the official ``create_loss`` really uses (0, 3, 0.05, 1.2,
        1/3, 1e-8).
    reduction : {"mean", "sum", "none"}, default "mean"
        The official loss is ``reduction="sum"`` (a sum over batch and classes).

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[2.0, -2.0], [0.0, 1.0]])
    >>> y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> multi_focal_loss(z, y, class_counts=[100, 10]).round(decimals=4)
    tensor(0.3090)
    """
    check_params("multi_focal_loss", FOCAL_PARAMS, gamma_pos=gamma_pos, gamma_neg=gamma_neg,
                 clip=clip, neg_boost=neg_boost, prior_power=prior_power, eps=eps,
                 reduction=reduction)
    z, y = _multilabel(logits, target)
    y = y.to(z.dtype)
    bad = ~((y >= 0) & (y <= 1))  # NaN fails too
    if bool(bad.any()):
        i, j = (int(v) for v in torch.nonzero(bad)[0])
        raise InputError(
            f"target[{i}, {j}] = {float(y[i, j]):g} is not a label in [0, 1]; multi_focal_loss "
            "reads missing labels as negatives (0), not as -1."
        )
    w = class_prior_weights(class_counts, z.shape[1], z.dtype, z.device, prior_power)
    p = torch.sigmoid(z)
    pos = p
    neg = (1.0 - p + clip).clamp(max=1.0) if clip > 0 else 1.0 - p
    if cooccurrence is not None:
        a = cooccurrence_attention((y == 1).to(z.dtype), cooccurrence)
        pos = p * (1.0 - a)
        neg = torch.where(a == 0, neg, neg * neg_boost).clamp(max=1.0)
    loss = w * (y * pos.clamp(min=eps).log() + (1.0 - y) * neg.clamp(min=eps).log())
    if gamma_neg > 0 or gamma_pos > 0:
        pt = (pos * y + neg * (1.0 - y)).detach()
        loss = loss * (1.0 - pt) ** (gamma_pos * y + (gamma_neg + w) * (1.0 - y))
    return reduce(-loss.sum(dim=1), reduction)
