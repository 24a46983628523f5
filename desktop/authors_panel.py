"""The Authors view: who posts the library's videos, how their likes compare once their
reach is taken into account, and how original they are — a sortable, filterable table
(core's :func:`~reelscope.core.query.author_table`). "Show their videos" (or a
double-click) filters the video table by the author."""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QPersistentModelIndex,
                            QSortFilterProxyModel, Qt)
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLineEdit, QPushButton,
                               QTableView, QVBoxLayout, QWidget)

from reelscope.core.numbers import format_count, format_number
from reelscope.desktop.widgets import EmptyState, Panel, heading, likes_text, plain_label

#: the role the proxy sorts by: numbers as numbers, unknown values (None) always last
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
AUTHOR_ID_ROLE = Qt.ItemDataRole.UserRole + 2

ModelIndex = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


def _text(field: str, fmt: Callable[[Any], str]) -> Callable[[Any], str]:
    return lambda row: fmt(getattr(row, field))


# (header, AuthorRow field, display text, tooltip)
COLUMNS: tuple[tuple[str, str, Callable[[Any], str], str], ...] = (
    ("Author", "handle", _text("handle", str), "The author's handle"),
    ("Followers", "followers", _text("followers", likes_text), "Followers when the metadata was saved"),
    ("Videos", "videos", _text("videos", format_count), "The author's videos in this library"),
    ("Median likes", "median_likes", _text("median_likes", likes_text),
     "Median likes of the author's videos"),
    ("Likes per 1k followers", "reach_adjusted_likes",
     _text("reach_adjusted_likes", lambda x: format_number(x, 1)),
     "Median likes per 1,000 followers: how well the videos do for the account's size"),
    ("Originality", "mean_originality", _text("mean_originality", lambda x: format_number(x, 0)),
     "Mean originality (0-100) of the author's analysed videos; higher = more original"),
    ("Sounds used", "sounds_used", _text("sounds_used", format_count), "Distinct sounds in their videos"),
)


class AuthorsModel(QAbstractTableModel):
    """The rows of :func:`author_table`, one per line; :data:`SORT_ROLE` gives the raw value."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.rows: Sequence[Any] = ()

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: ModelIndex = _ROOT) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: ModelIndex = _ROOT) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        _, field, text, _ = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return text(row)
        if role == SORT_ROLE:
            value = getattr(row, field)
            return value.casefold() if isinstance(value, str) else value
        if role == AUTHOR_ID_ROLE:
            return row.author_id
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 0:
            return f"{row.handle} (id {row.author_id})"
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][3]
        return None


class AuthorsProxy(QSortFilterProxyModel):
    """Sorts by :data:`SORT_ROLE` with unknown values last in either direction, and
    filters on the handle (case-insensitive substring)."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterKeyColumn(0)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def lessThan(self, left: ModelIndex, right: ModelIndex) -> bool:  # noqa: N802
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        if a is None or b is None:
            # None sorts as the largest value ascending and the smallest descending: last both ways
            descending = self.sortOrder() == Qt.SortOrder.DescendingOrder
            return (a is not None) != descending if (a is None) != (b is None) else False
        return a < b


class AuthorsPanel(Panel):
    name = "authors"
    title = "Authors"

    def __init__(self, session: Any, jobs: Any, parent: Optional[QWidget] = None) -> None:
        super().__init__(session, jobs, parent)
        self.model = AuthorsModel(self)
        self.proxy = AuthorsProxy(self)
        self.proxy.setSourceModel(self.model)

        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        rows = self.table.verticalHeader()
        rows.setVisible(False)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)  # share the width evenly
        header.setMinimumSectionSize(90)
        header.setHighlightSections(False)
        self.table.doubleClicked.connect(self._on_double_clicked)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)

        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter by handle…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._on_filter_changed)
        self.show_videos = QPushButton("Show their videos", self)
        self.show_videos.setEnabled(False)
        self.show_videos.setToolTip("Open the Videos view filtered by the selected author (or double-click)")
        self.show_videos.clicked.connect(self._on_show_videos)
        self.count_label = plain_label("", self)
        self.note = plain_label("", self, wrap=True)
        self.note.setVisible(False)

        top = QHBoxLayout()
        top.addWidget(heading(self.title, self))
        top.addSpacing(16)
        top.addWidget(self.filter, 1)
        top.addWidget(self.count_label)
        top.addWidget(self.show_videos)
        table_page = QWidget(self)
        inner = QVBoxLayout(table_page)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(top)
        inner.addWidget(self.note)
        inner.addWidget(self.table, 1)

        self.empty = EmptyState(parent=self)
        self.stack = self.fill_with(table_page, self.empty)

    # ------------------------------------------------------------------ loading
    def refresh(self) -> None:
        from reelscope.core.query import author_table

        run_id = self.session.run_id
        self.load("authors", lambda library: author_table(library, run_id), self._on_loaded,
                  self._on_failed)

    def _on_loaded(self, rows: Sequence[Any]) -> None:
        selected = self.selected_author()
        self.model.set_rows(rows)
        if not rows:
            self.empty.set_message("No authors yet: the videos have no metadata naming their "
                                   "authors. Import a metadata file with them (File → Import Videos…).")
            self.stack.setCurrentWidget(self.empty)
            return
        self.stack.setCurrentWidget(self.stack.widget(0))
        no_scores = all(r.mean_originality is None for r in rows)
        self.note.setText("Originality appears once the run is analysed (Training → Analyse)."
                          if no_scores else "")
        self.note.setVisible(no_scores)
        self._update_count()
        if selected:
            self.select_author(selected)

    def _on_failed(self, message: str, details: str) -> None:
        self.empty.set_message(f"The authors could not be read: {message}")
        self.stack.setCurrentWidget(self.empty)

    # ---------------------------------------------------------------- selection
    def selected_author(self) -> Optional[str]:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(AUTHOR_ID_ROLE) if rows else None

    def select_author(self, author_id: str) -> bool:
        for r in range(self.proxy.rowCount()):
            index = self.proxy.index(r, 0)
            if index.data(AUTHOR_ID_ROLE) == author_id:
                self.table.selectRow(r)
                self.table.scrollTo(index)
                return True
        return False

    def _on_selection_changed(self, *_: Any) -> None:
        self.show_videos.setEnabled(self.selected_author() is not None)

    def _on_double_clicked(self, index: QModelIndex) -> None:
        author = index.data(AUTHOR_ID_ROLE)
        if author:
            self.session.filter_requested.emit({"author": author})

    def _on_show_videos(self) -> None:
        author = self.selected_author()
        if author:
            self.session.filter_requested.emit({"author": author})

    def _on_filter_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip().lstrip("@"))
        self._update_count()

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{total:,} authors" if shown == total
                                 else f"{shown:,} of {total:,} authors")
