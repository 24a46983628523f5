"""Which numerics a run trains and infers in: bf16 autocast or plain fp32.

Two rules, because training and inference ask different questions.

**Training** (:func:`resolve_precision`). ``fp32`` is taken as asked, and so is ``bf16``
except on a CPU without native bf16: there it trains in fp32, because emulated bf16 is
slower than fp32 and, in torch 2.11 with channels-last convolutions on an AVX2-only CPU,
corrupts the heap in the backward pass (seen on a 2-core AMD EPYC: "double free or
corruption" after a few steps on one thread). ``auto`` is bf16 on a CUDA card that has
it; on a CPU it is bf16 only where the CPU multiplies bf16 in hardware *and* a timed
probe of the run's own encoders (forward + backward, :func:`cpu_bf16_pays`) shows it
pays; else fp32. The probe builds its own autograd graph, so it answers under
``torch.no_grad()`` too.

**Inference** (:func:`inference_precision`). Never timed: a probe of training speed
says nothing about inference, and nothing slow may hide behind ``predict``. A finished
run records the precision it trained in (``model.safetensors`` metadata, see
``checkpoint.save_weights``); inference reuses it where this machine runs bf16 natively
(a CUDA card with bf16, a CPU with AMX or AVX-512 BF16) and uses fp32 everywhere else —
so a run trained in bf16 on a GPU and opened on a laptop without native bf16 does not
fall into slow emulated bf16. A run that trained in fp32 infers in fp32 everywhere;
runs from before the record infer in fp32. bf16 inference keeps the same neighbours as
fp32 (tests/test_precision_matrix.py checks a top-10 overlap of at least 0.9).
"""

from __future__ import annotations

import functools
import json
import time
from contextlib import nullcontext
from dataclasses import asdict
from typing import Any, Optional

import torch

from reelscope.training.config import PRECISIONS, TrainConfig

PROBE_BATCH = 32  # clips in the bf16 timing probe: small batches understate what bf16 gains
PROBE_GAIN = 1.2  # bf16 must train at least this much faster for ``auto`` to take it


def cpu_has_native_bf16() -> bool:
    """Whether this CPU says it multiplies bf16 in hardware (AMX tiles or AVX-512 BF16);
    elsewhere oneDNN emulates bf16 and autocast makes a CPU step slower, not faster."""
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bf16 natively (no emulation)."""
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    return device.type == "cpu" and cpu_has_native_bf16()


def cpu_bf16_pays(cfg: TrainConfig) -> bool:
    """Native bf16, and ``cfg``'s encoders really train faster in it on this CPU.

    The flags are not the whole story (a hypervisor may withhold AMX state; an earlier
    machine listing AMX ran the small encoders slower in bf16), so ``auto`` times a
    forward + backward of freshly built encoders on a batch of clips both ways, once per
    process and model shape, and takes bf16 at >= ``PROBE_GAIN`` times the speed.
    """
    if not cpu_has_native_bf16():
        return False
    shape = {k: v for k, v in asdict(cfg).items() if k in _MODEL_SHAPE}
    return _bf16_pays_for(json.dumps(dict(shape, batch_size=min(cfg.batch_size, PROBE_BATCH)), sort_keys=True))


_MODEL_SHAPE = ("video_encoder", "video_width", "motion_input", "audio_encoder", "audio_width", "norm",
                "proj_hidden", "proj_dim", "clip_frames", "frame_size", "audio_frames", "stats")


@functools.lru_cache(maxsize=8)
def _bf16_pays_for(shape_json: str) -> bool:
    from reelscope.training.encoders import build_model, to_channels_last

    cfg = TrainConfig.from_json(shape_json)
    model = build_model(cfg)
    to_channels_last(model)
    b = cfg.batch_size
    video = torch.randn(b, 3, cfg.clip_frames, cfg.frame_size, cfg.frame_size)
    video = video.contiguous(memory_format=torch.channels_last_3d)
    audio = torch.randn(b, 1, cfg.stats.n_mels, cfg.audio_frames).contiguous(memory_format=torch.channels_last)

    def seconds(bf16: bool) -> float:
        start = time.perf_counter()
        # The probe times a training step, so it needs gradients whatever its caller runs under.
        with torch.enable_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model.video(video).float().square().mean() + model.audio(audio).float().square().mean()
        out.backward()
        return time.perf_counter() - start

    seconds(True), seconds(False)  # untimed: the first call of each builds oneDNN's kernels
    # Alternate the two so that a passing slowdown (another process, a page-fault burst)
    # hits both alike; timing all bf16 calls first once flipped the choice to fp32 on a
    # machine where bf16 is 1.6x faster.
    best = {True: float("inf"), False: float("inf")}
    for _ in range(3):
        for bf16 in (True, False):
            best[bf16] = min(best[bf16], seconds(bf16))
    return best[True] * PROBE_GAIN <= best[False]


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
    return precision


def resolve_precision(precision: str, device: torch.device, cfg: Optional[TrainConfig] = None) -> str:
    """The precision to *train* in: ``auto`` -> bf16 on a CUDA card with native bf16, and
    on a CPU where :func:`cpu_bf16_pays` for ``cfg``'s encoders; fp32 elsewhere (and on a
    CPU when no ``cfg`` is given). ``bf16`` on a CPU without native bf16 -> fp32 (see the
    module docstring). Inference uses :func:`inference_precision` instead."""
    if check_precision(precision) == "fp32":
        return precision
    if precision == "bf16":
        return "fp32" if device.type == "cpu" and not cpu_has_native_bf16() else "bf16"
    if device.type == "cuda":
        return "bf16" if native_bf16(device) else "fp32"
    return "bf16" if cfg is not None and cpu_bf16_pays(cfg) else "fp32"


def inference_precision(trained: Optional[str], device: torch.device) -> str:
    """The precision to *embed* in with a run that trained in ``trained`` ("bf16", "fp32",
    or None when the run predates the record): bf16 only for a bf16 run on a device with
    native bf16, else fp32. Never times anything."""
    return "bf16" if trained == "bf16" and native_bf16(device) else "fp32"


def autocast_for(device: torch.device, precision: str) -> Any:
    """bf16 autocast (no loss scaling needed, unlike fp16) for ``precision`` "bf16", else plain fp32."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()
