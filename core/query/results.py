"""What the queries return: frozen, typed records the window shows as they are.

Numbers the store does not know are None (NaN inside numpy arrays). Every result that
depends on stored analysis carries ``notes``: one plain sentence per thing that was
missing or stale and what command makes it (a query never makes it itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class VideoRow:
    """One line of the video table."""

    id: str
    author: Optional[str]  # the handle (unique_id), else the author id
    followers: Optional[int]
    posted_at: Optional[int]  # unix seconds, UTC
    likes: Optional[int]
    like_forecast: Optional[float]  # likes, from the run's stored analysis
    originality: Optional[float]  # 0-100, higher = more original
    sound: Optional[str]  # the sound's title, else its id
    hashtags: tuple[str, ...]
    status: str  # ok, failed or pending
    has_thumbnail: bool
    author_id: Optional[str] = None
    sound_id: Optional[str] = None


@dataclass(frozen=True)
class VideoPage:
    """``rows[offset:offset + limit]`` of the videos that match the filters, in order.

    ``total`` counts every matching video; ``run_id`` is the run whose scores were
    joined (None when no run has embeddings).
    """

    rows: tuple[VideoRow, ...]
    total: int
    offset: int
    limit: int
    sort: str
    descending: bool
    run_id: Optional[str]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Neighbour:
    """A library video similar to the one shown (cosine similarity of the run's embeddings)."""

    id: str
    score: float
    likes: Optional[int]


@dataclass(frozen=True)
class LikeForecast:
    """The stored like forecast of a library video, its interval and why.

    ``forecast``/``low``/``high`` are what ``reelscope analyze`` stored (out-of-fold for
    videos whose likes were known); ``author_baseline`` and ``content_uplift`` split it
    as the forecast module does, computed with the stored model (never refitted).
    ``explanation`` is None when the stored model is missing (then ``notes`` says so).
    """

    forecast: float
    low: float
    high: float
    coverage: Optional[float]
    author_baseline: Optional[float] = None
    content_uplift: Optional[float] = None
    explanation: Optional[str] = None


@dataclass(frozen=True)
class TagSuggestion:
    """A hashtag the video does not carry but similar videos and the classifier point to."""

    tag: str  # without '#'
    score: float
    probability: float
    share: float  # share of library videos that carry it
    similar_videos: int  # neighbours that used it
    median_likes: Optional[float]  # of those neighbours


@dataclass(frozen=True)
class SoundCluster:
    """The videos whose audio is the same sound as this one's (audio embeddings, not metadata).

    ``videos`` are the other members (at most a hundred, by id); ``size`` counts all.
    """

    cluster: int
    label: str
    size: int
    videos: tuple[str, ...]


@dataclass(frozen=True)
class VideoDetail:
    """Everything the window's detail panel shows for one library video."""

    id: str
    path: str
    status: str
    error: Optional[str]
    duration: Optional[float]
    description: Optional[str]
    author: Optional[str]
    author_id: Optional[str]
    followers: Optional[int]
    posted_at: Optional[int]
    likes: Optional[int]
    sound: Optional[str]
    sound_id: Optional[str]
    hashtags: tuple[str, ...]
    has_thumbnail: bool
    run_id: Optional[str]
    originality: Optional[float] = None
    originality_detectors: dict[str, float] = field(default_factory=dict)  # detector -> 0-100
    forecast: Optional[LikeForecast] = None
    similar: tuple[Neighbour, ...] = ()
    suggested_tags: tuple[TagSuggestion, ...] = ()
    sound_cluster: Optional[SoundCluster] = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class ScatterData:
    """Aligned per-video arrays for the scatter plot (row i is ``ids[i]``), usable videos
    in id order.

    ``ids`` str [N]; ``originality`` float32 [N] (NaN where the run has no score);
    ``likes`` and ``followers`` float64 [N] (NaN unknown); ``category_codes``,
    ``sound_codes`` and ``author_codes`` int32 [N] index into ``categories``,
    ``sounds`` and ``authors`` (-1 unknown), whose labels run from the most used down.
    ``category_field`` names where categories come from: ``category`` (a metadata
    field) or ``first_hashtag``.
    """

    run_id: Optional[str]
    ids: np.ndarray
    originality: np.ndarray
    likes: np.ndarray
    followers: np.ndarray
    category_codes: np.ndarray
    categories: tuple[str, ...]
    category_field: str
    sound_codes: np.ndarray
    sounds: tuple[str, ...]
    author_codes: np.ndarray
    authors: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class AuthorRow:
    """One line of the authors table: an author's videos in the library, summarised.

    ``videos`` counts the library's videos (any import status) whose post names this
    author — what the video table shows when filtered by the author. ``median_likes``
    is over those with known likes; ``reach_adjusted_likes`` is that median per 1,000
    of the author's followers (None when followers are unknown or zero), so a small
    account's strong videos stand out next to a big account's. ``mean_originality``
    (0-100) averages the run's stored originality over the author's analysed videos
    (None without a stored analysis); ``sounds_used`` counts distinct sounds.
    """

    author_id: str
    handle: str  # the unique_id, else the author id
    followers: Optional[int]
    videos: int
    median_likes: Optional[float]
    reach_adjusted_likes: Optional[float]
    mean_originality: Optional[float]
    sounds_used: int
