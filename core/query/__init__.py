"""Read-only queries for the desktop window: a page of the video table, one video's
detail panel, the scatter plot's arrays, thumbnails and a change counter to poll.

Every query reads what is stored — ``library.db`` and each run's stored results
(``runs/<run>/analytics/``, its embeddings and saved similarity index) — and never
writes a file, starts an analysis or builds an index: when something is missing or
stale the result leaves it empty and its ``notes`` say which command makes it. Results
are frozen dataclasses (``results.py``). Queries are safe to call from worker threads;
each ``Library`` object gets one private read-only connection (``reader.py``) and
caches keyed by what they were read from, so a change is seen on the next call.

May import: ``reelscope.core.store`` and, in ``reelscope.core.analytics``, the loaders
of stored results and the pure functions that read them (load_analysis, the stored
forecast and hashtag models, VectorIndex.load, explain_forecast) — never one that fits
a model or builds an index. Never imports ingest, encoding, report, cli, the demo,
training, desktop or Qt. Only the CLI and the desktop window import this package.
"""

from __future__ import annotations

from reelscope.core.query.authors import author_table
from reelscope.core.query.frames import frame_strip
from reelscope.core.query.reader import change_counter
from reelscope.core.query.results import (AuthorRow, LikeForecast, Neighbour, ScatterData,
                                          SoundCluster, TagSuggestion, VideoDetail, VideoPage,
                                          VideoRow)
from reelscope.core.query.scatter import scatter_data
from reelscope.core.query.videos import SORTS, posted_range, thumbnail, video_detail, video_page

__all__ = ["frame_strip", "posted_range", "video_page", "video_detail", "thumbnail", "scatter_data", "change_counter", "SORTS",
           "VideoPage", "VideoRow", "VideoDetail", "LikeForecast", "Neighbour", "TagSuggestion",
           "SoundCluster", "ScatterData", "author_table", "AuthorRow"]
