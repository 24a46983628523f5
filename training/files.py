"""Atomic files: the one way Reelscope replaces a file on disk (no torch here, so core and
the demo use it too).

A writer writes a temporary file beside the target (hidden, named after the target,
this process and thread), flushes it to disk, and renames it over the target — so a
reader, or a run after a crash or a SIGKILL, sees the old file or the new one, never
half of one. Temporary files a killed writer left behind start with a dot and end in
``.tmp``; the clip cache sweeps its own, and :func:`sweep_temps` those of a report or a run
folder.
"""

from __future__ import annotations

import glob
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from reelscope.training import faults


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to (by any library: numpy, safetensors,
    matplotlib, hnswlib, PyAV); on success it is fsynced and renamed over ``path``, on
    an error removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        yield tmp
        faults.point("file.partial", path, torn=tmp)  # a kill mid-write leaves half of tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        faults.point("file.rename", path)  # complete, not yet in place
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def sweep_temps(folder: str | Path, name: str | None = None, recursive: bool = False) -> int:
    """Delete the temporary files that writers killed between writing and renaming left in
    ``folder`` (only those of ``name`` when given; subfolders too with ``recursive``); a
    temporary file of a process still running is kept. Returns how many were deleted."""
    folder = Path(folder)
    pattern = f".{glob.escape(name)}.*.tmp" if name else ".*.tmp"
    if os.name == "nt" or not folder.is_dir():  # os.kill(pid, 0) is no probe on Windows
        return 0
    removed = 0
    for tmp in list(folder.rglob(pattern) if recursive else folder.glob(pattern)):
        pid = tmp.name.rsplit(".", 3)[1] if tmp.name.count(".") >= 4 else ""
        if pid.isdigit() and not _running(int(pid)):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: running
        return True
    return True
