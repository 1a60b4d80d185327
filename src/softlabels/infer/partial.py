"""Partial supervision: candidate sets, complementary labels and positive-unlabeled data.

Each kind of partial label constrains the true class; combined with a prior or a
model's predicted probabilities it gives a posterior over the classes, which is the
soft label:

* **candidate sets** (partial-label learning): the true class is one of a set;
  ``P(y = k | S) ∝ w_k 1[k in S]``.
* **complementary labels** ("not this class", Ishida et al. 2017; Yu et al. 2018;
  libcll and CLImage, Wang et al. 2025): ``P(y = k | ybar_1..ybar_m) ∝ w_k prod_t
  Q[k, ybar_t]`` under a transition matrix ``Q[y, j] = P(ybar = j | y)``.
* **positive-unlabeled multi-label data** (Elkan & Noto 2008, applied per label as in
  PU-MLC, Yuan et al. 2023): observed positives are certain, unlabeled entries are
  positive with probability given by the prior and the label frequency.

``w`` is a class prior (one vector) or a model's predicted probabilities (one row per
item): the soft labels can be refined by alternating them with a model trained on
them (see the Examples of :func:`from_complementary`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from softlabels.core.validation import (
    anything,
    check_float,
    check_int,
    check_labels,
    check_pred_probs,
    integer,
    none_or,
    real,
)
from softlabels.core.annotations import show
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import SoftLabels
from softlabels.infer.base import BaseInferrer

__all__ = [
    "CandidateSets",
    "ComplementaryLabels",
    "PositiveUnlabeled",
    "from_candidate_sets",
    "from_complementary",
    "from_positive_unlabeled",
    "uniform_transition",
    "empirical_transition",
    "anchor_transition",
]


# ---------------------------------------------------------------------- checks
def _check_prior(prior: Any, n_classes: int, name: str = "prior") -> np.ndarray:
    try:
        arr = np.asarray(prior, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be numbers; got {prior!r}.") from None
    if arr.shape != (n_classes,):
        raise InvalidParameterError(
            f"{name} must have one value per class ({n_classes}); got shape {arr.shape}."
        )
    if not np.isfinite(arr).all() or (arr < 0).any() or arr.sum() <= 0:
        raise InvalidParameterError(
            f"{name} must be finite, non-negative and not all zero; got {arr.tolist()}."
        )
    return arr / arr.sum()


def _weights(
    prior: Any, pred_probs: Any, n_items: int, n_classes: int
) -> tuple[np.ndarray, str]:
    """(n_items, n_classes) class weights: the predictions, the prior, or uniform."""
    if prior is not None and pred_probs is not None:
        raise InvalidParameterError(
            "pass prior or pred_probs, not both (predicted probabilities already "
            "include the class balance)."
        )
    if pred_probs is not None:
        p = check_pred_probs(pred_probs, n_classes=n_classes)
        if p.shape[0] != n_items:
            raise InputError(f"pred_probs has {p.shape[0]} rows but there are {n_items} items.")
        return p, "pred_probs"
    if prior is not None:
        return np.broadcast_to(_check_prior(prior, n_classes), (n_items, n_classes)), "prior"
    return np.full((n_items, n_classes), 1.0 / n_classes), "uniform"


def _aligned(pred_probs: Any, classes: Any) -> tuple[Any, Any]:
    """A SoftLabels ``pred_probs`` with its columns in the order of ``classes`` when it
    names them in another order (taken by position when it shares no name with them),
    and its own classes when none are given; other predictions unchanged."""
    if not isinstance(pred_probs, SoftLabels):
        return pred_probs, classes
    if classes is None:
        return pred_probs, pred_probs.classes
    names, want = pd.Index(pred_probs.classes), np.asarray(classes)
    cols = names.get_indexer(want.ravel())
    if (cols < 0).all():
        return pred_probs, classes
    if want.ndim != 1 or (cols < 0).any() or np.unique(cols).size != names.size:
        raise InputError(
            f"pred_probs has classes {names.tolist()} but classes are {want.tolist()}; give "
            "the same classes (in any order) or leave classes out."
        )
    return pred_probs.probs[:, cols], classes


def _classes(classes: Any, n_classes: int) -> np.ndarray:
    if classes is None:
        return np.arange(n_classes)
    arr = np.asarray(classes)
    if arr.shape != (n_classes,):
        raise InputError(f"classes must list {n_classes} classes; got shape {arr.shape}.")
    return arr


def _check_transition(transition: Any, n_classes: int) -> np.ndarray:
    try:
        q = np.asarray(transition, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            "transition must be 'uniform' or a (n_classes, n_classes) matrix of "
            f"probabilities; got {transition!r}."
        ) from None
    if q.shape != (n_classes, n_classes):
        raise InvalidParameterError(
            f"transition must have shape ({n_classes}, {n_classes}) (rows: true class, "
            f"columns: complementary label); got {q.shape}."
        )
    if not np.isfinite(q).all() or (q < 0).any():
        raise InvalidParameterError("transition must be finite and non-negative.")
    off = np.flatnonzero(np.abs(q.sum(axis=1) - 1.0) > 1e-6)
    if off.size:
        r = int(off[0])
        raise InvalidParameterError(
            f"each row of transition must sum to 1 (P(complementary label | true class "
            f"{r})); row {r} sums to {q[r].sum():.6g}."
        )
    return q


def _check_code_matrix(values: Any, n_classes: int, name: str) -> np.ndarray:
    """1-D class indices or a 2-D matrix of them with -1 for 'none'; returns 2-D."""
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name}: {err}") from None
    if arr.ndim == 1:
        return check_labels(arr, n_classes, name=name)[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise InputError(
            f"{name} must be class indices, one per item (1-D) or several per item "
            f"(2-D, -1 where an item has fewer); got shape {arr.shape}."
        )
    if arr.dtype.kind not in "iuf" or arr.dtype.kind == "b":
        raise InputError(f"{name} must be integer class indices; got dtype {arr.dtype}.")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise InputError(f"{name} must be integer class indices; row {r} has {arr[r, c]:g}.")
    out = arr.astype(np.int64)
    off = (out < -1) | (out >= n_classes)
    if off.any():
        r, c = np.argwhere(off)[0]
        raise InputError(
            f"{name}: values must be -1 (none) or 0..{n_classes - 1}; row {r} has {out[r, c]}."
        )
    return out


def _check_mask(values: Any, name: str) -> np.ndarray:
    """A 2-D 0/1 (or boolean) matrix as bool."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a 0/1 matrix (n_items, n_classes).") from None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] < 2:
        raise InputError(
            f"{name} must be a 2-D 0/1 matrix with at least two columns; got shape {arr.shape}."
        )
    bad = ~np.isin(arr, (0.0, 1.0))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(f"{name} must hold only 0 and 1; row {r}, column {c} is {arr[r, c]:g}.")
    return arr.astype(bool)


# ---------------------------------------------------------------------- candidate sets
def from_candidate_sets(
    candidates: Any,
    *,
    prior: Any = None,
    pred_probs: Any = None,
    classes: Any = None,
    item_ids: Any = None,
) -> SoftLabels:
    """Soft labels from candidate sets: the true class is one of the marked classes.

    Parameters
    ----------
    candidates : array-like of shape (n_items, n_classes), 0/1 or bool
        ``candidates[i, k] = 1`` when class k is a candidate for item i.
    prior : array-like of shape (n_classes,), optional
        Class prior (normalised here). Without it and without ``pred_probs``, every
        candidate gets the same probability.
    pred_probs : array-like of shape (n_items, n_classes) or SoftLabels, optional
        A model's predicted probabilities (e.g. from a model trained on the previous
        round of soft labels). A SoftLabels that names ``classes`` in another order is
        matched to them by name.
    classes, item_ids : array-like, optional
        Class names (default: those of a SoftLabels ``pred_probs``, else
        ``0..n_classes-1``) and item ids.

    Returns
    -------
    SoftLabels
        ``P(y = k | S_i) ∝ w_ik 1[k in S_i]`` with ``w`` the predictions, the prior or
        uniform; ``support`` is the candidate-set size. Provenance method
        ``"candidate-sets"``.

    Notes
    -----
    The posterior assumes the candidate set does not depend on which of its members
    is the true class (``P(S | y)`` equal for every ``y`` in ``S``), the usual
    assumption of partial-label learning (e.g. Cour, Sapp & Taskar, JMLR 2011). When
    the predictions give no weight to any candidate of an item, its soft label is
    uniform over its candidates.

    Examples
    --------
    >>> s = from_candidate_sets([[1, 1, 0], [0, 1, 1]], prior=[0.5, 0.3, 0.2])
    >>> s.probs.round(3).tolist()
    [[0.625, 0.375, 0.0], [0.0, 0.6, 0.4]]
    """
    pred_probs, classes = _aligned(pred_probs, classes)
    mask = _check_mask(candidates, "candidates")
    n, k = mask.shape
    empty = np.flatnonzero(~mask.any(axis=1))
    if empty.size:
        raise InputError(
            f"candidates: row {int(empty[0])} has no candidate class ({empty.size} such rows)."
        )
    w, source = _weights(prior, pred_probs, n, k)
    post = np.where(mask, w, 0.0)
    total = post.sum(axis=1, keepdims=True)
    none = total[:, 0] <= 0
    if none.any():
        post[none] = mask[none]
        total[none] = mask[none].sum(axis=1, keepdims=True)
    return SoftLabels(
        post / total,
        _classes(classes, k),
        item_ids,
        provenance={"method": "candidate-sets", "params": {"weights": source}},
        support=mask.sum(axis=1),
    )


# ---------------------------------------------------------------------- complementary
def uniform_transition(n_classes: int) -> np.ndarray:
    """``Q = (J - I) / (K - 1)``: each wrong class equally likely as the complementary
    label (Ishida et al. 2017).

    Parameters
    ----------
    n_classes : int >= 2

    Returns
    -------
    ndarray of shape (n_classes, n_classes)

    Examples
    --------
    >>> uniform_transition(3).tolist()
    [[0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]]
    """
    k = check_int(n_classes, "n_classes", "uniform_transition", low=2)
    q = np.full((k, k), 1.0 / (k - 1))
    np.fill_diagonal(q, 0.0)
    return q


def from_complementary(
    comp_labels: Any,
    n_classes: int | None = None,
    *,
    transition: Any = "uniform",
    prior: Any = None,
    pred_probs: Any = None,
    classes: Any = None,
    item_ids: Any = None,
) -> SoftLabels:
    """Soft labels from complementary labels ("item i is not of class j").

    Parameters
    ----------
    comp_labels : array-like of int, shape (n_items,) or (n_items, n_labels)
        One complementary class index per item, or several (2-D, ``-1`` where an item
        has fewer). Indices refer to ``0..n_classes-1``.
    n_classes : int, optional
        Number of classes; taken from ``classes``, ``pred_probs`` or ``transition`` when
        omitted.
    transition : "uniform", None or array-like of shape (n_classes, n_classes)
        ``Q[y, j] = P(complementary label j | true class y)``, rows summing to 1 (see
        :func:`uniform_transition`, :func:`empirical_transition`,
        :func:`anchor_transition`). ``None`` means ``"uniform"``. A non-zero diagonal
        models noisy annotators who sometimes name the true class.
    prior, pred_probs : optional
        Class prior, or a model's predicted probabilities (n_items, n_classes; a
        SoftLabels that names ``classes`` in another order is matched to them by name);
        not both.
    classes, item_ids : array-like, optional
        Class names (default: those of a SoftLabels ``pred_probs``, else
        ``0..n_classes-1``) and item ids.

    Returns
    -------
    SoftLabels
        ``P(y = k | ybar_i) ∝ w_ik prod_t Q[k, ybar_it]`` (Bayes' rule with the
        complementary labels of an item drawn independently given its class);
        ``support`` is the number of complementary labels. Provenance method
        ``"complementary"``.

    Raises
    ------
    InputError
        When an item's complementary labels rule out every class under ``transition``
        (e.g. all classes named with a zero-diagonal matrix).

    Notes
    -----
    With the uniform matrix the posterior is ``w`` restricted to the classes not named,
    renormalised; that is also the posterior when several labels are drawn uniformly
    *without* replacement (libcll, CLImage), since every class not named gives the set
    the same probability. Items without any complementary label get ``w``. When ``w``
    gives no weight to any class the labels allow (a model sure of a class they rule
    out), the item's soft label is the likelihood alone, as if ``w`` were uniform.

    Examples
    --------
    >>> s = from_complementary([0, 2], 3)
    >>> s.probs.round(3).tolist()
    [[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]
    >>> from_complementary([[0, 1], [2, -1]], 3, prior=[0.2, 0.2, 0.6]).probs.round(3).tolist()
    [[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]]

    Refining with a model (any classifier that takes sample weights), in rounds:
    train on each item repeated once per class with weight ``probs[i, k]``, predict,
    and combine the predictions with the complementary labels again::

        soft = from_complementary(ybar, k)
        for _ in range(5):
            model.fit(np.repeat(X, k, 0), np.tile(np.arange(k), len(X)),
                      sample_weight=soft.probs.ravel())
            soft = from_complementary(ybar, k, pred_probs=model.predict_proba(X))
    """
    pred_probs, classes = _aligned(pred_probs, classes)
    k = n_classes
    if k is None:
        if classes is not None:
            k = len(np.asarray(classes))
        elif pred_probs is not None:
            k = np.asarray(getattr(pred_probs, "probs", pred_probs)).shape[-1]
        elif transition is not None and not isinstance(transition, str):
            k = np.asarray(transition).shape[0]
        else:
            raise InvalidParameterError(
                "from_complementary needs n_classes (or classes, pred_probs or a "
                "transition matrix)."
            )
    k = check_int(k, "n_classes", "from_complementary", low=2)
    if transition is None or (isinstance(transition, str) and transition == "uniform"):
        q = uniform_transition(k)
        kind = "uniform"
    elif isinstance(transition, str):
        raise InvalidParameterError(
            f"transition must be 'uniform', None or a ({k}, {k}) matrix; got {transition!r}."
        )
    else:
        q = _check_transition(transition, k)
        kind = "matrix"
    comp = _check_code_matrix(comp_labels, k, "comp_labels")
    n = comp.shape[0]
    w, source = _weights(prior, pred_probs, n, k)
    given = comp >= 0
    with np.errstate(divide="ignore"):
        log_q = np.log(q)
    # log-likelihood of each item's labels under each class: sum_t log Q[k, ybar_t]
    loglik = np.where(given[:, :, None], log_q.T[np.where(given, comp, 0)], 0.0).sum(axis=1)
    impossible = ~np.isfinite(loglik).any(axis=1)
    if impossible.any():
        r = int(np.flatnonzero(impossible)[0])
        named = sorted(set(comp[r][given[r]].tolist()))
        raise InputError(
            f"comp_labels: row {r} (complementary labels {named}) rules out every class "
            f"under the transition matrix ({int(impossible.sum())} such rows)."
        )
    with np.errstate(divide="ignore"):
        logpost = np.log(w) + loglik
    # weights that give no class the labels allow any probability: the labels alone decide
    unweighted = ~np.isfinite(logpost).any(axis=1)
    logpost[unweighted] = loglik[unweighted]
    top = logpost.max(axis=1, keepdims=True)
    post = np.exp(logpost - top)
    params: dict[str, Any] = {"transition": kind, "weights": source}
    if kind == "matrix":
        params["transition_matrix"] = q
    return SoftLabels(
        post / post.sum(axis=1, keepdims=True),
        _classes(classes, k),
        item_ids,
        provenance={"method": "complementary", "params": params},
        support=given.sum(axis=1),
    )


def empirical_transition(
    true_labels: Any, comp_labels: Any, n_classes: int, *, smoothing: float = 0.0
) -> np.ndarray:
    """Transition matrix counted on items whose true class is known.

    ``Q[y, j]`` is the share of complementary labels j among the items of class y
    (libcll and CLImage estimate it this way from the training split). ``smoothing``
    is added to every off-diagonal count; a class without labelled items gets the
    uniform row.

    Parameters
    ----------
    true_labels : array-like of int, shape (n_items,)
        The known class of each item.
    comp_labels : array-like of int, shape (n_items,) or (n_items, n_labels)
        Complementary class indices, ``-1`` where a 2-D row has fewer.
    n_classes : int >= 2
    smoothing : float >= 0, default=0.0
        Pseudo-count added to every off-diagonal cell.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        Rows summing to 1.

    Examples
    --------
    >>> empirical_transition([0, 0, 1, 2], [1, 1, 2, 0], 3).tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    k = check_int(n_classes, "n_classes", "empirical_transition", low=2)
    check_float(smoothing, "smoothing", "empirical_transition", low=0.0)
    comp = _check_code_matrix(comp_labels, k, "comp_labels")
    y = check_labels(true_labels, k, name="true_labels", n_items=comp.shape[0])
    given = comp >= 0
    rows = np.repeat(y, comp.shape[1])[given.ravel()]
    cols = comp.ravel()[given.ravel()]
    counts = np.bincount(rows * k + cols, minlength=k * k).reshape(k, k).astype(np.float64)
    off = ~np.eye(k, dtype=bool)
    counts[off] += smoothing
    total = counts.sum(axis=1, keepdims=True)
    uniform = uniform_transition(k)
    return np.where(total > 0, counts / np.where(total > 0, total, 1.0), uniform)


def anchor_transition(
    comp_pred_probs: Any, *, quantile: float = 0.03, zero_diagonal: bool = True
) -> np.ndarray:
    """Transition matrix from anchor points of a complementary-label classifier.

    ``comp_pred_probs[i, j]`` estimates ``P(ybar = j | x_i)``, from any probabilistic
    classifier trained to predict the complementary label from the features. Since
    ``P(ybar | x) = sum_k P(y = k | x) Q[k, :]``, at an item surely of class k
    (an anchor) the prediction is row k of Q. Such an item never gets k as its
    complementary label, so its ``P(ybar = k | x)`` is the lowest: the anchor of
    class k is the item at the ``quantile`` of that column (a low quantile rather
    than the minimum, against outliers, as Patrini et al. 2017 use the 97th
    percentile for noisy labels), and row k of Q is its prediction.

    Parameters
    ----------
    comp_pred_probs : array-like of shape (n_items, n_classes) or SoftLabels
    quantile : float, default=0.03
        Which low quantile of ``P(ybar = k | x)`` picks the anchor of class k.
    zero_diagonal : bool, default=True
        Set ``Q[k, k] = 0`` (annotators never name the true class) and renormalise.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)

    Notes
    -----
    The anchors are well separated when every wrong class is named with some
    probability (``Q[y, k] > 0`` for ``y != k``); when some class is never named for
    items of another, their items also have ``P(ybar = k | x) ≈ 0`` and the anchor
    can be picked from the wrong class. Check the estimate against a few labelled
    items (:func:`empirical_transition`) where possible.

    Examples
    --------
    >>> import numpy as np
    >>> q = np.array([[0.0, 0.8, 0.2], [0.5, 0.0, 0.5], [0.3, 0.7, 0.0]])
    >>> rng = np.random.default_rng(0)
    >>> post = rng.dirichlet([0.3, 0.3, 0.3], size=2000)  # P(y | x)
    >>> anchor_transition(post @ q, quantile=0.0).round(2).tolist()
    [[0.0, 0.8, 0.2], [0.5, 0.0, 0.5], [0.3, 0.7, 0.0]]
    """
    p = check_pred_probs(comp_pred_probs, name="comp_pred_probs")
    check_float(quantile, "quantile", "anchor_transition", low=0.0, high=1.0)
    k = p.shape[1]
    # the item at the quantile of each column: a partial sort per column
    rank = int(round(quantile * (p.shape[0] - 1)))
    idx = np.argpartition(p, rank, axis=0)[rank]
    q = p[idx].copy()
    if zero_diagonal:
        np.fill_diagonal(q, 0.0)
        total = q.sum(axis=1, keepdims=True)
        q = np.where(total > 0, q / np.where(total > 0, total, 1.0), uniform_transition(k))
    return q


# ---------------------------------------------------------------------- positive-unlabeled
def from_positive_unlabeled(
    positives: Any,
    prior: Any = None,
    *,
    pred_probs: Any = None,
    label_frequency: Any = None,
    labels: Any = None,
    item_ids: Any = None,
) -> dict[Any, SoftLabels]:
    """Soft labels from positive-unlabeled multi-label data, one SoftLabels per label.

    Parameters
    ----------
    positives : array-like of shape (n_items, n_labels)
        1 where a label was observed present; 0 (or -1) where it is unknown. Given
        negatives are treated as unknown, as in PU-MLC: only positives are trusted.
    prior : array-like of shape (n_labels,), optional
        ``pi_l = P(label l present)``. Needed unless ``pred_probs`` is given.
    pred_probs : array-like of shape (n_items, n_labels), optional
        ``g_il = P(observed positive | x_i)`` for each label, from a classifier trained
        to tell observed positives from the rest (Elkan & Noto's "non-traditional"
        classifier); independent probabilities, rows need not sum to 1.
    label_frequency : array-like of shape (n_labels,), optional
        ``c_l = P(observed | present)``. Default: ``observed rate / prior`` when
        ``prior`` is given, else the mean of ``g`` over the observed positives (Elkan &
        Noto's estimator e1).
    labels : array-like of shape (n_labels,), optional
        Label names, the keys of the result (default ``0..n_labels-1``).
    item_ids : array-like of shape (n_items,), optional

    Returns
    -------
    dict
        Label name -> :class:`~softlabels.SoftLabels` over classes ``[0, 1]`` (absent,
        present). A multi-label soft label is one independent Bernoulli per label, not
        a distribution over labels, so each label gets its own two-class SoftLabels;
        ``np.column_stack([s.probs[:, 1] for s in result.values()])`` gives the
        ``(n_items, n_labels)`` matrix of presence probabilities for a binary
        cross-entropy. Provenance method ``"positive-unlabeled"`` with the label's prior
        and label frequency.

    Notes
    -----
    Labels are observed "selected completely at random" (SCAR): a present label is
    observed with probability ``c_l`` whatever the item. Then, for an unlabeled entry,

    * without features: ``P(present | unlabeled) = (pi - o) / (1 - o)`` with ``o = pi c``
      the observed-positive rate;
    * with ``g``: ``P(present | x, unlabeled) = (1 - c) / c * g / (1 - g)`` (Elkan & Noto
      2008, clipped to [0, 1]; 0 when ``c = 1``, even where ``g = 1``).

    Observed positives get probability 1.

    Examples
    --------
    >>> out = from_positive_unlabeled([[1, 0], [0, 0], [1, 1], [0, 0]], prior=[0.75, 0.5])
    >>> {k: s.probs[:, 1].round(3).tolist() for k, s in out.items()}
    {0: [1.0, 0.5, 1.0, 0.5], 1: [0.333, 0.333, 1.0, 0.333]}
    """
    obs = np.asarray(positives)
    if obs.ndim != 2:
        raise InputError(
            f"positives must be a 2-D (n_items, n_labels) matrix; got shape {obs.shape}."
        )
    try:
        obs = np.asarray(obs, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("positives must hold 1 (observed), 0 or -1 (unknown).") from None
    bad = ~np.isin(obs, (-1.0, 0.0, 1.0))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(
            f"positives must hold 1 (observed), 0 or -1 (unknown); row {r}, column {c} "
            f"is {obs[r, c]:g}."
        )
    pos = obs == 1.0
    n, n_labels = pos.shape
    if n == 0 or n_labels == 0:
        raise InputError(f"positives is empty (shape {pos.shape}).")
    names = np.arange(n_labels) if labels is None else np.asarray(labels)
    if names.shape != (n_labels,):
        raise InputError(f"labels must list {n_labels} names; got shape {names.shape}.")
    seen = pd.Index(names)
    if not seen.is_unique:  # they are the keys of the result: a repeat would drop a label
        raise InputError(
            f"labels must be distinct; {show(seen[seen.duplicated()][0])} appears more than "
            "once."
        )
    rate = pos.mean(axis=0)
    pi = None
    if prior is not None:
        pi = np.asarray(prior, dtype=np.float64)
        if pi.shape != (n_labels,) or not np.isfinite(pi).all() or ((pi <= 0) | (pi > 1)).any():
            raise InvalidParameterError(
                f"prior must hold one probability in (0, 1] per label ({n_labels}); got "
                f"{np.asarray(prior).tolist()}."
            )
        short = np.flatnonzero(pi < rate - 1e-12)
        if short.size:
            j = int(short[0])
            raise InvalidParameterError(
                f"prior of label {show(names[j])} is {pi[j]:.6g}, below its observed positive "
                f"rate {rate[j]:.6g}; the prior is P(present), which is at least the rate."
            )
    g = None
    if pred_probs is not None:
        g = np.asarray(pred_probs, dtype=np.float64)
        if g.shape != (n, n_labels):
            raise InputError(
                f"pred_probs must have shape ({n}, {n_labels}) like positives; got {g.shape}."
            )
        badg = ~np.isfinite(g) | (g < 0) | (g > 1)
        if badg.any():
            r, c = np.argwhere(badg)[0]
            raise InputError(
                f"pred_probs must be probabilities in [0, 1]; row {r}, column {c} is "
                f"{g[r, c]:g}."
            )
    if pi is None and g is None:
        raise InvalidParameterError("from_positive_unlabeled needs prior or pred_probs.")
    if label_frequency is not None:
        c = np.asarray(label_frequency, dtype=np.float64)
        if c.shape != (n_labels,) or not np.isfinite(c).all() or ((c <= 0) | (c > 1)).any():
            raise InvalidParameterError(
                f"label_frequency must hold one probability in (0, 1] per label; got "
                f"{np.asarray(label_frequency).tolist()}."
            )
    elif pi is not None:
        c = rate / pi
        if g is not None and (c == 0).any():
            raise InvalidParameterError(
                f"label {show(names[int(np.flatnonzero(c == 0)[0])])} has no observed positive, "
                "so its label frequency (observed rate / prior) is 0 and pred_probs cannot be "
                "read: give its label_frequency."
            )
    else:
        counts = pos.sum(axis=0)
        missing = np.flatnonzero(counts == 0)
        if missing.size:
            raise InvalidParameterError(
                f"label {show(names[int(missing[0])])} has no observed positive: give its "
                "prior or label_frequency."
            )
        # summed in sorted order, so that the estimate does not depend on the row order
        c = np.clip(np.sort(g * pos, axis=0).sum(axis=0) / counts, 1e-12, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if g is not None:
            odds = np.where(g < 1, g / (1 - g), np.inf)
            # c = 1: every present label is observed, so an unlabeled one is absent (also
            # where g = 1, which would make the product 0 * inf)
            unl = np.where(c < 1, np.clip((1 - c) / c * odds, 0.0, 1.0), 0.0)
        else:  # the prior alone: pi is set here
            pi_c = np.asarray(pi) * c
            unl = np.broadcast_to(np.where(pi_c < 1, (np.asarray(pi) - pi_c) / (1 - pi_c), 1.0),
                                  pos.shape)
    present = np.where(pos, 1.0, np.clip(unl, 0.0, 1.0))
    out: dict[Any, SoftLabels] = {}
    for j, name in enumerate(names.tolist()):
        params = {
            "label": name,
            "prior": None if pi is None else float(pi[j]),
            "label_frequency": float(c[j]),
            "weights": "pred_probs" if g is not None else "prior",
        }
        out[name] = SoftLabels(
            np.column_stack([1.0 - present[:, j], present[:, j]]),
            np.array([0, 1]),
            item_ids,
            provenance={"method": "positive-unlabeled", "params": params},
            support=pos[:, j].astype(np.float64),
        )
    return out


# --------------------------------------------------------------------------- estimators
class CandidateSets(BaseInferrer):
    """Soft labels from candidate sets, as an estimator: :func:`from_candidate_sets`
    with the class ``prior`` as a parameter.

    Parameters
    ----------
    prior : array-like of shape (n_classes,), optional
        Class prior (normalised), checked against the classes on ``fit``. Without it
        and without ``pred_probs``, every candidate gets the same probability.

    Attributes
    ----------
    soft_labels_ : SoftLabels

    Examples
    --------
    >>> CandidateSets(prior=[0.5, 0.3, 0.2]).fit([[1, 1, 0]]).soft_labels_.probs.round(3).tolist()
    [[0.625, 0.375, 0.0]]
    """

    name = "candidate-sets"
    summary = "posterior over each item's candidate classes"
    evidence = "candidate-sets"
    _parameter_constraints = {"prior": anything}  # a vector, checked against the classes

    def __init__(self, *, prior: Any = None) -> None:
        self.prior = prior

    def fit(
        self,
        candidates: Any,
        /,
        *,
        pred_probs: Any = None,
        classes: Any = None,
        item_ids: Any = None,
    ) -> CandidateSets:
        """Fit on a 0/1 matrix ``candidates`` (n_items, n_classes); ``pred_probs``, a
        model's predictions, replace the prior as the weights.

        Parameters
        ----------
        candidates : array-like of shape (n_items, n_classes), 0/1 or bool
            ``candidates[i, k] = 1`` when class k is a candidate for item i.
        pred_probs : array-like of shape (n_items, n_classes) or SoftLabels, optional
            A model's predicted probabilities.
        classes, item_ids : array-like, optional
            Class names (default ``0..n_classes-1``) and item ids.

        Returns
        -------
        self
        """
        self._validate_params()
        soft = from_candidate_sets(
            candidates, prior=self.prior, pred_probs=pred_probs, classes=classes,
            item_ids=item_ids,
        )
        self.soft_labels_ = self._own(soft)
        return self


class ComplementaryLabels(BaseInferrer):
    """Soft labels from complementary labels ("not this class"), as an estimator:
    :func:`from_complementary` with ``n_classes``, ``transition`` and ``prior`` as
    parameters.

    Parameters
    ----------
    n_classes : int >= 2, optional
        Number of classes; taken from ``classes``, ``pred_probs`` or ``transition``
        when omitted.
    transition : "uniform", None or array-like of shape (n_classes, n_classes), default="uniform"
        ``Q[y, j] = P(complementary label j | true class y)``, rows summing to 1;
        ``None`` means ``"uniform"`` (see :func:`from_complementary`).
    prior : array-like of shape (n_classes,), optional
        Class prior; not together with ``pred_probs`` in ``fit``.

    Attributes
    ----------
    soft_labels_ : SoftLabels

    Examples
    --------
    >>> ComplementaryLabels(n_classes=3).fit([0, 2]).soft_labels_.probs.tolist()
    [[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]
    """

    name = "complementary-labels"
    summary = "posterior given 'not this class' labels and a transition matrix"
    evidence = "complementary-labels"
    _parameter_constraints = {
        "n_classes": none_or(integer(low=2)),
        "transition": anything,  # "uniform" or a matrix, checked against n_classes
        "prior": anything,
    }

    def __init__(
        self, *, n_classes: int | None = None, transition: Any = "uniform", prior: Any = None
    ) -> None:
        self.n_classes = n_classes
        self.transition = transition
        self.prior = prior

    def fit(
        self,
        comp_labels: Any,
        /,
        *,
        pred_probs: Any = None,
        classes: Any = None,
        item_ids: Any = None,
    ) -> ComplementaryLabels:
        """Fit on complementary class indices (one per item, or a 2-D array with ``-1``
        padding).

        Parameters
        ----------
        comp_labels : array-like of int, shape (n_items,) or (n_items, n_labels)
            Complementary class indices in ``0..n_classes-1``, ``-1`` where an item of
            a 2-D array has fewer.
        pred_probs : array-like of shape (n_items, n_classes), optional
            A model's predicted probabilities, in place of ``prior``.
        classes, item_ids : array-like, optional
            Class names and item ids.

        Returns
        -------
        self
        """
        self._validate_params()
        soft = from_complementary(
            comp_labels, self.n_classes, transition=self.transition, prior=self.prior,
            pred_probs=pred_probs, classes=classes, item_ids=item_ids,
        )
        self.soft_labels_ = self._own(soft)
        return self


class PositiveUnlabeled(BaseInferrer):
    """Soft labels from positive-unlabeled flags of one label, as an estimator:
    :func:`from_positive_unlabeled` on a single label, the classes ``[0, 1]``
    (absent, present).

    For several labels at once (multi-label data) call :func:`from_positive_unlabeled`,
    which returns one SoftLabels per label, or fit one estimator per column.

    Parameters
    ----------
    prior : float in (0, 1], optional
        ``P(present)``; needed unless ``pred_probs`` are given to ``fit``.
    label_frequency : float in (0, 1], optional
        ``P(observed | present)`` (default: estimated, see the function).

    Examples
    --------
    >>> PositiveUnlabeled(prior=0.75).fit([1, 0, 1, 0]).soft_labels_.probs[:, 1].tolist()
    [1.0, 0.5, 1.0, 0.5]
    """

    name = "positive-unlabeled"
    summary = "presence probability from positive/unlabeled flags (Elkan & Noto 2008)"
    evidence = "positive-unlabeled"
    _parameter_constraints = {
        "prior": none_or(real(low=0.0, high=1.0, low_open=True)),
        "label_frequency": none_or(real(low=0.0, high=1.0, low_open=True)),
    }

    def __init__(self, *, prior: float | None = None, label_frequency: float | None = None) -> None:
        self.prior = prior
        self.label_frequency = label_frequency

    def fit(self, positives: Any, /, *, pred_probs: Any = None, item_ids: Any = None) -> PositiveUnlabeled:
        """Fit on the flags (n_items,) or (n_items, 1): 1 observed positive, 0 unknown;
        ``pred_probs`` (same shape) are a classifier's ``P(observed positive | x)``.

        Parameters
        ----------
        positives : array-like of shape (n_items,) or (n_items, 1)
            1 where the label was observed present, 0 where it is unknown.
        pred_probs : array-like of shape (n_items,) or (n_items, 1), optional
            ``P(observed positive | x)``; needed when ``prior`` is not set.
        item_ids : array-like of shape (n_items,), optional
            Item ids of ``soft_labels_``.

        Returns
        -------
        self
        """
        self._validate_params()
        obs = _one_label(positives, "positives")
        g = None if pred_probs is None else _one_label(pred_probs, "pred_probs")
        result = from_positive_unlabeled(
            obs,
            None if self.prior is None else [self.prior],
            pred_probs=g,
            label_frequency=None if self.label_frequency is None else [self.label_frequency],
            item_ids=item_ids,
        )
        soft = result[0]
        self.label_frequency_ = float(soft.provenance["params"]["label_frequency"])
        self.soft_labels_ = self._own(soft)
        return self


def _one_label(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim == 1:
        return arr[:, None]
    if arr.ndim == 2 and arr.shape[1] == 1:
        return arr
    raise InputError(
        f"{name} must hold one label, shape (n_items,) or (n_items, 1); got shape "
        f"{arr.shape}. For several labels use from_positive_unlabeled."
    )
