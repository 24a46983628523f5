"""From a loader batch to model inputs on the device: the batched augmentation step.

The loader hands over raw uint8 clips, raw log-mel windows and each sample's
augmentation parameters; here they move to the device (pinned, non-blocking)
and both views of the whole batch are augmented with a few tensor ops.
"""

from __future__ import annotations

from typing import Any, Optional

import torch

from reelscope.training import augment_audio, augment_video
from reelscope.training.config import TrainConfig


def _params(raw: dict[str, Any], prefix: str, device: torch.device) -> dict[str, torch.Tensor]:
    """Collated [N, 2, ...] parameters -> [2N, ...] on the device (sample-major, view-minor)."""
    return {
        k[len(prefix):]: v.to(device, non_blocking=True).flatten(0, 1)
        for k, v in raw.items()
        if k.startswith(prefix)
    }


def train_views(
    raw: dict[str, Any],
    cfg: TrainConfig,
    device: torch.device,
    mask_seed: Optional[int] = None,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> dict[str, torch.Tensor]:
    """Loader batch -> ``v1``, ``v2`` [N, 3, T, H, W], ``a1``, ``a2`` [N, 1, M, L], ``has_audio``, ``index`` [N]."""
    frames = raw["frames"].to(device, non_blocking=True)  # uint8 [N, 2, Tc, S, S, 3]
    mel = raw["mel"].to(device, non_blocking=True)  # float16 [N, 2, M, Ls]
    n = frames.shape[0]
    video = augment_video.augment_video(
        frames.flatten(0, 1), _params(raw, "v_", device), cfg.frame_size, cfg.clip_norm,
        donor=augment_video.merge_donors(n, device),
    )
    audio = augment_audio.augment_audio(
        mel.flatten(0, 1), _params(raw, "a_", device), cfg.audio_frames, cfg.audio_aug, cfg.stats, mask_seed
    )
    video = video.view(n, 2, *video.shape[1:])
    audio = audio.view(n, 2, *audio.shape[1:])
    v_format = torch.channels_last_3d if memory_format == torch.channels_last else memory_format
    return {
        "v1": video[:, 0].contiguous(memory_format=v_format),
        "v2": video[:, 1].contiguous(memory_format=v_format),
        "a1": audio[:, 0].contiguous(memory_format=memory_format),
        "a2": audio[:, 1].contiguous(memory_format=memory_format),
        "has_audio": raw["has_audio"].to(device, non_blocking=True),
        "index": raw["index"].to(device, non_blocking=True).long(),
    }


def embed_views(raw: dict[str, Any], cfg: TrainConfig, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Embedding batch (no augmentation) -> video [N*K*F, 3, T, H, W], audio [N*K, 1, M, L].

    Video-major: each video's K clips, and with ``cfg.embed_flip`` (F = 2) each
    clip followed by its mirror image; one audio window per clip.
    """
    frames = raw["frames"].to(device, non_blocking=True).flatten(0, 1)  # [N*K, Tc, S, S, 3]
    mel = raw["mel"].to(device).float().flatten(0, 1)  # [N*K, M, L]
    flips = (0.0, 1.0) if cfg.embed_flip else (0.0,)
    n = frames.shape[0]
    ident = {k: torch.from_numpy(v).to(device) for k, v in augment_video.identity_params(n).items()}
    views = [
        augment_video.crop_resize_flip(frames, ident["crop"], torch.full((n,), f, device=device), cfg.frame_size)
        for f in flips
    ]
    x = torch.stack(views, dim=1).flatten(0, 1)  # clip-major, flip-minor
    video = augment_video.normalise(x, cfg.clip_norm)
    audio = augment_audio.normalise_mel(mel, cfg.stats).unsqueeze(1)
    return video, audio
