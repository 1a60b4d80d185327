"""Agreement with crowd-kit 1.4.2 on small hand-made crowds where the two must give the
same numbers, and the numbers can be worked out by hand (crowd-kit itself is not
installed with the library: the expected values below are the hand-computed ones,
which crowd-kit 1.4.2 also gives).

* crowd-kit's ``MajorityVote.probas_`` are the vote shares: our soft vote.
* On an unambiguous crowd (three perfect workers outvote one who errs on three items),
  Dawid–Skene's plain EM (no pseudo-counts, no prior towards the average worker, no
  temperature) is at the truth, and every confusion matrix is the worker's empirical
  one: crowd-kit's ``DawidSkene.errors_``.
* Wawa's and zero-based skill's worker skills are each worker's agreement with the
  majority: crowd-kit's ``skills_``.
"""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pandas as pd
import pytest

from softlabels.infer.crowd import DawidSkene, SoftVote, Wawa, ZeroBasedSkill

CLASSES = ["a", "b", "c"]
#: item t has true class CLASSES[t % 3]; worker w3 errs on items 0, 4 and 8
TRUTH = {t: CLASSES[t % 3] for t in range(9)}
W3_ANSWERS = {0: "b", 4: "a", 8: "a"}


def unambiguous_crowd() -> pd.DataFrame:
    rows = [(t, f"w{w}", W3_ANSWERS.get(t, TRUTH[t]) if w == 3 else TRUTH[t])
            for t in range(9) for w in range(4)]
    return pd.DataFrame(rows, columns=["item", "worker", "label"])


def test_soft_vote_is_crowdkit_majority_vote_probas():
    df = pd.DataFrame({"item": [1, 1, 2, 2, 2], "worker": ["a", "b", "a", "b", "c"],
                       "label": ["x", "y", "x", "y", "y"]})
    p = SoftVote().fit(df).soft_labels_.probs
    np.testing.assert_allclose(p, [[1 / 2, 1 / 2], [1 / 3, 2 / 3]], rtol=0, atol=1e-15)


def test_plain_dawid_skene_is_at_the_truth_with_the_empirical_confusions():
    df = unambiguous_crowd()
    m = DawidSkene(alpha=0.0, prior_strength=0.0, uncertainty="plug-in",
                   init="majority-vote").fit(df)
    assert m.labels_.tolist() == [TRUTH[i] for i in m.soft_labels_.item_ids]
    np.testing.assert_allclose(m.soft_labels_.probs.max(axis=1), 1.0, rtol=0, atol=1e-9)
    workers = m.annotations_.worker_ids.tolist()
    # w3 answers each class's three items right twice and the third one wrong
    w3 = [[F(2, 3), F(1, 3), 0], [F(1, 3), F(2, 3), 0], [F(1, 3), 0, F(2, 3)]]
    np.testing.assert_allclose(m.confusions_[workers.index("w3")], np.array(w3, dtype=float),
                               rtol=0, atol=1e-9)
    for w in ("w0", "w1", "w2"):
        np.testing.assert_allclose(m.confusions_[workers.index(w)], np.eye(3), rtol=0, atol=1e-9)


def test_wawa_and_zero_based_skill_skills_are_agreement_with_the_majority():
    df = unambiguous_crowd()
    for model in (Wawa(), ZeroBasedSkill()):
        m = model.fit(df)
        skills = dict(zip(m.annotations_.worker_ids.tolist(), m.skills_))
        assert skills["w3"] == pytest.approx(6 / 9, abs=1e-9)
        assert [skills[w] for w in ("w0", "w1", "w2")] == pytest.approx([1.0] * 3, abs=1e-9)
