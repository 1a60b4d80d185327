"""A slow, obvious reference of Bayesian classifier combination with subtypes
(IBCC: one subtype; EBCC: several), written from the update equations with plain
Python loops over answers, items, workers, classes and subtypes."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import digamma

from softlabels import Annotations


def log_dirichlet_norm(a):
    """log B(a)^-1 = lgamma(sum a) - sum lgamma(a)."""
    return math.lgamma(sum(a)) - sum(math.lgamma(x) for x in a)


def elog(a):
    """E[log x] under Dir(a), component by component."""
    total = sum(a)
    return [float(digamma(x) - digamma(total)) for x in a]


def reference_bcc(ann: Annotations, gold, joint, *, n_iter, diag, off, class_prior, subtype_prior):
    """Run ``n_iter`` iterations (Dirichlet update, then posterior update) from the joint
    posterior ``joint[i][k][m]``; return the class posteriors, the final joint and the
    evidence lower bound at the end, each term of it computed separately."""
    answers, n, w_count, k, m, beta, q = unpack(ann, joint, diag, off)
    for _ in range(n_iter):
        # Dirichlet posteriors from the expected counts
        mu, nu, eta = dirichlets(answers, q, n, w_count, k, m, beta, class_prior, subtype_prior)
        e_tau = elog(nu)
        e_pi = [elog(eta[c]) for c in range(k)]
        e_v = [[[elog(mu[w][c][s]) for s in range(m)] for c in range(k)] for w in range(w_count)]
        # posteriors
        scores = [[[e_tau[c] + e_pi[c][s] for s in range(m)] for c in range(k)] for _ in range(n)]
        for i, w, label in answers:
            for c in range(k):
                for s in range(m):
                    scores[i][c][s] += e_v[w][c][s][label]
        for i in range(n):
            allowed = [c for c in range(k) if gold[i] < 0 or c == gold[i]]
            top = max(scores[i][c][s] for c in allowed for s in range(m))
            z = sum(math.exp(scores[i][c][s] - top) for c in allowed for s in range(m))
            for c in range(k):
                for s in range(m):
                    q[i][c][s] = math.exp(scores[i][c][s] - top) / z if c in allowed else 0.0
    # ELBO = E[log p(answers, t, g, params)] - E[log q], term by term
    elbo = 0.0
    for i in range(n):  # E[log p(t, g | tau, pi)] + entropy of q(t, g)
        for c in range(k):
            for s in range(m):
                if q[i][c][s] > 0:
                    elbo += q[i][c][s] * (e_tau[c] + e_pi[c][s] - math.log(q[i][c][s]))
    for i, w, label in answers:  # E[log p(answer | t, g, v)]
        for c in range(k):
            for s in range(m):
                elbo += q[i][c][s] * e_v[w][c][s][label]

    def prior_minus_q(post, prior):  # E_q[log Dir(x; prior)] - E_q[log Dir(x; post)]
        e = elog(post)
        return (log_dirichlet_norm(prior) - log_dirichlet_norm(post)
                + sum((a - 1) * x for a, x in zip(prior, e)) - sum((a - 1) * x for a, x in zip(post, e)))

    elbo += prior_minus_q(nu, class_prior)
    for c in range(k):
        if m > 1:
            elbo += prior_minus_q(eta[c], [subtype_prior / m] * m)
        for w in range(w_count):
            for s in range(m):
                elbo += prior_minus_q(mu[w][c][s], beta[c])
    probs = np.array([[sum(q[i][c]) for c in range(k)] for i in range(n)])
    return probs, q, elbo


def unpack(ann: Annotations, joint, diag, off):
    """The answers as (item, worker, label) tuples, the sizes, the confusion prior and
    a copy of the joint posterior as nested lists."""
    answers = list(zip(ann.item.tolist(), ann.worker.tolist(), ann.label.tolist()))
    k = ann.n_classes
    beta = [[diag if a == b else off for b in range(k)] for a in range(k)]
    q = [[list(row) for row in item] for item in joint]
    return answers, ann.n_items, ann.n_workers, k, len(joint[0][0]), beta, q


def crowd(seed, k, *, n_items, n_workers, gold, duplicates=False):
    """Small random answers (optionally some given twice, differently), a gold mapping
    for three items when ``gold``, and the per-item gold codes (-1: unknown)."""
    import pandas as pd

    from softlabels.datasets import make_crowd

    answers, truth = make_crowd(n_items=n_items, n_workers=n_workers, n_classes=k,
                                answers_per_item=3, random_state=seed)
    if duplicates:
        extra = answers.sample(6, random_state=seed).assign(label=lambda d: (d["label"] + 1) % k)
        answers = pd.concat([answers, extra], ignore_index=True)
    ann = Annotations.from_frame(answers, classes=list(range(k)))
    gold_map = {int(i): int(truth[i]) for i in truth.index[:3]} if gold else None
    codes = np.full(ann.n_items, -1)
    for item, label in (gold_map or {}).items():
        codes[ann.item_ids.tolist().index(item)] = label
    return ann, gold_map, codes


def dirichlets(answers, q, n, w_count, k, m, beta, class_prior, subtype_prior):
    """The Dirichlet parameters given the joint posterior: confusion rows
    ``mu[w][k][m]``, class proportions ``nu``, subtype weights ``eta[k]``."""
    mu = [[[list(beta[c]) for _ in range(m)] for c in range(k)] for _ in range(w_count)]
    for i, w, label in answers:
        for c in range(k):
            for s in range(m):
                mu[w][c][s][label] += q[i][c][s]
    nu = [class_prior[c] + sum(q[i][c][s] for i in range(n) for s in range(m)) for c in range(k)]
    eta = [[subtype_prior / m + sum(q[i][c][s] for i in range(n)) for s in range(m)] for c in range(k)]
    return mu, nu, eta


def assert_same_skills(base, other, rename):
    """The skills of ``other`` (fitted with worker ids renamed by ``rename``) are those of
    ``base``, worker by worker."""
    a = base.reliability_frame().set_index("worker")["skill"]
    b = other.reliability_frame().assign(worker=lambda f: f["worker"].map(rename)).set_index("worker")["skill"]
    np.testing.assert_allclose(b.loc[a.index].to_numpy(), a.to_numpy(), atol=1e-10)


def soft_vote(ann: Annotations):
    counts = [[0.0] * ann.n_classes for _ in range(ann.n_items)]
    for i, label in zip(ann.item.tolist(), ann.label.tolist()):
        counts[i][label] += 1.0
    return [[x / sum(row) for x in row] for row in counts]




def reference_collapsed(ann: Annotations, gold, joint, *, n_iter, diag, off, class_prior, subtype_prior):
    """The collapsed (zero-order) updates: every answer is scored by the predictive
    probability of the worker's Dirichlet with the item's own share of the counts taken
    out. Returns the class posteriors and the last objective, the sum over items of the
    log of the normaliser (their leave-one-out predictive probability)."""
    answers, n, w_count, k, m, beta, q = unpack(ann, joint, diag, off)
    objective = 0.0
    for _ in range(n_iter):
        mu, nu, eta = dirichlets(answers, q, n, w_count, k, m, beta, class_prior, subtype_prior)
        scores = []
        for i in range(n):
            row = []
            for c in range(k):
                own_c = sum(q[i][c])
                cells = []
                for s in range(m):
                    x = math.log((nu[c] - own_c) / (sum(nu) - 1.0))
                    if m > 1:
                        x += math.log((eta[c][s] - q[i][c][s]) / (sum(eta[c]) - own_c))
                    cells.append(x)
                row.append(cells)
            scores.append(row)
        for i, w, label in answers:
            for c in range(k):
                for s in range(m):
                    own = q[i][c][s]
                    scores[i][c][s] += math.log((mu[w][c][s][label] - own) / (sum(mu[w][c][s]) - own))
        objective = 0.0
        for i in range(n):
            allowed = [c for c in range(k) if gold[i] < 0 or c == gold[i]]
            z = sum(math.exp(scores[i][c][s]) for c in allowed for s in range(m))
            objective += math.log(z)
            for c in range(k):
                for s in range(m):
                    q[i][c][s] = math.exp(scores[i][c][s]) / z if c in allowed else 0.0
    probs = np.array([[sum(q[i][c]) for c in range(k)] for i in range(n)])
    return probs, q, objective


def reference_vb_then_collapsed(ann: Annotations, gold, joint, *, diag, off, class_prior,
                                subtype_prior):
    """From a converged mean-field joint posterior ``joint[i][k][m]``: the collapsed
    scores (every answer scored by its worker's predictive probability with the item's
    own share taken out, plus the class and subtype terms), and two functions of the
    temperature: the log-likelihood of each answer predicted from the item's other
    answers, and the tempered class posteriors."""
    answers, n, w_count, k, m, beta, q = unpack(ann, joint, diag, off)
    mu, nu, eta = dirichlets(answers, q, n, w_count, k, m, beta, class_prior, subtype_prior)
    cells = [(c, s) for c in range(k) for s in range(m)]
    scores = []
    for i in range(n):
        row = {}
        for c, s in cells:
            own_c = sum(q[i][c])
            x = math.log((nu[c] - own_c) / (sum(nu) - 1.0))
            if m > 1:
                x += math.log((eta[c][s] - q[i][c][s]) / (sum(eta[c]) - own_c))
            row[c, s] = x
        scores.append(row)

    def term(i, w, label, c, s):
        own = q[i][c][s]
        return math.log((mu[w][c][s][label] - own) / (sum(mu[w][c][s]) - own))

    for i, w, label in answers:
        for c, s in cells:
            scores[i][c, s] += term(i, w, label, c, s)

    def softmax(values):
        top = max(values)
        e = [math.exp(v - top) for v in values]
        return [x / sum(e) for x in e]

    def loglik(temperature):
        total = 0.0
        for i, w, label in answers:
            held = [term(i, w, label, c, s) for c, s in cells]
            p = softmax([(scores[i][cell] - h) / temperature for cell, h in zip(cells, held)])
            total += math.log(sum(pj * math.exp(h) for pj, h in zip(p, held)))
        return total

    def tempered(temperature):
        probs = []
        for i in range(n):
            allowed = [j for j, (c, _) in enumerate(cells) if gold[i] < 0 or c == gold[i]]
            p = softmax([scores[i][cells[j]] / temperature for j in allowed])
            by_class = [0.0] * k
            for j, pj in zip(allowed, p):
                by_class[cells[j][0]] += pj
            probs.append(by_class)
        return np.array(probs)

    return loglik, tempered
