"""CLI commands for training: ``train`` and ``embed``.

Both are thin clients of :mod:`reelscope.core.encoding.train`. Progress bars go to
stderr; with ``--json`` exactly one JSON document goes to stdout. The first
Ctrl-C stops training after the current step and leaves a checkpoint that the
next ``reelscope train`` resumes.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from reelscope.core.cli.main import (CommandError, add_output_flags, count, error_text, open_library, positive_float,
                                     print_json)
from reelscope.core.progress import Cancelled
from reelscope.core.store.lock import LibraryBusy

METHOD_CHOICES = ("simclr", "av-simclr", "moco", "byol", "simsiam")
PRESET_CHOICES = ("tiny", "small", "base")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train video and audio encoders on the library (self-supervised)",
        description="Train encoders from scratch on the library's imported videos, then embed "
        "every video. Resumes the newest unfinished run of the same method and preset.",
    )
    p.add_argument("--library", type=Path, required=True, help="library folder")
    p.add_argument("--method", choices=METHOD_CHOICES, default="av-simclr",
                   help="self-supervised method (default av-simclr)")
    p.add_argument("--preset", choices=PRESET_CHOICES, default="small",
                   help="model and clip size: tiny (tests), small (CPU), base (GPU); default small")
    p.add_argument("--epochs", type=count(1), default=None, help="passes over the library")
    p.add_argument("--time-budget", type=positive_float, default=None, metavar="MINUTES",
                   help="train as well as possible within this many minutes of training")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default=None,
                   help="auto: bf16 on CUDA, and on CPUs with native bf16 (AMX, AVX-512 BF16) "
                   "where a timed probe shows it is faster; else fp32. bf16 on a CPU without "
                   "native bf16 trains in fp32. Embedding later reuses the run's choice where the "
                   "machine runs it natively (default: the run's, else the preset's: auto; tiny: fp32)")
    p.add_argument("--run", default=None, metavar="ID", help="continue this run")
    p.add_argument("--new", action="store_true", help="start a new run instead of resuming")
    p.add_argument("--no-embed", action="store_true", help="do not embed the videos afterwards")
    p.add_argument("--prepare-only", action="store_true",
                   help="only create the run folder and print the torchrun command for several GPUs")
    add_output_flags(p)
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("embed", help="embed every video with a trained run",
                       description="Compute visual, audio and fused embeddings of every imported "
                       "video with a trained run (default: the newest).")
    p.add_argument("--library", type=Path, required=True, help="library folder")
    p.add_argument("--run", default=None, metavar="ID", help="run id (default: newest trained run)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    add_output_flags(p)
    p.set_defaults(handler=cmd_embed)


def cmd_train(args: argparse.Namespace) -> int:
    from reelscope.core.cli.terminal import TerminalProgress, cancel_on_interrupt
    from reelscope.core.encoding.train import prepare_run, train

    with open_library(args.library) as library:
        if args.prepare_only:
            try:
                run = prepare_run(library, args.method, args.preset, args.epochs, args.time_budget, args.device,
                                  args.precision)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            command = (f"torchrun --nproc_per_node N -m reelscope.training "
                       f"{shlex.quote(str(library.path / run.dir))}")
            finish = f"reelscope train --library {shlex.quote(str(library.path))} --run {run.id}"
            if args.json:
                print_json(dict(run.as_json(), torchrun=command, then=finish))
            else:
                print(f"Prepared run {run.id}. Train it on N GPUs with:\n  {command}\n"
                      f"then record and embed it with:\n  {finish}")
            return 0
        bars = TerminalProgress(quiet=args.quiet or False)
        try:
            with cancel_on_interrupt() as cancel:
                run = train(library, args.method, args.preset, args.epochs, args.time_budget, args.device,
                            resume=not args.new, progress=bars, cancel=cancel, run_id=args.run,
                            embed_after=not args.no_embed, precision=args.precision)
        except Cancelled as exc:
            bars.close()
            print(f"reelscope train: {exc}", file=sys.stderr)
            if args.json:
                print_json({"status": "cancelled", "message": str(exc)})
            return 130
        except LibraryBusy:
            raise  # exit code 75, not 1: a script may retry later
        except (ValueError, KeyError, FileNotFoundError, RuntimeError) as exc:
            raise CommandError(error_text(exc)) from None
        finally:
            bars.close()
        if args.json:
            print_json(_run_json(run))
        else:
            m = run.metrics
            print(f"Run {run.id}: {run.method} / {run.preset}, {m.get('epochs')} epochs, "
                  f"{m.get('steps')} steps on {m.get('videos')} videos in {m.get('train_seconds')} s "
                  f"on {m.get('device')} in {m.get('precision')} "
                  f"({m.get('samples_per_s')} samples/s), final loss {m.get('loss', float('nan')):.4g}"
                  + (f"; embedded {m['embedded']} videos" if "embedded" in m else ""))
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from reelscope.core.cli.terminal import TerminalProgress, cancel_on_interrupt
    from reelscope.core.encoding.train import embed

    with open_library(args.library) as library:
        bars = TerminalProgress(quiet=args.quiet)
        try:
            with cancel_on_interrupt() as cancel:
                emb = embed(library, args.run, progress=bars, cancel=cancel, device=args.device)
        except Cancelled as exc:
            bars.close()
            print(f"reelscope embed: {exc}", file=sys.stderr)
            return 130
        except (KeyError, FileNotFoundError, ValueError) as exc:  # ValueError: damaged weights
            raise CommandError(str(exc).strip("'\"")) from None
        finally:
            bars.close()
        out = {
            "run": emb.run_id, "videos": len(emb),
            "dims": {k: int(emb.kind(k).shape[1]) for k in ("visual", "audio", "fused")},
            "path": str(library.path / library.run(emb.run_id).dir / "embeddings.npz"),
        }
        if args.json:
            print_json(out)
        else:
            print(f"Embedded {out['videos']} videos with run {out['run']} "
                  f"(visual {out['dims']['visual']}-d, audio {out['dims']['audio']}-d, "
                  f"fused {out['dims']['fused']}-d) -> {out['path']}")
    return 0


def _run_json(run: Any) -> dict[str, Any]:
    out = run.as_json()
    out["dir"] = run.dir
    return out
