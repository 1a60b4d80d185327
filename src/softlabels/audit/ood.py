"""Out-of-distribution scores and label sharpness.

Every score in this module ranks the same way: **higher means more likely out of
distribution** (further from the training classes, or less confident). They can be
compared with a threshold or fed to an AUROC without flipping signs.

* :class:`MahalanobisOOD`: squared Mahalanobis distance to the closest class mean under
  one shared covariance (Lee et al., NeurIPS 2018), from any feature vectors.
* :func:`max_softmax_score`: one minus the largest predicted probability (Hendrycks &
  Gimpel, ICLR 2017).
* :func:`energy_score`: the free energy ``-T logsumexp(logits / T)`` (Liu et al.,
  NeurIPS 2020).
* :func:`label_sharpness`: ``K_F``, the largest "label change per unit of feature
  distance" over pairs of items (Konz & Mazurowski, ICLR 2024), a data-set property
  that label noise drives up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from softlabels.core.validation import (
    check_features,
    check_float,
    check_int,
    check_is_fitted,
    check_labels,
    check_option,
    check_pred_probs,
    check_random_state,
)
from softlabels.core.base import BaseEstimator
from softlabels.core.errors import InputError

__all__ = [
    "MahalanobisOOD",
    "max_softmax_score",
    "energy_score",
    "label_sharpness",
    "LabelSharpness",
]

#: Size in bytes of the temporary arrays when rows are processed in blocks.
_BLOCK_BYTES = 32 * 2**20

#: Pairs whose squared distance from the Gram expansion is below this fraction of
#: ``|x_i|^2 + |x_j|^2`` are recomputed from the differences (cancellation guard).
_NEAR = 1e-5


def _class_codes(
    labels: Any, n_items: int, *, name: str = "labels"
) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct labels and each item's index into them."""
    try:
        arr = np.asarray(labels)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name}: {err}") from None
    if arr.dtype.kind in "fcO":
        import pandas as pd

        missing = pd.isna(arr) | (arr == np.inf) | (arr == -np.inf)
        if missing.any():
            r = int(np.argwhere(missing)[0][0])
            raise InputError(
                f"{name}: {int(missing.sum())} labels are missing or infinite (first at row {r})."
            )
    try:
        classes, codes = np.unique(arr, return_inverse=True)
    except TypeError:
        raise InputError(
            f"{name} mixes values that cannot be compared (e.g. numbers and strings)."
        ) from None
    codes = check_labels(codes.reshape(arr.shape), classes.size, name=name, n_items=n_items)
    return classes, codes


def _ledoit_wolf(resid: np.ndarray, cov: np.ndarray, mu: float) -> float:
    """Ledoit & Wolf (2004) shrinkage intensity toward ``mu * I`` for centred rows.

    ``delta = |S - mu I|_F^2 / d`` and ``beta = (mean_k |x_k|^4 - |S|_F^2) / (n d)`` (the
    estimated squared error of ``S``, since ``|x_k x_k^T|_F = |x_k|^2``); the intensity is
    ``min(beta, delta) / delta``.
    """
    n, d = resid.shape
    sq_norms = np.einsum("ij,ij->i", resid, resid)
    cov_fro2 = float(np.sum(cov * cov))
    delta = (cov_fro2 - d * mu * mu) / d
    if delta <= 0.0:
        return 0.0
    beta = max((float(sq_norms @ sq_norms) / n - cov_fro2) / (d * n), 0.0)
    return min(beta, delta) / delta


def _shrinkage(value: Any, name: str, owner: str) -> float | str:
    """``"ledoit-wolf"`` or a number in [0, 1]."""
    if isinstance(value, str):
        return check_option(value, name, owner, ["ledoit-wolf"])
    return check_float(value, name, owner, low=0.0, high=1.0)


class MahalanobisOOD(BaseEstimator):
    """Out-of-distribution score from class-conditional Gaussians with one shared
    covariance (Lee, Lee, Lee & Shin, NeurIPS 2018).

    ``fit`` estimates one mean per class and the pooled within-class covariance of the
    features (``S = (1/n) sum_i (x_i - mu_{y_i})(x_i - mu_{y_i})^T``, the maximum-likelihood
    estimate of the paper), shrunk toward a scaled identity. The score of a point is its
    squared Mahalanobis distance to the closest class mean,

    ``score(x) = min_c (x - mu_c)^T P (x - mu_c)``,  ``P`` the precision matrix,

    so **higher means more likely out of distribution** (the paper's confidence is the
    negative of this). The paper's input preprocessing (it needs input gradients) and its
    ensemble over layers are not part of this class: fit one detector per layer and
    combine the standardised scores if needed.

    Parameters
    ----------
    shrinkage : "ledoit-wolf" or float in [0, 1], default="ledoit-wolf"
        The covariance used is ``(1 - a) S + a (tr(S)/d) I``. ``"ledoit-wolf"`` picks
        ``a`` from the data (Ledoit & Wolf, 2004); a number fixes it. ``0`` is the
        paper's plain estimate: its inverse is then a pseudo-inverse when ``S`` is
        singular (as in the paper's code), which ignores every direction without
        within-class variance. The default is Ledoit-Wolf because the intensity goes to
        0 when items far outnumber features (the result then matches the paper's) and
        keeps the covariance invertible and well conditioned when features approach or
        exceed the number of items (wide network layers, few samples per class).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The distinct labels seen in ``fit``, sorted.
    means_ : ndarray of shape (n_classes, n_features)
    covariance_ : ndarray of shape (n_features, n_features)
        The shrunk shared covariance.
    precision_ : ndarray of shape (n_features, n_features)
        Its inverse (a pseudo-inverse if singular), from an eigendecomposition.
    shrinkage_ : float
        The intensity ``a`` used.
    n_features_in_ : int

    References
    ----------
    K. Lee, K. Lee, H. Lee, J. Shin. A Simple Unified Framework for Detecting
    Out-of-Distribution Samples and Adversarial Attacks. NeurIPS 2018.
    O. Ledoit, M. Wolf. A well-conditioned estimator for large-dimensional covariance
    matrices. J. Multivariate Analysis 88(2), 2004.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[-1.0, 0.0], [1.0, 0.0], [10.0, -1.0], [10.0, 1.0]])
    >>> ood = MahalanobisOOD().fit(x, [0, 0, 1, 1])
    >>> ood.score(np.array([[0.0, 1.0], [5.0, 0.0]]))
    array([ 2., 50.])
    >>> ood.predict(np.array([[9.0, 0.0]]))
    array([1])
    """

    _parameter_constraints = {"shrinkage": _shrinkage}

    def __init__(self, *, shrinkage: float | str = "ledoit-wolf") -> None:
        self.shrinkage = shrinkage

    def fit(self, features: Any, labels: Any) -> MahalanobisOOD:
        """Estimate the class means and the shared covariance.

        Parameters
        ----------
        features : array-like of shape (n_items, n_features)
            In-distribution training features (e.g. a network layer, averaged over
            spatial positions).
        labels : array-like of shape (n_items,)
            The class of each item: any values that can be sorted (ints, strings).

        Returns
        -------
        self
        """
        self._validate_params()
        shrinkage = self.shrinkage if isinstance(self.shrinkage, str) else float(self.shrinkage)
        x = check_features(features, name="features")
        classes, codes = _class_codes(labels, x.shape[0])
        n, d = x.shape
        counts = np.bincount(codes, minlength=classes.size).astype(np.float64)
        from scipy import sparse

        member = sparse.csr_matrix(
            (np.ones(n), (codes, np.arange(n))), shape=(classes.size, n)
        )
        means = np.asarray(member @ x) / counts[:, None]
        resid = x - means[codes]
        cov = resid.T @ resid / n
        cov = (cov + cov.T) / 2.0
        mu = float(np.trace(cov)) / d
        if not mu > 0.0:
            raise InputError(
                "features: every item equals its class mean, so the within-class "
                "covariance is zero and no distance can be measured."
            )
        a = _ledoit_wolf(resid, cov, mu) if shrinkage == "ledoit-wolf" else float(shrinkage)
        cov_s = (1.0 - a) * cov
        cov_s[np.diag_indices(d)] += a * mu
        w, v = np.linalg.eigh(cov_s)
        keep = w > w[-1] * d * np.finfo(np.float64).eps
        vk, wk = v[:, keep], w[keep]
        self.classes_ = classes
        self.means_ = means
        self.covariance_ = cov_s
        self.precision_ = (vk / wk) @ vk.T
        self.shrinkage_ = a
        self.n_features_in_ = d
        # Distances are computed in whitened coordinates around the training mean, as
        # |z - m|^2 = |z|^2 - 2 z.m + |m|^2; pairs where that cancels are recomputed.
        self._center = x.mean(axis=0)
        self._whiten = vk / np.sqrt(wk)
        self._means_w = (means - self._center) @ self._whiten
        return self

    def _blocks(self, features: Any) -> Any:
        """Yield ``(start, squared distances to every class)`` for blocks of rows."""
        check_is_fitted(self, "precision_")
        x = check_features(features, fitted=("detector", self.n_features_in_))
        m = self._means_w
        m2 = np.einsum("ij,ij->i", m, m)
        step = max(1, _BLOCK_BYTES // (8 * (x.shape[1] + self._whiten.shape[1] + m.shape[0])))
        for start in range(0, x.shape[0], step):
            z = (x[start : start + step] - self._center) @ self._whiten
            z2 = np.einsum("ij,ij->i", z, z)
            dist = z2[:, None] - 2.0 * (z @ m.T) + m2
            # a point near a class mean far from the centre: the expansion cancels
            ii, jj = np.nonzero(dist <= _NEAR * (z2[:, None] + m2))
            if ii.size:
                dist[ii, jj] = _exact_sq_dist(z, m, ii, jj)
            yield start, np.maximum(dist, 0.0, out=dist)

    def distances(self, features: Any) -> np.ndarray:
        """Squared Mahalanobis distance of each point to each class mean.

        Parameters
        ----------
        features : array-like of shape (n_items, n_features)
            With the fitted number of columns.

        Returns
        -------
        ndarray of shape (n_items, n_classes)
            Columns in the order of ``classes_``.
        """
        parts = [block for _, block in self._blocks(features)]
        return np.concatenate(parts, axis=0)

    def score(self, features: Any) -> np.ndarray:
        """Squared Mahalanobis distance to the closest class mean; **higher means more
        likely out of distribution**.

        Parameters
        ----------
        features : array-like of shape (n_items, n_features)

        Returns
        -------
        ndarray of shape (n_items,)
        """
        return np.concatenate([block.min(axis=1) for _, block in self._blocks(features)])

    def predict(self, features: Any) -> np.ndarray:
        """The class of the closest mean (the Gaussian discriminant's prediction).

        Parameters
        ----------
        features : array-like of shape (n_items, n_features)
            As for :meth:`distances`.

        Returns
        -------
        ndarray of shape (n_items,)
            Values of ``classes_``.
        """
        codes = np.concatenate([block.argmin(axis=1) for _, block in self._blocks(features)])
        return self.classes_[codes]


def max_softmax_score(probs: Any) -> np.ndarray:
    """One minus the largest predicted probability of each item; **higher means more
    likely out of distribution**.

    The baseline of Hendrycks & Gimpel ("A Baseline for Detecting Misclassified and
    Out-of-Distribution Examples in Neural Networks", ICLR 2017) ranks items by their
    maximum softmax probability, high for in-distribution items; ``1 - max_k p_k`` ranks
    them in the opposite order so that every score here points the same way.

    Parameters
    ----------
    probs : array-like of shape (n_items, n_classes) or SoftLabels
        Predicted probabilities (rows within 1e-4 of summing to 1 are renormalised).

    Returns
    -------
    ndarray of shape (n_items,)
        Values in ``[0, 1 - 1/n_classes]``.

    Examples
    --------
    >>> max_softmax_score([[0.9, 0.1], [0.5, 0.5]])
    array([0.1, 0.5])
    """
    p = check_pred_probs(probs, name="probs")
    return 1.0 - p.max(axis=1)


def energy_score(logits: Any, temperature: float = 1.0) -> np.ndarray:
    """The free energy ``E(x) = -T log sum_k exp(f_k(x) / T)`` of each item's logits;
    **higher means more likely out of distribution**.

    Liu, Wang, Owens & Li ("Energy-based Out-of-distribution Detection", NeurIPS 2020)
    flag items of high energy (their confidence score is ``-E``). Computed as
    ``-max_k f_k - T log sum_k exp((f_k - max_k f_k) / T)``, which neither overflows nor
    loses the large logits.

    Parameters
    ----------
    logits : array-like of shape (n_items, n_classes)
        Unnormalised model outputs (not probabilities).
    temperature : float > 0, default=1.0

    Returns
    -------
    ndarray of shape (n_items,)

    Examples
    --------
    >>> energy_score([[10.0, 0.0, 0.0], [0.0, 0.0, 0.0]]).round(4)
    array([-10.0001,  -1.0986])
    """
    z = check_features(logits, name="logits")
    t = check_float(temperature, "temperature", "energy_score", low=0.0, low_open=True)
    top = z.max(axis=1)
    with np.errstate(over="ignore", under="ignore"):
        scaled = (z - top[:, None]) / t
    # the largest term is exp(0) = 1, so the sum is in [1, n_classes]
    return -top - t * np.log(np.exp(scaled).sum(axis=1))


@dataclass(frozen=True, eq=False)
class LabelSharpness:
    """The result of :func:`label_sharpness`.

    Attributes
    ----------
    value : float
        ``K_F``: the largest ratio of label change to feature distance over all pairs of
        sampled items at a positive distance (0 when no label differs; NaN when no pair
        is at a positive distance).
    pair : tuple of int or None
        The items (indices into the input) of the pair that attains ``value``, or None
        when ``value`` is 0 or NaN.
    quantile : float
        The ``q``-quantile of the same ratios (linear interpolation, as
        ``numpy.quantile``): a figure less sensitive to a single pair than the maximum.
    q : float
    n_pairs : int
        Pairs of sampled items at a positive distance (those the ratios are taken over).
    n_conflicting_duplicates : int
        Pairs of sampled items with identical features but different labels: their
        ratio is infinite, so they are counted here instead of in ``value``.
    indices : ndarray of shape (n_sampled,)
        The sampled items, sorted.
    """

    value: float
    pair: tuple[int, int] | None
    quantile: float
    q: float
    n_pairs: int
    n_conflicting_duplicates: int
    indices: np.ndarray

    def __float__(self) -> float:
        return float(self.value)


def label_sharpness(
    features: Any,
    labels: Any,
    *,
    n_samples: int | None = 1000,
    q: float = 0.99,
    random_state: Any = None,
) -> LabelSharpness:
    """Label sharpness ``K_F`` of a labelled data set (Konz & Mazurowski, ICLR 2024).

    ``K_F = max_{j != k} |y_j - y_k| / ||x_j - x_k||_2``: an empirical Lipschitz constant
    of the labelling function, taken over ``n_samples`` items drawn at random without
    replacement (all items when there are no more than that). With class labels the
    numerator is ``1[y_j != y_k]`` (the paper's multi-class form, equal to
    ``|y_j - y_k|`` for 0/1 labels). Large values mean that near-identical items carry
    different labels: hard pairs of classes, and above all label noise, raise ``K_F``.
    Pairs with identical features are left out of the maximum; those with different
    labels are counted in ``n_conflicting_duplicates``.

    Parameters
    ----------
    features : array-like of shape (n_items, ...)
        Items as vectors; further dimensions (images) are flattened. ``K_F`` scales
        with ``1 / scale`` of the features: compare values only across data sets with
        the same resolution, channels and intensity range.
    labels : array-like of shape (n_items,), or (n_items, n_classes) probabilities
        Class labels (any values that can be sorted), or soft labels (a probability
        matrix or a SoftLabels): then the numerator is the total variation distance
        ``0.5 * ||p_j - p_k||_1``, which reduces to ``1[y_j != y_k]`` for one-hot rows
        (an extension of the paper).
    n_samples : int >= 2 or None, default=1000
        How many items to draw (the paper's ``M = 1000``); None uses all of them.
    q : float in [0, 1], default=0.99
        The quantile reported beside the maximum (our choice; the paper reports the
        maximum only).
    random_state : None, int or numpy Generator
        Seeds the draw of items; the result is a deterministic function of it.

    Returns
    -------
    LabelSharpness
        ``value`` (``K_F``), the responsible ``pair``, ``quantile``, ``n_pairs``,
        ``n_conflicting_duplicates`` and the sampled ``indices``; ``float(result)`` is
        ``K_F``.

    Notes
    -----
    This follows the paper's definition. The authors' released code differs from it: it
    always takes its multi-class branch and uses the *same*-label indicator as the
    numerator, so it measures how close same-label items are. Distances are computed in
    float64 in blocks of rows; pairs that the Gram expansion puts very close together
    are recomputed from the differences, so near-duplicates are measured exactly.

    References
    ----------
    N. Konz, M. A. Mazurowski. The Effect of Intrinsic Dataset Properties on
    Generalization: Unraveling Learning Differences Between Natural and Medical Images.
    ICLR 2024.

    Examples
    --------
    >>> res = label_sharpness([[0.0], [1.0], [3.0]], ["a", "b", "b"])
    >>> res.value, res.pair
    (1.0, (0, 1))
    """
    try:
        x = np.asarray(features, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"features must be numeric; {err}") from None
    if x.ndim > 2:
        x = x.reshape(x.shape[0], -1)
    x = check_features(x, name="features")
    n = x.shape[0]
    soft = (hasattr(labels, "probs") and hasattr(labels, "classes")) or (
        np.ndim(labels) == 2 and np.shape(labels)[1] >= 2
    )
    if soft:
        target = check_pred_probs(labels, name="labels")
        if target.shape[0] != n:
            raise InputError(f"labels has {target.shape[0]} rows but there are {n} items.")
    else:
        target = _class_codes(labels, n)[1]
    if n < 2:
        raise InputError("label_sharpness needs at least 2 items; got 1.")
    if n_samples is not None:
        n_samples = check_int(n_samples, "n_samples", "label_sharpness", low=2)
    q = check_float(q, "q", "label_sharpness", low=0.0, high=1.0)
    rng = check_random_state(random_state)
    if n_samples is None or n <= n_samples:
        idx = np.arange(n)
    else:
        idx = np.sort(rng.choice(n, size=n_samples, replace=False))
    return _sharpness(x[idx], target[idx], idx, q)


def _sharpness(x: np.ndarray, target: np.ndarray, idx: np.ndarray, q: float) -> LabelSharpness:
    m = x.shape[0]
    xc = x - x.mean(axis=0)
    sq = np.einsum("ij,ij->i", xc, xc)
    width = target.shape[1] if target.ndim == 2 else 1
    step = max(1, min(m, _BLOCK_BYTES // (8 * m * width)))
    n_max = m * (m - 1) // 2
    keep = min(n_max, math.ceil((1.0 - q) * (n_max - 1)) + 2)
    top: list[np.ndarray] = []
    n_top = n_pairs = n_conflicts = 0
    best, best_pair = 0.0, None
    for s in range(0, m - 1, step):
        e = min(s + step, m)
        valid = np.arange(s, m)[None, :] > np.arange(s, e)[:, None]
        d2 = sq[s:e, None] + sq[None, s:] - 2.0 * (xc[s:e] @ xc[s:].T)
        ii, jj = np.nonzero(valid & (d2 <= _NEAR * (sq[s:e, None] + sq[None, s:])))
        if ii.size:
            d2[ii, jj] = _exact_sq_dist(x[s:e], x[s:], ii, jj)
        dist = np.sqrt(np.maximum(d2, 0.0))
        if target.ndim == 2:
            num = 0.5 * np.abs(target[s:e, None, :] - target[None, s:, :]).sum(axis=2)
        else:
            num = (target[s:e, None] != target[None, s:]).astype(np.float64)
        pos = valid & (dist > 0.0)
        n_pairs += int(pos.sum())
        n_conflicts += int((valid & (dist == 0.0) & (num > 0.0)).sum())
        ratio = np.zeros_like(dist)
        np.divide(num, dist, out=ratio, where=pos)
        flat = int(np.argmax(ratio))
        if ratio.flat[flat] > best:
            i, j = divmod(flat, ratio.shape[1])
            best, best_pair = float(ratio.flat[flat]), (int(idx[s + i]), int(idx[s + j]))
        nonzero = ratio[ratio > 0.0]
        top.append(nonzero)
        n_top += nonzero.size
        if n_top > 2 * keep:  # keep only the largest values the quantile can need
            merged = np.concatenate(top)
            top, n_top = [np.partition(merged, merged.size - keep)[-keep:]], keep
    if n_pairs == 0:
        return LabelSharpness(math.nan, None, math.nan, q, 0, n_conflicts, idx)
    return LabelSharpness(
        best, best_pair, _upper_quantile(np.concatenate(top), n_pairs, q), q, n_pairs,
        n_conflicts, idx,
    )


def _exact_sq_dist(a: np.ndarray, b: np.ndarray, ii: np.ndarray, jj: np.ndarray) -> np.ndarray:
    """``|a[ii] - b[jj]|^2`` from the differences, in blocks of pairs."""
    out = np.empty(ii.size)
    step = max(1, _BLOCK_BYTES // (8 * a.shape[1]))
    for s in range(0, ii.size, step):
        diff = a[ii[s : s + step]] - b[jj[s : s + step]]
        out[s : s + step] = np.einsum("ij,ij->i", diff, diff)
    return out


def _upper_quantile(largest: np.ndarray, n_total: int, q: float) -> float:
    """``numpy.quantile(values, q)`` for ``n_total`` non-negative values, given the
    largest ones (at least every rank the quantile needs) and zeros for the rest."""
    desc = np.sort(largest)[::-1]

    def ascending(k: int) -> float:
        rank = n_total - 1 - k
        return float(desc[rank]) if rank < desc.size else 0.0

    h = q * (n_total - 1)
    lo = math.floor(h)
    hi = min(lo + 1, n_total - 1)
    return ascending(lo) + (h - lo) * (ascending(hi) - ascending(lo))
