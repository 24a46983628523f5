"""Settings kept in QSettings: colour scheme, demo folder, import time limit per file."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QLineEdit, QWidget)

from reelscope.desktop.theme import apply_palette


def file_timeout() -> float:
    return float(QSettings().value("import/file_timeout", 300.0))


class SettingsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        form = QFormLayout(self)
        settings = QSettings()
        self.palette = QComboBox(self)
        self.palette.addItems(["system", "light", "dark"])
        self.palette.setCurrentText(str(settings.value("palette", "system")))
        form.addRow("Colours", self.palette)
        self.timeout = QDoubleSpinBox(self)
        self.timeout.setRange(5, 3600)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(file_timeout())
        form.addRow("Import: longest time per file", self.timeout)
        from reelscope.desktop.welcome_panel import demo_root

        self.demo = QLineEdit(str(demo_root()), self)
        form.addRow("Demo library folder", self.demo)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        settings = QSettings()
        settings.setValue("palette", self.palette.currentText())
        settings.setValue("import/file_timeout", self.timeout.value())
        settings.setValue("demo/dir", self.demo.text().strip())
        from PySide6.QtWidgets import QApplication

        apply_palette(QApplication.instance(), self.palette.currentText())  # type: ignore[arg-type]
        super().accept()
