"""Like forecast: how many likes a video will get, with an honest interval and a reason.

The target is ``log1p(likes)``. Three forecasts share one feature recipe:

- ``author``: the author's statistics — log1p of followers, hearts, video count and
  following. What you would guess knowing only who posts.
- ``content``: the video itself — its embedding reduced by PCA, plus log duration.
- ``full``: the author forecast plus a ridge of its residuals on the content and the
  posting time (hour and weekday as points on a circle).

Each forecast comes with a cross-conformal interval: the fitting rows are split into K
folds, each fold is forecast by models fitted on the other folds, and the absolute
out-of-fold residuals give the half-width ``q`` so that ``[y_hat - q, y_hat + q]``
holds the true value with the stated coverage for new videos drawn like the training
ones (Vovk 2015; Barber et al. 2021). The residuals are calibrated per follower-count
bin (Mondrian), so small and large accounts each get the stated coverage. Against split conformal (a
held-back quarter calibrates), every row both fits the final model and calibrates the
interval, so small libraries get steadier intervals and a better model. The explanation
splits a forecast into the author baseline and the content uplift (``full`` minus
``author``, on the log scale a factor) and names the nearest library videos with their
real likes.

Fitted state is plain arrays (``to_arrays``/``from_arrays``), so a stored model loads
without executing code. How well the three models forecast held-out videos is measured
in :mod:`reelscope.core.analytics.forecast_eval`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from reelscope.core.numbers import format_likes

MODELS = ("author", "content", "full")
AUTHOR_COLUMNS = ("followers", "hearts", "video_count", "following")
CONTEXT_COLUMNS = ("log_duration", "hour_sin", "hour_cos", "weekday_sin", "weekday_cos")


@dataclass(frozen=True)
class LikeFeatures:
    """Inputs of the like forecast for N videos.

    ``source``: float32 [N, D] L2-normalised embeddings, or, with ``rows`` (int [N]),
    the array whose rows ``rows`` they are: :meth:`take` selects videos without copying
    the embeddings (300 MB at 300,000 videos), which are read a block at a time;
    ``author``: float64 [N, 4] log1p of :data:`AUTHOR_COLUMNS`, NaN where unknown;
    ``context``: float64 [N, 5] :data:`CONTEXT_COLUMNS`, NaN where unknown.
    """

    source: np.ndarray
    author: np.ndarray
    context: np.ndarray
    rows: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.author)

    @property
    def dim(self) -> int:
        return int(self.source.shape[1])

    @property
    def embedding(self) -> np.ndarray:
        """float32 [N, D]: the videos' embeddings (a copy when they are rows of ``source``)."""
        return self.source if self.rows is None else self.source[self.rows]

    def embedding_block(self, start: int, stop: int) -> np.ndarray:
        """float32 [stop - start, D]: the embeddings of videos ``start:stop``."""
        return self.source[start:stop] if self.rows is None else self.source[self.rows[start:stop]]

    def take(self, rows: np.ndarray) -> "LikeFeatures":
        """The videos ``rows`` (int indices), sharing ``source``."""
        rows = np.asarray(rows, dtype=np.int64)
        return LikeFeatures(self.source, self.author[rows], self.context[rows],
                            rows if self.rows is None else self.rows[rows])


def author_features(
    followers: Sequence[Optional[float]],
    hearts: Sequence[Optional[float]],
    video_count: Sequence[Optional[float]],
    following: Sequence[Optional[float]],
) -> np.ndarray:
    """float64 [N, 4]: log1p of each statistic, NaN where it is unknown (None)."""
    cols = [_log1p_or_nan(c) for c in (followers, hearts, video_count, following)]
    return np.stack(cols, axis=1) if cols[0].size else np.zeros((0, 4))


def context_features(
    duration: Sequence[Optional[float]], posted_at: Sequence[Optional[float]]
) -> np.ndarray:
    """float64 [N, 5]: log1p(duration s), hour and weekday (UTC) on the unit circle.

    ``posted_at`` is unix seconds; unknown values (None) give NaN columns.
    """
    dur = _log1p_or_nan(duration)
    t = np.array([np.nan if v is None else float(v) for v in posted_at], dtype=np.float64)
    hour = np.mod(t / 3600.0, 24.0)
    # 1970-01-01 was a Thursday: shift so Monday is 0.
    weekday = np.mod(np.floor(t / 86400.0) + 3, 7)
    out = np.stack(
        [
            dur,
            np.sin(2 * np.pi * hour / 24),
            np.cos(2 * np.pi * hour / 24),
            np.sin(2 * np.pi * weekday / 7),
            np.cos(2 * np.pi * weekday / 7),
        ],
        axis=1,
    )
    return out if len(dur) else np.zeros((0, 5))


def features_for_videos(videos: Sequence[Any], embedding: np.ndarray) -> LikeFeatures:
    """:class:`LikeFeatures` for library :class:`~reelscope.core.store.models.Video` records.

    ``embedding`` is float32 [N, D], row i belonging to ``videos[i]``.
    """
    def stat(name: str) -> list[Optional[float]]:
        return [getattr(v.author, name) if v.author is not None else None for v in videos]

    author = author_features(stat("followers"), stat("hearts"), stat("video_count"),
                             stat("following"))
    context = context_features([v.duration for v in videos], [v.posted_at for v in videos])
    return LikeFeatures(np.asarray(embedding, dtype=np.float32), author, context)


def _log1p_or_nan(values: Sequence[Optional[float]]) -> np.ndarray:
    x = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    return np.log1p(np.clip(x, 0, None))


# ----------------------------------------------------------------------------- model
_ROWS = 32_768  # embeddings converted to float64 at a time (fitting and design matrices)
# Past this many videos each ridge (at most 74 coefficients) is fitted on a seeded sample
# of this many: sklearn's leave-one-out ridge holds several float64 copies of its design,
# over a GB at 300,000 videos, to move coefficients that 50,000 rows already pin down.
# Forecasts, out-of-fold residuals and the conformal calibration still use every video.
RIDGE_ROWS = 50_000

#: PCA sizes the forecaster chooses among by cross-validation when ``n_components`` is None.
COMPONENT_GRID = (8, 16, 32, 64)


class LikeForecaster:
    """Ridge forecasts of log1p(likes) with cross-conformal intervals by follower count.

    ``full`` is fitted in two stages: the ``author`` ridge first, then a ridge of its
    residuals on the content (PCA of the embedding) and the posting context. Each block
    gets its own penalty, so the many weak content columns cannot force a large penalty
    onto the few strong author columns (one joint ridge did, and under-used both).

    Intervals are Mondrian cross-conformal: the out-of-fold residuals are split into
    follower-count bins (quantile bins of the fitting videos, merged until each holds at
    least ``min_bin_videos``) and each bin gets its own finite-sample quantile, so a bin
    whose likes are harder to forecast gets a wider interval and every bin's coverage is
    the stated one, not just the average (Vovk 2015, "Conditional validity of inductive
    conformal predictors"; Barber et al. 2021, CV+). When the one global interval already
    covers every bin within its binomial band (:func:`covers_each_bin`), it is kept
    (``mondrian_`` False): it is as valid and, calibrated on every row, narrower.

    Parameters
    ----------
    n_components: PCA components kept from the embedding; None chooses among
        :data:`COMPONENT_GRID` by the same K-fold split that calibrates the intervals.
    coverage: nominal coverage of the intervals (e.g. 0.8 for 80 %).
    cv_folds: folds whose out-of-fold residuals calibrate the intervals (at least 2).
    alphas: ridge penalties tried by efficient leave-one-out (RidgeCV).
    random_state: seed for the fold assignment.
    min_bin_videos, max_bins: follower bins of the intervals (1 bin = one global interval).

    Learned state (all plain arrays): ``impute_`` (medians), ``pca_mean_`` [D],
    ``pca_components_`` [K, D], per model ``mean_``/``scale_``/``coef_``/``intercept_`` in
    ``models_`` (``full`` = ``author`` + ``uplift``); ``q_`` the global conformal
    half-width (log scale) per model, ``bin_edges_`` float [B-1] interior edges on
    log1p(followers), ``q_bins_`` per model float [B] and ``mondrian_``. After :meth:`fit`,
    ``oof_log_`` float64 [N] is each fitting row's out-of-fold ``full`` forecast (log1p
    scale) and ``oof_half_width_`` float64 [N] the half-width its interval had when
    calibrated on the other folds only, so ``|y - oof_log_| <= oof_half_width_`` is an
    honest coverage check of every fitting video.
    """

    def __init__(self, n_components: Optional[int] = None, coverage: float = 0.8, cv_folds: int = 5,
                 alphas: Sequence[float] = tuple(np.logspace(-3, 3, 13)),
                 random_state: int = 0, min_bin_videos: int = 60, max_bins: int = 5) -> None:
        if cv_folds < 2:
            raise ValueError(f"cv_folds must be at least 2, got {cv_folds}")
        self.n_components = n_components
        self.coverage = coverage
        self.cv_folds = cv_folds
        self.alphas = alphas
        self.random_state = random_state
        self.min_bin_videos = min_bin_videos
        self.max_bins = max_bins

    # ---------------------------------------------------------------- fitting
    def fit(self, features: LikeFeatures, likes: np.ndarray) -> "LikeForecaster":
        """Fit on N videos; ``likes`` float/int [N] (raw counts, not logged, no NaN)."""
        y = np.log1p(np.clip(np.asarray(likes, dtype=np.float64), 0, None))
        n = len(y)
        if n < 8:
            raise ValueError(f"need at least 8 videos with likes to fit a forecast, got {n}")
        grid = self._component_grid(n, features.dim)
        folds = fold_assignment(n, self.cv_folds, self.random_state)
        oof = {k: np.empty((len(MODELS), n)) for k in grid}
        for fold in range(int(folds.max()) + 1):
            test, train = np.flatnonzero(folds == fold), np.flatnonzero(folds != fold)
            fit_rows, ft = features.take(train), features.take(test)
            part = self._same_params()._fit_pca(fit_rows, max(grid))
            for k in grid:
                part._fit_ridges(fit_rows, y[train], k)
                for j, name in enumerate(MODELS):
                    oof[k][j, test] = part.predict_log(ft, name)
        full = MODELS.index("full")
        self.n_components_ = min(grid, key=lambda k: float(((y - oof[k][full]) ** 2).sum()))
        pred = oof[self.n_components_]
        self._fit_pca(features, self.n_components_)._fit_ridges(features, y, self.n_components_)
        self.oof_log_ = pred[full].copy()
        residuals = np.abs(y - pred)
        log_followers = features.author[:, 0]
        self.bin_edges_ = follower_bins(log_followers, self.min_bin_videos, self.max_bins)
        bins = self.bins_of(log_followers)
        self.q_ = {name: conformal_quantile(residuals[j], self.coverage) for j, name in enumerate(MODELS)}
        self.q_bins_ = {name: mondrian_quantiles(residuals[j], bins, len(self.bin_edges_) + 1,
                                                 self.coverage, self.q_[name])
                        for j, name in enumerate(MODELS)}
        # One global interval is narrower (every residual calibrates it) and as valid when
        # it already covers each bin as stated; per-bin intervals only when some bin's
        # coverage under the global one falls outside its binomial band.
        self.mondrian_ = not covers_each_bin(residuals[full], bins, len(self.bin_edges_) + 1,
                                             self.q_["full"], self.coverage)
        if not self.mondrian_:
            self.q_bins_ = {name: np.full(len(self.bin_edges_) + 1, q) for name, q in self.q_.items()}
        # Each fold's half-width from the other folds' residuals alone: its coverage is
        # what a new video would see, without refitting anything.
        self.oof_half_width_ = np.empty(n)
        for fold in range(int(folds.max()) + 1):
            test, rest = folds == fold, folds != fold
            q_all = conformal_quantile(residuals[full][rest], self.coverage)
            q_rest = (mondrian_quantiles(residuals[full][rest], bins[rest], len(self.bin_edges_) + 1,
                                         self.coverage, q_all)
                      if self.mondrian_ else np.full(len(self.bin_edges_) + 1, q_all))
            self.oof_half_width_[test] = np.where(bins[test] >= 0, q_rest[np.clip(bins[test], 0, None)], q_all)
        self.n_fit_, self.n_calibration_ = n, n
        return self

    def _component_grid(self, n: int, dim: int) -> tuple[int, ...]:
        cap = max(1, min(n - 1, dim))
        if self.n_components is not None:
            return (int(max(1, min(self.n_components, cap))),)
        return tuple(sorted({min(k, cap) for k in COMPONENT_GRID}))

    def _same_params(self) -> "LikeForecaster":
        return LikeForecaster(self.n_components, self.coverage, self.cv_folds, self.alphas,
                              self.random_state, self.min_bin_videos, self.max_bins)

    def _fit_pca(self, f: LikeFeatures, k: int) -> "LikeForecaster":
        """Imputation medians and the leading ``k`` principal axes of the embedding."""
        side = np.concatenate([f.author, f.context], axis=1)
        self.impute_ = np.where(np.isnan(side).all(axis=0), 0.0, _nanmedian(side))
        n = len(f)
        if n <= _ROWS:
            centred = f.embedding.astype(np.float64)
            self.pca_mean_ = centred.mean(axis=0)
            centred -= self.pca_mean_
            self._axes = _principal_axes(centred.T @ centred, k)
            return self
        # Block by block past _ROWS rows: a float64 copy of 300,000 embeddings is 600 MB.
        self.pca_mean_ = sum(f.embedding_block(s, s + _ROWS).astype(np.float64).sum(axis=0)
                             for s in range(0, n, _ROWS)) / n
        cov = np.zeros((f.dim, f.dim))
        for s in range(0, n, _ROWS):
            block = f.embedding_block(s, s + _ROWS).astype(np.float64) - self.pca_mean_
            cov += block.T @ block
        self._axes = _principal_axes(cov, k)
        return self

    def _fit_ridges(self, f: LikeFeatures, y: np.ndarray, k: int) -> "LikeForecaster":
        """The author, content and uplift ridges on the first ``k`` principal axes."""
        self.pca_components_ = self._axes[:k]
        self.models_: dict[str, dict[str, Any]] = {}
        if len(y) > RIDGE_ROWS:  # a few dozen coefficients: a seeded sample of rows fits them
            rows = np.sort(np.random.default_rng([self.random_state, len(y)]).choice(
                len(y), RIDGE_ROWS, replace=False))
            f, y = f.take(rows), y[rows]
        for name, target in (("author", y), ("content", y), ("uplift", None)):
            if target is None:
                target = y - self.predict_log(f, "author")
            self.models_[name] = _ridge(self._design(f, name), target, self.alphas)
        return self

    def _design(self, f: LikeFeatures, model: str) -> np.ndarray:
        """float64 [N, P] design matrix of ``model`` (imputed, not yet standardised)."""
        side = np.concatenate([f.author, f.context], axis=1)
        side = np.where(np.isnan(side), self.impute_, side)
        author, context = side[:, :4], side[:, 4:]
        if model == "author":
            return author
        content = np.concatenate([(f.embedding_block(s, s + _ROWS).astype(np.float64) - self.pca_mean_)
                                  @ self.pca_components_.T for s in range(0, max(len(f), 1), _ROWS)])
        if model == "content":
            return np.concatenate([content, context[:, :1]], axis=1)
        if model == "uplift":
            return np.concatenate([content, context], axis=1)
        if model == "full":  # the one joint ridge of models stored before the two-stage fit
            return np.concatenate([author, content, context], axis=1)
        raise ValueError(f"unknown forecast model {model!r}; choose one of {', '.join(MODELS)}")

    # -------------------------------------------------------------- predicting
    def predict_log(self, features: LikeFeatures, model: str = "full") -> np.ndarray:
        """float64 [N] forecast of log1p(likes) by ``model``."""
        if model == "full" and "uplift" in self.models_:
            return self.predict_log(features, "author") + self.predict_log(features, "uplift")
        m = self.models_[model]
        X = (self._design(features, model) - m["mean"]) / m["scale"]
        return X @ m["coef"] + m["intercept"]

    def predict(self, features: LikeFeatures, model: str = "full") -> np.ndarray:
        """float64 [N] forecast in likes."""
        return np.expm1(self.predict_log(features, model)).clip(0, None)

    def bins_of(self, log_followers: np.ndarray) -> np.ndarray:
        """int [N] follower bin of each log1p(followers); -1 where unknown (NaN)."""
        x = np.asarray(log_followers, dtype=np.float64)
        b = np.searchsorted(self.bin_edges_, np.nan_to_num(x), side="right")
        return np.where(np.isnan(x), -1, b)

    def half_width(self, features: LikeFeatures, model: str = "full") -> np.ndarray:
        """float64 [N] conformal half-width (log scale) of each video's ``model`` interval:
        its follower bin's, or the global one where followers are unknown."""
        bins = self.bins_of(features.author[:, 0])
        q = np.asarray(self.q_bins_[model], dtype=np.float64)
        return np.where(bins >= 0, q[np.clip(bins, 0, len(q) - 1)], self.q_[model])

    def forecast(self, features: LikeFeatures) -> list[dict[str, Any]]:
        """Per video: forecast, interval and its parts, in likes.

        Videos whose author statistics are all unknown are forecast by the
        ``content`` model (with its own calibrated interval) instead of ``full``.
        """
        no_author = np.isnan(features.author).all(axis=1)
        full = self.predict_log(features, "full")
        content = self.predict_log(features, "content")
        base = self.predict_log(features, "author")
        q_full, q_content = self.half_width(features, "full"), self.q_["content"]
        out = []
        for i in range(len(features)):
            model = "content" if no_author[i] else "full"
            y = content[i] if no_author[i] else full[i]
            q = q_content if no_author[i] else q_full[i]
            uplift = None if no_author[i] else float(y - base[i])
            out.append({
                "forecast": _likes(y),
                "low": _likes(y - q),
                "high": _likes(y + q),
                "coverage": float(self.coverage),
                "log_forecast": float(y),
                "model": model,
                "author_baseline": None if no_author[i] else _likes(base[i]),
                "content_uplift": None if uplift is None else float(math.exp(uplift)),
            })
        return out

    # ------------------------------------------------------------- persistence
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted model as named arrays for ``np.savez`` (no pickle needed)."""
        params = {"n_components": self.n_components, "coverage": self.coverage,
                  "cv_folds": self.cv_folds,
                  "alphas": [float(a) for a in self.alphas], "random_state": self.random_state,
                  "min_bin_videos": self.min_bin_videos, "max_bins": self.max_bins,
                  "mondrian": bool(self.mondrian_), "q": self.q_, "q_bins": {m: [float(v) for v in q] for m, q in self.q_bins_.items()},
                  "n_fit": self.n_fit_, "n_calibration": self.n_calibration_,
                  "alpha": {m: self.models_[m]["alpha"] for m in self.models_},
                  "intercept": {m: self.models_[m]["intercept"] for m in self.models_}}
        arrays = {"params": np.array(json.dumps(params)), "impute": self.impute_,
                  "pca_mean": self.pca_mean_, "pca_components": self.pca_components_,
                  "bin_edges": np.asarray(self.bin_edges_, dtype=np.float64)}
        for m in self.models_:
            for key in ("mean", "scale", "coef"):
                arrays[f"{m}_{key}"] = np.asarray(self.models_[m][key])
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Any) -> "LikeForecaster":
        params = json.loads(str(arrays["params"]))
        # Older models: no ``cv_folds`` (split-conformal ``q``, loaded as it was), a joint
        # ``full`` ridge instead of ``author`` + ``uplift``, one global interval (no bins).
        self = cls(params["n_components"], params["coverage"], params.get("cv_folds", 5),
                   tuple(params["alphas"]), params["random_state"],
                   params.get("min_bin_videos", 60), params.get("max_bins", 1))
        self.impute_ = np.asarray(arrays["impute"])
        self.pca_mean_ = np.asarray(arrays["pca_mean"])
        self.pca_components_ = np.asarray(arrays["pca_components"])
        self.models_ = {m: {"mean": np.asarray(arrays[f"{m}_mean"]),
                            "scale": np.asarray(arrays[f"{m}_scale"]),
                            "coef": np.asarray(arrays[f"{m}_coef"]),
                            "intercept": params["intercept"][m], "alpha": params["alpha"][m]}
                        for m in params["intercept"]}
        self.q_ = {m: float(v) for m, v in params["q"].items()}
        self.bin_edges_ = np.asarray(arrays["bin_edges"]) if "bin_edges" in arrays else np.zeros(0)
        self.q_bins_ = {m: np.asarray(params.get("q_bins", {}).get(m, [self.q_[m]]), dtype=np.float64)
                        for m in self.q_}
        self.mondrian_ = bool(params.get("mondrian", False))
        self.n_fit_, self.n_calibration_ = params["n_fit"], params["n_calibration"]
        return self


def _ridge(X: np.ndarray, y: np.ndarray, alphas: Sequence[float]) -> dict[str, Any]:
    """Standardised RidgeCV (penalty by efficient leave-one-out) as plain arrays."""
    from sklearn.linear_model import RidgeCV

    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale < 1e-12] = 1.0
    reg = RidgeCV(alphas=np.asarray(alphas)).fit((X - mean) / scale, y)
    return {"mean": mean, "scale": scale, "coef": reg.coef_, "intercept": float(reg.intercept_),
            "alpha": float(reg.alpha_)}


def fold_assignment(n: int, n_folds: int, random_state: int = 0) -> np.ndarray:
    """int [N] fold of each row: a seeded shuffle dealt round-robin into ``n_folds`` folds."""
    return np.random.default_rng(random_state).permutation(n) % max(2, min(n_folds, n))


def conformal_quantile(residuals: np.ndarray, coverage: float) -> float:
    """Split-conformal half-width: the ceil((n+1)·coverage)-th smallest residual.

    With fewer calibration points than the coverage needs, the largest residual is
    used (the interval is then slightly too narrow rather than infinite).
    """
    r = np.sort(np.asarray(residuals, dtype=np.float64))
    rank = int(math.ceil((len(r) + 1) * coverage))
    return float(r[min(rank, len(r)) - 1])


def follower_bins(log_followers: np.ndarray, min_videos: int, max_bins: int) -> np.ndarray:
    """float64 [B-1] interior edges of follower-count bins, each with >= ``min_videos`` videos.

    Starts from ``max_bins`` quantile bins of the known values (NaN ignored) and merges
    the smallest bin into its smaller neighbour until every bin is big enough (ties can
    leave a quantile bin short). Empty: one bin for everyone.
    """
    x = np.sort(np.asarray(log_followers, dtype=np.float64))
    x = x[~np.isnan(x)]
    n_bins = int(min(max_bins, len(x) // max(1, min_videos)))
    if n_bins < 2:
        return np.zeros(0)
    edges = list(np.unique(np.quantile(x, np.arange(1, n_bins) / n_bins)))
    while edges:
        counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=len(edges) + 1)
        small = int(np.argmin(counts))
        if counts[small] >= min_videos:
            break
        # Merge with the smaller neighbour: drop the edge between them.
        if small == 0 or (small < len(edges) and counts[small + 1] < counts[small - 1]):
            edges.pop(small)
        else:
            edges.pop(small - 1)
    return np.asarray(edges, dtype=np.float64)


def binomial_band(n: int, coverage: float, level: float = 0.95) -> tuple[float, float]:
    """(low, high) share of ``n`` draws at ``coverage`` that a ``level`` two-sided binomial
    test accepts: the central interval of Binomial(n, coverage), as shares."""
    from scipy.stats import binom

    tail = (1 - level) / 2
    return (float(binom.ppf(tail, n, coverage)) / n, float(binom.isf(tail, n, coverage)) / n)


def covers_each_bin(residuals: np.ndarray, bins: np.ndarray, n_bins: int, q: float,
                    coverage: float) -> bool:
    """Does half-width ``q`` cover each bin's ``residuals`` within its binomial band?

    The bands are Bonferroni-corrected (level 1 - 0.05 / bins), so a library whose noise
    is the same for every follower count keeps one interval 95 % of the time.
    """
    for b in range(n_bins):
        r = residuals[bins == b]
        if len(r) == 0:
            continue
        low, high = binomial_band(len(r), coverage, 1 - 0.05 / n_bins)
        if not low <= float(np.mean(r <= q)) <= high:
            return False
    return True


def mondrian_quantiles(residuals: np.ndarray, bins: np.ndarray, n_bins: int, coverage: float,
                       fallback: float) -> np.ndarray:
    """float64 [n_bins] conformal half-width of each bin from its own residuals.

    ``bins`` int [N], -1 for rows in no bin (left out); an empty bin gets ``fallback``.
    """
    out = np.full(n_bins, float(fallback))
    for b in range(n_bins):
        r = residuals[bins == b]
        if len(r):
            out[b] = conformal_quantile(r, coverage)
    return out


def _principal_axes(cov: np.ndarray, k: int) -> np.ndarray:
    """float64 [k, D] leading eigenvectors of ``cov`` (the centred embeddings' X^T X; sign
    fixed for determinism)."""
    vals, vecs = np.linalg.eigh(cov)
    axes = vecs[:, np.argsort(vals)[::-1][:k]].T
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    return axes * signs[:, None]


def _nanmedian(x: np.ndarray) -> np.ndarray:
    """Column medians ignoring NaN; all-NaN columns give NaN without a warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(x, axis=0)


def _likes(log_value: float) -> float:
    return float(max(0.0, math.expm1(float(log_value))))


def explain_forecast(forecast: dict[str, Any], neighbours: Sequence[dict[str, Any]]) -> str:
    """One or two plain sentences behind a forecast from :meth:`LikeForecaster.forecast`.

    ``neighbours``: ``[{"id", "score", "likes"}, ...]`` nearest library videos.
    """
    pct = f"{forecast['coverage'] * 100:.0f} %"
    band = f"{format_likes(forecast['low'])}–{format_likes(forecast['high'])}"
    if forecast.get("author_baseline") is None:
        text = (f"No author statistics, so this is a content-only forecast: "
                f"{format_likes(forecast['forecast'])} likes ({pct} interval {band}).")
    else:
        text = (f"Videos by authors like this one get about {format_likes(forecast['author_baseline'])} "
                f"likes; this content moves that ×{forecast['content_uplift']:.2f} to "
                f"{format_likes(forecast['forecast'])} ({pct} interval {band}).")
    known = [nb for nb in neighbours if nb.get("likes") is not None]
    if known:
        listed = ", ".join(f"{nb['id']} ({format_likes(nb['likes'])})" for nb in known[:3])
        text += f" Most similar library videos: {listed}."
    return text
