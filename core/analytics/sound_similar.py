"""Similar videos by sound: the same note matcher that groups the library's sounds.

"Sound only" similarity used to be the nearest audio embeddings, which blur a
transposed, sped-up repost under a voice-over into something else. Now, when the
run's stored analysis matched sound prints (``sounds.npz``, see
:class:`~reelscope.core.analytics.analyze.SoundNeighbours`), a library video's
similar sounds are its matched neighbours, and a file from outside the library is
printed and searched against the library's cached prints with the same landmark
index (:mod:`reelscope.core.analytics.sound_match`). Either answers None when the
matcher cannot — an analysis from before sound prints, a library without readable
audio, a video or file whose print is empty — and the caller falls back to the audio
embedding index (:func:`reelscope.core.analytics.similar.similar_videos` does).

A match's alignment strength (about 4 by chance, 6 and more for a repost) is shown
as a 0-1 similarity: a logistic curve around the split the analysis itself drew
between reposts and chance in this library (:func:`similarity`), so 0.5 means "on the
line where the analysis starts calling two videos the same sound".
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

from reelscope.core.analytics.vector_index import Neighbours

if TYPE_CHECKING:
    from reelscope.core.analytics.analyze import Analysis
    from reelscope.core.store.library import Library

MAX_FILE_LIBRARY = 5_000  # videos: above this, indexing every print for one file takes too long (~1 s per 300)


def similarity(strength: float, threshold: float) -> float:
    """0-1 from an alignment ``strength``: ``1 / (1 + exp(threshold - strength))``.

    ``threshold`` is the analysis' split between repost and chance alignments (the
    alignment unit is already a spread of chance piles, so one unit is the slope): 0.5
    on the split, about 0.88 two units above it, about 0.12 two below.
    """
    return 1.0 / (1.0 + math.exp(max(-50.0, min(50.0, threshold - strength))))


def similar_by_sound(library: "Library", query: Union[str, Path], k: int = 10,
                     run_id: Optional[str] = None, analysis: Optional["Analysis"] = None
                     ) -> Optional[Neighbours]:
    """The ``k`` videos whose sound matches ``query`` best, as (id, 0-1 similarity),
    best first; None when the note matcher cannot answer (use the audio embedding).

    ``query`` is a library video id (``str``) — its neighbours stored by the analysis,
    at most the 10 it kept — or a file (``Path``) outside the library, printed and
    searched now (about 1.5 s at 300 videos; None above :data:`MAX_FILE_LIBRARY`
    analysed videos). ``analysis``: the run's loaded analysis, if the caller has it.
    """
    from reelscope.core.analytics.analyze import load_analysis

    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if analysis is None:
        analysis = load_analysis(library, run_id)
    if analysis is None:
        return None
    threshold = analysis.result.sounds.threshold
    model = analysis.sound_neighbours()
    if model is None or threshold is None or not math.isfinite(threshold):
        return None
    if isinstance(query, Path):
        found = _file_matches(library, model.ids, query, k)
    else:
        found = [(vid, s) for vid, s in model.of(query, k) if s > 0]
    if not found:
        return None
    return [(vid, similarity(s, threshold)) for vid, s in found]


def _file_matches(library: "Library", ids: list[str], file: Path, k: int) -> list[tuple[str, float]]:
    """(id, alignment strength) of the analysed videos sounding most like ``file``: the
    landmark index over their cached prints proposes, :func:`verify` scores, as
    :func:`~reelscope.core.analytics.sound_match.match_prints` does inside the library.
    Videos without a cached print are left out (``analyze`` caches every print it makes)."""
    import numpy as np

    from reelscope.core.analytics.sound_match import SoundIndex, verify
    from reelscope.core.ingest.media.decode import decode_audio
    from reelscope.core.ingest.media.errors import MediaError
    from reelscope.core.ingest.media.soundprint import SoundPrint, sound_print

    if len(ids) > MAX_FILE_LIBRARY:
        return []
    try:
        query = sound_print(decode_audio(file))
    except (MediaError, OSError, ValueError):
        return []
    if query.empty:
        return []
    wanted = set(ids)
    index, rows_of, prints = SoundIndex(), [], []
    for video in library.videos():
        if video.id not in wanted or not video.content_hash:
            continue
        stored = library.cache.sound(video.content_hash)
        if stored is None:
            continue
        prints.append(SoundPrint.from_array(stored))
        index.add(prints[-1])
        rows_of.append(video.id)
    rows, _ = index.search(query, k=max(20, k))
    if not len(rows):
        return []
    strength = verify(query, [prints[r] for r in rows], index.last_shift, index.last_tempo)
    order = [int(i) for i in np.argsort(-strength, kind="stable")[:k] if strength[i] > 0]
    return [(rows_of[int(rows[i])], float(strength[i])) for i in order]
