"""Calibration of predicted probabilities: binned calibration errors, proper scores,
divergence from human soft labels, and post-hoc recalibration (temperature and vector
scaling).

Every function takes predicted probabilities ``probs`` of shape ``(n_items, n_classes)``
(an array or a :class:`~softlabels.SoftLabels`) and ``labels`` that are either

* hard: class indices ``0 .. n_classes - 1``, shape ``(n_items,)``; or
* soft: a probability matrix of shape ``(n_items, n_classes)`` or a
  :class:`~softlabels.SoftLabels` (for instance the vote shares of several annotators).
  When the predictions are a SoftLabels too, the columns are matched by class name.

With soft labels, "the item is of class k" is replaced by the probability the soft label
gives class k: the accuracy of a prediction is the soft-label probability of the
predicted class, the Brier score and the NLL use the soft label as the target
distribution. One-hot soft labels give exactly the hard-label numbers.

Binning convention (shared by :func:`expected_calibration_error`,
:func:`classwise_ece` and :func:`reliability_diagram`), the one of
``netcal.metrics.ECE``:

* scores are first clipped to ``[eps, 1 - eps]`` with ``eps = 2.22e-16`` (float64
  machine epsilon);
* ``strategy="uniform"``: edges ``np.linspace(0, 1, n_bins + 1)``;
  ``strategy="quantile"`` (equal mass, netcal's ``equal_intervals=False``): edges
  ``np.quantile(scores, np.linspace(0, 1, n_bins + 1))`` (linear interpolation) with
  the first edge set to 0 and the last to 1;
* bins are half-open ``[lower, upper)``, the last one closed: a score equal to an
  inner edge falls in the bin above it;
* empty bins contribute nothing. When quantile edges repeat (many tied scores) the bins
  between equal edges stay empty; netcal raises an error in that case.

For two classes the top-label ECE here is still computed on the largest probability;
netcal instead measures the class-1 probability against ``y == 1``, which is the class-1
term of :func:`classwise_ece`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from softlabels.core.validation import (
    check_features,
    check_float,
    check_int,
    check_is_fitted,
    check_labels,
    check_option,
    check_pred_probs,
    check_probs,
    integer,
    option,
    real,
)
from softlabels.audit.crowdlab import class_columns
from softlabels.core.annotations import show
from softlabels.core.errors import InputError
from softlabels.core.base import BaseEstimator

__all__ = [
    "expected_calibration_error",
    "classwise_ece",
    "brier_score",
    "negative_log_likelihood",
    "reliability_diagram",
    "soft_label_divergence",
    "calibration_report",
    "score_against_truth",
    "TemperatureScaling",
    "VectorScaling",
]

#: float64 machine epsilon: scores are clipped to ``[EPS, 1 - EPS]`` before binning,
#: probabilities to at least ``EPS`` inside logarithms (the default ``eps``).
EPS = float(np.finfo(np.float64).eps)

Strategy = Literal["uniform", "quantile"]
_STRATEGIES = ("uniform", "quantile")


# ---------------------------------------------------------------------- input handling
class _Targets:
    """Validated labels: class indices (``soft is None``) or a probability matrix."""

    __slots__ = ("hard", "soft")

    def __init__(self, hard: np.ndarray, soft: np.ndarray | None) -> None:
        self.hard, self.soft = hard, soft  # hard is unused when soft is given

    def at(self, cols: np.ndarray) -> np.ndarray:
        """Per item, the target probability of class ``cols[i]`` (1/0 for hard labels)."""
        if self.soft is not None:
            return self.soft[np.arange(self.soft.shape[0]), cols]
        return (self.hard == cols).astype(np.float64)

    def column(self, k: int) -> np.ndarray:
        """Per item, the target probability of class ``k``."""
        if self.soft is not None:
            return self.soft[:, k]
        return (self.hard == k).astype(np.float64)

    def dot(self, values: np.ndarray) -> np.ndarray:
        """Per item, the target-weighted sum of ``values[i, :]``."""
        if self.soft is not None:
            return np.einsum("ik,ik->i", self.soft, values)
        return values[np.arange(values.shape[0]), self.hard]

    def minus_from(self, probs: np.ndarray) -> np.ndarray:
        """``probs - target`` (a new array)."""
        if self.soft is not None:
            return probs - self.soft
        out = probs.copy()
        out[np.arange(out.shape[0]), self.hard] -= 1.0
        return out


def _is_soft(labels: Any) -> bool:
    if hasattr(labels, "probs") and hasattr(labels, "classes"):
        return True
    shape = np.shape(labels)
    return len(shape) == 2 and shape[1] != 1


def _classes_of(x: Any) -> Any:
    """The class names of a SoftLabels, None for an array."""
    return x.classes if hasattr(x, "probs") and hasattr(x, "classes") else None


def _check_targets(
    labels: Any, n_items: int, n_classes: int, name: str = "labels", classes: Any = None
) -> _Targets:
    """Validated labels; the columns of a SoftLabels follow ``classes`` (the class names
    of the predictions) when both are known."""
    if _is_soft(labels):
        soft = check_pred_probs(labels, name=name, n_classes=n_classes)
        if soft.shape[0] != n_items:
            raise InputError(f"{name} has {soft.shape[0]} rows but there are {n_items} items.")
        own = _classes_of(labels)
        if own is not None and classes is not None:
            soft = soft[:, class_columns(own, classes, name)]
        return _Targets(np.empty(0, dtype=np.int64), soft)
    return _Targets(check_labels(labels, n_classes, name=name, n_items=n_items), None)


def _check_soft(soft_labels: Any, n_items: int, n_classes: int, classes: Any) -> np.ndarray:
    if not _is_soft(soft_labels):
        raise InputError(
            "soft_labels must be a probability matrix (n_items, n_classes) or SoftLabels; "
            f"got shape {np.shape(soft_labels)} (for class indices use "
            "negative_log_likelihood)."
        )
    t = _check_targets(soft_labels, n_items, n_classes, name="soft_labels", classes=classes)
    return t.soft if t.soft is not None else np.empty((0, n_classes))


def _check(probs: Any, labels: Any) -> tuple[np.ndarray, _Targets]:
    p = check_pred_probs(probs, name="probs")
    return p, _check_targets(labels, p.shape[0], p.shape[1], classes=_classes_of(probs))


def _check_binning(n_bins: Any, strategy: Any, owner: str) -> tuple[int, str]:
    return (
        check_int(n_bins, "n_bins", owner, low=1),
        check_option(strategy, "strategy", owner, _STRATEGIES),
    )


def _check_eps(eps: Any, owner: str) -> float:
    return check_float(eps, "eps", owner, low=0.0, low_open=True, high=0.5)


# ---------------------------------------------------------------------- binning
def _bin_stats(
    scores: np.ndarray, hits: np.ndarray, n_bins: int, strategy: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edges, counts, sum of scores and sum of hits per bin (conventions in the module
    docstring)."""
    s = np.clip(scores, EPS, 1.0 - EPS)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.quantile(s, np.linspace(0.0, 1.0, n_bins + 1))
        edges[0], edges[-1] = 0.0, 1.0
    idx = np.searchsorted(edges, s, side="right") - 1
    np.minimum(idx, n_bins - 1, out=idx)  # a score on the last edge joins the last bin
    counts = np.bincount(idx, minlength=n_bins)
    sum_scores = np.bincount(idx, weights=s, minlength=n_bins)
    sum_hits = np.bincount(idx, weights=hits, minlength=n_bins)
    return edges, counts, sum_scores, sum_hits


def _ece(scores: np.ndarray, hits: np.ndarray, n_bins: int, strategy: str) -> float:
    # sum_b (n_b / N) |acc_b - conf_b|  ==  sum_b |hits_b - scores_b| / N
    _, _, sum_scores, sum_hits = _bin_stats(scores, hits, n_bins, strategy)
    return float(np.abs(sum_hits - sum_scores).sum() / scores.shape[0])


def _top_label(p: np.ndarray, t: _Targets) -> tuple[np.ndarray, np.ndarray]:
    pred = p.argmax(axis=1)
    return p[np.arange(p.shape[0]), pred], t.at(pred)


def _classwise(p: np.ndarray, t: _Targets, n_bins: int, strategy: str) -> float:
    return float(
        np.mean([_ece(p[:, k], t.column(k), n_bins, strategy) for k in range(p.shape[1])])
    )


# ---------------------------------------------------------------------- metrics
def expected_calibration_error(
    probs: Any, labels: Any, *, n_bins: int = 15, strategy: Strategy = "uniform"
) -> float:
    """Top-label expected calibration error (ECE).

    Items are grouped by their confidence (largest predicted probability) into
    ``n_bins`` bins, and the gap between accuracy and mean confidence is averaged over
    bins weighted by their size.

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes) or SoftLabels
        Predicted probabilities (rows summing to 1 within 1e-4).
    labels : array-like of shape (n_items,), or (n_items, n_classes), or SoftLabels
        Class indices, or soft labels: then the accuracy of an item is the probability
        its soft label gives the predicted class.
    n_bins : int, default=15
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width bins, or equal-mass bins cut at the quantiles of the confidences.

    Returns
    -------
    float
        In ``[0, 1]``; 0 is perfect calibration.

    Raises
    ------
    InputError
        Malformed probabilities or labels (NaN, wrong shape, mismatched lengths, class
        indices out of range).
    InvalidParameterError
        ``n_bins < 1`` or an unknown ``strategy``.

    See Also
    --------
    classwise_ece, reliability_diagram

    Notes
    -----
    .. math:: \\mathrm{ECE} = \\sum_{b=1}^{B} \\frac{n_b}{N}
              \\left|\\mathrm{acc}(b) - \\mathrm{conf}(b)\\right|

    Binning follows ``netcal.metrics.ECE(bins=n_bins)`` exactly (``equal_intervals=False``
    for ``"quantile"``); see the module docstring for edges, ties and empty bins.

    References
    ----------
    Naeini, Cooper and Hauskrecht, "Obtaining well calibrated probabilities using
    Bayesian binning", AAAI 2015. Guo et al., "On calibration of modern neural
    networks", ICML 2017.

    Examples
    --------
    Confidences 0.5, 0.4, 0.9, 0.7; 0.5 lies on the edge and joins the upper bin:

    >>> probs = [[0.5, 0.3, 0.2], [0.4, 0.4, 0.2], [0.9, 0.05, 0.05], [0.1, 0.2, 0.7]]
    >>> round(expected_calibration_error(probs, [0, 1, 0, 1], n_bins=2), 6)  # (0.4 + 0.1) / 4
    0.125
    """
    owner = "expected_calibration_error"
    n_bins, strategy = _check_binning(n_bins, strategy, owner)
    p, t = _check(probs, labels)
    return _ece(*_top_label(p, t), n_bins, strategy)


def classwise_ece(
    probs: Any, labels: Any, *, n_bins: int = 15, strategy: Strategy = "uniform"
) -> float:
    """Classwise ECE: the mean over classes of the ECE of each class probability.

    For class ``k`` the scores are ``probs[:, k]`` and the outcomes ``labels == k`` (or
    the soft-label probability of ``k``); every class is binned on its own.

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes) or SoftLabels
        Predicted probabilities.
    labels : array-like of shape (n_items,), or (n_items, n_classes), or SoftLabels
        Class indices or soft labels.
    n_bins : int, default=15
        Number of bins per class.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width or equal-mass bins (quantiles of each class's probabilities).

    Returns
    -------
    float
        In ``[0, 1]``.

    Notes
    -----
    .. math:: \\text{classwise-ECE} = \\frac{1}{K}\\sum_{k=1}^{K}\\sum_{b=1}^{B}
              \\frac{n_{kb}}{N}\\left|\\bar{y}_{k}(b) - \\bar{p}_{k}(b)\\right|

    Each class term equals ``netcal.metrics.ECE`` applied to the binary problem
    ``(probs[:, k], labels == k)``.

    References
    ----------
    Kull et al., "Beyond temperature scaling: obtaining well-calibrated multi-class
    probabilities with Dirichlet calibration", NeurIPS 2019.

    Examples
    --------
    >>> probs = [[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]]
    >>> round(classwise_ece(probs, [0, 1, 1, 1], n_bins=2), 4)
    0.25
    """
    n_bins, strategy = _check_binning(n_bins, strategy, "classwise_ece")
    p, t = _check(probs, labels)
    return _classwise(p, t, n_bins, strategy)


def _brier(p: np.ndarray, t: _Targets) -> float:
    if t.soft is not None:
        return float(np.square(p - t.soft).sum(axis=1).mean())
    # sum_k (p_k - 1[k = y])^2 = sum_k p_k^2 - 2 p_y + 1
    return float((np.einsum("ik,ik->i", p, p) - 2.0 * t.dot(p) + 1.0).mean())


def _nll(p: np.ndarray, t: _Targets, eps: float) -> float:
    if t.soft is not None:
        return float(-np.einsum("ik,ik->", t.soft, np.log(np.maximum(p, eps))) / p.shape[0])
    return float(-np.log(np.maximum(t.dot(p), eps)).mean())


def brier_score(probs: Any, labels: Any) -> float:
    """Multi-class Brier score: squared error summed over classes, averaged over items.

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes) or SoftLabels
        Predicted probabilities.
    labels : array-like of shape (n_items,), or (n_items, n_classes), or SoftLabels
        Class indices (one-hot targets) or soft targets.

    Returns
    -------
    float
        In ``[0, 2]``; 0 for one-hot predictions of the right class.

    Notes
    -----
    .. math:: \\mathrm{BS} = \\frac{1}{N}\\sum_{i=1}^{N}\\sum_{k=1}^{K} (p_{ik} - t_{ik})^2

    References
    ----------
    Brier, "Verification of forecasts expressed in terms of probability", Monthly
    Weather Review, 1950.

    Examples
    --------
    >>> round(brier_score([[0.8, 0.2], [0.5, 0.5]], [0, 1]), 4)
    0.29
    """
    return _brier(*_check(probs, labels))


def negative_log_likelihood(probs: Any, labels: Any, eps: float = EPS) -> float:
    """Mean negative log-likelihood (log loss); cross-entropy for soft targets.

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes) or SoftLabels
        Predicted probabilities.
    labels : array-like of shape (n_items,), or (n_items, n_classes), or SoftLabels
        Class indices, or soft targets (then the cross-entropy
        ``-sum_k t_k log p_k``).
    eps : float, default=2.22e-16
        Probabilities are raised to at least ``eps`` before the logarithm, so a zero
        probability on the true class costs ``-log(eps)`` (36.04 by default) instead
        of infinity. Must be in ``(0, 0.5]``.

    Returns
    -------
    float
        In nats.

    Notes
    -----
    .. math:: \\mathrm{NLL} = -\\frac{1}{N}\\sum_{i}\\sum_{k} t_{ik}\\log\\max(p_{ik}, \\epsilon)

    Examples
    --------
    >>> round(negative_log_likelihood([[0.8, 0.2], [0.5, 0.5]], [0, 1]), 4)
    0.4581
    """
    eps = _check_eps(eps, "negative_log_likelihood")
    return _nll(*_check(probs, labels), eps)


def reliability_diagram(
    probs: Any, labels: Any, *, n_bins: int = 15, strategy: Strategy = "uniform"
) -> pd.DataFrame:
    """Per-bin confidence and accuracy of the top-label prediction, for plotting.

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes) or SoftLabels
        Predicted probabilities.
    labels : array-like of shape (n_items,), or (n_items, n_classes), or SoftLabels
        Class indices or soft labels (accuracy as in
        :func:`expected_calibration_error`).
    n_bins : int, default=15
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width or equal-mass bins.

    Returns
    -------
    DataFrame with one row per bin (empty bins included) and columns
        ``lower``, ``upper`` (bin edges), ``count`` (items), ``fraction``
        (``count / n_items``), ``confidence`` (mean confidence), ``accuracy`` and
        ``gap`` (``accuracy - confidence``; negative means over-confident). The last
        three are NaN for empty bins. ``(fraction * gap.abs()).sum()`` is the ECE.

    Examples
    --------
    >>> probs = [[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]]
    >>> reliability_diagram(probs, [0, 1, 1, 1], n_bins=2)[["count", "accuracy"]]
       count  accuracy
    0      0       NaN
    1      4      0.75
    """
    n_bins, strategy = _check_binning(n_bins, strategy, "reliability_diagram")
    p, t = _check(probs, labels)
    scores, hits = _top_label(p, t)
    edges, counts, sum_scores, sum_hits = _bin_stats(scores, hits, n_bins, strategy)
    nonempty = counts > 0
    conf = np.full(n_bins, np.nan)
    acc = np.full(n_bins, np.nan)
    np.divide(sum_scores, counts, out=conf, where=nonempty)
    np.divide(sum_hits, counts, out=acc, where=nonempty)
    return pd.DataFrame(
        {
            "lower": edges[:-1],
            "upper": edges[1:],
            "count": counts.astype(np.int64),
            "fraction": counts / p.shape[0],
            "confidence": conf,
            "accuracy": acc,
            "gap": acc - conf,
        }
    )


def _divergence(p: np.ndarray, h: np.ndarray, eps: float) -> dict[str, float]:
    n = p.shape[0]
    cross = _nll(p, _Targets(np.empty(0, dtype=np.int64), h), eps)
    logh = np.zeros_like(h)
    np.log(h, out=logh, where=h > 0)  # 0 log 0 = 0
    entropy = float(-np.einsum("ik,ik->", h, logh) / n)
    return {"kl": cross - entropy, "cross_entropy": cross, "entropy": entropy}


def soft_label_divergence(
    pred_probs: Any, soft_labels: Any, *, eps: float = EPS
) -> dict[str, float]:
    """How far predictions are from human soft labels: KL divergence and cross-entropy.

    Parameters
    ----------
    pred_probs : array-like of shape (n_items, n_classes) or SoftLabels
        Predicted probabilities.
    soft_labels : array-like of shape (n_items, n_classes) or SoftLabels
        Human label distributions (for instance the vote shares of CIFAR-10H; use
        :meth:`SoftLabels.from_counts` for raw vote counts).
    eps : float, default=2.22e-16
        Predicted probabilities are raised to at least ``eps`` inside the logarithm.
        Zero human probabilities contribute nothing (``0 log 0 = 0``).

    Returns
    -------
    dict
        ``kl``: mean KL(human || model) in nats; ``cross_entropy``: mean
        ``-sum_k h_k log p_k``; ``entropy``: mean entropy of the human labels. Always
        ``cross_entropy == entropy + kl``.

    Notes
    -----
    .. math:: \\mathrm{KL} = \\frac{1}{N}\\sum_i\\sum_k h_{ik}
              \\log\\frac{h_{ik}}{\\max(p_{ik}, \\epsilon)}

    References
    ----------
    Peterson et al., "Human uncertainty makes classification more robust", ICCV 2019.

    Examples
    --------
    >>> d = soft_label_divergence([[0.5, 0.5]], [[0.5, 0.5]])
    >>> round(d["kl"], 6), round(d["cross_entropy"], 4)
    (0.0, 0.6931)
    """
    eps = _check_eps(eps, "soft_label_divergence")
    p = check_pred_probs(pred_probs, name="pred_probs")
    return _divergence(
        p, _check_soft(soft_labels, p.shape[0], p.shape[1], _classes_of(pred_probs)), eps
    )


def calibration_report(
    probs: Any, labels: Any, *, n_bins: int = 15, soft_labels: Any = None
) -> dict[str, float | int | None]:
    """The main calibration numbers in one dictionary (for the CLI and the HTML report).

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes) or SoftLabels
        Predicted probabilities.
    labels : array-like of shape (n_items,), or (n_items, n_classes), or SoftLabels
        Class indices or soft labels.
    n_bins : int, default=15
        Number of bins for the ECEs.
    soft_labels : array-like of shape (n_items, n_classes) or SoftLabels, optional
        Human soft labels for the divergence figures. When omitted and ``labels`` are
        soft, ``labels`` are used.

    Returns
    -------
    dict
        Always the same keys: ``n_items``, ``n_classes``, ``n_bins``, ``accuracy``
        (top-label; expected accuracy for soft labels), ``confidence`` (mean top
        probability), ``ece`` (uniform bins), ``ece_quantile`` (equal-mass bins),
        ``classwise_ece``, ``brier``, ``nll``, and ``kl`` / ``cross_entropy`` from
        :func:`soft_label_divergence`, which are None without soft labels.

    Examples
    --------
    >>> r = calibration_report([[0.9, 0.1], [0.2, 0.8]], [0, 1], n_bins=10)
    >>> r["accuracy"], round(r["ece"], 3), r["kl"]
    (1.0, 0.15, None)
    """
    n_bins = check_int(n_bins, "n_bins", "calibration_report", low=1)
    p, t = _check(probs, labels)
    human = t.soft
    if soft_labels is not None:
        human = _check_soft(soft_labels, p.shape[0], p.shape[1], _classes_of(probs))
    scores, hits = _top_label(p, t)
    div = _divergence(p, human, EPS) if human is not None else None
    return {
        "n_items": int(p.shape[0]),
        "n_classes": int(p.shape[1]),
        "n_bins": n_bins,
        "accuracy": float(hits.mean()),
        "confidence": float(scores.mean()),
        "ece": _ece(scores, hits, n_bins, "uniform"),
        "ece_quantile": _ece(scores, hits, n_bins, "quantile"),
        "classwise_ece": _classwise(p, t, n_bins, "uniform"),
        "brier": _brier(p, t),
        "nll": _nll(p, t, EPS),
        "kl": None if div is None else div["kl"],
        "cross_entropy": None if div is None else div["cross_entropy"],
    }


def score_against_truth(
    soft_labels: Any, truth: Any, *, n_bins: int = 15, eps: float = EPS
) -> dict[str, float | int]:
    """Accuracy, NLL, Brier score, top-label and classwise ECE of soft labels against
    known true labels, matched by item id and class name.

    Parameters
    ----------
    soft_labels : SoftLabels or DataFrame
        Soft labels with item ids (a DataFrame: one row per item, one column per class,
        rows summing to 1).
    truth : Series or mapping
        ``item -> true class``. Items without a soft label are left out (they have no
        answers, hence no label); a true class that the soft labels lack gets
        probability 0.
    n_bins : int, default=15
        Equal-width bins for both ECEs (conventions in the module docstring).
    eps : float, default=2.22e-16
        Probabilities are raised to at least ``eps`` inside the NLL.

    Returns
    -------
    dict
        ``n_items`` (scored), ``accuracy`` (arg-max, ties to the first class in sorted
        class order), ``nll``, ``brier``, ``ece`` (top-label), ``classwise_ece``.

    Raises
    ------
    InputError
        No item of ``truth`` has a soft label; a frame of soft labels that are not
        probabilities (NaN, negative, rows not summing to 1) or that repeats an item.

    Examples
    --------
    >>> import pandas as pd
    >>> soft = pd.DataFrame({"a": [0.9, 0.4], "b": [0.1, 0.6]}, index=["x", "y"])
    >>> r = score_against_truth(soft, {"x": "a", "y": "a", "z": "b"}, n_bins=2)
    >>> r["n_items"], r["accuracy"], round(r["brier"], 3), round(r["ece"], 3)
    (2, 0.5, 0.37, 0.25)
    """
    n_bins = check_int(n_bins, "n_bins", "score_against_truth", low=1)
    eps = _check_eps(eps, "score_against_truth")
    if isinstance(soft_labels, pd.DataFrame):
        frame = pd.DataFrame(
            check_probs(soft_labels, name="soft_labels"),
            index=soft_labels.index,
            columns=soft_labels.columns,
        )
    elif hasattr(soft_labels, "probs") and hasattr(soft_labels, "item_ids"):
        frame = pd.DataFrame(
            soft_labels.probs, index=soft_labels.item_ids, columns=soft_labels.classes
        )
    else:
        raise InputError(
            "score_against_truth: soft_labels must be a SoftLabels or a DataFrame indexed "
            f"by item; got {type(soft_labels).__name__}."
        )
    truth = pd.Series(truth) if not isinstance(truth, pd.Series) else truth
    for name, index in (("soft_labels", frame.index), ("truth", truth.index)):
        repeated = index.duplicated()
        if repeated.any():
            raise InputError(
                f"score_against_truth: {name} has item {show(index[repeated][0])} "
                "more than once."
            )
    truth = truth[truth.index.isin(frame.index)]
    missing = truth.isna().to_numpy()
    if missing.any():
        raise InputError(
            f"score_against_truth: truth has {int(missing.sum())} missing labels "
            f"(first at item {truth.index.to_list()[int(missing.argmax())]!r})."
        )
    if truth.empty:
        raise InputError("score_against_truth: no item of truth has a soft label.")
    classes = pd.Index(sorted(set(frame.columns) | set(truth.unique()), key=str))
    p = frame.reindex(index=truth.index, columns=classes, fill_value=0.0).to_numpy(float)
    t = _Targets(classes.get_indexer(truth.to_numpy()), None)
    scores, hits = _top_label(p, t)
    return {
        "n_items": int(p.shape[0]),
        "accuracy": float(hits.mean()),
        "nll": _nll(p, t, eps),
        "brier": _brier(p, t),
        "ece": _ece(scores, hits, n_bins, "uniform"),
        "classwise_ece": _classwise(p, t, n_bins, "uniform"),
    }


# ---------------------------------------------------------------------- recalibration
def _log_softmax(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise log-softmax (stable: the row maximum is subtracted first) and the
    log-sum-exp of each row."""
    top = z.max(axis=1, keepdims=True)
    lse = top + np.log(np.exp(z - top).sum(axis=1, keepdims=True))
    return z - lse, lse[:, 0]


class _Scaling(BaseEstimator):
    """Shared fit/transform of the logit-scaling calibrators: minimise the mean NLL of
    ``softmax(logits(x, theta))`` over ``theta`` with L-BFGS-B and an analytic gradient."""

    _INPUTS = ("logits", "probs")
    _parameter_constraints = {
        "max_iter": integer(low=1),
        "tol": real(low=0.0, low_open=True),
        "inputs": option(*_INPUTS),
    }

    def __init__(
        self,
        *,
        inputs: Literal["logits", "probs"] = "logits",
        max_iter: int = 200,
        tol: float = 1e-10,
    ) -> None:
        self.inputs = inputs
        self.max_iter = max_iter
        self.tol = tol

    # subclasses: initial parameters and bounds, logits, gradient, fitted attributes
    def _start(self, n_classes: int) -> tuple[np.ndarray, list[tuple[float | None, float | None]]]:
        raise NotImplementedError

    def _logits(self, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _grad(self, x: np.ndarray, dz: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _store(self, theta: np.ndarray) -> None:
        raise NotImplementedError

    def _theta(self) -> np.ndarray:
        raise NotImplementedError

    def _scores(self, scores: Any, n_classes: int | None = None) -> np.ndarray:
        owner = type(self).__name__
        if self.inputs == "probs":
            p = check_pred_probs(scores, name="scores", n_classes=n_classes)
            return np.log(np.maximum(p, EPS))
        x = check_features(scores, name="scores")
        if x.shape[1] < 2:
            raise InputError(f"scores needs at least 2 class columns; got {x.shape[1]}.")
        if n_classes is not None and x.shape[1] != n_classes:
            raise InputError(
                f"scores has {x.shape[1]} columns; {owner} was fitted on {n_classes} classes."
            )
        return x

    def _objective(self, theta: np.ndarray, x: np.ndarray, t: _Targets) -> tuple[float, np.ndarray]:
        logp, _ = _log_softmax(self._logits(x, theta))
        nll = -float(t.dot(logp).mean())
        dz = t.minus_from(np.exp(logp))
        dz /= x.shape[0]
        return nll, self._grad(x, dz)

    def fit(self, scores: Any, labels: Any) -> _Scaling:
        """Fit on held-out data.

        Parameters
        ----------
        scores : array-like of shape (n_items, n_classes)
            Logits (``inputs="logits"``) or predicted probabilities
            (``inputs="probs"``; used as log-probabilities, floored at ``2.22e-16``).
        labels : array-like of shape (n_items,), or (n_items, n_classes), or SoftLabels
            Class indices, or soft labels (then the cross-entropy is minimised).

        Returns
        -------
        self
        """
        self._validate_params()
        max_iter, tol = int(self.max_iter), float(self.tol)
        x = self._scores(scores)
        t = _check_targets(labels, x.shape[0], x.shape[1])
        theta0, bounds = self._start(x.shape[1])
        res = minimize(
            self._objective,
            theta0,
            args=(x, t),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iter, "ftol": tol, "gtol": tol},
        )
        self.n_classes_ = int(x.shape[1])
        self._store(np.asarray(res.x, dtype=np.float64))
        self.nll_ = float(res.fun)
        self.n_iter_ = int(res.nit)
        self.converged_ = bool(res.success)
        return self

    def transform(self, scores: Any) -> np.ndarray:
        """Calibrated probabilities, shape ``(n_items, n_classes)``.

        Parameters
        ----------
        scores : array-like of shape (n_items, n_classes)
            Logits or probabilities, as set by ``inputs``.
        """
        check_is_fitted(self, "n_classes_")
        self._validate_params()
        x = self._scores(scores, n_classes=self.n_classes_)
        logp, _ = _log_softmax(self._logits(x, self._theta()))
        return np.exp(logp)

    def fit_transform(self, scores: Any, labels: Any) -> np.ndarray:
        """``fit(scores, labels).transform(scores)``."""
        return self.fit(scores, labels).transform(scores)


class TemperatureScaling(_Scaling):
    """Temperature scaling: calibrated probabilities ``softmax(logits / T)``.

    One parameter, fitted by minimising the mean negative log-likelihood on held-out
    data. It changes confidence, never the predicted class.

    Parameters
    ----------
    inputs : {"logits", "probs"}, default="logits"
        What ``fit`` and ``transform`` receive: logits, or predicted probabilities,
        which are turned into log-probabilities ``log(max(p, 2.22e-16))`` (the softmax
        of log-probabilities is the probabilities again, so ``T = 1`` is the identity).
        Never guessed from the values.
    max_iter : int, default=200
        Maximum L-BFGS-B iterations.
    tol : float, default=1e-10
        L-BFGS-B ``ftol`` and ``gtol``.

    Attributes
    ----------
    temperature_ : float
        Fitted temperature; above 1 softens over-confident predictions.
    nll_ : float
        Mean NLL on the fitting data after scaling.
    n_classes_ : int
        Number of classes seen in ``fit``.
    n_iter_ : int
        L-BFGS-B iterations used.
    converged_ : bool
        Whether L-BFGS-B reported convergence.

    Notes
    -----
    The NLL is convex in the inverse temperature ``beta = 1 / T``
    (``logits * beta`` is linear in ``beta``), so ``beta`` is optimised, bounded
    below by ``1e-8``, with gradient
    ``mean_i (sum_k softmax(beta z_i)_k z_ik - sum_k t_ik z_ik)``. The result is
    deterministic. netcal's ``TemperatureScaling.temperature`` is this ``beta``.

    References
    ----------
    Guo, Pleiss, Sun and Weinberger, "On calibration of modern neural networks",
    ICML 2017.

    Examples
    --------
    >>> logits = [[4.0, 0.0], [0.0, 4.0], [4.0, 0.0], [0.0, 4.0]]
    >>> ts = TemperatureScaling().fit(logits, [0, 1, 1, 1])
    >>> round(ts.temperature_, 3)
    3.641
    >>> ts.transform([[4.0, 0.0]]).round(3)
    array([[0.75, 0.25]])
    """

    def _start(self, n_classes: int) -> tuple[np.ndarray, list[tuple[float | None, float | None]]]:
        return np.ones(1), [(1e-8, None)]

    def _logits(self, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
        return x * theta[0]

    def _grad(self, x: np.ndarray, dz: np.ndarray) -> np.ndarray:
        return np.array([np.einsum("ik,ik->", dz, x)])

    def _store(self, theta: np.ndarray) -> None:
        self.temperature_ = float(1.0 / theta[0])

    def _theta(self) -> np.ndarray:
        return np.array([1.0 / self.temperature_])


class VectorScaling(_Scaling):
    """Vector scaling: calibrated probabilities ``softmax(logits * w + b)`` with one
    weight and one bias per class.

    Generalises :class:`TemperatureScaling` (all ``w_k = 1 / T``, ``b = 0``); fitted
    the same way, by minimising the mean NLL on held-out data.

    Parameters
    ----------
    inputs : {"logits", "probs"}, default="logits"
        Logits, or predicted probabilities used as log-probabilities
        ``log(max(p, 2.22e-16))``.
    max_iter : int, default=200
        Maximum L-BFGS-B iterations.
    tol : float, default=1e-10
        L-BFGS-B ``ftol`` and ``gtol``.

    Attributes
    ----------
    weights_ : ndarray of shape (n_classes,)
        Per-class multipliers of the logits.
    bias_ : ndarray of shape (n_classes,)
        Per-class offsets, centred to sum to 0 (softmax ignores a common shift).
    nll_, n_classes_, n_iter_, converged_
        As in :class:`TemperatureScaling`.

    Notes
    -----
    The NLL is convex in ``(w, b)``; gradients ``mean_i (p_ik - t_ik) z_ik`` and
    ``mean_i (p_ik - t_ik)``. Starts from ``w = 1``, ``b = 0``; unregularised. This is
    netcal's ``LogisticCalibration`` (``temperature_only=False``, ``method="mle"``) on
    multi-class input.

    References
    ----------
    Guo, Pleiss, Sun and Weinberger, "On calibration of modern neural networks",
    ICML 2017.

    Examples
    --------
    >>> logits = [[2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [0.0, 2.0], [1.0, 1.0]]
    >>> vs = VectorScaling().fit(logits, [0, 1, 1, 1, 1])
    >>> vs.weights_.shape, round(float(vs.bias_.sum()), 12)
    ((2,), 0.0)
    """

    def _start(self, n_classes: int) -> tuple[np.ndarray, list[tuple[float | None, float | None]]]:
        return np.concatenate([np.ones(n_classes), np.zeros(n_classes)]), [(None, None)] * (
            2 * n_classes
        )

    def _logits(self, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
        k = x.shape[1]
        return x * theta[:k] + theta[k:]

    def _grad(self, x: np.ndarray, dz: np.ndarray) -> np.ndarray:
        return np.concatenate([np.einsum("ik,ik->k", dz, x), dz.sum(axis=0)])

    def _store(self, theta: np.ndarray) -> None:
        k = theta.shape[0] // 2
        self.weights_ = theta[:k].copy()
        self.bias_ = theta[k:] - theta[k:].mean()

    def _theta(self) -> np.ndarray:
        return np.concatenate([self.weights_, self.bias_])
