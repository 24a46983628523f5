"""The Similar videos view (placeholder until it is built)."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout

from reelscope.desktop.widgets import EmptyState, Panel


class SimilarPanel(Panel):
    name = "similar"
    title = "Similar videos"

    def __init__(self, session, jobs, parent=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session, jobs, parent)
        layout = QVBoxLayout(self)
        layout.addWidget(EmptyState("Similar videos: not built yet"))
