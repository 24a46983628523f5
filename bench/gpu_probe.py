"""Checks behind the GPU rows of ``bench/train_throughput.py`` (a minute on an H200).

    python bench/gpu_probe.py [--steps 10] [--device cuda]

1. Is the fp32 row really fp32? Prints the TF32 switches as PyTorch reports them after the
   benchmark's settings, and the rate of an 8192^3 matmul and of a (1,3,3) Conv3d of the
   ``base`` encoder's shapes in fp32 with TF32 off, with TF32 on, and in bf16.
2. How far is the benchmark (cuDNN autotuning off, PyTorch's default) from training, which
   turns ``torch.backends.cudnn.benchmark`` on for CUDA? Part (b) of the benchmark on the
   ``base`` preset, run with autotuning off and then on.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_throughput as tt  # noqa: E402


def _rate(fn, flops: float, device: torch.device, reps: int = 10) -> float:
    for _ in range(3):
        fn()
    tt._sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    tt._sync(device)
    return round(flops * reps / (time.perf_counter() - start) / 1e12, 2)


def kernels(device: torch.device, n: int = 8192, batch: int = 512) -> dict:
    """TFLOP/s of one matmul and one spatial Conv3d per precision setting."""
    out: dict = {}
    a = torch.randn(n, n, device=device)
    x = torch.randn(batch, 128, 4, 28, 28, device=device)
    conv = torch.nn.Conv3d(128, 128, (1, 3, 3), padding=(0, 1, 1), bias=False).to(device)
    conv_flops = 2 * batch * 128 * 4 * 28 * 28 * 128 * 9
    for label, tf32, dtype in (("fp32, TF32 off", False, torch.float32), ("fp32, TF32 on", True, torch.float32),
                               ("bf16", False, torch.bfloat16)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        flags = {"matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
                 "cudnn.allow_tf32": torch.backends.cudnn.allow_tf32}
        for name in ("cuda.matmul", "cudnn.conv"):
            obj = torch.backends
            for part in name.split("."):
                obj = getattr(obj, part, None)
            flags[f"{name}.fp32_precision"] = getattr(obj, "fp32_precision", None)
        ad, xd, cd = a.to(dtype), x.to(dtype), conv.to(dtype)
        with torch.no_grad():
            out[label] = {"flags": flags,
                          "matmul_tflops": _rate(lambda: ad @ ad, 2 * n**3, device),
                          "conv3d_1x3x3_tflops": _rate(lambda: cd(xd), conv_flops, device)}
        conv.float()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", choices=("cpu", "cuda"))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--preset", default="base")
    parser.add_argument("--videos", type=int, default=256)
    parser.add_argument("--small-kernels", action="store_true", help="tiny shapes (a CPU dry run)")
    args = parser.parse_args()
    device = torch.device(args.device)
    out: dict = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                 "torch": torch.__version__}
    out["kernels"] = kernels(device, *((256, 4) if args.small_kernels else ()))
    print(json.dumps(out["kernels"], indent=1), flush=True)
    with tempfile.TemporaryDirectory(prefix="reelscope-probe-") as tmp:
        library = tt.build_synthetic_library(Path(tmp) / "lib", args.videos)
        for bench in (False, True):
            torch.backends.cudnn.benchmark = bench
            res = tt.measure_presets(library, "av-simclr", device, args.steps, 3, (args.preset,))
            out[f"cudnn_benchmark_{'on' if bench else 'off'}"] = res["rows"]
            print(f"cudnn.benchmark={bench}:", json.dumps(res["rows"]), flush=True)
        library.close()
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
