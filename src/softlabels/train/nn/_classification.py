"""Classification losses on logits: soft cross-entropy, Z-loss, squared hinge, normalized
softmax, Soft-Teacher weighted CE and the best-of-heads loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from softlabels.core.errors import InputError
from softlabels.train.nn._common import (
    NON_NEGATIVE,
    POSITIVE,
    REDUCTION,
    UNIT,
    anything,
    as_float,
    as_vector,
    check_params,
    class_probs,
    compute_dtype,
    option,
    real,
    reduce,
)

__all__ = [
    "best_of_heads_loss",
    "normalized_logits",
    "normalized_softmax_loss",
    "soft_cross_entropy",
    "soft_teacher_ce_loss",
    "squared_hinge_loss",
    "z_loss",
]


def rows_ce(logits: Tensor, probs: Tensor) -> Tensor:
    """Per-row cross-entropy ``-sum_k q_k log softmax(z)_k`` (last axis); classes with
    ``q_k = 0`` add 0 even where a logit is ``-inf`` (a masked class)."""
    terms = probs * F.log_softmax(logits, dim=-1)
    return -torch.where(probs == 0, 0.0, terms).sum(dim=-1)


def logits_and_target(logits: Tensor, target: Tensor, name: str = "logits", *,
                      distribution: bool = True) -> tuple[Tensor, Tensor]:
    z = as_float(logits, name, compute_dtype(logits, target), ndim=2)
    n, c = z.shape
    return z, class_probs(target, n, c, "target", z.dtype, distribution=distribution)


# --------------------------------------------------------------------------- soft CE
SOFT_CE_PARAMS = {"label_smoothing": UNIT, "reduction": REDUCTION}


def soft_cross_entropy(
    logits: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> Tensor:
    """Cross-entropy between target distributions and ``softmax(logits)``.

    ``loss_i = -w_i * sum_k q_ik log softmax(z_i)_k`` with ``q = (1 - eps) t + eps / C``.

    Parameters
    ----------
    logits : Tensor of shape (N, C)
    target : Tensor
        Class indices (integer dtype, shape ``(N,)``) or probabilities (floating dtype,
        shape ``(N, C)``). Chosen by dtype, never by value.
    weight : Tensor of shape (N,), optional
        Per-sample weights, finite and non-negative. ``"mean"`` is ``sum_i w_i loss_i / N``
        (not divided by the sum of the weights).
    label_smoothing : float, default 0.0
        Mixes the target with the uniform distribution, as ``F.cross_entropy`` does.
    reduction : {"mean", "sum", "none"}, default "mean"

    Returns
    -------
    Tensor
        A scalar, or ``(N,)`` with ``reduction="none"``; float32 for half-precision or
        float32 inputs, float64 for float64 inputs.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    >>> soft_cross_entropy(z, torch.tensor([[0.9, 0.1], [0.5, 0.5]])).round(decimals=4)
    tensor(0.5701)
    >>> soft_cross_entropy(z, torch.tensor([0, 1]), reduction="none").round(decimals=4)
    tensor([0.1269, 0.3133])
    """
    check_params("soft_cross_entropy", SOFT_CE_PARAMS, label_smoothing=label_smoothing,
                 reduction=reduction)
    z, q = logits_and_target(logits, target)
    if label_smoothing:
        q = q * (1.0 - label_smoothing) + label_smoothing / z.shape[1]
    loss = rows_ce(z, q)
    if weight is not None:
        w = as_vector(weight, "weight", z.shape[0], z.dtype, z.device)
        bad = ~(torch.isfinite(w) & (w >= 0))
        if bool(bad.any()):
            i = int(torch.nonzero(bad)[0, 0])
            raise InputError(
                f"weight must be finite and non-negative; weight[{i}] = {float(w[i]):g}."
            )
        loss = loss * w
    return reduce(loss, reduction)


# --------------------------------------------------------------------------- Z-loss
Z_PARAMS = {"a": POSITIVE, "b": real(), "eps": POSITIVE, "reduction": REDUCTION}


def z_loss(
    logits: Tensor,
    target: Tensor,
    *,
    a: float = 1.0,
    b: float = 0.0,
    eps: float = 1e-12,
    reduction: str = "mean",
) -> Tensor:
    """The Z-loss of de Brébisson & Vincent (2016), invariant to shifting and scaling logits.

    ``z_c = (o_c - mean(o)) / (std(o) + eps)`` (population std over classes) and
    ``L = softplus(a (b - z_y)) / a``. Not the PaLM-style "z-loss" penalty on the
    log-partition function.

    Parameters
    ----------
    logits : Tensor of shape (N, C)
    target : Tensor
        Class indices ``(N,)`` or probabilities ``(N, C)``; probabilities give
        ``sum_c t_c L(o, c)`` (an extension: the paper uses hard labels).
    a : float, default 1.0
        Sharpness (> 0); a large ``a`` approaches the hinge ``max(0, b - z_y)``.
    b : float, default 0.0
        Margin on the standardised scale; keep it below ``sqrt(C - 1)``.
    eps : float, default 1e-12
        Added to the standard deviation, as in the authors' example code.
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> o = torch.tensor([[3.0, 1.0, -1.0]])
    >>> z_loss(o, torch.tensor([0])).round(decimals=4)
    tensor(0.2576)
    >>> z_loss(10 * o + 7, torch.tensor([0])).round(decimals=4)
    tensor(0.2576)
    """
    check_params("z_loss", Z_PARAMS, a=a, b=b, eps=eps, reduction=reduction)
    z, q = logits_and_target(logits, target)
    centred = z - z.mean(dim=1, keepdim=True)
    var = (centred * centred).mean(dim=1, keepdim=True)
    positive = var > 0
    std = torch.where(positive, torch.where(positive, var, 1.0).sqrt(), 0.0)
    standard = centred / (std + eps)
    per_class = F.softplus(a * (b - standard)) / a
    return reduce((q * per_class).sum(dim=1), reduction)


# --------------------------------------------------------------------------- squared hinge
HINGE_PARAMS = {"margin": NON_NEGATIVE, "reduction": REDUCTION}


def squared_hinge_loss(
    logits: Tensor, target: Tensor, *, margin: float = 1.0, reduction: str = "mean"
) -> Tensor:
    """One-vs-rest L2-SVM loss of CNN-SVM (Agarap 2017; Tang 2013).

    ``loss_i = sum_k max(0, margin - t_ik o_ik)^2`` with ``t = +1`` for the class and
    ``-1`` for the others (``t = 2 p - 1`` for floating targets, an extension; their rows
    need not sum to 1, so multi-hot one-vs-rest targets work too).

    The official code takes the mean over batch *and* classes; ``reduction="mean"`` here
    sums over classes, so it is ``C`` times that value. The readout weight penalty of the
    paper is not part of the loss: add it (or weight decay) to the optimiser.

    Parameters
    ----------
    logits : Tensor of shape (N, C)
        The scores ``o``.
    target : Tensor
        Class indices ``(N,)``, or floating targets ``(N, C)``.
    margin : float >= 0, default=1.0
    reduction : {"mean", "sum", "none"}, default="mean"
        Over the samples (the classes are always summed).

    Returns
    -------
    Tensor

    Examples
    --------
    >>> import torch
    >>> o = torch.tensor([[1.5, -1.0, 0.0]])
    >>> squared_hinge_loss(o, torch.tensor([0]))
    tensor(1.)
    """
    check_params("squared_hinge_loss", HINGE_PARAMS, margin=margin, reduction=reduction)
    z, q = logits_and_target(logits, target, distribution=False)
    signs = 2.0 * q - 1.0
    return reduce(F.relu(margin - signs * z).square().sum(dim=1), reduction)


# --------------------------------------------------------------------------- normalized softmax
NORMALIZED_PARAMS = {"scale": POSITIVE, "reduction": REDUCTION}


def normalized_logits(features: Tensor, weight: Tensor, *, scale: float = 10.0) -> Tensor:
    """``scale * <normalize(f), normalize(w_c)>``: cosine logits, no bias, shape (N, C).

    Parameters
    ----------
    features : Tensor of shape (N, D)
        Floating features.
    weight : Tensor of shape (C, D)
        One weight vector per class.
    scale : float, default 10.0
        Positive factor of the cosines.

    Returns
    -------
    Tensor of shape (N, C)

    Raises
    ------
    InputError
        When a tensor is not floating and 2-D, or ``weight`` has another number of
        features than ``features``.

    Examples
    --------
    >>> import torch
    >>> normalized_logits(torch.tensor([[3.0, 4.0]]), torch.eye(2), scale=10.0)
    tensor([[6., 8.]])
    """
    check_params("normalized_logits", NORMALIZED_PARAMS, scale=scale)
    dtype = compute_dtype(features, weight)
    f = as_float(features, "features", dtype, ndim=2)
    w = as_float(weight, "weight", dtype, ndim=2)
    if f.shape[1] != w.shape[1]:
        raise InputError(
            f"features has {f.shape[1]} dimensions but weight has shape {tuple(w.shape)}; "
            "weight must be (n_classes, n_features)."
        )
    return scale * F.normalize(f, dim=1) @ F.normalize(w, dim=1).T


def normalized_softmax_loss(
    features: Tensor,
    weight: Tensor,
    target: Tensor,
    *,
    scale: float = 10.0,
    reduction: str = "mean",
) -> Tensor:
    """Normalized softmax (Zhai & Wu 2019), the base of the hyperspherical embedding of
    Pereira et al. (2021): cross-entropy on :func:`normalized_logits`.

    Parameters
    ----------
    features : Tensor of shape (N, D)
        Embeddings (not logits): they are L2-normalised here.
    weight : Tensor of shape (C, D)
        Class vectors, also normalised here (no bias).
    target : Tensor
        Class indices ``(N,)`` or probabilities ``(N, C)``.
    scale : float, default 10.0
        The fixed radius ``s`` (``1 / T``); 10 in the authors' package.
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> f = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> normalized_softmax_loss(f, torch.eye(2), torch.tensor([0, 1])).round(decimals=6)
    tensor(4.5000e-05)
    """
    logits = normalized_logits(features, weight, scale=scale)
    check_params("normalized_softmax_loss", NORMALIZED_PARAMS, reduction=reduction)
    q = class_probs(target, logits.shape[0], logits.shape[1], "target", logits.dtype)
    return reduce(rows_ce(logits, q), reduction)


# --------------------------------------------------------------------------- Soft Teacher
SOFT_TEACHER_PARAMS = {"bg_index": anything, "normalize": option("joint", "paper"),
                       "reduction": REDUCTION}


def soft_teacher_ce_loss(
    logits: Tensor,
    target: Tensor,
    bg_score: Tensor,
    *,
    bg_index: int = -1,
    normalize: str = "joint",
    reduction: str = "mean",
) -> Tensor:
    """Soft Teacher's classification loss (Xu et al. 2021): background samples are weighted by
    the teacher's background probability ``r``.

    ``"joint"`` (the official code): ``sum_fg CE + sum_bg r_j CE_j`` over
    ``max(N_fg + sum_bg r_j, 1)``. ``"paper"``: ``mean_fg CE + sum_bg (r_j / sum r) CE_j``.

    Parameters
    ----------
    logits : Tensor of shape (N, C)
        Student logits over the classes and the background column.
    target : Tensor of shape (N,)
        Assigned class indices (integer dtype); ``bg_index`` marks background.
    bg_score : Tensor of shape (N,)
        Teacher background probability of each sample (detached inside; only read for
        background samples).
    bg_index : int, default -1
        Background column (negative values count from the end; mmdet puts it last).
    normalize : {"joint", "paper"}, default "joint"
    reduction : {"mean", "sum", "none"}, default "mean"
        ``"mean"`` is the normalised loss above; ``"none"`` gives per-sample terms whose
        mean is that loss (``N * w_i CE_i / Z``), ``"sum"`` their sum.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    >>> soft_teacher_ce_loss(z, torch.tensor([0, 2]), torch.tensor([0.0, 0.5])).round(decimals=4)
    tensor(0.1913)
    """
    check_params("soft_teacher_ce_loss", SOFT_TEACHER_PARAMS, bg_index=bg_index,
                 normalize=normalize, reduction=reduction)
    if isinstance(target, Tensor) and target.is_floating_point():
        raise InputError(
            "soft_teacher_ce_loss needs class indices (an integer tensor) as target; "
            f"got dtype {target.dtype}."
        )
    z, q = logits_and_target(logits, target)
    n, c = z.shape
    if isinstance(bg_index, bool) or not isinstance(bg_index, int) or not -c <= bg_index < c:
        raise InputError(f"bg_index must be an int in [-{c}, {c}); got {bg_index!r}.")
    r = as_vector(bg_score, "bg_score", n, z.dtype, z.device)
    ce = rows_ce(z, q)
    is_bg = target.long() == bg_index % c
    bad = is_bg & ~((r >= 0) & (r <= 1))  # NaN fails too
    if bool(bad.any()):
        i = int(torch.nonzero(bad)[0, 0])
        raise InputError(
            f"bg_score[{i}] = {float(r[i]):g} is not a probability in [0, 1] (the teacher's "
            "background probability of a background sample)."
        )
    if normalize == "joint":
        w = torch.where(is_bg, r, 1.0)
        scale = w / w.sum().clamp_min(1.0)
    else:
        n_fg = (~is_bg).sum().clamp_min(1).to(z.dtype)
        r_bg = torch.where(is_bg, r, 0.0)
        total = r_bg.sum()
        scale = torch.where(is_bg, r_bg / torch.where(total > 0, total, 1.0), 1.0 / n_fg)
    return reduce(n * scale * ce, reduction)


# --------------------------------------------------------------------------- best of heads
BEST_OF_PARAMS = {"relax": UNIT, "reduction": REDUCTION}


def best_of_heads_loss(
    logits: Tensor, target: Tensor, *, relax: float = 0.0, reduction: str = "mean"
) -> Tensor:
    """Multi-head "best-of" loss (Liu, Qiao & Dou 2022, "Multi-Outputs Is All You Need For
    Deblur") for classification: the per-sample CE of the best of K heads.

    ``loss_i = (1 - relax) min_k CE(z_ik, t_i) + relax mean_k CE(z_ik, t_i)``. Only the
    winning head gets gradient when ``relax = 0`` (the paper's hard winner-take-all; the
    relaxation is an option of ours against heads that never win).

    Parameters
    ----------
    logits : Tensor of shape (N, K, C)
        One row of logits per head.
    target : Tensor
        Class indices ``(N,)`` or probabilities ``(N, C)``.
    relax : float in [0, 1], default 0.0
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[[4.0, 0.0], [0.0, 4.0]]])   # two heads, opposite answers
    >>> best_of_heads_loss(z, torch.tensor([1])).round(decimals=4)
    tensor(0.0181)
    """
    check_params("best_of_heads_loss", BEST_OF_PARAMS, relax=relax, reduction=reduction)
    z = as_float(logits, "logits", compute_dtype(logits, target), ndim=3)
    n, k, c = z.shape
    if k == 0:
        raise InputError(f"logits must have at least one head; got shape {tuple(z.shape)}.")
    q = class_probs(target, n, c, "target", z.dtype)
    per_head = rows_ce(z, q[:, None, :])
    loss = per_head.min(dim=1).values
    if relax:
        loss = (1.0 - relax) * loss + relax * per_head.mean(dim=1)
    return reduce(loss, reduction)
