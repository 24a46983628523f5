"""Train encoders on a library's clip cache and embed its videos: the thin driver over ``reelscope.training``.

:func:`train` turns the library's imported videos into a training manifest,
runs :func:`reelscope.training.loop.train` in ``runs/<run_id>/``, records the run
with :meth:`Library.save_run` and embeds every video. :func:`embed` (re-)embeds
with a finished run. Both report through core's progress protocol and honour a
:class:`CancelToken`; a cancelled or killed run resumes from its last checkpoint
the next time :func:`train` is called with the same method and preset.

A run folder::

    runs/<run_id>/config.json        TrainConfig (versioned JSON)
    runs/<run_id>/manifest.json      the videos it trains on (fixed when the run starts)
    runs/<run_id>/model.safetensors  encoder + head weights
    runs/<run_id>/checkpoint/        safetensors + JSON, enough to resume exactly
    runs/<run_id>/metrics.jsonl      one JSON line per logged step
    runs/<run_id>/embeddings.npz     visual / audio / fused embeddings (core.embeddings)

For several GPUs or machines, :func:`prepare_run` writes the folder and
``torchrun --nproc_per_node N -m reelscope.training <run folder>`` trains it;
``train(library, run_id=...)`` then records and embeds it (see docs/TRAINING.md).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from reelscope.core.store.embeddings import FILE_NAME as EMBEDDINGS_FILE
from reelscope.core.store.embeddings import Embeddings, load_embeddings_file, save_embeddings
from reelscope.core.store.models import TrainingRun
from reelscope.core.progress import CancelToken, Cancelled, Progress, ProgressCallback
from reelscope.core.store.lock import writing_job

if TYPE_CHECKING:
    from reelscope.core.store.library import Library
    from reelscope.core.store.models import Video
    from reelscope.training.data import ClipItem
    from reelscope.training.events import TrainEvent

MANIFEST_FILE = "manifest.json"
UNFINISHED = ("prepared", "running", "cancelled", "failed")


@writing_job("train")
def train(
    library: "Library",
    method: str = "av-simclr",
    preset: str = "small",
    epochs: Optional[int] = None,
    time_budget_min: Optional[float] = None,
    device: str = "auto",
    resume: bool = True,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    run_id: Optional[str] = None,
    embed_after: bool = True,
    precision: Optional[str] = None,
) -> TrainingRun:
    """Train ``method`` with ``preset`` on the library's imported videos; returns the finished run.

    ``epochs`` and ``time_budget_min`` bound the run (the LR schedule spans the
    bound; with only a budget, it trains as many epochs as fit). With neither,
    the preset's epochs. ``resume`` continues the newest unfinished run of the
    same method and preset; ``run_id`` continues that run. Raises
    :class:`Cancelled` when ``cancel`` is set, after checkpointing (status
    "cancelled"; calling again resumes). Embeds every video at the end unless
    ``embed_after`` is False. ``device`` and ``precision`` (auto, bf16, fp32; None keeps
    the run's, the preset's for a new run) say how this session runs, a resumed run
    included; embedding uses the same.
    """
    from reelscope.training import checkpoint as ckpt
    from reelscope.training.data import read_manifest
    from reelscope.training.files import sweep_temps
    from reelscope.training.loop import train as train_loop

    cancel = cancel or CancelToken()
    sweep_unrecorded_runs(library)
    run = find_unfinished_run(library, run_id, method, preset) if (resume or run_id) else None
    if run is None:
        run = prepare_run(library, method, preset, epochs, time_budget_min, device, precision)
    run_dir = library.path / run.dir
    sweep_temps(run_dir, recursive=True)  # left by a killed earlier session of the run
    cfg = ckpt.load_config(run_dir)
    changes: dict[str, Any] = {"device": device}
    if precision:
        changes["precision"] = precision
    if epochs is not None or time_budget_min is not None:
        changes.update(epochs=epochs, time_budget_min=time_budget_min)
    cfg = cfg.replace(**changes)
    items = read_manifest(run_dir / MANIFEST_FILE)
    run = _save(library, run, status="running", config=asdict(cfg))

    adapter = _ProgressAdapter(progress)
    try:
        result = train_loop(cfg, items, run_dir, progress=adapter, should_stop=lambda: cancel.cancelled)
    except Exception as exc:
        _save(library, run, status="failed", metrics=dict(run.metrics, error=str(exc)))
        raise
    cfg = ckpt.load_config(run_dir)  # now with the measured log-mel statistics
    metrics = {
        "steps": result.step, "epochs": result.epoch, "samples": result.samples,
        "train_seconds": round(result.train_seconds, 2), "samples_per_s": round(result.samples_per_s or result.samples / max(result.train_seconds, 1e-9), 2),
        "batch_size": result.batch_size, "parameters": result.parameters, "device": result.device,
        "precision": result.precision, "videos": len(items), **{("loss" if k == "loss" else f"loss_{k}"): v for k, v in result.losses.items()},
    }
    if result.status == "cancelled":
        _save(library, run, status="cancelled", config=asdict(cfg), metrics=metrics)
        raise Cancelled("training cancelled; run it again to resume from the last checkpoint")
    # Until its videos are embedded a run stays resumable ("running"): a train killed while
    # embedding is finished by the next train, not left "trained" beside a new run.
    run = _save(library, run, status="running" if embed_after else "trained", config=asdict(cfg),
                metrics=metrics)
    if embed_after:
        try:
            emb = embed(library, run.id, progress=progress, cancel=cancel, device=device)
        except Cancelled:
            _save(library, run, status="cancelled")
            raise
        metrics["embedded"] = len(emb)
    return _save(library, run, status="done", metrics=metrics, finished_at=time.time())


@writing_job("embed")
def embed(
    library: "Library",
    run_id: Optional[str] = None,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    device: str = "auto",
) -> Embeddings:
    """Embed every imported video with run ``run_id`` (default: the newest trained run).

    Deterministic: no augmentation; the run's ``embed_clips`` clips spread over each
    video (and their mirror images with ``embed_flip``), averaged. Saved as ``embeddings.npz`` in
    the run folder; if that file already covers exactly the current videos and is
    newer than the weights, it is returned as is.
    """
    from reelscope.training.checkpoint import WEIGHTS_FILE
    from reelscope.training.embed import EmbedCancelled, embed_run
    from reelscope.training.files import sweep_temps

    cancel = cancel or CancelToken()
    run = _trained_run(library, run_id)
    run_dir = library.path / run.dir
    sweep_temps(run_dir, EMBEDDINGS_FILE)
    videos, items = _items(library, dedupe=False)
    path = run_dir / EMBEDDINGS_FILE
    if path.exists() and path.stat().st_mtime >= (run_dir / WEIGHTS_FILE).stat().st_mtime:
        try:
            existing = load_embeddings_file(path, run.id)
        except ValueError:  # damaged: embedded again below, and replaced
            existing = None
        if existing is not None and [str(i) for i in existing.ids] == [v.id for v in videos]:
            return existing
    adapter = _ProgressAdapter(progress)
    try:
        arrays = embed_run(run_dir, items, device, progress=adapter, should_stop=lambda: cancel.cancelled)
    except EmbedCancelled:
        raise Cancelled("embedding cancelled; nothing was written") from None
    emb = Embeddings(run.id, np.array([v.id for v in videos], dtype=str), arrays["visual"],
                     arrays["audio"], arrays["fused"])
    save_embeddings(run_dir, emb)
    return load_embeddings_file(path, run.id)


def prepare_run(
    library: "Library",
    method: str = "av-simclr",
    preset: str = "small",
    epochs: Optional[int] = None,
    time_budget_min: Optional[float] = None,
    device: str = "auto",
    precision: Optional[str] = None,
    **overrides: Any,
) -> TrainingRun:
    """Create ``runs/<id>/`` with its config and manifest and record it as "prepared".

    ``precision`` None keeps the preset's; ``overrides`` set any other
    :class:`~reelscope.training.config.TrainConfig` field.
    """
    from reelscope.training import checkpoint as ckpt
    from reelscope.training.config import DataStats, make_config
    from reelscope.training.data import write_manifest

    if epochs is not None or time_budget_min is not None:
        overrides.update(epochs=epochs, time_budget_min=time_budget_min)
    if precision:
        overrides["precision"] = precision
    cfg = make_config(method, preset, device=device, **overrides)
    _, items = _items(library, dedupe=True)
    if len(items) < 2:
        raise ValueError(
            f"{library.path} has {len(items)} imported video(s) with a clip cache; "
            "import at least 2 before training"
        )
    spec = library.cache.spec  # the cache stores natural-log mel power (core/melspec.py)
    cfg = cfg.replace(stats=DataStats(
        n_mels=spec.n_mels, mel_rate=spec.mel_rate, f_max=spec.sample_rate / 2, cache_frames=spec.frames))
    run_id = _new_run_id(library, method, preset)
    run_dir = library.path / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    write_manifest(run_dir / MANIFEST_FILE, items)
    ckpt.save_config(run_dir, cfg)
    run = TrainingRun(id=run_id, method=method, preset=preset, status="prepared", created_at=time.time(),
                      dir=f"runs/{run_id}", config=asdict(cfg), metrics={"videos": len(items)})
    library.save_run(run)
    return run


# Files a run folder holds before :meth:`Library.save_run` records it (and temporary files).
_SETUP_FILES = frozenset({MANIFEST_FILE, "config.json"})


def sweep_unrecorded_runs(library: "Library") -> list[str]:
    """Delete the folders a train killed inside :func:`prepare_run` left: under ``runs/``,
    not recorded, holding nothing but a manifest, a config and temporary files. A folder
    with anything else (weights, checkpoints, a user's file) is never touched. Call it
    holding the library's writing lock. Returns the names deleted."""
    import shutil

    runs = library.path / "runs"
    if not runs.is_dir():
        return []
    recorded = {Path(r.dir).name for r in library.runs()}
    swept = []
    for folder in sorted(runs.iterdir()):
        if folder.name in recorded or folder.is_symlink() or not folder.is_dir():
            continue
        names = [p for p in folder.rglob("*")]
        if all(p.is_file() and not p.is_symlink() and p.parent == folder
               and (p.name in _SETUP_FILES or (p.name.startswith(".") and p.name.endswith(".tmp")))
               for p in names):
            shutil.rmtree(folder)
            swept.append(folder.name)
    return swept


# ----------------------------------------------------------------- helpers


def training_items(library: "Library") -> list["ClipItem"]:
    """The manifest a new run would train on: imported videos with a cache entry, one per content."""
    return _items(library, dedupe=True)[1]


def _items(library: "Library", dedupe: bool) -> tuple[list["Video"], list["ClipItem"]]:
    from reelscope.training.data import ClipItem

    cache = library.cache
    videos, items, seen = [], [], set()
    for v in library.videos():
        if not v.content_hash or not cache.has(v.content_hash):
            continue
        if dedupe and v.content_hash in seen:
            continue  # the same file twice would be its own negative
        seen.add(v.content_hash)
        videos.append(v)
        items.append(ClipItem(v.id, str(cache.frames_path(v.content_hash)), str(cache.mel_path(v.content_hash)),
                              tuple(v.frame_times), v.duration))
    return videos, items


def _new_run_id(library: "Library", method: str, preset: str) -> str:
    base = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-{method}-{preset}"
    taken = {r.id for r in library.runs()}
    run_id, n = base, 2
    while run_id in taken or (library.path / "runs" / run_id).exists():
        run_id, n = f"{base}-{n}", n + 1
    return run_id


def find_unfinished_run(library: "Library", run_id: Optional[str], method: str, preset: str
                        ) -> Optional[TrainingRun]:
    """The run ``train(resume=True)`` continues: ``run_id``'s, else the newest unfinished run
    of ``method`` and ``preset`` whose folder is still there (None: a new run)."""
    if run_id is not None:
        return library.run(run_id)
    for run in reversed(library.runs()):
        if run.method == method and run.preset == preset and run.status in UNFINISHED:
            if (library.path / run.dir / MANIFEST_FILE).exists():
                return run
    return None


def _trained_run(library: "Library", run_id: Optional[str]) -> TrainingRun:
    from reelscope.training.checkpoint import WEIGHTS_FILE

    return library.resolve_run(run_id, WEIGHTS_FILE, "trained weights",
                               "run 'reelscope train' (to the end) first")


def _save(library: "Library", run: TrainingRun, **changes: Any) -> TrainingRun:
    from dataclasses import replace

    run = replace(run, **changes)
    library.save_run(run)
    return run


class _ProgressAdapter:
    """Training events -> core :class:`Progress` events (checkpoints become messages of the train bar)."""

    def __init__(self, progress: Optional[ProgressCallback]) -> None:
        self._progress = progress
        self._last_train: Optional[Progress] = None

    def __call__(self, event: "TrainEvent") -> None:
        if self._progress is None:
            return
        if event.stage in ("prepare", "checkpoint"):
            last = self._last_train
            self._progress(Progress(
                "train", last.done if last else 0, last.total if last else event.total,
                "checkpoint saved" if event.stage == "checkpoint" else event.message,
                last.eta_s if last else None, dict(last.metrics) if last else {},
            ))
            return
        out = Progress(event.stage, event.done, event.total, event.message, event.eta_s, dict(event.metrics))
        if event.stage == "train":
            self._last_train = out
        self._progress(out)
