"""Inference: turn imperfect supervision into SoftLabels.

Every source is registered with the kind of evidence it fits on; list them with
:func:`list_sources` and create one by name with :func:`create_source`.
"""

from softlabels.infer.registry import (
    create_method,
    create_source,
    list_methods,
    list_sources,
    source_evidence,
    source_summary,
)

__all__ = [
    "create_method",
    "create_source",
    "list_methods",
    "list_sources",
    "source_evidence",
    "source_summary",
]
