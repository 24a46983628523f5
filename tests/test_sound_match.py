"""Same sound, however it was reposted: prints, landmarks, the index, alignment and groups.

The clips are the demo's own synthetic music (``reelscope.demo.audio``): a few songs,
each reposted with the edits apps make — faster or slower with the pitch following,
transposed, started elsewhere in the loop, under a voice, in noise — beside posts of
speech with no song. Everything runs on waves in memory; one test goes through a real
library's cache and files.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from reelscope.core.analytics import sound_match as sm
from reelscope.core.ingest.media.soundprint import N_BINS, SAMPLE_RATE, SoundPrint, sound_print
from reelscope.demo.audio import make_recipe, render_music, render_speech

SR = SAMPLE_RATE


def repost(recipe, seconds: float, rng: np.random.Generator, *, speed: float = 1.0, semitones: float = 0.0,
           voice_db: float | None = None, snr_db: float = 30.0) -> np.ndarray:
    n = int(seconds * SR)
    x = render_music(recipe, n, SR, speed, 2 ** (semitones / 12), float(rng.uniform(0, recipe.loop_s)))
    x = x / (np.abs(x).max() + 1e-9)
    if voice_db is not None:
        v = render_speech(rng, n, SR)
        x = x + v / (np.abs(v).max() + 1e-9) * 10 ** (voice_db / 20)
    noise = rng.standard_normal(n).astype(np.float32)
    x = x / np.sqrt(np.mean(x**2)) + noise * 10 ** (-snr_db / 20)
    return (0.1 * x / np.abs(x).max()).astype(np.float32)


@pytest.fixture(scope="module")
def corpus():
    """4 songs x 5 reposts with mixed edits, and 6 speech-only posts (alone)."""
    rng = np.random.default_rng(7)
    waves, truth = [], []
    edits = [dict(), dict(speed=1.1, semitones=12 * math.log2(1.1)), dict(semitones=-3.0),
             dict(speed=0.92, voice_db=-6.0), dict(semitones=2.0, snr_db=12.0)]
    for song in range(4):
        recipe = make_recipe(rng, 100 + song)
        for e in edits:
            waves.append(repost(recipe, float(rng.uniform(5, 8)), rng, **e))
            truth.append(song)
    for k in range(6):
        v = render_speech(rng, int(6 * SR), SR)
        waves.append((0.1 * v / np.abs(v).max()).astype(np.float32))
        truth.append(100 + k)
    prints = [sound_print(w) for w in waves]
    return prints, np.array(truth)


def test_a_print_keeps_a_few_note_peaks_per_frame_and_round_trips():
    rng = np.random.default_rng(0)
    p = sound_print(repost(make_recipe(rng, 1), 4.0, rng))
    frames = 1 + int(4.0 * SR) // 512
    assert p.frames == frames
    assert 0 < len(p.times) <= 4 * frames
    assert p.bins.min() >= 1 and p.bins.max() < N_BINS - 1  # local maxima across pitch
    assert np.all(np.diff(p.times) >= 0)
    again = SoundPrint.from_array(p.to_array())
    assert again.frames == p.frames and np.array_equal(again.times, p.times) and np.array_equal(again.bins, p.bins)


def test_silence_and_empty_audio_give_empty_prints():
    assert sound_print(np.zeros(0, np.float32)).empty
    assert sound_print(np.zeros(SR * 2, np.float32)).empty
    assert sm.landmarks(sound_print(np.zeros(SR, np.float32)))[0].size == 0


def test_landmark_hashes_ignore_transposition_and_tempo():
    rng = np.random.default_rng(3)
    p = sound_print(repost(make_recipe(rng, 5), 6.0, rng))
    low = p.bins < N_BINS - 6  # room to move every peak up
    p = SoundPrint(p.times[low], p.bins[low], p.frames)
    keys = set(sm.landmarks(p)[0].tolist())
    up = SoundPrint(p.times, (p.bins + 6).astype(np.int16), p.frames)  # three semitones up
    assert set(sm.landmarks(up)[0].tolist()) == keys
    # 10 % slower: every time stretched; most gap ratios stay in their bucket.
    slow = SoundPrint(np.round(p.times * 1.1).astype(np.int16), p.bins, int(p.frames * 1.1))
    shared = len(keys & set(sm.landmarks(slow)[0].tolist())) / len(keys)
    assert shared > 0.3
    # The same print after unrelated music shares almost nothing.
    other = sound_print(repost(make_recipe(rng, 6), 6.0, rng))
    assert len(keys & set(sm.landmarks(other)[0].tolist())) / len(keys) < shared / 3


def test_alignment_finds_the_shift_and_tempo_and_beats_chance(corpus):
    prints, truth = corpus
    q = prints[0]
    shifted = SoundPrint(q.times + 40, (q.bins - 4).astype(np.int16), q.frames + 40)
    right = sm.alignment(q, shifted, shift=4, log_tempo=0.0)
    wrong_shift = sm.alignment(q, shifted, shift=0, log_tempo=0.0)
    unrelated = sm.alignment(q, prints[5], shift=0, log_tempo=0.0)
    assert right > 2 * max(wrong_shift, unrelated)
    assert right > 6 > unrelated


def test_every_repost_finds_its_song_first(corpus):
    prints, truth = corpus
    matches = sm.match_prints(prints, k=5)
    songs = np.flatnonzero(truth < 100)
    best = matches.neighbours[songs, 0]
    assert np.mean(truth[best] == truth[songs]) >= 0.9
    # scores best first, padded with -1 / 0
    assert np.all(np.diff(matches.scores, axis=1) <= 1e-6)


def test_groups_are_the_songs_and_speech_posts_stay_alone(corpus):
    prints, truth = corpus
    labels, threshold, support = sm.cluster_matches(sm.match_prints(prints))
    assert adjusted_rand_score(truth, labels) >= 0.8
    speech = np.flatnonzero(truth >= 100)
    sizes = np.bincount(labels)
    assert np.mean(sizes[labels[speech]] == 1) >= 5 / 6
    assert np.all(support[sizes[labels] == 1] == 0)
    assert sm.is_sure(support, threshold)[truth < 100].mean() >= 0.8


def test_the_index_searches_without_a_pass_over_the_library(corpus):
    prints, truth = corpus
    index = sm.SoundIndex()
    for p in prints:
        index.add(p)
    assert len(index) == len(prints)
    rows, scores = index.search(prints[3], k=4, exclude=3)
    assert 3 not in rows.tolist()
    assert truth[rows[0]] == truth[3]
    assert len(index.last_shift) == len(rows) == len(index.last_tempo)


def test_cancel_stops_matching(corpus):
    from reelscope.core.progress import Cancelled

    prints, _ = corpus
    with pytest.raises(Cancelled):
        sm.match_prints(prints, cancel=lambda: True)


def test_library_prints_come_from_the_cache_or_the_file(tmp_path):
    """A print is made at import; a deleted one is made again from the file and cached;
    a video whose file is gone has none (and is not an error)."""
    from reelscope.core.ingest import import_folder
    from reelscope.core.store.library import Library
    from media_fixtures import make_video

    folder = tmp_path / "videos"
    folder.mkdir()
    for k in range(2):
        make_video(folder / f"v{k}.mp4", frames=30 + 6 * k)  # different content, different hash
    library = Library.open_or_create(tmp_path / "lib")
    import_folder(library, folder)
    videos = sorted(library.videos(), key=lambda v: v.path)
    paths = [library.cache.sound_path(v.content_hash) for v in videos]
    assert all(p.exists() for p in paths)  # made at import
    made_at_import = library.cache.sound(videos[0].content_hash)
    paths[0].unlink()
    (folder / "v1.mp4").unlink()
    paths[1].unlink()
    prints = sm.library_prints(library, videos)
    assert prints[0] is not None and paths[0].exists()
    assert np.array_equal(prints[0].to_array(), made_at_import)
    assert prints[1] is None
    library.close()
