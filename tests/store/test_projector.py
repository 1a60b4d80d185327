"""The HeLlO-style label projector: exact recovery of an exactly low-rank teacher, the KL
fit, what the stored bytes count, and errors."""

from __future__ import annotations

import numpy as np
import pytest

from softlabels.core.errors import InputError, InvalidParameterError, NotFittedError
from softlabels.store.projector import LabelProjector


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _teacher(rank, n=400, d=12, c=7, seed=0, w0=None):
    rng = np.random.default_rng(seed)
    phi = rng.normal(size=(n, d))
    u = rng.normal(size=(d, rank)) @ rng.normal(size=(rank, c))
    w = u if w0 is None else w0 + u
    return phi, phi @ w + rng.normal(size=c), w


@pytest.mark.parametrize("rank", [1, 3])
def test_exactly_low_rank_teacher_is_recovered(rank):
    phi, z, w = _teacher(rank)
    proj = LabelProjector(rank=rank, loss="mse", alpha=0.0, dtype=np.float64).fit(phi, logits=z)
    np.testing.assert_allclose(proj.predict_proba(phi), _softmax(z), atol=1e-9)
    # the head itself is recovered (up to a shift of each row, which the softmax ignores)
    got = proj.A_ @ proj.B_
    np.testing.assert_allclose(got - got.mean(axis=1, keepdims=True), w - w.mean(axis=1, keepdims=True), atol=1e-9)


def test_too_small_a_rank_cannot_recover_it():
    phi, z, _ = _teacher(3)
    proj = LabelProjector(rank=1, loss="mse", alpha=0.0, dtype=np.float64).fit(phi, logits=z)
    assert np.abs(proj.predict_proba(phi) - _softmax(z)).max() > 0.05


def test_known_head_plus_low_rank_update_is_recovered_with_the_head_counted():
    rng = np.random.default_rng(3)
    w0 = rng.normal(size=(12, 7))
    phi, z, _ = _teacher(2, w0=w0)
    proj = LabelProjector(rank=2, init=w0, loss="mse", alpha=0.0, dtype=np.float64).fit(phi, logits=z)
    np.testing.assert_allclose(proj.predict_proba(phi), _softmax(z), atol=1e-8)
    assert proj.scale_ == pytest.approx(1.0, abs=1e-8)
    # A (12x2) + B (2x7) + bias (7) + scale, float64; W0 (12x7) counted unless free
    assert proj.state_bytes() == 8 * (24 + 14 + 7 + 1 + 84)
    free = LabelProjector(rank=2, init=w0, init_is_free=True, loss="mse", dtype=np.float64)
    assert free.fit(phi, logits=z).state_bytes() == 8 * (24 + 14 + 7 + 1)


def test_kl_fit_from_probabilities_matches_the_teacher():
    phi, z, _ = _teacher(2, seed=5)
    p = _softmax(z / 2.0)
    proj = LabelProjector(rank=2, temperature=2.0, max_iter=500).fit(phi, probs=p)
    assert np.abs(proj.predict_proba(phi) - p).max() < 1e-3  # float32 storage


def test_kl_refinement_lowers_the_kl_of_a_misspecified_fit():
    rng = np.random.default_rng(7)
    phi = rng.normal(size=(300, 10))
    z = np.tanh(phi @ rng.normal(size=(10, 5))) * 4  # not linear in phi
    p = _softmax(z)

    def kl(pr):
        q = pr.predict_proba(phi)
        return float((p * (np.log(p) - np.log(q))).sum(axis=1).mean())

    mse = LabelProjector(rank=2, loss="mse", dtype=np.float64).fit(phi, logits=z)
    kl_fit = LabelProjector(rank=2, loss="kl", dtype=np.float64).fit(phi, logits=z)
    assert kl(kl_fit) < 0.8 * kl(mse)


def test_class_means_init_beats_zeros_at_rank_one():
    rng = np.random.default_rng(11)
    y = rng.integers(0, 6, 600)
    centres = rng.normal(size=(6, 20)) * 2
    phi = centres[y] + rng.normal(size=(600, 20))
    z = 3.0 * phi @ centres.T  # a full-rank teacher aligned with the class means
    p = _softmax(z)

    def err(init):
        pr = LabelProjector(rank=1, init=init, loss="mse", dtype=np.float64).fit(phi, logits=z)
        return np.abs(pr.predict_proba(phi) - p).mean()

    assert err("class_means") < 0.5 * err("zeros")


def test_torch_module_gives_the_same_logits():
    torch = pytest.importorskip("torch")
    phi, z, _ = _teacher(2)
    proj = LabelProjector(rank=2, loss="mse").fit(phi, logits=z)
    with torch.no_grad():
        out = proj.to_torch()(torch.as_tensor(phi, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(out, proj.decision_function(phi), atol=1e-4)


def test_errors_are_named():
    phi, z, _ = _teacher(1, n=20)
    with pytest.raises(InputError, match="exactly one"):
        LabelProjector().fit(phi)
    with pytest.raises(InvalidParameterError, match="'rank'"):
        LabelProjector(rank=0).fit(phi, logits=z)
    with pytest.raises(InvalidParameterError, match="'init'"):
        LabelProjector(init="text").fit(phi, logits=z)
    with pytest.raises(InputError, match="init must have shape"):
        LabelProjector(init=np.zeros((3, 3))).fit(phi, logits=z)
    with pytest.raises(InputError, match="logits has 19 rows"):
        LabelProjector().fit(phi, logits=z[:19])
    with pytest.raises(NotFittedError, match="fit"):
        LabelProjector().predict_proba(phi)
    proj = LabelProjector(rank=1, loss="mse").fit(phi, logits=z)
    with pytest.raises(InputError, match="fitted on 12"):
        proj.predict_proba(phi[:, :5])
