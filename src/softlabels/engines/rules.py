"""Labeling rules on Dask: apply rules to a partitioned table, fit a label model on the
partitioned vote matrix, with the in-process numbers.

- :func:`apply_rules` runs :func:`softlabels.infer.rules.apply_rules` in every
  partition: the vote matrix is a Dask DataFrame with the data's index (item ids), one
  int32 column per rule, ``-1`` for abstain (as snorkel's Dask applier gives it).
- :func:`fit_label_model` fits the one-coin label models of
  :class:`softlabels.infer.rules.LabelModel` (``"shared-one-coin"``, ``"one-coin"``,
  ``"pooled-one-coin"`` and the default ``"hierarchical-one-coin"``) on it. Without
  modelled abstentions these are one-coin crowd models on the non-abstain votes, a rule
  being a worker (one pseudo-worker for the shared model), so they run on
  :func:`softlabels.engines.dask.aggregate`; the pooled model's tie split and the
  posterior of the items no rule votes on (``uncovered``) are applied per partition.

Example (needs the ``dask`` extra)::

    import dask.dataframe as dd
    from softlabels.engines.rules import apply_rules, fit_label_model

    comments = dd.read_parquet("comments/*.parquet")
    votes = apply_rules(my_rules, comments, classes=2)
    fit = fit_label_model(votes, classes=2)
    fit.soft_labels_.to_parquet("labels/")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from softlabels._optional import require
from softlabels.core.annotations import show
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import SoftLabels
from softlabels.infer.rules import apply_rules as apply_in_process
from softlabels.infer.rules.label_model import abstention_mass, silence_indicators, split_ties, uncovered_posterior

dask = require("dask", "dask")
dd = require("dask.dataframe", "dask")

__all__ = ["LabelModelFit", "apply_rules", "fit_label_model"]

#: the label models that run here, and what each is on the crowd engine
SUPPORTED = ("hierarchical-one-coin", "pooled-one-coin", "shared-one-coin", "one-coin")
_ITEM, _RULE, _VOTE = "__item__", "__rule__", "__vote__"


def apply_rules(rules: Any, data: Any, *, classes: Any = None) -> Any:
    """The vote matrix of ``rules`` on a Dask DataFrame, partition by partition.

    Parameters are those of :func:`softlabels.infer.rules.apply_rules`; ``data`` is a
    ``dask.dataframe.DataFrame``. A rule that raises or returns a bad value fails the
    computation with the in-process message (rule, row of the data's index, value).

    Parameters
    ----------
    rules : LabelingFunction, callable or list of them
        The rules, as in-process.
    data : dask.dataframe.DataFrame
        The items, one row each (anything else raises :class:`InputError`).
    classes : int or sequence, optional
        The classes, to check the votes against.

    Returns
    -------
    dask.dataframe.DataFrame
        One column of votes per rule, ``-1`` for an abstention.
    """
    if not isinstance(data, dd.DataFrame):
        raise InputError(f"data must be a dask DataFrame; got {type(data).__name__}.")
    meta = apply_in_process(rules, data._meta, classes=classes)
    return data.map_partitions(_apply, rules, classes, meta=meta)


def _apply(part: pd.DataFrame, rules: Any, classes: Any) -> pd.DataFrame:
    return apply_in_process(rules, part, classes=classes)


class LabelModelFit:
    """A label model fitted on Dask: ``soft_labels_`` (a Dask DataFrame in the layout of
    :meth:`softlabels.SoftLabels.to_frame`, one row per item of the vote matrix),
    ``class_prior_``, ``uncovered_probs_`` (the posterior of the items no rule votes
    on), ``accuracies_`` (per rule, as in-process: the expected fraction of its votes
    that are correct under the posteriors; NaN for a rule that never votes),
    ``shared_accuracy_`` (shared and pooled models),
    ``n_iter_``, ``converged_``, ``log_likelihood_``, ``rule_names_``, ``classes_``."""


def fit_label_model(
    votes: Any,
    *,
    callback: Callable[[int, float], Any] | None = None,
    **params: Any,
) -> LabelModelFit:
    """Fit a one-coin label model on a partitioned vote matrix.

    ``params`` are those of :class:`softlabels.infer.rules.LabelModel`, with its
    defaults, checked there; ``votes`` is a Dask DataFrame of class indices and ``-1``
    (abstain), one column per rule, indexed by item (ids unique, as in-process: a
    repeated id is an error, on rows with or without a vote). ``classes``: the number of
    classes (or their names); when omitted, one more than the largest vote, at least
    two. ``class_balance``: ``"uniform"`` or ``"learn"``. The soft labels equal the
    in-process model's up to floating-point summation order.

    Parameters
    ----------
    votes : dask.dataframe.DataFrame
        Class indices and ``-1``, one column per rule, indexed by item.
    callback : callable, optional
        Called as ``callback(iteration, objective)`` after every EM iteration.
    **params
        Parameters of :class:`softlabels.infer.rules.LabelModel`; an unknown name or
        a bad value raises as in-process.

    Returns
    -------
    LabelModelFit
    """
    from softlabels.engines.dask import aggregate

    if not isinstance(votes, dd.DataFrame):
        raise InputError(f"votes must be a dask DataFrame; got {type(votes).__name__}.")
    from softlabels.infer.registry import create_source

    reference = create_source("rules-label-model", **params)  # unknown names: an error
    reference._validate_params()  # every value checked as in-process
    model, class_balance, classes = reference.model, reference.class_balance, reference.classes
    if model not in SUPPORTED:
        raise InvalidParameterError(
            f"label model {model!r} does not run on Dask yet; supported: {', '.join(SUPPORTED)}."
        )
    if not isinstance(class_balance, str):
        raise InvalidParameterError(
            "class_balance must be 'uniform' or 'learn' on Dask (fixed class probabilities: "
            "fit in-process)."
        )
    rule_names = np.asarray([str(c) for c in votes.columns])
    if rule_names.size == 0:
        raise InputError("votes has no rule columns.")
    if len(set(rule_names.tolist())) != rule_names.size:
        dup = pd.Series(rule_names)[pd.Series(rule_names).duplicated()].iloc[0]
        raise InputError(f"votes: two rules are named {dup!r}; rule names must be unique.")
    if any(dtype.kind == "b" for dtype in votes.dtypes):
        raise InputError("votes holds booleans; votes must be class indices 0..K-1 or -1 "
                         "(abstain).")
    bad_meta = pd.DataFrame({"item": votes._meta.index[:0], "rule": pd.Series([], dtype=object),
                             "value": pd.Series([], dtype=object)})
    ids = votes.index.to_series()
    top, bad, n_rows, n_ids, n_missing = dask.compute(
        votes.max().max(), votes.map_partitions(_bad_votes, meta=bad_meta),
        votes.map_partitions(len).sum(), ids.nunique(dropna=False), ids.isna().sum(),
    )
    if len(bad):
        item, rule, value = bad.iloc[0]
        raise InputError(f"votes: the vote of item {show(item)}, rule {rule!r} is {value}; "
                         "votes must be class indices 0..K-1 or -1 (abstain).")
    if not n_rows:
        raise InputError("votes has no items (rows).")
    if n_missing:
        raise InputError(f"votes: {n_missing} item id{' is' if n_missing == 1 else 's are'} "
                         "missing; every item needs an id.")
    if n_ids < n_rows:  # every row is an item, with or without a vote (as in-process)
        counts = ids.value_counts(dropna=False)
        dup = counts[counts > 1].index.compute()[0]  # only on this error
        raise InputError(f"votes: item ids must be unique; {show(dup)} appears more than once.")
    top = int(top)
    if top < 0:
        raise InputError("votes: every rule abstains on every item; there is nothing to fit.")
    k = max(top + 1, 2) if classes is None else _n_classes(classes)  # as in-process
    if top >= k:
        raise InputError(f"a vote {top} is not a class index below {k}.")
    if k < 2:
        raise InputError("the votes have fewer than two classes; give classes=K.")
    names = np.arange(k)  # the codes the crowd engine fits on; class names at the end
    labels = (names if classes is None or isinstance(classes, (int, np.integer))
              else np.asarray(list(classes)))
    # the table's layout with the class names (and the names checked as its columns)
    named = SoftLabels(np.full((1, k), 1.0 / k), labels, support=np.zeros(1)).to_frame()

    def long(shared: bool) -> Any:
        meta = pd.DataFrame({_ITEM: votes._meta.index[:0], _RULE: pd.Series([], dtype=object),
                             _VOTE: pd.Series([], dtype=np.int64)})
        return votes.map_partitions(_long_votes, shared, meta=meta)

    crowd = dict(classes=list(names), item_col=_ITEM, worker_col=_RULE, label_col=_VOTE,
                 alpha=reference.alpha, prior="learn" if class_balance == "learn" else "uniform",
                 min_skill=reference.min_accuracy, prior_strength=0.0, uncertainty="plug-in",
                 n_iter=reference.n_iter, tol=reference.tol, init=reference.init)
    per_rule = model in ("one-coin", "hierarchical-one-coin")
    hierarchical = dict(prior_strength=reference.pooling, prior_skill=reference.prior_accuracy)
    first = aggregate(long(not per_rule), "one-coin-dawid-skene", callback=callback,
                      **{**crowd, **(hierarchical if model == "hierarchical-one-coin" else {})})
    fit = LabelModelFit()
    fit.classes_, fit.rule_names_ = labels, rule_names
    fit.class_prior_ = first.priors_
    fit.n_iter_, fit.converged_ = first.n_iter_, first.converged_
    fit.log_likelihood_ = first.log_likelihood_
    soft = first.soft_labels_
    if not per_rule:
        fit.shared_accuracy_ = float(first.skills_[0])
    if model == "pooled-one-coin":
        rules = aggregate(long(False), "one-coin-dawid-skene", **crowd)
        fit.n_iter_ += rules.n_iter_
        cols = [str(c) for c in names]
        both = soft.merge(rules.soft_labels_[["item", *cols]], on="item", suffixes=("", "__r"))
        soft = both.map_partitions(_split, cols, meta=soft._meta)
    fit.accuracies_ = _accuracies(votes, soft, names)
    support = votes.map_partitions(lambda part: (part >= 0).sum(axis=1).rename("support"),
                                   meta=pd.Series([], dtype=np.int64, name="support"))
    fit.uncovered_probs_ = fit.class_prior_
    if reference.uncovered != "prior":
        fired, mass, n_silent = _abstention_stats(votes, soft, support, names)
        fit.uncovered_probs_ = uncovered_posterior(fired, mass, n_silent, fit.class_prior_, float(reference.alpha),
                                                   reference.uncovered)
    soft = _with_uncovered(soft, support, fit.uncovered_probs_, names)
    if labels is not names:
        meta = named.iloc[:0].astype({"item": soft._meta["item"].dtype, "support": np.int64})
        soft = soft.map_partitions(_named, labels, meta=meta)
    fit.soft_labels_ = soft
    return fit


def _abstention_stats(votes: Any, soft: Any, support: Any, names: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """:func:`softlabels.infer.rules.label_model.abstention_mass` of the
    ``silence_indicators`` summed over the partitions of the items with a vote, and the
    number of items without one."""
    cols = [str(c) for c in names]
    m, k = len(votes.columns) + names.size, names.size
    fire_cols = [f"__fired{j}__" for j in range(m)]

    def fired_part(part: pd.DataFrame) -> pd.DataFrame:
        values = part.to_numpy()
        counts = (values[:, :, None] == np.arange(k)).sum(axis=1)
        return pd.DataFrame(silence_indicators(values >= 0, counts), index=part.index, columns=fire_cols)

    fire_meta = pd.DataFrame({c: pd.Series([], dtype=np.float64) for c in fire_cols}, index=votes._meta.index[:0])
    both = soft[["item", *cols]].merge(votes.map_partitions(fired_part, meta=fire_meta),
                                       left_on="item", right_index=True, how="inner")

    def sums(part: pd.DataFrame) -> pd.DataFrame:
        fired, mass = abstention_mass(part[fire_cols].to_numpy(), part[cols].to_numpy())
        return pd.DataFrame([np.concatenate([fired.ravel(), mass])])

    meta = pd.DataFrame({i: pd.Series([], dtype=np.float64) for i in range(m * k + k)})
    total, n_silent = dask.compute(both.map_partitions(sums, meta=meta).sum(), (support == 0).sum())
    total = np.asarray(total, dtype=np.float64)
    return total[: m * k].reshape(m, k), total[m * k:], float(n_silent)


def _bad_votes(part: pd.DataFrame) -> pd.DataFrame:
    """The first vote of a partition that is neither -1 nor a class index: its item,
    rule and value (an empty table when there is none)."""
    raw = part.to_numpy()
    values = part.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    rows, cols = np.nonzero(~np.isfinite(values) | (values != np.round(values)) | (values < -1))
    rows, cols = rows[:1], cols[:1]
    shown: list[str] = []
    for v in raw[rows, cols]:  # at most one; -2.0 is shown as -2, as in-process
        whole = isinstance(v, (float, np.floating)) and float(v).is_integer()
        shown.append("missing" if pd.isna(v) else show(int(v) if whole else v))
    return pd.DataFrame({"item": part.index.to_numpy()[rows],
                         "rule": [str(c) for c in part.columns[cols]], "value": shown})


def _n_classes(classes: Any) -> int:
    if isinstance(classes, (int, np.integer)) and not isinstance(classes, bool):
        return int(classes)
    return len(list(classes))


def _long_votes(part: pd.DataFrame, shared: bool) -> pd.DataFrame:
    """One row per non-abstain vote: item (the index), rule (or one pseudo-rule), vote."""
    values = part.to_numpy()
    rows, cols = np.nonzero(values >= 0)
    rule = (np.full(rows.size, "all", dtype=object) if shared
            else np.asarray([str(c) for c in part.columns], dtype=object)[cols])
    return pd.DataFrame({_ITEM: part.index.to_numpy()[rows], _RULE: rule,
                         _VOTE: values[rows, cols].astype(np.int64)})


def _accuracies(votes: Any, soft: Any, names: np.ndarray) -> np.ndarray:
    """:func:`softlabels.infer.rules.label_model.agreement` summed over the partitions:
    per rule (in column order) the posterior mass of the classes it votes for over its
    number of votes; NaN for a rule that never votes."""
    cols = [str(c) for c in names]
    keys = [f"__rule{j}__" for j in range(len(votes.columns))]  # a rule may be named "item"
    renamed = votes.rename(columns=dict(zip(votes.columns, keys)))
    both = soft[["item", *cols]].merge(renamed, left_on="item", right_index=True, how="inner")

    def sums(part: pd.DataFrame) -> pd.DataFrame:
        codes = part[keys].to_numpy()
        voted = codes >= 0
        right = np.take_along_axis(part[cols].to_numpy(dtype=np.float64),
                                   np.where(voted, codes, 0).astype(np.int64), axis=1)
        return pd.DataFrame([np.concatenate([np.where(voted, right, 0.0).sum(axis=0),
                                             voted.sum(axis=0)])])

    meta = pd.DataFrame({i: pd.Series([], dtype=np.float64) for i in range(2 * len(keys))})
    total = np.asarray(both.map_partitions(sums, meta=meta).sum().compute(), dtype=np.float64)
    right, n = total[: len(keys)], total[len(keys):]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, right / np.maximum(n, 1), np.nan)


def _split(part: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """The pooled model's posteriors: ties of the shared posterior split by the per-rule
    one (:func:`softlabels.infer.rules.label_model.split_ties`)."""
    post = split_ties(part[cols].to_numpy(), part[[c + "__r" for c in cols]].to_numpy())
    classes = np.arange(len(cols))
    soft = SoftLabels(post, classes, part["item"].to_numpy(), support=part["support"].to_numpy())
    return soft.to_frame()


def _named(part: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """The soft-label table of class codes ``0 .. K-1`` with the class names instead."""
    cols = [str(c) for c in range(labels.size)]
    return SoftLabels(part[cols].to_numpy(), labels, part["item"].to_numpy(),
                      support=part["support"].to_numpy()).to_frame()


def _with_uncovered(soft: Any, support: Any, prior: np.ndarray, classes: np.ndarray) -> Any:
    """Every item of the vote matrix: those no rule votes on get the class prior."""
    empty = support[support == 0].to_frame()

    def uncovered(part: pd.DataFrame) -> pd.DataFrame:
        post = np.tile(prior, (len(part), 1))
        return SoftLabels(post, classes, part.index.to_numpy(),
                          support=np.zeros(len(part), dtype=np.int64)).to_frame()

    rest = empty.map_partitions(uncovered, meta=soft._meta)
    return dd.concat([soft, rest])
