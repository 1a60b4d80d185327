"""The registry of inference methods, chosen by name in Python and on the command line."""

from __future__ import annotations

from typing import Any

from softlabels.core.registry import Registry

__all__ = ["METHODS", "create_method", "list_methods", "method_summary"]

METHODS: Registry[type] = Registry("method", "softlabels.list_methods() or `softlabels methods`")

_P = "softlabels.infer.crowd."
for _name, _target, _summary in [
    ("majority-vote", "votes:MajorityVote", "most frequent answer; ties share the probability"),
    ("soft-vote", "votes:SoftVote", "vote proportions, optional additive smoothing or softmax"),
    ("wawa", "votes:Wawa", "vote weighted by each worker's agreement with the majority"),
    ("zero-based-skill", "votes:ZeroBasedSkill", "skill-weighted vote, skills learned by decaying steps"),
    ("one-coin-dawid-skene", "dawid_skene:OneCoinDawidSkene", "EM with one accuracy per worker"),
    ("dawid-skene", "dawid_skene:DawidSkene", "EM with a full confusion matrix per worker (Dawid & Skene 1979)"),
    ("glad", "glad:GLAD", "EM with worker ability x item difficulty (Whitehill et al. 2009)"),
    ("mace", "mace:MACE", "EM with worker competence and spamming behaviour (Hovy et al. 2013)"),
    ("kos", "kos:KOS", "message passing on the item-worker graph, binary (Karger et al. 2011)"),
    ("mmsr", "mmsr:MMSR", "reliabilities by robust rank-one completion (Ma & Olshevsky 2020)"),
    ("soft-average", "average:SoftAverage", "mean of seven methods' soft labels (Wright & Augenstein)"),
]:
    METHODS.register(_name, _P + _target, summary=_summary)


def list_methods(pattern: str = "*") -> list[str]:
    """Names of the inference methods, optionally filtered by a glob pattern."""
    return METHODS.names(pattern)


def method_summary(name: str) -> str:
    return METHODS.summary(name)


def create_method(name: str, **params: Any) -> Any:
    """An unfitted model by registry name, e.g. ``create_method("glad", n_iter=50)``."""
    cls = METHODS.get(name)
    try:
        return cls(**params)
    except TypeError as err:
        from softlabels.core.errors import InvalidParameterError
        from softlabels.infer.base import BaseInferrer

        valid = cls._param_names() if issubclass(cls, BaseInferrer) else []
        raise InvalidParameterError(
            f"{name}: {err}. Its parameters are: {', '.join(valid) or 'none'}."
        ) from None
