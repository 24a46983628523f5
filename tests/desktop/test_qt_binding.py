"""The Qt binding itself: PySide6 6.12.0 lost a reference to None on every call of a
method returning nothing (QLabel.setText, QWidget.repaint, QTableWidget.setItem...), so
the window aborted ("deallocating None") after a few thousand such calls — minutes of
use. pyproject.toml keeps that release out; this test catches any release that does it."""

from __future__ import annotations

import sys

from PySide6.QtCore import QAbstractTableModel, QModelIndex
from PySide6.QtWidgets import QLabel, QTableWidget, QTableWidgetItem


def _lost(fn, n: int = 200) -> int:
    before = sys.getrefcount(None)
    for _ in range(n):
        fn()
    return before - sys.getrefcount(None)


class _Empty(QAbstractTableModel):
    def rowCount(self, parent=QModelIndex()):  # noqa: N802
        return 1

    def columnCount(self, parent=QModelIndex()):  # noqa: N802
        return 1

    def data(self, index, role=0):
        return None


def test_void_calls_and_empty_data_keep_none_alive(qtbot):
    label = QLabel("x")
    qtbot.addWidget(label)
    table = QTableWidget(2, 2)
    qtbot.addWidget(table)
    model = _Empty()
    assert _lost(lambda: label.setText("y")) <= 0
    assert _lost(label.repaint) <= 0
    assert _lost(lambda: table.setItem(0, 0, QTableWidgetItem("z"))) <= 0
    assert _lost(lambda: model.index(0, 0).data(1)) <= 0
