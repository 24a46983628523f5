"""The layers' import contracts (docs/ARCHITECTURE.md), enforced on every import statement
in every module, the lazy ones inside functions included, and by importing every module.

- ``reelscope.training`` imports nothing from core, the demo, desktop or Qt;
- ``reelscope.core`` imports nothing from desktop or Qt;
- inside core: the store imports no other core package; ingest and encoding import no
  analytics, report or CLI; analytics import no report or CLI; report imports no CLI;
  only the CLI may import the demo generator;
- the window's queries (core.query) import no ingest, encoding, report, CLI, demo or
  training, and only the CLI (and the desktop) import them;
- heavy libraries stay lazy: importing core and building the CLI loads none of them.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"reelscope.core": ROOT / "core", "reelscope.training": ROOT / "training",
           "reelscope.demo": ROOT / "demo", "reelscope": ROOT / "packaging" / "reelscope"}
QT = ("PySide6", "shiboken6", "pyqtgraph", "superqt", "reelscope.desktop")
CORE_PACKAGES = ("store", "ingest", "encoding", "analytics", "report", "cli", "query")

# importer prefix -> prefixes it must never import
FORBIDDEN = {
    "reelscope.training": ("reelscope.core", "reelscope.demo", *QT),
    "reelscope.core": QT,
    "reelscope.demo": (*QT, "reelscope.core.query"),
    "reelscope.core.store": tuple(f"reelscope.core.{p}" for p in CORE_PACKAGES if p != "store")
    + ("reelscope.demo",),
    "reelscope.core.ingest": tuple(f"reelscope.core.{p}" for p in ("encoding", "analytics", "report", "cli", "query"))
    + ("reelscope.demo",),
    "reelscope.core.encoding": tuple(f"reelscope.core.{p}" for p in ("ingest", "analytics", "report", "cli", "query"))
    + ("reelscope.demo",),
    "reelscope.core.analytics": ("reelscope.core.report", "reelscope.core.cli", "reelscope.demo",
                                 "reelscope.core.query"),
    "reelscope.core.report": ("reelscope.core.cli", "reelscope.demo", "reelscope.core.query"),
    "reelscope.core.query": tuple(f"reelscope.core.{p}" for p in ("ingest", "encoding", "report", "cli"))
    + ("reelscope.demo", "reelscope.training"),
}


def modules() -> list[tuple[str, Path]]:
    out = []
    for package, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            if package == "reelscope" and path.parent != folder:
                continue
            rel = path.relative_to(folder).with_suffix("").parts
            if rel[-1] == "__init__":
                rel = rel[:-1]
            out.append((".".join((package, *rel)), path))
    return out


def imports_of(name: str, path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every import statement in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found += [(node.lineno, f"{base}.{a.name}" if base else a.name) for a in node.names]
    return found


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_no_module_breaks_a_layer_contract():
    broken = []
    for name, path in modules():
        rules = [bad for importer, bad in FORBIDDEN.items() if _under(name, importer)]
        for line, target in imports_of(name, path):
            for bad in (b for rule in rules for b in rule):
                if _under(target, bad):
                    broken.append(f"{path.relative_to(ROOT)}:{line} {name} imports {target}")
    assert not broken, "\n".join(broken)


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from reelscope.desktop import app\n    from . import cli\n")
    found = [t for _, t in imports_of("reelscope.core.store.probe", probe)]
    assert found == ["reelscope.desktop.app", "reelscope.core.store.cli"]


@pytest.mark.parametrize("name", [n for n, _ in modules() if not n.endswith("__main__")])
def test_every_module_imports(name):
    importlib.import_module(name)


def test_core_and_its_cli_load_no_heavy_library():
    heavy = ("torch", "sklearn", "pyod", "hnswlib", "PySide6", "matplotlib", "av")
    code = ("import sys, reelscope.core, reelscope.entry; from reelscope.core.cli.main import build_parser; "
            "build_parser(); print(' '.join(m for m in %r if m in sys.modules))" % (heavy,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"loaded at import time: {out.stdout.strip()}"


def test_every_package_folder_says_what_it_may_import():
    for package in CORE_PACKAGES:
        doc = importlib.import_module(f"reelscope.core.{package}").__doc__ or ""
        assert "import" in doc, f"reelscope.core.{package} has no import rule in its docstring"
    assert pkgutil.find_loader("reelscope.demo.generator")
