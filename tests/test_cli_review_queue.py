"""`softlabels audit --review-queue`: Label Studio tasks out, reviewed answers back in."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from softlabels import InputError, SoftLabels, read_annotations
from softlabels.cli import main
from softlabels.core.review import label_studio_config, label_studio_tasks

CLASSES = np.array(["cat", "dog", "fox"])
ITEMS = np.array([f"img{i}" for i in range(6)])
#: the model: items 0 and 1 are confidently another class than given
PROBS = np.array([[0.02, 0.96, 0.02], [0.01, 0.01, 0.98], [0.9, 0.05, 0.05],
                  [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.85, 0.1, 0.05]])
GIVEN = np.array([0, 0, 0, 1, 2, 0])
#: the crowd: item 3 (top 0.5) and item 5 (top 0.4) have weak consensus
CROWD = np.array([[0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.9, 0.05, 0.05],
                  [0.5, 0.45, 0.05], [0.1, 0.1, 0.8], [0.4, 0.3, 0.3]])


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def inputs(tmp_path: Path) -> dict[str, Path]:
    paths = {"labels": tmp_path / "y.npy", "probs": tmp_path / "p.csv", "crowd": tmp_path / "c.csv"}
    np.save(paths["labels"], GIVEN)
    SoftLabels(PROBS, CLASSES, ITEMS).save(paths["probs"])
    SoftLabels(CROWD, CLASSES, ITEMS).save(paths["crowd"])
    return paths


def audit(capsys, inputs, tmp_path, *extra) -> tuple[int, str, str]:
    return run(capsys, "audit", "--labels", inputs["labels"], "--pred-probs", inputs["probs"],
               "-o", tmp_path / "issues.csv", *extra)


def test_queue_holds_flagged_then_weak_consensus_items(inputs, tmp_path, capsys):
    queue = tmp_path / "queue.json"
    code, out, _ = audit(capsys, inputs, tmp_path, "--soft-labels", inputs["crowd"],
                         "--review-queue", queue)
    assert code == 0
    issues = pd.read_csv(tmp_path / "issues.csv")
    flagged = issues[issues["is_issue"]].sort_values("score")
    assert set(flagged["item"]) == {"img0", "img1"}  # the two confident disagreements
    tasks = json.loads(queue.read_text())
    items = [t["data"]["item"] for t in tasks]
    # flagged first (most suspicious first), then the weak-consensus items in input order
    assert items == [*flagged["item"], "img3", "img5"]
    first = tasks[0]
    row = flagged.iloc[0]
    assert first["data"]["given"] == "cat"
    assert first["predictions"][0]["result"][0]["value"] == {"choices": [row["suggested"]]}
    assert first["predictions"][0]["score"] == pytest.approx(row["score"])
    assert tasks[2]["data"]["reason"] == "weak crowd consensus (top probability 0.50)"
    # a weak-consensus item keeps its given label as the suggestion
    assert tasks[3]["predictions"][0]["result"][0]["value"] == {"choices": ["cat"]}
    assert f"review queue -> {queue} (4 Label Studio tasks)" in out.replace("\n", "")


def test_without_crowd_the_queue_is_the_flagged_items(inputs, tmp_path, capsys):
    queue = tmp_path / "queue.json"
    code, _, _ = audit(capsys, inputs, tmp_path, "--review-queue", queue)
    assert code == 0
    items = {t["data"]["item"] for t in json.loads(queue.read_text())}
    assert items == {"img0", "img1"}


def _reviewed_in_label_studio(queue: Path, out: Path) -> list[dict]:
    """What Label Studio exports after two reviewers answered every task of the queue:
    its own task ids, the data kept, the suggestion kept as a prediction."""
    tasks = json.loads(queue.read_text())
    for n, task in enumerate(tasks):
        suggestion = task["predictions"][0]["result"][0]["value"]["choices"][0]
        task["id"] = 500 + n
        task["annotations"] = [
            {"id": 2 * n + k, "completed_by": k + 1, "was_cancelled": False,
             "result": [{"from_name": "label", "to_name": "item", "type": "choices",
                         "value": {"choices": [choice]}, "origin": origin}]}
            for k, (choice, origin) in enumerate([(suggestion, "prediction"),
                                                  (task["data"]["given"], "manual")])
        ]
    out.write_text(json.dumps(tasks))
    return tasks


def test_reviewed_queue_reimports_with_the_same_items(inputs, tmp_path, capsys):
    queue = tmp_path / "queue.json"
    code, _, _ = audit(capsys, inputs, tmp_path, "--soft-labels", inputs["crowd"],
                       "--review-queue", queue)
    assert code == 0
    export = tmp_path / "export.json"
    tasks = _reviewed_in_label_studio(queue, export)
    ann = read_annotations(export)  # detected as label-studio
    frame = ann.to_frame()
    queued = [t["data"]["item"] for t in tasks]
    assert list(dict.fromkeys(frame["item"])) == queued
    suggested = {t["data"]["item"]: t["predictions"][0]["result"][0]["value"]["choices"][0]
                 for t in tasks}
    assert frame[frame["worker"] == 1].set_index("item")["label"].to_dict() == suggested
    # and the reviewed answers aggregate on the command line
    code, _, err = run(capsys, "aggregate", export, "-m", "majority-vote",
                       "-o", tmp_path / "reviewed.csv")
    assert code == 0, err
    assert pd.read_csv(tmp_path / "reviewed.csv")["item"].tolist() == queued


def test_queue_must_be_json(inputs, tmp_path, capsys):
    code, out, err = audit(capsys, inputs, tmp_path, "--review-queue", tmp_path / "q.csv")
    assert code == 2
    assert err.strip() == f"error: {tmp_path / 'q.csv'}: write .json."
    assert not (tmp_path / "issues.csv").exists()


def test_tasks_have_the_label_studio_fields():
    tasks = label_studio_tasks(np.array([7, 8]), np.array(["a", "b"]), given=["b", "b"],
                               score=np.array([0.25, 0.5]), reason=["r1", "r2"])
    assert tasks[0] == {
        "data": {"item": 7, "given": "b", "reason": "r1"},
        "predictions": [{"model_version": "softlabels", "score": 0.25, "result": [
            {"from_name": "label", "to_name": "item", "type": "choices",
             "value": {"choices": ["a"]}}]}],
    }
    assert type(tasks[0]["data"]["item"]) is int  # numpy scalars become JSON numbers
    json.dumps(tasks)


def test_tasks_from_series_go_by_position_not_index():
    """Columns of a filtered table keep their index labels: the i-th task is the i-th
    value of each, not the value labelled i."""
    table = pd.DataFrame({"item": ["x", "y", "z"], "suggested": ["a", "b", "c"],
                          "score": [0.1, 0.2, 0.3]}, index=[2, 1, 0])
    tasks = label_studio_tasks(table["item"], table["suggested"], score=table["score"])
    assert [t["data"]["item"] for t in tasks] == ["x", "y", "z"]
    assert [t["predictions"][0]["result"][0]["value"]["choices"] for t in tasks] == [
        ["a"], ["b"], ["c"]]
    assert [t["predictions"][0]["score"] for t in tasks] == [0.1, 0.2, 0.3]
    last = table.iloc[1:]  # index [1, 0]: label 2 is gone
    assert [t["data"]["item"] for t in label_studio_tasks(last["item"], last["suggested"])] == [
        "y", "z"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "high", 1.5, -0.25, True,
                                 np.bool_(False), np.float64(2.0)])
def test_a_score_that_is_not_a_number_from_0_to_1_is_named(bad):
    """JSON has no NaN: Label Studio would refuse the whole file; the docstring says 0 to 1."""
    shown = re.escape(repr(bad.item() if isinstance(bad, np.generic) else bad))
    with pytest.raises(InputError, match=rf"^score of item 'y' \(row 1\) is {shown}; scores "
                                         r"are numbers from 0 to 1\.$"):
        label_studio_tasks(["x", "y"], ["a", "b"], score=[0.5, bad])


def test_tasks_need_one_value_per_item():
    with pytest.raises(InputError, match="^given has 1 values for 2 items.$"):
        label_studio_tasks(["x", "y"], ["a", "b"], given=["a"])


def test_config_matches_the_tasks():
    root = ET.fromstring(label_studio_config(["cat", 'say "hi"']))
    choices = root.find("Choices")
    assert choices.get("name") == "label" and choices.get("toName") == "item"
    assert [c.get("value") for c in choices] == ["cat", 'say "hi"']
    assert root.find("Text").get("name") == "item"


@pytest.mark.parametrize("item", [pd.Timestamp("2020-01-01"), np.datetime64("2020-01-01", "ns"),
                                  None, ("a", 1)])
def test_an_item_id_json_cannot_hold_is_refused_by_name(item):
    """A nanosecond datetime64 became an integer id, a Timestamp failed only when the
    tasks were written (TypeError): neither would come back as the same item."""
    with pytest.raises(InputError, match=r"^item 1 is a \w+ \(.*\), which JSON cannot hold; "
                                         r"make the ids text first\.$"):
        label_studio_tasks(["x", item], ["a", "b"])
