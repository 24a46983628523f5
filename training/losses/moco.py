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
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from reelscope.training.losses._masking import masked_mean, valid_mask


class MoCoLoss(nn.Module):
    def __init__(self, dim: int = 128, queue_size: int = 4096, temperature: float = 0.2) -> None:
        super().__init__()
        self.temperature = temperature
        gen = torch.Generator().manual_seed(0)  # the initial queue is noise; make it reproducible
        self.register_buffer("queue", F.normalize(torch.randn(queue_size, dim, generator=gen), dim=1))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))

    def forward(self, q: torch.Tensor, k: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        q = F.normalize(q.float(), dim=1)
        k = F.normalize(k.detach().float(), dim=1)
        positive = (q * k).sum(dim=1, keepdim=True)  # [N, 1]
        negative = q @ self.queue.clone().T  # [N, K]; a copy, as enqueue() changes the queue in place
        logits = torch.cat([positive, negative], dim=1) / self.temperature
        target = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
        per_sample = F.cross_entropy(logits, target, reduction="none")
        return masked_mean(per_sample, valid_mask(q.shape[0], mask, q.device))

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor, mask: Optional[torch.Tensor] = None) -> None:
        """Replace the oldest queue rows with ``keys`` [N, D] (rows with mask False skipped)."""
        keys = F.normalize(keys.float(), dim=1)
        if mask is not None:
            keys = keys[mask.to(torch.bool)]
        size = self.queue.shape[0]
        keys = keys[-size:]
        n = keys.shape[0]
        if n == 0:
            return
        idx = (self.ptr + torch.arange(n, device=keys.device)) % size
        self.queue[idx] = keys
        self.ptr.copy_((self.ptr + n) % size)
