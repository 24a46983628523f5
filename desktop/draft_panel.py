"""The Check a draft view: a marketer drops the videos they are about to post and sees,
for each, the like forecast with its interval and core's explanation, how original it is
against the library, which hashtags fit it (with the evidence) and which library videos
it resembles — several drafts side by side, so they can choose which to post.

The forecast is core's :func:`~reelscope.core.analytics.predict.predict_files`, the
function ``reelscope predict`` calls, run as a job on a worker thread (it decodes and
embeds the files: seconds to minutes). It opens its own writable ``Library`` because a
run whose analysis is missing or stale gets analysed first, and ``Add to library``
imports the drafts; both writes happen under core's library lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QProgressBar, QPushButton, QSpinBox, QSplitter,
                               QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from reelscope.desktop.sounds_panel import gallery_caption, video_facts
from reelscope.desktop.widgets import (EmptyState, Gallery, Panel, heading, likes_text, plain_label,
                                       plain_tooltip)

COLUMNS = ("Draft", "Forecast likes", "Likely range", "Originality", "Top hashtags", "Status")
STAT_MAX = 2_000_000_000  # a spin box holds an int32
UNKNOWN = -1  # a spin box at its minimum means "not given"
TOP_TAGS = 3


# ------------------------------------------------------------------ plain data
@dataclass
class Draft:
    """One dropped file and what the last check said about it."""

    path: str
    result: Optional[dict[str, Any]] = None  # predict_files' dict for this file
    added: Optional[str] = None  # the library id once added

    @property
    def error(self) -> Optional[str]:
        return self.result.get("error") if self.result else None

    @property
    def checked(self) -> bool:
        return self.result is not None and self.error is None


@dataclass(frozen=True)
class AuthorChoice:
    """A library author whose statistics can stand in for the draft's author."""

    id: str
    handle: str
    followers: Optional[int]
    following: Optional[int]
    hearts: Optional[int]
    videos: Optional[int]

    def label(self) -> str:
        reach = f"{likes_text(self.followers)} followers" if self.followers is not None else "followers unknown"
        return f"@{self.handle} — {reach}"


@dataclass
class DraftState:
    """What the view needs to know before a check: is there a run, is it analysed."""

    has_run: bool = False
    analysed: bool = False
    note: str = ""
    authors: list[AuthorChoice] = field(default_factory=list)


def read_state(library: Any, run_id: Optional[str]) -> DraftState:
    """The run the check would use and the library's authors (most followed first)."""
    from reelscope.core.query.reader import reader_for
    from reelscope.core.query.stored import stored_run

    reader = reader_for(library)
    stored, why = stored_run(library, reader, run_id)
    with reader.lock:
        rows = reader.conn.execute(
            "SELECT id, unique_id, nickname, followers, following, hearts, video_count FROM authors "
            "WHERE id IN (SELECT author_id FROM posts) "
            "ORDER BY followers IS NULL, followers DESC, id LIMIT 2000").fetchall()
    authors = [AuthorChoice(r[0], r[1] or r[2] or r[0], *r[3:]) for r in rows]
    if stored is None:
        return DraftState(False, False, why or "", authors)
    return DraftState(True, stored.analysis is not None, stored.note or "", authors)


def predict_job(library_path: Path, files: Sequence[str], run_id: Optional[str],
                author: dict[str, Optional[int]], add: bool) -> Callable[..., Any]:
    """A job for a child process (``process_jobs.predict_job``, torch stays out of the
    window): core's predict on ``files``; returns (results, analysed)."""
    import functools

    from reelscope.desktop import process_jobs

    return functools.partial(process_jobs.predict_job, library=library_path, files=list(files), run_id=run_id,
                             author=dict(author), add=add)


def split_tags(tags: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(topical, generic): core marks tags most of the library uses (#fyp) as generic."""
    return [t for t in tags if not t.get("generic")], [t for t in tags if t.get("generic")]


def hashtags_text(tags: Sequence[dict[str, Any]]) -> str:
    """What "Copy hashtags" puts on the clipboard: topical tags first, then generic ones."""
    topical, generic = split_tags(tags)
    return " ".join("#" + t["tag"] for t in topical + generic)


def hashtag_evidence(tag: dict[str, Any]) -> str:
    """Why a tag is suggested, from the numbers core gives with it."""
    n = int(tag.get("similar_videos") or 0)
    parts = [f"{n} similar video{'s' if n != 1 else ''} use{'s' if n == 1 else ''} it"]
    if tag.get("median_likes") is not None:
        parts.append(f"their median is {likes_text(tag['median_likes'])} likes")
    sound = int(tag.get("sound_videos") or 0)
    if sound:
        parts.append(f"{sound} video{'s' if sound != 1 else ''} on the same sound use{'s' if sound == 1 else ''} it")
    author = int(tag.get("author_videos") or 0)
    if author:
        parts.append(f"the author used it {author} time{'s' if author != 1 else ''}")
    if tag.get("lift") is not None and tag.get("share") is not None:
        parts.append(f"{tag['lift']:.1f}× as likely as on an average library video "
                     f"({tag['share'] * 100:.0f} % use it)")
    if tag.get("used"):
        parts.append("already in the draft's caption")
    return "; ".join(parts)


def _cell(text: str, right: bool = False, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
    if right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if tip:
        item.setToolTip(plain_tooltip(tip))
    return item


# ------------------------------------------------------------------------ view
class DraftPanel(Panel):
    name = "draft"
    title = "Check a draft"

    def __init__(self, session, jobs, parent=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session, jobs, parent)
        self.drafts: list[Draft] = []
        self.state: Optional[DraftState] = None
        self.job: Any = None
        self._check_wanted = False  # a check asked for before the run's state was read
        self.setAcceptDrops(True)
        self.outer = QStackedWidget(self)
        self.no_run = EmptyState("No training run yet — Train now", "Train now",
                                 lambda: self.window().show_view("training"))
        self.outer.addWidget(self.no_run)
        self.outer.addWidget(self._build_main())
        layout = QVBoxLayout(self)
        layout.addWidget(self.outer)
        self._update_buttons()

    # ------------------------------------------------------------------ layout
    def _build_main(self) -> QWidget:
        main = QWidget(self)
        layout = QVBoxLayout(main)
        layout.addWidget(heading("Check a draft", main))
        self.note = plain_label("Drop the videos you are about to post to forecast their likes, "
                                "see how original they are and which hashtags fit.", main, wrap=True)
        layout.addWidget(self.note)

        buttons = QHBoxLayout()
        self.choose_button = QPushButton("Choose videos…", main)
        self.check_button = QPushButton("Check", main)
        self.check_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", main)
        self.add_button = QPushButton("Add to library", main)
        self.add_button.setToolTip("Import the checked drafts into the library, with their embeddings")
        self.remove_button = QPushButton("Remove from list", main)
        self.choose_button.clicked.connect(self.choose_files)
        self.check_button.clicked.connect(self.check)
        self.cancel_button.clicked.connect(self._on_cancel)
        self.add_button.clicked.connect(self.add_to_library)
        self.remove_button.clicked.connect(self._on_remove)
        for b in (self.choose_button, self.check_button, self.cancel_button, self.add_button, self.remove_button):
            buttons.addWidget(b)
        self.progress = QProgressBar(main)
        self.progress.setVisible(False)
        self.progress_label = plain_label("", main)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.progress_label, 2)
        layout.addLayout(buttons)
        layout.addWidget(self._build_author(main))

        self.drop_hint = EmptyState("Drop videos here or Choose videos…", "Choose videos…", self.choose_files)
        self.table = QTableWidget(0, len(COLUMNS), main)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._on_row_selected)

        split = QSplitter(Qt.Orientation.Vertical, main)
        split.addWidget(self.table)
        split.addWidget(self._build_details(split))
        split.setSizes([130, 560])
        self.inner = QStackedWidget(main)
        self.inner.addWidget(self.drop_hint)
        self.inner.addWidget(split)
        layout.addWidget(self.inner, 1)
        return main

    def _build_author(self, parent: QWidget) -> QWidget:
        box = QGroupBox("The drafts' author", parent)
        row = QHBoxLayout(box)
        self.author_combo = QComboBox(box)
        self.author_combo.setMinimumContentsLength(24)
        self.author_combo.setToolTip("Use the statistics of an author already in the library")
        self.author_combo.addItem("Enter the numbers", None)
        self.author_combo.currentIndexChanged.connect(self._on_author_picked)
        row.addWidget(self.author_combo)
        self.spins: dict[str, QSpinBox] = {}
        for key, label in (("followers", "Followers"), ("following", "Following"),
                           ("hearts", "Total likes"), ("videos", "Videos")):
            spin = QSpinBox(box)
            spin.setRange(UNKNOWN, STAT_MAX)
            spin.setValue(UNKNOWN)
            spin.setSpecialValueText("unknown")
            spin.setGroupSeparatorShown(True)
            spin.setMinimumWidth(110)
            spin.valueChanged.connect(self._on_stat_edited)
            row.addWidget(QLabel(label, box))
            row.addWidget(spin)
            self.spins[key] = spin
        row.addStretch(1)
        return box

    def _build_details(self, parent: QWidget) -> QWidget:
        details = QWidget(parent)
        layout = QVBoxLayout(details)
        layout.setContentsMargins(0, 4, 0, 0)
        self.detail_title = heading("", details, 1.15)
        self.explanation = plain_label("", details, wrap=True, selectable=True)
        self.originality = plain_label("", details, wrap=True)
        self.warnings = plain_label("", details, wrap=True)
        for w in (self.detail_title, self.explanation, self.originality, self.warnings):
            layout.addWidget(w)

        tags = QWidget(details)
        tags_layout = QVBoxLayout(tags)
        tags_layout.setContentsMargins(0, 0, 0, 0)
        tags_head = QHBoxLayout()
        tags_head.addWidget(heading("Suggested hashtags", tags, 1.05), 1)
        self.copy_button = QPushButton("Copy hashtags", tags)
        self.copy_button.clicked.connect(self.copy_hashtags)
        tags_head.addWidget(self.copy_button)
        tags_layout.addLayout(tags_head)
        self.tag_table = QTableWidget(0, 2, tags)
        self.tag_table.setHorizontalHeaderLabels(("Hashtag", "Why"))
        self.tag_table.verticalHeader().setVisible(False)
        self.tag_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tag_table.setWordWrap(True)
        self.tag_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        tags_layout.addWidget(self.tag_table, 1)
        self.generic = plain_label("", tags, wrap=True)
        tags_layout.addWidget(self.generic)

        similar = QWidget(details)
        similar_layout = QVBoxLayout(similar)
        similar_layout.setContentsMargins(0, 0, 0, 0)
        similar_layout.addWidget(heading("Most similar library videos", similar, 1.05))
        self.gallery = Gallery(self.session, similar, thumb=110)
        similar_layout.addWidget(self.gallery, 1)

        side = QSplitter(Qt.Orientation.Horizontal, details)
        side.addWidget(tags)
        side.addWidget(similar)
        side.setSizes([560, 560])
        layout.addWidget(side, 1)
        return details

    # ------------------------------------------------------------------- state
    def busy(self) -> bool:
        return super().busy() or self.job is not None or self._check_wanted

    def refresh(self) -> None:
        run_id = self.session.run_id
        self.load("state", lambda library: read_state(library, run_id), self._on_state)

    def _on_state(self, state: DraftState) -> None:
        self.state = state
        self.outer.setCurrentIndex(1 if state.has_run else 0)
        if state.has_run and not state.analysed:
            self.note.setText("The run has not been analysed yet (or the library changed since); "
                              "the first check analyses it, which takes a few minutes.")
        self._fill_authors(state.authors)
        self._update_buttons()
        if self._check_wanted:
            self._check_wanted = False
            if state.has_run:
                self.check()

    def _fill_authors(self, authors: list[AuthorChoice]) -> None:
        current = self.author_combo.currentData()
        self.author_combo.blockSignals(True)
        self.author_combo.clear()
        self.author_combo.addItem("Enter the numbers", None)
        for a in authors:
            self.author_combo.addItem(a.label(), a)
        keep = next((i for i in range(1, self.author_combo.count())
                     if current is not None and self.author_combo.itemData(i).id == current.id), 0)
        self.author_combo.setCurrentIndex(keep)
        self.author_combo.blockSignals(False)

    def author_stats(self) -> dict[str, Optional[int]]:
        """The statistics a check uses (None: not given), as predict_files takes them."""
        return {k: (s.value() if s.value() != UNKNOWN else None) for k, s in self.spins.items()}

    def _on_author_picked(self, index: int) -> None:
        author = self.author_combo.itemData(index)
        if author is None:
            return
        values = {"followers": author.followers, "following": author.following,
                  "hearts": author.hearts, "videos": author.videos}
        for key, spin in self.spins.items():
            spin.blockSignals(True)
            value = values[key]
            spin.setValue(UNKNOWN if value is None else min(int(value), STAT_MAX))
            spin.blockSignals(False)

    def _on_stat_edited(self) -> None:
        # typed numbers are no longer that author's
        if self.author_combo.currentIndex() != 0:
            self.author_combo.blockSignals(True)
            self.author_combo.setCurrentIndex(0)
            self.author_combo.blockSignals(False)

    def _update_buttons(self) -> None:
        running = self.job is not None
        ready = self.state is not None and self.state.has_run
        todo = [d for d in self.drafts if d.added is None]
        self.choose_button.setEnabled(not running)
        self.check_button.setEnabled(ready and not running and bool(todo))
        self.cancel_button.setVisible(running)
        self.add_button.setEnabled(ready and not running and any(d.checked and d.added is None for d in self.drafts))
        self.remove_button.setEnabled(not running and bool(self.table.selectionModel().selectedRows()))
        self.progress.setVisible(running)
        self.inner.setCurrentIndex(1 if self.drafts else 0)

    # ------------------------------------------------------------------ drafts
    def show_file(self, path: str) -> None:
        """``--file``: add ``path`` and check it at once (a screenshot waits for the result)."""
        self.add_files([path])
        self.check()

    def add_files(self, paths: Sequence[str | Path]) -> None:
        """Add files (folders: the videos in them) to the drafts; already listed ones are kept once."""
        from reelscope.core.ingest.importer import find_media

        known = {d.path for d in self.drafts}
        for p in paths:
            p = Path(p)
            for f in (find_media(p) if p.is_dir() else [p]):
                key = str(f.absolute())
                if key not in known:
                    known.add(key)
                    self.drafts.append(Draft(key))
        self._fill_table()

    def choose_files(self) -> None:
        from reelscope.core.ingest.importer import VIDEO_EXTENSIONS

        pattern = " ".join(f"*{e}" for e in sorted(VIDEO_EXTENSIONS))
        files, _ = QFileDialog.getOpenFileNames(self, "Choose draft videos", "",
                                                f"Videos ({pattern});;All files (*)")
        if files:
            self.add_files(files)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_files(paths)

    def _on_remove(self) -> None:
        rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        self.drafts = [d for i, d in enumerate(self.drafts) if i not in rows]
        self._fill_table()

    # ------------------------------------------------------------------- jobs
    def check(self) -> None:
        """Forecast every draft not yet in the library, with the author statistics shown."""
        if self.job is not None:
            return
        if self.state is None:  # the run's state is still being read
            self._check_wanted = True
            return
        files = [d.path for d in self.drafts if d.added is None]
        if not files or not self.state.has_run:
            return
        self._start("Checking drafts", files, add=False)

    def add_to_library(self) -> None:
        """Import the checked drafts (predict_files with add=True keeps their embeddings)."""
        files = [d.path for d in self.drafts if d.checked and d.added is None]
        if files and self.job is None:
            self._start("Adding drafts to the library", files, add=True)

    def _start(self, title: str, files: list[str], add: bool) -> None:
        fn = predict_job(Path(self.session.path), files, self.session.run_id, self.author_stats(), add)
        job = self.jobs.start(title, fn, writes=add, process=True, on_done=lambda out: self._on_results(out, add),
                              on_error=self._on_failed)
        if job is None:
            self.progress_label.setText(f"{self.jobs.writer_busy()} is running; try again when it ends")
            return
        self.job = job
        job.progress.connect(self._on_progress)
        job.ended.connect(self._on_ended)
        self.progress.setRange(0, 0)
        self.progress_label.setText(title + "…")
        self._update_buttons()

    def _on_progress(self, event: Any) -> None:
        if event.total:
            self.progress.setRange(0, int(event.total))
            self.progress.setValue(min(int(event.done), int(event.total)))
        else:
            self.progress.setRange(0, 0)
        self.progress_label.setText(f"{event.stage}: {event.message}" if event.message else event.stage)

    def _on_cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.progress_label.setText("Cancelling…")

    def _on_ended(self) -> None:
        outcome = self.job.outcome if self.job is not None else None
        self.job = None
        if outcome == "cancelled":
            self.progress_label.setText("Cancelled; nothing was changed")
        self._update_buttons()

    def _on_failed(self, message: str, details: str) -> None:
        self.progress_label.setText("")
        self.note.setText(f"The check failed: {message}")

    def _on_results(self, out: tuple[list[dict[str, Any]], bool], added: bool) -> None:
        results, analysed = out
        by_file = {r["file"]: r for r in results}
        for d in self.drafts:
            r = by_file.get(d.path)
            if r is None:
                continue
            d.result = r
            if added and "error" not in r and r.get("id") and \
                    not any(w.startswith("not added") for w in r.get("warnings", [])):
                d.added = r["id"]
        ok = sum(1 for r in results if "error" not in r)
        if added:
            n = sum(1 for d in self.drafts if d.added and d.path in by_file)
            self.progress_label.setText(f"Added {n} of {len(results)} draft{'s' if len(results) != 1 else ''} "
                                        "to the library")
        else:
            self.progress_label.setText(f"Checked {ok} of {len(results)} draft{'s' if len(results) != 1 else ''}")
        selected = self.selected_row()
        self._fill_table()
        self.table.selectRow(selected if selected is not None else 0)
        if added or analysed:
            self.session.notify_changed()

    # ----------------------------------------------------------------- showing
    def selected_row(self) -> Optional[int]:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def _fill_table(self) -> None:
        self.table.setRowCount(len(self.drafts))
        for row, d in enumerate(self.drafts):
            r = d.result or {}
            likes = r.get("likes")
            topical, generic = split_tags(r.get("hashtags") or [])
            cells = [_cell(Path(d.path).name, tip=d.path),
                     _cell(likes_text(likes["forecast"]) if likes else "—", right=True),
                     _cell(f"{likes_text(likes['low'])}–{likes_text(likes['high'])}" if likes else "—", right=True),
                     _cell(f"{r['originality']:.0f} / 100" if "originality" in r else "—", right=True),
                     _cell(" ".join("#" + t["tag"] for t in (topical or generic)[:TOP_TAGS])),
                     _cell(self._status(d), tip=d.error or "")]
            for c, item in enumerate(cells):
                self.table.setItem(row, c, item)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(0, min(self.table.columnWidth(0), 320))
        self.table.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self._update_buttons()
        if not self.drafts:
            self._show_details(None)

    @staticmethod
    def _status(d: Draft) -> str:
        if d.error:
            return f"Cannot check: {d.error}"
        if d.added:
            return f"In the library as {d.added}"
        if d.result is None:
            return "Not checked yet"
        warnings = d.result.get("warnings") or []
        return "Checked" + (f" ({'; '.join(warnings)})" if warnings else "")

    def _on_row_selected(self) -> None:
        row = self.selected_row()
        self._show_details(self.drafts[row] if row is not None and row < len(self.drafts) else None)
        self._update_buttons()

    def _show_details(self, d: Optional[Draft]) -> None:
        r = d.result if d is not None else None
        self.detail_title.setText(Path(d.path).name if d is not None else "")
        self.warnings.setText("")
        self.tag_table.setRowCount(0)
        self.generic.setText("")
        self.copy_button.setEnabled(False)
        if d is None or r is None or d.error:
            self.explanation.setText(("This file cannot be checked: " + d.error) if d is not None and d.error
                                     else "Press Check to forecast this draft." if d is not None else "")
            self.originality.setText("")
            self.gallery.set_items([])
            return
        likes = r.get("likes")
        self.explanation.setText(likes["explanation"]["text"] if likes else
                                 "No like forecast: the run's analysis has no forecast model "
                                 "(it needs more videos with known likes).")
        reasons = r.get("originality_reasons")
        self.originality.setText(f"Originality {r['originality']:.0f} / 100 — higher means fewer "
                                 "library videos look and sound like it." + (f" {reasons}" if reasons else ""))
        if r.get("warnings"):
            self.warnings.setText("Note: " + "; ".join(r["warnings"]))
        self._show_tags(r.get("hashtags") or [])
        self._show_similar(r.get("similar") or [])

    def _show_tags(self, tags: list[dict[str, Any]]) -> None:
        topical, generic = split_tags(tags)
        self.tag_table.setRowCount(len(topical))
        for row, t in enumerate(topical):
            self.tag_table.setItem(row, 0, _cell("#" + t["tag"]))
            evidence = hashtag_evidence(t)
            self.tag_table.setItem(row, 1, _cell(evidence, tip=evidence))
        self.tag_table.resizeColumnToContents(0)
        self.tag_table.resizeRowsToContents()
        if generic:
            self.generic.setText("Generic tags (most of the library uses them; they say little about "
                                 "the topic): " + " ".join("#" + t["tag"] for t in generic))
        elif not topical:
            self.generic.setText("No hashtag suggestions: the run's analysis has no hashtag model.")
        self.copy_button.setEnabled(bool(tags))

    def copy_hashtags(self) -> None:
        row = self.selected_row()
        if row is None or not self.drafts[row].checked:
            return
        text = hashtags_text(self.drafts[row].result.get("hashtags") or [])  # type: ignore[union-attr]
        QGuiApplication.clipboard().setText(text)
        self.session.status_message.emit(f"Copied {text.count('#')} hashtags")

    def _show_similar(self, similar: list[dict[str, Any]]) -> None:
        ids = [s["id"] for s in similar]
        scores = {s["id"]: s["score"] for s in similar}

        def show(facts: dict[str, tuple[str, Optional[int]]]) -> None:
            self.gallery.set_items([(v, gallery_caption(v, facts, f"{scores[v]:.2f} similar")) for v in ids])

        self.gallery.set_items([])
        if ids:
            self.load("similar", lambda library: video_facts(library, ids), show)
