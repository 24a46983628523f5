"""BYOL's regression loss: the online prediction of one view regresses the target projection of the other.

Grill et al. "Bootstrap Your Own Latent: A New Approach to Self-Supervised
Learning", NeurIPS 2020, eq. (2). No negatives; collapse is avoided by the
predictor and the slowly moving (EMA) target network::

    loss = mean_i || p_i/|p_i| - z_i/|z_i| ||^2 = mean_i (2 - 2 cos(p_i, z_i))

Shapes: ``p`` [N, D] online predictions; ``z`` [N, D] target projections (no
gradient flows into them); optional ``mask`` bool [N]; returns a scalar. The
method symmetrises it over the two views.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from reelscope.training.losses._masking import masked_mean, valid_mask


class BYOLLoss(nn.Module):
    def forward(self, p: torch.Tensor, z: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        cos = F.cosine_similarity(p.float(), z.detach().float(), dim=1)
        return masked_mean(2 - 2 * cos, valid_mask(p.shape[0], mask, p.device))
