"""Metamorphic checks of every crowd model at tight tolerance, on seeded crowds.

Complements ``test_crowd_properties.py`` (hypothesis, 1e-6): here the same answers
presented differently must give the same soft labels to 1e-9, ids that keep their order
when their type changes (int <-> zero-padded str) change nothing at all, a worker
declared without answers changes nothing, a declared class nobody answered is a column
whose position follows the declared order, and the degenerate crowds the edge-case
tests do not build give distributions summing to 1 within 1e-12.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import softlabels
from softlabels import Annotations
from softlabels.datasets import make_crowd

ANSWERS = softlabels.list_sources(evidence="answers")
TOL = 1e-9
#: the vote-counting models: a class nobody answered has probability 0 on every item
COUNTING = {"majority-vote", "soft-vote", "wawa", "zero-based-skill", "kos"}
#: random draws made per item in item-id order (EBCC's subtype split, stacking's folds)
ITEM_SEEDED = {"ebcc", "stacked"}


def crowd(seed: int, n_classes: int = 2) -> pd.DataFrame:
    df, _ = make_crowd(n_items=10, n_workers=5, n_classes=n_classes, answers_per_item=3,
                       random_state=seed)
    return df


def names_for(n_classes: int) -> list[str]:
    return [n for n in ANSWERS if n != "kos" or n_classes == 2]


def fit(name: str, answers) -> pd.DataFrame:
    ann = answers if isinstance(answers, Annotations) else Annotations.from_frame(answers)
    s = softlabels.create_source(name).fit(ann).soft_labels_
    return pd.DataFrame(np.asarray(s.probs, dtype=np.float64), index=list(s.item_ids),
                        columns=list(s.classes))


def assert_same(a: pd.DataFrame, b: pd.DataFrame, atol: float = TOL) -> None:
    assert sorted(a.index.tolist()) == sorted(b.index.tolist())
    assert sorted(a.columns.tolist()) == sorted(b.columns.tolist())
    np.testing.assert_allclose(b.loc[a.index, a.columns].to_numpy(), a.to_numpy(), rtol=0, atol=atol)


def assert_distributions(p: np.ndarray) -> None:
    assert not np.isnan(p).any()
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("name", ANSWERS)
def test_same_answers_presented_differently_same_soft_labels(name, k):
    if name not in names_for(k):
        pytest.skip("KOS is for two classes")
    rng = np.random.default_rng(k)
    for seed in range(2):
        df = crowd(seed, k)
        a = fit(name, df)
        shuffled = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
        assert_same(a, fit(name, shuffled))
        workers = sorted(df["worker"].unique())
        new_worker = dict(zip(workers, rng.permutation(len(workers)) + 100))
        assert_same(a, fit(name, df.assign(worker=df["worker"].map(new_worker))))
        perm = rng.permutation(k)  # class c is renamed perm[c]: column perm[c] is old c
        moved = fit(name, df.assign(label=df["label"].map(dict(enumerate(perm.tolist())))))
        assert_same(a, moved.rename(columns={int(p): c for c, p in enumerate(perm)}))
        if name not in ITEM_SEEDED:
            items = sorted(df["item"].unique())
            new_item = dict(zip(items, rng.permutation(len(items)) + 1000))
            got = fit(name, df.assign(item=df["item"].map(new_item)))
            assert_same(a, got.rename(index={v: i for i, v in new_item.items()}))


@pytest.mark.parametrize("name", names_for(2))
def test_ids_of_another_type_in_the_same_order_change_nothing(name):
    """int ids and their zero-padded strings sort alike: even the seeded models (EBCC,
    stacking) draw the same numbers, so the soft labels are equal to the bit."""
    df = crowd(3)
    a = fit(name, df)
    as_text = df.assign(item=df["item"].map("{:03d}".format), worker=df["worker"].map("w{:02d}".format))
    b = fit(name, as_text)
    b.index = [int(i) for i in b.index]
    np.testing.assert_array_equal(b.loc[a.index, a.columns].to_numpy(), a.to_numpy())


@pytest.mark.parametrize("name", ANSWERS)
def test_a_worker_declared_without_answers_changes_nothing(name):
    ann = Annotations.from_frame(crowd(4))
    idle = Annotations(ann.item, ann.worker, ann.label, ann.item_ids,
                       np.append(ann.worker_ids, "idle").astype(object), ann.classes)
    model = softlabels.create_source(name).fit(idle)
    assert model.skills_.shape == (ann.n_workers + 1,) and np.isfinite(model.skills_).all()
    if name in COUNTING:  # CrowdModel's skills_: no answer, no agreement
        assert model.skills_[-1] == 0.0
    np.testing.assert_array_equal(model.soft_labels_.probs,
                                  softlabels.create_source(name).fit(ann).soft_labels_.probs)


@pytest.mark.parametrize("name", names_for(3))
def test_a_class_nobody_answered_follows_the_declared_order(name):
    """Declaring the unanswered class first or last only moves its column; the
    vote-counting models give it 0, and no model makes it any item's most likely
    class."""
    df = crowd(5).assign(label=lambda d: d["label"].map({0: "a", 1: "b"}))
    last = fit(name, Annotations.from_frame(df, classes=["a", "b", "z"]))
    first = fit(name, Annotations.from_frame(df, classes=["z", "a", "b"]))
    assert first.columns.tolist() == ["z", "a", "b"] and last.columns.tolist() == ["a", "b", "z"]
    assert_same(last, first)
    assert_distributions(last.to_numpy())
    if name in COUNTING:
        assert (last["z"] == 0).all()
    assert (last["z"] < last[["a", "b"]].max(axis=1)).all()


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item", "worker", "label"])


DEGENERATE = {
    # every worker names every class once, on one item: nothing favours any class
    "each-class-once-one-item": (frame([(0, w, c) for w in range(3) for c in range(3)]), None),
    "each-worker-another-class": (frame([(0, w, w) for w in range(3)]), None),
    "each-pair-disagrees-both-ways": (frame([(0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0)]), None),
    # every worker agrees, with a second class declared
    "all-agree-two-declared": (frame([(i, w, 1) for i in range(3) for w in range(3)]), [0, 1]),
    "one-item-one-answer-three-declared": (frame([(0, 0, 2)]), [0, 1, 2]),
}


@pytest.mark.parametrize("case", DEGENERATE)
@pytest.mark.parametrize("name", ANSWERS)
def test_degenerate_crowds_give_distributions(name, case):
    df, classes = DEGENERATE[case]
    ann = Annotations.from_frame(df, classes=classes)
    if name == "kos" and ann.n_classes > 2:
        pytest.skip("KOS is for two classes")
    p = softlabels.create_source(name).fit(ann).soft_labels_.probs
    assert p.shape == (ann.n_items, ann.n_classes)
    assert_distributions(p)
    if case.startswith("each-"):  # symmetric in the classes: every class equally likely
        np.testing.assert_allclose(p, 1.0 / ann.n_classes, rtol=0, atol=TOL)
    else:  # every answer names one class: it is the most likely on every item
        answered = int(df["label"].iloc[0])
        assert (p.argmax(axis=1) == list(ann.classes).index(answered)).all()


def test_hard_labels_break_exact_ties_by_class_order_as_documented():
    """CrowdModel.labels_: an exact tie goes to the first class in class order, so
    renaming the classes moves the soft label's columns but may change the hard label."""
    df = frame([(0, "u", "x"), (0, "v", "y"), (1, "u", "x"), (1, "w", "x")])
    for classes in (["x", "y"], ["y", "x"]):
        model = softlabels.create_source("majority-vote").fit(Annotations.from_frame(df, classes=classes))
        assert model.soft_labels_.probs[0].tolist() == [0.5, 0.5]
        assert model.labels_.tolist() == [classes[0], "x"]
