"""EM machinery and vectorised kernels shared by the crowd models and the rule label
models (:mod:`softlabels.infer.crowd`, :mod:`softlabels.infer.rules`).

:func:`run_em` is the loop (M-step, E-step, gold pinned, stop on ``tol`` per answer,
``callback(iteration, objective)`` after each iteration). Every model works on the integer codes of :class:`~softlabels.core.Annotations`:
scatter-adds over items or workers are ``np.bincount`` calls, and the
confusion-matrix models (Dawid–Skene, MACE) multiply the sparse item x (worker, label)
count matrix with a dense table of log probabilities. No Python loop runs over items
or workers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np

from softlabels.core.annotations import Annotations
from softlabels.core.soft import normalize_rows
from softlabels.infer import compiled
from softlabels.infer.base import pin_gold

#: smallest probability used inside logarithms
TINY = 1e-300


def log_normalize(logits: np.ndarray) -> tuple[np.ndarray, float]:
    """Row-wise softmax of log scores, and the sum of the log normalisers
    (the log-likelihood of the observed answers under the model). Overwrites
    ``logits``.

    Parameters
    ----------
    logits : numpy.ndarray, shape (n, K)
        Log scores of each row; overwritten with the probabilities.

    Returns
    -------
    post : numpy.ndarray, shape (n, K)
        Row-wise softmax (the same array as ``logits``).
    loglik : float
        Sum over the rows of the log of their normaliser.
    """
    top = row_reduce(np.maximum, logits)
    post = np.subtract(logits, top[:, None], out=logits)  # logits are consumed
    np.exp(post, out=post)
    total = row_reduce(np.add, post)
    post /= total[:, None]
    return post, float(top.sum() + np.log(total).sum())


def row_reduce(op: np.ufunc, a: np.ndarray) -> np.ndarray:
    """``op.reduce(a, axis=1)``, column by column: much faster for few columns.

    Parameters
    ----------
    op : numpy.ufunc
        A binary ufunc such as ``np.add`` or ``np.maximum``.
    a : numpy.ndarray, shape (n, K)
        The array to reduce along its rows.

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    if a.shape[1] > 32 or a.shape[1] == 0:
        return op.reduce(a, axis=1)
    out = a[:, 0].copy()
    for j in range(1, a.shape[1]):
        op(out, a[:, j], out=out)
    return out


def safe_log(x: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(x, TINY))


def weighted_votes(ann: Annotations, answer_weights: np.ndarray) -> np.ndarray:
    """(n_items, n_classes) sums of per-answer weights by answered class.

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    answer_weights : numpy.ndarray, shape (n_answers,)
        Weight of each answer.

    Returns
    -------
    numpy.ndarray, shape (n_items, n_classes)
    """
    k = ann.n_classes
    flat = np.bincount(
        ann.item.astype(np.int64) * k + ann.label,
        weights=answer_weights,
        minlength=ann.n_items * k,
    )
    return flat.reshape(ann.n_items, k)


def worker_votes(ann: Annotations, worker_weights: np.ndarray) -> np.ndarray:
    """Weighted vote matrix where each answer weighs as much as its worker.

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    worker_weights : numpy.ndarray, shape (n_workers,)
        Weight of each worker.

    Returns
    -------
    numpy.ndarray, shape (n_items, n_classes)
    """
    return weighted_votes(ann, worker_weights[ann.worker])


def per_item_sum(ann: Annotations, values: np.ndarray) -> np.ndarray:
    return np.bincount(ann.item, weights=values, minlength=ann.n_items)


def per_worker_sum(ann: Annotations, values: np.ndarray) -> np.ndarray:
    return np.bincount(ann.worker, weights=values, minlength=ann.n_workers)


def answer_agreement(ann: Annotations, post: np.ndarray) -> np.ndarray:
    """For each answer, the posterior probability that it is correct: post[item, label].

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    post : numpy.ndarray, shape (n_items, n_classes)
        Posterior class probabilities of each item.

    Returns
    -------
    numpy.ndarray, shape (n_answers,)
    """
    return post[ann.item, ann.label]


def worker_agreement(ann: Annotations, post: np.ndarray) -> np.ndarray:
    """Mean posterior probability of each worker's answers (their expected accuracy).

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    post : numpy.ndarray, shape (n_items, n_classes)
        Posterior class probabilities of each item.

    Returns
    -------
    numpy.ndarray, shape (n_workers,)
        0 for a worker without answers.
    """
    n = ann.answers_per_worker
    return per_worker_sum(ann, answer_agreement(ann, post)) / np.maximum(n, 1)


def split_argmax(scores: np.ndarray) -> np.ndarray:
    """One-hot of the row maxima, with ties shared equally between the tied classes.

    Parameters
    ----------
    scores : numpy.ndarray, shape (n, K)
        Scores of each row; values within ``1e-12`` times the row's largest magnitude
        of the maximum count as tied.

    Returns
    -------
    numpy.ndarray, shape (n, K)
        Rows summing to 1.
    """
    top = scores >= scores.max(axis=1, keepdims=True) - 1e-12 * np.abs(scores).max(
        axis=1, keepdims=True
    )
    return normalize_rows(top.astype(np.float64))


def sparse_product(matrix: Any, dense: np.ndarray) -> np.ndarray:
    """``matrix @ dense`` for a CSR matrix and a dense float array: in the compiled
    kernel when numba is installed (:mod:`softlabels.infer.compiled`; the same sums in
    the same order), otherwise scipy's product.

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix, shape (n, m)
        The sparse left factor.
    dense : numpy.ndarray, shape (m, K)
        The dense right factor.

    Returns
    -------
    numpy.ndarray, shape (n, K)
    """
    fast = compiled.kernels(dense.shape[1])
    if fast is None or matrix.shape[0] == 0:
        return np.asarray(matrix @ dense)
    dense = np.ascontiguousarray(dense, dtype=np.float64)
    out = np.empty((matrix.shape[0], dense.shape[1]))
    fast.product_rows(matrix.indptr, matrix.indices, matrix.data,
                      compiled.is_unit(matrix), dense, out, 0, matrix.shape[0])
    return out


def confusion_log_scores(ann: Annotations, log_pi: np.ndarray) -> np.ndarray:
    """Sum over each item's answers of ``log_pi[worker, k, label]``, for every class k.

    ``log_pi`` has shape (n_workers, n_classes_true, n_classes_answered).

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    log_pi : numpy.ndarray, shape (n_workers, n_classes, n_classes)
        Log confusion matrix of each worker (true class, answered class).

    Returns
    -------
    numpy.ndarray, shape (n_items, n_classes)
    """
    w, k, _ = log_pi.shape
    table = np.ascontiguousarray(log_pi.transpose(0, 2, 1)).reshape(w * k, k)
    return sparse_product(ann.item_pair_matrix, table)


def pair_counts(ann: Annotations, post: np.ndarray) -> np.ndarray:
    """Expected counts in pair layout: row ``w * K + l`` (answers of w with label l),
    column k: the sum of those answers' items' posteriors for class k. With the
    compiled kernels, one pass over the items in order (the sums of the product with
    the transposed matrix, which is then never built).

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    post : numpy.ndarray, shape (n_items, n_classes)
        Posterior class probabilities of each item.

    Returns
    -------
    numpy.ndarray, shape (n_workers * n_classes, n_classes)
    """
    fast = compiled.kernels(post.shape[1])
    if fast is None or post.shape[0] == 0:
        return sparse_product(ann.pair_item_matrix, post)
    matrix = ann.item_pair_matrix
    out = np.empty((matrix.shape[1], post.shape[1]))
    fast.scatter_rows(matrix.indptr, matrix.indices, matrix.data, compiled.is_unit(matrix),
                      np.ascontiguousarray(post, dtype=np.float64), out)
    return out


def confusion_counts(ann: Annotations, post: np.ndarray) -> np.ndarray:
    """Expected counts ``C[w, k, l]`` = sum over answers of w with label l of post[item, k].

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    post : numpy.ndarray, shape (n_items, n_classes)
        Posterior class probabilities of each item.

    Returns
    -------
    numpy.ndarray, shape (n_workers, n_classes, n_classes)
    """
    w, k = ann.n_workers, ann.n_classes
    return pair_counts(ann, post).reshape(w, k, k).transpose(0, 2, 1)


def log_wrong(skill: np.ndarray, n_classes: int) -> np.ndarray:
    """log of the probability of one particular wrong answer, (1 - s) / (K - 1).

    Parameters
    ----------
    skill : numpy.ndarray
        Probability of a right answer (per worker or per answer).
    n_classes : int
        Number of classes ``K``; below 2 the result is 0.

    Returns
    -------
    numpy.ndarray
        Same shape as ``skill``.
    """
    if n_classes < 2:
        return np.zeros_like(skill)
    return safe_log((1.0 - skill) / (n_classes - 1))


def coin_log_scores(
    ann: Annotations, log_right: np.ndarray, log_wrong_: np.ndarray
) -> np.ndarray:
    """Log scores when every answer is right with a per-answer log probability
    ``log_right`` and otherwise spread over the other classes (``log_wrong_`` each).

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    log_right : numpy.ndarray, shape (n_answers,)
        Log probability that each answer is right.
    log_wrong_ : numpy.ndarray, shape (n_answers,)
        Log probability of each particular wrong answer.

    Returns
    -------
    numpy.ndarray, shape (n_items, n_classes)
    """
    base = per_item_sum(ann, log_wrong_)
    return base[:, None] + weighted_votes(ann, log_right - log_wrong_)


def class_prior(post: np.ndarray, smoothing: float = 1e-3) -> np.ndarray:
    """Class prior from posteriors, lightly smoothed so no class gets probability 0.

    Parameters
    ----------
    post : numpy.ndarray, shape (n_items, n_classes)
        Posterior class probabilities of each item.
    smoothing : float, default 0.001
        Added to each class's total before normalising.

    Returns
    -------
    numpy.ndarray, shape (n_classes,)
    """
    p = column_sums(post) + smoothing
    return p / p.sum()


def column_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` of a 2-D float array; in the compiled kernel when numba is
    installed (the same sums in the same order, several times faster for few columns).

    Parameters
    ----------
    a : numpy.ndarray, shape (n, K)

    Returns
    -------
    numpy.ndarray, shape (K,)
    """
    fast = compiled.kernels(a.shape[1]) if a.ndim == 2 else None
    if fast is None or a.dtype != np.float64 or not a.flags.c_contiguous:
        return a.sum(axis=0)
    out = np.empty(a.shape[1])
    fast.column_sums(a, out)
    return out


Callback = Callable[[int, float], Any]


def run_em(
    init_post: np.ndarray,
    m_step: Callable[[np.ndarray], Any],
    e_step: Callable[[Any], tuple[np.ndarray, float]],
    *,
    gold: np.ndarray,
    n_iter: int,
    tol: float,
    n_answers: int,
    callback: Callback | None = None,
    copy: bool = True,
) -> tuple[np.ndarray, Any, int, bool, float]:
    """Alternate M- and E-steps from initial posteriors.

    Stops after ``n_iter`` iterations or when the objective returned by the E-step
    (a log-likelihood) changes by less than ``tol`` per answer. ``tol=0`` always runs
    ``n_iter`` iterations. Gold items keep their known label throughout.
    ``copy=False``: ``init_post`` (float64) is the caller's to give, and is written.

    Returns the posteriors, the last parameters, the iterations run, whether the
    tolerance was met and the last objective.

    Parameters
    ----------
    init_post : numpy.ndarray, shape (n_items, n_classes)
        Initial posteriors.
    m_step : callable
        Posteriors to the model's parameters.
    e_step : callable
        Parameters to ``(posteriors, objective)``.
    gold : numpy.ndarray of int, shape (n_items,)
        Known class code of each item, negative where unknown.
    n_iter : int
        Largest number of iterations.
    tol : float
        Stop when the objective changes by less than this per answer.
    n_answers : int
        Number of answers, the scale of ``tol``.
    callback : callable, optional
        Called as ``callback(iteration, objective)`` after each iteration.
    copy : bool, default True
        False: ``init_post`` is written in place.

    Returns
    -------
    post : numpy.ndarray, shape (n_items, n_classes)
    params : object
        The last result of ``m_step``.
    iterations : int
        Iterations run.
    converged : bool
        Whether the tolerance was met.
    objective : float
        The last objective.
    """
    known = np.flatnonzero(gold >= 0)

    def pin(post: np.ndarray) -> np.ndarray:
        return pin_gold(post, gold, copy=False, known=known)

    post = pin(np.array(init_post, dtype=np.float64, copy=copy))
    prev = -np.inf
    params: Any = None
    objective = -np.inf
    converged = False
    it = 0
    scale = max(n_answers, 1)
    for it in range(1, n_iter + 1):
        params = m_step(post)
        post, objective = e_step(params)
        post = pin(post)
        if callback is not None:
            callback(it, objective)
        if abs(objective - prev) / scale < tol:
            converged = True
            break
        prev = objective
    return post, params, it, converged, objective


def resolve_n_jobs(n_jobs: int | None) -> int:
    """``None`` means 1 thread, ``-1`` all cores, otherwise the number given.

    Parameters
    ----------
    n_jobs : int or None
        Requested number of threads; any negative value means all cores, and 0 means 1.

    Returns
    -------
    int
        At least 1.
    """
    import os

    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(os.cpu_count() or 1, 1)
    return max(int(n_jobs), 1)


class RowBlocks:
    """The two sparse matrices of an :class:`Annotations`, cut into row blocks that
    threads can multiply independently (scipy releases the GIL in sparse products,
    numpy in element-wise operations).

    Item blocks split the items; pair blocks split the workers, so that a worker's
    ``n_classes`` (worker, label) rows stay in one block.

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    n_jobs : int
        Number of blocks wanted (threads); 1 below :attr:`MIN_ANSWERS` answers, and
        never more than the number of items or of workers.
    """

    #: below this many answers threads cost more than they save
    MIN_ANSWERS = 200_000

    def __init__(self, ann: Annotations, n_jobs: int) -> None:
        n = n_jobs if ann.n_answers >= self.MIN_ANSWERS else 1
        self.n_blocks = max(min(n, ann.n_items, ann.n_workers), 1)
        k = ann.n_classes
        item_cuts = np.linspace(0, ann.n_items, self.n_blocks + 1).astype(int)
        worker_cuts = np.linspace(0, ann.n_workers, self.n_blocks + 1).astype(int)
        self.items = [slice(a, b) for a, b in zip(item_cuts[:-1], item_cuts[1:])]
        self.pairs = [slice(a * k, b * k) for a, b in zip(worker_cuts[:-1], worker_cuts[1:])]
        self._ann = ann
        self._pool: Any = None

    @cached_property
    def item_pair(self) -> list[Any]:
        """The item blocks' rows of the item x pair matrix (copies when there are
        several blocks; the compiled kernels read row ranges of the whole matrix)."""
        if self.n_blocks == 1:
            return [self._ann.item_pair_matrix]
        return [self._ann.item_pair_matrix[s] for s in self.items]

    @cached_property
    def pair_item(self) -> list[Any]:
        """The pair blocks' rows of the pair x item matrix (as :attr:`item_pair`)."""
        if self.n_blocks == 1:
            return [self._ann.pair_item_matrix]
        return [self._ann.pair_item_matrix[s] for s in self.pairs]

    def map(self, fn: Callable[[int], Any]) -> list[Any]:
        """``[fn(0), ..., fn(n_blocks - 1)]``, in threads when there are several blocks.

        Parameters
        ----------
        fn : callable
            Called with each block's index.

        Returns
        -------
        list
            The results in block order.
        """
        if self.n_blocks == 1:
            return [fn(0)]
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self.n_blocks - 1)
        # the calling thread takes the first block itself
        futures = [self._pool.submit(fn, b) for b in range(1, self.n_blocks)]
        first = fn(0)
        return [first, *(f.result() for f in futures)]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> RowBlocks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: answers per block when the held-out temperature is evaluated (bounds the memory)
_TEMPERATURE_BLOCK = 1 << 20
#: the temperature is fitted on at most about this many answers (evenly spaced)
_TEMPERATURE_ANSWERS = 200_000


def _log_sum_exp(a: np.ndarray) -> np.ndarray:
    """Row-wise log-sum-exp of a 2-D array (few columns: a loop over them)."""
    top = row_reduce(np.maximum, a)
    top = np.where(np.isfinite(top), top, 0.0)
    total = row_reduce(np.add, np.exp(a - top[:, None]))
    with np.errstate(divide="ignore"):
        return np.log(total) + top


def held_out_temperature(
    log_prior: np.ndarray,
    scores: np.ndarray,
    ann: Annotations,
    answer_logs: Callable[[Any], tuple[np.ndarray, np.ndarray]],
    *,
    bounds: tuple[float, float] = (1.0, 100.0),
) -> float:
    """The evidence temperature that best predicts each answer from the others.

    The posterior of item i is ``softmax((log_prior + scores[i]) / T)``, where
    ``scores[i, k]`` sums the log-likelihoods of i's answers under class k.
    ``answer_logs(s)`` gives, for the answers ``s`` of ``ann`` (a slice or an index
    array; answer a belongs to item ``ann.item[a]``), two ``(len, n_classes)``
    arrays: ``log_fit``, the answer's own term in the scores, and ``log_held``, the
    log-probability of the answer under its worker's parameters estimated *without*
    it. Leaving answer a out takes ``log_fit[a]`` off its item's scores; the remaining posterior ``p_{-a}`` predicts
    the answer with ``sum_k p_{-a}(k) exp(log_held[a, k])``. ``T`` maximises the total
    log-likelihood of the left-out answers over ``bounds`` (a bounded scalar search
    on ``log T``; both ends are checked too). Above 200,000 answers it is fitted on
    about 200,000 of them, one in k (:func:`temperature_sample`: chosen by a hash of
    the answer's item id, worker id and label, so the same answers in any row order,
    or in any partitions, give the same temperature); one number needs no more. Below
    200,000 answers every answer counts.

    ``T = 1`` is the plain (plug-in) posterior. A larger ``T`` says that the model's
    posterior is more certain than its own answers bear out (its worker parameters are
    estimates, and an item's answers are less independent evidence than it assumes).
    ``T`` is fitted on the answers alone, without truth, and never changes the most
    likely class of an item: tempering changes how sure a label is, not which it is.

    Parameters
    ----------
    log_prior : numpy.ndarray, shape (n_classes,)
        Log class prior.
    scores : numpy.ndarray, shape (n_items, n_classes)
        Sum of each item's answers' log-likelihoods under each class.
    ann : Annotations
        The encoded answers.
    answer_logs : callable
        ``answer_logs(s)`` gives ``(log_fit, log_held)`` for the answers ``s``, as in
        :func:`held_out_temperature`.
    bounds : tuple of float, default (1.0, 100.0)
        Smallest and largest temperature searched.

    Returns
    -------
    float
        The temperature; 1.0 without answers or with fewer than two classes.
    """
    item = ann.item
    n = len(item)
    if n == 0 or scores.shape[1] < 2:
        return 1.0
    # a scalar needs no more than this many answers: beyond it, one answer in k
    step = temperature_step(n)
    chosen: list[Any]
    if step == 1:
        span = _TEMPERATURE_BLOCK
        chosen = [slice(a, min(a + span, n)) for a in range(0, n, span)]
    else:
        picked = temperature_sample(ann, step)
        chosen = [picked[a:a + _TEMPERATURE_BLOCK]
                  for a in range(0, max(picked.size, 1), _TEMPERATURE_BLOCK)]
    cached = (
        [temperature_terms(log_prior, scores, item, answer_logs, chosen[0])]
        if len(chosen) == 1 else None
    )

    def neg_loglik(log_t: float) -> float:
        inv = np.exp(-log_t)
        total = 0.0
        for b, s in enumerate(chosen):
            terms = cached[b] if cached is not None else temperature_terms(
                log_prior, scores, item, answer_logs, s)
            total += temperature_loglik(inv, *terms)
        return -total

    return search_temperature(neg_loglik, bounds)


def temperature_step(n_answers: int) -> int:
    """The held-out temperature is fitted on about one answer in k
    (:func:`temperature_sample`), about 200,000 of them: k (1 up to 200,000 answers).

    Parameters
    ----------
    n_answers : int
        Number of answers.

    Returns
    -------
    int
        ``ceil(n_answers / 200_000)``, at least 1.
    """
    return max(1, -(-n_answers // _TEMPERATURE_ANSWERS))


def id_hashes(ids: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each id's string form: one id has one hash in any table, row
    order or partition.

    Parameters
    ----------
    ids : array-like
        Item or worker ids.

    Returns
    -------
    numpy.ndarray of uint64
        One hash per id.
    """
    import pandas as pd

    return pd.util.hash_array(np.asarray(ids).astype(str).astype(object), categorize=False)


def temperature_sample(
    ann: Annotations, step: int, worker_hashes: np.ndarray | None = None
) -> np.ndarray:
    """The answers of ``ann`` the held-out temperature is fitted on, as ascending
    indices: every answer when ``step`` (:func:`temperature_step`) is 1, else those
    whose hash of item id, worker id and label falls in the lowest ``1 / step`` of the
    hash range, about one in ``step``. The choice depends on each answer alone, never
    on the row order or on the other answers of a partition (repeats of one answer are
    all in or all out). ``worker_hashes``: :func:`id_hashes` of ``ann.worker_ids``,
    for blocks that do not hold the worker ids.

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    step : int
        Keep about one answer in ``step``.
    worker_hashes : numpy.ndarray, optional
        :func:`id_hashes` of ``ann.worker_ids``, computed from ``ann`` when not given.

    Returns
    -------
    numpy.ndarray of int
        Ascending answer indices.
    """
    import pandas as pd

    if step == 1:
        return np.arange(ann.n_answers)
    if worker_hashes is None:
        worker_hashes = id_hashes(ann.worker_ids)
    key = worker_hashes[ann.worker] + ann.label.astype(np.uint64)
    key = pd.util.hash_array(key) ^ id_hashes(ann.item_ids)[ann.item]
    key = pd.util.hash_array(key)
    return np.flatnonzero(key <= np.uint64(np.iinfo(np.uint64).max // step))


def temperature_terms(
    log_prior: np.ndarray,
    scores: np.ndarray,
    item: np.ndarray,
    answer_logs: Callable[[Any], tuple[np.ndarray, np.ndarray]],
    s: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """For the answers ``s`` (a slice or index array; see
    :func:`held_out_temperature`): their items' log scores without the answer's own
    term, and the answers' held-out log-probabilities.

    Parameters
    ----------
    log_prior : numpy.ndarray, shape (n_classes,)
        Log class prior.
    scores : numpy.ndarray, shape (n_items, n_classes)
        Item log scores.
    item : numpy.ndarray of int, shape (n_answers,)
        Item code of each answer.
    answer_logs : callable
        ``answer_logs(s)`` gives ``(log_fit, log_held)`` for the answers ``s``, as in
        :func:`held_out_temperature`.
    s : slice or numpy.ndarray
        The answers.

    Returns
    -------
    logits, log_held : numpy.ndarray, shape (len(s), n_classes)
    """
    log_fit, log_held = answer_logs(s)
    logits = scores[item[s]]
    logits += log_prior
    logits -= log_fit
    return logits, log_held


def temperature_loglik(inv_t: float, logits: np.ndarray, log_held: np.ndarray) -> float:
    """The log-likelihood of held-out answers at temperature ``1 / inv_t``, from
    :func:`temperature_terms` (a sum over answers: it adds up over blocks). In the
    compiled kernels when numba is installed (the same numbers).

    Parameters
    ----------
    inv_t : float
        Inverse temperature.
    logits : numpy.ndarray, shape (n, n_classes)
        Items' log scores without each answer's own term (:func:`temperature_terms`).
    log_held : numpy.ndarray, shape (n, n_classes)
        Held-out log-probabilities of the answers.

    Returns
    -------
    float
    """
    fast = compiled.kernels(logits.shape[1]) if logits.ndim == 2 else None
    if fast is not None and logits.shape[0] and logits.dtype == log_held.dtype == np.float64:
        return compiled.temperature_loglik(fast, inv_t, np.ascontiguousarray(logits),
                                           np.ascontiguousarray(log_held))
    logits = logits * inv_t
    logits -= _log_sum_exp(logits)[:, None]
    logits += log_held
    return float(_log_sum_exp(logits).sum())


def search_temperature(
    neg_loglik: Callable[[float], float], bounds: tuple[float, float] = (1.0, 100.0)
) -> float:
    """The temperature minimising ``neg_loglik(log T)`` over ``bounds``: a bounded
    scalar search, both ends checked too, the smallest temperature winning a tie.

    Parameters
    ----------
    neg_loglik : callable
        Negative log-likelihood as a function of ``log T``.
    bounds : tuple of float, default (1.0, 100.0)
        Smallest and largest temperature searched.

    Returns
    -------
    float
        The temperature.
    """
    from scipy.optimize import minimize_scalar

    low, high = np.log(bounds[0]), np.log(bounds[1])
    best = minimize_scalar(neg_loglik, bounds=(low, high), method="bounded",
                           options={"xatol": 1e-2})
    # the bounded search never evaluates the ends; on a tie (a flat objective, as when
    # every item has one answer) the smallest temperature wins
    candidates = sorted([(neg_loglik(low), low), (float(best.fun), float(best.x)),
                         (neg_loglik(high), high)], key=lambda c: c[1])
    least = min(value for value, _ in candidates)
    slack = 1e-9 * max(abs(least), 1.0)
    return float(np.exp(next(t for value, t in candidates if value <= least + slack)))


def leave_self_out(
    item: np.ndarray,
    n_items: int,
    answer_logs: Callable[[Any], tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, Callable[[Any], tuple[np.ndarray, np.ndarray]]]:
    """The item scores and answer logs when every answer is weighed by its worker's
    parameters estimated without it, in the posterior too (``uncertainty=
    "leave-self-out"``).

    Parameters
    ----------
    item : numpy.ndarray of int, shape (n_answers,)
        Item code of each answer.
    n_items : int
        Number of items.
    answer_logs : callable
        ``answer_logs(s)`` gives ``(log_fit, log_held)`` for the answers ``s``, as in
        :func:`held_out_temperature`.

    Returns
    -------
    scores : numpy.ndarray, shape (n_items, n_classes)
        Per-item sums of the held-out log-probabilities (:func:`held_out_scores`).
    answer_logs : callable
        Gives the held-out log-probabilities as both arrays.
    """
    scores = held_out_scores(item, n_items, answer_logs)

    def held_only(s: Any) -> tuple[np.ndarray, np.ndarray]:
        held = answer_logs(s)[1]
        return held, held

    return scores, held_only


def held_out_scores(
    item: np.ndarray,
    n_items: int,
    answer_logs: Callable[[slice], tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """Per-item sums of the answers' held-out log-probabilities (the second array of
    ``answer_logs``; see :func:`held_out_temperature`): the item scores when every
    answer is weighed by its worker's parameters estimated without it.

    Parameters
    ----------
    item : numpy.ndarray of int, shape (n_answers,)
        Item code of each answer.
    n_items : int
        Number of items.
    answer_logs : callable
        ``answer_logs(s)`` gives ``(log_fit, log_held)`` for the answers ``s``, as in
        :func:`held_out_temperature`.

    Returns
    -------
    numpy.ndarray, shape (n_items, n_classes)
        With no answers, shape ``(n_items, 0)``.
    """
    scores: np.ndarray | None = None
    for start in range(0, len(item), _TEMPERATURE_BLOCK):
        s = slice(start, start + _TEMPERATURE_BLOCK)
        held = answer_logs(s)[1]
        if scores is None:
            scores = np.zeros((n_items, held.shape[1]))
        for c in range(held.shape[1]):
            scores[:, c] += np.bincount(item[s], weights=held[:, c], minlength=n_items)
    return scores if scores is not None else np.zeros((n_items, 0))


def tempered_posteriors(
    log_prior: np.ndarray, scores: np.ndarray, temperature: float
) -> np.ndarray:
    """``softmax((log_prior + scores) / temperature)`` row by row.

    Parameters
    ----------
    log_prior : numpy.ndarray, shape (n_classes,)
        Log class prior.
    scores : numpy.ndarray, shape (n_items, n_classes)
        Item log scores.
    temperature : float
        Positive temperature; 1 is the plain posterior.

    Returns
    -------
    numpy.ndarray, shape (n_items, n_classes)
    """
    post, _ = log_normalize((log_prior + scores) / temperature)
    return post
