"""Keeping a library in step with disk: rescan brings in new files, a moved file is found
and relocated only to the same content, removal takes every trace of the video's rows."""

from __future__ import annotations

import shutil

import pytest

from conftest import make_clip

from reelscope.core.ingest import import_folder
from reelscope.core.ingest.maintain import missing_files, relocate, remove_videos, rescan
from reelscope.core.store.library import Library


@pytest.fixture
def library(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        make_clip(src / f"v{i}.mp4", seed=i)
    lib = Library.create(tmp_path / "lib")
    import_folder(lib, src, workers=1)
    yield lib, src
    lib.close()


def test_rescan_imports_new_files_of_the_folders_imported_before(library):
    lib, src = library
    make_clip(src / "v9.mp4", seed=9)
    report = rescan(lib)
    assert report is not None and report.new == 1 and report.skipped == 3
    assert {v.id for v in lib.videos()} == {"v0", "v1", "v2", "v9"}


def test_a_moved_file_is_found_and_relocated_only_to_the_same_content(library, tmp_path):
    lib, src = library
    moved = tmp_path / "elsewhere" / "renamed.mp4"
    moved.parent.mkdir()
    shutil.move(src / "v1.mp4", moved)
    assert [vid for vid, _ in missing_files(lib)] == ["v1"]
    with pytest.raises(ValueError, match="content differs"):
        relocate(lib, "v1", src / "v2.mp4")
    assert relocate(lib, "v1", moved) == str(moved.resolve())
    assert lib.get("v1").path == str(moved.resolve())
    assert missing_files(lib) == []


def test_removing_videos_removes_their_rows_but_not_their_files(library):
    lib, src = library
    assert remove_videos(lib, ["v0", "v0", "nope"]) == 1
    assert {v.id for v in lib.videos()} == {"v1", "v2"}
    assert (src / "v0.mp4").is_file()
    for table in ("posts", "engagement", "video_hashtags"):
        assert lib.db.execute(f"SELECT COUNT(*) FROM {table} WHERE video_id = 'v0'").fetchone()[0] == 0
    assert lib.integrity_ok()
