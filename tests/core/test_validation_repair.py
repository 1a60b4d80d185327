"""check_probs' repair of rows off by rounding: what the warning counts."""

from __future__ import annotations

import pytest

from softlabels.core.errors import ProbabilityWarning
from softlabels.core.validation import check_pred_probs


@pytest.mark.parametrize("rows, n_off", [
    ([[1.00005, -0.00005], [0.5, 0.5]], 1),  # sums to 1, values just outside [0, 1]
    ([[-1e-6, 1 + 1e-6], [1.00002, -0.00002], [0.25, 0.75]], 2),
    ([[0.50004, 0.5], [0.5, 0.5]], 1),  # sums to 1 only within the tolerance
])
def test_the_warning_counts_the_rows_renormalised(rows, n_off):
    with pytest.warns(ProbabilityWarning, match=rf"^pred_probs: {n_off} rows? "):
        fixed = check_pred_probs(rows)
    assert (fixed >= 0).all() and (fixed <= 1).all()
