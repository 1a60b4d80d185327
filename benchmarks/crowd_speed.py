"""Fit time, accuracy and peak memory of softlabels vs crowd-kit on synthetic
Dawid–Skene crowds: 5 classes, 5 answers per item, 20,000 workers.

Run: python benchmarks/crowd_speed.py [--output benchmarks/_out/speed.md] [--sizes 100000 ...]
[--paths: Dawid–Skene's compiled kernels (numba extra) against its numpy path]
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import queue
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import emit, fmt_seconds, markdown_table, median_time, parser, timed, to_crowdkit

from softlabels import create_method
from softlabels.datasets import make_crowd

SIZES = [100_000, 200_000, 1_000_000, 10_000_000]
N_ITER = 20  # EM iterations for every fit, both libraries (no early stopping)
LIMIT = 900  # seconds: a crowd-kit fit run once (10M DS, GLAD, MACE) is stopped after this
REPEATS = 3  # timed fits per measurement up to 1M answers (median); 1 at 10M
OTHERS = ["glad", "mace"]  # at the smallest size (both libraries) and 1M (softlabels only)


def make(n_answers: int) -> tuple[pd.DataFrame, pd.Series]:
    return make_crowd(n_items=n_answers // 5, n_workers=20_000, n_classes=5,
                      answers_per_item=5, random_state=0)


def fit_ours(method: str, answers: pd.DataFrame, **params: Any) -> pd.Series:
    model = create_method(method, n_iter=N_ITER, tol=0, **params).fit(answers)
    assert model.n_iter_ == N_ITER
    return pd.Series(model.labels_, index=model.soft_labels_.item_ids)


def fit_crowdkit(method: str, data: pd.DataFrame) -> pd.Series:
    import crowdkit.aggregation as ck

    model = {  # tol=-inf: never stop early, so both libraries run N_ITER iterations
        "dawid-skene": lambda: ck.DawidSkene(n_iter=N_ITER, tol=-np.inf),
        "glad": lambda: ck.GLAD(n_iter=N_ITER, tol=-np.inf),
        "mace": lambda: ck.MACE(n_iter=N_ITER, n_restarts=1),  # one run, like ours
    }[method]()
    return model.fit(data).labels_


def accuracy(labels: pd.Series, truth: pd.Series) -> float:
    return float((labels.reindex(truth.index).to_numpy() == truth.to_numpy()).mean())


def with_limit(fn: Callable[[], Any], limit: float) -> Any | None:
    """Run ``fn`` in a forked process; its result, or None if it runs past ``limit``."""
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    proc = ctx.Process(target=lambda: results.put(fn()))
    proc.start()
    try:
        return results.get(timeout=limit)
    except queue.Empty:
        return None
    finally:
        proc.kill()
        proc.join()


# ---- peak memory, measured in a fresh interpreter ---------------------------------

def _status() -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of this process, in MiB."""
    lines = Path("/proc/self/status").read_text().splitlines()
    return {k: int(v.split()[0]) / 1024 for k, v in (l.split(":", 1) for l in lines)
            if k in ("VmRSS", "VmHWM")}


def memory_child(method: str, n_answers: int) -> None:
    """Entry point of the subprocess: load the data, reset the peak, fit, report."""
    answers, _ = make(n_answers)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    base = _status()["VmRSS"]
    _, seconds = timed(lambda: fit_ours(method, answers))
    print(json.dumps({"base": base, "peak": _status()["VmHWM"], "seconds": seconds}))


def memory(method: str, n_answers: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--memory-child", method, str(n_answers)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ---- the benchmark ----------------------------------------------------------------

def measure(method: str, n_answers: int, crowdkit: bool, ck_limit: float | None) -> dict:
    """Timings, accuracies and memory for one method and size.

    crowd-kit runs REPEATS times in this process, or, with ``ck_limit``, once in a
    forked process that is stopped after ``ck_limit`` seconds.
    """
    answers, truth = make(n_answers)
    repeats = REPEATS if n_answers <= 1_000_000 else 1
    labels, ours = median_time(lambda: fit_ours(method, answers), repeats)
    row = {"method": method, "n": n_answers, "ours": ours, "ours_acc": accuracy(labels, truth)}
    if method == "dawid-skene":  # the same fit on both cores (n_jobs=2): same labels
        labels2, row["ours2"] = median_time(lambda: fit_ours(method, answers, n_jobs=2), repeats)
        assert labels2.equals(labels)
    if crowdkit:
        data = to_crowdkit(answers)
        if ck_limit is None:
            labels, row["ck"] = median_time(lambda: fit_crowdkit(method, data), repeats)
            row["ck_acc"] = accuracy(labels, truth)
        else:
            def once() -> tuple[float, float]:
                labels, seconds = timed(lambda: fit_crowdkit(method, data))
                return seconds, accuracy(labels, truth)
            row["ck"], row["ck_acc"] = with_limit(once, ck_limit) or (None, None)
            if row["ck"] is None:
                row["ck_note"] = f"not run to completion (> {ck_limit:.0f} s)"
    else:
        row["ck_note"] = "not run (too slow: only at the smallest size)"
    del answers, truth
    gc.collect()
    row["mem"] = memory(method, n_answers)
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def format_row(r: dict) -> list[str]:
    mem = r["mem"]
    ck = fmt_seconds(r["ck"]) if r.get("ck") else r["ck_note"]
    ratio = f"{r['ck'] / r['ours']:.{1 if r['ck'] < 100 * r['ours'] else 0}f}x" if r.get("ck") else "—"
    two = fmt_seconds(r["ours2"]) if r.get("ours2") else "—"
    ratio2 = f"{r['ck'] / r['ours2']:.1f}x" if r.get("ck") and r.get("ours2") else "—"
    ck_acc = f"{r['ck_acc']:.4f}" if r.get("ck_acc") is not None else "—"
    return [r["method"], f"{r['n']:,}", f"{r['n'] // 5:,}", fmt_seconds(r["ours"]), two, ck,
            ratio, ratio2,
            f"{r['ours_acc']:.4f}", ck_acc, f"{mem['peak'] - mem['base']:,.0f}",
            f"{mem['peak']:,.0f}"]


# ---- the compiled kernels against the numpy path -----------------------------------

PATH_REPEATS = 5  # fits per timing in the path comparison (median)


def fit_path(answers: pd.DataFrame, compiled: bool, **params: Any) -> Any:
    """One Dawid–Skene fit (20 iterations) on the compiled or the numpy path."""
    import os

    from softlabels.infer.crowd import DawidSkene

    os.environ["SOFTLABELS_NUMBA"] = "1" if compiled else "0"
    return DawidSkene(n_iter=N_ITER, tol=0, **params).fit(answers)


def compare_paths(sizes: list[int], output: str | None) -> None:
    """Dawid–Skene on the numpy path and on the compiled kernels (numba extra), both
    uncertainties, one and two threads; crowd-kit up to 1M answers, in the same run."""
    import time

    from softlabels.infer import compiled

    start = time.perf_counter()
    ready = compiled.kernels(5) is not None  # import numba, load or build the kernels
    setup = time.perf_counter() - start
    if not ready:
        raise SystemExit("numba is not installed: nothing to compare")
    start = time.perf_counter()
    fit_path(make(10_000)[0], True, uncertainty="plug-in")  # the first call: compile or load
    first = time.perf_counter() - start
    rows = []
    for n in sorted(sizes):
        answers, truth = make(n)
        for uncertainty in ("plug-in", "tempered"):
            for n_jobs in (None, 2):
                fits, times = {}, {}
                for path in (False, True):
                    fits[path], times[path] = median_time(
                        lambda: fit_path(answers, path, uncertainty=uncertainty, n_jobs=n_jobs),
                        PATH_REPEATS)
                fast = fits[True]
                diff = np.abs(fast.soft_labels_.probs - fits[False].soft_labels_.probs).max()
                acc = accuracy(pd.Series(fast.labels_, index=fast.soft_labels_.item_ids), truth)
                rows.append([f"{n:,}", uncertainty, str(n_jobs or 1), f"{times[False]:.2f}",
                             f"{times[True]:.2f}", f"{times[False] / times[True]:.2f}x",
                             f"{diff:.1e}", f"{acc:.4f}", "", ""])
                print(rows[-1], file=sys.stderr, flush=True)
        if n <= 1_000_000:
            data = to_crowdkit(answers)
            labels, ck = median_time(lambda: fit_crowdkit("dawid-skene", data), PATH_REPEATS)
            for row in rows[-4:]:
                row[8] = f"{ck:.2f} ({accuracy(labels, truth):.4f})"
                row[9] = f"{ck / float(row[4]):.1f}x"
            print(rows[-4:], file=sys.stderr, flush=True)
    headers = ["answers", "uncertainty", "threads", "numpy path s", "compiled s",
               "numpy / compiled", "max abs diff", "acc", "crowd-kit s (acc)",
               "crowd-kit / compiled"]
    intro = (
        "## Dawid–Skene: compiled kernels vs the numpy path\n\n"
        f"{N_ITER} iterations (`n_iter={N_ITER}, tol=0`), median of {PATH_REPEATS} fits "
        "each, all in one run; the data as in the table above. numba import and kernel "
        f"load: {setup:.2f} s; first fit (10k answers, compiles or loads the cached "
        f"kernels): {first:.2f} s. 'max abs diff': the largest difference between the "
        "two paths' posteriors."
    )
    emit(intro + "\n\n" + markdown_table(headers, rows), output)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="numbers of answers")
    p.add_argument("--memory-child", nargs=2, metavar=("METHOD", "N"), help=argparse.SUPPRESS)
    p.add_argument("--paths", action="store_true",
                   help="Dawid–Skene on the compiled kernels vs the numpy path (numba extra)")
    args = p.parse_args()
    if args.memory_child:
        return memory_child(args.memory_child[0], int(args.memory_child[1]))
    if args.paths:
        return compare_paths(args.sizes, args.output)

    rows = []
    for n in sorted(args.sizes):
        row = measure("dawid-skene", n, crowdkit=True, ck_limit=LIMIT if n > 1_000_000 else None)
        last = rows[-1] if rows else None
        if row["ck"] is None and last and last["ck"]:
            row["ck_note"] += (f"; {last['n']:,} took {fmt_seconds(last['ck'])} s, linear "
                               f"extrapolation ~{last['ck'] * n / last['n']:,.0f} s")
        rows.append(row)
    for method in OTHERS:  # crowd-kit GLAD/MACE are slow: only at the smallest size
        rows.append(measure(method, min(args.sizes), crowdkit=True, ck_limit=LIMIT))
        if 1_000_000 in args.sizes:
            rows.append(measure(method, 1_000_000, crowdkit=False, ck_limit=None))

    headers = ["method", "answers", "items", "ours s", "ours s (n_jobs=2)", "crowd-kit s",
               "crowd-kit / ours", "crowd-kit / ours (n_jobs=2)",
               "acc ours", "acc crowd-kit", "ours fit peak MiB (above data)",
               "ours peak RSS MiB (absolute)"]
    table = markdown_table(headers, [format_row(r) for r in rows])
    intro = (
        "## Speed and memory on synthetic crowds\n\n"
        "`make_crowd(n_items=answers/5, n_workers=20000, n_classes=5, answers_per_item=5, "
        f"random_state=0)`. Every fit runs exactly {N_ITER} EM iterations in both "
        "libraries (softlabels `n_iter=20, tol=0`, its defaults otherwise: MACE with one "
        "run; crowd-kit `n_iter=20, tol=-inf`, MACE `n_restarts=1`). Times are the fit "
        f"alone on a DataFrame in memory (crowd-kit's with `item` renamed to `task`); "
        "softlabels' Dawid–Skene also with `n_jobs=2` (its E- and M-steps on both cores; "
        "identical labels), "
        f"the median of {REPEATS} runs up to 1M answers, 1 run above. crowd-kit's GLAD "
        "and MACE run at the smallest size only; they and its fits above 1M answers run "
        f"once, in a forked process stopped after {LIMIT} s. Up to 200k answers the "
        "softlabels fit is dominated by per-worker work (20,000 confusion matrices), "
        "so its times barely grow and are noisy. Ratios compare times from the same run. Accuracy is against the "
        "generating truth. Memory: each softlabels fit again in a fresh interpreter that "
        "generates the data, resets its peak-RSS counter (`/proc/self/clear_refs`) and "
        "reads `VmHWM` after the fit; 'above data' subtracts the RSS before the fit. "
        "(`ru_maxrss` is not used: after `exec` Linux carries the parent's peak into it.)"
    )
    emit(intro + "\n\n" + table, args.output)

if __name__ == "__main__":
    main()
