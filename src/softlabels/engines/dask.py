"""The crowd models on Dask: partitioned answers in, partitioned soft labels out, the
in-process numbers.

What moves where:

- the answers are shuffled once so that every item's answers sit in one partition;
  each partition becomes a block (:mod:`softlabels.engines.blocks`) with item codes of
  its own and the global worker and class codes (the distinct worker ids and class
  labels are the only per-answer-table values the client reads);
- each EM iteration broadcasts the parameters (``O(n_workers * n_classes²)``), runs the
  E-step in every partition, and sums the partitions' statistics for the next M-step in
  a reduction tree: only the total reaches the client;
- the posteriors stay in the partitions (persisted) and come out as a Dask DataFrame of
  soft labels, or as partitioned Parquet written atomically (:func:`write_parquet`).

Example (needs the ``dask`` extra)::

    from distributed import Client
    from softlabels.engines.dask import aggregate, write_parquet

    client = Client()  # or Client("scheduler-address:8786")
    fit = aggregate("answers/*.parquet", method="dawid-skene")
    fit.confusions_, fit.n_iter_
    write_parquet(fit.soft_labels_, "soft_labels/")
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from softlabels._optional import require
from softlabels.core.annotations import (
    Annotations, check_answer_columns, check_padded_labels, class_list, codes_in, gold_of,
    gold_table, show, sorted_unique,
)
from softlabels.core.defaults import DEFAULT_DASK_METHOD
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.io import atomic_folder
from softlabels.core.soft import SoftLabels
from softlabels.engines.blocks import (
    AveragePlan, EBCCPlan, GladPlan, Plan, StackedPlan, Stats, add_stats, gold_codes, plan_for,
)

dask = require("dask", "dask")
dd = require("dask.dataframe", "dask")

__all__ = ["DaskFit", "aggregate", "write_parquet"]

#: partitions' statistics summed per node of the reduction tree
SPLIT_EVERY = 8


class DaskFit:
    """A crowd model fitted on Dask.

    Attributes
    ----------
    soft_labels_ : dask.dataframe.DataFrame
        ``item, label, confidence, support``, then one probability column per class
        (the layout of :meth:`softlabels.SoftLabels.to_frame`), partitioned by item.
    classes_, worker_ids_ : ndarray
        Class labels (sorted, or as declared) and worker ids (sorted), in code order.
    n_answers_, n_items_ : int
    n_gold_ : int
        The answered items that ``gold`` gives a label (0 without gold).
    n_iter_, converged_, log_likelihood_
        As the in-process model (0, True and nan for the closed-form models).
    confusions_, skills_, priors_, temperature_
        The model's worker and class parameters, workers in ``worker_ids_`` order
        (and, as the model has them: ``alphas_``, ``skill_sd_``).
    subtype_confusions_, subtype_weights_ : ndarray
        EBCC: as in-process (its joint posteriors of class and subtype stay in the
        partitions).
    betas_ : dask.dataframe.DataFrame
        GLAD: ``item, beta``, the item easiness, partitioned like ``soft_labels_``.
    members_ : list of DaskFit
        Soft-average, stacking: the members' fits (parameters only; their soft labels
        are combined into ``soft_labels_``).
    weights_, held_out_log_likelihood_ : ndarray of shape (n_members,)
        Stacking: the mixture weights and each member's mean log-probability of the
        held-out answers, as :class:`~softlabels.infer.crowd.stacking.HeldOutStacking`.
    """

    def __init__(self, method: str, params: dict[str, Any]) -> None:
        self.method = method
        self.params = params

    def reliability_frame(self) -> pd.DataFrame:
        """One row per worker: ``worker, n_answers, skill``."""
        return pd.DataFrame({
            "worker": self.worker_ids_,
            "n_answers": self.answers_per_worker_.astype(np.int64),
            "skill": self.skills_,
        })


def aggregate(
    answers: Any,
    method: str = DEFAULT_DASK_METHOD,
    *,
    item_col: str = "item",
    worker_col: str = "worker",
    label_col: str = "label",
    classes: Sequence[Any] | None = None,
    callback: Callable[[int, float], Any] | None = None,
    **params: Any,
) -> DaskFit:
    """Fit a crowd model on answers in a Dask DataFrame or in Parquet files.

    Parameters
    ----------
    answers : dask.dataframe.DataFrame, or str / path
        Long-format answers; a path, folder or glob is read with
        :func:`dask.dataframe.read_parquet`.
    method : str, default=DEFAULT_DASK_METHOD (``"stacked"``, the in-process default)
        A registry name (``majority-vote``, ``soft-vote``, ``wawa``,
        ``zero-based-skill``, ``dawid-skene``, ``one-coin-dawid-skene``, ``glad``,
        ``mace`` with ``n_restarts=0``, ``ibcc``, ``ebcc``, ``soft-average``,
        ``stacked``).
    item_col, worker_col, label_col, classes
        As :meth:`softlabels.Annotations.from_frame` (duplicate answers are kept).
    callback : callable, optional
        ``callback(iteration, log_likelihood)`` after every EM iteration.
    **params
        The model's parameters, checked as in-process (any ``uncertainty`` and
        ``init``), and ``gold``: known labels, as
        :meth:`softlabels.infer.base.CrowdModel.fit` takes them (broadcast to the
        partitions; each pins its own items).

    Returns
    -------
    DaskFit

    Notes
    -----
    The fit runs on the current Dask scheduler (a ``distributed.Client`` if one is
    active). Posteriors, confusions, priors, the log-likelihood and the iterations
    equal those of the in-process model up to floating-point summation order.
    """
    from softlabels.infer.registry import create_method

    if "duplicates" in params:
        raise InvalidParameterError(
            "duplicates= is not supported on the Dask engine yet (answers are all kept); "
            "fit in-process for it."
        )
    gold = params.pop("gold", None)
    model = create_method(method, **params)
    model._validate_params()
    plan = plan_for(model)
    if callback is not None and not callable(callback):
        raise InvalidParameterError(f"callback must be callable; got {callback!r}.")
    frame = _read(answers, item_col, worker_col, label_col)

    # one pass over the answers: rows, missing values, distinct workers and labels
    cols = [item_col, worker_col, label_col]
    gold_keys = None if gold is None else _gold_keys(gold)
    try:
        lengths, missing, workers, labels, gold_hits, kinds = dask.compute(
            frame.map_partitions(len), frame[cols].isna().sum(),
            frame[worker_col].drop_duplicates(split_out=1),
            frame[label_col].drop_duplicates(split_out=1),
            0 if gold_keys is None else frame[item_col].isin(list(gold_keys)).sum(),
            frame.map_partitions(_id_types, cols, meta={c: object for c in cols}),
        )
    except (OSError, ValueError) as err:  # a Parquet file the workers cannot read
        if not isinstance(answers, (str, os.PathLike)) or isinstance(err, InputError):
            raise
        raise InputError(f"cannot read Parquet answers from {os.fspath(answers)!r}: {err}") from err
    n_rows = int(np.sum(lengths))
    if n_rows == 0:
        raise InputError("the answer table has no rows.")
    for role, name in zip(("item", "worker", "label"), cols):
        if missing[name]:
            raise InputError(f"the {role} column {name!r} has {int(missing[name])} missing values.")
    worker_ids = sorted_unique(workers)
    class_arr = class_list(labels, classes)
    check_padded_labels(class_arr, "")
    known = None
    if gold is not None:  # checked on the client; each block looks up its own items
        keys, codes = gold_table(gold, class_arr)
        known = (keys, codes, len(keys) > 0 and not gold_hits)

    def make_block(part: pd.DataFrame) -> Annotations:
        block = _block(part, item_col, worker_col, label_col, worker_ids, class_arr)
        if known is not None:
            block.gold = gold_of(block.item_ids, *known)
        return block

    frame = frame[cols]
    mixed = False  # Arrow (the P2P shuffle) holds no column of mixed types
    for role, name in zip(("item", "worker", "label"), cols):
        found = sorted(set(kinds[name]) - {"empty"})
        if frame[name].dtype == object:  # values of any Python type: shuffled by tasks
            mixed = mixed or len(found) > 1 or any(k.startswith("mixed") for k in found)
        elif len(found) > 1:  # e.g. Parquet files of different schemas
            raise InputError(
                f"the {role} column {name!r} holds values of different types in different "
                f"partitions ({', '.join(found)}); give it one type in every file or partition."
            )
    by_item = frame.shuffle(on=item_col, shuffle_method="tasks" if mixed else None)
    blocks = [dask.delayed(make_block)(p) for p in by_item.to_delayed()]
    (blocks,) = dask.persist(blocks)

    fit = DaskFit(model.name, model.get_params())
    fit.classes_ = class_arr
    fit.worker_ids_ = worker_ids
    fit.n_gold_ = 0 if known is None else int(sum(dask.compute(*[
        dask.delayed(_n_gold)(b) for b in blocks])))
    states, totals = _run(plan, model, blocks, n_rows, fit, callback)
    fit.n_answers_ = int(totals["n_answers"])
    fit.n_items_ = int(totals["n_items"])
    fit.answers_per_worker_ = totals["per_worker"]
    meta = _soft_frame(_empty_block(frame, item_col, worker_ids, class_arr),
                       np.zeros((0, class_arr.size)), class_arr)
    parts = [dask.delayed(_soft_frame)(b, s[0], class_arr) for b, s in zip(blocks, states)]
    fit.soft_labels_ = dd.from_delayed(parts, meta=meta, verify_meta=False)
    if isinstance(plan, GladPlan):
        item_meta = pd.DataFrame({"item": meta["item"], "beta": np.zeros(0)})
        fit.betas_ = dd.from_delayed(
            [dask.delayed(_item_frame)(b, s[-1]) for b, s in zip(blocks, states)],
            meta=item_meta, verify_meta=False,
        )
    return fit


def _n_gold(block: Annotations) -> int:
    return int((gold_codes(block) >= 0).sum())


def _gold_keys(gold: Any) -> Any:
    """The item ids of ``gold`` (a mapping, Series or DataFrame with an ``item`` column),
    for the pass that checks whether any of them match as they are."""
    if isinstance(gold, pd.DataFrame):
        return gold["item"] if "item" in gold.columns else []
    if isinstance(gold, (dict, pd.Series)) or hasattr(gold, "keys"):
        return pd.Series(gold).index
    return []


def _id_types(part: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row: the kind of value (:func:`pandas.api.types.infer_dtype`) in each of
    the partition's ``columns``."""
    return pd.DataFrame({c: [pd.api.types.infer_dtype(part[c], skipna=True)] for c in columns})


def _item_frame(block: Annotations, log_beta: np.ndarray) -> pd.DataFrame:
    """A block's item easiness (GLAD's ``betas_``)."""
    return pd.DataFrame({"item": block.item_ids, "beta": np.exp(log_beta)})


def _run(
    plan: Plan, model: Any, blocks: list[Any], n_answers: int, fit: DaskFit,
    callback: Callable[[int, float], Any] | None,
) -> tuple[list[Any], Stats]:
    """The EM loop of :func:`softlabels.infer.em.run_em`, one distributed pass per
    iteration: every partition returns its posteriors (kept there) and statistics
    (summed in a tree). Returns the persisted ``(post, ...)`` states and the totals."""
    if getattr(plan, "weighted", False):
        return _run_weights(plan, model, blocks, fit, callback)
    if isinstance(plan, GladPlan):
        return _run_glad(plan, model, blocks, n_answers, fit, callback)
    if isinstance(plan, AveragePlan):
        return _run_average(plan, blocks, n_answers, fit, callback)
    if isinstance(plan, StackedPlan):
        return _run_stacked(plan, blocks, n_answers, fit)
    if isinstance(plan, EBCCPlan):
        return _run_subtypes(plan, model, blocks, n_answers, fit, callback)
    states = _starts(plan, model, blocks, fit)
    (states,) = dask.persist(states)
    (totals,) = dask.compute(_tree_sum([s[1] for s in states]))
    if hasattr(plan, "initial_params"):  # MACE: first posteriors from fitted parameters
        shared = dask.delayed(plan.initial_params(totals), traverse=False)
        states = [dask.delayed(plan.advance, nout=3)(b, shared) for b in blocks]
        (states,) = dask.persist(states)
        (totals,) = dask.compute(_tree_sum([s[2] for s in states]))
    fit.n_iter_, fit.converged_, fit.log_likelihood_ = 0, True, float("nan")
    params = None
    if plan.iterative:
        params, states, totals = _iterate(plan, model, blocks, states, totals, n_answers, fit,
                                          callback)
    for name, value in plan.fitted(params, totals).items():
        setattr(fit, name, value)
    if getattr(plan, "tempered", False) and totals["class_mass"].shape[0] >= 2:
        states = _temper(plan, plan.temper_prior(params), blocks, states, totals, n_answers,
                         fit)
    return states, totals


def _iterate(
    plan: Any, model: Any, blocks: list[Any], states: list[Any], totals: Stats,
    n_answers: int, fit: DaskFit, callback: Callable[[int, float], Any] | None,
) -> tuple[Any, list[Any], Stats]:
    """EM from the block states ``(post, ...)`` and their summed statistics, one
    distributed pass per iteration (:func:`_em_loop`): the last parameters, the
    persisted ``(post, loglik, stats)`` states and their totals."""
    params = None

    def iterate() -> float:
        nonlocal params, states, totals
        params = plan.params(totals)
        shared = dask.delayed(params, traverse=False)
        if plan.reads_post:
            states = [dask.delayed(plan.advance, nout=3)(b, shared, s[0])
                      for b, s in zip(blocks, states)]
        else:
            states = [dask.delayed(plan.advance, nout=3)(b, shared) for b in blocks]
        (states,) = dask.persist(states)
        objective, totals = dask.compute(
            _tree_sum([s[1] for s in states]), _tree_sum([s[2] for s in states])
        )
        return plan.objective(float(objective), params)

    _em_loop(model, n_answers, fit, callback, iterate)
    return params, states, totals


def _run_subtypes(
    plan: EBCCPlan, model: Any, blocks: list[Any], n_answers: int, fit: DaskFit,
    callback: Callable[[int, float], Any] | None,
) -> tuple[list[Any], Stats]:
    """EBCC (:class:`~softlabels.infer.crowd.ebcc.EBCC`): ``n_init`` EM runs on the
    joint posteriors, the one with the highest objective kept, then the collapsed
    update with its held-out temperature (``"vb-collapsed"``).

    Every run starts from the class posteriors (:func:`_starts`, computed once) split
    over the subtypes by one Dirichlet row per item, drawn as in-process from
    ``random_state`` in the order of the item ids. The items' global ranks come from a
    distributed sort of the distinct item ids (:func:`_rank_buckets`, once), so every
    bucket holds a contiguous range of ranks. A Dirichlet row takes a variable number
    of the stream's outputs (gamma variates by rejection), so the stream cannot jump
    ahead to a bucket: the generator is handed from bucket to bucket (its state, a few
    hundred bytes, never the rows), each drawing its rows in turn, and the rows go
    back to their items' partitions. The draws are thus sequential
    (``n_init · n_items · M`` variates, about 2 s per 10⁸); the EM runs are not.
    The best run's states are kept (persisted) while the next one runs."""
    from softlabels.core.validation import check_random_state

    classes = [s[0] for s in _starts(plan, model, blocks, fit)]
    (classes,) = dask.persist(classes)
    buckets, sizes = _rank_buckets(blocks)
    rng = check_random_state(model.random_state)
    stream = dask.delayed(rng, traverse=False)
    best = None
    for _ in range(model.n_init):
        rows = []
        for size in sizes:
            drawn = dask.delayed(plan.draw_splits, nout=2)(stream, int(size))
            rows.append(drawn[0])
            stream = drawn[1]
        splits = _route(buckets, rows, len(blocks))
        states = [dask.delayed(plan.split_start, nout=2)(b, c, q)
                  for b, c, q in zip(blocks, classes, splits)]
        states, stream = dask.persist(states, stream)
        (totals,) = dask.compute(_tree_sum([s[1] for s in states]))
        run = DaskFit(fit.method, fit.params)
        params, states, totals = _iterate(plan, model, blocks, states, totals, n_answers, run,
                                          callback)
        if best is None or run.log_likelihood_ > best[0].log_likelihood_:
            best = (run, params, states, totals)
    if isinstance(model.random_state, np.random.Generator):  # left where in-process leaves it
        rng.bit_generator.state = dask.compute(stream)[0].bit_generator.state
    run, params, states, totals = best  # type: ignore[misc]
    fit.n_iter_, fit.converged_ = run.n_iter_, run.converged_
    fit.log_likelihood_ = run.log_likelihood_
    for name, value in plan.fitted(params, totals).items():
        setattr(fit, name, value)
    if plan.tempered and fit.classes_.size >= 2:
        return _temper(plan, plan.temper_prior(params), blocks, states, totals, n_answers,
                       fit), totals
    states = [dask.delayed(plan.finish, nout=2)(b, s[0]) for b, s in zip(blocks, states)]
    (states,) = dask.persist(states)
    return states, totals


def _starts(plan: Plan, model: Any, blocks: list[Any], fit: DaskFit) -> list[Any]:
    """The first ``(post, stats)`` of every block. ``init="spectral"``: the worker
    groups from the summed answers per worker (one pass; ties broken by worker id, as
    in-process: the worker codes here are in id order), the moments summed over the
    blocks (one pass), the estimate on the client
    (:func:`~softlabels.infer.crowd.spectral.estimate_from_moments`), and its E-step in
    the blocks, the soft vote everywhere if it fails anywhere, as in-process."""
    if getattr(model, "init", None) != "spectral":
        return [dask.delayed(plan.start, nout=2)(b) for b in blocks]
    from softlabels.infer.crowd.spectral import (
        estimate_from_moments, group_moments, split_workers,
    )

    (per_worker,) = dask.compute(_tree_sum([dask.delayed(_answers_per_worker)(b)
                                            for b in blocks]))
    est = None
    if fit.classes_.size >= 2 and np.count_nonzero(per_worker) >= 3:
        groups = split_workers(per_worker)
        shared = dask.delayed(groups, traverse=False)
        (moments,) = dask.compute(_tree_sum([dask.delayed(group_moments)(b, shared)
                                             for b in blocks]))
        est = estimate_from_moments(moments, groups)
    shared = dask.delayed(est, traverse=False)
    starts = [dask.delayed(plan.spectral_start, nout=3)(b, shared) for b in blocks]
    (starts,) = dask.persist(starts)
    (bad,) = dask.compute(_tree_sum([s[2] for s in starts]))
    if bad:
        shared = dask.delayed(None, traverse=False)
        starts = [dask.delayed(plan.spectral_start, nout=3)(b, shared) for b in blocks]
    return [(s[0], s[1]) for s in starts]


def _answers_per_worker(block: Annotations) -> np.ndarray:
    return block.answers_per_worker.astype(np.float64)


def _run_average(
    plan: AveragePlan, blocks: list[Any], n_answers: int, fit: DaskFit,
    callback: Callable[[int, float], Any] | None,
) -> tuple[list[Any], Stats]:
    """Soft-average: each member fitted in turn on the blocks (``fit.members_``), then
    its posteriors combined in each partition."""
    states, totals = _fit_members(plan, blocks, n_answers, fit, callback, plan.combine)
    fit.skills_ = np.mean([m.skills_ for m in fit.members_], axis=0)
    return states, totals


def _fit_members(
    plan: Any, blocks: list[Any], n_answers: int, fit: DaskFit,
    callback: Callable[[int, float], Any] | None, combine: Callable[..., Any], *args: Any,
) -> tuple[list[Any], Stats]:
    """Each member of ``plan`` fitted in turn on the blocks (``fit.members_``), then
    ``combine(block, *args, *posteriors)`` in each partition."""
    members, posts = [], []
    for name, member in plan.members:
        part = _member_fit(name, member, fit)
        states, totals = _run(member, member.model, blocks, n_answers, part, callback)
        members.append(part)
        posts.append([s[0] for s in states])
    states = [dask.delayed(combine, nout=1)(b, *args, *p) for b, p in zip(blocks, zip(*posts))]
    (states,) = dask.persist(states)
    fit.members_ = members
    fit.n_iter_ = max(m.n_iter_ for m in members)
    fit.converged_ = all(m.converged_ for m in members)
    return states, totals


def _member_fit(name: str, member: Plan, fit: DaskFit) -> DaskFit:
    part = DaskFit(name, member.model.get_params())
    part.classes_, part.worker_ids_ = fit.classes_, fit.worker_ids_
    return part


def _run_stacked(
    plan: StackedPlan, blocks: list[Any], n_answers: int, fit: DaskFit
) -> tuple[list[Any], Stats]:
    """Stacking (:class:`~softlabels.infer.crowd.stacking.HeldOutStacking`).

    1. Folds: the items' global ranks come from a distributed sort of the distinct
       item ids (:func:`_sorted_fill`); each range of ranks draws its keys from the
       seeded stream jumped ahead to it; the workers' keys are per-partition sums
       modulo 2**64, added in the tree; the folds are then computed in the partitions.
    2. Every fold: each member's plan on the blocks without the fold's answers; the
       expected confusion counts of the training answers summed (``O(W·K²)``), the
       prediction's confusion rows broadcast, the held-out probabilities kept in the
       partitions. A member with ``answer_probabilities`` (EBCC) predicts with its own
       model instead: its training fit's terms broadcast (EBCC's subtype confusions),
       each partition's held-out answers from its items' state of that fit.
    3. The weights: :func:`~softlabels.infer.crowd.stacking.optimise_weights`, the
       in-process search, each of its sums one pass (``m`` numbers per partition).
    4. Each member on all answers; its posteriors mixed in the partitions.

    In-process, the members ignore the fit's callback; so do they here."""
    from softlabels.infer import em as K
    from softlabels.infer.crowd.stacking import optimise_weights, prediction_rows

    model = plan.model
    n_folds, n_members = model.n_folds, len(plan.members)
    k = fit.classes_.size
    stream = _fold_stream(model.random_state)
    ids, n_items = _item_keys(blocks)
    if isinstance(model.random_state, np.random.Generator):  # as in-process: 2 draws per item
        model.random_state.bit_generator.advance(2 * n_items)
    keys = _sorted_fill(ids, _FoldKeys(stream, n_items))
    worker_key = _tree_sum([dask.delayed(plan.worker_keys)(b, q) for b, q in zip(blocks, keys)])
    folds = [dask.delayed(plan.folds)(b, q, worker_key) for b, q in zip(blocks, keys)]
    (folds,) = dask.persist(folds)

    columns: list[list[Any]] = [[] for _ in blocks]
    for f in range(n_folds):
        (counts,) = dask.compute(_tree_sum([dask.delayed(plan.n_kept)(q, f) for q in folds]))
        n_train, n_out = int(counts[0]), int(counts[1])
        if not n_out:
            for col in columns:
                col.extend([np.zeros(0)] * n_members)
            continue
        train = [dask.delayed(plan.train_block)(b, q, f) for b, q in zip(blocks, folds)]
        (train,) = dask.persist(train)
        for name, member in plan.members:
            part = _member_fit(name, member, fit)
            states, _ = _run(member, member.model, train, n_train, part, None)
            if hasattr(member.model, "answer_probabilities"):  # its own model (EBCC)
                shared = dask.delayed(member.answer_terms(part), traverse=False)
                preds = [dask.delayed(plan.predict_own)(b, q, f, member, s, shared)
                         for b, q, s in zip(blocks, folds, states)]
            else:
                posts = [s[0] for s in states]
                (cube,) = dask.compute(_tree_sum([dask.delayed(plan.train_cube)(t, p)
                                                  for t, p in zip(train, posts)]))
                shared = dask.delayed(prediction_rows(cube.reshape(-1, k, k),
                                                      model.prior_strength), traverse=False)
                preds = [dask.delayed(plan.predict)(b, q, f, p, shared)
                         for b, q, p in zip(blocks, folds, posts)]
            (preds,) = dask.persist(preds)
            for col, pred in zip(columns, preds):
                col.append(pred)
    terms = [dask.delayed(plan.held_out, nout=2)(q, n_members, n_folds, *col)
             for q, col in zip(folds, columns)]
    (terms,) = dask.persist(terms)
    (held,) = dask.compute(_tree_sum([t[1] for t in terms]))

    def em_sums(w: np.ndarray) -> np.ndarray:
        return dask.compute(_tree_sum([dask.delayed(plan.weight_sums)(t[0], w, "em")
                                       for t in terms]))[0]

    def loss_grad_sums(v: np.ndarray) -> tuple[float, np.ndarray]:
        total = dask.compute(_tree_sum([dask.delayed(plan.weight_sums)(t[0], v, "loss")
                                        for t in terms]))[0]
        return float(total[0]), total[1:]

    fit.weights_ = optimise_weights(int(held["kept"]), n_members, em_sums, loss_grad_sums)
    fit.held_out_log_likelihood_ = (held["logs"] / held["n"] if held["n"]
                                    else np.zeros(n_members))

    states, totals = _fit_members(plan, blocks, n_answers, fit, None, plan.mix, fit.weights_)
    fit.skills_ = np.tensordot(fit.weights_, np.stack([m.skills_ for m in fit.members_]),
                               axes=1)
    return states, totals


def _fold_stream(seed: Any) -> tuple[str, dict[str, Any]]:
    """The bit generator (class name, state) whose stream the folds' item keys come
    from, as :func:`~softlabels.infer.crowd.stacking.answer_folds` draws them: an int
    or a legacy RandomState gives the in-process stream; a Generator too when its bit
    generator can jump ahead (PCG64, the default, or PCG64DXSM); None draws a fresh
    seed here, once (the folds are random, as in-process)."""
    from softlabels.core.validation import check_random_state

    if isinstance(seed, np.random.Generator):
        bits = seed.bit_generator
        if not isinstance(bits, (np.random.PCG64, np.random.PCG64DXSM)):
            raise InvalidParameterError(
                "random_state of 'stacked' on the Dask engine must be an int, None or a "
                "Generator on PCG64 / PCG64DXSM (whose stream can jump ahead to each "
                f"partition's items); got a Generator on {type(bits).__name__}."
            )
    else:
        bits = check_random_state(seed).bit_generator
    return type(bits).__name__, bits.state


class _FoldKeys:
    """The two fold keys of the items of global ranks ``[offset, offset + count)``:
    the ``rank``-th and ``n_items + rank``-th draws of ``integers(0, 2**63,
    dtype=uint64)`` (one 64-bit output each) of the fold stream."""

    def __init__(self, stream: tuple[str, dict[str, Any]], n_items: int) -> None:
        self.stream, self.n_items = stream, n_items

    def __call__(self, offset: int, count: int) -> np.ndarray:
        out = np.empty((count, 2), dtype=np.uint64)
        for col, start in enumerate((offset, self.n_items + offset)):
            bits = getattr(np.random, self.stream[0])()
            bits.state = self.stream[1]
            bits.advance(start)
            out[:, col] = np.random.Generator(bits).integers(0, 2**63, size=count,
                                                             dtype=np.uint64)
        return out


def _n_items(block: Annotations) -> float:
    return float(block.n_items)


def _id_kinds(block: Annotations) -> dict[Any, Any]:
    """One item id of each type in the block."""
    ids = block.item_ids
    if ids.dtype != object:
        return {ids.dtype.str: ids[0]} if ids.size else {}
    return {type(x): x for x in ids}


def _ids_as_text(kinds: list[dict[Any, Any]]) -> bool:
    """Whether the item ids sort by their text, as
    :func:`~softlabels.infer.crowd.ebcc.item_order` sorts them in-process: when ids of
    the types found do not compare."""
    probe = np.empty(sum(len(k) for k in kinds), dtype=object)
    probe[:] = [x for k in kinds for x in k.values()]
    try:
        np.argsort(probe, kind="stable")
    except TypeError:
        return True
    return False


def _sort_keys(block: Annotations, as_text: bool) -> np.ndarray:
    return block.item_ids.astype(str) if as_text else block.item_ids


def _item_keys(blocks: list[Any]) -> tuple[list[Any], int]:
    """The blocks' item ids as sort keys (by their text where ids of the types found
    do not compare, as :func:`~softlabels.infer.crowd.ebcc.item_order`), and the
    number of items."""
    kinds, n_items = dask.compute([dask.delayed(_id_kinds)(b) for b in blocks],
                                  _tree_sum([dask.delayed(_n_items)(b) for b in blocks]))
    as_text = _ids_as_text(kinds)
    return [dask.delayed(_sort_keys)(b, as_text) for b in blocks], int(n_items)


def _rank_buckets(blocks: list[Any]) -> tuple[list[Any], np.ndarray]:
    """The blocks' items sorted by id (:func:`_sample_sort` of :func:`_item_keys`)."""
    return _sample_sort(_item_keys(blocks)[0])


def _sorted_fill(parts: list[Any], fill: Callable[[int, int], np.ndarray]) -> list[Any]:
    """Values by global rank: ``parts`` are delayed arrays of distinct keys (distinct
    over all parts too); returns, per part, ``fill(offset, count)``'s rows for its keys'
    ranks in the sorted union (:func:`_sample_sort`, then each bucket fills its
    contiguous range of ranks, and its values go back to the parts the keys came
    from: :func:`_route`)."""
    buckets, sizes = _sample_sort(parts)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    values = [dask.delayed(fill)(int(o), int(n)) for o, n in zip(offsets, sizes)]
    return _route(buckets, values, len(parts))


def _sample_sort(parts: list[Any]) -> tuple[list[Any], np.ndarray]:
    """The distinct keys of ``parts`` (delayed arrays) in sorted order, cut into
    buckets of contiguous ranks: the persisted buckets (each ``(part, position in the
    part)`` of its keys, in order) and their sizes. A sample sort: splitters from every
    part's quantiles (on the client: ~32 keys per part), each part's keys split by
    them into buckets, each bucket sorted where it lands; the bucket sizes (one int
    each) give every bucket its first rank. No key reaches the client."""
    n_parts = len(parts)
    (samples,) = dask.compute([dask.delayed(_key_sample)(p) for p in parts])
    samples = [s for s in samples if s.size]
    pool = np.sort(np.concatenate(samples)) if samples else np.zeros(0)
    cut = (np.arange(1, n_parts) * pool.size) // n_parts
    splitters = pool[cut[(cut > 0) & (cut < pool.size)]]
    n_buckets = splitters.size + 1
    pieces = [dask.delayed(_split_keys, nout=n_buckets)(p, splitters) for p in parts]
    buckets = [dask.delayed(_sort_bucket)(*[pieces[i][q] for i in range(n_parts)])
               for q in range(n_buckets)]
    (buckets,) = dask.persist(buckets)
    (sizes,) = dask.compute([dask.delayed(len)(b[0]) for b in buckets])
    return buckets, np.asarray(sizes, dtype=np.int64)


def _route(buckets: list[Any], values: list[Any], n_parts: int) -> list[Any]:
    """Per part, the rows of ``values`` (per bucket, one row per key in sorted order)
    for its keys, in the part's order: every row moves once."""
    back = [dask.delayed(_fill_bucket, nout=n_parts)(b, v, n_parts)
            for b, v in zip(buckets, values)]
    return [dask.delayed(_gather)(*[back[q][i] for q in range(len(buckets))])
            for i in range(n_parts)]


def _key_sample(keys: np.ndarray, size: int = 32) -> np.ndarray:
    keys = np.sort(keys)
    if keys.size <= size:
        return keys
    return keys[(np.arange(size) * keys.size) // size]


def _split_keys(
    keys: np.ndarray, splitters: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The part's keys bucket by bucket, with their positions in the part."""
    bucket = np.searchsorted(splitters, keys, side="right") if splitters.size else \
        np.zeros(keys.size, dtype=np.int64)
    order = np.argsort(bucket, kind="stable")
    bounds = np.searchsorted(bucket[order], np.arange(splitters.size + 2))
    return tuple((order[a:b], keys[order[a:b]]) for a, b in zip(bounds[:-1], bounds[1:]))


def _sort_bucket(*pieces: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A bucket's keys in sorted order, as (part, position in the part)."""
    part = np.concatenate([np.full(p[0].size, i, dtype=np.int64) for i, p in enumerate(pieces)])
    where = np.concatenate([p[0] for p in pieces]).astype(np.int64)
    keys = [p[1] for p in pieces if p[1].size]
    if not keys:
        return part, where
    order = np.argsort(np.concatenate(keys), kind="stable")
    return part[order], where[order]


def _fill_bucket(bucket: tuple[np.ndarray, np.ndarray], values: np.ndarray, n_parts: int
                 ) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    part, where = bucket
    return tuple((where[part == i], values[part == i]) for i in range(n_parts))


def _gather(*pieces: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    where = np.concatenate([p[0] for p in pieces])
    values = np.concatenate([p[1] for p in pieces])
    out = np.empty_like(values)
    out[where] = values
    return out


def _em_loop(
    model: Any, n_answers: int, fit: DaskFit, callback: Callable[[int, float], Any] | None,
    iterate: Callable[[], float],
) -> None:
    """:func:`softlabels.infer.em.run_em`'s stopping rule around ``iterate`` (one M-step
    and E-step, returning the log-likelihood): ``n_iter`` iterations, or a change below
    ``tol`` per answer."""
    prev, scale = -np.inf, max(n_answers, 1)
    fit.converged_ = False
    for it in range(1, model.n_iter + 1):
        objective = iterate()
        fit.n_iter_, fit.log_likelihood_ = it, objective
        if callback is not None:
            callback(it, objective)
        if abs(objective - prev) / scale < model.tol:
            fit.converged_ = True
            break
        prev = objective


def _run_glad(
    plan: GladPlan, model: Any, blocks: list[Any], n_answers: int, fit: DaskFit,
    callback: Callable[[int, float], Any] | None,
) -> tuple[list[Any], Stats]:
    """GLAD's EM: the block states are ``(post, loglik, stats, log_beta)``. The M-step
    (:func:`~softlabels.infer.crowd.glad.safeguarded_step` on the abilities, on the
    client, its objective a sum over partitions) starts with one pass for the workers'
    scoring sums; then each round is one pass (:meth:`GladPlan.speculate`) when every
    worker takes its full step, and two more (the trials, the items) per round where
    some worker's step is halved; then one E-step pass."""
    from softlabels.infer.crowd.glad import safeguarded_step

    starts = _starts(plan, model, blocks, fit)
    items = [dask.delayed(plan.items)(b) for b in blocks]
    states = [(s[0], 0.0, s[1], lb) for s, lb in zip(starts, items)]
    (states,) = dask.persist(states)
    (totals,) = dask.compute(_tree_sum([s[2] for s in states]))
    n_workers = totals["per_worker"].shape[0]
    alpha = np.full(n_workers, float(model.alpha_prior))
    params = (alpha, plan.prior(totals))

    def mapped(method: Any, value: np.ndarray, log_betas: list[Any], nout: int | None = None
               ) -> list[Any]:
        shared = dask.delayed(value, traverse=False)
        return [dask.delayed(method, nout=nout)(b, s[0], lb, shared)
                for b, s, lb in zip(blocks, states, log_betas)]

    def iterate() -> float:
        nonlocal alpha, params, states, totals
        log_betas = [s[3] for s in states]
        (sums,) = dask.compute(_tree_sum(mapped(plan.worker_sums, alpha, log_betas)))
        for _ in range(model.m_steps):
            ahead: dict[str, Any] = {}

            def fit_at(trial: np.ndarray) -> np.ndarray:
                if ahead:  # a halving: one more pass
                    return dask.compute(_tree_sum(mapped(plan.worker_fit, trial, log_betas)))[0]
                parts = mapped(plan.speculate, trial, log_betas, nout=4)
                (parts,) = dask.persist(parts)
                fit, moved, nxt = dask.compute(_tree_sum([q[0] for q in parts]),
                                               [q[2] for q in parts],
                                               _tree_sum([q[3] for q in parts]))
                ahead.update(trial=trial, log_betas=[q[1] for q in parts], moved=moved, sums=nxt)
                return fit

            alpha, moved_a = safeguarded_step(alpha, sums, float(model.alpha_prior), fit_at)
            if np.array_equal(alpha, ahead["trial"]):  # the full step: the pass did the rest
                log_betas, moved_b, sums = ahead["log_betas"], ahead["moved"], ahead["sums"]
            else:
                stepped = mapped(plan.item_step, alpha, log_betas, nout=2)
                (stepped,) = dask.persist(stepped)
                log_betas = [m[0] for m in stepped]
                moved_b, sums = dask.compute(
                    [m[1] for m in stepped],
                    _tree_sum(mapped(plan.worker_sums, alpha, log_betas)),
                )
            if max(moved_a, max(moved_b, default=0.0)) < model.m_tol:
                break
        params = (alpha, plan.prior(totals))
        shared = dask.delayed(params, traverse=False)
        states = [(*dask.delayed(plan.advance_items, nout=3)(b, lb, shared), lb)
                  for b, lb in zip(blocks, log_betas)]
        (states,) = dask.persist(states)
        objective, totals = dask.compute(
            _tree_sum([s[1] for s in states]), _tree_sum([s[2] for s in states])
        )
        return float(objective)

    fit.n_iter_, fit.log_likelihood_ = 0, float("nan")
    _em_loop(model, n_answers, fit, callback, iterate)
    for name, value in plan.fitted(params, totals).items():
        setattr(fit, name, value)
    return states, totals


def _run_weights(
    plan: Any, model: Any, blocks: list[Any], fit: DaskFit,
    callback: Callable[[int, float], Any] | None,
) -> tuple[list[Any], Stats]:
    """The skill loop of Wawa and zero-based skill: one distributed pass per update of
    the skills (each partition: its workers' agreement with its vote), then the
    weighted votes in the partitions."""
    skills = plan.start_skills(fit.worker_ids_.size, fit.classes_.size)
    lr = float(getattr(model, "lr_init", 1.0))
    fit.n_iter_, fit.converged_ = 0, True
    for it in range(1, plan.passes() + 1):
        shared = dask.delayed(skills, traverse=False)
        (totals,) = dask.compute(_tree_sum([dask.delayed(plan.agreement)(b, shared)
                                            for b in blocks]))
        before = skills
        skills, lr, stop = plan.update(it, skills, totals, lr)
        if plan.passes() > 1:
            fit.n_iter_, fit.converged_ = it, stop
            if callback is not None:  # as in-process: the largest skill step
                callback(it, float(np.abs(skills - before).max(initial=0.0)))
        if stop:
            break
    shared = dask.delayed(skills, traverse=False)
    states = [dask.delayed(plan.final, nout=2)(b, shared) for b in blocks]
    (states,) = dask.persist(states)
    (totals,) = dask.compute(_tree_sum([s[1] for s in states]))
    fit.skills_ = skills
    return states, totals


def _temper(
    plan: Any, prior: np.ndarray, blocks: list[Any], states: list[Any], totals: Stats,
    n_answers: int, fit: DaskFit,
) -> list[Any]:
    """The held-out temperature (:func:`softlabels.infer.em.held_out_temperature`): the
    search runs on the client, each value of its objective a sum over partitions."""
    from softlabels.infer import em as K

    shared = dask.delayed(plan.held_out_params(totals), traverse=False)
    step = K.temperature_step(n_answers)  # the workers' id hashes: blocks hold no worker ids
    sample = dask.delayed((step, K.id_hashes(fit.worker_ids_) if step > 1 else None),
                          traverse=False)
    terms = [dask.delayed(plan.temper_terms)(b, s[0], shared, prior, sample)
             for b, s in zip(blocks, states)]
    (terms,) = dask.persist(terms)

    def neg_loglik(log_t: float) -> float:
        inv = float(np.exp(-log_t))
        parts = [dask.delayed(plan.temper_loglik)(t, inv) for t in terms]
        return -float(dask.compute(_tree_sum(parts))[0])

    fit.temperature_ = K.search_temperature(neg_loglik)
    posts = [dask.delayed(plan.tempered_post, nout=getattr(plan, "n_state", 1))(
        b, t, prior, fit.temperature_)
             for b, t in zip(blocks, terms)]
    (posts,) = dask.persist(posts)
    return posts


def _tree_sum(parts: list[Any]) -> Any:
    """The sum of delayed statistics (dicts, or floats), ``SPLIT_EVERY`` per node."""
    def total(*values: Any) -> Any:
        out = values[0]
        for v in values[1:]:
            out = add_stats(out, v) if isinstance(out, dict) else out + v
        return out

    level = list(parts)
    while len(level) > 1:
        level = [dask.delayed(total)(*level[i:i + SPLIT_EVERY])
                 for i in range(0, len(level), SPLIT_EVERY)]
    return level[0]


def _read(answers: Any, item_col: str, worker_col: str, label_col: str) -> Any:
    if isinstance(answers, (str, os.PathLike)):
        where = os.fspath(answers)
        if "://" not in where and not glob.glob(where):
            raise InputError(f"no Parquet answers at {where!r}: no file or folder matches.")
        try:
            frame = dd.read_parquet(where)
        except (FileNotFoundError, OSError, ValueError) as err:
            raise InputError(f"cannot read Parquet answers from {where!r}: {err}") from err
    elif isinstance(answers, dd.DataFrame):
        frame = answers
    else:
        raise InputError(
            "answers must be a dask DataFrame or a path or glob of Parquet files; got "
            f"{type(answers).__name__}."
        )
    check_answer_columns(frame.columns, item_col, worker_col, label_col)
    return frame


def _block(
    part: pd.DataFrame, item_col: str, worker_col: str, label_col: str,
    worker_ids: np.ndarray, classes: np.ndarray,
) -> Annotations:
    """One partition's answers as a block: local item codes, global worker and class
    codes (the worker ids themselves are not copied into every block)."""
    item_codes, item_ids = pd.factorize(part[item_col], sort=False)
    workers = pd.Index(worker_ids).get_indexer(part[worker_col])
    labels = codes_in(part[label_col], classes)
    bad = np.flatnonzero(labels < 0)
    if bad.size:
        raise InputError(
            f"label {show(part[label_col].iloc[bad[0]])} is not one of the declared classes "
            f"{classes.tolist()} ({bad.size} such rows in a partition)."
        )
    block = Annotations(
        item_codes.astype(np.int64), workers.astype(np.int64), labels.astype(np.int32),
        np.asarray(item_ids), np.zeros(worker_ids.size, dtype=np.bool_), classes,
    )
    return block


def _empty_block(frame: Any, item_col: str, worker_ids: np.ndarray, classes: np.ndarray) -> Annotations:
    empty = np.zeros(0, dtype=np.int64)
    item_ids = frame[item_col]._meta.to_numpy()[:0]
    return Annotations(empty, empty, empty.astype(np.int32), item_ids,
                       np.zeros(worker_ids.size, dtype=np.bool_), classes)


def _soft_frame(block: Annotations, post: np.ndarray, classes: np.ndarray) -> pd.DataFrame:
    """A block's soft-label table (:meth:`SoftLabels.to_frame`)."""
    if block.n_items == 0:
        names = [str(c) for c in classes]
        frame = pd.DataFrame({
            "item": block.item_ids,
            "label": classes[:0],
            "confidence": np.zeros(0),
            "support": np.zeros(0, dtype=np.int64),  # answers per item: whole numbers
        })
        return pd.concat([frame, pd.DataFrame(np.zeros((0, classes.size)), columns=names)], axis=1)
    return SoftLabels(post, classes, block.item_ids, support=block.answers_per_item).to_frame()


def write_parquet(frame: Any, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write a Dask (or pandas) DataFrame as partitioned Parquet, atomically.

    The files are written into a temporary sibling folder which is then renamed to
    ``path``: a failed write removes the temporary folder and leaves no partial data
    set. An existing ``path`` is an :class:`InputError` unless ``overwrite=True``; it is
    then replaced only once the new data set is complete. Local paths only.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame or pandas.DataFrame
        The table to write (its index is not written).
    path : str or os.PathLike
        The output folder, on the local file system.
    overwrite : bool, default False
        Replace an existing ``path`` (once the new data set is complete).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    InputError
        When ``path`` is a URL, already exists without ``overwrite=True``, or its parent
        folder does not exist.
    """
    target = Path(os.fspath(path))
    if "://" in str(path):
        raise InputError(f"write_parquet writes to local folders only; got {str(path)!r}.")
    if target.exists() and not overwrite:
        raise InputError(f"{str(target)!r} already exists; pass overwrite=True to replace it.")
    if not target.parent.is_dir():
        raise InputError(f"the folder {str(target.parent)!r} of the output does not exist.")
    with atomic_folder(target) as tmp:
        if isinstance(frame, pd.DataFrame):
            frame.to_parquet(tmp / "part.0.parquet", index=False)
        else:
            frame.to_parquet(str(tmp), write_index=False)
    return target
