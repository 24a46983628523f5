"""Writes real video files with PyAV: used by the demo generator, tests and benchmarks.

One function so every generated file — demo library, test fixtures, benchmark
clips — goes through the same encoder settings.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float,
    audio: Optional[np.ndarray] = None,
    sample_rate: int = 44_100,
    codec: str = "libx264",
    audio_codec: str = "aac",
    bit_rate: Optional[int] = None,
    gop: Optional[int] = None,
    options: Optional[dict[str, str]] = None,
    rotation: Optional[int] = None,
    container_format: Optional[str] = None,
    frame_times: Optional[Sequence[float]] = None,
    container_options: Optional[dict[str, str]] = None,
) -> Path:
    """Encode ``frames`` (uint8 [H, W, 3] RGB each, H and W even) and optional audio.

    ``audio`` is float32 [N] mono or [C, N] in -1..1 at ``sample_rate``.
    ``gop`` is the keyframe interval in frames.

    ``rotation`` (degrees, counterclockwise, a multiple of 90) is stored as a
    display matrix, as phones do, without turning the pixels; PyAV reads it back
    as ``VideoFrame.rotation`` (FFmpeg's sign convention, so a phone held upright
    that stores landscape pixels writes ``-90``).

    ``frame_times`` gives each frame's timestamp in seconds (increasing) for a
    variable-frame-rate file; ``fps`` then only sets the nominal rate.
    ``container_options`` go to the muxer, e.g. ``{"movflags": "+faststart"}``
    to put an MP4's index before its data.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(
        str(path), mode="w", format=container_format, options=dict(container_options or {})
    ) as out:
        frames = iter(frames)
        first = next(frames)
        height, width = first.shape[:2]
        vstream = out.add_stream(codec, rate=rate, options=dict(options or {}))
        vstream.width, vstream.height = width, height
        vstream.pix_fmt = "yuv420p"
        if bit_rate:
            vstream.bit_rate = bit_rate
        if gop:
            vstream.codec_context.gop_size = gop
        if frame_times is not None:
            # A millisecond clock lets frames land at arbitrary (irregular) times.
            vstream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            # Modern FFmpeg ignores the old "rotate" metadata tag on output; muxers
            # (MP4/MOV/MKV/WebM) write the display matrix from coded side data.
            vstream.set_display_rotation(rotation)
        astream = None
        if audio is not None:
            astream = out.add_stream(audio_codec, rate=sample_rate)
            astream.layout = "mono" if np.ndim(audio) == 1 else "stereo"
        for index, image in enumerate(_chain(first, frames)):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            if frame_times is not None:
                frame.pts = round(frame_times[index] * 1000)
                frame.time_base = Fraction(1, 1000)
            for packet in vstream.encode(frame):
                out.mux(packet)
        for packet in vstream.encode():
            out.mux(packet)
        if astream is not None:
            _encode_audio(out, astream, np.asarray(audio, dtype=np.float32), sample_rate)
    return path


def _chain(first: np.ndarray, rest: Iterable[np.ndarray]) -> Iterable[np.ndarray]:
    yield first
    yield from rest


def _encode_audio(out, stream, audio: np.ndarray, sample_rate: int) -> None:
    import av

    planar = audio[None, :] if audio.ndim == 1 else audio
    planar = np.clip(planar, -1.0, 1.0).astype(np.float32)
    chunk = stream.codec_context.frame_size or 1024
    layout = "mono" if planar.shape[0] == 1 else "stereo"
    pts = 0
    for start in range(0, planar.shape[1], chunk):
        block = np.ascontiguousarray(planar[:, start : start + chunk])
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
        frame.sample_rate = sample_rate
        frame.pts = pts
        pts += block.shape[1]
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
