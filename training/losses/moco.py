"""MoCo v2's contrastive loss against a queue of past keys.

He, Fan, Wu, Xie, Girshick. "Momentum Contrast for Unsupervised Visual
Representation Learning", CVPR 2020; Chen, Fan, Girshick, He. "Improved
Baselines with Momentum Contrastive Learning" (MoCo v2), 2020.

A query q_i (online network) must pick its key k_i (momentum network, same
video, other view) out of k_i and the K queued keys n_j of earlier batches::

    l_i  = -log( exp(q_i.k_i / tau) / (exp(q_i.k_i / tau) + sum_j exp(q_i.n_j / tau)) )
    loss = mean_i l_i

(q, k, n L2-normalised). Shapes: ``q``, ``k`` [N, D]; optional ``mask`` bool [N];
the queue is a buffer [K, D] (saved with the checkpoint). Call :meth:`enqueue`
with the (gathered) keys after the loss; keys carry no gradient.

With ``ids`` (int64 [N], the videos' dataset indices) the sum over j skips queued
keys of the query's own video. MoCo assumes a dataset much larger than the queue;
on a library of a few hundred videos a 4096-key queue holds each video's older keys
many times over, and without this the loss would push a video away from itself.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from reelscope.training.losses._masking import NEG, masked_mean, valid_mask
from reelscope.training.losses._ring import ring_write


class MoCoLoss(nn.Module):
    def __init__(self, dim: int = 128, queue_size: int = 4096, temperature: float = 0.2) -> None:
        super().__init__()
        self.temperature = temperature
        gen = torch.Generator().manual_seed(0)  # the initial queue is noise; make it reproducible
        self.register_buffer("queue", F.normalize(torch.randn(queue_size, dim, generator=gen), dim=1))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("queue_ids", torch.full((queue_size,), -1, dtype=torch.long))  # -1: no video

    def forward(self, q: torch.Tensor, k: torch.Tensor, mask: Optional[torch.Tensor] = None,
                ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        q = F.normalize(q.float(), dim=1)
        k = F.normalize(k.detach().float(), dim=1)
        positive = (q * k).sum(dim=1, keepdim=True)  # [N, 1]
        negative = q @ self.queue.clone().T  # [N, K]; a copy, as enqueue() changes the queue in place
        if ids is not None:  # a video's own older keys are not negatives
            own = self.queue_ids.view(1, -1) == ids.to(q.device).view(-1, 1)
            negative = negative.masked_fill(own, NEG * self.temperature)
        logits = torch.cat([positive, negative], dim=1) / self.temperature
        target = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
        per_sample = F.cross_entropy(logits, target, reduction="none")
        return masked_mean(per_sample, valid_mask(q.shape[0], mask, q.device))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # Checkpoints from before the ids were kept: their queued keys belong to no known video.
        state_dict.setdefault(prefix + "queue_ids", torch.full_like(self.queue_ids, -1))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def enqueue(self, keys: torch.Tensor, mask: Optional[torch.Tensor] = None,
                ids: Optional[torch.Tensor] = None) -> None:
        """Replace the oldest queue rows with ``keys`` [N, D] (rows with mask False skipped)
        and remember their videos' ``ids`` [N] (-1 when not given)."""
        ring_write(self.queue, self.queue_ids, self.ptr, keys, ids, mask)
