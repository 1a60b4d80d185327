"""Optional compiled kernels (numba) for the sparse products of the EM loop.

With the ``numba`` extra installed, Dawid–Skene runs its E-step (the item x (worker,
label) product with the log table, the class prior and the row maxima in one pass
over each item's answers; numpy's exponential; the row sums and the division in a
second pass) and its M-step (the expected counts of every (worker, label) pair, in
one pass over the items in order on one thread, by pair blocks on several; the pooled
counts, the pseudo-counts, each worker's totals and the subtraction of their logs
around numpy's logarithm) in these kernels, and the held-out temperature's
log-likelihood too (maxima, shifts and row sums around numpy's exp and log); without
it, the same steps run in numpy and scipy (:mod:`softlabels.infer.em`). Both make the
same sums in the same order and use the same exponential and logarithm, so the
posteriors, confusion matrices and temperatures are the same numbers. The
log-likelihood alone may differ in its last digits: the kernels take one logarithm of
the product of 64 row normalisers instead of 64 logarithms.

The kernels are generated for each number of classes (one variable per class keeps
the sums in registers), work on a range of rows of the full CSR matrices and release
the GIL, so :class:`~softlabels.infer.em.RowBlocks` threads split them without
copying the matrices. numba is imported on first use (never by ``import
softlabels``); the generated source and numba's machine code are cached on disk
(:mod:`softlabels._compiled`): the first fit in a fresh environment pays the
compilation (a few seconds), later processes the import and the load (a few tenths).
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np

from softlabels._compiled import ENV_SWITCH, load_source, switched_off

__all__ = ["ENV_SWITCH", "kernels", "available"]


_KERNELS: dict[int, Any] = {}
_FAILED = False


def available() -> bool:
    """Whether the compiled kernels can be used (numba installed and not switched off
    with the environment variable ``SOFTLABELS_NUMBA=0``)."""
    return kernels(2) is not None


def kernels(n_classes: int) -> Any:
    """The compiled kernels for ``n_classes`` columns (a module with ``product_rows``,
    ``scatter_rows``, ``shifted_logits``, ``normalize_rows``, ``column_sums``,
    ``pooled_counts``, ``pseudo_totals``, ``subtract_log_totals``, ``scaled_shift``,
    ``held_shift`` and ``row_sums``), or None: no numba, switched off, or fewer than 2
    or more than :data:`MAX_CLASSES` classes.

    Parameters
    ----------
    n_classes : int
        Number of columns the kernels are made for.

    Returns
    -------
    module or None
    """
    global _FAILED
    if switched_off() or _FAILED:
        return None
    if not 2 <= n_classes <= MAX_CLASSES:
        return None
    if n_classes not in _KERNELS:
        try:
            _KERNELS[n_classes] = _build(n_classes)
        except ImportError:
            _FAILED = True
            return None
    return _KERNELS[n_classes]


#: the most classes the generated kernels are made for (more: the numpy path)
MAX_CLASSES = 16
#: bump when the generated source changes (the file name carries it)
_VERSION = 3
#: rows per logarithm in normalize_rows (k ** 64 stays finite for k <= 16)
_LOG_EVERY = 64


def _source(k: int) -> str:
    """The kernels for ``k`` classes, one sum variable per class so that the sums stay
    in registers (a loop over a column array keeps them in memory, about twice as
    slow). Every sum runs over a row's entries in order, from 0: the sums of scipy's
    product, so the results are the numpy path's. Indices are cast to unsigned, which
    spares numba its check for negative indices."""
    cols = range(k)

    def accumulate(dense: str, indent: str) -> str:
        unit = "\n".join(f"{indent}    a{c} += {dense}[q, {c}]" for c in cols)
        weighted = "\n".join(f"{indent}    a{c} += d * {dense}[q, {c}]" for c in cols)
        return (
            f"{indent}{' = '.join(f'a{c}' for c in cols)} = 0.0\n"
            f"{indent}if unit:\n"
            f"{indent}  for j in range(indptr[i], indptr[i + 1]):\n"
            f"{indent}    q = np.uint64(indices[j])\n{unit}\n"
            f"{indent}else:\n"
            f"{indent}  for j in range(indptr[i], indptr[i + 1]):\n"
            f"{indent}    q = np.uint64(indices[j])\n"
            f"{indent}    d = data[j]\n{weighted}\n"
        )

    stores = "\n".join(f"        out[row, {c}] = a{c}" for c in cols)
    priors = "\n".join(f"        a{c} += p{c}" for c in cols)
    load_priors = "\n".join(f"    p{c} = log_prior[{c}]" for c in cols)
    tops = "\n".join(f"        top = max(top, a{c})" for c in range(1, k))
    shifted = "\n".join(f"        out[row, {c}] = a{c} - top" for c in cols)
    total = " + ".join(f"post[row, {c}]" for c in cols)  # left to right, as numpy's loop
    divide = "\n".join(f"        post[row, {c}] /= total" for c in cols)
    loads = "\n".join(f"        b{c} = post[row, {c}]" for c in cols)
    scatter_unit = "\n".join(f"                out[q, {c}] += b{c}" for c in cols)
    scatter_weighted = "\n".join(f"                out[q, {c}] += d * b{c}" for c in cols)
    column_adds = "\n".join(f"        a{c} += a[row, {c}]" for c in cols)
    column_stores = "\n".join(f"    out[{c}] = a{c}" for c in cols)
    def pseudo_row(label: str, first: bool) -> str:
        lines = []
        for c in cols:
            lines.append(f"v = cube[w, {label}, {c}] + pseudo[{label}, {c}]")
            lines.append(f"t{c} = v" if first else f"t{c} += v")
            lines.append("if plain and v < floor:\n    v = floor")
            lines.append(f"cube[w, {label}, {c}] = v")
        return "\n".join(lines)

    scale = "\n".join(f"        z[row, {c}] = logits[row, {c}] * inv_t" for c in cols)
    pooled_adds = "\n".join(f"            out[label, {c}] += table[row, {c}]" for c in cols)
    row_total = " + ".join(f"a[row, {c}]" for c in cols)
    first_row = textwrap.indent(pseudo_row("0", True), " " * 8)
    other_rows = textwrap.indent(pseudo_row("label", False), " " * 12)
    store_totals = "\n".join(f"        totals[w, {c}] = t{c}" for c in cols)
    LOG_EVERY = _LOG_EVERY  # noqa: N806  (read by the f-string)
    return f"""# generated by softlabels.infer.compiled for {k} classes
import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True, error_model="numpy")


@jit
def product_rows(indptr, indices, data, unit, dense, out, start, stop):
    for i in range(start, stop):
        row = np.uint64(i)
{accumulate("dense", "        ")}
{stores}


@jit
def shifted_logits(indptr, indices, data, unit, table, log_prior, out, start, stop):
{load_priors}
    sum_top = 0.0
    for i in range(start, stop):
        row = np.uint64(i)
{accumulate("table", "        ")}
{priors}
        top = a0
{tops}
{shifted}
        sum_top += top
    return sum_top


@jit
def scatter_rows(indptr, indices, data, unit, post, out):
    # out = matrix.T @ post, visiting the rows of the (item x pair) matrix in order:
    # every output row sums its items in increasing order, as product_rows does on
    # the transposed (pair x item) matrix with sorted indices; one thread only
    out[:] = 0.0
    for i in range(post.shape[0]):
        row = np.uint64(i)
{loads}
        if unit:
            for j in range(indptr[i], indptr[i + 1]):
                q = np.uint64(indices[j])
{scatter_unit}
        else:
            for j in range(indptr[i], indptr[i + 1]):
                q = np.uint64(indices[j])
                d = data[j]
{scatter_weighted}


@jit
def column_sums(a, out):
    # a.sum(axis=0) in numpy's order for a C-contiguous array (row after row)
    {' = '.join(f'a{c}' for c in cols)} = 0.0
    for i in range(a.shape[0]):
        row = np.uint64(i)
{column_adds}
{column_stores}


@jit
def normalize_rows(post, start, stop):
    # every total lies in [1, {k}] (the largest shifted logit is 0): their product
    # stays finite over {LOG_EVERY} rows, so one log per {LOG_EVERY} rows gives the sum of logs
    sum_log = 0.0
    product = 1.0
    for i in range(start, stop):
        row = np.uint64(i)
        total = {total}
{divide}
        product *= total
        if (i - start) % {LOG_EVERY} == {LOG_EVERY} - 1:
            sum_log += np.log(product)
            product = 1.0
    return sum_log + np.log(product)


@jit
def scaled_shift(logits, inv_t, z, shifted, top):
    # z = logits * inv_t; top = each row's largest z (0 where not finite, as
    # _log_sum_exp); shifted = z - top
    for i in range(logits.shape[0]):
        row = np.uint64(i)
{scale}
        m = z[row, 0]
        for c in range(1, {k}):
            m = max(m, z[row, c])
        if not np.isfinite(m):
            m = 0.0
        top[row] = m
        for c in range({k}):
            shifted[row, c] = z[row, c] - m


@jit
def held_shift(z, log_total, top, log_held, shifted, top2):
    # w = (z - (log_total + top)) + log_held, row by row; top2 and shifted = w - top2
    # as scaled_shift
    for i in range(z.shape[0]):
        row = np.uint64(i)
        lse = log_total[row] + top[row]
        m = -np.inf
        for c in range({k}):
            v = (z[row, c] - lse) + log_held[row, c]
            shifted[row, c] = v
            if c == 0 or v > m:
                m = v
        if not np.isfinite(m):
            m = 0.0
        top2[row] = m
        for c in range({k}):
            shifted[row, c] -= m


@jit
def row_sums(a, out):
    # a.sum over each row, left to right (row_reduce's order)
    for i in range(a.shape[0]):
        row = np.uint64(i)
        out[row] = {row_total}


@jit
def pooled_counts(table, out):
    # out[l, c] = the sum over workers w of table[w * {k} + l, c], worker after worker
    # (numpy's order for counts.reshape(-1, {k}, {k}).sum(axis=0))
    out[:] = 0.0
    for w in range(table.shape[0] // {k}):
        for label in range({k}):
            row = np.uint64(w * {k} + label)
{pooled_adds}


@jit
def pseudo_totals(cube, pseudo, plain, floor, totals, start, stop):
    # cube[w, l, c] += pseudo[l, c] (floored at ``floor`` when plain) and totals[w, c] = the
    # sum over l, in log_confusion_rows' order (label 0, then 1, ...), before the floor
    for i in range(start, stop):
        w = np.uint64(i)
{first_row}
        for label in range(1, {k}):
{other_rows}
{store_totals}


@jit
def subtract_log_totals(cube, log_totals, totals, plain, uniform, start, stop):
    # cube[w, l, c] -= log_totals[w, c]; when plain, a class the worker never saw
    # (totals[w, c] <= 0) gets the uniform row ``uniform`` (= -log k)
    for i in range(start, stop):
        w = np.uint64(i)
        for c in range({k}):
            t = log_totals[w, c]
            if plain and totals[w, c] <= 0:
                for l in range({k}):
                    cube[w, l, c] = uniform
            else:
                for l in range({k}):
                    cube[w, l, c] -= t
"""


def _build(k: int) -> Any:
    return load_source(f"kernels_v{_VERSION}_k{k}", _source(k))


def softmax_rows(fast: Any, matrix: Any, unit: bool, table: np.ndarray, log_prior: np.ndarray,
                 post: np.ndarray, rows: slice) -> float:
    """``post[rows]`` = the row softmax of ``matrix[rows] @ table + log_prior`` (the
    Dawid–Skene E-step of a block of items); returns the rows' log normalisers summed
    (their log-likelihood). The exponential is numpy's (vectorised, and it releases
    the GIL too), so the posteriors are the numpy path's."""
    top = fast.shifted_logits(matrix.indptr, matrix.indices, matrix.data, unit, table,
                              log_prior, post, rows.start, rows.stop)
    block = post[rows]
    np.exp(block, out=block)
    return top + fast.normalize_rows(post, rows.start, rows.stop)


def pooled_counts(table: np.ndarray) -> np.ndarray | None:
    """``table.reshape(-1, K, K).sum(axis=0)`` of a C-contiguous pair-layout table
    (``[w * K + l, k]``) in the kernel (the same sums in the same order), or None
    without the kernels."""
    k = table.shape[1]
    fast = kernels(k)
    if fast is None or not table.flags.c_contiguous or table.dtype != np.float64:
        return None
    out = np.empty((k, k))
    fast.pooled_counts(table, out)
    return out


def log_confusion_block(fast: Any, table: np.ndarray, pseudo: np.ndarray | float, plain: bool,
                        floor: float, workers: slice, totals: np.ndarray,
                        log_totals: np.ndarray) -> None:
    """:func:`softlabels.infer.crowd.dawid_skene.log_confusion_rows` of the counts plus
    ``pseudo`` of the workers ``workers``, in place in the pair-layout ``table``
    (``[w * K + l, k]``): the sums and the floor in the kernels, numpy's logarithms
    between them, so the numbers are the numpy path's. ``totals`` and ``log_totals``
    are ``(n_workers, K)`` scratch arrays."""
    k = table.shape[1]
    cube = table.reshape(-1, k, k)
    pseudo = np.ascontiguousarray(np.broadcast_to(pseudo, (k, k)), dtype=np.float64)
    fast.pseudo_totals(cube, pseudo, plain, floor, totals, workers.start, workers.stop)
    block = cube[workers]
    np.log(block, out=block)
    with np.errstate(divide="ignore"):
        np.log(totals[workers], out=log_totals[workers])
    fast.subtract_log_totals(cube, log_totals, totals, plain, -np.log(k), workers.start,
                             workers.stop)


def temperature_loglik(fast: Any, inv_t: float, logits: np.ndarray,
                       log_held: np.ndarray) -> float:
    """:func:`softlabels.infer.em.temperature_loglik` with the maxima, shifts and sums
    in the kernels and numpy's exponentials and logarithms between them: the same
    numbers in fewer passes."""
    n, k = logits.shape
    z, shifted = np.empty((n, k)), np.empty((n, k))
    top, top2, total = np.empty(n), np.empty(n), np.empty(n)
    fast.scaled_shift(logits, float(inv_t), z, shifted, top)
    np.exp(shifted, out=shifted)
    fast.row_sums(shifted, total)
    with np.errstate(divide="ignore"):
        log_total = np.log(total)
        fast.held_shift(z, log_total, top, log_held, shifted, top2)
        np.exp(shifted, out=shifted)
        fast.row_sums(shifted, total)
        return float((np.log(total) + top2).sum())


def is_unit(matrix: Any) -> bool:
    """Whether every stored value of a sparse matrix is 1 (the kernels then skip the
    multiplications, which would change nothing)."""
    return bool(np.all(matrix.data == 1.0))
