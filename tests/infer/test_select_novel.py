"""Active GCD's adaptive novel sampling: hand-computed cases, a naive re-implementation of the
official query, the top-up rules and the errors."""

from __future__ import annotations

import numpy as np
import pytest

from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.infer.teachers import STRATEGIES, select, select_novel

#: 2 known classes, 3 new heads; rows numbered in the comments
P = np.array([
    [0.80, 0.10, 0.05, 0.03, 0.02],  # 0 old
    [0.05, 0.05, 0.80, 0.05, 0.05],  # 1 head 2, margin .75
    [0.10, 0.05, 0.45, 0.35, 0.05],  # 2 head 2, margin .10
    [0.05, 0.05, 0.60, 0.10, 0.20],  # 3 head 2, margin .40
    [0.05, 0.05, 0.10, 0.70, 0.10],  # 4 head 3, margin .60
    [0.20, 0.05, 0.05, 0.40, 0.30],  # 5 head 3, margin .10 (ties row 2; later row)
    [0.02, 0.03, 0.05, 0.05, 0.85],  # 6 head 4, margin .80
    [0.10, 0.60, 0.10, 0.10, 0.10],  # 7 old
])


def naive(probs, n, num_old, round_index, adaptive_round=2):
    """The official ``NovelMarginSamplingAdaptive.query``, written out with lists."""
    c = len(probs[0])
    margins = []
    for i, row in enumerate(probs):
        top = sorted(row, reverse=True)
        margins.append((top[0] - top[1], i))
    uncertain_first = round_index >= adaptive_round
    order = [i for _, i in sorted(margins, key=lambda m: m[0] if uncertain_first else -m[0])]
    pred = {i: int(np.argmax(probs[i])) for i in order}
    per = n // (c - num_old)
    final = []
    for k in range(num_old, c):
        final += [i for i in order if pred[i] == k][:per]
    for i in order:
        if len(final) >= n:
            break
        if pred[i] >= num_old and i not in final:
            final.append(i)
    return final


@pytest.mark.parametrize("budget, round_index, want", [
    (3, 0, [1, 4, 6]),          # one per new head, the most confident of each
    (3, 2, [2, 5, 6]),          # one per new head, the least confident of each
    (5, 0, [1, 4, 6, 3, 2]),    # one per head, then the remaining novel rows by margin
    (6, 1, [1, 3, 4, 5, 6, 2]),  # two per head (head 4 has one), top-up row 2
])
def test_hand_computed(budget, round_index, want):
    assert select_novel(P, budget, num_old=2, round_index=round_index).tolist() == want


def test_matches_naive_official_query():
    rng = np.random.default_rng(0)
    for trial in range(30):
        c = int(rng.integers(3, 8))
        k_old = int(rng.integers(1, c))
        z = rng.normal(size=(60, c)) * 2
        z[:, k_old:] += 0.5  # enough novel-predicted rows
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        n_novel = int((p.argmax(1) >= k_old).sum())
        n = int(rng.integers(0, n_novel + 1))
        r = int(rng.integers(0, 4))
        assert select_novel(p, n, num_old=k_old, round_index=r).tolist() == \
            naive(p, n, k_old, r), trial


def test_select_dispatches_and_respects_candidates():
    assert "active-gcd" in STRATEGIES
    got = select(P, 3, strategy="active-gcd", num_old=2)
    assert got.tolist() == select_novel(P, 3, num_old=2).tolist()
    later = select(P, 3, strategy="active-gcd", num_old=2, round_index=3, adaptive_round=3)
    assert later.tolist() == [2, 5, 6]
    only = select_novel(P, 2, num_old=2, candidates=[2, 3, 5, 7])
    assert only.tolist() == [3, 2]  # 2 // 3 = 0 per head: all from the top-up


def test_too_few_novel_predictions_top_up_with_a_warning():
    with pytest.warns(UserWarning, match="only 6 of the 8 candidates are predicted in a new"):
        got = select_novel(P, 7, num_old=2)
    assert got.tolist()[:6] == [1, 3, 4, 5, 6, 2] and got[6] == 0  # row 0: margin .70 > .50


def test_errors_name_the_problem():
    with pytest.raises(InvalidParameterError, match="strategy='active-gcd' needs num_old"):
        select(P, 2, strategy="active-gcd")
    msg = "'{}' parameter of select_novel must be {}"
    with pytest.raises(InvalidParameterError, match=msg.format("num_old", "< the 5")):
        select_novel(P, 2, num_old=5)
    with pytest.raises(InvalidParameterError, match=msg.format("num_old", ">= 1")):
        select_novel(P, 2, num_old=0)
    with pytest.raises(InvalidParameterError, match=msg.format("budget", "<= the 8")):
        select_novel(P, 9, num_old=2)
    with pytest.raises(InvalidParameterError, match="'round_index' parameter"):
        select_novel(P, 2, num_old=2, round_index=-1)
    with pytest.raises(InputError, match="rows do not sum to 1"):
        select_novel(P * 0.5, 2, num_old=2)
