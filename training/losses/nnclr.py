"""Nearest-neighbour positives (NNCLR) against a support set of past embeddings.

Dwibedi, Aytar, Tompson, Sermanet, Zisserman. "With a Little Help from My Friends:
Nearest-Neighbor Contrastive Learning of Visual Representations", ICCV 2021, eq. (3).

Instance discrimination only ever pulls two views of the *same* video together, so
whatever identifies a video (its backdrop, caption bar, layout) is enough to solve
it. NNCLR swaps the anchor for its nearest neighbour in a support set S of
embeddings from earlier batches, so each step also pulls a video towards the most
similar *other* video: what videos of one kind share must then carry the match::

    nn(z)  = argmax_{s in S, id(s) != id(z)} cos(z, s)
    l_i    = -log( exp(nn(z1_i).z2_i / tau) / sum_k exp(nn(z1_i).z2_k / tau) )
    loss   = mean_i ( l_i + l'_i ) / 2        (l' with the views swapped)

(all L2-normalised; the neighbour carries no gradient). Unlike the paper, a video's
own earlier embeddings are excluded from S: on a library of a few hundred videos
the support set holds every video several times, and its nearest neighbour would
be itself. While S holds no other video yet, the anchor is the view itself.

Shapes: ``z1``, ``z2`` [N, D] (row n: two views of sample n); ``ids`` int64 [N]
(the samples' videos); optional ``mask`` bool [N]. S is a buffer [K, D] with the
ids of its rows (-1: empty), saved with the checkpoint. Call :meth:`enqueue` with
the (gathered) first views after the loss.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from reelscope.training.losses._masking import NEG, masked_mean, valid_mask
from reelscope.training.losses._ring import ring_write


class NNCLRLoss(nn.Module):
    def __init__(self, dim: int = 128, support_size: int = 1024, temperature: float = 0.1) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError("temperature must be positive")
        self.temperature = temperature
        self.register_buffer("support", torch.zeros(support_size, dim))
        self.register_buffer("support_ids", torch.full((support_size,), -1, dtype=torch.long))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def nearest(self, z: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Each row's nearest support embedding of another video [N, D] (itself if none)."""
        z = F.normalize(z.detach().float(), dim=1)
        ids = ids.to(z.device).view(-1, 1)
        sim = z @ self.support.T  # [N, K]
        usable = (self.support_ids.view(1, -1) >= 0) & (self.support_ids.view(1, -1) != ids)
        sim = sim.masked_fill(~usable, 2 * NEG)
        best = sim.argmax(dim=1)
        found = usable.gather(1, best.view(-1, 1))  # [N, 1]
        return torch.where(found, self.support[best], z)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor, ids: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        n = z1.shape[0]
        valid = valid_mask(n, mask, z1.device)
        z1n, z2n = F.normalize(z1.float(), dim=1), F.normalize(z2.float(), dim=1)
        target = torch.arange(n, device=z1.device)
        total = z1n.new_zeros(())
        for anchor, other in ((z1, z2n), (z2, z1n)):
            logits = self.nearest(anchor, ids) @ other.T / self.temperature  # [N, N]
            logits = logits.masked_fill(~valid.view(1, -1), NEG)
            total = total + masked_mean(F.cross_entropy(logits, target, reduction="none"), valid)
        return total / 2

    def enqueue(self, z: torch.Tensor, ids: torch.Tensor, mask: Optional[torch.Tensor] = None) -> None:
        """Replace the oldest support rows with ``z`` [N, D] of videos ``ids`` [N]."""
        ring_write(self.support, self.support_ids, self.ptr, z, ids, mask)
