"""Like forecast: how many likes a video will get, with an honest interval and a reason.

The target is ``log1p(likes)``. Three ridge regressions share one feature recipe:

- ``author``: the author's statistics — log1p of followers, hearts, video count and
  following. What you would guess knowing only who posts.
- ``content``: the video itself — its embedding reduced by PCA, plus log duration.
- ``full``: both, plus the posting time (hour and weekday as points on a circle).

Each forecast comes with a cross-conformal interval: the fitting rows are split into K
folds, each fold is forecast by models fitted on the other folds, and the absolute
out-of-fold residuals of all rows give the half-width ``q`` so that
``[y_hat - q, y_hat + q]`` holds the true value with the stated coverage for new videos
drawn like the training ones (Vovk 2015; Barber et al. 2021). Against split conformal (a
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

    ``embedding``: float32 [N, D] (L2-normalised rows);
    ``author``: float64 [N, 4] log1p of :data:`AUTHOR_COLUMNS`, NaN where unknown;
    ``context``: float64 [N, 5] :data:`CONTEXT_COLUMNS`, NaN where unknown.
    """

    embedding: np.ndarray
    author: np.ndarray
    context: np.ndarray

    def __len__(self) -> int:
        return len(self.embedding)

    def take(self, rows: np.ndarray) -> "LikeFeatures":
        return LikeFeatures(self.embedding[rows], self.author[rows], self.context[rows])


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
class LikeForecaster:
    """Ridge forecasts of log1p(likes) with cross-conformal intervals.

    Parameters
    ----------
    n_components: PCA components kept from the embedding.
    coverage: nominal coverage of the intervals (e.g. 0.8 for 80 %).
    cv_folds: folds whose out-of-fold residuals calibrate the intervals (at least 2).
    alphas: ridge penalties tried by efficient leave-one-out (RidgeCV).
    random_state: seed for the fold assignment.

    Learned state (all plain arrays): ``impute_`` (medians), ``pca_mean_`` [D],
    ``pca_components_`` [K, D], and per model ``mean_``/``scale_``/``coef_``/``intercept_``
    in ``models_``; ``q_`` the conformal half-width (log scale) per model; after
    :meth:`fit`, ``oof_log_`` float64 [N] is each fitting row's out-of-fold ``full``
    forecast (log1p scale): a forecast of every training video by models that never saw it.
    """

    def __init__(self, n_components: int = 32, coverage: float = 0.8, cv_folds: int = 5,
                 alphas: Sequence[float] = tuple(np.logspace(-3, 3, 13)),
                 random_state: int = 0) -> None:
        if cv_folds < 2:
            raise ValueError(f"cv_folds must be at least 2, got {cv_folds}")
        self.n_components = n_components
        self.coverage = coverage
        self.cv_folds = cv_folds
        self.alphas = alphas
        self.random_state = random_state

    # ---------------------------------------------------------------- fitting
    def fit(self, features: LikeFeatures, likes: np.ndarray) -> "LikeForecaster":
        """Fit on N videos; ``likes`` float/int [N] (raw counts, not logged, no NaN)."""
        y = np.log1p(np.clip(np.asarray(likes, dtype=np.float64), 0, None))
        n = len(y)
        if n < 8:
            raise ValueError(f"need at least 8 videos with likes to fit a forecast, got {n}")
        folds = fold_assignment(n, self.cv_folds, self.random_state)
        residuals = np.empty((len(MODELS), n))
        self.oof_log_ = np.empty(n)
        for k in range(int(folds.max()) + 1):
            test, train = np.flatnonzero(folds == k), np.flatnonzero(folds != k)
            part = self._same_params()._fit_point(features.take(train), y[train])
            ft = features.take(test)
            for j, name in enumerate(MODELS):
                pred = part.predict_log(ft, name)
                residuals[j, test] = np.abs(y[test] - pred)
                if name == "full":
                    self.oof_log_[test] = pred
        self._fit_point(features, y)
        self.q_ = {name: conformal_quantile(residuals[j], self.coverage) for j, name in enumerate(MODELS)}
        self.n_fit_, self.n_calibration_ = n, n
        return self

    def _same_params(self) -> "LikeForecaster":
        return LikeForecaster(self.n_components, self.coverage, self.cv_folds, self.alphas,
                              self.random_state)

    def _fit_point(self, f: LikeFeatures, y: np.ndarray) -> "LikeForecaster":
        """Imputation, PCA and the three ridge models fitted on ``f`` and log targets ``y``."""
        from sklearn.linear_model import RidgeCV

        side = np.concatenate([f.author, f.context], axis=1)
        self.impute_ = np.where(np.isnan(side).all(axis=0), 0.0, _nanmedian(side))
        emb = f.embedding.astype(np.float64)
        self.pca_mean_ = emb.mean(axis=0)
        k = int(max(1, min(self.n_components, len(y) - 1, emb.shape[1])))
        self.pca_components_ = _principal_axes(emb - self.pca_mean_, k)
        self.models_: dict[str, dict[str, Any]] = {}
        for name in MODELS:
            X = self._design(f, name)
            mean, scale = X.mean(axis=0), X.std(axis=0)
            scale[scale < 1e-12] = 1.0
            reg = RidgeCV(alphas=np.asarray(self.alphas)).fit((X - mean) / scale, y)
            self.models_[name] = {"mean": mean, "scale": scale, "coef": reg.coef_,
                                  "intercept": float(reg.intercept_), "alpha": float(reg.alpha_)}
        return self

    def _design(self, f: LikeFeatures, model: str) -> np.ndarray:
        """float64 [N, P] design matrix of ``model`` (imputed, not yet standardised)."""
        side = np.concatenate([f.author, f.context], axis=1)
        side = np.where(np.isnan(side), self.impute_, side)
        author, context = side[:, :4], side[:, 4:]
        if model == "author":
            return author
        content = (f.embedding.astype(np.float64) - self.pca_mean_) @ self.pca_components_.T
        if model == "content":
            return np.concatenate([content, context[:, :1]], axis=1)
        if model == "full":
            return np.concatenate([author, content, context], axis=1)
        raise ValueError(f"unknown forecast model {model!r}; choose one of {', '.join(MODELS)}")

    # -------------------------------------------------------------- predicting
    def predict_log(self, features: LikeFeatures, model: str = "full") -> np.ndarray:
        """float64 [N] forecast of log1p(likes) by ``model``."""
        m = self.models_[model]
        X = (self._design(features, model) - m["mean"]) / m["scale"]
        return X @ m["coef"] + m["intercept"]

    def predict(self, features: LikeFeatures, model: str = "full") -> np.ndarray:
        """float64 [N] forecast in likes."""
        return np.expm1(self.predict_log(features, model)).clip(0, None)

    def forecast(self, features: LikeFeatures) -> list[dict[str, Any]]:
        """Per video: forecast, interval and its parts, in likes.

        Videos whose author statistics are all unknown are forecast by the
        ``content`` model (with its own calibrated interval) instead of ``full``.
        """
        no_author = np.isnan(features.author).all(axis=1)
        full = self.predict_log(features, "full")
        content = self.predict_log(features, "content")
        base = self.predict_log(features, "author")
        out = []
        for i in range(len(features)):
            model = "content" if no_author[i] else "full"
            y = content[i] if no_author[i] else full[i]
            q = self.q_[model]
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
                  "q": self.q_, "n_fit": self.n_fit_, "n_calibration": self.n_calibration_,
                  "alpha": {m: self.models_[m]["alpha"] for m in MODELS},
                  "intercept": {m: self.models_[m]["intercept"] for m in MODELS}}
        arrays = {"params": np.array(json.dumps(params)), "impute": self.impute_,
                  "pca_mean": self.pca_mean_, "pca_components": self.pca_components_}
        for m in MODELS:
            for key in ("mean", "scale", "coef"):
                arrays[f"{m}_{key}"] = np.asarray(self.models_[m][key])
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Any) -> "LikeForecaster":
        params = json.loads(str(arrays["params"]))
        # Models stored before cross-conformal calibration have no ``cv_folds``; their
        # split-conformal ``q`` is loaded as it was.
        self = cls(params["n_components"], params["coverage"], params.get("cv_folds", 5),
                   tuple(params["alphas"]), params["random_state"])
        self.impute_ = np.asarray(arrays["impute"])
        self.pca_mean_ = np.asarray(arrays["pca_mean"])
        self.pca_components_ = np.asarray(arrays["pca_components"])
        self.models_ = {m: {"mean": np.asarray(arrays[f"{m}_mean"]),
                            "scale": np.asarray(arrays[f"{m}_scale"]),
                            "coef": np.asarray(arrays[f"{m}_coef"]),
                            "intercept": params["intercept"][m], "alpha": params["alpha"][m]}
                        for m in MODELS}
        self.q_ = {m: float(v) for m, v in params["q"].items()}
        self.n_fit_, self.n_calibration_ = params["n_fit"], params["n_calibration"]
        return self


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


def _principal_axes(centred: np.ndarray, k: int) -> np.ndarray:
    """float64 [k, D] leading eigenvectors of the covariance (sign fixed for determinism)."""
    cov = centred.T @ centred
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
