"""Originality: how unlike the rest of the library a video is, and whether that pays.

:class:`OriginalityScorer` fits pyod outlier detectors (Isolation Forest, ECOD,
kNN distance, LOF, COPOD) on a library's embeddings, optionally PCA-reduced,
and turns each detector's raw score into a 0-100 percentile against the
library: 97 means "more original than 97% of your library". The ``ensemble``
is the percentile of the mean detector percentile, so it reads the same way.
Higher is always more original.

Whether originality goes with likes is asked in
:mod:`reelscope.core.analytics.originality_stats`.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

DETECTORS = ("iforest", "ecod", "knn", "lof", "copod")
# Rows per decision_function call. ECOD/COPOD rank each call's rows together with their
# fitting sample, so a block no larger than that sample keeps the ranks mostly the sample's.
_SCORE_BLOCK = 20_000


class OriginalityScorer:
    """Outlier detectors on embeddings, calibrated to 0-100 library percentiles.

    Parameters
    ----------
    detectors : names from ``DETECTORS``.
    pca_components : reduce the embeddings to this many principal components,
        plus each row's distance from their subspace, before the detectors
        (None keeps every dimension).
    random_state : seed for PCA, the forest and the fitting samples.
    n_neighbors : neighbours used by ``knn`` (distance to the k-th) and ``lof``.
    max_fit_samples : the detectors and the PCA are fitted on at most this
        many random library rows, then every row is scored by the fitted
        detectors. Neighbour detectors cost O(N²) to fit, and ECOD/COPOD
        re-rank their whole fitting set for every new video, so this keeps a
        300,000-video library within minutes, memory bounded and a new video
        scored in well under a second.

    Attributes
    ----------
    scores_ : dict[str, float64 [N]] — each detector's and the ensemble's
        percentile for the fitted library rows (a row in the fitting sample
        gets the detector's own training score, which for neighbour detectors
        leaves the row itself out).
    reference_ : dict[str, float64 [N]] — sorted raw library scores per
        detector (and sorted mean percentiles for the ensemble) that new
        videos are ranked against.
    detectors_ : dict[str, pyod detector] — the fitted detectors.
    pca_ : sklearn PCA or None.
    """

    def __init__(
        self,
        detectors: Sequence[str] = ("iforest", "ecod", "knn", "copod"),
        pca_components: Optional[int] = 32,
        random_state: int = 0,
        n_neighbors: int = 10,
        max_fit_samples: int = 20_000,
    ) -> None:
        self.detectors = detectors
        self.pca_components = pca_components
        self.random_state = random_state
        self.n_neighbors = n_neighbors
        self.max_fit_samples = max_fit_samples

    # -------------------------------------------------------------------- fit
    def fit(self, X: np.ndarray, tick: Optional[Callable[[str], None]] = None) -> "OriginalityScorer":
        """Fit on the library's embeddings, float32 [N, D] (N >= 3). ``tick(detector)`` is
        called before each detector is fitted (progress, and a chance to cancel)."""
        from scipy.stats import rankdata

        X = _check_rows(X)
        unknown = [d for d in self.detectors if d not in DETECTORS]
        if unknown or not self.detectors:
            raise ValueError(f"unknown detectors {unknown}; choose from {', '.join(DETECTORS)}")
        n = len(X)
        if n < 3:
            raise ValueError(f"originality needs at least 3 videos, got {n}")
        rng = np.random.default_rng(self.random_state)
        self.n_features_in_ = X.shape[1]
        self.pca_ = self._fit_pca(X, rng)
        Z = self._reduce(X)
        self.detectors_, self.reference_, self.scores_ = {}, {}, {}
        for name in self.detectors:
            if tick is not None:
                tick(name)
            raw = self._fit_detector(name, Z, rng)
            self.reference_[name] = np.sort(raw)
            self.scores_[name] = 100.0 * (rankdata(raw) - 0.5) / n
        mean = np.mean([self.scores_[d] for d in self.detectors], axis=0)
        self.reference_["ensemble"] = np.sort(mean)
        self.scores_["ensemble"] = 100.0 * (rankdata(mean) - 0.5) / n
        self._row_keys_, self._row_order_ = _sorted_row_keys(X)
        self._typical_cache: dict[tuple, np.ndarray] = {}
        return self

    def _fit_pca(self, X: np.ndarray, rng: np.random.Generator):
        n, d = X.shape
        if not self.pca_components or self.pca_components >= min(n, d):
            return None
        from sklearn.decomposition import PCA

        sample = X if n <= self.max_fit_samples else X[rng.choice(n, self.max_fit_samples, replace=False)]
        pca = PCA(self.pca_components, random_state=self.random_state).fit(sample)
        self.residual_median_ = float(np.median(_residual_norm(pca, sample)))
        return pca

    def _reduce(self, X: np.ndarray) -> np.ndarray:
        """float32 [n, c + 1]: principal components plus the excess distance from their subspace.

        The extra column keeps what PCA would discard: a video unlike the
        library in directions the library hardly uses projects near the
        centre of the kept components and would look typical without it.
        Only distance beyond the library's median counts (``max(0, r - median)``):
        lying closer to the subspace than usual is not originality.
        """
        if self.pca_ is None:
            return X
        out = np.empty((len(X), self.pca_.n_components_ + 1), dtype=np.float32)
        for s in range(0, len(X), _SCORE_BLOCK):
            block = X[s : s + _SCORE_BLOCK]
            out[s : s + _SCORE_BLOCK, :-1] = self.pca_.transform(block)
            out[s : s + _SCORE_BLOCK, -1] = np.maximum(_residual_norm(self.pca_, block) - self.residual_median_, 0)
        return out

    def _fit_detector(self, name: str, Z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Fit detector ``name`` and return raw float64 [N] scores of every library row."""
        n = len(Z)
        limit = self.max_fit_samples
        fit_rows = np.arange(n) if n <= limit else np.sort(rng.choice(n, limit, replace=False))
        with _lean():
            detector = _make_detector(name, min(self.n_neighbors, len(fit_rows) - 1), self.random_state)
            detector.fit(Z[fit_rows])
        _drop_scratch(detector)
        self.detectors_[name] = detector
        raw = np.empty(n, dtype=np.float64)
        raw[fit_rows] = detector.decision_scores_
        rest = np.setdiff1d(np.arange(n), fit_rows, assume_unique=True)
        if len(rest):
            raw[rest] = self._decision(name, Z[rest])
        return raw

    def _decision(self, name: str, Z: np.ndarray) -> np.ndarray:
        detector = self.detectors_[name]
        out = np.empty(len(Z), dtype=np.float64)
        with _lean():
            for s in range(0, len(Z), _SCORE_BLOCK):
                out[s : s + _SCORE_BLOCK] = detector.decision_function(Z[s : s + _SCORE_BLOCK])
                _drop_scratch(detector)
        return out

    # ------------------------------------------------------------------ score
    def score(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Percentiles (float64 [n], 0-100, higher = more original) of float32 [n, D] rows.

        Keys: each detector name and ``"ensemble"``. A row identical to a
        fitted library row gets that row's library percentile (``scores_``);
        any other row is scored by the fitted detectors and ranked against the
        library's scores, so a new video is "more original than p% of the
        library".
        """
        self._check_fitted()
        X = _check_rows(X, self.n_features_in_)
        Z = self._reduce(X)
        out = {
            name: _percentile(self.reference_[name], self._decision(name, Z)) for name in self.detectors
        }
        mean = np.mean([out[d] for d in self.detectors], axis=0)
        out["ensemble"] = _percentile(self.reference_["ensemble"], mean)
        known, rows = self._library_rows(X)
        for name in out:
            out[name][known] = self.scores_[name][rows]
        return out

    def _library_rows(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bool [n] "is a fitted row", int64 [n_known] its index in the library)."""
        keys = _row_keys(X)
        pos = np.searchsorted(self._row_keys_, keys).clip(max=len(self._row_keys_) - 1)
        known = self._row_keys_[pos] == keys
        return known, self._row_order_[pos[known]]

    def _check_fitted(self) -> None:
        if not hasattr(self, "scores_"):
            raise RuntimeError("OriginalityScorer is not fitted yet; call fit(X) first")

    # ---------------------------------------------------------------- explain
    def explain(
        self,
        X_row: np.ndarray,
        ids: Sequence[str],
        X_library: np.ndarray,
        k: int = 5,
    ) -> str:
        """Why a video is (un)original, in plain words.

        ``X_row`` float32 [D] is the video's embedding, ``X_library`` float32
        [N, D] the library's (row i belongs to ``ids[i]``). Names its ``k``
        closest library videos and compares how far they are with how far a
        typical library video's ``k`` closest are. The video itself (cosine
        similarity 1) is left out of its own neighbours.
        """
        library = np.asarray(X_library, dtype=np.float32)
        x = _check_rows(X_row, library.shape[1])[0]
        x = x / max(float(np.linalg.norm(x)), 1e-12)
        if len(ids) != len(library):
            raise ValueError(f"{len(ids)} ids for {len(library)} library rows")
        if len(library) < 2:
            return "The library is too small to compare this video with others."
        k = max(1, min(k, len(library) - 1))
        sims = _cosines(x, library)
        order = np.argsort(-sims, kind="stable")[: k + 1]
        order = [j for j in order if sims[j] < 1.0 - 1e-6][:k]
        distance = float(np.mean(1.0 - sims[order]))
        typical = self._typical_distances(library, k)
        median = float(np.median(typical))
        farther = float(np.mean(typical < distance) * 100.0)
        ratio = distance / max(median, 1e-12)

        parts = []
        if hasattr(self, "scores_") and library.shape[1] == self.n_features_in_:
            pct = float(self.score(x[None, :])["ensemble"][0])
            parts.append(
                f"More original than {pct:.0f}% of the library "
                f"(average of {len(self.detectors)} outlier detectors)."
            )
        closest = ", ".join(f"{ids[j]} (similarity {sims[j]:.2f})" for j in order)
        parts.append(f"Its {len(order)} closest videos: {closest}.")
        parts.append(
            f"They are on average {distance:.3f} away (cosine distance), {ratio:.1f}x the "
            f"{median:.3f} that separates a typical library video from its {k} closest; "
            f"{farther:.0f}% of videos have nearer neighbours."
        )
        if ratio >= 1.5:
            parts.append("Few videos in the library look or sound like it.")
        elif ratio <= 0.75:
            parts.append("It sits in a crowded part of the library: many videos look and sound like it.")
        else:
            parts.append("Its neighbourhood is about as crowded as most videos'.")
        return " ".join(parts)

    def _typical_distances(self, library: np.ndarray, k: int, sample: int = 300) -> np.ndarray:
        """float32 [m]: mean cosine distance from m sampled library rows to their k closest."""
        from reelscope.core.analytics.vector_index import exact_top_k

        cache = getattr(self, "_typical_cache", None)
        if cache is None:
            cache = self._typical_cache = {}
        key = (id(library), library.shape, k)
        if key not in cache:
            rng = np.random.default_rng(self.random_state)
            rows = rng.choice(len(library), min(sample, len(library)), replace=False)
            unit = library[rows] / np.maximum(np.linalg.norm(library[rows], axis=1, keepdims=True), 1e-12)
            norms = np.linalg.norm(library, axis=1)
            # Embeddings are unit rows, so inner-product ranking is cosine ranking; the
            # division below only keeps the scores honest if a caller passes raw rows.
            labels, sims = exact_top_k(unit, library, k + 1)
            sims = sims / np.maximum(norms[labels], 1e-12)
            cache.clear()  # one library at a time
            cache[key] = np.mean(1.0 - sims[:, 1:], axis=1)
        return cache[key]


def _residual_norm(pca: Any, X: np.ndarray) -> np.ndarray:
    """float [n]: distance of each row of X [n, D] from the PCA subspace."""
    return np.linalg.norm(X - pca.inverse_transform(pca.transform(X)), axis=1)


def _make_detector(name: str, n_neighbors: int, random_state: int):
    if name == "iforest":
        from pyod.models.iforest import IForest

        return IForest(n_estimators=100, random_state=random_state)
    if name == "ecod":
        from pyod.models.ecod import ECOD

        return ECOD()
    if name == "copod":
        from pyod.models.copod import COPOD

        return COPOD()
    if name == "knn":
        from pyod.models.knn import KNN

        # Brute force: trees degrade to it in 32+ dimensions and cost more to build.
        return KNN(n_neighbors=n_neighbors, method="largest", algorithm="brute")
    from pyod.models.lof import LOF

    return LOF(n_neighbors=n_neighbors, algorithm="brute", novelty=True)


@contextmanager
def _lean() -> Iterator[None]:
    """Quiet pyod's parameter warnings; cap sklearn's neighbour-search chunks at 64 MB (default 1 GB)."""
    from sklearn import config_context

    with warnings.catch_warnings(), config_context(working_memory=64):
        warnings.simplefilter("ignore")
        yield


def _drop_scratch(detector: Any) -> None:
    """ECOD/COPOD keep float64 [N, D] scratch tables after each call; they are recomputed when needed."""
    for attr in ("U_l", "U_r", "U_skew", "O"):
        if hasattr(detector, attr):
            delattr(detector, attr)


def _check_rows(X: np.ndarray, dim: Optional[int] = None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or (dim is not None and X.shape[1] != dim):
        raise ValueError(f"expected embeddings of shape [n, {dim or 'D'}], got {list(X.shape)}")
    if not np.isfinite(X).all():
        raise ValueError("embeddings contain NaN or infinity")
    return np.ascontiguousarray(X)


def _percentile(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """float64 [n] in [0, 100]: share of the sorted ``reference`` below each value (ties count half)."""
    below = np.searchsorted(reference, values, side="left")
    not_above = np.searchsorted(reference, values, side="right")
    return 100.0 * (below + not_above) / (2.0 * len(reference))


def _row_keys(X: np.ndarray) -> np.ndarray:
    """uint64 [n] hash of each float32 row's exact bits, to recognise library rows."""
    words = X.view(np.uint32)
    mult = np.random.default_rng(12345).integers(1, 2**63, size=X.shape[1], dtype=np.uint64) | np.uint64(1)
    keys = np.zeros(len(X), dtype=np.uint64)
    block = 8192
    for s in range(0, len(X), block):
        keys[s : s + block] = (words[s : s + block].astype(np.uint64) * mult).sum(axis=1)
    return keys


def _sorted_row_keys(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keys = _row_keys(X)
    order = np.argsort(keys, kind="stable")
    return keys[order], order


def _cosines(x: np.ndarray, library: np.ndarray) -> np.ndarray:
    """float32 [N]: cosine of unit vector ``x`` [D] with every library row, in blocks."""
    out = np.empty(len(library), dtype=np.float32)
    for s in range(0, len(library), _SCORE_BLOCK):
        block = library[s : s + _SCORE_BLOCK]
        out[s : s + _SCORE_BLOCK] = (block @ x) / np.maximum(np.linalg.norm(block, axis=1), 1e-12)
    return out

