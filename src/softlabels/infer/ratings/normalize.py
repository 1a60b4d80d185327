"""Rescaling scores onto the span of the rating levels, as DeQA-Score does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from softlabels.core.errors import InvalidParameterError
from softlabels.core.validation import check_float
from softlabels.infer.ratings.levels import as_vector, check_levels

__all__ = ["normalize_scores"]


def normalize_scores(
    mean: Any,
    std: Any = None,
    *,
    low: float | None = None,
    high: float | None = None,
    levels: Sequence[float] = (1, 2, 3, 4, 5),
) -> tuple[np.ndarray, np.ndarray | None]:
    """Map scores linearly from ``[low, high]`` onto the span of ``levels`` (DeQA).

    ``mean' = lo + (hi - lo) (mean - low) / (high - low)`` and
    ``std' = (hi - lo) std / (high - low)``, with ``lo, hi`` the smallest and largest
    level. ``low`` and ``high`` default to the smallest and largest mean (DeQA-Score
    normalises each data set's MOS this way).

    Parameters
    ----------
    mean : array-like of shape (n_items,)
        The scores (e.g. mean opinion scores).
    std : array-like of shape (n_items,), optional
        Their standard deviations, rescaled by the same factor.
    low, high : float, optional
        The ends of the scores' scale; ``high`` must exceed ``low`` (otherwise
        :class:`InvalidParameterError`).
    levels : sequence of float, default=(1, 2, 3, 4, 5)
        The rating levels, equally spaced; only the smallest and largest matter here.

    Returns
    -------
    mean : ndarray of shape (n_items,)
    std : ndarray of shape (n_items,) or None
        None without ``std``.

    Examples
    --------
    >>> m, s = normalize_scores([10, 55, 100], [9, 18, 0])
    >>> m.tolist(), s.tolist()
    ([1.0, 3.0, 5.0], [0.4, 0.8, 0.0])
    """
    mu = as_vector(mean, "mean")
    lv = check_levels(levels)
    lo, hi = float(lv.min()), float(lv.max())
    a = float(mu.min()) if low is None else check_float(low, "low", "normalize_scores")
    b = float(mu.max()) if high is None else check_float(high, "high", "normalize_scores")
    if not b > a:
        raise InvalidParameterError(
            f"normalize_scores needs high > low; got low={a:g}, high={b:g}."
        )
    scale = (hi - lo) / (b - a)
    out_mu = lo + (mu - a) * scale
    if std is None:
        return out_mu, None
    sd = as_vector(std, "std", n=mu.shape[0])
    return out_mu, sd * scale
