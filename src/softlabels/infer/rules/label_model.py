"""Label models for labeling rules: rules are annotators that may abstain.

:class:`LabelModel` fits Dawid–Skene-type models by EM with the crowd kernels of
:mod:`softlabels.infer.crowd`, the rules acting as workers;
:class:`MatrixCompletionLabelModel` (in ``matrix_completion.py``) fits per-rule
conditional probabilities from the rules' agreement matrix, as snorkel does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from softlabels.core.validation import (
    Constraint,
    anything,
    check_is_fitted,
    check_option,
    integer,
    option,
    real,
)
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.soft import SoftLabels, normalize_rows
from softlabels.infer.base import BaseInferrer, chance_or, warn_renamed
from softlabels.infer import em as K
from softlabels.infer.memory import check_model_memory
from softlabels.infer.rules.votes import Votes, check_votes

__all__ = ["LabelModel"]

#: smallest probability of any (class, vote) cell used in the posterior
MIN_PROB = 1e-12
#: the default variant of :class:`LabelModel` and its handling of items without votes
#: (chosen by ``benchmarks/rules_suite.py``)
DEFAULT_MODEL = "hierarchical-one-coin"
DEFAULT_UNCOVERED = "mixed-abstentions"
#: the handlings of items without votes (see :class:`LabelModel`)
UNCOVERED = ("prior", "abstentions", "class-abstentions", "mixed-abstentions")
#: defaults of ``"hierarchical-one-coin"``: the prior's strength in votes of the average
#: rule, and the prior mean of that average accuracy
POOLING = 300.0
PRIOR_ACCURACY = 0.9


def balance_constraint(*allowed: str) -> Constraint:
    """The constraint of ``class_balance``: one of ``allowed`` or a vector of positive
    class probabilities that sums to 1 (its length is checked against K in fit)."""

    def check(value: Any, name: str, owner: str) -> Any:
        if isinstance(value, str):
            return check_option(value, name, owner, allowed)
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.asarray([np.nan])
        if arr.ndim != 1 or arr.size < 2 or not np.isfinite(arr).all() or (arr <= 0).any():
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} must be one of {list(allowed)} or a "
                f"list of positive class probabilities; got {value!r}."
            )
        if abs(arr.sum() - 1.0) > 1e-6:
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} must sum to 1; got {arr.tolist()} "
                f"(sum {arr.sum():.6g})."
            )
        return arr

    return check


def fixed_prior(class_balance: Any, votes: Votes, owner: str) -> np.ndarray | None:
    """The fixed class prior, or None when it is learned."""
    k = votes.n_classes
    if isinstance(class_balance, str):
        return np.full(k, 1.0 / k) if class_balance == "uniform" else None
    arr = np.asarray(class_balance, dtype=np.float64)
    if arr.size != k:
        raise InvalidParameterError(
            f"The 'class_balance' parameter of {owner} has {arr.size} entries but the votes "
            f"have {k} classes."
        )
    return arr / arr.sum()


class RuleLabelModel(BaseInferrer):
    """Shared fitting interface of the rule label models.

    Subclasses implement ``_fit(votes)`` which sets ``confusions_`` (n_rules, K, K+1),
    ``class_prior_``, the table the posterior uses (``_table``, same layout) and the
    other fitted attributes, and returns the posteriors of all items.
    """

    evidence = "label-matrix"

    def fit(self, L: Any, /) -> RuleLabelModel:
        """Fit on a vote matrix ``L`` of shape (n_items, n_rules): class indices
        ``0 .. K-1`` and ``-1`` for abstain (ndarray, nested list or DataFrame; a
        DataFrame's columns name the rules and its index gives the item ids)."""
        self._validate_params()
        votes = check_votes(L, self.classes, owner=type(self).__name__)
        self._check_votes(votes)
        post = self._fit(votes)
        self.uncovered_probs_ = self._uncovered_probs(post, votes)
        post = self._prior_where_uncovered(post, votes)
        self.classes_ = votes.classes
        self.rule_names_ = votes.rule_names
        self.n_votes_ = votes.voted.sum(axis=0).astype(np.int64)
        self.coverage_ = self.n_votes_ / votes.n_items
        self.accuracies_ = agreement(votes, post)
        self.soft_labels_ = SoftLabels(
            post,
            votes.classes,
            votes.item_ids,
            provenance=self._provenance(),
            support=votes.n_votes,
        )
        self.labels_ = self.soft_labels_.hard()
        return self

    def predict_proba(self, L: Any) -> np.ndarray:
        """Posterior class probabilities ``(n_items, n_classes)`` of a vote matrix with
        the fitted rules' columns (new items scored with the fitted parameters)."""
        check_is_fitted(self, "confusions_")
        votes = check_votes(L, self.classes_.shape[0], owner=type(self).__name__)
        if votes.n_rules != self.rule_names_.shape[0]:
            raise InputError(
                f"L has {votes.n_rules} rules (columns) but the model was fitted on "
                f"{self.rule_names_.shape[0]}."
            )
        return self._prior_where_uncovered(self._posterior(votes), votes)

    def rules_frame(self) -> pd.DataFrame:
        """Deprecated alias of :meth:`reliability_frame`."""
        warn_renamed(type(self).__name__, "rules_frame", "reliability_frame")
        return self.reliability_frame()

    def reliability_frame(self) -> pd.DataFrame:
        """One row per rule: ``rule, n_votes, coverage, accuracy`` (the model's
        probability that a vote of the rule is correct)."""
        check_is_fitted(self, "confusions_")
        return pd.DataFrame(
            {
                "rule": self.rule_names_,
                "n_votes": self.n_votes_,
                "coverage": self.coverage_,
                "accuracy": self.accuracies_,
            }
        )

    # ------------------------------------------------------------------ internals
    def _posterior(self, votes: Votes) -> np.ndarray:
        """Posteriors of new items under the fitted parameters."""
        return posterior(votes, self._table, self.class_prior_, self._posterior_mode())

    def _posterior_mode(self) -> str:
        """How abstentions enter the posterior (see :func:`vote_tables`)."""
        raise NotImplementedError

    def _check_votes(self, votes: Votes) -> None:
        pass

    def _uncovered_probs(self, post: np.ndarray, votes: Votes) -> np.ndarray:
        """The posterior of an item on which every rule abstains: the class prior."""
        return self.class_prior_

    def _prior_where_uncovered(self, post: np.ndarray, votes: Votes) -> np.ndarray:
        """``post`` with ``uncovered_probs_`` on the items no rule votes on."""
        none = votes.n_votes == 0
        if none.any():
            post = np.array(post, copy=True)
            post[none] = self.uncovered_probs_
        return post


    def _fit(self, votes: Votes) -> np.ndarray:
        raise NotImplementedError


def agreement(votes: Votes, post: np.ndarray) -> np.ndarray:
    """Expected fraction of each rule's votes that are correct under ``post`` (NaN for a
    rule that never votes)."""
    ann = votes.annotations
    n = ann.answers_per_worker
    right = K.per_worker_sum(ann, K.answer_agreement(ann, post))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, right / np.maximum(n, 1), np.nan)


def vote_tables(conf: np.ndarray, abstain: str) -> tuple[np.ndarray, np.ndarray]:
    """The E-step in sparse form: ``(table, base)`` such that the log-likelihood of
    item i under class y is ``base[y] + sum over its votes (j, l) of table[j*K + l, y]``.

    ``conf`` holds ``P(rule j outputs l | y)`` with abstain in the last column.

    - ``"model"``: every abstention is evidence, ``log P(abstain | y)``; the dense sum
      over all rules is ``base`` and each vote replaces its rule's abstain term.
    - ``"conditional"``: votes count with ``P(l | y, the rule votes)`` and abstentions
      carry no evidence (crowd models on the non-abstain votes).
    - ``"drop"``: votes count with ``P(l | y)`` and the abstain terms are left out
      (snorkel's ``predict_proba``).
    """
    m, k, _ = conf.shape
    log_conf = np.log(np.maximum(conf, MIN_PROB))
    if abstain == "model":
        ref = log_conf[:, :, k]  # (m, K)
        base = ref.sum(axis=0)
    elif abstain == "conditional":
        ref = np.log(np.maximum(conf[:, :, :k].sum(axis=2), MIN_PROB))
        base = np.zeros(k)
    else:
        ref = np.zeros((m, k))
        base = np.zeros(k)
    table = (log_conf[:, :, :k] - ref[:, :, None]).transpose(0, 2, 1).reshape(m * k, k)
    return np.ascontiguousarray(table), base


def posterior(votes: Votes, conf: np.ndarray, prior: np.ndarray, abstain: str) -> np.ndarray:
    """P(y | votes) under conditionally independent rules (see :func:`vote_tables`)."""
    table, base = vote_tables(conf, abstain)
    logits = np.asarray(votes.annotations.item_pair_matrix @ table)
    logits += base + np.log(np.maximum(prior, MIN_PROB))
    return K.log_normalize(logits)[0]


class LabelModel(RuleLabelModel):
    """Label model for labeling rules, fitted by EM: the rules are annotators who may
    abstain, and the crowd models' EM (:mod:`softlabels.infer.crowd`) runs on their
    votes.

    Every variant assumes votes independent given the true class and fits by EM
    (E-step: ``log T[i, y] = log p_y + sum over the votes of item i of log P(vote | y)``;
    M-step: the parameters from the expected counts plus ``alpha`` pseudo-counts; the
    class prior ``p`` from the posterior mass per class, or fixed). They differ in what
    the rules share and in how abstentions count (``model``):

    ``"hierarchical-one-coin"`` (default)
        One accuracy per rule, pooled towards an accuracy shared by all rules (a
        hierarchical Beta prior, as in the Bayesian annotation models of Paun et al.
        2018): rule j's accuracy is ``(agreements_j + alpha + pooling * s_bar) /
        (votes_j + 2 alpha + pooling)``, and the shared ``s_bar`` is ``(all agreements
        + pooling * prior_accuracy) / (all votes + pooling)``, both floored at
        ``min_accuracy``; abstentions carry no evidence. ``pooling=0`` is
        ``"one-coin"``; as ``pooling`` grows the model tends to ``"shared-one-coin"``
        (the majority vote's class), the rules' own accuracies deciding the close calls.
        The prior on ``s_bar`` keeps it above chance on rules that conflict a lot,
        where the shared model's maximum-likelihood accuracy sinks to ``1 / K`` and the
        votes would count for nothing.
    ``"pooled-one-coin"``
        ``"shared-one-coin"`` whose ties are broken by the rules' own accuracies: the
        most likely class is the majority vote's (with a uniform class prior), and where
        classes tie on votes their probability mass (the shared model's) is split in
        proportion to a ``"one-coin"`` model's posterior (one accuracy per rule, fitted
        separately, without pooling). ``n_iter_`` counts the iterations of both fits;
        ``log_likelihood_`` and ``converged_`` are the shared model's.
    ``"shared-one-coin"``
        All rules share one accuracy ``s``: a vote is right with probability ``s`` and
        otherwise names one of the other classes at random; abstentions carry no
        evidence. The most likely class is the majority vote's (with a uniform class
        prior; tied classes stay tied), and the probabilities are calibrated by the
        learned ``s``. This is the one-coin Dawid–Skene model with a single annotator
        who gives every vote.
    ``"shared-confusion"``
        All rules share one confusion matrix (votes for some classes may be more
        reliable than votes for others).
    ``"one-coin"``
        One accuracy per rule, fitted on the non-abstain votes (the crowd
        :class:`~softlabels.infer.crowd.OneCoinDawidSkene` with the rules as workers).
    ``"dawid-skene"``
        One confusion matrix per rule, on the non-abstain votes (the crowd
        :class:`~softlabels.infer.crowd.DawidSkene` with the rules as workers).
    ``"data-programming"``
        One table per rule over the classes *and* abstain: ``P(rule j outputs l | y)``
        with abstain as an output whose rate may depend on the class (the generative
        model of data programming, Ratner et al. 2016, fitted by maximum likelihood).

    Why the default pools the accuracies. Rules are usually unipolar (a "link" rule
    only ever says spam) and correlated (keywords that occur together). Among unipolar
    rules, agreement and conflict are fixed by the polarities, so a per-rule model that
    ignores abstentions cannot tell from the votes whether the rules of one polarity or
    those of the other are the reliable ones, and it overrates rules that agree because
    they are alike; the data-programming model reads when a rule fires, but correlated
    rules make its maximum-likelihood classes follow clusters of co-firing rules rather
    than the labels. Pooled strongly towards one shared accuracy, the rules' own
    accuracies only decide close calls (on the benchmark below: exactly the majority
    vote's ties).

    Items no rule votes on. Their silence is evidence: a class whose rules fire often
    is unlikely to leave an item without votes. Such items get ``P(y | no rule votes)``
    with per-class firing rates estimated from the fitted posteriors of the items with
    a vote (the abstention part of the data-programming model, see
    :func:`uncovered_posterior`), read in one of two ways that rest on opposite
    assumptions about the rules of one class:

    - ``"abstentions"``: every rule fires independently given the class, so the
      chance of silence is the product of the rules' abstention rates
      (``"data-programming"`` uses its own rates). Rules of one class that split its
      items between them (one keyword each) are read as each missing most of the
      class, and silence is wrongly read as that class.
    - ``"class-abstentions"``: the votes for each class are one source, whatever the
      dependence among the rules that cast them, independent of the votes for the
      other classes; the chance of silence is the product over the classes of "no
      rule votes for c". Right however the rules of one class overlap or split it,
      but it reads nothing into which rules of a class fire, and wrong where the votes
      for different classes depend on each other.
    - ``"mixed-abstentions"`` (default): the geometric mean of the two (each read at
      half weight, the class prior once), where neither assumption can be checked on
      the votes.

    With ``"prior"`` they get the class prior, as in snorkel. Their support is 0
    either way. The votes of the other items are read as before: with correlated
    rules, a product of the abstentions of every rule on items that have votes would
    overrule the votes themselves.

    The defaults were chosen by ``benchmarks/rules_suite.py`` on 18 vote matrices:
    three YouTube comment spam rule sets (keyword rules, structural rules, and the
    example rules of :mod:`softlabels.infer.rules.examples`) on each of the five
    YouTube Spam Collection files, and threshold rules on scikit-learn's breast cancer,
    wine and iris tables. Criterion: fewest matrices where the variant's accuracy
    (snorkel's tutorial scoring: every item, ties broken at random) is below majority
    vote's or snorkel's LabelModel's, then the highest mean accuracy (then the current
    default, then the lowest mean NLL). The default is below one of them on 1 of 18:
    wine, 1.7 points below majority vote (3 of 178 items: majority vote's random draw
    hits both items without votes, a 1-in-9 chance in three classes, and one more tie;
    averaged over the draws majority vote scores 0.929 there, the default 0.927). Mean
    accuracy 0.872 (with ``uncovered="abstentions"`` and ``pooling=1000``, the
    previous default: 2 of 18, 0.866, 6.6 points below majority vote on the example
    rules' LMFAO file, whose silent items are mostly ham while the rules read one by
    one point to spam; ``"pooled-one-coin"`` with the prior: 6 of 18, 0.818; majority
    vote 0.800, snorkel 0.737). Leaving one rule set out, ``"mixed-abstentions"`` is
    chosen on all six splits (``pooling=300`` on five, 1000 on one) and 1 of the 18
    held-out matrices fails (wine; previously 3). With ``uncovered="prior"`` the silent
    items count as a coin flip, as for majority vote and snorkel. Choose an unpooled
    per-rule model (``pooling=0`` or ``"one-coin"``) when the rules are bipolar and
    close to independent given the class (the synthetic check in the tests: there they
    beat majority vote).

    Parameters
    ----------
    classes : int or sequence, optional
        The number of classes, or their names in index order. Default: ``0 .. max
        vote`` (at least two). A declared class that no rule votes for keeps its share
        of a fixed ``class_balance``: the models with confusion matrices
        (``"shared-confusion"``, ``"dawid-skene"``, ``"data-programming"``) can explain
        the rules' disagreements with it and make it the most likely class of items
        that have votes; the one-coin models give it only the chance that every vote
        is wrong; items without a vote lean to it unless ``uncovered="prior"`` (its
        items would all be silent; ``"data-programming"`` reads its own abstention
        rates instead). With ``class_balance="learn"`` it gets no mass.
    model : str, default="hierarchical-one-coin"
        One of the variants above.
    class_balance : "uniform", "learn" or array-like, default="uniform"
        The class prior ``p``: fixed uniform (snorkel's default), re-estimated in every
        M-step, or fixed to the given probabilities. A learned prior can run away when
        the rules' errors lean one way (it then outweighs single votes).
    alpha : float, default=1.0
        Pseudo-count added to every count of the M-step (add-one smoothing: a rule with
        few votes cannot be estimated as infallible). Accuracies ``s`` are
        ``(agreements + alpha) / (votes + 2 alpha)``.
    min_accuracy : float or "chance", default="chance"
        Floor of the one-coin accuracies; ``"chance"`` is ``1 / n_classes`` (a rule is
        never read as adversarial).
    pooling : float, default=300
        ``"hierarchical-one-coin"``: the prior's strength, in votes of the average rule
        added to every rule's count (0: no pooling).
    prior_accuracy : float, default=0.9
        ``"hierarchical-one-coin"``: prior mean of the shared accuracy (given
        ``pooling`` votes), in (0, 1).
    uncovered : str, default="mixed-abstentions"
        The posterior of the items no rule votes on: ``"mixed-abstentions"``,
        ``"abstentions"``, ``"class-abstentions"`` or ``"prior"`` (see above).
    n_iter : int, default=100
        Maximum EM iterations.
    tol : float, default=1e-6
        Stop when the log-likelihood changes by less than ``tol`` per vote (per vote
        matrix cell for ``"data-programming"``).
    init : {"soft-vote", "majority-vote"}, default="soft-vote"
        Initial posteriors (items without votes start uniform).

    Attributes
    ----------
    soft_labels_ : SoftLabels
        Posteriors; ``support`` is the number of non-abstain votes per item.
    labels_ : ndarray of shape (n_items,)
        The most probable class of each item (exact ties: the first in class order).
    confusions_ : ndarray of shape (n_rules, n_classes, n_classes + 1)
        ``P(rule j outputs l | class y)`` expected under the fitted posteriors; the last
        column is abstain.
    class_prior_ : ndarray of shape (n_classes,)
    uncovered_probs_ : ndarray of shape (n_classes,)
        The posterior of an item no rule votes on (``uncovered``).
    accuracies_ : ndarray of shape (n_rules,)
        Expected fraction of each rule's votes that are correct under the posteriors
        (NaN for a rule that never votes: such a rule changes no soft label).
    coverage_, n_votes_ : ndarray of shape (n_rules,)
        Fraction and number of items each rule votes on.
    shared_accuracy_ : float
        The learned ``s`` (``"shared-one-coin"`` and ``"pooled-one-coin"`` only).
    classes_, rule_names_ : ndarray
    log_likelihood_ : float
    n_iter_ : int
    converged_ : bool

    References
    ----------
    A. P. Dawid and A. M. Skene, "Maximum likelihood estimation of observer error-rates
    using the EM algorithm", 1979. S. Paun, B. Carpenter, J. Chamberlain, D. Hovy, U.
    Kruschwitz and M. Poesio, "Comparing Bayesian models of annotation", TACL 2018.
    A. J. Ratner, C. De Sa, S. Wu, D. Selsam and C. Ré,
    "Data programming: creating large training sets, quickly", NeurIPS 2016.

    Examples
    --------
    >>> L = [[1, 1, -1], [1, 1, 0], [-1, 0, 0], [0, 0, -1], [1, 1, 1], [-1, -1, -1]]
    >>> model = LabelModel().fit(L)
    >>> model.labels_.tolist()
    [1, 1, 0, 0, 1, 0]
    >>> model.soft_labels_.support.tolist()
    [2.0, 3.0, 2.0, 2.0, 3.0, 0.0]
    >>> model.uncovered_probs_.round(3).tolist()  # no vote: class 1's rules fire more
    [0.746, 0.254]
    >>> LabelModel(uncovered="prior").fit(L).soft_labels_.probs[5].tolist()
    [0.5, 0.5]
    >>> round(LabelModel(model="shared-one-coin").fit(L).shared_accuracy_, 3)
    0.824
    """

    name = "rules-label-model"
    summary = "EM label model: rules as annotators who may abstain"
    MODELS = (
        "shared-one-coin",
        "pooled-one-coin",
        "shared-confusion",
        "one-coin",
        "hierarchical-one-coin",
        "dawid-skene",
        "data-programming",
    )
    _parameter_constraints = {
        "classes": anything,  # resolved against the votes in fit
        "model": option(*MODELS),
        "class_balance": balance_constraint("uniform", "learn"),
        "alpha": real(low=0.0),
        "min_accuracy": chance_or(real(low=0.0, high=1.0)),
        "pooling": real(low=0.0),
        "uncovered": option(*UNCOVERED),
        "prior_accuracy": real(low=0.0, high=1.0, low_open=True, high_open=True),
        "n_iter": integer(low=1),
        "tol": real(low=0.0),
        "init": option("soft-vote", "majority-vote"),
    }

    def __init__(
        self,
        *,
        classes: Any = None,
        model: str = DEFAULT_MODEL,
        class_balance: Any = "uniform",
        alpha: float = 1.0,
        min_accuracy: float | str = "chance",
        pooling: float = POOLING,
        prior_accuracy: float = PRIOR_ACCURACY,
        uncovered: str = DEFAULT_UNCOVERED,
        n_iter: int = 100,
        tol: float = 1e-6,
        init: str = "soft-vote",
    ) -> None:
        self.classes = classes
        self.model = model
        self.class_balance = class_balance
        self.alpha = alpha
        self.min_accuracy = min_accuracy
        self.pooling = pooling
        self.prior_accuracy = prior_accuracy
        self.uncovered = uncovered
        self.n_iter = n_iter
        self.tol = tol
        self.init = init

    def _posterior_mode(self) -> str:
        return "model" if self.model == "data-programming" else "conditional"

    def _memory_bytes(self, n_rules: int, n_classes: int, n_items: int) -> int:
        """Peak bytes of a fit: expected confusion counts, the (rule, class, output)
        table and its log layout (n_rules * n_classes² each), and the posteriors."""
        return 8 * (3 * n_rules * n_classes * (n_classes + 1) + 4 * n_items * n_classes)

    def _fit(self, votes: Votes) -> np.ndarray:
        k, m = votes.n_classes, votes.n_rules
        check_model_memory(self, m, k, votes.n_items, sources="rules", alternatives=())
        if self.model == "pooled-one-coin":
            post, table, prior, it, converged, loglik = self._em(votes, "shared-one-coin")
            rules_post, self._rule_table, _, rules_it, _, _ = self._em(votes, "one-coin")
            post = split_ties(post, rules_post)
            it += rules_it
        else:
            post, table, prior, it, converged, loglik = self._em(votes, self.model)
        self._table = table
        if self.model in ("shared-one-coin", "pooled-one-coin"):
            self.shared_accuracy_ = float(table[0, 0, 0])
        self.confusions_ = expected_confusions(votes, post)
        self.class_prior_ = prior
        self.log_likelihood_ = loglik
        self.n_iter_ = it
        self.converged_ = converged
        return post

    def _posterior(self, votes: Votes) -> np.ndarray:
        post = super()._posterior(votes)
        if self.model != "pooled-one-coin":
            return post
        rules = posterior(votes, self._rule_table, self.class_prior_, "conditional")
        return split_ties(post, rules)

    def _uncovered_probs(self, post: np.ndarray, votes: Votes) -> np.ndarray:
        if self.uncovered == "prior":
            return self.class_prior_
        if self.model == "data-programming":  # its own abstention rates
            base = vote_tables(self._table, "model")[1]
            return K.log_normalize(base + np.log(np.maximum(self.class_prior_, MIN_PROB))[None])[0][0]
        covered = votes.n_votes > 0
        fired, mass = abstention_mass(silence_indicators(votes.voted, votes.counts())[covered], post[covered])
        return uncovered_posterior(fired, mass, float((~covered).sum()), self.class_prior_, float(self.alpha),
                                   self.uncovered)

    def _em(self, votes: Votes, model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, bool, float]:
        """EM of one variant: posteriors, vote table, class prior, iterations, whether it
        converged and the log-likelihood."""
        k, m = votes.n_classes, votes.n_rules
        fixed = fixed_prior(self.class_balance, votes, "LabelModel")
        model_abstain = model == "data-programming"
        coin = model in ("shared-one-coin", "one-coin", "hierarchical-one-coin")
        shared = model.startswith("shared")
        hierarchical = model == "hierarchical-one-coin"
        floor = 1.0 / k if self.min_accuracy == "chance" else float(self.min_accuracy)
        # without modelled abstentions, items no rule votes on carry no evidence: their
        # posterior is the prior and they are left out of its estimate
        covered = votes.n_votes > 0
        if not covered.any():
            raise InputError("L: every rule abstains on every item; there is nothing to fit.")
        ann = votes.annotations
        alpha = float(self.alpha)
        eye = np.eye(k, dtype=bool)
        # a rule that never votes is left out: its abstentions are certain under every class
        mute = ~votes.voted.any(axis=0)

        def m_step(post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            counts = K.confusion_counts(ann, post)  # [j, y, l]
            table = np.zeros((m, k, k + 1))
            if model_abstain:
                table[:, :, :k] = counts
                table[:, :, k] = np.maximum(post.sum(axis=0)[None, :] - counts.sum(axis=2), 0.0)
                table += alpha
                table /= table.sum(axis=2, keepdims=True)
                table[mute] = np.eye(k + 1)[k]
            else:
                if shared:
                    counts = counts.sum(axis=0, keepdims=True)
                if coin:
                    agree = counts[:, eye].sum(axis=1)
                    total = counts.sum(axis=(1, 2))
                    if hierarchical:
                        s = pooled_accuracies(agree, total, alpha, float(self.pooling),
                                              float(self.prior_accuracy), floor)[0]
                    else:
                        s = np.maximum((agree + alpha) / np.maximum(total + 2 * alpha, 1e-300), floor)
                    s = np.minimum(s, 1.0)
                    wrong = (1.0 - s) / (k - 1)
                    vote = np.where(eye[None], s[:, None, None], wrong[:, None, None])
                else:
                    vote = counts + alpha
                    vote /= np.maximum(vote.sum(axis=2, keepdims=True), 1e-300)
                table[:, :, :k] = vote  # broadcasts a shared table to every rule
            if fixed is not None:
                prior = fixed
            else:
                prior = K.class_prior(post if model_abstain else post[covered])
            return table, prior

        def e_step(params: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, float]:
            table, prior = params
            vt, base = vote_tables(table, "model" if model_abstain else "conditional")
            logits = np.asarray(ann.item_pair_matrix @ vt)
            logits += base + np.log(prior)
            return K.log_normalize(logits)

        counts = ann.counts
        init = K.split_argmax(counts) if self.init == "majority-vote" else normalize_rows(counts)
        init[counts.sum(axis=1) == 0] = 1.0 / k  # uncovered items start uniform
        post, (table, prior), it, converged, loglik = K.run_em(
            init,
            m_step,
            e_step,
            gold=np.full(votes.n_items, -1),
            n_iter=self.n_iter,
            tol=self.tol,
            n_answers=votes.n_items * int((~mute).sum()) if model_abstain else ann.n_answers,
        )
        return post, table, prior, it, converged, loglik


def abstention_mass(voted: np.ndarray, post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(fired, mass)`` over items with a vote: ``fired[j, y]``, the posterior mass of
    class y on the items rule j votes on (``voted``: items x rules, 0/1), and
    ``mass[y]``, that on all of them (the statistics of :func:`silent_posterior`)."""
    return voted.T.astype(np.float64) @ post, post.sum(axis=0)


def silence_indicators(voted: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(n_items, n_rules + K) 0/1 columns whose abstention :func:`uncovered_posterior`
    reads: rule j votes (``voted``), then some rule votes class c (``counts``: votes
    per item and class)."""
    return np.concatenate([np.asarray(voted, dtype=np.float64), (np.asarray(counts) > 0).astype(np.float64)],
                          axis=1)


def uncovered_posterior(
    fired: np.ndarray, mass: np.ndarray, n_silent: float, prior: np.ndarray, alpha: float, uncovered: str,
) -> np.ndarray:
    """P(y | no rule votes) under ``uncovered`` (see :class:`LabelModel`), from the
    :func:`abstention_mass` of the :func:`silence_indicators` (``fired``: one row per
    rule, then one per class).

    - ``"abstentions"``: the rules fire independently given the class
      (:func:`silent_posterior` of the rules' rows);
    - ``"class-abstentions"``: the votes for each class fire as one source,
      independently of the votes for the other classes, whatever the dependence among
      the rules that cast them (:func:`silent_posterior` of the class rows);
    - ``"mixed-abstentions"``: the geometric mean of the two (each read at half weight;
      the class prior counted once); ``"prior"``: the class prior.

    A row that never fires (a rule that never votes, a class no rule votes for) is
    silent on every item whatever its class, so it is left out.

    >>> # two rules vote class 1, each on half of the class-1 items with a vote and never
    >>> # on the same one; one rule votes class 0 on all class-0 items with a vote
    >>> fired = np.array([[0.0, 5.0], [0.0, 5.0], [6.0, 0.0], [6.0, 0.0], [0.0, 10.0]])
    >>> mass, prior = np.array([6.0, 10.0]), np.array([0.5, 0.5])
    >>> [uncovered_posterior(fired, mass, 4, prior, 0.0, u).round(3).tolist()
    ...  for u in ("abstentions", "class-abstentions", "mixed-abstentions")]
    [[0.329, 0.671], [0.994, 0.006], [0.898, 0.102]]
    """
    if uncovered == "prior":
        return np.asarray(prior, dtype=np.float64)
    k = mass.size
    parts = {"abstentions": fired[:-k], "class-abstentions": fired[-k:]}
    parts = {name: f[f.sum(axis=1) > 0] for name, f in parts.items()}
    if uncovered in parts:
        return silent_posterior(parts[uncovered], mass, n_silent, prior, alpha)
    log_q = sum(np.log(np.maximum(silent_posterior(f, mass, n_silent, prior, alpha), MIN_PROB))
                for f in parts.values()) / 2.0
    q = np.exp(log_q - log_q.max())
    return q / q.sum()


def silent_posterior(
    fired: np.ndarray, mass: np.ndarray, n_silent: float, prior: np.ndarray, alpha: float,
    n_iter: int = 200, tol: float = 1e-12,
) -> np.ndarray:
    """P(y | every rule abstains) when rule j fires on an item of class y with
    probability ``f[j, y]``, independently given the class: ``q[y]`` proportional to
    ``prior[y] * prod_j (1 - f[j, y])``.

    ``f`` is estimated from the posteriors of the items with a vote (``fired``, ``mass``
    of :func:`abstention_mass`) and the ``n_silent`` items without one, whose posterior
    is ``q``: ``f[j, y] = (fired[j, y] + alpha) / (mass[y] + n_silent q[y] + 2 alpha)``.
    A fixed point, found by iterating from the prior (the EM of the abstention rates
    with the vote-based posteriors held fixed).

    >>> # rule 0 fires on both class-1 items with a vote, no rule on a class-0 item
    >>> fired = np.array([[0.0, 2.0], [0.0, 1.0]])
    >>> silent_posterior(fired, np.array([0.0, 2.0]), 2, np.array([0.5, 0.5]), alpha=0.0).round(4).tolist()
    [1.0, 0.0]
    """
    log_prior = np.log(np.maximum(prior, MIN_PROB))
    q = np.asarray(prior, dtype=np.float64)
    for _ in range(n_iter):
        rate = (fired + alpha) / np.maximum(mass + n_silent * q + 2 * alpha, 1e-300)[None, :]
        logits = log_prior + np.log(np.maximum(1.0 - rate, MIN_PROB)).sum(axis=0)
        new = np.exp(logits - logits.max())
        new /= new.sum()
        done = np.abs(new - q).max() < tol
        q = new
        if done:
            break
    return q


def pooled_accuracies(
    agree: np.ndarray, total: np.ndarray, alpha: float, pooling: float, prior_accuracy: float,
    floor: float,
) -> tuple[np.ndarray, float]:
    """M-step of the hierarchical one-coin model: per-rule accuracies and the average
    accuracy they are pooled towards.

    The average accuracy is ``s_bar = (sum(agree) + pooling * prior_accuracy) /
    (sum(total) + pooling)`` (all votes, plus ``pooling`` votes right with probability
    ``prior_accuracy``), floored at ``floor``; rule j's accuracy is ``(agree[j] + alpha
    + pooling * s_bar) / (total[j] + 2 alpha + pooling)``, floored at ``floor`` and at
    most 1.

    >>> s, s_bar = pooled_accuracies(np.array([8.0, 1.0]), np.array([10.0, 10.0]),
    ...                              alpha=0.0, pooling=10.0, prior_accuracy=0.8, floor=0.5)
    >>> round(s_bar, 4), s.round(4).tolist()
    (0.5667, [0.6833, 0.5])
    """
    s_bar = max((agree.sum() + pooling * prior_accuracy) / max(total.sum() + pooling, 1e-300), floor)
    s = (agree + alpha + pooling * s_bar) / np.maximum(total + 2 * alpha + pooling, 1e-300)
    return np.minimum(np.maximum(s, floor), 1.0), float(s_bar)


def split_ties(post: np.ndarray, tie_break: np.ndarray, rtol: float = 1e-9) -> np.ndarray:
    """``post`` with the mass of each row's tied top classes (within ``rtol``) shared
    out in proportion to ``tie_break``; rows without a tie are unchanged.

    >>> split_ties(np.array([[0.4, 0.4, 0.2], [0.7, 0.2, 0.1]]),
    ...            np.array([[0.1, 0.3, 0.6], [0.1, 0.8, 0.1]])).round(3).tolist()
    [[0.2, 0.6, 0.2], [0.7, 0.2, 0.1]]
    """
    top = post >= post.max(axis=1, keepdims=True) * (1.0 - rtol)
    rows = top.sum(axis=1) > 1
    if not rows.any():
        return post
    out = np.array(post, copy=True)
    weight = np.where(top[rows], tie_break[rows], 0.0)
    total = weight.sum(axis=1, keepdims=True)
    mass = np.where(top[rows], post[rows], 0.0).sum(axis=1, keepdims=True)
    split = np.where(total > 0, mass * weight / np.where(total > 0, total, 1.0), out[rows])
    out[rows] = np.where(top[rows], split, out[rows])
    return out


def expected_confusions(votes: Votes, post: np.ndarray) -> np.ndarray:
    """(n_rules, K, K + 1) ``P(rule j outputs l | y)`` expected under posteriors
    ``post``: the rules' outputs (abstain last) counted with weight ``post[i, y]``."""
    k = votes.n_classes
    ann = votes.annotations
    out = np.empty((votes.n_rules, k, k + 1))
    out[:, :, :k] = K.confusion_counts(ann, post)
    mass = post.sum(axis=0)  # (K,)
    out[:, :, k] = mass[None, :] - out[:, :, :k].sum(axis=2)
    out /= np.maximum(mass, 1e-300)[None, :, None]
    return np.clip(out, 0.0, 1.0)
