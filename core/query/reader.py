"""The queries' own read-only view of a library: one SQLite connection per ``Library``
object, the in-memory tables only it can see, and the change counter.

Why a connection of its own rather than ``library._conn``:

- it opens ``library.db`` with ``mode=ro``, so SQLite refuses any write to the file
  through it, whoever holds the ``Library`` (the window's read-only one or a script's
  writable one);
- its TEMP database (in memory) holds the reader-side tables of ``listing.py``; a
  read-only ``Library`` cannot hold them (``query_only`` refuses temp writes too) and a
  writer's connection should not carry a reader's state;
- ``PRAGMA data_version`` asked again and again on one persistent connection changes
  exactly when another connection — in any process — has committed, which is what
  :func:`change_counter` needs; reading never changes it.

Everything cached here (stored analyses, indexes, the listing) is keyed by what it was
read from — the database's data version, or the (mtime, size) of the stored files — so
a change anywhere is seen on the next call and nothing stale is served.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Hashable, Optional, TypeVar

if TYPE_CHECKING:
    from reelscope.core.store.library import Library

T = TypeVar("T")
FileStamp = Optional[tuple[int, int]]

#: Files of a run whose change changes what a query answers (relative to the run folder).
RUN_FILES = ("embeddings.npz", "analytics/summary.json", "analytics/scores.npz",
             "analytics/forecast.npz", "analytics/hashtags.npz", "analytics/map.npz")
INDEX_FILES = ("meta.json", "source.json", "hnsw.bin", "vectors.npy")


def file_stamp(path: Path) -> FileStamp:
    """(mtime_ns, size) of a file, None when it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class Reader:
    """A read-only connection to one library with caches keyed by what they were read from.

    Safe to share between threads: every use of the connection holds :attr:`lock`.
    """

    def __init__(self, path: Path) -> None:
        from reelscope.core.store.library import DB_NAME

        self.path = Path(path)
        uri = (self.path / DB_NAME).resolve().as_uri() + "?mode=ro"
        self.conn = sqlite3.connect(uri, uri=True, timeout=60, isolation_level=None,
                                    check_same_thread=False)
        self.conn.execute("PRAGMA busy_timeout=60000")
        self.conn.execute("PRAGMA temp_store=MEMORY")
        self.lock = threading.RLock()
        self._memo: dict[Hashable, tuple[Hashable, Any]] = {}
        self._seen: Optional[tuple[Any, ...]] = None
        self._counter = 0

    def data_version(self) -> int:
        """Changes whenever another connection has committed to ``library.db``."""
        with self.lock:
            return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def run_files(self) -> tuple[tuple[str, tuple[FileStamp, ...]], ...]:
        """Every run's stored files and similarity indexes with their stamps."""
        with self.lock:
            dirs = [d for (d,) in self.conn.execute("SELECT dir FROM runs ORDER BY id")]
        out = []
        for d in dirs:
            folder = self.path / d
            stamps = [file_stamp(folder / f) for f in RUN_FILES]
            index = folder / "index"
            kinds = sorted(os.listdir(index)) if index.is_dir() else []
            stamps += [file_stamp(index / k / f) for k in kinds for f in INDEX_FILES]
            out.append((d, tuple(stamps)))
        return tuple(out)

    def counter(self) -> int:
        """A number that grows by one each time it is asked after something changed."""
        with self.lock:
            seen = (self.data_version(), self.run_files())
            if seen != self._seen:
                self._seen = seen
                self._counter += 1
            return self._counter

    def memo(self, name: Hashable, key: Hashable, build: Callable[[], T]) -> T:
        """The value cached under ``name`` if it was built for ``key``, else ``build()``.

        One value per name: a new key replaces the old value, so memory stays bounded.
        """
        with self.lock:
            found = self._memo.get(name)
            if found is not None and found[0] == key:
                return found[1]
            self._memo.pop(name, None)  # free the old value before building the new one
            value = build()
            self._memo[name] = (key, value)
            return value

    def close(self) -> None:
        with self.lock:
            self._memo.clear()
            self.conn.close()


_readers: "weakref.WeakKeyDictionary[Library, Reader]" = weakref.WeakKeyDictionary()
_readers_lock = threading.Lock()


def reader_for(library: "Library") -> Reader:
    """The reader of this ``Library`` object (made on first use, gone with the object)."""
    with _readers_lock:
        reader = _readers.get(library)
        if reader is None:
            reader = _readers[library] = Reader(library.path)
            weakref.finalize(library, reader.close)
        return reader


def change_counter(library: "Library") -> int:
    """An int that changes when the library does: after any commit to ``library.db`` by
    any connection or process (an import, an analysis, a new run) and after any run's
    stored results change (embeddings, analysis, similarity index). Reading changes
    nothing. Compare values from the same ``Library`` object; polling it costs one
    pragma and a few file stats.
    """
    return reader_for(library).counter()
