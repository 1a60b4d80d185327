"""PyTorch losses for soft, noisy, weak and distilled labels (``pip install 'softlabels[torch]'``).

Heads and prediction rules are in :mod:`softlabels.train.nn.heads`: :class:`EBVHead`,
:class:`CosineHead`, :func:`generate_ebv` and Loki's :func:`frechet_predict`; learnable
labels of distilled data (TESLA's teacher labels, learned further) in
:mod:`softlabels.train.nn.labels`: :class:`LearnableSoftLabels`.

Every loss comes as a pure function in :mod:`softlabels.train.nn.functional` and an
``nn.Module`` twin here, registered by name:

>>> from softlabels.train.nn import create_loss, list_losses
>>> list_losses("*softmax")
['normalized-softmax', 'decoupled-softmax']
>>> create_loss("nkd", temperature=1.0)
NKDLoss(temperature=1.0, gamma=1.5, reduction='mean')

Call conventions (so losses can be swapped):

* ``loss(logits, target)``: ``target`` is class indices (an integer tensor of shape ``(N,)``)
  or probabilities (a floating tensor of shape ``(N, C)``), told apart by dtype only;
  probability rows must be non-negative and sum to 1 (an ``InputError`` names the first
  row that does not), except for relevance weights of the ranking losses.
* distillation: ``loss(student_logits, teacher_logits[, target])``; temperature and weights
  are constructor parameters; the teacher is detached inside.
* extra inputs come after the target: ``USKDLoss(...)(logits, target, features)``,
  ``ELRLoss(...)(logits, target, index)``, ``SoftTeacherCELoss()(logits, target, bg_score)``;
  bags: ``DLLPLoss()(logits, bag_index, bag_proportions)``; pairs:
  ``ThurstoneFidelityLoss()(pred_a, pred_b, target)`` (``target`` the preference);
  regularisers without a target: ``SoftEntropyLoss(num_old=...)(logits)``.
* ``reduction`` is ``"mean"`` (default; the batch average of the per-sample loss, summed over
  classes), ``"sum"`` or ``"none"``. The mean of an empty batch is 0.
* half-precision inputs are computed in float32 and the loss is returned in float32;
  float64 inputs give float64.
"""

from __future__ import annotations

from softlabels._optional import require

torch = require("torch", extra="torch")

from softlabels.train import (  # noqa: E402
    LOSSES,
    LossInfo,
    create_loss,
    list_losses,
    loss_info,
    loss_summary,
)
from softlabels.train.nn import functional  # noqa: E402
from softlabels.train.nn import heads as _heads  # noqa: E402
from softlabels.train.nn import labels as _labels  # noqa: E402
from softlabels.train.nn import losses as _losses  # noqa: E402
from softlabels.train.nn.heads import *  # noqa: E402,F403
from softlabels.train.nn.labels import *  # noqa: E402,F403
from softlabels.train.nn.losses import *  # noqa: E402,F403

__all__ = ["LOSSES", "LossInfo", "create_loss", "functional", "list_losses", "loss_info",
           "loss_summary",
           *_losses.__all__, *_heads.__all__, *_labels.__all__]
