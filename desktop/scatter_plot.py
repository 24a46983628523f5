"""The fast scatter plot under the "Originality vs likes" view and the "Embedding map",
free of Reelscope's panel logic: a uniform-grid spatial index for hover and selection,
vectorised box and lasso tests, a likes axis, a view box that draws selections, and
:class:`ScatterCanvas`, which keeps one ``ScatterPlotItem`` fed with whole arrays.

Why not ``ScatterPlotItem.pointsAt``: it walks every spot in Python, far too slow at
300,000 videos; the grid answers a hover from the few cells under the cursor. Why a
level-of-detail sample: Qt paints each spot, so past :data:`LOD_LIMIT` points in view
the canvas draws a fixed random sample of them (zooming in shows more) — selection and
counts still use every point.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QVBoxLayout,
    QWidget,
)

LOD_LIMIT = 50_000  # most spots drawn at once
HOVER_RADIUS_PX = 8.0


# ------------------------------------------------------------------ geometry
class PointGrid:
    """Points bucketed into a uniform grid over their bounding box, so a box query reads
    a few contiguous slices instead of every point.

    ``x``, ``y``: float [N] plot coordinates (NaN points are left out). Point indices
    are sorted by cell (row-major), so the cells of one grid row within a box are one
    slice of :attr:`order`.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, cells: int = 128) -> None:
        self.xs, self.ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        keep = np.flatnonzero(np.isfinite(self.xs) & np.isfinite(self.ys))
        self.n = cells
        if not len(keep):
            self.lo = np.zeros(2)
            self.width = np.ones(2)
            self.order = keep
            self.start = np.zeros(cells * cells + 1, dtype=np.int64)
            return
        xs, ys = self.xs[keep], self.ys[keep]
        self.lo = np.array([xs.min(), ys.min()])
        span = np.array([xs.max(), ys.max()]) - self.lo
        self.width = np.where(span > 0, span / cells, 1.0)
        cell = self._cell(xs, 0) + cells * self._cell(ys, 1)
        by_cell = np.argsort(cell, kind="stable")
        self.order = keep[by_cell]
        self.start = np.searchsorted(cell[by_cell], np.arange(cells * cells + 1))

    def _cell(self, v: Any, axis: int) -> Any:
        return np.clip(np.floor((v - self.lo[axis]) / self.width[axis]), 0, self.n - 1).astype(np.int64)

    def in_box(self, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
        """Indices of the points with x0 <= x <= x1 and y0 <= y <= y1 (int64 [K])."""
        if not len(self.order) or x1 < self.lo[0] or y1 < self.lo[1]:
            return np.empty(0, dtype=np.int64)
        cx0, cx1 = int(self._cell(x0, 0)), int(self._cell(x1, 0))
        cy0, cy1 = int(self._cell(y0, 1)), int(self._cell(y1, 1))
        rows = [self.order[self.start[cy * self.n + cx0]:self.start[cy * self.n + cx1 + 1]]
                for cy in range(cy0, cy1 + 1)]
        cand = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
        cx, cy = self.xs[cand], self.ys[cand]
        return cand[(cx >= x0) & (cx <= x1) & (cy >= y0) & (cy <= y1)]

    def nearest(self, x: float, y: float, rx: float, ry: float,
                allowed: np.ndarray | None = None) -> int:
        """The point nearest to (x, y) within the ellipse of radii ``rx``, ``ry`` (data
        units of one pixel radius each way, so the distance is measured in pixels), among
        ``allowed`` (bool [N]) when given; -1 when none."""
        cand = self.in_box(x - rx, x + rx, y - ry, y + ry)
        if allowed is not None and len(cand):
            cand = cand[allowed[cand]]
        if not len(cand):
            return -1
        d = ((self.xs[cand] - x) / rx) ** 2 + ((self.ys[cand] - y) / ry) ** 2
        best = int(np.argmin(d))
        return int(cand[best]) if d[best] <= 1.0 else -1

    def in_polygon(self, polygon: np.ndarray) -> np.ndarray:
        """Indices of the points inside ``polygon`` (float [K, 2], closed implicitly):
        the grid narrows to its bounding box, matplotlib's Path tests the rest."""
        from matplotlib.path import Path

        polygon = np.asarray(polygon, dtype=np.float64)
        if len(polygon) < 3:
            return np.empty(0, dtype=np.int64)
        (x0, y0), (x1, y1) = polygon.min(axis=0), polygon.max(axis=0)
        cand = self.in_box(x0, x1, y0, y1)
        if not len(cand):
            return cand
        inside = Path(polygon).contains_points(np.column_stack([self.xs[cand], self.ys[cand]]))
        return cand[inside]


def lod_sample(eligible: np.ndarray, order: np.ndarray, limit: int) -> np.ndarray:
    """Indices to draw: every ``eligible`` (bool [N]) point when they are at most
    ``limit``, else the first ``limit`` of them in the fixed random ``order`` (a
    permutation of N), so the sample is stable while panning."""
    if int(eligible.sum()) <= limit:
        return np.flatnonzero(eligible)
    return np.sort(order[eligible[order]][:limit])


# ---------------------------------------------------------------------- axes
class LikesAxis(pg.AxisItem):
    """An axis over log10(1 + likes) labelled in likes (1 · 10 · 100 · 1k · 10k · 1M)."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[Any]:
        if not (np.isfinite(minVal) and np.isfinite(maxVal)) or maxVal <= minVal:
            return []
        lo, hi = max(0.0, minVal), max(0.0, maxVal)
        decades = range(int(np.floor(lo)) - 1, int(np.ceil(hi)) + 1)
        major = [np.log10(1 + 10.0 ** k) for k in decades if k >= 0] + [0.0]
        minor: list[float] = []
        if hi - lo <= 3.5:
            minor = [np.log10(1 + m * 10.0 ** k) for k in decades if k >= 0 for m in (2, 5)]
        major = sorted(v for v in set(major) if minVal <= v <= maxVal)
        minor = sorted(v for v in minor if minVal <= v <= maxVal)
        return [(1.0, major), (0.5, minor)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        from reelscope.core.numbers import format_likes

        # "50k", not "50.0k": tick values are round, the trailing zero is noise.
        return [format_likes(round(10.0 ** v - 1)).replace(".0k", "k").replace(".0M", "M")
                for v in values]


# ------------------------------------------------------------------ view box
class SelectViewBox(pg.ViewBox):
    """A view box that pans and zooms, or draws a box or a lasso: in ``mode`` "box" or
    "lasso", or with Shift (box) or Ctrl (lasso) held in the pan mode. Finished shapes
    come out in data coordinates; a plain left click is reported too."""

    box_drawn = Signal(QRectF)
    lasso_drawn = Signal(object)  # float [K, 2]
    clicked_at = Signal(QPointF)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mode = "pan"
        self._shape: str | None = None
        self._lasso: list[QPointF] = []
        pen = QPen(QColor(79, 70, 229), 0)
        pen.setCosmetic(True)
        pen.setStyle(Qt.PenStyle.DashLine)
        self._rect_item = QGraphicsRectItem()
        self._path_item = QGraphicsPathItem()
        for item in (self._rect_item, self._path_item):
            item.setPen(pen)
            item.setBrush(QBrush(QColor(79, 70, 229, 40)))
            item.setZValue(1e9)
            item.hide()
            self.addItem(item, ignoreBounds=True)

    def _shape_for(self, event: Any) -> str | None:
        if self.mode in ("box", "lasso"):
            return self.mode
        mods = event.modifiers()
        if mods & Qt.KeyboardModifier.ShiftModifier:
            return "box"
        if mods & Qt.KeyboardModifier.ControlModifier:
            return "lasso"
        return None

    def mouseDragEvent(self, ev: Any, axis: Any = None) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        if ev.isStart():
            self._shape = self._shape_for(ev)
            self._lasso = []
        if self._shape is None:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        start, here = self.mapToView(ev.buttonDownPos()), self.mapToView(ev.pos())
        if self._shape == "box":
            rect = QRectF(start, here).normalized()
            self._rect_item.setRect(rect)
            self._rect_item.show()
            if ev.isFinish():
                self._rect_item.hide()
                self.box_drawn.emit(rect)
        else:
            if not self._lasso:
                self._lasso.append(start)
            self._lasso.append(here)
            path = QPainterPath(self._lasso[0])
            for p in self._lasso[1:]:
                path.lineTo(p)
            path.closeSubpath()
            self._path_item.setPath(path)
            self._path_item.show()
            if ev.isFinish():
                self._path_item.hide()
                self.lasso_drawn.emit(np.array([[p.x(), p.y()] for p in self._lasso]))
        if ev.isFinish():
            self._shape = None

    def mouseClickEvent(self, ev: Any) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.clicked_at.emit(self.mapToView(ev.pos()))
            return
        super().mouseClickEvent(ev)


# -------------------------------------------------------------------- canvas
class _PassiveScatter(pg.ScatterPlotItem):
    """A scatter item that leaves clicks to the view box: pyqtgraph's own handler
    would search every spot with ``pointsAt`` and swallow the click."""

    def mouseClickEvent(self, ev: Any) -> None:
        ev.ignore()


class GroupedScatter(_PassiveScatter):
    """One scatter item whose points take one of a few shared brushes by group.

    pyqtgraph looks a spot's cached pixmap up per point in Python (and maps a brush list
    point by point), about 2 µs a spot; here the few (symbol, size, pen, brush) styles
    are looked up once each and every spot's atlas cell is one numpy take by its group.
    Relies on pyqtgraph 0.13-0.14's pixmap atlas (``fragmentAtlas``, ``sourceRect``);
    any other style change falls back to pyqtgraph's own per-point path.
    """

    def set_groups(self, x: np.ndarray, y: np.ndarray, group: np.ndarray, brushes: list[QBrush],
                   size: float, rows: np.ndarray) -> None:
        """``x``, ``y``: float [K]; ``group``: int [K] index into ``brushes``; ``rows``:
        int [K] kept as each spot's ``data`` (the row in the caller's arrays)."""
        self._group = np.asarray(group, dtype=np.intp)
        self._brushes = list(brushes)
        self.opts["size"] = size
        self.setData(x=x, y=y, data=rows)

    def updateSpots(self, dataSet: Any = None) -> None:
        group = getattr(self, "_group", None)
        data = self.data
        if group is None or len(group) != len(data) or not (self.opts["pxMode"] and self.opts["useCache"]):
            super().updateSpots(dataSet)
            return
        if len(data):
            styles = [(self.opts["symbol"], self.opts["size"], self.opts["pen"], b) for b in self._brushes]
            cells = np.array([tuple(c) for c in self.fragmentAtlas[styles]], dtype=data["sourceRect"].dtype)
            data["sourceRect"] = cells[group]
        self._updateMaxSpotSizes(data=data)
        self.invalidate()


class HoverCard(QFrame):
    """A tooltip-like card over the plot: a thumbnail and a few plain-text lines."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        from reelscope.desktop.widgets import plain_label

        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(self.palette().ColorRole.ToolTipBase)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.thumb = plain_label("", self)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = plain_label("", self)
        self.text.setForegroundRole(self.palette().ColorRole.ToolTipText)
        layout.addWidget(self.thumb)
        layout.addWidget(self.text)
        self.hide()

    def show_at(self, pos: QPointF, text: str, pixmap: Any = None) -> None:
        """Show near ``pos`` (parent coordinates), kept inside the parent."""
        self.text.setText(text)
        if pixmap is not None:
            self.thumb.setPixmap(pixmap.scaled(150, 150, Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))
        else:
            self.thumb.clear()
        self.thumb.setVisible(pixmap is not None)
        self.adjustSize()
        parent = self.parentWidget()
        x, y = int(pos.x()) + 16, int(pos.y()) + 16
        if parent is not None:
            if x + self.width() > parent.width():
                x = int(pos.x()) - 16 - self.width()
            if y + self.height() > parent.height():
                y = int(pos.y()) - 16 - self.height()
        self.move(max(0, x), max(0, y))
        self.show()
        self.raise_()


class ScatterCanvas(pg.PlotWidget):
    """One scatter item for all points, one for the selected ones and a ring for the
    current video. Feed it whole arrays with :meth:`set_points`; it keeps the spatial
    index, the level-of-detail sample and answers hover, click, box and lasso in point
    indices (rows of the arrays it was given).

    Signals: ``hovered(index, QPointF widget position)`` (-1 when off every point),
    ``point_clicked(index)``, ``area_selected(indices int64 [K])``.
    """

    hovered = Signal(int, QPointF)
    point_clicked = Signal(int)
    area_selected = Signal(object)

    def __init__(self, parent: QWidget | None = None, likes_axis: bool = True, axes: bool = True) -> None:
        """``likes_axis``: the left axis reads in likes (y = log10(1 + likes)); ``axes``
        False hides both axes and the grid — for a map, whose coordinates mean nothing."""
        vb = SelectViewBox()
        axis = LikesAxis("left") if likes_axis else None
        super().__init__(parent, viewBox=vb, axisItems={"left": axis} if axis else None)
        self.vb, self.likes_axis, self.axes = vb, axis, axes
        self.x_limits: tuple[float, float] | None = None  # frame(): a fixed x range, else the data's
        self.y_floor: float | None = None  # frame(): never frames below this y
        self.min_pad = 0.0  # frame(): the least margin around the data, in data units
        if not axes:
            for name in ("left", "bottom"):
                self.getPlotItem().hideAxis(name)
        self.setMenuEnabled(False)
        self.setMouseTracking(True)
        self.hideButtons()
        self.item = GroupedScatter(pxMode=True, useCache=True, pen=None)
        self.selected_item = GroupedScatter(pxMode=True, useCache=True, brush=None)
        self.ring = _PassiveScatter(pxMode=True, size=18, brush=None)
        self.ring.setZValue(10)
        self.selected_item.setZValue(5)
        for item in (self.item, self.selected_item, self.ring):
            self.addItem(item)
        self.card = HoverCard(self)
        self.point_size = 6.0
        self.xs = self.ys = np.empty(0)
        self.group = np.empty(0, dtype=np.int32)
        self.brushes: list[QBrush] = []
        self.eligible = np.zeros(0, dtype=bool)
        self.shown = np.empty(0, dtype=np.int64)
        self.shown_mask = np.zeros(0, dtype=bool)
        self.selected = np.empty(0, dtype=np.int64)
        self.grid = PointGrid(self.xs, self.ys)
        self._order = np.empty(0, dtype=np.int64)
        self._lod_active = False
        self._lod_timer = QTimer(self)
        self._lod_timer.setSingleShot(True)
        self._lod_timer.setInterval(60)
        self._lod_timer.timeout.connect(self._redraw)
        self.vb.sigRangeChanged.connect(self._on_range_changed)
        self.vb.clicked_at.connect(self._on_clicked)
        self.vb.box_drawn.connect(self._on_box)
        self.vb.lasso_drawn.connect(self._on_lasso)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.set_theme(False)

    # ------------------------------------------------------------------ data
    def set_points(self, x: np.ndarray, y: np.ndarray, group: np.ndarray, brushes: list[QBrush],
                   size: float, groups_shown: np.ndarray | None = None) -> None:
        """New coordinates (float [N], NaN = not drawn), each point's colour group (int
        [N] into ``brushes``, one shared QBrush per group) and which points' groups are
        shown (bool [N], default all): rebuilds the index, keeps nothing selected, and
        frames the data."""
        self.xs, self.ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        self.group, self.brushes = np.asarray(group), list(brushes)
        self.point_size = size
        finite = np.isfinite(self.xs) & np.isfinite(self.ys)
        self.eligible = finite if groups_shown is None else finite & groups_shown
        self.grid = PointGrid(self.xs, self.ys)
        self._order = np.random.default_rng(0).permutation(len(self.xs))
        self.selected = np.empty(0, dtype=np.int64)
        self.ring.setData([], [])
        self.frame()  # first: the level-of-detail sample is drawn from what is in view
        self._redraw()

    def set_colours(self, group: np.ndarray, brushes: list[QBrush], groups_shown: np.ndarray) -> None:
        """Recolour (as :meth:`set_points`) and hide groups (``groups_shown``: bool [N])."""
        self.group, self.brushes = np.asarray(group), list(brushes)
        self.eligible = groups_shown & np.isfinite(self.xs) & np.isfinite(self.ys)
        self._redraw()

    def frame(self) -> None:
        """Show every drawable point (within :attr:`x_limits` and above :attr:`y_floor`)."""
        if not self.eligible.any():
            return
        x_range = self.x_limits or self._padded(self.xs[self.eligible])
        y0, y1 = self._padded(self.ys[self.eligible])
        if self.y_floor is not None:
            y0 = max(self.y_floor, y0)
        self.vb.setRange(xRange=x_range, yRange=(y0, y1), padding=0)

    def _padded(self, v: np.ndarray) -> tuple[float, float]:
        lo, hi = float(v.min()), float(v.max())
        pad = max(self.min_pad, 0.05 * (hi - lo)) or 1.0
        return lo - pad, hi + pad

    def _visible_now(self) -> np.ndarray:
        (x0, x1), (y0, y1) = self.vb.viewRange()
        return self.eligible & (self.xs >= x0) & (self.xs <= x1) & (self.ys >= y0) & (self.ys <= y1)

    def _redraw(self) -> None:
        self._lod_timer.stop()  # drawn for the range now: a pending range redraw is moot
        eligible = self.eligible
        self._lod_active = int(eligible.sum()) > LOD_LIMIT
        if self._lod_active:
            eligible = self._visible_now()
        self.shown = lod_sample(eligible, self._order, LOD_LIMIT)
        self.shown_mask = np.zeros(len(self.xs), dtype=bool)
        self.shown_mask[self.shown] = True
        self.item.set_groups(self.xs[self.shown], self.ys[self.shown], self.group[self.shown], self.brushes,
                             self.point_size, self.shown)
        self._draw_selection()

    def _on_range_changed(self, *_: Any) -> None:
        if self._lod_active:
            self._lod_timer.start()

    # ------------------------------------------------------------- selection
    def select(self, indices: np.ndarray) -> None:
        self.selected = np.asarray(indices, dtype=np.int64)
        self._draw_selection()

    def _draw_selection(self) -> None:
        if not len(self.selected):
            self.selected_item.setData([], [])
            return
        sel = self.selected[self.shown_mask[self.selected]] if len(self.shown_mask) else self.selected
        self.selected_item.setPen(self._sel_pen, update=False)
        self.selected_item.set_groups(self.xs[sel], self.ys[sel], np.zeros(len(sel), dtype=np.intp),
                                      [self.selected_item.opts["brush"]], self.point_size + 4, sel)

    def highlight(self, index: int) -> None:
        """Ring one point (-1: none) and pan to it when it is out of view."""
        if index < 0 or not np.isfinite(self.xs[index]) or not np.isfinite(self.ys[index]):
            self.ring.setData([], [])
            return
        x, y = float(self.xs[index]), float(self.ys[index])
        self.ring.setData([x], [y], pen=self._ring_pen)
        (x0, x1), (y0, y1) = self.vb.viewRange()
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            self.vb.translateBy(x=x - (x0 + x1) / 2, y=y - (y0 + y1) / 2)

    def in_box(self, rect: QRectF) -> np.ndarray:
        found = self.grid.in_box(rect.left(), rect.right(), rect.top(), rect.bottom())
        return found[self.eligible[found]]

    def in_lasso(self, polygon: np.ndarray) -> np.ndarray:
        found = self.grid.in_polygon(polygon)
        return found[self.eligible[found]]

    def point_at(self, pos: QPointF) -> int:
        """The drawn point within :data:`HOVER_RADIUS_PX` of ``pos`` (data coordinates)."""
        pw, ph = self.vb.viewPixelSize()
        if not (pw > 0 and ph > 0) or not len(self.shown_mask):
            return -1
        return self.grid.nearest(pos.x(), pos.y(), HOVER_RADIUS_PX * pw, HOVER_RADIUS_PX * ph,
                                 self.shown_mask)

    def _on_clicked(self, pos: QPointF) -> None:
        index = self.point_at(pos)
        if index >= 0:
            self.point_clicked.emit(index)

    def _on_box(self, rect: QRectF) -> None:
        self.area_selected.emit(self.in_box(rect))

    def _on_lasso(self, polygon: np.ndarray) -> None:
        self.area_selected.emit(self.in_lasso(polygon))

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if not self.vb.sceneBoundingRect().contains(scene_pos):
            self.hovered.emit(-1, QPointF())
            return
        index = self.point_at(self.vb.mapSceneToView(scene_pos))
        self.hovered.emit(index, QPointF(self.mapFromScene(scene_pos)))

    def leaveEvent(self, event: Any) -> None:
        super().leaveEvent(event)
        self.hovered.emit(-1, QPointF())

    # ----------------------------------------------------------------- theme
    def set_theme(self, dark: bool) -> None:
        """Background, axes and outline colours for the window's palette."""
        fg = QColor("#d8d8e0") if dark else QColor("#2a2a30")
        self.setBackground(QColor("#16171b") if dark else QColor("#ffffff"))
        for name in ("left", "bottom"):
            axis = self.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(fg))
            axis.setTextPen(pg.mkPen(fg))
        self.getPlotItem().showGrid(x=False, y=self.axes, alpha=0.15)  # the likes decades only: pyqtgraph draws grids slowly
        self._sel_pen = pg.mkPen(QColor("#f4f4ff") if dark else QColor("#1d1d1f"), width=1.2)
        self._ring_pen = pg.mkPen(QColor("#ff9f1c"), width=3)
        self._draw_selection()
