"""Train any scikit-learn classifier that takes ``sample_weight`` on soft labels.

Each item becomes one row per class whose probability is above ``prune_threshold``, with the
probability as its sample weight (times the item's own weight). Minimising the weighted
log-loss of the expanded data is then the same as minimising the soft cross-entropy
``-sum_i sum_k w_i q_ik log p_k(x_i)`` of the original items (up to the pruned mass).

scikit-learn is imported only when a method needs it; this module itself only needs numpy.

>>> import numpy as np
>>> from sklearn.linear_model import LogisticRegression
>>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
>>> soft = np.array([[0.9, 0.1], [0.7, 0.3], [0.3, 0.7], [0.1, 0.9]])
>>> clf = SoftLabelClassifier(LogisticRegression()).fit(X, soft)
>>> clf.predict_proba(X).shape, clf.classes_.tolist(), clf.n_expanded_
((4, 2), [0, 1], 8)
"""

from __future__ import annotations

import copy
import functools
import inspect
import types
from typing import Any, NamedTuple

import numpy as np

from softlabels.core.validation import check_float, check_probs
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import SoftLabels

__all__ = ["Expansion", "SoftLabelClassifier", "expand_soft_labels"]


class Expansion(NamedTuple):
    """Result of :func:`expand_soft_labels`: row ``j`` of the expanded data is item
    ``rows[j]`` with class code ``labels[j]`` and sample weight ``weights[j]``.

    Attributes
    ----------
    rows : numpy.ndarray of int
        Item of each expanded row.
    labels : numpy.ndarray of int
        Class code of each expanded row.
    weights : numpy.ndarray
        Sample weight of each expanded row.
    """

    rows: np.ndarray
    labels: np.ndarray
    weights: np.ndarray


def expand_soft_labels(probs: Any, *, prune_threshold: float = 0.01,
                       sample_weight: Any = None) -> Expansion:
    """One row per (item, class) with ``probs[i, k] > prune_threshold``, weighted by
    ``probs[i, k] * sample_weight[i]``; every item keeps at least its most probable class.

    Rows are ordered by item, then by class. Weights are the probabilities themselves (not
    renormalised after pruning), so with one-hot labels the expansion is the hard-label
    data with unit weights.

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes) or SoftLabels
    prune_threshold : float in [0, 1), default 0.01
    sample_weight : array-like of shape (n_items,), optional
        Non-negative per-item weights.

    Returns
    -------
    Expansion

    Examples
    --------
    >>> e = expand_soft_labels([[0.6, 0.4, 0.0], [0.005, 0.005, 0.99]])
    >>> e.rows.tolist(), e.labels.tolist(), e.weights.tolist()
    ([0, 0, 1], [0, 1, 2], [0.6, 0.4, 0.99])
    """
    p = probs.probs if isinstance(probs, SoftLabels) else check_probs(probs, name="soft_labels")
    t = check_float(prune_threshold, "prune_threshold", "expand_soft_labels", low=0.0, high=1.0)
    if t >= 1.0:
        raise InvalidParameterError(
            f"The 'prune_threshold' parameter of expand_soft_labels must be < 1; got {t}."
        )
    keep = p > t
    keep[np.arange(p.shape[0]), p.argmax(axis=1)] = True
    rows, labels = np.nonzero(keep)
    weights = p[rows, labels]
    if sample_weight is not None:
        sw = np.asarray(sample_weight, dtype=np.float64)
        if sw.shape != (p.shape[0],):
            raise InputError(f"sample_weight must have shape ({p.shape[0]},); got {sw.shape}.")
        if not np.isfinite(sw).all() or (sw < 0).any():
            bad = int(np.flatnonzero(~np.isfinite(sw) | (sw < 0))[0])
            raise InputError(
                f"sample_weight must be finite and non-negative; sample_weight[{bad}] = {sw[bad]}."
            )
        weights = weights * sw[rows]
    return Expansion(rows, labels, weights)


def _take_rows(X: Any, rows: np.ndarray) -> Any:
    if hasattr(X, "iloc"):
        return X.iloc[rows]
    if hasattr(X, "tocsr"):  # scipy sparse
        return X.tocsr()[rows]
    return np.asarray(X)[rows]


def _n_rows(X: Any) -> int:
    shape = getattr(X, "shape", None)
    if shape is None:
        try:
            return len(X)
        except TypeError:
            shape = np.asarray(X).shape
    if len(shape) < 1:
        raise InputError(f"X must be an array-like of samples; got {type(X).__name__}.")
    return int(shape[0])


class _IfInnerHas:
    """A method that exists only if the inner estimator (``estimator_`` once fitted,
    ``estimator`` before) has the attribute ``name``: scikit-learn's ``available_if``,
    without importing scikit-learn. ``hasattr(clf, method)`` then tells whether it works."""

    def __init__(self, name: str, method: Any) -> None:
        self.name, self.method = name, method
        functools.update_wrapper(self, method)  # type: ignore[arg-type]

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        inner = obj.estimator_ if hasattr(obj, "estimator_") else obj.estimator
        if not hasattr(inner, self.name):
            raise AttributeError(f"{type(inner).__name__} has no {self.name}; use predict.")
        return types.MethodType(self.method, obj)


def _if_inner_has(name: str) -> Any:
    return lambda method: _IfInnerHas(name, method)


class SoftLabelClassifier:
    """Fit any classifier that accepts ``sample_weight`` on soft labels.

    ``fit(X, soft_labels)`` expands every item into one row per class whose probability is
    above ``prune_threshold`` (:func:`expand_soft_labels`), weighted by that probability
    (times ``sample_weight``), and fits a clone of ``estimator`` on the expansion. A
    weighted log-loss learner (logistic regression, gradient boosting with log-loss, an MLP
    with weights) thus minimises the soft cross-entropy to the labels.

    Parameters
    ----------
    estimator : scikit-learn classifier
        Its ``fit`` must accept ``sample_weight``; for a ``Pipeline`` the weights go to the
        last step.
    prune_threshold : float in [0, 1), default 0.01
        Drop (item, class) pairs at or below this probability (the most probable class of
        an item is always kept). 0 keeps every non-zero probability.

    Attributes
    ----------
    estimator_ : the fitted clone
    classes_ : ndarray of shape (n_classes,)
        The soft labels' classes (a SoftLabels' ``classes``, ``0 .. K-1`` for a probability
        matrix, or the sorted unique values of 1-D hard labels).
    n_features_in_ : int
    n_expanded_ : int
        Rows of the expanded training data.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from softlabels import SoftLabels
    >>> soft = SoftLabels([[0.8, 0.2, 0.0], [0.1, 0.9, 0.0]], classes=["a", "b", "c"])
    >>> clf = SoftLabelClassifier(DecisionTreeClassifier(random_state=0))
    >>> clf.fit([[0.0], [1.0]], soft).predict([[0.0], [1.0]]).tolist()
    ['a', 'b']
    >>> clf.predict_proba([[0.0]]).round(2).tolist()    # class 'c' never survives: column of 0
    [[0.8, 0.2, 0.0]]
    """

    _estimator_type = "classifier"  # scikit-learn < 1.6
    _required_parameters = ["estimator"]  # scikit-learn < 1.6 checks

    def __init__(self, estimator: Any, *, prune_threshold: float = 0.01) -> None:
        self.estimator = estimator
        self.prune_threshold = prune_threshold

    # ------------------------------------------------------------------ scikit-learn protocol
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this estimator; with ``deep``, the inner estimator's too, as
        ``estimator__<name>``.

        Parameters
        ----------
        deep : bool, default=True

        Returns
        -------
        dict
        """
        out: dict[str, Any] = {}
        for name in self._param_names():
            value = getattr(self, name)
            out[name] = value
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params(deep=True).items())
        return out

    def set_params(self, **params: Any) -> SoftLabelClassifier:
        """Set parameters, including nested ``estimator__<name>`` ones; returns self.

        Parameters
        ----------
        **params
            By name; an unknown name raises ``ValueError`` listing the valid ones.

        Returns
        -------
        self
        """
        valid = self._param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for SoftLabelClassifier. Valid parameters "
                    f"are: {valid}."
                )
            if sep:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, Tags, TargetTags, get_tags

        try:
            inner = get_tags(self.estimator)
            input_tags = copy.deepcopy(inner.input_tags)
            non_det = inner.non_deterministic
        except Exception:  # an estimator without tags: scikit-learn's defaults
            from sklearn.utils import InputTags

            input_tags, non_det = InputTags(), False
        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(), input_tags=input_tags,
                    non_deterministic=non_det)

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {"requires_y": True}

    # ------------------------------------------------------------------ fit / predict
    def _soft_targets(self, y: Any) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(y, SoftLabels):
            return y.probs, np.asarray(y.classes)
        if y is None:
            raise ValueError(
                "SoftLabelClassifier requires y to be passed, but the target y is None: give "
                "soft labels (SoftLabels or a probability matrix) or hard labels."
            )
        arr = np.asarray(y)
        if arr.ndim == 2 and arr.shape[1] == 1:
            import warnings

            from sklearn.exceptions import DataConversionWarning

            warnings.warn("A column-vector y was passed when a 1d array was expected; it is "
                          "read as hard labels (soft labels are an (n_items, n_classes) "
                          "matrix).", DataConversionWarning, stacklevel=3)
            arr = arr.ravel()
        if arr.ndim == 2:
            p = check_probs(arr, name="soft_labels")
            return p, np.arange(p.shape[1])
        if arr.ndim == 1:
            from sklearn.utils.multiclass import check_classification_targets

            check_classification_targets(arr)
            classes, codes = np.unique(arr, return_inverse=True)
            p = np.zeros((arr.shape[0], classes.shape[0]))
            p[np.arange(arr.shape[0]), codes] = 1.0
            return p, classes
        raise InputError(
            "soft_labels must be a SoftLabels, an (n_items, n_classes) probability matrix or "
            f"1-D hard labels; got shape {arr.shape}."
        )

    def _weight_key(self) -> str:
        from sklearn.pipeline import Pipeline
        from sklearn.utils.validation import has_fit_parameter

        est = self.estimator
        if isinstance(est, Pipeline):
            name, last = est.steps[-1]
            if last is not None and last != "passthrough" and \
                    has_fit_parameter(last, "sample_weight"):
                return f"{name}__sample_weight"
            est = last
        elif has_fit_parameter(est, "sample_weight"):
            return "sample_weight"
        raise TypeError(
            f"SoftLabelClassifier needs an estimator whose fit accepts sample_weight; "
            f"{type(est).__name__}.fit does not. Use e.g. LogisticRegression, "
            "HistGradientBoostingClassifier, RandomForestClassifier or SGDClassifier."
        )

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> SoftLabelClassifier:
        """Fit a clone of ``estimator`` on the expanded soft labels.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_items, n_features), or a DataFrame
        y : SoftLabels, array of shape (n_items, n_classes), or 1-D hard labels
        sample_weight : array-like of shape (n_items,), optional

        Returns
        -------
        self
        """
        from sklearn.base import clone

        t = check_float(self.prune_threshold, "prune_threshold", "SoftLabelClassifier",
                        low=0.0, high=1.0)
        if t >= 1.0:
            raise InvalidParameterError(
                f"The 'prune_threshold' parameter of SoftLabelClassifier must be < 1; got {t}."
            )
        key = self._weight_key()
        probs, classes = self._soft_targets(y)
        n = _n_rows(X)
        if probs.shape[0] != n:
            raise InputError(
                f"X has {n} rows but the soft labels have {probs.shape[0]}; they must match."
            )
        exp = expand_soft_labels(probs, prune_threshold=t, sample_weight=sample_weight)
        est = clone(self.estimator)
        est.fit(_take_rows(X, exp.rows), exp.labels, **{key: exp.weights})
        self.estimator_ = est
        self.classes_ = classes
        self.n_expanded_ = int(exp.rows.shape[0])
        nfi = getattr(est, "n_features_in_", None)
        if nfi is None and len(getattr(X, "shape", ())) == 2:
            nfi = X.shape[1]
        if nfi is not None:
            self.n_features_in_ = int(nfi)
        if hasattr(est, "feature_names_in_"):
            self.feature_names_in_ = est.feature_names_in_
        return self

    def _check_fitted(self) -> None:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "estimator_")

    @_if_inner_has("predict_proba")
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of shape ``(n_samples, n_classes)``, columns in ``classes_``
        order; classes the inner estimator never saw get a column of zeros. Only present
        if the inner estimator has ``predict_proba``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features), or a DataFrame
        """
        self._check_fitted()
        inner = np.asarray(self.estimator_.predict_proba(X), dtype=np.float64)
        out = np.zeros((inner.shape[0], self.classes_.shape[0]))
        out[:, np.asarray(self.estimator_.classes_, dtype=np.int64)] = inner
        return out

    @_if_inner_has("predict_proba")
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """``log(predict_proba(X))`` (``-inf`` for classes never seen in training). Only
        present if the inner estimator has ``predict_proba``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features), or a DataFrame
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample, as a value of ``classes_``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features), or a DataFrame
        """
        self._check_fitted()
        if hasattr(self.estimator_, "predict_proba"):
            return self.classes_[self.predict_proba(X).argmax(axis=1)]
        return self.classes_[np.asarray(self.estimator_.predict(X), dtype=np.int64)]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy against hard labels (the argmax of soft labels).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features), or a DataFrame
        y : SoftLabels, array of shape (n_samples, n_classes), or 1-D hard labels
            Hard labels are values of ``classes_``.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        if isinstance(y, SoftLabels):
            truth = y.hard()
        else:
            arr = np.asarray(y)
            truth = self.classes_[arr.argmax(axis=1)] if arr.ndim == 2 and arr.shape[1] > 1 \
                else arr.ravel()
        hit = (self.predict(X) == truth).astype(np.float64)
        if sample_weight is None:
            return float(hit.mean())
        w = np.asarray(sample_weight, dtype=np.float64)
        return float((hit * w).sum() / w.sum())
