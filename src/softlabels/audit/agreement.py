"""Annotator statistics and agreement between annotators.

Everything here works on the integer codes of an :class:`~softlabels.core.annotations.Annotations`
and on its cached sparse ``item x (worker, label)`` count matrix; nothing loops over
items, workers or pairs of workers in Python.

**Workers as coders.** The agreement measures compare *workers*. A worker who answered
one item several times (the ``duplicates="keep"`` default of the answer table) is one
coder on that item whose value is the distribution of his answers there: each of his
``m`` answers on the item weighs ``1/m``. Pairs of values are only formed between two
different workers, so a worker never agrees with himself. With one answer per worker
and item (the usual case) every formula reduces to its textbook form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from softlabels.core.validation import (
    check_float,
    check_int,
    check_labels,
    check_option,
    check_pred_probs,
    check_probs,
)
from softlabels.core.annotations import Annotations, as_annotations, show
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import SoftLabels

__all__ = [
    "ESTES_QSCORE_WEIGHTS",
    "LabelRisk",
    "LabellerQuality",
    "annotator_confusions",
    "annotator_table",
    "bayesian_label_risk",
    "cohen_kappa",
    "fleiss_kappa",
    "item_ambiguity",
    "krippendorff_alpha",
    "labeller_quality",
    "pairwise_cohen_kappa",
]

Level = Literal["nominal", "ordinal", "interval", "ratio"]
_LEVELS = ("nominal", "ordinal", "interval", "ratio")

#: Weights of the Area, N (field count), Edge and Categorical components of the
#: per-assignment quality score of Estes et al. (2024); project-specific.
ESTES_QSCORE_WEIGHTS = (0.55, 0.225, 0.1, 0.125)

# Values that differ by less than this are ties (vote sums are sums of 1/m fractions).
_TIE_ATOL = 1e-9
# Rows of (groups x classes) work arrays built at once: bounds memory for many classes.
_BLOCK_CELLS = 1 << 22
# Worker x class x worker arrays up to this size are handled densely (64 MiB).
_DENSE_CELLS = 1 << 23


# ---------------------------------------------------------------------- shared pieces
@dataclass(frozen=True)
class _Coders:
    """The answers as coders: one entry per distinct (item, worker, label), grouped
    by (item, worker) pair ("group"); entries of a group are consecutive."""

    item: np.ndarray  # (n_entries,) item code
    worker: np.ndarray  # (n_entries,) worker code
    label: np.ndarray  # (n_entries,) class code
    pair: np.ndarray  # (n_entries,) worker * K + label
    weight: np.ndarray  # (n_entries,) share of the worker's answers on the item
    group: np.ndarray  # (n_entries,) index of the (item, worker) group
    first: np.ndarray  # (n_groups,) first entry of each group
    group_item: np.ndarray  # (n_groups,)
    group_worker: np.ndarray  # (n_groups,)
    n_coders: np.ndarray  # (n_items,) distinct workers per item
    votes: np.ndarray  # (n_items, K) sum of the coders' values
    indptr: np.ndarray  # CSR row pointer of the entries by item

    @property
    def one_hot(self) -> bool:
        """Whether every coder gives a single value (no worker split his answers)."""
        return bool(self.first.shape[0] == self.item.shape[0])


def _coders(ann: Annotations) -> _Coders:
    m = ann.item_pair_matrix
    if not m.has_sorted_indices:
        m = m.sorted_indices()
    k = ann.n_classes
    n_items = ann.n_items
    item = np.repeat(np.arange(n_items, dtype=np.int64), np.diff(m.indptr))
    pair = m.indices.astype(np.int64)
    worker = pair // k
    label = pair - worker * k
    count = np.asarray(m.data, dtype=np.float64)
    start = np.ones(item.shape[0], dtype=bool)
    start[1:] = (item[1:] != item[:-1]) | (worker[1:] != worker[:-1])
    first = np.flatnonzero(start)
    group = np.cumsum(start) - 1
    weight = count / np.add.reduceat(count, first)[group]
    group_item = item[first]
    votes = np.bincount(item * k + label, weights=weight, minlength=n_items * k)
    return _Coders(
        item=item,
        worker=worker,
        label=label,
        pair=pair,
        weight=weight,
        group=group,
        first=first,
        group_item=group_item,
        group_worker=worker[first],
        n_coders=np.bincount(group_item, minlength=n_items).astype(np.float64),
        votes=votes.reshape(n_items, k),
        indptr=np.asarray(m.indptr),
    )


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den is 0."""
    out = np.full(np.shape(num), np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _class_positions(given: np.ndarray, wanted: np.ndarray, what: str) -> np.ndarray:
    """Position in ``given`` of each class of ``wanted`` (matched by value, then text)."""
    pos = pd.Index(given).get_indexer(wanted)
    if (pos < 0).any():
        pos = pd.Index([str(c) for c in given]).get_indexer([str(c) for c in wanted])
    if (pos < 0).any() or len(given) != len(wanted):
        raise InputError(
            f"{what} has classes {list(given)} but the answers have classes {list(wanted)}."
        )
    return pos


def _id_positions(given: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Position in ``given`` of each id of ``wanted`` (-1 when absent)."""
    pos = pd.Index(given).get_indexer(wanted)
    if (pos < 0).any():
        alt = pd.Index([str(i) for i in given]).get_indexer([str(i) for i in wanted])
        if (alt >= 0).sum() > (pos >= 0).sum():
            pos = alt
    return pos


def _consensus_matrix(ann: Annotations, soft_labels: Any) -> np.ndarray:
    """(n_items, K) probabilities aligned to the items and classes of ``ann``."""
    k = ann.n_classes
    if isinstance(soft_labels, SoftLabels):
        cols = _class_positions(soft_labels.classes, ann.classes, "soft_labels")
        rows = _id_positions(soft_labels.item_ids, ann.item_ids)
        missing = np.flatnonzero(rows < 0)
        if missing.size:
            raise InputError(
                f"soft_labels has no row for item {show(ann.item_ids[missing[0]])} "
                f"({missing.size} of the {ann.n_items} answered items are missing)."
            )
        return np.asarray(soft_labels.probs)[np.ix_(rows, cols)]
    probs = check_pred_probs(soft_labels, name="soft_labels", n_classes=k)
    if probs.shape[0] != ann.n_items:
        raise InputError(
            f"soft_labels has {probs.shape[0]} rows but the answers cover {ann.n_items} "
            "items; pass a SoftLabels (aligned by item id) or one row per item in the "
            "order of Annotations.item_ids."
        )
    return probs


# ---------------------------------------------------------------------- annotators
@dataclass(frozen=True)
class _WorkerPass:
    n_items: np.ndarray  # (W,)
    n_shared: np.ndarray  # (W,)
    accuracy: np.ndarray  # (W,)
    agreement: np.ndarray  # (W,)
    confusion: np.ndarray  # (W, K, K) counts [worker, consensus class, answered class]


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
            top = cons >= cons.max(axis=0) - _TIE_ATOL
            cons = top * (1.0 / top.sum(axis=0))
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
    )


def _row_normalise(confusion: np.ndarray) -> np.ndarray:
    return _ratio(confusion, confusion.sum(axis=2, keepdims=True))


def _spammer_scores(confusion: np.ndarray) -> np.ndarray:
    """Raykar & Yu's multiclass spammer score of each (K, K) confusion-count matrix,
    over the rows (true classes) that have mass."""
    rates = np.nan_to_num(_row_normalise(confusion))
    defined = confusion.sum(axis=2) > 0  # (W, K)
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
      met count (``K`` is their number); NaN when he met fewer than two.

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
            "spammer_score": _spammer_scores(res.confusion),
        }
    )


# ---------------------------------------------------------------------- agreement
@dataclass(frozen=True)
class _Units:
    """Values per unit: ``votes[u, k]`` sums the coders' values, ``n_coders[u]`` counts
    coders. ``coder_values`` (coders x K) is None when every coder gives one value."""

    votes: np.ndarray
    n_coders: np.ndarray
    classes: np.ndarray
    coder_values: sp.csr_matrix | None = None
    coder_unit: np.ndarray | None = None

    def self_square(self) -> np.ndarray:
        """Per unit, sum over coders of ``||v||^2`` (the pairs of a coder with himself)."""
        if self.coder_values is None:
            return self.n_coders
        sq = np.asarray(self.coder_values.multiply(self.coder_values).sum(axis=1)).ravel()
        return np.bincount(self.coder_unit, weights=sq, minlength=self.votes.shape[0])

    def self_outer(self, unit_weight: np.ndarray) -> np.ndarray:
        """``sum_u w_u sum_{coders of u} v v^T``, a (K, K) matrix."""
        if self.coder_values is None:
            return np.diag(unit_weight @ self.votes)
        e = self.coder_values
        scaled = sp.diags(unit_weight[self.coder_unit]) @ e
        return np.asarray((e.T @ scaled).todense())


def _units(annotations: Any) -> _Units:
    if isinstance(annotations, (np.ndarray, list, tuple)):
        counts = _check_counts(annotations)
        return _Units(counts, counts.sum(axis=1), np.arange(counts.shape[1]))
    ann = as_annotations(annotations)
    c = _coders(ann)
    if c.one_hot:
        return _Units(c.votes, c.n_coders, ann.classes)
    values = sp.csr_matrix(
        (c.weight, (c.group, c.label)), shape=(c.first.shape[0], ann.n_classes)
    )
    return _Units(c.votes, c.n_coders, ann.classes, values, c.group_item)


def _check_counts(counts: Any) -> np.ndarray:
    try:
        arr = np.asarray(counts, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"counts must be numeric; {err}") from None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(
            f"a count matrix must be 2-D (n_items, n_classes) and non-empty; got shape {arr.shape}."
        )
    bad = ~np.isfinite(arr) | (arr < 0) | (arr != np.round(arr))
    if bad.any():
        r, k = np.argwhere(bad)[0]
        raise InputError(
            "a count matrix must hold non-negative whole numbers of answers; "
            f"row {r}, column {k} is {arr[r, k]!r}."
        )
    return arr


def _distances(level: str, classes: np.ndarray, marginals: np.ndarray, values: Any) -> np.ndarray:
    """Krippendorff's squared difference function delta^2(c, k) for the classes."""
    k = classes.shape[0]
    if level == "nominal":
        return 1.0 - np.eye(k)
    if level == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(marginals)])
        lo, hi = np.minimum.outer(np.arange(k), np.arange(k)), np.maximum.outer(
            np.arange(k), np.arange(k)
        )
        span = cum[hi + 1] - cum[lo]
        return (span - (marginals[:, None] + marginals[None, :]) / 2.0) ** 2
    source = classes if values is None else values
    try:
        v = np.asarray(source, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            f"level={level!r} needs numeric class values; the classes are "
            f"{list(classes)}. Pass values=[...] (one number per class)."
        ) from None
    if v.shape != (k,) or not np.isfinite(v).all():
        raise InputError(f"values must be {k} finite numbers, one per class; got {list(v)}.")
    diff = v[:, None] - v[None, :]
    if level == "interval":
        return diff**2
    total = v[:, None] + v[None, :]
    out = np.zeros((k, k))
    nz = total != 0
    out[nz] = (diff[nz] / total[nz]) ** 2
    return out


def _coincidence(annotations: Any) -> tuple[np.ndarray, np.ndarray]:
    """Krippendorff's (K, K) coincidence matrix of the pairable units, and the classes."""
    u = _units(annotations)
    pairable = u.n_coders >= 2
    w = np.zeros_like(u.n_coders)
    w[pairable] = 1.0 / (u.n_coders[pairable] - 1.0)
    return (u.votes * w[:, None]).T @ u.votes - u.self_outer(w), u.classes


def krippendorff_alpha(
    annotations: Any, level: Level = "nominal", *, values: Sequence[float] | None = None
) -> float:
    """Krippendorff's alpha reliability of the answers.

    ``alpha = 1 - D_o / D_e`` computed from the coincidence matrix (Krippendorff 2011):
    for each unit ``u`` with ``m_u >= 2`` coders,
    ``o_ck += (number of ordered pairs of values (c, k) from different coders) / (m_u - 1)``;
    ``n_c = sum_k o_ck``, ``n = sum_c n_c``;
    ``D_o = sum o_ck delta_ck / n`` and ``D_e = sum n_c n_k delta_ck / (n (n - 1))``.
    Units (items) with fewer than two answers are not pairable and are dropped.
    Workers are the coders; a worker with several answers on an item contributes the
    distribution of his answers there, and only pairs between different workers count.

    Parameters
    ----------
    annotations : Annotations, DataFrame, path, or array of shape (n_items, n_classes)
        Long-format answers, or a matrix of answer counts per item and class (each
        count an answer of a different coder).
    level : {"nominal", "ordinal", "interval", "ratio"}, default="nominal"
        The difference function ``delta^2``: ``c != k``; ordinal
        ``(sum_{g=c}^{k} n_g - (n_c + n_k) / 2)^2`` over the class order; interval
        ``(c - k)^2``; ratio ``((c - k) / (c + k))^2``.
    values : sequence of float, optional
        Numeric value of each class for ``interval`` and ``ratio`` (default: the classes
        themselves, which must then be numbers; for a count matrix, 0..K-1).

    Returns
    -------
    float
        In ``[-1, 1]`` in practice (1: perfect agreement, 0: chance). NaN when no unit
        is pairable or when all pairable values are equal (``D_e = 0``).

    References
    ----------
    K. Krippendorff, "Computing Krippendorff's Alpha-Reliability", 2011,
    https://repository.upenn.edu/asc_papers/43.

    Examples
    --------
    >>> import numpy as np
    >>> counts = np.array([[3, 0], [2, 1], [0, 3], [0, 2]])
    >>> round(krippendorff_alpha(counts), 3)
    0.667
    """
    level = check_option(level, "level", "krippendorff_alpha", _LEVELS)
    coincidence, classes = _coincidence(annotations)
    marginals = coincidence.sum(axis=1)
    n = marginals.sum()
    if n <= 1:
        return float("nan")
    delta = _distances(level, classes, marginals, values)
    d_o = float((coincidence * delta).sum())
    d_e = float(marginals @ delta @ marginals) / (n - 1.0)
    if d_e <= 0:
        return float("nan")
    return float(1.0 - d_o / d_e)


def fleiss_kappa(annotations: Any) -> float:
    """Fleiss' kappa for many raters, generalised to unequal numbers of raters per item.

    ``kappa = (P_a - P_e) / (1 - P_e)`` with

    * ``P_a``: mean over the items with ``r_i >= 2`` raters of the share of agreeing
      rater pairs, ``sum_k r_ik (r_ik - 1) / (r_i (r_i - 1))``;
    * ``P_e = sum_k pi_k^2``, with ``pi_k`` the mean over the rated items of the
      proportion ``r_ik / r_i``.

    This is the generalisation of Gwet (Handbook of Inter-Rater Reliability, 2014,
    "Fleiss' generalized kappa"). With the same number of raters on every item it is
    exactly Fleiss' (1971) formula. Workers are the raters; a worker with several
    answers on an item contributes the distribution of his answers there, and only
    pairs of different workers count.

    Parameters
    ----------
    annotations : Annotations, DataFrame, path, or array of shape (n_items, n_classes)
        Long-format answers, or a matrix of rating counts (items x categories).

    Returns
    -------
    float
        NaN when no item has two raters or when ``P_e = 1`` (one category only).

    References
    ----------
    J. L. Fleiss, "Measuring nominal scale agreement among many raters",
    Psychological Bulletin 76(5) (1971) 378-382.

    Examples
    --------
    >>> import numpy as np
    >>> round(fleiss_kappa(np.array([[3, 0], [2, 1], [0, 3], [0, 3]])), 3)
    0.657
    """
    u = _units(annotations)
    r = u.n_coders
    two = r >= 2
    if not two.any():
        return float("nan")
    agree = (u.votes**2).sum(axis=1) - u.self_square()
    p_a = float(np.mean(agree[two] / (r[two] * (r[two] - 1.0))))
    rated = r > 0
    pi = (u.votes[rated] / r[rated, None]).mean(axis=0)
    p_e = float(pi @ pi)
    if p_e >= 1.0 - 1e-12:
        return float("nan")
    return (p_a - p_e) / (1.0 - p_e)


def _kappa_from_tables(tables: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Observed agreement and Cohen's kappa of (P, K, K) contingency tables."""
    n = tables.sum(axis=(1, 2))
    p_o = _ratio(np.trace(tables, axis1=1, axis2=2), n)
    p_e = _ratio(np.einsum("pk,pk->p", tables.sum(axis=2), tables.sum(axis=1)), n**2)
    kappa = _ratio(p_o - p_e, np.where(p_e < 1.0 - 1e-12, 1.0 - p_e, 0.0))
    return p_o, kappa


def cohen_kappa(a: Any, b: Any, n_classes: int | None = None) -> float:
    """Cohen's kappa between two raters' labels of the same items.

    ``kappa = (p_o - p_e) / (1 - p_e)``: ``p_o`` the share of items with equal labels,
    ``p_e = sum_k p_a(k) p_b(k)`` from each rater's own label frequencies.

    Parameters
    ----------
    a, b : array-like of shape (n_items,)
        The two raters' labels, position by position.
    n_classes : int, optional
        When given, labels must be class indices ``0 .. n_classes - 1``; otherwise any
        hashable labels are accepted and compared by value.

    Returns
    -------
    float
        NaN when ``p_e = 1`` (both raters always give the same single label).

    References
    ----------
    J. Cohen, "A coefficient of agreement for nominal scales", Educational and
    Psychological Measurement 20(1) (1960) 37-46.

    Examples
    --------
    >>> round(cohen_kappa(["x", "x", "y", "y"], ["x", "y", "y", "y"]), 3)
    0.5
    """
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.ndim != 1 or b_arr.ndim != 1:
        raise InputError(f"a and b must be 1-D; got shapes {a_arr.shape} and {b_arr.shape}.")
    if a_arr.shape[0] != b_arr.shape[0]:
        raise InputError(
            f"a and b must have the same length; got {a_arr.shape[0]} and {b_arr.shape[0]}."
        )
    if a_arr.shape[0] == 0:
        raise InputError("a and b are empty.")
    if n_classes is not None:
        k = check_int(n_classes, "n_classes", "cohen_kappa", low=1)
        ca, cb = check_labels(a_arr, k, name="a"), check_labels(b_arr, k, name="b")
    else:
        both = np.concatenate([a_arr.astype(object), b_arr.astype(object)])
        codes, uniq = pd.factorize(pd.Series(both))
        if (codes < 0).any():
            i = int(np.flatnonzero(codes < 0)[0])
            which, row = ("a", i) if i < a_arr.shape[0] else ("b", i - a_arr.shape[0])
            raise InputError(f"{which} has a missing label at row {row}.")
        k = len(uniq)
        ca, cb = codes[: a_arr.shape[0]], codes[a_arr.shape[0] :]
    table = np.bincount(ca * k + cb, minlength=k * k).reshape(1, k, k).astype(np.float64)
    return float(_kappa_from_tables(table)[1][0])


def _sample(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Values of a sparse matrix at the given coordinates (0 where absent)."""
    if rows.size == 0:
        return np.zeros(0)
    return np.asarray(matrix[rows, cols]).ravel().astype(np.float64)


def pairwise_cohen_kappa(annotations: Any, min_shared: int = 10) -> pd.DataFrame:
    """Cohen's kappa for every pair of workers with enough items in common.

    Kappa of each pair is computed on the items both answered (see
    :func:`cohen_kappa`). Everything kappa needs comes from two sparse products over
    the items, with no loop over pairs: each worker's label counts on the items shared
    with every other worker, ``V^T B`` (``V`` the item x (worker, label) matrix, ``B``
    the item x worker incidence; summed over labels it gives the shared items), and
    the equal answers ``Z^T Z`` (``Z`` the (item, label) x worker matrix). The work
    grows with ``sum_i m_i^2`` (``m_i`` answers on item ``i``), the result with the
    number of pairs. A worker with several answers on an item contributes the
    distribution of his answers there.

    Parameters
    ----------
    annotations : Annotations, DataFrame or path
        Long-format answers.
    min_shared : int, default=10
        Keep the pairs that answered at least this many items in common.

    Returns
    -------
    DataFrame
        Columns ``worker_a``, ``worker_b`` (``worker_a`` first in the order of
        ``Annotations.worker_ids``), ``n_shared``, ``agreement`` (observed share of
        equal answers) and ``kappa`` (NaN when ``p_e = 1``), one row per pair, sorted.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 2, 2, 3, 3, 4, 4], "worker": list("abababab"),
    ...                    "label": ["x", "x", "y", "y", "x", "y", "y", "y"]})
    >>> pairwise_cohen_kappa(df, min_shared=2).round(3).values.tolist()
    [['a', 'b', 4, 0.75, 0.5]]
    """
    min_shared = check_int(min_shared, "min_shared", "pairwise_cohen_kappa", low=1)
    ann = as_annotations(annotations)
    c = _coders(ann)
    k, n_workers, n_items = ann.n_classes, ann.n_workers, ann.n_items
    member = sp.csr_matrix(
        (np.ones(c.first.shape[0]), (c.group_item, c.group_worker)), shape=(n_items, n_workers)
    )
    # margins[(a, l), b]: the value sum of worker a for label l over the items shared with b
    v = sp.csr_matrix((c.weight, c.pair, c.indptr), shape=(n_items, n_workers * k))
    margins = v.T.tocsr() @ member
    # equal[a, b]: the items on which a and b gave the same answer (Z^T Z)
    z = sp.csr_matrix(
        (c.weight, (c.item * k + c.label, c.worker)), shape=(n_items * k, n_workers)
    )
    equal_all = z.T.tocsr() @ z
    labels = np.arange(k)
    if n_workers * n_workers * k <= _DENSE_CELLS:
        dense = margins.toarray().reshape(n_workers, k, n_workers)
        shared_all = dense.sum(axis=1)
        wa, wb = np.nonzero(np.triu(shared_all >= min_shared - 1e-9, k=1))
        n_shared = shared_all[wa, wb]
        equal = equal_all.toarray()[wa, wb] if wa.size else np.zeros(0)
        row_a, row_b = dense[wa, :, wb], dense[wb, :, wa]
    else:
        rows = np.repeat(np.arange(n_workers), k)
        total = sp.csr_matrix(
            (np.ones(n_workers * k), (rows, np.arange(n_workers * k))),
            shape=(n_workers, n_workers * k),
        )
        shared = sp.triu(total @ margins, k=1).tocoo()
        keep = shared.data >= min_shared - 1e-9
        wa, wb, n_shared = shared.row[keep], shared.col[keep], shared.data[keep]
        order = np.lexsort((wb, wa))
        wa, wb, n_shared = wa[order], wb[order], n_shared[order]
        margins.sort_indices()
        equal_all.sort_indices()
        equal = _sample(equal_all, wa, wb)
        row_a = _sample(margins, (wa[:, None] * k + labels).ravel(), np.repeat(wb, k))
        row_b = _sample(margins, (wb[:, None] * k + labels).ravel(), np.repeat(wa, k))
    wa, wb = wa.astype(np.int64), wb.astype(np.int64)
    chance = (row_a.reshape(-1, k) * row_b.reshape(-1, k)).sum(axis=1)
    p_o = _ratio(equal, n_shared)
    p_e = _ratio(chance, n_shared**2)
    kappa = _ratio(p_o - p_e, np.where(p_e < 1.0 - 1e-12, 1.0 - p_e, 0.0))
    return pd.DataFrame(
        {
            "worker_a": ann.worker_ids[wa],
            "worker_b": ann.worker_ids[wb],
            "n_shared": np.rint(n_shared).astype(np.int64),
            "agreement": p_o,
            "kappa": kappa,
        }
    )


def item_ambiguity(soft_labels: Any, *, normalize: bool = True) -> np.ndarray:
    """Shannon entropy of each item's soft label.

    ``H_i = -sum_k p_ik log p_ik`` (``0 log 0 = 0``), divided by ``log K`` when
    ``normalize`` so that 0 is a certain label and 1 the uniform distribution.

    Parameters
    ----------
    soft_labels : SoftLabels or array of shape (n_items, n_classes)
        Probabilities (rows within ``1e-4`` of summing to 1 are renormalised).
    normalize : bool, default=True
        Divide by ``log K`` (nats otherwise). With one class the ambiguity is 0.

    Returns
    -------
    ndarray of shape (n_items,)

    Examples
    --------
    >>> item_ambiguity([[1.0, 0.0], [0.5, 0.5], [0.9, 0.1]]).round(3).tolist()
    [0.0, 1.0, 0.469]
    """
    if isinstance(soft_labels, SoftLabels):
        p = np.asarray(soft_labels.probs)
    elif np.ndim(soft_labels) == 2 and np.shape(soft_labels)[1] == 1:
        p = check_probs(soft_labels, name="soft_labels")
    else:
        p = check_pred_probs(soft_labels, name="soft_labels")
    logs = np.log(p, where=p > 0, out=np.zeros_like(p))
    h = -(p * logs).sum(axis=1)
    h = np.maximum(h, 0.0)
    k = p.shape[1]
    if normalize:
        return h / np.log(k) if k > 1 else np.zeros_like(h)
    return h


# ---------------------------------------------------------------------- Estes et al.
@dataclass(frozen=True)
class LabellerQuality:
    """Labeller quality from hidden gold tasks (Estes et al. 2024).

    Attributes
    ----------
    worker_ids : ndarray of shape (n_workers,)
    classes : ndarray of shape (n_classes,)
    n_gold : ndarray of shape (n_workers,)
        Answers on gold items.
    n_scored : ndarray of shape (n_workers,)
        Answers with a quality score (``n_gold`` unless ``answer_scores`` was given).
    qscore : ndarray of shape (n_workers,)
        Mean per-assignment quality score; NaN without a scored answer.
    producer_accuracy : ndarray of shape (n_workers, n_classes)
        ``P(answer k | gold k)`` per labeller; NaN where he met no gold item of class k.
    """

    worker_ids: np.ndarray
    classes: np.ndarray
    n_gold: np.ndarray
    n_scored: np.ndarray
    qscore: np.ndarray
    producer_accuracy: np.ndarray

    @property
    def prior(self) -> np.ndarray:
        """``P(L_i | D)`` per labeller and class: ``qscore * producer_accuracy``,
        shape (n_workers, n_classes): the consensus weights of
        :func:`bayesian_label_risk`."""
        return self.qscore[:, None] * self.producer_accuracy

    def to_frame(self) -> pd.DataFrame:
        """One row per labeller: ``worker, n_gold, n_scored, qscore``, then
        ``producer_accuracy_<class>`` and ``prior_<class>`` for each class."""
        out = pd.DataFrame(
            {
                "worker": self.worker_ids,
                "n_gold": self.n_gold,
                "n_scored": self.n_scored,
                "qscore": self.qscore,
            }
        )
        prior = self.prior
        for j, c in enumerate(self.classes):
            out[f"producer_accuracy_{c}"] = self.producer_accuracy[:, j]
        for j, c in enumerate(self.classes):
            out[f"prior_{c}"] = prior[:, j]
        return out


def _answer_scores(ann: Annotations, answer_scores: Any, weights: Any) -> np.ndarray:
    try:
        s = np.asarray(answer_scores, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"answer_scores must be numeric; {err}") from None
    if s.ndim not in (1, 2) or s.shape[0] != ann.n_answers:
        raise InputError(
            f"answer_scores must have one row per answer ({ann.n_answers}); got shape {s.shape}."
        )
    if s.ndim == 2:
        w = np.asarray(weights, dtype=np.float64)
        ok = w.ndim == 1 and w.shape[0] == s.shape[1] and np.isfinite(w).all()
        if not ok or (w < 0).any() or w.sum() <= 0:
            raise InvalidParameterError(
                f"The 'weights' parameter of labeller_quality must be {s.shape[1]} non-negative "
                f"numbers, one per column of answer_scores; got {list(np.atleast_1d(w))}."
            )
        s = s @ (w / w.sum())  # NaN in any component leaves the answer unscored
    if (np.isinf(s)).any() or (s < 0).any() or (s > 1).any():
        i = int(np.flatnonzero(np.isinf(s) | (s < 0) | (s > 1))[0])
        raise InputError(
            f"answer_scores must lie in [0, 1] (NaN: not scored); row {i} is {s[i]!r}."
        )
    return s


def labeller_quality(
    annotations: Any,
    gold: Any,
    *,
    answer_scores: Any = None,
    weights: Sequence[float] = ESTES_QSCORE_WEIGHTS,
    smoothing: float = 0.0,
) -> LabellerQuality:
    """Labeller quality scores from hidden gold-standard tasks (Estes et al. 2024).

    Estes et al. score every assignment on a gold site,
    ``Qscore = 0.55 Area + 0.225 N + 0.1 Edge + 0.125 Categorical`` (components in
    ``[0, 1]`` measured against the expert polygons), and rate each labeller by his
    mean score and by his producer's accuracy per class. The prior probability that
    labeller ``i`` is right about class ``k``, the weight of his vote in the consensus
    of :func:`bayesian_label_risk`, is ``P(L_i | D) = mean Qscore_i * PA_ik``.

    For categorical answers (one label per item) an assignment's score is by default
    its correctness on a gold item, ``1[answer = gold]`` (the Area term of a one-pixel
    map, and its Categorical term), so ``qscore`` is the accuracy on gold. Scores of
    segmentation-style assignments, or any other per-answer score, can be passed as
    ``answer_scores`` (one value in ``[0, 1]`` per answer), or as components (one
    column each) combined with ``weights``.

    Parameters
    ----------
    annotations : Annotations, DataFrame or path
        Long-format answers. Each answer is one assignment.
    gold : mapping, Series or DataFrame
        Known labels of the gold items (item id -> label, or ``item``, ``label``
        columns); items not answered are ignored.
    answer_scores : array of shape (n_answers,) or (n_answers, n_components), optional
        Per-assignment quality scores in the order of the answers (rows of the answer
        table); NaN marks an unscored answer.
    weights : sequence of float, default=ESTES_QSCORE_WEIGHTS
        Weights of the columns of a 2-D ``answer_scores`` (normalised to sum to 1);
        the default is Estes et al.'s Area, N, Edge, Categorical weights.
    smoothing : float, default=0
        Pseudo-count added to every cell of each labeller's gold confusion matrix
        before the producer's accuracy ``(n_kk + s) / (n_k + K s)`` is taken; with
        ``s > 0`` a class never met gives ``1 / K`` instead of NaN.

    Returns
    -------
    LabellerQuality
        ``qscore``, ``producer_accuracy``, ``prior`` and ``to_frame()``.

    References
    ----------
    L. D. Estes et al., "A region-wide, multi-year set of crop field boundary labels
    for Africa", arXiv:2412.18483 (2024).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 2, 3, 4], "worker": ["a"] * 4, "label": [0, 1, 1, 1]})
    >>> q = labeller_quality(df, {1: 0, 2: 0, 3: 1, 4: 1})
    >>> q.qscore.tolist(), q.producer_accuracy.tolist(), q.prior.tolist()
    ([0.75], [[0.5, 1.0]], [[0.375, 0.75]])
    """
    ann = as_annotations(annotations)
    s_pseudo = check_float(smoothing, "smoothing", "labeller_quality", low=0.0)
    k, n_workers = ann.n_classes, ann.n_workers
    truth = ann.gold_codes(gold)[ann.item]  # (n_answers,), -1 where not gold
    on_gold = truth >= 0
    correct = (ann.label == truth).astype(np.float64)
    if answer_scores is None:
        scores = np.where(on_gold, correct, np.nan)
    else:
        scores = _answer_scores(ann, answer_scores, weights)
    scored = ~np.isnan(scores)
    n_scored = np.bincount(ann.worker[scored], minlength=n_workers)
    qscore = _ratio(
        np.bincount(ann.worker[scored], weights=scores[scored], minlength=n_workers),
        n_scored.astype(np.float64),
    )
    cell = (ann.worker[on_gold].astype(np.int64) * k + truth[on_gold]) * k + ann.label[on_gold]
    conf = np.bincount(cell, minlength=n_workers * k * k).reshape(n_workers, k, k) + s_pseudo
    diag = np.diagonal(conf, axis1=1, axis2=2)
    return LabellerQuality(
        worker_ids=ann.worker_ids,
        classes=ann.classes,
        n_gold=np.bincount(ann.worker[on_gold], minlength=n_workers),
        n_scored=n_scored,
        qscore=qscore,
        producer_accuracy=_ratio(diag, conf.sum(axis=2)),
    )


@dataclass(frozen=True)
class LabelRisk:
    """Quality-weighted consensus and its Bayes risk (Estes et al. 2024).

    Attributes
    ----------
    soft_labels : SoftLabels
        The consensus ``C`` per item; ``support`` is the number of labellers with a
        positive weight (uniform rows where there is none).
    risk : ndarray of shape (n_items,)
        ``r = 1 - max_k C_k`` (``min(C, 1 - C)`` for two classes); NaN without any
        weighted answer.
    threshold : float
        Risk above which an item is flagged.
    """

    soft_labels: SoftLabels
    risk: np.ndarray
    threshold: float

    @property
    def n_labellers(self) -> np.ndarray:
        """Labellers with a positive weight per item (report it next to the risk)."""
        return np.asarray(self.soft_labels.support).astype(np.int64)

    @property
    def risky(self) -> np.ndarray:
        """``risk > threshold`` (False where the risk is NaN)."""
        return np.nan_to_num(self.risk, nan=-1.0) > self.threshold

    @property
    def mean_risk(self) -> float:
        """Mean risk over the items with a defined risk."""
        ok = ~np.isnan(self.risk)
        return float(self.risk[ok].mean()) if ok.any() else float("nan")

    @property
    def frac_risky(self) -> float:
        """Share of the items with a defined risk whose risk exceeds the threshold."""
        ok = ~np.isnan(self.risk)
        return float(self.risky[ok].mean()) if ok.any() else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """One row per item: ``item, n_labellers, label, confidence, risk, risky``."""
        soft = self.soft_labels
        label = pd.Series(soft.hard(), dtype=object)
        label[np.isnan(self.risk)] = None
        return pd.DataFrame(
            {
                "item": soft.item_ids,
                "n_labellers": self.n_labellers,
                "label": label.to_numpy(),
                "confidence": np.where(np.isnan(self.risk), np.nan, soft.confidence()),
                "risk": self.risk,
                "risky": self.risky,
            }
        )

    def summary(self, groups: Any = None) -> pd.DataFrame:
        """Risk per group of items (Estes et al.'s per-site summary).

        Parameters
        ----------
        groups : array-like of shape (n_items,), optional
            Group of each item (e.g. the image or site of each pixel), in item order.
            Default: one group, ``"all"``.

        Returns
        -------
        DataFrame
            Indexed by group: ``n_items``, ``mean_risk``, ``frac_risky`` (over items with
            a defined risk) and ``mean_labellers``.
        """
        n = self.risk.shape[0]
        g = np.full(n, "all", dtype=object) if groups is None else np.asarray(groups)
        if g.shape != (n,):
            raise InputError(f"groups must have one entry per item ({n}); got shape {g.shape}.")
        frame = pd.DataFrame(
            {
                "group": g,
                "risk": self.risk,
                "risky": np.where(np.isnan(self.risk), np.nan, self.risky.astype(np.float64)),
                "n_labellers": self.n_labellers.astype(np.float64),
            }
        )
        out = frame.groupby("group", sort=True).agg(
            n_items=("risk", "size"),
            mean_risk=("risk", "mean"),
            frac_risky=("risky", "mean"),
            mean_labellers=("n_labellers", "mean"),
        )
        return out


def _quality_weights(ann: Annotations, quality: Any) -> np.ndarray:
    """(n_workers, K) consensus weights; NaN where unknown."""
    k, n_workers = ann.n_classes, ann.n_workers
    if quality is None:
        return np.ones((n_workers, k))
    if isinstance(quality, LabellerQuality):
        cols = _class_positions(quality.classes, ann.classes, "quality")
        rows = _id_positions(quality.worker_ids, ann.worker_ids)
        prior = quality.prior[:, cols]
        out = np.full((n_workers, k), np.nan)
        out[rows >= 0] = prior[rows[rows >= 0]]
        return out
    if isinstance(quality, (Mapping, pd.Series)):
        s = pd.Series(quality)
        rows = _id_positions(np.asarray(s.index), ann.worker_ids)
        vals = np.asarray(s.to_numpy(), dtype=np.float64)
        w = np.where(rows >= 0, vals[np.maximum(rows, 0)], np.nan)
        out = np.repeat(w[:, None], k, axis=1)
    else:
        try:
            out = np.asarray(quality, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise InputError(f"quality must be numeric; {err}") from None
        if out.shape == (n_workers,):
            out = np.repeat(out[:, None], k, axis=1)
        elif out.shape != (n_workers, k):
            raise InputError(
                "quality must be a LabellerQuality, a mapping worker -> weight, or an array "
                f"of shape ({n_workers},) or ({n_workers}, {k}) in worker order; got shape "
                f"{out.shape}."
            )
    bad = np.isinf(out) | (out < 0)
    if bad.any():
        r = int(np.argwhere(bad)[0][0])
        raise InputError(
            f"quality weights must be non-negative and finite (NaN: unknown); worker "
            f"{show(ann.worker_ids[r])} has {out[r].tolist()}."
        )
    return out


def bayesian_label_risk(
    annotations: Any, quality: Any = None, *, threshold: float = 0.34
) -> LabelRisk:
    """Quality-weighted consensus of the labellers and its Bayes risk (Estes et al. 2024).

    For each item (a pixel in the paper), with labellers ``i`` and weights
    ``w_i = P(L_i | D)`` (from :func:`labeller_quality`: ``mean Qscore_i`` times the
    labeller's producer's accuracy for the class he gave), the consensus is
    ``C_k = sum_i w_i 1[label_i = k] / sum_i w_i`` (weights normalised over the item's
    labellers, so ``C`` is a distribution), the consensus label
    ``D = argmax_k C_k`` (first class on ties) and the Bayes risk of choosing it is
    ``r = 1 - max_k C_k``; with two classes this is the paper's
    ``r = C (1 - D) + (1 - C) D = min(C, 1 - C)``. Estes et al. flag ``r > 0.34``. With
    ``n`` equally weighted binary labellers ``r`` only takes values ``j / n``, so
    report the number of labellers next to the risk.

    Answers whose labeller has no weight (NaN: no gold data, or not in ``quality``) are
    left out; an item with no weighted answer gets a uniform consensus and a NaN risk.
    A labeller with several answers on an item splits his weight equally between them.

    Parameters
    ----------
    annotations : Annotations, DataFrame or path
        Long-format answers.
    quality : LabellerQuality, mapping, Series or array, optional
        Weights: a :class:`LabellerQuality` (its ``prior``, matched by worker id and
        class), a mapping worker id -> weight, or an array of shape (n_workers,) or
        (n_workers, n_classes) in the order of ``Annotations.worker_ids``. Default:
        equal weights (the plain vote share).
    threshold : float, default=0.34
        Risk above which an item is flagged (Estes et al.).

    Returns
    -------
    LabelRisk
        ``soft_labels`` (the consensus), ``risk``, ``risky``, ``mean_risk``,
        ``frac_risky``, ``to_frame()`` and ``summary(groups)``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 1], "worker": list("abc"), "label": [1, 1, 0]})
    >>> res = bayesian_label_risk(df, quality=[0.9, 0.3, 0.6])
    >>> res.soft_labels.probs.round(3).tolist(), res.risk.round(3).tolist()
    ([[0.333, 0.667]], [0.333])
    """
    ann = as_annotations(annotations)
    threshold = check_float(threshold, "threshold", "bayesian_label_risk", low=0.0, high=1.0)
    weights = np.nan_to_num(_quality_weights(ann, quality), nan=0.0)
    c = _coders(ann)
    k = ann.n_classes
    w_entry = c.weight * weights[c.worker, c.label]
    votes = np.bincount(c.item * k + c.label, weights=w_entry, minlength=ann.n_items * k)
    votes = votes.reshape(ann.n_items, k)
    total = votes.sum(axis=1)
    ok = total > 0
    cons = np.full_like(votes, 1.0 / k)
    cons[ok] = votes[ok] / total[ok, None]
    n_groups = c.first.shape[0]
    group_w = np.bincount(c.group, weights=w_entry, minlength=n_groups)
    n_lab = np.bincount(
        c.group_item, weights=(group_w > 0).astype(np.float64), minlength=ann.n_items
    )
    risk = np.where(ok, np.maximum(1.0 - cons.max(axis=1), 0.0), np.nan)
    soft = SoftLabels(
        cons / cons.sum(axis=1, keepdims=True),
        ann.classes,
        ann.item_ids,
        provenance={
            "method": "quality-weighted consensus (Estes et al. 2024)",
            "params": {
                "threshold": threshold,
                "weights": "equal" if quality is None else "given",
            },
        },
        support=n_lab,
    )
    return LabelRisk(soft_labels=soft, risk=risk, threshold=threshold)
