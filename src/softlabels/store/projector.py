"""A HeLlO-style label projector: a small low-rank head over frozen features, stored in
place of the teacher's labels.

HeLlO (Yu, Liu, Chen, Ye and Wang, ICCV 2025) replaces the per-augmentation soft labels
of dataset distillation by a projector ``g(x) = W^T phi(x)`` over a frozen open encoder
``phi``, whose head starts from class text embeddings and is adapted to the teacher by
low-rank matrices. Only what cannot be recomputed is stored; every augmented view is
labelled on the fly by ``softmax(g(x) / T)``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import log_softmax

from softlabels._optional import require
from softlabels.core.errors import InputError, InvalidParameterError, NotFittedError
from softlabels.core.validation import check_features, check_float, check_int, check_probs

__all__ = ["LabelProjector"]


def _row_centre(z: np.ndarray) -> np.ndarray:
    return z - z.mean(axis=1, keepdims=True)


class LabelProjector:
    """Low-rank head ``logits = s * phi W0 + phi A B + b`` fitted to a teacher's labels.

    Parameters
    ----------
    rank : int, default=4
        Rank of the learned update ``A B`` (``A``: ``(n_features, rank)``, ``B``:
        ``(rank, n_classes)``).
    init : {"zeros", "class_means"} or ndarray of shape (n_features, n_classes), default="zeros"
        The fixed head ``W0``. ``"class_means"``: the teacher-probability-weighted
        mean feature of each class (our stand-in for HeLlO's text embeddings); an array:
        a head given by the caller (e.g. text embeddings of class prompts).
    init_is_free : bool, default=False
        Whether ``W0`` can be regenerated without storing it (text embeddings of class
        names can be; class means of data cannot). When False, :meth:`state_bytes`
        counts it.
    loss : {"kl", "mse"}, default="kl"
        ``"mse"``: least squares on row-centred teacher logits, solved in closed form by
        reduced-rank ridge regression. ``"kl"``: that solution refined by L-BFGS on the
        mean ``KL(softmax(z_t / T) || softmax(z / T))``.
    temperature : float, default=1.0
        T of the KL fit; use the same T to read labels (:meth:`predict_proba`).
    alpha : float, default=1e-6
        Ridge penalty of the closed-form step (per item; scaled by ``n_items``).
    max_iter : int, default=300
        L-BFGS iterations of the KL refinement.
    dtype : numpy dtype, default=float32
        Storage type of the fitted parameters; predictions use the stored values.

    Attributes
    ----------
    A_, B_ : ndarray
        The low-rank factors.
    bias_ : ndarray of shape (n_classes,)
    scale_ : float
        Weight ``s`` of ``W0`` (0 for ``init="zeros"``).
    W0_ : ndarray of shape (n_features, n_classes)
    n_features_in_, n_classes_ : int

    Notes
    -----
    HeLlO adapts a CLIP encoder and its text-initialised head with LoRA-like low-rank
    matrices so that the projector reproduces the teacher's soft labels, optionally
    also updating the synthetic images [1]_. Its losses, ranks and adapted layers are
    not public (no code was released). Departures here: the encoder is any frozen
    feature map applied by the caller (features in, logits out), only the head is
    adapted, the head gets one learned scale for ``W0`` and a bias, the fit is a
    closed-form reduced-rank regression followed by an optional KL refinement (numpy and
    scipy, no gradient steps through the encoder), and there is no image update. A
    teacher whose logits are exactly ``phi (W0 + U) + b`` with ``rank(U) <= rank`` is
    recovered exactly by ``loss="mse"`` (up to a per-item shift of the logits, which the
    softmax ignores).

    References
    ----------
    .. [1] R. Yu, S. Liu, Z. Chen, J. Ye and X. Wang, "Heavy Labels Out! Dataset
       Distillation with Label Space Lightening", ICCV 2025 (arXiv:2408.08201).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> phi = rng.normal(size=(200, 6))
    >>> teacher = phi @ (rng.normal(size=(6, 1)) @ rng.normal(size=(1, 4)))
    >>> proj = LabelProjector(rank=1, loss="mse").fit(phi, logits=teacher)
    >>> bool(np.allclose(proj.predict_proba(phi), np.exp(teacher) / np.exp(teacher).sum(1, keepdims=True), atol=1e-5))
    True
    >>> proj.state_bytes()  # A (6x1), B (1x4), bias (4), scale: float32
    60
    """

    def __init__(
        self,
        rank: int = 4,
        *,
        init: Any = "zeros",
        init_is_free: bool = False,
        loss: Literal["kl", "mse"] = "kl",
        temperature: float = 1.0,
        alpha: float = 1e-6,
        max_iter: int = 300,
        dtype: Any = np.float32,
    ) -> None:
        self.rank = rank
        self.init = init
        self.init_is_free = init_is_free
        self.loss = loss
        self.temperature = temperature
        self.alpha = alpha
        self.max_iter = max_iter
        self.dtype = dtype

    # ------------------------------------------------------------------ fitting
    def _head(self, phi: np.ndarray, probs: np.ndarray) -> np.ndarray:
        d, c = phi.shape[1], probs.shape[1]
        if isinstance(self.init, str):
            if self.init == "zeros":
                return np.zeros((d, c))
            if self.init == "class_means":
                w = probs / np.maximum(probs.sum(axis=0, keepdims=True), 1e-12)
                return phi.T @ w
            raise InvalidParameterError(
                f"The 'init' parameter of LabelProjector must be 'zeros', 'class_means' or an "
                f"array of shape (n_features, n_classes); got {self.init!r}."
            )
        w0 = np.asarray(self.init, dtype=np.float64)
        if w0.shape != (d, c):
            raise InputError(f"init must have shape (n_features, n_classes) = ({d}, {c}); got {w0.shape}.")
        if not np.all(np.isfinite(w0)):
            raise InputError("init contains non-finite values.")
        return w0

    def fit(self, features: Any, *, logits: Any = None, probs: Any = None) -> "LabelProjector":
        """Fit the head to teacher ``logits`` or teacher ``probs`` (exactly one) on
        ``features`` of shape ``(n_items, n_features)``.

        Parameters
        ----------
        features : array-like of shape (n_items, n_features)
            The frozen encoder's features.
        logits : array-like of shape (n_items, n_classes), optional
            The teacher's logits.
        probs : array-like of shape (n_items, n_classes), optional
            The teacher's probabilities, instead of ``logits`` (giving both or neither
            raises :class:`InputError`). The teacher needs at least two classes.

        Returns
        -------
        self
        """
        rank = check_int(self.rank, "rank", "LabelProjector", low=1)
        t = check_float(self.temperature, "temperature", "LabelProjector", low=0.0, low_open=True)
        alpha = check_float(self.alpha, "alpha", "LabelProjector", low=0.0)
        max_iter = check_int(self.max_iter, "max_iter", "LabelProjector", low=0)
        if self.loss not in ("kl", "mse"):
            raise InvalidParameterError(
                f"The 'loss' parameter of LabelProjector must be 'kl' or 'mse'; got {self.loss!r}."
            )
        if (logits is None) == (probs is None):
            raise InputError("LabelProjector.fit takes exactly one of logits= or probs=.")
        phi = check_features(features)
        n, d = phi.shape
        if logits is not None:
            z = check_features(logits, name="logits", n_items=n)
        else:
            p = check_probs(probs, name="probs")
            if p.shape[0] != n:
                raise InputError(f"probs has {p.shape[0]} rows but features has {n}.")
            z = np.log(np.maximum(p, 1e-12)) * t  # logits at temperature T, up to a shift
        c = z.shape[1]
        if c < 2:
            raise InputError(f"the teacher must have at least 2 classes; got {c}.")
        target_p = np.exp(log_softmax(z / t, axis=1))
        w0 = self._head(phi, target_p)
        zc = _row_centre(z)
        phi_mean = phi.mean(axis=0)
        f = phi - phi_mean
        scale, a_mat, b_mat = self._reduced_rank(f, zc - zc.mean(axis=0), w0, rank, alpha * n)
        bias = zc.mean(axis=0) - phi_mean @ (scale * w0 + a_mat @ b_mat)
        if self.loss == "kl" and max_iter > 0:
            scale, a_mat, b_mat, bias = self._refine_kl(phi, w0, target_p, t, scale, a_mat, b_mat, bias, max_iter)
        self.W0_ = w0.astype(self.dtype)
        self.scale_ = float(np.asarray(scale, dtype=self.dtype))
        self.A_ = a_mat.astype(self.dtype)
        self.B_ = b_mat.astype(self.dtype)
        self.bias_ = (bias - bias.mean()).astype(self.dtype)
        self.n_features_in_, self.n_classes_ = d, c
        return self

    @staticmethod
    def _reduced_rank(
        f: np.ndarray, target: np.ndarray, w0: np.ndarray, rank: int, ridge: float
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """``min_{s, rank(U) <= rank} ||f (s W0 + U) - target||`` (ridge-regularised).

        The ridge coefficients are linear in ``s``: ``M(s) = M_t - s M_0``; for a given
        ``s`` the best ``U`` keeps the top ``rank`` right singular directions of
        ``f M(s)``, so only the 1-D tail of its spectrum is minimised over ``s``.
        """
        d, c = w0.shape
        gram = f.T @ f + ridge * np.eye(d)
        coef = np.linalg.lstsq(gram, f.T @ np.hstack([target, _row_centre(f @ w0)]), rcond=None)[0]
        m_t, m_0 = coef[:, :c], coef[:, c:]
        r_f = np.linalg.qr(f, mode="r")  # f M and r_f M have the same singular values

        def tail(s: float) -> float:
            sv = np.linalg.svd(r_f @ (m_t - s * m_0), compute_uv=False)
            return float((sv[rank:] ** 2).sum())

        scale = 0.0
        base = f @ m_0
        denom = float((base * base).sum())
        if denom > 1e-12 * max(float((f * f).sum()), 1.0):
            s0 = float((base * (f @ m_t)).sum() / denom)  # least squares with no update
            res = minimize_scalar(tail, bracket=(0.0, s0) if s0 != 0.0 else (0.0, 1.0))
            scale = float(res.x) if tail(float(res.x)) <= tail(s0) else s0
        m = m_t - scale * m_0
        _, _, vt = np.linalg.svd(r_f @ m, full_matrices=False)
        r = min(rank, vt.shape[0])
        a_mat = np.zeros((d, rank))
        b_mat = np.zeros((rank, c))
        a_mat[:, :r] = m @ vt[:r].T
        b_mat[:r] = vt[:r]
        return scale, a_mat, b_mat

    @staticmethod
    def _refine_kl(phi, w0, target_p, t, scale, a_mat, b_mat, bias, max_iter):  # noqa: ANN001, ANN205
        n, d = phi.shape
        rank, c = b_mat.shape
        base = phi @ w0
        sizes = [1, d * rank, rank * c, c]
        ent = float((target_p * np.log(np.maximum(target_p, 1e-300))).sum() / n)

        def unpack(x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
            s, a, b, bb = np.split(x, np.cumsum(sizes)[:-1])
            return float(s[0]), a.reshape(d, rank), b.reshape(rank, c), bb

        def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
            s, a, b, bb = unpack(x)
            pa = phi @ a
            logq = log_softmax((s * base + pa @ b + bb) / t, axis=1)
            loss = ent - float((target_p * logq).sum() / n)
            g = (np.exp(logq) - target_p) / (t * n)  # d loss / d logits
            grad = np.concatenate([
                [float((g * base).sum())],
                (phi.T @ (g @ b.T)).ravel(),
                (pa.T @ g).ravel(),
                g.sum(axis=0),
            ])
            return loss, grad

        x0 = np.concatenate([[scale], a_mat.ravel(), b_mat.ravel(), bias])
        res = minimize(fun, x0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
        x = res.x if res.fun <= fun(x0)[0] else x0
        return unpack(x)

    # ------------------------------------------------------------------ use
    def _check_fitted(self) -> None:
        if not hasattr(self, "A_"):
            raise NotFittedError("This LabelProjector is not fitted yet; call fit() first.")

    def decision_function(self, features: Any) -> np.ndarray:
        """Projector logits ``s phi W0 + phi A B + b``, shape ``(n, n_classes)``.

        Parameters
        ----------
        features : array-like of shape (n, n_features)
            With the fitted number of columns.
        """
        self._check_fitted()
        phi = check_features(features, fitted=("projector", self.n_features_in_))
        w = self.scale_ * self.W0_.astype(np.float64) + self.A_.astype(np.float64) @ self.B_.astype(np.float64)
        return phi @ w + self.bias_.astype(np.float64)

    def predict_proba(self, features: Any) -> np.ndarray:
        """Labels ``softmax(logits / T)`` at the fit's temperature.

        Parameters
        ----------
        features : array-like of shape (n, n_features)
            With the fitted number of columns.
        """
        t = float(self.temperature)
        return np.exp(log_softmax(self.decision_function(features) / t, axis=1))

    def state_bytes(self) -> int:
        """Bytes needed to regenerate the labels given the frozen encoder: the factors,
        the bias, the scale and, unless ``init_is_free`` or ``init="zeros"``, ``W0``."""
        self._check_fitted()
        n = self.A_.nbytes + self.B_.nbytes + self.bias_.nbytes + np.dtype(self.dtype).itemsize
        if not self.init_is_free and not (isinstance(self.init, str) and self.init == "zeros"):
            n += self.W0_.nbytes
        return int(n)

    def to_torch(self) -> Any:
        """A frozen ``torch.nn.Module`` mapping features ``(n, n_features)`` to logits
        (needs the ``torch`` extra)."""
        self._check_fitted()
        torch = require("torch", extra="torch")
        w = self.scale_ * self.W0_.astype(np.float64) + self.A_.astype(np.float64) @ self.B_.astype(np.float64)
        layer = torch.nn.Linear(self.n_features_in_, self.n_classes_)
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(w.T, dtype=torch.float32))
            layer.bias.copy_(torch.as_tensor(self.bias_, dtype=torch.float32))
        layer.requires_grad_(False)
        return layer.eval()
