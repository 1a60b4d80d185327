"""softlabels: learn from imperfect labels. Every label is a distribution.

>>> import softlabels
>>> soft = softlabels.aggregate("answers.csv", method="dawid-skene")  # doctest: +SKIP

The public names below are imported on first use, so ``import softlabels`` stays fast
(pandas and scipy load only when something needs them).
"""

from __future__ import annotations

from softlabels._lazy import lazy_exports

from typing import TYPE_CHECKING

from softlabels._version import __version__

_EXPORTS = {
    "Annotations": "softlabels.core.annotations",
    "InputError": "softlabels.core.errors",
    "InvalidParameterError": "softlabels.core.errors",
    "SoftLabels": "softlabels.core.soft",
    "read_answers": "softlabels.core.annotations",
    "read_annotations": "softlabels.core.formats",
    "aggregate": "softlabels.api",
    "fit_method": "softlabels.api",
    "create_method": "softlabels.infer.registry",
    "list_methods": "softlabels.infer.registry",
    "create_source": "softlabels.infer.registry",
    "list_sources": "softlabels.infer.registry",
    "source_evidence": "softlabels.infer.registry",
    "source_summary": "softlabels.infer.registry",
    "DEFAULT_CROWD_METHOD": "softlabels.core.defaults",
    "weak_consensus": "softlabels.core.defaults",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover
    from softlabels.api import aggregate, fit_method
    from softlabels.core.annotations import Annotations, read_answers
    from softlabels.core.defaults import DEFAULT_CROWD_METHOD, weak_consensus
    from softlabels.core.errors import InputError, InvalidParameterError
    from softlabels.core.formats import read_annotations
    from softlabels.core.soft import SoftLabels
    from softlabels.infer.registry import (
        create_method,
        create_source,
        list_methods,
        list_sources,
        source_evidence,
        source_summary,
    )

__getattr__, __dir__ = lazy_exports("softlabels", _EXPORTS, globals(), extra=("__version__",))
