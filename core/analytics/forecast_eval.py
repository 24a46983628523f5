"""Held-out evaluation of the like forecast: is it any good on videos it never saw?

:func:`compare_models` fits :class:`~reelscope.core.analytics.forecast.LikeForecaster`
on a training split (:func:`holdout_split`: random videos, whole authors, or the newest
videos) and scores the author-only, content-only and full models on the held-out rest
with :func:`regression_metrics` and the intervals' real coverage, overall and by
follower-count bin (:func:`interval_check`).
:func:`cross_fitted_forecast` gives every video an out-of-fold forecast instead.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from reelscope.core.analytics.forecast import MODELS, LikeFeatures, LikeForecaster

SPLITS = ("random", "author", "time")
#: The 2021 study's R² for likes of unseen videos (embeddings + author statistics).
REFERENCE_R2 = 0.813


def holdout_split(n: int, how: str = "random", groups: Optional[Sequence[Any]] = None,
                  times: Optional[Sequence[Optional[float]]] = None, test_size: float = 0.2,
                  random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) int arrays of row indices.

    ``random``: a random share of the videos. ``author``: whole authors held out (their
    videos never in training; rows without a group are their own group). ``time``: the
    newest videos (``times``, unix seconds; unknown times stay in training).
    """
    rng = np.random.default_rng(random_state)
    n_test = max(1, int(round(test_size * n)))
    if how == "random":
        order = rng.permutation(n)
        test = np.sort(order[:n_test])
    elif how == "author":
        if groups is None:
            raise ValueError("an author split needs the author of each video")
        keys = [f"\0row{i}" if g is None else str(g) for i, g in enumerate(groups)]
        uniq = sorted(set(keys))
        chosen: set[str] = set()
        size = {g: 0 for g in uniq}
        for key in keys:
            size[key] += 1
        count = 0
        for j in rng.permutation(len(uniq)):
            if count >= n_test:
                break
            chosen.add(uniq[j])
            count += size[uniq[j]]
        test = np.array([i for i, key in enumerate(keys) if key in chosen], dtype=int)
    elif how == "time":
        if times is None:
            raise ValueError("a time split needs the posting time of each video")
        t = np.array([np.nan if v is None else float(v) for v in times])
        known = np.flatnonzero(~np.isnan(t))
        test = np.sort(known[np.argsort(t[known], kind="stable")[::-1][:n_test]])
    else:
        raise ValueError(f"unknown split {how!r}; choose one of {', '.join(SPLITS)}")
    train = np.setdiff1d(np.arange(n), test)
    if len(train) == 0 or len(test) == 0:
        raise ValueError(f"the {how} split left no training or no test videos")
    return train, test


def regression_metrics(y_log: np.ndarray, pred_log: np.ndarray) -> dict[str, float]:
    """R², MAE and Spearman's rho on the log1p scale; float [N] inputs."""
    from scipy.stats import spearmanr

    y, p = np.asarray(y_log, dtype=np.float64), np.asarray(pred_log, dtype=np.float64)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - p) ** 2).sum()) / ss_tot if ss_tot > 0 else float("nan")
    rho = float(spearmanr(y, p).statistic) if len(y) > 2 and np.ptp(p) > 0 else float("nan")
    return {"r2": r2, "mae_log": float(np.abs(y - p).mean()), "spearman": rho}


def compare_models(features: LikeFeatures, likes: np.ndarray, split: str = "random",
                   groups: Optional[Sequence[Any]] = None,
                   times: Optional[Sequence[Optional[float]]] = None,
                   test_size: float = 0.2, **params: Any) -> dict[str, Any]:
    """Fit on a training split, score author-only, content-only and full models on held-out.

    Returns ``{"split", "n_train", "n_test", "coverage_nominal", "models": {name: {"r2",
    "mae_log", "spearman", "coverage", "interval_width_log", "width_ratio"}},
    "reference_r2", "oof_coverage", "mondrian", "coverage_by_bin"}``; ``coverage`` is the
    share of held-out videos whose likes fell inside the interval, ``width_ratio`` the
    median high/low ratio of the intervals (on 1 + likes), ``oof_coverage`` the
    full model's coverage of every training video by :func:`interval_check`, and
    ``coverage_by_bin`` the same per follower-count bin.
    """
    likes = np.asarray(likes, dtype=np.float64)
    train, test = holdout_split(len(likes), split, groups, times, test_size,
                                params.get("random_state", 0))
    model = LikeForecaster(**params).fit(features.take(train), likes[train])
    y = np.log1p(np.clip(likes[test], 0, None))
    ft = features.take(test)
    out: dict[str, Any] = {"split": split, "n_train": int(len(train)), "n_test": int(len(test)),
                           "coverage_nominal": float(model.coverage), "models": {},
                           "reference_r2": REFERENCE_R2}
    for name in MODELS:
        pred = model.predict_log(ft, name)
        row = regression_metrics(y, pred)
        q = model.half_width(ft, name)
        row["coverage"] = float(np.mean(np.abs(y - pred) <= q))
        row["interval_width_log"] = float(np.median(2 * q))
        row["width_ratio"] = float(np.exp(np.median(2 * q)))
        out["models"][name] = row
    check = interval_check(model, features.take(train), likes[train])
    out.update({"oof_coverage": check["coverage"], "mondrian": bool(model.mondrian_),
                "coverage_by_bin": check["by_bin"]})
    return out


def interval_check(model: LikeForecaster, features: LikeFeatures, likes: np.ndarray) -> dict[str, Any]:
    """Real coverage of a fitted model's ``full`` intervals on the videos it was fitted on.

    Each video's out-of-fold forecast (``oof_log_``) against the half-width calibrated
    on the other folds alone (``oof_half_width_``): what a new video would see, for
    every fitting video at no extra fit. Returns ``{"coverage", "videos", "by_bin":
    [{"followers_from", "followers_to", "videos", "coverage", "band_low", "band_high",
    "width_ratio"}]}`` with follower counts (None at the open ends) and the binomial 95 %
    band of each bin's coverage.
    """
    from reelscope.core.analytics.forecast import binomial_band

    y = np.log1p(np.clip(np.asarray(likes, dtype=np.float64), 0, None))
    covered = np.abs(y - model.oof_log_) <= model.oof_half_width_
    bins = model.bins_of(features.author[:, 0])
    edges = [None] + [float(np.expm1(e)) for e in model.bin_edges_] + [None]
    by_bin = []
    for b in range(len(edges) - 1):
        rows = bins == b
        if not rows.any():
            continue
        low, high = binomial_band(int(rows.sum()), model.coverage)
        by_bin.append({"followers_from": edges[b], "followers_to": edges[b + 1],
                       "videos": int(rows.sum()), "coverage": float(covered[rows].mean()),
                       "band_low": low, "band_high": high,
                       "width_ratio": float(np.exp(2 * np.median(model.oof_half_width_[rows])))})
    return {"coverage": float(covered.mean()), "videos": int(len(y)), "by_bin": by_bin}


def cross_fitted_forecast(features: LikeFeatures, likes: np.ndarray, **params: Any) -> np.ndarray:
    """float64 [N] out-of-fold ``full`` forecasts in likes: each video by a model that never saw it.

    These are the forecasts :meth:`LikeForecaster.fit` calibrates its intervals with.
    """
    model = LikeForecaster(**params).fit(features, likes)
    return np.expm1(model.oof_log_).clip(0, None)

