"""The embedding map (core/analytics/embedding_map.py and core/query/embedding_map.py):
on data with known clusters both layouts keep each cluster together and placed videos land
among their cluster's sample videos; the stored map is reused, goes stale when the
embeddings change, and reading it never writes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from reelscope.core.analytics import embedding_map as em
from reelscope.core.progress import Cancelled, CancelToken
from reelscope.core.query.embedding_map import embedding_map
from reelscope.core.store.library import Library
from test_cli_analytics import build_library
from test_query import snapshot


def clusters(n_per: int = 700, dim: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated Gaussian clusters in ``dim`` dimensions: (X [3n, dim], label [3n])."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, dim)) * 4.0
    label = np.repeat(np.arange(3), n_per)
    X = centres[label] + rng.normal(size=(len(label), dim))
    order = rng.permutation(len(label))
    return X[order].astype(np.float32), label[order]


def knn_purity(xy: np.ndarray, label: np.ndarray, k: int = 10) -> float:
    """Share of each point's k nearest 2-D neighbours that share its cluster (brute force)."""
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1)[:, :k]
    return float((label[nearest] == label[:, None]).mean())


def test_pca_keeps_the_clusters_apart():
    X, label = clusters()
    xy, explained = em.pca_map(X)
    assert xy.shape == (len(X), 2) and xy.dtype == np.float32
    assert knn_purity(xy, label) > 0.99
    assert 0.5 < explained <= 1.0  # three far-apart centres: two axes hold most variation
    # The same axes as a plain eigen-decomposition of the covariance (up to sign).
    C = np.cov(X.T.astype(np.float64))
    vecs = np.linalg.eigh(C)[1][:, ::-1][:, :2]
    ref = (X - X.mean(0)) @ vecs
    for j in range(2):
        assert abs(np.corrcoef(ref[:, j], xy[:, j])[0, 1]) > 0.999


def test_sampled_tsne_keeps_clusters_and_places_the_rest_among_their_own():
    X, label = clusters()
    events = []
    xy, sample = em.sampled_tsne(X, sample_size=600, neighbours=10, progress=events.append)
    assert sample == 600 and xy.shape == (len(X), 2) and np.isfinite(xy).all()
    assert knn_purity(xy, label) > 0.98
    # Which rows were the sample: the same seeded choice sampled_tsne makes.
    chosen = np.sort(np.random.default_rng(0).choice(len(X), 600, replace=False))
    placed = np.setdiff1d(np.arange(len(X)), chosen)
    # Each placed video's nearest sample video on the map belongs to its cluster...
    d = ((xy[placed, None, :] - xy[None, chosen, :]) ** 2).sum(-1)
    nearest = chosen[np.argmin(d, axis=1)]
    assert (label[nearest] == label[placed]).mean() > 0.99
    # ...and it lies within its cluster's spread of sample positions.
    for c in range(3):
        own = xy[chosen[label[chosen] == c]]
        centre, radius = own.mean(0), np.percentile(np.linalg.norm(own - own.mean(0), axis=1), 99)
        dist = np.linalg.norm(xy[placed[label[placed] == c]] - centre, axis=1)
        assert (dist <= radius).mean() > 0.98
    stages = [e.stage for e in events]
    assert stages[0] == "Laying out a sample (t-SNE)" and stages[-1] == "Placing the other videos"
    assert events[-1].done == events[-1].total == len(placed)


def test_place_puts_a_copy_of_a_sample_video_on_it():
    rng = np.random.default_rng(1)
    anchors = rng.normal(size=(50, 8)).astype(np.float32)
    anchor_xy = rng.normal(size=(50, 2)).astype(np.float32)
    out = em.place(anchors[[3, 17]] * 2.0, anchors, anchor_xy, k=5)  # cosine ignores length
    assert np.allclose(out, anchor_xy[[3, 17]], atol=0.02)


def test_placing_can_be_cancelled():
    X, _ = clusters(n_per=200)
    token = CancelToken()

    def progress(event):
        if event.stage == "Placing the other videos" and event.done > 0:
            token.cancel()

    with pytest.raises(Cancelled):
        em.sampled_tsne(X, sample_size=100, progress=progress, cancel=token)


@pytest.fixture
def library_dir(tmp_path) -> Path:
    build_library(tmp_path / "lib", n=60, runs=("run-a",)).close()
    return tmp_path / "lib"


def test_the_stored_map_is_reused_and_goes_stale_when_the_embeddings_change(library_dir):
    with Library.open(library_dir, read_only=True) as reader:
        first = embedding_map(reader, "run-a")
        assert not first.stored and first.layout.method == "pca"
        assert "has no t-SNE map yet" in first.notes[0]
        assert len(first.layout) == 60 and np.isfinite(first.layout.xy).all()

        with Library.open(library_dir) as lib:
            made = em.compute_map(lib, "run-a")
        assert made.method == "tsne" and made.sample == 60 and made.neighbours == 0
        assert "t-SNE of all 60 videos" in made.describe()
        stored = embedding_map(reader, "run-a")
        assert stored.stored and stored.notes == ()
        assert np.array_equal(stored.layout.ids, made.ids)
        assert np.array_equal(stored.layout.xy, made.xy)
        assert embedding_map(reader, "run-a") is stored  # cached until a file changes

        # A re-embed (a new embeddings file) leaves the stored map stale: PCA again.
        emb = library_dir / "runs" / "run-a" / "embeddings.npz"
        st = emb.stat()
        os.utime(emb, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
        again = embedding_map(reader, "run-a")
        assert not again.stored and again.layout.method == "pca"
        assert "older than its embeddings" in again.notes[0]


def test_a_damaged_map_is_read_as_missing(library_dir):
    with Library.open(library_dir) as lib:
        em.compute_map(lib, "run-a")
    path = library_dir / "runs" / "run-a" / "analytics" / em.FILE_NAME
    path.write_bytes(path.read_bytes()[:200])  # cut short, as by a crash mid-copy
    with Library.open(library_dir, read_only=True) as reader:
        found = embedding_map(reader, "run-a")
    assert not found.stored and found.layout.method == "pca"
    assert "has a t-SNE map that cannot be read" in found.notes[0]


def test_a_big_run_is_sampled_and_the_sentence_says_so(library_dir):
    with Library.open(library_dir) as lib:
        made = em.compute_map(lib, "run-a", sample_size=20, neighbours=4)
    assert made.sample == 20 and made.neighbours == 4
    assert made.describe() == ("t-SNE of a 20-video sample of the fused embeddings; the other 40 placed "
                               "beside their 4 most similar sample videos.")
    with Library.open(library_dir, read_only=True) as reader:
        assert embedding_map(reader).layout.describe() == made.describe()


def test_reading_the_map_writes_nothing(library_dir, tmp_path):
    before = snapshot(library_dir)
    for read_only in (True, False):
        with Library.open(library_dir, read_only=read_only) as lib:
            assert embedding_map(lib).layout.method == "pca"
    assert snapshot(library_dir) == before
    assert not (library_dir / "runs" / "run-a" / "analytics" / em.FILE_NAME).exists()


def test_no_run_no_map(tmp_path):
    Library.create(tmp_path / "empty").close()
    with Library.open(tmp_path / "empty", read_only=True) as lib:
        result = embedding_map(lib)
    assert result.run_id is None and result.layout is None and result.notes


def test_a_map_is_a_writing_job(library_dir):
    """Another process holding the library's writing lock: the map is refused, not raced."""
    import subprocess
    import sys

    from reelscope.core.store.lock import LibraryBusy

    code = ("import time; from reelscope.core.store.lock import writing\n"
            f"with writing({str(library_dir)!r}, 'import'):\n print('held', flush=True); time.sleep(30)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        with Library.open(library_dir) as lib, pytest.raises(LibraryBusy):
            em.compute_map(lib, "run-a")
    finally:
        child.kill()
        child.wait()
    assert not (library_dir / "runs" / "run-a" / "analytics" / em.FILE_NAME).exists()
