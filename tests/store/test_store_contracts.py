"""The store's contracts checked against references written here: each codec's
encoding rule, the fidelity and sizes a store records, and what reads return after
appends."""

from __future__ import annotations

import numpy as np
import pytest

from softlabels import SoftLabels
from softlabels.store import LabelStore, TopK

C = 5


def _soft(n: int, ids, seed: int = 0) -> SoftLabels:
    p = np.random.default_rng(seed).dirichlet(np.full(C, 0.5), size=n)
    return SoftLabels(p, [f"c{j}" for j in range(C)], ids)


@pytest.mark.parametrize(("first", "then"), [(np.int32, np.int64), (np.int64, np.int32),
                                             (np.uint64, np.int64), (np.int16, np.uint32)])
def test_appended_integer_ids_of_another_width_read_back(tmp_path, first, then):
    """Integer ids are one kind whatever their numpy width: a store created with
    int32 ids and appended with int64 ones reads back whole, as if written at once."""
    a, b = _soft(4, np.arange(4, dtype=first)), _soft(3, np.arange(4, 7, dtype=then), seed=1)
    store = LabelStore.create(tmp_path / "s", a, TopK(2), items_per_group=2)
    store.append(b)
    once = LabelStore.create(tmp_path / "once", SoftLabels(
        np.vstack([a.probs, b.probs]), a.classes, np.arange(7)), TopK(2), items_per_group=2)
    for reader in (store, LabelStore(tmp_path / "s")):
        assert reader.item_ids().tolist() == list(range(7))
        whole = reader.read()
        assert whole.item_ids.tolist() == list(range(7))
        np.testing.assert_array_equal(whole.probs, once.read().probs)
        picked = reader.read(ids=[6, 1, 4])
        np.testing.assert_array_equal(picked.probs, once.read().probs[[6, 1, 4]])


def test_unsigned_ids_past_int64_are_kept(tmp_path):
    """Ids such as 64-bit hashes, past int64, are stored as they are; smaller ids
    appended after them read back with them."""
    big = np.array([2**64 - 1, 2**63, 5], dtype=np.uint64)
    store = LabelStore.create(tmp_path / "s", _soft(3, big), TopK(2), items_per_group=2)
    store.append(_soft(2, np.array([7, 8], dtype=np.int64), seed=1))
    expected = [2**64 - 1, 2**63, 5, 7, 8]
    for reader in (store, LabelStore(tmp_path / "s")):
        assert reader.item_ids().tolist() == expected
        assert reader.read(ids=np.array([8, 2**63], dtype=np.uint64)).item_ids.tolist() == [8, 2**63]


def test_a_store_whose_parts_hold_ids_of_two_widths_reads_back(tmp_path):
    """Parts written with int32 ids beside parts with int64 ones (as earlier versions
    wrote them) read back together."""
    import json

    import pyarrow.parquet as pq

    store = LabelStore.create(tmp_path / "s", _soft(4, np.arange(4)), TopK(2), items_per_group=2)
    store.append(_soft(3, np.arange(4, 7), seed=1))
    expected = store.read().probs
    first = json.loads((tmp_path / "s" / "manifest.json").read_text())["parts"][0]["file"]
    table = pq.read_table(tmp_path / "s" / first)
    i = table.schema.get_field_index("item")
    table = table.set_column(i, "item", table.column(i).cast("int32"))
    pq.write_table(table, tmp_path / "s" / first, row_group_size=2, use_dictionary=False)
    again = LabelStore(tmp_path / "s")
    assert again.item_ids().tolist() == list(range(7))
    np.testing.assert_array_equal(again.read().probs, expected)
    np.testing.assert_array_equal(again.read(ids=[5, 0]).probs, expected[[5, 0]])


@pytest.mark.parametrize("k", [1, 5])
def test_the_stored_tail_of_float32_rows_is_their_mass_outside_the_top_k(k):
    """TopK(values="log8") and TopKPacked store in slot 0 the mass outside the top k,
    to half a step of their log scale: for a float32 softmax (a model's output) too,
    where a float32 difference ``sum(row) - sum(top k)`` loses the digits of a small
    tail."""
    import math

    from softlabels.store import TopKPacked

    rng = np.random.default_rng(0)
    c = 1000
    z = (rng.normal(size=(600, c)) * 10).astype(np.float32)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    exact = np.sort(p.astype(np.float64), axis=1)[:, : c - k].sum(axis=1)  # reference
    for codec, bits in ((TopK(k, values="log8"), 8), (TopKPacked(k), 6)):
        enc = codec.encode(p)
        codes = enc["values"][:, 0] if bits == 8 else enc["words"][:, 0] & 63
        top = 2**bits - 1
        step = -math.log(codec.floor) / (top - 1)
        stored = codec.floor * np.exp(step * (codes.astype(float) - 1))
        big = exact >= codec.floor
        assert (np.abs(np.log(stored[big] / exact[big])) <= step / 2 * (1 + 1e-6)).all(), codec


# ------------------------------------------------------------ codecs against references
# Each reference follows the codec's docstring, written without the library's helpers.
def _edge_rows(c: int) -> np.ndarray:
    """One-hot, uniform, tiny entries, a row off 1 by 1e-9, and random rows."""
    rng = np.random.default_rng(c)
    rows = [np.eye(c)[0], np.eye(c)[c - 1], np.full(c, 1 / c)]
    if c > 2:
        tiny = np.zeros(c)
        tiny[1:3] = 1e-300
        tiny[0] = 1.0
        rows.append(tiny)
        off = rng.dirichlet(np.ones(c))
        rows.append(off * (1 + 1e-9))
    rows += list(rng.dirichlet(np.full(c, 0.3), size=20))
    sparse = rng.dirichlet(np.full(c, 0.5), size=10)
    sparse[rng.random(sparse.shape) < 0.5] = 0.0
    sparse[sparse.sum(axis=1) == 0, 0] = 1.0
    rows += list(sparse / sparse.sum(axis=1, keepdims=True))
    return np.array(rows)


def _keep_support(original: np.ndarray, stored: np.ndarray, smallest: float) -> np.ndarray:
    out = stored.copy()
    out[(out == 0) & (original > 0)] = smallest
    return out


def _ref_bfloat16(x: np.ndarray) -> np.ndarray:
    """float32 values rounded to 8 significant bits, to nearest, ties to even."""
    x = np.asarray(x, dtype=np.float32).astype(np.float64)
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2(np.where(x > 0, x, 1.0)))
    ulp = 2.0 ** (np.maximum(e, -126) - 7)
    return np.where(x > 0, np.rint(x / ulp) * ulp, 0.0)


def _ref_float(x: np.ndarray, kind: str) -> np.ndarray:
    if kind == "bfloat16":
        return _keep_support(x, _ref_bfloat16(x), 2.0**-133)
    stored = np.asarray(x).astype(kind).astype(np.float64)
    return _keep_support(x, stored, float(np.finfo(kind).smallest_subnormal))


def _ref_log_levels(bits: int, floor: float) -> np.ndarray:
    """Code 0 is 0; codes 1 .. 2**bits - 1 are evenly spaced in log from floor to 1."""
    levels = np.exp(np.linspace(np.log(floor), 0.0, 2**bits - 1))
    levels[-1] = 1.0
    return np.concatenate([[0.0], levels])


def _ref_log_code(x: np.ndarray, bits: int, floor: float) -> np.ndarray:
    """The level nearest in log to each value (values below the floor take it)."""
    levels = _ref_log_levels(bits, floor)
    dist = np.abs(np.log(np.maximum(x, floor))[..., None] - np.log(levels[1:]))
    return np.where(x > 0, dist.argmin(axis=-1) + 1, 0)


def _ref_top_k(p: np.ndarray, k: int):
    """The k largest by decreasing value (lowest class first among equal values) and
    the mass of the others."""
    order = np.argsort(-p, axis=1, kind="stable")
    top = order[:, :k]
    tail = np.take_along_axis(p, order[:, k:], axis=1).sum(axis=1)
    return top, np.take_along_axis(p, top, axis=1), tail


def _ref_rebuild(idx, vals, c, fill):
    n, k = vals.shape
    q = np.zeros((n, c))
    for i in range(n):
        v, s = vals[i].astype(np.float64), vals[i].sum()
        if s <= 0:  # nothing stored: uniform (over the top k for renorm)
            q[i] = 1 / c if fill == "marginal" else 0.0
            q[i, idx[i]] = 1 / c if fill == "marginal" else 1 / k
            continue
        other = 0.0
        if fill == "marginal" and k < c and s <= 1:
            other = (1 - s) / (c - k)
        else:
            v = v / s
        q[i] = other
        q[i, idx[i]] = v
    return q


def _ref_tail_slot(codes: np.ndarray, bits: int, floor: float) -> np.ndarray:
    """Slot 0 holds the tail; the top value is 1 - tail - the others (at least the
    second value, the k values then rescaled to 1 - tail)."""
    v = _ref_log_levels(bits, floor)[codes]
    tail = v[:, 0].copy()
    top = 1 - tail - v[:, 1:].sum(axis=1)
    if v.shape[1] > 1:
        top = np.maximum(top, v[:, 1])
    v[:, 0] = np.maximum(top, 0)
    total, target = v.sum(axis=1), np.maximum(1 - tail, 0)
    over = total > target * (1 + 1e-6)
    v[over] *= (target[over] / total[over])[:, None]
    return v


def _untied(p: np.ndarray, k: int) -> np.ndarray:
    s = -np.sort(-p, axis=1)
    return np.ones(len(p), bool) if k >= p.shape[1] else s[:, k - 1] != s[:, k]


def _kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    from scipy.special import rel_entr

    # rows that sum to 1 only within rounding can give a KL a little below 0: it is 0
    return np.maximum(rel_entr(p, q).sum(axis=1), 0.0)


@pytest.fixture(params=[(c, dt) for dt in ("float64", "float32") for c in (1, 2, 3, 7, 40)],
                ids=lambda v: f"{v[1]}-{v[0]}")
def edge_rows(request):
    """The rows of :func:`_edge_rows` in float64 or float32, the same as float64, and C."""
    c, dtype = request.param
    p = _edge_rows(c).astype(dtype)
    return p, p.astype(np.float64), c


def test_dense_logquant_and_sparse_match_their_references(edge_rows):
    from softlabels.store import Dense, LogQuant, Sparse

    p, x, c = edge_rows
    for kind in ("float32", "float16", "bfloat16"):
        ref = _ref_float(p, kind)
        np.testing.assert_allclose(Dense(kind).decode(Dense(kind).encode(p), c),
                                   ref / ref.sum(axis=1, keepdims=True), rtol=1e-12, atol=0)
    for floor in (1e-7, 1e-2):
        codec = LogQuant(floor=floor)
        enc = codec.encode(p)
        code = _ref_log_code(x, 8, floor)
        near_half = np.abs(np.log(np.maximum(x, floor)) - np.log(floor)) / (-np.log(floor) / 254) % 1
        sure = np.abs(near_half - 0.5) > 1e-6  # not on a rounding boundary
        np.testing.assert_array_equal(enc["codes"][sure], code[sure])
        ref = _ref_log_levels(8, floor)[enc["codes"]]
        np.testing.assert_allclose(codec.decode(enc, c), ref / ref.sum(axis=1, keepdims=True), rtol=1e-12)
    for kind in ("float32", "float64"):
        codec = Sparse(values=kind)
        enc = codec.encode(p)
        assert enc["offsets"].tolist() == np.concatenate([[0], np.cumsum((p > 0).sum(axis=1))]).tolist()
        ref = _ref_float(x, "float32") if kind == "float32" else x
        np.testing.assert_allclose(codec.decode(enc, c), ref / ref.sum(axis=1, keepdims=True), rtol=1e-12)
        index_bytes, value_bytes = 4, 4 if kind == "float32" else 8
        assert codec.nbytes(enc) == 8 * (len(p) + 1) + (p > 0).sum() * (index_bytes + value_bytes)


def test_top_k_codecs_match_their_reference(edge_rows):
    import math

    from softlabels.store import TopKPacked

    p, x, c = edge_rows
    for k in sorted({1, 2, 3, c} & set(range(1, c + 1))):
        idx, vals, tail = _ref_top_k(x, k)
        untied = _untied(x, k)
        codecs = [(TopK(k, index="int32", values=v, fill=f), v) for v in ("float32", "float16", "bfloat16", "log8")
                  for f in ("marginal", "renorm")]
        codecs += [(TopKPacked(k, fill=f), "packed") for f in ("marginal", "renorm")]
        for codec, values in codecs:
            enc = codec.encode(p)
            q = codec.decode(enc, c)
            if values == "packed":
                bits = 16 - max(1, math.ceil(math.log2(c))) if c > 1 else 15
                got_idx, codes = enc["words"] >> bits, (enc["words"] & ((1 << bits) - 1)).astype(np.int64)
            else:
                got_idx, codes = enc["indices"], enc["values"]
            np.testing.assert_array_equal(got_idx[untied], idx[untied])
            if values in ("float32", "float16", "bfloat16"):
                stored = _ref_float(np.take_along_axis(x, got_idx.astype(int), axis=1), values)
            else:
                bits = 8 if values == "log8" else bits
                slots = np.take_along_axis(x, got_idx.astype(int), axis=1)
                slots[:, 0] = tail
                np.testing.assert_array_equal(codes, _ref_log_code(slots, bits, codec.floor))
                stored = _ref_tail_slot(codes, bits, codec.floor)
            ref = _ref_rebuild(got_idx, stored, c, codec.fill)
            np.testing.assert_allclose(q, ref, rtol=1e-9, atol=1e-15)
            # at a tie at the k-th place, any of the tied classes is as good
            kl = _kl(x, q)
            ref_kl = _kl(x, _ref_rebuild(idx, stored, c, codec.fill))
            np.testing.assert_allclose(kl, ref_kl, rtol=1e-9, atol=1e-15)
            f = codec.fidelity(p)
            assert f.mean_kl == pytest.approx(kl.mean(), rel=1e-9) or f.mean_kl == kl.mean() == np.inf
            assert f.max_abs_error == pytest.approx(np.abs(x - q).max(), rel=1e-12, abs=1e-300)
            assert codec.nbytes(enc) == len(p) * codec.bytes_per_label(c)


# ------------------------------------------------------------ what a store records
@pytest.mark.parametrize("views", [False, True], ids=["items", "views"])
@pytest.mark.parametrize("codec_name", ["topk", "topk-packed", "sparse", "logquant", "renorm"])
def test_recorded_fidelity_and_sizes_are_those_of_the_rows_read_back(tmp_path, views, codec_name):
    """After a create and two appends, the store's fidelity is KL(original ‖ read
    back) and the largest error over all rows, and its bytes per row those of the
    codec's arrays (plus a float16 box and a flip byte per view)."""
    from softlabels.store import LogQuant, Sparse, TopKPacked, ViewLabels, codec_from_spec

    codec = {"topk": TopK(2, values="log8"), "topk-packed": TopKPacked(3), "sparse": Sparse(index="int16"),
             "logquant": LogQuant(floor=1e-4), "renorm": TopK(1, fill="renorm")}[codec_name]
    rng = np.random.default_rng(4)
    batches = []
    for b, n in enumerate((7, 5, 9)):
        p = rng.dirichlet(np.full(C, 0.4), size=n)
        p[rng.random(p.shape) < 0.3] = 0.0
        p[p.sum(axis=1) == 0, 0] = 1.0
        p /= p.sum(axis=1, keepdims=True)
        ids = np.arange(100 * b, 100 * b + n)
        if views:
            batches.append(ViewLabels(p, list("abcde"), ids // 2, boxes=rng.random((n, 4)),
                                      flips=rng.random(n) < 0.5))
        else:
            batches.append(SoftLabels(p, list("abcde"), ids))
    store = LabelStore.create(tmp_path / "s", batches[0], codec, items_per_group=2)
    for b in batches[1:]:
        store.append(b)
    store = LabelStore(tmp_path / "s")
    original = np.vstack([b.probs for b in batches])
    back = store.read().probs
    kl = _kl(original, back)
    fid = store.fidelity
    assert fid.n_rows == len(original) == store.n_rows
    assert fid.max_abs_error == pytest.approx(np.abs(original - back).max(), rel=1e-12)
    assert fid.max_kl == pytest.approx(kl.max(), rel=1e-9, abs=1e-15)
    assert fid.mean_kl == pytest.approx(kl.mean(), rel=1e-9, abs=1e-15)
    assert codec_from_spec(codec.spec()) == store.codec
    if codec_name == "sparse":  # offsets (int64, one more than the rows of each part), then 2 + 4 bytes a value
        label_bytes = sum(8 * (len(b.probs) + 1) + 6 * int((b.probs > 0).sum()) for b in batches)
    else:
        label_bytes = len(original) * codec.bytes_per_label(C)
    extra = 9 * len(original) if views else 0
    assert store.nbytes() == label_bytes + extra
    assert store.info()["bytes_per_row"] == pytest.approx((label_bytes + extra) / len(original))


@pytest.mark.parametrize(
    "classes",
    [[3, 1, 4, 0, 2], [0.5, -1.25, 2.0, 1e-3, 7.5], ["b", "a", "é", "", "c c"],
     np.array([40, 10, 30, 20, 0], dtype=np.int8)],
    ids=["ints", "floats", "strings", "int8"],
)
def test_classes_keep_their_order_and_type_through_a_store(tmp_path, classes):
    from softlabels.store import Dense

    p = np.random.default_rng(0).dirichlet(np.ones(C), size=4)
    store = LabelStore.create(tmp_path / "s", SoftLabels(p, classes, [5, 6, 7, 8]), Dense("float32"))
    store.append(SoftLabels(p, classes, [9, 10, 11, 12]))
    expected = np.asarray(classes).tolist()
    for reader in (store, LabelStore(tmp_path / "s")):
        back = reader.read()
        assert reader.classes.tolist() == expected == back.classes.tolist()
        assert [type(v) for v in back.classes.tolist()] == [type(v) for v in expected]
        np.testing.assert_allclose(back.probs[:4], p, rtol=1e-6)
        assert back.item_ids.tolist() == list(range(5, 13))


def test_views_appended_read_back_as_views_written_at_once(tmp_path):
    """A store of views created and appended to reads back, in every way (whole, by
    position, by id, a row group at a time, as top-k), as one written at once."""
    from softlabels.store import ViewLabels

    rng = np.random.default_rng(2)
    counts = [3, 1, 4, 2, 2, 5, 1]
    ids = np.repeat([f"img{i}" for i in range(len(counts))], counts)
    n = len(ids)
    whole = ViewLabels(rng.dirichlet(np.full(C, 0.3), size=n), list("vwxyz"), ids,
                       boxes=rng.random((n, 4)), flips=rng.random(n) < 0.5, provenance={"crops": 1})
    cut = int(np.cumsum(counts)[2])

    def rows(lo, hi):
        return ViewLabels(whole.probs[lo:hi], whole.classes, whole.item_ids[lo:hi],
                          boxes=whole.boxes[lo:hi], flips=whole.flips[lo:hi], provenance={"crops": 1})

    codec = TopK(2, values="log8")
    once = LabelStore.create(tmp_path / "once", whole, codec, items_per_group=2)
    parts = LabelStore.create(tmp_path / "parts", rows(0, cut), codec, items_per_group=2)
    parts.append(rows(cut, n))
    parts = LabelStore(tmp_path / "parts")
    assert parts.item_ids().tolist() == once.item_ids().tolist()
    assert parts.row_offsets().tolist() == once.row_offsets().tolist()
    assert parts.read().equals(once.read())
    for lo, hi in [(0, 7), (2, 5), (-3, None), (3, 3)]:
        assert parts.read(lo, hi).equals(once.read(lo, hi))
    picked = ["img5", "img0", "img3"]
    assert parts.read(ids=picked).equals(once.read(ids=picked))
    for a, b in zip(parts.read_encoded(ids=picked).decode_topk(), once.read_encoded().decode_topk()):
        offs = once.row_offsets()
        sel = np.concatenate([np.arange(offs[i], offs[i + 1]) for i in (5, 0, 3)])
        np.testing.assert_array_equal(a, b[sel])
    blocks = [blk.decode() for blk in parts.iter_encoded(3)]
    np.testing.assert_array_equal(np.vstack(blocks), once.read().probs)


@pytest.mark.parametrize("empty_ids", [None, [], np.array([], dtype=str)], ids=["default", "list", "str"])
@pytest.mark.parametrize("new_ids", [["a", "b", "c"], [7, 8, 9]], ids=["str", "int"])
def test_a_store_created_empty_then_appended_reads_by_id(tmp_path, empty_ids, new_ids):
    """Creating an empty store and appending to it is a way to write a store in
    batches: its ids (whatever the empty labels' id type) and reads by id are those
    of the appended rows."""
    empty = SoftLabels(np.zeros((0, C)), [f"c{j}" for j in range(C)], empty_ids)
    store = LabelStore.create(tmp_path / "s", empty, TopK(2))
    rows = _soft(3, new_ids)
    store.append(rows)
    for reader in (store, LabelStore(tmp_path / "s")):
        assert reader.item_ids().tolist() == new_ids
        picked = reader.read(ids=[new_ids[2], new_ids[0]])
        assert picked.item_ids.tolist() == [new_ids[2], new_ids[0]]
        np.testing.assert_array_equal(picked.probs, reader.read().probs[[2, 0]])
