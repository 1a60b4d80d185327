"""The data types, validation, errors and file I/O."""

from softlabels.core.annotations import Annotations, as_annotations, read_answers
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import SoftLabels

__all__ = [
    "Annotations",
    "InputError",
    "InvalidParameterError",
    "SoftLabels",
    "as_annotations",
    "read_answers",
]
