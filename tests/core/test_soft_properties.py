"""Properties of SoftLabels, checked with hypothesis: files give back exactly what was
written, taking rows in another order and back restores the original, and putting the
classes in another order moves every per-class result with them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _soft_strategies import soft_labels
from softlabels import SoftLabels

EXAMPLES = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

# CSV keeps text as written, so the text of a drawn CSV never reads as a number
CHAR = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
WORD = st.text(CHAR | st.sampled_from('\r\n,"'), max_size=5).map(lambda t: "w" + t)
#: 64-bit ids, often of 19 digits (as tweet ids)
ID64 = st.integers(-2**63, 2**63 - 1) | st.integers(10**18, 2**63 - 1)


@EXAMPLES
@given(soft=soft_labels(provenance=True))
def test_parquet_gives_back_exactly_what_was_written(soft, tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("p")) / "s.parquet"
    soft.save(path)
    back = SoftLabels.load(path)
    assert back.equals(soft)  # probabilities bit for bit, ids, support, provenance
    assert [type(c) for c in back.classes.tolist()] == [type(c) for c in soft.classes.tolist()]


@EXAMPLES
@given(data=st.data())
def test_csv_gives_back_exactly_what_was_written(data, tmp_path_factory):
    n, k = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 4))
    classes = data.draw(st.lists(WORD, min_size=k, max_size=k, unique=True))
    ids = data.draw(st.lists(WORD, min_size=n, max_size=n, unique=True)
                    | st.lists(ID64, min_size=n, max_size=n, unique=True))
    raw = np.array(data.draw(st.lists(st.floats(0, 1e6) | st.sampled_from([5e-324, 1e-300]),
                                      min_size=n * k, max_size=n * k))).reshape(n, k)
    raw[raw.sum(axis=1) == 0, 0] = 1.0
    support = data.draw(st.none() | st.lists(st.floats(0, 1e9), min_size=n, max_size=n))
    soft = SoftLabels(raw / raw.sum(axis=1, keepdims=True), classes, ids, support=support,
                      provenance={"version": "x"})
    path = Path(tmp_path_factory.mktemp("c")) / "s.csv"
    soft.save(path)
    assert SoftLabels.read_csv(path, provenance={"version": "x"}).equals(soft)


@EXAMPLES
@given(soft=soft_labels(), data=st.data())
def test_rows_taken_in_another_order_and_back_are_the_original(soft, data):
    order = np.array(data.draw(st.permutations(range(soft.n_items))), dtype=np.intp)
    assert soft.take(order).take(np.argsort(order)).equals(soft)
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=soft.n_items,
                                       max_size=soft.n_items)))
    parts = soft.take(keep), soft.take(~keep)
    rows = np.concatenate([np.flatnonzero(keep), np.flatnonzero(~keep)])
    assert np.array_equal(np.concatenate([p.probs for p in parts])[np.argsort(rows)], soft.probs)
    assert np.concatenate([p.item_ids for p in parts])[np.argsort(rows)].tolist() \
        == soft.item_ids.tolist()


@EXAMPLES
@given(soft=soft_labels(), data=st.data())
def test_classes_in_another_order_move_every_per_class_result(soft, data):
    order = np.array(data.draw(st.permutations(range(soft.n_classes))), dtype=np.intp)
    moved = SoftLabels(soft.probs[:, order], soft.classes[order], soft.item_ids,
                       support=soft.support)
    assert np.array_equal(moved.confidence(), soft.confidence())
    np.testing.assert_allclose(moved.entropy(), soft.entropy(), rtol=1e-12, atol=1e-15)
    untied = (soft.probs == soft.confidence()[:, None]).sum(axis=1) == 1
    assert np.array_equal(order[moved.hard_codes()][untied], soft.hard_codes()[untied])
    assert moved.hard()[untied].tolist() == soft.hard()[untied].tolist()
    # on a tie, the first of the tied classes in the order given
    for r in np.flatnonzero(~untied):
        tied = np.flatnonzero(moved.probs[r] == moved.confidence()[r])
        assert moved.hard_codes()[r] == tied[0]
