"""Damaged input files, checked with hypothesis: every reader either reads a file or
raises an InputError (a one-line message naming the file), never another exception.

Each example cuts a valid file short, overwrites a few bytes, or puts a byte-order
mark, NaN, an empty cell or a non-object JSON line in it, then reads it with the
reader that takes it.
"""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from softlabels import InputError, SoftLabels, read_annotations
from softlabels.core.io import read_array
from softlabels.core.tables import read_probs

FORMATS = Path(__file__).parents[1] / "fixtures" / "formats"
EXAMPLES = 25

ANSWERS = pd.DataFrame({"item": [1, 1, 2, 2, 3], "worker": ["a", "b", "a", "c", "b"],
                        "label": ["x", "y", "x", "x", "y"]})
SOFT = SoftLabels([[0.25, 0.75], [1.0, 0.0], [0.5, 0.5]], ["x", "y"],
                  item_ids=["u", "v", "w"], support=[2, 1, 2])


def _files(folder: Path) -> dict[str, tuple[bytes, object]]:
    """name: (valid content, the reader of that file)."""
    ANSWERS.to_csv(folder / "answers.csv", index=False)
    ANSWERS.to_json(folder / "answers.jsonl", orient="records", lines=True)
    ANSWERS.to_parquet(folder / "answers.parquet", index=False)
    SOFT.save(folder / "soft.csv")
    SOFT.save(folder / "soft.jsonl")
    SOFT.save(folder / "soft.parquet")
    np.save(folder / "probs.npy", SOFT.probs)
    files = {name: ((folder / name).read_bytes(), read_annotations)
             for name in ("answers.csv", "answers.jsonl", "answers.parquet")}
    files["answers.csv.gz"] = (gzip.compress(files["answers.csv"][0]), read_annotations)
    files.update({name: ((folder / name).read_bytes(), reader) for name, reader in (
        ("soft.csv", SoftLabels.load), ("soft.jsonl", SoftLabels.load),
        ("soft.parquet", SoftLabels.load), ("probs.npy", read_array))})
    files["probs.csv"] = (files["soft.csv"][0], read_probs)
    for name in ("label_studio.json", "mturk_batch_results.csv", "toloka_results.tsv",
                 "prodigy_choice.jsonl", "ground_truth_workers.manifest"):
        files[name] = ((FORMATS / name).read_bytes(), read_annotations)
    return files


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory) -> dict[str, tuple[bytes, object]]:
    return _files(tmp_path_factory.mktemp("valid"))


@st.composite
def damage(draw, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["cut", "overwrite", "bom", "token", "line"]))
    if kind == "cut":
        return data[: draw(st.integers(0, len(data) - 1))]
    if kind == "overwrite":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 3))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    lines = data.split(b"\n")
    at = draw(st.integers(0, len(lines) - 1))
    if kind == "line":  # a JSON value that is not an object, or a repeated line
        new = draw(st.sampled_from([b"[1, 2]", b"5", b"null", b'"x"', b"{}", lines[at]]))
        return b"\n".join(lines[:at] + [new] + lines[at:])
    cells = lines[at].split(b",")
    c = draw(st.integers(0, len(cells) - 1))
    cells[c] = draw(st.sampled_from([b"", b"nan", b"inf", b"-1", b"1_0", b"null", b'"']))
    return b"\n".join(lines[:at] + [b",".join(cells)] + lines[at + 1:])


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_file_is_read_or_an_input_error(valid_files, tmp_path_factory, data):
    name = data.draw(st.sampled_from(sorted(valid_files)))
    content, reader = valid_files[name]
    path = tmp_path_factory.mktemp("damaged") / name
    path.write_bytes(data.draw(damage(content)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # renormalised probabilities and the like
        try:
            reader(path)
        except InputError as err:
            assert "\n" not in str(err).strip(), str(err)
            assert name in str(err) or path.parent.name in str(err), str(err)


def test_the_valid_files_read(valid_files, tmp_path):
    for name, (content, reader) in valid_files.items():
        (tmp_path / name).write_bytes(content)
        reader(tmp_path / name)
