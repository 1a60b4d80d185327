"""Evidence for three kinds of supervision: pairwise judgements, set-level labels and
label-only teachers, on small synthetic data on the CPU.

1. Pairwise judgements (LEGIT, Seth et al. 2023; Bradley–Terry 1952; Thurstone 1927):
   items with known true scores, noisy comparisons; Spearman of the recovered scores
   with the truth for Bradley–Terry and Thurstone against the win rate, for several
   numbers of comparisons per item; the quality of the threshold soft label
   P(score > 0) against a Beta posterior of the win rate.
2. Set-level labels (FACILE, Zhang et al. 2024): an instance encoder learned from the
   coarse labels of sets, judged by few-shot classification of the fine classes.
3. Label-only teachers (TAIL, Bhattacharyya & Tripathi 2024): a student distilled
   from a strong model that returns only labels, with several noisy "prompts" merged
   into soft labels, against the student trained on one raw hard label.

Run: python benchmarks/evidence_supervision.py [--output benchmarks/_out/evidence_supervision.md]
     [--seeds 5] [--only pairwise,sets,tail] [--quick]
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import numpy as np
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
from scipy.special import expit
from scipy.stats import beta as beta_dist
from scipy.stats import norm
from scipy.stats import spearmanr

from softlabels.infer.ratings import bradley_terry, pairwise_std_errors, thurstone, win_matrix


# --------------------------------------------------------------------------- 1. pairwise
N_ITEMS = 100
PER_ITEM = (2, 5, 10, 20)
FLIP = 0.1  # share of judgements that are coin flips (careless annotators)
L2 = 1.0  # the prior N(0, 1) that matches the generator of the true scores (stated, not tuned)


DESIGNS = ("random", "near")
NEAR = 25  # "near" opponents: within this many ranks of the item


def draw_pairs(rng: np.random.Generator, theta: np.ndarray, m: int, design: str
               ) -> tuple[np.ndarray, np.ndarray]:
    """``random``: both items uniform. ``near``: the opponent is one of the ``NEAR``
    items closest in true strength on either side (matchmaking, or LEGIT's pairs of
    perturbations of one word), where the win rate says little about the strength."""
    k = theta.size
    a = rng.integers(0, k, m)
    if design == "random":
        return a, (a + rng.integers(1, k, m)) % k
    rank = np.argsort(np.argsort(theta))
    by_rank = np.argsort(theta)
    offset = rng.integers(1, NEAR + 1, m) * rng.choice([-1, 1], m)
    other = np.clip(rank[a] + offset, 0, k - 1)
    other = np.where(other == rank[a], rank[a] - np.sign(offset), other)
    return a, by_rank[other]


L2_GRID = (0.01, 0.1, 1.0, 10.0)


def heldout_l2(rng: np.random.Generator, a: np.ndarray, b: np.ndarray, won: np.ndarray) -> float:
    """The l2 of ``L2_GRID`` whose Bradley–Terry fit on 80% of the comparisons gives the
    held-out 20% the highest log-likelihood (no true scores used)."""
    test = rng.random(a.size) < 0.2
    W = win_matrix(a[~test], b[~test], won[~test], n_items=N_ITEMS)

    def loglik(l2: float) -> float:
        t, _, _ = bradley_terry(W, l2=l2)
        p = expit(t[a[test]] - t[b[test]])
        return float(np.sum(won[test] * np.log(p) + (1 - won[test]) * np.log(1 - p)))

    return max(L2_GRID, key=loglik)


def run_pairwise(seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=N_ITEMS)
    truth = (theta > 0).astype(float)
    out: dict[str, Any] = {}
    for design in DESIGNS:
        for c in PER_ITEM:
            m = c * N_ITEMS // 2
            a, b = draw_pairs(rng, theta, m, design)
            won = rng.random(m) < expit(theta[a] - theta[b])
            coin = rng.random(m) < FLIP
            won = np.where(coin, rng.random(m) < 0.5, won)
            W = win_matrix(a, b, won.astype(float), n_items=N_ITEMS)
            wins, games = W.sum(axis=1), W.sum(axis=1) + W.sum(axis=0)
            rate = np.where(games > 0, wins / np.maximum(games, 1), 0.5)
            bt, _, _ = bradley_terry(W, l2=L2)
            th, _, _ = thurstone(W, l2=L2)
            split = np.random.default_rng([seed, c, DESIGNS.index(design)])
            tuned, _, _ = bradley_terry(W, l2=heldout_l2(split, a, b, won.astype(float)))
            se = pairwise_std_errors(W, bt, l2=L2)
            p_bt = norm.cdf(bt / se)
            p_rate = beta_dist.sf(0.5, wins + 1.0, games - wins + 1.0)  # P(win share > 1/2)
            key = f"{design}/{c}"
            out[f"{key}/spearman/win rate"] = spearmanr(rate, theta)[0]
            out[f"{key}/spearman/Bradley-Terry"] = spearmanr(bt, theta)[0]
            out[f"{key}/spearman/Thurstone"] = spearmanr(th, theta)[0]
            out[f"{key}/spearman/Bradley-Terry, held-out l2"] = spearmanr(tuned, theta)[0]
            out[f"{key}/brier/win rate"] = float(np.mean((p_rate - truth) ** 2))
            out[f"{key}/brier/Bradley-Terry"] = float(np.mean((p_bt - truth) ** 2))
            out[f"{key}/coverage"] = float(np.mean(np.abs(bt - theta) <= 1.96 * se))
    return out


def pairwise_section(seeds: list[int]) -> tuple[str, float]:
    res, sec = repeat(run_pairwise, seeds)
    rows = []
    for design in DESIGNS:
        for c in PER_ITEM:
            key = f"{design}/{c}"
            base = res[f"{key}/spearman/win rate"]
            for name in ("win rate", "Bradley-Terry", "Thurstone", "Bradley-Terry, held-out l2"):
                vals = res[f"{key}/spearman/{name}"]
                rows.append([design, c, name, mean_std(vals),
                             "–" if name == "win rate" else paired(vals, base)])
    spear = markdown_table(["opponents", "comparisons per item", "scores",
                            "Spearman with truth (mean ± std)", "paired difference to win rate"],
                           rows)
    rows = []
    for design in DESIGNS:
        for c in PER_ITEM:
            key = f"{design}/{c}"
            base, bt = res[f"{key}/brier/win rate"], res[f"{key}/brier/Bradley-Terry"]
            rows.append([design, c, mean_std(base), mean_std(bt),
                         paired(bt, base, lower_is_better=True),
                         mean_std(res[f"{key}/coverage"], 2)])
    brier = markdown_table(["opponents", "comparisons per item", "Brier, win rate (Beta posterior)",
                            "Brier, Bradley-Terry P(score > 0)",
                            "paired difference (lower is better)",
                            "coverage of score ± 1.96 s.e."], rows)
    return spear + "\n\n" + brier, sec


# --------------------------------------------------------------------------- 2. sets
N_FINE, SIGNAL, NUISANCE, SET_SIZE = 10, 10, 90, 5


def facile_data(rng: np.random.Generator, means: np.ndarray, n: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` instances of random fine classes: the class mean plus noise 0.5 in the
    signal dimensions, and nuisance dimensions of std 3."""
    fine = rng.integers(0, N_FINE, n)
    signal = means[fine] + rng.normal(0.0, 0.5, (n, SIGNAL))
    return np.hstack([signal, rng.normal(0.0, 3.0, (n, NUISANCE))]), fine


def episodes(features: np.ndarray, fine: np.ndarray, rng: np.random.Generator,
             n_tasks: int, shot: int = 5, query: int = 15) -> float:
    """Mean accuracy of 10-way ``shot``-shot episodes with logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    accs = []
    for _ in range(n_tasks):
        support, queries = [], []
        for c in range(N_FINE):
            idx = rng.choice(np.flatnonzero(fine == c), shot + query, replace=False)
            support.append(idx[:shot])
            queries.append(idx[shot:])
        s, q = np.concatenate(support), np.concatenate(queries)
        scale = StandardScaler().fit(features[s])
        clf = LogisticRegression(max_iter=1000).fit(scale.transform(features[s]), fine[s])
        accs.append(float((clf.predict(scale.transform(features[q])) == fine[q]).mean()))
    return float(np.mean(accs))


def random_encoder(X: np.ndarray, rng: np.random.Generator, hidden: tuple[int, ...]) -> np.ndarray:
    """The embeddings of an untrained encoder (the same Glorot-uniform initialisation)."""
    h = (X - X.mean(axis=0)) / X.std(axis=0)
    width = X.shape[1]
    for size in hidden:
        bound = np.sqrt(6.0 / (width + size))
        h = np.maximum(h @ rng.uniform(-bound, bound, (width, size)), 0.0)
        width = size
    return h


def run_sets(seed: int, n_sets: int = 1000, max_iter: int = 200, n_tasks: int = 100
             ) -> dict[str, float]:
    from softlabels.infer.bags import SetClassifier, as_set_labels

    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, 0.8, (N_FINE, SIGNAL))
    # sets of 5 instances of one coarse class (fine // 2), fine classes mixed
    coarse = rng.integers(0, N_FINE // 2, n_sets)
    fine = 2 * np.repeat(coarse, SET_SIZE) + rng.integers(0, 2, n_sets * SET_SIZE)
    X = np.hstack([means[fine] + rng.normal(0.0, 0.5, (fine.size, SIGNAL)),
                   rng.normal(0.0, 3.0, (fine.size, NUISANCE))])
    set_ids = np.repeat(np.arange(n_sets), SET_SIZE)
    X_eval, fine_eval = facile_data(rng, means, 3000)
    hidden = (64, 32)
    params = {"hidden_layer_sizes": hidden, "max_iter": max_iter, "random_state": seed}
    by_set = SetClassifier(**params).fit(as_set_labels(set_ids, coarse), X=X)
    by_item = SetClassifier(**params).fit(
        as_set_labels(np.arange(fine.size), fine // 2), X=X)
    feats = {
        "raw features": X_eval,
        "random-init encoder": random_encoder(X_eval, np.random.default_rng(seed), hidden),
        "set-level coarse labels (FACILE)": by_set.transform(X_eval),
        "instance-level coarse labels": by_item.transform(X_eval),
    }
    return {name: episodes(f, fine_eval, np.random.default_rng(seed + 100), n_tasks)
            for name, f in feats.items()}


def sets_section(seeds: list[int], quick: bool) -> tuple[str, float, dict]:
    fn = (lambda s: run_sets(s, 400, 60, 30)) if quick else run_sets
    res, sec = repeat(fn, seeds)
    base = res["raw features"]
    rows = [[name, mean_std(vals), "–" if name == "raw features" else paired(vals, base)]
            for name, vals in res.items()]
    return markdown_table(["encoder", "10-way 5-shot accuracy (mean ± std)",
                           "paired difference to raw features"], rows), sec, res


# --------------------------------------------------------------------------- 3. label-only
PROMPTS = 5
HALLUCINATE = 0.3  # share of answers sampled from the teacher's flattened distribution
GARBAGE = 0.03  # share of answers that are not a class name at all


def label_only_teacher(probs: np.ndarray, seed: int) -> Callable[[np.ndarray, int], str]:
    """A simulated large model that returns only a class name: usually its top class,
    with probability ``HALLUCINATE`` a sample from its distribution at temperature 3,
    sometimes text that names no class. The answer is a function of the input and the
    prompt (a fixed seed per question), as for a cached API call."""
    from softlabels.infer.teachers import input_key

    def answer(x: np.ndarray, prompt: int) -> str:
        row = int(x[-1])  # the item's row, carried as the last feature
        rng = np.random.default_rng([seed, int(input_key(x, prompt)[:12], 16)])
        u = rng.random()
        if u < GARBAGE:
            return "I cannot read this digit"
        if u < GARBAGE + HALLUCINATE:
            flat = probs[row] ** (1 / 3)
            return f" {rng.choice(probs.shape[1], p=flat / flat.sum())}"
        return f"{int(probs[row].argmax())} "

    return answer


def run_tail(seed: int, cache_dir: str) -> dict[str, Any]:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from softlabels.infer.teachers import CachedLabeller, TeacherLabels
    from softlabels.train import SoftLabelClassifier

    X, y = load_digits(return_X_y=True)
    rest, test = train_test_split(np.arange(y.size), test_size=0.33, stratify=y,
                                  random_state=seed)
    labelled, pool = train_test_split(rest, train_size=500, stratify=y[rest], random_state=seed)
    scale = StandardScaler().fit(X[rest])
    Xs = scale.transform(X)
    teacher = SVC(C=10, probability=True, random_state=seed).fit(Xs[labelled], y[labelled])
    probs = teacher.predict_proba(Xs[pool])
    inputs = [np.append(X[i], row) for row, i in enumerate(pool)]
    classes = [str(k) for k in range(10)]
    path = f"{cache_dir}/tail-{seed}.json"
    ask = label_only_teacher(probs, seed)
    labeller = CachedLabeller(ask, classes, prompts=range(PROMPTS), cache=path,
                              parse=str.strip)
    codes = labeller.label(inputs)
    stats = {"asked": labeller.n_asked_, "unknown": labeller.n_unknown_}
    rerun = CachedLabeller(ask, classes, prompts=range(PROMPTS), cache=path, parse=str.strip)
    assert (rerun.label(inputs) == codes).all()
    stats["cached on rerun"] = rerun.n_cached_

    def student(soft: np.ndarray, keep: np.ndarray | None = None) -> tuple[float, float]:
        keep = np.ones(len(pool), bool) if keep is None else keep
        clf = SoftLabelClassifier(LogisticRegression(max_iter=2000), prune_threshold=0.0)
        clf.fit(Xs[pool][keep], soft[keep])
        p = np.clip(clf.predict_proba(Xs[test]), 1e-12, 1.0)
        return (float((p.argmax(1) == y[test]).mean()),
                float(-np.log(p[np.arange(test.size), y[test]]).mean()))

    eye = np.eye(10)
    first = codes[:, 0]
    majority = np.array([np.bincount(r[r >= 0], minlength=10).argmax() if (r >= 0).any() else -1
                         for r in codes])
    out = {
        "one answer, hard label": student(eye[first], first >= 0),
        "one answer, label smoothing 0.1": student(
            TeacherLabels(n_classes=10).fit(first).soft_labels_.probs, first >= 0),
        f"{PROMPTS} answers, majority hard label": student(eye[majority], majority >= 0),
        f"{PROMPTS} answers, vote shares + smoothing 0.1 (TeacherLabels)": student(
            TeacherLabels(n_classes=10).fit(codes).soft_labels_.probs, (codes >= 0).any(1)),
        "(reference) teacher probabilities": student(probs),
        "(reference) true labels": student(eye[y[pool]]),
    }
    stats["teacher answer accuracy"] = float((codes[codes >= 0] ==
                                              np.repeat(y[pool], PROMPTS)[(codes >= 0).ravel()]).mean())
    stats["teacher top-1 accuracy"] = float((probs.argmax(1) == y[pool]).mean())
    return {**out, "stats": stats}


def tail_section(seeds: list[int]) -> tuple[str, float, dict]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        res, sec = repeat(lambda s: run_tail(s, tmp), seeds)
    stats = res.pop("stats")
    base = res["one answer, hard label"]
    rows = []
    for name, vals in res.items():
        acc, nll = [v[0] for v in vals], [v[1] for v in vals]
        ref = name.startswith("(") or vals is base
        rows.append([name, mean_std(acc), mean_std(nll),
                     "–" if ref else paired(acc, [b[0] for b in base]),
                     "–" if ref else paired(nll, [b[1] for b in base], lower_is_better=True)])
    table = markdown_table(["student trained on", "test accuracy (mean ± std)",
                            "test NLL (mean ± std)", "paired accuracy difference to one hard label",
                            "paired NLL difference"], rows)
    summary: dict[str, Any] = {k: [st[k] for st in stats] for k in stats[0]}
    vote = res[f"{PROMPTS} answers, vote shares + smoothing 0.1 (TeacherLabels)"]
    major = res[f"{PROMPTS} answers, majority hard label"]
    summary["vote minus majority accuracy"] = paired([v[0] for v in vote], [m[0] for m in major])
    summary["vote minus majority NLL"] = paired([v[1] for v in vote], [m[1] for m in major],
                                                lower_is_better=True)
    return table, sec, summary


def main() -> None:
    args, seeds, only = evidence_args(__doc__.split("\n\n")[0], sections="pairwise,sets,tail",
                                      torch_threads=False)
    parts = [
        "## New supervision: pairwise judgements, set-level labels, label-only teachers",
        "",
        environment() + "; one BLAS thread",
        f"- Seeds: {seeds}.",
    ]
    if "pairwise" in only:
        body, sec = pairwise_section(seeds)
        parts += [
            "", "### 1. Pairwise judgements: Bradley–Terry and Thurstone against the win rate", "",
            f"{N_ITEMS} items with true scores theta ~ N(0, 1). Each comparison pairs a "
            f"random item with a random opponent ('random') or with one of the {NEAR} items "
            "nearest in true strength on either side ('near': matchmaking, or LEGIT's pairs "
            "of perturbations of one word); the first wins with probability sigmoid(theta_a - theta_b), and "
            f"{FLIP:.0%} of the judgements are replaced by coin flips. Comparisons per item "
            f"{', '.join(map(str, PER_ITEM))}. Bradley–Terry and Thurstone are the MAP fits "
            f"with l2 = {L2:g} (the prior N(0, 1) of the generator, stated, not tuned; with 2 "
            "comparisons per item the maximum-likelihood scores do not exist); 'held-out l2' picks "
            f"l2 from {list(L2_GRID)} by the log-likelihood of 20% held-out comparisons, then "
            "refits on all. The second table "
            "scores the soft label 'above the average item' (true: theta > 0): Bradley–Terry's "
            "P(score > 0) from the normal approximation, against P(win share > 1/2) under the "
            "Beta(wins + 1, losses + 1) posterior of the win rate; the last column is the share "
            f"of true scores inside the Bradley–Terry intervals. {len(seeds)} seeds, "
            f"{fmt_seconds(sec)} s.", "", body, "",
            "**Reading:** yes for the claim that a pairwise model recovers scores better than "
            "counting wins: with random opponents Bradley–Terry and Thurstone beat the win "
            "rate by 0.01–0.03 Spearman (better in 3–5 of 5 seeds per budget), and the "
            "threshold soft label P(score > 0) has a lower Brier score than the win rate's "
            "Beta posterior in every setting and seed; with near-strength opponents the win "
            "rate carries no ranking signal (Spearman <= 0.05) while the models recover "
            "0.5–0.7 at 20 comparisons per item. Caveats: Thurstone beats Bradley–Terry with "
            "near opponents only because the same l2 is a weaker prior on its smaller probit "
            "scale (with l2 = 0.34 Bradley–Terry matches it); picking l2 by held-out "
            "comparisons does not help (it prefers strong priors that flatten the ranking with "
            "near opponents: 0.27 against 0.51 at 20 per item); and the intervals under-cover with near "
            "opponents (0.74–0.85 at 5+ comparisons: long comparison chains and coin-flip "
            "noise the model does not have). LEGIT's own figures (0.91 F1, 0.86 pair "
            "accuracy) need its images and TrOCR scorer and were not attempted.",
        ]
    if "sets" in only:
        body, sec, _ = sets_section(seeds, args.quick)
        parts += [
            "", "### 2. Set-level coarse labels (FACILE): few-shot fine classification", "",
            "The synthetic task of the method note: 10 fine classes with means N(0, 0.8^2) in "
            "10 signal dimensions (within-class noise 0.5) plus 90 nuisance dimensions of "
            "std 3; coarse class = fine // 2. Pretraining data: 1000 sets of 5 instances "
            "drawn from one coarse class (fine classes mixed), labelled only with the coarse "
            "class. SetClassifier: MLP 100-64-32, mean pooling, linear head, L-BFGS 200 "
            "iterations (the library's full-batch fit, not the note's Adam for 30 epochs), "
            "defaults otherwise. Evaluation on 3000 fresh instances: 100 episodes of 10-way "
            "5-shot with 15 queries per class, standardised embeddings and "
            "LogisticRegression(max_iter=1000); chance 0.10. Arms: raw features, an "
            "untrained encoder, the set-pretrained encoder, and the same encoder pretrained "
            "on the coarse label of every instance (the upper reference). "
            f"{len(seeds)} seeds, {fmt_seconds(sec)} s.", "", body, "",
            "**Reading:** yes, the direction of FACILE reproduced on the note's synthetic "
            "task: the encoder pretrained on set-level coarse labels lifts 10-way 5-shot "
            "accuracy over raw features and far over an untrained encoder in every seed, and "
            "closes about 70% of the gap to pretraining on instance-level coarse labels. The "
            "paper's histopathology figures (about +13% accuracy) were not attempted.",
        ]
    if "tail" in only:
        body, sec, st = tail_section(seeds)
        parts += [
            "", "### 3. Label-only teacher (TAIL): response-based distillation", "",
            "Digits, split per seed: 33% test (clean labels), 500 labelled images for the "
            "teacher, the rest (about 700) an unlabelled pool for the student. Teacher: "
            "SVC(C=10) with probabilities, wrapped as a simulated large model that returns "
            f"only a class name per (image, prompt): its top class, or with probability "
            f"{HALLUCINATE:g} a sample from its distribution at temperature 3, or with "
            f"probability {GARBAGE:g} text that names no class. Every question goes through "
            f"CachedLabeller ({PROMPTS} prompts, an on-disk cache, parse=str.strip, unknown "
            "answers dropped as abstentions). Student: LogisticRegression(max_iter=2000) "
            "through SoftLabelClassifier (prune_threshold 0) on the pool's standardised "
            "pixels; items without a valid answer are left out of the hard-label arms. "
            "Smoothing 0.1 is the usual default (not tuned). "
            f"Teacher top-1 accuracy on the pool {mean_std(st['teacher top-1 accuracy'])}, "
            f"accuracy of its answers {mean_std(st['teacher answer accuracy'])}; "
            f"{statistics.fmean(st['unknown']):.0f} of {statistics.fmean(st['asked']):.0f} "
            "answers per seed named no class and were dropped; the second labelling run "
            f"read all {statistics.fmean(st['cached on rerun']):.0f} answers from the cache "
            f"and asked nothing. {len(seeds)} seeds, {fmt_seconds(sec)} s.", "", body, "",
            f"Vote shares against the majority label of the same {PROMPTS} answers: accuracy "
            f"{st['vote minus majority accuracy']}, NLL {st['vote minus majority NLL']}.", "",
            "**Reading:** partly. Asking several prompts and merging the answers is what "
            "helps: 5 answers lift the student by about 0.11 accuracy over one hard answer "
            "(5/5 seeds) to within about 0.02 of training on the teacher's probabilities. "
            "Turning the answers into soft labels (vote shares with smoothing 0.1) adds no "
            "accuracy over their majority vote and gives a worse NLL here, because the "
            "simulated hallucinations put 30% of the vote on wrong classes; smoothing a "
            "single answer helps accuracy (+0.04) but not NLL. TAIL's claim (a student on "
            "par with its teacher) holds here only with several answers per item: with one "
            "noisy answer the student is 0.14 below the one trained on the teacher's "
            "probabilities.",
        ]
    emit("\n".join(parts), args.output)


if __name__ == "__main__":
    main()
