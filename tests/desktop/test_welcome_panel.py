"""The start page: recent libraries, and "Open the demo library" building it with
progress when it is missing, then opening it."""

from __future__ import annotations

from PySide6.QtCore import QSettings


def test_the_demo_library_is_built_with_progress_then_opened(window, qtbot, tmp_path):
    welcome = window.show_view("welcome")
    QSettings().setValue("demo/dir", str(tmp_path / "demo"))
    welcome.build_demo(tmp_path / "demo", videos=14, train=False)
    job = window.jobs.current
    assert job is not None and job.title == "Building the demo library"
    stages: set[str] = set()
    job.progress.connect(lambda e: stages.add(e.stage))
    with qtbot.waitSignal(job.ended, timeout=240_000):
        pass
    assert job.outcome == "succeeded", job.error
    assert {"import"} <= stages
    qtbot.waitUntil(lambda: window.session.library is not None, timeout=10_000)
    assert window.session.path == (tmp_path / "demo" / "library").absolute()
    assert window.current_panel().name == "library"
    assert window.session.library.counts()["imported"] >= 5
    # The next click opens it without building again, and it is listed as recent.
    window.close_library()
    welcome.fill_recent()
    assert str(tmp_path / "demo" / "library") in welcome.recent.item(0).text()  # the newest first
    welcome.open_demo()
    assert window.session.library is not None and not window.jobs.busy()
