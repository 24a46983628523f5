"""One small protocol for every long job: progress events in, a cancel flag out.

A job (import, train, embed, analyse, report) takes ``progress`` — any callable
accepting a :class:`Progress` — and ``cancel`` — a :class:`CancelToken`. It calls
``Reporter.step``/``Reporter.update`` between units of work; that both emits an
event and raises :class:`Cancelled` once the token is set.

One cancel behaviour everywhere: a cancelled job raises :class:`Cancelled` — import,
train, embed, analyze, report and predict alike — after keeping everything it finished
(imported videos, a training checkpoint), so running it again resumes. A job whose
partial work is worth showing attaches it: ``Cancelled.partial`` (the import's report
of what it did before it stopped). The CLI renders the
events as terminal bars, the desktop window forwards them through Qt signals
from a worker thread, a script can pass ``print`` or nothing at all.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from reelscope.training.events import TrainEvent


class Cancelled(Exception):
    """Raised inside a job when its :class:`CancelToken` was set; ``partial`` is what the
    job finished before it stopped, where it reports that (else None)."""

    def __init__(self, message: str = "cancelled", partial: Any = None) -> None:
        super().__init__(message)
        self.partial = partial


# One event type for every job: training owns it (it cannot import core); core re-exports it.
Progress = TrainEvent

ProgressCallback = Callable[[Progress], None]


class CancelToken:
    """Thread-safe cancel flag shared between a job and whoever started it."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled by the user")


def _ignore(_: Progress) -> None:
    pass


class Reporter:
    """Emits :class:`Progress` events for one stage and checks the cancel flag.

    The ETA is the elapsed time per unit of this run times the units left, so a
    resumed job that starts at ``done > 0`` does not report a wildly short ETA.
    """

    def __init__(
        self,
        stage: str,
        total: Optional[int],
        progress: Optional[ProgressCallback] = None,
        cancel: Optional[CancelToken] = None,
        done: int = 0,
    ) -> None:
        self.stage = stage
        self.total = total
        self.done = done
        self._start_done = done
        self._start = time.monotonic()
        self._progress = progress or _ignore
        self._cancel = cancel or CancelToken()

    @property
    def cancelled(self) -> bool:
        return self._cancel.cancelled

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancel was requested."""
        self._cancel.raise_if_cancelled()

    def eta(self) -> Optional[float]:
        units = self.done - self._start_done
        if not self.total or units <= 0:
            return None
        per_unit = (time.monotonic() - self._start) / units
        return max(0.0, per_unit * (self.total - self.done))

    def update(self, done: Optional[int] = None, message: str = "", **metrics: Any) -> None:
        """Set the count (if given), emit an event, then honour cancel."""
        if done is not None:
            self.done = done
        self._progress(
            Progress(self.stage, self.done, self.total, message, self.eta(), dict(metrics))
        )
        self.check()

    def step(self, n: int = 1, message: str = "", **metrics: Any) -> None:
        """Count ``n`` more units done, emit an event, then honour cancel."""
        self.update(self.done + n, message, **metrics)
