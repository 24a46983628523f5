"""Video and audio encoders in a small registry, plus SimCLR projection heads.

Every encoder is an ``nn.Module`` with an ``out_dim`` attribute:

- video encoders take float clips ``[B, 3, T, H, W]`` and return ``[B, out_dim]``;
- audio encoders take normalised log-mel crops ``[B, 1, n_mels, L]`` and return ``[B, out_dim]``.

``compact2plus1d`` is a small factorised (2+1)D ResNet for the ``tiny``/``small``
presets: it keeps activations as 2D frames ``[B*T, C, H, W]`` so the spatial
convolutions run as well-optimised ``conv2d`` on CPU, and mixes time with a
3-tap temporal convolution written as one 1x1 convolution plus shifted adds.
``r2plus1d_18`` and ``r3d_18`` are torchvision's Kinetics architectures built
from scratch (``weights=None``) for the ``base`` preset. Nothing is downloaded.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from reelscope.training.config import TrainConfig

VIDEO_ENCODERS: dict[str, Callable[[TrainConfig], nn.Module]] = {}
AUDIO_ENCODERS: dict[str, Callable[[TrainConfig], nn.Module]] = {}


def register_video_encoder(name: str) -> Callable:
    def wrap(builder: Callable[[TrainConfig], nn.Module]) -> Callable:
        VIDEO_ENCODERS[name] = builder
        return builder

    return wrap


def register_audio_encoder(name: str) -> Callable:
    def wrap(builder: Callable[[TrainConfig], nn.Module]) -> Callable:
        AUDIO_ENCODERS[name] = builder
        return builder

    return wrap


def norm_layer(channels: int, kind: str) -> nn.Module:
    """BatchNorm (default) or GroupNorm, which does not depend on the batch (exact under DDP on CPU)."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(math.gcd(channels, 8), channels)
    raise ValueError(f"unknown norm {kind!r}; use 'batch' or 'group'")


def norm_layer_1d(channels: int, kind: str) -> nn.Module:
    return nn.BatchNorm1d(channels) if kind == "batch" else nn.GroupNorm(math.gcd(channels, 8), channels)


# ---------------------------------------------------------------- compact (2+1)D video


class TemporalConv(nn.Module):
    """A 3-tap convolution over time on frames laid out as ``[B*T, C, H, W]``.

    Equivalent to ``nn.Conv3d(c_in, c_out, (3, 1, 1), padding=(1, 0, 0), bias=False)``
    on ``[B, C, T, H, W]`` (a test checks this): one 1x1 conv produces the three taps'
    outputs ``z_k = W_k x_t`` for every frame, then ``y_t = z_0[t-1] + z_1[t] + z_2[t+1]``.
    That avoids transposing to a 3D layout and back for every block.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.c_out = c_out
        self.taps = nn.Conv2d(c_in, 3 * c_out, 1, bias=False)

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        """x: [B*T, C_in, H, W] -> [B*T, C_out, H, W]."""
        bt, _, h, w = x.shape
        z = self.taps(x).view(bt // frames, frames, 3, self.c_out, h, w)
        prev_tap, centre, next_tap = z.unbind(2)
        zero = torch.zeros_like(centre[:, :1])
        return (
            centre
            + torch.cat([zero, prev_tap[:, :-1]], dim=1)  # frame t sees x[t-1] through tap 0
            + torch.cat([next_tap[:, 1:], zero], dim=1)  # and x[t+1] through tap 2
        ).reshape(bt, self.c_out, h, w)


class Conv2Plus1D(nn.Module):
    """Spatial 3x3 conv -> norm -> ReLU -> temporal 3-tap conv (the R(2+1)D factorisation)."""

    def __init__(self, c_in: int, c_out: int, stride: int, norm: str) -> None:
        super().__init__()
        self.spatial = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.norm = norm_layer(c_out, norm)
        self.temporal = TemporalConv(c_out, c_out)

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        return self.temporal(F.relu(self.norm(self.spatial(x)), inplace=True), frames)


class Block2Plus1D(nn.Module):
    """A residual basic block made of two (2+1)D convolutions."""

    def __init__(self, c_in: int, c_out: int, stride: int, norm: str) -> None:
        super().__init__()
        self.conv1 = Conv2Plus1D(c_in, c_out, stride, norm)
        self.norm1 = norm_layer(c_out, norm)
        self.conv2 = Conv2Plus1D(c_out, c_out, 1, norm)
        self.norm2 = norm_layer(c_out, norm)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), norm_layer(c_out, norm)
            )

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x, frames)), inplace=True)
        y = self.norm2(self.conv2(y, frames))
        return F.relu(y + self.shortcut(x), inplace=True)


class CompactVideoEncoder(nn.Module):
    """A 4-stage (2+1)D ResNet: widths w, 2w, 4w, 8w; output ``[B, 8w]``.

    With w=16 on 4-frame 64x64 clips: ~0.5 M parameters, ~0.1 GMAC per clip.

    ``motion_input``: the stem also sees each frame's difference to the next one
    (6 input channels; the last frame repeats the previous difference). A static
    backdrop cancels out of the differences while moving things remain, so what
    moves and how is visible from the first layer instead of only after the
    first temporal convolution.
    """

    def __init__(self, width: int, norm: str = "batch", motion_input: bool = False) -> None:
        super().__init__()
        widths = [width, 2 * width, 4 * width, 8 * width]
        self.motion_input = motion_input
        self.stem = nn.Sequential(
            nn.Conv2d(6 if motion_input else 3, width, 5, 2, 2, bias=False),
            norm_layer(width, norm), nn.ReLU(inplace=True),
        )
        blocks, c_in = [], width
        for i, c_out in enumerate(widths):
            blocks.append(Block2Plus1D(c_in, c_out, 1 if i == 0 else 2, norm))
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.out_dim = widths[-1]

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """clip: [B, 3, T, H, W] -> [B, out_dim]."""
        if self.motion_input:
            clip = torch.cat([clip, frame_differences(clip)], dim=1)
        b, c, t, h, w = clip.shape
        x = clip.transpose(1, 2).reshape(b * t, c, h, w)
        x = self.stem(x)
        for block in self.blocks:
            x = block(x, t)
        return x.mean(dim=(2, 3)).view(b, t, self.out_dim).mean(dim=1)


def frame_differences(clip: torch.Tensor) -> torch.Tensor:
    """[B, C, T, H, W] -> [B, C, T, H, W]: x[t+1] - x[t], the last repeated; zeros when T = 1."""
    if clip.shape[2] < 2:
        return torch.zeros_like(clip)
    d = clip[:, :, 1:] - clip[:, :, :-1]
    return torch.cat([d, d[:, :, -1:]], dim=2)


@register_video_encoder("compact2plus1d")
def _compact(cfg: TrainConfig) -> nn.Module:
    return CompactVideoEncoder(cfg.video_width, cfg.norm, cfg.motion_input)


class TorchvisionVideo(nn.Module):
    """torchvision's video ResNets without their classifier (512-d features), random init."""

    def __init__(self, name: str) -> None:
        super().__init__()
        from torchvision.models import video

        self.net = getattr(video, name)(weights=None)
        self.net.fc = nn.Identity()
        self.out_dim = 512

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """clip: [B, 3, T, H, W] -> [B, 512]."""
        return self.net(clip)


@register_video_encoder("r2plus1d_18")
def _r2plus1d(cfg: TrainConfig) -> nn.Module:
    return TorchvisionVideo("r2plus1d_18")


@register_video_encoder("r3d_18")
def _r3d(cfg: TrainConfig) -> nn.Module:
    return TorchvisionVideo("r3d_18")


# ---------------------------------------------------------------------- audio


class BasicBlock2D(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, norm: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.norm1 = norm_layer(c_out, norm)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.norm2 = norm_layer(c_out, norm)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), norm_layer(c_out, norm)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x)), inplace=True)
        return F.relu(self.norm2(self.conv2(y)) + self.shortcut(x), inplace=True)


class AudioCNN(nn.Module):
    """A 4-stage 2D ResNet over log-mel crops: widths w..8w; output ``[B, 8w]``.

    Pooling is a mean over time and frequency, so any crop length works.
    """

    def __init__(self, width: int, norm: str = "batch") -> None:
        super().__init__()
        widths = [width, 2 * width, 4 * width, 8 * width]
        self.stem = nn.Sequential(
            nn.Conv2d(1, width, 3, 2, 1, bias=False), norm_layer(width, norm), nn.ReLU(inplace=True)
        )
        layers, c_in = [], width
        for i, c_out in enumerate(widths):
            layers.append(BasicBlock2D(c_in, c_out, 1 if i == 0 else 2, norm))
            c_in = c_out
        self.blocks = nn.Sequential(*layers)
        self.out_dim = widths[-1]

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel: [B, 1, n_mels, L] -> [B, out_dim]."""
        return self.blocks(self.stem(mel)).mean(dim=(2, 3))


@register_audio_encoder("audio_cnn")
def _audio_cnn(cfg: TrainConfig) -> nn.Module:
    return AudioCNN(cfg.audio_width, cfg.norm)


# ---------------------------------------------------------------------- heads


class ProjectionHead(nn.Module):
    """SimCLR's projection MLP: Linear -> norm -> ReLU -> Linear, ``[B, D_in] -> [B, out]``.

    The contrastive loss acts on its output; embeddings for analytics are taken
    before it (SimCLR, Chen et al. 2020, §4.2: the layer before the head keeps
    more information).
    """

    def __init__(self, d_in: int, hidden: int, out: int, norm: str = "batch") -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_in, hidden, bias=False),
            norm_layer_1d(hidden, norm),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class AVModel(nn.Module):
    """The networks a run trains and keeps: two encoders and their projection heads."""

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__()
        if cfg.video_encoder not in VIDEO_ENCODERS:
            raise ValueError(f"unknown video encoder {cfg.video_encoder!r}; have {sorted(VIDEO_ENCODERS)}")
        if cfg.audio_encoder not in AUDIO_ENCODERS:
            raise ValueError(f"unknown audio encoder {cfg.audio_encoder!r}; have {sorted(AUDIO_ENCODERS)}")
        self.video = VIDEO_ENCODERS[cfg.video_encoder](cfg)
        self.audio = AUDIO_ENCODERS[cfg.audio_encoder](cfg)
        self.video_head = ProjectionHead(self.video.out_dim, cfg.proj_hidden, cfg.proj_dim, cfg.norm)
        self.audio_head = ProjectionHead(self.audio.out_dim, cfg.proj_hidden, cfg.proj_dim, cfg.norm)


def build_model(cfg: TrainConfig) -> AVModel:
    return AVModel(cfg)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@functools.lru_cache(maxsize=4)
def channels_last_pays(device_type: str) -> bool:
    """Whether training on ``device_type`` ("cuda", "cpu") uses channels-last convolutions.

    Always on CUDA (tensor-core friendly). On a CPU only where torch runs its AVX-512
    kernels: there oneDNN's NHWC convolutions made a `small` step 10-25 % faster in fp32
    and in bf16; on an AVX2-only CPU, torch 2.11's channels-last convolution backward
    corrupts the heap ("double free or corruption" on one thread, a hang on two; seen on
    a 2-core AMD EPYC), so the default layout is kept there.
    """
    if device_type == "cuda":
        return True
    return device_type == "cpu" and torch.backends.cpu.get_cpu_capability().startswith("AVX512")


def memory_format_for(device: torch.device) -> torch.memory_format:
    """The 4-D memory format of training inputs on ``device`` (5-D video follows it)."""
    return torch.channels_last if channels_last_pays(device.type) else torch.contiguous_format


def to_channels_last(module: nn.Module) -> None:
    """NHWC / NDHWC convolution weights (the inputs follow: see ``views.train_views``);
    only where :func:`channels_last_pays`."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            m.weight.data = m.weight.data.contiguous(memory_format=torch.channels_last)
        elif isinstance(m, nn.Conv3d):
            m.weight.data = m.weight.data.contiguous(memory_format=torch.channels_last_3d)
