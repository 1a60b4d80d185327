"""Labeling rules on a two-process Dask cluster: the vote matrix of the in-process
applier, and the one-coin label models' soft labels to 1e-9."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

import dask.dataframe as dd  # noqa: E402

from softlabels import InputError, InvalidParameterError  # noqa: E402
from softlabels.infer.rules import LabelModel, LabelingFunction  # noqa: E402
from softlabels.infer.rules import apply_rules as apply_in_process  # noqa: E402
from softlabels.engines.rules import apply_rules, fit_label_model  # noqa: E402

TOL = 1e-9


def make_votes(n, m, k, seed):
    """Independent rules (coverage 10-60 %, accuracy 55-95 %), string item ids, some
    items without any vote, exact ties between classes."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    fire = rng.random((n, m)) < rng.uniform(0.1, 0.6, m)
    right = rng.random((n, m)) < rng.uniform(0.55, 0.95, m)
    wrong = (y[:, None] + rng.integers(1, k, (n, m))) % k
    votes = np.where(fire, np.where(right, y[:, None], wrong), -1).astype(np.int32)
    votes[:5] = -1  # uncovered
    index = pd.Index([f"doc-{i}" for i in rng.permutation(n)], name="doc")
    return pd.DataFrame(votes, columns=[f"r{j}" for j in range(m)], index=index)


@pytest.mark.parametrize("model", ["hierarchical-one-coin", "pooled-one-coin", "shared-one-coin", "one-coin"])
@pytest.mark.parametrize("k, balance, uncovered", [(2, "uniform", "abstentions"), (3, "learn", "prior"),
                                                  (3, "uniform", "mixed-abstentions"),
                                                  (2, "learn", "class-abstentions")])
def test_label_models_match_in_process(client, model, k, balance, uncovered):
    votes = make_votes(400, 7, k, seed=k)
    params = dict(model=model, class_balance=balance, classes=k, uncovered=uncovered, pooling=20.0)
    ref = LabelModel(**params).fit(votes)
    fit = fit_label_model(dd.from_pandas(votes, npartitions=3), **params)
    got = fit.soft_labels_.compute().set_index("item")
    want = ref.soft_labels_.to_frame().set_index("item")
    assert len(got) == len(want) == 400
    got = got.loc[want.index]
    cols = [str(c) for c in range(k)]
    np.testing.assert_allclose(got[cols].to_numpy(), want[cols].to_numpy(), rtol=0, atol=TOL)
    assert (got["label"].to_numpy() == want["label"].to_numpy()).all()
    np.testing.assert_array_equal(got["support"].to_numpy(), want["support"].to_numpy())
    np.testing.assert_allclose(fit.class_prior_, ref.class_prior_, rtol=0, atol=TOL)
    assert fit.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(fit.uncovered_probs_, ref.uncovered_probs_, rtol=0, atol=TOL)
    np.testing.assert_allclose(fit.accuracies_, ref.accuracies_, rtol=0, atol=TOL)
    if model in ("shared-one-coin", "pooled-one-coin"):
        assert fit.shared_accuracy_ == pytest.approx(ref.shared_accuracy_, abs=TOL)


def test_the_default_label_model_matches_in_process(client):
    votes = make_votes(300, 6, 3, seed=5)
    ref = LabelModel().fit(votes)
    fit = fit_label_model(dd.from_pandas(votes, npartitions=2))
    got = fit.soft_labels_.compute().set_index("item").loc[ref.soft_labels_.item_ids]
    np.testing.assert_allclose(got[["0", "1", "2"]].to_numpy(), ref.soft_labels_.probs, rtol=0, atol=TOL)


def test_pooled_model_splits_ties_by_rule_accuracy(client):
    # two rules, one right everywhere, one wrong everywhere: every item is a 1:1 tie
    y = np.arange(60) % 2
    votes = pd.DataFrame({"good": y, "bad": 1 - y, "third": np.where(y == 0, 0, -1)})
    votes.iloc[:, 2] = -1
    fit = fit_label_model(dd.from_pandas(votes, npartitions=2), classes=2)
    ref = LabelModel(classes=2).fit(votes)
    got = fit.soft_labels_.compute().set_index("item").loc[votes.index]
    np.testing.assert_allclose(got[["0", "1"]].to_numpy(),
                               ref.soft_labels_.probs, rtol=0, atol=TOL)


def test_apply_rules_gives_the_in_process_votes(client):
    text = pd.DataFrame({"t": ["buy now!", "hello", "check my channel", "ok!"] * 10})
    rules = [LabelingFunction(lambda t: 1 if "!" in t else -1, name="bang", column="t"),
             LabelingFunction(lambda t: 1 if "channel" in t else 0, name="channel", column="t")]
    got = apply_rules(rules, dd.from_pandas(text, npartitions=3), classes=2).compute()
    pd.testing.assert_frame_equal(got, apply_in_process(rules, text, classes=2))


def test_bad_input_is_named(client):
    votes = dd.from_pandas(make_votes(50, 3, 2, seed=0), npartitions=2)
    with pytest.raises(InvalidParameterError, match="'dawid-skene' does not run on Dask"):
        fit_label_model(votes, model="dawid-skene")
    with pytest.raises(InvalidParameterError, match="class_balance"):
        fit_label_model(votes, class_balance=[0.3, 0.7])
    with pytest.raises(InvalidParameterError, match="model"):
        fit_label_model(votes, model="no-such-model")
    with pytest.raises(InvalidParameterError, match="n_iters"):
        fit_label_model(votes, n_iters=5)
    with pytest.raises(InputError, match="a vote 1 is not a class index below 1"):
        fit_label_model(votes, classes=1)
    with pytest.raises(InputError, match="dask DataFrame"):
        fit_label_model(votes.compute())
    bad = [LabelingFunction(lambda t: 5, name="five", column="t")]
    with pytest.raises(InputError, match="five"):
        apply_rules(bad, dd.from_pandas(pd.DataFrame({"t": ["a", "b"]}), npartitions=1),
                    classes=2).compute()


def test_class_names_are_kept_as_in_process(client):
    votes = make_votes(120, 4, 2, seed=3)
    ref = LabelModel(classes=["ham", "spam"]).fit(votes)
    fit = fit_label_model(dd.from_pandas(votes, npartitions=2), classes=["ham", "spam"])
    assert fit.classes_.tolist() == ["ham", "spam"]
    got = fit.soft_labels_.compute().set_index("item").loc[ref.soft_labels_.item_ids]
    want = ref.soft_labels_.to_frame().set_index("item")
    assert got.columns.tolist() == want.columns.tolist()
    assert got["label"].tolist() == want["label"].tolist()
    np.testing.assert_allclose(got[["ham", "spam"]].to_numpy(), ref.soft_labels_.probs,
                               rtol=0, atol=TOL)


@pytest.mark.parametrize("bad, shown", [(-2, "-2"), (np.nan, "missing"), (0.5, "0.5")])
def test_votes_that_are_not_class_indices_are_named_not_read_as_abstain(client, bad, shown):
    votes = make_votes(40, 3, 2, seed=1).astype(np.float64)
    votes.iloc[30, 1] = bad
    item = votes.index[30]
    with pytest.raises(InputError, match=f"item '{item}', rule 'r1' is {shown};"):
        fit_label_model(dd.from_pandas(votes, npartitions=3))


@pytest.mark.parametrize("classes", [None, 2])
def test_votes_without_any_vote_say_so(client, classes):
    votes = make_votes(20, 3, 2, seed=2)
    votes.iloc[:, :] = -1
    with pytest.raises(InputError, match="every rule abstains on every item"):
        LabelModel(classes=classes).fit(votes)
    with pytest.raises(InputError, match="every rule abstains on every item"):
        fit_label_model(dd.from_pandas(votes, npartitions=2), classes=classes)


def test_the_default_class_count_is_at_least_two_as_in_process(client):
    """Without ``classes``, votes whose largest value is 0 give two classes in-process
    (``0 .. max vote``, at least two), not an error."""
    votes = make_votes(120, 4, 2, seed=3).clip(upper=0)
    ref = LabelModel().fit(votes)
    fit = fit_label_model(dd.from_pandas(votes, npartitions=3))
    assert fit.classes_.tolist() == ref.classes_.tolist() == [0, 1]
    got = fit.soft_labels_.compute().set_index("item").loc[ref.soft_labels_.item_ids]
    np.testing.assert_allclose(got[["0", "1"]].to_numpy(), ref.soft_labels_.probs, rtol=0, atol=TOL)


def test_vote_matrices_refused_in_process_are_refused(client):
    """An empty vote matrix, booleans, repeated rule names and repeated item ids (among
    the rows with a vote) are refused in-process; on Dask they failed on a NaN, or were
    fitted (repeated items' votes merged into one item)."""
    votes = make_votes(60, 3, 2, seed=2)
    covered = votes.index[(votes >= 0).any(axis=1)]
    cases = [(votes.iloc[:0], "no items"), (votes > 0, "booleans"),
             (votes.set_axis(["r0", "r1", "r1"], axis=1), "two rules are named 'r1'"),
             (votes.rename(index={covered[7]: covered[3]}),
              f"item ids must be unique; '{covered[3]}' appears")]
    for frame, message in cases:
        with pytest.raises(InputError):
            LabelModel().fit(frame)
        with pytest.raises(InputError, match=message):
            fit_label_model(dd.from_pandas(frame, npartitions=max(1, min(3, len(frame))),
                                           sort=False))


@pytest.mark.parametrize("repeat", ["two rows without a vote", "a row with and one without"])
def test_repeated_item_ids_on_rows_without_a_vote_are_refused(client, repeat):
    """In-process every row is an item, so an id repeated on rows where every rule
    abstains is refused as any repeated id is; on Dask those rows skipped the check
    (the id got two rows of soft labels, or one with the prior beside its posterior)."""
    votes = make_votes(60, 3, 2, seed=2)
    uncovered = votes.index[~(votes >= 0).any(axis=1)]
    covered = votes.index[(votes >= 0).any(axis=1)]
    twice = uncovered[0] if repeat == "two rows without a vote" else covered[0]
    frame = votes.rename(index={uncovered[-1]: twice})
    assert frame.index.duplicated().sum() == 1
    with pytest.raises(InputError, match=f"'{twice}' appears more than once"):
        LabelModel().fit(frame)
    # the two rows in different partitions, so no one partition sees the repeat
    dask_votes = dd.from_pandas(frame, npartitions=3, sort=False)
    rows = [dask_votes.get_partition(p).index.compute() for p in range(3)]
    assert sum(twice in part for part in rows) == 2
    with pytest.raises(InputError, match=f"item ids must be unique; '{twice}' appears"):
        fit_label_model(dask_votes).soft_labels_.compute()


@pytest.mark.parametrize("model", ["shared-one-coin", "one-coin"])
def test_rule_accuracies_are_the_in_process_ones(client, model):
    """``accuracies_`` is, as in-process, the expected fraction of each rule's votes
    that the posteriors call right (NaN for a rule that never votes), with rule names
    that are also column names of the soft-label table. It was the fitted skill (the
    shared one for every rule of the shared model, a silent rule included)."""
    votes = make_votes(200, 4, 2, seed=4).set_axis(["label", "0", "item", "silent"], axis=1)
    votes["silent"] = -1
    ref = LabelModel(model=model).fit(votes)
    fit = fit_label_model(dd.from_pandas(votes, npartitions=3), model=model)
    assert np.isnan(ref.accuracies_[3]) and np.isfinite(ref.accuracies_[:3]).all()
    np.testing.assert_allclose(fit.accuracies_, ref.accuracies_, rtol=0, atol=TOL)
    soft = ref.soft_labels_.probs  # by hand: the mean posterior of each rule's votes
    codes = votes.to_numpy()
    for j in range(3):
        voted = np.flatnonzero(codes[:, j] >= 0)
        assert fit.accuracies_[j] == pytest.approx(soft[voted, codes[voted, j]].mean(), abs=TOL)


@pytest.mark.parametrize("row", [2, 1], ids=["without a vote", "with a vote"])
def test_a_missing_item_id_is_named_before_the_fit(client, row):
    """In-process a missing id is refused (every item needs an id); on Dask it failed
    naming the engine's own column ``'__item__'``, or only when the soft labels were
    computed."""
    ids = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    ids[row] = np.nan
    votes = pd.DataFrame({"r0": [0, 1, -1, 0, 1, 1], "r1": [0, -1, -1, 1, 1, 0]}, index=ids)
    with pytest.raises(InputError, match="every item needs an id"):
        LabelModel().fit(votes)
    with pytest.raises(InputError, match=r"^votes: 1 item id is missing; every item needs an id"):
        fit_label_model(dd.from_pandas(votes, npartitions=2, sort=False))
