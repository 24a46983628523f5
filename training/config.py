"""Training configuration: one versioned dataclass, filled from a preset.

A run's ``config.json`` is ``TrainConfig.to_json()``; loading it back goes through
``TrainConfig.from_json`` which refuses configs written by a newer version and
names unknown keys instead of silently dropping them. Presets scale the model
and the clips: ``tiny`` (tests, seconds), ``small`` (a laptop CPU, minutes),
``base`` (a GPU, torchvision's R(2+1)D-18 built from scratch).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Optional

CONFIG_VERSION = 5

# Fields each version added, with the values that reproduce a run of the version before:
# a stored config without them loads as it was trained and embedded (a version-1 run:
# weights with a 3-channel stem, one centre clip per video), never with newer defaults.
# Nested dicts fill the nested configs' missing keys.
_ADDED_IN: dict[int, dict[str, Any]] = {
    2: {"motion_input": False, "embed_clips": 1, "embed_flip": False, "video_aug": {"blur": 0.0}},
    3: {"nn_weight": 0.0, "video_aug": {"merge": 0.0}},
    # 4 added ``precision``; like ``device`` it is how a run executes, not what it learns,
    # so an older run resumes and embeds with the default ("auto").
    4: {},
    5: {"w_cross": 1.0, "predictor_lr_mult": 1.0},
}

PRECISIONS = ("auto", "bf16", "fp32")

METHODS = ("simclr", "av-simclr", "moco", "byol", "simsiam")


@dataclass
class VideoAugConfig:
    """Strength of each video augmentation; 0 turns it off (identity).

    crop:       random resized crop, the same box on every frame of a clip;
                scale drawn from [1 - 0.92*crop, 1] of the frame (crop=1: SimCLR's 0.08..1;
                the default 0.5 keeps 0.54..1: a 48-pixel clip cut from 8 % of the frame
                no longer shows what the video is of)
    flip:       probability of a horizontal flip (of the whole clip)
    jitter:     colour jitter strength s: brightness, contrast, saturation +-0.8s, hue +-0.2s turns
    jitter_p:   probability that a clip is jittered at all
    grayscale:  probability of converting the clip to grayscale
    time_shift: probability that the two views are clips starting at different frames
    blur:       probability of a Gaussian blur (SimCLR's; it takes away fine texture, so
                shapes and motion must carry the match)
    blur_sigma: the blur's largest sigma as a fraction of the frame size (drawn uniformly
                from 0.1..1 of it)
    merge:      probability that a clip's moving foreground is pasted onto another video's
                background (FAME; see augment_video.merge_backgrounds)
    merge_share: the share of the frame kept as foreground, the pixels that move most
    """

    crop: float = 0.5
    flip: float = 0.5
    jitter: float = 1.0
    jitter_p: float = 0.8
    grayscale: float = 0.2
    time_shift: float = 1.0
    blur: float = 0.0
    blur_sigma: float = 0.03
    merge: float = 0.5
    merge_share: float = 0.4


@dataclass
class AudioAugConfig:
    """Strength of each audio augmentation (log-mel domain); 0 turns it off.

    offset:    max offset of the audio crop from the video clip's centre, x 1 s
    pitch:     max pitch shift, x 3 mel bins (about +-2 semitones in the mid range)
    tempo:     max tempo change, x 15 % (resampling along time)
    eq:        amplitude of a smooth random EQ curve, x 1.0 natural-log units (~4.3 dB)
    gain:      max gain change, x 6 dB
    noise:     probability of coloured background noise (SNR 0..20 dB)
    speech:    probability of speech-like interference (harmonic voice, 3-6 Hz syllables)
    time_mask: max width of a time mask, x 12.5 % of the crop (torchaudio masking)
    freq_mask: max width of a frequency mask, x 12.5 % of the mel bins
    """

    offset: float = 1.0
    pitch: float = 1.0
    tempo: float = 1.0
    eq: float = 1.0
    gain: float = 1.0
    noise: float = 0.5
    speech: float = 0.3
    time_mask: float = 1.0
    freq_mask: float = 1.0


@dataclass
class DataStats:
    """Log-mel statistics of the training data, measured once and kept with the weights.

    ``mean``/``std`` normalise the encoder input; ``floor`` is the value of silence
    (padding, videos without audio). ``units_per_ln`` converts the cache's log unit
    to natural-log power: 1.0 for ``ln``, 10/ln(10) for decibels.
    """

    mean: float = 0.0
    std: float = 1.0
    floor: float = -13.8
    units_per_ln: float = 1.0
    n_mels: int = 64
    mel_rate: float = 100.0
    f_max: float = 8000.0  # top of the mel scale (half the cache's sample rate)
    cache_frames: int = 8
    measured: bool = False  # False until measure_stats has filled these from the data


@dataclass
class TrainConfig:
    """Everything that determines a training run (and, with the weights, its encoders)."""

    version: int = CONFIG_VERSION
    method: str = "av-simclr"
    preset: str = "small"
    # --- model
    video_encoder: str = "compact2plus1d"
    video_width: int = 16  # channels of the first stage; stages double it
    motion_input: bool = True  # compact encoder: also feed frame differences (see encoders)
    audio_encoder: str = "audio_cnn"
    audio_width: int = 16
    norm: str = "batch"  # "batch" or "group" (group: batch-size independent, exact under DDP on CPU)
    sync_bn: bool = True  # under DDP on CUDA, BatchNorm statistics over the global batch
    proj_hidden: int = 256
    proj_dim: int = 128
    # --- clips
    clip_frames: int = 4
    frame_stride: int = 1
    frame_size: int = 48
    audio_frames: int = 128  # mel frames per audio crop (100 per second)
    clip_norm: bool = True  # standardise each clip's colour channels (see augment_video.normalise)
    # --- optimisation
    batch_size: int = 96  # global: split across DDP replicas
    epochs: Optional[int] = 60
    time_budget_min: Optional[float] = None
    lr: float = 6e-3
    weight_decay: float = 0.05
    warmup: float = 0.05  # fraction of the schedule spent warming up
    final_lr_frac: float = 0.01
    grad_clip: float = 3.0
    # --- method
    temperature: float = 0.1  # intra-modal NT-Xent / MoCo
    cross_temperature: float = 0.1  # cross-modal InfoNCE
    w_video: float = 1.0
    w_audio: float = 1.0
    # Twice the intra-modal weights: on the demo, aligning clips with their own sound taught
    # the video encoder categories better (category probe 0.842 / 0.828 over two seeds at
    # 10 CPU minutes, against 0.842 / 0.814 at 1 and 0.777 at 0.5; docs/TRAINING.md).
    w_cross: float = 2.0
    nn_weight: float = 0.0  # simclr/av-simclr: share of NNCLR nearest-neighbour positives in the video term
    nn_support: int = 1024  # support set of past video embeddings the neighbours come from
    moco_queue: int = 4096
    moco_momentum: float = 0.99
    byol_momentum: float = 0.99  # base tau, raised to 1 by a cosine over training
    # byol/simsiam: the predictor's learning rate over the encoders' (SimSiam and DirectPred
    # found a predictor that keeps up with the encoder speeds up learning; on the demo, byol's
    # category probe went 0.595 -> 0.687 and same-sound R@10 0.741 -> 0.767 at 10 CPU minutes).
    predictor_lr_mult: float = 10.0
    # --- augmentation
    video_aug: VideoAugConfig = field(default_factory=VideoAugConfig)
    audio_aug: AudioAugConfig = field(default_factory=AudioAugConfig)
    # --- data and system
    stats: DataStats = field(default_factory=DataStats)
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    # "auto": bf16 autocast on CUDA, and on a CPU with native bf16 where a timed probe of the
    # run's encoders shows it pays (loop.cpu_bf16_pays; 1.7x for `small` on an AMX Xeon); else fp32.
    precision: str = "auto"
    workers: int = -1  # DataLoader workers; -1 = choose from device and cores
    preload_max_mb: int = 4096  # preload the whole cache into RAM below this size
    log_every: int = 10  # steps between metrics.jsonl lines
    checkpoint_every_min: float = 15.0  # besides one per epoch, for long epochs
    embed_batch: int = 64
    embed_clips: int = 3  # clips per video, spread over its cached frames, averaged (see embed)
    embed_flip: bool = True  # also average each clip's mirror image

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        version = int(d.get("version", CONFIG_VERSION))
        if version > CONFIG_VERSION:
            raise ValueError(
                f"training config version {d['version']} is newer than this Reelscope "
                f"supports ({CONFIG_VERSION}); upgrade Reelscope to use this run"
            )
        d = dict(d, version=CONFIG_VERSION)
        for added in (_ADDED_IN[v] for v in range(version + 1, CONFIG_VERSION + 1)):
            for key, value in added.items():
                if isinstance(value, dict):
                    d[key] = {**value, **d.get(key, {})}
                else:
                    d.setdefault(key, value)
        return _build(cls, d)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        return cls.from_dict(json.loads(text))

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


def _build(cls: type, d: dict[str, Any]) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(d) - set(known))
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {', '.join(unknown)}")
    kwargs = {}
    for name, value in d.items():
        sub = _NESTED.get((cls, name))
        kwargs[name] = _build(sub, value) if sub and isinstance(value, dict) else value
    return cls(**kwargs)


_NESTED = {
    (TrainConfig, "video_aug"): VideoAugConfig,
    (TrainConfig, "audio_aug"): AudioAugConfig,
    (TrainConfig, "stats"): DataStats,
}

# Each preset lists only what differs from the TrainConfig defaults (which are `small`:
# tuned on the 300-video demo library for 10 minutes on a 2-core CPU, where more
# steps of a small model beat fewer of a larger one: 48x48 clips; and where batch 96
# (190 negatives) beat batch 32 at the same number of samples seen; docs/TRAINING.md).
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(
        video_width=4, audio_width=4, proj_hidden=32, clip_frames=2, frame_size=32,
        audio_frames=32, batch_size=8, epochs=2, log_every=1, embed_batch=8,
        moco_queue=64, precision="fp32",  # tests: the same numerics on every machine
    ),
    "small": dict(),
    "base": dict(
        video_encoder="r2plus1d_18", audio_encoder="audio_cnn", audio_width=64,
        proj_hidden=2048, clip_frames=4, frame_size=112, audio_frames=256,
        batch_size=256, epochs=100, lr=2e-3, moco_queue=65536, embed_batch=256,
        log_every=20,
    ),
}


def make_config(method: str = "av-simclr", preset: str = "small", **overrides: Any) -> TrainConfig:
    """A config for ``method`` sized by ``preset``; keyword overrides win."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    values: dict[str, Any] = dict(PRESETS[preset], method=method, preset=preset)
    values.update(overrides)
    return TrainConfig.from_dict(values)
