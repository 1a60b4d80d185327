"""Fit Dawid-Skene on a Dask cluster from partitioned Parquet answers, write the soft
labels as partitioned Parquet, and check that they equal the in-process fit.

Run: python examples/scale_out_dask.py   (needs the dask extra: pip install 'softlabels[dask]')
"""

import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from distributed import Client, LocalCluster

import softlabels
from softlabels.datasets import make_crowd
from softlabels.engines.dask import aggregate, write_parquet

if __name__ == "__main__":  # worker processes import this file: start the cluster once
    answers, truth = make_crowd(n_items=5000, n_workers=40, n_classes=3, random_state=0)
    with tempfile.TemporaryDirectory() as folder:
        parts = Path(folder) / "answers"
        parts.mkdir()
        for i, rows in enumerate(np.array_split(np.arange(len(answers)), 4)):
            answers.iloc[rows].to_parquet(parts / f"part-{i}.parquet")  # four Parquet files
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                               silence_logs=logging.ERROR)
        with cluster, Client(cluster):
            fit = aggregate(str(parts / "*.parquet"), method="dawid-skene:uncertainty=plug-in")
            write_parquet(fit.soft_labels_, Path(folder) / "soft_labels")
            print(f"{fit.n_answers_:,} answers, {fit.n_items_:,} items, {fit.n_iter_} iterations on Dask")
        on_dask = pd.read_parquet(Path(folder) / "soft_labels").sort_values("item")
    local = softlabels.aggregate(answers, method="dawid-skene:uncertainty=plug-in").to_frame()
    local = local.sort_values("item")
    classes = ["0", "1", "2"]  # class columns are named by the class
    gap = np.abs(on_dask[classes].to_numpy() - local[classes].to_numpy()).max()
    print(f"largest difference from the in-process fit: {gap:.1e}")
