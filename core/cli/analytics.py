"""CLI commands for analytics: ``similar``, ``analyze``, ``evaluate``, ``predict``,
``export`` and ``report``. JSON keys are documented in docs/ANALYTICS.md."""

from __future__ import annotations

import argparse
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from reelscope.core.numbers import format_number
from reelscope.core.cli.main import CommandError, add_output_flags, count, error_text, open_library, print_json, share
from reelscope.core.store.library import Library


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("similar", help="library videos most similar to a video or a file",
                       description="List the library videos most similar to TARGET: a video id "
                       "from the library, or a video file (embedded with the run's encoder).")
    p.add_argument("target", help="video id or path of a video file")
    p.add_argument("-k", type=count(1), default=10, help="how many videos (default 10)")
    _kind(p)
    _common(p)
    p.set_defaults(handler=cmd_similar)

    p = sub.add_parser("analyze", help="fit and store every analysis for a run",
                       description="Fit originality, like forecast, hashtag and sound analyses for "
                       "a run (default: the newest) and store them under runs/<run>/analytics/.")
    _kind(p)
    p.add_argument("--split", choices=("random", "author", "time"), default="random",
                   help="held-out split for the forecast comparison (default random)")
    p.add_argument("--coverage", type=share, default=0.8,
                   help="nominal coverage of forecast intervals (default 0.8)")
    _common(p)
    p.set_defaults(handler=cmd_analyze)

    p = sub.add_parser("evaluate", help="compare runs: probe accuracy, retrieval, forecast, hashtags",
                       description="Evaluate every run with embeddings (or those given with --run) "
                       "and each embedding kind, side by side.")
    p.add_argument("--label", help="label column for the linear probe: author, sound, "
                   "first_hashtag or any metadata field (e.g. category)")
    p.add_argument("--labels", type=Path, help="JSON file mapping video id to label (overrides --label)")
    p.add_argument("--relevance", default="sound",
                   help="attribute whose shared value makes two videos relevant (default sound)")
    p.add_argument("--kinds", nargs="+", choices=("visual", "audio", "fused"),
                   default=["visual", "audio", "fused"])
    p.add_argument("--split", choices=("random", "author", "time"), default="random")
    _common(p, multi_run=True)
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser("predict", help="forecast likes, hashtags, similar videos for new files",
                       description="Predict for video files outside the library: like forecast "
                       "with interval and explanation, hashtag suggestions, similar library videos "
                       "and originality. The library is not changed unless --add is given.")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--metadata", type=Path, help="metadata file describing the files")
    p.add_argument("--followers", type=count(0), help="the author's followers")
    p.add_argument("--following", type=count(0), help="accounts the author follows")
    p.add_argument("--author-likes", type=count(0), help="likes (hearts) the author received in total")
    p.add_argument("--author-videos", type=count(0), help="videos the author has posted")
    p.add_argument("-k", type=count(1), default=10, help="similar videos per file (default 10)")
    p.add_argument("--add", action="store_true", help="also import the files (with --metadata) into the library and store their embeddings with the run, so similar and analyze include them")
    _common(p)
    p.set_defaults(handler=cmd_predict)

    p = sub.add_parser("export", help="write embeddings (NPZ/CSV) or per-video scores (CSV)")
    p.add_argument("--what", choices=("embeddings", "scores"), required=True)
    p.add_argument("--out", type=Path, required=True, help="output file (.npz or .csv)")
    _common(p)
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("report", help="write a self-contained HTML or PDF report")
    p.add_argument("--out", type=Path, required=True, help="report.html or report.pdf")
    _common(p)
    p.set_defaults(handler=cmd_report)


def _kind(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", choices=("visual", "audio", "fused"), default="fused",
                   help="embedding kind (default fused)")


def _common(p: argparse.ArgumentParser, multi_run: bool = False) -> None:
    p.add_argument("--library", type=Path, default=Path(os.environ.get("REELSCOPE_LIBRARY", ".")),
                   help="library folder (default: $REELSCOPE_LIBRARY or the current folder)")
    if multi_run:
        p.add_argument("--run", action="append", help="training run id (repeat to compare several)")
    else:
        p.add_argument("--run", help="training run id (default: the newest with embeddings)")
    add_output_flags(p)


@contextmanager
def _job(args: argparse.Namespace) -> Iterator[tuple[Library, Any, Any]]:
    """Open the library, show progress on stderr, honour Ctrl-C, map core errors to messages."""
    from reelscope.core.progress import Cancelled
    from reelscope.core.cli.terminal import TerminalProgress, cancel_on_interrupt

    library = open_library(args.library)
    bars = TerminalProgress(quiet=args.quiet or False)
    try:
        with cancel_on_interrupt() as cancel:
            yield library, bars, cancel
    except Cancelled:
        raise CommandError("cancelled; nothing was half-written, run it again to finish", 130)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise CommandError(error_text(exc)) from None
    except ModuleNotFoundError as exc:
        raise CommandError(f"this build lacks {exc.name}: {exc}") from None
    finally:
        bars.close()
        library.close()


# ------------------------------------------------------------------- commands
def cmd_similar(args: argparse.Namespace) -> int:
    from reelscope.core.analytics.similar import similar_videos

    with _job(args) as (library, bars, cancel):
        target = Path(args.target)
        hits: Any = None
        if target.is_file():
            from reelscope.core.analytics.data import resolve_run
            from reelscope.core.analytics.predict import embed_files

            run = resolve_run(library, args.run)
            item = embed_files(library, run.id, [target], bars, cancel)[0]
            if isinstance(item, str):
                raise CommandError(item)
            query: Any = item[1][args.kind]
            if args.kind == "audio":  # by note matching when the analysis has it, else the embedding
                from reelscope.core.analytics.sound_similar import similar_by_sound

                hits = similar_by_sound(library, target, args.k, args.run)
        else:
            query = args.target
        if hits is None:
            hits = similar_videos(library, query, k=args.k, run_id=args.run, kind=args.kind)
    out = [{"id": vid, "score": score} for vid, score in hits]
    if args.json:
        print_json(out)
    else:
        for row in out:
            print(f"{row['score']:.3f}  {row['id']}")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from reelscope.core.analytics.analyze import analyze

    with _job(args) as (library, bars, cancel):
        result = analyze(library, args.run, kind=args.kind, split=args.split,
                         coverage=args.coverage, progress=bars, cancel=cancel)
    if args.json:
        print_json(result.as_json())
        return 0
    s = result.result
    print(f"Analysed run {s.run} ({s.videos} videos, {s.kind} embeddings); results in {result.folder}")
    from reelscope.core.report.content import findings

    for line in findings(s):
        print("  " + line)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from reelscope.core.analytics.evaluate import evaluate_library

    if args.labels is not None and not args.labels.exists():
        raise CommandError(f"labels file {args.labels} does not exist")
    with _job(args) as (library, bars, cancel):
        try:
            out = evaluate_library(library, args.run, kinds=args.kinds, label=args.label,
                                   labels_file=args.labels, relevance=args.relevance,
                                   split=args.split, progress=bars, cancel=cancel)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # name the file, not only the parser's complaint
            raise CommandError(f"labels file {args.labels} is not valid JSON ({exc}); it should map "
                               "video ids to labels") from None
    if args.json:
        print_json(out.as_json())
        return 0
    cols = ("probe_accuracy", "retrieval_map", "retrieval_recall@10", "forecast_r2",
            "forecast_coverage", "forecast_width", "hashtag_precision@5")
    width = max([3] + [len(r.run) for r in out.comparison])
    print(f"{'run':<{width}} {'kind':<7} " + " ".join(f"{c:>20}" for c in cols))
    for row in out.comparison:
        values = row.as_json()
        cells = " ".join(f"{format_number(values.get(c), 3):>20}" for c in cols)
        print(f"{row.run:<{width}} {row.kind:<7} {cells}")
    _print_coverage_by_bin(out)
    _print_hashtag_baselines(out)
    return 0


def _print_hashtag_baselines(out: Any) -> None:
    """Hashtag precision@3/@5 of the suggester beside neighbour votes and the most frequent tags."""
    rows = [r for r in out.comparison if r.hashtags]
    if not rows:
        return
    width = max([3] + [len(r.run) for r in rows])
    cols = [f"{name}_p{k}" for name in ("ours", "knn", "frequency") for k in (3, 5)]
    print("\nhashtags on held-out videos (precision@3 / @5): ours, neighbour votes, most frequent")
    print(f"{'run':<{width}} {'kind':<7} " + " ".join(f"{c:>12}" for c in cols))
    for r in rows:
        print(f"{r.run:<{width}} {r.kind:<7} "
              + " ".join(f"{format_number(r.hashtags.get(c), 3):>12}" for c in cols))


def _print_coverage_by_bin(out: Any) -> None:
    """The forecast intervals' out-of-fold coverage per follower-count bin, one line per run and kind."""
    from reelscope.core.numbers import format_likes

    lines = []
    for run in out.runs:
        for kind, res in run.kinds.items():
            comp = res.forecast
            if comp is None or not comp.coverage_by_bin:
                continue
            cells = []
            for b in comp.coverage_by_bin:
                lo = "0" if b.followers_from is None else format_likes(b.followers_from)
                hi = "" if b.followers_to is None else format_likes(b.followers_to)
                flag = "" if b.band_low <= b.coverage <= b.band_high else " (outside its band)"
                cells.append(f"{lo}–{hi}: {b.coverage:.2f} of {b.videos}{flag}")
            lines.append(f"  {run.run} {kind}: " + "; ".join(cells))
    if lines:
        nominal = next(r.kinds[k].forecast.coverage_nominal for r in out.runs for k in r.kinds
                       if r.kinds[k].forecast is not None and r.kinds[k].forecast.coverage_by_bin)
        print(f"forecast interval coverage by follower count (out-of-fold, stated {nominal:.2f}):")
        print("\n".join(lines))


def cmd_predict(args: argparse.Namespace) -> int:
    from reelscope.core.analytics.predict import predict_files

    missing = [str(f) for f in args.files if not f.is_file()]
    if len(missing) == len(args.files):
        raise CommandError("no such file: " + ", ".join(missing))
    if args.metadata is not None and not args.metadata.exists():
        raise CommandError(f"metadata file {args.metadata} does not exist")
    author = {"followers": args.followers, "following": args.following,
              "hearts": args.author_likes, "videos": args.author_videos}
    with _job(args) as (library, bars, cancel):
        out = predict_files(library, args.files, args.run, metadata=args.metadata, author=author,
                            add=args.add, k=args.k, progress=bars, cancel=cancel)
    if args.json:
        print_json(out)
    else:
        for r in out:
            _print_prediction(r)
    if any("error" not in r for r in out):
        return 0
    first = out[0]["error"] if len(out) == 1 else f"{len(out)} files, each failed; the first: {out[0]['error']}"
    raise CommandError(f"nothing could be predicted: {first}")


def _print_prediction(r: dict[str, Any]) -> None:
    print(r["file"])
    if "error" in r:
        print(f"  error: {r['error']}")
        return
    if r["likes"]:
        print("  " + r["likes"]["explanation"]["text"])
    print(f"  originality: {r['originality']:.0f} / 100")
    if r.get("originality_reasons"):
        print("  " + r["originality_reasons"])
    if r["hashtags"]:
        print("  hashtags: " + " ".join("#" + t["tag"] for t in r["hashtags"][:8]))
    if r["similar"]:
        print("  similar: " + ", ".join(f"{s['id']} ({s['score']:.2f})" for s in r["similar"][:5]))


def cmd_export(args: argparse.Namespace) -> int:
    from reelscope.core.report.export import export

    with _job(args) as (library, bars, cancel):
        out = export(library, args.what, args.out, args.run, progress=bars, cancel=cancel)
    _done(args, out, f"Wrote {out['rows']} rows of {out['what']} (run {out['run']}) to {out['out']}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from reelscope.core.report.content import write_report

    with _job(args) as (library, bars, cancel):
        path = write_report(library, args.out, args.run, progress=bars, cancel=cancel)
    _done(args, {"out": str(path)}, f"Report written to {path}")
    return 0


def _done(args: argparse.Namespace, out: dict[str, Any], text: str) -> None:
    if args.json:
        print_json(out)
    else:
        print(text)

