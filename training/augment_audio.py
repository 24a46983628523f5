"""Audio augmentations in the log-mel domain: drawn per crop on the CPU, applied in batch.

The clip cache stores log-mel spectrograms, not waveforms, so every augmentation
is written as what it does to a log-mel image (all in natural-log power units):

- tempo change  = resampling along time (a faster song fits more frames in the crop);
- pitch shift   = a shift along the mel axis (the mel scale is ~logarithmic above
  ~700 Hz, where a pitch change is a constant shift; an approximation below);
- gain and EQ   = adding a constant and a smooth curve over mel bins (log of a product);
- background noise and speech-like interference = ``logaddexp`` with the
  interferer's log-mel (powers add; phases of independent sources average out);
- time and frequency masking = torchaudio's SpecAugment masks, on the normalised input.

They mimic how a short video's soundtrack varies: the same song sped up, pitched,
re-equalised, talked over or recorded in a noisy room. Pitch and tempo share one
``grid_sample``; the rest are elementwise, so a batch costs a few kernel launches.
The crop's position (aligned with, or offset from, the video clip) is drawn in
:mod:`.data`.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from reelscope.training.config import AudioAugConfig, DataStats

EQ_TERMS = 4  # cosine terms of the random EQ curve over mel bins
DB_PER_LN = 10 / math.log(10)  # 4.34 dB per natural-log unit of power
SPEECH_HARMONICS = 16


def source_frames(frames: int, cfg: AudioAugConfig) -> int:
    """Mel frames to cut around the crop centre so the fastest tempo still fits.

    The margin is kept even, so with tempo 1 the output grid lands exactly on source frames.
    """
    extra = math.ceil(frames * 0.15 * min(cfg.tempo, 1.0))
    return frames + extra + (extra % 2)


def identity_params(n: int = 1) -> dict[str, np.ndarray]:
    return {
        "pitch": np.zeros(n, np.float32),  # shift in mel bins (+ = up)
        "tempo": np.ones(n, np.float32),  # rate (> 1 = faster)
        "gain": np.zeros(n, np.float32),  # ln units
        "eq": np.zeros((n, EQ_TERMS), np.float32),  # ln units per cosine term
        "noise": np.zeros((n, 4), np.float32),  # on, snr dB, tilt, level-wobble phase
        "speech": np.zeros((n, 8), np.float32),  # on, snr dB, f0, f0 depth, syllable Hz, phase, F1, F2
    }


def sample_params(rng: np.random.Generator, cfg: AudioAugConfig) -> dict[str, np.ndarray]:
    """Draw one crop's parameters (arrays for one crop, leading dim dropped)."""
    p = {k: v[0] for k, v in identity_params(1).items()}
    if cfg.pitch > 0:
        p["pitch"] = np.float32(rng.uniform(-3, 3) * cfg.pitch)
    if cfg.tempo > 0:
        s = 0.15 * min(cfg.tempo, 1.0)
        p["tempo"] = np.float32(math.exp(rng.uniform(math.log(1 - s), math.log(1 + s))))
    if cfg.gain > 0:
        p["gain"] = np.float32(rng.uniform(-6, 6) * cfg.gain / DB_PER_LN)
    if cfg.eq > 0:
        p["eq"] = (rng.normal(0, 0.5, EQ_TERMS) * cfg.eq).astype(np.float32)
    if rng.random() < cfg.noise:
        p["noise"] = np.array(
            [1.0, rng.uniform(0, 20), rng.uniform(-1, 1), rng.uniform(0, 2 * math.pi)], np.float32
        )
    if rng.random() < cfg.speech:
        p["speech"] = np.array(
            [1.0, rng.uniform(0, 15), rng.uniform(90, 250), rng.uniform(0.05, 0.2),
             rng.uniform(3, 6), rng.uniform(0, 2 * math.pi), rng.uniform(300, 900),
             rng.uniform(900, 2500)],
            np.float32,
        )
    return p


def tempo_pitch(mel: torch.Tensor, tempo: torch.Tensor, pitch: torch.Tensor, frames: int) -> torch.Tensor:
    """Resample a centred window along time by ``tempo`` and shift it ``pitch`` bins up.

    mel: [B, M, Ls] (Ls >= frames * max tempo);  tempo, pitch: [B].  Returns [B, M, frames].
    Bins shifted in from beyond the edges repeat the edge bin.
    """
    b, m, ls = mel.shape
    dev = mel.device
    cols = torch.arange(frames, device=dev, dtype=torch.float32) - (frames - 1) / 2
    src_col = (ls - 1) / 2 + cols.view(1, 1, -1) * tempo.view(-1, 1, 1)  # [B, 1, frames]
    rows = torch.arange(m, device=dev, dtype=torch.float32)
    src_row = rows.view(1, -1, 1) - pitch.view(-1, 1, 1)  # out[i] = in[i - shift]
    grid = torch.stack(
        [
            (2 * src_col / (ls - 1) - 1).expand(b, m, frames),
            (2 * src_row / (m - 1) - 1).expand(b, m, frames),
        ],
        dim=-1,
    )
    out = F.grid_sample(mel.unsqueeze(1), grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.squeeze(1)


def gain_eq(x: torch.Tensor, gain: torch.Tensor, eq: torch.Tensor) -> torch.Tensor:
    """x: [B, M, L] ln power; gain [B]; eq [B, K] -> x + gain + sum_k eq_k cos(pi k m / (M-1))."""
    m = x.shape[1]
    k = torch.arange(1, eq.shape[1] + 1, device=x.device, dtype=x.dtype)
    basis = torch.cos(math.pi * k.view(-1, 1) * torch.linspace(0, 1, m, device=x.device).view(1, -1))
    curve = eq @ basis  # [B, M]
    return x + gain.view(-1, 1, 1) + curve.unsqueeze(-1)


def add_noise(x: torch.Tensor, noise: torch.Tensor, ref: torch.Tensor, mel_rate: float) -> torch.Tensor:
    """Mix in coloured noise with a slowly wobbling level at a given SNR.

    x: [B, M, L] ln power;  noise: [B, 4] (on, snr dB, spectral tilt, wobble phase);
    ref: [B] the crop's mean ln power. Rows with on == 0 are returned unchanged.
    """
    b, m, n = x.shape
    on, snr, tilt, phase = noise.unbind(1)
    t = torch.arange(n, device=x.device, dtype=x.dtype) / mel_rate
    bins = torch.linspace(-0.5, 0.5, m, device=x.device, dtype=x.dtype)
    level = ref - snr / DB_PER_LN  # ln power of the noise relative to the crop
    noise_ln = (
        level.view(-1, 1, 1)
        + 4 * tilt.view(-1, 1, 1) * bins.view(1, -1, 1)  # +-2 ln units from low to high bins
        + 0.5 * torch.sin(2 * math.pi * 0.5 * t.view(1, 1, -1) + phase.view(-1, 1, 1))
    )
    return torch.where(on.view(-1, 1, 1) > 0.5, torch.logaddexp(x, noise_ln), x)


def mel_centres(n_mels: int, f_max: float, device: torch.device) -> torch.Tensor:
    """Centre frequency (in mel) of each bin of an HTK mel filterbank from 0 Hz to ``f_max``."""
    top = 2595 * math.log10(1 + f_max / 700)
    return torch.linspace(0, top, n_mels + 2, device=device)[1:-1]


def _hz_to_mel(f: torch.Tensor) -> torch.Tensor:
    return 2595 * torch.log10(1 + f / 700)


def add_speech(
    x: torch.Tensor, speech: torch.Tensor, ref: torch.Tensor, stats: DataStats
) -> torch.Tensor:
    """Mix in a synthetic talker: a harmonic voice with gliding pitch, two formants and syllables.

    x: [B, M, L] ln power;  speech: [B, 8] (on, snr dB, f0 Hz, f0 depth, syllable rate Hz,
    phase, F1 Hz, F2 Hz);  ref: [B] mean ln power. Harmonic k's energy lands on the
    two mel bins either side of k*f0(t) (linear split, then the neighbours' share
    that overlapping triangular filters would pick up); a rectified sine at the
    syllable rate gates the voice on and off.
    """
    rows = (speech[:, 0] > 0.5).nonzero().squeeze(1)
    if rows.numel() == 0:
        return x
    # Only the crops that get a talker pay for synthesising one.
    speech, x_on, ref = speech[rows], x[rows], ref[rows]
    b, m, n = x_on.shape
    _, snr, f0, depth, rate, phase, f1, f2 = speech.unbind(1)
    t = torch.arange(n, device=x.device, dtype=x.dtype).view(1, -1) / stats.mel_rate  # [1, L]
    pitch = f0.view(-1, 1) * (1 + depth.view(-1, 1) * torch.sin(2 * math.pi * 0.7 * t + phase.view(-1, 1)))
    spacing = 2595 * math.log10(1 + stats.f_max / 700) / (m + 1)  # mel between bin centres
    power = torch.zeros_like(x_on)
    for k in range(1, SPEECH_HARMONICS + 1):
        fk = pitch * k  # [B, L]
        # Formant envelope: two resonances over a -6 dB/octave glottal roll-off.
        env = (
            torch.exp(-(((fk - f1.view(-1, 1)) / 150) ** 2))
            + 0.5 * torch.exp(-(((fk - f2.view(-1, 1)) / 250) ** 2))
            + 0.05
        ) / k
        pos = _hz_to_mel(fk) / spacing - 1  # fractional bin index (bin i centred at (i+1)*spacing)
        lo = pos.floor()
        frac = pos - lo
        for index, weight in ((lo, 1 - frac), (lo + 1, frac)):
            inside = (index >= 0) & (index <= m - 1)
            power.scatter_add_(1, index.clamp(0, m - 1).long().unsqueeze(1),
                               (env * weight * inside).unsqueeze(1))
    # Neighbouring triangular filters overlap: spread each bin's energy a little.
    power = F.conv1d(power.transpose(1, 2).reshape(-1, 1, m),
                     torch.tensor([[[0.25, 0.5, 0.25]]], device=x.device, dtype=x.dtype),
                     padding=1).view(b, n, m).transpose(1, 2)
    syllables = torch.sin(2 * math.pi * rate.view(-1, 1) * t + phase.view(-1, 1)).clamp(min=0) ** 2
    power = power * syllables.unsqueeze(1)
    # Scale so the talker's mean power sits snr dB below the crop's.
    mean_power = power.mean(dim=(1, 2), keepdim=True).clamp(min=1e-12)
    speech_ln = torch.log(power / mean_power + 1e-6) + (ref - snr / DB_PER_LN).view(-1, 1, 1)
    return x.index_copy(0, rows, torch.logaddexp(x_on, speech_ln))


def spec_masks(x: torch.Tensor, cfg: AudioAugConfig, seed: Optional[int] = None) -> torch.Tensor:
    """torchaudio's iid time and frequency masks on normalised mel ``[B, 1, M, L]`` (mask value 0 = mean).

    torchaudio draws from the global generator; with ``seed`` the draw is made
    reproducible per step without touching the rest of the program's random state.
    """
    from torchaudio.functional import mask_along_axis_iid

    freq_param = int(round(0.125 * cfg.freq_mask * x.shape[2]))
    time_param = int(round(0.125 * cfg.time_mask * x.shape[3]))
    if freq_param < 1 and time_param < 1:
        return x
    devices = [x.device.index or 0] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=x.device.type if devices else "cuda"):
        if seed is not None:
            torch.default_generator.manual_seed(seed)
            if devices:
                torch.cuda.default_generators[devices[0]].manual_seed(seed)
        if freq_param >= 1:
            x = mask_along_axis_iid(x, freq_param, 0.0, axis=2)
        if time_param >= 1:
            x = mask_along_axis_iid(x, time_param, 0.0, axis=3)
    return x


def augment_audio(
    mel: torch.Tensor,
    params: dict[str, torch.Tensor],
    frames: int,
    cfg: AudioAugConfig,
    stats: DataStats,
    mask_seed: Optional[int] = None,
) -> torch.Tensor:
    """Raw cache log-mel windows -> augmented, normalised encoder input.

    mel: float [B, M, Ls] in the cache's log unit (see ``source_frames``);
    returns float [B, 1, M, frames].
    """
    x = mel.float() / stats.units_per_ln  # natural-log power
    x = tempo_pitch(x, params["tempo"], params["pitch"], frames)
    ref = x.mean(dim=(1, 2))
    x = gain_eq(x, params["gain"], params["eq"])
    x = add_noise(x, params["noise"], ref, stats.mel_rate)
    x = add_speech(x, params["speech"], ref, stats)
    x = normalise_mel(x * stats.units_per_ln, stats).unsqueeze(1)
    return spec_masks(x, cfg, mask_seed)


def normalise_mel(mel: torch.Tensor, stats: DataStats) -> torch.Tensor:
    """Cache units -> zero mean, unit variance over the training data."""
    return (mel - stats.mean) / stats.std


def centre_window(mel: torch.Tensor, frames: int) -> torch.Tensor:
    """[B, M, Ls] -> the central [B, M, frames] (what ``tempo_pitch`` returns at tempo 1, pitch 0)."""
    start = (mel.shape[-1] - frames) // 2
    return mel[..., start : start + frames]
