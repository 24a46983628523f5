"""Fit all of analytics part A on a synthetic 300,000-video library: time and peak memory.

Steps, each timed, in one process whose peak RSS (resource.getrusage) is the
number to keep under 2 GB:

  index        VectorIndex over the fused embeddings (hnswlib), saved to disk
  originality  OriginalityScorer's default ensemble (kNN, LOF, whitened PCA, isolation
               forest on the "visual" = fused embeddings, kNN on the audio), all rows scored
  sounds       sound_clusters on the audio embeddings, plus typicality of every video

Synthetic data: fused = bench/ann.py's embedding-like vectors (256-d), the
last 300 planted originals (each from a cluster of its own); audio (128-d) = 4,000 reused sounds with
Zipf-like popularity covering ~half the videos (each use a noisy copy of its
sound) and a sound of their own for the rest, all sounds grouped in 300
genres; 5% of reuses are labelled "original sound" in the metadata. The quality checks printed (outlier
percentiles, adjusted Rand index, planted mislabels found) are sanity checks.

    python bench/analytics_scale.py [--quick] [--n 300000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ann import embedding_like  # noqa: E402

from reelscope.core.analytics.originality import OriginalityScorer  # noqa: E402
from reelscope.core.analytics.vector_index import VectorIndex  # noqa: E402
from reelscope.core.analytics.sounds import sound_clusters, trend_typicality_all  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def synthetic_audio(n: int, dim: int = 128, n_sounds: int = 4000, reuse: float = 0.5, seed: int = 1):
    """(audio float32 [n, dim], true sound int64 [n] (-1 = unique), metadata ids, planted mislabels).

    Every sound belongs to one of 300 genres (a sound = genre direction + noise,
    pairwise cosine ~0.45 within a genre); a reuse is the sound plus a little
    noise (cosine ~0.95 between two uses of the same sound).
    """
    rng = np.random.default_rng(seed)

    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    genres = unit(rng.standard_normal((300, dim), dtype=np.float32))
    popularity = 1.0 / np.arange(1, n_sounds + 1) ** 0.8
    sound = np.where(rng.random(n) < reuse, rng.choice(n_sounds, n, p=popularity / popularity.sum()), -1)
    sounds = unit(genres[rng.integers(0, 300, n_sounds)] + 0.1 * rng.standard_normal((n_sounds, dim), dtype=np.float32))
    audio = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 50_000):
        rows = np.arange(s, min(n, s + 50_000))
        own = genres[rng.integers(0, 300, len(rows))] + 0.1 * rng.standard_normal((len(rows), dim), dtype=np.float32)
        same = sounds[np.maximum(sound[rows], 0)] + 0.02 * rng.standard_normal((len(rows), dim), dtype=np.float32)
        audio[rows] = unit(np.where((sound[rows] >= 0)[:, None], same, own))
    ids = np.array([f"v{i:07d}" for i in range(n)])
    meta = np.where(sound >= 0, np.char.add("song-", sound.astype(str)), np.char.add("orig-", ids))
    reused = np.flatnonzero(sound >= 0)
    mislabel = reused[rng.random(len(reused)) < 0.05]
    meta[mislabel] = np.char.add("orig-", ids[mislabel])
    return audio, sound, list(ids), list(meta), set(ids[mislabel])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--quick", action="store_true", help="small smoke run (20,000 videos)")
    args = ap.parse_args()
    n = 20_000 if args.quick else args.n
    times: dict[str, float] = {}

    t = time.perf_counter()
    fused = embedding_like(n, 256, seed=0, isolated=300)
    outliers = np.arange(n - 300, n)
    audio, true_sound, ids, meta, planted = synthetic_audio(n)
    print(f"{n:,} synthetic videos generated in {time.perf_counter() - t:.1f} s; "
          f"peak RSS so far {peak_mb():,.0f} MB")

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        index = VectorIndex(256)
        index.add(ids, fused)
        index.save(Path(tmp) / "fused")
        times["index"] = time.perf_counter() - t
        size = sum(f.stat().st_size for f in (Path(tmp) / "fused").iterdir()) / 2**20
        print(f"index: {times['index']:.1f} s (hnswlib={index.uses_hnsw}, {size:,.0f} MB on disk); "
              f"peak RSS {peak_mb():,.0f} MB")
        del index

    t = time.perf_counter()
    scorer = OriginalityScorer().fit({"visual": fused, "audio": audio})
    times["originality"] = time.perf_counter() - t
    pct = scorer.scores_
    print(f"originality ({', '.join(scorer.detectors)}): {times['originality']:.1f} s; planted outliers' median "
          f"percentile " + ", ".join(f"{k} {np.median(v[outliers]):.1f}" for k, v in pct.items())
          + f"; peak RSS {peak_mb():,.0f} MB")
    t = time.perf_counter()
    one = scorer.score({"visual": fused[:1] + 0.01, "audio": audio[:1]})  # a new video, not a library row
    print(f"  scoring one new video: {time.perf_counter() - t:.2f} s (ensemble {one['ensemble'][0]:.1f})")
    del scorer, pct

    t = time.perf_counter()
    clusters = sound_clusters(audio, ids, meta)
    typical = trend_typicality_all(audio, clusters["labels"])
    times["sounds"] = time.perf_counter() - t
    from sklearn.metrics import adjusted_rand_score

    truth = np.where(true_sound >= 0, true_sound, n + np.arange(n))  # unique sounds: own groups
    found = {m["id"] for m in clusters["mismatches"]}
    print(f"sounds: {times['sounds']:.1f} s; threshold {clusters['threshold']:.3f} "
          f"({clusters['threshold_method']}), {int((clusters['sizes'] >= 2).sum()):,} reused sounds, "
          f"ARI {adjusted_rand_score(truth, clusters['labels']):.3f}, planted mislabels found "
          f"{len(found & planted):,}/{len(planted):,} (+{len(found - planted):,} others flagged), "
          f"typicality known for {np.isfinite(typical).mean():.0%}; peak RSS {peak_mb():,.0f} MB")

    total = sum(times.values())
    print(f"summary: {n:,} videos, total {total:.1f} s ("
          + ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
          + f"), peak RSS {peak_mb():,.0f} MB -> {'PASS' if peak_mb() < 2048 else 'FAIL'} (< 2 GB)")


if __name__ == "__main__":
    main()
