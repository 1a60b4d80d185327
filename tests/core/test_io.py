"""core.io: format detection, readable-file checks, table readers and atomic writes."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pandas as pd
import pytest

from softlabels import InputError
from softlabels.core.annotations import read_answers
from softlabels.core.io import (
    OutputError,
    atomic_folder,
    atomic_path,
    check_readable,
    ids_from_text,
    read_table,
    table_format,
    write_frame,
)

DF = pd.DataFrame({"item": [1, 2], "worker": ["a", "b"], "label": ["x", "y"]})


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("a.csv", "csv"), ("A.CSV", "csv"), ("a.txt", "csv"), ("a.tsv", "tsv"),
        ("a.parquet", "parquet"), ("a.pq", "parquet"), ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"), ("a.json", "jsonl"), ("a.csv.gz", "csv"), ("dir.v2/a.tsv.gz", "tsv"),
    ],
)
def test_table_format(name, fmt):
    assert table_format(name) == fmt


@pytest.mark.parametrize("name", ["a.xlsx", "a", "a.gz", "a.csv.zip"])
def test_table_format_unknown(name):
    with pytest.raises(InputError, match="cannot tell the format from the extension"):
        table_format(name)


def test_check_readable(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        check_readable(tmp_path / "x.csv")
    with pytest.raises(InputError, match="is a directory"):
        check_readable(tmp_path)
    (tmp_path / "e.csv").touch()
    with pytest.raises(InputError, match="the file is empty"):
        check_readable(tmp_path / "e.csv")
    (tmp_path / "ok.csv").write_text("a\n1\n")
    assert check_readable(str(tmp_path / "ok.csv")) == tmp_path / "ok.csv"


def test_a_path_the_system_refuses_is_an_input_error(tmp_path):
    # a name longer than the file system allows fails in stat() with ENAMETOOLONG
    from softlabels import read_annotations

    path = tmp_path / ("a" * 300 + ".csv")
    with pytest.raises(InputError, match=rf"^{path}: cannot be read \(File name too long\)\.$"):
        check_readable(path)
    for read in (read_table, read_answers, read_annotations):
        with pytest.raises(InputError, match=rf"^{path}: cannot be read"):
            read(path)


class TestReadTable:
    @pytest.mark.parametrize("name", ["t.csv", "t.tsv", "t.parquet", "t.jsonl"])
    def test_write_frame_read_table_round_trip(self, tmp_path, name):
        write_frame(DF, tmp_path / name)
        pd.testing.assert_frame_equal(read_table(tmp_path / name), DF, check_dtype=False)
        assert os.listdir(tmp_path) == [name]

    @pytest.mark.parametrize("name", ["t.csv.gz", "t.tsv.gz", "t.jsonl.gz"])
    def test_write_frame_gzips_a_gz_path(self, tmp_path, name):
        write_frame(DF, tmp_path / name)
        with gzip.open(tmp_path / name, "rb") as fh:
            assert fh.read(4) in (b"item", b'{"it')
        pd.testing.assert_frame_equal(read_table(tmp_path / name), DF, check_dtype=False)
        assert os.listdir(tmp_path) == [name]

    def test_write_frame_refuses_gzipped_parquet(self, tmp_path):
        with pytest.raises(InputError, match=r"t\.parquet\.gz: Parquet is compressed "
                                             r"inside; drop the \.gz"):
            write_frame(DF, tmp_path / "t.parquet.gz")
        assert os.listdir(tmp_path) == []

    @pytest.mark.parametrize("name", ["t.json", "t.jsonl"])
    def test_a_json_array_is_named_as_such(self, tmp_path, name):
        (tmp_path / name).write_text('[{"item": 1, "worker": "a", "label": "x"},\n'
                                     ' {"item": 2, "worker": "b", "label": "y"}]\n')
        with pytest.raises(InputError, match=r"t\.jsonl?: holds a JSON array; JSON lines "
                                             r"has one object per line, no enclosing \[ \]"):
            read_table(tmp_path / name)

    def test_columns_argument(self, tmp_path):
        write_frame(DF, tmp_path / "t.parquet")
        write_frame(DF, tmp_path / "t.csv")
        assert list(read_table(tmp_path / "t.parquet", columns=["label"]).columns) == ["label"]
        assert list(read_table(tmp_path / "t.csv", columns=["item", "label"]).columns) == ["item", "label"]

    def test_fmt_overrides_extension(self, tmp_path):
        (tmp_path / "t.data").write_text("item,worker,label\n1,a,x\n")
        assert read_table(tmp_path / "t.data", fmt="csv").shape == (1, 3)

    def test_gzip_csv(self, tmp_path):
        with gzip.open(tmp_path / "t.csv.gz", "wt") as fh:
            fh.write("item,worker,label\n1,a,x\n")
        assert read_table(tmp_path / "t.csv.gz").values.tolist() == [[1, "a", "x"]]

    def test_gz_that_is_not_gzip(self, tmp_path):
        (tmp_path / "t.csv.gz").write_text("item,worker,label\n1,a,x\n")
        with pytest.raises(InputError, match="cannot be read"):
            read_table(tmp_path / "t.csv.gz")

    def test_whitespace_only_csv(self, tmp_path):
        (tmp_path / "t.csv").write_text("\n\n")
        with pytest.raises(InputError, match="the file has no data"):
            read_table(tmp_path / "t.csv")

    def test_corrupt_parquet(self, tmp_path):
        (tmp_path / "t.parquet").write_bytes(b"PAR1" + b"\x00garbage" * 10)
        with pytest.raises(InputError, match="not a readable Parquet file"):
            read_table(tmp_path / "t.parquet")

    def test_damaged_parquet_page_is_a_one_line_error(self, tmp_path):
        # pyarrow's message for a damaged page header runs over several lines
        from softlabels import SoftLabels

        write_frame(DF, tmp_path / "t.parquet")
        SoftLabels([[0.5, 0.5]], ["a", "b"]).save(tmp_path / "s.parquet")
        for name, read in (("t", read_table), ("s", SoftLabels.load)):
            data = bytearray((tmp_path / f"{name}.parquet").read_bytes())
            data[4] = 0  # the first page header, just after the magic bytes
            (tmp_path / f"{name}.parquet").write_bytes(bytes(data))
            with pytest.raises(InputError, match=rf"{name}\.parquet: not a readable Parquet file "
                                                 r"\(.*page header.*\)\.$") as info:
                read(tmp_path / f"{name}.parquet")
            assert "\n" not in str(info.value)

    def test_parquet_text_that_is_not_utf8(self, tmp_path):
        # Parquet does not check that its strings are UTF-8; the bad bytes must be named
        # on reading, not fail later inside pandas with a pyarrow error
        import pyarrow as pa
        import pyarrow.parquet as pq

        raw = pa.array([b"a\xffb", b"c"], type=pa.binary())
        items = pa.Array.from_buffers(pa.string(), len(raw), raw.buffers())
        pq.write_table(pa.table({"item": items, "worker": ["w1", "w2"], "label": ["x", "y"]}),
                       tmp_path / "t.parquet")
        # (pandas < 3 decodes the text as it reads, and fails there)
        said = r"t\.parquet: (column 'item' holds text that is not UTF-8|not a readable Parquet)"
        for read in (read_table, read_answers):
            with pytest.raises(InputError, match=said):
                read(tmp_path / "t.parquet")

    def test_unparseable_csv(self, tmp_path):
        (tmp_path / "t.csv").write_text('item,worker,label\n1,a,"x\n')
        with pytest.raises(InputError, match=r"cannot be parsed as csv \("):
            read_table(tmp_path / "t.csv")

    def test_unparseable_jsonl(self, tmp_path):
        (tmp_path / "t.jsonl").write_text('{"item": 1, "worker": "a"\n')
        with pytest.raises(InputError, match="cannot be parsed as jsonl"):
            read_table(tmp_path / "t.jsonl")

    @pytest.mark.parametrize("name", ["t.csv", "t.tsv", "t.jsonl", "t.csv.gz", "t.jsonl.gz"])
    def test_byte_order_mark_is_read_through(self, tmp_path, name):
        # some tools (Excel, PowerShell) start UTF-8 text with a byte-order mark
        write_frame(DF, tmp_path / name)
        raw = (tmp_path / name).read_bytes()
        if name.endswith(".gz"):
            raw = gzip.compress(b"\xef\xbb\xbf" + gzip.decompress(raw))
        else:
            raw = b"\xef\xbb\xbf" + raw
        (tmp_path / name).write_bytes(raw)
        pd.testing.assert_frame_equal(read_table(tmp_path / name), DF)
        assert read_answers(tmp_path / name).to_frame().values.tolist() == DF.values.tolist()

    @pytest.mark.parametrize("line, kind", [("[1, 2]", "a list"), ("5", "a number"),
                                            ('"zz"', "a string"), ("null", "null"),
                                            ("true", "a boolean")])
    def test_jsonl_line_that_is_not_an_object(self, tmp_path, line, kind):
        path = tmp_path / "t.jsonl"
        path.write_text(f'{{"item": 1, "worker": "a", "label": "x"}}\n\n{line}\n')
        with pytest.raises(InputError, match=rf"t\.jsonl: line 3 is {kind}, not a JSON object"):
            read_table(path)

    def test_multibyte_character_cut_by_the_sniffer_is_fine(self, tmp_path):
        # the format check reads the first 8192 bytes; a 2-byte character straddles that
        header = "item,worker,label\n"
        pad = 8191 - len(header.encode()) - len("1,a,")
        text = header + "1,a," + "x" * pad + "é\n2,b,y\n"
        assert text.encode().index("é".encode()) == 8191
        (tmp_path / "t.csv").write_text(text, encoding="utf-8")
        out = read_table(tmp_path / "t.csv")
        assert out["label"].iloc[0].endswith("é")
        assert len(out) == 2


class TestSeparatorAndEncoding:
    def test_semicolon_latin1_csv(self, tmp_path):
        path = tmp_path / "t.csv"
        path.write_bytes("item;worker;label\n007;a;café\n7;b;thé\n".encode("latin-1"))
        with pytest.raises(InputError, match=r"is not UTF-8 text .*--encoding latin-1"):
            read_table(path)
        frame = read_table(path, sep=";", encoding="latin-1", id_columns=("item",))
        assert frame.to_dict("list") == {
            "item": ["007", "7"], "worker": ["a", "b"], "label": ["café", "thé"],
        }

    @pytest.mark.parametrize("sep", ["\t", "\\t", "tab"])
    def test_tab_as_typed_in_a_shell(self, tmp_path, sep):
        (tmp_path / "t.csv").write_text("item\tworker\tlabel\n1\ta\tx\n")
        assert read_table(tmp_path / "t.csv", sep=sep).columns.tolist() == ["item", "worker", "label"]

    @pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
    def test_utf16_has_nul_bytes_and_is_still_text(self, tmp_path, encoding):
        # Excel's "Unicode text" is UTF-16 with a byte-order mark: text, not a binary file
        text = "\ufeffitem,worker,label\n1,a,x\n" if encoding == "utf-16-be" else \
            "item,worker,label\n1,a,x\n"
        (tmp_path / "t.csv").write_bytes(text.encode(encoding))
        name = encoding[:6].upper()
        with pytest.raises(InputError, match=rf"t\.csv: is {name} text \(it starts with a "
                                             rf"{name} byte-order mark\), not UTF-8; give its "
                                             rf"encoding \(--encoding {name.lower()}, "
                                             r"encoding=\.\.\.\)\.$"):
            read_table(tmp_path / "t.csv")
        assert read_table(tmp_path / "t.csv", encoding=name.lower()).shape == (1, 3)

    @pytest.mark.parametrize("name", ["t.csv", "t.jsonl"])
    def test_utf16_given_for_text_without_a_byte_order_mark(self, tmp_path, name):
        write_frame(DF, tmp_path / name)
        with pytest.raises(InputError, match=rf"{name}: .*UTF-16 stream does not start with BOM"):
            read_table(tmp_path / name, encoding="utf-16")

    @pytest.mark.parametrize("sep", [";;", "", '"', "\n"])
    def test_bad_separator(self, tmp_path, sep):
        write_frame(DF, tmp_path / "t.csv")
        with pytest.raises(InputError, match="the field separator must be one character"):
            read_table(tmp_path / "t.csv", sep=sep)

    def test_unknown_encoding(self, tmp_path):
        write_frame(DF, tmp_path / "t.csv")
        with pytest.raises(InputError, match="unknown text encoding 'klingon'"):
            read_table(tmp_path / "t.csv", encoding="klingon")

    def test_separator_for_parquet_is_an_error(self, tmp_path):
        write_frame(DF, tmp_path / "t.parquet")
        with pytest.raises(InputError, match="t.parquet: a field separator applies to CSV or TSV"):
            read_table(tmp_path / "t.parquet", sep=";")

    def test_wrong_separator_is_named_by_read_answers(self, tmp_path):
        (tmp_path / "t.csv").write_text("item;worker;label\n1;a;x\n")
        with pytest.raises(InputError, match=r"separated by ';'; give the separator \(--sep ';'"):
            read_answers(tmp_path / "t.csv")
        assert read_answers(tmp_path / "t.csv", sep=";").n_answers == 1


class TestAtomicFolder:
    def test_new_folder_appears_whole(self, tmp_path):
        with atomic_folder(tmp_path / "out") as tmp:
            (tmp / "a.txt").write_text("1")
            assert not (tmp_path / "out").exists()
        assert os.listdir(tmp_path) == ["out"] and (tmp_path / "out" / "a.txt").read_text() == "1"

    def test_replaces_an_existing_folder_only_when_complete(self, tmp_path):
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "old.txt").write_text("old")
        with pytest.raises(RuntimeError):
            with atomic_folder(tmp_path / "out") as tmp:
                (tmp / "new.txt").write_text("new")
                raise RuntimeError("failed half-way")
        assert os.listdir(tmp_path) == ["out"] and os.listdir(tmp_path / "out") == ["old.txt"]
        with atomic_folder(tmp_path / "out") as tmp:
            (tmp / "new.txt").write_text("new")
        assert os.listdir(tmp_path) == ["out"] and os.listdir(tmp_path / "out") == ["new.txt"]

    def test_os_error_is_one_line_naming_the_folder(self, tmp_path):
        with pytest.raises(OutputError, match=r"out: cannot be written \(No space left"):
            with atomic_folder(tmp_path / "out"):
                raise OSError(28, "No space left on device")
        assert os.listdir(tmp_path) == []

    def test_missing_parent(self, tmp_path):
        with pytest.raises(InputError, match="does not exist"):
            with atomic_folder(tmp_path / "nope" / "out"):
                pass


class TestAtomicPath:
    def test_success_replaces_target(self, tmp_path):
        target = tmp_path / "out.txt"
        target.write_text("old")
        with atomic_path(target) as tmp:
            assert os.path.dirname(tmp) == str(tmp_path)
            assert tmp != str(target)
            with open(tmp, "w") as fh:
                fh.write("new")
            assert target.read_text() == "old"  # not visible before the end
        assert target.read_text() == "new"
        assert os.listdir(tmp_path) == ["out.txt"]

    def test_error_keeps_target_and_removes_temp(self, tmp_path):
        target = tmp_path / "out.txt"
        target.write_text("old")
        with pytest.raises(ValueError, match="nope"):
            with atomic_path(target) as tmp:
                with open(tmp, "w") as fh:
                    fh.write("partial")
                raise ValueError("nope")
        assert target.read_text() == "old"
        assert os.listdir(tmp_path) == ["out.txt"]

    def test_missing_folder(self, tmp_path):
        with pytest.raises(InputError, match="does not exist"):
            with atomic_path(tmp_path / "no" / "out.txt"):
                pass

    def test_relative_path(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        with atomic_path("rel.txt") as tmp:
            with open(tmp, "w") as fh:
                fh.write("ok")
        assert (tmp_path / "rel.txt").read_text() == "ok"


@pytest.mark.parametrize(
    "values, want",
    [
        (["12", "0", "-4"], [12, 0, -4]),
        (["012", "12"], ["012", "12"]),
        (["+1", "2"], ["+1", "2"]),
        (["1.0", "2"], ["1.0", "2"]),
        (["-0", "1"], ["-0", "1"]),
        (["1", None], ["1", None]),
        (["a", "1"], ["a", "1"]),
    ],
)
def test_ids_from_text_turns_only_plain_integers_into_ints(values, want):
    got = ids_from_text(pd.Series(values, dtype=object))
    assert got.tolist() == want


def test_all_or_nothing_writes_all_or_none(tmp_path):
    from softlabels.core.io import all_or_nothing

    frame = pd.DataFrame({"a": [1]})
    (tmp_path / "two.csv").write_text("good\n")
    with pytest.raises(RuntimeError):
        with all_or_nothing():
            write_frame(frame, tmp_path / "one.csv")
            write_frame(frame, tmp_path / "two.csv")
            raise RuntimeError("the third step failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two.csv"]
    assert (tmp_path / "two.csv").read_text() == "good\n"
    with all_or_nothing():
        write_frame(frame, tmp_path / "one.csv")
        write_frame(frame, tmp_path / "two.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.csv", "two.csv"]
    assert (tmp_path / "two.csv").read_text() == "a\n1\n"


def test_all_or_nothing_leaves_no_temporary_file_when_a_move_fails(tmp_path, monkeypatch):
    import softlabels.core.io as io_module

    real, calls = os.replace, []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise PermissionError("locked")
        real(src, dst)

    monkeypatch.setattr(io_module.os, "replace", flaky)
    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(OSError, match=r"two\.csv: cannot be written \(locked\)"):
        with io_module.all_or_nothing():
            for name in ("one.csv", "two.csv", "three.csv"):
                write_frame(frame, tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.csv"]


def test_text_matrices_read_back_bit_for_bit(tmp_path):
    from softlabels.core.io import read_array

    values = np.random.default_rng(0).dirichlet(np.ones(4), size=500)
    pd.DataFrame(values).to_csv(tmp_path / "p.csv", index=False, header=False)
    np.testing.assert_array_equal(read_array(tmp_path / "p.csv"), values)
    labels = np.arange(7) % 3
    pd.DataFrame({"label": labels}).to_csv(tmp_path / "y.csv", index=False)
    got = read_array(tmp_path / "y.csv")
    assert got.dtype == np.int64 and got.tolist() == labels.tolist()


#: Text that pandas reads as a missing value by default, but that is an id or a label
#: when written in an id column (a class "None", the item "NA" for Namibia).
NA_TEXT = ["NA", "None", "null", "nan", "N/A", "NULL", "n/a", "#N/A", "<NA>"]


@pytest.mark.parametrize("sep, name", [(",", "t.csv"), ("\t", "t.tsv")])
def test_id_columns_keep_text_that_pandas_takes_for_missing(tmp_path, sep, name):
    lines = ["item,worker,label"] + [f"{v},w{r},{v}" for r, v in enumerate(NA_TEXT)]
    (tmp_path / name).write_text("\n".join(line.replace(",", sep) for line in lines) + "\n")
    frame = read_table(tmp_path / name, id_columns=("item", "label"))
    assert frame["item"].tolist() == NA_TEXT
    assert frame["label"].tolist() == NA_TEXT
    ann = read_answers(tmp_path / name)
    assert ann.to_frame()["label"].tolist() == NA_TEXT


def test_id_column_with_an_empty_cell_is_still_missing(tmp_path):
    (tmp_path / "t.csv").write_text("item,worker,label\n1,a,x\nNA,b,y\n,c,z\n")
    assert read_table(tmp_path / "t.csv", id_columns=("item",))["item"].isna().tolist() == [
        False, False, True]
    with pytest.raises(InputError, match=r"item column 'item' has 1 missing values \(first in "
                                         r"data row 3\)"):
        read_answers(tmp_path / "t.csv")
    (tmp_path / "n.csv").write_text("item,worker,label\n1,a,x\n,b,y\n3,c,z\n")
    assert read_table(tmp_path / "n.csv", id_columns=("item",))["item"].isna().sum() == 1
