"""softlabels: learn from imperfect labels. Every label is a distribution.

>>> import softlabels
>>> soft = softlabels.aggregate("answers.csv", method="dawid-skene")  # doctest: +SKIP
"""

from softlabels._version import __version__
from softlabels.api import aggregate
from softlabels.core import (
    Annotations,
    InputError,
    InvalidParameterError,
    SoftLabels,
    read_answers,
)
from softlabels.infer.registry import create_method, list_methods

__all__ = [
    "Annotations",
    "InputError",
    "InvalidParameterError",
    "SoftLabels",
    "__version__",
    "aggregate",
    "create_method",
    "list_methods",
    "read_answers",
]
