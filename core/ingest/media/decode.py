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

Rotation follows FFmpeg's convention (see :mod:`.streams`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import av
import numpy as np

from reelscope.core.store.clipcache import CacheSpec
from reelscope.core.ingest.media.audio import AudioCollector
from reelscope.core.ingest.media.errors import ONE_FRAME, MediaError, as_media_error
from reelscope.core.ingest.media.files import open_media
from reelscope.core.ingest.media.images import square_rgb, thumbnail_jpeg
from reelscope.core.ingest.media.melspec import log_mel
from reelscope.core.ingest.media.pick import pick_frames
from reelscope.core.ingest.media.soundprint import SAMPLE_RATE as PRINT_RATE, sound_print
from reelscope.core.ingest.media.scan import check_truncation, scan_packets, target_times
from reelscope.core.ingest.media.streams import (
    MediaInfo,
    claimed_duration,
    demux,
    first_frame,
    header_info,
    pick_streams,
    rotation_of,
)


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
    sound: Optional[np.ndarray] = None  # the sound print's array, when the audio has one


def probe(path: str | os.PathLike) -> MediaInfo:
    """Read a file's header (and its first picture, for the rotation).

    Cheap: it does not read the whole file, so truncation is found only by
    :func:`decode_for_cache`. Raises :class:`MediaError` for an unusable file.
    """
    with open_media(path) as container, as_media_error():
        video, audio = pick_streams(container)
        first = first_frame(container, video)
        info = header_info(container, video, audio, Path(path), rotation_of(first))
        video_index = container.streams.video.index(video)
        if info.frame_count == 1:
            raise MediaError(ONE_FRAME)
    if info.duration <= 0:
        # No length in the header (raw streams, some live recordings): measure it,
        # reading afresh since not every format can seek back.
        with open_media(path) as container, as_media_error():
            video = container.streams.video[video_index]
            scan = scan_packets(container, video, None, CacheSpec(), False)
            info = replace(info, duration=round(scan.end - scan.start, 6))
    return info


def decode_for_cache(path: str | os.PathLike, spec: CacheSpec) -> DecodedMedia:
    """Decode ``spec.frames`` evenly spread frames, the audio's log-mel and a thumbnail.

    Raises :class:`MediaError` when the file is unusable; damage it can work
    around ends up in ``DecodedMedia.warnings`` instead.
    """
    path = Path(path)
    warnings: list[str] = []
    with open_media(path) as container, as_media_error():
        video, audio = pick_streams(container)
        if audio is not None and audio.codec_context is None:
            warnings.append("the audio codec is not supported; imported without sound")
            audio = None
        scan = scan_packets(container, video, audio, spec, hold=True)
        warnings += scan.warnings
        if not scan.times:
            raise MediaError("the video stream holds no frames")
        if len(scan.times) == 1:
            raise MediaError(ONE_FRAME)
        claimed = claimed_duration(container, video)
        truncation = check_truncation(claimed, scan, video)
        if truncation:
            warnings.append(truncation)

        targets = target_times(scan.start, scan.end, spec.frames)
        picked, pick_warnings = pick_frames(container, video, scan, targets)
        warnings += pick_warnings
        rotation = rotation_of(picked[0][1])
        info = header_info(container, video, audio, path, rotation)
        # The measured extent is what the frames were spread over; report that.
        info = replace(info, duration=round(scan.end - scan.start, 6))

    frames = np.stack([square_rgb(picked[i][1], spec.size, rotation) for i in range(spec.frames)])
    frame_times = tuple(round(picked[i][0] - scan.start, 6) for i in range(spec.frames))
    thumbnail = thumbnail_jpeg(picked[spec.frames // 2][1], spec.thumb_width, rotation)
    sound = None
    if audio is not None:
        mel = log_mel(scan.wave, spec)
        if spec.sample_rate == PRINT_RATE:
            sound = sound_print(scan.wave).to_array()
    else:
        mel = np.zeros((spec.n_mels, 0), dtype=np.float16)
    return DecodedMedia(info, frames, frame_times, mel, thumbnail, warnings, sound)


def decode_audio(path: str | os.PathLike, sample_rate: int = PRINT_RATE, max_s: float = 60.0) -> np.ndarray:
    """float32 [N] mono at ``sample_rate``, the first ``max_s`` seconds of a file's audio
    (empty without an audio stream). Raises :class:`MediaError` for an unusable file."""
    spec = CacheSpec(sample_rate=sample_rate, max_audio_s=max_s)
    with open_media(path) as container, as_media_error():
        if not container.streams.audio or container.streams.audio[0].codec_context is None:
            return np.zeros(0, np.float32)
        stream = container.streams.audio[0]
        collector = AudioCollector(stream, spec)
        for packet in container.demux(stream):
            collector.add(packet)
        return collector.finish()[0]


def decode_everything(path: str | os.PathLike) -> tuple[int, int]:
    """Decode every video frame (frame threading on) and all audio of the first streams.

    Returns (video frames, audio samples per channel). The benchmark baseline
    that :func:`decode_for_cache` is measured against; damaged packets are skipped.
    """
    n_frames = n_samples = 0
    with open_media(path) as container, as_media_error():
        video, audio = pick_streams(container)
        video.thread_type = "AUTO"  # frame + slice threads, as players decode
        streams = [video] + ([audio] if audio is not None and audio.codec_context else [])
        for packet in demux(container, streams, []):
            try:
                decoded = packet.decode()
            except av.error.FFmpegError:
                continue
            if packet.stream is video:
                n_frames += len(decoded)
            else:
                n_samples += sum(frame.samples for frame in decoded)
    return n_frames, n_samples
