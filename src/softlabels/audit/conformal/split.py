"""Split-conformal prediction sets for multi-class data (LAC, APS, RAPS; Mondrian)."""

from __future__ import annotations

import math
from typing import Any
import numpy as np

from softlabels.audit.conformal._common import (
    _SCORES,
    Score,
    _check_level,
    _check_u,
    _class_quantiles,
    _kth_smallest,
)
from softlabels.audit.conformal._ranking import (
    _all_scores,
    _averaged_thresholds,
    _inclusion_chance,
    _label_scores,
    _Ranked,
    _scatter,
)
from softlabels.core.base import BaseEstimator
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.core.validation import (
    anything,
    boolean,
    check_int,
    check_labels,
    check_pred_probs,
    check_random_state,
    none_or,
    option,
    real,
)

__all__ = ["SplitConformalClassifier", "RAPS_LAMBDA_GRID", "RAPS_TUNE_FRACTION", "RAPS_MAX_K_TRIED"]


#: Values of ``lam`` tried when RAPS chooses it (the grid of the official RAPS code,
#: ``pick_lamda_size``); the one with the smallest mean set size on the held-out items
#: wins (for randomised sets, the size expected over the uniform draws).
RAPS_LAMBDA_GRID = (0.001, 0.01, 0.1, 0.2, 0.5)


#: Share of the calibration items set aside to choose ``k_reg`` and ``lam`` when either
#: is None (``pct_paramtune`` of the official RAPS code); rounded up.
RAPS_TUNE_FRACTION = 0.3


#: Most values of ``k_reg`` tried when it is chosen by set size (beyond this many, a
#: geometric grid from 1 to the official choice).
RAPS_MAX_K_TRIED = 10


def _k_reg_candidates(k_star: int) -> list[int]:
    """``k_reg`` values tried by RAPS, the official ``k_star`` first, then down to 1:
    all of them up to :data:`RAPS_MAX_K_TRIED` values, else a geometric grid."""
    if k_star <= RAPS_MAX_K_TRIED:
        return list(range(k_star, 0, -1))
    grid = np.rint(np.geomspace(1, k_star, RAPS_MAX_K_TRIED)).astype(int)
    return sorted({int(k) for k in grid} | {k_star}, reverse=True)


def _k_reg_constraint(value: Any, name: str, owner: str) -> int | str | None:
    """``k_reg``: None (chosen by set size), ``"quantile"`` (the official choice) or an
    int >= 0."""
    if value is None:
        return None
    if isinstance(value, str):
        if value != "quantile":
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} must be an int >= 0, 'quantile' or "
                f"None; got {value!r}."
            )
        return value
    return check_int(value, name, owner, low=0)


class SplitConformalClassifier(BaseEstimator):
    """Split-conformal prediction sets from predicted probabilities (LAC, APS, RAPS).

    ``fit`` computes the non-conformity score of the true label of each calibration item
    and the threshold :func:`conformal_quantile` of those scores; ``predict_sets``
    returns, per new item, the classes whose score is at most the threshold. With
    exchangeable calibration and test items, ``P(y in set) >= 1 - alpha``; for LAC and
    the randomised APS/RAPS (continuous scores) also ``<= 1 - alpha + 1 / (n + 1)``.

    Parameters
    ----------
    score : {"lac", "aps", "raps"}, default="lac"
        Non-conformity score (see :func:`nonconformity_scores`).
    alpha : float in (0, 1), default=0.1
        Miscoverage level: sets contain the truth with probability at least
        ``1 - alpha``.
    randomized : bool, default=False
        APS/RAPS only. True: the score ``rho(y) + u * p_y (+ penalty)`` with a fresh
        ``u ~ Uniform(0, 1)`` per item, drawn independently for calibration and for
        prediction and shared by all classes of one item, so coverage is close to
        ``1 - alpha``; a set may be empty. False: ``u = 0`` in calibration and
        prediction alike, i.e. the score is the (penalised) mass ranked strictly above
        the label, as in the APS authors' code; no random numbers are used, the top
        class is in every set (its score is 0, or ``lam`` when ``k_reg = 0``, never
        above the threshold) and coverage is at least ``1 - alpha`` but can be well
        above it (many items share the score 0).
    k_reg : int >= 0, "quantile" or None, default=None
        RAPS: ranks up to ``k_reg`` are not penalised. None: chosen together with
        ``lam`` by set size on held-out calibration items; ``"quantile"``: the official
        code's rule, from the ranks of the held-out labels (see Notes).
    lam : float >= 0, optional
        RAPS: penalty per rank beyond ``k_reg``. None: chosen on held-out calibration
        items (see Notes).
    mondrian : bool, default=False
        True: one threshold per class from that class's calibration items
        (class-conditional coverage ``P(y in set | y = c) >= 1 - alpha`` for every
        class ``c``). A class with fewer than ``ceil(1 / alpha) - 1`` calibration items
        gets an infinite threshold and enters every set.
    allow_empty : bool, default=True
        False: an empty set is replaced by the top class (the ``allow_zero_sets=False``
        default of the official RAPS code). Coverage stays ``>= 1 - alpha`` but is no
        longer close to it.
    random_state : None, int or numpy Generator
        Seeds the randomised scores and the RAPS tuning split. ``predict_sets`` draws
        from the same stream, so successive calls get fresh draws and a refit with the
        same seed replays them.

    Attributes
    ----------
    threshold_ : float
        The calibrated threshold (not set when ``mondrian=True``).
    thresholds_ : ndarray of shape (n_classes,)
        One threshold per class (only when ``mondrian=True``).
    calib_scores_ : ndarray of shape (n_calib,)
        Scores of the true labels of the calibration items used for the threshold.
    n_calib_ : int
        Number of calibration items behind the threshold (for RAPS with ``k_reg`` or
        ``lam`` None, those left after the tuning split).
    n_classes_ : int
    k_reg_, lam_ : int, float
        RAPS: the parameters used (given or chosen).
    n_tune_ : int
        RAPS: calibration items used to choose ``k_reg``/``lam`` (0 when both given).

    Notes
    -----
    Empty sets: LAC gives one when no class has ``p_y >= 1 - threshold``; randomised
    APS/RAPS when ``u * p_top (+ penalty)`` exceeds the threshold. Non-randomised
    APS/RAPS never do.

    Choice of ``k_reg`` and ``lam`` (after ``pick_parameters`` of the official RAPS
    code, ``aangelopoulos/conformal_classification``): ``ceil(0.3 n)`` calibration
    items, drawn at random, are set aside. The official rule (``k_reg="quantile"``)
    takes ``k* =`` the ``1 - alpha`` quantile (``method="higher"``) of the 0-based rank
    of their true label, plus one, so the penalty starts one rank after the rank that
    covers ``1 - alpha`` of them; ``lam`` is the value of :data:`RAPS_LAMBDA_GRID` whose
    sets, calibrated and evaluated on those items, are smallest on average. The
    threshold then uses the other items only, so the guarantee holds whatever is
    chosen.

    One departure, the default ``k_reg=None``: ``k_reg`` is chosen by the same
    criterion as ``lam``, the pair ``(k_reg, lam)`` with the smallest mean set size
    on the held-out items, ``k_reg`` running from ``k*`` down to 1 (all of them up
    to :data:`RAPS_MAX_K_TRIED` values, else a geometric grid); ties keep the earlier
    pair, so the official choice wins unless another is strictly smaller. The
    quantile rule is a heuristic for the size objective the RAPS paper states; on
    CIFAR-10 at ``alpha = 0.05`` (100 random 50/50 splits) it gives ``k* = 2``,
    where ``k_reg = 1`` gives randomised sets of 1.07 classes on average instead of
    1.14 at the same coverage (``benchmarks/audit_conformal.py``).

    One difference, with ``randomized=True``: the official code scores each ``lam``
    by one draw of the uniforms (calibration and sets), so the comparison carries
    Monte Carlo noise that says nothing about ``lam``. Here each ``lam`` is scored by
    the expectation over those draws: a class enters a set with probability
    ``clip((q - rho - penalty) / p, 0, 1)``, and ``q`` is the smallest value at which
    the expected share of held-out randomised scores at or below it reaches ``k / n``
    (``k`` the rank :func:`conformal_quantile` takes; the ``k``-th smallest score has
    that share exactly). The choice is a function of the held-out items alone. The
    official code also temperature-scales the logits first; here probabilities are
    used as given (see :class:`TemperatureScaling`).

    Differences from published code. The official RAPS code takes
    ``np.quantile(scores, 1 - alpha, "higher")`` without the ``(n + 1)`` correction
    (its LAC branch has the correction, without ``"higher"``, and keeps ``1 - p < q``
    strictly); the finite-sample quantile and ``<=`` are used here throughout (the
    rank is the official one or the next). Its randomised sets (``gcq``) keep the
    class whose inclusive mass first passes the threshold when a uniform falls below
    ``V``; that is this rule, ``rho + u * p (+ penalty) <= q`` with one ``u`` per item.
    For non-randomised sets, the RAPS code and MAPIE calibrate with randomised scores
    and then add classes until the cumulative mass passes the threshold; the RAPS
    authors' blog post calibrates with the mass up to and including the label. Both
    are valid but give larger sets than the ``u = 0`` rule of the APS authors' code
    (``msesia/arc``, ``calibrate_scores`` without ``epsilon``) used here: on CIFAR-10
    at ``alpha = 0.05`` the inclusive-mass rule gives 5.7 classes per set on average,
    this one 1.07.

    MAPIE 1.6 (``conformity_score="raps"``, ``include_last_label="randomized"``) gives
    the same sets for the same ``k_reg``, ``lam``, threshold and draws (its ``u`` is
    ``1 - u`` here), but chooses the parameters otherwise (``k_reg`` by rank only). Its
    ``SplitConformalClassifier`` resets ``size_raps`` to None, so the held-out share
    is scikit-learn's default 10%, stratified by label (stratifying ties the class
    counts of the remaining items to those held out, so they and a new item are no
    longer exactly exchangeable); ``k_reg`` is the ``ceil((m + 1)(1 - alpha))``-th
    smallest of the ``m`` held-out ranks plus one; and while scoring each ``lam`` its
    scores are the inclusive masses and its sets use ``k_reg = lam`` and keep the
    boundary class. Past rank ``k_reg + 1`` its randomised sets keep the boundary
    class with the wrong chance (they divide by ``p - lam (L - k_reg - 1)``, ``L``
    the boundary rank, instead of ``p``).

    References
    ----------
    Sadinle, Lei and Wasserman, "Least ambiguous set-valued classifiers with bounded
    error levels", JASA 2019. Romano, Sesia and Candès, "Classification with valid and
    adaptive coverage", NeurIPS 2020. Angelopoulos, Bates, Malik and Jordan,
    "Uncertainty sets for image classifiers using conformal prediction", ICLR 2021.
    Vovk, "Conditional validity of inductive conformal predictors", ACML 2012 (Mondrian).

    Examples
    --------
    >>> import numpy as np
    >>> from softlabels.audit.conformal import coverage
    >>> rng = np.random.default_rng(0)
    >>> probs = rng.dirichlet(np.ones(4), size=400)
    >>> labels = (rng.random(400)[:, None] > probs.cumsum(axis=1)).sum(axis=1)
    >>> cp = SplitConformalClassifier("aps", alpha=0.1, randomized=True, random_state=0)
    >>> cp = cp.fit(probs[:200], labels[:200])
    >>> sets = cp.predict_sets(probs[200:])
    >>> sets.shape, sets.dtype
    ((200, 4), dtype('bool'))
    >>> 0.8 < coverage(sets, labels[200:]) < 1.0
    True
    """

    def __init__(
        self,
        score: Score = "lac",
        *,
        alpha: float = 0.1,
        randomized: bool = False,
        k_reg: int | None = None,
        lam: float | None = None,
        mondrian: bool = False,
        allow_empty: bool = True,
        random_state: Any = None,
    ) -> None:
        self.score = score
        self.alpha = alpha
        self.randomized = randomized
        self.k_reg = k_reg
        self.lam = lam
        self.mondrian = mondrian
        self.allow_empty = allow_empty
        self.random_state = random_state

    _parameter_constraints = {
        "score": option(*_SCORES),
        "alpha": _check_level,
        "randomized": boolean,
        "k_reg": _k_reg_constraint,
        "lam": none_or(real(low=0.0)),
        "mondrian": boolean,
        "allow_empty": boolean,
        "random_state": anything,  # checked by check_random_state at fit (it may draw from it)
    }

    # -- parameters
    def _validate_params(self) -> None:
        super()._validate_params()
        if self.score == "lac" and self.randomized:
            raise InvalidParameterError(
                "randomized=True applies to score='aps' or 'raps'; LAC has no randomised form."
            )
        if self.score != "raps" and (self.k_reg is not None or self.lam is not None):
            raise InvalidParameterError(
                f"k_reg and lam apply to score='raps' only; score is {self.score!r}."
            )

    # -- fitting
    def fit(self, calib_probs: Any, calib_labels: Any) -> SplitConformalClassifier:
        """Compute the calibration scores and the threshold(s).

        Parameters
        ----------
        calib_probs : array-like of shape (n_calib, n_classes) or SoftLabels
            Predicted probabilities on calibration items the model was not fitted on.
        calib_labels : array-like of shape (n_calib,)
            Their true class indices ``0 .. n_classes - 1``.

        Returns
        -------
        self
        """
        self._validate_params()
        score, alpha, randomized = self.score, float(self.alpha), bool(self.randomized)
        probs = check_pred_probs(calib_probs, name="calib_probs")
        n, k = probs.shape
        labels = check_labels(calib_labels, k, name="calib_labels", n_items=n)
        rng = check_random_state(self.random_state)
        for name in ("threshold_", "thresholds_", "k_reg_", "lam_", "n_tune_"):
            self.__dict__.pop(name, None)  # from an earlier fit with other parameters
        self.n_classes_ = int(k)
        if score == "lac":
            scores = 1.0 - probs[np.arange(n), labels]
        else:
            ranked = _Ranked(probs)
            k_reg, lam = 0, 0.0
            if score == "raps":
                k_reg, lam, keep = self._tune(ranked, labels, alpha, randomized, rng)
                self.k_reg_, self.lam_, self.n_tune_ = k_reg, lam, n - keep.size
                if self.n_tune_:
                    ranked, labels = ranked.subset(keep), labels[keep]
            u = rng.random(labels.size) if randomized else None
            scores = _label_scores(ranked, ranked.position(labels), u, k_reg, lam)
        self.calib_scores_ = scores
        self._calib_labels = labels
        self.n_calib_ = int(labels.size)
        if self.mondrian:
            self.thresholds_ = _class_quantiles(scores, labels, k, alpha)
        else:
            self.threshold_ = _kth_smallest(scores, alpha)
        self._rng = rng
        return self

    def _tune(
        self,
        ranked: _Ranked,
        labels: np.ndarray,
        alpha: float,
        randomized: bool,
        rng: np.random.Generator,
    ) -> tuple[int, float, np.ndarray]:
        """RAPS ``k_reg``/``lam``: given, or chosen by set size on a held-out share."""
        n = labels.size
        fixed_k = self.k_reg is not None and self.k_reg != "quantile"
        if fixed_k and self.lam is not None:
            return int(self.k_reg), float(self.lam), np.arange(n)
        n_tune = math.ceil(RAPS_TUNE_FRACTION * n)
        if n_tune >= n:
            raise InputError(
                f"RAPS needs at least 2 calibration items to choose k_reg and lam (got {n}); "
                "pass both k_reg and lam."
            )
        perm = rng.permutation(n)
        tune, keep = perm[:n_tune], np.sort(perm[n_tune:])
        rt, yt = ranked.subset(tune), labels[tune]
        pos = rt.position(yt)
        if fixed_k:
            k_options = [int(self.k_reg)]
        else:
            k_star = int(np.quantile(pos, 1 - alpha, method="higher")) + 1
            k_options = [k_star] if self.k_reg == "quantile" else _k_reg_candidates(k_star)
        lam_options = RAPS_LAMBDA_GRID if self.lam is None else (float(self.lam),)
        if len(k_options) == 1 and len(lam_options) == 1:
            return k_options[0], lam_options[0], keep
        n_classes = ranked.order.shape[1]
        width = rt.sorted[np.arange(n_tune), pos]
        groups = yt if self.mondrian else np.zeros(n_tune, dtype=np.intp)
        n_groups = n_classes if self.mondrian else 1
        best, best_size = (k_options[0], lam_options[0]), math.inf
        for k_reg in k_options:
            for lam in lam_options:
                base = _label_scores(rt, pos, None, k_reg, lam)  # u = 0
                if randomized:
                    qs = _averaged_thresholds(base, width, groups, n_groups, alpha)
                    q = qs if self.mondrian else float(qs[0])
                    size = self._expected_mean_size(rt, q, k_reg, lam)
                else:
                    q = (
                        _class_quantiles(base, yt, n_classes, alpha)
                        if self.mondrian
                        else _kth_smallest(base, alpha)
                    )
                    size = self._sets_sorted(rt, q, k_reg, lam, False, None).sum(axis=1).mean()
                if size < best_size:
                    best, best_size = (k_reg, lam), size
        return best[0], best[1], keep

    def _expected_mean_size(
        self, r: _Ranked, q: float | np.ndarray, k_reg: int, lam: float
    ) -> float:
        """Mean over rows of the expected size of the randomised set, over its draw ``u``:
        position ``j`` is in the set with probability ``P(u p_j <= q - above_j - pen_j)``
        (the sets are nested in ``u``), plus the chance of an empty set when it is
        replaced by the top class."""
        qq = q[r.order] if isinstance(q, np.ndarray) else q
        chance = _inclusion_chance(qq - _all_scores(r, None, k_reg, lam), r.sorted)
        size = chance.sum(axis=1)
        if not self.allow_empty:
            size += 1.0 - chance.max(axis=1)
        return float(size.mean())

    # -- prediction
    def _sets_sorted(
        self,
        r: _Ranked,
        q: float | np.ndarray,
        k_reg: int,
        lam: float,
        randomized: bool,
        rng: np.random.Generator | None,
        u: np.ndarray | None = None,
    ) -> np.ndarray:
        """Set membership at sorted positions for APS/RAPS."""
        qq = q[r.order] if isinstance(q, np.ndarray) else q
        if randomized and u is None:
            u = rng.random(r.order.shape[0])  # type: ignore[union-attr]
        inside = _all_scores(r, u if randomized else None, k_reg, lam) <= qq
        if not self.allow_empty:
            inside[:, 0] |= ~inside.any(axis=1)
        return inside

    def predict_sets(self, probs: Any, alpha: float | None = None, *, u: Any = None) -> np.ndarray:
        """Prediction sets as a boolean membership matrix.

        Parameters
        ----------
        probs : array-like of shape (n_items, n_classes) or SoftLabels
            Predicted probabilities of new items.
        alpha : float in (0, 1), optional
            Another miscoverage level; the threshold is recomputed from the stored
            calibration scores (RAPS keeps the fitted ``k_reg_``/``lam_``). None: the
            fitted one.
        u : float or array-like of shape (n_items,), optional
            Randomised APS/RAPS only: the uniform draws to use instead of the estimator's
            random stream.

        Returns
        -------
        ndarray of bool, shape (n_items, n_classes)
            ``sets[i, c]`` is True when class ``c`` is in item ``i``'s set.
        """
        if not hasattr(self, "n_calib_"):
            raise ValueError(f"This {type(self).__name__} is not fitted yet; call fit() first.")
        owner = type(self).__name__
        p = check_pred_probs(probs, name="probs", n_classes=self.n_classes_)
        score = self.score
        if alpha is None:
            q: float | np.ndarray = self.thresholds_ if self.mondrian else self.threshold_
        else:
            a = _check_level(alpha, "alpha", f"{owner}.predict_sets")
            q = (
                _class_quantiles(self.calib_scores_, self._calib_labels, self.n_classes_, a)
                if self.mondrian
                else _kth_smallest(self.calib_scores_, a)
            )
        if u is not None:
            if not self.randomized:
                raise InvalidParameterError("u applies only when randomized=True.")
            u = _check_u(u, p.shape[0])
        if score == "lac":
            sets = (1.0 - p) <= q
            if not self.allow_empty:
                empty = ~sets.any(axis=1)
                sets[empty, np.argmax(p[empty], axis=1)] = True
            return sets
        r = _Ranked(p)
        kr, lm = (self.k_reg_, self.lam_) if score == "raps" else (0, 0.0)
        return _scatter(r.order, self._sets_sorted(r, q, kr, lm, self.randomized, self._rng, u))
