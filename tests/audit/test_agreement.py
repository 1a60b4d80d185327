"""Annotator statistics and agreement measures (softlabels.audit.agreement).

Published worked examples (Krippendorff 2011, Fleiss 1971), hand-computed cases, a
naive loop-over-pairs reference of every formula (checked on random answer tables,
repeated answers included, and on real crowd data), edge cases and input errors.
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softlabels import SoftLabels
from softlabels.audit.agreement import annotators as agr_annotators
from softlabels.audit.agreement import coefficients as agr_coefficients
from softlabels.audit.agreement import (
    ESTES_QSCORE_WEIGHTS,
    LabellerQuality,
    annotator_confusions,
    annotator_table,
    bayesian_label_risk,
    cohen_kappa,
    fleiss_kappa,
    item_ambiguity,
    krippendorff_alpha,
    labeller_quality,
    pairwise_cohen_kappa,
)
from softlabels.core.annotations import Annotations
from softlabels.core.errors import InputError, InvalidParameterError

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "crowd"


def frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item", "worker", "label"])


# ---------------------------------------------------------------------- naive references
def worker_values(df: pd.DataFrame) -> tuple[dict, list, list]:
    """{item: {worker: value distribution over the classes}}: each worker is one coder,
    his answers on an item weighted equally."""
    classes = sorted(df["label"].unique())
    workers = list(pd.unique(df["worker"]))
    col = {c: j for j, c in enumerate(classes)}
    shares = df.groupby(["item", "worker"], sort=False)["label"].value_counts(normalize=True)
    values: dict = {}
    for (item, worker, label), share in shares.items():
        unit = values.setdefault(item, {})
        v = unit.setdefault(worker, np.zeros(len(classes)))
        v[col[label]] += share
    return values, classes, workers


def distinct_pair_sum(unit: dict) -> np.ndarray:
    """sum over ordered pairs of different coders (i, j) of outer(v_i, v_j)."""
    v = np.array(list(unit.values()))
    m = v.shape[0]
    return v.T @ (np.ones((m, m)) - np.eye(m)) @ v


def naive_coincidence(df: pd.DataFrame) -> np.ndarray:
    values, classes, _ = worker_values(df)
    o = np.zeros((len(classes), len(classes)))
    for unit in values.values():
        if len(unit) >= 2:
            o += distinct_pair_sum(unit) / (len(unit) - 1)
    return o


def naive_alpha(df: pd.DataFrame, level: str = "nominal") -> float:
    o = naive_coincidence(df)
    classes = np.array(sorted(df["label"].unique()))
    if level in ("interval", "ratio"):
        classes = classes.astype(float)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        return float("nan")
    k = len(classes)
    delta = np.zeros((k, k))
    for c, d in itertools.product(range(k), range(k)):
        if level == "nominal":
            delta[c, d] = float(c != d)
        elif level == "ordinal":
            lo, hi = min(c, d), max(c, d)
            delta[c, d] = (sum(n_c[lo : hi + 1]) - (n_c[c] + n_c[d]) / 2) ** 2
        elif level == "interval":
            delta[c, d] = (classes[c] - classes[d]) ** 2
        else:
            s = classes[c] + classes[d]
            delta[c, d] = 0.0 if s == 0 else ((classes[c] - classes[d]) / s) ** 2
    d_o = sum(o[c, d] * delta[c, d] for c in range(k) for d in range(k)) / n
    d_e = sum(n_c[c] * n_c[d] * delta[c, d] for c in range(k) for d in range(k)) / (n * (n - 1))
    return float("nan") if d_e <= 1e-12 else 1 - d_o / d_e


def naive_fleiss(df: pd.DataFrame) -> float:
    """Gwet's generalised Fleiss kappa, one item at a time."""
    values, classes, _ = worker_values(df)
    agree, props = [], []
    for unit in values.values():
        r = len(unit)
        props.append(sum(unit.values()) / r)
        if r >= 2:
            agree.append(np.trace(distinct_pair_sum(unit)) / (r * (r - 1)))
    if not agree:
        return float("nan")
    pi = np.mean(props, axis=0)
    p_e = float(pi @ pi)
    return float("nan") if p_e >= 1 - 1e-12 else (np.mean(agree) - p_e) / (1 - p_e)


def naive_kappa_table(table: np.ndarray) -> float:
    n = table.sum()
    p_o = np.trace(table) / n
    p_e = float(table.sum(axis=1) @ table.sum(axis=0)) / n**2
    return float("nan") if p_e >= 1 - 1e-12 else (p_o - p_e) / (1 - p_e)


def naive_pairwise(df: pd.DataFrame, min_shared: int) -> pd.DataFrame:
    values, classes, workers = worker_values(df)
    rows = []
    for ia, ib in itertools.combinations(range(len(workers)), 2):
        a, b = workers[ia], workers[ib]
        table = np.zeros((len(classes), len(classes)))
        n = 0
        for unit in values.values():
            if a in unit and b in unit:
                table += np.outer(unit[a], unit[b])
                n += 1
        if n >= min_shared:
            rows.append((a, b, n, np.trace(table) / n, naive_kappa_table(table)))
    return pd.DataFrame(rows, columns=["worker_a", "worker_b", "n_shared", "agreement", "kappa"])


def naive_spammer(rates: np.ndarray, met: np.ndarray) -> float:
    rows = [r for r, m in zip(rates, met) if m and not np.isnan(r).any()]
    k = len(rows)
    if k < 2:
        return float("nan")
    total = sum(((rows[c] - rows[d]) ** 2).sum() for c in range(k) for d in range(c + 1, k))
    return total / (k * (k - 1))


def naive_table(df: pd.DataFrame, soft: dict | None = None) -> pd.DataFrame:
    """Per (item, worker), one loop step at a time: the consensus is ``soft[item]`` when
    given, else the majority vote of the other workers (leave-one-out)."""
    values, classes, workers = worker_values(df)
    k = len(classes)
    acc = {w: [] for w in workers}
    agree = {w: [] for w in workers}
    conf = {w: np.zeros((k, k)) for w in workers}
    met = {w: np.zeros(k, dtype=bool) for w in workers}  # a most probable consensus class
    for item, unit in values.items():
        total = sum(unit.values())
        for w, v in unit.items():
            votes = total - v  # the other workers' values
            if len(unit) >= 2:
                agree[w].append(float(v @ votes) / (len(unit) - 1))
            if soft is not None:
                cons = soft[item]
            elif len(unit) >= 2:
                top = np.isclose(votes, votes.max())
                cons = top / top.sum()
            else:
                continue
            acc[w].append(float(v @ cons))
            conf[w] += np.outer(cons, v)
            met[w] |= cons >= cons.max() - 1e-9
    rows = []
    for w in workers:
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = conf[w] / conf[w].sum(axis=1, keepdims=True)
        rows.append(
            (
                w,
                int((df["worker"] == w).sum()),
                sum(w in unit for unit in values.values()),
                len(agree[w]),
                np.mean(acc[w]) if acc[w] else np.nan,
                np.mean(agree[w]) if agree[w] else np.nan,
                naive_spammer(rates, met[w]),
            )
        )
    return pd.DataFrame(
        rows,
        columns=["worker", "n_answers", "n_items", "n_items_shared", "accuracy", "agreement",
                 "spammer_score"],
    )


def assert_same_table(got: pd.DataFrame, want: pd.DataFrame) -> None:
    got = got.set_index("worker").sort_index()
    want = want.set_index("worker").sort_index()
    assert list(got.columns) == list(want.columns)
    for col in want.columns:
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float),
                                   atol=1e-9, err_msg=col)


def assert_same_pairs(got: pd.DataFrame, want: pd.DataFrame) -> None:
    key = ["worker_a", "worker_b"]
    got = got.assign(p=got[key].apply(frozenset, axis=1)).set_index("p").sort_index()
    want = want.assign(p=want[key].apply(frozenset, axis=1)).set_index("p").sort_index()
    assert got.index.equals(want.index)
    for col in ["n_shared", "agreement", "kappa"]:
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float),
                                   atol=1e-9, err_msg=col)


answer_tables = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 4), st.integers(0, 2)), min_size=1, max_size=40
).map(frame)


# ---------------------------------------------------------------------- Krippendorff
# Krippendorff (2011), section C: 4 observers, 12 units, values 1..5, missing data.
KRIPPENDORFF_DATA = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, None],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 3],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}
# The coincidence matrix of the paper (values 1..5); margins 9, 13, 10, 5, 3; n = 40.
KRIPPENDORFF_COINCIDENCE = np.array(
    [
        [7, 4 / 3, 1 / 3, 1 / 3, 0],
        [4 / 3, 10, 4 / 3, 1 / 3, 0],
        [1 / 3, 4 / 3, 8, 1 / 3, 0],
        [1 / 3, 1 / 3, 1 / 3, 4, 0],
        [0, 0, 0, 0, 3],
    ]
)


@pytest.fixture
def krippendorff_answers() -> pd.DataFrame:
    return frame(
        [(u + 1, o, v) for o, vals in KRIPPENDORFF_DATA.items() for u, v in enumerate(vals)
         if v is not None]
    )


def test_krippendorff_coincidence_matrix_of_the_paper(krippendorff_answers):
    o, classes = agr_coefficients._coincidence(krippendorff_answers)
    assert classes.tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(o, KRIPPENDORFF_COINCIDENCE, atol=1e-12)
    np.testing.assert_allclose(o.sum(axis=1), [9, 13, 10, 5, 3])
    np.testing.assert_allclose(naive_coincidence(krippendorff_answers), o, atol=1e-12)


@pytest.mark.parametrize(
    "level, published",
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_alpha_of_the_paper(krippendorff_answers, level, published):
    alpha = krippendorff_alpha(krippendorff_answers, level)
    assert round(alpha, 3) == published
    assert alpha == pytest.approx(naive_alpha(krippendorff_answers, level), abs=1e-12)


def test_krippendorff_alpha_from_counts_equals_answers(krippendorff_answers):
    ann = Annotations.from_frame(krippendorff_answers)
    for level in ["nominal", "ordinal", "interval"]:
        # the count matrix codes the classes 0..4: interval and ordinal are shift-invariant
        assert krippendorff_alpha(ann.counts, level) == pytest.approx(
            krippendorff_alpha(ann, level), abs=1e-12
        )
    assert krippendorff_alpha(ann.counts, "ratio", values=[1, 2, 3, 4, 5]) == pytest.approx(
        krippendorff_alpha(ann, "ratio"), abs=1e-12
    )


def test_krippendorff_alpha_hand_computed():
    # units [3,0], [2,1], [0,3], [0,2]: o = [[4, 1], [1, 5]], n = 11
    # alpha = 1 - (n - 1) * 2 / (2 * 5 * 6) = 2/3
    assert krippendorff_alpha(np.array([[3, 0], [2, 1], [0, 3], [0, 2]])) == pytest.approx(2 / 3)


def test_krippendorff_alpha_perfect_and_undefined():
    assert krippendorff_alpha(np.array([[2, 0], [0, 3], [4, 0]])) == pytest.approx(1.0)
    assert np.isnan(krippendorff_alpha(np.array([[2, 0], [3, 0]])))  # one value: D_e = 0
    assert np.isnan(krippendorff_alpha(np.array([[1, 0], [0, 1]])))  # nothing pairable


def test_krippendorff_alpha_single_answer_items_are_dropped(krippendorff_answers):
    extra = frame([(100, "A", 5), (101, "B", 1)])
    assert krippendorff_alpha(pd.concat([krippendorff_answers, extra])) == pytest.approx(
        krippendorff_alpha(krippendorff_answers)
    )


def test_krippendorff_interval_needs_numbers():
    df = frame([(1, "a", "x"), (1, "b", "y"), (2, "a", "x"), (2, "b", "x")])
    with pytest.raises(InputError, match="numeric class values"):
        krippendorff_alpha(df, "interval")
    assert np.isfinite(krippendorff_alpha(df, "interval", values=[0.0, 1.0]))
    with pytest.raises(InvalidParameterError, match="'level'"):
        krippendorff_alpha(df, "nominall")


@pytest.mark.parametrize("values", [["low", "high"], [[0.0, 1.0]], [0.0, 1.0, 2.0], [0.0, np.inf]])
def test_krippendorff_bad_values_are_named_not_the_classes(values):
    # the classes are numbers here: the message must be about the values passed
    counts = np.array([[2, 0], [1, 1], [0, 2]])
    with pytest.raises(InputError) as err:
        krippendorff_alpha(counts, "interval", values=values)
    msg = str(err.value)
    assert msg.startswith("values must be 2 finite numbers, one per class; got ")
    assert "np." not in msg and "array(" not in msg and "classes are" not in msg
    with pytest.raises(InputError, match=r"the classes are \['x', 'y'\]"):
        krippendorff_alpha(frame([(1, "a", "x"), (1, "b", "y")]), "ratio")


def test_krippendorff_ordinal_follows_the_declared_class_order():
    # text ranks sort alphabetically (high < low < medium) unless the order is declared
    df = frame([(1, "a", "low"), (1, "b", "medium"), (2, "a", "medium"), (2, "b", "high"),
                (3, "a", "low"), (3, "b", "low"), (4, "a", "high"), (4, "b", "high")])
    declared = Annotations.from_frame(df, classes=["low", "medium", "high"])
    codes = {"low": 0, "medium": 1, "high": 2}
    as_ranks = df.assign(label=df["label"].map(codes))
    assert krippendorff_alpha(declared, "ordinal") == pytest.approx(
        krippendorff_alpha(as_ranks, "ordinal"))
    assert krippendorff_alpha(df, "ordinal") != pytest.approx(
        krippendorff_alpha(declared, "ordinal"))


def test_krippendorff_ratio_needs_non_negative_values():
    # the ratio metric ((c - k) / (c + k))^2 is for values with an absolute zero: with
    # -1 and 1 it would call two opposite answers identical (delta = 0)
    counts = np.array([[1, 0, 1], [1, 0, 1], [0, 2, 0]])
    with pytest.raises(InputError, match="ratio.*non-negative.*-1"):
        krippendorff_alpha(counts, "ratio", values=[-1.0, 0.0, 1.0])
    df = frame([(1, "a", -1), (1, "b", 1), (2, "a", 1), (2, "b", 1)])
    with pytest.raises(InputError, match="ratio.*non-negative"):
        krippendorff_alpha(df, "ratio")
    assert krippendorff_alpha(counts, "interval", values=[-1.0, 0.0, 1.0]) < 0
    assert np.isfinite(krippendorff_alpha(counts, "ratio", values=[0.0, 1.0, 2.0]))


@settings(max_examples=60)
@given(answer_tables, st.sampled_from(["nominal", "ordinal", "interval", "ratio"]))
def test_krippendorff_alpha_matches_naive(df, level):
    got, want = krippendorff_alpha(df, level), naive_alpha(df, level)
    if np.isnan(want):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(want, abs=1e-9)
        assert got <= 1 + 1e-12


# ---------------------------------------------------------------------- Fleiss
# Fleiss (1971) as reproduced in most textbooks: 10 subjects, 14 raters, 5 categories.
FLEISS_COUNTS = np.array(
    [
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ]
)


def classic_fleiss(counts: np.ndarray) -> float:
    n_items, n = counts.shape[0], counts[0].sum()
    p_i = ((counts**2).sum(axis=1) - n) / (n * (n - 1))
    p_j = counts.sum(axis=0) / (n_items * n)
    p_bar, p_e = p_i.mean(), (p_j**2).sum()
    return float("nan") if p_e >= 1 - 1e-12 else (p_bar - p_e) / (1 - p_e)


def test_fleiss_kappa_classic_example():
    kappa = fleiss_kappa(FLEISS_COUNTS)
    assert round(kappa, 3) == 0.210
    assert kappa == pytest.approx(classic_fleiss(FLEISS_COUNTS), abs=1e-12)


def test_fleiss_kappa_from_answers_equals_counts():
    rows = [(i, f"r{j}", k) for i, row in enumerate(FLEISS_COUNTS) for k, c in enumerate(row)
            for j in range(c)]
    # the raters' names do not matter to Fleiss' kappa: any distinct names per item
    rows = [(i, f"{w}-{n}", k) for n, (i, w, k) in enumerate(rows)]
    assert fleiss_kappa(frame(rows)) == pytest.approx(fleiss_kappa(FLEISS_COUNTS), abs=1e-12)


@settings(max_examples=50)
@given(
    st.integers(2, 6).flatmap(
        lambda n: st.lists(
            st.lists(st.integers(0, 2), min_size=n, max_size=n), min_size=2, max_size=8
        )
    )
)
def test_fleiss_equal_raters_is_the_classic_formula(ratings):
    # each row: the categories given by the n raters of one item
    counts = np.array([np.bincount(r, minlength=3) for r in ratings])
    want = classic_fleiss(counts)
    got = fleiss_kappa(counts)
    if not np.isfinite(want):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(want, abs=1e-9)


def test_fleiss_unequal_raters_hand_computed():
    # item 1: [2, 1] (3 raters), item 2: [0, 2], item 3: [1, 0] (one rater: no pairs)
    # P_a = mean(2/6, 2/2) = 2/3; pi = mean([2/3, 1/3], [0, 1], [1, 0]) = [5/9, 4/9]
    # P_e = 41/81; kappa = (2/3 - 41/81) / (40/81) = 13/40
    assert fleiss_kappa(np.array([[2, 1], [0, 2], [1, 0]])) == pytest.approx(13 / 40)


@settings(max_examples=60)
@given(answer_tables)
def test_fleiss_matches_naive(df):
    got, want = fleiss_kappa(df), naive_fleiss(df)
    if np.isnan(want):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(want, abs=1e-9)


def test_count_matrix_errors():
    with pytest.raises(InputError, match="whole numbers"):
        fleiss_kappa(np.array([[1.5, 2.0]]))
    with pytest.raises(InputError, match="row 0, column 1"):
        krippendorff_alpha(np.array([[1, -1]]))
    with pytest.raises(InputError, match="2-D"):
        fleiss_kappa(np.array([1, 2, 3]))


# ---------------------------------------------------------------------- Cohen
def test_cohen_kappa_hand_computed():
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o 0.7, p_e 0.5, kappa 0.4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    codes_a = [1 if x == "yes" else 0 for x in a]
    codes_b = [1 if x == "yes" else 0 for x in b]
    assert cohen_kappa(codes_a, codes_b, n_classes=2) == pytest.approx(0.4)
    assert cohen_kappa(codes_a, codes_b, n_classes=3) == pytest.approx(0.4)  # empty class


def test_cohen_kappa_bounds_and_undefined():
    assert cohen_kappa([0, 1, 2, 0], [0, 1, 2, 0]) == pytest.approx(1.0)
    assert cohen_kappa([0, 1, 0, 1], [1, 0, 1, 0]) == pytest.approx(-1.0)
    assert np.isnan(cohen_kappa(["x", "x"], ["x", "x"]))


def test_cohen_kappa_errors():
    with pytest.raises(InputError, match="same length"):
        cohen_kappa([0, 1], [0])
    with pytest.raises(InputError, match="missing label at row 1"):
        cohen_kappa([0, 1], [0, None])
    with pytest.raises(InputError, match="outside 0..1"):
        cohen_kappa([0, 2], [0, 1], n_classes=2)
    with pytest.raises(InputError, match="empty"):
        cohen_kappa([], [])
    with pytest.raises(InvalidParameterError, match="'n_classes'"):
        cohen_kappa([0, 1], [0, 1], n_classes=0)


def test_cohen_kappa_same_label_as_number_and_text_is_an_error():
    # one rater's column read as numbers, the other's as text: 1 and "1" are not equal,
    # so they used to be two classes and every pair a disagreement (kappa 0, no warning)
    with pytest.raises(InputError, match=r"label 1 both as .*int.* and as .*str"):
        cohen_kappa([1, 2, 1], ["1", "2", "1"])
    with pytest.raises(InputError, match=r"label 1\.0 both as float and as str"):
        cohen_kappa(np.array([1.0, 2.0]), np.array(["1.0", "2"], dtype=object))
    # equal values of different numeric types are one label, as before
    assert cohen_kappa([1, 2, 1, 2], [1.0, 2.0, 1.0, 1.0]) == pytest.approx(0.5)


def test_pairwise_cohen_kappa_hand_computed():
    df = frame(
        [(1, "a", "x"), (1, "b", "x"), (2, "a", "y"), (2, "b", "y"), (3, "a", "x"), (3, "b", "y"),
         (4, "a", "y"), (4, "b", "y"), (1, "c", "x"), (5, "c", "y")]
    )
    out = pairwise_cohen_kappa(df, min_shared=1)
    assert list(out.columns) == ["worker_a", "worker_b", "n_shared", "agreement", "kappa"]
    assert out[["worker_a", "worker_b", "n_shared"]].values.tolist() == [
        ["a", "b", 4], ["a", "c", 1], ["b", "c", 1]
    ]
    # a vs b: table [[1, 1], [0, 2]]: p_o 3/4, p_e (2*1 + 2*3)/16 = 1/2, kappa 1/2
    assert out["agreement"].iloc[0] == pytest.approx(0.75)
    want = cohen_kappa(["x", "y", "x", "y"], ["x", "y", "y", "y"])
    assert out["kappa"].iloc[0] == pytest.approx(want)
    assert out["kappa"].iloc[0] == pytest.approx(0.5)
    assert np.isnan(out["kappa"].iloc[1])  # one shared item: p_e = 1
    two = pairwise_cohen_kappa(df, min_shared=2)
    assert two[["worker_a", "worker_b"]].values.tolist() == [["a", "b"]]
    with pytest.raises(InvalidParameterError, match="'min_shared'"):
        pairwise_cohen_kappa(df, min_shared=0)


def test_pairwise_cohen_kappa_repeated_answers():
    # b answered item 2 twice (y and x): his value there is (1/2, 1/2)
    df = frame([(1, "a", "x"), (1, "b", "x"), (2, "a", "y"), (2, "b", "y"), (2, "b", "x")])
    out = pairwise_cohen_kappa(df, min_shared=1)
    assert out["n_shared"].tolist() == [2]
    # table [[1, 0], [0.5, 0.5]]: p_o 3/4, margins a (1, 1), b (1.5, 0.5): p_e 1/2
    assert out["agreement"].iloc[0] == pytest.approx(0.75)
    assert out["kappa"].iloc[0] == pytest.approx(0.5)


@settings(max_examples=60)
@given(answer_tables, st.integers(1, 3), st.booleans())
def test_pairwise_cohen_kappa_matches_naive(df, min_shared, dense):
    old = agr_coefficients._DENSE_CELLS
    agr_coefficients._DENSE_CELLS = old if dense else 0  # both code paths
    try:
        got = pairwise_cohen_kappa(df, min_shared=min_shared)
    finally:
        agr_coefficients._DENSE_CELLS = old
    assert_same_pairs(got, naive_pairwise(df, min_shared))


def test_pairwise_cohen_kappa_no_pairs():
    out = pairwise_cohen_kappa(frame([(1, "a", 0), (2, "b", 1)]), min_shared=1)
    assert out.empty
    assert list(out.columns) == ["worker_a", "worker_b", "n_shared", "agreement", "kappa"]


# ---------------------------------------------------------------------- annotators
def test_annotator_table_hand_computed():
    df = frame([(1, "a", 0), (1, "b", 0), (1, "c", 1), (2, "a", 1), (2, "b", 1), (2, "c", 1),
                (3, "a", 0)])
    t = annotator_table(df)
    assert list(t.columns) == ["worker", "n_answers", "n_items", "n_items_shared", "accuracy",
                               "agreement", "spammer_score"]
    assert t["n_answers"].tolist() == [3, 2, 2]
    assert t["n_items_shared"].tolist() == [2, 2, 2]  # item 3 has no other answer
    # a: item 1 others (b 0, c 1) tie -> credit 1/2; item 2 others say 1 -> 1
    # c: item 1 others say 0 -> 0; item 2 -> 1
    np.testing.assert_allclose(t["accuracy"], [0.75, 0.75, 0.5])
    np.testing.assert_allclose(t["agreement"], [0.75, 0.75, 0.5])
    # c always answers 1: rows of his confusion matrix are equal -> a spammer
    assert t["spammer_score"].iloc[2] == pytest.approx(0.0)
    conf = annotator_confusions(df, normalize=False)
    np.testing.assert_allclose(conf[0], [[0.5, 0.0], [0.5, 1.0]])
    np.testing.assert_allclose(conf[2], [[0.0, 1.0], [0.0, 1.0]])
    rates = annotator_confusions(df)
    np.testing.assert_allclose(rates[0], [[1.0, 0.0], [1 / 3, 2 / 3]])


def test_spammer_score_binary_is_youden_squared():
    # against given soft labels: worker answers 0 on 8 of 10 true-0 items (specificity
    # 0.8) and 1 on 6 of 10 true-1 items (sensitivity 0.6): S = (0.6 + 0.8 - 1)^2
    labels = [0] * 8 + [1] * 2 + [1] * 6 + [0] * 4
    df = frame([(i, "w", lab) for i, lab in enumerate(labels)])
    truth = np.array([[1.0, 0.0]] * 10 + [[0.0, 1.0]] * 10)
    t = annotator_table(df, truth)
    assert t["spammer_score"].iloc[0] == pytest.approx(0.4**2)
    assert t["accuracy"].iloc[0] == pytest.approx(0.7)


def test_spammer_score_perfect_and_permuting_workers():
    truth = np.eye(3)[[0, 1, 2, 0, 1, 2]]
    df = frame([(i, "good", int(np.argmax(truth[i]))) for i in range(6)]
               + [(i, "swap", (int(np.argmax(truth[i])) + 1) % 3) for i in range(6)]
               + [(i, "const", 2) for i in range(6)])
    t = annotator_table(df, truth).set_index("worker")
    assert t.loc["good", "spammer_score"] == pytest.approx(1.0)
    assert t.loc["swap", "spammer_score"] == pytest.approx(1.0)
    assert t.loc["swap", "accuracy"] == pytest.approx(0.0)
    assert t.loc["const", "spammer_score"] == pytest.approx(0.0)
    assert t.loc["good", "accuracy"] == pytest.approx(1.0)


def test_spammer_score_ignores_classes_the_soft_consensus_only_grazes():
    # three perfect workers on items of classes a and b; class c is declared, and the
    # soft consensus (as a fitted model gives) puts 1e-6 on it. The workers never meet
    # a c item: its confusion row (their answers spread by that 1e-6) must not count.
    df = frame([(i, w, "ab"[i % 2]) for i in range(6) for w in "xyz"])
    ann = Annotations.from_frame(df, classes=["a", "b", "c"])
    probs = np.full((6, 3), 1e-6)
    probs[np.arange(6), np.arange(6) % 2] = 1.0 - 2e-6
    t = annotator_table(ann, SoftLabels(probs, ann.classes, ann.item_ids))
    assert t["spammer_score"].tolist() == pytest.approx([1.0, 1.0, 1.0], abs=1e-4)
    assert annotator_table(ann)["spammer_score"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    # a worker who answers a on every item is still a spammer
    lazy = pd.concat([df, frame([(i, "lazy", "a") for i in range(6)])])
    ann = Annotations.from_frame(lazy, classes=["a", "b", "c"])
    t = annotator_table(ann, SoftLabels(probs, ann.classes, ann.item_ids)).set_index("worker")
    assert t.loc["lazy", "spammer_score"] == pytest.approx(0.0, abs=1e-4)


def test_annotator_table_soft_labels_aligned_by_id_and_class():
    df = frame([(1, "a", "x"), (1, "b", "y"), (2, "a", "y"), (2, "b", "y"), (3, "a", "x")])
    probs = np.array([[0.8, 0.2], [0.1, 0.9], [0.5, 0.5]])
    soft = SoftLabels(probs, ["x", "y"], item_ids=[1, 2, 3])
    shuffled = SoftLabels(probs[[2, 0, 1]][:, ::-1], ["y", "x"], item_ids=[3, 1, 2])
    t = annotator_table(df, soft)
    # a: mean(0.8, 0.9, 0.5); b: mean(0.2, 0.9)
    np.testing.assert_allclose(t["accuracy"], [(0.8 + 0.9 + 0.5) / 3, (0.2 + 0.9) / 2])
    pd.testing.assert_frame_equal(t, annotator_table(df, shuffled))
    pd.testing.assert_frame_equal(t, annotator_table(df, probs))
    with pytest.raises(InputError, match="no row for item 3"):
        annotator_table(df, SoftLabels(probs[:2], ["x", "y"], item_ids=[1, 2]))
    with pytest.raises(InputError, match="classes"):
        annotator_table(df, SoftLabels(probs, ["x", "z"], item_ids=[1, 2, 3]))
    with pytest.raises(InputError, match="2 rows but the answers cover 3 items"):
        annotator_table(df, probs[:2])


@settings(max_examples=60)
@given(answer_tables)
def test_annotator_table_matches_naive(df):
    assert_same_table(annotator_table(df), naive_table(df))


@settings(max_examples=40)
@given(answer_tables, st.integers(0, 2**32 - 1))
def test_annotator_table_with_soft_labels_matches_naive(df, seed):
    ann = Annotations.from_frame(df)
    probs = np.random.default_rng(seed).dirichlet(np.ones(ann.n_classes), size=ann.n_items)
    soft = SoftLabels(probs, ann.classes, ann.item_ids)
    want = naive_table(df, dict(zip(ann.item_ids, probs)))
    assert_same_table(annotator_table(df, soft), want)
    confusions = annotator_confusions(ann, soft, normalize=False)
    # every (item, worker) pair spreads a mass of 1 over the cells
    assert confusions.sum() == pytest.approx(df.groupby(["item", "worker"]).ngroups)


@settings(max_examples=40)
@given(answer_tables, st.integers(0, 2**32 - 1))
def test_bayesian_label_risk_matches_naive(df, seed):
    ann = Annotations.from_frame(df)
    rng = np.random.default_rng(seed)
    weights = rng.random((ann.n_workers, ann.n_classes))
    weights[rng.random(ann.n_workers) < 0.2] = np.nan  # some labellers without a weight
    res = bayesian_label_risk(ann, quality=weights)
    values, classes, _ = worker_values(df)
    for i, item in enumerate(ann.item_ids):
        c = np.zeros(ann.n_classes)
        for w, v in values[item].items():
            c += np.nan_to_num(v * weights[list(ann.worker_ids).index(w)])
        if c.sum() > 0:
            np.testing.assert_allclose(res.soft_labels.probs[i], c / c.sum(), atol=1e-12)
            assert res.risk[i] == pytest.approx(1 - (c / c.sum()).max(), abs=1e-12)
            assert 0 <= res.risk[i] <= 1 - 1 / ann.n_classes + 1e-12
        else:
            assert np.isnan(res.risk[i]) and res.n_labellers[i] == 0


@settings(max_examples=30)
@given(answer_tables, st.randoms(use_true_random=False))
def test_agreement_measures_ignore_row_order(df, rnd):
    perm = list(range(len(df)))
    rnd.shuffle(perm)
    other = df.iloc[perm]
    for fn in (krippendorff_alpha, fleiss_kappa):
        a, b = fn(df), fn(other)
        assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, abs=1e-12)
    assert_same_table(annotator_table(other), annotator_table(df))


def test_small_blocks_give_the_same_table(monkeypatch, multiclass_crowd):
    want = annotator_table(multiclass_crowd)
    monkeypatch.setattr(agr_annotators, "_BLOCK_CELLS", 7)  # a few groups per block
    pd.testing.assert_frame_equal(annotator_table(multiclass_crowd), want)


# ---------------------------------------------------------------------- edge cases
def test_one_worker():
    df = frame([(1, "a", 0), (2, "a", 1)])
    t = annotator_table(df)
    assert t["n_items_shared"].tolist() == [0]
    assert np.isnan(t["accuracy"].iloc[0]) and np.isnan(t["agreement"].iloc[0])
    assert np.isnan(t["spammer_score"].iloc[0])
    assert np.isnan(krippendorff_alpha(df)) and np.isnan(fleiss_kappa(df))
    assert pairwise_cohen_kappa(df, min_shared=1).empty
    assert np.isnan(annotator_confusions(df)).all()


def test_one_class():
    df = frame([(1, "a", "x"), (1, "b", "x"), (2, "a", "x"), (2, "b", "x")])
    t = annotator_table(df)
    np.testing.assert_allclose(t["accuracy"], 1.0)
    np.testing.assert_allclose(t["agreement"], 1.0)
    assert t["spammer_score"].isna().all()
    assert np.isnan(krippendorff_alpha(df)) and np.isnan(fleiss_kappa(df))
    assert np.isnan(pairwise_cohen_kappa(df, min_shared=1)["kappa"].iloc[0])
    assert item_ambiguity(np.ones((2, 1))).tolist() == [0.0, 0.0]


def test_worker_without_shared_items_and_single_answer_items():
    df = frame([(1, "a", 0), (1, "b", 1), (2, "a", 1), (2, "b", 1), (3, "c", 0)])
    t = annotator_table(df).set_index("worker")
    assert t.loc["c", "n_items_shared"] == 0
    assert np.isnan(t.loc["c", "accuracy"]) and np.isnan(t.loc["c", "agreement"])
    assert t.loc["a", "n_items_shared"] == 2
    # with soft labels the lone worker is scored
    soft = np.array([[0.5, 0.5], [0.0, 1.0], [1.0, 0.0]])
    assert annotator_table(df, soft).set_index("worker").loc["c", "accuracy"] == 1.0


def test_bad_answers_input():
    for fn in (annotator_table, krippendorff_alpha, fleiss_kappa, pairwise_cohen_kappa):
        with pytest.raises(InputError):
            fn({"item": [1]})
        with pytest.raises(InputError, match="no 'worker' column"):
            fn(pd.DataFrame({"item": [1], "label": [0]}))


# ---------------------------------------------------------------------- ambiguity
def test_item_ambiguity():
    p = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]])
    np.testing.assert_allclose(item_ambiguity(p), [0.0, 1.0, np.log(2) / np.log(3)])
    np.testing.assert_allclose(item_ambiguity(p, normalize=False), [0.0, np.log(3), np.log(2)])
    soft = SoftLabels(p, ["a", "b", "c"])
    np.testing.assert_allclose(item_ambiguity(soft), item_ambiguity(p))
    np.testing.assert_allclose(item_ambiguity(soft, normalize=False), soft.entropy())
    with pytest.raises(InputError, match="do not sum to 1"):
        item_ambiguity([[0.5, 0.2]])
    with pytest.raises(InputError, match="2-D"):
        item_ambiguity([0.5, 0.5])


# ---------------------------------------------------------------------- Estes et al.
def test_labeller_quality_hand_computed():
    df = frame([(1, "a", 0), (2, "a", 1), (3, "a", 1), (4, "a", 1), (5, "a", 0),
                (1, "b", 0), (3, "b", 1), (5, "b", 1), (6, "c", 1)])
    gold = {1: 0, 2: 0, 3: 1, 4: 1}
    q = labeller_quality(df, gold)
    assert isinstance(q, LabellerQuality)
    assert q.n_gold.tolist() == [4, 2, 0]
    np.testing.assert_allclose(q.qscore, [0.75, 1.0, np.nan])
    # a: gold 0 answered (0, 1) -> PA 1/2; gold 1 answered (1, 1) -> 1
    np.testing.assert_allclose(q.producer_accuracy, [[0.5, 1.0], [1.0, 1.0], [np.nan, np.nan]])
    np.testing.assert_allclose(q.prior, [[0.375, 0.75], [1.0, 1.0], [np.nan, np.nan]])
    frame_ = q.to_frame()
    assert list(frame_.columns) == ["worker", "n_gold", "n_scored", "qscore", "producer_accuracy_0",
                                    "producer_accuracy_1", "prior_0", "prior_1"]
    smoothed = labeller_quality(df, gold, smoothing=1.0)
    # a, class 0: (1 + 1) / (2 + 2); c never met gold: 1 / K
    assert smoothed.producer_accuracy[0, 0] == pytest.approx(0.5)
    np.testing.assert_allclose(smoothed.producer_accuracy[2], [0.5, 0.5])


def test_labeller_quality_component_scores():
    df = frame([(1, "a", 0), (2, "a", 1), (1, "b", 0)])
    comps = np.array([[1.0, 0.0, 0.0, 1.0], [0.5, 1.0, 1.0, 0.0], [np.nan, 1.0, 1.0, 1.0]])
    q = labeller_quality(df, {1: 0, 2: 1}, answer_scores=comps)
    w = np.array(ESTES_QSCORE_WEIGHTS)
    assert w.sum() == pytest.approx(1.0)
    want_a = (comps[0] @ w + comps[1] @ w) / 2  # 0.675 and 0.6
    np.testing.assert_allclose(q.qscore, [want_a, np.nan])  # b's only answer is unscored
    assert q.n_scored.tolist() == [2, 0] and q.n_gold.tolist() == [2, 1]
    q1 = labeller_quality(df, {1: 0, 2: 1}, answer_scores=[0.2, 0.4, np.nan])
    np.testing.assert_allclose(q1.qscore, [0.3, np.nan])
    with pytest.raises(InvalidParameterError, match="'weights'"):
        labeller_quality(df, {1: 0}, answer_scores=comps, weights=[1.0, 1.0])
    with pytest.raises(InputError, match="one row per answer"):
        labeller_quality(df, {1: 0}, answer_scores=[0.5])
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        labeller_quality(df, {1: 0}, answer_scores=[0.5, 2.0, 0.1])
    with pytest.raises(InputError, match="not one of the classes"):
        labeller_quality(df, {1: 7})


def test_bayesian_label_risk_hand_computed():
    df = frame([(1, "a", 1), (1, "b", 1), (1, "c", 0), (2, "a", 0), (2, "b", 1), (3, "c", 1)])
    res = bayesian_label_risk(df, quality=[0.9, 0.3, 0.6])
    # item 1: C1 = (0.9 + 0.3) / 1.8 = 2/3; item 2: C0 = 0.9 / 1.2 = 3/4; item 3: C1 = 1
    np.testing.assert_allclose(res.soft_labels.probs, [[1 / 3, 2 / 3], [0.75, 0.25], [0.0, 1.0]])
    np.testing.assert_allclose(res.risk, [1 / 3, 0.25, 0.0])
    assert res.n_labellers.tolist() == [3, 2, 1]
    assert res.risky.tolist() == [False, False, False]
    assert res.mean_risk == pytest.approx((1 / 3 + 0.25) / 3)
    out = res.to_frame()
    assert out["label"].tolist() == [1, 0, 1]
    np.testing.assert_allclose(out["confidence"], [2 / 3, 0.75, 1.0])
    # per-class weights: a is trusted on class 0 only
    res2 = bayesian_label_risk(df, quality=np.array([[0.9, 0.1], [0.3, 0.3], [0.6, 0.6]]))
    assert res2.soft_labels.probs[0, 1] == pytest.approx((0.1 + 0.3) / (0.1 + 0.3 + 0.6))
    # binary risk is min(C, 1 - C)
    c1 = res2.soft_labels.probs[:, 1]
    np.testing.assert_allclose(res2.risk, np.minimum(c1, 1 - c1))


def test_bayesian_label_risk_weights_from_labeller_quality():
    df = frame([(1, "a", 0), (2, "a", 1), (3, "a", 1), (4, "a", 1), (1, "b", 0), (3, "b", 1),
                (9, "a", 0), (9, "b", 1), (9, "c", 1)])
    q = labeller_quality(df, {1: 0, 2: 0, 3: 1, 4: 1})
    res = bayesian_label_risk(df, q, threshold=0.2)
    # item 9: a says 0 with weight 0.75 * 0.5, b says 1 with 1 * 1, c has no gold: left out
    c0 = 0.375 / (0.375 + 1.0)
    assert res.soft_labels.probs[-1, 0] == pytest.approx(c0)
    assert res.risk[-1] == pytest.approx(c0)
    assert res.n_labellers[-1] == 2
    assert res.risky[-1]
    # one weight per labeller, by worker id, in another order; c unknown
    other = bayesian_label_risk(df, quality=pd.Series({"b": 1.0, "a": 0.75}))
    assert other.soft_labels.probs[-1, 0] == pytest.approx(0.75 / 1.75)
    assert not np.isnan(other.risk).any() and other.n_labellers[-1] == 2


def test_bayesian_label_risk_unweighted_items():
    df = frame([(1, "a", 0), (1, "b", 1), (2, "c", 1)])
    res = bayesian_label_risk(df, quality={"a": 1.0, "b": 0.5})  # c unknown
    assert np.isnan(res.risk[1]) and res.n_labellers[1] == 0
    np.testing.assert_allclose(res.soft_labels.probs[1], [0.5, 0.5])
    assert res.to_frame()["label"].iloc[1] is None
    assert res.frac_risky == 0.0 and res.mean_risk == pytest.approx(1 / 3)
    with pytest.raises(InputError, match="non-negative"):
        bayesian_label_risk(df, quality=[1.0, -1.0, 1.0])
    with pytest.raises(InputError, match="shape"):
        bayesian_label_risk(df, quality=[1.0, 1.0])
    with pytest.raises(InvalidParameterError, match="'threshold'"):
        bayesian_label_risk(df, threshold=2.0)


def test_weights_or_soft_labels_with_a_repeated_id_are_an_input_error():
    df = frame([(1, "a", 0), (1, "b", 1), (2, "c", 1)])
    twice = pd.Series([1.0, 0.5, 0.2, 0.9], index=["a", "b", "c", "a"])
    with pytest.raises(InputError, match="quality has worker 'a' more than once"):
        bayesian_label_risk(df, quality=twice)
    soft = SoftLabels([[0.5, 0.5], [0.2, 0.8]], classes=[0, 1], item_ids=[1, 2])
    assert annotator_table(df, soft).shape[0] == 3


def checkerboard_labels(accuracies, seed=0):
    """The synthetic experiment of the method note: 224 x 224 fields, three labellers
    flipping pixels independently."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:224, :224]
    truth = ((yy // 28 + xx // 28) % 2).ravel()
    rows = []
    for w, acc in enumerate(accuracies):
        flip = rng.random(truth.size) > acc
        rows.append(pd.DataFrame({"item": np.arange(truth.size), "worker": w,
                                  "label": np.where(flip, 1 - truth, truth)}))
    return pd.concat(rows, ignore_index=True), truth


def exact_risk(acc, weights, threshold):
    """Expected mean risk and share of risky pixels, by enumerating who is right."""
    mean, risky = 0.0, 0.0
    for right in itertools.product([True, False], repeat=len(acc)):
        p = np.prod([a if r else 1 - a for a, r in zip(acc, right)])
        c = sum(w for w, r in zip(weights, right) if r) / sum(weights)
        r = min(c, 1 - c)
        mean += p * r
        risky += p * (r > threshold)
    return mean, risky


def test_bayesian_label_risk_checkerboard_experiment():
    acc = (0.95, 0.85, 0.60)
    df, truth = checkerboard_labels(acc)
    equal = bayesian_label_risk(df)
    # 3 equal votes: r is 0 or 1/3 < 0.34, so nothing is flagged
    assert equal.frac_risky == 0.0
    assert set(np.round(np.unique(equal.risk), 6)) <= {0.0, round(1 / 3, 6)}
    want_mean, _ = exact_risk(acc, (1, 1, 1), 0.34)
    assert want_mean == pytest.approx(0.1708, abs=1e-4)
    assert equal.mean_risk == pytest.approx(want_mean, abs=0.005)
    accuracy = np.mean(equal.soft_labels.hard_codes() == truth)
    assert accuracy == pytest.approx(0.9185, abs=0.006)
    weighted = bayesian_label_risk(df, quality=np.array(acc))
    want_mean, want_risky = exact_risk(acc, acc, 0.34)
    assert want_risky == pytest.approx(0.185, abs=1e-3)
    assert weighted.mean_risk == pytest.approx(want_mean, abs=0.005)
    assert weighted.frac_risky == pytest.approx(want_risky, abs=0.006)
    wrong = weighted.soft_labels.probs.argmax(axis=1) != truth
    assert weighted.risk[wrong].mean() > 2 * weighted.risk[~wrong].mean()
    summary = weighted.summary(groups=truth)
    assert summary.index.tolist() == [0, 1] and summary["n_items"].sum() == truth.size
    assert weighted.summary()["mean_risk"].iloc[0] == pytest.approx(weighted.mean_risk)


# ---------------------------------------------------------------------- real data
@lru_cache(maxsize=None)
def crowd(name: str) -> pd.DataFrame:
    path = DATA / name / "answers.csv"
    if not path.is_file():
        pytest.skip(f"real data not found: {path}")
    return pd.read_csv(path)


@lru_cache(maxsize=None)
def truth(name: str) -> pd.Series:
    path = DATA / name / "truth.csv"
    if not path.is_file():
        pytest.skip(f"real data not found: {path}")
    t = pd.read_csv(path)
    return pd.Series(t["label"].to_numpy(), index=t["item"])


# alpha of the `krippendorff` package (0.9.0) on the same data, one answer per worker
# and item (adult3: the last of repeated answers)
PEER_ALPHA = {"duck": 0.12550, "dog": 0.51942, "adult3": 0.32390}


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["duck", "dog", "adult3"])
def test_real_alpha_and_kappa(name):
    df = crowd(name)
    dedup = df.drop_duplicates(["item", "worker"], keep="last")
    alpha = krippendorff_alpha(dedup)
    assert alpha == pytest.approx(PEER_ALPHA[name], abs=5e-5)
    assert alpha == pytest.approx(naive_alpha(dedup), abs=1e-9)
    full = krippendorff_alpha(df)
    assert -1 <= full <= 1
    assert full == pytest.approx(naive_alpha(df), abs=1e-9)
    kappa = fleiss_kappa(df)
    assert kappa == pytest.approx(naive_fleiss(df), abs=1e-9)
    # many values per item: alpha and Fleiss' kappa nearly coincide
    assert abs(kappa - full) < 0.01


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["duck", "dog"])
def test_real_annotator_table(name):
    df = crowd(name)
    t = annotator_table(df)
    assert_same_table(t, naive_table(df))
    assert t["accuracy"].between(0, 1).all()
    assert t["spammer_score"].dropna().between(0, 1).all()
    # the leave-one-out accuracy tracks the accuracy on the true labels
    tr = truth(name)
    scored = df[df["item"].isin(tr.index)]
    true_acc = (scored["label"].to_numpy() == tr.loc[scored["item"]].to_numpy())
    true_acc = pd.Series(true_acc).groupby(scored["worker"].to_numpy()).mean()
    busy = t[t["n_answers"] >= 20].set_index("worker")
    corr = np.corrcoef(busy["accuracy"], true_acc.loc[busy.index])[0, 1]
    assert corr > 0.7


@pytest.mark.realdata
def test_real_adult3_repeated_answers():
    df = crowd("adult3")
    sub = df[df["item"].isin(df["item"].unique()[:15])]
    assert sub.duplicated(["item", "worker"]).any()
    assert_same_table(annotator_table(sub), naive_table(sub))
    assert_same_pairs(pairwise_cohen_kappa(sub, min_shared=5), naive_pairwise(sub, 5))
    t = annotator_table(df)
    assert (t["n_items"] <= t["n_answers"]).all() and t["n_answers"].sum() == len(df)
    pairs = pairwise_cohen_kappa(df, min_shared=20)
    assert len(pairs) > 100 and pairs["kappa"].dropna().between(-1, 1).all()


@pytest.mark.realdata
def test_real_pairwise_kappa_duck():
    df = crowd("duck")
    got = pairwise_cohen_kappa(df, min_shared=10)
    assert len(got) == 39 * 38 // 2  # every duck worker answered every item
    assert_same_pairs(got, naive_pairwise(df, 10))
    a, b = got["worker_a"].iloc[0], got["worker_b"].iloc[0]
    wide = df.pivot(index="item", columns="worker", values="label")
    assert got["kappa"].iloc[0] == pytest.approx(cohen_kappa(wide[a], wide[b]))


@pytest.mark.parametrize("module", ["ambiguity", "annotators", "coefficients", "quality"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"softlabels.audit.agreement.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
