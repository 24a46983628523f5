"""Like forecast on synthetic data with known author and content effects."""

from __future__ import annotations

import io

import numpy as np
import pytest

from reelscope.core.analytics.forecast import (
    LikeFeatures,
    LikeForecaster,
    author_features,
    conformal_quantile,
    context_features,
    explain_forecast,
    fold_assignment,
)
from reelscope.core.analytics.forecast_eval import compare_models, cross_fitted_forecast, holdout_split


def synthetic(n: int = 1200, d: int = 24, seed: int = 0, noise: float = 0.5):
    """log1p(likes) = 0.8·log1p(followers) + 1.5·<w, emb> + noise, authors with 3 videos each."""
    rng = np.random.default_rng(seed)
    n_authors = -(-n // 3)
    author_of = np.repeat(np.arange(n_authors), 3)[:n]
    followers = np.exp(rng.normal(8, 1.5, n_authors))[author_of]
    hearts = followers * np.exp(rng.normal(2, 0.3, n_authors))[author_of]
    videos = rng.integers(5, 500, n_authors)[author_of]
    following = rng.integers(0, 2000, n_authors)[author_of]
    emb = rng.normal(size=(n, d))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    w = rng.normal(size=d)
    content = emb @ w * np.sqrt(d) / np.linalg.norm(w)  # ~N(0, 1)
    y = 0.8 * np.log1p(followers) + 1.5 * content + rng.normal(0, noise, n) - 2
    likes = np.expm1(np.clip(y, 0, None))
    posted = 1_700_000_000 + rng.integers(0, 90 * 86400, n)
    features = LikeFeatures(
        emb.astype(np.float32),
        author_features(followers, hearts, videos, following),
        context_features(rng.uniform(5, 60, n), posted),
    )
    return features, likes, [f"a{a}" for a in author_of], posted


def test_full_model_beats_author_only_and_content_only():
    features, likes, authors, posted = synthetic()
    for split in ("random", "author", "time"):
        res = compare_models(features, likes, split=split, groups=authors, times=posted)
        m = res["models"]
        assert m["full"]["r2"] > m["author"]["r2"] + 0.1, (split, m)
        assert m["full"]["r2"] > m["content"]["r2"] + 0.1, (split, m)
        assert m["full"]["r2"] > 0.8
        assert m["full"]["spearman"] > 0.85
        assert m["full"]["mae_log"] < m["author"]["mae_log"]
        assert res["reference_r2"] == pytest.approx(0.813)


def test_conformal_coverage_close_to_nominal():
    features, likes, authors, posted = synthetic(n=3000, seed=1)
    for coverage in (0.8, 0.9):
        res = compare_models(features, likes, coverage=coverage, test_size=0.4)
        got = res["models"]["full"]["coverage"]
        assert abs(got - coverage) < 0.05, (coverage, got)


def test_conformal_quantile_rank():
    r = np.arange(1, 10, dtype=float)  # n = 9, 80 % -> ceil(10 * 0.8) = 8th smallest
    assert conformal_quantile(r, 0.8) == 8.0
    assert conformal_quantile(r, 0.99) == 9.0


def test_forecast_parts_and_roundtrip():
    features, likes, _, _ = synthetic(n=400)
    model = LikeForecaster(n_components=8).fit(features, likes)
    out = model.forecast(features.take(np.arange(5)))
    for row in out:
        assert row["low"] <= row["forecast"] <= row["high"]
        assert row["model"] == "full" and row["coverage"] == 0.8
        # baseline × uplift reproduces the forecast on the log scale
        assert np.log1p(row["author_baseline"]) + np.log(row["content_uplift"]) == pytest.approx(
            row["log_forecast"], abs=1e-6)
    buf = io.BytesIO()
    np.savez(buf, **model.to_arrays())
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        again = LikeForecaster.from_arrays(z)
    np.testing.assert_allclose(again.predict_log(features), model.predict_log(features))
    assert again.q_ == pytest.approx(model.q_)


def test_unknown_author_uses_content_model():
    features, likes, _, _ = synthetic(n=400)
    model = LikeForecaster(n_components=8).fit(features, likes)
    f = features.take(np.arange(3))
    f = LikeFeatures(f.embedding, np.full_like(f.author, np.nan), f.context)
    out = model.forecast(f)
    assert all(r["model"] == "content" and r["author_baseline"] is None for r in out)
    text = explain_forecast(out[0], [{"id": "v1", "score": 0.9, "likes": 1234}])
    assert "content-only" in text and "v1" in text


def test_author_split_keeps_authors_apart_and_time_split_is_newest():
    groups = ["a", "a", "b", "b", "c", "c", None, None]
    train, test = holdout_split(8, "author", groups=groups, test_size=0.25)
    assert not {groups[i] for i in train if groups[i]} & {groups[i] for i in test if groups[i]}
    times = [5, 1, 7, None, 3, 8, 2, 6]
    _, test = holdout_split(8, "time", times=times, test_size=0.25)
    assert sorted(test.tolist()) == [2, 5]


def test_cross_fitted_forecast_is_out_of_fold():
    features, likes, _, _ = synthetic(n=300)
    pred = cross_fitted_forecast(features, likes, cv_folds=3, n_components=24)
    assert pred.shape == (300,) and np.all(pred >= 0)
    assert np.corrcoef(np.log1p(pred), np.log1p(likes))[0, 1] > 0.8
    # Each fold's forecasts are exactly those of a model fitted on the other folds alone.
    folds = fold_assignment(300, 3, 0)
    for k in range(3):
        held, rest = np.flatnonzero(folds == k), np.flatnonzero(folds != k)
        alone = LikeForecaster(n_components=24).fit(features.take(rest), likes[rest])
        np.testing.assert_allclose(pred[held], alone.predict(features.take(held)), rtol=1e-9)


def _split_conformal_reference(features, likes, train, test, nominal, seed):
    """Split conformal as the forecaster did before: fit on 75 %, calibrate on 25 %."""
    order = np.random.default_rng(seed).permutation(train)
    cal, fit = order[: len(order) // 4], order[len(order) // 4:]
    model = LikeForecaster(n_components=8, coverage=nominal).fit(features.take(fit), likes[fit])
    y = np.log1p(likes)
    q = conformal_quantile(np.abs(y[cal] - model.predict_log(features.take(cal))), nominal)
    return q, np.mean(np.abs(y[test] - model.predict_log(features.take(test))) <= q)


def test_cross_conformal_is_steadier_than_split_on_a_small_library():
    """240 videos, as in the demo: coverage stays near nominal and q varies less across seeds."""
    features, likes, _, _ = synthetic(n=300, seed=3, noise=0.8)
    nominal, y = 0.8, np.log1p(likes)
    ours, split = [], []
    for seed in range(20):
        train, test = holdout_split(len(likes), "random", test_size=0.2, random_state=seed)
        model = LikeForecaster(n_components=8, coverage=nominal, random_state=seed)
        model.fit(features.take(train), likes[train])
        pred = model.predict_log(features.take(test))
        ours.append((model.q_["full"], np.mean(np.abs(y[test] - pred) <= model.q_["full"])))
        split.append(_split_conformal_reference(features, likes, train, test, nominal, seed))
    ours, split = np.array(ours), np.array(split)
    assert abs(ours[:, 1].mean() - nominal) < 0.04, ours[:, 1].mean()
    assert ours[:, 0].std() < 0.7 * split[:, 0].std(), (ours[:, 0].std(), split[:, 0].std())
    # Fitting on every row and calibrating on every row: intervals no wider on average.
    assert ours[:, 0].mean() <= split[:, 0].mean() * 1.02


# ------------------------------------------------------- intervals by follower bin
def _followers_noise(n: int, seed: int, hetero: bool):
    """log1p(likes) = 0.8·log(followers) + <w, emb> + noise; noise sd 0.3 for small
    accounts up to 1.2 for large ones when ``hetero``, 0.6 for all otherwise."""
    rng = np.random.default_rng(seed)
    logf = rng.uniform(np.log(100), np.log(1e7), n)
    emb = rng.normal(size=(n, 16))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    content = emb @ rng.normal(size=16)
    sd = 0.3 + 0.9 * (logf - logf.min()) / np.ptp(logf) if hetero else np.full(n, 0.6)
    y = 2 + 0.8 * logf + content + rng.normal(0, 1, n) * sd
    followers = np.exp(logf)
    features = LikeFeatures(emb.astype(np.float32),
                            author_features(followers, followers * 10, np.full(n, 50.0), np.full(n, 100.0)),
                            context_features(np.full(n, 20.0), 1_700_000_000 + rng.integers(0, 9e6, n)))
    return features, np.expm1(y), logf


@pytest.mark.parametrize("hetero", [False, True])
def test_held_out_coverage_lands_in_binomial_band_overall_and_by_bin(hetero):
    from reelscope.core.analytics.forecast import binomial_band

    features, likes, logf = _followers_noise(2400, seed=5, hetero=hetero)
    y, nominal = np.log1p(likes), 0.8
    covered, bins = [], []
    for seed in range(5):
        train, test = holdout_split(len(y), "random", test_size=0.2, random_state=seed)
        model = LikeForecaster(n_components=16, random_state=seed).fit(features.take(train), likes[train])
        ft = features.take(test)
        inside = np.abs(y[test] - model.predict_log(ft)) <= model.half_width(ft)
        # Each split in its binomial band, Bonferroni over the 5 splits (a valid method
        # leaves one of five 95 % bands a quarter of the time).
        low, high = binomial_band(len(test), nominal, 1 - 0.05 / 5)
        assert low <= inside.mean() <= high, (hetero, seed, inside.mean())
        assert model.mondrian_ == hetero  # per-bin intervals only where the noise differs
        covered.append(inside)
        bins.append(np.searchsorted(np.quantile(logf, [1 / 3, 2 / 3]), logf[test]))
    covered, bins = np.concatenate(covered), np.concatenate(bins)
    assert abs(covered.mean() - nominal) <= 0.03
    for b in range(3):  # small, middle and large accounts each get the stated coverage
        low, high = binomial_band(int((bins == b).sum()), nominal)
        assert low <= covered[bins == b].mean() <= high, (hetero, b, covered[bins == b].mean())
    if hetero:  # large accounts' intervals are wider than small ones'
        assert model.q_bins_["full"][-1] > 2 * model.q_bins_["full"][0]


def test_one_global_interval_would_miss_by_bin_under_follower_dependent_noise():
    features, likes, logf = _followers_noise(2400, seed=6, hetero=True)
    y = np.log1p(likes)
    train, test = holdout_split(len(y), "random", test_size=0.3, random_state=0)
    model = LikeForecaster(n_components=16, max_bins=1).fit(features.take(train), likes[train])
    ft = features.take(test)
    inside = np.abs(y[test] - model.predict_log(ft)) <= model.half_width(ft)
    small = logf[test] < np.quantile(logf, 1 / 3)
    assert inside[small].mean() > 0.93 and inside[~small].mean() < 0.76


def test_follower_bins_merge_small_bins():
    from reelscope.core.analytics.forecast import follower_bins

    x = np.log1p(np.r_[np.full(100, 1000.0), np.linspace(2e3, 1e6, 50), [np.nan] * 7])
    edges = follower_bins(x, min_videos=40, max_bins=4)
    counts = np.bincount(np.searchsorted(edges, x[~np.isnan(x)], side="right"))
    assert len(counts) == len(edges) + 1 >= 2 and counts.min() >= 40, (edges, counts)
    assert len(follower_bins(x, min_videos=100, max_bins=4)) == 0  # 150 known: one bin
    assert len(follower_bins(x, min_videos=10, max_bins=1)) == 0


def test_oof_half_width_checks_every_fitting_video():
    features, likes, _ = _followers_noise(600, seed=7, hetero=False)
    model = LikeForecaster(n_components=16).fit(features, likes)
    from reelscope.core.analytics.forecast_eval import interval_check

    check = interval_check(model, features, likes)
    assert check["videos"] == 600 and abs(check["coverage"] - 0.8) < 0.06
    assert sum(b["videos"] for b in check["by_bin"]) == 600
    assert all(b["band_low"] < 0.8 < b["band_high"] for b in check["by_bin"])


def test_n_components_chosen_by_cross_validation():
    features, likes, _, _ = synthetic(n=400, d=24)
    model = LikeForecaster().fit(features, likes)
    from reelscope.core.analytics.forecast import COMPONENT_GRID

    assert model.n_components_ in {min(k, 24) for k in COMPONENT_GRID}
    assert model.pca_components_.shape[0] == model.n_components_


def test_models_stored_before_follower_bins_still_load():
    """A forecast.npz of the joint-ridge, one-interval format predicts as it did."""
    features, likes, _, _ = synthetic(n=200, d=24)
    model = LikeForecaster(n_components=8).fit(features, likes)
    X = model._design(features, "full")
    from reelscope.core.analytics.forecast import _ridge

    joint = _ridge(X, np.log1p(likes), model.alphas)
    old = {k: v for k, v in model.to_arrays().items() if not k.startswith("uplift") and k != "bin_edges"}
    old.update({"full_mean": joint["mean"], "full_scale": joint["scale"], "full_coef": joint["coef"]})
    import json

    params = json.loads(str(old["params"]))
    for key in ("cv_folds", "min_bin_videos", "max_bins", "q_bins", "mondrian"):
        params.pop(key)
    params["intercept"] = {m: params["intercept"].get(m, joint["intercept"]) for m in ("author", "content", "full")}
    params["alpha"] = {m: params["alpha"].get(m, joint["alpha"]) for m in ("author", "content", "full")}
    old["params"] = np.array(json.dumps(params))
    buf = io.BytesIO()
    np.savez(buf, **old)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        loaded = LikeForecaster.from_arrays(z)
    Xs = (X - joint["mean"]) / joint["scale"]
    np.testing.assert_allclose(loaded.predict_log(features), Xs @ joint["coef"] + joint["intercept"])
    np.testing.assert_allclose(loaded.half_width(features), model.q_["full"])
    assert loaded.forecast(features.take(np.arange(2)))[0]["low"] >= 0


def test_old_forecast_comparison_json_loads():
    from reelscope.core.analytics.results import ForecastComparison, ForecastResult

    old = {"split": "random", "n_train": 240, "n_test": 60, "coverage_nominal": 0.8, "reference_r2": 0.813,
           "models": {"full": {"r2": 0.89, "mae_log": 0.6, "spearman": 0.9, "coverage": 0.91,
                               "interval_width_log": 2.3}}}
    comp = ForecastComparison.from_json(old)
    assert comp.models["full"].width_ratio is None and comp.coverage_by_bin is None
    assert comp.as_json() == old
    res = ForecastResult.from_json({"comparison": old, "videos": 300, "coverage": 0.8})
    assert res.mondrian is None and res.model("full").coverage == 0.91


def test_large_libraries_fit_block_by_block_with_the_same_model(monkeypatch):
    """Past forecast._ROWS rows the PCA and design matrices are built block by block (no
    float64 copy of every embedding: 600 MB at 300,000 videos); the model is the same."""
    import reelscope.core.analytics.forecast as forecast

    features, likes, _, _ = synthetic(n=600)
    whole = LikeForecaster(n_components=8).fit(features, likes)
    monkeypatch.setattr(forecast, "_ROWS", 97)
    blocks = LikeForecaster(n_components=8).fit(features, likes)
    np.testing.assert_allclose(blocks.pca_mean_, whole.pca_mean_, atol=1e-12)
    np.testing.assert_allclose(np.abs(blocks.pca_components_), np.abs(whole.pca_components_), atol=1e-9)
    np.testing.assert_allclose(blocks.predict_log(features), whole.predict_log(features), atol=1e-8)


def test_taken_rows_share_the_embeddings_and_fit_the_same_model(monkeypatch):
    """``take`` keeps the caller's embedding array (no 300 MB copy at 300,000 videos) and
    reads it a block at a time; the fitted model is that of a copy of those rows."""
    import reelscope.core.analytics.forecast as forecast

    features, likes, _, _ = synthetic(n=700)
    rows = np.sort(np.random.default_rng(5).choice(700, 500, replace=False))
    taken = features.take(rows)
    assert taken.source is features.source and len(taken) == 500
    again = taken.take(np.arange(0, 500, 7))  # a take of a take indexes the same array
    np.testing.assert_array_equal(again.embedding, features.embedding[rows[::7]])
    copied = LikeFeatures(features.embedding[rows], features.author[rows], features.context[rows])
    monkeypatch.setattr(forecast, "_ROWS", 64)  # many blocks
    a = LikeForecaster(n_components=8).fit(copied, likes[rows])
    b = LikeForecaster(n_components=8).fit(taken, likes[rows])
    np.testing.assert_array_equal(a.oof_log_, b.oof_log_)
    np.testing.assert_array_equal(a.predict_log(copied), b.predict_log(taken))


def test_ridges_of_large_libraries_are_fitted_on_a_sample_and_forecast_as_well(monkeypatch):
    """Past RIDGE_ROWS videos each ridge is fitted on a seeded sample (memory at 300,000
    videos); the forecasts stay as good and the calibration still uses every video."""
    import reelscope.core.analytics.forecast as forecast

    features, likes, _, _ = synthetic(n=1500)
    whole = LikeForecaster(n_components=8).fit(features, likes)
    monkeypatch.setattr(forecast, "RIDGE_ROWS", 600)
    sampled = LikeForecaster(n_components=8).fit(features, likes)
    y = np.log1p(likes)
    r2 = lambda m: 1 - np.mean((y - m.predict_log(features)) ** 2) / np.var(y)  # noqa: E731
    assert abs(r2(sampled) - r2(whole)) < 0.02 and r2(sampled) > 0.5
    assert len(sampled.oof_log_) == 1500  # every video calibrates the intervals
