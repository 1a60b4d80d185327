"""Soft labels from teacher models, and which items to send to a teacher or an annotator.

Teacher outputs are numpy arrays of logits or probabilities; every function says which
with an explicit ``inputs="logits" | "probs"`` (it is never guessed from the values).

Soft labels from teachers
    :func:`teacher_soft_labels` (temperature; probability or logit pooling),
    :func:`committee_soft_labels` and :func:`prior_weights` (CV-DD),
    :func:`meal_v2_soft_labels` (MEAL V2); as estimators :class:`TeacherEnsemble`,
    :class:`TeacherCommittee` and :class:`MealV2Teachers`.
Adapting them
    :func:`ferkd_adapt` (FerKD), :func:`soft_teacher_weights` (Soft Teacher),
    :func:`prototype_soft_labels`, :class:`PrototypeBank` and :func:`confidence_bands`
    (PS-TTL).
Labelling distilled images
    :func:`tesla_soft_labels` (TESLA's soft-label assignment from an expert model).
Pseudo-label thresholds
    :class:`InstanceAdaptiveThreshold` (HIAST), :func:`class_balanced_thresholds` (CBST),
    :func:`threshold_pseudo_labels`, :func:`class_aware_correction` (COMIC).
Choosing what to query
    :func:`select` (uncertainty, random, Robust Active Distillation, Locle) with
    :func:`uncertainty_scores`, :func:`robust_sampling_distribution`,
    :func:`label_disharmonicity` and :func:`split_confident_critical`.

>>> from softlabels.infer.teachers import teacher_soft_labels
>>> teacher_soft_labels([[[0.9, 0.1]], [[0.5, 0.5]]], inputs="probs").probs.tolist()
[[0.7, 0.3]]
"""

from softlabels.infer.teachers.adapt import AdaptedLabels, ferkd_adapt, soft_teacher_weights
from softlabels.infer.teachers.combine import (
    MealV2Teachers,
    TeacherCommittee,
    TeacherEnsemble,
    committee_soft_labels,
    meal_v2_soft_labels,
    prior_weights,
    teacher_soft_labels,
)
from softlabels.infer.teachers.distilled import tesla_soft_labels
from softlabels.infer.teachers.prototypes import (
    ConfidenceBands,
    PrototypeBank,
    confidence_bands,
    prototype_soft_labels,
)
from softlabels.infer.teachers.select import (
    MEASURES,
    STRATEGIES,
    ConfidentCritical,
    RobustDistribution,
    label_disharmonicity,
    robust_sampling_distribution,
    select,
    split_confident_critical,
    uncertainty_scores,
)
from softlabels.infer.teachers.thresholds import (
    InstanceAdaptiveThreshold,
    class_aware_correction,
    class_balanced_thresholds,
    threshold_pseudo_labels,
)

__all__ = [
    "teacher_soft_labels",
    "prior_weights",
    "committee_soft_labels",
    "meal_v2_soft_labels",
    "TeacherEnsemble",
    "TeacherCommittee",
    "MealV2Teachers",
    "AdaptedLabels",
    "ferkd_adapt",
    "soft_teacher_weights",
    "prototype_soft_labels",
    "PrototypeBank",
    "ConfidenceBands",
    "confidence_bands",
    "tesla_soft_labels",
    "InstanceAdaptiveThreshold",
    "class_balanced_thresholds",
    "threshold_pseudo_labels",
    "class_aware_correction",
    "select",
    "STRATEGIES",
    "MEASURES",
    "uncertainty_scores",
    "RobustDistribution",
    "robust_sampling_distribution",
    "label_disharmonicity",
    "ConfidentCritical",
    "split_confident_critical",
]
