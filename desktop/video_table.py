"""The video table's Qt model: rows fetched a page at a time from core's paged query, so
a library of 300,000 videos opens as fast as one of 300 and scrolling reads only what
is shown. Sorting and filtering are the query's (SQL), not the model's."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QColor

from reelscope.desktop.widgets import format_date, likes_text, plain_tooltip

if TYPE_CHECKING:
    from reelscope.core.query.results import VideoPage, VideoRow
    from reelscope.desktop.session import Session

PAGE = 200
THUMB = QSize(40, 56)
_DISPLAY, _DECORATION = Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.DecorationRole
_ALIGN, _FOREGROUND = Qt.ItemDataRole.TextAlignmentRole, Qt.ItemDataRole.ForegroundRole
_ROLES = frozenset((_DISPLAY, _DECORATION, _ALIGN, _FOREGROUND, Qt.ItemDataRole.ToolTipRole,
                    Qt.ItemDataRole.UserRole))
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_FAILED = QColor("#c0392b")


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    sort: Optional[str]  # core's sort key; None: not sortable
    numeric: bool = False


COLUMNS = (
    Column("thumb", "", None),
    Column("id", "Video", "id"),
    Column("author", "Author", "author"),
    Column("followers", "Followers", "followers", True),
    Column("posted_at", "Posted", "posted_at"),
    Column("likes", "Likes", "likes", True),
    Column("like_forecast", "Forecast", "like_forecast", True),
    Column("originality", "Originality", "originality", True),
    Column("sound", "Sound", "sound"),
    Column("hashtags", "Hashtags", None),
    Column("status", "Status", None),
)


@dataclass(frozen=True)
class TableQuery:
    """The filters and order of the table: the arguments of ``core.query.video_page``."""

    sort: str = "likes"
    descending: bool = True
    filters: dict[str, Any] = field(default_factory=dict)

    def with_filters(self, **changes: Any) -> "TableQuery":
        merged = {k: v for k, v in {**self.filters, **changes}.items() if v not in (None, "")}
        return replace(self, filters=merged)


class VideoTableModel(QAbstractTableModel):
    """``rowCount`` is the query's total; a row not fetched yet shows empty and asks for
    its page. ``loaded`` fires when a page (or the total) arrives."""

    loaded = Signal()

    def __init__(self, session: "Session", parent: Any = None) -> None:
        super().__init__(parent)
        self.session = session
        self.query = TableQuery()
        self.total = 0
        self.notes: tuple[str, ...] = ()
        self.run_id: Optional[str] = None
        self._pages: dict[int, tuple["VideoRow", ...]] = {}
        self._cells: dict[int, list[tuple[str, ...]]] = {}  # each page's display strings
        self._asked: set[int] = set()
        self._generation = 0
        self._outstanding: set[tuple[int, int]] = set()  # (generation, page) asked, not arrived

    @property
    def waiting(self) -> bool:
        """Pages of the current query asked for and not arrived yet."""
        return bool(self._outstanding)

    # ------------------------------------------------------------------ queries
    def set_query(self, query: TableQuery) -> None:
        self.query = query
        self.reload()

    def reload(self) -> None:
        """Forget every page and read the first one (and the total) again."""
        self._generation += 1
        self._asked.clear()
        self._outstanding.clear()  # older queries' answers are dropped unseen
        self._fetch(0, reset=True)

    def _fetch(self, page: int, reset: bool = False) -> None:
        if page in self._asked and not reset:
            return
        self._asked.add(page)
        generation, query = self._generation, self.query
        self._outstanding.add((generation, page))

        def read(library: Any) -> "VideoPage":
            from reelscope.core.query import video_page

            return video_page(library, self.session.run_id, offset=page * PAGE, limit=PAGE,
                              sort=query.sort, descending=query.descending, **query.filters)

        def arrived(result: "VideoPage") -> None:
            self._outstanding.discard((generation, page))
            if generation != self._generation:
                return
            cells = [tuple(display(r, c.key) for c in COLUMNS) for r in result.rows]
            if reset:
                self.beginResetModel()
                self._pages = {0: result.rows}
                self._cells = {0: cells}
                self.total, self.notes, self.run_id = result.total, result.notes, result.run_id
                self.endResetModel()
            else:
                self._pages[page] = result.rows
                self._cells[page] = cells
                first = page * PAGE
                last = min(first + len(result.rows), self.rowCount()) - 1
                if last >= first:
                    self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))
            self._load_thumbs(result.rows)
            self.loaded.emit()

        def failed(message: str, details: str) -> None:
            self._outstanding.discard((generation, page))
            self.session.status_message.emit(message)
            self.loaded.emit()

        key = ("video-table", "reset") if reset else ("video-table", generation, page)
        self.session.query(key, read, arrived, failed)

    def _load_thumbs(self, rows: tuple["VideoRow", ...]) -> None:
        ids = [r.id for r in rows if r.has_thumbnail]
        if not ids:
            return

        def show(loaded: list[str]) -> None:
            where = {vid: i for i, vid in enumerate(self.visible_ids())}
            for vid in loaded:
                if vid in where:
                    idx = self.index(where[vid], 0)
                    self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

        self.session.load_thumbnails(ids, show, key=("table-thumbs", self._generation), size=120)

    # -------------------------------------------------------------------- model
    def row_at(self, row: int) -> Optional["VideoRow"]:
        page, offset = divmod(row, PAGE)
        rows = self._pages.get(page)
        if rows is None:
            self._fetch(page)
            return None
        return rows[offset] if offset < len(rows) else None

    def visible_ids(self) -> list[str]:
        """Ids of the rows fetched so far, in table order (row i is entry i)."""
        out: list[str] = []
        for page in range(0, max(self._pages, default=-1) + 1):
            rows = self._pages.get(page)
            if rows is None:
                break
            out += [r.id for r in rows]
        return out

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else self.total

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every role of every visible cell on each repaint: the common roles
        # answer from per-page caches, in a few dictionary lookups.
        if role not in _ROLES or not index.isValid():
            return None
        r, c = index.row(), index.column()
        page, offset = divmod(r, PAGE)
        cells = self._cells.get(page)
        if cells is None or offset >= len(cells):
            self.row_at(r)  # asks for the page
            return "…" if role == _DISPLAY and c == 1 else None
        if role == _DISPLAY:
            return cells[offset][c]
        if role == _ALIGN:
            return _RIGHT if COLUMNS[c].numeric else None
        row = self._pages[page][offset]
        if role == _DECORATION:
            return self.session.thumbnail(row.id) if c == 0 else None
        if role == _FOREGROUND:
            return _FAILED if row.status != "ok" else None
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        column = COLUMNS[c]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column.key == "hashtags":
                return plain_tooltip(" ".join("#" + t for t in row.hashtags))
            if column.key in ("id", "author", "sound"):
                return plain_tooltip(display(row, column.key))
            if column.key == "like_forecast" and row.like_forecast is not None:
                return "The like forecast of the run's stored analysis (out-of-fold for videos whose likes are known)"
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = COLUMNS[column].sort
        if key is None:
            return
        self.set_query(replace(self.query, sort=key, descending=order == Qt.SortOrder.DescendingOrder))


def display(row: "VideoRow", key: str) -> str:
    """What the table shows for one cell (plain text)."""
    from reelscope.core.numbers import format_count

    if key == "thumb":
        return ""
    if key == "followers":
        return likes_text(row.followers) if row.followers is not None else ""
    if key == "posted_at":
        return format_date(row.posted_at)
    if key in ("likes", "like_forecast"):
        value = getattr(row, key)
        return likes_text(value) if value is not None else ""
    if key == "originality":
        return f"{row.originality:.0f}" if row.originality is not None else ""
    if key == "hashtags":
        return " ".join("#" + t for t in row.hashtags[:4]) + (" …" if len(row.hashtags) > 4 else "")
    if key == "author":
        return ("@" + row.author) if row.author and not row.author.startswith("@") else (row.author or "")
    value = getattr(row, key)
    return "" if value is None else str(value)
