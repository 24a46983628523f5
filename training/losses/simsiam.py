"""SimSiam's negative cosine similarity with a stop-gradient.

Chen & He. "Exploring Simple Siamese Representation Learning", CVPR 2021, eq. (1)-(2).
Like BYOL without the momentum target: the stop-gradient on ``z`` is what
prevents collapse::

    D(p, z) = -cos(p, stopgrad(z));   loss = mean_i D(p_i, z_i)

Shapes: ``p`` [N, D] predictions of one view; ``z`` [N, D] projections of the
other; optional ``mask`` bool [N]; returns a scalar in [-1, 1]. The method
symmetrises it: (D(p1, z2) + D(p2, z1)) / 2.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from reelscope.training.losses._masking import masked_mean, valid_mask


class SimSiamLoss(nn.Module):
    def forward(self, p: torch.Tensor, z: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        cos = F.cosine_similarity(p.float(), z.detach().float(), dim=1)
        return masked_mean(-cos, valid_mask(p.shape[0], mask, p.device))
