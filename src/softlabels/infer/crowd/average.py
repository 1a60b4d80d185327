"""The average of soft labels from several crowd models (Wright & Augenstein)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from softlabels.core.validation import option
from softlabels.core.annotations import Annotations
from softlabels.core.errors import InvalidParameterError
from softlabels.core.soft import normalize_rows
from softlabels.infer.base import CrowdModel
from softlabels.infer import em as K

__all__ = ["SoftAverage", "DEFAULT_MEMBERS", "largest_member_bytes", "member_specs"]

#: The seven soft-labeling methods averaged in the paper, as (name, parameters).
DEFAULT_MEMBERS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("soft-vote", {}),
    ("soft-vote", {"normalization": "softmax"}),
    ("dawid-skene", {}),
    ("glad", {}),
    ("mace", {}),
    ("wawa", {}),
    ("zero-based-skill", {}),
)


class SoftAverage(CrowdModel):
    """Element-wise mean of the soft labels of several crowd models, item by item.

    The proposal of "Aggregating Soft Labels from Crowd Annotations Improves
    Uncertainty Estimation Under Distribution Shift": by default the seven methods of
    the paper — vote proportions, softmax of the counts, Dawid–Skene, GLAD, MACE,
    Wawa and zero-based skill — each with its own defaults.

    Parameters
    ----------
    members : sequence of str or (str, dict), optional
        Models to combine, by registry name, optionally with parameters.
    weights : sequence of float, optional
        One non-negative weight per member (the paper's weighted variant uses
        ``min_NLL / NLL_member`` measured on development data). Default: equal.
    combine : {"mean", "conflation"}, default="mean"
        ``"conflation"``: the renormalised product of the members' distributions
        (an option from the paper's code), instead of the mean.

    Attributes
    ----------
    members_ : list of fitted CrowdModel
    skills_ : ndarray of shape (n_workers,)
        Mean of the members' worker skills.
    """

    name = "soft-average"
    summary = "mean of seven methods' soft labels (Wright & Augenstein)"

    def __init__(
        self,
        *,
        members: Sequence[str | tuple[str, Mapping[str, Any]]] | None = None,
        weights: Sequence[float] | None = None,
        combine: str = "mean",
    ) -> None:
        self.members = members
        self.weights = weights
        self.combine = combine

    def _memory_bytes(self, n_workers: int, n_classes: int, n_items: int) -> int:
        """The largest member's need (members are fitted one after the other) plus one
        posterior matrix per member, kept for the average."""
        specs = self._member_specs()
        return (largest_member_bytes(specs, n_workers, n_classes, n_items)
                + 8 * len(specs) * n_items * n_classes)

    def _member_specs(self) -> list[tuple[str, dict[str, Any]]]:
        return member_specs(DEFAULT_MEMBERS if self.members is None else self.members, self)

    _parameter_constraints = {"combine": option("mean", "conflation")}

    def _validate_params(self) -> None:
        super()._validate_params()
        specs = self._member_specs()
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=np.float64)
            if (w.shape != (len(specs),) or not np.isfinite(w).all() or (w < 0).any()
                    or not w.max() > 0):
                raise InvalidParameterError(
                    f"weights must be {len(specs)} finite non-negative numbers, not all zero; "
                    f"got {list(self.weights)}."
                )

    def _fit(self, ann: Annotations, gold: np.ndarray) -> np.ndarray:
        from softlabels.infer.registry import create_method

        fitted = []
        for name, params in self._member_specs():
            model = create_method(name, **params)
            model._callback = self._callback  # type: ignore[attr-defined]
            model._validate_params()
            fitted.append(model._fit_codes(ann, gold))
            model._callback = None
        self.members_ = fitted
        self.skills_ = np.mean([m.skills_ for m in fitted], axis=0)
        self.n_iter_ = max(m.n_iter_ for m in fitted)
        self.converged_ = all(m.converged_ for m in fitted)
        return self._combine([m.soft_labels_.probs for m in fitted])

    def _combine(self, posts: Sequence[np.ndarray]) -> np.ndarray:
        """The members' posteriors of the same items, combined (``combine``,
        ``weights``): item by item, so any split of the items gives the same rows."""
        w = np.ones(len(posts)) if self.weights is None else np.asarray(self.weights, float)
        w = w / w.max()  # first: the sum of huge weights would overflow
        w = w / w.sum()
        stack = np.stack(posts)
        if self.combine == "mean":
            post = np.tensordot(w, stack, axes=1)
        else:
            post, _ = K.log_normalize(np.tensordot(w, K.safe_log(stack), axes=1) * len(posts))
        return normalize_rows(post)


def member_specs(specs: Any, owner: CrowdModel) -> list[tuple[str, dict[str, Any]]]:
    """The members of a combination of crowd models as (name, parameters): each given
    by registry name (``"name:key=value"`` allowed) or as (name, parameters). At least
    one, and never ``owner``'s own kind.

    Parameters
    ----------
    specs : sequence of str or (str, mapping)
        The members.
    owner : CrowdModel
        The combining model.

    Returns
    -------
    list of (str, dict)

    Raises
    ------
    InvalidParameterError
        When ``specs`` is one string, empty, or names the owner's own method.
    """
    from softlabels.infer.registry import parse_spec

    kind = type(owner).__name__
    if isinstance(specs, str):
        raise InvalidParameterError(
            f"members must be a list of models, not one string ({specs!r})."
        )
    out = []
    for spec in specs:
        if isinstance(spec, str):
            out.append(parse_spec(spec))
        else:
            name, params = spec
            out.append((name, dict(params)))
    if not out:
        raise InvalidParameterError(f"{kind} needs at least one member.")
    if any(name == owner.name for name, _ in out):
        raise InvalidParameterError(f"{kind} cannot contain itself.")
    return out


def largest_member_bytes(specs: Sequence[tuple[str, dict[str, Any]]], n_workers: int,
                         n_classes: int, n_items: int) -> int:
    """The peak bytes of the most demanding member's fit.

    Parameters
    ----------
    specs : sequence of (str, dict)
        The members as (registry name, parameters), from :func:`member_specs`.
    n_workers : int
        Number of workers.
    n_classes : int
        Number of classes.
    n_items : int
        Number of items.

    Returns
    -------
    int
    """
    from softlabels.infer.memory import model_memory_bytes
    from softlabels.infer.registry import create_method

    members = [create_method(name, **params) for name, params in specs]
    return max(model_memory_bytes(m, n_workers, n_classes, n_items) for m in members)
