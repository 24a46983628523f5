"""The library store: folder layout, migrations, typed reads and metadata upserts."""

from __future__ import annotations

import sqlite3

import pytest

from reelscope.core.store.library import Library, LibraryError
from reelscope.core.store.models import Author, PostMetadata, Problem, Sound, TrainingRun
from reelscope.core.store.schema import LATEST_VERSION, MIGRATIONS, SchemaTooNew, migrate


def test_create_then_open_records_migrations_in_wal_mode(tmp_path):
    lib = Library.create(tmp_path / "lib")
    assert (tmp_path / "lib" / "library.db").exists()
    mode = lib._conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    versions = [r[0] for r in lib._conn.execute("SELECT version FROM schema_migrations")]
    assert versions == [m[0] for m in MIGRATIONS]
    lib.close()
    with Library.open(tmp_path / "lib") as again:
        assert again.counts()["imported"] == 0


def test_create_refuses_existing_and_open_refuses_non_library(tmp_path):
    Library.create(tmp_path / "lib").close()
    with pytest.raises(LibraryError, match="already holds a library"):
        Library.create(tmp_path / "lib")
    with pytest.raises(LibraryError, match="not a Reelscope library"):
        Library.open(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(LibraryError, match="not a folder"):
        Library.create(tmp_path / "file")


def test_migrations_apply_in_order_once_and_upgrade_older_databases(tmp_path):
    conn = sqlite3.connect(tmp_path / "db", isolation_level=None)
    first = [(1, "one", "CREATE TABLE a (x INTEGER);")]
    assert migrate(conn, first) == 1
    later = first + [(2, "two", "ALTER TABLE a ADD COLUMN y TEXT; INSERT INTO a VALUES (1, 'k');")]
    assert migrate(conn, later) == 2
    assert migrate(conn, later) == 2  # idempotent: nothing re-applied
    assert conn.execute("SELECT COUNT(*) FROM a").fetchone()[0] == 1
    names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY version")]
    assert names == ["one", "two"]


def test_failed_migration_rolls_back_whole_step(tmp_path):
    conn = sqlite3.connect(tmp_path / "db", isolation_level=None)
    bad = [(1, "half", "CREATE TABLE a (x INTEGER); INSERT INTO missing VALUES (1);")]
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, bad)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'a'").fetchone() is None
    assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == 0


def test_newer_schema_is_refused_not_damaged(tmp_path):
    lib = Library.create(tmp_path / "lib")
    lib._conn.execute("INSERT INTO schema_migrations VALUES (?, 'future', 0)", [LATEST_VERSION + 1])
    lib.close()
    with pytest.raises(SchemaTooNew, match="newer"):
        Library.open(tmp_path / "lib")


def _post(i: str, **kw) -> PostMetadata:
    base = dict(
        id=i, source="test", description=f"video {i} #Dance", posted_at=1_600_000_000,
        author=Author("a1", "alice", "Alice", followers=1000, hearts=50),
        sound=Sound("s1", "Song", "Band", original=False),
        likes=10, shares=1, comments=2, plays=100, hashtags=("dance", "fyp"),
        extra={"region": "FR"},
    )
    base.update(kw)
    return PostMetadata(**base)


def test_metadata_joins_into_typed_videos_and_later_rows_update(tmp_path):
    lib = Library.create(tmp_path / "lib")
    lib.save_metadata([_post("1"), _post("2", likes=99, hashtags=("cats",))])
    lib.db["videos"].insert_all([
        {"id": "1", "path": "/v/1.mp4", "status": "ok", "has_audio": 1},
        {"id": "2", "path": "/v/2.mp4", "status": "failed", "error": "empty file"},
    ])
    v = lib.get("1")
    assert v.ok and v.has_audio is True
    assert v.author.followers == 1000 and v.sound.original is False
    assert v.hashtags == ("dance", "fyp") and v.extra == {"region": "FR"}
    assert [x.id for x in lib.videos()] == ["1"]
    assert [x.id for x in lib.videos(status=None)] == ["1", "2"]
    assert lib.get("2").likes == 99 and lib.get("2").hashtags == ("cats",)

    # A later export with fresher numbers updates; a missing field does not erase a known one.
    lib.save_metadata([_post("1", likes=500, hashtags=("dance",),
                             author=Author("a1", followers=2000))])
    v = lib.get("1")
    assert v.likes == 500 and v.hashtags == ("dance",)
    assert v.author.followers == 2000 and v.author.hearts == 50 and v.author.unique_id == "alice"
    with pytest.raises(KeyError):
        lib.get("nope")


def test_problems_are_recorded_once_and_runs_round_trip(tmp_path):
    lib = Library.create(tmp_path / "lib")
    p = Problem("import", "/v/bad.mp4", "empty file (0 bytes)")
    lib.record_problem(p)
    lib.record_problem(p)
    assert lib.problems() == [p]
    run = TrainingRun("r1", "simclr", "tiny", "finished", 1.0, "runs/r1", metrics={"loss": 0.5})
    lib.save_run(run)
    assert lib.runs() == [run] and lib.run("r1").metrics == {"loss": 0.5}


def test_transaction_rolls_back_every_step_on_error(tmp_path):
    lib = Library.create(tmp_path / "lib")
    with pytest.raises(RuntimeError):
        with lib.transaction() as c:
            c.execute("INSERT INTO videos(id, path, status) VALUES ('x', '/x', 'ok')")
            raise RuntimeError("boom")
    assert lib.videos(status=None) == []
    assert lib.integrity_ok()


def test_a_content_hash_from_the_database_never_becomes_a_path_outside_the_cache(tmp_path):
    """A library.db someone sent you may hold '../..' in content_hash: no cache path is
    built from it (issue 16)."""
    import pytest

    from reelscope.core.query import thumbnail

    lib = Library.create(tmp_path / "lib")
    lib.db["videos"].insert({"id": "evil", "path": str(tmp_path / "v.mp4"), "status": "ok",
                             "content_hash": "../../../../tmp/evil"})
    for make in (lib.cache.thumb_path, lib.cache.frames_path, lib.cache.mel_path, lib.cache.info_path):
        with pytest.raises(ValueError, match="not a content hash"):
            make("../../../../tmp/evil")
    assert lib.cache.thumb_path("ab12cd").parent.parent == lib.cache.thumbs
    assert thumbnail(lib, "evil") is None


@pytest.mark.slow
def test_listing_more_videos_than_sqlite_takes_variables_works(tmp_path):
    """videos() joins hashtags for every listed video: that was one IN (...) with a
    variable per video, past SQLite's limit ("too many SQL variables" at 300k videos)."""
    import sqlite3

    lib = Library.create(tmp_path / "lib")
    n = lib.db.conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) + 1  # 250,001 here
    lib.db["videos"].insert_all({"id": f"v{i:05d}", "path": f"/x/{i}.mp4", "status": "ok"} for i in range(n))
    lib.db.execute("INSERT INTO hashtags(tag) VALUES ('fyp')")
    lib.db.execute("INSERT INTO video_hashtags(video_id, hashtag_id) SELECT 'v00007', id FROM hashtags")
    videos = lib.videos()
    assert len(videos) == n and videos[7].hashtags == ("fyp",) and videos[8].hashtags == ()
