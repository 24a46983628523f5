"""A cosine nearest-neighbour index over string-keyed vectors: exact numpy search while
small, an hnswlib HNSW graph once large; saved as hnswlib's binary or a ``.npy`` plus
``meta.json`` (never pickle). :mod:`.similar` keeps one per training run and kind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

META_NAME = "meta.json"
HNSW_NAME = "hnsw.bin"
VECTORS_NAME = "vectors.npy"
FORMAT_VERSION = 1

Neighbours = list[tuple[str, float]]


class VectorIndex:
    """Cosine similarity search over float32 [N, D] rows, each with a string id.

    Parameters
    ----------
    dim : int
        Length D of every vector.
    exact_below : int
        Below this many vectors the index searches exactly with numpy; at or
        above it, it switches (once, for good) to an hnswlib HNSW graph.
    ef_search : int
        hnswlib's query-time candidate list; larger is slower and more exact
        (hnswlib uses at least ``k``).
    M, ef_construction : int
        hnswlib's graph degree and build-time candidate list.

    Vectors are L2-normalised on the way in, so a score is the cosine
    similarity in [-1, 1], most similar first. Adding an id that is already in
    the index replaces its vector. Concurrent queries are safe; adding while
    another thread queries is not.
    """

    def __init__(
        self,
        dim: int,
        exact_below: int = 5000,
        ef_search: int = 64,  # recall@10 0.9999, 25x exact search at 300k x 256 (docs/BENCHMARKS.md)
        M: int = 16,  # with ef_construction 100: 3.9x faster to build than 32/200, same recall
        ef_construction: int = 100,
    ) -> None:
        self.dim = int(dim)
        self.exact_below = int(exact_below)
        self.ef_search = int(ef_search)
        self.M = int(M)
        self.ef_construction = int(ef_construction)
        self._ids: list[str] = []  # position = label in either backend
        self._label: dict[str, int] = {}
        self._vectors = np.zeros((0, self.dim), dtype=np.float32)  # exact backend only
        self._hnsw = None  # hnswlib.Index once the library is large

    # ------------------------------------------------------------------ state
    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> list[str]:
        """Ids in insertion order (a copy)."""
        return list(self._ids)

    @property
    def uses_hnsw(self) -> bool:
        return self._hnsw is not None

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._label

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored (L2-normalised) float32 [n, D] vectors of ``ids`` (KeyError if unknown)."""
        labels = np.array([self._label[str(i)] for i in ids], dtype=np.int64)
        if len(labels) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._hnsw is not None:
            return np.asarray(self._hnsw.get_items(labels), dtype=np.float32).reshape(-1, self.dim)
        return self._vectors[labels]

    # ----------------------------------------------------------------- adding
    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add float32 [n, D] ``vectors`` under ``ids`` (replacing known ids)."""
        vectors = as_unit_rows(vectors, self.dim)
        ids = [str(i) for i in ids]
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        # Within one call the last occurrence of an id wins, as with repeated calls.
        last = {vid: row for row, vid in enumerate(ids)}
        if len(last) < len(ids):
            vectors = vectors[np.fromiter(last.values(), dtype=np.int64, count=len(last))]
        n_before = len(self._ids)
        labels = np.empty(len(last), dtype=np.int64)
        for n, vid in enumerate(last):
            label = self._label.get(vid)
            if label is None:
                label = len(self._ids)
                self._label[vid] = label
                self._ids.append(vid)
            labels[n] = label
        if self._hnsw is None and len(self._ids) >= self.exact_below:
            self._start_hnsw(n_before)
        if self._hnsw is None:
            self._vectors = _grow(self._vectors, len(self._ids))
            self._vectors[labels] = vectors
        else:
            self._reserve(len(self._ids))
            self._hnsw.add_items(vectors, labels)

    def _start_hnsw(self, n_existing: int) -> None:
        """Move the first ``n_existing`` exact-search rows into a new HNSW graph."""
        import hnswlib

        index = hnswlib.Index(space="cosine", dim=self.dim)
        index.init_index(max_elements=_capacity(len(self._ids)), ef_construction=self.ef_construction, M=self.M)
        index.set_ef(self.ef_search)
        if n_existing:
            index.add_items(self._vectors[:n_existing], np.arange(n_existing))
        self._hnsw = index
        self._vectors = np.zeros((0, self.dim), dtype=np.float32)

    def _reserve(self, n: int) -> None:
        if n > self._hnsw.get_max_elements():
            self._hnsw.resize_index(_capacity(n))

    # --------------------------------------------------------------- querying
    def query(
        self,
        vectors: np.ndarray,
        k: int = 10,
        exclude_self: Optional[Sequence[Optional[str]]] = None,
    ) -> list[Neighbours]:
        """The ``k`` most similar stored ids for each float32 [Q, D] (or [D]) query.

        ``exclude_self[i]``, when given and not None, is an id that must not
        appear in row i's answer (usually the query video itself). Returns Q
        lists of ``(id, cosine similarity)``, most similar first; fewer than
        ``k`` when the index holds fewer vectors.
        """
        queries = as_unit_rows(vectors, self.dim)
        if exclude_self is not None and len(exclude_self) != len(queries):
            raise ValueError(f"exclude_self has {len(exclude_self)} ids for {len(queries)} queries")
        if len(self._ids) == 0 or len(queries) == 0 or k <= 0:
            return [[] for _ in range(len(queries))]
        labels, scores = self.search(queries, k + (1 if exclude_self is not None else 0))
        out: list[Neighbours] = []
        for row, (lab, sc) in enumerate(zip(labels, scores)):
            skip = exclude_self[row] if exclude_self is not None else None
            hits = [(self._ids[int(j)], float(s)) for j, s in zip(lab, sc) if self._ids[int(j)] != skip]
            out.append(hits[:k])
        return out

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Array form of :meth:`query`: int64 [Q, k'] labels and float32 [Q, k'] cosines.

        A label is the position of the id in :attr:`ids`; ``k' = min(k, len(self))``.
        For bulk work (neighbour graphs over the whole library) where
        building Python tuples would dominate.
        """
        queries = as_unit_rows(vectors, self.dim)
        n = len(self._ids)
        kk = min(k, n)
        if kk <= 0 or len(queries) == 0:
            return np.zeros((len(queries), 0), np.int64), np.zeros((len(queries), 0), np.float32)
        if self._hnsw is None:
            return exact_top_k(queries, self._vectors[:n], kk)
        if self._hnsw.ef != self.ef_search:  # ef_search may be tuned after construction
            self._hnsw.set_ef(self.ef_search)
        # hnswlib searches with max(ef, k) candidates, so ef never needs raising for k.
        labels, distances = self._hnsw.knn_query(queries, k=kk)
        return labels.astype(np.int64, copy=False), (1.0 - distances).astype(np.float32, copy=False)

    # ---------------------------------------------------------------- storage
    def save(self, folder: Path) -> None:
        """Write the index to ``folder`` (created); each file replaced atomically."""
        from reelscope.core.store.clipcache import atomic_save_npy
        from reelscope.training import faults
        from reelscope.training.files import atomic_path, write_bytes_atomic

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if self._hnsw is not None:
            with atomic_path(folder / HNSW_NAME) as tmp:
                self._hnsw.save_index(str(tmp))
            (folder / VECTORS_NAME).unlink(missing_ok=True)
        else:
            atomic_save_npy(folder / VECTORS_NAME, self._vectors[: len(self._ids)])
            (folder / HNSW_NAME).unlink(missing_ok=True)
        faults.point("index.data")  # vectors in place, meta.json not yet
        meta = {
            "format": FORMAT_VERSION,
            "backend": "hnsw" if self._hnsw is not None else "exact",
            "dim": self.dim,
            "exact_below": self.exact_below,
            "ef_search": self.ef_search,
            "M": self.M,
            "ef_construction": self.ef_construction,
            "ids": self._ids,
        }
        # Written last: a folder whose meta disagrees with its data is rebuilt by index_for.
        write_bytes_atomic(folder / META_NAME, json.dumps(meta).encode())

    @classmethod
    def load(cls, folder: Path) -> "VectorIndex":
        """Read an index written by :meth:`save`; ``ValueError`` if it is damaged."""
        folder = Path(folder)
        meta = json.loads((folder / META_NAME).read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{folder} holds index format {meta.get('format')}, not {FORMAT_VERSION}")
        index = cls(meta["dim"], meta["exact_below"], meta["ef_search"], meta["M"], meta["ef_construction"])
        ids = [str(i) for i in meta["ids"]]
        index._ids = ids
        index._label = {vid: n for n, vid in enumerate(ids)}
        if meta["backend"] == "hnsw":
            import hnswlib

            hnsw = hnswlib.Index(space="cosine", dim=index.dim)
            hnsw.load_index(str(folder / HNSW_NAME), max_elements=_capacity(len(ids)))
            if hnsw.get_current_count() != len(ids):
                raise ValueError(f"{folder}: graph holds {hnsw.get_current_count()} vectors, meta {len(ids)}")
            hnsw.set_ef(index.ef_search)
            index._hnsw = hnsw
        else:
            vectors = np.load(folder / VECTORS_NAME, allow_pickle=False)
            if vectors.shape != (len(ids), index.dim):
                raise ValueError(f"{folder}: vectors {vectors.shape}, meta ({len(ids)}, {index.dim})")
            index._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return index


def exact_top_k(
    queries: np.ndarray, vectors: np.ndarray, k: int, block_bytes: int = 64 << 20,
    norms: Optional[np.ndarray] = None, rows: Optional[np.ndarray] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` inner products: int64 [Q, k] rows and float32 [Q, k] scores.

    ``queries`` float32 [Q, D] and ``vectors`` float32 [N, D] (unit rows, so
    the inner product is the cosine; or any rows with their lengths in ``norms``
    float [N], which the products are divided by). Queries go in blocks so the
    [block, N] score matrix stays near ``block_bytes``.

    ``rows``: search only ``vectors[rows]`` (int [N']) without copying them; the returned
    rows (and ``norms``) then count positions in ``rows``. When ``rows`` is most of
    ``vectors`` every row is scored and the scores of ``rows`` kept (a few queries against
    a library's tagged videos: gathering their vectors would cost more than the products);
    otherwise their vectors are read a block at a time.
    """
    n = len(vectors) if rows is None else len(rows)
    k = min(k, n)
    score_all = rows is not None and 2 * n >= len(vectors)
    block = max(1, block_bytes // (4 * max(len(vectors) if score_all else n, 1)))
    labels = np.empty((len(queries), k), dtype=np.int64)
    scores = np.empty((len(queries), k), dtype=np.float32)
    for start in range(0, len(queries), block):
        q = queries[start : start + block]
        if rows is None:
            sims = q @ vectors.T
        elif score_all:
            sims = (q @ vectors.T)[:, rows]
        else:
            sims = np.empty((len(q), n), dtype=np.result_type(q, vectors))
            for s in range(0, n, SUBSET_BLOCK):
                sims[:, s : s + SUBSET_BLOCK] = q @ vectors[rows[s : s + SUBSET_BLOCK]].T
        if norms is not None:
            sims /= norms
        np.negative(sims, out=sims)  # in place: no second [block, N] array
        if k < n:  # only the k columns are kept, not argpartition's int64 [block, N]
            top = np.argpartition(sims, k - 1, axis=1)[:, :k].copy()
        else:
            top = np.broadcast_to(np.arange(n), (len(sims), n))
        top_scores = np.take_along_axis(sims, top, axis=1)
        del sims  # freed before the next block's is made
        order = np.argsort(top_scores, axis=1, kind="stable")
        labels[start : start + block] = np.take_along_axis(top, order, axis=1)
        scores[start : start + block] = -np.take_along_axis(top_scores, order, axis=1)
    return labels, scores


SUBSET_BLOCK = 32_768  # rows of a subset read at a time by exact_top_k (32 MB at 256 floats)


def row_norms(x: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    """[N] length of each row of ``x`` [N, D] (at least ``floor``), a block of rows at a
    time: ``np.linalg.norm(x, axis=1)`` squares a copy of all of x first (300 MB at
    300,000 videos). Each row's value is the same either way."""
    out = np.empty(len(x), dtype=np.result_type(x.dtype, np.float32))
    for s in range(0, len(x), SUBSET_BLOCK):
        out[s : s + SUBSET_BLOCK] = np.linalg.norm(x[s : s + SUBSET_BLOCK], axis=1)
    return np.maximum(out, floor, out=out)


def as_unit_rows(vectors: np.ndarray, dim: int) -> np.ndarray:
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"expected vectors of shape [n, {dim}], got {list(np.shape(vectors))}")
    if not np.isfinite(x).all():
        raise ValueError("vectors contain NaN or infinity")
    norms = row_norms(x, 0.0)[:, None]
    if np.all(np.abs(norms - 1.0) < 1e-4):
        return np.ascontiguousarray(x)  # already unit rows (embeddings are): no copy
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12))


def _capacity(n: int) -> int:
    return max(1024, int(n * 1.25))


def _grow(vectors: np.ndarray, n: int) -> np.ndarray:
    if len(vectors) >= n:
        return vectors
    bigger = np.zeros((_capacity(n), vectors.shape[1]), dtype=np.float32)
    bigger[: len(vectors)] = vectors
    return bigger
