"""Set-level labels (FACILE): the set loss against a naive reference, the fitted
encoder, and the errors for bad evidence."""

from __future__ import annotations

import numpy as np
import pytest

from softlabels import InputError
from softlabels.infer.bags import SetClassifier, SetLabels, as_set_labels, set_label_loss


def naive_set_loss(z: np.ndarray, set_ids: list, labels: dict) -> float:
    classes = sorted(set(labels.values()))
    total = 0.0
    for s, y in labels.items():
        rows = [i for i, b in enumerate(set_ids) if b == s]
        pooled = np.mean([z[i] for i in rows], axis=0)
        total -= pooled[classes.index(y)] - np.log(np.exp(pooled).sum())
    return total / len(labels)


def test_loss_matches_a_naive_loop():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(12, 3))
    set_ids = ["s%d" % (i % 4) for i in range(12)]
    labels = {"s0": "b", "s1": "a", "s2": "c", "s3": "a"}
    assert set_label_loss(z, set_ids, labels) == pytest.approx(naive_set_loss(z, set_ids, labels))


def _coarse_data(rng: np.random.Generator, n_sets: int = 150, size: int = 4):
    """Sets of one coarse class (two fine classes mixed); the coarse class is in feature 0."""
    coarse = rng.integers(0, 3, n_sets)
    fine = 2 * np.repeat(coarse, size) + rng.integers(0, 2, n_sets * size)
    X = rng.normal(size=(fine.size, 6))
    X[:, 0] += 4.0 * (fine // 2)
    X[:, 1] += 2.0 * (fine % 2)
    return X, np.repeat(np.arange(n_sets), size), coarse, fine


def test_fitted_model_pools_embeddings_and_classifies_instances():
    rng = np.random.default_rng(1)
    X, set_ids, coarse, fine = _coarse_data(rng)
    sets = as_set_labels(set_ids, coarse)
    model = SetClassifier(hidden_layer_sizes=(16, 8), random_state=0).fit(sets, X=X)
    assert (model.predict_proba(X).argmax(1) == fine // 2).mean() > 0.9
    np.testing.assert_allclose(model.soft_labels_.probs, model.predict_proba(X))
    # mean pooling of the embeddings, then the linear head: the logits of the sets
    emb = model.transform(X)
    w, b = model.net_._unpack(model.net_.theta_)[-1]
    pooled = np.stack([emb[set_ids == s].mean(axis=0) for s in range(sets.n_bags)]) @ w + b
    logits = model.net_.outputs(X)
    assert set_label_loss(logits, set_ids, coarse) == pytest.approx(
        float(-np.mean([pooled[s, coarse[s]] - np.log(np.exp(pooled[s]).sum())
                        for s in range(sets.n_bags)])))
    assert emb.shape == (X.shape[0], 8) and model.classes_.tolist() == [0, 1, 2]


def test_row_order_and_set_names_do_not_matter():
    rng = np.random.default_rng(2)
    X, set_ids, coarse, _ = _coarse_data(rng, n_sets=40)
    base = SetClassifier(hidden_layer_sizes=(8,), random_state=3, max_iter=50).fit(
        as_set_labels(set_ids, coarse), X=X)
    order = rng.permutation(X.shape[0])
    names = {s: f"set-{(7 * s) % 40}" for s in range(40)}
    moved = SetClassifier(hidden_layer_sizes=(8,), random_state=3, max_iter=50).fit(
        as_set_labels([names[s] for s in set_ids[order]],
                      {names[s]: c for s, c in enumerate(coarse)}), X=X[order])
    np.testing.assert_allclose(moved.soft_labels_.probs, base.soft_labels_.probs[order],
                               atol=1e-8)


def test_the_order_of_the_label_table_does_not_matter():
    rng = np.random.default_rng(2)
    X, set_ids, coarse, _ = _coarse_data(rng, n_sets=40)
    fits = [
        SetClassifier(hidden_layer_sizes=(16, 8), random_state=3).fit(
            as_set_labels(set_ids, {s: coarse[s] for s in order}), X=X).soft_labels_.probs
        for order in (range(40), range(39, -1, -1), rng.permutation(40))
    ]
    for probs in fits[1:]:
        np.testing.assert_allclose(probs, fits[0], atol=1e-8)


def test_bad_evidence_is_explained():
    with pytest.raises(InputError, match="row 2 is in set|row 2 is in bag 'c'"):
        as_set_labels(["a", "b", "c"], {"a": 0, "b": 1})
    with pytest.raises(InputError, match="set 'c' has no items"):
        as_set_labels(["a", "b"], {"a": 0, "b": 1, "c": 1})
    with pytest.raises(InputError, match="at least two classes"):
        as_set_labels([0, 1], [5, 5])
    with pytest.raises(InputError, match="set 'b' has no label"):
        as_set_labels(["a", "b"], {"a": 0, "b": None})
    with pytest.raises(InputError, match="takes SetLabels .*as_set_labels"):
        SetClassifier().fit(np.zeros(3), X=np.zeros((3, 2)))
    sets = as_set_labels([0, 0, 1], [0, 1])
    assert isinstance(sets, SetLabels)
    with pytest.raises(InputError, match="X"):
        SetClassifier().fit(sets, X=np.zeros((4, 2)))
    with pytest.raises(InputError, match="3 class columns but the set labels have 2"):
        set_label_loss(np.zeros((3, 3)), [0, 0, 1], [0, 1])
