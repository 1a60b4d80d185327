"""The contract every registered inference source keeps, run over ``list_sources()``.

For each source: ``fit(evidence, /, **extras)`` returns self; ``soft_labels_`` rows are
distributions (finite, non-negative, summing to 1); the provenance names the source and
its parameters; the same input and seed give the same result; and permuting the input
rows permutes the output rows and changes nothing else.

The inputs come from one maker per kind of evidence (:data:`INPUTS`); a source whose
input differs within its kind (binary-only KOS, one teacher instead of several) says so
in :data:`OVERRIDES`.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest

import softlabels
from softlabels.core.soft import SoftLabels
from softlabels.infer.base import BaseInferrer
from softlabels.infer.registry import EVIDENCE, SOURCES, SourceRegistry

N, K = 40, 3

@dataclass
class Input:
    """``make(rng)`` draws ``(evidence, fit_keywords)``. ``permute(evidence, keywords,
    order)`` takes the rows (items) in ``order``. With ``by_id`` the output is matched
    to the input by item id (long formats); otherwise row j belongs to input row
    ``order[j]``."""

    make: Callable[[np.random.Generator], tuple[Any, dict[str, Any]]]
    permute: Callable[[Any, dict[str, Any], np.ndarray], tuple[Any, dict[str, Any]]]
    by_id: bool = False
    params: dict[str, Any] = field(default_factory=dict)


def _take(value: Any, order: np.ndarray) -> Any:
    if isinstance(value, list):
        return [_take(v, order) for v in value]
    return np.asarray(value)[order]


def _rows(evidence: Any, keywords: dict[str, Any], order: np.ndarray) -> tuple[Any, dict[str, Any]]:
    """Arrays (and lists of arrays) permuted along their first axis, keywords too."""
    return _take(evidence, order), {k: _take(v, order) for k, v in keywords.items()}


def _probs(rng: np.random.Generator, k: int = K) -> np.ndarray:
    return rng.dirichlet(np.ones(k), size=N)


def _answers(k: int) -> Callable[[np.random.Generator], tuple[pd.DataFrame, dict[str, Any]]]:
    def make(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
        truth = rng.integers(0, k, N)
        skill = rng.uniform(0.5, 0.95, 8)
        rows = []
        for i in range(N):
            for w in rng.choice(8, 4, replace=False):
                right = rng.random() < skill[w]
                rows.append((f"i{i}", f"w{w}", int(truth[i] if right else rng.integers(0, k))))
        return pd.DataFrame(rows, columns=["item", "worker", "label"]), {}

    return make


def _permute_items(frame: pd.DataFrame, keywords: dict[str, Any], order: np.ndarray):
    """The answers of the items in the order ``order`` (item ``order[j]`` first seen j-th)."""
    items = pd.unique(frame["item"])
    rank = pd.Series(np.argsort(order), index=items)
    moved = frame.iloc[np.argsort(rank[frame["item"]].to_numpy(), kind="stable")]
    return moved.reset_index(drop=True), keywords


def _votes(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    truth = rng.integers(0, K, N)
    votes = np.where(rng.random((N, 5)) < 0.7, truth[:, None], rng.integers(0, K, (N, 5)))
    votes[rng.random((N, 5)) < 0.3] = -1  # abstain
    return votes, {}


def _teachers(rng: np.random.Generator) -> tuple[list[np.ndarray], dict[str, Any]]:
    return [rng.normal(size=(N, K)) for _ in range(3)], {}


def _one_teacher(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    return rng.normal(size=(N, K)), {}


def _teacher_labels(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    codes = rng.integers(-1, K, (N, 4))
    codes[:, 0] = np.arange(N) % K
    return codes, {}


def _features(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    labels = np.arange(N) % K
    return rng.normal(size=(N, 4)) + labels[:, None], {"labels": labels}


def _candidates(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    cand = rng.random((N, K)) < 0.5
    cand[np.arange(N), rng.integers(0, K, N)] = True
    return cand, {"pred_probs": _probs(rng)}


def _complementary(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    return rng.integers(0, K, N), {"pred_probs": _probs(rng)}


def _positive_unlabeled(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    return (rng.random(N) < 0.3).astype(int), {}


def _ratings(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    truth = rng.uniform(1, 5, N)
    rows = [(f"i{i}", f"w{w}", float(np.clip(np.round(truth[i] + rng.normal(0, 0.7)), 1, 5)))
            for i in range(N) for w in rng.choice(8, 4, replace=False)]
    return pd.DataFrame(rows, columns=["item", "worker", "label"]), {}


def _distributions(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    frame = pd.DataFrame({"item": [f"i{i}" for i in range(N)],
                          "mean": rng.uniform(1, 5, N), "std": rng.uniform(0.2, 1.5, N)})
    return frame, {}


def _comparisons(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, Any]]:
    strength = rng.normal(size=N)
    a = np.tile(np.arange(N), 6)
    b = (a + rng.integers(1, N, a.size)) % N
    won = rng.random(a.size) < 1.0 / (1.0 + np.exp(strength[b] - strength[a]))
    ids = np.array([f"i{i}" for i in range(N)])
    return pd.DataFrame({"left": ids[a], "right": ids[b],
                         "winner": np.where(won, ids[a], ids[b])}), {}


def _shuffle_rows(frame: pd.DataFrame, keywords: dict[str, Any], order: np.ndarray):
    """Every row moved (the table has more rows than items; ``order`` seeds the shuffle)."""
    moved = np.random.default_rng(int(order[0])).permutation(len(frame))
    return frame.iloc[moved].reset_index(drop=True), keywords


def _frame_rows(frame: pd.DataFrame, keywords: dict[str, Any], order: np.ndarray):
    return frame.iloc[order].reset_index(drop=True), keywords


def _bag_features(rng: np.random.Generator, truth: np.ndarray) -> np.ndarray:
    return rng.normal(size=(N, 3)) + truth[:, None]


def _bag_proportions(rng: np.random.Generator) -> tuple[Any, dict[str, Any]]:
    from softlabels.infer.bags import as_bag_proportions

    truth = rng.integers(0, 2, N)
    bag_ids = np.arange(N) % 8
    share = np.bincount(bag_ids, weights=truth, minlength=8) / np.bincount(bag_ids)
    return as_bag_proportions(bag_ids, share), {"X": _bag_features(rng, truth),
                                                "pred_probs": _probs(rng, 2)}


def _bag_scores(rng: np.random.Generator) -> tuple[Any, dict[str, Any]]:
    from softlabels.infer.bags import as_bag_scores

    truth = rng.uniform(0, 1, N)
    bag_ids = np.arange(N) % 8
    scores = np.bincount(bag_ids, weights=truth, minlength=8) / np.bincount(bag_ids)
    return as_bag_scores(bag_ids, scores), {"X": _bag_features(rng, truth)}


def _set_labels(rng: np.random.Generator) -> tuple[Any, dict[str, Any]]:
    from softlabels.infer.bags import as_set_labels

    labels = np.arange(N // 4) % K
    set_ids = np.arange(N) // 4
    return as_set_labels(set_ids, labels), {"X": _bag_features(rng, labels[set_ids])}


def _bag_rows(bags: Any, keywords: dict[str, Any], order: np.ndarray):
    return bags.take(order), {k: _take(v, order) for k, v in keywords.items()}


def _only(*names: str) -> Callable[..., Callable]:
    """A maker that keeps only the keywords ``names`` (bag sources read X or pred_probs)."""

    def wrap(make: Callable) -> Callable:
        def inner(rng: np.random.Generator) -> tuple[Any, dict[str, Any]]:
            evidence, keywords = make(rng)
            return evidence, {k: keywords[k] for k in names}

        return inner

    return wrap


#: one input maker per kind of evidence
INPUTS: dict[str, Input] = {
    "answers": Input(_answers(K), _permute_items, by_id=True),
    "label-matrix": Input(_votes, _rows),
    "teacher-outputs": Input(_teachers, _rows, params={"inputs": "logits"}),
    "teacher-labels": Input(_teacher_labels, _rows, params={"n_classes": K}),
    "features": Input(_features, _rows),
    "candidate-sets": Input(_candidates, _rows),
    "complementary-labels": Input(_complementary, _rows, params={"n_classes": K}),
    "positive-unlabeled": Input(_positive_unlabeled, _rows, params={"prior": 0.5}),
    "ratings": Input(_ratings, _permute_items, by_id=True),
    "rating-distributions": Input(_distributions, _frame_rows),
    "pairwise-comparisons": Input(_comparisons, _shuffle_rows, by_id=True, params={"l2": 0.1}),
    "bag-proportions": Input(_only("X")(_bag_proportions), _bag_rows),
    "bag-scores": Input(_only("X")(_bag_scores), _bag_rows),
    "set-labels": Input(_set_labels, _bag_rows, params={"max_iter": 30}),
}

#: sources whose input differs from their kind's maker
OVERRIDES: dict[str, Input] = {
    "kos": Input(_answers(2), _permute_items, by_id=True),  # binary only
    "instance-adaptive-threshold": Input(_one_teacher, _rows, params={"inputs": "logits"}),
    "proportion-projection": Input(_only("pred_probs")(_bag_proportions), _bag_rows),
}

ALL = softlabels.list_sources()


def _input(name: str) -> Input:
    return OVERRIDES.get(name) or INPUTS[softlabels.source_evidence(name)]


def _fit(name: str, evidence: Any, keywords: dict[str, Any]) -> Any:
    spec = _input(name)
    params = dict(spec.params)
    if "random_state" in softlabels.create_source(name).get_params():
        params["random_state"] = 7
    model = softlabels.create_source(name, **params)
    assert model.fit(evidence, **keywords) is model
    return model


def _soft(name: str, seed: int, order: np.ndarray | None = None) -> SoftLabels:
    evidence, keywords = _input(name).make(np.random.default_rng(seed))
    if order is not None:
        evidence, keywords = _input(name).permute(evidence, keywords, order)
    return _fit(name, evidence, keywords).soft_labels_


# ------------------------------------------------------------------ the registry itself
def test_every_registered_kind_of_evidence_has_an_input_maker():
    kinds = {softlabels.source_evidence(n) for n in ALL}
    assert kinds <= set(EVIDENCE)
    assert kinds <= set(INPUTS), f"add a maker to INPUTS for {sorted(kinds - set(INPUTS))}"
    assert set(OVERRIDES) <= set(ALL)


def test_the_registry_holds_every_kind_of_source_of_this_line():
    assert {"dawid-skene", "rules-label-model", "teacher-ensemble", "cv-dd-committee",
            "meal-v2", "prototype-bank", "candidate-sets", "complementary-labels",
            "positive-unlabeled", "dllp", "llp-bp", "mil-regression", "proportion-projection",
            "rating-aggregator", "deqa-gaussian"} <= set(ALL)
    assert softlabels.list_sources(evidence="label-matrix") == [
        "rules-label-model", "rules-matrix-completion"]
    assert softlabels.list_sources("rules-*") == ["rules-label-model", "rules-matrix-completion"]
    assert softlabels.list_methods() == softlabels.list_sources(evidence="answers")


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def test_every_named_inferrer_class_is_registered():
    named = {c.__dict__["name"]: c for c in _subclasses(BaseInferrer)
             if c.__dict__.get("name") and c.__module__.startswith("softlabels.")}
    missing = sorted(set(named) - set(ALL))
    assert not missing, f"classes with a name but no evidence: {missing}"
    for name in ALL:
        assert SOURCES.get(name).name == name


def test_unknown_names_and_evidence_are_explained():
    with pytest.raises(KeyError, match="dawid-skene"):
        softlabels.create_source("dawid-skeen")
    with pytest.raises(softlabels.InvalidParameterError, match="label-matrix"):
        softlabels.list_sources(evidence="label-matrix-x")
    with pytest.raises(softlabels.InvalidParameterError, match="n_iterations"):
        softlabels.create_source("glad", n_iterations=3)


def test_summary_is_the_attribute_or_the_first_docstring_paragraph():
    from softlabels.infer.base import _first_line  # the rule under test

    class Listed(BaseInferrer):
        """Scores items
        by magic.

        More text."""

    assert _first_line(Listed) == "Scores items by magic."
    assert softlabels.source_summary("dawid-skene").startswith("EM with a full confusion")


def test_same_class_again_replaces_a_different_class_is_refused():
    registry = SourceRegistry("source", "nowhere")

    def make() -> type:
        class Demo(BaseInferrer):  # not registered globally: no name on the class
            pass

        return Demo

    first, again = make(), make()  # same module and qualified name, as after a reload
    registry.add("demo", first, evidence="features")
    registry.add("demo", again, evidence="features")
    assert registry.get("demo") is again

    class Other(BaseInferrer):
        pass

    with pytest.raises(ValueError, match="already registered by .*Demo.*Other needs another name"):
        registry.add("demo", Other, evidence="features")
    with pytest.raises(ValueError, match="evidence 'votes' is not one of"):
        registry.add("new", Other, evidence="votes")


def test_reloading_a_module_keeps_its_sources():
    import importlib

    import softlabels.infer.partial as partial

    importlib.reload(partial)
    assert SOURCES.get("candidate-sets") is partial.CandidateSets
    assert "candidate-sets" in softlabels.list_sources()


def test_a_subclass_without_its_own_name_is_not_registered():
    from softlabels.infer.crowd import DawidSkene

    before = softlabels.list_sources()

    class Tweaked(DawidSkene):
        pass

    assert softlabels.list_sources() == before
    assert SOURCES.get("dawid-skene") is DawidSkene


# ------------------------------------------------------------------ every source
@pytest.mark.parametrize("name", ALL)
class TestSourceContract:
    def test_fit_signature(self, name):
        cls = SOURCES.get(name)
        params = list(inspect.signature(cls.fit).parameters.values())[1:]
        assert params[0].kind is params[0].POSITIONAL_ONLY
        assert all(p.kind is p.KEYWORD_ONLY for p in params[1:]), [p.name for p in params]
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
            assert p.kind is p.KEYWORD_ONLY, p.name

    def test_rows_are_distributions_with_provenance(self, name):
        soft = _soft(name, 0)
        assert isinstance(soft, SoftLabels)
        assert soft.n_items == N
        assert np.isfinite(soft.probs).all() and (soft.probs >= 0).all()
        np.testing.assert_allclose(soft.probs.sum(axis=1), 1.0, atol=1e-9)
        params = dict(_input(name).params)
        model = softlabels.create_source(name, **params)
        evidence, keywords = _input(name).make(np.random.default_rng(0))
        model.fit(evidence, **keywords)
        assert model.soft_labels_.provenance["method"] == name
        assert model.soft_labels_.provenance["params"] == json.loads(
            json.dumps(model.get_params())
        )

    def test_same_seed_same_result(self, name):
        a, b = _soft(name, 1), _soft(name, 1)
        np.testing.assert_array_equal(a.probs, b.probs)
        np.testing.assert_array_equal(a.item_ids, b.item_ids)

    def test_row_order_only_permutes_rows(self, name):
        order = np.random.default_rng(3).permutation(N)
        base = _soft(name, 2)
        moved = _soft(name, 2, order)
        if _input(name).by_id:
            position = pd.Index(moved.item_ids).get_indexer(base.item_ids)
            assert (position >= 0).all()
            np.testing.assert_allclose(moved.probs[position], base.probs, atol=1e-8)
        else:
            np.testing.assert_allclose(moved.probs, base.probs[order], atol=1e-8)

    def test_bad_parameter_is_refused_at_fit_by_the_one_hook(self, name):
        cls = SOURCES.get(name)
        constrained = [p for p in cls._parameter_constraints if p in cls._param_names()]
        if not constrained:
            assert cls._param_names() == [] or cls is SOURCES.get("soft-average")
            return
        model = softlabels.create_source(name, **_input(name).params)
        model.set_params(**{constrained[0]: object()})
        evidence, keywords = _input(name).make(np.random.default_rng(0))
        with pytest.raises(softlabels.InvalidParameterError, match=constrained[0]):
            model.fit(evidence, **keywords)


def test_rules_frame_is_a_deprecated_alias_and_teachers_have_a_reliability_frame():
    from softlabels.infer.rules import LabelModel
    from softlabels.infer.teachers import TeacherEnsemble

    votes, _ = _votes(np.random.default_rng(4))
    model = LabelModel(model="one-coin").fit(votes)
    with pytest.warns(FutureWarning, match="reliability_frame"):
        old = model.rules_frame()
    pd.testing.assert_frame_equal(old, model.reliability_frame())
    assert list(old.columns[:1]) == ["rule"] and len(old) == 5
    ens = TeacherEnsemble(weights=[1.0, 3.0]).fit([[[0.5, 0.5]], [[0.9, 0.1]]])
    frame = ens.reliability_frame()
    assert frame["teacher"].tolist() == [0, 1]
    np.testing.assert_allclose(frame["weight"], [0.25, 0.75])


def test_a_source_name_may_carry_parameters():
    from softlabels.infer.registry import parse_spec

    assert parse_spec("dawid-skene:uncertainty=plug-in, alpha=0") == (
        "dawid-skene", {"uncertainty": "plug-in", "alpha": 0})
    assert parse_spec("mace:method=em") == ("mace", {"method": "em"})  # not a literal: text
    model = softlabels.create_source("dawid-skene:alpha=0.5,n_iter=7", n_iter=9)
    assert (model.alpha, model.n_iter) == (0.5, 9)  # keywords override the spec
    with pytest.raises(softlabels.InvalidParameterError, match="'alpha' is not key=value"):
        softlabels.create_source("dawid-skene:alpha")
    with pytest.raises(softlabels.InvalidParameterError, match="no_such"):
        softlabels.create_source("dawid-skene:no_such=1")


def test_spec_of_round_trips_through_parse_spec():
    from softlabels.infer.registry import parse_spec, spec_of

    model = softlabels.create_source("dawid-skene:uncertainty=plug-in,alpha=0,n_iter=7")
    spec = spec_of(model)
    assert spec == "dawid-skene:alpha=0,n_iter=7,uncertainty=plug-in"
    again = softlabels.create_source(spec)
    assert again.get_params() == model.get_params()
    assert parse_spec(spec_of(softlabels.create_source("glad"))) == ("glad", {})


@pytest.mark.parametrize("name, params", [
    ("stacked", {"members": ["dawid-skene", "glad"]}),
    ("stacked", {"members": [("dawid-skene", {"alpha": 0.1, "n_iter": 5}), "glad"]}),
    ("soft-average", {"weights": [1.0, 2.0]}),
    ("soft-vote", {"normalization": "softmax", "smoothing": 0.5}),
])
def test_spec_of_round_trips_values_with_commas(name, params):
    """A list or tuple parameter (its text has commas) reads back as itself."""
    from softlabels.infer.registry import parse_spec, spec_of

    model = softlabels.create_source(name, **params)
    assert parse_spec(spec_of(model)) == (name, params)
    assert softlabels.create_source(spec_of(model)).get_params() == model.get_params()


def test_parse_spec_reads_a_string_that_looks_like_a_number_only_when_quoted():
    from softlabels.infer.registry import parse_spec

    assert parse_spec("x:a='1',b=1,c=plug-in") == ("x", {"a": "1", "b": 1, "c": "plug-in"})
    assert parse_spec("x:a=[1, 2],b=(3, 4),c={'k': 1}") == (
        "x", {"a": [1, 2], "b": (3, 4), "c": {"k": 1}})
