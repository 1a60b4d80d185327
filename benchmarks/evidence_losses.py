"""Losses and heads of softlabels.train.nn put to the test on small CPU problems: does each
one help against the obvious baseline? (USKD, NKD, normalized softmax, EBV, CNN-SVM's
squared hinge, the Z-loss and DeQA-Score's fidelity loss.)

Five experiments, each repeated over seeds (the seed drives the split, the initialisation
and the batches), reported as mean ± std with the per-seed (paired) difference to the
baseline and in how many seeds the method was better:

1. Self-distillation without a teacher (USKD) against distillation with one (KD, NKD) and
   plain cross-entropy, a small student on 10% of scikit-learn's digits.
2. Heads: a linear head, the normalized-softmax (cosine) head and fixed equiangular basis
   vectors (EBV), trained on all ten digits, and trained on eight digits with two more
   classes added afterwards from five examples each, without retraining.
3. CNN-SVM's one-vs-rest squared hinge against cross-entropy: accuracy and calibration of
   ``softmax(scores)``, raw and after temperature scaling on a validation split.
4. The Z-loss against cross-entropy on a 20-class synthetic problem: top-1/3/5 accuracy,
   and the shift and scale invariance.
5. DeQA-Score on a synthetic rating task (items rated 1-5 by eight raters): soft-label KL,
   the Thurstone fidelity loss and their sum against MSE on (mean, std), MSE on the level
   distribution and a one-hot level label; SRCC/PLCC of the mean, KL and fidelity of the
   distribution.

Run: python benchmarks/evidence_losses.py [--output benchmarks/_out/evidence_losses.md]
     [--seeds 5] [--only kd,heads,hinge,zloss,deqa] [--quick]
"""

from __future__ import annotations

import _one_thread  # noqa: F401  (before numpy: one BLAS thread)

import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from _common import (  # noqa: E402
    emit, environment, evidence_args, fmt_seconds, markdown_table, mean_std, paired, verdict,
)
from torch import nn  # noqa: E402
from train_evidence import PlusCE, Split, digits_split, mlp  # noqa: E402

from softlabels.audit.calibration import (  # noqa: E402
    TemperatureScaling,
    expected_calibration_error,
    negative_log_likelihood,
)
from softlabels.infer.ratings import gaussian_to_soft_labels  # noqa: E402
from softlabels.train import fit  # noqa: E402
from softlabels.train.nn import (  # noqa: E402
    CosineHead,
    EBVHead,
    KDLoss,
    NKDLoss,
    SquaredHingeLoss,
    USKDLoss,
    ZLoss,
)
from softlabels.train.nn.functional import (  # noqa: E402
    thurstone_fidelity_loss,
    thurstone_preference,
)

Metrics = dict[str, dict[str, float]]   # method -> metric -> value (one seed)


# --------------------------------------------------------------------------- helpers
@torch.no_grad()
def logits_of(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    out = model(x)
    return out[0] if isinstance(out, tuple) else out


def top_k(logits: torch.Tensor, y: torch.Tensor, k: int) -> float:
    return float((logits.topk(k, dim=1).indices == y[:, None]).any(dim=1).float().mean())


def calibration(logits: torch.Tensor, y: torch.Tensor, val_logits: torch.Tensor,
                val_y: torch.Tensor) -> dict[str, float]:
    """NLL and ECE of ``softmax(logits)``, raw and after temperature scaling fitted on the
    validation logits."""
    z, yy = logits.double().numpy(), y.numpy()
    raw = torch.softmax(logits.double(), dim=1).numpy()
    ts = TemperatureScaling().fit(val_logits.double().numpy(), val_y.numpy())
    scaled = ts.transform(z)
    return {"NLL": negative_log_likelihood(raw, yy), "ECE": expected_calibration_error(raw, yy),
            "NLL (TS)": negative_log_likelihood(scaled, yy),
            "ECE (TS)": expected_calibration_error(scaled, yy), "T": ts.temperature_}


def split_validation(s: Split, seed: int, fraction: float = 0.2) -> tuple[Split, Split]:
    """Train/validation split of ``s``'s training part (stratified); the test part stays."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(s.y_train))
    tr, va = train_test_split(rows, test_size=fraction, stratify=s.y_train.numpy(),
                              random_state=seed)
    train = Split(s.x_train[tr], s.y_train[tr], s.x_test, s.y_test)
    val = Split(s.x_train[va], s.y_train[va], s.x_test, s.y_test)
    return train, val


def repeat(fn: Callable[[int], Metrics], seeds: list[int]) -> tuple[dict[str, dict[str, list]],
                                                                     float]:
    start = time.perf_counter()
    results: dict[str, dict[str, list]] = {}
    for seed in seeds:
        for method, metrics in fn(seed).items():
            for key, value in metrics.items():
                results.setdefault(method, {}).setdefault(key, []).append(value)
        print(f"  seed {seed} done ({time.perf_counter() - start:.0f} s)", flush=True)
    return results, time.perf_counter() - start


def metric_table(results: dict[str, dict[str, list]], baseline: str,
                 shown: list[str], compared: list[tuple[str, bool]]) -> str:
    """One row per method: ``shown`` metrics as mean ± std, then the paired difference to
    ``baseline`` for each ``(metric, lower_is_better)`` in ``compared``."""
    base = results[baseline]
    headers = ["method", *[f"{m} (mean ± std)" for m in shown],
               *[f"Δ {m} vs {baseline}" for m, _ in compared]]
    rows = []
    for name, res in results.items():
        row = [name, *[mean_std(res[m]) if m in res else "–" for m in shown]]
        for m, lower in compared:
            row.append("–" if name == baseline or m not in res or m not in base
                       else paired(res[m], base[m], lower_is_better=lower))
        rows.append(row)
    return markdown_table(headers, rows)


# --------------------------------------------------------------------------- 1. distillation
class TwoHidden(nn.Module):
    """MLP ``d-h1-h2-C``; with ``features`` it returns ``(logits, h1 activations)``, the
    mid-level feature USKD's weak head reads."""

    def __init__(self, seed: int, d: int = 64, h1: int = 32, h2: int = 16, c: int = 10,
                 features: bool = False) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.l1, self.l2, self.out = nn.Linear(d, h1), nn.Linear(h1, h2), nn.Linear(h2, c)
        self.features = features

    def forward(self, x: torch.Tensor) -> Any:
        a = torch.relu(self.l1(x))
        z = self.out(torch.relu(self.l2(a)))
        return (z, a) if self.features else z


class CEPlusUSKD(nn.Module):
    """``CE(logits, target) + USKD(logits, target, features)``, as in the official code."""

    def __init__(self, uskd: USKDLoss) -> None:
        super().__init__()
        self.uskd = uskd

    def forward(self, logits: torch.Tensor, target: torch.Tensor,
                features: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, target) + self.uskd(logits, target, features)


def run_kd(seed: int, epochs: int = 200, fraction: float = 0.1, batch_size: int = 32,
           teacher_epochs: int = 60) -> Metrics:
    from sklearn.model_selection import train_test_split

    s = digits_split(seed)
    teacher = mlp(seed + 1000, 256)
    fit(teacher, (s.x_train, s.y_train), nn.CrossEntropyLoss(), epochs=teacher_epochs,
        lr=1e-3, batch_size=64, seed=seed, device="cpu")
    if fraction < 1:
        rows, _ = train_test_split(np.arange(len(s.y_train)), train_size=fraction,
                                   stratify=s.y_train.numpy(), random_state=seed)
    else:
        rows = np.arange(len(s.y_train))
    x, y = s.x_train[rows], s.y_train[rows]
    t_logits = logits_of(teacher, x)
    out = {"teacher MLP-256 (full data)": {
        "accuracy": float((logits_of(teacher, s.x_test).argmax(1) == s.y_test).float().mean())}}
    arms: list[tuple[str, Any, dict[str, Any]]] = [
        ("CE", nn.CrossEntropyLoss(), {}),
        ("KD (T 4, alpha 0.9)", KDLoss(temperature=4.0, alpha=0.9), {"teacher": t_logits}),
        ("CE + NKD (T 1, gamma 1.5)", PlusCE(NKDLoss(temperature=1.0, gamma=1.5)),
         {"teacher": t_logits, "call": "distill"}),
        ("CE + USKD, no teacher (CIFAR cfg: 0.1, 0.1, 0.1)",
         CEPlusUSKD(USKDLoss(32, 10, alpha=0.1, beta=0.1, mu=0.1)), {"call": "features"}),
        ("CE + USKD, no teacher (ImageNet cfg: 1, 0.1, 0.005)",
         CEPlusUSKD(USKDLoss(32, 10, alpha=1.0, beta=0.1, mu=0.005)), {"call": "features"}),
    ]
    for name, loss, extra in arms:
        model = TwoHidden(seed, features=isinstance(loss, CEPlusUSKD))
        fit(model, (x, y), loss, epochs=epochs, lr=1e-3, batch_size=batch_size, seed=seed,
            device="cpu", **extra)
        z = logits_of(model, s.x_test)
        out[name] = {"accuracy": float((z.argmax(1) == s.y_test).float().mean()),
                     "NLL": negative_log_likelihood(torch.softmax(z.double(), 1).numpy(),
                                                    s.y_test.numpy())}
    return out


# --------------------------------------------------------------------------- 2. heads
class Encoded(nn.Module):
    """Encoder ``64-128-ReLU-32`` followed by a head."""

    def __init__(self, seed: int, head: Callable[[], nn.Module]) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.encoder = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 32))
        self.head = head()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


HEADS: dict[str, Callable[[int], nn.Module]] = {
    "linear": lambda c: nn.Linear(32, c),
    "cosine (normalized softmax, s 10)": lambda c: CosineHead(32, c, scale=10.0),
    "EBV (tau 0.07, dim 32)": lambda c: EBVHead(32, c, tau=0.07),
}


@torch.no_grad()
def add_classes(model: Encoded, support_x: torch.Tensor, support_y: torch.Tensor,
                rule: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Logits over the old classes plus one new class per label in ``support_y`` (sorted),
    with no gradient step. ``rule``: ``"prototype"`` (cosine and EBV heads: the
    renormalised mean of the normalised embeddings, as ``CosineHead.add_classes``),
    ``"raw mean"`` (linear head: the mean embedding as the new row, bias 0) or ``"scaled
    mean"`` (linear head: that mean rescaled to the mean norm of the trained rows, bias the
    mean trained bias)."""
    model.eval()
    head = model.head
    f = model.encoder(support_x)
    labels = torch.unique(support_y)
    if isinstance(head, CosineHead):
        head.add_classes(f, support_y)
        return model
    if isinstance(head, EBVHead):
        g = F.normalize(head.proj(f), dim=1)
        protos = torch.stack([F.normalize(g[support_y == c].mean(0), dim=0) for c in labels])
        head.ebv = torch.cat([head.ebv, protos])
        return model
    means = torch.stack([f[support_y == c].mean(0) for c in labels])
    w, b = head.weight, head.bias
    if rule == "raw mean":
        new_w, new_b = means, torch.zeros(len(labels))
    else:
        new_w = F.normalize(means, dim=1) * w.norm(dim=1).mean()
        new_b = b.mean().expand(len(labels))
    wide = nn.Linear(32, w.shape[0] + len(labels))
    wide.weight.copy_(torch.cat([w, new_w]))
    wide.bias.copy_(torch.cat([b, new_b]))
    return lambda x: wide(model.encoder(x))


def run_heads(seed: int, epochs: int = 60, shots: int = 5, old: int = 8) -> Metrics:
    s = digits_split(seed)
    out: Metrics = {}
    known = s.y_train < old
    gen = np.random.default_rng(seed)
    support = np.concatenate([gen.choice(np.flatnonzero(s.y_train.numpy() == c), shots,
                                         replace=False) for c in range(old, 10)])
    sx, sy = s.x_train[support], s.y_train[support] - old  # new labels 0.. -> appended
    test_old, test_new = s.y_test < old, s.y_test >= old
    for name, make in HEADS.items():
        full = Encoded(seed, lambda: make(10))
        fit(full, (s.x_train, s.y_train), nn.CrossEntropyLoss(), epochs=epochs, lr=1e-3,
            batch_size=64, seed=seed, device="cpu")
        z = logits_of(full, s.x_test)
        closed = {"closed-set accuracy": float((z.argmax(1) == s.y_test).float().mean())}
        eight = Encoded(seed, lambda: make(old))
        fit(eight, (s.x_train[known], s.y_train[known]), nn.CrossEntropyLoss(), epochs=epochs,
            lr=1e-3, batch_size=64, seed=seed, device="cpu")
        before = float((logits_of(eight, s.x_test[test_old]).argmax(1)
                        == s.y_test[test_old]).float().mean())
        rules = ["raw mean", "scaled mean"] if name == "linear" else ["prototype"]
        for rule in rules:
            predict = add_classes(eight, sx, sy, rule)
            with torch.no_grad():
                zz = predict(s.x_test)
            hit = zz.argmax(1) == s.y_test
            label = name if name != "linear" else f"linear, new rows = {rule}"
            out[label] = {
                **closed,
                "8-class accuracy before": before,
                "joint accuracy": float(hit.float().mean()),
                "old classes": float(hit[test_old].float().mean()),
                "new classes": float(hit[test_new].float().mean()),
                "new only (disjoint)": float(
                    (zz[test_new][:, old:].argmax(1) + old == s.y_test[test_new]).float().mean()),
            }
    return out


# --------------------------------------------------------------------------- 3. squared hinge
def run_hinge(seed: int, epochs: int = 100) -> Metrics:
    s = digits_split(seed)
    tr, va = split_validation(s, seed)
    out: Metrics = {}
    for name, loss in [("cross-entropy", nn.CrossEntropyLoss()),
                       ("squared hinge (margin 1)", SquaredHingeLoss(margin=1.0))]:
        model = mlp(seed, 128)
        fit(model, (tr.x_train, tr.y_train), loss, epochs=epochs, lr=1e-3, batch_size=128,
            seed=seed, device="cpu")
        z, zv = logits_of(model, s.x_test), logits_of(model, va.x_train)
        out[name] = {"accuracy": float((z.argmax(1) == s.y_test).float().mean()),
                     **calibration(z, s.y_test, zv, va.y_train)}
    return out


# --------------------------------------------------------------------------- 4. Z-loss
def classification_split(seed: int, n: int = 3000, classes: int = 20) -> tuple[Split, Split]:
    """make_classification with 20 classes (40 features, 15 informative, 5% flipped
    labels), 60/20/20 train/validation/test, standardised on the training part."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    x, y = make_classification(n_samples=n, n_features=40, n_informative=15, n_redundant=5,
                               n_classes=classes, n_clusters_per_class=1, class_sep=1.0,
                               flip_y=0.05, random_state=seed)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y,
                                              random_state=seed)
    mean, std = x_tr.mean(0), x_tr.std(0) + 1e-6
    f = torch.get_default_dtype()
    s = Split(torch.tensor((x_tr - mean) / std, dtype=f), torch.tensor(y_tr),
              torch.tensor((x_te - mean) / std, dtype=f), torch.tensor(y_te))
    return split_validation(s, seed, fraction=0.25)


def run_zloss(seed: int, epochs: int = 60, data: str = "synthetic") -> Metrics:
    """``data``: ``"synthetic"`` (:func:`classification_split`) or ``"digits"`` (70/30,
    a fifth of the training part for validation)."""
    tr, va = classification_split(seed) if data == "synthetic" else \
        split_validation(digits_split(seed), seed)
    d, c = tr.x_train.shape[1], int(tr.y_train.max()) + 1
    out: Metrics = {}
    arms = [("cross-entropy", nn.CrossEntropyLoss())]
    arms += [(f"Z-loss (a {a:g}, b {b:g})", ZLoss(a=a, b=b)) for a, b in [(1, 0), (1, 1), (0.5, 2)]]
    for name, loss in arms:
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(d, 128), nn.ReLU(), nn.Linear(128, c))
        fit(model, (tr.x_train, tr.y_train), loss, epochs=epochs, lr=1e-3, batch_size=128,
            seed=seed, device="cpu")
        z, zv = logits_of(model, tr.x_test), logits_of(model, va.x_train)
        cal = calibration(z, tr.y_test, zv, va.y_train)
        out[name] = {"top-1": top_k(z, tr.y_test, 1), "top-3": top_k(z, tr.y_test, 3),
                     "top-5": top_k(z, tr.y_test, 5),
                     "val top-1": top_k(zv, va.y_train, 1),
                     "NLL (TS)": cal["NLL (TS)"]}
        if isinstance(loss, ZLoss):
            moved = loss(3.0 * z + 5.0, tr.y_test) - loss(z, tr.y_test)
            out[name]["invariance gap"] = float(moved.abs())
    # the (a, b) with the best validation top-1: the paper tunes them on validation data
    z_arms = [k for k in out if k.startswith("Z-loss")]
    best = max(z_arms, key=lambda k: out[k]["val top-1"])
    out["Z-loss, (a, b) chosen on validation"] = dict(out[best])
    return out


# --------------------------------------------------------------------------- 5. DeQA
LEVELS = (1.0, 2.0, 3.0, 4.0, 5.0)


def latent(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quality in (1.4, 4.6) and rater spread in (0.35, 1.1), both nonlinear in ``x``."""
    u, v, t = x @ w[0], x @ w[1], x @ w[2]
    quality = 3.0 + 1.6 * np.tanh(0.9 * u + 0.5 * (v**2 - 1.0))
    return quality, 0.35 + 0.75 / (1.0 + np.exp(-2.0 * t))


def integer_ratings(quality: np.ndarray, spread: np.ndarray, raters: int,
                    rng: np.random.Generator) -> np.ndarray:
    """``raters`` ratings 1..5 per item: ``round(N(quality, spread))`` clipped to [1, 5]."""
    noise = rng.standard_normal((quality.shape[0], raters))
    return np.clip(np.rint(quality[:, None] + spread[:, None] * noise), 1, 5)


def rating_task(seed: int, n: int = 2000, d: int = 16, raters: int = 8) -> dict[str, Any]:
    """Items with features ``x``, :func:`latent` quality and spread, :func:`integer_ratings`;
    per-item MOS, std and histogram; 60/20/20."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    w = rng.standard_normal((3, d)) / np.sqrt(d)
    ratings = integer_ratings(*latent(x, w), raters, rng)
    hist = np.stack([(ratings == k).mean(1) for k in range(1, 6)], axis=1)
    order = rng.permutation(n)
    cut = [int(0.6 * n), int(0.8 * n)]
    parts = dict(zip(("train", "val", "test"), np.split(order, cut)))
    return {"x": torch.tensor(x, dtype=torch.get_default_dtype()), "mos": ratings.mean(1),
            "std": ratings.std(1, ddof=1), "hist": hist, **parts}


def predicted_moments(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(level probabilities, mean, std) from level logits; a 2-column output is read as
    (mean, softplus std) of a Gaussian, discretised with DeQA's labels for the KL."""
    levels = torch.tensor(LEVELS, dtype=z.dtype)
    p = torch.softmax(z, dim=1)
    mean = p @ levels
    return p, mean, (p * (levels - mean[:, None]) ** 2).sum(1).sqrt()


def partners(group: torch.Tensor) -> torch.Tensor:
    """For each row, a random row of the same group (the row itself for a group of one)."""
    j = torch.arange(group.shape[0])
    for g in torch.unique(group):
        rows = torch.nonzero(group == g).squeeze(1)
        j[rows] = rows[torch.randperm(rows.shape[0])]
    return j


def deqa_losses(weight_kl: float, weight_fid: float) -> Callable[[torch.Tensor, torch.Tensor],
                                                                  torch.Tensor]:
    """``weight_fid * fidelity + weight_kl * KL(q || softmax(z))``; the target packs
    ``[q (5 columns), MOS, std]`` and optionally a data-set id. Pairs: each item with a
    random other item of its batch (and of its data set)."""
    def loss(z: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        q, mos, std = target[:, :5], target[:, 5], target[:, 6]
        total = z.new_zeros(())
        if weight_kl:
            total = total + weight_kl * F.kl_div(F.log_softmax(z, 1), q, reduction="batchmean")
        if weight_fid:
            j = partners(target[:, 7]) if target.shape[1] > 7 else torch.randperm(z.shape[0])
            g = thurstone_preference(mos, mos[j], std, std[j])
            total = total + weight_fid * thurstone_fidelity_loss(z, z[j], g, levels=LEVELS)
        return total
    return loss


def mse_moments(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(out[:, 0], target[:, 5]) + F.mse_loss(F.softplus(out[:, 1]), target[:, 6])


def mse_levels(z: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(torch.softmax(z, 1), target[:, :5], reduction="sum") / z.shape[0]


def gaussian_kl(m1: np.ndarray, s1: np.ndarray, m2: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """KL(N(m1, s1^2) || N(m2, s2^2)), as DeQA's ``cal_distribution_gap``."""
    return np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def run_deqa(seed: int, epochs: int = 80) -> Metrics:
    from scipy.stats import pearsonr, spearmanr

    task = rating_task(seed)
    tr, te = task["train"], task["test"]
    mos, std = task["mos"], task["std"]
    soft = gaussian_to_soft_labels(mos, std, levels=LEVELS).probs
    onehot = np.eye(5)[np.clip(np.rint(mos), 1, 5).astype(int) - 1]
    floor = 0.05  # std floor for the Gaussian KL (items whose raters all agree have std 0)
    arms: list[tuple[str, Any, np.ndarray, int]] = [
        ("MSE on (mean, std)", mse_moments, soft, 2),
        ("MSE on the level distribution (DeQA soft label)", mse_levels, soft, 5),
        ("one-hot level (rounded MOS), CE", deqa_losses(1.0, 0.0), onehot, 5),
        ("DeQA soft label, KL", deqa_losses(1.0, 0.0), soft, 5),
        ("Thurstone fidelity only", deqa_losses(0.0, 1.0), soft, 5),
        ("DeQA: fidelity + 0.05 KL (paper weights)", deqa_losses(0.05, 1.0), soft, 5),
    ]
    out: Metrics = {}
    for name, loss, labels, width in arms:
        target = torch.tensor(np.column_stack([labels, mos, std]), dtype=torch.get_default_dtype())
        model = rating_mlp(seed, width)
        fit(model, (task["x"][tr], target[tr]), loss, epochs=epochs, lr=1e-3, batch_size=64,
            seed=seed, device="cpu", call="target")
        z = logits_of(model, task["x"][te]).double()
        if width == 2:
            mean, sd = z[:, 0].numpy(), F.softplus(z[:, 1]).numpy()
            p = gaussian_to_soft_labels(np.clip(mean, 1, 5), sd, levels=LEVELS).probs
        else:
            pt, mt, st = predicted_moments(z)
            p, mean, sd = pt.numpy(), mt.numpy(), st.numpy()
        h = task["hist"][te]
        out[name] = {
            "SRCC": float(spearmanr(mean, mos[te]).statistic),
            "PLCC": float(pearsonr(mean, mos[te]).statistic),
            "MAE of the mean": float(np.abs(mean - mos[te]).mean()),
            "std error": float(np.abs(sd - std[te]).mean()),
            "Gaussian KL": float(gaussian_kl(mos[te], np.maximum(std[te], floor), mean,
                                             np.maximum(sd, floor)).mean()),
            "fidelity to the histogram": float(np.sqrt(np.clip(p, 0, None) * h).sum(1).mean()),
        }
    return out


def rating_mlp(seed: int, width: int = 5, d: int = 16) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                         nn.Linear(64, width))


def run_cotrain(seed: int, epochs: int = 80, n: int = 1200, d: int = 16,
                raters: int = 8) -> Metrics:
    """Two data sets of the same kind of items: A rated 1-5 over the whole quality range,
    B only good items (quality > 3) rated on a 0-100 slider. Each data set's MOS and std are
    min-max normalised to [1, 5] (DeQA), which maps B's narrow range onto the whole scale."""
    from scipy.stats import pearsonr, spearmanr

    from softlabels.infer.ratings import normalize_scores

    rng = np.random.default_rng(seed)
    w = rng.standard_normal((3, d)) / np.sqrt(d)
    x_a = rng.standard_normal((n, d))
    x_b = rng.standard_normal((6 * n, d))
    x_b = x_b[latent(x_b, w)[0] > 3.0][:n]
    q_a, s_a = latent(x_a, w)
    q_b, s_b = latent(x_b, w)
    r_a = integer_ratings(q_a, s_a, raters, rng)
    slider = 25.0 * (q_b[:, None] - 1.0 + s_b[:, None] * rng.standard_normal((len(q_b), raters)))
    r_b = np.clip(slider, 0.0, 100.0)
    mos_a, std_a = normalize_scores(r_a.mean(1), r_a.std(1, ddof=1))
    mos_b, std_b = normalize_scores(r_b.mean(1), r_b.std(1, ddof=1))
    x = torch.tensor(np.concatenate([x_a, x_b]), dtype=torch.get_default_dtype())
    mos, std = np.concatenate([mos_a, mos_b]), np.concatenate([std_a, std_b])
    group = np.repeat([0.0, 1.0], [n, len(q_b)])
    quality = np.concatenate([q_a, q_b])
    soft = gaussian_to_soft_labels(mos, std, levels=LEVELS).probs
    target = torch.tensor(np.column_stack([soft, mos, std, group]),
                          dtype=torch.get_default_dtype())
    rows = rng.permutation(len(mos))
    test = np.zeros(len(mos), dtype=bool)
    test[rows[: len(mos) // 4]] = True
    train_a = ~test & (group == 0)
    arms = [("KL, data set A only", deqa_losses(1.0, 0.0), train_a),
            ("KL, A + B", deqa_losses(1.0, 0.0), ~test),
            ("fidelity only, A + B (pairs within a data set)", deqa_losses(0.0, 1.0), ~test),
            ("fidelity + 0.05 KL, A + B (DeQA)", deqa_losses(0.05, 1.0), ~test)]
    out: Metrics = {}
    for name, loss, train in arms:
        model = rating_mlp(seed, 5, d)
        fit(model, (x[train], target[train]), loss, epochs=epochs, lr=1e-3, batch_size=64,
            seed=seed, device="cpu", call="target")
        pred = predicted_moments(logits_of(model, x[test]).double())[1].numpy()
        a, b = group[test] == 0, group[test] == 1
        out[name] = {
            "SRCC A": float(spearmanr(pred[a], mos[test][a]).statistic),
            "SRCC B": float(spearmanr(pred[b], mos[test][b]).statistic),
            "PLCC A": float(pearsonr(pred[a], mos[test][a]).statistic),
            "PLCC B": float(pearsonr(pred[b], mos[test][b]).statistic),
            "SRCC A+B vs latent quality": float(spearmanr(pred, quality[test]).statistic),
        }
    return out


# --------------------------------------------------------------------------- readings
Results = dict[str, dict[str, list]]


def deltas(res: Results, method: str, base: str, metric: str) -> list[float]:
    return [a - b for a, b in zip(res[method][metric], res[base][metric])]


def said(res: Results, method: str, base: str, metric: str,
         higher_is_better: bool = True) -> str:
    """``"+0.012 (better in 4/5)"`` for the paired difference of ``method`` to ``base``."""
    d = deltas(res, method, base, metric)
    wins = sum((x > 0) if higher_is_better else (x < 0) for x in d)
    return f"{statistics.fmean(d):+.3f} (better in {wins}/{len(d)})"


def read_kd(res: Results) -> str:
    nkd, kd, ce = "CE + NKD (T 1, gamma 1.5)", "KD (T 4, alpha 0.9)", "CE"
    uskd = [k for k in res if "USKD" in k]
    u = "; ".join(f"USKD {k.split('(')[1].split(':')[0]} {said(res, k, ce, 'accuracy')}, "
                  f"NLL {said(res, k, ce, 'NLL', False)}" for k in uskd)
    best_uskd = max(uskd, key=lambda k: statistics.fmean(res[k]["accuracy"]))
    return (f"accuracy vs CE: KD {said(res, kd, ce, 'accuracy')}, NKD "
            f"{said(res, nkd, ce, 'accuracy')}; NKD vs KD {said(res, nkd, kd, 'accuracy')}; "
            f"{u}. Reproduced? Distillation beats CE: "
            f"{verdict(deltas(res, nkd, ce, 'accuracy'))}; NKD beats KD (the paper's claim): "
            f"{verdict(deltas(res, nkd, kd, 'accuracy'))}; USKD beats CE without a teacher: "
            f"{verdict(deltas(res, best_uskd, ce, 'accuracy'))} on accuracy (the better of the "
            f"two configurations by test accuracy, so optimistic), {verdict(deltas(res, best_uskd, ce, 'NLL'), False)} on NLL.")


def read_heads(res: Results) -> str:
    base, cos, ebv = "linear, new rows = scaled mean", "cosine (normalized softmax, s 10)", \
        "EBV (tau 0.07, dim 32)"
    raw = "linear, new rows = raw mean"
    return (f"closed set: cosine {said(res, cos, base, 'closed-set accuracy')}, EBV "
            f"{said(res, ebv, base, 'closed-set accuracy')} against the linear head. Adding two "
            f"classes from 5 shots, joint accuracy: cosine {said(res, cos, base, 'joint accuracy')}"
            f", EBV {said(res, ebv, base, 'joint accuracy')} against the rescaled linear rows; the "
            f"raw-mean linear rows collapse (joint {mean_std(res[raw]['joint accuracy'])}). The "
            f"new classes stay far below the old ones in every head (few shots against trained "
            f"rows). Reproduced? Normalized softmax lets classes be added without retraining "
            f"better than a linear head: {verdict(deltas(res, cos, base, 'joint accuracy'))} "
            f"(against the naive raw-mean control: "
            f"{verdict(deltas(res, cos, raw, 'joint accuracy'))}); EBV beats the linear head "
            f"on the closed set (the EBV paper's claim): "
            f"{verdict(deltas(res, ebv, base, 'closed-set accuracy'))}.")


def read_hinge(res: Results) -> str:
    h, ce = "squared hinge (margin 1)", "cross-entropy"
    return (f"accuracy {said(res, h, ce, 'accuracy')}; raw softmax(scores) NLL "
            f"{said(res, h, ce, 'NLL', False)} (the hinge's scores are margins, not "
            f"logits: badly calibrated as they are); after temperature scaling NLL "
            f"{said(res, h, ce, 'NLL (TS)', False)}, ECE {said(res, h, ce, 'ECE (TS)', False)}. "
            f"Reproduced? The paper finds CNN-SVM within 0.2-1.1 points of softmax: "
            f"{'yes' if abs(statistics.fmean(deltas(res, h, ce, 'accuracy'))) < 0.01 else 'no'}"
            f" here (mean gap under 1 point); the raw scores are no probabilities, but one "
            f"fitted temperature brings NLL and ECE to cross-entropy's level (NLL (TS) within "
            f"0.01 of cross-entropy: "
            f"{'yes' if statistics.fmean(deltas(res, h, ce, 'NLL (TS)')) < 0.01 else 'no'}).")


def read_zloss(ks: tuple[str, ...]) -> Callable[[Results], str]:
    return lambda res: _read_zloss(res, ks)


def _read_zloss(res: Results, ks: tuple[str, ...]) -> str:
    ce, chosen = "cross-entropy", "Z-loss, (a, b) chosen on validation"
    gap = max(max(v["invariance gap"]) for k, v in res.items() if "invariance gap" in v)
    parts = ", ".join(f"{m} {said(res, chosen, ce, m)}" for m in ks)
    verdicts = ", ".join(f"{m} {verdict(deltas(res, chosen, ce, m))}" for m in ks)
    return (f"Z-loss with (a, b) chosen on validation against CE: {parts}. Shift and scale "
            f"invariance holds (largest gap {gap:.1e}). Reproduced? Z-loss beats log-softmax on "
            f"top-k (the paper's claim, on language modelling): {verdicts}. The speed claim (the spherical family's "
            f"output-size-free update) is not tested: the loss here is the dense one.")


def read_deqa(res: Results) -> str:
    base, kl = "MSE on (mean, std)", "DeQA soft label, KL"
    onehot, full = "one-hot level (rounded MOS), CE", "DeQA: fidelity + 0.05 KL (paper weights)"
    return (f"soft-label KL against MSE on (mean, std): PLCC {said(res, kl, base, 'PLCC')}, "
            f"SRCC {said(res, kl, base, 'SRCC')}, Gaussian KL "
            f"{said(res, kl, base, 'Gaussian KL', False)}; against a one-hot level label the "
            f"soft label wins on every metric (PLCC {said(res, kl, onehot, 'PLCC')}, histogram "
            f"fidelity {said(res, kl, onehot, 'fidelity to the histogram')}). Adding the "
            f"fidelity loss (paper weights): PLCC {said(res, full, kl, 'PLCC')} vs KL alone, "
            f"Gaussian KL {said(res, full, kl, 'Gaussian KL', False)}; fidelity alone ranks "
            f"well but loses the scale and the spread. Reproduced? Soft labels beat one-hot "
            f"labels: {verdict(deltas(res, kl, onehot, 'PLCC'))}; beat MSE regression on "
            f"PLCC: {verdict(deltas(res, kl, base, 'PLCC'))}; the predicted distribution is "
            f"closer to the human one than MSE's: "
            f"{verdict(deltas(res, kl, base, 'Gaussian KL'), False)}; the fidelity loss adds "
            f"accuracy within one data set: {verdict(deltas(res, full, kl, 'PLCC'))}.")


def read_cotrain(res: Results) -> str:
    base, full = "KL, A + B", "fidelity + 0.05 KL, A + B (DeQA)"
    alone = "KL, data set A only"
    return (f"DeQA (fidelity + 0.05 KL) against KL on the normalised scores of both data "
            f"sets: SRCC A {said(res, full, base, 'SRCC A')}, SRCC B "
            f"{said(res, full, base, 'SRCC B')}, pooled SRCC against the latent quality "
            f"{said(res, full, base, 'SRCC A+B vs latent quality')}; KL on A alone against "
            f"KL on both: SRCC A {said(res, alone, base, 'SRCC A')}. Reproduced? The fidelity "
            f"loss makes co-training on incomparable scales work better than KL on "
            f"normalised scores: "
            f"{verdict(deltas(res, full, base, 'SRCC A+B vs latent quality'))} (pooled SRCC), "
            f"{verdict(deltas(res, full, base, 'SRCC B'))} (SRCC B).")


@dataclass
class Section:
    key: str
    title: str
    run: Callable[[int], Metrics]
    text: str
    baseline: str
    shown: list[str]
    compared: list[tuple[str, bool]]
    read: Callable[[Results], str]


SECTION_KEYS = ("kd", "kd-full", "heads", "hinge", "zloss", "zloss-digits", "deqa",
                "deqa-cotrain")


# --------------------------------------------------------------------------- report
def _sklearn_version() -> str:
    import sklearn

    return sklearn.__version__


def main() -> None:
    args, seeds, only = evidence_args(__doc__.split("\n\n")[0], sections=",".join(SECTION_KEYS))
    q = args.quick
    ep = {"kd": 40, "kd-full": 10, "heads": 15, "hinge": 20, "zloss": 15, "zloss-digits": 15,
          "deqa": 15} if q else \
        {"kd": 200, "kd-full": 60, "heads": 60, "hinge": 100, "zloss": 60, "zloss-digits": 100,
         "deqa": 80}
    parts = [
        "## Losses and heads: does each help? (USKD, NKD, normalized softmax, EBV, CNN-SVM, "
        "Z-loss, DeQA fidelity)",
        "",
        environment() + f"; torch {torch.__version__}, scikit-learn {_sklearn_version()}; "
        "one torch and one BLAS thread",
        f"- Seeds: {seeds} (split, initialisation, batches, and the synthetic data where there "
        "is some). Adam, lr 1e-3, no early stopping: every number is after the last epoch. "
        "Δ columns: mean ± std over seeds of the per-seed difference to the baseline, and in "
        "how many seeds the method was better. No hyper-parameter was tuned on a test split: "
        "the values are the papers' defaults, or chosen on a validation split where said.",
    ]
    kd_text = ("Digits, 70/30 split. Teacher MLP 64-256-10, 60 epochs on the full training set "
               "(1257 items). Student MLP 64-32-16-10 on {what}, {epochs} epochs, batch {batch}. "
               "KD is Hinton's mix (0.9 KD + 0.1 CE); NKD and USKD are added to the CE as in the "
               "official code. USKD has no teacher: its weak linear head reads the 32-unit first "
               "hidden layer (the 'mid-level feature'); two configurations of the paper, no "
               "tuning.")
    z_text = ("{data} MLP {d}-128-{c}, {epochs} epochs, batch 128. Z-loss with the (a, b) of "
              "the method note; the last row takes, per seed, the (a, b) with the best "
              "validation top-1 (the paper tunes them on validation data). NLL (TS): after "
              "temperature scaling on the validation split (Z-loss scores are not "
              "probabilities). Invariance gap: |L(3 o + 5) - L(o)| on the test logits of the "
              "trained model.")
    sections: list[Section] = [
        Section("kd", "1a. Self-distillation (USKD) vs distillation (KD, NKD) vs cross-entropy, "
                "10% of the data", lambda s: run_kd(s, epochs=ep["kd"]),
                kd_text.format(what="a stratified 10% of it (125 items)", epochs=ep["kd"],
                               batch=32),
                "CE", ["accuracy", "NLL"], [("accuracy", False), ("NLL", True)], read_kd),
        Section("kd-full", "1b. The same with the full training set",
                lambda s: run_kd(s, epochs=ep["kd-full"], fraction=1.0, batch_size=64),
                kd_text.format(what="the same 1257 items", epochs=ep["kd-full"], batch=64),
                "CE", ["accuracy", "NLL"], [("accuracy", False), ("NLL", True)], read_kd),
        Section("heads", "2. Heads: linear vs normalized softmax (cosine) vs EBV, and adding "
                "classes later", lambda s: run_heads(s, epochs=ep["heads"]),
                "Digits, 70/30 split. Encoder 64-128-ReLU-32 plus a head, cross-entropy, "
                f"{ep['heads']} epochs, batch 64. *Closed set*: trained on all ten digits. "
                "*Adding classes*: the same model trained on digits 0-7 only, then digits 8 and 9 "
                "added from 5 training examples each, with no gradient step: the cosine head "
                "through `CosineHead.add_classes` (renormalised mean of the normalised "
                "embeddings); the EBV head the same way in its projected space (our "
                "construction: the EBV paper fixes all class vectors in advance and does not add "
                "classes); the linear head either with the raw mean embedding as the new row and "
                "bias 0, or with that mean rescaled to the trained rows' mean norm and the mean "
                "trained bias. Test: 'old/new classes' = accuracy on test items of digits 0-7 / "
                "8-9 predicted among all ten, 'new only' = 8 vs 9 among the two new classes, "
                "'8-class accuracy before' = digits 0-7 before adding.",
                "linear, new rows = scaled mean",
                ["closed-set accuracy", "8-class accuracy before", "joint accuracy",
                 "old classes", "new classes", "new only (disjoint)"],
                [("closed-set accuracy", False), ("joint accuracy", False),
                 ("new only (disjoint)", False)], read_heads),
        Section("hinge", "3. CNN-SVM's squared hinge vs cross-entropy: accuracy and calibration",
                lambda s: run_hinge(s, epochs=ep["hinge"]),
                "Digits, 70/30 split; 20% of the training part held out for temperature "
                f"scaling (TS). MLP 64-128-10, {ep['hinge']} epochs, batch 128; the hinge sums "
                "over classes (no readout weight penalty). NLL and ECE (15 bins, top label) of "
                "softmax(scores), raw and after TS fitted on the validation split; T = the "
                "fitted temperature.",
                "cross-entropy", ["accuracy", "NLL", "ECE", "NLL (TS)", "ECE (TS)", "T"],
                [("accuracy", False), ("NLL", True), ("NLL (TS)", True), ("ECE (TS)", True)],
                read_hinge),
        Section("zloss", "4a. Z-loss vs cross-entropy: top-k accuracy, 20 classes",
                lambda s: run_zloss(s, epochs=ep["zloss"]),
                z_text.format(data="`make_classification`: 3000 items, 40 features (15 "
                              "informative), 20 classes, 5% flipped labels; 60/20/20 "
                              "train/validation/test.", d=40, c=20, epochs=ep["zloss"]),
                "cross-entropy", ["top-1", "top-3", "top-5", "NLL (TS)", "invariance gap"],
                [("top-1", False), ("top-3", False), ("top-5", False)],
                read_zloss(("top-1", "top-3", "top-5"))),
        Section("zloss-digits", "4b. Z-loss vs cross-entropy on digits",
                lambda s: run_zloss(s, epochs=ep["zloss-digits"], data="digits"),
                z_text.format(data="Digits, 70/30 split, a fifth of the training part for "
                              "validation.", d=64, c=10, epochs=ep["zloss-digits"]),
                "cross-entropy", ["top-1", "top-3", "NLL (TS)", "invariance gap"],
                [("top-1", False), ("top-3", False)], read_zloss(("top-1", "top-3"))),
        Section("deqa", "5a. DeQA-Score: soft labels and the Thurstone fidelity loss vs MSE",
                lambda s: run_deqa(s, epochs=ep["deqa"]),
                "No rating data set in `shared/data` has item features (the `emotion` crowd "
                "has ratings only), so the task is synthetic: 2000 items with 16 Gaussian "
                "features; a latent quality (1.4-4.6) and a rater spread (0.35-1.1), both "
                "nonlinear in the features; 8 integer ratings 1-5 per item (rounded, clipped "
                "Gaussian); targets are each item's MOS and rating std; 60/20/20 split (the "
                "validation part is unused). MLP 16-64-64 with 5 level logits (2 outputs, mean "
                f"and softplus std, for the first arm), {ep['deqa']} epochs, batch 64. Soft "
                "labels: `gaussian_to_soft_labels` (pdf, projected). Fidelity pairs: each item "
                "with a random item of its batch, target `thurstone_preference` of their MOS "
                "and std. Predicted mean and std are the moments of the level softmax. Test "
                "metrics against the test items' MOS, std and rating histogram: SRCC/PLCC of "
                "the mean, mean Gaussian KL(N(MOS, std) || N(pred)) (stds floored at 0.05), and "
                "the fidelity sum_k sqrt(p_k h_k) of the level distribution to the histogram "
                "(1 is a perfect match).",
                "MSE on (mean, std)",
                ["SRCC", "PLCC", "MAE of the mean", "std error", "Gaussian KL",
                 "fidelity to the histogram"],
                [("SRCC", False), ("PLCC", False), ("Gaussian KL", True),
                 ("fidelity to the histogram", False)], read_deqa),
        Section("deqa-cotrain", "5b. DeQA-Score: co-training on two data sets with different "
                "scales", lambda s: run_cotrain(s, epochs=ep["deqa"]),
                "The fidelity loss's purpose in the paper: training on several data sets whose "
                "scores are not comparable. Same items and latent quality as 5a. Data set A: "
                "1200 items over the whole quality range, 8 ratings 1-5. Data set B: 1200 "
                "items of quality > 3 only, 8 ratings on a 0-100 slider "
                "(25 (quality - 1 + spread noise), clipped). Each data set's MOS and std "
                "min-max normalised to [1, 5] with `normalize_scores` (DeQA's rule), so B's "
                "good-only range is stretched over the whole scale and conflicts with A. 25% "
                "of the items held out for test. MLP 16-64-64-5, "
                f"{ep['deqa']} epochs, batch 64; fidelity pairs drawn within a data set. SRCC "
                "and PLCC of the predicted mean against each data set's own MOS, and SRCC on "
                "both test sets pooled against the latent quality.",
                "KL, A + B",
                ["SRCC A", "PLCC A", "SRCC B", "PLCC B", "SRCC A+B vs latent quality"],
                [("SRCC A", False), ("SRCC B", False), ("SRCC A+B vs latent quality", False)],
                read_cotrain),
    ]
    for sec in sections:
        if sec.key not in only:
            continue
        print(sec.title, flush=True)
        res, seconds = repeat(sec.run, seeds)
        parts += ["", f"### {sec.title}", "",
                  f"{sec.text} {len(seeds)} seeds, {fmt_seconds(seconds)} s.", "",
                  metric_table(res, sec.baseline, sec.shown, sec.compared), "",
                  "**Reading:** " + sec.read(res)]
    emit("\n".join(parts), args.output)


if __name__ == "__main__":
    main()
