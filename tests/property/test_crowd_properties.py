"""Properties of every crowd model, checked with hypothesis.

* rows are distributions (sum to 1, no NaN) on any valid answer table;
* results do not depend on the order of the answer rows, on the worker ids, or on the
  names (and so the column order) of the classes.
KOS is binary-only, so it only sees two-class tables.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softlabels import create_method, list_methods
from softlabels.datasets import make_crowd

ALL = list_methods()
ATOL = 1e-6
EXAMPLES = 12


@st.composite
def answer_tables(draw, *, min_classes: int = 1, max_classes: int = 4, binary: bool = False):
    """Either a make_crowd sample or an arbitrary table (repeat answers allowed)."""
    k = 2 if binary else draw(st.integers(min_classes, max_classes))
    if draw(st.booleans()):
        n_workers = draw(st.integers(1, 7))
        df, _ = make_crowd(
            n_items=draw(st.integers(1, 15)),
            n_workers=n_workers,
            n_classes=k,
            answers_per_item=draw(st.integers(1, min(n_workers, 4))),
            random_state=draw(st.integers(0, 2**32 - 1)),
        )
        return df
    rows = draw(
        st.lists(
            st.tuples(st.integers(0, 7), st.integers(0, 5), st.integers(0, k - 1)),
            min_size=1,
            max_size=30,
        )
    )
    return pd.DataFrame(rows, columns=["item", "worker", "label"])


def fit_frame(name: str, df: pd.DataFrame):
    model = create_method(name).fit(df)
    s = model.soft_labels_
    return model, pd.DataFrame(s.probs, index=s.item_ids, columns=s.classes)


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert sorted(a.index.tolist()) == sorted(b.index.tolist())
    assert sorted(a.columns.tolist()) == sorted(b.columns.tolist())
    b = b.loc[a.index, a.columns]
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=0, atol=ATOL)


def assert_kos_same(ma, a: pd.DataFrame, mb, b: pd.DataFrame) -> None:
    """KOS returns a hard decision: compare the continuous scores, and the decisions
    wherever the score is not an exact tie (ties up to rounding are checked separately)."""
    sa = pd.Series(ma.scores_, index=ma.annotations_.item_ids)
    sb = pd.Series(mb.scores_, index=mb.annotations_.item_ids).loc[sa.index]
    scale = max(1.0, float(np.abs(sa).max()))
    np.testing.assert_allclose(sa.to_numpy(), sb.to_numpy(), rtol=0, atol=1e-7 * scale)
    clear = (np.abs(sa) > 1e-7 * scale).to_numpy()
    b = b.loc[a.index, a.columns]
    np.testing.assert_array_equal(a.to_numpy()[clear], b.to_numpy()[clear])


def assert_fits_agree(name: str, df: pd.DataFrame, other: pd.DataFrame) -> None:
    """The same answers, differently presented, give the same soft labels."""
    ma, a = fit_frame(name, df)
    mb, b = fit_frame(name, other)
    if name == "kos":
        assert_kos_same(ma, a, mb, b)
    else:
        assert_same(a, b)


def tables_for(name: str, **kw):
    return answer_tables(binary=True) if name == "kos" else answer_tables(**kw)


# ---------------------------------------------------------------------- distributions
@pytest.mark.parametrize("name", ALL)
@settings(max_examples=EXAMPLES * 2)
@given(data=st.data())
def test_rows_are_distributions(name, data):
    df = data.draw(tables_for(name))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no log(0), 0/0 anywhere
        model, p = fit_frame(name, df)
    p = p.to_numpy()
    assert p.shape == (df["item"].nunique(), df["label"].nunique())
    assert not np.isnan(p).any()
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert np.isfinite(model.skills_).all()


@settings(max_examples=EXAMPLES)
@given(
    k=st.integers(2, 6),
    n=st.integers(1, 50),
    seed=st.integers(0, 2**32 - 1),
)
def test_style_guide_example(k, n, seed):
    votes, _ = make_crowd(n_items=n, n_classes=k, n_workers=12, random_state=seed)
    for name in ALL:
        if name == "kos" and k > 2:
            continue
        p = create_method(name).fit(votes).soft_labels_.probs
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)


# ---------------------------------------------------------------------- invariances
ROW_ORDER = ALL


@pytest.mark.parametrize("name", ROW_ORDER)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_invariant_to_row_order(name, data):
    df = data.draw(tables_for(name, min_classes=2))
    perm = data.draw(st.permutations(range(len(df))))
    assert_fits_agree(name, df, df.iloc[list(perm)].reset_index(drop=True))


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_invariant_to_worker_ids(name, data):
    """Renaming workers (a permutation of ids, of another type) changes nothing."""
    df = data.draw(tables_for(name, min_classes=2))
    ids = sorted(df["worker"].unique())
    perm = data.draw(st.permutations(ids))
    renamed = df.assign(worker=df["worker"].map({w: f"w{p}" for w, p in zip(ids, perm)}))
    ma, a = fit_frame(name, df)
    mb, b = fit_frame(name, renamed)
    assert_same(a, b)
    sa = dict(zip(ma.annotations_.worker_ids.tolist(), ma.skills_))
    sb = dict(zip(mb.annotations_.worker_ids.tolist(), mb.skills_))
    for w, p in zip(ids, perm):
        assert sa[w] == pytest.approx(sb[f"w{p}"], abs=ATOL)


#: models whose random draws are made per item in the order of the item ids (EBCC's
#: subtype split, stacking's folds): renaming items is a different seed for them
ITEM_SEEDED = {"ebcc", "stacked"}


@pytest.mark.parametrize("name", [n for n in ALL if n not in ITEM_SEEDED])
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_invariant_to_item_ids(name, data):
    """Renaming items (a permutation of ids, of another type, so that they sort in
    another order) changes nothing but the names of the rows."""
    df = data.draw(tables_for(name, min_classes=2))
    ids = sorted(df["item"].unique())
    perm = data.draw(st.permutations(ids))
    new_id = {i: f"i{p}" for i, p in zip(ids, perm)}
    ma, a = fit_frame(name, df.assign(item=df["item"].map(new_id)))
    mb, b = fit_frame(name, df)
    b = b.rename(index=new_id)
    if name == "kos":
        mb.annotations_.item_ids = np.asarray([new_id[i] for i in mb.annotations_.item_ids])
        assert_kos_same(ma, a, mb, b)
    else:
        assert_same(a, b)


@pytest.mark.parametrize("name", ROW_ORDER)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_invariant_to_worker_order(name, data):
    """Workers renamed and the rows sorted by the new ids: worker codes change order."""
    df = data.draw(tables_for(name, min_classes=2))
    ids = sorted(df["worker"].unique())
    perm = data.draw(st.permutations(range(len(ids))))
    mapping = dict(zip(ids, perm))
    reordered = df.assign(worker=df["worker"].map(mapping)).sort_values("worker", kind="stable")
    assert_fits_agree(name, df, reordered)


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_invariant_to_class_relabelling(name, data):
    df = data.draw(tables_for(name, min_classes=2))
    k = int(df["label"].max()) + 1
    perm = data.draw(st.permutations(range(k)))
    new_name = {c: f"c{p}" for c, p in zip(range(k), perm)}  # sorted order follows perm
    relabelled = df.assign(label=df["label"].map(new_name))
    _, a = fit_frame(name, df)
    _, b = fit_frame(name, relabelled)
    b = b.rename(columns={v: c for c, v in new_name.items()})
    assert_same(a, b)


# ---------------------------------------------------------------------- known failures
MMSR_CASE = pd.DataFrame(
    {
        "item": [3, 2, 9, 1, 3, 6, 7, 8, 0, 3, 5, 4, 0, 1, 5, 4, 8, 1, 1, 8],
        "worker": [4, 2, 0, 1, 2, 3, 2, 2, 3, 0, 5, 3, 2, 5, 1, 5, 1, 2, 4, 3],
        "label": [0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1],
    }
)


def test_mmsr_signs_do_not_depend_on_row_order():
    _, a = fit_frame("mmsr", MMSR_CASE)
    for seed in range(20):
        perm = np.random.default_rng(seed).permutation(len(MMSR_CASE))
        _, b = fit_frame("mmsr", MMSR_CASE.iloc[perm].reset_index(drop=True))
        assert_same(a, b)


def test_mmsr_invariant_on_a_complete_crowd():
    """Where every pair of workers shares items the signs are well determined."""
    df, _ = make_crowd(n_items=40, n_workers=5, n_classes=3, answers_per_item=5, random_state=0)
    perm = np.random.default_rng(1).permutation(len(df))
    _, a = fit_frame("mmsr", df)
    _, b = fit_frame("mmsr", df.iloc[perm])
    assert_same(a, b)


KOS_TIE_CASE = pd.DataFrame(
    {
        "item": [9, 4, 5, 4, 3, 7, 8, 7, 7, 7, 6, 3, 2, 3, 1, 6, 7, 2, 0, 3, 5, 9, 0],
        "worker": [2, 1, 0, 2, 0, 0, 3, 1, 4, 2, 4, 1, 5, 3, 2, 1, 5, 3, 0, 5, 3, 4, 1],
        "label": [0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1],
    }
)


def test_kos_ties_do_not_depend_on_row_order():
    results = []
    for seed in range(20):
        perm = np.random.default_rng(seed).permutation(len(KOS_TIE_CASE))
        _, p = fit_frame("kos", KOS_TIE_CASE.iloc[perm].reset_index(drop=True))
        results.append(p.loc[9].tolist())
    assert all(r == results[0] for r in results), results


# ---------------------------------------------------------------------- ids of mixed types
#: ids of mixed types, some of which share their text (0 and "0"): distinct ids that
#: sort by their text must not fall back on the order the rows happen to be in
MIXED_IDS = [0, "0", 1, "1", 2, "2", 3.5, "x", 4, "4", 5, "5", 6, "6", 7, "7"]


def by_typed_id(model, p: pd.DataFrame) -> pd.DataFrame:
    """``p`` indexed by (type, id): 0 and "0" are two items."""
    p = p.copy()
    p.index = [(type(i).__name__, i) for i in model.soft_labels_.item_ids]
    return p


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_invariant_to_row_order_with_ids_of_mixed_types(name, data):
    df = data.draw(tables_for(name, min_classes=2))
    df = df.assign(item=df["item"].map(MIXED_IDS.__getitem__).astype(object),
                   worker=df["worker"].map(MIXED_IDS.__getitem__).astype(object))
    perm = data.draw(st.permutations(range(len(df))))
    ma, a = fit_frame(name, df)
    mb, b = fit_frame(name, df.iloc[list(perm)].reset_index(drop=True))
    a, b = by_typed_id(ma, a), by_typed_id(mb, b)
    if name == "kos":
        assert_kos_same(ma, a, mb, b)
    else:
        assert_same(a, b)


def test_ebcc_and_stacking_ignore_row_order_with_ids_sharing_their_text():
    """Items 0 and "0" (and 1 and "1") get their random draws (EBCC's subtype split,
    stacking's folds) by id, not by which comes first in the rows."""
    df = pd.DataFrame({"item": [0, 1, "0", "1"], "worker": [0, 0, 1, 1],
                       "label": [0, 0, 1, 1]}).astype({"item": object})
    for name in ("ebcc", "stacked"):
        ma, a = fit_frame(name, df)
        mb, b = fit_frame(name, df.iloc[[0, 2, 3, 1]].reset_index(drop=True))
        assert_same(by_typed_id(ma, a), by_typed_id(mb, b))


def test_classes_of_mixed_types_do_not_depend_on_row_order():
    df = pd.DataFrame({"item": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"],
                       "label": pd.Series([1, "1", "1", 1], dtype=object)})
    first = create_method("majority-vote").fit(df)
    for perm in ([2, 3, 0, 1], [1, 0, 3, 2]):
        other = create_method("majority-vote").fit(df.iloc[perm].reset_index(drop=True))
        assert [(type(c), c) for c in other.soft_labels_.classes] == \
            [(type(c), c) for c in first.soft_labels_.classes]
        assert [(type(c), c) for c in other.labels_] == [(type(c), c) for c in first.labels_]
