"""The crowd models against slow, obvious reference implementations.

Each reference below is written from the model's docstring with plain Python loops over
answers, items and workers (no sparse matrices, no bincount). The library must agree
with it after a fixed number of iterations (``tol=0``), to rounding error.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import digamma

from softlabels import Annotations
from softlabels.datasets import make_crowd
from softlabels.infer.crowd import (
    GLAD,
    KOS,
    MACE,
    DawidSkene,
    MajorityVote,
    OneCoinDawidSkene,
    SoftVote,
    Wawa,
    ZeroBasedSkill,
)

TINY = 1e-300  # the library's floor inside logarithms
PRIOR_SMOOTHING = 1e-3  # the library's pseudo-count on learned class priors
RTOL, ATOL = 1e-9, 1e-12
#: the classic EM posteriors: no prior towards the average worker, no temperature
PLAIN = {"prior_strength": 0.0, "uncertainty": "plug-in"}


# ---------------------------------------------------------------------- data
def crowd(seed: int, k: int, *, duplicates: bool = False, gold: bool = False):
    answers, truth = make_crowd(n_items=25, n_workers=7, n_classes=k, answers_per_item=3, random_state=seed)
    if duplicates:  # some workers answer some items twice, possibly differently
        extra = answers.sample(8, random_state=seed).assign(label=lambda d: (d["label"] + 1) % k)
        answers = pd.concat([answers, extra], ignore_index=True)
    ann = Annotations.from_frame(answers, classes=list(range(k)))
    gold_map = {int(i): int(truth[i]) for i in truth.index[:4]} if gold else None
    return ann, gold_map


def gold_codes(ann: Annotations, gold) -> list[int]:
    """Per item code, the known class's position in ``ann.classes``; -1 where unknown."""
    items = ann.item_ids.tolist()
    classes = ann.classes.tolist()
    codes = [-1] * len(items)
    for item, label in (gold or {}).items():
        if item in items:
            codes[items.index(item)] = classes.index(label)
    return codes


CASES = [
    pytest.param(0, 2, False, False, id="k2"),
    pytest.param(1, 3, False, False, id="k3"),
    pytest.param(2, 4, True, False, id="k4-duplicates"),
    pytest.param(3, 3, False, True, id="k3-gold"),
    pytest.param(4, 2, True, True, id="k2-duplicates-gold"),
]


class Ref:
    """Answers as Python lists, plus the obvious helpers."""

    def __init__(self, ann: Annotations, gold):
        self.items = ann.item.tolist()
        self.workers = ann.worker.tolist()
        self.labels = ann.label.tolist()
        self.n, self.m, self.k = ann.n_items, ann.n_workers, ann.n_classes
        self.answers = list(zip(self.items, self.workers, self.labels))
        self.gold = gold_codes(ann, gold)
        self.by_item = [[a for a in self.answers if a[0] == i] for i in range(self.n)]
        self.by_worker = [[a for a in self.answers if a[1] == w] for w in range(self.m)]

    def soft_vote(self):
        rows = []
        for i in range(self.n):
            c = [0.0] * self.k
            for _, _, l in self.by_item[i]:
                c[l] += 1
            rows.append([v / sum(c) for v in c])
        return rows

    def split_argmax(self, rows):
        out = []
        for r in rows:
            top = max(r)
            tol = 1e-12 * max(abs(v) for v in r)
            winners = [j for j, v in enumerate(r) if v >= top - tol]
            out.append([1.0 / len(winners) if j in winners else 0.0 for j in range(self.k)])
        return out

    def pin(self, rows):
        for i, g in enumerate(self.gold):
            if g >= 0:
                rows[i] = [1.0 if j == g else 0.0 for j in range(self.k)]
        return rows

    def learned_prior(self, post):
        mass = [sum(post[i][j] for i in range(self.n)) + PRIOR_SMOOTHING for j in range(self.k)]
        return [v / sum(mass) for v in mass]

    @staticmethod
    def softmax_with_lse(logits):
        top = max(logits)
        e = [math.exp(v - top) for v in logits]
        s = sum(e)
        return [v / s for v in e], top + math.log(s)


# ---------------------------------------------------------------------- references
def ref_confusions(r: Ref, post, alpha: float, prior_strength: float = 0.0, *, normalise=True):
    """Expected confusion counts of every worker plus ``alpha`` and ``prior_strength``
    answers of the pooled (average) worker; normalised per true class unless asked not."""
    raw = []
    for w in range(r.m):
        counts = [[0.0] * r.k for _ in range(r.k)]
        for i, _, l in r.by_worker[w]:
            for t in range(r.k):
                counts[t][l] += post[i][t]
        raw.append(counts)
    pooled = [[sum(raw[w][t][l] for w in range(r.m)) for l in range(r.k)] for t in range(r.k)]
    pooled = [[c / sum(row) if sum(row) > 0 else 0.0 for c in row] for row in pooled]
    pseudo = [[alpha + prior_strength * pooled[t][l] for l in range(r.k)] for t in range(r.k)]
    counts = [[[raw[w][t][l] + pseudo[t][l] for l in range(r.k)] for t in range(r.k)] for w in range(r.m)]
    if not normalise:
        return counts
    return [[[c / sum(row) if sum(row) > 0 else 1.0 / r.k for c in row] for row in cw] for cw in counts]


def ref_dawid_skene(r: Ref, *, n_iter: int, alpha: float, init: str = "soft-vote",
                    prior_strength: float = 0.0):
    if init == "soft-vote":
        post = r.soft_vote()
    elif init == "majority-vote":
        post = r.split_argmax(r.soft_vote())
    else:
        post = [[1.0 / r.k] * r.k for _ in range(r.n)]
    post = r.pin(post)
    for _ in range(n_iter):
        # M-step: expected confusion counts plus pseudo-counts, normalised per true class
        pi = ref_confusions(r, post, alpha, prior_strength)
        prior = r.learned_prior(post)
        # E-step
        new, ll = [], 0.0
        for i in range(r.n):
            logits = []
            for t in range(r.k):
                s = math.log(prior[t])
                for _, w, l in r.by_item[i]:
                    s += math.log(max(pi[w][t][l], TINY))
                logits.append(s)
            p, lse = r.softmax_with_lse(logits)
            new.append(p)
            ll += lse
        post = r.pin(new)
    return post, pi, prior, ll


def ref_skills(r: Ref, post, alpha: float, prior_strength: float, floor: float):
    """One-coin MAP skills: Beta prior of alpha + prior_strength * (average skill) right
    and alpha + prior_strength * (1 - average skill) wrong answers."""
    agree = [sum(post[i][l] for i, _, l in r.by_worker[w]) for w in range(r.m)]
    mean = sum(agree) / sum(len(r.by_worker[w]) for w in range(r.m))
    return [max((agree[w] + alpha + prior_strength * mean)
                / (len(r.by_worker[w]) + 2 * alpha + prior_strength), floor) for w in range(r.m)]


def ref_one_coin(r: Ref, *, n_iter: int, alpha: float, prior_mode: str, min_skill,
                 prior_strength: float = 0.0):
    floor = 1.0 / r.k if min_skill == "chance" else min_skill
    post = r.pin(r.soft_vote())
    for _ in range(n_iter):
        skills = ref_skills(r, post, alpha, prior_strength, floor)
        prior = r.learned_prior(post) if prior_mode == "learn" else [1.0 / r.k] * r.k
        new = []
        for i in range(r.n):
            logits = []
            for t in range(r.k):
                s = math.log(prior[t])
                for _, w, l in r.by_item[i]:
                    p = skills[w] if l == t else (1 - skills[w]) / (r.k - 1)
                    s += math.log(max(p, TINY))
                logits.append(s)
            new.append(r.softmax_with_lse(logits)[0])
        post = r.pin(new)
    return post, skills


def _log_sigmoid(z: float) -> float:
    return -math.log1p(math.exp(-z)) if z >= 0 else z - math.log1p(math.exp(z))


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def _glad_block(theta: float, prior_mean: float, pairs) -> float:
    """One worker's (or item's) M-step objective: sum of p log s(z) + (1 - p) log s(-z)
    over its answers, ``pairs`` = [(p, z)], minus (theta - prior_mean)^2 / 2."""
    return sum(p * _log_sigmoid(z) + (1 - p) * _log_sigmoid(-z) for p, z in pairs) - (
        theta - prior_mean) ** 2 / 2


def _glad_halve(theta: float, step: float, prior_mean: float, pairs_at) -> float:
    """Safeguard: halve the step (at most 30 times) until the block objective does not
    decrease; keep theta if it still does."""
    before = _glad_block(theta, prior_mean, pairs_at(theta))
    scale = 1.0
    for _ in range(30):
        trial = min(max(theta + scale * step, -20.0), 20.0)
        after = _glad_block(trial, prior_mean, pairs_at(trial))
        if after >= before - 1e-12 * abs(before):
            return trial
        scale /= 2
    return theta


def ref_glad(r: Ref, *, n_iter: int, m_steps: int, alpha_prior: float, log_beta_prior: float,
             prior_mode: str, m_tol: float = 0.0):
    alpha = [alpha_prior] * r.m
    log_beta = [log_beta_prior] * r.n
    post = r.pin(r.soft_vote())
    for _ in range(n_iter):
        # M-step: Fisher scoring, alternating abilities and log-easiness, each step
        # halved per worker / item until that block's objective does not decrease
        for _ in range(m_steps):
            beta = [math.exp(b) for b in log_beta]
            new_alpha = []
            for w in range(r.m):
                grad, info = -(alpha[w] - alpha_prior), 1.0
                for i, _, l in r.by_worker[w]:
                    s = _sigmoid(alpha[w] * beta[i])
                    grad += (post[i][l] - s) * beta[i]
                    info += s * (1 - s) * beta[i] ** 2
                new_alpha.append(_glad_halve(
                    alpha[w], grad / info, alpha_prior,
                    lambda a, w=w: [(post[i][l], a * beta[i]) for i, _, l in r.by_worker[w]]))
            moved = max(abs(a - b) for a, b in zip(new_alpha, alpha))
            alpha = new_alpha
            new_lb = []
            for i in range(r.n):
                grad, info = -(log_beta[i] - log_beta_prior), 1.0
                for _, w, l in r.by_item[i]:
                    z = alpha[w] * beta[i]
                    s = _sigmoid(z)
                    grad += (post[i][l] - s) * z
                    info += s * (1 - s) * z * z
                new_lb.append(_glad_halve(
                    log_beta[i], grad / info, log_beta_prior,
                    lambda b, i=i: [(post[i][l], alpha[w] * math.exp(b))
                                    for _, w, l in r.by_item[i]]))
            moved = max(moved, max(abs(a - b) for a, b in zip(new_lb, log_beta)))
            log_beta = new_lb
            if moved < m_tol:
                break
        prior = r.learned_prior(post) if prior_mode == "learn" else [1.0 / r.k] * r.k
        # E-step
        new = []
        for i in range(r.n):
            logits = []
            for t in range(r.k):
                s = math.log(prior[t])
                for _, w, l in r.by_item[i]:
                    z = alpha[w] * math.exp(log_beta[i])
                    s += _log_sigmoid(z) if l == t else _log_sigmoid(-z) - math.log(r.k - 1)
                logits.append(s)
            new.append(r.softmax_with_lse(logits)[0])
        post = r.pin(new)
    return post, alpha, [math.exp(b) for b in log_beta]


def ref_mace(r: Ref, *, n_iter: int, method: str, a: float, b: float, xi_prior: float, prior_mode: str):
    k = r.k
    smoothing = 0.01 / k
    n_w = [len(r.by_worker[w]) for w in range(r.m)]

    def expected_counts(post, params):
        theta, not_theta, xi = params[:3]
        know = [0.0] * r.m
        spam = [[0.0] * k for _ in range(r.m)]
        for i, w, l in r.answers:
            p_know = theta[w] / (theta[w] + not_theta[w] * xi[w][l])
            kn = post[i][l] * p_know
            know[w] += kn
            spam[w][l] += 1.0 - kn
        return know, spam

    def update(know, spam, post):
        if method == "vb":
            theta = [math.exp(digamma(know[w] + a) - digamma(n_w[w] + a + b)) for w in range(r.m)]
            not_theta = [math.exp(digamma(n_w[w] - know[w] + b) - digamma(n_w[w] + a + b)) for w in range(r.m)]
            xi = [[math.exp(digamma(spam[w][l] + xi_prior) - digamma(sum(spam[w]) + k * xi_prior))
                   for l in range(k)] for w in range(r.m)]
        else:
            theta = [(know[w] + smoothing) / (n_w[w] + 2 * smoothing) for w in range(r.m)]
            not_theta = [1 - t for t in theta]
            xi = [[(spam[w][l] + smoothing) / (sum(spam[w]) + k * smoothing) for l in range(k)] for w in range(r.m)]
        return theta, not_theta, xi, r.learned_prior(post)

    def e_step(params):
        theta, not_theta, xi, prior = params
        out = []
        for i in range(r.n):
            logits = []
            for t in range(k):
                s = math.log(prior[t]) if prior_mode == "learn" else -math.log(k)
                for _, w, l in r.by_item[i]:
                    s += math.log(max(not_theta[w] * xi[w][l] + (theta[w] if l == t else 0.0), TINY))
                logits.append(s)
            out.append(r.softmax_with_lse(logits)[0])
        return out

    vote = r.soft_vote()
    flat = ([0.5] * r.m, [0.5] * r.m, [[1.0 / k] * k for _ in range(r.m)])
    params = update(*expected_counts(vote, flat), vote)
    post = r.pin(e_step(params))
    for _ in range(n_iter):
        params = update(*expected_counts(post, params), post)
        post = r.pin(e_step(params))
    theta, not_theta = params[0], params[1]
    return post, [t / (t + n) for t, n in zip(theta, not_theta)]


def ref_kos(r: Ref, *, n_iter: int):
    A = [1.0 if l == 0 else -1.0 for l in r.labels]
    n_a = len(r.answers)
    y = [1.0] * n_a
    answers_of_item = [[a for a in range(n_a) if r.items[a] == i] for i in range(r.n)]
    answers_of_worker = [[a for a in range(n_a) if r.workers[a] == w] for w in range(r.m)]
    for _ in range(n_iter):
        item_score = [sum(A[b] * y[b] for b in answers_of_item[i]) for i in range(r.n)]
        big = max([1.0] + [abs(s) for s in item_score]) + 1.0
        x = []
        for a in range(n_a):
            i = r.items[a]
            if r.gold[i] >= 0:  # gold items send their known sign, strongly
                own = sum(A[b] * y[b] for b in answers_of_item[i] if r.workers[b] == r.workers[a])
                x.append((1.0 if r.gold[i] == 0 else -1.0) * big - own)
            else:
                # the answers of other workers (a worker's repeats on i are one edge)
                x.append(sum(A[b] * y[b] for b in answers_of_item[i]
                             if r.workers[b] != r.workers[a]))
        # and the worker's answers on other items
        y = [sum(A[b] * x[b] for b in answers_of_worker[r.workers[a]] if r.items[b] != r.items[a])
             for a in range(n_a)]
        scale = math.sqrt(sum(v * v for v in y) / n_a)
        y = [v / scale for v in y] if scale > 0 else [1.0] * n_a
    return [sum(A[b] * y[b] for b in answers_of_item[i]) for i in range(r.n)]


def ref_zero_based_skill(r: Ref, *, n_iter, lr_init, steps, factor, eps):
    skills = [1.0 / r.k + eps] * r.m
    lr = lr_init

    def weighted(sk):
        rows = [[0.0] * r.k for _ in range(r.n)]
        for i, w, l in r.answers:
            rows[i][l] += sk[w]
        return rows

    for it in range(1, n_iter + 1):
        if it % steps == 0:
            lr *= factor
        vote = r.pin(r.split_argmax(weighted(skills)))
        agreement = [sum(vote[i][l] for i, _, l in r.by_worker[w]) / len(r.by_worker[w]) for w in range(r.m)]
        skills = [s + lr * (g - s) for s, g in zip(skills, agreement)]
    rows = weighted(skills)
    return r.pin([[v / sum(row) for v in row] for row in rows]), skills


# ---------------------------------------------------------------------- tests
def close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("seed, k, dup, gold", CASES)
@pytest.mark.parametrize("alpha", [0.0, 0.01, 1.0])
@pytest.mark.parametrize("init", ["soft-vote", "majority-vote", "uniform"])
def test_dawid_skene(seed, k, dup, gold, alpha, init):
    ann, g = crowd(seed, k, duplicates=dup, gold=gold)
    post, pi, prior, ll = ref_dawid_skene(Ref(ann, g), n_iter=6, alpha=alpha, init=init)
    m = DawidSkene(n_iter=6, tol=0.0, alpha=alpha, init=init, **PLAIN).fit(ann, gold=g)
    assert m.n_iter_ == 6
    close(m.soft_labels_.probs, post)
    close(m.confusions_, pi)
    close(m.priors_, prior)
    assert m.log_likelihood_ == pytest.approx(ll, rel=1e-10)


@pytest.mark.parametrize("seed, k, dup, gold", CASES)
@pytest.mark.parametrize("alpha, prior_strength", [(0.01, 2.0), (0.0, 5.0)])
def test_dawid_skene_with_a_prior_towards_the_average_worker(seed, k, dup, gold, alpha, prior_strength):
    ann, g = crowd(seed, k, duplicates=dup, gold=gold)
    post, pi, prior, ll = ref_dawid_skene(Ref(ann, g), n_iter=6, alpha=alpha, prior_strength=prior_strength)
    m = DawidSkene(n_iter=6, tol=0.0, alpha=alpha, prior_strength=prior_strength,
                   uncertainty="plug-in").fit(ann, gold=g)
    close(m.soft_labels_.probs, post)
    close(m.confusions_, pi)
    assert m.log_likelihood_ == pytest.approx(ll, rel=1e-10)


def ref_held_out(r: Ref, post, prior, log_pi, held):
    """The leave-one-answer-out log-likelihood as a function of the temperature, and
    the tempered posteriors: ``log_pi(i, w, t, l)`` is an answer's term in the scores,
    ``held(i, w, l, t)`` its probability under the worker's parameters without it."""
    scores = [[sum(log_pi(i, w, t, l) for _, w, l in r.by_item[i]) for t in range(r.k)]
              for i in range(r.n)]

    def loglik(temperature):
        total = 0.0
        for i in range(r.n):
            for _, w, l in r.by_item[i]:
                logits = [(math.log(prior[t]) + scores[i][t] - log_pi(i, w, t, l)) / temperature
                          for t in range(r.k)]
                p, _ = r.softmax_with_lse(logits)
                total += math.log(sum(p[t] * held(i, w, l, t) for t in range(r.k)))
        return total

    def tempered(temperature):
        return r.pin([r.softmax_with_lse([(math.log(prior[t]) + scores[i][t]) / temperature
                                          for t in range(r.k)])[0] for i in range(r.n)])

    return loglik, tempered


def check_temperature(model, loglik, tempered):
    """The fitted temperature is at least as good as every point of a fine grid, and
    the soft labels are the tempered posteriors at that temperature."""
    t = model.temperature_
    assert 1.0 <= t <= 100.0
    grid = np.exp(np.linspace(0.0, np.log(100.0), 400))
    assert loglik(t) >= max(loglik(v) for v in grid) - 1e-6 * abs(loglik(t))
    close(model.soft_labels_.probs, tempered(t))


@pytest.mark.parametrize("seed, k, dup, gold", CASES)
@pytest.mark.parametrize("mode", ["tempered", "leave-self-out"])
def test_dawid_skene_held_out_temperature(seed, k, dup, gold, mode):
    ann, g = crowd(seed, k, duplicates=dup, gold=gold)
    r = Ref(ann, g)
    plain = DawidSkene(n_iter=6, tol=0.0, uncertainty="plug-in").fit(ann, gold=g)
    m = DawidSkene(n_iter=6, tol=0.0, uncertainty=mode).fit(ann, gold=g)
    post, prior = plain.soft_labels_.probs.tolist(), plain.priors_.tolist()
    counts = ref_confusions(r, post, 0.01, 2.0, normalise=False)
    totals = [[sum(row) for row in cw] for cw in counts]

    def held(i, w, l, t):
        return (counts[w][t][l] - post[i][t]) / (totals[w][t] - post[i][t])

    def log_pi(i, w, t, l):  # leave-self-out: every answer weighed by parameters without it
        return math.log(held(i, w, l, t) if mode == "leave-self-out" else counts[w][t][l] / totals[w][t])

    check_temperature(m, *ref_held_out(r, post, prior, log_pi, held))
    close(m.confusions_, plain.confusions_)


@pytest.mark.parametrize("seed, k, dup, gold", CASES)
@pytest.mark.parametrize("mode", ["tempered", "leave-self-out"])
def test_one_coin_held_out_temperature(seed, k, dup, gold, mode):
    ann, g = crowd(seed, k, duplicates=dup, gold=gold)
    r = Ref(ann, g)
    plain = OneCoinDawidSkene(n_iter=6, tol=0.0, uncertainty="plug-in").fit(ann, gold=g)
    m = OneCoinDawidSkene(n_iter=6, tol=0.0, uncertainty=mode).fit(ann, gold=g)
    post, prior = plain.soft_labels_.probs.tolist(), plain.priors_.tolist()
    floor, alpha, strength = 1.0 / r.k, 0.01, 2.0
    skills = ref_skills(r, post, alpha, strength, floor)
    agree = [sum(post[i][l] for i, _, l in r.by_worker[w]) for w in range(r.m)]
    mean = sum(agree) / sum(len(r.by_worker[w]) for w in range(r.m))

    def p_answer(s, t, l):
        return s if t == l else (1 - s) / (r.k - 1)

    def held(i, w, l, t):
        n = len(r.by_worker[w]) - 1
        s = max((agree[w] - post[i][l] + alpha + strength * mean) / (n + 2 * alpha + strength), floor)
        return p_answer(s, t, l)

    def log_pi(i, w, t, l):
        return math.log(held(i, w, l, t) if mode == "leave-self-out" else p_answer(skills[w], t, l))

    check_temperature(m, *ref_held_out(r, post, prior, log_pi, held))
    close(m.skills_, plain.skills_)


@pytest.mark.parametrize("seed, k, dup, gold", CASES)
@pytest.mark.parametrize("prior, min_skill, alpha, prior_strength", [
    ("uniform", "chance", 0.01, 0.0), ("learn", 0.0, 0.5, 0.0), ("uniform", 0.3, 0.0, 0.0),
    ("uniform", "chance", 0.01, 2.0), ("learn", 0.0, 0.0, 5.0)])
def test_one_coin_dawid_skene(seed, k, dup, gold, prior, min_skill, alpha, prior_strength):
    ann, g = crowd(seed, k, duplicates=dup, gold=gold)
    post, skills = ref_one_coin(Ref(ann, g), n_iter=6, alpha=alpha, prior_mode=prior,
                                min_skill=min_skill, prior_strength=prior_strength)
    m = OneCoinDawidSkene(n_iter=6, tol=0.0, alpha=alpha, prior=prior, min_skill=min_skill,
                          prior_strength=prior_strength, uncertainty="plug-in").fit(ann, gold=g)
    close(m.soft_labels_.probs, post)
    close(m.skills_, skills)


@pytest.mark.parametrize("seed, k, dup, gold", CASES)
@pytest.mark.parametrize("m_steps, m_tol, prior",
                         [(3, 0.0, "uniform"), (1, 0.0, "learn"), (25, 1e-3, "uniform")])
def test_glad(seed, k, dup, gold, m_steps, m_tol, prior):
    ann, g = crowd(seed, k, duplicates=dup, gold=gold)
    post, alpha, beta = ref_glad(Ref(ann, g), n_iter=5, m_steps=m_steps, alpha_prior=1.0,
                                 log_beta_prior=1.0, prior_mode=prior, m_tol=m_tol)
    m = GLAD(n_iter=5, tol=0.0, m_steps=m_steps, m_tol=m_tol, prior=prior).fit(ann, gold=g)
    close(m.soft_labels_.probs, post)
    close(m.alphas_, alpha)
    close(m.betas_, beta)


@pytest.mark.parametrize("seed, k, dup, gold", CASES)
@pytest.mark.parametrize("method, prior", [("vb", "learn"), ("em", "learn"), ("vb", "uniform")])
def test_mace(seed, k, dup, gold, method, prior):
    ann, g = crowd(seed, k, duplicates=dup, gold=gold)
    post, competence = ref_mace(Ref(ann, g), n_iter=5, method=method, a=0.5, b=0.5, xi_prior=10.0, prior_mode=prior)
    m = MACE(n_iter=5, tol=0.0, method=method, prior=prior).fit(ann, gold=g)
    assert m.n_iter_ == 5
    close(m.soft_labels_.probs, post)
    close(m.competence_, competence)


@pytest.mark.parametrize("seed, dup, gold", [(0, False, False), (5, True, False), (6, False, True)])
def test_kos(seed, dup, gold):
    ann, g = crowd(seed, 2, duplicates=dup, gold=gold)
    r = Ref(ann, g)
    scores = ref_kos(r, n_iter=8)
    m = KOS(n_iter=8).fit(ann, gold=g)
    # scores within 1e-8 of the largest are ties up to rounding; the library sets them to 0
    np.testing.assert_allclose(m.scores_, scores, rtol=1e-9, atol=1e-8 * np.abs(scores).max())
    decided = np.abs(scores) > 1e-6
    expected = np.where(np.asarray(scores) > 0, 1.0, 0.0)
    pinned = np.asarray(r.gold) >= 0
    np.testing.assert_array_equal(m.soft_labels_.probs[decided & ~pinned, 0], expected[decided & ~pinned])


@pytest.mark.parametrize("seed, k, dup, gold", CASES)
def test_zero_based_skill(seed, k, dup, gold):
    ann, g = crowd(seed, k, duplicates=dup, gold=gold)
    post, skills = ref_zero_based_skill(Ref(ann, g), n_iter=30, lr_init=1.0, steps=4, factor=0.5, eps=1e-5)
    m = ZeroBasedSkill(n_iter=30, tol=0.0, lr_steps_to_reduce=4).fit(ann, gold=g)
    assert m.n_iter_ == 30
    close(m.skills_, skills)
    close(m.soft_labels_.probs, post)


@pytest.mark.parametrize("seed, k, dup, gold", CASES)
def test_votes(seed, k, dup, gold):
    ann, g = crowd(seed, k, duplicates=dup, gold=gold)
    r = Ref(ann, g)
    sv = r.soft_vote()
    close(SoftVote().fit(ann, gold=g).soft_labels_.probs, r.pin([row[:] for row in sv]))
    mv = r.split_argmax(sv)
    close(MajorityVote().fit(ann, gold=g).soft_labels_.probs, r.pin([row[:] for row in mv]))
    # Wawa: agreement of each worker with the (gold-pinned) majority, then the weighted vote
    mv = r.pin(mv)
    skill = [sum(mv[i][l] for i, _, l in r.by_worker[w]) / len(r.by_worker[w]) for w in range(r.m)]
    rows = [[0.0] * k for _ in range(r.n)]
    for i, w, l in r.answers:
        rows[i][l] += skill[w]
    wawa = [[v / sum(row) if sum(row) > 0 else 1.0 / k for v in row] for row in rows]
    m = Wawa().fit(ann, gold=g)
    close(m.skills_, skill)
    close(m.soft_labels_.probs, r.pin(wawa))
