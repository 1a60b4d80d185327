"""KOS on an exact tie: the result must not depend on how workers are numbered.

Item 0 gets two votes for each class; in exact arithmetic its score stays 0 for every
round (checked below with fractions), while item 1 (three votes for class 0) stays
positive. Rounding noise along the tie's direction used to grow over the 100 rounds into
a decision that depended on the summation order, i.e. on the worker ids.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from softlabels.infer.crowd import KOS

ROWS = [(0, 0, 1), (0, 1, 0), (0, 1, 1), (0, 2, 0), (1, 0, 0), (1, 2, 0), (1, 3, 0)]


def exact_kos_scores(rows, n_iter):
    """KOS messages in exact rational arithmetic (rescaled by the max, which keeps signs)."""
    a = [1 if label == 0 else -1 for _, _, label in rows]
    n = len(rows)
    y = [Fraction(1)] * n
    for _ in range(n_iter):
        x = [sum(a[b] * y[b] for b in range(n) if rows[b][0] == rows[i][0] and b != i) for i in range(n)]
        y = [sum(a[b] * x[b] for b in range(n) if rows[b][1] == rows[i][1] and b != i) for i in range(n)]
        top = max(abs(v) for v in y)
        y = [v / top for v in y] if top else [Fraction(1)] * n
    items = sorted({r[0] for r in rows})
    return [sum(a[b] * y[b] for b in range(n) if rows[b][0] == i) for i in items]


def test_exact_scores_are_a_tie_and_a_clear_win():
    s = exact_kos_scores(ROWS, 100)  # the library's default n_iter
    assert s[0] == 0 and s[1] > 0


@pytest.mark.parametrize("perm", [[0, 1, 2, 3], [0, 2, 1, 3], [3, 2, 1, 0], [1, 0, 3, 2]])
def test_tie_is_kept_under_any_worker_numbering(perm):
    df = pd.DataFrame(ROWS, columns=["item", "worker", "label"])
    df = df.assign(worker=df["worker"].map(dict(enumerate(perm)))).sort_values("worker", kind="stable")
    m = KOS().fit(df)
    scores = pd.Series(m.scores_, index=m.annotations_.item_ids)
    assert scores[0] == 0.0 and scores[1] > 0
    probs = pd.DataFrame(m.soft_labels_.probs, index=m.soft_labels_.item_ids)
    np.testing.assert_array_equal(probs.loc[[0, 1]].to_numpy(), [[0.5, 0.5], [1.0, 0.0]])
