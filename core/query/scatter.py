"""The scatter plot's arrays: one row per usable video, with codes to colour by."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from reelscope.core.query import listing as lst
from reelscope.core.query import stored as st
from reelscope.core.query.reader import Reader, reader_for
from reelscope.core.query.results import ScatterData

if TYPE_CHECKING:
    from reelscope.core.store.library import Library


def scatter_data(library: "Library", run_id: Optional[str] = None) -> ScatterData:
    """Aligned arrays of every usable (status ok) video, in id order, with ``run_id``'s
    originality (default: the newest run with embeddings; NaN without a stored analysis,
    and ``notes`` says why).

    Categories come from a ``category`` field in the metadata when any video has one,
    else from each video's first hashtag (alphabetically, as everywhere else).
    Built once per database change or analysis and cached; treat the arrays as read-only.
    """
    reader = reader_for(library)
    stored, note = st.stored_run(library, reader, run_id)
    with reader.lock:
        listing = lst.ensure_listing(reader, stored)
        data = reader.memo("scatter", listing.key, lambda: _build(reader, stored))
    notes = tuple(n for n in (note, stored.note if stored else None) if n)
    return ScatterData(stored.run.id if stored else None, *data, notes=notes)


def _build(reader: Reader, stored: Optional[st.StoredRun]) -> tuple[Any, ...]:
    conn = reader.conn
    field, category = _category_sql(conn)
    rows = conn.execute(
        f"SELECT id, originality, likes, followers, author_id, author, sound_id, sound, {category} "
        "FROM temp.listing l WHERE status = 'ok' ORDER BY id").fetchall()
    cols = list(zip(*rows)) if rows else [()] * 9
    category_codes, categories = codes(cols[8], cols[8])
    sound_codes, sounds = codes(cols[6], cols[7])
    author_codes, authors = codes(cols[4], cols[5])
    return (np.array(cols[0], dtype=str), _floats(cols[1], np.float32),
            _floats(cols[2], np.float64), _floats(cols[3], np.float64), category_codes,
            categories, field, sound_codes, sounds, author_codes, authors)


def _floats(values: Sequence[Optional[float]], dtype: Any) -> np.ndarray:
    """None -> NaN without a Python loop (float() of None fails, so go through object)."""
    out = np.array(values, dtype=object)
    out[out == None] = np.nan  # elementwise: `is None` would test the array
    return out.astype(dtype)


def _category_sql(conn: Any) -> tuple[str, str]:
    """(where categories come from, a SQL expression of listing ``l``'s category): a
    ``category`` field of the metadata when any post has one, else the first hashtag."""
    has_field = conn.execute(
        "SELECT 1 FROM main.posts WHERE extra LIKE '%\"category\"%' "
        "AND json_valid(extra) AND json_extract(extra, '$.category') IS NOT NULL LIMIT 1"
    ).fetchone()
    if has_field:
        return "category", ("(SELECT CASE WHEN json_valid(p.extra) THEN "
                            "json_extract(p.extra, '$.category') END "
                            "FROM main.posts p WHERE p.video_id = l.id)")
    return "first_hashtag", ("(SELECT MIN(h.tag) FROM main.video_hashtags vh JOIN main.hashtags h "
                             "ON h.id = vh.hashtag_id WHERE vh.video_id = l.id)")


def codes(keys: Sequence[Any], labels: Sequence[Any]) -> tuple[np.ndarray, tuple[str, ...]]:
    """int32 [N] code of each key (-1 for None or '') and one label per code, the most
    frequent key first (ties by key); a code's label is ``labels`` at a row of its key,
    or the key itself when that label is empty."""
    key = np.array(["" if k is None else str(k) for k in keys])
    out = np.full(len(key), -1, dtype=np.int32)
    known = np.flatnonzero(key != "")
    if not len(known):
        return out, ()
    uniq, first, inverse, counts = np.unique(key[known], return_index=True,
                                             return_inverse=True, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    rank = np.empty(len(uniq), dtype=np.int32)
    rank[order] = np.arange(len(uniq), dtype=np.int32)
    out[known] = rank[inverse]
    rows = known[first[order]]
    names = tuple(str(labels[r]) if labels[r] not in (None, "") else str(uniq[j])
                  for r, j in zip(rows, order))
    return out, names
