"""Crash safety: SIGKILL at a seeded schedule of kill points in every writing phase (issue 16
item 2).

Every writing site calls ``reelscope.training.faults.point``; ``REELSCOPE_KILL_AT=site:n``
makes the n-th hit of that site SIGKILL the process — a crash at a chosen step, not at a
wall-clock moment, so each case replays exactly. The sites and how often each command
reaches them are read from a logged run of that very command (``REELSCOPE_KILL_LOG``) on
the same prepared library; ``random.Random(SEED)`` picks the points from them, the named
sites first (transactions, cache entry, checkpoint, weights, index, scores, report), then
the mid-write and before-rename points of every kind of file.

Each case: copy the phase's prepared library, run the real command (``python -m
reelscope ...``) with the kill point, assert it died by SIGKILL and left no live process
behind (the import's decoders included: every process of a case carries a marker in its
environment), check that what the killed run left is never taken as valid, run the same
command again without the kill point and check: exit 0, ``PRAGMA integrity_check`` ok,
the same videos once each, training resumed in the same run from its last checkpoint,
every file complete and equal to what an uninterrupted run writes.

Reproduce one case: ``REELSCOPE_KILL_AT=SITE:N reelscope COMMAND`` on a copy of the
library; the whole schedule: ``pytest tests/test_crash_safety.py`` (the summary is printed
with ``-s``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import pytest

from conftest import make_clip
from reelscope.training import faults

SEED = 16
VIDEOS = [str(100 + i) for i in range(8)]
TRAIN = ["--preset", "tiny", "--epochs", "2", "--quiet", "--json"]
STEPS = 2  # 8 videos, batch 8: one step an epoch
# Kill points per phase (at least 50 in all); the named sites of a phase come first.
QUOTA = {"import": 20, "train": 12, "embed": 2, "analyze": 6, "reanalyze": 6, "report-pdf": 4,
         "report-html": 4}
MARK = "REELSCOPE_CRASH_CASE"  # inherited by every process a case starts
RESULTS: list[dict] = []  # one per case run, for the tally at the end


# ------------------------------------------------------------------ processes
def reelscope(args: list[str], out_dir: Path, kill_at: Optional[str] = None,
              log: Optional[Path] = None, mark: str = "") -> tuple[int, str, str]:
    """Run ``reelscope ARGS`` as its own process; (returncode, stdout, stderr). Output goes
    to files, not pipes: a worker left alive must not hold the test waiting on a pipe."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELSCOPE_KILL")}
    env[MARK] = mark
    if kill_at:
        env[faults.ENV] = kill_at
    if log:
        env[faults.LOG_ENV] = str(log)
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    stdout, stderr = out_dir / f"{tag}.out", out_dir / f"{tag}.err"
    with open(stdout, "w") as o, open(stderr, "w") as e:
        code = subprocess.run([sys.executable, "-m", "reelscope", *args], env=env, stdout=o,
                              stderr=e, timeout=300).returncode
    return code, stdout.read_text(), stderr.read_text()


def marked_processes(mark: str) -> list[int]:
    """Live (not zombie) processes whose environment carries ``MARK=mark``."""
    needle = f"{MARK}={mark}\0".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if needle not in environ.read_bytes():
                continue
            state = (environ.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(environ.parent.name))
    return found


def wait_no_survivors(mark: str, seconds: float = 5.0) -> list[int]:
    """Give orphaned workers the time their watchdog needs (0.5 s a check), then list
    those still alive."""
    deadline = time.monotonic() + seconds
    alive = marked_processes(mark)
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = marked_processes(mark)
    return alive


def site_counts(log: Path) -> dict[str, int]:
    """How often a logged run reached each site (the last count per site)."""
    counts: dict[str, int] = {}
    for line in log.read_text().splitlines():
        site, n = line.rsplit(" ", 1)
        counts[site] = max(counts.get(site, 0), int(n))
    return counts


# ------------------------------------------------------------------- libraries
def run_dir(lib: Path) -> Path:
    """The folder of the library's one recorded run."""
    (row,) = db_rows(lib, "SELECT dir FROM runs")
    return lib / row[0]


def db_rows(lib: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{lib / 'library.db'}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def check_database(lib: Path) -> None:
    """integrity_check ok, and the same videos as an uninterrupted import: none lost, none
    twice, all usable with a complete cache entry and their metadata."""
    conn = sqlite3.connect(lib / "library.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT id, status, content_hash FROM videos").fetchall()
        posts = {r[0] for r in conn.execute("SELECT video_id FROM posts")}
    finally:
        conn.close()
    ids = [r[0] for r in rows]
    assert sorted(ids) == VIDEOS, f"videos {sorted(ids)}"  # none lost, none duplicated
    assert {r[1] for r in rows} == {"ok"} and posts == set(VIDEOS)
    for _, _, digest in rows:
        frames = np.load(lib / "cache" / "clips" / digest[:2] / f"{digest}.frames.npy")
        mel = np.load(lib / "cache" / "clips" / digest[:2] / f"{digest}.mel.npy")
        assert frames.dtype == np.uint8 and frames.ndim == 4 and mel.ndim == 2
        assert (lib / "thumbs" / digest[:2] / f"{digest}.jpg").stat().st_size > 0


def read_only(lib: Path):
    from reelscope.core.store.library import Library

    return Library.open(lib, read_only=True)


def metrics_lines(run: Path) -> list[str]:
    path = run / "metrics.jsonl"
    return path.read_text().splitlines() if path.exists() else []


def embeddings(lib: Path):
    from reelscope.core.store.embeddings import load_embeddings_file

    return load_embeddings_file(run_dir(lib) / "embeddings.npz")


# ---------------------------------------------------------------- the bases
@dataclass
class Bases:
    """The prepared libraries each phase starts from, the site counts of each phase's
    command on them, and what an uninterrupted run leaves (to compare reruns with)."""

    root: Path
    src: Path
    libs: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # The analysis' per-video scores by embedding kind: originality (visual and audio
    # whatever the kind) and the like forecast (from the kind's embedding).
    scores: dict[str, np.ndarray] = field(default_factory=dict)


def _source(folder: Path) -> Path:
    folder.mkdir(parents=True)
    items = []
    for i, vid in enumerate(VIDEOS):
        make_clip(folder / f"{vid}.mp4", seed=i)
        items.append({"id": vid, "desc": f"clip {vid} #tag{i % 3}", "createTime": 1_650_000_000 + i,
                      "author": {"id": f"u{i % 3}", "uniqueId": f"author{i % 3}"},
                      "authorStats": {"followerCount": 100 * (i + 1)},
                      "stats": {"diggCount": 10 * (i + 1)}})
    (folder / "meta.json").write_text(json.dumps(items))
    return folder


def _logged(bases: Bases, phase: str, lib: Path, args: list[str]) -> None:
    log = bases.root / f"{phase}.log"
    code, _, err = reelscope(args, bases.root / "out", log=log)
    assert code == 0, err
    bases.counts[phase] = site_counts(log)


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.fixture(scope="module")
def bases(tmp_path_factory) -> Bases:
    """import -> imported; train -> embedded; embedded less its embeddings -> trained;
    analyze -> analysed (and a re-analysis by visual embeddings); reports -> reported.
    Each step logs the sites its command reaches: the counts the schedule draws from."""
    root = tmp_path_factory.mktemp("crash")
    b = Bases(root, _source(root / "src"))
    libs = b.libs
    libs["imported"] = root / "imported"
    _logged(b, "import", libs["imported"], import_args(b, libs["imported"]))
    libs["embedded"] = _copy(libs["imported"], root / "embedded")
    _logged(b, "train", libs["embedded"], train_args(libs["embedded"]))
    libs["trained"] = _copy(libs["embedded"], root / "trained")
    (run_dir(libs["trained"]) / "embeddings.npz").unlink()
    b.counts["embed"] = {s: c for s, c in b.counts["train"].items() if s.endswith("/embeddings.npz")}
    libs["analysed"] = _copy(libs["embedded"], root / "analysed")
    _logged(b, "analyze", libs["analysed"], ["analyze", "--library", str(libs["analysed"]), "--json"])
    b.scores["fused"] = _scores(libs["analysed"])
    visual = _copy(libs["analysed"], root / "visual")
    _logged(b, "reanalyze", visual, ["analyze", "--library", str(visual), "--kind", "visual", "--json"])
    b.scores["visual"] = _scores(visual)
    assert not np.allclose(b.scores["fused"], b.scores["visual"])  # cases can tell them apart
    libs["reported"] = _copy(libs["analysed"], root / "reported")
    for fmt in ("pdf", "html"):
        _logged(b, f"report-{fmt}", libs["reported"], report_args(libs["reported"], fmt))
    return b


def import_args(bases: Bases, lib: Path) -> list[str]:
    return ["import", str(bases.src), "--library", str(lib), "--workers", "1", "--quiet", "--json"]


def train_args(lib: Path) -> list[str]:
    return ["train", "--library", str(lib), *TRAIN]


def report_args(lib: Path, fmt: str) -> list[str]:
    return ["report", "--library", str(lib), "--out", str(lib / "reports" / f"crash.{fmt}"), "--quiet"]


def _scores(lib: Path) -> np.ndarray:
    from reelscope.core.analytics.analyze import load_analysis

    with read_only(lib) as library:
        analysis = load_analysis(library)
    assert analysis is not None and [str(i) for i in analysis.scores["ids"]] == VIDEOS
    return _kind_scores(analysis)


def _kind_scores(analysis: Any) -> np.ndarray:
    return np.concatenate([analysis.scores["originality"], analysis.scores["like_forecast"]])


# -------------------------------------------------------------------- schedule
NAMED_FIRST = ("db.", "cache.", "import.", "checkpoint.", "weights.", "index.", "analysis.", "report.")


def draw(rng: random.Random, counts: dict[str, int], k: int) -> list[tuple[str, int]]:
    """``k`` distinct (site, n) points: every site once before any twice, the named sites
    before the file points, sites and hits in seeded random order."""
    per_site = {s: list(range(1, c + 1)) for s, c in sorted(counts.items())}
    for hits in per_site.values():
        rng.shuffle(hits)
    sites = sorted(per_site)
    rng.shuffle(sites)
    sites.sort(key=lambda s: not s.startswith(NAMED_FIRST))
    out: list[tuple[str, int]] = []
    while len(out) < k and any(per_site.values()):
        for s in sites:
            if per_site[s] and len(out) < k:
                out.append((s, per_site[s].pop()))
    return out


def schedule(bases: Bases, phase: str) -> list[tuple[str, int]]:
    rng = random.Random(f"{SEED}:{phase}")  # one stream per phase: a phase's points stay put
    return draw(rng, bases.counts[phase], QUOTA[phase])


# ------------------------------------------------------------------ one case
@dataclass
class Case:
    phase: str
    site: str
    n: int
    lib: Path
    args: list[str]
    reached: bool = False
    failure: str = ""


def crash_case(bases: Bases, phase: str, site: str, n: int, base: Optional[Path],
               args_for: Callable[[Path], list[str]],
               after_kill: Callable[[Case], object] = lambda case: None,
               after_rerun: Callable[[Case, object, str], None] = lambda case, state, out: None) -> Case:
    """Kill ``args`` at ``site:n`` on a copy of ``base``, check, run again, check."""
    lib = bases.root / "cases" / f"{phase}-{site.replace('/', '_')}-{n}"
    if base is not None:
        shutil.copytree(base, lib)
    case = Case(phase, site, n, lib, args_for(lib))
    mark = uuid.uuid4().hex
    try:
        code, _, err = reelscope(case.args, lib.parent / "out", kill_at=f"{site}:{n}", mark=mark)
        case.reached = code == -signal.SIGKILL
        if not case.reached:  # the point was never reached: the run must simply have worked
            assert code == 0, f"exit {code} without reaching the point: {err[-500:]}"
        alive = wait_no_survivors(mark)
        assert not alive, f"processes of the killed run still alive: {alive}"
        state = after_kill(case)
        code, out, err = reelscope(case.args, lib.parent / "out")
        assert code == 0, f"the rerun failed ({code}): {err[-800:]}"
        check_database(lib)
        # (A train killed before recording its run left an unrecorded folder; the rerun
        # swept it: _train_resumed checks runs/ holds only the recorded run.)
        recorded = [lib / d for (d,) in db_rows(lib, "SELECT dir FROM runs")]
        leftovers = [p for d in [*recorded, *(lib / d for d in ("reports", "cache", "thumbs"))]
                     for p in d.rglob("*.tmp")]
        assert not leftovers, f"temporary files left: {leftovers}"
        after_rerun(case, state, out)
    except AssertionError as exc:
        case.failure = " ".join(str(exc).split())[:400] or "assertion failed"  # numpy's start with \n
    except Exception as exc:  # a crash of the checks is a failure of the case, with its reason
        case.failure = f"{type(exc).__name__}: {exc}"[:400]
    RESULTS.append({"phase": phase, "site": site, "n": n, "reached": case.reached,
                          "failure": case.failure})
    if not case.failure:
        shutil.rmtree(lib, ignore_errors=True)  # keep a failed case's library to look at
    return case


def run_phase(bases: Bases, phase: str, **kwargs) -> list[Case]:
    cases = [crash_case(bases, phase, site, n, **kwargs) for site, n in schedule(bases, phase)]
    failed = [f"{c.site}:{c.n}: {c.failure}  (library kept: {c.lib})" for c in cases if c.failure]
    assert not failed, f"{len(failed)} of {len(cases)} {phase} kill points failed:\n" + "\n".join(failed)
    reached = sum(c.reached for c in cases)
    assert reached >= len(cases) - 2, f"only {reached} of {len(cases)} {phase} kill points reached"
    return cases


# ---------------------------------------------------------------------- import
@pytest.mark.slow
def test_import_survives_sigkill_at_every_scheduled_point(bases):
    """A killed import leaves committed rows and complete cache entries; the rerun imports
    the rest, reuses what was decoded, and leaves no temporary file."""
    def after_rerun(case: Case, state: object, out: str) -> None:
        report = json.loads(out)
        assert report["videos"] == {"imported": len(VIDEOS), "failed": 0}, report["videos"]
        assert report["this_run"]["new"] + report["this_run"]["skipped"] == len(VIDEOS)

    run_phase(bases, "import", base=None, args_for=lambda lib: import_args(bases, lib),
              after_rerun=after_rerun)


# ----------------------------------------------------------------------- train
@dataclass
class TrainState:
    run_id: Optional[str]  # the run the killed process recorded (None: killed before that)
    step: int  # its newest complete checkpoint's step (0: none)
    metrics: list[str]  # its metric lines up to that step


def _train_state(case: Case) -> TrainState:
    from reelscope.training.checkpoint import checkpoint_meta, load_checkpoint

    runs = db_rows(case.lib, "SELECT id, dir FROM runs")
    assert len(runs) <= 1, f"runs {runs}"
    if not runs:
        return TrainState(None, 0, [])
    folder = case.lib / runs[0][1]
    meta = checkpoint_meta(folder)
    step = meta["step"] if meta else 0
    if meta:
        assert load_checkpoint(folder) is not None  # the checkpoint it names is whole
    keep = [line for line in metrics_lines(folder) if json.loads(line)["step"] <= step]
    return TrainState(runs[0][0], step, keep)


def _train_resumed(case: Case, state: TrainState, out: str) -> None:
    from reelscope.training.checkpoint import load_model

    run = json.loads(out)
    runs = db_rows(case.lib, "SELECT id, status FROM runs")
    assert runs == [(run["id"], "done")], f"runs after the rerun: {runs}"
    if state.run_id is not None:  # the same run went on, it did not start over
        assert run["id"] == state.run_id, f"a new run {run['id']} instead of {state.run_id}"
    assert run["metrics"]["steps"] == STEPS and run["metrics"]["embedded"] == len(VIDEOS)
    folder = case.lib / "runs" / run["id"]
    # A kill before the run was recorded left a folder; the rerun swept it.
    assert [p.name for p in (case.lib / "runs").iterdir()] == [run["id"]]
    lines = metrics_lines(folder)
    assert [json.loads(line)["step"] for line in lines] == list(range(1, STEPS + 1)), lines
    # Resumed from the checkpoint: the steps before it are the killed run's own lines
    # (their timings would differ had they been trained again), the rest are new.
    assert lines[: state.step] == state.metrics
    load_model(folder)  # whole weights (a damaged file raises DamagedWeights)
    emb = embeddings(case.lib)
    assert [str(i) for i in emb.ids] == VIDEOS


@pytest.mark.slow
def test_training_survives_sigkill_and_resumes_its_run_from_the_last_checkpoint(bases):
    run_phase(bases, "train", base=bases.libs["imported"],
              args_for=train_args,
              after_kill=_train_state, after_rerun=_train_resumed)


# ----------------------------------------------------------------------- embed
@pytest.mark.slow
def test_embedding_survives_sigkill(bases):
    reference = embeddings(bases.libs["embedded"])

    def after_kill(case: Case) -> None:
        assert not (run_dir(case.lib) / "embeddings.npz").exists()  # nothing half there

    def after_rerun(case: Case, state: object, out: str) -> None:
        emb = embeddings(case.lib)
        assert [str(i) for i in emb.ids] == VIDEOS
        for kind in ("visual", "audio", "fused"):
            np.testing.assert_allclose(emb.kind(kind), reference.kind(kind), atol=1e-5)

    run_phase(bases, "embed", base=bases.libs["trained"],
              args_for=lambda lib: ["embed", "--library", str(lib), "--quiet"],
              after_kill=after_kill, after_rerun=after_rerun)


# --------------------------------------------------------------------- analyze
def _analysis_consistent(bases: Bases, lib: Path, want: Optional[str] = None) -> Optional[str]:
    """The stored analysis (None: there is none to take) agrees with itself: its summary's
    kind is the kind its scores were computed from; the index, when taken as fresh, holds
    every video's current embedding. Returns the analysis' kind."""
    from reelscope.core.analytics.analyze import load_analysis
    from reelscope.core.analytics.similar import _load_fresh

    with read_only(lib) as library:
        analysis = load_analysis(library)
    kind = None
    if analysis is not None:
        kind = analysis.result.kind
        # The summary vouches for the files beside it: none of them may be newer than it
        # (on this small library two kinds' scores can look alike, so the values alone
        # would not show one analysis' summary over the next one's files).
        written = analysis.folder / "summary.json"
        newer = [p.name for p in analysis.folder.glob("*.npz")
                 if p.stat().st_mtime_ns > written.stat().st_mtime_ns]
        assert not newer, f"summary.json is older than {newer}: two analyses mixed"
        assert [str(i) for i in analysis.scores["ids"]] == VIDEOS
        np.testing.assert_allclose(_kind_scores(analysis), bases.scores[kind], atol=1e-6,
                                   err_msg=f"the summary says {kind}, the scores are not {kind}'s")
    assert want is None or kind == want, f"analysis of kind {kind}, expected {want}"
    folder, emb = run_dir(lib), embeddings(lib)
    for index_kind in ("fused", "visual"):
        index = _load_fresh(folder / "index" / index_kind, (folder / "embeddings.npz").stat())
        if index is not None:
            assert index.ids == VIDEOS
            np.testing.assert_allclose(index.vectors(VIDEOS), emb.kind(index_kind), atol=1e-5)
    return kind


@pytest.mark.slow
@pytest.mark.parametrize("phase, base, kind", [("analyze", "embedded", "fused"),
                                               ("reanalyze", "analysed", "visual")])
def test_analysis_survives_sigkill_and_never_mixes_two_analyses(bases, phase, base, kind):
    """A first analysis, and a second one by another embedding kind replacing it: killed
    anywhere, what is stored is one whole analysis or none, never one's summary over the
    other's scores; the rerun stores the new one whole."""
    extra = [] if kind == "fused" else ["--kind", kind]
    run_phase(bases, phase, base=bases.libs[base],
              args_for=lambda lib: ["analyze", "--library", str(lib), "--json", *extra],
              after_kill=lambda case: _analysis_consistent(bases, case.lib),
              after_rerun=lambda case, state, out: _analysis_consistent(bases, case.lib, kind))


# ---------------------------------------------------------------------- report
def _whole_report(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".pdf":
        assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF"), f"{path.name} is cut short"
    else:
        assert data.rstrip().endswith(b"</html>"), f"{path.name} is cut short"
    return data


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["pdf", "html"])
def test_a_report_replaced_under_sigkill_is_the_old_one_or_the_new_one(bases, fmt):
    old = (bases.libs["reported"] / "reports" / f"crash.{fmt}").read_bytes()

    def after_kill(case: Case) -> bytes:
        assert _whole_report(case.lib / "reports" / f"crash.{fmt}") == old  # the old one, whole
        return old

    def after_rerun(case: Case, old: bytes, out: str) -> None:
        path = case.lib / "reports" / f"crash.{fmt}"
        _whole_report(path)

    run_phase(bases, f"report-{fmt}", base=bases.libs["reported"],
              args_for=lambda lib: report_args(lib, fmt), after_kill=after_kill, after_rerun=after_rerun)


# ------------------------------------------------------------ files cut short
@pytest.mark.slow
def test_files_cut_short_are_never_taken_as_valid_and_are_written_again(bases, tmp_path):
    """What an atomic write never leaves but a damaged disk or an interrupted copy can: the
    index, the scores and the embeddings cut to half are ignored and written again by the
    next run; weights cut short are refused with one line (nothing could rebuild them)."""
    from reelscope.core.analytics.analyze import load_analysis
    from reelscope.core.analytics.similar import _load_fresh
    from reelscope.core.store.embeddings import load_embeddings_file
    from reelscope.training.checkpoint import DamagedWeights, load_model

    lib = _copy(bases.libs["reported"], tmp_path / "cut")
    run, out = run_dir(lib), tmp_path / "out"

    def cut(path: Path) -> None:
        os.truncate(path, path.stat().st_size // 2)

    cut(run / "analytics" / "scores.npz")
    cut(run / "index" / "fused" / "vectors.npy")
    with read_only(lib) as library:
        assert load_analysis(library) is None
    assert _load_fresh(run / "index" / "fused", (run / "embeddings.npz").stat()) is None
    code, _, err = reelscope(report_args(lib, "pdf"), out)  # a report analyses first when it must
    assert code == 0, err
    assert _analysis_consistent(bases, lib, "fused") == "fused"
    assert _load_fresh(run / "index" / "fused", (run / "embeddings.npz").stat()) is not None

    reference = embeddings(bases.libs["embedded"])
    cut(run / "embeddings.npz")
    with pytest.raises(ValueError, match="damaged"):
        load_embeddings_file(run / "embeddings.npz")
    code, _, err = reelscope(["embed", "--library", str(lib), "--quiet"], out)
    assert code == 0, err
    np.testing.assert_allclose(embeddings(lib).fused, reference.fused, atol=1e-5)

    cut(run / "model.safetensors")
    with pytest.raises(DamagedWeights):
        load_model(run)
    code, _, err = reelscope(["embed", "--library", str(lib), "--quiet"], out)
    assert code == 1 and "damaged" in err and len(err.strip().splitlines()) == 1, err


# -------------------------------------------------------------- the schedule
@pytest.mark.slow
def test_the_schedule_reached_at_least_50_kill_points_in_every_writing_phase():
    """Runs last: the tally of the cases above (run the whole file)."""
    if len({r["phase"] for r in RESULTS}) < len(QUOTA):
        pytest.skip("run the whole file: the tally needs every phase's cases")
    by_phase = Counter(r["phase"] for r in RESULTS if r["reached"])
    unreached = [f"{r['phase']} {r['site']}:{r['n']}" for r in RESULTS if not r["reached"]]
    kinds = Counter(r["site"].split("/")[0] for r in RESULTS if r["reached"])
    print(f"\nkill points reached: {sum(by_phase.values())} of {len(RESULTS)} "
          f"(seed {SEED}); by phase {dict(by_phase)}; by site {dict(kinds)}; "
          f"not reached: {unreached or 'none'}")
    assert sum(by_phase.values()) >= 50
    assert all(by_phase[p] >= 1 for p in QUOTA)
    for needed in ("db.begin", "db.commit", "file.partial", "file.rename", "cache.mel_only",
                   "checkpoint.tensors", "weights.saved", "index.data", "analysis.scores"):
        assert kinds[needed], f"no case killed at {needed}"
    assert not [r for r in RESULTS if r["failure"]]


# ----------------------------------------------------------- the mechanism
def _python(code: str, kill_at: Optional[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELSCOPE_KILL")}
    if kill_at:
        env[faults.ENV] = kill_at
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)


POINTS = """
from pathlib import Path
from reelscope.training import faults
Path("f").write_bytes(b"x" * 100)
for i in range(3):
    faults.point("a", torn="f")
    faults.point("b", path="runs/r/ckpt-000000012.json")
    print(i, flush=True)
"""


def test_a_kill_point_kills_on_its_nth_hit_and_a_torn_one_cuts_the_file_first(tmp_path):
    done = _python(POINTS, "b/ckpt-N.json:2", tmp_path)
    assert done.returncode == -signal.SIGKILL and done.stdout.split() == ["0"]
    assert (tmp_path / "f").stat().st_size == 100
    torn = _python(POINTS, "a:3", tmp_path)
    assert torn.returncode == -signal.SIGKILL and torn.stdout.split() == ["0", "1"]
    assert (tmp_path / "f").stat().st_size == 50  # as a write cut short leaves it


def test_without_the_variable_or_past_the_last_hit_nothing_happens(tmp_path):
    for kill_at in (None, "a:4", "elsewhere:1"):
        done = _python(POINTS, kill_at, tmp_path)
        assert done.returncode == 0 and done.stdout.split() == ["0", "1", "2"], kill_at
    bad = _python(POINTS, "a:0", tmp_path)
    assert bad.returncode == 1 and "SITE:N" in bad.stderr


def test_a_kill_point_in_a_worker_kills_the_job_that_started_it(tmp_path):
    code = ("import multiprocessing as mp\n"
            "from reelscope.training import faults\n"
            "def work():\n    faults.point('w')\n"
            "if __name__ == '__main__':\n"
            "    p = mp.get_context('spawn').Process(target=work); p.start(); p.join()\n"
            "    print('survived', p.exitcode, flush=True)\n")
    (tmp_path / "job.py").write_text(code)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELSCOPE_KILL")}
    done = subprocess.run([sys.executable, "job.py"], env=dict(env, **{faults.ENV: "w:1"}),
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == -signal.SIGKILL and "survived" not in done.stdout
    done = subprocess.run([sys.executable, "job.py"], env=env, capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.split() == ["survived", "0"]


def test_labels_generalise_hashes_and_numbers():
    assert faults.label("cache/clips/ab/" + "ab" * 20 + ".frames.npy") == "H.frames.npy"
    assert faults.label("runs/x/checkpoint/ckpt-000000012.safetensors") == "ckpt-N.safetensors"
    assert faults.label("runs/x/analytics/scores.npz") == "scores.npz"


def test_sweeping_deletes_the_temporary_files_of_dead_writers_only(tmp_path):
    from reelscope.training.files import sweep_temps

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    dead = tmp_path / f".report.pdf.{gone}.1.tmp"
    mine = tmp_path / f".report.pdf.{os.getpid()}.1.tmp"
    other = tmp_path / f".scores.npz.{gone}.1.tmp"
    for path in (dead, mine, other, tmp_path / "report.pdf"):
        path.write_bytes(b"x")
    assert sweep_temps(tmp_path, "report.pdf") == 1
    assert not dead.exists() and mine.exists() and other.exists() and (tmp_path / "report.pdf").exists()
    assert sweep_temps(tmp_path) == 1 and not other.exists()


def test_a_damaged_forecast_or_hashtag_model_reads_as_missing(tmp_path):
    """The forecaster and suggester files of a stored analysis cut short by a crash are
    taken as missing (the next analyze rewrites them), never a traceback."""
    from reelscope.core.analytics.analyze import Analysis

    folder = tmp_path / "analytics"
    folder.mkdir()
    (folder / "forecast.npz").write_bytes(b"PK\x03\x04 cut short")
    (folder / "hashtags.npz").write_bytes(b"")
    analysis = Analysis("run", folder, result=None)
    assert analysis.forecaster() is None
    assert analysis.suggester(data=None) is None
