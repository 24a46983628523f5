"""The error contract (issue 16): every command against every broken library.

Each failure is ONE line on stderr, ``reelscope COMMAND: …``, that names what failed
(the file, the path, "newer", "in use by") and what to do; the exit code is a documented
one (0 done, 1 the job failed, 2 usage, 75 another job is writing); no traceback unless
``--debug`` (or ``REELSCOPE_DEBUG=1``) asks for it. Another application's database is
never written. Commands run in-process through ``core.cli.main.main`` (the same code as
the ``reelscope`` command, without a new interpreter per call); a few cases also run as
real subprocesses.
"""

from __future__ import annotations

import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import make_clip
from reelscope.core.cli.main import BUSY, main

# command name -> argv; {lib} the library, {clip} a real video file, {src} a folder of videos,
# {out} a fresh output folder
COMMANDS: dict[str, list[str]] = {
    "info": ["info", "--library", "{lib}"],
    "import": ["import", "{src}", "--library", "{lib}", "--workers", "1"],
    "train": ["train", "--library", "{lib}", "--epochs", "1", "--preset", "tiny"],
    "embed": ["embed", "--library", "{lib}"],
    "analyze": ["analyze", "--library", "{lib}"],
    "similar-id": ["similar", "c1", "--library", "{lib}"],
    "similar-file": ["similar", "{clip}", "--library", "{lib}"],
    "evaluate": ["evaluate", "--library", "{lib}"],
    "predict": ["predict", "{clip}", "--library", "{lib}"],
    "export-scores": ["export", "--what", "scores", "--out", "{out}/scores.csv", "--library", "{lib}"],
    "export-embeddings": ["export", "--what", "embeddings", "--out", "{out}/emb.npz", "--library", "{lib}"],
    "report": ["report", "--out", "{out}/report.html", "--library", "{lib}"],
}
WRITERS = {"import", "train", "embed", "analyze", "report"}  # they take the library's writing lock
NEEDS_WEIGHTS = {"embed", "similar-file", "predict"}  # they run the run's encoder
NEEDS_EMBEDDINGS = set(COMMANDS) - {"info", "import", "train", "embed"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    """Six real clips imported, a tiny run trained for one epoch (weights and embeddings),
    analysed: a working library each case copies and breaks."""
    root = tmp_path_factory.mktemp("contract")
    src = root / "videos"
    for i in range(6):
        make_clip(src / f"c{i}.mp4", seconds=1.0, seed=i)
    lib = root / "library"
    quiet = ["--quiet", "--json"]
    assert main(["import", str(src), "--library", str(lib), "--workers", "1", *quiet]) == 0
    assert main(["train", "--library", str(lib), "--epochs", "1", "--preset", "tiny", *quiet]) == 0
    assert main(["analyze", "--library", str(lib), *quiet]) == 0
    run = next((lib / "runs").iterdir())
    assert (run / "model.safetensors").exists() and (run / "embeddings.npz").exists()
    clip = make_clip(root / "new" / "draft.mp4", seconds=1.0, seed=9)
    return {"library": lib, "src": src, "clip": clip, "run": run.name}


# ---------------------------------------------------------------- broken libraries
def _copy(trained: dict, to: Path) -> Path:
    shutil.copytree(trained["library"], to)
    return to


def _run_dir(lib: Path) -> Path:
    return next((lib / "runs").iterdir())


def _sql(lib: Path, statement: str) -> None:
    conn = sqlite3.connect(lib / "library.db")
    conn.execute(statement)
    conn.commit()
    conn.close()


def junk_db(trained: dict, to: Path) -> Path:
    to.mkdir()
    (to / "library.db").write_bytes(np.random.default_rng(0).bytes(8192))
    return to


def empty_db(trained: dict, to: Path) -> Path:
    to.mkdir()
    (to / "library.db").write_bytes(b"")
    return to


def foreign_db(trained: dict, to: Path) -> Path:
    to.mkdir()
    conn = sqlite3.connect(to / "library.db")
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.execute("INSERT INTO notes VALUES ('shopping list')")
    conn.commit()
    conn.close()
    return to


def newer_schema(trained: dict, to: Path) -> Path:
    lib = _copy(trained, to)
    _sql(lib, "INSERT INTO schema_migrations VALUES (999, 'from the future', 0)")
    return lib


def parent_is_file(trained: dict, to: Path) -> Path:
    to.write_text("a file, not a folder")
    return to / "library"


def missing(trained: dict, to: Path) -> Path:
    return to / "nowhere"


def corrupt_weights(trained: dict, to: Path) -> Path:
    lib = _copy(trained, to)
    (_run_dir(lib) / "model.safetensors").write_bytes(np.random.default_rng(1).bytes(4096))
    return lib


class _Payload:
    """Unpickling this would create MARKER: the weights must never be unpickled."""

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (Path(os.environ["CONTRACT_MARKER"]),))


def pickle_weights(trained: dict, to: Path) -> Path:
    lib = _copy(trained, to)
    (_run_dir(lib) / "model.safetensors").write_bytes(pickle.dumps(_Payload()))
    return lib


def truncated_embeddings(trained: dict, to: Path) -> Path:
    lib = _copy(trained, to)
    path = _run_dir(lib) / "embeddings.npz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return lib


def run_outside(trained: dict, to: Path) -> Path:
    lib = _copy(trained, to)
    _sql(lib, "UPDATE runs SET dir = '../../etc'")
    return lib


@dataclass(frozen=True)
class Case:
    build: Callable[[dict, Path], Path]
    says: tuple[str, ...]  # a failing command's line holds one of these ({lib} is the library)
    codes: dict[str, int] = field(default_factory=dict)  # command -> exit code
    default: int = 1  # every other command's exit code


CASES: dict[str, Case] = {
    "not-a-database": Case(junk_db, ("{lib}/library.db",)),
    # SQLite reads an empty file as an empty database: a writer makes it a library, a
    # reader says it is empty; what needs a run then says to train
    "empty-db": Case(empty_db, ("empty", "reelscope train", "import at least"), {"import": 0}),
    "foreign-db": Case(foreign_db, ("another application's database",)),
    "newer-schema": Case(newer_schema, ("newer",)),
    "parent-is-a-file": Case(parent_is_file, ("{lib}",)),
    "missing": Case(missing, ("{lib}",), {"import": 0}),
    "corrupt-weights": Case(corrupt_weights, ("model.safetensors",),
                            {c: 0 for c in COMMANDS if c not in NEEDS_WEIGHTS}),
    "pickle-weights": Case(pickle_weights, ("model.safetensors",),
                           {c: 0 for c in COMMANDS if c not in NEEDS_WEIGHTS}),
    "truncated-embeddings": Case(truncated_embeddings, ("embeddings.npz",),
                                 {c: 0 for c in COMMANDS if c not in NEEDS_EMBEDDINGS}),
    # a run whose folder is outside the library is ignored: commands that need one say
    # there is none (and what to do); with --run it is named (test below)
    "run-outside": Case(run_outside, ("no run with", "no embeddings in"),
                        {"info": 0, "import": 0, "train": 0}),
}


def call(argv: list[str], capsys) -> tuple[int, str, str]:
    """``reelscope ARGV --quiet`` in-process: exit code, stdout, stderr."""
    try:
        code = main([*argv, "--quiet"])
    except SystemExit as stop:  # argparse
        code = stop.code
    out = capsys.readouterr()
    return code, out.out, out.err


def fill(argv: list[str], **values: object) -> list[str]:
    return [a.format(**{k: str(v) for k, v in values.items()}) for a in argv]


def assert_one_line(err: str, command: str, says: tuple[str, ...] = ()) -> str:
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), f"not one line:\n{err}"
    assert lines[0].startswith(f"reelscope {command.split('-')[0]}: "), lines[0]
    assert "unexpected error" not in lines[0], lines[0]  # a known failure is never a "bug"
    if says:
        assert any(s in lines[0] for s in says), f"{lines[0]!r} names none of {says}"
    return lines[0]


def _files(folder: Path) -> dict[str, tuple[bytes, int]]:
    if not folder.is_dir():
        return {}
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("case", list(CASES))
def test_every_command_against_every_broken_library(trained, tmp_path, capsys, monkeypatch, case, command):
    spec = CASES[case]
    marker = tmp_path / "unpickled"
    monkeypatch.setenv("CONTRACT_MARKER", str(marker))
    lib = spec.build(trained, tmp_path / "case")
    out = tmp_path / "out"
    out.mkdir()
    before = _files(lib)
    code, _, err = call(fill(COMMANDS[command], lib=lib, clip=trained["clip"], src=trained["src"], out=out),
                        capsys)

    assert code == spec.codes.get(command, spec.default), err
    assert "Traceback" not in err
    if code:
        assert_one_line(err, command, tuple(s.format(lib=lib) for s in spec.says))
    else:
        assert err == ""  # --quiet: nothing on stderr when it worked
    assert not marker.exists()  # pickled weights were never unpickled
    if case in ("foreign-db", "not-a-database"):
        assert _files(lib) == before  # refused untouched: same files, bytes and mtimes
    if case == "newer-schema":  # refused, never migrated down or over
        conn = sqlite3.connect(lib / "library.db")
        assert conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == 999
        conn.close()


def test_a_run_named_with_run_whose_folder_is_outside_is_refused_by_name(trained, tmp_path, capsys):
    lib = run_outside(trained, tmp_path / "lib")
    for command in ("embed", "analyze", "similar-id", "export-scores", "report"):
        code, _, err = call(fill(COMMANDS[command], lib=lib, out=tmp_path, clip="", src="")
                            + ["--run", trained["run"]], capsys)
        assert code == 1
        assert_one_line(err, command, ("outside the library",))
    assert not (tmp_path / "etc").exists()


# ------------------------------------------------------------------------ the lock
HOLD = textwrap.dedent("""
    import sys
    from reelscope.core.store.library import Library
    with Library.open(sys.argv[1]).writing("import"):
        print("held", flush=True)
        sys.stdin.readline()
""")


@pytest.fixture
def held(trained, tmp_path):
    """A copy of the library whose writing lock another live process holds."""
    lib = _copy(trained, tmp_path / "lib")
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(lib)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    yield lib, proc
    proc.kill()
    proc.wait(timeout=30)


def test_writers_are_told_the_library_is_busy_and_readers_still_work(trained, held, tmp_path, capsys):
    lib, proc = held
    for command, argv in COMMANDS.items():
        code, _, err = call(fill(argv, lib=lib, clip=trained["clip"], src=trained["src"], out=tmp_path), capsys)
        if command in WRITERS:
            assert code == BUSY, (command, err)
            line = assert_one_line(err, command, ("library in use by import since",))
            assert f"(pid {proc.pid})" in line and "run this again" in line
        else:
            assert code == 0 and err == "", (command, err)


# ------------------------------------------------------------------- read-only
def _without_root_powers(capsys):
    """``call`` for a read-only folder. As root, file modes stop nothing, so the command runs
    as its own process with the two capabilities that let root ignore them dropped from its
    bounding set (``setpriv``): root then meets the modes as any user does."""
    if os.geteuid() != 0:
        return lambda argv: call(argv, capsys)
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file modes cannot stop root's writes")

    def run(argv: list[str]) -> tuple[int, str, str]:
        proc = subprocess.run([setpriv, "--bounding-set=-dac_override,-dac_read_search", sys.executable,
                               "-m", "reelscope", *argv, "--quiet"], capture_output=True, text=True,
                              timeout=300)
        return proc.returncode, proc.stdout, proc.stderr

    return run


def test_a_read_only_library_folder_is_read_and_writers_say_why(trained, tmp_path, capsys):
    lib = _copy(trained, tmp_path / "lib")
    paths = [lib, *lib.rglob("*")]
    run = _without_root_powers(capsys)
    before = _files(lib)
    for p in paths:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        code, _, err = run(fill(COMMANDS["info"], lib=lib))
        assert code == 0, err
        for command in ("import", "analyze"):
            code, _, err = run(fill(COMMANDS[command], lib=lib, src=trained["src"], out=tmp_path, clip=""))
            assert code == 1
            assert_one_line(err, command, ("read-only", "readonly", "Permission", "library.db"))
    finally:
        for p in paths:
            p.chmod(0o755 if p.is_dir() else 0o644)
    assert _files(lib) == before  # nothing written, not even the WAL


def test_a_read_only_folder_with_unmerged_writes_is_refused_in_one_line(trained, tmp_path, capsys):
    """A read-only folder whose write-ahead log still holds writes cannot be read as immutable
    (the log would be ignored): one line saying so and what to do, not stale data."""
    lib = _copy(trained, tmp_path / "lib")
    writer = sqlite3.connect(lib / "library.db")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("UPDATE videos SET error = 'edited' WHERE rowid = 1")
    writer.commit()
    frozen = tmp_path / "frozen"
    shutil.copytree(lib, frozen)  # the log copied while the writer still holds it unmerged
    writer.close()
    assert (frozen / "library.db-wal").stat().st_size > 0
    paths = [frozen, *frozen.rglob("*")]
    run = _without_root_powers(capsys)
    for p in paths:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        code, _, err = run(fill(COMMANDS["info"], lib=frozen))
        assert code == 0, err  # with its shared-memory file SQLite reads the log as it is
        (frozen / "library.db-shm").chmod(0o644)
        frozen.chmod(0o755)
        (frozen / "library.db-shm").unlink()
        frozen.chmod(0o555)
        code, _, err = run(fill(COMMANDS["info"], lib=frozen))
    finally:
        for p in paths:
            if p.exists():
                p.chmod(0o755 if p.is_dir() else 0o644)
    assert code == 1
    assert_one_line(err, "info", ("not yet merged",))


def test_opening_read_only_reads_and_writes_nothing(trained, tmp_path, capsys):
    from reelscope.core.store.library import Library, LibraryError

    lib = _copy(trained, tmp_path / "lib")
    before = _files(lib)
    with Library.open(lib, read_only=True) as reader:
        assert len(reader.videos()) == 6 and [r.id for r in reader.runs()] == [trained["run"]]
        with pytest.raises(LibraryError, match="read-only"):
            reader.writing("analyze")
    code, out, err = call(["info", "--library", str(lib), "--json"], capsys)
    assert code == 0 and err == "" and '"imported": 6' in out
    assert {k: v for k, v in _files(lib).items() if not k.startswith("library.db-")} == \
        {k: v for k, v in before.items() if not k.startswith("library.db-")}


# ---------------------------------------------------------------- usage errors
@pytest.mark.parametrize("argv, says", [
    (["analyze", "--coverage", "5"], "between 0 and 1"),
    (["similar", "c1", "-k", "-1"], "at least 1"),
    (["predict", "x.mp4", "--followers", "-3"], "at least 0"),
    (["train", "--epochs", "0"], "at least 1"),
    (["train", "--preset", "huge"], "invalid choice"),
    (["export", "--what", "scores"], "required: --out"),
    (["info"], "required: --library"),
    (["no-such-command"], "invalid choice"),
])
def test_out_of_range_options_are_one_usage_line(tmp_path, capsys, argv, says):
    code, _, err = call([*argv, "--library", str(tmp_path)] if argv != ["info"] else argv, capsys)
    assert code == 2
    assert "Traceback" not in err and "usage:" not in err
    assert len(err.splitlines()) == 1 and says in err and "--help" in err, err


# ---------------------------------------------------------------- --debug
@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback_then_the_same_line(trained, tmp_path, capsys, monkeypatch, how):
    lib = junk_db(trained, tmp_path / "junk")
    argv = ["analyze", "--library", str(lib)]
    code, _, plain = call(argv, capsys)
    if how == "env":
        monkeypatch.setenv("REELSCOPE_DEBUG", "1")
    code_debug, _, err = call(["--debug", *argv] if how == "flag" else argv, capsys)
    assert code == code_debug == 1
    assert "Traceback (most recent call last)" in err and "sqlite3.DatabaseError" in err  # the cause, too
    assert err.splitlines()[-1] == plain.strip()  # the one line still comes last


def test_other_failures_name_the_file_in_one_line(trained, tmp_path, capsys):
    """Found by this suite: an output folder under a file, a labels folder or non-JSON
    labels file, a run id train cannot find, and predict where every file fails."""
    lib = _copy(trained, tmp_path / "lib")
    (tmp_path / "afile").write_text("x")
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    text_video = tmp_path / "junk.mp4"
    text_video.write_text("not a video")
    for argv, says in (
        (["export", "--what", "scores", "--out", str(tmp_path / "afile" / "s.csv")], f"cannot use {tmp_path / 'afile'}"),
        (["report", "--out", str(tmp_path / "afile" / "r.html")], f"cannot use {tmp_path / 'afile'}"),
        (["evaluate", "--labels", str(tmp_path)], f"cannot use {tmp_path}"),
        (["evaluate", "--labels", str(junk)], f"labels file {junk} is not valid JSON"),
        (["train", "--run", "nosuch", "--epochs", "1", "--preset", "tiny"], "no training run 'nosuch' in"),
        (["predict", str(text_video)], "nothing could be predicted: "),
    ):
        code, _, err = call([*argv, "--library", str(lib)], capsys)
        assert code == 1, (argv, err)
        line = assert_one_line(err, argv[0], (says,))
        assert '"' not in line.split(": ", 1)[1][:1]  # no KeyError quotes around the sentence


def test_evaluate_on_a_library_where_nothing_shares_a_sound(trained, tmp_path, capsys):
    """No two videos share a sound (these clips have no metadata), so retrieval has no
    queries: evaluate printed 'unexpected error: AttributeError' instead of a table."""
    lib = _copy(trained, tmp_path / "lib")
    code, out, err = call(["evaluate", "--library", str(lib), "--json"], capsys)
    assert code == 0 and err == ""
    import json

    rows = json.loads(out)["comparison"]
    assert {r["kind"] for r in rows} == {"visual", "audio", "fused"}
    assert all(r["retrieval_map"] is None for r in rows)


# ---------------------------------------------------------------- real processes
@pytest.mark.parametrize("case", ["not-a-database", "foreign-db", "newer-schema", "corrupt-weights"])
def test_the_reelscope_command_itself_keeps_the_contract(trained, tmp_path, case):
    lib = CASES[case].build(trained, tmp_path / "case")
    command = "predict" if case == "corrupt-weights" else "analyze"
    argv = fill(COMMANDS[command], lib=lib, clip=trained["clip"], src="", out=tmp_path)
    res = subprocess.run([sys.executable, "-m", "reelscope", *argv, "--quiet"], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 1
    assert_one_line(res.stderr, command, tuple(s.format(lib=lib) for s in CASES[case].says))
