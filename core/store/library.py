"""The library: one folder the user creates or opens, with ``library.db`` inside.

``Library`` is the typed API every client uses — the CLI, the desktop window and
user scripts alike — and the only code that writes ``library.db``: the importer and
the training driver hand it rows. It owns one SQLite connection in WAL mode.

One writer, many readers. A writing job holds the library's inter-process lock
(:meth:`Library.writing`, ``store/lock.py``) for its whole run. ``Library.open(path,
read_only=True)`` gives a reader its own connection that never migrates, never writes
and never starts work, and that reads while a writer writes (WAL); give each thread
or process its own.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ContextManager, Iterable, Iterator, Optional, Sequence

import sqlite_utils

from reelscope.core.store import lock
from reelscope.core.store.clipcache import ClipCache
from reelscope.core.store.models import PostMetadata, Problem, TrainingRun, Video
from reelscope.core.store.rows import insert_problem, save_post, video_from_row
from reelscope.core.store.schema import LATEST_VERSION, SchemaTooNew, migrate, stored_version
from reelscope.training import faults


DB_NAME = "library.db"
UNUSABLE_HINT = "restore it from a backup, or open the folder that holds your library"


class LibraryError(RuntimeError):
    """A library folder that cannot be created or opened, with the reason."""


class Library:
    """A video library on disk. Create with :meth:`create`, reopen with :meth:`open`."""

    def __init__(self, path: Path, conn: sqlite3.Connection, read_only: bool = False) -> None:
        self.path = Path(path).absolute()  # a run made from a relative path must work from anywhere
        self.read_only = read_only
        self._conn = conn
        self.db = sqlite_utils.Database(conn)
        self._write_lock = threading.RLock()
        self.cache = ClipCache(self.path)

    # ---------------------------------------------------------------- lifecycle
    @classmethod
    def create(cls, path: str | Path, exist_ok: bool = False) -> "Library":
        path = Path(path)
        if (path / DB_NAME).exists():
            if not exist_ok:
                raise LibraryError(f"{path} already holds a library; open it instead")
            return cls.open(path)
        if path.exists() and not path.is_dir():
            raise LibraryError(f"{path} exists and is not a folder")
        try:
            path.mkdir(parents=True, exist_ok=True)
            for sub in ("runs", "reports"):
                (path / sub).mkdir(exist_ok=True)
        except OSError as exc:  # a parent that is a file, no permission, a full disk
            raise LibraryError(f"cannot create a library at {path}: {exc.strerror or exc}") from None
        return cls._connect(path)

    @classmethod
    def open(cls, path: str | Path, read_only: bool = False) -> "Library":
        """Open an existing library; ``read_only`` for a reader (see the module docstring)."""
        path = Path(path)
        if not (path / DB_NAME).exists():
            raise LibraryError(
                f"{path} is not a Reelscope library (no {DB_NAME}); create one with "
                f"'reelscope import FOLDER --library {path}'"
            )
        return cls._connect_read_only(path) if read_only else cls._connect(path)

    @classmethod
    def open_or_create(cls, path: str | Path) -> "Library":
        return cls.create(path, exist_ok=True)

    @classmethod
    def _connect(cls, path: Path) -> "Library":
        """A writer's connection. It reads before it writes anything: a file that is not a
        database, or another application's database, is refused untouched."""
        db = path / DB_NAME
        try:
            conn = sqlite3.connect(db, timeout=60, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise LibraryError(f"cannot open {db}: {exc}") from None
        try:
            conn.execute("PRAGMA busy_timeout=60000")
            if stored_version(conn) is None and conn.execute(
                    "SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise LibraryError(f"{db} is another application's database (it has tables but no "
                                   "Reelscope schema); Reelscope will not write into it: open the folder that "
                                   "holds your library, or choose a new one")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            migrate(conn)
        except sqlite3.DatabaseError as exc:  # not a database, read-only, locked, disk full
            conn.close()
            hint = ("open it read-only ('reelscope info' does)" if "readonly" in str(exc)
                    else UNUSABLE_HINT)
            raise LibraryError(f"{db} cannot be opened as a library: {exc}; {hint}") from None
        except SchemaTooNew as exc:
            conn.close()
            raise SchemaTooNew(f"{db}: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return cls(path, conn)

    @classmethod
    def _connect_read_only(cls, path: Path) -> "Library":
        db = path / DB_NAME
        conn: Optional[sqlite3.Connection] = None
        try:
            try:
                conn, version, tables = cls._read_only_connection(db, immutable=False)
            except sqlite3.OperationalError as exc:
                # A WAL database needs its shared-memory file; in a folder nobody may write
                # (a read-only share, a backup disc) SQLite cannot make one. With no log
                # holding unfinished writes the file is all there is: read it as immutable.
                wal = db.with_name(db.name + "-wal")
                if "readonly" not in str(exc) and "unable to open" not in str(exc):
                    raise
                if wal.exists() and wal.stat().st_size > 0:
                    raise LibraryError(
                        f"{db} cannot be read: its folder is read-only and it holds writes not yet "
                        f"merged ({wal.name}); open it once where it can be written, or copy the "
                        "folder somewhere writable") from None
                conn, version, tables = cls._read_only_connection(db, immutable=True)
        except sqlite3.Error as exc:  # not a database, damaged, unreadable
            if conn is not None:
                conn.close()
            raise LibraryError(f"{db} cannot be read as a library: {exc}; {UNUSABLE_HINT}") from None
        if version is None:
            conn.close()
            if tables:
                raise LibraryError(f"{db} is not a Reelscope library database: another application's "
                                   "database (it has tables but no Reelscope schema); open the "
                                   "folder that holds your library")
            raise LibraryError(f"{db} is not a Reelscope library database: it is empty; import "
                               f"videos into it ('reelscope import FOLDER --library {path}') to "
                               "make it one")
        if version > LATEST_VERSION:
            conn.close()
            raise SchemaTooNew(f"{db}: library schema version {version} is newer than this Reelscope "
                               f"supports ({LATEST_VERSION}); upgrade Reelscope to open it")
        if version < LATEST_VERSION:
            conn.close()
            raise LibraryError(f"{path} was made by an older Reelscope (schema {version}); run any "
                               "writing command on it once (e.g. 'reelscope import') to upgrade it")
        return cls(path, conn, read_only=True)

    @staticmethod
    def _read_only_connection(db: Path, immutable: bool) -> tuple[sqlite3.Connection, Optional[int], int]:
        """A read-only connection to ``db`` with its schema version and table count."""
        uri = db.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")
        conn = sqlite3.connect(uri, uri=True, timeout=60, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA busy_timeout=60000")
            version = stored_version(conn)
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except BaseException:
            conn.close()
            raise
        return conn, version, tables

    def writing(self, job: str) -> ContextManager[lock.LockHolder]:
        """Hold this library's inter-process writing lock while ``job`` runs; raises
        :class:`~reelscope.core.store.lock.LibraryBusy` when another process holds it."""
        if self.read_only:
            raise LibraryError(f"{self.path} is open read-only; {job} needs a writable library")
        return lock.writing(self.path, job)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic multi-step write; nested calls join the outer transaction."""
        if self.read_only:
            raise LibraryError(f"{self.path} is open read-only")
        with self._write_lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                faults.point("db.begin")
                yield self._conn
                faults.point("db.commit")  # every statement run, none committed
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def integrity_ok(self) -> bool:
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # ------------------------------------------------------------------ reading
    def videos(self, status: Optional[str] = "ok") -> list[Video]:
        """Videos in id order; ``status=None`` includes failed and pending ones."""
        where, args = ("WHERE v.status = ?", [status]) if status else ("", [])
        return self._videos(where, args)

    def get(self, video_id: str) -> Video:
        found = self._videos("WHERE v.id = ?", [video_id], [video_id])
        if not found:
            raise KeyError(f"no video with id {video_id!r} in {self.path}")
        return found[0]

    def _videos(self, where: str, args: list[Any], ids: Optional[list[str]] = None) -> list[Video]:
        """The videos ``where`` selects; ``ids``: their ids when known (their hashtags are
        then read alone), else every video's hashtags are read."""
        rows = self._conn.execute(
            f"""
            SELECT v.*, p.description, p.posted_at, p.author_id, p.sound_id, p.extra,
                   e.likes, e.shares, e.comments, e.plays,
                   a.unique_id, a.nickname, a.followers, a.following, a.hearts,
                   a.video_count, a.digg_count,
                   s.title AS sound_title, s.author_name AS sound_author,
                   s.original AS sound_original
            FROM videos v
            LEFT JOIN posts p ON p.video_id = v.id
            LEFT JOIN engagement e ON e.video_id = v.id
            LEFT JOIN authors a ON a.id = p.author_id
            LEFT JOIN sounds s ON s.id = p.sound_id
            {where}
            ORDER BY v.id
            """,
            args,
        )
        cols = [c[0] for c in rows.description]
        tags = self._hashtags_by_video(ids)
        shared: dict[Any, Any] = {}
        # Row by row into its Video: a 300,000-video listing never holds every row as a
        # tuple and a dict besides (that doubled the peak memory of analyze and predict).
        out = []
        for row in rows:
            record = dict(zip(cols, row))
            out.append(video_from_row(record, tags.get(record["id"], ()), shared))
        return out

    def _hashtags_by_video(self, ids: Optional[list[str]]) -> dict[str, tuple[str, ...]]:
        sql = (
            "SELECT vh.video_id, h.tag FROM video_hashtags vh "
            "JOIN hashtags h ON h.id = vh.hashtag_id"
        )
        args: list[Any] = []
        wanted: Optional[set[str]] = None
        if ids is not None:
            if not ids:
                return {}
            if len(ids) <= 500:
                sql += f" WHERE vh.video_id IN ({','.join('?' * len(ids))})"
                args = ids
            else:  # SQLite caps a statement's variables (32,766): read all, keep these
                wanted = set(ids)
        out: dict[str, list[str]] = {}
        names: dict[str, str] = {}  # one string per tag, not one per use (875k at 300k videos)
        for vid, tag in self._conn.execute(sql + " ORDER BY h.tag", args):
            if wanted is None or vid in wanted:
                out.setdefault(vid, []).append(names.setdefault(tag, tag))
        return {k: tuple(v) for k, v in out.items()}

    def counts(self) -> dict[str, int]:
        by_status = dict(
            self._conn.execute("SELECT status, COUNT(*) FROM videos GROUP BY status").fetchall()
        )
        # A file the import could not use at all (a broken link, a duplicate id, a pipe)
        # has a problem but no video row: it counts as failed too, so the totals agree
        # with the list of errors.
        unusable = self._conn.execute(
            "SELECT COUNT(DISTINCT path) FROM problems WHERE job = 'import' AND severity = 'error' "
            "AND path NOT IN (SELECT path FROM videos)").fetchone()[0]
        return {
            "imported": by_status.get("ok", 0),
            "failed": by_status.get("failed", 0) + unusable,
            "pending": by_status.get("pending", 0),
            "metadata_rows": self._conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0],
            "authors": self._conn.execute("SELECT COUNT(*) FROM authors").fetchone()[0],
            "sounds": self._conn.execute("SELECT COUNT(*) FROM sounds").fetchone()[0],
            "hashtags": self._conn.execute("SELECT COUNT(*) FROM hashtags").fetchone()[0],
        }

    def problems(self, job: Optional[str] = None, severity: Optional[str] = "error") -> list[Problem]:
        sql, args = "SELECT job, path, reason, row, severity FROM problems WHERE 1=1", []
        if job:
            sql += " AND job = ?"
            args.append(job)
        if severity:
            sql += " AND severity = ?"
            args.append(severity)
        return [Problem(*r) for r in self._conn.execute(sql + " ORDER BY path, IFNULL(row, 0), id", args)]

    def setting(self, key: str, default: Any = None) -> Any:
        row = self._conn.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, json.dumps(value)],
            )

    # ------------------------------------------------------------------ writing
    def record_problem(self, problem: Problem) -> None:
        with self.transaction() as c:
            insert_problem(c, problem, time.time())

    def clear_problems(self, job: str, path: str) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM problems WHERE job = ? AND path = ?", [job, path])

    def save_metadata(self, records: Iterable[PostMetadata]) -> int:
        """Insert or update posts, authors, sounds, engagement and hashtags in one transaction."""
        n = 0
        with self.transaction() as c:
            for rec in records:
                save_post(c, rec)
                n += 1
        return n

    def metadata_ids(self) -> set[str]:
        return {r[0] for r in self._conn.execute("SELECT video_id FROM posts")}

    # ------------------------------------------------------------------- import
    def import_state(self) -> dict[str, dict[str, Any]]:
        """path -> ``{id, path, size_bytes, mtime_ns, status, error, content_hash}`` of every
        file seen before."""
        rows = self.db.query("SELECT id, path, size_bytes, mtime_ns, status, error, content_hash FROM videos")
        return {r["path"]: r for r in rows}

    def video_ids(self) -> set[str]:
        """Ids of every video row, failed ones included."""
        return {r[0] for r in self._conn.execute("SELECT id FROM videos")}

    def videos_without_metadata(self) -> list[tuple[str, str]]:
        """``(id, path)`` of usable videos that no metadata row describes, by id."""
        return [tuple(r) for r in self._conn.execute(
            "SELECT id, path FROM videos WHERE status = 'ok' AND id NOT IN "
            "(SELECT video_id FROM posts) ORDER BY id")]

    def save_import_batch(self, job: str, videos: Sequence[dict[str, Any]],
                          problems: Sequence[Problem]) -> None:
        """One transaction: each video row (keyed by ``path``) replaces what was known of its
        file, the ``job``'s earlier problems with those files are cleared, and ``problems``
        are recorded."""
        now = time.time()
        with self.transaction() as c:
            for row in videos:
                c.execute("DELETE FROM problems WHERE job = ? AND path = ?", [job, row["path"]])
                cols = list(row)
                updates = ", ".join(f"{k} = excluded.{k}" for k in cols if k != "path")
                c.execute(
                    f"INSERT INTO videos ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
                    f"ON CONFLICT(path) DO UPDATE SET {updates}",
                    list(row.values()),
                )
            for p in problems:
                insert_problem(c, p, now)

    def replace_problems(self, job: str, problems: Sequence[Problem]) -> None:
        """Every problem ``job`` recorded, replaced by ``problems`` (one transaction)."""
        now = time.time()
        with self.transaction() as c:
            c.execute("DELETE FROM problems WHERE job = ?", [job])
            for p in problems:
                insert_problem(c, p, now)

    # --------------------------------------------------------------------- runs
    def runs(self) -> list[TrainingRun]:
        """Every training run, oldest first; a run whose recorded folder lies outside the
        library (a library.db someone sent you) is left out, as :meth:`run` says why."""
        rows = self.db.query("SELECT * FROM runs ORDER BY created_at")
        return [run for run in map(TrainingRun.from_row, rows) if self._inside(run.dir)]

    def run(self, run_id: str) -> TrainingRun:
        for r in self.db.query("SELECT * FROM runs WHERE id = ?", [run_id]):
            run = TrainingRun.from_row(r)
            if not self._inside(run.dir):
                raise LibraryError(f"training run {run_id!r} names a folder outside the library "
                                   f"({run.dir!r}); it is ignored")
            return run
        raise KeyError(f"no training run {run_id!r} in {self.path}")

    def resolve_run(self, run_id: Optional[str], having: str, missing: str, todo: str) -> TrainingRun:
        """The one run resolver: ``run_id``'s run, or the newest run whose folder holds the
        file ``having``. Errors say what is ``missing`` ("embeddings", "trained weights")
        and what to do: KeyError for an unknown id, FileNotFoundError otherwise."""
        if run_id is not None:
            run = self.run(run_id)  # KeyError for an unknown run
            if not (self.path / run.dir / having).exists():
                raise FileNotFoundError(f"run {run_id} has no {missing} yet; {todo}")
            return run
        for run in reversed(self.runs()):
            if (self.path / run.dir / having).exists():
                return run
        raise FileNotFoundError(f"no run with {missing} in {self.path}; {todo}")

    def _inside(self, relative: str) -> bool:
        """Whether ``relative`` (a path read from the database) stays inside the library."""
        if not relative or Path(relative).is_absolute():
            return False
        root = self.path.resolve()
        return (root / relative).resolve().is_relative_to(root)

    def save_run(self, run: TrainingRun) -> None:
        with self.transaction():
            self.db["runs"].upsert(
                {
                    "id": run.id,
                    "method": run.method,
                    "preset": run.preset,
                    "status": run.status,
                    "created_at": run.created_at,
                    "finished_at": run.finished_at,
                    "config": json.dumps(run.config),
                    "metrics": json.dumps(run.metrics),
                    "dir": run.dir,
                },
                pk="id",
            )
