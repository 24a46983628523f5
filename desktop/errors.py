"""Errors the window shows: one plain sentence in a dialog, the traceback under "Details",
and everything written to a log file — never only a traceback in a terminal."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType
from typing import Optional

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from reelscope.desktop.messages import details_of, message_of  # noqa: F401 - re-exported

log = logging.getLogger("reelscope.desktop")
_handler: Optional[logging.Handler] = None


def log_path() -> Path:
    """Where the window's log goes: ``$REELSCOPE_LOG_DIR`` or the platform's app-data folder."""
    folder = os.environ.get("REELSCOPE_LOG_DIR") or \
        QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(folder or Path.home() / ".reelscope") / "reelscope.log"


def setup_logging() -> Path:
    """Send the desktop's log records to :func:`log_path` (rotated at 2 MB, 3 kept)."""
    global _handler
    path = log_path()
    if _handler is None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        except OSError:  # a read-only home: log to stderr rather than not at all
            _handler = logging.StreamHandler()
        _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("reelscope").addHandler(_handler)
        logging.getLogger("reelscope").setLevel(logging.INFO)
    return path


def show_error(parent: Optional[QWidget], title: str, message: str, details: str = "") -> QMessageBox:
    """A modal-less error dialog: ``message`` in plain text, ``details`` behind a button,
    and the log file's path. Also logged. Returns the box (tests read it)."""
    log.error("%s: %s\n%s", title, message, details)
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)  # user text (file names, captions) stays inert
    box.setText(message)
    box.setInformativeText(f"The log is in {log_path()}")
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if not os.environ.get("REELSCOPE_NO_DIALOGS"):
        box.open()
    return box


def install_excepthook() -> None:
    """Uncaught exceptions in slots go to the log and a dialog instead of killing the app."""

    def hook(kind: type[BaseException], exc: BaseException, tb: Optional[TracebackType]) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        details = "".join(traceback.format_exception(kind, exc, tb))
        sys.stderr.write(details)  # a terminal, when there is one, sees it too
        app = QApplication.instance()
        if app is None:
            sys.__excepthook__(kind, exc, tb)
            return
        show_error(QApplication.activeWindow(), "Something went wrong", message_of(exc), details)

    sys.excepthook = hook
