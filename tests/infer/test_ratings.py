"""Ratings: DeQA-Score soft labels over levels (and back) and crowd rating aggregation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm

from softlabels import InputError, InvalidParameterError, SoftLabels
from softlabels.infer.base import clone
from softlabels.infer.ratings import (
    DeQAGaussian,
    RatingAggregator,
    deqa_level_probs,
    gaussian_to_soft_labels,
    normalize_scores,
    soft_labels_to_gaussian,
)

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "crowd" / "emotion"
LEVELS = np.arange(1.0, 6.0)


def official_builder(mu: float, sd: float, density: str) -> tuple[list[float], bool]:
    """A plain transcription of the DeQA-Score soft-label recipe (levels 5..1)."""
    probs = []
    for x in range(5, 0, -1):
        if density == "cdf":
            probs.append(norm.cdf(x + 0.5, mu, sd) - norm.cdf(x - 0.5, mu, sd))
        else:
            probs.append(norm.pdf(x, loc=mu, scale=sd))
    big_a = sum(probs)
    big_b = sum(p * x for p, x in zip(probs, [5, 4, 3, 2, 1]))
    alpha = (mu - 3) / (big_b - 3.0 * big_a + 1e-9)
    beta = (1.0 - alpha * big_a) / 5.0
    adjusted = [max(p * alpha + beta, 0.0) for p in probs]
    shift = abs(sum(p * x for p, x in zip(adjusted, [5, 4, 3, 2, 1])) - mu)
    if sd < 0.2 or shift > 0.1:
        low = int(np.floor(mu))
        binary = [0.0] * 5
        if low == 5:
            binary[0] = 1.0
        else:
            binary[5 - low] = low + 1 - mu
            binary[4 - low] = mu - low
        return binary, True
    return adjusted, False


# ---------------------------------------------------------------------- DeQA forward
@pytest.mark.parametrize("density", ["pdf", "cdf"])
def test_matches_the_official_builder(density):
    rng = np.random.default_rng(0)
    mu = rng.uniform(1.0, 5.0, 400)
    sd = rng.uniform(0.05, 1.5, 400)
    ours, binary = deqa_level_probs(mu, sd, levels=(5, 4, 3, 2, 1), density=density)
    ref = [official_builder(m, s, density) for m, s in zip(mu, sd)]
    np.testing.assert_allclose(ours, np.array([r[0] for r in ref]), atol=1e-7)
    assert binary.tolist() == [r[1] for r in ref]
    assert 0.1 < binary.mean() < 0.6  # both branches are exercised
    sums = ours.sum(axis=1)
    assert sums.max() > 1.01  # the official labels are not renormalised


def test_hand_computed_fallback_labels():
    probs, binary = deqa_level_probs([2.0, 2.25, 5.0, 1.0], [0.1, 0.0, 0.05, 0.19])
    assert binary.tolist() == [True] * 4
    np.testing.assert_allclose(
        probs,
        [[0, 1, 0, 0, 0], [0, 0.75, 0.25, 0, 0], [0, 0, 0, 0, 1], [1, 0, 0, 0, 0]],
        atol=1e-12,
    )


def test_unclipped_label_solves_the_two_equations_by_hand():
    mu, sd = 3.2, 0.7
    p = norm.pdf(LEVELS, mu, sd)
    # alpha A + 5 beta = 1 and alpha B + 15 beta = mu
    alpha, beta = np.linalg.solve([[p.sum(), 5.0], [p @ LEVELS, 15.0]], [1.0, mu])
    probs, binary = deqa_level_probs([mu], [sd])
    assert not binary[0]
    np.testing.assert_allclose(probs[0], alpha * p + beta, atol=1e-12)


def test_centre_uses_the_continuous_limit_not_the_uniform_label():
    at, _ = deqa_level_probs([3.0], [0.6])
    near, _ = deqa_level_probs([3.0 + 1e-4], [0.6])
    np.testing.assert_allclose(at, near, atol=1e-3)
    assert at[0, 2] > 0.5  # the official 0/0 would give 0.2 everywhere


@pytest.mark.parametrize("density", ["pdf", "cdf"])
@given(
    mu=st.floats(1.0, 5.0),
    sd=st.floats(0.0, 20.0),
)
def test_project_keeps_mass_and_mean_exactly(density, mu, sd):
    s = gaussian_to_soft_labels([mu], [sd], density=density)
    q = s.probs[0]
    assert (q >= 0).all()
    assert abs(q.sum() - 1.0) < 1e-12
    assert abs(q @ LEVELS - mu) < 1e-9
    raw, binary = deqa_level_probs([mu], [sd], density=density)
    if (raw[0] > 0).all() or binary[0]:
        np.testing.assert_allclose(q, raw[0] / raw[0].sum(), atol=1e-12)


def test_project_is_continuous_where_a_level_reaches_zero():
    # at mu = 3.5 the official level-1 weight is exactly 0 for every spread
    eps = 1e-7
    below = gaussian_to_soft_labels([3.5 - eps], [0.8]).probs
    above = gaussian_to_soft_labels([3.5 + eps], [0.8]).probs
    at = gaussian_to_soft_labels([3.5], [0.8]).probs
    assert np.abs(below - above).max() < 1e-5
    assert np.abs(at - above).max() < 1e-5


def test_divide_moves_the_mean_and_project_does_not():
    raw, _ = deqa_level_probs([4.3], [0.6])
    assert raw.sum() > 1.005
    divided = gaussian_to_soft_labels([4.3], [0.6], renormalize="divide").probs[0]
    projected = gaussian_to_soft_labels([4.3], [0.6]).probs[0]
    np.testing.assert_allclose(divided, raw[0] / raw.sum())
    assert abs(divided @ LEVELS - 4.3) > 0.01
    assert abs(projected @ LEVELS - 4.3) < 1e-12


def test_soft_labels_metadata_and_level_order():
    s = gaussian_to_soft_labels([3.2, 1.5], [0.7, 0.5], item_ids=["a", "b"], support=[4, 2])
    assert isinstance(s, SoftLabels)
    assert s.classes.tolist() == [1, 2, 3, 4, 5]
    assert s.item_ids.tolist() == ["a", "b"]
    assert s.support.tolist() == [4.0, 2.0]
    assert s.provenance["method"] == "deqa-gaussian"
    assert s.provenance["params"]["renormalize"] == "project"
    rev = gaussian_to_soft_labels([3.2, 1.5], [0.7, 0.5], levels=[5, 4, 3, 2, 1])
    np.testing.assert_allclose(rev.probs, s.probs[:, ::-1])
    wide = gaussian_to_soft_labels([32.0, 15.0], [7.0, 5.0], levels=[10, 20, 30, 40, 50])
    np.testing.assert_allclose(wide.probs, s.probs, atol=1e-12)  # only the scale differs


# ---------------------------------------------------------------------- round trip
levels_st = st.sampled_from([(1, 2, 3, 4, 5), (0, 2.5, 5, 7.5, 10), (1, 2, 3, 4, 5, 6, 7)])


@given(
    levels=levels_st,
    u=st.floats(0.0, 1.0),
    sd_steps=st.floats(0.2, 2.0),
    density=st.sampled_from(["pdf", "cdf"]),
)
def test_round_trip_recovers_mean_and_std(levels, u, sd_steps, density):
    lv = np.asarray(levels, dtype=float)
    step = lv[1] - lv[0]
    mu = lv[0] + u * (lv[-1] - lv[0])
    sd = sd_steps * step
    s = gaussian_to_soft_labels([mu], [sd], levels=levels, density=density)
    g = soft_labels_to_gaussian(s, density=density)
    assert g["mean"].iloc[0] == pytest.approx(mu, abs=1e-9 * step)
    if g["binary"].iloc[0]:
        assert np.isnan(g["std"].iloc[0])
        return
    back = gaussian_to_soft_labels([g["mean"].iloc[0]], [g["std"].iloc[0]], levels=levels,
                                   density=density)
    # the label is reproduced (to 1e-10 but for rare labels whose residual crosses zero
    # twice within one grid step)
    np.testing.assert_allclose(back.probs, s.probs, atol=1e-5)
    raw, _ = deqa_level_probs([mu], [sd], levels=levels, density=density)
    if (raw > 1e-9).all():  # no level clipped: the spread is identified
        assert g["std"].iloc[0] == pytest.approx(sd, rel=1e-5)


def test_round_trip_vectorised_many_rows():
    rng = np.random.default_rng(3)
    mu = rng.uniform(1, 5, 500)
    sd = rng.uniform(0.2, 1.5, 500)
    s = gaussian_to_soft_labels(mu, sd)
    g = soft_labels_to_gaussian(s)
    raw, binary = deqa_level_probs(mu, sd)
    np.testing.assert_allclose(g["mean"], mu, atol=1e-9)
    shape = g["binary"].to_numpy()
    assert shape[binary].all()  # fallback labels, and projections onto two levels
    assert (shape & ~binary).sum() < 0.1 * len(mu)
    ok = (raw > 1e-9).all(axis=1) & ~binary
    assert ok.sum() > 100
    np.testing.assert_allclose(g["std"].to_numpy()[ok], sd[ok], rtol=1e-5)


def test_moments_are_the_discrete_mean_and_std():
    q = np.array([[0.0, 0.25, 0.5, 0.25, 0.0], [0.1, 0.2, 0.3, 0.2, 0.2]])
    g = soft_labels_to_gaussian(q, levels=LEVELS, method="moments")
    mean = q @ LEVELS
    np.testing.assert_allclose(g["mean"], mean)
    np.testing.assert_allclose(g["std"], np.sqrt(q @ LEVELS**2 - mean**2))
    assert g["std"].iloc[0] == pytest.approx(np.sqrt(0.5))
    assert g["binary"].tolist() == [False, False]


def test_binary_labels_have_no_spread():
    s = gaussian_to_soft_labels([2.3, 4.0], [0.1, 0.0])
    g = soft_labels_to_gaussian(s)
    assert g["binary"].tolist() == [True, True]
    assert g["std"].isna().all()
    np.testing.assert_allclose(g["mean"], [2.3, 4.0])


def test_normalize_scores_maps_like_deqa():
    mos = np.array([10.0, 55.0, 100.0])
    m, s = normalize_scores(mos, [9.0, 18.0, 0.0])
    np.testing.assert_allclose(m, 4 * (mos - 10) / 90 + 1)
    np.testing.assert_allclose(s, 4 * np.array([9.0, 18.0, 0.0]) / 90)
    m2, none = normalize_scores([0.5], low=0.0, high=1.0, levels=(0, 10))
    assert m2.tolist() == [5.0] and none is None


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: gaussian_to_soft_labels([3], [1], levels=[1, 2, 4]), InvalidParameterError,
         "equally spaced"),
        (lambda: gaussian_to_soft_labels([3], [1], levels=[1]), InvalidParameterError,
         "at least two"),
        (lambda: gaussian_to_soft_labels([3, 6.5], [1, 1]), InputError,
         r"within the levels \[1, 5\]; row 1 is 6.5"),
        (lambda: gaussian_to_soft_labels([3, 3], [1, -1]), InputError,
         "non-negative; row 1"),
        (lambda: gaussian_to_soft_labels([3, 3], [1]), InputError, "std has 1 values"),
        (lambda: gaussian_to_soft_labels([3, np.nan], [1, 1]), InputError,
         "mean has 1 non-finite values"),
        (lambda: gaussian_to_soft_labels([3], [1], density="pmf"), InvalidParameterError,
         "'density'"),
        (lambda: gaussian_to_soft_labels([3], [1], renormalize="refit"), InvalidParameterError,
         "'renormalize'"),
        (lambda: soft_labels_to_gaussian([[0.5, 0.5]]), InvalidParameterError,
         "levels must be given"),
        (lambda: soft_labels_to_gaussian([[0.5, 0.5]], levels=[1, 2, 3]), InvalidParameterError,
         "3 values but the soft labels have 2 columns"),
        (lambda: normalize_scores([1, 1]), InvalidParameterError, "high > low"),
    ],
)
def test_errors_name_the_problem(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------- aggregation
def ratings_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item": ["a", "a", "a", "b", "b", "b", "b", "c"],
            "worker": ["u", "v", "w", "u", "v", "w", "x", "x"],
            "label": [4, 5, 4, 2, 1, 2, 5, 3],
        }
    )


def test_mean_and_median_by_hand():
    agg = RatingAggregator(method="mean").fit(ratings_frame())
    est = agg.estimates_.set_index("item")
    assert est.loc["a", "mean"] == pytest.approx(13 / 3)
    assert est.loc["b", "mean"] == pytest.approx(2.5)
    assert est.loc[:, "median"].tolist() == [4.0, 2.0, 3.0]
    assert est.loc[:, "n_ratings"].tolist() == [3, 4, 1]
    assert est.loc["a", "spread"] == pytest.approx(np.std([4, 5, 4], ddof=1))
    assert est.loc["c", "spread"] == 0.0
    pooled = np.sqrt((np.var([4, 5, 4]) * 3 + np.var([2, 1, 2, 5]) * 4) / (2 + 3))
    assert est.loc["b", "std_error"] == pytest.approx(pooled / 2)
    assert est.loc[:, "estimate"].tolist() == est.loc[:, "mean"].tolist()
    med = RatingAggregator(method="median").fit(ratings_frame()).estimates_
    assert med["estimate"].tolist() == [4.0, 2.0, 3.0]
    assert med["std_error"].iloc[1] == pytest.approx(np.sqrt(np.pi / 2) * pooled / 2)
    assert agg.levels_.tolist() == [1, 2, 3, 4, 5]
    assert agg.reliability_frame()["weight"].tolist() == [1.0] * 4


def naive_em(df: pd.DataFrame, nu0: float, n_iter: int) -> tuple[dict, dict]:
    """The Gaussian worker-variance EM written with dictionaries and loops."""
    rows = list(df.itertuples(index=False))
    workers = sorted(set(df.worker))
    items = sorted(set(df.item))
    v = {w: float(np.var(df.label)) for w in workers}
    for _ in range(n_iter):
        mu, big_w = {}, {}
        for i in items:
            mine = [r for r in rows if r.item == i]
            big_w[i] = sum(1 / v[r.worker] for r in mine)
            mu[i] = sum(r.label / v[r.worker] for r in mine) / big_w[i]
        e2 = {r: (r.label - mu[r.item]) ** 2 + 1 / big_w[r.item] for r in rows}
        s0 = len(rows) / sum(1 / v[r.worker] for r in rows)  # harmonic mean over answers
        v = {
            w: (sum(e for r, e in e2.items() if r.worker == w) + nu0 * s0)
            / (sum(1 for r in rows if r.worker == w) + nu0)
            for w in workers
        }
    for i in items:
        mine = [r for r in rows if r.item == i]
        mu[i] = sum(r.label / v[r.worker] for r in mine) / sum(1 / v[r.worker] for r in mine)
    return mu, v


def synthetic_ratings(seed: int, n_items: int = 120, n_workers: int = 12, k: int = 5):
    rng = np.random.default_rng(seed)
    truth = rng.uniform(1, 5, n_items)
    sd = np.where(np.arange(n_workers) < n_workers // 3, 2.0, 0.3)
    item = np.repeat(np.arange(n_items), k)
    worker = np.concatenate([rng.choice(n_workers, k, replace=False) for _ in range(n_items)])
    label = truth[item] + sd[worker] * rng.standard_normal(item.size)
    df = pd.DataFrame({"item": item, "worker": worker, "label": label})
    return df, truth, sd


def test_reliability_em_matches_a_naive_reference():
    df, _, _ = synthetic_ratings(0, n_items=25, n_workers=6, k=3)
    agg = RatingAggregator(prior_strength=3.0, n_iter=15, tol=0.0).fit(df)
    mu, v = naive_em(df, 3.0, 15)
    est = agg.estimates_.set_index("item")["estimate"]
    np.testing.assert_allclose([est[i] for i in sorted(mu)], [mu[i] for i in sorted(mu)],
                               rtol=1e-10)
    var = agg.reliability_frame().set_index("rater")["variance"]
    np.testing.assert_allclose([var[w] for w in sorted(v)], [v[w] for w in sorted(v)],
                               rtol=1e-10)
    assert agg.n_iter_ == 15 and not agg.converged_


def test_reliability_finds_the_noisy_workers_and_beats_the_mean():
    df, truth, sd = synthetic_ratings(1)
    agg = RatingAggregator().fit(df)
    assert agg.converged_
    var = agg.reliability_frame().sort_values("rater")["variance"].to_numpy()
    assert var[sd > 1].min() > 4 * var[sd < 1].max()
    est = agg.estimates_.sort_values("item")
    mae_rel = np.abs(est["estimate"].to_numpy() - truth).mean()
    mae_mean = np.abs(est["mean"].to_numpy() - truth).mean()
    assert mae_rel < 0.75 * mae_mean
    se = est["std_error"].to_numpy()
    z = (est["estimate"].to_numpy() - truth) / se
    assert 0.6 < np.std(z) < 1.4  # the standard errors are about right


def test_strong_prior_gives_the_plain_mean():
    df, _, _ = synthetic_ratings(2, n_items=40)
    est = RatingAggregator(prior_strength=1e9).fit(df).estimates_
    np.testing.assert_allclose(est["estimate"], est["mean"], rtol=1e-6)


@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_row_order_only_permutes_the_output(mixed, seed):
    df, _, _ = synthetic_ratings(4, n_items=30)
    if mixed:  # worker ids that print alike: 3 and "3" are two workers
        ids = df["worker"].to_numpy()
        df["worker"] = pd.Series([w if w % 2 else str(w % 6) for w in ids], dtype=object)
    a = RatingAggregator().fit(df)
    shuffled = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    b = RatingAggregator().fit(shuffled)
    ea = a.estimates_.set_index("item").sort_index()
    eb = b.estimates_.set_index("item").sort_index()
    pd.testing.assert_frame_equal(ea, eb, check_exact=True)
    wa = a.reliability_frame().set_index("rater")
    wb = b.reliability_frame().set_index("rater")
    assert len(set(wa.index)) == len(wa) == len(wb)
    pd.testing.assert_frame_equal(wa, wb.loc[wa.index], check_exact=True)
    order = pd.Index(b.soft_labels_.item_ids).get_indexer(a.soft_labels_.item_ids)
    np.testing.assert_array_equal(b.soft_labels_.probs[order], a.soft_labels_.probs)


@pytest.mark.parametrize("method", ["reliability", "mean", "median"])
def test_estimator_contract(method):
    df, _, _ = synthetic_ratings(5, n_items=20)
    before = df.copy()
    model = RatingAggregator(method=method, levels=5)
    assert model.fit(df) is model
    pd.testing.assert_frame_equal(df, before)
    s = model.soft_labels_
    assert s.probs.shape == (20, 5)
    assert not np.isnan(s.probs).any()
    np.testing.assert_allclose(s.probs.sum(axis=1), 1.0, atol=1e-12)
    assert s.provenance["method"] == "rating-aggregator"
    assert s.provenance["params"]["method"] == method
    assert s.support.tolist() == [5.0] * 20
    assert s.item_ids.tolist() == model.estimates_["item"].tolist()
    np.testing.assert_allclose(s.probs @ model.levels_, model.estimates_["estimate"], atol=1e-9)
    twin = clone(model)
    assert twin.get_params() == model.get_params() and not hasattr(twin, "soft_labels_")


def test_std_error_uncertainty_round_trips():
    df, _, _ = synthetic_ratings(6, n_items=40)
    levels = np.arange(-4.0, 10.5, 0.5)
    model = RatingAggregator(method="mean", uncertainty="std_error", levels=levels).fit(df)
    g = soft_labels_to_gaussian(model.soft_labels_)
    est = model.estimates_
    keep = ~g["binary"].to_numpy()
    assert keep.mean() > 0.8
    np.testing.assert_allclose(g["mean"], est["estimate"], atol=1e-9)
    back = gaussian_to_soft_labels(g["mean"][keep], g["std"][keep], levels=model.levels_)
    np.testing.assert_allclose(back.probs, model.soft_labels_.probs[keep], atol=1e-8)


def test_levels_are_inferred_from_the_ratings():
    gaps = pd.DataFrame({"item": [1, 1, 2], "worker": list("abc"), "label": [1, 5, 2]})
    assert RatingAggregator(method="mean").fit(gaps).levels_.tolist() == [1, 2, 3, 4, 5]
    cont = gaps.assign(label=[0.13, 9.7, 4.4])
    np.testing.assert_allclose(RatingAggregator().fit(cont).levels_,
                               np.linspace(0.13, 9.7, 5))
    wide = gaps.assign(label=[0, 100, 50])
    np.testing.assert_allclose(RatingAggregator(levels=3).fit(wide).levels_, [0, 50, 100])


def test_other_column_names():
    df = ratings_frame().rename(columns={"item": "image", "worker": "rater", "label": "score"})
    agg = RatingAggregator(method="mean").fit(df, item_col="image", worker_col="rater",
                                              rating_col="score")
    assert agg.estimates_["estimate"].round(4).tolist() == [4.3333, 2.5, 3.0]


@pytest.mark.parametrize(
    "model, data, error, match",
    [
        (RatingAggregator(method="mode"), ratings_frame(), InvalidParameterError, "'method'"),
        (RatingAggregator(prior_strength=-1), ratings_frame(), InvalidParameterError,
         "'prior_strength'"),
        (RatingAggregator(levels=1), ratings_frame(), InvalidParameterError, "'levels'"),
        (RatingAggregator(levels=[1, 2, 4]), ratings_frame(), InvalidParameterError,
         "equally spaced"),
        (RatingAggregator(uncertainty="sd"), ratings_frame(), InvalidParameterError,
         "'uncertainty'"),
        (RatingAggregator(), ratings_frame().assign(label=list("45x21253")), InputError,
         r"numeric; the rating column 'label' holds 'x' \(data row 3\)"),
        (RatingAggregator(), ratings_frame().drop(columns="worker"), InputError,
         "no 'worker' column"),
        (RatingAggregator(), ratings_frame().assign(label=[4, 5, None, 2, 1, 2, 5, 3]),
         InputError, "missing values"),
        (RatingAggregator(levels=[2, 3, 4]), ratings_frame(), InputError,
         "within the levels"),
    ],
)
def test_aggregator_errors(model, data, error, match):
    with pytest.raises(error, match=match):
        model.fit(data)


# ---------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_emotion_reliability_beats_the_mean():
    if not (DATA / "answers.csv").exists():
        pytest.skip(f"real data not found at {DATA}")
    answers = pd.read_csv(DATA / "answers.csv")
    truth = pd.read_csv(DATA / "truth.csv").set_index("item")["label"]
    mae = {}
    for method in ("mean", "median", "reliability"):
        est = RatingAggregator(method=method).fit(answers).estimates_.set_index("item")
        mae[method] = float((est["estimate"] - truth.reindex(est.index)).abs().mean())
    assert mae["mean"] == pytest.approx(12.022, abs=1e-3)
    assert mae["median"] == pytest.approx(13.529, abs=1e-3)
    assert mae["reliability"] < mae["mean"] - 0.05


# ---------------------------------------------------------------------- source contract
def test_reliability_frame_one_row_per_rater_and_the_old_accessor_warns():
    df, _, _ = synthetic_ratings(5, n_items=30)
    agg = RatingAggregator().fit(df)
    frame = agg.reliability_frame()
    assert frame.columns.tolist() == ["rater", "n_ratings", "variance", "weight"]
    assert sorted(frame["rater"].tolist()) == sorted(df["worker"].unique().tolist())
    counts = df.groupby("worker").size()
    assert frame.set_index("rater")["n_ratings"].to_dict() == counts.to_dict()
    np.testing.assert_allclose(
        frame["weight"], (1 / frame["variance"]) / (1 / frame["variance"]).mean())
    frame.loc[0, "variance"] = -1.0  # a copy: the model is not changed
    assert (agg.reliability_frame()["variance"] > 0).all()
    with pytest.warns(FutureWarning, match="use reliability_frame"):
        old = agg.workers_
    pd.testing.assert_frame_equal(
        old, agg.reliability_frame().rename(columns={"rater": "worker"}))
    with pytest.raises(AttributeError, match="not fitted yet"):
        RatingAggregator().reliability_frame()


def test_deqa_gaussian_estimator_matches_the_function():
    rng = np.random.default_rng(7)
    mean, std = rng.uniform(1, 5, 60), rng.uniform(0.05, 1.2, 60)
    table = pd.DataFrame({"item": [f"i{j}" for j in range(60)], "mean": mean, "std": std})
    for kwargs in ({}, {"density": "cdf", "renormalize": "divide"},
                   {"levels": [0, 25, 50, 75, 100], "min_std": 0.5}):
        scale = 25.0 if "levels" in kwargs else 1.0
        low = 0.0 if "levels" in kwargs else 1.0
        shifted = table.assign(mean=low + (mean - 1) * scale, std=std * scale)
        model = DeQAGaussian(**kwargs).fit(shifted, support=np.full(60, 3.0))
        expected = gaussian_to_soft_labels(shifted["mean"], shifted["std"],
                                           item_ids=shifted["item"], **kwargs)
        np.testing.assert_array_equal(model.soft_labels_.probs, expected.probs)
        assert model.soft_labels_.classes.tolist() == expected.classes.tolist()
        assert model.soft_labels_.item_ids.tolist() == table["item"].tolist()
        assert model.soft_labels_.support.tolist() == [3.0] * 60
        assert model.soft_labels_.provenance["method"] == "deqa-gaussian"
        assert model.soft_labels_.provenance["params"] == {
            **model.get_params(), "levels": list(model.levels)}


@pytest.mark.parametrize("huge", [1e150, -1e160, 2.0**53 + 2])
def test_ratings_too_large_for_exact_levels_are_refused(huge):
    df = pd.DataFrame({"item": [1, 1, 2, 2], "worker": ["a", "b", "a", "b"],
                       "label": [3.0, huge, 2.0, 5.0]})
    with pytest.raises(InputError, match=r"data row 2 is .*within \+-2\*\*53"):
        RatingAggregator().fit(df)
    df["label"] = [3.0, 2.0**53, 2.0, 5.0]  # the largest allowed still fits
    assert np.isfinite(RatingAggregator().fit(df).estimates_["estimate"]).all()


def test_many_levels_pass_and_bad_ones_give_a_short_message():
    from softlabels.infer.ratings.levels import check_levels

    # levels a generator spaces evenly pass, however many and however large
    for levels in (np.linspace(2.0, 3.0, 1_000_001), np.linspace(1e8, 1e8 + 50.0, 51)):
        np.testing.assert_array_equal(check_levels(levels), levels)
    bad = np.arange(100_000, dtype=float)
    bad[70_000] += 0.5
    with pytest.raises(InvalidParameterError) as info:
        check_levels(bad)
    message = str(info.value)
    assert "from level 69999 to 70000 is 1.5, the first is 1" in message
    assert "(100,000 levels)" in message and len(message) < 300
    with pytest.raises(InvalidParameterError, match=r"\[1\.0, 2\.0, 4\.0\]"):
        check_levels([1, 2, 4])  # a short list is shown whole


def test_deqa_gaussian_round_trip_and_errors():
    s = gaussian_to_soft_labels([3.2, 2.6, 3.9], [0.7, 0.8, 0.5], item_ids=["a", "b", "c"])
    back = DeQAGaussian().fit(soft_labels_to_gaussian(s)).soft_labels_
    np.testing.assert_allclose(back.probs, s.probs, atol=1e-9)
    with pytest.raises(InputError, match="no 'std' column"):
        DeQAGaussian().fit(pd.DataFrame({"item": [1], "mean": [3.0]}))
    with pytest.raises(InputError, match="takes a DataFrame"):
        DeQAGaussian().fit(np.array([[3.0, 1.0]]))
    with pytest.raises(InvalidParameterError, match="'levels' parameter of DeQAGaussian must "
                                                    "be equally spaced"):
        DeQAGaussian(levels=[1, 2, 4]).fit(pd.DataFrame({"item": [1], "mean": [2], "std": [1]}))
    with pytest.raises(InvalidParameterError, match="'renormalize' parameter of DeQAGaussian"):
        DeQAGaussian(renormalize=None).fit(pd.DataFrame({"item": [1], "mean": [2], "std": [1]}))


@pytest.mark.parametrize(("cls", "name", "evidence"),
                         [(RatingAggregator, "rating-aggregator", "ratings"),
                          (DeQAGaussian, "deqa-gaussian", "rating-distributions")])
def test_sources_declare_name_evidence_and_fit_signature(cls, name, evidence):
    import inspect

    assert cls.name == name and cls.evidence == evidence
    params = list(inspect.signature(cls.fit).parameters.values())[1:]
    assert params[0].kind is params[0].POSITIONAL_ONLY
    assert all(p.kind is p.KEYWORD_ONLY for p in params[1:])
    assert set(cls._parameter_constraints) == set(cls._param_names())
    assert clone(cls()).get_params() == cls().get_params()


@pytest.mark.parametrize("levels", [True, 1, [1, 2, 4], "abc"])
def test_aggregator_levels_checked_by_the_hook(levels):
    with pytest.raises(InvalidParameterError, match="'levels' parameter of RatingAggregator"):
        RatingAggregator(levels=levels)._validate_params()


def test_docstring_examples():
    import doctest
    import importlib

    attempted = 0
    for name in ("levels", "deqa", "inverse", "normalize", "aggregator"):
        module = importlib.import_module(f"softlabels.infer.ratings.{name}")
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, name
        attempted += result.attempted
    assert attempted >= 15


@pytest.mark.parametrize("shift, scale", [(-1.0, 1.0), (10.0, 2.0), (-4.0, 1.0), (0.0, 0.5)])
def test_deqa_labels_do_not_depend_on_how_the_scale_is_written(shift, scale):
    # the same opinions on 1..5 written as 0..4, 12..20, -3..1 and 0.5..2.5: the labels
    # and the fallbacks must be the same (the clipped label's mean error is measured in
    # level positions, not on the written scale, whose origin would move it)
    rng = np.random.default_rng(0)
    mean, std = rng.uniform(1, 5, 400), rng.uniform(0, 1.5, 400)
    ref, ref_binary = deqa_level_probs(mean, std)
    levels = [scale * x + shift for x in (1, 2, 3, 4, 5)]
    probs, binary = deqa_level_probs(scale * mean + shift, scale * std, levels=levels)
    np.testing.assert_allclose(probs, ref, atol=1e-12)
    assert binary.tolist() == ref_binary.tolist()
    # a hand case: ratings 5, 5, 4, 3, 3 on 1..5 keep a spread label (mean 4, sd 1)
    one, flag = deqa_level_probs([4.0], [1.0])
    moved, moved_flag = deqa_level_probs([scale * 4.0 + shift], [scale * 1.0], levels=levels)
    assert not flag[0] and not moved_flag[0]
    np.testing.assert_allclose(moved, one, atol=1e-12)
