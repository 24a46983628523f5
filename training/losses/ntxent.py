"""NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR.

Chen, Kornblith, Norouzi, Hinton. "A Simple Framework for Contrastive Learning of
Visual Representations" (SimCLR), ICML 2020, eq. (1).

For N samples with two views each, stack the 2N projections ``z`` and let
``s_ij = cos(z_i, z_j) / tau``. View i's positive p(i) is the other view of the
same sample; every other view in the batch is a negative::

    l_i  = -log( exp(s_{i,p(i)}) / sum_{k != i} exp(s_ik) )
    loss = mean_i l_i          over the 2N views

Shapes: ``z1``, ``z2`` [N, D] (row n of each: the two views of sample n);
optional ``mask`` bool [N]; returns a scalar.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from reelscope.training.losses._masking import NEG, masked_mean, valid_mask


class NTXentLoss(nn.Module):
    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError("temperature must be positive")
        self.temperature = temperature

    def forward(self, z1: torch.Tensor, z2: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        n = z1.shape[0]
        z = F.normalize(torch.cat([z1, z2]).float(), dim=1)  # [2N, D]
        valid = valid_mask(n, mask, z.device).repeat(2)  # [2N]
        logits = z @ z.T / self.temperature  # [2N, 2N]
        eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
        logits = logits.masked_fill(eye | ~valid.view(1, -1), NEG)  # no self, no masked candidates
        positive = torch.arange(2 * n, device=z.device).roll(n)  # i <-> i + N
        per_view = F.cross_entropy(logits, positive, reduction="none")  # [2N]
        return masked_mean(per_view, valid)
