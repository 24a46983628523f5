"""One writing job per library at a time, across processes.

A writing job (import, train, embed, analyze, report, an index build, the embedding
map, removing or relocating videos) holds an exclusive OS lock on
``<library>/library.lock`` for as long as it runs (``training/lockfile.py`` is the
mechanism, shared with a training child process). A second writer gets
:class:`LibraryBusy` — "library in use by import since 14:02:11 (pid 4711)" — instead of
racing the first (two imports once deleted each other's temporary files). The OS
releases the lock when the holding process ends, so a lock left by a killed job is free
at once. Within one process the lock is re-entrant: ``train`` takes it and the ``embed``
it calls joins it.

A training run in a child process (``python -m reelscope.training RUN --lock
<library>/library.lock``) takes the lock itself, so the lock names the child that does
the work; the parent (the window) must not hold it meanwhile.

Readers never take it: SQLite's WAL lets any number of readers work while the writer
writes (``Library.open(path, read_only=True)``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable, ContextManager, Optional, TypeVar

from reelscope.training import lockfile
from reelscope.training.lockfile import Busy as LibraryBusy
from reelscope.training.lockfile import LockHolder

LOCK_NAME = "library.lock"
F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["LOCK_NAME", "LibraryBusy", "LockHolder", "holder", "writing", "writing_job"]


def lock_file(library_path: str | Path) -> Path:
    return Path(library_path) / LOCK_NAME


def holder(library_path: str | Path) -> Optional[LockHolder]:
    """Who holds the library's writing lock now (None when nobody does). Never blocks."""
    return lockfile.holder(lock_file(library_path))


def writing(library_path: str | Path, job: str) -> ContextManager[LockHolder]:
    """Hold the library's writing lock for ``job``; raises :class:`LibraryBusy` when
    another process holds it. Re-entrant within this process."""
    return lockfile.hold(lock_file(library_path), job)


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
