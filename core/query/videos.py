"""The video table, one video's detail panel and its thumbnail."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from reelscope.core.query import listing as lst
from reelscope.core.query import stored as st
from reelscope.core.query.reader import Reader, reader_for
from reelscope.core.query.results import (LikeForecast, Neighbour, SoundCluster, TagSuggestion,
                                          VideoDetail, VideoPage, VideoRow)

if TYPE_CHECKING:
    from reelscope.core.store.library import Library

SORTS = tuple(lst.SORT_COLUMNS)
MAX_LIMIT = 10_000
MAX_CLUSTER_VIDEOS = 100


def video_page(library: "Library", run_id: Optional[str] = None, *, offset: int = 0,
               limit: int = 100, sort: str = "likes", descending: bool = True,
               text: Optional[str] = None, author: Optional[str] = None,
               hashtag: Optional[str] = None, sound: Optional[str] = None,
               posted_from: Optional[int] = None, posted_to: Optional[int] = None,
               likes_min: Optional[float] = None, likes_max: Optional[float] = None,
               originality_min: Optional[float] = None, originality_max: Optional[float] = None,
               status: Optional[str] = None) -> VideoPage:
    """One page of the library's videos, filtered and sorted, with ``run_id``'s scores.

    ``sort``: one of :data:`SORTS`; videos without a value in that column come last
    whichever the direction, ties go by id. Filters (None = any; bounds inclusive):
    ``text`` a substring of the description, author handle, sound or id (case-insensitive);
    ``author`` an author id or handle (``@`` optional); ``hashtag`` a tag (``#`` and case
    optional); ``sound`` a sound id or title; ``posted_from``/``posted_to`` unix seconds;
    ``likes_*``, ``originality_*`` (0-100); ``status`` ok, failed or pending.
    ``run_id`` None takes the newest run with embeddings. Without a stored analysis the
    score columns are empty and ``notes`` says why. ``listing.py`` tells how a page stays
    fast on a large library.
    """
    if sort not in lst.SORT_COLUMNS:
        raise ValueError(f"unknown sort {sort!r}; choose one of {', '.join(SORTS)}")
    if offset < 0 or not 0 <= limit <= MAX_LIMIT:
        raise ValueError(f"offset must be >= 0 and limit within 0..{MAX_LIMIT}")
    filters = lst.Filters(text or None, author or None, hashtag or None, sound or None,
                          status or None, posted_from, posted_to, likes_min, likes_max,
                          originality_min, originality_max)  # an empty text box filters nothing
    reader = reader_for(library)
    stored, note = st.stored_run(library, reader, run_id)
    with reader.lock:
        listing = lst.ensure_listing(reader, stored)
        total, _ = lst.count(reader, listing, filters, sort)
        rowids = lst.page_rowids(reader, listing, filters, sort, descending, offset, limit)
        rows = lst.listing_rows(reader, rowids)
    notes = tuple(n for n in (note, stored.note if stored else None) if n)
    return VideoPage(tuple(_row(library, r) for r in rows), total, offset, limit, sort,
                     descending, stored.run.id if stored else None, notes)


def posted_range(library: "Library") -> Optional[tuple[int, int]]:
    """(first, last) post time of the library's videos in unix seconds, None when no
    post has a date — where a date filter should start instead of "a year ago"."""
    reader = reader_for(library)
    with reader.lock:
        first, last = reader.conn.execute(
            "SELECT MIN(posted_at), MAX(posted_at) FROM posts WHERE posted_at IS NOT NULL").fetchone()
    return None if first is None else (int(first), int(last))


def _row(library: "Library", r: dict[str, Any]) -> VideoRow:
    return VideoRow(id=r["id"], author=r["author"], followers=r["followers"],
                    posted_at=r["posted_at"], likes=r["likes"], like_forecast=r["like_forecast"],
                    originality=r["originality"], sound=r["sound"], hashtags=r["hashtags"],
                    status=r["status"],
                    has_thumbnail=_thumb_path(library, r["content_hash"]) is not None,
                    author_id=r["author_id"], sound_id=r["sound_id"])


def _thumb_path(library: "Library", content_hash: Optional[str]) -> Optional[Path]:
    """The thumbnail file of a content hash, None when there is none (or the hash is
    not a plain token: a path is never built from anything else)."""
    try:
        path = library.cache.thumb_path(content_hash or "")
    except ValueError:  # not a plain token (store.clipcache.safe_hash)
        return None
    return path if path.is_file() else None


def thumbnail(library: "Library", video_id: str) -> Optional[bytes]:
    """The video's JPEG thumbnail as the import stored it; None when it has none or the
    library holds no such video."""
    reader = reader_for(library)
    with reader.lock:
        found = reader.conn.execute("SELECT content_hash FROM videos WHERE id = ?",
                                    [video_id]).fetchone()
    path = _thumb_path(library, found[0]) if found else None
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


# ---------------------------------------------------------------------- detail
def video_detail(library: "Library", video_id: str, run_id: Optional[str] = None,
                 k: int = 10, n_tags: int = 10) -> VideoDetail:
    """Metadata, scores, forecast, ``k`` similar videos, ``n_tags`` suggested hashtags
    and the sound cluster of one library video (KeyError when there is none), all read
    from ``run_id``'s stored results (default: the newest run with embeddings).
    Whatever is missing is left empty and ``notes`` says why. ``n_tags=0`` skips the
    suggestions (and building the suggester's neighbour bank: seconds at 300,000 videos).
    """
    video = library.get(video_id)
    reader = reader_for(library)
    base = dict(
        id=video.id, path=video.path, status=video.status, error=video.error,
        duration=video.duration, description=video.description,
        author=(video.author.unique_id or video.author.id) if video.author else None,
        author_id=video.author.id if video.author else None,
        followers=video.author.followers if video.author else None,
        posted_at=video.posted_at, likes=video.likes,
        sound=(video.sound.title or video.sound.id) if video.sound else None,
        sound_id=video.sound.id if video.sound else None, hashtags=video.hashtags,
        has_thumbnail=_thumb_path(library, video.content_hash) is not None)
    stored, note = st.stored_run(library, reader, run_id)
    if stored is None or stored.analysis is None:
        why = note or (stored.note if stored else None)
        return VideoDetail(run_id=stored.run.id if stored else None, notes=(why,) if why else (),
                           **base)
    notes: list[str] = []
    row = stored.row_of.get(video.id)
    if row is None:
        notes.append(f"video {video.id} is not in run {stored.run.id}'s analysis "
                     f"(imported or embedded since); run 'reelscope embed' then "
                     f"{st.analyze_hint(stored.run.id)}")
        return VideoDetail(run_id=stored.run.id, notes=tuple(notes), **base)
    similar = _similar(library, reader, stored, video.id, k, notes)
    return VideoDetail(
        run_id=stored.run.id, originality=st.score(stored, "originality", row),
        originality_detectors=st.detector_scores(stored, row),
        forecast=_forecast(reader, stored, row, video, similar, notes),
        similar=similar,
        suggested_tags=_suggested_tags(library, reader, stored, row, video, n_tags, notes)
        if n_tags > 0 else (),
        sound_cluster=_sound_cluster(reader, stored, row, notes),
        notes=tuple(notes), **base)


def _similar(library: "Library", reader: Reader, stored: st.StoredRun, video_id: str, k: int,
             notes: list[str]) -> tuple[Neighbour, ...]:
    assert stored.analysis is not None
    index, why = st.stored_index(library, reader, stored.run, stored.analysis.result.kind)
    if index is None:
        notes.append(str(why))
        return ()
    if video_id not in index:
        notes.append(f"video {video_id} is not in run {stored.run.id}'s similarity index")
        return ()
    hits = index.query(index.vectors([video_id]), k, exclude_self=[video_id])[0]
    likes = _likes(reader, [vid for vid, _ in hits])
    return tuple(Neighbour(vid, float(s), likes.get(vid)) for vid, s in hits)


def _likes(reader: Reader, ids: list[str]) -> dict[str, Optional[int]]:
    if not ids:
        return {}
    with reader.lock:
        marks = ",".join("?" * len(ids))
        return dict(reader.conn.execute(
            f"SELECT video_id, likes FROM engagement WHERE video_id IN ({marks})", ids))


def _forecast(reader: Reader, stored: st.StoredRun, row: int, video: Any,
              similar: tuple[Neighbour, ...], notes: list[str]) -> Optional[LikeForecast]:
    """The stored forecast and interval, explained with the stored model (not refitted)."""
    from reelscope.core.analytics.forecast import (LikeFeatures, author_features,
                                                   context_features, explain_forecast)

    assert stored.analysis is not None
    result = stored.analysis.result.forecast
    value = st.score(stored, "like_forecast", row)
    if value is None:
        notes.append(f"no like forecast in run {stored.run.id}"
                     + (f": {result.skipped}" if result.skipped else ""))
        return None
    low, high = st.score(stored, "like_low", row), st.score(stored, "like_high", row)
    forecast = LikeForecast(value, low if low is not None else value,
                            high if high is not None else value, result.coverage)
    model = st.forecaster(reader, stored)
    if model is None or result.coverage is None:
        notes.append(f"run {stored.run.id} stored no forecast model, so the forecast is not "
                     f"explained; {st.analyze_hint(stored.run.id)} again")
        return forecast
    a = video.author
    stats = author_features(*([getattr(a, s) if a else None] for s in
                              ("followers", "hearts", "video_count", "following")))
    baseline = uplift = None
    if not np.isnan(stats).all():
        # The author model reads only the author columns: the embedding is a placeholder.
        features = LikeFeatures(np.zeros((1, len(model.pca_mean_)), dtype=np.float32), stats,
                                context_features([video.duration], [video.posted_at]))
        base_log = float(model.predict_log(features, "author")[0])
        baseline = max(0.0, math.expm1(base_log))
        uplift = math.exp(math.log1p(value) - base_log)
    parts = {"forecast": value, "low": forecast.low, "high": forecast.high,
             "coverage": result.coverage, "author_baseline": baseline, "content_uplift": uplift}
    text = explain_forecast(parts, [{"id": n.id, "score": n.score, "likes": n.likes}
                                    for n in similar])
    return LikeForecast(value, forecast.low, forecast.high, result.coverage, baseline, uplift, text)


def _suggested_tags(library: "Library", reader: Reader, stored: st.StoredRun, row: int,
                    video: Any, n_tags: int, notes: list[str]) -> tuple[TagSuggestion, ...]:
    from reelscope.core.analytics.hashtags import normalise_tag

    assert stored.analysis is not None
    model, bank_row, why = st.suggester(library, reader, stored)
    if model is None:
        notes.append(str(why))
        return ()
    X = st.embedding_rows(library, reader, stored, stored.analysis.result.kind)
    assert X is not None  # the suggester was built from it
    own = {normalise_tag(t) for t in video.hashtags}
    found = model.suggest(X[row:row + 1], k=n_tags + len(own),
                          exclude=[bank_row.get(video.id, -1)])[0]
    return tuple(TagSuggestion(s["tag"], s["score"], s["probability"], s["share"],
                               s["similar_videos"], s["median_likes"])
                 for s in found if s["tag"] not in own)[:n_tags]


def _sound_cluster(reader: Reader, stored: st.StoredRun, row: int, notes: list[str]
                   ) -> Optional[SoundCluster]:
    from reelscope.core.analytics.sounds import group_name, group_names

    assert stored.analysis is not None
    labels = stored.analysis.scores.get("sound_cluster")
    sounds = stored.analysis.result.sounds
    if labels is None or np.isnan(labels[row]):
        notes.append(f"run {stored.run.id} has no sound clusters"
                     + (f": {sounds.error}" if sounds.error else ""))
        return None
    cluster = int(labels[row])
    members = np.flatnonzero(labels == labels[row])
    ids = stored.analysis.scores["ids"]
    others = sorted(str(ids[i]) for i in members if i != row)
    label = group_names(sounds.trends or ()).get(cluster)  # the Sounds view's and the report's name
    if label is None:  # past the summary's trends, or not shared
        label = group_name(_most_common_sound(reader, [str(ids[i]) for i in members[:1000]]), len(members))
    return SoundCluster(cluster, label, len(members), tuple(others[:MAX_CLUSTER_VIDEOS]))


def _most_common_sound(reader: Reader, ids: list[str]) -> Optional[str]:
    """The sound title (else id) the metadata gives most of ``ids``."""
    with reader.lock:
        found = reader.conn.execute(
            "SELECT COALESCE(s.title, p.sound_id) AS name, COUNT(*) AS n FROM posts p "
            "LEFT JOIN sounds s ON s.id = p.sound_id "
            f"WHERE p.video_id IN ({','.join('?' * len(ids))}) AND name IS NOT NULL "
            "GROUP BY name ORDER BY n DESC, name LIMIT 1", ids).fetchone()
    return found[0] if found else None
