"""Teachers that return only labels (a large model behind an API, an LLM prompted for a
class name): asked through a cache, their answers validated, and several answers per
item (prompts, samples) merged into soft labels for response-based distillation (TAIL,
Bhattacharyya & Tripathi 2024).

* :func:`input_key` hashes an input (text, bytes, an array, JSON-like data) to a stable key.
* :class:`LabelCache` keeps answers on disk, keyed by input and prompt; every save is
  atomic, so an interrupted run never leaves a broken cache.
* :class:`CachedLabeller` asks the teacher only for what the cache lacks, maps each
  answer to a class code and counts what it had to drop: answers outside the classes are
  abstentions (``on_unknown="abstain"``) or an error naming the item and the answer.
* :func:`response_soft_labels` and the estimator :class:`TeacherLabels` merge the
  answers into soft labels: the vote shares of the valid answers, with label smoothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import SoftLabels
from softlabels.core.validation import check_float, check_option, integer, none_or, real
from softlabels.infer.base import BaseInferrer

__all__ = [
    "CachedLabeller",
    "LabelCache",
    "TeacherLabels",
    "input_key",
    "response_soft_labels",
]


def input_key(x: Any, prompt: Any = None) -> str:
    """A stable SHA-256 key of an input (and the prompt it is asked with).

    Text is hashed as UTF-8, bytes as they are, numpy arrays with their dtype and shape,
    and anything else as canonical JSON (sorted keys); other objects are an error, since
    their ``repr`` need not be stable across runs.

    Parameters
    ----------
    x : str, bytes, ndarray or JSON-like value
        The input; an object array or a value JSON cannot write raises
        :class:`InputError`.
    prompt : JSON-like value, optional
        The prompt (or sampling seed) the input is asked with; part of the key when
        given (written as JSON, other values by their ``str``), length-prefixed ahead of
        the input so that no input asked alone shares a key with another asked with a
        prompt.

    Returns
    -------
    str
        64 hexadecimal digits.

    Examples
    --------
    >>> input_key("a receipt") == input_key("a receipt")
    True
    >>> input_key("a receipt", prompt=1) == input_key("a receipt", prompt=2)
    False
    """
    h = hashlib.sha256()
    if prompt is not None:
        # first, and with its length: a prompt's bytes cannot pass for the end of an
        # input's (``"a|p..."`` asked alone and ``"a"`` asked with a prompt differ)
        p = json.dumps(prompt, sort_keys=True, default=str).encode("utf-8")
        h.update(b"P" + len(p).to_bytes(8, "little") + p)
    if isinstance(x, str):
        h.update(b"s" + x.encode("utf-8"))
    elif isinstance(x, (bytes, bytearray, memoryview)):
        h.update(b"b" + bytes(x))
    elif isinstance(x, np.ndarray):
        a = np.ascontiguousarray(x)
        if a.dtype == object:
            raise InputError("input_key: object arrays have no stable bytes; pass text or numbers.")
        h.update(b"a" + f"{a.dtype.str}{a.shape}".encode() + a.tobytes())
    else:
        try:
            text = json.dumps(x, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):
            raise InputError(
                f"input_key: cannot hash a {type(x).__name__} stably; pass text, bytes, a "
                "numpy array or JSON-like data (dicts, lists, numbers)."
            ) from None
        h.update(b"j" + text.encode("utf-8"))
    return h.hexdigest()


class LabelCache:
    """Teacher answers on disk, one JSON object ``{key: answer}`` in ``path``.

    Answers are JSON values (a string, a number, or null for "no answer"). :meth:`save`
    writes the whole file through a temporary file renamed onto ``path``
    (:func:`softlabels.core.io.atomic_path`), so a crash leaves the old cache or the new
    one, never half of one. ``path=None`` keeps the cache in memory only.

    Parameters
    ----------
    path : str or path, optional
        The JSON file; read when it exists (a file that is not a JSON object raises
        :class:`InputError`), created by the first :meth:`save` otherwise.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else Path(path)
        self._data: dict[str, Any] = {}
        if self.path is not None and self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise InputError(
                    f"{self.path}: not a readable label cache ({err}); move it away or "
                    "pass another path."
                ) from None
            if not isinstance(data, dict):
                raise InputError(f"{self.path}: a label cache is a JSON object of key: answer.")
            self._data = data

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, answer: Any) -> None:
        self._data[key] = answer

    def __len__(self) -> int:
        return len(self._data)

    def save(self) -> None:
        """Write the cache to ``path`` atomically (nothing without a path)."""
        if self.path is None:
            return
        from softlabels.core.io import atomic_path

        with atomic_path(self.path) as tmp:
            Path(tmp).write_text(json.dumps(self._data, sort_keys=True), encoding="utf-8")


class CachedLabeller:
    """Ask a label-only teacher for the class of each input, through a cache.

    Parameters
    ----------
    labeller : callable
        ``labeller(x)`` or, with ``prompts``, ``labeller(x, prompt)``: the teacher's answer
        for one input, a class value (or text that ``parse`` turns into one). ``None`` is
        an abstention.
    classes : sequence
        The valid answers, in class order (the codes are positions in this list):
        hashable and distinct as values (``1``, ``1.0`` and ``True`` are one answer).
    prompts : sequence, optional
        Several prompts (or sampling seeds) per input; each is asked once and cached
        under its own key. Default: one question per input.
    cache : LabelCache, path or None
        Where answers are kept (a path makes a :class:`LabelCache` there).
    parse : callable, optional
        Maps a raw answer to a class value before validation, e.g.
        ``lambda s: s.strip().lower()``. An exception inside it makes the answer unknown.
    on_unknown : {"abstain", "error"}, default="abstain"
        What an answer outside ``classes`` becomes: an abstention (code -1), counted in
        ``n_unknown_`` and listed in ``unknown_``, or an :class:`InputError` naming the
        item, the prompt and the answer. Unknown answers are dropped, never coerced.
    save_every : int, default=100
        New answers between two saves of the cache (it is also saved at the end).

    Attributes
    ----------
    n_asked_, n_cached_ : int
        Answers asked of the teacher and answers read from the cache (these attributes
        are set by :meth:`label`).
    n_unknown_, n_abstained_ : int
        Answers outside the classes, and ``None`` answers.
    unknown_ : list of (item index, prompt, answer)
        The first 100 unknown answers.

    Examples
    --------
    >>> teacher = lambda text: {"cat": "cat", "dog": "dog"}.get(text, "a fish?")
    >>> labeller = CachedLabeller(teacher, ["cat", "dog"])
    >>> labeller.label(["cat", "dog", "carp"]).ravel().tolist(), labeller.n_unknown_
    ([0, 1, -1], 1)
    >>> _ = labeller.label(["cat"]); labeller.n_asked_, labeller.n_cached_
    (0, 1)
    """

    def __init__(self, labeller: Callable[..., Any], classes: Sequence[Any], *,
                 prompts: Sequence[Any] | None = None, cache: Any = None,
                 parse: Callable[[Any], Any] | None = None, on_unknown: str = "abstain",
                 save_every: int = 100) -> None:
        if not callable(labeller):
            raise InvalidParameterError(
                f"CachedLabeller: labeller must be callable; got {type(labeller).__name__}."
            )
        if parse is not None and not callable(parse):
            raise InvalidParameterError("CachedLabeller: parse must be callable or None.")
        check_option(on_unknown, "on_unknown", "CachedLabeller", ("abstain", "error"))
        self.classes = list(classes)
        try:  # answers are looked up by value, so 1, 1.0 and True are one class
            self._codes = {self._hashable(c): i for i, c in enumerate(self.classes)}
        except TypeError:
            bad = next(c for c in self.classes if not isinstance(self._hashable(c), Hashable))
            raise InvalidParameterError(
                f"CachedLabeller: classes must be hashable values (answers are looked up "
                f"among them); got {bad!r}."
            ) from None
        if len(self.classes) < 2 or len(self._codes) != len(self.classes):
            raise InvalidParameterError(
                f"CachedLabeller: classes must list at least two distinct values; got "
                f"{self.classes!r}."
            )
        self.labeller, self.parse, self.on_unknown = labeller, parse, on_unknown
        self.prompts = None if prompts is None else list(prompts)
        if self.prompts is not None and not self.prompts:
            raise InvalidParameterError("CachedLabeller: prompts must not be empty (or None).")
        self.cache = cache if isinstance(cache, LabelCache) else LabelCache(cache)
        self.save_every = integer(low=1)(save_every, "save_every", "CachedLabeller")

    @staticmethod
    def _hashable(value: Any) -> Any:
        return value.item() if isinstance(value, np.generic) else value

    def _code(self, answer: Any, item: int, prompt: Any) -> int:
        if answer is None:
            self.n_abstained_ += 1
            return -1
        value = answer
        if self.parse is not None:
            try:
                value = self.parse(answer)
            except Exception:  # a malformed answer: unknown, not a crash
                value = _Unknown
        try:
            code = self._codes.get(self._hashable(value), -1)
        except TypeError:  # an unhashable answer
            code = -1
        if code < 0:
            if self.on_unknown == "error":
                where = "" if prompt is None else f" with prompt {prompt!r}"
                raise InputError(
                    f"CachedLabeller: the teacher answered {answer!r} for item {item}{where}, "
                    f"which is not one of the classes {self.classes[:10]!r}; pass parse= to "
                    "map its answers, or on_unknown='abstain' to drop them."
                )
            self.n_unknown_ += 1
            if len(self.unknown_) < 100:
                self.unknown_.append((item, prompt, answer))
        return code

    def label(self, inputs: Sequence[Any]) -> np.ndarray:
        """Class codes ``(n_inputs, n_prompts)`` (one column without prompts); -1 marks
        an abstention or an unknown answer.

        Parameters
        ----------
        inputs : sequence
            The inputs to label; each is asked once per prompt, unless its answer is in
            the cache. The cache is saved every ``save_every`` new answers and at the
            end, also when the labeller raises.

        Returns
        -------
        ndarray of int64, shape (n_inputs, n_prompts)
        """
        prompts = [None] if self.prompts is None else self.prompts
        self.n_asked_ = self.n_cached_ = self.n_unknown_ = self.n_abstained_ = 0
        self.unknown_: list[tuple[int, Any, Any]] = []
        codes = np.full((len(inputs), len(prompts)), -1, dtype=np.int64)
        fresh = 0
        try:
            for i, x in enumerate(inputs):
                for j, prompt in enumerate(prompts):
                    key = input_key(x, prompt)
                    if key in self.cache:
                        answer = self.cache[key]
                        self.n_cached_ += 1
                    else:
                        answer = self.labeller(x) if prompt is None else self.labeller(x, prompt)
                        answer = self._hashable(answer)
                        try:
                            json.dumps(answer)
                        except (TypeError, ValueError):
                            answer = repr(answer)  # kept as text; it cannot be a class
                        self.cache[key] = answer
                        self.n_asked_ += 1
                        fresh += 1
                        if fresh % self.save_every == 0:
                            self.cache.save()
                    codes[i, j] = self._code(answer, i, prompt)
        finally:
            if fresh:
                self.cache.save()
        return codes


_Unknown = object()


def response_soft_labels(codes: Any, n_classes: int, *, smoothing: float = 0.1,
                         item_ids: Any = None) -> SoftLabels:
    """Soft labels from the hard answers of label-only teachers.

    ``p_i = (1 - smoothing) * v_i + smoothing / K`` with ``v_i`` the share of item i's
    valid answers (codes >= 0) that name each class; an item without a valid answer gets
    the uniform distribution (support 0). With one answer per item this is label
    smoothing (Szegedy et al. 2016) of the teacher's label; with several prompts or
    samples, their vote shares. Response-based distillation as in TAIL (Bhattacharyya &
    Tripathi, "Information Extraction from Heterogeneous Documents without Ground Truth
    Labels using Synthetic Label Generation and Knowledge Distillation", 2024) trains the
    student on these labels.

    Parameters
    ----------
    codes : array-like of int, shape (n_items,) or (n_items, n_answers)
        Class codes ``0 .. n_classes - 1``; -1 is no answer.
    n_classes : int
    smoothing : float in [0, 1), default=0.1
    item_ids : array-like of shape (n_items,), optional
        Item ids of the result (default ``0 .. n_items - 1``).

    Examples
    --------
    >>> response_soft_labels([[0, 0, 1], [2, -1, -1]], 3, smoothing=0.0).probs.round(3).tolist()
    [[0.667, 0.333, 0.0], [0.0, 0.0, 1.0]]
    """
    smoothing = check_float(smoothing, "smoothing", "response_soft_labels", low=0.0, high=1.0,
                            high_open=True)
    k = integer(low=2)(n_classes, "n_classes", "response_soft_labels")
    c = np.asarray(codes)
    if c.ndim == 1:
        c = c[:, None]
    if c.ndim != 2 or c.shape[0] == 0 or not np.issubdtype(c.dtype, np.integer):
        raise InputError(
            "response_soft_labels: codes must be integer class codes of shape (n_items,) or "
            f"(n_items, n_answers); got {c.dtype} of shape {np.shape(codes)}."
        )
    bad = (c < -1) | (c >= k)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(
            f"response_soft_labels: item {row} has code {c[row, col]} (answer {col}); codes "
            f"must be -1 (no answer) or 0 .. {k - 1}."
        )
    counts = np.zeros((c.shape[0], k))
    rows, cols = np.nonzero(c >= 0)
    np.add.at(counts, (rows, c[rows, cols]), 1.0)
    support = counts.sum(axis=1)
    share = np.divide(counts, support[:, None], out=np.full_like(counts, 1.0 / k),
                      where=support[:, None] > 0)
    probs = (1.0 - smoothing) * share + smoothing / k
    return SoftLabels(probs, np.arange(k), item_ids,
                      provenance={"method": "teacher-labels",
                                  "params": {"n_classes": k, "smoothing": smoothing}},
                      support=support)


class TeacherLabels(BaseInferrer):
    """Soft labels from the hard answers of label-only teachers (vote shares with label
    smoothing, :func:`response_soft_labels`), as in TAIL's response-based distillation.

    Parameters
    ----------
    n_classes : int or None, default=None
        Default: one more than the largest code.
    smoothing : float in [0, 1), default=0.1
        The label-smoothing mass spread uniformly (0.1, Szegedy et al.'s default).

    Attributes
    ----------
    soft_labels_ : SoftLabels
        Classes ``0 .. n_classes - 1``; support: the valid answers per item.
    n_abstained_ : int
        Items without any valid answer (their label is uniform).

    Examples
    --------
    >>> TeacherLabels(smoothing=0.0).fit([[1, 1], [0, 1]]).soft_labels_.probs.tolist()
    [[0.0, 1.0], [0.5, 0.5]]
    """

    name: ClassVar[str] = "teacher-labels"
    summary: ClassVar[str] = (
        "soft labels from label-only teachers: vote shares with smoothing (TAIL)")
    evidence: ClassVar[str] = "teacher-labels"
    _parameter_constraints = {
        "n_classes": none_or(integer(low=2)),
        "smoothing": real(low=0.0, high=1.0, high_open=True),
    }

    def __init__(self, *, n_classes: int | None = None, smoothing: float = 0.1) -> None:
        self.n_classes = n_classes
        self.smoothing = smoothing

    def fit(self, codes: Any, /, *, item_ids: Any = None) -> TeacherLabels:
        """Fit on class codes ``(n_items,)`` or ``(n_items, n_answers)``, -1 for no
        answer (e.g. from :meth:`CachedLabeller.label`).

        Parameters
        ----------
        codes : array-like of int, shape (n_items,) or (n_items, n_answers)
            Class codes, ``-1`` for no answer. Without ``n_classes`` they must be
            integers (otherwise :class:`InputError`) and the classes are
            ``0 .. max(codes)`` (at least two).
        item_ids : array-like of shape (n_items,), optional
            Item ids of ``soft_labels_``.

        Returns
        -------
        self
        """
        self._validate_params()
        c = np.asarray(codes)
        k = self.n_classes
        if k is None:
            if c.size == 0 or not np.issubdtype(c.dtype, np.integer):
                raise InputError("TeacherLabels.fit takes integer class codes (-1: no answer).")
            k = max(int(c.max()) + 1, 2)
        soft = response_soft_labels(c, k, smoothing=self.smoothing, item_ids=item_ids)
        self.n_abstained_ = int((soft.support == 0).sum())
        self.soft_labels_ = self._own(soft)
        return self
