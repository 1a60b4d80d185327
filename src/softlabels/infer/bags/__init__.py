"""Bags: instance-level labels from group-level supervision.

Training items come in *bags*; only each bag's label proportions (learning from label
proportions, LLP) or one score per bag (multiple-instance regression) are known.

* The evidence is validated once (:mod:`~softlabels.infer.bags.evidence`):
  :func:`as_bag_proportions` (a bag id per item and a table of per-bag proportions or
  integer counts) gives the :class:`BagProportions` that DLLP, LLP-BP and
  :class:`ProportionProjection` fit on; :func:`as_bag_scores` the :class:`BagScores` of
  :class:`MILRegressor`. Every estimator is fitted as ``fit(bags, X=X)``.
* **DLLP** (Ardehaly & Culotta 2017): :func:`dllp_loss` (the bag-level proportion loss
  of a model's instance predictions), :func:`proportion_pseudo_labels` (the instance soft
  labels those predictions imply once each bag must match its proportions, also as the
  estimator :class:`ProportionProjection`) and the fitted
  :class:`DLLP` (a built-in numpy network trained on the loss).
* **LLP-BP** (Havaldar et al., ICLR 2024), binary: :func:`knn_graph` (the covariate
  similarity graph), :func:`bp_pseudo_labels` (belief propagation on the Gibbs
  distribution that ties similar instances together and each bag to its count) and
  :class:`LLPBP`, the full pipeline that trains a learner on the pseudo-labels, refines
  the graph on the learner's embedding and repeats.
* **Set-level labels** (FACILE, Zhang et al., ICLR 2024): :func:`as_set_labels` (one
  coarse class per set) gives the :class:`SetLabels` that :class:`SetClassifier` fits on:
  an instance encoder, mean pooling and a linear head trained on the sets' labels
  (:func:`set_label_loss`); its ``transform`` gives the learned instance embeddings.
* **Multiple-instance regression** (WeakSTIL, Schirris et al. 2022):
  :class:`MILRegressor` learns instance scores whose bag mean matches each bag's score.

The learners inside :class:`DLLP` and :class:`MILRegressor` must be trained through a
bag-level loss, so they are a small built-in numpy network (a linear model with
``hidden_layer_sizes=()``), fitted full-batch by L-BFGS. :class:`LLPBP`'s second stage is
plain supervised learning on pseudo-labels, so it also accepts any scikit-learn style
classifier (``estimator=``); nothing here imports scikit-learn or torch. For training a
torch model on bags use :func:`softlabels.train.nn.functional.dllp_loss`.
"""

from softlabels.infer.bags.belief_propagation import ConvergenceWarning, bp_pseudo_labels
from softlabels.infer.bags.dllp import DLLP, dllp_loss
from softlabels.infer.bags.evidence import (
    PROPORTION_ATOL,
    BagProportions,
    BagScores,
    SetLabels,
    as_bag_proportions,
    as_bag_scores,
    as_set_labels,
)
from softlabels.infer.bags.llp_bp import LLPBP, knn_graph
from softlabels.infer.bags.mil import MILRegressor
from softlabels.infer.bags.proportions import ProportionProjection, proportion_pseudo_labels
from softlabels.infer.bags.sets import SetClassifier, set_label_loss

__all__ = [
    "BagProportions",
    "BagScores",
    "as_bag_proportions",
    "as_bag_scores",
    "dllp_loss",
    "proportion_pseudo_labels",
    "ProportionProjection",
    "DLLP",
    "knn_graph",
    "bp_pseudo_labels",
    "LLPBP",
    "MILRegressor",
    "SetLabels",
    "as_set_labels",
    "set_label_loss",
    "SetClassifier",
    "ConvergenceWarning",
    "PROPORTION_ATOL",
]
