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
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import emit, environment, fmt_seconds, markdown_table, parser
from scipy.special import expit
from scipy.stats import beta as beta_dist
from scipy.stats import norm
from scipy.stats import spearmanr

from softlabels.infer.ratings import bradley_terry, pairwise_std_errors, thurstone, win_matrix


def mean_std(values: list[float], digits: int = 3) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.{digits}f} ± {sd:.{digits}f}"


def paired(values: list[float], base: list[float], lower_is_better: bool = False) -> str:
    """Mean ± std of the per-seed difference to the baseline, and in how many seeds it is
    better."""
    diff = [a - b for a, b in zip(values, base)]
    wins = sum(d < 0 if lower_is_better else d > 0 for d in diff)
    return f"{mean_std(diff)} (better in {wins}/{len(diff)})"


def repeat(fn: Callable[[int], dict[str, Any]], seeds: list[int]) -> tuple[dict[str, list], float]:
    start = time.perf_counter()
    results: dict[str, list] = {}
    for seed in seeds:
        for key, value in fn(seed).items():
            results.setdefault(key, []).append(value)
    return results, time.perf_counter() - start


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
            se = pairwise_std_errors(W, bt, l2=L2)
            p_bt = norm.cdf(bt / se)
            p_rate = beta_dist.sf(0.5, wins + 1.0, games - wins + 1.0)  # P(win share > 1/2)
            key = f"{design}/{c}"
            out[f"{key}/spearman/win rate"] = spearmanr(rate, theta)[0]
            out[f"{key}/spearman/Bradley-Terry"] = spearmanr(bt, theta)[0]
            out[f"{key}/spearman/Thurstone"] = spearmanr(th, theta)[0]
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
            for name in ("win rate", "Bradley-Terry", "Thurstone"):
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


def main() -> None:
    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--only", default="pairwise,sets,tail")
    p.add_argument("--quick", action="store_true", help="fewer epochs (a smoke run)")
    args = p.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    seeds = list(range(args.seeds))
    only = set(args.only.split(","))
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
            "comparisons per item the maximum-likelihood scores do not exist). The second table "
            "scores the soft label 'above the average item' (true: theta > 0): Bradley–Terry's "
            "P(score > 0) from the normal approximation, against P(win share > 1/2) under the "
            "Beta(wins + 1, losses + 1) posterior of the win rate; the last column is the share "
            f"of true scores inside the Bradley–Terry intervals. {len(seeds)} seeds, "
            f"{fmt_seconds(sec)} s.", "", body,
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
            f"{len(seeds)} seeds, {fmt_seconds(sec)} s.", "", body,
        ]
    emit("\n".join(parts), args.output)


if __name__ == "__main__":
    main()
