"""Import throughput against a full decode of the same files.

Generates (once, cached in bench/out/ingest-clips) 720x1280 H.264+AAC clips of
15-30 s with camera-like content (a textured scene panned and zoomed with sensor
noise, ~2 Mbit/s, a keyframe every 2 s). Then, side by side on the same files:

  baseline  decode every video frame and all audio with PyAV, frame threading on
  reelscope the whole ``reelscope import`` command in a fresh process, start-up included

and prints both in videos/s with the ratio of times. Aim: ratio <= 0.5.

    python bench/ingest.py [--videos 8] [--seed 0]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out" / "ingest-clips"


def camera_like_frames(seconds: float, fps: int, rng: np.random.Generator, w: int = 720,
                       h: int = 1280):
    """A large smooth texture panned and zoomed, with noise: motion like a handheld phone."""
    big_h, big_w = int(h * 1.5), int(w * 1.5)
    coarse = rng.integers(0, 255, (big_h // 40 + 2, big_w // 40 + 2, 3)).astype(np.float32)
    # Upsample a coarse random grid (bilinear via np.kron + blur-by-averaging) into a scene.
    scene = np.kron(coarse, np.ones((40, 40, 1), np.float32))[:big_h, :big_w]
    for axis in (0, 1):
        scene = (scene + np.roll(scene, 20, axis) + np.roll(scene, -20, axis)) / 3
    detail = rng.normal(0, 18, (big_h, big_w, 1)).astype(np.float32)
    scene = np.clip(scene + detail, 0, 255)
    n = int(seconds * fps)
    for i in range(n):
        t = i / n
        y = int((big_h - h) * (0.5 + 0.45 * np.sin(2 * np.pi * t)))
        x = int((big_w - w) * (0.5 + 0.45 * np.cos(2 * np.pi * 0.7 * t)))
        frame = scene[y : y + h, x : x + w]
        noise = rng.normal(0, 4, frame.shape).astype(np.float32)
        yield np.clip(frame + noise, 0, 255).astype(np.uint8)


def make_clips(n: int, seed: int) -> list[Path]:
    from reelscope.demo.videowriter import write_video

    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = OUT / f"{seed}_{i:03d}.mp4"
        seconds = float(rng.uniform(15, 30))
        if not path.exists():
            fps, sr = 30, 44_100
            t = np.arange(int(seconds * sr)) / sr
            audio = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.normal(size=t.size)
            tmp = path.with_suffix(".tmp.mp4")
            write_video(tmp, camera_like_frames(seconds, fps, rng), fps,
                        audio=audio.astype(np.float32), sample_rate=sr, bit_rate=2_000_000,
                        gop=2 * fps, options={"preset": "veryfast"})
            tmp.rename(path)
        paths.append(path)
    return paths


def full_decode(paths: list[Path]) -> float:
    from reelscope.core.ingest.media import decode_everything

    start = time.perf_counter()
    frames = samples = 0
    for p in paths:
        f, s = decode_everything(p)
        frames += f
        samples += s
    elapsed = time.perf_counter() - start
    print(f"  full decode: {frames} frames, {samples} audio samples")
    return elapsed


def reelscope_import(paths: list[Path]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for p in paths:
            (src / p.name).symlink_to(p)
        cmd = [sys.executable, "-m", "reelscope", "import", str(src), "--library",
               str(Path(tmp) / "lib"), "--quiet"]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--videos", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clean", action="store_true", help="regenerate the clips")
    args = ap.parse_args()
    if args.clean and OUT.exists():
        shutil.rmtree(OUT)
    t0 = time.perf_counter()
    paths = make_clips(args.videos, args.seed)
    print(f"{len(paths)} clips ready ({time.perf_counter() - t0:.1f} s), "
          f"{sum(p.stat().st_size for p in paths) / 1e6:.1f} MB")
    base = full_decode(paths)
    ours = reelscope_import(paths)
    n = len(paths)
    print(f"baseline  full PyAV decode (threaded): {base:7.2f} s  {n / base:6.2f} videos/s")
    print(f"reelscope import (process included):  {ours:7.2f} s  {n / ours:6.2f} videos/s")
    print(f"ratio import/full-decode time: {ours / base:.3f}  (aim <= 0.5)")


if __name__ == "__main__":
    main()
