"""SoftLabels: validation, constructors, summaries, tables and files."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softlabels import InputError, SoftLabels
from softlabels.core.soft import RESERVED_COLUMNS

P2 = [[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------- validation
class TestValidation:
    def test_valid_input_is_stored_as_read_only_float64(self):
        s = SoftLabels([[1, 0], [0, 1]], ["a", "b"])
        assert s.probs.dtype == np.float64
        assert s.probs.tolist() == [[1.0, 0.0], [0.0, 1.0]]
        with pytest.raises(ValueError, match="read-only"):
            s.probs[0, 0] = 0.5
        assert not s.classes.flags.writeable
        assert not s.item_ids.flags.writeable

    def test_input_array_is_copied(self):
        p = np.array([[0.5, 0.5]])
        s = SoftLabels(p, ["a", "b"])
        p[0, 0] = 0.0
        assert s.probs.tolist() == [[0.5, 0.5]]

    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_non_finite_values(self, bad):
        with pytest.raises(InputError, match=r"1 non-finite values \(first at row 1, column 0\)"):
            SoftLabels([[0.5, 0.5], [bad, 0.5]], ["a", "b"])

    def test_negative_values_are_named(self):
        with pytest.raises(InputError, match=r"negative values \(first at row 0, column 0: -0.1\)"):
            SoftLabels([[-0.1, 1.1]], ["a", "b"])

    def test_rows_must_sum_to_one(self):
        with pytest.raises(InputError, match=r"1 rows do not sum to 1 \(row 1 sums to 0.99"):
            SoftLabels([[0.5, 0.5], [0.5, 0.49]], ["a", "b"])

    def test_error_for_bad_sums_points_to_from_counts(self):
        with pytest.raises(InputError, match="from_counts"):
            SoftLabels([[2.0, 2.0]], ["a", "b"])

    def test_sum_tolerance_is_1e_5(self):
        ok = SoftLabels([[0.5, 0.5 + 9e-6]], ["a", "b"])
        assert ok.probs[0, 1] == 0.5 + 9e-6  # stored as given, not renormalised
        with pytest.raises(InputError, match="do not sum to 1"):
            SoftLabels([[0.5, 0.5 + 2e-5]], ["a", "b"])

    def test_probs_must_be_2d(self):
        with pytest.raises(InputError, match=r"must be 2-D .* got shape \(2,\)"):
            SoftLabels([0.5, 0.5], ["a", "b"])

    def test_probs_must_be_numeric(self):
        with pytest.raises(InputError, match="must be numeric"):
            SoftLabels([["a", 0.5]], ["a", "b"])

    def test_no_class_columns(self):
        with pytest.raises(InputError, match="no class columns"):
            SoftLabels(np.zeros((2, 0)), [])

    def test_class_count_mismatch(self):
        with pytest.raises(InputError, match="probs has 2 columns but 3 classes were given"):
            SoftLabels([[0.5, 0.5]], ["a", "b", "c"])

    def test_item_id_count_mismatch(self):
        with pytest.raises(InputError, match="probs has 1 rows but 2 item ids were given"):
            SoftLabels([[0.5, 0.5]], ["a", "b"], item_ids=[1, 2])

    def test_classes_must_be_1d(self):
        with pytest.raises(InputError, match="classes must be 1-D"):
            SoftLabels([[0.5, 0.5]], [["a", "b"]])

    def test_duplicate_classes(self):
        with pytest.raises(InputError, match="classes must be unique; 'a' appears more than once"):
            SoftLabels([[0.3, 0.3, 0.4]], ["a", "b", "a"])

    def test_duplicate_integer_class_is_named_as_written(self):
        with pytest.raises(InputError, match=r"^classes must be unique; 0 appears more than once"):
            SoftLabels([[0.3, 0.3, 0.4]], np.array([0, 1, 0]))

    def test_duplicate_item_ids(self):
        with pytest.raises(InputError, match="unique"):
            SoftLabels([[0.5, 0.5], [1.0, 0.0]], ["a", "b"], item_ids=["i1", "i1"])

    @pytest.mark.parametrize("ids", [[1.0, np.nan], ["u", None], np.array(["u", pd.NA],
                                                                       dtype=object)])
    def test_missing_item_id_names_its_row(self, ids):
        with pytest.raises(InputError, match=r"^item_ids: row 1 is missing \(1 missing\); "
                                             r"every item needs an id\.$"):
            SoftLabels([[1.0, 0.0], [0.0, 1.0]], ["a", "b"], item_ids=ids)

    def test_missing_item_id_in_a_file_names_the_file_and_row(self, tmp_path):
        from softlabels.core.tables import read_probs

        path = tmp_path / "s.csv"
        path.write_text("item,label,confidence,a,b\nu,a,1,1,0\n,a,1,1,0\n")
        for read in (SoftLabels.read_csv, read_probs):
            with pytest.raises(InputError, match=rf"^{path}: item_ids: row 1 is missing"):
                read(path)
        path = tmp_path / "s.jsonl"
        path.write_text('{"item": "u", "probs": {"a": 1.0}}\n{"item": NaN, "probs": {"a": 1.0}}\n')
        with pytest.raises(InputError, match=rf"^{path}: item_ids: row 1 is missing"):
            SoftLabels.read_jsonl(path)

    def test_item_ids_from_a_list_keep_their_values(self):
        """numpy would make [1, "x"] text and [2**63 + 5, 3] float64."""
        s = SoftLabels(np.eye(2), ["a", "b"], item_ids=[1, "1"])
        assert s.item_ids.tolist() == [1, "1"]
        s = SoftLabels(np.eye(2), ["a", "b"], item_ids=[2**63 + 5, 3])
        assert s.item_ids.tolist() == [2**63 + 5, 3]
        assert s.item_ids.dtype == np.uint64
        assert SoftLabels(np.eye(2), ["a", "b"], item_ids=["x", "y"]).item_ids.dtype.kind == "U"

    def test_support_shape(self):
        with pytest.raises(InputError, match=r"support must have shape \(1,\); got \(2,\)"):
            SoftLabels([[0.5, 0.5]], ["a", "b"], support=[1, 2])

    @pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
    def test_support_must_be_finite_non_negative(self, bad):
        with pytest.raises(InputError, match="support must be finite and non-negative"):
            SoftLabels([[0.5, 0.5]], ["a", "b"], support=[bad])

    def test_bad_support_names_its_row(self, tmp_path):
        with pytest.raises(InputError, match=r"support must be finite and non-negative \(row 1 "
                                             r"\(item 'b'\): nan\)\.$"):
            SoftLabels([[0.5, 0.5], [1.0, 0.0]], ["a", "b"], ["a", "b"], support=[2, np.nan])
        path = tmp_path / "s.csv"
        path.write_text("item,label,confidence,support,a,b\nu,a,1,2,1,0\nv,a,1,,1,0\n")
        with pytest.raises(InputError, match=rf"^{path}: support must be finite and "
                                             r"non-negative \(row 1 \(item 'v'\): nan\)\.$"):
            SoftLabels.read_csv(path)
        # text in the column names it too, not numpy's float conversion
        path.write_text("item,label,confidence,support,a,b\nu,a,1,2,1,0\nv,a,1,many,1,0\n")
        with pytest.raises(InputError, match=rf"^{path}: the support column holds 'many' "
                                             r"\(row 1\), not a number\.$"):
            SoftLabels.read_csv(path)

    def test_zero_items_is_allowed(self):
        s = SoftLabels(np.zeros((0, 2)), ["a", "b"])
        assert (s.n_items, s.n_classes, len(s)) == (0, 2, 0)

    def test_default_item_ids_and_version(self):
        s = SoftLabels(P2, ["a", "b"])
        assert s.item_ids.tolist() == [0, 1, 2]
        assert s.provenance["version"] == __import__("softlabels").__version__

    def test_provenance_is_made_json_friendly(self):
        s = SoftLabels(
            [[0.5, 0.5]],
            ["a", "b"],
            provenance={"method": "m", "params": {"x": np.float32(0.5), "arr": np.arange(2), "t": (1, 2)}},
        )
        assert s.provenance["params"] == {"x": 0.5, "arr": [0, 1], "t": [1, 2]}
        json.dumps(s.provenance)  # must not raise

    def test_provenance_property_is_a_copy(self):
        s = SoftLabels(P2, ["a", "b"], provenance={"method": "m"})
        s.provenance["method"] = "changed"
        assert s.provenance["method"] == "m"


# ---------------------------------------------------------------------- constructors
class TestFromCounts:
    def test_normalises_rows(self):
        s = SoftLabels.from_counts([[1, 3], [2, 2], [5, 0]], ["a", "b"])
        assert s.probs.tolist() == [[0.25, 0.75], [0.5, 0.5], [1.0, 0.0]]

    def test_support_is_the_raw_total(self):
        s = SoftLabels.from_counts([[1, 3], [0, 0]], ["a", "b"], smoothing=1.0)
        assert s.support.tolist() == [4.0, 0.0]

    def test_smoothing_is_added_to_every_count(self):
        s = SoftLabels.from_counts([[1, 3, 0]], ["a", "b", "c"], smoothing=1.0)
        np.testing.assert_allclose(s.probs, [[2 / 7, 4 / 7, 1 / 7]], rtol=0, atol=1e-15)

    @pytest.mark.parametrize("counts, smoothing", [([[1, 1], [1e308, 1e308]], 0.0),
                                                   ([[1, 1], [1.7e308, 0]], 5e307)])
    def test_a_row_total_too_large_for_float64_is_named(self, counts, smoothing):
        """Its total overflowed to infinity, and the error said the row sums to 0."""
        with np.errstate(over="raise"), pytest.raises(
                InputError, match=r"^counts: row 1 sums to more than a float64 holds "
                                  r"\(1\.8e\+308\); divide the counts by a constant first\.$"):
            SoftLabels.from_counts(counts, ["a", "b"], smoothing=smoothing)

    def test_all_zero_row_is_uniform(self):
        s = SoftLabels.from_counts([[0, 0, 0], [0, 2, 0]], ["a", "b", "c"])
        np.testing.assert_array_equal(s.probs, [[1 / 3, 1 / 3, 1 / 3], [0, 1, 0]])

    def test_negative_count(self):
        with pytest.raises(InputError, match=r"non-negative \(row 0, column 1: -3.0\)"):
            SoftLabels.from_counts([[1, -3]], ["a", "b"])

    def test_nan_count(self):
        with pytest.raises(InputError, match="NaN or infinite"):
            SoftLabels.from_counts([[1, np.nan]], ["a", "b"])

    def test_negative_smoothing(self):
        with pytest.raises(InputError, match="smoothing must be >= 0"):
            SoftLabels.from_counts([[1, 3]], ["a", "b"], smoothing=-1)

    @pytest.mark.parametrize("smoothing", [float("nan"), float("inf")])
    def test_smoothing_must_be_finite(self, smoothing):
        # not an error about non-finite probabilities the caller never gave
        with pytest.raises(InputError, match=r"^smoothing must be >= 0 and finite; got "):
            SoftLabels.from_counts([[1, 3]], ["a", "b"], smoothing=smoothing)

    def test_counts_must_be_2d(self):
        with pytest.raises(InputError, match="counts must be 2-D"):
            SoftLabels.from_counts([1, 3], ["a", "b"])

    @given(
        hnp.arrays(np.float64, st.tuples(st.integers(1, 8), st.integers(1, 5)),
                   elements=st.floats(0, 1e6)),
        st.floats(0, 10),
    )
    def test_rows_always_sum_to_one(self, counts, smoothing):
        s = SoftLabels.from_counts(counts, list(range(counts.shape[1])), smoothing=smoothing)
        np.testing.assert_allclose(s.probs.sum(axis=1), 1.0, atol=1e-12)
        np.testing.assert_array_equal(s.support, counts.sum(axis=1))


class TestFromLogits:
    def test_softmax_value(self):
        s = SoftLabels.from_logits([[0.0, math.log(3.0)]], ["a", "b"])
        np.testing.assert_allclose(s.probs, [[0.25, 0.75]], rtol=1e-15)

    def test_stable_for_huge_logits(self):
        s = SoftLabels.from_logits([[1e4, 0.0, -1e4], [1e4, 1e4, -1e4]], ["a", "b", "c"])
        assert s.probs.tolist() == [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]

    def test_temperature(self):
        s = SoftLabels.from_logits([[0.0, 2 * math.log(3.0)]], ["a", "b"], temperature=2.0)
        np.testing.assert_allclose(s.probs, [[0.25, 0.75]], rtol=1e-15)

    @pytest.mark.parametrize("t", [0.0, -1.0])
    def test_temperature_must_be_positive(self, t):
        with pytest.raises(InputError, match="temperature must be > 0"):
            SoftLabels.from_logits([[0.0, 1.0]], ["a", "b"], temperature=t)

    def test_non_finite_logits(self):
        with pytest.raises(InputError, match="NaN or infinite"):
            SoftLabels.from_logits([[0.0, np.inf]], ["a", "b"])

    @given(
        hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 5)),
                   elements=st.floats(-1e4, 1e4)),
        st.floats(-1e3, 1e3),
    )
    def test_shift_invariant(self, logits, shift):
        a = SoftLabels.from_logits(logits, list(range(logits.shape[1]))).probs
        b = SoftLabels.from_logits(logits + shift, list(range(logits.shape[1]))).probs
        np.testing.assert_allclose(a, b, atol=1e-9)


# ---------------------------------------------------------------------- summaries
class TestSummaries:
    def test_hard_ties_go_to_the_first_class(self):
        s = SoftLabels([[0.5, 0.5], [0.3, 0.7]], ["b", "a"])
        assert s.hard().tolist() == ["b", "a"]
        t = SoftLabels([[0.2, 0.4, 0.4]], ["z", "y", "x"])
        assert t.hard().tolist() == ["y"]
        assert t.hard_codes().tolist() == [1]

    @pytest.mark.parametrize("base", [1, 1.0, 0, -2.0, float("nan"), "2"])
    def test_entropy_base_must_be_a_log_base(self, base):
        from softlabels.core.errors import InvalidParameterError

        s = SoftLabels([[0.5, 0.5]], ["a", "b"])
        with pytest.raises(InvalidParameterError, match=r"'base' parameter of "
                                                        r"SoftLabels\.entropy"):
            s.entropy(base=base)
        assert s.entropy(base=2).tolist() == [1.0]

    def test_confidence(self):
        s = SoftLabels(P2, ["a", "b"])
        assert s.confidence().tolist() == [0.9, 0.5, 0.8]

    def test_entropy_hand_values(self):
        s = SoftLabels([[0.5, 0.5], [1.0, 0.0]], ["a", "b"])
        np.testing.assert_allclose(s.entropy(), [math.log(2), 0.0], rtol=1e-15)
        u = SoftLabels([[0.25, 0.25, 0.5]], list("abc"))
        np.testing.assert_allclose(u.entropy(base=2), [1.5], rtol=1e-15)
        np.testing.assert_allclose(u.entropy(), [1.5 * math.log(2)], rtol=1e-15)

    @given(hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)),
                      elements=st.floats(0, 100)))
    def test_entropy_bounds(self, counts):
        s = SoftLabels.from_counts(counts, list(range(counts.shape[1])))
        h = s.entropy()
        assert np.all(h >= 0)
        assert np.all(h <= math.log(counts.shape[1]) + 1e-12)

    def test_take_and_mask(self):
        s = SoftLabels(P2, ["a", "b"], item_ids=["i", "j", "k"], support=[1, 2, 3])
        t = s.take([2, 0])
        assert t.item_ids.tolist() == ["k", "i"]
        assert t.probs.tolist() == [[0.2, 0.8], [0.9, 0.1]]
        assert t.support.tolist() == [3.0, 1.0]
        m = s.take(np.array([False, True, False]))
        assert m.item_ids.tolist() == ["j"]

    def test_with_provenance_and_equality(self):
        s = SoftLabels(P2, ["a", "b"], provenance={"method": "m"})
        t = s.with_provenance(method="n", params={"k": 1})
        assert t.provenance["method"] == "n" and t.provenance["params"] == {"k": 1}
        assert s.provenance["method"] == "m"
        assert s != t
        assert s == SoftLabels(P2, ["a", "b"], provenance={"method": "m"})

    def test_equals_with_tolerance(self):
        s = SoftLabels([[0.5, 0.5]], ["a", "b"])
        t = SoftLabels([[0.5 + 1e-9, 0.5 - 1e-9]], ["a", "b"])
        assert not s.equals(t)
        assert s.equals(t, atol=1e-8)
        assert not s.equals("not soft labels")

    def test_unhashable(self):
        with pytest.raises(TypeError):
            hash(SoftLabels(P2, ["a", "b"]))

    def test_repr(self):
        s = SoftLabels(P2, ["a", "b"], provenance={"method": "glad"})
        assert repr(s) == "SoftLabels(n_items=3, classes=['a', 'b'], method='glad')"


# ---------------------------------------------------------------------- tables
class TestFrame:
    def test_column_order_without_support(self):
        s = SoftLabels(P2, ["b", "a"], item_ids=[10, 11, 12])
        f = s.to_frame()
        assert list(f.columns) == ["item", "label", "confidence", "b", "a"]
        assert f["label"].tolist() == ["b", "b", "a"]
        assert f["confidence"].tolist() == [0.9, 0.5, 0.8]
        assert f["item"].tolist() == [10, 11, 12]

    def test_column_order_with_support(self):
        s = SoftLabels(P2, [2, 1], support=[3, 4, 5])
        f = s.to_frame()
        assert list(f.columns) == ["item", "label", "confidence", "support", "2", "1"]
        assert f["support"].tolist() == [3, 4, 5]

    def test_whole_support_is_written_as_integers(self, tmp_path):
        s = SoftLabels(P2, ["a", "b"], support=[89.0, 0.0, 2.0])
        s.to_csv(tmp_path / "s.csv")
        text = (tmp_path / "s.csv").read_text().splitlines()
        assert [line.split(",")[3] for line in text] == ["support", "89", "0", "2"]
        assert SoftLabels.read_csv(tmp_path / "s.csv") == s

    def test_fractional_support_stays_float(self):
        s = SoftLabels(P2, ["a", "b"], support=[1.5, 2.0, 3.0])
        assert s.to_frame()["support"].tolist() == [1.5, 2.0, 3.0]

    @pytest.mark.parametrize("name", RESERVED_COLUMNS)
    def test_reserved_class_name(self, name):
        s = SoftLabels([[0.5, 0.5]], [name, "other"])
        with pytest.raises(InputError, match=f"class name '{name}' clashes with a reserved column"):
            s.to_frame()

    def test_reserved_class_name_blocks_writing(self, tmp_path):
        s = SoftLabels([[0.5, 0.5]], ["label", "other"])
        with pytest.raises(InputError, match="reserved column"):
            s.to_parquet(tmp_path / "x.parquet")
        assert files_in(tmp_path) == []

    @pytest.mark.parametrize("classes", [["a", "b"], [0, 1], [3, 7]])
    def test_from_frame_round_trip_is_exact(self, classes):
        s = SoftLabels(P2, classes, item_ids=["i", "j", "k"], support=[1, 2, 3],
                       provenance={"method": "m"})
        r = SoftLabels.from_frame(s.to_frame(), provenance=s.provenance)
        assert r.equals(s)
        assert r.classes.tolist() == classes

    def test_from_frame_with_classes_restores_values(self):
        s = SoftLabels(P2, [1.5, 2.5])
        r = SoftLabels.from_frame(s.to_frame(), classes=[1.5, 2.5])
        assert r.classes.tolist() == [1.5, 2.5]
        assert np.array_equal(r.probs, s.probs)

    def test_from_frame_errors(self):
        with pytest.raises(InputError, match="expected a pandas DataFrame"):
            SoftLabels.from_frame({"item": [1]})
        with pytest.raises(InputError, match="no 'item' column"):
            SoftLabels.from_frame(pd.DataFrame({"x": [1.0]}))
        with pytest.raises(InputError, match="no probability columns"):
            SoftLabels.from_frame(pd.DataFrame({"item": [1], "label": ["a"]}))
        with pytest.raises(InputError, match="1 classes given but the table has 2 probability"):
            SoftLabels.from_frame(pd.DataFrame({"item": [1], "a": [0.5], "b": [0.5]}), classes=["a"])
        with pytest.raises(InputError, match="non-finite"):
            SoftLabels.from_frame(pd.DataFrame({"item": [1], "a": [np.nan], "b": [0.5]}))

    @settings(max_examples=40, deadline=None)
    @given(
        st.integers(1, 20).flatmap(
            lambda n: st.tuples(
                hnp.arrays(np.float64, (n, 3), elements=st.floats(0, 1e3)),
                st.lists(st.integers(-10**9, 10**9), min_size=n, max_size=n, unique=True),
            )
        )
    )
    def test_from_frame_round_trip_property(self, data):
        counts, ids = data
        s = SoftLabels.from_counts(counts, [5, 1, 3], item_ids=ids)
        r = SoftLabels.from_frame(s.to_frame(), provenance=s.provenance)
        assert r.equals(s)


# ---------------------------------------------------------------------- files
def _rich(classes) -> SoftLabels:
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(len(classes), 0.5), size=25)
    return SoftLabels(
        p,
        classes,
        item_ids=[f"it{j}" for j in range(25)],
        provenance={"method": "dawid-skene", "params": {"n_iter": 7, "tol": 0.0, "init": "soft-vote"}},
        support=np.arange(25) % 4,
    )


class TestParquet:
    @pytest.mark.parametrize(
        "classes, kind",
        [([0, 1, 2], "i"), (["cat", "dog", "eel"], "U"), ([0.5, 1.5, 2.5], "f"), ([False, True], "b")],
    )
    def test_round_trip_is_exact(self, tmp_path, classes, kind):
        s = _rich(classes)
        path = tmp_path / "s.parquet"
        s.to_parquet(path)
        r = SoftLabels.read_parquet(path)
        assert r.equals(s)  # probs bit-exact, provenance, support, ids
        assert r.classes.tolist() == classes
        assert r.classes.dtype.kind == kind
        assert r.provenance == s.provenance
        assert r.support.tolist() == s.support.tolist()
        assert files_in(tmp_path) == ["s.parquet"]

    def test_round_trip_without_support(self, tmp_path):
        s = SoftLabels(P2, ["a", "b"])
        s.to_parquet(tmp_path / "s.parquet")
        r = SoftLabels.read_parquet(tmp_path / "s.parquet")
        assert r.support is None
        assert r.equals(s)

    def test_round_trip_mixed_type_classes(self, tmp_path):
        s = SoftLabels([[0.25, 0.75]], np.array([1, "a"], dtype=object))
        s.to_parquet(tmp_path / "s.parquet")
        r = SoftLabels.read_parquet(tmp_path / "s.parquet")
        assert r.classes.tolist() == [1, "a"]
        # both classes most probable somewhere: the label column mixes them too
        s = SoftLabels([[0.25, 0.75], [1.0, 0.0]], np.array([1, "a"], dtype=object))
        s.to_parquet(tmp_path / "s.parquet")
        assert SoftLabels.read_parquet(tmp_path / "s.parquet").equals(s)

    def test_plain_table_without_metadata(self, tmp_path):
        frame = pd.DataFrame({"item": [1, 2], "label": [0, 1], "0": [0.75, 0.0], "1": [0.25, 1.0]})
        frame.to_parquet(tmp_path / "plain.parquet", index=False)
        r = SoftLabels.read_parquet(tmp_path / "plain.parquet")
        assert r.classes.tolist() == [0, 1]
        assert r.probs.tolist() == [[0.75, 0.25], [0.0, 1.0]]

    def test_newer_format_version_is_refused(self, tmp_path):
        import pyarrow.parquet as pq

        path = tmp_path / "s.parquet"
        SoftLabels(P2, ["a", "b"]).to_parquet(path)
        table = pq.read_table(path)
        meta = dict(table.schema.metadata)
        info = json.loads(meta[b"softlabels"])
        info["format_version"] = 99
        meta[b"softlabels"] = json.dumps(info).encode()
        pq.write_table(table.replace_schema_metadata(meta), path)
        with pytest.raises(InputError, match="newer softlabels"):
            SoftLabels.read_parquet(path)

    @pytest.mark.parametrize("raw", [b'{"classes": ["a", "b"', b"\xff\xfe", b'["a", "b"]',
                                     b'{"format_version": 1}', b'{"classes": 5}'])
    def test_damaged_metadata_is_an_input_error(self, tmp_path, raw):
        import pyarrow.parquet as pq

        path = tmp_path / "s.parquet"
        SoftLabels(P2, ["a", "b"]).to_parquet(path)
        table = pq.read_table(path)
        meta = dict(table.schema.metadata) | {b"softlabels": raw}
        pq.write_table(table.replace_schema_metadata(meta), path)
        with pytest.raises(InputError, match=r"s\.parquet: the softlabels metadata of the "
                                             r"file is damaged \(.+\)"):
            SoftLabels.read_parquet(path)

    def test_text_that_is_not_utf8_is_an_input_error(self, tmp_path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = tmp_path / "s.parquet"
        SoftLabels(P2, ["a", "b"], item_ids=["x", "y", "z"]).to_parquet(path)
        table = pq.read_table(path)
        raw = pa.array([b"x\xff", b"y", b"z"], type=pa.binary())
        items = pa.Array.from_buffers(pa.string(), len(raw), raw.buffers())
        pq.write_table(table.set_column(table.schema.get_field_index("item"), "item", items),
                       path)
        with pytest.raises(InputError, match=r"s\.parquet: not a readable Parquet file \(.*"
                                             r"Invalid UTF8"):
            SoftLabels.read_parquet(path)

    @pytest.mark.parametrize("ids", [[1, "x"], [2**64 + 1, 3]])
    def test_item_ids_parquet_cannot_hold_are_an_input_error(self, tmp_path, ids):
        s = SoftLabels([[1.0, 0.0], [0.0, 1.0]], ["a", "b"], item_ids=ids)
        with pytest.raises(InputError, match=r"s\.parquet: the item ids mix types \(e\.g\. "
                                             r"numbers and text\) or are integers beyond 64"):
            s.to_parquet(tmp_path / "s.parquet")
        assert files_in(tmp_path) == []

    def test_not_a_parquet_file(self, tmp_path):
        path = tmp_path / "s.parquet"
        path.write_text("item,label\n1,a\n")
        with pytest.raises(InputError, match="not a readable Parquet file"):
            SoftLabels.read_parquet(path)

    def test_missing_file(self, tmp_path):
        with pytest.raises(InputError, match="no such file"):
            SoftLabels.read_parquet(tmp_path / "nope.parquet")


class TestCsv:
    def test_int_classes_restored_from_integer_label_column(self, tmp_path):
        s = _rich([0, 1, 2])
        s.to_csv(tmp_path / "s.csv")
        r = SoftLabels.read_csv(tmp_path / "s.csv")
        assert r.classes.tolist() == [0, 1, 2]
        assert all(isinstance(c, (int, np.integer)) for c in r.classes.tolist())
        assert np.array_equal(r.probs, s.probs)  # full float precision
        assert r.item_ids.tolist() == s.item_ids.tolist()
        assert r.support.tolist() == s.support.tolist()
        assert "method" not in r.provenance  # CSV carries no provenance
        assert r.equals(SoftLabels(s.probs, s.classes, s.item_ids, support=s.support))

    def test_string_classes(self, tmp_path):
        s = _rich(["cat", "dog"])
        s.to_csv(tmp_path / "s.csv")
        r = SoftLabels.read_csv(tmp_path / "s.csv")
        assert r.classes.tolist() == ["cat", "dog"]
        assert np.array_equal(r.probs, s.probs)

    def test_classes_argument(self, tmp_path):
        s = _rich([0.5, 1.5])
        s.to_csv(tmp_path / "s.csv")
        r = SoftLabels.read_csv(tmp_path / "s.csv", classes=[0.5, 1.5])
        assert r.classes.tolist() == [0.5, 1.5]

    def test_extreme_probabilities_round_trip(self, tmp_path):
        s = SoftLabels([[1e-300, 1.0 - 1e-300], [5e-324, 1.0], [1 / 3, 2 / 3]], [0, 1])
        s.to_csv(tmp_path / "s.csv")
        assert np.array_equal(SoftLabels.read_csv(tmp_path / "s.csv").probs, s.probs)


class TestSaveAndAtomicWrites:
    def test_save_by_extension(self, tmp_path):
        s = _rich([0, 1])
        s.save(tmp_path / "a.parquet")
        s.save(tmp_path / "b.csv")
        assert SoftLabels.read_parquet(tmp_path / "a.parquet").equals(s)
        assert np.array_equal(SoftLabels.read_csv(tmp_path / "b.csv").probs, s.probs)
        with pytest.raises(InputError, match=r"unsupported output extension '.json'"):
            s.save(tmp_path / "c.json")

    def test_missing_folder(self, tmp_path):
        with pytest.raises(InputError, match="does not exist"):
            _rich([0, 1]).to_parquet(tmp_path / "nope" / "s.parquet")

    def test_overwrite_leaves_no_temp_file(self, tmp_path):
        path = tmp_path / "s.parquet"
        _rich([0, 1]).to_parquet(path)
        _rich([0, 1, 2]).to_parquet(path)
        assert files_in(tmp_path) == ["s.parquet"]
        assert SoftLabels.read_parquet(path).classes.tolist() == [0, 1, 2]

    def test_failing_parquet_write_keeps_old_file(self, tmp_path, monkeypatch):
        import pyarrow.parquet as pq

        path = tmp_path / "s.parquet"
        _rich([0, 1]).to_parquet(path)
        before = path.read_bytes()

        def broken(table, where, *args, **kwargs):
            Path(where).write_bytes(b"PAR1 half written")
            raise OSError("disk full")

        monkeypatch.setattr(pq, "write_table", broken)
        with pytest.raises(OSError, match="disk full"):
            _rich(["x", "y", "z"]).to_parquet(path)
        assert path.read_bytes() == before
        assert files_in(tmp_path) == ["s.parquet"]

    def test_failing_csv_write_keeps_old_file(self, tmp_path, monkeypatch):
        path = tmp_path / "s.csv"
        _rich([0, 1]).to_csv(path)
        before = path.read_bytes()

        def broken(self, where, *args, **kwargs):
            with open(where, "w") as fh:
                fh.write("item,la")
            raise KeyboardInterrupt

        monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
        with pytest.raises(KeyboardInterrupt):
            _rich(["x", "y"]).to_csv(path)
        assert path.read_bytes() == before
        assert files_in(tmp_path) == ["s.csv"]

    def test_failing_first_write_leaves_nothing(self, tmp_path, monkeypatch):
        import pyarrow.parquet as pq

        def broken(table, where, *args, **kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(pq, "write_table", broken)
        with pytest.raises(RuntimeError, match="boom"):
            _rich([0, 1]).to_parquet(tmp_path / "s.parquet")
        assert os.listdir(tmp_path) == []


def test_csv_round_trip_keeps_leading_zero_ids(tmp_path):
    soft = SoftLabels(np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]), ["a", "b"], ["007", "7", "x"])
    soft.to_csv(tmp_path / "s.csv")
    back = SoftLabels.read_csv(tmp_path / "s.csv")
    assert back.item_ids.tolist() == ["007", "7", "x"]
    np.testing.assert_array_equal(back.probs, soft.probs)
    plain = SoftLabels(np.array([[0.9, 0.1], [0.2, 0.8]]), ["a", "b"], [10, 2])
    plain.to_csv(tmp_path / "p.csv")
    assert SoftLabels.read_csv(tmp_path / "p.csv").item_ids.tolist() == [10, 2]


@pytest.mark.parametrize("save", ["to_csv", "to_jsonl", "to_parquet"])
def test_item_ids_that_read_like_missing_values_round_trip(tmp_path, save):
    s = SoftLabels([[0.25, 0.75], [0.5, 0.5], [1.0, 0.0]], ["a", "b"],
                   item_ids=["NA", "None", "null"])
    path = tmp_path / f"s.{save.removeprefix('to_')}"
    getattr(s, save)(path)
    assert SoftLabels.load(path).item_ids.tolist() == ["NA", "None", "null"]


class TestReadCsvErrors:
    """A hand-edited soft-label CSV: every error is an InputError naming the file."""

    def write(self, tmp_path, text):
        path = tmp_path / "s.csv"
        path.write_text(text)
        return path

    @pytest.mark.parametrize("text, message", [
        ("item,label,confidence,a,b\n1,b,0.5,0.5,0.5\n2,a,1,one,0\n",
         r"class column 'a' holds 'one' \(row 1\), not a probability\.$"),
        ("item,label,confidence,a,b\n1,a,0.5,0.5,0.6\n", r"probs: 1 rows do not sum to 1"),
        ("item,label,confidence,a,b\n1,a,0.5,0.5,0.5\n1,a,1,1,0\n",
         r"item_ids must be unique; 1 appears"),
        # the CSV reader would rename the second 'cat' to 'cat.1', a class of its own
        ("item,label,confidence,cat,dog,cat\nu,cat,1,1,0,0\n",
         r"column 'cat' appears more than once \(columns 4 and 6\)"),
    ])
    def test_errors_name_the_file(self, tmp_path, text, message):
        path = self.write(tmp_path, text)
        with pytest.raises(InputError, match=rf"^{path}: {message}"):
            SoftLabels.read_csv(path)

    def test_header_only_is_zero_items(self, tmp_path):
        path = self.write(tmp_path, "item,label,confidence,a,b\n")
        assert SoftLabels.read_csv(path).n_items == 0
