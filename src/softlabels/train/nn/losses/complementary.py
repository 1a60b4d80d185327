"""Losses for complementary labels ("not this class"): SCL-NL, SCL-EXP, URE-GA,
forward correction and pairwise comparison. They share one parameter table."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from softlabels.train.nn import _weak as _w
from softlabels.train.nn.losses._base import LossModule, optional_buffer, register_loss

__all__ = ["ForwardCorrectionLoss", "PCLoss", "SCLEXPLoss", "SCLNLLoss", "UREGALoss"]


@register_loss(
    "scl-nl",
    function=_w.scl_nl_loss,
    summary="complementary labels: -log(1 - p_ybar) (Chou et al. 2020)",
    order=7,
)
class SCLNLLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.scl_nl_loss`;
    ``forward(logits, target)`` with complementary labels.

    Parameters
    ----------
    eps, reduction
        As for :func:`~softlabels.train.nn.functional.scl_nl_loss`.
    """

    _spec = _w.CLL_PARAMS

    def __init__(self, *, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(eps=eps, reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.scl_nl_loss`).

        Parameters
        ----------
        logits, target
            As for :func:`~softlabels.train.nn.functional.scl_nl_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _w.scl_nl_loss(logits, target, **self._kwargs())


@register_loss(
    "scl-exp",
    function=_w.scl_exp_loss,
    summary="complementary labels: exp(p_ybar) (Chou et al. 2020)",
    order=8,
)
class SCLEXPLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.scl_exp_loss`;
    ``forward(logits, target)`` with complementary labels.

    Parameters
    ----------
    reduction
        As for :func:`~softlabels.train.nn.functional.scl_exp_loss`.
    """

    _spec = _w.CLL_PARAMS

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.scl_exp_loss`).

        Parameters
        ----------
        logits, target
            As for :func:`~softlabels.train.nn.functional.scl_exp_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _w.scl_exp_loss(logits, target, **self._kwargs())


@register_loss(
    "ure-ga",
    function=_w.ure_ga_loss,
    summary="complementary labels: unbiased risk with gradient ascent (Ishida et al. 2019)",
    order=9,
)
class UREGALoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.ure_ga_loss`, with the optional
    ``transition`` and ``prior`` in buffers; ``forward(logits, target)``.

    Parameters
    ----------
    transition, prior, reduction
        As for :func:`~softlabels.train.nn.functional.ure_ga_loss`.
    """

    _spec = _w.CLL_PARAMS

    def __init__(self, transition: Any = None, prior: Any = None, *,
                 reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.register_buffer("transition", optional_buffer(transition))
        self.register_buffer("prior", optional_buffer(prior))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.ure_ga_loss`).

        Parameters
        ----------
        logits, target
            As for :func:`~softlabels.train.nn.functional.ure_ga_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _w.ure_ga_loss(logits, target, self.transition, self.prior, **self._kwargs())


@register_loss(
    "forward-correction",
    function=_w.forward_correction_loss,
    summary="complementary labels: -log((p @ Q)[ybar]) (Yu et al. 2018)",
    order=10,
)
class ForwardCorrectionLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.forward_correction_loss`, with the
    transition matrix (or None for uniform) in the buffer ``transition``;
    ``forward(logits, target)``.

    Parameters
    ----------
    transition, eps, reduction
        As for :func:`~softlabels.train.nn.functional.forward_correction_loss`.
    """

    _spec = _w.CLL_PARAMS

    def __init__(self, transition: Any = None, *, eps: float = 1e-6,
                 reduction: str = "mean") -> None:
        super().__init__(eps=eps, reduction=reduction)
        self.register_buffer("transition", optional_buffer(transition))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.forward_correction_loss`).

        Parameters
        ----------
        logits, target
            As for :func:`~softlabels.train.nn.functional.forward_correction_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _w.forward_correction_loss(logits, target, self.transition, **self._kwargs())


@register_loss(
    "pc",
    function=_w.pc_loss,
    summary="complementary labels: pairwise-comparison sigmoid loss (Ishida et al. 2017)",
    order=11,
)
class PCLoss(LossModule):
    """Module twin of :func:`~softlabels.train.nn.functional.pc_loss`;
    ``forward(logits, target)`` with complementary labels.

    Parameters
    ----------
    reduction
        As for :func:`~softlabels.train.nn.functional.pc_loss`.
    """

    _spec = _w.CLL_PARAMS

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """The loss on a batch (see :func:`~softlabels.train.nn.functional.pc_loss`).

        Parameters
        ----------
        logits, target
            As for :func:`~softlabels.train.nn.functional.pc_loss`.

        Returns
        -------
        Tensor
            The loss, reduced as ``reduction`` says.
        """
        return _w.pc_loss(logits, target, **self._kwargs())
