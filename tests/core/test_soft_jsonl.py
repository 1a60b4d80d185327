"""Soft labels as JSON lines: one object per item, exact floats, read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from _soft_strategies import soft_labels
from softlabels import InputError, SoftLabels


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_one_object_per_item(tmp_path):
    soft = SoftLabels([[0.7, 0.3], [0.25, 0.75]], ["ham", "spam"], item_ids=["m1", "m2"],
                      support=[3, 4])
    soft.save(tmp_path / "x.jsonl")
    assert lines(tmp_path / "x.jsonl") == [
        {"item": "m1", "label": "ham", "confidence": 0.7, "support": 3,
         "probs": {"ham": 0.7, "spam": 0.3}},
        {"item": "m2", "label": "spam", "confidence": 0.75, "support": 4,
         "probs": {"ham": 0.25, "spam": 0.75}},
    ]
    # key order as documented: item, label, confidence, support, probs (classes in order)
    first = (tmp_path / "x.jsonl").read_text().splitlines()[0]
    assert first == ('{"item": "m1", "label": "ham", "confidence": 0.7, "support": 3, '
                     '"probs": {"ham": 0.7, "spam": 0.3}}')


def test_fractional_support_stays_a_float_and_no_support_no_field(tmp_path):
    SoftLabels([[1.0, 0.0]], ["a", "b"], support=[2.5]).save(tmp_path / "s.jsonl")
    assert lines(tmp_path / "s.jsonl")[0]["support"] == 2.5
    SoftLabels([[1.0, 0.0]], ["a", "b"]).save(tmp_path / "n.jsonl")
    assert "support" not in lines(tmp_path / "n.jsonl")[0]
    assert SoftLabels.load(tmp_path / "n.jsonl").support is None


def test_reserved_names_and_unicode_are_fine_as_classes(tmp_path):
    # classes are keys of "probs", so the table's column names are no clash here
    soft = SoftLabels([[0.5, 0.5]], ["label", "château 🐱"], item_ids=["é"])
    soft.save(tmp_path / "u.jsonl")
    assert "château 🐱" in (tmp_path / "u.jsonl").read_text(encoding="utf-8")
    back = SoftLabels.read_jsonl(tmp_path / "u.jsonl")
    assert back.classes.tolist() == ["label", "château 🐱"] and back.item_ids.tolist() == ["é"]


def test_integer_classes_come_back_as_integers_and_text_digits_as_text(tmp_path):
    SoftLabels([[0.2, 0.8]], [0, 1]).save(tmp_path / "i.jsonl")
    assert SoftLabels.load(tmp_path / "i.jsonl").classes.tolist() == [0, 1]
    SoftLabels([[0.2, 0.8]], ["0", "1"]).save(tmp_path / "t.jsonl")
    assert SoftLabels.load(tmp_path / "t.jsonl").classes.tolist() == ["0", "1"]
    back = SoftLabels.read_jsonl(tmp_path / "t.jsonl", classes=["no", "yes"])
    assert back.classes.tolist() == ["no", "yes"]


def test_the_write_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "x.jsonl"
    target.write_text("old\n")
    import softlabels.core.soft as soft_module

    class Encoder(json.JSONEncoder):
        calls = 0

        def encode(self, record):
            Encoder.calls += 1
            if Encoder.calls == 2:  # the first line is written, the second fails
                raise RuntimeError("disk gone")
            return super().encode(record)

    monkeypatch.setattr(soft_module.json, "JSONEncoder", Encoder)
    with pytest.raises(RuntimeError):
        SoftLabels([[1.0, 0.0], [0.0, 1.0]], ["a", "b"]).save(target)
    assert Encoder.calls == 2
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.jsonl"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the file is empty"),
        ("\n\n", "the file has no data"),
        ('{"item": 1, "probs": {"a": 1.0}}\nnot json\n', "line 2: not JSON"),
        ('[1, 2]\n', "line 1: expected a JSON object"),
        ('{"probs": {"a": 1.0}}\n', "line 1: no 'item' field"),
        ('{"item": 1}\n', "line 1: no 'probs' field"),
        ('{"item": 1, "probs": [1.0]}\n', "line 1: 'probs' must be an object"),
        ('{"item": 1, "probs": {"a": 1.0}}\n{"item": 2, "probs": {"b": 1.0}}\n',
         "line 2: the classes differ from line 1's"),
        ('{"item": 1, "probs": {"a": "1"}}\n', "line 1: every probability must be a number"),
        ('{"item": 1, "probs": {"a": true}}\n', "line 1: every probability must be a number"),
        ('{"item": 1, "support": 2, "probs": {"a": 1.0}}\n{"item": 2, "probs": {"a": 1.0}}\n',
         "line 2: 'support' is given on some lines, not all"),
        ('{"item": 1, "probs": {"a": 0.5, "b": 0.6}}\n', "sum"),
        ('{"item": 1, "probs": {"a": 1.0}}\n{"item": 1, "probs": {"a": 1.0}}\n',
         "item_ids must be unique"),
        ('{"item": null, "probs": {"a": 1.0}}\n',
         "every 'item' must be text, a number or a boolean"),
    ],
)
def test_bad_files_are_one_line_errors_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        SoftLabels.read_jsonl(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_wrong_number_of_given_classes(tmp_path):
    SoftLabels([[0.2, 0.8]], ["a", "b"]).save(tmp_path / "x.jsonl")
    with pytest.raises(InputError, match="3 classes given but .* has 2 probabilities"):
        SoftLabels.read_jsonl(tmp_path / "x.jsonl", classes=["a", "b", "c"])


def test_save_and_load_refuse_other_extensions(tmp_path):
    with pytest.raises(InputError, match="use .parquet, .csv or .jsonl"):
        SoftLabels([[1.0]], ["a"]).save(tmp_path / "x.json")
    with pytest.raises(InputError, match="read .parquet, .csv or .jsonl"):
        SoftLabels.load(tmp_path / "x.txt")


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_load_reads_what_save_wrote(tmp_path, suffix):
    soft = SoftLabels([[0.1, 0.9], [0.6, 0.4]], ["a", "b"], item_ids=["x", "y"], support=[1, 2])
    soft.save(tmp_path / f"s{suffix}")
    back = SoftLabels.load(tmp_path / f"s{suffix}")
    assert np.array_equal(back.probs, soft.probs)
    assert back.item_ids.tolist() == ["x", "y"] and back.support.tolist() == [1.0, 2.0]


def test_read_probs_reads_gzipped_lines_as_it_reads_a_gzipped_csv(tmp_path):
    # the soft-label CSV gzipped reads; the same labels as JSON lines failed on their
    # 'probs' objects, read as a table of single values
    import gzip

    from softlabels.core.tables import read_probs

    soft = SoftLabels([[0.1, 0.9], [0.6, 0.4]], ["a", "b"], item_ids=["x", "y"], support=[1, 2])
    for suffix in (".csv", ".jsonl"):
        soft.save(tmp_path / f"s{suffix}")
        gz = tmp_path / f"s{suffix}.gz"
        gz.write_bytes(gzip.compress((tmp_path / f"s{suffix}").read_bytes()))
        back = read_probs(gz)
        assert back.item_ids.tolist() == ["x", "y"] and back.classes.tolist() == ["a", "b"]
        assert np.array_equal(back.probs, soft.probs)
        assert back.support.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_byte_order_mark_is_read_through(tmp_path, suffix):
    # a UTF-8 file re-saved by Excel or PowerShell starts with a byte-order mark
    from softlabels.core.tables import read_probs

    soft = SoftLabels([[0.1, 0.9], [0.6, 0.4]], ["a", "b"], item_ids=["x", "y"])
    path = tmp_path / f"s{suffix}"
    soft.save(path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    for read in (SoftLabels.load, read_probs):
        back = read(path)
        assert back.item_ids.tolist() == ["x", "y"] and back.classes.tolist() == ["a", "b"]
        assert np.array_equal(back.probs, soft.probs)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(soft=soft_labels(mixed_ids=True))
def test_round_trip_is_exact(soft, tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("j")) / "s.jsonl"
    soft.save(path)
    back = SoftLabels.load(path)
    # classes, items (text or integers, mixed), support and every float64 bit for bit
    assert back.equals(soft)
    assert [type(c) for c in back.classes.tolist()] == [type(c) for c in soft.classes.tolist()]
    assert [type(i) for i in back.item_ids.tolist()] == [type(i) for i in soft.item_ids.tolist()]


def test_numpy_scalars_in_object_arrays_are_written_as_numbers(tmp_path):
    ids = np.array([np.int64(5), "x"], dtype=object)
    classes = np.array([np.int64(1), "b"], dtype=object)
    SoftLabels([[0.5, 0.5], [0.0, 1.0]], classes, item_ids=ids).save(tmp_path / "o.jsonl")
    assert [r["item"] for r in lines(tmp_path / "o.jsonl")] == [5, "x"]
    assert lines(tmp_path / "o.jsonl")[1]["label"] == "b"
    with pytest.raises(InputError, match="item 0 is a object .*, which JSON cannot hold"):
        SoftLabels([[1.0]], ["a"], item_ids=np.array([object()], dtype=object)).save(
            tmp_path / "bad.jsonl")
    assert not (tmp_path / "bad.jsonl").exists()


def test_an_item_id_ending_in_nul_survives_the_round_trip(tmp_path):
    # a fixed-width numpy string drops trailing NULs: the id "\0" would come back as ""
    soft = SoftLabels([[1.0, 0.0], [0.5, 0.5]], ["x", "y"],
                      item_ids=np.array(["\x00", "b"], dtype=object))
    soft.save(tmp_path / "n.jsonl")
    back = SoftLabels.load(tmp_path / "n.jsonl")
    assert back.item_ids.tolist() == ["\x00", "b"]
    assert back.equals(soft)


@pytest.mark.parametrize(
    "bad, message",
    [
        ('{"item": null, "probs": {"a": 1.0}}', r"line 3: every 'item' must be text, a "
                                                r"number or a boolean; got None\."),
        ('{"item": 2, "support": "x", "probs": {"a": 1.0}}',
         r"line 3: 'support' must be a non-negative number; got 'x'\."),
        ('{"item": 2, "support": null, "probs": {"a": 1.0}}',
         r"line 3: 'support' must be a non-negative number; got None\."),
        ('{"item": 2, "support": -1, "probs": {"a": 1.0}}',
         r"line 3: 'support' must be a non-negative number; got -1\."),
    ],
)
def test_a_bad_item_or_support_names_its_line(tmp_path, bad, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"item": 1, "support": 1, "probs": {"a": 1.0}}\n\n' + bad + "\n")
    if '"support"' not in bad:
        path.write_text('{"item": 1, "probs": {"a": 1.0}}\n\n' + bad + "\n")
    with pytest.raises(InputError, match=rf"^{path}: {message}$"):
        SoftLabels.read_jsonl(path)


@pytest.mark.parametrize("ids", [np.array([2**63 + 5, 3, 2**64 - 1], dtype=np.uint64),
                                 np.array([2**64 + 1, 3], dtype=object),
                                 np.array([-(2**63), 2**63 - 1], dtype=np.int64)])
def test_large_integer_item_ids_come_back_exact(tmp_path, ids):
    """64-bit hashes as ids: numpy turns [2**63 + 5, 3] into float64, which would merge
    or change them."""
    soft = SoftLabels(np.eye(len(ids)), [f"c{j}" for j in range(len(ids))], item_ids=ids)
    soft.save(tmp_path / "u.jsonl")
    back = SoftLabels.load(tmp_path / "u.jsonl")
    assert back.item_ids.tolist() == ids.tolist()
    assert back.item_ids.dtype.kind in "iuO"


@pytest.mark.parametrize("ids", [[True, False], [True, 3]])
def test_boolean_item_ids_come_back_as_booleans(tmp_path, ids):
    """CSV and Parquet keep boolean ids; JSON lines must read back what it writes."""
    soft = SoftLabels([[0.5, 0.5], [0.2, 0.8]], ["a", "b"], item_ids=ids)
    soft.save(tmp_path / "b.jsonl")
    back = SoftLabels.load(tmp_path / "b.jsonl")
    assert back.item_ids.tolist() == ids
    assert [type(v) for v in back.item_ids.tolist()] == [type(v) for v in ids]


@pytest.mark.parametrize("ids", [
    np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[ns]"),
    np.array([np.timedelta64(1, "s"), np.timedelta64(2, "s")]),
    pd.Series(pd.to_datetime(["2020-01-01", "2020-01-02"])),
    [pd.Timestamp("2020-01-01"), pd.Timestamp("2020-01-02")],
])
def test_date_item_ids_are_refused_by_name_not_written_as_numbers(tmp_path, ids):
    """JSON has no dates: nanosecond datetime64 ids were written as integers (read back
    as other ids), Timestamps failed with a bare type name; neither file is left."""
    soft = SoftLabels([[0.5, 0.5], [0.2, 0.8]], ["a", "b"], item_ids=ids)
    path = tmp_path / "d.jsonl"
    with pytest.raises(InputError, match=rf"^{path}: item 0 is a \w+ \(.*\), which JSON "
                                         r"cannot hold; save as \.parquet, or make the ids "
                                         r"text first\.$"):
        soft.save(path)
    assert not path.exists()
