"""EM iterations as per-block sufficient statistics.

A *block* is an :class:`~softlabels.core.Annotations` holding every answer on a set of
items (item codes local to the block, worker and class codes global). A model *plan*
splits one fit into what runs per block and what runs once:

- ``start(block)``: the initial posteriors of the block's items and their statistics;
- ``params(totals)``: the M-step, from the statistics summed over all blocks
  (``O(n_workers * n_classes²)`` numbers, whatever the number of answers);
- ``advance(block, params)``: the E-step of the block's items with the broadcast
  parameters, and the statistics of the new posteriors;
- ``fitted(params)``: the model attributes (``confusions_``, ``skills_``, ...).

GLAD's M-step takes several passes per iteration (:class:`GladPlan`), EBCC runs
``n_init`` EM runs from random splits over its subtypes (:class:`EBCCPlan`),
soft-average runs its members' plans on the same blocks (:class:`AveragePlan`), and
``init="spectral"`` starts an EM plan from moments summed over the blocks
(:meth:`_EMPlan.spectral_start`).

Statistics are dicts of arrays (or floats) that add up over blocks: the sum is the
same whatever the partitioning, so any engine that sums them (in one process, or in
a reduction tree on a cluster) gives the in-process model's numbers. The math is the
in-process models' own (:mod:`softlabels.infer.em`, their M-step helpers).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import expit

from softlabels.core.annotations import Annotations
from softlabels.core.errors import InvalidParameterError
from softlabels.core.soft import normalize_rows
from softlabels.infer import em as K
from softlabels.infer.base import pin_gold
from softlabels.infer.crowd.average import SoftAverage
from softlabels.infer.crowd.dawid_skene import DawidSkene, OneCoinDawidSkene, log_confusion_rows
from softlabels.infer.crowd.glad import GLAD, ascend, fit_sums, glad_logits, scoring_sums
from softlabels.infer.crowd.ebcc import EBCC, subtype_answer_probabilities
from softlabels.infer.crowd.ibcc import IBCC, BCCParams
from softlabels.infer.crowd.mace import MACE
from softlabels.infer.crowd.spectral import SpectralEstimate, estimate_posteriors
from softlabels.infer.crowd.stacking import (
    HeldOutStacking, folds_from_keys, loss_sums, predict_answers, responsibility_sums,
    scaled_answers, worker_key_sums,
)
from softlabels.infer.crowd.votes import MajorityVote, SoftVote, Wawa, ZeroBasedSkill

__all__ = ["Plan", "WeightedVotePlan", "plan_for", "add_stats", "SUPPORTED"]

Stats = dict[str, Any]

#: the models an engine can run, with the parameter values that they need
SUPPORTED = {
    "majority-vote": "any parameters",
    "soft-vote": "any parameters",
    "wawa": "any parameters",
    "zero-based-skill": "any parameters",
    "dawid-skene": "any parameters",
    "one-coin-dawid-skene": "any parameters",
    "mace": "n_restarts=0",
    "glad": "any parameters",
    "ibcc": "any parameters",
    "ebcc": "any parameters",
    "soft-average": "members that run on a partitioned engine",
    "stacked": "members that run on a partitioned engine (not stacked)",
}


def gold_codes(block: Annotations) -> np.ndarray:
    """The block's known labels (``block.gold``, set by the engine): class codes of its
    items, -1 where unknown (all -1 without gold)."""
    gold = getattr(block, "gold", None)
    return np.full(block.n_items, -1, dtype=np.int64) if gold is None else gold


def add_stats(a: Stats, b: Stats) -> Stats:
    """The sum of two blocks' statistics (key by key).

    Parameters
    ----------
    a, b : dict
        Two blocks' statistics, with the same keys.

    Returns
    -------
    dict
    """
    return {key: a[key] + b[key] for key in a}


def _by_class(post: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n_items, K * M)`` posteriors as ``(n_items, K, M)`` (also for no items, where
    ``reshape(..., -1)`` cannot tell ``M``)."""
    return post.reshape(post.shape[0], n_classes, post.shape[1] // n_classes)


def _base_stats(block: Annotations, post: np.ndarray) -> Stats:
    """What every plan sums: answers, answers per worker, the posterior mass per class
    and each worker's expected right answers."""
    return {
        "n_answers": float(block.n_answers),
        "n_items": float(block.n_items),
        "per_worker": block.answers_per_worker,
        "class_mass": post.sum(axis=0),
        "agree": K.per_worker_sum(block, K.answer_agreement(block, post)),
    }


class Plan:
    """A closed-form model: posteriors per block, skills from the summed agreement.

    Parameters
    ----------
    model : Any
        The (unfitted, validated) in-process crowd model the plan runs.
    """

    iterative = False

    def __init__(self, model: Any) -> None:
        self.model = model

    def start(self, block: Annotations) -> tuple[np.ndarray, Stats]:
        gold = gold_codes(block)
        post = self.model._fit(block, gold)  # skills: agreement with the unpinned votes
        return pin_gold(post, gold), self.stats(block, post)

    def stats(self, block: Annotations, post: np.ndarray) -> Stats:
        return _base_stats(block, post)

    def fitted(self, params: Any, totals: Stats) -> dict[str, Any]:
        return {"skills_": totals["agree"] / np.maximum(totals["per_worker"], 1)}


class _EMPlan(Plan):
    """An EM model; with ``uncertainty`` other than ``"plug-in"``, the held-out
    temperature is fitted after EM from per-block sums of its objective
    (:meth:`temper_terms`, :meth:`temper_loglik`): every block keeps the terms of its
    answers in :func:`softlabels.infer.em.temperature_sample` (chosen by content, one
    answer at a time), the answers the in-process fit uses."""

    iterative = True

    @property
    def tempered(self) -> bool:
        return self.model.uncertainty != "plug-in"

    def temper_terms(
        self, block: Annotations, post: np.ndarray, fitted: Any, prior: np.ndarray,
        sample: tuple[int, np.ndarray | None],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The block's item scores and the temperature terms of its chosen answers
        (``sample``: the step and the workers' id hashes, the arguments of
        :func:`softlabels.infer.em.temperature_sample`)."""
        scores, answer_logs = self.model._held_out_logs(block, post, fitted)
        if self.model.uncertainty == "leave-self-out":
            scores, answer_logs = K.leave_self_out(block.item, block.n_items, answer_logs)
            if not block.n_answers:  # no answer to sum: no column either
                scores = np.zeros((block.n_items, prior.shape[0]))
        scores = scores.astype(np.float64, copy=False)  # bincount of nothing is int
        chosen = K.temperature_sample(block, *sample)
        logits, held = K.temperature_terms(np.log(prior), scores, block.item, answer_logs, chosen)
        return scores, logits, held

    @staticmethod
    def temper_loglik(terms: tuple[np.ndarray, np.ndarray, np.ndarray], inv_t: float) -> float:
        return K.temperature_loglik(inv_t, terms[1], terms[2])

    @staticmethod
    def tempered_post(
        block: Annotations, terms: tuple[np.ndarray, np.ndarray, np.ndarray],
        prior: np.ndarray, temperature: float,
    ) -> tuple[np.ndarray]:
        post = K.tempered_posteriors(np.log(prior), terms[0], temperature)
        return (pin_gold(post, gold_codes(block), copy=False),)

    #: whether :meth:`advance` reads the block's previous posteriors
    reads_post = False

    def temper_prior(self, params: Any) -> np.ndarray:
        """The class prior of the tempered posteriors."""
        return params[1]

    def objective(self, loglik: float, params: Any) -> float:
        """The EM objective from the log-likelihood summed over blocks."""
        return loglik

    def start(self, block: Annotations) -> tuple[np.ndarray, Stats]:
        post = self.pin_start(block, self.model._initial_posteriors(block))
        return post, self.stats(block, post)

    @staticmethod
    def pin_start(block: Annotations, post: np.ndarray) -> np.ndarray:
        """The first posteriors with the gold items pinned."""
        return pin_gold(post, gold_codes(block))

    def spectral_start(
        self, block: Annotations, est: SpectralEstimate | None
    ) -> tuple[np.ndarray, Stats, float]:
        """:meth:`start` for ``init="spectral"`` from the estimate of the summed
        moments (:func:`~softlabels.infer.crowd.spectral.group_moments`); its third
        value counts non-finite posteriors (any, in any block: the in-process fit
        falls back to the soft vote everywhere; so does ``est=None``)."""
        post = None if est is None else estimate_posteriors(block, est)
        bad = float(post is not None and not np.isfinite(post).all())
        if post is None or bad:
            post = normalize_rows(block.counts)
        post = self.pin_start(block, post)
        return post, self.stats(block, post), bad

    def advance(self, block: Annotations, params: Any) -> tuple[np.ndarray, float, Stats]:
        post, loglik = K.log_normalize(self._logits(block, params))
        post = pin_gold(post, gold_codes(block), copy=False)
        return post, loglik, self.stats(block, post)

    def _logits(self, block: Annotations, params: Any) -> np.ndarray:
        raise NotImplementedError


class DawidSkenePlan(_EMPlan):
    """Full confusion matrices: the statistics are the expected counts in the
    ``(worker * K + label, class)`` layout of :class:`DawidSkene`'s log table."""

    def stats(self, block: Annotations, post: np.ndarray) -> Stats:
        return {**_base_stats(block, post), "pairs": K.pair_counts(block, post)}

    def params(self, totals: Stats) -> tuple[np.ndarray, np.ndarray]:
        counts = totals["pairs"]
        k = counts.shape[1]
        cube = counts.reshape(-1, k, k)  # [w, l, k]
        cube = cube + self.model._pseudo_counts(cube)
        log_cube = log_confusion_rows(cube, self.model.alpha <= 0)  # DawidSkene's M-step
        prior = K.class_prior(totals["class_mass"][None, :])
        return log_cube.reshape(-1, k), prior

    def _logits(self, block: Annotations, params: Any) -> np.ndarray:
        table, prior = params
        logits = np.asarray(block.item_pair_matrix @ table)
        logits += np.log(prior)
        return logits

    def held_out_params(self, totals: Stats) -> Any:
        return self.model._held_out_params(totals["pairs"])

    def fitted(self, params: Any, totals: Stats) -> dict[str, Any]:
        table, prior = params
        k = table.shape[1]
        pi = np.ascontiguousarray(np.exp(table.reshape(-1, k, k)).transpose(0, 2, 1))
        return {
            "confusions_": pi,
            "priors_": prior,
            "skills_": np.einsum("wkk,k->w", pi, prior),
            "temperature_": 1.0,
        }


class OneCoinPlan(_EMPlan):
    """One skill per worker: the statistics are each worker's expected right answers."""

    def params(self, totals: Stats) -> tuple[np.ndarray, np.ndarray]:
        agree, k = totals["agree"], totals["class_mass"].shape[0]
        mean = self.model._mean_skill(agree, totals["n_answers"], k)
        skills = self.model._skills(agree, totals["per_worker"], k, mean)
        if self.model.prior == "learn":
            prior = K.class_prior(totals["class_mass"][None, :])
        else:
            prior = np.full(k, 1.0 / k)
        return skills, prior

    def _logits(self, block: Annotations, params: Any) -> np.ndarray:
        skills, prior = params
        return self.model._log_scores(block, skills) + np.log(prior)

    def held_out_params(self, totals: Stats) -> Any:
        return self.model._held_out_params(
            totals["agree"], totals["per_worker"], totals["class_mass"].shape[0],
            totals["n_answers"],
        )

    def fitted(self, params: Any, totals: Stats) -> dict[str, Any]:
        skills, prior = params
        return {"skills_": skills, "priors_": prior, "temperature_": 1.0}


class MacePlan(_EMPlan):
    """MACE (either ``method``): the statistics are the expected confusion counts, as
    for Dawid–Skene; the parameters (competence, spamming distributions, class prior)
    are updated on the client from them and from the previous parameters. The first
    posteriors come from parameters fitted to the vote proportions
    (:meth:`initial_params`, one more pass), as in-process."""

    tempered = False

    def start(self, block: Annotations) -> tuple[np.ndarray, Stats]:
        post = normalize_rows(block.counts)
        return post, self.stats(block, post)

    def stats(self, block: Annotations, post: np.ndarray) -> Stats:
        return {**_base_stats(block, post), "pairs": K.pair_counts(block, post)}

    def _update(self, totals: Stats, previous: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        k = totals["class_mass"].shape[0]
        counts = totals["pairs"].reshape(-1, k, k).transpose(0, 2, 1)  # [w, k, l]
        know, spam = self.model._expected_counts(counts, previous)
        return self.model._update(know, spam, totals["per_worker"], totals["class_mass"])

    def initial_params(self, totals: Stats) -> tuple[np.ndarray, ...]:
        w, k = totals["per_worker"].shape[0], totals["class_mass"].shape[0]
        flat = (np.full(w, 0.5), np.full(w, 0.5), np.full((w, k), 1.0 / k))
        self.current = self._update(totals, flat)
        return self.current

    def params(self, totals: Stats) -> tuple[np.ndarray, ...]:
        self.current = self._update(totals, self.current)
        return self.current

    def _logits(self, block: Annotations, params: Any) -> np.ndarray:
        scores = K.confusion_log_scores(block, self.model._log_pi(params))
        return scores + self.model._log_prior(params, block.n_classes)

    def fitted(self, params: Any, totals: Stats) -> dict[str, Any]:
        theta, not_theta, xi, prior = params
        k = xi.shape[1]
        competence = theta / (theta + not_theta)
        return {"priors_": prior if self.model.prior == "learn" else np.full(k, 1.0 / k),
                "competence_": competence, "spamming_": normalize_rows(xi),
                "skills_": competence}


class GladPlan(_EMPlan):
    """GLAD: the item easiness ``log beta`` lives with its items, in the blocks; the
    worker abilities ``alpha`` and the class prior are broadcast. The M-step is
    :class:`~softlabels.infer.crowd.glad.GLAD`'s own rounds of safeguarded Fisher
    steps (:func:`~softlabels.infer.crowd.glad.safeguarded_step`): each round one
    step on ``alpha`` from the summed per-worker :meth:`worker_sums` (and the summed
    :meth:`worker_fit` at the trial abilities, once per halving), then one step on
    every block's ``log beta``, whose answers are all in the block
    (:meth:`item_step`). :meth:`speculate` does a round's trial at the full step and
    the item step and sums that follow if that trial is taken, in one pass."""

    tempered = False

    def items(self, block: Annotations) -> np.ndarray:
        """The first ``log beta`` of the block's items."""
        return np.full(block.n_items, float(self.model.log_beta_prior))

    def worker_sums(
        self, block: Annotations, post: np.ndarray, log_beta: np.ndarray, alpha: np.ndarray
    ) -> np.ndarray:
        p = K.answer_agreement(block, post)
        beta = np.exp(log_beta)[block.item]
        return scoring_sums(alpha, beta, block.worker, p, alpha.shape[0], False)

    def worker_fit(
        self, block: Annotations, post: np.ndarray, log_beta: np.ndarray, trial: np.ndarray
    ) -> np.ndarray:
        p = K.answer_agreement(block, post)
        z = trial[block.worker] * np.exp(log_beta)[block.item]
        return fit_sums(z, p, block.worker, trial.shape[0])

    def item_step(
        self, block: Annotations, post: np.ndarray, log_beta: np.ndarray, alpha: np.ndarray
    ) -> tuple[np.ndarray, float]:
        p = K.answer_agreement(block, post)
        return ascend(log_beta, alpha[block.worker], block.item, p,
                      self.model.log_beta_prior, block.n_items, True)

    def speculate(
        self, block: Annotations, post: np.ndarray, log_beta: np.ndarray, trial: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        """:meth:`worker_fit` at ``trial``, then, as if ``trial`` were taken,
        :meth:`item_step` and the next round's :meth:`worker_sums`."""
        fit = self.worker_fit(block, post, log_beta, trial)
        new, moved = self.item_step(block, post, log_beta, trial)
        return fit, new, moved, self.worker_sums(block, post, new, trial)

    def prior(self, totals: Stats) -> np.ndarray:
        k = totals["class_mass"].shape[0]
        if self.model.prior == "learn":
            return K.class_prior(totals["class_mass"][None, :])
        return np.full(k, 1.0 / k)

    def advance_items(
        self, block: Annotations, log_beta: np.ndarray, params: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, float, Stats]:
        alpha, prior = params
        post, loglik = K.log_normalize(glad_logits(block, alpha, log_beta, prior))
        post = pin_gold(post, gold_codes(block), copy=False)
        return post, loglik, self.stats(block, post)

    def fitted(self, params: Any, totals: Stats) -> dict[str, Any]:
        alpha, prior = params
        return {"alphas_": alpha, "priors_": prior, "skills_": expit(alpha)}


class BCCPlan(_EMPlan):
    """IBCC (one subtype per class; :class:`EBCCPlan` for more), any ``inference``: the
    statistics are the expected confusion counts and the mass per class and subtype
    (:meth:`BCCKernel.sums <softlabels.infer.crowd.ibcc.BCCKernel.sums>`), plus the vote
    proportions' column sums for ``class_prior="empirical"``; the Dirichlet parameters come from
    them on the client (:meth:`BCCKernel.params_from`) and the E-step runs on each
    block's own kernel. The evidence bound's Dirichlet term (``params.kl``) is taken
    off the summed log normalisers once. ``"vb-collapsed"`` ends with the collapsed
    update and its held-out temperature, fitted like Dawid–Skene's (the prior terms
    ride in the item scores, the class prior of the tempering is flat)."""

    @property
    def tempered(self) -> bool:
        return self.model.inference == "vb-collapsed"

    @property
    def reads_post(self) -> bool:
        return self.model.inference == "collapsed"

    def _kernel(self, block: Annotations, collapsed: bool) -> Any:
        # a block kernel runs E-steps only, which do not read the class prior
        return self.model._kernel(block, gold_codes(block), collapsed=collapsed,
                                  class_prior=np.zeros(block.n_classes))

    def _client_kernel(self, totals: Stats, collapsed: bool) -> Any:
        """A kernel without items, for the M-step and the summary."""
        w, k = totals["per_worker"].shape[0], totals["class_mass"].shape[0]
        empty = np.zeros(0, dtype=np.int64)
        ann = Annotations(empty, empty, empty.astype(np.int32), np.zeros(0),
                          np.zeros(w, dtype=np.bool_), np.arange(k))
        if isinstance(self.model.class_prior, str):  # "empirical"
            prior = totals["votes"]
        else:
            prior = np.full(k, float(self.model.class_prior))
        return self.model._kernel(ann, empty, collapsed=collapsed, class_prior=prior)

    def stats(self, block: Annotations, post: np.ndarray) -> Stats:
        """``post``: the joint posterior of the items' class and subtype (``K * M``
        columns; the class posterior for IBCC)."""
        classes = _by_class(post, block.n_classes).sum(axis=2)
        return {**_base_stats(block, classes), "pairs": K.pair_counts(block, post),
                "mass": post.sum(axis=0), "votes": normalize_rows(block.counts).sum(axis=0)}

    def params(self, totals: Stats) -> BCCParams:
        kernel = self._client_kernel(totals, self.model.inference == "collapsed")
        return kernel.params_from(totals["pairs"], totals["mass"])

    def advance(
        self, block: Annotations, params: BCCParams, post: np.ndarray | None = None
    ) -> tuple[np.ndarray, float, Stats]:
        kernel = self._kernel(block, self.model.inference == "collapsed")
        if post is not None:
            kernel.joint = post  # the collapsed E-step takes each item's own share out
        post, loglik = kernel.posterior(params)  # gold items: their class only
        return post, loglik, self.stats(block, post)

    def objective(self, loglik: float, params: BCCParams) -> float:
        return loglik - params.kl

    def held_out_params(self, totals: Stats) -> BCCParams:
        return self._client_kernel(totals, True).params_from(totals["pairs"], totals["mass"])

    def temper_prior(self, params: Any) -> np.ndarray:
        return np.ones(params.eta.size)  # flat over the classes (and subtypes)

    def temper_terms(
        self, block: Annotations, post: np.ndarray, fitted: Any, prior: np.ndarray,
        sample: tuple[int, np.ndarray | None],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        kernel = self._kernel(block, True)
        kernel.joint = post
        scores = kernel._collapsed_logits(fitted)

        def answer_logs(s: Any) -> tuple[np.ndarray, np.ndarray]:
            held = kernel.answer_terms(fitted, s)
            return held, held

        chosen = K.temperature_sample(block, *sample)
        logits, held = K.temperature_terms(np.log(prior), scores, block.item, answer_logs, chosen)
        return scores, logits, held

    def fitted(self, params: Any, totals: Stats) -> dict[str, Any]:
        if self.tempered:  # the collapsed update's parameters
            params = self.held_out_params(totals)
        return self.attributes(self._client_kernel(totals, False).summarise(params))

    @staticmethod
    def attributes(summary: dict[str, np.ndarray]) -> dict[str, Any]:
        """The fit's attributes from the kernel's summary."""
        return {"confusions_": summary["confusions"], "priors_": summary["priors"],
                "skills_": summary["skills"], "skill_sd_": summary["skill_sd"],
                "temperature_": 1.0}


class EBCCPlan(BCCPlan):
    """EBCC: :class:`BCCPlan` on the joint posterior of class and subtype (``K * M``
    columns, in the blocks), run ``n_init`` times, the best run by objective kept
    (driven by the engine). Each run starts from the class posteriors split over the
    subtypes by one Dirichlet draw per item (:meth:`split_start`), the draws of
    ``EBCC._fit``: the engine hands every block the rows of its items' global ranks.
    Gold items are handled by the kernel (their other classes' mass zeroed), as
    in-process. The block states are ``(class posterior, joint posterior)``."""

    n_state = 2

    @property
    def m(self) -> int:
        return int(self.model.n_subtypes)

    @staticmethod
    def pin_start(block: Annotations, post: np.ndarray) -> np.ndarray:
        return post  # the kernel pins the split joint posterior (:meth:`split_start`)

    def draw_splits(self, rng: np.random.Generator, count: int
                    ) -> tuple[np.ndarray, np.random.Generator]:
        """The next ``count`` items' splits, ``EBCC._fit``'s
        ``rng.dirichlet(np.ones(M))`` rows (a Dirichlet row takes a variable number of
        the stream's outputs: the stream is handed on, not jumped ahead), and the
        generator after them (a copy: ``rng`` is left as it is)."""
        rng = copy.deepcopy(rng)
        return rng.dirichlet(np.ones(self.m), size=count), rng

    def split_start(self, block: Annotations, classes: np.ndarray, split: np.ndarray
                    ) -> tuple[np.ndarray, Stats]:
        """A run's first joint posterior: the class posteriors split by the items'
        Dirichlet rows, the gold items pinned by the kernel."""
        kernel = self._kernel(block, False)
        joint = (classes[:, :, None] * split[:, None, :]).reshape(block.n_items,
                                                                  block.n_classes * self.m)
        joint = kernel.pin(joint)
        return joint, self.stats(block, joint)

    def finish(self, block: Annotations, joint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The block's state: the class posterior (summed over the subtypes) and the joint."""
        return _by_class(joint, block.n_classes).sum(axis=2), joint

    def tempered_post(
        self, block: Annotations, terms: tuple[np.ndarray, np.ndarray, np.ndarray],
        prior: np.ndarray, temperature: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The collapsed update at the held-out temperature, as ``IBCC._collapse``."""
        logits = terms[0] / temperature
        joint, _ = K.log_normalize(self._kernel(block, False).mask_gold(logits))
        return self.finish(block, joint)

    @staticmethod
    def answer_terms(fit: Any) -> np.ndarray:
        """What the blocks need from a fit (a :class:`~softlabels.engines.dask.DaskFit`)
        to give the probability of answers it was not fitted on: the subtype confusions."""
        return fit.subtype_confusions_

    @staticmethod
    def answer_probabilities(block: Annotations, out: np.ndarray, state: tuple[np.ndarray, ...],
                             confusions: np.ndarray) -> np.ndarray:
        """``EBCC.answer_probabilities`` of the block's answers ``out`` (a mask) under a
        fit whose block state is ``state`` (its joint posterior second)."""
        joint = _by_class(state[1], block.n_classes)
        return subtype_answer_probabilities(joint, confusions, block.item[out],
                                            block.worker[out], block.label[out])

    @staticmethod
    def attributes(summary: dict[str, np.ndarray]) -> dict[str, Any]:
        return {**BCCPlan.attributes(summary),
                "subtype_confusions_": summary["subtype_confusions"],
                "subtype_weights_": summary["subtype_weights"]}


class WeightedVotePlan(Plan):
    """Skill-weighted votes (Wawa, zero-based skill). The skills live on the client;
    every pass, each block gives each worker's agreement with the block's vote under the
    current skills (majority vote for ``skills=None``), and the client moves the skills
    (:meth:`update`). The soft labels are the normalised skill-weighted votes.

    Parameters
    ----------
    model : Wawa or ZeroBasedSkill
        The (unfitted, validated) model the plan runs.
    """

    iterative = False
    weighted = True

    def agreement(self, block: Annotations, skills: np.ndarray | None) -> Stats:
        counts = block.counts if skills is None else K.worker_votes(block, skills)
        vote = pin_gold(K.split_argmax(counts), gold_codes(block), copy=False)
        return {"agree": K.per_worker_sum(block, K.answer_agreement(block, vote)),
                "per_worker": block.answers_per_worker}

    def start_skills(self, n_workers: int, n_classes: int) -> np.ndarray | None:
        """The skills of the first pass (None: the plain majority vote).

        Parameters
        ----------
        n_workers : int
            Number of workers.
        n_classes : int
            Number of classes.

        Returns
        -------
        numpy.ndarray or None
            ``1 / n_classes + eps`` for every worker, or None for Wawa.
        """
        if isinstance(self.model, Wawa):
            return None
        return np.full(n_workers, 1.0 / n_classes + self.model.eps)

    def passes(self) -> int:
        return 1 if isinstance(self.model, Wawa) else int(self.model.n_iter)

    def update(
        self, it: int, skills: np.ndarray | None, totals: Stats, lr: float
    ) -> tuple[np.ndarray, float, bool]:
        """The skills after pass ``it`` (1-based), the step size, and whether to stop:
        Wawa takes the agreement itself; zero-based skill moves towards it by ``lr``,
        which shrinks every ``lr_steps_to_reduce`` passes, and stops when no skill moves
        by ``tol``.

        Parameters
        ----------
        it : int
            The pass just done, 1-based.
        skills : numpy.ndarray or None
            The skills of that pass (None for the plain majority vote).
        totals : dict
            The statistics summed over the blocks.
        lr : float
            The current step size.

        Returns
        -------
        skills : numpy.ndarray
        lr : float
        stop : bool
        """
        agreement = totals["agree"] / np.maximum(totals["per_worker"], 1)
        if skills is None:
            return agreement, lr, True
        model = self.model
        if it % model.lr_steps_to_reduce == 0:
            lr *= model.lr_reduce_factor
        step = lr * (agreement - skills)
        return skills + step, lr, bool(np.abs(step).max(initial=0.0) < model.tol)

    def final(self, block: Annotations, skills: np.ndarray) -> tuple[np.ndarray, Stats]:
        post = pin_gold(normalize_rows(K.worker_votes(block, skills)), gold_codes(block),
                        copy=False)
        return post, _base_stats(block, post)


class AveragePlan(Plan):
    """Soft-average: every member's plan runs on the same blocks, one after the other;
    each block then combines its items' member posteriors (:meth:`combine`)."""

    def __init__(self, model: Any) -> None:
        from softlabels.infer.registry import create_method

        super().__init__(model)
        self.members = []
        for name, params in model._member_specs():
            member = create_method(name, **params)
            member._validate_params()
            self.members.append((name, plan_for(member)))

    def combine(self, block: Annotations, *posts: np.ndarray) -> tuple[np.ndarray]:
        return (pin_gold(self.model._combine(posts), gold_codes(block), copy=False),)


class StackedPlan(Plan):
    """Stacking (:class:`~softlabels.infer.crowd.stacking.HeldOutStacking`): the
    members' plans run on the blocks restricted to each fold's training answers, then
    on all answers; the block steps here are the folds (from keys of the items' global
    ranks and per-worker key sums), the training blocks, the held-out predictions and
    the weight search's sums, and the mixture of the members' posteriors. A member
    whose model has ``answer_probabilities`` (EBCC) predicts its held-out answers with
    it (:meth:`predict_own`), the others through the shared confusion estimate
    (:meth:`train_cube`, :meth:`predict`), as in-process."""

    def __init__(self, model: Any) -> None:
        from softlabels.infer.registry import create_method

        super().__init__(model)
        self.members = []
        for name, params in model._member_specs():
            member = create_method(name, **params)
            if (model.n_jobs is not None and "n_jobs" in member.get_params()
                    and "n_jobs" not in params):
                member.set_params(n_jobs=model.n_jobs)
            member._validate_params()
            plan = plan_for(member)
            if isinstance(plan, StackedPlan):
                raise InvalidParameterError(
                    f"member {name!r} of 'stacked' does not run on a partitioned engine; "
                    "use other crowd models as members."
                )
            self.members.append((name, plan))

    @staticmethod
    def worker_keys(block: Annotations, keys: np.ndarray) -> np.ndarray:
        """The block's share of the workers' fold keys (``keys[:, 0]``: its items'
        first keys); uint64, to be summed modulo 2**64."""
        return worker_key_sums(block, np.ascontiguousarray(keys[:, 0]))

    def folds(self, block: Annotations, keys: np.ndarray, worker_key: np.ndarray) -> np.ndarray:
        """The fold of every answer of the block (-1: never held out)."""
        return folds_from_keys(block, worker_key, np.ascontiguousarray(keys[:, 1]),
                               self.model.n_folds)

    @staticmethod
    def n_kept(fold: np.ndarray, f: int) -> np.ndarray:
        """Training answers of fold ``f`` in the block, and the held-out ones."""
        return np.array([np.count_nonzero(fold != f), np.count_nonzero(fold == f)],
                        dtype=np.float64)

    @staticmethod
    def train_block(block: Annotations, fold: np.ndarray, f: int) -> Annotations:
        """The block without the answers of fold ``f`` (every item kept)."""
        keep = fold != f
        train = Annotations(block.item[keep], block.worker[keep], block.label[keep],
                            block.item_ids, block.worker_ids, block.classes)
        train.gold = getattr(block, "gold", None)
        return train

    @staticmethod
    def train_cube(train: Annotations, post: np.ndarray) -> np.ndarray:
        """The expected confusion counts of the training answers (summed over blocks)."""
        return K.pair_counts(train, post)

    @staticmethod
    def predict(block: Annotations, fold: np.ndarray, f: int, post: np.ndarray,
                rows: np.ndarray) -> np.ndarray:
        """The probabilities of the block's answers of fold ``f`` under one member,
        through the shared confusion estimate ``rows``."""
        return predict_answers(post, rows, block, fold == f)

    @staticmethod
    def predict_own(block: Annotations, fold: np.ndarray, f: int, member: Plan,
                    state: tuple[np.ndarray, ...], terms: Any) -> np.ndarray:
        """The probabilities of the block's answers of fold ``f`` under a member that
        predicts them with its own model (``answer_probabilities``: EBCC), from its
        training fit's block ``state`` and its broadcast ``terms``."""
        own = member.answer_probabilities  # type: ignore[attr-defined]
        return own(block, fold == f, state, terms)

    @staticmethod
    def held_out(fold: np.ndarray, n_members: int, n_folds: int, *columns: np.ndarray
                 ) -> tuple[np.ndarray, Stats]:
        """The block's held-out answers (fold >= 0) scaled for the weight search
        (:func:`~softlabels.infer.crowd.stacking.scaled_answers`), and their sums:
        ``n`` answers, ``kept`` of them in the search, ``logs`` per member (the held-out
        log-likelihood). ``columns`` are, fold by fold and member by member, the
        predictions of the fold's answers."""
        held = np.zeros((fold.shape[0], n_members))
        it = iter(columns)
        for f in range(n_folds):
            out = fold == f
            for m in range(n_members):
                held[out, m] = next(it)
        scored = held[fold >= 0]
        with np.errstate(divide="ignore"):
            logs = np.log(scored).sum(axis=0)
        probs = scaled_answers(scored)
        return probs, {"n": float(scored.shape[0]), "kept": float(probs.shape[0]),
                       "logs": logs}

    @staticmethod
    def weight_sums(probs: np.ndarray, w: np.ndarray, kind: str) -> np.ndarray:
        """The block's share of the weight search's sums at ``w``: ``"em"``
        (:func:`~softlabels.infer.crowd.stacking.responsibility_sums`) or ``"loss"``
        (:func:`~softlabels.infer.crowd.stacking.loss_sums`, as one vector: the sum of
        logs, then the gradient)."""
        if kind == "em":
            return responsibility_sums(probs, w)
        total, grad = loss_sums(probs, w)
        return np.concatenate([[total], grad])

    @staticmethod
    def mix(block: Annotations, weights: np.ndarray, *posts: np.ndarray) -> tuple[np.ndarray]:
        """The members' posteriors mixed with the stacking weights."""
        post = normalize_rows(np.tensordot(weights, np.stack(posts), axes=1))
        return (pin_gold(post, gold_codes(block), copy=False),)


_PLANS = {
    MajorityVote: Plan,
    SoftVote: Plan,
    MACE: MacePlan,
    Wawa: WeightedVotePlan,
    ZeroBasedSkill: WeightedVotePlan,
    DawidSkene: DawidSkenePlan,
    OneCoinDawidSkene: OneCoinPlan,
    GLAD: GladPlan,
    IBCC: BCCPlan,
    EBCC: EBCCPlan,
    SoftAverage: AveragePlan,
    HeldOutStacking: StackedPlan,
}


def plan_for(model: Any) -> Plan:
    """The plan of an (unfitted, validated) in-process model; an
    :class:`InvalidParameterError` naming what is not supported otherwise.

    Parameters
    ----------
    model : Any
        The crowd model.

    Returns
    -------
    Plan

    Raises
    ------
    InvalidParameterError
        When the method has no plan, ``n_restarts`` is set, or ``init="spectral"`` is
        asked of a plan that does not support it.
    """
    plan = _PLANS.get(type(model))
    if plan is None:
        raise InvalidParameterError(
            f"method {getattr(model, 'name', type(model).__name__)!r} does not run on a "
            f"partitioned engine yet; supported: {', '.join(SUPPORTED)}."
        )
    params: Mapping[str, Any] = model.get_params()
    spectral = issubclass(plan, _EMPlan) and plan is not MacePlan
    if params.get("n_restarts", 0):
        raise InvalidParameterError(
            f"n_restarts={params['n_restarts']} of {model.name!r} is not supported on a "
            "partitioned engine; use n_restarts=0."
        )
    if params.get("init", "soft-vote") == "spectral" and not spectral:
        raise InvalidParameterError(
            f"init='spectral' of {model.name!r} is not supported on a partitioned engine; "
            "use 'soft-vote', 'majority-vote' or 'uniform'."
        )
    return plan(model)
