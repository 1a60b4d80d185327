"""Exceptions and warnings raised by softlabels.

Every error a user can cause with bad input is a :class:`InputError` (a ``ValueError``
subclass), so that callers and the command line can tell it from a bug.
"""

from __future__ import annotations

__all__ = ["InputError", "InvalidParameterError", "NotFittedError", "ProbabilityWarning",
           "UnknownNameError"]


class InputError(ValueError):
    """Input data is malformed: a missing column, NaN, an unknown class, bad probabilities."""


class InvalidParameterError(ValueError):
    """A parameter of an estimator or function has a value outside its allowed range."""


class UnknownNameError(InvalidParameterError, KeyError):
    """A method, source or loss name that no registry holds (the message suggests the
    nearest names). A ``KeyError`` too, since it is a failed lookup by name."""

    def __str__(self) -> str:  # the message itself, not KeyError's repr of it
        return str(self.args[0]) if self.args else ""


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``."""


class ProbabilityWarning(UserWarning):
    """Probabilities were slightly off (rows summing to 1 only within rounding) and were
    renormalised."""
