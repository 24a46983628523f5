"""What the "Originality vs likes" view and the "Embedding map" share: videos as points on
one :class:`~reelscope.desktop.scatter_plot.ScatterCanvas`, coloured by category, sound,
author or follower count with a legend that hides a group on a click, a hover card with
the video's thumbnail, a click that selects the video everywhere, and a box or lasso that
selects many for the gallery or a CSV.

:class:`PointsPanel` is the base both views derive from (as Orange's projection widgets
share one base): a subclass reads its data, then calls :meth:`PointsPanel.show_points`
with one x and one y per row of core's :class:`~reelscope.core.query.results.ScatterData`.
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
    from reelscope.core.query.results import ScatterData

TOP_GROUPS = 10
GALLERY_MAX = 1000
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1",
           "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#17becf")
OTHER_COLOUR = "#9a9aa2"
COLOUR_BY = (("category", "Category"), ("sound", "Sound"), ("author", "Author"), ("followers", "Followers"))
CSV_COLUMNS = ("id", "likes", "originality", "followers", "author", "sound", "category")


# ------------------------------------------------------------------ colours
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


def point_style(n: int) -> tuple[float, int]:
    """(spot size in pixels, brush alpha) for ``n`` points: smaller and fainter when
    many, so dense regions read as dense instead of one solid blot."""
    size = 9.0 if n < 2000 else 6.0 if n < 30_000 else 3.5
    alpha = 220 if n < 2000 else 150 if n < 30_000 else 90
    return size, alpha


# -------------------------------------------------------------------- panel
class PointsPanel(Panel):
    """A view of videos as points. Subclasses set :attr:`where` (how the gallery names
    the selection's origin) and :attr:`png_name`, may add widgets with
    :meth:`_header` and :meth:`_toolbar_extras`, words with :meth:`_note_parts`, and
    provide :attr:`data` (core's ScatterData whose rows the points are)."""

    where = "on the plot"
    png_name = "plot.png"

    def __init__(self, session: Any, jobs: Any, parent: QWidget | None = None, *,
                 likes_axis: bool = True, axes: bool = True) -> None:
        super().__init__(session, jobs, parent)
        self.groups: Groups | None = None
        self.hidden: set[int] = set()
        self.selection = np.empty(0, dtype=np.int64)
        self.brushes: list[QBrush] = []
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
        area.addWidget(heading(self.title, self.area))
        self.finding = plain_label("", self.area, wrap=True, selectable=True)
        area.addWidget(self.finding)
        self._header(area)
        area.addLayout(self._build_toolbar())
        split = QSplitter(self.area)
        self.canvas = ScatterCanvas(split, likes_axis=likes_axis, axes=axes)
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

    # ------------------------------------------------------- subclass hooks
    @property
    def data(self) -> ScatterData | None:
        """The rows the points are (None before the first load)."""
        return None

    def _header(self, layout: QVBoxLayout) -> None:
        """Add widgets under the sentence, above the toolbar."""

    def _toolbar_extras(self, row: QHBoxLayout) -> None:
        """Add widgets to the toolbar after "Colour by"."""

    def _note_parts(self) -> list[str]:
        """Sentences for the note under the plot, after the count of plotted videos."""
        return []

    # ------------------------------------------------------------ building
    def _build_toolbar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(plain_label("Colour by", self))
        self.colour_by = QComboBox(self)
        for key, text in COLOUR_BY:
            self.colour_by.addItem(text, key)
        self.colour_by.currentIndexChanged.connect(self._on_colour_changed)
        row.addWidget(self.colour_by)
        self._toolbar_extras(row)
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

    # ------------------------------------------------------------- drawing
    def show_points(self, x: np.ndarray, y: np.ndarray, recolour: bool = True) -> None:
        """Draw row i of :attr:`data` at (x[i], y[i]) (float [N]; NaN: not drawn) and frame
        them; ``recolour`` redoes the colour groups (new data), else keeps them and what
        the legend hides. Clears the selection."""
        self.canvas.set_theme(_dark())
        if recolour or self.groups is None:
            self._recolour()
        n = int((np.isfinite(x) & np.isfinite(y)).sum())
        self.canvas.set_points(x, y, self.groups.of, self.brushes, point_style(n)[0],  # type: ignore[union-attr]
                               self._groups_shown())
        self.selection = np.empty(0, dtype=np.int64)
        self._show_selection_bar()
        self._fill_legend()
        self._update_note()
        if self._pending_video:
            self.show_video(self._pending_video)

    def _recolour(self) -> None:
        """Groups and one shared brush per group for the "Colour by" choice, never one
        per video; every group shown again."""
        data = self.data
        assert data is not None
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
        alpha = point_style(len(data))[1]
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

    def plotted(self) -> np.ndarray:
        """bool [N]: the rows with a position (whatever the legend hides)."""
        return np.isfinite(self.canvas.xs) & np.isfinite(self.canvas.ys)

    def _fill_legend(self) -> None:
        """One checkable row per non-empty group, with its count among the plotted points."""
        groups = self.groups
        assert groups is not None and self.data is not None
        counts = np.bincount(groups.of[self.plotted()], minlength=len(groups.labels))
        what = self.colour_by.currentText()
        if self.colour_by.currentData() == "category" and self.data.category_field == "first_hashtag":
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
        data = self.data
        assert data is not None
        parts = [f"{int(self.plotted().sum()):,} of {len(data):,} videos plotted", *self._note_parts()]
        if self.canvas._lod_active:
            parts.append(f"drawing a sample of {LOD_LIMIT:,} of the points in view — zoom in for every point")
        parts.append("Shift-drag: box select · Ctrl-drag: lasso")
        self.note.setText(" · ".join(parts) + ".")

    # -------------------------------------------------------------- events
    def _on_colour_changed(self) -> None:
        if self.data is None or self.groups is None:
            return
        self._recolour()
        self.canvas.set_colours(self.groups.of, self.brushes, self._groups_shown())
        self._fill_legend()
        self._update_note()

    def _on_legend_changed(self, item: QListWidgetItem) -> None:
        group = int(item.data(Qt.ItemDataRole.UserRole))
        if item.checkState() == Qt.CheckState.Checked:
            self.hidden.discard(group)
        else:
            self.hidden.add(group)
        self.canvas.set_colours(self.groups.of, self.brushes, self._groups_shown())  # type: ignore[union-attr]
        self._update_note()

    def _on_hovered(self, index: int, pos: QPointF) -> None:
        self._hover = index
        if index < 0 or self.data is None:
            self.canvas.card.hide()
            return
        vid = str(self.data.ids[index])
        pix = self.session.thumbnail(vid)  # one cache for every view's thumbnails
        self.canvas.card.show_at(pos, self.describe(index), pix)
        if pix is None:
            self.session.load_thumbnails([vid], lambda _l, i=index, p=pos: self._on_thumb(i, p),
                                         key=(f"{self.name}-hover",))

    def _on_thumb(self, index: int, pos: QPointF) -> None:
        if index == self._hover:
            self._on_hovered(index, pos)

    def describe(self, index: int) -> str:
        """The hover card's lines: id, author, likes (and originality when scored), sound."""
        data = self.data
        assert data is not None

        def label(codes: np.ndarray, names: tuple[str, ...]) -> str:
            code = int(codes[index])
            return names[code] if code >= 0 else "–"

        score = float(data.originality[index])
        likes = f"{likes_text(data.likes[index])} likes"
        if np.isfinite(score):
            likes += f" · originality {score:.0f} / 100"
        return "\n".join([
            str(data.ids[index]),
            f"by {label(data.author_codes, data.authors)} ({likes_text(data.followers[index])} followers)",
            likes, f"sound: {label(data.sound_codes, data.sounds)}"])

    def _on_point_clicked(self, index: int) -> None:
        self.session.select(str(self.data.ids[index]))  # type: ignore[union-attr]

    def row_of(self, video_id: str) -> int:
        """``video_id``'s row in the arrays, -1 when not there (a vectorised compare:
        a dict of 300,000 ids would cost more to build than every lookup a session makes)."""
        if self.data is None:
            return -1
        rows = np.flatnonzero(self.data.ids == video_id)
        return int(rows[0]) if len(rows) else -1

    def _on_video_selected(self, video_id: str) -> None:
        if self.data is not None and self.stack.currentWidget() is self.page and len(self.canvas.xs):
            self.canvas.highlight(self.row_of(video_id))

    def show_video(self, video_id: str) -> None:
        """Ring ``video_id``'s point (once the data is drawn)."""
        row = self.row_of(video_id)
        if row < 0 or self.stack.currentWidget() is not self.page or len(self.canvas.xs) != len(self.data.ids):  # type: ignore[union-attr]
            self._pending_video = video_id
            return
        self._pending_video = None
        self.canvas.highlight(row)

    # ----------------------------------------------------------- selection
    def set_selection(self, indices: np.ndarray) -> None:
        """Rows picked by a box or lasso (or cleared): outlined on the plot, in the bar."""
        self.selection = np.asarray(indices, dtype=np.int64)
        self.canvas.select(self.selection)
        self._show_selection_bar()

    def selected_ids(self) -> list[str]:
        if self.data is None:
            return []
        return [str(v) for v in self.data.ids[self.selection]]

    def _show_selection_bar(self) -> None:
        n = len(self.selection)
        self.selection_label.setText(f"Selection: {n:,} videos" if n else
                                     "Drag a box or lasso over the points to select videos.")
        for w in self._selection_widgets[1:]:
            w.setEnabled(bool(n))

    def open_selection(self) -> None:
        """The selection in the gallery, most liked first (the first thousand of a big one)."""
        if not len(self.selection) or self.data is None:
            return
        likes = np.nan_to_num(self.data.likes[self.selection], nan=-1.0)
        rows = self.selection[np.argsort(-likes, kind="stable")][:GALLERY_MAX]
        n = len(self.selection)
        title = f"{n:,} videos selected {self.where}"
        if n > GALLERY_MAX:
            title += f" (the {GALLERY_MAX:,} most liked shown)"
        self.session.show_gallery(title, [str(v) for v in self.data.ids[rows]])

    # ------------------------------------------------------------- exports
    def export_csv(self, path: str | Path) -> int:
        """Write the selected videos as CSV (:data:`CSV_COLUMNS`); text cells a spreadsheet
        would run as a formula are neutralised as core's exports do. Returns the rows."""
        from reelscope.core.report.export import safe_cell

        data = self.data
        assert data is not None

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
        path, _ = QFileDialog.getSaveFileName(self, "Export the plot", self.png_name, "PNG (*.png)")
        if path:
            ok = self.export_png(path)
            self.session.status_message.emit(f"Saved {path}" if ok else f"Cannot write {path}")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.canvas.set_theme(_dark())


def _dark() -> bool:
    from reelscope.desktop.theme import is_dark

    return is_dark()
