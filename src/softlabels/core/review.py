"""Items to review, written as Label Studio tasks with the suggested label pre-filled.

Each task is ``{"data": {"item": <item id>, "given": ..., "reason": ...},
"predictions": [{"model_version", "score", "result": [{"from_name", "to_name",
"type": "choices", "value": {"choices": [<suggested label>]}}]}]}``: Label Studio shows
the suggestion as a pre-annotation that the reviewer accepts or changes. After the
review, Label Studio's JSON export keeps ``data``, and
:func:`softlabels.read_annotations` takes the items from ``data.item``, so the
reviewed answers come back under the same item ids.

A labelling configuration that fits (``from_name="label"``, ``to_name="item"``, one
``Choice`` per class) is given by :func:`label_studio_config`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

from softlabels.core.errors import InputError
from softlabels.core.io import atomic_path
from softlabels.core.soft import json_id_type

__all__ = ["label_studio_config", "label_studio_tasks", "write_label_studio_tasks"]


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON writes."""
    return value.item() if isinstance(value, np.generic) else value


def _score(value: Any, item: Any, row: int) -> float:
    """A prediction's score as a float from 0 to 1 (JSON has no NaN or infinity; a
    boolean is no score)."""
    try:
        score = float("nan") if isinstance(value, (bool, np.bool_)) else float(value)
    except (TypeError, ValueError):
        score = float("nan")
    if not 0 <= score <= 1:
        raise InputError(f"score of item {item!r} (row {row}) is {_plain(value)!r}; scores "
                         "are numbers from 0 to 1.")
    return score


def label_studio_tasks(
    items: Sequence[Any],
    suggested: Sequence[Any],
    *,
    given: Sequence[Any] | None = None,
    score: Sequence[float] | None = None,
    reason: Sequence[str] | None = None,
    from_name: str = "label",
    to_name: str = "item",
    model_version: str = "softlabels",
) -> list[dict[str, Any]]:
    """One Label Studio task per item, the suggested label as its pre-annotation.

    Parameters
    ----------
    items : sequence
        Item ids (written as ``data.item``): text, numbers or booleans (a date raises
        :class:`InputError`). Every sequence here is taken by position (a pandas
        Series too, whatever its index).
    suggested : sequence
        The label to pre-fill, one per item (written as text).
    given, score, reason : sequence, optional
        Shown to the reviewer: the label the item has now (``data.given``), the
        prediction's score (0 to 1; a lower score is less certain) and why it is
        listed (``data.reason``). A score that is no number from 0 to 1 (NaN, a
        boolean, 1.5) raises :class:`InputError`.
    from_name, to_name : str
        The ``Choices`` control and the object it labels, as named in the project's
        labelling configuration.
    model_version : str
        The name Label Studio shows for the suggestions.

    Examples
    --------
    >>> tasks = label_studio_tasks(["img7"], ["cat"], given=["dog"])
    >>> tasks[0]["data"]
    {'item': 'img7', 'given': 'dog'}
    >>> tasks[0]["predictions"][0]["result"][0]["value"]
    {'choices': ['cat']}
    """
    # by position: a pandas Series would be indexed by its labels
    items, suggested = list(items), list(suggested)
    given, score, reason = (None if v is None else list(v) for v in (given, score, reason))
    n = len(items)
    for name, values in (("suggested", suggested), ("given", given), ("score", score),
                         ("reason", reason)):
        if values is not None and len(values) != n:
            raise InputError(f"{name} has {len(values)} values for {n} items.")
    odd = json_id_type(items)
    if odd is not None:
        raise InputError(f"item {odd[0]} is {odd[1]}, which JSON cannot hold; make the ids "
                         "text first.")
    tasks = []
    for i in range(n):
        data: dict[str, Any] = {"item": _plain(items[i])}
        if given is not None:
            data["given"] = str(_plain(given[i]))
        if reason is not None:
            data["reason"] = str(reason[i])
        prediction: dict[str, Any] = {
            "model_version": model_version,
            "result": [{"from_name": from_name, "to_name": to_name, "type": "choices",
                        "value": {"choices": [str(_plain(suggested[i]))]}}],
        }
        if score is not None:
            prediction["score"] = _score(score[i], data["item"], i)
        tasks.append({"data": data, "predictions": [prediction]})
    return tasks


def write_label_studio_tasks(tasks: list[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """Write tasks as a JSON list that Label Studio imports (all or nothing).

    Parameters
    ----------
    tasks : list of dict
        The tasks, JSON-serialisable.
    path : str or path
        The file to write.
    """
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        json.dump(tasks, fh, indent=1, ensure_ascii=False)
        fh.write("\n")


def label_studio_config(classes: Sequence[Any], *, from_name: str = "label",
                        to_name: str = "item") -> str:
    """A Label Studio labelling configuration for the review tasks: the item id, its
    given label and the reason it is listed, and one single choice among ``classes``.

    Parameters
    ----------
    classes : sequence
        The choices, in order (written as text).
    from_name : str, default="label"
        Name of the choice control.
    to_name : str, default="item"
        Name of the text the choice refers to.

    Returns
    -------
    str
        The XML configuration.
    """
    choices = "\n".join(f"    <Choice value={quoteattr(str(c))}/>" for c in classes)
    return (
        "<View>\n"
        f"  <Text name={quoteattr(to_name)} value=\"$item\"/>\n"
        "  <Header value=\"given: $given\"/>\n"
        "  <Header value=\"$reason\"/>\n"
        f"  <Choices name={quoteattr(from_name)} toName={quoteattr(to_name)} "
        "choice=\"single\">\n"
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n"
    )
