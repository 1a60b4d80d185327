"""Non-conformity scores of every class (LAC, APS, RAPS)."""

from __future__ import annotations

from typing import Any
import numpy as np

from softlabels.audit.conformal._common import _SCORES, Score, _check_u
from softlabels.audit.conformal._ranking import _all_scores, _Ranked, _scatter
from softlabels.core.errors import InvalidParameterError
from softlabels.core.validation import check_float, check_int, check_option, check_pred_probs

__all__ = ["nonconformity_scores"]


def nonconformity_scores(
    probs: Any, score: Score = "lac", *, u: Any = None, k_reg: int = 0, lam: float = 0.0
) -> np.ndarray:
    """Non-conformity score of every (item, class) pair; higher = stranger.

    With the row sorted in decreasing order (ties: lower class index first), ``o(y)``
    the 1-based rank of class ``y`` and ``rho(y)`` the probability mass ranked strictly
    above it:

    * ``"lac"``: ``1 - p_y``;
    * ``"aps"``: ``rho(y) + u * p_y``; without ``u``, ``rho(y)`` (``u = 0``); ``u = 1``
      gives the sorted mass up to and including ``y``;
    * ``"raps"``: the APS score ``+ lam * max(0, o(y) - k_reg)``.

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes) or SoftLabels
        Predicted probabilities.
    score : {"lac", "aps", "raps"}, default="lac"
    u : float or array-like of shape (n_items,), optional
        Uniform draws in [0, 1] of the randomised APS/RAPS score, one per item (the same
        for every class of the item). None: the non-randomised score (``u = 0``).
    k_reg : int, default=0
        RAPS: ranks up to ``k_reg`` carry no penalty.
    lam : float, default=0.0
        RAPS: penalty per rank beyond ``k_reg``.

    Returns
    -------
    ndarray of shape (n_items, n_classes)

    Examples
    --------
    >>> p = [[0.5, 0.3, 0.2]]
    >>> nonconformity_scores(p, "aps").round(2).tolist()
    [[0.0, 0.5, 0.8]]
    >>> nonconformity_scores(p, "aps", u=1.0).round(2).tolist()
    [[0.5, 0.8, 1.0]]
    >>> nonconformity_scores(p, "raps", u=0.5, k_reg=1, lam=0.1).round(2).tolist()
    [[0.25, 0.75, 1.1]]
    """
    owner = "nonconformity_scores"
    score = check_option(score, "score", owner, _SCORES)  # type: ignore[assignment]
    p = check_pred_probs(probs, name="probs")
    if score == "lac":
        if u is not None:
            raise InvalidParameterError("u applies to the 'aps' and 'raps' scores only.")
        return 1.0 - p
    k_reg = check_int(k_reg, "k_reg", owner, low=0)
    lam = check_float(lam, "lam", owner, low=0.0)
    if score == "aps" and lam:
        raise InvalidParameterError("lam applies to the 'raps' score only.")
    uu = None if u is None else _check_u(u, p.shape[0])
    r = _Ranked(p)
    return _scatter(r.order, _all_scores(r, uu, k_reg, lam))
