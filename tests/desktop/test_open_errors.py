"""The window keeps the CLI's error contract: a library it cannot open is one plain
sentence in a dialog — the very line ``reelscope info`` prints — never a traceback,
and the window stays usable (no library open, the welcome view)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox
from reelscope.core.cli.main import main
from reelscope.core.store.library import Library


def _junk(root: Path) -> Path:
    root.mkdir()
    (root / "library.db").write_bytes(np.random.default_rng(0).bytes(8192))
    return root


def _empty(root: Path) -> Path:
    root.mkdir()
    (root / "library.db").write_bytes(b"")
    return root


def _foreign(root: Path) -> Path:
    root.mkdir()
    conn = sqlite3.connect(root / "library.db")
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()
    return root


def _newer(root: Path) -> Path:
    with Library.create(root) as lib:
        lib.db.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', 0)")
    return root


def _under_a_file(root: Path) -> Path:
    root.write_text("a file")
    return root / "library"


def _missing(root: Path) -> Path:
    return root / "nowhere"


CASES = {"not-a-database": (_junk, "library.db"), "empty-db": (_empty, "empty"),
         "foreign-db": (_foreign, "another application's database"), "newer-schema": (_newer, "newer"),
         "parent-is-a-file": (_under_a_file, "no library.db"), "missing": (_missing, "no library.db")}


@pytest.mark.parametrize("case", list(CASES))
def test_a_broken_library_is_the_cli_line_in_a_dialog(window, tmp_path, capsys, case):
    build, says = CASES[case]
    lib = build(tmp_path / "case")
    assert main(["info", "--library", str(lib), "--quiet"]) == 1
    cli_line = capsys.readouterr().err.strip().removeprefix("reelscope info: ")

    assert window.open_library(lib) is False
    boxes = window.findChildren(QMessageBox)
    assert len(boxes) == 1
    text = boxes[0].text()
    assert text == cli_line and says in text
    assert "\n" not in text and "Traceback" not in text and not boxes[0].detailedText()
    assert window.session.library is None and window.windowTitle() == "Reelscope"
