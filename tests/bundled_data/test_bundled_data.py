"""Bundled and synthetic data: make_crowd and load_adult3."""

from __future__ import annotations

import numpy as np
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

    def test_class_prior_of_non_numbers_is_named(self):
        with pytest.raises(ValueError, match="class_prior"):
            make_crowd(n_classes=2, class_prior=["a", "b"])

    def test_class_prior_summing_to_one_within_tolerance_is_accepted(self):
        # np.isclose(sum, 1) holds, numpy's own check in Generator.choice does not
        _, truth = make_crowd(n_items=4000, n_classes=2, class_prior=[0.2, 0.800005],
                              random_state=5)
        assert abs((truth == 0).mean() - 0.2) < 0.02

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
    assert not df.isna().any().any()
    s = create_method("majority-vote").fit(df).soft_labels_
    assert s.n_items == 496 and s.classes.tolist() == ["B", "G", "P", "R", "X"]
    np.testing.assert_allclose(s.probs.sum(axis=1), 1.0)
