"""A run's stored results as the queries read them — loaded, never made.

Each loader reads what ``reelscope analyze`` (and ``embed``) left in ``runs/<run>/``
through the analytics package's own loaders, caches it on the library's reader keyed
by the files' (mtime, size), and answers None with a note when the file is missing or
older than the run's embeddings. Nothing here fits a model, builds an index or writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from reelscope.core.query.reader import Reader, file_stamp

if TYPE_CHECKING:
    from reelscope.core.analytics.analyze import Analysis
    from reelscope.core.analytics.forecast import LikeForecaster
    from reelscope.core.analytics.hashtags import HashtagSuggester
    from reelscope.core.analytics.vector_index import VectorIndex
    from reelscope.core.store.library import Library
    from reelscope.core.store.models import TrainingRun


@dataclass(frozen=True)
class StoredRun:
    """A run, its stored analysis (None when missing or stale) and why it is missing.

    ``stamp`` identifies the files the analysis was read from; ``row_of`` maps a video
    id to its row in ``analysis.scores`` (empty without an analysis).
    """

    run: "TrainingRun"
    analysis: Optional["Analysis"]
    stamp: tuple[Any, ...]
    row_of: dict[str, int]
    note: Optional[str] = None


def analyze_hint(run_id: str) -> str:
    return f"run 'reelscope analyze --run {run_id}'"


def stored_run(library: "Library", reader: Reader, run_id: Optional[str]
               ) -> tuple[Optional[StoredRun], Optional[str]]:
    """``run_id``'s run (default: the newest with embeddings) and its stored analysis
    (whose ``note`` says why it is missing), or ``(None, why)`` when no run has
    embeddings. An unknown ``run_id`` raises KeyError, as ``Library.run`` does.
    """
    from reelscope.core.analytics.analyze import analysis_folder
    from reelscope.core.analytics.data import resolve_run

    try:
        run = resolve_run(library, run_id)
    except FileNotFoundError as exc:
        return None, str(exc)
    folder = analysis_folder(library, run)
    stamp = (file_stamp(library.path / run.dir / "embeddings.npz"),
             file_stamp(folder / "summary.json"), file_stamp(folder / "scores.npz"))
    return reader.memo(("analysis", run.id), stamp, lambda: _load(library, run, stamp)), None


def _load(library: "Library", run: "TrainingRun", stamp: tuple[Any, ...]) -> StoredRun:
    from reelscope.core.analytics.analyze import load_analysis

    analysis = load_analysis(library, run.id)
    if analysis is None:
        state = "has not been analysed" if stamp[1] is None else \
            "has an analysis older than its embeddings (or unreadable)"
        note = f"run {run.id} {state}; {analyze_hint(run.id)} for scores and forecasts"
        return StoredRun(run, None, stamp, {}, note)
    row_of = {str(v): i for i, v in enumerate(analysis.scores["ids"])}
    return StoredRun(run, analysis, stamp, row_of)


def detector_scores(stored: StoredRun, row: int) -> dict[str, float]:
    """detector name -> its 0-100 originality for one scores row."""
    assert stored.analysis is not None
    scores = stored.analysis.scores
    return {key[len("originality_"):]: float(scores[key][row])
            for key in scores if key.startswith("originality_")}


def score(stored: StoredRun, key: str, row: int) -> Optional[float]:
    """One stored per-video value, None when the analysis lacks it or it is NaN."""
    assert stored.analysis is not None
    values = stored.analysis.scores.get(key)
    if values is None or np.isnan(values[row]):
        return None
    return float(values[row])


def stored_index(library: "Library", reader: Reader, run: "TrainingRun", kind: str
                 ) -> tuple[Optional["VectorIndex"], Optional[str]]:
    """The run's saved similarity index of ``kind`` if it matches the run's embeddings.

    ``similar.index_for`` would build or update a missing or stale index; a query
    only loads one that ``reelscope analyze`` saved.
    """
    from reelscope.core.analytics.analyze import _source  # the stamp index_for saves too
    from reelscope.core.analytics.vector_index import META_NAME, VectorIndex

    folder = library.path / run.dir / "index" / kind
    if not (folder / META_NAME).exists():
        return None, (f"run {run.id} has no saved {kind} similarity index; "
                      f"{analyze_hint(run.id)} to build it")
    try:
        current = json.loads((folder / "source.json").read_text()) == _source(library, run)
    except (OSError, ValueError):
        current = False
    if not current:
        return None, (f"the {kind} similarity index of run {run.id} is older than its "
                      f"embeddings; {analyze_hint(run.id)} to update it")
    key = tuple(file_stamp(folder / f) for f in ("meta.json", "hnsw.bin", "vectors.npy"))
    try:
        return reader.memo(("index", run.id, kind), key, lambda: VectorIndex.load(folder)), None
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        return None, f"the {kind} similarity index of run {run.id} cannot be read ({exc})"


def forecaster(reader: Reader, stored: StoredRun) -> Optional["LikeForecaster"]:
    """The stored like-forecast model of the run (None when the forecast was skipped)."""
    assert stored.analysis is not None
    analysis = stored.analysis
    key = (stored.stamp, file_stamp(analysis.folder / "forecast.npz"))
    return reader.memo(("forecaster", stored.run.id), key, analysis.forecaster)


def embedding_rows(library: "Library", reader: Reader, stored: StoredRun, kind: str
                   ) -> Optional[np.ndarray]:
    """float32 [N, D] embeddings of ``kind``, row i for ``analysis.scores["ids"][i]``;
    None when the embeddings file no longer covers the analysed videos."""
    from reelscope.core.store.embeddings import FILE_NAME

    path = library.path / stored.run.dir / FILE_NAME

    def load() -> Optional[np.ndarray]:
        assert stored.analysis is not None
        with np.load(path, allow_pickle=False) as z:  # reads only the two arrays named
            ids, X = z["ids"], z[kind]
        rows = {str(v): i for i, v in enumerate(ids)}
        try:
            take = np.array([rows[str(v)] for v in stored.analysis.scores["ids"]], dtype=np.int64)
        except KeyError:
            return None
        return np.asarray(X[take], dtype=np.float32)

    return reader.memo(("embeddings", stored.run.id, kind), (stored.stamp, file_stamp(path)), load)


def suggester(library: "Library", reader: Reader, stored: StoredRun
              ) -> tuple[Optional["HashtagSuggester"], dict[str, int], Optional[str]]:
    """The run's stored hashtag suggester with its neighbour bank attached, and
    video id -> its row in the bank (the analysed videos that have hashtags).

    The bank is what ``Analysis.suggester`` attaches — the analysed videos' embeddings,
    hashtags and likes — read here with two queries instead of building every video
    record (``library.videos()`` takes about 20 s at 300,000 videos, too slow for a
    window's detail pane). It is read once per analysis, like the model it belongs to:
    attaching it costs seconds on a large library, too much to repeat after each import
    batch.
    """
    from reelscope.core.analytics.hashtags import HashtagSuggester, normalise_tag

    analysis = stored.analysis
    assert analysis is not None
    path = analysis.folder / "hashtags.npz"
    if not path.exists():
        skipped = analysis.result.hashtags.skipped
        return None, {}, (f"run {stored.run.id} stored no hashtag suggester"
                          + (f" ({skipped})" if skipped else ""))
    key = (stored.stamp, file_stamp(path))

    def build() -> tuple[Optional["HashtagSuggester"], dict[str, int]]:
        X = embedding_rows(library, reader, stored, analysis.result.kind)
        if X is None:
            return None, {}
        tags: dict[str, list[str]] = {}
        with reader.lock:
            for vid, tag in reader.conn.execute(
                    "SELECT vh.video_id, h.tag FROM video_hashtags vh "
                    "JOIN hashtags h ON h.id = vh.hashtag_id ORDER BY h.tag"):
                tags.setdefault(vid, []).append(tag)
            likes = dict(reader.conn.execute("SELECT video_id, likes FROM engagement"))
        ids = [str(v) for v in analysis.scores["ids"]]
        rows = [i for i, vid in enumerate(ids) if vid in tags]
        with np.load(path, allow_pickle=False) as z:
            model = HashtagSuggester.from_arrays(z)
        # attach() ignores tags outside the vocabulary and normalises each tag it is
        # given: hand it only vocabulary tags, each distinct one normalised once here.
        vocabulary = set(model.vocabulary_.tolist())
        norm = {t: normalise_tag(t) for t in {t for row in tags.values() for t in row}}
        sounds = analysis.scores.get("sound_cluster")  # a library video finds its own by its bank row
        model.attach(X,
                     [[norm[t] for t in tags[ids[i]] if norm[t] in vocabulary] for i in rows],
                     [None if likes.get(ids[i]) is None else float(likes[ids[i]]) for i in rows],
                     sounds=None if sounds is None else sounds[rows], rows=rows)
        return model, {ids[i]: j for j, i in enumerate(rows)}

    model, bank_row = reader.memo(("suggester", stored.run.id), key, build)
    if model is None:
        return None, {}, f"the embeddings of run {stored.run.id} no longer cover its analysis"
    return model, bank_row, None
