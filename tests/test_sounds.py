"""Sound reuse, trends and typicality on synthetic audio embeddings with known groups."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from reelscope.core.store.library import Library
from reelscope.core.store.models import PostMetadata, Sound
from reelscope.core.analytics.sounds import sound_clusters, sound_trends, trend_typicality, trend_typicality_all

D = 48


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def reuse_library(seed: int = 0):
    """12 sounds used 5-40 times each plus 150 videos with a sound of their own.

    Metadata: sound s is "song-s", except that two uses each of sounds 0-3 say
    "original sound" (a fresh id of their own), one use of sound 5 names
    "song-0", and nobody names sound 11 (every use has its own id).
    Returns audio, ids, metadata sound ids, true groups, planted mislabels.
    """
    rng = np.random.default_rng(seed)
    sizes = rng.integers(5, 41, 12)
    centres = unit(rng.standard_normal((12, D)))
    audio, truth, sound_ids = [], [], []
    for s, size in enumerate(sizes):
        audio.append(unit(centres[s] + rng.normal(0, 0.05, (size, D))))
        truth += [s] * size
        sound_ids += [f"song-{s}"] * size
    audio.append(unit(rng.standard_normal((150, D))))
    truth += list(range(100, 250))
    n = len(truth)
    ids = [f"v{i:04d}" for i in range(n)]
    sound_ids += [f"orig-{ids[i]}" for i in range(n - 150, n)]
    start = np.concatenate([[0], np.cumsum(sizes)])
    planted = {}
    for s in range(4):
        for i in (start[s], start[s] + 1):
            sound_ids[i] = f"orig-{ids[i]}"
            planted[ids[i]] = f"song-{s}"
    sound_ids[start[5]] = "song-0"
    planted[ids[start[5]]] = "song-5"
    for i in range(start[11], start[12]):
        sound_ids[i] = f"orig-{ids[i]}"
        planted[ids[i]] = None
    return np.vstack(audio), ids, sound_ids, np.array(truth), planted


@pytest.mark.parametrize("exact_below", [5000, 100])
def test_recovers_reused_sounds_and_flags_the_mislabeled(exact_below: int) -> None:
    audio, ids, sound_ids, truth, planted = reuse_library()
    got = sound_clusters(audio, ids, sound_ids, exact_below=exact_below)
    assert 0.6 < got["threshold"] < 0.85  # above chance (~0.72 here), below a reuse (~0.9)
    assert adjusted_rand_score(truth, got["labels"]) >= 0.9
    assert got["reused"].sum() == (truth < 100).sum()
    assert got["sizes"][0] == np.bincount(truth[truth < 100]).max()  # cluster 0 = the most used

    flagged = {m["id"]: m for m in got["mismatches"]}
    assert set(flagged) == set(planted)
    for vid, sound in planted.items():
        m = flagged[vid]
        assert m["audio_sound"] == sound
        assert got["cluster_sound"][m["cluster"]] == sound
    said_original = [m for m in flagged.values() if m["audio_sound"] in {"song-0", "song-1", "song-2", "song-3"}]
    assert len(said_original) == 8 and all(m["metadata_original"] for m in said_original)
    assert "original sound" in said_original[0]["reason"]
    wrong_song = flagged[[v for v, s in planted.items() if s == "song-5"][0]]
    assert not wrong_song["metadata_original"] and "song-0" in wrong_song["reason"]


def test_threshold_given_and_no_reuse_at_all() -> None:
    audio, ids, sound_ids, _, _ = reuse_library(seed=1)
    strict = sound_clusters(audio, ids, sound_ids, threshold=0.9999)
    assert not strict["reused"].any() and strict["mismatches"] == []
    assert strict["threshold_method"] == "given"

    rng = np.random.default_rng(2)
    lonely = unit(rng.standard_normal((300, D)))
    got = sound_clusters(lonely, [str(i) for i in range(300)], [None] * 300)
    assert got["threshold_method"] == "chance"
    assert not got["reused"].any()


def test_explicit_original_flags_and_bad_input() -> None:
    audio, ids, sound_ids, truth, _ = reuse_library(seed=3)
    uses = np.flatnonzero(truth == 0)
    flags = np.zeros(len(ids), bool)  # the caller's own "original sound" flags win
    flags[uses[2]] = True  # flagged original yet named song-0 like its cluster: no conflict
    got = sound_clusters(audio, ids, sound_ids, metadata_original=flags)
    flagged = {m["id"]: m for m in got["mismatches"]}
    assert ids[uses[2]] not in flagged
    relabeled = flagged[ids[uses[0]]]  # has a fresh id, but the caller says it is not original
    assert not relabeled["metadata_original"] and relabeled["reason"].startswith("metadata names sound orig-")
    with pytest.raises(ValueError):
        sound_clusters(audio, ids[:-1], sound_ids)


def test_typicality_ranks_the_centre_first_and_the_odd_take_last() -> None:
    rng = np.random.default_rng(4)
    centre = unit(rng.standard_normal(D))
    members = unit(centre + rng.normal(0, 0.05, (9, D)))
    odd = unit(centre + rng.normal(0, 0.4, D))
    X = np.vstack([centre, members, odd, unit(rng.standard_normal(D))])
    clusters = {"labels": np.array([0] * 11 + [1])}
    assert trend_typicality(X, clusters, 0) == pytest.approx(100 * 10.5 / 11)
    assert trend_typicality(X, clusters, 10) == pytest.approx(100 * 0.5 / 11)
    assert math.isnan(trend_typicality(X, clusters, 11))
    every = trend_typicality_all(X, clusters["labels"])
    assert [trend_typicality(X, clusters, i) for i in range(11)] == pytest.approx(list(every[:11]))
    assert np.isnan(every[11])


def test_sound_trends_from_a_library(tmp_path) -> None:
    day = 86_400
    lib = Library.create(tmp_path / "lib")
    # Sound A catches on (1 use early, 4 late); sound B fades (4 early, 1 late); C is used once.
    plan = {
        "a": ("song-a", [0, 5, 8, 9, 9.5, 10], [10, 20, 30, 40, 50, 60]),
        "b": ("song-b", [0, 0.5, 1, 2, 10], [5, 5, 7, 9, 100]),
        "c": ("song-c", [3], [1]),
    }
    records, labels, ids = [], [], []
    for c, (key, (sound, days, likes)) in enumerate(plan.items()):
        for j, (d, like) in enumerate(zip(days, likes)):
            vid = f"{key}{j}"
            ids.append(vid)
            labels.append(c)
            records.append(
                PostMetadata(vid, "test", posted_at=int(1_700_000_000 + d * day), likes=like,
                             sound=Sound(sound, title=f"Title {sound}"))
            )
    lib.db["videos"].insert_all([{"id": v, "path": f"/v/{v}.mp4", "status": "ok"} for v in ids], pk="id")
    lib.save_metadata(records)
    clusters = {"ids": ids, "labels": np.array(labels), "cluster_sound": ["song-a", "song-b", None]}

    trends = sound_trends(lib.videos(status=None), clusters)
    assert [t["sound_id"] for t in trends] == ["song-a", "song-b"]  # C is not reused
    a, b = trends
    assert a["title"] == "Title song-a" and a["n_videos"] == 6
    assert a["first_use"] == 1_700_000_000 and a["last_use"] == 1_700_000_000 + 10 * day
    assert (a["uses_first_third"], a["uses_last_third"], a["growth"]) == (1, 4, 4.0)
    assert (b["uses_first_third"], b["uses_last_third"], b["growth"]) == (4, 1, 0.25)
    assert a["median_likes"] == 35.0 and b["median_likes"] == 7.0
    assert a["video_ids"] == ["a0", "a1", "a2", "a3", "a4", "a5"]
