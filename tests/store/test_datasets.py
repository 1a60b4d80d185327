"""StoreDataset: inputs joined by item id, crops and flips replayed, labels decoded as
the store decodes them; the PyTorch datasets under DataLoader workers."""

from __future__ import annotations

import numpy as np
import pytest

from softlabels import InputError, SoftLabels
from softlabels.store import (
    Dense,
    LabelStore,
    LogQuant,
    Sparse,
    StoreDataset,
    TopK,
    TopKPacked,
    ViewLabels,
    replay_view,
)

C = 6


def _views(n_items: int, per: int, seed: int = 0, ids: list | None = None) -> ViewLabels:
    rng = np.random.default_rng(seed)
    n = n_items * per
    ids = list(range(n_items)) if ids is None else ids
    tops = rng.uniform(0, 0.5, size=n)
    lefts = rng.uniform(0, 0.5, size=n)
    boxes = np.stack([tops, lefts, np.full(n, 0.5), np.full(n, 0.5)], axis=1)
    return ViewLabels(
        rng.dirichlet(np.full(C, 0.5), size=n), np.arange(C), np.repeat(ids, per),
        boxes=boxes, flips=rng.random(n) < 0.5,
    )


# ------------------------------------------------------------------ replay_view
IMG = np.arange(16.0).reshape(4, 4)


def test_replay_crops_flips_and_keeps_the_whole_image_without_a_box():
    # top-left quarter, same size: exactly those pixels (bilinear at pixel centres)
    assert replay_view(IMG, (0, 0, 0.5, 0.5), size=2).tolist() == [[0, 1], [4, 5]]
    assert replay_view(IMG, (0.5, 0.5, 0.5, 0.5), size=(2, 2), interpolation="nearest").tolist() == [
        [10, 11], [14, 15]]
    # flipped: the crop's columns reversed
    assert replay_view(IMG, (0.5, 0, 0.5, 0.5), flip=True, size=2).tolist() == [[9, 8], [13, 12]]
    # no box, or ViewLabels' zero box: the whole image
    assert replay_view(IMG).tolist() == IMG.tolist()
    assert replay_view(IMG, (0, 0, 0, 0), flip=True).tolist() == IMG[:, ::-1].tolist()


def test_replay_upsamples_bilinearly_and_by_nearest_pixel():
    img = np.array([[0.0, 4.0], [8.0, 12.0]])
    # 2x2 -> 4x4 over the whole image: output centres at source -0.25, 0.25, 0.75, 1.25
    up = replay_view(img, size=4)
    assert up[0].tolist() == [0.0, 1.0, 3.0, 4.0]       # edges clamp, 0.25 -> 1, 0.75 -> 3
    assert up[:, 0].tolist() == [0.0, 2.0, 6.0, 8.0]
    assert up[1, 1] == pytest.approx(0.75 * (0.75 * 0 + 0.25 * 4) + 0.25 * (0.75 * 8 + 0.25 * 12))
    near = replay_view(img, size=4, interpolation="nearest")
    assert near.tolist() == [[0, 0, 4, 4], [0, 0, 4, 4], [8, 8, 12, 12], [8, 8, 12, 12]]


def test_replay_keeps_channels_last():
    img = np.stack([IMG, IMG * 10], axis=2)
    out = replay_view(img, (0, 0.5, 0.5, 0.5), flip=True, size=2)
    assert out.shape == (2, 2, 2)
    assert out[..., 0].tolist() == [[3, 2], [7, 6]]
    assert out[..., 1].tolist() == [[30, 20], [70, 60]]


@pytest.mark.parametrize(
    ("args", "kw", "match"),
    [
        ((np.zeros(3),), {}, "image must have shape"),
        ((IMG, (0, 0, 0.5)), {}, "box must be 4 finite"),
        ((IMG, (0, 0, -0.5, 0.5)), {}, "height and width must be positive"),
        ((IMG,), {"size": 0}, "size must be positive"),
        ((IMG,), {"size": "big"}, "size must be an integer"),
        ((IMG,), {"interpolation": "cubic"}, "interpolation must be one of"),
    ],
)
def test_replay_rejects_bad_input(args, kw, match):
    with pytest.raises(InputError, match=match):
        replay_view(*args, **kw)


# ------------------------------------------------------------------ the join
def _images(n: int) -> np.ndarray:
    """Image i is constant i*100 plus a left-to-right ramp (so flips show)."""
    ramp = np.tile(np.arange(8.0), (8, 1))
    return np.stack([np.full((8, 8), 100.0 * i) + ramp for i in range(n)])


def test_join_by_shuffled_ids_gives_each_view_its_own_image(tmp_path):
    ids = [f"img{i}" for i in (7, 2, 9, 0, 4)]
    labels = _views(5, 3, ids=ids)
    store = LabelStore.create(tmp_path / "s", labels, Dense("float32"), items_per_group=2)
    images = _images(10)
    order = np.random.default_rng(1).permutation(10)  # inputs in another order than the store
    data = StoreDataset(store, images[order], input_ids=[f"img{i}" for i in order], size=4,
                        interpolation="nearest")
    assert len(data) == 15
    for r in range(15):
        x, y = data[r]
        item = int(labels.item_ids[r][3:])
        want = replay_view(images[item], labels.boxes[r], labels.flips[r], 4, interpolation="nearest")
        assert np.array_equal(x, want)
        assert x.min() >= 100 * item and x.max() < 100 * item + 8   # from the right image
        np.testing.assert_allclose(y, labels.probs[r], atol=1e-6)
    # the same through a loader by id and through a mapping
    by_loader = StoreDataset(store, lambda i: images[int(i[3:])], size=4, interpolation="nearest")
    by_map = StoreDataset(store, {f"img{i}": images[i] for i in range(10)}, size=4,
                          interpolation="nearest")
    for r in (0, 7, 14):
        assert np.array_equal(by_loader[r][0], data[r][0])
        assert np.array_equal(by_map[r][0], data[r][0])


def test_array_without_ids_is_indexed_by_integer_item_ids(tmp_path):
    labels = _views(4, 2, ids=[3, 0, 2, 1])
    store = LabelStore.create(tmp_path / "s", labels, Dense("float32"))
    images = _images(4)
    data = StoreDataset(store, images, replay=False)
    assert [int(data[r][0][0, 0] // 100) for r in range(8)] == [3, 3, 0, 0, 2, 2, 1, 1]


def test_join_errors_name_what_is_missing(tmp_path):
    store = LabelStore.create(tmp_path / "s", _views(3, 2, ids=["a", "b", "c"]), Dense())
    with pytest.raises(InputError, match="no input for item 'c'"):
        StoreDataset(store, _images(2), input_ids=["a", "b"])
    with pytest.raises(InputError, match="one id per input row"):
        StoreDataset(store, _images(3), input_ids=["a", "b"])
    with pytest.raises(InputError, match="repeat the id 'a'"):
        StoreDataset(store, _images(3), input_ids=["a", "b", "a"])
    with pytest.raises(InputError, match="not integers: give input_ids"):
        StoreDataset(store, _images(3))
    ints = LabelStore.create(tmp_path / "t", _views(3, 2, ids=[0, 1, 5]), Dense())
    with pytest.raises(InputError, match="no input for item 5"):
        StoreDataset(ints, _images(3))
    with pytest.raises(InputError, match="LabelStore or a path"):
        StoreDataset(42, _images(3))
    data = StoreDataset(ints, _images(6))
    with pytest.raises(IndexError):
        data[6]
    with pytest.raises(InputError, match="indexed by integers"):
        data["0"]


# ------------------------------------------------------------------ decoding
CODECS = [Dense("float32"), Dense("float16"), LogQuant(), TopK(3, values="float16"),
          TopK(2, values="log8"), TopKPacked(2), Sparse()]


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.describe())
def test_labels_equal_the_stores_decode(tmp_path, codec):
    labels = _views(7, 3, seed=3)
    store = LabelStore.create(tmp_path / "s", labels, codec, items_per_group=3)
    want = store.read().probs
    data = StoreDataset(tmp_path / "s", _images(7), size=4)
    rows = [20, 0, 5, 5, 13]
    got = np.stack([y for _, y in data.__getitems__(rows)])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want[rows], atol=1e-6)
    np.testing.assert_allclose(data.labels(), want, atol=1e-6)
    streamed = list(data.iter_records())
    np.testing.assert_allclose(np.stack([y for _, y in streamed]), want, atol=1e-6)



@pytest.mark.parametrize("codec", [TopK(2), Sparse()], ids=lambda c: c.describe())
def test_batches_of_rows_are_checked_like_single_records(tmp_path, codec):
    """__getitems__ and labels(rows) take what __getitem__ takes (negative rows count
    from the end) and refuse the rest by name, whatever the codec."""
    LabelStore.create(tmp_path / "s", _views(3, 2), codec, items_per_group=2)
    data = StoreDataset(tmp_path / "s", _images(3), size=4)
    want = LabelStore(tmp_path / "s").read().probs.astype(np.float32)
    for rows in ([-1, 0], [5, -6]):
        got = np.stack([y for _, y in data.__getitems__(rows)])
        np.testing.assert_allclose(got, want[rows], atol=1e-6)
        np.testing.assert_allclose(data.labels(rows), want[rows], atol=1e-6)
        assert np.array_equal(data.__getitems__(rows)[0][0], data[rows[0]][0])
    for rows in ([6], [0, -7]):
        with pytest.raises(IndexError, match=f"record {rows[-1]} is out of range for 6 records"):
            data.__getitems__(rows)
        with pytest.raises(IndexError, match=f"record {rows[-1]} is out of range for 6 records"):
            data.labels(rows)
    for rows in ([1.5], ["a"], [[0, 1]]):
        with pytest.raises(InputError, match="records are indexed by integers"):
            data.__getitems__(rows)
    assert data.__getitems__([]) == [] and data.labels([]).shape == (0, C)

def test_items_store_gives_the_inputs_unchanged(tmp_path):
    rng = np.random.default_rng(0)
    soft = SoftLabels(rng.dirichlet(np.ones(C), size=5), np.arange(C), [4, 3, 2, 1, 0])
    LabelStore.create(tmp_path / "s", soft, TopK(2, values="float32"))
    feats = rng.normal(size=(5, 3))
    data = StoreDataset(tmp_path / "s", feats, size=2)  # size is for views only
    x, y = data[1]
    assert np.array_equal(x, feats[3])
    np.testing.assert_allclose(y, LabelStore(tmp_path / "s").read().probs[1], atol=1e-6)


def test_streaming_shards_cover_every_record_once_and_shuffle(tmp_path):
    labels = _views(9, 2)
    LabelStore.create(tmp_path / "s", labels, Dense("float32"), items_per_group=2)
    data = StoreDataset(tmp_path / "s", _images(9), return_index=True)
    assert data.n_groups() == 5
    seen = [r for k in range(3) for *_, r in data.iter_records(shard=(k, 3))]
    assert sorted(seen) == list(range(18))
    first = [r for *_, r in data.iter_records(shard=(0, 3))]
    assert first == [0, 1, 2, 3, 12, 13, 14, 15]  # groups 0 and 3
    mixed = [r for *_, r in data.iter_records(shuffle=True, seed=5)]
    assert sorted(mixed) == list(range(18)) and mixed != list(range(18))
    for x, y, r in data.iter_records(shard=(1, 3)):   # records still match their rows
        assert np.array_equal(x, data[r][0])
        np.testing.assert_array_equal(y, data[r][1])
    with pytest.raises(InputError, match="shard must be"):
        next(data.iter_records(shard=(3, 3)))


# ------------------------------------------------------------------ torch
def test_torch_dataloader_with_two_workers_gives_every_record_once(tmp_path):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    from softlabels.store import TorchStoreDataset, TorchStoreIterableDataset

    labels = _views(11, 3, ids=[f"i{k}" for k in np.random.default_rng(2).permutation(11)])
    store = LabelStore.create(tmp_path / "s", labels, TopKPacked(2), items_per_group=2)
    want = store.read().probs
    images = _images(11)
    ids = [f"i{k}" for k in range(11)]

    it = TorchStoreIterableDataset(store, images, input_ids=ids, size=4, return_index=True,
                                   shuffle=True, seed=1)
    rows, ys, xs = [], [], []
    for x, y, r in DataLoader(it, batch_size=4, num_workers=2):
        rows += r.tolist()
        ys.append(y)
        xs.append(x)
    assert sorted(rows) == list(range(33))
    y = torch.cat(ys).numpy()
    np.testing.assert_allclose(y, want[rows], atol=1e-6)
    x = torch.cat(xs)
    assert x.dtype == torch.float32 and x.shape == (33, 4, 4)
    ref = StoreDataset(store, images, input_ids=ids, size=4)
    for j in (0, 17, 32):
        assert np.allclose(x[j].numpy(), ref[rows[j]][0])

    mapped = TorchStoreDataset(store, images, input_ids=ids, size=4, return_index=True,
                               transform=lambda t: t[None])
    rows2 = []
    for x, y, r in DataLoader(mapped, batch_size=5, shuffle=True, num_workers=2):
        assert x.shape[1:] == (1, 4, 4)
        np.testing.assert_allclose(y.numpy(), want[r.numpy()], atol=1e-6)
        rows2 += r.tolist()
    assert sorted(rows2) == list(range(33))


def test_torch_iterable_splits_groups_between_processes_and_workers(tmp_path):
    pytest.importorskip("torch")
    from softlabels.store import TorchStoreIterableDataset

    LabelStore.create(tmp_path / "s", _views(6, 1), Dense(), items_per_group=1)
    parts = [
        [int(r) for *_, r in TorchStoreIterableDataset(tmp_path / "s", _images(6), shard=(k, 2),
                                                       return_index=True)]
        for k in range(2)
    ]
    assert parts == [[0, 2, 4], [1, 3, 5]]


def test_numpy_datasets_do_not_load_torch_and_torch_ones_name_the_extra():
    import subprocess
    import sys

    code = ("import sys\nfrom softlabels.store import StoreDataset, replay_view\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False"]
    shim = "import sys\nsys.modules['torch'] = None\nfrom softlabels.store import TorchStoreDataset"
    out = subprocess.run([sys.executable, "-c", shim], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "pip install 'softlabels[torch]'" in out.stderr
