"""Typed records handed out by the library: dicts at the SQLite edge, dataclasses inside."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass(frozen=True, slots=True)
class Author:
    id: str
    unique_id: Optional[str] = None
    nickname: Optional[str] = None
    followers: Optional[int] = None
    following: Optional[int] = None
    hearts: Optional[int] = None
    video_count: Optional[int] = None
    digg_count: Optional[int] = None


@dataclass(frozen=True, slots=True)
class Sound:
    id: str
    title: Optional[str] = None
    author_name: Optional[str] = None
    original: Optional[bool] = None


@dataclass(frozen=True, slots=True)
class Video:
    """One imported media file and what its metadata says about the post."""

    id: str
    path: str
    status: str
    content_hash: Optional[str] = None
    size_bytes: Optional[int] = None
    duration: Optional[float] = None
    width: Optional[int] = None
    height: Optional[int] = None
    fps: Optional[float] = None
    video_codec: Optional[str] = None
    audio_codec: Optional[str] = None
    has_audio: Optional[bool] = None
    rotation: Optional[int] = None
    error: Optional[str] = None
    warnings: tuple[str, ...] = ()
    frame_times: tuple[float, ...] = ()
    description: Optional[str] = None
    posted_at: Optional[int] = None
    author: Optional[Author] = None
    sound: Optional[Sound] = None
    likes: Optional[int] = None
    shares: Optional[int] = None
    comments: Optional[int] = None
    plays: Optional[int] = None
    hashtags: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Problem:
    """Something a job could not use: a file, or one row of a metadata file."""

    job: str
    path: str
    reason: str
    row: Optional[int] = None
    severity: str = "error"

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "reason": self.reason}
        if self.row is not None:
            out["row"] = self.row
        if self.severity != "error":
            out["severity"] = self.severity
        return out


@dataclass(frozen=True)
class TrainingRun:
    id: str
    method: str
    preset: str
    status: str
    created_at: float
    dir: str
    finished_at: Optional[float] = None
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "TrainingRun":
        return cls(
            id=row["id"],
            method=row["method"],
            preset=row["preset"],
            status=row["status"],
            created_at=row["created_at"],
            finished_at=row["finished_at"],
            dir=row["dir"],
            config=json.loads(row["config"] or "{}"),
            metrics=json.loads(row["metrics"] or "{}"),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "preset": self.preset,
            "status": self.status,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "metrics": self.metrics,
        }


@dataclass(frozen=True)
class PostMetadata:
    """One metadata record as an importer produced it, before it reaches the store.

    ``extra`` keeps every field the importer did not map, so nothing is dropped.
    """

    id: str
    source: str
    description: Optional[str] = None
    posted_at: Optional[int] = None  # unix seconds, UTC
    author: Optional[Author] = None
    sound: Optional[Sound] = None
    likes: Optional[int] = None
    shares: Optional[int] = None
    comments: Optional[int] = None
    plays: Optional[int] = None
    duration: Optional[float] = None
    hashtags: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
