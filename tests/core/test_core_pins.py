"""Behaviour of the core types that the mutation run (benchmarks/mutation) found unpinned.

Each test states a property of SoftLabels, Annotations or the shared checks on a small
hand-made case: what is kept (ids, provenance, support), which row and value an error
names, which warning is raised and how often, and where the boundaries of the
tolerances lie (powers of two, so that the boundary values are exact in floating point).
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from softlabels import InputError, SoftLabels
from softlabels.core.annotations import Annotations, _index_dtype, as_annotations, read_answers
from softlabels.core.errors import InvalidParameterError, ProbabilityWarning
from softlabels.core.validation import check_probs, check_random_state, suggest

S = 2.0**-10  # a repair tolerance whose sums and differences are exact


# ---------------------------------------------------------------------- SoftLabels
class TestSoftLabelsKeeps:
    def test_provenance_values_are_made_json_friendly(self):
        s = SoftLabels([[1.0, 0.0]], ["a", "b"], provenance={"none": None, "frac": Fraction(1, 2)})
        assert s.provenance["none"] is None
        assert s.provenance["frac"] == "Fraction(1, 2)"

    def test_from_counts_keeps_ids_and_provenance(self):
        s = SoftLabels.from_counts([[3, 1], [0, 2]], ["a", "b"], ["x", "y"],
                                   provenance={"method": "vote"})
        assert s.item_ids.tolist() == ["x", "y"]
        assert s.provenance["method"] == "vote"
        assert s.support.tolist() == [4.0, 2.0]

    def test_from_counts_normalises_rows_whose_total_is_below_one(self):
        s = SoftLabels.from_counts([[0.3, 0.1], [0.0, 0.0]], ["a", "b"])
        assert s.probs[0].tolist() == pytest.approx([0.75, 0.25])
        assert s.probs[1].tolist() == [0.5, 0.5]

    def test_from_counts_names_the_first_negative_count(self):
        with pytest.raises(InputError, match=r"row 1, column 1: -1\.0"):
            SoftLabels.from_counts([[0, 2], [1, -1]], ["a", "b"])

    def test_from_logits_keeps_ids_and_provenance(self):
        s = SoftLabels.from_logits([[0.0, 0.0]], ["a", "b"], ["x"], provenance={"method": "net"})
        assert s.item_ids.tolist() == ["x"]
        assert s.provenance["method"] == "net"
        assert s.probs.tolist() == [[0.5, 0.5]]

    def test_from_logits_rejects_1d_logits_by_name(self):
        with pytest.raises(InputError, match=r"^logits must be 2-D"):
            SoftLabels.from_logits([0.0, 1.0], ["a", "b"])

    def test_take_keeps_provenance_and_absent_support(self):
        s = SoftLabels([[1.0, 0.0], [0.0, 1.0]], ["a", "b"], ["x", "y"],
                       provenance={"method": "m"})
        t = s.take([1])
        assert t.provenance["method"] == "m"
        assert t.support is None
        assert t.item_ids.tolist() == ["y"]

    def test_with_provenance_keeps_ids_and_support(self):
        s = SoftLabels([[1.0, 0.0], [0.0, 1.0]], ["a", "b"], ["x", "y"], support=[3, 4])
        t = s.with_provenance(method="m")
        assert t.item_ids.tolist() == ["x", "y"]
        assert t.support.tolist() == [3.0, 4.0]
        assert t.provenance["method"] == "m"

    def test_support_is_read_only(self):
        s = SoftLabels([[1.0, 0.0]], ["a", "b"], support=[2])
        assert not s.support.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            s.support[0] = 5.0


class TestSoftLabelsMessages:
    def test_2d_item_ids_are_named(self):
        with pytest.raises(InputError, match=r"^item_ids must be 1-D"):
            SoftLabels([[1.0, 0.0]], ["a", "b"], [["x"]])

    def test_duplicate_integer_id_is_shown_as_typed(self):
        with pytest.raises(InputError, match=r"^item_ids must be unique; 3 appears more than once \(1 repeats\)"):
            SoftLabels([[1.0, 0.0]] * 3, ["a", "b"], np.array([3, 5, 3]))

    def test_duplicate_python_object_id_is_named(self):
        ids = np.array(["a", "b", "a"], dtype=object)
        with pytest.raises(InputError, match=r"'a' appears more than once"):
            SoftLabels([[1.0, 0.0]] * 3, ["a", "b"], ids)

    def test_classes_with_one_string_form_cannot_be_columns(self):
        s = SoftLabels([[1.0, 0.0]], np.array([1, "1"], dtype=object))
        with pytest.raises(InputError, match="two classes have the same string form"):
            s.to_frame()

    def test_repr_without_method_has_no_method_part(self):
        s = SoftLabels([[1.0, 0.0]], ["a", "b"])
        assert repr(s).endswith("classes=['a', 'b'])")
        assert "method" not in repr(s)
        assert "method='vote'" in repr(s.with_provenance(method="vote"))


def test_entropy_ignores_zero_probabilities():
    s = SoftLabels([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]], ["a", "b", "c"])
    assert s.entropy().tolist() == pytest.approx([np.log(2.0), 0.0])


class TestEquals:
    base = dict(probs=[[0.5, 0.5], [0.25, 0.75]], classes=["a", "b"])

    def make(self, **kw):
        args = {**self.base, "item_ids": ["x", "y"], **kw}
        return SoftLabels(args.pop("probs"), args.pop("classes"), args.pop("item_ids"), **args)

    def test_identical_labels_are_equal(self):
        assert self.make().equals(self.make())
        assert self.make(support=[1, 2]).equals(self.make(support=[1, 2]))

    @pytest.mark.parametrize("other", [
        dict(probs=[[0.5, 0.5]], item_ids=["x"]),
        dict(classes=["a", "c"]),
        dict(item_ids=["x", "z"]),
        dict(provenance={"method": "m"}),
        dict(support=[1, 2]),
        dict(probs=[[0.5, 0.5], [0.5, 0.5]]),
    ])
    def test_any_difference_makes_them_unequal(self, other):
        assert not self.make().equals(self.make(**other))
        assert not self.make(**other).equals(self.make())

    @pytest.mark.parametrize("field", ["item_ids", "classes"])
    @pytest.mark.parametrize("first, second", [([1, 2], [1.0, 2.0]), ([1, 0], [True, False]),
                                               ([1.0, 0.0], [True, False])])
    def test_ids_or_classes_of_another_type_make_them_unequal(self, field, first, second):
        """Item 1, item 1.0 and item True are written as three different ids."""
        assert not self.make(**{field: first}).equals(self.make(**{field: second}))
        narrow = np.array(first, dtype=np.int32 if type(first[0]) is int else None)
        assert self.make(**{field: narrow}).equals(self.make(**{field: first}))  # same types

    def test_differing_support_makes_them_unequal(self):
        assert not self.make(support=[1, 2]).equals(self.make(support=[1, 3]))

    def test_atol_is_absolute_only(self):
        a = self.make()
        b = self.make(probs=[[0.5 + 1e-6, 0.5 - 1e-6], [0.25, 0.75]])
        assert not a.equals(b)                      # exact by default
        assert not a.equals(b, atol=1e-7)           # no relative tolerance
        assert a.equals(b, atol=1e-5)
        c = self.make(probs=[[0.6, 0.4], [0.25, 0.75]])
        assert a.equals(c, atol=1.0)
        assert a.equals(c, atol=0.2)
        assert not a.equals(c, atol=1e-3)


# ---------------------------------------------------------------------- files
class TestFiles:
    def labels(self):
        return SoftLabels([[0.9, 0.1], [0.2, 0.8]], ["a", "b"], ["007", "7"],
                          provenance={"method": "m"}, support=[2, 3])

    def test_parquet_round_trip_without_an_index_column(self, tmp_path):
        s = self.labels()
        path = tmp_path / "s.parquet"
        s.to_parquet(path)
        schema = pq.read_schema(path)
        assert schema.names == ["item", "label", "confidence", "support", "a", "b"]
        # pandas reads the file back as the frame that was written
        pd.testing.assert_frame_equal(pd.read_parquet(path), s.to_frame())
        assert SoftLabels.read_parquet(path).equals(s)

    def test_parquet_metadata_without_format_version_is_read(self, tmp_path):
        s = self.labels()
        table = pa.Table.from_pandas(s.to_frame(), preserve_index=False)
        meta = {b"softlabels": b'{"classes": ["a", "b"], "provenance": {"method": "m"}}'}
        path = tmp_path / "old.parquet"
        pq.write_table(table.replace_schema_metadata(meta), path)
        back = SoftLabels.read_parquet(path)
        assert back.item_ids.tolist() == ["007", "7"]
        assert back.provenance["method"] == "m"

    def test_csv_round_trip_keeps_ids_as_written(self, tmp_path):
        s = self.labels()
        path = tmp_path / "s.csv"
        s.to_csv(path)
        assert path.read_text().splitlines()[0] == "item,label,confidence,support,a,b"
        back = SoftLabels.read_csv(path, provenance={"method": "m"})
        assert back.item_ids.tolist() == ["007", "7"]
        assert back.probs.tolist() == s.probs.tolist()

    def test_read_csv_reads_csv_whatever_the_extension(self, tmp_path):
        s = self.labels()
        path = tmp_path / "labels.txt"
        s.to_csv(path)
        assert SoftLabels.read_csv(path).item_ids.tolist() == ["007", "7"]


# ---------------------------------------------------------------------- check_probs
def no_warning(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kw)


class TestCheckProbs:
    def test_soft_labels_are_read_for_their_probs(self):
        s = SoftLabels([[0.25, 0.75]], ["a", "b"])
        assert check_probs(s).tolist() == [[0.25, 0.75]]

    def test_an_array_with_a_classes_attribute_is_an_array(self):
        class Labelled(np.ndarray):
            classes = ("a", "b")

        arr = np.array([[0.25, 0.75]]).view(Labelled)
        assert check_probs(arr).tolist() == [[0.25, 0.75]]

    def test_row_and_class_counts(self):
        with pytest.raises(InputError, match=r"^probs has no rows\.$"):
            check_probs(np.zeros((0, 2)), min_rows=1)
        assert check_probs(np.full((3, 1), 1.0), min_rows=2).shape == (3, 1)
        with pytest.raises(InputError, match=r"^probs needs at least 2 class columns; got 0\.$"):
            check_probs(np.zeros((2, 0)), min_classes=2)
        with pytest.raises(InputError, match=r"^probs has no class columns\.$"):
            check_probs(np.zeros((2, 0)))
        with pytest.raises(InputError, match=r"^probs needs at least 2 class columns; got 1\.$"):
            check_probs(np.ones((2, 1)), min_classes=2)
        assert check_probs([[0.5, 0.5]], n_classes=2).shape == (1, 2)
        with pytest.raises(InputError, match=r"^probs has 2 columns; expected 3 classes\.$"):
            check_probs([[0.5, 0.5]], n_classes=3)

    def test_non_finite_values_are_named_with_the_argument(self):
        with pytest.raises(InputError, match=r"^scores contains 1 non-finite values \(first at row 0, column 1\)"):
            check_probs([[0.5, np.nan]], name="scores")

    def test_without_repair_the_array_is_not_copied_or_changed(self):
        p = np.array([[0.5, 0.5 + S]])
        out = no_warning(check_probs, p, atol=S)  # off by exactly atol: accepted as is
        assert out is p
        with pytest.raises(InputError, match="contains negative values"):
            check_probs([[-S / 2, 0.5, 0.5 + S / 2]], atol=S, repair_atol=S)  # repair_atol == atol: no repair

    def test_repair_accepts_values_up_to_the_tolerance_outside_0_1(self):
        out = check_probs([[-S, 0.5, 0.5 + S]], repair_atol=S)
        assert out.min() >= 0.0
        np.testing.assert_allclose(out, [[0.0, 0.5 / (1 + S), (0.5 + S) / (1 + S)]], rtol=0, atol=1e-15)
        with pytest.warns(ProbabilityWarning):
            out = check_probs([[1 + S, -S]], repair_atol=S)
        assert out.tolist() == [[1.0, 0.0]]

    def test_repair_rejects_values_beyond_the_tolerance(self):
        with pytest.raises(InputError, match=r"^probs has values outside \[0, 1\] \(first at row 0, column 0: 1\.00195"):
            check_probs([[1 + 2 * S, -S, -S]], repair_atol=S)
        with pytest.raises(InputError, match=r"outside \[0, 1\] \(first at row 0, column 0: -0\.5\)"):
            check_probs([[-0.5, 1.5]], repair_atol=S)

    def test_repair_rejects_rows_beyond_the_tolerance(self):
        with pytest.raises(InputError, match="1 rows do not sum to 1.*tolerance 0.000976562.*not logits"):
            check_probs([[0.5, 0.5 + 2 * S]], repair_atol=S)

    def test_exact_rows_pass_repair_without_a_warning(self):
        p = [[1.0, 0.0, 0.0], [0.25, 0.25, 0.5]]
        out = no_warning(check_probs, p, atol=0.0, repair_atol=S)
        assert out.tolist() == p

    def test_repaired_rows_warn_once_with_their_count_and_sum_to_one(self):
        p = [[0.5, 0.5 + S / 2, 0.0], [0.25, 0.25, 0.5], [0.25, 0.25, 0.5 - S / 2]]
        with pytest.warns(ProbabilityWarning) as record:
            out = check_probs(p, repair_atol=S)
        assert len(record) == 1
        assert str(record[0].message) == "probs: 2 rows sum to 1 only within 0.000976562; renormalised."
        assert out.shape == (3, 3)
        expected = np.asarray(p) / np.asarray(p).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(out, expected, rtol=0, atol=1e-15)
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=0, atol=1e-15)

    def test_a_value_above_one_warns_even_when_the_row_sums_to_one(self):
        with pytest.warns(ProbabilityWarning, match=r"^probs: 1 rows hold a value above 1; "):
            out = check_probs([[1 + S / 2, -S / 2]], repair_atol=S)
        assert out.tolist() == [[1.0, 0.0]]

    def test_repair_copies_its_input(self):
        p = np.array([[-S, 0.5, 0.5 + S]])
        check_probs(p, repair_atol=S)
        assert p.tolist() == [[-S, 0.5, 0.5 + S]]


# ---------------------------------------------------------------------- random state
class TestRandomState:
    def test_zero_is_a_seed(self):
        assert check_random_state(0).random() == np.random.default_rng(0).random()

    def test_negative_seeds_are_refused(self):
        with pytest.raises(InvalidParameterError, match=r"must be >= 0; got -3"):
            check_random_state(np.int64(-3))

    @pytest.mark.parametrize("seed", [0, 7])
    def test_legacy_random_state_seeds_a_generator_from_one_draw(self, seed):
        reference = np.random.RandomState(seed).randint(0, 2**31 - 1)
        g = check_random_state(np.random.RandomState(seed))
        assert g.integers(0, 10**9, size=5).tolist() == \
            np.random.default_rng(reference).integers(0, 10**9, size=5).tolist()


def test_suggest_names_at_most_three_close_matches():
    hint = suggest("abcd", ["abce", "abcf", "abcg", "abch"])
    assert hint.startswith(" Did you mean 'abc") and hint.count(" or ") == 2


# ---------------------------------------------------------------------- Annotations
class TestAnnotations:
    def test_arrays_of_different_lengths_are_refused(self):
        z = np.zeros(3, dtype=np.int32)
        with pytest.raises(InputError, match=r"same length; got 3, 2 and 3\.$"):
            Annotations(z, z[:2], z, np.arange(1), np.arange(1), np.array(["a"]))
        with pytest.raises(InputError, match=r"same length; got 3, 3 and 2\.$"):
            Annotations(z, z, z[:2], np.arange(1), np.arange(1), np.array(["a"]))

    def test_messages_have_no_source_prefix_without_a_source(self):
        frame = pd.DataFrame({"task": [1], "worker": ["w"], "label": ["a"]})
        with pytest.raises(InputError, match=r"^no 'item' column"):
            Annotations.from_frame(frame)

    def test_items_and_workers_keep_first_appearance_order(self):
        frame = pd.DataFrame({"item": ["z", "a", "z", "m"], "worker": [9, 2, 2, 5],
                              "label": ["b", "a", "a", "b"]})
        ann = Annotations.from_frame(frame)
        assert ann.item_ids.tolist() == ["z", "a", "m"]
        assert ann.worker_ids.tolist() == [9, 2, 5]
        assert ann.item.tolist() == [0, 1, 0, 2]
        assert ann.worker.tolist() == [0, 1, 1, 2]
        assert ann.item.dtype == np.int32 and ann.label.dtype == np.int32

    def test_index_dtype_widens_past_int32(self):
        assert _index_dtype(10) is np.int32
        assert _index_dtype(2**31) is np.int64

    def test_integer_classes_sort_numerically(self):
        ann = Annotations.from_arrays([1, 2, 3], ["w"] * 3, [10, 2, 1])
        assert ann.classes.tolist() == [1, 2, 10]

    def test_mixed_classes_sort_by_string_form_ties_by_appearance(self):
        labels = list(range(30)) + [str(i) for i in range(30)]
        ann = Annotations.from_arrays(list(range(60)), ["w"] * 60, labels)
        expected = sorted(range(60), key=lambda i: str(labels[i]))  # stable: ints first
        assert ann.classes.tolist() == [labels[i] for i in expected]

    def test_float_labels_match_declared_integer_classes(self):
        frame = pd.DataFrame({"item": [1, 2, 3], "worker": ["w"] * 3, "label": [1.0, 2.0, 1.0]})
        ann = Annotations.from_frame(frame, classes=[1, 2])
        assert ann.label.tolist() == [0, 1, 0]

    def test_text_labels_match_declared_integer_classes_by_string_form(self):
        frame = pd.DataFrame({"item": [1, 2], "worker": ["w"] * 2, "label": ["1", "2"]})
        assert Annotations.from_frame(frame, classes=[1, 2]).label.tolist() == [0, 1]

    def test_from_arrays_applies_the_duplicate_policy(self):
        with pytest.raises(InputError, match="answered item"):
            Annotations.from_arrays([1, 1], ["w", "w"], ["a", "b"], duplicates="error")
        ann = Annotations.from_arrays([1, 1], ["w", "w"], ["a", "b"], duplicates="last")
        assert ann.n_answers == 1 and ann.classes[ann.label].tolist() == ["b"]

    def test_gold_on_float_item_ids_with_integer_keys(self):
        ann = Annotations.from_arrays([7.0, 8.0], ["w", "w"], ["a", "b"])
        assert ann.gold_codes({7: "a"}).tolist() == [0, -1]
        assert ann.gold_codes({8: "b"}).tolist() == [-1, 1]

    def test_gold_on_text_keys_for_integer_items(self):
        ann = Annotations.from_arrays([7, 8], ["w", "w"], ["a", "b"])
        assert ann.gold_codes({"8": "b", "99": "a"}).tolist() == [-1, 1]

    def test_gold_labels_as_floats_for_integer_classes(self):
        ann = Annotations.from_arrays(["i", "j"], ["w", "w"], [1, 2])
        assert ann.gold_codes({"i": 1.0, "j": 2.0}).tolist() == [0, 1]


class TestReadAnswers:
    def write(self, tmp_path):
        path = tmp_path / "answers.csv"
        pd.DataFrame({"task": ["t1", "t1", "t2"], "annotator": ["u", "u", "v"],
                      "label": ["a", "b", "a"]}).to_csv(path, index=False)
        return path

    def test_columns_and_duplicate_policy_are_passed_through(self, tmp_path):
        path = self.write(tmp_path)
        ann = read_answers(path, item_col="task", worker_col="annotator", duplicates="last")
        assert ann.item_ids.tolist() == ["t1", "t2"]
        assert ann.worker_ids.tolist() == ["u", "v"]
        assert ann.n_answers == 2
        with pytest.raises(InputError, match="answered item"):
            read_answers(path, item_col="task", worker_col="annotator", duplicates="error")

    def test_as_annotations_passes_options_for_frames_and_paths(self, tmp_path):
        path = self.write(tmp_path)
        kw = dict(item_col="task", worker_col="annotator")
        assert as_annotations(path, **kw).n_items == 2
        assert as_annotations(pd.read_csv(path), **kw).n_workers == 2


class TestPaddedLabels:
    def frame(self, labels):
        return pd.DataFrame({"item": range(len(labels)), "worker": ["w"] * len(labels),
                             "label": labels})

    def test_message_lists_each_group_of_spellings(self):
        with pytest.raises(InputError) as err:
            Annotations.from_frame(self.frame(["cat", " cat", "dog", "dog ", "eel"]))
        assert str(err.value) == (
            "labels that differ only by surrounding whitespace would be different classes: "
            "' cat', 'cat'; 'dog', 'dog '. Write each class one way (strip the spaces)."
        )

    def test_message_names_the_source(self):
        with pytest.raises(InputError, match=r"^answers\.csv: labels that differ"):
            Annotations.from_frame(self.frame(["cat", "cat "]), source="answers.csv")

    def test_three_groups_are_shown_and_more_are_counted(self):
        three = ["a", " a", "b", " b", "c", " c"]
        with pytest.raises(InputError) as err:
            Annotations.from_frame(self.frame(three))
        assert "' c', 'c'." in str(err.value) and "more groups" not in str(err.value)
        with pytest.raises(InputError) as err:
            Annotations.from_frame(self.frame(three + ["d", " d"]))
        assert "' c', 'c' (and 1 more groups)." in str(err.value)
        assert "'d'" not in str(err.value)
