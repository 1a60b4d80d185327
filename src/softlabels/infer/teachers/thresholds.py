"""Class- and instance-adaptive confidence thresholds for teacher pseudo-labels.

* :class:`InstanceAdaptiveThreshold`: HIAST / IAST's instance-adaptive selector, a
  per-class threshold updated instance by instance with a moving average.
* :func:`class_balanced_thresholds`: the CBST baseline, one quantile per predicted class.
* :func:`threshold_pseudo_labels`: apply per-class thresholds.
* :func:`class_aware_correction`: COMIC's class-aware recall of missing positives in
  multi-label targets.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from softlabels.core.validation import (
    check_float,
    check_is_fitted,
    check_random_state,
    integer,
    random_state,
    real,
)
from softlabels.core.errors import InputError
from softlabels.core.soft import SoftLabels
from softlabels.infer.base import BaseInferrer
from softlabels.infer.teachers._inputs import (
    Inputs,
    check_ignore_index,
    check_inputs,
    inputs_constraint,
    check_single,
    make_soft_labels,
    tempered_probs,
)

__all__ = [
    "InstanceAdaptiveThreshold",
    "class_balanced_thresholds",
    "threshold_pseudo_labels",
    "class_aware_correction",
]


def _class_quantiles(
    values: np.ndarray, groups: np.ndarray, levels: np.ndarray, n_classes: int
) -> np.ndarray:
    """Per class ``c``, the ``levels[c]`` quantile (numpy's linear rule) of
    ``values[groups == c]``; NaN for a class without values."""
    order = np.lexsort((values, groups))
    v = values[order]
    counts = np.bincount(groups, minlength=n_classes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    h = np.where(has, (counts - 1) * levels, 0.0)
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(counts - 1, 0))
    frac = h - lo
    out = np.full(n_classes, np.nan)
    a, b = v[(starts + lo)[has]], v[(starts + hi)[has]]
    out[has] = a + frac[has] * (b - a)
    return out


def _conf_pred(outputs: Any, inputs: Any, owner: str) -> tuple[np.ndarray, Any]:
    t = check_single(outputs, inputs, owner)
    return tempered_probs(t.values[0], t.inputs, 1.0), t


class InstanceAdaptiveThreshold(BaseInferrer):
    """HIAST's instance-adaptive selector (IAS) of pseudo-labels (Zhu et al., TPAMI 2025;
    IAST, Mei et al., ECCV 2020).

    Per-class thresholds ``theta`` start at ``init``. For each instance (an image, a batch),
    with ``conf = max_c p`` and ``pred = argmax_c p`` per item:

    1. ``V_c`` = the confidences of the items predicted ``c``, plus ``theta_c`` itself;
    2. ``theta~_c = Quantile(V_c, 1 - alpha * theta_c ** gamma)`` (numpy's linear rule);
    3. ``theta_c <- beta * theta_c + (1 - beta) * theta~_c``, values ``>= 1`` set to ``cap``;
    4. the item's pseudo-label is ``pred`` if ``conf >= theta_pred`` (the updated
       threshold), else ``ignore_index``.

    Confident classes (``theta`` near 1) keep about ``alpha`` of their items; hard classes
    get a lower threshold. Defaults are HIAST's configs (``alpha=0.5, beta=0.9,
    gamma=8``); IAST used ``alpha=0.2``. Formulas read from the official code
    (``pseudo_label_generator.py``).

    Parameters
    ----------
    inputs : {"probs", "logits"}, default "probs"
    alpha, beta, gamma : float, defaults 0.5, 0.9, 8.0
    init : float in (0, 1), default 0.9
    cap : float in (0, 1), default 0.999
    ignore_index : int, default -1
        The label of items below their class's threshold; not a class index (else
        :class:`InputError`).
    shuffle : bool, default True
        Visit instances in a random order (the official code shuffles); the result depends
        on the order through the moving average.
    random_state : None, int or Generator

    Attributes
    ----------
    thresholds_ : ndarray of shape (n_classes,)
        After the last instance.
    labels_ : ndarray of shape (n_items,)
        Class index or ``ignore_index``, each item judged with the thresholds right after
        its own instance's update.
    selected_ : ndarray of bool, shape (n_items,)
    instance_order_ : ndarray
        The group values in the order they were visited.
    soft_labels_ : SoftLabels
        One-hot for selected items, the teacher's distribution for the others.

    Examples
    --------
    >>> p = [[0.95, 0.05], [0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.1, 0.9], [0.3, 0.7]]
    >>> ias = InstanceAdaptiveThreshold(alpha=0.5, beta=0.0, gamma=0.0).fit(p)
    >>> ias.thresholds_.round(4).tolist(), ias.labels_.tolist()
    ([0.9, 0.85], [0, 0, -1, -1, 1, -1])
    """

    name = "instance-adaptive-threshold"
    summary = "pseudo-labels above per-class adaptive thresholds (HIAST)"
    evidence = "teacher-outputs"
    _parameter_constraints = {
        "inputs": inputs_constraint,
        "alpha": real(low=0.0, high=1.0),
        "beta": real(low=0.0, high=1.0),
        "gamma": real(low=0.0),
        "init": real(low=0.0, high=1.0, low_open=True),
        "cap": real(low=0.0, high=1.0, low_open=True),
        "ignore_index": integer(),
        "random_state": random_state,
    }

    def __init__(
        self,
        *,
        inputs: Inputs = "probs",
        alpha: float = 0.5,
        beta: float = 0.9,
        gamma: float = 8.0,
        init: float = 0.9,
        cap: float = 0.999,
        ignore_index: int = -1,
        shuffle: bool = True,
        random_state: Any = None,
    ) -> None:
        self.inputs = inputs
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.init = init
        self.cap = cap
        self.ignore_index = ignore_index
        self.shuffle = shuffle
        self.random_state = random_state

    def _update(self, conf: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """One instance: update ``thresholds_`` and return its pseudo-labels."""
        theta = self.thresholds_
        c = theta.size
        levels = np.clip(1.0 - float(self.alpha) * theta ** float(self.gamma), 0.0, 1.0)
        inst = _class_quantiles(
            np.concatenate([conf, theta]), np.concatenate([pred, np.arange(c)]), levels, c
        )
        theta = float(self.beta) * theta + (1.0 - float(self.beta)) * inst
        theta[theta >= 1.0] = float(self.cap)
        self.thresholds_ = theta
        return np.where(conf >= theta[pred], pred, int(self.ignore_index))

    def _finish(
        self, p: np.ndarray, labels: np.ndarray, t: Any, classes: Any, item_ids: Any
    ) -> None:
        sel = labels != int(self.ignore_index)
        out = p.copy()
        rows = np.flatnonzero(sel)
        out[rows] = 0.0
        out[rows, labels[rows]] = 1.0
        self.labels_ = labels
        self.selected_ = sel
        self.soft_labels_ = make_soft_labels(
            out, classes=classes, item_ids=item_ids, teachers=t, method=self.name,
            params=self.get_params(),
        )

    def fit(
        self, outputs: Any, /, *, groups: Any = None, classes: Any = None, item_ids: Any = None
    ) -> InstanceAdaptiveThreshold:
        """Visit the instances named by ``groups`` (one value per item; default: all items
        are one instance), starting from ``theta = init``.

        Parameters
        ----------
        outputs : array-like of shape (n_items, n_classes)
            One teacher's outputs (``inputs`` says what they hold).
        groups : array-like of shape (n_items,), optional
            The instance of each item; instances are visited in sorted order, or
            shuffled with ``shuffle``.
        classes, item_ids : array-like, optional
            Class names and item ids of ``soft_labels_``.

        Returns
        -------
        self
        """
        self._validate_params()
        p, t = _conf_pred(outputs, self.inputs, type(self).__name__)
        n, c = p.shape
        check_ignore_index(self.ignore_index, c, type(self).__name__)
        conf, pred = p.max(axis=1), p.argmax(axis=1)
        if groups is None:
            inverse = np.zeros(n, dtype=np.int64)
            uniq: np.ndarray = np.array([0])
        else:
            g = np.asarray(groups)
            if g.shape != (n,):
                raise InputError(f"groups must have shape ({n},), one per item; got {g.shape}.")
            uniq, inverse = np.unique(g, return_inverse=True)
        rng = check_random_state(self.random_state)
        visit = rng.permutation(uniq.size) if self.shuffle else np.arange(uniq.size)
        order = np.argsort(inverse, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=uniq.size))])
        self.thresholds_ = np.full(c, float(self.init))
        labels = np.empty(n, dtype=np.int64)
        for k in visit:  # the moving average is sequential: one step per instance
            rows = order[bounds[k]:bounds[k + 1]]
            labels[rows] = self._update(conf[rows], pred[rows])
        self.instance_order_ = uniq[visit]
        self._finish(p, labels, t, classes, item_ids)
        return self

    def partial_fit(self, outputs: Any) -> InstanceAdaptiveThreshold:
        """Update the thresholds with one more instance (all rows of ``outputs``);
        ``labels_`` then hold that instance's pseudo-labels.

        Parameters
        ----------
        outputs : array-like of shape (n_items, n_classes)
            The instance's outputs, with the classes the thresholds were fitted for.

        Returns
        -------
        self
        """
        self._validate_params()
        p, t = _conf_pred(outputs, self.inputs, type(self).__name__)
        check_ignore_index(self.ignore_index, p.shape[1], type(self).__name__)
        if not hasattr(self, "thresholds_"):
            self.thresholds_ = np.full(p.shape[1], float(self.init))
            self.instance_order_ = np.array([], dtype=np.int64)
        elif p.shape[1] != self.thresholds_.size:
            raise InputError(
                f"outputs have {p.shape[1]} classes; the thresholds were fitted for "
                f"{self.thresholds_.size}."
            )
        labels = self._update(p.max(axis=1), p.argmax(axis=1))
        self._finish(p, labels, t, None, None)
        return self

    def predict(self, outputs: Any) -> np.ndarray:
        """Pseudo-labels of ``outputs`` under the current thresholds (no update).

        Parameters
        ----------
        outputs : array-like of shape (n_items, n_classes)

        Returns
        -------
        ndarray of shape (n_items,)
            Class indices, ``ignore_index`` below the threshold.
        """
        check_is_fitted(self, "thresholds_")
        return threshold_pseudo_labels(
            outputs, self.thresholds_, inputs=self.inputs, ignore_index=self.ignore_index
        )


def class_balanced_thresholds(outputs: Any, *, inputs: Inputs, portion: float = 0.2) -> np.ndarray:
    """CBST per-class thresholds (Zou et al., ECCV 2018): for each predicted class, the
    ``1 - portion`` quantile of its items' confidences, so that about ``portion`` of the
    items predicted as each class pass. A class nobody predicts gets 1.0.

    Parameters
    ----------
    outputs : array-like of shape (n_items, n_classes)
        One teacher's outputs.
    inputs : {"logits", "probs"}
        What ``outputs`` hold (required).
    portion : float in [0, 1], default=0.2
        Share of each class's items meant to pass its threshold.

    Returns
    -------
    ndarray of shape (n_classes,)
        One threshold per class, for :func:`threshold_pseudo_labels`.

    Examples
    --------
    >>> p = [[0.9, 0.1], [0.7, 0.3], [0.6, 0.4], [0.4, 0.6]]
    >>> class_balanced_thresholds(p, inputs="probs", portion=0.5).round(3).tolist()
    [0.7, 0.6]
    """
    owner = "class_balanced_thresholds"
    p, _ = _conf_pred(outputs, inputs, owner)
    frac = check_float(portion, "portion", owner, low=0.0, high=1.0)
    c = p.shape[1]
    q = _class_quantiles(p.max(axis=1), p.argmax(axis=1), np.full(c, 1.0 - frac), c)
    return np.where(np.isnan(q), 1.0, q)


def threshold_pseudo_labels(
    outputs: Any, thresholds: Any, *, inputs: Inputs, ignore_index: int = -1
) -> np.ndarray:
    """``argmax_c p`` where ``max_c p >= thresholds[argmax_c p]``, else ``ignore_index``.

    Parameters
    ----------
    outputs : array-like of shape (n_items, n_classes)
        One teacher's outputs.
    thresholds : array-like of shape (n_classes,)
        One threshold per class (e.g. :func:`class_balanced_thresholds`); another shape
        or a NaN raises :class:`InputError`.
    inputs : {"logits", "probs"}
        What ``outputs`` hold. Required: never guessed from the values.
    ignore_index : int, default=-1
        The label of the items below their class's threshold; not a class index (else
        :class:`InputError`).

    Returns
    -------
    ndarray of shape (n_items,)
        A class index per item, or ``ignore_index``.

    Examples
    --------
    >>> threshold_pseudo_labels([[0.9, 0.1], [0.3, 0.7]], [0.8, 0.8], inputs="probs").tolist()
    [0, -1]
    """
    owner = "threshold_pseudo_labels"
    p, _ = _conf_pred(outputs, inputs, owner)
    th = np.asarray(thresholds, dtype=np.float64)
    if th.shape != (p.shape[1],):
        raise InputError(
            f"thresholds must have one entry per class, shape ({p.shape[1]},); got {th.shape}."
        )
    if np.isnan(th).any():
        raise InputError("thresholds contain NaN.")
    ignore = check_ignore_index(ignore_index, p.shape[1], owner)
    conf, pred = p.max(axis=1), p.argmax(axis=1)
    return np.where(conf >= th[pred], pred, ignore)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def class_aware_correction(
    outputs: Any,
    observed: Any,
    *,
    inputs: Inputs,
    tau: float = 0.7,
    margin: float = 1.0,
) -> np.ndarray:
    """COMIC's class-aware correction of multi-label targets with missing positives
    (ICCV 2023; ``ReflectiveLabelCorrectorLoss`` of the official code).

    Per entry, ``q = sigmoid(z - margin * y)`` (the margin is taken off observed positives);
    ``qbar_c`` is the mean of ``q[:, c]`` over the rows given (the batch). An unobserved
    entry is recalled as positive when ``q > tau`` and ``q > qbar_c``; observed positives
    stay positive.

    Parameters
    ----------
    outputs : array-like of shape (n_items, n_classes)
        Per-class logits, or independent per-class probabilities in [0, 1]
        (``inputs="probs"``; rows need not sum to 1).
    observed : array-like of shape (n_items, n_classes)
        0/1 observed labels (missing positives are 0).
    inputs : {"logits", "probs"}
    tau : float in [0, 1], default 0.7
    margin : float >= 0, default 1.0

    Returns
    -------
    ndarray of shape (n_items, n_classes)
        Corrected 0/1 targets (float).

    Examples
    --------
    >>> z = [[3.0, 0.0], [-3.0, 3.0]]
    >>> class_aware_correction(z, [[0, 0], [0, 1]], inputs="logits").tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    owner = "class_aware_correction"
    inputs = check_inputs(inputs, owner)
    try:
        x = np.asarray(outputs, dtype=np.float64)
        y = np.asarray(observed, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"outputs and observed must be numeric; {err}") from None
    if x.ndim != 2 or x.size == 0:
        raise InputError(
            f"outputs must be a non-empty 2-D array (n_items, n_classes); got shape {x.shape}."
        )
    if y.shape != x.shape:
        raise InputError(f"observed has shape {y.shape} but outputs have shape {x.shape}.")
    bad = ~np.isfinite(x)
    if inputs == "probs":
        bad |= (x < 0) | (x > 1)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        what = "probabilities in [0, 1]" if inputs == "probs" else "finite logits"
        raise InputError(f"outputs must be {what}; row {r}, column {c} is {x[r, c]}.")
    off = (y != 0) & (y != 1)
    if off.any():
        r, c = np.argwhere(off)[0]
        raise InputError(f"observed must be 0/1; row {r}, column {c} is {y[r, c]}.")
    t = check_float(tau, "tau", owner, low=0.0, high=1.0)
    m = check_float(margin, "margin", owner, low=0.0)
    if inputs == "logits":
        q = _sigmoid(x - m * y)
    else:  # sigmoid(logit(p) - m*y) without forming logit(p): exact at p = 0 and 1
        q = x / (x + (1.0 - x) * np.exp(m * y))
    recall = (q > t) & (q > q.mean(axis=0, keepdims=True))
    return np.where(recall, 1.0, y)
