"""The Videos view (placeholder until it is built)."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout

from reelscope.desktop.widgets import EmptyState, Panel


class LibraryPanel(Panel):
    name = "library"
    title = "Videos"

    def __init__(self, session, jobs, parent=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session, jobs, parent)
        layout = QVBoxLayout(self)
        layout.addWidget(EmptyState("Videos: not built yet"))

    def import_dialog(self, paths=None) -> None:  # type: ignore[no-untyped-def]
        pass

    def rescan(self) -> None:
        pass
