"""Sound synthesis for the demo library: looped "trending sounds", speech-like voices,
and the edits reposts put on a reused sound (speed, pitch, offset, voice-over, noise, EQ;
in the hard demo also reverb and a band-limited chain, see :func:`harden_audio_plan`).

A trending sound is a :class:`SoundRecipe` — tempo, key, a melody and bass line, a lead
timbre (partial ratios and amplitudes, envelope, vibrato), a drum pattern — drawn once
from its seed; every video that reuses it renders the same notes, edited the way that
repost was edited (:class:`AudioPlan`). Speech is source-filter synthesis: a sawtooth
glottal source following a pitch contour, shaped per syllable by vowel formants in the
STFT domain, with fricative noise bursts at syllable onsets. See docs/DEMO.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

SAMPLE_RATE = 16_000
EQ_CURVES: tuple[str, ...] = ("flat", "phone", "bright", "warm", "bassboost")
_SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10),
    "pentatonic": (0, 2, 4, 7, 9), "dorian": (0, 2, 3, 5, 7, 9, 10), "blues": (0, 3, 5, 6, 7, 10),
}
_TIMBRES = {  # partial frequency ratios and amplitudes: the lead's character
    "sine": ((1.0, 2.0), (1.0, 0.15)),
    "saw": ((1, 2, 3, 4, 5, 6), (1.0, 0.5, 0.33, 0.25, 0.2, 0.16)),
    "square": ((1, 3, 5, 7), (1.0, 0.33, 0.2, 0.14)),
    "bell": ((1.0, 2.76, 5.4, 8.93), (1.0, 0.5, 0.25, 0.12)),
    "organ": ((0.5, 1, 2, 3, 4), (0.5, 1.0, 0.6, 0.3, 0.2)),
}
# First three formants (Hz) of a few vowels: a, i, u, e, o, ae, schwa.
_VOWELS = np.array([[730, 1090, 2440], [270, 2290, 3010], [300, 870, 2240], [530, 1840, 2480],
                    [570, 840, 2410], [660, 1720, 2410], [500, 1500, 2500]], np.float32)
_NFFT, _HOP = 512, 128


@dataclass(frozen=True)
class SoundRecipe:
    """The musical identity of one sound; loop = ``bars`` bars of 4 beats."""

    seed: int
    bpm: float
    root: int  # MIDI note of the key
    scale: str
    melody: tuple[int, ...]  # scale degree per eighth note; None-like rests are -99
    bass: tuple[int, ...]  # scale degree per beat
    timbre: str
    attack: float
    decay: float
    vibrato: float
    kick: tuple[int, ...]  # 16 sixteenth-note steps per bar, 1 = hit
    snare: tuple[int, ...]
    hat: tuple[int, ...]
    pad: bool
    swing: float
    levels: tuple[float, float, float, float]  # lead, bass, drums, pad
    bars: int = 2

    @property
    def loop_s(self) -> float:
        return self.bars * 4 * 60.0 / self.bpm


REST = -99


def make_recipe(rng: np.random.Generator, seed: int) -> SoundRecipe:
    """A new, distinct sound: every field below changes how it sounds."""
    scale = str(rng.choice(list(_SCALES)))
    steps, deg, melody = 16, int(rng.integers(0, 5)), []
    for _ in range(steps):
        if rng.random() < 0.22:
            melody.append(REST)
            continue
        deg = int(np.clip(deg + rng.choice([-2, -1, -1, 0, 1, 1, 2, 3]), -2, 9))
        melody.append(deg)
    kick = [0] * 16
    for i in (0, 8) if rng.random() < 0.5 else (0, 4, 8, 12):
        kick[i] = 1
    if rng.random() < 0.4:
        kick[int(rng.choice([6, 10, 14]))] = 1
    snare = [0] * 16
    for i in (4, 12):
        snare[i] = int(rng.random() < 0.85)
    hat = [int(i % int(rng.choice([2, 2, 4, 1])) == 0 and rng.random() < 0.9) for i in range(16)]
    return SoundRecipe(
        seed=seed,
        bpm=float(rng.uniform(82, 152)),
        root=int(rng.integers(55, 69)),
        scale=scale,
        melody=tuple(melody),
        bass=tuple(int(rng.choice([0, 0, 3, 4, 5, -2])) for _ in range(8)),
        timbre=str(rng.choice(list(_TIMBRES))),
        attack=float(rng.uniform(0.003, 0.04)),
        decay=float(rng.uniform(0.08, 0.45)),
        vibrato=float(rng.uniform(0, 0.012)) if rng.random() < 0.4 else 0.0,
        kick=tuple(kick), snare=tuple(snare), hat=tuple(hat),
        pad=bool(rng.random() < 0.45),
        swing=float(rng.uniform(0, 0.25)) if rng.random() < 0.4 else 0.0,
        levels=(float(rng.uniform(0.5, 1.0)), float(rng.uniform(0.4, 0.9)),
                float(rng.uniform(0.3, 0.9)), float(rng.uniform(0.15, 0.4))),
    )


@dataclass(frozen=True)
class AudioPlan:
    """One video's soundtrack: which sound (if any) and how this post edited it."""

    kind: str  # "trending" | "original" | "none"
    seed: int  # voices, noise and the original's bed come from this
    recipe: Optional[SoundRecipe] = None
    speed: float = 1.0  # tempo factor of the reused sound
    pitch_semitones: float = 0.0  # total transposition heard
    offset_s: float = 0.0  # where in the loop the post starts
    voiceover_db: Optional[float] = None  # speech level relative to the music
    snr_db: float = 30.0  # signal to background noise
    eq: str = "flat"
    level_db: float = -18.0  # RMS level in dBFS
    bed: Optional[SoundRecipe] = None  # a unique music bed under original speech
    # The hard demo's extra damage (none by default): a room and a narrow playback chain.
    reverb_s: float = 0.0  # RT60 of a synthetic room (0 = dry)
    reverb_mix: float = 0.0  # wet share of the output, 0..1
    band_hz: Optional[tuple[float, float]] = None  # high-pass and low-pass corners


def draw_audio_plan(rng: np.random.Generator, kind: str, recipe: Optional[SoundRecipe]) -> AudioPlan:
    """How a post with this kind of sound was edited, drawn at random."""
    seed = int(rng.integers(2**31))
    common = dict(snr_db=float(rng.uniform(8, 40)),
                  eq=str(rng.choice(EQ_CURVES, p=(0.4, 0.15, 0.15, 0.15, 0.15))),
                  level_db=float(rng.uniform(-26, -14)))
    if kind == "none":
        return AudioPlan("none", seed)
    if kind == "original":
        bed = make_recipe(rng, seed + 1) if rng.random() < 0.3 else None
        return AudioPlan("original", seed, bed=bed, **common)
    assert recipe is not None
    speed = 1.0
    if rng.random() < 0.6:
        speed = float(1 + rng.choice([-1, 1]) * rng.uniform(0.05, 0.15))
    if speed != 1.0 and rng.random() < 0.5:
        pitch = 12 * math.log2(speed)  # sped up the simple way: pitch follows tempo
    else:
        pitch = float(rng.choice([0, 0, 0, -2, -1, 1, 2, 3]))
    voice = float(rng.uniform(-12, 3)) if rng.random() < 0.45 else None
    return AudioPlan("trending", seed, recipe, speed, pitch, float(rng.uniform(0, recipe.loop_s)),
                     voice, **common)


def harden_audio_plan(rng: np.random.Generator, plan: AudioPlan) -> AudioPlan:
    """The hard demo's edit of ``plan``: a reposted sound is pitched (1-3 semitones) and
    tempo-shifted (3-10 %) independently, almost always under a louder voice-over; every
    sound gets lower SNR, a room's reverb and a band-limited playback chain."""
    if plan.kind == "none":
        return plan
    changes: dict = dict(
        snr_db=float(rng.uniform(0, 15)),
        reverb_s=float(rng.uniform(0.3, 1.2)), reverb_mix=float(rng.uniform(0.2, 0.5)),
        band_hz=(float(rng.uniform(150, 500)), float(rng.uniform(2500, 5000))),
    )
    if plan.kind == "trending":
        sign = rng.choice([-1.0, 1.0], size=2)
        changes.update(speed=float(1 + sign[0] * rng.uniform(0.03, 0.10)),
                       pitch_semitones=float(sign[1] * rng.uniform(1.0, 3.0)),
                       voiceover_db=float(rng.uniform(-3, 6)) if rng.random() < 0.85 else None)
    return replace(plan, **changes)


def render_audio(plan: AudioPlan, seconds: float, sr: int = SAMPLE_RATE) -> Optional[np.ndarray]:
    """float32 [N] mono in -1..1, N = round(seconds * sr); None when the post has no sound."""
    if plan.kind == "none":
        return None
    n = int(round(seconds * sr))
    rng = np.random.default_rng(plan.seed)
    if plan.kind == "trending":
        assert plan.recipe is not None
        x = render_music(plan.recipe, n, sr, plan.speed, 2 ** (plan.pitch_semitones / 12), plan.offset_s)
        if plan.voiceover_db is not None:
            x = _normalise(x) + _normalise(render_speech(rng, n, sr)) * 10 ** (plan.voiceover_db / 20)
    else:
        x = _normalise(render_speech(rng, n, sr))
        if plan.bed is not None:
            bed = render_music(plan.bed, n, sr, 1.0, 1.0, float(rng.uniform(0, plan.bed.loop_s)))
            x = x + _normalise(bed) * 10 ** (rng.uniform(-16, -8) / 20)
    if plan.reverb_s > 0:
        x = _reverb(_normalise(x), plan.reverb_s, plan.reverb_mix, rng, sr)
    x = _normalise(x) + _normalise(_pink_noise(rng, n, sr)) * 10 ** (-plan.snr_db / 20)
    x = _equalise(x, plan.eq, sr)
    if plan.band_hz is not None:
        x = _band_limit(x, *plan.band_hz, sr)
    x = _normalise(x) * 10 ** (plan.level_db / 20)
    peak = float(np.abs(x).max(initial=0))
    if peak > 0.9:  # soft limiter, as phone apps apply
        x = np.tanh(x / peak * 1.5) * 0.9 / math.tanh(1.5)
    return x.astype(np.float32)


# ------------------------------------------------------------------ music
def render_music(recipe: SoundRecipe, n: int, sr: int, speed: float, pitch: float,
                 offset_s: float) -> np.ndarray:
    """``n`` samples of the looped sound, played ``speed`` x faster and ``pitch`` x higher,
    starting ``offset_s`` seconds into the loop."""
    out = np.zeros(n + sr, np.float32)  # room for the last notes' tails
    nrng = np.random.default_rng(recipe.seed)  # same drum samples in every repost
    tail = np.arange(int(0.18 * sr))
    snare = (nrng.standard_normal(len(tail)) * np.exp(-tail / (0.05 * sr))).astype(np.float32)
    hat = np.diff(nrng.standard_normal(int(0.05 * sr) + 1)).astype(np.float32)
    hat *= np.exp(-np.arange(len(hat)) / (0.012 * sr)).astype(np.float32)
    beat = 60.0 / recipe.bpm
    loop = recipe.loop_s
    scale = _SCALES[recipe.scale]
    ratios, amps = _TIMBRES[recipe.timbre]
    lead_lv, bass_lv, drum_lv, pad_lv = recipe.levels

    def hz(degree: int, octave: int = 0) -> float:
        o, d = divmod(degree, len(scale))
        return 440.0 * 2 ** ((recipe.root + 12 * (o + octave) + scale[d] - 69) / 12) * pitch

    def at(t_loop: float) -> int:
        return int(round((t_loop - offset_s) / speed * sr))

    first, last = int(offset_s // loop) - 1, int((offset_s + n / sr * speed) // loop) + 1
    for rep in range(first, last + 1):
        base = rep * loop
        for j, deg in enumerate(recipe.melody * (recipe.bars // 2 or 1)):
            if deg == REST:
                continue
            t = base + j * beat / 2 + (recipe.swing * beat / 2 if j % 2 else 0.0)
            _add(out, at(t), lead_lv * _tone(hz(deg), beat / 2 / speed * 0.9, sr, ratios, amps,
                                             recipe.attack, recipe.decay, recipe.vibrato))
        for k in range(recipe.bars * 4):
            _add(out, at(base + k * beat), bass_lv * _tone(hz(recipe.bass[k % len(recipe.bass)], -2),
                                                           beat / speed * 0.9, sr, (1.0, 2.0), (1.0, 0.3),
                                                           0.01, 0.35, 0.0))
        for bar in range(recipe.bars):
            b0 = base + bar * 4 * beat
            if recipe.pad:
                root_deg = recipe.bass[(bar * 4) % len(recipe.bass)]
                for deg in (root_deg, root_deg + 2, root_deg + 4):
                    _add(out, at(b0), pad_lv * 0.5 * _tone(hz(deg, -1), 4 * beat / speed, sr, (1.0, 2.0, 3.0),
                                                           (1.0, 0.3, 0.1), 0.2, 2.0, 0.0))
            for i in range(16):
                t = b0 + i * beat / 4
                if recipe.kick[i]:
                    _add(out, at(t), drum_lv * _kick(sr, pitch))
                if recipe.snare[i]:
                    _add(out, at(t), drum_lv * 0.5 * snare)
                if recipe.hat[i]:
                    _add(out, at(t), drum_lv * 0.25 * hat)
    return out[:n]


def _tone(freq: float, dur: float, sr: int, ratios, amps, attack: float, decay: float,
          vibrato: float) -> np.ndarray:
    """One note: partials under an attack/exponential-decay envelope with a short release."""
    m = int((dur + 0.08) * sr)
    t = np.arange(m, dtype=np.float32) / sr
    # Vibrato: frequency f * (1 + v sin(2 pi 5.5 t)), integrated into the phase.
    phase = 2 * np.pi * freq * (t - vibrato / (2 * np.pi * 5.5) * np.cos(2 * np.pi * 5.5 * t))
    wave = np.zeros(m, np.float32)
    for r, a in zip(ratios, amps):
        if freq * r < sr / 2 - 200:  # no aliasing
            wave += a * np.sin(r * phase).astype(np.float32)
    env = np.minimum(1.0, t / attack) * np.exp(-t / decay)
    env *= np.clip((dur + 0.08 - t) / 0.08, 0, 1)  # release
    return (wave * env).astype(np.float32)


def _kick(sr: int, pitch: float) -> np.ndarray:
    t = np.arange(int(0.25 * sr), dtype=np.float32) / sr
    f = (45 + 90 * np.exp(-t / 0.03)) * pitch  # the falling pitch sweep of a kick drum
    return (np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.08)).astype(np.float32)


def _add(out: np.ndarray, start: int, sound: np.ndarray) -> None:
    """Mix ``sound`` into ``out`` at sample ``start``, clipping at both ends."""
    a, b = max(start, 0), min(start + len(sound), len(out))
    if a < b:
        out[a:b] += sound[a - start:b - start]


# ----------------------------------------------------------------- speech
def render_speech(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """``n`` samples of speech-like babble from one random speaker."""
    high = rng.random() < 0.5
    f0_base = rng.uniform(170, 250) if high else rng.uniform(90, 140)
    fscale = rng.uniform(1.05, 1.18) if high else rng.uniform(0.9, 1.02)
    rate = rng.uniform(3.5, 6.0)  # syllables per second
    ctrl = sr / _HOP  # control rate = STFT frame rate
    m = int(n / _HOP) + _NFFT // _HOP + 2
    amp, fric = np.zeros(m, np.float32), np.zeros(m, np.float32)
    formants = np.tile(_VOWELS[-1] * fscale, (m, 1))
    f0 = np.full(m, f0_base, np.float32)
    pos = int(rng.uniform(0, 0.3) * ctrl)
    while pos < m:
        count = int(rng.integers(3, 10))
        for k in range(count):
            d = max(3, int(ctrl / rate * rng.uniform(0.6, 1.4)))
            seg = slice(pos, min(pos + d, m))
            size = seg.stop - seg.start
            if size <= 0:
                break
            amp[seg] = rng.uniform(0.5, 1.0) * np.sin(np.linspace(0, np.pi, d))[:size] ** 0.7
            formants[seg] = _VOWELS[rng.integers(len(_VOWELS) - 1)] * fscale * rng.uniform(0.95, 1.05)
            # Declination over the phrase, a wobble per syllable.
            f0[seg] = f0_base * (1.15 - 0.3 * k / count) * (1 + 0.07 * rng.standard_normal())
            if rng.random() < 0.45:
                fric[pos:pos + int(rng.integers(2, 6))] = rng.uniform(0.2, 0.7)
            pos += d
        pos += int(ctrl * rng.uniform(0.15, 0.7))
    kernel = np.ones(5, np.float32) / 5  # coarticulation: formants glide between vowels
    formants = np.stack([np.convolve(formants[:, k], kernel, mode="same") for k in range(3)], 1)
    f0 = np.convolve(f0, kernel, mode="same")
    f0[:2], f0[-2:] = f0_base, f0_base
    f0_samples = np.interp(np.arange(n) / _HOP, np.arange(m), f0).astype(np.float64)
    source = (2 * (np.cumsum(f0_samples / sr) % 1.0) - 1).astype(np.float32)
    source += 0.05 * rng.standard_normal(n).astype(np.float32)  # breath
    spec = _stft(source)
    freqs = np.fft.rfftfreq(_NFFT, 1 / sr).astype(np.float32)
    frames = spec.shape[0]
    fm = formants[:frames]
    shape = np.zeros((frames, len(freqs)), np.float32)
    for k, (gain, bw) in enumerate(((1.0, 90.0), (0.6, 110.0), (0.3, 160.0))):
        shape += gain / (1 + ((freqs[None, :] - fm[:, k:k + 1]) / bw) ** 2)
    voiced = _istft(spec * (shape * amp[:frames, None]), n)
    noise = _stft(rng.standard_normal(n).astype(np.float32))
    band = ((freqs > 2500) & (freqs < 7000)).astype(np.float32)
    hiss = _istft(noise * (band[None, :] * fric[:frames, None] * 0.3), n)
    return (voiced + hiss).astype(np.float32)


def _stft(x: np.ndarray) -> np.ndarray:
    """complex64 [frames, NFFT/2+1]; frame i starts at sample i*HOP - NFFT/2."""
    xp = np.pad(x, (_NFFT // 2, _NFFT + _HOP))
    frames = np.lib.stride_tricks.sliding_window_view(xp, _NFFT)[::_HOP] * _window()
    return np.fft.rfft(frames, axis=1).astype(np.complex64)


def _istft(spec: np.ndarray, n: int) -> np.ndarray:
    """Weighted overlap-add inverse of :func:`_stft`, cut to ``n`` samples."""
    frames = np.fft.irfft(spec, n=_NFFT, axis=1).astype(np.float32) * _window()
    count = frames.shape[0]
    out = np.zeros((count + _NFFT // _HOP) * _HOP, np.float32)
    blocks = out.reshape(-1, _HOP)
    for k in range(_NFFT // _HOP):  # each quarter of every frame lands on its own hop block
        blocks[k:k + count] += frames[:, k * _HOP:(k + 1) * _HOP]
    return out[_NFFT // 2:_NFFT // 2 + n] / 1.5  # sum of squared Hann windows at 75% overlap


def _window() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(_NFFT) / _NFFT)).astype(np.float32)


# ------------------------------------------------------------ noise, EQ
def _pink_noise(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sr)
    return np.fft.irfft(spec / np.sqrt(np.maximum(f, 20.0)), n=n).astype(np.float32)


def _equalise(x: np.ndarray, curve: str, sr: int) -> np.ndarray:
    if curve == "flat":
        return x
    f = np.fft.rfftfreq(len(x), 1 / sr)
    if curve == "phone":  # band-limited like a phone speaker recorded again
        g = 1 / (1 + (300 / np.maximum(f, 1)) ** 4) / (1 + (f / 3400) ** 4)
    elif curve == "bright":
        g = 1 + 1.5 / (1 + (3000 / np.maximum(f, 1)) ** 2)
    elif curve == "warm":
        g = 1 / (1 + (f / 2500) ** 2)
    else:  # bassboost
        g = 1 + 2.0 / (1 + (f / 150) ** 2)
    return np.fft.irfft(np.fft.rfft(x) * g, n=len(x)).astype(np.float32)


def _reverb(x: np.ndarray, rt60: float, mix: float, rng: np.random.Generator, sr: int) -> np.ndarray:
    """``x`` in a synthetic room: convolved (FFT) with exponentially decaying noise that
    falls 60 dB in ``rt60`` seconds, mixed ``mix`` wet; same RMS scale as the dry input."""
    m = int(rt60 * sr)
    t = np.arange(m, dtype=np.float32) / sr
    ir = rng.standard_normal(m).astype(np.float32) * np.exp(-6.91 * t / rt60).astype(np.float32)
    size = 1 << int(math.ceil(math.log2(len(x) + m)))
    wet = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)[:len(x)]
    return ((1 - mix) * x + mix * _normalise(wet)).astype(np.float32)


def _band_limit(x: np.ndarray, low_hz: float, high_hz: float, sr: int) -> np.ndarray:
    """Fourth-order-like high-pass at ``low_hz`` and low-pass at ``high_hz`` (zero phase)."""
    f = np.fft.rfftfreq(len(x), 1 / sr)
    g = 1 / (1 + (low_hz / np.maximum(f, 1)) ** 4) / (1 + (f / high_hz) ** 4)
    return np.fft.irfft(np.fft.rfft(x) * g, n=len(x)).astype(np.float32)


def _normalise(x: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0
    return x / rms if rms > 1e-9 else x
