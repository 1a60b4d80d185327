"""Spectral (method-of-moments) estimates of Dawid–Skene and the ``init="spectral"`` of
the EM models."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softlabels import InvalidParameterError
from softlabels.core.annotations import Annotations
from softlabels.core.soft import normalize_rows
from softlabels.datasets.synthetic import make_crowd
from softlabels.infer.crowd import GLAD, IBCC, DawidSkene, OneCoinDawidSkene
from softlabels.infer.crowd.spectral import (
    spectral_estimate,
    spectral_posteriors,
    split_workers,
    symmetric_moments,
    tensor_components,
)


def _onehot(labels, k):
    return np.eye(k)[np.asarray(labels)]


def _empirical_group_confusions(ann, truth, groups):
    """Confusion of each group's answers against the truth: the target of the moments."""
    k = ann.n_classes
    y = truth.to_numpy()[ann.item_ids.astype(int)]
    out = np.zeros((3, k, k))
    np.add.at(out, (groups[ann.worker], y[ann.item], ann.label), 1.0)
    return out / out.sum(axis=2, keepdims=True)


# ---------------------------------------------------------------------- moments by hand
def test_symmetric_moments_of_a_hand_made_table():
    # groups a and b answer perfectly; group c answers [0, 1] on the two class-0 items
    # and 1 on the two class-1 items. By hand: E[Z_c Z_b^T] = [[1/4, 0], [1/4, 1/2]],
    # E[Z_a Z_b^T] = I/2, so Z'_a = [[1, 0], [1, 2]] Z_a: [1/2, 1/2] on class 0, [0, 1]
    # on class 1; M2 = 1/2 (mu_0 mu_0^T + mu_1 mu_1^T) with mu_0 = [1/2, 1/2], mu_1 = [0, 1].
    y = [0, 0, 1, 1]
    za = zb = _onehot(y, 2)
    zc = _onehot([0, 1, 1, 1], 2)
    m2, m3 = symmetric_moments(za, zb, zc)
    np.testing.assert_allclose(m2, [[0.125, 0.125], [0.125, 0.625]], atol=1e-12)
    mu = np.array([[0.5, 0.5], [0.0, 1.0]])
    expected3 = 0.5 * sum(np.einsum("a,b,c->abc", m, m, m) for m in mu)
    np.testing.assert_allclose(m3, expected3, atol=1e-12)


def test_tensor_components_recover_weights_and_means_exactly():
    rng = np.random.default_rng(3)
    w = np.array([0.5, 0.3, 0.2])
    mu = rng.dirichlet(np.ones(3), size=3).T + 2 * np.eye(3)  # columns, diagonal-heavy
    m2 = np.einsum("h,ah,bh->ab", w, mu, mu)
    m3 = np.einsum("h,ah,bh,ch->abc", w, mu, mu, mu)
    found_w, found_mu = tensor_components(m2, m3)
    order = np.argsort(-found_w)  # w is in decreasing order
    np.testing.assert_allclose(found_w[order], w, atol=1e-8)
    np.testing.assert_allclose(found_mu[:, order], mu, atol=1e-8)


def test_tensor_components_refuse_a_singular_second_moment():
    mu = np.array([[1.0, 1.0], [0.0, 0.0]])  # both classes look the same
    m2 = np.einsum("ah,bh->ab", mu, mu) / 2
    m3 = np.einsum("ah,bh,ch->abc", mu, mu, mu) / 2
    assert tensor_components(m2, m3) is None


def test_three_class_estimate_of_a_hand_made_table_is_exact():
    # three workers (one per group); workers 0 and 1 are perfect, worker 2 answers 1
    # on one of the three class-0 items
    y = [0, 0, 0, 1, 1, 2, 2]
    noisy = [0, 0, 1, 1, 1, 2, 2]
    items = list(range(7)) * 3
    workers = [0] * 7 + [1] * 7 + [2] * 7
    ann = Annotations.from_arrays(items, workers, y + y + noisy)
    est = spectral_estimate(ann, alpha=0.0)
    np.testing.assert_array_equal(est.groups, [0, 1, 2])
    np.testing.assert_allclose(est.priors, [3 / 7, 2 / 7, 2 / 7], atol=1e-9)
    np.testing.assert_allclose(est.group_confusions[0], np.eye(3), atol=1e-9)
    np.testing.assert_allclose(est.group_confusions[1], np.eye(3), atol=1e-9)
    np.testing.assert_allclose(
        est.group_confusions[2], [[2 / 3, 1 / 3, 0], [0, 1, 0], [0, 0, 1]], atol=1e-9
    )
    np.testing.assert_allclose(est.confusions, est.group_confusions, atol=1e-9)


def test_binary_one_coin_moments_by_hand():
    # groups 0 and 1 perfect, group 2 wrong on one item of each class. With
    # s = Z[:, 0] - Z[:, 1]: E[s_0 s_1] = 1, E[s_0 s_2] = E[s_1 s_2] = (6 - 2) / 8 = 1/2,
    # so d = (1, 1, 1/2); E[s_2] = 0 gives balanced classes; group 2 is right 3/4 of the time
    y = [0, 0, 0, 0, 1, 1, 1, 1]
    items = list(range(8)) * 3
    workers = [0] * 8 + [1] * 8 + [2] * 8
    ann = Annotations.from_arrays(items, workers, y + y + [1, 0, 0, 0, 0, 1, 1, 1])
    est = spectral_estimate(ann, alpha=0.0)
    np.testing.assert_allclose(est.priors, [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(est.group_confusions[0], np.eye(2), atol=1e-12)
    np.testing.assert_allclose(est.group_confusions[2], [[0.75, 0.25], [0.25, 0.75]], atol=1e-12)


def test_split_balances_answer_counts_deterministically():
    counts = np.array([10.0, 1, 9, 2, 8, 3])
    # order 0 (10), 2 (9), 4 (8), 5 (3), 3 (2), 1 (1): loads end 10+1, 9+2, 8+3
    np.testing.assert_array_equal(split_workers(counts), [0, 0, 1, 1, 2, 2])


# ---------------------------------------------------------------------- synthetic recovery
@pytest.mark.parametrize("k", [2, 3])
def test_group_confusions_close_to_the_truth_on_many_items(k):
    answers, truth = make_crowd(
        n_items=2000, n_workers=30, n_classes=k, answers_per_item=9, random_state=k
    )
    ann = Annotations.from_frame(answers)
    est = spectral_estimate(ann)
    assert np.bincount(est.groups).tolist() == [10, 10, 10]
    target = _empirical_group_confusions(ann, truth, est.groups)
    assert np.abs(est.group_confusions - target).max() < 0.1
    assert np.abs(est.priors - np.bincount(truth, minlength=k) / 2000).max() < 0.05
    # per worker: about 600 answers each, so a few hundredths on average
    y = truth.to_numpy()[ann.item_ids.astype(int)]
    per_worker = np.zeros((30, k, k))
    np.add.at(per_worker, (ann.worker, y[ann.item], ann.label), 1.0)
    per_worker /= per_worker.sum(axis=2, keepdims=True)
    assert np.abs(est.confusions - per_worker).mean() < 0.05
    post = spectral_posteriors(ann)
    soft_vote = normalize_rows(ann.counts)
    assert (post.argmax(axis=1) == y).mean() > (soft_vote.argmax(axis=1) == y).mean()


def test_estimate_is_deterministic():
    answers, _ = make_crowd(n_items=300, n_workers=12, n_classes=3, random_state=1)
    ann = Annotations.from_frame(answers)
    np.testing.assert_array_equal(spectral_posteriors(ann), spectral_posteriors(ann))



def _by_item(ann, post):
    return pd.DataFrame(post, index=ann.item_ids).sort_index().to_numpy()


def test_estimate_does_not_depend_on_the_row_order():
    """Workers 0, 1, 2 and 3 answer as many items each: who joins which group must not
    follow the order they first appear in (here it decided between an estimate and the
    soft-vote fallback)."""
    df = pd.DataFrame({"item": [0, 0, 0, 0, 1, 1, 1, 1], "worker": [3, 0, 1, 2] * 2,
                       "label": [1, 1, 1, 0, 1, 1, 1, 1]})
    first = Annotations.from_frame(df)
    expected = _by_item(first, spectral_posteriors(first))
    for seed in range(6):
        ann = Annotations.from_frame(df.sample(frac=1.0, random_state=seed))
        np.testing.assert_allclose(_by_item(ann, spectral_posteriors(ann)), expected,
                                   rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 5), st.integers(0, 2)),
                     min_size=3, max_size=40),
       seed=st.integers(0, 2**32 - 1))
def test_spectral_posteriors_do_not_depend_on_the_row_order(rows, seed):
    df = pd.DataFrame(rows, columns=["item", "worker", "label"])
    a = Annotations.from_frame(df)
    b = Annotations.from_frame(df.sample(frac=1.0, random_state=seed % 2**31))
    np.testing.assert_allclose(_by_item(b, spectral_posteriors(b)),
                               _by_item(a, spectral_posteriors(a)), rtol=0, atol=1e-9)


# ---------------------------------------------------------------------- fallback
def _fallback(ann):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # falling back is silent
        assert spectral_estimate(ann) is None
        np.testing.assert_array_equal(spectral_posteriors(ann), normalize_rows(ann.counts))


def test_two_workers_fall_back_to_soft_vote():
    _fallback(Annotations.from_arrays([0, 0, 1, 1, 2], ["a", "b", "a", "b", "a"], [0, 1, 1, 1, 0]))


def test_one_class_falls_back():
    _fallback(Annotations.from_arrays([0, 1, 2], ["a", "b", "c"], ["x", "x", "x"]))


def test_a_class_never_answered_falls_back():
    answers, _ = make_crowd(n_items=200, n_workers=9, n_classes=2, random_state=0)
    ann = Annotations.from_arrays(
        answers["item"], answers["worker"], answers["label"], classes=[0, 1, 2]
    )
    _fallback(ann)


def test_groups_that_never_meet_fall_back():
    # each item answered by one worker only: no cross moments
    _fallback(Annotations.from_arrays(list(range(9)), [0, 1, 2] * 3, [0, 1] * 4 + [0]))


def test_groups_worse_than_chance_fall_back():
    # binary: group 2 always answers the opposite of groups 0 and 1
    y = [0, 1, 0, 1, 1, 0]
    flipped = [1 - v for v in y]
    ann = Annotations.from_arrays(list(range(6)) * 3, [0] * 6 + [1] * 6 + [2] * 6, y + y + flipped)
    _fallback(ann)


# ---------------------------------------------------------------------- EM init
def test_dawid_skene_accepts_spectral_init():
    answers, truth = make_crowd(n_items=500, n_workers=20, n_classes=3, random_state=2)
    model = DawidSkene(init="spectral").fit(answers)
    assert np.isfinite(model.log_likelihood_)
    y = truth.to_numpy()
    acc = (model.soft_labels_.probs.argmax(axis=1) == y).mean()
    ref = (DawidSkene().fit(answers).soft_labels_.probs.argmax(axis=1) == y).mean()
    assert acc >= ref - 0.01


def test_spectral_init_with_one_iteration_is_an_m_step_from_the_spectral_posteriors():
    answers, _ = make_crowd(n_items=300, n_workers=12, n_classes=2, random_state=4)
    ann = Annotations.from_frame(answers)
    post = spectral_posteriors(ann)
    one = DawidSkene(init="spectral", n_iter=1, tol=0.0, alpha=0.5, prior_strength=0).fit(answers)
    # the M-step from `post`, written out: pi[w, k, l] ~ sum of post over w's answers l + alpha
    counts = np.full((ann.n_workers, 2, 2), 0.5)
    np.add.at(counts, (ann.worker, slice(None), ann.label), post[ann.item])
    expected = counts / counts.sum(axis=2, keepdims=True)
    np.testing.assert_allclose(one.confusions_, expected, atol=1e-10)


def test_unknown_init_names_spectral_among_the_options():
    with pytest.raises(InvalidParameterError, match="spectral"):
        DawidSkene(init="spectrum").fit(pd.DataFrame({"item": [0], "worker": [0], "label": [0]}))


@pytest.mark.parametrize("model, fixed", [
    (OneCoinDawidSkene, {}), (GLAD, {}),
    (IBCC, {"inference": "vb"}),  # the EM iterations alone, without the final collapsed step
])
def test_other_em_models_take_spectral_init(model, fixed):
    answers, truth = make_crowd(n_items=400, n_workers=15, n_classes=2, random_state=5)
    y = truth.to_numpy()

    def accuracy(init, **kw):
        fitted = model(init=init, **fixed, **kw).fit(answers)
        return (fitted.soft_labels_.probs.argmax(axis=1) == y).mean()

    assert accuracy("spectral") >= accuracy("soft-vote") - 0.01
    # the start is used: one iteration from it beats one from the soft vote here
    assert accuracy("spectral", n_iter=1, tol=0.0) > accuracy("soft-vote", n_iter=1, tol=0.0)


def test_alpha_zero_gives_exact_zeros_and_no_warnings():
    # the hand-made three-class table: with alpha=0, worker 2 never answers 0 on class 1
    y = [0, 0, 0, 1, 1, 2, 2]
    noisy = [0, 0, 1, 1, 1, 2, 2]
    ann = Annotations.from_arrays(list(range(7)) * 3, [0] * 7 + [1] * 7 + [2] * 7, y + y + noisy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        post = spectral_posteriors(ann, alpha=0.0)
    # workers 0 and 1 are perfect and agree: every item is certain
    np.testing.assert_allclose(post, _onehot(y, 3), atol=1e-12)


@pytest.mark.parametrize("kw", [{"alpha": -1.0}, {"alpha": "1"}, {"seed": -1}, {"seed": 1.5}])
def test_bad_parameters_are_named(kw):
    ann = Annotations.from_arrays([0, 1, 2], ["a", "b", "c"], [0, 1, 0])
    with pytest.raises(InvalidParameterError, match=next(iter(kw))):
        spectral_posteriors(ann, **kw)
