"""Shared pieces of the loss functions: parameter constraints, input checks, targets, reduction.

Conventions used by every loss in :mod:`softlabels.train.nn`:

* Inputs are logits (or scores), never probabilities. Targets are told apart by dtype only:
  an integer tensor of shape ``(N,)`` holds class indices, a floating tensor of shape
  ``(N, C)`` holds probabilities (or relevance weights). Values are never inspected to guess,
  but they are checked: probability rows must be finite, non-negative and sum to 1 (within
  :data:`PROB_SUM_ATOL` plus the rounding of the target's dtype).
* Computation runs in ``float32`` at least: ``float16`` / ``bfloat16`` inputs are upcast, and
  the loss comes back in ``float32``; ``float64`` inputs give a ``float64`` loss.
* Targets, teacher logits and other supervision tensors are detached inside.
* ``reduction="none"`` returns one value per sample (per bag for DLLP), ``"sum"`` their sum and
  ``"mean"`` their average. The mean of an empty batch is ``0`` (still connected to the
  inputs' graph), never NaN.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor

from softlabels.core.validation import (
    anything,
    boolean,
    check_params,
    integer,
    option,
    real,
)
from softlabels.core.errors import InputError, InvalidParameterError

Reduction = Literal["none", "mean", "sum"]
REDUCTIONS = ("none", "mean", "sum")

POSITIVE = real(0.0, low_open=True)
NON_NEGATIVE = real(0.0)
UNIT = real(0.0, 1.0)
REDUCTION = option(*REDUCTIONS)
positive_int = integer(low=1)

#: Slack on the row sums of probability targets, on top of the rounding of their dtype:
#: loose enough for targets once stored in bfloat16 and cast back, or averaged in TF32,
#: tight enough to catch counts, percentages, multi-hot rows and empty rows.
PROB_SUM_ATOL = 1e-2


# --------------------------------------------------------------------------- tensors
def compute_dtype(*tensors: Tensor | None) -> torch.dtype:
    """float32, or float64 if any floating input is float64.

    Parameters
    ----------
    *tensors : Tensor or None
        The inputs; None and non-floating tensors are ignored.

    Returns
    -------
    torch.dtype
    """
    dtype = torch.float32
    for t in tensors:
        if isinstance(t, Tensor) and t.is_floating_point():
            dtype = torch.promote_types(dtype, t.dtype)
    return dtype


def as_float(x: Any, name: str, dtype: torch.dtype, *, ndim: int | tuple[int, ...]) -> Tensor:
    """Check a floating tensor of the given rank and cast it to ``dtype``.

    Parameters
    ----------
    x : Tensor
        The tensor to check.
    name : str
        Name of the argument, used in the error messages.
    dtype : torch.dtype
        The dtype returned.
    ndim : int or tuple of int
        The allowed ranks.

    Returns
    -------
    Tensor

    Raises
    ------
    InputError
        When ``x`` is not a tensor, not floating, or of another rank.
    """
    if not isinstance(x, Tensor):
        raise InputError(f"{name} must be a torch.Tensor; got {type(x).__name__}.")
    if not x.is_floating_point():
        raise InputError(
            f"{name} must be a floating tensor (logits or scores); got dtype {x.dtype}."
        )
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if x.ndim not in dims:
        want = " or ".join(f"{d}-D" for d in dims)
        raise InputError(f"{name} must be {want}; got shape {tuple(x.shape)}.")
    return x.to(dtype)


def check_same_shape(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise InputError(
            f"{name_b} must have the shape of {name_a} {tuple(a.shape)}; got {tuple(b.shape)}."
        )


def _check_indices(target: Tensor, n: int, c: int, name: str) -> Tensor:
    if target.shape != (n,):
        raise InputError(
            f"{name} holds class indices (integer dtype), so it must have shape ({n},); "
            f"got {tuple(target.shape)}."
        )
    if n and (int(target.min()) < 0 or int(target.max()) >= c):
        bad = int(torch.nonzero((target < 0) | (target >= c))[0, 0])
        raise InputError(
            f"{name}[{bad}] = {int(target[bad])} is not a class index in [0, {c})."
        )
    return target.long()


def _target_kind(target: Any, name: str) -> str:
    if not isinstance(target, Tensor):
        raise InputError(f"{name} must be a torch.Tensor; got {type(target).__name__}.")
    if target.dtype == torch.bool or target.is_complex():
        raise InputError(
            f"{name} has dtype {target.dtype}: pass class indices as an integer (int64) tensor "
            "or probabilities as a floating tensor."
        )
    return "prob" if target.is_floating_point() else "index"


def check_distributions(q: Tensor, name: str, stored: torch.dtype) -> None:
    """Raise unless every row of ``q`` is finite, non-negative and sums to 1, within
    :data:`PROB_SUM_ATOL` plus the rounding of ``stored`` (the target's own dtype).

    Parameters
    ----------
    q : Tensor of shape (n, c)
        The rows to check.
    name : str
        Name of the argument, used in the error messages.
    stored : torch.dtype
        The floating dtype the rows were given in.

    Raises
    ------
    InputError
        Naming the first row that is not finite, has a negative value or does not sum
        to 1.
    """
    if q.numel() == 0:
        return
    tol = PROB_SUM_ATOL + torch.finfo(stored).eps
    sums = q.sum(dim=1)
    bad = ~((sums - 1.0).abs() <= tol) | (q < -tol).any(dim=1)  # NaN rows fail the first test
    if not bool(bad.any()):
        return
    r = int(torch.nonzero(bad)[0, 0])
    row = q[r]
    if not bool(torch.isfinite(row).all()):
        what = "has a non-finite value"
    elif bool((row < -tol).any()):
        what = f"has a negative value ({float(row.min()):.6g})"
    else:
        what = f"sums to {float(sums[r]):.6g}"
    raise InputError(
        f"{name} holds probabilities (floating dtype), so its rows must be non-negative and "
        f"sum to 1; row {r} {what}."
    )


def class_probs(target: Any, n: int, c: int, name: str, dtype: torch.dtype, *,
                distribution: bool = True) -> Tensor:
    """Dense detached ``(n, c)`` targets: one-hot rows for indices, the values for floats
    (checked to be probability rows unless ``distribution`` is False: relevance weights,
    multi-hot signs).

    Parameters
    ----------
    target : Tensor
        Integer class indices of shape ``(n,)`` or floating rows of shape ``(n, c)``.
    n : int
        Number of rows (samples).
    c : int
        Number of classes.
    name : str
        Name of the argument, used in the error messages.
    dtype : torch.dtype
        The floating dtype returned.
    distribution : bool, default True
        Check that floating rows are probability distributions.

    Returns
    -------
    Tensor of shape (n, c)

    Raises
    ------
    InputError
        When ``target`` is not a tensor, is boolean or complex, has the wrong shape, holds
        an index outside ``[0, c)`` or, with ``distribution``, a row that is not a
        distribution.
    """
    if _target_kind(target, name) == "index":
        idx = _check_indices(target, n, c, name)
        out = torch.zeros(n, c, dtype=dtype, device=target.device)
        return out.scatter_(1, idx[:, None], 1.0)
    if target.shape != (n, c):
        raise InputError(
            f"{name} holds probabilities (floating dtype), so it must have shape ({n}, {c}); "
            f"got {tuple(target.shape)}. Class indices must be an integer tensor."
        )
    q = target.detach().to(dtype)
    if distribution:
        check_distributions(q, name, target.dtype)
    return q


def class_index(target: Any, n: int, c: int, name: str) -> Tensor:
    """``(n,)`` int64 class indices; probability rows are reduced to their argmax.

    Parameters
    ----------
    target : Tensor
        Integer class indices of shape ``(n,)`` or floating rows of shape ``(n, c)``.
    n : int
        Number of rows (samples).
    c : int
        Number of classes.
    name : str
        Name of the argument, used in the error messages.

    Returns
    -------
    Tensor of shape (n,)

    Raises
    ------
    InputError
        When ``target`` is not a tensor, is boolean or complex, has the wrong shape, or
        holds an index outside ``[0, c)``.
    """
    if _target_kind(target, name) == "index":
        return _check_indices(target, n, c, name)
    if target.shape != (n, c):
        raise InputError(
            f"{name} holds probabilities (floating dtype), so it must have shape ({n}, {c}); "
            f"got {tuple(target.shape)}."
        )
    return target.detach().argmax(dim=1)


def as_vector(x: Any, name: str, n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """A detached ``(n,)`` floating tensor (tensor, array or sequence accepted).

    Parameters
    ----------
    x : array-like or Tensor
        The values.
    name : str
        Name of the argument, used in the error messages.
    n : int
        Number of values wanted.
    dtype : torch.dtype
        The dtype returned.
    device : torch.device
        The device returned.

    Returns
    -------
    Tensor of shape (n,)

    Raises
    ------
    InputError
        When ``x`` is boolean or complex, or not of shape ``(n,)``.
    """
    t = torch.as_tensor(x, device=device)
    if t.dtype == torch.bool or t.is_complex():
        raise InputError(f"{name} must be numeric; got dtype {t.dtype}.")
    if t.shape != (n,):
        raise InputError(f"{name} must have shape ({n},); got {tuple(t.shape)}.")
    return t.detach().to(dtype)


def as_matrix(x: Any, name: str, shape: tuple[int, int], dtype: torch.dtype,
              device: torch.device) -> Tensor:
    t = torch.as_tensor(x, device=device)
    if t.dtype == torch.bool or t.is_complex():
        raise InputError(f"{name} must be numeric; got dtype {t.dtype}.")
    if tuple(t.shape) != shape:
        raise InputError(f"{name} must have shape {shape}; got {tuple(t.shape)}.")
    t = t.detach().to(dtype)
    if not bool(torch.isfinite(t).all()):
        raise InputError(f"{name} contains non-finite values.")
    return t


def one_hot_mask(index: Tensor, c: int) -> Tensor:
    """Boolean ``(n, c)`` mask with True at ``index``.

    Parameters
    ----------
    index : Tensor of shape (n,)
        Integer class index of each row.
    c : int
        Number of columns.

    Returns
    -------
    Tensor of bool, shape (n, c)
    """
    mask = torch.zeros(index.shape[0], c, dtype=torch.bool, device=index.device)
    return mask.scatter_(1, index[:, None], True)


def drop_columns(x: Tensor, mask: Tensor, dropped: int = 1) -> Tensor:
    """The entries of ``x`` where ``mask`` is False, as ``(n, c - dropped)``; ``mask`` must
    hold exactly ``dropped`` True values per row.

    Parameters
    ----------
    x : Tensor of shape (n, c)
        The values.
    mask : Tensor of bool, shape (n, c)
        The entries to drop.
    dropped : int, default 1
        Number of True values in each row of ``mask``.

    Returns
    -------
    Tensor of shape (n, c - dropped)
    """
    n, c = x.shape
    return x[~mask].reshape(n, c - dropped)


def reduce(loss: Tensor, reduction: str) -> Tensor:
    """Apply a reduction over the first axis; the mean of an empty batch is 0.

    Parameters
    ----------
    loss : Tensor
        Per-sample losses.
    reduction : str
        ``"none"`` (``loss`` as it is), ``"sum"``, or anything else for the mean.

    Returns
    -------
    Tensor
    """
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    return total / max(loss.shape[0], 1)
