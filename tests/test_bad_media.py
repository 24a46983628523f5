"""A corpus of broken and odd media files, made by the test (issue 16): none crashes or
hangs an import, each broken one gets a specific recorded reason, each odd-but-valid one
is imported, and the good file beside them always makes it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from media_fixtures import (corrupt_keyframe_near, make_audio_only, make_still, make_video, truncate)
from reelscope.core.ingest import import_folder
from reelscope.core.store.library import Library

pytestmark = pytest.mark.slow


def build_corpus(folder: Path) -> tuple[dict[str, str], set[str], set[str]]:
    """Files in ``folder``: {name: a word its failure reason must contain} for the broken
    ones, the names of the odd files that must import, and of the damaged files that
    FFmpeg may still decode (each imports, or fails with a reason)."""
    folder.mkdir(parents=True)
    good = make_video(folder / "good.mp4", frames=30)
    data = good.read_bytes()
    rng = np.random.default_rng(16)
    broken: dict[str, str] = {}
    (folder / "zero.mp4").write_bytes(b"")
    broken["zero.mp4"] = "0 bytes"
    for fraction in (0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9):
        truncate(good, folder / f"cut{int(fraction * 100):02d}.mp4", fraction)
        broken[f"cut{int(fraction * 100):02d}.mp4"] = ""  # any specific reason (checked below)
    for seed in range(3):
        (folder / f"random{seed}.mp4").write_bytes(np.random.default_rng(seed).bytes(20_000))
        broken[f"random{seed}.mp4"] = ""
    either: set[str] = set()
    for offset in (4, 8, 16, 40):  # flip bytes inside the MP4 box headers
        flipped = bytearray(data)
        flipped[offset: offset + 4] = bytes(255 - b for b in flipped[offset: offset + 4])
        (folder / f"flipped{offset}.mp4").write_bytes(bytes(flipped))
        either.add(f"flipped{offset}.mp4")
    (folder / "page.mp4").write_text("<html><body>403 Forbidden</body></html>")
    broken["page.mp4"] = "not a media file"
    make_audio_only(folder / "sound.mp4")
    broken["sound.mp4"] = "no video stream"
    (folder / "broken-link.mp4").symlink_to(folder / "does-not-exist.mp4")
    broken["broken-link.mp4"] = "cannot read file"
    os.mkfifo(folder / "pipe.mp4")
    broken["pipe.mp4"] = "not a regular file"
    (folder / "text.mkv").write_bytes(rng.bytes(100) + b"\x1aE\xdf\xa3" + rng.bytes(1000))
    broken["text.mkv"] = ""

    odd: set[str] = set()
    make_still(folder / "still.mp4")
    broken["still.mp4"] = "still image"  # one frame is a picture, not a video (by design)
    make_video(folder / "tiny.mp4", frames=10, width=2, height=2, audio=False)  # H.264 needs even sizes
    odd.add("tiny.mp4")
    make_video(folder / "large.mp4", frames=3, width=1920, height=1080, audio=False)
    odd.add("large.mp4")
    make_video(folder / "rotated.mp4", frames=15, rotation=90)
    odd.add("rotated.mp4")
    make_video(folder / "vfr.mkv", "h264-mkv", frames=7, frame_times=[0, 0.05, 0.3, 0.31, 1.2, 2.0, 2.05])
    odd.add("vfr.mkv")
    make_video(folder / "long.mp4", frames=1200, fps=1, width=16, height=16, audio=False, gop=300)
    odd.add("long.mp4")  # 20 minutes of video, a frame a second
    (folder / "mp4-named.mov").write_bytes(data)  # the wrong extension for its container
    odd.add("mp4-named.mov")
    corrupt_keyframe_near(good, folder / "damaged-keyframe.mp4", 1.0)
    either.add("damaged-keyframe.mp4")
    unicode_name = "vidéo 🎬 ünïcödé.mp4"
    make_video(folder / unicode_name, frames=10)
    odd.add(unicode_name)
    long_name = "x" * 200 + ".mp4"
    make_video(folder / long_name, frames=10)
    odd.add(long_name)
    (folder / "sub").mkdir()
    (folder / "sub" / "link-to-good.mp4").symlink_to(good)
    return broken, odd, either


def test_a_corpus_of_broken_and_odd_files_never_stops_an_import(tmp_path):
    src = tmp_path / "src"
    broken, odd, either = build_corpus(src)
    assert len(broken) + len(odd) + len(either) >= 30
    lib = Library.create(tmp_path / "lib")
    report = import_folder(lib, src, workers=2, file_timeout=120)
    imported = {Path(v.path).name for v in lib.videos()}
    reasons = {Path(p.path).name: p.reason for p in report.errors}
    assert "good.mp4" in imported
    for name, word in broken.items():
        assert name not in imported, f"{name} should not import"
        assert name in reasons, f"{name} has no recorded reason"
        assert word in reasons[name], f"{name}: {reasons[name]!r} lacks {word!r}"
        assert len(reasons[name]) > 12 and "Traceback" not in reasons[name]
    for name in odd:
        assert name in imported, f"{name} should import: {reasons.get(name)}"
    for name in either:
        assert (name in imported) != (name in reasons), name
    # The totals agree with the list, and the library is whole.
    assert report.failed_total == len(reasons) == len(broken) + len(either & set(reasons))
    assert lib.integrity_ok()
