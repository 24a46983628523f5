"""Audio decoded and resampled to mono as the demuxer meets it, for the log-mel."""

from __future__ import annotations

import av
import numpy as np

from reelscope.core.store.clipcache import CacheSpec
from reelscope.core.ingest.media.errors import counted


class AudioCollector:
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
                f"damaged audio: {counted(self.damaged, 'packet')} could not be decoded "
                "and were skipped"
            )
        wave = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)
        if not self.chunks:
            self.warnings.append("the audio track holds no decodable sound")
        return wave[: self.limit].astype(np.float32, copy=False), self.end
