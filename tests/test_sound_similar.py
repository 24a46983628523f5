""""Similar by sound" and the export's sound groups use the note matcher's stored results.

The synthetic library (tests/test_cli_analytics.py) has no media, so its analysis
groups sounds by the audio embedding and stores no ``sounds.npz``; the tests plant one
(what an analysis with sound prints leaves) with known neighbours, and for a file from
outside the library cache real prints of the demo's synthetic music.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from reelscope.core.analytics.analyze import SoundNeighbours, load_analysis
from reelscope.core.analytics.similar import embedding_neighbours, similar_videos
from reelscope.core.analytics.sound_match import SoundMatches
from reelscope.core.analytics.sound_similar import similar_by_sound, similarity
from reelscope.core.cli.main import main
from reelscope.core.store.library import Library

RUN = "run-a"
THRESHOLD = 5.0


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> Path:
    from test_cli_analytics import build_library

    root = tmp_path_factory.mktemp("soundlib")
    build_library(root, n=60, runs=(RUN,)).close()
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["analyze", "--library", str(root), "--run", RUN, "--quiet", "--json"]) == 0
    return root


@pytest.fixture
def library(analysed, tmp_path) -> Path:
    """A copy of the analysed library (tests here plant files in its analysis)."""
    root = tmp_path / "lib"
    shutil.copytree(analysed, root)
    return root


def plant_sound_neighbours(root: Path, ids: list[str], neighbours: list[list[int]],
                           strengths: list[list[float]], threshold: float = THRESHOLD) -> None:
    """Write ``sounds.npz`` and the matcher's threshold into run-a's stored analysis, as
    an analysis with sound prints would have (rows of ``neighbours`` index ``ids``)."""
    folder = root / "runs" / RUN / "analytics"
    model = SoundNeighbours(ids, SoundMatches(np.asarray(neighbours, np.int64), np.asarray(strengths, np.float32)))
    np.savez(folder / "sounds.npz", **model.to_arrays())
    summary = json.loads((folder / "summary.json").read_text())
    summary["sounds"].update(threshold=threshold, threshold_method="alignment")
    (folder / "summary.json").write_text(json.dumps(summary))


def test_similarity_is_a_half_on_the_analysis_split_and_rises_with_strength():
    assert similarity(THRESHOLD, THRESHOLD) == pytest.approx(0.5)
    assert similarity(THRESHOLD + 2, THRESHOLD) == pytest.approx(1 / (1 + math.exp(-2)))
    values = [similarity(s, THRESHOLD) for s in (0.0, 3.0, 4.0, 6.0, 9.0, 500.0)]
    assert values == sorted(values) and 0 <= values[0] < 0.01 and values[-1] == pytest.approx(1.0)


def test_by_sound_a_library_video_gets_the_matchers_neighbours(library):
    plant_sound_neighbours(library, ["v001", "v002", "v003", "v004"],
                           [[2, 1, 3], [0, -1, -1], [0, 3, -1], [0, 1, 2]],
                           [[8.0, 6.0, 0.0], [7.0, 0, 0], [8.0, 4.0, 0], [3.0, 2.0, 1.0]])
    with Library.open(library) as lib:  # writable: the embedding fallback builds its index
        got = similar_videos(lib, "v001", 5, run_id=RUN, kind="audio")
        # best first; a neighbour the alignment scored 0 is no match and is left out
        assert [v for v, _ in got] == ["v003", "v002"]
        assert [s for _, s in got] == pytest.approx([similarity(8.0, THRESHOLD), similarity(6.0, THRESHOLD)])
        assert similar_videos(lib, "v001", 1, run_id=RUN, kind="audio") == got[:1]
        # a video the matcher has no print for, and the other kinds: the embeddings, as before
        assert similar_videos(lib, "v010", 4, run_id=RUN, kind="audio") == \
            embedding_neighbours(lib, "v010", 4, run_id=RUN, kind="audio")
        assert similar_videos(lib, "v001", 4, run_id=RUN, kind="fused") == \
            embedding_neighbours(lib, "v001", 4, run_id=RUN, kind="fused")


def test_without_stored_sound_neighbours_by_sound_falls_back_to_the_audio_embedding(library):
    with Library.open(library) as lib:
        assert load_analysis(lib, RUN).sound_neighbours() is None  # no readable audio: no sounds.npz
        assert similar_by_sound(lib, "v001", 5, RUN) is None
        got = similar_videos(lib, "v001", 5, run_id=RUN, kind="audio")
        assert got == embedding_neighbours(lib, "v001", 5, run_id=RUN, kind="audio")
        assert len(got) == 5 and "v001" not in [v for v, _ in got]


def _write_wav(path: Path, x: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def test_a_file_from_outside_is_matched_against_the_librarys_cached_prints(library, tmp_path):
    """Two songs posted by 4 library videos each (transposed, sped up, under noise); a new
    file with song 0, pitched up and faster, finds song 0's posts first."""
    from reelscope.core.ingest.media.soundprint import SAMPLE_RATE, sound_print
    from reelscope.demo.audio import make_recipe, render_music

    rng = np.random.default_rng(3)
    songs = [make_recipe(rng, 200 + s) for s in range(2)]

    def post(song: int, speed: float, semitones: float) -> np.ndarray:
        n = 6 * SAMPLE_RATE
        x = render_music(songs[song], n, SAMPLE_RATE, speed, 2 ** (semitones / 12),
                         float(rng.uniform(0, songs[song].loop_s)))
        x = x / (np.abs(x).max() + 1e-9) + 0.03 * rng.standard_normal(n)
        return (0.3 * x / np.abs(x).max()).astype(np.float32)

    ids = [f"v{i:03d}" for i in range(20, 28)]
    edits = [(1.0, 0.0), (1.08, 1.0), (0.94, -2.0), (1.0, 3.0)]
    with Library.open(library) as lib:
        for j, vid in enumerate(ids):
            speed, semi = edits[j % 4]
            lib.cache.write_sound(lib.get(vid).content_hash, sound_print(post(j // 4, speed, semi)).to_array())
    plant_sound_neighbours(library, ids, [[-1]] * len(ids), [[0.0]] * len(ids))
    new = _write_wav(tmp_path / "new.wav", post(0, 1.05, 2.0), SAMPLE_RATE)
    with Library.open(library, read_only=True) as lib:
        got = similar_by_sound(lib, new, 4, RUN)
        assert got is not None and {v for v, _ in got} == set(ids[:4])
        assert all(s > 0.5 for _, s in got)  # reposts stand above the analysis' split
        silent = _write_wav(tmp_path / "silent.wav", np.zeros(SAMPLE_RATE * 3), SAMPLE_RATE)
        assert similar_by_sound(lib, silent, 4, RUN) is None  # no notes: the caller uses the embedding
        assert similar_by_sound(lib, tmp_path / "missing.mp4", 4, RUN) is None


def test_export_names_each_videos_sound_group_and_leaves_unshared_ones_empty(library, tmp_path):
    """The analysis' per-video groups, with one video moved into a group of its own."""
    folder = library / "runs" / RUN / "analytics"
    with np.load(folder / "scores.npz") as z:
        scores = {k: z[k] for k in z.files}
    labels = scores["sound_cluster"]
    alone = int(labels.max()) + 1
    labels[0] = alone  # v000 now shares its sound with nobody
    np.savez(folder / "scores.npz", **scores)
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["export", "--library", str(library), "--run", RUN, "--what", "scores",
                     "--out", str(tmp_path / "s.csv"), "--quiet"]) == 0
    rows = {r["id"]: r for r in csv.DictReader((tmp_path / "s.csv").open())}
    assert rows["v000"]["sound_cluster"] == "" and rows["v000"]["sound_group_title"] == ""
    ids = [str(v) for v in scores["ids"]]
    with Library.open(library, read_only=True) as lib:
        titles = {t.cluster: t.title for t in load_analysis(lib, RUN).result.sounds.trends}
        for i, vid in enumerate(ids[1:], start=1):
            assert rows[vid]["sound_cluster"] == str(int(labels[i]))
            assert rows[vid]["sound_group_title"] == titles[int(labels[i])]
            # each group is named by the title most of its videos carry ("Song 3")
            members = [lib.get(v).sound.title for v, c in zip(ids, labels) if c == labels[i]]
            assert titles[int(labels[i])] == max(set(members), key=members.count)
