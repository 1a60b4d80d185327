"""Soft pseudo-labels from a Gaussian mixture seeded by the labelled items (AGMM).

AGMM (Wu et al., "Modeling the Label Distributions for Weakly-Supervised Semantic
Segmentation", TPAMI 2025, arXiv 2403.13225; and "Sparsely Annotated Semantic Segmentation
with Adaptive Gaussian Mixtures", CVPR 2023) models each class's features as a Gaussian
centred on its labelled (or pseudo-labelled) items; the mixture's posterior is then a
confidence-aware soft label for every unlabelled item. The means and the variance adapt to
the unlabelled items by expectation-maximisation with a step size (the paper's online EM).

The mixture here has one isotropic Gaussian per class, ``N(mu_k, s2_k I)``, with equal
weights; the variance is shared by all classes (``covariance="tied"``, the default: with
few labels per-class variances drift) or one per class (``"per-class"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from softlabels.core.errors import InputError
from softlabels.core.validation import (
    check_features,
    check_is_fitted,
    integer,
    none_or,
    option,
    real,
)
from softlabels.infer.base import BaseInferrer
from softlabels.infer.teachers._inputs import make_soft_labels, softmax_rows

__all__ = ["AdaptiveGaussianMixture", "agmm_soft_labels", "COVARIANCES"]

#: the variance models of :class:`AdaptiveGaussianMixture`
COVARIANCES = ("tied", "per-class")
#: the label that marks an unlabelled item
UNLABELLED = -1


def _check_label_values(labels: Any, n: int) -> np.ndarray:
    """One integer per item, ``-1`` for unlabelled."""
    y = np.asarray(labels)
    if y.shape != (n,):
        raise InputError(f"labels must have shape ({n},), one per feature row; got {y.shape}.")
    if y.dtype.kind == "b" or y.dtype.kind not in "iuf":
        raise InputError(
            f"labels must be integer class indices, -1 for unlabelled; got dtype {y.dtype}."
        )
    if y.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
        if bad.size:
            raise InputError(f"labels must be integers; row {bad[0]} is {y[bad[0]].item()!r}.")
    y = y.astype(np.int64)
    neg = np.flatnonzero(y < UNLABELLED)
    if neg.size:
        raise InputError(
            f"labels: row {neg[0]} is {y[neg[0]]}; use -1 (and only -1) for unlabelled items."
        )
    return y


def _check_range(y: np.ndarray, k: int) -> None:
    over = np.flatnonzero(y >= k)
    if over.size:
        raise InputError(
            f"labels: {over.size} values >= n_classes={k} (first at row {over[0]}: {y[over[0]]})."
        )


def _check_seeds(labels: Any, n: int, n_classes: int | None, owner: str) -> tuple[np.ndarray, int]:
    """Integer labels, ``-1`` for unlabelled; every class needs a labelled item."""
    y = _check_label_values(labels, n)
    k = int(y.max()) + 1 if n_classes is None else int(n_classes)
    if k < 2:
        raise InputError(
            f"{owner}: the labels name fewer than 2 classes; label at least one item of each "
            "class (or set n_classes)."
        )
    _check_range(y, k)
    missing = np.flatnonzero(np.bincount(y[y >= 0], minlength=k) == 0)
    if missing.size:
        raise InputError(
            f"{owner}: class {missing[0]} has no labelled item ({missing.size} classes have "
            "none); every Gaussian is seeded by the labelled items of its class."
        )
    return y, k


def _check_allowed(allowed: Any, n: int, k: int, y: np.ndarray | None = None) -> np.ndarray | None:
    if allowed is None:
        return None
    a = np.asarray(allowed)
    if a.shape != (n, k):
        raise InputError(f"allowed must have shape ({n}, {k}) (items, classes); got {a.shape}.")
    if a.dtype.kind != "b":
        if a.dtype.kind not in "iuf" or not np.isin(a, (0, 1)).all():
            raise InputError("allowed must be a boolean mask (or 0/1) of the classes per item.")
        a = a.astype(bool)
    empty = np.flatnonzero(~a.any(axis=1))
    if empty.size:
        raise InputError(f"allowed: row {empty[0]} allows no class; each item needs one.")
    if y is not None:
        lab = np.flatnonzero(y >= 0)
        off = lab[~a[lab, y[lab]]]
        if off.size:
            raise InputError(
                f"allowed: row {off[0]} is labelled {y[off[0]]} but that class is not allowed."
            )
    return a


class AdaptiveGaussianMixture(BaseInferrer):
    """Soft pseudo-labels from a Gaussian mixture seeded by the labelled items (AGMM; Wu et
    al., TPAMI 2025, arXiv 2403.13225; CVPR 2023).

    ``fit(features, labels=labels)`` with ``labels[i] = -1`` for unlabelled items:

    1. seed ``mu_k`` = mean feature of the items labelled ``k``, and the variance from the
       labelled items' spread around their class means (pooled for ``"tied"``; a class
       with a single labelled item takes the pooled value);
    2. E-step: ``r_ik ∝ N(f_i | mu_k, s2_k I)`` over the classes ``allowed`` for item ``i``
       (all by default); labelled items keep their one-hot label;
    3. M-step with step size ``lr``: ``mu_k <- (1 - lr) mu_k + lr S_k / N_k`` and
       ``s2 <- (1 - lr) s2 + lr Q / (D N)``, where ``N_k = sum_i r_ik``,
       ``S_k = sum_i r_ik f_i`` and ``Q_k = sum_i r_ik ||f_i - mu_k||^2``
       (summed over classes for the tied variance);
    4. repeat 2–3 ``n_iter`` times (or until the means move less than ``tol``); the soft
       labels are the final E-step's ``r``.

    ``n_iter=0`` is the prototype-only mixture (the CVPR 2023 code's fixed Gaussians around
    the labelled means). :meth:`partial_fit` is one online-EM step on a mini-batch, as the
    TPAMI paper updates the mixture during training. The paper's losses that train a network
    with these targets are not part of this source; its exact online-EM rule is described
    only in the abstract, so the update above is a reconstruction.

    Parameters
    ----------
    n_iter : int >= 0, default 20
    lr : float in (0, 1], default 0.3
        EM step size (1 is plain EM).
    covariance : {"tied", "per-class"}, default "tied"
    tol : float >= 0, default 1e-6
        Stop when no mean coordinate moves more than this.
    min_variance : float > 0, default 1e-6
        Floor of every variance.
    n_classes : int >= 2, optional
        Default: ``max(labels) + 1``.

    Attributes
    ----------
    means_ : ndarray of shape (n_classes, n_features)
    variances_ : ndarray of shape (n_classes,)
        One isotropic variance per class (all equal when tied).
    n_iter_ : int
    converged_ : bool
    n_classes_, n_features_in_ : int
    soft_labels_ : SoftLabels
        One-hot rows for the labelled items, the mixture's posterior for the others.

    Raises
    ------
    InputError
        A class without a labelled item, labels below ``-1``, or an ``allowed`` mask that
        excludes an item's own label or every class.

    See Also
    --------
    PrototypeBank : cosine similarity to moving-average class prototypes (PS-TTL).

    Examples
    --------
    >>> X = [[0.0], [0.2], [2.0], [1.0]]
    >>> gmm = AdaptiveGaussianMixture(n_iter=0).fit(X, labels=[0, 0, 1, -1])
    >>> gmm.means_.ravel().round(3).tolist(), gmm.variances_.round(3).tolist()
    ([0.1, 2.0], [0.02, 0.02])
    >>> gmm.soft_labels_.probs[3].round(3).tolist()      # exp(-0.81/0.04) vs exp(-1/0.04)
    [0.991, 0.009]
    """

    name = "agmm"
    summary = "posterior of a Gaussian mixture seeded by the labelled items (AGMM)"
    evidence = "features"
    _parameter_constraints = {
        "n_iter": integer(low=0),
        "lr": real(low=0.0, high=1.0, low_open=True),
        "covariance": option(*COVARIANCES),
        "tol": real(low=0.0),
        "min_variance": real(low=0.0, low_open=True),
        "n_classes": none_or(integer(low=2)),
    }

    def __init__(
        self,
        *,
        n_iter: int = 20,
        lr: float = 0.3,
        covariance: str = "tied",
        tol: float = 1e-6,
        min_variance: float = 1e-6,
        n_classes: int | None = None,
    ) -> None:
        self.n_iter = n_iter
        self.lr = lr
        self.covariance = covariance
        self.tol = tol
        self.min_variance = min_variance
        self.n_classes = n_classes

    # -------------------------------------------------------------- the two EM steps
    def _posterior(self, f: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
        d = f.shape[1]
        sq = (
            (f * f).sum(axis=1)[:, None] - 2.0 * f @ self.means_.T
            + (self.means_ * self.means_).sum(axis=1)[None, :]
        )
        log = -0.5 * np.maximum(sq, 0.0) / self.variances_ - 0.5 * d * np.log(self.variances_)
        if allowed is not None:
            log = np.where(allowed, log, -np.inf)
        return softmax_rows(log)

    def _responsibilities(
        self, f: np.ndarray, y: np.ndarray, allowed: np.ndarray | None
    ) -> np.ndarray:
        r = self._posterior(f, allowed)
        lab = np.flatnonzero(y >= 0)
        r[lab] = 0.0
        r[lab, y[lab]] = 1.0
        return r

    def _pooled(self, q: np.ndarray, nk: np.ndarray, d: int) -> np.ndarray:
        """Tied: the pooled ``Q / (D N)`` for every class; per class: ``Q_k / (D N_k)``
        (the pooled value where ``N_k`` is 0)."""
        pooled = q.sum() / (d * max(nk.sum(), 1e-300))
        if self.covariance == "tied":
            return np.full(nk.size, pooled)
        with np.errstate(divide="ignore", invalid="ignore"):
            own = q / (d * nk)
        return np.where(nk > 0, own, pooled)

    def _step(self, f: np.ndarray, r: np.ndarray) -> float:
        """One damped M-step; returns the largest move of a mean coordinate."""
        lr = float(self.lr)
        nk = r.sum(axis=0)
        has = nk > 0
        new = self.means_.copy()
        new[has] = (r.T @ f)[has] / nk[has, None]
        means = (1.0 - lr) * self.means_ + lr * new
        sq = (
            (f * f).sum(axis=1)[:, None] - 2.0 * f @ means.T
            + (means * means).sum(axis=1)[None, :]
        )
        q = (r * np.maximum(sq, 0.0)).sum(axis=0)
        target = self._pooled(q, nk, f.shape[1])
        moved = float(np.abs(means - self.means_).max())
        self.means_ = means
        self.variances_ = np.maximum(
            (1.0 - lr) * self.variances_ + lr * target, float(self.min_variance)
        )
        return moved

    # -------------------------------------------------------------- the public API
    def fit(
        self,
        features: Any,
        /,
        *,
        labels: Any,
        allowed: Any = None,
        classes: Any = None,
        item_ids: Any = None,
    ) -> AdaptiveGaussianMixture:
        """Seed the mixture with the labelled items and run EM over all of them.

        Parameters
        ----------
        features : array-like of shape (n_items, n_features)
        labels : array-like of shape (n_items,)
            Class index ``0 .. n_classes-1``, or ``-1`` for an unlabelled item.
        allowed : array-like of bool, shape (n_items, n_classes), optional
            The classes each item may take (a weak label: image tags, a box); default all.
        classes, item_ids : array-like, optional
            Class names and item ids of ``soft_labels_`` (default ``0 .. C-1`` and
            ``0 .. n-1``).
        """
        self._validate_params()
        owner = type(self).__name__
        f = check_features(features, name="features")
        n, d = f.shape
        y, k = _check_seeds(labels, n, self.n_classes, owner)
        mask = _check_allowed(allowed, n, k, y)
        lab = np.flatnonzero(y >= 0)
        onehot = np.zeros((lab.size, k))
        onehot[np.arange(lab.size), y[lab]] = 1.0
        nk = onehot.sum(axis=0)
        self.means_ = (onehot.T @ f[lab]) / nk[:, None]
        resid = ((f[lab] - self.means_[y[lab]]) ** 2).sum(axis=1)
        q = np.bincount(y[lab], weights=resid, minlength=k)
        if q.sum() > 0:
            dof = np.where(nk > 1, nk - 1, 0.0)  # unbiased within-class spread
            pooled = q.sum() / (d * dof.sum())
            own = np.divide(q, d * dof, out=np.full(k, pooled), where=dof > 0)
            var = np.full(k, pooled) if self.covariance == "tied" else own
        else:  # one labelled item per class: fall back on the features' own spread
            var = np.full(k, f.var(axis=0).mean())
        self.variances_ = np.maximum(var, float(self.min_variance))
        self.n_classes_, self.n_features_in_ = k, d
        self.converged_ = False
        self.n_iter_ = 0
        for _ in range(int(self.n_iter)):
            moved = self._step(f, self._responsibilities(f, y, mask))
            self.n_iter_ += 1
            if moved <= float(self.tol):
                self.converged_ = True
                break
        self.soft_labels_ = make_soft_labels(
            self._responsibilities(f, y, mask), classes=classes, item_ids=item_ids,
            teachers=None, method=self.name, params=self.get_params(),
        )
        return self

    def _check_new(self, features: Any) -> np.ndarray:
        check_is_fitted(self, "means_")
        return check_features(features, fitted=("mixture", self.n_features_in_))

    def partial_fit(
        self, features: Any, labels: Any = None, *, allowed: Any = None
    ) -> AdaptiveGaussianMixture:
        """One online-EM step on a mini-batch (``labels`` as in :meth:`fit`, default all
        unlabelled); the mixture must be seeded by :meth:`fit` first. ``soft_labels_``
        then hold the batch's soft labels under the updated mixture.

        Parameters
        ----------
        features : array-like of shape (n_items, n_features)
            The mini-batch.
        labels : array-like of shape (n_items,), optional
            Class index, or ``-1`` for an unlabelled item.
        allowed : array-like of bool, shape (n_items, n_classes), optional
            The classes each item may take; default all.

        Returns
        -------
        self
        """
        self._validate_params()
        f = self._check_new(features)
        n, k = f.shape[0], self.n_classes_
        if labels is None:
            y = np.full(n, UNLABELLED, dtype=np.int64)
        else:
            y = _check_label_values(labels, n)
            _check_range(y, k)
        mask = _check_allowed(allowed, n, k, y)
        self._step(f, self._responsibilities(f, y, mask))
        self.soft_labels_ = make_soft_labels(
            self._responsibilities(f, y, mask), classes=None, item_ids=None, teachers=None,
            method=self.name, params=self.get_params(),
        )
        return self

    def predict_proba(self, features: Any, *, allowed: Any = None) -> np.ndarray:
        """The mixture's posterior ``(n_items, n_classes)`` for new features.

        Parameters
        ----------
        features : array-like of shape (n_items, n_features)
        allowed : array-like of bool, shape (n_items, n_classes), optional
            The classes each item may take; default all.
        """
        f = self._check_new(features)
        return self._posterior(f, _check_allowed(allowed, f.shape[0], self.n_classes_))


def agmm_soft_labels(
    features: Any,
    labels: Any,
    *,
    allowed: Any = None,
    n_iter: int = 20,
    lr: float = 0.3,
    covariance: str = "tied",
    classes: Any = None,
    item_ids: Any = None,
) -> Any:
    """Soft labels of :class:`AdaptiveGaussianMixture` in one call (AGMM, Wu et al.,
    TPAMI 2025): ``labels`` hold class indices, ``-1`` for unlabelled items.

    Parameters
    ----------
    features, labels, allowed
        As for :meth:`AdaptiveGaussianMixture.fit`.
    n_iter : int >= 0, default=20
        EM iterations.
    lr : float in (0, 1], default=0.3
        EM step size (1 is plain EM).
    covariance : {"tied", "per-class"}, default="tied"
    classes, item_ids : array-like, optional
        Class names and item ids of the result (default ``0 .. C-1`` and ``0 .. n-1``).

    Returns
    -------
    SoftLabels
        The fitted model's ``soft_labels_``.

    Examples
    --------
    >>> agmm_soft_labels([[0.0], [0.2], [2.0], [1.0]], [0, 0, 1, -1], n_iter=0).hard().tolist()
    [0, 0, 1, 0]
    """
    model = AdaptiveGaussianMixture(n_iter=n_iter, lr=lr, covariance=covariance)
    return model.fit(
        features, labels=labels, allowed=allowed, classes=classes, item_ids=item_ids
    ).soft_labels_
