"""Label errors (softlabels.audit.issues) and several annotators
(softlabels.audit.multiannotator) next to cleanlab, on the CIFAR-10 test set and on
synthetic label noise.

Truth for CIFAR-10: the items whose CIFAR-10H majority vote (ties to the lowest class)
differs from the given label (79 of 10,000). A second, independent check: the MTurk
study of Northcutt et al. (2021), in which 275 items were shown to five people each;
an item counts as confirmed when fewer than three of them chose the given label
(alone or together with the guessed one).

Synthetic noise, two families: five scikit-learn data sets (digits, iris, wine, breast
cancer, a make_classification set) with labels flipped uniformly at random or
class-conditionally at 10, 20 and 30 %, and 5-fold logistic-regression probabilities;
and a grid of Gaussian classes (class-conditional and instance-dependent noise,
calibrated and over-confident models). Every filter of ours and cleanlab's
``find_label_issues`` (its default and its main ``filter_by`` options) run side by side
on every set, and the default filter is chosen by leave-one-data-set-out over all of
them (CIFAR-10 included).

Run: python benchmarks/audit_label_errors.py [--output benchmarks/_out/audit_label_errors.md]
     [--repeats 5] [--quick]
"""

from __future__ import annotations

import json
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import ROOT, emit, environment, markdown_table, median_time, parser

from softlabels.audit import issues, multiannotator
from softlabels.core.annotations import Annotations

DATA = ROOT / ".." / "shared" / "data" / "cifar10"
CL_FILTERS = [
    "prune_by_noise_rate", "prune_by_class", "both", "confident_learning",
    "predicted_neq_given", "low_normalized_margin", "low_self_confidence",
]
CL_SCORES = ["self_confidence", "normalized_margin", "confidence_weighted_entropy"]


# ---------------------------------------------------------------------- metrics
def prf(mask: np.ndarray, truth: np.ndarray) -> tuple[int, int, float, float, float]:
    tp = int(np.sum(mask & truth))
    flagged = int(mask.sum())
    precision = tp / flagged if flagged else 0.0
    recall = tp / int(truth.sum())
    f1 = 2 * tp / (flagged + int(truth.sum()))
    return flagged, tp, precision, recall, f1


def ranking(truth: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """AUROC and average precision of ``-scores`` (low score = error)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    return float(roc_auc_score(truth, -scores)), float(average_precision_score(truth, -scores))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def ratio(ours: float, peer: float) -> str:
    return f"{peer / ours:.1f}x"


# ---------------------------------------------------------------------- data
def load_cifar(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    if not (folder / "pred_probs.npy").exists():
        raise SystemExit(f"CIFAR-10 data not found in {folder.resolve()} (see shared/data/README.md)")
    probs = np.load(folder / "pred_probs.npy")
    labels = np.load(folder / "given_labels.npy").astype(np.int64)
    counts = np.load(folder / "cifar10h_counts.npy")
    checked = pd.DataFrame(json.loads((folder / "mturk_verified.json").read_text()))
    votes = pd.DataFrame(list(checked["mturk"]))
    checked["confirmed"] = (votes["given"] + votes["both"]) < 3
    return probs, labels, counts, checked[["id", "confirmed"]]


def checked_precision(mask: np.ndarray, checked: pd.DataFrame) -> str:
    flagged = mask[checked["id"].to_numpy()]
    if not flagged.any():
        return "-"
    hit = checked["confirmed"].to_numpy()[flagged]
    return f"{hit.mean():.3f} ({hit.sum()}/{flagged.sum()})"


# ---------------------------------------------------------------------- CIFAR-10: filters and scores
Row = list[Any]


def filter_rows(probs, labels, truth, checked, repeats) -> tuple[list[Row], dict[str, np.ndarray]]:
    """One row per (library, filter); ratio = cleanlab time / softlabels time."""
    from cleanlab.filter import find_label_issues as cl_find

    rows, masks, times = [], {}, {}
    runs = [("softlabels", name, lambda f: issues.find_label_issues(labels, probs, filter_by=f))
            for name in issues.FILTERS]
    runs += [("cleanlab", name, lambda f: cl_find(labels, probs, filter_by=f, n_jobs=1))
             for name in CL_FILTERS]
    for lib, name, fn in runs:
        mask, t = median_time(lambda: fn(name), repeats)
        masks[f"{lib} {name}"], times[f"{lib} {name}"] = mask, t
        f, tp, p, r, f1 = prf(mask, truth)
        twin = times.get(f"softlabels {name}") if lib == "cleanlab" else None
        rows.append([lib, name, f, tp, f"{p:.3f}", f"{r:.3f}", f"{f1:.3f}",
                     checked_precision(mask, checked), ms(t), ratio(twin, t) if twin else "-"])
    return rows, masks


def score_rows(probs, labels, truth, repeats) -> tuple[list[Row], dict[str, tuple[float, float, float]]]:
    """One row per (library, score); ratio = cleanlab time / softlabels time."""
    from cleanlab.rank import get_label_quality_scores as cl_scores

    def ours(method: str, adjust: bool) -> np.ndarray:
        return issues.label_quality_scores(labels, probs, method=method, adjust_pred_probs=adjust)

    def peer(method: str, adjust: bool) -> np.ndarray:
        return cl_scores(labels, probs, method=method, adjust_pred_probs=adjust)

    rows, best = [], {}
    for lib, fn, methods in [("softlabels", ours, issues.SCORES), ("cleanlab", peer, CL_SCORES)]:
        for method in methods:
            for adjust in (False, True):
                if adjust and method in ("posterior", "confidence_weighted_entropy"):
                    continue
                scores, t = median_time(lambda: fn(method, adjust), repeats)
                auc, ap = ranking(truth, scores)
                name = method + (" (adjusted)" if adjust else "")
                twin = best.get(f"softlabels {name}") if lib == "cleanlab" else None
                rows.append([lib, name, f"{auc:.4f}", f"{ap:.4f}", ms(t),
                             ratio(twin[2], t) if twin else "-"])
                best[f"{lib} {name}"] = (auc, ap, t)

    def audit_rank() -> np.ndarray:
        """The order of ``audit_labels(...).sort_values(["is_issue", "score"], ...)``,
        without building the table: flagged items first, then by self-confidence."""
        flagged = issues.find_label_issues(labels, probs)
        order = np.lexsort((issues.label_quality_scores(labels, probs), ~flagged))
        rank = np.empty(labels.size)
        rank[order] = np.arange(labels.size)
        return rank

    rank, t = median_time(audit_rank, repeats)
    auc, ap = ranking(truth, rank)
    name = "audit_labels order (issues first, then self-confidence)"
    rows.append(["softlabels", name, f"{auc:.4f}", f"{ap:.4f}", ms(t), "-"])
    best[f"softlabels {name}"] = (auc, ap, t)
    return rows, best


def best_line(best: dict[str, tuple[float, float, float]], metric: int, label: str) -> str:
    parts = []
    for lib in ("softlabels", "cleanlab"):
        key = max((k for k in best if k.startswith(lib)), key=lambda k: best[k][metric])
        parts.append(f"{lib} `{key.split(' ', 1)[1]}` {best[key][metric]:.4f} "
                     f"({ms(best[key][2])} ms)")
    return f"- Best {label}: " + "; ".join(parts) + "."


def difference_note(probs, labels, truth, masks) -> list[str]:
    """What the default does differently from pruning by noise rate, and the previous
    default."""
    ours, prune = masks["softlabels posterior_count"], masks["softlabels prune_by_noise_rate"]
    old = masks["softlabels posterior"]
    est = issues.estimate_noise_matrix(labels, probs)
    return [
        f"- The default (`posterior_count`) flags as many items as our prune_by_noise_rate "
        f"({int(ours.sum())} and {int(prune.sum())}): for every cell of the confident joint, "
        "its count, but no more than the items labelled i whose top class is j. It spends "
        "that count on the items with the lowest posterior probability of their given label, "
        f"wherever they are: the two share {int(np.sum(ours & prune))} flags; the default "
        f"drops {int(np.sum(prune & ~ours))} ({int(np.sum(prune & ~ours & truth))} real errors) "
        f"and adds {int(np.sum(ours & ~prune))} ({int(np.sum(ours & ~prune & truth))} real).",
        f"- The previous default (`posterior`, flag when the posterior of the given label is "
        f"below 1/2) flags {int(old.sum())}, all of them also flagged by the default: "
        f"{bool(not np.any(old & ~ours))}.",
        f"- Estimated share of wrong labels: {est.noise_rate:.4f} (confident joint); the "
        f"CIFAR-10H truth says {truth.mean():.4f}: the model's own confusions inflate the count "
        "that every count-based filter flags.",
    ]


# ---------------------------------------------------------------------- synthetic noise
def synthetic(kind: str, rate: float, sep: float, sharpen: float, seed: int):
    """Gaussian classes, labels flipped class-conditionally ("cc") or on ambiguous items
    ("id"), out-of-sample probabilities of a 5-fold logistic regression; ``sharpen`` < 1
    makes the model over-confident (log-probabilities divided by it)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    rng = np.random.default_rng(seed)
    n, k, d = 6000, 8, 10
    prior = rng.dirichlet(np.full(k, 5.0))
    true = rng.choice(k, n, p=prior)
    means = rng.normal(size=(k, d)) * sep
    x = means[true] + rng.normal(size=(n, d))
    if kind == "cc":  # each class flips to two others
        noise = np.zeros((k, k))
        for j in range(k):
            r = rate * rng.uniform(0.5, 1.5)
            to = rng.choice([i for i in range(k) if i != j], size=2, replace=False)
            noise[to, j] = r * rng.dirichlet([3.0, 1.0])
            noise[j, j] = 1 - r
        cum = noise.cumsum(axis=0)[:, true].T
        given = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), k - 1)
    else:  # an annotator guessing from a blurred Bayes posterior, more often on ambiguous items
        loglik = -0.5 * ((x[:, None, :] - means[None]) ** 2).sum(-1) + np.log(prior)
        post = np.exp((loglik - loglik.max(1, keepdims=True)) / 3.0)
        post /= post.sum(1, keepdims=True)
        ambiguity = 1 - post[np.arange(n), true]
        flip = rng.random(n) < np.clip(rate * ambiguity / ambiguity.mean(), 0, 1)
        alt = post.copy()
        alt[np.arange(n), true] = 0
        alt /= np.maximum(alt.sum(1, keepdims=True), 1e-300)
        other = np.minimum((rng.random(n)[:, None] > alt.cumsum(1)).sum(1), k - 1)
        given = np.where(flip, other, true)
    model = LogisticRegression(max_iter=500)
    probs = cross_val_predict(model, x, given, cv=5, method="predict_proba")
    if sharpen != 1.0:
        logp = np.log(np.clip(probs, 1e-12, 1)) / sharpen
        probs = np.exp(logp - logp.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
    return given, probs, given != true


def synthetic_score_rows(sets) -> list[list[Any]]:
    """Ranking scores: mean AUROC and average precision over ``sets``, and the worst AUROC."""
    from cleanlab.rank import get_label_quality_scores as cl_scores

    scor: dict[str, list[tuple[float, float]]] = {}
    for _, _, labels, probs, truth in sets:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in issues.SCORES:
                scor.setdefault("softlabels " + name, []).append(
                    ranking(truth, issues.label_quality_scores(labels, probs, method=name)))
            for name in CL_SCORES:
                scor.setdefault("cleanlab " + name, []).append(
                    ranking(truth, cl_scores(labels, probs, method=name)))
    return [[k, *(f"{v:.4f}" for v in np.mean(v_, axis=0)), f"{np.min(np.array(v_)[:, 0]):.3f}"]
            for k, v_ in scor.items()]


# ---------------------------------------------------------------------- every set, side by side
LabelSet = tuple[str, str, np.ndarray, np.ndarray, np.ndarray]  # name, group, labels, probs, truth
CL_MAIN = ["prune_by_noise_rate", "prune_by_class", "both", "confident_learning",
           "predicted_neq_given"]
CL_DEFAULT = "cleanlab default (prune_by_noise_rate)"


def flip_labels(true: np.ndarray, k: int, kind: str, rate: float, rng) -> np.ndarray:
    """``uniform``: each label flips with probability ``rate`` to another class chosen
    uniformly. ``class``: true class j flips at rate ``r_j = rate * U(0.5, 1.5)`` (at most
    0.45) to one or two other classes, with unequal shares."""
    n = true.size
    if kind == "uniform":
        other = (true + rng.integers(1, k, n)) % k
        return np.where(rng.random(n) < rate, other, true)
    noise = np.zeros((k, k))
    for j in range(k):
        r = min(rate * rng.uniform(0.5, 1.5), 0.45)
        to = rng.choice([i for i in range(k) if i != j], size=min(2, k - 1), replace=False)
        noise[to, j] = r * (rng.dirichlet([3.0, 1.0]) if to.size == 2 else 1.0)
        noise[j, j] = 1 - r
    cum = noise.cumsum(axis=0)[:, true].T
    return np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), k - 1)


def sklearn_sets() -> list[LabelSet]:
    """Five small real or generated data sets x {uniform, class-conditional} x {10, 20, 30 %};
    probabilities out of sample, from a 5-fold standardised logistic regression."""
    from sklearn import datasets
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    bases = {name: (lambda f=f: (f().data, f().target)) for name, f in [
        ("digits", datasets.load_digits), ("iris", datasets.load_iris),
        ("wine", datasets.load_wine), ("breast_cancer", datasets.load_breast_cancer)]}
    bases["make_classification"] = lambda: datasets.make_classification(
        n_samples=3000, n_features=20, n_informative=8, n_classes=6, n_clusters_per_class=2,
        class_sep=1.0, random_state=0)
    out = []
    for b, (name, load) in enumerate(bases.items()):
        x, true = load()
        k = int(true.max()) + 1
        for kind in ("uniform", "class"):
            for rate in (0.1, 0.2, 0.3):
                rng = np.random.default_rng(1000 * b + int(rate * 100) + (7 if kind == "uniform" else 0))
                given = flip_labels(true, k, kind, rate, rng)
                model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
                folds = StratifiedKFold(5, shuffle=True, random_state=0)
                probs = cross_val_predict(model, x, given, cv=folds, method="predict_proba")
                out.append((f"{name} {kind} {int(rate * 100)}%", name, given, probs, given != true))
    return out


def gaussian_sets(quick: bool) -> list[LabelSet]:
    grid = [(kind, rate, sep, sharpen)
            for kind, rates in [("cc", (0.02, 0.1, 0.3)), ("id", (0.01, 0.03, 0.1))]
            for rate in rates for sep in (1.0, 2.0) for sharpen in (1.0, 0.3)]
    if quick:
        grid = grid[::4]
    out = []
    for i, (kind, rate, sep, sharpen) in enumerate(grid):
        labels, probs, truth = synthetic(kind, rate, sep, sharpen, seed=100 + i)
        model = "calibrated" if sharpen == 1.0 else "over-confident"
        out.append((f"gauss {kind} {rate:g} sep{sep:g} {model}", "gaussian", labels, probs, truth))
    return out


def ranked_flags(labels, probs, key: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` items with the lowest ``key`` among those whose top class is not the
    given label (by more than 1e-6, as every filter requires)."""
    rows = np.arange(labels.size)
    p_given = probs[rows, labels]
    others = probs.copy()
    others[rows, labels] = -1.0
    idx = np.flatnonzero(others.max(axis=1) > p_given + 1e-6)
    idx = idx[np.argsort(key[idx], kind="stable")][:max(count, 0)]
    mask = np.zeros(labels.size, dtype=bool)
    mask[idx] = True
    return mask


def candidate_masks(labels, probs) -> dict[str, np.ndarray]:
    """Every filter of ours, and the variants of the default that the choice weighed:
    the same posterior ranking with other counts, the same count with other rankings."""
    out = {name: issues.find_label_issues(labels, probs, filter_by=name) for name in issues.FILTERS}
    post = issues.label_quality_scores(labels, probs, method="posterior")
    cal = issues.compute_confident_joint(labels, probs)
    raw = issues.compute_confident_joint(labels, probs, calibrate=False)
    off = lambda c: int(np.rint(c.sum() - np.trace(c)))  # noqa: E731
    m = int(out["posterior_count"].sum())
    rows = np.arange(labels.size)
    runner_up = np.where(np.arange(probs.shape[1]) == labels[:, None], -1.0, probs).max(axis=1)
    out["posterior rank, calibrated joint count uncapped"] = ranked_flags(labels, probs, post, off(cal))
    out["posterior rank, raw joint count"] = ranked_flags(labels, probs, post, off(raw))
    out["posterior rank, expected count (sum of 1 - posterior)"] = ranked_flags(
        labels, probs, post, int(np.rint(np.sum(1.0 - post))))
    out["self-confidence rank, default's count"] = ranked_flags(labels, probs, probs[rows, labels], m)
    out["margin rank, default's count"] = ranked_flags(
        labels, probs, probs[rows, labels] - runner_up, m)
    return out


def cleanlab_masks(labels, probs) -> dict[str, np.ndarray]:
    from cleanlab.filter import find_label_issues as cl_find

    out = {CL_DEFAULT: cl_find(labels, probs, n_jobs=1)}
    for name in CL_MAIN[1:]:
        out[f"cleanlab {name}"] = cl_find(labels, probs, filter_by=name, n_jobs=1)
    return out


def evaluate(sets: list[LabelSet]) -> pd.DataFrame:
    """One row per (set, method): flagged, right, precision, recall, F1."""
    rows = []
    for name, group, labels, probs, truth in sets:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            masks = {**candidate_masks(labels, probs), **cleanlab_masks(labels, probs)}
        for method, mask in masks.items():
            flagged, tp, p, r, f1 = prf(np.asarray(mask, dtype=bool), truth)
            rows.append({"set": name, "group": group, "errors": int(truth.sum()),
                         "method": method, "flagged": flagged, "right": tp,
                         "precision": p, "recall": r, "f1": f1})
    return pd.DataFrame(rows)


def summary_rows(frame: pd.DataFrame, sets: list[str]) -> list[Row]:
    """Mean precision / recall / F1 per method over ``sets``, and on how many sets the
    method is at least as precise and at least as complete as cleanlab's default."""
    sub = frame[frame["set"].isin(sets)]
    ref = sub[sub["method"] == CL_DEFAULT].set_index("set")
    rows = []
    for method, g in sub.groupby("method", sort=False):
        g = g.set_index("set")
        p_ok = g["precision"] >= ref.loc[g.index, "precision"] - 1e-12
        r_ok = g["recall"] >= ref.loc[g.index, "recall"] - 1e-12
        rows.append([method, f"{g['precision'].mean():.3f}", f"{g['recall'].mean():.3f}",
                     f"{g['f1'].mean():.3f}", f"{g['f1'].min():.3f}", int(p_ok.sum()),
                     int(r_ok.sum()), int((p_ok & r_ok).sum())])
    return rows


def per_set_rows(frame: pd.DataFrame, methods: list[str]) -> list[Row]:
    rows = []
    for name, g in frame.groupby("set", sort=False):
        g = g.set_index("method")
        cells = [f"{int(g.loc[m, 'flagged'])} / {g.loc[m, 'precision']:.3f} / "
                 f"{g.loc[m, 'recall']:.3f} / {g.loc[m, 'f1']:.3f}" for m in methods]
        rows.append([name, int(g["errors"].iloc[0]), *cells])
    return rows


def loo_rows(frame: pd.DataFrame, candidates: list[str]) -> tuple[list[Row], list[str]]:
    """Leave one data set (group) out: choose the candidate with the best mean F1 over the
    sets of the other groups; score it on the held-out group, next to cleanlab's default."""
    mean_f1 = frame.pivot_table(index="set", columns="method", values="f1")
    group_of = frame.drop_duplicates("set").set_index("set")["group"]
    rows, chosen = [], []
    for group in group_of.unique():
        held = group_of.index[group_of == group]
        train = mean_f1.loc[group_of.index[group_of != group], candidates].mean()
        pick = str(train.idxmax())
        chosen.append(pick)
        out = frame[frame["set"].isin(held)].groupby("method")[["precision", "recall", "f1"]].mean()
        ours, peer = out.loc[pick], out.loc[CL_DEFAULT]
        rows.append([group, len(held), pick, f"{train.max():.3f}", f"{ours['precision']:.3f}",
                     f"{ours['recall']:.3f}", f"{ours['f1']:.3f}", f"{peer['precision']:.3f}",
                     f"{peer['recall']:.3f}", f"{peer['f1']:.3f}"])
    return rows, chosen


# ---------------------------------------------------------------------- several annotators
def simulate_crowd(counts: np.ndarray, seed: int, n_workers: int = 30):
    """Three distinct workers per image; a worker answers from the image's CIFAR-10H vote
    distribution with probability ``skill`` ~ U(0.4, 1), else uniformly at random.
    Also one spare answer per image from a fourth worker (for the relabelling round)."""
    rng = np.random.default_rng(seed)
    n, k = counts.shape
    skill = rng.uniform(0.4, 1.0, n_workers)
    workers = np.stack([rng.choice(n_workers, 4, replace=False) for _ in range(n)])
    dist = counts / counts.sum(axis=1, keepdims=True)

    def answer(items: np.ndarray, who: np.ndarray) -> np.ndarray:
        u = rng.random(items.size)[:, None]
        human = np.minimum((u > dist[items].cumsum(1)).sum(1), k - 1)
        guess = rng.integers(0, k, items.size)
        return np.where(rng.random(items.size) < skill[who], human, guess)

    item = np.repeat(np.arange(n), 3)
    worker = workers[:, :3].ravel()
    frame = pd.DataFrame({"item": item, "worker": worker, "label": answer(item, worker)})
    spare = pd.DataFrame({"item": np.arange(n), "worker": workers[:, 3]})
    spare["label"] = answer(spare["item"].to_numpy(), spare["worker"].to_numpy())
    accuracy = pd.Series(frame["label"].to_numpy() == counts.argmax(1)[item]).groupby(worker).mean()
    return frame, spare, accuracy


def wide(frame: pd.DataFrame, n_items: int) -> pd.DataFrame:
    """cleanlab's input: one row per item, one column per worker, NaN where no answer."""
    return frame.pivot(index="item", columns="worker", values="label").reindex(range(n_items))


def cleanlab_multi(table: pd.DataFrame, probs: np.ndarray) -> dict:
    from cleanlab.multiannotator import get_label_quality_multiannotator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_label_quality_multiannotator(table, probs, verbose=False)


def codes(frame: pd.DataFrame) -> np.ndarray:
    return frame["consensus_label"].to_numpy().astype(np.int64)


def multi_rows(probs, counts, repeats) -> dict[str, Any]:
    """Consensus, annotator quality and one relabelling round, ours next to cleanlab."""
    from cleanlab.multiannotator import get_active_learning_scores
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    n, k = probs.shape
    truth = counts.argmax(axis=1)
    frame, spare, accuracy = simulate_crowd(counts, seed=0)
    ann = Annotations.from_frame(frame, classes=list(range(k)))
    assert (ann.item_ids == np.arange(n)).all()  # items 0..n-1 in order: rows align with probs
    table = wide(frame, n)

    out0, t0 = median_time(lambda: multiannotator.consensus(ann), repeats)
    out1, t1 = median_time(lambda: multiannotator.consensus(ann, probs), repeats)
    res, tc = median_time(lambda: cleanlab_multi(table, probs), repeats)
    peer = res["label_quality"]
    wrong = codes(out1) != truth
    peer_wrong = peer["consensus_label"].to_numpy() != truth
    auc = roc_auc_score(wrong, -out1["consensus_quality"].to_numpy())
    peer_auc = roc_auc_score(peer_wrong, -peer["consensus_quality_score"].to_numpy())
    consensus = [
        ["majority vote (ties to the lowest class)", f"{np.mean(ann.counts.argmax(1) == truth):.4f}",
         "-", "-"],
        ["softlabels consensus, answers only", f"{np.mean(codes(out0) == truth):.4f}", "-", ms(t0)],
        ["softlabels consensus with the model", f"{1 - wrong.mean():.4f}", f"{auc:.4f}", ms(t1)],
        ["cleanlab get_label_quality_multiannotator", f"{1 - peer_wrong.mean():.4f}", f"{peer_auc:.4f}",
         ms(tc)],
        ["model alone (argmax)", f"{np.mean(probs.argmax(1) == truth):.4f}", "-", "-"],
    ]

    quality, tq = median_time(lambda: multiannotator.annotator_quality(ann, probs), repeats)
    stats = res["annotator_stats"]
    rho = spearmanr(quality["quality"], accuracy.loc[quality["worker"]]).correlation
    peer_rho = spearmanr(stats["annotator_quality"], accuracy.loc[stats.index]).correlation
    workers = [["softlabels annotator_quality", f"{rho:.4f}", ms(tq)],
               ["cleanlab annotator_stats (same call as above)", f"{peer_rho:.4f}", ms(tc)]]

    budget = 1000

    def peer_select() -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores, _ = get_active_learning_scores(table, probs)
        return np.argsort(scores, kind="stable")[:budget]

    ours_sel, ts = median_time(
        lambda: multiannotator.select_items_to_relabel(ann, probs, budget=budget), repeats
    )
    peer_sel, tp = median_time(peer_select, repeats)
    relabel = []
    for name, chosen, t in [
        ("softlabels select_items_to_relabel", np.asarray(ours_sel, dtype=np.int64), ms(ts)),
        ("cleanlab get_active_learning_scores", peer_sel, ms(tp)),
        ("random", np.random.default_rng(1).choice(n, budget, replace=False), "-"),
    ]:
        grown = pd.concat([frame, spare[spare["item"].isin(chosen)]], ignore_index=True)
        ours_after = codes(multiannotator.consensus(grown, probs, classes=list(range(k))))
        peer_after = cleanlab_multi(wide(grown, n), probs)["label_quality"]["consensus_label"]
        relabel.append([name, int(np.sum(wrong[chosen])), f"{np.mean(ours_after == truth):.4f}",
                        f"{np.mean(peer_after.to_numpy() == truth):.4f}", t])
    return {"consensus": consensus, "workers": workers, "relabel": relabel, "budget": budget}


# ---------------------------------------------------------------------- main
def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (median)")
    p.add_argument("--quick", action="store_true", help="a quarter of the synthetic grid")
    p.add_argument("--data", type=Path, default=DATA, help="folder with the CIFAR-10 files")
    p.add_argument("--skip-multi", action="store_true", help="leave out the several-annotators part")
    args = p.parse_args()

    probs, labels, counts, checked = load_cifar(args.data)
    truth = counts.argmax(axis=1) != labels
    reachable = int(np.sum(truth & (probs.argmax(1) != labels)))
    frows, masks = filter_rows(probs, labels, truth, checked, args.repeats)
    srows, best = score_rows(probs, labels, truth, args.repeats)
    skl, gauss = sklearn_sets(), gaussian_sets(args.quick)
    sets = [("CIFAR-10", "cifar10", labels, probs, truth), *skl, *gauss]
    frame = evaluate(sets)
    ours_names = list(issues.FILTERS)
    candidates = [m for m in frame["method"].unique() if not str(m).startswith("cleanlab")]
    loo, chosen = loo_rows(frame, candidates)
    syn_s = synthetic_score_rows(gauss)
    multi = multi_rows(probs, counts, args.repeats) if not args.skip_multi else None
    skl_names = [x[0] for x in skl]
    gauss_names = [x[0] for x in gauss]
    key_methods = ["posterior_count", CL_DEFAULT, "posterior", "cleanlab both"]
    summary_head = ["method", "precision", "recall", "F1", "worst F1", "sets P >= cleanlab",
                    "sets R >= cleanlab", "both"]
    long = frame.assign(**{c: frame[c].map("{:.3f}".format) for c in ("precision", "recall", "f1")})

    ours_f1 = prf(masks["softlabels posterior_count"], truth)[4]
    peer_best = max(CL_FILTERS, key=lambda f: prf(masks["cleanlab " + f], truth)[4])
    peer_f1 = prf(masks["cleanlab " + peer_best], truth)[4]

    md = [
        "## Label errors and several annotators (softlabels.audit.issues, .multiannotator vs cleanlab)",
        "",
        environment(),
        f"- Peer: cleanlab {metadata.version('cleanlab')} (`n_jobs=1`), scikit-learn "
        f"{metadata.version('scikit-learn')} for AUROC / average precision",
        "",
        f"### CIFAR-10 test set: filters ({labels.size:,} items; {int(truth.sum())} errors by the "
        f"CIFAR-10H majority; the model agrees with the given label on {int(truth.sum()) - reachable} "
        f"of them, so no filter on these probabilities can find more than {reachable})",
        "",
        f"Times: median of {args.repeats} runs, milliseconds, same process. *checked* = precision "
        "among the flagged items that were in the MTurk study (confirmed / flagged and checked).",
        "",
        markdown_table(["library", "filter", "flagged", "right", "precision", "recall", "F1",
                        "checked", "ms", "ratio"], frows),
        "",
        f"F1: softlabels `posterior_count` (the default) {ours_f1:.3f}; cleanlab's best filter "
        f"`{peer_best}` {peer_f1:.3f}.",
        "",
        *difference_note(probs, labels, truth, masks),
        "",
        "### CIFAR-10 test set: ranking scores (low score = error)",
        "",
        markdown_table(["library", "score", "AUROC", "average precision", "ms", "ratio"], srows),
        "",
        best_line(best, 0, "AUROC"),
        best_line(best, 1, "average precision"),
        "",
        "### Choosing the default filter: leave one data set out",
        "",
        f"Candidates: our filters ({', '.join(ours_names)}) and variants of the default "
        "(the posterior ranking with other estimates of the number of errors; the default's "
        "count with other rankings). For each data set left out (all its noise variants "
        "together), the candidate with the best mean F1 over the sets of the other data sets "
        "is chosen and scored on the one left out, next to cleanlab's default "
        f"({len(sets)} sets: CIFAR-10, {len(skl)} scikit-learn, {len(gauss)} Gaussian).",
        "",
        markdown_table(["left out", "sets", "chosen", "F1 on the others", "precision",
                        "recall", "F1", "cleanlab precision", "cleanlab recall", "cleanlab F1"],
                       loo),
        "",
        f"Chosen every time: {sorted(set(chosen))}.",
        "",
        f"### Synthetic label noise: scikit-learn data sets ({len(skl)} sets)",
        "",
        "digits, iris, wine, breast cancer and a make_classification set (3,000 items, 6 classes, "
        "two clusters each: a weak linear model), labels flipped uniformly or class-conditionally "
        "(each class to one or two others at 0.5-1.5 times the rate) at 10, 20 and 30 %; "
        "probabilities from 5-fold standardised logistic regression. Means over the sets; the last "
        "three columns count the sets on which a method's precision (recall) is at least "
        "cleanlab's default's.",
        "",
        markdown_table(summary_head, summary_rows(frame, skl_names)),
        "",
        f"### Synthetic label noise: Gaussian classes ({len(gauss)} sets)",
        "",
        "6,000 items, 8 Gaussian classes in 10 dimensions, labels flipped class-conditionally "
        "(cc: 2%, 10%, 30%) or on ambiguous items (id: 1%, 3%, 10%), class separation 1 or 2, "
        "5-fold logistic regression probabilities, calibrated or made over-confident "
        "(log-probabilities / 0.3).",
        "",
        markdown_table(summary_head, summary_rows(frame, gauss_names)),
        "",
        markdown_table(["score", "AUROC", "average precision", "worst AUROC"], syn_s),
        "",
        "### Per set: flagged / precision / recall / F1",
        "",
        markdown_table(["set", "errors", *key_methods], per_set_rows(frame, key_methods)),
        "",
        "<details><summary>Every method on every set</summary>",
        "",
        markdown_table(["set", "method", "errors", "flagged", "right", "precision", "recall", "F1"],
                       long[["set", "method", "errors", "flagged", "right", "precision", "recall",
                             "f1"]].values.tolist()),
        "",
        "</details>",
        "",
    ]
    if multi is not None:
        md += multi_section(multi)
    emit("\n".join(md), args.output)


def multi_section(multi: dict[str, Any]) -> list[str]:
    return [
        "",
        "### Several annotators: CIFAR-10H with three simulated annotators per image",
        "",
        "30 workers with skill ~ U(0.4, 1); each of three distinct workers per image answers "
        "from the image's CIFAR-10H vote distribution with probability equal to his skill, else "
        "at random. Truth: the CIFAR-10H majority. *AUROC* = consensus quality as a detector of "
        "a wrong consensus.",
        "",
        markdown_table(["method", "consensus accuracy", "AUROC", "ms"], multi["consensus"]),
        "",
        markdown_table(["annotator quality", "Spearman with true worker accuracy", "ms"],
                       multi["workers"]),
        "",
        f"Relabelling: {multi['budget']} images chosen by each method get one more answer (the same "
        "pre-drawn answer from a fourth worker for every method); accuracy of the consensus "
        "afterwards.",
        "",
        markdown_table(["selection", "chosen with a wrong consensus", "accuracy after (softlabels)",
                        "accuracy after (cleanlab)", "ms"], multi["relabel"]),
    ]


if __name__ == "__main__":
    main()
