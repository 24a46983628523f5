"""The Authors view (placeholder until it is built)."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout

from reelscope.desktop.widgets import EmptyState, Panel


class AuthorsPanel(Panel):
    name = "authors"
    title = "Authors"

    def __init__(self, session, jobs, parent=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session, jobs, parent)
        layout = QVBoxLayout(self)
        layout.addWidget(EmptyState("Authors: not built yet"))
