"""The Videos view: the library's table (sortable, filtered by text, author, hashtag,
sound, dates, likes and originality) beside the selected video's detail; import, rescan,
remove and locate moved files."""

from __future__ import annotations

import functools

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, Sequence

from PySide6.QtCore import QDate, QItemSelectionModel, QSize, Qt, QTimer
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDateEdit, QDoubleSpinBox, QFileDialog,
                               QHBoxLayout, QHeaderView, QLineEdit, QMessageBox, QPushButton,
                               QSplitter, QTableView, QVBoxLayout, QWidget)

from reelscope.desktop import process_jobs
from reelscope.desktop.detail_panel import DetailPane
from reelscope.desktop.video_table import COLUMNS, THUMB, TableQuery, VideoTableModel
from reelscope.desktop.widgets import EmptyState, Panel, plain_label

FILTER_DELAY_MS = 250


class LibraryPanel(Panel):
    name = "library"
    title = "Videos"

    def __init__(self, session, jobs, parent=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session, jobs, parent)
        self.model = VideoTableModel(session, self)
        self.model.loaded.connect(self._on_loaded)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addLayout(self._filter_bar())
        outer.addLayout(self._range_bar())

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        left = QWidget(splitter)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.table = QTableView(left)
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(5, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setIconSize(THUMB)
        self.table.verticalHeader().setDefaultSectionSize(THUMB.height() + 4)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # long ids keep both ends
        widths = {"thumb": 48, "id": 125, "author": 110, "followers": 75, "posted_at": 85, "likes": 65,
                  "like_forecast": 75, "originality": 78, "sound": 140, "hashtags": 180, "status": 60}
        for i, col in enumerate(COLUMNS):
            header.resizeSection(i, widths.get(col.key, 100))
        header.setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)
        left_layout.addWidget(self.table)
        self.empty = EmptyState("This library has no videos yet.", "Import videos…", self.import_dialog, left)
        self.empty.setVisible(False)
        left_layout.addWidget(self.empty)
        bottom = QHBoxLayout()
        self.count_label = plain_label("", left)
        bottom.addWidget(self.count_label, 1)
        for text, slot in (("Import…", lambda: self.import_dialog()), ("Rescan folders", self.rescan),
                           ("Find moved files", self.find_missing), ("Remove selected", self.remove_selected)):
            button = QPushButton(text, left)
            button.clicked.connect(slot)
            bottom.addWidget(button)
        left_layout.addLayout(bottom)
        notes_row = QHBoxLayout()
        self.notes = plain_label("", left, wrap=True)
        notes_row.addWidget(self.notes, 1)
        self.train_now = QPushButton("Train now", left)  # no scores until a run has embeddings
        self.train_now.clicked.connect(lambda: self.window().show_view("training"))
        self.train_now.setVisible(False)
        notes_row.addWidget(self.train_now)
        left_layout.addLayout(notes_row)

        self.detail = DetailPane(session, splitter)
        self.detail.remove_requested.connect(lambda vid: self.remove([vid]))
        self.detail.locate_requested.connect(self.locate)
        splitter.addWidget(left)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([760, 480])
        outer.addWidget(splitter, 1)

        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self._apply_filters)
        session.video_selected.connect(self._on_video_selected)
        session.filter_requested.connect(self.set_filters)
        self._shown: Optional[str] = None

    # ------------------------------------------------------------------ filters
    def _filter_bar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search captions, authors, sounds, ids…")
        self.search.setClearButtonEnabled(True)
        self.author = QLineEdit(self)
        self.author.setPlaceholderText("Author (@handle)")
        self.hashtag = QLineEdit(self)
        self.hashtag.setPlaceholderText("#hashtag")
        self.sound = QLineEdit(self)
        self.sound.setPlaceholderText("Sound")
        for w, stretch in ((self.search, 3), (self.author, 1), (self.hashtag, 1), (self.sound, 1)):
            w.textChanged.connect(lambda _=None: self._filter_timer.start())
            row.addWidget(w, stretch)
        clear = QPushButton("Clear filters", self)
        clear.clicked.connect(self.clear_filters)
        row.addWidget(clear)
        return row

    def _range_bar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.use_dates = QCheckBox("Posted from", self)
        self.date_from = QDateEdit(self)
        self.date_to = QDateEdit(self)
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
            d.dateChanged.connect(lambda _=None: self.use_dates.isChecked() and self._filter_timer.start())
        self.date_from.setDate(QDate.currentDate().addYears(-1))
        self.date_to.setDate(QDate.currentDate())
        self.use_dates.toggled.connect(lambda _=None: self._filter_timer.start())
        row.addWidget(self.use_dates)
        row.addWidget(self.date_from)
        row.addWidget(plain_label("to", self))
        row.addWidget(self.date_to)
        row.addSpacing(16)
        self.likes_min, self.likes_max = self._range(row, "Likes", 0, 1e10, 0)
        row.addSpacing(16)
        self.orig_min, self.orig_max = self._range(row, "Originality", 0, 100, 0)
        row.addStretch(1)
        return row

    def _range(self, row: QHBoxLayout, label: str, low: float, high: float, decimals: int) -> tuple[QDoubleSpinBox, QDoubleSpinBox]:
        row.addWidget(plain_label(label, self))
        boxes = []
        for placeholder in ("min", "max"):
            box = QDoubleSpinBox(self)
            box.setRange(low - 1, high)
            box.setDecimals(decimals)
            box.setSpecialValueText("any")  # the lowest value means "no bound"
            box.setValue(low - 1)
            box.setToolTip(f"{label}: {placeholder} (\"any\" = no bound)")
            box.setMinimumWidth(90)
            box.valueChanged.connect(lambda _=None: self._filter_timer.start())
            row.addWidget(box)
            boxes.append(box)
        return boxes[0], boxes[1]

    def current_filters(self) -> dict[str, Any]:
        def bound(box: QDoubleSpinBox) -> Optional[float]:
            return None if box.value() < box.minimum() + 0.5 else box.value()

        def stamp(d: QDateEdit, end: bool) -> int:
            q = d.date()
            day = datetime(q.year(), q.month(), q.day(), tzinfo=timezone.utc).timestamp()
            return int(day + (86399 if end else 0))

        dates = self.use_dates.isChecked()
        return {
            "text": self.search.text().strip() or None, "author": self.author.text().strip() or None,
            "hashtag": self.hashtag.text().strip() or None, "sound": self.sound.text().strip() or None,
            "posted_from": stamp(self.date_from, False) if dates else None,
            "posted_to": stamp(self.date_to, True) if dates else None,
            "likes_min": bound(self.likes_min), "likes_max": bound(self.likes_max),
            "originality_min": bound(self.orig_min), "originality_max": bound(self.orig_max),
        }

    def _apply_filters(self) -> None:
        self.model.set_query(TableQuery(self.model.query.sort, self.model.query.descending).with_filters(
            **self.current_filters()))

    def set_filters(self, filters: dict[str, Any]) -> None:
        """Filters asked for by another view (an author chosen in Authors, a sound...)."""
        self.clear_filters(apply=False)
        for key, edit in (("text", self.search), ("author", self.author), ("hashtag", self.hashtag),
                          ("sound", self.sound)):
            if filters.get(key):
                edit.setText(str(filters[key]))
        self._filter_timer.stop()
        self._apply_filters()

    def clear_filters(self, apply: bool = True) -> None:
        for w in (self.search, self.author, self.hashtag, self.sound):
            w.blockSignals(True)
            w.clear()
            w.blockSignals(False)
        for box in (self.likes_min, self.likes_max, self.orig_min, self.orig_max):
            box.blockSignals(True)
            box.setValue(box.minimum())
            box.blockSignals(False)
        self.use_dates.blockSignals(True)
        self.use_dates.setChecked(False)
        self.use_dates.blockSignals(False)
        if apply:
            self._apply_filters()

    # ------------------------------------------------------------------ loading
    def refresh(self) -> None:
        self.model.reload()
        if not self.use_dates.isChecked():  # the date boxes start at the library's own dates
            from reelscope.core.query import posted_range

            self.load("dates", posted_range, self._set_date_range)
        if self.session.selected:
            self._show_detail(self.session.selected)

    def _set_date_range(self, span: Optional[tuple[int, int]]) -> None:
        if span is None or self.use_dates.isChecked():
            return
        for box, stamp in ((self.date_from, span[0]), (self.date_to, span[1])):
            day = datetime.fromtimestamp(stamp, tz=timezone.utc)
            box.blockSignals(True)
            box.setDate(QDate(day.year, day.month, day.day))
            box.blockSignals(False)

    def busy(self) -> bool:
        return super().busy() or self.model.waiting

    def _on_loaded(self) -> None:
        total = self.model.total
        filtered = any(v is not None for v in self.current_filters().values())
        self.count_label.setText(f"{total:,} videos" + (" match the filters" if filtered else ""))
        untrained = self.model.run_id is None and total > 0
        self.train_now.setVisible(untrained)
        self.notes.setText("No training run yet: originality, forecasts and similar videos appear once "
                           "the library is trained." if untrained else "\n".join(self.model.notes))
        no_videos = total == 0 and not filtered
        self.table.setVisible(not no_videos)
        self.empty.setVisible(no_videos)
        if self.session.selected is None and total and self.model.row_at(0) is not None:
            self.table.selectRow(0)

    def _on_current_row(self, current: Any, _previous: Any) -> None:
        row = self.model.row_at(current.row()) if current.isValid() else None
        if row is not None and row.id != self.session.selected:
            self.session.select(row.id)

    def _on_video_selected(self, video_id: str) -> None:
        if self.isVisible() or self._shown != video_id:
            self._show_detail(video_id)

    def show_video(self, video_id: str) -> None:
        self._show_detail(video_id)

    def _show_detail(self, video_id: str) -> None:
        from reelscope.core.query import video_detail

        self._shown = video_id
        self.load("detail", lambda lib: video_detail(lib, video_id, self.session.run_id, k=12),
                  self.detail.show_detail,
                  lambda message, _: self.detail.show_detail(None) or self.detail.subtitle.setText(message))

    # ------------------------------------------------------------------ actions
    def selected_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [r.id for r in (self.model.row_at(i) for i in rows) if r is not None]

    def import_dialog(self, paths: Optional[Sequence[Path]] = None) -> None:
        from reelscope.desktop.import_dialog import ImportDialog

        ImportDialog(self.session, self.jobs, self.window(), create=False, paths=paths).open()

    def rescan(self) -> None:
        from reelscope.desktop.settings_dialog import file_timeout

        path, limit = self.session.path, file_timeout()
        if path is None:
            return

        run = functools.partial(process_jobs.rescan_job, library=path, file_timeout=limit)

        def done(report: Any) -> None:
            from reelscope.desktop.import_dialog import ImportResultDialog

            if report is None:
                self.session.status_message.emit("No imported folder is known (or none still exists) — "
                                                  "use Import… to add one")
            else:
                ImportResultDialog(report, self).open()

        self.jobs.start("Rescanning", run, process=True, on_done=done, on_cancel=done)

    def remove_selected(self) -> None:
        self.remove(self.selected_ids())

    def remove(self, ids: list[str]) -> None:
        if not ids:
            return
        if not self._confirm(f"Remove {len(ids):,} video(s) from the library?",
                             "The files stay on disk; importing their folder again brings them back."):
            return
        path = self.session.path

        def run(progress: Any, cancel: Any) -> int:
            from reelscope.core.ingest.maintain import remove_videos
            from reelscope.core.store.library import Library

            with Library.open(path) as library:
                return remove_videos(library, ids)

        self.jobs.start("Removing videos", run,
                        on_done=lambda n: self.session.status_message.emit(f"Removed {n:,} videos"))

    def locate(self, video_id: str) -> None:
        found, _ = QFileDialog.getOpenFileName(self, f"Where is {video_id} now?")
        if found:
            self.relocate(video_id, found)

    def relocate(self, video_id: str, new_path: str) -> None:
        path = self.session.path

        def run(progress: Any, cancel: Any) -> str:
            from reelscope.core.ingest.maintain import relocate
            from reelscope.core.store.library import Library

            with Library.open(path) as library:
                return relocate(library, video_id, new_path)

        self.jobs.start("Locating a moved file", run)

    def find_missing(self) -> None:
        def read(library: Any) -> list[tuple[str, str]]:
            from reelscope.core.ingest.maintain import missing_files

            return missing_files(library)

        def show(missing: list[tuple[str, str]]) -> None:
            if not missing:
                self.session.status_message.emit("Every video's file is where it was imported from")
                return
            self.session.show_gallery(f"{len(missing):,} videos whose file has moved or is gone — "
                                      "select one and use “Locate moved file…”", [m[0] for m in missing])

        self.load("missing", read, show)

    def _confirm(self, question: str, detail: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, "Reelscope", question,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setInformativeText(detail)
        box.setTextFormat(Qt.TextFormat.PlainText)
        return box.exec() == QMessageBox.StandardButton.Yes
