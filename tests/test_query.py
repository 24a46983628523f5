"""The window's read-only queries (reelscope.core.query) on a small synthetic library with
a stored analysis: orders, filters, totals and details checked against the stored values,
and reading never writes."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from test_cli_analytics import build_library

from reelscope.core import query as q
from reelscope.core.cli.main import main
from reelscope.core.store.library import Library
from reelscope.core.store.models import PostMetadata


def analyze(root: Path, run: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["analyze", "--library", str(root), "--run", run, "--quiet", "--json"]) == 0


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory) -> Path:
    """120 videos (run-a analysed, run-b, the newest, not) plus a failed import and a
    pending one that have no metadata."""
    root = tmp_path_factory.mktemp("querylib")
    lib = build_library(root, runs=("run-a", "run-b"))
    lib.db["videos"].insert_all([
        {"id": "x900", "path": str(root / "x900.mp4"), "status": "failed", "error": "truncated"},
        {"id": "x901", "path": str(root / "x901.mp4"), "status": "pending"}])
    lib.close()
    analyze(root, "run-a")
    return root


@pytest.fixture()
def lib(library_dir):
    with Library.open(library_dir, read_only=True) as lib:
        yield lib


@pytest.fixture()
def scores(library_dir) -> dict[str, np.ndarray]:
    with np.load(library_dir / "runs" / "run-a" / "analytics" / "scores.npz") as z:
        return {k: z[k] for k in z.files}


def all_rows(lib, **kwargs) -> list[q.VideoRow]:
    rows, offset = [], 0
    while True:
        page = q.video_page(lib, "run-a", offset=offset, limit=25, **kwargs)
        rows += page.rows
        offset += 25
        if offset >= page.total:
            assert len(rows) == page.total
            return rows


def expected_order(videos, value, descending=True) -> list[str]:
    """Valued videos by (value, id) in the sort's direction, then the rest by id."""
    valued = sorted((v for v in videos if value(v) is not None), key=lambda v: (value(v), v.id),
                    reverse=descending)
    return [v.id for v in valued] + sorted(v.id for v in videos if value(v) is None)


# ------------------------------------------------------------------------- pages
def test_pages_sort_by_likes_both_ways_unknown_last(lib):
    videos = lib.videos(status=None)
    page = q.video_page(lib, "run-a", offset=0, limit=10)
    assert page.total == 122 and len(page.rows) == 10 and page.run_id == "run-a"
    assert page.notes == ()
    likes = [r.likes for r in page.rows]
    assert likes == sorted(likes, reverse=True)
    assert [r.id for r in all_rows(lib)] == expected_order(videos, lambda v: v.likes)
    up = [r.id for r in all_rows(lib, descending=False)]
    assert up == expected_order(videos, lambda v: v.likes, descending=False)
    assert up[-2:] == ["x900", "x901"]  # no likes: last whichever the direction
    tail = q.video_page(lib, "run-a", offset=115, limit=10)
    assert len(tail.rows) == 7 and tail.total == 122


def test_sort_by_originality_follows_the_stored_scores(lib, scores):
    rows = all_rows(lib, sort="originality")
    stored = {str(i): float(o) for i, o in zip(scores["ids"], scores["originality"])}
    assert [r.id for r in rows] == expected_order(lib.videos(status=None), lambda v: stored.get(v.id))
    for r in rows:
        assert r.originality == stored.get(r.id)
    forecast = {str(i): float(f) for i, f in zip(scores["ids"], scores["like_forecast"])}
    by_forecast = all_rows(lib, sort="like_forecast", descending=False)
    assert [r.like_forecast for r in by_forecast[:120]] == sorted(forecast.values())


@pytest.mark.parametrize("sort", ["followers", "posted_at", "author", "sound", "id"])
def test_every_sort_orders_its_column(lib, sort):
    def value(v):
        return {"followers": v.author.followers if v.author else None, "posted_at": v.posted_at,
                "author": v.author.unique_id.lower() if v.author else None,
                "sound": v.sound.title.lower() if v.sound else None, "id": v.id}[sort]
    got = [r.id for r in all_rows(lib, sort=sort)]
    assert got == expected_order(lib.videos(status=None), value)


def test_rows_carry_the_library_values(lib):
    by_id = {v.id: v for v in lib.videos(status=None)}
    for r in all_rows(lib):
        v = by_id[r.id]
        assert (r.likes, r.posted_at, r.status, r.hashtags) == \
            (v.likes, v.posted_at, v.status, v.hashtags)
        if v.author:
            assert (r.author, r.author_id, r.followers) == (v.author.unique_id, v.author.id,
                                                            v.author.followers)
            assert (r.sound, r.sound_id) == (v.sound.title, v.sound.id)
        assert r.has_thumbnail == (v.content_hash is not None
                                   and lib.cache.thumb_path(v.content_hash).exists())
    assert sum(r.has_thumbnail for r in all_rows(lib)) == 18  # every 7th video


def test_filters_match_what_python_finds(lib, scores):
    videos = lib.videos(status=None)
    stored = {str(i): float(o) for i, o in zip(scores["ids"], scores["originality"])}

    def check(kwargs, keep):
        want = sorted(v.id for v in videos if keep(v))
        rows = all_rows(lib, sort="id", descending=False, **kwargs) if want else []
        page = q.video_page(lib, "run-a", offset=0, limit=500, **kwargs)
        assert page.total == len(want), kwargs
        assert [r.id for r in page.rows] == expected_order(
            [v for v in videos if keep(v)], lambda v: v.likes)
        if want:
            assert [r.id for r in rows] == want

    check({"hashtag": "#Topic1"}, lambda v: "topic1" in v.hashtags)
    check({"hashtag": 'say"hi"'}, lambda v: 'say"hi"' in v.hashtags)
    check({"author": "@user3"}, lambda v: v.author and v.author.unique_id == "user3")
    check({"author": "a3"}, lambda v: v.author and v.author.id == "a3")
    check({"sound": "s2"}, lambda v: v.sound and v.sound.id == "s2")
    check({"sound": "Song 2"}, lambda v: v.sound and v.sound.id == "s2")
    check({"text": "VIDEO 1"}, lambda v: "video 1" in (v.description or "").lower())
    check({"text": "x90"}, lambda v: v.id.startswith("x90"))
    check({"text": "%"}, lambda v: False)  # LIKE wildcards are literal
    check({"text": "_"}, lambda v: False)
    check({"status": "failed"}, lambda v: v.status == "failed")
    t0, t1 = 1_700_000_000 + 3600 * 7 * 10, 1_700_000_000 + 3600 * 7 * 30
    check({"posted_from": t0, "posted_to": t1}, lambda v: v.posted_at and t0 <= v.posted_at <= t1)
    check({"likes_min": 1000, "likes_max": 5000}, lambda v: v.likes and 1000 <= v.likes <= 5000)
    check({"originality_min": 80}, lambda v: stored.get(v.id, -1) >= 80)
    check({"originality_min": 20, "originality_max": 40},
          lambda v: v.id in stored and 20 <= stored[v.id] <= 40)
    check({"hashtag": "fyp", "likes_min": 500, "originality_max": 50, "text": "video"},
          lambda v: "fyp" in v.hashtags and (v.likes or 0) >= 500 and stored.get(v.id, 99) <= 50
          and "video" in (v.description or ""))


def test_a_run_without_analysis_says_so(lib):
    page = q.video_page(lib, offset=0, limit=200, sort="originality")  # newest run: run-b
    assert page.run_id == "run-b" and page.total == 122
    assert len(page.notes) == 1 and "run-b" in page.notes[0] and "reelscope analyze" in page.notes[0]
    assert all(r.originality is None and r.like_forecast is None for r in page.rows)
    assert [r.id for r in page.rows] == sorted(r.id for r in page.rows)  # all unknown: by id
    assert q.video_page(lib, offset=0, limit=10, originality_min=0).total == 0


def test_bad_arguments_are_refused(lib):
    with pytest.raises(ValueError, match="unknown sort"):
        q.video_page(lib, offset=0, limit=10, sort="views")
    with pytest.raises(ValueError):
        q.video_page(lib, offset=-1, limit=10)
    with pytest.raises(KeyError):
        q.video_page(lib, "no-such-run", offset=0, limit=10)


def test_a_library_without_runs(tmp_path):
    Library.create(tmp_path / "empty").close()
    with Library.open(tmp_path / "empty", read_only=True) as lib:
        page = q.video_page(lib, offset=0, limit=10)
        assert page.total == 0 and page.run_id is None and "reelscope train" in page.notes[0]
        data = q.scatter_data(lib)
        assert len(data) == 0 and data.run_id is None and data.notes


# -------------------------------------------------------------------- thumbnails
def test_thumbnail_bytes_come_from_the_store(lib):
    v = lib.get("v007")
    assert q.thumbnail(lib, "v007") == lib.cache.thumb_path(v.content_hash).read_bytes()
    assert q.thumbnail(lib, "v007")[:2] == b"\xff\xd8"  # JPEG
    assert q.thumbnail(lib, "v001") is None  # imported without one
    assert q.thumbnail(lib, "x900") is None  # failed: no content hash
    assert q.thumbnail(lib, "nope") is None


# ------------------------------------------------------------------------ detail
def test_detail_reads_the_stored_analysis(lib, library_dir, scores):
    from reelscope.core.analytics.similar import VectorIndex

    d = q.video_detail(lib, "v005", run_id="run-a")
    v = lib.get("v005")
    row = [str(i) for i in scores["ids"]].index("v005")
    assert (d.id, d.likes, d.hashtags, d.followers, d.author, d.sound, d.duration) == \
        (v.id, v.likes, v.hashtags, v.author.followers, v.author.unique_id, v.sound.title, v.duration)
    assert d.run_id == "run-a" and d.notes == ()
    assert d.originality == float(scores["originality"][row])
    assert d.originality_detectors == {k[len("originality_"):]: float(scores[k][row])
                                       for k in scores if k.startswith("originality_")}
    assert len(d.originality_detectors) >= 4
    f = d.forecast
    assert (f.forecast, f.low, f.high) == tuple(float(scores[k][row]) for k in
                                                ("like_forecast", "like_low", "like_high"))
    assert f.coverage == 0.8 and f.low <= f.forecast <= f.high
    assert f.author_baseline > 0 and f.content_uplift > 0
    assert "likes" in f.explanation and d.similar[0].id in f.explanation

    index = VectorIndex.load(library_dir / "runs" / "run-a" / "index" / "fused")
    want = index.query(index.vectors(["v005"]), 10, exclude_self=["v005"])[0]
    assert [(n.id, n.score) for n in d.similar] == [(i, pytest.approx(s)) for i, s in want]
    assert all(n.likes == lib.get(n.id).likes for n in d.similar)

    assert 0 < len(d.suggested_tags) <= 10
    assert not {t.tag for t in d.suggested_tags} & {"topic0", "niche0"}  # its own tags
    assert [t.score for t in d.suggested_tags] == sorted((t.score for t in d.suggested_tags),
                                                         reverse=True)
    bare = q.video_detail(lib, "v005", run_id="run-a", n_tags=0)  # the similar view's question
    assert bare.suggested_tags == () and bare.notes == ()
    assert bare.similar == d.similar and bare.forecast == d.forecast

    labels = scores["sound_cluster"]
    members = sorted(str(i) for i, c in zip(scores["ids"], labels) if c == labels[row])
    c = d.sound_cluster
    assert c.cluster == int(labels[row]) and c.size == len(members)
    assert list(c.videos) == [m for m in members if m != "v005"]
    assert c.label == "Song 0"  # what the metadata calls the sound most of them use


def test_suggested_tags_are_the_stored_suggesters(lib):
    from reelscope.core.analytics.analyze import load_analysis
    from reelscope.core.analytics.data import load_data
    from reelscope.core.analytics.hashtags import normalise_tag

    analysis, data = load_analysis(lib, "run-a"), load_data(lib, "run-a")
    model = analysis.suggester(data)
    X = data.kind(analysis.result.kind)
    bank = list(data.with_tags())
    for vid in ("v005", "v010", "v033"):  # v010 carries 'say"hi"', stored un-normalised
        row = data.ids.index(vid)
        own = {normalise_tag(t) for t in lib.get(vid).hashtags}
        want = [s for s in model.suggest(X[row:row + 1], k=20, exclude=[bank.index(row)])[0]
                if s["tag"] not in own][:10]
        got = q.video_detail(lib, vid, run_id="run-a").suggested_tags
        assert [(t.tag, t.score, t.probability, t.similar_videos) for t in got] == \
            [(s["tag"], s["score"], s["probability"], s["similar_videos"]) for s in want]


def test_detail_of_unanalysed_and_unknown_videos(lib):
    d = q.video_detail(lib, "v005")  # newest run, run-b, has no analysis
    assert d.run_id == "run-b" and d.originality is None and d.forecast is None
    assert d.similar == () and len(d.notes) == 1 and "reelscope analyze" in d.notes[0]
    assert d.likes == lib.get("v005").likes  # metadata is there all the same
    failed = q.video_detail(lib, "x900", run_id="run-a")
    assert failed.status == "failed" and failed.error == "truncated" and failed.originality is None
    assert "not in run run-a's analysis" in failed.notes[0]
    with pytest.raises(KeyError):
        q.video_detail(lib, "nope")


def test_detail_never_builds_what_is_missing(library_dir, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(library_dir, root)
    analytics = root / "runs" / "run-a" / "analytics"
    shutil.rmtree(root / "runs" / "run-a" / "index")
    (analytics / "hashtags.npz").unlink()
    (analytics / "forecast.npz").unlink()
    with Library.open(root, read_only=True) as lib:
        d = q.video_detail(lib, "v005", run_id="run-a")
    assert d.originality is not None and d.forecast.forecast > 0  # stored scores still read
    assert d.similar == () and d.suggested_tags == () and d.forecast.explanation is None
    notes = " | ".join(d.notes)
    assert "similarity index" in notes and "hashtag suggester" in notes and "forecast model" in notes
    assert not (root / "runs" / "run-a" / "index").exists()
    assert not (analytics / "hashtags.npz").exists()


# ----------------------------------------------------------------------- scatter
def test_scatter_arrays_are_aligned(lib, scores):
    data = q.scatter_data(lib, "run-a")
    videos = lib.videos()  # status ok, by id
    assert list(data.ids) == [v.id for v in videos] and data.run_id == "run-a"
    assert data.originality.dtype == np.float32 and data.likes.dtype == np.float64
    stored = dict(zip((str(i) for i in scores["ids"]), scores["originality"]))
    np.testing.assert_allclose(data.originality, [stored[v.id] for v in videos], rtol=1e-6)
    np.testing.assert_array_equal(data.likes, [v.likes for v in videos])
    np.testing.assert_array_equal(data.followers, [v.author.followers for v in videos])
    for codes in (data.author_codes, data.sound_codes, data.category_codes):
        assert codes.dtype == np.int32 and codes.min() >= 0
        counts = np.bincount(codes)
        assert list(counts) == sorted(counts, reverse=True)  # the most used label first
    assert [data.authors[c] for c in data.author_codes] == [v.author.unique_id for v in videos]
    assert [data.sounds[c] for c in data.sound_codes] == [v.sound.title for v in videos]
    assert data.category_field == "first_hashtag"
    assert [data.categories[c] for c in data.category_codes] == [v.hashtags[0] for v in videos]
    again = q.scatter_data(lib, "run-a")
    assert again.ids is data.ids  # cached until something changes
    unscored = q.scatter_data(lib)  # run-b: no analysis
    assert unscored.run_id == "run-b" and np.isnan(unscored.originality).all()
    assert len(unscored.notes) == 1 and list(unscored.ids) == list(data.ids)


def test_scatter_uses_a_category_field_when_metadata_has_one(library_dir, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(library_dir, root)
    with Library.open(root) as writer:
        writer.save_metadata([PostMetadata(id="v003", source="test", hashtags=("x",),
                                           extra={"category": "dance"})])
    with Library.open(root, read_only=True) as lib:
        data = q.scatter_data(lib, "run-a")
    assert data.category_field == "category" and data.categories == ("dance",)
    assert data.category_codes[list(data.ids).index("v003")] == 0
    assert (data.category_codes == -1).sum() == len(data) - 1
    assert np.isnan(data.likes[list(data.ids).index("v003")])  # that record has no likes


# ------------------------------------------------------------ changes and writes
def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(mtime_ns, size) of library.db and of every file under the library's folders."""
    out = {"library.db": (root / "library.db").stat().st_mtime_ns}
    for folder in ("runs", "thumbs", "cache", "reports"):
        for p in sorted((root / folder).rglob("*")) if (root / folder).exists() else ():
            st = p.stat()
            out[str(p.relative_to(root))] = (st.st_mtime_ns, st.st_size)
    out["top"] = tuple(sorted(p.name for p in root.iterdir() if not p.name.endswith(("-shm", "-wal"))))
    return out


def read_everything(lib) -> None:
    for run in ("run-a", None):
        q.video_page(lib, run, offset=0, limit=50, sort="originality", hashtag="fyp")
        q.video_detail(lib, "v010", run_id=run)
        q.scatter_data(lib, run)
    q.thumbnail(lib, "v000")


def test_reading_writes_nothing(library_dir):
    before = snapshot(library_dir)
    for read_only in (True, False):  # a script's writable Library reads the same way
        with Library.open(library_dir, read_only=read_only) as lib:
            read_everything(lib)
            q.change_counter(lib)
    assert snapshot(library_dir) == before


def test_change_counter_sees_other_connections_processes_and_analyses(library_dir, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(library_dir, root)
    with Library.open(root, read_only=True) as lib:
        first = q.change_counter(lib)
        read_everything(lib)
        assert q.change_counter(lib) == first  # reading changes nothing

        with Library.open(root) as writer:  # an import in another connection
            writer.save_metadata([PostMetadata(id="v003", source="test", likes=123_456)])
        second = q.change_counter(lib)
        assert second != first
        page = q.video_page(lib, "run-a", offset=0, limit=1)
        assert page.rows[0].id == "v003" and page.rows[0].likes == 123_456  # no stale cache
        assert q.change_counter(lib) == second

        code = ("import sys; from reelscope.core.store.library import Library; "
                "lib = Library.open(sys.argv[1]); "
                "lib.db.execute(\"UPDATE engagement SET likes = 7 WHERE video_id = 'v003'\"); "
                "lib.close()")
        subprocess.run([sys.executable, "-c", code, str(root)], check=True, timeout=120)
        third = q.change_counter(lib)
        assert third != second
        assert q.video_page(lib, "run-a", offset=0, limit=1, text="v003").rows[0].likes == 7

        assert q.video_page(lib, offset=0, limit=1).notes  # run-b: no analysis yet
        analyze(root, "run-b")  # a new analysis (files only, no database write)
        assert q.change_counter(lib) != third
        page = q.video_page(lib, offset=0, limit=1, sort="originality")
        assert page.run_id == "run-b" and page.notes == () and page.rows[0].originality is not None


def test_queries_can_run_on_several_threads(lib):
    errors: list[BaseException] = []
    totals: list[int] = []

    def work(i: int) -> None:
        try:
            for sort in ("likes", "originality", "followers"):
                totals.append(q.video_page(lib, "run-a", offset=i, limit=5, sort=sort).total)
            q.video_detail(lib, f"v0{i}5", run_id="run-a")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and set(totals) == {122}


def test_results_are_frozen(lib):
    import dataclasses

    page = q.video_page(lib, "run-a", offset=0, limit=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.total = 0  # type: ignore[misc]
    assert json.dumps(dataclasses.asdict(page))  # plain values all the way down
