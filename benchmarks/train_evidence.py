"""Evidence that softlabels.train's losses and wrapper do what their papers promise, on
scikit-learn's digits (1797 images of 8x8 pixels, 10 classes) with small MLPs on the CPU.

Five experiments, each repeated over seeds (the seed drives the split, the corruption of
the labels, the initialisation and the batches), reported as mean ± std of the clean test
accuracy (or NLL):

1. 40% symmetric label noise: ELR against plain cross-entropy.
2. Distillation in a limited-data setting: a small student sees 10% of the training set,
   with its hard labels or with the logits of a teacher trained on the full set (KD, NKD, DKD).
3. Complementary labels only (one uniformly drawn wrong class per item): SCL-NL, SCL-EXP,
   URE-GA, forward correction and PC.
4. Label proportions only, bags of 16: DLLP against the same model trained on the true labels.
5. A simulated crowd: SoftLabelClassifier(LogisticRegression) on Dawid-Skene and soft-vote
   soft labels against the same model on majority-vote labels (test NLL).

Run: python benchmarks/train_evidence.py [--output benchmarks/_out/train.md] [--seeds 5]
     [--only elr,kd,cll,dllp,crowd] [--quick]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from _common import (
    emit,
    environment,
    evidence_args,
    fmt_seconds,
    markdown_table,
    mean_std,
    paired,
    repeat,
)
from torch import nn

import softlabels
from softlabels.train import SoftLabelClassifier, fit
from softlabels.train.nn import (
    DKDLoss,
    DLLPLoss,
    ELRLoss,
    ForwardCorrectionLoss,
    KDLoss,
    NKDLoss,
    PCLoss,
    SCLEXPLoss,
    SCLNLLoss,
    UREGALoss,
)

N_CLASSES = 10
#: The arm each experiment's table compares with (paired over seeds).
BASELINES = {"elr": "cross-entropy", "kd": "student, hard labels (CE)",
             "dllp": "supervised (true labels)"}


# --------------------------------------------------------------------------- data and models
@dataclass
class Split:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def digits_split(seed: int, test_size: float = 0.3) -> Split:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x / 16.0, y, test_size=test_size,
                                              stratify=y, random_state=seed)
    mean, std = x_tr.mean(0), x_tr.std(0) + 1e-6
    f = torch.get_default_dtype()
    return Split(torch.tensor((x_tr - mean) / std, dtype=f), torch.tensor(y_tr),
                 torch.tensor((x_te - mean) / std, dtype=f), torch.tensor(y_te))


def mlp(seed: int, *hidden: int) -> nn.Module:
    torch.manual_seed(seed)
    sizes = (64, *hidden)
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], N_CLASSES))


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return float((model(x).argmax(-1) == y).float().mean())


def flip_labels(y: torch.Tensor, rate: float, seed: int) -> torch.Tensor:
    """Flip ``round(rate * n)`` labels, each to a uniformly drawn *different* class."""
    gen = torch.Generator().manual_seed(seed)
    n = y.shape[0]
    flipped = torch.randperm(n, generator=gen)[: round(rate * n)]
    shift = torch.randint(1, N_CLASSES, (flipped.numel(),), generator=gen)
    noisy = y.clone()
    noisy[flipped] = (y[flipped] + shift) % N_CLASSES
    return noisy


def complementary_labels(y: torch.Tensor, seed: int) -> torch.Tensor:
    """One uniformly drawn wrong class per item."""
    gen = torch.Generator().manual_seed(seed)
    return (y + torch.randint(1, N_CLASSES, y.shape, generator=gen)) % N_CLASSES


# --------------------------------------------------------------------------- experiments
def run_elr(seed: int, epochs: int = 150, hidden: tuple[int, ...] = (128,),
            noise: float = 0.4) -> dict[str, float]:
    """Test accuracy after the last epoch (no early stopping) with 40% flipped labels."""
    s = digits_split(seed)
    noisy = flip_labels(s.y_train, noise, seed)
    out = {}
    for name, loss in [("cross-entropy", nn.CrossEntropyLoss()),
                       ("ELR (beta 0.7, lambda 3)", ELRLoss(len(noisy), N_CLASSES, lam=3.0,
                                                           beta=0.7))]:
        model = mlp(seed, *hidden)
        fit(model, (s.x_train, noisy), loss, epochs=epochs, lr=1e-3, batch_size=64, seed=seed,
            device="cpu")
        out[name] = accuracy(model, s.x_test, s.y_test)
    return out


class PlusCE(nn.Module):
    """``CE(student, target) + factor * distill(student, teacher, target)``; ``factor`` is
    set by a callback for DKD's linear warm-up."""

    def __init__(self, distill: nn.Module) -> None:
        super().__init__()
        self.distill, self.factor = distill, 1.0

    def forward(self, student: torch.Tensor, teacher: torch.Tensor,
                target: torch.Tensor) -> torch.Tensor:
        ce = nn.functional.cross_entropy(student, target)
        return ce + self.factor * self.distill(student, teacher, target)


def run_kd(seed: int, epochs: int = 200, fraction: float = 0.1, student: tuple[int, ...] = (16,),
           teacher_epochs: int = 60) -> dict[str, float]:
    """Teacher MLP-256 on the full training set; the student (MLP-16) on a stratified 10%
    of it, with hard labels or with the teacher's logits on those items."""
    from sklearn.model_selection import train_test_split

    s = digits_split(seed)
    teacher = mlp(seed + 1000, 256)
    fit(teacher, (s.x_train, s.y_train), nn.CrossEntropyLoss(), epochs=teacher_epochs,
        lr=1e-3, batch_size=64, seed=seed, device="cpu")
    teacher.eval()
    rows, _ = train_test_split(np.arange(len(s.y_train)), train_size=fraction,
                               stratify=s.y_train.numpy(), random_state=seed)
    x, y = s.x_train[rows], s.y_train[rows]
    with torch.no_grad():
        t_logits = teacher(x)
    out = {"teacher (full data)": accuracy(teacher, s.x_test, s.y_test)}
    warm = max(epochs // 10, 1)
    runs: list[tuple[str, Any, dict[str, Any]]] = [
        ("student, hard labels (CE)", nn.CrossEntropyLoss(), {}),
        ("student, KD (T 4, alpha 0.9)", KDLoss(temperature=4.0, alpha=0.9),
         {"teacher": t_logits}),
        ("student, CE + NKD (T 1, gamma 1.5)", PlusCE(NKDLoss(temperature=1.0, gamma=1.5)),
         {"teacher": t_logits, "call": "distill"}),
        (f"student, CE + DKD (alpha 1, beta 8, T 4, warm-up {warm} ep.)",
         PlusCE(DKDLoss(alpha=1.0, beta=8.0, temperature=4.0)),
         {"teacher": t_logits, "call": "distill"}),
    ]
    for name, loss, extra in runs:
        model = mlp(seed, *student)
        callbacks = []
        if isinstance(loss, PlusCE) and isinstance(loss.distill, DKDLoss):
            loss.factor = 1.0 / warm

            def ramp(record: dict[str, Any], _: nn.Module, loss: PlusCE = loss) -> None:
                loss.factor = min((record["epoch"] + 1) / warm, 1.0)

            callbacks.append(ramp)
        fit(model, (x, y), loss, epochs=epochs, lr=1e-3, batch_size=32, seed=seed,
            device="cpu", callbacks=callbacks, **extra)
        out[name] = accuracy(model, s.x_test, s.y_test)
    return out


def run_cll(seed: int, epochs: int = 150, hidden: tuple[int, ...] = (128,)) -> dict[str, float]:
    """Only one complementary label per training item (uniform over the wrong classes)."""
    s = digits_split(seed)
    comp = complementary_labels(s.y_train, seed)
    out = {}
    for name, loss in [("SCL-NL", SCLNLLoss()), ("SCL-EXP", SCLEXPLoss()),
                       ("URE-GA", UREGALoss()), ("forward (uniform Q)", ForwardCorrectionLoss()),
                       ("PC", PCLoss())]:
        model = mlp(seed, *hidden)
        fit(model, (s.x_train, comp), loss, epochs=epochs, lr=1e-3, weight_decay=1e-4,
            batch_size=128, seed=seed, device="cpu")
        out[name] = accuracy(model, s.x_test, s.y_test)
    return out


def make_bags(y: torch.Tensor, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random bags of ``size`` items (the remainder is dropped): item rows ``(n_bags, size)``
    and class proportions ``(n_bags, C)``."""
    gen = torch.Generator().manual_seed(seed)
    n_bags = y.shape[0] // size
    rows = torch.randperm(y.shape[0], generator=gen)[: n_bags * size].reshape(n_bags, size)
    props = nn.functional.one_hot(y[rows], N_CLASSES).float().mean(dim=1)
    return rows, props


def run_dllp(seed: int, epochs: int = 200, hidden: tuple[int, ...] = (128,),
             bag_size: int = 16) -> dict[str, float]:
    """Bags of 16 with only their class proportions, against supervised training."""
    s = digits_split(seed)
    rows, props = make_bags(s.y_train, bag_size, seed)
    sup = mlp(seed, *hidden)
    fit(sup, (s.x_train[rows.flatten()], s.y_train[rows.flatten()]), nn.CrossEntropyLoss(),
        epochs=epochs, lr=1e-3, batch_size=4 * bag_size, seed=seed, device="cpu")
    model = mlp(seed, *hidden)
    fit(model, (s.x_train[rows], props), DLLPLoss(), epochs=epochs, lr=1e-3, batch_size=4,
        seed=seed, device="cpu")
    return {"supervised (true labels)": accuracy(sup, s.x_test, s.y_test),
            f"DLLP (bags of {bag_size}, proportions only)": accuracy(model, s.x_test, s.y_test)}


def simulate_crowd(y: np.ndarray, seed: int, n_workers: int = 30, per_item: int = 3,
                   accuracy_range: tuple[float, float] = (0.35, 0.8)) -> Any:
    """Answers from worker confusion matrices in the style of ``softlabels.datasets``:
    worker ``w`` is right with probability ``acc_w ~ U(accuracy_range)`` and otherwise
    answers a wrong class from its own Dirichlet(1) distribution (biased, not only noisy)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    k = N_CLASSES
    acc = rng.uniform(*accuracy_range, size=n_workers)
    wrong = rng.dirichlet(np.ones(k - 1), size=(n_workers, k))
    conf = np.zeros((n_workers, k, k))
    for t in range(k):
        others = [c for c in range(k) if c != t]
        conf[:, t, t] = acc
        conf[:, t, others] = (1 - acc)[:, None] * wrong[:, t, :]
    n = y.shape[0]
    workers = np.argsort(rng.random((n, n_workers)), axis=1)[:, :per_item].ravel()
    items = np.repeat(np.arange(n), per_item)
    cum = np.cumsum(conf, axis=2)[workers, y[items]]
    labels = np.minimum((rng.random(items.size)[:, None] > cum).sum(axis=1), k - 1)
    return pd.DataFrame({"item": items, "worker": workers, "label": labels})


def nll(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None))))


def run_crowd(seed: int, n_workers: int = 30, per_item: int = 3, C: float = 1.0
              ) -> dict[str, tuple[float, float]]:
    """LogisticRegression on crowd labels: (test NLL, test accuracy) per label source."""
    from sklearn.linear_model import LogisticRegression

    s = digits_split(seed)
    x_tr, x_te = s.x_train.double().numpy(), s.x_test.double().numpy()
    y_tr, y_te = s.y_train.numpy(), s.y_test.numpy()
    answers = simulate_crowd(y_tr, seed, n_workers, per_item)
    classes = list(range(N_CLASSES))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = softlabels.aggregate(answers, "dawid-skene", classes=classes)
        sv = softlabels.aggregate(answers, "soft-vote", classes=classes)
        mv = softlabels.aggregate(answers, "majority-vote", classes=classes)
    out = {}
    # majority vote with ties broken uniformly at random (not towards the first class)
    jitter = np.random.default_rng(seed).random(mv.probs.shape) * 1e-6
    mv_labels = (mv.probs + jitter).argmax(axis=1)
    hard = LogisticRegression(C=C, max_iter=2000).fit(x_tr, mv_labels)
    p = hard.predict_proba(x_te)
    out["majority-vote labels"] = (nll(p, y_te), float((p.argmax(1) == y_te).mean()))
    for name, soft in [("soft-vote soft labels", sv), ("Dawid-Skene soft labels", ds)]:
        clf = SoftLabelClassifier(LogisticRegression(C=C, max_iter=2000)).fit(x_tr, soft)
        p = clf.predict_proba(x_te)
        out[name] = (nll(p, y_te), float((p.argmax(1) == y_te).mean()))
    out["(Dawid-Skene argmax vs truth)"] = (float("nan"), float((ds.hard() == y_tr).mean()))
    out["(majority vote vs truth)"] = (float("nan"), float((mv_labels == y_tr).mean()))
    return out


# --------------------------------------------------------------------------- reporting
def table(results: dict[str, list], metric: str, baseline: str | None) -> str:
    base = results.get(baseline) if baseline else None
    rows = [[name, mean_std(vals), f"{min(vals):.3f} – {max(vals):.3f}",
             "–" if name == baseline else paired(vals, base)]
            for name, vals in results.items()]
    return markdown_table(["method", f"{metric} (mean ± std)", "min – max",
                           f"paired difference to {baseline or '–'}"], rows)


def _sklearn_version() -> str:
    import sklearn

    return sklearn.__version__


def main() -> None:
    args, seeds, only = evidence_args(__doc__.split("\n\n")[0], sections="elr,kd,cll,dllp,crowd")
    q = args.quick
    parts = [
        "## softlabels.train: evidence on digits (CPU)",
        "",
        environment() + f"; torch {torch.__version__}, scikit-learn {_sklearn_version()}; "
        "one torch and one BLAS thread",
        f"- Seeds: {seeds} (split 70/30 stratified, corruption, initialisation and batches). "
        "Inputs scaled to [0, 1] then standardised on the training set. Adam, lr 1e-3.",
    ]
    ep = {"elr": 40, "kd": 60, "cll": 40, "dllp": 50} if q else \
        {"elr": 150, "kd": 200, "cll": 150, "dllp": 200}
    sections: list[tuple[str, str, Callable[[int], dict[str, Any]], str]] = [
        ("elr", "1. 40% symmetric label noise: ELR vs cross-entropy",
         lambda s: run_elr(s, epochs=ep["elr"]),
         f"MLP 64-128-10, {ep['elr']} epochs, batch 64; 40% of the training labels flipped to "
         "a uniformly drawn other class; clean test accuracy after the last epoch (no early "
         "stopping)."),
        ("kd", "2. Distillation with limited data", lambda s: run_kd(s, epochs=ep["kd"]),
         "Teacher MLP 64-256-10 trained 60 epochs on the full training set (1257 items). "
         "Student MLP 64-16-10 trained on a stratified 10% of the training set (125 items), "
         f"{ep['kd']} epochs, batch 32: hard labels (CE) against the teacher's logits on the "
         "same items. KD is Hinton's mix (0.9 KD + 0.1 CE); NKD and DKD are added to the CE "
         "as in their official code."),
        ("cll", "3. Complementary labels only", lambda s: run_cll(s, epochs=ep["cll"]),
         "One uniformly drawn wrong class per training item, nothing else. MLP 64-128-10, "
         f"{ep['cll']} epochs, batch 128, weight decay 1e-4. Chance is 0.10."),
        ("dllp", "4. Label proportions only: DLLP, bags of 16",
         lambda s: run_dllp(s, epochs=ep["dllp"]),
         "The training set cut into random bags of 16 (78 bags; the 9 left over are dropped "
         "from both arms); DLLP sees only each bag's class proportions, the supervised arm "
         f"the true labels of the same items. MLP 64-128-10, {ep['dllp']} epochs, 4 bags (64 "
         "items) per batch."),
        ("crowd", "5. Crowd soft labels with SoftLabelClassifier(LogisticRegression)", run_crowd,
         "A simulated crowd on the training digits: 30 workers, 3 answers per item, worker "
         "accuracy U(0.35, 0.8), wrong answers from a worker-specific Dirichlet(1) confusion "
         "row. LogisticRegression(C=1) fitted on majority-vote labels (ties broken at "
         "random), and through SoftLabelClassifier (prune threshold 0.01) on soft-vote and "
         "Dawid-Skene soft labels; test NLL and accuracy on the clean test set. The last two "
         "rows give the label accuracy of the aggregates on the training items."),
    ]
    for key, title, runner, text in sections:
        if key not in only:
            continue
        res, sec = repeat(runner, seeds)
        if key == "crowd":
            base = [v[0] for v in res["majority-vote labels"]]
            rows = [[k, mean_std([v[0] for v in vals]), mean_std([v[1] for v in vals]),
                     "–" if k.startswith("(") or k == "majority-vote labels" else
                     paired([v[0] for v in vals], base, lower_is_better=True)]
                    for k, vals in res.items()]
            body = markdown_table(["labels", "test NLL (mean ± std)", "accuracy (mean ± std)",
                                   "paired NLL difference to majority vote"], rows)
        else:
            body = table(res, "test accuracy", BASELINES.get(key))
        parts += ["", f"### {title}", "", f"{text} {len(seeds)} seeds, {fmt_seconds(sec)} s.",
                  "", body]
    emit("\n".join(parts), args.output)


if __name__ == "__main__":
    main()
