"""LabelStore: layout, partial reads, appends, and appends killed half-way."""

from __future__ import annotations

import inspect
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softlabels import InputError, SoftLabels
from softlabels.store import Dense, LabelStore, LogQuant, Sparse, TopK, TopKPacked, ViewLabels
from softlabels.store.container import MANIFEST

C = 12


def _soft(n: int, seed: int = 0, start: int = 0, support: bool = True) -> SoftLabels:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(C, 0.3), size=n)
    return SoftLabels(
        p, [f"k{j}" for j in range(C)], np.arange(start, start + n) * 10,
        provenance={"method": "teacher", "params": {"T": 1.5}},
        support=np.arange(n, dtype=float) if support else None,
    )


def _views(n_items: int, per: int = 3, seed: int = 0, start: int = 0) -> ViewLabels:
    rng = np.random.default_rng(seed)
    n = n_items * per
    return ViewLabels(
        rng.dirichlet(np.full(C, 0.3), size=n), np.arange(C),
        np.repeat([f"img{i}" for i in range(start, start + n_items)], per),
        boxes=rng.random((n, 4)), flips=rng.random(n) < 0.5, provenance={"crops": per},
    )


def test_layout_metadata_and_row_groups(tmp_path):
    soft = _soft(250)
    store = LabelStore.create(tmp_path / "s", soft, TopK(3, values="float16"), items_per_group=100)
    manifest = json.loads((tmp_path / "s" / MANIFEST).read_text())
    assert manifest["codec"] == {"codec": "topk", "k": 3, "index": "uint16", "values": "float16",
                                 "fill": "marginal", "floor": 1e-7}
    assert manifest["classes"] == [f"k{j}" for j in range(C)]
    assert manifest["provenance"]["method"] == "teacher"
    (part,) = manifest["parts"]
    assert part["groups"] == [[100, 100], [100, 100], [50, 50]]
    meta = pq.ParquetFile(tmp_path / "s" / part["file"]).schema_arrow.metadata
    embedded = json.loads(meta[b"softlabels.store"])
    assert embedded["codec"]["k"] == 3 and embedded["classes"][0] == "k0"
    assert pq.ParquetFile(tmp_path / "s" / part["file"]).metadata.num_row_groups == 3
    info = store.info()
    assert info["nbytes"] == 250 * 3 * (2 + 2) and info["bytes_per_row"] == 12
    assert info["fidelity"]["n_rows"] == 250
    assert info["fidelity"]["mean_kl"] == pytest.approx(TopK(3, values="float16").fidelity(soft.probs).mean_kl)


def test_an_infinite_kl_is_standard_json_and_reads_back_as_infinity(tmp_path):
    # renormalising the top 2 of 12 classes drops the others: KL(original || decoded) = inf
    soft = _soft(30)
    store = LabelStore.create(tmp_path / "s", soft, TopK(2, fill="renorm"))
    assert store.fidelity.max_kl == np.inf and store.fidelity.mean_kl == np.inf

    def refuse(name):  # what a strict parser (jq, JavaScript) does with Infinity or NaN
        raise ValueError(f"not JSON: {name}")

    manifest = json.loads((tmp_path / "s" / MANIFEST).read_text(), parse_constant=refuse)
    assert manifest["fidelity"]["max_kl"] == "inf"
    store.append(_soft(5, start=30))
    assert LabelStore(tmp_path / "s").fidelity.max_kl == np.inf
    assert LabelStore(tmp_path / "s").fidelity.n_rows == 35
    finite = LabelStore.create(tmp_path / "f", soft, TopK(12))
    assert np.isfinite(finite.fidelity.max_kl) and finite.fidelity == LabelStore(tmp_path / "f").fidelity


@pytest.mark.parametrize(
    "codec", [TopK(4), Dense("float32"), Dense("bfloat16"), LogQuant(), TopKPacked(3), Sparse()]
)
def test_slices_and_ids_read_what_was_written(tmp_path, codec):
    soft = _soft(230)
    store = LabelStore.create(tmp_path / "s", soft, codec, items_per_group=64)
    whole = store.read()
    expected = codec.decode(codec.encode(soft.probs), C)
    np.testing.assert_allclose(whole.probs, expected, atol=1e-12)
    assert whole.provenance == soft.provenance and whole.classes.tolist() == soft.classes.tolist()
    part = store.read(60, 130)
    assert part.item_ids.tolist() == soft.item_ids[60:130].tolist()
    np.testing.assert_allclose(part.probs, expected[60:130], atol=1e-12)
    np.testing.assert_array_equal(part.support, soft.support[60:130])
    picked = store.read(ids=[2290, 0, 650, 10])
    assert picked.item_ids.tolist() == [2290, 0, 650, 10]
    np.testing.assert_allclose(picked.probs, expected[[229, 0, 65, 1]], atol=1e-12)
    assert store.read(5, 5).n_items == 0


def test_reads_touch_only_the_needed_row_groups(tmp_path, monkeypatch):
    store = LabelStore.create(tmp_path / "s", _soft(500), TopK(2), items_per_group=50)
    calls = []
    original = pq.ParquetFile.read_row_groups

    def spy(self, groups, columns=None, **kw):
        calls.append((list(groups), list(columns)))
        return original(self, groups, columns=columns, **kw)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    store.read(120, 160)
    assert calls == [([2, 3], ["item", "indices", "values", "support"])]
    calls.clear()
    store.item_ids()  # the id index: the item column only
    assert calls == [(list(range(10)), ["item"])]
    calls.clear()
    store.read(ids=[4990, 10])
    assert calls == [([0, 9], ["item", "indices", "values", "support"])]


def test_views_store(tmp_path):
    views = _views(40, per=3)
    store = LabelStore.create(tmp_path / "v", views, TopK(5), items_per_group=7)
    assert store.n_items == 40 and store.n_rows == 120 and store.views
    assert store.info()["bytes_per_row"] == 29  # FKD's layout per crop
    part = store.read(10, 13)
    assert part.item_ids.tolist() == ["img10"] * 3 + ["img11"] * 3 + ["img12"] * 3
    np.testing.assert_allclose(part.boxes, views.boxes[30:39], atol=5e-4)
    np.testing.assert_array_equal(part.flips, views.flips[30:39])
    picked = store.read(ids=["img39", "img2"])
    assert picked.item_ids.tolist() == ["img39"] * 3 + ["img2"] * 3
    np.testing.assert_array_equal(picked.flips, views.flips[[117, 118, 119, 6, 7, 8]])
    codec = TopK(5)
    np.testing.assert_allclose(
        picked.probs, codec.decode(codec.encode(views.probs[[117, 118, 119, 6, 7, 8]]), C), atol=1e-12
    )


def test_append_adds_rows_and_checks_them(tmp_path):
    store = LabelStore.create(tmp_path / "s", _soft(100), TopK(3), items_per_group=30)
    store.append(_soft(50, seed=1, start=100))
    again = LabelStore(tmp_path / "s")
    assert again.n_items == 150 and again.info()["n_parts"] == 2
    assert again.item_ids().tolist() == (np.arange(150) * 10).tolist()
    both = again.read(90, 110)
    assert both.item_ids.tolist() == (np.arange(90, 110) * 10).tolist()
    assert again.fidelity.n_rows == 150
    with pytest.raises(InputError, match="item 0 is already in the store"):
        again.append(_soft(5))
    other = SoftLabels(np.full((1, 2), 0.5), ["a", "b"], [9999])
    with pytest.raises(InputError, match="classes differ"):
        again.append(other)
    with pytest.raises(InputError, match="holds items"):
        again.append(_views(2))
    with pytest.raises(InputError, match="support"):
        again.append(_soft(3, start=1000, support=False))
    assert LabelStore(tmp_path / "s").n_items == 150


def test_a_store_written_meanwhile_at_the_same_path_is_kept(tmp_path, monkeypatch):
    # another process creates the store after this create() checked the path and
    # before it renamed its finished folder into place
    import softlabels.store.container as container

    target = tmp_path / "s"
    write_part = container._write_part

    def racing(root, *args, **kwargs):
        if not target.exists():
            monkeypatch.setattr(container, "_write_part", write_part)
            LabelStore.create(target, _soft(3, seed=1), TopK(2))
        return write_part(root, *args, **kwargs)

    monkeypatch.setattr(container, "_write_part", racing)
    with pytest.raises(InputError, match="already exists \\(written meanwhile\\)"):
        LabelStore.create(target, _soft(5), TopK(2))
    assert LabelStore(target).n_items == 3  # the other writer's store, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no temporary folder left


def test_create_refuses_what_it_should(tmp_path):
    LabelStore.create(tmp_path / "s", _soft(5), TopK(2))
    with pytest.raises(InputError, match="already exists"):
        LabelStore.create(tmp_path / "s", _soft(5), TopK(2))
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="not a label store"):
        LabelStore.create(tmp_path / "plain", _soft(5), TopK(2), overwrite=True)
    with pytest.raises(InputError, match="not a label store"):
        LabelStore(tmp_path / "plain")
    elsewhere = tmp_path / "plain" / "soft.csv"
    elsewhere.write_text("item,a,b\n1,0.5,0.5\n")
    with pytest.raises(InputError, match=r"not a label store \(a file; a label store is a folder\)"):
        LabelStore(elsewhere)
    with pytest.raises(InputError, match=r"not a label store \(no such folder\)"):
        LabelStore(tmp_path / "plain" / "nowhere")
    with pytest.raises(InputError, match="does not exist"):
        LabelStore.create(tmp_path / "no" / "s", _soft(5), TopK(2))
    with pytest.raises(InputError, match="compression"):
        LabelStore.create(tmp_path / "t", _soft(5), TopK(2), compression="rar")
    with pytest.raises(InputError, match="k=20 is more than the 12 classes"):
        LabelStore.create(tmp_path / "t", _soft(5), TopK(20))
    assert not (tmp_path / "t").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain", "s"]  # no temporary folder left
    store = LabelStore.create(tmp_path / "s", _soft(7), Dense(), overwrite=True)
    assert store.n_items == 7
    with pytest.raises(InputError, match="not in the store"):
        store.read(ids=[12345])


@settings(max_examples=15)
@given(
    sizes=st.lists(st.integers(0, 40), min_size=1, max_size=4),
    per_group=st.integers(1, 17),
    which=st.integers(0, 3),
)
def test_appended_store_reads_back_in_order(sizes, per_group, which):
    codec = [TopK(2, values="log8"), Dense("float16"), Sparse(), TopKPacked(4)][which]
    parts, start = [], 0
    for i, n in enumerate(sizes):
        parts.append(_soft(n, seed=i, start=start))
        start += n
    with tempfile.TemporaryDirectory() as tmp:
        store = LabelStore.create(Path(tmp) / "s", parts[0], codec, items_per_group=per_group)
        for soft in parts[1:]:
            store.append(soft)
        store = LabelStore(Path(tmp) / "s")
        assert store.n_items == start
        whole = store.read()
        assert whole.item_ids.tolist() == (np.arange(start) * 10).tolist()
        assert whole.provenance == parts[0].provenance
        if start:
            probs = np.vstack([s.probs for s in parts])
            np.testing.assert_allclose(whole.probs, codec.decode(codec.encode(probs), C), atol=1e-12)
            lo = start // 3
            assert store.read(lo, lo + 5).item_ids.tolist() == (np.arange(lo, min(lo + 5, start)) * 10).tolist()


# ------------------------------------------------------------------ killed appends
KILLER = r"""
import os, signal, sys
import numpy as np
from softlabels import SoftLabels
from softlabels.store import LabelStore, container

path, mode = sys.argv[1], sys.argv[2]

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if mode == "mid-part":
    import pyarrow.parquet as pq
    original, calls = pq.ParquetWriter.write_table, []
    def write_table(self, table, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            die()
        return original(self, table, *args, **kwargs)
    pq.ParquetWriter.write_table = write_table
elif mode == "before-commit":
    container._commit_manifest = die
elif mode == "mid-manifest":
    def half(path_, data):
        with open(path_.with_name("." + path_.name + ".x.tmp"), "wb") as fh:
            fh.write(data[: len(data) // 2])
            fh.flush()
        die()
    container._write_durably = half
rng = np.random.default_rng(5)
n = int(sys.argv[3])
soft = SoftLabels(rng.dirichlet(np.full(12, 0.3), size=n), [f"k{j}" for j in range(12)],
                  np.arange(10**6, 10**6 + n) * 10,
                  provenance={"method": "teacher", "params": {"T": 1.5}}, support=np.ones(n))
print("appending", flush=True)
LabelStore(path).append(soft)
print("done", flush=True)
"""


def _run_killer(path: Path, mode: str, n: int, kill_after: float | None = None) -> int:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLER, str(path), mode, str(n)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )
    if kill_after is not None:
        assert proc.stdout.readline().strip() == "appending"
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=120)
    return proc.returncode


@pytest.mark.parametrize("mode", ["mid-part", "before-commit", "mid-manifest"])
def test_a_killed_append_leaves_the_earlier_store(tmp_path, mode):
    soft = _soft(120)
    LabelStore.create(tmp_path / "s", soft, TopK(3, values="log8"), items_per_group=20)
    before = LabelStore(tmp_path / "s").read()
    manifest = (tmp_path / "s" / MANIFEST).read_bytes()
    assert _run_killer(tmp_path / "s", mode, 100) == -signal.SIGKILL
    assert (tmp_path / "s" / MANIFEST).read_bytes() == manifest
    after = LabelStore(tmp_path / "s")
    assert after.n_items == 120
    assert after.read().equals(before)
    # and the store still takes appends
    after.append(_soft(10, start=500))
    assert LabelStore(tmp_path / "s").n_items == 130


def test_an_append_killed_at_a_random_moment(tmp_path):
    """A real append of many rows, killed after a delay: either it committed or the
    store is exactly as before; never anything in between."""
    LabelStore.create(tmp_path / "s", _soft(50), TopK(3), items_per_group=1000)
    before = LabelStore(tmp_path / "s").read()
    outcomes = set()
    for delay in (0.0, 0.05, 0.2, 0.5):
        code = _run_killer(tmp_path / "s", "timed", 300_000, kill_after=delay)
        store = LabelStore(tmp_path / "s")
        if code == 0 or store.n_items != 50:
            # finished, or killed after its commit and before it exited: all of it is in
            outcomes.add("committed")
            assert store.n_items == 300_050
            assert store.read(0, 50).equals(before)
            break
        outcomes.add("killed")
        assert store.read().equals(before)
    assert "killed" in outcomes


# ------------------------------------------------------------------ damaged stores
def _part_file(path: Path, i: int = 0) -> Path:
    return path / json.loads((path / MANIFEST).read_text())["parts"][i]["file"]


@pytest.mark.parametrize("keep", [0.0, 0.3, 0.9, 0.995])
def test_a_truncated_part_is_a_clear_error(tmp_path, keep):
    LabelStore.create(tmp_path / "s", _soft(60), TopK(3, values="log8"), items_per_group=10)
    part = _part_file(tmp_path / "s")
    data = part.read_bytes()
    part.write_bytes(data[: int(len(data) * keep)])
    store = LabelStore(tmp_path / "s")
    for read in (store.read, lambda: store.read(2, 4), lambda: store.read(ids=[30])):
        with pytest.raises(InputError, match=rf"{part.name}: cannot be read"):
            read()


def test_a_missing_part_is_a_clear_error(tmp_path):
    LabelStore.create(tmp_path / "s", _soft(20), Dense(), items_per_group=10)
    part = _part_file(tmp_path / "s")
    part.unlink()
    store = LabelStore(tmp_path / "s")
    with pytest.raises(InputError, match=rf"{part.name}: cannot be read"):
        store.read()
    with pytest.raises(InputError, match=rf"{part.name}: missing"):
        store.info()


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda m: [m], "not a softlabels store manifest"),
        (lambda m: {k: v for k, v in m.items() if k != "parts"}, "'parts' is missing"),
        (lambda m: {k: v for k, v in m.items() if k != "codec"}, "'codec' is missing"),
        (lambda m: {**m, "classes": "k0"}, "'classes' is not a list"),
        (lambda m: {**m, "kind": "crops"}, "kind"),
        (lambda m: {**m, "codec": {"codec": "topk", "k": "x"}}, "k must be an integer"),
        (lambda m: {**m, "codec": {**m["codec"], "k": 20}}, "k=20 is more than the 12 classes"),
        (lambda m: {**m, "columns": {"indices": "uint16", "values": "float64"}}, "columns"),
        (lambda m: {**m, "parts": [{**m["parts"][0], "file": "../x.parquet"}]}, "file"),
        (lambda m: {**m, "parts": [{**m["parts"][0], "groups": [[10]]}]}, "groups"),
        (lambda m: {**m, "parts": [{k: v for k, v in m["parts"][0].items() if k != "nbytes"}]}, "nbytes"),
        # every store has a part (an empty one an empty part); none would fail on reading
        (lambda m: {**m, "parts": []}, "no parts"),
    ],
)
def test_a_damaged_manifest_is_a_clear_error(tmp_path, damage, match):
    LabelStore.create(tmp_path / "s", _soft(30), TopK(3, values="log8"), items_per_group=10)
    path = tmp_path / "s" / MANIFEST
    path.write_text(json.dumps(damage(json.loads(path.read_text()))))
    with pytest.raises(InputError, match=match) as err:
        LabelStore(tmp_path / "s")
    assert str(path) in str(err.value)


def _edit_manifest(path: Path, edit) -> None:
    m = json.loads((path / MANIFEST).read_text())
    (path / MANIFEST).write_text(json.dumps(edit(m)))


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda m: {**m, "classes": m["classes"][:5]}, "classes"),
        (lambda m: {**m, "parts": [{**m["parts"][0], "groups": m["parts"][0]["groups"] + [[10, 10]],
                                    "n_items": 40, "n_rows": 40}]},
         "row groups"),
        (lambda m: {**m, "parts": [{**m["parts"][0], "groups": [[5, 5], [15, 15], [10, 10]]}]},
         "row groups"),
    ],
)
def test_a_part_that_disagrees_with_the_manifest_is_a_clear_error(tmp_path, edit, match):
    """Reading rows by the manifest's layout from a part laid out otherwise would give
    other items' labels (or decode them with the wrong classes)."""
    LabelStore.create(tmp_path / "s", _soft(30), Dense(), items_per_group=10)
    _edit_manifest(tmp_path / "s", edit)
    part = _part_file(tmp_path / "s")
    store = LabelStore(tmp_path / "s")
    for read in (store.read, lambda: store.read(ids=[0])):
        with pytest.raises(InputError, match=match) as err:
            read()
        assert part.name in str(err.value)


def test_a_part_of_another_store_is_a_clear_error(tmp_path):
    LabelStore.create(tmp_path / "a", _soft(30), TopK(3, values="log8"), items_per_group=10)
    LabelStore.create(tmp_path / "b", _soft(30), Dense(), items_per_group=10)
    os.replace(_part_file(tmp_path / "b"), _part_file(tmp_path / "a"))
    with pytest.raises(InputError, match="codec"):
        LabelStore(tmp_path / "a").read()


@pytest.mark.skipif(
    "page_checksum_verification" not in inspect.signature(pq.ParquetFile.__init__).parameters,
    reason="page checksums need pyarrow 15",
)
@pytest.mark.parametrize("codec", [Dense("float32"), TopK(3, values="log8"), Sparse()], ids=str)
@pytest.mark.parametrize("compression", ["none", "zstd"])
def test_damaged_label_bytes_are_an_error_not_other_labels(tmp_path, codec, compression):
    """A flipped byte inside a part's label data (bit rot, a bad copy) must not decode
    to other probabilities: the pages carry checksums that reads verify."""
    LabelStore.create(tmp_path / "s", _soft(40), codec, items_per_group=10, compression=compression)
    part = _part_file(tmp_path / "s")
    meta = pq.ParquetFile(part).metadata
    group = meta.row_group(2)
    (chunk,) = [group.column(j) for j in range(group.num_columns)
                if group.column(j).path_in_schema.split(".")[0] == "values" or
                group.column(j).path_in_schema == "probs"]
    end = chunk.data_page_offset + chunk.total_compressed_size
    data = bytearray(part.read_bytes())
    data[end - 3] ^= 0x10
    part.write_bytes(bytes(data))
    store = LabelStore(tmp_path / "s")
    np.testing.assert_allclose(store.read(0, 20).probs, codec.decode(codec.encode(_soft(40).probs[:20]), C))
    for read in (store.read, lambda: store.read(ids=[250])):
        with pytest.raises(InputError, match=rf"{part.name}: cannot be read"):
            read()


# ------------------------------------------------------------------ concurrent readers
SHARED_READER = r"""
import sys, threading
import numpy as np
from softlabels.store import LabelStore

store = LabelStore(sys.argv[1])
expected = LabelStore(sys.argv[1]).read().probs
n = len(expected)
failures = []

def work(seed):
    rng = np.random.default_rng(seed)
    try:
        for _ in range(150):
            lo = int(rng.integers(0, n))
            hi = lo + int(rng.integers(0, 200))
            assert np.array_equal(store.read(lo, hi).probs, expected[lo:hi])
            ids = rng.choice(n, size=16, replace=False)
            assert np.array_equal(store.read(ids=ids * 10).probs, expected[ids])
    except Exception as err:
        failures.append(repr(err))

threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("failures:", failures)
"""


def test_threads_sharing_one_reader_read_what_was_written(tmp_path):
    """One LabelStore read from many threads at once (a prefetching loader): every read
    gives the stored rows, and nothing crashes (run in a child process, where a crash
    is a return code)."""
    store = LabelStore.create(tmp_path / "s", _soft(3000), TopK(3, values="log8"), items_per_group=50)
    store.append(_soft(600, seed=1, start=3000))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    proc = subprocess.run([sys.executable, "-c", SHARED_READER, str(tmp_path / "s")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "failures: []"


def test_a_reader_pickles_before_and_after_reading(tmp_path):
    store = LabelStore.create(tmp_path / "s", _soft(30), Dense(), items_per_group=10)
    first = store.read(0, 5)
    clone = pickle.loads(pickle.dumps(store))
    assert clone.read(0, 5).equals(first)
    assert pickle.loads(pickle.dumps(clone)).read(ids=[40]).equals(store.read(ids=[40]))


def test_a_reader_that_appended_reads_the_new_items_by_id(tmp_path):
    store = LabelStore.create(tmp_path / "s", _soft(15), TopK(2), items_per_group=10)
    store.append(_soft(10, seed=1, start=15))
    assert store.item_ids().tolist() == (np.arange(25) * 10).tolist()
    assert store.row_offsets().tolist() == list(range(26))
    assert store.read(ids=[240, 10]).equals(LabelStore(tmp_path / "s").read(ids=[240, 10]))
    views = LabelStore.create(tmp_path / "v", _views(4, per=2), Dense(), items_per_group=3)
    views.append(_views(2, per=3, start=4))
    assert views.item_ids().tolist() == [f"img{i}" for i in range(6)]
    assert views.row_offsets().tolist() == [0, 2, 4, 6, 8, 11, 14]
    assert views.read(ids=["img5"]).n_views == 3


def test_iter_encoded_goes_a_row_group_at_a_time_after_appends(tmp_path, monkeypatch):
    """Appended parts start new row groups, so blocks of items_per_group items from
    item 0 straddle groups; the default blocks are the row groups themselves."""
    store = LabelStore.create(tmp_path / "s", _soft(15), TopK(2), items_per_group=10)
    store.append(_soft(10, seed=1, start=15))
    calls = []
    original = pq.ParquetFile.read_row_groups

    def spy(self, groups, columns=None, **kw):
        calls.append(list(groups))
        return original(self, groups, columns=columns, **kw)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    blocks = list(store.iter_encoded())
    assert [b.n_rows for b in blocks] == [10, 5, 10]
    assert calls == [[0], [1], [0]]
    ids = np.concatenate([b.item_ids for b in blocks])
    assert ids.tolist() == store.item_ids().tolist()
    assert [b.n_rows for b in store.iter_encoded(7)] == [7, 7, 7, 4]


@pytest.mark.parametrize("where", ["part", "manifest"])
def test_an_append_that_cannot_write_is_a_one_line_error_and_changes_nothing(tmp_path, monkeypatch, where):
    import errno

    from softlabels.store import container

    LabelStore.create(tmp_path / "s", _soft(30), TopK(2), items_per_group=10)
    before = LabelStore(tmp_path / "s").read()
    files = sorted(p.name for p in (tmp_path / "s").iterdir())

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "part":
        monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    else:
        monkeypatch.setattr(container, "_commit_manifest", full)
    with pytest.raises(InputError, match=r"s: cannot be written \(No space left on device\)") as err:
        LabelStore(tmp_path / "s").append(_soft(20, start=100))
    assert isinstance(err.value, OSError) and err.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert LabelStore(tmp_path / "s").read().equals(before)
    left = {p.name for p in (tmp_path / "s").iterdir()}
    assert left - set(files) <= {".lock"}  # no part, whole or partial, left behind


def test_a_part_with_a_damaged_page_header_is_a_one_line_error(tmp_path):
    # pyarrow's message for a damaged page header runs over several lines
    LabelStore.create(tmp_path / "s", _soft(20), TopK(3, values="log8"), items_per_group=10)
    part = _part_file(tmp_path / "s")
    data = bytearray(part.read_bytes())
    data[4] = 0  # the first page header, just after the magic bytes
    part.write_bytes(bytes(data))
    with pytest.raises(InputError, match=rf"{part.name}: cannot be read \(.*page header.*\)\.$") \
            as err:
        LabelStore(tmp_path / "s").read()
    assert "\n" not in str(err.value)


def test_a_part_with_a_damaged_footer_is_a_clear_error(tmp_path):
    """A column name in the footer that is no longer UTF-8 (a flipped byte) fails in
    pyarrow with UnicodeDecodeError; the reader names the part instead."""
    LabelStore.create(tmp_path / "s", _soft(20), TopK(3, values="log8"), items_per_group=10)
    part = _part_file(tmp_path / "s")
    data = bytearray(part.read_bytes())
    footer = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    at = data.index(b"indices", footer)  # the schema's name of the column, first in the footer
    data[at + 2] = 0xFF
    part.write_bytes(bytes(data))
    with pytest.raises(InputError, match=rf"{part.name}: cannot be read"):
        LabelStore(tmp_path / "s").read()


def _group_edit(i: int, value: list):
    def edit(m):
        part = m["parts"][0]
        groups = [list(g) for g in part["groups"]]
        groups[i] = value
        return {**m, "parts": [{**part, "groups": groups}]}
    return edit


@pytest.mark.parametrize(
    ("views", "damage", "match"),
    [
        (False, lambda m: {**m, "fidelity": {**m["fidelity"], "max_kl_": 1.0}}, "fidelity"),
        (False, lambda m: {**m, "fidelity": {**m["fidelity"], "mean_kl": "x"}}, "fidelity"),
        # a count: NaN (which json reads) or a fraction is no number of rows
        (False, lambda m: {**m, "fidelity": {**m["fidelity"], "n_rows": float("nan")}}, "fidelity"),
        (False, lambda m: {**m, "fidelity": {**m["fidelity"], "n_rows": 2.5}}, "fidelity"),
        (True, lambda m: {**m, "box_dtype": "float8"}, "box_dtype"),
        (False, _group_edit(1, [9, 10]), "groups"),   # an items store: one row per item
        (True, _group_edit(1, [5, 30]), "groups"),   # 24 items in the part, not 25
        (True, _group_edit(0, [10, 31]), "groups"),  # 73 rows in the part, not 72
    ],
)
def test_a_manifest_whose_numbers_disagree_is_a_clear_error(tmp_path, views, damage, match):
    """Counts that no longer add up would read other items' rows (or fail in numpy);
    a damaged fidelity or box type would fail in info() or a read."""
    labels = _views(24, per=3) if views else _soft(30)
    LabelStore.create(tmp_path / "s", labels, Dense(), items_per_group=10)
    path = tmp_path / "s" / MANIFEST
    path.write_text(json.dumps(damage(json.loads(path.read_text()))))
    with pytest.raises(InputError, match=match) as err:
        store = LabelStore(tmp_path / "s")
        store.info()
        store.read()
    assert str(path) in str(err.value)


def test_an_overwrite_that_fails_at_the_last_rename_keeps_the_old_store(tmp_path, monkeypatch):
    """Overwriting moves the old store aside, then the new one in; should the second
    rename fail, the old store must be back in place, as the error says."""
    import errno

    old = LabelStore.create(tmp_path / "s", _soft(20), Dense(), items_per_group=10).read()
    real = os.replace

    def replace(src, dst):
        if Path(dst) == tmp_path / "s" and Path(src).name.endswith(".tmp"):
            raise OSError(errno.ENOTEMPTY, "Directory not empty")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(InputError, match="nothing was written there"):
        LabelStore.create(tmp_path / "s", _soft(30), TopK(2), overwrite=True)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
    assert LabelStore(tmp_path / "s").read().equals(old)
