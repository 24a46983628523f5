"""Jobs that run in a child process, so their work never competes with the window for
Python's GIL: analysis (scikit-learn), embedding and predicting (torch), reports,
the embedding map. A thread in the window would hold the GIL through long C calls and
through torch's import, freezing the window for up to a second at a time (bench/gui.py
measured it); a process cannot.

Everything here is Qt-free and picklable: :func:`run_in_child` is the child's entry
point (``multiprocessing`` spawn), and each job is a module-level function
``job(progress, cancel, **arguments)`` bound with ``functools.partial``. The child sends
``("progress", event)``, then one of ``("succeeded", value)``, ``("failed", (message,
details))`` or ``("cancelled", partial)`` back through a queue; the window sets a shared
event to cancel, and the child also stops by itself when the window's process is gone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from reelscope.core.progress import CancelToken, Cancelled


CHILD_NICENESS = 10  # as the training child (desktop/training_process.py)


class ChildCancel(CancelToken):
    """Set by the window (a multiprocessing event), or by the window dying."""

    def __init__(self, event: Any, parent_pid: int) -> None:
        super().__init__()
        self._shared = event
        self._parent = parent_pid

    def cancel(self) -> None:
        self._shared.set()

    @property
    def cancelled(self) -> bool:
        return self._shared.is_set() or os.getppid() != self._parent

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise Cancelled("cancelled by the user" if self._shared.is_set() else "the window closed")


def run_in_child(fn: Any, queue: Any, event: Any, parent_pid: int) -> None:
    """The child process: run ``fn(progress, cancel)`` and report through ``queue``."""
    from reelscope.desktop.messages import details_of, message_of

    if hasattr(os, "nice"):
        os.nice(CHILD_NICENESS)  # background work yields the CPU to the window
    token = ChildCancel(event, parent_pid)
    try:
        result = fn(lambda e: queue.put(("progress", e)), token)
    except Cancelled as exc:
        queue.put(("cancelled", exc.partial))
    except BaseException as exc:  # noqa: BLE001 - every failure reaches the window as a message
        queue.put(("failed", (message_of(exc), details_of(exc))))
    else:
        queue.put(("succeeded", result))


# --------------------------------------------------------------------- the jobs
def analyze_job(progress: Any, cancel: Any, *, library: Path, run_id: Optional[str] = None,
                split: Optional[str] = None, coverage: Optional[float] = None,
                kind: str = "fused") -> str:
    """``reelscope analyze``; returns the run id analysed."""
    from reelscope.core.analytics.analyze import analyze
    from reelscope.core.store.library import Library

    options = {k: v for k, v in (("split", split), ("coverage", coverage)) if v is not None}
    with Library.open(library) as lib:
        return analyze(lib, run_id, kind=kind, progress=progress, cancel=cancel, **options).run_id


def finish_training_job(progress: Any, cancel: Any, *, library: Path, run_id: str, device: str = "auto",
                        split: Optional[str] = None, coverage: Optional[float] = None) -> str:
    """After the training child: record the run and embed every video (``train`` on a run
    whose steps are all done trains none again), then analyse it. Returns the run id."""
    from reelscope.core.encoding.train import train

    with _open(library) as lib:
        run = train(lib, run_id=run_id, resume=True, device=device, progress=progress, cancel=cancel)
    return analyze_job(progress, cancel, library=library, run_id=run.id, split=split, coverage=coverage)


def evaluate_job(progress: Any, cancel: Any, *, library: Path, label: Optional[str] = None) -> Any:
    """``reelscope evaluate`` (read-only); returns the typed Evaluation."""
    from reelscope.core.analytics.evaluate import evaluate_library
    from reelscope.core.store.library import Library

    with Library.open(library, read_only=True) as lib:
        return evaluate_library(lib, label=label, progress=progress, cancel=cancel)


def _open(library: Path) -> Any:
    from reelscope.core.store.library import Library

    return Library.open(library)


def map_job(progress: Any, cancel: Any, *, library: Path, run_id: Optional[str]) -> Any:
    """Compute and store the run's t-SNE embedding map."""
    from reelscope.core.analytics.embedding_map import compute_map

    with _open(library) as lib:
        return compute_map(lib, run_id, progress=progress, cancel=cancel)


def export_job(progress: Any, cancel: Any, *, library: Path, fmt: str, what: str, out: Path,
               run_id: Optional[str]) -> Path:
    """core's ``write_report`` (PDF/HTML, by the suffix) or ``export`` (CSV) into ``out``;
    returns ``out``. Core writes atomically; a file finished just as the job was cancelled
    is removed too, so a cancelled export leaves nothing new behind."""
    existed = out.exists()
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _open(library) as lib:
            if fmt == "csv":
                from reelscope.core.report.export import export

                export(lib, what, out, run_id, progress=progress, cancel=cancel)
            else:
                from reelscope.core.report.content import write_report

                write_report(lib, out, run_id, progress=progress, cancel=cancel)
            cancel.raise_if_cancelled()
    except Cancelled:
        if not existed:
            out.unlink(missing_ok=True)
        raise
    return out


def predict_job(progress: Any, cancel: Any, *, library: Path, files: list[str], run_id: Optional[str],
                author: dict[str, Optional[int]], add: bool) -> tuple[list[dict[str, Any]], bool]:
    """core's predict on ``files`` (``add``: and keep them); returns (results, analysed)
    where ``analysed`` says the run had to be analysed first (the library changed)."""
    from reelscope.core.analytics.analyze import load_analysis
    from reelscope.core.analytics.predict import predict_files

    with _open(library) as lib:
        analysed = load_analysis(lib, run_id) is None
        out = predict_files(lib, list(files), run_id, author=author, add=add, progress=progress, cancel=cancel)
    return out, analysed


def prepare_training_job(progress: Any, cancel: Any, *, library: Path, new: bool, run_id: Optional[str],
                         method: str, preset: str, epochs: Optional[int], time_budget_min: Optional[float],
                         device: str) -> Any:
    """The run the training child will train: the unfinished one of ``method`` and
    ``preset`` (or ``run_id``'s), else a newly prepared one (it loads torch: a child's job)."""
    from reelscope.core.encoding.train import find_unfinished_run, prepare_run
    from reelscope.core.progress import Progress

    progress(Progress("prepare", 0, None, "preparing the run"))
    with _open(library) as lib, lib.writing("train"):
        run = None if new else find_unfinished_run(lib, run_id, method, preset)
        if run is None:
            run = prepare_run(lib, method, preset, epochs, time_budget_min, device)
        return run


def import_job(progress: Any, cancel: Any, *, library: Path, folders: list[Path], files: list[Path],
               metadata: Optional[Path], create: bool, file_timeout: float) -> Any:
    """Import ``folders`` and ``files`` (creating the library when ``create``); returns the
    last ImportReport, and a cancel raises Cancelled with the report so far."""
    from reelscope.core.ingest import import_files, import_folder
    from reelscope.core.store.library import Library

    opener = Library.open_or_create if create else Library.open
    with opener(library) as lib:
        report = None
        for folder in folders:
            report = import_folder(lib, folder, metadata, progress=progress, cancel=cancel, file_timeout=file_timeout)
        if files:
            report = import_files(lib, list(files), metadata, progress=progress, cancel=cancel,
                                  file_timeout=file_timeout)
        return report


def rescan_job(progress: Any, cancel: Any, *, library: Path, file_timeout: float) -> Any:
    """Import every folder imported before again; returns the last report (or None)."""
    from reelscope.core.ingest.maintain import rescan

    with _open(library) as lib:
        return rescan(lib, progress, cancel, file_timeout)


def build_demo_job(progress: Any, cancel: Any, *, root: Path, videos: int, seed: int = 0, drafts: int = 5) -> str:
    """Generate the demo library's videos under ``root`` and import them, holding back a
    few drafts as ``reelscope demo`` does; returns the library's path."""
    from reelscope.core.ingest import import_files
    from reelscope.core.ingest.importer import find_media
    from reelscope.core.store.library import Library
    from reelscope.demo.drafts import hold_back_drafts
    from reelscope.demo.generator import DemoSpec, generate_demo

    demo = generate_demo(root / "source", DemoSpec(videos=videos, seed=seed), progress=progress, cancel=cancel)
    with Library.open_or_create(root / "library") as lib:
        metadata = root / "library-metadata.json"
        held = set(hold_back_drafts(demo, lib, drafts, metadata))
        media = [p for p in find_media(demo.videos_dir) if p not in held]
        import_files(lib, media, metadata, progress=progress, cancel=cancel)
        return str(lib.path)


def similar_file_job(progress: Any, cancel: Any, *, library: Path, file: Path, kind: str, k: int,
                     run_id: Optional[str]) -> tuple[str, list[tuple[str, float]], Optional[bytes], bool]:
    """What ``reelscope similar FILE`` does: embed the file with the run's encoder (torch:
    a child's job), then ask the index for its neighbours — by sound, the note matcher's
    when the analysis has one. Reads only. Returns (run id, [(video id, score)], the
    file's thumbnail JPEG or None, whether the sound's notes were matched)."""
    from reelscope.core.analytics.data import resolve_run
    from reelscope.core.analytics.predict import embed_files
    from reelscope.core.analytics.similar import similar_videos
    from reelscope.core.analytics.sound_similar import similar_by_sound
    from reelscope.core.store.library import Library

    with Library.open(library, read_only=True) as lib:
        resolved = resolve_run(lib, run_id)
        item = embed_files(lib, resolved.id, [file], progress, cancel)[0]
        if isinstance(item, str):
            raise ValueError(item)
        cancel.raise_if_cancelled()
        decoded, vectors = item
        hits = similar_by_sound(lib, Path(file), k, resolved.id) if kind == "audio" else None
        matched = hits is not None
        if hits is None:
            hits = similar_videos(lib, vectors[kind], k, run_id=resolved.id, kind=kind)
        return (resolved.id, [(str(v), float(s)) for v, s in hits],
                getattr(decoded, "thumbnail_jpeg", None) or None, matched)
