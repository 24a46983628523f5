"""Pieces the views share: the panel base, a thumbnail gallery, empty states and
plain-text labels (user text is never interpreted as rich text anywhere in the window)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPixmap
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget)

if TYPE_CHECKING:
    from reelscope.desktop.jobs import JobRunner
    from reelscope.desktop.session import Session


def plain_label(text: str = "", parent: Optional[QWidget] = None, *, wrap: bool = False,
                selectable: bool = False) -> QLabel:
    """A QLabel that shows ``text`` literally: ``<b>`` in a caption stays ``<b>``."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    label.setWordWrap(wrap)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def plain_tooltip(text: str) -> str:
    """A tooltip that shows ``text`` literally. Qt renders a tooltip as rich text whenever
    it looks like markup, so user text is escaped inside an explicit rich-text paragraph."""
    import html

    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>" if text else ""


def heading(text: str, parent: Optional[QWidget] = None, scale: float = 1.35) -> QLabel:
    label = plain_label(text, parent)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(True)
    label.setFont(font)
    return label


def format_date(ts: Optional[int]) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(int(ts), tz=timezone.utc).strftime("%Y-%m-%d")


def likes_text(x: Any) -> str:
    from reelscope.core.numbers import format_likes

    return format_likes(x) if x is not None else "—"


class Panel(QWidget):
    """One view of the window. Subclasses set ``name`` (the ``--view`` key) and ``title``,
    build their widgets in ``__init__`` and (re)load in :meth:`refresh`, reading only
    through ``session.query``; :meth:`busy` says whether anything is still loading (a
    screenshot waits until it is False)."""

    name = ""
    title = ""

    def __init__(self, session: "Session", jobs: "JobRunner", parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.session = session
        self.jobs = jobs
        self._keys: set[str] = set()
        self._stale = True
        # Opening a library emits data_changed too: listening to library_changed as well
        # made every visible view read everything twice on each open.
        session.data_changed.connect(self._on_data_changed)

    # Subclasses override.
    def refresh(self) -> None:
        """Reload what the panel shows from the session's library."""

    def busy(self) -> bool:
        return bool(self._keys)

    def show_video(self, video_id: str) -> None:
        """Bring ``video_id`` forward (``--video``); panels that show one video override."""

    def show_file(self, path: str) -> None:
        """Start on ``path`` (``--file``); panels that take a file override."""

    # Helpers.
    def fill_with(self, *pages: QWidget) -> QStackedWidget:
        """The panel's whole area as a stack of ``pages`` (its content and its empty
        state); the first is shown. Returns the stack."""
        stack = QStackedWidget(self)
        for page in pages:
            stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.addWidget(stack)
        return stack

    def load(self, key: str, fn: Callable[[Any], Any], on_result: Callable[[Any], None],
             on_error: Optional[Callable[[str, str], None]] = None) -> None:
        """``session.query`` keyed by this panel and ``key``; :meth:`busy` is True until
        the newest request of every key has answered (older ones never answer)."""
        self._keys.add(key)

        def done(value: Any) -> None:
            self._keys.discard(key)
            on_result(value)

        def failed(message: str, details: str) -> None:
            self._keys.discard(key)
            if on_error:
                on_error(message, details)
            else:
                self.session.status_message.emit(message)

        self.session.query((self.name, key), fn, done, failed)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._stale and self.session.library is not None:
            self._stale = False
            self.refresh()

    def _on_data_changed(self) -> None:
        if self.isVisible() and self.session.library is not None:
            self._stale = False
            self.refresh()
        else:
            self._stale = True


class EmptyState(QFrame):
    """A message and, optionally, the one button that gets the user past it
    ("No training run yet — Train now")."""

    def __init__(self, message: str = "", action: str = "", on_action: Optional[Callable[[], None]] = None,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.label = plain_label(message, self, wrap=True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.label.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.label.setFont(font)
        layout.addWidget(self.label)
        self.button = QPushButton(action, self)
        self.button.setVisible(bool(action))
        self._on_action = on_action
        if on_action:
            self.button.clicked.connect(on_action)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)

    def set_message(self, message: str, action: str = "", on_action: Optional[Callable[[], None]] = None) -> None:
        self.label.setText(message)
        self.button.setText(action)
        self.button.setVisible(bool(action))
        if self._on_action is not None:
            self.button.clicked.disconnect(self._on_action)
        self._on_action = on_action
        if on_action:
            self.button.clicked.connect(on_action)


def placeholder_pixmap(size: QSize, text: str = "") -> QPixmap:
    pix = QPixmap(size)
    pix.fill(QColor(128, 128, 128, 60))
    if text:
        p = QPainter(pix)
        p.setPen(QGuiApplication.palette().placeholderText().color())
        p.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter, text)
        p.end()
    return pix


class Gallery(QListWidget):
    """A grid of video thumbnails with a caption each (score, likes); a click selects the
    video everywhere (``session.select``), a double-click emits :attr:`opened`."""

    opened = Signal(str)

    def __init__(self, session: "Session", parent: Optional[QWidget] = None, thumb: int = 150) -> None:
        super().__init__(parent)
        self.session = session
        self.thumb = thumb
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setUniformItemSizes(True)
        self.setWordWrap(True)
        self.setIconSize(QSize(thumb, thumb))
        self.setGridSize(QSize(thumb + 24, thumb + 58))
        self.setSpacing(4)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._placeholder = placeholder_pixmap(QSize(thumb, thumb))
        self.itemClicked.connect(lambda it: session.select(it.data(Qt.ItemDataRole.UserRole)))
        self.itemActivated.connect(lambda it: self.opened.emit(it.data(Qt.ItemDataRole.UserRole)))

    def set_items(self, items: Iterable[tuple[str, str]]) -> None:
        """``items``: (video id, caption) in display order. Captions are plain text
        (a list item never interprets markup)."""
        self.clear()
        ids = []
        for vid, caption in items:
            item = QListWidgetItem(caption)
            item.setData(Qt.ItemDataRole.UserRole, vid)
            item.setToolTip(plain_tooltip(f"{vid}\n{caption}"))
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            pix = self.session.thumbnail(vid)
            item.setIcon(pix if pix is not None else self._placeholder)
            self.addItem(item)
            ids.append(vid)
        if ids:
            self.session.load_thumbnails(ids, self._thumbs_loaded, key=("gallery", id(self)))

    def ids(self) -> list[str]:
        return [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())]

    def _thumbs_loaded(self, loaded: list[str]) -> None:
        wanted = set(loaded)
        for i in range(self.count()):
            item = self.item(i)
            vid = item.data(Qt.ItemDataRole.UserRole)
            if vid in wanted:
                pix = self.session.thumbnail(vid)
                if pix is not None:
                    item.setIcon(pix)
