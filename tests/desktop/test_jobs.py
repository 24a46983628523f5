"""Long jobs run off the GUI thread with progress and cancel; the window keeps processing
events while they run; failures become a dialog and a log line, never a crash."""

from __future__ import annotations

import os
import time

from PySide6.QtCore import QTimer

from child_jobs import child_dies, child_pid, child_waits_for_cancel
from conftest import make_clip


def test_an_import_from_the_window_runs_in_a_child_process_and_the_window_stays_live(window, qtbot, tmp_path):
    from reelscope.desktop.import_dialog import start_import

    src = tmp_path / "videos"
    src.mkdir()
    for i in range(4):
        make_clip(src / f"c{i}.mp4", seed=i)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    progress: list[object] = []
    job = start_import(window, tmp_path / "lib", [src], [], None, create=True)
    assert job.process  # the import's own loop runs in a child, its decoders in the child's workers
    job.progress.connect(progress.append)
    with qtbot.waitSignal(job.ended, timeout=120_000):
        pass
    timer.stop()
    assert job.outcome == "succeeded", job.error
    assert len(ticks) > 10  # the event loop ran while the import worked
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 1.0
    assert progress and progress[-1].stage == "import"
    qtbot.waitUntil(lambda: window.session.library is not None, timeout=10_000)  # opened at the end
    assert window.session.library.counts()["imported"] == 4
    dialogs = [w for w in window.findChildren(object) if type(w).__name__ == "ImportResultDialog"]
    assert dialogs and "4 new videos imported" in dialogs[-1].findChildren(type(window.library_label))[0].text()


def test_a_process_job_runs_in_another_process_reports_progress_and_cancels(window, qtbot):
    job = window.jobs.start("Counting", child_pid, writes=False, process=True)
    events: list[object] = []
    job.progress.connect(events.append)
    with qtbot.waitSignal(job.ended, timeout=120_000):
        pass
    assert job.outcome == "succeeded" and job.result != os.getpid()
    assert events and events[-1].message == "counted"
    job = window.jobs.start("Waiting", child_waits_for_cancel, writes=False, process=True)
    qtbot.waitUntil(lambda: job.last_progress is not None, timeout=120_000)
    job.cancel()
    with qtbot.waitSignal(job.ended, timeout=30_000):
        pass
    assert job.outcome == "cancelled"


def test_a_child_that_dies_is_a_failure_in_words_not_a_hang(window, qtbot):
    job = window.jobs.start("Dying", child_dies, writes=False, process=True)
    with qtbot.waitSignal(job.ended, timeout=120_000):
        pass
    assert job.outcome == "failed" and "ended unexpectedly" in job.error and "exit code 3" in job.error


def test_cancel_stops_a_job_and_keeps_what_it_finished(window, qtbot):
    from reelscope.core.progress import Reporter

    def slow(progress, cancel):
        reporter = Reporter("count", 1000, progress, cancel)
        for _ in range(1000):
            time.sleep(0.01)
            reporter.step()
        return "finished"

    job = window.jobs.start("Counting", slow)
    qtbot.waitUntil(lambda: job.last_progress is not None or window.job_status.isVisible(), timeout=5000)
    assert window.job_status.isVisible()
    window.job_status.cancel.click()
    with qtbot.waitSignal(job.ended, timeout=20_000):
        pass
    assert job.outcome == "cancelled"
    assert not window.jobs.busy()


def test_a_failing_job_shows_one_sentence_in_a_dialog_and_logs_the_traceback(window, qtbot, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    from reelscope.desktop.errors import log_path

    def broken(progress, cancel):
        raise ValueError("the metadata file is not JSON: line 1")

    job = window.jobs.start("Importing", broken)
    with qtbot.waitSignal(job.ended, timeout=10_000):
        pass
    boxes = [b for b in window.findChildren(QMessageBox) if b.windowTitle() == "Importing failed"]
    assert boxes and boxes[-1].text() == "the metadata file is not JSON: line 1"
    assert "Traceback" not in boxes[-1].text()
    assert "ValueError" in log_path().read_text()


def test_opening_something_that_is_not_a_library_says_why(window, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    (tmp_path / "library.db").write_text("not a database")
    assert not window.open_library(tmp_path)
    box = [b for b in window.findChildren(QMessageBox) if b.windowTitle() == "Cannot open the library"][-1]
    assert "library.db" in box.text() and "Traceback" not in box.text()
    assert window.session.library is None
