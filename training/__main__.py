"""Train a prepared run folder, on one process or many: the entry point for ``torchrun``
and for a parent process (the desktop window) that runs training as its child.

    python -m reelscope.training LIB/runs/<run_id> [--progress jsonl]
    torchrun --nproc_per_node 4 -m reelscope.training LIB/runs/<run_id>
    torchrun --nnodes 2 --node_rank R --master_addr HOST --nproc_per_node 8 \\
             -m reelscope.training LIB/runs/<run_id>

The folder must hold ``config.json`` and ``manifest.json`` (``reelscope train
--prepare-only`` writes them). Each process trains a shard of every global
batch; rank 0 writes checkpoints, metrics and weights, and prints the result as
one JSON document (with ``--progress jsonl``: one JSON line per progress event,
then a result line). SIGTERM or SIGINT stops training after the current step
with a checkpoint (exit code 130); the same signal again aborts at once.
Re-running the same command resumes from the newest checkpoint.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import traceback
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, TextIO

if TYPE_CHECKING:  # torch loads only once the signal handlers are in place
    from reelscope.training.events import ProgressFn
    from reelscope.training.loop import TrainResult

EXIT_FINISHED = 0
EXIT_FAILED = 1  # an error line says why (a traceback goes to stderr)
EXIT_STOPPED = 130  # stopped on request after a checkpoint: run the same command to resume
EXIT_BUSY = 75  # --lock is held by another process (the library is in use); nothing was done


class StopOnSignal:
    """SIGTERM and SIGINT ask training to stop after its current step; called, it answers
    whether one came (the loop's ``should_stop``). The same signal a second time acts as it
    would have without this (SIGINT raises KeyboardInterrupt, SIGTERM terminates).
    The handlers are in place inside the ``with`` block only."""

    def __init__(self, signums: Sequence[int] = (signal.SIGTERM, signal.SIGINT)) -> None:
        self.signums = tuple(signums)
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __call__(self) -> bool:
        return self.requested

    def request(self) -> None:
        self.requested = True

    def __enter__(self) -> "StopOnSignal":
        for signum in self.signums:
            previous = signal.signal(signum, self._handle)
            self._previous[signum] = signal.SIG_DFL if previous is None else previous
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        self.requested = True
        signal.signal(signum, self._previous[signum])
        print(f"{signal.Signals(signum).name}: stopping after the current step "
              "(send it again to abort at once)", file=sys.stderr, flush=True)


class JsonLines:
    """The child-process protocol: one JSON object per line, flushed at once, on ``stream``
    (None writes nothing: ranks other than 0). A reader that went away (a closed pipe)
    turns into ``on_closed()`` — a stop request — and silence from then on."""

    def __init__(self, stream: Optional[TextIO], on_closed: Callable[[], None]) -> None:
        self.stream = stream
        self.on_closed = on_closed

    def write(self, line: str) -> None:
        if self.stream is None:
            return
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except BrokenPipeError:
            # Point the descriptor at /dev/null so the interpreter's last flush cannot fail too.
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
            self.stream = None
            self.on_closed()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reelscope.training", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="run folder with config.json and manifest.json")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--time-budget", type=float, default=None, metavar="MINUTES")
    parser.add_argument("--no-resume", action="store_true", help="ignore existing checkpoints")
    parser.add_argument("--lock", type=Path, default=None, metavar="FILE",
                        help="hold this writing lock (a library's library.lock) while training, so "
                        "the lock names this process; exit 75 if another process holds it")
    parser.add_argument("--nice", type=int, default=0, metavar="N",
                        help="lower this process's CPU priority by N (the desktop window asks for 10, "
                        "so training yields the CPU to the window the moment it needs it)")
    parser.add_argument("--progress", choices=("none", "jsonl"), default="none",
                        help="none: print the result as one JSON document at the end (default); "
                        "jsonl: one JSON line per progress event, then a result (or error) line")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    jsonl = args.progress == "jsonl"
    if args.nice > 0 and hasattr(os, "nice"):
        os.nice(args.nice)
    # Signals are caught before torch loads: a stop request during setup takes effect
    # after the first step, so every stop leaves a checkpoint.
    with StopOnSignal() as stop:
        from reelscope.training import distributed
        from reelscope.training.events import json_line

        from reelscope.training.lockfile import Busy, hold

        main_rank = distributed.env_info().main
        out = JsonLines(sys.stdout if main_rank else None, stop.request)
        # Anything else printed while training goes to stderr: stdout carries the protocol.
        with contextlib.redirect_stdout(sys.stderr):
            try:
                with hold(args.lock, "train") if args.lock and main_rank else contextlib.nullcontext():
                    result = _train(args, (lambda e: out.write(e.to_json())) if jsonl else None, stop)
            except Busy as exc:
                print(f"python -m reelscope.training: {exc}", file=sys.stderr)
                if jsonl:
                    out.write(json_line({"event": "error", "type": "Busy", "message": str(exc)}))
                return EXIT_BUSY
            except Exception as exc:
                if not jsonl:
                    raise
                traceback.print_exc()
                out.write(json_line({"event": "error", "type": type(exc).__name__, "message": str(exc)}))
                return EXIT_FAILED
            finally:
                distributed.teardown()
    record = result.as_json()
    out.write(json_line({"event": "result", **record}) if jsonl else json.dumps(record, indent=2))
    return EXIT_STOPPED if result.status == "cancelled" else EXIT_FINISHED


def _train(args: argparse.Namespace, progress: Optional[ProgressFn], should_stop: Callable[[], bool]) -> TrainResult:
    from reelscope.training.checkpoint import load_config
    from reelscope.training.data import read_manifest
    from reelscope.training.loop import train

    cfg = load_config(args.run_dir)
    if args.device:
        cfg = cfg.replace(device=args.device)
    if args.epochs is not None or args.time_budget is not None:
        cfg = cfg.replace(epochs=args.epochs, time_budget_min=args.time_budget)
    items = read_manifest(args.run_dir / "manifest.json")
    return train(cfg, items, args.run_dir, progress=progress, should_stop=should_stop, resume=not args.no_resume)


if __name__ == "__main__":
    raise SystemExit(main())
