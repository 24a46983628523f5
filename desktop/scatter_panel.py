"""The "Originality vs likes" view: every analysed video as a point (x = originality,
y = likes on a log axis), coloured by category, sound, author or follower count, with
the stored Spearman correlation in words above it. Hover shows the video, a click
selects it everywhere, a box or lasso selects many for the gallery or a CSV.

Every number comes from core: the arrays from :func:`reelscope.core.query.scatter_data`,
rho and the sentence from the stored analysis through
:func:`reelscope.core.report.content.originality_finding`. The one computation here is a view
transform — "at equal follower counts" moves each point along the log-likes axis by
the follower effect a straight-line fit finds (:func:`equal_follower_likes`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from reelscope.desktop.scatter_plot import LOD_LIMIT, ScatterCanvas
from reelscope.desktop.widgets import (
    EmptyState,
    Panel,
    heading,
    likes_text,
    plain_label,
)

if TYPE_CHECKING:
    from reelscope.core.analytics.results import OriginalityVsLikes
    from reelscope.core.query.results import ScatterData
    from reelscope.core.store.library import Library

TOP_GROUPS = 10
GALLERY_MAX = 1000
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1",
           "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#17becf")
OTHER_COLOUR = "#9a9aa2"
COLOUR_BY = (("category", "Category"), ("sound", "Sound"), ("author", "Author"), ("followers", "Followers"))
CSV_COLUMNS = ("id", "likes", "originality", "followers", "author", "sound", "category")


@dataclass(frozen=True)
class ScatterView:
    """What the view reads in one query: the arrays, the stored correlation and core's
    sentence about it (None without an analysis)."""

    data: ScatterData
    vs_likes: OriginalityVsLikes | None
    finding: str | None
    likes_equal: np.ndarray | None = None  # float64 [N], see equal_follower_likes
    median_followers: float = float("nan")


def read_scatter(library: Library, run_id: str | None) -> ScatterView:
    """Runs on the query thread: the scatter arrays, the stored analysis' finding and
    the likes at equal follower counts (so the GUI thread only draws)."""
    import matplotlib.path  # noqa: F401 - warm for the first lasso, off the GUI thread
    from reelscope.core.query import scatter_data
    from reelscope.core.query.reader import reader_for
    from reelscope.core.query.stored import stored_run
    from reelscope.core.report.content import originality_finding

    data = scatter_data(library, run_id)
    vs = finding = None
    if data.run_id is not None:
        stored, _ = stored_run(library, reader_for(library), data.run_id)
        if stored is not None and stored.analysis is not None:
            summary = stored.analysis.result
            vs = summary.originality.vs_likes
            finding = originality_finding(summary)
    likes_equal, median = equal_follower_likes(data.likes, data.followers)
    return ScatterView(data, vs, finding, likes_equal, median)


def equal_follower_likes(likes: np.ndarray, followers: np.ndarray) -> tuple[np.ndarray, float]:
    """Likes as if every author had the median follower count: log(1 + likes) minus
    slope x (log(1 + followers) - its median), the slope from a least-squares line of
    log-likes on log-followers — the same "what log followers leave unexplained" that
    core's partial correlation measures. Returns (float64 [N] adjusted likes, NaN where
    either count is unknown; the median follower count)."""
    ll, lf = np.log1p(likes), np.log1p(followers)
    both = np.isfinite(ll) & np.isfinite(lf)
    out = np.full(len(ll), np.nan)
    if not both.any():
        return out, float("nan")
    centre = float(np.median(lf[both]))
    slope = 0.0
    if both.sum() >= 3 and np.ptp(lf[both]) > 0:
        slope = float(np.polyfit(lf[both], ll[both], 1)[0])
    out[both] = np.expm1(ll[both] - slope * (lf[both] - centre))
    return np.maximum(out, 0.0), float(np.expm1(centre))


@dataclass(frozen=True)
class Groups:
    """Colour groups: ``of`` int [N] each video's group, one label and colour each."""

    of: np.ndarray
    labels: tuple[str, ...]
    colours: tuple[QColor, ...]


def code_groups(codes: np.ndarray, names: tuple[str, ...], unknown: str) -> Groups:
    """The :data:`TOP_GROUPS` most used labels (core ranks codes by use), "Other" and
    ``unknown`` (code -1)."""
    top = min(TOP_GROUPS, len(names))
    of = np.where(codes < 0, top + 1, np.minimum(codes, top)).astype(np.int32)
    labels = tuple(names[:top]) + ("Other", unknown)
    colours = tuple(QColor(c) for c in PALETTE[:top]) + (QColor(OTHER_COLOUR), QColor("#6b6b73"))
    return Groups(of, labels, colours)


def follower_groups(followers: np.ndarray) -> Groups:
    """Decades of followers (10–100, 100–1k, …) coloured along viridis, then unknown."""
    import pyqtgraph as pg

    known = np.isfinite(followers)
    decade = np.clip(np.floor(np.log10(np.maximum(np.where(known, followers, 1), 1))), 0, 9).astype(np.int32)
    lo, hi = (int(decade[known].min()), int(decade[known].max())) if known.any() else (0, 0)
    cmap = pg.colormap.get("viridis")
    steps = max(1, hi - lo)
    labels, colours = [], []
    for d in range(lo, hi + 1):
        labels.append(f"{_decade(d)}–{_decade(d + 1)} followers")
        colours.append(cmap.map(0.05 + 0.8 * (d - lo) / steps, mode="qcolor"))
    of = np.where(known, decade - lo, hi - lo + 1).astype(np.int32)
    return Groups(of, tuple(labels) + ("Followers unknown",), tuple(colours) + (QColor(OTHER_COLOUR),))


def _decade(d: int) -> str:
    """10 ** d as people write it in a legend: 100, 1k, 10k, 1M."""
    return f"{10 ** (d - 6)}M" if d >= 6 else f"{10 ** (d - 3)}k" if d >= 3 else f"{10 ** d}"


def swatch(colour: QColor) -> QIcon:
    pix = QPixmap(QSize(12, 12))
    pix.fill(colour)
    return QIcon(pix)


class ScatterPanel(Panel):
    name = "scatter"
    title = "Originality vs likes"

    def __init__(self, session: Any, jobs: Any, parent: QWidget | None = None) -> None:
        super().__init__(session, jobs, parent)
        self.view: ScatterView | None = None
        self.groups: Groups | None = None
        self.hidden: set[int] = set()
        self.selection = np.empty(0, dtype=np.int64)
        self.y_raw = self.y_equal = np.empty(0)
        self.brushes: list[QBrush] = []
        self.median_followers = float("nan")
        self._pending_video: str | None = None
        self._hover = -1

        layout = QVBoxLayout(self)
        self.stack = QStackedWidget(self)
        layout.addWidget(self.stack)
        self.empty = EmptyState("Loading…")
        self.stack.addWidget(self.empty)
        self.page = QWidget(self)
        self.stack.addWidget(self.page)
        page = QVBoxLayout(self.page)
        page.setContentsMargins(0, 0, 0, 0)

        self.area = QWidget(self.page)  # what Export PNG saves: the sentence, plot and legend
        area = QVBoxLayout(self.area)
        area.setContentsMargins(0, 0, 0, 0)
        area.addWidget(heading("Originality vs likes", self.area))
        self.finding = plain_label("", self.area, wrap=True, selectable=True)
        area.addWidget(self.finding)
        area.addLayout(self._build_toolbar())
        split = QSplitter(self.area)
        self.canvas = ScatterCanvas(split)
        legend_box = QWidget(split)
        legend = QVBoxLayout(legend_box)
        legend.setContentsMargins(4, 0, 0, 0)
        self.legend_title = plain_label("", legend_box, wrap=True)
        legend.addWidget(self.legend_title)
        self.legend = QListWidget(legend_box)
        self.legend.setIconSize(QSize(12, 12))
        self.legend.itemChanged.connect(self._on_legend_changed)
        legend.addWidget(self.legend)
        split.addWidget(self.canvas)
        split.addWidget(legend_box)
        split.setStretchFactor(0, 1)
        split.setSizes([900, 230])
        area.addWidget(split, 1)
        self.note = plain_label("", self.area, wrap=True)
        self.note.setForegroundRole(self.note.palette().ColorRole.PlaceholderText)
        area.addWidget(self.note)
        page.addWidget(self.area, 1)
        page.addLayout(self._build_selection_bar())

        self.canvas.hovered.connect(self._on_hovered)
        self.canvas.point_clicked.connect(self._on_point_clicked)
        self.canvas.area_selected.connect(self.set_selection)
        session.video_selected.connect(self._on_video_selected)

    def _build_toolbar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(plain_label("Colour by", self))
        self.colour_by = QComboBox(self)
        for key, text in COLOUR_BY:
            self.colour_by.addItem(text, key)
        self.colour_by.currentIndexChanged.connect(self._on_colour_changed)
        row.addWidget(self.colour_by)
        row.addSpacing(12)
        row.addWidget(plain_label("Likes", self))
        self.likes_mode = QComboBox(self)
        self.likes_mode.addItem("Raw", "raw")
        self.likes_mode.addItem("At equal follower counts", "equal")
        self.likes_mode.setToolTip("Move each video up or down by what its author's follower count "
                                   "explains, as if every author had the median follower count")
        self.likes_mode.currentIndexChanged.connect(self._on_likes_mode_changed)
        row.addWidget(self.likes_mode)
        row.addSpacing(12)
        self.modes = QButtonGroup(self)
        for key, text, tip in (("pan", "Pan && zoom", "Drag to pan, wheel to zoom"),
                               ("box", "Box select", "Drag a box (or Shift-drag in Pan mode)"),
                               ("lasso", "Lasso select", "Draw around points (or Ctrl-drag in Pan mode)")):
            button = QPushButton(text, self)
            button.setCheckable(True)
            button.setToolTip(tip)
            button.setProperty("mode", key)
            button.setChecked(key == "pan")
            self.modes.addButton(button)
            row.addWidget(button)
        self.modes.buttonClicked.connect(lambda b: setattr(self.canvas.vb, "mode", b.property("mode")))
        row.addStretch(1)
        fit = QPushButton("Show all", self)
        fit.clicked.connect(lambda: self.canvas.frame())
        row.addWidget(fit)
        png = QPushButton("Export PNG…", self)
        png.clicked.connect(self._on_export_png)
        row.addWidget(png)
        return row

    def _build_selection_bar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.selection_label = plain_label("", self)
        row.addWidget(self.selection_label)
        self.open_gallery = QPushButton("Open in gallery", self)
        self.open_gallery.clicked.connect(self.open_selection)
        self.export_selection = QPushButton("Export CSV…", self)
        self.export_selection.clicked.connect(self._on_export_csv)
        self.clear_selection = QPushButton("Clear", self)
        self.clear_selection.clicked.connect(lambda: self.set_selection(np.empty(0, dtype=np.int64)))
        for w in (self.open_gallery, self.export_selection, self.clear_selection):
            row.addWidget(w)
        row.addStretch(1)
        self._selection_widgets = (self.selection_label, self.open_gallery, self.export_selection,
                                   self.clear_selection)
        self._show_selection_bar()
        return row

    # ------------------------------------------------------------------ loading
    def refresh(self) -> None:
        run_id = self.session.run_id
        self.load("data", lambda lib: read_scatter(lib, run_id), self._on_loaded,
                  lambda message, _: self.empty.set_message(message))

    def _on_loaded(self, view: ScatterView) -> None:
        data = view.data
        self.view = view
        if data.run_id is None:
            self.empty.set_message("No training run yet — train one to learn what each video looks "
                                   "and sounds like, then see whether originality pays.",
                                   "Train now", lambda: self.window().show_view("training"))
            self.stack.setCurrentWidget(self.empty)
            return
        if not np.isfinite(data.originality).any():
            note = "\n".join(data.notes)
            self.empty.set_message("Not analysed yet." + (f"\n{note}" if note else ""),
                                   "Analyse now", self._on_analyse)
            self.stack.setCurrentWidget(self.empty)
            return
        self.stack.setCurrentWidget(self.page)
        self.y_raw = np.log10(1 + data.likes)
        adjusted, self.median_followers = view.likes_equal, view.median_followers
        if adjusted is None:
            adjusted, self.median_followers = equal_follower_likes(data.likes, data.followers)
        self.y_equal = np.log10(1 + adjusted)
        self.finding.setText(view.finding or "Too few videos with likes to relate originality and likes.")
        self.canvas.set_theme(_dark())
        self._recolour()
        self._plot()
        if self._pending_video:
            self.show_video(self._pending_video)

    def _plot(self) -> None:
        """Coordinates for the current likes mode, drawn with the current colours."""
        data = self.view.data  # type: ignore[union-attr]
        equal = self.likes_mode.currentData() == "equal"
        y = self.y_equal if equal else self.y_raw
        x = data.originality.astype(np.float64)
        n = int((np.isfinite(x) & np.isfinite(y)).sum())
        size = 9.0 if n < 2000 else 6.0 if n < 30_000 else 3.5
        self.canvas.set_points(x, y, self.groups.of, self.brushes, size,  # type: ignore[union-attr]
                               self._groups_shown())
        self.selection = np.empty(0, dtype=np.int64)
        self._show_selection_bar()
        self._fill_legend()
        self._update_note()
        item = self.canvas.getPlotItem()
        item.setLabel("bottom", "Originality (0–100, more original →)")
        if equal:
            item.setLabel("left", "Likes at equal follower counts (log scale)")
        else:
            item.setLabel("left", "Likes (log scale)")

    def _recolour(self) -> None:
        """Groups and one shared brush per group for the "Colour by" choice; every group
        shown again: one shared brush per group, never one per video."""
        data = self.view.data  # type: ignore[union-attr]
        key = self.colour_by.currentData()
        if key == "followers":
            self.groups = follower_groups(data.followers)
        else:
            codes, names = {"category": (data.category_codes, data.categories),
                            "sound": (data.sound_codes, data.sounds),
                            "author": (data.author_codes, data.authors)}[key]
            unknown = {"category": "No category" if data.category_field == "category" else "No hashtag",
                       "sound": "No sound", "author": "Author unknown"}[key]
            self.groups = code_groups(codes, names, unknown)
        self.hidden = set()
        alpha = 220 if len(data) < 2000 else 150 if len(data) < 30_000 else 90
        self.brushes = []
        for colour in self.groups.colours:
            c = QColor(colour)
            c.setAlpha(alpha)
            self.brushes.append(QBrush(c))

    def _groups_shown(self) -> np.ndarray:
        """bool [N]: the video's colour group is not hidden in the legend."""
        assert self.groups is not None
        if not self.hidden:
            return np.ones(len(self.groups.of), dtype=bool)
        return ~np.isin(self.groups.of, list(self.hidden))

    def _fill_legend(self) -> None:
        """One checkable row per non-empty group, with its count among the plotted points."""
        groups = self.groups
        assert groups is not None
        plotted = np.isfinite(self.canvas.xs) & np.isfinite(self.canvas.ys)
        counts = np.bincount(groups.of[plotted], minlength=len(groups.labels))
        what = self.colour_by.currentText()
        if self.colour_by.currentData() == "category" and self.view.data.category_field == "first_hashtag":  # type: ignore[union-attr]
            what = "First hashtag"
        self.legend_title.setText(f"{what} — click to hide or show")
        self.legend.blockSignals(True)
        self.legend.clear()
        for g, label in enumerate(groups.labels):
            if counts[g] == 0:
                continue
            item = QListWidgetItem(swatch(groups.colours[g]), f"{label} ({counts[g]:,})")
            item.setData(Qt.ItemDataRole.UserRole, g)
            item.setToolTip(label)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if g in self.hidden else Qt.CheckState.Checked)
            self.legend.addItem(item)
        self.legend.blockSignals(False)

    def _update_note(self) -> None:
        data = self.view.data  # type: ignore[union-attr]
        plotted = int((np.isfinite(self.canvas.xs) & np.isfinite(self.canvas.ys)).sum())
        parts = [f"{plotted:,} of {len(data):,} videos plotted"]
        no_likes = int((~np.isfinite(data.likes)).sum())
        if no_likes:
            parts.append(f"{no_likes:,} have no like count")
        if self.likes_mode.currentData() == "equal":
            parts.append(f"likes shown as if every author had {likes_text(self.median_followers)} followers "
                         "(the median)")
            no_followers = int((np.isfinite(data.likes) & ~np.isfinite(data.followers)).sum())
            if no_followers:
                parts.append(f"{no_followers:,} without a follower count are left out")
        if self.canvas._lod_active:
            parts.append(f"drawing a sample of {LOD_LIMIT:,} of the points in view — zoom in for every point")
        parts.append("Shift-drag: box select · Ctrl-drag: lasso")
        self.note.setText(" · ".join(parts) + ".")

    # ------------------------------------------------------------------- events
    def _on_colour_changed(self) -> None:
        if self.view is None or self.groups is None:
            return
        self._recolour()
        self.canvas.set_colours(self.groups.of, self.brushes, self._groups_shown())
        self._fill_legend()
        self._update_note()

    def _on_likes_mode_changed(self) -> None:
        if self.view is not None and self.groups is not None:
            self._plot()

    def _on_legend_changed(self, item: QListWidgetItem) -> None:
        group = int(item.data(Qt.ItemDataRole.UserRole))
        if item.checkState() == Qt.CheckState.Checked:
            self.hidden.discard(group)
        else:
            self.hidden.add(group)
        self.canvas.set_colours(self.groups.of, self.brushes, self._groups_shown())
        self._update_note()

    def _on_hovered(self, index: int, pos: QPointF) -> None:
        self._hover = index
        if index < 0 or self.view is None:
            self.canvas.card.hide()
            return
        vid = str(self.view.data.ids[index])
        pix = self.session.thumbnail(vid)
        self.canvas.card.show_at(pos, self.describe(index), pix)
        if pix is None:
            self.session.load_thumbnails([vid], lambda _l, i=index, p=pos: self._on_thumb(i, p),
                                         key=("scatter-hover",))

    def _on_thumb(self, index: int, pos: QPointF) -> None:
        if index == self._hover:
            self._on_hovered(index, pos)

    def describe(self, index: int) -> str:
        """The hover card's lines: id, author, likes, followers, originality, sound."""
        data = self.view.data  # type: ignore[union-attr]

        def label(codes: np.ndarray, names: tuple[str, ...]) -> str:
            code = int(codes[index])
            return names[code] if code >= 0 else "–"

        return "\n".join([
            str(data.ids[index]),
            f"by {label(data.author_codes, data.authors)} ({likes_text(data.followers[index])} followers)",
            f"{likes_text(data.likes[index])} likes · originality {data.originality[index]:.0f} / 100",
            f"sound: {label(data.sound_codes, data.sounds)}"])

    def _on_point_clicked(self, index: int) -> None:
        self.session.select(str(self.view.data.ids[index]))  # type: ignore[union-attr]

    def row_of(self, video_id: str) -> int:
        """``video_id``'s row in the arrays, -1 when not there (a vectorised compare:
        a dict of 300,000 ids would cost more to build than every lookup a session makes)."""
        if self.view is None:
            return -1
        rows = np.flatnonzero(self.view.data.ids == video_id)
        return int(rows[0]) if len(rows) else -1

    def _on_video_selected(self, video_id: str) -> None:
        if self.view is not None and self.stack.currentWidget() is self.page:
            self.canvas.highlight(self.row_of(video_id))

    def show_video(self, video_id: str) -> None:
        """Ring ``video_id``'s point (once the data is drawn)."""
        row = self.row_of(video_id)
        if row < 0 or self.stack.currentWidget() is not self.page:
            self._pending_video = video_id
            return
        self._pending_video = None
        self.canvas.highlight(row)

    # ---------------------------------------------------------------- selection
    def set_selection(self, indices: np.ndarray) -> None:
        """Rows picked by a box or lasso (or cleared): outlined on the plot, in the bar."""
        self.selection = np.asarray(indices, dtype=np.int64)
        self.canvas.select(self.selection)
        self._show_selection_bar()

    def selected_ids(self) -> list[str]:
        if self.view is None:
            return []
        return [str(v) for v in self.view.data.ids[self.selection]]

    def _show_selection_bar(self) -> None:
        n = len(self.selection)
        self.selection_label.setText(f"Selection: {n:,} videos" if n else
                                     "Drag a box or lasso over the points to select videos.")
        for w in self._selection_widgets[1:]:
            w.setEnabled(bool(n))

    def open_selection(self) -> None:
        """The selection in the gallery, most liked first (the first thousand of a big one)."""
        if not len(self.selection) or self.view is None:
            return
        likes = np.nan_to_num(self.view.data.likes[self.selection], nan=-1.0)
        rows = self.selection[np.argsort(-likes, kind="stable")][:GALLERY_MAX]
        n = len(self.selection)
        title = f"{n:,} videos selected on the plot"
        if n > GALLERY_MAX:
            title += f" (the {GALLERY_MAX:,} most liked shown)"
        self.session.show_gallery(title, [str(v) for v in self.view.data.ids[rows]])

    # ------------------------------------------------------------------ exports
    def export_csv(self, path: str | Path) -> int:
        """Write the selected videos as CSV (:data:`CSV_COLUMNS`); text cells a spreadsheet
        would run as a formula are neutralised as core's exports do. Returns the rows."""
        from reelscope.core.report.export import safe_cell

        data = self.view.data  # type: ignore[union-attr]

        def name(codes: np.ndarray, names: tuple[str, ...], i: int) -> str:
            return names[codes[i]] if codes[i] >= 0 else ""

        def number(v: float, fmt: str) -> str:
            return format(v, fmt) if np.isfinite(v) else ""

        with open(path, "w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(CSV_COLUMNS)
            for i in self.selection:
                out.writerow([safe_cell(str(data.ids[i])), number(data.likes[i], ".0f"),
                              number(float(data.originality[i]), ".2f"), number(data.followers[i], ".0f"),
                              safe_cell(name(data.author_codes, data.authors, i)),
                              safe_cell(name(data.sound_codes, data.sounds, i)),
                              safe_cell(name(data.category_codes, data.categories, i))])
        return len(self.selection)

    def export_png(self, path: str | Path) -> bool:
        """The sentence, the plot and its legend as drawn now."""
        return self.area.grab().save(str(path))

    def _on_export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the selection", "selection.csv", "CSV (*.csv)")
        if path:
            rows = self.export_csv(path)
            self.session.status_message.emit(f"Wrote {rows:,} videos to {path}")

    def _on_export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the plot", "originality-vs-likes.png", "PNG (*.png)")
        if path:
            ok = self.export_png(path)
            self.session.status_message.emit(f"Saved {path}" if ok else f"Cannot write {path}")

    def _on_analyse(self) -> None:
        """Run core's analysis as a writing job; the view reloads when it ends."""
        path, run_id = self.session.path, self.view.data.run_id if self.view else None

        def work(progress: Any, cancel: Any) -> Any:
            from reelscope.core.analytics.analyze import analyze
            from reelscope.core.store.library import Library

            library = Library.open(path)
            try:
                return analyze(library, run_id, progress=progress, cancel=cancel).run_id
            finally:
                library.close()

        if self.jobs.start("Analysing", work) is None:
            self.session.status_message.emit(f"{self.jobs.writer_busy()} is running; analyse when it ends")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.canvas.set_theme(_dark())


def _dark() -> bool:
    from reelscope.desktop.theme import is_dark

    return is_dark()
