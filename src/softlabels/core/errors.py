"""Exceptions and warnings raised by softlabels.

Every error a user can cause with bad input is a :class:`InputError` (a ``ValueError``
subclass), so that callers and the command line can tell it from a bug.
"""

from __future__ import annotations

__all__ = ["InputError", "InvalidParameterError", "NotFittedError", "ProbabilityWarning"]


class InputError(ValueError):
    """Input data is malformed: a missing column, NaN, an unknown class, bad probabilities."""


class InvalidParameterError(ValueError):
    """A parameter of an estimator or function has a value outside its allowed range."""


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``."""


class ProbabilityWarning(UserWarning):
    """Probabilities were slightly off (rows summing to 1 only within rounding) and were
    renormalised."""
