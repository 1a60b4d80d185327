"""audit.ood: Mahalanobis, maximum-softmax and energy OOD scores; label sharpness K_F."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp
from scipy.stats import rankdata

from softlabels import InputError, InvalidParameterError, SoftLabels
from softlabels.audit import (
    MahalanobisOOD,
    energy_score,
    label_sharpness,
    max_softmax_score,
)
from softlabels.audit import ood as ood_module

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def auroc(score_in, score_out):
    """P(score_out > score_in), ties counted half (Mann-Whitney U)."""
    ranks = rankdata(np.r_[score_in, score_out])
    n_in, n_out = len(score_in), len(score_out)
    return (ranks[n_in:].sum() - n_out * (n_out + 1) / 2) / (n_in * n_out)


def naive_mahalanobis(train, labels, test, shrinkage):
    """The paper's formula written out: class means, pooled ML covariance, shrinkage to
    tr(S)/d * I, an explicit (pseudo-)inverse and a loop over points and classes."""
    classes = sorted(set(labels))
    means = np.array([train[np.asarray(labels) == c].mean(axis=0) for c in classes])
    n, d = train.shape
    cov = np.zeros((d, d))
    for x, y in zip(train, labels):
        r = x - means[classes.index(y)]
        cov += np.outer(r, r) / n
    cov = (1 - shrinkage) * cov + shrinkage * np.trace(cov) / d * np.eye(d)
    prec = np.linalg.pinv(cov, hermitian=True)
    dist = np.array([[(x - m) @ prec @ (x - m) for m in means] for x in test])
    return dist, cov, prec


def naive_ledoit_wolf(resid):
    """Ledoit & Wolf (2004), Lemma 3.2-3.4 quantities in their plain form."""
    n, d = resid.shape
    s = resid.T @ resid / n
    mu = np.trace(s) / d
    delta = np.sum((s - mu * np.eye(d)) ** 2) / d
    beta = sum(np.sum((np.outer(x, x) - s) ** 2) for x in resid) / n**2 / d
    return min(beta, delta) / delta


def gaussian_classes(rng, n_per_class=60, d=5, n_classes=3, spread=6.0):
    centers = rng.normal(scale=spread, size=(n_classes, d))
    mix = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
    x = np.concatenate([c + rng.normal(size=(n_per_class, d)) @ mix for c in centers])
    y = np.repeat(np.arange(n_classes), n_per_class)
    return x, y, centers, mix


class TestMahalanobisHandComputed:
    X = np.array([[-1.0, 0.0], [1.0, 0.0], [10.0, -1.0], [10.0, 1.0]])
    Y = np.array([0, 0, 1, 1])

    @pytest.mark.parametrize("shrinkage", ["ledoit-wolf", 0.0, 0.5])
    def test_isotropic_covariance(self, shrinkage):
        # residuals (+-1, 0) and (0, +-1): S = 0.5 I, already a scaled identity, so any
        # shrinkage leaves it unchanged and the precision is 2 I
        m = MahalanobisOOD(shrinkage=shrinkage).fit(self.X, self.Y)
        np.testing.assert_allclose(m.means_, [[0, 0], [10, 0]])
        np.testing.assert_allclose(m.covariance_, 0.5 * np.eye(2), atol=1e-15)
        np.testing.assert_allclose(m.precision_, 2 * np.eye(2), atol=1e-12)
        test = np.array([[0.0, 1.0], [5.0, 0.0], [10.0, 3.0], [-2.0, -2.0]])
        expected = np.array([[2.0, 202.0], [50.0, 50.0], [218.0, 18.0], [16.0, 296.0]])
        np.testing.assert_allclose(m.distances(test), expected, rtol=1e-12)
        np.testing.assert_allclose(m.score(test), [2.0, 50.0, 18.0, 16.0], rtol=1e-12)
        np.testing.assert_array_equal(m.predict(test), [0, 0, 1, 0])
        if shrinkage == "ledoit-wolf":
            assert m.shrinkage_ == 0.0

    def test_anisotropic_by_hand(self):
        x = np.array([[1, 1], [-1, 1], [1, -1], [-1, -1], [3, 13], [3, 7], [5, 10], [1, 10]], float)
        y = ["a", "a", "a", "a", "b", "b", "b", "b"]
        m = MahalanobisOOD(shrinkage=0.0).fit(x, y)
        # residuals: a -> (+-1, +-1); b -> (0, 3), (0, -3), (2, 0), (-2, 0)
        # S = diag((4*1 + 2*4) / 8, (4*1 + 2*9) / 8) = diag(1.5, 2.75)
        np.testing.assert_allclose(m.covariance_, np.diag([1.5, 2.75]), atol=1e-14)
        np.testing.assert_array_equal(m.classes_, ["a", "b"])
        d = m.distances(np.array([[3.0, 0.0]]))
        np.testing.assert_allclose(d, [[9 / 1.5, 0 / 1.5 + 100 / 2.75]], rtol=1e-12)
        assert m.predict(np.array([[3.0, 9.0]]))[0] == "b"


class TestMahalanobisReference:
    @pytest.mark.parametrize("shrinkage", [0.0, 0.3, 1.0, "ledoit-wolf"])
    def test_matches_naive_formula(self, shrinkage):
        rng = np.random.default_rng(1)
        x, y, _, _ = gaussian_classes(rng, n_per_class=15, d=4)
        test = rng.normal(scale=5, size=(25, 4))
        m = MahalanobisOOD(shrinkage=shrinkage).fit(x, y)
        alpha = m.shrinkage_ if shrinkage == "ledoit-wolf" else shrinkage
        dist, cov, prec = naive_mahalanobis(x, list(y), test, alpha)
        np.testing.assert_allclose(m.covariance_, cov, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(m.precision_, prec, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(m.distances(test), dist, rtol=1e-8)
        np.testing.assert_allclose(m.score(test), dist.min(axis=1), rtol=1e-8)

    @pytest.mark.parametrize("shrinkage", [0.0, "ledoit-wolf"])
    def test_points_near_a_far_class_mean_are_measured_exactly(self, shrinkage):
        # classes 1e8 within-class standard deviations apart: in whitened coordinates a
        # class mean is far from the centre, and |z|^2 - 2 z.m + |m|^2 cancels to noise
        rng = np.random.default_rng(5)
        x = rng.normal(scale=1e-3, size=(200, 2))
        y = np.repeat([0, 1], 100)
        x[y == 1] += 1e5
        m = MahalanobisOOD(shrinkage=shrinkage).fit(x, y)
        test = np.concatenate([x[:5], x[-5:]])
        want = np.array([[(v - mu) @ m.precision_ @ (v - mu) for mu in m.means_] for v in test])
        np.testing.assert_allclose(m.distances(test), want, rtol=1e-6)
        np.testing.assert_allclose(m.score(test), want.min(axis=1), rtol=1e-6)

    @pytest.mark.parametrize("n, d", [(40, 3), (12, 30), (300, 8)])
    def test_ledoit_wolf_intensity_matches_plain_formula(self, n, d):
        rng = np.random.default_rng(n + d)
        x = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=d)
        y = rng.integers(0, 2, n)
        m = MahalanobisOOD().fit(x, y)
        resid = x - m.means_[y]
        assert m.shrinkage_ == pytest.approx(naive_ledoit_wolf(resid), rel=1e-10)
        assert 0.0 <= m.shrinkage_ <= 1.0

    def test_ledoit_wolf_shrinks_less_with_more_items(self):
        # an anisotropic covariance: far from the identity target, so with many items
        # the intensity goes to 0 (the paper's estimate); with few it is large
        rng = np.random.default_rng(3)
        scales = np.linspace(0.5, 3.0, 10)
        few = MahalanobisOOD().fit(rng.normal(size=(15, 10)) * scales, np.zeros(15, int)).shrinkage_
        many = MahalanobisOOD().fit(rng.normal(size=(20000, 10)) * scales, np.zeros(20000, int)).shrinkage_
        assert many < 0.01 < 0.3 < few

    def test_blocks_give_the_same_result(self, monkeypatch):
        rng = np.random.default_rng(4)
        x, y, _, _ = gaussian_classes(rng)
        test = rng.normal(scale=4, size=(103, 5))
        m = MahalanobisOOD().fit(x, y)
        whole = m.distances(test)
        monkeypatch.setattr(ood_module, "_BLOCK_BYTES", 8 * 17 * 7)  # blocks of 7 rows
        np.testing.assert_array_equal(m.distances(test), whole)
        np.testing.assert_array_equal(m.score(test), whole.min(axis=1))
        np.testing.assert_array_equal(m.predict(test), m.classes_[whole.argmin(axis=1)])


class TestMahalanobisShrinkageEdges:
    def test_singular_covariance_without_shrinkage_uses_pseudo_inverse(self):
        rng = np.random.default_rng(5)
        x = np.c_[rng.normal(size=(30, 3)), np.full(30, 7.0)]  # a constant feature
        y = rng.integers(0, 2, 30)
        m = MahalanobisOOD(shrinkage=0.0).fit(x, y)
        cov = m.covariance_
        np.testing.assert_allclose(m.precision_, np.linalg.pinv(cov, hermitian=True), atol=1e-10)
        test = np.c_[rng.normal(size=(5, 3)), rng.normal(size=5)]
        dist, _, _ = naive_mahalanobis(x, list(y), test, 0.0)
        np.testing.assert_allclose(m.distances(test), dist, rtol=1e-8)
        # the direction without within-class variance is ignored, as in the paper's code
        moved = test.copy()
        moved[:, 3] += 1000.0
        np.testing.assert_allclose(m.score(moved), m.score(test), rtol=1e-8)

    def test_singular_covariance_with_ledoit_wolf_is_invertible(self):
        rng = np.random.default_rng(5)
        x = np.c_[rng.normal(size=(30, 3)), np.full(30, 7.0)]
        m = MahalanobisOOD().fit(x, rng.integers(0, 2, 30))
        assert 0.0 < m.shrinkage_ <= 1.0
        assert np.linalg.eigvalsh(m.covariance_).min() > 0
        np.testing.assert_allclose(m.precision_ @ m.covariance_, np.eye(4), atol=1e-8)
        far = np.array([[0.0, 0.0, 0.0, 1007.0]])
        near = np.array([[0.0, 0.0, 0.0, 7.0]])
        assert m.score(far)[0] > 1e3 * m.score(near)[0]

    def test_more_features_than_items(self):
        rng = np.random.default_rng(6)
        n, d = 20, 200
        x = rng.normal(size=(n, d))
        y = np.repeat([0, 1], 10)
        m = MahalanobisOOD().fit(x, y)
        assert np.linalg.eigvalsh(m.covariance_).min() > 0
        assert np.isfinite(m.precision_).all()
        s = m.score(rng.normal(size=(50, d)))
        assert np.isfinite(s).all() and (s > 0).all()

    def test_full_shrinkage_is_scaled_euclidean(self):
        rng = np.random.default_rng(7)
        x, y, _, _ = gaussian_classes(rng, d=3)
        m = MahalanobisOOD(shrinkage=1.0).fit(x, y)
        mu = np.trace(naive_mahalanobis(x, list(y), x[:1], 0.0)[1]) / 3
        test = rng.normal(size=(9, 3))
        eucl = ((test[:, None, :] - m.means_[None]) ** 2).sum(axis=2) / mu
        np.testing.assert_allclose(m.distances(test), eucl, rtol=1e-10)

    def test_one_item_classes_are_allowed(self):
        x = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0], [-1.0, 2.0]])
        m = MahalanobisOOD().fit(x, [0, 0, 1, 2])
        np.testing.assert_allclose(m.means_[1:], x[2:])
        assert np.isfinite(m.score(x)).all()


class TestMahalanobisDetectsOOD:
    def test_far_points_score_higher_than_training_points(self):
        rng = np.random.default_rng(8)
        x, y, centers, mix = gaussian_classes(rng, n_per_class=200, d=10, n_classes=3)
        m = MahalanobisOOD().fit(x, y)
        held_in = np.concatenate([c + rng.normal(size=(100, 10)) @ mix for c in centers])
        far = rng.normal(scale=6.0, size=(3, 10)).mean(axis=0) + 30 + rng.normal(size=(300, 10))
        assert auroc(m.score(held_in), m.score(far)) > 0.999
        assert auroc(m.score(x), m.score(far)) > 0.999
        assert (m.predict(held_in) == np.repeat([0, 1, 2], 100)).mean() > 0.95

    def test_correlated_direction_matters(self):
        # both classes stretched along (1, 1): a point off that axis is OOD even though
        # it is closer in Euclidean distance than an in-distribution point along it
        rng = np.random.default_rng(9)
        t = rng.normal(scale=5.0, size=400)
        x = np.c_[t, t] + rng.normal(scale=0.2, size=(400, 2))
        m = MahalanobisOOD().fit(x, np.zeros(400, int))
        along, across = np.array([[6.0, 6.0]]), np.array([[2.0, -2.0]])
        assert m.score(across)[0] > 10 * m.score(along)[0]


class TestMahalanobisInvariance:
    @given(seed=st.integers(0, 2**32 - 1), shift=st.floats(-1e3, 1e3))
    def test_permuting_items_and_translating(self, seed, shift):
        rng = np.random.default_rng(seed)
        x, y, _, _ = gaussian_classes(rng, n_per_class=8, d=3)
        test = rng.normal(scale=5, size=(6, 3))
        ref = MahalanobisOOD().fit(x, y)
        perm = rng.permutation(len(y))
        permuted = MahalanobisOOD().fit(x[perm], y[perm])
        np.testing.assert_allclose(permuted.score(test), ref.score(test), rtol=1e-9)
        offset = shift * rng.normal(size=3)
        moved = MahalanobisOOD().fit(x + offset, y)
        np.testing.assert_allclose(moved.score(test + offset), ref.score(test), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(moved.shrinkage_, ref.shrinkage_, rtol=1e-6, atol=1e-12)

    @given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-3, 1e3))
    def test_rotation_and_scale_with_ledoit_wolf_any_linear_map_without(self, seed, scale):
        rng = np.random.default_rng(seed)
        x, y, _, _ = gaussian_classes(rng, n_per_class=10, d=3)
        test = rng.normal(scale=5, size=(6, 3))
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        ref = MahalanobisOOD().fit(x, y).score(test)
        rot = MahalanobisOOD().fit(scale * x @ q, y).score(scale * test @ q)
        np.testing.assert_allclose(rot, ref, rtol=1e-7)
        a = rng.normal(size=(3, 3)) + 3 * np.eye(3)
        plain = MahalanobisOOD(shrinkage=0.0).fit(x, y).score(test)
        mapped = MahalanobisOOD(shrinkage=0.0).fit(x @ a, y).score(test @ a)
        np.testing.assert_allclose(mapped, plain, rtol=1e-6)

    @given(seed=st.integers(0, 2**32 - 1))
    def test_relabelling_classes(self, seed):
        rng = np.random.default_rng(seed)
        x, y, _, _ = gaussian_classes(rng, n_per_class=8, d=3)
        test = rng.normal(scale=5, size=(6, 3))
        names = np.array(["z", "m", "a"])
        ref = MahalanobisOOD().fit(x, y)
        named = MahalanobisOOD().fit(x, names[y])
        np.testing.assert_allclose(named.score(test), ref.score(test), rtol=1e-12)
        np.testing.assert_array_equal(named.predict(test), names[ref.predict(test)])


class TestMahalanobisErrors:
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])

    @pytest.mark.parametrize("bad", ["auto", "ledoit_wolf", -0.1, 1.5, float("nan"), True, None])
    def test_bad_shrinkage(self, bad):
        with pytest.raises(InvalidParameterError, match="'shrinkage' parameter of MahalanobisOOD"):
            MahalanobisOOD(shrinkage=bad).fit(self.X, [0, 0, 1])

    def test_init_stores_parameters_unchanged(self):
        m = MahalanobisOOD(shrinkage="bogus")
        assert m.get_params() == {"shrinkage": "bogus"}
        assert repr(m) == "MahalanobisOOD(shrinkage='bogus')"

    def test_bad_features_and_labels(self):
        with pytest.raises(InputError, match=r"features contains non-finite .*row 1, column 0\)"):
            MahalanobisOOD().fit([[0.0, 1.0], [np.nan, 0.0]], [0, 1])
        with pytest.raises(InputError, match="labels has 2 rows but there are 3 items"):
            MahalanobisOOD().fit(self.X, [0, 1])
        with pytest.raises(InputError, match=r"labels: 1 labels are missing or infinite \(first at row 2\)"):
            MahalanobisOOD().fit(self.X, [0.0, 1.0, np.nan])
        with pytest.raises(InputError, match=r"labels: 1 labels are missing or infinite \(first at row 1\)"):
            MahalanobisOOD().fit(self.X, ["a", None, "b"])
        with pytest.raises(InputError, match="cannot be compared"):
            MahalanobisOOD().fit(self.X, np.array([1, "a", 2.5], dtype=object))
        with pytest.raises(InputError, match="labels must be 1-D"):
            MahalanobisOOD().fit(self.X, np.zeros((3, 2)))
        with pytest.raises(InputError, match="features must be a non-empty 2-D array"):
            MahalanobisOOD().fit(self.X[:, 0], [0, 0, 1])

    def test_no_within_class_variance(self):
        with pytest.raises(InputError, match="every item equals its class mean"):
            MahalanobisOOD().fit([[1.0, 2.0], [1.0, 2.0], [3.0, 3.0]], [0, 0, 1])

    def test_not_fitted_and_wrong_width(self):
        with pytest.raises(ValueError, match="not fitted yet"):
            MahalanobisOOD().score(self.X)
        m = MahalanobisOOD().fit(self.X, [0, 0, 1])
        with pytest.raises(InputError, match="features has 3 columns; the detector was fitted on 2"):
            m.score(np.zeros((1, 3)))


class TestMaxSoftmax:
    def test_values(self):
        p = np.array([[0.7, 0.2, 0.1], [1 / 3, 1 / 3, 1 / 3], [0.0, 0.0, 1.0]])
        np.testing.assert_allclose(max_softmax_score(p), [0.3, 2 / 3, 0.0])

    def test_accepts_soft_labels_and_orders_confidence(self):
        soft = SoftLabels(np.array([[0.99, 0.01], [0.6, 0.4]]), ["a", "b"])
        s = max_softmax_score(soft)
        np.testing.assert_allclose(s, [0.01, 0.4])
        assert s[1] > s[0]

    def test_bad_input(self):
        with pytest.raises(InputError, match="probs: 1 rows do not sum to 1"):
            max_softmax_score([[0.9, 0.9], [0.5, 0.5]])
        with pytest.raises(InputError, match="probs must be 2-D"):
            max_softmax_score([0.5, 0.5])

    @given(st.integers(0, 2**32 - 1))
    def test_permutation_equivariant(self, seed):
        rng = np.random.default_rng(seed)
        p = rng.dirichlet(np.ones(4), size=12)
        perm = rng.permutation(12)
        np.testing.assert_array_equal(max_softmax_score(p[perm]), max_softmax_score(p)[perm])
        # permuting classes changes nothing
        np.testing.assert_allclose(max_softmax_score(p[:, ::-1]), max_softmax_score(p))


class TestEnergy:
    @pytest.mark.parametrize("t", [0.5, 1.0, 3.0])
    def test_reference_formula(self, t):
        z = np.random.default_rng(0).normal(scale=3, size=(20, 5))
        ref = -t * np.log(np.exp(z / t).sum(axis=1))
        np.testing.assert_allclose(energy_score(z, temperature=t), ref, rtol=1e-12)
        np.testing.assert_allclose(energy_score(z, t), -t * logsumexp(z / t, axis=1), rtol=1e-12)

    def test_huge_logits_are_stable(self):
        # the pytest configuration turns RuntimeWarnings from softlabels into errors
        z = np.array([[1e4, -1e4], [1e4, 1e4], [-1e4, -1e4], [-1e4, 1e4 - 1.0]])
        e = energy_score(z)
        np.testing.assert_allclose(e, [-1e4, -1e4 - np.log(2), 1e4 - np.log(2), -(1e4 - 1.0)])
        assert np.isfinite(energy_score(z, temperature=1e-300)).all()
        np.testing.assert_allclose(energy_score(z, temperature=1e-300), -z.max(axis=1))
        np.testing.assert_allclose(energy_score(z, temperature=1e6), -1e6 * logsumexp(z / 1e6, axis=1))

    def test_confident_logits_have_lower_energy(self):
        e = energy_score([[8.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
        assert e[0] < e[1] < e[2]

    def test_single_class(self):
        np.testing.assert_allclose(energy_score([[2.5], [-1.0]]), [-2.5, 1.0])

    @given(st.integers(0, 2**32 - 1), st.floats(-100, 100), st.floats(0.1, 10))
    def test_shift_and_permutation(self, seed, c, t):
        z = np.random.default_rng(seed).normal(scale=4, size=(7, 3))
        np.testing.assert_allclose(energy_score(z + c, t), energy_score(z, t) - c, atol=1e-9)
        np.testing.assert_allclose(energy_score(z[::-1, ::-1], t), energy_score(z, t)[::-1])

    @pytest.mark.parametrize("t", [0, -1.0, float("inf"), "1"])
    def test_bad_temperature(self, t):
        with pytest.raises(InvalidParameterError, match="'temperature' parameter of energy_score"):
            energy_score([[1.0, 2.0]], temperature=t)

    def test_bad_logits(self):
        with pytest.raises(InputError, match=r"logits contains non-finite .*row 0, column 1\)"):
            energy_score([[1.0, np.inf]])
        with pytest.raises(InputError, match="logits must be a non-empty 2-D array"):
            energy_score([1.0, 2.0])


def naive_sharpness(x, labels, soft=False):
    """Every pair, one at a time: the maxima and all finite ratios."""
    x = np.asarray(x, float).reshape(len(x), -1)
    ratios, conflicts, best, pair = [], 0, 0.0, None
    for j, k in itertools.combinations(range(len(x)), 2):
        num = 0.5 * np.abs(labels[j] - labels[k]).sum() if soft else float(labels[j] != labels[k])
        dist = np.sqrt(((x[j] - x[k]) ** 2).sum())
        if dist == 0:
            conflicts += num > 0
            continue
        ratios.append(num / dist)
        if num / dist > best:
            best, pair = num / dist, (j, k)
    return best, pair, np.array(ratios), conflicts


class TestLabelSharpnessKnown:
    def test_three_points(self):
        res = label_sharpness([[0.0], [1.0], [3.0]], ["a", "b", "b"], q=0.5)
        assert res.value == 1.0 and res.pair == (0, 1)
        assert res.quantile == pytest.approx(1 / 3)  # median of {1, 1/3, 0}
        assert (res.n_pairs, res.n_conflicting_duplicates) == (3, 0)
        assert float(res) == 1.0
        np.testing.assert_array_equal(res.indices, [0, 1, 2])

    def test_identical_labels_give_zero(self):
        x = np.random.default_rng(0).normal(size=(30, 4))
        res = label_sharpness(x, np.ones(30, int))
        assert res.value == 0.0 and res.pair is None and res.quantile == 0.0
        assert res.n_pairs == 30 * 29 // 2

    def test_same_label_near_duplicates_do_not_raise_it_different_labels_do(self):
        # the regression the released code gets wrong (it uses the same-label indicator)
        rng = np.random.default_rng(1)
        x = np.r_[rng.normal(size=(20, 3)), rng.normal(size=(20, 3)) + 10]
        y = np.repeat([0, 1], 20)
        base = label_sharpness(x, y).value
        twin = np.r_[x, x[:1] + 1e-6]
        assert label_sharpness(twin, np.r_[y, 0]).value == pytest.approx(base)
        res = label_sharpness(twin, np.r_[y, 1])
        assert res.value == pytest.approx(1e6 / np.sqrt(3), rel=1e-6)
        assert res.pair == (0, 40)

    def test_exact_duplicates_are_counted_not_infinite(self):
        x = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
        res = label_sharpness(x, [0, 1, 0, 1])
        # duplicates (0,1), (1,2) differ in label, (0,2) agree; finite ratios: 1/2, 0, 1/2
        assert res.n_conflicting_duplicates == 2
        assert res.n_pairs == 3 and res.value == 0.5 and res.pair == (0, 3)

    def test_all_duplicates(self):
        res = label_sharpness(np.zeros((3, 2)), [0, 1, 1])
        assert np.isnan(res.value) and np.isnan(res.quantile) and res.pair is None
        assert (res.n_pairs, res.n_conflicting_duplicates) == (0, 2)

    def test_separated_classes_are_less_sharp_than_interleaved(self):
        rng = np.random.default_rng(2)
        x = rng.uniform(0, 10, size=(200, 2))
        separated = (x[:, 0] > 5).astype(int)
        checker = ((np.floor(x[:, 0]) + np.floor(x[:, 1])) % 2).astype(int)
        noisy = separated.copy()
        noisy[rng.choice(200, 20, replace=False)] ^= 1
        k_sep, k_check, k_noisy = (label_sharpness(x, lab).value for lab in (separated, checker, noisy))
        assert k_sep < k_check and k_sep < k_noisy

    def test_scales_inversely_with_features_and_flattens_images(self):
        rng = np.random.default_rng(3)
        imgs = rng.normal(size=(25, 4, 4, 3))
        y = rng.integers(0, 3, 25)
        res = label_sharpness(imgs, y)
        flat = label_sharpness(imgs.reshape(25, -1), y)
        assert res.value == flat.value and res.pair == flat.pair
        assert label_sharpness(imgs * 4.0, y).value == pytest.approx(res.value / 4.0, rel=1e-12)

    def test_soft_labels(self):
        x = np.array([[0.0], [2.0], [3.0]])
        p = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
        res = label_sharpness(x, p)
        # total variation: (0,1) 0.5/2, (0,2) 1/3, (1,2) 0.5/1
        assert res.value == pytest.approx(0.5) and res.pair == (1, 2)
        onehot = np.eye(3)[[0, 2, 1, 1, 0]]
        xs = np.random.default_rng(4).normal(size=(5, 2))
        soft_res = label_sharpness(xs, SoftLabels(onehot, ["a", "b", "c"]))
        hard_res = label_sharpness(xs, [0, 2, 1, 1, 0])
        assert soft_res.value == pytest.approx(hard_res.value) and soft_res.pair == hard_res.pair


class TestLabelSharpnessReference:
    @pytest.mark.parametrize("q", [0.0, 0.5, 0.9, 0.99, 1.0])
    @pytest.mark.parametrize("soft", [False, True])
    def test_matches_naive_pairs(self, q, soft):
        rng = np.random.default_rng(5)
        x = np.round(rng.normal(size=(40, 3)), 1)
        x[5] = x[7]  # a duplicate
        labels = rng.dirichlet(np.ones(3), size=40) if soft else rng.integers(0, 3, 40)
        best, pair, ratios, conflicts = naive_sharpness(x, labels, soft)
        res = label_sharpness(x, labels, q=q)
        assert res.value == pytest.approx(best, rel=1e-12) and res.pair == pair
        assert res.quantile == pytest.approx(np.quantile(ratios, q), rel=1e-9, abs=1e-15)
        assert res.n_pairs == ratios.size and res.n_conflicting_duplicates == conflicts

    @pytest.mark.parametrize("q", [0.5, 0.9, 0.99])
    def test_blocks_and_truncated_buffer_match(self, monkeypatch, q):
        rng = np.random.default_rng(6)
        x = rng.normal(size=(90, 4))
        y = rng.integers(0, 2, 90)
        whole = label_sharpness(x, y, q=q)
        monkeypatch.setattr(ood_module, "_BLOCK_BYTES", 8 * 90 * 3)  # 3 rows a block
        blocked = label_sharpness(x, y, q=q)
        _, _, ratios, _ = naive_sharpness(x, y)
        assert blocked.value == whole.value and blocked.pair == whole.pair
        assert blocked.quantile == pytest.approx(np.quantile(ratios, q), rel=1e-9)
        assert whole.quantile == pytest.approx(np.quantile(ratios, q), rel=1e-9)

    def test_near_duplicates_far_from_the_origin_are_measured_exactly(self):
        x = np.array([[1e6, 1e6], [1e6 + 1e-4, 1e6], [0.0, 0.0], [1e6, -1e6]])
        res = label_sharpness(x, [0, 1, 0, 1])
        assert res.value == pytest.approx(1 / (1e-4 + 1e6 - 1e6), rel=1e-6) and res.pair == (0, 1)

    def test_sampling_is_deterministic_and_uses_the_sample(self):
        rng = np.random.default_rng(7)
        x = rng.normal(size=(300, 3))
        y = rng.integers(0, 2, 300)
        a = label_sharpness(x, y, n_samples=50, random_state=11)
        b = label_sharpness(x, y, n_samples=50, random_state=11)
        c = label_sharpness(x, y, n_samples=50, random_state=12)
        np.testing.assert_array_equal(a.indices, b.indices)
        assert a.value == b.value and a.pair == b.pair
        assert a.indices.size == 50 and not np.array_equal(a.indices, c.indices)
        best, pair, _, _ = naive_sharpness(x[a.indices], y[a.indices])
        assert a.value == pytest.approx(best) and a.pair == tuple(int(a.indices[i]) for i in pair)
        full = label_sharpness(x, y, n_samples=None)
        assert full.indices.size == 300 and full.value >= a.value


class TestLabelSharpnessProperties:
    @given(seed=st.integers(0, 2**32 - 1), shift=st.floats(-100, 100))
    def test_permutation_translation_and_relabelling(self, seed, shift):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(2, 30))
        x = rng.normal(size=(n, 3))
        y = rng.integers(0, 3, n)
        ref = label_sharpness(x, y)
        perm = rng.permutation(n)
        res = label_sharpness(x[perm], y[perm])
        assert res.value == pytest.approx(ref.value, rel=1e-9)
        assert res.n_pairs == ref.n_pairs
        assert res.quantile == pytest.approx(ref.quantile, rel=1e-9, abs=1e-12)
        moved = label_sharpness(x + shift, np.array(["c", "a", "b"])[y])
        assert moved.value == pytest.approx(ref.value, rel=1e-6)

    @given(seed=st.integers(0, 2**32 - 1))
    def test_flipping_labels_never_lowers_the_value(self, seed):
        # K_F over a fixed set of items is monotone in which pairs disagree: making a
        # label differ from all others can only add disagreeing pairs
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(15, 2))
        y = rng.integers(0, 2, 15)
        flipped = y.copy()
        flipped[int(rng.integers(15))] = 5
        assert label_sharpness(x, flipped).value >= label_sharpness(x, y).value


class TestLabelSharpnessErrors:
    def test_bad_parameters(self):
        x, y = np.zeros((3, 1)) + [[0.0], [1.0], [2.0]], [0, 1, 0]
        with pytest.raises(InvalidParameterError, match="'n_samples' .* must be >= 2"):
            label_sharpness(x, y, n_samples=1)
        with pytest.raises(InvalidParameterError, match="'n_samples' .* must be an int"):
            label_sharpness(x, y, n_samples=10.5)
        with pytest.raises(InvalidParameterError, match="'q' parameter of label_sharpness must be <= 1"):
            label_sharpness(x, y, q=1.5)
        with pytest.raises(InvalidParameterError, match="random_state must be"):
            label_sharpness(x, y, random_state="seed")

    def test_bad_inputs(self):
        with pytest.raises(InputError, match="needs at least 2 items"):
            label_sharpness([[1.0]], [0])
        with pytest.raises(InputError, match="labels has 2 rows but there are 3 items"):
            label_sharpness([[0.0], [1.0], [2.0]], [0, 1])
        with pytest.raises(InputError, match="labels has 2 rows but there are 3 items"):
            label_sharpness([[0.0], [1.0], [2.0]], [[0.5, 0.5], [1.0, 0.0]])
        with pytest.raises(InputError, match=r"labels: 1 rows do not sum to 1"):
            label_sharpness([[0.0], [1.0]], [[0.5, 0.2], [1.0, 0.0]])
        with pytest.raises(InputError, match=r"features contains non-finite values \(first at row 1"):
            label_sharpness([[0.0], [np.nan]], [0, 1])
        with pytest.raises(InputError, match="features must be numeric"):
            label_sharpness([["a"], ["b"]], [0, 1])


@pytest.mark.realdata
def test_cifar10_predicted_probabilities():
    """CIFAR-10 cross-validated predictions: classes 0-4 fit the detector, classes 5-9
    play the out-of-distribution set; the maximum-softmax baseline must flag the items
    whose given label was wrong more than the others."""
    folder = DATA / "cifar10"
    if not (folder / "pred_probs.npy").exists():
        pytest.skip(f"real data not found at {folder}")
    probs = np.load(folder / "pred_probs.npy")
    given_labels = np.load(folder / "given_labels.npy")
    truth = np.load(folder / "cifar10h_counts.npy").argmax(axis=1)
    msp = max_softmax_score(probs)
    wrong = given_labels != truth
    assert wrong.sum() == 79
    assert auroc(msp[~wrong], msp[wrong]) > 0.8
    logp = np.log(np.clip(probs, 1e-12, None))
    inside = given_labels < 5
    det = MahalanobisOOD().fit(logp[inside][:3000], given_labels[inside][:3000])
    held_in = logp[inside][3000:]
    assert auroc(det.score(held_in), det.score(logp[~inside])) > 0.9
