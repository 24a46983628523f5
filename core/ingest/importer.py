"""Import a folder of videos and their metadata into a library, in parallel and resumably.

The main process is the only database writer. Worker processes hash, probe and
decode each file and write its clip-cache entry (atomic renames); the main
process then records the video in one short transaction. Because a cache entry
is complete before its row exists and a row is written in one transaction, a
SIGKILL at any moment loses at most the files in flight: the next run skips
every unchanged file already recorded (same path, size and mtime) and rebuilds
rows for files whose cache entry exists without decoding them again.
"""

from __future__ import annotations

import hashlib
import json
import signal
import os
import stat
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

from reelscope.core.store.clipcache import CacheSpec, ClipCache
from reelscope.training.files import write_bytes_atomic
from reelscope.core.store.library import Library
from reelscope.core.store.lock import writing_job
from reelscope.core.store.models import Problem
from reelscope.core.progress import CancelToken, Cancelled, ProgressCallback, Reporter
from reelscope.core.workers import worker_pool
from reelscope.training import faults

VIDEO_EXTENSIONS = frozenset(
    ".mp4 .m4v .mov .webm .mkv .avi .3gp .3g2 .ts .mts .m2ts .flv .ogv .ogg .mpg .mpeg "
    ".wmv .asf .m4a".split()
)
METADATA_EXTENSIONS = frozenset({".json", ".jsonl", ".ndjson", ".csv", ".tsv"})
JOB = "import"
FILE_TIMEOUT_S = 300.0  # per file; a normal short video takes well under a second


@dataclass
class ImportReport:
    """What an import did, and the state of the library after it."""

    library: str
    new: int = 0  # videos decoded and recorded by this run
    skipped: int = 0  # unchanged files already recorded
    failed: int = 0  # files that failed in this run
    imported_total: int = 0  # videos usable in the library after this run
    failed_total: int = 0
    metadata_format: Optional[str] = None
    metadata_rows: int = 0
    errors: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)  # warnings: damaged packets, no metadata
    cancelled: bool = False
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "videos": {"imported": self.imported_total, "failed": self.failed_total},
            "this_run": {"new": self.new, "skipped": self.skipped, "failed": self.failed},
            "metadata": {"format": self.metadata_format, "rows": self.metadata_rows},
            "errors": [p.as_json() for p in self.errors],
            "warnings": [p.as_json() for p in self.notes],
            "cancelled": self.cancelled,
            "seconds": round(self.seconds, 3),
        }


def find_media(folder: Path) -> list[Path]:
    """Video files under ``folder`` (recursively, hidden folders and files skipped), sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in VIDEO_EXTENSIONS:
                found.append(Path(root) / name)
    return found


def find_metadata_files(folder: Path) -> list[Path]:
    """Candidate metadata files at the top of ``folder``."""
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in METADATA_EXTENSIONS
        and p.name != "ground_truth.json"
    )


def import_folder(
    library: Library,
    folder: str | Path,
    metadata: Optional[str | Path] = None,
    workers: Optional[int] = None,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    file_timeout: Optional[float] = FILE_TIMEOUT_S,
) -> ImportReport:
    """Import every video under ``folder`` and its metadata into ``library``.

    ``metadata`` names the metadata file; without it, JSON/CSV files at the top of
    ``folder`` are tried. Safe to run again at any time: finished work is skipped.
    A file whose decoding takes longer than ``file_timeout`` seconds is recorded as
    failed ("took longer than …") and the import goes on (None: no limit).
    """
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    candidates = [Path(metadata)] if metadata is not None else find_metadata_files(folder)
    source = {"folder": str(folder), "metadata": str(Path(metadata).resolve()) if metadata is not None else None}
    return _import(library, lambda: find_media(folder), candidates, metadata is not None,
                   workers, progress, cancel, file_timeout, source)


FOLDERS_SETTING = "import_folders"  # [{"folder": ..., "metadata": ... or None}], for a rescan


def imported_folders(library: Library) -> list[dict[str, Optional[str]]]:
    """The folders imported so far (``folder``, ``metadata``), oldest first."""
    return [e for e in (library.setting(FOLDERS_SETTING) or []) if isinstance(e, dict) and e.get("folder")]


def _remember_folder(library: Library, source: dict[str, Optional[str]]) -> None:
    entries = [e for e in imported_folders(library) if e.get("folder") != source["folder"]]
    library.set_setting(FOLDERS_SETTING, entries + [source])


def import_files(
    library: Library,
    paths: Sequence[str | Path],
    metadata: Optional[str | Path] = None,
    workers: Optional[int] = None,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    file_timeout: Optional[float] = FILE_TIMEOUT_S,
) -> ImportReport:
    """Import the given video files (and an optional metadata file), as :func:`import_folder` does."""
    files = [Path(p).resolve() for p in paths]
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"{f} is not a file")
    candidates = [Path(metadata)] if metadata is not None else []
    return _import(library, lambda: files, candidates, True, workers, progress, cancel, file_timeout)


@writing_job("import")
def _import(
    library: Library,
    list_media: Callable[[], list[Path]],
    metadata_files: list[Path],
    metadata_explicit: bool,
    workers: Optional[int],
    progress: Optional[ProgressCallback],
    cancel: Optional[CancelToken],
    file_timeout: Optional[float] = FILE_TIMEOUT_S,
    source: Optional[dict[str, Optional[str]]] = None,
) -> ImportReport:
    started = time.monotonic()
    report = ImportReport(library=str(library.path))
    if source is not None:
        _remember_folder(library, source)
    library.cache.ensure()
    library.cache.sweep_temp()  # only one import writes a library at a time

    known_ids = _import_metadata(library, metadata_files, metadata_explicit, report)
    media = list_media()
    plan, ids_for = _plan(library, media, known_ids, report)

    reporter = Reporter("import", len(media), progress, cancel, done=len(media) - len(plan))
    reporter.update(message="starting")
    try:
        _run_workers(library, plan, ids_for, reporter, report, workers, file_timeout)
    except Cancelled:
        report.cancelled = True
    _finish(library, report, known_ids)
    report.seconds = time.monotonic() - started
    if report.cancelled:  # what finished is kept: running it again resumes
        raise Cancelled("import cancelled; run it again to import the rest", partial=report)
    return report


# ----------------------------------------------------------------- metadata
def _import_metadata(
    library: Library, candidates: list[Path], explicit: bool, report: ImportReport
) -> set[str]:
    """Read and store metadata; a file the user named must be metadata, a guessed one may not be."""
    from reelscope.core.ingest.metadata import MetadataError, read_metadata

    for path in candidates:
        try:
            result = read_metadata(path)
        except MetadataError as exc:
            if explicit:
                raise
            library.record_problem(Problem("metadata", str(path), f"not used as metadata: {exc}",
                                           severity="warning"))
            continue
        except FileNotFoundError:
            raise FileNotFoundError(f"metadata file {path} does not exist") from None
        library.clear_problems("metadata", str(path))
        library.save_metadata(result.records)
        for problem in result.problems:
            library.record_problem(problem)
        report.metadata_format = report.metadata_format or result.format
        report.metadata_rows += len(result.records)
    return library.metadata_ids()


# --------------------------------------------------------------------- plan
def _plan(
    library: Library, media: list[Path], known_ids: set[str], report: ImportReport
) -> tuple[list[Path], dict[Path, str]]:
    """Files that need work, and the video id each file gets."""
    from reelscope.core.ingest.metadata import id_from_filename

    rows = library.import_state()
    path_of_id = {r["id"]: p for p, r in rows.items()}
    plan, ids_for = [], {}
    for path in media:
        key = str(path)
        try:
            st = path.stat()
        except OSError as exc:
            library.record_problem(Problem(JOB, key, f"cannot read file: {exc.strerror}"))
            continue
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block a decoder forever
            library.record_problem(Problem(JOB, key, "not a regular file (a pipe, socket or device "
                                           "named like a video); skipped"))
            continue
        row = rows.get(key)
        if row and row["status"] in ("ok", "failed") and row["size_bytes"] == st.st_size \
                and row["mtime_ns"] == st.st_mtime_ns and not _timed_out(row):
            report.skipped += 1
            continue
        video_id = (row["id"] if row else None) or id_from_filename(path.name, known_ids) or path.stem
        other = path_of_id.get(video_id)
        if other is not None and other != key:
            if _same_content(key, other, rows.get(other)):
                library.record_problem(Problem(JOB, key, f"duplicate of {other} (the same file "
                                               f"content, video {video_id!r}); skipped"))
                continue
            if video_id in known_ids:
                library.record_problem(Problem(
                    IDS_JOB, key, f"ambiguous metadata: the row for id {video_id!r} could describe "
                    f"{other} or this file; it stays with {other}, and this file is video "
                    f"{distinct_id(video_id, key)!r} without metadata", severity="warning"))
            video_id = distinct_id(video_id, key)
        path_of_id[video_id] = key
        ids_for[path] = video_id
        plan.append(path)
    return plan, ids_for


IDS_JOB = "ids"  # problems about which file gets which id (kept apart from a file's own)


def distinct_id(base: str, path: str) -> str:
    """The id of a file whose name gives an id that another file already has:
    ``<base>~<8 hex digits of its path's hash>``, stable for the same path. The first file
    (in the import's sorted order, or the one imported earlier) keeps ``base``, so
    libraries imported before this rule keep their ids (docs/METADATA.md)."""
    return f"{base}~{hashlib.sha1(path.encode('utf-8', 'surrogateescape')).hexdigest()[:8]}"


def _same_content(path: str, other: str, other_row: Optional[dict]) -> bool:
    """Whether two files hold the same bytes (only identical content is a duplicate)."""
    from reelscope.core.ingest.media import MediaError, content_hash

    try:
        mine = content_hash(path)
        theirs = (other_row or {}).get("content_hash") or content_hash(other)
    except MediaError:
        return False  # one cannot be read: not provably the same, so both are kept apart
    return mine == theirs


# ------------------------------------------------------------------ workers
def _run_workers(
    library: Library,
    plan: list[Path],
    ids_for: dict[Path, str],
    reporter: Reporter,
    report: ImportReport,
    workers: Optional[int],
    file_timeout: Optional[float] = FILE_TIMEOUT_S,
) -> None:
    if not plan:
        return
    n = max(1, min(workers or os.cpu_count() or 1, len(plan)))
    spec = library.cache.spec
    root = str(library.path)
    pending = list(reversed(plan))
    inflight: dict[Future, Path] = {}
    batch: list[tuple[Path, dict]] = []
    last_commit = time.monotonic()
    with worker_pool(n) as pool:
        try:
            while pending or inflight:
                while pending and len(inflight) < 3 * n:
                    path = pending.pop()
                    inflight[pool.submit(process_file, str(path), root, asdict(spec), file_timeout)] = path
                done, _ = wait(inflight, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    path = inflight.pop(fut)
                    try:
                        result = fut.result()
                    except Exception as exc:  # a worker crash is this file's failure, not the job's
                        result = {"error": f"decoder crashed: {type(exc).__name__}: {exc}"}
                    batch.append((path, result))
                    faults.point("import.received")  # decoded and cached, no row yet
                    reporter.done += 1
                if batch and (time.monotonic() - last_commit > 0.5 or not inflight):
                    _commit(library, batch, ids_for, report)
                    batch, last_commit = [], time.monotonic()
                if done:
                    reporter.update(message=path.name)
                else:
                    reporter.check()
        except Cancelled:
            for fut in inflight:
                fut.cancel()
            raise
        finally:
            if batch:
                _commit(library, batch, ids_for, report)


class _TooSlow(Exception):
    pass


TIMED_OUT = "decoding took longer than"


def _timed_out(row: dict) -> bool:
    """A file that failed only by the time limit is tried again (the limit may have grown)."""
    return row["status"] == "failed" and (row.get("error") or "").startswith(TIMED_OUT)


@contextmanager
def _time_limit(seconds: Optional[float]) -> Iterator[None]:
    """Raise :class:`_TooSlow` in this (worker) process after ``seconds``: decoding runs in
    Python between FFmpeg calls, so a file that loops or stalls is stopped there. Where
    the OS has no interval timer (Windows), no limit."""
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return

    def too_slow(signum: int, frame: Any) -> None:
        raise _TooSlow()

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def process_file(path: str, library_dir: str, spec_dict: dict,
                 time_limit: Optional[float] = FILE_TIMEOUT_S) -> dict:
    """Worker: hash, decode and cache one file. Returns the row fields or ``{"error": ...}``."""
    spec = CacheSpec(**spec_dict)
    try:
        with _time_limit(time_limit):
            return _process(path, ClipCache(Path(library_dir), spec), spec)
    except _TooSlow:
        return {"error": f"{TIMED_OUT} {time_limit:g} s, the per-file time limit "
                         "(import --file-timeout)", **_stat_fields(path)}


def _process(path: str, cache: ClipCache, spec: CacheSpec) -> dict:
    from reelscope.core.ingest.media import MediaError, content_hash, decode_for_cache

    try:
        st = os.stat(path)
        digest = content_hash(path)
        info_path = cache.info_path(digest)
        if cache.has(digest) and info_path.exists():
            entry = json.loads(info_path.read_text())  # decoded before a kill: reuse it
        else:
            decoded = decode_for_cache(path, spec)
            entry = {
                "info": asdict(decoded.info),
                "frame_times": list(decoded.frame_times),
                "warnings": list(decoded.warnings),
            }
            thumb = cache.thumb_path(digest)
            write_bytes_atomic(thumb, decoded.thumbnail_jpeg)
            write_bytes_atomic(info_path, json.dumps(entry).encode())
            cache.write(digest, decoded.frames, decoded.mel, sound=decoded.sound)
    except MediaError as exc:
        return {"error": str(exc), **_stat_fields(path)}
    except PermissionError:
        return {"error": "permission denied: the file cannot be read"}
    except OSError as exc:
        return {"error": f"cannot read file: {exc.strerror or exc}"}
    return {"hash": digest, "size_bytes": st.st_size, "mtime_ns": st.st_mtime_ns, **entry}


def _stat_fields(path: str) -> dict[str, Optional[int]]:
    """Size and mtime for the skip-if-unchanged check; None when the file vanished."""
    try:
        st = os.stat(path)
    except OSError:
        return {"size_bytes": None, "mtime_ns": None}
    return {"size_bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


# ------------------------------------------------------------------ writing
def _commit(
    library: Library, batch: list[tuple[Path, dict]], ids_for: dict[Path, str], report: ImportReport
) -> None:
    """Hand one batch of decoded (or failed) files to the store as rows and problems."""
    now = time.time()
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for path, result in batch:
        key = str(path)
        if "error" in result:
            report.failed += 1
            rows.append({
                "id": ids_for[path], "path": key, "status": "failed", "error": result["error"],
                "size_bytes": result.get("size_bytes"), "mtime_ns": result.get("mtime_ns"),
                "imported_at": now,
            })
            problems.append(Problem(JOB, key, result["error"]))
            continue
        info = result["info"]
        rows.append({
            "id": ids_for[path], "path": key, "status": "ok", "error": None,
            "content_hash": result["hash"], "size_bytes": result["size_bytes"],
            "mtime_ns": result["mtime_ns"], "duration": info["duration"],
            "width": info["width"], "height": info["height"], "fps": info["fps"],
            "video_codec": info["video_codec"], "audio_codec": info["audio_codec"],
            "has_audio": int(info["has_audio"]), "rotation": info["rotation"],
            "warnings": json.dumps(result["warnings"]),
            "frame_times": json.dumps(result["frame_times"]), "imported_at": now,
        })
        problems += [Problem(JOB, key, warning, severity="warning") for warning in result["warnings"]]
        report.new += 1
    library.save_import_batch(JOB, rows, problems)


def _finish(library: Library, report: ImportReport, known_ids: set[str]) -> None:
    """Cross-check videos against metadata and fill in the library totals."""
    problems = [Problem("match", f"metadata:{vid}", f"metadata row for id {vid} has no video file")
                for vid in sorted(known_ids - library.video_ids())]
    problems += [Problem("match", path, f"no metadata row for video {vid}; imported with empty metadata",
                         severity="warning") for vid, path in library.videos_without_metadata()]
    library.replace_problems("match", problems)
    counts = library.counts()
    report.imported_total = counts["imported"]
    report.failed_total = counts["failed"]
    report.errors = library.problems(severity="error")
    report.notes = library.problems(severity="warning")
