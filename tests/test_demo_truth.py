"""The analytics checked against the demo generator's ground truth (docs/DEMO.md).

A small demo is generated and imported like a user's folder. Each video then gets
hand-made features from its clip-cache entry that use no label: a rhythm signature of
its audio, spectral statistics, and colour-blind picture statistics. The real analytics
(sound clusters, like forecast, originality) run on those features, and what they find
is compared with ``ground_truth.json``. The features are crude on purpose (a learned
encoder should do better); every bound below was measured on seeds 3, 4 and 5 of this
spec and is set with a margin below the worst of them, yet well above what the same
analysis gives with the ground truth shuffled.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reelscope.demo.generator import DemoSpec, generate_demo
from reelscope.core.store.library import Library
from reelscope.core.ingest import import_folder

# 60 videos: 4 trending sounds (~35-44 videos on them), 2 atypical videos and 2 whose
# metadata calls a trending sound "original"; about 30 s to generate and import.
SPEC = DemoSpec(videos=60, seed=3)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """(library, its good videos in id order, ground truth per video id)."""
    root = tmp_path_factory.mktemp("demo-truth")
    made = generate_demo(root / "demo", SPEC)
    library = Library.create(root / "library")
    import_folder(library, made.videos_dir, made.metadata_path)
    truth = json.loads(Path(made.ground_truth_path).read_text())["videos"]
    videos = [v for v in library.videos() if v.id in truth]
    yield library, videos, truth
    library.close()


@pytest.fixture(scope="module")
def content(demo) -> np.ndarray:
    library, videos, _ = demo
    return content_features(library, videos)


# ------------------------------------------------------------------ features
def rhythm_features(mel: np.ndarray, max_lag: int = 300) -> np.ndarray:
    """float64 [max_lag // 3]: autocorrelation of the spectral flux over 0.01-3 s lags.

    ``mel``: log-mel [n_mels, T] at 100 frames/s. A trending sound is a loop with its own
    tempo and drum pattern, which the autocorrelation keeps through the edits reposts
    make (EQ, level, noise, start offset) better than spectral averages: those found the
    same sound for 57-74 % of nearest neighbours, but chained different sounds into the
    same clusters (same-cluster pair precision 0.07-0.47 at thresholds 0.6-0.8). Too
    short or silent audio gives zeros.
    """
    m = np.asarray(mel, dtype=np.float64)
    if m.shape[1] < max_lag + 10:
        return np.zeros(max_lag // 3)
    flux = np.maximum(np.diff(m, axis=1), 0).sum(axis=0)
    flux -= flux.mean()
    ac = np.array([flux[:-lag] @ flux[lag:] / (len(flux) - lag) for lag in range(1, max_lag + 1)])
    return (ac / (flux.var() + 1e-9)).reshape(-1, 3).mean(axis=1)


def spectral_features(mel: np.ndarray) -> np.ndarray:
    """float64 [2 n_mels]: level-free mean and the std over time of each mel bin."""
    m = np.asarray(mel, dtype=np.float64)
    if m.shape[1] == 0:
        return np.zeros(2 * m.shape[0])
    mean = m.mean(axis=1)
    return np.concatenate([mean - mean.mean(), m.std(axis=1)])


def picture_features(frames: np.ndarray) -> np.ndarray:
    """float64 [16]: colour-blind statistics of uint8 [T, H, W, 3] frames.

    Grey levels are standardised per video (the demo grades colour, brightness and
    contrast at random), then: gradient-orientation histogram, edge strength, frame
    difference (motion) and frame-to-frame correlation.
    """
    g = frames.astype(np.float64).mean(axis=-1)
    g = (g - g.mean()) / (g.std() + 1e-6)
    gy, gx = np.gradient(g, axis=(1, 2))
    mag, ang = np.hypot(gx, gy), np.arctan2(gy, gx) % np.pi
    hog = np.bincount(np.minimum((ang / np.pi * 8).astype(int), 7).ravel(), weights=mag.ravel(),
                      minlength=8)
    diff = np.abs(np.diff(g, axis=0))
    corr = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(g[:-1], g[1:])]
    return np.concatenate([hog / (hog.sum() + 1e-6),
                           [diff.mean(), diff.std(), np.percentile(diff, 90)],
                           [mag.mean(), mag.std(), (mag > 1).mean()],
                           [np.mean(corr), np.min(corr)]])


def standardise(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-9)


def content_features(library: Library, videos) -> np.ndarray:
    """float32 [N, 16 + 128]: picture and spectral features, each column standardised.

    Rows are left unnormalised for originality: an atypical picture shows up as extreme
    values, which scaling every row to unit length would hide.
    """
    pictures = np.stack([picture_features(np.asarray(library.cache.frames(v.content_hash)))
                         for v in videos])
    spectra = np.stack([spectral_features(library.cache.mel(v.content_hash)) for v in videos])
    return np.concatenate([standardise(pictures), standardise(spectra)], axis=1).astype(np.float32)


# ------------------------------------------------------------------ measures
def same_cluster_precision(labels: np.ndarray, truth: np.ndarray) -> tuple[float, int]:
    """Share of the pairs put in one cluster that truly share a sound, and how many pairs."""
    together = labels[:, None] == labels[None, :]
    np.fill_diagonal(together, False)
    same = truth[:, None] == truth[None, :]
    return float(same[together].mean()) if together.any() else 0.0, int(together.sum() // 2)


def sound_check(library: Library, videos, truth: dict) -> dict:
    from sklearn.metrics import adjusted_rand_score

    from reelscope.core.analytics.sounds import sound_clusters

    with_audio = [v for v in videos if v.has_audio]  # silence has no rhythm to compare
    R = standardise(np.stack([rhythm_features(library.cache.mel(v.content_hash))
                              for v in with_audio]))
    ids = [v.id for v in with_audio]
    clusters = sound_clusters(R.astype(np.float32), ids,
                              [v.sound.id if v.sound else None for v in with_audio])
    true_sound = np.array([truth[i]["true_sound_id"] for i in ids])
    labels = np.asarray(clusters["labels"])
    rng = np.random.default_rng(0)
    shuffles = [rng.permutation(true_sound) for _ in range(20)]
    flagged = {m["id"] for m in clusters["mismatches"] if m["metadata_original"]}
    hidden = {i for i in ids if truth[i]["uses_reused_sound_marked_original"]}
    return {
        "precision": same_cluster_precision(labels, true_sound),
        "precision_shuffled": np.mean([same_cluster_precision(labels, t)[0] for t in shuffles]),
        "ari": adjusted_rand_score(true_sound, labels),
        "ari_shuffled": np.mean([adjusted_rand_score(t, labels) for t in shuffles]),
        "hidden": hidden, "hidden_flagged": hidden & flagged,
        "threshold_method": clusters["threshold_method"],
    }


def coverage_check(videos, X: np.ndarray, nominal: float = 0.8, splits: int = 20) -> float:
    """Held-out interval coverage, averaged over random 75/25 splits."""
    from reelscope.core.analytics.forecast import LikeForecaster, features_for_videos
    from reelscope.core.analytics.forecast_eval import holdout_split

    features = features_for_videos(videos, X / np.linalg.norm(X, axis=1, keepdims=True))
    likes = np.array([v.likes for v in videos], dtype=np.float64)
    covered = []
    for seed in range(splits):
        train, test = holdout_split(len(likes), "random", test_size=0.25, random_state=seed)
        model = LikeForecaster(n_components=8, coverage=nominal, random_state=seed)
        model.fit(features.take(train), likes[train])
        covered += [f["low"] <= y <= f["high"]
                    for f, y in zip(model.forecast(features.take(test)), likes[test])]
    return float(np.mean(covered))


def originality_check(videos, X: np.ndarray, truth: dict) -> tuple[np.ndarray, np.ndarray]:
    """Ensemble originality percentiles (0-100) of the atypical and of the typical videos."""
    from reelscope.core.analytics.originality import OriginalityScorer

    scores = OriginalityScorer(pca_components=16, random_state=0).fit(X).scores_["ensemble"]
    atypical = np.array([truth[v.id]["is_atypical"] for v in videos])
    return scores[atypical], scores[~atypical]


# --------------------------------------------------------------------- tests
def test_sound_clusters_recover_reused_sounds(demo):
    library, videos, truth = demo
    got = sound_check(library, videos, truth)
    precision, pairs = got["precision"]
    # Measured (seeds 3/4/5, automatic Otsu threshold): 0.82/0.72/0.75 of the 22/47/52
    # same-cluster pairs truly share a sound, against 0.12/0.11/0.14 for the same
    # clusters with the truth shuffled; ARI 0.19/0.24/0.24 (0.00 shuffled): many reposts
    # stay unclustered, but what is grouped is mostly right.
    assert pairs >= 10
    assert precision >= 0.55 and precision >= 3 * max(got["precision_shuffled"], 0.05)
    assert got["ari"] >= 0.1 > got["ari_shuffled"]
    # Both videos whose metadata calls a trending sound "original" were flagged on every
    # seed measured; at least one must be.
    assert got["hidden"] and got["hidden_flagged"]


def test_like_intervals_cover_near_nominal(demo, content):
    _, videos, _ = demo
    coverage = coverage_check(videos, content, nominal=0.8)
    # Measured 0.81/0.85/0.86 over 20 splits of 15 held-out videos each (cross-conformal,
    # 45 out-of-fold residuals; split conformal from ~11 calibration videos gave
    # 0.88/0.84/0.83). A forecaster whose intervals ignored the residuals would land far
    # outside this band.
    assert 0.7 <= coverage <= 0.95


def test_atypical_videos_score_as_original(demo, content):
    _, videos, truth = demo
    atypical, typical = originality_check(videos, content, truth)
    # Measured percentiles of the two atypical videos: 85.8 & 94.2 / 97.5 & 87.5 /
    # 72.5 & 85.8, against a typical median of 48.3 on every seed. Two videos picked at
    # random would both reach 60 with probability 0.16, and a median of 70 less often.
    assert len(atypical) >= 1
    assert np.median(atypical) >= 70 and atypical.min() >= 60
    assert np.median(typical) <= 55
