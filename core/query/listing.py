"""The reader-side table the video table and the scatter plot are queried from.

``temp.listing`` (in the reader's in-memory TEMP database, see ``reader.py``) holds one
row per video: the columns the window sorts and filters by, from the database's joined
tables, plus the run's per-video scores (originality, like forecast) from its stored
``scores.npz``. SQL does every filter, sort and page on it (``page_rowids`` says how
it stays fast without sorting everything on every call).

Why a reader-side copy. Measured on a 300,000-video library (bench/queries.py): SQL on
``library.db`` itself needs a full join and sort for every page — 130 ms for one page
by likes, 370 ms by followers — because the sort columns live in four tables with no
index on them (a LEFT JOIN cannot be driven from one either). The copy costs ~2 s per
database change at that size on two cores, after which a page takes 5-100 ms and a new
sort or filter 30-350 ms (docs/BENCHMARKS.md).

Why the scores go into SQLite, not the other way round. The scores of a run live in
``runs/<run>/analytics/scores.npz``; joined in Python every filter or sort on a score
would leave SQL. They are loaded once into ``temp.scores_<run>`` (keyed by the files'
mtime and size) and joined when the listing is built. Writing them into ``library.db``
instead would make the analysis a second writer of the database and change what its
golden files pin; a reader-side table costs ~1 s per analysis and nothing on disk.

The listing is rebuilt when the database's data version or the run's stored analysis
changes; during an import that means at most once per committed batch, on the next
query.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from reelscope.core.query.reader import Reader
from reelscope.core.query.stored import StoredRun

#: sort name -> listing column (text columns sort case-insensitively)
SORT_COLUMNS = {
    "id": "id", "author": "author COLLATE NOCASE", "followers": "followers",
    "posted_at": "posted_at", "likes": "likes", "like_forecast": "like_forecast",
    "originality": "originality", "sound": "sound COLLATE NOCASE",
}
ROW_COLUMNS = ("id", "author", "followers", "posted_at", "likes", "like_forecast",
               "originality", "sound", "status", "author_id", "sound_id")
SCORE_COLUMNS = ("originality", "like_forecast")
#: pages that end within this many rows are cut from one scan, without a sort index
TOP_K_ROWS = 1000


@dataclass(frozen=True)
class Filters:
    """What a page asks for; None = no condition. Bounds are inclusive."""

    text: Optional[str] = None
    author: Optional[str] = None
    hashtag: Optional[str] = None
    sound: Optional[str] = None
    status: Optional[str] = None
    posted_from: Optional[int] = None
    posted_to: Optional[int] = None
    likes_min: Optional[float] = None
    likes_max: Optional[float] = None
    originality_min: Optional[float] = None
    originality_max: Optional[float] = None

    def where(self) -> tuple[str, list[Any]]:
        """A SQL condition on ``temp.listing`` and its arguments."""
        from reelscope.core.analytics.hashtags import normalise_tag

        parts: list[str] = []
        args: list[Any] = []
        if self.text:
            escaped = self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            like = f"%{escaped}%"
            parts.append("(description LIKE ? ESCAPE '\\' OR author LIKE ? ESCAPE '\\' "
                         "OR id LIKE ? ESCAPE '\\' OR sound LIKE ? ESCAPE '\\')")
            args += [like] * 4
        if self.author:
            parts.append("(author_id = ? OR author = ? COLLATE NOCASE)")
            args += [self.author, self.author.lstrip("@")]
        if self.hashtag:
            # As typed (less a '#') or as the importer normalises tags ('#FYP' -> 'fyp').
            parts.append("id IN (SELECT vh.video_id FROM main.video_hashtags vh "
                         "JOIN main.hashtags h ON h.id = vh.hashtag_id WHERE h.tag IN (?, ?))")
            args += [self.hashtag.strip().removeprefix("#"), normalise_tag(self.hashtag)]
        if self.sound:
            parts.append("(sound_id = ? OR sound = ?)")
            args += [self.sound, self.sound]
        for column, low, high in (("posted_at", self.posted_from, self.posted_to),
                                  ("likes", self.likes_min, self.likes_max),
                                  ("originality", self.originality_min, self.originality_max)):
            if low is not None:
                parts.append(f"{column} >= ?")
                args.append(low)
            if high is not None:
                parts.append(f"{column} <= ?")
                args.append(high)
        if self.status:
            parts.append("status = ?")
            args.append(self.status)
        return " AND ".join(parts) or "1", args


@dataclass
class Listing:
    """``temp.listing`` as built for ``key``: (data version, run, analysis stamp), and the
    columns it has a sort index on so far."""

    key: tuple[Any, ...]
    indexed: set[str] = field(default_factory=set)


def ensure_listing(reader: Reader, stored: Optional[StoredRun]) -> Listing:
    """``temp.listing`` with ``stored``'s scores, rebuilt unless current. Hold
    ``reader.lock`` while using it: another thread may rebuild it afterwards."""
    key = (reader.data_version(), stored.run.id if stored else None,
           stored.stamp if stored and stored.analysis is not None else None)
    return reader.memo("listing", key, lambda: _build_listing(reader, stored, key))


def _build_listing(reader: Reader, stored: Optional[StoredRun], key: tuple[Any, ...]) -> Listing:
    conn = reader.conn
    scores = _scores_table(reader, stored) if stored and stored.analysis is not None else None
    join = f"LEFT JOIN temp.{scores} sc ON sc.video_id = v.id" if scores else ""
    values = ", ".join(f"sc.{c} AS {c}" if scores else f"NULL AS {c}" for c in SCORE_COLUMNS)
    conn.execute("DROP TABLE IF EXISTS temp.listing")
    conn.execute(f"""
        CREATE TEMP TABLE listing AS
        SELECT v.id AS id, v.status AS status,
               p.description AS description, p.posted_at AS posted_at,
               p.author_id AS author_id, COALESCE(a.unique_id, p.author_id) AS author,
               a.followers AS followers, e.likes AS likes,
               p.sound_id AS sound_id, COALESCE(s.title, p.sound_id) AS sound, {values}
        FROM main.videos v
        LEFT JOIN main.posts p ON p.video_id = v.id
        LEFT JOIN main.engagement e ON e.video_id = v.id
        LEFT JOIN main.authors a ON a.id = p.author_id
        LEFT JOIN main.sounds s ON s.id = p.sound_id
        {join}""")
    # By id: the id sort, and the hashtag filter's lookups (id IN a tag's videos).
    conn.execute("CREATE INDEX temp.listing_by_id ON listing(id)")
    return Listing(key, {"id"})


def _scores_table(reader: Reader, stored: StoredRun) -> str:
    """``temp.scores_<n>``: the run's stored per-video scores, loaded once per analysis."""
    assert stored.analysis is not None
    scores = stored.analysis.scores

    def load() -> str:
        name = "scores_" + hashlib.sha1(stored.run.id.encode()).hexdigest()[:16]
        n = len(scores["ids"])
        columns = [np.asarray(scores[c], dtype=np.float64) if c in scores else np.full(n, np.nan)
                   for c in SCORE_COLUMNS]
        rows = zip(scores["ids"].tolist(), *(_nan_to_none(c) for c in columns))
        conn = reader.conn
        conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
        conn.execute(f"CREATE TEMP TABLE {name} (video_id TEXT PRIMARY KEY, "
                     f"{', '.join(f'{c} REAL' for c in SCORE_COLUMNS)}) WITHOUT ROWID")
        conn.execute("BEGIN")
        try:
            conn.executemany(f"INSERT OR REPLACE INTO temp.{name} VALUES "
                             f"({', '.join('?' * (1 + len(SCORE_COLUMNS)))})", rows)
        finally:
            conn.execute("COMMIT")
        return name

    return reader.memo(("scores_table", stored.run.id), stored.stamp, load)


def _nan_to_none(values: np.ndarray) -> list[Optional[float]]:
    out: list[Optional[float]] = values.tolist()
    for i in np.flatnonzero(np.isnan(values)):
        out[i] = None
    return out


def _source(reader: Reader, listing: Listing, filters: Filters) -> tuple[str, str]:
    """(table, its listing-rowid column) a page is read from: the listing itself when
    nothing is filtered, else ``temp.matches`` — the rows that pass the filters with
    their sort columns, made once per filter set, so counting and every page after
    evaluate the filters (a hashtag's video list, a text search) only once."""
    if filters == Filters():
        return "listing", "rowid"

    def build() -> bool:
        where, args = filters.where()
        reader.conn.execute("DROP TABLE IF EXISTS temp.matches")
        reader.conn.execute(f"CREATE TEMP TABLE matches AS SELECT rowid AS lrow, "
                            f"{', '.join(SORT_COLUMNS)} FROM temp.listing WHERE {where}", args)
        return True

    reader.memo("matches", (listing.key, filters), build)
    return "matches", "lrow"


def count(reader: Reader, listing: Listing, filters: Filters, sort: str) -> tuple[int, int]:
    """(matching rows, those with a value in the sort column); the last answer is kept,
    so paging through one result counts once."""
    column = SORT_COLUMNS[sort].split()[0]
    table, _ = _source(reader, listing, filters)

    def run() -> tuple[int, int]:
        total, valued = reader.conn.execute(
            f"SELECT COUNT(*), COUNT({column}) FROM temp.{table}").fetchone()
        return int(total), int(valued)

    return reader.memo("count", (listing.key, filters, column), run)


def page_rowids(reader: Reader, listing: Listing, filters: Filters, sort: str,
                descending: bool, offset: int, limit: int) -> list[int]:
    """Listing rowids of one page: rows with a value in the sort column ordered by it
    (ties by id, in the same direction), then rows without one by id.

    Near the top (``offset + limit`` <= :data:`TOP_K_ROWS`) SQLite keeps the best rows
    of one scan (~85 ms at 300,000 videos) instead of sorting everything; paging deeper
    into the unfiltered listing makes an index on the sort column once (~0.6 s), which
    serves every later page of that sort at any depth.
    """
    expr = SORT_COLUMNS[sort]
    column = expr.split()[0]
    table, rowid = _source(reader, listing, filters)
    hint = ""
    if table == "listing":
        if column not in listing.indexed and offset + limit > TOP_K_ROWS:
            reader.conn.execute(f"CREATE INDEX temp.listing_by_{column} ON listing({expr}, id)")
            listing.indexed.add(column)
        hint = f"INDEXED BY listing_by_{column}" if column in listing.indexed else "NOT INDEXED"
    _, valued = count(reader, listing, filters, sort)
    direction = "DESC" if descending else "ASC"
    out: list[int] = []
    if offset < valued:
        out += [r for (r,) in reader.conn.execute(
            f"SELECT {rowid} FROM temp.{table} {hint} WHERE {column} IS NOT NULL "
            f"ORDER BY {expr} {direction}, id {direction} LIMIT ? OFFSET ?", [limit, offset])]
    if len(out) < limit and column != "id":
        out += [r for (r,) in reader.conn.execute(
            f"SELECT {rowid} FROM temp.{table} {hint} WHERE {column} IS NULL "
            "ORDER BY id LIMIT ? OFFSET ?", [limit - len(out), max(0, offset - valued)])]
    return out


def listing_rows(reader: Reader, rowids: Sequence[int]) -> list[dict[str, Any]]:
    """The listing rows of ``rowids``, in that order, each with its hashtags and content
    hash (which stays out of the listing: 128 characters a row would slow every scan)."""
    if not rowids:
        return []
    marks = ",".join("?" * len(rowids))
    with reader.lock:
        cur = reader.conn.execute(
            f"SELECT l.rowid, {', '.join('l.' + c for c in ROW_COLUMNS)}, v.content_hash "
            "FROM temp.listing l LEFT JOIN main.videos v ON v.id = l.id "
            f"WHERE l.rowid IN ({marks})",
            list(rowids))
        by_rowid = {r[0]: dict(zip((*ROW_COLUMNS, "content_hash"), r[1:])) for r in cur}
        rows = [by_rowid[r] for r in rowids]
        tags = hashtags_of(reader, [r["id"] for r in rows])
    for r in rows:
        r["hashtags"] = tags.get(r["id"], ())
    return rows


def hashtags_of(reader: Reader, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """video id -> its hashtags (alphabetical, as ``Library`` gives them)."""
    out: dict[str, list[str]] = {}
    marks = ",".join("?" * len(ids))
    with reader.lock:
        for vid, tag in reader.conn.execute(
                "SELECT vh.video_id, h.tag FROM main.video_hashtags vh "
                f"JOIN main.hashtags h ON h.id = vh.hashtag_id WHERE vh.video_id IN ({marks}) "
                "ORDER BY h.tag", list(ids)):
            out.setdefault(vid, []).append(tag)
    return {k: tuple(v) for k, v in out.items()}
