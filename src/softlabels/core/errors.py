"""Exceptions raised by softlabels.

Every error a user can cause with bad input is a :class:`InputError` (a ``ValueError``
subclass), so that callers and the command line can tell it from a bug.
"""

from __future__ import annotations

__all__ = ["InputError", "InvalidParameterError"]


class InputError(ValueError):
    """Input data is malformed: a missing column, NaN, an unknown class, bad probabilities."""


class InvalidParameterError(ValueError):
    """A parameter of an estimator or function has a value outside its allowed range."""
