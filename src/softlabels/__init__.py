"""softlabels: learn from imperfect labels. Every label is a distribution.

>>> import softlabels
>>> soft = softlabels.aggregate("answers.csv", method="dawid-skene")  # doctest: +SKIP

The public names below are imported on first use, so ``import softlabels`` stays fast
(pandas and scipy load only when something needs them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from softlabels._version import __version__

_EXPORTS = {
    "Annotations": "softlabels.core.annotations",
    "InputError": "softlabels.core.errors",
    "InvalidParameterError": "softlabels.core.errors",
    "SoftLabels": "softlabels.core.soft",
    "read_answers": "softlabels.core.annotations",
    "aggregate": "softlabels.api",
    "create_method": "softlabels.infer.registry",
    "list_methods": "softlabels.infer.registry",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover
    from softlabels.api import aggregate
    from softlabels.core.annotations import Annotations, read_answers
    from softlabels.core.errors import InputError, InvalidParameterError
    from softlabels.core.soft import SoftLabels
    from softlabels.infer.registry import create_method, list_methods


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'softlabels' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
