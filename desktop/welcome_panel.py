"""The start page: open the demo library (built with progress when missing), create a
library from a folder, open one, or pick a recent one."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (QFileDialog, QGridLayout, QHBoxLayout, QListWidget, QListWidgetItem,
                               QPushButton, QVBoxLayout, QWidget)

from reelscope.desktop.widgets import Panel, heading, plain_label

DEMO_VIDEOS = 300


def demo_root() -> Path:
    """Where "Open the demo library" keeps it (a setting; default ~/reelscope-demo)."""
    return Path(QSettings().value("demo/dir", str(Path.home() / "reelscope-demo")))


class WelcomePanel(Panel):
    name = "welcome"
    title = "Start"

    def __init__(self, session, jobs, parent=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session, jobs, parent)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        column = QVBoxLayout()
        outer.addLayout(column, 3)
        outer.addStretch(1)
        column.addStretch(1)
        column.addWidget(heading("Reelscope", self, 2.2))
        column.addWidget(plain_label(
            "See which of your videos are original and whether originality pays, find videos "
            "like any video, get hashtag suggestions and like forecasts for drafts — from "
            "encoders trained on your own library, on this computer.", self, wrap=True))
        column.addSpacing(18)
        grid = QGridLayout()
        self.demo_button = self._big_button("Open the demo library",
                                            "300 generated videos with metadata; built here the first time")
        self.create_button = self._big_button("Create a library from a folder…",
                                              "Import a folder of videos and its metadata file")
        self.open_button = self._big_button("Open a library…", "A folder that holds library.db")
        self.demo_button.clicked.connect(self.open_demo)
        self.create_button.clicked.connect(lambda: self.create_from_folder())
        self.open_button.clicked.connect(self.choose_library)
        grid.addWidget(self.demo_button, 0, 0)
        grid.addWidget(self.create_button, 0, 1)
        grid.addWidget(self.open_button, 0, 2)
        column.addLayout(grid)
        column.addSpacing(18)
        column.addWidget(heading("Recent libraries", self, 1.1))
        self.recent = QListWidget(self)
        self.recent.setMaximumHeight(180)
        self.recent.itemActivated.connect(lambda it: self.window().open_library(it.data(Qt.ItemDataRole.UserRole)))
        self.recent.itemClicked.connect(lambda it: self.window().open_library(it.data(Qt.ItemDataRole.UserRole)))
        column.addWidget(self.recent)
        self.recent_empty = plain_label("No library opened yet.", self)
        column.addWidget(self.recent_empty)
        column.addStretch(2)
        self.fill_recent()

    def _big_button(self, text: str, hint: str) -> QPushButton:
        button = QPushButton(f"{text}\n{hint}", self)
        button.setMinimumHeight(74)
        button.setToolTip(hint)
        return button

    def refresh(self) -> None:
        self.fill_recent()

    def showEvent(self, event: Any) -> None:  # noqa: N802
        super().showEvent(event)
        self.fill_recent()

    def fill_recent(self) -> None:
        from reelscope.desktop.session import recent_libraries

        self.recent.clear()
        paths = recent_libraries()
        for path in paths:
            item = QListWidgetItem(f"{Path(path).name}    {path}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            self.recent.addItem(item)
        self.recent.setVisible(bool(paths))
        self.recent_empty.setVisible(not paths)

    # ---------------------------------------------------------------- actions
    def choose_library(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a Reelscope library")
        if folder:
            self.window().open_library(folder)

    def create_from_folder(self, paths: Optional[Sequence[Path]] = None) -> None:
        from reelscope.desktop.import_dialog import ImportDialog

        dialog = ImportDialog(self.session, self.jobs, self.window(), create=True, paths=paths)
        dialog.open()

    def open_demo(self) -> None:
        root = demo_root()
        library = root / "library"
        if (library / "library.db").is_file():
            self.window().open_library(library)
            return
        self.build_demo(root)

    def build_demo(self, root: Path, videos: int = DEMO_VIDEOS, train: bool = True) -> None:
        """Generate the demo's videos and import them (a job with progress and cancel),
        open the library, then train on it from the Training view."""
        from reelscope.desktop.import_dialog import build_demo_job

        window: Any = self.window()

        def done(library_path: str) -> None:
            if window.open_library(library_path) and train:
                training = window.panels.get("training")
                if training is not None and hasattr(training, "start_training"):
                    window.show_view("training")
                    training.start_training(method="av-simclr", preset="small", time_budget_min=10.0)

        job = self.jobs.start("Building the demo library", build_demo_job(root, videos), process=True,
                              on_done=done)
        if job is None:
            window.statusBar().showMessage("Another job is running; try again when it ends", 8000)
