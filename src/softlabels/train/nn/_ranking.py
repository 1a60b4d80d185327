"""Ranking-style losses: DEXML's decoupled softmax and soft top-k for multi-label retrieval,
and DeQA-Score's Thurstone fidelity loss for pairs of rated items."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from softlabels.core.errors import InputError
from softlabels.train.nn._common import (
    POSITIVE,
    REDUCTION,
    anything,
    as_float,
    as_vector,
    boolean,
    check_params,
    check_same_shape,
    class_probs,
    compute_dtype,
    positive_int,
    reduce,
)

__all__ = [
    "decoupled_softmax_loss",
    "sample_positives",
    "soft_top_k",
    "soft_top_k_loss",
    "thurstone_fidelity_loss",
    "thurstone_preference",
]


def scores_and_relevance(scores: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    s = as_float(scores, "scores", compute_dtype(scores, target), ndim=2)
    rel = class_probs(target, s.shape[0], s.shape[1], "target", s.dtype, distribution=False)
    if not bool((torch.isfinite(rel) & (rel >= 0)).all()):
        raise InputError(
            "target relevance values must be finite and >= 0 (0 marks a negative label)."
        )
    return s, rel


def sample_positives(
    target: Tensor, k: int = 1, *, generator: torch.Generator | None = None
) -> Tensor:
    """Draw ``min(k, n_pos)`` positives per row, without replacement, with probability
    proportional to the relevance (the Gumbel top-k equivalent of
    ``torch.multinomial(target, k, replacement=False)``, which fails on rows with fewer
    than k positives).

    Parameters
    ----------
    target : Tensor of shape (B, L)
        Relevance weights ``>= 0``; positives are the entries ``> 0``.
    k : int, default 1
    generator : torch.Generator, optional

    Returns
    -------
    Tensor of shape (B, L), dtype bool
        The sampled positives.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> sample_positives(torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 3.0]]), 1, generator=g).sum(1)
    tensor([1, 1])
    """
    check_params("sample_positives", {"k": positive_int}, k=k)
    rel = target.detach()
    positive = rel > 0
    device = generator.device if generator is not None else rel.device
    u = torch.rand(rel.shape, generator=generator, dtype=torch.float64, device=device)
    gumbel = -torch.log(-torch.log(u.to(rel.device).clamp_min(torch.finfo(torch.float64).tiny)))
    keys = torch.where(positive, rel.double().clamp_min(1e-300).log() + gumbel, float("-inf"))
    order = torch.argsort(keys, dim=1, descending=True, stable=True)
    rank = torch.argsort(order, dim=1, stable=True)
    take = positive.sum(dim=1, keepdim=True).clamp(max=k)
    return positive & (rank < take)


def _selected(rel: Tensor, sample: bool, k: int, generator: torch.Generator | None) -> Tensor:
    return sample_positives(rel, k, generator=generator) if sample else rel > 0


def _average_over_selected(log_prob: Tensor, rel: Tensor, chosen: Tensor, weighted: bool) -> Tensor:
    weight = torch.where(chosen, rel if weighted else torch.ones_like(rel), 0.0)
    return -(weight * log_prob).sum(dim=1) / chosen.sum(dim=1).clamp_min(1)


# --------------------------------------------------------------------------- decoupled softmax
DEXML_PARAMS = {"sample_positives": boolean, "weighted": boolean, "generator": anything,
                "reduction": REDUCTION}


def decoupled_softmax_loss(
    scores: Tensor,
    target: Tensor,
    *,
    sample_positives: bool = False,
    weighted: bool = False,
    generator: torch.Generator | None = None,
    reduction: str = "mean",
) -> Tensor:
    """DEXML's decoupled softmax (Gupta et al., ICLR 2024): each positive gets its own
    softmax whose denominator holds that positive and the negatives only.

    ``loss_i = -(1 / |P_i|) sum_{j in P_i} [s_ij - log(exp(s_ij) + sum_{l in N_i} exp(s_il))]``
    where ``N_i`` are the labels with relevance 0. Its infimum is 0, unlike multi-positive
    InfoNCE (``m log m``). A row without positives contributes 0 (and counts in the mean),
    as in the official code. Other positives are removed from the denominator exactly (the
    official code sets them to -100, which is the same at its cosine / 0.05 scale).

    Parameters
    ----------
    scores : Tensor of shape (B, L)
        Similarities already divided by the temperature (DEXML: cosine / 0.05).
    target : Tensor
        Relevance ``(B, L)`` (floating, ``> 0`` marks a positive) or one class index per row
        ``(B,)`` (integer), which gives plain softmax cross-entropy.
    sample_positives : bool, default False
        Draw one positive per row (probability proportional to relevance) and drop the
        others from the loss and the denominators. DEXML's shipped configs do this
        (``loss_sample: True``); the default here is the deterministic all-positive average.
    weighted : bool, default False
        Multiply each positive's term by its relevance (``loss_weighted``).
    generator : torch.Generator, optional
        For the sampling.
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([[5.0, 5.0, 0.0, 0.0]])
    >>> decoupled_softmax_loss(s, torch.tensor([[1.0, 1.0, 0.0, 0.0]])).round(decimals=4)
    tensor(0.0134)
    """
    check_params("decoupled_softmax_loss", DEXML_PARAMS, sample_positives=sample_positives,
                 weighted=weighted, generator=generator, reduction=reduction)
    s, rel = scores_and_relevance(scores, target)
    negative = rel == 0
    chosen = _selected(rel, sample_positives, 1, generator)
    floor = torch.finfo(s.dtype).min
    log_neg = torch.logsumexp(torch.where(negative, s, floor), dim=1, keepdim=True)
    log_prob = s - torch.logaddexp(s, log_neg)
    return reduce(_average_over_selected(log_prob, rel, chosen, weighted), reduction)


# --------------------------------------------------------------------------- soft top-k
class _TopKThreshold(torch.autograd.Function):
    """The threshold ``t`` with ``sum_l sigmoid(alpha (s_l + t)) = k`` (bisection, no grad)
    and its implicit gradient ``dt/ds_m = -v_m / sum_l v_l``, ``v = alpha sigmoid'``."""

    @staticmethod
    def forward(ctx: Any, s: Tensor, k: Tensor, alpha: float, n_iter: int, valid: Tensor) -> Tensor:
        inf = torch.tensor(float("inf"), dtype=s.dtype, device=s.device)
        # at lo every membership is below e^-10 / n (they sum to less than 1 <= k), at hi
        # above 1 - e^-10 / n (they sum to more than n - 1 >= k), however many candidates
        margin = (10.0 + valid.sum(dim=1, keepdim=True).clamp_min(1).to(s.dtype).log()) / alpha
        lo = -torch.where(valid, s, -inf).max(dim=1, keepdim=True).values - margin
        hi = -torch.where(valid, s, inf).min(dim=1, keepdim=True).values + margin
        for _ in range(n_iter):
            mid = (lo + hi) / 2
            total = torch.where(valid, torch.sigmoid(alpha * (s + mid)), 0.0).sum(dim=1, keepdim=True)
            below = total < k
            lo = torch.where(below, mid, lo)
            hi = torch.where(below, hi, mid)
        t = (lo + hi) / 2
        ctx.save_for_backward(s, t, valid)
        ctx.alpha = alpha
        return t

    @staticmethod
    def backward(ctx: Any, grad_t: Tensor) -> tuple[Tensor | None, ...]:
        s, t, valid = ctx.saved_tensors
        sig = torch.sigmoid(ctx.alpha * (s + t))
        v = torch.where(valid, ctx.alpha * sig * (1.0 - sig), 0.0)
        total = v.sum(dim=1, keepdim=True).clamp_min(torch.finfo(s.dtype).tiny)
        return -grad_t * v / total, None, None, None, None


TOPK_PARAMS = {"k": anything, "alpha": POSITIVE, "n_iter": positive_int, "sample_positives": boolean,
               "weighted": boolean, "generator": anything, "reduction": REDUCTION}


def _top_k_logits(s: Tensor, k: Any, alpha: float, n_iter: int, valid: Tensor) -> Tensor:
    """``alpha (s + t)`` with the soft top-k threshold t (invalid entries excluded)."""
    b = s.shape[0]
    if isinstance(k, Tensor):
        if k.is_floating_point() or k.dtype == torch.bool or k.shape != (b,):
            raise InputError(f"k must be an int or an integer tensor of shape ({b},); "
                             f"got {k.dtype} {tuple(k.shape)}.")
        kk = k.to(device=s.device, dtype=s.dtype)[:, None]
    elif isinstance(k, int) and not isinstance(k, bool):
        kk = torch.full((b, 1), float(k), dtype=s.dtype, device=s.device)
    else:
        raise InputError(f"k must be an int or an integer tensor of shape ({b},); got {k!r}.")
    n_valid = valid.sum(dim=1, keepdim=True)
    bad = torch.nonzero(((kk <= 0) | (kk >= n_valid)).squeeze(1))
    if bad.numel():
        row = int(bad[0, 0])
        raise InputError(
            f"k must satisfy 0 < k < number of candidate labels; row {row} has k = "
            f"{float(kk[row, 0]):g} and {int(n_valid[row, 0])} candidates."
        )
    return alpha * (s + _TopKThreshold.apply(s, kk, alpha, n_iter, valid))


def soft_top_k(
    scores: Tensor, k: int | Tensor, *, alpha: float = 2.0, n_iter: int = 32
) -> Tensor:
    """Differentiable soft top-k membership ``sigmoid(alpha (s + t))`` (DEXML), rows summing
    to ``k``.

    The threshold ``t`` is found by ``n_iter`` bisection steps on
    ``[-max s - m, -min s + m]``, ``m = (10 + log L) / alpha``, without gradient; the
    backward pass uses the implicit gradient of ``t``.

    Parameters
    ----------
    scores : Tensor of shape (B, L)
    k : int or integer Tensor of shape (B,)
        ``0 < k < L``.
    alpha : float, default 2.0
        Sharpness.
    n_iter : int, default 32

    Examples
    --------
    >>> import torch
    >>> soft_top_k(torch.tensor([[3.0, 1.0, 0.0, -2.0]]), 2).sum().round(decimals=4)
    tensor(2.)
    """
    check_params("soft_top_k", TOPK_PARAMS, alpha=alpha, n_iter=n_iter)
    s = as_float(scores, "scores", compute_dtype(scores), ndim=2)
    valid = torch.ones_like(s, dtype=torch.bool)
    return torch.sigmoid(_top_k_logits(s, k, alpha, n_iter, valid))


def soft_top_k_loss(
    scores: Tensor,
    target: Tensor,
    *,
    k: int | Tensor = 5,
    alpha: float = 2.0,
    n_iter: int = 32,
    sample_positives: bool = False,
    weighted: bool = False,
    generator: torch.Generator | None = None,
    reduction: str = "mean",
) -> Tensor:
    """DEXML's soft top-k loss: ``-(1 / |P_i|) sum_{j in P_i} log sigmoid(alpha (s_ij + t_i))``
    with the soft top-k threshold of :func:`soft_top_k`.

    Parameters
    ----------
    scores : Tensor of shape (B, L)
        Similarities already divided by the temperature.
    target : Tensor
        Relevance ``(B, L)`` (floating, ``> 0`` marks a positive) or class indices ``(B,)``.
    k : int or integer Tensor of shape (B,), default 5
    alpha : float, default 2.0
    n_iter : int, default 32
    sample_positives : bool, default False
        Draw ``min(k, n_pos)`` positives per row without replacement (probability
        proportional to relevance); the unsampled positives leave the loss and the top-k
        competition. DEXML samples whenever a row has more than k positives.
    weighted : bool, default False
        Multiply each positive's term by its relevance.
    generator : torch.Generator, optional
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([[4.0, 3.0, 0.0, -1.0, -2.0]])
    >>> soft_top_k_loss(s, torch.tensor([[1.0, 1.0, 0.0, 0.0, 0.0]]), k=2).round(decimals=4)
    tensor(0.0279)
    """
    check_params("soft_top_k_loss", TOPK_PARAMS, alpha=alpha, n_iter=n_iter,
                 sample_positives=sample_positives, weighted=weighted, generator=generator,
                 reduction=reduction)
    s, rel = scores_and_relevance(scores, target)
    if sample_positives:
        if not isinstance(k, int) or isinstance(k, bool):
            raise InputError("sample_positives=True needs an int k.")
        chosen = _selected(rel, True, k, generator)
        valid = chosen | (rel == 0)
    else:
        chosen = rel > 0
        valid = torch.ones_like(chosen)
    log_prob = F.logsigmoid(_top_k_logits(s, k, alpha, n_iter, valid))
    return reduce(_average_over_selected(log_prob, rel, chosen, weighted), reduction)


# --------------------------------------------------------------------------- Thurstone fidelity
THURSTONE_PARAMS = {"levels": anything, "fixed_pred_std": boolean, "detach_pred_std": boolean,
                    "eps": POSITIVE, "reduction": REDUCTION}


def thurstone_preference(
    mu_a: Any, mu_b: Any, std_a: Any, std_b: Any, *, eps: float = 1e-8
) -> Tensor:
    """Thurstone probability that A is preferred to B, ``Phi((mu_a - mu_b) / sqrt(std_a^2 +
    std_b^2 + eps))``: the target of :func:`thurstone_fidelity_loss`. Use raw scores and
    standard deviations of one dataset (the ratio is scale-free).

    Parameters
    ----------
    mu_a, mu_b : array-like or Tensor of shape (n,)
        Mean scores of the two items of each pair.
    std_a, std_b : array-like or Tensor of shape (n,)
        Their standard deviations.
    eps : float, default 1e-8
        Positive term added to the variance.

    Returns
    -------
    Tensor of shape (n,)

    Raises
    ------
    InputError
        When ``mu_a`` is not 1-D or another input does not have its shape.

    Examples
    --------
    >>> import torch
    >>> thurstone_preference(torch.tensor([3.0]), torch.tensor([3.0]), torch.tensor([1.0]),
    ...                      torch.tensor([0.5]))
    tensor([0.5000])
    """
    check_params("thurstone_preference", THURSTONE_PARAMS, eps=eps)
    raw = [torch.as_tensor(x) for x in (mu_a, mu_b, std_a, std_b)]
    if raw[0].ndim != 1:
        raise InputError(f"mu_a must be 1-D (one score per pair); got shape {tuple(raw[0].shape)}.")
    n, dtype, device = raw[0].shape[0], compute_dtype(*raw), raw[0].device
    ma, mb, sa, sb = (as_vector(x, name, n, dtype, device)
                      for x, name in zip(raw, ("mu_a", "mu_b", "std_a", "std_b")))
    return 0.5 * (1.0 + torch.erf((ma - mb) / torch.sqrt(2.0 * (sa * sa + sb * sb + eps))))


def _score_and_variance(pred: Tensor, levels: Tensor) -> tuple[Tensor, Tensor | None]:
    if pred.ndim == 1:
        return pred, None
    if pred.shape[1] != levels.shape[0]:
        raise InputError(
            f"level logits have {pred.shape[1]} columns but levels has {levels.shape[0]} values."
        )
    probs = F.softmax(pred, dim=1)
    score = probs @ levels
    return score, (probs * (levels - score[:, None]) ** 2).sum(dim=1)


def thurstone_fidelity_loss(
    pred_a: Tensor,
    pred_b: Tensor,
    target: Tensor,
    *,
    levels: Any = (5.0, 4.0, 3.0, 2.0, 1.0),
    fixed_pred_std: bool = True,
    detach_pred_std: bool = True,
    eps: float = 1e-8,
    reduction: str = "mean",
) -> Tensor:
    """DeQA-Score's Thurstone fidelity loss on pairs (You et al., CVPR 2025).

    The predicted score of an item is ``s = sum_x x softmax(z)_x`` over the rating levels
    (or given directly). Predicted preference: ``p = Phi((s_a - s_b) / sqrt(2))`` with
    ``fixed_pred_std`` (unit std per item; the code writes ``0.5 (1 + erf(d / 2))``),
    otherwise ``Phi(d / sqrt(var_a + var_b + eps))`` with the predicted level variances
    (detached with ``detach_pred_std``). Loss per pair:
    ``1 - sqrt(p g + eps) - sqrt((1 - p)(1 - g) + eps)``, 0 up to ``eps`` terms when p = g.

    Parameters
    ----------
    pred_a, pred_b : Tensor of shape (N, K) or (N,)
        Level logits (2-D; ``K = len(levels)``, e.g. the LLM logits of the five level tokens)
        or predicted scores (1-D; then ``fixed_pred_std`` must be True). Told apart by
        their number of dimensions.
    target : Tensor of shape (N,)
        Ground-truth preference probability ``g`` in [0, 1], e.g. from
        :func:`thurstone_preference` (or ``1[mu_a > mu_b]`` for the binary variant).
    levels : sequence of float, default (5, 4, 3, 2, 1)
        Score of each logit column, in DeQA's order excellent -> bad.
    fixed_pred_std : bool, default True
    detach_pred_std : bool, default True
    eps : float, default 1e-8
    reduction : {"mean", "sum", "none"}, default "mean"

    Examples
    --------
    >>> import torch
    >>> za, zb = torch.tensor([[2.0, 1.0, 0.0, 0.0, 0.0]]), torch.zeros(1, 5)
    >>> thurstone_fidelity_loss(za, zb, torch.tensor([0.9])).round(decimals=4)
    tensor(0.0132)
    """
    check_params("thurstone_fidelity_loss", THURSTONE_PARAMS, levels=levels,
                 fixed_pred_std=fixed_pred_std, detach_pred_std=detach_pred_std, eps=eps,
                 reduction=reduction)
    dtype = compute_dtype(pred_a, pred_b, target)
    a = as_float(pred_a, "pred_a", dtype, ndim=(1, 2))
    b = as_float(pred_b, "pred_b", dtype, ndim=(1, 2))
    check_same_shape(a, b, "pred_a", "pred_b")
    x = torch.as_tensor(levels, dtype=dtype, device=a.device)
    if x.ndim != 1 or x.shape[0] < 2 or not bool(torch.isfinite(x).all()):
        raise InputError(f"levels must be at least 2 finite numbers; got {levels!r}.")
    g = as_vector(target, "target", a.shape[0], dtype, a.device)
    if not bool(((g >= 0) & (g <= 1)).all()):  # NaN fails too
        raise InputError("target must hold preference probabilities in [0, 1].")
    score_a, var_a = _score_and_variance(a, x)
    score_b, var_b = _score_and_variance(b, x)
    diff = score_a - score_b
    if fixed_pred_std:
        p = 0.5 * (1.0 + torch.erf(diff / 2.0))
    else:
        if var_a is None or var_b is None:
            raise InputError("fixed_pred_std=False needs level logits (2-D pred_a, pred_b).")
        var = var_a + var_b + eps
        if detach_pred_std:
            var = var.detach()
        p = 0.5 * (1.0 + torch.erf(diff / torch.sqrt(2.0 * var)))
    loss = 1.0 - torch.sqrt(p * g + eps) - torch.sqrt((1.0 - p) * (1.0 - g) + eps)
    return reduce(loss, reduction)
