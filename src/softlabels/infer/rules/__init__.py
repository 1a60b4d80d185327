"""Labeling rules (weak supervision): write rules that vote or abstain, apply them,
analyse them and combine their votes into soft labels.

A vote matrix ``L`` has one row per item and one column per rule: class indices
``0 .. K-1``, ``-1`` for abstain. :func:`apply_rules` returns it as a DataFrame (columns
named after the rules); every function here also accepts a plain integer array.

>>> import pandas as pd
>>> from softlabels.infer.rules import labeling_function, apply_rules, LabelModel
>>> SPAM, HAM, ABSTAIN = 1, 0, -1
>>> @labeling_function(column="text")
... def link(text):
...     return SPAM if "http" in text else ABSTAIN
>>> @labeling_function(column="text")
... def short(text):
...     return HAM if len(text.split()) < 4 else ABSTAIN
>>> @labeling_function(column="text")
... def check_out(text):
...     return SPAM if "check out" in text.lower() else ABSTAIN
>>> texts = ["love it", "check out http://a.io", "Check out my channel now", "cool",
...          "a song I keep coming back to"]
>>> L = apply_rules([link, short, check_out], pd.DataFrame({"text": texts}))
>>> L.to_numpy().tolist()
[[-1, 0, -1], [1, 0, 1], [-1, -1, 1], [-1, 0, -1], [-1, -1, -1]]
>>> soft = LabelModel().fit(L).soft_labels_
>>> soft.hard().tolist()[:4], soft.support.tolist()
([0, 1, 1, 0], [1.0, 3.0, 1.0, 1.0, 0.0])
>>> soft.probs[4].round(3).tolist()  # no vote: the spam rules would likely have fired
[0.634, 0.366]
"""

from softlabels.infer.rules._functions import (
    LabelingFunction,
    apply_rules,
    labeling_function,
    load_rules,
)
from softlabels.infer.rules.votes import ABSTAIN
from softlabels.infer.rules.analysis import analyze_rules, vote_summary
from softlabels.infer.rules.label_model import LabelModel
from softlabels.infer.rules.matrix_completion import MatrixCompletionLabelModel

__all__ = [
    "ABSTAIN",
    "LabelModel",
    "LabelingFunction",
    "MatrixCompletionLabelModel",
    "analyze_rules",
    "apply_rules",
    "labeling_function",
    "load_rules",
    "vote_summary",
]
