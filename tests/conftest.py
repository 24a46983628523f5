"""Shared test setup: Qt renders offscreen, torch stays on few threads, helpers for libraries."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "2")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def make_clip(path: Path, seconds: float = 1.0, fps: int = 10, size: tuple[int, int] = (64, 96),
              audio: bool = True, seed: int = 0, **kwargs) -> Path:
    """A tiny real H.264/AAC file with moving content (size is width, height)."""
    from reelscope.demo.videowriter import write_video

    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    n = max(1, int(seconds * fps))
    frames = (np.roll(base, shift=4 * i, axis=1) for i in range(n))
    wave = None
    if audio:
        t = np.arange(int(16000 * seconds)) / 16000
        wave = (0.3 * np.sin(2 * np.pi * (220 + 40 * seed) * t)).astype(np.float32)
    return write_video(path, frames, fps, audio=wave, sample_rate=16000, gop=fps, **kwargs)


@pytest.fixture
def clip_factory(tmp_path):
    def factory(name: str, **kwargs) -> Path:
        return make_clip(tmp_path / name, **kwargs)

    return factory
