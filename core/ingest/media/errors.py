"""MediaError, and how the problems met in a media file are worded for the user."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import av


class MediaError(Exception):
    """A file that cannot be imported; ``str(e)`` says why, in the user's words."""


ONE_FRAME = "only one video frame: a still image, not a video"


@contextmanager
def as_media_error() -> Iterator[None]:
    """Whatever FFmpeg still raises after the specific checks becomes a MediaError."""
    try:
        yield
    except av.error.FFmpegError as exc:
        raise MediaError(f"FFmpeg cannot read the file: {exc.strerror or exc}") from exc


def os_error_reason(exc: OSError) -> str:
    """Why reading the file failed, in the user's words."""
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, PermissionError):
        return "permission denied: the file cannot be read"
    if isinstance(exc, IsADirectoryError):
        return "this is a folder, not a video file"
    return f"cannot read the file: {exc.strerror or exc}"


def counted(n: int, noun: str) -> str:
    """``'1 packet'``, ``'3 packets'``: a count for a warning."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
