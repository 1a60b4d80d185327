"""Naive reference formulas for the losses, written plainly from the papers / official code:
one sample (and often one class) at a time, float64, basic tensor arithmetic only so that
autograd gives reference gradients. Each returns the per-sample (per-bag) losses."""

from __future__ import annotations

import math

import numpy as np
import torch


def softmax(row):
    e = torch.exp(row - row.max())
    return e / e.sum()


def log_softmax(row):
    return torch.log(softmax(row))


def stack(values):
    return torch.stack(values) if values else torch.zeros(0, dtype=torch.float64)


def onehot(k, c):
    v = torch.zeros(c, dtype=torch.float64)
    v[k] = 1.0
    return v


def dense(target, c):
    if target.is_floating_point():
        return [row for row in target.double()]
    return [onehot(int(k), c) for k in target]


def soft_ce(z, target, weight=None, eps=0.0):
    c = z.shape[1]
    out = []
    for i, t in enumerate(dense(target, c)):
        q = (1 - eps) * t + eps / c
        loss = -sum(q[k] * log_softmax(z[i])[k] for k in range(c))
        out.append(loss * (1.0 if weight is None else weight[i]))
    return stack(out)


def kd(s, t, target=None, T=4.0, alpha=0.9, t2=True):
    out = []
    for i in range(s.shape[0]):
        pt, ps = softmax(t[i].detach() / T), softmax(s[i] / T)
        kl = sum(pt[k] * (torch.log(pt[k]) - torch.log(ps[k])) for k in range(s.shape[1]))
        kl = kl * (T * T if t2 else 1.0)
        out.append(kl)
    out = stack(out)
    if target is None:
        return out
    return alpha * out + (1 - alpha) * soft_ce(s, target)


def _split(p, y):
    """Binary [p_y, 1 - p_y] and the renormalised non-target distribution."""
    rest = [p[k] for k in range(len(p)) if k != y]
    total = sum(rest)
    return [p[y], total], [r / total for r in rest]


def _kl(p, q):
    return sum(a * (torch.log(a) - torch.log(b)) for a, b in zip(p, q))


def dkd(s, t, y, alpha=1.0, beta=8.0, T=4.0, t2=True):
    out = []
    for i in range(s.shape[0]):
        bs, ns = _split(softmax(s[i] / T), int(y[i]))
        bt, nt = _split(softmax(t[i].detach() / T), int(y[i]))
        out.append((alpha * _kl(bt, bs) + beta * _kl(nt, ns)) * (T * T if t2 else 1.0))
    return stack(out)


def nkd(s, t, y, T=1.0, gamma=1.5):
    out = []
    for i in range(s.shape[0]):
        k = int(y[i])
        target_part = -softmax(t[i].detach())[k] * torch.log(softmax(s[i])[k])
        keep = [j for j in range(s.shape[1]) if j != k]
        ps = softmax(s[i][keep] / T)
        pt = softmax(t[i].detach()[keep] / T)
        non = -sum(pt[j] * torch.log(ps[j]) for j in range(len(keep)))
        out.append(target_part + gamma * T * T * non)
    return stack(out)


def uskd(z, y, w_logits, alpha=1.0, beta=0.1, mu=0.005, rank_source="code"):
    """Hard labels only; follows the official forward step by step."""
    n, c = z.shape
    s_y = [softmax(z[i].detach())[int(y[i])] for i in range(n)]
    mean_sq = sum(v * v for v in s_y) / n
    out = []
    for i in range(n):
        k = int(y[i])
        v = s_y[i] ** 2 + 1.0 - mean_sq
        loss_t = -v * log_softmax(z[i])[k]
        q = 0.9 * onehot(k, c) + 0.1 / c
        loss_weak = -mu * sum(q[j] * log_softmax(w_logits[i])[j] for j in range(c))
        w = softmax(w_logits[i].detach())
        ell = log_softmax(z[i].detach()) if rank_source == "code" else softmax(z[i].detach())
        score = [float(w[j] / (1 - w[k] + 1e-6) + ell[j] / (1 - ell[k] + 1e-6)) for j in range(c)]
        ranked = sorted(range(c), key=lambda j: -score[j])
        zipf = {j: 1.0 / (pos + 1) for pos, j in enumerate(ranked)}
        keep = [j for j in range(c) if j != k]
        total = sum(zipf[j] for j in keep)
        ns = log_softmax(z[i][keep])
        loss_non = -sum(zipf[j] / total * ns[m] for m, j in enumerate(keep))
        out.append(alpha * loss_t + beta * loss_non + loss_weak)
    return stack(out)


def elr(z, target, ema, lam=3.0, eps=1e-4):
    out = []
    ce = soft_ce(z, target)
    for i in range(z.shape[0]):
        p = torch.clamp(softmax(z[i]), eps, 1 - eps)
        agreement = sum(ema[i][k] * p[k] for k in range(z.shape[1]))
        out.append(ce[i] + lam * torch.log(1 - agreement))
    return stack(out)


def elr_update(ema, z, beta=0.7, eps=1e-4):
    rows = []
    for i in range(z.shape[0]):
        p = torch.clamp(softmax(z[i].detach()), eps, 1 - eps)
        rows.append(beta * ema[i] + (1 - beta) * p / p.sum())
    return torch.stack(rows)


def scl_nl(z, ybar, eps=1e-6):
    return stack([-torch.log(1 - softmax(z[i])[int(ybar[i])] + eps) for i in range(z.shape[0])])


def scl_exp(z, ybar):
    return stack([torch.exp(softmax(z[i])[int(ybar[i])]) for i in range(z.shape[0])])


def forward_correction(z, ybar, q, eps=1e-6):
    out = []
    for i in range(z.shape[0]):
        p = softmax(z[i])
        j = int(ybar[i])
        out.append(-torch.log(sum(p[k] * q[k, j] for k in range(z.shape[1])) + eps))
    return stack(out)


def pc(z, ybar):
    out = []
    for i in range(z.shape[0]):
        j = int(ybar[i])
        out.append(sum(torch.sigmoid(z[i, j] - z[i, k]) for k in range(z.shape[1]) if k != j))
    return stack(out)


def ure_ga(z, ybar, q=None, prior=None):
    """Returns the GA objective (a scalar): per-class risks, then the GA rule."""
    risks = ure_risks(z, ybar, q, prior)
    if min(float(r.detach()) for r in risks) < 0:
        return -sum(r for r in risks if float(r.detach()) < 0)
    return sum(risks)


def ure_risks(z, ybar, q=None, prior=None):
    """R_j = pi_j * mean over samples with complementary label j of (Qinv l)_j."""
    n, c = z.shape
    qm = np.full((c, c), 1.0 / (c - 1)) - np.eye(c) / (c - 1) if q is None else q.numpy()
    qinv = torch.tensor(np.linalg.inv(qm))
    pi = [1.0 / c] * c if prior is None else [float(v) / float(sum(prior)) for v in prior]
    risks = []
    for j in range(c):
        members = [i for i in range(n) if int(ybar[i]) == j]
        if not members:
            risks.append(torch.zeros((), dtype=torch.float64))
            continue
        total = 0.0
        for i in members:
            losses = -log_softmax(z[i])
            total = total + sum(qinv[j, k] * losses[k] for k in range(c))
        risks.append(pi[j] * total / len(members))
    return risks


def dllp(z, bag_index, proportions, eps=1e-7):
    out = []
    for b in range(proportions.shape[0]):
        members = [i for i in range(z.shape[0]) if int(bag_index[i]) == b]
        mean = sum(softmax(z[i]) for i in members) / len(members)
        mean = torch.clamp(mean, eps, 1 - eps)
        out.append(-sum(proportions[b, k] * torch.log(mean[k]) for k in range(z.shape[1])))
    return stack(out)


def pu_mlc(z, y, alpha=1.0, gamma=0.55, eps=1e-10, min_tau=1e-3, max_tau=1.0):
    """Returns the batch loss (a scalar), class by class as in VPU."""
    n, c = z.shape
    total = 0.0
    for k in range(c):
        col = z[:, k]
        values = [float(v) for v in col.detach()]
        mean = sum(values) / n
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
        tau = min(max(alpha * std, min_tau), max_tau)
        phi = torch.sigmoid(col / tau)
        weight = float(phi.detach().mean()) ** gamma
        unlabeled = weight * torch.log(phi.mean() + eps)
        positives = [i for i in range(n) if int(y[i, k]) == 1]
        labeled = sum(torch.log(phi[i] + eps) for i in positives) / len(positives) if positives else 0.0
        total = total + unlabeled - labeled
    return total


def multi_focal(z, y, counts, cooc=None, gamma_pos=0.0, gamma_neg=3.0, clip=0.05, boost=1.2,
                power=1 / 3, eps=1e-8):
    n, c = z.shape
    w = [(1 - math.log(counts[k] / max(counts))) ** power for k in range(c)]
    out = []
    for i in range(n):
        positives = [k for k in range(c) if float(y[i, k]) == 1]
        if cooc is None or not positives:
            a = [0.0] * c
        else:
            colsum = [sum(cooc[r][k] for r in range(c)) for k in range(c)]
            a = [sum(cooc[r][k] / colsum[k] for r in positives) / len(positives) for k in range(c)]
            a = [v / sum(a) for v in a]
        loss = 0.0
        for k in range(c):
            p = torch.sigmoid(z[i, k])
            pp = p * (1 - a[k])
            pn = torch.clamp(1 - p + clip, max=1.0)
            if a[k] != 0:
                pn = torch.clamp(pn * boost, max=1.0)
            yk = float(y[i, k])
            term = w[k] * (yk * torch.log(torch.clamp(pp, min=eps))
                           + (1 - yk) * torch.log(torch.clamp(pn, min=eps)))
            pt = float(pp.detach()) if yk == 1 else float(pn.detach())
            expo = gamma_pos if yk == 1 else gamma_neg + w[k]
            loss = loss + term * (1 - pt) ** expo
        out.append(-loss)
    return stack(out)


def z_loss(o, y, a=1.0, b=0.0, eps=1e-12):
    out = []
    c = o.shape[1]
    for i in range(o.shape[0]):
        mu = sum(o[i]) / c
        sigma = torch.sqrt(sum(v * v for v in o[i]) / c - mu * mu)
        zc = (o[i, int(y[i])] - mu) / (sigma + eps)
        out.append(torch.log(1 + torch.exp(a * (b - zc))) / a)
    return stack(out)


def squared_hinge(o, y, margin=1.0):
    out = []
    for i in range(o.shape[0]):
        total = 0.0
        for k in range(o.shape[1]):
            t = 1.0 if k == int(y[i]) else -1.0
            total = total + torch.clamp(margin - t * o[i, k], min=0) ** 2
        out.append(total)
    return stack(out)


def normalized_softmax(f, w, y, scale=10.0):
    out = []
    for i in range(f.shape[0]):
        fi = f[i] / torch.sqrt((f[i] ** 2).sum())
        logits = torch.stack([scale * (fi * (w[k] / torch.sqrt((w[k] ** 2).sum()))).sum()
                              for k in range(w.shape[0])])
        out.append(-log_softmax(logits)[int(y[i])])
    return stack(out)


def decoupled_softmax(s, rel, chosen=None, weighted=False):
    """``chosen``: the positives that enter the loss (default: all)."""
    out = []
    for i in range(s.shape[0]):
        positives = [j for j in range(s.shape[1]) if rel[i, j] > 0]
        negatives = [j for j in range(s.shape[1]) if rel[i, j] == 0]
        use = positives if chosen is None else [j for j in positives if chosen[i, j]]
        total = 0.0
        for j in use:
            denom = torch.exp(s[i, j]) + sum(torch.exp(s[i, m]) for m in negatives)
            term = -(s[i, j] - torch.log(denom))
            total = total + (rel[i, j] * term if weighted else term)
        out.append(total / len(use) if use else torch.zeros((), dtype=torch.float64))
    return stack(out)


def top_k_threshold(row, k, alpha):
    """Solve sum sigmoid(alpha (s + t)) = k for t with a root finder (float64)."""
    from scipy.optimize import brentq

    x = row.detach().numpy()

    def excess(t):
        return float(np.sum(1.0 / (1.0 + np.exp(-alpha * (x + t))))) - k

    return brentq(excess, -x.max() - 50 / alpha, -x.min() + 50 / alpha, xtol=1e-14)


def soft_top_k_loss(s, rel, k, alpha):
    """The threshold from a root finder, made differentiable by one Newton step at the root
    (value unchanged; its gradient is the implicit-function gradient -df/ds / df/dt)."""
    out = []
    for i in range(s.shape[0]):
        t0 = top_k_threshold(s[i], k, alpha)
        sig = torch.sigmoid(alpha * (s[i] + t0))
        t = t0 - (sig.sum() - k) / (alpha * sig * (1 - sig)).sum().detach()
        positives = [j for j in range(s.shape[1]) if rel[i, j] > 0]
        terms = [-torch.log(torch.sigmoid(alpha * (s[i, j] + t))) for j in positives]
        out.append(sum(terms) / len(terms) if terms else torch.zeros((), dtype=torch.float64))
    return stack(out)


def phi(x):
    return 0.5 * (1 + torch.erf(x / math.sqrt(2)))


def thurstone(za, zb, g, levels=(5, 4, 3, 2, 1), fixed=True, eps=1e-8):
    out = []
    x = torch.tensor(levels, dtype=torch.float64)
    for i in range(za.shape[0]):
        pa, pb = softmax(za[i]), softmax(zb[i])
        sa, sb = (pa * x).sum(), (pb * x).sum()
        if fixed:
            p = phi((sa - sb) / math.sqrt(2.0))
        else:
            va = (pa * (x - sa) ** 2).sum().detach()
            vb = (pb * (x - sb) ** 2).sum().detach()
            p = phi((sa - sb) / torch.sqrt(va + vb + eps))
        out.append(1 - torch.sqrt(p * g[i] + eps) - torch.sqrt((1 - p) * (1 - g[i]) + eps))
    return stack(out)


def soft_teacher_joint(z, y, r, bg):
    """Returns the official joint-normalised loss (a scalar)."""
    num, den = 0.0, 0.0
    for i in range(z.shape[0]):
        w = float(r[i]) if int(y[i]) == bg else 1.0
        num = num - w * log_softmax(z[i])[int(y[i])]
        den += w
    return num / max(den, 1.0)


def soft_teacher_paper(z, y, r, bg):
    fg = [i for i in range(z.shape[0]) if int(y[i]) != bg]
    back = [i for i in range(z.shape[0]) if int(y[i]) == bg]
    fg_part = sum(-log_softmax(z[i])[int(y[i])] for i in fg) / max(len(fg), 1)
    total_r = sum(float(r[i]) for i in back)
    bg_part = sum(float(r[i]) / total_r * -log_softmax(z[i])[bg] for i in back) if total_r else 0.0
    return fg_part + bg_part


def best_of_heads(z, y, relax=0.0):
    out = []
    for i in range(z.shape[0]):
        per_head = [-log_softmax(z[i, h])[int(y[i])] for h in range(z.shape[1])]
        best = min(per_head, key=lambda v: float(v.detach()))
        out.append((1 - relax) * best + relax * sum(per_head) / len(per_head))
    return stack(out)
