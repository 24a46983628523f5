"""Originality against likes: does originality get likes?

:func:`originality_vs_likes` asks the thesis question with Spearman's rho and a
bootstrap interval, both raw and after taking out what the author's follower count
explains, overall and within each sound or trend. The helpers below compute the
statistic on many bootstrap resamples at once (partial correlation by least-squares
residuals, group demeaning) and its t-approximation p-value. The originality scores
themselves come from :class:`reelscope.core.analytics.originality.OriginalityScorer`.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional

import numpy as np


def originality_vs_likes(
    originality: np.ndarray,
    likes: np.ndarray,
    followers: np.ndarray,
    groups: Optional[np.ndarray] = None,
    n_boot: int = 1000,
    seed: int = 0,
    min_group_size: int = 20,
    confidence: float = 0.95,
    tick: Optional[Callable[[str], None]] = None,
) -> dict:
    """Does originality go with likes? Spearman's rho with bootstrap intervals.

    Parameters
    ----------
    originality, likes, followers : float [N]; rows where any is missing
        (NaN/None) or negative are left out.
    groups : optional [N] labels (a sound cluster or trend per video).
    n_boot : bootstrap resamples; each redoes the whole estimate.
    tick : optional callable, called with a message before each chunk of resamples
        (progress, and a chance for the caller to cancel by raising).

    Returns
    -------
    dict with
        ``n`` — videos used; ``n_boot``; ``confidence``;
        ``raw`` — rho between originality and likes;
        ``partial`` — rho between the parts of originality and of log1p(likes)
            that log1p(followers) does not explain (residuals of least-squares
            lines on log1p followers): the originality effect at equal reach;
        ``within_groups`` — like ``partial``, also removing each group's mean
            (so only differences inside a sound/trend count); None without groups;
        ``groups`` — {str(label): {"n", "raw", "partial"}} for groups with at
            least ``min_group_size`` videos;
        ``method`` — one sentence saying the above.
    Each estimate is {"rho", "ci_low", "ci_high", "p_value"} (percentile
    bootstrap interval; t-approximation p-value); NaN when fewer than 4 videos.
    """
    o, l, f = (np.asarray(a, dtype=np.float64).ravel() for a in (originality, likes, followers))
    if not (len(o) == len(l) == len(f)):
        raise ValueError(f"lengths differ: originality {len(o)}, likes {len(l)}, followers {len(f)}")
    ok = np.isfinite(o) & np.isfinite(l) & np.isfinite(f) & (l >= 0) & (f >= 0)
    g = None
    if groups is not None:
        labels = np.asarray(groups)
        if len(labels) != len(o):
            raise ValueError(f"{len(labels)} group labels for {len(o)} videos")
        labels = labels[ok]
    o, ll, lf = o[ok], np.log1p(l[ok]), np.log1p(f[ok])
    rng = np.random.default_rng(seed)
    result: dict[str, Any] = {
        "n": int(len(o)),
        "n_boot": int(n_boot),
        "confidence": confidence,
        "raw": _estimate(o, ll, lf, None, "raw", n_boot, rng, confidence, tick),
        "partial": _estimate(o, ll, lf, None, "partial", n_boot, rng, confidence, tick),
        "within_groups": None,
        "groups": {},
        "method": (
            "Spearman rank correlation; 'partial' correlates what log followers leave unexplained "
            "(least-squares residuals) of originality and of log likes; "
            f"{int(confidence * 100)}% percentile bootstrap intervals from {n_boot} resamples."
        ),
    }
    if groups is not None:
        uniq, g = np.unique(labels.astype(str), return_inverse=True)
        result["within_groups"] = _estimate(o, ll, lf, g, "partial", n_boot, rng, confidence, tick)
        for code, label in enumerate(uniq):
            rows = np.flatnonzero(g == code)
            if len(rows) < min_group_size:
                continue
            result["groups"][str(label)] = {
                "n": int(len(rows)),
                "raw": _estimate(o[rows], ll[rows], lf[rows], None, "raw", n_boot, rng, confidence),
                "partial": _estimate(o[rows], ll[rows], lf[rows], None, "partial", n_boot, rng, confidence),
            }
    return result


def _estimate(
    o: np.ndarray, ll: np.ndarray, lf: np.ndarray, g: Optional[np.ndarray], kind: str,
    n_boot: int, rng: np.random.Generator, confidence: float,
    tick: Optional[Callable[[str], None]] = None,
) -> dict[str, float]:
    n = len(o)
    nan = float("nan")
    if n < 4:
        return {"rho": nan, "ci_low": nan, "ci_high": nan, "p_value": nan}
    everyone = np.arange(n)[None, :]
    rho = float(_rho_rows(o, ll, lf, g, kind, everyone)[0])
    boots = []
    per_chunk = max(1, 2_000_000 // n)  # bounded memory: [chunk, n] float64 arrays
    for start in range(0, n_boot, per_chunk):
        if tick is not None:
            tick(f"bootstrap {kind} {start}/{n_boot}")
        idx = rng.integers(0, n, size=(min(per_chunk, n_boot - start), n))
        boots.append(_rho_rows(o, ll, lf, g, kind, idx))
    boots = np.concatenate(boots) if boots else np.array([np.nan])
    tail = (1.0 - confidence) / 2.0 * 100.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(boots, [tail, 100.0 - tail]) if np.isfinite(boots).any() else (nan, nan)
    # Degrees of freedom: 2 for the correlation, 1 per removed covariate and group mean.
    df = n - 2 - (1 if kind == "partial" else 0) - (int(g.max()) if g is not None else 0)
    return {"rho": rho, "ci_low": float(low), "ci_high": float(high), "p_value": _p_value(rho, df)}


def _rho_rows(
    o: np.ndarray, ll: np.ndarray, lf: np.ndarray, g: Optional[np.ndarray], kind: str, idx: np.ndarray
) -> np.ndarray:
    """float64 [B]: the statistic on each row of resample indices ``idx`` int [B, n]."""
    from scipy.stats import rankdata

    a, b = o[idx], ll[idx]
    if kind == "partial":
        c = lf[idx]
        if g is not None:
            a, b, c = (_demean_by_group(v, g[idx]) for v in (a, b, c))
        a, b = _residualise(a, c), _residualise(b, c)
    return _pearson(rankdata(a, axis=1), rankdata(b, axis=1))


def _residualise(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per row, what a least-squares line in x leaves of y (both float64 [B, n])."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    var = (xc * xc).sum(axis=1, keepdims=True)
    slope = np.divide((xc * yc).sum(axis=1, keepdims=True), var, out=np.zeros_like(var), where=var > 0)
    return yc - slope * xc


def _demean_by_group(v: np.ndarray, g: np.ndarray) -> np.ndarray:
    rows, n_groups = v.shape[0], int(g.max()) + 1
    flat = (np.arange(rows)[:, None] * n_groups + g).ravel()
    sums = np.bincount(flat, weights=v.ravel(), minlength=rows * n_groups)
    counts = np.bincount(flat, minlength=rows * n_groups)
    return v - (sums / np.maximum(counts, 1))[flat].reshape(v.shape)


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (a * b).sum(axis=1) / denom, np.nan)


def _p_value(rho: float, df: int) -> float:
    from scipy.stats import t

    if not np.isfinite(rho) or df <= 0:
        return float("nan")
    if abs(rho) >= 1.0:
        return 0.0
    stat = rho * np.sqrt(df / (1.0 - rho * rho))
    return float(2.0 * t.sf(abs(stat), df))
