"""The library database schema, built only by ordered, recorded migrations.

Each migration runs once, inside one transaction, and is recorded in
``schema_migrations``; opening a library applies whatever is missing, so an
older library is upgraded in place and a newer one is refused rather than
damaged. Append new migrations; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Callable, Optional

Migration = tuple[int, str, str]

MIGRATIONS: list[Migration] = [
    (
        1,
        "initial schema",
        """
        CREATE TABLE authors (
            id TEXT PRIMARY KEY,
            unique_id TEXT,
            nickname TEXT,
            followers INTEGER,
            following INTEGER,
            hearts INTEGER,
            video_count INTEGER,
            digg_count INTEGER
        );
        CREATE TABLE sounds (
            id TEXT PRIMARY KEY,
            title TEXT,
            author_name TEXT,
            original INTEGER
        );
        -- One row per media file the user pointed us at (the original is never modified).
        CREATE TABLE videos (
            id TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            content_hash TEXT,
            size_bytes INTEGER,
            mtime_ns INTEGER,
            duration REAL,
            width INTEGER,
            height INTEGER,
            fps REAL,
            video_codec TEXT,
            audio_codec TEXT,
            has_audio INTEGER,
            rotation INTEGER,
            status TEXT NOT NULL DEFAULT 'pending',
            error TEXT,
            warnings TEXT NOT NULL DEFAULT '[]',
            frame_times TEXT,
            imported_at REAL
        );
        CREATE UNIQUE INDEX videos_path ON videos(path);
        CREATE INDEX videos_hash ON videos(content_hash);
        CREATE INDEX videos_status ON videos(status);
        -- The post as published: text, author, sound, posting time, unknown fields.
        -- Keyed by the platform id, which is also the video id (file stem).
        CREATE TABLE posts (
            video_id TEXT PRIMARY KEY,
            description TEXT,
            posted_at INTEGER,
            author_id TEXT REFERENCES authors(id),
            sound_id TEXT REFERENCES sounds(id),
            meta_duration REAL,
            source TEXT,
            extra TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX posts_author ON posts(author_id);
        CREATE INDEX posts_sound ON posts(sound_id);
        CREATE TABLE engagement (
            video_id TEXT PRIMARY KEY,
            likes INTEGER,
            shares INTEGER,
            comments INTEGER,
            plays INTEGER
        );
        CREATE TABLE hashtags (
            id INTEGER PRIMARY KEY,
            tag TEXT NOT NULL UNIQUE
        );
        CREATE TABLE video_hashtags (
            video_id TEXT NOT NULL,
            hashtag_id INTEGER NOT NULL REFERENCES hashtags(id),
            PRIMARY KEY (video_id, hashtag_id)
        );
        CREATE INDEX video_hashtags_tag ON video_hashtags(hashtag_id);
        -- Problems found by a job: a bad file, a malformed metadata row, a missing video.
        CREATE TABLE problems (
            id INTEGER PRIMARY KEY,
            job TEXT NOT NULL,
            path TEXT NOT NULL,
            row INTEGER,
            reason TEXT NOT NULL,
            severity TEXT NOT NULL DEFAULT 'error',
            created_at REAL NOT NULL
        );
        CREATE UNIQUE INDEX problems_key ON problems(job, path, IFNULL(row, -1), reason);
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            method TEXT NOT NULL,
            preset TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at REAL NOT NULL,
            finished_at REAL,
            config TEXT NOT NULL DEFAULT '{}',
            metrics TEXT NOT NULL DEFAULT '{}',
            dir TEXT NOT NULL
        );
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
    ),
]

LATEST_VERSION = MIGRATIONS[-1][0]


class SchemaTooNew(RuntimeError):
    """The library was written by a newer Reelscope than this one."""


def stored_version(conn: sqlite3.Connection) -> Optional[int]:
    """The schema version recorded in the database, without writing anything; None when
    the database has no migrations table (empty, or not a Reelscope library)."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
    if not found:
        return None
    return conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0


def current_version(conn: sqlite3.Connection) -> int:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return row[0] or 0


def migrate(
    conn: sqlite3.Connection,
    migrations: list[Migration] = MIGRATIONS,
    on_apply: Callable[[int, str], None] | None = None,
) -> int:
    """Apply every migration newer than the database, each in its own transaction.

    Returns the resulting schema version.
    """
    version = current_version(conn)
    newest = migrations[-1][0] if migrations else 0
    if version > newest:
        raise SchemaTooNew(
            f"library schema version {version} is newer than this Reelscope supports "
            f"({newest}); upgrade Reelscope to open it"
        )
    for number, name, sql in migrations:
        if number <= version:
            continue
        # executescript() commits first, so run the statements one by one in BEGIN..COMMIT.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                (number, name, time.time()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if on_apply:
            on_apply(number, name)
        version = number
    return version


def _statements(script: str) -> list[str]:
    """Split a migration script into complete statements (comment lines dropped).

    Pieces between semicolons are joined until SQLite calls them complete, so a
    semicolon inside a string or a trigger body does not split a statement.
    """
    text = "\n".join(line for line in script.splitlines() if not line.strip().startswith("--"))
    statements, buffer = [], ""
    for piece in text.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n\t;"):
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip(" \n\t;"):
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")
    return statements
