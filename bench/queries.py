"""The desktop window's queries (``reelscope.core.query``) on a 300,000-video library.

Builds — or reuses, with ``--dir`` — a synthetic library in seconds: every table filled
with ``executemany`` in one transaction (authors with heavy-tailed followers, sounds
reused with Zipf popularity, a long tail of hashtags, likes driven by followers with
heavy-tailed noise, a few failed and pending imports, thumbnails for some videos) and
one fake training run whose stored results have the shapes ``reelscope analyze`` writes
(embeddings.npz, analytics/summary.json, scores.npz, forecast.npz, hashtags.npz and an
exact similarity index) — no media, no decoding, no encoder training.

Then times each query in this process: the first call (cold caches) and warm calls
(best of a few), each printed beside its goal (a page <= 100 ms, a sort or a filter
<= 300 ms) and beside a naive baseline measured in the same run: every video loaded
with ``Library.videos()`` and the stored scores joined, filtered, sorted and sliced in
Python. The last line is one JSON object with every figure.

    python bench/queries.py [--dir DIR] [--n 300000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from timing import best_time  # bench/timing.py, beside this script

from reelscope.core.store.library import Library

from make_big_library import RUN_ID, ensure  # bench/make_big_library.py, beside this script

PAGE_GOAL, SORT_GOAL = 0.100, 0.300


# ------------------------------------------------------------------------ timing
class Baseline:
    """The naive window: every video loaded with Library.videos(), the stored scores
    joined in Python, then each query filtered, sorted and sliced in Python."""

    def __init__(self, lib: Library) -> None:
        from reelscope.core.analytics.analyze import load_analysis

        t = time.perf_counter()
        self.videos = lib.videos(status=None)
        analysis = load_analysis(lib, RUN_ID)
        assert analysis is not None
        row = {str(v): i for i, v in enumerate(analysis.scores["ids"])}
        o, f = analysis.scores["originality"], analysis.scores["like_forecast"]
        self.score = {v.id: (float(o[row[v.id]]), float(f[row[v.id]])) if v.id in row
                      else (None, None) for v in self.videos}
        self.load_s = time.perf_counter() - t

    def query(self, sort: str = "likes", descending: bool = True, offset: int = 0, limit: int = 100,
              **filters: Any) -> list[Any]:
        def value(v: Any) -> Any:
            return {"likes": v.likes, "followers": v.author.followers if v.author else None,
                    "posted_at": v.posted_at, "originality": self.score[v.id][0],
                    "like_forecast": self.score[v.id][1], "id": v.id,
                    "author": (v.author.unique_id or "").lower() if v.author else None,
                    "sound": (v.sound.title or "").lower() if v.sound else None}[sort]

        rows = [v for v in self.videos if self._match(v, **filters)]
        valued = sorted((v for v in rows if value(v) is not None), key=lambda v: (value(v), v.id),
                        reverse=descending)
        rest = sorted((v for v in rows if value(v) is None), key=lambda v: v.id)
        return (valued + rest)[offset:offset + limit]

    def _match(self, v: Any, text: str | None = None, hashtag: str | None = None,
               author: str | None = None, likes_min: float | None = None,
               originality_min: float | None = None) -> bool:
        if text and text not in (v.description or "").lower():
            return False
        if hashtag and hashtag not in v.hashtags:
            return False
        if author and not (v.author and v.author.unique_id == author):
            return False
        if likes_min is not None and (v.likes is None or v.likes < likes_min):
            return False
        o = self.score[v.id][0]
        return originality_min is None or (o is not None and o >= originality_min)


def run_bench(root: Path, repeats: int) -> dict[str, Any]:
    from reelscope.core import query as q

    lib = Library.open(root, read_only=True)
    writer = Library.open(root)
    popular_author = lib._conn.execute(
        "SELECT a.unique_id FROM posts p JOIN authors a ON a.id = p.author_id "
        "GROUP BY p.author_id ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0]
    results: dict[str, Any] = {}
    print(f"{'query':44s} {'first':>9s} {'warm':>9s} {'goal':>7s} {'naive':>9s} {'in-memory':>10s}",
          flush=True)

    base = Baseline(lib)
    print(f"naive: Library.videos() + scores joined in Python: {base.load_s:.2f} s "
          f"({len(base.videos):,} videos, peak RSS {peak_mb():,.0f} MB)", flush=True)
    results["naive_load_s"] = base.load_s

    def case(name: str, goal: float, ours: Callable[[], Any], naive: Callable[[], Any] | None,
             judge: str | None = "first") -> None:
        """``judge``: the figure held against the goal — ``first`` for a new sort or
        filter (it counts, and a new sort column builds its index), ``warm`` for paging
        on, None for a one-time cost."""
        first, _ = best_time(ours)
        warm, _ = best_time(ours, repeats)
        naive_s = best_time(naive)[0] if naive is not None else None
        judged = {"first": first, "warm": warm, None: 0.0}[judge]
        row = {"first_s": first, "warm_s": warm, "goal_s": goal if judge else None,
               "naive_s": None if naive_s is None else base.load_s + naive_s,
               "naive_in_memory_s": naive_s, "judged": judge, "ok": judged <= goal}
        results[name] = row
        def fmt(x: float | None) -> str:
            return "" if x is None else f"{x * 1000:,.1f} ms"

        print(f"{name:44s} {fmt(first):>9s} {fmt(warm):>9s} {fmt(row['goal_s']):>7s} "
              f"{fmt(row['naive_s']):>9s} {fmt(naive_s):>10s}"
              f"{'' if row['ok'] else '  (over goal)'}",
              flush=True)

    def page(**kw: Any) -> Callable[[], Any]:
        return lambda: q.video_page(lib, **{"offset": 0, "limit": 100, **kw})

    def naive(**kw: Any) -> Callable[[], Any]:
        return lambda: base.query(**kw)

    deep = len(base.videos) // 2
    case("change_counter", PAGE_GOAL, lambda: q.change_counter(lib), None, "warm")
    case("page 1 by likes (cold: scores + listing)", SORT_GOAL, page(), naive(), None)
    case("next page (offset 100)", PAGE_GOAL, page(offset=100), naive(offset=100), "warm")
    case(f"deep page (offset {deep:,})", PAGE_GOAL, page(offset=deep), naive(offset=deep), "warm")
    for key in ("originality", "like_forecast", "followers", "posted_at", "author", "sound", "id"):
        case(f"sort by {key}", SORT_GOAL, page(sort=key), naive(sort=key))
        case(f"sort by {key}, page 2", PAGE_GOAL, page(sort=key, offset=100),
             naive(sort=key, offset=100), "warm")
    case("sort by followers, deep page (makes its index)", PAGE_GOAL,
         page(sort="followers", offset=deep), naive(sort="followers", offset=deep), "warm")
    case("sort by likes ascending", SORT_GOAL, page(descending=False), naive(descending=False))
    case("filter text 'cat'", SORT_GOAL, page(text="cat"), naive(text="cat"))
    case("filter #fyp (the most used tag)", SORT_GOAL, page(hashtag="fyp"), naive(hashtag="fyp"))
    case("filter #tag5000 (long tail)", SORT_GOAL, page(hashtag="tag5000"),
         naive(hashtag="tag5000"))
    case("filter most prolific author", SORT_GOAL, page(author=popular_author),
         naive(author=popular_author))
    case("filter likes >= 10,000", SORT_GOAL, page(likes_min=10_000), naive(likes_min=10_000))
    case("filter originality >= 90", SORT_GOAL, page(originality_min=90), naive(originality_min=90))
    case("#fyp + likes >= 1,000, by originality", SORT_GOAL,
         page(hashtag="fyp", likes_min=1000, sort="originality"),
         naive(hashtag="fyp", likes_min=1000, sort="originality"))
    case("the same, page 2", PAGE_GOAL,
         page(hashtag="fyp", likes_min=1000, sort="originality", offset=100),
         naive(hashtag="fyp", likes_min=1000, sort="originality", offset=100), "warm")

    ids = [r.id for r in q.video_page(lib, limit=3, status="ok").rows]
    case("thumbnail", PAGE_GOAL, lambda: q.thumbnail(lib, ids[0]), None, "warm")
    case("video_detail (cold: index, models, tag bank)", SORT_GOAL,
         lambda: q.video_detail(lib, ids[1]), None, None)
    case("video_detail, another video", SORT_GOAL, lambda: q.video_detail(lib, ids[2]), None)
    case("scatter_data (cold, then cached)", SORT_GOAL, lambda: q.scatter_data(lib), None, None)

    # One committed change (as an import batch would make), then the same page again.
    vid = ids[0]
    with writer.transaction() as c:
        c.execute("UPDATE engagement SET likes = likes + 1 WHERE video_id = ?", [vid])
    case("page 1 after a database change (rebuild)", SORT_GOAL, page(), None, None)
    with writer.transaction() as c:
        c.execute("UPDATE engagement SET likes = likes - 1 WHERE video_id = ?", [vid])
    detail = q.video_detail(lib, ids[1])
    results["detail_notes"] = list(detail.notes)
    results["peak_rss_mb"] = peak_mb()
    writer.close()
    lib.close()
    return results


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, help="build the library here, or reuse the one built there")
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--quick", action="store_true", help="a 20,000-video smoke run")
    ap.add_argument("--repeats", type=int, default=3, help="warm calls per query (best is kept)")
    args = ap.parse_args()
    n = 20_000 if args.quick else args.n
    tmp = None
    if args.dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="reelscope-bench-queries-")
        root = Path(tmp.name) / "library"
    else:
        root = args.dir
    if not ensure(root, n):
        print(f"reusing the {n:,}-video library in {root}", flush=True)
    results = run_bench(root, args.repeats)
    print(json.dumps({"bench": "queries", "videos": n, "cpus": os.cpu_count(),
                      "date": time.strftime("%Y-%m-%d"), **results}))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
