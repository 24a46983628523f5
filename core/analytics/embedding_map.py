"""A 2-D map of a run's embeddings: videos that look and sound alike lie close together.

Two layouts, because one is instant and the other is right:

- **PCA** (:func:`pca_map`): the two directions along which the embeddings vary most.
  Linear and exact, about a second for 300,000 videos, so a view shows it at once. It
  keeps only what two directions say: groups that differ along the other directions
  land on top of each other.
- **t-SNE of a sample, the rest placed** (:func:`sampled_tsne`): t-SNE keeps each
  video's nearest neighbours near it, which is what a map of "what is alike" is for.
  It is scikit-learn's Barnes-Hut t-SNE, because umap-learn and openTSNE are not
  dependencies and scikit-learn already is. t-SNE costs too much to run on every video
  (about 25 s for 5,000 videos on two cores, far more than a user waits at 300,000), and
  cannot place a video it was not fitted on, so it lays out a random sample of at most
  :data:`SAMPLE_SIZE` videos and every other video goes to the distance-weighted mean
  of the map positions of its :data:`NEIGHBOURS` most similar sample videos (cosine
  similarity in embedding space, exact) — the usual way to add points to a fitted
  t-SNE map. A sample of 5,000 still shows any group of a few dozen videos or more.

:func:`compute_map` is the writing job: it stores ``runs/<run>/analytics/map.npz``
(``ids`` str [N], ``xy`` float32 [N, 2], ``meta`` a JSON string with the method, the
settings and the embeddings file it was computed from), written atomically, so a
re-embed makes it stale. :func:`load_map` reads it back (None when missing or stale).
Everything here is numpy and scikit-learn; nothing imports Qt.
"""

from __future__ import annotations

import json
import time
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from reelscope.core.progress import CancelToken, ProgressCallback, Reporter
from reelscope.core.store.lock import writing_job

if TYPE_CHECKING:
    from reelscope.core.store.library import Library
    from reelscope.core.store.models import TrainingRun

FILE_NAME = "map.npz"
FORMAT_VERSION = 1
SAMPLE_SIZE = 5_000  # videos t-SNE lays out itself
NEIGHBOURS = 10  # sample videos that place each other video
MIN_TSNE = 5  # fewer videos: the stored map is the PCA one
PLACE_CHUNK = 8_192  # rows per similarity block: bounded memory, a progress step each


@dataclass(frozen=True)
class MapLayout:
    """A map of one run's embeddings: row i of ``xy`` (float32 [N, 2]) is ``ids[i]`` (str [N]).

    ``method`` is "pca" or "tsne"; ``sample`` counts the videos the method laid out
    itself (every video for PCA), ``neighbours`` the sample videos that placed each other
    video (0 when none was placed); ``explained`` is the share of the variance PCA's two
    axes keep (NaN for t-SNE); ``seconds`` what computing it took.
    """

    ids: np.ndarray
    xy: np.ndarray
    method: str
    kind: str = "fused"
    sample: int = 0
    neighbours: int = 0
    explained: float = float("nan")
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.ids)

    def describe(self) -> str:
        """One sentence on how the map was made, in a marketer's words."""
        n = len(self)
        if self.method == "pca":
            share = f" that keep {self.explained:.0%} of the variation" if np.isfinite(self.explained) else ""
            return f"PCA of the {self.kind} embeddings: the two directions{share} between {n:,} videos."
        placed = n - self.sample
        if placed <= 0:
            return f"t-SNE of all {n:,} videos' {self.kind} embeddings: similar videos lie close together."
        return (f"t-SNE of a {self.sample:,}-video sample of the {self.kind} embeddings; the other "
                f"{placed:,} placed beside their {self.neighbours} most similar sample videos.")


# ------------------------------------------------------------------ layouts
def pca_map(X: np.ndarray) -> tuple[np.ndarray, float]:
    """The first two principal components of ``X`` (float [N, D]): (float32 [N, 2], the
    share of the variance they keep). Fewer than two videos, or no variation: zeros."""
    from sklearn.decomposition import PCA

    X = np.asarray(X, dtype=np.float32)
    n, d = X.shape
    if n < 2 or d < 1 or not np.ptp(X, axis=0).any():
        return np.zeros((n, 2), dtype=np.float32), float("nan")
    k = min(2, d, n)
    # covariance_eigh: one D x D eigenproblem, the fastest exact solver when N >> D.
    pca = PCA(n_components=k, svd_solver="covariance_eigh" if n > d else "full", random_state=0)
    xy = pca.fit_transform(X).astype(np.float32)
    if k < 2:
        xy = np.column_stack([xy, np.zeros(n, dtype=np.float32)])
    return xy, float(pca.explained_variance_ratio_.sum())


def tsne(X: np.ndarray, random_state: int = 0) -> np.ndarray:
    """Barnes-Hut t-SNE of ``X`` (float [M, D], M >= :data:`MIN_TSNE`) with cosine
    similarity: float32 [M, 2]. The perplexity (30, the usual choice) shrinks for small M,
    where t-SNE needs it below M / 3."""
    from sklearn.manifold import TSNE

    m = len(X)
    perplexity = float(min(30.0, max(1.0, (m - 1) / 3.0)))
    model = TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="pca",
                 learning_rate="auto", random_state=random_state)
    return model.fit_transform(np.asarray(X, dtype=np.float32)).astype(np.float32)


def unit_rows(X: np.ndarray) -> np.ndarray:
    """float32 rows scaled to length 1 (zero rows stay zero): dot products are cosines."""
    X = np.asarray(X, dtype=np.float32)
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def place(X: np.ndarray, anchors: np.ndarray, anchor_xy: np.ndarray, k: int = NEIGHBOURS,
          reporter: Reporter | None = None, chunk: int = PLACE_CHUNK) -> np.ndarray:
    """Map positions (float32 [M, 2]) for the rows of ``X`` (float [M, D]): each is the
    mean of the positions ``anchor_xy`` (float [A, 2]) of its ``k`` most similar
    ``anchors`` (float [A, D], cosine similarity), weighted by 1 / (cosine distance)² so a
    video much like one sample video lands on it. Exact: one matrix product per chunk of
    rows; ``reporter`` counts rows and can cancel between chunks."""
    A = unit_rows(anchors)
    anchor_xy = np.asarray(anchor_xy, dtype=np.float64)
    k = max(1, min(k, len(A)))
    out = np.empty((len(X), 2), dtype=np.float32)
    for start in range(0, len(X), chunk):
        S = unit_rows(X[start:start + chunk]) @ A.T  # cosines, [c, A]
        top = np.argpartition(-S, k - 1, axis=1)[:, :k] if k < len(A) else np.broadcast_to(
            np.arange(len(A)), S.shape)
        dist = np.maximum(1.0 - np.take_along_axis(S, top, axis=1).astype(np.float64), 0.0)
        w = 1.0 / (dist + 1e-3) ** 2
        w /= w.sum(axis=1, keepdims=True)
        out[start:start + len(S)] = np.einsum("ck,ckj->cj", w, anchor_xy[top])
        if reporter is not None:
            reporter.step(len(S))
    return out


def sampled_tsne(X: np.ndarray, sample_size: int = SAMPLE_SIZE, neighbours: int = NEIGHBOURS,
                 random_state: int = 0, progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> tuple[np.ndarray, int]:
    """t-SNE of a random sample of at most ``sample_size`` rows of ``X`` (float [N, D]),
    every other row placed by :func:`place`: (float32 [N, 2], the sample's size).

    Progress: "Laying out a sample (t-SNE)" (no count: scikit-learn's t-SNE reports
    none, and a cancel takes effect when it returns), then "Placing the other videos"
    by rows. Raises ``Cancelled`` when ``cancel`` is set.
    """
    n = len(X)
    rng = np.random.default_rng(random_state)
    sample = np.sort(rng.choice(n, size=min(sample_size, n), replace=False))
    fit = Reporter("Laying out a sample (t-SNE)", None, progress, cancel)
    fit.update(0, f"{len(sample):,} videos")
    xy = np.empty((n, 2), dtype=np.float32)
    xy[sample] = tsne(X[sample], random_state)
    fit.check()
    rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
    if len(rest):
        placing = Reporter("Placing the other videos", len(rest), progress, cancel)
        placing.update(0)
        xy[rest] = place(X[rest], X[sample], xy[sample], neighbours, placing)
    return xy, len(sample)


def layout(ids: np.ndarray, X: np.ndarray, kind: str = "fused", sample_size: int = SAMPLE_SIZE,
           neighbours: int = NEIGHBOURS, random_state: int = 0,
           progress: ProgressCallback | None = None,
           cancel: CancelToken | None = None) -> MapLayout:
    """The background map of ``X`` (float [N, D], row i for ``ids[i]``): sampled t-SNE,
    or PCA when there are fewer than :data:`MIN_TSNE` videos to lay out."""
    started = time.monotonic()
    if len(X) < MIN_TSNE:
        xy, explained = pca_map(X)
        return MapLayout(np.asarray(ids, dtype=str), xy, "pca", kind, len(X), 0, explained,
                         time.monotonic() - started)
    xy, sample = sampled_tsne(X, sample_size, neighbours, random_state, progress, cancel)
    return MapLayout(np.asarray(ids, dtype=str), xy, "tsne", kind, sample,
                     neighbours if sample < len(X) else 0, float("nan"), time.monotonic() - started)


# ------------------------------------------------------------- stored map
def read_embeddings(library: Library, run: TrainingRun, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(ids str [N], float32 [N, D]) of ``run``'s ``kind`` embeddings, reading only those
    two arrays of ``embeddings.npz``."""
    from reelscope.core.store.embeddings import FILE_NAME as EMBEDDINGS
    from reelscope.core.store.embeddings import KINDS

    if kind not in KINDS:
        raise ValueError(f"unknown embedding kind {kind!r}; choose one of {', '.join(KINDS)}")
    with np.load(library.path / run.dir / EMBEDDINGS, allow_pickle=False) as z:
        return z["ids"].astype(str), np.asarray(z[kind], dtype=np.float32)


def map_path(library: Library, run: TrainingRun) -> Any:
    from reelscope.core.analytics.analyze import analysis_folder

    return analysis_folder(library, run) / FILE_NAME


def load_map(library: Library, run: TrainingRun, kind: str = "fused") -> tuple[MapLayout | None, str]:
    """``run``'s stored map of ``kind`` and "" — or (None, why not): "missing", "stale"
    (computed from other embeddings, or another kind or format) or "unreadable: …"."""
    from reelscope.core.analytics.analyze import (
        _source,  # the embeddings stamp analyses keep too
    )

    path = map_path(library, run)
    if not path.exists():
        return None, "missing"
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if (meta.get("format") != FORMAT_VERSION or meta.get("kind") != kind
                    or meta.get("source") != _source(library, run)):
                return None, "stale"
            ids, xy = z["ids"].astype(str), np.asarray(z["xy"], dtype=np.float32)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:  # cut short, not an npz
        return None, f"unreadable: {type(exc).__name__}: {str(exc)[:80]}"
    if xy.shape != (len(ids), 2):
        return None, "unreadable: its arrays do not match"
    explained = meta.get("explained")
    return MapLayout(ids, xy, str(meta["method"]), kind, int(meta["sample"]), int(meta["neighbours"]),
                     float("nan") if explained is None else float(explained),
                     float(meta.get("seconds", 0.0))), ""


@writing_job("embedding map")
def compute_map(library: Library, run_id: str | None = None, kind: str = "fused",
                sample_size: int = SAMPLE_SIZE, neighbours: int = NEIGHBOURS, random_state: int = 0,
                progress: ProgressCallback | None = None,
                cancel: CancelToken | None = None) -> MapLayout:
    """Lay out ``run_id``'s embeddings (default: the newest run with embeddings) with
    :func:`layout` and store the map in ``runs/<run>/analytics/map.npz``. Nothing is
    written when cancelled; re-running replaces the map."""
    from reelscope.core.analytics.analyze import _source, npz_bytes
    from reelscope.core.analytics.data import resolve_run
    from reelscope.training.files import write_bytes_atomic

    run = resolve_run(library, run_id)
    source = _source(library, run)  # taken first: a re-embed meanwhile leaves this map stale
    ids, X = read_embeddings(library, run, kind)
    result = layout(ids, X, kind, sample_size, neighbours, random_state, progress, cancel)
    Reporter("Saving the map", None, progress, cancel).update(0)
    meta = {"format": FORMAT_VERSION, "method": result.method, "kind": kind, "sample": result.sample,
            "neighbours": result.neighbours, "random_state": random_state,
            "explained": None if not np.isfinite(result.explained) else result.explained,
            "seconds": round(result.seconds, 3), "source": source}
    write_bytes_atomic(map_path(library, run), npz_bytes(
        {"ids": result.ids, "xy": result.xy, "meta": np.array(json.dumps(meta))}))
    return result
