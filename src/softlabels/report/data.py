"""Resolve the report's inputs into one aligned bundle, and format numbers for display."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from softlabels.core.validation import check_labels, check_pred_probs
from softlabels.core.annotations import Annotations, as_annotations, class_list, show
from softlabels.core.errors import InputError
from softlabels.core.soft import SoftLabels

__all__ = ["ReportData", "resolve_inputs", "fmt_int", "fmt_num", "fmt_pct"]


@dataclass
class ReportData:
    """Everything the sections read, aligned on one item order.

    Parameters
    ----------
    classes : numpy.ndarray
        Class names.
    n_items : int
        Number of items.
    item_ids : numpy.ndarray
        Item ids, in the report's item order.
    source : str
        Where the answers came from (a file name, or a description), shown on the page.
    ann : Annotations, optional
        The crowd answers.
    soft : SoftLabels, optional
        The soft labels, given or fitted.
    model : Any, optional
        The fitted crowd model.
    model_given : bool, default False
        Whether the caller fitted the model, not the report.
    labels : numpy.ndarray, optional
        Label of each item, as int codes.
    labels_source : str, default ''
        ``"given"`` or ``"consensus"``.
    pred : numpy.ndarray, optional
        Predicted probabilities, ``(n_items, n_classes)``.
    method : str, default ''
        Name of the crowd method.
    method_params : dict
        Its parameters.
    gold : Any, optional
        Known labels of some items (item id to label), checked.
    """

    classes: np.ndarray
    n_items: int
    item_ids: np.ndarray
    source: str
    ann: Annotations | None = None
    soft: SoftLabels | None = None
    model: Any = None
    model_given: bool = False  # fitted by the caller, not by the report
    labels: np.ndarray | None = None  # int codes
    labels_source: str = ""  # "given" or "consensus"
    pred: np.ndarray | None = None
    method: str = ""
    method_params: dict[str, Any] = field(default_factory=dict)
    gold: Any = None  # known labels of some items (item id -> label), checked


def _describe_source(answers: Any, ann: Annotations | None) -> str:
    if isinstance(answers, (str, os.PathLike)):
        return os.path.basename(os.fspath(answers)) or os.fspath(answers)
    if ann is not None and ann.source:
        return os.path.basename(ann.source) or ann.source
    if isinstance(answers, pd.DataFrame):
        return "a DataFrame of answers"
    if isinstance(answers, Annotations):
        return "an Annotations table"
    return ""


def _align(ids_from: np.ndarray, ids_to: np.ndarray, what: str, hint: str = "") -> np.ndarray:
    """Positions in ``ids_from`` of each id of ``ids_to``; every id must be present
    (else an error, ``hint`` appended), and none of ``ids_from`` repeated."""
    index = pd.Index(ids_from)
    if not index.is_unique:
        raise InputError(
            f"{what} has item {show(index[index.duplicated()][0])} more than once."
        )
    pos = index.get_indexer(ids_to)
    if (pos < 0).any():
        pos_s = pd.Index([str(i) for i in ids_from]).get_indexer([str(i) for i in ids_to])
        if not (pos_s < 0).any():
            return pos_s
        miss = ids_to[np.flatnonzero(pos < 0)[0]]
        raise InputError(
            f"{what} has no row for item {show(miss)} ({int((pos < 0).sum())} items missing)."
            + hint
        )
    return pos


def _label_codes(labels: Any, classes: np.ndarray, named: bool, n_items: int) -> np.ndarray:
    """Given labels as integer codes. Labels are class values; integer labels none of
    which is a class value are read as class indices 0..K-1."""
    values = labels.to_numpy() if isinstance(labels, pd.Series) else np.asarray(labels)
    if values.ndim != 1:
        raise InputError(f"labels must be 1-D (one label per item); got shape {values.shape}.")
    if values.shape[0] != n_items:
        raise InputError(f"labels has {values.shape[0]} rows but there are {n_items} items.")
    if not named:
        return check_labels(values, len(classes), n_items=n_items)
    if pd.isna(pd.Series(values, dtype=object)).any():
        row = int(np.flatnonzero(pd.isna(pd.Series(values, dtype=object)).to_numpy())[0])
        raise InputError(f"labels has a missing value at row {row}.")
    codes = pd.Index(classes).get_indexer(values)
    if (codes < 0).any():
        codes = pd.Index([str(c) for c in classes]).get_indexer([str(v) for v in values])
    bad = np.flatnonzero(codes < 0)
    if bad.size == values.shape[0] and values.dtype.kind in "iu":
        return check_labels(values, len(classes), n_items=n_items)
    if bad.size:
        raise InputError(
            f"labels: {bad.size} values are not among the classes {classes.tolist()} "
            f"(first at row {int(bad[0])}: {show(values[bad[0]])})."
        )
    return codes.astype(np.int64)


def _check_fitted_on(fitted: Annotations, ann: Annotations) -> None:
    """``model`` was fitted on the answers ``ann``: the same items, workers, classes and
    answers (its soft labels and skills are in their order)."""
    same = (fitted.n_answers == ann.n_answers
            and np.array_equal(fitted.item_ids, ann.item_ids)
            and np.array_equal(fitted.worker_ids, ann.worker_ids)
            and [str(c) for c in fitted.classes] == [str(c) for c in ann.classes]
            and np.array_equal(fitted.item, ann.item)
            and np.array_equal(fitted.worker, ann.worker)
            and np.array_equal(fitted.label, ann.label))
    if not same:
        raise InputError(
            "model was fitted on other answers than those given; pass the answers it "
            "was fitted on, or leave answers out to use them."
        )


def resolve_inputs(
    answers: Any,
    *,
    soft_labels: SoftLabels | None,
    labels: Any,
    pred_probs: Any,
    classes: Sequence[Any] | None,
    method: str,
    model: Any = None,
    method_params: Mapping[str, Any] | None,
    read_options: Mapping[str, Any],
    gold: Any = None,
) -> ReportData:
    """Read the answers, fit the crowd model when needed, and align labels and
    predicted probabilities to the items.

    Parameters
    ----------
    answers : Any
        Crowd answers: a file, a DataFrame or an Annotations; None without answers (or
        with ``model``, whose answers are used).
    soft_labels : SoftLabels or None
        Soft labels given instead of fitting ``method``; aligned on the answers' items.
    labels : array-like, Series or None
        Labels of the items (class names or indices); a Series is matched on its index.
    pred_probs : array-like, SoftLabels or None
        A model's predicted probabilities; a SoftLabels is matched by item id and class.
    classes : sequence or None
        Class names, when the inputs do not name them.
    method : str
        Crowd method fitted on the answers when neither ``soft_labels`` nor ``model``
        is given.
    model : Any, optional
        A fitted crowd model, whose soft labels are used.
    method_params : mapping or None
        Parameters of ``method``.
    read_options : mapping
        Keyword arguments of ``as_annotations`` when reading ``answers``.
    gold : Any, optional
        Known labels of some items; needs ``answers``.

    Returns
    -------
    ReportData

    Raises
    ------
    InputError
        When there is nothing to report on, both ``soft_labels`` and ``model`` are given,
        ``model`` is not fitted, ``gold`` comes without answers, or the inputs do not
        agree on the items or the classes.
    """
    given_model = model is not None
    if model is not None:
        if soft_labels is not None:
            raise InputError("pass soft_labels or model, not both.")
        fitted = getattr(model, "annotations_", None)
        if not isinstance(fitted, Annotations) or not isinstance(
                getattr(model, "soft_labels_", None), SoftLabels):
            raise InputError(
                f"model must be a fitted crowd model; got {type(model).__name__} "
                "without fitted soft labels (call fit first)."
            )
        if answers is None:
            answers = fitted
    if answers is None and soft_labels is None and labels is None and pred_probs is None:
        raise InputError(
            "nothing to report on: pass answers, soft_labels, or labels with pred_probs."
        )
    if soft_labels is not None and not isinstance(soft_labels, SoftLabels):
        raise InputError(
            f"soft_labels must be a SoftLabels; got {type(soft_labels).__name__}."
        )
    if soft_labels is not None and soft_labels.n_items == 0:
        raise InputError("soft_labels has no items.")
    ann = None
    soft = soft_labels
    if gold is not None and answers is None:
        raise InputError("gold needs crowd answers: it scores the labellers who gave them.")
    if answers is not None:
        ann = as_annotations(answers, classes=classes, **read_options)
        if gold is not None:
            from softlabels.api import check_gold

            check_gold(ann, gold)
        if model is not None:
            _check_fitted_on(model.annotations_, ann)
            soft = model.soft_labels_
        elif soft is None:
            from softlabels.infer.registry import create_method

            model = create_method(method, **dict(method_params or {})).fit(ann)
            soft = model.soft_labels_
        else:
            if [str(c) for c in soft.classes] != [str(c) for c in ann.classes]:
                raise InputError(
                    f"soft_labels classes {soft.classes.tolist()} differ from the answers' "
                    f"classes {ann.classes.tolist()}."
                )
            soft = soft.take(_align(soft.item_ids, ann.item_ids, "soft_labels"))
    prov = soft.provenance if soft is not None else {}
    data = ReportData(
        classes=np.asarray([]),
        n_items=0,
        item_ids=np.asarray([]),
        source=_describe_source(answers, ann),
        ann=ann,
        soft=soft,
        model=model,
        model_given=given_model,
        method=str(prov.get("method", "")) if soft is not None else "",
        method_params=dict(prov.get("params", {}) or {}) if soft is not None else {},
        gold=gold,
    )
    named = True
    if soft is not None:
        data.classes = np.asarray(soft.classes)
        data.item_ids = np.asarray(soft.item_ids)
    elif classes is not None:
        data.classes = class_list(pd.Series([], dtype=object), classes)
    elif isinstance(pred_probs, SoftLabels):
        data.classes = np.asarray(pred_probs.classes)
    if pred_probs is not None:
        if isinstance(pred_probs, SoftLabels):  # rows by item id, columns by class name
            from softlabels.audit.crowdlab import class_columns

            pred_sl = pred_probs
            if soft is not None:
                pred_sl = pred_sl.take(_align(pred_sl.item_ids, data.item_ids, "pred_probs"))
            cols = class_columns(pred_sl.classes, data.classes, "pred_probs")
            pred = check_pred_probs(pred_sl.probs[:, cols], n_classes=len(data.classes))
        else:
            pred = check_pred_probs(
                pred_probs, n_classes=len(data.classes) if data.classes.size else None
            )
        if not data.classes.size:
            data.classes = np.arange(pred.shape[1])
            named = False
        if soft is not None and pred.shape[0] != soft.n_items:
            raise InputError(
                f"pred_probs has {pred.shape[0]} rows but there are {soft.n_items} items."
            )
        if soft is None and isinstance(pred_probs, SoftLabels):
            data.item_ids = np.asarray(pred_probs.item_ids)  # the items are the model's
        data.pred = pred
    if labels is not None:
        if not data.classes.size:
            arr = labels.to_numpy() if isinstance(labels, pd.Series) else np.asarray(labels)
            if arr.dtype.kind not in "iuf":
                data.classes = np.asarray(sorted(pd.unique(arr), key=str))
            else:
                bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0) | (arr != np.round(arr)))
                if bad.size and arr.ndim == 1:  # other shapes: refused by _label_codes
                    raise InputError(
                        "labels must be class indices 0, 1, ... (or class names); "
                        f"row {int(bad[0])} is {arr[bad[0]].item()!r}."
                    )
                data.classes = np.arange(int(arr.max()) + 1 if arr.size and arr.ndim == 1 else 0)
                named = False
        if isinstance(labels, pd.Series) and data.item_ids.size:  # its index: item ids, as gold
            labels = labels.iloc[_align(
                labels.index.to_numpy(), data.item_ids, "labels",
                " A Series of labels is matched on its index (item ids); for labels in "
                "the items' order, pass labels.to_numpy().",
            )]
        n = soft.n_items if soft is not None else (
            data.pred.shape[0] if data.pred is not None else len(labels)
        )
        data.labels = _label_codes(labels, data.classes, named, n)
        data.labels_source = "given"
    elif data.pred is not None and soft is not None:
        data.labels = soft.hard_codes()
        data.labels_source = "consensus"
    if soft is None:
        data.n_items = len(data.labels) if data.labels is not None else data.pred.shape[0]
        if not data.item_ids.size:
            data.item_ids = np.arange(data.n_items)
    else:
        data.n_items = soft.n_items
    if data.classes.size < 2:
        raise InputError(f"a report needs at least 2 classes; got {data.classes.tolist()}.")
    return data


# ---------------------------------------------------------------------- formatting
def fmt_int(x: float) -> str:
    """12,345

    Parameters
    ----------
    x : float
        The number, rounded to an integer.

    Returns
    -------
    str
        With thousands separators.
    """
    return f"{int(round(float(x))):,}"


def fmt_num(x: float | None, digits: int = 3) -> str:
    """A number with ``digits`` decimals, or an en dash when missing or not finite. A
    non-zero number that would round to zero keeps two significant digits instead
    (``6.8e-06``, not ``0.000``).

    Parameters
    ----------
    x : float or None
        The number.
    digits : int, default 3
        Number of decimals.

    Returns
    -------
    str

    Examples
    --------
    >>> fmt_num(0.12345), fmt_num(6.8e-06), fmt_num(0.0), fmt_num(float("nan"))
    ('0.123', '6.8e-06', '0.000', '–')
    """
    if x is None:
        return "\u2013"
    x = float(x) + 0.0  # no '-0.000'
    if not math.isfinite(x):
        return "\u2013"
    if x != 0 and abs(x) < 0.5 * 10.0**-digits:
        return f"{x:.1e}"
    return f"{x:.{digits}f}"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    """A share in percent with ``digits`` decimals, or an en dash when missing or not
    finite. A share that is neither 0 nor 1 gets more decimals where it would print as
    ``0.0%`` or ``100.0%`` (one item of 2,500 is ``0.04%``).

    Parameters
    ----------
    x : float or None
        The share, between 0 and 1.
    digits : int, default 1
        Number of decimals of the percentage (more where needed, as above).

    Returns
    -------
    str

    Examples
    --------
    >>> fmt_pct(0.1234), fmt_pct(0.0004), fmt_pct(0.9996), fmt_pct(1.0)
    ('12.3%', '0.04%', '99.96%', '100.0%')
    """
    if x is None or not math.isfinite(float(x)):
        return "\u2013"
    x = float(x)
    shown = f"{100 * x:.{digits}f}"
    while 1e-9 < x < 1 - 1e-9 and float(shown) in (0.0, 100.0):  # not float noise
        digits += 1
        shown = f"{100 * x:.{digits}f}"
    return f"{shown.lstrip('-') if float(shown) == 0 else shown}%"
