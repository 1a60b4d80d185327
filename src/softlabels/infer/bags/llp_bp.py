"""LLP-BP (Havaldar et al., ICLR 2024): belief-propagation pseudo-labels on a k-NN
similarity graph, then a supervised learner, repeated on the learner's embedding. Binary.

:func:`knn_graph` builds the covariate similarity graph; the pseudo-labels are those of
:func:`~softlabels.infer.bags.belief_propagation.bp_pseudo_labels`; :class:`LLPBP` is the
whole pipeline.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import softmax

from softlabels.core.errors import InvalidParameterError
from softlabels.core.soft import SoftLabels
from softlabels.core.validation import (
    anything,
    boolean,
    check_features,
    check_is_fitted,
    check_params,
    check_random_state,
    integer,
    none_or,
    option,
    random_state,
    real,
)
from softlabels.infer.bags._common import (
    canonical_order,
    check_bag_features,
    check_binary,
    check_evidence,
    check_item_ids,
    check_width,
    provenance,
)
from softlabels.infer.bags._mlp import Net, layer_sizes, soft_cross_entropy
from softlabels.infer.bags.belief_propagation import (
    BP_CONSTRAINTS,
    bp_marginals,
    bp_settings,
    warn_if_not_converged,
)
from softlabels.infer.bags.evidence import BagProportions, as_bag_proportions
from softlabels.infer.base import BaseInferrer

__all__ = ["GRAPH_CONSTRAINTS", "LLPBP", "knn_graph"]

#: the parameters of the similarity graph, shared by :func:`knn_graph` and LLPBP
GRAPH_CONSTRAINTS = {
    "n_neighbors": integer(low=1),
    "metric": option("cosine", "euclidean"),
    "normalize": boolean,
    "length_scale": real(low=0.0, low_open=True),
    "max_distance": none_or(real(low=0.0, low_open=True)),
}


def _callable(value: Any, name: str, owner: str) -> Any:
    if not callable(value):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be callable "
            f"(fitted_learner, X) -> array; got {value!r}.")
    return value


def knn_graph(
    X: Any,
    *,
    n_neighbors: int = 5,
    metric: str = "cosine",
    normalize: bool = True,
    length_scale: float = 1.0,
    max_distance: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The k-nearest-neighbour similarity graph of LLP-BP.

    Each item is joined to its ``n_neighbors`` nearest other items (``metric`` distance,
    by a k-d tree); the edges are de-duplicated as unordered pairs. An edge's weight is the
    Matérn-1/2 (Laplace) kernel ``s_ij = exp(-||x_i - x_j|| / length_scale)``, in
    ``(0, 1]``.

    Parameters
    ----------
    X : array-like of shape (n_items, n_features)
    n_neighbors : int, default 5
        Capped at ``n_items - 1``.
    metric : {"cosine", "euclidean"}, default "cosine"
        Distance for choosing neighbours (cosine distance is ``1 - cos``).
    normalize : bool, default True
        Scale rows to unit length before the kernel (and the search), so that
        ``s_ij = exp(-sqrt(2 * cosine distance) / length_scale)`` lies in
        ``[0.24, 1]`` whatever the feature scale. The official LLP-BP script applies the
        kernel to the raw features (``normalize=False``), where the weights vanish as
        distances grow with the dimension.
    length_scale : float, default 1.0
    max_distance : float, optional
        Drop neighbours at ``metric`` distance ``>= max_distance`` (the official script
        uses 2.0 with the cosine metric, which only drops opposite vectors).

    Returns
    -------
    edges : ndarray of shape (n_edges, 2)
        Pairs ``i < j``, sorted.
    sims : ndarray of shape (n_edges,)

    Examples
    --------
    >>> edges, sims = knn_graph([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]], n_neighbors=1)
    >>> edges.tolist(), sims.round(3).tolist()
    ([[0, 1], [1, 2]], [0.905, 0.261])
    """
    checked = check_params("knn_graph", GRAPH_CONSTRAINTS, n_neighbors=n_neighbors,
                           metric=metric, normalize=normalize, length_scale=length_scale,
                           max_distance=max_distance)
    k, metric, ell = checked["n_neighbors"], checked["metric"], checked["length_scale"]
    max_distance = checked["max_distance"]
    X = check_features(X, name="X")
    n = X.shape[0]
    k = min(k, n - 1)
    if k == 0:
        return np.empty((0, 2), dtype=np.int64), np.empty(0)
    unit = X
    if metric == "cosine" or normalize:
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        unit = X / np.where(norms > 0, norms, 1.0)  # rows of zeros stay at the origin
    search = unit if metric == "cosine" or normalize else X
    dist, idx = cKDTree(search).query(search, k=k + 1)
    rows = np.arange(n)[:, None]
    # drop the item itself (not always first among exact duplicates), keep k others
    other = idx != rows
    keep = other & (np.cumsum(other, axis=1) <= k)
    if max_distance is not None:
        keep &= (dist**2 / 2 if metric == "cosine" else dist) < max_distance
    src = np.broadcast_to(rows, idx.shape)[keep]
    dst = idx[keep]
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    key = np.unique(lo * n + hi)
    i, j = key // n, key % n
    kernel_rows = unit if normalize else X
    sims = np.exp(-np.linalg.norm(kernel_rows[i] - kernel_rows[j], axis=1) / ell)
    return np.column_stack([i, j]).astype(np.int64), sims



class LLPBP(BaseInferrer):
    """LLP-BP: pseudo-labels by belief propagation, then a supervised learner, repeated
    on the learner's embedding (Havaldar et al., ICLR 2024). Binary labels.

    Each round builds the k-NN similarity graph (:func:`knn_graph`) on the current
    covariates, takes BP marginals of the Gibbs distribution as pseudo-labels
    (:func:`bp_pseudo_labels`), and trains the learner on them (hardened at
    ``threshold``, as in the paper). The next round's covariates are the learner's last
    hidden layer; the final round's learner is the classifier.

    Parameters
    ----------
    n_neighbors, metric, normalize, length_scale, max_distance
        The graph, as in :func:`knn_graph`.
    sim_lambda, bag_lambda, bag_factor, damping, n_iter, tol, fix_pure_bags, \
max_bag_count_for_edges
        Belief propagation, as in :func:`bp_pseudo_labels`.
    n_rounds : int, default 2
        Pseudo-label / learner rounds (the official script runs two).
    threshold : float or None, default 0.5
        Pseudo-labels ``>= threshold`` become 1 for the learner; ``None`` trains on the
        soft marginals (a scikit-learn estimator then sees every item twice, once per
        class, weighted by its marginal).
    estimator : classifier, optional
        Any object with ``fit(X, y[, sample_weight])`` and ``predict_proba`` (copied, not
        changed). ``None``: the built-in numpy network below.
    embedding : callable, optional
        ``embedding(fitted_learner, X) -> (n_items, d)`` covariates for the next round.
        Default: the built-in network's last hidden layer, or ``estimator.transform``.
    hidden_layer_sizes : tuple of int, default (64,)
        The built-in network (ReLU layers, softmax output, L-BFGS). The paper uses a
        5040-1280-320-128-64 MLP trained by AdamW with early stopping on labelled
        validation data.
    alpha : float, default 1e-3
        L2 penalty of the built-in network.
    max_iter : int, default 300
        L-BFGS iterations of the built-in network.
    learner_tol : float, default 1e-6
    random_state : int, Generator or None
        Seeds the built-in network.

    Attributes
    ----------
    soft_labels_ : SoftLabels
        The final round's BP marginals for the training items.
    pseudo_labels_ : list of ndarray of shape (n_items,)
        ``P(y_i = 1)`` from each round.
    graphs_ : list of (edges, sims)
        The similarity graph of each round (item indices in input order).
    estimator_ : object
        The final learner.
    n_iter_ : int
        BP iterations in the final round.
    converged_ : bool
        Whether BP converged in every round.
    bags_ : BagProportions

    Notes
    -----
    Simplified from the paper: the learner is small and trained full-batch with a fixed
    L2 penalty instead of early stopping on instance-labelled validation data; the
    aggregate-embedding loss of the paper's ``BPAggEmbModel`` (a bag-level head on mean
    embeddings) is not used, as in the official training script.

    The defaults are the official script's. On breast cancer (``benchmarks/infer_bags.py``)
    they are close to supervised learning with bags of 8 but fail with bags of 32, where
    ``bag_factor="cardinality", sim_lambda=1, n_rounds=1`` worked best (though not on
    every split); the second, embedding-refined round did not help on that small tabular
    set.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-2, 1, (40, 2)), rng.normal(2, 1, (40, 2))])
    >>> y = np.repeat([0, 1], 40)
    >>> perm = rng.permutation(80); X, y = X[perm], y[perm]
    >>> bag = np.arange(80) // 4
    >>> bags = as_bag_proportions(bag, counts=np.bincount(bag, y))
    >>> model = LLPBP(n_rounds=1, random_state=0).fit(bags, X=X)
    >>> bool(((model.soft_labels_.probs[:, 1] > 0.5) == y).mean() > 0.9)
    True
    """

    name: ClassVar[str] = "llp-bp"
    summary: ClassVar[str] = "binary pseudo-labels by belief propagation over bags (Havaldar et al. 2024)"
    evidence: ClassVar[str] = "bag-proportions"
    _parameter_constraints = {
        **GRAPH_CONSTRAINTS,
        **BP_CONSTRAINTS,
        "n_rounds": integer(low=1),
        "threshold": none_or(real(low=0.0, high=1.0)),
        "estimator": anything,
        "embedding": none_or(_callable),
        "hidden_layer_sizes": layer_sizes,
        "alpha": real(low=0.0),
        "max_iter": integer(low=1),
        "learner_tol": real(low=0.0),
        "random_state": random_state,
    }

    def __init__(
        self,
        *,
        n_neighbors: int = 5,
        metric: str = "cosine",
        normalize: bool = True,
        length_scale: float = 1.0,
        max_distance: float | None = None,
        sim_lambda: float = 10.0,
        bag_lambda: float = 10.0,
        bag_factor: str = "pairwise",
        damping: float = 0.5,
        n_iter: int = 100,
        tol: float = 1e-6,
        fix_pure_bags: bool = True,
        max_bag_count_for_edges: float | None = None,
        n_rounds: int = 2,
        threshold: float | None = 0.5,
        estimator: Any = None,
        embedding: Callable[[Any, np.ndarray], Any] | None = None,
        hidden_layer_sizes: Sequence[int] = (64,),
        alpha: float = 1e-3,
        max_iter: int = 300,
        learner_tol: float = 1e-6,
        random_state: Any = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.normalize = normalize
        self.length_scale = length_scale
        self.max_distance = max_distance
        self.sim_lambda = sim_lambda
        self.bag_lambda = bag_lambda
        self.bag_factor = bag_factor
        self.damping = damping
        self.n_iter = n_iter
        self.tol = tol
        self.fix_pure_bags = fix_pure_bags
        self.max_bag_count_for_edges = max_bag_count_for_edges
        self.n_rounds = n_rounds
        self.threshold = threshold
        self.estimator = estimator
        self.embedding = embedding
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.max_iter = max_iter
        self.learner_tol = learner_tol
        self.random_state = random_state

    def _validate_params(self) -> None:
        super()._validate_params()
        owner = type(self).__name__
        est = self.estimator
        if est is not None:
            if not (hasattr(est, "fit") and hasattr(est, "predict_proba")):
                raise InvalidParameterError(
                    f"The 'estimator' parameter of {owner} must have fit() and "
                    f"predict_proba(); got {type(est).__name__}.")
            if self.n_rounds > 1 and self.embedding is None and not hasattr(est, "transform"):
                raise InvalidParameterError(
                    f"{owner} with n_rounds={self.n_rounds} needs covariates for the later "
                    f"rounds: {type(est).__name__} has no transform(); pass embedding= or "
                    "n_rounds=1.")

    def fit(self, bags: BagProportions, /, *, X: Any, item_ids: Any = None) -> LLPBP:
        """Fit on binary bag proportions (the fraction of positives per bag) or counts,
        made by :func:`as_bag_proportions`, and the items' features ``X``
        (n_items, n_features), in the order of the bags' items.

        Parameters
        ----------
        bags : BagProportions of two classes
            Made by :func:`as_bag_proportions`.
        X, item_ids
            As for :meth:`~softlabels.infer.bags.dllp.DLLP.fit`.

        Returns
        -------
        self
        """
        self._validate_params()
        owner = type(self).__name__
        bags = check_binary(check_evidence(bags, BagProportions, owner,
                                           "as_bag_proportions(bag_ids, counts=...)"), owner)
        settings = bp_settings(self.get_params())
        n_rounds = int(self.n_rounds)
        threshold = None if self.threshold is None else float(self.threshold)
        graph_kw = {"n_neighbors": self.n_neighbors, "metric": self.metric,
                    "normalize": self.normalize, "length_scale": self.length_scale,
                    "max_distance": self.max_distance}
        hidden = layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes", owner)
        rng = check_random_state(self.random_state)
        X = check_bag_features(X, bags)
        ordered = bags.in_id_order()  # the fit does not depend on the table's bag order
        order = canonical_order(X, ordered.codes)
        xo, bo = X[order], ordered.take(order)
        covariates = xo
        pseudo, graphs, converged = [], [], True
        for round_ in range(n_rounds):
            edges, sims = knn_graph(covariates, **graph_kw)
            res = bp_marginals(edges, sims, bo, settings)
            warn_if_not_converged(res, settings, stacklevel=3)
            converged &= res.converged
            p = res.marginals
            targets = p if threshold is None else (p >= threshold).astype(np.float64)
            if self.estimator is None:
                learner: Any = Net(hidden, 2, float(self.alpha), int(self.max_iter),
                                   float(self.learner_tol), rng)
                learner.fit(xo, soft_cross_entropy(np.column_stack([1.0 - targets, targets])))
            else:
                learner = _fit_estimator(self.estimator, xo, targets, threshold is None)
            back = np.empty_like(p)
            back[order] = p
            pseudo.append(back)
            graphs.append(_reindex_graph(edges, sims, order))
            if round_ + 1 < n_rounds:
                covariates = self._embed(learner, xo)
        self.bags_ = bags
        self.estimator_ = learner
        self.pseudo_labels_ = pseudo
        self.graphs_ = graphs
        self.n_iter_ = res.n_iter
        self.converged_ = converged
        self.soft_labels_ = SoftLabels(
            np.column_stack([1.0 - pseudo[-1], pseudo[-1]]), bags.classes,
            check_item_ids(item_ids, X.shape[0]),
            provenance=provenance(self.name, self.get_params()),
        )
        return self

    def _embed(self, learner: Any, X: np.ndarray) -> np.ndarray:
        if self.embedding is not None:
            out = self.embedding(learner, X)
        elif self.estimator is None:
            out = learner.embed(X)
        else:
            out = learner.transform(X)
        return check_features(out, name="embedding output", n_items=X.shape[0])

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n, 2)`` class probabilities from the final learner.

        Parameters
        ----------
        X : array-like of shape (n, n_features)
            Features of the new items.
        """
        check_is_fitted(self, "estimator_")
        X = check_features(X, name="X")
        if isinstance(self.estimator_, Net):
            check_width(X, self.estimator_.sizes_[0])
            return softmax(self.estimator_.outputs(X), axis=1)
        probs = np.asarray(self.estimator_.predict_proba(X), dtype=np.float64)
        seen = np.asarray(getattr(self.estimator_, "classes_", [0, 1])).astype(int)
        out = np.zeros((X.shape[0], 2))
        out[:, seen] = probs
        return out


def _fit_estimator(estimator: Any, X: np.ndarray, targets: np.ndarray, soft: bool) -> Any:
    est = copy.deepcopy(estimator)
    if soft:
        n = X.shape[0]
        y = np.repeat([1, 0], n)
        est.fit(np.vstack([X, X]), y, sample_weight=np.concatenate([targets, 1.0 - targets]))
    else:
        est.fit(X, targets.astype(np.int64))
    return est


def _reindex_graph(edges: np.ndarray, sims: np.ndarray, order: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Edges among reordered items, expressed in the input order (pairs i < j, sorted)."""
    e = order[edges]
    e.sort(axis=1)
    idx = np.lexsort((e[:, 1], e[:, 0]))
    return e[idx], sims[idx]
