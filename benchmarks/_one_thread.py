"""Import first (before numpy): one BLAS/OpenMP thread per process.

On a small shared machine, BLAS threads in the many small fits of these benchmarks only
contend with each other (a soft-label logistic regression took 100x longer). Variables
already set by the caller win.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
