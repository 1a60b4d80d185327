"""The data types, validation, errors and file I/O (names imported on first use)."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Annotations": "softlabels.core.annotations",
    "as_annotations": "softlabels.core.annotations",
    "read_answers": "softlabels.core.annotations",
    "InputError": "softlabels.core.errors",
    "InvalidParameterError": "softlabels.core.errors",
    "SoftLabels": "softlabels.core.soft",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'softlabels.core' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
