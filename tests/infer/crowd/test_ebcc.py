"""EBCC against a loop-by-loop reference of its updates, its restarts, its reduction to
IBCC with one subtype, hand-made cases and relabelling of workers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import _bcc_reference as ref
from scipy.special import digamma

from softlabels.datasets import make_crowd
from softlabels.infer.crowd import EBCC, IBCC
from softlabels.infer.crowd.ibcc import BCCKernel, dirichlet_kl


def crowd(seed, k, *, gold=False):
    return ref.crowd(seed, k, n_items=15, n_workers=5, gold=gold)


@pytest.mark.parametrize("seed, k, gold", [(0, 2, False), (1, 3, True), (2, 3, False)])
@pytest.mark.parametrize("inference", ["vb", "collapsed"])
def test_agrees_with_the_loop_reference(seed, k, gold, inference):
    ann, gold_map, codes = crowd(seed, k, gold=gold)
    m, n_iter = 3, 5
    model = EBCC(n_iter=n_iter, tol=0.0, n_subtypes=m, subtype_prior=0.6, diag_prior=3.0,
                 off_diag_prior=0.5, class_prior=0.8, inference=inference, n_init=1, random_state=seed)
    model.fit(ann, gold=gold_map)
    # the start: vote proportions split over the subtypes by one Dirichlet(1, ..., 1)
    # draw per item (shared by its classes), drawn in the order of the item ids
    split = np.random.default_rng(seed).dirichlet(np.ones(m), size=ann.n_items)
    split = split[np.argsort(np.argsort(ann.item_ids))]
    vote = ref.soft_vote(ann)
    joint = [[[vote[i][c] * split[i, s] for s in range(m)] for c in range(k)] for i in range(ann.n_items)]
    for i, g in enumerate(codes):  # gold items: mass outside their class dropped, renormalised
        if g >= 0:
            total = sum(joint[i][g])
            joint[i] = [[x / total if c == g else 0.0 for x in joint[i][c]] for c in range(k)]
    run = ref.reference_bcc if inference == "vb" else ref.reference_collapsed
    probs, q, objective = run(ann, codes, joint, n_iter=n_iter, diag=3.0, off=0.5,
                              class_prior=[0.8] * k, subtype_prior=0.6)
    np.testing.assert_allclose(model.soft_labels_.probs, probs, rtol=0, atol=1e-8)
    assert model.log_likelihood_ == pytest.approx(objective, rel=1e-9)


def test_keeps_the_start_with_the_best_objective():
    answers, _ = make_crowd(n_items=60, n_workers=8, n_classes=3, random_state=7)
    shared = np.random.default_rng(11)
    singles = [EBCC(n_init=1, n_subtypes=4, random_state=shared).fit(answers) for _ in range(3)]
    objectives = [s.log_likelihood_ for s in singles]
    assert len(set(np.round(objectives, 8))) > 1  # the starts matter here
    best = singles[int(np.argmax(objectives))]
    model = EBCC(n_init=3, n_subtypes=4, random_state=11).fit(answers)
    assert model.log_likelihood_ == best.log_likelihood_
    np.testing.assert_array_equal(model.soft_labels_.probs, best.soft_labels_.probs)


@pytest.mark.parametrize("inference", ["vb", "collapsed", "vb-collapsed"])
def test_one_subtype_is_ibcc(inference):
    answers, _ = make_crowd(n_items=80, n_workers=10, n_classes=3, random_state=2)
    a = EBCC(n_subtypes=1, inference=inference, class_prior=2.0, n_init=2).fit(answers)
    b = IBCC(inference=inference, class_prior=2.0).fit(answers)
    np.testing.assert_allclose(a.soft_labels_.probs, b.soft_labels_.probs, atol=1e-12)
    np.testing.assert_allclose(a.confusions_, b.confusions_, atol=1e-12)


def test_the_elbo_never_decreases():
    answers, _ = make_crowd(n_items=60, n_workers=8, n_classes=3, random_state=3)
    seen = []
    EBCC(n_iter=40, tol=0.0, n_init=1, inference="vb").fit(answers, callback=lambda it, o: seen.append(o))
    assert len(seen) == 40
    assert np.all(np.diff(seen) >= -1e-9)


def test_unanimous_items_and_gold_clamping():
    rows = [(i, w, "ab"[i % 2]) for i in range(8) for w in range(4)]
    rows += [(8, 0, "a"), (8, 1, "b")]
    answers = pd.DataFrame(rows, columns=["item", "worker", "label"])
    model = EBCC(n_subtypes=3).fit(answers, gold={8: "b", 0: "a"})
    probs = model.soft_labels_.probs
    assert np.all(probs[np.arange(8), np.arange(8) % 2] > 0.95)
    np.testing.assert_array_equal(probs[8], [0.0, 1.0])
    np.testing.assert_array_equal(probs[0], [1.0, 0.0])
    assert model.subtype_weights_.shape == (2, 3)
    np.testing.assert_allclose(model.subtype_weights_.sum(axis=1), 1.0)
    assert model.subtype_confusions_.shape == (4, 2, 3, 2)
    frame = model.reliability_frame()
    assert list(frame.columns) == ["worker", "n_answers", "skill", "skill_sd"]
    assert frame.set_index("worker").loc[1, "skill"] > frame.set_index("worker").loc[0, "skill"]


def test_relabelling_workers_permutes_the_outputs():
    answers, _ = make_crowd(n_items=50, n_workers=9, n_classes=3, random_state=4)
    base = EBCC(n_subtypes=3, n_init=2).fit(answers)
    other = EBCC(n_subtypes=3, n_init=2).fit(answers.assign(worker=100 - answers["worker"]))
    np.testing.assert_allclose(other.soft_labels_.probs, base.soft_labels_.probs, atol=1e-10)
    ref.assert_same_skills(base, other, lambda w: 100 - w)



@pytest.mark.parametrize("m", [1, 3])
def test_answer_probabilities_are_the_subtype_mixture(m):
    answers, _ = make_crowd(n_items=40, n_workers=6, n_classes=3, random_state=4)
    model = EBCC(n_subtypes=m, n_init=1, random_state=0).fit(answers)
    ann = model.annotations_
    q, v = model.subtype_posteriors_, model.subtype_confusions_
    np.testing.assert_allclose(q.sum(axis=2), model.soft_labels_.probs, atol=1e-12)
    rng = np.random.default_rng(0)
    item = rng.integers(0, ann.n_items, 25)
    worker = rng.integers(0, ann.n_workers, 25)
    label = rng.integers(0, ann.n_classes, 25)
    loop = [sum(q[i, k, s] * v[w, k, s, l] for k in range(ann.n_classes) for s in range(m))
            for i, w, l in zip(item, worker, label)]
    np.testing.assert_allclose(model.answer_probabilities(item, worker, label), loop, atol=1e-12)
    # a predictive distribution: over the labels a worker may give, it sums to one
    every = [model.answer_probabilities(item, worker, np.full(25, l)) for l in range(ann.n_classes)]
    np.testing.assert_allclose(np.sum(every, axis=0), 1.0, atol=1e-12)


def test_answer_probabilities_see_the_subtype_of_the_item():
    """Two kinds of class-0 item: on one, the first two workers both say 1. An item whose
    visible answers show that pattern is predicted to draw a 1 from them again."""
    rows = []
    for i in range(120):
        kind = i % 3  # 0: plain class 0, 1: class-0 confuser, 2: class 1
        for w in range(6):
            wrong = kind == 1 and w < 2
            label = 1 if kind == 2 or wrong else 0
            if (i + w) % 9 == 0:  # a little noise
                label = 1 - label
            rows.append((i, w, label))
    df = pd.DataFrame(rows, columns=["item", "worker", "label"])
    model = EBCC(n_subtypes=2, random_state=0).fit(df)
    ann = model.annotations_
    code = {int(i): c for c, i in enumerate(ann.item_ids)}
    w0 = int(np.flatnonzero(ann.worker_ids == 0)[0])
    one = int(np.flatnonzero(ann.classes == 1)[0])
    p_confuser = model.answer_probabilities([code[1]], [w0], [one])[0]
    p_plain = model.answer_probabilities([code[3]], [w0], [one])[0]
    assert model.soft_labels_.probs[code[1]].argmax() == model.soft_labels_.probs[code[3]].argmax()
    assert p_confuser > 0.7 > 0.3 > p_plain


def test_answer_probabilities_refuses_bad_codes():
    from softlabels.core.errors import InvalidParameterError, NotFittedError

    with pytest.raises(NotFittedError):
        EBCC().answer_probabilities([0], [0], [0])
    answers, _ = make_crowd(n_items=20, n_workers=4, n_classes=2, answers_per_item=3,
                            random_state=1)
    model = EBCC(n_init=1).fit(answers)
    with pytest.raises(InvalidParameterError, match="one length"):
        model.answer_probabilities([0, 1], [0], [0])
    with pytest.raises(InvalidParameterError, match=r"worker must hold integer codes in \[0, 4\)"):
        model.answer_probabilities([0], [4], [0])
    with pytest.raises(InvalidParameterError, match="label must hold integer codes"):
        model.answer_probabilities([0], [0], [0.5])
    assert model.answer_probabilities([], [], []).shape == (0,)


def dense_confusion_terms(kernel, counts, mu):
    """``BCCKernel.confusion_terms`` as the plain formulas over every confusion row."""
    return (digamma(mu) - digamma(mu.sum(axis=1, keepdims=True)),
            dirichlet_kl(mu.transpose(0, 2, 1), kernel.beta_block.T))


@pytest.mark.parametrize("k, m", [(2, 10), (3, 4), (4, 1)])
def test_confusion_terms_skip_unseen_rows_without_changing_a_value(k, m):
    # a label most workers never gave: those rows are left at the prior
    rng = np.random.default_rng(k)
    ann, _, codes = ref.crowd(k, k, n_items=40, n_workers=60, gold=True)
    kernel = BCCKernel(ann, codes, n_subtypes=m, diag_prior=3.0, off_diag_prior=0.5,
                       class_prior=np.ones(k), subtype_prior=0.3)
    counts, _ = kernel.sums(rng.dirichlet(np.ones(k * m), size=ann.n_items))
    counts[::5] = 0.0  # more unseen rows, and
    counts[1::7, : k * m // 2] = 0.0  # rows seen in some columns only
    mu = counts.reshape(-1, k, k * m) + kernel.beta_block
    assert not counts.any(axis=1).all()
    elog_v, kl = kernel.confusion_terms(counts, mu)
    want_elog, want_kl = dense_confusion_terms(kernel, counts, mu)
    np.testing.assert_array_equal(elog_v, want_elog)
    assert kl == want_kl


@pytest.mark.parametrize("model, params", [
    (EBCC, {"n_init": 2}), (EBCC, {"n_subtypes": 3, "inference": "vb"}),
    (EBCC, {"n_subtypes": 3, "inference": "collapsed"}), (IBCC, {}),
])
def test_fits_match_the_dense_confusion_terms(model, params, monkeypatch):
    # many workers with a few answers each: most (worker, label) rows are unseen
    ann, gold, _ = ref.crowd(3, 3, n_items=150, n_workers=300, gold=True)
    fast = model(**params).fit(ann, gold=gold)
    monkeypatch.setattr(BCCKernel, "confusion_terms", dense_confusion_terms)
    dense = model(**params).fit(ann, gold=gold)
    assert fast.n_iter_ == dense.n_iter_
    assert fast.log_likelihood_ == pytest.approx(dense.log_likelihood_, rel=1e-12, abs=1e-10)
    np.testing.assert_allclose(fast.soft_labels_.probs, dense.soft_labels_.probs,
                               rtol=0, atol=1e-10)
    np.testing.assert_allclose(fast.confusions_, dense.confusions_, rtol=0, atol=1e-10)
    if model is EBCC:
        np.testing.assert_allclose(fast.subtype_posteriors_, dense.subtype_posteriors_,
                                   rtol=0, atol=1e-10)
