"""The estimator base every softlabels estimator shares: parameters, repr, clone.

Conventions (as in scikit-learn): ``__init__`` only stores its keyword parameters
under the same names; ``fit`` validates them with :meth:`BaseEstimator._validate_params`
(the one hook) and sets fitted attributes ending in ``_``.

>>> from softlabels.core.base import BaseEstimator
>>> from softlabels.core.validation import integer
>>> class Smoother(BaseEstimator):
...     _parameter_constraints = {"k": integer(low=1)}
...     def __init__(self, *, k=3):
...         self.k = k
>>> Smoother(k=5)
Smoother(k=5)
>>> Smoother(k=0)._validate_params()
Traceback (most recent call last):
...
softlabels.core.errors.InvalidParameterError: The 'k' parameter of Smoother must be >= 1; got 0.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from softlabels.core.errors import InvalidParameterError
from softlabels.core.validation import Constraint

__all__ = ["BaseEstimator", "clone"]

E = TypeVar("E", bound="BaseEstimator")


class BaseEstimator:
    """Keyword parameters stored in ``__init__``; checked by one hook at ``fit``."""

    #: one constraint per parameter (see :mod:`softlabels.core.validation`); a
    #: parameter left out is checked where it is used
    _parameter_constraints: ClassVar[Mapping[str, Constraint]] = {}

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]

    def get_params(self) -> dict[str, Any]:
        """The parameters, by name."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self: E, **params: Any) -> E:
        """Set parameters by name; an unknown name is an :class:`InvalidParameterError`.

        Parameters
        ----------
        **params : Any
            New values by parameter name (checked when the estimator is fitted).

        Returns
        -------
        self
        """
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise InvalidParameterError(
                    f"{type(self).__name__} has no parameter {key!r}; valid: {valid}."
                )
            setattr(self, key, value)
        return self

    def _validate_params(self) -> None:
        """Check every parameter against ``_parameter_constraints``.

        Subclasses with checks that involve several parameters extend this hook
        (calling ``super()._validate_params()`` first); it is the only one.
        """
        owner = type(self).__name__
        for name, constraint in self._parameter_constraints.items():
            constraint(getattr(self, name), name, owner)

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        parts = []
        for key, value in self.get_params().items():
            default = sig.parameters[key].default
            if default is inspect.Parameter.empty or not _same(value, default):
                parts.append(f"{key}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return a is b


def clone(estimator: E) -> E:
    """A new unfitted estimator with the same parameters (deep-copied).

    Parameters
    ----------
    estimator : BaseEstimator

    Returns
    -------
    BaseEstimator
        Of the same class.
    """
    params = {k: copy.deepcopy(v) for k, v in estimator.get_params().items()}
    return type(estimator)(**params)
