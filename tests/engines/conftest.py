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
