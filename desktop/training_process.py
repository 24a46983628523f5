"""The training child process as the window sees it: ``python -m reelscope.training RUN_DIR
--progress jsonl --lock LIB/library.lock`` under a :class:`QProcess`.

Training runs in a child, not on a worker thread, so a crash in PyTorch (or an
out-of-memory kill) takes down the child and never the window, and so SIGTERM can ask it
to stop with a checkpoint (docs/TRAINING.md). Its stdout is the JSON-lines protocol of
``training/__main__.py``: progress events (rebuilt with ``TrainEvent.from_json``), then one
``result`` or ``error`` line; its stderr is kept (the tail) for the error dialog. The
child holds the library's writing lock itself, so the lock names the process that works.

The child starts in a session of its own (``CreateNewSession``): a Ctrl-C in the terminal
that started the window reaches the window, which then stops the child cleanly, instead
of killing both at once.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QObject, QProcess, Signal

EXIT_FINISHED, EXIT_FAILED, EXIT_BUSY, EXIT_STOPPED = 0, 1, 75, 130
EXIT_KILLED = -1  # ended by a signal or never started: no exit code of its own
STDERR_KEEP = 16_000  # characters of stderr kept for the error dialog's details
BACKGROUND_OUT = "background.jsonl"  # where a detached child writes its protocol
BACKGROUND_ERR = "background.log"
# Training takes every core it can; at a lower priority it still gets them all while the
# window idles, and gives one back the moment the window has an event to handle (at equal
# priority the window waited ~80 ms for a core on a 2-core machine).
CHILD_NICENESS = 10


@dataclass(frozen=True)
class ChildPlan:
    """What one child trains and for how long: the arguments of its command line."""

    run_dir: Path
    lock: Path
    device: str = "auto"  # auto, cpu or cuda
    epochs: Optional[int] = None
    time_budget_min: Optional[float] = None

    def arguments(self) -> list[str]:
        args = ["-m", "reelscope.training", str(self.run_dir), "--progress", "jsonl",
                "--lock", str(self.lock), "--device", self.device, "--nice", str(CHILD_NICENESS)]
        if self.epochs is not None:
            args += ["--epochs", str(int(self.epochs))]
        if self.time_budget_min is not None:
            args += ["--time-budget", repr(float(self.time_budget_min))]
        return args


class TrainingProcess(QObject):
    """One run of the child. Signals arrive on the GUI thread as the child writes.

    ``progress(TrainEvent)`` for every progress line; ``ended(exit_code, record)`` once,
    with the ``result`` or ``error`` record (None when the child wrote neither, e.g. it
    was killed) and :data:`EXIT_KILLED` for a child ended by a signal.
    """

    progress = Signal(object)
    ended = Signal(int, object)

    def __init__(self, plan: ChildPlan, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.record: Optional[dict[str, Any]] = None
        self.stderr_tail = ""
        self.exit_code: Optional[int] = None
        self.stop_requested = False
        self._buffer = b""
        self._process = QProcess(self)
        self._process.setProgram(sys.executable)
        self._process.setArguments(plan.arguments())
        self._process.setWorkingDirectory(str(plan.run_dir))
        _new_session(self._process)
        self._process.readyReadStandardOutput.connect(self._on_stdout)
        self._process.readyReadStandardError.connect(self._on_stderr)
        self._process.finished.connect(self._on_finished)
        self._process.errorOccurred.connect(self._on_error)

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        self._process.start()

    @property
    def pid(self) -> int:
        """The child's process id (0 before it started and after it ended)."""
        return int(self._process.processId())

    @property
    def running(self) -> bool:
        return self._process.state() != QProcess.ProcessState.NotRunning

    def stop(self) -> None:
        """Ask the child to stop after its current step with a checkpoint (SIGTERM on POSIX;
        exit 130). A second call does what a second SIGTERM does: abort at once."""
        if self.running:
            self.stop_requested = True
            self._process.terminate()

    def kill(self) -> None:
        if self.running:
            self._process.kill()

    def wait(self, ms: int) -> bool:
        """Block until the child ended (closing the window only); True when it did."""
        if not self.running:
            return True
        return self._process.waitForFinished(ms)

    def command_line(self) -> list[str]:
        return [sys.executable, *self.plan.arguments()]

    # ------------------------------------------------------------------- output
    def _on_stdout(self) -> None:
        self._buffer += bytes(self._process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._line(line.decode("utf-8", "replace").strip())

    def _line(self, line: str) -> None:
        from reelscope.training.events import TrainEvent

        if not line.startswith("{"):
            return  # the protocol is JSON only; anything else is not ours to show
        try:
            record = json.loads(line)
        except ValueError:
            return
        if record.get("event", "progress") == "progress":
            self.progress.emit(TrainEvent.from_json(line))
        else:
            self.record = record

    def _on_stderr(self) -> None:
        text = bytes(self._process.readAllStandardError().data()).decode("utf-8", "replace")
        self.stderr_tail = (self.stderr_tail + text)[-STDERR_KEEP:]

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._on_stdout()
        self._on_stderr()
        if self._buffer.strip():
            self._line(self._buffer.decode("utf-8", "replace").strip())
            self._buffer = b""
        crashed = status == QProcess.ExitStatus.CrashExit
        self._end(EXIT_KILLED if crashed else int(code))

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.record = {"event": "error", "type": "FailedToStart",
                           "message": f"could not start {sys.executable}: {self._process.errorString()}"}
            self._end(EXIT_KILLED)

    def _end(self, code: int) -> None:
        if self.exit_code is not None:
            return  # finished and errorOccurred can both report one end
        self.exit_code = code
        self.ended.emit(code, self.record)


def start_detached(plan: ChildPlan) -> Optional[int]:
    """Start the child so that it outlives the window: its own session, no pipe to the
    window (a closed pipe would stop it, as the protocol says), the protocol into
    ``RUN_DIR/background.jsonl`` and stderr into ``background.log``. Returns its pid, or
    None when it could not start. It resumes from the run's newest checkpoint.

    ``subprocess`` rather than ``QProcess.startDetached``: the latter does not tell
    PySide the pid, and a ``QProcess`` object kills its child when it is destroyed."""
    import subprocess

    try:
        with open(plan.run_dir / BACKGROUND_OUT, "ab") as out, open(plan.run_dir / BACKGROUND_ERR, "ab") as err:
            child = subprocess.Popen([sys.executable, *plan.arguments()], cwd=plan.run_dir,
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     start_new_session=sys.platform != "win32")
    except OSError:
        return None
    return child.pid


def _new_session(process: QProcess) -> None:
    if sys.platform == "win32" or not hasattr(QProcess, "UnixProcessParameters"):
        return
    params = QProcess.UnixProcessParameters()
    params.flags = QProcess.UnixProcessFlag.CreateNewSession
    process.setUnixProcessParameters(params)
