"""Multi-GPU / multi-node helpers for runs launched with ``torchrun``.

``torchrun --nproc_per_node N -m reelscope.training RUN_DIR`` starts N processes
with ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` set; :func:`setup` joins them
into one process group (NCCL on CUDA, gloo on CPU). Without those variables
everything here is a no-op, so the training loop has a single code path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    local_rank: int = 0
    world: int = 1

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def env_info() -> DistInfo:
    """What torchrun told this process (rank 0 of 1 when not launched by it)."""
    return DistInfo(
        int(os.environ.get("RANK", 0)),
        int(os.environ.get("LOCAL_RANK", 0)),
        int(os.environ.get("WORLD_SIZE", 1)),
    )


def setup(device: torch.device) -> DistInfo:
    info = env_info()
    if info.enabled and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return info


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward sums every rank's gradient for this rank's slice.

    Written here rather than using ``torch.distributed.nn`` because its backward
    needs all-to-all, which gloo lacks on some builds; an all_reduce works everywhere.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        world, rank = dist.get_world_size(), dist.get_rank()
        parts = [torch.empty_like(x) for _ in range(world)]
        dist.all_gather(parts, x.contiguous())
        ctx.rank, ctx.n = rank, x.shape[0]
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        grad = grad.contiguous()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.n : (ctx.rank + 1) * ctx.n]


def gather(x: torch.Tensor) -> torch.Tensor:
    """[n, ...] on each rank -> [world * n, ...] in rank order; gradients flow back. Identity alone."""
    if not is_active():
        return x
    if x.requires_grad:
        return _GatherWithGrad.apply(x)
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


def all_reduce_mean(x: torch.Tensor) -> torch.Tensor:
    if not is_active():
        return x
    x = x.detach().clone()
    dist.all_reduce(x)
    return x / dist.get_world_size()


def broadcast_module_state(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank (e.g. BN statistics before saving)."""
    if not is_active():
        return
    for t in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(t.data, src=0)


def rank0_choice(value: str, options: tuple[str, ...], device: torch.device) -> str:
    """Rank 0's ``value`` (one of ``options``) on every rank, so all replicas decide alike.

    For choices a rank makes from its own measurements (e.g. whether bf16 pays on this
    CPU): replicas that chose differently would train different numerics in lockstep.
    """
    if not is_active():
        return value
    index = torch.tensor([options.index(value) if dist.get_rank() == 0 else 0], device=device)
    dist.broadcast(index, src=0)
    return options[int(index.item())]


def barrier() -> None:
    if is_active():
        dist.barrier()
