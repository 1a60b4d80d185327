"""IBCC against a loop-by-loop reference of its variational updates, on hand-made
cases, and under relabelling of classes and workers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import _bcc_reference as ref
import softlabels
from softlabels.datasets import make_crowd
from softlabels.infer.crowd import IBCC


def crowd(seed, k, *, gold=False, duplicates=False):
    return ref.crowd(seed, k, n_items=20, n_workers=6, gold=gold, duplicates=duplicates)


@pytest.mark.parametrize("seed, k, gold, duplicates", [
    (0, 2, False, False), (1, 3, False, True), (2, 4, True, False), (3, 3, True, True),
])
@pytest.mark.parametrize("class_prior", [1.0, "empirical"])
@pytest.mark.parametrize("inference", ["vb", "collapsed"])
def test_agrees_with_the_loop_reference(seed, k, gold, duplicates, class_prior, inference):
    ann, gold_map, codes = crowd(seed, k, gold=gold, duplicates=duplicates)
    n_iter = 6
    model = IBCC(n_iter=n_iter, tol=0.0, diag_prior=3.0, off_diag_prior=0.7,
                 class_prior=class_prior, inference=inference)
    model.fit(ann, gold=gold_map)
    start = ref.soft_vote(ann)
    for i, g in enumerate(codes):  # gold items start at their label
        if g >= 0:
            start[i] = [float(c == g) for c in range(k)]
    prior = (np.sum(ref.soft_vote(ann), axis=0).tolist() if class_prior == "empirical"
             else [class_prior] * k)
    run = ref.reference_bcc if inference == "vb" else ref.reference_collapsed
    probs, _, objective = run(
        ann, codes, [[[p] for p in row] for row in start], n_iter=n_iter, diag=3.0, off=0.7,
        class_prior=prior, subtype_prior=1.0,
    )
    np.testing.assert_allclose(model.soft_labels_.probs, probs, rtol=0, atol=1e-8)
    assert model.log_likelihood_ == pytest.approx(objective, rel=1e-9)
    assert model.n_iter_ == n_iter


def test_the_elbo_never_decreases():
    ann, _, _ = crowd(5, 3)
    seen = []
    IBCC(n_iter=30, tol=0.0, inference="vb").fit(ann, callback=lambda it, obj: seen.append(obj))
    assert len(seen) == 30
    assert np.all(np.diff(seen) >= -1e-9)


def test_unanimous_items_are_confident_but_not_certain():
    # four workers agree on every item; classes alternate
    answers = pd.DataFrame(
        [(i, w, "ab"[i % 2]) for i in range(10) for w in range(4)], columns=["item", "worker", "label"]
    )
    probs = IBCC().fit(answers).soft_labels_.probs
    top = probs[np.arange(10), np.arange(10) % 2]
    assert np.all(top > 0.99)
    assert np.all(top < 1.0)


def test_a_perfect_worker_gets_the_highest_skill_and_its_posterior_mean():
    # p always answers the truth; on each item exactly one of n0, n1, n2 is wrong
    truth = ["a", "b"] * 6
    rows = []
    for i, t in enumerate(truth):
        rows.append((i, "p", t))
        for j in range(3):
            rows.append((i, f"n{j}", t if i % 3 != j else ("b" if t == "a" else "a")))
    model = IBCC(inference="collapsed").fit(pd.DataFrame(rows, columns=["item", "worker", "label"]))
    assert (model.labels_ == np.array(truth, dtype=object)).all()
    frame = model.reliability_frame().set_index("worker")
    assert list(frame.columns) == ["n_answers", "skill", "skill_sd"]
    assert frame.loc["p", "skill"] > frame.drop(index="p")["skill"].max() + 0.1
    # p's rows are Dir(4 + sum of q(t_i = k) over p's answers k, 1 + the rest)
    p = model.annotations_.worker_ids.tolist().index("p")
    q = model.soft_labels_.probs
    said_a = np.array(truth) == "a"
    right = np.array([q[said_a, 0].sum(), q[~said_a, 1].sum()])
    seen = q.sum(axis=0)
    np.testing.assert_allclose(np.diag(model.confusions_[p]), (4 + right) / (5 + seen), atol=1e-4)
    assert (frame["skill_sd"] > 0).all()


def test_sparse_workers_have_wider_skill_posteriors():
    answers, _ = make_crowd(n_items=200, n_workers=20, n_classes=2, random_state=0)
    answers = pd.concat([answers, pd.DataFrame({"item": [0], "worker": [99], "label": [0]})])
    frame = IBCC().fit(answers).reliability_frame().set_index("worker")
    assert frame.loc[99, "skill_sd"] > 1.8 * frame.drop(index=99)["skill_sd"].max()


def test_gold_items_are_clamped_and_teach_the_workers():
    # a and b disagree everywhere; gold says a is right on items 0 and 1
    rows = [(i, "a", "x" if i % 2 == 0 else "y") for i in range(6)]
    rows += [(i, "b", "y" if i % 2 == 0 else "x") for i in range(6)]
    answers = pd.DataFrame(rows, columns=["item", "worker", "label"])
    without = IBCC(inference="collapsed").fit(answers).soft_labels_.probs
    np.testing.assert_allclose(without, 0.5, atol=1e-12)  # symmetric: no way to tell
    model = IBCC(inference="collapsed").fit(answers, gold={0: "x", 1: "y"})
    probs = model.soft_labels_.probs
    np.testing.assert_array_equal(probs[:2], [[1.0, 0.0], [0.0, 1.0]])
    assert np.all(probs[2:, :][[0, 2], 0] > 0.6) and np.all(probs[2:, :][[1, 3], 1] > 0.6)
    frame = model.reliability_frame().set_index("worker")
    assert frame.loc["a", "skill"] > frame.loc["b", "skill"]


def test_relabelling_classes_and_workers_permutes_the_outputs():
    answers, _ = make_crowd(n_items=60, n_workers=9, n_classes=3, random_state=4)
    base = IBCC(tol=0.0, n_iter=40).fit(answers)
    perm = np.array([2, 0, 1])  # class c becomes perm[c]
    renamed = answers.assign(label=perm[answers["label"]], worker=100 - answers["worker"])
    other = IBCC(tol=0.0, n_iter=40).fit(renamed)
    np.testing.assert_allclose(other.soft_labels_.probs[:, perm], base.soft_labels_.probs, atol=1e-10)
    ref.assert_same_skills(base, other, lambda w: 100 - w)


@pytest.mark.parametrize("method", ["ibcc", "ebcc"])
def test_deterministic_and_registered(method):
    answers, _ = make_crowd(n_items=50, n_workers=8, n_classes=3, random_state=1)
    a = softlabels.aggregate(answers, method=method)
    b = softlabels.aggregate(answers, method=method)
    assert a.equals(b)
    assert a.provenance["method"] == method
    assert method in softlabels.list_sources(evidence="answers")


def test_a_split_vote_by_unseen_workers_gets_the_prior_predictive_odds():
    # seven workers seen nowhere else answer one item 4:3. Their confusion rows are
    # known only through the prior Dir(4, 1): each answer is 4 times likelier under the
    # class it names, so the exact odds are 4 times the class odds of the other items.
    answers, _ = make_crowd(n_items=100, n_workers=10, n_classes=2, random_state=2)
    split = pd.DataFrame({"item": [-1] * 7, "worker": range(1000, 1007), "label": [0, 0, 0, 0, 1, 1, 1]})
    answers = pd.concat([answers, split], ignore_index=True)
    model = IBCC(tol=1e-12, inference="collapsed").fit(answers)
    probs = model.soft_labels_.probs
    row = model.soft_labels_.item_ids.tolist().index(-1)
    p = probs[row, 0]
    nu = 1.0 + probs.sum(axis=0)  # the class Dirichlet, item's own share then taken out
    assert p / (1 - p) == pytest.approx(4 * (nu[0] - p) / (nu[1] - (1 - p)), rel=1e-6)
    assert 0.5 < p < 0.9
    # mean-field VB counts the item's own answers as evidence of its workers' skill
    assert IBCC(inference="vb").fit(answers).soft_labels_.probs[row, 0] > 0.95


@pytest.mark.parametrize("seed, k, gold, duplicates", [
    (0, 2, False, False), (1, 3, False, True), (2, 4, True, False),
])
def test_vb_collapsed_is_a_tempered_collapsed_update_of_the_vb_posterior(seed, k, gold, duplicates):
    ann, gold_map, codes = crowd(seed, k, gold=gold, duplicates=duplicates)
    params = dict(n_iter=8, tol=0.0, diag_prior=3.0, off_diag_prior=0.7)
    vb = IBCC(inference="vb", **params).fit(ann, gold=gold_map)
    model = IBCC(inference="vb-collapsed", **params).fit(ann, gold=gold_map)
    joint = [[[p] for p in row] for row in vb.soft_labels_.probs.tolist()]
    loglik, tempered = ref.reference_vb_then_collapsed(
        ann, codes, joint, diag=3.0, off=0.7, class_prior=[1.0] * k, subtype_prior=1.0)
    t = model.temperature_
    assert 1.0 <= t <= 100.0
    grid = np.exp(np.linspace(0.0, np.log(100.0), 300))
    assert loglik(t) >= max(loglik(v) for v in grid) - 1e-6 * abs(loglik(t))
    np.testing.assert_allclose(model.soft_labels_.probs, tempered(t), rtol=0, atol=1e-9)
