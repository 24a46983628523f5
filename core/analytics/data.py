"""The data every analysis reads: one training run's embeddings joined to the library's videos.

:func:`runs_with_embeddings` lists the runs that can be analysed, :func:`resolve_run`
picks one (the newest by default), and :func:`load_data` aligns its embeddings with the
library's videos as an :class:`AnalysisData` (row i ↔ ``videos[i]``), whose properties
give the per-video columns the analyses need: likes, followers, authors, sounds,
hashtags, posting times and the forecast's features.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Optional

import numpy as np

if TYPE_CHECKING:
    from reelscope.core.analytics.forecast import LikeFeatures
    from reelscope.core.store.embeddings import Embeddings
    from reelscope.core.store.library import Library
    from reelscope.core.store.models import TrainingRun, Video


def runs_with_embeddings(library: "Library") -> list["TrainingRun"]:
    """Runs (oldest first) whose folder holds an ``embeddings.npz``."""
    from reelscope.core.store.embeddings import FILE_NAME

    return [r for r in library.runs() if (library.path / r.dir / FILE_NAME).exists()]


def resolve_run(library: "Library", run_id: Optional[str] = None) -> "TrainingRun":
    """``run_id``'s run, or the newest run with embeddings; clear errors otherwise."""
    from reelscope.core.store.embeddings import embeddings_path

    return embeddings_path(library, run_id)[0]


@dataclass
class AnalysisData:
    """One run's embeddings joined to the library's videos (row i ↔ ``videos[i]``).

    The per-video columns are computed once (cached): callers index them row by row, and
    rebuilding a 300k-long list per row made the hashtag suggester quadratic.
    """

    run: "TrainingRun"
    embeddings: "Embeddings"
    videos: list["Video"]
    not_embedded: int = 0

    @cached_property
    def ids(self) -> list[str]:
        return [v.id for v in self.videos]

    def kind(self, name: str) -> np.ndarray:
        """float32 [N, D] embeddings of kind ``name``."""
        return self.embeddings.kind(name)

    @cached_property
    def likes(self) -> np.ndarray:
        """float64 [N], NaN where unknown (read-only)."""
        return _frozen(np.array([np.nan if v.likes is None else float(v.likes) for v in self.videos]))

    def likes_or_none(self, i: int) -> Optional[float]:
        return None if self.videos[i].likes is None else float(self.videos[i].likes)

    @cached_property
    def followers(self) -> np.ndarray:
        """float64 [N], NaN where unknown (read-only)."""
        return _frozen(np.array([np.nan if v.author is None or v.author.followers is None
                                 else float(v.author.followers) for v in self.videos]))

    @cached_property
    def authors(self) -> list[Optional[str]]:
        return [v.author.id if v.author else None for v in self.videos]

    @cached_property
    def sound_ids(self) -> list[Optional[str]]:
        return [v.sound.id if v.sound else None for v in self.videos]

    @cached_property
    def tags(self) -> list[tuple[str, ...]]:
        return [v.hashtags for v in self.videos]

    @cached_property
    def posted_at(self) -> list[Optional[int]]:
        return [v.posted_at for v in self.videos]

    def features(self, kind: str) -> "LikeFeatures":
        from reelscope.core.analytics.forecast import features_for_videos

        return features_for_videos(self.videos, self.kind(kind))

    def with_likes(self) -> np.ndarray:
        """int [M] rows whose likes are known."""
        return np.flatnonzero(~np.isnan(self.likes))

    def with_tags(self) -> np.ndarray:
        """int [M] rows with at least one hashtag."""
        return np.array([i for i, v in enumerate(self.videos) if v.hashtags], dtype=int)


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def load_data(library: "Library", run_id: Optional[str] = None) -> AnalysisData:
    """The run's embeddings restricted to, and aligned with, the library's usable videos."""
    from reelscope.core.store.embeddings import Embeddings, load_embeddings

    run = resolve_run(library, run_id)
    emb = load_embeddings(library, run.id)
    by_id = {v.id: v for v in library.videos()}
    rows = [i for i, vid in enumerate(emb.ids) if str(vid) in by_id]
    # Every embedded video still in the library (the usual case): the arrays as loaded,
    # not a copy of each (600 MB more at 300,000 videos).
    aligned = emb if len(rows) == len(emb.ids) else Embeddings(
        run.id, emb.ids[rows], emb.visual[rows], emb.audio[rows], emb.fused[rows])
    videos = [by_id[str(emb.ids[i])] for i in rows]
    return AnalysisData(run, aligned, videos, not_embedded=len(by_id) - len(rows))

