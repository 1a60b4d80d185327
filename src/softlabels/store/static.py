"""INFER's static labels: one stored logit vector per item, interpolated under Mixup.

Instead of one teacher label per augmentation per epoch, INFER (Zhang, Du, Liu and
Zhou, ICLR 2025) stores the mean logits of its teachers on each un-augmented image once,
and labels a Mixup view by interpolating those logits with the Mixup weight before the
tempered softmax.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import softmax as _softmax
from softlabels.core.validation import check_finite, check_float, check_random_state

__all__ = ["StaticLabels", "MixedBatch", "mixup_with_static_labels"]

Space = Literal["logits", "probs"]


def _check_index(index: Any, n_items: int, name: str) -> np.ndarray:
    idx = np.asarray(index)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise InputError(f"{name} must be a 1-D array of integer item positions; got {idx.dtype} {idx.shape}.")
    if idx.size and (idx.min() < 0 or idx.max() >= n_items):
        raise InputError(f"{name} must lie in [0, {n_items - 1}]; got values in [{idx.min()}, {idx.max()}].")
    return idx.astype(np.intp)


@dataclass(frozen=True)
class StaticLabels:
    """One stored logit vector per item (INFER's static labelling).

    Parameters
    ----------
    logits : ndarray of shape (n_items, n_classes)
        Mean teacher logits on each un-augmented item, kept in their own dtype.

    Notes
    -----
    INFER stores ``z_i = (1/M) sum_m f_m(x_i)``, the mean logits of M teachers on the
    un-augmented synthetic image, and labels a Mixup view ``lam x_i + (1 - lam) x_j``
    with ``softmax((lam z_i + (1 - lam) z_j) / T)`` [1]_ (official code:
    ``ufc_validation/val_static.py``, T = 30, Beta(0.8, 0.8)). The label does not
    depend on the crop or flip of the view: that is what makes it static, and the
    storage is ``n_items x n_classes`` numbers, once.

    Departures: :meth:`from_teachers` takes the teachers' logits rather than the
    models; the stored dtype is a choice (float16 by default, the official code keeps
    float32); :meth:`mix` also offers interpolation of probabilities
    (``space="probs"``) for comparison, which is *not* INFER's rule.

    References
    ----------
    .. [1] X. Zhang, J. Du, P. Liu and J. T. Zhou, "Breaking Class Barriers: Efficient
       Dataset Distillation via Inter-Class Feature Compensator", ICLR 2025.

    Examples
    --------
    >>> s = StaticLabels.from_teachers([[[0.0, 2.0]], [[2.0, 0.0]]], dtype=np.float32)
    >>> s.logits.tolist(), s.nbytes()
    ([[1.0, 1.0]], 8)
    """

    logits: np.ndarray

    def __post_init__(self) -> None:
        z = np.asarray(self.logits)
        if z.ndim != 2:
            raise InputError(f"logits must have shape (n_items, n_classes); got {z.shape}.")
        check_finite(z.astype(np.float64), "logits")

    @classmethod
    def from_teachers(cls, teacher_logits: Any, *, dtype: Any = np.float16) -> "StaticLabels":
        """Mean over teachers of ``teacher_logits``, shape ``(n_teachers, n_items,
        n_classes)`` (a 2-D array is one teacher), stored as ``dtype``.

        Parameters
        ----------
        teacher_logits : array-like of shape (n_teachers, n_items, n_classes)
            Finite; at least one teacher.
        dtype : numpy dtype, default=float16
            Storage type of the mean logits.

        Returns
        -------
        StaticLabels
        """
        z = np.asarray(teacher_logits, dtype=np.float64)
        if z.ndim == 2:
            z = z[None]
        if z.ndim != 3 or z.shape[0] == 0:
            raise InputError(
                f"teacher_logits must have shape (n_teachers, n_items, n_classes); got {z.shape}."
            )
        check_finite(z.reshape(-1, z.shape[-1]), "teacher_logits")
        return cls(z.mean(axis=0).astype(dtype))

    @property
    def n_items(self) -> int:
        return int(self.logits.shape[0])

    def nbytes(self) -> int:
        """Bytes of the stored logits."""
        return int(np.asarray(self.logits).nbytes)

    def probs(self, index: Any = None, *, temperature: float = 1.0) -> np.ndarray:
        """``softmax(z / T)`` for the items at ``index`` (all items by default).

        Parameters
        ----------
        index : array-like of int, optional
            Item positions.
        temperature : float > 0, default=1.0
            ``T``.

        Returns
        -------
        ndarray of shape (n_index, n_classes)
        """
        t = check_float(temperature, "temperature", "StaticLabels.probs", low=0.0, low_open=True)
        z = np.asarray(self.logits, dtype=np.float64)
        if index is not None:
            z = z[_check_index(index, self.n_items, "index")]
        return _softmax(z / t)

    def mix(
        self,
        index: Any,
        partner: Any,
        lam: Any,
        *,
        space: Space = "logits",
        temperature: float = 1.0,
    ) -> np.ndarray:
        """Soft labels of Mixup views ``lam x[index] + (1 - lam) x[partner]``.

        Parameters
        ----------
        index, partner : array-like of int, shape (n,)
            Item positions of the two mixed items.
        lam : float or array-like of shape (n,)
            Weight of ``index``'s item, in [0, 1].
        space : {"logits", "probs"}, default="logits"
            ``"logits"``: ``softmax((lam z_i + (1 - lam) z_j) / T)`` (INFER);
            ``"probs"``: ``lam softmax(z_i / T) + (1 - lam) softmax(z_j / T)``.
        temperature : float, default=1.0
            The softmax temperature T.

        Returns
        -------
        ndarray of shape (n, n_classes)

        Examples
        --------
        >>> s = StaticLabels(np.log(np.array([[0.8, 0.2], [0.2, 0.8]])))
        >>> s.mix([0], [1], 0.5).round(3).tolist()
        [[0.5, 0.5]]
        >>> s.mix([0], [1], 0.75).round(3).tolist(), s.mix([0], [1], 0.75, space="probs").round(3).tolist()
        ([[0.667, 0.333]], [[0.65, 0.35]])
        """
        i = _check_index(index, self.n_items, "index")
        j = _check_index(partner, self.n_items, "partner")
        if i.shape != j.shape:
            raise InputError(f"index and partner must have the same length; got {i.size} and {j.size}.")
        lam_arr = np.broadcast_to(np.asarray(lam, dtype=np.float64), i.shape)
        if not np.all(np.isfinite(lam_arr)) or np.any((lam_arr < 0) | (lam_arr > 1)):
            raise InputError("lam must lie in [0, 1].")
        t = check_float(temperature, "temperature", "StaticLabels.mix", low=0.0, low_open=True)
        z = np.asarray(self.logits, dtype=np.float64)
        lam_col = lam_arr[:, None]
        if space == "logits":
            return _softmax((lam_col * z[i] + (1.0 - lam_col) * z[j]) / t)
        if space == "probs":
            return lam_col * _softmax(z[i] / t) + (1.0 - lam_col) * _softmax(z[j] / t)
        raise InvalidParameterError(f"space must be 'logits' or 'probs'; got {space!r}.")


@dataclass(frozen=True)
class MixedBatch:
    """A Mixup batch: ``inputs = lam x + (1 - lam) x[perm]`` and its soft ``targets``.

    Parameters
    ----------
    inputs : ndarray of shape (n, ...)
        The mixed batch.
    targets : ndarray of shape (n, n_classes)
        Its soft labels, mixed with the same ``lam`` and ``perm``.
    lam : float
        The mixing weight of the batch itself.
    perm : ndarray of shape (n,)
        The permutation of the batch mixed in.
    """

    inputs: np.ndarray
    targets: np.ndarray
    lam: float
    perm: np.ndarray


def mixup_with_static_labels(
    x: Any,
    index: Any,
    static: StaticLabels,
    *,
    alpha: float = 0.8,
    space: Space = "logits",
    temperature: float = 1.0,
    random_state: Any = None,
) -> MixedBatch:
    """Mix a batch with one ``lam ~ Beta(alpha, alpha)`` and a random permutation, and
    label it from static labels.

    Parameters
    ----------
    x : ndarray of shape (n, ...)
        The batch (already cropped and flipped).
    index : array-like of int, shape (n,)
        Item position of each row of ``x`` in ``static``.
    static : StaticLabels
    alpha : float, default=0.8
        Beta parameter (INFER's default).
    space, temperature
        See :meth:`StaticLabels.mix`. INFER uses ``space="logits"`` and T = 30.
    random_state : None, int or Generator

    Returns
    -------
    MixedBatch

    Examples
    --------
    >>> s = StaticLabels(np.array([[2.0, 0.0], [0.0, 2.0]]))
    >>> b = mixup_with_static_labels(np.eye(2), [0, 1], s, random_state=0)
    >>> bool(np.allclose(b.inputs, b.lam * np.eye(2) + (1 - b.lam) * np.eye(2)[b.perm]))
    True
    """
    arr = np.asarray(x, dtype=np.float64)
    idx = _check_index(index, static.n_items, "index")
    if arr.shape[0] != idx.size:
        raise InputError(f"x has {arr.shape[0]} rows but index has {idx.size}.")
    a = check_float(alpha, "alpha", "mixup_with_static_labels", low=0.0, low_open=True)
    rng = check_random_state(random_state)
    lam = float(rng.beta(a, a))
    perm = rng.permutation(idx.size)
    inputs = lam * arr + (1.0 - lam) * arr[perm]
    targets = static.mix(idx, idx[perm], lam, space=space, temperature=temperature)
    return MixedBatch(inputs, targets, lam, perm)
