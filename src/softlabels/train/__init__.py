"""Training on soft labels.

The PyTorch losses, heads and prediction rules live in :mod:`softlabels.train.nn`
(``pip install 'softlabels[torch]'``); :func:`fit` is a small training loop for them
(:mod:`softlabels.train.loop`); :class:`SoftLabelClassifier` trains any scikit-learn
classifier that accepts ``sample_weight`` (:mod:`softlabels.train.sklearn`);
:class:`ClusteredBatchSampler` builds NGAME's mini-batches of nearby items for in-batch
negatives over many labels (:mod:`softlabels.train.batching`). This package
stays light: listing the losses does not import torch, creating one does, and the names
below load their module on first use.

>>> from softlabels.train import list_losses
>>> list_losses("*kd")
['kd', 'dkd', 'nkd', 'uskd']
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from softlabels._lazy import lazy_exports
from softlabels.core.registry import Registry
from softlabels.train._loss_index import LossInfo, loss_index

#: Public names imported on first use (torch for the loop, nothing heavy for the wrapper).
_LAZY = {
    "fit": "softlabels.train.loop",
    "History": "softlabels.train.loop",
    "SoftLabelClassifier": "softlabels.train.sklearn",
    "expand_soft_labels": "softlabels.train.sklearn",
    "ClusteredBatchSampler": "softlabels.train.batching",
    "balanced_spherical_kmeans": "softlabels.train.batching",
    "in_batch_targets": "softlabels.train.batching",
    "sample_positives": "softlabels.train.batching",
}

#: ``fit`` and ``History`` need torch: attributes, not ``__all__``, so that ``from
#: softlabels.train import *`` works (and stays light) without the extra
_TORCH = ("fit", "History")

__all__ = ["LOSSES", "LossInfo", "create_loss", "list_losses", "loss_info", "loss_summary",
           *(name for name in _LAZY if name not in _TORCH)]

if TYPE_CHECKING:  # pragma: no cover
    from softlabels.train.loop import History, fit
    from softlabels.train.sklearn import SoftLabelClassifier, expand_soft_labels
    from softlabels.train.batching import (ClusteredBatchSampler, balanced_spherical_kmeans,
                                           in_batch_targets, sample_positives)


__getattr__, __dir__ = lazy_exports(
    "softlabels.train", _LAZY, globals(),
    extra=("LOSSES", "LossInfo", "create_loss", "list_losses", "loss_info", "loss_summary"),
    needs=dict.fromkeys(_TORCH, "torch"),
)

#: Loss name -> its ``nn.Module`` class, as a lazy ``"module:attr"`` path read from the
#: registrations in :mod:`softlabels.train.nn.losses` (the class is imported on first use).
LOSSES: Registry[type] = Registry("loss", "softlabels.train.nn.list_losses()")
for _info in loss_index().values():
    LOSSES.register(_info.name, _info.path, summary=_info.summary)


def list_losses(pattern: str = "*") -> list[str]:
    """Names of the registered losses, optionally filtered by a glob pattern.

    Parameters
    ----------
    pattern : str, default="*"
        A glob the names must match, case-sensitive.

    Returns
    -------
    list of str

    Examples
    --------
    >>> list_losses("scl-*")
    ['scl-nl', 'scl-exp']
    """
    return LOSSES.names(pattern)


def loss_summary(name: str) -> str:
    """A one-line description of a registered loss.

    Parameters
    ----------
    name : str
        One of :func:`list_losses`; another name raises a ``KeyError`` that lists the
        closest registered names.

    Returns
    -------
    str

    Examples
    --------
    >>> loss_summary("z-loss")
    'shift- and scale-invariant Z-loss (de Brebisson & Vincent 2016)'
    """
    return loss_info(name).summary


def loss_info(name: str) -> LossInfo:
    """What a registered loss declares: name, summary, call convention (``call``, one of
    ``"target"``, ``"distill"``, ``"index"``, ``"features"``, ``"bags"``, ``"custom"``), listing
    order, and where its module class and function live. Does not import torch.

    Parameters
    ----------
    name : str
        One of :func:`list_losses`, as for :func:`loss_summary`.

    Returns
    -------
    LossInfo

    Examples
    --------
    >>> info = loss_info("elr")
    >>> info.call, info.class_name, info.function
    ('index', 'ELRLoss', 'elr_loss')
    """
    index = loss_index()
    if name not in index:
        LOSSES.get(name)  # the KeyError with the closest names
    return index[name]


def create_loss(name: str, **params: Any) -> Any:
    """A loss module by registry name, e.g. ``create_loss("nkd", temperature=1.0)``.

    Needs torch (``pip install 'softlabels[torch]'``).

    Parameters
    ----------
    name : str
        One of :func:`list_losses`.
    **params
        Parameters of the loss module's constructor, checked against its signature
        before it is built.

    Returns
    -------
    torch.nn.Module
        The loss, unfitted (see :func:`loss_info` for how it is called).

    Raises
    ------
    KeyError
        Unknown name; the message lists the closest registered names.
    InvalidParameterError
        A parameter the loss does not have, or a value outside its range.

    Examples
    --------
    >>> loss = create_loss("kd", temperature=2.0)   # doctest: +SKIP
    """
    cls = LOSSES.get(name)
    try:
        inspect.signature(cls).bind(**params)
    except TypeError as err:
        from softlabels.core.errors import InvalidParameterError

        valid = [p for p in inspect.signature(cls).parameters if p not in ("args", "kwargs")]
        raise InvalidParameterError(
            f"{name}: {err}. Its parameters are: {', '.join(valid) or 'none'}."
        ) from None
    return cls(**params)
