"""Base classes shared by every inferrer: scikit-learn style parameters and results."""

from __future__ import annotations

import copy
import inspect
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from softlabels.core.annotations import Annotations, as_annotations
from softlabels.core.errors import InvalidParameterError
from softlabels.core.soft import SoftLabels

__all__ = ["BaseInferrer", "CrowdModel", "clone"]


class BaseInferrer:
    """Stores keyword-only parameters in ``__init__``; validation happens in ``fit``."""

    #: the registry name, e.g. "dawid-skene"
    name: ClassVar[str] = ""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> BaseInferrer:
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise InvalidParameterError(
                    f"{type(self).__name__} has no parameter {key!r}; valid: {valid}."
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        parts = []
        for key, value in self.get_params().items():
            default = sig.parameters[key].default
            if default is inspect.Parameter.empty or not _same(value, default):
                parts.append(f"{key}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return a is b


def clone(estimator: BaseInferrer) -> BaseInferrer:
    """A new unfitted estimator with the same parameters."""
    params = {k: copy.deepcopy(v) for k, v in estimator.get_params().items()}
    return type(estimator)(**params)


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

    def _validate_params(self) -> None:  # overridden where there is something to check
        pass

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
