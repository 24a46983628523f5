"""The authors table (reelscope.core.query.author_table): each number checked against a
small hand-made author and against sums computed here from the library's own records
and the run's stored scores; reading never writes."""

from __future__ import annotations

import contextlib
import io
import statistics
from pathlib import Path

import numpy as np
import pytest

from test_cli_analytics import build_library

from reelscope.core.cli.main import main
from reelscope.core.query import AuthorRow, author_table
from reelscope.core.store.library import Library
from reelscope.core.store.models import Author, PostMetadata, Sound


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory) -> Path:
    """40 synthetic videos (run-a analysed, run-b newer and not), plus author "zed" with
    three videos added after the runs (so none has a score): likes 100, 300 and unknown,
    sounds s0, s0 and s1, 2,000 followers."""
    root = tmp_path_factory.mktemp("authorlib")
    lib = build_library(root, n=40, runs=("run-a", "run-b"))
    zed = Author("zed", "Zed", None, 2000)
    lib.save_metadata([PostMetadata(id=f"z{i}", source="test", author=zed, likes=likes,
                                    sound=Sound(sound)) for i, (likes, sound) in
                       enumerate([(100, "s0"), (300, "s0"), (None, "s1")])])
    lib.db["videos"].insert_all([{"id": f"z{i}", "path": str(root / f"z{i}.mp4"),
                                  "status": "failed" if i == 2 else "ok"} for i in range(3)])
    lib.close()
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["analyze", "--library", str(root), "--run", "run-a", "--quiet", "--json"]) == 0
    return root


@pytest.fixture()
def lib(library_dir):
    with Library.open(library_dir, read_only=True) as lib:
        yield lib


def test_a_hand_made_author(lib):
    zed = next(r for r in author_table(lib, "run-a") if r.author_id == "zed")
    # a failed import still counts: the video table filtered by the author shows it too
    assert zed == AuthorRow(author_id="zed", handle="Zed", followers=2000, videos=3,
                            median_likes=200.0, reach_adjusted_likes=100.0,
                            mean_originality=None, sounds_used=2)


def test_every_author_matches_the_records_and_stored_scores(lib, library_dir):
    with np.load(library_dir / "runs" / "run-a" / "analytics" / "scores.npz") as z:
        originality = dict(zip(z["ids"].tolist(), z["originality"].tolist()))
    by_author: dict[str, list] = {}
    for v in lib.videos(status=None):
        if v.author is not None:
            by_author.setdefault(v.author.id, []).append(v)
    table = author_table(lib, "run-a")
    assert {r.author_id for r in table} == set(by_author)
    for row in table:
        videos = by_author[row.author_id]
        author = videos[0].author
        likes = [v.likes for v in videos if v.likes is not None]
        scored = [originality[v.id] for v in videos if v.id in originality]
        assert row.handle == (author.unique_id or author.id)
        assert row.followers == author.followers
        assert row.videos == len(videos)
        assert row.median_likes == pytest.approx(statistics.median(likes)) if likes else \
            row.median_likes is None
        if likes and author.followers:
            assert row.reach_adjusted_likes == pytest.approx(
                statistics.median(likes) / author.followers * 1000)
        assert row.sounds_used == len({v.sound.id for v in videos if v.sound})
        if scored:
            assert row.mean_originality == pytest.approx(statistics.fmean(scored))
        else:
            assert row.mean_originality is None
    assert any(r.mean_originality is not None for r in table)
    # most videos first, ties by handle
    keys = [(-r.videos, r.handle.casefold()) for r in table]
    assert keys == sorted(keys)


def test_without_an_analysis_originality_is_empty(lib):
    table = author_table(lib)  # the newest run, run-b, is not analysed
    assert table and all(r.mean_originality is None for r in table)
    assert [r.videos for r in table] == [r.videos for r in author_table(lib, "run-a")]


def test_reading_writes_nothing(lib, library_dir):
    before = {p: p.stat().st_mtime_ns for p in library_dir.rglob("*") if p.is_file()}
    author_table(lib, "run-a")
    author_table(lib, "run-b")
    after = {p: p.stat().st_mtime_ns for p in library_dir.rglob("*") if p.is_file()}
    assert after == before
