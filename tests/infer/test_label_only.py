"""Label-only teachers: the cache (keys, atomic saves), validation of answers, and the
soft labels of several answers against a hand computation."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

from softlabels import InputError, InvalidParameterError
from softlabels.infer.teachers import (
    CachedLabeller,
    LabelCache,
    TeacherLabels,
    input_key,
    response_soft_labels,
)


class Counting:
    """A teacher that counts its calls: answers by the input's first letter."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, x: str, prompt: int | None = None) -> str | None:
        self.calls += 1
        if x.startswith("?"):
            return None
        return {"a": "ant", "b": "bee"}.get(x[0], f"unsure: {x}")


def test_keys_are_stable_and_tell_inputs_apart():
    assert input_key("x") == input_key("x") != input_key(b"x")
    assert input_key(np.arange(3)) == input_key(np.arange(3))
    assert input_key(np.arange(3)) != input_key(np.arange(3.0))
    assert input_key({"a": 1, "b": [2]}) == input_key({"b": [2], "a": 1})
    assert input_key("x", prompt=0) != input_key("x")
    assert len(input_key("x")) == 64
    with pytest.raises(InputError, match="cannot hash a object stably"):
        input_key(object())


def test_a_prompt_cannot_pass_for_the_end_of_an_input():
    # the prompt used to be appended after "|p": these two questions shared a cache key
    assert input_key('a|p"b"') != input_key("a", prompt="b")
    assert input_key("a", prompt="bc") != input_key("a", prompt="b")
    assert input_key("a", prompt=["b", "c"]) != input_key('a", "c', prompt=["b"])
    # keys without a prompt are the tagged input's SHA-256, as before (caches stay valid)
    assert input_key("a receipt") == hashlib.sha256(b"sa receipt").hexdigest()
    assert input_key(b"\x00") == hashlib.sha256(b"b\x00").hexdigest()


def test_the_cache_spares_calls_and_survives_a_restart(tmp_path):
    path = tmp_path / "cache.json"
    teacher = Counting()
    labeller = CachedLabeller(teacher, ["ant", "bee"], prompts=[0, 1], cache=path)
    first = labeller.label(["apple", "banana", "apple"])
    assert first.tolist() == [[0, 0], [1, 1], [0, 0]]
    assert teacher.calls == 4 and labeller.n_asked_ == 4 and labeller.n_cached_ == 2
    again = CachedLabeller(teacher, ["ant", "bee"], prompts=[0, 1], cache=path)
    np.testing.assert_array_equal(again.label(["apple", "banana"]), first[:2])
    assert teacher.calls == 4 and again.n_cached_ == 4
    assert len(json.loads(path.read_text())) == 4
    assert not [f for f in os.listdir(tmp_path) if f != "cache.json"]  # no temporary left


def test_an_interrupted_run_keeps_what_was_saved(tmp_path):
    path = tmp_path / "cache.json"

    def flaky(x: str) -> str:
        if x == "boom":
            raise RuntimeError("the API is down")
        return "ant"

    labeller = CachedLabeller(flaky, ["ant", "bee"], cache=path, save_every=1)
    with pytest.raises(RuntimeError, match="API is down"):
        labeller.label(["a1", "a2", "boom"])
    assert len(LabelCache(path)) == 2
    path.write_text("{broken")
    with pytest.raises(InputError, match="not a readable label cache"):
        LabelCache(path)


def test_unknown_answers_are_counted_or_refused():
    labeller = CachedLabeller(Counting(), ["ant", "bee"])
    codes = labeller.label(["apple", "cherry", "?", "bee"])
    assert codes.ravel().tolist() == [0, -1, -1, 1]
    assert (labeller.n_unknown_, labeller.n_abstained_) == (1, 1)
    assert labeller.unknown_ == [(1, None, "unsure: cherry")]
    strict = CachedLabeller(Counting(), ["ant", "bee"], on_unknown="error", prompts=["p"])
    with pytest.raises(InputError, match="answered 'unsure: cherry' for item 1 with prompt 'p'"):
        strict.label(["apple", "cherry"])
    parsed = CachedLabeller(lambda x: f"  {x.upper()} ", ["ANT", "BEE"], parse=str.strip)
    assert parsed.label(["ant", "bee", "cow"]).ravel().tolist() == [0, 1, -1]
    broken = CachedLabeller(lambda x: 3, ["a", "b"], parse=lambda s: s.strip())
    assert broken.label(["x"]).ravel().tolist() == [-1] and broken.n_unknown_ == 1
    with pytest.raises(InvalidParameterError, match="on_unknown"):
        CachedLabeller(Counting(), ["ant", "bee"], on_unknown="coerce")
    with pytest.raises(InvalidParameterError, match="at least two distinct"):
        CachedLabeller(Counting(), ["ant", "ant"])
    # classes that an answer cannot tell apart (1 == 1.0 == True), or cannot be looked up
    for classes in ([1, 1.0], [1, True], [np.int64(2), 2]):
        with pytest.raises(InvalidParameterError, match="at least two distinct"):
            CachedLabeller(Counting(), classes)
    with pytest.raises(InvalidParameterError, match=r"classes must be hashable.*\['ant'\]"):
        CachedLabeller(Counting(), [["ant"], "bee"])
    with pytest.raises(InvalidParameterError, match="must be callable"):
        CachedLabeller("gpt", ["ant", "bee"])


def test_soft_labels_by_hand():
    codes = np.array([[0, 0, 1, -1], [2, 2, 2, 2], [-1, -1, -1, -1]])
    soft = response_soft_labels(codes, 3, smoothing=0.3)
    expect = np.array([[2 / 3, 1 / 3, 0.0], [0.0, 0.0, 1.0], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(soft.probs, 0.7 * expect + 0.1)
    np.testing.assert_allclose(soft.probs[2], 1 / 3)
    assert soft.support.tolist() == [3, 4, 0]
    one = response_soft_labels([1, 0], 2)  # one answer: plain label smoothing
    np.testing.assert_allclose(one.probs, [[0.05, 0.95], [0.95, 0.05]])
    model = TeacherLabels(n_classes=3, smoothing=0.3).fit(codes, item_ids=["a", "b", "c"])
    np.testing.assert_allclose(model.soft_labels_.probs, soft.probs)
    assert model.n_abstained_ == 1 and model.soft_labels_.item_ids.tolist() == ["a", "b", "c"]
    assert model.soft_labels_.provenance["method"] == "teacher-labels"


def test_bad_codes_are_explained():
    with pytest.raises(InputError, match="item 1 has code 3"):
        response_soft_labels([[0], [3]], 3)
    with pytest.raises(InputError, match="integer class codes"):
        response_soft_labels([[0.5]], 2)
    with pytest.raises(InvalidParameterError, match="smoothing"):
        response_soft_labels([[0]], 2, smoothing=1.0)
    with pytest.raises(InvalidParameterError, match="'smoothing'"):
        TeacherLabels(smoothing=-0.1).fit([[0, 1]])
