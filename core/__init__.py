"""The headless engine: library store, ingest, analytics, reports and the CLI.

Never imports Qt; heavy libraries (torch, sklearn, pyod, hnswlib) are imported lazily.
"""

from reelscope.core.library import Library
from reelscope.core.progress import CancelToken, Cancelled, Progress

__all__ = ["Library", "CancelToken", "Cancelled", "Progress"]
