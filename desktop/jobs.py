"""Long jobs off the GUI thread: one writing job at a time, with progress and cancel.

A job is any ``fn(progress, cancel) -> result`` — the same shape as every long job in
core (``progress`` takes core's :class:`~reelscope.core.progress.Progress`, ``cancel``
is a :class:`~reelscope.core.progress.CancelToken`). It runs on its own ``QThread``;
its progress, result and errors come back to the GUI thread as Qt signals, so the event
loop never waits on it. Cancel sets the token; core stops at its next step, keeps what
it finished and raises ``Cancelled`` (whose ``partial`` the ``cancelled`` signal carries).
Jobs heavy in Python-held C work (analysis, embedding, reports, the map) run in a child
process instead (``process=True``, ``process_jobs.py``), so they never hold the window's
GIL; training has its own child (``training_process.py``).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QThread, Signal

from reelscope.desktop.messages import details_of, message_of

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

    def __init__(self, title: str, fn: JobFn, writes: bool = True, parent: Optional[QObject] = None,
                 process: bool = False) -> None:
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
        self.process = process
        self._shared_cancel: Any = None  # the child's cancel event (process jobs)
        self._thread = _ProcessThread(self) if process else _JobThread(self)
        self._thread.finished.connect(self._thread.deleteLater)

    @property
    def running(self) -> bool:
        return self.outcome is None

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self.token.cancel()
        if self._shared_cancel is not None:
            self._shared_cancel.set()

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


class _ProcessThread(QThread):
    """Runs a process job: starts the child (spawn), forwards its queue to the job's
    signals, and reports a child that died without a word as a failure."""

    done = Signal(str, object, str)

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
        self.done.connect(job._finish)

    def run(self) -> None:
        import multiprocessing as mp
        import os
        import queue as queues

        from reelscope.desktop.process_jobs import run_in_child

        ctx = mp.get_context("spawn")
        channel, event = ctx.Queue(), ctx.Event()
        self.job._shared_cancel = event
        if self.job.token.cancelled:
            event.set()
        child = ctx.Process(target=run_in_child, args=(self.job._fn, channel, event, os.getpid()),
                            name=f"reelscope job: {self.job.title}")
        try:
            child.start()
        except Exception as exc:  # noqa: BLE001 - e.g. an argument that cannot be pickled
            self.done.emit("failed", message_of(exc), details_of(exc))
            return
        outcome: Optional[tuple[str, Any]] = None
        while outcome is None:
            try:
                kind, payload = channel.get(timeout=0.25)
            except queues.Empty:
                if not child.is_alive():
                    try:  # its last words may have arrived just as it exited
                        kind, payload = channel.get(timeout=1.0)
                    except queues.Empty:
                        outcome = ("failed", (f"the job's process ended unexpectedly (exit code "
                                              f"{child.exitcode}); what it finished is kept", ""))
                        break
                else:
                    continue
            if kind == "progress":
                self.job._report(payload)
            else:
                outcome = (kind, payload)
        child.join(30)
        kind, payload = outcome
        if kind == "failed":
            self.done.emit("failed", payload[0], payload[1])
        else:
            self.done.emit(kind, payload, "")


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

    def start(self, title: str, fn: JobFn, *, writes: bool = True, process: bool = False,
              on_done: Optional[Callable[[Any], None]] = None,
              on_cancel: Optional[Callable[[Any], None]] = None,
              on_error: Optional[Callable[[str, str], None]] = None) -> Optional[Job]:
        """Run ``fn(progress, cancel)`` on a worker thread — or, with ``process``, in a child
        process (``fn`` then must pickle: a module-level function of
        ``reelscope.desktop.process_jobs`` bound with ``functools.partial``). None (and
        nothing runs) when a writing job is already going and this one writes too."""
        if writes and self.writer_busy():
            return None
        job = Job(title, fn, writes, self, process=process)
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
