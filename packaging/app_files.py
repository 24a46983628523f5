"""What the frozen app must carry that PyInstaller cannot find by following imports:
every file of ``reelscope.resources`` (icons, the report's style sheet), and the modules
loaded by name (each desktop view, each CLI command group, the training child's entry
point). The spec also collects every ``reelscope`` submodule.
The spec reads both from here, and tests/test_packaging.py checks them against the tree."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def data_files() -> list[tuple[str, str]]:
    """(source file, folder inside the app) for every file under resources/."""
    out = []
    for path in sorted((ROOT / "resources").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            out.append((str(path), str(Path("reelscope") / "resources" / path.parent.relative_to(ROOT / "resources"))))
    return out


def hidden_imports() -> list[str]:
    """Modules imported by name at run time (importlib), which PyInstaller cannot see."""
    from reelscope.core.cli.main import COMMAND_MODULES
    from reelscope.desktop.main_window import VIEWS

    views = [f"reelscope.desktop.{module}" for _, module, _, _ in VIEWS]
    return views + list(COMMAND_MODULES) + [
        "reelscope.desktop.app", "reelscope.training.__main__", "reelscope.core.cli.main",
        "PySide6.QtMultimedia", "PySide6.QtMultimediaWidgets", "PySide6.QtSvg",
        "sklearn.utils._typedefs", "sklearn.neighbors._partition_nodes",
        "sklearn.neighbors._quad_tree",
    ]
