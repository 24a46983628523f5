"""Pass 1 of :func:`~reelscope.core.ingest.media.decode.decode_for_cache`: demux the
whole file once, indexing the video packets (keeping them in memory where they fit) and
decoding the audio on the way; then check the file against its header's length.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator, Optional

import numpy as np

from reelscope.core.store.clipcache import CacheSpec
from reelscope.core.ingest.media.audio import AudioCollector
from reelscope.core.ingest.media.errors import MediaError, counted
from reelscope.core.ingest.media.streams import claimed_duration, demux, frame_seconds

if TYPE_CHECKING:
    import av

# Video packets kept in memory between the two passes. Short-form videos (a minute
# at a few Mbit/s) fit whole; past this only a few keyframes stay (see _PacketStore).
_HOLD_BUDGET_BYTES = 64 << 20
# A truncated file keeping at least this share of its claimed length is imported
# with a warning; below it the file is rejected.
_TRUNCATED_FAIL_RATIO = 0.5


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
        i = slice_of(t, self.start, self.spacing, len(self.aims))
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
class Scan:
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


def scan_packets(container, video, audio, spec: CacheSpec, hold: bool) -> Scan:
    """Demux the whole file once: index the video packets, decode and resample the audio.

    With ``hold``, keep video packets (see :class:`_PacketStore`) for pass 2.
    """
    scan = Scan()
    tb = float(video.time_base)
    frame_s = frame_seconds(video)
    if hold:
        claimed = claimed_duration(container, video)
        first = float(video.start_time * video.time_base) if video.start_time is not None else 0.0
        aims = target_times(first, first + claimed, spec.frames) if claimed else None
        scan.store = _PacketStore(aims, first)
    corrupt_video = 0
    sound = AudioCollector(audio, spec) if audio is not None else None
    streams = [video] + ([audio] if audio is not None else [])
    for packet in demux(container, streams, scan.warnings):
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
            f"damaged video: the container marks {counted(corrupt_video, 'packet')} corrupt"
        )
    if sound is not None:
        scan.wave, scan.audio_end = sound.finish()
        scan.warnings += sound.warnings
    return scan


def check_truncation(claimed: Optional[float], scan: Scan, video) -> Optional[str]:
    """Compare the header's length with where the data really ends.

    Frame threading makes a file cut after its index decode "fine" to a shorter
    video, so this is the check that notices. Returns a warning, raises below half.
    """
    frames = video.frames
    if frames and len(scan.times) < frames:
        # AVI and others shrink the duration to what they find; the count stays.
        claimed = max(claimed or 0.0, frames * frame_seconds(video))
    if not claimed:
        return None
    measured = scan.end - scan.start
    if not video.duration:
        # The container's length covers every stream; audio may outlast the picture.
        measured = max(measured, scan.audio_end - scan.start)
    if measured >= claimed - max(0.25, 2 * frame_seconds(video)):
        return None
    message = f"truncated: header says {claimed:.1f} s, stream ends at {measured:.1f} s"
    if measured < claimed * _TRUNCATED_FAIL_RATIO:
        raise MediaError(message)
    return message + "; imported what is there"


def target_times(start: float, end: float, n: int) -> list[float]:
    """Centres of ``n`` equal slices of [start, end]: the times the cache samples."""
    spacing = (end - start) / n
    return [start + (i + 0.5) * spacing for i in range(n)]


def slice_of(t: float, start: float, spacing: float, n: int) -> int:
    """Index of the slice of width ``spacing`` (of ``n`` from ``start``) holding ``t``."""
    return min(max(int((t - start) / spacing), 0), n - 1)
