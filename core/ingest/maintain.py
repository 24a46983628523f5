"""Keeping a library in step with the files on disk: rescan the imported folders, find
videos whose file moved or vanished, point a video at its file's new place, and remove
videos from the library (the files themselves are never touched)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from reelscope.core.ingest.importer import FILE_TIMEOUT_S, ImportReport, import_folder, imported_folders
from reelscope.core.progress import CancelToken, ProgressCallback
from reelscope.core.store.library import Library
from reelscope.core.store.lock import writing_job


def rescan(library: Library, progress: Optional[ProgressCallback] = None,
           cancel: Optional[CancelToken] = None,
           file_timeout: Optional[float] = FILE_TIMEOUT_S) -> Optional[ImportReport]:
    """Import every folder imported before again: new and changed files come in, unchanged
    ones are skipped. Returns the last folder's report (None when no folder is known or
    none still exists)."""
    report = None
    for entry in imported_folders(library):
        folder = Path(entry["folder"] or "")
        if not folder.is_dir():
            continue
        metadata = entry.get("metadata")
        report = import_folder(library, folder, metadata if metadata and Path(metadata).is_file() else None,
                               progress=progress, cancel=cancel, file_timeout=file_timeout)
    return report


def missing_files(library: Library) -> list[tuple[str, str]]:
    """``(id, recorded path)`` of videos whose file is no longer where it was imported from."""
    rows = library.db.query("SELECT id, path FROM videos ORDER BY id")
    return [(r["id"], r["path"]) for r in rows if not Path(r["path"]).is_file()]


@writing_job("relocate")
def relocate(library: Library, video_id: str, new_path: str | Path) -> str:
    """Point ``video_id`` at ``new_path``, its file's new place. Refused (ValueError) when
    the file's content differs from what was imported, or another video already uses that
    path. Returns the stored path."""
    from reelscope.core.ingest.media import content_hash

    path = Path(new_path).resolve()
    if not path.is_file():
        raise ValueError(f"{path} is not a file")
    video = library.get(video_id)
    if video.content_hash and content_hash(path) != video.content_hash:
        raise ValueError(f"{path.name} is not the same video as {video_id}: its content differs "
                         "(import it as a new video instead)")
    with library.transaction() as c:
        taken = c.execute("SELECT id FROM videos WHERE path = ? AND id != ?", [str(path), video_id]).fetchone()
        if taken:
            raise ValueError(f"{path} already belongs to video {taken[0]}")
        stat = path.stat()
        c.execute("UPDATE videos SET path = ?, size_bytes = ?, mtime_ns = ? WHERE id = ?",
                  [str(path), stat.st_size, stat.st_mtime_ns, video_id])
        c.execute("DELETE FROM problems WHERE path = ?", [video.path])
    return str(path)


@writing_job("remove")
def remove_videos(library: Library, ids: Sequence[str]) -> int:
    """Remove videos (and their post, likes and hashtags) from the library in one
    transaction; the files stay on disk, and importing their folder again brings them
    back. Runs keep their embeddings; analyses skip ids no longer in the library.
    Returns how many were removed."""
    ids = list(dict.fromkeys(ids))
    removed = 0
    with library.transaction() as c:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            paths = [r[0] for r in c.execute(f"SELECT path FROM videos WHERE id IN ({marks})", chunk)]
            for table, column in (("video_hashtags", "video_id"), ("engagement", "video_id"),
                                  ("posts", "video_id")):
                c.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", chunk)
            removed += c.execute(f"DELETE FROM videos WHERE id IN ({marks})", chunk).rowcount
            if paths:
                c.execute(f"DELETE FROM problems WHERE path IN ({','.join('?' * len(paths))})", paths)
    return removed
