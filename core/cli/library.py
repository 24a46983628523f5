"""CLI commands for the library itself: ``demo``, ``import`` and ``info``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Optional

from reelscope.core.cli.main import CommandError, add_output_flags, count, open_library, positive_float, print_json
from reelscope.core.ingest.importer import FILE_TIMEOUT_S
from reelscope.core.store.library import Library


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="generate the demo library, import it, train and analyse it",
                       description="Generate the built-in demo library offline, import it, then run "
                       "every later stage that is available (train, embed, analyse, report).")
    p.add_argument("--dir", type=Path, default=Path("reelscope-demo"),
                   help="folder for the generated videos and the library (default: ./reelscope-demo)")
    p.add_argument("--videos", type=count(1), default=300, help="number of demo videos (default 300)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--hard", action="store_true",
                   help="a harder demo: stronger colour grades and stickers; reused sounds pitched and "
                   "tempo-shifted under voice-over, noise and reverb (for benchmarks)")
    p.add_argument("--preset", default="small", help="training preset (default small)")
    p.add_argument("--time-budget", type=positive_float, default=10.0, metavar="MINUTES",
                   help="training time limit in minutes (default 10)")
    p.add_argument("--generate-only", action="store_true", help="only generate the videos and metadata")
    p.add_argument("--no-train", action="store_true", help="stop after importing")
    p.add_argument("--drafts", type=count(0), default=5, metavar="N",
                   help="demo videos kept out of the library and checked as drafts after the "
                   "analysis, their forecasts printed beside their real likes (default 5)")
    p.add_argument("--no-gui", "--no-window", dest="no_window", action="store_true",
                   help="never open the desktop window (without a display it never opens)")
    add_output_flags(p)
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("import", help="import a folder of videos and their metadata",
                       description="Import every video under FOLDER into the library (created if "
                       "needed). Safe to re-run: unchanged files are skipped, interrupted imports resume.")
    p.add_argument("folder", type=Path)
    p.add_argument("--metadata", type=Path, help="metadata file (TikTokApi JSON, Apify CSV/JSON, "
                   "or Reelscope CSV); default: JSON/CSV files at the top of FOLDER")
    p.add_argument("--library", type=Path, required=True, help="library folder")
    p.add_argument("--workers", type=count(1), default=None, help="decoding processes (default: all cores)")
    p.add_argument("--file-timeout", type=positive_float, default=FILE_TIMEOUT_S, metavar="SECONDS",
                   help="give up on a file whose decoding takes longer (recorded as failed; "
                   f"default {FILE_TIMEOUT_S:g})")
    add_output_flags(p)
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("info", help="summarise a library: counts, errors, training runs")
    p.add_argument("--library", type=Path, required=True)
    add_output_flags(p)
    p.set_defaults(handler=cmd_info)


# -------------------------------------------------------------------- import
def run_import(args: argparse.Namespace, folder: Path, library: Library,
               files: Optional[list[Path]] = None) -> dict[str, Any]:
    """Import ``folder`` (or only ``files``) with progress bars and Ctrl-C."""
    from reelscope.core.cli.terminal import TerminalProgress, cancel_on_interrupt
    from reelscope.core.ingest import import_files, import_folder
    from reelscope.core.progress import Cancelled

    bars = TerminalProgress(quiet=args.quiet)
    metadata, workers = getattr(args, "metadata", None), getattr(args, "workers", None)
    limit = getattr(args, "file_timeout", FILE_TIMEOUT_S)
    try:
        with cancel_on_interrupt() as cancel:
            if files is None:
                report = import_folder(library, folder, metadata, workers=workers, progress=bars,
                                       cancel=cancel, file_timeout=limit)
            else:
                report = import_files(library, files, metadata, workers=workers, progress=bars,
                                      cancel=cancel, file_timeout=limit)
    except Cancelled as exc:
        report = exc.partial  # its "cancelled" is true; the caller exits with 130
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None
    except ValueError as exc:  # MetadataError: the named metadata file is unusable
        raise CommandError(str(exc)) from None
    finally:
        bars.close()
    return report.as_json()


def cmd_import(args: argparse.Namespace) -> int:
    if not args.folder.is_dir():
        raise CommandError(f"{args.folder} is not a folder")
    with open_library(args.library, create=True) as library:
        out = run_import(args, args.folder, library)
    if args.json:
        print_json(out)
    else:
        _print_import(out)
    if out["cancelled"]:
        return 130
    if out["videos"]["imported"] == 0 and out["videos"]["failed"] > 0:
        print("reelscope import: no video could be imported", file=sys.stderr)
        return 1
    return 0


def _print_import(out: dict[str, Any]) -> None:
    run, videos = out["this_run"], out["videos"]
    print(f"Library {out['library']}: {videos['imported']} videos ready, {videos['failed']} failed "
          f"({run['new']} new, {run['skipped']} unchanged, {run['failed']} failed this run, "
          f"{out['seconds']:.1f} s)")
    if out["metadata"]["format"]:
        print(f"Metadata: {out['metadata']['rows']} rows ({out['metadata']['format']})")
    _print_problems(out)
    if out["cancelled"]:
        print("Cancelled: run the same command again to resume.")


def _print_problems(out: dict[str, Any], limit: int = 20) -> None:
    errors, warnings = out["errors"], out["warnings"]
    if errors:
        print(f"{len(errors)} problem(s):")
        for e in errors[:limit]:
            row = f" row {e['row']}" if "row" in e else ""
            print(f"  {e['path']}{row}: {e['reason']}")
        if len(errors) > limit:
            print(f"  … and {len(errors) - limit} more (see 'reelscope info --json')")
    if warnings:
        print(f"{len(warnings)} warning(s), e.g. {warnings[0]['path']}: {warnings[0]['reason']}")


# ---------------------------------------------------------------------- info
def library_summary(library: Library) -> dict[str, Any]:
    counts = library.counts()
    return {
        "library": str(library.path),
        "videos": {"imported": counts["imported"], "failed": counts["failed"]},
        "metadata": {k: counts[k] for k in ("metadata_rows", "authors", "sounds", "hashtags")},
        "errors": [p.as_json() for p in library.problems(severity="error")],
        "warnings": [p.as_json() for p in library.problems(severity="warning")],
        "runs": [r.as_json() for r in library.runs()],
    }


def cmd_info(args: argparse.Namespace) -> int:
    with open_library(args.library, read_only=True) as library:
        out = library_summary(library)
    if args.json:
        print_json(out)
        return 0
    v, m = out["videos"], out["metadata"]
    print(f"Library {out['library']}")
    print(f"  videos: {v['imported']} ready, {v['failed']} failed")
    print(f"  metadata: {m['metadata_rows']} posts, {m['authors']} authors, {m['sounds']} sounds, "
          f"{m['hashtags']} hashtags")
    print(f"  training runs: {len(out['runs'])}")
    for r in out["runs"]:
        print(f"    {r['id']}  {r['method']:<10} {r['preset']:<6} {r['status']}")
    _print_problems(out)
    return 0


# ---------------------------------------------------------------------- demo
def cmd_demo(args: argparse.Namespace) -> int:
    from reelscope.demo.generator import DemoSpec, generate_demo
    from reelscope.core.ingest.importer import find_media
    from reelscope.core.progress import Cancelled
    from reelscope.core.cli.terminal import TerminalProgress, cancel_on_interrupt

    root = args.dir.resolve()
    bars = TerminalProgress(quiet=args.quiet)
    try:
        with cancel_on_interrupt() as cancel:
            demo = generate_demo(root / "source", DemoSpec(videos=args.videos, seed=args.seed, hard=args.hard),
                                 progress=bars, cancel=cancel)
    except Cancelled:
        print("Cancelled: run the same command again to resume.", file=sys.stderr)
        return 130
    finally:
        bars.close()
    summary: dict[str, Any] = {"source": str(demo.folder), "stages": ["generate"]}
    if args.generate_only:
        return _demo_done(args, summary)

    with open_library(root / "library", create=True) as library:
        drafts = _hold_back_drafts(args, demo, library, root)
        summary["held_back"] = [p.stem for p in drafts]
        args.metadata, args.workers = root / LIBRARY_METADATA, None
        files = [p for p in find_media(demo.videos_dir) if p not in set(drafts)]
        summary["import"] = run_import(args, demo.videos_dir, library, files)
        summary["stages"].append("import")
        if summary["import"]["cancelled"]:
            return _demo_done(args, summary, 130)
        if not args.no_train:
            try:
                _later_stages(args, library, summary, demo, drafts)
            except Cancelled:
                print("Cancelled: run the same command again to resume.", file=sys.stderr)
                return _demo_done(args, summary, 130)
        summary["library"] = library_summary(library)
    return _demo_done(args, summary)


LIBRARY_METADATA = "library-metadata.json"  # the demo's metadata without its drafts' rows


def _hold_back_drafts(args: argparse.Namespace, demo: Any, library: Library, root: Path) -> list[Path]:
    from reelscope.demo.drafts import hold_back_drafts

    return hold_back_drafts(demo, library, args.drafts, root / LIBRARY_METADATA)


def _later_stages(args: argparse.Namespace, library: Library, summary: dict[str, Any], demo: Any,
                  drafts: list[Path]) -> None:
    """Train (and embed), analyse, check the drafts and report, each with progress bars and Ctrl-C."""
    from reelscope.core.analytics.analyze import analyze
    from reelscope.demo.drafts import check_drafts
    from reelscope.core.report.content import write_report
    from reelscope.core.cli.terminal import TerminalProgress, cancel_on_interrupt
    from reelscope.core.encoding.train import train

    bars = TerminalProgress(quiet=args.quiet)
    try:
        with cancel_on_interrupt() as cancel:
            run = train(library, preset=args.preset, time_budget_min=args.time_budget,
                        progress=bars, cancel=cancel)
            summary["run"] = run.as_json()
            summary["stages"] += ["train", "embed"]
            summary["analysis"] = analyze(library, run.id, progress=bars, cancel=cancel).as_json()
            summary["stages"].append("analyze")
            if drafts:
                checks = check_drafts(library, run.id, demo, drafts, progress=bars, cancel=cancel)
                summary["drafts"] = [c.as_json() for c in checks]
                summary["stages"].append("drafts")
            reports = library.path / "reports"
            summary["report"] = [str(write_report(library, reports / f"demo-report{ext}", run.id,
                                                  progress=bars, cancel=cancel))
                                 for ext in (".html", ".pdf")]
            summary["stages"].append("report")
    finally:
        bars.close()


def _demo_done(args: argparse.Namespace, summary: dict[str, Any], code: int = 0) -> int:
    if args.json:
        print_json(summary)
        return code
    print(f"Demo source: {summary['source']}")
    if "import" in summary:
        _print_import(summary["import"])
    if "run" in summary:
        print(f"Trained run {summary['run']['id']} ({summary['run']['method']}, "
              f"{summary['run']['preset']})")
    if "analysis" in summary:
        from reelscope.core.analytics.results import AnalysisSummary
        from reelscope.core.report.content import findings

        print("What we found:")
        for line in findings(AnalysisSummary.from_json(summary["analysis"])):
            print(f"  - {line}")
    if summary.get("drafts"):
        from reelscope.demo.drafts import format_drafts

        for line in format_drafts(summary["drafts"]):
            print(line)
    for path in summary.get("report", []):
        print(f"Report: {path}")
    print("Stages run: " + ", ".join(summary["stages"]))
    return code  # the top package (reelscope.entry) opens the window after a demo
