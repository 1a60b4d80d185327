"""Compact stores of soft labels: codecs with a stated loss, a crash-safe Parquet
container, per-view (crop) records, datasets that feed them to training loops, and the
label representations of distillation methods (ReLabel label maps, INFER static labels,
NRR-DD distances, a HeLlO-style label projector).

Names are imported on first use (``softlabels.store.LabelMap`` loads only its module).
"""

from __future__ import annotations

from softlabels._lazy import lazy_exports

_EXPORTS = {
    "Codec": "softlabels.store.codecs",
    "Dense": "softlabels.store.codecs",
    "LogQuant": "softlabels.store.codecs",
    "TopK": "softlabels.store.codecs",
    "TopKPacked": "softlabels.store.codecs",
    "Sparse": "softlabels.store.codecs",
    "Fidelity": "softlabels.store.codecs",
    "fidelity": "softlabels.store.codecs",
    "codec_from_spec": "softlabels.store.codecs",
    "ViewLabels": "softlabels.store.records",
    "Encoded": "softlabels.store.records",
    "encode": "softlabels.store.records",
    "LabelStore": "softlabels.store.container",
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
    "StoreDataset": "softlabels.store.datasets",
    "replay_view": "softlabels.store.datasets",
    # torch (the ``torch`` extra), imported only when asked for
    "TorchStoreDataset": "softlabels.store.torch_data",
    "TorchStoreIterableDataset": "softlabels.store.torch_data",
}

#: the names that need torch are attributes, not ``__all__``, so that ``from softlabels.store
#: import *`` works (and stays light) without the extra
_TORCH = ("TorchStoreDataset", "TorchStoreIterableDataset")

__all__ = [name for name in _EXPORTS if name not in _TORCH]

__getattr__, __dir__ = lazy_exports(
    "softlabels.store", _EXPORTS, globals(), needs=dict.fromkeys(_TORCH, "torch")
)
