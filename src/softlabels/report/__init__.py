"""The label-quality report: one self-contained HTML page (names imported on first use)."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "build_report": "softlabels.report.build",
    "write_report": "softlabels.report.build",
    "CONTENT_SECURITY_POLICY": "softlabels.report.build",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'softlabels.report' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
