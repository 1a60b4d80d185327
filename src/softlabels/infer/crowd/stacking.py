"""Stacking of crowd models, weighted by how well each predicts held-out answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from softlabels.core.annotations import Annotations
from softlabels.core.errors import InvalidParameterError
from softlabels.core.soft import normalize_rows
from softlabels.core.validation import check_random_state, integer, n_jobs, random_state, real
from softlabels.infer import em as K
from softlabels.infer.base import CrowdModel
from softlabels.infer.crowd.average import largest_member_bytes, member_specs
from softlabels.infer.crowd.ebcc import item_order

__all__ = ["HeldOutStacking", "DEFAULT_STACK", "answer_folds", "stacking_weights",
           "optimise_weights", "scaled_answers", "responsibility_sums", "loss_sums",
           "worker_key_sums", "folds_from_keys", "scramble", "prediction_rows",
           "predict_answers"]

#: the members stacked by default: full and one-coin Dawid–Skene, both leave-self-out
DEFAULT_STACK: tuple[str, ...] = (
    "dawid-skene:uncertainty=leave-self-out",
    "one-coin-dawid-skene:uncertainty=leave-self-out",
)
#: EM steps before the weights are polished by a constrained quasi-Newton search
_WEIGHT_EM_STEPS = 20


def stacking_weights(probs: np.ndarray) -> np.ndarray:
    """Mixture weights ``w`` (non-negative, summing to 1) that maximise
    ``sum_a log sum_m w_m probs[a, m]``: the stacking of predictive distributions.
    ``probs[a, m]`` is the probability member m gave held-out answer a. The objective
    is concave in ``w``: a few EM steps (each the mean of the members' responsibilities
    for the answers) from equal weights, then SLSQP on the simplex with the analytic
    gradient, reach its maximum (EM alone crawls towards a weight of 0). No answers:
    equal weights. The search is :func:`optimise_weights`, on the answers' sums.

    Parameters
    ----------
    probs : numpy.ndarray, shape (n_answers, n_members)
        Probability each member gave each held-out answer.

    Returns
    -------
    numpy.ndarray, shape (n_members,)
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] == 0:
        raise InvalidParameterError(f"probs must be (n_answers, n_members); got {probs.shape}.")
    probs = scaled_answers(probs)
    return optimise_weights(probs.shape[0], probs.shape[1],
                            lambda w: responsibility_sums(probs, w),
                            lambda v: loss_sums(probs, v))


def scaled_answers(probs: np.ndarray) -> np.ndarray:
    """The held-out answers that count, each divided by its largest member probability
    (the same optimum, better scaled): an answer no member can explain says nothing.

    Parameters
    ----------
    probs : numpy.ndarray, shape (n_answers, n_members)
        Probability each member gave each held-out answer.

    Returns
    -------
    numpy.ndarray, shape (n_kept, n_members)
    """
    probs = probs[probs.max(axis=1) > 0]
    return probs / probs.max(axis=1, keepdims=True)


def responsibility_sums(probs: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The members' responsibilities for the answers ``probs`` (scaled), summed.

    Parameters
    ----------
    probs : numpy.ndarray, shape (n_answers, n_members)
        Probability each member gave each held-out answer (scaled by :func:`scaled_answers`).
    w : numpy.ndarray, shape (n_members,)
        Mixture weights.

    Returns
    -------
    numpy.ndarray, shape (n_members,)
    """
    resp = probs * w
    resp /= resp.sum(axis=1, keepdims=True)
    return resp.sum(axis=0)


def loss_sums(probs: np.ndarray, v: np.ndarray) -> tuple[float, np.ndarray]:
    """``sum_a log(probs[a] @ v)`` and its gradient in ``v``, over the answers
    ``probs`` (scaled).

    Parameters
    ----------
    probs : numpy.ndarray, shape (n_answers, n_members)
        Probability each member gave each held-out answer (scaled by :func:`scaled_answers`).
    v : numpy.ndarray, shape (n_members,)
        Mixture weights.

    Returns
    -------
    loss : float
    gradient : numpy.ndarray, shape (n_members,)
    """
    mix = np.maximum(probs @ v, K.TINY)
    return float(np.log(mix).sum()), (probs / mix[:, None]).sum(axis=0)


def optimise_weights(
    n: int, m: int, em_sums: Callable[[np.ndarray], np.ndarray],
    loss_grad_sums: Callable[[np.ndarray], tuple[float, np.ndarray]],
) -> np.ndarray:
    """The stacking weights of :func:`stacking_weights` from sums over the ``n``
    (scaled) held-out answers of ``m`` members: ``em_sums(w)``, the responsibilities
    summed (:func:`responsibility_sums`), and ``loss_grad_sums(v)``, the summed log
    mixture probability and its gradient (:func:`loss_sums`). The sums may come from
    one array or from a cluster's partitions (the Dask engine): the same search.

    Parameters
    ----------
    n : int
        Number of held-out answers.
    m : int
        Number of members.
    em_sums : callable
        Weights to the summed responsibilities.
    loss_grad_sums : callable
        Weights to the summed log mixture probability and its gradient.

    Returns
    -------
    numpy.ndarray, shape (m,)
        Non-negative weights summing to 1.
    """
    from scipy.optimize import minimize

    w = np.full(m, 1.0 / m)
    if n == 0 or m == 1:
        return w
    for _ in range(_WEIGHT_EM_STEPS):
        w = em_sums(w) / n
    cache: dict[bytes, tuple[float, np.ndarray]] = {}

    def evaluate(v: np.ndarray) -> tuple[float, np.ndarray]:
        key = np.asarray(v, dtype=np.float64).tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = loss_grad_sums(np.asarray(v, dtype=np.float64))
        return cache[key]

    def loss(v: np.ndarray) -> float:
        return float(-evaluate(v)[0] / n)

    def grad(v: np.ndarray) -> np.ndarray:
        return -evaluate(v)[1] / n

    best = minimize(loss, w, jac=grad, method="SLSQP", bounds=[(0.0, 1.0)] * m,
                    constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1.0,
                                  "jac": lambda v: np.ones(m)}],
                    options={"ftol": 1e-13, "maxiter": 500})
    polished = np.clip(best.x, 0.0, None)
    polished /= polished.sum()
    return polished if loss(polished) <= loss(w) else w


#: the multiplier of an answer's agreement in its worker's fold key
_AGREE_MIX = np.uint64(0x9E3779B97F4A7C15)


def answer_folds(ann: Annotations, n_folds: int, seed: Any) -> np.ndarray:
    """The fold (0 .. n_folds - 1) of every answer, -1 for answers never held out.

    An answer's fold is a seeded hash of its item's id and of its worker's answering
    pattern: the items the worker answered, each with how many other answers on it
    agree with the worker's. So the folds are the same whatever the row order, the
    worker ids or the class names; workers with the same pattern are held out together.
    An item whose answers all fall into one fold keeps them all (nothing would be left
    to predict them from), as does an item with one answer.

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    n_folds : int
        Number of folds.
    seed : None, int or numpy.random.Generator
        Seed of the items' hash keys (anything ``check_random_state`` takes).

    Returns
    -------
    numpy.ndarray of int, shape (n_answers,)
    """
    rng = check_random_state(seed)
    rank = np.empty(ann.n_items, dtype=np.int64)
    rank[item_order(ann.item_ids)] = np.arange(ann.n_items)
    item_key = rng.integers(0, 2**63, size=ann.n_items, dtype=np.uint64)[rank]
    mix_key = rng.integers(0, 2**63, size=ann.n_items, dtype=np.uint64)[rank]
    worker_key = worker_key_sums(ann, item_key)
    return folds_from_keys(ann, worker_key, mix_key, n_folds)


def worker_key_sums(ann: Annotations, item_key: np.ndarray) -> np.ndarray:
    """Every worker's fold key: the sum, modulo 2**64, of a hash of each of its
    answers (its item's key and the answers on the item that agree with it). Sums of
    disjoint sets of answers add up (modulo 2**64) to the sum over their union.

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    item_key : numpy.ndarray of uint64, shape (n_items,)
        Each item's random key.

    Returns
    -------
    numpy.ndarray of uint64, shape (n_workers,)
    """
    agree = ann.counts[ann.item, ann.label].astype(np.uint64)  # itself included
    worker_key = np.zeros(ann.n_workers, dtype=np.uint64)
    with np.errstate(over="ignore"):
        np.add.at(worker_key, ann.worker, scramble(item_key[ann.item] + agree * _AGREE_MIX))
    return worker_key


def folds_from_keys(ann: Annotations, worker_key: np.ndarray, mix_key: np.ndarray,
                    n_folds: int) -> np.ndarray:
    """The folds of :func:`answer_folds` from the workers' keys and the items' second
    keys (``mix_key``, per item of ``ann``); each item's answers are all in ``ann``.

    Parameters
    ----------
    ann : Annotations
        The encoded answers.
    worker_key : numpy.ndarray of uint64, shape (n_workers,)
        Each worker's key, from :func:`worker_key_sums`.
    mix_key : numpy.ndarray of uint64, shape (n_items,)
        Each item's second key.
    n_folds : int
        Number of folds.

    Returns
    -------
    numpy.ndarray of int, shape (n_answers,)
        The fold of each answer, -1 for answers never held out.
    """
    h = scramble(worker_key[ann.worker] ^ mix_key[ann.item])
    fold = (h % np.uint64(n_folds)).astype(np.int64)
    # items whose answers all share one fold are never held out
    first = np.full(ann.n_items, -1, dtype=np.int64)
    first[ann.item[::-1]] = fold[::-1]
    mixed = np.bincount(ann.item, weights=(fold != first[ann.item]), minlength=ann.n_items) > 0
    return np.where(mixed[ann.item], fold, -1)


def scramble(h: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser (every input bit moves every output bit); uint64.

    Parameters
    ----------
    h : numpy.ndarray of uint64

    Returns
    -------
    numpy.ndarray of uint64
    """
    with np.errstate(over="ignore"):
        h = h ^ (h >> np.uint64(30))
        h = h * np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h


def prediction_rows(cube: np.ndarray, prior_strength: float) -> np.ndarray:
    """The workers' answer distributions ``[w, l, k]``: P(label l | class k) from the
    expected counts ``cube[w, l, k]`` of the training answers, plus ``prior_strength``
    answers of the pooled confusion and a pseudo-count on every cell.

    Parameters
    ----------
    cube : numpy.ndarray, shape (n_workers, n_classes, n_classes)
        Expected counts of the training answers.
    prior_strength : float
        Weight, in answers, of the pooled confusion added to each worker's.

    Returns
    -------
    numpy.ndarray, shape (n_workers, n_classes, n_classes)
        Each ``[w, :, k]`` sums to 1.
    """
    pooled = cube.sum(axis=0)
    pooled = pooled / np.maximum(pooled.sum(axis=0, keepdims=True), K.TINY)
    counts = cube + prior_strength * pooled + _ALPHA
    return counts / counts.sum(axis=1, keepdims=True)


def predict_answers(post: np.ndarray, rows: np.ndarray, ann: Annotations,
                    out: np.ndarray) -> np.ndarray:
    """The probability of the answers ``out`` of ``ann``: ``sum_k post[i, k]
    rows[w, l, k]``.

    Parameters
    ----------
    post : numpy.ndarray, shape (n_items, n_classes)
        A member's posteriors.
    rows : numpy.ndarray, shape (n_workers, n_classes, n_classes)
        Answer distributions from :func:`prediction_rows`.
    ann : Annotations
        The encoded answers.
    out : numpy.ndarray of int
        Indices of the answers to predict.

    Returns
    -------
    numpy.ndarray, shape (len(out),)
    """
    item, worker, label = ann.item[out], ann.worker[out], ann.label[out]
    return np.einsum("ak,ak->a", post[item], rows[worker, label])


class HeldOutStacking(CrowdModel):
    """A mixture of crowd models whose weights best predict held-out answers (stacking).

    No single crowd model is best on every crowd: full confusion matrices fit a crowd of
    many answers per worker, one skill per worker a sparse or biased one. Stacking
    weighs the members by the data themselves, without truth. The answers are split
    into ``n_folds`` folds; each member is fitted without each fold and predicts its
    answers: answer ``(i, w, l)`` gets ``sum_k p(i, k) pi[w, k, l]``, with ``p`` the
    member's posterior of item i from the remaining answers and ``pi[w]`` worker w's
    confusion matrix estimated from those answers and ``p`` (expected counts plus
    ``prior_strength`` answers of the pooled confusion of all workers, as
    :class:`~softlabels.infer.crowd.dawid_skene.DawidSkene`), the same for every member
    whose answers are independent given the class, so that their posteriors, not their
    own worker models, are compared. A member that ties an item's answers together
    beyond its class predicts with its own model (its ``answer_probabilities``: EBCC's
    subtypes, where the item's other answers say which kind of item it is). The
    weights maximise the log-likelihood of the held-out answers under the mixture of
    the members' predictions (:func:`stacking_weights`); the soft labels are the same
    mixture of the members' soft labels fitted on all answers.

    Parameters
    ----------
    members : sequence of str or (str, dict), optional
        Crowd models, by registry name (``"name:key=value"`` allowed) or (name,
        parameters). Default: :data:`DEFAULT_STACK`, full and one-coin Dawid–Skene with
        ``uncertainty="leave-self-out"``.
    n_folds : int, default=5
        Folds of answers (each member is fitted ``n_folds + 1`` times).
    prior_strength : float, default=2
        Pooled-confusion answers added to every worker's confusion in the predictions.
    random_state : int, Generator or None, default=0
        Seeds the split of the answers into folds (:func:`answer_folds`).
    n_jobs : int or None, default=None
        Threads for the members that take them (Dawid–Skene's ``n_jobs``; same results);
        None leaves each member's own default.

    Attributes
    ----------
    weights_ : ndarray of shape (n_members,)
    held_out_log_likelihood_ : ndarray of shape (n_members,)
        Each member's mean log-probability of the held-out answers (nats per answer).
    members_ : list of fitted CrowdModel
    skills_ : ndarray of shape (n_workers,)
        The members' skills, mixed with the weights.

    Notes
    -----
    Over the 19 crowd data sets with truth of the benchmark suite
    (``benchmarks/crowd_suite.py``; ``crowd_defaults.py`` counts a set as failed when
    the model is more than 2 accuracy points below crowd-kit's most accurate model or
    above crowd-kit's lowest NLL), the default stack fails 5 sets with a mean accuracy
    of .8388 and a mean NLL of 0.582, where its members alone fail 7 each
    (leave-self-out Dawid–Skene: .8364, 0.614; one-coin: .8266, 0.621). It stays
    honest: an item answered 4:3 by seven unseen workers gets at most 0.79, and the
    top-label ECE on synthetic Dawid–Skene crowds (5 answers per item) is at most
    0.018 (``benchmarks/crowd_uncertainty.py``). With ``n_folds + 1`` fits of every
    member it costs about 12 Dawid–Skene fits.

    References
    ----------
    D. H. Wolpert, "Stacked generalization", Neural Networks 5(2), 1992.
    Y. Yao, A. Vehtari, D. Simpson and A. Gelman, "Using stacking to average Bayesian
    predictive distributions", Bayesian Analysis 13(3), 2018.
    """

    name = "stacked"
    summary = "mixture of crowd models weighted by held-out answer likelihood (stacking)"
    _parameter_constraints = {
        "n_folds": integer(low=2),
        "prior_strength": real(low=0.0),
        "random_state": random_state,
        "n_jobs": n_jobs,
    }

    def __init__(
        self,
        *,
        members: Sequence[str | tuple[str, Mapping[str, Any]]] | None = None,
        n_folds: int = 5,
        prior_strength: float = 2.0,
        random_state: int | np.random.Generator | None = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.members = members
        self.n_folds = n_folds
        self.prior_strength = prior_strength
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _member_specs(self) -> list[tuple[str, dict[str, Any]]]:
        return member_specs(DEFAULT_STACK if self.members is None else self.members, self)

    def _validate_params(self) -> None:
        super()._validate_params()
        self._member_specs()

    def _memory_bytes(self, n_workers: int, n_classes: int, n_items: int) -> int:
        """The largest member's need (members are fitted one after the other) plus one
        posterior matrix per member and the confusion counts of the predictions."""
        specs = self._member_specs()
        return (largest_member_bytes(specs, n_workers, n_classes, n_items)
                + 8 * ((len(specs) + 1) * n_items * n_classes + 2 * n_workers * n_classes**2))

    def _fit_member(self, name: str, params: dict[str, Any], ann: Annotations,
                    gold: np.ndarray) -> CrowdModel:
        from softlabels.infer.registry import create_method

        model = create_method(name, **params)
        if self.n_jobs is not None and "n_jobs" in model.get_params() and "n_jobs" not in params:
            model.set_params(n_jobs=self.n_jobs)
        model._validate_params()
        return model._fit_codes(ann, gold)

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        specs = self._member_specs()
        fold = answer_folds(ann, self.n_folds, self.random_state)
        held = np.zeros((ann.n_answers, len(specs)))
        for f in range(self.n_folds):
            out = fold == f
            if not out.any():
                continue
            keep = ~out
            train = Annotations(ann.item[keep], ann.worker[keep], ann.label[keep],
                                ann.item_ids, ann.worker_ids, ann.classes)
            for m, (name, params) in enumerate(specs):
                member = self._fit_member(name, params, train, gold)
                held[out, m] = self._predict(train, member, ann, out)
        scored = fold >= 0
        self.weights_ = stacking_weights(held[scored])
        with np.errstate(divide="ignore"):
            self.held_out_log_likelihood_ = (
                np.log(held[scored]).mean(axis=0) if scored.any()
                else np.zeros(len(specs)))
        fitted = [self._fit_member(name, params, ann, gold) for name, params in specs]
        post = np.tensordot(self.weights_, np.stack([m.soft_labels_.probs for m in fitted]),
                            axes=1)
        self.members_ = fitted
        self.skills_ = np.tensordot(self.weights_, np.stack([m.skills_ for m in fitted]),
                                    axes=1)
        self.n_iter_ = max(m.n_iter_ for m in fitted)
        self.converged_ = all(m.converged_ for m in fitted)
        return normalize_rows(post)

    def _predict(self, train: Annotations, member: CrowdModel, ann: Annotations,
                 out: np.ndarray) -> np.ndarray:
        """The probability of the answers ``out`` of ``ann`` under ``member`` fitted on
        ``train``: its own ``answer_probabilities`` where it has one (EBCC), else from
        its posteriors through confusion matrices estimated from ``train`` and them (with
        the pooled-confusion prior)."""
        if hasattr(member, "answer_probabilities"):
            return member.answer_probabilities(ann.item[out], ann.worker[out], ann.label[out])
        post = member.soft_labels_.probs
        k = ann.n_classes
        cube = K.pair_counts(train, post).reshape(-1, k, k)  # [w, l, k]
        return predict_answers(post, prediction_rows(cube, self.prior_strength), ann, out)

#: a pseudo-count on every confusion cell of the predictions (keeps them above 0)
_ALPHA = 0.01
