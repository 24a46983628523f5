"""The open library as every view sees it: one read-only ``Library``, the run the
analytics use, the shared selection, and one query thread every read goes through.

Views never read on the GUI thread: :meth:`Session.query` runs a core query on the
session's query thread and hands the result back as a queued call, dropping it when a
newer request with the same key has been made since (a fast typist's filter). One
thread serialises the reads, so the read-only connection is never used by two threads
at once, and the GUI thread never waits on SQLite. A timer polls
:func:`reelscope.core.query.change_counter` so a CLI import into the same library shows
up without a restart.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Hashable, Optional

from PySide6.QtCore import QObject, QRunnable, QSettings, QSize, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap

from reelscope.desktop.errors import details_of, message_of

if TYPE_CHECKING:
    from reelscope.core.store.library import Library

log = logging.getLogger("reelscope.desktop.session")
RECENT_MAX = 8
POLL_MS = 1500
THUMB_CACHE = 4000


class _Relay(QObject):
    """Lives on the GUI thread; a worker emits it, the slot runs on the GUI thread."""

    # request number, result, (message, details) or None, and the call's function: it
    # travels back so its last reference — often a closure over a view — is dropped on the
    # GUI thread. A Qt object freed on a worker thread leaves its timers dangling in the GUI
    # thread's event loop (a crash in QTimerInfoList::activateTimers).
    done = Signal(int, object, object, object)


class _Call(QRunnable):
    def __init__(self, number: int, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.number, self.fn, self.relay = number, fn, relay
        self.setAutoDelete(True)

    def run(self) -> None:
        fn, self.fn = self.fn, None
        try:
            result = fn()
        except BaseException as exc:  # noqa: BLE001 - reported to the caller, never lost
            self.relay.done.emit(self.number, None, (message_of(exc), details_of(exc)), fn)
        else:
            self.relay.done.emit(self.number, result, None, fn)
        del fn


class Session(QObject):
    library_changed = Signal()  # another library was opened (or the library closed)
    data_changed = Signal()  # the open library's contents changed (a job, another process)
    run_changed = Signal()  # the run whose results the views show
    video_selected = Signal(str)  # a video chosen anywhere (table, plot, gallery)
    gallery_requested = Signal(str, list)  # title, video ids: show them as a gallery
    filter_requested = Signal(dict)  # filters for the library table (e.g. {"author": id})
    status_message = Signal(str)

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.library: Optional["Library"] = None
        self.path: Optional[Path] = None
        self.run_id: Optional[str] = None  # None: the newest run with embeddings
        self.selected: Optional[str] = None
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay()
        self._relay.done.connect(self._delivered)
        self._number = 0
        self._waiting: dict[int, tuple[Hashable, Callable[[Any], None], Optional[Callable[[str, str], None]]]] = {}
        self._latest: dict[Hashable, int] = {}
        self._thumbs: OrderedDict[str, QPixmap] = OrderedDict()
        self._thumb_missing: set[str] = set()
        self._counter: Optional[int] = None
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check_changes)

    # ------------------------------------------------------------------ library
    @property
    def name(self) -> str:
        return self.path.name if self.path else ""

    def open(self, path: str | Path) -> None:
        """Open ``path`` read-only (raises core's LibraryError with a readable message)."""
        from reelscope.core.store.library import Library

        library = Library.open(Path(path), read_only=True)
        self.close()
        self.library, self.path = library, library.path
        self.run_id = QSettings().value(f"run/{library.path}", None) or None
        if self.run_id and self.run_id not in {r.id for r in library.runs()}:
            self.run_id = None
        self.selected = None
        remember_recent(library.path)
        self._counter = None
        self._poll.start()
        self.library_changed.emit()
        self.data_changed.emit()

    def close(self) -> None:
        self._poll.stop()
        self._pool.clear()
        self._pool.waitForDone(30_000)
        self._waiting.clear()
        self._thumbs.clear()
        self._thumb_missing.clear()
        if self.library is not None:
            from reelscope.core.query.reader import reader_for

            lib, self.library, self.path = self.library, None, None
            try:
                reader_for(lib).close()
            except Exception:  # noqa: BLE001 - closing must not fail the next open
                pass
            lib.close()
            self.library_changed.emit()

    def set_run(self, run_id: Optional[str]) -> None:
        if run_id == self.run_id:
            return
        self.run_id = run_id
        if self.path:
            QSettings().setValue(f"run/{self.path}", run_id or "")
        self.run_changed.emit()
        self.data_changed.emit()

    def notify_changed(self) -> None:
        """A job of ours wrote to the library: views reload now, not at the next poll."""
        self._thumb_missing.clear()
        self.data_changed.emit()

    def select(self, video_id: str) -> None:
        self.selected = video_id
        self.video_selected.emit(video_id)

    def show_gallery(self, title: str, ids: list[str]) -> None:
        self.gallery_requested.emit(title, list(ids))

    # ------------------------------------------------------------------ queries
    def query(self, key: Hashable, fn: Callable[["Library"], Any], on_result: Callable[[Any], None],
              on_error: Optional[Callable[[str, str], None]] = None) -> None:
        """Run ``fn(library)`` on the query thread; ``on_result(value)`` runs on the GUI
        thread unless a newer query with the same ``key`` was asked for meanwhile.
        Errors go to ``on_error(message, details)``, else to the log and the status bar."""
        library = self.library
        if library is None:
            return
        self._number += 1
        number = self._number
        self._latest[key] = number
        self._waiting[number] = (key, on_result, on_error)
        self._pool.start(_Call(number, lambda: fn(library), self._relay))

    def pending(self) -> int:
        """Queries asked for and not yet delivered (a screenshot waits for none)."""
        return len(self._waiting)

    def wait_idle(self, ms: int = 30_000) -> bool:
        """Block until the query thread is idle (tests and shutdown only)."""
        return self._pool.waitForDone(ms)

    def _delivered(self, number: int, result: Any, error: Optional[tuple[str, str]], _fn: Any = None) -> None:
        entry = self._waiting.pop(number, None)
        if entry is None:
            return
        key, on_result, on_error = entry
        if self._latest.get(key) != number:
            return  # a newer request for the same thing is on its way
        if error is None:
            on_result(result)
        elif on_error is not None:
            on_error(*error)
        else:
            log.error("query %s failed: %s\n%s", key, error[0], error[1])
            self.status_message.emit(error[0])

    # --------------------------------------------------------------- thumbnails
    def thumbnail(self, video_id: str) -> Optional[QPixmap]:
        """The cached thumbnail, or None (then :meth:`load_thumbnails` fetches it)."""
        pix = self._thumbs.get(video_id)
        if pix is not None:
            self._thumbs.move_to_end(video_id)
        return pix

    def load_thumbnails(self, ids: list[str], on_loaded: Callable[[list[str]], None],
                        key: Hashable = "thumbs", size: int = 240) -> None:
        """Fetch the thumbnails of ``ids`` not cached yet, on the query thread (decoded to
        QImage there), then call ``on_loaded(ids that now have one)``."""
        wanted = [v for v in dict.fromkeys(ids) if v not in self._thumbs and v not in self._thumb_missing]
        if not wanted:
            return

        def fetch(library: "Library") -> list[tuple[str, Optional[QImage]]]:
            from reelscope.core.query import thumbnail

            out = []
            for vid in wanted:
                data = thumbnail(library, vid)
                image = QImage.fromData(data) if data else None
                if image is not None and not image.isNull() and max(image.width(), image.height()) > size:
                    image = image.scaled(QSize(size, size), Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation)
                out.append((vid, image if image is not None and not image.isNull() else None))
            return out

        def store(found: list[tuple[str, Optional[QImage]]]) -> None:
            loaded = []
            for vid, image in found:
                if image is None:
                    self._thumb_missing.add(vid)
                    continue
                self._thumbs[vid] = QPixmap.fromImage(image)
                loaded.append(vid)
            while len(self._thumbs) > THUMB_CACHE:
                self._thumbs.popitem(last=False)
            on_loaded(loaded)

        self._number += 1  # thumbnails never supersede each other: a unique key
        self.query((key, self._number), fetch, store)

    # ------------------------------------------------------------------ polling
    def _check_changes(self) -> None:
        from reelscope.core.query import change_counter

        def seen(counter: int) -> None:
            if self._counter is not None and counter != self._counter:
                self._thumb_missing.clear()
                self.data_changed.emit()
            self._counter = counter

        self.query("change-counter", change_counter, seen, lambda *_: None)


def recent_libraries() -> list[str]:
    """Recently opened libraries that still exist, newest first."""
    items = QSettings().value("recent", []) or []
    if isinstance(items, str):
        items = [items]
    return [p for p in items if (Path(p) / "library.db").exists()]


def remember_recent(path: Path) -> None:
    items = [str(path)] + [p for p in recent_libraries() if p != str(path)]
    QSettings().setValue("recent", items[:RECENT_MAX])
