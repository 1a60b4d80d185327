"""Crowd models on small hand-made answer tables with known answers."""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pandas as pd
import pytest

import softlabels
from softlabels import InvalidParameterError, create_method, list_methods
from softlabels.datasets import make_crowd
from softlabels.infer.crowd import (
    GLAD,
    KOS,
    MACE,
    MMSR,
    DawidSkene,
    MajorityVote,
    OneCoinDawidSkene,
    SoftAverage,
    SoftVote,
    Wawa,
    ZeroBasedSkill,
)

ALL = list_methods()


def frame(items, workers, labels) -> pd.DataFrame:
    return pd.DataFrame({"item": items, "worker": workers, "label": labels})


def probs_by_item(model) -> dict:
    s = model.soft_labels_
    return {i: row.tolist() for i, row in zip(s.item_ids.tolist(), s.probs)}


# ---------------------------------------------------------------------- registry
def test_registry_lists_every_model():
    expected = [
        "majority-vote", "soft-vote", "wawa", "zero-based-skill", "one-coin-dawid-skene",
        "dawid-skene", "glad", "mace", "kos", "mmsr", "soft-average",
    ]
    assert [n for n in ALL if n in expected] == expected
    assert list_methods("*dawid*") == ["one-coin-dawid-skene", "dawid-skene"]
    for name in ALL:
        assert create_method(name).name == name


def test_unknown_method_suggests():
    with pytest.raises(KeyError, match=r"Unknown method 'dawid-skeen'\. Did you mean 'dawid-skene'"):
        create_method("dawid-skeen")
    with pytest.raises(KeyError, match="list_methods"):
        softlabels.aggregate(frame([1], ["a"], ["x"]), method="nothing-like-it")
    # a parameter error as well, whose text is the message itself (not KeyError's repr)
    with pytest.raises(softlabels.InvalidParameterError) as info:
        create_method("dawid-skeen")
    assert str(info.value).startswith("Unknown method 'dawid-skeen'.")


def test_a_source_that_is_not_a_method_points_to_create_source():
    with pytest.raises(KeyError, match=r"'rules-label-model' is not a crowd-answer method: "
                                       r"it fits on label-matrix.*create_source"):
        create_method("rules-label-model")
    with pytest.raises(InvalidParameterError, match="create_source"):
        softlabels.aggregate(frame([1], ["a"], ["x"]), method="teacher-ensemble")


def test_unknown_parameter():
    with pytest.raises(InvalidParameterError, match=r"dawid-skene: .*n_iters.*Its parameters are: n_iter, tol, alpha, prior_strength, uncertainty, init"):
        create_method("dawid-skene", n_iters=5)
    with pytest.raises(InvalidParameterError, match="has no parameter 'bogus'"):
        create_method("glad").set_params(bogus=1)


INVALID = [
    ("soft-vote", {"smoothing": -1.0}),
    ("soft-vote", {"normalization": "sofmax"}),
    ("zero-based-skill", {"n_iter": 0}),
    ("zero-based-skill", {"lr_init": 0.0}),
    ("zero-based-skill", {"lr_reduce_factor": 1.5}),
    ("zero-based-skill", {"lr_steps_to_reduce": 0}),
    ("one-coin-dawid-skene", {"min_skill": 1.5}),
    ("one-coin-dawid-skene", {"prior": "learned"}),
    ("one-coin-dawid-skene", {"alpha": -0.1}),
    ("dawid-skene", {"n_iter": 0}),
    ("dawid-skene", {"n_iter": 2.5}),
    ("dawid-skene", {"n_iter": True}),
    ("dawid-skene", {"tol": -1e-3}),
    ("dawid-skene", {"tol": float("nan")}),
    ("dawid-skene", {"alpha": -1.0}),
    ("dawid-skene", {"alpha": "0.1"}),
    ("dawid-skene", {"init": "random"}),
    ("glad", {"m_steps": 0}),
    ("glad", {"alpha_prior": float("inf")}),
    ("glad", {"prior": "flat"}),
    ("mace", {"method": "gibbs"}),
    ("mace", {"n_restarts": -1}),
    ("mace", {"alpha": 0.0}),
    ("mace", {"xi_prior": 0.0}),
    ("mace", {"smoothing": -0.5}),
    ("mace", {"random_state": "seed"}),
    ("kos", {"n_iter": 0}),
    ("kos", {"init_scale": -1.0}),
    ("kos", {"random_state": 1.5}),
    ("mmsr", {"n_trim": -1}),
    ("mmsr", {"tol": -1.0}),
    ("soft-average", {"combine": "median"}),
    ("soft-average", {"weights": [1.0, 2.0]}),
    ("soft-average", {"members": ["wawa"], "weights": [-1.0]}),
    ("soft-average", {"members": ["wawa", "soft-vote"], "weights": [float("inf"), 1.0]}),
    ("soft-average", {"members": ["wawa", "soft-vote"], "weights": [float("nan"), 1.0]}),
    ("soft-average", {"members": ["wawa", "soft-average"]}),
    ("soft-average", {"members": []}),
]


@pytest.mark.parametrize("name, params", INVALID, ids=[f"{n}-{list(p)[0]}" for n, p in INVALID])
def test_invalid_parameter_values(name, params, tiny_answers):
    model = create_method(name, **params)  # construction never validates
    with pytest.raises(InvalidParameterError, match="must|needs at least one|cannot contain"):
        model.fit(tiny_answers)


def test_invalid_parameter_message_names_parameter_and_owner(tiny_answers):
    with pytest.raises(InvalidParameterError, match=r"The 'n_iter' parameter of DawidSkene must be >= 1; got 0"):
        DawidSkene(n_iter=0).fit(tiny_answers)
    with pytest.raises(InvalidParameterError, match=r"'init' parameter of GLAD must be one of .*Did you mean 'uniform'"):
        GLAD(init="unifrom").fit(tiny_answers)


def test_kos_refuses_three_classes():
    df = frame([1, 1, 2], ["a", "b", "a"], ["x", "y", "z"])
    with pytest.raises(InvalidParameterError, match=r"KOS supports at most 2 classes; the answers have 3"):
        KOS().fit(df)


def test_a_refused_fit_leaves_the_model_as_it_was(binary_crowd):
    """A fit refused before any work (too many classes) sets nothing: an unfitted
    model stays unfitted, a fitted one keeps its results whole."""
    three = frame([1, 1, 2], ["a", "b", "a"], ["x", "y", "z"])
    fresh = KOS()
    with pytest.raises(InvalidParameterError):
        fresh.fit(three)
    assert not [a for a in vars(fresh) if a.endswith("_") and not a.startswith("_")]
    fitted = KOS(n_iter=7).fit(binary_crowd)
    before = {a: v for a, v in vars(fitted).items() if a.endswith("_")}
    with pytest.raises(InvalidParameterError):
        fitted.fit(three)
    assert {a: v for a, v in vars(fitted).items() if a.endswith("_")} == before


# ---------------------------------------------------------------------- edge cases
EDGE_CASES = {
    "one-answer": frame([1], ["a"], ["x"]),
    "one-answer-two-classes": frame([1], ["a"], ["x"]),  # with classes=["x", "y"]
    "one-worker": frame([1, 2, 3], ["a"] * 3, ["x", "y", "x"]),
    "one-class": frame([1, 1, 2], ["a", "b", "a"], ["x"] * 3),
    "one-item": frame([1, 1, 1], ["a", "b", "c"], ["x", "y", "x"]),
    "isolated-worker": frame([1, 1, 2, 2, 3], ["a", "b", "a", "b", "z"], ["x", "x", "y", "y", "x"]),
    "no-shared-items": frame([1, 2, 3], ["a", "b", "c"], ["x", "y", "x"]),
    "repeated-answers": frame([1, 1, 1, 2, 2, 3, 3], ["a", "a", "a", "b", "c", "b", "c"],
                              ["x", "y", "x", "y", "y", "x", "x"]),
    "class-never-chosen": frame([1, 1, 2, 2, 3], ["a", "b", "a", "b", "a"],
                                ["x", "x", "y", "x", "y"]),  # with classes=["x", "y", "z"]
}
DECLARED = {"one-answer-two-classes": ["x", "y"], "class-never-chosen": ["x", "y", "z"]}

def _edge_params():
    for case in EDGE_CASES:
        for name in ALL:
            yield pytest.param(case, name, id=f"{case}-{name}")


@pytest.mark.parametrize("case, name", list(_edge_params()))
def test_valid_edge_cases_give_results(case, name):
    df = EDGE_CASES[case]
    if name == "kos" and len(DECLARED.get(case, [])) > 2:
        pytest.skip("KOS is for two classes")
    ann = softlabels.Annotations.from_frame(df, classes=DECLARED.get(case))
    model = create_method(name).fit(ann)
    p = model.soft_labels_.probs
    assert p.shape == (ann.n_items, ann.n_classes)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert model.skills_.shape == (ann.n_workers,)
    assert np.isfinite(model.skills_).all()
    if ann.n_classes == 1:
        assert p.tolist() == [[1.0]] * ann.n_items
    got = probs_by_item(model)
    if case == "one-worker":  # the lone worker is the only evidence
        assert model.soft_labels_.hard().tolist() == ["x", "y", "x"]
    if case == "isolated-worker":  # item 3's only answer is 'x'; nothing favours 'y'
        assert got[3][0] >= got[3][1]
    if case == "one-answer-two-classes":
        assert got[1][0] >= got[1][1]
    if case == "repeated-answers":  # item 1's answers, all by a, are two x to one y
        assert got[1][0] >= got[1][1]
    if case == "class-never-chosen":  # no item is more likely 'z' than anything answered
        assert all(row[2] <= max(row[:2]) for row in got.values())


@pytest.mark.parametrize("name", ALL)
def test_an_item_without_answers_gets_a_distribution(name):
    """Annotations may list items nobody answered (stacking's training folds do): they
    get a finite distribution, and the other items what they get without them."""
    item, worker, label = (np.array(a) for a in ([0, 0, 1, 1, 1], [0, 1, 0, 1, 2], [0, 0, 1, 1, 0]))
    workers, classes = np.array(["a", "b", "c"], dtype=object), np.array(["x", "y"], dtype=object)
    extra = softlabels.Annotations(item, worker, label, np.array(["i0", "i1", "idle"], dtype=object),
                                   workers, classes)
    plain = softlabels.Annotations(item, worker, label, np.array(["i0", "i1"], dtype=object),
                                   workers, classes)
    p = create_method(name).fit(extra).soft_labels_.probs
    assert p.shape == (3, 2) and np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    if name in {"majority-vote", "soft-vote", "wawa", "zero-based-skill", "kos", "mmsr"}:
        # votes: an empty item changes nothing else (MMSR's clipping margin counts the
        # answered items; the EM models' class prior counts every item)
        np.testing.assert_array_equal(p[:2], create_method(name).fit(plain).soft_labels_.probs)


# ---------------------------------------------------------------------- voting models
class TestMajorityVote:
    def test_hand_case(self, tiny_answers):
        m = MajorityVote().fit(tiny_answers)
        assert probs_by_item(m) == {1: [1.0, 0.0], 2: [0.0, 1.0], 3: [1.0, 0.0]}
        np.testing.assert_allclose(m.skills_, [1.0, 2 / 3, 2 / 3], rtol=1e-15)
        assert m.labels_.tolist() == ["x", "y", "x"]
        assert (m.n_iter_, m.converged_) == (0, True)

    def test_ties_share_probability_and_hard_label_is_first_class(self):
        df = frame([1, 1, 2, 2, 2, 2, 2], list("abcdefg"), ["y", "x", "z", "y", "y", "z", "x"])
        m = MajorityVote().fit(df)
        assert probs_by_item(m) == {1: [0.5, 0.5, 0.0], 2: [0.0, 0.5, 0.5]}
        assert m.labels_.tolist() == ["x", "y"]
        # skills: each answer scores its class's share of the vote
        np.testing.assert_allclose(m.skills_, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0])

    def test_provenance_and_support(self, tiny_answers):
        s = MajorityVote().fit(tiny_answers).soft_labels_
        assert s.provenance["method"] == "majority-vote"
        assert s.provenance["params"] == {}
        assert s.support.tolist() == [3.0, 3.0, 3.0]

    def test_reliability_frame(self, tiny_answers):
        wf = MajorityVote().fit(tiny_answers).reliability_frame()
        assert list(wf.columns) == ["worker", "n_answers", "skill"]
        assert wf["worker"].tolist() == ["a", "b", "c"]
        assert wf["n_answers"].tolist() == [3, 3, 3]


class TestSoftVote:
    def test_proportions(self, tiny_answers):
        m = SoftVote().fit(tiny_answers)
        assert probs_by_item(m) == {1: [2 / 3, 1 / 3], 2: [0.0, 1.0], 3: [2 / 3, 1 / 3]}
        # skill = mean share of the worker's own answer: a (2/3 + 1 + 2/3) / 3, b (2/3 + 1 + 1/3) / 3
        np.testing.assert_allclose(m.skills_, [7 / 9, 2 / 3, 2 / 3], rtol=1e-15)

    def test_smoothing(self, tiny_answers):
        m = SoftVote(smoothing=1.0).fit(tiny_answers)
        np.testing.assert_allclose(m.soft_labels_.probs, [[0.6, 0.4], [0.2, 0.8], [0.6, 0.4]], rtol=1e-15)

    def test_softmax_of_counts(self, tiny_answers):
        m = SoftVote(normalization="softmax").fit(tiny_answers)
        e = math.e
        expected = [[e / (e + 1), 1 / (e + 1)], [1 / (e**3 + 1), e**3 / (e**3 + 1)], [e / (e + 1), 1 / (e + 1)]]
        np.testing.assert_allclose(m.soft_labels_.probs, expected, rtol=1e-14)


class TestWawa:
    def test_hand_case(self, tiny_answers):
        m = Wawa().fit(tiny_answers)
        # skills = agreement with the majority: a 1, b 2/3, c 2/3
        np.testing.assert_allclose(m.skills_, [1.0, 2 / 3, 2 / 3], rtol=1e-15)
        # item 1: x <- a + b = 5/3, y <- c = 2/3
        np.testing.assert_allclose(
            m.soft_labels_.probs, [[5 / 7, 2 / 7], [0.0, 1.0], [5 / 7, 2 / 7]], rtol=1e-15
        )

    def test_gold_changes_agreement(self, tiny_answers):
        m = Wawa().fit(tiny_answers, gold={3: "y"})
        # with item 3 known to be y: a 2/3, b 1, c 1/3
        np.testing.assert_allclose(m.skills_, [2 / 3, 1.0, 1 / 3], rtol=1e-15)
        np.testing.assert_allclose(
            m.soft_labels_.probs, [[5 / 6, 1 / 6], [0.0, 1.0], [0.0, 1.0]], rtol=1e-15
        )


class TestZeroBasedSkill:
    def test_hand_case(self, tiny_answers):
        m = ZeroBasedSkill().fit(tiny_answers)
        # step 1 (lr 1) moves skills onto the agreement with the majority; step 2 changes nothing
        assert (m.n_iter_, m.converged_) == (2, True)
        np.testing.assert_allclose(m.skills_, [1.0, 2 / 3, 2 / 3], rtol=1e-15)
        np.testing.assert_allclose(
            m.soft_labels_.probs, [[5 / 7, 2 / 7], [0.0, 1.0], [5 / 7, 2 / 7]], rtol=1e-15
        )

    def test_learning_rate_schedule(self, tiny_answers):
        # lr 0.5 halves the distance to the agreement each step: skill_t = a - (a - s0) / 2^t
        s0 = 0.5 + 1e-5
        m = ZeroBasedSkill(n_iter=3, tol=0.0, lr_init=0.5, lr_steps_to_reduce=1000).fit(tiny_answers)
        target = np.array([1.0, 2 / 3, 2 / 3])
        np.testing.assert_allclose(m.skills_, target - (target - s0) / 8, rtol=1e-14)
        assert (m.n_iter_, m.converged_) == (3, False)


# ---------------------------------------------------------------------- Dawid-Skene
HAND = frame(
    [1, 1, 1, 2, 2, 2, 3, 3, 3],
    ["a", "b", "c"] * 3,
    [0, 0, 1, 1, 1, 0, 0, 1, 1],
)


def _normalise(row):
    total = sum(row)
    return [float(v / total) for v in row]


#: the classic EM posteriors: no prior towards the average worker, no temperature
PLAIN = {"prior_strength": 0.0, "uncertainty": "plug-in"}


class TestDawidSkeneByHand:
    """One EM iteration with alpha=0 from the vote proportions, worked out on paper.

    T0 = [[2/3, 1/3], [1/3, 2/3], [1/3, 2/3]] (soft vote).
    M-step, pi[w, k, l] ~ sum of T0[i, k] over w's answers l:
      a (answers 0, 1, 0): k=0 -> [1, 1/3] -> [3/4, 1/4];  k=1 -> [1, 2/3] -> [3/5, 2/5]
      b (answers 0, 1, 1): k=0 -> [2/3, 2/3] -> [1/2, 1/2]; k=1 -> [1/3, 4/3] -> [1/5, 4/5]
      c (answers 1, 0, 1): k=0 -> [1/3, 1] -> [1/4, 3/4];  k=1 -> [2/3, 1] -> [2/5, 3/5]
      rho ~ column sums of T0 (4/3, 5/3) plus the library's 1e-3 smoothing.
    E-step: T1[i, k] ~ rho[k] * prod over answers of pi[w, k, l]:
      item 1 (0, 0, 1): rho0 * 9/32, rho1 * 9/125
      item 2 (1, 1, 0): rho0 * 1/32, rho1 * 16/125
      item 3 (0, 1, 1): rho0 * 9/32, rho1 * 36/125
    """

    RHO = (F(4, 3) + F(1, 1000), F(5, 3) + F(1, 1000))
    PI = {
        "a": [[F(3, 4), F(1, 4)], [F(3, 5), F(2, 5)]],
        "b": [[F(1, 2), F(1, 2)], [F(1, 5), F(4, 5)]],
        "c": [[F(1, 4), F(3, 4)], [F(2, 5), F(3, 5)]],
    }
    UNNORMALISED = [
        (RHO[0] * F(9, 32), RHO[1] * F(9, 125)),
        (RHO[0] * F(1, 32), RHO[1] * F(16, 125)),
        (RHO[0] * F(9, 32), RHO[1] * F(36, 125)),
    ]

    def fit(self):
        return DawidSkene(n_iter=1, tol=0.0, alpha=0.0, **PLAIN).fit(HAND)

    def test_posteriors(self):
        m = self.fit()
        expected = [_normalise(r) for r in self.UNNORMALISED]
        np.testing.assert_allclose(m.soft_labels_.probs, expected, rtol=1e-14, atol=0)
        assert m.labels_.tolist() == [0, 1, 1]
        assert (m.n_iter_, m.converged_) == (1, False)

    def test_confusions_and_prior(self):
        m = self.fit()
        expected = np.array([[[float(v) for v in row] for row in self.PI[w]] for w in "abc"])
        np.testing.assert_allclose(m.confusions_, expected, rtol=1e-14)
        total = self.RHO[0] + self.RHO[1]
        np.testing.assert_allclose(m.priors_, [float(self.RHO[0] / total), float(self.RHO[1] / total)], rtol=1e-14)
        skills = [sum(m.priors_[k] * expected[w, k, k] for k in range(2)) for w in range(3)]
        np.testing.assert_allclose(m.skills_, skills, rtol=1e-14)

    def test_log_likelihood(self):
        m = self.fit()
        total = self.RHO[0] + self.RHO[1]
        ll = sum(math.log(float((r0 + r1) / total)) for r0, r1 in self.UNNORMALISED)
        assert m.log_likelihood_ == pytest.approx(ll, rel=1e-13)

    def test_alpha_adds_pseudo_counts(self):
        m = DawidSkene(n_iter=1, tol=0.0, alpha=1.0, **PLAIN).fit(HAND)
        # worker a, k=0: [1 + 1, 1/3 + 1] / (10/3) = [3/5, 2/5]
        np.testing.assert_allclose(m.confusions_[0, 0], [0.6, 0.4], rtol=1e-14)


class TestOneCoinByHand:
    """One iteration on HAND: s_w = (sum of T0[i, l] over w's answers) / n_w.

    a: (2/3 + 2/3 + 1/3) / 3 = 5/9;  b: (2/3 + 2/3 + 2/3) / 3 = 2/3;  c: (1/3 + 1/3 + 2/3) / 3 = 4/9.
    With two classes a wrong answer has probability 1 - s_w. Prior uniform.
    """

    @staticmethod
    def expected(s):
        def p(w, truth, answer):
            return s[w] if truth == answer else 1 - s[w]

        rows = []
        for answers in ([0, 0, 1], [1, 1, 0], [0, 1, 1]):
            un = [math.prod(p(w, k, l) for w, l in enumerate(answers)) for k in range(2)]
            rows.append(_normalise([F(v) for v in un]))
        return rows

    def test_skills_floored_at_chance(self):
        m = OneCoinDawidSkene(n_iter=1, tol=0.0, alpha=0.0, **PLAIN).fit(HAND)
        s = [F(5, 9), F(2, 3), F(1, 2)]  # c's 4/9 is below chance: floored to 1/2
        np.testing.assert_allclose(m.skills_, [float(v) for v in s], rtol=1e-14)
        np.testing.assert_allclose(m.soft_labels_.probs, self.expected(s), rtol=1e-14)
        assert m.priors_.tolist() == [0.5, 0.5]

    def test_without_floor(self):
        m = OneCoinDawidSkene(n_iter=1, tol=0.0, alpha=0.0, min_skill=0.0, **PLAIN).fit(HAND)
        s = [F(5, 9), F(2, 3), F(4, 9)]
        np.testing.assert_allclose(m.skills_, [float(v) for v in s], rtol=1e-14)
        np.testing.assert_allclose(m.soft_labels_.probs, self.expected(s), rtol=1e-14)


class TestDawidSkeneBehaviour:
    def test_learns_a_flipping_worker(self):
        # workers a, b, c are right; d always answers the other class
        truth = [0, 1] * 6
        rows = []
        for i, t in enumerate(truth):
            for w in "abc":
                rows.append((i, w, t))
            rows.append((i, "d", 1 - t))
        df = pd.DataFrame(rows, columns=["item", "worker", "label"])
        m = DawidSkene(prior_strength=0).fit(df)
        assert m.labels_.tolist() == truth
        d = m.confusions_[3]
        assert d[0, 1] > 0.95 and d[1, 0] > 0.95
        assert m.converged_

    def test_gold_moves_confusions_towards_the_gold_label(self):
        # on item 0 workers a and b say x, c says y; the gold label is y
        df = frame(
            [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
            list("abc") * 4,
            ["x", "x", "y", "y", "y", "y", "x", "x", "x", "y", "y", "x"],
        )
        free = DawidSkene(n_iter=20, tol=0.0, **PLAIN).fit(df)
        gold = DawidSkene(n_iter=20, tol=0.0, **PLAIN).fit(df, gold={0: "y"})
        assert free.labels_[0] == "x"
        assert gold.soft_labels_.probs[0].tolist() == [0.0, 1.0]
        # c is more often right about y, a and b are more often wrong on y items
        assert gold.confusions_[2, 1, 1] > free.confusions_[2, 1, 1]
        assert gold.skills_[2] > free.skills_[2]
        for w in (0, 1):
            assert gold.confusions_[w, 1, 0] > free.confusions_[w, 1, 0]

    def test_init_options_all_run(self, multiclass_crowd):
        fits = {init: DawidSkene(init=init).fit(multiclass_crowd) for init in ("soft-vote", "majority-vote", "uniform")}
        for m in fits.values():
            np.testing.assert_allclose(m.soft_labels_.probs.sum(axis=1), 1.0, atol=1e-12)
        # uniform posteriors carry no information: one M-step gives identical confusion rows
        u = DawidSkene(init="uniform", n_iter=1, tol=0.0).fit(multiclass_crowd)
        for w in range(u.confusions_.shape[0]):
            np.testing.assert_allclose(u.confusions_[w], u.confusions_[w][[0, 0, 0]], atol=1e-12)


# ---------------------------------------------------------------------- other models
def _truth_and_crowd(spammer_label=None, adversary=False, n=16):
    truth = [i % 2 for i in range(n)]
    rows = []
    for i, t in enumerate(truth):
        for w in ("g1", "g2", "g3"):
            rows.append((i, w, t))
        if spammer_label is not None:
            rows.append((i, "spam", spammer_label))
        if adversary:
            rows.append((i, "adv", 1 - t))
    return pd.DataFrame(rows, columns=["item", "worker", "label"]), truth


class TestGLAD:
    def test_good_workers_and_easy_items(self):
        df, truth = _truth_and_crowd()
        # a fourth worker agrees on half the items only
        extra = pd.DataFrame({"item": range(16), "worker": "coin", "label": [t if i % 4 < 2 else 1 - t for i, t in enumerate(truth)]})
        m = GLAD().fit(pd.concat([df, extra]))
        assert m.labels_.tolist() == truth
        w = list(m.annotations_.worker_ids)
        assert m.alphas_[w.index("g1")] > m.alphas_[w.index("coin")]
        assert m.skills_[w.index("g1")] > 0.5
        assert m.betas_.shape == (16,)
        assert (m.betas_ > 0).all()
        wf = m.reliability_frame()
        assert list(wf.columns) == ["worker", "n_answers", "skill", "alpha"]

    def test_split_item_is_harder(self):
        df = frame([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3], list("abcd") * 3,
                   ["x", "x", "x", "x", "y", "y", "y", "y", "x", "y", "x", "y"])
        m = GLAD().fit(df)
        assert m.betas_[2] < m.betas_[0] and m.betas_[2] < m.betas_[1]


    def test_m_step_update_never_lowers_its_objective(self):
        from scipy.special import expit, log_expit

        from softlabels.infer.crowd.glad import ascend

        # one item, log-easiness 1.2, one answer of ability 4 that is likely wrong
        # (p = 0.03): the full Fisher step overshoots; the safeguard halves it
        def objective(lb):
            z = 4.0 * np.exp(lb)
            return 0.03 * log_expit(z) + 0.97 * log_expit(-z) - (lb - 1.0) ** 2 / 2

        theta, other, p = np.array([1.2]), np.array([4.0]), np.array([0.03])
        z = 4.0 * np.exp(1.2)
        s = expit(z)
        full = 1.2 + ((0.03 - s) * z - 0.2) / (s * (1 - s) * z * z + 1.0)
        assert objective(full) < objective(1.2)  # the unguarded step would lower it
        new, moved = ascend(theta, other, np.zeros(1, int), p, 1.0, 1, True)
        assert objective(new[0]) >= objective(1.2)
        assert moved == pytest.approx(abs(new[0] - 1.2)) and moved > 0
        # and on random blocks, for both parameterisations (abilities: identity link)
        rng = np.random.default_rng(3)
        for log_scale, link in ((True, np.exp), (False, lambda a: a)):
            for _ in range(200):
                m = int(rng.integers(1, 6))
                theta, other, p = rng.normal(0, 3, 2), rng.normal(0, 4, m), rng.random(m)
                owner = rng.integers(0, 2, m)
                new, _ = ascend(theta, other, owner, p, 1.0, 2, log_scale)
                for j in range(2):
                    def obj(t, j=j):
                        zz = link(np.array([t]))[0] * other[owner == j]
                        q = p[owner == j]
                        return (q * log_expit(zz) + (1 - q) * log_expit(-zz)).sum() - (t - 1) ** 2 / 2
                    assert obj(new[j]) >= obj(theta[j]) - 1e-9 * abs(obj(theta[j]))

    def test_reaches_the_map_fixed_point_of_a_two_class_crowd(self):
        # the M-step runs to convergence (m_tol): more inner steps change nothing
        df, truth = _truth_and_crowd()
        a = GLAD().fit(df)
        b = GLAD(m_steps=200, m_tol=1e-10).fit(df)
        np.testing.assert_allclose(a.soft_labels_.probs, b.soft_labels_.probs, atol=1e-4)


class TestMACE:
    def test_spammer_gets_low_competence(self):
        df, truth = _truth_and_crowd(spammer_label=0)
        m = MACE().fit(df)
        assert m.labels_.tolist() == truth
        w = list(m.annotations_.worker_ids)
        spam = w.index("spam")
        assert m.competence_[spam] < 0.5 < m.competence_[w.index("g1")]
        assert m.spamming_[spam, 0] > m.spamming_[spam, 1]
        np.testing.assert_allclose(m.spamming_.sum(axis=1), 1.0)
        assert "competence" in m.reliability_frame().columns

    @pytest.mark.parametrize("params", [{"method": "em"}, {"prior": "uniform"}, {"n_restarts": 3, "random_state": 1}])
    def test_options(self, params):
        df, truth = _truth_and_crowd(spammer_label=1)
        m = MACE(**params).fit(df)
        assert m.labels_.tolist() == truth

    def test_restarts_keep_the_best_likelihood(self, binary_crowd):
        one = MACE().fit(binary_crowd)
        many = MACE(n_restarts=4, random_state=0).fit(binary_crowd)
        assert many.log_likelihood_ >= one.log_likelihood_ - 1e-9


class TestKOS:
    def test_adversary_is_outvoted_and_detected(self):
        df, truth = _truth_and_crowd(adversary=True)
        m = KOS().fit(df)
        assert m.labels_.tolist() == truth
        assert np.sign(m.scores_).tolist() == [1.0 if t == 0 else -1.0 for t in truth]
        w = list(m.annotations_.worker_ids)
        assert m.skills_[w.index("adv")] == 0.0
        assert m.skills_[w.index("g1")] == 1.0
        assert set(np.unique(m.soft_labels_.probs)) <= {0.0, 1.0}

    def test_tie_gives_half(self):
        m = KOS().fit(frame([1, 1], ["a", "b"], ["x", "y"]))
        assert m.soft_labels_.probs.tolist() == [[0.5, 0.5]]

    def test_random_initialisation(self, binary_crowd):
        a = KOS(init_scale=1.0, random_state=7).fit(binary_crowd)
        b = KOS(init_scale=1.0, random_state=7).fit(binary_crowd)
        c = KOS(init_scale=1.0, random_state=8).fit(binary_crowd)
        np.testing.assert_array_equal(a.scores_, b.scores_)
        assert not np.array_equal(a.scores_, c.scores_)

    def test_tolerance_stops_early(self, binary_crowd):
        m = KOS(n_iter=500, tol=1e-9).fit(binary_crowd)
        assert m.converged_ and m.n_iter_ < 500

    def test_a_worker_repeating_itself_is_not_its_own_evidence(self):
        """Messages leave out the answer's whole (item, worker) pair: a worker's repeated
        answers on an item do not message each other. One worker answering x, y, x
        on an item is a vote for x."""
        m = KOS().fit(frame([1, 1, 1], ["a", "a", "a"], ["x", "y", "x"]))
        assert m.labels_.tolist() == ["x"]

    @pytest.mark.parametrize("seed", range(4))
    def test_every_answer_twice_decides_as_once(self, seed):
        """A crowd submitted twice (every answer repeated) gets the same decisions."""
        df, _ = make_crowd(n_items=60, n_workers=8, n_classes=2, answers_per_item=3,
                           random_state=seed)
        once = KOS().fit(df)
        twice = KOS().fit(pd.concat([df, df], ignore_index=True))
        np.testing.assert_array_equal(np.sign(twice.scores_), np.sign(once.scores_))
        assert twice.labels_.tolist() == once.labels_.tolist()


class TestMMSR:
    def test_adversary_gets_negative_reliability(self):
        df, truth = _truth_and_crowd(adversary=True, n=30)
        m = MMSR().fit(df)
        w = list(m.annotations_.worker_ids)
        rel = dict(zip(w, m.reliabilities_))
        assert rel["adv"] < 0 < rel["g1"]
        assert m.weights_[w.index("adv")] < 0
        assert m.labels_.tolist() == truth
        # clipped to [-1/(K-1) + 1/sqrt(n), 1 - 1/sqrt(n)]
        margin = 1 / math.sqrt(30)
        assert np.all(m.reliabilities_ <= 1 - margin + 1e-12)
        assert np.all(m.reliabilities_ >= -1 + margin - 1e-12)
        np.testing.assert_allclose(m.skills_, m.reliabilities_ / 2 + 0.5)
        assert list(m.reliability_frame().columns) == ["worker", "n_answers", "skill", "reliability", "weight"]

    def test_soft_label_is_softmax_of_weighted_votes(self, multiclass_crowd):
        m = MMSR().fit(multiclass_crowd)
        ann = m.annotations_
        votes = np.zeros((ann.n_items, ann.n_classes))
        np.add.at(votes, (ann.item, ann.label), m.weights_[ann.worker])
        e = np.exp(votes - votes.max(axis=1, keepdims=True))
        np.testing.assert_allclose(m.soft_labels_.probs, e / e.sum(axis=1, keepdims=True), rtol=1e-12)


class TestSoftAverage:
    def test_default_is_mean_of_seven_members(self, multiclass_crowd):
        m = SoftAverage().fit(multiclass_crowd)
        specs = [("soft-vote", {}), ("soft-vote", {"normalization": "softmax"}), ("dawid-skene", {}),
                 ("glad", {}), ("mace", {}), ("wawa", {}), ("zero-based-skill", {})]
        members = [create_method(n, **p).fit(multiclass_crowd).soft_labels_.probs for n, p in specs]
        np.testing.assert_allclose(m.soft_labels_.probs, np.mean(members, axis=0), rtol=1e-12, atol=1e-15)
        assert len(m.members_) == 7
        assert m.n_iter_ == max(x.n_iter_ for x in m.members_)

    def test_weights(self, tiny_answers):
        m = SoftAverage(members=["majority-vote", "soft-vote"], weights=[3.0, 1.0]).fit(tiny_answers)
        mv = np.array([[1, 0], [0, 1], [1, 0]])
        sv = np.array([[2 / 3, 1 / 3], [0, 1], [2 / 3, 1 / 3]])
        np.testing.assert_allclose(m.soft_labels_.probs, 0.75 * mv + 0.25 * sv, rtol=1e-15)

    def test_huge_weights_are_their_ratios(self, tiny_answers):
        """Weights that overflow when summed still weigh by their ratios."""
        members = ["majority-vote", "soft-vote"]
        m = SoftAverage(members=members, weights=[1.5e308, 0.5e308]).fit(tiny_answers)
        ref = SoftAverage(members=members, weights=[3.0, 1.0]).fit(tiny_answers)
        np.testing.assert_allclose(m.soft_labels_.probs, ref.soft_labels_.probs, rtol=1e-15)

    def test_conflation_is_normalised_product(self, tiny_answers):
        m = SoftAverage(members=["soft-vote", ("soft-vote", {"smoothing": 1.0})], combine="conflation").fit(tiny_answers)
        a = np.array([[2 / 3, 1 / 3], [0, 1], [2 / 3, 1 / 3]])
        b = np.array([[0.6, 0.4], [0.2, 0.8], [0.6, 0.4]])
        prod = a * b
        np.testing.assert_allclose(m.soft_labels_.probs, prod / prod.sum(axis=1, keepdims=True), rtol=1e-12, atol=1e-300)

    def test_gold_reaches_members(self, tiny_answers):
        m = SoftAverage(members=["wawa"]).fit(tiny_answers, gold={3: "y"})
        np.testing.assert_allclose(m.members_[0].skills_, [2 / 3, 1.0, 1 / 3])


# ---------------------------------------------------------------------- gold, all models
@pytest.mark.parametrize("name", ALL)
def test_gold_items_are_pinned(name, binary_crowd):
    items = binary_crowd["item"].unique()[:5]
    free = create_method(name).fit(binary_crowd)
    flipped = {i: 1 - int(free.labels_[k]) for k, i in enumerate(free.soft_labels_.item_ids[:5])}
    m = create_method(name).fit(binary_crowd, gold=flipped)
    s = m.soft_labels_
    pos = {i: k for k, i in enumerate(s.item_ids.tolist())}
    for i in items:
        row = s.probs[pos[i]]
        assert row.tolist() == [1.0 - flipped[i], float(flipped[i])]
    np.testing.assert_allclose(s.probs.sum(axis=1), 1.0, atol=1e-12)


def test_a_gold_class_no_answer_has_must_be_declared(tiny_answers):
    """Gold may know a class nobody answered: the error says how to keep it, and
    declaring the classes does."""
    with pytest.raises(softlabels.InputError, match=r"gold label 'z' .*declare.*classes="):
        DawidSkene().fit(tiny_answers, gold={3: "z"})
    with pytest.raises(softlabels.InputError, match=r"declare.*classes="):
        softlabels.aggregate(tiny_answers, "majority-vote", gold={3: "z"})
    s = softlabels.aggregate(tiny_answers, "majority-vote", gold={3: "z"},
                             classes=["x", "y", "z"])
    assert s.classes.tolist() == ["x", "y", "z"] and s.probs[2].tolist() == [0.0, 0.0, 1.0]


#: the models that only pin gold items (CrowdModel.fit's docstring): the others also
#: estimate their workers with the gold labels fixed
PIN_ONLY = {"majority-vote", "soft-vote", "mmsr"}


@pytest.mark.parametrize("name", ALL)
def test_gold_calibrates_the_workers_of_the_models_that_estimate_them(name, binary_crowd):
    """Gold that contradicts the crowd on ten items changes the other items' soft labels
    exactly for the models whose fit documents that gold calibrates the workers."""
    free = create_method(name).fit(binary_crowd)
    ids = free.soft_labels_.item_ids.tolist()
    gold = {i: 1 - int(free.labels_[k]) for k, i in enumerate(ids[:10])}
    held = create_method(name).fit(binary_crowd, gold=gold)
    rest = [k for k, i in enumerate(ids) if i not in gold]
    moved = not np.allclose(free.soft_labels_.probs[rest], held.soft_labels_.probs[rest],
                            rtol=0, atol=1e-9)
    assert moved == (name not in PIN_ONLY)


@pytest.mark.parametrize("name", ALL)
def test_aggregate_matches_fit(name, tiny_answers):
    a = softlabels.aggregate(tiny_answers, name)
    b = create_method(name).fit(tiny_answers).soft_labels_
    assert a.equals(b)


def test_zero_based_skill_reports_each_iteration(multiclass_crowd):
    seen = []
    model = create_method("zero-based-skill", n_iter=12, tol=0.0).fit(
        multiclass_crowd, callback=lambda it, step: seen.append((it, step)))
    assert [it for it, _ in seen] == list(range(1, 13)) and model.n_iter_ == 12
    assert all(step >= 0 for _, step in seen)


def test_one_coin_prior_skill_pools_workers_that_never_meet_towards_it():
    # every item has one answer: nothing tells the workers apart, and at the fixed point
    # of mean = (sum n s + strength * prior_skill) / (N + strength), s_w = (n_w s_w +
    # strength * mean) / (n_w + strength) (alpha 0), every skill is prior_skill = 0.8
    df = frame(["a", "b", "c", "d", "e"], ["w1", "w1", "w1", "w2", "w2"], [0, 1, 1, 0, 1])
    m = OneCoinDawidSkene(alpha=0.0, prior_strength=5.0, prior_skill=0.8, uncertainty="plug-in",
                          n_iter=3000, tol=0.0).fit(df)
    np.testing.assert_allclose(m.skills_, 0.8, atol=1e-9)
    np.testing.assert_allclose(m.soft_labels_.probs.max(axis=1), 0.8, atol=1e-9)
    # without it the mean skill is that of the answers themselves, which stays where the
    # soft-vote start puts it (every answer right: 1.0)
    plain = OneCoinDawidSkene(alpha=0.0, prior_strength=5.0, uncertainty="plug-in", n_iter=50, tol=0.0).fit(df)
    np.testing.assert_allclose(plain.skills_, 1.0, atol=1e-9)
    with pytest.raises(InvalidParameterError, match="'prior_skill'"):
        OneCoinDawidSkene(prior_skill=1.5).fit(df)
    OneCoinDawidSkene(prior_skill=0.8).fit(df)  # the tempered posterior with it


@pytest.mark.parametrize("name", ["dawid-skene", "one-coin-dawid-skene", "ibcc"])
def test_temperature_subsample_ignores_the_row_order(name, monkeypatch):
    """Above the temperature's answer budget (lowered here) the answers it is fitted on
    are chosen by their content: shuffling the rows leaves the soft labels as they are.
    Each worker has two clones that copy its answers: evidence the models count three
    times, so the fitted temperature is well above 1."""
    import softlabels.infer.em as em

    base, _ = make_crowd(n_items=1500, n_workers=60, answers_per_item=3,
                         accuracy=(0.5, 0.85), random_state=3)
    answers = pd.concat([base, base.assign(worker=base["worker"] + 1000),
                         base.assign(worker=base["worker"] + 2000)], ignore_index=True)
    monkeypatch.setattr(em, "_TEMPERATURE_ANSWERS", len(answers) // 7 + 1)
    assert em.temperature_step(len(answers)) == 7
    fit = create_method(name).fit(answers)
    assert fit.temperature_ > 1.5
    for seed in (0, 1):
        shuffled = answers.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        again = create_method(name).fit(shuffled)
        assert again.temperature_ == pytest.approx(fit.temperature_, rel=1e-6)
        a = fit.soft_labels_.to_frame().set_index("item").sort_index()
        b = again.soft_labels_.to_frame().set_index("item").sort_index()
        cols = [str(c) for c in fit.soft_labels_.classes]
        np.testing.assert_allclose(b[cols].to_numpy(), a[cols].to_numpy(), atol=1e-6)


def test_temperature_sample_is_one_answer_in_k_by_content():
    """The subsample: about one answer in k, every answer at k = 1, and the same
    answers (by item, worker and label) in any row order."""
    from softlabels.core.annotations import Annotations
    import softlabels.infer.em as em

    answers, _ = make_crowd(n_items=2000, n_workers=50, random_state=4)
    ann = Annotations.from_frame(answers)
    np.testing.assert_array_equal(em.temperature_sample(ann, 1), np.arange(len(answers)))
    picked = em.temperature_sample(ann, 5)
    assert abs(picked.size - len(answers) / 5) < 4 * np.sqrt(len(answers) / 5)
    shuffled = answers.sample(frac=1.0, random_state=2).reset_index(drop=True)
    again = em.temperature_sample(Annotations.from_frame(shuffled), 5)
    key = ["item", "worker", "label"]
    one = answers.iloc[picked].sort_values(key).reset_index(drop=True)
    two = shuffled.iloc[again].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(one, two)
