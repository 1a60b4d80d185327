"""M-MSR against a slow reference written from its docstring and Ma & Olshevsky (2020):
pairwise agreement covariances, trimmed-mean rank-one completion, signs from the leading
eigenvector of C (here by a dense eigendecomposition, not power iteration), clipped
skills, log-odds weighted vote. Plain Python loops; nothing from the library but the
answer table's integer codes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from softlabels import Annotations
from softlabels.datasets import make_crowd
from softlabels.infer.crowd import MMSR


def ref_mmsr(ann: Annotations, *, n_iter: int, tol: float, n_trim=None):
    n, m, k = ann.n_items, ann.n_workers, ann.n_classes
    answers = list(zip(ann.item.tolist(), ann.worker.tolist(), ann.label.tolist()))
    # each worker's answers on an item as a distribution over labels
    dist: dict[tuple[int, int], list[float]] = {}
    for i, w, l in answers:
        dist.setdefault((w, i), [0.0] * k)[l] += 1.0
    for key, d in dist.items():
        tot = sum(d)
        dist[key] = [v / tot for v in d]
    items_of = [{i for (w2, i) in dist if w2 == w} for w in range(m)]
    cov: dict[int, dict[int, float]] = {w: {} for w in range(m)}
    for a in range(m):
        for b in range(m):
            common = items_of[a] & items_of[b]
            if a == b or not common:
                continue
            agree = sum(sum(x * y for x, y in zip(dist[(a, i)], dist[(b, i)])) for i in common)
            cov[a][b] = (k * agree / len(common) - 1) / (k - 1)
    deg = [len(cov[w]) for w in range(m)]
    connected = [w for w in range(m) if deg[w] > 0]
    s = [0.0] * m
    if connected:
        f = n_trim if n_trim is not None else max(min(deg[w] for w in connected) // 2 - 1, 0)
        trim = [min(f, max((d - 1) // 2, 0)) for d in deg]

        def trimmed_mean(w, values):
            vals = sorted(values)
            t = trim[w]
            kept = vals[t: len(vals) - t]
            return sum(kept) / len(kept)

        u = [1.0] * m
        v = [1.0] * m
        for _ in range(n_iter):
            v_new = [trimmed_mean(w, [abs(c) / max(u[j], 1e-6) for j, c in cov[w].items()])
                     if deg[w] else v[w] for w in range(m)]
            u_new = [trimmed_mean(w, [abs(c) / max(v_new[j], 1e-6) for j, c in cov[w].items()])
                     if deg[w] else u[w] for w in range(m)]
            change = max(max(abs(x - y) for x, y in zip(u_new, u)),
                         max(abs(x - y) for x, y in zip(v_new, v)))
            u, v = u_new, v_new
            if change < tol:
                break
        nu = math.sqrt(sum(u[w] ** 2 for w in connected))
        nv = math.sqrt(sum(v[w] ** 2 for w in connected))
        s_abs = [u[w] / math.sqrt(nu / nv) for w in range(m)]
        # signs: per connected component, the leading eigenvector of C, oriented so
        # that the workers on its positive side gave more answers than those on its
        # negative side
        n_answers = [sum(1 for _, w2, _ in answers if w2 == w) for w in range(m)]
        seen: set[int] = set()
        sign = [1.0] * m
        for start in connected:
            if start in seen:
                continue
            comp, todo = [], [start]
            while todo:
                w = todo.pop()
                if w in seen:
                    continue
                seen.add(w)
                comp.append(w)
                todo.extend(cov[w])
            comp.sort()
            mat = np.array([[cov[a].get(b, 0.0) for b in comp] for a in comp])
            vals, vecs = np.linalg.eigh(mat)
            vec = vecs[:, int(np.argmax(vals))]
            total = sum(np.sign(vec[t]) * n_answers[w] for t, w in enumerate(comp) if abs(vec[t]) > 1e-9)
            if total < 0:
                vec = -vec
            for t, w in enumerate(comp):
                sign[w] = -1.0 if vec[t] < -1e-9 else 1.0
        s = [sign[w] * s_abs[w] for w in range(m)]
        med = float(np.median([s[w] for w in connected]))
        s = [s[w] if deg[w] else med for w in range(m)]
    else:
        s = [0.5] * m
    margin = 1 / math.sqrt(max(n, 2))
    lo, hi = -1 / (k - 1) + margin, 1 - margin
    if lo > hi:
        lo = hi = (lo + hi) / 2
    s = [min(max(x, lo), hi) for x in s]
    p = [x * (k - 1) / k + 1 / k for x in s]
    weight = [math.log(q * (k - 1) / (1 - q)) for q in p]
    rows = []
    for i in range(n):
        score = [0.0] * k
        for i2, w, l in answers:
            if i2 == i:
                score[l] += weight[w]
        top = max(score)
        e = [math.exp(x - top) for x in score]
        rows.append([x / sum(e) for x in e])
    return np.array(s), np.array(rows)


def crowd(seed, k, n_workers=8, per_item=4, n_items=30, adversaries=0, duplicates=False):
    answers, _ = make_crowd(n_items=n_items, n_workers=n_workers, n_classes=k,
                            answers_per_item=per_item, random_state=seed)
    rng = np.random.default_rng(seed)
    if adversaries:  # some workers answer a wrong class on purpose
        bad = answers["worker"].isin(sorted(answers["worker"].unique())[:adversaries])
        answers.loc[bad, "label"] = (answers.loc[bad, "label"] + 1) % k
    if duplicates:
        extra = answers.sample(6, random_state=seed).assign(
            label=lambda d: (d["label"] + rng.integers(1, k, len(d))) % k)
        answers = pd.concat([answers, extra], ignore_index=True)
    return Annotations.from_frame(answers, classes=list(range(k)))


def light_adversarial_majority(seed):
    """Five adversaries answering few items, three good workers answering all of them:
    most workers are worse than chance but most answers come from good ones. One more
    worker answers only an item nobody else saw (no covariance: the median skill)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, 40)
    rows = []
    for i, t in enumerate(truth):
        for w in range(3):
            rows.append((i, f"good{w}", t if rng.random() < 0.85 else 1 - t))
        for w in rng.choice(5, 2, replace=False):
            rows.append((i, f"bad{w}", 1 - t if rng.random() < 0.9 else t))
    rows.append((40, "alone", 1))
    return Annotations.from_frame(pd.DataFrame(rows, columns=["item", "worker", "label"]), classes=[0, 1])


CASES = [
    pytest.param(dict(seed=0, k=2), id="k2"),
    pytest.param(dict(seed=1, k=3), id="k3"),
    pytest.param(dict(seed=2, k=4, duplicates=True), id="k4-duplicates"),
    pytest.param(dict(seed=3, k=2, adversaries=2), id="k2-adversaries"),
    pytest.param(dict(seed=4, k=3, adversaries=1, n_workers=10, per_item=5), id="k3-adversary"),
    pytest.param(dict(seed=5, k=3, n_items=6, per_item=2), id="k3-sparse"),
]


def build(case):
    return light_adversarial_majority(case["seed"]) if case.get("light") else crowd(**case)


CASES += [pytest.param(dict(seed=6, light=True), id="light-adversarial-majority")]


def test_light_adversarial_case_is_what_it_claims():
    ann = build(dict(seed=6, light=True))
    model = MMSR().fit(ann)
    rel = dict(zip(ann.worker_ids.tolist(), model.reliabilities_))
    assert all(rel[f"good{w}"] > 0.3 for w in range(3))
    assert all(rel[f"bad{w}"] < 0 for w in range(5))
    connected = [v for w, v in rel.items() if w != "alone"]
    assert rel["alone"] == pytest.approx(np.median(connected))
    assert abs(np.median(connected) - np.mean(connected)) > 0.05


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("n_iter, n_trim", [(1, None), (7, None), (200, None), (200, 1), (50, 0)])
def test_mmsr_matches_reference(case, n_iter, n_trim):
    ann = build(case)
    model = MMSR(n_iter=n_iter, tol=0.0 if n_iter < 200 else 1e-10, n_trim=n_trim)
    probs = model.fit(ann).soft_labels_.probs
    s, want = ref_mmsr(ann, n_iter=n_iter, tol=model.tol, n_trim=n_trim)
    np.testing.assert_allclose(model.reliabilities_, s, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(probs, want, rtol=1e-7, atol=1e-9)


def test_signs_weigh_covariances_not_just_their_signs():
    """Workers 0-2 agree strongly; worker 3 agrees strongly with worker 0 and about as
    often as chance with workers 1 and 2 (C = -0.05). The leading eigenvector of
    sign(C) is (0.37, 0.60, 0.60, -0.37) and would call worker 3 adversarial; that of
    C is (0.61, 0.53, 0.53, 0.26): worker 3 is better than chance."""
    import scipy.sparse as sp

    from softlabels.infer.crowd.mmsr import _leading_signs

    c = np.array([[0, .9, .9, .9], [.9, 0, .9, -.05], [.9, .9, 0, -.05], [.9, -.05, -.05, 0]])
    assert np.linalg.eigh(np.sign(c))[1][3, -1] * np.linalg.eigh(np.sign(c))[1][0, -1] < 0
    np.testing.assert_array_equal(_leading_signs(sp.csr_matrix(c), np.ones(4)), [1, 1, 1, 1])


@pytest.mark.parametrize("answers, want", [([10.0, 10.0, 30.0], [-1, -1, 1]),
                                           ([30.0, 10.0, 10.0], [1, 1, -1]),
                                           ([10.0, 10.0, 20.0], [1, 1, 1])])
def test_sign_orientation_follows_the_answers(answers, want):
    """Workers 0 and 1 agree, worker 2 disagrees with both more than chance: the side
    that gave more answers counts as better than chance; with as many answers on
    both sides the data cannot tell and every worker does."""
    import scipy.sparse as sp

    from softlabels.infer.crowd.mmsr import _leading_signs

    c = sp.csr_matrix(np.array([[0.0, 0.8, -0.8], [0.8, 0.0, -0.8], [-0.8, -0.8, 0.0]]))
    np.testing.assert_array_equal(_leading_signs(c, np.array(answers)), want)
