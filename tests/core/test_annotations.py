"""Annotations: factorising answer tables, validation messages, gold labels, files."""

from __future__ import annotations

import re
import numpy as np
import pandas as pd
import pytest

from softlabels import Annotations, InputError, read_answers
from softlabels.core.annotations import as_annotations


def frame(items, workers, labels) -> pd.DataFrame:
    return pd.DataFrame({"item": items, "worker": workers, "label": labels})


# ---------------------------------------------------------------------- factorising
class TestFromFrame:
    def test_codes_ids_and_classes(self):
        ann = Annotations.from_frame(
            frame([20, 10, 20, 30], ["w2", "w1", "w1", "w2"], ["y", "x", "z", "x"])
        )
        # items and workers in order of first appearance, classes sorted
        assert ann.item_ids.tolist() == [20, 10, 30]
        assert ann.worker_ids.tolist() == ["w2", "w1"]
        assert ann.classes.tolist() == ["x", "y", "z"]
        assert ann.item.tolist() == [0, 1, 0, 2]
        assert ann.worker.tolist() == [0, 1, 1, 0]
        assert ann.label.tolist() == [1, 0, 2, 0]
        assert (ann.n_answers, ann.n_items, ann.n_workers, ann.n_classes) == (4, 3, 2, 3)
        assert len(ann) == 4
        assert repr(ann) == "Annotations(n_answers=4, n_items=3, n_workers=2, classes=['x', 'y', 'z'])"

    def test_integer_codes_are_compact(self):
        ann = Annotations.from_frame(frame([1, 2], ["a", "b"], [0, 1]))
        assert ann.item.dtype == np.int32
        assert ann.worker.dtype == np.int32
        assert ann.label.dtype == np.int32

    def test_to_frame_round_trip(self, tiny_answers):
        ann = Annotations.from_frame(tiny_answers)
        pd.testing.assert_frame_equal(
            ann.to_frame().astype(object), tiny_answers.astype(object)
        )

    def test_custom_column_names(self):
        df = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"], "answer": ["x", "y", "y"]})
        ann = Annotations.from_frame(df, item_col="task", worker_col="annotator", label_col="answer")
        assert ann.item_ids.tolist() == [1, 2]
        assert ann.worker_ids.tolist() == ["a", "b"]
        assert ann.label.tolist() == [0, 1, 1]

    def test_extra_columns_are_ignored(self, tiny_answers):
        ann = Annotations.from_frame(tiny_answers.assign(time=1.5))
        assert ann.n_answers == 9

    def test_declared_classes_keep_their_order_and_unused_classes(self):
        ann = Annotations.from_frame(frame([1, 2], ["a", "b"], ["y", "x"]), classes=["z", "y", "x"])
        assert ann.classes.tolist() == ["z", "y", "x"]
        assert ann.label.tolist() == [1, 2]
        assert ann.counts.tolist() == [[0, 1, 0], [0, 0, 1]]

    def test_declared_classes_as_strings_for_int_labels(self):
        ann = Annotations.from_frame(frame([1, 2, 3], ["a", "b", "c"], [0, 1, 1]), classes=["1", "0"])
        assert ann.classes.tolist() == ["1", "0"]
        assert ann.label.tolist() == [1, 0, 0]

    def test_declared_classes_as_ints_for_string_labels(self):
        ann = Annotations.from_frame(frame([1, 2], ["a", "b"], ["0", "1"]), classes=[1, 0])
        assert ann.classes.tolist() == [1, 0]
        assert ann.label.tolist() == [1, 0]

    def test_single_answer(self):
        ann = Annotations.from_frame(frame([7], ["w"], ["x"]))
        assert (ann.n_answers, ann.n_items, ann.n_workers, ann.n_classes) == (1, 1, 1, 1)
        assert ann.counts.tolist() == [[1.0]]

    def test_single_worker(self):
        ann = Annotations.from_frame(frame([1, 2, 3], ["w"] * 3, ["x", "y", "x"]))
        assert ann.n_workers == 1
        assert ann.answers_per_worker.tolist() == [3.0]

    def test_single_class(self):
        ann = Annotations.from_frame(frame([1, 1, 2], ["a", "b", "a"], ["x"] * 3))
        assert ann.classes.tolist() == ["x"]
        assert ann.counts.tolist() == [[2.0], [1.0]]

    def test_from_arrays(self):
        ann = Annotations.from_arrays([1, 1], ["a", "b"], ["x", "y"], classes=["y", "x"])
        assert ann.label.tolist() == [1, 0]

    @pytest.mark.parametrize("workers, got", [("ab", "str"), (7, "int"),
                                              (np.zeros((2, 1)), r"shape \(2, 1\)")])
    def test_from_arrays_needs_one_value_per_answer(self, workers, got):
        # a string of as many characters as answers was read as one worker for all
        with pytest.raises(InputError, match=rf"^workers must be a one-dimensional sequence, "
                                             rf"one value per answer; got {got}\.$"):
            Annotations.from_arrays([1, 2], workers, ["x", "y"])
        # tuples are fine as ids
        ann = Annotations.from_arrays([(1, 2), (1, 3)], ["a", "b"], ["x", "y"])
        assert ann.item_ids.tolist() == [(1, 2), (1, 3)]

    def test_from_arrays_length_mismatch(self):
        with pytest.raises(InputError, match="same length; got 2, 1 and 2"):
            Annotations.from_arrays([1, 1], ["a"], ["x", "y"])


class TestDerivedArrays:
    def test_counts_and_totals(self, tiny_answers):
        ann = Annotations.from_frame(tiny_answers)
        assert ann.counts.tolist() == [[2, 1], [0, 3], [2, 1]]
        assert ann.answers_per_item.tolist() == [3, 3, 3]
        assert ann.answers_per_worker.tolist() == [3, 3, 3]

    def test_pair_matrix(self):
        ann = Annotations.from_frame(frame([1, 1, 2, 2], ["a", "b", "a", "a"], ["x", "y", "y", "y"]))
        # columns: worker * n_classes + label -> (a,x)=0 (a,y)=1 (b,x)=2 (b,y)=3
        assert ann.pair.tolist() == [0, 3, 1, 1]
        dense = ann.item_pair_matrix.toarray()
        assert dense.tolist() == [[1, 0, 0, 1], [0, 2, 0, 0]]
        assert (ann.pair_item_matrix.toarray() == dense.T).all()


# ---------------------------------------------------------------------- validation
class TestValidation:
    def test_not_a_dataframe(self):
        with pytest.raises(InputError, match="expected a pandas DataFrame; got dict"):
            Annotations.from_frame({"item": [1]})

    def test_missing_column_suggests_a_close_name(self):
        df = pd.DataFrame({"item": [1], "workers": ["a"], "label": ["x"]})
        with pytest.raises(InputError, match=r"no 'worker' column for the workers .*Did you mean 'workers'\?"):
            Annotations.from_frame(df)

    def test_missing_custom_column_suggests_the_right_one(self):
        df = pd.DataFrame({"task": [1], "worker": ["a"], "label": ["x"]})
        with pytest.raises(InputError, match=r"no 'taks' column .*Did you mean 'task'\?.*item_col"):
            Annotations.from_frame(df, item_col="taks")

    def test_missing_column_lists_columns(self):
        df = pd.DataFrame({"a": [1], "b": ["a"], "c": ["x"]})
        with pytest.raises(InputError, match=r"\(columns: a, b, c\)"):
            Annotations.from_frame(df)

    def test_missing_column_lists_long_names_shortened(self):
        # a header run together (a lost line break, a wrong separator) must not make an
        # error message of the whole line
        long = "w" * 100_000
        df = pd.DataFrame({"item": [1], long: ["a"], "label": ["x"]})
        with pytest.raises(InputError, match=rf"^no 'worker' column for the workers \(columns: "
                                             rf"item, {'w' * 37}\.\.\., label\)") as info:
            Annotations.from_frame(df)
        assert len(str(info.value)) < 300

    def test_a_repeated_answer_column_is_named(self):
        df = pd.DataFrame([[1, "a", "x", "y"]], columns=["item", "worker", "label", "label"])
        with pytest.raises(InputError, match=r"^the label column 'label' appears 2 times "
                                             r"\(columns 3 and 4\); keep one\.$"):
            Annotations.from_frame(df)
        # another column may repeat: only the three are read
        df.columns = ["item", "worker", "label", "note"]
        df.insert(4, "note", ["z"], allow_duplicates=True)
        assert Annotations.from_frame(df).n_answers == 1

    def test_columns_must_differ(self, tiny_answers):
        with pytest.raises(InputError, match="must differ"):
            Annotations.from_frame(tiny_answers, worker_col="item")

    def test_no_rows(self):
        with pytest.raises(InputError, match="no rows"):
            Annotations.from_frame(frame([], [], []))

    def test_entirely_empty_float_column(self):
        df = frame([1, 2, 3], [np.nan] * 3, ["x", "y", "x"])
        with pytest.raises(InputError, match="the worker column 'worker' is entirely empty"):
            Annotations.from_frame(df)

    def test_entirely_empty_object_column(self):
        df = frame([1, 2, 3], pd.Series([None] * 3, dtype=object), ["x", "y", "x"])
        with pytest.raises(InputError, match="the worker column 'worker' is entirely empty"):
            Annotations.from_frame(df)

    def test_object_dtype_labels(self):
        df = frame([1, 2, 3], ["a", "b", "c"], pd.Series([1, "x", 2], dtype=object))
        ann = Annotations.from_frame(df)
        assert ann.n_classes == 3

    def test_partially_missing_values_name_the_row(self):
        df = frame([1, 2, 3, 4], ["a", "b", None, None], ["x", "y", "x", "y"])
        with pytest.raises(InputError, match=r"worker column 'worker' has 2 missing values \(first in data row 3\)"):
            Annotations.from_frame(df)

    def test_missing_label(self):
        df = frame([1, 2], ["a", "b"], [np.nan, 1.0])
        with pytest.raises(InputError, match=r"label column 'label' has 1 missing values \(first in data row 1\)"):
            Annotations.from_frame(df)

    def test_blank_string_is_missing(self):
        df = frame([1, 2, 3], ["a", "", "b"], ["x", "y", "x"])
        with pytest.raises(InputError, match=r"1 missing values \(first in data row 2\)"):
            Annotations.from_frame(df)

    def test_unknown_label_names_value_and_row(self):
        df = frame([1, 2, 3, 4], ["a", "b", "c", "d"], ["x", "y", "z", "z"])
        with pytest.raises(
            InputError,
            match=r"label 'z' in data row 3 is not one of the declared classes \['x', 'y'\] \(2 such rows\)",
        ):
            Annotations.from_frame(df, classes=["x", "y"])

    def test_unknown_int_label_is_shown_plainly(self):
        df = frame([1, 2], ["a", "b"], [0, 5])
        with pytest.raises(InputError, match=r"label 5 in data row 2"):
            Annotations.from_frame(df, classes=[0, 1])

    def test_empty_class_list(self, tiny_answers):
        with pytest.raises(InputError, match="non-empty list"):
            Annotations.from_frame(tiny_answers, classes=[])

    def test_repeated_class_list(self, tiny_answers):
        with pytest.raises(InputError, match=r"repeated entries: \['x'\] \(in \['x', 'y', 'x'\]\)"):
            Annotations.from_frame(tiny_answers, classes=["x", "y", "x"])

    @pytest.mark.parametrize("duplicates", ["keep", "last", "error"])
    @pytest.mark.parametrize("role, value, kind", [("label", ["x", "y"], "a list"),
                                                   ("item", {"id": 2}, "an object"),
                                                   ("worker", {"a"}, "a set")])
    def test_a_list_or_object_names_its_column_and_row(self, duplicates, role, value, kind):
        cols = {"item": [1, 2, 3], "worker": ["a", "b", "c"], "label": ["x", "y", "x"]}
        cols[role] = pd.Series(cols[role][:1] + [value] + cols[role][2:], dtype=object)
        with pytest.raises(InputError, match=rf"^the {role} column '{role}' holds {kind} in "
                                             r"data row 2; each answer has one item, one "
                                             r"worker and one label\.$"):
            Annotations.from_frame(pd.DataFrame(cols), duplicates=duplicates)

    def test_source_prefixes_messages(self):
        with pytest.raises(InputError, match=r"^answers\.csv: the answer table has no rows"):
            Annotations.from_frame(frame([], [], []), source="answers.csv")


class TestDuplicates:
    DF = frame([1, 1, 2, 1], ["a", "b", "a", "a"], ["x", "x", "y", "y"])

    def test_keep(self):
        ann = Annotations.from_frame(self.DF, duplicates="keep")
        assert ann.n_answers == 4
        assert ann.counts.tolist() == [[2, 1], [0, 1]]

    def test_last_keeps_the_last_row(self):
        ann = Annotations.from_frame(self.DF, duplicates="last")
        assert ann.n_answers == 3
        assert ann.to_frame().values.tolist() == [[1, "b", "x"], [2, "a", "y"], [1, "a", "y"]]

    def test_error(self):
        with pytest.raises(InputError, match=r"worker 'a' answered item .*1.* more than once \(data row 1\)"):
            Annotations.from_frame(self.DF, duplicates="error")

    def test_error_shows_the_item_plainly(self):
        with pytest.raises(InputError, match=r"worker 'a' answered item 1 more than once"):
            Annotations.from_frame(self.DF, duplicates="error")

    def test_error_without_duplicates_is_fine(self, tiny_answers):
        assert Annotations.from_frame(tiny_answers, duplicates="error").n_answers == 9

    def test_unknown_policy_suggests(self):
        with pytest.raises(InputError, match=r"got 'lst'\. Did you mean 'last'\?"):
            Annotations.from_frame(self.DF, duplicates="lst")

    def test_row_numbers_after_dropping_duplicates(self):
        df = frame([1, 1, 2], ["a", "a", "b"], ["x", "y", "z"])
        with pytest.raises(InputError, match=r"label 'z' in data row 3 "):
            Annotations.from_frame(df, classes=["x", "y"], duplicates="last")


# ---------------------------------------------------------------------- gold
class TestGold:
    @pytest.fixture
    def ann(self):
        return Annotations.from_frame(frame([10, 20, 30], ["a", "b", "a"], ["x", "y", "z"]))

    def test_none_is_all_unknown(self, ann):
        assert ann.gold_codes(None).tolist() == [-1, -1, -1]

    def test_mapping(self, ann):
        assert ann.gold_codes({30: "x", 10: "z"}).tolist() == [2, -1, 0]

    def test_series_and_dataframe(self, ann):
        assert ann.gold_codes(pd.Series({20: "y"})).tolist() == [-1, 1, -1]
        gold = pd.DataFrame({"item": [20, 10], "label": ["x", "y"]})
        assert ann.gold_codes(gold).tolist() == [1, 0, -1]

    def test_items_absent_from_answers_are_ignored(self, ann):
        assert ann.gold_codes({10: "y", 999: "x"}).tolist() == [1, -1, -1]

    def test_string_keys_and_labels_match_by_string_form(self):
        ann = Annotations.from_frame(frame([1, 2], ["a", "b"], [0, 1]))
        assert ann.gold_codes({"2": "0"}).tolist() == [-1, 0]
        codes = ann.gold_codes({2: 0})
        assert codes.dtype == np.int64 and codes.tolist() == [-1, 0]

    def test_unknown_gold_label(self, ann):
        with pytest.raises(InputError, match=r"gold label 'w' \(item .*10.*\) is not one of the classes"):
            ann.gold_codes({10: "w"})

    def test_unknown_gold_label_shows_the_item_plainly(self, ann):
        with pytest.raises(InputError, match=r"gold label 'w' \(item 10\)"):
            ann.gold_codes({10: "w"})

    def test_duplicate_gold_item(self, ann):
        gold = pd.DataFrame({"item": [10, 10], "label": ["x", "y"]})
        with pytest.raises(InputError, match="gold lists item .*10.* more than once"):
            ann.gold_codes(gold)

    def test_missing_gold_value(self, ann):
        with pytest.raises(InputError, match="missing values"):
            ann.gold_codes({10: None})

    def test_missing_gold_value_names_the_item_or_row(self, ann):
        with pytest.raises(InputError, match=r"^gold labels contain missing values \(first: "
                                             r"the label of item 20\)\.$"):
            ann.gold_codes({10: "x", 20: None})
        gold = pd.DataFrame({"item": [10, None, 30], "label": ["x", "y", "z"]})
        with pytest.raises(InputError, match=r"^gold labels contain missing values \(first: "
                                             r"the item of row 1\)\.$"):
            ann.gold_codes(gold)

    def test_dataframe_needs_columns(self, ann):
        with pytest.raises(InputError, match=r"missing \['label'\]"):
            ann.gold_codes(pd.DataFrame({"item": [10], "truth": ["x"]}))

    def test_bad_type(self, ann):
        with pytest.raises(InputError, match="got list"):
            ann.gold_codes([10, 20])


# ---------------------------------------------------------------------- files and dispatch
class TestReadAnswers:
    EXPECTED = frame([1, 1, 2], ["a", "b", "a"], ["x", "y", "y"])

    def check(self, ann):
        assert ann.item_ids.tolist() == [1, 2]
        assert ann.worker_ids.tolist() == ["a", "b"]
        assert ann.classes.tolist() == ["x", "y"]
        assert ann.label.tolist() == [0, 1, 1]

    def test_csv(self, tmp_path):
        path = tmp_path / "a.csv"
        self.EXPECTED.to_csv(path, index=False)
        ann = read_answers(path)
        self.check(ann)
        assert ann.source == str(path)

    def test_tsv_and_gzip(self, tmp_path):
        self.EXPECTED.to_csv(tmp_path / "a.tsv", sep="\t", index=False)
        self.check(read_answers(tmp_path / "a.tsv"))
        self.EXPECTED.to_csv(tmp_path / "a.csv.gz", index=False, compression="gzip")
        self.check(read_answers(tmp_path / "a.csv.gz"))

    def test_parquet(self, tmp_path):
        self.EXPECTED.to_parquet(tmp_path / "a.parquet", index=False)
        self.check(read_answers(tmp_path / "a.parquet"))

    def test_jsonl(self, tmp_path):
        (tmp_path / "a.jsonl").write_text(
            '{"item": 1, "worker": "a", "label": "x"}\n'
            '{"item": 1, "worker": "b", "label": "y"}\n'
            '{"item": 2, "worker": "a", "label": "y"}\n'
        )
        self.check(read_answers(tmp_path / "a.jsonl"))

    def test_options_are_passed_on(self, tmp_path):
        path = tmp_path / "a.csv"
        self.EXPECTED.rename(columns={"label": "answer"}).to_csv(path, index=False)
        ann = read_answers(path, label_col="answer", classes=["y", "x"])
        assert ann.classes.tolist() == ["y", "x"]

    def test_errors_name_the_file(self, tmp_path):
        path = tmp_path / "a.csv"
        self.EXPECTED.drop(columns="worker").to_csv(path, index=False)
        with pytest.raises(InputError, match=f"^{path}: no 'worker' column"):
            read_answers(path)

    @pytest.mark.parametrize("name, sep", [("a.csv", ","), ("a.tsv", "\t"), ("b.csv", ";")])
    def test_a_repeated_answer_column_in_the_header_is_named(self, tmp_path, name, sep):
        # the CSV reader would rename the second 'label' to 'label.1' and read the first
        path = tmp_path / name
        path.write_text(sep.join(["item", "worker", "label", "label"]) + "\n"
                        + sep.join(["1", "a", "x", "y"]) + "\n")
        with pytest.raises(InputError, match=rf"^{path}: the label column 'label' appears 2 "
                                             r"times \(columns 3 and 4\); keep one\.$"):
            read_answers(path, sep=sep if sep == ";" else None)

    def test_header_only(self, tmp_path):
        path = tmp_path / "a.csv"
        path.write_text("item,worker,label\n")
        with pytest.raises(InputError, match="no rows"):
            read_answers(path)

    def test_missing_file(self, tmp_path):
        with pytest.raises(InputError, match="no such file"):
            read_answers(tmp_path / "nope.csv")

    def test_empty_file(self, tmp_path):
        (tmp_path / "a.csv").write_bytes(b"")
        with pytest.raises(InputError, match="the file is empty"):
            read_answers(tmp_path / "a.csv")

    def test_binary_file_named_csv(self, tmp_path):
        (tmp_path / "a.csv").write_bytes(bytes(range(256)) * 4)
        with pytest.raises(InputError, match="looks like a binary file, not csv text"):
            read_answers(tmp_path / "a.csv")

    def test_non_utf8_file_named_csv(self, tmp_path):
        (tmp_path / "a.csv").write_bytes(b"\xff\xfe\xfa" * 100)
        with pytest.raises(InputError, match="is not UTF-8 text"):
            read_answers(tmp_path / "a.csv")

    def test_parquet_named_csv(self, tmp_path):
        self.EXPECTED.to_parquet(tmp_path / "a.csv", index=False)
        with pytest.raises(InputError, match="the content is Parquet but the extension says csv"):
            read_answers(tmp_path / "a.csv")

    def test_csv_named_parquet(self, tmp_path):
        self.EXPECTED.to_csv(tmp_path / "a.parquet", index=False)
        with pytest.raises(InputError, match="the content is not Parquet although the extension says so"):
            read_answers(tmp_path / "a.parquet")

    @pytest.mark.parametrize("name, shown", [("a.xlsx", "'.xlsx'"), ("answers", "'(none)'")])
    def test_unknown_extension(self, tmp_path, name, shown):
        self.EXPECTED.to_csv(tmp_path / name, index=False)
        with pytest.raises(InputError, match=re.escape(f"cannot tell the format from the extension {shown}")):
            read_answers(tmp_path / name)


class TestAsAnnotations:
    def test_dispatch(self, tmp_path, tiny_answers):
        ann = Annotations.from_frame(tiny_answers)
        assert as_annotations(ann) is ann
        assert as_annotations(tiny_answers).n_answers == 9
        tiny_answers.to_csv(tmp_path / "a.csv", index=False)
        assert as_annotations(str(tmp_path / "a.csv")).n_answers == 9
        assert as_annotations(tmp_path / "a.csv").n_answers == 9

    def test_classes_must_agree_with_existing_annotations(self, tiny_answers):
        ann = Annotations.from_frame(tiny_answers)
        assert as_annotations(ann, classes=["x", "y"]) is ann
        with pytest.raises(InputError, match="already fix them"):
            as_annotations(ann, classes=["y", "x"])

    def test_bad_type(self):
        with pytest.raises(InputError, match="got list"):
            as_annotations([1, 2, 3])


def test_read_answers_keeps_leading_zero_ids_apart(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("item,worker,label\n001,07,a\n1,7,b\n001,7,a\n")
    ann = read_answers(path)
    assert ann.item_ids.tolist() == ["001", "1"]
    assert sorted(ann.worker_ids.tolist()) == ["07", "7"]
    # plain integer ids are still integers
    path.write_text("item,worker,label\n10,1,a\n2,1,b\n-3,2,a\n")
    ann = read_answers(path)
    assert ann.item_ids.tolist() == [10, 2, -3] and ann.item_ids.dtype.kind == "i"
