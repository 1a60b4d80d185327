"""Every softlabels crowd model and crowd-kit's models on every categorical crowd data
set with ground truth: accuracy, NLL, Brier score, top-label and classwise ECE, fit time.

Data: ``<project root>/../shared/data/crowd/<name>/{answers,truth}.csv``; every folder with
a ``truth.csv`` is a set, except the numeric ``emotion`` (a rating task: its answers and
truth are scores, not categories).
Models: every registered source fitting on crowd answers
(``softlabels.list_sources(evidence="answers")``), plus parameter variants given as
``--configs "dawid-skene:alpha=0" "mace:method=em,n_restarts=5"``; crowd-kit's
MajorityVote, Wawa, ZeroBasedSkill, OneCoinDawidSkene, DawidSkene, GLAD, MACE, KOS, MMSR.

Run:  python benchmarks/crowd_suite.py --csv benchmarks/_out/crowd_suite.csv \\
          --output benchmarks/_out/crowd_suite.md
Tables only, from the CSV of an earlier run (no fits, about a second):
      python benchmarks/crowd_suite.py --from-csv benchmarks/_out/crowd_suite.csv \\
          --output benchmarks/_out/crowd_suite.md
(``crowd_defaults.py`` reads the CSV to choose the default by leave-one-set-out.)
"""

from __future__ import annotations

import csv
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from _common import ROOT, environment, markdown_table, median_time, parser, to_crowdkit, emit

import softlabels
from softlabels.audit.calibration import score_against_truth

DATA = ROOT.parent / "shared" / "data" / "crowd"
#: sets left out of the suite, with the reason
EXCLUDED = {"emotion": "numeric scores, not categories (a rating task)"}
#: crowd-kit classes run side by side
CROWDKIT = [
    "MajorityVote", "Wawa", "ZeroBasedSkill", "OneCoinDawidSkene", "DawidSkene",
    "GLAD", "MACE", "KOS", "MMSR",
]
#: softlabels method -> crowd-kit class of the same algorithm
SHARED = {
    "majority-vote": "MajorityVote", "wawa": "Wawa", "zero-based-skill": "ZeroBasedSkill",
    "one-coin-dawid-skene": "OneCoinDawidSkene", "dawid-skene": "DawidSkene",
    "glad": "GLAD", "mace": "MACE", "kos": "KOS", "mmsr": "MMSR",
}
#: crowd-kit models without probabilities (KOS: labels; MMSR: vote scores): not an NLL reference
NO_PROBABILITIES = ("KOS", "MMSR")
EPS = 1e-12  # probabilities are raised to at least EPS inside the NLL: a miss costs <= 27.6
N_BINS = 15
METRICS = ["accuracy", "nll", "brier", "ece", "classwise_ece"]
FIELDS = ["library", "method", "dataset", "n_items", *METRICS, "fit_s", "error"]
OURS, CK = "softlabels", "crowd-kit"


# ---------------------------------------------------------------------- data
def available_sets() -> list[str]:
    """Every categorical set with truth, in name order."""
    return sorted(
        d.name for d in DATA.iterdir()
        if (d / "truth.csv").is_file() and (d / "answers.csv").is_file() and d.name not in EXCLUDED
    )


def load(name: str) -> tuple[pd.DataFrame, pd.Series]:
    folder = DATA / name
    answers = pd.read_csv(folder / "answers.csv", dtype={"item": str, "worker": str, "label": str})
    truth = pd.read_csv(folder / "truth.csv", dtype={"item": str, "label": str})
    return answers, truth.set_index("item")["label"]


# ---------------------------------------------------------------------- models
def parse_config(text: str) -> tuple[str, str, dict[str, object]]:
    """``"dawid-skene:alpha=0,n_iter=50"`` -> (label, method, params), as
    :func:`softlabels.infer.registry.parse_spec` reads it."""
    from softlabels.infer.registry import parse_spec

    try:
        method, params = parse_spec(text)
    except ValueError as err:
        raise SystemExit(f"--configs {text!r}: {err}") from None
    if method not in softlabels.list_sources(evidence="answers"):
        raise SystemExit(
            f"--configs {text!r}: {method!r} is not a crowd source "
            f"({', '.join(softlabels.list_sources(evidence='answers'))})"
        )
    softlabels.create_source(method, **params)  # unknown or invalid parameters fail here
    label = method if not params else f"{method}:{','.join(f'{k}={v}' for k, v in params.items())}"
    return label, method, params


def check_unique(configs: Sequence[tuple[str, str, dict[str, object]]],
                 ck_models: Sequence[str]) -> None:
    """Every run named once: two rows for one (library, method, set) cannot be tabled, so
    a repeat (``--configs`` naming a model ``--methods`` already runs, or a class given
    twice to ``--crowdkit``) is refused before any fit."""
    for option, names in (("--methods/--configs", [c[0] for c in configs]),
                          ("--crowdkit", list(ck_models))):
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise SystemExit(f"{option}: {', '.join(repeated)} named more than once")


def ours(method: str, params: dict[str, object], answers: pd.DataFrame) -> pd.DataFrame:
    # create_source, not aggregate(method=...): a model may have a parameter named
    # ``method`` itself (MACE: "em" or "vb")
    model = softlabels.create_source(method, **params)
    soft = model.fit(softlabels.Annotations.from_frame(answers)).soft_labels_
    return pd.DataFrame(soft.probs, index=soft.item_ids, columns=soft.classes)


def crowdkit(cls_name: str, data: pd.DataFrame) -> pd.DataFrame:
    """crowd-kit's probabilities; MMSR's scores made a distribution; one-hot for KOS."""
    import crowdkit.aggregation as ck

    model = getattr(ck, cls_name)()
    if hasattr(model, "fit_predict_proba"):
        return model.fit_predict_proba(data)
    if hasattr(model, "fit_predict_score"):  # MMSR: weighted votes, normalised per task,
        scores = model.fit_predict_score(data).clip(lower=0.0)  # negative for bad workers
        return scores.div(scores.sum(axis=1), axis=0).fillna(1.0 / scores.shape[1])
    return pd.get_dummies(model.fit_predict(data)).astype(float)  # KOS: labels only


def aligned(probs: pd.DataFrame, truth: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The probabilities of the items that have a truth label, over the union of the
    classes given and true (a class the model does not output has probability 0), and
    the true classes' column numbers."""
    truth = truth[truth.index.isin(probs.index)]
    classes = pd.Index(sorted(set(probs.columns) | set(truth.unique()), key=str))
    p = probs.reindex(index=truth.index, columns=classes, fill_value=0.0).to_numpy(float)
    return p, classes.get_indexer(truth.to_numpy())


def tie_accuracy(probs: pd.DataFrame, truth: pd.Series) -> float:
    """Expected accuracy of the arg-max with ties broken uniformly at random: an item whose
    top probability is shared by m classes (equal within a relative 1e-9) scores 1/m when
    the true class is one of them. Both libraries are scored alike, whatever order they
    put tied classes in (crowd-kit's hard labels take the first class it met)."""
    p, y = aligned(probs, truth)
    tied = np.isclose(p, p.max(axis=1, keepdims=True), rtol=1e-9, atol=0.0)
    hit = tied[np.arange(len(p)), y]
    return float((hit / tied.sum(axis=1)).mean())


def evaluate(fit: Callable[[], pd.DataFrame], truth: pd.Series, repeats: int) -> dict[str, object]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            probs, seconds = median_time(fit, repeats, single_above=30.0)
        scored = score_against_truth(probs, truth, n_bins=N_BINS, eps=EPS)
        scored["accuracy"] = tie_accuracy(probs, truth)
    except Exception as err:  # noqa: BLE001 - recorded in the tables
        return {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:120]}" if str(err)
                else type(err).__name__}
    return {**scored, "fit_s": seconds}


# ---------------------------------------------------------------------- run
def run(
    sets: Sequence[str],
    configs: Sequence[tuple[str, str, dict[str, object]]],
    ck_models: Sequence[str],
    repeats: int,
    csv_path: Path | None,
) -> pd.DataFrame:
    """One row per (library, method, set); written to ``csv_path`` as it goes."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    rows: list[dict[str, object]] = []
    writer = None
    handle = None
    if csv_path is not None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        environment_path(csv_path).write_text(environment() + "\n")
        handle = csv_path.open("w", newline="")
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
    jobs = [(s, lib, label) for s in sets
            for lib, label in [(OURS, c[0]) for c in configs] + [(CK, m) for m in ck_models]]
    by_label = {c[0]: c for c in configs}
    console = Console(file=sys.stderr)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    try:
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("crowd suite", total=len(jobs))
            loaded: dict[str, tuple[pd.DataFrame, pd.Series, pd.DataFrame]] = {}
            for name, lib, label in jobs:
                bar.update(task, description=f"{name:14} {lib:10} {label[:34]:34}")
                if name not in loaded:
                    loaded.clear()
                    answers, truth = load(name)
                    loaded[name] = (answers, truth, to_crowdkit(answers))
                answers, truth, ck_data = loaded[name]
                if lib == OURS:
                    _, method, params = by_label[label]
                    result = evaluate(lambda: ours(method, params, answers), truth, repeats)
                else:
                    result = evaluate(lambda: crowdkit(label, ck_data), truth, repeats)
                row = {"library": lib, "method": label, "dataset": name, **result}
                rows.append(row)
                if writer is not None:
                    writer.writerow({k: _csv_value(row.get(k)) for k in FIELDS})
                    handle.flush()
                shown = (f"acc {row['accuracy']:.3f} nll {row['nll']:.3f}"
                         if "error" not in row else str(row["error"]))
                bar.console.print(f"{name:14} {lib:10} {label:34} {shown}", highlight=False)
                bar.advance(task)
    finally:
        if handle is not None:
            handle.close()
    return pd.DataFrame(rows, columns=FIELDS)


def read_csv(path: Path) -> pd.DataFrame:
    """The rows ``run`` wrote to ``--csv``, with metrics as floats and no error as NaN."""
    if not path.is_file():
        sys.exit(f"{path}: not found")
    frame = pd.read_csv(path, dtype={"library": str, "method": str, "dataset": str})
    missing = set(FIELDS) - set(frame.columns)
    if missing:
        sys.exit(f"{path}: missing columns {', '.join(sorted(missing))}")
    return frame[list(FIELDS)]


def environment_path(csv_path: Path) -> Path:
    """Where ``run`` records the environment of the fits written to ``csv_path``."""
    return csv_path.with_name(csv_path.stem + "_environment.md")


def environment_text(seconds: float, source: Path | None) -> str:
    """The environment paragraph: this process's, for a run that fitted; for tables
    rebuilt from ``source`` (a CSV), the environment of its fits as recorded beside it
    (the versions of crowd-kit and pandas matter: crowd-kit's Wawa breaks the ties of
    its majority vote by pandas' column order), then the rebuild's own."""
    if source is None:
        return f"Environment:\n{environment()}\n- Whole run: {seconds / 60:.1f} min"
    recorded = environment_path(source)
    fits = (recorded.read_text().strip() if recorded.is_file() else
            f"- not recorded ({recorded.name} is missing beside {source.name})")
    return (f"Environment of the fits:\n{fits}\n\nTables rebuilt from {source.name} "
            f"(fits: {seconds / 60:.1f} min in all) with:\n{environment()}")


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


# ---------------------------------------------------------------------- markdown
def column_name(library: str, method: str) -> str:
    return method if library == OURS else f"ck:{method}"


def pivot(results: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Sets x models (our configs first, then crowd-kit's), NaN where a model failed."""
    ok = results[results["error"].isna() | (results["error"] == "")].copy()
    ok["model"] = [column_name(lib, m) for lib, m in zip(ok["library"], ok["method"])]
    order = list(dict.fromkeys(column_name(lib, m) for lib, m in
                               zip(results["library"], results["method"])))
    sets = list(dict.fromkeys(results["dataset"]))
    table = ok.pivot(index="dataset", columns="model", values=metric).astype(float)
    return table.reindex(index=sets, columns=order)


def metric_table(results: pd.DataFrame, metric: str, best: str, digits: int = 3) -> str:
    """Markdown: rows = sets, cells = metric, the best cell of each row in bold; a last
    row with each model's mean over the sets it ran on ("(n)": fewer than all sets)."""
    table = pivot(results, metric)
    rows = []
    for name, values in table.iterrows():
        target = values.max() if best == "max" else values.min()
        rows.append([name, *("fails" if np.isnan(v) else
                             f"**{v:.{digits}f}**" if np.isclose(v, target) else f"{v:.{digits}f}"
                             for v in values)])
    means, counts = table.mean(), table.notna().sum()
    rows.append(["**mean**", *(f"{m:.{digits}f}" + ("" if n == len(table) else f" ({n})")
                               for m, n in zip(means, counts))])
    return markdown_table(["set", *table.columns], rows)


def best_of(table: pd.DataFrame, cols: Sequence[str], name: str, best: str) -> tuple[str, float]:
    values = table.loc[name, list(cols)].dropna()
    if values.empty:
        return "—", float("nan")
    key = values.idxmax() if best == "max" else values.idxmin()
    return key, float(values[key])


def comparison_table(results: pd.DataFrame, default: str) -> str:
    """Per set: best of ours vs best of crowd-kit (accuracy), lowest NLL of each, and the
    default's accuracy and NLL."""
    acc, nll = pivot(results, "accuracy"), pivot(results, "nll")
    mine = [c for c in acc.columns if not c.startswith("ck:")]
    theirs = [c for c in acc.columns if c.startswith("ck:")]
    with_probs = [c for c in theirs if c[3:] not in NO_PROBABILITIES]
    rows = []
    for name in acc.index:
        m, mv = best_of(acc, mine, name, "max")
        t, tv = best_of(acc, theirs, name, "max")
        mn, mnv = best_of(nll, mine, name, "min")
        tn, tnv = best_of(nll, with_probs, name, "min")
        d_acc = acc.loc[name].get(default, np.nan)
        d_nll = nll.loc[name].get(default, np.nan)
        rows.append([name, f"{m} {mv:.3f}", f"{t} {tv:.3f}", f"{mv - tv:+.3f}",
                     f"{mn} {mnv:.3f}", f"{tn} {tnv:.3f}", f"{d_acc:.3f}", f"{d_nll:.3f}"])
    return markdown_table(
        ["set", "best of ours (acc)", "best of crowd-kit (acc)", "Δ acc",
         "lowest NLL, ours", "lowest NLL, crowd-kit (models with probabilities)",
         f"default ({default}) acc",
         "default NLL"], rows)


def describe(name: str) -> str:
    answers, truth = load(name)
    n_truth = int(truth.index.isin(answers["item"]).sum())
    return (f"| {name} | {len(answers):,} | {answers['item'].nunique():,} | {n_truth:,} | "
            f"{answers['worker'].nunique():,} | {answers['label'].nunique()} |")


def markdown(results: pd.DataFrame, sets: Sequence[str], repeats: int, seconds: float,
             source: Path | None = None) -> str:
    """The section; ``source``: the CSV the tables were rebuilt from (then ``seconds`` is
    the sum of its fit times)."""
    default = softlabels.DEFAULT_CROWD_METHOD
    errors = results[results["error"].notna() & (results["error"] != "")]
    failures = ("\n".join(f"- {r.library} {r.method} on {r.dataset}: {r.error}"
                          for r in errors.itertuples()) or "- none")
    sets_table = "\n".join(
        ["| set | answers | items | items with truth | workers | classes |",
         "|---|---|---|---|---|---|", *(describe(s) for s in sets)])
    return "\n\n".join([
        "## Crowd suite: every model on every real crowd set with ground truth",
        f"{len(sets)} sets from `../shared/data/crowd` (every folder with a truth file; "
        + "; ".join(f"`{k}` left out: {v}" for k, v in EXCLUDED.items())
        + "; `adult3` has no truth). Our models: every registered crowd source "
        "(`softlabels.list_sources(evidence=\"answers\")`) with default parameters, plus "
        "the parameter variants named `method:key=value`. crowd-kit's models "
        "(`fit_predict_proba`) are the `ck:` columns, with default parameters.",
        "**Metrics**, on the items that have a truth label and at least one answer: "
        "*accuracy* of the most probable class, a tie between m classes (equal within a "
        "relative 1e-9) scoring 1/m when the truth is among them: the expected accuracy of "
        "a random tie break, the same rule for both libraries; "
        f"*NLL* = mean −log p(true class), p raised to at least {EPS:g} (a confident miss "
        f"costs at most {-np.log(EPS):.1f}); *Brier* = mean over items of "
        "Σ_k (p_k − 1[k = truth])²; *ECE* (top-label) = Σ_b (n_b/N)·|acc(b) − conf(b)| "
        f"over {N_BINS} equal-width bins of the largest probability, bins [lo, hi) with "
        "the last closed; *classwise ECE* = mean over classes k of the same sum for the "
        "scores p_k against the outcomes 1[truth = k] (every class binned on its own). "
        "Classes are the union of answered and true classes; a class a model does not "
        "output has probability 0. *fit s*: median wall time of "
        f"{repeats} fit(s) (one when a fit takes over 30 s), answers DataFrame in memory "
        "to probabilities. crowd-kit's KOS gives labels only (scored one-hot); its MMSR "
        "gives vote scores, clipped at 0 and renormalised per item. Bold: best in the row. "
        "The mean row averages each model over the sets it ran on; '(n)' marks a model that "
        "ran on n sets only (KOS is for two classes).",
        environment_text(seconds, source),
        "### Sets\n\n" + sets_table,
        "### Accuracy\n\n" + metric_table(results, "accuracy", "max"),
        "### NLL (nats)\n\n" + metric_table(results, "nll", "min"),
        "### Top-label ECE\n\n" + metric_table(results, "ece", "min"),
        "### Best of ours against best of crowd-kit, and the default\n\n"
        + comparison_table(results, default),
        "### Brier score\n\n" + metric_table(results, "brier", "min"),
        "### Classwise ECE\n\n" + metric_table(results, "classwise_ece", "min"),
        "### Fit time (s)\n\n" + metric_table(results, "fit_s", "min", digits=2),
        "### Failures\n\n" + failures,
    ])


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", help="sets to run (default: all with truth)")
    p.add_argument("--methods", nargs="+",
                   help="our crowd sources to run with default parameters (default: all "
                        "registered with evidence 'answers'); 'none' for none")
    p.add_argument("--configs", nargs="+", default=[],
                   help="parameter variants, e.g. dawid-skene:alpha=0 glad:m_steps=5")
    p.add_argument("--crowdkit", nargs="+", default=CROWDKIT,
                   help="crowd-kit classes to run ('none' for none)")
    p.add_argument("--repeats", type=int, default=1, help="timed fits per model (median)")
    p.add_argument("--csv", type=Path, help="write one row per (library, method, set)")
    p.add_argument("--from-csv", type=Path,
                   help="no fits: write the tables of a CSV an earlier run wrote")
    args = p.parse_args()
    if args.from_csv is not None:
        results = read_csv(args.from_csv)
        sets = sorted(results["dataset"].unique())
        seconds = float(pd.to_numeric(results["fit_s"], errors="coerce").sum())
        emit(markdown(results, sets, args.repeats, seconds, args.from_csv), args.output)
        return
    if not DATA.is_dir():
        sys.exit(f"crowd data not found: expected {DATA} (answers.csv and truth.csv per set)")
    sets = args.datasets or available_sets()
    unknown = [s for s in sets if not (DATA / s / "truth.csv").is_file()]
    if unknown:
        sys.exit(f"--datasets: no truth.csv for {', '.join(unknown)} in {DATA}")
    sources = softlabels.list_sources(evidence="answers")
    methods = sources if args.methods is None else [m for m in args.methods if m != "none"]
    bad = [m for m in methods if m not in sources]
    if bad:
        sys.exit(f"--methods: not crowd sources: {', '.join(bad)} (known: {', '.join(sources)})")
    configs = [parse_config(m) for m in methods] + [parse_config(c) for c in args.configs]
    ck_models = [m for m in args.crowdkit if m != "none"]
    check_unique(configs, ck_models)
    start = time.perf_counter()
    results = run(sets, configs, ck_models, args.repeats, args.csv)
    text = markdown(results, sets, args.repeats, time.perf_counter() - start)
    emit(text, args.output)
    if args.csv is not None:
        print(f"wrote {args.csv}", file=sys.stderr)


if __name__ == "__main__":
    main()
