"""Does the data pipeline keep the model fed, and how fast is a training step?

    python bench/train_throughput.py [--library DIR] [--method av-simclr] [--preset small]
                                     [--steps 8] [--device auto] [--json]

(a) samples/s of the real training step (``reelscope.training.loop.train_step``)
    fed by the real pipeline (clip cache -> DataLoader -> batched augmentation on
    the device), divided by samples/s of the same step fed one batch already in
    memory on the device. Goal: >= 0.9.
(b) samples/s of the memory-fed step in bf16 and fp32 per preset — every preset on
    CUDA, ``small`` on a CPU (bf16 pays there only with AMX or AVX-512 BF16) — with the
    bf16 / fp32 ratio, the FLOPs of a step (torch's FlopCounterMode: convolutions and
    matmuls, forward + backward), the achieved FLOP rate and, on CUDA, its share of
    the card's dense bf16 peak; and the card's or CPU's name.

Without ``--library`` it builds a synthetic library (random-content clips written
through ``ClipCache`` with the default cache spec) in a temporary folder.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # shared CPUs: don't spin waiting for busy cores

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from reelscope.core.store.clipcache import CacheSpec, ClipCache
from reelscope.core.store.library import Library
from reelscope.core.encoding.train import training_items
from reelscope.training.config import make_config
from reelscope.training.data import EpochBatches
from reelscope.training.loop import (batch_stream, build_training, choose_device, loader_workers, make_loader,
                                    prepare_data, train_step)
from reelscope.training.precision import autocast_for, cpu_has_native_bf16, resolve_precision
from reelscope.training.synthetic import synthetic_clip

# Dense (no sparsity) bf16 tensor-core peaks from the vendors' data sheets, FLOP/s.
BF16_PEAK = [
    ("H200", 989e12), ("H100 PCIe", 756e12), ("H100 NVL", 835e12), ("H100", 989e12), ("GH200", 989e12),
    ("B200", 2250e12), ("A100", 312e12), ("A10G", 125e12), ("A10", 125e12), ("L40S", 362e12),
    ("L40", 181e12), ("L4", 121e12), ("RTX 4090", 165e12), ("RTX 3090", 71e12), ("A6000", 155e12),
]


def build_synthetic_library(folder: Path, videos: int = 256, seed: int = 0) -> Library:
    """A library of ``videos`` synthetic clips (default cache spec), written straight into the cache."""
    lib = Library.create(folder)
    spec = CacheSpec()
    ClipCache(folder, spec).ensure()
    lib.cache = ClipCache(folder)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(videos):
        frames, mel = synthetic_clip(rng, i % 6, i % 10 if i % 12 else None, spec.frames, spec.size,
                                     seconds=float(rng.uniform(5, 30)), n_mels=spec.n_mels)
        digest = f"{i:064x}"
        lib.cache.write(digest, frames, mel)
        rows.append({"id": f"syn{i:05d}", "path": str(folder / f"syn{i:05d}.mp4"), "status": "ok",
                     "content_hash": digest, "duration": mel.shape[1] / spec.mel_rate or 10.0})
    lib.db["videos"].insert_all(rows)
    return lib


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_ratio(library: Library, method: str, preset: str, device: torch.device, steps: int,
                  warmup: int, rounds: int = 2, preload_max_mb: int = 4096) -> dict[str, Any]:
    """(a): pipeline-fed vs memory-fed samples/s of the same step, alternating rounds, at the
    precision training would use here."""
    cfg = make_config(method, preset, device=device.type, preload_max_mb=preload_max_mb)
    cfg, store = prepare_data(cfg, training_items(library))
    batch = min(cfg.batch_size, len(store))
    batches = EpochBatches(len(store), batch, seed=cfg.seed)
    workers = loader_workers(cfg, device, store.preloaded)
    model, method_mod, optimizer = build_training(cfg, device)
    precision = resolve_precision(cfg.precision, device, cfg)
    autocast = autocast_for(device, precision)

    def step(raw: dict[str, Any]) -> None:
        train_step(method_mod, method_mod, optimizer, raw, cfg, device, 0.5, 0, autocast)

    pipeline_time = memory_time = 0.0
    pipeline_n = memory_n = 0
    # Pipeline-fed: the stream training reads, batch after batch across epochs.
    with batch_stream(store, cfg, batches, device) as stream:
        in_memory = {k: v.to(device) for k, v in next(stream).items()}  # already on the device
        for _ in range(warmup):
            step(in_memory)
        _sync(device)
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(steps):
                step(next(stream))
            _sync(device)
            pipeline_time += time.perf_counter() - start
            pipeline_n += steps * batch
            start = time.perf_counter()
            for _ in range(steps):
                step(in_memory)
            _sync(device)
            memory_time += time.perf_counter() - start
            memory_n += steps * batch
    pipeline_sps, memory_sps = pipeline_n / pipeline_time, memory_n / memory_time
    return {
        "method": method, "preset": preset, "device": str(device), "batch": batch,
        "precision": precision,
        "videos": len(store), "preloaded": store.preloaded, "workers": workers,
        "pipeline_samples_per_s": round(pipeline_sps, 2), "memory_samples_per_s": round(memory_sps, 2),
        "ratio": round(pipeline_sps / memory_sps, 3),
    }


def card_peak(name: str) -> Optional[float]:
    for key, peak in BF16_PEAK:
        if key in name:
            return peak
    return None


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def measure_presets(library: Library, method: str, device: torch.device, steps: int, warmup: int,
                    presets: tuple[str, ...]) -> dict[str, Any]:
    """(b): per preset and precision, memory-fed samples/s and achieved FLOP rate."""
    from torch.utils.flop_counter import FlopCounterMode

    cuda = device.type == "cuda"
    name = torch.cuda.get_device_name(device) if cuda else f"{cpu_name()}, {torch.get_num_threads()} threads"
    peak = card_peak(name) if cuda else None
    rows = []
    for preset in presets:
        cfg = make_config(method, preset, device=device.type)
        cfg, store = prepare_data(cfg, training_items(library))
        batch = min(cfg.batch_size, len(store))
        loader = make_loader(store, cfg, EpochBatches(len(store), batch, seed=cfg.seed), device)
        raw = {k: v.to(device) for k, v in next(iter(loader)).items()}
        for bf16 in (True, False):
            torch.backends.cuda.matmul.allow_tf32 = not bf16  # fp32 rows: TF32 off, true fp32
            torch.backends.cudnn.allow_tf32 = not bf16
            _, method_mod, optimizer = build_training(cfg, device)
            autocast = autocast_for(device, "bf16" if bf16 else "fp32")

            def step() -> None:
                train_step(method_mod, method_mod, optimizer, raw, cfg, device, 0.5, 0, autocast)

            for _ in range(warmup):
                step()
            counter = FlopCounterMode(display=False)
            with counter:
                step()
            flops = counter.get_total_flops()
            _sync(device)
            start = time.perf_counter()
            for _ in range(steps):
                step()
            _sync(device)
            seconds = (time.perf_counter() - start) / steps
            rate = flops / seconds
            rows.append({
                "preset": preset, "precision": "bf16" if bf16 else "fp32", "batch": batch,
                "samples_per_s": round(batch / seconds, 1), "gflop_per_step": round(flops / 1e9, 1),
                "achieved_tflops": round(rate / 1e12, 2),
                "share_of_bf16_peak": round(rate / peak, 4) if peak else None,
                "peak_memory_gb": round(torch.cuda.max_memory_allocated(device) / 2**30, 2) if cuda else None,
            })
            del method_mod, optimizer
            if cuda:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats(device)
        fp32 = rows[-1]["samples_per_s"]
        rows[-2]["bf16_over_fp32"] = round(rows[-2]["samples_per_s"] / fp32, 2) if fp32 else None
    return {"card": name, "bf16_peak_tflops": peak / 1e12 if peak else None,
            "native_cpu_bf16": None if cuda else cpu_has_native_bf16(), "rows": rows}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", type=Path, help="library to read (default: a synthetic one)")
    parser.add_argument("--videos", type=int, default=256, help="size of the synthetic library")
    parser.add_argument("--method", default="av-simclr")
    parser.add_argument("--preset", default=None, help="preset for (a) (default: small on CPU, base on CUDA)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--steps", type=int, default=8, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--preload-max-mb", type=int, default=4096,
                        help="0 forces the memory-mapped path (loader workers) instead of preloading")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = choose_device(args.device)
    preset = args.preset or ("base" if device.type == "cuda" else "small")

    with tempfile.TemporaryDirectory(prefix="reelscope-bench-") as tmp:
        library = Library.open(args.library) if args.library else build_synthetic_library(Path(tmp) / "lib", args.videos)
        out: dict[str, Any] = {"ratio": measure_ratio(library, args.method, preset, device, args.steps,
                                                      args.warmup, preload_max_mb=args.preload_max_mb)}
        presets = ("tiny", "small", "base") if device.type == "cuda" else ("small",)
        out["presets"] = measure_presets(library, args.method, device, args.steps, args.warmup, presets)
        library.close()

    if args.json:
        json.dump(out, sys.stdout, indent=2)
        print()
        return 0
    r = out["ratio"]
    print(f"(a) {r['method']} / {r['preset']} on {r['device']} in {r['precision']}, batch {r['batch']}, {r['videos']} videos "
          f"({'preloaded' if r['preloaded'] else 'memory-mapped'}, {r['workers']} loader workers)")
    print(f"    real pipeline {r['pipeline_samples_per_s']} samples/s / in memory "
          f"{r['memory_samples_per_s']} samples/s = {r['ratio']} (goal >= 0.9)")
    p = out["presets"]
    peak = f"dense bf16 peak {p['bf16_peak_tflops']} TFLOP/s" if p["bf16_peak_tflops"] else (
        f"native bf16: {'yes' if p['native_cpu_bf16'] else 'no'}" if p["native_cpu_bf16"] is not None else "peak unknown")
    print(f"(b) {p['card']}, {peak}")
    print("| preset | precision | batch | samples/s | bf16 / fp32 | GFLOP/step | TFLOP/s | share of bf16 peak | peak mem GB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in p["rows"]:
        print(f"| {row['preset']} | {row['precision']} | {row['batch']} | {row['samples_per_s']} | "
              f"{row.get('bf16_over_fp32', '')} | {row['gflop_per_step']} | {row['achieved_tflops']} | "
              f"{row['share_of_bf16_peak']} | {row['peak_memory_gb']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
