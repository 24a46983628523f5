"""The PySide6 desktop window: one client of ``reelscope.core``."""
