"""core.tables on small hand-made frames: known answers for reading, reordering classes
by name, aligning items by id and matching labels; each fault named with its place."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from softlabels import SoftLabels
from softlabels.core.errors import InputError, ProbabilityWarning
from softlabels.core.tables import (
    align_items,
    class_order,
    match_classes,
    match_labels,
    read_labels,
    read_probs,
)


def soft_frame(items, classes, rows, **extra) -> pd.DataFrame:
    """A softlabels table written by hand: item, label, confidence, one column per class."""
    rows = np.asarray(rows, dtype=float)
    frame = pd.DataFrame({
        "item": items,
        "label": [classes[j] for j in rows.argmax(axis=1)],
        "confidence": rows.max(axis=1),
    })
    for j, c in enumerate(classes):
        frame[c] = rows[:, j]
    for k, v in extra.items():
        frame[k] = v
    return frame


def raises(match: str, func, *args, **kwargs) -> str:
    with pytest.raises(InputError, match=re.escape(match)) as info:
        func(*args, **kwargs)
    return str(info.value)


# --------------------------------------------------------------------- read_probs
def test_soft_label_frame_gives_its_classes_ids_and_values():
    frame = soft_frame(["u", "v"], ["cat", "dog"], [[0.25, 0.75], [1.0, 0.0]], support=[4, 2])
    soft = read_probs(frame)
    assert isinstance(soft, SoftLabels)
    assert soft.classes.tolist() == ["cat", "dog"]
    assert soft.item_ids.tolist() == ["u", "v"]
    assert soft.probs.tolist() == [[0.25, 0.75], [1.0, 0.0]]
    assert soft.support.tolist() == [4.0, 2.0]


def test_plain_frame_array_and_soft_labels():
    plain = read_probs(pd.DataFrame({"a": [0.5, 0.1], "b": [0.5, 0.9]}))
    assert isinstance(plain, np.ndarray) and plain.tolist() == [[0.5, 0.5], [0.1, 0.9]]
    assert read_probs([[0.2, 0.8]]).tolist() == [[0.2, 0.8]]
    soft = SoftLabels([[0.2, 0.8]], ["a", "b"])
    assert read_probs(soft) is soft


def test_rows_within_the_model_tolerance_are_renormalised_exactly():
    with pytest.warns(ProbabilityWarning, match="1 rows sum to 1 only within"):
        p = read_probs([[0.50004, 0.5], [0.3, 0.7]])
    np.testing.assert_allclose(p[0], [0.50004 / 1.00004, 0.5 / 1.00004], rtol=0, atol=1e-15)
    assert p[1].tolist() == [0.3, 0.7]


def test_rows_not_summing_to_one_name_the_input_row_and_sum():
    frame = soft_frame(["u", "v", "w"], ["cat", "dog"], [[0.5, 0.5], [0.3, 0.3], [1, 0]])
    err = raises("t.csv: 1 rows do not sum to 1 (row 1 sums to 0.6", read_probs, frame,
                 name="t.csv")
    assert "logits" in err
    raises("m: 1 rows do not sum to 1 (row 0 sums to 2", read_probs, [[1.0, 1.0]], name="m")


def test_nan_in_a_soft_label_table_names_row_item_and_class():
    frame = soft_frame(["u", "v", "w"], ["cat", "dog"], [[0.5, 0.5], [0.3, 0.7], [1, 0]])
    frame.loc[2, "dog"] = np.nan
    frame.loc[1, "cat"] = np.nan
    raises("t.csv: row 1 (item 'v'), class 'cat' is missing (2 missing values in all).",
           read_probs, frame, name="t.csv")


def test_nan_in_a_plain_matrix_names_row_and_column():
    raises("m contains 1 non-finite values (first at row 1, column 0).",
           read_probs, [[0.5, 0.5], [np.nan, 1.0]], name="m")


def test_duplicated_item_ids_name_the_id_and_both_rows():
    frame = soft_frame(["u", "v", "w", "v"], ["cat", "dog"], [[1, 0]] * 4)
    raises("t: item 'v' appears more than once (rows 1 and 3)", read_probs, frame, name="t")
    # ids that differ in type only are one id once written as a table
    frame = soft_frame([7, "7"], ["cat", "dog"], [[1, 0]] * 2)
    raises("t: item '7' appears more than once (rows 0 and 1)", read_probs, frame, name="t")


def test_duplicated_class_column_in_a_frame_and_in_a_csv_header(tmp_path):
    frame = soft_frame(["u"], ["cat", "dog"], [[1, 0]])
    frame.insert(5, "dup", [0.0])
    frame.columns = ["item", "label", "confidence", "cat", "dog", "cat"]
    raises("t: column 'cat' appears more than once (columns 4 and 6)", read_probs, frame,
           name="t")
    # the CSV reader would rename the second 'cat' to 'cat.1': a class of its own
    path = tmp_path / "t.csv"
    path.write_text("item,label,confidence,cat,dog,cat\nu,cat,1,1,0,0\n")
    raises(f"soft labels ({path}): column 'cat' appears more than once (columns 4 and 6)",
           read_probs, path, name="soft labels")


def test_header_field_beyond_the_csv_field_limit(tmp_path):
    # pandas reads a very long header name, the header check after it used to raise
    # the csv module's own error
    path = tmp_path / "t.csv"
    path.write_text(f"item,label,confidence,cat,{'d' * 200_000}\nu,cat,1,1,0\n")
    for read in (read_probs, SoftLabels.load):
        raises(f"{path}: line 1 (the header) cannot be parsed (field larger than field limit",
               read, path)


def test_missing_reserved_column_and_text_class_column():
    frame = soft_frame(["u"], ["cat", "dog"], [[1, 0]]).drop(columns="confidence")
    err = raises("t: a softlabels table has the columns item, label, confidence", read_probs,
                 frame, name="t")
    assert "no 'confidence' column" in err
    frame = soft_frame(["u"], ["cat", "dog"], [[1, 0]]).astype({"dog": str})
    raises("t: class column 'dog' is not numeric.", read_probs, frame, name="t")
    raises("m: column 'b' is not numeric", read_probs, pd.DataFrame({"a": [1.0], "b": ["x"]}),
           name="m")


def test_files_soft_label_csv_and_matrix_with_a_class_index_header(tmp_path):
    SoftLabels([[0.2, 0.8], [0.6, 0.4]], ["a", "b"], ["007", "7"]).to_csv(tmp_path / "s.csv")
    soft = read_probs(tmp_path / "s.csv")
    assert soft.item_ids.tolist() == ["007", "7"]  # ids as written
    assert soft.probs.tolist() == [[0.2, 0.8], [0.6, 0.4]]
    (tmp_path / "m.csv").write_text("0,1,2\n0.5,0.25,0.25\n0,0,1\n")
    assert read_probs(tmp_path / "m.csv").tolist() == [[0.5, 0.25, 0.25], [0, 0, 1]]
    (tmp_path / "h.csv").write_text("0,1,2\n")
    raises(f"p ({tmp_path / 'h.csv'}): the file has a header but no data rows.",
           read_probs, tmp_path / "h.csv", name="p")
    np.save(tmp_path / "v.npy", np.array([0.5, 0.5]))
    raises(f"{tmp_path / 'v.npy'}: p must have one column per class; got one column.",
           read_probs, tmp_path / "v.npy", name="p")


# -------------------------------------------------------------------- read_labels
def test_read_labels(tmp_path):
    assert read_labels([2, 0, 1]).tolist() == [2, 0, 1]
    assert read_labels([[2], [0]]).tolist() == [2, 0]
    np.save(tmp_path / "y.npy", np.array([[1], [0]]))
    assert read_labels(tmp_path / "y.npy").tolist() == [1, 0]
    np.save(tmp_path / "y2.npy", np.array([[1, 0], [0, 1]]))
    raises(f"{tmp_path / 'y2.npy'}: labels must have one column (a class index per item); "
           "got 2 columns.", read_labels, tmp_path / "y2.npy", name="labels")


# ------------------------------------------------------------ classes, by name
def test_class_order_known_permutation_and_labels_moved_with_it():
    order = class_order(["c", "a", "b"], ["a", "b", "c"])
    assert order.tolist() == [1, 2, 0]
    probs = np.array([[0.5, 0.3, 0.2]])  # c, a, b
    assert probs[:, order].tolist() == [[0.3, 0.2, 0.5]]  # a, b, c
    labels = np.array([0, 1, 2])  # c, a, b
    assert np.argsort(order)[labels].tolist() == [2, 0, 1]  # as codes of a, b, c
    assert class_order([1, 0], ["0", "1"]).tolist() == [1, 0]  # compared as text


def test_class_order_missing_extra_and_duplicate_classes():
    err = raises("crowd: classes ['b', 'x', 'y'] are not those of model (['a', 'b', 'c']): "
                 "no 'a', 'c'; 'x', 'y' are not classes there.",
                 class_order, ["b", "x", "y"], ["a", "b", "c"], name="crowd",
                 reference_name="model")
    assert err.endswith("there.")
    raises("crowd: classes ['a'] are not those of reference (['a', 'b']): no 'b'.",
           class_order, ["a"], ["a", "b"], name="crowd")
    raises("crowd: classes ['a', 'b', 'z'] are not those of reference (['a', 'b']): "
           "'z' is not a class there.", class_order, ["a", "b", "z"], ["a", "b"], name="crowd")
    raises("crowd: class 'b' appears more than once (positions 1 and 2).",
           class_order, ["a", "b", "b"], ["a", "b", "c"], name="crowd")
    raises("model: class 'a' appears more than once (positions 0 and 2).",
           class_order, ["a", "b", "c"], ["a", "b", "a"], reference_name="model")


def test_match_classes_reorders_a_table_by_name():
    model = SoftLabels([[0.9, 0.1, 0.0]], ["cat", "dog", "cow"], ["u"])
    crowd = SoftLabels([[0.6, 0.3, 0.1]], ["cow", "cat", "dog"], ["u"],
                       provenance={"method": "vote"}, support=[3])
    matched = match_classes(model, crowd)
    assert matched.classes.tolist() == ["cat", "dog", "cow"]
    assert matched.probs.tolist() == [[0.3, 0.1, 0.6]]
    assert matched.item_ids.tolist() == ["u"]
    assert matched.support.tolist() == [3.0] and matched.provenance["method"] == "vote"
    same = SoftLabels([[0.6, 0.3, 0.1]], ["cat", "dog", "cow"])
    assert match_classes(model, same) is same
    plain = np.array([[0.6, 0.3, 0.1]])  # no names: taken to be in the model's order
    assert match_classes(model, plain) is plain


def test_match_classes_counts_and_names_differ():
    model = SoftLabels([[0.9, 0.1]], ["cat", "dog"])
    raises("c.csv: 3 class columns but p.csv has 2.", match_classes, model,
           [[0.2, 0.3, 0.5]], name="c.csv", reference_name="p.csv")
    raises("c.csv: classes ['cat', 'cow'] are not those of p.csv (['cat', 'dog']): no 'dog'; "
           "'cow' is not a class there.", match_classes, model,
           SoftLabels([[0.2, 0.8]], ["cat", "cow"]), name="c.csv", reference_name="p.csv")


# --------------------------------------------------------------- items, by id
MODEL = SoftLabels([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]], ["a", "b"], ["i0", "i1", "i2"])


def test_align_items_same_order_and_another_order():
    same = SoftLabels([[1.0, 0.0], [0.0, 1.0], [0.4, 0.6]], ["a", "b"], ["i0", "i1", "i2"])
    assert align_items(MODEL, same) is same
    other = SoftLabels([[0.4, 0.6], [1.0, 0.0], [0.0, 1.0]], ["a", "b"], ["i2", "i0", "i1"],
                       support=[5, 6, 7])
    raises("c: the items are not those of m, in the same order (row 0: item 'i2' there, "
           "'i0' in m).", align_items, MODEL, other, name="c", reference_name="m")
    moved = align_items(MODEL, other, reorder=True)
    assert moved.item_ids.tolist() == ["i0", "i1", "i2"]
    assert moved.probs.tolist() == [[1.0, 0.0], [0.0, 1.0], [0.4, 0.6]]
    assert moved.support.tolist() == [6.0, 7.0, 5.0]
    assert align_items(MODEL, same, reorder=True) is same


def test_align_items_ids_compared_as_text():
    ints = SoftLabels([[1.0, 0.0], [0.0, 1.0]], ["a", "b"], [10, 2])
    text = SoftLabels([[0.0, 1.0], [1.0, 0.0]], ["a", "b"], ["2", "10"])
    assert align_items(ints, text, reorder=True).probs.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    raises("c: the items are not those of m, in the same order (row 0: item '2' there, 10 "
           "in m).", align_items, ints, text, name="c", reference_name="m")


def test_align_items_missing_and_extra_ids():
    fewer = SoftLabels([[1.0, 0.0], [0.0, 1.0]], ["a", "b"], ["i2", "i0"])
    raises("c: 3 rows but m has 2.", align_items, fewer, MODEL, name="c", reference_name="m")
    raises("c: 1 items of m are missing (first: item 'i1', row 1 there).",
           align_items, MODEL, fewer, reorder=True, name="c", reference_name="m")
    more = SoftLabels([[1.0, 0.0]] * 5, ["a", "b"], ["i1", "x", "i0", "i2", "y"])
    raises("c: 2 items are not in m (first: item 'x', row 1).",
           align_items, MODEL, more, reorder=True, name="c", reference_name="m")
    swapped = SoftLabels([[1.0, 0.0]] * 3, ["a", "b"], ["i0", "i9", "i2"])
    raises("c: 1 items of m are missing (first: item 'i1', row 1 there).",
           align_items, MODEL, swapped, reorder=True, name="c", reference_name="m")


def test_align_items_ids_that_collide_as_text_and_inputs_without_ids():
    clash = SoftLabels([[1.0, 0.0]] * 3, ["a", "b"], np.array([1, "1", "i2"], dtype=object))
    raises("c: item '1' (row 1) and item 1 (row 0) are the same id once written as text.",
           align_items, MODEL, clash, reorder=True, name="c")
    plain = np.array([[1.0, 0.0]] * 3)
    assert align_items(MODEL, plain) is plain  # rows taken in order
    raises("c: has no item ids, so its rows cannot be matched by id", align_items, MODEL,
           plain, reorder=True, name="c")
    raises("c: 2 rows but reference has 3.", align_items, MODEL, plain[:2], name="c")


# -------------------------------------------------------------------- labels
def test_match_labels_known_answer_and_faults():
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.0, 0.0, 1.0]])
    out = match_labels([2, 0.0, 1], probs)
    assert out.dtype == np.int64 and out.tolist() == [2, 0, 1]
    raises("y: 2 labels but p.npy has 3 rows.", match_labels, [0, 1], probs, name="y",
           probs_name="p.npy")
    raises("y: 1 values outside 0..2 (first at row 1: 3).", match_labels, [0, 3, 1], probs,
           name="y")
    raises("y must be integer class indices; row 2 is 1.5.", match_labels, [0, 1, 1.5],
           probs, name="y")
    raises("y: 1 values outside 0..2 (first at row 0: -1).", match_labels, [-1, 1, 1],
           probs, name="y")


def test_match_labels_from_a_file_names_it_and_hints_at_a_numeric_header(tmp_path):
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    path = tmp_path / "y.csv"
    pd.Series([1, 0]).to_csv(path, index=False)  # pandas writes the header 0
    err = raises(f"{path}: 3 labels but p.npy has 2 rows. If its first line is a header of "
                 "numbers", match_labels, path, probs, probs_name="p.npy")
    assert "e.g. label" in err
    path.write_text("1\n2\n")
    raises(f"labels ({path}): 1 values outside 0..1 (first at row 1: 2).",
           match_labels, str(path), probs)
    path.write_text("label\n1\n0\n")
    assert match_labels(path, probs).tolist() == [1, 0]


def test_no_warning_for_exact_inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_probs(soft_frame(["u"], ["a", "b"], [[0.25, 0.75]]))
        match_labels([1], [[0.25, 0.75]])


def test_match_labels_scalar_is_refused_with_its_shape():
    raises("y must be 1-D (one class index per item); got shape ().", match_labels, 1,
           [[0.5, 0.5]], name="y")


def test_docstring_examples_run():
    import doctest

    import softlabels.core.tables as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 15


def test_a_soft_label_table_without_rows_says_so(tmp_path):
    """Not that its (empty, hence text) class columns are not numeric."""
    path = tmp_path / "t.csv"
    path.write_text("item,label,confidence,cat,dog\n")
    err = raises(f"{path}: the table has a header but no data rows.", read_probs, path)
    assert "numeric" not in err
    raises("t: the table has a header but no data rows.", read_probs,
           soft_frame([], ["cat", "dog"], np.zeros((0, 2))), name="t")


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson"])
def test_soft_labels_saved_as_json_lines_are_read(tmp_path, suffix):
    """What ``SoftLabels.save`` and ``softlabels aggregate -o x.jsonl`` write."""
    soft = SoftLabels([[0.25, 0.75], [1.0, 0.0]], ["cat", "dog"], item_ids=["u", "v"],
                      support=[2, 3])
    path = tmp_path / f"s{suffix}"
    soft.save(path)
    back = read_probs(path, name="soft labels")
    assert isinstance(back, SoftLabels)
    assert back.equals(SoftLabels.load(path))
    path.write_text('{"item": "u", "probs": {"cat": 0.5, "dog": 0.6}}\n')
    raises(f"soft labels: {path}: probs: 1 rows do not sum to 1", read_probs, path,
           name="soft labels")
