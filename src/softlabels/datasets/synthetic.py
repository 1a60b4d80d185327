"""Synthetic crowds drawn from the Dawid–Skene model, with known truth."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from softlabels.core.errors import InvalidParameterError
from softlabels.core.validation import check_float, check_int, check_random_state

__all__ = ["make_crowd"]


def make_crowd(
    n_items: int = 1000,
    n_workers: int = 50,
    n_classes: int = 3,
    *,
    answers_per_item: int = 5,
    accuracy: tuple[float, float] = (0.55, 0.95),
    class_prior: Any = None,
    random_state: Any = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Draw answers from worker confusion matrices.

    Each item gets ``answers_per_item`` answers from distinct workers: the first one uniform
    at random, the next ones at random steps of at most ``n_workers // answers_per_item``
    around the ring of workers. Every worker answers about equally often, but not every
    group of workers meets on an item (a design, not a uniform draw of groups).
    Worker ``w`` answers the true class with probability ``acc_w ~ U(accuracy)``, and
    otherwise a wrong class drawn from a worker-specific distribution (so workers
    are biased, not only noisy).

    Parameters
    ----------
    n_items, n_workers, n_classes : int, default 1000, 50 and 3
    answers_per_item : int, default 5
        At most ``n_workers``.
    accuracy : (float, float), default (0.55, 0.95)
        The range in ``[0, 1]`` each worker's accuracy is drawn from, uniformly.
    class_prior : array-like of shape (n_classes,), optional
        Probabilities of the true classes (default uniform).
    random_state : None, int or Generator

    Returns
    -------
    answers : DataFrame with integer columns ``item, worker, label``
    truth : Series of true labels indexed by item

    Examples
    --------
    >>> answers, truth = make_crowd(n_items=4, n_workers=6, n_classes=2, random_state=0)
    >>> answers.shape, truth.shape
    ((20, 3), (4,))
    """
    owner = "make_crowd"
    n_items = check_int(n_items, "n_items", owner, low=1)
    n_workers = check_int(n_workers, "n_workers", owner, low=1)
    k = check_int(n_classes, "n_classes", owner, low=1)
    m = check_int(answers_per_item, "answers_per_item", owner, low=1)
    if m > n_workers:
        raise InvalidParameterError(
            f"answers_per_item ({m}) cannot exceed n_workers ({n_workers}): answers on one "
            "item come from distinct workers."
        )
    if np.ndim(accuracy) != 1 or len(accuracy) != 2:
        raise InvalidParameterError(
            f"accuracy must be a pair (low, high) of probabilities; got {accuracy!r}."
        )
    low, high = accuracy  # by position: a Series indexed by names is a pair too
    lo = check_float(low, "accuracy[0]", owner, low=0.0, high=1.0)
    hi = check_float(high, "accuracy[1]", owner, low=lo, high=1.0)
    rng = check_random_state(random_state)
    try:
        prior = np.full(k, 1.0 / k) if class_prior is None else np.asarray(class_prior, float)
    except (TypeError, ValueError):
        prior = np.full(0, np.nan)  # refused below
    if prior.shape != (k,) or (prior < 0).any() or not np.isclose(prior.sum(), 1.0):
        raise InvalidParameterError(f"class_prior must be {k} probabilities summing to 1.")
    if class_prior is not None:
        prior = prior / prior.sum()  # to numpy's tolerance in rng.choice

    truth = rng.choice(k, size=n_items, p=prior)
    acc = rng.uniform(lo, hi, size=n_workers)
    conf = np.empty((n_workers, k, k))
    if k == 1:
        conf[:] = 1.0
    else:
        wrong = rng.dirichlet(np.ones(k - 1), size=(n_workers, k))
        for t in range(k):  # loop over classes only
            others = [c for c in range(k) if c != t]
            conf[:, t, t] = acc
            conf[:, t, others] = (1.0 - acc)[:, None] * wrong[:, t, :]

    # distinct workers per item: a random start plus positive gaps that sum below n_workers
    start = rng.integers(0, n_workers, size=(n_items, 1))
    if m > 1:
        max_gap = max(n_workers // m, 1)
        gaps = rng.integers(1, max_gap + 1, size=(n_items, m - 1))
        offsets = np.concatenate([np.zeros((n_items, 1), dtype=np.int64), np.cumsum(gaps, axis=1)], axis=1)
    else:
        offsets = np.zeros((n_items, 1), dtype=np.int64)
    workers = ((start + offsets) % n_workers).ravel()
    items = np.repeat(np.arange(n_items), m)
    cum = np.cumsum(conf, axis=2)[workers, truth[items]]
    u = rng.random(items.size)
    labels = np.minimum((u[:, None] > cum).sum(axis=1), k - 1)
    answers = pd.DataFrame(
        {"item": items.astype(np.int64), "worker": workers.astype(np.int64), "label": labels}
    )
    return answers, pd.Series(truth, index=pd.RangeIndex(n_items, name="item"), name="label")
