"""The crowd models on a real two-process Dask cluster give the in-process numbers.

Answers are written as several Parquet files with every item's answers spread over
them (the engine must shuffle them by item), fitted with
:func:`softlabels.engines.dask.aggregate`, and compared with the in-process model on
the same rows to 1e-9: posteriors per item, confusions / skills per worker, priors,
log-likelihood, iterations.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

import dask.dataframe as dd  # noqa: E402

from softlabels import InputError, InvalidParameterError, create_method  # noqa: E402
from softlabels.core.annotations import Annotations  # noqa: E402
from softlabels.datasets import make_crowd  # noqa: E402
from softlabels.engines.dask import aggregate, write_parquet  # noqa: E402

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "crowd"
TOL = 1e-9


def write_parts(answers: pd.DataFrame, folder: Path, n_files: int = 3) -> str:
    """Rows in a random order, cut into ``n_files`` Parquet files."""
    folder.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(answers)), n_files)):
        answers.iloc[part].to_parquet(folder / f"part-{i}.parquet", index=False)
    return str(folder / "*.parquet")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> tuple[pd.DataFrame, str]:
    answers, _ = make_crowd(n_items=600, n_workers=30, n_classes=4, answers_per_item=4,
                            random_state=7)
    answers = answers.sample(frac=1.0, random_state=1).reset_index(drop=True)
    answers["worker"] = "w" + answers["worker"].astype(str)  # string ids, not sorted = first seen
    return answers, write_parts(answers, tmp_path_factory.mktemp("syn") / "answers")


def assert_same(fit, ref) -> float:
    """Dask fit vs in-process fit, aligned by item and worker id; returns the largest
    absolute difference of the posteriors and of the worker, item and class parameters."""
    soft = fit.soft_labels_.compute()
    expected = ref.soft_labels_.to_frame()
    assert len(soft) == len(expected) and soft["item"].is_unique
    soft = soft.set_index("item").loc[expected["item"]]
    cols = [str(c) for c in ref.soft_labels_.classes]
    assert list(soft.columns) == list(expected.columns[1:])
    np.testing.assert_allclose(soft[cols].to_numpy(), expected[cols].to_numpy(), rtol=0, atol=TOL)
    assert (soft["label"].to_numpy() == expected["label"].to_numpy()).all()
    np.testing.assert_array_equal(soft["support"].to_numpy(), expected["support"].to_numpy())
    order = pd.Index(fit.worker_ids_).get_indexer(ref.annotations_.worker_ids)
    assert (order >= 0).all() and len(order) == len(fit.worker_ids_)
    np.testing.assert_allclose(fit.skills_[order], ref.skills_, rtol=0, atol=TOL)
    np.testing.assert_array_equal(fit.answers_per_worker_[order], ref.annotations_.answers_per_worker)
    assert fit.n_iter_ == ref.n_iter_ and fit.converged_ == ref.converged_
    if hasattr(ref, "confusions_"):
        np.testing.assert_allclose(fit.confusions_[order], ref.confusions_, rtol=0, atol=TOL)
    if hasattr(ref, "priors_"):
        np.testing.assert_allclose(fit.priors_, ref.priors_, rtol=0, atol=TOL)
    if hasattr(ref, "temperature_"):
        assert abs(fit.temperature_ - ref.temperature_) <= TOL
    if hasattr(ref, "log_likelihood_"):
        assert abs(fit.log_likelihood_ - ref.log_likelihood_) <= TOL * max(1, abs(ref.log_likelihood_))
    diffs = [np.abs(soft[cols].to_numpy() - expected[cols].to_numpy()).max(),
             np.abs(fit.skills_[order] - ref.skills_).max()]
    if hasattr(ref, "skill_sd_"):
        np.testing.assert_allclose(fit.skill_sd_[order], ref.skill_sd_, rtol=0, atol=TOL)
    if hasattr(ref, "alphas_"):  # GLAD: abilities per worker, easiness per item
        np.testing.assert_allclose(fit.alphas_[order], ref.alphas_, rtol=0, atol=TOL)
        betas = fit.betas_.compute()
        assert betas["item"].is_unique
        betas = betas.set_index("item").loc[expected["item"], "beta"].to_numpy()
        np.testing.assert_allclose(betas, ref.betas_, rtol=0, atol=TOL)
        diffs += [np.abs(fit.alphas_[order] - ref.alphas_).max(), np.abs(betas - ref.betas_).max()]
    return float(max(diffs))


CASES = [
    ("majority-vote", {}),
    ("wawa", {}),
    ("zero-based-skill", {}),
    ("zero-based-skill", {"n_iter": 7, "tol": 0.0, "lr_steps_to_reduce": 3, "eps": 0.01}),
    ("soft-vote", {"smoothing": 0.5}),
    ("soft-vote", {"normalization": "softmax"}),
    ("dawid-skene", {"uncertainty": "plug-in"}),
    ("dawid-skene", {"uncertainty": "plug-in", "alpha": 0.0, "prior_strength": 0.0,
                     "init": "majority-vote"}),
    ("dawid-skene", {"uncertainty": "plug-in", "alpha": 1.0, "prior_strength": 5.0,
                     "n_iter": 7, "tol": 0.0, "init": "uniform"}),
    ("one-coin-dawid-skene", {"uncertainty": "plug-in"}),
    ("one-coin-dawid-skene", {"uncertainty": "plug-in", "prior": "learn", "min_skill": 0.0,
                              "alpha": 0.5, "prior_strength": 0.0}),
    ("dawid-skene", {}),  # tempered, the default
    ("dawid-skene", {"uncertainty": "leave-self-out", "prior_strength": 0.5}),
    ("one-coin-dawid-skene", {}),
    ("one-coin-dawid-skene", {"uncertainty": "leave-self-out", "prior": "learn"}),
    ("mace", {}),
    ("mace:method=em", {"prior": "uniform", "n_iter": 9, "tol": 0.0}),  # MACE's own `method`
    ("glad", {"n_iter": 3}),
    ("glad", {"prior": "learn", "init": "majority-vote", "n_iter": 4, "tol": 0.0,
              "m_steps": 3, "alpha_prior": 0.5, "log_beta_prior": 0.0}),
    ("glad", {"init": "uniform", "n_iter": 2, "m_tol": 0.0, "m_steps": 4}),
    ("ibcc", {"n_iter": 6}),  # vb-collapsed: VB, then the collapsed update and its temperature
    ("ibcc", {"inference": "vb", "class_prior": "empirical", "n_iter": 8, "tol": 0.0}),
    ("ibcc", {"inference": "collapsed", "diag_prior": 2.0, "off_diag_prior": 0.5,
              "init": "majority-vote", "n_iter": 5}),
    ("soft-average", {"members": ["soft-vote", ("dawid-skene", {"n_iter": 5}),
                                  ("ibcc", {"n_iter": 4}), "wawa"],
                      "weights": [1, 2, 1, 0.5]}),
    ("soft-average", {"members": ["majority-vote", "one-coin-dawid-skene",
                                  ("glad", {"n_iter": 2}), ("mace", {"n_iter": 3})],
                      "combine": "conflation"}),
]


@pytest.mark.parametrize(("method", "params"), CASES)
def test_synthetic_parquet_matches_in_process(client, synthetic, method, params):
    answers, glob = synthetic
    seen, ref_seen = [], []
    fit = aggregate(glob, method, callback=lambda it, ll: seen.append(it), **params)
    ref = create_method(method, **params).fit(answers, callback=lambda it, ll: ref_seen.append(it))
    assert_same(fit, ref)
    assert fit.soft_labels_.npartitions == 3
    assert seen == ref_seen  # soft-average: each member's iterations in turn
    if method != "soft-average":
        assert seen == list(range(1, ref.n_iter_ + 1))


@pytest.mark.parametrize(("method", "params"), [
    ("dawid-skene", {"uncertainty": "tempered"}),
    ("dawid-skene", {"uncertainty": "leave-self-out"}),
    ("one-coin-dawid-skene", {"uncertainty": "tempered"}),
    ("one-coin-dawid-skene", {"uncertainty": "leave-self-out"}),
    ("ibcc", {"n_iter": 6}),
])
def test_temperature_subsample_is_the_in_process_one(client, synthetic, monkeypatch, method,
                                                     params):
    """Above the answer budget the temperature is fitted on about one answer in k, chosen
    by content (budget lowered here so that k = 5): the same answers on Dask, whatever
    the order of the rows in-process or the partitions on Dask."""
    import softlabels.infer.em as em

    answers, glob = synthetic
    monkeypatch.setattr(em, "_TEMPERATURE_ANSWERS", len(answers) // 5)
    assert em.temperature_step(len(answers)) == 5
    fit = aggregate(glob, method, **params)
    for seed in (None, 3):  # the rows as written, and shuffled
        rows = answers if seed is None else answers.sample(frac=1.0, random_state=seed)
        ref = create_method(method, **params).fit(rows)
        assert_same(fit, ref)
    monkeypatch.setattr(em, "_TEMPERATURE_ANSWERS", 200_000)
    full = create_method(method, **params).fit(answers)
    assert full.temperature_ != ref.temperature_  # the subsample does change it


REAL = [
    ("rte", "dawid-skene", ["plug-in", "tempered", "leave-self-out"]),
    ("dog", "one-coin-dawid-skene", ["plug-in", "tempered", "leave-self-out"]),
    ("temp", "dawid-skene", ["tempered"]),
    ("temp", "one-coin-dawid-skene", ["plug-in"]),
    ("dog", "majority-vote", [None]),
    ("web", "zero-based-skill", [None]),
    ("duck", "wawa", [None]),
    ("duchenne", "mace", [None]),
    ("temp", "glad", [None]),
    ("rte", "ibcc", [None]),
    ("temp", "soft-average", [None]),  # the paper's seven members, their defaults
]


@pytest.mark.realdata
@pytest.mark.parametrize(("name", "method", "modes"), REAL)
def test_real_sets_match_in_process(client, tmp_path, name, method, modes):
    path = DATA / name / "answers.csv"
    if not path.is_file():
        pytest.skip(f"real data not found: {path}")
    answers = pd.read_csv(path).sample(frac=1.0, random_state=0).reset_index(drop=True)
    glob = write_parts(answers, tmp_path / name, n_files=4)
    for mode in modes:
        params = {} if mode is None else {"uncertainty": mode}
        assert_same(aggregate(glob, method, **params), create_method(method, **params).fit(answers))


def test_dask_frame_input_and_declared_classes(client, synthetic):
    answers, _ = synthetic
    frame = answers.rename(columns={"item": "task", "label": "answer"})
    ddf = dd.from_pandas(frame, npartitions=2)
    classes = [3, 2, 1, 0, 9]  # declared order kept; a class nobody chose gets a column
    fit = aggregate(ddf, "dawid-skene", item_col="task", label_col="answer", classes=classes,
                    uncertainty="plug-in")
    ref = create_method("dawid-skene", uncertainty="plug-in").fit(
        Annotations.from_frame(answers, classes=classes))
    assert fit.classes_.tolist() == classes
    assert_same(fit, ref)


@pytest.mark.parametrize(("method", "params"), [
    ("majority-vote", {}), ("wawa", {}), ("zero-based-skill", {}), ("dawid-skene", {}),
    ("one-coin-dawid-skene", {}), ("one-coin-dawid-skene", {"uncertainty": "leave-self-out"}),
    ("mace", {}), ("glad", {"n_iter": 3}), ("ibcc", {}), ("ibcc", {"inference": "collapsed"}),
    ("ebcc", {"n_init": 2, "n_iter": 5}), ("dawid-skene", {"init": "spectral"}),
    ("stacked", {"n_folds": 2}),
])
def test_more_partitions_than_items(client, tiny_answers, method, params):
    """Partitions left empty by the shuffle, string ids, one-worker classes."""
    ddf = dd.from_pandas(tiny_answers, npartitions=3).repartition(npartitions=6)
    fit = aggregate(ddf, method, **params)
    assert_same(fit, create_method(method, **params).fit(tiny_answers))
    assert fit.n_items_ == 3 and fit.n_answers_ == 9


def test_ids_of_mixed_types_match_in_process(client, tiny_answers, tmp_path):
    """Item or worker ids of several types (in one partition, or one type per
    partition) cannot go through Arrow, which the P2P shuffle uses: the engine shuffles
    them by tasks, and gives the in-process numbers. Parquet files whose columns have
    different types are named as such (not a failed shuffle)."""
    import dask

    mixed = tiny_answers.assign(item=[1, 1, 1, "b", "b", "b", 3, 3, 3])
    by_part = tiny_answers.assign(worker=["a", "b", "c"] * 2 + [7, 8, 9])
    with dask.config.set({"dataframe.convert-string": False}):  # keep the ids' types
        for answers in (mixed, by_part):
            ddf = dd.from_pandas(answers, npartitions=3, sort=False)
            fit = aggregate(ddf, "dawid-skene")
            assert_same(fit, create_method("dawid-skene").fit(answers))
    by_file = tiny_answers.assign(label=[0, 1, 1, 1, 1, 1, "x", "y", "x"])
    (tmp_path / "files").mkdir()
    for i, part in enumerate((by_file.iloc[:6], by_file.iloc[6:])):  # int labels, then text
        part.astype({"label": type(part["label"].iloc[0])}).to_parquet(
            tmp_path / "files" / f"{i}.parquet", index=False)
    with pytest.raises(InputError, match="label column 'label' holds values of different "
                                         "types in different partitions .integer, string."):
        aggregate(str(tmp_path / "files"), "dawid-skene")


def test_write_parquet_is_atomic(client, synthetic, tmp_path):
    _, glob = synthetic
    fit = aggregate(glob, "soft-vote")
    out = tmp_path / "soft"
    write_parquet(fit.soft_labels_, out)
    back = pd.read_parquet(out)
    assert len(list(out.glob("*.parquet"))) == 3
    pd.testing.assert_frame_equal(
        back.sort_values("item").reset_index(drop=True),
        fit.soft_labels_.compute().sort_values("item").reset_index(drop=True),
    )
    with pytest.raises(InputError, match="already exists"):
        write_parquet(fit.soft_labels_, out)

    def explode(part: pd.DataFrame, partition_info=None) -> pd.DataFrame:
        if partition_info is not None and partition_info["number"] == 2:
            raise RuntimeError("worker failed")  # the others are written
        return part

    bad = fit.soft_labels_.map_partitions(explode, meta=fit.soft_labels_._meta)
    with pytest.raises(RuntimeError, match="worker failed"):
        write_parquet(bad, out, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["soft"]  # no temporary folder
    pd.testing.assert_frame_equal(pd.read_parquet(out), back)  # the good output is intact
    with pytest.raises(RuntimeError):
        write_parquet(bad, tmp_path / "fresh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["soft"]

    write_parquet(fit.soft_labels_.head(5, compute=True), out, overwrite=True)
    assert len(pd.read_parquet(out)) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["soft"]


def test_bad_input_is_named(client, synthetic, tmp_path):
    answers, glob = synthetic
    ddf = dd.from_pandas(answers, npartitions=2)
    with pytest.raises(InvalidParameterError, match="'kos' does not run"):
        aggregate(ddf, "kos")
    with pytest.raises(InvalidParameterError, match="'mmsr' does not run"):
        aggregate(ddf, "soft-average", members=["soft-vote", "mmsr"])
    with pytest.raises(InvalidParameterError, match="n_restarts=2 of 'mace'"):
        aggregate(ddf, "mace", n_restarts=2)
    with pytest.raises(InvalidParameterError, match="duplicates= is not supported"):
        aggregate(ddf, "dawid-skene", duplicates="last")
    with pytest.raises(InputError, match="gold label 7 .item 1. is not one of the classes"):
        aggregate(ddf, "dawid-skene", gold={1: 7})
    with pytest.raises(InputError, match="gold lists item 1 more than once"):
        aggregate(ddf, "dawid-skene", gold=pd.DataFrame({"item": [1, 1], "label": [0, 1]}))
    with pytest.raises(InvalidParameterError, match="alpha"):
        aggregate(ddf, "dawid-skene", uncertainty="plug-in", alpha=-1)
    with pytest.raises(InputError, match="no 'annotator' column for the workers"):
        aggregate(ddf, "majority-vote", worker_col="annotator")
    with pytest.raises(InputError, match="no rows"):
        aggregate(ddf[ddf["item"] < 0], "majority-vote")
    with pytest.raises(InputError, match="dask DataFrame or a path"):
        aggregate(answers, "majority-vote")
    with pytest.raises(InputError, match="no Parquet answers at .*nothing"):
        aggregate(str(tmp_path / "nothing" / "*.parquet"), "majority-vote")
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="cannot read Parquet answers from .*junk"):
        aggregate(str(tmp_path / "junk.parquet"), "majority-vote")
    holes = answers.astype({"label": "float64"})
    holes.loc[3, "label"] = np.nan
    with pytest.raises(InputError, match="label column 'label' has 1 missing"):
        aggregate(dd.from_pandas(holes, npartitions=2), "majority-vote")
    with pytest.raises(InputError, match="label 3 is not one of the declared classes"):
        aggregate(ddf, "majority-vote", classes=[0, 1, 2]).soft_labels_.compute()


def test_an_unreadable_file_among_good_ones_is_named(client, tiny_answers, tmp_path):
    """The first file gives the schema, the others are read on the workers: a broken
    one is an InputError naming the answers' path, not a bare Arrow error."""
    folder = tmp_path / "answers"
    folder.mkdir()
    tiny_answers.to_parquet(folder / "a.parquet", index=False)
    (folder / "b.parquet").write_bytes(b"junk")
    with pytest.raises(InputError, match="cannot read Parquet answers from .*answers.*: "):
        aggregate(str(folder), "majority-vote")


def test_a_worker_killed_mid_fit_gives_the_same_numbers(client, synthetic):
    """A worker process dies during EM (its persisted blocks and posteriors are lost):
    Dask recomputes them from the input and the fit still equals the in-process one."""
    answers, glob = synthetic
    params = {"uncertainty": "tempered", "tol": 0.0, "n_iter": 6}
    killed = []

    def kill_one(it: int, _: float) -> None:
        if it == 3:
            nanny = next(iter(client.cluster.workers.values()))
            os.kill(nanny.pid, signal.SIGKILL)
            killed.append(nanny.pid)

    fit = aggregate(glob, "dawid-skene", callback=kill_one, **params)
    assert killed
    assert_same(fit, create_method("dawid-skene", **params).fit(answers))
    client.wait_for_workers(2, timeout=60)


def assert_cli_output(out: Path, workers: Path, ref) -> None:
    """The soft labels and worker skills the CLI wrote are the in-process fit's."""
    expected = ref.soft_labels_.to_frame()
    got = pd.read_parquet(out).set_index("item").loc[expected["item"]]
    cols = [str(c) for c in ref.soft_labels_.classes]
    np.testing.assert_allclose(got[cols].to_numpy(), expected[cols].to_numpy(), rtol=0, atol=TOL)
    table = pd.read_csv(workers).set_index("worker").loc[ref.annotations_.worker_ids]
    np.testing.assert_allclose(table["skill"].to_numpy(), ref.skills_, rtol=0, atol=TOL)


def test_cli_aggregate_on_dask(client, synthetic, tmp_path, capsys):
    from softlabels.cli import main

    answers, glob = synthetic
    out, workers = tmp_path / "soft", tmp_path / "workers.csv"
    address = client.scheduler.address
    code = main(["aggregate", glob, "--engine", "dask", "--scheduler", address,
                 "-m", "one-coin-dawid-skene", "-o", str(out), "--workers-out", str(workers)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"{len(answers):,} answers" in captured.out
    ref = create_method("one-coin-dawid-skene").fit(answers)
    assert_cli_output(out, workers, ref)

    for argv, message in [
        (["-o", str(out), "--engine", "dask", "--scheduler", address], "already exists"),
        (["-o", str(tmp_path / "x"), "--engine", "spark"], "--engine must be numpy or dask"),
        (["-o", str(tmp_path / "x.csv"), "--local-workers", "2"], "need --engine dask"),
        (["-o", str(tmp_path / "x"), "--engine", "dask", "--scheduler", address,
          "-m", "kos"], "does not run"),
    ]:
        code = main(["aggregate", glob, *argv])
        captured = capsys.readouterr()
        assert code == 2 and message in captured.err, (argv, captured.err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["soft", "workers.csv"]


GOLD_CASES = [
    ("majority-vote", {}),
    ("soft-vote", {}),
    ("wawa", {}),
    ("zero-based-skill", {"n_iter": 6, "tol": 0.0}),
    ("dawid-skene", {"uncertainty": "plug-in"}),
    ("dawid-skene", {}),
    ("one-coin-dawid-skene", {"uncertainty": "leave-self-out", "prior": "learn"}),
    ("mace", {"n_iter": 5}),
    ("glad", {"n_iter": 2, "m_steps": 5}),
    ("ibcc", {"n_iter": 5}),
    ("ibcc", {"inference": "collapsed", "n_iter": 4}),
    ("soft-average", {"members": ["soft-vote", ("dawid-skene", {"n_iter": 4}),
                                  ("glad", {"n_iter": 2, "m_steps": 3})]}),
]


@pytest.mark.parametrize(("method", "params"), GOLD_CASES)
def test_gold_items_are_pinned_as_in_process(client, synthetic, method, params):
    """Known labels (some of them wrong answers' classes, some for items nobody
    answered) pin their items and calibrate the workers as in-process."""
    answers, glob = synthetic
    items = np.sort(answers["item"].unique())
    gold = pd.DataFrame({"item": np.r_[items[::7], [10_000]],
                         "label": np.r_[np.arange(len(items[::7])) % 4, [1]]})
    fit = aggregate(glob, method, gold=gold, **params)
    ref = create_method(method, **params).fit(answers, gold=gold)
    assert_same(fit, ref)
    soft = fit.soft_labels_.compute().set_index("item")
    known = gold.iloc[:-1]
    assert fit.n_gold_ == len(known)  # the item nobody answered is not counted
    assert (soft.loc[known["item"], "label"].to_numpy() == known["label"].to_numpy()).all()
    assert (soft.loc[known["item"], "confidence"] == 1.0).all()
    free = create_method(method, **params).fit(answers)
    assert not np.allclose(free.skills_, ref.skills_) or method in ("majority-vote", "soft-vote")


def test_gold_ids_match_as_strings_when_none_match_as_they_are(client, synthetic):
    """As in-process: item ids given as strings find integer item ids."""
    answers, glob = synthetic
    gold = {str(i): i % 4 for i in range(0, 600, 5)}
    fit = aggregate(glob, "one-coin-dawid-skene", gold=gold)
    ref = create_method("one-coin-dawid-skene").fit(answers, gold=gold)
    assert (ref.annotations_.gold_codes(gold) >= 0).sum() == 120 == fit.n_gold_
    assert_same(fit, ref)


@pytest.mark.realdata
@pytest.mark.parametrize(("name", "method", "params"), [
    ("rte", "dawid-skene", {}),
    ("temp", "one-coin-dawid-skene", {"uncertainty": "plug-in"}),
    ("dog", "glad", {"n_iter": 3}),
    ("dog", "ibcc", {}),
])
def test_real_sets_with_gold_match_in_process(client, tmp_path, name, method, params):
    path, truth = DATA / name / "answers.csv", DATA / name / "truth.csv"
    if not (path.is_file() and truth.is_file()):
        pytest.skip(f"real data not found: {path}")
    answers = pd.read_csv(path).sample(frac=1.0, random_state=0).reset_index(drop=True)
    gold = pd.read_csv(truth).sample(frac=0.2, random_state=0)  # a fifth of the items known
    glob = write_parts(answers, tmp_path / name, n_files=4)
    assert_same(aggregate(glob, method, gold=gold, **params),
                create_method(method, **params).fit(answers, gold=gold))


def test_cli_gold_on_dask(client, synthetic, tmp_path, capsys):
    from softlabels.cli import main

    answers, glob = synthetic
    gold = pd.DataFrame({"item": [0, 3, 8], "label": [2, 2, 1]})
    gold.to_csv(tmp_path / "gold.csv", index=False)
    out = tmp_path / "soft"
    code = main(["aggregate", glob, "--engine", "dask", "--scheduler", client.scheduler.address,
                 "-m", "dawid-skene", "--gold", str(tmp_path / "gold.csv"), "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    ref = create_method("dawid-skene").fit(answers, gold=gold)
    expected = ref.soft_labels_.to_frame()
    got = pd.read_parquet(out).set_index("item").loc[expected["item"]]
    cols = [str(c) for c in ref.soft_labels_.classes]
    np.testing.assert_allclose(got[cols].to_numpy(), expected[cols].to_numpy(), rtol=0, atol=TOL)
    assert got.loc[[0, 3, 8], "label"].tolist() == [2, 2, 1]


def _two_class_crowd() -> pd.DataFrame:
    """Two classes, 40 workers of mixed skill: the spectral estimate succeeds."""
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 2, 400)
    skill = rng.uniform(0.55, 0.95, 40)
    rows = [(i, w, truth[i] if rng.random() < skill[w] else 1 - truth[i])
            for i in range(400) for w in rng.choice(40, 5, replace=False)]
    return pd.DataFrame(rows, columns=["item", "worker", "label"])


@pytest.mark.parametrize(("method", "params"), [
    ("dawid-skene", {"uncertainty": "plug-in", "n_iter": 5}),
    ("dawid-skene", {}),
    ("one-coin-dawid-skene", {"prior": "learn"}),
    ("glad", {"n_iter": 2, "m_steps": 4}),
    ("ibcc", {"n_iter": 5}),
])
def test_spectral_init_matches_in_process(client, tmp_path, method, params):
    """The moments summed over partitions give the in-process estimate: on a
    two-class crowd where it succeeds, and on the four-class synthetic set where it
    fails and both fall back to the soft vote."""
    from softlabels.infer.crowd.spectral import spectral_estimate

    two = _two_class_crowd().sample(frac=1.0, random_state=2).reset_index(drop=True)
    four = make_crowd(n_items=300, n_workers=20, n_classes=4, answers_per_item=4,
                      random_state=7)[0]
    assert spectral_estimate(Annotations.from_frame(two)) is not None
    assert spectral_estimate(Annotations.from_frame(four)) is None
    for name, answers in (("two", two), ("four", four)):
        glob = write_parts(answers, tmp_path / name)
        fit = aggregate(glob, method, init="spectral", **params)
        ref = create_method(method, init="spectral", **params).fit(answers)
        assert_same(fit, ref)
        plain = create_method(method, **params).fit(answers)
        if name == "two":  # the start matters
            assert not np.allclose(plain.skills_, ref.skills_, rtol=0, atol=1e-12)


def test_spectral_groups_follow_worker_ids_not_row_order(client, tmp_path):
    """Workers with as many answers each are grouped in the order of their ids, here
    and in-process, whatever order the rows come in (the grouping decides between an
    estimate and the soft-vote fallback on this table)."""
    answers = pd.DataFrame({"item": [0, 0, 0, 0, 1, 1, 1, 1], "worker": [3, 0, 1, 2] * 2,
                            "label": [1, 1, 1, 0, 1, 1, 1, 1]})
    glob = write_parts(answers, tmp_path / "ties", n_files=2)
    params = {"init": "spectral", "n_iter": 1, "tol": 0.0, "uncertainty": "plug-in"}
    for rows in (answers, answers.sort_values("worker", kind="stable")):
        assert_same(aggregate(glob, "dawid-skene", **params),
                    create_method("dawid-skene", **params).fit(rows))


@pytest.mark.realdata
@pytest.mark.parametrize(("name", "method"), [("rte", "dawid-skene"), ("dog", "dawid-skene"),
                                              ("temp", "ibcc")])
def test_real_sets_spectral_init_match_in_process(client, tmp_path, name, method):
    from softlabels.infer.crowd.spectral import spectral_estimate

    path = DATA / name / "answers.csv"
    if not path.is_file():
        pytest.skip(f"real data not found: {path}")
    answers = pd.read_csv(path).sample(frac=1.0, random_state=0).reset_index(drop=True)
    assert spectral_estimate(Annotations.from_frame(answers)) is not None
    glob = write_parts(answers, tmp_path / name, n_files=4)
    params = {"init": "spectral", "n_iter": 10}
    assert_same(aggregate(glob, method, **params), create_method(method, **params).fit(answers))


# --- stacking: folds from a distributed sort of the item ids, held-out refits --------


def assert_same_stack(fit, ref) -> None:
    """:func:`assert_same`, plus the stacking weights and held-out log-likelihoods."""
    assert_same(fit, ref)
    np.testing.assert_allclose(fit.weights_, ref.weights_, rtol=0, atol=TOL)
    np.testing.assert_allclose(fit.held_out_log_likelihood_, ref.held_out_log_likelihood_,
                               rtol=0, atol=TOL)
    assert [m.method for m in fit.members_] == [m.name for m in ref.members_]


@pytest.fixture(scope="module")
def small_crowd(shuffled_crowd) -> pd.DataFrame:
    return shuffled_crowd(200, 15, seed=3, order_seed=2)


def test_fold_keys_are_the_in_process_draws():
    """Each range of ranks draws its keys from the stream jumped ahead to it: the very
    values of ``integers(0, 2**63, uint64)`` drawn in one go (one 64-bit output each)."""
    from softlabels.engines.dask import _FoldKeys, _fold_stream

    n = 50
    whole = np.random.default_rng(11).integers(0, 2**63, size=2 * n, dtype=np.uint64)
    keys = _FoldKeys(_fold_stream(11), n)
    got = np.concatenate([keys(0, 17), keys(17, 0), keys(17, 33)])
    np.testing.assert_array_equal(got[:, 0], whole[:n])
    np.testing.assert_array_equal(got[:, 1], whole[n:])


def test_sorted_fill_ranks_mixed_ids_as_in_process(client):
    """The distributed sort gives every id its in-process rank (``item_order``), by
    text where the ids do not compare."""
    import dask

    from softlabels.engines.dask import _ids_as_text, _sorted_fill
    from softlabels.infer.crowd.ebcc import item_order

    rng = np.random.default_rng(0)
    ids = np.empty(300, dtype=object)
    ids[:] = [f"i{v}" if v % 3 else int(v) for v in rng.permutation(1000)[:300]]
    parts = [ids[:120], ids[120:121], ids[121:121], ids[121:]]
    kinds = [{type(x): x for x in p} for p in parts]
    assert _ids_as_text(kinds) and not _ids_as_text([{int: 3}, {float: 2.5}])
    def count_from(offset: int, count: int) -> np.ndarray:
        return np.arange(offset, offset + count)

    got = dask.compute(_sorted_fill([dask.delayed(p.astype(str)) for p in parts],
                                    count_from))[0]
    rank = np.empty(ids.size, dtype=np.int64)
    rank[item_order(ids)] = np.arange(ids.size)
    np.testing.assert_array_equal(np.concatenate(got), rank)


def test_stacked_matches_in_process(client, synthetic):
    """The default stack (full and one-coin Dawid–Skene, leave-self-out, 5 folds):
    weights, held-out log-likelihoods, soft labels, skills."""
    answers, glob = synthetic
    fit = aggregate(glob, "stacked")
    ref = create_method("stacked").fit(answers)
    assert 0.0 < ref.weights_.min()  # both members count: the weights are tested
    assert_same_stack(fit, ref)
    assert fit.soft_labels_.npartitions == 3


def test_stacked_mixed_ids_generator_and_gold(client, small_crowd):
    """Item ids of two types (sorted by text, as in-process), a seeded Generator (left
    where the in-process fit leaves it), other members, three folds, gold labels."""
    import dask

    answers = small_crowd.copy()
    answers["item"] = [f"q{i}" if i % 2 else int(i) for i in answers["item"]]
    with dask.config.set({"dataframe.convert-string": False}):  # keep the ids' types
        ddf = dd.from_pandas(answers, npartitions=3)
        assert {type(x) for x in ddf["item"].compute()} == {int, str}
    params = {"members": ["soft-vote", ("one-coin-dawid-skene", {"prior": "learn"}),
                          ("dawid-skene", {"uncertainty": "plug-in", "n_iter": 8})],
              "n_folds": 3, "prior_strength": 1.0}
    gold = {answers["item"].iloc[0]: answers["label"].iloc[0],
            answers["item"].iloc[5]: answers["label"].iloc[5]}
    g_ref, g_dask = np.random.default_rng(5), np.random.default_rng(5)
    ref = create_method("stacked", random_state=g_ref, **params).fit(answers, gold=gold)
    # Arrow (the P2P shuffle) holds no column of mixed types: the task shuffle
    with dask.config.set({"dataframe.convert-string": False, "dataframe.shuffle.method": "tasks"}):
        fit = aggregate(ddf, "stacked", random_state=g_dask, gold=gold, **params)
        assert_same_stack(fit, ref)
    assert g_ref.integers(0, 2**62) == g_dask.integers(0, 2**62)
    other = create_method("stacked", random_state=6, **params).fit(answers, gold=gold)
    assert np.abs(other.weights_ - ref.weights_).max() > 1e-6  # the seed does matter


def test_stacked_temperature_subsample_is_the_in_process_one(client, small_crowd, tmp_path,
                                                             monkeypatch):
    """Above the temperature's answer budget each member's temperature is fitted on the
    fold's training answers chosen by content, as in-process, whatever the row order."""
    import softlabels.infer.em as em

    glob = write_parts(small_crowd, tmp_path / "answers")
    monkeypatch.setattr(em, "_TEMPERATURE_ANSWERS", len(small_crowd) // 7)
    assert em.temperature_step(len(small_crowd) * 4 // 5) > 1
    fit = aggregate(glob, "stacked", random_state=1)
    assert_same_stack(fit, create_method("stacked", random_state=1).fit(small_crowd))
    shuffled = small_crowd.sample(frac=1.0, random_state=8)
    assert_same_stack(fit, create_method("stacked", random_state=1).fit(shuffled))


def test_stacked_errors_are_named(client, small_crowd):
    ddf = dd.from_pandas(small_crowd, npartitions=2)
    with pytest.raises(InvalidParameterError, match="Generator on MT19937"):
        aggregate(ddf, "stacked", random_state=np.random.Generator(np.random.MT19937(0)))
    with pytest.raises(InvalidParameterError, match="does not run on a partitioned engine"):
        aggregate(ddf, "stacked", members=["kos", "soft-vote"])


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["temp"])  # weights .45 / .55: both members count
def test_real_sets_stacked_match_in_process(client, tmp_path, name):
    path = DATA / name / "answers.csv"
    if not path.is_file():
        pytest.skip(f"real data not found: {path}")
    answers = pd.read_csv(path).sample(frac=1.0, random_state=0).reset_index(drop=True)
    glob = write_parts(answers, tmp_path / name, n_files=4)
    assert_same_stack(aggregate(glob, "stacked"), create_method("stacked").fit(answers))


def test_cli_default_on_dask_is_stacked(small_crowd, tmp_path, capsys):
    """``softlabels aggregate ... --engine dask --local-workers 2`` fits the in-process
    default (stacked) with its numbers, on a cluster of its own."""
    from softlabels.cli import main
    from softlabels.core.defaults import DEFAULT_CROWD_METHOD, DEFAULT_DASK_METHOD

    assert DEFAULT_DASK_METHOD == DEFAULT_CROWD_METHOD == "stacked"
    glob = write_parts(small_crowd, tmp_path / "answers")
    out, workers = tmp_path / "soft", tmp_path / "workers.csv"
    code = main(["aggregate", glob, "--engine", "dask", "--local-workers", "2", "-o", str(out),
                 "--workers-out", str(workers), "--seed", "4"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "; stacked" in captured.out
    ref = create_method("stacked", random_state=4).fit(small_crowd)
    assert_cli_output(out, workers, ref)


def test_python_default_on_dask_is_the_in_process_default(client, small_crowd):
    """``engines.dask.aggregate`` without a method fits the in-process default (stacked),
    as ``softlabels.aggregate`` and ``softlabels aggregate --engine dask`` do."""
    from softlabels.core.defaults import DEFAULT_CROWD_METHOD

    fit = aggregate(dd.from_pandas(small_crowd, npartitions=2))
    assert fit.method == DEFAULT_CROWD_METHOD
    assert_same_stack(fit, create_method(DEFAULT_CROWD_METHOD).fit(small_crowd))


@pytest.mark.parametrize("method", ["dawid-skene", "one-coin-dawid-skene"])
@pytest.mark.parametrize("uncertainty", ["tempered", "leave-self-out"])
def test_a_block_of_items_without_answers_tempers_to_the_prior(method, uncertainty):
    """A stacking fold can hold out every answer of a partition's items: the block keeps
    its items and no answer, and their tempered posterior is the class prior."""
    from softlabels.engines.blocks import plan_for

    none = np.zeros(0, dtype=np.int64)
    block = Annotations(none, none, none.astype(np.int32), np.array(["a", "b"]),
                        np.zeros(3, dtype=np.bool_), np.arange(3))
    plan = plan_for(create_method(method, uncertainty=uncertainty))
    totals = {"pairs": np.ones((9, 3)), "agree": np.ones(3), "per_worker": np.full(3, 2.0),
              "class_mass": np.ones(3), "n_answers": 6.0}
    prior = np.array([0.5, 0.3, 0.2])
    terms = plan.temper_terms(block, plan.start(block)[0], plan.held_out_params(totals), prior,
                              (1, None))
    (post,) = plan.tempered_post(block, terms, prior, 1.0)
    np.testing.assert_allclose(post, np.tile(prior, (2, 1)), rtol=0, atol=1e-15)


@pytest.mark.parametrize("engine", ["numpy", "dask"])
def test_cli_gold_errors_name_the_gold_file_on_both_engines(client, synthetic, tmp_path, capsys,
                                                            engine):
    """A gold file none of whose items were answered is taken for a mistake, and a
    gold label that is not a class is named with the gold file, on either engine. On
    Dask the first was fitted without gold and the second named the answers."""
    from softlabels.cli import main

    answers, glob = synthetic
    source = glob
    if engine == "numpy":
        source = str(tmp_path / "answers.parquet")
        answers.to_parquet(source, index=False)
    cases = [(pd.DataFrame({"item": [10_000, 10_001], "label": [2, 1]}),
              "none of its items appear in"),
             (pd.DataFrame({"item": [0, 3], "label": [2, 9]}), "gold label 9 (item 3)")]
    extra = ["--scheduler", client.scheduler.address] if engine == "dask" else []
    for n, (gold, message) in enumerate(cases):
        path = tmp_path / f"gold{n}.csv"
        gold.to_csv(path, index=False)
        out = tmp_path / (f"soft{n}" if engine == "dask" else f"soft{n}.csv")
        code = main(["aggregate", source, "--engine", engine, *extra, "-m", "majority-vote",
                     "--gold", str(path), "-o", str(out)])
        err = capsys.readouterr().err
        assert code == 2, err
        assert err.startswith(f"error: {path}: ") and message in err, err
        assert not out.exists()
