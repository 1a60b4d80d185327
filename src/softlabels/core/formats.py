"""Exports of annotation tools read into the long answer table (``item, worker, label``).

:func:`read_annotations` reads a file in one of the formats below into
:class:`~softlabels.core.annotations.Annotations`. A format may name the field that
holds the labels after a colon (``"mturk:sentiment"``); that is needed only when an
export holds several. Without ``format`` the format is detected from the extension and
the first record; when that is not unambiguous the error lists the formats.

Only the fields named here are read; everything else in an export is ignored.

``table``
    The long table itself (CSV, TSV, Parquet, JSON lines with ``item, worker, label``),
    read by :func:`~softlabels.core.annotations.read_answers`.
``label-studio``
    Label Studio's JSON export (``.json``): a list of tasks ``{"id", "data",
    "annotations": [{"completed_by", "was_cancelled", "result": [{"from_name", "type",
    "value"}]}]}``. item: the task ``id``, or ``data.item`` when the tasks have one
    (the review tasks of :mod:`softlabels.core.review`); worker: ``completed_by`` (an
    id, or an object whose ``email``, else ``id``, is used); label:
    ``value["choices"]`` (exactly one choice) or ``value["taxonomy"]`` (exactly one
    path, its levels joined by ``/``) of the result whose ``from_name`` is the field
    (needed when several ``choices`` or ``taxonomy`` controls answer). Cancelled
    (skipped) annotations and ``predictions`` are not answers.
    Also Label Studio's JSON-MIN export: a list of records, one per annotation, ``{"id",
    "annotator", <task data>, <from_name>: "choice" | {"choices": [..]} | {"taxonomy":
    [[..]]}}`` (item: ``id``, or ``item`` when every record has one). Task data and
    single choices are both plain strings, so the field must be named
    (``label-studio:sentiment``) unless exactly one key holds a ``choices`` or
    ``taxonomy`` object.
``mturk``
    Amazon Mechanical Turk batch results (``.csv``): item: ``HITId``; worker:
    ``WorkerId``; label: the ``Answer.<field>`` column, or the one ``true`` column of a
    radio-button group ``Answer.<field>.<option>`` (two options or more; the label is
    the option). The JSON
    column ``Answer.taskAnswers`` of crowd HTML elements (``[{"sentiment": {"label":
    "Positive"}}]``) is read as those columns (``Answer.sentiment.label``). Rows whose
    ``AssignmentStatus`` is ``Rejected`` are left out; ``Input.*`` columns are ignored.
``toloka``
    Toloka results (``.tsv``): item: ``ASSIGNMENT:task_id``; worker:
    ``ASSIGNMENT:worker_id``; label: the ``OUTPUT:<field>`` column. Rows whose
    ``ASSIGNMENT:status`` is ``REJECTED``, ``SKIPPED`` or ``EXPIRED`` are left out.
``prodigy``
    Prodigy's JSONL export (``prodigy db-out``): item: ``_input_hash``; worker:
    ``_annotator_id``, else ``_session_id``. A choice task (with ``options``) answered
    ``accept`` has exactly one option id in ``accept``: that is the label. A binary task
    (a ``label``, no ``options``) has the label ``accept`` or ``reject`` (the answer);
    when several labels are asked about, the field names the one to read
    (``prodigy:SPORTS``). ``ignore`` answers, and ``reject`` of a choice task, are left
    out. Choice and binary tasks in one file are an error.
``ground-truth``
    SageMaker Ground Truth output manifests (JSON lines): item: ``source-ref`` (or
    ``source``); each label attribute (a key ``K`` with an object ``K-metadata``) is one
    worker, named ``K`` (one labelling job; chained or repeated jobs give several answers
    per item); label: ``class-name`` of the metadata, else the attribute's value looked up
    in the metadata's ``class-map``. Multi-label attributes (a list of classes) are an
    error. The field names the attribute to read. A custom job whose consolidation passes
    every answer through writes ``{K: {"annotationsFromAllWorkers": [{"workerId",
    "annotationData": {"content": "<JSON object>"}}]}}``: each entry is one answer by its
    ``workerId``, the label the content's only field, else its only ``label`` field
    (``{"response": {"label": "A"}}``), else the field named
    (``ground-truth:response.label``). Consolidated and per-worker attributes in one
    manifest are an error.
``hf``
    A Hugging Face :class:`datasets.Dataset` (or a folder written by its
    ``save_to_disk``; needs ``pip install 'softlabels[hf]'``), its columns named by
    ``item_col``, ``worker_col`` and ``label_col``. One row per answer (a label per row,
    a worker column), or one row per item with a list of votes in the label column and,
    optionally, the list of their workers in the worker column; without a worker column
    the ``i``-th vote of every row is by worker ``i`` (votes stored in a fixed order of
    annotators). Without an item column the row number is the item. (Only the default
    names, ``item`` and ``worker``, may be absent; a column named otherwise must be
    there.) A ``ClassLabel``
    label feature gives the class names, in their declared order.

Bad or partial exports (missing fields, mixed schemas, empty annotation lists) raise
:class:`~softlabels.core.errors.InputError` naming the file and the task, line or row.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from softlabels.core.annotations import Annotations, DuplicatePolicy, read_answers
from softlabels.core.errors import InputError
from softlabels.core.io import (atomic_folder, check_byte_order_mark, check_encoding,
                                 check_readable)
from softlabels.core.validation import suggest

__all__ = ["FORMATS", "answer_frame", "detect_format", "read_annotations", "to_hf_dataset",
           "from_hf_dataset", "save_hf_dataset"]

#: One answer: (item, worker, label).
Answer = tuple[Any, Any, Any]


class _Answers:
    """Collects answers; ``where`` prefixes every error with the file name."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self.rows: list[Answer] = []

    def error(self, where: str, message: str) -> InputError:
        return InputError(f"{self.path}: {where}: {message}")

    def frame(self) -> pd.DataFrame:
        if not self.rows:
            raise InputError(f"{self.path}: the export holds no answers.")
        item, worker, label = zip(*self.rows)
        return pd.DataFrame({"item": _ids(item), "worker": _ids(worker), "label": _ids(label)})


def _ids(values: Sequence[Any]) -> list[Any]:
    """Integers stay integers when all are (as the long table reads them); else text."""
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return list(values)
    return [str(v) for v in values]


def _split_format(fmt: str) -> tuple[str, str | None]:
    name, _, field = fmt.partition(":")
    name = name.strip().lower()
    if name not in FORMATS:
        raise InputError(
            f"unknown annotation format {fmt!r}; use one of {', '.join(FORMATS)}."
            + suggest(name, list(FORMATS))
        )
    field = field.strip() or None
    if field is not None and name in ("table", "hf"):
        raise InputError(f"the {name} format takes its columns as item_col, worker_col and "
                         f"label_col, not {fmt!r}.")
    return name, field


def _text(path: str | os.PathLike[str], encoding: str | None) -> str:
    p = check_readable(path)
    try:
        text = p.read_text(encoding=check_encoding(encoding))
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not {err.encoding} text at byte {err.start}; "
                         "give the encoding.") from None
    except UnicodeError as err:  # e.g. UTF-16 without a byte-order mark
        raise InputError(f"{path}: not {encoding} text ({err}); give the encoding.") from None
    if not text.strip():
        raise InputError(f"{path}: the file has no data.")
    return text.removeprefix("\ufeff")  # a byte-order mark some tools write


def _json_lines(path: str | os.PathLike[str], encoding: str | None) -> Iterator[tuple[int, Any]]:
    for n, line in enumerate(_text(path, encoding).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{path}: line {n}: not JSON ({err.msg}).") from None


def _records(path: str | os.PathLike[str], encoding: str | None) -> list[Any]:
    try:
        data = json.loads(_text(path, encoding))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not JSON ({err.msg}, line {err.lineno}).") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of tasks.")
    return data


def _columns(path: str | os.PathLike[str], sep: str, encoding: str | None) -> pd.DataFrame:
    """A CSV or TSV export with every cell as written (text; an empty cell is "")."""
    p = check_readable(path)
    try:
        frame = pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False,
                            encoding=check_encoding(encoding))
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file has no data.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"{path}: cannot be parsed ({msg}).") from None
    return frame.rename(columns=lambda c: str(c).removeprefix("\ufeff"))


def _need(record: Any, key: str, out: _Answers, where: str) -> Any:
    if not isinstance(record, dict):
        raise out.error(where, f"expected a JSON object, got {type(record).__name__}.")
    value = record.get(key)
    if value is None or value == "":
        raise out.error(where, f"has no {key!r}.")
    return value


def _pick_field(candidates: Sequence[str], field: str | None, fmt: str, what: str,
                out: _Answers) -> str:
    """The one field that holds labels: ``field`` when given, else the only candidate."""
    if field is not None:
        if field not in candidates:
            raise InputError(f"{out.path}: no {what} named {field!r}; the export has "
                             f"{', '.join(map(repr, candidates)) or 'none'}.")
        return field
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InputError(f"{out.path}: no {what} found.")
    raise InputError(
        f"{out.path}: several {what}s ({', '.join(map(repr, candidates))}); name one as "
        f"format '{fmt}:{candidates[0]}'."
    )


# --- Label Studio -----------------------------------------------------------------

_LS_META = {"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time",
            "agreement", "drafts", "predictions", "total_annotations", "cancelled_annotations",
            "total_predictions", "comment_count", "unresolved_comment_count",
            "last_comment_updated_at", "project", "updated_by", "comment_authors"}


def _class(value: Any, out: _Answers, where: str) -> Any:
    """A label as the export gives it: text or a number; JSON null, a boolean, a list
    or an object is not a class (it would become the class 'None' or its repr)."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    raise out.error(where, f"the label is {value!r}, not a class name.")


def _ls_value(value: Any, out: _Answers, where: str) -> Any:
    """The label of a ``choices``/``taxonomy`` value: exactly one choice or path."""
    if isinstance(value, dict):
        if "choices" in value:
            chosen = value["choices"]
            if not isinstance(chosen, list) or len(chosen) != 1:
                n = len(chosen) if isinstance(chosen, list) else "no"
                raise out.error(where, f"selects {n} choices; each answer takes one label.")
            return _class(chosen[0], out, where)
        if "taxonomy" in value:
            paths = value["taxonomy"]
            if not isinstance(paths, list) or len(paths) != 1 or not isinstance(paths[0], list) \
                    or not paths[0]:
                raise out.error(where, "selects no or several taxonomy paths; each answer "
                                "takes one label.")
            return "/".join(str(_class(level, out, where)) for level in paths[0])
        raise out.error(where, "the result value has no 'choices' or 'taxonomy'.")
    if isinstance(value, str) and value:
        return value
    raise out.error(where, f"the label is {value!r}, not a choice.")


def _ls_worker(who: Any, out: _Answers, where: str) -> Any:
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    if who is None or who == "":
        raise out.error(where, "has no annotator ('completed_by').")
    if isinstance(who, (list, dict)):
        raise out.error(where, f"the annotator ('completed_by') is {who!r}, not an id.")
    return who


def _read_label_studio(path: str | os.PathLike[str], field: str | None,
                       encoding: str | None) -> pd.DataFrame:
    out = _Answers(path)
    tasks = _records(path, encoding)
    if not tasks:
        raise InputError(f"{path}: the export lists no tasks.")
    full = [isinstance(t, dict) and "annotations" in t for t in tasks]
    if any(full) and not all(full):
        n = full.index(not full[0])
        raise out.error(f"record {n + 1}", "mixes the JSON export (tasks with 'annotations') "
                        "with JSON-MIN records.")
    if not full[0]:
        return _read_label_studio_min(tasks, field, out)
    found: list[tuple[Any, Any, dict[str, Any], str]] = []
    first = tasks[0].get("data") if isinstance(tasks[0], dict) else None
    by_data = isinstance(first, dict) and "item" in first  # review tasks softlabels wrote
    for n, task in enumerate(tasks, start=1):
        task_id = _need(task, "id", out, f"record {n}")
        where = f"task {task_id}"
        item = task_id
        if by_data:
            data = task.get("data")
            if not isinstance(data, dict) or data.get("item") is None:
                raise out.error(where, f"has no data 'item' but task {tasks[0].get('id')} "
                                "has (mixed schemas).")
            item = data["item"]
        annotations = task["annotations"]
        if not isinstance(annotations, list) or not annotations:
            raise out.error(where, "has an empty annotation list.")
        for ann in annotations:
            if not isinstance(ann, dict):
                raise out.error(where, "an annotation is not a JSON object.")
            if ann.get("was_cancelled"):
                continue
            worker = _ls_worker(ann.get("completed_by"), out, where)
            result = ann.get("result") or []
            if not isinstance(result, list):
                raise out.error(where, f"the annotation by {worker} has a 'result' that is not "
                                "a list.")
            results = [r for r in result if isinstance(r, dict)
                       and r.get("type") in ("choices", "taxonomy")]
            if not results:
                raise out.error(where, f"the annotation by {worker} has no choices or "
                                "taxonomy result.")
            for r in results:
                found.append((item, worker, r, where))
    if not found:  # every annotation cancelled
        return out.frame()
    names = list(dict.fromkeys(str(r.get("from_name")) for _, _, r, _ in found))
    name = _pick_field(names, field, "label-studio", "control", out)
    answered: set[tuple[str, Any]] = set()
    for item, worker, r, where in found:
        if str(r.get("from_name")) == name:
            out.rows.append((item, worker, _ls_value(r.get("value"), out, where)))
            answered.add((where, worker))
    missing = [(where, w) for _, w, _, where in found if (where, w) not in answered]
    if missing:
        raise out.error(missing[0][0], f"the annotation by {missing[0][1]} does not answer "
                        f"{name!r}.")
    return out.frame()


def _read_label_studio_min(records: list[Any], field: str | None,
                           out: _Answers) -> pd.DataFrame:
    for n, rec in enumerate(records, start=1):
        if not isinstance(rec, dict) or "annotator" not in rec or "id" not in rec:
            raise out.error(f"record {n}", "is neither a Label Studio task (with "
                            "'annotations') nor a JSON-MIN record (with 'id' and 'annotator').")
    by_data = all(rec.get("item") is not None for rec in records)  # review tasks
    keys = list(dict.fromkeys(k for rec in records for k in rec
                              if k not in _LS_META and not (by_data and k == "item")))
    structured = [k for k in keys if any(isinstance(rec.get(k), dict) and
                                         {"choices", "taxonomy"} & set(rec[k]) for rec in records)]
    if field is None and len(structured) != 1:
        raise InputError(
            f"{out.path}: a JSON-MIN export does not say which key holds the labels; name "
            f"it as format 'label-studio:KEY' with KEY one of {', '.join(map(repr, keys))}."
        )
    name = _pick_field(keys, field or structured[0], "label-studio", "key", out)
    for rec in records:
        where = f"task {rec['id']}"
        if rec.get(name) is None:
            raise out.error(where, f"the record by {rec['annotator']} has no {name!r}.")
        worker = _ls_worker(rec["annotator"], out, where)
        item = rec["item"] if by_data else rec["id"]
        out.rows.append((item, worker, _ls_value(rec[name], out, where)))
    return out.frame()


# --- Amazon Mechanical Turk and Toloka ---------------------------------------------

_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no", ""}


def _check_columns(frame: pd.DataFrame, required: Sequence[str], out: _Answers,
                   fmt: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(f"{out.path}: not a {fmt} export: no {', '.join(map(repr, missing))} "
                         "column.")


def _cell(frame: pd.DataFrame, col: str, r: int, out: _Answers) -> str:
    value = frame[col].iat[r]
    if not value.strip():  # blank: missing, named here by the export's own row
        raise out.error(f"data row {r + 1}", f"{col!r} is empty.")
    return value


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested answers as ``field.subfield`` keys, values as the CSV writes them."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        elif value is None:  # no answer: an empty cell, as the CSV writes it
            flat[f"{prefix}{key}"] = ""
        else:
            flat[f"{prefix}{key}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return flat


def _task_answers(frame: pd.DataFrame, out: _Answers) -> pd.DataFrame:
    """The JSON column ``Answer.taskAnswers`` (crowd HTML elements) as ``Answer.*``
    columns, one per answer field (``Answer.sentiment.label``)."""
    rows = []
    for r, text in enumerate(frame["Answer.taskAnswers"]):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise out.error(f"data row {r + 1}", "'Answer.taskAnswers' is not JSON.") from None
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        if not isinstance(data, dict):
            raise out.error(f"data row {r + 1}", "'Answer.taskAnswers' is not one JSON object.")
        rows.append({f"Answer.{k}": v for k, v in _flat(data).items()})
    answers = pd.DataFrame(rows, index=frame.index, dtype=object).fillna("")
    both = [c for c in answers.columns if c in frame.columns]
    if both:
        raise InputError(f"{out.path}: {both[0]!r} is a column and an answer field of "
                         "'Answer.taskAnswers' too; keep one.")
    return pd.concat([frame.drop(columns="Answer.taskAnswers"), answers], axis=1)


def _read_mturk(path: str | os.PathLike[str], field: str | None,
                encoding: str | None) -> pd.DataFrame:
    out = _Answers(path)
    frame = _columns(path, ",", encoding)
    _check_columns(frame, ["HITId", "WorkerId"], out, "Mechanical Turk batch results")
    if "Answer.taskAnswers" in frame.columns:
        frame = _task_answers(frame, out)
    answers = [c.removeprefix("Answer.") for c in frame.columns if c.startswith("Answer.")]
    # a radio-button group Answer.<field>.<option>: one column per option, two at least
    # (a single yes/no column, such as a Yes/No classifier's .label, holds the labels)
    groups: dict[str, list[str]] = {}
    for a in answers:
        head, dot, option = a.rpartition(".")
        if dot and all(v.strip().lower() in _TRUE | _FALSE for v in frame[f"Answer.{a}"]):
            groups.setdefault(head, []).append(option)
    groups = {head: options for head, options in groups.items() if len(options) > 1}
    singles = [a for a in answers if not any(a == f"{g}.{o}" for g, opts in groups.items()
                                             for o in opts)]
    name = _pick_field(singles + list(groups), field, "mturk", "Answer.* field", out)
    status = frame["AssignmentStatus"] if "AssignmentStatus" in frame.columns else None
    for r in range(len(frame)):
        if status is not None and status.iat[r].strip().lower() == "rejected":
            continue
        item, worker = _cell(frame, "HITId", r, out), _cell(frame, "WorkerId", r, out)
        if name in groups:
            chosen = [o for o in groups[name]
                      if frame[f"Answer.{name}.{o}"].iat[r].strip().lower() in _TRUE]
            if len(chosen) != 1:
                raise out.error(f"data row {r + 1}", f"{len(chosen)} options of "
                                f"'Answer.{name}' are true; each answer takes one label.")
            label = chosen[0]
        else:
            label = _cell(frame, f"Answer.{name}", r, out)
        out.rows.append((item, worker, label))
    return out.frame()


def _read_toloka(path: str | os.PathLike[str], field: str | None,
                 encoding: str | None) -> pd.DataFrame:
    out = _Answers(path)
    frame = _columns(path, "\t", encoding)
    _check_columns(frame, ["ASSIGNMENT:task_id", "ASSIGNMENT:worker_id"], out,
                   "Toloka results")
    outputs = [c.removeprefix("OUTPUT:") for c in frame.columns if c.startswith("OUTPUT:")]
    name = _pick_field(outputs, field, "toloka", "OUTPUT: field", out)
    status = frame.get("ASSIGNMENT:status")
    for r in range(len(frame)):
        if status is not None and status.iat[r].strip().upper() in ("REJECTED", "SKIPPED",
                                                                     "EXPIRED"):
            continue
        out.rows.append((_cell(frame, "ASSIGNMENT:task_id", r, out),
                         _cell(frame, "ASSIGNMENT:worker_id", r, out),
                         _cell(frame, f"OUTPUT:{name}", r, out)))
    return out.frame()


# --- Prodigy -----------------------------------------------------------------------

def _read_prodigy(path: str | os.PathLike[str], field: str | None,
                  encoding: str | None) -> pd.DataFrame:
    out = _Answers(path)
    kind: tuple[str, int] | None = None  # ("choice" or "binary", first line)
    binary: list[tuple[int, Any, Any, Any, str]] = []
    for n, rec in _json_lines(path, encoding):
        where = f"line {n}"
        item = _need(rec, "_input_hash", out, where)
        answer = _need(rec, "answer", out, where)
        if answer not in ("accept", "reject", "ignore"):
            raise out.error(where, f"the answer is {answer!r}, not accept, reject or ignore.")
        worker = rec.get("_annotator_id") or rec.get("_session_id")
        if worker is None:
            raise out.error(where, "has no '_annotator_id' or '_session_id'.")
        this = "choice" if "options" in rec else "binary"
        if kind is None:
            kind = (this, n)
        elif kind[0] != this:
            raise out.error(where, f"is a {this} task but line {kind[1]} is a {kind[0]} task "
                            "(mixed schemas).")
        if this == "binary":
            binary.append((n, item, worker, _need(rec, "label", out, where), answer))
        elif answer == "accept":
            accepted = rec.get("accept")
            if not isinstance(accepted, list) or len(accepted) != 1:
                k = len(accepted) if isinstance(accepted, list) else "no"
                raise out.error(where, f"accepts {k} options; each answer takes one label.")
            out.rows.append((item, worker, _class(accepted[0], out, where)))
    if binary:
        labels = list(dict.fromkeys(str(b[3]) for b in binary))
        name = _pick_field(labels, field, "prodigy", "label", out)
        out.rows.extend((item, worker, answer) for _, item, worker, label, answer in binary
                        if str(label) == name and answer != "ignore")
    elif field is not None:
        raise InputError(f"{path}: the field {field!r} names a label of binary tasks; "
                         "these are choice tasks.")
    return out.frame()


# --- SageMaker Ground Truth --------------------------------------------------------

def _worker_label(content: Any, field: str | None, out: _Answers, where: str) -> Any:
    """The label in one worker's ``annotationData.content`` (a JSON object as text):
    its only field, else its only ``*.label`` field, else the field named."""
    try:
        data = json.loads(content) if isinstance(content, str) else content
    except json.JSONDecodeError:
        raise out.error(where, "a worker's 'annotationData.content' is not JSON.") from None
    flat = _flat(data) if isinstance(data, dict) else {}
    if not flat:  # not an object, or only empty objects
        raise out.error(where, "a worker's 'annotationData.content' holds no answer.")
    if field is None:
        keys = list(flat)
        labels = [k for k in keys if k == "label" or k.endswith(".label")]
        if len(keys) != 1 and len(labels) != 1:
            raise out.error(where, f"the answers have several fields "
                            f"({', '.join(map(repr, keys))}); name one as format "
                            f"'ground-truth:{keys[0]}'.")
        field = keys[0] if len(keys) == 1 else labels[0]
    if field not in flat or flat[field] == "":
        raise out.error(where, f"a worker's answer has no {field!r}.")
    return flat[field]


def _read_ground_truth(path: str | os.PathLike[str], field: str | None,
                       encoding: str | None) -> pd.DataFrame:
    out = _Answers(path)
    records = list(_json_lines(path, encoding))
    names = {k for _, rec in records if isinstance(rec, dict) for k in rec
             if isinstance(rec.get(f"{k}-metadata"), dict)}
    attribute = field if field in names else None  # else the field is of workers' answers
    kinds: dict[str, int] = {}  # "consolidated" or "per-worker": the first line of each
    for n, rec in records:
        where = f"line {n}"
        if not isinstance(rec, dict):
            raise out.error(where, "expected a JSON object.")
        item = rec.get("source-ref", rec.get("source"))
        if item is None or item == "":
            raise out.error(where, "has no 'source-ref' or 'source'.")
        attributes = [k for k in rec if isinstance(rec.get(f"{k}-metadata"), dict)]
        if not attributes:
            raise out.error(where, "has no label attribute (a key K with a 'K-metadata' "
                            "object).")
        for k in attributes if attribute is None else [a for a in attributes if a == attribute]:
            value = rec[k]
            workers = value.get("annotationsFromAllWorkers") if isinstance(value, dict) else None
            kind = "per-worker" if workers is not None else "consolidated"
            kinds.setdefault(kind, n)
            if len(kinds) > 1:
                other = next(k for k in kinds if k != kind)
                raise out.error(where, f"{k!r} holds {kind} labels but line {kinds[other]} "
                                f"{other} ones (mixed schemas); name one attribute as format "
                                "'ground-truth:ATTRIBUTE'.")
            if workers is not None:
                if not isinstance(workers, list) or not workers:
                    raise out.error(where, f"{k!r} has an empty 'annotationsFromAllWorkers'.")
                for w in workers:
                    who = w.get("workerId") if isinstance(w, dict) else None
                    if not who:
                        raise out.error(where, f"an answer of {k!r} has no 'workerId'.")
                    data = w.get("annotationData") or {}
                    if not isinstance(data, dict):
                        raise out.error(where, f"an answer of {k!r} has an 'annotationData' "
                                        "that is not an object.")
                    content = data.get("content")
                    out.rows.append((item, who, _worker_label(content, field if attribute
                                                              is None else None, out, where)))
                continue
            if field is not None and attribute is None:
                raise InputError(f"{path}: no label attribute named {field!r}; the manifest "
                                 f"has {', '.join(map(repr, sorted(names)))}.")
            meta = rec[f"{k}-metadata"]
            if isinstance(value, list) or isinstance(meta.get("class-name"), list):
                raise out.error(where, f"{k!r} is multi-label; each answer takes one label.")
            label = meta.get("class-name")
            if label is None:
                class_map = meta.get("class-map") or {}
                if not isinstance(class_map, dict):
                    raise out.error(where, f"{k!r} has a 'class-map' that is not an object.")
                label = class_map.get(str(value))
            if label is None or label == "":
                raise out.error(where, f"{k!r} has no 'class-name' (nor a 'class-map' entry "
                                f"for {value!r}) in its metadata.")
            out.rows.append((item, k, _class(label, out, where)))
    return out.frame()


# --- Hugging Face datasets ---------------------------------------------------------

def _is_dataset(source: Any) -> bool:
    return type(source).__name__ == "Dataset" and type(source).__module__.startswith("datasets")


def _saved_dataset(source: Any) -> bool:
    """A folder written by ``datasets.Dataset.save_to_disk``."""
    if not isinstance(source, (str, os.PathLike)):
        return False
    try:
        return (Path(source) / "dataset_info.json").is_file()
    except OSError:  # e.g. a name too long: the file's own check says so
        return False


def _load_dataset(source: Any) -> Any:
    if _is_dataset(source):
        return source
    from softlabels._optional import require

    try:
        datasets = require("datasets", "hf")
    except ImportError as err:
        raise InputError(str(err)) from None
    p = check_readable(source) if not Path(source).is_dir() else Path(source)
    try:
        ds = datasets.load_from_disk(str(p))
    except Exception as err:  # datasets raises several types for a folder it cannot read
        raise InputError(f"{source}: not a saved Hugging Face dataset ({err}).") from None
    if not _is_dataset(ds):
        raise InputError(f"{source}: holds several splits ({', '.join(ds)}); give one "
                         "as a datasets.Dataset.")
    try:  # the files are mapped as they are: damaged offsets or text fail here, not later
        ds.data.validate(full=True)
    except Exception as err:  # pyarrow raises several types for damaged data
        raise InputError(f"{source}: not a readable saved dataset ({err}).") from None
    return ds


def _no_column(ds: Any, role: str, name: str, where: str) -> InputError:
    """The error for a column of a dataset that is not there, with the columns there."""
    return InputError(f"{where}: no {role} column {name!r}; the columns are "
                      f"{', '.join(map(repr, ds.column_names))}." + suggest(name, ds.column_names))


def _class_names(feature: Any) -> list[str] | None:
    inner = getattr(feature, "feature", feature)  # the items of a List/Sequence feature
    names = getattr(inner, "names", None)
    return list(names) if names is not None else None


def _read_hf(source: Any, item_col: str, worker_col: str, label_col: str,
             ) -> tuple[pd.DataFrame, list[str] | None]:
    ds = _load_dataset(source)
    where = "the dataset" if _is_dataset(source) else str(source)
    out = _Answers(where)
    for role, name, default in (("label", label_col, None), ("item", item_col, "item"),
                                ("worker", worker_col, "worker")):
        if name != default and name not in ds.column_names:  # only a default may lack
            raise _no_column(ds, role, name, where)
    if len(ds) == 0:
        raise InputError(f"{where}: the dataset has no rows.")
    columns = [c for c in (item_col, worker_col, label_col) if c in ds.column_names]
    data = ds.select_columns(columns).to_dict()
    names = _class_names(ds.features[label_col])
    labels = data[label_col]
    items = data.get(item_col, list(range(len(ds))))
    workers = data.get(worker_col)
    votes = isinstance(labels[0], list)

    def named(label: Any, row: str) -> Any:
        """A ClassLabel's integer as its class name (-1, ClassLabel's missing value, is
        an error)."""
        if names is None:
            return label
        if not 0 <= label < len(names):
            raise out.error(row, f"the class index {label} is not one of the {len(names)} "
                            f"classes of {label_col!r}.")
        return names[label]
    for r, (item, label) in enumerate(zip(items, labels)):
        row = f"row {r}"
        if item is None:
            raise out.error(row, f"the item {item_col!r} is empty.")
        if isinstance(label, list) != votes:
            raise out.error(row, f"{label_col!r} is {'not ' if votes else ''}a list of votes, "
                            "unlike row 0 (mixed schemas).")
        who = workers[r] if workers is not None else None
        if not votes:
            if workers is None:
                raise InputError(f"{where}: one answer per row needs a worker column "
                                 f"{worker_col!r}.")
            if who is None or label is None:
                raise out.error(row, "the worker or the label is empty.")
            out.rows.append((item, who, named(label, row)))
            continue
        if not label:
            raise out.error(row, f"the vote list {label_col!r} is empty.")
        if who is None:
            if workers is not None:
                raise out.error(row, f"the worker list {worker_col!r} is empty.")
            who = list(range(len(label)))
        if not isinstance(who, list) or len(who) != len(label):
            n = len(who) if isinstance(who, list) else "no list of"
            raise out.error(row, f"{len(label)} votes but {n} workers.")
        for w, vote in zip(who, label):
            if w is None or vote is None:
                raise out.error(row, "a vote or its worker is empty.")
            out.rows.append((item, w, named(vote, row)))
    return out.frame(), names


Reader = Callable[[str | os.PathLike[str], str | None, str | None], pd.DataFrame]

#: The formats :func:`read_annotations` reads (``table`` is the long answer table).
FORMATS: dict[str, Reader | None] = {
    "table": None,
    "label-studio": _read_label_studio,
    "mturk": _read_mturk,
    "toloka": _read_toloka,
    "prodigy": _read_prodigy,
    "ground-truth": _read_ground_truth,
    "hf": None,
}


def detect_format(path: str | os.PathLike[str], encoding: str | None = None) -> str:
    """The format of ``path`` from its extension and first record (or header).

    A JSON array is a Label Studio export; a CSV header with ``HITId`` and ``WorkerId``
    is Mechanical Turk; a TSV header with ``ASSIGNMENT:task_id`` and
    ``ASSIGNMENT:worker_id`` is Toloka; a JSON line with ``_input_hash`` is Prodigy, one
    with ``source-ref`` (or ``source``) and a ``*-metadata`` object Ground Truth; any
    other CSV, TSV, Parquet or JSON-lines file is the long table.

    Parameters
    ----------
    path : str or path
        The export, a readable file (or a Hugging Face dataset folder).
    encoding : str, optional
        Of a text file (default UTF-8).

    Returns
    -------
    str
        A format name of :func:`read_annotations` (``"table"``, ``"hf"``, ...).
    """
    if _is_dataset(path) or _saved_dataset(path):
        return "hf"
    p = check_readable(path)
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        return "table"  # the tools do not export compressed files
    ext = suffixes[-1] if suffixes else ""
    if ext in (".parquet", ".pq"):
        return "table"
    if ext not in (".csv", ".txt", ".tsv", ".json", ".jsonl", ".ndjson", ".manifest"):
        raise InputError(
            f"{path}: cannot tell the format from the extension {ext or '(none)'!r}; use "
            f".csv, .tsv, .parquet or .jsonl, or give the annotation format, one of "
            f"{', '.join(FORMATS)}."
        )
    try:
        with open(p, "rb") as fh:
            check_byte_order_mark(path, fh.read(4096), check_encoding(encoding))
        with open(p, encoding=check_encoding(encoding), errors="replace") as fh:
            head = fh.read(65536).removeprefix("\ufeff").lstrip()
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror}).") from None
    except UnicodeError as err:  # not decoding errors (replaced): UTF-16 without a mark
        raise InputError(f"{path}: not {encoding} text ({err}); give the encoding.") from None
    first = head.splitlines()[0] if head else ""
    if ext in (".csv", ".txt", ".tsv"):
        columns = {c.strip().strip('"') for c in re.split("[,\t]", first)}
        if {"HITId", "WorkerId"} <= columns:
            return "mturk"
        if {"ASSIGNMENT:task_id", "ASSIGNMENT:worker_id"} <= columns:
            return "toloka"
        return "table"
    if head.startswith("["):
        return "label-studio"
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        record = None
    if isinstance(record, dict):
        if "_input_hash" in record:
            return "prodigy"
        if ("source-ref" in record or "source" in record) and any(
                str(k).endswith("-metadata") for k in record):
            return "ground-truth"
        return "table"
    raise InputError(
        f"{path}: cannot tell the annotation format (the first line is not a JSON object); "
        f"give the format, one of {', '.join(FORMATS)}."
    )


def answer_frame(path: str | os.PathLike[str], format: str, *,
                 encoding: str | None = None) -> pd.DataFrame:
    """The answers of an annotation-tool export as a long ``item, worker, label`` frame.

    Parameters
    ----------
    path : str or path
        The export.
    format : str
        A tool's format, optionally with ``:FIELD`` (as for :func:`read_annotations`);
        the long table and ``hf`` are read by :func:`read_annotations` instead.
    encoding : str, optional
        Of a text file (default UTF-8).

    Returns
    -------
    DataFrame
    """
    name, field = _split_format(format)
    reader = FORMATS[name]
    if reader is None:
        raise InputError(f"the {name} format is read by read_annotations.")
    return reader(path, field, encoding)


def read_annotations(
    path: Any,
    format: str | None = None,
    *,
    classes: Sequence[Any] | None = None,
    duplicates: DuplicatePolicy = "keep",
    item_col: str = "item",
    worker_col: str = "worker",
    label_col: str = "label",
    sep: str | None = None,
    encoding: str | None = None,
    progress: Any = None,
) -> Annotations:
    """Read answers from an annotation tool's export, or from the long answer table.

    Parameters
    ----------
    path : str, path or datasets.Dataset
        The export (see the module's documentation for each format's fields).
    format : str, optional
        ``table``, ``label-studio``, ``mturk``, ``toloka``, ``prodigy``,
        ``ground-truth`` or ``hf``, optionally followed by ``:FIELD``, the field that holds the
        labels (``"mturk:sentiment"``). Detected from the file when omitted (the
        ``table`` when columns are named).
    classes, duplicates
        As for :meth:`Annotations.from_frame`.
    item_col, worker_col, label_col
        The columns of the long table or of a Hugging Face dataset.
    sep : str, optional
        The long table's field separator.
    encoding : str, optional
        The text encoding (default UTF-8).
    progress : callable, optional
        ``progress(bytes_read, file_bytes)``, called as the long table is parsed (an
        export is read whole: called once, at the end).

    Returns
    -------
    Annotations

    Examples
    --------
    >>> ann = read_annotations("export.json", format="label-studio")  # doctest: +SKIP
    """
    columns = (item_col, worker_col, label_col) != ("item", "worker", "label")
    if format is not None:
        name = _split_format(format)[0]
    elif _is_dataset(path) or _saved_dataset(path):
        name = "hf"
    else:  # columns named for the long table say which format it is
        name = "table" if columns else detect_format(path, encoding)
    if name == "hf":
        if sep is not None:
            raise InputError("sep applies to text tables, not a Hugging Face dataset.")
        frame, names = _read_hf(path, item_col, worker_col, label_col)
        return Annotations.from_frame(frame, classes=names if classes is None else classes,
                                      duplicates=duplicates, source="" if _is_dataset(path)
                                      else str(path))
    if name == "table":
        return read_answers(path, item_col=item_col, worker_col=worker_col,
                            label_col=label_col, classes=classes, duplicates=duplicates,
                            sep=sep, encoding=encoding, progress=progress)
    custom = [f"{k}={v!r}" for k, v, d in (("item_col", item_col, "item"),
                                           ("worker_col", worker_col, "worker"),
                                           ("label_col", label_col, "label"),
                                           ("sep", sep, None)) if v != d]
    if custom:
        raise InputError(f"{path}: {', '.join(custom)} apply to the table format, not {name}.")
    frame = answer_frame(path, format or name, encoding=encoding)
    if progress is not None:
        size = Path(path).stat().st_size
        progress(size, size)
    return Annotations.from_frame(frame, classes=classes, duplicates=duplicates,
                                  source=str(path))


# --- soft labels to and from a Hugging Face dataset --------------------------------

#: The key of the JSON object in ``DatasetInfo.description`` that holds what the
#: columns cannot: the class values (ClassLabel names are strings), the provenance.
_HF_KEY = "softlabels"
_HF_FORMAT_VERSION = 1


def to_hf_dataset(soft: Any) -> Any:
    """Soft labels as a Hugging Face :class:`datasets.Dataset` (needs
    ``pip install 'softlabels[hf]'``).

    One row per item: ``item``, ``label`` (the most probable class, a ``ClassLabel``
    whose names are the class names as text, in class order), ``confidence``,
    ``support`` (when the soft labels have it) and ``probs`` (the probabilities, a list
    of float64 in class order, exact). The dataset's ``info.description`` is a JSON
    object ``{"softlabels": {"format_version", "classes", "provenance"}}`` that keeps
    the class values as they were (``1``, not ``"1"``) and the provenance; it survives
    ``save_to_disk``/``load_from_disk``. :func:`from_hf_dataset` reads it back.

    Parameters
    ----------
    soft : SoftLabels
        Classes whose text forms coincide, or item ids of mixed types, raise
        :class:`InputError`.

    Returns
    -------
    datasets.Dataset

    Examples
    --------
    >>> from softlabels import SoftLabels
    >>> ds = to_hf_dataset(SoftLabels([[0.9, 0.1]], classes=["cat", "dog"]))  # doctest: +SKIP
    >>> ds.features["label"].names, ds[0]["probs"]  # doctest: +SKIP
    (['cat', 'dog'], [0.9, 0.1])
    """
    import numpy as np
    import pyarrow as pa

    from softlabels._optional import require
    from softlabels.core.soft import jsonable

    datasets = require("datasets", "hf")
    names = [str(c) for c in soft.classes.tolist()]
    if len(set(names)) != len(names):
        raise InputError("two classes have the same text form; a ClassLabel needs distinct "
                         "names.")
    ids = soft.item_ids
    try:  # numbers from their numpy type (uint64 ids past 2**63 are no int64)
        items = pa.array(ids if ids.dtype.kind in "iuf" else ids.tolist())
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        raise InputError("the item ids mix types (e.g. numbers and text); a dataset column "
                         "holds one type. Make them all text first.") from None
    n, k = soft.probs.shape
    codes = soft.hard_codes()
    columns: dict[str, Any] = {
        "item": items,
        "label": pa.array(codes, type=pa.int64()),
        "confidence": pa.array(soft.probs[np.arange(n), codes], type=pa.float64()),
    }
    if soft.support is not None:
        columns["support"] = pa.array(soft.support, type=pa.float64())
    flat = pa.array(np.ascontiguousarray(soft.probs).ravel(), type=pa.float64())
    columns["probs"] = pa.FixedSizeListArray.from_arrays(flat, k).cast(pa.list_(pa.float64()))
    table = pa.table(columns)
    features = datasets.Features.from_arrow_schema(table.schema)
    features["label"] = datasets.ClassLabel(names=names)
    table = table.cast(features.arrow_schema)
    meta = {"format_version": _HF_FORMAT_VERSION, "classes": jsonable(soft.classes.tolist()),
            "provenance": soft.provenance}
    info = datasets.DatasetInfo(description=json.dumps({_HF_KEY: meta}, ensure_ascii=False),
                                features=features)
    return datasets.Dataset(table, info=info)


def _hf_meta(ds: Any, where: str) -> dict[str, Any]:
    """The softlabels object of a dataset's description ({} when there is none)."""
    try:
        meta = json.loads(ds.info.description or "")
    except json.JSONDecodeError:
        return {}
    if not isinstance(meta, dict) or not isinstance(meta.get(_HF_KEY), dict):
        return {}
    meta = meta[_HF_KEY]
    if meta.get("format_version", 0) > _HF_FORMAT_VERSION:
        raise InputError(f"{where}: written by a newer softlabels (format "
                         f"{meta['format_version']}); upgrade softlabels to read it.")
    return meta


def from_hf_dataset(source: Any, *, classes: Sequence[Any] | None = None,
                    item_col: str = "item", probs_col: str = "probs") -> Any:
    """Soft labels from a Hugging Face dataset (or a ``save_to_disk`` folder) in the
    layout of :func:`to_hf_dataset`.

    Reads ``probs_col`` (a list of probabilities per row, in class order), ``item_col``
    (the row number when the dataset has no ``item`` column; a column named otherwise
    must be there) and ``support`` when present; the
    ``label`` and ``confidence`` columns are derived, so not read. The classes and the
    provenance come from the dataset's description as :func:`to_hf_dataset` writes it;
    without one, the classes are the names of a ``ClassLabel`` ``label`` column, or
    must be given as ``classes``, which also overrides them.

    Parameters
    ----------
    source : datasets.Dataset, str or path
        The dataset, or the folder ``save_to_disk`` wrote.
    classes : sequence, optional
        The class values, in the order of the probabilities.
    item_col : str, default="item"
        Column of the item ids.
    probs_col : str, default="probs"
        Column of the probability lists.

    Returns
    -------
    SoftLabels
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from softlabels.core.soft import SoftLabels, class_array

    ds = _load_dataset(source)
    where = "the dataset" if _is_dataset(source) else str(source)
    if probs_col not in ds.column_names:
        raise _no_column(ds, "probability", probs_col, where)
    if item_col != "item" and item_col not in ds.column_names:  # only the default may lack
        raise _no_column(ds, "item", item_col, where)
    meta = _hf_meta(ds, where)
    if classes is None:
        classes = meta.get("classes")
    if classes is None and "label" in ds.column_names:
        classes = _class_names(ds.features["label"])
    if classes is None:
        raise InputError(f"{where}: no class names (neither softlabels metadata in the "
                         "description nor a ClassLabel 'label' column); give classes.")
    columns = [c for c in (item_col, "support", probs_col) if c in ds.column_names]
    table = ds.select_columns(columns).with_format("arrow")[:]
    probs = table.column(probs_col).combine_chunks()
    if not (pa.types.is_list(probs.type) or pa.types.is_large_list(probs.type)
            or pa.types.is_fixed_size_list(probs.type)):
        raise InputError(f"{where}: {probs_col!r} must hold a list of probabilities per row; "
                         f"it holds {probs.type}.")
    k = len(classes)
    lengths = pc.fill_null(pc.list_value_length(probs), -1).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(lengths != k)
    if bad.size:
        r = int(bad[0])
        got = "no list" if lengths[r] < 0 else f"{lengths[r]} probabilities"
        raise InputError(f"{where}: row {r}: {probs_col!r} holds {got} for {k} classes.")
    values = probs.flatten()
    if values.null_count or not (pa.types.is_floating(values.type)
                                 or pa.types.is_integer(values.type)):
        raise InputError(f"{where}: {probs_col!r} must hold numbers, none missing; "
                         f"it holds {values.type} with {values.null_count} missing.")
    matrix = values.cast(pa.float64()).to_numpy(zero_copy_only=False).reshape(len(table), k)
    items = None
    if item_col in table.column_names:
        column = table.column(item_col)
        if column.null_count:
            r = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise InputError(f"{where}: row {r}: the item {item_col!r} is empty.")
        items = column.to_numpy(zero_copy_only=False)
    support = None
    if "support" in table.column_names:
        column = table.column("support")
        if column.null_count:
            raise InputError(f"{where}: 'support' has missing values.")
        support = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    try:
        return SoftLabels(matrix, class_array(list(classes)), items,
                          provenance=meta.get("provenance"), support=support)
    except InputError as err:
        raise InputError(f"{where}: {err}") from None


def save_hf_dataset(soft: Any, folder: str | os.PathLike[str]) -> None:
    """Write :func:`to_hf_dataset` of ``soft`` with ``save_to_disk`` into ``folder``, a
    new folder: written beside it first and renamed into place, so that a failed write
    leaves nothing.

    Parameters
    ----------
    soft : SoftLabels
        The soft labels to save.
    folder : str or path
        A folder that does not exist yet, in an existing parent (otherwise
        :class:`InputError`).
    """
    target = Path(folder)
    parent = target.parent if str(target.parent) else Path(".")
    if target.exists():
        raise InputError(f"{folder}: already exists; a dataset is saved to a new folder.")
    if not parent.is_dir():
        raise InputError(f"{folder}: the folder {parent} does not exist.")
    ds = to_hf_dataset(soft)
    import datasets

    bars = datasets.is_progress_bar_enabled()  # its own bars would cut into ours
    if bars:
        datasets.disable_progress_bar()
    try:
        with atomic_folder(folder) as tmp:
            ds.save_to_disk(str(tmp))
    finally:
        if bars:
            datasets.enable_progress_bar()
