"""Similar-video search: hnswlib (VectorIndex) against exact numpy search, same queries.

Builds a VectorIndex over N embedding-like vectors (default 300,000 x 256), then
answers Q held-out queries (k=10) both ways, each batched and on the same
threads, and prints recall@10 of the graph against the exact answer, queries
per second of each and their ratio for several ef_search values. Build time
is reported separately. Aim: recall@10 >= 0.98 at >= 20x the exact QPS.

    python bench/ann.py [--quick] [--n 300000] [--dim 256] [--data embedding|random]

"Embedding-like" data: 2,000 gaussian clusters in a 64-dimensional latent
space, mapped linearly to ``dim`` dimensions plus isotropic noise and
L2-normalised — learned embeddings concentrate near a low-dimensional set like
this. ``--data random`` (isotropic gaussian directions) is the worst case for
any graph index and is slower at the same recall.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

from timing import best_time  # bench/timing.py, beside this script

from reelscope.core.analytics.vector_index import VectorIndex, exact_top_k


def embedding_like(n: int, dim: int, seed: int = 0, latent: int = 64, clusters: int = 2000,
                   isolated: int = 0, chunk: int = 50_000) -> np.ndarray:
    """float32 [n, dim] unit rows: clustered, low intrinsic dimension, with noise.

    The last ``isolated`` rows each come from a cluster of their own: content
    no other video shares (planted originals for the analytics benchmark).
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters + isolated, latent)).astype(np.float32)
    lift = (rng.standard_normal((latent, dim)) / np.sqrt(latent)).astype(np.float32)
    which = np.r_[rng.integers(0, clusters, n - isolated), np.arange(clusters, clusters + isolated)]
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        z = centres[which[s : s + m]] + 0.6 * rng.standard_normal((m, latent), dtype=np.float32)
        x = z @ lift + 0.3 * rng.standard_normal((m, dim), dtype=np.float32)
        out[s : s + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def random_unit(n: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--M", type=int, default=16, help="graph degree (default: the app's)")
    ap.add_argument("--ef-construction", type=int, default=100, help="build-time candidate list (default: the app's)")
    ap.add_argument("--ef", type=int, nargs="+", default=[32, 48, 64, 128])
    ap.add_argument("--data", choices=("embedding", "random"), default="embedding")
    ap.add_argument("--quick", action="store_true", help="small smoke run (20,000 vectors, 200 queries)")
    args = ap.parse_args()
    if args.quick:
        args.n, args.queries = 20_000, 200

    make = embedding_like if args.data == "embedding" else random_unit
    t = time.perf_counter()
    data = make(args.n + args.queries, args.dim, seed=0)
    data, queries = data[: args.n], np.ascontiguousarray(data[args.n :])  # held-out queries
    print(f"data: {args.n:,} x {args.dim} {args.data}-like unit vectors, {args.queries} held-out "
          f"queries, k={args.k} ({time.perf_counter() - t:.1f} s to generate); {os.cpu_count()} CPUs")

    exact_s, (truth, _) = best_time(lambda: exact_top_k(queries, data, args.k), repeats=2)
    exact_qps = args.queries / exact_s
    print(f"exact numpy (batched matmul + argpartition): {exact_qps:,.0f} queries/s")

    index = VectorIndex(args.dim, exact_below=0, M=args.M, ef_construction=args.ef_construction)
    t = time.perf_counter()
    index.add([str(i) for i in range(args.n)], data)
    build_s = time.perf_counter() - t
    print(f"hnswlib build: {build_s:.1f} s (M={args.M}, ef_construction={args.ef_construction}, "
          f"{args.n / build_s:,.0f} vectors/s)")

    print(f"{'ef':>6} {'recall@%d' % args.k:>10} {'queries/s':>11} {'x exact':>8}")
    chosen = None
    for ef in args.ef:
        index.ef_search = ef
        secs, (found, _) = best_time(lambda: index.search(queries, args.k), repeats=3)
        recall = np.mean([len(set(a) & set(b)) / args.k for a, b in zip(found, truth)])
        qps = args.queries / secs
        print(f"{ef:>6} {recall:>10.4f} {qps:>11,.0f} {qps / exact_qps:>7.1f}x")
        if chosen is None and recall >= 0.98:
            chosen = (ef, recall, qps / exact_qps)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if chosen:
        ef, recall, ratio = chosen
        verdict = "PASS" if ratio >= 20 else "FAIL (speed)"
        print(f"summary: ef_search={ef}: recall@{args.k}={recall:.4f}, {ratio:.1f}x exact QPS, "
              f"build {build_s:.1f} s, peak RSS {peak_mb:,.0f} MB -> {verdict}")
    else:
        print(f"summary: no ef reached recall 0.98; peak RSS {peak_mb:,.0f} MB -> FAIL (recall)")


if __name__ == "__main__":
    main()
