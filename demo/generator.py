"""The demo library: a folder of synthetic short videos with TikTok-style metadata and the
ground truth that analytics should recover from it, generated offline from one seed.

``generate_demo(folder)`` writes::

    <folder>/videos/<id>.mp4        H.264 + AAC, vertical, 19-digit TikTok-like ids
    <folder>/metadata.json          a JSON list of TikTokApi item dicts
    <folder>/ground_truth.json      what each video really is, the likes formula, bad files
    <folder>/.demo-spec.json        the DemoSpec the folder was made with (hidden)

The world behind it (authors, trending sounds and their rise and fall, who posts what
when, how many likes it gets) is planned by :mod:`reelscope.demo.world` in the calling
process from the seed; pictures come from :mod:`reelscope.demo.video`, sounds from
:mod:`reelscope.demo.audio`. Files are rendered in worker processes, each written
under a hidden temporary name and renamed, so an interrupted run resumes where it
stopped. docs/DEMO.md describes the content and the ground truth for users.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from reelscope.demo.audio import SAMPLE_RATE, AudioPlan, draw_audio_plan, render_audio
from reelscope.demo.video import VisualPlan, render_frames
from reelscope.demo.world import BAD_KINDS, DemoSpec, World, spec_record
from reelscope.core.progress import CancelToken, ProgressCallback, Reporter
from reelscope.core.workers import worker_pool
from reelscope.training.files import write_bytes_atomic

__all__ = ["DemoSpec", "DemoLibrary", "BAD_KINDS", "generate_demo"]

SERIAL_BELOW = 20  # fewer videos than this render in-process: a pool costs more than it saves
# One thread per file (files run in parallel); scenecut=0 keeps exactly one keyframe a
# second; cpu-independent=1 because x264's SIMD lookahead otherwise reads uninitialised
# bytes past the picture and the same frames encode differently from run to run.
X264_OPTIONS = {"preset": "veryfast", "threads": "1", "x264-params": "scenecut=0:cpu-independent=1"}


@dataclass
class DemoLibrary:
    """Where a generated demo lives. ``bad_files`` are the planted broken inputs,
    including the path of the one metadata row whose file is missing."""

    folder: Path
    videos_dir: Path
    metadata_path: Path
    ground_truth_path: Path
    bad_files: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class _Job:
    """One media file to write: a good video, or a real one broken on purpose."""

    path: str
    kind: str  # "video" | "truncated" | "audio_only"
    visual: VisualPlan
    audio: AudioPlan


def generate_demo(
    folder: str | Path,
    spec: DemoSpec = DemoSpec(),
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    workers: Optional[int] = None,
) -> DemoLibrary:
    """Generate (or finish generating) the demo library in ``folder``.

    Re-running with the same spec skips every file already complete; a different
    spec in a non-empty demo folder is refused rather than mixed in. Raises
    :class:`~reelscope.core.progress.Cancelled` when ``cancel`` is set; files
    finished so far are kept. ``workers`` defaults to the CPU count.
    """
    if spec.videos < 1 or spec.min_s <= 0 or spec.max_s < spec.min_s:
        raise ValueError(f"invalid demo spec: {spec}")
    if spec.width % 2 or spec.height % 2:
        raise ValueError("width and height must be even for H.264 4:2:0")
    folder = Path(folder)
    videos_dir = folder / "videos"
    videos_dir.mkdir(parents=True, exist_ok=True)
    _claim_folder(folder, spec)
    world = World(spec)
    for stale in videos_dir.glob(".*.partial"):  # left by a killed run
        stale.unlink(missing_ok=True)

    for item in world.bad:
        path = videos_dir / f"{item['id']}.mp4"
        if item["kind"] == "empty" and not path.exists():
            path.touch()
        elif item["kind"] == "not_media" and not path.exists():
            write_bytes_atomic(path, b"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head>"
                                b"<body><h1>Access denied</h1></body></html>\n")
    jobs = _jobs(world, videos_dir)
    todo = [job for job in jobs if not Path(job.path).exists()]
    reporter = Reporter("generate demo", len(jobs), progress, cancel, done=len(jobs) - len(todo))
    reporter.update(message=f"{len(jobs) - len(todo)} already complete" if len(todo) < len(jobs) else "")
    _run(todo, reporter, workers)

    metadata_path, truth_path = folder / "metadata.json", folder / "ground_truth.json"
    write_bytes_atomic(metadata_path, _dumps(world.metadata()))
    write_bytes_atomic(truth_path, _dumps(world.ground_truth()))
    return DemoLibrary(folder, videos_dir, metadata_path, truth_path,
                       [videos_dir / f"{b['id']}.mp4" for b in world.bad])


def _jobs(world: World, videos_dir: Path) -> list[_Job]:
    """Every media file of ``world``: each post's video, then the real files broken on purpose."""
    out = [_Job(str(videos_dir / f"{p['id']}.mp4"), "video", p["visual"], p["audio"]) for p in world.posts]
    for item in world.bad:
        if item["kind"] in ("truncated", "audio_only"):
            post = item["post"]
            audio = post["audio"]
            if item["kind"] == "audio_only" and audio.kind == "none":
                audio = draw_audio_plan(np.random.default_rng([world.spec.seed, 3]), "original", None)
            out.append(_Job(str(videos_dir / f"{post['id']}.mp4"), item["kind"], post["visual"], audio))
    return out


# ------------------------------------------------------------- writing
def _run(jobs: list[_Job], reporter: Reporter, workers: Optional[int]) -> None:
    """Render ``jobs``, in a process pool when there are many; progress after each file."""
    if not jobs:
        return
    n = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    if n == 1 or len(jobs) < SERIAL_BELOW:
        for job in jobs:
            reporter.check()
            _make_file(job)
            reporter.step(message=Path(job.path).name)
        return
    pool = worker_pool(n)
    try:
        pending: set[Future] = {pool.submit(_make_file, job) for job in jobs}
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                reporter.step(message=Path(future.result()).name)
            reporter.check()  # notice a cancel even while a slow file renders
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # running files finish and are kept
        raise
    pool.shutdown(wait=True)


def _make_file(job: _Job) -> str:
    """Render and encode one file under a hidden temporary name, then rename it into place."""
    final = Path(job.path)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.partial")
    v = job.visual
    audio = render_audio(job.audio, v.frames / v.fps)
    from reelscope.demo.videowriter import write_video

    write_video(tmp, render_frames(v), v.fps, audio=audio, sample_rate=SAMPLE_RATE, gop=v.fps,
                options=X264_OPTIONS, container_format="mp4")
    if job.kind == "truncated":
        data = tmp.read_bytes()
        tmp.write_bytes(data[: len(data) // 2])
    elif job.kind == "audio_only":
        _keep_audio_only(tmp)
    os.replace(tmp, final)
    return str(final)


def _keep_audio_only(path: Path) -> None:
    """Remux ``path`` with its audio stream alone (packets copied, nothing re-encoded)."""
    import av

    out_path = path.with_name(path.name.replace(".partial", ".audio.partial"))  # swept like the rest
    with av.open(str(path)) as src, av.open(str(out_path), "w", format="mp4") as dst:
        stream = dst.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux(src.streams.audio[0]):
            if packet.dts is None:
                continue
            packet.stream = stream
            dst.mux(packet)
    os.replace(out_path, path)


def _claim_folder(folder: Path, spec: DemoSpec) -> None:
    """Record the spec in ``folder``; refuse a folder already holding a different demo."""
    marker = folder / ".demo-spec.json"
    wanted = json.dumps(spec_record(spec), sort_keys=True)
    if marker.exists():
        found = marker.read_text()
        if json.loads(found) != json.loads(wanted):
            raise ValueError(f"{folder} holds a demo made with {found.strip()}, not {wanted}; "
                             "use an empty folder or the same spec")
        return
    if any((folder / "videos").glob("*.mp4")):
        raise ValueError(f"{folder / 'videos'} already holds videos that are not from a demo")
    write_bytes_atomic(marker, wanted.encode())




def _dumps(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _main(argv: Optional[list[str]] = None) -> None:
    """``python -m reelscope.demo.generator FOLDER [--videos N] [--seed S] [--hard]``: generate, print the time."""
    import argparse
    import resource
    import time

    parser = argparse.ArgumentParser(prog="python -m reelscope.demo.generator", description=_main.__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--videos", type=int, default=DemoSpec.videos)
    parser.add_argument("--seed", type=int, default=DemoSpec.seed)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--hard", action="store_true", help="the harder variant (see DemoSpec.hard)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    demo = generate_demo(args.folder, DemoSpec(videos=args.videos, seed=args.seed, hard=args.hard),
                         workers=args.workers)
    wall = time.perf_counter() - started
    cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    print(f"{args.videos} videos in {demo.videos_dir}: {wall:.1f} s wall, {cpu:.1f} s CPU "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    _main()
