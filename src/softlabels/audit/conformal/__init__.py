"""Conformal prediction: sets of classes (multi-class) and sets of label-sets (multi-label)
that contain the true answer with a guaranteed probability.

Split conformal prediction needs a classifier that was *not* fitted on a held-out
calibration set, its predicted probabilities on that set and the true labels there.
Calibration turns the probabilities of the true labels into non-conformity scores
(higher = stranger) and takes their finite-sample quantile :math:`\\hat q`
(:func:`conformal_quantile`); a new item's set holds every label whose score is at most
:math:`\\hat q`. When calibration and test items are exchangeable,
``P(y in set) >= 1 - alpha`` for any model, marginally over items and calibration sets
(Vovk, Gammerman and Shafer 2005; Lei et al. 2018).

Scores (:func:`nonconformity_scores`; ``pi_(1) >= pi_(2) >= ...`` is the row sorted in
decreasing order, ties broken towards the lower class index, ``o(y)`` the 1-based rank of
``y``, ``rho(y) = sum_{j < o(y)} pi_(j)`` the mass ranked strictly above ``y``):

* ``"lac"`` (Sadinle, Lei and Wasserman 2019): ``1 - p_y``.
* ``"aps"`` (Romano, Sesia and Candès 2020): randomised ``rho(y) + u * p_y`` with
  ``u ~ Uniform(0, 1)``; it runs from the mass strictly above ``y`` (``u = 0``, the
  non-randomised score) to the mass up to and including ``y`` (``u = 1``).
* ``"raps"`` (Angelopoulos, Bates, Malik and Jordan 2021): the APS score plus
  ``lam * max(0, o(y) - k_reg)``; unless given, ``k_reg`` and ``lam`` are chosen on
  30% of the calibration items, held out, as in the authors' code, by the mean set
  size (for randomised sets, the expected rather than one sampled size), and the
  threshold comes from the rest.

:class:`LabelPowersetICP` is the inductive conformal predictor over label-sets for
multi-label data (Maltoudoglou et al. 2022), with an exact pruned enumeration of the
label-sets whose p-value exceeds the significance level.

One method per module: :mod:`.quantile` (the conformal quantile), :mod:`.scores`
(non-conformity scores), :mod:`.split` (split conformal), :mod:`.label_powerset`
(LP-ICP) and :mod:`.sets` (coverage, set sizes, label-set regions).
"""

from __future__ import annotations

from softlabels.audit.conformal._common import Norm, Score
from softlabels.audit.conformal.label_powerset import LabelPowersetICP
from softlabels.audit.conformal.quantile import conformal_quantile
from softlabels.audit.conformal.scores import nonconformity_scores
from softlabels.audit.conformal.sets import LabelSetRegions, coverage, mean_set_size
from softlabels.audit.conformal.split import (
    RAPS_LAMBDA_GRID,
    RAPS_MAX_K_TRIED,
    RAPS_TUNE_FRACTION,
    SplitConformalClassifier,
)

__all__ = [
    "conformal_quantile",
    "nonconformity_scores",
    "SplitConformalClassifier",
    "LabelPowersetICP",
    "LabelSetRegions",
    "coverage",
    "mean_set_size",
    "RAPS_LAMBDA_GRID",
    "RAPS_TUNE_FRACTION",
    "RAPS_MAX_K_TRIED",
    "Score",
    "Norm",
]
