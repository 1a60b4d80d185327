"""The data types, validation, errors and file I/O (names imported on first use)."""

from __future__ import annotations

from softlabels._lazy import lazy_exports

_EXPORTS = {
    "Annotations": "softlabels.core.annotations",
    "as_annotations": "softlabels.core.annotations",
    "read_answers": "softlabels.core.annotations",
    "InputError": "softlabels.core.errors",
    "InvalidParameterError": "softlabels.core.errors",
    "SoftLabels": "softlabels.core.soft",
}

__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports("softlabels.core", _EXPORTS, globals())
