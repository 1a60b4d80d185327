"""The temperature diagnosis of benchmarks/crowd_stack_members.py on hand-made numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def test_tempered_nll_hand_computed(csm):
    probs = pd.DataFrame([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], index=["a", "b", "c"],
                         columns=["x", "y"])
    truth = pd.Series({"a": "x", "b": "x", "c": "y", "unseen": "x"})
    # T = 1: the plain NLL over the items that have probabilities
    assert csm.tempered_nll(probs, truth, 1.0) == pytest.approx(
        -(np.log(0.9) + np.log(0.2) + np.log(0.4)) / 3)
    # T = 2: p ** (1/2), renormalised
    def flat(p, q):
        return np.sqrt(p) / (np.sqrt(p) + np.sqrt(q))
    expected = -(np.log(flat(0.9, 0.1)) + np.log(flat(0.2, 0.8)) + np.log(flat(0.4, 0.6))) / 3
    assert csm.tempered_nll(probs, truth, 2.0) == pytest.approx(expected)
    # a confident miss flattened by a temperature costs less
    assert csm.tempered_nll(probs, truth, 2.0) < csm.tempered_nll(probs, truth, 1.0)
