"""Importing from the window: the dialog (folder, optional metadata file, and where a new
library goes), the job that runs core's importer, and the readable list of what failed.
Also the demo build, which is generation followed by the same import."""

from __future__ import annotations

import functools

from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLineEdit, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from reelscope.desktop import process_jobs
from reelscope.desktop.widgets import plain_label


def import_job(library_path: Path, folders: Sequence[Path], files: Sequence[Path],
               metadata: Optional[Path], create: bool, file_timeout: float) -> Callable[..., Any]:
    """The import as a job for a child process (``process_jobs.import_job``)."""
    return functools.partial(process_jobs.import_job, library=Path(library_path), folders=list(folders),
                             files=list(files), metadata=metadata, create=create, file_timeout=file_timeout)


def build_demo_job(root: Path, videos: int, seed: int = 0, drafts: int = 5) -> Callable[..., Any]:
    """Generating and importing the demo library, as a job for a child process."""
    return functools.partial(process_jobs.build_demo_job, root=Path(root), videos=videos, seed=seed, drafts=drafts)


class ImportDialog(QDialog):
    """Choose what to import; on OK the import runs as a job and this dialog closes."""

    def __init__(self, session: Any, jobs: Any, window: Any, create: bool = False,
                 paths: Optional[Sequence[Path]] = None) -> None:
        super().__init__(window)
        self.session, self.jobs, self.main = session, jobs, window
        self.create = create
        self.setWindowTitle("Create a library from a folder" if create else "Import videos")
        self.setMinimumWidth(640)
        form = QFormLayout(self)
        paths = [Path(p) for p in (paths or [])]
        self.folders = [p for p in paths if p.is_dir()]
        self.files = [p for p in paths if p.is_file()]
        self.source = self._path_row(form, "Videos", "A folder of videos (subfolders included)",
                                     self._choose_folder)
        if self.folders or self.files:
            self.source.setText("; ".join(str(p) for p in self.folders + self.files))
        self.metadata = self._path_row(form, "Metadata file (optional)",
                                       "TikTokApi JSON, Apify-style CSV/JSON or a flat CSV; "
                                       "left empty, a metadata file in the folder is found",
                                       self._choose_metadata)
        self.library = None
        if create:
            self.library = self._path_row(form, "New library folder",
                                          "Where Reelscope keeps its database, thumbnails and runs",
                                          self._choose_library)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.message = plain_label("", self, wrap=True)
        form.addRow(self.message)
        form.addRow(buttons)

    def _path_row(self, form: QFormLayout, label: str, hint: str, choose: Callable[[], None]) -> QLineEdit:
        row = QHBoxLayout()
        edit = QLineEdit(self)
        edit.setPlaceholderText(hint)
        button = QPushButton("Choose…", self)
        button.clicked.connect(choose)
        row.addWidget(edit)
        row.addWidget(button)
        form.addRow(label, row)
        return edit

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of videos")
        if folder:
            self.source.setText(folder)
            self.folders, self.files = [Path(folder)], []
            if self.library is not None and not self.library.text():
                self.library.setText(str(Path(folder).parent / f"{Path(folder).name}-reelscope"))

    def _choose_metadata(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Metadata file", "", "Metadata (*.json *.csv *.jsonl);;All files (*)")
        if path:
            self.metadata.setText(path)

    def _choose_library(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the new library")
        if folder:
            self.library.setText(folder)  # type: ignore[union-attr]

    def _sources(self) -> tuple[list[Path], list[Path]]:
        parts = [Path(p.strip()) for p in self.source.text().split(";") if p.strip()]
        return [p for p in parts if p.is_dir()], [p for p in parts if p.is_file()]

    def accept(self) -> None:
        from reelscope.desktop.settings_dialog import file_timeout

        folders, files = self._sources()
        if not folders and not files:
            self.message.setText("Choose a folder of videos (or drop files on the window).")
            return
        metadata = Path(self.metadata.text().strip()) if self.metadata.text().strip() else None
        if metadata is not None and not metadata.is_file():
            self.message.setText(f"The metadata file {metadata} does not exist.")
            return
        if self.create:
            text = self.library.text().strip() if self.library is not None else ""
            if not text:
                base = folders[0] if folders else files[0].parent
                text = str(base.parent / f"{base.name}-reelscope")
            target = Path(text)
        else:
            target = self.session.path
        start_import(self.main, target, folders, files, metadata, self.create, file_timeout())
        super().accept()


def start_import(window: Any, library_path: Path, folders: Sequence[Path], files: Sequence[Path],
                 metadata: Optional[Path], create: bool, file_timeout: float = 300.0) -> Any:
    """Run the import as a job; at its end open the library (when new) and list what failed."""
    fn = import_job(Path(library_path), folders, files, metadata, create, file_timeout)

    def finished(report: Any) -> None:
        if create and window.session.path != Path(library_path).absolute():
            window.open_library(library_path)
        if report is not None:
            ImportResultDialog(report, window).open()

    job = window.jobs.start("Importing", fn, process=True, on_done=finished, on_cancel=finished)
    if job is None:
        window.statusBar().showMessage(f"{window.jobs.writer_busy()} is running; import when it ends", 8000)
    return job


class ImportResultDialog(QDialog):
    """What an import did, and every file or row that failed with its reason, as text the
    user can select and copy."""

    def __init__(self, report: Any, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import cancelled" if report.cancelled else "Import finished")
        self.setMinimumSize(720, 420)
        layout = QVBoxLayout(self)
        head = (f"{report.new:,} new videos imported, {report.skipped:,} unchanged, "
                f"{report.failed:,} failed in this run. The library now has "
                f"{report.imported_total:,} usable videos.")
        if report.cancelled:
            head = "Cancelled; what finished is kept — import again to do the rest. " + head
        if report.metadata_format:
            head += f" Metadata: {report.metadata_rows:,} rows ({report.metadata_format})."
        layout.addWidget(plain_label(head, self, wrap=True))
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        lines = [_problem_line(p) for p in report.errors]
        if report.notes:
            lines += ["", "Notes:"] + [_problem_line(p) for p in report.notes]
        self.text.setPlainText("\n".join(lines) if lines else "Nothing failed.")
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy the list", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.text.toPlainText()))
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)


def _problem_line(problem: Any) -> str:
    where = f"{problem.path} (row {problem.row})" if problem.row is not None else problem.path
    return f"{where}: {problem.reason}"
