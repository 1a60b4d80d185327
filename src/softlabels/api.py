"""The one-call entry points: answers in, SoftLabels (or the fitted model) out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from softlabels.core.annotations import Annotations, as_annotations
from softlabels.core.defaults import DEFAULT_CROWD_METHOD
from softlabels.core.errors import InputError
from softlabels.core.soft import SoftLabels

__all__ = ["aggregate", "check_gold", "fit_method"]


def aggregate(
    answers: Any,
    method: str = DEFAULT_CROWD_METHOD,
    *,
    gold: Any = None,
    item_col: str = "item",
    worker_col: str = "worker",
    label_col: str = "label",
    classes: Sequence[Any] | None = None,
    duplicates: str = "keep",
    callback: Callable[[int, float], Any] | None = None,
    **params: Any,
) -> SoftLabels:
    """Aggregate crowd answers into soft labels with a named method.

    Parameters
    ----------
    answers : DataFrame, path or Annotations
        Long format, one row per answer. For an Annotations the reading options
        below are already applied and are ignored (``classes`` must then agree).
    method : str, default=DEFAULT_CROWD_METHOD ("stacked")
        One of :func:`softlabels.list_methods`.
    gold : mapping, Series or DataFrame, optional
        Known labels for some items (``item -> label``); at least one of its items
        must be among the answers (see :func:`check_gold`).
    item_col, worker_col, label_col, classes, duplicates
        How to read ``answers`` (see :meth:`Annotations.from_frame`).
    callback : callable, optional
        Called as ``callback(iteration, objective)`` after every iteration of an
        iterative method (progress bars, logging).
    **params
        Parameters of the method, e.g. ``n_iter=50``.

    Returns
    -------
    SoftLabels
        One distribution over the classes per answered item.

    Raises
    ------
    UnknownNameError
        ``method`` is not a registered crowd-answer method.
    InvalidParameterError
        A parameter in ``params`` that the method does not take (the message lists
        those it does), or a value it rejects.
    InputError
        Malformed answers or gold labels.

    Examples
    --------
    >>> import pandas as pd, softlabels
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2], "worker": list("abcabc"),
    ...                    "label": ["cat", "cat", "dog", "dog", "dog", "cat"]})
    >>> softlabels.aggregate(df, "majority-vote").hard().tolist()
    ['cat', 'dog']
    """
    return fit_method(
        answers,
        method,
        gold=gold,
        item_col=item_col,
        worker_col=worker_col,
        label_col=label_col,
        classes=classes,
        duplicates=duplicates,
        callback=callback,
        **params,
    ).soft_labels_


def fit_method(
    answers: Any,
    method: str = DEFAULT_CROWD_METHOD,
    *,
    gold: Any = None,
    item_col: str = "item",
    worker_col: str = "worker",
    label_col: str = "label",
    classes: Sequence[Any] | None = None,
    duplicates: str = "keep",
    callback: Callable[[int, float], Any] | None = None,
    **params: Any,
) -> Any:
    """:func:`aggregate`, returning the fitted model rather than its soft labels (for
    its ``reliability_frame()``, ``n_iter_``, ``converged_`` and ``annotations_``).

    Parameters
    ----------
    answers : DataFrame, path or Annotations
        Long format, one row per answer, as in :func:`aggregate`.
    method : str, optional
        One of :func:`softlabels.list_methods` (by default
        :data:`~softlabels.DEFAULT_CROWD_METHOD`, ``"stacked"``); it may carry parameters
        (``"glad:n_iter=50"``, see :func:`~softlabels.infer.registry.parse_spec`).
    gold : mapping, Series or DataFrame, optional
        Known labels for some items (``item -> label``), checked by :func:`check_gold`
        and passed to the model's ``fit``.
    item_col, worker_col, label_col, classes, duplicates
        How to read ``answers`` (see :meth:`Annotations.from_frame`).
    callback : callable, optional
        Called as ``callback(iteration, objective)`` after every iteration of an
        iterative method.
    **params
        Parameters of the method; they override those written in ``method``.

    Returns
    -------
    estimator
        The fitted model, its soft labels in ``soft_labels_``.

    Examples
    --------
    >>> import pandas as pd, softlabels
    >>> df = pd.DataFrame({"item": [1, 1, 2, 2], "worker": list("abab"),
    ...                    "label": ["x", "x", "y", "x"]})
    >>> model = softlabels.fit_method(df, "majority-vote")
    >>> model.reliability_frame()["n_answers"].tolist()
    [2, 2]
    """
    from softlabels.infer.registry import create_method

    model = create_method(method, **params)
    ann = as_annotations(
        answers,
        item_col=item_col,
        worker_col=worker_col,
        label_col=label_col,
        classes=classes,
        duplicates=duplicates,
    )
    if gold is not None:
        check_gold(ann, gold)
    return model.fit(ann, gold=gold, callback=callback)


def check_gold(ann: Annotations, gold: Any) -> np.ndarray:
    """The gold codes of ``gold`` for the answers ``ann`` (-1 where unknown), checked:
    every label must be a class of the answers, and at least one gold item must have
    been answered (a gold table that matches nothing is taken for a mistake, such as
    ids of another dataset). Errors are :class:`InputError`.

    Parameters
    ----------
    ann : Annotations
        The answers.
    gold : mapping, Series or DataFrame
        Known labels by item (``item -> label``).

    Returns
    -------
    ndarray of shape (n_items,)
        The class index of each item's gold label, -1 where it has none.
    """
    codes = ann.gold_codes(gold)
    if len(gold) and (codes < 0).all():
        raise InputError(f"gold: none of its items appear in the answers ({len(gold)} given).")
    return codes
