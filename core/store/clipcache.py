"""The clip cache: decoded frames and log-mel spectrograms, laid out for fast training.

Layout inside a library (documented for users in ``docs/CLIP_CACHE.md``)::

    cache/spec.json                      the CacheSpec every entry was made with
    cache/clips/<h2>/<hash>.frames.npy   uint8 [T, S, S, 3] RGB frames, T = spec.frames
    cache/clips/<h2>/<hash>.mel.npy      float16 [n_mels, A] log-mel, 100 frames/s
    thumbs/<h2>/<hash>.jpg               thumbnail

``<hash>`` is the video's content hash (so a renamed or moved file keeps its
cache) and ``<h2>`` its first two characters. Plain ``.npy`` files open with
``numpy.load(mmap_mode="r")`` without copying, so a data loader reads a random
clip with one page-cache hit and no decoding. Every file is written to a
temporary name and renamed into place, so a killed import never leaves a
half-written entry that looks complete.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from typing import Optional

import numpy as np

from reelscope.training import faults
from reelscope.training.files import atomic_path, write_bytes_atomic

CACHE_FORMAT_VERSION = 1
# The sound print's recipe (core/ingest/media/soundprint.py): bump it there when a change
# makes stored prints stale; the file name carries it, so old ones are simply not found.
SOUND_PRINT_VERSION = 1


@dataclass(frozen=True)
class CacheSpec:
    """How media is reduced for the cache. Changing it invalidates the cache."""

    frames: int = 8  # frames per video, spread evenly over its duration
    size: int = 112  # frames are resized (whole picture, aspect not kept) to size x size
    sample_rate: int = 16_000  # audio resampled to mono at this rate
    n_mels: int = 64
    n_fft: int = 400  # 25 ms window
    hop: int = 160  # 10 ms hop -> 100 spectrogram frames per second
    max_audio_s: float = 60.0  # longer audio is cut here
    thumb_width: int = 180
    version: int = CACHE_FORMAT_VERSION

    @property
    def mel_rate(self) -> float:
        """Spectrogram frames per second."""
        return self.sample_rate / self.hop


class ClipCache:
    """Reads and writes cache entries under ``<library>/cache``."""

    def __init__(self, library_dir: Path, spec: CacheSpec | None = None) -> None:
        self.root = Path(library_dir) / "cache"
        self.thumbs = Path(library_dir) / "thumbs"
        spec_file = self.root / "spec.json"
        if spec is None and spec_file.exists():
            spec = CacheSpec(**json.loads(spec_file.read_text()))
        self.spec = spec or CacheSpec()

    def ensure(self) -> None:
        """Create the folders and record the spec (idempotent)."""
        (self.root / "clips").mkdir(parents=True, exist_ok=True)
        self.thumbs.mkdir(parents=True, exist_ok=True)
        spec_file = self.root / "spec.json"
        if not spec_file.exists():
            write_bytes_atomic(spec_file, json.dumps(asdict(self.spec), indent=2).encode())

    def sweep_temp(self) -> int:
        """Delete temporary files a killed writer left behind; returns how many."""
        removed = 0
        for folder in (self.root, self.thumbs):
            for tmp in folder.rglob(".*.tmp") if folder.exists() else ():
                tmp.unlink(missing_ok=True)
                removed += 1
        return removed

    def frames_path(self, content_hash: str) -> Path:
        return self.root / "clips" / safe_hash(content_hash)[:2] / f"{content_hash}.frames.npy"

    def mel_path(self, content_hash: str) -> Path:
        return self.root / "clips" / safe_hash(content_hash)[:2] / f"{content_hash}.mel.npy"

    def sound_path(self, content_hash: str) -> Path:
        """The sound print (:mod:`reelscope.core.ingest.media.soundprint`): optional, made
        at import or when an analysis first needs it; its file name carries the print's
        version, so a changed recipe simply finds none."""
        return self.root / "clips" / safe_hash(content_hash)[:2] / f"{content_hash}.sound{SOUND_PRINT_VERSION}.npy"

    def info_path(self, content_hash: str) -> Path:
        """JSON sidecar: probe info, frame times and decode warnings of the entry."""
        return self.root / "clips" / safe_hash(content_hash)[:2] / f"{content_hash}.json"

    def thumb_path(self, content_hash: str) -> Path:
        return self.thumbs / safe_hash(content_hash)[:2] / f"{content_hash}.jpg"

    def has(self, content_hash: str) -> bool:
        return self.frames_path(content_hash).exists() and self.mel_path(content_hash).exists()

    def frames(self, content_hash: str, mmap: bool = True) -> np.ndarray:
        """uint8 [T, S, S, 3]."""
        return np.load(self.frames_path(content_hash), mmap_mode="r" if mmap else None)

    def mel(self, content_hash: str, mmap: bool = True) -> np.ndarray:
        """float16 [n_mels, A]; A == 0 for a video without audio."""
        return np.load(self.mel_path(content_hash), mmap_mode="r" if mmap else None)

    def sound(self, content_hash: str) -> Optional[np.ndarray]:
        """int16 [P + 1, 2] (see ``SoundPrint.to_array``), or None when not made yet
        or unreadable (a crash mid-write leaves no file: writes are atomic)."""
        try:
            return np.load(self.sound_path(content_hash))
        except (OSError, ValueError, EOFError):
            return None

    def write_sound(self, content_hash: str, sound: np.ndarray) -> None:
        atomic_save_npy(self.sound_path(content_hash), np.asarray(sound, np.int16))

    def write(self, content_hash: str, frames: np.ndarray, mel: np.ndarray,
              sound: Optional[np.ndarray] = None) -> None:
        """Store one entry; the frames file is renamed last so ``has`` implies complete."""
        if frames.dtype != np.uint8 or frames.ndim != 4:
            raise ValueError(f"frames must be uint8 [T,S,S,3], got {frames.dtype} {frames.shape}")
        if sound is not None:
            self.write_sound(content_hash, sound)
        atomic_save_npy(self.mel_path(content_hash), mel.astype(np.float16, copy=False))
        faults.point("cache.mel_only")
        atomic_save_npy(self.frames_path(content_hash), frames)


_TOKEN = re.compile(r"[0-9A-Za-z_-]{2,128}")


def safe_hash(content_hash: str) -> str:
    """``content_hash`` when it is a plain token (what the importer writes: hex); else
    ValueError. Every cache path is built from one, and a library.db someone sent you
    could hold '../../somewhere' in that column: no path is ever built from that."""
    if not isinstance(content_hash, str) or not _TOKEN.fullmatch(content_hash):
        raise ValueError(f"not a content hash: {str(content_hash)[:40]!r}")
    return content_hash


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(array))
