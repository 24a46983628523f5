"""A strip of real frames from a library video, for the detail panel (and wherever a
video cannot be played). Reads the original file with PyAV; writes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from reelscope.core.store.library import Library


def frame_strip(library: "Library", video_id: str, count: int = 6, height: int = 200) -> list[np.ndarray]:
    """``count`` frames spread evenly over the video, each uint8 RGB [height, W, 3] with
    the picture's aspect kept. Raises KeyError for an unknown id and ValueError with a
    readable reason when the file is missing or cannot be decoded."""
    import av

    video = library.get(video_id)
    try:
        container = av.open(video.path)
    except (OSError, av.FFmpegError) as exc:
        raise ValueError(f"cannot open {video.path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        stream = next((s for s in container.streams if s.type == "video"), None)
        if stream is None:
            raise ValueError(f"{video.path} has no video stream")
        stream.thread_type = "AUTO"
        duration = video.duration or (float(container.duration) / av.time_base if container.duration else 0.0)
        targets = [duration * (i + 0.5) / count for i in range(count)] if duration > 0 else [0.0]
        frames: list[np.ndarray] = []
        for t in targets:
            frame = _frame_at(container, stream, t)
            if frame is None:
                continue
            width = max(1, round(frame.width * height / max(1, frame.height)))
            frames.append(frame.to_ndarray(format="rgb24", width=width, height=height))
        if not frames:
            raise ValueError(f"no frame of {video.path} could be decoded")
        return frames
    except av.FFmpegError as exc:
        raise ValueError(f"cannot decode {video.path}: {exc}") from None
    finally:
        container.close()


def _frame_at(container, stream, seconds: float):  # type: ignore[no-untyped-def]
    """The first frame at or after ``seconds`` (seeking to the keyframe before it)."""
    if stream.time_base is None:
        return None
    container.seek(int(seconds / stream.time_base), stream=stream, backward=True, any_frame=False)
    last = None
    for frame in container.decode(stream):
        last = frame
        if frame.time is None or frame.time >= seconds - 1e-3:
            return frame
    return last
