"""TESLA's soft-label assignment: label distilled (synthetic) images with an expert model.

Dataset distillation with hard labels converges poorly when there are many classes and few
images per class. TESLA (Cui, Wang, Si and Hsieh, ICML 2023) labels each synthetic image
with the softmax of an expert (teacher) model evaluated on it, in chunks and without
gradient, and trains the student's inner loop on those probabilities; the labels are
recomputed whenever the images or the expert checkpoint change, never stored.
:func:`tesla_soft_labels` does that for any model callable; the labels can also be learned
further from that start with :class:`softlabels.train.nn.LearnableSoftLabels`.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from softlabels.core.errors import InputError
from softlabels.core.soft import SoftLabels
from softlabels.core.validation import check_float, check_int
from softlabels.infer.teachers._inputs import make_soft_labels, tempered_probs

__all__ = ["tesla_soft_labels"]

_OWNER = "tesla_soft_labels"


def _is_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")  # a tensor can only exist once torch is imported
    return torch is not None and isinstance(x, torch.Tensor)


def _as_numpy(out: Any, rows: int, what: str) -> np.ndarray:
    if _is_tensor(out):
        out = out.detach().to("cpu").double().numpy()
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            f"the teacher must return logits, an array (n, n_classes); on {what} it returned "
            f"{type(out).__name__}."
        ) from None
    if arr.ndim != 2 or arr.shape[0] != rows or arr.shape[1] < 2:
        raise InputError(
            f"the teacher must return logits of shape ({rows}, n_classes >= 2) on {what}; got "
            f"shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise InputError(f"the teacher returned non-finite logits on {what}.")
    return arr


def tesla_soft_labels(
    teacher: Callable[[Any], Any],
    images: Any,
    *,
    temperature: float = 1.0,
    chunk: int = 50,
    classes: Any = None,
    item_ids: Any = None,
) -> SoftLabels:
    """TESLA's soft-label assignment (SLA): ``Y_syn = softmax(f(X_syn; theta) / T)``.

    The teacher (TESLA: the expert at the *target* checkpoint ``theta*_{t+M}`` of the
    trajectory segment being matched) is run on the distilled images in chunks of
    ``chunk`` without gradient, and its logits turned into probabilities. Call it again
    whenever the images or the checkpoint change: TESLA recomputes the labels at every
    distillation iteration.

    Parameters
    ----------
    teacher : callable
        Maps a chunk of ``images`` (rows ``i:i+chunk``, the same type as ``images``) to
        logits of shape ``(len(chunk), n_classes)``: a numpy array or a torch tensor (a
        torch module is called under ``torch.no_grad()``; put it in eval mode first).
    images : array or torch.Tensor, first axis the items
        The distilled images.
    temperature : float > 0, default 1.0
        ``T``; TESLA uses 1 (its code calls a plain softmax).
    chunk : int >= 1, default 50
        Images per teacher call (TESLA: 50).
    classes, item_ids : array-like, optional
        Class names and item ids of the result (default ``0 .. C-1`` and ``0 .. n-1``).

    Returns
    -------
    SoftLabels
        ``provenance["method"] == "tesla-soft-labels"``.

    Raises
    ------
    InputError
        No images, or a teacher output that is not finite logits of the right shape.
    InvalidParameterError
        ``temperature`` or ``chunk`` out of range.

    References
    ----------
    J. Cui, R. Wang, S. Si and C.-J. Hsieh, "Scaling Up Dataset Distillation to
    ImageNet-1K with Constant Memory", ICML 2023 (official code ``justincui03/tesla``,
    ``distill.py``, ``--teacher_label``).

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([[2.0, 0.0], [0.0, 2.0]])
    >>> tesla_soft_labels(lambda x: x @ w, np.array([[1.0, 0.0], [0.5, 0.5]]),
    ...                   chunk=1).probs.round(3).tolist()
    [[0.881, 0.119], [0.5, 0.5]]
    """
    if not callable(teacher):
        raise InputError(f"teacher must be a callable that returns logits; got "
                         f"{type(teacher).__name__}.")
    temp = check_float(temperature, "temperature", _OWNER, low=0.0, low_open=True)
    chunk = check_int(chunk, "chunk", _OWNER, low=1)
    tensor = _is_tensor(images)
    if not tensor:
        images = np.asarray(images)
    n = int(images.shape[0]) if getattr(images, "ndim", 0) >= 1 else 0
    if n == 0:
        raise InputError(f"images must hold at least one item along the first axis; got "
                         f"shape {tuple(getattr(images, 'shape', ()))}.")
    parts = []
    with sys.modules["torch"].no_grad() if tensor else contextlib.nullcontext():
        for i in range(0, n, chunk):
            parts.append(_as_numpy(teacher(images[i:i + chunk]), min(chunk, n - i),
                                   f"images[{i}:{i + chunk}]"))
    widths = {p.shape[1] for p in parts}
    if len(widths) > 1:
        raise InputError(f"the teacher returned different numbers of classes per chunk: "
                         f"{sorted(widths)}.")
    logits = np.concatenate(parts)
    probs = tempered_probs(logits, "logits", temp)
    return make_soft_labels(probs, classes=classes, item_ids=item_ids, teachers=None,
                            method="tesla-soft-labels",
                            params={"temperature": temp, "chunk": chunk})
