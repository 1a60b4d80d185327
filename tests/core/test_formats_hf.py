"""Hugging Face datasets read into the answer table (the ``hf`` extra)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from softlabels import InputError, read_answers
from softlabels.cli import main
from softlabels.core.formats import detect_format, read_annotations

datasets = pytest.importorskip("datasets")

EXPECTED = Path(__file__).parents[1] / "fixtures" / "formats" / "label_studio.expected.csv"
CLASSES = ["Negative", "Neutral", "Positive"]


def expected() -> pd.DataFrame:
    return read_answers(EXPECTED).to_frame()


def per_item() -> "datasets.Dataset":
    """The answers of EXPECTED, one row per item: a list of votes and of their workers."""
    table = pd.read_csv(EXPECTED)
    rows = table.groupby("item", sort=False)
    features = datasets.Features({
        "item": datasets.Value("int64"),
        "votes": datasets.Sequence(datasets.ClassLabel(names=CLASSES)),
        "annotators": datasets.Sequence(datasets.Value("int64")),
    })
    return datasets.Dataset.from_dict({
        "item": list(rows.groups),
        "votes": [[CLASSES.index(v) for v in g["label"]] for _, g in rows],
        "annotators": [g["worker"].tolist() for _, g in rows],
    }, features=features)


def test_one_row_per_item_with_a_list_of_votes():
    ann = read_annotations(per_item(), worker_col="annotators", label_col="votes")
    pd.testing.assert_frame_equal(ann.to_frame(), expected())
    assert ann.classes.tolist() == CLASSES  # the ClassLabel's names, in declared order


def test_class_label_order_is_kept():
    ds = per_item().cast_column("votes", datasets.Sequence(datasets.ClassLabel(
        names=["Positive", "Neutral", "Negative"])))
    ann = read_annotations(ds, worker_col="annotators", label_col="votes")
    assert ann.classes.tolist() == ["Positive", "Neutral", "Negative"]
    # the indices now name the classes in the new order: Negative (0) reads as Positive
    assert ann.to_frame()["label"].iloc[3] == "Positive"


def test_one_row_per_answer():
    ds = datasets.Dataset.from_pandas(pd.read_csv(EXPECTED), preserve_index=False)
    pd.testing.assert_frame_equal(read_annotations(ds).to_frame(), expected())


def test_votes_without_workers_are_by_position_and_rows_are_items():
    ds = datasets.Dataset.from_dict({"votes": [["a", "b"], ["b"]]})
    frame = read_annotations(ds, label_col="votes").to_frame()
    assert frame.values.tolist() == [[0, 0, "a"], [0, 1, "b"], [1, 0, "b"]]


def test_saved_folder_is_detected_and_read_by_the_cli(tmp_path, capsys):
    folder = tmp_path / "votes_ds"
    per_item().save_to_disk(str(folder))
    assert detect_format(folder) == "hf"
    got = read_annotations(folder, worker_col="annotators", label_col="votes")
    pd.testing.assert_frame_equal(got.to_frame(), expected())
    code = main(["aggregate", str(folder), "--format", "hf", "--worker-col", "annotators",
                 "--label-col", "votes", "-m", "majority-vote", "-o", str(tmp_path / "o.csv")])
    assert code == 0
    code = main(["aggregate", str(EXPECTED), "-m", "majority-vote", "-o", str(tmp_path / "e.csv")])
    assert code == 0
    capsys.readouterr()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "o.csv"), pd.read_csv(tmp_path / "e.csv"))


def test_saved_folder_with_damaged_text_is_one_line(tmp_path, capsys):
    # the arrow file is memory-mapped as it is: bytes that are not UTF-8 used to fail
    # as a UnicodeDecodeError only when the answers were converted
    folder = tmp_path / "answers_ds"
    datasets.Dataset.from_dict({"item": [1, 2], "worker": ["wkr-alpha", "wkr-beta"],
                                "label": ["a", "b"]}).save_to_disk(str(folder))
    arrow = next(folder.glob("*.arrow"))
    arrow.write_bytes(arrow.read_bytes().replace(b"wkr-alpha", b"wkr-\xffalpha"[:9]))
    capsys.readouterr()  # the progress bar of save_to_disk
    with pytest.raises(InputError, match=r"answers_ds: not a readable saved dataset \(.*UTF8"):
        read_annotations(folder)
    code = main(["aggregate", str(folder), "-m", "majority-vote", "-o", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("data, kwargs, message", [
    ({"item": [1, 2], "votes": [["a"], []]}, {"label_col": "votes"},
     "row 1: the vote list 'votes' is empty."),
    ({"votes": [["a", "b"], ["a"]], "who": [["u", "v"], ["u", "v"]]},
     {"label_col": "votes", "worker_col": "who"}, "row 1: 1 votes but 2 workers."),
    ({"item": [1, 2], "worker": ["u", "v"], "label": ["a", None]}, {},
     "row 1: the worker or the label is empty."),
    ({"item": [1, 2], "label": ["a", "b"]}, {},
     "one answer per row needs a worker column 'worker'."),
    ({"item": [1], "votes": [["a"]]}, {"label_col": "votess"},
     "no label column 'votess'; the columns are 'item', 'votes'. Did you mean 'votes'?"),
])
def test_malformed_dataset_is_one_line(data, kwargs, message):
    with pytest.raises(InputError) as info:
        read_annotations(datasets.Dataset.from_dict(data), **kwargs)
    assert str(info.value) == f"the dataset: {message}"


def test_missing_class_label_value_names_the_row():
    ds = datasets.Dataset.from_dict(
        {"votes": [[0], [1, -1]]},
        features=datasets.Features({"votes": datasets.Sequence(datasets.ClassLabel(names=["a", "b"]))}))
    with pytest.raises(InputError, match=r"^the dataset: row 1: the class index -1 is not one "
                                         r"of the 2 classes of 'votes'\.$"):
        read_annotations(ds, label_col="votes")


def test_a_field_is_refused_for_hf():
    with pytest.raises(InputError, match="the hf format takes its columns as item_col"):
        read_annotations(per_item(), "hf:votes")


@pytest.mark.parametrize("kwargs, message", [
    ({"item_col": "itemid"}, "no item column 'itemid'; the columns are 'item_id', 'votes', "
                           "'who'. Did you mean 'item_id'?"),
    ({"item_col": "item_id", "worker_col": "whom"},
     "no worker column 'whom'; the columns are 'item_id', 'votes', 'who'. Did you mean 'who'?"),
])
def test_a_named_column_that_is_absent_is_an_error(kwargs, message):
    """Only the default names may be absent (rows are the items, votes by position); a
    column named on purpose and misspelled is not silently replaced by row numbers."""
    ds = datasets.Dataset.from_dict({"item_id": [7, 8], "votes": [["a"], ["b"]],
                                     "who": [["u"], ["v"]]})
    with pytest.raises(InputError) as info:
        read_annotations(ds, label_col="votes", **kwargs)
    assert str(info.value) == f"the dataset: {message}"
