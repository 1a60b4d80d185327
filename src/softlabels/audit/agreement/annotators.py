"""Per-annotator statistics: agreement with the consensus, confusion matrices, spammer scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from softlabels.core.annotations import Annotations, as_annotations
from softlabels.core.soft import SoftLabels
from softlabels.audit.agreement._coders import _coders, _consensus_matrix, _ratio, _TIE_ATOL

__all__ = ["annotator_confusions", "annotator_table"]


# Rows of (groups x classes) work arrays built at once: bounds memory for many classes.
_BLOCK_CELLS = 1 << 22


@dataclass(frozen=True)
class _WorkerPass:
    n_items: np.ndarray  # (W,)
    n_shared: np.ndarray  # (W,)
    accuracy: np.ndarray  # (W,)
    agreement: np.ndarray  # (W,)
    confusion: np.ndarray  # (W, K, K) counts [worker, consensus class, answered class]
    met: np.ndarray  # (W, K) the class is a most probable consensus class on one of his items


def _worker_pass(ann: Annotations, soft_labels: Any) -> _WorkerPass:
    c = _coders(ann)
    k, n_workers = ann.n_classes, ann.n_workers
    n_groups = c.first.shape[0]
    others = c.n_coders[c.group_item] - 1.0  # other workers on the group's item
    shared = others > 0
    # agreement: share of the other workers' values equal to the worker's answer
    agree_entry = c.weight * (c.votes[c.item, c.label] - c.weight)
    agree_group = _ratio(np.bincount(c.group, weights=agree_entry, minlength=n_groups), others)

    given = None if soft_labels is None else _consensus_matrix(ann, soft_labels)
    valid = np.ones(n_groups, dtype=bool) if given is not None else shared
    # class-major (K, n) layouts: reductions over the few classes run on contiguous rows
    source = np.ascontiguousarray((c.votes if given is None else given).T)
    acc_group = np.zeros(n_groups)
    confusion = np.zeros((n_workers * k, k))  # [worker * K + answered, consensus]
    met = np.zeros(n_workers * k, dtype=bool)
    block = max(1, _BLOCK_CELLS // max(k, 1))
    bounds = np.append(c.first, c.item.shape[0])
    for g0 in range(0, n_groups, block):
        g1 = min(g0 + block, n_groups)
        e0, e1 = bounds[g0], bounds[g1]
        local = c.group[e0:e1] - g0
        lab = c.label[e0:e1]
        wt = c.weight[e0:e1] * valid[g0:g1][local]
        cons = np.take(source, c.group_item[g0:g1], axis=1)
        if given is None:
            # majority vote of the other workers (leave-one-out), ties shared equally
            cons[lab, local] -= c.weight[e0:e1]
        top = cons >= cons.max(axis=0) - _TIE_ATOL  # the most probable consensus classes
        if given is None:
            cons = top * (1.0 / top.sum(axis=0))
        cls, grp = np.nonzero(top[:, valid[g0:g1]])
        met[c.group_worker[g0:g1][valid[g0:g1]][grp] * k + cls] = True
        acc_group[g0:g1] = np.bincount(local, weights=wt * cons[lab, local], minlength=g1 - g0)
        pair = c.pair[e0:e1]
        for j in range(k):
            confusion[:, j] += np.bincount(
                pair, weights=wt * cons[j, local], minlength=n_workers * k
            )
    w_valid = c.group_worker[valid]
    w_shared = c.group_worker[shared]
    return _WorkerPass(
        n_items=np.bincount(c.group_worker, minlength=n_workers),
        n_shared=np.bincount(w_shared, minlength=n_workers),
        accuracy=_ratio(
            np.bincount(w_valid, weights=acc_group[valid], minlength=n_workers),
            np.bincount(w_valid, minlength=n_workers).astype(np.float64),
        ),
        agreement=_ratio(
            np.bincount(w_shared, weights=agree_group[shared], minlength=n_workers),
            np.bincount(w_shared, minlength=n_workers).astype(np.float64),
        ),
        confusion=confusion.reshape(n_workers, k, k).transpose(0, 2, 1),
        met=met.reshape(n_workers, k),
    )


def _row_normalise(confusion: np.ndarray) -> np.ndarray:
    return _ratio(confusion, confusion.sum(axis=2, keepdims=True))


def _spammer_scores(confusion: np.ndarray, met: np.ndarray) -> np.ndarray:
    """Raykar & Yu's multiclass spammer score of each (K, K) confusion-count matrix,
    over the rows (true classes) the worker met (``met``, (W, K))."""
    defined = met & (confusion.sum(axis=2) > 0)  # (W, K)
    rates = np.nan_to_num(_row_normalise(confusion)) * defined[:, :, None]
    k_def = defined.sum(axis=1).astype(np.float64)
    sq = (rates**2).sum(axis=2).sum(axis=1)
    total = rates.sum(axis=1)  # undefined rows are zero
    pair_sum = k_def * sq - (total**2).sum(axis=1)  # sum over row pairs of squared distances
    score = _ratio(pair_sum, k_def * (k_def - 1.0))
    return np.clip(score, 0.0, 1.0)


def annotator_confusions(
    annotations: Any, soft_labels: Any = None, *, normalize: bool = True
) -> np.ndarray:
    """Each worker's confusion matrix against the consensus.

    ``C[w, k, l]`` is the (expected) number of items on which worker ``w`` answered ``l``
    while the consensus is ``k``. The consensus is the same as in
    :func:`annotator_table`: ``soft_labels`` when given, otherwise the leave-one-out
    majority vote of the other workers (items nobody else answered are left out).

    Parameters
    ----------
    annotations : Annotations, DataFrame or path
        Long-format answers (``item, worker, label``).
    soft_labels : SoftLabels or array of shape (n_items, n_classes), optional
        The consensus. A :class:`~softlabels.SoftLabels` is aligned by item id and
        class name; an array must follow ``Annotations.item_ids`` and the class order.
    normalize : bool, default=True
        Divide each row by its total (rates ``P(answer l | consensus k)``); rows without
        any mass are NaN. ``False`` returns the counts.

    Returns
    -------
    ndarray of shape (n_workers, n_classes, n_classes)

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2], "worker": list("abcabc"),
    ...                    "label": [0, 0, 1, 1, 1, 1]})
    >>> annotator_confusions(df, normalize=False)[2].tolist()  # c answers 1 whatever the truth
    [[0.0, 1.0], [0.0, 1.0]]
    """
    ann = as_annotations(annotations)
    conf = _worker_pass(ann, soft_labels).confusion
    return _row_normalise(conf) if normalize else conf


def annotator_table(annotations: Any, soft_labels: Any = None) -> pd.DataFrame:
    """One row of statistics per worker.

    Columns:

    * ``worker``: the worker id.
    * ``n_answers``: number of answers (repeated answers on one item included).
    * ``n_items``: number of distinct items answered.
    * ``n_items_shared``: items answered that at least one *other* worker answered too.
    * ``accuracy``: agreement with the consensus. Without ``soft_labels`` the consensus
      of an item is the majority vote of the *other* workers on it (leave-one-out, so
      a worker is never compared with his own vote; tied classes share the credit
      equally); items nobody else answered are left out. With ``soft_labels`` it is the
      expected accuracy ``mean_i p_i(answer)`` over all the worker's items. Soft labels
      fitted on the same answers already contain the worker's own votes, so this
      accuracy is optimistic for workers who answered much.
    * ``agreement``: over the shared items, the mean share of the other workers who
      gave the worker's answer (pairwise agreement).
    * ``spammer_score``: Raykar & Yu (2012) score of the worker's confusion matrix
      ``A`` (rows: consensus class, rows normalised) against the same consensus:
      ``S = 1 / (K (K - 1)) * sum_{c < c'} ||A_c - A_c'||^2``, the squared Frobenius
      distance of ``A`` from the closest rank-one matrix ``e v^T`` scaled to ``[0, 1]``.
      0: the answer does not depend on the true class (a spammer, whatever his
      accuracy); 1: a perfect (or perfectly permuting) worker. For ``K = 2`` it is
      ``(sensitivity + specificity - 1)^2``. Only the consensus classes the worker
      met count (``K`` is their number): those that are the most probable consensus
      class (ties included) on at least one of his items, so that the row of a class
      a soft consensus only gives a sliver of probability does not count. NaN when he
      met fewer than two.

    Statistics that are undefined for a worker (no shared item, fewer than two
    consensus classes met) are NaN. A worker with several answers on one item counts
    the item once, with his answers weighted equally.

    Parameters
    ----------
    annotations : Annotations, DataFrame or path
        Long-format answers (``item, worker, label``).
    soft_labels : SoftLabels or array of shape (n_items, n_classes), optional
        A consensus to compare with (e.g. from :func:`softlabels.aggregate`).

    Returns
    -------
    DataFrame
        One row per worker, in the order of ``Annotations.worker_ids``.

    See Also
    --------
    annotator_confusions : the confusion matrices behind ``spammer_score``.

    References
    ----------
    V. C. Raykar and S. Yu, "Eliminating spammers and ranking annotators for
    crowdsourced labeling tasks", JMLR 13 (2012) 491-518.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2], "worker": list("abcabc"),
    ...                    "label": [0, 0, 1, 1, 1, 1]})
    >>> t = annotator_table(df)
    >>> t[["worker", "accuracy", "agreement"]].round(2).values.tolist()
    [['a', 0.75, 0.75], ['b', 0.75, 0.75], ['c', 0.5, 0.5]]
    """
    ann = as_annotations(annotations)
    res = _worker_pass(ann, soft_labels)
    return pd.DataFrame(
        {
            "worker": ann.worker_ids,
            "n_answers": ann.answers_per_worker.astype(np.int64),
            "n_items": res.n_items.astype(np.int64),
            "n_items_shared": res.n_shared.astype(np.int64),
            "accuracy": res.accuracy,
            "agreement": res.agreement,
            "spammer_score": _spammer_scores(res.confusion, res.met),
        }
    )
