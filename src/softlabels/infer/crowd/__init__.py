"""Crowd label models: from several answers per item to soft labels and worker skills."""

# in this order the models register (and are listed): simplest first
from softlabels.infer.crowd.votes import MajorityVote, SoftVote, Wawa, ZeroBasedSkill  # isort: skip
from softlabels.infer.crowd.dawid_skene import DawidSkene, OneCoinDawidSkene  # isort: skip
from softlabels.infer.crowd.glad import GLAD  # isort: skip
from softlabels.infer.crowd.mace import MACE  # isort: skip
from softlabels.infer.crowd.kos import KOS  # isort: skip
from softlabels.infer.crowd.mmsr import MMSR  # isort: skip
from softlabels.infer.crowd.ibcc import IBCC  # isort: skip
from softlabels.infer.crowd.ebcc import EBCC  # isort: skip
from softlabels.infer.crowd.average import SoftAverage  # isort: skip
from softlabels.infer.crowd.stacking import HeldOutStacking  # isort: skip
from softlabels.infer.crowd.em import EMModel  # isort: skip

__all__ = [
    "DawidSkene",
    "EBCC",
    "EMModel",
    "GLAD",
    "HeldOutStacking",
    "IBCC",
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
