"""DeQA-Score soft labels (You et al., CVPR 2025): Gaussian opinion distributions
``N(mean, std**2)`` as distributions over rating levels that keep the mean exactly.

:func:`gaussian_to_soft_labels` is the function; :class:`DeQAGaussian` the same as an
estimator fitted on a table of per-item means and standard deviations (evidence kind
``"rating-distributions"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from softlabels.core.errors import InputError
from softlabels.core.soft import SoftLabels
from softlabels.core.validation import check_option, option, real
from softlabels.infer.base import BaseInferrer
from softlabels.infer.ratings.levels import (
    DENSITIES,
    RENORMALIZE,
    check_levels,
    deqa_labels,
    prepare_gaussians,
)

__all__ = ["DeQAGaussian", "gaussian_to_soft_labels"]


def gaussian_to_soft_labels(
    mean: Any,
    std: Any,
    *,
    levels: Sequence[float] = (1, 2, 3, 4, 5),
    density: str = "pdf",
    min_std: float = 0.2,
    max_mean_shift: float = 0.1,
    renormalize: str = "project",
    item_ids: Any = None,
    support: Any = None,
) -> SoftLabels:
    """Soft labels over rating levels from Gaussian opinion distributions (DeQA-Score).

    Parameters
    ----------
    mean, std : array-like of shape (n_items,)
        Mean and standard deviation of each item's scores, on the scale of ``levels``
        (see :func:`normalize_scores` to map a data set's scores there, as DeQA does).
    levels : sequence of float, default=(1, 2, 3, 4, 5)
        Equally spaced rating values; they become the classes, in this order.
    density : {"pdf", "cdf"}, default="pdf"
        How the Gaussian is discretised (see :func:`deqa_level_probs`).
    min_std, max_mean_shift : float, default=0.2 and 0.1
        Fallback thresholds, in level steps (the official values).
    renormalize : {"project", "divide"}, default="project"
        A soft label must sum to 1, which the official labels do not after clipping
        negative values to 0 (their sums reach about 1.07). ``"project"`` takes the
        Euclidean projection of the unclipped label ``alpha p + beta`` onto the
        distributions over the levels with the given mean, ``max(alpha p + beta + a +
        b x, 0)`` with (a, b) solving the two equations, so the total mass is 1 and
        the mean exact, and the label depends continuously on the mean and the spread;
        ``"divide"`` divides the clipped label by its sum (the mean then moves, by up
        to 0.2 level steps). Rows without clipping are the official labels either way.
    item_ids, support : array-like of shape (n_items,), optional
        Passed to :class:`~softlabels.SoftLabels`.

    Returns
    -------
    SoftLabels
        Classes are ``levels``; provenance method ``"deqa-gaussian"``.

    Notes
    -----
    You, Cai, Gu, Xue and Dong, "Teaching Large Language Models to Regress Accurate
    Image Quality Scores using Score Distribution" (CVPR 2025): ``q_x = alpha p_x +
    beta`` with ``p`` the discretised Gaussian, matching the total mass and the mean;
    below ``min_std`` (or when clipping moves the mean too far) the label interpolates
    linearly between the two levels around the mean. See :func:`deqa_level_probs`.
    The inverse is :func:`soft_labels_to_gaussian`.

    Examples
    --------
    >>> s = gaussian_to_soft_labels([3.2, 4.3, 4.9], [0.7, 0.6, 0.5])
    >>> s.probs.round(3).tolist()
    [[0.003, 0.131, 0.549, 0.297, 0.02], [0.0, 0.0, 0.05, 0.599, 0.35], [0.0, 0.0, 0.0, 0.1, 0.9]]
    >>> (s.probs @ s.classes).round(6).tolist()
    [3.2, 4.3, 4.9]
    """
    check_option(renormalize, "renormalize", "gaussian_to_soft_labels", RENORMALIZE)
    mu, sd, asc, descending = prepare_gaussians(
        mean, std, levels, density, min_std, max_mean_shift, "gaussian_to_soft_labels"
    )
    q, _ = deqa_labels(mu, sd, asc, density, min_std, max_mean_shift, renormalize)
    q /= q.sum(axis=1, keepdims=True)
    lv = check_levels(levels)
    classes = lv.astype(np.int64) if np.array_equal(lv, np.round(lv)) else lv
    params = {
        "levels": lv.tolist(),
        "density": density,
        "min_std": float(min_std),
        "max_mean_shift": float(max_mean_shift),
        "renormalize": renormalize,
    }
    return SoftLabels(
        q[:, ::-1] if descending else q,
        classes,
        item_ids,
        provenance={"method": "deqa-gaussian", "params": params},
        support=support,
    )


def _levels_param(value: Any, name: str, owner: str) -> np.ndarray:
    """Constraint of ``levels``: equally spaced rating values (at least two)."""
    return check_levels(value, f"The {name!r} parameter of {owner}")


class DeQAGaussian(BaseInferrer):
    """:func:`gaussian_to_soft_labels` as an estimator: DeQA-Score soft labels from a
    table of per-item score distributions (evidence kind ``"rating-distributions"``).

    Parameters
    ----------
    levels, density, min_std, max_mean_shift, renormalize
        As in :func:`gaussian_to_soft_labels`.

    Attributes
    ----------
    soft_labels_ : SoftLabels
        One row per item of the table, in its order; classes are ``levels``.

    Examples
    --------
    >>> table = pd.DataFrame({"item": ["a", "b"], "mean": [3.2, 4.3], "std": [0.7, 0.6]})
    >>> s = DeQAGaussian().fit(table).soft_labels_
    >>> s.item_ids.tolist(), s.probs.round(3).tolist()
    (['a', 'b'], [[0.003, 0.131, 0.549, 0.297, 0.02], [0.0, 0.0, 0.05, 0.599, 0.35]])
    """

    name: ClassVar[str] = "deqa-gaussian"
    summary: ClassVar[str] = "soft labels over rating levels from per-item mean and std (DeQA-Score)"
    evidence: ClassVar[str] = "rating-distributions"
    _parameter_constraints = {
        "levels": _levels_param,
        "density": option(*DENSITIES),
        "min_std": real(low=0.0),
        "max_mean_shift": real(low=0.0),
        "renormalize": option(*RENORMALIZE),
    }

    def __init__(
        self,
        *,
        levels: Sequence[float] = (1, 2, 3, 4, 5),
        density: str = "pdf",
        min_std: float = 0.2,
        max_mean_shift: float = 0.1,
        renormalize: str = "project",
    ) -> None:
        self.levels = levels
        self.density = density
        self.min_std = min_std
        self.max_mean_shift = max_mean_shift
        self.renormalize = renormalize

    def fit(self, distributions: pd.DataFrame, /, *, support: Any = None) -> DeQAGaussian:
        """Fit on a DataFrame with columns ``item``, ``mean`` and ``std`` (one row per
        item, on the scale of ``levels``; e.g. the output of
        :func:`soft_labels_to_gaussian`). ``support`` (one number per item, e.g. the count
        of ratings) is passed to the soft labels.

        Parameters
        ----------
        distributions : DataFrame
            Columns ``item``, ``mean`` and ``std``; anything else, or a missing column,
            raises :class:`InputError`.
        support : array-like of shape (n_items,), optional
            One number per item, kept as the soft labels' ``support``.

        Returns
        -------
        self
        """
        self._validate_params()
        if not isinstance(distributions, pd.DataFrame):
            raise InputError(
                "DeQAGaussian.fit takes a DataFrame with columns item, mean, std; got "
                f"{type(distributions).__name__}."
            )
        missing = [c for c in ("item", "mean", "std") if c not in distributions.columns]
        if missing:
            raise InputError(
                f"the score distributions have no {', '.join(map(repr, missing))} column "
                f"(columns: {list(distributions.columns)}); give item, mean and std."
            )
        soft = gaussian_to_soft_labels(
            distributions["mean"].to_numpy(),
            distributions["std"].to_numpy(),
            levels=self.levels,
            density=self.density,
            min_std=self.min_std,
            max_mean_shift=self.max_mean_shift,
            renormalize=self.renormalize,
            item_ids=distributions["item"].to_numpy(),
            support=support,
        )
        self.soft_labels_ = soft.with_provenance(method=self.name, params=self.get_params())
        return self
