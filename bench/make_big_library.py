"""A large synthetic library for the benchmarks: 300,000 videos by default, built in a few
minutes without media, decoding or training.

Every table is filled with ``executemany`` in one transaction — authors with heavy-tailed
followers, sounds reused with Zipf popularity and 40 % "original sound" posts, a long tail
of hashtags, likes driven by followers with heavy-tailed noise, a few failed and pending
imports, thumbnails — and one training run whose stored results have the shapes
``reelscope analyze`` writes (embeddings.npz, analytics/summary.json, scores.npz,
forecast.npz, hashtags.npz and an exact similarity index). ``bench.json`` in the folder
records what was built so a later run reuses it.

With ``--model`` the run also gets real weights: a ``small`` av-simclr encoder as training
initialises it (untrained: the figures measured here are time and memory, not quality),
and embeddings of that encoder's sizes (128 visual, 128 audio, 256 fused) instead of 8/8/16,
so ``predict`` and ``similar FILE`` embed files with it and every analytics step works on
vectors the size a real library has.

    python bench/make_big_library.py --dir DIR [--n 300000] [--seed 0] [--model]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from reelscope.core.store.library import Library

RUN_ID = "bench-run"
THUMBNAILS = 20_000  # the first videos get one (a gallery and the hover show them)
DIMS = {"visual": 8, "audio": 8, "fused": 16}
DETECTORS = ("iforest", "ecod", "knn", "copod")
WORDS = ("dance", "recipe", "sunset", "cat", "prank", "tutorial", "gym", "outfit", "travel",
         "makeup", "guitar", "coffee", "beach", "storytime", "hack", "review")


# ----------------------------------------------------------------------- building
def build(root: Path, n: int, seed: int = 0, model: bool = False) -> None:
    """A synthetic ``n``-video library in ``root`` (which must not hold one yet); ``model``:
    real weights and embedding sizes (see the module docstring)."""
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
    _thumbnails(lib, [videos[i][2] for i in ok_rows[:THUMBNAILS]])
    _fake_run(lib, rng, ids[ok_rows], likes[ok_rows].astype(np.float64), has_likes[ok_rows],
              original[ok_rows], song[ok_rows], tags_of, ok_rows, followers[author[ok_rows]],
              posted[ok_rows], duration[ok_rows], _save_model(lib) if model else DIMS)
    lib.close()
    (root / "bench.json").write_text(json.dumps({"n": n, "seed": seed, "model": model}))
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
    """Small JPEGs in 24 hues (a frame of colour bands), so galleries look like galleries."""
    import colorsys
    import io

    from PIL import Image, ImageDraw

    images = []
    for k in range(24):
        r, g, b = (int(255 * c) for c in colorsys.hsv_to_rgb(k / 24, 0.55, 0.85))
        img = Image.new("RGB", (90, 160), (r, g, b))
        draw = ImageDraw.Draw(img)
        draw.ellipse((20 + k % 5 * 6, 40, 70, 90 + k % 7 * 5), fill=(255 - r, 255 - g, 255 - b))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=80)
        images.append(buf.getvalue())
    for n, h in enumerate(hashes):
        path = lib.cache.thumb_path(h)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(images[n % len(images)])


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _fake_run(lib: Library, rng: np.random.Generator, ids: np.ndarray, likes: np.ndarray,
              has_likes: np.ndarray, original: np.ndarray, song: np.ndarray,
              tags_of: list[list[int]], rows: np.ndarray, followers: np.ndarray,
              posted: np.ndarray, duration: np.ndarray, dims: dict[str, int]) -> None:
    """A finished run with embeddings (of ``dims``) and stored analytics of the right shapes."""
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
    centres = rng.standard_normal((200, dims["visual"])).astype(np.float32)
    visual = l2_normalise(centres[topic] + 0.5 * rng.standard_normal((m, dims["visual"]), np.float32))
    song_dir = rng.standard_normal((song.max() + 1, dims["audio"])).astype(np.float32)
    audio = l2_normalise(np.where(original[:, None], rng.standard_normal((m, dims["audio"]), np.float32),
                                  song_dir[song] + 0.05 * rng.standard_normal((m, dims["audio"]), np.float32)))
    fused = l2_normalise(np.concatenate([visual, audio], axis=1))
    save_embeddings(run_dir, Embeddings(RUN_ID, ids, visual, audio, fused))
    lib.save_run(TrainingRun(RUN_ID, "av-simclr", "small", "done", time.time(),
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


def _save_model(lib: Library) -> dict[str, int]:
    """Weights and config of an initialised ``small`` av-simclr encoder in the bench run's
    folder; returns its embedding sizes."""
    import torch

    from reelscope.training.checkpoint import save_weights
    from reelscope.training.config import DataStats, make_config
    from reelscope.training.encoders import build_model

    spec = lib.cache.spec
    cfg = make_config("av-simclr", "small", device="cpu").replace(stats=DataStats(
        n_mels=spec.n_mels, mel_rate=spec.mel_rate, f_max=spec.sample_rate / 2, cache_frames=spec.frames))
    torch.manual_seed(0)
    model = build_model(cfg)
    run_dir = lib.path / "runs" / RUN_ID
    run_dir.mkdir(parents=True, exist_ok=True)
    save_weights(run_dir, model, cfg)
    visual, audio = model.video.out_dim, model.audio.out_dim
    return {"visual": visual, "audio": audio, "fused": visual + audio}


def ensure(root: Path, n: int, seed: int = 0, model: bool = False) -> bool:
    """Build the ``n``-video library in ``root`` unless it is there already; True when built."""
    marker = root / "bench.json"
    if marker.exists():
        built = json.loads(marker.read_text())
        if built.get("n") == n and bool(built.get("model")) == model:
            return False
    if (root / "library.db").exists():
        raise SystemExit(f"{root} holds another library; give an empty or new --dir")
    build(root, n, seed, model)
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", action="store_true",
                    help="real (untrained) weights and real embedding sizes, for predict and analyze")
    args = ap.parse_args()
    t = time.perf_counter()
    built = ensure(args.dir, args.n, args.seed, args.model)
    print(f"{'built' if built else 'reusing'} the {args.n:,}-video library in {args.dir} "
          f"({time.perf_counter() - t:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
