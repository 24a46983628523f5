"""A ring buffer of past embeddings and their videos' ids, shared by MoCo's queue and
NNCLR's support set."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F


@torch.no_grad()
def ring_write(rows: torch.Tensor, row_ids: torch.Tensor, ptr: torch.Tensor, z: torch.Tensor,
               ids: Optional[torch.Tensor] = None, mask: Optional[torch.Tensor] = None) -> None:
    """Overwrite the oldest of ``rows`` [K, D] with ``z`` [N, D], L2-normalised, in place.

    ``row_ids`` [K] takes ``ids`` [N] (-1 when not given); samples with ``mask`` False
    are skipped; ``ptr`` (a 0-d long buffer) is the next row to overwrite.
    """
    z = F.normalize(z.detach().float(), dim=1)
    ids = torch.full((z.shape[0],), -1, dtype=torch.long) if ids is None else ids.long()
    ids = ids.to(z.device)
    if mask is not None:
        keep = mask.to(device=z.device, dtype=torch.bool)
        z, ids = z[keep], ids[keep]
    size = rows.shape[0]
    z, ids = z[-size:], ids[-size:]
    if z.shape[0] == 0:
        return
    idx = (ptr + torch.arange(z.shape[0], device=z.device)) % size
    rows[idx] = z
    row_ids[idx] = ids
    ptr.copy_((ptr + z.shape[0]) % size)
