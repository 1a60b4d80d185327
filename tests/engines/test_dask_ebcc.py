"""EBCC on a real two-process Dask cluster gives the in-process numbers.

The answers are spread over several partitions (every item's answers over several of
them: the engine shuffles them by item); the Dask fit is compared with the in-process
EBCC on the same rows, to 1e-10: class posteriors, the marginal and subtype
confusions, subtype weights, priors, skills and their standard deviations, the
temperature, the objective and iterations of the kept run. The subtypes are
exchangeable, so equal subtype parameters also say that every run started from the
in-process Dirichlet splits and that the same run was kept.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

import dask.dataframe as dd  # noqa: E402

from softlabels import create_method  # noqa: E402
from softlabels.engines.dask import aggregate  # noqa: E402

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "crowd"
TOL = 1e-10


@pytest.fixture(scope="module")
def crowd(shuffled_crowd) -> pd.DataFrame:
    return shuffled_crowd(240, 18, seed=5, order_seed=3)


def with_text_ids(answers: pd.DataFrame) -> pd.DataFrame:
    """Item ids as text: their sorted order (the order of the draws) is not the
    numeric one ("i10" < "i9")."""
    return answers.assign(item="i" + answers["item"].astype(str))


def compare(fit, ref) -> float:
    """Dask fit vs in-process EBCC (items and workers aligned by id); the largest
    absolute difference of the posteriors and parameters."""
    soft = fit.soft_labels_.compute()
    assert soft["item"].is_unique and len(soft) == ref.soft_labels_.probs.shape[0]
    soft = soft.set_index("item").loc[ref.soft_labels_.item_ids]
    cols = [str(c) for c in ref.soft_labels_.classes]
    order = pd.Index(fit.worker_ids_).get_indexer(ref.annotations_.worker_ids)
    assert (order >= 0).all()
    pairs = [
        (soft[cols].to_numpy(), ref.soft_labels_.probs),
        (fit.confusions_[order], ref.confusions_),
        (fit.subtype_confusions_[order], ref.subtype_confusions_),
        (fit.subtype_weights_, ref.subtype_weights_),
        (fit.priors_, ref.priors_),
        (fit.skills_[order], ref.skills_),
        (fit.skill_sd_[order], ref.skill_sd_),
    ]
    for got, want in pairs:
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL)
    assert (soft["label"].to_numpy() == ref.soft_labels_.hard()).all()
    assert fit.n_iter_ == ref.n_iter_ and fit.converged_ == ref.converged_
    assert abs(fit.temperature_ - ref.temperature_) <= TOL
    scale = max(1.0, abs(ref.log_likelihood_))
    assert abs(fit.log_likelihood_ - ref.log_likelihood_) <= TOL * scale
    return float(max(np.abs(g - w).max() for g, w in pairs))


def test_splits_handed_on_are_the_in_process_draws():
    """The Dirichlet rows of consecutive ranges, each drawn from the generator the
    previous range left, are the rows of one ``dirichlet(ones(M), size=n)`` per run,
    run after run; the generator passed in is not moved."""
    from softlabels.engines.blocks import EBCCPlan

    plan = EBCCPlan(create_method("ebcc", n_subtypes=6))
    n, sizes = 90, [0, 31, 1, 58]
    whole = np.random.default_rng(4)
    expected = [whole.dirichlet(np.ones(6), size=n) for _ in range(3)]
    rng = np.random.default_rng(4)
    before = rng.bit_generator.state
    for want in expected:
        rows = []
        for size in sizes:
            got, rng_next = plan.draw_splits(rng, size)
            assert rng.bit_generator.state != rng_next.bit_generator.state or size == 0
            rows.append(got)
            rng = rng_next
        np.testing.assert_array_equal(np.concatenate(rows), want)
    assert rng.bit_generator.state == whole.bit_generator.state
    assert np.random.default_rng(4).bit_generator.state == before


@pytest.mark.parametrize(("params", "text_ids", "n_parts"), [
    ({"n_iter": 15, "n_init": 3, "n_subtypes": 4}, False, 3),  # vb-collapsed, the default
    ({"n_iter": 15, "n_init": 3, "n_subtypes": 4}, True, 5),
    ({"inference": "vb", "n_iter": 12, "tol": 0.0, "n_init": 2, "n_subtypes": 3,
      "class_prior": 1.0, "random_state": 9}, True, 4),
    ({"inference": "collapsed", "n_iter": 8, "n_init": 2, "subtype_prior": 1.0,
      "diag_prior": 2.0, "init": "majority-vote"}, False, 2),
    ({"n_iter": 10, "n_init": 2, "n_subtypes": 1}, True, 3),  # one subtype: IBCC's model
    ({"n_iter": 10, "n_init": 2, "init": "spectral"}, False, 3),
])
def test_ebcc_matches_in_process(client, crowd, params, text_ids, n_parts):
    answers = with_text_ids(crowd) if text_ids else crowd
    ref = create_method("ebcc", **params).fit(answers)
    fit = aggregate(dd.from_pandas(answers, npartitions=n_parts), "ebcc", **params)
    assert fit.soft_labels_.npartitions == n_parts
    assert compare(fit, ref) <= TOL
    assert fit.subtype_confusions_.shape[2] == params.get("n_subtypes", 10)


def test_ebcc_seed_generator_and_gold(client, crowd):
    """A seeded Generator gives the in-process draws and is left where the in-process
    fit leaves it; gold items are pinned to their class (their subtype still fitted),
    as in-process; another seed gives other numbers."""
    answers = with_text_ids(crowd)
    gold = {answers["item"].iloc[0]: answers["label"].iloc[0],
            answers["item"].iloc[7]: (answers["label"].iloc[7] + 1) % 3}
    params = {"n_iter": 12, "n_init": 3, "n_subtypes": 3}
    g_ref, g_dask = np.random.default_rng(8), np.random.default_rng(8)
    ref = create_method("ebcc", random_state=g_ref, **params).fit(answers, gold=gold)
    fit = aggregate(dd.from_pandas(answers, npartitions=3), "ebcc", random_state=g_dask,
                    gold=gold, **params)
    assert compare(fit, ref) <= TOL
    assert g_ref.integers(0, 2**62) == g_dask.integers(0, 2**62)
    soft = fit.soft_labels_.compute().set_index("item")
    for item, label in gold.items():
        assert soft.loc[item, str(label)] == pytest.approx(1.0, abs=1e-12)  # a sum over subtypes
    other = create_method("ebcc", random_state=1, **params).fit(answers, gold=gold)
    assert np.abs(other.subtype_confusions_ - ref.subtype_confusions_).max() > 1e-3


def test_ebcc_in_soft_average(client, crowd):
    """EBCC as a member of a soft-average: the member's parameters and the mixture."""
    params = {"members": [("ebcc", {"n_iter": 8, "n_init": 2, "n_subtypes": 2}), "soft-vote"]}
    ref = create_method("soft-average", **params).fit(crowd)
    fit = aggregate(dd.from_pandas(crowd, npartitions=3), "soft-average", **params)
    soft = fit.soft_labels_.compute().set_index("item").loc[ref.soft_labels_.item_ids]
    cols = [str(c) for c in ref.soft_labels_.classes]
    np.testing.assert_allclose(soft[cols].to_numpy(), ref.soft_labels_.probs, rtol=0, atol=TOL)
    order = pd.Index(fit.worker_ids_).get_indexer(ref.annotations_.worker_ids)
    np.testing.assert_allclose(fit.members_[0].subtype_confusions_[order],
                               ref.members_[0].subtype_confusions_, rtol=0, atol=TOL)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["duck", "temp"])  # int ids (duck), text ids (temp)
def test_real_sets_ebcc_match_in_process(client, tmp_path, name):
    """The default EBCC (10 subtypes, 5 runs, vb-collapsed) from 4 Parquet files."""
    path = DATA / name / "answers.csv"
    if not path.is_file():
        pytest.skip(f"real data not found: {path}")
    answers = pd.read_csv(path).sample(frac=1.0, random_state=0).reset_index(drop=True)
    folder = tmp_path / name
    folder.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(answers)), 4)):
        answers.iloc[part].to_parquet(folder / f"part-{i}.parquet", index=False)
    ref = create_method("ebcc").fit(answers)
    assert compare(aggregate(str(folder / "*.parquet"), "ebcc"), ref) <= TOL


def ebcc_stack() -> list:
    """The default stack with EBCC among its members."""
    from softlabels.infer.crowd.stacking import DEFAULT_STACK

    members = list(DEFAULT_STACK)
    return members if any(str(m).startswith("ebcc") for m in members) else [*members, "ebcc"]


def compare_stack(fit, ref) -> float:
    """Stacking on Dask vs in-process: weights, held-out log-likelihoods, soft labels,
    skills, and the EBCC member's subtype parameters."""
    soft = fit.soft_labels_.compute().set_index("item").loc[ref.soft_labels_.item_ids]
    cols = [str(c) for c in ref.soft_labels_.classes]
    order = pd.Index(fit.worker_ids_).get_indexer(ref.annotations_.worker_ids)
    pairs = [(fit.weights_, ref.weights_),
             (fit.held_out_log_likelihood_, ref.held_out_log_likelihood_),
             (soft[cols].to_numpy(), ref.soft_labels_.probs),
             (fit.skills_[order], ref.skills_)]
    for got, want in zip(fit.members_, ref.members_):
        if hasattr(want, "subtype_confusions_"):
            pairs += [(got.subtype_confusions_[order], want.subtype_confusions_),
                      (got.subtype_weights_, want.subtype_weights_)]
    assert any(hasattr(m, "subtype_confusions_") for m in ref.members_)
    for got, want in pairs:
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL)
    return float(max(np.abs(g - w).max() for g, w in pairs))


def test_stacked_with_ebcc_matches_in_process(client, crowd):
    """EBCC as a stacking member predicts its held-out answers with its own model
    (``answer_probabilities``: each partition from its items' joint posteriors of the
    training fit and the broadcast subtype confusions); text item ids, 4 partitions."""
    answers = with_text_ids(crowd)
    others = [m for m in ebcc_stack() if not str(m).startswith("ebcc")]
    members = [*others, ("ebcc", {"n_iter": 20, "n_init": 2, "n_subtypes": 4})]
    params = {"members": members, "n_folds": 3}
    ref = create_method("stacked", **params).fit(answers)
    assert ref.weights_[-1] > 0.1  # EBCC's predictions count
    fit = aggregate(dd.from_pandas(answers, npartitions=4), "stacked", **params)
    assert compare_stack(fit, ref) <= TOL


@pytest.mark.realdata
def test_real_set_stacked_with_ebcc_matches_in_process(client, tmp_path):
    """duck (int ids): EBCC (its defaults) weighs .57 next to the Dawid–Skene pair."""
    path = DATA / "duck" / "answers.csv"
    if not path.is_file():
        pytest.skip(f"real data not found: {path}")
    answers = pd.read_csv(path).sample(frac=1.0, random_state=0).reset_index(drop=True)
    members = ebcc_stack()
    ref = create_method("stacked", members=members).fit(answers)
    assert ref.weights_.max() < 0.9  # the weights are tested, not one member
    fit = aggregate(dd.from_pandas(answers, npartitions=3), "stacked", members=members)
    assert compare_stack(fit, ref) <= TOL
