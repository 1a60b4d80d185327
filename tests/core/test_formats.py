"""Annotation-tool exports read into the answer table.

Each fixture in ``tests/fixtures/formats`` is a small export in the tool's own format;
beside it, ``<name>.expected.csv`` holds the same answers written by hand as the long
``item, worker, label`` table. Reading the export must give exactly that table.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import softlabels
from softlabels import InputError, read_answers
from softlabels.core.formats import FORMATS, answer_frame, detect_format, read_annotations

FIXTURES = Path(__file__).parents[1] / "fixtures" / "formats"

#: fixture, format (None: detected), the format detection must find
CASES = [
    ("label_studio.json", None, "label-studio"),
    ("label_studio_min.json", "label-studio:sentiment", "label-studio"),
    ("label_studio_taxonomy.json", None, "label-studio"),
    ("mturk_batch_results.csv", None, "mturk"),
    ("mturk_radio_buttons.csv", None, "mturk"),
    ("mturk_task_answers.csv", None, "mturk"),
    ("toloka_results.tsv", None, "toloka"),
    ("prodigy_choice.jsonl", None, "prodigy"),
    ("prodigy_binary.jsonl", "prodigy:SPORTS", "prodigy"),
    ("ground_truth.manifest", None, "ground-truth"),
    ("ground_truth_workers.manifest", None, "ground-truth"),
]


def expected(name: str) -> pd.DataFrame:
    return read_answers(FIXTURES / f"{name.split('.')[0]}.expected.csv").to_frame()


@pytest.mark.parametrize("name, fmt, detected", CASES)
def test_export_reads_as_the_hand_written_table(name, fmt, detected):
    path = FIXTURES / name
    assert detect_format(path) == detected
    ann = read_annotations(path, fmt)
    pd.testing.assert_frame_equal(ann.to_frame(), expected(name))
    # the format named explicitly reads the same
    explicit = read_annotations(path, fmt or detected)
    pd.testing.assert_frame_equal(explicit.to_frame(), expected(name))


def test_public_name_is_lazy_and_the_same_function():
    assert softlabels.read_annotations is read_annotations


def test_classes_and_duplicates_are_passed_on():
    path = FIXTURES / "label_studio.json"
    ann = read_annotations(path, classes=["Positive", "Neutral", "Negative"])
    assert ann.classes.tolist() == ["Positive", "Neutral", "Negative"]
    with pytest.raises(InputError, match="'Neutral'"):
        read_annotations(path, classes=["Positive", "Negative"])


def test_table_format_is_read_answers(tmp_path):
    path = FIXTURES / "label_studio.expected.csv"
    assert detect_format(path) == "table"
    pd.testing.assert_frame_equal(read_annotations(path).to_frame(), expected("label_studio"))
    renamed = pd.read_csv(path).rename(columns={"item": "task"})
    renamed.to_csv(tmp_path / "t.csv", index=False)
    got = read_annotations(tmp_path / "t.csv", item_col="task")
    pd.testing.assert_frame_equal(got.to_frame(), expected("label_studio"))


def test_answer_frame_gives_the_long_columns():
    frame = answer_frame(FIXTURES / "toloka_results.tsv", "toloka")
    assert list(frame.columns) == ["item", "worker", "label"]
    assert frame["label"].tolist() == ["cat", "dog", "dog"]  # the REJECTED row left out


def test_prodigy_field_picks_the_label_asked_about():
    finance = read_annotations(FIXTURES / "prodigy_binary.jsonl", "prodigy:FINANCE").to_frame()
    assert finance.values.tolist() == [[1002, "news-alice", "accept"]]


def test_mturk_field_picks_the_answer_column(tmp_path):
    text = (FIXTURES / "mturk_batch_results.csv").read_text()
    header, *rows = text.splitlines()
    # a second answer field: now the field must be named
    lines = [header + ',"Answer.comment"'] + [r + ',"ok"' for r in rows]
    path = tmp_path / "batch.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"several Answer\.\* fields \('sentiment\.label', "
                                         r"'comment'\); name one as format 'mturk:"):
        read_annotations(path)
    got = read_annotations(path, "mturk:sentiment.label").to_frame()
    pd.testing.assert_frame_equal(got, expected("mturk_batch_results"))
    assert set(read_annotations(path, "mturk:comment").classes) == {"ok"}


def test_label_studio_two_controls_need_the_field(tmp_path):
    tasks = json.loads((FIXTURES / "label_studio.json").read_text())
    tasks[0]["annotations"][0]["result"].append(
        {"from_name": "topic", "to_name": "text", "type": "choices",
         "value": {"choices": ["Food"]}})
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    with pytest.raises(InputError, match=r"several controls \('sentiment', 'topic'\)"):
        read_annotations(path)
    got = read_annotations(path, "label-studio:sentiment").to_frame()
    pd.testing.assert_frame_equal(got, expected("label_studio"))
    # topic is answered by one annotation only: the others are named
    with pytest.raises(InputError, match=r"task 1: the annotation by 2 does not answer 'topic'"):
        read_annotations(path, "label-studio:topic")


def test_unknown_format_lists_the_formats():
    with pytest.raises(InputError) as info:
        read_annotations(FIXTURES / "label_studio.json", "labelstudio")
    message = str(info.value)
    assert all(name in message for name in FORMATS)
    assert message.endswith("Did you mean 'label-studio'?")


def test_undetectable_file_lists_the_formats(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_text("not json\n")
    with pytest.raises(InputError, match="cannot tell the annotation format.*label-studio, "
                                         "mturk, toloka, prodigy, ground-truth"):
        read_annotations(path)
    (tmp_path / "a.xlsx").write_text("x")
    with pytest.raises(InputError, match="cannot tell the format from the extension '.xlsx'"):
        read_annotations(tmp_path / "a.xlsx")


def test_table_options_do_not_apply_to_tool_formats():
    with pytest.raises(InputError, match="sep=';' apply to the table format, not toloka"):
        read_annotations(FIXTURES / "toloka_results.tsv", "toloka", sep=";")


def _ls(tmp_path: Path, edit) -> Path:
    tasks = json.loads((FIXTURES / "label_studio.json").read_text())
    edit(tasks)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    return path


def _lines(tmp_path: Path, name: str, edit, suffix: str = ".jsonl") -> Path:
    records = [json.loads(line) for line in (FIXTURES / name).read_text().splitlines()]
    edit(records)
    path = tmp_path / f"export{suffix}"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _csv(tmp_path: Path, name: str, edit, sep: str = ",") -> Path:
    frame = pd.read_csv(FIXTURES / name, sep=sep, dtype=str, keep_default_na=False)
    frame = edit(frame)
    path = tmp_path / f"export{Path(name).suffix}"
    frame.to_csv(path, sep=sep, index=False)
    return path


def _set(obj, value):
    obj.clear()
    obj.update(value)


#: (name, format, writes the malformed export, the message's end after "<path>: ")
MALFORMED = [
    ("ls empty annotation list", "label-studio",
     lambda t: _ls(t, lambda x: x[1].update(annotations=[])),
     "task 2: has an empty annotation list."),
    ("ls annotation without result", "label-studio",
     lambda t: _ls(t, lambda x: x[0]["annotations"][1].update(result=[])),
     "task 1: the annotation by 2 has no choices or taxonomy result."),
    ("ls no annotator", "label-studio",
     lambda t: _ls(t, lambda x: x[2]["annotations"][0].pop("completed_by")),
     "task 3: has no annotator ('completed_by')."),
    ("ls result not a list", "label-studio",
     lambda t: _ls(t, lambda x: x[0]["annotations"][1].update(result=5)),
     "task 1: the annotation by 2 has a 'result' that is not a list."),
    ("ls annotator not an id", "label-studio",
     lambda t: _ls(t, lambda x: x[2]["annotations"][0].update(completed_by=[1, 2])),
     "task 3: the annotator ('completed_by') is [1, 2], not an id."),
    ("ls annotator object with a list for its email", "label-studio",
     lambda t: _ls(t, lambda x: x[2]["annotations"][0].update(completed_by={"email": ["a"]})),
     "task 3: the annotator ('completed_by') is ['a'], not an id."),
    ("ls task without id", "label-studio",
     lambda t: _ls(t, lambda x: x[1].pop("id")),
     "record 2: has no 'id'."),
    ("ls two choices", "label-studio",
     lambda t: _ls(t, lambda x: x[0]["annotations"][0]["result"][0]["value"].update(
         choices=["Positive", "Neutral"])),
     "task 1: selects 2 choices; each answer takes one label."),
    # JSON null, an object or a list as the choice: not the classes 'None' or "{'a': 1}"
    ("ls null choice", "label-studio",
     lambda t: _ls(t, lambda x: x[0]["annotations"][0]["result"][0]["value"].update(
         choices=[None])),
     "task 1: the label is None, not a class name."),
    ("ls object as the choice", "label-studio",
     lambda t: _ls(t, lambda x: x[0]["annotations"][0]["result"][0]["value"].update(
         choices=[{"a": 1}])),
     "task 1: the label is {'a': 1}, not a class name."),
    ("ls mixed with json-min", "label-studio",
     lambda t: _ls(t, lambda x: x.append({"id": 4, "annotator": 1, "sentiment": "Positive"})),
     "record 4: mixes the JSON export (tasks with 'annotations') with JSON-MIN records."),
    ("ls data item in some tasks only", "label-studio",
     lambda t: _ls(t, lambda x: x[0]["data"].update(item="review-1")),
     "task 2: has no data 'item' but task 1 has (mixed schemas)."),
    ("ls no tasks", "label-studio",
     lambda t: _ls(t, lambda x: x.clear()),
     "the export lists no tasks."),
    ("ls all cancelled", "label-studio",
     lambda t: _ls(t, lambda x: [a.update(was_cancelled=True) for task in x
                                 for a in task["annotations"]]),
     "the export holds no answers."),
    ("ls-min record without annotator", "label-studio:sentiment",
     lambda t: _ls(t, lambda x: _set_min(x)),
     "record 2: is neither a Label Studio task (with 'annotations') nor a JSON-MIN record "
     "(with 'id' and 'annotator')."),
    ("mturk no WorkerId", "mturk",
     lambda t: _csv(t, "mturk_batch_results.csv", lambda f: f.drop(columns="WorkerId")),
     "not a Mechanical Turk batch results export: no 'WorkerId' column."),
    ("mturk empty answer", "mturk",
     lambda t: _csv(t, "mturk_batch_results.csv",
                    lambda f: f.assign(**{"Answer.sentiment.label": ["Positive", "", "x", "y", "z"]})),
     "data row 2: 'Answer.sentiment.label' is empty."),
    ("mturk two radio buttons", "mturk",
     lambda t: _csv(t, "mturk_radio_buttons.csv",
                    lambda f: f.assign(**{"Answer.animal.dog": ["true", "true", "false"]})),
     "data row 1: 2 options of 'Answer.animal' are true; each answer takes one label."),
    ("mturk task answers not JSON", "mturk",
     lambda t: _csv(t, "mturk_task_answers.csv",
                    lambda f: f.assign(**{"Answer.taskAnswers": ["[{}]", "{oops", "[]"]})),
     "data row 2: 'Answer.taskAnswers' is not JSON."),
    ("mturk task answers radio group", "mturk",
     lambda t: _csv(t, "mturk_task_answers.csv", lambda f: f.assign(**{"Answer.taskAnswers": [
         '[{"animal": {"cat": true, "dog": false}}]', '[{"animal": {"cat": false, "dog": true}}]',
         '[{"animal": {"cat": false, "dog": false}}]']})),
     "data row 3: 0 options of 'Answer.animal' are true; each answer takes one label."),
    ("mturk task answers and the same answer column", "mturk:animal.label",
     lambda t: _csv(t, "mturk_task_answers.csv",
                    lambda f: f.assign(**{"Answer.animal.label": ["cat", "dog", "cat"]})),
     "'Answer.animal.label' is a column and an answer field of 'Answer.taskAnswers' too; "
     "keep one."),
    ("toloka empty output", "toloka",
     lambda t: _csv(t, "toloka_results.tsv",
                    lambda f: f.assign(**{"OUTPUT:result": ["cat", "dog", "cat", ""]}), "\t"),
     "data row 4: 'OUTPUT:result' is empty."),
    ("toloka blank output", "toloka",  # the export's row, not the answer's (one left out)
     lambda t: _csv(t, "toloka_results.tsv",
                    lambda f: f.assign(**{"OUTPUT:result": ["cat", "dog", "cat", " "]}), "\t"),
     "data row 4: 'OUTPUT:result' is empty."),
    ("mturk task answers null label", "mturk",  # JSON null is no answer, not "None"
     lambda t: _csv(t, "mturk_task_answers.csv", lambda f: f.assign(**{"Answer.taskAnswers": [
         '[{"animal": {"label": "cat"}}]', '[{"animal": {"label": null}}]',
         '[{"animal": {"label": "dog"}}]']})),
     "data row 2: 'Answer.animal.label' is empty."),
    ("toloka no OUTPUT column", "toloka",
     lambda t: _csv(t, "toloka_results.tsv", lambda f: f.drop(columns="OUTPUT:result"), "\t"),
     "no OUTPUT: field found."),
    ("prodigy mixed schemas", "prodigy",
     lambda t: _lines(t, "prodigy_choice.jsonl", lambda r: [r[1].pop("options")]),
     "line 2: is a binary task but line 1 is a choice task (mixed schemas)."),
    ("prodigy no input hash", "prodigy",
     lambda t: _lines(t, "prodigy_choice.jsonl", lambda r: r[2].pop("_input_hash")),
     "line 3: has no '_input_hash'."),
    ("prodigy two accepted options", "prodigy",
     lambda t: _lines(t, "prodigy_choice.jsonl", lambda r: r[0].update(accept=["POS", "NEU"])),
     "line 1: accepts 2 options; each answer takes one label."),
    ("prodigy null accepted option", "prodigy",
     lambda t: _lines(t, "prodigy_choice.jsonl", lambda r: r[0].update(accept=[None])),
     "line 1: the label is None, not a class name."),
    ("prodigy no annotator", "prodigy",
     lambda t: _lines(t, "prodigy_choice.jsonl",
                      lambda r: [r[4].pop("_annotator_id"), r[4].pop("_session_id")]),
     "line 5: has no '_annotator_id' or '_session_id'."),
    ("prodigy unknown answer", "prodigy",
     lambda t: _lines(t, "prodigy_choice.jsonl", lambda r: r[0].update(answer="maybe")),
     "line 1: the answer is 'maybe', not accept, reject or ignore."),
    ("ground truth no source", "ground-truth",
     lambda t: _lines(t, "ground_truth.manifest", lambda r: r[1].pop("source-ref"), ".manifest"),
     "line 2: has no 'source-ref' or 'source'."),
    ("ground truth no label attribute", "ground-truth",
     lambda t: _lines(t, "ground_truth.manifest",
                      lambda r: _set(r[2], {"source-ref": "s3://b/003.jpg"}), ".manifest"),
     "line 3: has no label attribute (a key K with a 'K-metadata' object)."),
    ("ground truth multi-label", "ground-truth",
     lambda t: _lines(t, "ground_truth.manifest", lambda r: r[0].update(animal=[0, 1]),
                      ".manifest"),
     "line 1: 'animal' is multi-label; each answer takes one label."),
    ("ground truth mixed per-worker and consolidated", "ground-truth",
     lambda t: _lines(t, "ground_truth_workers.manifest", lambda r: r.append(
         json.loads((FIXTURES / "ground_truth.manifest").read_text().splitlines()[0])),
         ".manifest"),
     "line 3: 'animal' holds consolidated labels but line 1 per-worker ones (mixed schemas); "
     "name one attribute as format 'ground-truth:ATTRIBUTE'."),
    ("ground truth empty worker list", "ground-truth",
     lambda t: _lines(t, "ground_truth_workers.manifest", lambda r: r[1]["dialog-labeling"].update(
         annotationsFromAllWorkers=[]), ".manifest"),
     "line 2: 'dialog-labeling' has an empty 'annotationsFromAllWorkers'."),
    ("ground truth worker without id", "ground-truth",
     lambda t: _lines(t, "ground_truth_workers.manifest", lambda r: r[0]["dialog-labeling"][
         "annotationsFromAllWorkers"][1].pop("workerId"), ".manifest"),
     "line 1: an answer of 'dialog-labeling' has no 'workerId'."),
    ("ground truth worker content with two fields", "ground-truth",
     lambda t: _lines(t, "ground_truth_workers.manifest", lambda r: r[1]["dialog-labeling"][
         "annotationsFromAllWorkers"][0]["annotationData"].update(
             content='{"a": "x", "b": "y"}'), ".manifest"),
     "line 2: the answers have several fields ('a', 'b'); name one as format "
     "'ground-truth:a'."),
    ("ground truth worker content with only an empty object", "ground-truth",
     lambda t: _lines(t, "ground_truth_workers.manifest", lambda r: r[1]["dialog-labeling"][
         "annotationsFromAllWorkers"][0]["annotationData"].update(
             content='{"response": {}}'), ".manifest"),
     "line 2: a worker's 'annotationData.content' holds no answer."),
    ("ground truth worker label null", "ground-truth",
     lambda t: _lines(t, "ground_truth_workers.manifest", lambda r: r[1]["dialog-labeling"][
         "annotationsFromAllWorkers"][0]["annotationData"].update(
             content='{"response": {"label": null}}'), ".manifest"),
     "line 2: a worker's answer has no 'response.label'."),
    ("ground truth class map not an object", "ground-truth",
     lambda t: _lines(t, "ground_truth.manifest", lambda r: r[0]["animal-audit-metadata"].update(
         {"class-map": ["cat", "dog"]}), ".manifest"),
     "line 1: 'animal-audit' has a 'class-map' that is not an object."),
    ("ground truth annotation data not an object", "ground-truth",
     lambda t: _lines(t, "ground_truth_workers.manifest", lambda r: r[1]["dialog-labeling"][
         "annotationsFromAllWorkers"][0].update(annotationData="x"), ".manifest"),
     "line 2: an answer of 'dialog-labeling' has an 'annotationData' that is not an object."),
    ("ground truth class name an object", "ground-truth",
     lambda t: _lines(t, "ground_truth.manifest", lambda r: r[2]["animal-metadata"].update(
         {"class-name": {"en": "dog"}}), ".manifest"),
     "line 3: the label is {'en': 'dog'}, not a class name."),
    ("ground truth no class name", "ground-truth",
     lambda t: _lines(t, "ground_truth.manifest",
                      lambda r: r[2]["animal-metadata"].pop("class-name"), ".manifest"),
     "line 3: 'animal' has no 'class-name' (nor a 'class-map' entry for 1) in its metadata."),
]


def _set_min(tasks: list) -> None:
    records = json.loads((FIXTURES / "label_studio_min.json").read_text())
    records[1].pop("annotator")
    tasks[:] = records


@pytest.mark.parametrize("case", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_export_is_one_line_naming_the_place(tmp_path, case):
    _, fmt, write, message = case
    path = write(tmp_path)
    with pytest.raises(InputError) as info:
        read_annotations(path, fmt)
    assert str(info.value) == f"{path}: {message}"
    assert "\n" not in str(info.value)


def test_malformed_exports_are_detected_as_their_format(tmp_path):
    """Detection does not depend on the export being well-formed."""
    for _, fmt, write, _ in MALFORMED:
        name = fmt.partition(":")[0]
        if name == "mturk" or name == "toloka":
            continue  # detected from the header that a malformed export may lack
        path = write(tmp_path)
        if path.read_text().strip() not in ("[]",):
            assert detect_format(path) == name, path


def test_ground_truth_field_names_the_workers_answer(tmp_path):
    path = _lines(tmp_path, "ground_truth_workers.manifest", lambda r: [
        w["annotationData"].update(content=json.dumps(
            {"response": json.loads(w["annotationData"]["content"])["response"],
             "comment": "ok"}))
        for rec in r for w in rec["dialog-labeling"]["annotationsFromAllWorkers"]], ".manifest")
    got = read_annotations(path).to_frame()  # the one '.label' field is the label
    pd.testing.assert_frame_equal(got, expected("ground_truth_workers"))
    comments = read_annotations(path, "ground-truth:comment").to_frame()
    assert set(comments["label"]) == {"ok"} and len(comments) == 5
    with pytest.raises(InputError, match="line 1: a worker's answer has no 'nope'."):
        read_annotations(path, "ground-truth:nope")


def test_ground_truth_field_picks_the_attribute():
    got = read_annotations(FIXTURES / "ground_truth.manifest", "ground-truth:animal-audit")
    assert got.to_frame().values.tolist() == [
        ["s3://reviews-bucket/images/001.jpg", "animal-audit", "cat"],
        ["s3://reviews-bucket/images/002.jpg", "animal-audit", "cat"]]
    with pytest.raises(InputError, match=r"no label attribute named 'animals'; the manifest "
                                         r"has 'animal', 'animal-audit'\.$"):
        read_annotations(FIXTURES / "ground_truth.manifest", "ground-truth:animals")


@pytest.mark.parametrize("name, fmt", [
    ("label_studio.json", None), ("label_studio.json", "label-studio"),
    ("prodigy_choice.jsonl", "prodigy"), ("toloka_results.tsv", "toloka"),
    ("mturk_batch_results.csv", None),
])
def test_utf16_given_for_a_file_without_a_byte_order_mark(name, fmt):
    # UTF-16 without a byte-order mark is a UnicodeError, not a UnicodeDecodeError
    with pytest.raises(InputError, match=rf"{name}: .*UTF-16 stream does not start with BOM"):
        read_annotations(FIXTURES / name, fmt, encoding="utf-16")


@pytest.mark.parametrize("name", ["label_studio.json", "prodigy_choice.jsonl",
                                  "toloka_results.tsv", "mturk_batch_results.csv"])
def test_utf16_export_read_as_utf8_names_its_encoding(tmp_path, name):
    # detection read the text with replaced bytes and said 'cannot tell the format'
    path = tmp_path / name
    path.write_bytes((FIXTURES / name).read_text().encode("utf-16"))
    with pytest.raises(InputError, match=rf"{name}: is UTF-16 text \(it starts with a UTF-16 "
                                         r"byte-order mark\), not UTF-8"):
        read_annotations(path)
    pd.testing.assert_frame_equal(read_annotations(path, encoding="utf-16").to_frame(),
                                  expected(name))


@pytest.mark.parametrize("name", ["toloka_results.tsv", "label_studio.json", "prodigy_choice.jsonl"])
def test_byte_order_mark_is_read_through(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / name).read_bytes())
    pd.testing.assert_frame_equal(read_annotations(path).to_frame(), expected(name))


@pytest.mark.parametrize("taskanswers", [False, True])
def test_mturk_yes_no_classifier_is_not_a_radio_group(tmp_path, taskanswers):
    """A crowd-classifier whose categories are Yes and No writes one column
    ``Answer.<name>.label`` of yes/no text: the labels, not the options of a radio group
    (which has one true/false column per option)."""
    labels = ["Yes", "No", "No"]
    if taskanswers:
        cells = ['"[{""offensive"":{""label"":""%s""}}]"' % v for v in labels]
        column = "Answer.taskAnswers"
    else:
        cells = [f'"{v}"' for v in labels]
        column = "Answer.offensive.label"
    rows = [f'"H1","W{r}","Approved",{c}' for r, c in enumerate(cells)]
    path = tmp_path / "batch.csv"
    path.write_text("\n".join([f'"HITId","WorkerId","AssignmentStatus","{column}"'] + rows)
                    + "\n")
    got = read_annotations(path).to_frame()
    assert got["label"].tolist() == labels
    assert got["worker"].tolist() == ["W0", "W1", "W2"]
