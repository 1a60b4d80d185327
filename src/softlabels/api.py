"""The one-call entry point: answers in, SoftLabels out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from softlabels.core.annotations import as_annotations
from softlabels.core.soft import SoftLabels

__all__ = ["aggregate"]


def aggregate(
    answers: Any,
    method: str = "dawid-skene",
    *,
    gold: Any = None,
    item_col: str = "item",
    worker_col: str = "worker",
    label_col: str = "label",
    classes: Sequence[Any] | None = None,
    duplicates: str = "keep",
    **params: Any,
) -> SoftLabels:
    """Aggregate crowd answers into soft labels with a named method.

    Parameters
    ----------
    answers : DataFrame, path or Annotations
        Long format, one row per answer. For an Annotations the reading options
        below are already applied and are ignored (``classes`` must then agree).
    method : str, default="dawid-skene"
        One of :func:`softlabels.list_methods`.
    gold : mapping, Series or DataFrame, optional
        Known labels for some items (``item -> label``).
    item_col, worker_col, label_col, classes, duplicates
        How to read ``answers`` (see :meth:`Annotations.from_frame`).
    **params
        Parameters of the method, e.g. ``n_iter=50``.

    Examples
    --------
    >>> import pandas as pd, softlabels
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2], "worker": list("abcabc"),
    ...                    "label": ["cat", "cat", "dog", "dog", "dog", "cat"]})
    >>> softlabels.aggregate(df, "majority-vote").hard().tolist()
    ['cat', 'dog']
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
    return model.fit(ann, gold=gold).soft_labels_
