"""The evidence of the bag methods, validated once.

* :class:`BagProportions` (evidence kind ``"bag-proportions"``), made by
  :func:`as_bag_proportions`: the bag of every item and each bag's class proportions (or
  counts). Taken by :class:`~softlabels.infer.bags.DLLP`,
  :class:`~softlabels.infer.bags.LLPBP` and
  :class:`~softlabels.infer.bags.ProportionProjection`.
* :class:`BagScores` (evidence kind ``"bag-scores"``), made by :func:`as_bag_scores`: the
  bag of every item and one number per bag. Taken by
  :class:`~softlabels.infer.bags.MILRegressor`.
* :class:`SetLabels` (evidence kind ``"set-labels"``), made by :func:`as_set_labels`: the
  set of every item and one class per set (a coarse label). Taken by
  :class:`~softlabels.infer.bags.SetClassifier`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd

from softlabels.core.errors import InputError
from softlabels.infer.bags._common import show

__all__ = [
    "PROPORTION_ATOL",
    "BagProportions",
    "BagScores",
    "SetLabels",
    "as_bag_proportions",
    "as_bag_scores",
    "as_set_labels",
]

#: proportions may leave [0, 1] or miss a sum of 1 by this much (then they are clipped
#: and renormalised); anything further off is an error.
PROPORTION_ATOL = 1e-4

B = TypeVar("B", bound="_Bags")


@dataclass(frozen=True)
class _Bags:
    """What every kind of bag evidence holds: the row of each item's bag, the bag ids
    (in table order) and the number of items per bag."""

    codes: np.ndarray
    bag_ids: np.ndarray
    sizes: np.ndarray

    #: the fields of subclasses that hold one row per bag, in table order
    _per_bag: ClassVar[tuple[str, ...]] = ()

    @property
    def n_items(self) -> int:
        return int(self.codes.shape[0])

    @property
    def n_bags(self) -> int:
        return int(self.sizes.shape[0])

    def in_id_order(self: B) -> B:
        """The same evidence with the table's bags sorted by id, so that what is fitted on
        it does not depend on the order in which the table listed the bags (ids of types
        that do not compare are sorted by type name, then text)."""
        try:
            perm = np.asarray(pd.Index(self.bag_ids).argsort(), dtype=np.int64)
        except TypeError:
            keys = [(type(b).__name__, repr(b)) for b in self.bag_ids]
            perm = np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)
        rank = np.empty_like(perm)
        rank[perm] = np.arange(perm.shape[0])
        rows = {name: getattr(self, name)[perm] for name in ("bag_ids", "sizes", *self._per_bag)}
        return replace(self, codes=rank[self.codes], **rows)

    def take(self: B, order: np.ndarray) -> B:
        """The same bags with the items reordered (``codes[order]``)."""
        return replace(self, codes=self.codes[order])


@dataclass(frozen=True)
class BagProportions(_Bags):
    """Validated bag supervision (see :func:`as_bag_proportions`).

    Attributes
    ----------
    codes : ndarray of shape (n_items,)
        The bag of each item as a row of the table, ``0 .. n_bags - 1``.
    bag_ids : ndarray of shape (n_bags,)
        The bag identifiers, in table order.
    sizes : ndarray of shape (n_bags,)
        Items per bag (all positive).
    proportions : ndarray of shape (n_bags, n_classes)
        Class proportions per bag; rows sum to 1.
    classes : ndarray of shape (n_classes,)
    """

    proportions: np.ndarray
    classes: np.ndarray
    _per_bag: ClassVar[tuple[str, ...]] = ("proportions",)

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])

    @property
    def counts(self) -> np.ndarray:
        """Expected class counts per bag, ``proportions * sizes`` (not rounded)."""
        return self.proportions * self.sizes[:, None]



def _keyed(table: Any) -> tuple[np.ndarray | None, Any, np.ndarray | None]:
    """Bag ids (None for a plain array), raw values and column names (DataFrame only)."""
    if isinstance(table, pd.DataFrame):
        return table.index.to_numpy(), table.to_numpy(), table.columns.to_numpy()
    if isinstance(table, pd.Series):
        return table.index.to_numpy(), table.to_numpy(), None
    if isinstance(table, Mapping):
        ids = np.empty(len(table), dtype=object)
        for i, key in enumerate(table):  # one per bag; tuples stay whole
            ids[i] = key
        return ids, list(table.values()), None
    return None, table, None


def _split_table(table: Any, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Bag ids, values (1-D or 2-D float) and column names (DataFrame only) of a table."""
    ids, values, columns = _keyed(table)
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            f"{name} must be numbers (one value, or one vector over classes, per bag)."
        ) from None
    if arr.ndim not in (1, 2) or arr.shape[0] == 0:
        raise InputError(
            f"{name} must have shape (n_bags,) or (n_bags, n_classes) with at least one "
            f"bag; got shape {arr.shape}."
        )
    if ids is None:
        ids = np.arange(arr.shape[0])
    return ids, arr, columns


def _bag_codes(bag_ids: Any, table_ids: np.ndarray, name: str,
               n_items: int | None) -> np.ndarray:
    """The table row of each item's bag; unknown bags and empty bags are errors."""
    listed = isinstance(bag_ids, (list, tuple)) and len(bag_ids) > 0
    if listed and isinstance(bag_ids[0], tuple) and all(isinstance(b, tuple) for b in bag_ids):
        items = np.empty(len(bag_ids), dtype=object)  # tuples are ids: they stay whole
        for i, bag in enumerate(bag_ids):
            items[i] = bag
    else:
        try:
            items = np.asarray(bag_ids)
        except (TypeError, ValueError) as err:
            raise InputError(f"bag_ids: {err}") from None
    if items.ndim != 1 or items.shape[0] == 0:
        raise InputError(
            f"bag_ids must be a non-empty 1-D array (one bag id per item); got shape "
            f"{items.shape}."
        )
    if n_items is not None and items.shape[0] != n_items:
        raise InputError(f"bag_ids has {items.shape[0]} entries but there are {n_items} items.")
    missing = pd.isna(items)
    if missing.any():
        raise InputError(f"bag_ids: row {int(np.flatnonzero(missing)[0])} has no bag id.")
    index = pd.Index(table_ids)
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise InputError(f"{name}: bag {show(dup)} appears more than once.")
    codes = index.get_indexer(pd.Index(items))
    unknown = np.flatnonzero(codes < 0)
    if unknown.size:
        row = int(unknown[0])
        known = ", ".join(show(b) for b in table_ids[:5]) + (", ..." if len(table_ids) > 5 else "")
        raise InputError(
            f"bag_ids: row {row} is in bag {show(items[row])}, which has no entry in {name} "
            f"(known bags: {known}); {unknown.size} items are in unknown bags."
        )
    return codes.astype(np.int64)


def _members(bag_ids: Any, ids: np.ndarray, name: str, n_items: int | None, kind: str = "bag"
             ) -> tuple[np.ndarray, np.ndarray]:
    """Codes and sizes of the bags; a bag without items is an error."""
    codes = _bag_codes(bag_ids, ids, name, n_items)
    sizes = np.bincount(codes, minlength=ids.shape[0])
    empty = np.flatnonzero(sizes == 0)
    if empty.size:
        raise InputError(
            f"{name}: {kind} {show(ids[empty[0]])} has no items in {kind}_ids "
            f"({empty.size} empty {kind}s); drop it or assign items to it."
        )
    return codes, sizes


def _bag_table(bag_ids: Any, table: Any, name: str, n_items: int | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Codes, bag ids, sizes, values and columns; every bag must have an item and
    finite values."""
    ids, values, columns = _split_table(table, name)
    codes, sizes = _members(bag_ids, ids, name, n_items)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise InputError(f"{name}: bag {show(ids[row])} has a missing or non-finite value.")
    return codes, ids, sizes, values, columns


def as_bag_proportions(
    bag_ids: Any,
    proportions: Any = None,
    *,
    counts: Any = None,
    classes: Sequence[Any] | None = None,
    n_items: int | None = None,
) -> BagProportions:
    """Validate bag membership and per-bag label proportions (or counts).

    Parameters
    ----------
    bag_ids : array-like of shape (n_items,)
        The bag of each item (any hashable ids; in a list, tuples are ids, one per item).
    proportions : Series, mapping, DataFrame or array-like, optional
        Per-bag label proportions, keyed by bag id (a Series or mapping of bag id to value,
        a DataFrame indexed by bag id with one column per class), or an array whose row
        ``b`` belongs to bag id ``b`` (then ``bag_ids`` are integers ``0 .. n_bags - 1``).
        One value per bag means a binary problem: the fraction of the positive class
        (the second of ``classes``). A vector per bag gives the proportion of each class
        and must sum to 1. Values off by at most ``1e-4`` are clipped and renormalised.
    counts : same layouts as ``proportions``, optional
        Integer class counts instead of proportions (binary: the number of positives).
        Counts are checked against the bag sizes. Give exactly one of the two.
    classes : sequence, optional
        Class names: two for binary input (default ``[0, 1]``), else one per column
        (default: the DataFrame's columns, or ``0 .. n_classes - 1``).
    n_items : int, optional
        The expected number of items (rows of the features).

    Returns
    -------
    BagProportions

    Raises
    ------
    InputError
        An item in a bag that has no proportion, a bag with no items, a proportion outside
        [0, 1], a proportion vector that does not sum to 1, a count that is not an
        integer, is negative, or does not fit the bag's size. The message names the bag.

    Examples
    --------
    >>> b = as_bag_proportions(["a", "a", "b"], {"a": 0.5, "b": 1.0})
    >>> b.codes.tolist(), b.sizes.tolist(), b.proportions[:, 1].tolist()
    ([0, 0, 1], [2, 1], [0.5, 1.0])
    >>> as_bag_proportions([0, 0, 1], counts=[3, 1])
    Traceback (most recent call last):
    ...
    softlabels.core.errors.InputError: counts: bag 0 has 3 positives but only 2 items.
    """
    if (proportions is None) == (counts is None):
        raise InputError("give exactly one of proportions= and counts=.")
    name = "proportions" if counts is None else "counts"
    codes, ids, sizes, values, columns = _bag_table(
        bag_ids, proportions if counts is None else counts, name, n_items)
    binary = values.ndim == 1
    if not binary and values.shape[1] < 2:
        raise InputError(
            f"{name} has {values.shape[1]} column; give one value per bag for a binary "
            "problem or one column per class (at least two)."
        )
    n_classes = 2 if binary else values.shape[1]
    if classes is None:
        cls = columns if columns is not None and not binary else np.arange(n_classes)
    else:
        cls = np.asarray(classes)
        if cls.ndim != 1 or cls.shape[0] != n_classes:
            raise InputError(
                f"classes must list {n_classes} class names for these {name}; got "
                f"{np.asarray(classes).tolist()!r}."
            )
    if counts is not None:
        props = _counts_to_proportions(values, sizes, ids)
    else:
        props = _check_proportion_values(values, ids)
    if binary:
        props = np.column_stack([1.0 - props, props])
    return BagProportions(codes, ids, sizes.astype(np.int64), props, cls)


def _check_proportion_values(values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    off = (values < -PROPORTION_ATOL) | (values > 1 + PROPORTION_ATOL)
    if off.any():
        pos = tuple(np.argwhere(off)[0])
        where = f" (class column {pos[1]})" if values.ndim == 2 else ""
        raise InputError(
            f"proportions: bag {show(ids[pos[0]])} has proportion {values[pos]:.6g}"
            f"{where}, outside [0, 1]."
        )
    props = np.clip(values, 0.0, 1.0)
    if props.ndim == 2:
        sums = props.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > PROPORTION_ATOL)
        if bad.size:
            raise InputError(
                f"proportions: bag {show(ids[bad[0]])} sums to {sums[bad[0]]:.6g}, not 1 "
                f"({bad.size} bags); give class proportions per bag, or counts=."
            )
        props = props / sums[:, None]
    return props


def _counts_to_proportions(values: np.ndarray, sizes: np.ndarray, ids: np.ndarray) -> np.ndarray:
    frac = np.flatnonzero((values != np.round(values)).reshape(values.shape[0], -1).any(axis=1))
    if frac.size:
        row = frac[0]
        raise InputError(
            f"counts: bag {show(ids[row])} has a non-integer count "
            f"({np.atleast_1d(values[row]).tolist()}); pass fractions as proportions=."
        )
    neg = np.flatnonzero((values < 0).reshape(values.shape[0], -1).any(axis=1))
    if neg.size:
        raise InputError(f"counts: bag {show(ids[neg[0]])} has a negative count.")
    if values.ndim == 1:
        over = np.flatnonzero(values > sizes)
        if over.size:
            b = over[0]
            raise InputError(
                f"counts: bag {show(ids[b])} has {int(values[b])} positives but only "
                f"{int(sizes[b])} items."
            )
        return values / sizes
    totals = values.sum(axis=1)
    off = np.flatnonzero(totals != sizes)
    if off.size:
        b = off[0]
        raise InputError(
            f"counts: bag {show(ids[b])} has counts summing to {int(totals[b])} but "
            f"{int(sizes[b])} items."
        )
    return values / sizes[:, None]


@dataclass(frozen=True)
class BagScores(_Bags):
    """Validated bag scores for multiple-instance regression (see :func:`as_bag_scores`).

    Attributes
    ----------
    codes, bag_ids, sizes
        As in :class:`BagProportions`: the row of each item's bag, the bag ids and the
        number of items per bag.
    scores : ndarray of shape (n_bags,)
        One finite number per bag.
    """

    scores: np.ndarray
    _per_bag: ClassVar[tuple[str, ...]] = ("scores",)


def as_bag_scores(bag_ids: Any, scores: Any, *, n_items: int | None = None) -> BagScores:
    """Validate bag membership and one score per bag.

    Parameters
    ----------
    bag_ids : array-like of shape (n_items,)
        The bag of each item (any hashable ids).
    scores : Series, mapping or array-like of shape (n_bags,)
        One number per bag, keyed by bag id (a Series or mapping), or an array whose row
        ``b`` belongs to bag id ``b``.
    n_items : int, optional
        The expected number of items.

    Returns
    -------
    BagScores

    Raises
    ------
    InputError
        An item in a bag without a score, a bag with no items, a missing or non-finite
        score, or more than one number per bag. The message names the bag.

    Examples
    --------
    >>> s = as_bag_scores(["a", "b", "a"], {"a": 0.25, "b": 1.0})
    >>> s.codes.tolist(), s.sizes.tolist(), s.scores.tolist()
    ([0, 1, 0], [2, 1], [0.25, 1.0])
    """
    codes, ids, sizes, values, _ = _bag_table(bag_ids, scores, "bag_scores", n_items)
    if values.ndim != 1:
        raise InputError(f"bag_scores must hold one number per bag; got shape {values.shape}.")
    return BagScores(codes, ids, sizes, values)


@dataclass(frozen=True)
class SetLabels(_Bags):
    """Validated set-level labels (see :func:`as_set_labels`): ``codes``, ``bag_ids`` and
    ``sizes`` hold each item's set, the set ids and the items per set, as in
    :class:`BagProportions`.

    Attributes
    ----------
    labels : ndarray of shape (n_sets,)
        The class of each set as a code ``0 .. n_classes - 1``.
    classes : ndarray of shape (n_classes,)
        The class values, sorted.
    """

    labels: np.ndarray
    classes: np.ndarray
    _per_bag: ClassVar[tuple[str, ...]] = ("labels",)

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])


def as_set_labels(set_ids: Any, labels: Any, *, n_items: int | None = None) -> SetLabels:
    """Validate set membership and one class label per set (a coarse label known only
    for the set, as a slide's cancer type for its tiles).

    Parameters
    ----------
    set_ids : array-like of shape (n_items,)
        The set of each item (any hashable ids).
    labels : Series, mapping or array-like of shape (n_sets,)
        One class per set, keyed by set id (a Series or mapping), or an array whose row
        ``b`` belongs to set id ``b``. Any hashable class values; at least two classes.
    n_items : int, optional
        The expected number of items.

    Raises
    ------
    InputError
        An item in a set without a label, a set with no items, a missing label, fewer
        than two classes. The message names the set.

    Examples
    --------
    >>> s = as_set_labels(["a", "b", "a"], {"a": "cat", "b": "dog"})
    >>> s.codes.tolist(), s.sizes.tolist(), s.labels.tolist(), s.classes.tolist()
    ([0, 1, 0], [2, 1], [0, 1], ['cat', 'dog'])
    """
    ids, values, _ = _keyed(labels)
    values = np.asarray(values)
    if values.ndim != 1 or values.shape[0] == 0:
        raise InputError(
            f"set_labels must hold one class per set; got shape {np.shape(values)}."
        )
    if ids is None:
        ids = np.arange(values.shape[0])
    missing = np.flatnonzero(pd.isna(values))
    if missing.size:
        raise InputError(f"set_labels: set {show(ids[missing[0]])} has no label.")
    codes, sizes = _members(set_ids, ids, "set_labels", n_items, kind="set")
    classes, label_codes = np.unique(values, return_inverse=True)
    if classes.shape[0] < 2:
        raise InputError(
            f"set_labels: every set has the class {show(classes[0])}; a classifier needs "
            "at least two classes."
        )
    return SetLabels(codes, ids, sizes.astype(np.int64), label_codes.astype(np.int64), classes)
