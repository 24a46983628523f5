"""The Sounds & trends view: which sounds the library's videos reuse (by their audio,
whatever the metadata says), how each one's use moved over time, and the posts whose
metadata calls a reused sound "original" or names another sound.

Everything shown is ``reelscope analyze``'s stored sound analysis
(:class:`~reelscope.core.analytics.results.SoundResult`), read through core's stored-run
loader on the session's query thread; nothing is recomputed here. A sound's full list of
videos comes from the stored per-video ``sound_cluster`` column, because the summary
keeps only its first 20.
"""

from __future__ import annotations

import functools

from dataclasses import dataclass, field
from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QPushButton, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from reelscope.desktop.process_jobs import analyze_job
from reelscope.desktop.widgets import (EmptyState, Gallery, Panel, format_date, heading, likes_text, plain_label,
                                       plain_tooltip)

GALLERY_MAX = 200  # thumbnails shown for one sound; "Open in gallery" gets them all
TREND_COLUMNS = ("Sound", "Uses", "Growth", "First use", "Last use", "Median likes")
MISMATCH_COLUMNS = ("Video", "Author", "Metadata says", "Audio matches", "Why")


@dataclass
class SoundsData:
    """What the view shows, read on the query thread."""

    result: Any = None  # SoundResult, None without an analysis
    note: str = ""  # why there is nothing to show
    has_run: bool = True
    members: dict[int, list[str]] = field(default_factory=dict)  # cluster -> every video id
    videos: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # id -> caption, author, sound


def display_names(trends: list[Any]) -> dict[int, str]:
    """cluster -> the name shown: the group's most common title, else "Unnamed sound
    (N videos)"; a name several groups share (the same song cut differently, so its
    audio is counted apart) gets the group's number too. The report and a video's
    detail say the same (:func:`reelscope.core.analytics.sounds.group_names`)."""
    from reelscope.core.analytics.sounds import group_names

    return group_names(trends)


def growth_text(growth: Optional[float]) -> str:
    """``growth`` is uses in the last third of the sound's span over uses in the first
    third: 1.5 -> "+50 %", 0.5 -> "−50 %"."""
    if growth is None:
        return "—"
    change = round((growth - 1.0) * 100)
    return "±0 %" if change == 0 else f"{change:+d} %".replace("-", "−")


def read_sounds(library: Any, run_id: Optional[str]) -> SoundsData:
    """The stored sound analysis of ``run_id`` with the names the tables need."""
    import numpy as np

    from reelscope.core.query.reader import reader_for
    from reelscope.core.query.stored import stored_run

    stored, why = stored_run(library, reader_for(library), run_id)
    if stored is None:
        return SoundsData(note=why or "", has_run=False)
    if stored.analysis is None:
        return SoundsData(note=stored.note or "")
    result = stored.analysis.result.sounds
    data = SoundsData(result=result)
    labels = stored.analysis.scores.get("sound_cluster")
    ids = stored.analysis.scores["ids"]
    for trend in result.trends or ():
        members = list(trend.video_ids)
        if labels is not None and len(labels) == len(ids):
            known = set(members)
            members += [str(ids[i]) for i in np.flatnonzero(labels == trend.cluster) if str(ids[i]) not in known]
        data.members[trend.cluster] = members
    data.videos = mismatch_videos(library, result.mismatches or [])
    return data


def mismatch_reason(says: str, matches: str, others: Optional[int]) -> str:
    """Why a post is listed, in the sounds' names (core's reason names sound ids); empty
    when the group's size is unknown (core's reason is shown then)."""
    if others is None:
        return ""
    return f"Its metadata says {says}, but the audio is {matches}, heard in {others:,} other videos"


def mismatch_videos(library: Any, mismatches: list[Any]) -> dict[str, tuple[str, str, str]]:
    """id -> (caption, author handle, the sound its metadata names) of mislabelled posts."""
    out = {}
    for m in mismatches:
        try:
            video = library.get(m.id)
        except KeyError:
            continue
        author = (video.author.unique_id or video.author.nickname or video.author.id) if video.author else ""
        sound = (video.sound.title or video.sound.id) if video.sound is not None else ""
        out[m.id] = ((video.description or "").strip(), author, sound)
    return out


def video_facts(library: Any, ids: list[str]) -> dict[str, tuple[str, Optional[int]]]:
    """id -> (author handle, likes) for gallery captions; ids no longer in the library
    are left out (the caption then falls back to the id)."""
    out: dict[str, tuple[str, Optional[int]]] = {}
    for vid in ids:
        try:
            video = library.get(vid)
        except KeyError:
            continue
        author = ""
        if video.author is not None:
            author = video.author.unique_id or video.author.nickname or video.author.id
        out[vid] = (author, video.likes)
    return out


def gallery_caption(vid: str, facts: dict[str, tuple[str, Optional[int]]], first: str = "") -> str:
    """A thumbnail's caption: an optional first line, the author and the likes."""
    author, likes = facts.get(vid, ("", None))
    lines = [first] if first else []
    lines.append(f"@{author}" if author else vid)
    if likes is not None:
        lines.append(f"{likes_text(likes)} likes")
    return "\n".join(lines)


class _Item(QTableWidgetItem):
    """A plain-text cell that sorts by ``key`` (numbers and dates sort as numbers;
    an unknown value sorts below every known one)."""

    def __init__(self, text: str, key: Any = None) -> None:
        super().__init__(text)
        self.key = text.casefold() if key is None else key
        self.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.key, getattr(other, "key", None)
        if a is None or b is None:
            return a is None and b is not None
        if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
            return str(a) < str(b)
        return bool(a < b)


def _number(x: Any) -> Any:
    return None if x is None else float(x)


class SoundsPanel(Panel):
    name = "sounds"
    title = "Sounds & trends"

    def __init__(self, session, jobs, parent=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session, jobs, parent)
        self.data = SoundsData()
        self._trends: dict[int, Any] = {}
        self._names: dict[int, str] = {}
        self.empty = EmptyState()
        self.stack = self.fill_with(self.empty, self._build_content())

    # ------------------------------------------------------------------ layout
    def _build_content(self) -> QWidget:
        content = QWidget(self)
        layout = QVBoxLayout(content)
        layout.addWidget(heading("Sounds & trends", content))
        self.summary = plain_label("", content, wrap=True)
        layout.addWidget(self.summary)

        self.table = QTableWidget(0, len(TREND_COLUMNS), content)
        self.table.setHorizontalHeaderLabels(TREND_COLUMNS)
        self._table_style(self.table)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._on_sound_selected)

        side = QWidget(content)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.gallery_title = plain_label("Select a sound to see its videos", side)
        self.open_button = QPushButton("Open in gallery", side)
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._on_open_gallery)
        row.addWidget(self.gallery_title, 1)
        row.addWidget(self.open_button)
        side_layout.addLayout(row)
        self.gallery = Gallery(self.session, side, thumb=110)
        side_layout.addWidget(self.gallery)

        top = QSplitter(Qt.Orientation.Horizontal, content)
        top.addWidget(self.table)
        top.addWidget(side)
        top.setSizes([620, 560])

        bottom = QWidget(content)
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(heading("Posts whose metadata names the wrong sound", bottom, 1.1))
        self.mismatch_note = plain_label("", bottom, wrap=True)
        bottom_layout.addWidget(self.mismatch_note)
        self.mismatches = QTableWidget(0, len(MISMATCH_COLUMNS), bottom)
        self.mismatches.setHorizontalHeaderLabels(MISMATCH_COLUMNS)
        self._table_style(self.mismatches)
        self.mismatches.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.mismatches.itemSelectionChanged.connect(self._on_mismatch_selected)
        bottom_layout.addWidget(self.mismatches)

        split = QSplitter(Qt.Orientation.Vertical, content)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setSizes([480, 300])
        layout.addWidget(split, 1)
        return content

    @staticmethod
    def _table_style(table: QTableWidget) -> None:
        table.setSortingEnabled(True)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)

    # ------------------------------------------------------------------ data
    def refresh(self) -> None:
        run_id = self.session.run_id
        self.load("sounds", lambda library: read_sounds(library, run_id), self._on_loaded,
                  self._on_load_failed)

    def _on_load_failed(self, message: str, details: str) -> None:
        self._show_empty(f"The sound analysis cannot be read: {message}")

    def _show_empty(self, message: str, action: str = "", on_action: Any = None) -> None:
        self.empty.set_message(message, action, on_action)
        self.stack.setCurrentIndex(0)

    def _on_loaded(self, data: SoundsData) -> None:
        self.data = data
        if not data.has_run:
            self._show_empty("No training run yet — train one to find the sounds your videos reuse.",
                             "Train now", lambda: self.window().show_view("training"))
            return
        if data.result is None:
            self._show_empty("Not analysed yet — the sound trends come from the run's analysis.",
                             "Analyse now", self._on_analyse)
            return
        result = data.result
        if result.error:
            self._show_empty(f"The sounds could not be grouped in the last analysis: {result.error}. "
                             "Analysing again after importing more videos may help.",
                             "Analyse again", self._on_analyse)
            return
        self.stack.setCurrentIndex(1)
        self.summary.setText(self._summary_text(result))
        self._fill_trends(result.trends or [])
        self._fill_mismatches(result)

    @staticmethod
    def _summary_text(result: Any) -> str:
        trends = result.trends or []
        if not trends:
            return "No two videos in the library share a sound (by their audio)."
        mismatches = result.mismatches or []
        counted = result.mislabelled_original is not None  # analyses before it list only the first 50
        originals = result.mislabelled_original if counted else sum(1 for m in mismatches if m.metadata_original)
        total = result.metadata_mismatches if result.metadata_mismatches is not None else len(mismatches)
        reused = result.reused_clusters if result.reused_clusters is not None else len(trends)
        users = result.videos_reusing_a_sound
        text = f"{reused:,} sound{'s are' if reused != 1 else ' is'} reused"
        if users is not None:
            text += f" by {users:,} videos"
        if total:
            text += f"; {total:,} post{'s' if total != 1 else ''} name a different sound than the audio"
            if originals:
                shown = "" if counted or len(mismatches) >= total else f" (of the {len(mismatches)} listed)"
                text += f", {originals:,}{shown} calling a reused sound 'original'"
        if len(trends) < reused:
            text += f". The {len(trends)} most used are listed"
        return text + "."

    def _fill_trends(self, trends: list[Any]) -> None:
        self._trends = {t.cluster: t for t in trends}
        self._names = display_names(trends)
        self.table.setSortingEnabled(False)
        self.table.clearSelection()
        self.table.setRowCount(len(trends))
        for r, t in enumerate(trends):
            name = _Item(self._names[t.cluster])
            name.setData(Qt.ItemDataRole.UserRole, t.cluster)
            if not t.title:
                name.setToolTip("The metadata gives this sound no title; its videos share the same audio.")
            elif self._names[t.cluster] != t.title:
                name.setToolTip("Several groups of videos carry this title; their audio differs enough "
                                "(another cut or version) to be counted apart.")
            growth = _Item(growth_text(t.growth), _number(t.growth))
            growth.setToolTip(
                f"{t.uses_first_third} uses in the first third of its span, {t.uses_last_third} in the last"
                if t.growth is not None else "Too few dated uses to tell a trend")
            cells = [name, _Item(f"{t.n_videos:,}", t.n_videos), growth,
                     _Item(format_date(t.first_use), t.first_use), _Item(format_date(t.last_use), t.last_use),
                     _Item(likes_text(t.median_likes), _number(t.median_likes))]
            for c, item in enumerate(cells):
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(True)
        self.table.sortItems(1, Qt.SortOrder.DescendingOrder)  # the most used first, as core lists them
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        if trends:
            self.table.selectRow(0)
        else:
            self.gallery.set_items([])
            self.gallery_title.setText("No reused sounds")
            self.open_button.setEnabled(False)

    def _fill_mismatches(self, result: Any) -> None:
        mismatches = result.mismatches or []
        self.mismatches.setSortingEnabled(False)
        self.mismatches.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # core's order
        self.mismatches.setRowCount(len(mismatches))
        for r, m in enumerate(mismatches):
            caption, author, sound = self.data.videos.get(m.id, ("", "", ""))
            video = _Item(caption[:80] or m.id)
            video.setData(Qt.ItemDataRole.UserRole, m.id)
            video.setToolTip(plain_tooltip(f"{m.id}\n{caption}" if caption else m.id))
            says = "original sound" if m.metadata_original else (sound or m.metadata_sound or "no sound")
            trend = self._trends.get(m.cluster)
            matches = self._names[trend.cluster] if trend else (m.audio_sound or f"Unnamed sound #{m.cluster}")
            reason = mismatch_reason(says, matches, trend.n_videos - 1 if trend else None) or m.reason
            why = _Item(reason)
            why.setToolTip(plain_tooltip(m.reason))
            for c, item in enumerate([video, _Item(author), _Item(says), _Item(matches), why]):
                self.mismatches.setItem(r, c, item)
        self.mismatches.setSortingEnabled(True)
        self.mismatches.resizeColumnsToContents()
        for c in range(4):
            self.mismatches.setColumnWidth(c, min(self.mismatches.columnWidth(c), 260))
        self.mismatches.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        total = result.metadata_mismatches or len(mismatches)
        if not mismatches:
            self.mismatch_note.setText("Every post's metadata agrees with its audio.")
        elif total > len(mismatches):
            self.mismatch_note.setText(f"The first {len(mismatches)} of {total:,} are listed.")
        else:
            self.mismatch_note.setText("Their audio matches a sound other videos use; the metadata says otherwise.")

    # ------------------------------------------------------------------ slots
    def selected_cluster(self) -> Optional[int]:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)

    def _on_sound_selected(self) -> None:
        cluster = self.selected_cluster()
        trend = self._trends.get(cluster) if cluster is not None else None
        if trend is None:
            return
        ids = self.data.members.get(cluster, list(trend.video_ids))
        shown = f"{len(ids):,} video{'s' if len(ids) != 1 else ''}"
        if len(ids) > GALLERY_MAX:
            shown = f"the first {GALLERY_MAX} of {len(ids):,} videos"
        self.gallery_title.setText(f"{self._names[cluster]}: {shown}, oldest first")
        self.open_button.setEnabled(bool(ids))
        ids = ids[:GALLERY_MAX]
        self.load("gallery", lambda library: video_facts(library, ids),
                  lambda facts: self.gallery.set_items([(v, gallery_caption(v, facts)) for v in ids]))

    def _on_open_gallery(self) -> None:
        cluster = self.selected_cluster()
        trend = self._trends.get(cluster) if cluster is not None else None
        if trend is not None:
            self.session.show_gallery(f"Videos using {self._names[cluster]}",
                                      self.data.members.get(cluster, list(trend.video_ids)))

    def _on_mismatch_selected(self) -> None:
        rows = self.mismatches.selectionModel().selectedRows()
        if rows:
            self.session.select(self.mismatches.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole))

    def _on_analyse(self) -> None:
        from pathlib import Path

        path, run_id = Path(self.session.path), self.session.run_id

        run = functools.partial(analyze_job, library=path, run_id=run_id)
        if self.jobs.start("Analysing", run, writes=True, process=True) is None:
            self.session.status_message.emit(f"{self.jobs.writer_busy()} is running; analyse when it ends")
