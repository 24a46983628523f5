"""The authors table: one row per author with their videos' likes, reach and originality.

Read from the reader-side listing (``listing.py``), which already joins each video's
post, author, likes, sound and the run's stored originality, so the table agrees with
the video table by construction and costs one scan of it. Cached per listing (a
database change or a new analysis makes a new one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from reelscope.core.query import listing as lst
from reelscope.core.query import stored as st
from reelscope.core.query.reader import Reader, reader_for
from reelscope.core.query.results import AuthorRow

if TYPE_CHECKING:
    from reelscope.core.store.library import Library

#: followers per unit of ``AuthorRow.reach_adjusted_likes``
REACH_UNIT = 1000


def author_table(library: "Library", run_id: Optional[str] = None) -> tuple[AuthorRow, ...]:
    """Every author with at least one video in the library, most videos first (ties by
    handle, case-insensitively, then by id); originality from ``run_id``'s stored
    analysis (default: the newest run with embeddings; None where it has none).
    See :class:`AuthorRow` for what each number means.
    """
    reader = reader_for(library)
    stored, _ = st.stored_run(library, reader, run_id)
    with reader.lock:
        listing = lst.ensure_listing(reader, stored)
        return reader.memo("authors", listing.key, lambda: _build(reader))


def _build(reader: Reader) -> tuple[AuthorRow, ...]:
    rows = reader.conn.execute(
        "SELECT author_id, author, followers, likes, originality, sound_id FROM temp.listing "
        "WHERE author_id IS NOT NULL ORDER BY author_id").fetchall()
    groups: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        groups.setdefault(row[0], []).append(row)
    out = [_summarise(author_id, group) for author_id, group in groups.items()]
    out.sort(key=lambda r: (-r.videos, r.handle.casefold(), r.author_id))
    return tuple(out)


def _summarise(author_id: str, group: list[tuple[Any, ...]]) -> AuthorRow:
    _, handle, followers, *_ = group[0]
    likes = [r[3] for r in group if r[3] is not None]
    originality = [r[4] for r in group if r[4] is not None]
    median = float(np.median(likes)) if likes else None
    reach = median * REACH_UNIT / followers if median is not None and followers else None
    return AuthorRow(
        author_id=author_id, handle=handle or author_id, followers=followers, videos=len(group),
        median_likes=median, reach_adjusted_likes=reach,
        mean_originality=float(np.mean(originality)) if originality else None,
        sounds_used=len({r[5] for r in group if r[5] is not None}))
