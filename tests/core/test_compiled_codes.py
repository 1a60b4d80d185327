"""The compiled builders of Annotations (numba extra) and the counting shortcuts give
exactly what pandas and scipy give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from softlabels import _compiled
from softlabels.core.annotations import Annotations, _small_int_codes, class_list, codes_in
from softlabels.core.soft import SoftLabels, row_argmax
from softlabels.core.errors import InputError

FIELDS = ["item", "worker", "label", "item_ids", "worker_ids", "classes"]


def _frames():
    rng = np.random.default_rng(0)
    n = 3000
    for dtype in (np.int64, np.int32, np.uint8, np.uint64):
        yield pd.DataFrame({"item": rng.integers(0, 400, n).astype(dtype),
                            "worker": rng.integers(0, 60, n).astype(dtype),
                            "label": rng.integers(0, 5, n).astype(dtype)})
    # long rows (more than 32 answers per item) and repeated answers
    yield pd.DataFrame({"item": rng.integers(0, 15, n), "worker": rng.integers(0, 40, n),
                        "label": rng.integers(-2, 2, n).astype(np.int8)})
    # ids too large for the lookup table, text ids, nullable integers: the pandas path
    yield pd.DataFrame({"item": rng.integers(10**12, 10**12 + 50, n),
                        "worker": rng.integers(0, 40, n).astype(str),
                        "label": pd.array(rng.integers(0, 3, n), dtype="Int64")})


def _build(frame, monkeypatch, compiled: bool, **kwargs):
    monkeypatch.setattr(_compiled, "MIN_ANSWERS", 0)
    monkeypatch.setenv(_compiled.ENV_SWITCH, "1" if compiled else "0")
    ann = Annotations.from_frame(frame, **kwargs)
    matrix = ann.item_pair_matrix
    return ann, matrix, ann.pair_item_matrix, ann.counts, ann.answers_per_item


@pytest.mark.parametrize("frame", list(_frames()))
@pytest.mark.parametrize("duplicates", ["keep", "last"])
def test_compiled_annotations_are_the_pandas_ones(monkeypatch, frame, duplicates):
    pytest.importorskip("numba")
    plain = _build(frame, monkeypatch, False, duplicates=duplicates)
    fast = _build(frame, monkeypatch, True, duplicates=duplicates)
    assert _compiled.common(len(frame)) is not None
    for field in FIELDS:
        a, b = getattr(plain[0], field), getattr(fast[0], field)
        assert a.dtype == b.dtype, field
        np.testing.assert_array_equal(a, b)
    for a, b in zip(plain[1:3], fast[1:3]):  # the item x pair matrix and its transpose
        assert a.shape == b.shape and b.has_canonical_format
        for part in ("indptr", "indices", "data"):
            assert getattr(a, part).dtype == getattr(b, part).dtype, part
            np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    for a, b in zip(plain[3:], fast[3:]):  # counts per label, answers per item
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_repeated_answers_are_summed(monkeypatch):
    pytest.importorskip("numba")
    frame = pd.DataFrame({"item": [0, 0, 0, 1], "worker": [3, 3, 1, 3], "label": [1, 1, 0, 1]})
    ann, matrix, transposed, counts, per_item = _build(frame, monkeypatch, True)
    # pairs: worker code 0 (id 3), 1 (id 1); 2 classes; pair = worker * 2 + label
    assert matrix.toarray().tolist() == [[0, 2, 1, 0], [0, 1, 0, 0]]
    assert transposed.toarray().tolist() == matrix.toarray().T.tolist()
    assert counts.tolist() == [[1, 2], [0, 1]] and per_item.tolist() == [3, 1]


def test_factorize_declines_what_it_cannot_code(monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setattr(_compiled, "MIN_ANSWERS", 0)
    assert _compiled.factorize(np.array([3, -1, 3])) is None  # negative
    assert _compiled.factorize(np.array([0, 10**9])) is None  # too sparse for a table
    assert _compiled.factorize(np.array([0.5, 1.0])) is None  # not integers
    codes, uniques = _compiled.factorize(np.array([7, 2, 7, 0, 2]))
    assert codes.tolist() == [0, 1, 0, 2, 1] and uniques.tolist() == [7, 2, 0]
    monkeypatch.setattr(_compiled, "MIN_ANSWERS", 10)
    assert _compiled.factorize(np.array([7, 2, 7])) is None  # too few to pay numba's import


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.uint16, np.uint64])
def test_small_integer_labels_by_counting(dtype):
    rng = np.random.default_rng(1)
    values = rng.choice(np.array([9, 3, 4, 120], dtype=dtype), 500)
    labels = pd.Series(values)
    codes, classes = _small_int_codes(labels)
    expected = class_list(labels, None)
    assert classes.dtype == expected.dtype
    np.testing.assert_array_equal(classes, expected)
    np.testing.assert_array_equal(codes, codes_in(labels, expected))
    assert classes.tolist() == [3, 4, 9, 120]


def test_small_integer_labels_near_the_uint64_top():
    top = np.iinfo(np.uint64).max
    labels = pd.Series(np.array([top, top - 5, top], dtype=np.uint64))
    codes, classes = _small_int_codes(labels)
    assert codes.tolist() == [1, 0, 1] and classes.tolist() == [int(top) - 5, int(top)]


def test_wide_or_text_labels_are_not_counted():
    assert _small_int_codes(pd.Series([0, 1 << 20])) is None
    assert _small_int_codes(pd.Series(["a", "b"])) is None
    assert _small_int_codes(pd.Series([1.0, 2.0])) is None


def test_row_argmax_is_numpys():
    rng = np.random.default_rng(2)
    for k in (1, 2, 5, 40):
        a = rng.integers(0, 3, size=(300, k)).astype(float)  # many ties
        np.testing.assert_array_equal(row_argmax(a), a.argmax(axis=1))
    assert row_argmax(np.array([[0.2, 0.5, 0.5, 0.1]])).tolist() == [1]


@pytest.mark.parametrize("ids", [[5, 3, 5], [2**62, 0, 2**62]])
def test_repeated_integer_ids_are_still_refused(ids):
    with pytest.raises(InputError, match="appears more than once"):
        SoftLabels(np.full((3, 2), 0.5), ["a", "b"], item_ids=np.array(ids))
