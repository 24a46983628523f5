"""Log-mel spectrograms in plain numpy, for the clip cache.

numpy only — no torch, no scipy: import workers start in milliseconds and the
same function serves ingest, tests and any script. The recipe is the common one
(torchaudio's ``MelSpectrogram`` defaults apart from the padding):

1. pad ``n_fft // 2`` zeros on both sides, so frame ``i`` is centred on sample
   ``i * hop`` and a wave of ``N`` samples gives ``1 + N // hop`` frames;
2. multiply each frame by a periodic Hann window, take the power spectrum
   ``|rfft|**2`` (``n_fft // 2 + 1`` bins);
3. weight the bins with ``n_mels`` triangular filters spaced evenly on the HTK
   mel scale ``mel = 2595 * log10(1 + f / 700)`` from 0 Hz to Nyquist, each
   peaking at 1 on its centre (no area normalisation);
4. take the natural log with a floor of ``LOG_FLOOR``, store as float16.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from reelscope.core.store.clipcache import CacheSpec

# Silence maps to log(1e-10) ~= -23; well inside float16's range.
LOG_FLOOR = 1e-10


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_centers(sample_rate: int, n_mels: int) -> np.ndarray:
    """float64 [n_mels]: centre frequency (Hz) of each mel filter."""
    edges = mel_to_hz(np.linspace(0.0, hz_to_mel(sample_rate / 2), n_mels + 2))
    return edges[1:-1]


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """float32 [n_mels, n_fft // 2 + 1]: triangular HTK mel filters over rfft bins."""
    edges = mel_to_hz(np.linspace(0.0, hz_to_mel(sample_rate / 2), n_mels + 2))
    bins = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    weights = np.clip(np.minimum(rising, falling), 0.0, None).astype(np.float32)
    weights.setflags(write=False)  # shared through the cache
    return weights


@lru_cache(maxsize=8)
def hann_window(n_fft: int) -> np.ndarray:
    """float32 [n_fft]: periodic Hann window (the one STFTs use)."""
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    window.setflags(write=False)
    return window


def power_spectrogram(wave: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """float32 [n_fft // 2 + 1, 1 + N // hop] from float32 [N]; [.., 0] when N == 0."""
    wave = np.asarray(wave, dtype=np.float32).reshape(-1)
    n_bins = n_fft // 2 + 1
    if wave.size == 0:
        return np.zeros((n_bins, 0), dtype=np.float32)
    half = n_fft // 2
    padded = np.pad(wave, (half, n_fft - half))
    # A strided view: no copy of the frames until the window multiplies them.
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    frames = frames[: 1 + wave.size // hop]
    spectrum = np.fft.rfft(frames * hann_window(n_fft), axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    return np.ascontiguousarray(power.T, dtype=np.float32)


def log_mel(wave: np.ndarray, spec: "CacheSpec") -> np.ndarray:
    """Log-mel spectrogram of a mono wave.

    ``wave``: float32 [N] mono at ``spec.sample_rate`` (-1..1).
    Returns float16 [spec.n_mels, A] with ``A = 1 + N // spec.hop`` (``A = 0`` for
    an empty wave), i.e. ``spec.mel_rate`` frames per second.
    """
    power = power_spectrogram(wave, spec.n_fft, spec.hop)
    mel = mel_filterbank(spec.sample_rate, spec.n_fft, spec.n_mels) @ power
    return np.log(np.maximum(mel, LOG_FLOOR)).astype(np.float16)
