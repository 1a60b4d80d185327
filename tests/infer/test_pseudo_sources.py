"""Pseudo-label sources of softlabels.infer.teachers: AGMM's mixture posterior, class-rebalanced
selection (Yang & Xu) and FedLabel's local-or-global choice, each against a naive loop
reference or a hand-computed case, plus the errors for bad input."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest

from softlabels import InputError, InvalidParameterError
from softlabels.core.errors import NotFittedError
from softlabels.infer.teachers import (
    AdaptiveGaussianMixture,
    agmm_soft_labels,
    class_rebalanced_pseudo_labels,
    longtail_counts,
    rebalanced_quotas,
    select_local_or_global,
)


# ====================================================================== AGMM
def naive_agmm(f, y, k, n_iter, lr, tied, allowed=None):
    """EM with plain loops and explicit Gaussian densities (no log-sum-exp)."""
    n, d = f.shape
    mu = np.array([np.mean([f[i] for i in range(n) if y[i] == c], axis=0) for c in range(k)])
    ss = [sum(float(np.sum((f[i] - mu[c]) ** 2)) for i in range(n) if y[i] == c) for c in range(k)]
    cnt = [sum(1 for i in range(n) if y[i] == c) for c in range(k)]
    pooled = sum(ss) / (d * sum(cnt[c] - 1 for c in range(k)))
    var = [pooled if tied or cnt[c] < 2 else ss[c] / (d * (cnt[c] - 1)) for c in range(k)]

    def post():
        r = np.zeros((n, k))
        for i in range(n):
            if y[i] >= 0:
                r[i, y[i]] = 1.0
                continue
            for c in range(k):
                if allowed is not None and not allowed[i][c]:
                    continue
                dist = float(np.sum((f[i] - mu[c]) ** 2))
                r[i, c] = (2 * math.pi * var[c]) ** (-d / 2) * math.exp(-dist / (2 * var[c]))
            r[i] /= r[i].sum()
        return r

    for _ in range(n_iter):
        r = post()
        nk = r.sum(axis=0)
        new_mu = mu.copy()
        for c in range(k):
            new_mu[c] = (1 - lr) * mu[c] + lr * sum(r[i, c] * f[i] for i in range(n)) / nk[c]
        q = [sum(r[i, c] * float(np.sum((f[i] - new_mu[c]) ** 2)) for i in range(n))
             for c in range(k)]
        target = [sum(q) / (d * sum(nk))] * k if tied else [q[c] / (d * nk[c]) for c in range(k)]
        var = [(1 - lr) * var[c] + lr * target[c] for c in range(k)]
        mu = new_mu
    return mu, np.array(var), post()


def blobs(seed, n=60, k=3, d=2, per_class=3):
    rng = np.random.default_rng(seed)
    truth = np.arange(n) % k
    f = rng.normal(size=(n, d)) * 0.8 + 2.0 * np.eye(k, d)[truth]
    y = np.full(n, -1)
    for c in range(k):
        y[np.flatnonzero(truth == c)[:per_class]] = c
    return f, y, truth


class TestAGMM:
    @pytest.mark.parametrize("covariance", ["tied", "per-class"])
    @pytest.mark.parametrize("seed", [0, 1])
    def test_matches_the_loop_reference(self, covariance, seed):
        f, y, _ = blobs(seed)
        model = AdaptiveGaussianMixture(n_iter=6, lr=0.5, covariance=covariance, tol=0.0)
        model.fit(f, labels=y)
        mu, var, r = naive_agmm(f, y, 3, 6, 0.5, covariance == "tied")
        np.testing.assert_allclose(model.means_, mu, atol=1e-10)
        np.testing.assert_allclose(model.variances_, var, rtol=1e-10)
        np.testing.assert_allclose(model.soft_labels_.probs, r, atol=1e-10)
        assert model.n_iter_ == 6 and not model.converged_

    def test_allowed_classes_restrict_the_posterior(self):
        f, y, _ = blobs(2)
        allowed = np.ones((f.shape[0], 3), dtype=bool)
        allowed[::2, 1] = False
        allowed[y >= 0] = True
        model = AdaptiveGaussianMixture(n_iter=4, lr=0.3, tol=0.0).fit(
            f, labels=y, allowed=allowed)
        _, _, r = naive_agmm(f, y, 3, 4, 0.3, True, allowed=allowed)
        np.testing.assert_allclose(model.soft_labels_.probs, r, atol=1e-10)
        assert (model.soft_labels_.probs[~allowed] == 0).all()

    def test_labelled_rows_stay_one_hot_and_posterior_is_order_free(self):
        f, y, _ = blobs(3)
        soft = agmm_soft_labels(f, y)
        lab = y >= 0
        np.testing.assert_array_equal(soft.probs[lab].argmax(axis=1), y[lab])
        np.testing.assert_array_equal(soft.probs[lab].max(axis=1), 1.0)
        order = np.random.default_rng(0).permutation(len(y))
        np.testing.assert_allclose(agmm_soft_labels(f[order], y[order]).probs,
                                   soft.probs[order], atol=1e-10)

    def test_no_iterations_is_the_prototype_mixture_and_em_moves_toward_the_truth(self):
        f, y, truth = blobs(4, n=300, per_class=2)
        fixed = AdaptiveGaussianMixture(n_iter=0).fit(f, labels=y)
        np.testing.assert_allclose(
            fixed.means_, [f[y == c].mean(axis=0) for c in range(3)], atol=1e-12)
        em = AdaptiveGaussianMixture(n_iter=50, lr=0.3).fit(f, labels=y)
        true_means = 2.0 * np.eye(3, 2)
        assert (np.abs(em.means_ - true_means).max()
                < np.abs(fixed.means_ - true_means).max())
        np.testing.assert_allclose(em.predict_proba(f)[y < 0], em.soft_labels_.probs[y < 0])

    def test_partial_fit_is_one_step_on_the_batch(self):
        f, y, _ = blobs(5)
        seeded = AdaptiveGaussianMixture(n_iter=0, lr=0.4).fit(f[y >= 0], labels=y[y >= 0])
        batch = f[y < 0][:20]
        seeded.partial_fit(batch)
        # the reference: the same step with the seeds fixed by a zero-iteration fit
        ref = AdaptiveGaussianMixture(n_iter=0, lr=0.4).fit(f[y >= 0], labels=y[y >= 0])
        r = ref.predict_proba(batch)
        nk = r.sum(axis=0)
        mu = 0.6 * ref.means_ + 0.4 * (r.T @ batch) / nk[:, None]
        q = sum(r[i, c] * np.sum((batch[i] - mu[c]) ** 2) for i in range(20) for c in range(3))
        var = 0.6 * ref.variances_ + 0.4 * q / (2 * nk.sum())
        np.testing.assert_allclose(seeded.means_, mu, atol=1e-12)
        np.testing.assert_allclose(seeded.variances_, var, rtol=1e-12)
        assert seeded.soft_labels_.n_items == 20

    def test_one_seed_per_class_uses_the_feature_spread(self):
        f = np.array([[0.0, 0.0], [4.0, 0.0], [1.0, 2.0]])
        model = AdaptiveGaussianMixture(n_iter=0).fit(f, labels=[0, 1, -1])
        np.testing.assert_allclose(model.variances_, np.full(2, f.var(axis=0).mean()))

    def test_errors(self):
        f, y, _ = blobs(0)
        with pytest.raises(InputError, match="class 1 has no labelled item"):
            AdaptiveGaussianMixture().fit(f, labels=np.where(y == 1, -1, y))
        with pytest.raises(InputError, match="use -1 \\(and only -1\\)"):
            AdaptiveGaussianMixture().fit(f, labels=np.where(y == 2, -2, y))
        with pytest.raises(InputError, match="labels must have shape"):
            AdaptiveGaussianMixture().fit(f, labels=y[:5])
        with pytest.raises(InputError, match="integer class indices"):
            AdaptiveGaussianMixture().fit(f, labels=y.astype(bool))
        with pytest.raises(InputError, match="values >= n_classes=2"):
            AdaptiveGaussianMixture(n_classes=2).fit(f, labels=y)
        bad = np.ones((len(y), 3), dtype=bool)
        bad[np.flatnonzero(y == 1)[0], 1] = False
        with pytest.raises(InputError, match="labelled 1 but that class is not allowed"):
            AdaptiveGaussianMixture().fit(f, labels=y, allowed=bad)
        bad = np.ones((len(y), 3), dtype=bool)
        bad[7] = False
        with pytest.raises(InputError, match="row 7 allows no class"):
            AdaptiveGaussianMixture().fit(f, labels=y, allowed=bad)
        with pytest.raises(InvalidParameterError, match="covariance"):
            AdaptiveGaussianMixture(covariance="full").fit(f, labels=y)
        with pytest.raises(InvalidParameterError, match="'lr'"):
            AdaptiveGaussianMixture(lr=0.0).fit(f, labels=y)
        with pytest.raises(NotFittedError):
            AdaptiveGaussianMixture().partial_fit(f)
        fitted = AdaptiveGaussianMixture().fit(f, labels=y)
        with pytest.raises(InputError, match="fitted on 2"):
            fitted.predict_proba(np.ones((3, 5)))


# ====================================================================== rebalanced selection
def brute_quotas(counts, available, budget):
    """Among all feasible quotas, the sorted-descending totals that are smallest
    lexicographically (the most even)."""
    total = min(budget, sum(available))
    best = None
    for q in itertools.product(*[range(a + 1) for a in available]):
        if sum(q) != total:
            continue
        key = sorted((c + x for c, x in zip(counts, q)), reverse=True)
        if best is None or key < best:
            best = key
    return best


def naive_selection(p, budget, counts, threshold=0.0):
    k = p.shape[1]
    pred, conf = p.argmax(axis=1), p.max(axis=1)
    avail = [int(np.sum((pred == c) & (conf >= threshold))) for c in range(k)]
    q = rebalanced_quotas(counts, avail, budget)
    out = np.full(len(p), -1)
    for c in range(k):
        rows = [i for i in range(len(p)) if pred[i] == c and conf[i] >= threshold]
        rows.sort(key=lambda i: (-conf[i], i))
        for i in rows[: q[c]]:
            out[i] = c
    return out


class TestRebalanced:
    @pytest.mark.parametrize("seed", range(40))
    def test_quotas_are_the_most_even_feasible_split(self, seed):
        rng = np.random.default_rng(seed)
        k = int(rng.integers(2, 5))
        counts = rng.integers(0, 6, k).tolist()
        avail = rng.integers(0, 5, k).tolist()
        budget = int(rng.integers(0, 14))
        q = rebalanced_quotas(counts, avail, budget)
        assert (q >= 0).all() and (q <= avail).all()
        assert q.sum() == min(budget, sum(avail))
        assert sorted((np.array(counts) + q).tolist(), reverse=True) == brute_quotas(
            counts, avail, budget)

    @pytest.mark.parametrize("seed", range(5))
    def test_selection_matches_the_loop_reference(self, seed):
        rng = np.random.default_rng(seed)
        z = rng.normal(size=(80, 4)) * 2 + np.array([2.0, 1.0, 0.0, -1.0])
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        counts = [30, 10, 3, 0]
        got = class_rebalanced_pseudo_labels(z, inputs="logits", budget=25,
                                             labelled_counts=counts, threshold=0.4)
        np.testing.assert_array_equal(got, naive_selection(p, 25, counts, 0.4))
        even = class_rebalanced_pseudo_labels(p, inputs="probs", budget=20)
        np.testing.assert_array_equal(even, naive_selection(p, 20, [0, 0, 0, 0]))

    def test_hand_case_favours_the_tail(self):
        p = np.array([[0.95, 0.05], [0.9, 0.1], [0.85, 0.15], [0.4, 0.6], [0.45, 0.55]])
        got = class_rebalanced_pseudo_labels(p, inputs="probs", budget=3, labelled_counts=[4, 1])
        # totals 4 + 1 vs 1 + 2: class 1 takes both its candidates, class 0 its best one
        assert got.tolist() == [0, -1, -1, 1, 1]
        # the whole pool: a plain argmax (the paper's recipe)
        assert class_rebalanced_pseudo_labels(p, inputs="probs", budget=99).tolist() == [
            0, 0, 0, 1, 1]

    def test_longtail_counts_follow_the_profile(self):
        got = longtail_counts(100, 5, 10)
        ref = [int(100 * 10 ** (-c / 4)) for c in range(5)]
        assert got.tolist() == ref
        assert longtail_counts(7, 3, 1).tolist() == [7, 7, 7]

    def test_errors(self):
        p = [[0.9, 0.1], [0.2, 0.8]]
        with pytest.raises(InvalidParameterError, match="'budget' .* >= 0"):
            class_rebalanced_pseudo_labels(p, inputs="probs", budget=-1)
        with pytest.raises(InputError, match="labelled_counts must have one entry per class"):
            class_rebalanced_pseudo_labels(p, inputs="probs", budget=1, labelled_counts=[1])
        with pytest.raises(InputError, match="non-negative integers"):
            class_rebalanced_pseudo_labels(p, inputs="probs", budget=1, labelled_counts=[1, -2])
        with pytest.raises(InputError, match="ignore_index=1 is a class index"):
            class_rebalanced_pseudo_labels(p, inputs="probs", budget=1, ignore_index=1)
        with pytest.raises(InvalidParameterError, match="'threshold'"):
            class_rebalanced_pseudo_labels(p, inputs="probs", budget=1, threshold=2.0)
        with pytest.raises(InputError, match="pass inputs='logits'"):
            class_rebalanced_pseudo_labels([[3.0, -1.0]], inputs="probs", budget=1)
        with pytest.raises(InvalidParameterError, match="imb_factor"):
            longtail_counts(10, 3, 0.5)
        with pytest.raises(InvalidParameterError, match="Did you mean 'step'"):
            longtail_counts(10, 3, 2.0, kind="steps")
        with pytest.raises(InputError, match="same length"):
            rebalanced_quotas([1, 2], [1], 3)
        # counts are whole numbers: a fraction, a NaN or text is named, never truncated
        for counts, available, where in (
            ([1.5, 1], [1, 1], "counts[0] is 1.5"),
            ([1, 1], [1, np.nan], "available[1] is nan"),
            (["a", 1], [1, 1], "counts[0] is 'a'"),
            ([1, -1], [1, 1], "counts[1] is -1"),
        ):
            with pytest.raises(InputError, match=re.escape(where)):
                rebalanced_quotas(counts, available, 1)


# ====================================================================== FedLabel
def naive_choice(pl, pg, criterion, threshold):
    labels, source = [], []
    for a, b in zip(pl, pg):
        if criterion == "max_prob":
            local = max(a) > max(b)
        else:
            ent = [-sum(x * math.log(x) for x in row if x > 0) for row in (a, b)]
            local = ent[0] < ent[1]
        row = a if local else b
        labels.append(int(np.argmax(row)) if max(row) >= threshold else -1)
        source.append(0 if local else 1)
    return labels, source


class TestLocalOrGlobal:
    @pytest.mark.parametrize("criterion", ["max_prob", "neg_entropy"])
    @pytest.mark.parametrize("seed", range(3))
    def test_matches_the_loop_reference(self, criterion, seed):
        rng = np.random.default_rng(seed)
        zl, zg = rng.normal(size=(2, 50, 5)) * 2
        pl = np.exp(zl) / np.exp(zl).sum(axis=1, keepdims=True)
        pg = np.exp(zg) / np.exp(zg).sum(axis=1, keepdims=True)
        got = select_local_or_global(zl, zg, inputs="logits", criterion=criterion, threshold=0.5)
        labels, source = naive_choice(pl, pg, criterion, 0.5)
        assert got.labels.tolist() == labels and got.source.tolist() == source
        np.testing.assert_allclose(got.probs, np.where(got.source[:, None] == 0, pl, pg))
        np.testing.assert_allclose(got.confidence, got.probs.max(axis=1))

    def test_criteria_can_disagree(self):
        local = [[0.6, 0.2, 0.2]]  # higher top probability, entropy 0.950
        glob = [[0.55, 0.45, 0.0]]  # lower top probability, entropy 0.688
        assert select_local_or_global(local, glob, inputs="probs").source.tolist() == [0]
        assert select_local_or_global(
            local, glob, inputs="probs", criterion="neg_entropy").source.tolist() == [1]

    def test_errors(self):
        a = [[0.9, 0.1], [0.2, 0.8]]
        with pytest.raises(InputError, match="local_outputs has shape .* global_outputs"):
            select_local_or_global(a, [[0.5, 0.5]], inputs="probs")
        with pytest.raises(InvalidParameterError, match="Did you mean 'max_prob'"):
            select_local_or_global(a, a, inputs="probs", criterion="maxprob")
        with pytest.raises(InvalidParameterError, match="'inputs'"):
            select_local_or_global(a, a, inputs="probabilities")
        with pytest.raises(InputError, match="ignore_index=0 is a class index"):
            select_local_or_global(a, a, inputs="probs", ignore_index=0)
        with pytest.raises(InputError, match="global_outputs"):
            select_local_or_global(a, [[0.9, 0.3], [0.2, 0.8]], inputs="probs")


def test_agmm_partial_fit_checks_its_labels():
    f, y, _ = blobs(6)
    model = AdaptiveGaussianMixture().fit(f, labels=y)
    with pytest.raises(InputError, match="values >= n_classes=3"):
        model.partial_fit(f[:4], [0, 1, 5, -1])
    with pytest.raises(InputError, match="labels must have shape \\(4,\\)"):
        model.partial_fit(f[:4], [0, 1])
    before = model.means_.copy()
    model.partial_fit(f[:4], [0, 1, 2, -1])
    assert model.soft_labels_.probs[:3].argmax(axis=1).tolist() == [0, 1, 2]
    assert not np.array_equal(before, model.means_)
