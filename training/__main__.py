"""Train a prepared run folder, on one process or many: the entry point for ``torchrun``.

    torchrun --nproc_per_node 4 -m reelscope.training LIB/runs/<run_id>
    torchrun --nnodes 2 --node_rank R --master_addr HOST --nproc_per_node 8 \\
             -m reelscope.training LIB/runs/<run_id>

The folder must hold ``config.json`` and ``manifest.json`` (``reelscope train
--prepare-only`` writes them). Each process trains a shard of every global
batch; rank 0 writes checkpoints, metrics and weights, and prints the result as
JSON. Re-running the same command resumes from the newest checkpoint.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reelscope.training", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="run folder with config.json and manifest.json")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--time-budget", type=float, default=None, metavar="MINUTES")
    parser.add_argument("--no-resume", action="store_true", help="ignore existing checkpoints")
    args = parser.parse_args(argv)

    from reelscope.training import distributed
    from reelscope.training.checkpoint import load_config
    from reelscope.training.data import read_manifest
    from reelscope.training.loop import train

    cfg = load_config(args.run_dir)
    if args.device:
        cfg = cfg.replace(device=args.device)
    if args.epochs is not None or args.time_budget is not None:
        cfg = cfg.replace(epochs=args.epochs, time_budget_min=args.time_budget)
    items = read_manifest(args.run_dir / "manifest.json")
    try:
        result = train(cfg, items, args.run_dir, resume=not args.no_resume)
    finally:
        distributed.teardown()
    if distributed.env_info().main:
        json.dump(result.as_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
