"""The training loop, meant to be read top to bottom.

``train(cfg, items, run_dir)`` trains the encoders of one run and leaves in
``run_dir``: ``config.json``, ``model.safetensors``, ``checkpoint/`` and
``metrics.jsonl``. Run it again on the same folder and it resumes from the
newest checkpoint exactly where it stopped (same weights as an uninterrupted
run, with ``deterministic`` on CPU). Launched by ``torchrun`` it trains with
DistributedDataParallel; rank 0 writes the files.

The order of events in one step:

    wait for the loader's batch  ->  lr from the schedule  ->  augment on the device
    ->  forward under autocast  ->  backward  ->  clip  ->  AdamW step
    ->  momentum update (MoCo/BYOL)  ->  metrics, progress, stop?  ->  checkpoint?
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
import torch.nn as nn

from reelscope.training import checkpoint as ckpt
from reelscope.training import distributed
from reelscope.training.config import TrainConfig
from reelscope.training.data import ClipItem, ClipStore, EpochBatches, Prefetched, TrainViews, measure_stats
from reelscope.training.encoders import build_model, channels_last_pays, memory_format_for, to_channels_last
from reelscope.training.events import ProgressFn, StopFn, TrainEvent, never_stop, no_progress
from reelscope.training.methods import build_method
from reelscope.training.precision import autocast_for, resolve_precision
from reelscope.training.schedule import lr_at
from reelscope.training.views import train_views

METRICS_FILE = "metrics.jsonl"


@dataclass
class TrainResult:
    """What a call to :func:`train` achieved. ``status``: "finished" or "cancelled" (resumable)."""

    status: str
    step: int
    epoch: int
    samples: int
    train_seconds: float
    samples_per_s: float
    losses: dict[str, float] = field(default_factory=dict)
    batch_size: int = 0
    parameters: int = 0
    device: str = "cpu"
    precision: str = "fp32"  # what "auto" resolved to on this device
    model: Optional[nn.Module] = field(default=None, repr=False, compare=False)  # the trained AVModel

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "model"}


# --------------------------------------------------------------------- setup


def choose_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` picks CUDA when there is a GPU; under torchrun each process takes its own."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' was asked for but PyTorch sees no CUDA GPU")
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    if name != "cpu":
        raise ValueError(f"unknown device {name!r}; use auto, cpu or cuda")
    return torch.device("cpu")


def loader_workers(cfg: TrainConfig, device: torch.device, preloaded: bool) -> int:
    if cfg.workers >= 0:
        return cfg.workers
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if device.type == "cuda":
        return max(1, min(8, cores - 1))
    # On CPU the loader competes with the model for cores; its work is small when preloaded.
    return 0 if preloaded or cores <= 2 else min(2, cores // 4)


def _param_groups(method: nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    """No weight decay on biases and normalisation parameters (1-D tensors), as is usual;
    BYOL's and SimSiam's predictors in groups of their own at ``predictor_lr_mult`` x the lr
    (only when it is not 1, so the groups of a run that never had them stay as they were)."""
    fast = cfg.predictor_lr_mult != 1.0
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for name, p in method.named_parameters():
        if p.requires_grad:
            groups.setdefault((fast and "predictor" in name, p.ndim > 1), []).append(p)
    return [
        {"params": groups[key], "weight_decay": cfg.weight_decay if key[1] else 0.0,
         "lr_mult": cfg.predictor_lr_mult if key[0] else 1.0}
        for key in ((False, True), (False, False), (True, True), (True, False)) if key in groups
    ]


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop lines logged after the checkpoint we resume from (they will be logged again)."""
    if not path.exists():
        return
    keep = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:  # a line torn by a kill mid-append: it is logged again
            continue
        if isinstance(record, dict) and record.get("step", 0) <= step:
            keep.append(line)
    ckpt.write_text_atomic(path, "".join(line + "\n" for line in keep))


def prepare_data(cfg: TrainConfig, items: Sequence[ClipItem], mel_rate: float = 100.0, f_max: float = 8000.0) -> tuple[TrainConfig, ClipStore]:
    """Open the cache arrays (preloading them when small) and measure the log-mel statistics once."""
    store = ClipStore(items, mel_rate=mel_rate)
    if store.nbytes_estimate() <= cfg.preload_max_mb * 2**20:
        store = ClipStore(items, preload=True, mel_rate=mel_rate)
    if not cfg.stats.measured or cfg.stats.cache_frames != store.frame_shape[0]:
        cfg = cfg.replace(stats=measure_stats(store, mel_rate=mel_rate, f_max=f_max))
    return cfg, store


# ---------------------------------------------------------------------- train


def make_loader(store: ClipStore, cfg: TrainConfig, batches: EpochBatches, device: torch.device) -> torch.utils.data.DataLoader:
    """Loader of raw views: pinned memory and a few prefetching workers feed a GPU.

    Its own generator seeds the workers, so starting it never draws from torch's
    global generator (whose state a checkpoint saves).
    """
    workers = loader_workers(cfg, device, store.preloaded)
    return torch.utils.data.DataLoader(
        TrainViews(store, cfg),
        batch_sampler=batches,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        prefetch_factor=4 if workers > 0 else None,
        generator=torch.Generator().manual_seed(cfg.seed),
    )


def batch_stream(store: ClipStore, cfg: TrainConfig, batches: EpochBatches, device: torch.device) -> Prefetched:
    """The batches from ``batches``' position on, across epochs, prepared ahead in a thread
    (and in worker processes, where there are any). Close it when done."""
    return Prefetched(make_loader(store, cfg, batches, device))


def build_training(cfg: TrainConfig, device: torch.device) -> tuple[nn.Module, nn.Module, torch.optim.Optimizer]:
    """(AVModel, method around it, AdamW), on ``device``; weights (and so inputs) channels-last where that pays."""
    model = build_model(cfg)
    method = build_method(model, cfg).to(device)
    if channels_last_pays(device.type):
        to_channels_last(method)
    optimizer = torch.optim.AdamW(_param_groups(method, cfg), lr=cfg.lr, betas=(0.9, 0.999))
    return model, method, optimizer


def train_step(
    train_module: nn.Module,
    method: nn.Module,
    optimizer: torch.optim.Optimizer,
    raw: dict[str, Any],
    cfg: TrainConfig,
    device: torch.device,
    progress: float,
    mask_seed: Optional[int],
    autocast: Any,
) -> dict[str, torch.Tensor]:
    """One optimisation step on one loader batch; returns the (still on-device) losses.

    ``train_module`` is ``method`` itself, or its DDP wrapper (which all-reduces
    gradients during ``backward``). The benchmark times exactly this function.
    """
    views = train_views(raw, cfg, device, mask_seed, memory_format_for(device))  # augment on the device
    with autocast:
        losses = train_module(views)
    optimizer.zero_grad(set_to_none=True)
    losses["loss"].backward()
    if cfg.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(method.parameters(), cfg.grad_clip)
    optimizer.step()
    method.after_step(progress)  # momentum encoders follow the online one
    return losses




def train(
    cfg: TrainConfig,
    items: Sequence[ClipItem],
    run_dir: Path,
    progress: Optional[ProgressFn] = None,
    should_stop: Optional[StopFn] = None,
    resume: bool = True,
    store: Optional[ClipStore] = None,
) -> TrainResult:
    """Train ``cfg.method`` on the videos in ``items``; files go to ``run_dir``.

    Stops when ``cfg.epochs`` are done or ``cfg.time_budget_min`` of training time
    is used (whichever comes first; the LR schedule spans the planned amount),
    or when ``should_stop()`` turns True (then it checkpoints and returns
    status "cancelled"; calling again resumes).
    """
    progress = progress or no_progress
    should_stop = should_stop or never_stop
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)

    # --- device, processes, determinism
    dist_info = distributed.env_info()
    device = choose_device(cfg.device, dist_info.local_rank)
    dist_info = distributed.setup(device)
    main = dist_info.main
    if cfg.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    elif device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(cfg.seed)

    # --- data (the config gains the log-mel statistics the first time)
    if store is None:
        progress(TrainEvent("prepare", 0, None, "opening the clip cache"))
        cfg, store = prepare_data(cfg, items)
    elif not cfg.stats.measured:
        cfg = cfg.replace(stats=measure_stats(store, mel_rate=store.mel_rate))
    if main:
        ckpt.save_config(run_dir, cfg)
    batch_per_rank = max(2, min(cfg.batch_size // dist_info.world, len(store) // dist_info.world))
    batches = EpochBatches(len(store), batch_per_rank, dist_info.world, dist_info.rank, cfg.seed)
    steps_per_epoch = batches.batches_per_epoch()
    if steps_per_epoch == 0:
        raise ValueError(f"{len(store)} videos are too few to train on (need at least {2 * dist_info.world})")

    # --- model, method, optimiser
    model, method, optimizer = build_training(cfg, device)
    total_steps = cfg.epochs * steps_per_epoch if cfg.epochs else None
    budget_s = cfg.time_budget_min * 60 if cfg.time_budget_min else None
    if total_steps is None and budget_s is None:
        raise ValueError("give epochs or a time budget (or both)")

    # --- resume
    step, epoch, start_batch, samples, train_seconds = 0, 0, 0, 0, 0.0
    resumed_losses: dict[str, float] = {}  # a resume with no step left still reports them
    found = ckpt.load_checkpoint(run_dir, device) if resume else None
    if found is not None:
        tensors, meta = found
        method.load_state_dict({k[7:]: v for k, v in tensors.items() if k.startswith("method.")})
        ckpt.load_optimizer(optimizer, tensors, meta["optimizer"])
        ckpt.restore_rng(tensors, meta["rng"])
        step, epoch, start_batch = meta["step"], meta["epoch"], meta["batch_in_epoch"]
        samples, train_seconds = meta["samples"], meta["train_seconds"]
        resumed_losses = {k: float(v) for k, v in (meta.get("losses") or {}).items()}
        if main:
            _truncate_metrics(run_dir / METRICS_FILE, step)
    elif main:
        (run_dir / METRICS_FILE).unlink(missing_ok=True)
    train_module: nn.Module = method
    if dist_info.enabled and device.type == "cuda" and cfg.sync_bn:
        # SimCLR's global BN: per-GPU statistics would let a replica tell its own
        # samples apart by batch statistics. (CPU/gloo has no SyncBatchNorm; use norm="group".)
        method = nn.SyncBatchNorm.convert_sync_batchnorm(method)
        train_module = method
    if dist_info.enabled:
        train_module = nn.parallel.DistributedDataParallel(
            method, device_ids=[device.index] if device.type == "cuda" else None
        )
    # Rank 0 alone resolves the precision (ranks sharing a CPU would skew each other's
    # bf16 timings); the other ranks' placeholder is replaced by its answer.
    precision = resolve_precision(cfg.precision, device, cfg) if main else "fp32"
    precision = distributed.rank0_choice(precision, ("bf16", "fp32"), device)
    autocast = autocast_for(device, precision)

    def planned_progress() -> float:
        """Fraction of the planned training done: by steps, by time, whichever is further."""
        by_steps = step / total_steps if total_steps else 0.0
        by_time = train_seconds / budget_s if budget_s else 0.0
        return max(by_steps, by_time)

    def save(status: str) -> None:
        if main:
            tensors = {f"method.{k}": v for k, v in method.state_dict().items()}
            opt_tensors, opt_meta = ckpt.optimizer_tensors(optimizer)
            tensors.update(opt_tensors)
            tensors.update(ckpt.rng_tensors())
            meta = {
                "epoch": epoch, "batch_in_epoch": start_batch, "samples": samples,
                "train_seconds": train_seconds, "status": status, "optimizer": opt_meta,
                "rng": ckpt.rng_json(), "losses": last_losses,
            }
            ckpt.save_checkpoint(run_dir, step, tensors, meta)
            progress(TrainEvent("checkpoint", step, total_steps, f"epoch {epoch}, batch {start_batch}",
                                metrics={"epoch": epoch, "batch_in_epoch": start_batch}))
        distributed.barrier()

    # --- the loop
    method.train()
    last_losses: dict[str, float] = dict(resumed_losses)
    log_sums: dict[str, torch.Tensor] = {}
    log_steps, log_wait, log_start, log_samples = 0, 0.0, time.monotonic(), 0
    session_start_seconds, session_samples = train_seconds, 0
    last_checkpoint = time.monotonic()
    status = "finished"
    done = planned_progress() >= 1.0
    batches.set_position(epoch, start_batch)
    stream = batch_stream(store, cfg, batches, device)  # batch after batch, across epochs
    try:
        while not done:
            step_start = time.monotonic()
            raw = next(stream)
            wait = time.monotonic() - step_start
            p = planned_progress()
            lr = lr_at(p, cfg.lr, cfg.warmup, cfg.final_lr_frac)
            for group in optimizer.param_groups:
                group["lr"] = lr * group.get("lr_mult", 1.0)

            mask_seed = (cfg.seed * 1_000_003 + step) * 1024 + dist_info.rank
            losses = train_step(train_module, method, optimizer, raw, cfg, device, p, mask_seed, autocast)

            # Bookkeeping: everything below is measurement and control, not learning.
            step += 1
            start_batch += 1
            if start_batch == steps_per_epoch:  # the epoch is over: the position moves on
                epoch, start_batch = epoch + 1, 0
            n = batch_per_rank * dist_info.world
            samples += n
            session_samples += n
            now = time.monotonic()
            train_seconds += now - step_start
            for k, v in losses.items():
                log_sums[k] = log_sums.get(k, 0) + v.detach().float()
            log_steps, log_wait, log_samples = log_steps + 1, log_wait + wait, log_samples + n
            if step % cfg.log_every == 0 or step == 1:
                interval = now - log_start
                last_losses = {k: float(distributed.all_reduce_mean(v).item()) / log_steps for k, v in log_sums.items()}
                record = {
                    "step": step, "epoch": epoch, "progress": round(planned_progress(), 5), "lr": lr,
                    **{("loss" if k == "loss" else f"loss_{k}"): v for k, v in last_losses.items()},
                    "samples_per_s": log_samples / max(interval, 1e-9),
                    "data_wait": log_wait / max(interval, 1e-9),
                    "train_seconds": train_seconds,
                }
                if main:
                    with open(run_dir / METRICS_FILE, "a") as f:
                        f.write(json.dumps(record) + "\n")
                log_sums, log_steps, log_wait, log_start, log_samples = {}, 0, 0.0, now, 0
                done_p = planned_progress()
                rate = (train_seconds - session_start_seconds) / max(session_samples, 1)
                eta = None
                if total_steps:
                    eta = (total_steps - step) * n * rate
                if budget_s:
                    eta = min(eta, budget_s - train_seconds) if eta is not None else budget_s - train_seconds
                progress(TrainEvent(
                    "train", step, total_steps or max(step, int(step / max(done_p, 1e-9))),
                    f"epoch {epoch + 1}", max(0.0, eta) if eta is not None else None,
                    {k: round(v, 4) for k, v in last_losses.items()}
                    | {"lr": lr, "samples_per_s": round(record["samples_per_s"], 1),
                       "data_wait": round(record["data_wait"], 3), "epoch": epoch},
                ))

            # Stop when the plan is done or someone asked. Every rank must agree, and on
            # the elapsed time too: it sets the learning rate of a time-budgeted run.
            flags = torch.tensor([train_seconds, float(should_stop())], dtype=torch.float64)
            if dist_info.enabled:
                flags = flags.to(device)
                torch.distributed.all_reduce(flags, op=torch.distributed.ReduceOp.MAX)
                train_seconds = float(flags[0])
            if flags[1] > 0:
                status, done = "cancelled", True
            elif planned_progress() >= 1.0:
                done = True
            elif start_batch == 0 or time.monotonic() - last_checkpoint > cfg.checkpoint_every_min * 60:
                save("running")  # at each epoch's end, and every few minutes within long ones
                last_checkpoint = time.monotonic()
    finally:
        stream.close()

    # --- the end: BN statistics from rank 0 everywhere, a final checkpoint and the weights
    distributed.broadcast_module_state(method)
    save(status)
    if main and status == "finished":
        ckpt.save_weights(run_dir, model, cfg, precision)
    distributed.barrier()
    seconds = train_seconds - session_start_seconds
    return TrainResult(
        status=status, step=step, epoch=epoch, samples=samples, train_seconds=train_seconds,
        samples_per_s=session_samples / seconds if seconds > 0 else 0.0, losses=last_losses,
        batch_size=batch_per_rank * dist_info.world,
        parameters=sum(p.numel() for p in model.parameters()), device=str(device),
        precision=precision, model=model,
    )
