"""Category discovery on scikit-learn's digits: Happy's soft entropy regulariser and Active
GCD's query selection, with small MLPs on the CPU.

Digits 0-4 are the known classes: half of their training items are labelled. Digits 5-9 are
new: none of their items is labelled, and the model must discover them as clusters among the
unlabelled items. Accuracy is the clustering accuracy of generalized category discovery (one
Hungarian map of heads to classes over all items, then split into old and new classes:
``softlabels.audit.cluster_accuracy``) on a held-out test split.

1. A SimGCD-style parametric model (supervised CE on the labelled items plus self-distillation
   between two noisy views of every item) trained without an entropy term, with the plain
   me-max term (log C - H(mean prediction)) and with Happy's group-wise soft entropy
   (``SoftEntropyLoss``).
2. From the model with the plain me-max term: three query rounds of a small budget, chosen by
   Active GCD's adaptive novel sampling (``select(strategy="active-gcd")``), by margin
   uncertainty or at random; the queried labels are mapped into the head space by the
   Hungarian map of an EMA model (Active GCD's stable mapping) and trained on.

Run: python benchmarks/evidence_gcd.py [--output benchmarks/_out/evidence_gcd.md] [--seeds 5]
     [--quick]
"""

from __future__ import annotations

import _one_thread  # noqa: F401  (one BLAS thread; before numpy)

import copy
import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from _common import (
    emit,
    environment,
    evidence_args,
    fmt_seconds,
    markdown_table,
    mean_std,
    paired,
    verdict,
)
from torch import nn

from softlabels.audit import cluster_accuracy, hungarian_label_map, novelty_metrics
from softlabels.infer.teachers import select
from softlabels.train.nn import CosineHead, SoftEntropyLoss

N_OLD, N_CLASSES = 5, 10
STUDENT_T, TEACHER_T = 0.1, 0.05  # SimGCD / Happy temperatures (logits are cosines)
SUP_WEIGHT = 0.35  # SimGCD's balance of supervised and unsupervised terms
NOISE, DROP = 0.5, 0.2  # the two views: Gaussian noise on standardised pixels, pixel dropout
BASE_ARM = "plain me-max (weight 1)"  # the model the query experiment starts from
#: Happy's continual session: 8 known classes, 2 new ones, 80% of the known items labelled
CONT_OLD, CONT_LABELLED = 8, 0.8


def regularisers(num_old: int) -> dict[str, SoftEntropyLoss | None]:
    """The entropy terms compared (None: no term)."""
    return {
        "no entropy term": None,
        BASE_ARM: SoftEntropyLoss(num_old=None, temperature=STUDENT_T),
        "Happy soft entropy (2/1/1)": SoftEntropyLoss(num_old=num_old, temperature=STUDENT_T),
    }


# --------------------------------------------------------------------------- data and model
@dataclass
class GCDData:
    x: torch.Tensor  # training items (labelled and unlabelled)
    y: np.ndarray  # their true classes (only y[labelled] is seen in training)
    labelled: np.ndarray  # boolean mask
    x_test: torch.Tensor
    y_test: np.ndarray


def gcd_digits(seed: int, test_size: float = 0.3, labelled_share: float = 0.5,
               num_old: int = N_OLD) -> GCDData:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x / 16.0, y, test_size=test_size, stratify=y,
                                              random_state=seed)
    mean, std = x_tr.mean(0), x_tr.std(0) + 1e-6
    rng = np.random.default_rng(seed)
    labelled = np.zeros(len(y_tr), dtype=bool)
    for c in range(num_old):
        rows = np.flatnonzero(y_tr == c)
        labelled[rng.choice(rows, int(round(labelled_share * rows.size)), replace=False)] = True
    f = torch.get_default_dtype()
    return GCDData(torch.tensor((x_tr - mean) / std, dtype=f), y_tr, labelled,
                   torch.tensor((x_te - mean) / std, dtype=f), y_te)


def make_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 64),
                         CosineHead(64, N_CLASSES, scale=1.0))


def view(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    keep = (torch.rand(x.shape, generator=gen) > DROP).to(x.dtype)
    return x * keep + NOISE * torch.randn(x.shape, generator=gen)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    return torch.softmax(model(x) / STUDENT_T, dim=1)


def test_accuracy(model: nn.Module, data: GCDData,
                  num_old: int = N_OLD) -> tuple[float, float, float]:
    r = cluster_accuracy(data.y_test, predict(model, data.x_test).argmax(1).numpy(),
                         old_classes=range(num_old))
    return r.all, r.old, r.new


# --------------------------------------------------------------------------- training
def train(model: nn.Module, data: GCDData, targets: np.ndarray, known: np.ndarray,
          reg: SoftEntropyLoss | None, epochs: int, seed: int, *,
          ema: nn.Module | None = None, remap: dict[str, Any] | None = None) -> None:
    """SimGCD-style epochs: CE on the items with a target, self-distillation between two views
    of every item, and the entropy term ``reg`` on each batch's mean prediction.

    With ``remap``, the targets of the queried rows ``remap["rows"]`` are their true labels
    mapped into the head space at the start of every epoch, by the Hungarian map of ``ema``'s
    predictions on every labelled item (Active GCD's stable mapping); ``remap["raw"]`` skips
    the map.
    """
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = data.x.shape[0]
    tgt = torch.as_tensor(targets)
    for _ in range(epochs):
        if remap is not None and not remap["raw"]:
            rows = np.flatnonzero(known)
            heads = predict(ema, data.x[rows]).argmax(1).numpy()
            mapping = hungarian_label_map(heads, data.y[rows], n_heads=N_CLASSES)
            tgt[remap["rows"]] = torch.as_tensor(mapping[data.y[remap["rows"]]])
        model.train()
        for batch in torch.randperm(n, generator=gen).split(128):
            xa, xb = view(data.x[batch], gen), view(data.x[batch], gen)
            za, zb = model(torch.cat([xa, xb])).chunk(2)
            teacher = [torch.softmax(z.detach() / TEACHER_T, dim=1) for z in (zb, za)]
            distill = sum(-(t * F.log_softmax(z / STUDENT_T, dim=1)).sum(1).mean()
                          for t, z in zip(teacher, (za, zb))) / 2
            unsup = distill + (reg(torch.cat([za, zb])) if reg is not None else 0.0)
            lab = torch.as_tensor(known[batch.numpy()])
            sup = torch.zeros(())
            if lab.any():
                y = tgt[batch][lab]
                sup = (F.cross_entropy(za[lab] / STUDENT_T, y)
                       + F.cross_entropy(zb[lab] / STUDENT_T, y)) / 2
            loss = (1 - SUP_WEIGHT) * unsup + SUP_WEIGHT * sup
            opt.zero_grad()
            loss.backward()
            opt.step()
            if ema is not None:
                with torch.no_grad():
                    for pe, p in zip(ema.parameters(), model.parameters()):
                        pe.mul_(0.9).add_(p, alpha=0.1)  # Active GCD's EMA decay 0.9


# --------------------------------------------------------------------------- experiments
def run_entropy(seed: int, epochs: int) -> tuple[dict[str, tuple], dict[str, nn.Module], GCDData]:
    data = gcd_digits(seed)
    targets = np.where(data.labelled, data.y, -1)
    out, models = {}, {}
    for name, reg in regularisers(N_OLD).items():
        model = make_model(seed)
        train(model, data, targets, data.labelled, reg, epochs, seed)
        out[name] = test_accuracy(model, data)
        models[name] = model
    return out, models, data


def run_continual(seed: int, epochs: int) -> dict[str, tuple]:
    """Happy's continual setting in small: an offline stage trains on the labelled items of
    the ``CONT_OLD`` known classes; an online stage sees only unlabelled items (the other
    known-class items and every new-class item), no labels."""
    data = gcd_digits(seed, labelled_share=CONT_LABELLED, num_old=CONT_OLD)
    lab = np.flatnonzero(data.labelled)
    offline = GCDData(data.x[lab], data.y[lab], np.ones(lab.size, dtype=bool), data.x_test,
                      data.y_test)
    base = make_model(seed)
    train(base, offline, offline.y, offline.labelled, None, epochs, seed)
    unl = np.flatnonzero(~data.labelled)
    online = GCDData(data.x[unl], data.y[unl], np.zeros(unl.size, dtype=bool), data.x_test,
                     data.y_test)
    out = {"offline model (before the session)": test_accuracy(base, data, CONT_OLD)}
    for name, reg in regularisers(CONT_OLD).items():
        model = copy.deepcopy(base)
        train(model, online, np.full(unl.size, -1), online.labelled, reg, epochs, seed + 1)
        out[name] = test_accuracy(model, data, CONT_OLD)
    return out


QUERY_ARMS = ("no queries (same epochs)", "random", "margin uncertainty",
              "Active GCD (adaptive novel)", "Active GCD, raw labels (no mapping)")


def run_queries(seed: int, base: nn.Module, data: GCDData, per_round: int, rounds: int,
                epochs: int) -> dict[str, tuple]:
    """Each arm continues from a copy of ``base``: per round, query ``per_round`` unlabelled
    training items, add them (with mapped labels), train ``epochs`` epochs."""
    reg = regularisers(N_OLD)[BASE_ARM]
    out = {}
    for arm in QUERY_ARMS:
        model, ema = copy.deepcopy(base), copy.deepcopy(base)
        known = data.labelled.copy()
        targets = np.where(known, data.y, -1)
        queried: list[int] = []
        rng = np.random.default_rng(1000 + seed)
        for r in range(rounds):
            if arm != QUERY_ARMS[0]:
                probs = predict(model, data.x).numpy().astype(np.float64)
                pool = np.flatnonzero(~known)
                if arm == "random":
                    pick = select(probs, per_round, strategy="random", candidates=pool,
                                  random_state=rng)
                elif arm == "margin uncertainty":
                    pick = select(probs, per_round, candidates=pool)
                else:
                    pick = select(probs, per_round, strategy="active-gcd", candidates=pool,
                                  num_old=N_OLD, round_index=r)
                queried += pick.tolist()
                known[pick] = True
                targets[pick] = data.y[pick]
            remap = {"rows": np.array(queried, dtype=np.int64), "raw": "raw" in arm}
            train(model, data, targets, known, reg, epochs, seed + 100 * (r + 1), ema=ema,
                  remap=remap if queried else None)
        acc = test_accuracy(model, data)
        if queried:
            m = novelty_metrics(data.y[queried], num_old=N_OLD, num_new=N_CLASSES - N_OLD)
            novelty = (m.ratio, m.coverage, m.uniformity)
        else:
            novelty = (float("nan"),) * 3
        out[arm] = acc + novelty
    return out


def mapping_check(seed: int, base: nn.Module, data: GCDData, budget: int) -> tuple[float, float]:
    """Share of Active GCD's first queries whose raw label equals the head the model predicts,
    and the same after the Hungarian map (the point of the stable mapping)."""
    probs = predict(base, data.x).numpy().astype(np.float64)
    pick = select(probs, budget, strategy="active-gcd", candidates=np.flatnonzero(~data.labelled),
                  num_old=N_OLD)
    heads = probs.argmax(1)
    rows = np.concatenate([np.flatnonzero(data.labelled), pick])
    mapping = hungarian_label_map(heads[rows], data.y[rows], n_heads=N_CLASSES)
    raw = float((data.y[pick] == heads[pick]).mean())
    return raw, float((mapping[data.y[pick]] == heads[pick]).mean())


# --------------------------------------------------------------------------- reporting
def acc_table(results: dict[str, list[tuple]], baselines: list[str]) -> str:
    """Mean ± std of all / old / new accuracy, and the paired differences (all, new) to each
    baseline."""
    rows = []
    for name, vals in results.items():
        cols = list(zip(*vals))
        row = [name] + [mean_std(list(cols[i])) for i in range(3)]
        for b in baselines:
            base = list(zip(*results[b]))
            row += ["–" if name == b else paired(list(cols[i]), list(base[i])) for i in (0, 2)]
        rows.append(row)
    extra = [f"paired Δ {part} vs {b}" for b in baselines for part in ("all", "new")]
    return markdown_table(["method", "all (mean ± std)", "old", "new", *extra], rows)


def diff(results: dict[str, list[tuple]], arm: str, base: str, col: int) -> list[float]:
    """Per-seed differences ``arm - base`` of one column (0 all, 1 old, 2 new, 3 ratio...)."""
    return [a[col] - b[col] for a, b in zip(results[arm], results[base])]


def wins(d: list[float]) -> str:
    return f"better in {sum(x > 0 for x in d)}/{len(d)}"


def noise(d: list[float]) -> str:
    """Whether the mean paired difference is within one standard deviation of 0."""
    sd = statistics.stdev(d) if len(d) > 1 else 0.0
    return "within the seed noise" if abs(statistics.fmean(d)) <= sd else "beyond the seed noise"


def readings(ent: dict, cont: dict, qry: dict) -> tuple[str, str, str]:
    happy, agcd, raw = "Happy soft entropy (2/1/1)", QUERY_ARMS[3], QUERY_ARMS[4]
    d_none = diff(ent, happy, "no entropy term", 2)
    d_plain = diff(ent, happy, BASE_ARM, 2)
    sd_happy, sd_plain = (statistics.stdev([v[2] for v in ent[k]]) if len(ent[k]) > 1 else 0.0
                          for k in (happy, BASE_ARM))
    one = (f"**Reading:** an entropy term is what keeps the new classes alive: without one the "
           f"model puts the unlabelled items in the known classes (new-class accuracy "
           f"{mean_std([v[2] for v in ent['no entropy term']])}). Happy's soft entropy beats "
           f"no term on new classes: {verdict(d_none)} ({mean_std(d_none)}, {wins(d_none)}). "
           f"With as many known as new classes, Happy's old/new split and plain me-max aim at "
           f"the same 50/50 split; against plain me-max the gain on new classes is "
           f"{verdict(d_plain)}: {mean_std(d_plain)}, {wins(d_plain)}, {noise(d_plain)} "
           f"(new-class std over seeds {sd_happy:.3f} for Happy, {sd_plain:.3f} for plain).")
    c_plain, c_all = diff(cont, happy, BASE_ARM, 2), diff(cont, happy, BASE_ARM, 0)
    off = "offline model (before the session)"
    old_drop = {k: statistics.fmean(diff(cont, k, off, 1)) for k in (BASE_ARM, happy)}
    two = (f"**Reading:** Happy's claim, that the group-wise term finds the new classes better "
           f"than plain me-max when the known classes outnumber the new ones: "
           f"{verdict(c_plain)} on new classes ({mean_std(c_plain)}, {wins(c_plain)}, "
           f"{noise(c_plain)}; per seed {min(c_plain):+.3f} to {max(c_plain):+.3f}), all "
           f"classes {mean_std(c_all)} ({wins(c_all)}). Plain me-max aims at 2/10 of the mass "
           f"for the two new classes, which are 3/4 of the session's items; Happy's split term "
           f"aims at 1/2. Both forget known classes (old accuracy "
           f"{old_drop[BASE_ARM]:+.3f} plain, {old_drop[happy]:+.3f} Happy, from the offline "
           "model), which Happy's other parts, not built here, address.")
    q_all, q_new = diff(qry, agcd, "random", 0), diff(qry, agcd, "random", 2)
    q_ratio = diff(qry, agcd, "random", 3)
    q_margin = diff(qry, agcd, "margin uncertainty", 0)
    m_all = diff(qry, agcd, raw, 0)
    three = (f"**Reading:** Active GCD's selection picks what it is built to pick: its queries "
             f"are almost all new-class ({mean_std([v[3] for v in qry[agcd]])} against "
             f"{mean_std([v[3] for v in qry['random']])} for random; {verdict(q_ratio)}) and "
             f"spread evenly over the new classes. Accuracy over random queries at this budget: "
             f"{verdict(q_all)}, all {mean_std(q_all)} ({wins(q_all)}, {noise(q_all)}), new "
             f"{mean_std(q_new)} ({wins(q_new)}); against margin queries, all "
             f"{mean_std(q_margin)} ({wins(q_margin)}). The stable mapping against raw labels: "
             f"{verdict(m_all)}, all {mean_std(m_all)} ({wins(m_all)}).")
    return one, two, three


def novelty_table(results: dict[str, list[tuple]]) -> str:
    rows = []
    for name, vals in results.items():
        if np.isnan(vals[0][3]):
            continue
        cols = list(zip(*vals))
        rows.append([name] + [mean_std(list(cols[i])) for i in (3, 4, 5)])
    return markdown_table(["queries", "novel ratio", "novel coverage",
                           f"novel uniformity (max {np.log(N_CLASSES - N_OLD):.3f})"], rows)


def main() -> None:
    args, seeds, _ = evidence_args(__doc__.split("\n\n")[0], blas_threads=False)
    epochs, al_epochs = (15, 4) if args.quick else (60, 10)
    per_round, rounds = 20, 3
    start = time.perf_counter()
    ent: dict[str, list] = {}
    cont: dict[str, list] = {}
    qry: dict[str, list] = {}
    maps: list[tuple[float, float]] = []
    t_ent = t_cont = t_qry = 0.0
    for seed in seeds:
        t0 = time.perf_counter()
        res, models, data = run_entropy(seed, epochs)
        t1 = time.perf_counter()
        for k, v in res.items():
            ent.setdefault(k, []).append(v)
        maps.append(mapping_check(seed, models[BASE_ARM], data, per_round))
        for k, v in run_queries(seed, models[BASE_ARM], data, per_round, rounds,
                                al_epochs).items():
            qry.setdefault(k, []).append(v)
        t2 = time.perf_counter()
        for k, v in run_continual(seed, epochs).items():
            cont.setdefault(k, []).append(v)
        t_ent, t_qry = t_ent + t1 - t0, t_qry + t2 - t1
        t_cont += time.perf_counter() - t2
        print(f"  seed {seed} done ({time.perf_counter() - start:.0f} s)", flush=True)
    raw, mapped = zip(*maps)
    read_ent, read_cont, read_qry = readings(ent, cont, qry)
    n_lab = int(gcd_digits(0).labelled.sum())
    parts = [
        "## Category discovery: Happy's soft entropy and Active GCD selection",
        "",
        environment() + f"; torch {torch.__version__}; one torch and one BLAS thread",
        f"- Data: digits, split 70/30 stratified by seed; classes 0-4 known, half of their "
        f"training items labelled ({n_lab} items), the other {1257 - n_lab} training items "
        "unlabelled (old and new classes 5-9). Accuracy: GCD clustering accuracy on the 540 "
        "held-out test items (one Hungarian map over all classes, then split into old / new).",
        f"- Model: MLP 64-256-64 and a cosine head with 10 outputs (logits / 0.1). Per batch of "
        f"128: 0.35 x CE on the labelled items + 0.65 x (self-distillation between two noisy "
        f"views, teacher temperature 0.05, + the entropy term on the batch's mean prediction), "
        f"as in SimGCD; Adam lr 1e-3. Seeds {seeds} (split, labelled subset, initialisation, "
        "views, batches). Hyper-parameters are the papers' defaults, none tuned here.",
        "",
        "### 1. Happy's soft entropy vs no entropy term (and the plain me-max term)",
        "",
        f"{epochs} epochs. Happy's term with the official code's default weights (old/new "
        "split 2, within old 1, within new 1, temperature 0.1); plain me-max `log C - H(p̄)` with "
        f"weight 1 (SimGCD / Happy offline). {len(seeds)} seeds, {fmt_seconds(t_ent)} s.",
        "",
        acc_table(ent, ["no entropy term", BASE_ARM]),
        "",
        read_ent,
        "",
        "### 1b. The same three in Happy's continual setting (8 known classes, 2 new)",
        "",
        f"Digits 0-7 known, 8-9 new. Offline stage: CE and self-distillation on 80% of the "
        f"known classes' training items (Happy's `prop_train_labels`), {epochs} epochs. Online "
        f"session from that model, {epochs} epochs, with no labels at all: the other 20% of "
        "the known-class items and every new-class item (new classes are 3/4 of the session's "
        "items), self-distillation plus the entropy term (Happy's num_old = 8). Happy's "
        "feature distillation, prototype sampling and clustering-guided head initialisation "
        "are not used: only the entropy term differs between the arms. Test accuracy over "
        f"all 10 classes. {len(seeds)} seeds, {fmt_seconds(t_cont)} s.",
        "",
        acc_table(cont, ["no entropy term", BASE_ARM]),
        "",
        read_cont,
        "",
        "### 2. Active GCD selection vs random and margin queries",
        "",
        f"From the model of section 1 with the plain me-max term (Active GCD builds on "
        f"SimGCD): {rounds} rounds of {per_round} queries from the unlabelled training items "
        f"(budget {rounds * per_round}, {rounds * per_round / (1257 - n_lab):.1%} of them), "
        f"{al_epochs} epochs of the same objective after each round with the queried items "
        "labelled. Queried labels are mapped into head indices every epoch by the Hungarian "
        "map of an EMA model (decay 0.9) on all labelled items (Active GCD's stable mapping); "
        "the last arm uses the raw labels. Active GCD: adaptive novel sampling, confident "
        "picks in rounds 0-1, uncertain ones in round 2 (`adaptive_round=2`). The first arm "
        f"trains the same epochs with no queries. {len(seeds)} seeds, {fmt_seconds(t_qry)} s.",
        "",
        acc_table(qry, ["random", QUERY_ARMS[0]]),
        "",
        "What was queried (true labels of the queried items; Active GCD's selection metrics):",
        "",
        novelty_table(qry),
        "",
        f"Stable mapping: of Active GCD's first {per_round} queries, the raw label equals the "
        f"head the model predicts for {mean_std(list(raw))} of them, and the Hungarian-mapped "
        f"label for {mean_std(list(mapped))}.",
        "",
        read_qry,
    ]
    emit("\n".join(parts), args.output)


if __name__ == "__main__":
    main()
