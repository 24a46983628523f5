"""Similar videos: a cosine nearest-neighbour index over one run's embeddings.

:class:`VectorIndex` answers "which videos are closest to this vector?" with
exact numpy search while the library is small and an hnswlib graph once it
holds ``exact_below`` vectors or more. One index lives per training run and
embedding kind in ``runs/<run>/index/<kind>/`` (hnswlib's own binary or a
``.npy`` of vectors, plus ``meta.json`` with the string ids; never pickle).
:func:`index_for` loads it, adds the videos a newer ``embeddings.npz`` has and
the index lacks, and saves it again; :func:`similar_videos` is the call the
CLI, the window and scripts use.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

import numpy as np

from reelscope.core.analytics.vector_index import Neighbours, VectorIndex, as_unit_rows

if TYPE_CHECKING:
    from reelscope.core.progress import CancelToken, ProgressCallback
    from reelscope.core.store.library import Library

# ---------------------------------------------------------------- per library
_CACHE_SIZE = 4
_cache: "OrderedDict[tuple, VectorIndex]" = OrderedDict()
_cache_lock = threading.Lock()  # guards the two dicts only: never held while an index builds
_building: dict[tuple, threading.Lock] = {}  # one lock per (library, run, kind) being built
BUILD_CHUNK = 20_000  # vectors added between progress events and cancel checks


def index_for(library: "Library", run_id: Optional[str] = None, kind: str = "fused",
              progress: Optional["ProgressCallback"] = None,
              cancel: Optional["CancelToken"] = None, keep: bool = True) -> VectorIndex:
    """The similarity index of ``run_id`` (default: newest run with embeddings) and ``kind``.

    Loads the saved index when it matches the run's ``embeddings.npz``;
    otherwise adds the embeddings it lacks (replacing changed vectors), or
    rebuilds it when videos were dropped or the files are damaged, and saves
    it. Indices stay cached in this process until the embeddings file changes;
    the returned index is shared, so query it but do not add to it.

    A build reports progress (stage "similarity index") and checks ``cancel`` every
    ``BUILD_CHUNK`` vectors; only callers asking for the same index wait for it, so
    queries of other (cached) indices go on meanwhile. ``keep=False``: make sure the saved
    index is current without keeping it in this process (analyze, which never queries it).
    """
    from reelscope.core.store.embeddings import KINDS, embeddings_path

    if kind not in KINDS:
        raise ValueError(f"unknown embedding kind {kind!r}; choose one of {', '.join(KINDS)}")
    run, emb_path = embeddings_path(library, run_id)
    stat = emb_path.stat()
    key = (str(library.path.resolve()), run.id, kind, stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        build_lock = _building.setdefault(key[:3], threading.Lock())
    with build_lock:
        with _cache_lock:
            if key in _cache:  # built by the caller we waited for
                return _cache[key]
        folder = library.path / run.dir / "index" / kind
        index = _load_fresh(folder, stat)
        if index is None:  # building writes the library's files: a writing job, under its lock
            with library.writing("similarity index"):
                index = _load_fresh(folder, stat) or _build(folder, emb_path, run.id, kind, stat,
                                                            progress, cancel)
        with _cache_lock:
            for old in [k for k in _cache if k[:3] == key[:3]]:  # superseded: free its memory now
                del _cache[old]
            if keep:
                _cache[key] = index
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        return index


def _stamp(stat: os.stat_result) -> dict[str, int]:
    return {"embeddings_mtime_ns": stat.st_mtime_ns, "embeddings_size": stat.st_size}


def _load_fresh(folder: Path, stat: os.stat_result) -> Optional[VectorIndex]:
    """The saved index when it was built from exactly these embeddings, else None."""
    try:
        if json.loads((folder / "source.json").read_text()) == _stamp(stat):
            return VectorIndex.load(folder)
    except (OSError, ValueError, KeyError, RuntimeError, EOFError):
        pass  # missing or damaged: derived data, so it is rebuilt
    return None


def _build(folder: Path, emb_path: Path, run_id: str, kind: str, stat: os.stat_result,
           progress: Optional["ProgressCallback"] = None,
           cancel: Optional["CancelToken"] = None) -> VectorIndex:
    """Add to the saved index what the embeddings have and it lacks (or start over when
    videos were dropped or the files are damaged), and save it."""
    from reelscope.core.progress import Reporter
    from reelscope.core.store.embeddings import load_embedding_kind

    index: Optional[VectorIndex] = None
    try:
        index = VectorIndex.load(folder)
    except (OSError, ValueError, KeyError, RuntimeError, EOFError):
        index = None
    raw_ids, vectors = load_embedding_kind(emb_path, kind)
    ids = [str(i) for i in raw_ids]
    del raw_ids
    if index is not None and (index.dim != vectors.shape[1] or not set(index.ids) <= set(ids)):
        index = None  # a different model or fewer videos: start over
    if index is None:
        index = VectorIndex(vectors.shape[1])
    else:
        ids, vectors = _changed_rows(index, ids, vectors)
    report = Reporter("similarity index", len(ids), progress, cancel)
    for start in range(0, len(ids), BUILD_CHUNK):  # a cancelled build saves nothing
        index.add(ids[start:start + BUILD_CHUNK], vectors[start:start + BUILD_CHUNK])
        report.step(min(BUILD_CHUNK, len(ids) - start), message=kind)
    index.save(folder)
    from reelscope.training import faults
    from reelscope.training.files import write_bytes_atomic

    faults.point("index.saved")  # the index in place, its source.json not yet

    write_bytes_atomic(folder / "source.json", json.dumps(_stamp(stat)).encode())
    return index


def _changed_rows(index: VectorIndex, ids: list[str], vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Rows of the embeddings that the index lacks or stores differently."""
    unit = as_unit_rows(vectors, index.dim)
    known = np.array([vid in index for vid in ids], dtype=bool)
    changed = ~known
    rows = np.flatnonzero(known)
    for start in range(0, len(rows), 65536):  # bounded memory on large libraries
        part = rows[start : start + 65536]
        stored = index.vectors([ids[r] for r in part])
        changed[part] = np.abs(stored - unit[part]).max(axis=1) > 1e-5
    keep = np.flatnonzero(changed)
    return [ids[r] for r in keep], unit[keep]


def similar_videos(
    library: "Library",
    video_id_or_vector: Union[str, np.ndarray],
    k: int = 10,
    run_id: Optional[str] = None,
    kind: str = "fused",
) -> Neighbours:
    """The ``k`` videos most similar to a library video (by id) or to a float32 [D] vector.

    Returns ``(video id, similarity)`` pairs, most similar first; a video is never
    listed as similar to itself. The similarity is the cosine of the ``kind``
    embeddings — except by sound (``kind="audio"``) for a library video the stored
    analysis matched by its notes: then the matcher's neighbours and their 0-1
    similarity (:func:`reelscope.core.analytics.sound_similar.similar_by_sound`).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if kind == "audio" and isinstance(video_id_or_vector, str):
        from reelscope.core.analytics.sound_similar import similar_by_sound

        matched = similar_by_sound(library, video_id_or_vector, k, run_id)
        if matched is not None:
            return matched
    return embedding_neighbours(library, video_id_or_vector, k, run_id, kind)


def embedding_neighbours(library: "Library", video_id_or_vector: Union[str, np.ndarray], k: int = 10,
                         run_id: Optional[str] = None, kind: str = "fused") -> Neighbours:
    """:func:`similar_videos` by the cosine of the ``kind`` embeddings alone."""
    index = index_for(library, run_id, kind)
    if isinstance(video_id_or_vector, str):
        video_id = video_id_or_vector
        if video_id not in index:
            raise KeyError(
                f"video {video_id!r} has no {kind} embedding in this run; "
                "run 'reelscope embed' to embed newly imported videos"
            )
        return index.query(index.vectors([video_id]), k, exclude_self=[video_id])[0]
    return index.query(np.asarray(video_id_or_vector), k)[0]
