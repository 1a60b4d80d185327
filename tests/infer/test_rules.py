"""Labeling rules: labeling functions, vote-matrix analysis and the label models."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softlabels import Annotations
from softlabels.core.errors import InputError, InvalidParameterError, NotFittedError
from softlabels.infer.base import clone
from softlabels.infer.crowd import DawidSkene, OneCoinDawidSkene
from softlabels.infer.rules import (
    LabelingFunction,
    LabelModel,
    MatrixCompletionLabelModel,
    analyze_rules,
    apply_rules,
    labeling_function,
    load_rules,
    vote_summary,
)

SPAM_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "spam"
# the example vote matrix of snorkel's LFAnalysis docstrings
SNORKEL_L = np.array([[-1, 0, 0], [-1, -1, -1], [1, 0, -1], [-1, 0, -1], [0, 0, 0]])
MODELS = ([LabelModel(model=m) for m in LabelModel.MODELS] + [LabelModel(uncovered="prior")]
          + [MatrixCompletionLabelModel()])


def make_votes(n, m, prior, seed, *, cover=(0.1, 0.6), acc=(0.55, 0.95)):
    """Conditionally independent rules: vote with probability U(cover), then right with
    probability U(acc), otherwise another class at random."""
    rng = np.random.default_rng(seed)
    k = len(prior)
    y = rng.choice(k, n, p=prior)
    c, a = rng.uniform(*cover, m), rng.uniform(*acc, m)
    fire = rng.random((n, m)) < c
    right = rng.random((n, m)) < a
    wrong = (y[:, None] + rng.integers(1, k, (n, m))) % k
    return np.where(fire, np.where(right, y[:, None], wrong), -1), y, a


def majority_accuracy(L, y, k):
    """Accuracy of majority vote on covered items, ties given half credit."""
    counts = np.stack([(L == c).sum(axis=1) for c in range(k)], axis=1)
    return half_credit(counts.astype(float), y, counts.sum(axis=1) > 0)


def half_credit(probs, y, covered):
    win = probs >= probs.max(axis=1, keepdims=True) - 1e-9
    return float((win / win.sum(axis=1, keepdims=True))[np.arange(y.size), y][covered].mean())


# ====================================================================== labeling functions
def test_decorator_bare_and_with_options_and_row_access():
    @labeling_function
    def link(row):
        return 1 if "http" in row.text else -1

    @labeling_function(name="short", column="text")
    def is_short(text):
        return 0 if len(text.split()) < 3 else -1

    @labeling_function(name="bang", abstain=None)
    def bang(row):
        return 1 if "!" in row["text"] else None

    assert isinstance(link, LabelingFunction) and link.name == "link"
    data = pd.DataFrame({"text": ["hi", "see http://x.io now!", "a long quiet comment"]},
                        index=["a", "b", "c"])
    L = apply_rules([link, is_short, bang], data)
    assert list(L.columns) == ["link", "short", "bang"]
    assert L.index.tolist() == ["a", "b", "c"]
    assert L.dtypes.tolist() == [np.int32] * 3
    assert L.to_numpy().tolist() == [[-1, 0, -1], [1, -1, 1], [-1, -1, -1]]


def test_vectorised_rules_over_a_column_and_over_the_table():
    @labeling_function(column="n", vectorized=True)
    def big(n):
        return np.where(n > 10, 1, -1)

    @labeling_function(vectorized=True)
    def both(frame):
        return pd.Series(np.where((frame["n"] > 10) & (frame["s"] == "x"), 0, -1))

    data = pd.DataFrame({"n": [5, 20, 30], "s": ["x", "x", "y"]})
    L = apply_rules([big, both], data, classes=2)
    assert L.to_numpy().tolist() == [[-1, -1], [1, 0], [1, -1]]


def test_plain_callables_and_a_single_rule():
    def shout(row):
        return 1 if row.t.isupper() else -1

    L = apply_rules(shout, pd.DataFrame({"t": ["HEY", "hey"]}))
    assert L.columns.tolist() == ["shout"] and L["shout"].tolist() == [1, -1]


def test_a_rule_that_raises_names_rule_and_row():
    @labeling_function(column="t")
    def fragile(t):
        return 1 // len(t)

    with pytest.raises(InputError, match=r"rule 'fragile' raised ZeroDivisionError on row 1 \(index 'q'\)"):
        apply_rules([fragile], pd.DataFrame({"t": ["a", ""]}, index=["p", "q"]))
    vec = LabelingFunction(lambda f: f["missing"], name="vec", vectorized=True)
    with pytest.raises(InputError, match="rule 'vec' raised KeyError"):
        apply_rules([vec], pd.DataFrame({"t": ["a"]}))


def test_a_rule_returning_an_out_of_range_label_names_rule_row_and_value():
    five = LabelingFunction(lambda t: 5 if t == "b" else -1, name="five", column="t")
    with pytest.raises(InputError, match=r"rule 'five' returned 5 on row 1 .*0\.\.1"):
        apply_rules([five], pd.DataFrame({"t": ["a", "b"]}), classes=2)
    assert apply_rules([five], pd.DataFrame({"t": ["a", "b"]}))["five"].tolist() == [-1, 5]
    minus = LabelingFunction(lambda t: -2, name="minus", column="t")
    with pytest.raises(InputError, match=r"rule 'minus' returned -2 on row 0"):
        apply_rules([minus], pd.DataFrame({"t": ["a"]}))
    vec = LabelingFunction(lambda t: np.array([0, 3]), name="vec", column="t", vectorized=True)
    with pytest.raises(InputError, match=r"rule 'vec' returned 3 on row 1"):
        apply_rules([vec], pd.DataFrame({"t": ["a", "b"]}), classes=["x", "y"])


@pytest.mark.parametrize(
    ("value", "message"),
    [(True, "returned True.*boolean"), (None, "returned None"), ("spam", "returned 'spam'"),
     (0.5, "returned 0.5")],
)
def test_values_that_are_not_class_indices(value, message):
    rule = LabelingFunction(lambda t, v=value: v, name="odd", column="t")
    with pytest.raises(InputError, match=message):
        apply_rules([rule], pd.DataFrame({"t": ["a"]}))


def test_integral_floats_and_custom_abstain_values():
    rule = LabelingFunction(lambda t: 1.0 if t == "a" else "skip", name="r", column="t", abstain="skip")
    assert apply_rules([rule], pd.DataFrame({"t": ["a", "b"]}))["r"].tolist() == [1, -1]
    vec = LabelingFunction(lambda t: np.array([1.0, np.nan]), name="v", column="t", vectorized=True,
                           abstain=np.nan)
    with pytest.raises(InputError, match=r"returned nan on row 1"):
        apply_rules([vec], pd.DataFrame({"t": ["a", "b"]}))


def test_rule_list_errors():
    data = pd.DataFrame({"t": ["a"]})
    one = LabelingFunction(lambda t: -1, name="same", column="t")
    two = LabelingFunction(lambda t: 0, name="same", column="t")
    with pytest.raises(InputError, match="two rules are named 'same'"):
        apply_rules([one, two], data)
    with pytest.raises(InputError, match=r"rules\[1\] is int"):
        apply_rules([one, 3], data)
    with pytest.raises(InputError, match="rules is empty"):
        apply_rules([], data)
    with pytest.raises(InputError, match="reads the column 'text'"):
        apply_rules([LabelingFunction(lambda t: -1, name="r", column="text")], data)
    with pytest.raises(InputError, match="one vote per row"):
        apply_rules([LabelingFunction(lambda f: [1], name="r", vectorized=True)], pd.DataFrame({"t": [1, 2]}))
    with pytest.raises(InputError, match="must be a pandas DataFrame"):
        apply_rules([one], ["a"])
    with pytest.raises(InputError, match="has no column 'x'"):
        apply_rules([LabelingFunction(lambda row: row.x, name="r")], data)


def test_load_rules_from_a_file(tmp_path):
    decorated = tmp_path / "decorated.py"
    decorated.write_text(textwrap.dedent("""
        from softlabels.infer.rules import labeling_function

        @labeling_function(column="t")
        def second(t):
            return 1

        @labeling_function(column="t")
        def first(t):
            return 0
    """))
    assert [r.name for r in load_rules(decorated)] == ["second", "first"]
    listed = tmp_path / "listed.py"
    listed.write_text("def a(row):\n    return 0\n\ndef b(row):\n    return 1\n\nRULES = [b, a]\n")
    assert [r.name for r in load_rules(listed)] == ["b", "a"]
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(InputError, match="defines no rules"):
        load_rules(empty)
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    with pytest.raises(InputError, match="syntax error on line 1"):
        load_rules(broken)
    failing = tmp_path / "failing.py"
    failing.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(InputError, match="RuntimeError: boom"):
        load_rules(failing)
    with pytest.raises(InputError, match="no such file"):
        load_rules(tmp_path / "nope.py")
    (tmp_path / "folder.py").mkdir()
    with pytest.raises(InputError, match="folder.py: is a directory, not a file"):
        load_rules(tmp_path / "folder.py")


# ====================================================================== analysis
def test_analysis_matches_snorkels_documented_example():
    table = analyze_rules(SNORKEL_L, gold=[0, 1, 1, 0, 0])
    assert table["polarity"].tolist() == [[0, 1], [0], [0]]
    np.testing.assert_allclose(table["coverage"], [0.4, 0.8, 0.4])
    np.testing.assert_allclose(table["overlaps"], [0.4, 0.6, 0.4])
    np.testing.assert_allclose(table["conflicts"], [0.2, 0.2, 0.0])
    assert table["correct"].tolist() == [2, 3, 2]
    assert table["incorrect"].tolist() == [0, 1, 0]
    np.testing.assert_allclose(table["accuracy"], [1.0, 0.75, 1.0])
    assert vote_summary(SNORKEL_L) == {
        "n_items": 5, "n_rules": 3, "coverage": 0.8, "overlap": 0.6, "conflict": 0.2
    }


def naive_analysis(L, y):
    """LFAnalysis definitions, one item and one rule at a time."""
    n, m = L.shape
    rows = []
    for j in range(m):
        votes = [i for i in range(n) if L[i, j] >= 0]
        others = [i for i in votes if any(L[i, k] >= 0 for k in range(m) if k != j)]
        conflicted = [i for i in votes if any(L[i, k] >= 0 and L[i, k] != L[i, j] for k in range(m) if k != j)]
        known = [i for i in votes if y[i] >= 0]
        right = sum(L[i, j] == y[i] for i in known)
        rows.append((sorted({int(L[i, j]) for i in votes}), len(votes) / n, len(others) / n,
                     len(conflicted) / n, right, len(known) - right,
                     right / len(known) if known else np.nan))
    return rows


@settings(max_examples=40)
@given(st.integers(1, 30), st.integers(1, 6), st.integers(2, 4), st.integers(0, 10_000))
def test_analysis_against_a_naive_reference(n, m, k, seed):
    rng = np.random.default_rng(seed)
    L = rng.integers(-1, k, (n, m))
    L[rng.random((n, m)) < 0.4] = -1
    y = rng.integers(-1, k, n)
    table = analyze_rules(L, gold=y, classes=k)
    for j, expected in enumerate(naive_analysis(L, y)):
        got = table.iloc[j]
        assert got["polarity"] == expected[0]
        np.testing.assert_allclose(
            [got["coverage"], got["overlaps"], got["conflicts"], got["correct"], got["incorrect"]],
            expected[1:6],
        )
        np.testing.assert_allclose(got["accuracy"], expected[6])


def test_analysis_agrees_with_snorkel_on_random_matrices():
    analysis = pytest.importorskip("snorkel.labeling.analysis")
    rng = np.random.default_rng(0)
    L = rng.integers(-1, 3, (200, 5))
    L[rng.random(L.shape) < 0.5] = -1
    y = rng.integers(0, 3, 200)
    ours = analyze_rules(L, gold=y)
    theirs = analysis.LFAnalysis(L).lf_summary(Y=y)
    assert ours["polarity"].tolist() == theirs["Polarity"].tolist()
    for a, b in [("coverage", "Coverage"), ("overlaps", "Overlaps"), ("conflicts", "Conflicts"),
                 ("correct", "Correct"), ("incorrect", "Incorrect"), ("accuracy", "Emp. Acc.")]:
        np.testing.assert_allclose(ours[a].to_numpy(float), theirs[b].to_numpy(float))
    lfa = analysis.LFAnalysis(L)
    summ = vote_summary(L)
    assert summ["coverage"] == pytest.approx(lfa.label_coverage())
    assert summ["overlap"] == pytest.approx(lfa.label_overlap())
    assert summ["conflict"] == pytest.approx(lfa.label_conflict())


def test_analysis_names_gold_alignment_and_model_column():
    L = pd.DataFrame(SNORKEL_L, columns=["a", "b", "c"], index=[10, 11, 12, 13, 14])
    gold = pd.Series([0, 0, -1], index=[14, 10, 12])  # aligned on the index; 11 and 13 unknown
    table = analyze_rules(L, gold=gold)
    assert table.index.tolist() == ["a", "b", "c"]
    assert table["correct"].tolist() == [1, 2, 2]
    assert np.isnan(analyze_rules([[0, -1], [1, -1]], gold=[0, 1])["accuracy"].iloc[1])
    model = LabelModel().fit(L)
    np.testing.assert_allclose(analyze_rules(L, model=model)["learned_accuracy"], model.accuracies_)
    with pytest.raises(InputError, match="one label per item"):
        analyze_rules(L, gold=[0, 1])
    with pytest.raises(InputError, match="fitted on these 2 rules"):
        analyze_rules(np.zeros((5, 2), int), model=model)


@pytest.mark.parametrize(
    ("L", "message"),
    [
        ([[0, 1.5]], r"row 0, rule 'rule_1' is 1\.5, not an integer"),
        ([[0, np.nan]], r"row 0, rule 'rule_1' is missing"),
        ([[0, -3]], r"is -3; only -1 means abstain"),
        ([0, 1], r"must be 2-D"),
        (np.zeros((0, 2)), "no items"),
        ([[True, False]], "booleans"),
        (pd.DataFrame([["a", 0]], columns=["r", "s"]), r"rule 'r' is 'a', not an integer"),
    ],
)
def test_bad_vote_matrices(L, message):
    with pytest.raises(InputError, match=message):
        LabelModel().fit(L)


def test_votes_outside_the_declared_classes_and_sparse_input():
    with pytest.raises(InputError, match=r"is 2, outside the 2 classes 0\.\.1"):
        LabelModel(classes=["a", "b"]).fit([[0, 2], [1, 1]])
    import scipy.sparse as sp

    with pytest.raises(InputError, match="sparse matrix"):
        analyze_rules(sp.csr_matrix(np.eye(3)))
    with pytest.raises(InvalidParameterError, match="at least 2"):
        LabelModel(classes=1).fit([[0]])


# ====================================================================== label models: contract
@pytest.fixture(scope="module")
def votes3():
    L, y, _ = make_votes(300, 6, (0.5, 0.3, 0.2), seed=1)
    return L, y


@pytest.mark.parametrize("model", MODELS, ids=lambda m: getattr(m, "model", "matrix-completion"))
class TestContract:
    def test_distributions_ids_classes_support(self, model, votes3):
        L, _ = votes3
        frame = pd.DataFrame(L, index=[f"i{i}" for i in range(len(L))],
                             columns=[f"r{j}" for j in range(L.shape[1])])
        est = clone(model).set_params(classes=["a", "b", "c"])
        assert est.fit(frame) is est
        s = est.soft_labels_
        assert s.probs.shape == (300, 3) and np.isfinite(s.probs).all()
        np.testing.assert_allclose(s.probs.sum(axis=1), 1.0, atol=1e-9)
        assert s.item_ids.tolist() == frame.index.tolist()
        assert s.classes.tolist() == ["a", "b", "c"]
        assert s.support.tolist() == (L >= 0).sum(axis=1).tolist()
        assert est.labels_.tolist() == s.hard().tolist()
        assert est.confusions_.shape == (6, 3, 4)
        np.testing.assert_allclose(est.confusions_.sum(axis=2), 1.0, atol=1e-9)
        assert est.class_prior_.shape == (3,) and est.accuracies_.shape == (6,)
        assert est.reliability_frame()["rule"].tolist() == [f"r{j}" for j in range(6)]
        prov = s.provenance
        assert prov["method"] == est.name
        assert prov["params"] == json.loads(json.dumps(est.get_params()))

    def test_deterministic_and_row_order_invariant(self, model, votes3):
        L, _ = votes3
        p = clone(model).fit(L).soft_labels_.probs
        np.testing.assert_array_equal(clone(model).fit(L).soft_labels_.probs, p)
        perm = np.random.default_rng(0).permutation(len(L))
        np.testing.assert_allclose(clone(model).fit(L[perm]).soft_labels_.probs, p[perm], atol=1e-7)

    def test_uncovered_items_get_one_posterior_and_support_0(self, model, votes3):
        L, _ = votes3
        L = L.copy()
        L[:10] = -1
        est = clone(model).fit(L)
        np.testing.assert_allclose(est.soft_labels_.probs[:10], np.tile(est.uncovered_probs_, (10, 1)))
        assert (est.soft_labels_.support[:10] == 0).all()
        if getattr(model, "uncovered", "prior") == "prior":
            np.testing.assert_allclose(est.uncovered_probs_, est.class_prior_)
        else:  # some rules fire more on one class than on another: silence is evidence
            assert np.abs(est.uncovered_probs_ - est.class_prior_).max() > 1e-3

    def test_predict_proba_and_input_not_mutated(self, model, votes3):
        L, _ = votes3
        before = L.copy()
        est = clone(model).fit(L)
        np.testing.assert_array_equal(L, before)
        np.testing.assert_allclose(est.predict_proba(L), est.soft_labels_.probs, atol=1e-9)
        np.testing.assert_allclose(est.predict_proba(L[:7]), est.soft_labels_.probs[:7], atol=1e-9)
        with pytest.raises(InputError, match="fitted on 6"):
            est.predict_proba(L[:, :4])
        with pytest.raises(NotFittedError):
            clone(model).predict_proba(L)


def test_parameter_errors():
    L = [[0, 1, 1], [1, 1, 0]]
    with pytest.raises(InvalidParameterError, match="'model'.*Did you mean 'one-coin'"):
        LabelModel(model="one-coins").fit(L)
    with pytest.raises(InvalidParameterError, match="class_balance.*sum to 1"):
        LabelModel(class_balance=[0.5, 0.6]).fit(L)
    with pytest.raises(InvalidParameterError, match="3 entries but the votes have 2 classes"):
        LabelModel(class_balance=[0.2, 0.3, 0.5]).fit(L)
    with pytest.raises(InvalidParameterError, match="'alpha'"):
        LabelModel(alpha=-1).fit(L)
    with pytest.raises(InvalidParameterError, match="'prec_init'"):
        MatrixCompletionLabelModel(prec_init=2).fit(L)
    with pytest.raises(InputError, match="needs at least 3"):
        MatrixCompletionLabelModel().fit([[0, 1], [1, 1]])
    with pytest.raises(InputError, match="every rule abstains on every item"):
        LabelModel().fit([[-1, -1], [-1, -1]])
    with pytest.raises(InputError, match="every rule abstains on every item"):
        MatrixCompletionLabelModel().fit([[-1, -1, -1], [-1, -1, -1]])


# ====================================================================== label models: references
def nonabstain_annotations(L, workers):
    rows, cols = np.nonzero(L >= 0)
    return Annotations.from_arrays(rows, workers(cols), L[rows, cols], classes=list(range(L.max() + 1)))


def crowd_posteriors(model, L, workers):
    ann = nonabstain_annotations(L, workers)
    model.fit(ann)
    out = np.full((len(L), ann.n_classes), np.nan)
    out[ann.item_ids.astype(int)] = model.soft_labels_.probs
    return out, model


#: the crowd models without their prior towards the average worker and temperature
PLAIN = {"prior_strength": 0.0, "uncertainty": "plug-in"}


@pytest.mark.parametrize("k", [2, 3])
def test_dawid_skene_variant_is_the_crowd_model_on_the_non_abstain_votes(votes3, k):
    L, _, _ = make_votes(200, 5, (0.5, 0.5) if k == 2 else (0.5, 0.3, 0.2), seed=k)
    params = dict(n_iter=9, tol=0.0, alpha=0.01)
    ours = LabelModel(model="dawid-skene", class_balance="learn", **params).fit(L)
    ref, crowd = crowd_posteriors(DawidSkene(**params, **PLAIN), L, lambda c: c)
    covered = (L >= 0).any(axis=1)
    np.testing.assert_allclose(ours.soft_labels_.probs[covered], ref[covered], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.class_prior_, crowd.priors_, rtol=1e-9)


def test_one_coin_variants_are_the_crowd_one_coin_model(votes3):
    L, _ = votes3
    covered = (L >= 0).any(axis=1)
    for prior in ("uniform", "learn"):
        params = dict(n_iter=8, tol=0.0, alpha=0.01)
        ours = LabelModel(model="one-coin", class_balance=prior, **params).fit(L)
        ref, crowd = crowd_posteriors(OneCoinDawidSkene(prior=prior, **params, **PLAIN), L, lambda c: c)
        np.testing.assert_allclose(ours.soft_labels_.probs[covered], ref[covered], rtol=1e-9, atol=1e-12)
        # all votes given by one pseudo-annotator: one shared accuracy
        shared = LabelModel(model="shared-one-coin", class_balance=prior, **params).fit(L)
        ref, crowd = crowd_posteriors(OneCoinDawidSkene(prior=prior, **params, **PLAIN), L, np.zeros_like)
        np.testing.assert_allclose(shared.soft_labels_.probs[covered], ref[covered], rtol=1e-9, atol=1e-12)
        assert shared.shared_accuracy_ == pytest.approx(crowd.skills_[0])


def naive_data_programming(L, k, n_iter, alpha):
    """EM for P(output | y) with abstain as output k, written with loops from the model."""
    n, m = L.shape
    out = np.where(L < 0, k, L)
    counts = np.zeros((n, k))
    for i in range(n):
        for j in range(m):
            if L[i, j] >= 0:
                counts[i, L[i, j]] += 1
    post = np.zeros((n, k))
    for i in range(n):
        total = counts[i].sum()
        post[i] = counts[i] / total if total else 1.0 / k
    for _ in range(n_iter):
        theta = np.full((m, k, k + 1), alpha)
        for i in range(n):
            for j in range(m):
                theta[j, :, out[i, j]] += post[i]
        theta /= theta.sum(axis=2, keepdims=True)
        prior = post.sum(axis=0) + 1e-3
        prior /= prior.sum()
        for i in range(n):
            logp = np.log(prior).copy()
            for j in range(m):
                logp += np.log(theta[j, :, out[i, j]])
            p = np.exp(logp - logp.max())
            post[i] = p / p.sum()
    return post, prior


def test_data_programming_against_a_naive_reference():
    L, _, _ = make_votes(60, 4, (0.6, 0.4), seed=3)
    ours = LabelModel(model="data-programming", class_balance="learn", n_iter=6, tol=0.0, alpha=0.5).fit(L)
    post, prior = naive_data_programming(L, 2, 6, 0.5)
    covered = (L >= 0).any(axis=1)
    np.testing.assert_allclose(ours.soft_labels_.probs[covered], post[covered], rtol=1e-9)
    np.testing.assert_allclose(ours.class_prior_, prior, rtol=1e-9)


@settings(max_examples=30)
@given(st.integers(2, 40), st.integers(1, 7), st.integers(2, 4), st.integers(0, 10_000))
def test_shared_pooled_and_fully_pooled_models_follow_the_majority_vote(n, m, k, seed):
    rng = np.random.default_rng(seed)
    L = rng.integers(-1, k, (n, m))
    if (L < 0).all():
        L[0, 0] = 0
    shared = LabelModel(classes=k, model="shared-one-coin").fit(L).soft_labels_.probs
    pooled = LabelModel(classes=k, model="pooled-one-coin").fit(L).soft_labels_.probs
    rules = LabelModel(classes=k, model="one-coin").fit(L).soft_labels_.probs
    # the hierarchical model as its pooling grows: every rule at the shared accuracy
    fully = LabelModel(classes=k, model="hierarchical-one-coin", pooling=1e9).fit(L).soft_labels_.probs
    counts = np.stack([(L == c).sum(axis=1) for c in range(k)], axis=1)
    top = counts == counts.max(axis=1, keepdims=True)
    clear = (top.sum(axis=1) == 1) & (counts.sum(axis=1) > 0)
    for probs in (shared, pooled, fully):
        np.testing.assert_array_equal(probs[clear].argmax(axis=1), counts[clear].argmax(axis=1))
    np.testing.assert_allclose(pooled[clear], shared[clear], rtol=1e-12)
    # shared: tied classes share the top probability equally; pooled: the same total
    # mass, split in proportion to the per-rule one-coin posterior
    tied = top & ~clear[:, None] & (counts.sum(axis=1) > 0)[:, None]
    for i in np.flatnonzero(tied.any(axis=1)):
        t = tied[i]
        np.testing.assert_allclose(shared[i, t], shared[i, t].max(), rtol=1e-9)
        np.testing.assert_allclose(pooled[i, t], shared[i, t].sum() * rules[i, t] / rules[i, t].sum(),
                                   rtol=1e-9)
        np.testing.assert_allclose(pooled[i, ~t], shared[i, ~t], rtol=1e-12)


def test_pooled_model_breaks_a_tie_towards_the_more_accurate_rule():
    # rules 0 and 1 agree with the majority everywhere but item 0; rule 2 mostly does not
    L = np.array([[1, -1, 0]] + [[1, 1, 0]] * 6 + [[0, 0, 1]] * 6 + [[1, 1, -1]] * 3 + [[0, 0, -1]] * 3)
    model = LabelModel(model="pooled-one-coin").fit(L)
    probs = model.soft_labels_.probs
    assert probs[0, 1] > probs[0, 0]  # rule 0 is the more accurate voter of the tie
    assert probs[0].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(model.predict_proba(L), probs, rtol=1e-9)
    shared = LabelModel(model="shared-one-coin").fit(L)
    assert shared.soft_labels_.probs[0].tolist() == pytest.approx([0.5, 0.5])
    assert model.shared_accuracy_ == pytest.approx(shared.shared_accuracy_)


def test_hierarchical_model_without_pooling_is_the_one_coin_model(votes3):
    L, _ = votes3
    params = dict(n_iter=8, tol=0.0, alpha=0.5)
    ours = LabelModel(model="hierarchical-one-coin", pooling=0.0, **params).fit(L)
    ref = LabelModel(model="one-coin", **params).fit(L)
    np.testing.assert_allclose(ours.soft_labels_.probs, ref.soft_labels_.probs, rtol=1e-12)


def test_hierarchical_model_is_the_crowd_one_coin_model_with_a_prior_skill(votes3):
    L, _ = votes3
    covered = (L >= 0).any(axis=1)
    params = dict(n_iter=8, tol=0.0, alpha=0.5)
    ours = LabelModel(model="hierarchical-one-coin", pooling=25.0, prior_accuracy=0.85, **params).fit(L)
    crowd = OneCoinDawidSkene(prior_strength=25.0, prior_skill=0.85, uncertainty="plug-in", **params)
    ref, _ = crowd_posteriors(crowd, L, lambda c: c)
    np.testing.assert_allclose(ours.soft_labels_.probs[covered], ref[covered], rtol=1e-9, atol=1e-12)


def test_hierarchical_model_gives_rules_that_never_meet_the_prior_accuracy():
    # every item has one vote; nothing tells the rules apart, so at the fixed point
    # s_bar = (sum n s + pooling mu) / (N + pooling) and s_j = (n_j s_j + pooling s_bar) /
    # (n_j + pooling) (alpha 0) give s_j = s_bar = mu: each vote is right with mu = 0.8
    L = np.array([[1, -1, -1]] * 3 + [[-1, 0, -1]] * 5 + [[-1, -1, 1]] * 2)
    model = LabelModel(model="hierarchical-one-coin", alpha=0.0, pooling=10.0, prior_accuracy=0.8,
                       n_iter=2000, tol=0.0).fit(L)
    np.testing.assert_allclose(model.accuracies_, 0.8, atol=1e-9)
    np.testing.assert_allclose(model.soft_labels_.probs[0], [0.2, 0.8], atol=1e-9)
    np.testing.assert_allclose(model.soft_labels_.probs[3], [0.8, 0.2], atol=1e-9)
    # without pooling the one-coin model's add-alpha prior pulls the same rules to chance
    plain = LabelModel(model="one-coin", alpha=1.0, n_iter=2000, tol=0.0).fit(L)
    np.testing.assert_allclose(plain.soft_labels_.probs[0], [0.5, 0.5], atol=1e-3)


def test_hierarchical_model_one_em_step_by_hand():
    # init: soft vote. Rule 0 votes 1 on items 0-2; rule 1 votes 1 on items 0-1 and 0 on
    # item 2 (item 2 is a tie: 0.5). Agreements: rule 0: 1 + 1 + 0.5 = 2.5 of 3; rule 1:
    # 1 + 1 + 0.5 = 2.5 of 3. s_bar = (5 + 4 * 0.75) / (6 + 4) = 0.8; s_j = (2.5 + 4 * 0.8)
    # / (3 + 4) = 5.7 / 7 (alpha 0). Item 0 (two votes for 1): P(1) = s^2 / (s^2 + (1-s)^2).
    L = np.array([[1, 1], [1, 1], [1, 0]])
    model = LabelModel(model="hierarchical-one-coin", alpha=0.0, pooling=4.0, prior_accuracy=0.75,
                       n_iter=1, tol=0.0).fit(L)
    s = 5.7 / 7
    np.testing.assert_allclose(model.soft_labels_.probs[0, 1], s**2 / (s**2 + (1 - s) ** 2), rtol=1e-12)
    np.testing.assert_allclose(model.soft_labels_.probs[2], [0.5, 0.5], rtol=1e-12)


def test_hierarchical_model_from_a_spec_and_its_parameter_errors():
    from softlabels.infer.registry import create_source, parse_spec

    name, params = parse_spec("rules-label-model:model=hierarchical-one-coin,pooling=30,prior_accuracy=0.7")
    model = create_source(name, **params)
    assert (model.model, model.pooling, model.prior_accuracy) == ("hierarchical-one-coin", 30, 0.7)
    L = [[0, 1, 1], [1, 1, 0]]
    with pytest.raises(InvalidParameterError, match="'prior_accuracy'"):
        LabelModel(model="hierarchical-one-coin", prior_accuracy=1.0).fit(L)
    with pytest.raises(InvalidParameterError, match="'pooling'"):
        LabelModel(model="hierarchical-one-coin", pooling=-1).fit(L)


def naive_silent_posterior(L, post, prior, alpha):
    """Check of the fixed point, with loops: q[y] = prior[y] prod_j (1 - f[j, y]) / Z with
    f[j, y] = (posterior mass of y where rule j votes + alpha) / (mass of y + 2 alpha),
    the masses over all items (those without a vote carry q)."""
    n, m = L.shape
    k = post.shape[1]
    q = np.array(prior, dtype=float)
    for y in range(k):
        total = sum(post[i, y] for i in range(n))
        for j in range(m):
            fired = sum(post[i, y] for i in range(n) if L[i, j] >= 0)
            q[y] *= 1.0 - (fired + alpha) / (total + 2 * alpha)
    return q / q.sum()


@pytest.mark.parametrize("model", ["pooled-one-coin", "hierarchical-one-coin", "one-coin"])
def test_items_without_votes_get_the_posterior_of_every_rule_abstaining(model):
    L, _, _ = make_votes(300, 5, (0.5, 0.3, 0.2), seed=11, cover=(0.05, 0.4))
    assert ((L < 0).all(axis=1)).sum() > 10
    fit = LabelModel(model=model, uncovered="abstentions", alpha=0.5).fit(L)
    probs = fit.soft_labels_.probs
    none = (L < 0).all(axis=1)
    np.testing.assert_allclose(probs[none], np.tile(fit.uncovered_probs_, (none.sum(), 1)))
    np.testing.assert_allclose(fit.uncovered_probs_, naive_silent_posterior(L, probs, fit.class_prior_, 0.5),
                               rtol=1e-8)
    assert (fit.soft_labels_.support[none] == 0).all()
    np.testing.assert_allclose(fit.predict_proba([[-1] * 5]), fit.uncovered_probs_[None], rtol=1e-12)
    # the items with votes are those of the default handling
    plain = LabelModel(model=model, alpha=0.5, uncovered="prior").fit(L)
    np.testing.assert_allclose(probs[~none], plain.soft_labels_.probs[~none], rtol=1e-12)
    np.testing.assert_allclose(plain.soft_labels_.probs[none][0], plain.class_prior_)


def test_silent_items_go_to_the_class_whose_rules_fire_less():
    # rules 0 and 1 vote class 1 on every class-1 item; only rule 2 votes class 0, on
    # half of the class-0 items: an item without votes is most likely of class 0
    L = np.array([[1, 1, -1]] * 10 + [[-1, -1, 0]] * 5 + [[-1, -1, -1]] * 5)
    fit = LabelModel(uncovered="abstentions").fit(L)
    assert fit.uncovered_probs_[0] > 0.9
    assert fit.labels_[-5:].tolist() == [0] * 5


def test_default_model_and_handling_of_silent_items():
    est = LabelModel()
    assert (est.model, est.pooling, est.prior_accuracy, est.uncovered) == (
        "hierarchical-one-coin", 300.0, 0.9, "mixed-abstentions")
    with pytest.raises(InvalidParameterError, match="uncovered"):
        LabelModel(uncovered="rules").fit([[0, 1], [1, -1]])


def test_silent_items_when_the_rules_of_one_class_never_fire_together():
    # three rules vote class 1, each on a third of the class-1 items and never on the
    # same one; one rule votes class 0 on the class-0 items with a vote. Read rule by
    # rule, each class-1 rule misses two thirds of class 1, so silence looks like class
    # 1; read as one source, the class-1 votes cover every class-1 item with a vote,
    # so silence points to class 0. "mixed-abstentions" is their geometric mean.
    L = np.array([[1, -1, -1, -1]] * 8 + [[-1, 1, -1, -1]] * 8 + [[-1, -1, 1, -1]] * 8
                 + [[-1, -1, -1, 0]] * 12 + [[-1, -1, -1, -1]] * 8)
    fits = {u: LabelModel(uncovered=u, alpha=0.5).fit(L) for u in ("abstentions", "class-abstentions")}
    fits["mixed-abstentions"] = LabelModel(alpha=0.5).fit(L)  # the default
    by_class = np.where(np.stack([(L == c).any(axis=1) for c in range(2)], axis=1), np.arange(2), -1)
    for u, votes in (("abstentions", L), ("class-abstentions", by_class)):
        fit = fits[u]
        np.testing.assert_allclose(fit.uncovered_probs_,
                                   naive_silent_posterior(votes, fit.soft_labels_.probs, fit.class_prior_, 0.5),
                                   rtol=1e-8)
    rules, classes = fits["abstentions"].uncovered_probs_, fits["class-abstentions"].uncovered_probs_
    mixed = np.sqrt(rules * classes)
    np.testing.assert_allclose(fits["mixed-abstentions"].uncovered_probs_, mixed / mixed.sum(), rtol=1e-8)
    assert rules[1] > 0.55 and classes[0] > 0.7 and mixed[0] > mixed[1]
    assert fits["mixed-abstentions"].labels_[-8:].tolist() == [0] * 8
    # the items with votes do not depend on the handling of the silent ones
    for fit in fits.values():
        np.testing.assert_allclose(fit.soft_labels_.probs[:-8], fits["abstentions"].soft_labels_.probs[:-8])


def test_data_programming_scores_silent_items_with_its_own_abstention_rates():
    L, _, _ = make_votes(60, 4, (0.6, 0.4), seed=3)
    L[:6] = -1
    ours = LabelModel(model="data-programming", class_balance="learn", n_iter=6, tol=0.0, alpha=0.5,
                      uncovered="abstentions").fit(L)
    post, _ = naive_data_programming(L, 2, 6, 0.5)
    np.testing.assert_allclose(ours.soft_labels_.probs, post, rtol=1e-9)


def test_matrix_completion_is_symmetric_under_relabelling():
    L, _, _ = make_votes(2000, 6, (0.5, 0.5), seed=4)
    p = MatrixCompletionLabelModel().fit(L).soft_labels_.probs
    flipped = np.where(L >= 0, 1 - L, -1)
    q = MatrixCompletionLabelModel().fit(flipped).soft_labels_.probs
    np.testing.assert_allclose(q, p[:, ::-1], atol=1e-6)


# ====================================================================== evidence: synthetic
@pytest.mark.parametrize("prior", [(0.7, 0.3), (0.5, 0.3, 0.2)])
def test_per_rule_models_beat_majority_vote_on_independent_rules(prior):
    """When rules are independent given the class (the per-rule models' assumption),
    learning each rule's reliability beats majority vote (method notes, 8.6)."""
    L, y, acc = make_votes(6000, 10, prior, seed=11)
    k = len(prior)
    covered = (L >= 0).any(axis=1)
    mv = majority_accuracy(L, y, k)
    for model in ("one-coin", "dawid-skene", "data-programming"):
        est = LabelModel(model=model, class_balance="learn").fit(L)
        assert half_credit(est.soft_labels_.probs, y, covered) > mv + 0.02, model
        np.testing.assert_allclose(est.class_prior_, prior, atol=0.03)
    est = LabelModel(model="one-coin", class_balance="learn").fit(L)
    assert np.abs(est.accuracies_ - acc).mean() < 0.03
    # the shared accuracy reproduces majority vote; the default breaks its ties by the
    # per-rule accuracies, which are right here
    shared = LabelModel(model="shared-one-coin").fit(L).soft_labels_.probs
    assert half_credit(shared, y, covered) == pytest.approx(mv)
    assert half_credit(LabelModel().fit(L).soft_labels_.probs, y, covered) > mv


def test_matrix_completion_recovers_rule_accuracies():
    L, y, acc = make_votes(20_000, 8, (0.5, 0.5), seed=5)
    est = MatrixCompletionLabelModel().fit(L)
    assert np.abs(est.weights_ - acc).mean() < 0.03
    covered = (L >= 0).any(axis=1)
    assert half_credit(est.soft_labels_.probs, y, covered) > majority_accuracy(L, y, 2) + 0.02
    with pytest.raises(InvalidParameterError, match="class_balance"):
        MatrixCompletionLabelModel(class_balance="learn").fit(L)


def test_matrix_completion_close_to_snorkel_when_trained_to_convergence():
    pytest.importorskip("torch")
    snorkel = pytest.importorskip("snorkel.labeling.model")
    L, _, _ = make_votes(5000, 6, (0.5, 0.5), seed=7)
    theirs = snorkel.LabelModel(cardinality=2, verbose=False)
    theirs.fit(L, n_epochs=2000, seed=0, progress_bar=False)
    ours = MatrixCompletionLabelModel().fit(L)
    np.testing.assert_allclose(ours.weights_, theirs.get_weights(), atol=0.03)


# ====================================================================== evidence: real data
def _spam():
    if not SPAM_DIR.is_dir():
        pytest.skip(f"YouTube spam data not found at {SPAM_DIR}")
    files = sorted(SPAM_DIR.glob("Youtube0*.csv"))
    return [pd.read_csv(f) for f in files[:4]], pd.read_csv(files[4])


@pytest.mark.realdata
def test_example_rules_are_better_than_chance_on_the_development_files():
    from softlabels.infer.rules.examples import SPAM_RULES, SPAM_RULES_SMALL

    dev = pd.concat(_spam()[0], ignore_index=True)
    for rules in (SPAM_RULES, SPAM_RULES_SMALL):
        table = analyze_rules(apply_rules(rules, dev, classes=2), gold=dev["CLASS"].to_numpy())
        assert (table["accuracy"] > 0.55).all(), table


@pytest.mark.realdata
@pytest.mark.parametrize("rule_set", ["SPAM_RULES", "SPAM_RULES_SMALL"])
def test_shakira_default_label_model_not_below_majority_vote_nor_snorkel(rule_set):
    from softlabels.infer.rules import examples

    test = _spam()[1]
    y = test["CLASS"].to_numpy()
    L = apply_rules(getattr(examples, rule_set), test, classes=2).to_numpy()
    covered = (L >= 0).any(axis=1)
    ours = half_credit(LabelModel().fit(L).soft_labels_.probs, y, covered)
    assert ours >= majority_accuracy(L, y, 2) - 1e-12
    try:
        import torch  # noqa: F401
        from snorkel.labeling.model import LabelModel as SnorkelLabelModel
    except ImportError:  # compared with snorkel's recorded outputs in test_snorkel_recorded.py
        pytest.skip("snorkel and torch are needed for the live comparison")
    theirs = SnorkelLabelModel(cardinality=2, verbose=False)
    theirs.fit(L, seed=0, progress_bar=False)
    assert ours >= half_credit(theirs.predict_proba(L), y, covered)
