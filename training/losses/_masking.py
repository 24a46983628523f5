"""Helpers shared by the losses: masked means and a finite "minus infinity"."""

from __future__ import annotations

from typing import Optional

import torch

# exp(-1e4) is exactly 0 in float32, and unlike -inf it keeps gradients finite (no 0 * inf).
NEG = -1e4


def valid_mask(n: int, mask: Optional[torch.Tensor], device: torch.device) -> torch.Tensor:
    """bool [N]: the given mask, or all True."""
    if mask is None:
        return torch.ones(n, dtype=torch.bool, device=device)
    return mask.to(device=device, dtype=torch.bool)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` [N] over ``mask`` [N]; 0 (still differentiable) when nothing is valid."""
    w = mask.to(values.dtype)
    return (values * w).sum() / w.sum().clamp(min=1.0)
