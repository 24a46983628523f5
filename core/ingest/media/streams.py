"""The streams of an opened container: which ones to use, what their header says about
them, and reading their packets.

Rotation convention everywhere (here, in :class:`MediaInfo` and in
``videowriter.write_video``): FFmpeg's, as PyAV reports ``VideoFrame.rotation`` —
the counterclockwise angle in degrees that turns the stored picture upright,
one of -90, 0, 90, 180. A phone video stored landscape but shot upright is
typically -90 (ffprobe: "rotation of -90.00 degrees").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import av

from reelscope.core.ingest.media.errors import MediaError


@dataclass(frozen=True)
class MediaInfo:
    """What a media file's header says about it (display geometry, codecs, length).

    ``width``/``height`` are the display size, i.e. after ``rotation`` (see the
    module docstring for its convention). ``duration`` is in seconds;
    ``frame_count`` comes from the header and is None where the container keeps
    none (Matroska/WebM, MPEG-PS, Ogg).
    """

    container: str
    duration: float
    width: int
    height: int
    fps: float
    video_codec: str
    audio_codec: Optional[str]
    has_audio: bool
    rotation: int
    frame_count: Optional[int]


def pick_streams(container) -> tuple["av.VideoStream", Optional["av.AudioStream"]]:
    """The first real video stream (cover art does not count) and first audio stream."""
    videos = [
        s for s in container.streams.video
        if not s.disposition & av.stream.Disposition.attached_pic
    ]
    if not videos:
        if container.streams.audio:
            raise MediaError("no video stream: this is an audio-only file")
        raise MediaError("no video stream")
    video = videos[0]
    if video.codec_context is None:
        raise MediaError("unsupported video codec: this FFmpeg build has no decoder for it")
    audio = container.streams.audio[0] if container.streams.audio else None
    return video, audio


def header_info(container, video, audio, path: Path, rotation: int) -> MediaInfo:
    """The :class:`MediaInfo` of an opened file, given its picture's ``rotation``."""
    ctx = video.codec_context
    width, height = ctx.width, ctx.height
    if rotation in (90, -90):
        width, height = height, width
    rate = video.average_rate or video.guessed_rate or video.base_rate
    audio_codec = None
    if audio is not None and audio.codec_context is not None:
        audio_codec = audio.codec_context.codec.canonical_name
    return MediaInfo(
        container=_container_name(container, path),
        duration=claimed_duration(container, video) or 0.0,
        width=width,
        height=height,
        fps=round(float(rate), 3) if rate else 0.0,
        video_codec=ctx.codec.canonical_name,
        audio_codec=audio_codec,
        has_audio=audio_codec is not None,
        rotation=rotation,
        frame_count=video.frames or None,
    )


def _container_name(container, path: Path) -> str:
    """A short container name: FFmpeg names demuxers, not formats ("mov,mp4,m4a,...")."""
    name = container.format.name
    if name.startswith("mov,"):
        brand = container.metadata.get("major_brand", "").strip()
        return "mov" if brand == "qt" or (not brand and path.suffix.lower() == ".mov") else "mp4"
    if name.startswith("matroska"):
        return "webm" if path.suffix.lower() == ".webm" else "matroska"
    return name.split(",")[0]


def claimed_duration(container, video) -> Optional[float]:
    """The video's length per the header, in seconds (None when it says nothing)."""
    if video.duration and video.time_base:
        return float(video.duration * video.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def rotation_of(frame) -> int:
    """Display rotation of a decoded frame, snapped to -90, 0, 90 or 180."""
    angle = (round(frame.rotation / 90) * 90) % 360 if frame.rotation else 0
    return {0: 0, 90: 90, 180: 180, 270: -90}[angle]


def first_frame(container, video, max_packets: int = 500):
    """Decode the first picture (for its rotation, and to prove the stream decodes)."""
    for packet in demux(container, [video], []):
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            frames = []
        if frames:
            return frames[0]
        max_packets -= 1
        if max_packets == 0:
            break
    codec = video.codec_context.codec.canonical_name
    raise MediaError(f"the {codec} video stream cannot be decoded")


def demux(container, streams, warnings: list[str]) -> Iterator["av.Packet"]:
    """Packets of ``streams`` in file order, stopping (with a warning) where the file breaks."""
    packets = container.demux(*streams)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as exc:
            warnings.append(f"damaged container: reading stopped early ({exc.strerror or exc})")
            return
        yield packet


def frame_seconds(video) -> float:
    """Nominal duration of one frame (s), for packets that do not say."""
    rate = video.average_rate or video.guessed_rate
    return 1.0 / float(rate) if rate else 1 / 25
