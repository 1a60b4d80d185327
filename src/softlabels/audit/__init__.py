"""Audit labels and models: label errors, annotators and agreement, calibration,
conformal prediction sets, out-of-distribution scores, category-discovery accuracy and
representative examples for labelling instructions (names imported on first use).
"""

from __future__ import annotations

from softlabels._lazy import lazy_exports

_EXPORTS = {
    # label errors (issues.py)
    "compute_confident_joint": "softlabels.audit.issues",
    "estimate_noise_matrix": "softlabels.audit.issues",
    "label_quality_scores": "softlabels.audit.issues",
    "find_label_issues": "softlabels.audit.issues",
    "audit_labels": "softlabels.audit.issues",
    "NoiseEstimate": "softlabels.audit.issues",
    # several annotators (multiannotator.py)
    "consensus": "softlabels.audit.multiannotator",
    "annotator_quality": "softlabels.audit.multiannotator",
    "select_items_to_relabel": "softlabels.audit.multiannotator",
    # agreement and annotator statistics (agreement.py)
    "annotator_table": "softlabels.audit.agreement",
    "annotator_confusions": "softlabels.audit.agreement",
    "LabellerQuality": "softlabels.audit.agreement",
    "LabelRisk": "softlabels.audit.agreement",
    "ESTES_QSCORE_WEIGHTS": "softlabels.audit.agreement",
    "krippendorff_alpha": "softlabels.audit.agreement",
    "fleiss_kappa": "softlabels.audit.agreement",
    "cohen_kappa": "softlabels.audit.agreement",
    "pairwise_cohen_kappa": "softlabels.audit.agreement",
    "item_ambiguity": "softlabels.audit.agreement",
    "labeller_quality": "softlabels.audit.agreement",
    "bayesian_label_risk": "softlabels.audit.agreement",
    # calibration (calibration.py)
    "expected_calibration_error": "softlabels.audit.calibration",
    "classwise_ece": "softlabels.audit.calibration",
    "brier_score": "softlabels.audit.calibration",
    "negative_log_likelihood": "softlabels.audit.calibration",
    "reliability_diagram": "softlabels.audit.calibration",
    "soft_label_divergence": "softlabels.audit.calibration",
    "calibration_report": "softlabels.audit.calibration",
    "score_against_truth": "softlabels.audit.calibration",
    "TemperatureScaling": "softlabels.audit.calibration",
    "VectorScaling": "softlabels.audit.calibration",
    # conformal prediction (conformal.py)
    "conformal_quantile": "softlabels.audit.conformal",
    "SplitConformalClassifier": "softlabels.audit.conformal",
    "LabelPowersetICP": "softlabels.audit.conformal",
    "coverage": "softlabels.audit.conformal",
    "LabelSetRegions": "softlabels.audit.conformal",
    "mean_set_size": "softlabels.audit.conformal",
    "nonconformity_scores": "softlabels.audit.conformal",
    # out-of-distribution and data-set properties (ood.py)
    "MahalanobisOOD": "softlabels.audit.ood",
    "max_softmax_score": "softlabels.audit.ood",
    "energy_score": "softlabels.audit.ood",
    "label_sharpness": "softlabels.audit.ood",
    "LabelSharpness": "softlabels.audit.ood",
    # category discovery (discovery.py)
    "hungarian_label_map": "softlabels.audit.discovery",
    "cluster_accuracy": "softlabels.audit.discovery",
    "ClusterAccuracy": "softlabels.audit.discovery",
    "novelty_metrics": "softlabels.audit.discovery",
    "NoveltyMetrics": "softlabels.audit.discovery",
    # examples for labelling instructions (exemplars.py)
    "representative_examples": "softlabels.audit.exemplars",
    "Exemplars": "softlabels.audit.exemplars",
    "facility_location": "softlabels.audit.exemplars",
}

__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports("softlabels.audit", _EXPORTS, globals())
