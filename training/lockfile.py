"""One writer at a time, across processes: an exclusive OS lock on a file that names its
holder. Torch-free, so both core (a library's ``library.lock``, ``core/store/lock.py``)
and a training child process (``python -m reelscope.training RUN --lock FILE``) use it:
the process that does the work holds the lock and is the one it names.

A holder writes who it is into the file: the job, its process id and when it started.
Another process finds the lock taken and gets :class:`Busy` — "in use by import since
14:02:11 (pid 4711)". The OS releases the lock when the holding process ends, however it
ends, so a lock left by a killed job is stale by construction and the next writer takes
it. Within one process the lock is re-entrant (``train`` takes it and the ``embed`` it
calls joins it).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional


class Busy(RuntimeError):
    """Another process holds the lock."""

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


# lock file -> [open file, depth, holder]; a process holds each lock at most once
_held: dict[str, list] = {}
_guard = threading.RLock()


def holder(lock_file: str | Path) -> Optional[LockHolder]:
    """Who holds the lock now (None when nobody does). Never blocks."""
    path = Path(lock_file)
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
def hold(lock_file: str | Path, job: str) -> Iterator[LockHolder]:
    """Hold the lock for ``job``; raises :class:`Busy` when another process holds it.
    Re-entrant within this process."""
    path = Path(lock_file)
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
            raise Busy(_read_holder(path) or LockHolder("another job", 0, time.time()))
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
