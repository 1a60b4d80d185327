"""Learnable soft labels for distilled (synthetic) data.

TESLA (Cui et al., ICML 2023) labels each synthetic image with an expert's softmax
(:func:`softlabels.infer.teachers.tesla_soft_labels`); dataset-distillation methods that
learn the labels as well start from such a teacher label and move it with the outer
(distillation) objective. :class:`LearnableSoftLabels` holds one logit vector per
synthetic item as a parameter, so any outer loss that flows through the labels trains them.

>>> import torch
>>> labels = LearnableSoftLabels(torch.tensor([[2.0, 0.0], [0.0, 0.0]]))
>>> labels().detach().round(decimals=3)
tensor([[0.8810, 0.1190],
        [0.5000, 0.5000]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from softlabels.core.errors import InputError
from softlabels.core.validation import check_float

__all__ = ["LearnableSoftLabels"]


class LearnableSoftLabels(nn.Module):
    """One learnable logit vector per synthetic item: ``labels = softmax(logits / T)``.

    Initialise from a teacher's logits on the synthetic images (TESLA's soft-label
    assignment, then learned further), or from ``log`` of any soft labels
    (:meth:`from_probs`). ``forward(index)`` returns the probabilities of the items
    ``index`` (all items without one), differentiable with respect to ``logits``.

    Parameters
    ----------
    init_logits : Tensor or array of shape (n_items, n_classes)
        Finite initial logits (TESLA: the expert's logits on the images).
    temperature : float > 0, default 1.0
        ``T`` of the softmax.

    References
    ----------
    J. Cui, R. Wang, S. Si and C.-J. Hsieh, "Scaling Up Dataset Distillation to
    ImageNet-1K with Constant Memory", ICML 2023 (soft-label assignment; learning the
    labels from there is an extension).
    """

    def __init__(self, init_logits: Any, *, temperature: float = 1.0) -> None:
        super().__init__()
        z = torch.as_tensor(np.asarray(init_logits) if not isinstance(init_logits, Tensor)
                            else init_logits.detach())
        if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] < 2:
            raise InputError(
                f"init_logits must have shape (n_items >= 1, n_classes >= 2); got "
                f"{tuple(z.shape)}."
            )
        if not z.is_floating_point():
            z = z.to(torch.get_default_dtype())
        if not torch.isfinite(z).all():
            raise InputError("init_logits must be finite; use from_probs() for probabilities "
                             "with zeros.")
        self.temperature = check_float(temperature, "temperature", "LearnableSoftLabels",
                                       low=0.0, low_open=True)
        self.logits = nn.Parameter(z.clone())

    @classmethod
    def from_probs(cls, probs: Any, *, temperature: float = 1.0,
                   eps: float = 1e-6) -> "LearnableSoftLabels":
        """Start from soft labels: logits ``T log(max(p, eps))``, so that ``forward()``
        gives ``p`` back (up to ``eps``).

        Parameters
        ----------
        probs : array-like or Tensor of shape (n_items, n_classes)
            Finite values in ``[0, 1]`` (otherwise :class:`InputError`).
        temperature : float > 0, default=1.0
        eps : float in (0, 1), default=1e-6
            Floor of a probability before the logarithm.

        Returns
        -------
        LearnableSoftLabels
        """
        p = torch.as_tensor(np.asarray(probs, dtype=np.float64) if not isinstance(probs, Tensor)
                            else probs.detach().double())
        if p.ndim != 2 or bool(((p < 0) | (p > 1)).any()) or not torch.isfinite(p).all():
            raise InputError(f"probs must be a 2-D array of probabilities; got shape "
                             f"{tuple(p.shape)} with values outside [0, 1] or non-finite.")
        t = check_float(temperature, "temperature", "LearnableSoftLabels", low=0.0,
                        low_open=True)
        eps = check_float(eps, "eps", "LearnableSoftLabels", low=0.0, high=1.0, low_open=True,
                          high_open=True)
        z = t * torch.log(p.clamp_min(eps)).to(torch.get_default_dtype())
        return cls(z, temperature=t)

    def forward(self, index: Tensor | None = None) -> Tensor:
        """The soft labels ``softmax(logits / temperature)``.

        Parameters
        ----------
        index : Tensor, optional
            The items (rows) to return; all by default.

        Returns
        -------
        Tensor of shape (n_index, n_classes)
        """
        z = self.logits if index is None else self.logits[index]
        return torch.softmax(z / self.temperature, dim=-1)

    def extra_repr(self) -> str:
        n, c = self.logits.shape
        return f"n_items={n}, n_classes={c}, temperature={self.temperature}"
