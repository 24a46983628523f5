"""Start the window: ``reelscope gui [--library DIR] [--view V] [--screenshot F.png]
[--video ID] [--file F] [--palette light|dark|system]``.

With ``--screenshot`` the window opens (offscreen when there is no display), shows the
view, waits until its data is drawn, saves a PNG of the whole window and exits 0 — the
docs' screenshots are made this way, and so can a user's bug report.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

APP_NAME = "Reelscope"
ORG = "Reelscope"
SCREENSHOT_SIZE = (1400, 900)


def build_parser() -> argparse.ArgumentParser:
    from reelscope.desktop.main_window import VIEW_NAMES

    p = argparse.ArgumentParser(prog="reelscope gui", description="Open the Reelscope window.")
    p.add_argument("--library", type=Path, help="library folder to open")
    p.add_argument("--view", choices=VIEW_NAMES, help="view to show first")
    p.add_argument("--video", help="video id to select (detail, similar)")
    p.add_argument("--file", help="a file to start the view on (draft, similar)")
    p.add_argument("--screenshot", type=Path, metavar="OUT.png",
                   help="save a PNG of the window once the view is drawn, then exit")
    p.add_argument("--palette", choices=("system", "light", "dark"), default=None,
                   help="colour scheme (default: the saved setting, else the system's)")
    p.add_argument("--size", default=None, metavar="WxH", help="window size (screenshots: 1400x900)")
    p.add_argument("--timeout", type=float, default=120.0, help="screenshot: longest wait for data (s)")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.screenshot and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) \
            and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = make_app()
    from PySide6.QtCore import QSettings

    from reelscope.desktop.errors import install_excepthook, setup_logging
    from reelscope.desktop.main_window import MainWindow
    from reelscope.desktop.theme import apply_palette

    setup_logging()
    install_excepthook()
    apply_palette(app, args.palette or QSettings().value("palette", "system"))
    if args.screenshot and args.palette is None:
        apply_palette(app, "light")
    window = MainWindow()
    if args.size or args.screenshot:
        w, h = (int(x) for x in (args.size or "x".join(map(str, SCREENSHOT_SIZE))).split("x"))
        window.resize(w, h)
    window.show()
    if args.library is not None:
        if not window.open_library(args.library, view=args.view or "library"):
            if args.screenshot:
                return 1
    if args.view:
        try:
            window.show_view(args.view, video=args.video, file=args.file)
        except KeyError as exc:
            print(f"reelscope gui: {exc.args[0]}", file=sys.stderr)
            return 2
    if args.screenshot:
        return screenshot(app, window, args.screenshot, args.timeout)
    return app.exec()


def make_app():  # type: ignore[no-untyped-def]
    """The QApplication with Reelscope's name, icon and settings location."""
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        QCoreApplication.setOrganizationName(ORG)
        QCoreApplication.setApplicationName(APP_NAME)
        app = QApplication([sys.argv[0]])
    QCoreApplication.setOrganizationName(ORG)
    QCoreApplication.setApplicationName(APP_NAME)
    QGuiApplication.setApplicationDisplayName(APP_NAME)
    QGuiApplication.setDesktopFileName("io.reelscope.Reelscope")
    app.setWindowIcon(QIcon(str(icon_path())))
    from reelscope.desktop import gc_guard

    gc_guard.install(app)  # Qt objects must never be collected on a worker thread
    return app


def icon_path() -> Path:
    from importlib.resources import files

    return Path(str(files("reelscope.resources") / "icons" / "reelscope.svg"))


def wait_drawn(app, window, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    """Process events until the window has no query or load in flight (twice in a row,
    a little apart, so follow-up loads count); False on timeout."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        app.processEvents()
        if window.busy():
            quiet = 0
        else:
            quiet += 1
            if quiet >= 5:
                return True
        time.sleep(0.05)
    return False


def screenshot(app, window, out: Path, timeout: float) -> int:  # type: ignore[no-untyped-def]
    if not wait_drawn(app, window, timeout):
        print(f"reelscope gui: the view was still loading after {timeout:.0f} s; "
              "saving what is drawn", file=sys.stderr)
    for _ in range(5):
        app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out)):
        print(f"reelscope gui: cannot write {out}", file=sys.stderr)
        return 1
    print(f"Saved {out}")
    window.session.close()
    return 0
