"""Bundled and synthetic data: make_crowd and load_adult3."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from softlabels import InvalidParameterError, create_method
from softlabels.datasets import load_adult3, make_crowd


class TestMakeCrowd:
    def test_shapes_and_dtypes(self):
        answers, truth = make_crowd(n_items=40, n_workers=9, n_classes=4, answers_per_item=3, random_state=0)
        assert answers.shape == (120, 3)
        assert list(answers.columns) == ["item", "worker", "label"]
        assert all(answers[c].dtype.kind == "i" for c in answers.columns)
        assert truth.shape == (40,)
        assert truth.index.tolist() == list(range(40))
        assert answers["item"].value_counts().eq(3).all()
        assert answers["worker"].between(0, 8).all()
        assert answers["label"].between(0, 3).all()
        assert truth.between(0, 3).all()

    @pytest.mark.parametrize("n_workers, m", [(9, 3), (5, 5), (50, 5), (7, 1), (2, 2)])
    def test_distinct_workers_per_item(self, n_workers, m):
        answers, _ = make_crowd(n_items=200, n_workers=n_workers, answers_per_item=m, random_state=1)
        assert answers.groupby("item")["worker"].nunique().eq(m).all()

    def test_deterministic(self):
        a = make_crowd(n_items=30, random_state=7)
        b = make_crowd(n_items=30, random_state=7)
        c = make_crowd(n_items=30, random_state=8)
        assert a[0].equals(b[0]) and a[1].equals(b[1])
        assert not a[0].equals(c[0])

    def test_perfect_workers_answer_the_truth(self):
        answers, truth = make_crowd(n_items=50, n_workers=6, accuracy=(1.0, 1.0), random_state=2)
        assert (answers["label"].to_numpy() == truth.loc[answers["item"]].to_numpy()).all()

    def test_class_prior(self):
        _, truth = make_crowd(n_items=100, n_classes=3, class_prior=[0, 1, 0], random_state=3)
        assert set(truth) == {1}

    def test_accuracy_range_roughly_holds(self):
        answers, truth = make_crowd(n_items=3000, n_workers=20, accuracy=(0.6, 0.8), random_state=4)
        acc = (answers["label"].to_numpy() == truth.loc[answers["item"]].to_numpy()).mean()
        assert 0.65 < acc < 0.75

    def test_single_class(self):
        answers, truth = make_crowd(n_items=5, n_workers=3, n_classes=1, answers_per_item=2, random_state=0)
        assert set(answers["label"]) == {0} and set(truth) == {0}

    def test_errors(self):
        with pytest.raises(InvalidParameterError, match="cannot exceed n_workers"):
            make_crowd(n_workers=3, answers_per_item=4)
        with pytest.raises(InvalidParameterError, match="class_prior must be 3 probabilities"):
            make_crowd(n_classes=3, class_prior=[0.5, 0.5])
        with pytest.raises(InvalidParameterError, match="n_items"):
            make_crowd(n_items=0)
        with pytest.raises(InvalidParameterError, match=r"accuracy\[1\]"):
            make_crowd(accuracy=(0.9, 0.5))

    @pytest.mark.parametrize("accuracy", [0.7, (0.7,), (0.2, 0.5, 0.9), "ab"])
    def test_accuracy_must_be_a_pair(self, accuracy):
        with pytest.raises(InvalidParameterError, match=r"accuracy must be a pair"):
            make_crowd(n_items=5, accuracy=accuracy)

    def test_accuracy_as_a_labelled_pair_is_read_by_position(self):
        # a Series indexed by names, or any sized iterable, is (low, high) in order
        pair = pd.Series([0.6, 0.8], index=["low", "high"])
        a = make_crowd(n_items=20, accuracy=pair, random_state=3)
        b = make_crowd(n_items=20, accuracy=(0.6, 0.8), random_state=3)
        assert a[0].equals(b[0]) and a[1].equals(b[1])

    def test_class_prior_of_non_numbers_is_named(self):
        with pytest.raises(ValueError, match="class_prior"):
            make_crowd(n_classes=2, class_prior=["a", "b"])

    def test_class_prior_summing_to_one_within_tolerance_is_accepted(self):
        # np.isclose(sum, 1) holds, numpy's own check in Generator.choice does not
        _, truth = make_crowd(n_items=4000, n_classes=2, class_prior=[0.2, 0.800005],
                              random_state=5)
        assert abs((truth == 0).mean() - 0.2) < 0.02

    def test_class_prior_and_worker_balance_on_a_large_draw(self):
        prior = np.array([0.2, 0.3, 0.5])
        answers, truth = make_crowd(n_items=60000, n_workers=10, n_classes=3, answers_per_item=3,
                                    class_prior=prior, random_state=6)
        # truth ~ class_prior: 4 standard errors of a proportion at n=60000 are below 0.01
        np.testing.assert_allclose(np.bincount(truth, minlength=3) / truth.size, prior, atol=0.01)
        # the first worker of each item is uniform over the ring, so every worker answers
        # about n_items * answers_per_item / n_workers = 18000 times
        counts = answers["worker"].value_counts().reindex(range(10), fill_value=0)
        assert counts.between(18000 * 0.97, 18000 * 1.03).all()

    def test_each_worker_confusion_row_is_a_distribution_with_its_accuracy_in_range(self):
        answers, truth = make_crowd(n_items=40000, n_workers=4, n_classes=3, answers_per_item=2,
                                    accuracy=(0.6, 0.8), random_state=9)
        t = truth.loc[answers["item"]].to_numpy()
        for w, rows in answers.groupby("worker").groups.items():
            cm = pd.crosstab(t[rows], answers.loc[rows, "label"], normalize="index")
            cm = cm.reindex(index=range(3), columns=range(3), fill_value=0.0).to_numpy()
            # one accuracy per worker: the diagonal is the same in every row, within noise
            assert np.ptp(np.diag(cm)) < 0.04, (w, cm)
            assert 0.6 - 0.02 < np.diag(cm).mean() < 0.8 + 0.02, (w, cm)

    def test_truth_is_aligned_with_the_answers_item_ids(self):
        answers, truth = make_crowd(n_items=30, n_workers=5, answers_per_item=2,
                                    accuracy=(1.0, 1.0), random_state=12)
        assert truth.index.name == "item"
        assert set(answers["item"]) == set(truth.index)
        by_item = answers.groupby("item")["label"].first()
        assert by_item.equals(truth.loc[by_item.index].rename(by_item.name))

    @pytest.mark.parametrize("kwargs", [
        dict(n_items=1, n_workers=1, n_classes=1, answers_per_item=1),
        dict(n_items=1, n_workers=3, n_classes=4, answers_per_item=3),
        dict(n_items=7, n_workers=1, n_classes=3, answers_per_item=1),
    ])
    def test_edge_sizes_give_a_valid_crowd(self, kwargs):
        answers, truth = make_crowd(random_state=0, **kwargs)
        assert len(answers) == kwargs["n_items"] * kwargs["answers_per_item"]
        assert len(truth) == kwargs["n_items"]
        assert answers["label"].between(0, kwargs["n_classes"] - 1).all()
        assert answers.groupby("item")["worker"].nunique().eq(kwargs["answers_per_item"]).all()

    def test_workers_never_right_when_accuracy_is_zero(self):
        answers, truth = make_crowd(n_items=200, n_workers=5, n_classes=2, accuracy=(0.0, 0.0),
                                    random_state=13)
        assert (answers["label"].to_numpy() != truth.loc[answers["item"]].to_numpy()).all()

    @pytest.mark.slow
    def test_dawid_skene_recovers_the_truth(self):
        answers, truth = make_crowd(n_items=600, n_workers=30, n_classes=3, answers_per_item=7,
                                    accuracy=(0.45, 0.9), random_state=11)
        fits = {name: create_method(name).fit(answers) for name in ("dawid-skene", "majority-vote")}
        acc = {
            name: (m.labels_ == truth.loc[m.soft_labels_.item_ids].to_numpy()).mean()
            for name, m in fits.items()
        }
        assert acc["dawid-skene"] >= 0.9
        assert acc["dawid-skene"] >= acc["majority-vote"] + 0.03
        # the learned skills track each worker's real accuracy
        ds = fits["dawid-skene"]
        right = answers["label"].to_numpy() == truth.loc[answers["item"]].to_numpy()
        real = answers.assign(right=right).groupby("worker")["right"].mean()
        learned = dict(zip(ds.annotations_.worker_ids.tolist(), ds.skills_))
        assert np.corrcoef(real.to_numpy(), [learned[w] for w in real.index])[0, 1] > 0.9


def test_load_adult3():
    df = load_adult3()
    assert df.shape == (44373, 3)
    assert list(df.columns) == ["item", "worker", "label"]
    assert sorted(df["label"].unique()) == ["B", "G", "P", "R", "X"]
    assert df["item"].nunique() == 496
    assert df["worker"].nunique() == 338
    assert all(pd.api.types.is_string_dtype(df[c]) for c in df.columns)
    assert df["item"].str.startswith("http").all()
    assert not df.isna().any().any()
    s = create_method("majority-vote").fit(df).soft_labels_
    assert s.n_items == 496 and s.classes.tolist() == ["B", "G", "P", "R", "X"]
    np.testing.assert_allclose(s.probs.sum(axis=1), 1.0)


def test_load_adult3_keeps_the_published_repeat_ratings():
    # as documented: some workers rated a website more than once, at times differently
    df = load_adult3()
    pairs = df.groupby(["item", "worker"])["label"].agg(["size", "nunique"])
    assert (pairs["size"] > 1).sum() == 8039
    assert (pairs["nunique"] > 1).sum() == 2648
    assert df.duplicated().sum() == 6370
