"""Project-wide defaults, each defined once: the crowd model used when none is named, and
what counts as a weak consensus.

Changing the default crowd model is the one line :data:`DEFAULT_CROWD_METHOD`; every
entry point (:func:`softlabels.aggregate`, ``softlabels aggregate``, ``softlabels
quickstart``, the HTML report) reads it from here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["DEFAULT_CROWD_METHOD", "DEFAULT_DASK_METHOD", "WEAK_CONSENSUS_BELOW", "weak_consensus"]

#: The crowd model used when none is named: a registry name (see ``list_sources``) with
#: parameters, ``"name:key=value"`` (see :func:`softlabels.infer.registry.parse_spec`).
#: ``stacked``: full and one-coin Dawid–Skene (every answer weighed by its worker's
#: parameters estimated without it), mixed with the weights that best predict held-out
#: answers (no truth): chosen by leave-one-data-set-out over the 19 crowd data sets
#: with truth among the models whose uncertainty is honest
#: (``benchmarks/crowd_defaults.py``; BENCHMARKS.md, "Choosing the default crowd model").
DEFAULT_CROWD_METHOD = "stacked"

#: The default on the Dask engine: the in-process default, with the in-process numbers
#: (docs/scaling.md: its folds, held-out refits and weights on partitions).
DEFAULT_DASK_METHOD = DEFAULT_CROWD_METHOD

#: An item's consensus is weak when its most probable class has a probability below this:
#: for two classes, anything less decisive than a 3 : 2 split.
WEAK_CONSENSUS_BELOW = 0.6


def weak_consensus(probs: Any) -> np.ndarray:
    """Per item, whether its consensus is weak: the largest probability of its soft label
    is below :data:`WEAK_CONSENSUS_BELOW` (0.6).

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes) or SoftLabels
        Soft labels.

    Returns
    -------
    ndarray of bool, shape (n_items,)

    Examples
    --------
    >>> weak_consensus([[0.55, 0.45], [0.6, 0.4], [0.2, 0.8]]).tolist()
    [True, False, False]
    """
    p = np.asarray(getattr(probs, "probs", probs), dtype=float)
    if p.ndim != 2:
        from softlabels.core.errors import InputError

        raise InputError(
            f"weak_consensus: expected soft labels of shape (n_items, n_classes), got shape "
            f"{p.shape}."
        )
    if p.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    return p.max(axis=1) < WEAK_CONSENSUS_BELOW


def weakest_first(confidence: Any, disagreement: Any) -> np.ndarray:
    """Item indices ordered from the weakest consensus: lowest confidence (largest
    probability of the soft label) first, ties broken by the larger disagreement (e.g.
    the entropy of the item's vote shares). The one order of the CLI summaries and the
    report's "Weakest consensus" table.

    Examples
    --------
    >>> weakest_first([0.9, 0.5, 0.5, 0.7], [0.1, 0.2, 0.8, 0.5]).tolist()
    [2, 1, 3, 0]
    """
    conf = np.asarray(confidence, dtype=float)
    return np.lexsort((-np.asarray(disagreement, dtype=float), conf))
