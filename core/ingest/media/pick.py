"""Pass 2 of :func:`~reelscope.core.ingest.media.decode.decode_for_cache`: decode one
frame per target time, a kept keyframe on its own where one is near, else a forward
decode from the keyframe before it (targets in one group of pictures share it).
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from typing import Iterator, Optional

import av

from reelscope.core.ingest.media.errors import MediaError, counted
from reelscope.core.ingest.media.scan import Scan, slice_of
from reelscope.core.ingest.media.streams import demux, frame_seconds


def pick_frames(container, video, scan: Scan, targets: list[float]):
    """Decode one frame per target: the kept keyframe nearest it when one lies within
    half the target spacing, else the frame nearest it, decoding forward from the
    keyframe before it. Returns ({target index: (time s, VideoFrame)}, warnings).
    """
    spacing = (scan.end - scan.start) / len(targets)
    store = scan.store
    # Slices do not overlap, so no keyframe serves two targets.
    keyframe_for: dict[int, float] = {}
    for k in scan.keyframes:
        i = slice_of(k, scan.start, spacing, len(targets))
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
        return demux(container, [video], [])

    if jobs:
        clock = _Clock(tb, frame_seconds(video), scan.start)
        found, errors = _decode_forward(ctx, sorted(jobs), packets_from, clock)
        picked.update(found)
        damaged += errors
    scan.store = None  # free the packets

    warnings = []
    if damaged:
        warnings.append(
            f"damaged video: {counted(damaged, 'packet')} could not be decoded; "
            "frames were taken from the nearest clean pictures"
        )
    if not picked:
        raise MediaError("no video frame could be decoded: the video data is damaged")
    for i, t in enumerate(targets):
        if i not in picked:  # reuse the nearest decoded frame rather than fail the file
            picked[i] = picked[min(picked, key=lambda j: abs(targets[j] - t))]
    return picked, warnings


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
