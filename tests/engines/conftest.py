"""A real two-process Dask cluster, shared by the engine tests of a module."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                           dashboard_address=None)
    with Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def shuffled_crowd():
    """A factory of synthetic crowds (3 classes, 4 answers per item) in a random row
    order, with worker ids as text (so not sorted = first seen)."""
    from softlabels.datasets import make_crowd

    def make(n_items: int, n_workers: int, seed: int, order_seed: int):
        answers, _ = make_crowd(n_items=n_items, n_workers=n_workers, n_classes=3,
                                answers_per_item=4, random_state=seed)
        answers = answers.sample(frac=1.0, random_state=order_seed).reset_index(drop=True)
        answers["worker"] = "w" + answers["worker"].astype(str)
        return answers

    return make
