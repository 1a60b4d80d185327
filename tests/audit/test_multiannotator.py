"""Consensus, annotator quality and relabelling (softlabels.audit.multiannotator)."""

from __future__ import annotations

import doctest
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softlabels import SoftLabels
from softlabels.audit import multiannotator
from softlabels.audit.multiannotator import annotator_quality, consensus, select_items_to_relabel
from softlabels.core.annotations import Annotations
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.datasets import make_crowd

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cifar10"

HAND = pd.DataFrame(
    {
        "item": [1, 1, 1, 2, 2, 2, 3, 3],
        "worker": ["a", "b", "c", "a", "b", "c", "a", "b"],
        "label": ["x", "x", "y", "y", "y", "y", "x", "y"],
    }
)
HAND_PROBS = [[0.8, 0.2], [0.1, 0.9], [0.3, 0.7]]


# ---------------------------------------------------------------------- naive reference
def reference(answers: pd.DataFrame, probs, classes):
    """CROWDLAB as written in the module docstring, one answer at a time."""
    k = len(classes)
    code = {c: i for i, c in enumerate(classes)}
    items = list(dict.fromkeys(answers["item"]))
    workers = list(dict.fromkeys(answers["worker"]))
    rows = list(zip(answers["item"], answers["worker"], answers["label"].map(code)))
    by_item = defaultdict(list)
    for it, w, lab in rows:
        by_item[it].append((w, lab))
    first = {}
    for i, it in enumerate(items):
        counts = [sum(1 for _, lab in by_item[it] if lab == c) for c in range(k)]
        top = max(counts)
        tied = [c for c in range(k) if counts[c] == top]
        first[it] = max(tied, key=lambda c: (probs[i][c], -c)) if probs is not None else tied[0]
    hits, shared = defaultdict(int), defaultdict(int)
    for it, w, lab in rows:
        if len(by_item[it]) >= 2:
            shared[w] += 1
            hits[w] += lab == first[it]
    agree = {w: hits[w] / shared[w] for w in workers if shared[w]}
    n_shared = sum(shared.values())
    trust = sum(hits.values()) / n_shared if n_shared else 1.0
    trust = min(max(trust, 1 / k), 1 - 1e-6)
    fill = sum(agree.values()) / len(agree) if agree else 1.0
    freq = [sum(1 for it in items if first[it] == c) / len(items) for c in range(k)]
    base = max(1 - max(freq), 1e-6)
    weight = {w: max(1 - (1 - agree.get(w, fill)) / base, 1e-3) for w in workers}
    w_model = 0.0
    if probs is not None:
        err = sum(int(np.argmax(probs[i])) != first[it] for i, it in enumerate(items)) / len(items)
        mean_answers = len(rows) / len(items)
        w_model = max(1 - err / base, 1e-3) * math.sqrt(mean_answers)

    def combined(i, it, skip=None):
        num = [w_model * (probs[i][c] if probs is not None else 0.0) for c in range(k)]
        den = w_model
        for n, (w, lab) in enumerate(by_item[it]):
            if n == skip:
                continue
            for c in range(k):
                num[c] += weight[w] * (trust if c == lab else (1 - trust) / (k - 1))
            den += weight[w]
        return [v / den for v in num] if den > 1e-12 else None

    post = {it: combined(i, it) for i, it in enumerate(items)}
    cons = {it: int(np.argmax(post[it])) for it in items}
    w_bar = sum(weight.values()) / len(weight)
    relabel = {}
    for i, it in enumerate(items):
        c = cons[it]
        num = w_model * (probs[i][c] if probs is not None else 0.0) + w_bar / k
        den = w_model + w_bar
        for w, lab in by_item[it]:
            num += weight[w] * (trust if c == lab else (1 - trust) / (k - 1))
            den += weight[w]
        relabel[it] = num / den
    # workers: agreement with the final consensus, leave-one-out label quality
    lq, n_lq, hit2, sh2 = defaultdict(float), defaultdict(int), defaultdict(int), defaultdict(int)
    for i, it in enumerate(items):
        for n, (w, lab) in enumerate(by_item[it]):
            if len(by_item[it]) >= 2:
                sh2[w] += 1
                hit2[w] += lab == cons[it]
            q = combined(i, it, skip=n)
            if q is not None:
                lq[w] += q[lab]
                n_lq[w] += 1
    lam = w_model / (w_model + w_bar)
    quality = {}
    for w in workers:
        a = hit2[w] / sh2[w] if sh2[w] else None
        q = lq[w] / n_lq[w] if n_lq[w] else None
        parts = [(lam, q), (1 - lam, a)]
        tot = sum(s for s, v in parts if v is not None)
        quality[w] = sum(s * v for s, v in parts if v is not None) / tot if tot > 0 else None
    return post, cons, relabel, quality, weight


def random_crowd(seed: int, n_items: int = 25, k: int = 3):
    rng = np.random.default_rng(seed)
    answers, truth = make_crowd(n_items=n_items, n_workers=7, n_classes=k, answers_per_item=3, random_state=seed)
    keep = rng.random(len(answers)) > 0.3  # some items end with one or two answers
    keep[np.unique(answers["item"], return_index=True)[1]] = True
    answers = answers[keep].reset_index(drop=True)
    probs = rng.dirichlet(np.ones(k), size=answers["item"].nunique())
    return answers, probs


# ---------------------------------------------------------------------- hand-computed
def test_consensus_hand_computed():
    out = consensus(HAND, pred_probs=HAND_PROBS)
    assert out.columns.tolist() == ["item", "consensus_label", "consensus_quality", "annotator_agreement", "num_answers"]
    assert out["consensus_label"].tolist() == ["x", "y", "y"]
    # first consensus x, y, y (item 3 tied, the model breaks it); agreement a 2/3, b 1, c 1/2;
    # baseline error 1/3 -> weights a 0.001, b 1, c 0.001; trust 6/8; model error 0 -> w_M = sqrt(8/3)
    w_m = math.sqrt(8 / 3)
    votes_x, votes_y = 1.001, 0.001
    num_x = 0.75 * votes_x + 0.25 * votes_y + w_m * 0.8
    q1 = num_x / (1.002 + w_m)
    assert out["consensus_quality"].iloc[0] == pytest.approx(q1)
    assert out["annotator_agreement"].tolist() == pytest.approx([2 / 3, 1.0, 0.5])
    assert out.attrs["model_weight"] == pytest.approx(w_m)
    assert out.attrs["trust"] == pytest.approx(0.75)


def test_consensus_without_model_is_a_weighted_vote():
    out = consensus(HAND)
    # tie on item 3 goes to the first class; a and b agree fully, c is the odd one out
    assert out["consensus_label"].tolist() == ["x", "y", "x"]
    assert out.attrs["model_weight"] == 0.0
    unanimous = out["consensus_quality"].iloc[1]
    assert unanimous == pytest.approx(out.attrs["trust"])


def test_annotator_quality_hand_computed():
    q = annotator_quality(HAND, pred_probs=HAND_PROBS)
    assert q.columns.tolist() == ["worker", "num_answers", "agreement", "label_quality", "quality", "weight"]
    assert q["worker"].tolist() == ["a", "b", "c"]
    assert q["num_answers"].tolist() == [3, 3, 2]
    assert q["agreement"].tolist() == pytest.approx([2 / 3, 1.0, 0.5])
    assert q["quality"].iloc[1] > q["quality"].iloc[0] > q["quality"].iloc[2]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("with_model", [True, False])
def test_everything_matches_loop_reference(seed, with_model):
    answers, probs = random_crowd(seed)
    ann = Annotations.from_frame(answers)
    p = probs if with_model else None
    post, cons, relabel, quality, weight = reference(answers, p, list(ann.classes))
    out = consensus(ann, p)
    items = list(ann.item_ids)
    np.testing.assert_array_equal(out["consensus_label"], [ann.classes[cons[i]] for i in items])
    np.testing.assert_allclose(out["consensus_quality"], [post[i][cons[i]] for i in items], rtol=1e-10)
    q = annotator_quality(ann, p)
    want = [np.nan if quality[w] is None else quality[w] for w in ann.worker_ids]
    np.testing.assert_allclose(q["quality"], want, rtol=1e-10)
    np.testing.assert_allclose(q["weight"], [weight[w] for w in ann.worker_ids], rtol=1e-12)
    order = sorted(items, key=lambda i: (relabel[i], ann.answers_per_item[items.index(i)], items.index(i)))
    assert select_items_to_relabel(ann, p, budget=10).tolist() == order[:10]


# ---------------------------------------------------------------------- relabelling
def test_relabel_prefers_split_and_thin_items():
    answers = pd.DataFrame(
        {
            "item": ["p"] * 5 + ["q", "q", "r", "s", "s", "s"],
            "worker": list("abcde") + ["a", "b", "c", "a", "b", "c"],
            "label": [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
        }
    )
    order = select_items_to_relabel(answers, budget=4).tolist()
    assert order[0] == "q"  # split 1-1
    assert order[1] == "r"  # one answer
    assert order[-1] == "p"  # five agreeing answers
    assert select_items_to_relabel(answers, budget=100).tolist() == order  # capped at n_items


def test_relabel_uses_the_model():
    answers = pd.DataFrame({"item": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"], "label": [0, 0, 0, 0]})
    probs = [[0.02, 0.98], [0.98, 0.02]]  # the model contradicts item 1
    assert select_items_to_relabel(answers, probs, budget=1, classes=[0, 1]).tolist() == [1]


# ---------------------------------------------------------------------- inputs
def test_soft_labels_are_aligned_by_item_id():
    shuffled = SoftLabels(np.array(HAND_PROBS)[[2, 0, 1]], classes=["x", "y"], item_ids=[3, 1, 2])
    a = consensus(HAND, shuffled)
    b = consensus(HAND, HAND_PROBS)
    pd.testing.assert_frame_equal(a, b)
    missing = SoftLabels(HAND_PROBS[:2], classes=["x", "y"], item_ids=[1, 2])
    with pytest.raises(InputError, match="pred_probs has no row for item 3"):
        consensus(HAND, missing)



def test_soft_labels_are_aligned_by_class_name():
    probs = np.array(HAND_PROBS)
    reordered = SoftLabels(probs[:, ::-1], classes=["y", "x"], item_ids=[1, 2, 3])
    pd.testing.assert_frame_equal(consensus(HAND, reordered), consensus(HAND, HAND_PROBS))
    other = SoftLabels(probs, classes=["p", "q"], item_ids=[1, 2, 3])
    with pytest.raises(InputError,
                       match=r"pred_probs has classes \['p', 'q'\] but expected \['x', 'y'\]"):
        consensus(HAND, other)

def test_bad_input():
    with pytest.raises(InputError, match="pred_probs has 2 rows but the annotations have 3 items"):
        consensus(HAND, HAND_PROBS[:2])
    with pytest.raises(InputError, match="pred_probs has 3 columns; expected 2 classes"):
        annotator_quality(HAND, [[0.2, 0.3, 0.5]] * 3)
    with pytest.raises(InputError, match=r"pred_probs: 1 rows do not sum to 1"):
        consensus(HAND, [[0.8, 0.3], [0.1, 0.9], [0.3, 0.7]])
    with pytest.raises(InputError, match="answers must be an Annotations"):
        consensus([1, 2, 3])
    with pytest.raises(InputError, match="at least 2 classes"):
        consensus(pd.DataFrame({"item": [1, 2], "worker": ["a", "a"], "label": ["x", "x"]}))
    with pytest.raises(InvalidParameterError, match="'budget'.*>= 1"):
        select_items_to_relabel(HAND, budget=0)


# ---------------------------------------------------------------------- properties
@settings(max_examples=30)
@given(st.integers(0, 2**32 - 1), st.integers(2, 5))
def test_results_do_not_depend_on_row_order_or_class_names(seed, k):
    answers, probs = random_crowd(seed, n_items=15, k=k)
    rng = np.random.default_rng(seed)
    ann = Annotations.from_frame(answers, classes=list(range(k)))
    base = consensus(ann, probs).set_index("item")
    assert base["consensus_quality"].between(0, 1).all()
    quality = annotator_quality(ann, probs).set_index("worker")
    assert quality["quality"].dropna().between(0, 1).all()

    shuffled = answers.sample(frac=1.0, random_state=int(rng.integers(1 << 30))).reset_index(drop=True)
    ann2 = Annotations.from_frame(shuffled, classes=list(range(k)))
    pos = pd.Index(ann.item_ids).get_indexer(ann2.item_ids)
    other = consensus(ann2, probs[pos]).set_index("item").loc[base.index]
    pd.testing.assert_frame_equal(other, base, check_exact=False, rtol=1e-9)
    q2 = annotator_quality(ann2, probs[pos]).set_index("worker").loc[quality.index]
    pd.testing.assert_frame_equal(q2, quality, check_exact=False, rtol=1e-9)

    # rename the classes so that their order reverses: same consensus up to renaming
    renamed = answers.assign(label=(k - 1 - answers["label"]).map(lambda c: f"c{c}"))
    ann3 = Annotations.from_frame(renamed, classes=[f"c{c}" for c in range(k)])
    out3 = consensus(ann3, probs[:, ::-1]).set_index("item")
    back = out3["consensus_label"].map(lambda s: k - 1 - int(s[1:]))
    ties = np.isclose(  # relabelling may only change the winner of an exact tie
        np.sort(probs, axis=1)[:, -1], np.sort(probs, axis=1)[:, -2]
    ).any()
    if not ties:
        assert (back == base["consensus_label"]).all()
        np.testing.assert_allclose(out3["consensus_quality"], base["consensus_quality"], rtol=1e-9)


# ---------------------------------------------------------------------- synthetic recovery
def test_model_and_weights_beat_majority_vote():
    answers, truth = make_crowd(n_items=600, n_workers=20, n_classes=4, answers_per_item=3,
                                accuracy=(0.35, 0.95), random_state=7)
    ann = Annotations.from_frame(answers)
    true = truth.loc[ann.item_ids].to_numpy()
    rng = np.random.default_rng(7)
    logits = 2.0 * np.eye(4)[true] + rng.normal(size=(ann.n_items, 4))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    majority = ann.classes[ann.counts.argmax(axis=1)]
    acc = lambda labels: np.mean(np.asarray(labels) == true)  # noqa: E731
    weighted = consensus(ann)["consensus_label"]
    with_model = consensus(ann, probs)
    assert acc(weighted) > acc(majority)
    assert acc(with_model["consensus_label"]) > max(acc(weighted), acc(probs.argmax(axis=1))) + 0.02
    wrong = with_model["consensus_label"].to_numpy() != true
    ranks = with_model["consensus_quality"].rank().to_numpy()  # low quality flags wrong consensus
    auroc = 1 - (ranks[wrong].sum() - wrong.sum() * (wrong.sum() + 1) / 2) / (wrong.sum() * (~wrong).sum())
    assert auroc > 0.85

    q = annotator_quality(ann, probs)
    real = pd.Series(answers["label"].to_numpy() == truth.loc[answers["item"]].to_numpy()).groupby(
        answers["worker"].to_numpy()).mean()
    corr = np.corrcoef(q["quality"], real.loc[q["worker"]].to_numpy())[0, 1]
    assert corr > 0.9

    # one more answer from a good worker on the selected items fixes more than at random
    chosen = select_items_to_relabel(ann, probs, budget=100)
    picked_wrong = np.isin(ann.item_ids, chosen) & wrong
    assert picked_wrong.sum() > 3 * wrong.mean() * 100


def test_doc_examples_run():
    result = doctest.testmod(multiannotator, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 6 and result.failed == 0


# ---------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_cifar10h_three_simulated_annotators():
    files = [DATA / f for f in ("pred_probs.npy", "cifar10h_counts.npy")]
    if not all(f.is_file() for f in files):
        pytest.skip(f"CIFAR-10 data not found under {DATA}")
    probs, counts = (np.load(f) for f in files)
    n = 3000
    truth = counts[:n].argmax(axis=1)
    rng = np.random.default_rng(0)
    skill = rng.uniform(0.4, 1.0, 30)  # answer from the human vote distribution, else at random
    item = np.repeat(np.arange(n), 3)
    worker = np.concatenate([rng.choice(30, 3, replace=False) for _ in range(n)])
    dist = counts[item] / counts[item].sum(axis=1, keepdims=True)
    human = np.minimum((rng.random(item.size)[:, None] > dist.cumsum(axis=1)).sum(axis=1), 9)
    label = np.where(rng.random(item.size) < skill[worker], human, rng.integers(0, 10, item.size))
    ann = Annotations.from_frame(pd.DataFrame({"item": item, "worker": worker, "label": label}),
                                 classes=list(range(10)))
    majority = np.mean(ann.counts.argmax(axis=1) == truth)
    out = consensus(ann, probs[:n])
    acc = np.mean(out["consensus_label"].to_numpy().astype(int) == truth)
    assert majority < 0.87 and acc > 0.95
