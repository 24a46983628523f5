"""Weights and checkpoints on disk: tensors in safetensors, everything else in JSON.

Nothing here unpickles, so opening a run someone sent you cannot execute code.

A run folder holds::

    config.json                     TrainConfig (versioned)
    model.safetensors               the AVModel's weights (encoders + projection heads)
    checkpoint/ckpt-<step>.safetensors   method state, optimiser tensors, torch RNG states
    checkpoint/ckpt-<step>.json          step, epoch, sampler position, optimiser hyper-
                                         parameters, numpy/python RNG states, elapsed time

A checkpoint's JSON is written (atomically) after its tensors and names their
size, so a checkpoint counts only once both are complete; a SIGKILL mid-write
leaves the previous one in force. The newest two are kept.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from reelscope.training import faults
from reelscope.training.config import TrainConfig
from reelscope.training.files import atomic_path, write_text_atomic

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CHECKPOINT_DIR = "checkpoint"
KEEP = 2


def save_tensors_atomic(path: Path, tensors: dict[str, torch.Tensor], metadata: Optional[dict[str, str]] = None) -> None:
    with atomic_path(path) as tmp:
        # safetensors wants contiguous CPU tensors that share no memory.
        save_file({k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}, str(tmp), metadata)


# ---------------------------------------------------------------------- weights


def save_config(run_dir: Path, cfg: TrainConfig) -> None:
    write_text_atomic(Path(run_dir) / CONFIG_FILE, cfg.to_json())


def load_config(run_dir: Path) -> TrainConfig:
    path = Path(run_dir) / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} has no {CONFIG_FILE}; it is not a training run folder")
    return TrainConfig.from_json(path.read_text())


def save_weights(run_dir: Path, model: torch.nn.Module, cfg: TrainConfig, precision: str = "fp32") -> Path:
    """model.safetensors + config.json: all that is needed to rebuild the encoders.

    ``precision`` is what the run trained in ("bf16" or "fp32", ``auto`` resolved); the
    weights' metadata keeps it for :func:`trained_precision`.
    """
    path = Path(run_dir) / WEIGHTS_FILE
    save_tensors_atomic(path, model.state_dict(),
                        {"format": "reelscope-avmodel", "version": str(cfg.version), "precision": precision})
    faults.point("weights.saved")
    save_config(run_dir, cfg)
    return path


class DamagedWeights(ValueError):
    """A run's weights file cannot be read, or does not fit the run's config."""


def _damaged(path: Path, exc: BaseException) -> DamagedWeights:
    reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
    return DamagedWeights(f"{path} is damaged or does not fit its run's config ({reason}); "
                          "train the run again (or restore the file)")


def trained_precision(run_dir: Path) -> Optional[str]:
    """"bf16" or "fp32": what a finished run trained in, from its weights' metadata, or
    from its config where that asked for one explicitly; None for an older ``auto`` run."""
    from safetensors import safe_open

    path = Path(run_dir) / WEIGHTS_FILE
    try:
        with safe_open(str(path), framework="pt") as f:
            recorded = (f.metadata() or {}).get("precision")
    except FileNotFoundError:
        raise
    except Exception as exc:  # safetensors' own error type for a damaged header
        raise _damaged(path, exc) from None
    if recorded in ("bf16", "fp32"):
        return recorded
    asked = load_config(run_dir).precision
    return asked if asked in ("bf16", "fp32") else None


def load_model(run_dir: Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, TrainConfig]:
    """Rebuild the AVModel of a run from its config and weights (no code executed from disk)."""
    from reelscope.training.encoders import build_model

    cfg = load_config(run_dir)
    path = Path(run_dir) / WEIGHTS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} has no {WEIGHTS_FILE}; train the run to the end first")
    model = build_model(cfg)
    try:
        model.load_state_dict(load_file(str(path), device=str(device)))
    except Exception as exc:  # a damaged file, or tensors of other names or shapes
        raise _damaged(path, exc) from None
    return model.to(device).eval(), cfg


# ------------------------------------------------------------------ RNG states


def rng_tensors() -> dict[str, torch.Tensor]:
    out = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["rng.cuda"] = torch.stack(torch.cuda.get_rng_state_all())
    return out


def rng_json() -> dict[str, Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, state, gauss_next = random.getstate()
    return {
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
        "python": [version, list(state), gauss_next],
    }


def restore_rng(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["rng.torch"].cpu())
    if "rng.cuda" in tensors and torch.cuda.is_available():
        states = list(tensors["rng.cuda"].cpu().unbind(0))
        if len(states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states)
    kind, keys, pos, has_gauss, gauss = meta["numpy"]
    np.random.set_state((kind, np.asarray(keys, np.uint32), pos, has_gauss, gauss))
    version, state, gauss_next = meta["python"]
    random.setstate((version, tuple(state), gauss_next))


# ------------------------------------------------------------------- optimiser


def optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimiser's state_dict into tensors (per-parameter state) and JSON (the rest)."""
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, state in sd["state"].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim.{pid}.{name}"] = value
            else:
                scalars[f"{pid}.{name}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def load_optimizer(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = value
    for key, value in meta.get("scalars", {}).items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


# ------------------------------------------------------------------ checkpoints


def save_checkpoint(run_dir: Path, step: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write checkpoint ``step`` (tensors first, then the JSON that commits it); prune old ones."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    name = f"ckpt-{step:09d}"
    save_tensors_atomic(folder / f"{name}.safetensors", tensors)
    size = (folder / f"{name}.safetensors").stat().st_size
    faults.point("checkpoint.tensors")  # tensors in place, the JSON that commits them not
    write_text_atomic(folder / f"{name}.json", json.dumps(dict(meta, step=step, tensors_bytes=size)))
    for old in _complete(folder)[:-KEEP]:
        for suffix in (".json", ".safetensors"):
            old.with_suffix(suffix).unlink(missing_ok=True)
            faults.point("checkpoint.prune")
    return folder / f"{name}.json"


def _complete(folder: Path) -> list[Path]:
    """Committed checkpoints, oldest first (as paths without suffix)."""
    out = []
    for meta in sorted(folder.glob("ckpt-*.json")):
        tensors = meta.with_suffix(".safetensors")
        try:
            size = json.loads(meta.read_text())["tensors_bytes"]
        except (ValueError, KeyError):
            continue
        if tensors.exists() and tensors.stat().st_size == size:
            out.append(meta.with_suffix(""))
    return out


def load_checkpoint(run_dir: Path, device: str | torch.device = "cpu") -> Optional[tuple[dict[str, torch.Tensor], dict[str, Any]]]:
    """The newest complete checkpoint of a run as (tensors, meta), or None."""
    found = _complete(Path(run_dir) / CHECKPOINT_DIR)
    if not found:
        return None
    latest = found[-1]
    meta = json.loads(latest.with_suffix(".json").read_text())
    return load_file(str(latest.with_suffix(".safetensors")), device=str(device)), meta


def checkpoint_meta(run_dir: Path) -> Optional[dict[str, Any]]:
    """Just the JSON of the newest complete checkpoint (cheap: no tensors read)."""
    found = _complete(Path(run_dir) / CHECKPOINT_DIR)
    return json.loads(found[-1].with_suffix(".json").read_text()) if found else None
