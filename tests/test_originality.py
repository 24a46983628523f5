"""Originality scores and originality-vs-likes on synthetic data with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from reelscope.core.analytics.originality import OriginalityScorer, driver_words
from reelscope.core.analytics.originality_stats import originality_vs_likes
from reelscope.core.analytics.results import OriginalityResult


def clusters(rng, n: int, k: int, d: int, spread: float) -> np.ndarray:
    """float32 [n, d] unit rows around ``k`` random unit centres."""
    centres = rng.normal(size=(k, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[rng.integers(0, k, n)] + rng.normal(0, spread, (n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def library(seed: int = 0, n: int = 600, n_odd: int = 10, d: int = 16):
    """Clustered visual and audio embeddings; the last ``n_odd`` videos have pictures
    unlike any cluster (random directions) but sounds from the usual clusters.

    Returns ({"visual", "audio"}: float32 [n, d] unit rows, bool [n] mask of the odd ones).
    """
    rng = np.random.default_rng(seed)
    visual = clusters(rng, n, 5, d, 0.12)
    visual[n - n_odd:] = clusters(rng, n_odd, n_odd, d, 0.0)  # each its own direction
    audio = clusters(rng, n, 4, d, 0.15)
    return {"visual": visual, "audio": audio}, np.r_[np.zeros(n - n_odd, bool), np.ones(n_odd, bool)]


def test_planted_outliers_rank_on_top_and_every_member_is_a_bounded_rank() -> None:
    from sklearn.metrics import roc_auc_score

    emb, odd = library()
    scorer = OriginalityScorer().fit(emb)
    names = ["visual_knn", "visual_density", "visual_pca", "visual_iforest", "audio_knn"]
    assert scorer.detectors == names
    assert sum(scorer.weights_.values()) == pytest.approx(1.0)
    assert scorer.weights_["visual_knn"] == pytest.approx(0.2)  # alike: the picture holds 4/5
    n = len(odd)
    for name, pct in scorer.scores_.items():
        # rank-normalised: each row's (rank - 0.5) / n, so bounded away from 0 and 100 and uniform
        assert pct.shape == (n,) and pct.min() >= 50 / n - 1e-9 and pct.max() <= 100 - 50 / n + 1e-9
        assert pct.mean() == pytest.approx(50, abs=0.5), name
    ens = scorer.scores_["ensemble"]
    assert np.sort(ens) == pytest.approx(100 * (np.arange(n) + 0.5) / n)  # no ties: exact ranks
    assert set(np.argsort(-ens)[: odd.sum()]) == set(np.flatnonzero(odd))
    assert roc_auc_score(odd, ens) == 1.0
    for name in names[:4]:
        assert roc_auc_score(odd, scorer.scores_[name]) >= 0.95, name
    assert roc_auc_score(odd, scorer.scores_["audio_knn"]) < 0.8  # the sounds are ordinary


def test_a_video_extreme_on_one_member_stands_out_though_the_others_are_middling() -> None:
    """Fisher's combination: an odd sound (a fifth of the weight) lifts a video with an
    ordinary picture into the top quarter; a plain mean of ranks would leave it lower."""
    from scipy.stats import rankdata

    emb, _ = library(seed=4, n_odd=0)
    emb["audio"][7] = -emb["audio"][7]  # a sound unlike any cluster; the picture stays typical
    scorer = OriginalityScorer().fit(emb)
    assert scorer.scores_["audio_knn"][7] >= 99
    assert scorer.scores_["visual_knn"][7] < 90
    mean = sum(w * scorer.scores_[name] for name, w in scorer.weights_.items())
    mean_pct = 100 * (rankdata(mean)[7] - 0.5) / len(mean)
    assert scorer.scores_["ensemble"][7] >= 75 and scorer.scores_["ensemble"][7] > mean_pct + 5


def test_library_rows_score_as_in_fit_and_new_rows_rank_against_the_library() -> None:
    emb, odd = library(seed=1)
    scorer = OriginalityScorer(max_fit_samples=300).fit(emb)
    again = scorer.score(emb)
    for name in scorer.scores_:
        np.testing.assert_allclose(again[name], scorer.scores_[name])

    typical_row = int(np.argmin(scorer.scores_["ensemble"]))
    far = np.zeros(16, np.float32)
    far[0] = 1.0
    new = {"visual": np.stack([far, emb["visual"][typical_row] * 0.999]),
           "audio": np.stack([-emb["audio"][0], emb["audio"][typical_row] * 0.999])}
    got = scorer.score(new)
    assert got["ensemble"][0] >= 97 and got["ensemble"][1] <= 20
    for values in got.values():
        assert 0 <= values.min() and values.max() <= 100
    with pytest.raises(ValueError, match="missing for audio"):
        scorer.score({"visual": new["visual"]})


def test_one_array_still_works_and_finds_outliers_off_the_library_subspace() -> None:
    """Embeddings near a low-dimensional set; a video pointing elsewhere projects near the
    centre of the kept components, yet must still rank as most original."""
    rng = np.random.default_rng(3)
    latent = rng.normal(0, 3, (6, 6))[rng.integers(0, 6, 800)] + rng.normal(0, 1, (800, 6))
    inliers = latent @ rng.normal(size=(6, 64)) + rng.normal(0, 0.3, (800, 64))
    X = np.vstack([inliers, rng.normal(size=(8, 64))]).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    scorer = OriginalityScorer(pca_components=8).fit(X)
    assert scorer.detectors == ["knn", "density", "pca", "iforest"]
    assert scorer.scores_["knn"][800:].min() >= 95
    assert scorer.scores_["ensemble"][800:].min() >= 97


def test_large_libraries_use_the_approximate_index_with_the_same_answer() -> None:
    emb, odd = library(seed=2, n=1500)
    exact = OriginalityScorer().fit(emb)
    approx = OriginalityScorer(exact_below=100).fit(emb)
    assert approx.index_["visual"].uses_hnsw and not exact.index_["visual"].uses_hnsw
    for name in ("visual_knn", "visual_density", "audio_knn", "ensemble"):
        assert np.corrcoef(exact.scores_[name], approx.scores_[name])[0, 1] > 0.98, name
    assert approx.scores_["ensemble"][odd].min() >= 99


@pytest.mark.parametrize("exact_below", [5000, 100])
def test_a_stored_scorer_scores_and_explains_new_videos_as_the_fitted_one(exact_below) -> None:
    """analyze stores the scorer (to_arrays, no pickle); predict restores it on the same
    embeddings instead of refitting (minutes at 300,000 videos) and searches neighbours
    exactly. Exact-index libraries give the same numbers; HNSW ones the same up to the
    graph's recall."""
    import io

    emb, odd = library(seed=4, n=700)
    fitted = OriginalityScorer(max_fit_samples=300, exact_below=exact_below).fit(emb)
    buffer = io.BytesIO()
    np.savez(buffer, **fitted.to_arrays())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as z:
        restored = OriginalityScorer.from_arrays(z, emb)
    assert not restored.index_  # nothing rebuilt
    rng = np.random.default_rng(9)
    new = {"visual": clusters(rng, 40, 5, 16, 0.3), "audio": clusters(rng, 40, 4, 16, 0.3)}
    new["visual"][:3] = emb["visual"][:3]  # library rows keep their library percentiles
    new["audio"][:3] = emb["audio"][:3]
    want, got = fitted.score(new), restored.score(new)
    for name in want:
        if exact_below > 700:
            np.testing.assert_allclose(got[name], want[name], atol=1e-9, err_msg=name)
        else:
            assert np.abs(got[name] - want[name]).max() <= 2.0, name
    np.testing.assert_allclose(got["ensemble"][:3], fitted.scores_["ensemble"][:3])
    one = {m: x[5] for m, x in new.items()}
    ids = [f"v{i}" for i in range(700)]
    if exact_below > 700:
        assert restored.explain(one, ids) == fitted.explain(one, ids)
    row = int(np.flatnonzero(odd)[0])
    assert restored.reasons(row).score == fitted.scores_["ensemble"][row] >= 95
    with pytest.raises(ValueError, match="fitted on 700 videos"):
        OriginalityScorer.from_arrays(fitted.to_arrays(), {m: x[:600] for m, x in emb.items()})


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown members"):
        OriginalityScorer(members=(("visual", "magic"),)).fit(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        OriginalityScorer().fit(np.full((5, 3), np.nan))
    with pytest.raises(ValueError, match="no member"):
        OriginalityScorer(members=(("audio", "knn"),)).fit({"visual": np.eye(5), "other": np.eye(5)})
    with pytest.raises(ValueError, match="one row per video"):
        OriginalityScorer().fit({"visual": np.eye(5), "audio": np.eye(4)})
    with pytest.raises(RuntimeError, match="fit"):
        OriginalityScorer().score(np.zeros((1, 3)))
    scorer = OriginalityScorer().fit(np.random.default_rng(0).normal(size=(50, 4)))
    with pytest.raises(ValueError, match="shape"):
        scorer.score(np.zeros((1, 5)))


# ---------------------------------------------------------------- reasons
def test_reasons_name_the_nearest_typical_videos_and_what_differs() -> None:
    emb, odd = library(seed=5)
    n = len(odd)
    ids, authors = [f"v{i}" for i in range(n)], [f"@a{i % 7}" for i in range(n)]
    scorer = OriginalityScorer().fit(emb)
    typical = scorer.scores_["ensemble"] < 50

    row = int(np.flatnonzero(odd)[0])
    r = scorer.reasons(row, k=5)
    assert r.score == pytest.approx(scorer.scores_["ensemble"][row])
    assert r.driver.startswith("visual_")
    # brute force: the 5 typical videos nearest by the ensemble's modality shares (0.8 / 0.2)
    dist = 0.8 * (1 - emb["visual"] @ emb["visual"][row]) + 0.2 * (1 - emb["audio"] @ emb["audio"][row])
    dist[~typical] = np.inf
    assert r.nearest_typical == list(np.argsort(dist)[:5])
    assert row not in r.nearest_typical and typical[r.nearest_typical].all()
    assert r.distance["visual"] > 2 * r.typical_distance["visual"]
    assert r.distance["visual"] == pytest.approx(np.sort(1 - emb["visual"][typical] @ emb["visual"][row])[:5].mean(),
                                                 abs=1e-5)

    text = scorer.explain(row, ids, authors, k=5)
    for j in r.nearest_typical:
        assert f"{ids[j]} by {authors[j]}" in text
    assert "Its picture is unlike any typical video's" in text and "Mostly because its picture" in text
    assert (f"visual distance to the 5 nearest {r.distance['visual']:.2f}, "
            f"{r.typical_distance['visual']:.2f} between typical videos") in text
    assert "Its sound is as close to typical videos' as they are to each other" in text

    plain = int(np.argmin(scorer.scores_["ensemble"]))
    text = scorer.explain(plain, ids, authors, k=5)
    assert f"{ids[plain]} " not in text  # never its own neighbour
    assert "Its picture is as close to typical videos'" in text and "Mostly because" not in text

    new = {"visual": emb["visual"][row], "audio": emb["audio"][row]}  # a library row's twin
    assert scorer.reasons(new).nearest_typical == r.nearest_typical


def test_driver_words_and_old_stored_analyses() -> None:
    assert driver_words({"visual_knn": 97.2, "audio_knn": 40}) == \
        "its picture is unlike its nearest videos (97th percentile)"
    assert driver_words({"audio_knn": 99, "visual_pca": 60}).startswith("its sound is unlike")
    assert driver_words({"visual_knn": 60}) is None
    # an analysis stored before the ensemble: pyod detectors, no weights or reasons
    old = {"detectors": ["iforest", "ecod", "knn", "copod"], "most_original": ["a"],
           "least_original": ["b"], "vs_likes": None}
    result = OriginalityResult.from_json(old)
    assert result.detectors == old["detectors"] and result.weights is None and result.reasons is None
    assert result.as_json() == old  # written back unchanged
    assert driver_words({"iforest": 80.0, "ecod": 99.0, "copod": 10.0}) == \
        "its content is easily isolated from the rest (80th percentile)"
    assert driver_words({"ecod": 99.0}) is None


# ---------------------------------------------------------------- likes
def confounded(n: int, seed: int, effect: float = -0.4):
    """Original creators have more followers; followers drive likes; originality costs likes.

    So the raw correlation is positive while the one at equal followers is negative.
    """
    rng = np.random.default_rng(seed)
    log_followers = rng.normal(9, 1.5, n)
    latent = 0.6 * (log_followers - 9) / 1.5 + rng.normal(0, 1, n)
    log_likes = 1.0 * log_followers + effect * latent + rng.normal(0, 0.6, n)
    originality = 100 * (np.argsort(np.argsort(latent)) + 0.5) / n  # percentiles, as the scorer gives
    return originality, np.expm1(log_likes).round(), np.expm1(log_followers).round()


def test_raw_and_partial_rho_have_the_right_signs_and_cover_the_truth() -> None:
    truth = originality_vs_likes(*confounded(200_000, seed=99), n_boot=0)
    assert truth["raw"]["rho"] > 0.1 and truth["partial"]["rho"] < -0.2

    got = originality_vs_likes(*confounded(3000, seed=1), n_boot=400, seed=3)
    assert got["n"] == 3000 and got["within_groups"] is None and got["groups"] == {}
    for key in ("raw", "partial"):
        est = got[key]
        assert est["ci_low"] <= truth[key]["rho"] <= est["ci_high"], key
        assert est["ci_low"] < est["rho"] < est["ci_high"]
        assert est["p_value"] < 1e-6
    assert got["raw"]["ci_low"] > 0 and got["partial"]["ci_high"] < 0


def test_per_group_effects_and_missing_values() -> None:
    a = confounded(1500, seed=5, effect=-0.5)
    b = confounded(1500, seed=6, effect=+0.5)
    o, likes, followers = (np.r_[x, y] for x, y in zip(a, b))
    groups = np.array(["sound-a"] * 1500 + ["sound-b"] * 1500 + [])
    likes[:10] = np.nan  # missing metadata
    tiny = np.r_[groups[:-5], ["rare"] * 5]
    got = originality_vs_likes(o, likes, followers, groups=tiny, n_boot=200)
    assert got["n"] == 2990
    assert set(got["groups"]) == {"sound-a", "sound-b"}  # "rare" is below min_group_size
    assert got["groups"]["sound-a"]["partial"]["ci_high"] < 0
    assert got["groups"]["sound-b"]["partial"]["ci_low"] > 0
    assert got["groups"]["sound-a"]["n"] == 1490
    assert np.isfinite(got["within_groups"]["rho"])


def test_too_few_videos_give_nan_not_an_error() -> None:
    got = originality_vs_likes([1, 2, 3], [4, 5, 6], [7, 8, 9], n_boot=10)
    assert got["n"] == 3 and np.isnan(got["raw"]["rho"])
    with pytest.raises(ValueError, match="lengths"):
        originality_vs_likes([1, 2], [1], [1, 2])
