"""Labeller quality against gold answers, and the Bayesian risk of each label."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from softlabels.core.validation import check_float, check_option
from softlabels.core.annotations import Annotations, as_annotations, show
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import SoftLabels
from softlabels.audit.agreement._coders import _class_positions, _coders, _id_positions, _ratio

__all__ = ["ESTES_QSCORE_WEIGHTS", "LabelRisk", "LabellerQuality", "bayesian_label_risk", "labeller_quality"]


#: Weights of the Area, N (field count), Edge and Categorical components of the
#: per-assignment quality score of Estes et al. (2024); project-specific.
ESTES_QSCORE_WEIGHTS = (0.55, 0.225, 0.1, 0.125)


@dataclass(frozen=True)
class LabellerQuality:
    """Labeller quality from hidden gold tasks (Estes et al. 2024).

    Attributes
    ----------
    worker_ids : ndarray of shape (n_workers,)
    classes : ndarray of shape (n_classes,)
    n_gold : ndarray of shape (n_workers,)
        Answers on gold items.
    n_scored : ndarray of shape (n_workers,)
        Answers with a quality score (``n_gold`` unless ``answer_scores`` was given).
    qscore : ndarray of shape (n_workers,)
        Mean per-assignment quality score; NaN without a scored answer.
    producer_accuracy : ndarray of shape (n_workers, n_classes)
        ``P(answer k | gold k)`` per labeller; NaN where he met no gold item of class k.
    """

    worker_ids: np.ndarray
    classes: np.ndarray
    n_gold: np.ndarray
    n_scored: np.ndarray
    qscore: np.ndarray
    producer_accuracy: np.ndarray

    @property
    def prior(self) -> np.ndarray:
        """``P(L_i | D)`` per labeller and class: ``qscore * producer_accuracy``,
        shape (n_workers, n_classes): the consensus weights of
        :func:`bayesian_label_risk`."""
        return self.qscore[:, None] * self.producer_accuracy

    def to_frame(self) -> pd.DataFrame:
        """One row per labeller: ``worker, n_gold, n_scored, qscore``, then
        ``producer_accuracy_<class>`` and ``prior_<class>`` for each class."""
        out = pd.DataFrame(
            {
                "worker": self.worker_ids,
                "n_gold": self.n_gold,
                "n_scored": self.n_scored,
                "qscore": self.qscore,
            }
        )
        prior = self.prior
        for j, c in enumerate(self.classes):
            out[f"producer_accuracy_{c}"] = self.producer_accuracy[:, j]
        for j, c in enumerate(self.classes):
            out[f"prior_{c}"] = prior[:, j]
        return out


def _answer_scores(ann: Annotations, answer_scores: Any, weights: Any) -> np.ndarray:
    try:
        s = np.asarray(answer_scores, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"answer_scores must be numeric; {err}") from None
    if s.ndim not in (1, 2) or s.shape[0] != ann.n_answers:
        raise InputError(
            f"answer_scores must have one row per answer ({ann.n_answers}); got shape {s.shape}."
        )
    if s.ndim == 2:
        w = np.asarray(weights, dtype=np.float64)
        ok = w.ndim == 1 and w.shape[0] == s.shape[1] and np.isfinite(w).all()
        if not ok or (w < 0).any() or w.sum() <= 0:
            raise InvalidParameterError(
                f"The 'weights' parameter of labeller_quality must be {s.shape[1]} non-negative "
                f"numbers, one per column of answer_scores; got {list(np.atleast_1d(w))}."
            )
        s = s @ (w / w.sum())  # NaN in any component leaves the answer unscored
    if (np.isinf(s)).any() or (s < 0).any() or (s > 1).any():
        i = int(np.flatnonzero(np.isinf(s) | (s < 0) | (s > 1))[0])
        raise InputError(
            f"answer_scores must lie in [0, 1] (NaN: not scored); row {i} is {s[i]!r}."
        )
    return s


def labeller_quality(
    annotations: Any,
    gold: Any,
    *,
    answer_scores: Any = None,
    weights: Sequence[float] = ESTES_QSCORE_WEIGHTS,
    smoothing: float = 0.0,
) -> LabellerQuality:
    """Labeller quality scores from hidden gold-standard tasks (Estes et al. 2024).

    Estes et al. score every assignment on a gold site,
    ``Qscore = 0.55 Area + 0.225 N + 0.1 Edge + 0.125 Categorical`` (components in
    ``[0, 1]`` measured against the expert polygons), and rate each labeller by his
    mean score and by his producer's accuracy per class. The prior probability that
    labeller ``i`` is right about class ``k``, the weight of his vote in the consensus
    of :func:`bayesian_label_risk`, is ``P(L_i | D) = mean Qscore_i * PA_ik``.

    For categorical answers (one label per item) an assignment's score is by default
    its correctness on a gold item, ``1[answer = gold]`` (the Area term of a one-pixel
    map, and its Categorical term), so ``qscore`` is the accuracy on gold. Scores of
    segmentation-style assignments, or any other per-answer score, can be passed as
    ``answer_scores`` (one value in ``[0, 1]`` per answer), or as components (one
    column each) combined with ``weights``.

    Parameters
    ----------
    annotations : Annotations, DataFrame or path
        Long-format answers. Each answer is one assignment.
    gold : mapping, Series or DataFrame
        Known labels of the gold items (item id -> label, or ``item``, ``label``
        columns); items not answered are ignored.
    answer_scores : array of shape (n_answers,) or (n_answers, n_components), optional
        Per-assignment quality scores in the order of the answers (rows of the answer
        table); NaN marks an unscored answer.
    weights : sequence of float, default=ESTES_QSCORE_WEIGHTS
        Weights of the columns of a 2-D ``answer_scores`` (normalised to sum to 1);
        the default is Estes et al.'s Area, N, Edge, Categorical weights.
    smoothing : float, default=0
        Pseudo-count added to every cell of each labeller's gold confusion matrix
        before the producer's accuracy ``(n_kk + s) / (n_k + K s)`` is taken; with
        ``s > 0`` a class never met gives ``1 / K`` instead of NaN.

    Returns
    -------
    LabellerQuality
        ``qscore``, ``producer_accuracy``, ``prior`` and ``to_frame()``.

    References
    ----------
    L. D. Estes et al., "A region-wide, multi-year set of crop field boundary labels
    for Africa", arXiv:2412.18483 (2024).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 2, 3, 4], "worker": ["a"] * 4, "label": [0, 1, 1, 1]})
    >>> q = labeller_quality(df, {1: 0, 2: 0, 3: 1, 4: 1})
    >>> q.qscore.tolist(), q.producer_accuracy.tolist(), q.prior.tolist()
    ([0.75], [[0.5, 1.0]], [[0.375, 0.75]])
    """
    ann = as_annotations(annotations)
    s_pseudo = check_float(smoothing, "smoothing", "labeller_quality", low=0.0)
    k, n_workers = ann.n_classes, ann.n_workers
    truth = ann.gold_codes(gold)[ann.item]  # (n_answers,), -1 where not gold
    on_gold = truth >= 0
    correct = (ann.label == truth).astype(np.float64)
    if answer_scores is None:
        scores = np.where(on_gold, correct, np.nan)
    else:
        scores = _answer_scores(ann, answer_scores, weights)
    scored = ~np.isnan(scores)
    n_scored = np.bincount(ann.worker[scored], minlength=n_workers)
    qscore = _ratio(
        np.bincount(ann.worker[scored], weights=scores[scored], minlength=n_workers),
        n_scored.astype(np.float64),
    )
    cell = (ann.worker[on_gold].astype(np.int64) * k + truth[on_gold]) * k + ann.label[on_gold]
    conf = np.bincount(cell, minlength=n_workers * k * k).reshape(n_workers, k, k) + s_pseudo
    diag = np.diagonal(conf, axis1=1, axis2=2)
    return LabellerQuality(
        worker_ids=ann.worker_ids,
        classes=ann.classes,
        n_gold=np.bincount(ann.worker[on_gold], minlength=n_workers),
        n_scored=n_scored,
        qscore=qscore,
        producer_accuracy=_ratio(diag, conf.sum(axis=2)),
    )


@dataclass(frozen=True)
class LabelRisk:
    """Quality-weighted consensus and its Bayes risk (Estes et al. 2024).

    Attributes
    ----------
    soft_labels : SoftLabels
        The consensus ``C`` per item; ``support`` is the number of labellers with a
        positive weight (uniform rows where there is none).
    risk : ndarray of shape (n_items,)
        ``r = 1 - max_k C_k`` (``min(C, 1 - C)`` for two classes); NaN without any
        weighted answer.
    threshold : float
        Risk above which an item is flagged.
    """

    soft_labels: SoftLabels
    risk: np.ndarray
    threshold: float

    @property
    def n_labellers(self) -> np.ndarray:
        """Labellers with a positive weight per item (report it next to the risk)."""
        return np.asarray(self.soft_labels.support).astype(np.int64)

    @property
    def risky(self) -> np.ndarray:
        """``risk > threshold`` (False where the risk is NaN)."""
        return np.nan_to_num(self.risk, nan=-1.0) > self.threshold

    @property
    def mean_risk(self) -> float:
        """Mean risk over the items with a defined risk."""
        ok = ~np.isnan(self.risk)
        return float(self.risk[ok].mean()) if ok.any() else float("nan")

    @property
    def frac_risky(self) -> float:
        """Share of the items with a defined risk whose risk exceeds the threshold."""
        ok = ~np.isnan(self.risk)
        return float(self.risky[ok].mean()) if ok.any() else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """One row per item: ``item, n_labellers, label, confidence, risk, risky``."""
        soft = self.soft_labels
        label = pd.Series(soft.hard(), dtype=object)
        label[np.isnan(self.risk)] = None
        return pd.DataFrame(
            {
                "item": soft.item_ids,
                "n_labellers": self.n_labellers,
                "label": label.to_numpy(),
                "confidence": np.where(np.isnan(self.risk), np.nan, soft.confidence()),
                "risk": self.risk,
                "risky": self.risky,
            }
        )

    def summary(self, groups: Any = None) -> pd.DataFrame:
        """Risk per group of items (Estes et al.'s per-site summary).

        Parameters
        ----------
        groups : array-like of shape (n_items,), optional
            Group of each item (e.g. the image or site of each pixel), in item order.
            Default: one group, ``"all"``.

        Returns
        -------
        DataFrame
            Indexed by group: ``n_items``, ``mean_risk``, ``frac_risky`` (over items with
            a defined risk) and ``mean_labellers``.
        """
        n = self.risk.shape[0]
        g = np.full(n, "all", dtype=object) if groups is None else np.asarray(groups)
        if g.shape != (n,):
            raise InputError(f"groups must have one entry per item ({n}); got shape {g.shape}.")
        frame = pd.DataFrame(
            {
                "group": g,
                "risk": self.risk,
                "risky": np.where(np.isnan(self.risk), np.nan, self.risky.astype(np.float64)),
                "n_labellers": self.n_labellers.astype(np.float64),
            }
        )
        out = frame.groupby("group", sort=True).agg(
            n_items=("risk", "size"),
            mean_risk=("risk", "mean"),
            frac_risky=("risky", "mean"),
            mean_labellers=("n_labellers", "mean"),
        )
        return out


def _quality_weights(ann: Annotations, quality: Any) -> np.ndarray:
    """(n_workers, K) consensus weights; NaN where unknown."""
    k, n_workers = ann.n_classes, ann.n_workers
    if quality is None:
        return np.ones((n_workers, k))
    if isinstance(quality, LabellerQuality):
        cols = _class_positions(quality.classes, ann.classes, "quality")
        rows = _id_positions(quality.worker_ids, ann.worker_ids, "quality has worker")
        prior = quality.prior[:, cols]
        out = np.full((n_workers, k), np.nan)
        out[rows >= 0] = prior[rows[rows >= 0]]
        return out
    if isinstance(quality, (Mapping, pd.Series)):
        s = pd.Series(quality)
        rows = _id_positions(np.asarray(s.index), ann.worker_ids, "quality has worker")
        vals = np.asarray(s.to_numpy(), dtype=np.float64)
        w = np.where(rows >= 0, vals[np.maximum(rows, 0)], np.nan)
        out = np.repeat(w[:, None], k, axis=1)
    else:
        try:
            out = np.asarray(quality, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise InputError(f"quality must be numeric; {err}") from None
        if out.shape == (n_workers,):
            out = np.repeat(out[:, None], k, axis=1)
        elif out.shape != (n_workers, k):
            raise InputError(
                "quality must be a LabellerQuality, a mapping worker -> weight, or an array "
                f"of shape ({n_workers},) or ({n_workers}, {k}) in worker order; got shape "
                f"{out.shape}."
            )
    bad = np.isinf(out) | (out < 0)
    if bad.any():
        r = int(np.argwhere(bad)[0][0])
        raise InputError(
            f"quality weights must be non-negative and finite (NaN: unknown); worker "
            f"{show(ann.worker_ids[r])} has {out[r].tolist()}."
        )
    return out


def _fill_unknown(weights: np.ndarray) -> np.ndarray:
    """NaN weights replaced by the mean known weight of their class (of all classes
    when the class has none; 1 when no weight is known at all)."""
    known = np.isfinite(weights)
    if not known.any():
        return np.ones_like(weights)
    count = known.sum(axis=0)
    total = np.where(known, weights, 0.0).sum(axis=0)
    overall = total.sum() / count.sum()
    fill = np.where(count > 0, total / np.maximum(count, 1), overall)
    return np.where(known, weights, fill[None, :])


def bayesian_label_risk(
    annotations: Any, quality: Any = None, *, threshold: float = 0.34, unknown: str = "drop"
) -> LabelRisk:
    """Quality-weighted consensus of the labellers and its Bayes risk (Estes et al. 2024).

    For each item (a pixel in the paper), with labellers ``i`` and weights
    ``w_i = P(L_i | D)`` (from :func:`labeller_quality`: ``mean Qscore_i`` times the
    labeller's producer's accuracy for the class he gave), the consensus is
    ``C_k = sum_i w_i 1[label_i = k] / sum_i w_i`` (weights normalised over the item's
    labellers, so ``C`` is a distribution), the consensus label
    ``D = argmax_k C_k`` (first class on ties) and the Bayes risk of choosing it is
    ``r = 1 - max_k C_k``; with two classes this is the paper's
    ``r = C (1 - D) + (1 - C) D = min(C, 1 - C)``. Estes et al. flag ``r > 0.34``. With
    ``n`` equally weighted binary labellers ``r`` only takes values ``j / n``, so
    report the number of labellers next to the risk.

    Answers whose labeller has no weight (NaN: no gold data, or not in ``quality``) are
    left out (``unknown="drop"``) or weighted like an average labeller
    (``unknown="mean"``); an item with no weighted answer gets a uniform consensus and a
    NaN risk. A labeller with several answers on an item splits his weight equally
    between them.

    Parameters
    ----------
    annotations : Annotations, DataFrame or path
        Long-format answers.
    quality : LabellerQuality, mapping, Series or array, optional
        Weights: a :class:`LabellerQuality` (its ``prior``, matched by worker id and
        class), a mapping worker id -> weight, or an array of shape (n_workers,) or
        (n_workers, n_classes) in the order of ``Annotations.worker_ids``. Default:
        equal weights (the plain vote share).
    threshold : float, default=0.34
        Risk above which an item is flagged (Estes et al.).
    unknown : {"drop", "mean"}, default="drop"
        What a NaN weight means. ``"drop"``: the answer is left out (the paper's
        consensus only uses labellers with a quality score). ``"mean"``: it gets the
        mean known weight of the same class over the labellers (of every class when
        none is known for it); useful when gold tasks reach only part of the crowd.

    Returns
    -------
    LabelRisk
        ``soft_labels`` (the consensus), ``risk``, ``risky``, ``mean_risk``,
        ``frac_risky``, ``to_frame()`` and ``summary(groups)``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"item": [1, 1, 1], "worker": list("abc"), "label": [1, 1, 0]})
    >>> res = bayesian_label_risk(df, quality=[0.9, 0.3, 0.6])
    >>> res.soft_labels.probs.round(3).tolist(), res.risk.round(3).tolist()
    ([[0.333, 0.667]], [0.333])
    """
    ann = as_annotations(annotations)
    threshold = check_float(threshold, "threshold", "bayesian_label_risk", low=0.0, high=1.0)
    unknown = check_option(unknown, "unknown", "bayesian_label_risk", ["drop", "mean"])
    weights = _quality_weights(ann, quality)
    if unknown == "mean":
        weights = _fill_unknown(weights)
    weights = np.nan_to_num(weights, nan=0.0)
    c = _coders(ann)
    k = ann.n_classes
    w_entry = c.weight * weights[c.worker, c.label]
    votes = np.bincount(c.item * k + c.label, weights=w_entry, minlength=ann.n_items * k)
    votes = votes.reshape(ann.n_items, k)
    total = votes.sum(axis=1)
    ok = total > 0
    cons = np.full_like(votes, 1.0 / k)
    cons[ok] = votes[ok] / total[ok, None]
    n_groups = c.first.shape[0]
    group_w = np.bincount(c.group, weights=w_entry, minlength=n_groups)
    n_lab = np.bincount(
        c.group_item, weights=(group_w > 0).astype(np.float64), minlength=ann.n_items
    )
    risk = np.where(ok, np.maximum(1.0 - cons.max(axis=1), 0.0), np.nan)
    soft = SoftLabels(
        cons / cons.sum(axis=1, keepdims=True),
        ann.classes,
        ann.item_ids,
        provenance={
            "method": "quality-weighted consensus (Estes et al. 2024)",
            "params": {
                "threshold": threshold,
                "weights": "equal" if quality is None else "given",
                "unknown": unknown,
            },
        },
        support=n_lab,
    )
    return LabelRisk(soft_labels=soft, risk=risk, threshold=threshold)
