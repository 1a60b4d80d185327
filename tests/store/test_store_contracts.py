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
