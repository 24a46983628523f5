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

RUN_ID = "bench-run"
DIMS = {"visual": 8, "audio": 8, "fused": 16}
DETECTORS = ("iforest", "ecod", "knn", "copod")
WORDS = ("dance", "recipe", "sunset", "cat", "prank", "tutorial", "gym", "outfit", "travel",
         "makeup", "guitar", "coffee", "beach", "storytime", "hack", "review")
PAGE_GOAL, SORT_GOAL = 0.100, 0.300


# ----------------------------------------------------------------------- building
def build(root: Path, n: int, seed: int = 0) -> None:
    """A synthetic ``n``-video library in ``root`` (which must not hold one yet)."""
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    lib = Library.create(root)
    n_authors = max(10, n // 8)
    n_songs = max(10, n // 10)
    n_tags = max(20, n // 5)

    ids = np.array([str(x) for x in 7_000_000_000_000_000_000 + np.sort(
        rng.choice(10**15, n, replace=False)) * 1000 + rng.integers(0, 1000, n)])
    followers = np.minimum(np.exp(rng.normal(8.0, 2.2, n_authors)), 5e8).astype(np.int64)
    author = _zipf(rng, n_authors, n, 0.9)
    original = rng.random(n) < 0.4  # "original sound": a sound id of its own
    song = _zipf(rng, n_songs, n, 1.0)
    log_likes = 0.6 * np.log1p(followers[author]) + 1.5 + rng.standard_t(4, n)
    likes = np.expm1(np.clip(log_likes, 0, 17)).astype(np.int64)
    has_likes = rng.random(n) > 0.03
    posted = 1_640_000_000 + rng.integers(0, 2 * 365 * 86400, n)
    status = np.where(rng.random(n) < 0.985, "ok",
                      np.where(rng.random(n) < 0.7, "failed", "pending"))
    duration = np.round(rng.uniform(5, 60, n), 2)
    tags_of = _hashtags(rng, n, n_tags)
    words = rng.integers(0, len(WORDS), (n, 2))

    authors = [(f"a{a}", f"user{a}", f"User {a}", int(followers[a]), int(rng.integers(0, 2000)),
                int(followers[a]) * int(rng.integers(2, 30)), int(rng.integers(1, 900)), 0)
               for a in range(n_authors)]
    sounds = [(f"s{s}", f"Song {s}", f"Artist {s % 997}", 0) for s in range(n_songs)]
    sound_of = [f"o{ids[i]}" if original[i] else f"s{song[i]}" for i in range(n)]
    sounds += [(f"o{ids[i]}", f"original sound - user{author[i]}", f"user{author[i]}", 1)
               for i in np.flatnonzero(original)]
    videos, posts, engagement = [], [], []
    for i in range(n):
        vid = ids[i]
        ok = status[i] == "ok"
        h = f"{int(ids[i]) * 2654435761 % 2**64:016x}" * 8  # 128 hex digits, as blake2b
        probed = (float(duration[i]), 1080, 1920, 30.0) if ok else (None,) * 4
        videos.append((vid, f"/videos/{vid}.mp4", h if ok else None, 1_000_000 + i, i, *probed,
                       status[i], None if ok else "cannot decode: truncated file"))
        tags = tags_of[i]
        text = f"{WORDS[words[i, 0]]} {WORDS[words[i, 1]]} " + " ".join(f"#{t}" for t in tags[:3])
        posts.append((vid, text, int(posted[i]), f"a{author[i]}", sound_of[i], float(duration[i]),
                      "bench"))
        engagement.append((vid, int(likes[i]) if has_likes[i] else None, int(likes[i] // 40),
                           int(likes[i] // 90), int(likes[i] * 9)))
    tag_names = [(t + 1, _tag_name(t)) for t in range(n_tags)]
    video_tags = [(ids[i], t + 1) for i in range(n) for t in tags_of[i]]
    # A page cache that holds the database: the random-order index inserts stay in memory.
    lib._conn.execute("PRAGMA cache_size=-1000000")
    with lib.transaction() as c:
        c.executemany("INSERT INTO authors VALUES (?, ?, ?, ?, ?, ?, ?, ?)", authors)
        c.executemany("INSERT INTO sounds VALUES (?, ?, ?, ?)", sounds)
        c.executemany("INSERT INTO videos (id, path, content_hash, size_bytes, mtime_ns, duration, width, "
                      "height, fps, status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", videos)
        c.executemany("INSERT INTO posts (video_id, description, posted_at, author_id, sound_id, "
                      "meta_duration, source) VALUES (?, ?, ?, ?, ?, ?, ?)", posts)
        c.executemany("INSERT INTO engagement VALUES (?, ?, ?, ?, ?)", engagement)
        c.executemany("INSERT INTO hashtags VALUES (?, ?)", tag_names)
        c.executemany("INSERT INTO video_hashtags VALUES (?, ?)", video_tags)
    t_db = time.perf_counter() - t0
    ok_rows = np.flatnonzero(status == "ok")
    _thumbnails(lib, [videos[i][2] for i in ok_rows[:2000]])
    _fake_run(lib, rng, ids[ok_rows], likes[ok_rows].astype(np.float64), has_likes[ok_rows],
              original[ok_rows], song[ok_rows], tags_of, ok_rows, followers[author[ok_rows]],
              posted[ok_rows], duration[ok_rows])
    lib.close()
    (root / "bench.json").write_text(json.dumps({"n": n, "seed": seed}))
    print(f"built {n:,} videos ({len(video_tags):,} hashtag links, {len(sounds):,} sounds, "
          f"{n_authors:,} authors) in {time.perf_counter() - t0:.1f} s (rows and database "
          f"{t_db:.1f} s)",
          flush=True)


def _zipf(rng: np.random.Generator, size: int, n: int, a: float) -> np.ndarray:
    p = 1.0 / np.arange(1, size + 1) ** a
    return rng.choice(size, n, p=p / p.sum())


def _tag_name(t: int) -> str:
    return ("fyp", "viral", "foryou", "trending")[t] if t < 4 else f"tag{t}"


def _hashtags(rng: np.random.Generator, n: int, n_tags: int) -> list[list[int]]:
    """0-9 tags per video (about 3.5 on average), Zipf-popular with a long tail."""
    count = np.minimum(rng.poisson(3.0, n), 9)
    pick = _zipf(rng, n_tags, int(count.sum()), 1.05)
    out, start = [], 0
    for c in count:
        out.append(sorted(set(pick[start:start + c].tolist())))
        start += c
    return out


def _thumbnails(lib: Library, hashes: list[str]) -> None:
    from PIL import Image
    import io

    buf = io.BytesIO()
    Image.new("RGB", (90, 160), (30, 120, 200)).save(buf, format="JPEG")
    for h in hashes:
        path = lib.cache.thumb_path(h)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buf.getvalue())


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _fake_run(lib: Library, rng: np.random.Generator, ids: np.ndarray, likes: np.ndarray,
              has_likes: np.ndarray, original: np.ndarray, song: np.ndarray,
              tags_of: list[list[int]], rows: np.ndarray, followers: np.ndarray,
              posted: np.ndarray, duration: np.ndarray) -> None:
    """A finished run with embeddings and stored analytics of the right shapes."""
    from reelscope.core.analytics.analyze import _source, jsonable, npz_bytes
    from reelscope.core.analytics.results import (AnalysisSettings, AnalysisSummary, ForecastResult,
                                                  HashtagResult, OriginalityResult, SoundResult,
                                                  SoundTrend)
    from reelscope.core.analytics.forecast import (LikeFeatures, LikeForecaster, author_features,
                                                   context_features)
    from reelscope.core.analytics.hashtags import HashtagSuggester
    from reelscope.core.analytics.vector_index import VectorIndex
    from reelscope.core.store.embeddings import Embeddings, l2_normalise, save_embeddings
    from reelscope.core.store.models import TrainingRun

    m = len(ids)
    run_dir = lib.path / "runs" / RUN_ID
    run_dir.mkdir(parents=True, exist_ok=True)
    topic = rng.integers(0, 200, m)
    centres = rng.standard_normal((200, DIMS["visual"]))
    visual = l2_normalise(centres[topic] + 0.5 * rng.standard_normal((m, DIMS["visual"])))
    song_dir = rng.standard_normal((song.max() + 1, DIMS["audio"]))
    audio = l2_normalise(np.where(original[:, None], rng.standard_normal((m, DIMS["audio"])),
                                  song_dir[song] + 0.05 * rng.standard_normal((m, DIMS["audio"]))))
    fused = l2_normalise(np.concatenate([visual, audio], axis=1))
    save_embeddings(run_dir, Embeddings(RUN_ID, ids, visual, audio, fused))
    lib.save_run(TrainingRun(RUN_ID, "av-simclr", "small", "finished", time.time(),
                             f"runs/{RUN_ID}", finished_at=time.time()))
    run = lib.run(RUN_ID)

    index_dir = run_dir / "index" / "fused"
    index = VectorIndex(fused.shape[1], exact_below=10**9)  # exact: no graph to build here
    index.add(list(ids), fused)
    index.save(index_dir)
    st = (run_dir / "embeddings.npz").stat()
    _write(index_dir / "source.json", json.dumps(
        {"embeddings_mtime_ns": st.st_mtime_ns, "embeddings_size": st.st_size}).encode())

    known_likes = np.where(has_likes, likes, np.nan)
    detectors = {d: rng.uniform(0, 100, m) for d in DETECTORS}
    ens = np.argsort(np.argsort(np.mean(list(detectors.values()), axis=0))) * 100.0 / max(1, m - 1)
    sound_cluster = np.where(original, song.max() + 2 + np.arange(m), song + 1).astype(np.float64)
    scores = {"ids": ids, "likes": known_likes, "originality": ens,
              **{f"originality_{d}": v for d, v in detectors.items()},
              "sound_cluster": sound_cluster}

    f = LikeFeatures(fused, author_features(followers, followers * 5.0, np.full(m, 100.0),
                                            np.full(m, 50.0)),
                     context_features(duration, posted))
    sample = rng.choice(np.flatnonzero(has_likes), min(5000, int(has_likes.sum())), replace=False)
    forecaster = LikeForecaster(n_components=8).fit(f.take(sample), likes[sample])
    log_f, q = forecaster.predict_log(f), forecaster.q_["full"]
    scores.update(like_forecast=np.expm1(log_f).clip(0, None),
                  like_low=np.expm1(np.clip(log_f - q, 0, None)), like_high=np.expm1(log_f + q))
    tagged = np.array([i for i in range(m) if tags_of[rows[i]]])
    fit_rows = rng.choice(tagged, min(5000, len(tagged)), replace=False)
    suggester = HashtagSuggester(max_fit_rows=5000).fit(
        fused[fit_rows], [[_tag_name(t) for t in tags_of[rows[i]]] for i in fit_rows],
        [float(likes[i]) if has_likes[i] else None for i in fit_rows])

    folder = run_dir / "analytics"
    folder.mkdir(exist_ok=True)
    _write(folder / "forecast.npz", npz_bytes(forecaster.to_arrays()))
    _write(folder / "hashtags.npz", npz_bytes(suggester.to_arrays()))
    _write(folder / "scores.npz", npz_bytes(scores))
    used = np.bincount(song[~original])
    trends = [SoundTrend(int(c) + 1, f"s{c}", f"Song {c}", int(used[c]),
                         [str(v) for v in ids[(song == c) & ~original][:20]],
                         None, None, 0, 0, None, None)
              for c in used.argsort()[::-1][:100]]
    order = np.argsort(-ens)
    summary = AnalysisSummary(
        format=1, run=RUN_ID, method="av-simclr", kind="fused", created_at=time.time(),
        source=_source(lib, run), videos=m, not_embedded=0,
        videos_with_likes=int(has_likes.sum()), videos_with_hashtags=int(len(tagged)),
        settings=AnalysisSettings("random", 0.8, 0),
        sounds=SoundResult(trends=trends),
        originality=OriginalityResult(list(DETECTORS), [str(v) for v in ids[order[:10]]],
                                      [str(v) for v in ids[order[::-1][:10]]]),
        forecast=ForecastResult(videos=int(has_likes.sum()), coverage=0.8,
                                interval_half_width_log=q, n_fit=len(sample),
                                n_calibration=len(sample)),
        hashtags=HashtagResult(table=[], vocabulary=int(len(suggester.vocabulary_))))
    _write(folder / "summary.json", json.dumps(jsonable(summary.as_json())).encode())


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
    marker = root / "bench.json"
    if marker.exists() and json.loads(marker.read_text()).get("n") == n:
        print(f"reusing the {n:,}-video library in {root}", flush=True)
    elif (root / "library.db").exists():
        sys.exit(f"{root} holds another library; give an empty or new --dir")
    else:
        build(root, n)
    results = run_bench(root, args.repeats)
    print(json.dumps({"bench": "queries", "videos": n, "cpus": os.cpu_count(),
                      "date": time.strftime("%Y-%m-%d"), **results}))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
