"""Python's cyclic garbage collector runs in whichever thread happens to allocate when its
threshold trips — in the window that is often the query thread or a job's thread. A Qt
object collected there is destroyed off the GUI thread: its timers stay registered with
the GUI thread's event loop and the next tick crashes the app
(QTimerInfoList::activateTimers). Views are full of reference cycles (slots that close
over their view), so this is not rare. The fix is the usual one for Qt applications:
automatic collection is switched off and the GUI thread collects on a timer, with the
same generational thresholds the interpreter would use."""

from __future__ import annotations

import gc
from typing import Optional

from PySide6.QtCore import QObject, QTimer

FREEZE_AFTER_MS = 3000
INTERVAL_MS = 25  # often enough that each collection stays small (a 500 ms interval let gen 1 grow to 60 ms pauses)


class MainThreadGC(QObject):
    def __init__(self, parent: Optional[QObject] = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)
        # Once the window is up, what startup made (modules, Qt wrappers, pyqtgraph) lives as
        # long as the app: freezing it keeps full collections from scanning it again.
        QTimer.singleShot(FREEZE_AFTER_MS, gc.freeze)

    def check(self) -> None:
        """Collect the generations whose counts passed their thresholds (GUI thread only)."""
        counts = gc.get_count()
        if counts[0] <= self.threshold[0]:
            return
        generation = 0
        if counts[1] > self.threshold[1]:
            generation = 1
            if counts[2] > self.threshold[2]:
                generation = 2
        gc.collect(generation)


_guard: Optional[MainThreadGC] = None


def install(app: QObject) -> MainThreadGC:
    """Once per application: collect garbage on the GUI thread only."""
    global _guard
    if _guard is None:
        _guard = MainThreadGC(app)
    return _guard
