"""Dawid–Skene on row blocks in threads gives exactly the single-thread result."""

import numpy as np
import pytest

from softlabels.datasets import make_crowd
from softlabels.infer.crowd import DawidSkene
from softlabels.infer import em as K


@pytest.mark.parametrize("n_jobs", [2, 3, -1])
@pytest.mark.parametrize("alpha", [0.0, 0.01])
def test_threads_change_nothing(monkeypatch, n_jobs, alpha):
    monkeypatch.setattr(K.RowBlocks, "MIN_ANSWERS", 0)  # use threads on small data
    answers, _ = make_crowd(n_items=300, n_workers=25, n_classes=4, random_state=1)
    gold = {0: 2, 5: 1}
    one = DawidSkene(n_iter=15, tol=0, alpha=alpha).fit(answers, gold=gold)
    many = DawidSkene(n_iter=15, tol=0, alpha=alpha, n_jobs=n_jobs).fit(answers, gold=gold)
    np.testing.assert_array_equal(many.soft_labels_.probs, one.soft_labels_.probs)
    np.testing.assert_array_equal(many.confusions_, one.confusions_)
    assert many.log_likelihood_ == pytest.approx(one.log_likelihood_, rel=1e-12)


def test_blocks_keep_a_worker_in_one_block(monkeypatch):
    monkeypatch.setattr(K.RowBlocks, "MIN_ANSWERS", 0)
    answers, _ = make_crowd(n_items=50, n_workers=7, n_classes=3, random_state=0)
    from softlabels import Annotations

    ann = Annotations.from_frame(answers)
    blocks = K.RowBlocks(ann, 3)
    assert blocks.n_blocks == 3
    assert all(s.start % 3 == 0 and s.stop % 3 == 0 for s in blocks.pairs)
    assert blocks.pairs[-1].stop == ann.n_workers * 3 and blocks.items[-1].stop == ann.n_items


def test_small_inputs_stay_on_one_thread():
    answers, _ = make_crowd(n_items=50, n_workers=7, n_classes=3, random_state=0)
    from softlabels import Annotations

    assert K.RowBlocks(Annotations.from_frame(answers), 4).n_blocks == 1
