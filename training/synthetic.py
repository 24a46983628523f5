"""Small synthetic clip-cache entries for tests and benchmarks (no media decoding needed).

Each video has a *category* (a background hue and a moving square's shape) and a
*sound* (a harmonic tone stack with a rhythm), so a working encoder can be told
apart from a random one on data made in milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from reelscope.training.data import ClipItem


def synthetic_clip(
    rng: np.random.Generator, category: int, sound: Optional[int], frames: int = 4, size: int = 32,
    seconds: float = 3.0, n_mels: int = 64, mel_rate: float = 100.0,
) -> tuple[np.ndarray, np.ndarray]:
    """-> frames uint8 [T, S, S, 3], log-mel float16 [n_mels, A] (A = 0 when ``sound`` is None)."""
    hue = (category * 0.61803) % 1.0
    base = np.array([np.cos(2 * np.pi * (hue + k / 3)) for k in range(3)]) * 0.35 + 0.5
    yy, xx = np.mgrid[0:size, 0:size] / size
    clip = np.empty((frames, size, size, 3), np.float32)
    x0, y0 = rng.uniform(0.2, 0.8, 2)
    vx, vy = rng.uniform(-0.1, 0.1, 2)
    for t in range(frames):
        img = base * (0.8 + 0.2 * rng.random()) + rng.normal(0, 0.05, (size, size, 3))
        cx, cy = (x0 + vx * t) % 1, (y0 + vy * t) % 1
        if category % 2:
            inside = (np.abs(xx - cx) < 0.15) & (np.abs(yy - cy) < 0.15)
        else:
            inside = (xx - cx) ** 2 + (yy - cy) ** 2 < 0.15**2
        img[inside] = 1.0 - base
        clip[t] = img
    frames_u8 = (np.clip(clip, 0, 1) * 255).astype(np.uint8)
    if sound is None:
        return frames_u8, np.zeros((n_mels, 0), np.float16)
    a = int(seconds * mel_rate)
    mel = rng.normal(-9.0, 0.5, (n_mels, a))
    f0 = 4 + (sound * 7) % (n_mels // 3)
    beat = (np.arange(a) / mel_rate * (1.5 + sound % 3)) % 1 < 0.5
    for k in range(1, 4):
        bin_ = min(n_mels - 1, f0 * k)
        mel[bin_, :] += 6.0 / k * (0.5 + 0.5 * beat)
    return frames_u8, mel.astype(np.float16)


def write_synthetic_items(
    folder: Path, n: int, categories: int = 4, sounds: int = 4, frames: int = 4, size: int = 32,
    silent_every: int = 0, seed: int = 0,
) -> tuple[list[ClipItem], np.ndarray, np.ndarray]:
    """Write ``n`` entries as .npy pairs under ``folder``.

    Returns (items, category [n], sound [n]); every ``silent_every``-th video has no audio.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    items, cats, snds = [], np.arange(n) % categories, (np.arange(n) // categories) % sounds
    for i in range(n):
        silent = silent_every and i % silent_every == silent_every - 1
        f, m = synthetic_clip(rng, int(cats[i]), None if silent else int(snds[i]), frames, size)
        fp, mp = folder / f"v{i:05d}.frames.npy", folder / f"v{i:05d}.mel.npy"
        np.save(fp, f)
        np.save(mp, m)
        items.append(ClipItem(f"v{i:05d}", str(fp), str(mp), duration=3.0))
    return items, cats, snds
