"""Consensus labels, annotator quality and what to relabel, for items with several answers.

The method is CROWDLAB (Goh, Mueller and Northcutt, "CROWDLAB: Supervised learning to
infer consensus labels and quality scores for data with multiple annotators", 2022),
with the relabelling score of ActiveLab (Goh and Mueller, "ActiveLab: Active Learning
with Re-Labeling by Multiple Annotators", 2023). Everything works on the integer codes
of an :class:`~softlabels.core.annotations.Annotations` with ``np.bincount``; nothing
loops over items or workers in Python.

How the answers and the model are weighed
-----------------------------------------
1. A first consensus is the majority vote; ties go to the class the model finds most
   probable (without a model, to the first class in class order).
2. ``baseline_error`` is the error of always answering the most common consensus class.
   Each worker ``j`` gets ``w_j = max(1 - (1 - agreement_j) / baseline_error, 0.001)``,
   where ``agreement_j`` is the share of the worker's answers that match the consensus
   on items with at least two answers (the mean agreement for a worker without such
   items). The model gets ``w_M = max(1 - error_M / baseline_error, 0.001) *
   sqrt(mean answers per item)``, ``error_M`` being how often its top class misses
   the consensus.
3. Each answer ``l`` becomes a distribution: ``P`` on ``l`` and ``(1 - P) / (K - 1)``
   on every other class, ``P`` being the share of the answers on items with at least
   two answers that match the first consensus (1 when no item has two).
4. The item's distribution is the weighted average
   ``(w_M p_model + sum_answers w_j L_answer) / (w_M + sum_answers w_j)``; the final
   consensus is its top class and the consensus quality its probability.

Without ``pred_probs`` the model term is absent (``w_M = 0``): the consensus is a
weighted vote, each worker weighed by agreement as above.

cleanlab 2.9 (``get_label_quality_multiannotator``) differs in five places: it weighs a
worker by his agreement with the other workers on the same items, not with the first
consensus; it measures ``baseline_error`` and ``error_M`` on the items with at least two
answers only; its ``P`` is the mean over those items of the share of their answers
equal to the consensus (here every such answer counts once); it clips weights at
``1e-6``, not ``0.001``; and the label quality of a worker's answer is read from the
item's distribution with that answer included (here it is left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from softlabels.audit.crowdlab import baseline_error, class_columns, clip_trust, source_weight
from softlabels.core.validation import check_int, check_pred_probs
from softlabels.core.annotations import Annotations, as_annotations, show
from softlabels.core.errors import InputError

__all__ = ["annotator_quality", "consensus", "select_items_to_relabel"]

@dataclass(frozen=True)
class _Crowdlab:
    """Everything the three public functions share."""

    ann: Annotations
    probs: np.ndarray | None  # (n_items, K) model probabilities, or None
    worker_weight: np.ndarray  # (n_workers,)
    model_weight: float  # 0 without a model
    trust: float  # P: probability an answer puts on its own label
    weighted_votes: np.ndarray  # (n_items, K) sum of worker weights per answered class
    weight_sum: np.ndarray  # (n_items,) sum of worker weights of the item's answers
    post: np.ndarray  # (n_items, K) combined distribution
    consensus: np.ndarray  # (n_items,) argmax of post


def _prepare(
    annotations: Any, pred_probs: Any, classes: Sequence[Any] | None
) -> tuple[Annotations, np.ndarray | None]:
    ann = as_annotations(annotations, classes=classes)
    if ann.n_classes < 2:
        raise InputError(
            f"annotations need at least 2 classes; got {ann.classes.tolist()} (declare the "
            "class list with classes=...)."
        )
    if pred_probs is None:
        return ann, None
    probs = check_pred_probs(pred_probs, name="pred_probs", n_classes=ann.n_classes)
    if hasattr(pred_probs, "item_ids") and hasattr(pred_probs, "probs"):
        ids = pd.Index(np.asarray(pred_probs.item_ids))
        pos = ids.get_indexer(ann.item_ids)
        if (pos < 0).any():
            pos = pd.Index([str(i) for i in ids]).get_indexer([str(i) for i in ann.item_ids])
        missing = np.flatnonzero(pos < 0)
        if missing.size:
            raise InputError(
                f"pred_probs has no row for item {show(ann.item_ids[missing[0]])} "
                f"({missing.size} annotated items missing)."
            )
        cols = class_columns(pred_probs.classes, ann.classes, "pred_probs")
        return ann, probs[np.ix_(pos, cols)]
    if probs.shape[0] != ann.n_items:
        raise InputError(
            f"pred_probs has {probs.shape[0]} rows but the annotations have {ann.n_items} "
            "items (rows must follow annotations.item_ids)."
        )
    return ann, probs


def _per_worker_mean(
    worker: np.ndarray, values: np.ndarray, used: np.ndarray, n_workers: int
) -> np.ndarray:
    """Mean of ``values`` over each worker's answers where ``used``; NaN where none."""
    n = np.bincount(worker, weights=used, minlength=n_workers)
    total = np.bincount(worker, weights=np.where(used, values, 0.0), minlength=n_workers)
    return np.divide(total, n, out=np.full(n_workers, np.nan), where=n > 0)


def _argmax_with_tiebreak(counts: np.ndarray, probs: np.ndarray | None) -> np.ndarray:
    """Top class of each row of integer counts; ties to the most probable class."""
    if probs is None:
        return counts.argmax(axis=1)
    top = counts.max(axis=1, keepdims=True)
    return np.where(counts == top, probs + 1.0, probs - 1.0).argmax(axis=1)


def _answer_likelihood_sums(
    weighted_votes: np.ndarray, weight_sum: np.ndarray, trust: float, k: int
) -> np.ndarray:
    """``sum_answers w L_answer``: ``P`` times the weight on each answered class plus
    ``(1 - P)/(K - 1)`` times the weight on the other classes."""
    other = (1.0 - trust) / (k - 1)
    return trust * weighted_votes + other * (weight_sum[:, None] - weighted_votes)


def _fit(annotations: Any, pred_probs: Any, classes: Sequence[Any] | None) -> _Crowdlab:
    ann, probs = _prepare(annotations, pred_probs, classes)
    k, n_items, n_workers = ann.n_classes, ann.n_items, ann.n_workers
    item = ann.item.astype(np.int64)
    worker = ann.worker.astype(np.int64)
    label = ann.label.astype(np.int64)
    counts = ann.counts
    per_item = ann.answers_per_item

    first = _argmax_with_tiebreak(counts, probs)
    shared = per_item[item] >= 2
    hit = (label == first[item]) & shared
    agreement = _per_worker_mean(worker, hit, shared, n_workers)
    if shared.any():
        trust = float(hit.sum() / shared.sum())
        fill = float(np.nanmean(agreement))
    else:  # one answer per item: nothing to compare, every worker alike
        trust, fill = 1.0, 1.0
    trust = clip_trust(trust, k)

    baseline = baseline_error(first, k)
    filled = np.where(np.isnan(agreement), fill, agreement)
    worker_weight = source_weight(1.0 - filled, baseline)
    model_weight = 0.0
    if probs is not None:
        error = float(np.mean(probs.argmax(axis=1) != first))
        model_weight = source_weight(error, baseline)
        model_weight *= float(np.sqrt(per_item.mean()))

    w = worker_weight[worker]
    cells = np.bincount(item * k + label, weights=w, minlength=n_items * k)
    weighted_votes = cells.reshape(n_items, k)
    weight_sum = np.bincount(item, weights=w, minlength=n_items)
    numer = _answer_likelihood_sums(weighted_votes, weight_sum, trust, k)
    denom = weight_sum.copy()
    if probs is not None:
        numer += model_weight * probs
        denom += model_weight
    post = numer / denom[:, None]
    return _Crowdlab(
        ann, probs, worker_weight, model_weight, trust, weighted_votes, weight_sum, post,
        post.argmax(axis=1),
    )


def consensus(
    annotations: Any, pred_probs: Any = None, *, classes: Sequence[Any] | None = None
) -> pd.DataFrame:
    """Consensus label and its quality for every item (CROWDLAB).

    Parameters
    ----------
    annotations : Annotations, DataFrame or path
        Long-format answers (``item, worker, label``); anything
        :func:`~softlabels.core.annotations.as_annotations` accepts.
    pred_probs : array-like of shape (n_items, K) or SoftLabels, optional
        Out-of-sample model probabilities, rows in the order of
        ``annotations.item_ids`` and columns in the order of ``annotations.classes``
        (a SoftLabels is aligned by its item ids and class names). Without it the consensus is a
        weighted vote of the workers.
    classes : sequence, optional
        The class list, in column order, when the answers are a table (by default
        the sorted distinct labels; declare it when some class has no answer).

    Returns
    -------
    DataFrame
        One row per item in the order of ``annotations.item_ids``: ``item``,
        ``consensus_label``, ``consensus_quality`` (the combined probability of the
        consensus label, in ``[0, 1]``; low means doubtful), ``annotator_agreement``
        (share of the item's answers equal to the consensus) and ``num_answers``.
        ``frame.attrs`` holds ``model_weight`` and ``trust``.

    Notes
    -----
    The weighting is described in the module docstring: workers and the model are
    weighed by how much better than the majority-class baseline they agree with a
    first, majority-vote consensus; answers are smoothed one-hot distributions.

    Examples
    --------
    >>> import pandas as pd
    >>> answers = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2, 3, 3],
    ...                         "worker": ["a", "b", "c", "a", "b", "c", "a", "b"],
    ...                         "label": ["x", "x", "y", "y", "y", "y", "x", "y"]})
    >>> out = consensus(answers, pred_probs=[[0.8, 0.2], [0.1, 0.9], [0.3, 0.7]])
    >>> out[["item", "consensus_label", "num_answers"]].values.tolist()
    [[1, 'x', 3], [2, 'y', 3], [3, 'y', 2]]
    >>> out["consensus_quality"].round(2).tolist()
    [0.78, 0.84, 0.72]
    """
    fit = _fit(annotations, pred_probs, classes)
    ann = fit.ann
    rows = np.arange(ann.n_items)
    c = fit.consensus
    frame = pd.DataFrame(
        {
            "item": ann.item_ids,
            "consensus_label": ann.classes[c],
            "consensus_quality": fit.post[rows, c],
            "annotator_agreement": ann.counts[rows, c] / ann.answers_per_item,
            "num_answers": ann.answers_per_item.astype(np.int64),
        }
    )
    frame.attrs.update(model_weight=fit.model_weight, trust=fit.trust)
    return frame


def annotator_quality(
    annotations: Any, pred_probs: Any = None, *, classes: Sequence[Any] | None = None
) -> pd.DataFrame:
    """Quality of each worker: agreement with the consensus and quality of his labels.

    For every answer, its *label quality* is the probability that the combined
    distribution of the item **without that answer** gives to the answered class (the
    other workers and the model vouch for it; an answer never vouches for itself).
    Answers on items nobody else labelled, without a model, have none.

    ``quality = lam * label_quality + (1 - lam) * agreement`` with
    ``lam = w_M / (w_M + mean worker weight)`` (CROWDLAB): the stronger the model,
    the more the label quality counts; without a model, quality is agreement.

    Parameters
    ----------
    annotations, pred_probs, classes
        As in :func:`consensus`.

    Returns
    -------
    DataFrame
        One row per worker in the order of ``annotations.worker_ids``: ``worker``,
        ``num_answers``, ``agreement`` (share of his answers equal to the final
        consensus, on items with at least two answers; NaN when there are none),
        ``label_quality`` (mean over his answers; NaN when none has one), ``quality``
        (NaN only when both parts are) and ``weight`` (his weight in the consensus).
        Worst first: ``frame.sort_values("quality")``.

    Examples
    --------
    >>> import pandas as pd
    >>> answers = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2, 3, 3, 3],
    ...                         "worker": ["a", "b", "c"] * 3,
    ...                         "label": ["x", "x", "y", "y", "y", "x", "x", "x", "y"]})
    >>> q = annotator_quality(answers)
    >>> q[["worker", "agreement", "quality"]].values.tolist()
    [['a', 1.0, 1.0], ['b', 1.0, 1.0], ['c', 0.0, 0.0]]
    """
    fit = _fit(annotations, pred_probs, classes)
    ann = fit.ann
    k, n_workers = ann.n_classes, ann.n_workers
    item = ann.item.astype(np.int64)
    worker = ann.worker.astype(np.int64)
    label = ann.label.astype(np.int64)

    shared = ann.answers_per_item[item] >= 2
    agreement = _per_worker_mean(worker, label == fit.consensus[item], shared, n_workers)

    # leave-one-out combined probability of each answer's own class
    w = fit.worker_weight[worker]
    votes_l = fit.weighted_votes[item, label] - w
    sum_l = fit.weight_sum[item] - w
    numer = _answer_likelihood_sums(votes_l[:, None], sum_l, fit.trust, k)[:, 0]
    numer, denom = _add_model(fit, numer, sum_l, item, label)
    valid = denom > 1e-12
    lq = np.divide(numer, denom, out=np.zeros_like(numer), where=valid)
    label_quality = _per_worker_mean(worker, lq, valid, n_workers)

    lam = fit.model_weight / (fit.model_weight + float(fit.worker_weight.mean()))
    parts = np.stack([label_quality, agreement])
    share = np.array([lam, 1.0 - lam])[:, None] * ~np.isnan(parts)
    total = share.sum(axis=0)
    quality = np.divide(
        (np.nan_to_num(parts) * share).sum(axis=0), total,
        out=np.full(n_workers, np.nan), where=total > 0,
    )
    return pd.DataFrame(
        {
            "worker": ann.worker_ids,
            "num_answers": ann.answers_per_worker.astype(np.int64),
            "agreement": agreement,
            "label_quality": label_quality,
            "quality": quality,
            "weight": fit.worker_weight,
        }
    )


def _add_model(
    fit: _Crowdlab, numer: np.ndarray, denom: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Add the model's weighted probability of class ``cols`` of item ``rows``."""
    if fit.probs is None:
        return numer, denom
    return numer + fit.model_weight * fit.probs[rows, cols], denom + fit.model_weight


def _relabel_scores(fit: _Crowdlab) -> np.ndarray:
    """Expected quality of each item's consensus with one uninformative pseudo-answer."""
    ann = fit.ann
    k = ann.n_classes
    rows = np.arange(ann.n_items)
    c = fit.consensus
    numer = _answer_likelihood_sums(fit.weighted_votes, fit.weight_sum, fit.trust, k)[rows, c]
    numer, denom = _add_model(fit, numer, fit.weight_sum, rows, c)
    prior = float(fit.worker_weight.mean())
    return (numer + prior / k) / (denom + prior)


def select_items_to_relabel(
    annotations: Any,
    pred_probs: Any = None,
    *,
    budget: int,
    classes: Sequence[Any] | None = None,
) -> np.ndarray:
    """The ``budget`` items that most need one more answer, most needy first.

    The score of an item is the combined probability of its consensus label
    (:func:`consensus`) after adding one pseudo-answer of average worker weight that
    puts ``1/K`` on every class::

        (w_M p_c + sum_answers w_j L_answer[c] + w_bar / K) / (w_M + sum_answers w_j + w_bar)

    where ``c`` is the consensus. It is low when the answers split, when they
    contradict a confident model, or when there are few of them (the pseudo-answer
    weighs more against one answer than against ten): the expected quality of the
    consensus, as in ActiveLab (Goh and Mueller 2023). Lowest scores come first; ties
    go to the item with fewer answers, then to the first in ``annotations.item_ids``.

    Parameters
    ----------
    annotations, pred_probs
        As in :func:`consensus`.
    budget : int
        How many items to return (at most the number of items).
    classes
        As in :func:`consensus`.

    Returns
    -------
    ndarray
        Item ids (values of ``annotations.item_ids``), ``min(budget, n_items)`` of them.

    Examples
    --------
    >>> import pandas as pd
    >>> answers = pd.DataFrame({"item": ["p", "p", "p", "q", "q", "r"],
    ...                         "worker": ["a", "b", "c", "a", "b", "a"],
    ...                         "label": [0, 0, 0, 0, 1, 1]})
    >>> select_items_to_relabel(answers, budget=2).tolist()
    ['q', 'r']
    """
    budget = check_int(budget, "budget", "select_items_to_relabel", low=1)
    fit = _fit(annotations, pred_probs, classes)
    scores = _relabel_scores(fit)
    order = np.lexsort((np.arange(scores.size), fit.ann.answers_per_item, scores))
    return fit.ann.item_ids[order[:budget]]
