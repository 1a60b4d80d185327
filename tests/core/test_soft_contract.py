"""SoftLabels as a value: copies, pickles, summaries of large or empty objects, and the
checks of its smaller methods' arguments."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from softlabels import InputError, SoftLabels


def example() -> SoftLabels:
    return SoftLabels([[0.9, 0.1], [0.5, 0.5]], ["a", "b"], item_ids=["x", "y"],
                      provenance={"method": "m", "params": {"alpha": 1}}, support=[2, 3])


@pytest.mark.parametrize("duplicate", [lambda s: pickle.loads(pickle.dumps(s)), copy.deepcopy],
                         ids=["pickle", "deepcopy"])
def test_a_pickled_or_deep_copied_soft_labels_is_equal_and_still_read_only(duplicate):
    s = example()
    t = duplicate(s)
    assert t == s
    for name in ("probs", "classes", "item_ids", "support"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(t, name)[0] = getattr(t, name)[1]
    assert s.probs.tolist() == [[0.9, 0.1], [0.5, 0.5]]


def test_changing_the_provenance_returned_changes_nothing_inside():
    s = example()
    s.provenance["params"]["alpha"] = 99
    s.provenance["method"] = "other"
    assert s.provenance == {"method": "m", "params": {"alpha": 1},
                            "version": s.provenance["version"]}


@pytest.mark.parametrize("rows", [[], (), np.array([])])
def test_take_no_rows_gives_zero_items_with_the_same_classes(rows):
    t = example().take(rows)
    assert (t.n_items, t.classes.tolist(), t.support.tolist()) == (0, ["a", "b"], [])
    assert t.provenance == example().provenance


def test_repr_of_many_classes_shows_a_few_and_how_many():
    k = 10_000
    s = SoftLabels(np.full((1, k), 1 / k), [f"c{j}" for j in range(k)])
    text = repr(s)
    assert len(text) < 200
    assert text.startswith("SoftLabels(n_items=1, classes=['c0', 'c1', ")
    assert text.endswith(", ..., 'c9999'] (10000 classes))")
    few = SoftLabels(np.full((1, 10), 0.1), list(range(10)))
    assert repr(few) == f"SoftLabels(n_items=1, classes={list(range(10))})"
    empty = SoftLabels(np.zeros((0, 1)), ["only"])
    assert repr(empty) == "SoftLabels(n_items=0, classes=['only'])"


@pytest.mark.parametrize("atol", [-0.5, float("nan"), "0.1"])
def test_equals_refuses_a_tolerance_that_is_not_a_number_at_least_zero(atol):
    from softlabels import InvalidParameterError

    s = example()
    with pytest.raises(InvalidParameterError, match=r"'atol' parameter of SoftLabels\.equals"):
        s.equals(s, atol=atol)
    t = SoftLabels([[0.8, 0.2], [0.5, 0.5]], ["a", "b"], item_ids=["x", "y"],
                   provenance=s.provenance, support=[2, 3])
    assert not s.equals(t, atol=0.05) and s.equals(t, atol=0.1 + 1e-12)


@pytest.mark.parametrize("make", [SoftLabels.from_counts, SoftLabels.from_logits])
@pytest.mark.parametrize("values, message", [
    ([[1, 2], [3]], r"row 1 has 1 values but row 0 has 2"),
    ([["1", "x"]], r"must be numeric"),
    (np.zeros((2, 0)), r"has no class columns"),
])
def test_counts_and_logits_that_are_no_matrix_are_input_errors(make, values, message):
    from softlabels import InputError

    name = "counts" if make == SoftLabels.from_counts else "logits"
    with pytest.raises(InputError, match=rf"^{name}:? {message}"):
        make(values, [] if isinstance(values, np.ndarray) else ["a", "b"])



@pytest.mark.parametrize("value", ["1", None, True, [1.0]])
def test_smoothing_and_temperature_that_are_not_numbers_are_input_errors(value):
    from softlabels import InputError

    with pytest.raises(InputError, match=r"^smoothing must be >= 0 and finite; got "):
        SoftLabels.from_counts([[1, 3]], ["a", "b"], smoothing=value)
    with pytest.raises(InputError, match=r"^temperature must be > 0; got "):
        SoftLabels.from_logits([[0.0, 1.0]], ["a", "b"], temperature=value)
    # numbers of any numeric type are taken
    assert SoftLabels.from_counts([[1, 3]], ["a", "b"], smoothing=np.int64(1)).probs.tolist() \
        == [[2 / 6, 4 / 6]]
    assert SoftLabels.from_logits([[0.0, 0.0]], ["a", "b"], temperature=np.float32(2)).probs \
        .tolist() == [[0.5, 0.5]]


@pytest.mark.parametrize("ids", [[1456789012345678901, 5], [-(2**63), 2**63 - 1, 0]])
def test_int64_item_ids_of_19_digits_come_back_from_csv_as_integers(tmp_path, ids):
    """Tweet ids and other snowflake ids have 19 digits; they fit int64."""
    k = len(ids)
    s = SoftLabels(np.eye(k), list("abc")[:k], item_ids=ids)
    s.to_csv(tmp_path / "s.csv")
    back = SoftLabels.read_csv(tmp_path / "s.csv")
    assert back.item_ids.tolist() == ids and back.item_ids.dtype == np.int64


@pytest.mark.parametrize("values, want", [
    (["9223372036854775807", "1"], [2**63 - 1, 1]),
    (["-9223372036854775808"], [-(2**63)]),
    (["9223372036854775808", "1"], ["9223372036854775808", "1"]),  # beyond int64: text
    (["10000000000000000000"], ["10000000000000000000"]),
])
def test_ids_read_as_text_become_int64_exactly_when_they_fit(values, want):
    import pandas as pd

    from softlabels.core.io import ids_from_text

    assert ids_from_text(pd.Series(values, dtype=object)).tolist() == want


def test_ids_beyond_int64_in_a_csv_stay_text(tmp_path):
    from softlabels.core.io import read_table

    path = tmp_path / "a.csv"
    path.write_text("item,x\n9223372036854775808,1\n1,2\n")
    assert read_table(path, id_columns=("item",))["item"].tolist() == ["9223372036854775808", "1"]
    path.write_text("item,x\n9223372036854775808,1\n-1,2\n")
    assert read_table(path, id_columns=("item",))["item"].tolist() == ["9223372036854775808", "-1"]


@pytest.mark.parametrize("classes", [[1, "a"], ("a", 2.5), ["a\x00", "a"], [True, 2]])
def test_classes_from_a_list_keep_their_values_and_types(classes):
    s = SoftLabels([[0.75, 0.25]], classes)
    assert s.classes.tolist() == list(classes)
    assert [type(c) for c in s.classes.tolist()] == [type(c) for c in classes]
    assert s.hard().tolist() == [classes[0]]
@pytest.mark.parametrize("classes", [[None, "a"], ["a", np.nan], [1.0, float("nan")],
                                     np.array(["a", None], dtype=object)])
def test_a_missing_class_name_is_an_input_error_naming_its_position(classes):
    from softlabels import InputError

    where = 0 if classes[0] is None else 1
    with pytest.raises(InputError, match=rf"^classes: position {where} is missing; every "
                                         r"class needs a name\.$"):
        SoftLabels([[0.5, 0.5]], classes)


@pytest.mark.parametrize("ids, classes", [(["i\r", "j"], ["a", "b"]),
                                          (["i", "j"], ["a\r", "b"]),
                                          (["i\r\n", "j\n"], ["a", "b\rc"])])
def test_a_carriage_return_in_an_id_or_class_survives_csv(tmp_path, ids, classes):
    s = SoftLabels([[0.25, 0.75], [1.0, 0.0]], classes, item_ids=ids, support=[1, 2])
    s.to_csv(tmp_path / "s.csv")
    back = SoftLabels.read_csv(tmp_path / "s.csv")
    assert (back.item_ids.tolist(), back.classes.tolist()) == (ids, classes)
    assert np.array_equal(back.probs, s.probs)


def test_a_nul_character_cannot_be_written_to_csv_and_leaves_no_file(tmp_path):
    from softlabels import InputError

    s = SoftLabels([[0.25, 0.75]], ["a", "b"], item_ids=["i\x00"])
    with pytest.raises(InputError, match=r"s\.csv: column 'item' holds text with a NUL "
                                         r"character \(row 0\).*\.parquet or \.jsonl"):
        s.to_csv(tmp_path / "s.csv")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".csv.gz"])
def test_write_frame_keeps_a_carriage_return_in_text(tmp_path, suffix):
    import pandas as pd

    from softlabels.core.io import read_table, write_frame

    frame = pd.DataFrame({"worker": ["w\r", "v"], "accuracy": [0.5, 1.0]})
    write_frame(frame, tmp_path / f"w{suffix}")
    back = read_table(tmp_path / f"w{suffix}")
    assert back["worker"].tolist() == ["w\r", "v"] and back["accuracy"].tolist() == [0.5, 1.0]


@pytest.mark.parametrize("ids", [[], ["x"]])
def test_json_lines_of_zero_items_read_back_given_their_classes(tmp_path, ids):
    from softlabels import InputError

    s = SoftLabels(np.zeros((0, 2)), [3, 1]) if not ids else \
        SoftLabels([[0.5, 0.5]], [3, 1], item_ids=ids).take([])
    s.to_jsonl(tmp_path / "s.jsonl")
    back = SoftLabels.read_jsonl(tmp_path / "s.jsonl", classes=[3, 1])
    assert (back.n_items, back.classes.tolist()) == (0, [3, 1])
    (tmp_path / "blank.jsonl").write_text("\n\n")
    assert SoftLabels.read_jsonl(tmp_path / "blank.jsonl", classes=["a"]).n_classes == 1
    with pytest.raises(InputError, match=r"s\.jsonl: the file is empty.*pass classes=\[\.\.\.\] "
                                         r"to read it as zero items"):
        SoftLabels.read_jsonl(tmp_path / "s.jsonl")


@pytest.mark.parametrize("classes, ids, what", [(["", "b"], ["x"], r"class 0 is empty text"),
                                                (["a", "b"], ["x", ""], r"item 1 is empty text")])
def test_empty_text_that_csv_would_read_as_missing_is_refused_on_writing(tmp_path, classes, ids,
                                                                          what):
    from softlabels import InputError

    s = SoftLabels(np.full((len(ids), 2), 0.5), classes, item_ids=ids)
    with pytest.raises(InputError, match=rf"s\.csv: {what}, which CSV reads as missing"):
        s.to_csv(tmp_path / "s.csv")
    assert list(tmp_path.iterdir()) == []
    s.save(tmp_path / "s.jsonl")
    assert SoftLabels.load(tmp_path / "s.jsonl").classes.tolist() == classes


@pytest.mark.parametrize("rows", [[1, 0, 1], [0, -2]])
def test_take_of_a_row_twice_is_refused_naming_the_row(rows):
    from softlabels import InputError

    with pytest.raises(InputError, match=r"^take: row (1|0) is taken more than once; item ids "
                                         r"are unique, so each row can be taken once\.$"):
        example().take(rows)


@pytest.mark.parametrize("provenance", [[1, 2], "abc", 5])
def test_parquet_metadata_whose_provenance_is_not_an_object_is_damaged(tmp_path, provenance):
    import json

    import pyarrow.parquet as pq

    from softlabels import InputError

    path = tmp_path / "s.parquet"
    example().to_parquet(path)
    table = pq.read_table(path)
    raw = json.dumps({"format_version": 1, "classes": ["a", "b"], "provenance": provenance})
    pq.write_table(table.replace_schema_metadata(
        dict(table.schema.metadata) | {b"softlabels": raw.encode()}), path)
    with pytest.raises(InputError, match=r"s\.parquet: the softlabels metadata of the file is "
                                         r"damaged \(provenance is not an object\)"):
        SoftLabels.read_parquet(path)


def test_a_pickle_of_the_slots_state_written_before_getstate_still_loads():
    s = example()
    state = (None, {name: getattr(s, name) for name in SoftLabels.__slots__})
    t = SoftLabels.__new__(SoftLabels)
    t.__setstate__(state)
    assert t == s and not t.probs.flags.writeable


SURROGATE_NAME = b"img_\xff.jpg".decode("utf-8", "surrogateescape")  # as os.listdir gives it


@pytest.mark.parametrize("ids", [[SURROGATE_NAME], np.array([SURROGATE_NAME, "b"]),
                                 np.array([SURROGATE_NAME, "b"], dtype=object)])
def test_item_ids_from_file_names_in_another_encoding_are_held(ids):
    s = SoftLabels(np.full((len(ids), 2), 0.5), ["a", "b"], item_ids=ids)
    assert s.item_ids.tolist() == list(ids)
    from softlabels import InputError

    with pytest.raises(InputError, match="appears more than once"):
        SoftLabels(np.full((2, 2), 0.5), ["a", "b"], item_ids=[SURROGATE_NAME] * 2)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
@pytest.mark.parametrize("where", ["item", "class"])
def test_text_that_is_not_unicode_is_an_input_error_on_writing(tmp_path, suffix, where):
    from softlabels import InputError

    ids, classes = ([SURROGATE_NAME, "b"], ["a", "b"]) if where == "item" else \
        (["x", "y"], ["a", SURROGATE_NAME])
    s = SoftLabels(np.full((2, 2), 0.5), classes, item_ids=ids)
    position = 0 if where == "item" else 1
    with pytest.raises(InputError, match=rf"s{suffix}: {where} {position} \('img_\\udcff\.jpg'\) "
                                         r"is not Unicode text"):
        s.save(tmp_path / f"s{suffix}")
    assert list(tmp_path.iterdir()) == []


def test_a_repeated_class_that_is_not_unicode_is_named():
    from softlabels import InputError

    with pytest.raises(InputError, match=r"^classes must be unique; 'img_\\udcff\.jpg' appears"):
        SoftLabels([[0.5, 0.5]], [SURROGATE_NAME] * 2)


def test_align_items_by_id_with_ids_that_are_not_unicode():
    from softlabels.core.tables import align_items

    a = SoftLabels([[0.5, 0.5], [1.0, 0.0]], ["a", "b"], item_ids=[SURROGATE_NAME, "b"])
    b = SoftLabels([[1.0, 0.0], [0.25, 0.75]], ["a", "b"], item_ids=["b", SURROGATE_NAME])
    got = align_items(a, b, reorder=True)
    assert got.item_ids.tolist() == [SURROGATE_NAME, "b"]
    assert got.probs.tolist() == [[0.25, 0.75], [1.0, 0.0]]


@pytest.mark.parametrize("name", ["soft.csv.gz", "soft.jsonl.gz", "soft.ndjson.gz", "soft.CSV.GZ"])
def test_gzipped_text_files_are_gzipped_and_read_back(tmp_path, name):
    # a name ending in .gz used to get plain text, which reading then refused
    s = SoftLabels(np.array([[0.2, 0.8], [0.5, 0.5]]), ["a", "b"], item_ids=["x", "y"])
    path = tmp_path / name
    s.save(path)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert SoftLabels.load(path).equals(s)
    writer = s.to_csv if ".csv" in name.lower() else s.to_jsonl
    writer(tmp_path / ("again" + name[4:]))
    assert (tmp_path / ("again" + name[4:])).read_bytes()[:2] == b"\x1f\x8b"


def test_a_gz_name_without_a_text_format_is_refused(tmp_path):
    s = SoftLabels(np.array([[0.2, 0.8]]), ["a", "b"], item_ids=["x"])
    with pytest.raises(InputError, match="unsupported output extension '.gz'"):
        s.save(tmp_path / "soft.gz")
    assert not (tmp_path / "soft.gz").exists()
