"""Helpers shared by the benchmark scripts: timing, markdown, output, environment."""

from __future__ import annotations

import argparse
import datetime
import platform
import re
import statistics
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "_out"


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``fn()`` once; its result and the wall-clock seconds it took."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def median_time(
    fn: Callable[[], Any], repeats: int, single_above: float = float("inf")
) -> tuple[Any, float]:
    """The last result of ``repeats`` runs and the median of their times; one run only
    when the first takes longer than ``single_above`` seconds."""
    result, first = timed(fn)
    times = [first]
    while len(times) < repeats and first <= single_above:
        result, seconds = timed(fn)
        times.append(seconds)
    return result, statistics.median(times)


def repeat(fn: Callable[[int], dict[str, Any]], seeds: Sequence[int]
           ) -> tuple[dict[str, list], float]:
    """Run ``fn(seed)`` for every seed; each key's values in seed order, and the seconds
    it all took."""
    start = time.perf_counter()
    results: dict[str, list] = {}
    for seed in seeds:
        for key, value in fn(seed).items():
            results.setdefault(key, []).append(value)
        print(f"  seed {seed} done ({time.perf_counter() - start:.0f} s)", flush=True)
    return results, time.perf_counter() - start


def mean_std(values: Sequence[float], digits: int = 3) -> str:
    """``mean ± std`` of the finite values (an en dash when there are none)."""
    import math

    v = [x for x in values if math.isfinite(x)]
    if not v:
        return "–"
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return f"{statistics.fmean(v):.{digits}f} ± {sd:.{digits}f}"


def to_crowdkit(answers: pd.DataFrame) -> pd.DataFrame:
    """crowd-kit calls the item column ``task``."""
    return answers.rename(columns={"item": "task"})


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def paired(values: Sequence[float], base: Sequence[float] | None,
           lower_is_better: bool = False, digits: int = 3) -> str:
    """Mean ± std of the per-seed difference to the baseline, and in how many seeds it is
    better."""
    if base is None:
        return "–"
    diff = [a - b for a, b in zip(values, base)]
    wins = sum(d < 0 if lower_is_better else d > 0 for d in diff)
    return f"{mean_std(diff, digits)} (better in {wins}/{len(diff)})"


def verdict(diff: Sequence[float], higher_is_better: bool = True) -> str:
    """Did a method beat its baseline, from the per-seed paired differences? "no" when it
    is not better on average or better in at most half of the seeds; "yes" when it is
    better on average and in all seeds but at most one in five; "partly" in between."""
    sign = 1.0 if higher_is_better else -1.0
    wins, n = sum(sign * d > 0 for d in diff), len(diff)
    if sign * statistics.fmean(diff) <= 0 or wins <= n / 2:
        return "no"
    return "yes" if wins >= n - n // 5 else "partly"


def fmt_seconds(s: float) -> str:
    return f"{s:.3f}" if s < 1 else f"{s:.2f}" if s < 100 else f"{s:.0f}"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--output", type=Path, help="write the markdown section to this file")
    return p


def evidence_args(description: str, *, sections: str | None = None, quick: bool = True,
                  torch_threads: bool = True, blas_threads: bool = True
                  ) -> tuple[argparse.Namespace, list[int], set[str]]:
    """The command line of an evidence script: ``--output``, ``--seeds`` (5), ``--quick``
    (fewer epochs: a smoke run) where ``quick``, and ``--only`` (default: ``sections``,
    comma-separated) where ``sections`` is given. Then torch (``torch_threads``) and the
    BLAS (``blas_threads``) are held to one thread: the models are tiny and the machine is
    shared. Returns the arguments, the seeds and the sections to run."""
    p = parser(description)
    p.add_argument("--seeds", type=int, default=5)
    if sections is not None:
        p.add_argument("--only", default=sections)
    if quick:
        p.add_argument("--quick", action="store_true", help="fewer epochs (a smoke run)")
    args = p.parse_args()
    if torch_threads:
        import torch

        torch.set_num_threads(1)
    if blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    only = set(args.only.split(",")) if sections is not None else set()
    return args, list(range(args.seeds)), only


def emit(markdown: str, output: Path | None) -> None:
    """Print the markdown section and, with ``--output``, write it to a file."""
    print(markdown)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(markdown + "\n")
        print(f"\nwrote {output}")


def environment() -> str:
    """Machine, versions and date, as a markdown list."""
    import os

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        ram = f"{kib / 2**20:.1f} GiB"
    except OSError:
        ram = "unknown"
    versions = ", ".join(
        f"{pkg} {_version(pkg)}" for pkg in ["numpy", "scipy", "pandas", "crowd-kit", "softlabels"]
    )
    return "\n".join(
        [
            f"- Machine: {len(os.sched_getaffinity(0))} CPUs (nproc), {cpu}, {ram} RAM; {platform.system()} "
            f"{platform.release()}",
            f"- Python {platform.python_version()}; {versions} ({_git_commit()})",
            f"- Date: {datetime.date.today().isoformat()}",
        ]
    )


def _git_commit() -> str:
    """The commit of the softlabels code that ran: this checkout's, or an export's path."""
    import subprocess

    import softlabels

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    source = Path(softlabels.__file__).resolve().parents[1]
    if source != ROOT / "src":  # e.g. PYTHONPATH=/tmp/softlabels-<commit>/src (README)
        export = re.fullmatch(r"softlabels-([0-9a-f]{7,40})", source.parent.name)
        return f"git {export[1]}, exported copy" if export else f"code from {source}"
    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = git("status", "--porcelain", "--", "src").strip()
    return f"git {commit}" + (" + uncommitted changes" if dirty else "")


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"
