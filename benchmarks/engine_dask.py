"""Dawid–Skene on Dask: synthetic answers on disk as partitioned Parquet, a
``distributed.LocalCluster`` on this machine with 1 and 2 worker processes, the time per
EM iteration and the peak memory of each worker process; the in-process engine on the
same answers for comparison (when it fits in memory).

The answers are drawn in chunks of items with ``softlabels.datasets.make_crowd``
(5 classes, 5 answers per item, 20,000 workers; each chunk draws its own worker
confusions from its own seed, which changes nothing for the timing), one Parquet file
per chunk.

Run:  python benchmarks/engine_dask.py --answers 50000000 --output benchmarks/_out/engine_dask.md
"""

from __future__ import annotations

import resource
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import OUT, emit, environment, markdown_table, parser

import softlabels
from softlabels.datasets import make_crowd

K, PER_ITEM, WORKERS = 5, 5, 20_000
CHUNK_ANSWERS = 5_000_000


def write_answers(folder: Path, n_answers: int) -> list[Path]:
    """Chunks of ``CHUNK_ANSWERS`` answers as Parquet files (reused when present)."""
    folder.mkdir(parents=True, exist_ok=True)
    n_chunks = max(1, n_answers // CHUNK_ANSWERS)
    items = CHUNK_ANSWERS // PER_ITEM if n_answers >= CHUNK_ANSWERS else n_answers // PER_ITEM
    paths = []
    for c in range(n_chunks):
        path = folder / f"part-{c:04d}.parquet"
        paths.append(path)
        if path.exists():
            continue
        answers, _ = make_crowd(n_items=items, n_workers=WORKERS, n_classes=K,
                                answers_per_item=PER_ITEM, random_state=c)
        answers["item"] += c * items
        tmp = path.with_suffix(".tmp")
        answers.to_parquet(tmp, index=False)
        tmp.rename(path)
    return paths


def peak_rss_mb() -> float:
    """Peak resident memory of this process, MB (Linux: ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def iteration_times(fit: callable) -> tuple[float, list[float], object]:
    """Run ``fit(callback)``; the wall time, the time of each iteration, the result."""
    stamps: list[float] = []
    start = time.perf_counter()
    result = fit(lambda it, objective: stamps.append(time.perf_counter()))
    total = time.perf_counter() - start
    return total, list(np.diff(stamps)), result


def on_dask(glob: str, n_workers: int, n_iter: int) -> dict[str, object]:
    from distributed import Client, LocalCluster

    from softlabels.engines.dask import aggregate

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      memory_limit="8GiB", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        total, steps, fit = iteration_times(lambda cb: aggregate(
            glob, "dawid-skene", n_iter=n_iter, tol=0.0, uncertainty="plug-in", callback=cb))
        peaks = client.run(peak_rss_mb)
    return {"engine": f"dask, {n_workers} worker process(es)", "total_s": total,
            "iteration_s": float(np.median(steps[1:] if len(steps) > 1 else steps)),
            "peak_mb": max(peaks.values()), "loglik": fit.log_likelihood_}


def in_process(paths: list[Path], n_iter: int) -> dict[str, object]:
    start = time.perf_counter()
    answers = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    ann = softlabels.Annotations.from_frame(answers)
    del answers
    model = softlabels.create_source("dawid-skene", n_iter=n_iter, tol=0.0,
                                     uncertainty="plug-in")
    _, steps, fit = iteration_times(lambda cb: model.fit(ann, callback=cb))
    total = time.perf_counter() - start
    import importlib.util

    kernels = "numba kernels" if importlib.util.find_spec("numba") else "numpy"
    return {"engine": f"in-process ({kernels})", "total_s": total,
            "iteration_s": float(np.median(steps[1:] if len(steps) > 1 else steps)),
            "peak_mb": peak_rss_mb(), "loglik": fit.log_likelihood_}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--answers", type=int, default=50_000_000, help="answers on disk")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker processes")
    p.add_argument("--n-iter", type=int, default=5, help="EM iterations per fit")
    p.add_argument("--in-process", action="store_true", help="also fit in this process")
    p.add_argument("--data", type=Path, default=OUT / "dask_answers", help="Parquet folder")
    p.add_argument("--keep", action="store_true", help="keep the Parquet files")
    args = p.parse_args()
    start = time.perf_counter()
    paths = write_answers(args.data, args.answers)
    made = time.perf_counter() - start
    n = sum(pd.read_parquet(p, columns=["item"]).shape[0] for p in paths)
    rows = []
    try:
        for w in args.workers:
            rows.append(on_dask(str(args.data / "*.parquet"), w, args.n_iter))
            print(rows[-1], flush=True)
        if args.in_process:
            rows.append(in_process(paths, args.n_iter))
            print(rows[-1], flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(args.data, ignore_errors=True)
    ref = rows[0]["loglik"]
    table = [[r["engine"], f"{r['total_s']:.1f}", f"{r['iteration_s']:.2f}",
              f"{r['peak_mb']:,.0f}", f"{abs(r['loglik'] - ref) / abs(ref):.1e}"] for r in rows]
    text = "\n\n".join([
        "## Dawid–Skene on Dask (softlabels.engines.dask)",
        f"{n:,} synthetic answers ({K} classes, {PER_ITEM} answers per item, {WORKERS:,} "
        f"workers) in {len(paths)} Parquet files (written in {made:.0f} s); "
        f"`uncertainty=\"plug-in\"`, {args.n_iter} EM iterations, `tol=0`. Dask: a "
        "`distributed.LocalCluster` on this machine (one thread per worker process). "
        "*total*: read, codes, shuffle by item and the fit; *per iteration*: the median "
        "time between two iterations; *peak MB*: the largest resident memory of a worker "
        "process (the client's for in-process), from `ru_maxrss`. Log-likelihood: relative "
        "difference from the first row.",
        environment(),
        markdown_table(["engine", "total s", "per iteration s", "peak MB",
                        "log-likelihood vs first row"], table),
    ])
    emit(text, args.output)


if __name__ == "__main__":
    main()
