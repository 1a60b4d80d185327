"""core.io.read_array: numeric arrays from .npy, CSV/TSV (optionally gzipped) and Parquet."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from softlabels import InputError
from softlabels.core.io import read_array

X2 = np.array([[0.5, -1.25, 3.0], [2.0, 0.0, 1e-3], [7.5, 8.0, -9.0]])


def write_csv(path, rows, sep=","):
    path.write_text("".join(sep.join(str(c) for c in row) + "\n" for row in rows))
    return path


class TestRoundTrips:
    @pytest.mark.parametrize("arr", [X2, np.arange(5), np.array([True, False]), np.ones((2, 3, 4))])
    def test_npy_keeps_values_dtype_and_shape(self, tmp_path, arr):
        np.save(tmp_path / "a.npy", arr)
        out = read_array(tmp_path / "a.npy")
        assert out.dtype == arr.dtype and out.shape == arr.shape
        np.testing.assert_array_equal(out, arr)

    @pytest.mark.parametrize("header", [True, False])
    @pytest.mark.parametrize("name, sep", [("a.csv", ","), ("a.tsv", "\t"), ("a.txt", ",")])
    def test_text_2d(self, tmp_path, header, name, sep):
        rows = ([["f0", "f1", "f2"]] if header else []) + [[repr(float(v)) for v in r] for r in X2]
        out = read_array(write_csv(tmp_path / name, rows, sep))
        assert out.dtype == np.float64
        np.testing.assert_array_equal(out, X2)

    @pytest.mark.parametrize("header", [True, False])
    def test_single_column_gives_1d_integers(self, tmp_path, header):
        rows = ([["label"]] if header else []) + [[v] for v in [2, 0, 1, 1]]
        out = read_array(write_csv(tmp_path / "y.csv", rows))
        assert out.shape == (4,) and out.dtype == np.int64
        np.testing.assert_array_equal(out, [2, 0, 1, 1])

    def test_integers_and_floats_mixed_give_float(self, tmp_path):
        out = read_array(write_csv(tmp_path / "m.csv", [[1, 2.5], [3, 4]]))
        assert out.dtype == np.float64
        np.testing.assert_array_equal(out, [[1.0, 2.5], [3.0, 4.0]])

    def test_quoted_numbers_spaces_and_trailing_blank_lines(self, tmp_path):
        (tmp_path / "q.csv").write_text('"a","b"\n"1", 2\n 3 ,4e0\n\n\n')
        np.testing.assert_array_equal(read_array(tmp_path / "q.csv"), [[1, 2], [3, 4]])

    def test_header_with_one_numeric_name_is_still_a_header(self, tmp_path):
        out = read_array(write_csv(tmp_path / "h.csv", [["1", "b"], [5, 6]]))
        np.testing.assert_array_equal(out, [[5, 6]])

    @pytest.mark.parametrize("name, sep", [("a.csv.gz", ","), ("a.TSV.GZ", "\t")])
    def test_gzipped_text(self, tmp_path, name, sep):
        text = "x" + sep + "y\n" + "".join(f"{a}{sep}{b}\n" for a, b in X2[:, :2])
        with gzip.open(tmp_path / name, "wt") as fh:
            fh.write(text)
        np.testing.assert_array_equal(read_array(tmp_path / name), X2[:, :2])

    def test_parquet_2d_and_1d(self, tmp_path):
        pd.DataFrame(X2, columns=["a", "b", "c"]).to_parquet(tmp_path / "x.parquet")
        np.testing.assert_array_equal(read_array(tmp_path / "x.parquet"), X2)
        pd.DataFrame({"y": [3, 1, 2]}).to_parquet(tmp_path / "y.pq")
        out = read_array(tmp_path / "y.pq")
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out, [3, 1, 2])


class TestBadContent:
    def test_text_in_npy(self, tmp_path):
        (tmp_path / "a.npy").write_text("1,2\n3,4\n")
        with pytest.raises(InputError, match=r"a\.npy: not a NumPy \.npy file"):
            read_array(tmp_path / "a.npy")

    def test_truncated_npy(self, tmp_path):
        np.save(tmp_path / "a.npy", X2)
        data = (tmp_path / "a.npy").read_bytes()
        (tmp_path / "a.npy").write_bytes(data[:-10])
        with pytest.raises(InputError, match=r"a\.npy: not a readable \.npy file"):
            read_array(tmp_path / "a.npy")

    @pytest.mark.parametrize("shape, said", [
        (b"((3, 3) ", r"not a readable \.npy file \(damaged header: EOF in multi-line "
                      r"statement\)\.$"),  # an unclosed bracket
        (b"(10000000000, 3)", r"not a readable \.npy file \(the header says shape "
                              r"\(10000000000, 3\) of float64, 240,000,000,000 bytes, but 72 "
                              r"bytes follow"),
    ])
    def test_damaged_npy_header(self, tmp_path, shape, said):
        # a corrupt header is a file error, not a tokenizer error or a huge allocation
        np.save(tmp_path / "a.npy", X2)
        data = (tmp_path / "a.npy").read_bytes()
        end = data.index(b"\n") + 1
        header = data[:end].replace(b"(3, 3)", shape)
        (tmp_path / "a.npy").write_bytes(header[:end - 1].ljust(end - 1) + b"\n" + data[end:])
        with pytest.raises(InputError, match=r"^\S*a\.npy: " + said):
            read_array(tmp_path / "a.npy")

    def test_object_npy(self, tmp_path):
        np.save(tmp_path / "o.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
        with pytest.raises(InputError, match=r"o\.npy: holds a pickled object array"):
            read_array(tmp_path / "o.npy")

    @pytest.mark.parametrize("arr", [np.array(["a", "b"]), np.array(3.0), np.array([1 + 2j])])
    def test_non_numeric_or_scalar_npy(self, tmp_path, arr):
        np.save(tmp_path / "s.npy", arr)
        with pytest.raises(InputError, match=r"s\.npy: expected a numeric array"):
            read_array(tmp_path / "s.npy")

    def test_nan_in_npy_names_the_index(self, tmp_path):
        arr = X2.copy()
        arr[2, 1] = np.nan
        np.save(tmp_path / "n.npy", arr)
        with pytest.raises(InputError, match=r"1 values are not finite.*index \(2, 1\)"):
            read_array(tmp_path / "n.npy")

    def test_empty_npy(self, tmp_path):
        np.save(tmp_path / "e.npy", np.zeros((0, 3)))
        with pytest.raises(InputError, match=r"e\.npy: the file holds no values"):
            read_array(tmp_path / "e.npy")

    @pytest.mark.parametrize("cell", ["nan", "NaN", "inf", "-inf", "abc", "1,5"])
    def test_bad_cell_names_line_and_column(self, tmp_path, cell):
        (tmp_path / "b.tsv").write_text(f"a\tb\n1\t2\n3\t{cell}\n5\tx\n")
        with pytest.raises(InputError, match=rf"b\.tsv: line 3, column 2 \('b'\): '{cell}' is not"):
            read_array(tmp_path / "b.tsv")

    @pytest.mark.parametrize("cell", ["1_0", "0_5", "\u0661", "\uff11", "1e1_0"])
    def test_spellings_only_python_reads_as_numbers(self, tmp_path, cell):
        # Python's int() and float() read digit separators and non-ASCII digits; no CSV
        # reader does, and 1_0 is not the 10 a user meant
        (tmp_path / "b.tsv").write_text(f"a\tb\n1\t2\n3\t{cell}\n", encoding="utf-8")
        with pytest.raises(InputError, match=rf"b\.tsv: line 3, column 2 \('b'\): '{cell}' is not"):
            read_array(tmp_path / "b.tsv")

    def test_long_bad_cell_is_shown_shortened(self, tmp_path):
        (tmp_path / "b.csv").write_text(f"a,b\n1,2\n3,{'x' * 100_000}\n")
        with pytest.raises(InputError, match=rf"b\.csv: line 3, column 2 \('b'\): "
                                             rf"'{'x' * 37}\.\.\.' is not a finite") as info:
            read_array(tmp_path / "b.csv")
        assert len(str(info.value)) < 300

    def test_bad_cell_without_header(self, tmp_path):
        write_csv(tmp_path / "b.csv", [[1, 2], [3, 4], ["nan", 6]])
        with pytest.raises(InputError, match=r"b\.csv: line 3, column 1: 'nan' is not a finite"):
            read_array(tmp_path / "b.csv")

    def test_short_row_and_blank_line_inside(self, tmp_path):
        (tmp_path / "r.csv").write_text("a,b\n1,2\n3\n")
        with pytest.raises(InputError, match=r"line 3, column 2 \('b'\): the cell is empty"):
            read_array(tmp_path / "r.csv")
        (tmp_path / "g.csv").write_text("y\n1\n\n2\n")
        with pytest.raises(InputError, match=r"g\.csv: line 3, column 1 \('y'\): the cell is empty"):
            read_array(tmp_path / "g.csv")

    def test_long_row(self, tmp_path):
        (tmp_path / "r.csv").write_text("1,2\n3,4,5\n")
        with pytest.raises(InputError, match=r"r\.csv: cannot be parsed as csv.*line 2, saw 3"):
            read_array(tmp_path / "r.csv")

    def test_empty_file_and_header_only(self, tmp_path):
        (tmp_path / "e.csv").touch()
        with pytest.raises(InputError, match=r"e\.csv: the file is empty"):
            read_array(tmp_path / "e.csv")
        (tmp_path / "h.csv").write_text("a,b\n")
        with pytest.raises(InputError, match=r"h\.csv: the file has a header but no data rows"):
            read_array(tmp_path / "h.csv")
        (tmp_path / "w.csv").write_text("\n\n")
        with pytest.raises(InputError, match=r"w\.csv: (the file has no data|.*no data rows)"):
            read_array(tmp_path / "w.csv")

    def test_binary_and_parquet_content_in_csv(self, tmp_path):
        np.save(tmp_path / "x.npy", X2)
        (tmp_path / "x.csv").write_bytes((tmp_path / "x.npy").read_bytes())
        with pytest.raises(InputError, match=r"x\.csv: looks like a binary file, not csv text"):
            read_array(tmp_path / "x.csv")
        pd.DataFrame(X2).rename(columns=str).to_parquet(tmp_path / "p.csv")
        with pytest.raises(InputError, match=r"p\.csv: the content is Parquet"):
            read_array(tmp_path / "p.csv")
        (tmp_path / "t.parquet").write_text("a,b\n1,2\n")
        with pytest.raises(InputError, match=r"t\.parquet: the content is not Parquet"):
            read_array(tmp_path / "t.parquet")

    def test_gz_that_is_not_gzip(self, tmp_path):
        (tmp_path / "a.csv.gz").write_text("1,2\n")
        with pytest.raises(InputError, match=r"a\.csv\.gz: cannot be read"):
            read_array(tmp_path / "a.csv.gz")

    def test_parquet_non_numeric_column_and_missing_value(self, tmp_path):
        pd.DataFrame({"a": [1.0, 2.0], "s": ["x", "y"]}).to_parquet(tmp_path / "s.parquet")
        with pytest.raises(InputError, match=r"s\.parquet: column 's' is not numeric"):
            read_array(tmp_path / "s.parquet")
        frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": pd.array([1, None, 3], dtype="Int64")})
        frame.to_parquet(tmp_path / "n.parquet")
        with pytest.raises(InputError, match=r"n\.parquet: row 1, column 'b' is nan"):
            read_array(tmp_path / "n.parquet")

    @pytest.mark.parametrize("name", ["a.json", "a", "a.npy.gz", "a.parquet.gz", "a.npz"])
    def test_unsupported_extension(self, tmp_path, name):
        (tmp_path / name).write_text("1\n")
        with pytest.raises(InputError, match="cannot read an array from a"):
            read_array(tmp_path / name)

    def test_name_is_put_before_the_path(self, tmp_path):
        with pytest.raises(InputError, match=r"^--labels: .*y\.csv: no such file"):
            read_array(tmp_path / "y.csv", name="--labels")
        write_csv(tmp_path / "y.csv", [["y"], ["a"]])
        with pytest.raises(InputError, match=r"^--labels \(.*y\.csv\): line 2, column 1"):
            read_array(tmp_path / "y.csv", name="--labels")
