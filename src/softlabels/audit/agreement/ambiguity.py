"""How ambiguous each item is: the normalised entropy of its soft label."""

from __future__ import annotations

from typing import Any

import numpy as np

from softlabels.core.validation import check_pred_probs, check_probs
from softlabels.core.soft import SoftLabels

__all__ = ["item_ambiguity"]


def item_ambiguity(soft_labels: Any, *, normalize: bool = True) -> np.ndarray:
    """Shannon entropy of each item's soft label.

    ``H_i = -sum_k p_ik log p_ik`` (``0 log 0 = 0``), divided by ``log K`` when
    ``normalize`` so that 0 is a certain label and 1 the uniform distribution.

    Parameters
    ----------
    soft_labels : SoftLabels or array of shape (n_items, n_classes)
        Probabilities (rows within ``1e-4`` of summing to 1 are renormalised).
    normalize : bool, default=True
        Divide by ``log K`` (nats otherwise). With one class the ambiguity is 0.

    Returns
    -------
    ndarray of shape (n_items,)

    Examples
    --------
    >>> item_ambiguity([[1.0, 0.0], [0.5, 0.5], [0.9, 0.1]]).round(3).tolist()
    [0.0, 1.0, 0.469]
    """
    if isinstance(soft_labels, SoftLabels):
        p = np.asarray(soft_labels.probs)
    elif np.ndim(soft_labels) == 2 and np.shape(soft_labels)[1] == 1:
        p = check_probs(soft_labels, name="soft_labels")
    else:
        p = check_pred_probs(soft_labels, name="soft_labels")
    logs = np.log(p, where=p > 0, out=np.zeros_like(p))
    h = -(p * logs).sum(axis=1)
    h = np.maximum(h, 0.0)
    k = p.shape[1]
    if normalize:
        return h / np.log(k) if k > 1 else np.zeros_like(h)
    return h
