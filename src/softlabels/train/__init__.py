"""Training on soft labels.

The PyTorch losses, heads and prediction rules live in :mod:`softlabels.train.nn`
(``pip install 'softlabels[torch]'``); :func:`fit` is a small training loop for them
(:mod:`softlabels.train.loop`); :class:`SoftLabelClassifier` trains any scikit-learn
classifier that accepts ``sample_weight`` (:mod:`softlabels.train.sklearn`). This package
stays light: listing the losses does not import torch, creating one does, and the names
below load their module on first use.

>>> from softlabels.train import list_losses
>>> list_losses("*kd")
['kd', 'dkd', 'nkd', 'uskd']
"""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING, Any

from softlabels._lazy import lazy_exports
from softlabels.core.registry import Registry

#: Public names imported on first use (torch for the loop, nothing heavy for the wrapper).
_LAZY = {
    "fit": "softlabels.train.loop",
    "History": "softlabels.train.loop",
    "SoftLabelClassifier": "softlabels.train.sklearn",
    "expand_soft_labels": "softlabels.train.sklearn",
}

__all__ = ["LOSSES", "create_loss", "list_losses", "loss_summary", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from softlabels.train.loop import History, fit
    from softlabels.train.sklearn import SoftLabelClassifier, expand_soft_labels


__getattr__, __dir__ = lazy_exports(
    "softlabels.train", _LAZY, globals(), extra=("LOSSES", "create_loss", "list_losses", "loss_summary")
)

#: Loss name -> ``"module:attr"`` of its ``nn.Module`` (imported on first use).
LOSSES: Registry[type] = Registry("loss", "softlabels.train.nn.list_losses()")

_M = "softlabels.train.nn.losses:"
_SUMMARIES: dict[str, str] = {}
for _name, _cls, _summary in [
    ("soft-cross-entropy", "SoftCrossEntropy",
     "cross-entropy with probability targets, label smoothing and per-sample weights"),
    ("kd", "KDLoss", "Hinton knowledge distillation: T^2 KL to the teacher, optional CE mix"),
    ("dkd", "DKDLoss", "decoupled KD: target-class and non-target-class terms (Zhao et al. 2022)"),
    ("nkd", "NKDLoss", "normalized KD: target part + normalized non-target part (Yang et al. 2023)"),
    ("uskd", "USKDLoss", "self-KD with customized soft labels and a weak head (Yang et al. 2023)"),
    ("elr", "ELRLoss", "CE + early-learning regularization with per-sample EMA targets (Liu et al. 2020)"),
    ("scl-nl", "SCLNLLoss", "complementary labels: -log(1 - p_ybar) (Chou et al. 2020)"),
    ("scl-exp", "SCLEXPLoss", "complementary labels: exp(p_ybar) (Chou et al. 2020)"),
    ("ure-ga", "UREGALoss", "complementary labels: unbiased risk with gradient ascent (Ishida et al. 2019)"),
    ("forward-correction", "ForwardCorrectionLoss",
     "complementary labels: -log((p @ Q)[ybar]) (Yu et al. 2018)"),
    ("pc", "PCLoss", "complementary labels: pairwise-comparison sigmoid loss (Ishida et al. 2017)"),
    ("dllp", "DLLPLoss", "label proportions: CE between bag proportions and mean predictions"),
    ("pu-mlc", "PUMLCLoss", "positive-unlabeled multi-label variational loss (Yuan et al. 2023)"),
    ("multi-focal", "MultiFocalLoss", "COMIC multi-focal modifier for long-tailed partial multi-label"),
    ("z-loss", "ZLoss", "shift- and scale-invariant Z-loss (de Brebisson & Vincent 2016)"),
    ("squared-hinge", "SquaredHingeLoss", "one-vs-rest L2-SVM squared hinge (CNN-SVM)"),
    ("normalized-softmax", "NormalizedSoftmaxLoss",
     "cosine logits times a fixed scale, then CE (hyperspherical embedding)"),
    ("decoupled-softmax", "DecoupledSoftmaxLoss",
     "multi-label softmax with one denominator per positive (DEXML)"),
    ("soft-top-k", "SoftTopKLoss", "multi-label loss on a differentiable soft top-k (DEXML)"),
    ("thurstone-fidelity", "ThurstoneFidelityLoss",
     "pairwise fidelity between Thurstone preferences (DeQA-Score)"),
    ("soft-teacher-ce", "SoftTeacherCELoss",
     "CE with background samples weighted by the teacher's background score (Soft Teacher)"),
    ("best-of-heads", "BestOfHeadsLoss", "minimum over K heads of the per-sample CE (multi-output)"),
]:
    LOSSES.register(_name, _M + _cls, summary=_summary)
    _SUMMARIES[_name] = _summary


def list_losses(pattern: str = "*") -> list[str]:
    """Names of the registered losses, optionally filtered by a glob pattern.

    Examples
    --------
    >>> list_losses("scl-*")
    ['scl-nl', 'scl-exp']
    """
    return LOSSES.names(pattern)


def loss_summary(name: str) -> str:
    """A one-line description of a registered loss.

    Examples
    --------
    >>> loss_summary("z-loss")
    'shift- and scale-invariant Z-loss (de Brebisson & Vincent 2016)'
    """
    if name not in _SUMMARIES:
        LOSSES.get(name)  # the KeyError with the closest names
    return _SUMMARIES[name]  # (Registry.summary would import the loss, hence torch)


def create_loss(name: str, **params: Any) -> Any:
    """A loss module by registry name, e.g. ``create_loss("nkd", temperature=1.0)``.

    Needs torch (``pip install 'softlabels[torch]'``).

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
