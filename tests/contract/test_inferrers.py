"""Registry-wide contract: every method in ``list_methods()`` behaves like an estimator."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
import pytest

from softlabels import Annotations, create_method, list_methods
from softlabels.infer.base import CrowdModel, clone

ALL = list_methods()
ITERATIVE = [n for n in ALL if {"n_iter", "tol"} <= set(create_method(n).get_params())]
RANDOM = [n for n in ALL if "random_state" in create_method(n).get_params()]
# parameters that make the random_state matter
RANDOMISED = {"kos": {"init_scale": 1.0}, "mace": {"n_restarts": 2}}


def data_for(name, binary_crowd, multiclass_crowd):
    return binary_crowd if name == "kos" else multiclass_crowd


def test_the_lists_are_not_empty():
    assert len(ALL) >= 11
    assert set(ITERATIVE) >= {"zero-based-skill", "one-coin-dawid-skene", "dawid-skene", "glad", "mace", "kos", "mmsr"}
    assert set(RANDOM) >= {"mace", "kos"}


@pytest.mark.parametrize("name", ALL)
class TestContract:
    def test_is_a_crowd_model_with_keyword_only_params(self, name):
        model = create_method(name)
        assert isinstance(model, CrowdModel)
        for p in list(inspect.signature(type(model).__init__).parameters.values())[1:]:
            assert p.kind is p.KEYWORD_ONLY, p.name

    def test_fit_returns_self_and_distributions(self, name, binary_crowd, multiclass_crowd):
        df = data_for(name, binary_crowd, multiclass_crowd)
        model = create_method(name)
        assert model.fit(df) is model
        s = model.soft_labels_
        ann = model.annotations_
        assert s.probs.shape == (ann.n_items, ann.n_classes)
        assert not np.isnan(s.probs).any()
        assert (s.probs >= 0).all()
        np.testing.assert_allclose(s.probs.sum(axis=1), 1.0, atol=1e-9)
        assert s.item_ids.tolist() == ann.item_ids.tolist()
        assert s.classes.tolist() == ann.classes.tolist()
        assert s.support.tolist() == ann.answers_per_item.tolist()
        np.testing.assert_array_equal(model.labels_, s.hard())
        assert model.skills_.shape == (ann.n_workers,)
        assert np.isfinite(model.skills_).all()

    def test_fitted_attributes(self, name, binary_crowd, multiclass_crowd):
        model = create_method(name).fit(data_for(name, binary_crowd, multiclass_crowd))
        assert isinstance(model.n_iter_, (int, np.integer)) and model.n_iter_ >= 0
        assert isinstance(model.converged_, (bool, np.bool_))
        wf = model.reliability_frame()
        assert list(wf.columns[:3]) == ["worker", "n_answers", "skill"]
        assert len(wf) == model.annotations_.n_workers
        assert wf["n_answers"].sum() == model.annotations_.n_answers

    def test_provenance(self, name, binary_crowd, multiclass_crowd):
        model = create_method(name).fit(data_for(name, binary_crowd, multiclass_crowd))
        prov = model.soft_labels_.provenance
        assert prov["method"] == name
        assert prov["params"] == json.loads(json.dumps(model.get_params()))

    def test_input_is_not_mutated(self, name, binary_crowd, multiclass_crowd):
        df = data_for(name, binary_crowd, multiclass_crowd)
        df = df.assign(worker=df["worker"].map(lambda w: f"w{w}"))
        before = df.copy(deep=True)
        create_method(name).fit(df)
        pd.testing.assert_frame_equal(df, before)
        ann = Annotations.from_frame(df)
        arrays = {k: getattr(ann, k).copy() for k in ("item", "worker", "label", "item_ids", "worker_ids", "classes")}
        create_method(name).fit(ann, gold={df["item"].iloc[0]: df["label"].iloc[0]})
        for k, v in arrays.items():
            np.testing.assert_array_equal(getattr(ann, k), v)

    def test_accepts_dataframe_annotations_and_path(self, name, binary_crowd, tmp_path):
        path = tmp_path / "answers.csv"
        binary_crowd.to_csv(path, index=False)
        a = create_method(name).fit(binary_crowd).soft_labels_
        b = create_method(name).fit(Annotations.from_frame(binary_crowd)).soft_labels_
        c = create_method(name).fit(path).soft_labels_
        assert a.equals(b) and a.equals(c)

    def test_deterministic(self, name, binary_crowd, multiclass_crowd):
        df = data_for(name, binary_crowd, multiclass_crowd)
        params = dict(RANDOMISED.get(name, {}))
        if name in RANDOM:
            params["random_state"] = 42
        a = create_method(name, **params).fit(df).soft_labels_
        b = create_method(name, **params).fit(df).soft_labels_
        assert a.equals(b)

    def test_get_params_clone_round_trip(self, name):
        model = create_method(name)
        params = model.get_params()
        assert set(params) == {
            p for p in inspect.signature(type(model).__init__).parameters if p != "self"
        }
        twin = clone(model)
        assert twin is not model
        assert type(twin) is type(model)
        assert twin.get_params() == params
        assert create_method(name, **params).get_params() == params
        assert not hasattr(twin, "soft_labels_")

    def test_set_params(self, name):
        model = create_method(name)
        params = model.get_params()
        if not params:
            assert model.set_params() is model
            assert repr(model) == f"{type(model).__name__}()"
            return
        key = sorted(params)[0]
        value = {"n_iter": 7, "tol": 0.5, "alpha": 0.25}.get(key, params[key])
        assert model.set_params(**{key: value}) is model
        assert model.get_params()[key] == value
        assert clone(model).get_params()[key] == value

    def test_clone_of_fitted_model_refits_identically(self, name, binary_crowd, multiclass_crowd):
        df = data_for(name, binary_crowd, multiclass_crowd)
        model = create_method(name).fit(df)
        again = clone(model).fit(df)
        assert again.soft_labels_.equals(model.soft_labels_)

    def test_refit_replaces_results(self, name, binary_crowd, tiny_answers):
        model = create_method(name).fit(binary_crowd)
        model.fit(tiny_answers)
        assert model.soft_labels_.item_ids.tolist() == [1, 2, 3]
        assert model.annotations_.n_workers == 3
        assert model.skills_.shape == (3,)


@pytest.mark.parametrize("name", ITERATIVE)
@pytest.mark.parametrize("n_iter", [1, 4])
def test_tol_zero_runs_exactly_n_iter(name, n_iter, binary_crowd):
    model = create_method(name, n_iter=n_iter, tol=0.0).fit(binary_crowd)
    assert model.n_iter_ == n_iter
    assert not model.converged_


@pytest.mark.parametrize("name", ITERATIVE)
def test_loose_tolerance_stops_early(name, binary_crowd):
    model = create_method(name, n_iter=200, tol=0.5).fit(binary_crowd)
    assert model.n_iter_ < 200
    assert model.converged_


@pytest.mark.parametrize("name", ["dawid-skene", "one-coin-dawid-skene", "glad", "mace"])
def test_callback_sees_every_iteration(name, binary_crowd):
    seen = []
    model = create_method(name, n_iter=5, tol=0.0)
    model.fit(binary_crowd, callback=lambda it, objective: seen.append((it, objective)))
    assert [it for it, _ in seen] == [1, 2, 3, 4, 5]
    assert all(np.isfinite(obj) for _, obj in seen)
    if name == "dawid-skene":  # EM never decreases the (MAP) objective much; here alpha is tiny
        objs = [o for _, o in seen]
        assert objs[-1] >= objs[0] - 1e-6


def test_callback_is_not_kept_after_fit(binary_crowd):
    seen = []
    model = create_method("dawid-skene", n_iter=3, tol=0.0)
    model.fit(binary_crowd, callback=lambda it, objective: seen.append(it))
    model.fit(binary_crowd)
    assert seen == [1, 2, 3]


def test_closed_form_models_never_call_back(binary_crowd):
    seen = []
    create_method("majority-vote").fit(binary_crowd, callback=lambda *a: seen.append(a))
    assert seen == []


def test_callback_must_be_callable(binary_crowd):
    from softlabels import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="callback"):
        create_method("glad").fit(binary_crowd, callback=3)


@pytest.mark.parametrize("name", ALL)
def test_workers_frame_is_a_deprecated_alias(name, binary_crowd, multiclass_crowd):
    model = create_method(name).fit(data_for(name, binary_crowd, multiclass_crowd))
    with pytest.warns(FutureWarning, match="reliability_frame"):
        old = model.workers_frame()
    pd.testing.assert_frame_equal(old, model.reliability_frame())
