"""EBCC and stacking with an EBCC member on Dask against in-process, on real crowd sets:
wall time of each engine and the largest absolute difference of the soft labels (and,
for stacking, of the weights and held-out log-likelihoods).

The answers are shuffled and written as 4 Parquet files; Dask runs on a
``distributed.LocalCluster`` of 2 worker processes (one thread each) on this machine.

Run:  python benchmarks/engine_dask_ebcc.py --output benchmarks/_out/engine_dask_ebcc.md
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import ROOT, emit, environment, markdown_table, parser

from softlabels import create_method
from softlabels.infer.crowd.stacking import DEFAULT_STACK

DATA = ROOT.parent / "shared" / "data" / "crowd"
STACK = list(DEFAULT_STACK) if any(m.startswith("ebcc") for m in DEFAULT_STACK) \
    else [*DEFAULT_STACK, "ebcc"]


def soft_diff(fit, ref) -> float:
    soft = fit.soft_labels_.compute().set_index("item").loc[ref.soft_labels_.item_ids]
    cols = [str(c) for c in ref.soft_labels_.classes]
    return float(np.abs(soft[cols].to_numpy() - ref.soft_labels_.probs).max())


def main() -> None:
    from distributed import Client, LocalCluster

    from softlabels.engines.dask import aggregate

    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sets", nargs="+", default=["duck", "temp"])
    args = p.parse_args()
    rows = []
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster, Client(cluster), \
            tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            answers = pd.read_csv(DATA / name / "answers.csv")
            answers = answers.sample(frac=1.0, random_state=0).reset_index(drop=True)
            folder = Path(tmp) / name
            folder.mkdir()
            for i, part in enumerate(np.array_split(np.arange(len(answers)), 4)):
                answers.iloc[part].to_parquet(folder / f"part-{i}.parquet", index=False)
            glob = str(folder / "*.parquet")
            for method, params in [("ebcc", {}), ("stacked", {"members": STACK})]:
                start = time.perf_counter()
                ref = create_method(method, **params).fit(answers)
                local = time.perf_counter() - start
                start = time.perf_counter()
                fit = aggregate(glob, method, **params)
                diff = soft_diff(fit, ref)  # computes the soft labels: part of the fit
                on_dask = time.perf_counter() - start
                extra = ""
                if method == "stacked":
                    held = fit.held_out_log_likelihood_ - ref.held_out_log_likelihood_
                    extra = (f"weights {np.round(ref.weights_, 3).tolist()}; weights "
                             f"{np.abs(fit.weights_ - ref.weights_).max():.1e}, held-out "
                             f"{np.abs(held).max():.1e}")
                rows.append([name, f"{len(answers):,}", method, f"{local:.2f}", f"{on_dask:.1f}",
                             f"{diff:.1e}", extra])
                print(rows[-1], flush=True)
    text = "\n\n".join([
        "## EBCC and stacking with EBCC on Dask (softlabels.engines.dask)",
        "EBCC with its defaults (10 subtypes, 5 runs, `vb-collapsed`); `stacked` with "
        f"members {STACK} (5 folds). Dask: a two-process `LocalCluster`, 4 Parquet files; "
        "the time includes reading, the shuffle by item and computing the soft labels. "
        "*soft labels*: the largest absolute difference from in-process.",
        environment(),
        markdown_table(["set", "answers", "method", "in-process s", "Dask s", "soft labels",
                        "stacking"], rows),
    ])
    emit(text, args.output)


if __name__ == "__main__":
    main()
