"""Light and dark palettes (Fusion), following the system's scheme unless told otherwise."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = QColor("#4f46e5")


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hasattr(hints, "colorScheme") and hints.colorScheme() == Qt.ColorScheme.Dark


def is_dark() -> bool:
    """Whether the window is drawn dark now (plots pick their colours from this)."""
    return QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def apply_palette(app: QApplication, scheme: str = "system") -> None:
    """``scheme``: light, dark or system. Fusion draws both the same on every platform."""
    app.setStyle("Fusion")
    dark = system_is_dark() if scheme == "system" else scheme == "dark"
    app.setPalette(dark_palette() if dark else light_palette())
    app.setProperty("reelscope_scheme", "dark" if dark else "light")


def light_palette() -> QPalette:
    p = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#f5f5f7", QPalette.ColorRole.WindowText: "#1d1d1f",
        QPalette.ColorRole.Base: "#ffffff", QPalette.ColorRole.AlternateBase: "#f0f0f4",
        QPalette.ColorRole.Text: "#1d1d1f", QPalette.ColorRole.Button: "#ececf0",
        QPalette.ColorRole.ButtonText: "#1d1d1f", QPalette.ColorRole.ToolTipBase: "#ffffff",
        QPalette.ColorRole.ToolTipText: "#1d1d1f", QPalette.ColorRole.PlaceholderText: "#8a8a92",
        QPalette.ColorRole.Highlight: ACCENT.name(), QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: ACCENT.name(), QPalette.ColorRole.Mid: "#c8c8d0",
    }
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#a0a0a8"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#a0a0a8"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#a0a0a8"))
    return p


def dark_palette() -> QPalette:
    p = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#1e1f24", QPalette.ColorRole.WindowText: "#e8e8ec",
        QPalette.ColorRole.Base: "#16171b", QPalette.ColorRole.AlternateBase: "#22232a",
        QPalette.ColorRole.Text: "#e8e8ec", QPalette.ColorRole.Button: "#2a2b32",
        QPalette.ColorRole.ButtonText: "#e8e8ec", QPalette.ColorRole.ToolTipBase: "#2a2b32",
        QPalette.ColorRole.ToolTipText: "#e8e8ec", QPalette.ColorRole.PlaceholderText: "#7c7c86",
        QPalette.ColorRole.Highlight: "#6d64f0", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#8f88ff", QPalette.ColorRole.Mid: "#3a3b44",
        QPalette.ColorRole.BrightText: "#ffffff",
    }
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6a6a72"))
    return p
