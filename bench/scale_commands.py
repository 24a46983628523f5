"""The CLI at 300,000 videos: each command's wall time and peak memory against the 2 GB
the reliability issue allows (issue 16, item 7).

Builds (or reuses) bench/make_big_library.py's library with ``--model`` — real (untrained)
``small`` weights and embeddings of a real library's sizes (128/128/256) — then runs each
command as its own process, the way a user would, and reads its peak resident memory from
the kernel (``wait4``'s rusage, the same figure ``/usr/bin/time -v`` prints):

  info              open the library, count
  similar ID        a library video's 10 nearest (the saved index)
  similar FILE      a video file from outside, embedded with the run's encoder
  predict FILE      a draft's like forecast, originality, hashtags, sound and neighbours
  analyze           every analytics step, from the embeddings
  report            the PDF report

Each line prints seconds, peak MB and the peak as a share of the 2 GB limit (the
baseline this bench compares against). ``--json F`` keeps the figures.

    python bench/scale_commands.py --dir D [--n 300000] [--draft FILE] [--only analyze ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_big_library import ensure  # noqa: E402

LIMIT_MB = 2048
COMMANDS = ("info", "similar-id", "similar-file", "predict", "analyze", "report")


def run(argv: list[str], timeout: float) -> tuple[int, float, float, str]:
    """(exit code, seconds, peak RSS in MB, last stderr line) of one process."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except KeyboardInterrupt:
            proc.kill()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t
        err.seek(0)
        last = (err.read().decode(errors="replace").strip().splitlines() or [""])[-1]
    return proc.returncode, seconds, usage.ru_maxrss / 1024, last[-200:]


def draft_file(given: Path | None) -> Path:
    """A real video to embed: the one given, else a clip made here (tests' make_clip)."""
    if given:
        return given
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import make_clip  # real H.264/AAC, a few seconds

    path = Path(tempfile.mkdtemp(prefix="reelscope-scale-")) / "draft.mp4"
    make_clip(path, seconds=6.0, fps=30, size=(180, 320))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, required=True, help="the big library (built when missing)")
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--draft", type=Path, help="a video file for similar FILE and predict")
    ap.add_argument("--only", nargs="+", choices=COMMANDS, default=list(COMMANDS))
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    ensure(args.dir, args.n, model=True)
    lib = str(args.dir)
    exe = [sys.executable, "-m", "reelscope"]
    from make_big_library import RUN_ID  # noqa: E402

    import sqlite3
    with sqlite3.connect(f"file:{args.dir / 'library.db'}?mode=ro", uri=True) as db:
        some_id = db.execute("SELECT id FROM videos WHERE status = 'ok' LIMIT 1 OFFSET 1000").fetchone()[0]
    draft = draft_file(args.draft) if {"similar-file", "predict"} & set(args.only) else None
    out_dir = Path(tempfile.mkdtemp(prefix="reelscope-scale-out-"))
    argv = {
        "info": ["info", "--library", lib],
        "similar-id": ["similar", some_id, "--library", lib, "-k", "10"],
        "similar-file": ["similar", str(draft), "--library", lib, "-k", "10"],
        "predict": ["predict", str(draft), "--library", lib, "--quiet"],
        "analyze": ["analyze", "--library", lib, "--quiet"],
        "report": ["report", "--library", lib, "--out", str(out_dir / "report.pdf"), "--quiet"],
    }
    figures = {}
    print(f"{args.n:,}-video library {lib} (run {RUN_ID}); limit {LIMIT_MB} MB")
    print(f"{'command':14s} {'exit':>4s} {'seconds':>8s} {'peak MB':>8s} {'of limit':>8s}")
    for name in args.only:
        code, seconds, peak, last = run(exe + argv[name], args.timeout)
        figures[name] = {"exit": code, "seconds": round(seconds, 2), "peak_mb": round(peak, 1),
                         "argv": argv[name]}
        print(f"{name:14s} {code:4d} {seconds:8.1f} {peak:8.0f} {peak / LIMIT_MB:8.2f}"
              + ("" if code == 0 else f"   {last}"), flush=True)
    shutil.rmtree(out_dir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if all(f["exit"] == 0 and f["peak_mb"] < LIMIT_MB for f in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
