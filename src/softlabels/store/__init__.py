"""Compact soft-label stores and the label representations of distillation methods.

Names are imported on first use (``softlabels.store.LabelMap`` loads only its module).
"""

from __future__ import annotations

from softlabels._lazy import lazy_exports

_EXPORTS = {
    "LabelMap": "softlabels.store.relabel",
    "label_pool": "softlabels.store.relabel",
    "box_weights": "softlabels.store.relabel",
    "StaticLabels": "softlabels.store.static",
    "MixedBatch": "softlabels.store.static",
    "mixup_with_static_labels": "softlabels.store.static",
    "dbr_encode": "softlabels.store.distance",
    "dbr_decode": "softlabels.store.distance",
    "dbr_targets": "softlabels.store.distance",
    "LabelProjector": "softlabels.store.projector",
}

__all__ = [*_EXPORTS]

__getattr__, __dir__ = lazy_exports("softlabels.store", _EXPORTS, globals())
