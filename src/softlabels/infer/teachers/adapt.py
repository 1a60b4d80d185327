"""Adapting teacher soft labels with the ground truth or the teacher's own confidence:
FerKD's partial soft-hard adaptation and Soft Teacher's background weights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from softlabels.core.validation import check_float, check_int, check_labels, check_option
from softlabels.core.errors import InvalidParameterError
from softlabels.core.soft import SoftLabels
from softlabels.infer.teachers._inputs import (
    Inputs,
    check_single,
    make_soft_labels,
    tempered_probs,
)

__all__ = ["AdaptedLabels", "ferkd_adapt", "soft_teacher_weights"]


@dataclass(frozen=True)
class AdaptedLabels:
    """Result of :func:`ferkd_adapt`.

    Attributes
    ----------
    soft_labels : SoftLabels
        Every item: the teacher's soft label, or the smoothed ground truth where adapted.
    adapted : ndarray of bool, shape (n_items,)
        Items whose teacher confidence in the ground truth was below ``low``.
    keep : ndarray of bool, shape (n_items,)
        Items to train on (all, unless ``high`` drops the easiest).
    confidence : ndarray of shape (n_items,)
        The teacher's probability of each item's ground-truth class.
    """

    soft_labels: SoftLabels
    adapted: np.ndarray
    keep: np.ndarray
    confidence: np.ndarray

    def kept(self) -> SoftLabels:
        """The soft labels of the kept items only."""
        return self.soft_labels.take(self.keep)


def ferkd_adapt(
    outputs: Any,
    labels: Any,
    *,
    inputs: Inputs,
    low: float,
    smoothing: float,
    high: float | None = None,
    classes: Any = None,
    item_ids: Any = None,
) -> AdaptedLabels:
    """FerKD's partial soft-hard label adaptation (Shen, ICCV 2023).

    Rank items (crops) by the teacher's probability of their ground-truth class,
    ``c_i = p_i[y_i]``. Items the teacher is unsure of (``c_i < low``: hard positives or
    near-background crops) get the softened hard label
    ``(1 - smoothing) * onehot(y_i) + smoothing / C``; the others keep the teacher's soft
    label. With ``high``, items with ``c_i > high`` (the easiest) are marked not kept.

    FerKD's own adaptation code is not released and its thresholds and smoothing are not
    published in the abstract, so ``low`` and ``smoothing`` have no defaults.

    Parameters
    ----------
    outputs : array-like of shape (n_items, n_classes)
        One teacher's outputs (or a SoftLabels).
    labels : array-like of shape (n_items,)
        Ground-truth class indices ``0 .. C-1``.
    inputs : {"logits", "probs"}
    low : float in [0, 1]
        Confidence floor below which the ground truth replaces the teacher.
    smoothing : float in [0, 1]
        ``epsilon`` of the softened hard label.
    high : float in [low, 1], optional
        Items above it are dropped from ``keep``.
    classes, item_ids : array-like, optional
        Class names and item ids of the result (default: those of a SoftLabels
        ``outputs``, else ``0 .. C-1`` and ``0 .. n-1``).

    Returns
    -------
    AdaptedLabels

    Examples
    --------
    >>> res = ferkd_adapt([[0.7, 0.3], [0.2, 0.8]], [0, 0], inputs="probs", low=0.5,
    ...                   smoothing=0.1)
    >>> res.soft_labels.probs.round(3).tolist(), res.adapted.tolist()
    ([[0.7, 0.3], [0.95, 0.05]], [False, True])
    """
    owner = "ferkd_adapt"
    t = check_single(outputs, inputs, owner)
    p = tempered_probs(t.values[0], t.inputs, 1.0)
    n, c = p.shape
    y = check_labels(labels, c, name="labels", n_items=n)
    lo = check_float(low, "low", owner, low=0.0, high=1.0)
    eps = check_float(smoothing, "smoothing", owner, low=0.0, high=1.0)
    hi = None if high is None else check_float(high, "high", owner, low=lo, high=1.0)
    conf = p[np.arange(n), y]
    adapted = conf < lo
    out = p.copy()
    rows = np.flatnonzero(adapted)
    out[rows] = eps / c
    out[rows, y[rows]] += 1.0 - eps
    keep = np.ones(n, dtype=bool) if hi is None else ~(conf > hi)
    soft = make_soft_labels(
        out, classes=classes, item_ids=item_ids, teachers=t, method="ferkd",
        params={"inputs": inputs, "low": low, "smoothing": smoothing, "high": high},
    )
    return AdaptedLabels(soft, adapted, keep, conf)


def soft_teacher_weights(
    outputs: Any,
    assigned: Any,
    *,
    inputs: Inputs,
    background: int,
    normalize: Literal["joint", "paper", "none"] = "joint",
) -> np.ndarray:
    """Soft Teacher's per-item loss weights (Xu et al., ICCV 2021).

    Items the student assigns to the background class count with the teacher's probability
    that they are background, ``r_j = p_j[background]``; the others count 1. The
    student's classification loss is then ``sum_i w_i CE_i``.

    ``normalize``:

    * ``"joint"`` (official code): ``w_i / max(N_fg + sum_bg r_j, 1)``;
    * ``"paper"``: foreground ``1 / N_fg`` and background ``r_j / sum_bg r_k``, i.e. the mean
      foreground loss plus the r-weighted mean background loss;
    * ``"none"``: the raw ``1`` and ``r_j``.

    Parameters
    ----------
    outputs : array-like of shape (n_items, n_classes)
        The teacher's outputs on the student's items, background column included.
    assigned : array-like of shape (n_items,)
        The class index each item is assigned to (``background`` for background).
    inputs : {"logits", "probs"}
    background : int
        Column of the background class (negative values count from the end).
    normalize : {"joint", "paper", "none"}, default "joint"

    Returns
    -------
    ndarray of shape (n_items,)

    Examples
    --------
    >>> p = [[0.1, 0.9], [0.6, 0.4], [0.2, 0.8]]        # columns: object, background
    >>> soft_teacher_weights(p, [0, 1, 1], inputs="probs", background=1,
    ...                      normalize="none").tolist()
    [1.0, 0.4, 0.8]
    >>> soft_teacher_weights(p, [0, 1, 1], inputs="probs", background=1).round(4).tolist()
    [0.4545, 0.1818, 0.3636]
    """
    owner = "soft_teacher_weights"
    t = check_single(outputs, inputs, owner)
    p = tempered_probs(t.values[0], t.inputs, 1.0)
    n, c = p.shape
    bg = check_int(background, "background", owner)
    if not -c <= bg < c:
        raise InvalidParameterError(
            f"The 'background' parameter of {owner} must be a column index in [{-c}, {c}); "
            f"got {bg}."
        )
    bg %= c
    mode = check_option(normalize, "normalize", owner, ("joint", "paper", "none"))
    a = check_labels(assigned, c, name="assigned", n_items=n)
    is_bg = a == bg
    w = np.where(is_bg, p[:, bg], 1.0)
    if mode == "joint":
        return w / max(float(w.sum()), 1.0)
    if mode == "paper":
        n_fg = int((~is_bg).sum())
        r_sum = float(w[is_bg].sum())
        out = np.zeros(n)
        if n_fg:
            out[~is_bg] = 1.0 / n_fg
        if r_sum > 0:
            out[is_bg] = w[is_bg] / r_sum
        return out
    return w
