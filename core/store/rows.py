"""Rows to records and records to rows: the SQL that turns ``library.db``'s rows into
:class:`~reelscope.core.store.models.Video` records and a post's metadata into rows of
posts, authors, sounds, engagement and hashtags. Used by :class:`Library` only (inside
its transactions), so the store stays the one writer.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Optional

from reelscope.core.store.models import Author, PostMetadata, Problem, Sound, Video


def insert_problem(c: sqlite3.Connection, p: Problem, now: float) -> None:
    c.execute(
        "INSERT OR IGNORE INTO problems(job, path, row, reason, severity, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [p.job, p.path, p.row, p.reason, p.severity, now],
    )


def video_from_row(r: dict[str, Any], tags: tuple[str, ...],
                   shared: Optional[dict[Any, Any]] = None) -> Video:
    """The Video of one joined row. ``shared``: a dict kept across the rows of one listing,
    in which equal authors, sounds, frame-time lists and repeated small values (status,
    sizes, codecs) become one object (a 300,000-video listing has a fraction as many
    authors and sounds; frame times repeat per clip length)."""
    share = (lambda value: shared.setdefault(value, value)) if shared is not None else (lambda value: value)
    author = None
    if r.get("author_id"):
        author = share(Author(
            r["author_id"], r["unique_id"], r["nickname"], r["followers"], r["following"],
            r["hearts"], r["video_count"], r["digg_count"],
        ))
    sound = None
    if r.get("sound_id"):
        original = None if r["sound_original"] is None else bool(r["sound_original"])
        sound = share(Sound(r["sound_id"], r["sound_title"], r["sound_author"], original))
    return Video(
        id=r["id"],
        path=r["path"],
        status=share(r["status"]),
        content_hash=r["content_hash"],
        size_bytes=r["size_bytes"],
        duration=r["duration"],
        width=share(r["width"]),
        height=share(r["height"]),
        fps=share(r["fps"]),
        video_codec=share(r["video_codec"]),
        audio_codec=share(r["audio_codec"]),
        has_audio=None if r["has_audio"] is None else bool(r["has_audio"]),
        rotation=r["rotation"],
        error=r["error"],
        warnings=tuple(json.loads(r["warnings"])) if r["warnings"] and r["warnings"] != "[]" else (),
        frame_times=share(tuple(json.loads(r["frame_times"]))) if r["frame_times"] and r["frame_times"] != "[]" else (),
        description=r.get("description"),
        posted_at=r.get("posted_at"),
        author=author,
        sound=sound,
        likes=r.get("likes"),
        shares=r.get("shares"),
        comments=r.get("comments"),
        plays=r.get("plays"),
        hashtags=tags,
        extra=json.loads(r["extra"]) if r.get("extra") and r["extra"] != "{}" else {},
    )


def save_post(c: sqlite3.Connection, rec: PostMetadata) -> None:
    if rec.author is not None:
        a = rec.author
        # Later statistics win, but a record that lacks a field never erases a known one.
        c.execute(
            """INSERT INTO authors(id, unique_id, nickname, followers, following, hearts,
                                   video_count, digg_count)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(id) DO UPDATE SET
                 unique_id = COALESCE(excluded.unique_id, unique_id),
                 nickname = COALESCE(excluded.nickname, nickname),
                 followers = COALESCE(excluded.followers, followers),
                 following = COALESCE(excluded.following, following),
                 hearts = COALESCE(excluded.hearts, hearts),
                 video_count = COALESCE(excluded.video_count, video_count),
                 digg_count = COALESCE(excluded.digg_count, digg_count)""",
            [a.id, a.unique_id, a.nickname, a.followers, a.following, a.hearts,
             a.video_count, a.digg_count],
        )
    if rec.sound is not None:
        s = rec.sound
        c.execute(
            """INSERT INTO sounds(id, title, author_name, original) VALUES (?, ?, ?, ?)
               ON CONFLICT(id) DO UPDATE SET
                 title = COALESCE(excluded.title, title),
                 author_name = COALESCE(excluded.author_name, author_name),
                 original = COALESCE(excluded.original, original)""",
            [s.id, s.title, s.author_name, None if s.original is None else int(s.original)],
        )
    c.execute(
        """INSERT INTO posts(video_id, description, posted_at, author_id, sound_id,
                             meta_duration, source, extra)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(video_id) DO UPDATE SET
             description = excluded.description, posted_at = excluded.posted_at,
             author_id = excluded.author_id, sound_id = excluded.sound_id,
             meta_duration = excluded.meta_duration, source = excluded.source,
             extra = excluded.extra""",
        [rec.id, rec.description, rec.posted_at, rec.author.id if rec.author else None,
         rec.sound.id if rec.sound else None, rec.duration, rec.source,
         json.dumps(rec.extra, ensure_ascii=False, default=str)],
    )
    c.execute(
        """INSERT INTO engagement(video_id, likes, shares, comments, plays) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(video_id) DO UPDATE SET likes = excluded.likes, shares = excluded.shares,
             comments = excluded.comments, plays = excluded.plays""",
        [rec.id, rec.likes, rec.shares, rec.comments, rec.plays],
    )
    c.execute("DELETE FROM video_hashtags WHERE video_id = ?", [rec.id])
    for tag in dict.fromkeys(rec.hashtags):
        c.execute("INSERT OR IGNORE INTO hashtags(tag) VALUES (?)", [tag])
        c.execute(
            "INSERT OR IGNORE INTO video_hashtags(video_id, hashtag_id) "
            "SELECT ?, id FROM hashtags WHERE tag = ?",
            [rec.id, tag],
        )
