"""Originality: how unlike the rest of the library a video is, and why.

:class:`OriginalityScorer` is an unsupervised ensemble over a library's visual and audio
embeddings. Each *member* is one outlier score on one embedding (the modality):

``knn``      mean cosine distance to the ``k`` nearest videos: what "unlike the rest"
             means, measured directly.
``density``  local outlier factor (Breunig et al., SIGMOD 2000) on the same neighbour
             graph: a video's neighbour distance relative to its neighbours' own, so a
             video in a loosely spread category is not original merely for that.
``pca``      Mahalanobis distance in the library's principal subspace (whitened PCA):
             trained embeddings are anisotropic, and whitening makes a step along a
             tight direction count more than one along a direction the library
             spreads over anyway; the small-variance remainder is left out because
             whitening it would amplify noise.
``iforest``  isolation forest (Liu et al., ICDM 2008): how few random axis-parallel
             cuts separate the video, a partitioning view unlike the distances above.

Every member's raw score becomes its rank in the library scaled to (0, 1) (stored as a
0-100 percentile), so members on different scales can be combined (rank normalisation,
as in Aggarwal & Sathe, "Outlier Ensembles", 2017). One minus a rank is an empirical
p-value, and the members are combined by a weighted Fisher sum of -log p: a video extreme
on one member stands out, while a member with nothing to say adds little. The
``ensemble`` is the percentile of that sum: 97 means "more original than 97% of your
library". Higher is always more original.

The default members are knn, density, pca and iforest on the picture and knn on the
sound, weighted alike, so the picture carries four fifths of the score: on short-video
platforms sounds are reused by design (trends), so an unusual sound says less about the
content than an unusual picture, yet one audio member lifts a video whose sound is
unlike any other into the library's top quarter even when its picture is ordinary. Distance, density, subspace and partition members err in
different places, which is what an ensemble needs. Neighbour graphs come from :class:`.vector_index.VectorIndex`
(exact while small, HNSW beyond), so a 300,000-video library is scored without an
N x N matrix.

:meth:`OriginalityScorer.explain` says why: which member drove a score, the video's
nearest *typical* videos (the less original half of the library) and, per modality,
how far it is from them against how far typical videos are from each other.

Whether originality goes with likes is asked in
:mod:`reelscope.core.analytics.originality_stats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence, Union

import numpy as np

METHODS = ("knn", "density", "pca", "iforest")
DEFAULT_MEMBERS = (("visual", "knn"), ("visual", "density"), ("visual", "pca"), ("visual", "iforest"),
                   ("audio", "knn"))
SINGLE = "content"  # the modality name of an embedding passed as one array
_BLOCK = 20_000  # rows per search or transform call
_WORDS = {"visual": "picture", "audio": "sound", "fused": "picture and sound"}
_METHOD_WORDS = {
    "knn": "is unlike its nearest videos",
    "density": "sits in a sparser spot than its neighbours do",
    "pca": "lies off the library's main directions",
    "iforest": "is easily isolated from the rest",
}

Embeddings = Union[np.ndarray, Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class OriginalityReasons:
    """Why a video scored as it did (see :meth:`OriginalityScorer.reasons`).

    ``members``: member -> 0-100 percentile; ``driver``: the member with the highest;
    ``nearest_typical``: library rows of its nearest typical videos, nearest first;
    ``distance`` / ``typical_distance``: modality -> mean cosine distance to its k
    nearest typical videos in that modality alone, and the median of the same for
    typical videos among themselves; ``typical_high`` its 90th percentile.
    """

    score: float
    members: dict[str, float]
    driver: str
    nearest_typical: list[int]
    distance: dict[str, float]
    typical_distance: dict[str, float]
    typical_high: dict[str, float]


class OriginalityScorer:
    """Rank-averaged outlier members on one or more embeddings, as 0-100 library percentiles.

    Parameters
    ----------
    members : (modality, method) pairs, methods from ``METHODS``. Members whose
        modality is not given to :meth:`fit` are skipped; an embedding passed as one
        array gets every method named here once.
    weights : member name (``"visual_knn"``) -> weight; missing members weigh 1.
    n_neighbors : neighbours of ``knn`` and ``density``.
    pca_components : principal components kept by ``pca`` (fewer when the library
        has fewer rows or dimensions).
    random_state : seed for PCA, the forest and the fitting samples.
    max_fit_samples : ``pca`` and ``iforest`` are fitted on at most this many random
        rows, then score every row; the neighbour members use the whole library.
    exact_below : neighbour search is exact below this many videos, HNSW above.

    Attributes
    ----------
    scores_ : dict[str, float64 [N]] — each member's and the ensemble's percentile
        (0-100) for the fitted library rows (a row is never its own neighbour).
    reference_ : dict[str, float64 [N]] — sorted raw library scores per member
        (sorted weighted mean ranks for the ensemble) that new videos are ranked against.
    weights_ : dict[str, float] — the members used, with weights summing to 1.
    """

    def __init__(
        self,
        members: Sequence[tuple[str, str]] = DEFAULT_MEMBERS,
        weights: Optional[Mapping[str, float]] = None,
        n_neighbors: int = 10,
        pca_components: Optional[int] = 32,
        random_state: int = 0,
        max_fit_samples: int = 20_000,
        exact_below: int = 5000,
    ) -> None:
        self.members = members
        self.weights = weights
        self.n_neighbors = n_neighbors
        self.pca_components = pca_components
        self.random_state = random_state
        self.max_fit_samples = max_fit_samples
        self.exact_below = exact_below

    @property
    def detectors(self) -> list[str]:
        """The fitted member names (what the stored columns and the summary call detectors)."""
        self._check_fitted()
        return list(self.weights_)

    # -------------------------------------------------------------------- fit
    def fit(self, X: Embeddings, tick: Optional[Callable[[str], None]] = None) -> "OriginalityScorer":
        """Fit on the library: ``{modality: float32 [N, D]}`` (or one float32 [N, D] array).

        ``tick(member)`` is called before each member is fitted (progress, and a chance to
        cancel by raising).
        """
        from scipy.stats import rankdata

        data = _as_modalities(X)
        n = len(next(iter(data.values())))
        if n < 3:
            raise ValueError(f"originality needs at least 3 videos, got {n}")
        plan = self._plan(data)
        self.n_features_in_ = {m: x.shape[1] for m, x in data.items()}
        self.library_ = data
        self.n_library_ = n
        self.k_ = max(1, min(self.n_neighbors, n - 1))
        rng = np.random.default_rng(self.random_state)
        self.index_, self.kdist_, self.lrd_, self.models_ = {}, {}, {}, {}
        self.reference_, self.scores_, self.fit_rows_ = {}, {}, {}
        ranks, self._graphs = {}, {}
        for name, (modality, method) in plan.items():
            if tick is not None:
                tick(name)
            raw = self._fit_member(name, modality, method, data[modality], rng)
            self.reference_[name] = np.sort(raw)
            ranks[name] = (rankdata(raw) - 0.5) / n  # in (0, 1)
            self.scores_[name] = 100.0 * ranks[name]
        combined = self._combine(ranks)
        self.reference_["ensemble"] = np.sort(combined)
        self.scores_["ensemble"] = 100.0 * (rankdata(combined) - 0.5) / n
        del self._graphs  # [N, k] per modality: only needed while fitting
        self._row_keys_, self._row_order_ = _sorted_row_keys(data)
        self._typical_cache: dict[int, dict[str, tuple[float, float]]] = {}
        return self

    def _combine(self, ranks: Mapping[str, np.ndarray]) -> np.ndarray:
        """float64 [n]: weighted Fisher combination of member ranks r in (0, 1).

        1 - r is the share of the library at least as extreme: an empirical p-value.
        Summing -log p (Fisher's method) lets a video that is extreme on one member
        stand out, while a member with nothing to say (middling ranks) adds little,
        where a plain mean of ranks would let it pull every score towards 50.
        """
        floor = 0.5 / self.n_library_  # the most extreme library rank's p-value
        return sum(w * -np.log(np.clip(1.0 - ranks[name], floor, 1.0)) for name, w in self.weights_.items())

    def _plan(self, data: dict[str, np.ndarray]) -> dict[str, tuple[str, str]]:
        """Member name -> (modality, method); sets ``weights_``."""
        unknown = sorted({m for _, m in self.members} - set(METHODS))
        if unknown or not self.members:
            raise ValueError(f"unknown members {unknown}; choose methods from {', '.join(METHODS)}")
        if set(data) == {SINGLE}:
            methods = list(dict.fromkeys(m for _, m in self.members))
            plan = {m: (SINGLE, m) for m in methods}
        else:
            plan = {f"{mod}_{m}": (mod, m) for mod, m in self.members if mod in data}
        if not plan:
            raise ValueError(f"no member uses the embeddings given ({', '.join(data)})")
        given = {name: float((self.weights or {}).get(name, 1.0)) for name in plan}
        if min(given.values()) < 0 or sum(given.values()) <= 0:
            raise ValueError("member weights must be non-negative and not all zero")
        total = sum(given.values())
        self.weights_ = {name: w / total for name, w in given.items()}
        return plan

    def _fit_member(self, name: str, modality: str, method: str, X: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
        """Fit one member and return raw float64 [N] scores of every library row."""
        if method in ("knn", "density"):
            labels, dist = self._graph(modality, X)
            if method == "knn":
                return _knn_score(dist)
            return _lof_score(labels, self.lrd_[modality], self.lrd_[modality])
        rows = np.arange(len(X)) if len(X) <= self.max_fit_samples else \
            rng.choice(len(X), self.max_fit_samples, replace=False)
        self.fit_rows_[name] = rows
        self.models_[name] = self._fit_model(method, X[rows])
        return self._model_score(name, X)

    def _fit_model(self, method: str, sample: np.ndarray) -> object:
        """The ``pca`` or ``iforest`` model fitted on ``sample`` (deterministic: the same
        rows and seed give the same model, which is how :meth:`from_arrays` restores it)."""
        if method == "pca":
            from sklearn.decomposition import PCA

            c = max(1, min(self.pca_components or sample.shape[1], sample.shape[1], len(sample) - 1))
            return PCA(c, random_state=self.random_state).fit(sample)
        from sklearn.ensemble import IsolationForest

        return IsolationForest(n_estimators=200, random_state=self.random_state).fit(sample)

    def _graph(self, modality: str, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The library's neighbour graph on one modality: int64 [N, k] rows and float64
        [N, k] cosine distances, nearest first, never the row itself. Built once per fit
        (``knn`` and ``density`` share it); keeps the index, k-distances and densities."""
        from reelscope.core.analytics.vector_index import VectorIndex

        if modality in self._graphs:
            return self._graphs[modality]
        n, k = len(X), self.k_
        index = VectorIndex(X.shape[1], exact_below=self.exact_below)
        index.add([str(i) for i in range(n)], X)
        labels, dist = self._search(index, X, k + 1)
        keep = labels != np.arange(n)[:, None]
        keep[keep.all(axis=1), -1] = False  # self not returned (a duplicate row): drop the farthest
        labels, dist = labels[keep].reshape(n, k), dist[keep].reshape(n, k)
        self.index_[modality] = index
        self.kdist_[modality] = dist[:, -1]
        self.lrd_[modality] = _lrd(labels, dist, self.kdist_[modality])
        self._graphs[modality] = labels, dist
        return labels, dist

    @staticmethod
    def _search(index, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.empty((len(X), min(k, len(index))), dtype=np.int64)
        dist = np.empty(labels.shape, dtype=np.float64)
        for s in range(0, len(X), _BLOCK):
            lab, sims = index.search(X[s : s + _BLOCK], k)
            labels[s : s + _BLOCK], dist[s : s + _BLOCK] = lab, np.clip(1.0 - sims, 0.0, 2.0)
        return labels, dist

    def _search_exact(self, modality: str, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_search` without an index: every library row, exactly (a restored scorer
        scores a few new videos; building a 300,000-row graph for them would cost minutes)."""
        from reelscope.core.analytics.vector_index import exact_top_k, row_norms

        library = self.library_[modality]
        norms = self.__dict__.setdefault("_norms", {})
        if modality not in norms:
            norms[modality] = row_norms(library).astype(np.float32)
        labels, sims = exact_top_k(_unit(X).astype(np.float32), library, k, norms=norms[modality])
        return labels, np.clip(1.0 - sims.astype(np.float64), 0.0, 2.0)

    # ---------------------------------------------------------------- storage
    def to_arrays(self) -> dict[str, np.ndarray]:
        """What scoring and explaining new videos needs besides the library's embeddings,
        as plain arrays (``originality.npz``, no pickle): the settings, each member's sorted
        library scores and library percentiles, the neighbour k-distances and densities,
        and the rows each model was fitted on (:meth:`from_arrays` refits the models from
        them, exactly: same rows, same seed)."""
        import json

        self._check_fitted()
        params = {"version": 1, "members": [list(m) for m in self.members], "weights": self.weights_,
                  "n_neighbors": self.n_neighbors, "pca_components": self.pca_components,
                  "random_state": self.random_state, "max_fit_samples": self.max_fit_samples,
                  "exact_below": self.exact_below, "k": self.k_, "n_library": self.n_library_,
                  "dims": self.n_features_in_}
        out = {"params": np.array(json.dumps(params)), "row_keys": self._row_keys_,
               "row_order": self._row_order_}
        for group, values in (("reference", self.reference_), ("scores", self.scores_),
                              ("kdist", self.kdist_), ("lrd", self.lrd_), ("fit_rows", self.fit_rows_)):
            out.update({f"{group}.{name}": np.asarray(x) for name, x in values.items()})
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], X: Embeddings) -> "OriginalityScorer":
        """The scorer :meth:`to_arrays` stored, on the same library embeddings ``X`` it was
        fitted on; ``ValueError`` when ``X`` is not that library (other size or dimensions)."""
        import json

        p = json.loads(str(arrays["params"][()]))
        if p.get("version") != 1:
            raise ValueError(f"stored originality format {p.get('version')} is not 1")
        scorer = cls(members=[tuple(m) for m in p["members"]], weights=p["weights"],
                     n_neighbors=p["n_neighbors"], pca_components=p["pca_components"],
                     random_state=p["random_state"], max_fit_samples=p["max_fit_samples"],
                     exact_below=p["exact_below"])
        data = _as_modalities(X, p["dims"])
        n = len(next(iter(data.values())))
        if n != p["n_library"]:
            raise ValueError(f"the stored originality was fitted on {p['n_library']} videos, not {n}")
        scorer.weights_ = {name: float(w) for name, w in p["weights"].items()}
        scorer.n_features_in_ = {m: int(d) for m, d in p["dims"].items()}
        scorer.library_, scorer.n_library_, scorer.k_ = data, n, int(p["k"])
        groups: dict[str, dict[str, np.ndarray]] = {g: {} for g in ("reference", "scores", "kdist", "lrd", "fit_rows")}
        for key in arrays.keys() if hasattr(arrays, "keys") else arrays.files:
            group, _, name = key.partition(".")
            if group in groups:
                groups[group][name] = np.asarray(arrays[key])
        scorer.reference_, scorer.scores_ = groups["reference"], groups["scores"]
        scorer.kdist_, scorer.lrd_, scorer.fit_rows_ = groups["kdist"], groups["lrd"], groups["fit_rows"]
        scorer.index_, scorer.models_ = {}, {}
        for name, rows in scorer.fit_rows_.items():
            modality, method = _split(name)
            scorer.models_[name] = scorer._fit_model(method, data[modality][rows])
        missing = set(scorer.weights_) - set(scorer.reference_) | {"ensemble"} - set(scorer.reference_)
        if missing:
            raise ValueError(f"the stored originality lacks {', '.join(sorted(missing))}")
        scorer._row_keys_, scorer._row_order_ = np.asarray(arrays["row_keys"]), np.asarray(arrays["row_order"])
        scorer._typical_cache = {}
        return scorer

    def _model_score(self, name: str, X: np.ndarray) -> np.ndarray:
        model = self.models_[name]
        out = np.empty(len(X), dtype=np.float64)
        for s in range(0, len(X), _BLOCK):
            block = X[s : s + _BLOCK]
            if hasattr(model, "explained_variance_"):
                t = model.transform(block) / np.sqrt(np.maximum(model.explained_variance_, 1e-12))
                out[s : s + _BLOCK] = np.einsum("ij,ij->i", t, t)
            else:
                out[s : s + _BLOCK] = -model.score_samples(block)
        return out

    # ------------------------------------------------------------------ score
    def score(self, X: Embeddings) -> dict[str, np.ndarray]:
        """Percentiles (float64 [n], 0-100, higher = more original) of new videos.

        ``X`` holds the same modalities as :meth:`fit`. Keys: each member and
        ``"ensemble"``. A video identical to a library row gets that row's library
        percentiles; any other is scored by the fitted members and ranked against
        the library, so it is "more original than p% of the library".
        """
        self._check_fitted()
        data = _as_modalities(X, self.n_features_in_)
        raw = self._raw_new(data)
        ranks = {name: _percentile(self.reference_[name], raw[name]) / 100.0 for name in self.weights_}
        out = {name: 100.0 * r for name, r in ranks.items()}
        out["ensemble"] = _percentile(self.reference_["ensemble"], self._combine(ranks))
        known, rows = self._library_rows(data)
        for name in out:
            out[name][known] = self.scores_[name][rows]
        return out

    def _raw_new(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        graphs = {m: self._search(self.index_[m], data[m], self.k_) if m in self.index_
                  else self._search_exact(m, data[m], self.k_) for m in self.kdist_}
        out = {}
        for name in self.weights_:
            modality, method = name.rsplit("_", 1) if "_" in name else (SINGLE, name)
            if method == "knn":
                out[name] = _knn_score(graphs[modality][1])
            elif method == "density":
                labels, dist = graphs[modality]
                out[name] = _lof_score(labels, self.lrd_[modality], _lrd(labels, dist, self.kdist_[modality]))
            else:
                out[name] = self._model_score(name, data[modality])
        return out

    def _library_rows(self, data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(bool [n] "is a fitted row", int64 [n_known] its index in the library)."""
        keys = _row_keys(data)
        pos = np.searchsorted(self._row_keys_, keys).clip(max=len(self._row_keys_) - 1)
        known = self._row_keys_[pos] == keys
        return known, self._row_order_[pos[known]]

    def _check_fitted(self) -> None:
        if not hasattr(self, "scores_"):
            raise RuntimeError("OriginalityScorer is not fitted yet; call fit(X) first")

    # ---------------------------------------------------------------- explain
    def reasons(self, video: Union[int, Embeddings], k: int = 5) -> OriginalityReasons:
        """Why ``video`` (a library row, or a new video's ``{modality: float32 [D]}``) scored
        as it did: its member percentiles and its ``k`` nearest typical videos.

        Typical videos are the less original half of the library (ensemble below 50),
        the video itself left out. "Nearest" weighs each modality's cosine distance by
        its members' share of the ensemble.
        """
        self._check_fitted()
        if isinstance(video, (int, np.integer)):
            row = int(video)
            vectors = {m: x[row] for m, x in self.library_.items()}
            members = {name: float(self.scores_[name][row]) for name in self.scores_}
        else:
            row = None
            vectors = {m: _check_rows(x, self.n_features_in_[m])[0] for m, x in _as_modalities(video).items()}
            got = self.score({m: v[None, :] for m, v in vectors.items()})
            members = {name: float(v[0]) for name, v in got.items()}
        score = members.pop("ensemble")
        typical = np.flatnonzero(self.scores_["ensemble"] < 50)
        if row is not None:
            typical = typical[typical != row]
        shares = self._modality_shares()
        k = max(1, min(k, len(typical)))
        dist = {m: 1.0 - _cosines(_unit(vectors[m]), self.library_[m][typical]) for m in shares}
        combined = sum(shares[m] * dist[m] for m in shares)
        nearest = np.argsort(combined, kind="stable")[:k]
        driver = max(members, key=lambda name: (members[name], self.weights_[name]))
        return OriginalityReasons(
            score=score, members=members, driver=driver,
            nearest_typical=[int(typical[j]) for j in nearest],
            distance={m: float(np.partition(dist[m], k - 1)[:k].mean()) for m in shares},
            typical_distance={m: t[0] for m, t in self._typical_distances(k).items()},
            typical_high={m: t[1] for m, t in self._typical_distances(k).items()})

    def explain(self, video: Union[int, Embeddings], ids: Sequence[str],
                authors: Optional[Sequence[Optional[str]]] = None, k: int = 5) -> str:
        """:meth:`reasons` in plain words; ``ids`` (and ``authors``) name the library rows."""
        r = self.reasons(video, k)
        shares = self._modality_shares()
        modality, method = _split(r.driver)
        parts = [f"More original than {int(r.score)}% of the library."]  # floor: never "100%"
        if r.score >= 75:
            parts.append(f"Mostly because its {_WORDS.get(modality, 'content')} {_METHOD_WORDS[method]} "
                         f"({int(r.members[r.driver])}th percentile, the highest of {len(r.members)} measures).")
        names = ", ".join(ids[j] + (f" by {authors[j]}" if authors is not None and authors[j] else "")
                          for j in r.nearest_typical)
        parts.append(f"Its {len(r.nearest_typical)} nearest typical videos: {names}.")
        for m in sorted(shares, key=lambda m: -shares[m]):
            d, t, high = r.distance[m], r.typical_distance[m], r.typical_high[m]
            what = _WORDS.get(m, "content")
            # against the spread among typical videos: beyond their 90th percentile is unusual
            if d >= 1.5 * high:
                verdict = f"its {what} is unlike any typical video's"
            elif d > high:
                verdict = f"its {what} differs somewhat from typical videos'"
            else:
                verdict = f"its {what} is as close to typical videos' as they are to each other"
            parts.append(f"{verdict[0].upper()}{verdict[1:]} ({m} distance to the {len(r.nearest_typical)} "
                         f"nearest {d:.2f}, {t:.2f} between typical videos).")
        return " ".join(parts)

    def _modality_shares(self) -> dict[str, float]:
        """modality -> the share of the ensemble its members carry."""
        shares: dict[str, float] = {}
        for name, w in self.weights_.items():
            modality = _split(name)[0]
            shares[modality] = shares.get(modality, 0.0) + w
        return shares

    def _typical_distances(self, k: int, sample: int = 300) -> dict[str, tuple[float, float]]:
        """modality -> (median, 90th percentile) over sampled typical videos of the mean
        cosine distance to their ``k`` nearest other typical videos in that modality."""
        if k not in self._typical_cache:
            rng = np.random.default_rng(self.random_state)
            typical = np.flatnonzero(self.scores_["ensemble"] < 50)
            rows = rng.choice(typical, min(sample, len(typical)), replace=False)
            kk = max(1, min(k, len(typical) - 1))
            out = {}
            for m in self._modality_shares():
                units = _unit(self.library_[m][typical])
                found = []
                for start in range(0, len(rows), 16):  # [16, T] distance blocks: bounded memory at 300k
                    block = rows[start : start + 16]
                    dist = 1.0 - _unit(self.library_[m][block]) @ units.T
                    dist[block[:, None] == typical[None, :]] = np.inf  # never its own neighbour
                    found.append(np.partition(dist, kk - 1, axis=1)[:, :kk].mean(axis=1))
                found = np.concatenate(found)
                out[m] = (float(np.median(found)), float(np.percentile(found, 90)))
            self._typical_cache[k] = out
        return self._typical_cache[k]


def driver_words(members: Mapping[str, float]) -> Optional[str]:
    """What drove a stored score, from its member percentiles (``{"visual_knn": 97, ...}``):
    e.g. "its picture is unlike its nearest videos (97th percentile)"; None if no member
    stands out (all below 75)."""
    known = {n: v for n, v in members.items() if _split(n)[1] in _METHOD_WORDS and v == v}
    if not known:
        return None
    name = max(known, key=lambda n: known[n])
    if known[name] < 75:
        return None
    modality, method = _split(name)
    return f"its {_WORDS.get(modality, 'content')} {_METHOD_WORDS[method]} ({int(known[name])}th percentile)"


# ------------------------------------------------------------------- members
def _knn_score(dist: np.ndarray) -> np.ndarray:
    """float64 [n]: mean cosine distance to the k nearest (dist float [n, k])."""
    return dist.mean(axis=1)


def _lrd(labels: np.ndarray, dist: np.ndarray, kdist: np.ndarray) -> np.ndarray:
    """float64 [n] local reachability density: 1 / mean reachability distance
    max(d(x, o), k-distance(o)) to the k neighbours o (``labels`` int [n, k] library rows,
    ``dist`` float [n, k], ``kdist`` the library's k-distances)."""
    return 1.0 / np.maximum(np.maximum(dist, kdist[labels]).mean(axis=1), 1e-12)


def _lof_score(labels: np.ndarray, lrd: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Local outlier factor (Breunig et al. 2000): the neighbours' mean density ``lrd[labels]``
    over the row's ``own`` density; about 1 inside a cluster, larger in sparser spots."""
    return lrd[labels].mean(axis=1) / own


# ------------------------------------------------------------------- helpers
def _split(name: str) -> tuple[str, str]:
    """Member name -> (modality, method); a single-embedding member has no modality prefix."""
    return tuple(name.rsplit("_", 1)) if "_" in name else (SINGLE, name)  # type: ignore[return-value]


def _as_modalities(X: Embeddings, dims: Optional[Mapping[str, int]] = None) -> dict[str, np.ndarray]:
    """{modality: float32 [n, D] contiguous}, checked; one array becomes ``{SINGLE: X}``."""
    data = {SINGLE: X} if not isinstance(X, Mapping) else dict(X)
    if not data:
        raise ValueError("no embeddings given")
    if dims is not None:
        missing = sorted(set(dims) - set(data))
        if missing:
            raise ValueError(f"embeddings missing for {', '.join(missing)}")
        data = {m: data[m] for m in dims}
    out = {m: _check_rows(x, None if dims is None else dims[m]) for m, x in data.items()}
    if len({len(x) for x in out.values()}) > 1:
        raise ValueError("every modality needs one row per video")
    return out


def _check_rows(X: np.ndarray, dim: Optional[int] = None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or (dim is not None and X.shape[1] != dim):
        raise ValueError(f"expected embeddings of shape [n, {dim or 'D'}], got {list(X.shape)}")
    if not np.isfinite(X).all():
        raise ValueError("embeddings contain NaN or infinity")
    return np.ascontiguousarray(X)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / max(float(np.linalg.norm(x)), 1e-12) if x.ndim == 1 else \
        x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _percentile(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """float64 [n] in [0, 100]: share of the sorted ``reference`` below each value (ties count half)."""
    below = np.searchsorted(reference, values, side="left")
    not_above = np.searchsorted(reference, values, side="right")
    return 100.0 * (below + not_above) / (2.0 * len(reference))


def _row_keys(data: Mapping[str, np.ndarray]) -> np.ndarray:
    """uint64 [n] hash of each video's exact float32 bits over every modality, to recognise library rows."""
    parts = [np.ascontiguousarray(data[m], dtype=np.float32) for m in sorted(data)]
    n, width = len(parts[0]), sum(p.shape[1] for p in parts)
    mult = np.random.default_rng(12345).integers(1, 2**63, size=width, dtype=np.uint64) | np.uint64(1)
    keys = np.zeros(n, dtype=np.uint64)
    block = 8192
    for s in range(0, n, block):  # block by block: never a copy of every row (300 MB at 300k)
        words = np.concatenate([p[s : s + block] for p in parts], axis=1).view(np.uint32)
        keys[s : s + block] = (words.astype(np.uint64) * mult).sum(axis=1)
    return keys


def _sorted_row_keys(data: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    keys = _row_keys(data)
    order = np.argsort(keys, kind="stable")
    return keys[order], order


def _cosines(x: np.ndarray, library: np.ndarray) -> np.ndarray:
    """float32 [N]: cosine of unit vector ``x`` [D] with every library row, in blocks."""
    out = np.empty(len(library), dtype=np.float32)
    for s in range(0, len(library), _BLOCK):
        block = library[s : s + _BLOCK]
        out[s : s + _BLOCK] = (block @ x) / np.maximum(np.linalg.norm(block, axis=1), 1e-12)
    return out
