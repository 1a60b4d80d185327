"""Chance-corrected agreement coefficients: Krippendorff's alpha, Fleiss' and Cohen's kappa."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from softlabels.core.validation import check_int, check_labels, check_option
from softlabels.core.annotations import Annotations, as_annotations
from softlabels.core.errors import InputError
from softlabels.audit.agreement._coders import _coders, _ratio

__all__ = ["cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "pairwise_cohen_kappa"]


Level = Literal["nominal", "ordinal", "interval", "ratio"]


_LEVELS = ("nominal", "ordinal", "interval", "ratio")


# Worker x class x worker arrays up to this size are handled densely (64 MiB).
_DENSE_CELLS = 1 << 23


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
        v = None
    if v is None or v.shape != (k,) or not np.isfinite(v).all():
        if values is None:
            raise InputError(
                f"level={level!r} needs numeric class values; the classes are "
                f"{np.asarray(classes).tolist()}. Pass values=[...] (one number per class)."
            )
        given = np.asarray(values, dtype=object).tolist()
        raise InputError(f"values must be {k} finite numbers, one per class; got {given}.")
    diff = v[:, None] - v[None, :]
    if level == "interval":
        return diff**2
    if (v < 0).any():
        raise InputError(
            "level='ratio' needs non-negative values (a scale with an absolute zero); "
            f"got {v.tolist()}. Use level='interval' for values that can be negative."
        )
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
        ``(sum_{g=c}^{k} n_g - (n_c + n_k) / 2)^2`` over the class order, which is
        that of ``Annotations.classes``: the declared ``classes=[...]``, otherwise the
        sorted labels (alphabetical for text: declare the order of text ranks such as
        "low", "medium", "high"; ``values`` does not change it); interval
        ``(c - k)^2``; ratio ``((c - k) / (c + k))^2`` (values must be ``>= 0``).
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
        hashable labels are accepted and compared by value (the same label as a number
        and as text, ``1`` and ``"1"``, is an :class:`InputError`).

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
        text = pd.Index([str(u) for u in uniq])
        if text.has_duplicates:
            same = [u for u in uniq if str(u) == text[text.duplicated()][0]]
            raise InputError(
                f"a and b give the label {same[0]} both as {type(same[0]).__name__} and as "
                f"{type(same[1]).__name__} ({same[0]!r} and {same[1]!r}), which are "
                "different values: convert both raters' labels to one type."
            )
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
