"""Base classes shared by every inferrer: scikit-learn style parameters and results."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from softlabels.core.annotations import Annotations, as_annotations
from softlabels.core.base import BaseEstimator, clone
from softlabels.core.errors import InvalidParameterError
from softlabels.core.soft import SoftLabels
from softlabels.infer.memory import check_model_memory

__all__ = ["BaseInferrer", "CrowdModel", "clone"]


class BaseInferrer(BaseEstimator):
    """An estimator that infers soft labels: ``fit`` returns self and sets
    ``soft_labels_``."""

    #: the registry name, e.g. "dawid-skene"
    name: ClassVar[str] = ""


class CrowdModel(BaseInferrer):
    """An aggregation model for crowd answers.

    Subclasses implement ``_fit(ann, gold)`` which returns the posterior matrix
    ``(n_items, n_classes)`` and sets the model's own fitted attributes, among them
    ``skills_`` (one number per worker, higher is better; for most models the
    probability that the worker answers correctly).

    Attributes set by :meth:`fit`
    -----------------------------
    soft_labels_ : SoftLabels
    labels_ : ndarray of shape (n_items,)
        The most probable class of each item.
    skills_ : ndarray of shape (n_workers,)
    n_iter_ : int
        Iterations run (0 for closed-form models).
    converged_ : bool
    annotations_ : Annotations
        The factorised answers the model was fitted on.
    """

    #: the largest number of classes the model supports (None: any)
    max_classes: ClassVar[int | None] = None
    #: called as ``callback(iteration, objective)`` by iterative models (progress bars)
    _callback: Any = None

    def fit(self, answers: Any, gold: Any = None) -> CrowdModel:
        """Fit on answers: an :class:`Annotations`, a DataFrame with ``item, worker,
        label`` columns, or a file path.

        ``gold`` maps some item ids to known labels (a mapping, Series, or DataFrame with
        ``item, label``). Gold items always get their known label as a one-hot soft
        label; the iterative models (Dawid–Skene, one-coin, GLAD, MACE, zero-based
        skill, KOS) and Wawa also keep them fixed while they estimate the workers, so
        the gold answers calibrate every worker who labelled those items."""
        self._validate_params()
        ann = as_annotations(answers)
        return self._fit_codes(ann, ann.gold_codes(gold))

    def _fit_codes(self, ann: Annotations, gold_codes: np.ndarray) -> CrowdModel:
        """:meth:`fit` on factorised answers and gold codes (-1 where unknown)."""
        self.n_iter_ = 0
        self.converged_ = True
        if self.max_classes is not None and ann.n_classes > self.max_classes:
            raise InvalidParameterError(
                f"{type(self).__name__} supports at most {self.max_classes} classes; the "
                f"answers have {ann.n_classes} ({ann.classes.tolist()[:10]})."
            )
        check_model_memory(self, ann.n_workers, ann.n_classes, ann.n_items)
        post = self._fit(ann, gold_codes)
        post = pin_gold(post, gold_codes)
        self.annotations_ = ann
        self.soft_labels_ = SoftLabels(
            post,
            ann.classes,
            ann.item_ids,
            provenance={"method": self.name, "params": self.get_params()},
            support=ann.answers_per_item,
        )
        self.labels_ = self.soft_labels_.hard()
        return self

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def workers_frame(self) -> pd.DataFrame:
        """One row per worker: ``worker, n_answers, skill`` and model-specific columns."""
        ann = self.annotations_
        frame = pd.DataFrame(
            {
                "worker": ann.worker_ids,
                "n_answers": ann.answers_per_worker.astype(np.int64),
                "skill": self.skills_,
            }
        )
        for column, values in self._extra_worker_columns().items():
            frame[column] = values
        return frame

    def _extra_worker_columns(self) -> dict[str, np.ndarray]:
        return {}


def pin_gold(post: np.ndarray, gold: np.ndarray, *, copy: bool = True) -> np.ndarray:
    """Set the rows of items with a known label to that label's one-hot vector
    (in place with ``copy=False``, for arrays the caller owns)."""
    known = np.flatnonzero(gold >= 0)
    if known.size:
        if copy:
            post = post.copy()
        post[known] = 0.0
        post[known, gold[known]] = 1.0
    return post
