"""Compact stores of soft labels: codecs with a stated loss, a crash-safe Parquet
container, per-view (crop) records, and datasets that feed them to training loops.
Names are imported on first use."""

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
    "StoreDataset": "softlabels.store.datasets",
    "replay_view": "softlabels.store.datasets",
    # torch (the ``torch`` extra), imported only when asked for
    "TorchStoreDataset": "softlabels.store.torch_data",
    "TorchStoreIterableDataset": "softlabels.store.torch_data",
}

__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports("softlabels.store", _EXPORTS, globals())
