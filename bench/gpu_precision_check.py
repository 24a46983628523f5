"""Issue 12's precision rules on a CUDA card: a run trained with ``--precision auto``
trains in bf16 there, records it, and embeds in bf16 on the card (fp32 on a CPU without
native bf16), keeping the fp32 neighbours (top-10 overlap >= 0.9).

    python bench/gpu_precision_check.py [--videos 64] [--epochs 3] [--preset tiny]

Needs only torch and the training package (synthetic clips, no media decoding), so it
runs on a bare GPU machine. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def top10_overlap(a: np.ndarray, b: np.ndarray) -> float:
    def top(x: np.ndarray) -> list[set[int]]:
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        sims = x @ x.T
        np.fill_diagonal(sims, -np.inf)
        return [set(np.argsort(-row)[:10].tolist()) for row in sims]

    return float(np.mean([len(p & q) / 10 for p, q in zip(top(a), top(b))]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--preset", default="tiny")
    args = parser.parse_args()

    from reelscope.training import precision
    from reelscope.training.checkpoint import load_model, trained_precision
    from reelscope.training.config import make_config
    from reelscope.training.embed import embed_items, embed_run
    from reelscope.training.loop import train
    from reelscope.training.synthetic import write_synthetic_items

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out: dict = {"device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
                 "torch": torch.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        items = write_synthetic_items(Path(tmp) / "clips", args.videos, silent_every=7)[0]
        cfg = make_config("av-simclr", args.preset, device=device.type, precision="auto",
                          epochs=args.epochs, workers=0)
        run_dir = Path(tmp) / "run"
        started = time.perf_counter()
        result = train(cfg, items, run_dir)
        out.update(train_seconds=round(time.perf_counter() - started, 1), trained_in=result.precision,
                   recorded=trained_precision(run_dir),
                   native_bf16=precision.native_bf16(device),
                   inference_on_device=precision.inference_precision(trained_precision(run_dir), device),
                   inference_on_cpu_without_native=precision.inference_precision("bf16", torch.device("cpu"))
                   if not precision.cpu_has_native_bf16() else "n/a (this CPU has native bf16)")
        model, cfg = load_model(run_dir, device)
        with torch.no_grad():  # as predict runs it: the probe must never be needed here
            chosen = embed_run(run_dir, items, device.type)["fused"]
        low = embed_items(model, cfg, items, device, precision="bf16")["fused"]
        full = embed_items(model, cfg, items, device, precision="fp32")["fused"]
        cos = (low * full).sum(1) / (np.linalg.norm(low, axis=1) * np.linalg.norm(full, axis=1))
        out.update(top10_overlap_bf16_vs_fp32=round(top10_overlap(low, full), 3),
                   min_cosine_bf16_vs_fp32=round(float(cos.min()), 4),
                   embed_run_matches=("bf16" if np.allclose(chosen, low, atol=1e-5) else
                                      "fp32" if np.allclose(chosen, full, atol=1e-5) else "neither"))
    out["ok"] = bool(out["trained_in"] == out["recorded"] and out["top10_overlap_bf16_vs_fp32"] >= 0.9
                     and out["embed_run_matches"] == out["inference_on_device"])
    print(json.dumps(out))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
