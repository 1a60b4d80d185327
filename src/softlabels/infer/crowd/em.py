"""The base of the crowd models fitted by EM (Dawid–Skene, one-coin, GLAD, MACE).

:class:`EMModel` holds what they share: the parameters ``n_iter``, ``tol`` and ``init``
(with their constraints), the initial posteriors, and the run of the EM loop of
:func:`softlabels.infer.em.run_em` that records ``n_iter_``, ``converged_`` and
``log_likelihood_`` and reports progress to the ``callback`` given to ``fit``.
A new EM model subclasses it, declares its own extra constraints and implements
``_fit(ann, gold)`` with an M-step and an E-step passed to :meth:`EMModel._run`.

``init`` picks the first posteriors: answer shares (``"soft-vote"``), the split
majority (``"majority-vote"``), uniform, or one E-step from the method-of-moments
confusion estimates of :mod:`softlabels.infer.crowd.spectral` (``"spectral"``, which
falls back to soft-vote when the moments are degenerate).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from softlabels.core.annotations import Annotations
from softlabels.core.soft import normalize_rows
from softlabels.core.validation import Constraint, integer, option, real
from softlabels.infer import em as K
from softlabels.infer.base import CrowdModel, pin_gold
from softlabels.infer.crowd.spectral import spectral_posteriors

__all__ = ["EM_CONSTRAINTS", "EMModel"]

#: the constraints of the parameters every EM model has
EM_CONSTRAINTS: Mapping[str, Constraint] = {
    "n_iter": integer(low=1),
    "tol": real(low=0.0),
    "init": option("soft-vote", "majority-vote", "uniform", "spectral"),
}


class EMModel(CrowdModel):
    """Shared parameters and initialisation of the crowd models fitted by EM."""

    _parameter_constraints: ClassVar[Mapping[str, Constraint]] = EM_CONSTRAINTS

    def _initial_posteriors(self, ann: Annotations) -> np.ndarray:
        if self.init == "soft-vote":  # type: ignore[attr-defined]
            return normalize_rows(ann.counts)
        if self.init == "majority-vote":  # type: ignore[attr-defined]
            return K.split_argmax(ann.counts)
        if self.init == "spectral":  # type: ignore[attr-defined]
            return spectral_posteriors(ann)
        return np.full((ann.n_items, ann.n_classes), 1.0 / ann.n_classes)

    def _run(
        self,
        ann: Annotations,
        gold: np.ndarray,
        m_step: Callable[[np.ndarray], Any],
        e_step: Callable[[Any], tuple[np.ndarray, float]],
    ) -> tuple[np.ndarray, Any]:
        post, params, it, converged, objective = K.run_em(
            self._initial_posteriors(ann),
            m_step,
            e_step,
            gold=gold,
            n_iter=self.n_iter,  # type: ignore[attr-defined]
            tol=self.tol,  # type: ignore[attr-defined]
            n_answers=ann.n_answers,
            callback=self._callback,
            copy=False,  # a new array from _initial_posteriors
        )
        self.n_iter_, self.converged_, self.log_likelihood_ = it, converged, objective
        return post, params

    def _tempered(
        self,
        ann: Annotations,
        gold: np.ndarray,
        prior: np.ndarray,
        scores: np.ndarray,
        answer_logs: Callable[[Any], tuple[np.ndarray, np.ndarray]],
    ) -> np.ndarray:
        """The posteriors of ``uncertainty="tempered"`` or ``"leave-self-out"`` from the
        plug-in item scores and the answers' ``answer_logs``
        (:func:`softlabels.infer.em.held_out_temperature`); sets ``temperature_``."""
        if self.uncertainty == "leave-self-out":  # type: ignore[attr-defined]
            scores, answer_logs = K.leave_self_out(ann.item, ann.n_items, answer_logs)
        log_prior = np.log(prior)
        self.temperature_ = K.held_out_temperature(log_prior, scores, ann, answer_logs)
        return pin_gold(K.tempered_posteriors(log_prior, scores, self.temperature_), gold)
