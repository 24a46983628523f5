"""The main window: navigation between the views, menus with shortcuts, the status bar
with the running job, drag-and-drop import, settings and geometry kept in QSettings."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QMainWindow, QMessageBox, QProgressBar, QPushButton, QSplitter,
                               QStackedWidget, QWidget)

from reelscope.desktop.errors import log_path, message_of, setup_logging, show_error
from reelscope.desktop.jobs import Job, JobRunner
from reelscope.desktop.session import Session, recent_libraries
from reelscope.desktop.widgets import Panel

log = logging.getLogger("reelscope.desktop")

# (view key, module, class, title in the navigation). The order is the navigation's.
VIEWS: tuple[tuple[str, str, str, str], ...] = (
    ("welcome", "welcome_panel", "WelcomePanel", "Start"),
    ("library", "library_panel", "LibraryPanel", "Videos"),
    ("authors", "authors_panel", "AuthorsPanel", "Authors"),
    ("scatter", "scatter_panel", "ScatterPanel", "Originality vs likes"),
    ("map", "map_panel", "MapPanel", "Embedding map"),
    ("similar", "similar_panel", "SimilarPanel", "Similar videos"),
    ("draft", "draft_panel", "DraftPanel", "Check a draft"),
    ("sounds", "sounds_panel", "SoundsPanel", "Sounds & trends"),
    ("training", "training_panel", "TrainingPanel", "Training"),
    ("reports", "reports_panel", "ReportsPanel", "Reports"),
)
# Views a screenshot can ask for that live inside another view.
ALIASES = {"detail": "library"}
VIEW_NAMES = tuple(v[0] for v in VIEWS) + tuple(ALIASES)


class JobStatus(QWidget):
    """The status bar's job indicator: what runs, how far, the ETA, and Cancel."""

    def __init__(self, jobs: JobRunner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.bar = QProgressBar(self)
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(True)
        self.cancel = QPushButton("Cancel", self)
        self.cancel.clicked.connect(jobs.cancel_all)
        for w in (self.label, self.bar, self.cancel):
            layout.addWidget(w)
        self.setVisible(False)
        jobs.job_started.connect(self._started)
        jobs.busy_changed.connect(lambda busy: self.setVisible(busy) if not busy else None)

    def _started(self, job: Job) -> None:
        self.setVisible(True)
        self.label.setText(job.title)
        self.bar.setRange(0, 0)
        self.cancel.setEnabled(True)
        job.progress.connect(lambda e, j=job: self.show_progress(j.title, e))

    def show_progress(self, title: str, event: Any) -> None:
        """One progress event, from a job or the training child."""
        self.setVisible(True)
        text = f"{title}: {event.stage}"
        if event.message:
            text += f" — {event.message[:60]}"
        if event.eta_s is not None and event.eta_s == event.eta_s:
            minutes, seconds = divmod(int(event.eta_s), 60)
            text += f" (about {minutes}:{seconds:02d} left)"
        self.label.setText(text)
        if event.total:
            self.bar.setRange(0, int(event.total))
            self.bar.setValue(min(int(event.done), int(event.total)))
        else:
            self.bar.setRange(0, 0)


class MainWindow(QMainWindow):
    def __init__(self, session: Optional[Session] = None, jobs: Optional[JobRunner] = None) -> None:
        super().__init__()
        setup_logging()
        self.session = session or Session(self)
        self.jobs = jobs or JobRunner(self)
        self.setAcceptDrops(True)
        self.setMinimumSize(QSize(900, 600))
        self.panels: dict[str, Panel] = {}
        self.nav = QListWidget(self)
        self.nav.setFixedWidth(180)
        self.nav.setFrameShape(QListWidget.Shape.NoFrame)
        self.nav.setSpacing(2)
        self.stack = QStackedWidget(self)
        for key, module, cls, title in VIEWS:
            panel = self._make_panel(module, cls)
            self.panels[key] = panel
            self.stack.addWidget(panel)
            item = QListWidgetItem(title)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setSizeHint(QSize(170, 30))
            self.nav.addItem(item)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        central = QWidget(self)
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.job_status = JobStatus(self.jobs, self)
        self.library_label = QLabel(self)
        self.library_label.setTextFormat(Qt.TextFormat.PlainText)
        self.statusBar().addPermanentWidget(self.job_status)
        self.statusBar().addPermanentWidget(self.library_label)
        self._build_menus()

        self.session.library_changed.connect(self._library_changed)
        self.session.data_changed.connect(self._update_status)
        self.session.status_message.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.session.gallery_requested.connect(lambda *_: self.show_view("similar"))
        self.session.filter_requested.connect(lambda *_: self.show_view("library"))
        self.jobs.job_ended.connect(self._job_ended)
        self._library_changed()
        self._restore_geometry()

    # ------------------------------------------------------------------ panels
    def _make_panel(self, module: str, cls: str) -> Panel:
        mod = importlib.import_module(f"reelscope.desktop.{module}")
        return getattr(mod, cls)(self.session, self.jobs, self)

    def show_view(self, key: str, video: Optional[str] = None, file: Optional[str] = None) -> Panel:
        key = ALIASES.get(key, key)
        if key not in self.panels:
            raise KeyError(f"no view {key!r}; choose one of {', '.join(VIEW_NAMES)}")
        index = [v[0] for v in VIEWS].index(key)
        self.nav.setCurrentRow(index)
        panel = self.panels[key]
        if video:
            self.session.select(video)
            panel.show_video(video)
        if file:
            panel.show_file(file)
        return panel

    def current_panel(self) -> Panel:
        return self.panels[VIEWS[self.stack.currentIndex()][0]]

    def busy(self) -> bool:
        """Still loading what the current view shows (a screenshot waits)."""
        return self.session.pending() > 0 or self.current_panel().busy() or \
            any(j.writes is False for j in self.jobs.jobs)

    # ------------------------------------------------------------------- menus
    def _action(self, menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        welcome: Any = self.panels["welcome"]
        self._action(file, "&Open Library…", welcome.choose_library, QKeySequence.StandardKey.Open)
        self._action(file, "&New Library from Folder…", welcome.create_from_folder, QKeySequence.StandardKey.New)
        self._action(file, "Open the &Demo Library", welcome.open_demo)
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addSeparator()
        library: Any = self.panels["library"]
        self.library_actions = [
            self._action(file, "&Import Videos…", library.import_dialog, "Ctrl+I"),
            self._action(file, "Re&scan the Library's Folders", library.rescan, "Ctrl+R"),
            self._action(file, "&Export Report…", lambda: self.show_view("reports"), "Ctrl+E"),
        ]
        file.addSeparator()
        self.library_actions.append(self._action(file, "&Close Library", self.close_library,
                                                 QKeySequence.StandardKey.Close))
        self._action(file, "&Settings…", self.open_settings, QKeySequence.StandardKey.Preferences)
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        view = bar.addMenu("&View")
        for n, (key, _, _, title) in enumerate(VIEWS):
            self._action(view, title, lambda _=False, k=key: self.show_view(k), f"Ctrl+{n + 1}" if n < 9 else None)
        jobs = bar.addMenu("&Jobs")
        self._action(jobs, "&Train…", lambda: self.show_view("training"), "Ctrl+T")
        self._action(jobs, "&Cancel the Running Job", self.jobs.cancel_all, "Ctrl+.")
        help_ = bar.addMenu("&Help")
        self._action(help_, "Open the &Log Folder", lambda: QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(log_path().parent))))
        self._action(help_, "&About Reelscope", self._about)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        paths = recent_libraries()
        for path in paths:
            self._action(self.recent_menu, path, lambda _=False, p=path: self.open_library(p))
        if not paths:
            self.recent_menu.addAction("No recent libraries").setEnabled(False)

    def _about(self) -> None:
        from reelscope import __version__

        box = QMessageBox(self)
        box.setWindowTitle("About Reelscope")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(f"Reelscope {__version__}\n\nOriginality, similar videos, hashtags and like "
                    "forecasts from audio-visual embeddings trained on your own library.")
        box.open()

    def open_settings(self) -> None:
        from reelscope.desktop.settings_dialog import SettingsDialog

        SettingsDialog(self).open()

    # ----------------------------------------------------------------- library
    def open_library(self, path: str | Path, view: str = "library") -> bool:
        try:
            self.session.open(path)
        except Exception as exc:  # noqa: BLE001 - core's errors already read as sentences
            show_error(self, "Cannot open the library", message_of(exc))
            return False
        self.show_view(view)
        return True

    def close_library(self) -> None:
        self.session.close()
        self.show_view("welcome")

    def _library_changed(self) -> None:
        has = self.session.library is not None
        name = self.session.name
        self.setWindowTitle(f"{name} — Reelscope" if has else "Reelscope")
        for action in self.library_actions:
            action.setEnabled(has)
        for i in range(1, self.nav.count()):
            self.nav.item(i).setFlags(self.nav.item(i).flags() | Qt.ItemFlag.ItemIsEnabled if has
                                      else self.nav.item(i).flags() & ~Qt.ItemFlag.ItemIsEnabled)
        if not has:
            self.nav.setCurrentRow(0)
        self._update_status()

    def _update_status(self) -> None:
        if self.session.library is None:
            self.library_label.setText("No library open")
            return

        def show(info: tuple[dict[str, int], Optional[str]]) -> None:
            counts, run = info
            text = f"{self.session.name}: {counts.get('imported', 0):,} videos"
            if counts.get("failed"):
                text += f", {counts['failed']:,} failed"
            text += f" · run {run}" if run else " · not trained yet"
            self.library_label.setText(text)

        def read(library: Any) -> tuple[dict[str, int], Optional[str]]:
            from reelscope.core.analytics.data import resolve_run

            try:
                run = resolve_run(library, self.session.run_id).id
            except (FileNotFoundError, KeyError):
                run = None
            return library.counts(), run

        self.session.query("status-bar", read, show, lambda *_: None)

    def _job_ended(self, job: Job) -> None:
        if job.writes:
            self.session.notify_changed()
        if job.outcome == "failed":
            show_error(self, f"{job.title} failed", job.error or "", job.details)
        elif job.outcome == "cancelled":
            self.statusBar().showMessage(f"{job.title} cancelled; what finished is kept — "
                                         "run it again to resume", 10000)
        elif job.outcome == "succeeded":
            self.statusBar().showMessage(f"{job.title}: done", 8000)

    # ------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        if len(paths) == 1 and (paths[0] / "library.db").is_file():
            self.open_library(paths[0])
            return
        library: Any = self.panels["library"]
        if self.session.library is None:
            self.panels["welcome"].create_from_folder(paths)  # type: ignore[attr-defined]
        else:
            library.import_dialog(paths)

    # ---------------------------------------------------------------- lifecycle
    def _restore_geometry(self) -> None:
        geometry = QSettings().value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        for panel in self.panels.values():
            confirm = getattr(panel, "confirm_close", None)
            if confirm is not None and not confirm():
                event.ignore()
                return
        if self.jobs.jobs:
            answer = QMessageBox.question(
                self, "A job is running",
                f"{self.jobs.jobs[0].title} is still running. Stop it (what finished is kept) and quit?")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            self.jobs.cancel_all()
            self.jobs.wait_all()
        QSettings().setValue("window/geometry", self.saveGeometry())
        self.session.close()
        event.accept()
