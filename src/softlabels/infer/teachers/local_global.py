"""Per-item choice between a local and a global pseudo-labeller (FedLabel, ICCV 2023).

FedLabel (Cho, Joshi, Dimitriadis, "Local or Global: Selective Knowledge Assimilation for
Federated Learning with Limited Labels", ICCV 2023, arXiv 2307.08809): in federated
learning with few labels, each client pseudo-labels its unlabelled items with whichever of
its local model (fitted to the client's skewed data) and the global model (which has seen
every client) is "more of an expert" on that item.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from softlabels.core.errors import InputError
from softlabels.core.validation import check_float, check_int, check_option
from softlabels.infer.teachers._inputs import Inputs, check_single, tempered_probs

__all__ = ["LocalGlobalChoice", "select_local_or_global", "CRITERIA", "LOCAL", "GLOBAL"]

#: how the expert is chosen per item
CRITERIA = ("max_prob", "neg_entropy")
#: values of :attr:`LocalGlobalChoice.source`
LOCAL, GLOBAL = 0, 1


class LocalGlobalChoice(NamedTuple):
    """The result of :func:`select_local_or_global`.

    Attributes
    ----------
    labels : numpy.ndarray, shape (n_items,)
        The chosen model's argmax, or ``ignore_index``.
    source : numpy.ndarray, shape (n_items,)
        ``LOCAL`` (0) or ``GLOBAL`` (1): the model chosen for each item.
    probs : numpy.ndarray, shape (n_items, n_classes)
        The chosen model's distribution (a soft label).
    confidence : numpy.ndarray, shape (n_items,)
        The chosen model's top probability.
    """

    labels: np.ndarray  # (n_items,) the chosen model's argmax, or ignore_index
    source: np.ndarray  # (n_items,) LOCAL (0) or GLOBAL (1): the model chosen per item
    probs: np.ndarray  # (n_items, n_classes) the chosen model's distribution (a soft label)
    confidence: np.ndarray  # (n_items,) the chosen model's top probability


def _entropy(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)


def select_local_or_global(
    local_outputs: Any,
    global_outputs: Any,
    *,
    inputs: Inputs,
    criterion: str = "max_prob",
    threshold: float = 0.0,
    ignore_index: int = -1,
) -> LocalGlobalChoice:
    """FedLabel's per-item choice of pseudo-labeller (Cho, Joshi, Dimitriadis, ICCV 2023).

    For each item the model with the higher score is chosen: its top probability
    (``criterion="max_prob"``) or its negative entropy (``"neg_entropy"``); a tie goes to
    the global model. The pseudo-label is the chosen model's ``argmax`` when the chosen
    model's top probability is at least ``threshold`` (FixMatch style), else
    ``ignore_index``. The abstract confirms the per-item choice; the scores and the
    threshold follow our reading of it (no official code was found). The paper's
    global–local consistency loss on items where both models agree is not part of this
    function.

    Parameters
    ----------
    local_outputs, global_outputs : array-like of shape (n_items, n_classes)
        The client's local model and the global model on the same unlabelled items.
    inputs : {"logits", "probs"}
        What both arrays hold.
    criterion : {"max_prob", "neg_entropy"}, default "max_prob"
    threshold : float in [0, 1], default 0.0
    ignore_index : int, default -1

    Returns
    -------
    LocalGlobalChoice
        ``labels``, ``source`` (``LOCAL = 0`` / ``GLOBAL = 1``), ``probs`` and
        ``confidence`` per item.

    Examples
    --------
    >>> local = [[0.9, 0.1], [0.6, 0.4], [0.5, 0.5]]
    >>> glob = [[0.3, 0.7], [0.2, 0.8], [0.5, 0.5]]
    >>> choice = select_local_or_global(local, glob, inputs="probs", threshold=0.7)
    >>> choice.source.tolist(), choice.labels.tolist()
    ([0, 1, 1], [0, 1, -1])
    """
    owner = "select_local_or_global"
    loc = check_single(local_outputs, inputs, owner, name="local_outputs")
    glo = check_single(global_outputs, inputs, owner, name="global_outputs")
    if loc.values.shape != glo.values.shape:
        raise InputError(
            f"local_outputs has shape {loc.values.shape[1:]} but global_outputs has shape "
            f"{glo.values.shape[1:]}; both models must score the same items and classes."
        )
    how = check_option(criterion, "criterion", owner, CRITERIA)
    tau = check_float(threshold, "threshold", owner, low=0.0, high=1.0)
    ignore = check_int(ignore_index, "ignore_index", owner)
    pl = tempered_probs(loc.values[0], loc.inputs, 1.0)
    pg = tempered_probs(glo.values[0], glo.inputs, 1.0)
    if 0 <= ignore < pl.shape[1]:
        raise InputError(f"{owner}: ignore_index={ignore} is a class index; use e.g. -1.")
    if how == "max_prob":
        use_local = pl.max(axis=1) > pg.max(axis=1)
    else:
        use_local = _entropy(pl) < _entropy(pg)
    probs = np.where(use_local[:, None], pl, pg)
    conf = probs.max(axis=1)
    labels = np.where(conf >= tau, probs.argmax(axis=1), ignore)
    source = np.where(use_local, LOCAL, GLOBAL)
    return LocalGlobalChoice(labels, source, probs, conf)
