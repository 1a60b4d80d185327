"""Stacking of crowd models (HeldOutStacking): the weights' optimum by hand and as a
property, the folds' invariances, a crowd where the better member is known, and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softlabels import Annotations, InvalidParameterError, create_method
from softlabels.datasets import make_crowd
from softlabels.infer.crowd import HeldOutStacking
from softlabels.infer.crowd.stacking import answer_folds, stacking_weights


def objective(probs, w):
    return float(np.log(probs @ w).sum())


def test_weights_hand_computed():
    # log(0.4 + 0.4 w) + log(0.6 - 0.4 w) has its maximum where 0.4 + 0.4 w = 0.6 - 0.4 w
    probs = np.array([[0.8, 0.4], [0.2, 0.6]])
    np.testing.assert_allclose(stacking_weights(probs), [0.25, 0.75], atol=1e-6)


def test_a_member_better_on_every_answer_takes_all_the_weight():
    probs = np.array([[0.9, 0.5], [0.7, 0.5], [0.6, 0.6]])
    assert stacking_weights(probs)[0] > 1 - 1e-6


def test_identical_members_share_equally_and_no_answers_give_equal_weights():
    probs = np.array([[0.3, 0.3, 0.3], [0.9, 0.9, 0.9]])
    np.testing.assert_allclose(stacking_weights(probs), [1 / 3] * 3)
    np.testing.assert_allclose(stacking_weights(np.zeros((0, 2))), [0.5, 0.5])


def test_weights_refuse_a_vector():
    with pytest.raises(InvalidParameterError, match="n_answers, n_members"):
        stacking_weights(np.array([0.5, 0.5]))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_weights_are_a_distribution_at_the_maximum(n, m, seed):
    rng = np.random.default_rng(seed)
    probs = rng.uniform(0.01, 1.0, size=(n, m))
    w = stacking_weights(probs)
    assert (w >= 0).all() and w.sum() == pytest.approx(1.0)
    best = objective(probs, w)
    for other in [*np.eye(m), np.full(m, 1 / m), rng.dirichlet(np.ones(m))]:
        assert best >= objective(probs, other) - 1e-6


def folds_by_answer(df, **kw):
    ann = Annotations.from_frame(df)
    fold = answer_folds(ann, 5, 0)
    key = zip(ann.item_ids[ann.item], df["worker"].to_numpy() if kw.get("raw") else
              ann.worker_ids[ann.worker])
    return dict(zip(key, fold)), ann, fold


def test_folds_do_not_depend_on_row_order_worker_ids_or_class_names():
    df, _ = make_crowd(n_items=60, n_workers=9, n_classes=3, answers_per_item=4, random_state=1)
    base, _, _ = folds_by_answer(df)
    shuffled = df.sample(frac=1.0, random_state=2).reset_index(drop=True)
    assert folds_by_answer(shuffled)[0] == base
    ids = sorted(df["worker"].unique())
    rename = dict(zip(ids, [f"w{j}" for j in np.random.default_rng(3).permutation(len(ids))]))
    renamed, _, _ = folds_by_answer(df.assign(worker=df["worker"].map(rename)))
    assert {(i, w): renamed[i, rename[w]] for i, w in base} == base
    relabelled = df.assign(label=df["label"].map({0: "c2", 1: "c0", 2: "c1"}))
    assert folds_by_answer(relabelled)[0] == base


def test_every_held_out_item_keeps_an_answer_in_every_fold():
    df, _ = make_crowd(n_items=80, n_workers=10, n_classes=2, answers_per_item=3, random_state=4)
    single = pd.DataFrame({"item": ["lonely"], "worker": [0], "label": [1]})
    _, ann, fold = folds_by_answer(pd.concat([df, single], ignore_index=True))
    assert set(np.unique(fold)) <= {-1, 0, 1, 2, 3, 4}
    assert (fold >= 0).mean() > 0.5  # most answers are held out once
    for i in range(ann.n_items):
        mine = fold[ann.item == i]
        for f in set(mine[mine >= 0]):
            assert (mine != f).any()
    lonely = int(np.flatnonzero(ann.item_ids == "lonely")[0])
    assert (fold[ann.item == lonely] == -1).all()


def test_one_member_gives_its_soft_labels():
    df, _ = make_crowd(n_items=50, n_workers=8, n_classes=3, random_state=0)
    alone = create_method("dawid-skene:uncertainty=leave-self-out").fit(df).soft_labels_.probs
    model = HeldOutStacking(members=["dawid-skene:uncertainty=leave-self-out"]).fit(df)
    np.testing.assert_allclose(model.weights_, [1.0])
    np.testing.assert_allclose(model.soft_labels_.probs, alone, atol=1e-12)


def test_soft_labels_are_the_weighted_mixture_of_the_members():
    df, _ = make_crowd(n_items=50, n_workers=8, n_classes=2, random_state=6)
    model = HeldOutStacking().fit(df)
    mix = sum(w * m.soft_labels_.probs for w, m in zip(model.weights_, model.members_))
    np.testing.assert_allclose(model.soft_labels_.probs, mix, atol=1e-12)
    skills = sum(w * m.skills_ for w, m in zip(model.weights_, model.members_))
    np.testing.assert_allclose(model.skills_, skills, atol=1e-12)
    assert model.held_out_log_likelihood_.shape == (2,)
    assert (model.held_out_log_likelihood_ < 0).all()


def spammed_crowd(seed=0, n_items=300):
    """Five workers right 90% of the time and five who always answer "a": vote shares are
    pulled towards "a", a confusion-matrix model sees through the spammers."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(["a", "b"], n_items)
    rows = []
    for i, t in enumerate(truth):
        for w in range(10):
            if w < 5:
                label = t if rng.random() < 0.9 else ("b" if t == "a" else "a")
            else:
                label = "a"
            rows.append((i, w, label))
    return pd.DataFrame(rows, columns=["item", "worker", "label"]), pd.Series(truth)


def test_the_member_that_explains_the_answers_gets_the_weight():
    df, truth = spammed_crowd()
    model = HeldOutStacking(members=["dawid-skene:uncertainty=leave-self-out",
                                     "soft-vote"]).fit(df)
    assert model.weights_[0] > 0.9
    ll = model.held_out_log_likelihood_
    assert ll[0] > ll[1]
    hard = model.soft_labels_.classes[model.soft_labels_.probs.argmax(axis=1)]
    assert (hard == truth.to_numpy()).mean() > 0.95


def test_folds_and_gold_are_respected():
    df, truth = make_crowd(n_items=40, n_workers=6, n_classes=2, random_state=2)
    item = df["item"].iloc[0]
    wrong = 1 - int(truth.loc[item])
    model = HeldOutStacking(n_folds=3).fit(df, gold={item: wrong})
    row = model.soft_labels_.item_ids.tolist().index(item)
    assert model.soft_labels_.probs[row, wrong] == 1.0


@pytest.mark.parametrize("members, match", [
    ("dawid-skene", "list of models"),
    ([], "at least one member"),
    (["stacked"], "cannot contain itself"),
])
def test_bad_members_are_refused(members, match, binary_crowd):
    with pytest.raises(InvalidParameterError, match=match):
        HeldOutStacking(members=members).fit(binary_crowd)


def test_bad_fold_count_is_refused(binary_crowd):
    with pytest.raises(InvalidParameterError, match="n_folds"):
        HeldOutStacking(n_folds=1).fit(binary_crowd)


def test_n_jobs_reaches_the_members_that_take_it_and_changes_nothing():
    from softlabels.datasets import make_crowd

    df, _ = make_crowd(n_items=300, n_workers=12, n_classes=3, random_state=1)
    one = HeldOutStacking().fit(df)
    two = HeldOutStacking(n_jobs=2).fit(df)
    assert [m.get_params().get("n_jobs") for m in two.members_] == [2, None]
    np.testing.assert_array_equal(one.soft_labels_.probs, two.soft_labels_.probs)


def test_a_member_with_its_own_answer_model_is_scored_with_it():
    """EBCC predicts a held-out answer through the item's subtype (its
    ``answer_probabilities``); the held-out log-likelihood is that prediction's."""
    from softlabels.infer.crowd import EBCC

    df, _ = make_crowd(n_items=60, n_workers=6, n_classes=2, random_state=3)
    model = HeldOutStacking(members=["ebcc:n_subtypes=3"], random_state=5).fit(df)
    ann = model.members_[0].annotations_
    fold = answer_folds(ann, model.n_folds, 5)
    logs = []
    for f in range(model.n_folds):
        out, keep = fold == f, fold != f
        train = Annotations(ann.item[keep], ann.worker[keep], ann.label[keep],
                            ann.item_ids, ann.worker_ids, ann.classes)
        member = EBCC(n_subtypes=3).fit(train)
        q, v = member.subtype_posteriors_, member.subtype_confusions_
        logs += [np.log(np.sum(q[i] * v[w, :, :, l])) for i, w, l in
                 zip(ann.item[out], ann.worker[out], ann.label[out])]
    np.testing.assert_allclose(model.held_out_log_likelihood_, [np.mean(logs)], rtol=1e-10)
