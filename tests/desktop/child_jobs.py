"""Job functions the desktop tests run in a child process. A spawned child imports them by
module name, so this module imports nothing from either conftest (whose name the child
may resolve to the other one)."""

from __future__ import annotations

import os
import time

import numpy as np


def child_pid(progress, cancel):
    """Its own pid, after one progress event."""
    from reelscope.core.progress import Progress

    progress(Progress("count", 1, 1, "counted"))
    return os.getpid()


def child_waits_for_cancel(progress, cancel):
    from reelscope.core.progress import Reporter

    reporter = Reporter("wait", 10_000, progress, cancel)
    for _ in range(10_000):
        time.sleep(0.01)
        reporter.step()


def child_dies(progress, cancel):
    os._exit(3)


def fake_file_job(progress, cancel, *, library, file, kind, k, run_id):
    """Stands in for embedding a file (the synthetic library has no weights): the file
    "embeds" next to v003, then the real index answers."""
    from reelscope.core.analytics.similar import similar_videos
    from reelscope.core.store.library import Library

    with np.load(library / "runs" / "run-a" / "embeddings.npz") as z:
        vector = z[kind][3] + 1e-3
    with Library.open(library, read_only=True) as lib:
        hits = similar_videos(lib, vector, k, run_id="run-a", kind=kind)
    return "run-a", [(str(v), float(s)) for v, s in hits], None, False
