"""The base class of every loss module and the decorator that registers it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import torch
from torch import Tensor, nn

from softlabels.core.validation import Constraint, check_params
from softlabels.train._loss_index import LossInfo, check_registration

__all__ = ["REGISTERED", "LossModule", "optional_buffer", "register_loss"]

L = TypeVar("L", bound=type)

#: Name -> module class, filled by :func:`register_loss` as each loss file is imported.
REGISTERED: dict[str, type[LossModule]] = {}


class LossModule(nn.Module):
    """An ``nn.Module`` loss whose hyper-parameters are checked against ``_spec`` on
    construction and stored as attributes; :meth:`_kwargs` gives them back for the call to
    the loss's function. :func:`register_loss` sets ``info`` and ``function``.

    Parameters
    ----------
    **params
        The loss's hyper-parameters by name; a value outside its constraint raises
        :class:`~softlabels.InvalidParameterError`.
    """

    _spec: ClassVar[Mapping[str, Constraint]] = {}
    info: ClassVar[LossInfo]
    function: ClassVar[Callable[..., Tensor]]

    def __init__(self, **params: Any) -> None:
        super().__init__()
        check_params(type(self).__name__, self._spec, **params)
        self._param_names = tuple(params)
        for name, value in params.items():
            setattr(self, name, value)

    def _kwargs(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names}

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in self._param_names)


def register_loss(name: str, *, function: Callable[..., Tensor], summary: str,
                  call: str = "target", order: int | None = None) -> Callable[[L], L]:
    """Register the decorated :class:`LossModule` under ``name``.

    ``function`` is its pure tensor function, ``summary`` a one-line description, ``call``
    how it is called (see :data:`softlabels.train._loss_index.CALLS`) and ``order`` its place
    in listings. Write every argument as a literal: they are also read from the file's source
    without importing it (so that listing the losses never imports torch).

    Parameters
    ----------
    name : str
        The registry name (a name taken by another class raises ``ValueError``).
    function : callable
        The loss's pure tensor function.
    summary : str
        One line on what the loss does.
    call : str, default="target"
        How the module is called: one of :data:`softlabels.train._loss_index.CALLS`.
    order : int, optional
        Place in listings.

    Returns
    -------
    callable
        The class decorator; it returns the class unchanged, registered.
    """
    check_registration(name, call, summary, order, f"register_loss({name!r})")

    def add(cls: L) -> L:
        where = f"{cls.__module__}.{cls.__qualname__}"
        if not (isinstance(cls, type) and issubclass(cls, LossModule)):
            raise TypeError(f"{where}: @register_loss decorates a LossModule subclass.")
        if not callable(function):
            raise TypeError(f"{where}: function= must be callable; got {function!r}.")
        if name in REGISTERED and REGISTERED[name] is not cls:
            other = REGISTERED[name]
            raise ValueError(f"loss {name!r} is already registered by "
                             f"{other.__module__}.{other.__qualname__}.")
        cls.info = LossInfo(name=name, summary=summary, call=call, order=order,
                            module=cls.__module__, class_name=cls.__qualname__,
                            function=function.__name__)
        cls.function = staticmethod(function)
        REGISTERED[name] = cls
        return cls

    return add


def optional_buffer(value: Any) -> Tensor | None:
    """``value`` as a detached floating tensor (for a registered buffer), or None.

    Parameters
    ----------
    value : array-like, Tensor or None
        The values; integer values become float32.

    Returns
    -------
    Tensor or None
        A detached copy.
    """
    if value is None:
        return None
    t = torch.as_tensor(value).detach().clone()
    return t if t.is_floating_point() else t.float()
