"""The finite-sample conformal quantile of calibration scores."""

from __future__ import annotations

from typing import Any
import numpy as np

from softlabels.audit.conformal._common import _check_level, _check_scores, _kth_smallest

__all__ = ["conformal_quantile"]


def conformal_quantile(scores: Any, alpha: float) -> float:
    """The split-conformal threshold: the ``ceil((n + 1)(1 - alpha))``-th smallest score.

    With ``n`` calibration scores and ``k = ceil((n + 1)(1 - alpha))``, the threshold is
    the ``k``-th smallest score when ``k <= n`` and ``+inf`` otherwise (then every label
    enters every set). A new exchangeable score is at most this value with probability
    at least ``1 - alpha``, and, without ties, at most ``1 - alpha + 1 / (n + 1)``.
    When ``k <= n`` this equals ``np.quantile(scores, k / n, method="lower")``, as
    MAPIE computes it (``method="inverted_cdf"`` agrees in exact arithmetic but takes the
    next score up wherever the float ``k / n`` rounds up, e.g. ``n = 29``, ``k = 15``);
    ``np.quantile(scores, 1 - alpha)`` is smaller and under-covers for small ``n``.

    ``alpha`` is read as the decimal number it prints as, so that ``(n + 1)(1 - alpha)``
    is exact: with ``n = 19`` and ``alpha = 0.05``, ``k`` is 19, not 20.

    Parameters
    ----------
    scores : array-like of shape (n,)
        Calibration non-conformity scores (higher = stranger); ``+inf`` is allowed,
        NaN is not. An empty array gives ``+inf``.
    alpha : float in (0, 1)
        Miscoverage level.

    Returns
    -------
    float

    Raises
    ------
    InputError
        ``scores`` not 1-D or containing NaN.
    InvalidParameterError
        ``alpha`` outside ``(0, 1)``.

    References
    ----------
    Vovk, Gammerman and Shafer, *Algorithmic Learning in a Random World*, 2005;
    Lei, G'Sell, Rinaldo, Tibshirani and Wasserman, "Distribution-free predictive
    inference for regression", JASA 2018.

    Examples
    --------
    >>> conformal_quantile([0.3, 0.1, 0.4, 0.2], alpha=0.4)   # k = ceil(5 * 0.6) = 3
    0.3
    >>> conformal_quantile([0.3, 0.1, 0.4, 0.2], alpha=0.1)   # k = 5 > 4
    inf
    """
    a = _check_level(alpha, "alpha", "conformal_quantile")
    return _kth_smallest(_check_scores(scores), a)
