"""The window starts, shows every view, and --screenshot writes a real picture."""

from __future__ import annotations

import subprocess
import sys

from conftest import wait_drawn


def test_every_view_opens_on_a_library(opened, qtbot):
    from reelscope.desktop.main_window import VIEWS

    for key, *_ in VIEWS:
        panel = opened.show_view(key)
        assert opened.current_panel() is panel
        wait_drawn(qtbot, opened)
    assert opened.windowTitle().startswith(opened.session.name)


def test_screenshot_command_writes_a_png_of_the_window(tmp_path, synthetic_library):
    out = tmp_path / "shot.png"
    proc = subprocess.run([sys.executable, "-m", "reelscope.desktop", "--library", str(synthetic_library),
                           "--view", "library", "--screenshot", str(out)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (1400, 900)
