"""Probe real video files and decode what the clip cache needs, sparsely, with PyAV.

Import cost is dominated by video decoding, so :func:`decode_for_cache` never
decodes the whole video. It works in two passes over the file:

1. **Scan.** Demux every packet (reading, no video decoding): this gives each
   video packet's time, which packets are keyframes and where the stream really
   ends. Audio packets are decoded on the way (cheap) and resampled to mono.
   Video packets are kept in memory (all of them up to a budget, else only the
   keyframes that could serve a target), so pass 2 never reads the file again.
2. **Pick.** ``spec.frames`` target times sit at the centres of equal slices of
   the video. A target with a keyframe inside its slice (within half the target
   spacing) gets that keyframe, decoded on its own. Only a target with no
   keyframe nearby costs a forward decode from the keyframe before it (from the
   kept packets, or after a seek past the budget); targets in one group of
   pictures share that decode.

Frames are squashed to ``spec.size`` square RGB by swscale (``VideoFrame.reformat``)
and turned upright by the display matrix (``VideoFrame.rotation``).

Rotation convention everywhere (here, in :class:`MediaInfo` and in
``videowriter.write_video``): FFmpeg's, as PyAV reports ``VideoFrame.rotation`` —
the counterclockwise angle in degrees that turns the stored picture upright,
one of -90, 0, 90, 180. A phone video stored landscape but shot upright is
typically -90 (ffprobe: "rotation of -90.00 degrees").
"""

from __future__ import annotations

import bisect
import hashlib
import io
import itertools
import os
import stat
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator, Optional

import av
import numpy as np

from reelscope.core.store.clipcache import CacheSpec
from reelscope.core.ingest.melspec import log_mel

__all__ = [
    "MediaError",
    "MediaInfo",
    "DecodedMedia",
    "probe",
    "decode_for_cache",
    "log_mel",
    "content_hash",
    "decode_everything",
]

# FFmpeg log lines routed into Python take the GIL from decoder threads; changing the
# level while frame-threaded decoding ran deadlocked a process here. So the level is
# set once, now, and never during decoding. ``None`` keeps PyAV's silent C callback
# (no GIL, no output): problems reach us as exceptions and flags instead.
av.logging.set_level(None)

# Video packets kept in memory between the two passes. Short-form videos (a minute
# at a few Mbit/s) fit whole; past this only a few keyframes stay (see _PacketStore).
_HOLD_BUDGET_BYTES = 64 << 20
# A truncated file keeping at least this share of its claimed length is imported
# with a warning; below it the file is rejected.
_TRUNCATED_FAIL_RATIO = 0.5
_HASH_CHUNK = 1 << 20


class MediaError(Exception):
    """A file that cannot be imported; ``str(e)`` says why, in the user's words."""


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


@dataclass
class DecodedMedia:
    """Everything the clip cache stores for one video.

    ``frames``: uint8 [T, S, S, 3] RGB, T = ``spec.frames``, S = ``spec.size``, upright.
    ``frame_times``: T presentation times in seconds from the start of the video.
    ``mel``: float16 [n_mels, A] log-mel at ``spec.mel_rate`` frames/s; A = 0 without audio.
    ``thumbnail_jpeg``: JPEG of the middle frame, ``spec.thumb_width`` wide, aspect kept.
    ``warnings``: problems that did not stop the import (damage, truncation), for the user.
    """

    info: MediaInfo
    frames: np.ndarray
    frame_times: tuple[float, ...]
    mel: np.ndarray
    thumbnail_jpeg: bytes
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ public API
def probe(path: str | os.PathLike) -> MediaInfo:
    """Read a file's header (and its first picture, for the rotation).

    Cheap: it does not read the whole file, so truncation is found only by
    :func:`decode_for_cache`. Raises :class:`MediaError` for an unusable file.
    """
    with _open(path) as container, _as_media_error():
        video, audio = _pick_streams(container)
        first = _first_frame(container, video)
        info = _header_info(container, video, audio, Path(path), _rotation_of(first))
        video_index = container.streams.video.index(video)
        if info.frame_count == 1:
            raise MediaError(_ONE_FRAME)
    if info.duration <= 0:
        # No length in the header (raw streams, some live recordings): measure it,
        # reading afresh since not every format can seek back.
        with _open(path) as container, _as_media_error():
            scan = _scan(container, container.streams.video[video_index], None, CacheSpec(), False)
            info = replace(info, duration=round(scan.end - scan.start, 6))
    return info


def decode_for_cache(path: str | os.PathLike, spec: CacheSpec) -> DecodedMedia:
    """Decode ``spec.frames`` evenly spread frames, the audio's log-mel and a thumbnail.

    Raises :class:`MediaError` when the file is unusable; damage it can work
    around ends up in ``DecodedMedia.warnings`` instead.
    """
    path = Path(path)
    warnings: list[str] = []
    with _open(path) as container, _as_media_error():
        video, audio = _pick_streams(container)
        if audio is not None and audio.codec_context is None:
            warnings.append("the audio codec is not supported; imported without sound")
            audio = None
        scan = _scan(container, video, audio, spec, hold=True)
        warnings += scan.warnings
        if not scan.times:
            raise MediaError("the video stream holds no frames")
        if len(scan.times) == 1:
            raise MediaError(_ONE_FRAME)
        claimed = _claimed_duration(container, video)
        truncation = _check_truncation(claimed, scan, video)
        if truncation:
            warnings.append(truncation)

        targets = _target_times(scan.start, scan.end, spec.frames)
        picked, pick_warnings = _pick_frames(container, video, scan, targets)
        warnings += pick_warnings
        rotation = _rotation_of(picked[0][1])
        info = _header_info(container, video, audio, path, rotation)
        # The measured extent is what the frames were spread over; report that.
        info = replace(info, duration=round(scan.end - scan.start, 6))

    frames = np.stack([_square_rgb(picked[i][1], spec.size, rotation) for i in range(spec.frames)])
    frame_times = tuple(round(picked[i][0] - scan.start, 6) for i in range(spec.frames))
    thumbnail = _thumbnail_jpeg(picked[spec.frames // 2][1], spec.thumb_width, rotation)
    if audio is not None:
        mel = log_mel(scan.wave, spec)
    else:
        mel = np.zeros((spec.n_mels, 0), dtype=np.float16)
    return DecodedMedia(info, frames, frame_times, mel, thumbnail, warnings)


def content_hash(path: str | os.PathLike) -> str:
    """Hex blake2b (64-byte digest) of the file's bytes, read in 1 MiB chunks."""
    digest = hashlib.blake2b()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_HASH_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise MediaError(_os_error_reason(exc)) from exc
    return digest.hexdigest()


def decode_everything(path: str | os.PathLike) -> tuple[int, int]:
    """Decode every video frame (frame threading on) and all audio of the first streams.

    Returns (video frames, audio samples per channel). The benchmark baseline
    that :func:`decode_for_cache` is measured against; damaged packets are skipped.
    """
    n_frames = n_samples = 0
    with _open(path) as container, _as_media_error():
        video, audio = _pick_streams(container)
        video.thread_type = "AUTO"  # frame + slice threads, as players decode
        streams = [video] + ([audio] if audio is not None and audio.codec_context else [])
        for packet in _demux(container, streams, []):
            try:
                decoded = packet.decode()
            except av.error.FFmpegError:
                continue
            if packet.stream is video:
                n_frames += len(decoded)
            else:
                n_samples += sum(frame.samples for frame in decoded)
    return n_frames, n_samples


# ------------------------------------------------------------------ opening
_ONE_FRAME = "only one video frame: a still image, not a video"


def _open(path: str | os.PathLike) -> "av.container.InputContainer":
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
        raise MediaError(_os_error_reason(exc)) from exc
    try:
        return av.open(str(path), metadata_errors="replace")
    except av.error.PermissionError as exc:
        raise MediaError("permission denied: the file cannot be read") from exc
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise MediaError(_unopenable_reason(head)) from exc


@contextmanager
def _as_media_error() -> Iterator[None]:
    """Whatever FFmpeg still raises after the specific checks becomes a MediaError."""
    try:
        yield
    except av.error.FFmpegError as exc:
        raise MediaError(f"FFmpeg cannot read the file: {exc.strerror or exc}") from exc


def _os_error_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, PermissionError):
        return "permission denied: the file cannot be read"
    if isinstance(exc, IsADirectoryError):
        return "this is a folder, not a video file"
    return f"cannot read the file: {exc.strerror or exc}"


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


def _pick_streams(container) -> tuple["av.VideoStream", Optional["av.AudioStream"]]:
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


def _header_info(container, video, audio, path: Path, rotation: int) -> MediaInfo:
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
        duration=_claimed_duration(container, video) or 0.0,
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


def _claimed_duration(container, video) -> Optional[float]:
    """The video's length per the header, in seconds (None when it says nothing)."""
    if video.duration and video.time_base:
        return float(video.duration * video.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _rotation_of(frame) -> int:
    """Display rotation of a decoded frame, snapped to -90, 0, 90 or 180."""
    angle = (round(frame.rotation / 90) * 90) % 360 if frame.rotation else 0
    return {0: 0, 90: 90, 180: 180, 270: -90}[angle]


def _first_frame(container, video, max_packets: int = 500):
    """Decode the first picture (for its rotation, and to prove the stream decodes)."""
    for packet in _demux(container, [video], []):
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


def _demux(container, streams, warnings: list[str]) -> Iterator["av.Packet"]:
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


# ------------------------------------------------------------------ pass 1: scan
class _PacketStore:
    """Video packets kept from the scan, so pass 2 decodes without reading the file again.

    Every packet is kept while they fit in ``_HOLD_BUDGET_BYTES``: then any target,
    keyframe or not, decodes from memory. Past the budget only the keyframe nearest
    each provisional target (``aims``, from the header's duration) stays, and the
    other targets are reached by seeking in the file.
    """

    def __init__(self, aims: Optional[list[float]], start: float) -> None:
        self.everything: Optional[list["av.Packet"]] = []  # file order; None past the budget
        self.keyframe_at: dict[float, int] = {}  # keyframe time -> index in everything
        self.kept: dict[float, "av.Packet"] = {}  # past the budget: keyframe time -> packet
        self.aims, self.start = aims, start
        self.spacing = (aims[1] - aims[0]) if aims and len(aims) > 1 else 0.0
        self.nearest: dict[int, float] = {}  # aim -> time of the keyframe kept for it
        self.bytes = 0

    def add(self, t: float, packet) -> None:
        if self.everything is None:
            if packet.is_keyframe:
                self._keep_keyframe(t, packet)
            return
        if packet.is_keyframe:
            self.keyframe_at[t] = len(self.everything)
        self.everything.append(packet)
        self.bytes += packet.size
        if self.bytes > _HOLD_BUDGET_BYTES:
            for k, i in self.keyframe_at.items():
                self._keep_keyframe(k, self.everything[i])
            self.everything, self.keyframe_at = None, {}

    def _keep_keyframe(self, t: float, packet) -> None:
        if not self.aims or not self.spacing:
            return
        i = _slice_of(t, self.start, self.spacing, len(self.aims))
        if i in self.nearest and abs(self.nearest[i] - self.aims[i]) <= abs(t - self.aims[i]):
            return
        self.kept.pop(self.nearest.get(i), None)
        self.nearest[i], self.kept[t] = t, packet

    def keyframe(self, t: float):
        """The kept keyframe packet at time ``t``, or None."""
        if self.everything is not None and t in self.keyframe_at:
            return self.everything[self.keyframe_at[t]]
        return self.kept.get(t)

    def packets_from(self, t: float) -> Optional[Iterator[Optional["av.Packet"]]]:
        """Packets from the keyframe at ``t`` (or the start) to the end, then None
        (which drains the decoder); None when they were not all kept."""
        if self.everything is None:
            return None
        first = self.keyframe_at.get(t, 0)
        return itertools.chain(itertools.islice(self.everything, first, None), [None])


@dataclass
class _Scan:
    """What one demux pass learned: video packet times and keyframes, kept packets, audio."""

    times: list[float] = field(default_factory=list)  # video packet times (s), file order
    keyframes: list[float] = field(default_factory=list)  # keyframe times (s), sorted
    keyframe_dts: dict[float, int] = field(default_factory=dict)  # time -> dts (seek target)
    start: float = 0.0
    end: float = 0.0  # end of the last video frame (s)
    audio_end: float = 0.0
    store: Optional[_PacketStore] = None
    wave: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # float32 [N]
    warnings: list[str] = field(default_factory=list)


def _scan(container, video, audio, spec: CacheSpec, hold: bool) -> _Scan:
    """Demux the whole file once: index the video packets, decode and resample the audio.

    With ``hold``, keep video packets (see :class:`_PacketStore`) for pass 2.
    """
    scan = _Scan()
    tb = float(video.time_base)
    frame_s = _frame_seconds(video)
    if hold:
        claimed = _claimed_duration(container, video)
        first = float(video.start_time * video.time_base) if video.start_time is not None else 0.0
        aims = _target_times(first, first + claimed, spec.frames) if claimed else None
        scan.store = _PacketStore(aims, first)
    corrupt_video = 0
    sound = _AudioCollector(audio, spec) if audio is not None else None
    streams = [video] + ([audio] if audio is not None else [])
    for packet in _demux(container, streams, scan.warnings):
        if packet.stream is not video:
            sound.add(packet)
            continue
        if packet.size == 0:
            continue  # the demuxer's end-of-stream marker
        stamp = packet.pts if packet.pts is not None else packet.dts
        t = stamp * tb if stamp is not None else (scan.times[-1] + frame_s if scan.times else 0.0)
        scan.times.append(t)
        scan.end = max(scan.end, t + (packet.duration * tb if packet.duration else frame_s))
        corrupt_video += packet.is_corrupt
        if packet.is_keyframe:
            scan.keyframes.append(t)
            if packet.dts is not None:
                scan.keyframe_dts[t] = packet.dts
        if scan.store is not None:
            scan.store.add(t, packet)

    scan.keyframes.sort()
    scan.start = min(scan.times) if scan.times else 0.0
    if corrupt_video:
        scan.warnings.append(
            f"damaged video: the container marks {_count(corrupt_video, 'packet')} corrupt"
        )
    if sound is not None:
        scan.wave, scan.audio_end = sound.finish()
        scan.warnings += sound.warnings
    return scan


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _frame_seconds(video) -> float:
    """Nominal duration of one frame (s), for packets that do not say."""
    rate = video.average_rate or video.guessed_rate
    return 1.0 / float(rate) if rate else 1 / 25


class _AudioCollector:
    """Decodes audio packets as the demuxer meets them into float32 mono at the spec's rate."""

    def __init__(self, stream, spec: CacheSpec) -> None:
        self.stream = stream
        self.limit = int(spec.max_audio_s * spec.sample_rate)
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=spec.sample_rate)
        self.chunks: list[np.ndarray] = []
        self.samples = 0
        self.end = 0.0
        self.damaged = 0
        self.warnings: list[str] = []

    def add(self, packet) -> None:
        if packet.pts is not None and packet.duration:
            self.end = max(self.end, float((packet.pts + packet.duration) * self.stream.time_base))
        if self.samples >= self.limit and packet.size:
            return  # past max_audio_s: demux on for the index, skip the decoding
        try:
            frames = packet.decode()  # the empty end-of-stream packet drains the decoder
            for frame in frames:
                self._keep(self.resampler.resample(frame))
        except (av.error.FFmpegError, ValueError):
            self.damaged += 1

    def _keep(self, frames) -> None:
        for frame in frames:
            self.chunks.append(frame.to_ndarray().reshape(-1))
            self.samples += frame.samples

    def finish(self) -> tuple[np.ndarray, float]:
        """Return (float32 [N] mono wave cut at max_audio_s, end time of the audio in s)."""
        try:
            self._keep(self.resampler.resample(None))
        except (av.error.FFmpegError, ValueError):
            pass
        if self.damaged:
            self.warnings.append(
                f"damaged audio: {_count(self.damaged, 'packet')} could not be decoded "
                "and were skipped"
            )
        wave = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)
        if not self.chunks:
            self.warnings.append("the audio track holds no decodable sound")
        return wave[: self.limit].astype(np.float32, copy=False), self.end


def _check_truncation(claimed: Optional[float], scan: _Scan, video) -> Optional[str]:
    """Compare the header's length with where the data really ends.

    Frame threading makes a file cut after its index decode "fine" to a shorter
    video, so this is the check that notices. Returns a warning, raises below half.
    """
    frames = video.frames
    if frames and len(scan.times) < frames:
        # AVI and others shrink the duration to what they find; the count stays.
        claimed = max(claimed or 0.0, frames * _frame_seconds(video))
    if not claimed:
        return None
    measured = scan.end - scan.start
    if not video.duration:
        # The container's length covers every stream; audio may outlast the picture.
        measured = max(measured, scan.audio_end - scan.start)
    if measured >= claimed - max(0.25, 2 * _frame_seconds(video)):
        return None
    message = f"truncated: header says {claimed:.1f} s, stream ends at {measured:.1f} s"
    if measured < claimed * _TRUNCATED_FAIL_RATIO:
        raise MediaError(message)
    return message + "; imported what is there"


def _target_times(start: float, end: float, n: int) -> list[float]:
    """Centres of ``n`` equal slices of [start, end]: the times the cache samples."""
    spacing = (end - start) / n
    return [start + (i + 0.5) * spacing for i in range(n)]


# ------------------------------------------------------------------ pass 2: pick
def _pick_frames(container, video, scan: _Scan, targets: list[float]):
    """Decode one frame per target: the kept keyframe nearest it when one lies within
    half the target spacing, else the frame nearest it, decoding forward from the
    keyframe before it. Returns ({target index: (time s, VideoFrame)}, warnings).
    """
    spacing = (scan.end - scan.start) / len(targets)
    store = scan.store
    # Slices do not overlap, so no keyframe serves two targets.
    keyframe_for: dict[int, float] = {}
    for k in scan.keyframes:
        i = _slice_of(k, scan.start, spacing, len(targets))
        if i not in keyframe_for or abs(k - targets[i]) < abs(keyframe_for[i] - targets[i]):
            keyframe_for[i] = k
    direct: dict[int, float] = {}
    jobs: list[tuple[float, int, float]] = []  # (wanted time, target, keyframe to start at)
    for i, t in enumerate(targets):
        k = keyframe_for.get(i)
        if k is not None and store.keyframe(k) is not None:
            direct[i] = k
        elif k is not None:
            jobs.append((k, i, k))
        else:
            jobs.append((t, i, _preceding(scan.keyframes, t, scan.start)))

    # A lone keyframe gains nothing from frame threads (it is drained at once);
    # a forward decode through a group of pictures does.
    video.thread_type = "AUTO" if jobs else "SLICE"
    ctx = video.codec_context
    tb = float(video.time_base)
    picked: dict[int, tuple[float, object]] = {}
    damaged = 0
    for i, k in direct.items():
        frame = _decode_alone(ctx, store.keyframe(k))
        if frame is None or frame.is_corrupt:
            # Frames after a broken keyframe are broken too: decode up to the target
            # from the keyframe before it instead.
            damaged += 1
            jobs.append((targets[i], i, _preceding(scan.keyframes, k - 1e-6, scan.start)))
        else:
            picked[i] = (frame.pts * tb if frame.pts is not None else k, frame)

    def packets_from(keyframe: float, again: bool = False):
        kept = store.packets_from(keyframe)
        if kept is not None:
            return kept
        # Demuxers seek on decode timestamps (MPEG-TS lands past a keyframe asked
        # for by its later presentation time); a second try starts from the top.
        stamp = scan.keyframe_dts.get(keyframe, int(round(keyframe / tb)))
        container.seek((video.start_time or 0) if again else stamp, stream=video, backward=True)
        return _demux(container, [video], [])

    if jobs:
        clock = _Clock(tb, _frame_seconds(video), scan.start)
        found, errors = _decode_forward(ctx, sorted(jobs), packets_from, clock)
        picked.update(found)
        damaged += errors
    scan.store = None  # free the packets

    warnings = []
    if damaged:
        warnings.append(
            f"damaged video: {_count(damaged, 'packet')} could not be decoded; "
            "frames were taken from the nearest clean pictures"
        )
    if not picked:
        raise MediaError("no video frame could be decoded: the video data is damaged")
    for i, t in enumerate(targets):
        if i not in picked:  # reuse the nearest decoded frame rather than fail the file
            picked[i] = picked[min(picked, key=lambda j: abs(targets[j] - t))]
    return picked, warnings


def _slice_of(t: float, start: float, spacing: float, n: int) -> int:
    """Index of the slice of width ``spacing`` (of ``n`` from ``start``) holding ``t``."""
    return min(max(int((t - start) / spacing), 0), n - 1)


def _preceding(sorted_times: list[float], t: float, default: float) -> float:
    at = bisect.bisect_right(sorted_times, t)
    return sorted_times[at - 1] if at else default


def _decode_alone(ctx, packet):
    """Decode one keyframe packet on a clean decoder; the first frame, or None."""
    try:
        frames = ctx.decode(packet) + ctx.decode(None)
    except av.error.FFmpegError:
        frames = []
    ctx.flush_buffers()  # ready for the next lone packet or a forward decode
    return frames[0] if frames else None


def _decode_forward(ctx, jobs: list[tuple[float, int, float]], packets_from, clock: _Clock):
    """For each (wanted time, target, keyframe before it), in time order, decode forward
    from the keyframe and take the frame nearest the wanted time.

    Wants in one group of pictures share one decode; a want whose keyframe lies
    beyond the frames decoded so far starts afresh from ``packets_from(keyframe)``.
    Returns ({target: (time s, VideoFrame)}, packets or pictures that failed).
    """
    errors = [0]
    found: dict[int, tuple[float, object]] = {}
    frames: Optional[Iterator[tuple[float, object]]] = None
    previous: Optional[tuple[float, object]] = None
    position = float("-inf")
    for want, i, keyframe in jobs:
        if frames is None or keyframe > position:
            frames = _decode_run(ctx, packets_from, keyframe, errors, clock)
            previous = None
        chosen = previous
        for t, frame in frames:
            position = t
            if t >= want - 1e-6:
                if previous is None or abs(t - want) <= abs(previous[0] - want):
                    chosen = (t, frame)
                previous = (t, frame)
                break
            previous = chosen = (t, frame)
        if chosen is not None:
            found[i] = chosen
    return found, errors[0]


@dataclass(frozen=True)
class _Clock:
    """Turns frame timestamps into seconds; counts frames where a stream has no stamps."""

    time_base: float
    frame_s: float  # nominal frame duration
    origin: float  # time of the first frame


def _decode_run(ctx, packets_from, keyframe: float, errors: list[int], clock: _Clock):
    """Frames decoded from ``keyframe`` on; if a seek overshot it, once more from the start."""
    ctx.flush_buffers()
    frames = _decoded(ctx, packets_from(keyframe), errors, clock, keyframe)
    first = next(frames, None)
    if first is not None and first[0] > keyframe + 1e-3:
        ctx.flush_buffers()
        frames = _decoded(ctx, packets_from(keyframe, again=True), errors, clock, clock.origin)
        first = next(frames, None)
    return itertools.chain([first] if first is not None else [], frames)


def _decoded(ctx, packets, errors: list[int], clock: _Clock, start: float):
    """(time s, frame) pairs decoded from ``packets`` (which begin at ``start`` s);
    counts packets and pictures that fail."""
    t = start - clock.frame_s
    for packet in packets:
        try:
            decoded = ctx.decode(packet)
        except av.error.FFmpegError:
            errors[0] += 1
            continue
        for frame in decoded:
            stamp = frame.pts if frame.pts is not None else frame.dts
            # Raw elementary streams carry no timestamps: count frames instead.
            t = stamp * clock.time_base if stamp is not None else t + clock.frame_s
            if frame.is_corrupt:
                # Open-GOP pictures shown before the keyframe lack their references
                # when decoding starts there: expected, not damage.
                errors[0] += t >= start - 1e-6
                continue
            yield t, frame


# ------------------------------------------------------------------ pictures
def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Turn an [H, W, 3] picture by ``rotation`` degrees counterclockwise."""
    return np.ascontiguousarray(np.rot90(image, k=rotation // 90)) if rotation else image


def _square_rgb(frame, size: int, rotation: int) -> np.ndarray:
    """uint8 [size, size, 3] RGB, the whole picture squashed (swscale), upright.

    Squashing to a square commutes with quarter turns, so the (cheap) turn
    happens after the resize, on the small image.
    """
    rgb = frame.to_ndarray(width=size, height=size, format="rgb24", interpolation="AREA")
    return _upright(rgb, rotation)


def _thumbnail_jpeg(frame, width: int, rotation: int) -> bytes:
    """JPEG bytes of ``frame`` upright, ``width`` pixels wide, aspect kept."""
    from PIL import Image

    turned = rotation in (90, -90)
    shown_w, shown_h = (frame.height, frame.width) if turned else (frame.width, frame.height)
    height = max(2, round(width * shown_h / shown_w))
    coded = (height, width) if turned else (width, height)
    rgb = frame.to_ndarray(width=coded[0], height=coded[1], format="rgb24", interpolation="AREA")
    out = io.BytesIO()
    Image.fromarray(_upright(rgb, rotation)).save(out, format="JPEG", quality=85)
    return out.getvalue()
