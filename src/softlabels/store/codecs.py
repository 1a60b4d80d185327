"""Codecs: compact encodings of soft-label rows, each with its size and its loss.

A codec turns an ``(n, C)`` matrix of probabilities into a few arrays
(:meth:`Codec.encode`) and back (:meth:`Codec.decode`); :meth:`Codec.nbytes` says how
many bytes the arrays take and :func:`fidelity` how far the decoded rows are from the
original (largest absolute error, mean KL(original ‖ decoded)).

The codecs:

* :class:`Dense` -- every probability, as float32, float16 or bfloat16.
* :class:`LogQuant` -- every probability as an 8-bit code on a log scale.
* :class:`TopK` -- the ``k`` most probable classes, their indices (int16, uint16 or
  int32) and values (float32, float16, bfloat16 or 8-bit log codes), rebuilt as in FKD
  (Shen & Xing, ECCV 2022): ``"marginal"`` spreads the remaining mass uniformly over the
  other ``C - k`` classes (FKD's marginal smoothing); ``"renorm"`` zeroes them and
  rescales the top ``k`` to sum to 1.
* :class:`TopKPacked` -- top-k with each entry packed into one 16-bit word (the class
  index in the high bits, a log-scale value code in the rest; 10 + 6 bits for
  C = 1000).
* :class:`Sparse` -- the non-zero entries of each row, exactly (float32 or float64);
  for crowd soft labels with a few classes per item.

Every encode takes rows that sum to 1 (within 1e-5, or a few units of the input's
precision) and refuses others, naming the row; every decode returns non-negative rows
that sum to 1.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from softlabels.core.errors import InputError
from softlabels.core.validation import SUM_ATOL

__all__ = [
    "Codec",
    "Dense",
    "LogQuant",
    "TopK",
    "TopKPacked",
    "Sparse",
    "Fidelity",
    "fidelity",
    "kl_rows",
    "codec_from_spec",
    "CODECS",
]

Arrays = dict[str, np.ndarray]

_INDEX_TYPES = {"int16": np.int16, "uint16": np.uint16, "int32": np.int32}
_FLOAT_TYPES = ("float32", "float16", "bfloat16")


# ---------------------------------------------------------------------------- helpers
def _check_probs(probs: Any) -> np.ndarray:
    p = np.asarray(probs)
    if p.ndim != 2:
        raise InputError(f"probabilities must be 2-D (n_rows, n_classes); got shape {p.shape}.")
    if p.shape[1] == 0:
        raise InputError("probabilities have no classes (0 columns).")
    if not np.issubdtype(p.dtype, np.floating):
        p = p.astype(np.float64)
    if p.size and not np.isfinite(p).all():
        raise InputError("probabilities contain NaN or infinite values.")
    if p.size and (p < 0).any():
        r, c = np.argwhere(p < 0)[0]
        raise InputError(f"probabilities must be non-negative (row {r}, column {c}: {p[r, c]}).")
    # the top-k codecs rebuild the other classes from 1 - sum(top k): rows must sum to 1,
    # within the tolerance of SoftLabels or a few units of the input's precision (float16)
    tol = max(SUM_ATOL, 4 * float(np.finfo(p.dtype).eps))
    sums = p.sum(axis=1, dtype=np.float64)
    off = np.flatnonzero(np.abs(sums - 1.0) > tol)
    if off.size:
        r = off[0]
        raise InputError(
            f"probabilities: {off.size} rows do not sum to 1 (row {r} sums to {sums[r]:.6g}; "
            f"tolerance {tol:g})."
        )
    return p


def _normalize(q: np.ndarray) -> np.ndarray:
    """Rows rescaled to sum to 1 (in place); an all-zero row becomes uniform."""
    s = q.sum(axis=1, keepdims=True)
    zero = s[:, 0] <= 0
    if zero.any():
        q[zero] = 1.0
        s[zero] = q.shape[1]
    q /= s
    return q


def to_bfloat16(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), rounded to nearest, ties to even."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))
    return (rounded >> np.uint32(16)).astype(np.uint16)


def from_bfloat16(bits: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns (uint16) -> float32."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << np.uint32(16)).view(np.float32)


def _check_index(index: str, n_classes: int) -> None:
    limit = np.iinfo(_INDEX_TYPES[index]).max + 1
    if n_classes > limit:
        raise InputError(f"index {index} holds at most {limit} classes; got {n_classes} (use int32).")


def _check_top_k(k: Any, fill: str, floor: float) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be an integer >= 1; got {k!r}.")
    if fill not in ("marginal", "renorm"):
        raise InputError(f"fill must be 'marginal' or 'renorm'; got {fill!r}.")
    if not 0 < floor < 1:
        raise InputError(f"floor must be in (0, 1); got {floor}.")


def _float_encode(x: np.ndarray, kind: str) -> np.ndarray:
    """``x`` (non-negative) in the storage type; a non-zero value never becomes 0 (it
    takes the smallest positive value of the type), so that the support is kept."""
    x = np.asarray(x)
    if kind == "bfloat16":
        out = to_bfloat16(x.astype(np.float32))
        out[(out == 0) & (x > 0)] = 1  # the smallest positive bfloat16
        return out
    out = x.astype(kind)
    out[(out == 0) & (x > 0)] = np.finfo(kind).smallest_subnormal
    return out


def _float_decode(x: np.ndarray, kind: str, dtype: Any) -> np.ndarray:
    if kind == "bfloat16":
        return from_bfloat16(x).astype(dtype, copy=False)
    return x.astype(dtype)


def _float_storage(kind: str) -> type:
    return np.uint16 if kind == "bfloat16" else np.dtype(kind).type


class _LogScale:
    """Codes ``1 .. 2**bits - 1`` for probabilities on a log scale from ``floor`` to 1
    (code ``2**bits - 1`` is exactly 1); code 0 is 0. Non-zero values below ``floor``
    take ``floor``, so that the support is kept."""

    def __init__(self, bits: int, floor: float) -> None:
        self.top = (1 << bits) - 1
        self.lo = math.log(floor)
        self.step = -self.lo / (self.top - 1)
        levels = np.exp(self.lo + self.step * np.arange(self.top, dtype=np.float64))
        self.table64 = np.concatenate([[0.0], levels])
        self.table64[-1] = 1.0
        self.table32 = self.table64.astype(np.float32)

    def encode(self, p: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            pos = (np.log(np.maximum(p, 0.0)) - self.lo) / self.step
        code = np.rint(np.maximum(pos, 0.0)) + 1
        return np.where(p > 0, np.minimum(code, self.top), 0)

    def decode(self, code: np.ndarray, dtype: Any) -> np.ndarray:
        table = self.table32 if np.dtype(dtype) == np.float32 else self.table64.astype(dtype)
        return table[code]


_CHUNK = 2048  # rows per step of the measurements (keeps temporaries small)


def kl_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(p ‖ q) of each row in nats (``inf`` where q is 0 and p is not).

    Parameters
    ----------
    p : array-like of shape (n_rows, n_classes)
        Reference distributions.
    q : array-like of shape (n_rows, n_classes)
        Approximating distributions.

    Returns
    -------
    ndarray of shape (n_rows,)
        Non-negative divergences (float64), computed in chunks of rows.
    """
    p = np.asarray(p)
    q = np.asarray(q)
    out = np.empty(p.shape[0], dtype=np.float64)
    for lo in range(0, p.shape[0], _CHUNK):
        pp = p[lo : lo + _CHUNK].astype(np.float64, copy=False)
        qq = q[lo : lo + _CHUNK].astype(np.float64, copy=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = pp * (np.log(pp) - np.log(qq))
        terms[pp == 0] = 0.0
        out[lo : lo + _CHUNK] = terms.sum(axis=1)
    return np.maximum(out, 0.0)


@dataclasses.dataclass(frozen=True)
class Fidelity:
    """How far decoded rows are from the original ones (see :func:`fidelity`).

    Parameters
    ----------
    n_rows : int
        Rows compared.
    max_abs_error : float
        Largest absolute difference of one probability.
    mean_kl, max_kl : float
        Mean and largest KL(original ‖ decoded) of a row, in nats; infinite where the
        decoded row drops a class the original has.
    """

    n_rows: int
    max_abs_error: float
    mean_kl: float
    max_kl: float

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> dict[str, Any]:
        """:meth:`as_dict` for a JSON file: a KL that is infinite (a class the decoded
        rows drop) is the string ``"inf"``, as standard JSON has no infinity."""
        return {k: v if not isinstance(v, float) or math.isfinite(v) else str(v)
                for k, v in self.as_dict().items()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Fidelity:
        """The inverse of :meth:`to_json` (plain numbers are read as they are).

        Parameters
        ----------
        d : dict
            With ``n_rows``, ``max_abs_error``, ``mean_kl`` and ``max_kl``.

        Returns
        -------
        Fidelity
        """
        return cls(int(d["n_rows"]), float(d["max_abs_error"]), float(d["mean_kl"]),
                   float(d["max_kl"]))

    def combine(self, other: Fidelity) -> Fidelity:
        """The fidelity of both sets of rows together.

        Parameters
        ----------
        other : Fidelity
            Of other rows.

        Returns
        -------
        Fidelity
        """
        n = self.n_rows + other.n_rows
        if n == 0:
            return self
        mean = (self.mean_kl * self.n_rows + other.mean_kl * other.n_rows) / n
        return Fidelity(
            n, max(self.max_abs_error, other.max_abs_error), mean, max(self.max_kl, other.max_kl)
        )


def fidelity(original: Any, decoded: Any) -> Fidelity:
    """Largest absolute error and mean/max KL(original ‖ decoded) over the rows.

    Parameters
    ----------
    original, decoded : array-like of shape (n_rows, n_classes)
        The rows before and after a round trip; other shapes that differ raise
        :class:`InputError`.

    Returns
    -------
    Fidelity
        All zeros for no rows.
    """
    p = np.asarray(original)
    q = np.asarray(decoded)
    if p.shape != q.shape:
        raise InputError(f"original has shape {p.shape} but decoded has shape {q.shape}.")
    if p.shape[0] == 0:
        return Fidelity(0, 0.0, 0.0, 0.0)
    kl = kl_rows(p, q)
    err = max(
        float(np.abs(p[lo : lo + _CHUNK].astype(np.float64) - q[lo : lo + _CHUNK]).max())
        for lo in range(0, p.shape[0], _CHUNK)
    )
    return Fidelity(int(p.shape[0]), err, float(kl.mean()), float(kl.max()))


def rows_of(codec: Codec, arrays: Mapping[str, np.ndarray], lo: int, hi: int) -> Arrays:
    """The encoded arrays of rows ``lo:hi``."""
    if isinstance(codec, Sparse):
        return {"offsets": np.asarray(arrays["offsets"])[lo : hi + 1],
                "indices": arrays["indices"], "values": arrays["values"]}
    return {k: v[lo:hi] for k, v in arrays.items()}


def measure(codec: Codec, arrays: Mapping[str, np.ndarray], original: Any) -> Fidelity:
    """The fidelity of encoded rows to ``original``, decoded a block at a time."""
    p = np.asarray(original)
    n = p.shape[0]
    total = Fidelity(0, 0.0, 0.0, 0.0)
    for lo in range(0, n, _CHUNK):
        hi = min(lo + _CHUNK, n)
        q = codec.decode(rows_of(codec, arrays, lo, hi), p.shape[1], dtype=np.float64)
        total = total.combine(fidelity(p[lo:hi], q))
    return total


# ----------------------------------------------------------------------------- codecs
class Codec:
    """Base class: a row encoding of probability matrices.

    Subclasses are frozen dataclasses whose fields are the codec's parameters; ``name``
    and the parameters make its spec (:meth:`spec`, :func:`codec_from_spec`).
    """

    name: ClassVar[str] = ""
    #: whether every row takes the same number of bytes
    fixed_width: ClassVar[bool] = True

    def spec(self) -> dict[str, Any]:
        return {"codec": self.name, **dataclasses.asdict(self)}  # type: ignore[call-overload]

    def describe(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(self).items())  # type: ignore[call-overload]
        return f"{self.name}({params})"

    def _python_numbers(self) -> None:
        """numpy scalar parameters as Python numbers (the spec is written as JSON)."""
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if isinstance(value, (np.integer, np.floating, np.bool_)):
                object.__setattr__(self, field.name, value.item())

    def check(self, n_classes: int) -> None:
        """Raise :class:`InputError` when this codec cannot hold ``n_classes`` classes.

    Parameters
    ----------
    n_classes : int
    """

    def encode(self, probs: Any) -> Arrays:  # pragma: no cover - abstract
        """The encoded arrays of the rows of ``probs``.

        Parameters
        ----------
        probs : array-like of shape (n_rows, n_classes)
            Probabilities: finite, non-negative, each row summing to 1 within
            rounding; otherwise :class:`InputError` names the first bad row.

        Returns
        -------
        dict of str to ndarray
            The codec's arrays, each with one entry (or, for :class:`Sparse`, one
            offset) per row.
        """
        raise NotImplementedError

    def decode(self, arrays: Mapping[str, np.ndarray], n_classes: int, *, dtype: Any = np.float64) -> np.ndarray:  # pragma: no cover
        """Dense rows back from :meth:`encode`'s arrays.

        Parameters
        ----------
        arrays : mapping of str to ndarray
            As :meth:`encode` returns them (or a block of their rows).
        n_classes : int
            Number of classes of the encoded rows.
        dtype : numpy dtype, default=float64
            Of the result.

        Returns
        -------
        ndarray of shape (n_rows, n_classes)
            Rows that sum to 1.
        """
        raise NotImplementedError

    def nbytes(self, arrays: Mapping[str, np.ndarray]) -> int:
        """Bytes of the encoded arrays (the payload, before any file compression).

        Parameters
        ----------
        arrays : mapping of str to ndarray
            As :meth:`encode` returns them.
        """
        return int(sum(np.asarray(a).nbytes for a in arrays.values()))

    def bytes_per_label(self, n_classes: int) -> float:
        """Bytes per row of a fixed-width codec (a codec whose rows vary in size, as
        :class:`Sparse`, raises :class:`InputError`).

        Parameters
        ----------
        n_classes : int
        """
        raise InputError(f"{self.name} rows have no fixed size; use nbytes().")

    def fidelity(self, probs: Any) -> Fidelity:
        """Encode and decode ``probs`` and measure the loss.

        Parameters
        ----------
        probs : array-like of shape (n_rows, n_classes)
            As for :meth:`encode`.

        Returns
        -------
        Fidelity
        """
        p = _check_probs(probs)
        return measure(self, self.encode(p), p)

    def n_rows(self, arrays: Mapping[str, np.ndarray]) -> int:
        """Rows held by encoded ``arrays``.

        Parameters
        ----------
        arrays : mapping of str to ndarray
            As :meth:`encode` returns them.
        """
        return int(next(iter(arrays.values())).shape[0])


@dataclasses.dataclass(frozen=True)
class Dense(Codec):
    """Every probability, as ``float32``, ``float16`` or ``bfloat16``; decoded rows are
    renormalised to sum to 1.

    Parameters
    ----------
    dtype : {"float16", "float32", "bfloat16"}, default="float16"
        Storage type of the probabilities; another value raises :class:`InputError`.
        A non-zero probability too small for the type is stored as the type's smallest
        positive value, so that no class with mass decodes to 0.
    """

    dtype: str = "float16"
    name: ClassVar[str] = "dense"

    def __post_init__(self) -> None:
        if self.dtype not in _FLOAT_TYPES:
            raise InputError(f"dense dtype must be one of {list(_FLOAT_TYPES)}; got {self.dtype!r}.")

    def encode(self, probs: Any) -> Arrays:
        p = _check_probs(probs)
        return {"probs": _float_encode(p, self.dtype)}

    def decode(self, arrays: Mapping[str, np.ndarray], n_classes: int, *, dtype: Any = np.float64) -> np.ndarray:
        return _normalize(_float_decode(np.asarray(arrays["probs"]), self.dtype, dtype))

    def bytes_per_label(self, n_classes: int) -> float:
        return float(n_classes * (4 if self.dtype == "float32" else 2))


@dataclasses.dataclass(frozen=True)
class LogQuant(Codec):
    """Every probability as an 8-bit code on a log scale from ``floor`` to 1: each code
    is within a factor ``exp(±h)``, ``h = -ln(floor) / 508``, of its probability (3.2 %
    for ``floor=1e-7``); smaller non-zero values take ``floor``, zeros stay 0. Decoded
    rows are renormalised, which can move a value by as much again: a decoded
    probability at or above ``floor`` is within ``exp(±2h)`` of the original (6.6 % for
    ``floor=1e-7``), plus the mass that values below ``floor`` gained.

    Parameters
    ----------
    floor : float, default=1e-7
        Smallest non-zero value, in (0, 1) (otherwise :class:`InputError`).
    """

    floor: float = 1e-7
    name: ClassVar[str] = "logquant"

    def __post_init__(self) -> None:
        self._python_numbers()
        if not 0 < self.floor < 1:
            raise InputError(f"floor must be in (0, 1); got {self.floor}.")

    def _scale(self) -> _LogScale:
        return _scale(8, self.floor)

    def encode(self, probs: Any) -> Arrays:
        p = _check_probs(probs)
        return {"codes": self._scale().encode(p).astype(np.uint8)}

    def decode(self, arrays: Mapping[str, np.ndarray], n_classes: int, *, dtype: Any = np.float64) -> np.ndarray:
        return _normalize(self._scale().decode(np.asarray(arrays["codes"]), dtype))

    def bytes_per_label(self, n_classes: int) -> float:
        return float(n_classes)


_SCALES: dict[tuple[int, float], _LogScale] = {}


def _scale(bits: int, floor: float) -> _LogScale:
    key = (bits, float(floor))
    if key not in _SCALES:
        _SCALES[key] = _LogScale(bits, floor)
    return _SCALES[key]


def _top_k(p: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices and values of the k largest entries of each row, by decreasing value
    (equal values: lower class index first, among those that made the cut), and the
    mass of the other entries (summed directly, not as ``1 - top``, so that a tiny tail
    does not vanish in rounding; in float64, so that the difference of two float32 sums
    does not lose its digits)."""
    n, c = p.shape
    if k >= c:
        idx = np.broadcast_to(np.arange(c), (n, c))
        tail = np.zeros(n)
    else:
        part = np.argpartition(p, c - k, axis=1)
        idx = np.sort(part[:, c - k :], axis=1)
        top = np.take_along_axis(p, idx, axis=1)
        tail = p.sum(axis=1, dtype=np.float64) - top.sum(axis=1, dtype=np.float64)
        small = tail < 1e-6  # where the difference loses digits: sum the tail itself
        if small.any():
            rest = np.take_along_axis(p[small], part[small, : c - k], axis=1)
            tail[small] = rest.sum(axis=1, dtype=np.float64)
    vals = np.take_along_axis(p, idx, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(vals, order, axis=1), tail


def _fill_values(vals: np.ndarray, n_classes: int, fill: str) -> tuple[np.ndarray, np.ndarray]:
    """The top-k values and the per-class value of every other class.

    ``marginal``: the mass ``1 - sum(top k)`` spread over the other classes (when the
    stored values sum past 1 they are rescaled and the others get 0). ``renorm``: the
    top k rescaled to sum to 1, the others 0."""
    vals = np.asarray(vals)
    k = vals.shape[1]
    s = vals.sum(axis=1)
    rest = n_classes - k
    if fill == "marginal" and rest > 0:
        tail = np.maximum(1.0 - s, 0.0) / rest
        over = s > 1.0
        if over.any():
            vals = vals.copy()
            vals[over] /= s[over, None]
        zero = s <= 0
        if zero.any():  # nothing stored: uniform
            tail = np.where(zero, 1.0 / n_classes, tail)
            vals = vals.copy()
            vals[zero] = 1.0 / n_classes
        return vals, tail.astype(vals.dtype, copy=False)
    zero = s <= 0
    safe = np.where(zero, 1.0, s)
    vals = vals / safe[:, None]
    if zero.any():
        vals[zero] = 1.0 / k
    return vals, np.zeros(vals.shape[0], dtype=vals.dtype)


@dataclasses.dataclass(frozen=True)
class TopK(Codec):
    """The ``k`` most probable classes of each row: indices and values.

    Parameters
    ----------
    k : int, default=5
        Classes kept per row (``k = C`` keeps all of them), at least 1; more than the
        number of classes raises :class:`InputError` on encoding.
    index : {"int16", "uint16", "int32"}, default="uint16"
        Storage type of the class indices (``int16`` holds up to 32,768 classes,
        ``uint16`` 65,536).
    values : {"float16", "float32", "bfloat16", "log8"}, default="float16"
        Storage of the values. ``log8``: 8-bit codes on a log scale from ``floor`` to 1;
        the first slot then holds the mass outside the top k instead of the top value,
        which decoding recovers as ``1 - tail - sum(others)``, so that a small relative
        error on the largest value cannot shift the mass left for the other classes.
    fill : {"marginal", "renorm"}, default="marginal"
        Rebuilding of the other classes: FKD's marginal smoothing (the mass outside the
        top k spread uniformly over them) or renormalisation of the top k (the others
        0).
    floor : float, default=1e-7
        Smallest non-zero value of ``log8``, in (0, 1).

    Notes
    -----
    FKD's stored layout is ``TopK(5, index=..., values="float16")`` (FKD keeps the
    indices as floats; an integer index type holds them exactly).

    Examples
    --------
    >>> codec = TopK(2, values="float32")
    >>> enc = codec.encode([[0.06, 0.6, 0.04, 0.3]])
    >>> enc["indices"].tolist(), codec.nbytes(enc)
    ([[1, 3]], 12)
    >>> codec.decode(enc, 4).round(6).tolist()  # the other 0.1 spread over 2 classes
    [[0.05, 0.6, 0.05, 0.3]]
    """

    k: int = 5
    index: str = "uint16"
    values: str = "float16"
    fill: str = "marginal"
    floor: float = 1e-7
    name: ClassVar[str] = "topk"

    def __post_init__(self) -> None:
        self._python_numbers()
        _check_top_k(self.k, self.fill, self.floor)
        if self.index not in _INDEX_TYPES:
            raise InputError(f"index must be one of {list(_INDEX_TYPES)}; got {self.index!r}.")
        if self.values not in (*_FLOAT_TYPES, "log8"):
            raise InputError(
                f"values must be one of {[*_FLOAT_TYPES, 'log8']}; got {self.values!r}."
            )

    def check(self, n_classes: int) -> None:
        if self.k > n_classes:
            raise InputError(f"k={self.k} is more than the {n_classes} classes.")
        _check_index(self.index, n_classes)

    def encode(self, probs: Any) -> Arrays:
        p = _check_probs(probs)
        self.check(p.shape[1])
        idx, vals, tail = _top_k(p, self.k)
        if self.values == "log8":
            vals = vals.astype(np.float64)
            vals[:, 0] = tail
            codes = _scale(8, self.floor).encode(vals).astype(np.uint8)
        else:
            codes = _float_encode(vals, self.values)
        return {"indices": idx.astype(_INDEX_TYPES[self.index]), "values": codes}

    def decode_topk(
        self, arrays: Mapping[str, np.ndarray], n_classes: int, *, dtype: Any = np.float32
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Without building dense rows: the class indices, their probabilities and the
        probability of every other class, per row (shapes ``(n, k)``, ``(n, k)``,
        ``(n,)``).

        Parameters
        ----------
        arrays, n_classes
            As for :meth:`decode`.
        dtype : numpy dtype, default=float32
            Of the probabilities.

        Returns
        -------
        indices : ndarray of shape (n, k)
        values : ndarray of shape (n, k)
        rest : ndarray of shape (n,)
            The probability of each class outside the top k.
        """
        idx = np.asarray(arrays["indices"])
        raw = np.asarray(arrays["values"])
        if self.values == "log8":
            vals = _implied_top(_scale(8, self.floor).decode(raw, np.float64))
        else:
            vals = _float_decode(raw, self.values, np.float64)
        return (idx, *_filled(vals, n_classes, self.fill, dtype))

    def decode(self, arrays: Mapping[str, np.ndarray], n_classes: int, *, dtype: Any = np.float64) -> np.ndarray:
        idx, vals, tail = self.decode_topk(arrays, n_classes, dtype=dtype)
        out = np.empty((idx.shape[0], n_classes), dtype=dtype)
        out[:] = tail[:, None]
        np.put_along_axis(out, idx.astype(np.intp, copy=False), vals, axis=1)
        return out

    def bytes_per_label(self, n_classes: int) -> float:
        value_bytes = {"float32": 4, "float16": 2, "bfloat16": 2, "log8": 1}[self.values]
        return float(self.k * (np.dtype(_INDEX_TYPES[self.index]).itemsize + value_bytes))


def _filled(vals: np.ndarray, n_classes: int, fill: str, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_fill_values` on float64 values, cast to ``dtype`` at the end: the implied
    top value and the tail are differences from 1, which float32 would cancel (a tail
    of 1e-6 off by several per cent, or lost)."""
    vals, tail = _fill_values(vals, n_classes, fill)
    return vals.astype(dtype, copy=False), tail.astype(dtype, copy=False)


def _implied_top(vals: np.ndarray) -> np.ndarray:
    """Slot 0 holds the tail mass; put the top value, ``1 - tail - sum(rest)``, there.
    Where rounding makes that smaller than the second value, the top takes the second
    value and the k values are rescaled to ``1 - tail``, so that the stored tail mass is
    kept."""
    tail = vals[:, 0].copy()
    rest = vals[:, 1:].sum(axis=1)
    top = 1.0 - tail - rest
    if vals.shape[1] > 1:
        top = np.maximum(top, vals[:, 1])
    vals[:, 0] = np.maximum(top, 0.0)
    total = vals[:, 0] + rest
    target = np.maximum(1.0 - tail, 0.0)
    over = total > target * (1 + 1e-6)
    if over.any():
        vals[over] *= (target[over] / total[over])[:, None]
    return vals


@dataclasses.dataclass(frozen=True)
class TopKPacked(Codec):
    """Top-k with each entry in one 16-bit word: the class index in the high
    ``ceil(log2 C)`` bits, a log-scale value code (from ``floor`` to 1) in the other
    bits (6 for C = 1000, so ``k`` entries take ``2k`` bytes). As with
    ``TopK(values="log8")`` the first entry's value code holds the mass outside the top
    k and the top value is recovered from it. Needs ``C <= 4096`` (4 value bits).

    Parameters
    ----------
    k : int, default=10
        Entries kept per row, at least 1 and at most the number of classes.
    fill : {"marginal", "renorm"}, default="marginal"
        Rebuilding of the other classes, as for :class:`TopK`.
    floor : float, default=1e-6
        Smallest non-zero value of the log scale, in (0, 1).
    """

    k: int = 10
    fill: str = "marginal"
    floor: float = 1e-6
    name: ClassVar[str] = "topk-packed"

    def __post_init__(self) -> None:
        self._python_numbers()
        _check_top_k(self.k, self.fill, self.floor)

    @staticmethod
    def index_bits(n_classes: int) -> int:
        """Bits of a class index: ``ceil(log2 n_classes)``, at least 1.

        Parameters
        ----------
        n_classes : int
        """
        return max(1, math.ceil(math.log2(n_classes))) if n_classes > 1 else 1

    def check(self, n_classes: int) -> None:
        if self.k > n_classes:
            raise InputError(f"k={self.k} is more than the {n_classes} classes.")
        if 16 - self.index_bits(n_classes) < 4:
            raise InputError(
                f"topk-packed holds at most 4096 classes; got {n_classes} (use topk)."
            )

    def encode(self, probs: Any) -> Arrays:
        p = _check_probs(probs)
        self.check(p.shape[1])
        vbits = 16 - self.index_bits(p.shape[1])
        idx, vals, tail = _top_k(p, self.k)
        vals = vals.astype(np.float64)
        vals[:, 0] = tail
        codes = _scale(vbits, self.floor).encode(vals).astype(np.uint16)
        words = (idx.astype(np.uint16) << np.uint16(vbits)) | codes
        return {"words": words.astype(np.uint16)}

    def decode_topk(
        self, arrays: Mapping[str, np.ndarray], n_classes: int, *, dtype: Any = np.float32
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As :meth:`TopK.decode_topk`.

        Parameters
        ----------
        arrays, n_classes, dtype
            As for :meth:`TopK.decode_topk`.
        """
        vbits = 16 - self.index_bits(n_classes)
        words = np.asarray(arrays["words"])
        idx = words >> np.uint16(vbits)
        codes = words & np.uint16((1 << vbits) - 1)
        vals = _implied_top(_scale(vbits, self.floor).decode(codes, np.float64))
        return (idx, *_filled(vals, n_classes, self.fill, dtype))

    decode = TopK.decode

    def bytes_per_label(self, n_classes: int) -> float:
        return float(2 * self.k)


@dataclasses.dataclass(frozen=True)
class Sparse(Codec):
    """The non-zero entries of each row: row offsets, class indices and values
    (``float32`` or ``float64``; decoded rows are renormalised). Exact for zeros; for
    crowd soft labels where each item has a few classes with mass.

    Parameters
    ----------
    index : {"int16", "uint16", "int32"}, default="int32"
        Storage type of the class indices.
    values : {"float32", "float64"}, default="float32"
        Storage type of the non-zero probabilities.
    """

    index: str = "int32"
    values: str = "float32"
    name: ClassVar[str] = "sparse"
    fixed_width: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if self.index not in _INDEX_TYPES:
            raise InputError(f"index must be one of {list(_INDEX_TYPES)}; got {self.index!r}.")
        if self.values not in ("float32", "float64"):
            raise InputError(f"sparse values must be float32 or float64; got {self.values!r}.")

    def check(self, n_classes: int) -> None:
        _check_index(self.index, n_classes)

    def encode(self, probs: Any) -> Arrays:
        p = _check_probs(probs)
        self.check(p.shape[1])
        rows, cols = np.nonzero(p)
        counts = np.bincount(rows, minlength=p.shape[0])
        offsets = np.zeros(p.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return {
            "offsets": offsets,
            "indices": cols.astype(_INDEX_TYPES[self.index]),
            "values": _float_encode(p[rows, cols], self.values),
        }

    def decode(self, arrays: Mapping[str, np.ndarray], n_classes: int, *, dtype: Any = np.float64) -> np.ndarray:
        offsets = np.asarray(arrays["offsets"])
        n = offsets.shape[0] - 1
        out = np.zeros((n, n_classes), dtype=dtype)
        lengths = np.diff(offsets)
        rows = np.repeat(np.arange(n), lengths)
        span = slice(int(offsets[0]), int(offsets[-1]))
        cols = np.asarray(arrays["indices"])[span].astype(np.intp)
        out[rows, cols] = np.asarray(arrays["values"])[span]
        return _normalize(out)

    def n_rows(self, arrays: Mapping[str, np.ndarray]) -> int:
        return int(np.asarray(arrays["offsets"]).shape[0] - 1)


#: every codec class by name
CODECS: dict[str, type[Codec]] = {
    cls.name: cls for cls in (Dense, LogQuant, TopK, TopKPacked, Sparse)
}


def codec_from_spec(spec: Mapping[str, Any] | str) -> Codec:
    """A codec from its spec (``{"codec": "topk", "k": 5, ...}``, as :meth:`Codec.spec`
    writes it) or from its name with the default parameters.

    Parameters
    ----------
    spec : mapping or str
        ``{"codec": name, **parameters}`` or just the name: one of ``"dense"``,
        ``"logquant"``, ``"topk"``, ``"topk-packed"``, ``"sparse"``. An unknown name or
        parameter raises :class:`InputError` listing the valid ones.

    Returns
    -------
    Codec
    """
    if isinstance(spec, str):
        spec = {"codec": spec}
    params = dict(spec)
    name = params.pop("codec", None)
    if name not in CODECS:
        raise InputError(f"unknown codec {name!r}; choose one of {sorted(CODECS)}.")
    cls = CODECS[name]
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(params) - fields)
    if unknown:
        raise InputError(
            f"codec {name} has no parameter {unknown[0]!r}; its parameters are {sorted(fields)}."
        )
    return cls(**params)
