"""Short runs for choosing a preset: one setting per call, scored like bench/quality.py.

    python bench/tuning.py NAME [--minutes 3] [--method av-simclr] [key=value ...]
    python bench/tuning.py NAME --supervised [--minutes 3] [key=value ...]

``key=value`` overrides a TrainConfig field (``video_aug.crop=0.5`` for a nested one).
Each run trains on the demo library of bench/quality.py (generated and imported there
once) into ``--dir``/NAME, then prints one JSON line (and appends it to
``--dir``/results.jsonl): the category probe over the six content categories from the
centre clip alone (``cat_1``) and from 3 clips + mirror images (``cat_3``), and
same-sound R@10 from the audio embedding.

``--supervised`` is the reference that says whether the encoder *can* separate the
categories: the same video encoder and augmentations trained with the labels
(cross-entropy on one view) on a seeded 80 % of the videos, scored on the other 20 %.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import ast
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import ROOT, _all_items, _unit, ensure_demo_library, hit_rate, truth_labels  # noqa: E402


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        if "." in key:
            outer, inner = key.split(".", 1)
            out.setdefault(outer, {})[inner] = value
        else:
            out[key] = value
    return out


def make(method: str, minutes: float, overrides: dict[str, Any]) -> Any:
    from reelscope.training.config import TrainConfig, make_config

    # Only the budget bounds the run, as in `reelscope train --time-budget` (the preset's 60
    # epochs would otherwise stop a run on the 300-video demo after 180 steps).
    base = json.loads(make_config(method, "small", device="cpu", time_budget_min=minutes, epochs=None).to_json())
    for key, value in overrides.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) else value
    return TrainConfig.from_dict(base)


def self_supervised(cfg: Any, items: list[Any], run_dir: Path, truth: dict[str, Any]) -> dict[str, Any]:
    from reelscope.core.analytics.evaluate import linear_probe
    from reelscope.training.checkpoint import load_model
    from reelscope.training.embed import embed_items
    from reelscope.training.loop import train

    result = train(cfg, items, run_dir, resume=False)
    model, cfg = load_model(run_dir, "cpu")
    category, sound = truth_labels(truth, [i.id for i in items])
    row: dict[str, Any] = {"steps": result.step}
    for clips, flip in ((1, False), (3, True)):
        out = embed_items(model, cfg.replace(embed_clips=clips, embed_flip=flip), items, "cpu")
        row[f"cat_{clips}"] = round(linear_probe(out["visual"], category)["accuracy"], 3)
        row[f"sound_r10_{clips}"] = hit_rate(_unit(out["audio"]), sound)
    return row


def supervised(cfg: Any, items: list[Any], truth: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    import torch

    from reelscope.training.data import EpochBatches
    from reelscope.training.embed import embed_items
    from reelscope.training.encoders import build_model
    from reelscope.training.loop import batch_stream, prepare_data
    from reelscope.training.views import train_views

    category, _ = truth_labels(truth, [i.id for i in items])
    keep = [k for k, c in enumerate(category) if c is not None]
    names = sorted({category[k] for k in keep})
    y = torch.tensor([names.index(category[k]) for k in keep])
    order = np.random.default_rng(seed).permutation(len(keep))
    cut = int(0.8 * len(keep))
    train_idx, test_idx = order[:cut], order[cut:]
    cfg, store = prepare_data(cfg.replace(workers=0), [items[keep[k]] for k in train_idx])
    torch.manual_seed(seed)
    model = build_model(cfg)
    head = torch.nn.Linear(model.video.out_dim, len(names))
    params = list(model.video.parameters()) + list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    y_train, budget, start, steps = y[train_idx], cfg.time_budget_min * 60, time.monotonic(), 0
    with batch_stream(store, cfg, EpochBatches(len(store), cfg.batch_size, seed=seed), torch.device("cpu")) as stream:
        while time.monotonic() - start < budget:
            raw = next(stream)
            views = train_views(raw, cfg, torch.device("cpu"))
            loss = torch.nn.functional.cross_entropy(head(model.video(views["v1"])), y_train[raw["index"]])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            steps += 1
    model.eval()
    out = embed_items(model, cfg, [items[keep[k]] for k in test_idx], "cpu")
    with torch.no_grad():
        predicted = head(torch.from_numpy(out["visual"])).argmax(1)
    return {"steps": steps, "held_out_acc": round(float((predicted == y[test_idx]).float().mean()), 3)}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name")
    parser.add_argument("overrides", nargs="*", help="TrainConfig field=value")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--method", default="av-simclr")
    parser.add_argument("--supervised", action="store_true")
    parser.add_argument("--library-dir", type=Path, default=ROOT / "bench" / "out" / "quality")
    parser.add_argument("--dir", type=Path, default=ROOT / "bench" / "out" / "tuning")
    args = parser.parse_intermixed_args(argv)  # options may come between the overrides

    library, truth = ensure_demo_library(args.library_dir, 300, 0)
    items = _all_items(library)
    cfg = make(args.method, args.minutes, parse_overrides(args.overrides))
    run_dir = args.dir / args.name
    shutil.rmtree(run_dir, ignore_errors=True)
    started = time.monotonic()
    row = supervised(cfg, items, truth) if args.supervised else self_supervised(cfg, items, run_dir, truth)
    row = {"name": args.name, "method": "supervised" if args.supervised else args.method,
           "minutes": args.minutes, "overrides": args.overrides, **row,
           "wall_s": round(time.monotonic() - started)}
    print(json.dumps(row))
    args.dir.mkdir(parents=True, exist_ok=True)
    with open(args.dir / "results.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    library.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
