"""``nn.Module`` losses, one file per loss (or per family of losses sharing their parameters).

Each module stores its hyper-parameters as attributes (checked on construction and again on
every call) and its ``forward`` calls the loss's pure function (also in
:mod:`softlabels.train.nn.functional`). Modules with learnable parts own them
(``USKDLoss.head``, ``NormalizedSoftmaxLoss.weight``); stateful ones keep their state in
registered buffers (``ELRLoss.ema_target``), so ``.to(device)`` and ``state_dict()`` carry it.

Adding a loss is one new file here: a :class:`LossModule` subclass decorated with
:func:`register_loss`, which names it, gives its function, its call convention and a
one-line summary. Importing this package imports every such file; listing the losses reads
the same decorators from the source without importing torch
(:mod:`softlabels.train._loss_index`).

>>> import torch
>>> from softlabels.train.nn import create_loss
>>> loss = create_loss("soft-cross-entropy", label_smoothing=0.1)
>>> loss(torch.zeros(2, 3), torch.tensor([0, 2])).round(decimals=4)
tensor(1.0986)
"""

from __future__ import annotations

import importlib

from softlabels.train._loss_index import loss_index
from softlabels.train.nn.losses._base import REGISTERED, LossModule, register_loss


def _import_all() -> list[str]:
    names = []
    for info in loss_index().values():
        cls = getattr(importlib.import_module(info.module), info.class_name)
        globals()[info.class_name] = cls
        names.append(info.class_name)
    return sorted(names)


__all__ = _import_all()
__all__ += ["LossModule", "register_loss"]
