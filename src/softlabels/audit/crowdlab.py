"""CROWDLAB weighting, shared by :mod:`.multiannotator` and :mod:`.issues`.

CROWDLAB (Goh, Mueller and Northcutt 2022, arXiv 2210.06812) weighs each source of labels
(a worker, the crowd, a model) by how much better it does than always answering the
most frequent class: ``w = 1 - error / baseline_error``, clipped below at
:data:`MIN_WEIGHT` so that no source is dropped or counted negatively. The baseline
error is floored at :data:`MIN_BASELINE_ERROR` (one class only: no division by zero),
and the probability that an answer puts on its own label ("trust") is kept within
``[1/K, 1 - MAX_TRUST_GAP]`` so that its logarithm and that of the rest stay finite.

>>> import numpy as np
>>> base = baseline_error(np.array([0, 0, 0, 1]), 2)   # majority class: 3 of 4
>>> base
0.25
>>> source_weight(0.05, base), source_weight(0.5, base)   # good source, worse than baseline
(0.8, 0.001)
>>> clip_trust(0.2, 3), clip_trust(1.0, 3)
(0.3333333333333333, 0.999999)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from softlabels.core.errors import InputError

__all__ = [
    "MAX_TRUST_GAP",
    "MIN_BASELINE_ERROR",
    "MIN_WEIGHT",
    "baseline_error",
    "class_columns",
    "clip_trust",
    "source_weight",
]

#: Lower bound of every source's weight (cleanlab's CROWDLAB clips its weights at 1e-6).
MIN_WEIGHT = 1e-3
#: Lower bound of the baseline error (a data set of one class has none).
MIN_BASELINE_ERROR = 1e-6
#: Trust is at most ``1 - MAX_TRUST_GAP``.
MAX_TRUST_GAP = 1e-6


def baseline_error(labels: np.ndarray, n_classes: int) -> float:
    """Error of always answering the most frequent of ``labels`` (class codes),
    floored at :data:`MIN_BASELINE_ERROR`.

    Parameters
    ----------
    labels : numpy.ndarray
        Non-negative integer class codes, one per answer (not empty).
    n_classes : int
        Number of classes (the length of the class counts).

    Returns
    -------
    float
        ``1 - count of the most frequent class / labels.size``, at least
        :data:`MIN_BASELINE_ERROR`.
    """
    counts = np.bincount(labels, minlength=n_classes)
    return max(1.0 - float(counts.max() / labels.size), MIN_BASELINE_ERROR)


def source_weight(error: Any, baseline: float) -> Any:
    """``max(1 - error / baseline, MIN_WEIGHT)``: a float for a float ``error``, an
    array (one weight per source) for an array.

    Parameters
    ----------
    error : float or array-like
        Error rate of one source, or of each source.
    baseline : float
        Error of the majority-class baseline (:func:`baseline_error`), positive.

    Returns
    -------
    float or numpy.ndarray
        The weight, or one weight per source, each at least :data:`MIN_WEIGHT`.
    """
    if np.ndim(error) == 0:
        return max(1.0 - float(error) / baseline, MIN_WEIGHT)
    return np.maximum(1.0 - np.asarray(error) / baseline, MIN_WEIGHT)


def clip_trust(trust: float, n_classes: int) -> float:
    """``trust`` within ``[1 / n_classes, 1 - MAX_TRUST_GAP]``.

    Parameters
    ----------
    trust : float
        Probability that a source's answer puts on its own label.
    n_classes : int
        Number of classes; ``1 / n_classes`` is the lower bound.

    Returns
    -------
    float
        ``trust`` clipped to ``[1 / n_classes, 1 - MAX_TRUST_GAP]``.
    """
    return min(max(trust, 1.0 / n_classes), 1.0 - MAX_TRUST_GAP)


def class_columns(given: Any, wanted: Any, name: str) -> np.ndarray:
    """Column of each class of ``wanted`` among the class names ``given`` of the source
    ``name`` (a SoftLabels of model or crowd probabilities), matched by value, then by
    text; an :class:`InputError` when the two lists hold different classes.

    Parameters
    ----------
    given : array-like
        Class names of the source, in its column order.
    wanted : array-like
        Class names in the order wanted.
    name : str
        Name of the source, used in the error message.

    Returns
    -------
    numpy.ndarray
        Integer column of ``given`` for each class of ``wanted``.

    Raises
    ------
    InputError
        When ``given`` and ``wanted`` do not hold the same classes.

    >>> class_columns(["y", "x"], ["x", "y"], "pred_probs").tolist()
    [1, 0]
    """
    names = pd.Index(np.asarray(given))
    want = np.asarray(wanted)
    cols = names.get_indexer(want)
    if (cols < 0).any():
        cols = pd.Index([str(c) for c in names]).get_indexer([str(c) for c in want])
    if (cols < 0).any() or names.size != want.size:
        raise InputError(f"{name} has classes {names.tolist()} but expected {want.tolist()}.")
    return cols
