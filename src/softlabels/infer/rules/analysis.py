"""Diagnostics of a set of labeling rules from their vote matrix (snorkel's LFAnalysis)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from softlabels.infer.rules.votes import Votes, check_votes, gold_codes

__all__ = ["analyze_rules", "vote_summary"]


def _row_flags(v: Votes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item: covered (>= 1 vote), overlapped (>= 2 votes), conflicted (>= 2 different votes)."""
    n_votes = v.voted.sum(axis=1)
    top = v.codes.max(axis=1)  # abstain (-1) is below every class
    bottom = np.where(v.voted, v.codes, v.n_classes).min(axis=1)
    covered = n_votes >= 1
    return covered, n_votes >= 2, covered & (top != bottom)


def analyze_rules(L: Any, gold: Any = None, *, classes: Any = None, model: Any = None) -> pd.DataFrame:
    """One row per rule: polarity, coverage, overlaps, conflicts, and accuracy on gold.

    The statistics are those of snorkel's ``LFAnalysis.lf_summary``:

    - ``polarity``: the sorted distinct classes the rule votes for;
    - ``coverage``: fraction of all items the rule votes on;
    - ``overlaps``: fraction of all items the rule votes on and at least one other rule
      votes on too;
    - ``conflicts``: fraction of all items the rule votes on and some other rule votes a
      different class;
    - with ``gold``: ``correct`` and ``incorrect`` (the rule's votes on items whose
      label is known) and ``accuracy = correct / (correct + incorrect)``. snorkel reports
      0 for a rule without any such vote; here it is NaN.
    - with a fitted label ``model``: ``learned_accuracy`` (its ``accuracies_``).

    Parameters
    ----------
    L : array-like or DataFrame of shape (n_items, n_rules)
        Votes: class indices ``0 .. K-1``, ``-1`` = abstain. DataFrame columns name the
        rules.
    gold : array-like of shape (n_items,), optional
        Known class indices, ``-1`` (or NaN) where unknown. A Series with a non-default
        index is aligned on the index of ``L``.
    classes : int or sequence, optional
        The classes (default: ``0 .. max vote``).
    model : LabelModel or MatrixCompletionLabelModel, optional
        A label model fitted on ``L``.

    Returns
    -------
    DataFrame indexed by rule name.

    See Also
    --------
    vote_summary : the same statistics over the whole rule set.

    Examples
    --------
    >>> L = [[-1, 0, 0], [-1, -1, -1], [1, 0, -1], [-1, 0, -1], [0, 0, 0]]
    >>> analyze_rules(L, gold=[0, 1, 1, 0, 0])
           polarity  coverage  overlaps  conflicts  correct  incorrect  accuracy
    rule                                                                        
    rule_0   [0, 1]       0.4       0.4        0.2        2          0      1.00
    rule_1      [0]       0.8       0.6        0.2        3          1      0.75
    rule_2      [0]       0.4       0.4        0.0        2          0      1.00
    """
    v = check_votes(L, classes, owner="analyze_rules")
    n = v.n_items
    voted = v.voted
    covered, overlapped, conflicted = _row_flags(v)
    del covered
    coverage = voted.sum(axis=0) / n
    overlaps = (voted & overlapped[:, None]).sum(axis=0) / n
    conflicts = (voted & conflicted[:, None]).sum(axis=0) / n
    # polarity: which classes each rule ever votes for, from an (n_rules, K) count table
    k = v.n_classes
    cols = np.broadcast_to(np.arange(v.n_rules), v.codes.shape)[voted]
    table = np.bincount(cols * k + v.codes[voted], minlength=v.n_rules * k).reshape(v.n_rules, k)
    data: dict[str, Any] = {
        "polarity": [np.flatnonzero(row).tolist() for row in table],
        "coverage": coverage,
        "overlaps": overlaps,
        "conflicts": conflicts,
    }
    if gold is not None:
        y = gold_codes(gold, v)
        known = voted & (y >= 0)[:, None]
        correct = (known & (v.codes == y[:, None])).sum(axis=0)
        total = known.sum(axis=0)
        data["correct"] = correct
        data["incorrect"] = total - correct
        with np.errstate(invalid="ignore", divide="ignore"):
            data["accuracy"] = np.where(total > 0, correct / np.maximum(total, 1), np.nan)
    if model is not None:
        acc = np.asarray(getattr(model, "accuracies_", None), dtype=np.float64)
        if acc.shape != (v.n_rules,):
            from softlabels.core.errors import InputError

            raise InputError(
                f"model must be a label model fitted on these {v.n_rules} rules "
                f"(its accuracies_ has shape {acc.shape})."
            )
        data["learned_accuracy"] = acc
    return pd.DataFrame(data, index=pd.Index(v.rule_names, name="rule"))


def vote_summary(L: Any, *, classes: Any = None) -> dict[str, float]:
    """Rule-set statistics: the fractions of items with at least one vote
    (``coverage``), at least two (``overlap``) and two different votes (``conflict``),
    as snorkel's ``label_coverage``, ``label_overlap`` and ``label_conflict``.

    Parameters
    ----------
    L : array-like or DataFrame of shape (n_items, n_rules)
        Votes: class indices ``0 .. K-1``, ``-1`` = abstain.
    classes : int or sequence, optional
        The classes (default: ``0 .. max vote``).

    Returns
    -------
    dict
        ``n_items``, ``n_rules``, ``coverage``, ``overlap`` and ``conflict``.

    Examples
    --------
    >>> L = [[-1, 0, 0], [-1, -1, -1], [1, 0, -1], [-1, 0, -1], [0, 0, 0]]
    >>> vote_summary(L)
    {'n_items': 5, 'n_rules': 3, 'coverage': 0.8, 'overlap': 0.6, 'conflict': 0.2}
    """
    v = check_votes(L, classes, owner="vote_summary")
    covered, overlapped, conflicted = _row_flags(v)
    return {
        "n_items": v.n_items,
        "n_rules": v.n_rules,
        "coverage": float(covered.mean()),
        "overlap": float(overlapped.mean()),
        "conflict": float(conflicted.mean()),
    }
