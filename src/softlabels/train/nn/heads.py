"""Classifier heads and prediction rules: fixed equiangular basis vectors, a learned cosine
head, and Loki's Fréchet-mean prediction over a class metric.

* :func:`generate_ebv` and :class:`EBVHead`: Shen, Sun & Wei, "Equiangular Basis Vectors"
  (CVPR 2023). One fixed, nearly orthogonal unit vector per class; logits are cosines
  divided by a temperature.
* :class:`CosineHead`: normalized softmax (Zhai & Wu 2019; the hyperspherical embedding of
  Pereira et al. 2021): ``scale * cos(f, w_c)`` with learned class vectors and no bias, so a
  new class can be added from a few examples without retraining (:meth:`CosineHead.add_classes`).
* :func:`frechet_predict`: Roberts et al., "Geometry-Aware Adaptation for Pretrained Models"
  (Loki, NeurIPS 2023). Replaces argmax by ``argmin_y sum_k p_k d(y, k)^2``, possibly over
  more labels than the model has outputs.

>>> import torch
>>> head = EBVHead(8, 4, tau=0.1)
>>> head(torch.randn(3, 8)).abs().max() <= 1 / 0.1
tensor(True)
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from softlabels.core.validation import check_float, check_int
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.train.nn._classification import normalized_logits

__all__ = [
    "EBV",
    "CosineHead",
    "EBVHead",
    "embedding_distance_matrix",
    "expected_squared_distance",
    "frechet_predict",
    "frechet_scores",
    "generate_ebv",
    "welch_bound",
]

#: Default ``threshold / welch_bound`` when ``n > dim``.
WELCH_MARGIN = 1.5
#: A largest ``|cos|`` at or above this means two vectors collapsed onto one direction.
COLLAPSED = 0.999


# --------------------------------------------------------------------------- EBV generation
def welch_bound(n: int, dim: int) -> float:
    """The smallest achievable maximum ``|cos|`` between ``n`` unit vectors in ``dim``
    dimensions: ``sqrt((n - dim) / (dim (n - 1)))`` when ``n > dim``, else 0.

    Parameters
    ----------
    n : int >= 1
        Number of vectors.
    dim : int >= 1
        Their dimension.

    Returns
    -------
    float

    Examples
    --------
    >>> round(welch_bound(1000, 100), 4), welch_bound(10, 16)
    (0.0949, 0.0)
    """
    n = check_int(n, "n", "welch_bound", low=1)
    dim = check_int(dim, "dim", "welch_bound", low=1)
    if n <= dim:
        return 0.0
    return math.sqrt((n - dim) / (dim * (n - 1)))


class EBV(NamedTuple):
    """Result of :func:`generate_ebv`.

    Attributes
    ----------
    vectors : Tensor
        ``(n, dim)``, unit rows.
    max_abs_cos : float
        Largest ``|cos|`` between two distinct vectors.
    n_steps : int
        SGD steps taken.
    converged : bool
        Whether ``max_abs_cos <= threshold + 1e-4`` was reached.
    """

    vectors: Tensor  #: (n, dim), unit rows
    max_abs_cos: float  #: largest ``|cos|`` between two distinct vectors
    n_steps: int  #: SGD steps taken
    converged: bool  #: ``max_abs_cos <= threshold + 1e-4`` was reached


def _off_diagonal_gram(v: Tensor, rows: slice) -> Tensor:
    g = v[rows] @ v.T
    idx = torch.arange(rows.start, min(rows.stop, v.shape[0]), device=v.device)
    g[idx - rows.start, idx] = 0.0
    return g


def generate_ebv(
    n: int,
    dim: int,
    *,
    threshold: float | None = None,
    lr: float = 1e-3,
    max_steps: int = 100_000,
    block: int = 1024,
    seed: int = 42,
    device: Any = None,
) -> EBV:
    """Equiangular basis vectors: ``n`` unit vectors whose pairwise ``|cos|`` are all small.

    The official procedure (Shen et al. 2023): start from normal vectors; at every step
    renormalise the rows, then take one plain SGD step on
    ``L = sum_{i != j} relu(|<v_i, v_j>| - threshold)``, whose gradient is
    ``2 S V`` with ``S_ij = sign(<v_i, v_j>) [|<v_i, v_j>| > threshold]``; stop when the
    largest ``|cos|`` is at most ``threshold + 1e-4``. Rows are processed in blocks of
    ``block`` (memory only; the result does not depend on it).

    Parameters
    ----------
    n, dim : int
        Number of vectors (classes) and their dimension.
    threshold : float, optional
        Target maximum ``|cos|``. Default: the paper's 0.002 when ``n <= dim``, otherwise
        ``1.5 * welch_bound(n, dim)``. A threshold below the Welch bound is refused. When
        the threshold is too tight the objective penalises nearly every pair, behaves like
        an L1 sum of ``|cos|`` and collapses vectors onto a few directions: this is detected
        (max ``|cos|`` >= 0.999) and raised. Strongly over-complete sets (``n`` many times
        ``dim``) need a threshold well above the default, or a larger ``dim``.
    lr : float, default 1e-3
    max_steps : int, default 100000
        Stops there even if not converged (see ``EBV.converged``).
    block : int, default 1024
    seed : int, default 42
        Seeds the initial vectors (a private generator; the global RNG is untouched).
    device : torch device, optional

    Returns
    -------
    EBV
        ``vectors`` of shape ``(n, dim)`` (float32, unit rows), the achieved
        ``max_abs_cos``, the number of steps and whether the threshold was reached.

    Examples
    --------
    >>> ebv = generate_ebv(10, 16, seed=0)
    >>> ebv.converged, ebv.max_abs_cos <= 0.002 + 1e-4
    (True, True)
    """
    owner = "generate_ebv"
    n = check_int(n, "n", owner, low=1)
    dim = check_int(dim, "dim", owner, low=1)
    lr = check_float(lr, "lr", owner, low=0.0, low_open=True)
    max_steps = check_int(max_steps, "max_steps", owner, low=0)
    block = check_int(block, "block", owner, low=1)
    seed = check_int(seed, "seed", owner)
    bound = welch_bound(n, dim)
    if threshold is None:
        threshold = max(0.002, WELCH_MARGIN * bound)
    threshold = check_float(threshold, "threshold", owner, low=0.0, high=1.0)
    if threshold < bound:
        raise InvalidParameterError(
            f"The 'threshold' parameter of {owner} must be >= the Welch bound {bound:.4f} for "
            f"{n} vectors in {dim} dimensions (no set of vectors does better); got {threshold}."
        )
    gen = torch.Generator().manual_seed(seed)
    v = torch.randn(n, dim, generator=gen).to(device)
    stop = threshold + 1e-4
    steps = 0
    with torch.no_grad():
        while True:
            v = F.normalize(v, dim=1)
            grad = torch.empty_like(v)
            worst = 0.0
            for start in range(0, n, block):
                rows = slice(start, start + block)
                g = _off_diagonal_gram(v, rows)
                worst = max(worst, float(g.abs().max()) if n > 1 else 0.0)
                s = torch.sign(g) * (g.abs() > threshold)
                grad[rows] = 2.0 * (s @ v)
            if worst <= stop or steps >= max_steps:
                break
            if worst >= COLLAPSED:
                raise InvalidParameterError(
                    f"{owner}: the vectors collapsed (max |cos| = {worst:.4f} after {steps} "
                    f"steps) with threshold {threshold} for {n} vectors in {dim} dimensions "
                    f"(Welch bound {bound:.4f}). Use a larger threshold or a larger dim."
                )
            v = v - lr * grad
            steps += 1
    return EBV(v.contiguous(), worst, steps, worst <= stop)


# --------------------------------------------------------------------------- heads
class EBVHead(nn.Module):
    """Cosine classifier over fixed equiangular basis vectors (Shen et al. 2023).

    ``logits = normalize(P f) @ E.T / tau``, where ``E`` (buffer ``ebv``, shape
    ``(num_classes, dim)``, unit rows) is fixed and ``P`` is an optional learned
    ``nn.Linear(in_features, dim)``. Every logit lies in ``[-1/tau, 1/tau]``. Train it with
    any cross-entropy (soft targets, label smoothing and mixup work as usual); predict with
    ``argmax``.

    Parameters
    ----------
    in_features : int
    num_classes : int
    dim : int, optional
        EBV dimension. ``None``: no projection, ``dim = in_features``.
    tau : float, default 0.07
        Temperature (fixed, as in the official code).
    vectors : array-like of shape (num_classes, dim), optional
        Precomputed EBVs (rows are normalised); otherwise :func:`generate_ebv` makes them
        with ``seed`` and ``threshold``.
    seed : int, default 42
    threshold : float, optional
        Passed to :func:`generate_ebv`.

    Attributes
    ----------
    ebv : Tensor of shape (num_classes, dim)
        Registered buffer: moves with ``.to()``, saved in ``state_dict()``, gets no gradient.
    max_abs_cos : float
        Largest ``|cos|`` between two EBVs.

    Examples
    --------
    >>> import torch
    >>> head = EBVHead(32, 10, dim=16, tau=0.07)
    >>> head(torch.randn(5, 32)).shape
    torch.Size([5, 10])
    """

    def __init__(self, in_features: int, num_classes: int, *, dim: int | None = None,
                 tau: float = 0.07, vectors: Any = None, seed: int = 42,
                 threshold: float | None = None) -> None:
        super().__init__()
        owner = "EBVHead"
        in_features = check_int(in_features, "in_features", owner, low=1)
        num_classes = check_int(num_classes, "num_classes", owner, low=1)
        self.tau = check_float(tau, "tau", owner, low=0.0, low_open=True)
        if dim is None:
            self.proj: nn.Module = nn.Identity()
            dim = in_features
        else:
            dim = check_int(dim, "dim", owner, low=1)
            self.proj = nn.Linear(in_features, dim)
        if vectors is None:
            vecs = generate_ebv(num_classes, dim, threshold=threshold, seed=seed).vectors
        else:
            vecs = torch.as_tensor(vectors).detach().float()
            if vecs.shape != (num_classes, dim):
                raise InputError(
                    f"vectors must have shape ({num_classes}, {dim}) (num_classes, dim); "
                    f"got {tuple(vecs.shape)}."
                )
            if not bool(torch.isfinite(vecs).all()) or bool((vecs.norm(dim=1) == 0).any()):
                raise InputError("vectors must be finite and non-zero.")
            vecs = F.normalize(vecs.clone(), dim=1)
        self.register_buffer("ebv", vecs)
        gram = vecs @ vecs.T - torch.eye(num_classes)
        self.max_abs_cos = float(gram.abs().max()) if num_classes > 1 else 0.0

    def forward(self, features: Tensor) -> Tensor:
        """The logits ``normalize(P f) @ E.T / tau``.

        Parameters
        ----------
        features : Tensor of shape (N, in_features)
            Backbone features, projected by ``P`` when the head has one.

        Returns
        -------
        Tensor of shape (N, num_classes)
            Each logit in ``[-1/tau, 1/tau]``.
        """
        f = F.normalize(self.proj(features), dim=-1)
        return f @ self.ebv.to(f.dtype).T / self.tau

    def extra_repr(self) -> str:
        return f"num_classes={self.ebv.shape[0]}, dim={self.ebv.shape[1]}, tau={self.tau}"


class CosineHead(nn.Module):
    """Normalized (cosine) softmax head: ``logits = scale * normalize(f) @ normalize(W).T``.

    Learned class vectors ``weight`` of shape ``(num_classes, in_features)``, no bias
    (Zhai & Wu 2019; Pereira et al. 2021). Logits lie in ``[-scale, scale]``. Train with
    cross-entropy; :meth:`add_classes` appends a class from a few examples (the renormalised
    mean of their normalised features), with no gradient step.

    Parameters
    ----------
    in_features, num_classes : int
    scale : float, default 10.0
        The sphere radius ``s = 1 / T``. Too small and the softmax cannot get confident.
    learn_scale : bool, default False
        Learn ``log(scale)`` as a parameter (an extension; the papers keep it fixed).

    Examples
    --------
    >>> import torch
    >>> head = CosineHead(4, 3, scale=5.0)
    >>> bool(head(torch.randn(2, 4)).abs().max() <= 5.0)
    True
    >>> head.add_classes(torch.randn(6, 4), torch.tensor([7, 7, 9, 9, 9, 7]))
    tensor([3, 4])
    """

    def __init__(self, in_features: int, num_classes: int, *, scale: float = 10.0,
                 learn_scale: bool = False) -> None:
        super().__init__()
        owner = "CosineHead"
        in_features = check_int(in_features, "in_features", owner, low=1)
        num_classes = check_int(num_classes, "num_classes", owner, low=1)
        scale = check_float(scale, "scale", owner, low=0.0, low_open=True)
        self.weight = nn.Parameter(torch.randn(num_classes, in_features))
        if learn_scale:
            self.log_scale: Tensor | None = nn.Parameter(torch.tensor(math.log(scale)))
            self._scale = 1.0
        else:
            self.log_scale = None
            self._scale = scale

    @property
    def scale(self) -> float:
        return float(self.log_scale.detach().exp()) if self.log_scale is not None else self._scale

    def forward(self, features: Tensor) -> Tensor:
        """The cosine logits of ``features``, times the (learned or fixed) scale.

        Parameters
        ----------
        features : Tensor of shape (N, in_features)
            The embeddings to classify.
        """
        logits = normalized_logits(features, self.weight, scale=self._scale)
        return logits if self.log_scale is None else logits * self.log_scale.exp()

    def prototypes(self) -> Tensor:
        """The unit class vectors, shape ``(num_classes, in_features)`` (detached)."""
        return F.normalize(self.weight.detach(), dim=1)

    def add_classes(self, support: Tensor, support_labels: Tensor) -> Tensor:
        """Append one class per distinct label in ``support_labels`` (sorted order), with
        prototype ``normalize(mean_i normalize(f_i))``; returns the new class indices.

        ``weight`` becomes a new Parameter: rebuild the optimiser before training further.

        Parameters
        ----------
        support : Tensor of shape (M, in_features)
            Floating features of the new classes' examples.
        support_labels : Tensor of int, shape (M,)
            The label of each example; not empty.

        Returns
        -------
        Tensor of shape (n_new,)
            The new classes' indices, in the sorted order of their labels.
        """
        f = torch.as_tensor(support)
        labels = torch.as_tensor(support_labels, device=f.device)
        if f.ndim != 2 or f.shape[1] != self.weight.shape[1] or not f.is_floating_point():
            raise InputError(
                f"support must be a floating tensor of shape (M, {self.weight.shape[1]}); got "
                f"{f.dtype} {tuple(f.shape)}."
            )
        if labels.shape != (f.shape[0],) or labels.is_floating_point() or f.shape[0] == 0:
            raise InputError(
                f"support_labels must be a non-empty integer tensor of shape ({f.shape[0]},); "
                f"got {labels.dtype} {tuple(labels.shape)}."
            )
        uniq, inverse = torch.unique(labels, return_inverse=True)
        unit = F.normalize(f.detach().to(self.weight.dtype), dim=1)
        sums = torch.zeros(uniq.numel(), unit.shape[1], dtype=unit.dtype, device=unit.device)
        sums.index_add_(0, inverse, unit)
        protos = F.normalize(sums, dim=1).to(self.weight.device)
        old = self.weight.shape[0]
        self.weight = nn.Parameter(torch.cat([self.weight.detach(), protos]))
        return torch.arange(old, old + uniq.numel())

    def extra_repr(self) -> str:
        learn = ", learn_scale=True" if self.log_scale is not None else ""
        return (f"in_features={self.weight.shape[1]}, num_classes={self.weight.shape[0]}, "
                f"scale={self.scale:g}{learn}")


# --------------------------------------------------------------------------- Loki
def _matrix(x: Any, name: str) -> Any:
    from softlabels.core.soft import SoftLabels

    if isinstance(x, SoftLabels):
        return x.probs
    if isinstance(x, Tensor):
        if x.ndim != 2 or x.is_complex() or x.dtype == torch.bool:
            raise InputError(f"{name} must be a real 2-D array; got {x.dtype} {tuple(x.shape)}.")
        return x if x.is_floating_point() else x.double()
    arr = np.asarray(x)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise InputError(f"{name} must be a real 2-D array; got {arr.dtype} {arr.shape}.")
    return arr.astype(np.float64, copy=False)


def frechet_scores(probs: Any, dist: Any, *, squared: bool = False) -> Any:
    """Loki's scores ``-sum_k p_k d(y, k)^2`` for every candidate label ``y``.

    Parameters
    ----------
    probs : array or Tensor of shape (n_items, K), or SoftLabels
        The model's probabilities over its K classes.
    dist : array or Tensor of shape (K, N)
        ``dist[k, y]`` = distance from the model's class ``k`` to candidate label ``y``.
        Rows in the model's class order, columns in candidate order; ``N >= K`` lets the
        rule predict labels the model never saw (they must lie "between" observed ones).
    squared : bool, default False
        ``True`` if ``dist`` already holds squared distances.

    Returns
    -------
    array or Tensor of shape (n_items, N)
        Tensor in, Tensor out (on the same device); NumPy otherwise.

    Examples
    --------
    >>> frechet_scores([[0.5, 0.5]], [[0, 1, 2], [2, 1, 0]])
    array([[-2., -1., -2.]])
    """
    p = _matrix(probs, "probs")
    d = _matrix(dist, "dist")
    if isinstance(p, Tensor) != isinstance(d, Tensor):
        if isinstance(p, Tensor):
            d = torch.as_tensor(d, dtype=p.dtype, device=p.device)
        else:
            p = torch.as_tensor(p, dtype=d.dtype, device=d.device)
    if d.shape[0] != p.shape[1]:
        raise InputError(
            f"dist must have one row per model class: probs has {p.shape[1]} columns but dist "
            f"has shape {tuple(d.shape)}."
        )
    finite = bool(torch.isfinite(d).all()) if isinstance(d, Tensor) else bool(np.isfinite(d).all())
    if not finite or bool((d < 0).any()):
        raise InputError("dist must be finite and non-negative.")
    if isinstance(p, Tensor):
        p = p.to(torch.promote_types(p.dtype, d.dtype))
        d = d.to(p.dtype)
    return -(p @ (d if squared else d * d))


def frechet_predict(probs: Any, dist: Any, *, squared: bool = False) -> Any:
    """Loki's Fréchet-mean prediction (Roberts et al., NeurIPS 2023).

    ``yhat = argmin_y sum_k p_k d(y, k)^2``, a fixed linear map of the probabilities followed
    by an argmax (:func:`frechet_scores`). With the discrete metric (all off-diagonal
    distances equal) over the model's own classes it is the ordinary argmax. Ties go to
    the first candidate.

    Parameters
    ----------
    probs : array or Tensor of shape (n_items, K), or SoftLabels
        The model's probabilities over its K classes.
    dist : array or Tensor of shape (K, N)
        ``dist[k, y]`` = distance from the model's class ``k`` to candidate label ``y``
        (see :func:`frechet_scores`).
    squared : bool, default=False
        ``True`` if ``dist`` already holds squared distances.

    Returns
    -------
    array or Tensor of shape (n_items,)
        Candidate indices (int64).

    Examples
    --------
    Three labels on a line, a model that only knows the two ends:

    >>> dist = [[0, 1, 2], [2, 1, 0]]
    >>> frechet_predict([[0.5, 0.5], [0.9, 0.1]], dist)
    array([1, 0])
    """
    scores = frechet_scores(probs, dist, squared=squared)
    return scores.argmax(axis=1)


def expected_squared_distance(y_pred: Any, y_true: Any, dist: Any) -> float:
    """Loki's evaluation metric ``mean_i d(yhat_i, y_i)^2`` for a full ``(N, N)`` metric.

    Parameters
    ----------
    y_pred, y_true : array-like or Tensor of int, shape (n_items,)
        Predicted and true labels, indices into ``dist``; other shapes or indices out of
        range raise :class:`InputError`.
    dist : array-like or Tensor of shape (N, N)
        The distance between every two labels.

    Returns
    -------
    float
        0 for no items.

    Examples
    --------
    >>> expected_squared_distance([0, 2], [1, 2], [[0, 1, 2], [1, 0, 1], [2, 1, 0]])
    0.5
    """
    d = np.asarray(_matrix(dist.cpu() if isinstance(dist, Tensor) else dist, "dist"))
    pred = np.asarray(y_pred.cpu() if isinstance(y_pred, Tensor) else y_pred).astype(np.int64)
    true = np.asarray(y_true.cpu() if isinstance(y_true, Tensor) else y_true).astype(np.int64)
    if pred.shape != true.shape or pred.ndim != 1:
        raise InputError(f"y_pred and y_true must be 1-D of equal length; got {pred.shape} "
                         f"and {true.shape}.")
    if d.shape[0] != d.shape[1]:
        raise InputError(f"dist must be square (N, N); got {d.shape}.")
    for name, v in (("y_pred", pred), ("y_true", true)):
        if v.size and (v.min() < 0 or v.max() >= d.shape[0]):
            raise InputError(f"{name} values must lie in [0, {d.shape[0]}).")
    return float(np.mean(d[pred, true] ** 2)) if pred.size else 0.0


def embedding_distance_matrix(observed: Any, candidates: Any, *, normalize: bool = True) -> Any:
    """Euclidean distances ``(K, N)`` between class embeddings (Loki's self-derived metric,
    e.g. from text embeddings of the class names). ``normalize`` L2-normalises the rows first.

    Parameters
    ----------
    observed : array or Tensor of shape (K, n_features)
        Embeddings of the model's classes.
    candidates : array or Tensor of shape (N, n_features)
        Embeddings of the candidate labels, of the same width.
    normalize : bool, default=True
        L2-normalise both sets of rows first.

    Returns
    -------
    array or Tensor of shape (K, N)
        A Tensor when either input is one.

    Examples
    --------
    >>> embedding_distance_matrix([[1.0, 0.0]], [[1.0, 0.0], [0.0, 2.0]]).round(4)
    array([[0.    , 1.4142]])
    """
    a, b = _matrix(observed, "observed"), _matrix(candidates, "candidates")
    if a.shape[1] != b.shape[1]:
        raise InputError(
            f"observed and candidates must have the same embedding size; got {a.shape[1]} and "
            f"{b.shape[1]}."
        )
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        a, b = torch.as_tensor(a), torch.as_tensor(b, dtype=torch.as_tensor(a).dtype)
        if normalize:
            a, b = F.normalize(a, dim=1), F.normalize(b, dim=1)
        return torch.cdist(a, b)
    if normalize:
        a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
        b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))
