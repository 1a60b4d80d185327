"""The vote matrix: validation, class count and the sparse views the label models use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from softlabels.core.annotations import Annotations, show
from softlabels.core.errors import InputError, InvalidParameterError

#: the code of an abstention in a vote matrix
ABSTAIN = -1


def resolve_classes(classes: Any, owner: str, observed_max: int = 1) -> np.ndarray:
    """The class names from a ``classes`` argument: None (``0 .. max vote``, at least
    two classes), an int (that many classes ``0 .. K-1``) or a sequence of names.

    Parameters
    ----------
    classes : None, int or sequence
        The argument as given.
    owner : str
        Name of the estimator or function, used in the error messages.
    observed_max : int, default 1
        Largest class code in the votes, used when ``classes`` is None.

    Returns
    -------
    numpy.ndarray
        The class names.

    Raises
    ------
    InvalidParameterError
        When ``classes`` is fewer than 2, a string, not a sequence, or has repeated names.
    """
    if classes is None:
        return np.arange(max(observed_max + 1, 2))
    if isinstance(classes, (int, np.integer)) and not isinstance(classes, (bool, np.bool_)):
        if classes < 2:
            raise InvalidParameterError(
                f"The 'classes' parameter of {owner} must be at least 2 classes; got {classes}."
            )
        return np.arange(int(classes))
    if isinstance(classes, (str, bytes)) or not isinstance(classes, (Sequence, np.ndarray, pd.Index)):
        raise InvalidParameterError(
            f"The 'classes' parameter of {owner} must be None, a number of classes or a "
            f"list of class names; got {classes!r}."
        )
    names = np.asarray(list(classes))
    if names.ndim != 1 or names.size < 2:
        raise InvalidParameterError(
            f"The 'classes' parameter of {owner} must list at least 2 class names; got "
            f"{list(classes)!r}."
        )
    if len(pd.unique(names)) != names.size:
        raise InvalidParameterError(
            f"The 'classes' parameter of {owner} has repeated names: {names.tolist()}."
        )
    return names


@dataclass(frozen=True)
class Votes:
    """A checked vote matrix: int codes in ``-1 .. n_classes-1``, rule names, item ids.

    Parameters
    ----------
    codes : numpy.ndarray of int64, shape (n_items, n_rules)
        Vote of each rule on each item, -1 where it abstains.
    rule_names : numpy.ndarray of str, shape (n_rules,)
        Name of each rule.
    item_ids : numpy.ndarray, shape (n_items,)
        Id of each item.
    classes : numpy.ndarray, shape (n_classes,)
        Class names.
    """

    codes: np.ndarray  # (n_items, n_rules) int64, -1 = abstain
    rule_names: np.ndarray  # (n_rules,) str
    item_ids: np.ndarray  # (n_items,)
    classes: np.ndarray  # (n_classes,)

    @property
    def n_items(self) -> int:
        return int(self.codes.shape[0])

    @property
    def n_rules(self) -> int:
        return int(self.codes.shape[1])

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])

    @cached_property
    def voted(self) -> np.ndarray:
        """(n_items, n_rules) bool: the rule did not abstain."""
        return self.codes >= 0

    @cached_property
    def n_votes(self) -> np.ndarray:
        """Non-abstain votes per item."""
        return self.voted.sum(axis=1).astype(np.float64)

    @cached_property
    def annotations(self) -> Annotations:
        """The non-abstain votes as crowd answers: every item (also those no rule
        labels) and every rule (also those that never vote) keep their code, so the
        sparse item x (rule, class) matrix lines up with the vote matrix."""
        rows, cols = np.nonzero(self.voted)  # row-major: sorted by item
        return Annotations(
            rows.astype(np.int64),
            cols.astype(np.int64),
            self.codes[rows, cols].astype(np.int32),
            np.arange(self.n_items),
            np.arange(self.n_rules),
            np.arange(self.n_classes),
        )

    def counts(self) -> np.ndarray:
        """(n_items, n_classes) number of votes per class."""
        return self.annotations.counts


def _integer_codes(values: np.ndarray, name: str, rule_names: np.ndarray) -> np.ndarray:
    """Cast a 2-D array of votes to int64, naming the first cell that is not an integer."""
    if values.dtype.kind in "iu":
        return values.astype(np.int64, copy=False)
    if values.dtype.kind == "b":
        raise InputError(
            f"{name} holds booleans; votes must be class indices 0..K-1 or -1 (abstain)."
        )
    try:
        as_float = values.astype(np.float64)
    except (TypeError, ValueError):
        as_float = pd.DataFrame(values).apply(pd.to_numeric, errors="coerce").to_numpy(
            dtype=np.float64
        )
    bad = ~np.isfinite(as_float) | (as_float != np.round(as_float))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        what = "missing" if pd.isna(values[r, c]) else f"{show(values[r, c])}, not an integer"
        raise InputError(
            f"{name}: the vote in row {r}, rule {str(rule_names[c])!r} is {what}; votes must be "
            "class indices 0..K-1 or -1 (abstain)."
        )
    return as_float.astype(np.int64)


def check_votes(votes: Any, classes: Any = None, *, name: str = "L", owner: str = "") -> Votes:
    """Validate a vote matrix (ndarray, nested list or DataFrame; ``-1`` = abstain).

    A DataFrame gives the rule names (columns) and item ids (index); otherwise rules are
    named ``rule_0, rule_1, ...`` and items ``0 .. n-1``.

    Parameters
    ----------
    votes : array-like, DataFrame or Votes
        Class indices, ``-1`` = abstain, one column per rule (a Votes is returned as
        it is).
    classes : int or sequence, optional
        The number of classes or their names (default: ``0 .. max vote``, at least two).
    name : str, default="L"
        The argument's name, for the error message.
    owner : str, default=""
        The function that takes it, for the error message.

    Returns
    -------
    Votes
    """
    if isinstance(votes, Votes):
        return votes
    if isinstance(votes, pd.DataFrame):
        rule_names = np.asarray([str(c) for c in votes.columns])
        item_ids = votes.index.to_numpy()
        values = votes.to_numpy()
    else:
        if hasattr(votes, "tocsr"):
            raise InputError(
                f"{name} is a sparse matrix; pass a dense array or DataFrame with -1 for "
                "abstain (e.g. L.toarray() - 1 for a matrix that stores votes shifted by one)."
            )
        try:
            values = np.asarray(votes)
        except (TypeError, ValueError) as err:
            raise InputError(f"{name} cannot be read as an array ({err}).") from None
        rule_names = np.asarray([f"rule_{j}" for j in range(values.shape[1])]) if values.ndim == 2 else np.asarray([])
        item_ids = np.arange(values.shape[0]) if values.ndim >= 1 else np.arange(0)
    if values.ndim != 2:
        raise InputError(f"{name} must be 2-D (n_items, n_rules); got shape {values.shape}.")
    if values.shape[0] == 0:
        raise InputError(f"{name} has no items (rows).")
    if values.shape[1] == 0:
        raise InputError(f"{name} has no rules (columns).")
    if len(set(rule_names.tolist())) != rule_names.size:
        dup = pd.Series(rule_names)[pd.Series(rule_names).duplicated()].iloc[0]
        raise InputError(f"{name}: two rules are named {dup!r}; rule names must be unique.")
    codes = _integer_codes(values, name, rule_names)
    low = codes < ABSTAIN
    if low.any():
        r, c = np.argwhere(low)[0]
        raise InputError(
            f"{name}: the vote in row {r}, rule {str(rule_names[c])!r} is {codes[r, c]}; only -1 "
            "means abstain, classes are 0..K-1."
        )
    class_names = resolve_classes(classes, owner or name, int(codes.max()))
    k = class_names.shape[0]
    high = codes >= k
    if high.any():
        r, c = np.argwhere(high)[0]
        raise InputError(
            f"{name}: the vote in row {r}, rule {str(rule_names[c])!r} is {codes[r, c]}, outside "
            f"the {k} classes 0..{k - 1}."
        )
    return Votes(np.ascontiguousarray(codes), rule_names, item_ids, class_names)


def gold_codes(gold: Any, votes: Votes, *, name: str = "gold") -> np.ndarray:
    """Known labels as an int array aligned with the vote matrix's rows, -1 = unknown.

    ``gold`` is array-like of class indices (length n_items, -1 or NaN where unknown),
    or a Series indexed by item id (aligned on the vote matrix's index).

    Parameters
    ----------
    gold : array-like, Series or one-column DataFrame
        Known class index of each item, -1 or NaN where unknown.
    votes : Votes
        The checked vote matrix.
    name : str, default 'gold'
        Name of the argument, used in the error messages.

    Returns
    -------
    numpy.ndarray of int64, shape (n_items,)

    Raises
    ------
    InputError
        When ``gold`` has more than one column, not one label per item, a value that is
        not a whole number, or a class index outside ``-1 .. n_classes-1``.
    """
    n = votes.n_items
    if isinstance(gold, pd.DataFrame):
        if gold.shape[1] != 1:
            raise InputError(f"{name} must be one column of labels; got {gold.shape[1]} columns.")
        gold = gold.iloc[:, 0]
    if isinstance(gold, pd.Series) and not isinstance(gold.index, pd.RangeIndex):
        gold = gold.reindex(pd.Index(votes.item_ids))
    arr = np.asarray(gold)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InputError(f"{name} must have one label per item ({n}); got shape {arr.shape}.")
    num = pd.to_numeric(pd.Series(arr), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~pd.isna(arr) & (~np.isfinite(num) | (num != np.round(num)))
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise InputError(f"{name}: row {r} is {show(arr[r])}, not a class index.")
    codes = np.where(np.isfinite(num), num, -1).astype(np.int64)
    out = (codes < -1) | (codes >= votes.n_classes)
    if out.any():
        r = int(np.flatnonzero(out)[0])
        raise InputError(
            f"{name}: row {r} is {codes[r]}, outside the classes 0..{votes.n_classes - 1} "
            "(-1 = unknown)."
        )
    return codes
