"""The small numpy network the bag methods train through bag-level losses (private to
:mod:`softlabels.infer.bags`): ReLU layers, L-BFGS, an L2 penalty."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax

from softlabels.core.errors import InvalidParameterError
from softlabels.core.validation import (
    Constraint,
    check_features,
    check_is_fitted,
    check_random_state,
    integer,
    random_state,
    real,
)
from softlabels.infer.bags._common import canonical_order, check_width

Loss = Callable[[np.ndarray], tuple[float, np.ndarray]]


def layer_sizes(value: Any, name: str, owner: str) -> tuple[int, ...]:
    """Constraint of ``hidden_layer_sizes``: a tuple of positive ints (``()``: linear);
    a single int is one layer.

    Parameters
    ----------
    value : int or iterable of int
        The value given.
    name : str
        Name of the parameter, used in the error message.
    owner : str
        Name of the estimator, used in the error message.

    Returns
    -------
    tuple of int

    Raises
    ------
    InvalidParameterError
        When a size is not a positive int.
    """
    try:
        hidden = tuple(value)
    except TypeError:
        hidden = (value,)
    for h in hidden:
        if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1:
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} must be a tuple of positive "
                f"ints (() for a linear model); got {value!r}."
            )
    return tuple(int(h) for h in hidden)


#: The parameters of an estimator that trains the built-in network (DLLP, MIL regression).
NET_CONSTRAINTS: dict[str, Constraint] = {
    "hidden_layer_sizes": layer_sizes,
    "alpha": real(low=0.0),
    "max_iter": integer(low=1),
    "tol": real(low=0.0),
    "random_state": random_state,
}


def fit_net(estimator: Any, X: np.ndarray, codes: np.ndarray, n_outputs: int,
            objective: Callable[[np.ndarray], Loss]) -> Net:
    """Train the network of ``estimator`` (its :data:`NET_CONSTRAINTS` parameters) on
    ``X``, rows in a canonical order so that the result does not depend on the order of
    the items; ``objective(order)`` is the loss on the reordered rows. Sets ``net_``,
    ``loss_``, ``n_iter_`` and ``converged_``.

    Parameters
    ----------
    estimator : Any
        The estimator, with ``hidden_layer_sizes``, ``alpha``, ``max_iter``, ``tol`` and
        ``random_state`` attributes.
    X : numpy.ndarray, shape (n_items, n_features)
        The features.
    codes : numpy.ndarray of int, shape (n_items,)
        Bag code of each item (for the canonical order).
    n_outputs : int
        Number of outputs of the network.
    objective : callable
        ``objective(order)`` gives the loss of the outputs on the rows in that order.

    Returns
    -------
    Net
        The fitted network (also set as ``estimator.net_``).
    """
    owner = type(estimator).__name__
    hidden = layer_sizes(estimator.hidden_layer_sizes, "hidden_layer_sizes", owner)
    rng = check_random_state(estimator.random_state)
    order = canonical_order(X, codes)
    net = Net(hidden, n_outputs, float(estimator.alpha), int(estimator.max_iter),
              float(estimator.tol), rng)
    net.fit(X[order], objective(order))
    estimator.net_ = net
    estimator.loss_, estimator.n_iter_, estimator.converged_ = net.loss_, net.n_iter_, net.converged_
    return net


def net_outputs(estimator: Any, X: Any) -> np.ndarray:
    """The fitted network's outputs on new items (checked as features of its width).

    Parameters
    ----------
    estimator : Any
        A fitted estimator (with ``net_``).
    X : array-like of shape (n_items, n_features)
        The new items' features.

    Returns
    -------
    numpy.ndarray, shape (n_items, n_outputs)
    """
    check_is_fitted(estimator, "net_")
    X = check_features(X, name="X")
    check_width(X, estimator.net_.sizes_[0])
    return estimator.net_.outputs(X)


def soft_cross_entropy(targets: np.ndarray) -> Loss:
    """Mean soft-target cross-entropy on logits.

    Parameters
    ----------
    targets : numpy.ndarray, shape (n, n_classes)
        Target distributions.

    Returns
    -------
    callable
        The loss of logits ``z``: its value and its gradient in ``z``.
    """
    n = targets.shape[0]

    def loss(z: np.ndarray) -> tuple[float, np.ndarray]:
        logp = log_softmax(z, axis=1)
        return float(-(targets * logp).sum() / n), (np.exp(logp) - targets) / n

    return loss


class Net:
    """A small fully connected network (ReLU hidden layers; ``hidden=()`` is a linear
    model) on standardised inputs, fitted full-batch by L-BFGS on any differentiable loss
    of its outputs, with an L2 penalty ``alpha / (2 n) * ||weights||^2``.

    Parameters
    ----------
    hidden : tuple of int
        Sizes of the hidden layers.
    n_out : int
        Number of outputs.
    alpha : float
        Strength of the L2 penalty.
    max_iter : int
        Largest number of L-BFGS iterations.
    tol : float
        L-BFGS gradient tolerance.
    rng : numpy.random.Generator
        Draws the initial weights.
    """

    def __init__(self, hidden: tuple[int, ...], n_out: int, alpha: float, max_iter: int,
                 tol: float, rng: np.random.Generator) -> None:
        self.hidden, self.n_out, self.alpha = hidden, n_out, alpha
        self.max_iter, self.tol, self.rng = max_iter, tol, rng

    def _unpack(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        layers, at = [], 0
        for a, b in zip(self.sizes_[:-1], self.sizes_[1:]):
            w = theta[at: at + a * b].reshape(a, b)
            at += a * b
            layers.append((w, theta[at: at + b]))
            at += b
        return layers

    def _forward(self, xs: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]
                 ) -> tuple[np.ndarray, list[np.ndarray]]:
        acts = [xs]
        h = xs
        for w, b in layers[:-1]:
            h = np.maximum(h @ w + b, 0.0)
            acts.append(h)
        w, b = layers[-1]
        return h @ w + b, acts

    def fit(self, X: np.ndarray, loss: Callable[[np.ndarray], tuple[float, np.ndarray]]
            ) -> Net:
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        xs = (X - self.mean_) / self.scale_
        n = X.shape[0]
        self.sizes_ = [X.shape[1], *self.hidden, self.n_out]
        parts = []
        for a, b in zip(self.sizes_[:-1], self.sizes_[1:]):
            bound = np.sqrt(6.0 / (a + b))
            parts += [self.rng.uniform(-bound, bound, a * b), np.zeros(b)]
        theta0 = np.concatenate(parts)
        penalty = self.alpha / n

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            layers = self._unpack(theta)
            z, acts = self._forward(xs, layers)
            value, g = loss(z)
            grads = []
            for i in range(len(layers) - 1, -1, -1):
                w, _ = layers[i]
                value += 0.5 * penalty * float((w * w).sum())
                grads.append((acts[i].T @ g + penalty * w, g.sum(axis=0)))
                if i:
                    g = (g @ w.T) * (acts[i] > 0)
            flat = [a for gw, gb in reversed(grads) for a in (gw.ravel(), gb)]
            return value, np.concatenate(flat)

        res = minimize(objective, theta0, jac=True, method="L-BFGS-B",
                       options={"maxiter": self.max_iter, "gtol": self.tol})
        self.theta_ = res.x
        self.loss_ = float(res.fun)
        self.n_iter_ = int(res.nit)
        self.converged_ = bool(res.success)
        return self

    def outputs(self, X: np.ndarray) -> np.ndarray:
        return self._forward((X - self.mean_) / self.scale_, self._unpack(self.theta_))[0]

    def embed(self, X: np.ndarray) -> np.ndarray:
        """The last hidden layer (the standardised inputs for a linear model).

        Parameters
        ----------
        X : numpy.ndarray, shape (n, n_features)
            The items' features.

        Returns
        -------
        numpy.ndarray
        """
        return self._forward((X - self.mean_) / self.scale_, self._unpack(self.theta_))[1][-1]
