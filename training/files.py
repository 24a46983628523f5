"""Atomic files: the one way Reelscope replaces a file on disk (no torch here, so core and
the demo use it too).

A writer writes a temporary file beside the target (hidden, named after the target,
this process and thread), flushes it to disk, and renames it over the target — so a
reader, or a run after a crash or a SIGKILL, sees the old file or the new one, never
half of one. Temporary files a killed writer left behind start with a dot and end in
``.tmp``; the clip cache sweeps its own.
"""

from __future__ import annotations

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
