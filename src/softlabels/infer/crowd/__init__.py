"""Crowd label models: from several answers per item to soft labels and worker skills."""

from softlabels.infer.crowd.average import SoftAverage
from softlabels.infer.crowd.dawid_skene import DawidSkene, OneCoinDawidSkene
from softlabels.infer.crowd.glad import GLAD
from softlabels.infer.crowd.kos import KOS
from softlabels.infer.crowd.mace import MACE
from softlabels.infer.crowd.mmsr import MMSR
from softlabels.infer.crowd.votes import MajorityVote, SoftVote, Wawa, ZeroBasedSkill

__all__ = [
    "DawidSkene",
    "GLAD",
    "KOS",
    "MACE",
    "MMSR",
    "MajorityVote",
    "OneCoinDawidSkene",
    "SoftAverage",
    "SoftVote",
    "Wawa",
    "ZeroBasedSkill",
]
