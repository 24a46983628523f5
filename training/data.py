"""The data pipeline: clip-cache arrays in, raw views and augmentation parameters out.

What training reads is a *manifest*: one :class:`ClipItem` per video naming its
frames file (uint8 [T, S, S, 3] .npy) and log-mel file (float16 [M, A] .npy).
The training package knows nothing of libraries; ``reelscope.core.encoding.train``
writes the manifest from the library's clip cache.

Per sample the loader does only cheap work — slicing two clips and two audio
windows out of (memory-mapped or preloaded) arrays and drawing augmentation
parameters — so it keeps up with the model; the augmentations themselves run
batched on the training device (:mod:`.views`). Every random choice for video
``i`` in epoch ``e`` comes from a generator seeded with ``(seed, e, i)``, so a
sample looks the same whatever the batch size, worker count, DDP rank or resume
point: that is what makes resuming exact.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Sequence

import numpy as np
from torch.utils.data import Dataset, DistributedSampler

from reelscope.training.files import write_text_atomic

from reelscope.training import augment_audio, augment_video
from reelscope.training.config import DataStats, TrainConfig


@dataclass(frozen=True)
class ClipItem:
    """One video's cache entry. ``frame_times`` (s) of the cached frames, when known."""

    id: str
    frames: str
    mel: str
    frame_times: tuple[float, ...] = ()
    duration: Optional[float] = None


def write_manifest(path: Path, items: Sequence[ClipItem]) -> None:
    write_text_atomic(path, json.dumps([asdict(i) for i in items]))


def read_manifest(path: Path) -> list[ClipItem]:
    rows = json.loads(Path(path).read_text())
    return [ClipItem(r["id"], r["frames"], r["mel"], tuple(r.get("frame_times") or ()), r.get("duration")) for r in rows]


class ClipStore:
    """The cache arrays of a manifest: memory-mapped per access, or all in RAM when small.

    Memory maps are opened per access rather than kept: a library of 290k videos
    would otherwise exceed the kernel's limit on mappings per process.
    """

    def __init__(self, items: Sequence[ClipItem], preload: bool = False, mel_rate: float = 100.0) -> None:
        self.items = list(items)
        self.mel_rate = mel_rate
        if not self.items:
            raise ValueError("no videos to train on: the manifest is empty")
        first = np.load(self.items[0].frames, mmap_mode="r")
        self.frame_shape = tuple(first.shape)  # (T, S, S, 3)
        self.n_mels = int(np.load(self.items[0].mel, mmap_mode="r").shape[0])
        self._frames: Optional[np.ndarray] = None
        self._mels: Optional[list[np.ndarray]] = None
        if preload:
            self._frames = np.stack([self._load_frames(i) for i in range(len(self.items))])
            self._mels = [np.load(it.mel) for it in self.items]

    def __len__(self) -> int:
        return len(self.items)

    @property
    def preloaded(self) -> bool:
        return self._frames is not None

    def _load_frames(self, i: int) -> np.ndarray:
        arr = np.load(self.items[i].frames, mmap_mode="r")
        if tuple(arr.shape) != self.frame_shape:
            raise ValueError(
                f"clip cache entry {self.items[i].frames} has shape {arr.shape}, expected "
                f"{self.frame_shape}; the cache mixes specs, re-import to rebuild it"
            )
        return arr

    def frames(self, i: int) -> np.ndarray:
        """uint8 [T, S, S, 3] (a memory map unless preloaded)."""
        return self._frames[i] if self._frames is not None else self._load_frames(i)

    def mel(self, i: int) -> np.ndarray:
        """float16 [M, A]; A may be 0 (no audio)."""
        return self._mels[i] if self._mels is not None else np.load(self.items[i].mel, mmap_mode="r")

    def nbytes_estimate(self) -> int:
        first_mel = np.load(self.items[0].mel, mmap_mode="r")
        return len(self.items) * (int(np.prod(self.frame_shape)) + first_mel.nbytes)

    def frame_times(self, i: int) -> np.ndarray:
        """Seconds of each cached frame: recorded, or spread evenly over the duration."""
        t = self.frame_shape[0]
        item = self.items[i]
        if len(item.frame_times) == t:
            return np.asarray(item.frame_times, np.float64)
        duration = item.duration or self.mel(i).shape[1] / self.mel_rate
        return (np.arange(t) + 0.5) / t * duration


def measure_stats(store: ClipStore, max_items: int = 256, mel_rate: float = 100.0, f_max: float = 8000.0) -> DataStats:
    """Mean, std and floor of the log-mel values over (up to) ``max_items`` videos, spread evenly.

    The clip cache stores natural-log power (``units_per_ln`` 1); a cache in
    decibels would set ``units_per_ln`` = 10 / ln(10) in the config instead.
    """
    picks = np.unique(np.linspace(0, len(store) - 1, min(max_items, len(store))).round().astype(int))
    chunks = [np.asarray(store.mel(int(i))[:, ::4], np.float32).ravel() for i in picks]
    values = np.concatenate([c for c in chunks if c.size] or [np.zeros(1, np.float32)])
    std = float(values.std()) if values.size > 1 else 1.0
    return DataStats(
        mean=float(values.mean()),
        std=max(std, 1e-3),
        floor=float(values.min()),
        n_mels=store.n_mels,
        mel_rate=mel_rate,
        f_max=f_max,
        cache_frames=store.frame_shape[0],
        measured=True,
    )


def clip_layout(cfg: TrainConfig, cache_frames: int) -> tuple[int, int, int]:
    """(frames per clip, stride, number of possible start frames) for this cache."""
    frames = min(cfg.clip_frames, cache_frames)
    stride = max(1, min(cfg.frame_stride, (cache_frames - 1) // max(frames - 1, 1)))
    span = (frames - 1) * stride + 1
    return frames, stride, cache_frames - span + 1


def clip_at(frames: np.ndarray, times: np.ndarray, start: int, clip_frames: int, stride: int,
            mel_rate: float) -> tuple[np.ndarray, float]:
    """The clip of ``clip_frames`` frames from ``start`` (a copy: memory maps are read-only)
    and its centre in mel frames, where its audio window goes."""
    span = slice(start, start + (clip_frames - 1) * stride + 1, stride)
    return np.array(frames[span]), float(times[span].mean()) * mel_rate


def audio_window(mel: np.ndarray, centre: float, length: int, floor: float) -> np.ndarray:
    """float16 [M, length] around frame ``centre``; silence (``floor``) where there is no audio."""
    m, a = mel.shape
    start = int(round(centre - length / 2))
    out = np.full((m, length), floor, np.float16)
    lo, hi = max(start, 0), min(start + length, a)
    if hi > lo:
        out[:, lo - start : hi - start] = mel[:, lo:hi]
    return out


class TrainViews(Dataset):
    """Key ``(epoch, index)`` -> two views of one video, raw, with their augmentation parameters.

    Returns a dict of numpy arrays (default-collated into tensors):
    ``frames`` uint8 [2, Tc, S, S, 3]; ``mel`` float16 [2, M, Ls]; ``has_audio`` bool;
    ``index`` int; ``v_<name>`` / ``a_<name>`` float32 [2, ...] per augmentation.
    """

    def __init__(self, store: ClipStore, cfg: TrainConfig) -> None:
        self.store, self.cfg = store, cfg
        self.clip_frames, self.stride, self.starts = clip_layout(cfg, store.frame_shape[0])
        self.window = augment_audio.source_frames(cfg.audio_frames, cfg.audio_aug)

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        epoch, i = key
        cfg, store = self.cfg, self.store
        rng = np.random.default_rng([cfg.seed, epoch, i])
        first = int(rng.integers(self.starts))
        second = first
        if self.starts > 1 and rng.random() < cfg.video_aug.time_shift:
            # A clip at another time of the same video, never the same start.
            second = int((first + 1 + rng.integers(self.starts - 1)) % self.starts)
        frames = store.frames(i)
        times = store.frame_times(i)
        mel = store.mel(i)
        out: dict[str, Any] = {"index": i, "has_audio": mel.shape[1] > 0}
        clips, windows, vparams, aparams = [], [], [], []
        for start in (first, second):
            clip, centre = clip_at(frames, times, start, self.clip_frames, self.stride, cfg.stats.mel_rate)
            clips.append(clip)
            centre += rng.uniform(-1, 1) * cfg.audio_aug.offset * cfg.stats.mel_rate
            windows.append(audio_window(mel, centre, self.window, cfg.stats.floor))
            vparams.append(augment_video.sample_params(rng, cfg.video_aug))
            aparams.append(augment_audio.sample_params(rng, cfg.audio_aug))
        out["frames"] = np.stack(clips)
        out["mel"] = np.stack(windows)
        for prefix, params in (("v_", vparams), ("a_", aparams)):
            for name in params[0]:
                out[prefix + name] = np.stack([p[name] for p in params])
        return out


class EmbedViews(Dataset):
    """Index -> the deterministic views used for embeddings: ``cfg.embed_clips`` clips, their audio.

    The clips' start frames are spread evenly over the cache (one clip: the centre
    one), so together they cover the whole video; each clip's audio window is
    centred on it. ``frames`` uint8 [K, Tc, S, S, 3]; ``mel`` float16 [K, M, audio_frames];
    ``has_audio`` bool.
    """

    def __init__(self, store: ClipStore, cfg: TrainConfig) -> None:
        self.store, self.cfg = store, cfg
        self.clip_frames, self.stride, self.starts = clip_layout(cfg, store.frame_shape[0])
        self.clip_starts = embed_starts(self.starts, cfg.embed_clips)

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, i: int) -> dict[str, Any]:
        mel = self.store.mel(i)
        frames, times = self.store.frames(i), self.store.frame_times(i)
        clips, windows = [], []
        for start in self.clip_starts:
            clip, centre = clip_at(frames, times, start, self.clip_frames, self.stride, self.cfg.stats.mel_rate)
            clips.append(clip)
            windows.append(audio_window(mel, centre, self.cfg.audio_frames, self.cfg.stats.floor))
        return {"index": i, "frames": np.stack(clips), "mel": np.stack(windows), "has_audio": mel.shape[1] > 0}


def embed_starts(starts: int, clips: int) -> list[int]:
    """``clips`` start frames spread evenly over ``starts`` possible ones; one clip: the centre."""
    if clips <= 1 or starts <= 1:
        return [(starts - 1) // 2]
    return sorted({int(round(x)) for x in np.linspace(0, starts - 1, min(clips, starts))})


class EpochBatches:
    """The batch sampler: this rank's batches of ``(epoch, index)`` keys, from a resume
    position on, epoch after epoch without end.

    Shuffling and sharding are DistributedSampler's (permutation seeded by seed +
    epoch, rank r takes every world-th index, tail dropped so ranks stay in step);
    ``set_position(epoch, start_batch)`` skips batches already trained on before an
    interruption. With world = 1 the batches are ``perm[k*B:(k+1)*B]``; with world = W
    and per-rank batch B/W the union of the ranks' k-th batches is that same set, so
    DDP sees the same global batches. The batches run on across epoch boundaries, so
    a loader keeps preparing them through an epoch's end; the consumer counts
    :meth:`batches_per_epoch` to know where an epoch ends.
    """

    def __init__(self, n: int, batch_per_rank: int, world: int = 1, rank: int = 0, seed: int = 0) -> None:
        self.sampler = DistributedSampler(
            range(n), num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=True
        )
        self.batch = batch_per_rank
        self.epoch, self.start = 0, 0

    def batches_per_epoch(self) -> int:
        return len(self.sampler) // self.batch

    def set_position(self, epoch: int, start_batch: int = 0) -> None:
        """Where the next iteration starts: batch ``start_batch`` of ``epoch``."""
        self.epoch, self.start = epoch, start_batch

    def epoch_batches(self, epoch: int, start_batch: int = 0) -> Iterator[list[tuple[int, int]]]:
        self.sampler.set_epoch(epoch)
        order = list(self.sampler)
        for k in range(start_batch, self.batches_per_epoch()):
            yield [(epoch, i) for i in order[k * self.batch : (k + 1) * self.batch]]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        epoch, start = self.epoch, self.start
        while True:
            yield from self.epoch_batches(epoch, start)
            epoch, start = epoch + 1, 0


_END = object()


class Prefetched:
    """Iterate ``source`` in a background thread, up to ``depth`` items ahead.

    With no loader workers (a preloaded library on a small CPU) the next batch is
    sliced and collated while the model trains on this one, instead of after it;
    with workers it hides their start-up. The thread starts at the first ``next()``,
    so a stream never read costs nothing. An exception in ``source`` is raised from
    ``next()``, and again from any later call, as is the end. ``close()`` (or leaving
    a ``with`` block) stops the thread.
    """

    def __init__(self, source: Iterable[Any], depth: int = 2) -> None:
        self._queue: queue.Queue[tuple[Any, Optional[BaseException]]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source,), name="reelscope-prefetch", daemon=True)
        self._last: Optional[tuple[Any, Optional[BaseException]]] = None  # the end or the error, once seen

    def _put(self, entry: tuple[Any, Optional[BaseException]]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, source: Iterable[Any]) -> None:
        try:
            for item in source:
                if not self._put((item, None)):
                    return
            self._put((_END, None))
        except BaseException as error:  # handed to the consumer, raised there
            self._put((None, error))

    def __iter__(self) -> "Prefetched":
        return self

    def __next__(self) -> Any:
        if self._thread.ident is None:  # not started yet
            self._thread.start()
        item, error = self._last or self._queue.get()
        if error is not None or item is _END:
            self._last = (item, error)
            if error is not None:
                raise error
            raise StopIteration
        return item

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.1)  # unblock a put in progress
            except queue.Empty:
                pass

    def __enter__(self) -> "Prefetched":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
