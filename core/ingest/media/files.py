"""Media files before FFmpeg decodes them: opening one (and saying, in the user's words,
why it cannot be opened) and hashing its bytes.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Optional

import av

from reelscope.core.ingest.media.errors import MediaError, os_error_reason

# FFmpeg log lines routed into Python take the GIL from decoder threads; changing the
# level while frame-threaded decoding ran deadlocked a process here. So the level is
# set once, now, and never during decoding. ``None`` keeps PyAV's silent C callback
# (no GIL, no output): problems reach us as exceptions and flags instead.
av.logging.set_level(None)

_HASH_CHUNK = 1 << 20


def open_media(path: str | os.PathLike) -> "av.container.InputContainer":
    """Open for reading, turning every failure into a :class:`MediaError` that says why."""
    path = Path(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise MediaError("this is a folder, not a video file")
        if not stat.S_ISREG(info.st_mode):
            raise MediaError("not a regular file (a device, pipe or socket)")
        if info.st_size == 0:
            raise MediaError("empty file (0 bytes)")
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as exc:
        raise MediaError(os_error_reason(exc)) from exc
    try:
        return av.open(str(path), metadata_errors="replace")
    except av.error.PermissionError as exc:
        raise MediaError("permission denied: the file cannot be read") from exc
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise MediaError(_unopenable_reason(head)) from exc


def _container_family(head: bytes) -> Optional[str]:
    """Name the container a file's first bytes announce, or None if unknown."""
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "MP4/MOV"
    if head[:4] == b"\x1aE\xdf\xa3":
        return "Matroska/WebM"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    if head[:4] == b"OggS":
        return "Ogg"
    if head[:4] == b"\x00\x00\x01\xba":
        return "MPEG program stream"
    if head[:3] == b"FLV":
        return "FLV"
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:
        return "MPEG transport stream"
    return None


def _unopenable_reason(head: bytes) -> str:
    family = _container_family(head)
    if family == "MP4/MOV":
        return (
            "truncated or damaged MP4/MOV file: its index (moov atom) is missing or "
            "unreadable, as after an interrupted download or copy"
        )
    if family:
        return f"damaged {family} file: its header cannot be read"
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "not a media file: it holds plain text"
    return "not a media file: FFmpeg does not recognise its format"


def content_hash(path: str | os.PathLike) -> str:
    """Hex blake2b (64-byte digest) of the file's bytes, read in 1 MiB chunks."""
    digest = hashlib.blake2b()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_HASH_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise MediaError(os_error_reason(exc)) from exc
    return digest.hexdigest()
