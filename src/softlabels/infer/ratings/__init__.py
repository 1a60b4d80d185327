"""Ratings: numeric scores (1-5 stars, 0-100 sliders, quality scores) as soft labels.

Two parts:

* **Score distributions to soft labels and back** (DeQA-Score, You et al., CVPR 2025).
  A Gaussian opinion distribution ``N(mean, std**2)`` per item becomes a distribution over
  K equally spaced rating levels that keeps the mean exactly;
  :func:`soft_labels_to_gaussian` recovers the mean and the standard deviation;
  :class:`DeQAGaussian` is the estimator form (fitted on a table ``item, mean, std``).
* **Aggregation of crowd ratings** (long format ``item, worker, rating``):
  :class:`RatingAggregator` gives per-item estimates (mean, median, or a
  reliability-weighted estimate from a Gaussian model with one noise variance per
  rater), their standard errors, per-rater variances (``reliability_frame()``), and the
  soft labels over levels.

* **Pairwise judgements** (long format ``left, right, winner``): :class:`BradleyTerry`
  and :class:`Thurstone` (Case V) give per-item scores with standard errors, soft labels
  P(score > threshold) and P(a beats b) for any pair; the functions
  :func:`bradley_terry` (Newton or Hunter's MM) and :func:`thurstone` work on a win
  matrix (:func:`win_matrix`).

One module per part: ``levels`` (the DeQA discretisation), ``deqa``, ``inverse``,
``normalize``, ``aggregator`` and ``pairwise``.
"""

from softlabels.infer.ratings.aggregator import RatingAggregator
from softlabels.infer.ratings.deqa import DeQAGaussian, gaussian_to_soft_labels
from softlabels.infer.ratings.inverse import soft_labels_to_gaussian
from softlabels.infer.ratings.levels import deqa_level_probs
from softlabels.infer.ratings.normalize import normalize_scores
from softlabels.infer.ratings.pairwise import (
    BradleyTerry,
    Thurstone,
    bradley_terry,
    is_strongly_connected,
    pairwise_std_errors,
    thurstone,
    win_matrix,
    win_rates,
)

__all__ = [
    "deqa_level_probs",
    "gaussian_to_soft_labels",
    "soft_labels_to_gaussian",
    "normalize_scores",
    "DeQAGaussian",
    "RatingAggregator",
    "BradleyTerry",
    "Thurstone",
    "bradley_terry",
    "thurstone",
    "pairwise_std_errors",
    "is_strongly_connected",
    "win_matrix",
    "win_rates",
]
