"""Soft labels from teacher models, and which items to send to a teacher or an annotator.

Teacher outputs are numpy arrays of logits or probabilities; every function says which
with an explicit ``inputs="logits" | "probs"`` (it is never guessed from the values).

Soft labels from teachers
    :func:`teacher_soft_labels` (temperature; probability or logit pooling),
    :func:`committee_soft_labels` and :func:`prior_weights` (CV-DD),
    :func:`meal_v2_soft_labels` (MEAL V2); as estimators :class:`TeacherEnsemble`,
    :class:`TeacherCommittee` and :class:`MealV2Teachers`.
Label-only teachers (TAIL)
    :class:`CachedLabeller` (asks a teacher that returns only labels, through an atomic
    on-disk :class:`LabelCache` keyed by :func:`input_key`, and validates its answers),
    :func:`response_soft_labels` and :class:`TeacherLabels` (vote shares of several
    prompts or samples, with label smoothing).
Adapting them
    :func:`ferkd_adapt` (FerKD), :func:`soft_teacher_weights` (Soft Teacher),
    :func:`prototype_soft_labels`, :class:`PrototypeBank` and :func:`confidence_bands`
    (PS-TTL).
Labelling distilled images
    :func:`tesla_soft_labels` (TESLA's soft-label assignment from an expert model).
Pseudo-label thresholds
    :class:`InstanceAdaptiveThreshold` (HIAST), :func:`class_balanced_thresholds` (CBST),
    :func:`threshold_pseudo_labels`, :func:`class_aware_correction` (COMIC).
Pseudo-label sources
    :class:`AdaptiveGaussianMixture` and :func:`agmm_soft_labels` (AGMM),
    :func:`class_rebalanced_pseudo_labels` with :func:`rebalanced_quotas` and
    :func:`longtail_counts` (Yang & Xu, NeurIPS 2020), :func:`select_local_or_global`
    (FedLabel).
Choosing what to query
    :func:`select` (uncertainty, random, Robust Active Distillation, Locle, Active GCD) with
    :func:`uncertainty_scores`, :func:`robust_sampling_distribution`,
    :func:`label_disharmonicity`, :func:`split_confident_critical` and :func:`select_novel`.

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
from softlabels.infer.teachers.label_only import (
    CachedLabeller,
    LabelCache,
    TeacherLabels,
    input_key,
    response_soft_labels,
)
from softlabels.infer.teachers.local_global import (
    LocalGlobalChoice,
    select_local_or_global,
)
from softlabels.infer.teachers.mixture import AdaptiveGaussianMixture, agmm_soft_labels
from softlabels.infer.teachers.prototypes import (
    ConfidenceBands,
    PrototypeBank,
    confidence_bands,
    prototype_soft_labels,
)
from softlabels.infer.teachers.rebalance import (
    class_rebalanced_pseudo_labels,
    longtail_counts,
    rebalanced_quotas,
)
from softlabels.infer.teachers.select import (
    MEASURES,
    STRATEGIES,
    ConfidentCritical,
    RobustDistribution,
    label_disharmonicity,
    robust_sampling_distribution,
    select,
    select_novel,
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
    "CachedLabeller",
    "LabelCache",
    "input_key",
    "response_soft_labels",
    "TeacherLabels",
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
    "AdaptiveGaussianMixture",
    "agmm_soft_labels",
    "class_rebalanced_pseudo_labels",
    "rebalanced_quotas",
    "longtail_counts",
    "LocalGlobalChoice",
    "select_local_or_global",
    "select",
    "STRATEGIES",
    "MEASURES",
    "uncertainty_scores",
    "RobustDistribution",
    "robust_sampling_distribution",
    "label_disharmonicity",
    "ConfidentCritical",
    "split_confident_critical",
    "select_novel",
]
