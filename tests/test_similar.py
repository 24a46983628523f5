"""VectorIndex and similar_videos against exact answers computed in the test."""

from __future__ import annotations

import time

import numpy as np
import pytest

from reelscope.core.store.embeddings import Embeddings, l2_normalise, save_embeddings
from reelscope.core.store.library import Library
from reelscope.core.store.models import TrainingRun
from reelscope.core.analytics.similar import index_for, similar_videos
from reelscope.core.analytics.vector_index import VectorIndex, exact_top_k


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    return l2_normalise(rng.standard_normal((n, d)).astype(np.float32))


def brute_force(queries: np.ndarray, vectors: np.ndarray, k: int) -> np.ndarray:
    """Obviously-correct reference: full sort of every cosine."""
    sims = l2_normalise(queries) @ l2_normalise(vectors).T
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]


def test_exact_top_k_matches_full_sort_in_small_blocks() -> None:
    rng = np.random.default_rng(0)
    v, q = unit(rng, 300, 16), unit(rng, 37, 16)
    labels, scores = exact_top_k(q, v, 5, block_bytes=4 * 300 * 7)  # blocks of 7 queries
    np.testing.assert_array_equal(labels, brute_force(q, v, 5))
    np.testing.assert_allclose(scores, np.take_along_axis(q @ v.T, labels, axis=1), rtol=1e-5)
    assert np.all(np.diff(scores, axis=1) <= 0)


@pytest.mark.parametrize("subset", [170, 100])  # most rows: all scored; few: read in blocks
def test_exact_top_k_over_a_subset_of_rows_and_block_wise_norms(monkeypatch, subset: int) -> None:
    """``rows=`` searches rows of the array in place (without copying their vectors) and
    answers in positions of ``rows``; row_norms is np.linalg.norm a block at a time."""
    import reelscope.core.analytics.vector_index as vector_index

    rng = np.random.default_rng(2)
    v, q = rng.normal(size=(300, 16)).astype(np.float32), unit(rng, 9, 16)
    rows = np.sort(rng.choice(300, subset, replace=False))
    monkeypatch.setattr(vector_index, "SUBSET_BLOCK", 32)  # several blocks, the last one short
    norms = vector_index.row_norms(v)
    np.testing.assert_array_equal(norms, np.linalg.norm(v, axis=1))
    labels, scores = exact_top_k(q, v, 6, norms=norms[rows], rows=rows)
    np.testing.assert_array_equal(labels, brute_force(q, v[rows], 6))
    copy_labels, copy_scores = exact_top_k(q, v[rows], 6, norms=norms[rows])
    np.testing.assert_array_equal(labels, copy_labels)
    np.testing.assert_allclose(scores, copy_scores, rtol=1e-6)


@pytest.mark.parametrize("exact_below", [10_000, 100])
def test_recall_against_exact_search_on_random_data(exact_below: int) -> None:
    rng = np.random.default_rng(1)
    data, queries = unit(rng, 3000, 32), unit(rng, 200, 32)
    index = VectorIndex(32, exact_below=exact_below, ef_search=200, M=16, ef_construction=200)
    index.add([f"v{i}" for i in range(len(data))], data)
    assert index.uses_hnsw == (exact_below <= 3000)
    truth = brute_force(queries, data, 10)
    found = index.query(queries, k=10)
    recall = np.mean([len({f"v{j}" for j in t} & {i for i, _ in f}) / 10 for t, f in zip(truth, found)])
    assert recall >= 0.95
    first_id, first_score = found[0][0]
    assert first_score == pytest.approx(float(data[int(first_id[1:])] @ queries[0]), abs=1e-5)


@pytest.mark.parametrize("exact_below", [10_000, 50])
def test_incremental_add_replace_and_exclude_self(exact_below: int) -> None:
    rng = np.random.default_rng(2)
    data = unit(rng, 120, 8)
    ids = [f"v{i}" for i in range(120)]
    index = VectorIndex(8, exact_below=exact_below, ef_search=200)
    index.add(ids[:40], data[:40])
    index.add(ids[40:], data[40:])  # crosses exact_below when it is 50
    assert len(index) == 120
    assert index.query(data[77], k=1)[0][0][0] == "v77"

    # Re-adding an id replaces its vector: v5 now sits exactly where v99 is.
    index.add(["v5"], data[99])
    assert len(index) == 120
    top = index.query(data[99], k=2)[0]
    assert {vid for vid, _ in top} == {"v5", "v99"}
    assert all(score == pytest.approx(1.0, abs=1e-5) for _, score in top)

    hits = index.query(data[[3, 4]], k=5, exclude_self=["v3", None])
    assert "v3" not in [vid for vid, _ in hits[0]] and len(hits[0]) == 5
    assert hits[1][0][0] == "v4"


def test_duplicate_ids_in_one_call_keep_the_last_vector() -> None:
    rng = np.random.default_rng(3)
    a, b = unit(rng, 2, 4)
    index = VectorIndex(4)
    index.add(["x", "x"], np.stack([a, b]))
    assert len(index) == 1
    np.testing.assert_allclose(index.vectors(["x"])[0], b, atol=1e-6)


@pytest.mark.parametrize("exact_below", [10_000, 50])
def test_save_load_round_trip(tmp_path, exact_below: int) -> None:
    rng = np.random.default_rng(4)
    data = unit(rng, 200, 12)
    ids = [f"id-{i}" for i in range(200)]
    index = VectorIndex(12, exact_below=exact_below, ef_search=100)
    index.add(ids, data)
    index.save(tmp_path / "ix")
    assert not list((tmp_path / "ix").glob("*.pkl"))
    again = VectorIndex.load(tmp_path / "ix")
    assert again.ids == ids and again.uses_hnsw == index.uses_hnsw and again.ef_search == 100
    assert again.query(data[:20], k=5) == index.query(data[:20], k=5)
    again.add(["new"], data[0])  # a loaded index keeps growing
    assert len(again) == 201


def test_small_and_degenerate_queries() -> None:
    index = VectorIndex(3)
    assert index.query(np.ones(3), k=5) == [[]]
    index.add(["a", "b"], np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32))
    assert [vid for vid, _ in index.query(np.array([1.0, 0.2, 0]), k=10)[0]] == ["a", "b"]
    with pytest.raises(ValueError):
        index.add(["c"], np.ones((1, 4)))
    with pytest.raises(ValueError):
        index.query(np.array([np.nan, 0, 0]))


# ----------------------------------------------------------------- on a library
def make_library(tmp_path, n: int = 30, run_id: str = "run1", d: int = 16, seed: int = 5):
    rng = np.random.default_rng(seed)
    lib = Library.create(tmp_path / "lib")
    ids = [f"vid{i:03d}" for i in range(n)]
    lib.db["videos"].insert_all(
        [{"id": vid, "path": f"/videos/{vid}.mp4", "status": "ok"} for vid in ids], pk="id"
    )
    vectors = {kind: unit(rng, n, d) for kind in ("visual", "audio", "fused")}
    run_dir = f"runs/{run_id}"
    save_embeddings(lib.path / run_dir, Embeddings(run_id, np.array(ids), **vectors))
    lib.save_run(TrainingRun(run_id, "simclr", "tiny", "finished", time.time(), run_dir))
    return lib, ids, vectors


def test_similar_videos_on_a_library(tmp_path) -> None:
    lib, ids, vectors = make_library(tmp_path)
    fused = vectors["fused"]
    got = similar_videos(lib, "vid007", k=4)
    want = [ids[j] for j in brute_force(fused[7:8], fused, 5)[0] if j != 7][:4]
    assert [vid for vid, _ in got] == want
    assert got[0][1] == pytest.approx(float(fused[7] @ fused[ids.index(want[0])]), abs=1e-5)
    assert (lib.path / "runs/run1/index/fused/meta.json").exists()

    by_vector = similar_videos(lib, vectors["audio"][3], k=1, kind="audio", run_id="run1")
    assert by_vector == [("vid003", pytest.approx(1.0, abs=1e-5))]
    with pytest.raises(KeyError, match="embed"):
        similar_videos(lib, "nope")
    with pytest.raises(ValueError):
        similar_videos(lib, "vid001", kind="smell")


def test_index_for_updates_incrementally_when_embeddings_grow(tmp_path, monkeypatch) -> None:
    lib, ids, vectors = make_library(tmp_path, n=20)
    first = index_for(lib)
    assert len(first) == 20 and index_for(lib) is first  # cached until the file changes

    rng = np.random.default_rng(9)
    more = {k: np.vstack([v, unit(rng, 5, 16)]) for k, v in vectors.items()}
    more["fused"][2] = more["fused"][24]  # an existing video re-embedded
    new_ids = ids + [f"new{i}" for i in range(5)]
    time.sleep(0.01)
    save_embeddings(lib.path / "runs/run1", Embeddings("run1", np.array(new_ids), **more))
    added: list[str] = []
    real_add = VectorIndex.add
    monkeypatch.setattr(VectorIndex, "add", lambda self, i, v: (added.extend(i), real_add(self, i, v)))
    grown = index_for(lib)
    assert sorted(added) == sorted(["vid002"] + new_ids[20:])  # only what changed, not a rebuild
    assert len(grown) == 25 and grown.ids[:20] == ids
    assert {vid for vid, _ in similar_videos(lib, "new4", k=1)} == {"vid002"}

    # Reopened from disk in a fresh process-cache state, it is the same index.
    reloaded = VectorIndex.load(lib.path / "runs/run1/index/fused")
    assert reloaded.ids == grown.ids


def test_damaged_index_is_rebuilt(tmp_path) -> None:
    lib, ids, _ = make_library(tmp_path, n=10)
    folder = lib.path / "runs/run1/index/visual"
    index_for(lib, kind="visual")
    (folder / "vectors.npy").write_bytes(b"garbage")
    from reelscope.core.analytics import similar

    similar._cache.clear()
    assert index_for(lib, kind="visual").ids == ids


def test_no_embeddings_gives_a_clear_message(tmp_path) -> None:
    lib = Library.create(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="reelscope embed"):
        similar_videos(lib, "x")


def test_an_index_build_reports_progress_can_be_cancelled_and_blocks_no_other_index(tmp_path, monkeypatch) -> None:
    import threading

    from reelscope.core.analytics import similar
    from reelscope.core.progress import CancelToken, Cancelled

    lib, ids, _ = make_library(tmp_path, n=10)
    visual = index_for(lib, kind="visual")  # cached
    monkeypatch.setattr(similar, "BUILD_CHUNK", 3)
    events = []
    audio = index_for(lib, kind="audio", progress=events.append)
    assert len(audio) == 10 and [e.done for e in events if e.stage == "similarity index"][-1] == 10
    assert sum(e.stage == "similarity index" for e in events) >= 4  # one event per chunk

    token = CancelToken()
    token.cancel()
    similar._cache.clear()
    folder = lib.path / "runs/run1/index/fused"
    with pytest.raises(Cancelled):
        index_for(lib, kind="fused", cancel=token)
    assert not (folder / "source.json").exists()  # a cancelled build saves nothing

    # While one index builds, a cached one answers at once.
    index_for(lib, kind="visual")
    started, release = threading.Event(), threading.Event()
    real_add = similar.VectorIndex.add

    def slow_add(self, *args, **kwargs):
        started.set()
        release.wait(10)
        return real_add(self, *args, **kwargs)

    monkeypatch.setattr(similar.VectorIndex, "add", slow_add)
    builder = threading.Thread(target=index_for, args=(lib,), kwargs={"kind": "fused"})
    builder.start()
    assert started.wait(10)
    assert index_for(lib, kind="visual") is not None  # not blocked by the build
    release.set()
    builder.join(10)
    assert not builder.is_alive()
