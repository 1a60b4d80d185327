"""Workers as coders: the per-item answer distributions the agreement measures share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from softlabels.core.validation import check_pred_probs
from softlabels.core.annotations import Annotations, show
from softlabels.core.errors import InputError
from softlabels.core.soft import SoftLabels


# Values that differ by less than this are ties (vote sums are sums of 1/m fractions).
_TIE_ATOL = 1e-9


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


def _id_positions(given: np.ndarray, wanted: np.ndarray, what: str) -> np.ndarray:
    """Position in ``given`` of each id of ``wanted`` (-1 when absent); an id repeated
    in ``given`` is an :class:`InputError` (``what``: "quality has worker", ...)."""
    index = pd.Index(given)
    if not index.is_unique:
        raise InputError(f"{what} {show(index[index.duplicated()][0])} more than once.")
    pos = index.get_indexer(wanted)
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
        rows = _id_positions(soft_labels.item_ids, ann.item_ids, "soft_labels has item")
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
