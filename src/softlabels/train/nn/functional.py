"""Pure tensor loss functions (no state): the function half of every loss pair.

Each function takes logits (or scores), never probabilities, and targets told apart by dtype:
integer tensors are class indices, floating tensors are probabilities (rows non-negative and
summing to 1, checked) or relevance weights (ranking losses).
Computation runs in float32 at least (half-precision inputs are upcast and the loss is
returned in float32; float64 stays float64); supervision tensors are detached; ``reduction``
is ``"none"``, ``"mean"`` (the batch average of the per-sample loss, summed over classes)
or ``"sum"``, and the mean of an empty batch is 0.
"""

from __future__ import annotations

from softlabels.train.nn._classification import (
    best_of_heads_loss,
    normalized_logits,
    normalized_softmax_loss,
    soft_cross_entropy,
    soft_teacher_ce_loss,
    squared_hinge_loss,
    z_loss,
)
from softlabels.train.nn._discovery import soft_entropy_loss
from softlabels.train.nn._distill import dkd_loss, kd_loss, nkd_loss, uskd_loss
from softlabels.train.nn._ranking import (
    decoupled_softmax_loss,
    sample_positives,
    soft_top_k,
    soft_top_k_loss,
    thurstone_fidelity_loss,
    thurstone_preference,
)
from softlabels.train.nn._weak import (
    dllp_loss,
    elr_loss,
    elr_update_targets,
    forward_correction_loss,
    multi_focal_loss,
    pc_loss,
    pu_mlc_loss,
    scl_exp_loss,
    scl_nl_loss,
    uniform_transition,
    ure_ga_loss,
)

__all__ = [
    "best_of_heads_loss",
    "decoupled_softmax_loss",
    "dkd_loss",
    "dllp_loss",
    "elr_loss",
    "elr_update_targets",
    "forward_correction_loss",
    "kd_loss",
    "multi_focal_loss",
    "nkd_loss",
    "normalized_logits",
    "normalized_softmax_loss",
    "pc_loss",
    "pu_mlc_loss",
    "sample_positives",
    "scl_exp_loss",
    "scl_nl_loss",
    "soft_cross_entropy",
    "soft_entropy_loss",
    "soft_teacher_ce_loss",
    "soft_top_k",
    "soft_top_k_loss",
    "squared_hinge_loss",
    "thurstone_fidelity_loss",
    "thurstone_preference",
    "uniform_transition",
    "ure_ga_loss",
    "uskd_loss",
    "z_loss",
]


def __getattr__(name: str) -> object:
    """The function of a loss registered outside this module's list (a new loss file)."""
    from softlabels.train.nn.losses import REGISTERED

    for cls in REGISTERED.values():
        if cls.function.__name__ == name:
            return cls.function
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
