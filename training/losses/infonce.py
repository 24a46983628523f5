"""Cross-modal InfoNCE: align each video clip with its own audio, against the batch's others.

van den Oord, Li, Vinyals. "Representation Learning with Contrastive Predictive
Coding" (InfoNCE), 2018; used across modalities as in CLIP (Radford et al. 2021)
and the multimodal SimCLR this project follows.

With ``s_ij = cos(v_i, a_j) / tau`` over N clips::

    L_v->a = mean_i -log( exp(s_ii) / sum_j exp(s_ij) )
    L_a->v = mean_j -log( exp(s_jj) / sum_i exp(s_ij) )
    loss   = (L_v->a + L_a->v) / 2

Shapes: ``v``, ``a`` [N, D]; optional ``mask`` bool [N] (False: the clip has no
audio, so it is neither an anchor nor a negative); returns a scalar.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from reelscope.training.losses._masking import NEG, masked_mean, valid_mask


class CrossModalInfoNCE(nn.Module):
    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError("temperature must be positive")
        self.temperature = temperature

    def forward(self, v: torch.Tensor, a: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        n = v.shape[0]
        valid = valid_mask(n, mask, v.device)
        logits = F.normalize(v.float(), dim=1) @ F.normalize(a.float(), dim=1).T / self.temperature
        target = torch.arange(n, device=v.device)
        v_to_a = F.cross_entropy(logits.masked_fill(~valid.view(1, -1), NEG), target, reduction="none")
        a_to_v = F.cross_entropy(logits.T.masked_fill(~valid.view(1, -1), NEG), target, reduction="none")
        return 0.5 * (masked_mean(v_to_a, valid) + masked_mean(a_to_v, valid))
