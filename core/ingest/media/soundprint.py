"""Sound prints: the notes of a soundtrack as a sparse map of spectral peaks.

What survives every edit a repost makes to a trending sound — speed, transposition,
a different start, voice-over, noise, EQ — is the pattern of notes: which pitches
sound, and when, relative to each other. :func:`sound_print` keeps that and nothing
else: a constant-Q spectrogram (2 bins per semitone, 110 Hz to 3.5 kHz), each bin's
median level over time removed (EQ, hum and steady noise go), a median filter along
time (speech syllables and drum hits are shorter than notes), and only the local
maxima across pitch kept, a few per frame.

numpy and scipy only: the importer makes a print beside the log-mel of every video
(:mod:`reelscope.core.store.clipcache` keeps it), and
:mod:`reelscope.core.analytics.sound_match` matches them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelscope.core.store.clipcache import SOUND_PRINT_VERSION as PRINT_VERSION  # noqa: F401  bump on a recipe change

SAMPLE_RATE = 16_000
N_FFT = 4096  # 256 ms: resolves a semitone down to about 130 Hz
HOP = 512  # 32 ms between frames
F_MIN = 110.0
BINS_PER_SEMITONE = 2
OCTAVES = 5
N_BINS = 12 * BINS_PER_SEMITONE * OCTAVES
PEAKS_PER_FRAME = 4
MIN_LEVEL = 1.0  # a peak stands this far (natural log) above its bin's median level
MEDIAN_FRAMES = 5  # ~160 ms: longer than a syllable's onset or a drum hit, shorter than a note

@dataclass(frozen=True)
class SoundPrint:
    """The notes of one soundtrack: peak times (frames of :data:`HOP` samples) and
    pitches (constant-Q bins), int16 [P] each, ordered by time then pitch, and the
    clip's length in frames."""

    times: np.ndarray
    bins: np.ndarray
    frames: int

    @property
    def empty(self) -> bool:
        return len(self.times) == 0

    def to_array(self) -> np.ndarray:
        """int16 [P + 1, 2]: row 0 is (frames, 0), then (time, bin) — for the cache."""
        head = np.array([[min(self.frames, 32767), 0]], np.int16)
        return np.concatenate([head, np.stack([self.times, self.bins], 1).astype(np.int16)])

    @classmethod
    def from_array(cls, a: np.ndarray) -> "SoundPrint":
        a = np.asarray(a, np.int16).reshape(-1, 2)
        return cls(a[1:, 0].copy(), a[1:, 1].copy(), int(a[0, 0]))


def _cq_weights(sample_rate: int, n_fft: int) -> list[tuple[int, int, np.ndarray]]:
    """For each constant-Q bin: the FFT bins it spans and their triangular weights."""
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    centres = F_MIN * 2.0 ** (np.arange(N_BINS) / (12 * BINS_PER_SEMITONE))
    half = 2.0 ** (1 / (12 * BINS_PER_SEMITONE))
    out = []
    for c in centres:
        lo, hi = c / half, c * half
        idx = np.flatnonzero((freqs > lo) & (freqs < hi))
        if len(idx) == 0:
            idx = np.array([int(np.argmin(np.abs(freqs - c)))])
        w = 1.0 - np.abs(np.log(np.maximum(freqs[idx], 1e-6) / c)) / np.log(half)
        out.append((int(idx[0]), int(idx[-1]) + 1, np.clip(w, 0.05, 1.0).astype(np.float32)))
    return out


_WEIGHTS = _cq_weights(SAMPLE_RATE, N_FFT)


def cq_spectrogram(wave: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """float32 [T, N_BINS]: log power on a constant-Q grid, ``T = 1 + N // HOP``."""
    from reelscope.core.ingest.media.melspec import power_spectrogram

    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"sound prints are made at {SAMPLE_RATE} Hz, not {sample_rate} Hz")
    power = power_spectrogram(np.asarray(wave, np.float32), N_FFT, HOP)  # [bins, T]
    if power.shape[1] == 0:
        return np.zeros((0, N_BINS), np.float32)
    out = np.empty((power.shape[1], N_BINS), np.float32)
    for k, (lo, hi, w) in enumerate(_WEIGHTS):
        out[:, k] = (w[:, None] * power[lo:hi]).max(axis=0)
    return np.log(out + 1e-10 * float(power.max(initial=0.0)) + 1e-20)


def sound_print(wave: np.ndarray, sample_rate: int = SAMPLE_RATE) -> SoundPrint:
    """The note peaks of a mono wave (float32, -1..1, at :data:`SAMPLE_RATE`)."""
    from scipy.ndimage import median_filter

    spec = cq_spectrogram(wave, sample_rate)
    frames = len(spec)
    if frames < 3 or not np.isfinite(spec).all():
        return SoundPrint(np.zeros(0, np.int16), np.zeros(0, np.int16), frames)
    clean = spec - np.median(spec, axis=0, keepdims=True)  # each bin's steady level: EQ, hum, noise
    clean = median_filter(clean, size=(MEDIAN_FRAMES, 1), mode="nearest")  # notes outlast hits and syllables
    peak = np.zeros_like(clean, dtype=bool)
    peak[:, 1:-1] = (clean[:, 1:-1] > clean[:, :-2]) & (clean[:, 1:-1] >= clean[:, 2:])
    peak &= clean > MIN_LEVEL
    # Keep the strongest few per frame: a dense frame (noise, a chord) must not flood the index.
    level = np.where(peak, clean, -np.inf)
    keep = np.argsort(-level, axis=1)[:, :PEAKS_PER_FRAME]
    t = np.repeat(np.arange(frames), keep.shape[1])
    b = keep.ravel()
    ok = np.isfinite(level[t, b])
    t, b = t[ok], b[ok]
    order = np.lexsort((b, t))
    return SoundPrint(t[order].astype(np.int16), b[order].astype(np.int16), frames)
