"""The label-quality report: one self-contained HTML page (names imported on first use)."""

from __future__ import annotations

from softlabels._lazy import lazy_exports

_EXPORTS = {
    "build_report": "softlabels.report.build",
    "write_report": "softlabels.report.build",
    "CONTENT_SECURITY_POLICY": "softlabels.report.build",
    "list_checks": "softlabels.report.checks",
    "register_check": "softlabels.report.checks",
}

__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports("softlabels.report", _EXPORTS, globals())
