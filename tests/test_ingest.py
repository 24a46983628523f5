"""Importing real files: bad input recorded, the rest imported, resumable after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import make_clip
from reelscope.core.store.library import Library
from reelscope.core.ingest import import_files, import_folder
from reelscope.core.progress import CancelToken, Cancelled


def _tiktok_item(vid: str, likes: int = 10, followers: int = 1000) -> dict:
    return {
        "id": vid,
        "desc": f"clip {vid} #Dance #fyp",
        "createTime": 1_650_000_000,
        "video": {"duration": 1},
        "author": {"id": "u1", "uniqueId": "alice", "nickname": "Alice"},
        "authorStats": {"followerCount": followers, "followingCount": 5, "heartCount": 99,
                        "videoCount": 3, "diggCount": 1},
        "music": {"id": "m1", "title": "Song", "authorName": "Band", "original": False},
        "stats": {"diggCount": likes, "shareCount": 1, "commentCount": 2, "playCount": 300},
        "challenges": [{"title": "dance"}],
    }


@pytest.fixture
def messy_folder(tmp_path) -> Path:
    src = tmp_path / "src"
    make_clip(src / "111.mp4", seed=1)
    make_clip(src / "222.mp4", seed=2, audio=False)
    make_clip(src / "sub" / "333.mov", seed=3, size=(96, 64))
    make_clip(src / "444.mp4", seed=4)  # no metadata row for this one
    (src / "empty.mp4").write_bytes(b"")
    (src / "notes.mp4").write_text("this is not a video\n" * 50)
    good = (src / "111.mp4").read_bytes()
    (src / "cut.mp4").write_bytes(good[: len(good) // 2])
    (src / "readme.txt").write_text("ignored: not a media file")
    items = [_tiktok_item("111"), _tiktok_item("222"), _tiktok_item("333"), _tiktok_item("999"),
             {"id": "555", "stats": {"diggCount": "lots"}}]
    (src / "meta.json").write_text(json.dumps(items))
    return src


def test_import_records_every_bad_file_and_imports_the_rest(tmp_path, messy_folder):
    lib = Library.create(tmp_path / "lib")
    events = []
    report = import_folder(lib, messy_folder, workers=2, progress=events.append)

    assert report.new == 4 and report.failed == 3 and not report.cancelled
    ok = {v.id: v for v in lib.videos()}
    assert set(ok) == {"111", "222", "333", "444"}
    assert ok["111"].has_audio and not ok["222"].has_audio
    assert ok["333"].width == 96 and ok["333"].height == 64
    assert ok["111"].likes == 10 and ok["111"].author.followers == 1000
    assert "dance" in ok["111"].hashtags and ok["444"].likes is None
    for v in ok.values():
        assert lib.cache.has(v.content_hash)
        frames = lib.cache.frames(v.content_hash)
        assert frames.dtype == np.uint8 and frames.shape == (lib.cache.spec.frames,
                                                            lib.cache.spec.size,
                                                            lib.cache.spec.size, 3)
        assert lib.cache.thumb_path(v.content_hash).stat().st_size > 0
        assert len(v.frame_times) == lib.cache.spec.frames
    assert lib.cache.mel(ok["222"].content_hash).shape[1] == 0
    assert lib.cache.mel(ok["111"].content_hash).shape[1] > 50

    reasons = {Path(e.path).name: e.reason for e in report.errors}
    assert "0 bytes" in reasons["empty.mp4"]
    assert reasons["notes.mp4"] and reasons["cut.mp4"]
    assert any("999" in e.reason and "no video file" in e.reason for e in report.errors)
    assert any(e.row == 5 and e.path.endswith("meta.json") for e in report.errors)
    assert any("444" in w.reason and "no metadata" in w.reason for w in report.notes)
    failed = {v.id: v for v in lib.videos(status="failed")}
    assert failed["empty"].error == reasons["empty.mp4"]
    assert events[-1].done == events[-1].total == 7
    assert lib.integrity_ok()


def test_reimport_skips_unchanged_files_and_redoes_changed_ones(tmp_path, messy_folder):
    lib = Library.create(tmp_path / "lib")
    first = import_folder(lib, messy_folder, workers=1)
    again = import_folder(lib, messy_folder, workers=1)
    assert again.new == 0 and again.failed == 0 and again.skipped == 7
    assert again.imported_total == first.imported_total == 4
    assert [e.reason for e in again.errors] == [e.reason for e in first.errors]

    make_clip(messy_folder / "444.mp4", seed=9, seconds=2)  # the user re-exported it
    make_clip(messy_folder / "empty.mp4", seed=8)  # and replaced the broken one
    third = import_folder(lib, messy_folder, workers=1)
    assert third.new == 2 and third.skipped == 5
    assert lib.get("444").duration == pytest.approx(2, abs=0.3)
    assert lib.get("empty").ok
    assert not any(Path(e.path).name == "empty.mp4" for e in third.errors)
    assert len(lib.videos(status=None)) == 7


def test_the_same_name_in_two_folders_is_two_videos_unless_the_bytes_are_the_same(tmp_path):
    src = tmp_path / "src"
    make_clip(src / "a" / "777.mp4", seed=1)
    make_clip(src / "b" / "777.mp4", seed=2)
    (src / "c").mkdir()
    (src / "c" / "777.mp4").write_bytes((src / "a" / "777.mp4").read_bytes())
    lib = Library.create(tmp_path / "lib")
    report = import_folder(lib, src, workers=1)
    assert report.imported_total == 2 and lib.get("777").path.endswith("a/777.mp4")
    assert [e for e in report.errors if "duplicate of" in e.reason and e.path.endswith("c/777.mp4")]


def test_cancel_stops_early_and_a_rerun_finishes(tmp_path):
    src = tmp_path / "src"
    for i in range(6):
        make_clip(src / f"{i}.mp4", seed=i)
    lib = Library.create(tmp_path / "lib")
    token = CancelToken()

    def on_progress(event):
        if event.done >= 1:
            token.cancel()

    with pytest.raises(Cancelled) as stopped:  # the one cancel behaviour: Cancelled, with
        import_folder(lib, src, workers=1, progress=on_progress, cancel=token)  # what was done
    report = stopped.value.partial
    assert report.cancelled and 1 <= report.imported_total < 6 and len(lib.videos()) == report.imported_total
    report = import_folder(lib, src, workers=1)
    assert not report.cancelled and report.imported_total == 6
    assert report.skipped >= 1


@pytest.mark.slow
def test_sigkill_mid_import_then_rerun_finishes_without_duplicates_or_damage(tmp_path):
    src = tmp_path / "src"
    n = 40  # enough that the import is still running when the first rows appear
    for i in range(n):
        make_clip(src / f"{1000 + i}.mp4", seed=i, seconds=3)
    (src / "zero.mp4").write_bytes(b"")
    lib_dir = tmp_path / "lib"
    cmd = [sys.executable, "-m", "reelscope", "import", str(src), "--library", str(lib_dir),
           "--workers", "2", "--quiet", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        done = _rows(lib_dir / "library.db")
        if done >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "import finished before it could be killed; make it longer"
    os.killpg(proc.pid, signal.SIGKILL)  # the whole group: the CLI and its decoding workers
    proc.wait()
    assert 3 <= _rows(lib_dir / "library.db") < n + 1

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    out = json.loads(rerun.stdout)
    assert out["videos"] == {"imported": n, "failed": 1}
    assert out["this_run"]["skipped"] >= 3
    conn = sqlite3.connect(lib_dir / "library.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ids = [r[0] for r in conn.execute("SELECT id FROM videos")]
    assert len(ids) == len(set(ids)) == n + 1
    with Library.open(lib_dir) as lib:
        assert all(lib.cache.has(v.content_hash) for v in lib.videos())
        assert not list((lib_dir / "cache").rglob("*.tmp"))  # swept by the rerun


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT COUNT(*) FROM videos").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def test_import_files_adds_single_files_with_their_metadata(tmp_path, messy_folder):
    lib = Library.create(tmp_path / "lib")
    report = import_files(lib, [messy_folder / "111.mp4", messy_folder / "sub" / "333.mov"],
                              metadata=messy_folder / "meta.json", workers=1)
    assert report.new == 2 and {v.id for v in lib.videos()} == {"111", "333"}
    assert lib.get("333").likes == 10
    with pytest.raises(FileNotFoundError, match="is not a file"):
        import_files(lib, [messy_folder / "missing.mp4"])


def test_junk_metadata_files_and_non_regular_files_never_stop_an_import(tmp_path):
    """A stray metadata-looking file (deeply nested JSON, a CSV line past the field limit)
    is skipped with a warning, and a FIFO named like a video is skipped, not read forever."""
    src = tmp_path / "src"
    make_clip(src / "101.mp4", seed=1)
    (src / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (src / "long.csv").write_text("id,likes\n" + "a" * 200_000 + ",1\n")
    os.mkfifo(src / "202.mp4")
    lib = Library.create(tmp_path / "lib")
    report = import_folder(lib, src, workers=1)
    assert [v.id for v in lib.videos()] == ["101"]
    reasons = {Path(p.path).name: p.reason for p in report.errors + report.notes}
    assert "nested too deeply" in reasons["deep.json"]
    assert "not a regular file" in reasons["202.mp4"]


def test_a_csv_whose_first_line_is_past_the_field_limit_does_not_stop_an_import(tmp_path):
    """A header line past csv's field limit once stopped the whole import ("unexpected
    error: field larger than field limit"); a long field in a data row never did."""
    src = tmp_path / "src"
    make_clip(src / "101.mp4", seed=1)
    (src / "notes.csv").write_text("x" * 200_000 + "\n")
    lib = Library.create(tmp_path / "lib")
    report = import_folder(lib, src, workers=1)
    assert [v.id for v in lib.videos()] == ["101"]
    reasons = {Path(p.path).name: p.reason for p in report.errors + report.notes}
    assert "not a CSV header" in reasons["notes.csv"]


def _children(pid: int) -> set[int]:
    out = set()
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat_file.parent.name))
    return out


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_killing_an_import_ends_its_decoding_workers(tmp_path):
    src = tmp_path / "src"
    for i in range(30):
        make_clip(src / f"{2000 + i}.mp4", seed=i, seconds=3)
    cmd = [sys.executable, "-m", "reelscope", "import", str(src), "--library", str(tmp_path / "lib"),
           "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while time.monotonic() < deadline and proc.poll() is None and len(workers) < 2:
        workers = {p for p in _children(proc.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()}
        time.sleep(0.05)
    assert proc.poll() is None and workers, "the import ended before its workers could be seen"
    os.kill(proc.pid, signal.SIGKILL)  # the CLI alone, as a crash or the OOM killer would
    proc.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in workers):
        time.sleep(0.1)
    alive = [p for p in workers if Path(f"/proc/{p}/stat").exists()
             and Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert not alive, f"workers outlived the killed import: {alive}"


def test_files_the_import_cannot_use_count_as_failed(tmp_path):
    """A broken link and a FIFO are listed as errors and counted as failed: the totals agree
    with the error list (issue 16)."""
    src = tmp_path / "src"
    make_clip(src / "301.mp4", seed=1)
    (src / "302.mp4").symlink_to(tmp_path / "gone.mp4")
    os.mkfifo(src / "303.mp4")
    lib = Library.create(tmp_path / "lib")
    report = import_folder(lib, src, workers=1)
    file_errors = {p.path for p in report.errors if not p.path.startswith("metadata:")}
    assert report.imported_total == 1 and report.failed_total == len(file_errors) == 2


def test_files_sharing_a_name_stem_get_distinct_stable_ids_and_only_identical_content_is_a_duplicate(tmp_path):
    """promo.mov, promo.mp4 and sub/promo.mp4 are three videos; a byte-for-byte copy is a
    duplicate; the metadata row 'promo' could describe several files and is reported as
    ambiguous; a second import keeps every id (issue 16)."""
    import shutil

    src = tmp_path / "src"
    make_clip(src / "promo.mov", seed=1)
    make_clip(src / "promo.mp4", seed=2)
    make_clip(src / "sub" / "promo.mp4", seed=3)
    (src / "copy").mkdir()
    shutil.copy(src / "promo.mov", src / "copy" / "promo.mov")
    (src / "meta.json").write_text(json.dumps([_tiktok_item("promo")]))
    lib = Library.create(tmp_path / "lib")
    report = import_folder(lib, src, workers=1)
    by_path = {Path(v.path).relative_to(src).as_posix(): v.id for v in lib.videos()}
    assert set(by_path) == {"promo.mov", "promo.mp4", "sub/promo.mp4"}
    assert by_path["promo.mov"] == "promo"  # the first in sorted order keeps the plain id
    assert by_path["promo.mp4"].startswith("promo~") and by_path["sub/promo.mp4"].startswith("promo~")
    assert len(set(by_path.values())) == 3
    reasons = [(Path(p.path).relative_to(src).as_posix(), p.reason) for p in report.errors + report.notes
               if not p.path.startswith("metadata:") and Path(p.path).is_relative_to(src)]
    assert any(path == "copy/promo.mov" and "duplicate of" in r and "same file content" in r
               for path, r in reasons)
    assert sum("ambiguous metadata" in r for _, r in reasons) == 2
    # the totals agree with the error list, the duplicate included (issue 16)
    file_errors = {p.path for p in report.errors if not p.path.startswith("metadata:")}
    assert report.imported_total + report.failed_total == 4 and report.failed_total == len(file_errors)
    assert lib.get("promo").likes is not None  # the row stays with the file that keeps the id
    again = import_folder(lib, src, workers=1)
    assert {Path(v.path).relative_to(src).as_posix(): v.id for v in lib.videos()} == by_path
    assert again.new == 0


def test_a_file_that_decodes_too_long_is_failed_with_the_time_limit_and_the_rest_goes_on(tmp_path, capsys):
    """The per-file time limit (import --file-timeout): here so small that every decode
    exceeds it; each file gets that reason, none hangs the import, and a normal limit
    imports them on the next run."""
    from reelscope.core.cli.main import main

    src = tmp_path / "src"
    for i in range(2):
        make_clip(src / f"40{i}.mp4", seed=i)
    lib_dir = tmp_path / "lib"
    assert main(["import", str(src), "--library", str(lib_dir), "--workers", "1", "--quiet", "--json",
                 "--file-timeout", "0.0001"]) == 1  # nothing could be imported
    out = json.loads(capsys.readouterr().out)
    assert out["videos"] == {"imported": 0, "failed": 2}
    assert all("per-file time limit" in e["reason"] for e in out["errors"])
    assert main(["import", str(src), "--library", str(lib_dir), "--workers", "1", "--quiet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["videos"] == {"imported": 2, "failed": 0}
