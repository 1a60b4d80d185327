"""Base classes shared by every inferrer: scikit-learn style parameters and results."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from softlabels.core.annotations import Annotations, as_annotations
from softlabels.core.base import BaseEstimator, clone
from softlabels.core.errors import InvalidParameterError
from softlabels.core.soft import SoftLabels
from softlabels.core.validation import Constraint
from softlabels.infer.memory import check_model_memory

__all__ = ["BaseInferrer", "CrowdModel", "chance_or", "clone", "pin_gold", "warn_renamed"]


class BaseInferrer(BaseEstimator):
    """An estimator that infers soft labels: ``fit(evidence, /, **extras)`` returns
    self and sets ``soft_labels_`` (a :class:`SoftLabels` whose provenance holds
    ``{"method": name, "params": get_params()}``).

    A subclass that sets ``name`` (kebab-case) and ``evidence`` (the kind of input it
    fits on, one of :data:`softlabels.infer.registry.EVIDENCE`) is registered in
    :data:`softlabels.infer.registry.SOURCES` when it is defined; its ``summary`` is
    the class attribute, or else the first line of its docstring.
    """

    #: the registry name, e.g. "dawid-skene" (empty: not registered)
    name: ClassVar[str] = ""
    #: the kind of evidence ``fit`` takes, e.g. "answers" or "label-matrix"
    evidence: ClassVar[str] = ""
    #: one line for listings (default: the first line of the docstring)
    summary: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name") and cls.evidence:
            from softlabels.infer.registry import register_source

            register_source(cls, summary=cls.__dict__.get("summary") or _first_line(cls))

    def _provenance(self) -> dict[str, Any]:
        """What ``soft_labels_.provenance`` records: the method's name and parameters."""
        return {"method": self.name, "params": self.get_params()}

    def _own(self, soft: SoftLabels) -> SoftLabels:
        """``soft`` (made by the function an estimator wraps) with this estimator's
        provenance."""
        return SoftLabels(
            soft.probs, soft.classes, soft.item_ids,
            provenance=self._provenance(), support=soft.support,
        )


def _first_line(cls: type) -> str:
    doc = (cls.__doc__ or "").strip()
    line = doc.split("\n\n", 1)[0]
    return " ".join(line.split())


class CrowdModel(BaseInferrer):
    """An aggregation model for crowd answers.

    Subclasses implement ``_fit(ann, gold)`` which returns the posterior matrix
    ``(n_items, n_classes)`` and sets the model's own fitted attributes, among them
    ``skills_`` (one number per worker, higher is better; for most models the
    probability that the worker answers correctly).

    Attributes
    ----------
    soft_labels_ : SoftLabels
        Set by :meth:`fit`, as are the attributes below.
    labels_ : ndarray of shape (n_items,)
        The most probable class of each item; on an exact tie the first of the tied
        classes in class order (:meth:`SoftLabels.hard`), so renaming the classes can
        change it where ``soft_labels_`` only moves its columns.
    skills_ : ndarray of shape (n_workers,)
        A worker listed in the annotations without any answer changes no soft label;
        its skill is 0 for the models whose skill counts agreements (majority vote,
        soft vote, Wawa, zero-based skill, KOS), the value the model's prior or
        pooling gives a worker it knows nothing about for the others (the members'
        mean for the soft average).
    n_iter_ : int
        Iterations run (0 for closed-form models).
    converged_ : bool
    annotations_ : Annotations
        The factorised answers the model was fitted on.
    """

    evidence = "answers"
    #: the largest number of classes the model supports (None: any)
    max_classes: ClassVar[int | None] = None
    #: set by :meth:`fit` for the duration of the fit (see its ``callback``)
    _callback: Any = None

    def fit(self, answers: Any, /, *, gold: Any = None, callback: Any = None) -> CrowdModel:
        """Fit on answers: an :class:`Annotations`, a DataFrame with ``item, worker,
        label`` columns, or a file path.

        ``gold`` maps some item ids to known labels (a mapping, Series, or DataFrame with
        ``item, label``). Gold items always get their known label as a one-hot soft
        label; the iterative models (Dawid–Skene, one-coin, GLAD, MACE, zero-based
        skill, KOS, IBCC, EBCC) and Wawa also keep them fixed while they estimate the
        workers, so the gold answers calibrate every worker who labelled those items
        (the soft average and stacking pass gold to their members; majority vote, soft
        vote and MMSR only pin the gold items).

        ``callback``, when given, is called as ``callback(iteration, objective)`` after
        every iteration of the iterative models (e.g. to show progress); closed-form
        models never call it.

        Parameters
        ----------
        answers : Annotations, DataFrame, str or path
            The answers, one row per answer (a DataFrame or file is read with the
            default columns ``item``, ``worker``, ``label``; read others with
            :func:`~softlabels.read_answers` first).
        gold : mapping, Series or DataFrame, optional
            Known labels by item id; a label that is not a class of the answers raises
            :class:`~softlabels.InputError`.
        callback : callable, optional
            ``callback(iteration, objective)``; anything else that is not callable
            raises :class:`~softlabels.InvalidParameterError`.

        Returns
        -------
        self
            Fitted: ``soft_labels_``, ``n_iter_``, ``converged_``, ``annotations_`` and
            the model's own attributes are set.
        """
        self._validate_params()
        if callback is not None and not callable(callback):
            raise InvalidParameterError(
                f"callback of {type(self).__name__}.fit must be callable; got {callback!r}."
            )
        ann = as_annotations(answers)
        self._callback = callback
        try:
            return self._fit_codes(ann, ann.gold_codes(gold))
        finally:
            self._callback = None

    def _fit_codes(self, ann: Annotations, gold_codes: np.ndarray) -> CrowdModel:
        """:meth:`fit` on factorised answers and gold codes (-1 where unknown)."""
        if self.max_classes is not None and ann.n_classes > self.max_classes:
            raise InvalidParameterError(
                f"{type(self).__name__} supports at most {self.max_classes} classes; the "
                f"answers have {ann.n_classes} ({ann.classes.tolist()[:10]})."
            )
        check_model_memory(self, ann.n_workers, ann.n_classes, ann.n_items)
        # set only once the fit is accepted: a refused fit leaves the model as it was
        self.n_iter_ = 0
        self.converged_ = True
        post = self._fit(ann, gold_codes)
        post = pin_gold(post, gold_codes)
        self.annotations_ = ann
        self.soft_labels_ = SoftLabels(
            post,
            ann.classes,
            ann.item_ids,
            provenance=self._provenance(),
            support=ann.answers_per_item,
        )
        self.labels_ = self.soft_labels_.hard()
        return self

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def reliability_frame(self) -> pd.DataFrame:
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

    def workers_frame(self) -> pd.DataFrame:
        """Deprecated alias of :meth:`reliability_frame`."""
        warn_renamed(type(self).__name__, "workers_frame", "reliability_frame")
        return self.reliability_frame()

    def _extra_worker_columns(self) -> dict[str, np.ndarray]:
        return {}


def chance_or(constraint: Constraint) -> Constraint:
    """A parameter constraint: the string ``"chance"`` (a floor of ``1 / n_classes``,
    resolved at fit), or a value that passes ``constraint``.

    Parameters
    ----------
    constraint : Constraint
        The check of every value other than ``"chance"``.

    Returns
    -------
    Constraint
        A check that lets ``"chance"`` through unchanged.
    """

    def check(value: Any, name: str, owner: str) -> Any:
        if isinstance(value, str) and value == "chance":
            return value
        return constraint(value, name, owner)

    return check


def warn_renamed(owner: str, old: str, new: str) -> None:
    """The FutureWarning of a renamed method (``old`` still works, for now).

    Parameters
    ----------
    owner : str
        Name of the class that has the method.
    old : str
        The old method name.
    new : str
        The new method name.

    Warns
    -----
    FutureWarning
        Always, pointing at the caller of the renamed method.
    """
    warnings.warn(
        f"{owner}.{old}() is renamed {new}(); the old name will be removed.",
        FutureWarning,
        stacklevel=3,
    )


def pin_gold(post: np.ndarray, gold: np.ndarray, *, copy: bool = True,
             known: np.ndarray | None = None) -> np.ndarray:
    """Set the rows of items with a known label to that label's one-hot vector
    (in place with ``copy=False``, for arrays the caller owns); ``known``: the
    positions of ``gold >= 0``, when the caller has them.

    Parameters
    ----------
    post : ndarray of shape (n_items, n_classes)
        The posteriors.
    gold : ndarray of int, shape (n_items,)
        Class codes, -1 where unknown.
    copy : bool, default=True
        Work on a copy of ``post``.
    known : ndarray of int, optional
        ``np.flatnonzero(gold >= 0)``, when already computed.

    Returns
    -------
    ndarray of shape (n_items, n_classes)
    """
    if known is None:
        known = np.flatnonzero(gold >= 0)
    if known.size:
        if copy:
            post = post.copy()
        post[known] = 0.0
        post[known, gold[known]] = 1.0
    return post
