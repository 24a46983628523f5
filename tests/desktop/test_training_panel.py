"""The Training view on a library of real tiny clips: Train runs the child process, the
curves follow its JSON lines, the run ends trained, embedded and analysed; Stop checkpoints
(exit 130) and Resume finishes the same run; closing the window stops the child."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import wait_drawn

from reelscope.core.store.library import Library
from reelscope.core.store.lock import holder

CLIPS = 6


@pytest.fixture(scope="module")
def clip_library(tmp_path_factory) -> Path:
    """Six real 1-second H.264/AAC clips imported as ``reelscope import`` does."""
    import importlib.util

    from reelscope.core.cli.main import main

    # make_clip lives in tests/conftest.py, which "conftest" here does not name.
    spec = importlib.util.spec_from_file_location("_tests_conftest", Path(__file__).parents[1] / "conftest.py")
    shared = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shared)
    make_clip = shared.make_clip

    root = tmp_path_factory.mktemp("cliplib")
    for i in range(CLIPS):
        make_clip(root / "src" / f"clip{i}.mp4", seed=i)
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["import", str(root / "src"), "--library", str(root / "lib"), "--workers", "1",
                     "--quiet", "--json"]) == 0
    return root / "lib"


@pytest.fixture
def library(clip_library, tmp_path) -> Path:
    """A fresh copy per test: each trains its own runs."""
    target = tmp_path / "lib"
    shutil.copytree(clip_library, target)
    return target


def _training(qtbot, window, path: Path):
    assert window.open_library(path)
    panel = window.show_view("training")
    wait_drawn(qtbot, window)
    assert panel.pages.currentIndex() == 1  # not the empty state: there are videos
    return panel


def _choose(panel, method: str, *, epochs: int | None = None, minutes: float | None = None) -> None:
    panel.method.setCurrentIndex(panel.method.findData(method))
    panel.preset.setCurrentIndex(panel.preset.findData("tiny"))
    panel.device.setCurrentIndex(panel.device.findData("cpu"))
    if epochs is not None:
        panel.by_epochs.setChecked(True)
        panel.epochs.setValue(epochs)
    else:
        panel.by_time.setChecked(True)
        panel.minutes.setValue(minutes)


def _wait_for_steps(qtbot, panel, timeout: int = 90_000):
    """Until the child has reported its first training step; returns the child."""
    qtbot.waitUntil(lambda: panel.child is not None, timeout=timeout)
    child = panel.child
    qtbot.waitUntil(lambda: panel.curves.points() >= 1 or child.exit_code is not None, timeout=timeout)
    return child


def _history(panel) -> dict[str, str]:
    """Run id -> the status the history table shows."""
    table = panel.history
    return {table.item(r, 0).text(): table.item(r, 3).text() for r in range(table.rowCount())}


def test_train_runs_a_child_process_and_ends_trained_embedded_and_analysed(qtbot, window, library):
    from PySide6.QtCore import QTimer

    from reelscope.core.analytics.analyze import load_analysis
    from reelscope.core.store.embeddings import load_embeddings

    panel = _training(qtbot, window, library)
    _choose(panel, "av-simclr", epochs=1)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    pids: list[int] = []
    panel.train_button.click()
    qtbot.waitUntil(lambda: panel.child is not None, timeout=60_000)
    child = panel.child
    qtbot.waitUntil(lambda: child.pid > 0 or child.exit_code is not None, timeout=10_000)
    pids.append(child.pid)
    started = time.monotonic()
    qtbot.waitUntil(lambda: child.exit_code is not None, timeout=120_000)
    ended = time.monotonic()
    timer.stop()
    assert child.exit_code == 0, child.stderr_tail[-2000:]
    assert pids[0] > 0 and pids[0] != os.getpid()  # a separate process trained
    assert panel.curves.points() >= 1  # its JSON progress reached the curve
    during = [t for t in ticks if started <= t <= ended]
    assert len(during) >= 5 and max(b - a for a, b in zip(during, during[1:])) < 1.0  # the window kept going

    qtbot.waitUntil(lambda: panel.stage is None, timeout=120_000)
    run_id = panel.run_id
    assert "trained, every video embedded and analysed" in panel.stage_label.text()
    with Library.open(library, read_only=True) as lib:
        run = lib.run(run_id)
        assert run.status == "done" and run.metrics["steps"] >= 1
        assert run.metrics.get("loss") is not None  # the final loss the history shows
        assert len(load_embeddings(lib, run_id)) == CLIPS
        assert load_analysis(lib, run_id) is not None
    assert window.session.run_id == run_id  # the analytics use the new run
    wait_drawn(qtbot, window)
    qtbot.waitUntil(lambda: _history(panel).get(run_id) == "Finished", timeout=10_000)
    assert run_id in panel.in_use_label.text()


def test_stop_checkpoints_with_exit_130_and_resume_finishes_the_same_run(qtbot, window, library):
    panel = _training(qtbot, window, library)
    _choose(panel, "simclr", minutes=0.1)  # 6 s of training steps, stopped after the first
    panel.train_button.click()
    child = _wait_for_steps(qtbot, panel)
    run_id = panel.run_id
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: child.exit_code is not None, timeout=60_000)
    assert child.exit_code == 130, child.stderr_tail[-2000:]
    qtbot.waitUntil(lambda: panel.stage is None, timeout=10_000)
    assert panel.stage_label.text().startswith("Stopped at step ")
    assert "Resume continues from the checkpoint" in panel.stage_label.text()
    assert not panel.resume_button.isHidden()
    wait_drawn(qtbot, window)
    assert "resumable" in _history(panel)[run_id]
    with Library.open(library, read_only=True) as lib:
        assert lib.run(run_id).status != "done"
    assert holder(library) is None  # the child let go of the library

    panel.resume_button.click()
    qtbot.waitUntil(lambda: panel.child is not None, timeout=60_000)
    resumed = panel.child
    qtbot.waitUntil(lambda: resumed.exit_code is not None, timeout=120_000)
    assert resumed.exit_code == 0, resumed.stderr_tail[-2000:]
    qtbot.waitUntil(lambda: panel.stage is None, timeout=120_000)
    assert panel.run_id == run_id
    with Library.open(library, read_only=True) as lib:
        assert [r.id for r in lib.runs()] == [run_id]  # resumed, not a second run
        assert lib.run(run_id).status == "done"


def test_closing_the_window_asks_and_stop_ends_the_child_at_a_checkpoint(qtbot, window, library):
    panel = _training(qtbot, window, library)
    _choose(panel, "av-simclr", minutes=0.5)
    panel.train_button.click()
    child = _wait_for_steps(qtbot, panel)
    asked: list[str] = []
    panel.ask_close = lambda: asked.append("cancel") or "cancel"
    assert panel.confirm_close() is False and child.running  # Cancel: keep the window open
    panel.ask_close = lambda: asked.append("stop") or "stop"
    assert panel.confirm_close() is True
    assert asked == ["cancel", "stop"]
    assert child.exit_code == 130 and not child.running
    assert holder(library) is None


def test_a_library_without_videos_says_import_first(qtbot, window, tmp_path):
    Library.create(tmp_path / "empty").close()
    assert window.open_library(tmp_path / "empty")
    panel = window.show_view("training")
    wait_drawn(qtbot, window)
    assert panel.pages.currentIndex() == 0
    assert "Import videos first" in panel.empty.label.text()


def test_compare_runs_shows_core_s_evaluation(qtbot, opened):
    from reelscope.core.analytics.evaluate import evaluate_library
    from reelscope.core.numbers import format_number

    panel = opened.show_view("training")
    wait_drawn(qtbot, opened)
    assert _history(panel) == {"run-a": "Finished"}
    panel.compare_button.click()
    qtbot.waitUntil(lambda: panel.comparison.rowCount() > 0, timeout=60_000)
    with Library.open(opened.session.path, read_only=True) as lib:
        expected = evaluate_library(lib, label="author").comparison
    table = panel.comparison
    assert table.rowCount() == len(expected) == 3  # visual, audio, fused
    for r, row in enumerate(expected):
        assert table.item(r, 2).text() == row.kind
        assert table.item(r, 4).text() == format_number(row.retrieval_map, 3)
        assert table.item(r, 6).text() == format_number(row.forecast_r2, 3)


def test_keep_training_in_the_background_hands_the_run_to_a_detached_child(qtbot, window, library):
    import signal

    panel = _training(qtbot, window, library)
    _choose(panel, "av-simclr", minutes=0.5)
    panel.train_button.click()
    child = _wait_for_steps(qtbot, panel)
    panel.ask_close = lambda: "background"
    assert panel.confirm_close() is True
    assert child.exit_code == 130  # stopped with a checkpoint, then handed over
    pid = panel.background_pid
    assert pid and pid != os.getpid()
    try:  # the detached child resumes the run and holds the library's lock itself
        qtbot.waitUntil(lambda: getattr(holder(library), "pid", None) == pid, timeout=60_000)
        assert holder(library).job == "train"
    finally:
        os.kill(pid, signal.SIGTERM)
    qtbot.waitUntil(lambda: holder(library) is None, timeout=60_000)
    assert '"event": "progress"' in (child.plan.run_dir / "background.jsonl").read_text()
