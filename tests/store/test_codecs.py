"""Codecs: hand-computed cases, error bounds and round-trip properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from softlabels import InputError, SoftLabels
from softlabels.store import (
    Dense,
    LogQuant,
    Sparse,
    TopK,
    TopKPacked,
    ViewLabels,
    codec_from_spec,
    encode,
    fidelity,
)
from softlabels.store.codecs import from_bfloat16, to_bfloat16

ALL_CODECS = [
    Dense("float32"), Dense("float16"), Dense("bfloat16"), LogQuant(),
    TopK(1), TopK(3, index="int16", values="float32"), TopK(3, index="int32", values="bfloat16"),
    TopK(4, values="log8"), TopK(2, values="float16", fill="renorm"), TopK(3, values="log8", fill="renorm"),
    TopKPacked(3), TopKPacked(2, fill="renorm"), Sparse(), Sparse(index="int16", values="float64"),
]


def _probs(seed: int, n: int, c: int, alpha: float, zeros: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(c, alpha), size=n)
    if zeros:
        p[rng.random((n, c)) < 0.4] = 0.0
        p[p.sum(axis=1) == 0, 0] = 1.0
        p /= p.sum(axis=1, keepdims=True)
    return p


matrices = st.builds(
    _probs,
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 12),
    c=st.integers(4, 40),
    alpha=st.sampled_from([0.05, 0.3, 1.0, 5.0]),
    zeros=st.booleans(),
)
codecs = st.sampled_from(ALL_CODECS)


def fits(codec, p) -> bool:
    """Whether ``codec`` can hold the classes of ``p`` (top-k needs k <= C)."""
    return getattr(codec, "k", 0) <= p.shape[1]


# ------------------------------------------------------------------ hand-computed cases
def test_topk_marginal_smoothing_by_hand():
    p = np.array([[0.06, 0.6, 0.04, 0.3]])
    codec = TopK(2, values="float32")
    enc = codec.encode(p)
    assert enc["indices"].tolist() == [[1, 3]]
    np.testing.assert_allclose(enc["values"], [[0.6, 0.3]], rtol=1e-7)
    q = codec.decode(enc, 4)
    np.testing.assert_allclose(q, [[0.05, 0.6, 0.05, 0.3]], rtol=1e-6)
    f = fidelity(p, q)
    kl = 0.06 * math.log(0.06 / 0.05) + 0.04 * math.log(0.04 / 0.05)
    assert f.mean_kl == pytest.approx(kl, rel=1e-5)
    assert f.max_abs_error == pytest.approx(0.01, rel=1e-5)


def test_topk_renormalisation_by_hand():
    p = np.array([[0.06, 0.6, 0.04, 0.3]])
    q = TopK(2, values="float32", fill="renorm").decode(TopK(2, values="float32").encode(p), 4)
    np.testing.assert_allclose(q, [[0, 2 / 3, 0, 1 / 3]], rtol=1e-6)
    assert fidelity(p, q).mean_kl == math.inf  # classes with mass decoded as 0


def test_topk_log8_stores_the_tail_in_the_first_slot():
    p = np.array([[0.7, 0.18, 0.07, 0.05]])
    codec = TopK(2, values="log8", floor=1e-4)
    enc = codec.encode(p)
    step = math.log(1e4) / 254
    # slot 0: the mass outside the top 2 (0.12, position 195.53 on the scale); slot 1: 0.18
    assert (math.log(0.12) - math.log(1e-4)) / step == pytest.approx(195.53, abs=0.01)
    assert enc["values"][0].tolist() == [196 + 1, 207 + 1]
    q = codec.decode(enc, 4)
    assert q[0, 2] == pytest.approx(0.06, rel=0.02)
    assert q[0, 0] == pytest.approx(0.7, rel=0.01)
    assert q.sum() == pytest.approx(1.0)


def test_a_tiny_tail_keeps_its_mass():
    """1 - sum(top k) would round to 0; the tail is summed directly and kept."""
    p = np.full((1, 1000), 1e-19)
    p[0, 7] = 1 - 999e-19
    for codec in (TopK(1, values="log8", floor=1e-30), TopKPacked(1, floor=1e-30)):
        q = codec.decode(codec.encode(p), 1000)
        assert q[0, 7] == pytest.approx(1.0, abs=1e-15) and 0 < q[0, 0] < 1e-17
        assert fidelity(p, q).mean_kl < 1e-15


def test_packed_words_by_hand():
    p = np.zeros((1, 1000))
    p[0, 999] = 0.75
    p[0, 3] = 0.25
    enc = TopKPacked(2, floor=1e-6).encode(p)
    words = enc["words"][0]
    assert (words >> 6).tolist() == [999, 3]  # 10 index bits for 1000 classes
    assert words[0] & 63 == 0  # nothing outside the top 2
    q = TopKPacked(2, floor=1e-6).decode(enc, 1000)
    assert q[0, 999] == pytest.approx(0.75, rel=0.12) and q[0, 3] == pytest.approx(0.25, rel=0.12)
    assert q.sum() == pytest.approx(1.0) and (q[0, :3] == 0).all()
    assert TopKPacked(2).nbytes(enc) == 4 == TopKPacked(2).bytes_per_label(1000)


def test_logquant_codes_by_hand():
    codec = LogQuant(floor=1e-2)
    codes = codec.encode(np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.9 - 1e-5, 0.1, 1e-5]]))["codes"]
    step = math.log(100) / 254
    assert codes[0].tolist() == [255, 0, 0, 0]
    high = round(math.log((0.9 - 1e-5) * 100) / step) + 1
    assert codes[1].tolist() == [0, high, round(math.log(10) / step) + 1, 1]  # 1e-5 -> the floor


def test_bfloat16_bits_by_hand():
    assert to_bfloat16(np.array([1.0, 0.5, -2.0])).tolist() == [0x3F80, 0x3F00, 0xC000]
    # 1 + 2**-8 is halfway between two bfloat16 values: ties to even (down to 1.0)
    assert to_bfloat16(np.array([1 + 2**-8]))[0] == 0x3F80
    assert from_bfloat16(np.array([0x3F80, 0x4040], dtype=np.uint16)).tolist() == [1.0, 3.0]


def test_sparse_by_hand():
    p = np.array([[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])
    codec = Sparse()
    enc = codec.encode(p)
    assert enc["offsets"].tolist() == [0, 2, 3]
    assert enc["indices"].tolist() == [0, 2, 1]
    assert enc["values"].tolist() == [0.5, 0.5, 1.0]
    assert codec.nbytes(enc) == 3 * 8 + 3 * 4 + 3 * 4
    np.testing.assert_array_equal(codec.decode(enc, 3), p)


def test_fidelity_by_hand():
    f = fidelity([[1.0, 0.0], [0.5, 0.5]], [[0.5, 0.5], [0.5, 0.5]])
    assert f.max_abs_error == 0.5
    assert f.mean_kl == pytest.approx(math.log(2) / 2)
    assert f.max_kl == pytest.approx(math.log(2))


def test_bytes_per_label():
    assert Dense("float32").bytes_per_label(1000) == 4000
    assert Dense("bfloat16").bytes_per_label(1000) == 2000
    assert LogQuant().bytes_per_label(1000) == 1000
    assert TopK(5, index="uint16", values="float16").bytes_per_label(1000) == 20  # FKD's 20 B
    assert TopK(5, index="int32", values="float32").bytes_per_label(1000) == 40
    assert TopK(6, values="log8").bytes_per_label(1000) == 18
    p = _probs(0, 7, 1000, 0.3, False)
    for codec in (Dense("float16"), TopK(6, values="log8"), TopKPacked(10)):
        assert codec.nbytes(codec.encode(p)) == 7 * codec.bytes_per_label(1000)


def test_view_bytes_match_fkd_layout():
    """Top-5 fp16 + fp16 box + flip byte: FKD's 29 B per crop."""
    p = _probs(1, 6, 1000, 0.3, False)
    views = ViewLabels(p, np.arange(1000), [0, 0, 0, 1, 1, 1], boxes=np.full((6, 4), 0.5))
    assert encode(views, TopK(5, values="float16")).nbytes() == 6 * 29


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Dense("float8"), "dense dtype"),
        (lambda: TopK(0), "k must be"),
        (lambda: TopK(2, index="int8"), "index must be"),
        (lambda: TopK(2, values="log4"), "values must be"),
        (lambda: TopK(2, fill="zero"), "fill must be"),
        (lambda: LogQuant(floor=0), "floor"),
        (lambda: Sparse(values="float16"), "sparse values"),
        (lambda: codec_from_spec({"codec": "zip"}), "unknown codec"),
        (lambda: codec_from_spec({"codec": "topk", "kk": 3}), "no parameter 'kk'"),
    ],
)
def test_bad_parameters_are_named(make, match):
    with pytest.raises(InputError, match=match):
        make()


def test_codecs_refuse_what_they_cannot_hold():
    with pytest.raises(InputError, match="k=5 is more than the 4 classes"):
        TopK(5).encode(np.full((1, 4), 0.25))
    with pytest.raises(InputError, match="int16 holds at most 32768"):
        TopK(1, index="int16").encode(np.full((1, 40000), 1 / 40000))
    with pytest.raises(InputError, match="at most 4096"):
        TopKPacked(1).encode(np.full((1, 5000), 1 / 5000))
    with pytest.raises(InputError, match="non-negative"):
        Dense().encode([[1.5, -0.5]])
    with pytest.raises(InputError, match="NaN"):
        Dense().encode([[np.nan, 1.0]])


def test_spec_round_trip():
    for codec in ALL_CODECS:
        assert codec_from_spec(codec.spec()) == codec


# ------------------------------------------------------------------ properties
@settings(max_examples=60)
@given(p=matrices, codec=codecs)
def test_decoded_rows_are_distributions_of_the_right_shape(p, codec):
    assume(fits(codec, p))
    enc = codec.encode(p)
    assert codec.n_rows(enc) == p.shape[0]
    for dtype in (np.float64, np.float32):
        q = codec.decode(enc, p.shape[1], dtype=dtype)
        assert q.shape == p.shape and q.dtype == dtype
        assert (q >= 0).all()
        np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-5)


@settings(max_examples=60)
@given(p=matrices, codec=codecs, seed=st.integers(0, 1000))
def test_class_order_follows_the_columns(p, codec, seed):
    """Permuting the classes permutes the decoded columns the same way."""
    assume(fits(codec, p))
    perm = np.random.default_rng(seed).permutation(p.shape[1])
    c = p.shape[1]
    q = codec.decode(codec.encode(p), c)
    q_perm = codec.decode(codec.encode(p[:, perm]), c)
    ordered = np.sort(p, axis=1)
    rows = ~(ordered[:, :-1] == ordered[:, 1:]).any(axis=1)  # a tie at the cut may pick either class
    np.testing.assert_allclose(q_perm[rows], q[rows][:, perm], atol=1e-6)


@settings(max_examples=60)
@given(p=matrices)
def test_error_bounds(p):
    c = p.shape[1]
    assert fidelity(p, Dense("float32").decode(Dense("float32").encode(p), c)).max_abs_error < 1e-6
    assert fidelity(p, Dense("float16").decode(Dense("float16").encode(p), c)).max_abs_error < 2e-3
    assert fidelity(p, Dense("bfloat16").decode(Dense("bfloat16").encode(p), c)).max_abs_error < 1e-2
    np.testing.assert_allclose(Sparse(values="float64").decode(Sparse(values="float64").encode(p), c), p, atol=1e-12)
    # these keep the support (and top-k with a stored tail keeps mass on every other
    # class): a finite KL
    for codec in (Dense("float16"), Dense("bfloat16"), LogQuant(), TopK(2, values="log8"), TopKPacked(2)):
        assert math.isfinite(codec.fidelity(p).mean_kl)
    # k = C keeps everything
    full = TopK(c, index="int32", values="float32")
    np.testing.assert_allclose(full.decode(full.encode(p), c), p, atol=1e-6)
    # marginal smoothing keeps the top k values (float32) and spreads the rest evenly
    k = min(3, c)
    codec = TopK(k, values="float32")
    enc = codec.encode(p)
    q = codec.decode(enc, c)
    top = np.sort(p, axis=1)[:, ::-1][:, :k]
    np.testing.assert_allclose(np.take_along_axis(q, enc["indices"].astype(int), axis=1), top, atol=1e-6)
    rest = np.ones_like(q, dtype=bool)
    np.put_along_axis(rest, enc["indices"].astype(int), False, axis=1)
    tail = q[rest].reshape(p.shape[0], c - k)
    np.testing.assert_allclose(tail, (1 - top.sum(axis=1, keepdims=True)) / (c - k) * np.ones_like(tail), atol=1e-6)


@settings(max_examples=40)
@given(p=matrices, codec=codecs, strings=st.booleans())
def test_soft_labels_round_trip_keeps_ids_classes_provenance_support(p, codec, strings):
    assume(fits(codec, p))
    n, c = p.shape
    ids = [f"item-{i}" for i in range(n)] if strings else list(range(100, 100 + n))
    classes = [f"c{j}" for j in range(c)] if strings else list(range(c))
    soft = SoftLabels(p, classes, ids, provenance={"method": "teacher", "params": {"T": 2}},
                      support=np.arange(n, dtype=float))
    back = encode(soft, codec).labels()
    assert isinstance(back, SoftLabels)
    assert back.item_ids.tolist() == ids and back.classes.tolist() == classes
    assert back.provenance == soft.provenance
    np.testing.assert_array_equal(back.support, soft.support)
    np.testing.assert_allclose(back.probs, codec.decode(codec.encode(p), c), atol=1e-12)


@settings(max_examples=30)
@given(p=matrices, codec=codecs, seed=st.integers(0, 100))
def test_view_records_round_trip(p, codec, seed):
    assume(fits(codec, p))
    rng = np.random.default_rng(seed)
    n = p.shape[0]
    items = np.sort(rng.integers(0, 4, size=n))
    boxes = rng.random((n, 4))
    flips = rng.random(n) < 0.5
    views = ViewLabels(p, np.arange(p.shape[1]), items, boxes=boxes, flips=flips, provenance={"crops": 500})
    enc = encode(views, codec)
    back = enc.labels()
    assert back.item_ids.tolist() == items.tolist()
    assert back.provenance == {"crops": 500}
    np.testing.assert_array_equal(back.flips, flips)
    np.testing.assert_allclose(back.boxes, boxes, atol=5e-4)  # float16 boxes
    np.testing.assert_allclose(back.probs.sum(axis=1), 1.0, atol=1e-9)
    assert enc.nbytes() == codec.nbytes(enc.arrays) + n * 9


def test_views_must_be_grouped_by_item():
    with pytest.raises(InputError, match="item 0 are not consecutive"):
        ViewLabels(np.full((3, 2), 0.5), ["a", "b"], [0, 1, 0])
    with pytest.raises(InputError, match="boxes must have shape"):
        ViewLabels(np.full((2, 2), 0.5), ["a", "b"], [0, 0], boxes=np.zeros((2, 3)))


@pytest.mark.parametrize("codec", [c for c in ALL_CODECS if getattr(c, "k", 0) <= 4], ids=str)
@pytest.mark.parametrize(
    ("rows", "row", "total"),
    [
        ([[0.25, 0.25, 0.25, 0.25], [0.3, 0.2, 0.0, 0.0]], 1, "0.5"),
        ([[1.0, 1.0, 0.0, 0.0]], 0, "2"),
        ([[0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.0, 0.0]], 1, "0"),
    ],
)
def test_rows_that_are_not_distributions_are_refused(codec, rows, row, total):
    """A top-k codec rebuilds the classes outside the top k from 1 - sum(top k): a row
    that does not sum to 1 would decode to another distribution (or to one that does
    not sum to 1), so every codec refuses it, naming the row."""
    with pytest.raises(InputError, match=rf"row {row} sums to {total}\b"):
        codec.encode(np.array(rows))
    with pytest.raises(InputError, match=rf"row {row} sums to {total}\b"):
        codec.fidelity(np.array(rows))



@settings(max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), c=st.sampled_from([1, 2, 7, 1000, 20000]),
       scale=st.sampled_from([0.1, 3.0, 30.0]))
def test_float32_softmax_rows_are_accepted(seed, c, scale):
    """Rows normalised in float32 (a model's softmax), with many classes, are
    distributions to the codecs."""
    logits = np.random.default_rng(seed).normal(size=(4, c)).astype(np.float32) * np.float32(scale)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    assert p.dtype == np.float32
    for codec in (Dense("float16"), TopK(1, index="int32", values="log8"), Sparse()):
        q = codec.decode(codec.encode(p), c)
        np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-9)


@pytest.mark.parametrize("codec", [TopK(1, values="log8"), TopK(3, values="log8"), TopKPacked(1)], ids=str)
def test_a_near_uniform_row_decodes_to_a_distribution(codec):
    """With 1000 near-uniform classes the stored tail (0.999 for k = 1) rounds to the
    code of 1, which leaves nothing for the top k: the row must still decode to a
    distribution (here the uniform one), with mass on every class."""
    c = 1000
    p = np.full((2, c), 1 / c)
    p[1] += np.linspace(-1, 1, c) * 1e-5
    p[1] /= p[1].sum()
    q = codec.decode(codec.encode(p), c)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(q, 1 / c, rtol=0.05)
    assert fidelity(p, q).max_kl < 1e-3


@settings(max_examples=60)
@given(p=matrices, floor=st.sampled_from([1e-7, 1e-4, 1e-2]))
def test_logquant_error_bounds(p, floor):
    """Each stored value is within a factor exp(±h) of the original, h = ln(1/floor) /
    508 (half a step of the 8-bit scale); renormalising the row can add as much again,
    so a decoded value at or above the floor is within exp(±2h), and rows with values
    below the floor (stored as the floor) move by at most that extra mass."""
    codec = LogQuant(floor=floor)
    h = -math.log(floor) / 508
    enc = codec.encode(p)
    stored = codec._scale().decode(enc["codes"], np.float64)
    q = codec.decode(enc, p.shape[1])
    big = p >= floor
    assert (np.abs(np.log(stored[big] / p[big])) <= h * (1 + 1e-9)).all()
    assert ((stored == 0) == (p == 0)).all()
    extra = ((p > 0) & ~big).sum(axis=1, keepdims=True) * floor
    bound = np.broadcast_to(2 * h + extra / (1 - extra) + 1e-12, p.shape)
    assert (np.abs(np.log(q[big] / p[big])) <= bound[big]).all()


def test_logquant_decoded_error_reaches_twice_half_a_step():
    """The per-value bound alone does not hold after renormalisation: a decoded value
    can be off by nearly a whole step of the scale."""
    floor = 1e-2
    h = -math.log(floor) / 508
    codec = LogQuant(floor=floor)
    p = np.random.default_rng(3).dirichlet(np.full(6, 1.0), size=4000)
    p = p[(p >= floor).all(axis=1)]
    q = codec.decode(codec.encode(p), 6)
    worst = np.abs(np.log(q / p)).max()
    assert h < worst <= 2 * h


@pytest.mark.parametrize(
    "codec",
    [TopK(np.int64(2), floor=np.float32(1e-3)), TopKPacked(np.int32(3), floor=np.float64(1e-5)),
     LogQuant(np.float32(1e-3))],
    ids=str,
)
def test_numpy_scalar_parameters_make_a_json_spec(codec, tmp_path):
    """Parameters computed with numpy (k from an array, floor as float32) are taken as
    Python numbers, so that a store can write the codec's spec."""
    import json

    from softlabels.store import LabelStore

    spec = json.loads(json.dumps(codec.spec()))
    assert codec_from_spec(spec) == codec
    assert all(type(v) in (int, float, str) for v in spec.values())
    soft = SoftLabels(_probs(0, 5, 6, 0.3, False), list("abcdef"))
    store = LabelStore.create(tmp_path / "s", soft, codec)
    assert store.codec == codec


def test_float16_rows_are_distributions_within_their_precision():
    """Distributions stored as float16 sum to 1 only to float16's precision (here up
    to a few 1e-4 off); the codecs take them, and still refuse a row that is not one."""
    p = np.random.default_rng(0).dirichlet(np.full(1000, 0.3), size=20).astype(np.float16)
    assert np.abs(p.sum(axis=1, dtype=np.float64) - 1).max() > 1e-5
    for codec in (Dense("float16"), TopK(5), Sparse()):
        q = codec.decode(codec.encode(p), 1000)
        np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-9)
    half = (p / 2).astype(np.float16)
    with pytest.raises(InputError, match="row 0 sums to 0.5"):
        TopK(5).encode(half)


@pytest.mark.parametrize("codec", [TopK(5, values="log8"), TopK(5, values="float32"),
                                   TopK(5, values="bfloat16"), TopKPacked(5)])
def test_float32_decoding_is_the_float64_decoding_rounded(codec):
    # the implied top value and the tail are differences from 1: computed in float32
    # they lost the tail (up to 57 % off, or 0 where the float64 decoding has mass)
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(400, 1000)) * 3.0
    logits[:, 0] += 12.0  # confident rows: a tail near 1e-6
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    arrays = codec.encode(p)
    i64, v64, r64 = codec.decode_topk(arrays, 1000, dtype=np.float64)
    i32, v32, r32 = codec.decode_topk(arrays, 1000, dtype=np.float32)
    assert v32.dtype == r32.dtype == np.float32
    np.testing.assert_array_equal(i32, i64)
    np.testing.assert_array_equal(v32, v64.astype(np.float32))
    np.testing.assert_array_equal(r32, r64.astype(np.float32))
    assert ((r32 > 0) == (r64 > 0)).all()
    np.testing.assert_array_equal(codec.decode(arrays, 1000, dtype=np.float32),
                                  codec.decode(arrays, 1000, dtype=np.float64).astype(np.float32))
