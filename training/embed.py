"""Deterministic embeddings of every video with a trained run's encoders.

Each video is seen without augmentation: ``cfg.embed_clips`` clips spread over
its cached frames (one: the centre clip), each with the audio window centred on
it, and with ``cfg.embed_flip`` their mirror images too; a video's features are
the mean over these views, so they describe the whole video rather than one moment. The
embeddings are the encoders' features *before* the projection heads (SimCLR §4.2):

- ``visual``: video encoder features  [N, Dv]
- ``audio``:  audio encoder features  [N, Da] (silence for videos without audio)
- ``fused``:  concat(l2(visual), l2(audio)) / sqrt(2)  [N, Dv + Da] — each modality
  counts equally in a cosine similarity whatever its width; no extra training.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from reelscope.training.checkpoint import load_model, trained_precision
from reelscope.training.config import TrainConfig
from reelscope.training.data import ClipItem, ClipStore, EmbedViews
from reelscope.training.events import ProgressFn, StopFn, TrainEvent, never_stop, no_progress
from reelscope.training.loop import choose_device
from reelscope.training.precision import autocast_for, check_precision, inference_precision
from reelscope.training.views import embed_views


class EmbedCancelled(Exception):
    """``should_stop`` turned True while embedding (nothing was written)."""


def fuse(visual: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """[N, Dv], [N, Da] -> [N, Dv + Da] unit rows, both modalities weighted equally."""
    return torch.cat([F.normalize(visual, dim=1), F.normalize(audio, dim=1)], dim=1) / math.sqrt(2)


@torch.no_grad()
def embed_items(
    model: torch.nn.Module,
    cfg: TrainConfig,
    items: Sequence[ClipItem] | ClipStore,
    device: str | torch.device = "cpu",
    batch_size: Optional[int] = None,
    progress: Optional[ProgressFn] = None,
    should_stop: Optional[StopFn] = None,
    workers: int = 0,
    precision: str = "fp32",
) -> dict[str, np.ndarray]:
    """Embed ``items`` in order -> {"visual", "audio", "fused"} float32 arrays, row i = item i.

    ``precision``: "bf16" or "fp32", already decided (for a run, by
    :func:`reelscope.training.precision.inference_precision`; nothing is timed here).
    """
    if check_precision(precision) == "auto":
        raise ValueError("embed_items takes a decided precision (bf16 or fp32), not auto")
    progress = progress or no_progress
    should_stop = should_stop or never_stop
    device = torch.device(device)
    store = items if isinstance(items, ClipStore) else ClipStore(items, mel_rate=cfg.stats.mel_rate)
    loader = torch.utils.data.DataLoader(
        EmbedViews(store, cfg), batch_size=batch_size or cfg.embed_batch, shuffle=False,
        num_workers=workers, pin_memory=device.type == "cuda",
    )
    model = model.to(device).eval()
    autocast = autocast_for(device, precision)

    parts: dict[str, list[np.ndarray]] = {"visual": [], "audio": [], "fused": []}
    done, start = 0, time.monotonic()
    for raw in loader:
        if should_stop():
            raise EmbedCancelled("embedding cancelled")
        video, audio = embed_views(raw, cfg, device)
        n = raw["frames"].shape[0]
        with autocast:
            fv = model.video(video).float().view(n, -1, model.video.out_dim).mean(1)
            fa = model.audio(audio).float().view(n, -1, model.audio.out_dim).mean(1)
        for name, x in (("visual", fv), ("audio", fa), ("fused", fuse(fv, fa))):
            parts[name].append(x.cpu().numpy())
        done += n
        elapsed = time.monotonic() - start
        progress(TrainEvent("embed", done, len(store), eta_s=elapsed / done * (len(store) - done)))
    return {k: np.concatenate(v).astype(np.float32) for k, v in parts.items()}


def embed_run(
    run_dir: Path,
    items: Sequence[ClipItem],
    device: str = "auto",
    progress: Optional[ProgressFn] = None,
    should_stop: Optional[StopFn] = None,
) -> dict[str, np.ndarray]:
    """Load a finished run's encoders from ``run_dir`` and embed ``items``, in the precision
    it trained in where this machine runs that natively, else fp32 (``precision`` module)."""
    dev = choose_device(device)
    model, cfg = load_model(run_dir, dev)
    precision = inference_precision(trained_precision(run_dir), dev)
    return embed_items(model, cfg, items, dev, progress=progress, should_stop=should_stop,
                       precision=precision)
