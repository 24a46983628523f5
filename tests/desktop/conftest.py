"""Desktop tests: offscreen Qt, settings and logs in a temporary folder, no modal dialogs,
and a small analysed synthetic library (no real media) shared by the view tests."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

# One settings home per test session: a child process that imports this file (a spawned job)
# reuses its parent's; the process that made it removes it at exit (141 were once left in /tmp).
_HOME = os.environ.get("REELSCOPE_DESKTOP_TEST_HOME", "")
if not _HOME:
    _HOME = os.environ["REELSCOPE_DESKTOP_TEST_HOME"] = tempfile.mkdtemp(prefix="reelscope-desktop-test-")
    atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ["XDG_CONFIG_HOME"] = str(Path(_HOME) / "config")  # QSettings goes here, not ~
os.environ["XDG_DATA_HOME"] = str(Path(_HOME) / "data")
os.environ["REELSCOPE_LOG_DIR"] = str(Path(_HOME) / "log")
os.environ["REELSCOPE_NO_DIALOGS"] = "1"  # error boxes are built (tests read them), never shown

import pytest  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ helpers (build_library)


def _root_conftest():  # type: ignore[no-untyped-def]
    """tests/conftest.py, whose name this file shadows for ``from conftest import``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("reelscope_tests_root_conftest",
                                                  Path(__file__).resolve().parents[1] / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_clip = _root_conftest().make_clip  # real tiny H.264/AAC clips: ``from conftest import make_clip``


@pytest.fixture(scope="session")
def synthetic_library(tmp_path_factory) -> Path:
    """120 videos in 4 clusters with 6 shared sounds, likes, hashtags and thumbnails for
    every 7th video; run ``run-a`` embedded and analysed (tests/test_cli_analytics.py)."""
    import contextlib
    import io

    from test_cli_analytics import build_library

    from reelscope.core.cli.main import main

    root = tmp_path_factory.mktemp("desktoplib")
    build_library(root, runs=("run-a",)).close()
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["analyze", "--library", str(root), "--run", "run-a", "--quiet", "--json"]) == 0
    return root


@pytest.fixture
def window(qtbot):
    """The main window, 1400x900, shown offscreen, no library open."""
    from reelscope.desktop.app import make_app
    from reelscope.desktop.main_window import MainWindow
    from reelscope.desktop.theme import apply_palette

    app = make_app()
    apply_palette(app, "light")
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    yield win
    win.jobs.cancel_all()
    win.jobs.wait_all(60_000)
    win.session.close()


@pytest.fixture
def opened(window, synthetic_library):
    """The window with the synthetic library open."""
    assert window.open_library(synthetic_library)
    return window


def wait_drawn(qtbot, window, timeout: int = 30_000) -> None:
    """Until the current view has nothing loading (as ``--screenshot`` waits)."""
    qtbot.waitUntil(lambda: not window.busy(), timeout=timeout)
