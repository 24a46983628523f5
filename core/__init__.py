"""The headless engine: the library store, ingest, training runs, analytics, reports and
the CLI — the one API that the CLI, the desktop window and a user's script stand on.

Packages (docs/ARCHITECTURE.md draws them and the imports allowed between them):
``store`` (the library on disk; the only writer of ``library.db``), ``ingest`` (media,
metadata, the importer), ``encoding`` (training runs and embeddings), ``analytics``
(similar, originality, forecast, hashtags, sounds, evaluate, predict, analyze),
``report`` (HTML/PDF report, CSV/NPZ export) and ``cli``; ``progress`` is the progress
and cancel protocol every long job shares.

The names below are the API for scripts; they load on first use, so ``import
reelscope.core`` stays light. Never imports Qt; heavy libraries (torch, sklearn,
hnswlib, PyAV) are imported lazily.
"""

from __future__ import annotations

import importlib
from typing import Any

from reelscope.core.progress import CancelToken, Cancelled, Progress
from reelscope.core.store.library import Library

_LAZY = {
    "import_folder": "reelscope.core.ingest.importer",
    "import_files": "reelscope.core.ingest.importer",
    "train": "reelscope.core.encoding.train",
    "embed": "reelscope.core.encoding.train",
    "analyze": "reelscope.core.analytics.analyze",
    "similar_videos": "reelscope.core.analytics.similar",
    "predict_files": "reelscope.core.analytics.predict",
    "evaluate_library": "reelscope.core.analytics.evaluate",
    "write_report": "reelscope.core.report.content",
    "export": "reelscope.core.report.export",
}

__all__ = ["Library", "CancelToken", "Cancelled", "Progress", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'reelscope.core' has no attribute {name!r}")
