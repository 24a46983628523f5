"""Long jobs off the GUI thread: one writing job at a time, with progress and cancel.

A job is any ``fn(progress, cancel) -> result`` — the same shape as every long job in
core (``progress`` takes core's :class:`~reelscope.core.progress.Progress`, ``cancel``
is a :class:`~reelscope.core.progress.CancelToken`). It runs on its own ``QThread``;
its progress, result and errors come back to the GUI thread as Qt signals, so the event
loop never waits on it. Cancel sets the token; core stops at its next step, keeps what
it finished and raises ``Cancelled`` (whose ``partial`` the ``cancelled`` signal carries).
Training runs in a child process instead (``training_process.py``) and only its
bookkeeping goes through here.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QThread, Signal

from reelscope.desktop.errors import details_of, message_of

log = logging.getLogger("reelscope.desktop.jobs")

JobFn = Callable[[Callable[[Any], None], Any], Any]
PROGRESS_INTERVAL_S = 0.05  # at most 20 progress signals a second reach the GUI


class Job(QObject):
    """One running job. Signals arrive on the GUI thread."""

    progress = Signal(object)  # reelscope.core.progress.Progress
    succeeded = Signal(object)  # the job's return value
    failed = Signal(str, str)  # message, details (traceback)
    cancelled = Signal(object)  # Cancelled.partial (or None)
    ended = Signal()  # after any of the three above

    def __init__(self, title: str, fn: JobFn, writes: bool = True, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        from reelscope.core.progress import CancelToken

        self.title = title
        self.writes = writes
        self.token = CancelToken()
        self.last_progress: Any = None
        self.outcome: Optional[str] = None  # "succeeded", "failed" or "cancelled" once ended
        self.result: Any = None
        self.error: Optional[str] = None
        self.details = ""
        self.started_at = time.monotonic()
        self._fn = fn
        self._last_emit = 0.0
        self._last_stage: Optional[str] = None
        self._thread = _JobThread(self)
        self._thread.finished.connect(self._thread.deleteLater)

    @property
    def running(self) -> bool:
        return self.outcome is None

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self.token.cancel()

    def wait(self, ms: int = 60_000) -> bool:
        return self._thread.wait(ms) if self._thread is not None else True

    def _report(self, event: Any) -> None:
        """Called on the worker thread for every core event; forwards a throttled stream."""
        self.last_progress = event
        now = time.monotonic()
        stage = getattr(event, "stage", None)
        last = getattr(event, "total", None) is not None and event.done >= event.total
        if stage != self._last_stage or last or now - self._last_emit >= PROGRESS_INTERVAL_S:
            self._last_emit, self._last_stage = now, stage
            self.progress.emit(event)

    def _finish(self, outcome: str, payload: Any, details: str = "") -> None:
        self.outcome = outcome
        if outcome == "succeeded":
            self.result = payload
            self.succeeded.emit(payload)
        elif outcome == "cancelled":
            self.result = payload
            self.cancelled.emit(payload)
        else:
            self.error = payload
            self.details = details
            log.error("%s failed: %s\n%s", self.title, payload, details)
            self.failed.emit(payload, details)
        self.ended.emit()


class _JobThread(QThread):
    done = Signal(str, object, str)

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
        self.done.connect(job._finish)  # queued: delivered on the GUI thread

    def run(self) -> None:
        from reelscope.core.progress import Cancelled

        try:
            result = self.job._fn(self.job._report, self.job.token)
        except Cancelled as exc:
            self.done.emit("cancelled", exc.partial, "")
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a dialog, never a crash
            self.done.emit("failed", message_of(exc), details_of(exc))
        else:
            self.done.emit("succeeded", result, "")


class JobRunner(QObject):
    """Starts jobs and tells the window about them; one writing job at a time (core's
    library lock would refuse a second writer anyway, this says so before it starts)."""

    job_started = Signal(object)  # Job
    job_ended = Signal(object)  # Job
    busy_changed = Signal(bool)

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.jobs: list[Job] = []
        self.external_writer: Optional[str] = None  # a training child process holds the library
        self._external_cancel: Optional[Callable[[], None]] = None

    @property
    def current(self) -> Optional[Job]:
        writers = [j for j in self.jobs if j.writes]
        return writers[-1] if writers else (self.jobs[-1] if self.jobs else None)

    def busy(self) -> bool:
        return bool(self.jobs) or self.external_writer is not None

    def writer_busy(self) -> Optional[str]:
        """The title of the writing job in progress, None when the library is free."""
        if self.external_writer:
            return self.external_writer
        writers = [j for j in self.jobs if j.writes]
        return writers[0].title if writers else None

    def start(self, title: str, fn: JobFn, *, writes: bool = True,
              on_done: Optional[Callable[[Any], None]] = None,
              on_cancel: Optional[Callable[[Any], None]] = None,
              on_error: Optional[Callable[[str, str], None]] = None) -> Optional[Job]:
        """Run ``fn(progress, cancel)`` on a worker thread; None (and nothing runs) when a
        writing job is already going and this one writes too."""
        if writes and self.writer_busy():
            return None
        job = Job(title, fn, writes, self)
        if on_done:
            job.succeeded.connect(on_done)
        if on_cancel:
            job.cancelled.connect(on_cancel)
        if on_error:
            job.failed.connect(on_error)
        job.ended.connect(lambda j=job: self._ended(j))
        was_busy = self.busy()
        self.jobs.append(job)
        job.start()
        self.job_started.emit(job)
        if not was_busy:
            self.busy_changed.emit(True)
        return job

    def set_external_writer(self, title: Optional[str], cancel: Optional[Callable[[], None]] = None) -> None:
        """A writer outside this process (the training child) holds the library; ``cancel``
        is how Cancel reaches it."""
        was = self.busy()
        self.external_writer = title
        self._external_cancel = cancel if title else None
        if was != self.busy():
            self.busy_changed.emit(self.busy())

    def cancel_all(self) -> None:
        if self._external_cancel is not None:
            self._external_cancel()
        for job in list(self.jobs):
            job.cancel()

    def wait_all(self, ms: int = 120_000) -> None:
        for job in list(self.jobs):
            job.wait(ms)

    def _ended(self, job: Job) -> None:
        if job in self.jobs:
            self.jobs.remove(job)
        self.job_ended.emit(job)
        if not self.busy():
            self.busy_changed.emit(False)
