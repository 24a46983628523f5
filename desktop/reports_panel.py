"""The Reports view: export the run's findings as a PDF or HTML report, or its per-video
scores or embeddings as CSV — the same core calls as ``reelscope report`` and
``reelscope export`` — as a writing job with progress and cancel, then open the file.
Below, the reports already in the library's ``reports`` folder (double-click opens)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Optional

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QHeaderView,
                               QLineEdit, QProgressBar, QPushButton, QSizePolicy,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from reelscope.desktop.widgets import EmptyState, Panel, heading, plain_label

# format key -> (label, file extension)
FORMATS = {"pdf": ("PDF report", "pdf"), "html": ("HTML report (opens in a browser)", "html"),
           "csv": ("CSV table", "csv")}
# what a CSV holds (reelscope export --what) -> label
CSV_WHAT = {"scores": "Per-video scores: originality, likes, forecast", "embeddings": "Embeddings"}
KINDS = {".pdf": "PDF report", ".html": "HTML report", ".htm": "HTML report", ".csv": "CSV table",
         ".npz": "NumPy arrays"}
NO_RUN = "No training run yet — Train now"


def open_file(path: Path) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def default_name(fmt: str, what: str, today: Optional[date] = None) -> str:
    """``report-2024-05-01.pdf``, ``scores-2024-05-01.csv``: what it is and when."""
    stem = "report" if fmt in ("pdf", "html") else what
    return f"{stem}-{(today or date.today()).isoformat()}.{FORMATS[fmt][1]}"


def export_job(library_path: Path, fmt: str, what: str, out: Path,
               run_id: Optional[str]) -> Callable[..., Any]:
    """A writing job for a child process (``process_jobs.export_job``): the report or CSV
    into ``out``; returns ``out``, and a cancelled export leaves nothing new behind."""
    import functools

    from reelscope.desktop import process_jobs

    return functools.partial(process_jobs.export_job, library=library_path, fmt=fmt, what=what, out=out,
                             run_id=run_id)


def list_reports(folder: Path) -> list[tuple[str, int, float]]:
    """(name, bytes, modified) of the exports in ``folder``, newest first."""
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        if p.is_file() and p.suffix.lower() in KINDS and not p.name.startswith("."):
            st = p.stat()
            found.append((p.name, st.st_size, st.st_mtime))
    return sorted(found, key=lambda r: (-r[2], r[0]))


def size_text(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return ""


class ReportsPanel(Panel):
    name = "reports"
    title = "Reports"

    def __init__(self, session: Any, jobs: Any, parent: Optional[QWidget] = None) -> None:
        super().__init__(session, jobs, parent)
        self.opener: Callable[[Path], None] = open_file  # tests inject one that opens nothing
        self.job: Any = None
        self._auto_path = True  # the path follows the format until the user edits it

        self.format_box = QComboBox(self)
        for key, (label, _) in FORMATS.items():
            self.format_box.addItem(label, key)
        self.what_box = QComboBox(self)
        for key, label in CSV_WHAT.items():
            self.what_box.addItem(label, key)
        self.path_edit = QLineEdit(self)
        self.path_edit.textEdited.connect(self._on_path_edited)
        choose = QPushButton("Choose…", self)
        choose.clicked.connect(self._on_choose)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(choose)
        self.export_button = QPushButton("Export", self)
        self.export_button.setDefault(True)
        self.export_button.setMinimumWidth(140)
        self.export_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.export_button.clicked.connect(self.export)
        self.progress = QProgressBar(self)
        self.progress.setMinimumWidth(360)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.message = plain_label("", self, wrap=True)
        self.run_note = plain_label("", self, wrap=True)
        self.run_note.setVisible(False)
        actions = QHBoxLayout()
        actions.addWidget(self.export_button)
        actions.addWidget(self.progress)
        actions.addWidget(self.cancel_button)
        actions.addStretch(1)
        form = QFormLayout()
        form.addRow(self.run_note)
        form.addRow("Format", self.format_box)
        form.addRow("Table (CSV)", self.what_box)
        form.addRow("Save as", path_row)
        form.addRow(actions)
        form.addRow(self.message)
        self.format_box.currentIndexChanged.connect(self._on_format_changed)
        self.what_box.currentIndexChanged.connect(self._on_format_changed)

        self.reports = QTreeWidget(self)
        self.reports.setHeaderLabels(["Name", "Kind", "Size", "Modified"])
        self.reports.setUniformRowHeights(True)
        self.reports.setRootIsDecorated(False)
        self.reports.setAlternatingRowColors(True)
        self.reports.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.reports.header().setStretchLastSection(False)
        self.reports.itemDoubleClicked.connect(self._on_report_activated)
        self.reports_note = plain_label("", self)

        page = QWidget(self)
        inner = QVBoxLayout(page)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(heading("Export a report", page))
        inner.addWidget(plain_label("The report sums up what the analysis found: originality and "
                                    "likes, the forecast, hashtags, sounds and the most original "
                                    "videos. A CSV table opens in any spreadsheet.", page, wrap=True))
        form_box = QWidget(page)
        form_box.setLayout(form)
        form_box.setMaximumWidth(900)
        inner.addWidget(form_box)
        inner.addSpacing(12)
        inner.addWidget(heading("Reports in this library", page, 1.15))
        inner.addWidget(self.reports_note)
        inner.addWidget(self.reports, 1)
        self.empty = EmptyState(NO_RUN, "Train now", lambda: self.window().show_view("training"), self)
        self.stack = self.fill_with(page, self.empty)
        self.page = page
        self._on_format_changed()

    # ------------------------------------------------------------------ state
    @property
    def fmt(self) -> str:
        return self.format_box.currentData()

    @property
    def what(self) -> str:
        return self.what_box.currentData()

    def folder(self) -> Optional[Path]:
        return self.session.path / "reports" if self.session.path else None

    def refresh(self) -> None:
        from reelscope.core.query import video_page

        run_id = self.session.run_id
        if self._auto_path:
            self._set_default_path()
        self.load("run", lambda library: video_page(library, run_id, limit=0), self._on_run)
        folder = self.folder()
        if folder is not None:
            self.load("reports", lambda _: list_reports(folder), self._on_reports)

    def _on_run(self, page: Any) -> None:
        if page.run_id is None:
            self.stack.setCurrentWidget(self.empty)
            return
        self.stack.setCurrentWidget(self.page)
        unanalysed = any("analys" in n for n in page.notes)
        self.run_note.setText(f"Run {page.run_id} is not analysed yet: exporting analyses it "
                              "first, which takes a while." if unanalysed else "")
        self.run_note.setVisible(unanalysed)

    def _on_reports(self, rows: list[tuple[str, int, float]]) -> None:
        self.reports.clear()
        for name, size, mtime in rows:
            item = QTreeWidgetItem([name, KINDS.get(Path(name).suffix.lower(), ""), size_text(size),
                                    datetime.fromtimestamp(mtime).strftime("%Y-%m-%d %H:%M")])
            item.setData(0, Qt.ItemDataRole.UserRole, name)
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setSizeHint(0, QSize(0, self.fontMetrics().height() + 10))
            self.reports.addTopLevelItem(item)
        for column, least in ((1, 120), (2, 90), (3, 140)):
            self.reports.resizeColumnToContents(column)
            self.reports.setColumnWidth(column, max(least, self.reports.columnWidth(column) + 16))
        self.reports_note.setText("No reports yet." if not rows else "Double-click one to open it.")

    # ------------------------------------------------------------------- path
    def _set_default_path(self) -> None:
        folder = self.folder()
        if folder is not None:
            self.path_edit.setText(str(folder / default_name(self.fmt, self.what)))

    def _on_format_changed(self) -> None:
        self.what_box.setEnabled(self.fmt == "csv")
        if self._auto_path:
            self._set_default_path()
        else:  # keep the user's name, fix its extension
            text = self.path_edit.text().strip()
            if text:
                self.path_edit.setText(str(Path(text).with_suffix("." + FORMATS[self.fmt][1])))

    def _on_path_edited(self, _: str) -> None:
        self._auto_path = False

    def _on_choose(self) -> None:
        ext = FORMATS[self.fmt][1]
        path, _ = QFileDialog.getSaveFileName(self, "Save the export as", self.path_edit.text(),
                                              f"{ext.upper()} (*.{ext})")
        if path:
            self._auto_path = False
            self.path_edit.setText(path if Path(path).suffix else f"{path}.{ext}")

    # ----------------------------------------------------------------- export
    def export(self) -> None:
        """Start the export as a writing job; when it ends the file is opened."""
        if self.session.path is None:
            return
        text = self.path_edit.text().strip()
        if not text:
            self.message.setText("Choose where to save the file.")
            return
        out = Path(text).expanduser()
        ext = FORMATS[self.fmt][1]
        if out.suffix.lower() != "." + ext:
            out = out.with_suffix("." + ext)
        job = self.jobs.start(f"Exporting {out.name}",
                              export_job(self.session.path, self.fmt, self.what, out, self.session.run_id),
                              writes=True, process=True, on_done=self._on_done, on_cancel=self._on_cancelled,
                              on_error=self._on_error)
        if job is None:
            self.message.setText(f"{self.jobs.writer_busy()} is running; export when it ends.")
            return
        self.job = job
        job.progress.connect(self._on_progress)
        job.ended.connect(self._on_ended)
        self.export_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.message.setText(f"Writing {out}…")

    def cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()

    def _on_progress(self, event: Any) -> None:
        self.message.setText(f"{event.stage}: {event.message}" if event.message else f"{event.stage}…")
        if event.total:
            self.progress.setRange(0, int(event.total))
            self.progress.setValue(min(int(event.done), int(event.total)))

    def _on_done(self, out: Path) -> None:
        self.message.setText(f"Saved {out}")
        self.opener(out)

    def _on_cancelled(self, _: Any) -> None:
        self.message.setText("Cancelled; nothing was written.")

    def _on_error(self, message: str, _: str) -> None:
        self.message.setText(f"The export failed: {message}")

    def _on_ended(self) -> None:
        self.export_button.setEnabled(True)
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        folder = self.folder()
        if folder is not None:
            self.load("reports", lambda _: list_reports(folder), self._on_reports)

    def _on_report_activated(self, item: QTreeWidgetItem) -> None:
        folder = self.folder()
        if folder is not None:
            self.opener(folder / item.data(0, Qt.ItemDataRole.UserRole))
