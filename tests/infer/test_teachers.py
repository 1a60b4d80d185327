"""softlabels.infer.teachers: hand-computed cases against the method notes' formulas, naive
reference implementations, the shared contract of supervision sources, bad-input errors,
and two seeded checks of the claimed direction on scikit-learn digits."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import sparse
from scipy.optimize import linprog

from softlabels import InputError, InvalidParameterError, SoftLabels
from softlabels.core.errors import NotFittedError, ProbabilityWarning
from softlabels.infer.base import clone
from softlabels.infer.teachers import (
    InstanceAdaptiveThreshold,
    PrototypeBank,
    TeacherEnsemble,
    class_aware_correction,
    class_balanced_thresholds,
    committee_soft_labels,
    confidence_bands,
    ferkd_adapt,
    label_disharmonicity,
    meal_v2_soft_labels,
    prior_weights,
    prototype_soft_labels,
    robust_sampling_distribution,
    select,
    soft_teacher_weights,
    split_confident_critical,
    teacher_soft_labels,
    threshold_pseudo_labels,
    uncertainty_scores,
)


def softmax(z, axis=-1):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def random_logits(seed, n_teachers=3, n=20, c=4, scale=3.0):
    return np.random.default_rng(seed).normal(scale=scale, size=(n_teachers, n, c))


# ====================================================================== inputs
class TestInputs:
    def test_inputs_must_be_said(self):
        with pytest.raises(InvalidParameterError, match=r"'inputs' parameter .* got None.*never guessed"):
            teacher_soft_labels([[0.5, 0.5]], inputs=None)
        with pytest.raises(InvalidParameterError, match="Did you mean 'logits'"):
            teacher_soft_labels([[0.5, 0.5]], inputs="logit")
        with pytest.raises(TypeError):
            teacher_soft_labels([[0.5, 0.5]])  # no default: never guessed

    def test_mismatched_teacher_shapes_name_the_teacher(self):
        a, b = np.full((4, 3), 1 / 3), np.full((4, 2), 0.5)
        msg = r"outputs\[1\] has shape \(4, 2\) but outputs\[0\] has shape \(4, 3\)"
        with pytest.raises(InputError, match=msg):
            teacher_soft_labels([a, b], inputs="probs")
        with pytest.raises(InputError, match=r"outputs\[2\] has shape \(3, 3\)"):
            teacher_soft_labels([a, a, a[:3]], inputs="probs")

    def test_probabilities_that_do_not_sum_to_one(self):
        good = np.full((3, 2), 0.5)
        bad = good.copy()
        bad[2] = [0.7, 0.7]
        with pytest.raises(InputError, match=r"outputs\[1\]: 1 rows do not sum to 1 \(row 2 sums to 1\.4"):
            teacher_soft_labels([good, bad], inputs="probs")
        logits = [[2.0, -1.0]]
        with pytest.raises(InputError, match=r"outside \[0, 1\] .*pass inputs='logits'"):
            meal_v2_soft_labels(logits, inputs="probs")
        with pytest.raises(InputError, match=r"do not sum to 1 .*pass inputs='logits'"):
            meal_v2_soft_labels([[0.2, 0.1]], inputs="probs")

    def test_rows_off_by_rounding_are_renormalised_with_a_warning(self):
        with pytest.warns(ProbabilityWarning):
            s = teacher_soft_labels([[0.50004, 0.5]], inputs="probs")
        np.testing.assert_allclose(s.probs.sum(axis=1), 1.0)

    def test_non_finite_logits(self):
        msg = r"outputs\[1\] contains non-finite values \(first at row 0, column 1\)"
        with pytest.raises(InputError, match=msg):
            teacher_soft_labels([[[0.0, 1.0]], [[0.0, np.nan]]], inputs="logits")

    def test_shapes(self):
        with pytest.raises(InputError, match="must be a 2-D array"):
            teacher_soft_labels([0.5, 0.5], inputs="probs")
        with pytest.raises(InputError, match=r"outputs\[1\] must be a non-empty 2-D array"):
            teacher_soft_labels([np.zeros((2, 2)), np.zeros(2)], inputs="logits")
        with pytest.raises(InputError, match="empty sequence"):
            teacher_soft_labels([], inputs="probs")
        with pytest.raises(InputError, match="at least 2 class columns"):
            teacher_soft_labels([[1.0], [2.0]], inputs="logits")

    def test_nested_lists_two_levels_one_teacher_three_levels_several(self):
        one = teacher_soft_labels([[0.9, 0.1], [0.2, 0.8]], inputs="probs")
        assert one.probs.tolist() == [[0.9, 0.1], [0.2, 0.8]]
        two = teacher_soft_labels([[[0.9, 0.1]], [[0.5, 0.5]]], inputs="probs")
        np.testing.assert_allclose(two.probs, [[0.7, 0.3]])

    def test_soft_labels_teachers_keep_classes_and_ids(self):
        a = SoftLabels([[0.9, 0.1], [0.4, 0.6]], ["cat", "dog"], item_ids=["x", "y"])
        b = SoftLabels([[0.5, 0.5], [0.0, 1.0]], ["cat", "dog"], item_ids=["x", "y"])
        s = meal_v2_soft_labels([a, b], inputs="probs")
        assert s.classes.tolist() == ["cat", "dog"] and s.item_ids.tolist() == ["x", "y"]
        np.testing.assert_allclose(s.probs, [[0.7, 0.3], [0.2, 0.8]])
        with pytest.raises(InputError, match="SoftLabels, which holds probabilities; pass inputs='probs'"):
            teacher_soft_labels(a, inputs="logits")
        c = SoftLabels([[0.5, 0.5], [0.0, 1.0]], ["cat", "cow"], item_ids=["x", "y"])
        with pytest.raises(InputError, match=r"outputs\[1\] has other classes"):
            meal_v2_soft_labels([a, c], inputs="probs")

    def test_inputs_are_not_mutated(self):
        z = random_logits(0)
        before = z.copy()
        teacher_soft_labels(z, inputs="logits", pool="logits", temperature=2.0)
        committee_soft_labels(z, [1.0, 2.0, 3.0], inputs="logits")
        np.testing.assert_array_equal(z, before)


# ====================================================================== combining teachers
class TestTeacherSoftLabels:
    def test_temperature_on_logits(self):
        z = np.array([[2.0, 0.0, -1.0]])
        for t in (0.5, 1.0, 4.0):
            s = teacher_soft_labels(z, inputs="logits", temperature=t)
            e = np.exp(z / t)
            np.testing.assert_allclose(s.probs, e / e.sum(), rtol=1e-12)

    def test_temperature_on_probabilities_is_a_renormalised_power(self):
        p = np.array([[0.6, 0.3, 0.1, 0.0]])
        s = teacher_soft_labels(p, inputs="probs", temperature=2.0)
        root = np.sqrt(p)
        np.testing.assert_allclose(s.probs, root / root.sum(), rtol=1e-12)
        assert s.probs[0, 3] == 0.0  # a zero stays zero
        same = teacher_soft_labels(p, inputs="probs", temperature=1.0)
        np.testing.assert_allclose(same.probs, p, atol=1e-15)
        # logits and their probabilities give the same tempered labels
        z = random_logits(1)[0]
        np.testing.assert_allclose(
            teacher_soft_labels(softmax(z), inputs="probs", temperature=3.0).probs,
            teacher_soft_labels(z, inputs="logits", temperature=3.0).probs, atol=1e-12,
        )

    def test_probability_pool_hand_computed(self):
        p1, p2 = [[0.9, 0.1]], [[0.5, 0.5]]
        s = teacher_soft_labels([p1, p2], inputs="probs", weights=[3.0, 1.0])
        np.testing.assert_allclose(s.probs, [[0.8, 0.2]])

    def test_logit_pool_is_the_renormalised_geometric_mean(self):
        p1, p2 = [[0.9, 0.1]], [[0.5, 0.5]]
        s = teacher_soft_labels([p1, p2], inputs="probs", pool="logits")
        np.testing.assert_allclose(s.probs, [[0.75, 0.25]])  # sqrt(.45) : sqrt(.05) = 3 : 1

    def test_logit_pool_reference_and_shift_invariance(self):
        z = random_logits(2)
        w = np.array([0.2, 0.3, 0.5])
        ref = softmax(np.einsum("m,mnc->nc", w, z) / 1.5)
        got = teacher_soft_labels(z, inputs="logits", pool="logits", weights=w, temperature=1.5)
        np.testing.assert_allclose(got.probs, ref, atol=1e-12)
        shifted = z + np.random.default_rng(0).normal(size=(3, 20, 1))  # per-row constants
        again = teacher_soft_labels(shifted, inputs="logits", pool="logits", weights=w, temperature=1.5)
        np.testing.assert_allclose(again.probs, ref, atol=1e-12)
        # log-probabilities are logits too
        via_probs = teacher_soft_labels(softmax(z), inputs="probs", pool="logits", weights=w, temperature=1.5)
        np.testing.assert_allclose(via_probs.probs, ref, atol=1e-10)

    def test_probability_pool_reference(self):
        z = random_logits(3)
        w = np.array([1.0, 2.0, 1.0]) / 4
        ref = np.einsum("m,mnc->nc", w, softmax(z / 2.0))
        got = teacher_soft_labels(z, inputs="logits", weights=[1, 2, 1], temperature=2.0)
        np.testing.assert_allclose(got.probs, ref, atol=1e-12)

    def test_logit_pool_without_common_support(self):
        p1, p2 = [[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]]
        with pytest.raises(InputError, match=r"1 rows get probability 0 .*row 0.*pool='probs'"):
            teacher_soft_labels([p1, p2], inputs="probs", pool="logits")
        # a teacher with weight 0 takes no part
        s = teacher_soft_labels([p1, p2], inputs="probs", pool="logits", weights=[1.0, 0.0])
        np.testing.assert_allclose(s.probs, p1)

    def test_weights_errors(self):
        z = random_logits(4)
        with pytest.raises(InputError, match=r"one entry per teacher, shape \(3,\); got \(2,\)"):
            teacher_soft_labels(z, inputs="logits", weights=[1, 1])
        with pytest.raises(InputError, match=r"weights\[1\] = -1.0"):
            teacher_soft_labels(z, inputs="logits", weights=[1, -1, 1])
        with pytest.raises(InputError, match="weights sum to 0"):
            teacher_soft_labels(z, inputs="logits", weights=[0, 0, 0])
        with pytest.raises(InvalidParameterError, match="'temperature' parameter .* > 0"):
            teacher_soft_labels(z, inputs="logits", temperature=0.0)
        with pytest.raises(InvalidParameterError, match="'pool' parameter"):
            teacher_soft_labels(z, inputs="logits", pool="median")
        with pytest.raises(InputError, match="weights must be numbers; got"):
            teacher_soft_labels(z, inputs="logits", weights=["a", 1, 1])

    def test_provenance(self):
        s = teacher_soft_labels(random_logits(5), inputs="logits", pool="logits", weights=[1, 2, 3])
        assert s.provenance["method"] == "teacher-soft-labels"
        assert s.provenance["params"] == {
            "inputs": "logits", "temperature": 1.0, "pool": "logits", "weights": [1, 2, 3],
        }
        json.dumps(s.provenance)
        assert committee_soft_labels(random_logits(5), inputs="logits").provenance["method"] == "cv-dd-committee"
        assert meal_v2_soft_labels(random_logits(5), inputs="logits").provenance["method"] == "meal-v2"


class TestCommittee:
    def test_prior_weights_hand_computed(self):
        e = np.exp([6.4, 6.06, 5.16])
        np.testing.assert_allclose(prior_weights([64.0, 60.6, 51.6]), e / e.sum())
        np.testing.assert_allclose(prior_weights([1.0, 5.0], temperature=1e9), [0.5, 0.5])
        np.testing.assert_allclose(prior_weights([1.0, 2.0], temperature=1.0), softmax([1.0, 2.0]))
        with pytest.raises(InvalidParameterError, match="'temperature' parameter of prior_weights"):
            prior_weights([1.0, 2.0], temperature=-1)
        with pytest.raises(InputError, match=r"scores\[1\] is not"):
            prior_weights([1.0, np.inf])
        with pytest.raises(InputError, match="non-empty 1-D"):
            prior_weights([])
        with pytest.raises(InputError, match="scores must be numbers; got"):
            prior_weights(["90%", 60.0])

    def test_committee_is_the_prior_weighted_sum_of_logits(self):
        z = random_logits(6)
        scores = np.array([64.0, 60.6, 51.6])
        w = np.exp(scores / 10) / np.exp(scores / 10).sum()
        ref = softmax(np.einsum("m,mnc->nc", w, z) / 20.0)
        got = committee_soft_labels(z, scores, inputs="logits", temperature=20.0)
        np.testing.assert_allclose(got.probs, ref, atol=1e-12)

    def test_committee_hand_computed(self):
        w = np.exp([9.0, 5.0]) / np.exp([9.0, 5.0]).sum()
        zbar = w[0] * np.array([4.0, 0.0]) + w[1] * np.array([0.0, 1.0])
        got = committee_soft_labels([[[4.0, 0.0]], [[0.0, 1.0]]], [90.0, 50.0], inputs="logits")
        np.testing.assert_allclose(got.probs, [softmax(zbar)], atol=1e-12)

    def test_committee_without_scores_is_the_uniform_logit_mean(self):
        z = random_logits(7)
        np.testing.assert_allclose(
            committee_soft_labels(z, inputs="logits").probs,
            teacher_soft_labels(z, inputs="logits", pool="logits").probs,
        )
        with pytest.raises(InputError, match="scores has 2 entries but there are 3 teachers"):
            committee_soft_labels(z, [1.0, 2.0], inputs="logits")

    def test_meal_v2_is_the_mean_of_probabilities_at_t1(self):
        z = random_logits(8)
        np.testing.assert_allclose(
            meal_v2_soft_labels(z, inputs="logits").probs, softmax(z).mean(axis=0), atol=1e-12
        )


class TestTeacherEnsemble:
    def test_estimator_contract(self):
        z = random_logits(9)
        ens = TeacherEnsemble(inputs="logits", pool="logits", scores=[1.0, 2.0, 3.0])
        assert ens.fit(z) is ens
        assert ens.get_params()["scores"] == [1.0, 2.0, 3.0]
        assert repr(clone(ens)) == repr(ens)
        np.testing.assert_allclose(ens.weights_, prior_weights([1.0, 2.0, 3.0]))
        np.testing.assert_allclose(
            ens.soft_labels_.probs,
            committee_soft_labels(z, [1.0, 2.0, 3.0], inputs="logits").probs,
        )
        np.testing.assert_allclose(ens.predict_proba(z[:, :5]), ens.soft_labels_.probs[:5])
        prov = ens.soft_labels_.provenance
        assert prov["method"] == "teacher-ensemble"
        assert prov["params"] == json.loads(json.dumps(ens.get_params()))

    def test_errors(self):
        z = random_logits(10)
        with pytest.raises(NotFittedError):
            TeacherEnsemble(inputs="logits").predict_proba(z)
        with pytest.raises(InvalidParameterError, match="weights or scores, not both"):
            TeacherEnsemble(inputs="logits", weights=[1, 1, 1], scores=[1, 1, 1]).fit(z)
        ens = TeacherEnsemble(inputs="logits").fit(z)
        with pytest.raises(InputError, match="fitted on 3 teachers and 4 classes; got 2 teachers"):
            ens.predict_proba(z[:2])
        with pytest.raises(InputError, match="pass inputs='logits'"):  # the default is the strict one
            TeacherEnsemble().fit(z)


# ====================================================================== adapting teachers
class TestFerKD:
    def test_hand_computed(self):
        p = [[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.05, 0.05, 0.9]]
        res = ferkd_adapt(p, [0, 0, 2], inputs="probs", low=0.5, smoothing=0.3)
        np.testing.assert_allclose(res.confidence, [0.7, 0.2, 0.9])
        assert res.adapted.tolist() == [False, True, False]
        np.testing.assert_allclose(res.soft_labels.probs, [p[0], [0.8, 0.1, 0.1], p[2]])
        assert res.keep.all()
        assert res.soft_labels.provenance["method"] == "ferkd"

    def test_high_drops_the_easiest(self):
        p = [[0.7, 0.3], [0.2, 0.8], [0.99, 0.01]]
        res = ferkd_adapt(p, [0, 0, 0], inputs="probs", low=0.5, smoothing=0.0, high=0.95)
        assert res.keep.tolist() == [True, True, False]
        assert res.kept().item_ids.tolist() == [0, 1]
        np.testing.assert_allclose(res.kept().probs, [[0.7, 0.3], [1.0, 0.0]])

    def test_logits_and_errors(self):
        z = [[2.0, 0.0], [0.0, 2.0]]
        res = ferkd_adapt(z, [0, 0], inputs="logits", low=0.5, smoothing=0.2)
        np.testing.assert_allclose(res.soft_labels.probs, [softmax([2.0, 0.0]), [0.9, 0.1]])
        with pytest.raises(InputError, match=r"labels: 1 values outside 0..1 \(first at row 1: 2\)"):
            ferkd_adapt(z, [0, 2], inputs="logits", low=0.5, smoothing=0.2)
        with pytest.raises(InvalidParameterError, match="'high' parameter of ferkd_adapt must be >= 0.5"):
            ferkd_adapt(z, [0, 1], inputs="logits", low=0.5, smoothing=0.2, high=0.3)
        with pytest.raises(InvalidParameterError, match="'smoothing'"):
            ferkd_adapt(z, [0, 1], inputs="logits", low=0.5, smoothing=1.5)
        with pytest.raises(InputError, match="takes one teacher's outputs"):
            ferkd_adapt(random_logits(0, n=2, c=2), [0, 1], inputs="logits", low=0.5, smoothing=0.1)


class TestSoftTeacher:
    P = [[0.1, 0.9], [0.6, 0.4], [0.2, 0.8], [0.7, 0.3]]  # columns: object, background

    def test_three_normalisations_hand_computed(self):
        a = [0, 1, 1, 0]
        raw = soft_teacher_weights(self.P, a, inputs="probs", background=1, normalize="none")
        np.testing.assert_allclose(raw, [1.0, 0.4, 0.8, 1.0])
        joint = soft_teacher_weights(self.P, a, inputs="probs", background=1)
        np.testing.assert_allclose(joint, np.array([1.0, 0.4, 0.8, 1.0]) / 3.2)
        paper = soft_teacher_weights(self.P, a, inputs="probs", background=-1, normalize="paper")
        np.testing.assert_allclose(paper, [0.5, 0.4 / 1.2, 0.8 / 1.2, 0.5])

    def test_edge_cases(self):
        # no foreground and tiny r: the joint normaliser is at least 1
        w = soft_teacher_weights([[0.9, 0.1]], [1], inputs="probs", background=1)
        np.testing.assert_allclose(w, [0.1])
        w = soft_teacher_weights([[0.9, 0.1]], [0], inputs="probs", background=1, normalize="paper")
        np.testing.assert_allclose(w, [1.0])
        with pytest.raises(InvalidParameterError, match=r"'background' .* column index in \[-2, 2\); got 2"):
            soft_teacher_weights(self.P, [0, 1, 1, 0], inputs="probs", background=2)
        with pytest.raises(InputError, match="assigned has 3 rows but there are 4 items"):
            soft_teacher_weights(self.P, [0, 1, 1], inputs="probs", background=1)


# ====================================================================== prototypes
class TestPrototypes:
    def test_prototype_soft_labels_hand_computed(self):
        P = [[1.0, 0.0], [0.0, 1.0], [np.nan, np.nan]]
        s = prototype_soft_labels([[2.0, 0.0], [1.0, 1.0], [0.0, 0.0]], P, scale=1.0)
        e = np.exp(1.0)
        np.testing.assert_allclose(
            s.probs, [[e / (e + 1), 1 / (e + 1), 0.0], [0.5, 0.5, 0.0], [0.5, 0.5, 0.0]]
        )
        # reference: softmax of scale * cosine
        rng = np.random.default_rng(0)
        f, proto = rng.normal(size=(6, 5)), rng.normal(size=(4, 5))
        unit = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
        cos = unit(f) @ unit(proto).T
        np.testing.assert_allclose(
            prototype_soft_labels(f, proto).probs, softmax(10.0 * cos), atol=1e-12
        )

    def test_prototype_errors(self):
        with pytest.raises(InputError, match="prototypes have 3 features but the items have 2"):
            prototype_soft_labels([[1.0, 0.0]], np.eye(3))
        with pytest.raises(InputError, match="prototypes row 1 is partly non-finite"):
            prototype_soft_labels([[1.0, 0.0]], [[1.0, 0.0], [np.nan, 1.0]])
        with pytest.raises(InputError, match="every prototype is NaN"):
            prototype_soft_labels([[1.0, 0.0]], np.full((2, 2), np.nan))
        with pytest.raises(InputError, match="features contains non-finite"):
            prototype_soft_labels([[np.nan, 0.0]], np.eye(2))

    def test_bank_initialisation_and_moving_average(self):
        f = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 1.0]])
        bank = PrototypeBank(momentum=0.25).fit(f, labels=[0, 0, 1])
        np.testing.assert_allclose(bank.prototypes_, [[2.0, 0.0], [0.0, 1.0]])
        assert bank.queue_counts_.tolist() == [2, 1]
        bank.partial_fit([[0.0, 4.0], [5.0, 5.0]], [1, -1])  # -1 is not queued
        # class 1 queue = {(0,1), (0,4)} -> mean (0, 2.5); P1 = .25*(0,1) + .75*(0,2.5)
        np.testing.assert_allclose(bank.prototypes_[1], [0.0, 0.25 + 1.875])
        np.testing.assert_allclose(bank.prototypes_[0], [2.0, 0.0])  # queue unchanged: mean same
        assert bank.queue_counts_.tolist() == [2, 2]

    def test_bank_fifo_queue(self):
        bank = PrototypeBank(queue_len=2, momentum=0.0, n_classes=2).fit([[1.0], [2.0], [3.0]], labels=[0, 0, 0])
        np.testing.assert_allclose(bank.prototypes_[0], [2.5])  # only the last two stay
        assert np.isnan(bank.prototypes_[1]).all()
        bank.partial_fit([[7.0], [10.0]], [0, 1])  # 2 is pushed out: queue {3, 7}
        np.testing.assert_allclose(bank.prototypes_, [[5.0], [10.0]])  # class 1 new: its mean
        np.testing.assert_allclose(bank.predict_proba([[1.0]]), [[0.5, 0.5]])  # same direction

    def test_bank_soft_labels_and_contract(self):
        rng = np.random.default_rng(1)
        f, y = rng.normal(size=(30, 4)), rng.integers(0, 3, size=30)
        bank = PrototypeBank()
        assert bank.fit(f, labels=y) is bank
        np.testing.assert_allclose(
            bank.soft_labels_.probs, prototype_soft_labels(f, bank.prototypes_).probs
        )
        np.testing.assert_allclose(bank.predict_proba(f[:3]), bank.soft_labels_.probs[:3])
        assert bank.soft_labels_.provenance["method"] == "prototype-bank"
        assert repr(clone(bank)) == repr(bank)

    def test_bank_errors(self):
        with pytest.raises(NotFittedError):
            PrototypeBank().predict_proba([[1.0]])
        with pytest.raises(InputError, match="fewer than 2 classes; set n_classes"):
            PrototypeBank().fit([[1.0], [2.0]], labels=[0, 0])
        with pytest.raises(InputError, match=r"labels: 1 values >= n_classes=2 \(first at row 1: 5\)"):
            PrototypeBank(n_classes=2).fit([[1.0], [2.0]], labels=[0, 5])
        with pytest.raises(InputError, match=r"labels must have shape \(2,\)"):
            PrototypeBank().fit([[1.0], [2.0]], labels=[0, 1, 1])
        with pytest.raises(InvalidParameterError, match="'queue_len' parameter of PrototypeBank must be >= 1"):
            PrototypeBank(queue_len=0).fit([[1.0], [2.0]], labels=[0, 1])
        bank = PrototypeBank().fit([[1.0], [2.0]], labels=[0, 1])
        with pytest.raises(InputError, match="features have 2 columns; the bank holds 1"):
            bank.partial_fit([[1.0, 2.0]], [0])
        with pytest.raises(InputError, match=r"1 values >= n_classes=2 \(first at row 0: 2\)"):
            bank.partial_fit([[1.0], [2.0]], [2, -1])  # a background class is not skipped

    def test_confidence_bands(self):
        p = [[0.95, 0.05], [0.7, 0.3], [0.5, 0.5], [0.1, 0.9], [0.2, 0.8]]
        bands = confidence_bands(p, inputs="probs", high=0.85, low=0.5)
        assert bands.hard.tolist() == [0, 3] and bands.soft.tolist() == [1, 4]
        assert bands.dropped.tolist() == [2]
        with pytest.raises(InvalidParameterError, match="high .* must be >= low"):
            confidence_bands(p, inputs="probs", high=0.4, low=0.5)


# ====================================================================== thresholds
def ias_reference(p, groups, order, alpha, beta, gamma, init=0.9, cap=0.999):
    """Naive IAS: one instance at a time, numpy quantile per class (old theta included)."""
    c = p.shape[1]
    theta = np.full(c, init)
    labels = np.full(p.shape[0], -1)
    for g in order:
        rows = np.flatnonzero(groups == g)
        conf, pred = p[rows].max(1), p[rows].argmax(1)
        new = theta.copy()
        for k in range(c):
            vals = np.append(conf[pred == k], theta[k])
            q = np.quantile(vals, 1 - alpha * theta[k] ** gamma)
            new[k] = beta * theta[k] + (1 - beta) * q
        new[new >= 1] = cap
        theta = new
        labels[rows] = np.where(conf >= theta[pred], pred, -1)
    return theta, labels


class TestInstanceAdaptiveThreshold:
    def test_gamma0_beta0_single_instance_is_the_per_class_quantile(self):
        rng = np.random.default_rng(2)
        p = softmax(rng.normal(scale=2, size=(50, 3)))
        ias = InstanceAdaptiveThreshold(alpha=0.3, beta=0.0, gamma=0.0).fit(p)
        conf, pred = p.max(1), p.argmax(1)
        for k in range(3):
            expected = np.quantile(np.append(conf[pred == k], 0.9), 0.7)
            assert ias.thresholds_[k] == pytest.approx(expected)

    def test_matches_the_naive_reference_over_instances(self):
        rng = np.random.default_rng(3)
        p = softmax(rng.normal(scale=3, size=(200, 4)))
        groups = rng.integers(0, 12, size=200)
        ias = InstanceAdaptiveThreshold(shuffle=False).fit(p, groups=groups)
        theta, labels = ias_reference(p, groups, range(12), 0.5, 0.9, 8.0)
        np.testing.assert_allclose(ias.thresholds_, theta, atol=1e-12)
        np.testing.assert_array_equal(ias.labels_, labels)
        shuffled = InstanceAdaptiveThreshold(random_state=5).fit(p, groups=groups)
        theta, labels = ias_reference(p, groups, shuffled.instance_order_, 0.5, 0.9, 8.0)
        np.testing.assert_allclose(shuffled.thresholds_, theta, atol=1e-12)
        np.testing.assert_array_equal(shuffled.labels_, labels)

    def test_partial_fit_is_fit_without_shuffling(self):
        rng = np.random.default_rng(4)
        p = softmax(rng.normal(scale=3, size=(60, 3)))
        groups = np.repeat(np.arange(3), 20)
        whole = InstanceAdaptiveThreshold(shuffle=False).fit(p, groups=groups)
        step = InstanceAdaptiveThreshold()
        for g in range(3):
            step.partial_fit(p[groups == g])
        np.testing.assert_allclose(step.thresholds_, whole.thresholds_)
        np.testing.assert_array_equal(step.labels_, whole.labels_[groups == 2])
        np.testing.assert_array_equal(
            step.predict(p), threshold_pseudo_labels(p, step.thresholds_, inputs="probs")
        )

    def test_cap_and_soft_labels(self):
        p = np.array([[1.0, 0.0], [1.0, 0.0], [0.4, 0.6]])
        ias = InstanceAdaptiveThreshold(beta=0.0, alpha=0.1).fit(p)
        assert ias.thresholds_[0] == 0.999  # the quantile is 1.0: capped
        assert ias.labels_.tolist() == [0, 0, -1]
        np.testing.assert_allclose(ias.soft_labels_.probs, [[1, 0], [1, 0], [0.4, 0.6]])
        assert ias.selected_.tolist() == [True, True, False]
        assert ias.soft_labels_.provenance["method"] == "instance-adaptive-threshold"

    def test_errors(self):
        with pytest.raises(InputError, match=r"groups must have shape \(2,\)"):
            InstanceAdaptiveThreshold().fit([[0.5, 0.5], [0.1, 0.9]], groups=[0, 1, 2])
        with pytest.raises(InvalidParameterError, match="'alpha' parameter"):
            InstanceAdaptiveThreshold(alpha=2.0).fit([[0.5, 0.5]])
        with pytest.raises(NotFittedError):
            InstanceAdaptiveThreshold().predict([[0.5, 0.5]])
        ias = InstanceAdaptiveThreshold().fit([[0.5, 0.5]])
        with pytest.raises(InputError, match="outputs have 3 classes; the thresholds were fitted for 2"):
            ias.partial_fit([[0.2, 0.3, 0.5]])
        # a class index as ignore_index would make that class's pseudo-labels "ignored"
        for call in (lambda m: m.fit([[0.9, 0.1]]), lambda m: m.partial_fit([[0.9, 0.1]])):
            with pytest.raises(InputError, match="ignore_index=0 is a class index"):
                call(InstanceAdaptiveThreshold(ignore_index=0))
        with pytest.raises(InputError, match="ignore_index=1 is a class index"):
            ias.set_params(ignore_index=1).predict([[0.5, 0.5]])


class TestOtherThresholds:
    def test_class_balanced_thresholds(self):
        p = [[0.9, 0.1, 0.0], [0.7, 0.3, 0.0], [0.6, 0.4, 0.0], [0.4, 0.6, 0.0]]
        th = class_balanced_thresholds(p, inputs="probs", portion=0.5)
        np.testing.assert_allclose(th, [0.7, 0.6, 1.0])  # class 2: predicted by nobody
        rng = np.random.default_rng(5)
        q = softmax(rng.normal(scale=2, size=(80, 3)))
        th = class_balanced_thresholds(q, inputs="probs", portion=0.2)
        for k in range(3):
            assert th[k] == pytest.approx(np.quantile(q.max(1)[q.argmax(1) == k], 0.8))

    def test_threshold_pseudo_labels(self):
        p = [[0.9, 0.1], [0.3, 0.7], [0.2, 0.8]]
        got = threshold_pseudo_labels(p, [0.8, 0.75], inputs="probs", ignore_index=255)
        assert got.tolist() == [0, 255, 1]
        with pytest.raises(InputError, match=r"one entry per class, shape \(2,\); got \(3,\)"):
            threshold_pseudo_labels([[0.9, 0.1]], [0.5, 0.5, 0.5], inputs="probs")
        with pytest.raises(InputError, match="ignore_index=1 is a class index"):
            threshold_pseudo_labels(p, [0.8, 0.75], inputs="probs", ignore_index=1)

    def test_class_aware_correction_hand_computed(self):
        z = np.array([[3.0, 0.0], [-3.0, 3.0], [1.5, -1.0]])
        y = np.array([[0, 0], [0, 1], [0, 0]])
        q = 1 / (1 + np.exp(-(z - y)))
        # q[:,0] = .953 .047 .818, mean .606 -> rows 0 and 2 recalled (> .7 and > mean)
        assert q[2, 0] > 0.7 and q[2, 0] > q[:, 0].mean()
        got = class_aware_correction(z, y, inputs="logits")
        assert got.tolist() == [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
        # per-class probabilities give the same answer
        np.testing.assert_array_equal(class_aware_correction(1 / (1 + np.exp(-z)), y, inputs="probs"), got)
        # tau = 1 recalls nothing; observed positives always stay
        np.testing.assert_array_equal(class_aware_correction(z, y, inputs="logits", tau=1.0), y)
        # the margin lowers the class mean through the observed positives
        z2 = np.array([[2.0], [2.0], [0.6]])
        y2 = np.array([[1], [1], [0]])
        assert class_aware_correction(z2, y2, inputs="logits", tau=0.6, margin=0.0)[2, 0] == 0.0
        assert class_aware_correction(z2, y2, inputs="logits", tau=0.6, margin=2.0)[2, 0] == 1.0

    def test_class_aware_correction_errors(self):
        with pytest.raises(InputError, match="observed has shape"):
            class_aware_correction([[0.0, 1.0]], [[0, 1, 0]], inputs="logits")
        with pytest.raises(InputError, match=r"observed must be 0/1; row 0, column 1 is 2.0"):
            class_aware_correction([[0.0, 1.0]], [[0, 2]], inputs="logits")
        with pytest.raises(InputError, match=r"probabilities in \[0, 1\]; row 0, column 0"):
            class_aware_correction([[1.5, 0.2]], [[0, 1]], inputs="probs")


# ====================================================================== selection
def rad_lp_value(g, k):
    """max_p sum p_i g_i - topk(p_i g_i) on the simplex, as an LP (top-k by its dual)."""
    n = g.size
    # variables: p (n), u (n), t (1); maximise g.p - k t - sum u
    c = np.concatenate([-g, np.ones(n), [k]])
    a_ub = np.hstack([np.diag(g), -np.eye(n), -np.ones((n, 1))])  # g_i p_i - u_i - t <= 0
    a_eq = np.concatenate([np.ones(n), np.zeros(n), [0.0]])[None, :]
    bounds = [(0, None)] * (2 * n) + [(None, None)]
    res = linprog(c, A_ub=a_ub, b_ub=np.zeros(n), A_eq=a_eq, b_eq=[1.0], bounds=bounds)
    assert res.status == 0
    return -res.fun


class TestScoresAndRobustDistribution:
    def test_uncertainty_scores_hand_computed(self):
        p = np.array([[0.5, 0.3, 0.2], [1.0, 0.0, 0.0]])
        h = -(0.5 * np.log(0.5) + 0.3 * np.log(0.3) + 0.2 * np.log(0.2)) / np.log(3)
        np.testing.assert_allclose(uncertainty_scores(p, measure="entropy"), [h, 0.0])
        np.testing.assert_allclose(uncertainty_scores(p, measure="margin"), [0.8, 0.0])
        np.testing.assert_allclose(uncertainty_scores(p, measure="least-confidence"), [0.75, 0.0])
        for measure in ("entropy", "margin", "least-confidence"):
            np.testing.assert_allclose(
                uncertainty_scores(np.full((1, 4), 0.25), measure=measure), [1.0]
            )
        z = random_logits(0)[0]
        np.testing.assert_allclose(
            uncertainty_scores(z, inputs="logits"), uncertainty_scores(softmax(z))
        )

    def test_robust_distribution_hand_computed(self):
        r = robust_sampling_distribution([1.0, 0.8, 0.5, 0.1], n_wrong=1)
        # 1/g cumsum 1, 2.25, 4.25, 14.25; V = 0, 1/2.25, 2/4.25, 3/14.25 -> m = 3
        assert r.support_size == 3
        assert r.value == pytest.approx(2 / 4.25)
        np.testing.assert_allclose(r.p, np.array([1.0, 1.25, 2.0, 0.0]) / 4.25)
        # equal p_i g_i on the support
        np.testing.assert_allclose((r.p * [1.0, 0.8, 0.5, 0.1])[:3], 1 / 4.25)

    @pytest.mark.parametrize("seed", range(6))
    def test_closed_form_matches_the_linear_program(self, seed):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(3, 25))
        g = rng.uniform(0.01, 1.0, size=n)
        k = int(rng.integers(0, n))
        r = robust_sampling_distribution(g, k)
        assert r.value == pytest.approx(rad_lp_value(g, k), abs=1e-7)
        x = r.p * g
        assert r.value == pytest.approx(x.sum() - np.sort(x)[::-1][:k].sum(), abs=1e-12)
        np.testing.assert_allclose(r.p.sum(), 1.0)

    def test_no_wrong_labels_means_the_top_items(self):
        g = np.array([0.2, 0.9, 0.5, 0.7])
        r = robust_sampling_distribution(g, 0)
        assert r.support_size == 1 and r.p.tolist() == [0.0, 1.0, 0.0, 0.0]
        r = robust_sampling_distribution(g, 0, min_support=3)
        assert np.flatnonzero(r.p).tolist() == [1, 2, 3]

    def test_edge_cases_and_errors(self):
        with pytest.warns(UserWarning, match="no gain can be guaranteed"):
            r = robust_sampling_distribution([0.5, 0.5], 2)
        assert r.p.tolist() == [0.5, 0.5] and r.value == 0.0
        r = robust_sampling_distribution([0.0, 1.0, 1.0], 1)  # zero gains are clipped, finite
        assert np.isfinite(r.p).all() and r.p[0] == 0.0
        with pytest.raises(InvalidParameterError, match="'n_wrong' parameter .* >= 0"):
            robust_sampling_distribution([0.5], -1)
        with pytest.raises(InvalidParameterError, match="'min_support' .* <= the number of items \\(2\\)"):
            robust_sampling_distribution([0.5, 0.5], 0, min_support=3)
        with pytest.raises(InputError, match=r"gains\[1\] is not"):
            robust_sampling_distribution([0.5, np.nan], 0)
        with pytest.raises(InputError, match="gains must be numbers; got"):
            robust_sampling_distribution(["high", 0.5], 0)


class TestLocle:
    A = np.zeros((5, 5))
    A[0, [1, 2]] = A[[1, 2], 0] = 1.0  # node 0 links 1 and 2; nodes 3 and 4 are isolated
    Y = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.9, 0.1]])

    def test_disharmonicity_hand_computed(self):
        lh = label_disharmonicity(self.Y, self.A)
        np.testing.assert_allclose(lh, [1.0, 0.0, 2.0, 0.0, 0.0])  # isolated nodes: 0
        np.testing.assert_allclose(label_disharmonicity(self.Y, sparse.csr_matrix(self.A)), lh)
        w = self.A.copy()
        w[0, 1] = 3.0  # weighted mean of neighbours: (3*(1,0) + (0,1)) / 4
        assert label_disharmonicity(self.Y, w)[0] == pytest.approx(0.5)

    def test_disharmonicity_reference(self):
        rng = np.random.default_rng(6)
        a = (rng.uniform(size=(30, 30)) < 0.2).astype(float)
        y = softmax(rng.normal(size=(30, 4)))
        deg = a.sum(1)
        ref = np.array([
            np.abs(y[i] - a[i] @ y / deg[i]).sum() if deg[i] else 0.0 for i in range(30)
        ])
        np.testing.assert_allclose(label_disharmonicity(y, a), ref)

    def test_split_with_top_up(self):
        lh = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
        h = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
        from softlabels.infer.teachers.select import _agree_then_alternate
        # top-2 lists {0,1} and {5,4} do not meet: alternate 0, 5
        assert _agree_then_alternate(np.argsort(-lh), np.argsort(-h), 2).tolist() == [0, 5]
        # top-4 lists meet in {2,3}; then alternate from the rest: 0, 5
        assert _agree_then_alternate(np.argsort(-lh), np.argsort(-h), 4).tolist() == [2, 3, 0, 5]
        assert _agree_then_alternate(np.argsort(-lh), np.argsort(-h), 0).tolist() == []

    def test_split_confident_critical(self):
        a = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=float)
        y = [[0.9, 0.1], [0.9, 0.1], [0.5, 0.5], [0.8, 0.2]]
        res = split_confident_critical(y, a, n_confident=2, n_critical=1)
        assert res.critical.tolist() == [2]
        assert sorted(res.confident.tolist()) == [0, 1]
        res = split_confident_critical(y, a, n_confident=1, n_critical=1, candidates=[1, 2, 3])
        assert res.confident.tolist() == [1] and res.critical.tolist() == [2]
        with pytest.raises(InvalidParameterError, match="'n_critical' .* <= the 3 candidate items"):
            split_confident_critical(y, a, n_confident=1, n_critical=4, candidates=[1, 2, 3])
        with pytest.raises(InputError, match=r"adjacency must have shape \(4, 4\)"):
            split_confident_critical(y, a[:3], n_confident=1, n_critical=1)
        with pytest.raises(InputError, match="non-negative edge weights"):
            split_confident_critical(y, -a, n_confident=1, n_critical=1)


class TestSelect:
    P = softmax(np.random.default_rng(7).normal(scale=2.0, size=(40, 5)))

    def test_uncertainty_is_the_top_budget(self):
        for measure in ("margin", "entropy", "least-confidence"):
            s = uncertainty_scores(self.P, measure=measure)
            got = select(self.P, 7, strategy="uncertainty", measure=measure)
            assert got.tolist() == np.argsort(-s)[:7].tolist()

    def test_candidates(self):
        cand = np.arange(0, 40, 2)
        got = select(self.P, 5, candidates=cand)
        s = uncertainty_scores(self.P, measure="margin")
        assert got.tolist() == cand[np.argsort(-s[cand])[:5]].tolist()
        mask = np.zeros(40, dtype=bool)
        mask[cand] = True
        assert select(self.P, 5, candidates=mask).tolist() == got.tolist()
        for strategy in ("random", "robust-active-distillation"):
            extra = {"n_wrong": 2} if "robust" in strategy else {}
            picks = select(self.P, 10, strategy=strategy, candidates=cand, random_state=0, **extra)
            assert set(picks.tolist()) <= set(cand.tolist()) and np.unique(picks).size == 10

    def test_random_and_rad_are_seeded_and_distinct(self):
        for strategy, extra in (("random", {}), ("robust-active-distillation", {"n_wrong": 4})):
            a = select(self.P, 12, strategy=strategy, random_state=3, **extra)
            b = select(self.P, 12, strategy=strategy, random_state=3, **extra)
            c = select(self.P, 12, strategy=strategy, random_state=4, **extra)
            assert a.tolist() == b.tolist() and a.tolist() != c.tolist()
            assert np.unique(a).size == 12 and a.dtype == np.int64

    def test_rad_draws_only_from_the_support(self):
        g = uncertainty_scores(self.P, measure="margin")
        support = np.flatnonzero(robust_sampling_distribution(g, 5, min_support=8).p)
        for seed in range(10):
            picks = select(self.P, 8, strategy="robust-active-distillation", n_wrong=5, random_state=seed)
            assert set(picks.tolist()) <= set(support.tolist())

    def test_rad_without_wrong_labels_is_uncertainty_sampling(self):
        unc = select(self.P, 9)
        rad = select(self.P, 9, strategy="robust-active-distillation", n_wrong=0, random_state=1)
        assert sorted(rad.tolist()) == sorted(unc.tolist())
        rate = select(self.P, 9, strategy="robust-active-distillation", teacher_error_rate=0.1, random_state=1)
        same = select(self.P, 9, strategy="robust-active-distillation", n_wrong=4, random_state=1)
        assert rate.tolist() == same.tolist()  # round(0.1 * 40) = 4

    def test_rad_down_weights_the_most_uncertain(self):
        # with many wrong labels RAD spreads out: it picks fewer of the top items over many draws
        top = set(select(self.P, 5).tolist())
        hits = [
            len(top & set(select(self.P, 5, strategy="robust-active-distillation", n_wrong=10,
                                 random_state=s).tolist()))
            for s in range(40)
        ]
        assert np.mean(hits) < 4

    def test_locle(self):
        a = (np.random.default_rng(8).uniform(size=(40, 40)) < 0.15).astype(float)
        a = np.maximum(a, a.T)
        got = select(self.P, 6, strategy="locle", adjacency=a)
        assert got.tolist() == split_confident_critical(self.P, a, n_confident=0, n_critical=6).critical.tolist()
        with pytest.raises(InvalidParameterError, match="needs the item graph: pass adjacency"):
            select(self.P, 6, strategy="locle")

    def test_budget_out_of_range(self):
        msg = "'budget' parameter of select must be <= the 40 candidate items; got 41"
        with pytest.raises(InvalidParameterError, match=msg):
            select(self.P, 41)
        with pytest.raises(InvalidParameterError, match="'budget' parameter of select must be >= 0"):
            select(self.P, -1)
        with pytest.raises(InvalidParameterError, match="'budget' parameter of select must be an int"):
            select(self.P, 2.5)
        with pytest.raises(InvalidParameterError, match="<= the 3 candidate items"):
            select(self.P, 4, candidates=[0, 1, 2])
        assert select(self.P, 0).tolist() == []
        assert select(self.P, 0, strategy="robust-active-distillation", n_wrong=1).tolist() == []

    def test_other_errors(self):
        with pytest.raises(InvalidParameterError, match="Did you mean 'random'"):
            select(self.P, 2, strategy="randm")
        with pytest.raises(InvalidParameterError, match="exactly one of n_wrong .* or teacher_error_rate"):
            select(self.P, 2, strategy="robust-active-distillation")
        with pytest.raises(InvalidParameterError, match="exactly one of"):
            select(self.P, 2, strategy="robust-active-distillation", n_wrong=1, teacher_error_rate=0.1)
        with pytest.raises(InvalidParameterError, match="'teacher_error_rate' parameter of select must be <= 1"):
            select(self.P, 2, strategy="robust-active-distillation", teacher_error_rate=2.0)
        with pytest.raises(InputError, match=r"candidates\[1\] = 40 is not a row index in 0..39"):
            select(self.P, 1, candidates=[0, 40])
        with pytest.raises(InputError, match="repeated row indices"):
            select(self.P, 1, candidates=[0, 0])
        with pytest.raises(InputError, match=r"probs: 1 rows do not sum to 1"):
            select([[0.5, 0.6], [0.5, 0.5]], 1)


# ====================================================================== shared contract
SOURCES = {
    "teacher_soft_labels/probs-pool": lambda z: teacher_soft_labels(z, inputs="logits", temperature=2.0),
    "teacher_soft_labels/logit-pool": lambda z: teacher_soft_labels(z, inputs="logits", pool="logits"),
    "committee": lambda z: committee_soft_labels(z, [70.0, 60.0, 50.0], inputs="logits"),
    "meal-v2": lambda z: meal_v2_soft_labels(z, inputs="logits"),
    "teacher-ensemble": lambda z: TeacherEnsemble(inputs="logits", scores=[1.0, 2.0, 3.0]).fit(z).soft_labels_,
    "ferkd": lambda z: ferkd_adapt(
        z[0], np.arange(z.shape[1]) % z.shape[2], inputs="logits", low=0.3, smoothing=0.1
    ).soft_labels,
    "prototypes": lambda z: prototype_soft_labels(z[0], random_logits(99)[0, :4], scale=5.0),
    "prototype-bank": lambda z: PrototypeBank().fit(z[0], labels=np.arange(z.shape[1]) % 3).soft_labels_,
    "instance-adaptive-threshold": lambda z: InstanceAdaptiveThreshold(inputs="logits", random_state=0).fit(
        z[0], groups=np.arange(z.shape[1]) % 4).soft_labels_,
}


@pytest.mark.parametrize("name", list(SOURCES))
class TestContract:
    def test_rows_sum_to_one_without_nan(self, name):
        s = SOURCES[name](random_logits(11, n=24))
        assert isinstance(s, SoftLabels)
        assert not np.isnan(s.probs).any() and (s.probs >= 0).all()
        np.testing.assert_allclose(s.probs.sum(axis=1), 1.0, atol=1e-12)
        assert s.provenance["method"]
        json.dumps(s.provenance)

    def test_deterministic_and_invariant_to_row_order(self, name):
        z = random_logits(12, n=24)
        a, b = SOURCES[name](z), SOURCES[name](z)
        np.testing.assert_array_equal(a.probs, b.probs)
        perm = np.random.default_rng(0).permutation(24)
        if name in ("ferkd", "prototype-bank", "instance-adaptive-threshold"):
            return self._permuted_with_labels(name, z, perm, a)
        np.testing.assert_allclose(SOURCES[name](z[:, perm]).probs, a.probs[perm], atol=1e-12)

    @staticmethod
    def _permuted_with_labels(name, z, perm, base):
        # row-aligned side inputs (labels, groups) are permuted with the rows
        n, c = z.shape[1], z.shape[2]
        if name == "ferkd":
            y = np.arange(n) % c
            got = ferkd_adapt(z[0, perm], y[perm], inputs="logits", low=0.3, smoothing=0.1).soft_labels
        elif name == "prototype-bank":
            y = np.arange(n) % 3
            bank = PrototypeBank().fit(z[0], labels=y)
            got = prototype_soft_labels(z[0, perm], bank.prototypes_, scale=10.0)
            again = PrototypeBank().fit(z[0, perm], labels=y[perm])
            np.testing.assert_allclose(again.prototypes_, bank.prototypes_, atol=1e-12)
        else:
            g = np.arange(n) % 4
            ias = InstanceAdaptiveThreshold(inputs="logits", random_state=0)
            got = ias.fit(z[0, perm], groups=g[perm]).soft_labels_
        np.testing.assert_allclose(got.probs, base.probs[perm], atol=1e-12)


def test_selection_is_equivariant_to_row_order():
    p = softmax(np.random.default_rng(13).normal(scale=2.0, size=(30, 4)))
    perm = np.random.default_rng(1).permutation(30)
    for measure in ("margin", "entropy", "least-confidence"):
        picked = perm[select(p[perm], 6, measure=measure)]
        assert sorted(picked.tolist()) == sorted(select(p, 6, measure=measure).tolist())
    g = uncertainty_scores(p)
    np.testing.assert_allclose(
        robust_sampling_distribution(g[perm], 3).p, robust_sampling_distribution(g, 3).p[perm]
    )
    a = (np.random.default_rng(2).uniform(size=(30, 30)) < 0.2).astype(float)
    np.testing.assert_allclose(
        label_disharmonicity(p[perm], a[np.ix_(perm, perm)]), label_disharmonicity(p, a)[perm]
    )


@given(
    m=st.integers(1, 4), n=st.integers(1, 12), c=st.integers(2, 6),
    seed=st.integers(0, 2**32 - 1), t=st.floats(0.1, 10.0),
)
def test_pooled_labels_are_distributions_between_the_teachers(m, n, c, seed, t):
    z = np.random.default_rng(seed).normal(scale=5.0, size=(m, n, c))
    tempered = softmax(z / t)
    mix = teacher_soft_labels(z, inputs="logits", temperature=t).probs
    np.testing.assert_allclose(mix.sum(axis=1), 1.0, atol=1e-12)
    assert (mix >= tempered.min(axis=0) - 1e-12).all() and (mix <= tempered.max(axis=0) + 1e-12).all()
    geo = teacher_soft_labels(z, inputs="logits", pool="logits", temperature=t).probs
    np.testing.assert_allclose(geo.sum(axis=1), 1.0, atol=1e-12)
    assert np.isfinite(geo).all()
    # one teacher: every pooling is the tempered teacher
    one = teacher_soft_labels(z[:1], inputs="logits", pool="logits", temperature=t).probs
    np.testing.assert_allclose(one, tempered[0], atol=1e-12)


# ====================================================================== evidence on digits
@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    x, y = datasets.load_digits(return_X_y=True)
    return x / 16.0, y


@pytest.fixture
def one_blas_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield


def student_probs(x_train, soft, x_test):
    """Logistic regression on soft labels: one weighted row per non-zero probability."""
    from sklearn.linear_model import LogisticRegression

    rows, labels = np.nonzero(soft > 0)
    clf = LogisticRegression(max_iter=1000).fit(x_train[rows], labels, sample_weight=soft[rows, labels])
    out = np.zeros((x_test.shape[0], soft.shape[1]))
    out[:, clf.classes_] = clf.predict_proba(x_test)
    return out


def test_committee_labels_give_a_lower_student_nll_than_the_best_single_teacher(digits, one_blas_thread):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier

    x, y = digits
    single, committee, logit_mean = [], [], []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        xa, xr, ya, yr = train_test_split(x, y, test_size=0.6, random_state=seed, stratify=y)
        xb, xt, yb, yt = train_test_split(xr, yr, test_size=0.5, random_state=seed, stratify=yr)
        parts = np.array_split(rng.permutation(ya.size), 4)
        views = [None, rng.choice(64, 40, replace=False), None, rng.choice(64, 40, replace=False)]
        models = [LogisticRegression(max_iter=1000), LogisticRegression(max_iter=1000),
                  KNeighborsClassifier(5, weights="distance"), KNeighborsClassifier(7, weights="distance")]
        outputs, scores = [], []
        for model, cols, idx in zip(models, views, parts):
            cols = np.arange(64) if cols is None else cols
            model.fit(xa[idx][:, cols], ya[idx])
            rest = np.setdiff1d(np.arange(ya.size), idx)
            scores.append(100 * np.mean(model.predict(xa[rest][:, cols]) == ya[rest]))
            outputs.append(0.999 * model.predict_proba(xb[:, cols]) + 1e-4)

        def nll(soft):
            p = student_probs(xb, soft, xt)
            return -np.mean(np.log(np.clip(p[np.arange(yt.size), yt], 1e-15, 1)))

        single.append(min(nll(p) for p in outputs))
        committee.append(nll(committee_soft_labels(outputs, scores, inputs="probs").probs))
        logit_mean.append(nll(teacher_soft_labels(outputs, inputs="probs", pool="logits").probs))
    assert np.mean(committee) < np.mean(single)
    assert np.mean(logit_mean) < np.mean(single)


def test_rad_beats_uncertainty_sampling_when_the_teacher_is_wrong_on_confusable_digits(digits, one_blas_thread):
    """Entropy as the uncertainty and the gain: the clearest case in the benchmark (with the
    margin, RAD also queries far fewer wrong labels but wins by less accuracy)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    x, y = digits
    confusable = np.array([3, 5, 8])

    def teacher_outputs(model, xs, ys):
        p = model.predict_proba(xs)
        idx = np.flatnonzero(np.isin(ys, confusable))
        srt = np.sort(p[idx], axis=1)
        gap = srt[:, -1] - srt[:, -2]
        wrong = idx[gap <= np.median(gap)]  # the hard half of 3/5/8: 3 -> 5 -> 8 -> 3
        p[np.ix_(wrong, np.roll(confusable, -1))] = p[np.ix_(wrong, confusable)]
        return p

    acc = {"uncertainty": [], "robust-active-distillation": []}
    bad = {k: [] for k in acc}
    for seed in range(3):
        xl, xr, yl, yr = train_test_split(x, y, train_size=0.1, random_state=seed, stratify=y)
        xp, xt, yp, yt = train_test_split(xr, yr, test_size=1 / 3, random_state=seed, stratify=yr)
        teacher = LogisticRegression(max_iter=1000).fit(np.vstack([xl, xp]), np.concatenate([yl, yp]))
        soft = teacher_outputs(teacher, xp, yp)
        rate = np.mean(teacher_outputs(teacher, xl, yl).argmax(1) != yl)
        for strategy in acc:
            asked = np.empty(0, dtype=np.int64)
            for r in range(5):
                probs = student_probs(np.vstack([xl, xp[asked]]), np.vstack([np.eye(10)[yl], soft[asked]]), xp)
                extra = {"teacher_error_rate": rate} if strategy != "uncertainty" else {}
                asked = np.concatenate([asked, select(
                    probs, 40, strategy=strategy, candidates=np.setdiff1d(np.arange(yp.size), asked),
                    measure="entropy", random_state=10 * seed + r, **extra)])
            final = student_probs(np.vstack([xl, xp[asked]]), np.vstack([np.eye(10)[yl], soft[asked]]), xt)
            acc[strategy].append(np.mean(final.argmax(1) == yt))
            bad[strategy].append(np.mean(soft[asked].argmax(1) != yp[asked]))
    assert np.mean(bad["robust-active-distillation"]) < np.mean(bad["uncertainty"])
    assert np.mean(acc["robust-active-distillation"]) > np.mean(acc["uncertainty"])


def test_no_stray_warnings_from_a_plain_run():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        teacher_soft_labels(random_logits(14), inputs="logits", pool="logits")
        select(softmax(random_logits(14)[0]), 5, strategy="robust-active-distillation", n_wrong=2, random_state=0)


@pytest.mark.parametrize(
    "module", ["__init__", "combine", "adapt", "prototypes", "thresholds", "select"]
)
def test_docstring_examples(module):
    import doctest
    import importlib

    name = "softlabels.infer.teachers" + ("" if module == "__init__" else f".{module}")
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
