"""One writing job per library at a time, across processes.

A writing job (import, train, embed, analyze, report) holds an exclusive OS lock on
``<library>/library.lock`` for as long as it runs, and writes into that file who it is:
the job's name, its process id and when it started. A second writer finds the lock
taken and gets :class:`LibraryBusy` — "library in use by import since 14:02:11 (pid
4711)" — instead of racing the first (two imports once deleted each other's temporary
files). The OS releases the lock when the holding process ends, however it ends, so a
lock left by a killed job is stale by construction and the next writer simply takes it.

Within one process the lock is re-entrant: ``train`` takes it and the ``embed`` it
calls joins it. A training run in a child process takes the lock itself (the child is
the process that does the work), so the lock names the child.

Readers never take it: SQLite's WAL lets any number of readers work while the writer
writes (``Library.open(path, read_only=True)``).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, TypeVar

LOCK_NAME = "library.lock"
F = TypeVar("F", bound=Callable[..., Any])


class LibraryBusy(RuntimeError):
    """Another process is running a writing job on this library."""

    def __init__(self, holder: "LockHolder") -> None:
        super().__init__(holder.describe())
        self.holder = holder


@dataclass(frozen=True)
class LockHolder:
    job: str
    pid: int
    started: float

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started))
        return (f"library in use by {self.job} since {when} (pid {self.pid}); wait for it to "
                f"finish or stop it, then run this again")


# path -> [open file, depth, holder]; a process holds each library's lock at most once
_held: dict[str, list] = {}
_guard = threading.RLock()


def holder(library_path: str | Path) -> Optional[LockHolder]:
    """Who holds the writing lock now (None when nobody does). Never blocks."""
    path = Path(library_path) / LOCK_NAME
    key = str(path.resolve())
    with _guard:
        if key in _held:
            return _held[key][2]
    try:
        f = open(path, "a+")
    except OSError:
        return None
    try:
        if _try_lock(f):
            _unlock(f)
            return None
        return _read_holder(path)
    finally:
        f.close()


@contextmanager
def writing(library_path: str | Path, job: str) -> Iterator[LockHolder]:
    """Hold the library's writing lock for ``job``; raises :class:`LibraryBusy` when
    another process holds it. Re-entrant within this process."""
    path = Path(library_path) / LOCK_NAME
    key = str(path.resolve())
    with _guard:
        if key in _held:
            _held[key][1] += 1
            try:
                yield _held[key][2]
            finally:
                _held[key][1] -= 1
            return
        f = open(path, "a+")
        if not _try_lock(f):
            f.close()
            raise LibraryBusy(_read_holder(path) or LockHolder("another job", 0, time.time()))
        me = LockHolder(job, os.getpid(), time.time())
        f.seek(0)
        f.truncate()
        f.write(json.dumps({"job": me.job, "pid": me.pid, "started": me.started}))
        f.flush()
        _held[key] = [f, 1, me]
    try:
        yield me
    finally:
        with _guard:
            entry = _held[key]
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                try:
                    f.seek(0)
                    f.truncate()  # an empty file: nobody holds it
                finally:
                    _unlock(f)
                    f.close()


def _read_holder(path: Path) -> Optional[LockHolder]:
    try:
        data = json.loads(path.read_text() or "{}")
        return LockHolder(str(data["job"]), int(data["pid"]), float(data["started"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(f) -> bool:
        try:
            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(f) -> None:
        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(f) -> bool:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(f) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def writing_job(job: str) -> Callable[[F], F]:
    """Decorate a function whose first argument is a Library: it runs under that library's
    writing lock for ``job`` (see :func:`writing`)."""
    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def run(library: Any, *args: Any, **kwargs: Any) -> Any:
            with library.writing(job):
                return fn(library, *args, **kwargs)
        return run  # type: ignore[return-value]
    return decorate
