"""The embedding map of a run, as the window shows it: the stored t-SNE map when there is
a current one, else the PCA map computed now (in memory — about a second at 300,000
videos), with a note saying why. Reads only; the stored map is made by
:func:`reelscope.core.analytics.embedding_map.compute_map`, a writing job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reelscope.core.query.reader import file_stamp, reader_for

if TYPE_CHECKING:
    from reelscope.core.analytics.embedding_map import MapLayout
    from reelscope.core.store.library import Library
    from reelscope.core.store.models import TrainingRun


@dataclass(frozen=True)
class EmbeddingMap:
    """``layout`` of run ``run_id`` (both None when no run has embeddings); ``stored``
    says it was read from the run's ``map.npz`` (else it is the PCA map, computed now);
    ``notes`` say what is missing and why."""

    run_id: str | None
    layout: MapLayout | None
    stored: bool
    notes: tuple[str, ...] = ()


def embedding_map(library: Library, run_id: str | None = None, kind: str = "fused") -> EmbeddingMap:
    """``run_id``'s map of its ``kind`` embeddings (default run: the newest with
    embeddings). Cached per run until its embeddings or stored map change; treat the
    arrays as read-only. An unknown ``run_id`` raises KeyError, as ``Library.run`` does."""
    from reelscope.core.analytics.data import resolve_run
    from reelscope.core.analytics.embedding_map import map_path
    from reelscope.core.store.embeddings import FILE_NAME

    try:
        run = resolve_run(library, run_id)
    except FileNotFoundError as exc:
        return EmbeddingMap(None, None, False, (str(exc),))
    key = (file_stamp(library.path / run.dir / FILE_NAME), file_stamp(map_path(library, run)))
    return reader_for(library).memo(("embedding-map", run.id, kind), key, lambda: _read(library, run, kind))


def _read(library: Library, run: TrainingRun, kind: str) -> EmbeddingMap:
    from reelscope.core.analytics.embedding_map import (
        MapLayout,
        load_map,
        pca_map,
        read_embeddings,
    )

    layout, why = load_map(library, run, kind)
    if layout is not None:
        return EmbeddingMap(run.id, layout, True)
    ids, X = read_embeddings(library, run, kind)
    xy, explained = pca_map(X)
    state = {"missing": "has no t-SNE map yet",
             "stale": "has a t-SNE map older than its embeddings"}.get(why, f"has a t-SNE map that cannot be "
                                                                           f"read ({why.split(': ', 1)[-1]})")
    note = f"run {run.id} {state}; showing PCA until one is computed"
    return EmbeddingMap(run.id, MapLayout(ids, xy, "pca", kind, len(ids), 0, explained), False, (note,))
