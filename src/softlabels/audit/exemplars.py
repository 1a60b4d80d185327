"""Representative examples per class, and boundary items between confused classes, for
labelling instructions.

"Thinking Like an Annotator" (Chang, Ferroni, Tarr, Hebert and Ramanan, 2023: Labeling
Instruction Generation) recovers the instructions behind a labelled data set as, for every category,
a few visually representative and mutually diverse examples. :func:`representative_examples`
picks them from the labels alone, or from labels with item embeddings: per class, among the
items the consensus is sure of, a greedy facility-location choice of ``k`` items that best
cover the class (each member close to one chosen example), so the first is the class's
medoid and later ones add the modes it misses. Items the consensus splits between two
classes are returned for the most confused class pairs: the cases an instruction should
settle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from softlabels.core.errors import InputError
from softlabels.core.soft import SoftLabels
from softlabels.core.validation import check_features, check_float, check_int, check_pred_probs

__all__ = ["Exemplars", "representative_examples", "facility_location"]

_OWNER = "representative_examples"


@dataclass(frozen=True)
class Exemplars:
    """Result of :func:`representative_examples`.

    Attributes
    ----------
    items, classes_of, rank : ndarray of shape (n_selected,)
        Position of each chosen example, the code of its class and its rank in the class
        (0 = the class's medoid).
    confidence : ndarray of shape (n_selected,)
        Its consensus probability for its class.
    typicality : ndarray of shape (n_selected,)
        Mean similarity to the core of its class (the members the consensus is sure
        of, the candidates), weighted by their consensus probability (in [0, 1]).
    coverage : ndarray of shape (n_classes,)
        Per class, the mean over all its members, weighted by their consensus probability,
        of the similarity to the nearest chosen example (1 = every member has an
        identical example; NaN for a class that is no item's consensus label).
    pairs : ndarray of shape (n_boundary, 2)
        The class codes ``(a, b)`` of each boundary item, ``p_a >= p_b``.
    boundary : ndarray of shape (n_boundary,)
        Positions of the boundary items, most ambiguous first within each pair.
    boundary_probs : ndarray of shape (n_boundary, 2)
        Their probabilities for ``a`` and ``b``.
    class_names, item_ids : ndarray
        For display.
    """

    items: np.ndarray
    classes_of: np.ndarray
    rank: np.ndarray
    confidence: np.ndarray
    typicality: np.ndarray
    coverage: np.ndarray
    pairs: np.ndarray
    boundary: np.ndarray
    boundary_probs: np.ndarray
    class_names: np.ndarray
    item_ids: np.ndarray

    def of_class(self, code: int) -> np.ndarray:
        """The positions of the examples of class ``code``, best first.

        Parameters
        ----------
        code : int
            A class code (position in ``class_names``); empty for a class with no
            example.
        """
        return self.items[self.classes_of == code]

    def to_frame(self) -> pd.DataFrame:
        """One row per chosen example: ``class, rank, item, confidence, typicality``."""
        return pd.DataFrame({
            "class": self.class_names[self.classes_of] if self.items.size else [],
            "rank": self.rank,
            "item": self.item_ids[self.items] if self.items.size else [],
            "confidence": self.confidence,
            "typicality": self.typicality,
        })

    def boundary_frame(self) -> pd.DataFrame:
        """One row per boundary item: ``class_a, class_b, item, p_a, p_b``."""
        n = self.boundary.size
        return pd.DataFrame({
            "class_a": self.class_names[self.pairs[:, 0]] if n else [],
            "class_b": self.class_names[self.pairs[:, 1]] if n else [],
            "item": self.item_ids[self.boundary] if n else [],
            "p_a": self.boundary_probs[:, 0] if n else [],
            "p_b": self.boundary_probs[:, 1] if n else [],
        })


def facility_location(similarity: Any, k: int, *, weights: Any = None,
                      candidates: Any = None) -> np.ndarray:
    """Greedy weighted facility location: ``k`` columns maximising
    ``F(S) = sum_i w_i max_{s in S} sim[i, s]``.

    Each step adds the candidate with the largest gain (the first one on ties). ``F`` is
    monotone submodular for non-negative similarities, so the greedy choice is within
    ``1 - 1/e`` of the best set of ``k``.

    Parameters
    ----------
    similarity : array-like of shape (n, m), values >= 0
        ``sim[i, s]``: how well column ``s`` stands for row ``i``.
    k : int in [1, number of candidates]
    weights : array-like of shape (n,), optional
        Non-negative row weights (default 1).
    candidates : array-like of int, optional
        The columns that may be chosen, each once (default all).

    Returns
    -------
    ndarray of int
        The chosen columns, in the order chosen.

    Examples
    --------
    >>> sim = [[1.0, 0.9, 0.0], [0.9, 1.0, 0.1], [0.0, 0.1, 1.0]]
    >>> facility_location(sim, 2).tolist()
    [1, 2]
    """
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.ndim != 2 or sim.size == 0 or not np.isfinite(sim).all() or (sim < 0).any():
        raise InputError(
            f"similarity must be a non-empty 2-D array of finite values >= 0; got shape "
            f"{sim.shape}."
        )
    n, m = sim.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
        raise InputError(f"weights must be {n} finite values >= 0 (one per row); got shape "
                         f"{w.shape}.")
    cand = np.arange(m) if candidates is None else np.asarray(candidates)
    if cand.ndim != 1 or (cand.size and (not np.issubdtype(cand.dtype, np.integer)
                                         or cand.min() < 0 or cand.max() >= m)):
        raise InputError(f"candidates must be column positions in [0, {m - 1}].")
    uniq, seen = np.unique(cand, return_counts=True)
    if (seen > 1).any():
        raise InputError(f"candidates has column {int(uniq[seen > 1][0])} more than once.")
    k = check_int(k, "k", "facility_location", low=1, high=max(int(cand.size), 1))
    if cand.size == 0:
        raise InputError("there are no candidates to choose from.")
    best = np.zeros(n)
    chosen: list[int] = []
    free = np.ones(cand.size, dtype=bool)
    for _ in range(k):
        gain = (w[:, None] * np.maximum(sim[:, cand] - best[:, None], 0.0)).sum(axis=0)
        gain[~free] = -np.inf
        j = int(np.argmax(gain))
        free[j] = False
        chosen.append(int(cand[j]))
        best = np.maximum(best, sim[:, cand[j]])
    return np.asarray(chosen, dtype=np.int64)


def _unit(z: np.ndarray) -> np.ndarray:
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


def _similarity(z: np.ndarray, other: np.ndarray | None = None) -> np.ndarray:
    """Cosine similarity mapped to [0, 1], ``(1 + cos) / 2``, between the rows of ``z``
    and those of ``other`` (default: ``z`` itself)."""
    u = _unit(z)
    v = u if other is None else _unit(other)
    return np.clip((1.0 + u @ v.T) / 2.0, 0.0, 1.0)


def representative_examples(
    soft_labels: Any,
    *,
    features: Any = None,
    support: Any = None,
    n_per_class: int = 5,
    min_confidence: float = 0.8,
    n_pairs: int = 3,
    n_boundary: int = 3,
    max_members: int = 2000,
    random_state: Any = 0,
) -> Exemplars:
    """Representative, diverse examples of every class, and boundary items between the most
    confused classes: the example part of a labelling instruction.

    For class ``c`` the members are the items whose consensus label is ``c``; its core is
    the members the consensus is sure of, ``p_ic >= min_confidence`` (the
    ``n_per_class`` most confident members when fewer qualify). The examples are chosen
    from the core, greedily, to maximise its weighted facility-location coverage
    ``sum_{i in core} p_ic max_{s in S} sim(i, s)`` (:func:`facility_location`), with
    ``sim = (1 + cos) / 2`` between ``features``. The first example is the core's weighted
    medoid; the next ones cover what it leaves out, so they are diverse. Without features
    nothing tells two sure items apart but their evidence: the examples are then the most
    confident members, ties broken by the number of answers (``support``), then by item
    order. Items the consensus is unsure of are left to the boundary list.

    Boundary items: class pairs ranked by their confusion mass ``sum_i min(p_ia, p_ib)``;
    for each of the ``n_pairs`` largest, the ``n_boundary`` items with the largest
    ``min(p_ia, p_ib)`` (split between ``a`` and ``b``).

    Parameters
    ----------
    soft_labels : SoftLabels or array-like of shape (n_items, n_classes)
        Consensus soft labels (e.g. a crowd model's, or vote shares).
    features : array-like of shape (n_items, n_features), optional
        Item embeddings (a model's penultimate layer, CLIP features). Without them the
        examples are the most confident members.
    support : array-like of shape (n_items,), optional
        Answers behind each item (default: ``soft_labels.support`` when it is a
        SoftLabels that has one); breaks ties between equally confident items.
    n_per_class : int >= 1, default 5
        Examples per class (fewer for a class with fewer members).
    min_confidence : float in [0, 1], default 0.8
        Smallest consensus probability of a core member (a candidate example).
    n_pairs, n_boundary : int >= 0, default 3
        Most confused class pairs, and boundary items per pair.
    max_members : int >= 1, default 2000
        A larger core is subsampled to this many members (at random, ``random_state``)
        to bound its ``core x core`` similarity matrix: with features the examples are
        chosen from the subsample; typicality is measured against it. Without features
        the examples are the most confident members of the whole core.
    random_state : int, Generator or None, default 0

    Returns
    -------
    Exemplars

    References
    ----------
    N. Chang, F. Ferroni, M. J. Tarr, M. Hebert and D. Ramanan, "Thinking Like an
    Annotator: Generation of Dataset Labeling Instructions", 2023 (arXiv 2306.14035).
    Their framework retrieves the examples with a pre-trained vision-language model; the
    selection here is a facility-location reading of "representative and diverse" on
    given embeddings.

    Examples
    --------
    >>> p = [[0.9, 0.1], [1.0, 0.0], [0.8, 0.2], [0.1, 0.9], [0.45, 0.55]]
    >>> ex = representative_examples(p, n_per_class=1, n_boundary=1)
    >>> ex.items.tolist(), ex.boundary.tolist()
    ([1, 3], [4])
    """
    from softlabels.core.validation import check_random_state

    if isinstance(soft_labels, SoftLabels):
        p = np.asarray(soft_labels.probs, dtype=np.float64)
        names, ids = np.asarray(soft_labels.classes), np.asarray(soft_labels.item_ids)
        if support is None and soft_labels.support is not None:
            support = soft_labels.support
    else:
        p = check_pred_probs(soft_labels, name="soft_labels")
        names, ids = np.arange(p.shape[1]), np.arange(p.shape[0])
    n, n_classes = p.shape
    if n_classes < 2:
        raise InputError(f"soft_labels needs at least 2 classes; got {n_classes}.")
    z = p if features is None else check_features(features, n_items=n)
    sup = np.zeros(n) if support is None else np.asarray(support, dtype=np.float64)
    if sup.shape != (n,) or not np.isfinite(sup).all():
        raise InputError(f"support must hold one finite number per item, shape ({n},); got "
                         f"shape {sup.shape}.")
    k = check_int(n_per_class, "n_per_class", _OWNER, low=1)
    conf_min = check_float(min_confidence, "min_confidence", _OWNER, low=0.0, high=1.0)
    n_pairs = check_int(n_pairs, "n_pairs", _OWNER, low=0)
    n_boundary = check_int(n_boundary, "n_boundary", _OWNER, low=0)
    max_members = check_int(max_members, "max_members", _OWNER, low=1)
    rng = check_random_state(random_state)
    hard = p.argmax(axis=1)
    items, cls, rank, conf, typ = [], [], [], [], []
    coverage = np.full(n_classes, np.nan)
    for c in range(n_classes):
        members = np.flatnonzero(hard == c)
        if members.size == 0:
            continue
        pc = p[members, c]
        ok = pc >= conf_min
        if ok.sum() < min(k, members.size):  # too few sure members: the most confident
            ok = np.zeros(members.size, dtype=bool)
            ok[np.argsort(-pc, kind="stable")[:k]] = True
        core = np.flatnonzero(ok)  # the confident core: what the examples must stand for
        # without features: the most confident, then the best supported, of the whole core
        picked = core[np.lexsort((core, -sup[members[core]], -pc[core]))[:k]]
        if core.size > max_members:
            core = np.sort(rng.choice(core, size=max_members, replace=False))
        w = pc[core]
        if features is not None:
            sim = _similarity(z[members[core]])
            picked = core[facility_location(sim, min(k, core.size), weights=w)]
        mean_sim = (w @ _similarity(z[members[core]], z[members[picked]])) / w.sum()
        # coverage of the whole class (every member, weighted by its consensus probability)
        to_ex = _similarity(z[members], z[members[picked]]).max(axis=1)
        coverage[c] = float((pc * to_ex).sum() / pc.sum())
        for r, j in enumerate(picked):
            items.append(members[j])
            cls.append(c)
            rank.append(r)
            conf.append(p[members[j], c])
            typ.append(mean_sim[r])
    # boundary items between the most confused class pairs
    pairs_out, bnd, bprobs = [], [], []
    if n_pairs and n_boundary:
        a_idx, b_idx = np.triu_indices(n_classes, k=1)
        mass = np.minimum(p[:, a_idx], p[:, b_idx]).sum(axis=0)
        for q in np.argsort(-mass, kind="stable")[:n_pairs]:
            if mass[q] <= 0:
                break
            a, b = int(a_idx[q]), int(b_idx[q])
            m = np.minimum(p[:, a], p[:, b])
            for i in np.argsort(-m, kind="stable")[:n_boundary]:
                if m[i] <= 0:
                    break
                lo, hi = (a, b) if p[i, a] >= p[i, b] else (b, a)
                pairs_out.append((lo, hi))
                bnd.append(int(i))
                bprobs.append((p[i, lo], p[i, hi]))
    return Exemplars(
        items=np.asarray(items, dtype=np.int64),
        classes_of=np.asarray(cls, dtype=np.int64),
        rank=np.asarray(rank, dtype=np.int64),
        confidence=np.asarray(conf, dtype=np.float64),
        typicality=np.asarray(typ, dtype=np.float64),
        coverage=coverage,
        pairs=np.asarray(pairs_out, dtype=np.int64).reshape(-1, 2),
        boundary=np.asarray(bnd, dtype=np.int64),
        boundary_probs=np.asarray(bprobs, dtype=np.float64).reshape(-1, 2),
        class_names=names,
        item_ids=ids,
    )
