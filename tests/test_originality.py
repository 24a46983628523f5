"""Originality scores and originality-vs-likes on synthetic data with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from reelscope.core.analytics.originality import OriginalityScorer
from reelscope.core.analytics.originality_stats import originality_vs_likes

ALL = ("iforest", "ecod", "knn", "lof", "copod")


def planted(seed: int = 0, n_inliers: int = 600, n_outliers: int = 10, d: int = 16):
    """Five tight gaussian clusters plus outliers scattered over a wide box.

    Returns X float32 [n, d] and the bool [n] mask of the planted outliers.
    """
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-5, 5, size=(5, d))
    inliers = centres[rng.integers(0, 5, n_inliers)] + rng.normal(0, 0.5, (n_inliers, d))
    outliers = rng.uniform(-15, 15, size=(n_outliers, d))
    X = np.vstack([inliers, outliers]).astype(np.float32)
    is_outlier = np.r_[np.zeros(n_inliers, bool), np.ones(n_outliers, bool)]
    return X, is_outlier, centres


@pytest.mark.parametrize("pca, max_fit", [(None, 20_000), (8, 20_000), (8, 200)])
def test_planted_outliers_get_the_top_percentiles(pca, max_fit) -> None:
    X, is_outlier, _ = planted()
    scorer = OriginalityScorer(detectors=ALL, pca_components=pca, max_fit_samples=max_fit).fit(X)
    assert set(scorer.scores_) == set(ALL) | {"ensemble"}
    for name, pct in scorer.scores_.items():
        assert pct.shape == (len(X),) and 0 < pct.min() and pct.max() < 100
        assert pct.mean() == pytest.approx(50, abs=1)  # calibrated: uniform ranks
        top = np.argsort(-pct)[: is_outlier.sum()]
        assert is_outlier[top].mean() >= 0.9, name  # the planted ones come first
        assert pct[is_outlier].min() >= 95, name
    assert np.all(scorer.scores_["ensemble"][is_outlier] >= 98)


def test_outliers_off_the_library_subspace_are_found_after_pca() -> None:
    """Embeddings live near a low-dimensional set; a video pointing elsewhere projects
    near the centre of the kept components, yet must still rank as most original."""
    rng = np.random.default_rng(3)
    latent = rng.normal(0, 3, (6, 6))[rng.integers(0, 6, 800)] + rng.normal(0, 1, (800, 6))
    inliers = latent @ rng.normal(size=(6, 64)) + rng.normal(0, 0.3, (800, 64))
    outliers = rng.normal(size=(8, 64))
    X = np.vstack([inliers, outliers]).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    scorer = OriginalityScorer(detectors=ALL, pca_components=8).fit(X)
    for name, pct in scorer.scores_.items():
        assert pct[800:].min() >= 90, name
    assert scorer.scores_["ensemble"][800:].min() >= 98


def test_library_rows_score_as_in_fit_and_new_rows_rank_against_the_library() -> None:
    X, _, centres = planted(seed=1)
    scorer = OriginalityScorer(pca_components=8, max_fit_samples=300).fit(X)
    again = scorer.score(X)
    for name in scorer.scores_:
        np.testing.assert_allclose(again[name], scorer.scores_[name])

    new = np.vstack([np.full(16, 40.0), centres[2]]).astype(np.float32)  # far away; dead centre
    got = scorer.score(new)
    for name in ("iforest", "ecod", "knn", "copod", "ensemble"):
        assert got[name][0] >= 99, name
    assert got["ensemble"][1] <= 50
    assert got["knn"][1] <= 10  # nothing is closer to its neighbours than a cluster centre


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="detectors"):
        OriginalityScorer(detectors=("magic",)).fit(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        OriginalityScorer().fit(np.full((5, 3), np.nan))
    with pytest.raises(RuntimeError, match="fit"):
        OriginalityScorer().score(np.zeros((1, 3)))
    scorer = OriginalityScorer(pca_components=None).fit(np.random.default_rng(0).normal(size=(50, 4)))
    with pytest.raises(ValueError, match="shape"):
        scorer.score(np.zeros((1, 5)))


def test_explain_names_the_neighbours_and_says_how_far_they_are() -> None:
    X, is_outlier, _ = planted(seed=2)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    ids = [f"v{i}" for i in range(len(X))]
    scorer = OriginalityScorer(pca_components=8).fit(unit)

    outlier = int(np.flatnonzero(is_outlier)[0])
    sims = unit @ unit[outlier]
    nearest = int(np.argsort(-sims)[1])  # [0] is the video itself
    text = scorer.explain(unit[outlier], ids, unit, k=3)
    assert f"v{nearest} (similarity {sims[nearest]:.2f})" in text
    assert f"v{outlier} " not in text  # never its own neighbour
    assert "More original than" in text and "Few videos" in text

    inlier = 0
    text = scorer.explain(unit[inlier], ids, unit, k=3)
    assert "Few videos" not in text
    assert "0.0x" not in text


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
