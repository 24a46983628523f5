"""Methods: which networks see which views, and which loss compares them.

A method is an ``nn.Module`` around the :class:`~.encoders.AVModel` being
trained plus whatever extra state it needs (momentum encoders, predictors, a
queue). ``forward(batch)`` returns a dict of scalar losses with the total under
``"loss"``; ``after_step(progress)`` runs after each optimiser step (momentum
updates). The whole method is what DDP wraps and what a checkpoint saves; the
run's ``model.safetensors`` keeps only the AVModel.

Every method trains both encoders, each on its own modality's two views; only
``av-simclr`` adds the cross-modal term, so comparing it with ``simclr``
measures exactly what aligning audio with video buys.

Batch tensors (prepared by :mod:`.views`): ``v1``, ``v2`` float [N, 3, T, H, W];
``a1``, ``a2`` float [N, 1, M, L]; ``has_audio`` bool [N]; ``index`` int64 [N], each
sample's video (its position in the training manifest).
"""

from __future__ import annotations

import copy
import math
from typing import Callable

import torch
import torch.nn as nn

from reelscope.training import distributed
from reelscope.training.config import TrainConfig
from reelscope.training.encoders import AVModel, ProjectionHead
from reelscope.training.losses import AVSimCLRLoss, BYOLLoss, MoCoLoss, NNCLRLoss, NTXentLoss, SimSiamLoss

Batch = dict[str, torch.Tensor]


def _two_views(encoder: nn.Module, head: nn.Module, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both views through one encoder call (one BN batch of 2N), split back: [N, D] each."""
    z = head(encoder(torch.cat([x1, x2])))
    return z.chunk(2)


class Method(nn.Module):
    def __init__(self, model: AVModel, cfg: TrainConfig) -> None:
        super().__init__()
        self.model = model
        self.cfg = cfg

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def after_step(self, progress: float) -> None:
        """Called after every optimiser step with the schedule's progress in [0, 1]."""


class SimCLR(Method):
    """NT-Xent on two views of each modality (Chen et al. 2020), no cross-modal term.

    With ``nn_weight`` > 0 the video term mixes in NNCLR's nearest-neighbour positives
    (see :mod:`.losses.nnclr`): ``(1 - w) * NTXent + w * NNCLR``.
    """

    def __init__(self, model: AVModel, cfg: TrainConfig) -> None:
        super().__init__(model, cfg)
        self.loss = NTXentLoss(cfg.temperature)
        self.neighbours = NNCLRLoss(cfg.proj_dim, cfg.nn_support, cfg.temperature) if cfg.nn_weight > 0 else None

    def _views(self, batch: Batch) -> tuple[torch.Tensor, ...]:
        """Both views' projections of both modalities, gathered over DDP ranks (negatives
        come from the global batch), and the samples' video ids."""
        m = self.model
        v1, v2 = _two_views(m.video, m.video_head, batch["v1"], batch["v2"])
        a1, a2 = _two_views(m.audio, m.audio_head, batch["a1"], batch["a2"])
        ids = batch.get("index", torch.arange(v1.shape[0], device=v1.device))
        return tuple(distributed.gather(t) for t in (v1, v2, a1, a2, batch["has_audio"], ids))

    def _mix_neighbours(self, out: dict[str, torch.Tensor], v1: torch.Tensor, v2: torch.Tensor,
                        ids: torch.Tensor) -> dict[str, torch.Tensor]:
        """Replace the video term by its mix with the nearest-neighbour term, if enabled."""
        if self.neighbours is None:
            return out
        w = self.cfg.nn_weight
        nn_term = self.neighbours(v1, v2, ids)
        self.neighbours.enqueue(v1, ids)  # every rank enqueues the same gathered rows
        mixed = (1 - w) * out["video"] + w * nn_term
        return {**out, "loss": out["loss"] + self.cfg.w_video * (mixed - out["video"]), "neighbours": nn_term}

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        v1, v2, a1, a2, has_audio, ids = self._views(batch)
        video = self.loss(v1, v2)
        audio = self.loss(a1, a2, has_audio)
        out = {"loss": self.cfg.w_video * video + self.cfg.w_audio * audio, "video": video, "audio": audio}
        return self._mix_neighbours(out, v1, v2, ids)


class AVSimCLR(SimCLR):
    """SimCLR per modality plus cross-modal InfoNCE between each clip and its own audio."""

    def __init__(self, model: AVModel, cfg: TrainConfig) -> None:
        super().__init__(model, cfg)
        self.loss = AVSimCLRLoss(cfg.temperature, cfg.cross_temperature, cfg.w_video, cfg.w_audio, cfg.w_cross)

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        v1, v2, a1, a2, has_audio, ids = self._views(batch)
        return self._mix_neighbours(self.loss(v1, v2, a1, a2, has_audio), v1, v2, ids)


class _MomentumMethod(Method):
    """Shared by MoCo and BYOL: a target copy of the encoders and heads, updated as an EMA."""

    def __init__(self, model: AVModel, cfg: TrainConfig) -> None:
        super().__init__(model, cfg)
        self.target = copy.deepcopy(model)
        for p in self.target.parameters():
            p.requires_grad_(False)

    def momentum(self, progress: float) -> float:
        raise NotImplementedError

    @torch.no_grad()
    def after_step(self, progress: float) -> None:
        m = self.momentum(progress)
        online = list(self.model.parameters())
        target = list(self.target.parameters())
        torch._foreach_mul_(target, m)
        torch._foreach_add_(target, online, alpha=1 - m)

    @torch.no_grad()
    def _targets(self, encoder: nn.Module, head: nn.Module, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _two_views(encoder, head, x1, x2)


class MoCo(_MomentumMethod):
    """MoCo v2 per modality, symmetrised over the two views (as in MoCo v3), one queue each."""

    def __init__(self, model: AVModel, cfg: TrainConfig) -> None:
        super().__init__(model, cfg)
        self.video_loss = MoCoLoss(cfg.proj_dim, cfg.moco_queue, cfg.temperature)
        self.audio_loss = MoCoLoss(cfg.proj_dim, cfg.moco_queue, cfg.temperature)

    def momentum(self, progress: float) -> float:
        return self.cfg.moco_momentum

    def _modality(self, loss: MoCoLoss, enc: str, head: str, x1: torch.Tensor, x2: torch.Tensor,
                  mask: torch.Tensor | None, ids: torch.Tensor | None) -> torch.Tensor:
        q1, q2 = _two_views(getattr(self.model, enc), getattr(self.model, head), x1, x2)
        k1, k2 = self._targets(getattr(self.target, enc), getattr(self.target, head), x1, x2)
        value = 0.5 * (loss(q1, k2, mask, ids) + loss(q2, k1, mask, ids))
        # Every rank enqueues the same gathered keys, so the queues stay identical.
        keys = distributed.gather(torch.cat([k1, k2]))
        loss.enqueue(keys, None if mask is None else distributed.gather(torch.cat([mask, mask])),
                     None if ids is None else distributed.gather(torch.cat([ids, ids])))
        return value

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        ids = batch.get("index")
        video = self._modality(self.video_loss, "video", "video_head", batch["v1"], batch["v2"], None, ids)
        audio = self._modality(self.audio_loss, "audio", "audio_head", batch["a1"], batch["a2"], batch["has_audio"], ids)
        return {"loss": self.cfg.w_video * video + self.cfg.w_audio * audio, "video": video, "audio": audio}


def _predictor(cfg: TrainConfig) -> ProjectionHead:
    return ProjectionHead(cfg.proj_dim, cfg.proj_hidden, cfg.proj_dim, cfg.norm)


class BYOL(_MomentumMethod):
    """BYOL per modality: online predictor regresses the EMA target's projection of the other view."""

    def __init__(self, model: AVModel, cfg: TrainConfig) -> None:
        super().__init__(model, cfg)
        self.video_predictor = _predictor(cfg)
        self.audio_predictor = _predictor(cfg)
        self.loss = BYOLLoss()

    def momentum(self, progress: float) -> float:
        # BYOL's schedule: tau rises from its base to 1 along a cosine over training.
        base = self.cfg.byol_momentum
        return 1 - (1 - base) * (math.cos(math.pi * min(progress, 1.0)) + 1) / 2

    def _modality(self, predictor: nn.Module, enc: str, head: str, x1: torch.Tensor, x2: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        z1, z2 = _two_views(getattr(self.model, enc), getattr(self.model, head), x1, x2)
        p1, p2 = predictor(torch.cat([z1, z2])).chunk(2)
        t1, t2 = self._targets(getattr(self.target, enc), getattr(self.target, head), x1, x2)
        return 0.5 * (self.loss(p1, t2, mask) + self.loss(p2, t1, mask))

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        video = self._modality(self.video_predictor, "video", "video_head", batch["v1"], batch["v2"], None)
        audio = self._modality(self.audio_predictor, "audio", "audio_head", batch["a1"], batch["a2"], batch["has_audio"])
        return {"loss": self.cfg.w_video * video + self.cfg.w_audio * audio, "video": video, "audio": audio}


class SimSiam(Method):
    """SimSiam per modality: predictor + stop-gradient, no momentum encoder, no negatives."""

    def __init__(self, model: AVModel, cfg: TrainConfig) -> None:
        super().__init__(model, cfg)
        self.video_predictor = _predictor(cfg)
        self.audio_predictor = _predictor(cfg)
        self.loss = SimSiamLoss()

    def _modality(self, predictor: nn.Module, encoder: nn.Module, head: nn.Module, x1: torch.Tensor, x2: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        z1, z2 = _two_views(encoder, head, x1, x2)
        p1, p2 = predictor(torch.cat([z1, z2])).chunk(2)
        return 0.5 * (self.loss(p1, z2, mask) + self.loss(p2, z1, mask))

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        m = self.model
        video = self._modality(self.video_predictor, m.video, m.video_head, batch["v1"], batch["v2"], None)
        audio = self._modality(self.audio_predictor, m.audio, m.audio_head, batch["a1"], batch["a2"], batch["has_audio"])
        return {"loss": self.cfg.w_video * video + self.cfg.w_audio * audio, "video": video, "audio": audio}


METHOD_CLASSES: dict[str, Callable[[AVModel, TrainConfig], Method]] = {
    "simclr": SimCLR,
    "av-simclr": AVSimCLR,
    "moco": MoCo,
    "byol": BYOL,
    "simsiam": SimSiam,
}


def build_method(model: AVModel, cfg: TrainConfig) -> Method:
    if cfg.method not in METHOD_CLASSES:
        raise ValueError(f"unknown method {cfg.method!r}; choose one of {', '.join(METHOD_CLASSES)}")
    return METHOD_CLASSES[cfg.method](model, cfg)
