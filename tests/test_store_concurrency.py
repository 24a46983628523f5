"""One writer, safe readers: the inter-process writing lock and read-only libraries,
tested with real processes (issue 13 item 3)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import make_clip
from reelscope.core.cli.main import BUSY, main
from reelscope.core.store import lock
from reelscope.core.store.library import Library, LibraryError
from reelscope.core.store.models import TrainingRun
from reelscope.core.store.schema import SchemaTooNew

HOLD = textwrap.dedent("""
    import sys, time
    from reelscope.core.store.library import Library
    lib = Library.open(sys.argv[1])
    with lib.writing(sys.argv[2]):
        print("held", flush=True)
        sys.stdin.readline()  # hold until told (or killed)
""")


def _holder(library: Path, job: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(library), job], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime of the database and of a non-empty write-ahead log. (A reader may
    create SQLite's empty -wal and -shm coordination files; it never writes content.)"""
    files = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in root.glob("library.db*")}
    files.pop("library.db-shm", None)
    if files.get("library.db-wal", (1,))[0] == 0:
        files.pop("library.db-wal")
    return files


def test_a_read_only_library_reads_and_never_writes(tmp_path):
    root = tmp_path / "lib"
    with Library.create(root) as lib:
        lib.save_run(TrainingRun("r1", "simclr", "tiny", "done", time.time(), "runs/r1"))
        lib.db["videos"].insert({"id": "v1", "path": str(tmp_path / "v1.mp4"), "status": "ok"})
    before = _files(root)
    with Library.open(root, read_only=True) as reader:
        assert [v.id for v in reader.videos()] == ["v1"] and [r.id for r in reader.runs()] == ["r1"]
        assert reader.counts()["imported"] == 1
        with pytest.raises(LibraryError, match="read-only"):
            reader.save_run(TrainingRun("r2", "simclr", "tiny", "done", time.time(), "runs/r2"))
        with pytest.raises(LibraryError, match="read-only"):
            reader.writing("import")
        with pytest.raises(sqlite3.OperationalError):  # even raw SQL cannot write
            reader.db.execute("DELETE FROM videos")
    assert _files(root) == before


def _foreign_library_db(folder: Path) -> Path:
    """A folder whose library.db is another application's SQLite database."""
    folder.mkdir()
    conn = sqlite3.connect(folder / "library.db")
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()
    return folder


def test_a_reader_never_migrates_or_touches_a_foreign_database(tmp_path):
    other = _foreign_library_db(tmp_path / "other")
    before = _files(other)
    with pytest.raises(LibraryError, match="not a Reelscope library"):
        Library.open(other, read_only=True)
    assert _files(other) == before
    newer = tmp_path / "newer"
    with Library.create(newer) as lib:
        lib.db.execute("INSERT INTO schema_migrations VALUES (999, 'future', 0)")
    with pytest.raises(SchemaTooNew):
        Library.open(newer, read_only=True)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "library.db").write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(LibraryError, match="cannot be read"):
        Library.open(junk, read_only=True)


def test_a_second_writer_is_told_who_holds_the_library_and_a_killed_holder_frees_it(tmp_path, capsys):
    root = tmp_path / "lib"
    Library.create(root).close()
    folder = tmp_path / "videos"
    folder.mkdir()
    make_clip(folder / "a.mp4")
    holder = _holder(root, "import")
    try:
        assert lock.holder(root).pid == holder.pid
        code = main(["import", str(folder), "--library", str(root), "--quiet"])
        err = capsys.readouterr().err
        assert code == BUSY
        assert "library in use by import since" in err and f"(pid {holder.pid})" in err
        assert "Traceback" not in err
        with Library.open(root) as lib:
            assert lib.videos() == []  # the refused import did nothing
    finally:
        holder.send_signal(signal.SIGKILL)  # a killed job leaves a stale lock ...
        holder.wait(timeout=30)
    assert lock.holder(root) is None  # ... which is free at once
    assert main(["import", str(folder), "--library", str(root), "--quiet", "--workers", "1"]) == 0
    with Library.open(root, read_only=True) as lib:
        assert len(lib.videos()) == 1


def test_the_lock_is_reentrant_within_a_process_and_released_after(tmp_path):
    root = tmp_path / "lib"
    with Library.create(root) as lib:
        with lib.writing("train") as outer:
            with lib.writing("embed") as inner:  # train's own embed joins its lock
                assert inner == outer and lock.holder(root).job == "train"
        assert lock.holder(root) is None
        assert (root / lock.LOCK_NAME).read_text() == ""


def test_readers_in_another_process_read_while_an_import_writes(tmp_path):
    root = tmp_path / "lib"
    Library.create(root).close()
    folder = tmp_path / "videos"
    folder.mkdir()
    for i in range(10):
        make_clip(folder / f"c{i}.mp4", seconds=1.5, seed=i)
    proc = subprocess.Popen([sys.executable, "-m", "reelscope", "import", str(folder), "--library",
                             str(root), "--workers", "1", "--quiet", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen, during = [], 0
    while proc.poll() is None:
        with Library.open(root, read_only=True) as reader:
            seen.append(reader.counts()["imported"])
            during += proc.poll() is None
        time.sleep(0.02)  # a reader polling as a window would, not a spin that starves the import
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert json.loads(out)["videos"]["imported"] == 10
    assert during >= 1 and seen == sorted(seen)  # read while it wrote; counts only grow
    with Library.open(root, read_only=True) as reader:
        assert reader.counts()["imported"] == 10 and reader.integrity_ok()


def test_a_run_folder_read_from_the_database_stays_inside_the_library(tmp_path):
    root = tmp_path / "lib"
    with Library.create(root) as lib:
        for run_id, folder in (("ok", "runs/ok"), ("up", "../../etc"), ("abs", "/etc"), ("sneaky", "runs/../../x")):
            lib.save_run(TrainingRun(run_id, "simclr", "tiny", "done", time.time(), folder))
        assert [r.id for r in lib.runs()] == ["ok"]
        with pytest.raises(LibraryError, match="outside the library"):
            lib.run("up")
        assert lib.run("ok").dir == "runs/ok"


def test_a_writer_refuses_broken_and_foreign_databases_without_touching_them(tmp_path, capsys):
    other = _foreign_library_db(tmp_path / "other")
    before = (other / "library.db").read_bytes()
    with pytest.raises(LibraryError, match="another application's database"):
        Library.open(other)
    assert (other / "library.db").read_bytes() == before and not (other / "library.db-wal").exists()
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "library.db").write_bytes(b"not a database " * 100)
    with pytest.raises(LibraryError, match="cannot be opened as a library"):
        Library.open(junk)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(LibraryError, match="cannot create a library"):
        Library.create(tmp_path / "afile" / "lib")
    for lib in (other, junk, tmp_path / "afile" / "lib"):  # the CLI: one line, no traceback
        assert main(["import", str(tmp_path), "--library", str(lib), "--quiet"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err


def test_a_missing_index_is_built_only_under_the_lock_and_a_fresh_one_is_read_without_it(tmp_path):
    from test_cli_analytics import build_library

    from reelscope.core.analytics import similar

    root = tmp_path / "lib"
    build_library(root, n=30).close()
    lib = Library.open(root)
    holder = _holder(root, "import")
    try:  # another process writes: building the index (a write) must wait its turn
        with pytest.raises(lock.LibraryBusy, match=f"pid {holder.pid}"):
            similar.similar_videos(lib, "v001", k=3)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert len(similar.similar_videos(lib, "v001", k=3)) == 3  # built and saved now
    similar._cache.clear()
    holder = _holder(root, "import")
    try:  # a fresh saved index is only read: no lock needed
        assert len(similar.similar_videos(lib, "v001", k=3)) == 3
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        lib.close()
