"""Where the compute runs.

The in-process numpy engine is the default: every estimator of :mod:`softlabels.infer`
runs on it. :mod:`softlabels.engines.dask` (the ``dask`` extra) runs the same crowd
models on a Dask cluster, answers partitioned by item, with the same numbers.
:mod:`softlabels.engines.blocks` holds the per-partition statistics both share.

Nothing here imports Dask until :mod:`softlabels.engines.dask` is imported.
"""
