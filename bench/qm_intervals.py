"""Like-forecast intervals that mean what they say, and the forecast's R², on held-out drafts.

    python bench/qm_intervals.py            # /tmp/rdemo and /tmp/quality-seed1 side by side

For a library, ``splits`` random held-out splits (``share`` of the videos as drafts: fit
on the rest, forecast the drafts) measure, for Reelscope's forecaster and for a
hand-crafted baseline (ridge on hand-crafted features + author statistics + posting
context, interval ±z·sd of its training residuals):

- ``coverage_mean``: share of drafts whose likes fell inside the stated interval, mean over
  splits (goal: within ±0.03 of ``coverage_stated``); ``coverage_min``/``coverage_max``;
- ``splits_outside_band``: splits whose coverage is outside the binomial 95 % band of
  ``n_test`` draws at the stated coverage (goal 0), band in ``band_low``/``band_high``;
- ``bin_coverage_worst``: drafts pooled over splits and cut into follower-count tertiles of
  the library, the bin coverage furthest from the stated one;
- ``width_ratio``: median high/low of the intervals (on 1 + likes; narrower is better once
  coverage holds);
- ``r2``: R² of log1p(likes) on the drafts, mean over splits (goal >= 0.90), beside
  ``oracle_r2``, the demo's own expected log-likes (the ceiling: the rest is its noise).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GOALS = {"coverage_tolerance": 0.03, "splits_outside_band": 0, "r2": 0.90}


def _videos(library: Any, ids: list[str]) -> list[Any]:
    by_id = {v.id: v for v in library.videos()}
    return [by_id[i] for i in ids]


def _splits(n: int, splits: int, share: float, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for s in range(splits):
        order = np.random.default_rng([seed, s]).permutation(n)
        n_test = max(1, int(round(share * n)))
        out.append((np.sort(order[n_test:]), np.sort(order[:n_test])))
    return out


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    return float(1 - ((y - p) ** 2).sum() / ((y - y.mean()) ** 2).sum())


Forecast = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _measure(forecast: Forecast, likes: np.ndarray, followers: np.ndarray, oracle: Optional[np.ndarray],
             coverage: float, splits: int, share: float, seed: int) -> dict[str, float]:
    """``forecast(train, test)`` -> (log1p forecast [T], half-width [T]) for the test rows."""
    from reelscope.core.analytics.forecast import binomial_band

    y = np.log1p(likes)
    tertiles = np.nanquantile(np.log1p(followers), [1 / 3, 2 / 3])
    covs, widths, r2s, oracles, pooled_cov, pooled_bin = [], [], [], [], [], []
    for train, test in _splits(len(y), splits, share, seed):
        pred, q = forecast(train, test)
        inside = np.abs(y[test] - pred) <= q
        covs.append(inside.mean())
        widths.append(np.exp(2 * q))
        r2s.append(_r2(y[test], pred))
        if oracle is not None:
            oracles.append(_r2(y[test], oracle[test]))
        pooled_cov.append(inside)
        pooled_bin.append(np.searchsorted(tertiles, np.log1p(followers[test])))
    n_test = len(pooled_cov[0])
    low, high = binomial_band(n_test, coverage)
    inside, bins = np.concatenate(pooled_cov), np.concatenate(pooled_bin)
    bin_cov = [inside[bins == b].mean() for b in range(3) if (bins == b).any()]
    worst = max(bin_cov, key=lambda c: abs(c - coverage))
    out = {"coverage_stated": coverage, "coverage_mean": float(np.mean(covs)),
           "coverage_min": float(np.min(covs)), "coverage_max": float(np.max(covs)),
           "splits": splits, "n_test": n_test, "band_low": low, "band_high": high,
           "splits_outside_band": int(sum(not low <= c <= high for c in covs)),
           "bin_coverage_worst": float(worst),
           "width_ratio": float(np.median(np.concatenate(widths))), "r2": float(np.mean(r2s))}
    if oracles:
        out["oracle_r2"] = float(np.mean(oracles))
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def _oracle(truth: Optional[dict[str, Any]], ids: list[str]) -> Optional[np.ndarray]:
    videos = (truth or {}).get("videos", {})
    try:
        return np.array([videos[i]["likes"]["expected_log_likes"] for i in ids], dtype=np.float64)
    except (KeyError, TypeError):
        return None


def measure_ours(library: Any, truth: Optional[dict[str, Any]], embeddings: dict[str, np.ndarray],
                 ids: list[str], kind: str = "fused", coverage: float = 0.8, splits: int = 10,
                 share: float = 0.12, seed: int = 0) -> dict[str, float]:
    """Reelscope's :class:`LikeForecaster` on ``embeddings[kind]`` (unit rows aligned to ``ids``)."""
    from reelscope.core.analytics.forecast import LikeForecaster, features_for_videos

    videos = _videos(library, ids)
    likes = np.array([np.nan if v.likes is None else v.likes for v in videos], dtype=np.float64)
    rows = np.flatnonzero(~np.isnan(likes))
    features = features_for_videos([videos[i] for i in rows], np.asarray(embeddings[kind])[rows])
    oracle = _oracle(truth, [ids[i] for i in rows])

    def forecast(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        model = LikeForecaster(coverage=coverage, random_state=seed).fit(features.take(train), likes[rows][train])
        drafts = features.take(test)
        return model.predict_log(drafts), model.half_width(drafts)

    return _measure(forecast, likes[rows], np.expm1(features.author[:, 0]), oracle, coverage, splits, share,
                    seed)


def measure_baseline(library: Any, truth: Optional[dict[str, Any]], embeddings: dict[str, np.ndarray],
                     ids: list[str], kind: str = "fused", coverage: float = 0.8, splits: int = 10,
                     share: float = 0.12, seed: int = 0) -> dict[str, float]:
    """Ridge on hand-crafted features (``embeddings``: :func:`bench.quality.handcrafted`'s dict)
    plus author statistics and posting context; interval ±z·sd of the training residuals."""
    from scipy.stats import norm
    from sklearn.linear_model import RidgeCV

    from reelscope.core.analytics.forecast import features_for_videos

    videos = _videos(library, ids)
    likes = np.array([np.nan if v.likes is None else v.likes for v in videos], dtype=np.float64)
    rows = np.flatnonzero(~np.isnan(likes))
    f = features_for_videos([videos[i] for i in rows], np.asarray(embeddings[kind])[rows])
    X = np.concatenate([f.author, f.context, f.embedding.astype(np.float64)], axis=1)
    y = np.log1p(likes[rows])
    z = float(norm.ppf(0.5 + coverage / 2))

    def forecast(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fill = np.nanmedian(X[train], axis=0)
        Xf = np.where(np.isnan(X), np.nan_to_num(fill), X)
        mean, sd = Xf[train].mean(0), Xf[train].std(0) + 1e-9
        reg = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit((Xf[train] - mean) / sd, y[train])
        resid_sd = float(np.std(y[train] - reg.predict((Xf[train] - mean) / sd)))
        return reg.predict((Xf[test] - mean) / sd), np.full(len(test), z * resid_sd)

    return _measure(forecast, likes[rows], np.expm1(f.author[:, 0]), _oracle(truth, [ids[i] for i in rows]),
                    coverage, splits, share, seed)


def measure(library: Any, truth: Optional[dict[str, Any]], embeddings: dict[str, np.ndarray], ids: list[str],
            handcrafted: Optional[dict[str, np.ndarray]] = None, **kw: Any) -> dict[str, float]:
    """Both, flat: ``ours_*`` and (when ``handcrafted`` is given) ``baseline_*``."""
    out = {f"ours_{k}": v for k, v in measure_ours(library, truth, embeddings, ids, **kw).items()}
    if handcrafted is not None:
        out.update({f"baseline_{k}": v for k, v in
                    measure_baseline(library, truth, handcrafted, ids, **kw).items()})
    return out


def _library_inputs(folder: Path) -> tuple[Any, dict[str, Any], dict[str, np.ndarray], list[str]]:
    from reelscope.core.analytics.data import load_data
    from reelscope.core.store.library import Library

    library = Library.open(folder / "library")
    truth = json.loads((folder / "source" / "ground_truth.json").read_text())
    data = load_data(library)
    return library, truth, {k: data.kind(k) for k in ("visual", "audio", "fused")}, list(data.ids)


def main() -> int:
    sys.path.insert(0, str(ROOT / "bench"))
    from quality import handcrafted

    folders = [Path(p) for p in (sys.argv[1:] or ["/tmp/rdemo", "/tmp/quality-seed1"])]
    table: dict[str, dict[str, float]] = {}
    for folder in folders:
        library, truth, emb, ids = _library_inputs(folder)
        table[str(folder)] = measure(library, truth, emb, ids, handcrafted=handcrafted(library, ids))
        library.close()
    keys = list(next(iter(table.values())))
    print(f"{'measure':<32}" + "".join(f"{Path(f).name:>18}" for f in table))
    for k in keys:
        print(f"{k:<32}" + "".join(f"{str(table[f].get(k)):>18}" for f in table))
    print(f"goals: |coverage_mean - stated| <= {GOALS['coverage_tolerance']}, splits_outside_band = 0, "
          f"r2 >= {GOALS['r2']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
