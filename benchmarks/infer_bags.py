"""Learning from bags with softlabels.infer.bags.

1. Label proportions on breast cancer (scikit-learn's load_breast_cancer): random bags of
   8 and 32 training items, only each bag's count of positives given. LLP-BP (belief
   propagation pseudo-labels, then a learner; Havaldar et al., ICLR 2024) against DLLP
   (Ardehaly & Culotta 2017) and the same learners trained on the true labels. The paper
   claims LLP-BP stays close to supervised learning and beats DLLP on large bags.
2. Bag scores on digits (WeakSTIL-like multiple-instance regression): each image has a
   hidden score (its digit / 9), bags only carry their mean score; how well do the
   recovered instance scores correlate with the hidden ones?

Run: python benchmarks/infer_bags.py [--output benchmarks/_out/infer_bags.md]
     [--seeds 30] [--mil-seeds 5]                      # ~20 min on two shared cores
"""

from __future__ import annotations

import _one_thread  # noqa: F401  (before numpy: one BLAS thread)

import statistics  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from importlib import metadata  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from _common import emit, environment, fmt_seconds, markdown_table, parser, timed  # noqa: E402

from softlabels.infer.bags import (  # noqa: E402
    DLLP,
    LLPBP,
    ConvergenceWarning,
    MILRegressor,
    as_bag_proportions,
    as_bag_scores,
)

BAG_SIZES = (8, 32)
SEED0 = 100  # the LLP-BP settings below were picked on seeds 0-5; these seeds are fresh


# ---------------------------------------------------------------------- LLP
def llp_split(seed: int, m: int) -> dict[str, np.ndarray]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    mean, std = Xtr.mean(0), Xtr.std(0)
    Xtr, Xte = (Xtr - mean) / std, (Xte - mean) / std
    keep = np.random.default_rng(seed).permutation(len(ytr))
    keep = keep[: len(keep) // m * m]  # equal bags, remainder dropped (as the official code)
    Xtr, ytr = Xtr[keep], ytr[keep]
    bag = np.arange(len(ytr)) // m
    return {"Xtr": Xtr, "ytr": ytr, "Xte": Xte, "yte": yte, "bag": bag,
            "counts": np.bincount(bag, ytr)}


LARGE_BAGS = {"sim_lambda": 3.0, "bag_lambda": 1.0, "damping": 0.9, "n_iter": 400}
CARDINALITY = {"bag_factor": "cardinality", "sim_lambda": 1.0, "bag_lambda": 10.0, "n_iter": 300}


def llp_methods() -> dict[str, Callable[[dict[str, np.ndarray], int, bool], Any]]:
    """name -> fit(data, seed, supervised) returning a model with predict_proba; with
    supervised=True the same learner is fitted on bags of one (the true labels)."""
    from sklearn.linear_model import LogisticRegression

    def bags(d: dict[str, np.ndarray], supervised: bool) -> tuple[np.ndarray, np.ndarray]:
        if supervised:
            return np.arange(len(d["ytr"])), d["ytr"]
        return d["bag"], d["counts"]

    def dllp(**kw: Any) -> Callable[..., Any]:
        def fit(d: dict[str, np.ndarray], seed: int, supervised: bool) -> Any:
            bag, counts = bags(d, supervised)
            return DLLP(random_state=seed, **kw).fit(as_bag_proportions(bag, counts=counts),
                                                     X=d["Xtr"])
        return fit

    def llpbp(**kw: Any) -> Callable[..., Any]:
        def fit(d: dict[str, np.ndarray], seed: int, supervised: bool) -> Any:
            bag, counts = bags(d, supervised)
            return LLPBP(random_state=seed, **kw).fit(as_bag_proportions(bag, counts=counts),
                                                      X=d["Xtr"])
        return fit

    return {
        "DLLP, linear": dllp(),
        "DLLP, MLP(64)": dllp(hidden_layer_sizes=(64,)),
        "LLP-BP, official settings, MLP(64), 2 rounds": llpbp(),
        "LLP-BP, official settings, LogisticRegression, 1 round": llpbp(
            estimator=LogisticRegression(max_iter=1000), n_rounds=1),
        "LLP-BP, large-bag settings (3, 1, damping 0.9), MLP(64), 2 rounds": llpbp(
            **LARGE_BAGS),
        "LLP-BP, cardinality bag factor (1, 10), MLP(64), 2 rounds": llpbp(**CARDINALITY),
        "LLP-BP, cardinality bag factor (1, 10), MLP(64), 1 round": llpbp(
            **CARDINALITY, n_rounds=1),
        "LLP-BP, cardinality bag factor (1, 10), LogisticRegression, 1 round": llpbp(
            **CARDINALITY, estimator=LogisticRegression(max_iter=1000), n_rounds=1),
    }


def mean_std(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
    arr = np.asarray(values) * scale
    return f"{arr.mean():.{digits}f} ± {arr.std():.{digits}f}"


def run_llp(seeds: list[int]) -> tuple[str, dict[tuple[int, str], list[float]],
                                      dict[tuple[int, str], list[float]]]:
    from sklearn.linear_model import LogisticRegression

    methods = llp_methods()
    acc: dict[tuple[int, str], list[float]] = {}
    pseudo: dict[tuple[int, str], list[float]] = {}
    conv: dict[tuple[int, str], list[bool]] = {}
    secs: dict[tuple[int, str], list[float]] = {}
    sup: dict[str, list[float]] = {}
    prior: dict[int, list[float]] = {}
    for m in BAG_SIZES:
        for seed in seeds:
            d = llp_split(seed, m)

            def test_acc(model: Any) -> float:
                return float((model.predict_proba(d["Xte"]).argmax(1) == d["yte"]).mean())

            bag_prior = (d["counts"] / m)[d["bag"]]
            prior.setdefault(m, []).append(float(((bag_prior > 0.5) == d["ytr"]).mean()))
            if m == BAG_SIZES[0]:
                lr = LogisticRegression(max_iter=1000).fit(d["Xtr"], d["ytr"])
                sup.setdefault("scikit-learn LogisticRegression", []).append(test_acc(lr))
                sup.setdefault("built-in linear (DLLP, bags of one)", []).append(
                    test_acc(methods["DLLP, linear"](d, seed, True)))
                mlp = methods["LLP-BP, official settings, MLP(64), 2 rounds"](d, seed, True)
                sup.setdefault("built-in MLP(64) (LLP-BP, bags of one)", []).append(test_acc(mlp))
            for name, fit in methods.items():
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", ConvergenceWarning)
                    model, seconds = timed(lambda: fit(d, seed, False))
                acc.setdefault((m, name), []).append(test_acc(model))
                secs.setdefault((m, name), []).append(seconds)
                if isinstance(model, LLPBP):
                    p = model.pseudo_labels_[0]
                    pseudo.setdefault((m, name), []).append(float(((p > 0.5) == d["ytr"]).mean()))
                    conv.setdefault((m, name), []).append(not any(
                        issubclass(w.category, ConvergenceWarning) for w in caught))

    n = len(seeds)
    lines = [
        "### Learning from label proportions: breast cancer",
        "",
        f"`sklearn.datasets.load_breast_cancer` (569 × 30), stratified 70/30 split per seed, "
        f"features standardised on the training part, the training items shuffled into bags "
        f"of m (remainder dropped; 12 bags of 32 or 49 of 8); only each bag's count of "
        f"positives is given. Instance-level test accuracy (%), mean ± std over {n} seeds "
        f"({seeds[0]}–{seeds[-1]}). LLP-BP's BP pseudo-label accuracy is on the training "
        f"items (first round); 'pseudo-labels < 90 %' counts the seeds where BP settled on poor "
        f"labels, 'BP converged' those whose every round converged.",
        "",
        "Supervised references (true instance labels, bag size 1):",
        "",
        markdown_table(["learner", "test accuracy %"],
                       [[k, mean_std(v)] for k, v in sup.items()]),
        "",
    ]
    rows = []
    for m in BAG_SIZES:
        rows.append([f"**m = {m}**", "", f"bag prior: {mean_std(prior[m])}", "", "", ""])
        for name in methods:
            key = (m, name)
            rows.append([
                name, mean_std(acc[key]),
                mean_std(pseudo[key]) if key in pseudo else "",
                f"{sum(a < 0.9 for a in pseudo[key])}/{n}" if key in pseudo else "",
                f"{sum(conv[key])}/{n}" if key in conv else "",
                fmt_seconds(statistics.median(secs[key])),
            ])
    lines += [
        markdown_table(["method", "test accuracy %", "BP pseudo-label accuracy %",
                        "pseudo-labels < 90 %", "BP converged", "fit s (median)"], rows),
        "",
    ]
    return "\n".join(lines), {**acc, **{(0, k): v for k, v in sup.items()}}, pseudo


def llp_verdict(acc: dict[tuple[int, str], list[float]],
                pseudo: dict[tuple[int, str], list[float]]) -> str:
    official = "LLP-BP, official settings, MLP(64), 2 rounds"
    sup = np.mean(acc[(0, "built-in MLP(64) (LLP-BP, bags of one)")])
    off8 = np.mean(acc[(8, official)])
    big = BAG_SIZES[-1]
    dllp = np.asarray(acc[(big, "DLLP, linear")])
    rows = []
    for (m, name), values in acc.items():
        if m == big and name.startswith("LLP-BP"):
            diff = 100 * (np.asarray(values) - dllp)
            rows.append([name, f"{diff.mean():+.1f} ± {diff.std():.1f}",
                         f"{int((diff > 0).sum())} / {int((diff < 0).sum())}"])
    best = max(rows, key=lambda r: float(r[1].split()[0]))
    ahead = float(best[1].split()[0]) > 0
    card = "LLP-BP, cardinality bag factor (1, 10), MLP(64), "
    two, one = np.mean(acc[(big, card + "2 rounds")]), np.mean(acc[(big, card + "1 round")])
    bad = pseudo[(big, card + "1 round")]
    rounds = (f"the second, embedding-refined round {'loses' if two < one else 'gains'} "
              f"{100 * abs(one - two):.1f} points ({100 * one:.1f} % after one round, "
              f"{100 * two:.1f} % after two).")
    lines = [
        "**Does the paper's claim reproduce here?**",
        "",
        f"- Bags of 8: LLP-BP with the official settings reaches {100 * off8:.1f} % against "
        f"{100 * sup:.1f} % for the same learner trained on the true labels "
        f"({100 * (sup - off8):.1f} points lower): "
        + ("close to supervised, as claimed." if sup - off8 <= 0.03 else "not within 3 points."),
        f"- Bags of {big}, LLP-BP minus DLLP (linear) test accuracy in points, paired by "
        "seed (mean ± std; seeds where LLP-BP is ahead / behind):",
        "",
        markdown_table(["LLP-BP variant", "minus DLLP, points", "ahead / behind"], rows),
        "",
        "- With the official settings (pairwise bag factor, lambdas 10, damping 0.5) "
        f"loopy BP oscillates at m = {big} and its pseudo-labels are near chance, so the "
        "claim does not reproduce as published. "
        + (f"The best variant tried is ahead of DLLP ({best[0]}: {best[1]} points); "
           if ahead else "No variant tried here beats DLLP on large bags; ")
        + f"with the cardinality factor {rounds} Its BP pseudo-labels stay below 90 % "
        f"accuracy on {sum(a < 0.9 for a in bad)} of {len(bad)} seeds: BP converges there, "
        "but to a poor fixed point.",
        "- The large-bag settings are the method note's (chosen on one split); the "
        "cardinality settings were picked from a small grid on seeds 0–5 with instance "
        "labels, so they are optimistic. Neither was tuned on the seeds above.",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------- MIL regression
def mil_data(seed: int, n_train_bags: int = 400, n_test_bags: int = 100) -> dict[str, Any]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    tr, te = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y, random_state=seed)

    def make(pool: np.ndarray, n_bags: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        items, bags = [], []
        by_class = [pool[y[pool] == c] for c in range(10)]
        for b in range(n_bags):
            size = int(rng.integers(20, 51))
            mix = rng.dirichlet(np.full(10, 0.3))
            classes = rng.choice(10, size=size, p=mix)
            items.append(np.array([rng.choice(by_class[c]) for c in classes]))
            bags.append(np.full(size, b))
        idx, bag = np.concatenate(items), np.concatenate(bags)
        truth = y[idx] / 9.0
        score = np.clip(np.bincount(bag, truth) / np.bincount(bag)
                        + rng.normal(0, 0.02, n_bags), 0, 1)
        return idx, bag, score

    train, test = make(tr, n_train_bags), make(te, n_test_bags)
    return {"X": X, "y": y, "train": train, "test": test}


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def r2(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(1 - ((pred - truth) ** 2).sum() / ((truth - truth.mean()) ** 2).sum())


def run_mil(seeds: list[int]) -> str:
    results: dict[str, dict[str, list[float]]] = {}
    for seed in seeds:
        d = mil_data(seed)
        X, y = d["X"], d["y"]
        idx, bag, score = d["train"]
        tidx, tbag, tscore = d["test"]
        fits = {
            "MILRegressor, MLP(64), mean pooling": lambda: MILRegressor(random_state=seed)
            .fit(as_bag_scores(bag, score), X=X[idx]),
            "MILRegressor, linear": lambda: MILRegressor(hidden_layer_sizes=(), random_state=seed)
            .fit(as_bag_scores(bag, score), X=X[idx]),
            "naive: every instance inherits its bag score, MLP(64)": lambda: MILRegressor(
                random_state=seed).fit(as_bag_scores(np.arange(len(idx)), score[bag]), X=X[idx]),
            "oracle: MLP(64) on the hidden instance scores": lambda: MILRegressor(
                random_state=seed).fit(as_bag_scores(np.arange(len(idx)), y[idx] / 9.0),
                                       X=X[idx]),
        }
        for name, fit in fits.items():
            model, seconds = timed(fit)
            pred = model.predict(X[tidx])
            bag_pred = np.bincount(tbag, pred) / np.bincount(tbag)
            r = results.setdefault(name, {})
            r.setdefault("r", []).append(pearson(pred, y[tidx] / 9.0))
            r.setdefault("mae", []).append(float(np.abs(pred - y[tidx] / 9.0).mean()))
            r.setdefault("bag_r2", []).append(r2(bag_pred, tscore))
            r.setdefault("s", []).append(seconds)
    lines = [
        "### Multiple-instance regression from bag scores (WeakSTIL-like): digits",
        "",
        "`sklearn.datasets.load_digits`; each image's hidden score is its digit / 9. 400 "
        "training bags of 20–50 images drawn from 70 % of the images with Dirichlet(0.3) "
        "class mixtures, bag score = mean hidden score + N(0, 0.02) noise; 100 test bags "
        "from the other 30 %. Only bag scores are used for training (except the oracle). "
        f"Instance Pearson r and MAE against the hidden scores of the test bags' images, "
        f"and bag-level R² on the test bags; mean ± std over {len(seeds)} seeds.",
        "",
        markdown_table(
            ["method", "instance r", "instance MAE", "test bag R²", "fit s (median)"],
            [[name, mean_std(r["r"], 1, 3), mean_std(r["mae"], 1, 3),
              mean_std(r["bag_r2"], 1, 3), fmt_seconds(statistics.median(r["s"]))]
             for name, r in results.items()],
        ),
        "",
        "The method note's run (an instance head 64-64-1 trained by Adam for 200 epochs) "
        "reported bag R² 0.955 and instance r 0.912 on a similar set-up.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=30)
    p.add_argument("--mil-seeds", type=int, default=5)
    args = p.parse_args()
    seeds = list(range(SEED0, SEED0 + args.seeds))
    llp, acc, pseudo = run_llp(seeds)
    mil = run_mil(list(range(args.mil_seeds)))
    versions = ", ".join(f"{pkg} {metadata.version(pkg)}" for pkg in ["scikit-learn"])
    text = "\n".join([
        "## softlabels.infer.bags: label proportions and bag scores",
        "",
        environment(),
        f"- Peers and data: {versions}; one BLAS thread.",
        "",
        llp,
        llp_verdict(acc, pseudo),
        mil,
    ])
    emit(text, args.output)


if __name__ == "__main__":
    main()
