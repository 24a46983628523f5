"""Hashtag suggestions: what similar videos used, and what the embedding predicts.

Two estimates of the probability that a video carries tag t are averaged:

- a neighbour vote: the nearest library videos (cosine similarity of embeddings) vote
  for their tags, each weighted by its similarity and its engagement (like percentile);
  a pseudo-count of the tag's library share keeps a thin vote from reaching 0 or 1;
- a multi-label classifier: one logistic regression per frequent tag on the embedding,
  fitted jointly by L-BFGS (the same objective as one-vs-rest, one optimiser call).

Suggestions are ranked by ``score = p · (p - prior) / (1 - prior)``: the probability
times how far the evidence lifts it above the tag's share of the library. A generic
tag such as #fyp that most videos carry gains nothing from being frequent; it ranks
high only when similar videos use it *more* than the library does. Every suggestion
carries its evidence: how many of the neighbours used it and their median likes.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence

import numpy as np


def normalise_tag(tag: str) -> str:
    """``'#FYP '`` -> ``'fyp'``; ``''`` when nothing of a tag is left (the importer's rule)."""
    from reelscope.core.ingest.metadata import normalise_hashtag

    return normalise_hashtag(tag) or ""


class HashtagSuggester:
    """kNN vote plus multi-label logistic regression over frequent hashtags.

    Parameters
    ----------
    n_neighbours: library videos that vote.
    min_count: a tag needs this many videos to be suggested.
    max_tags: at most this many (most frequent) tags form the vocabulary.
    knn_weight: weight of the neighbour vote (1 - it for the classifier).
    C: inverse L2 penalty of the classifier (as in scikit-learn).
    generic_share: tags on at least this share of videos are flagged ``generic``.
    max_fit_rows: the classifier is fitted on at most this many (random) videos.
    random_state: seed for that sample.

    Learned state: ``vocabulary_`` (str [T]), ``prior_`` (float [T], library share),
    ``coef_`` (float [P, T]), ``intercept_`` [T], ``x_mean_``/``x_scale_`` [P]; and the
    neighbour bank ``X_`` (float32 [N, D]), ``Y_`` (bool [N, T]), ``likes_`` [N].
    """

    def __init__(self, n_neighbours: int = 20, min_count: int = 3, max_tags: int = 200,
                 knn_weight: float = 0.5, C: float = 1.0, generic_share: float = 0.2,
                 max_fit_rows: int = 20_000, random_state: int = 0) -> None:
        self.n_neighbours = n_neighbours
        self.min_count = min_count
        self.max_tags = max_tags
        self.knn_weight = knn_weight
        self.C = C
        self.generic_share = generic_share
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state

    # ---------------------------------------------------------------- fitting
    def fit(self, X: np.ndarray, tags: Sequence[Sequence[str]],
            likes: Optional[Sequence[Optional[float]]] = None) -> "HashtagSuggester":
        """``X`` float32 [N, D] L2-normalised embeddings; ``tags[i]`` the tags of video i."""
        X = np.asarray(X, dtype=np.float32)
        norm = [{normalise_tag(t) for t in row if normalise_tag(t)} for row in tags]
        counts: dict[str, int] = {}
        for row in norm:
            for t in row:
                counts[t] = counts.get(t, 0) + 1
        frequent = sorted((t for t, c in counts.items() if c >= self.min_count),
                          key=lambda t: (-counts[t], t))[: self.max_tags]
        self.vocabulary_ = np.array(frequent, dtype=str)
        self.prior_ = np.array([counts[t] / max(1, len(norm)) for t in frequent])
        self.attach(X, tags, likes)

        rng = np.random.default_rng(self.random_state)
        rows = np.arange(len(X))
        if len(rows) > self.max_fit_rows:
            rows = np.sort(rng.choice(rows, self.max_fit_rows, replace=False))
        Xf = X[rows].astype(np.float64)
        self.x_mean_ = Xf.mean(axis=0)
        self.x_scale_ = Xf.std(axis=0)
        self.x_scale_[self.x_scale_ < 1e-12] = 1.0
        self.coef_, self.intercept_ = fit_multilabel_logistic(
            (Xf - self.x_mean_) / self.x_scale_, self.Y_[rows].astype(np.float64), self.C)
        return self

    def attach(self, X: np.ndarray, tags: Sequence[Sequence[str]],
               likes: Optional[Sequence[Optional[float]]] = None) -> "HashtagSuggester":
        """Set the neighbour bank: the library videos that vote (after :meth:`from_arrays`)."""
        self.X_ = np.asarray(X, dtype=np.float32)
        column = {t: j for j, t in enumerate(self.vocabulary_.tolist())}
        self.Y_ = np.zeros((len(self.X_), len(column)), dtype=bool)
        seen: dict[str, Optional[int]] = {}  # each distinct tag normalised once (537k uses at 300k videos)
        for i, row in enumerate(tags):
            for t in row:
                j = seen[t] if t in seen else seen.setdefault(t, column.get(normalise_tag(t)))
                if j is not None:
                    self.Y_[i, j] = True
        lk = np.array([np.nan if v is None else float(v) for v in
                       (likes if likes is not None else [None] * len(self.X_))])
        self.likes_ = lk
        self.engagement_ = _percentile_rank(np.log1p(np.clip(lk, 0, None)))
        return self

    # ------------------------------------------------------------- predicting
    def probabilities(self, X: np.ndarray, exclude: Optional[Sequence[int]] = None
                      ) -> dict[str, np.ndarray]:
        """Per-tag probabilities for M videos.

        ``X`` float32 [M, D]; ``exclude[i]`` a bank row that must not vote for video i
        (itself, for a library video), or -1. Returns float [M, T] ``knn``, ``classifier``
        and ``combined``, plus the neighbours as ``idx`` int [M, K] / ``sim`` float [M, K].
        """
        X = np.asarray(X, dtype=np.float32)
        idx, sim = nearest(X, self.X_, self.n_neighbours, exclude)
        w = np.clip(sim, 0, None) * (0.5 + self.engagement_[idx])  # [M, K]
        votes = np.empty((len(X), len(self.prior_)))
        for s in range(0, len(X), 512):  # bounded [512, K, T] gather
            votes[s:s + 512] = np.einsum("mk,mkt->mt", w[s:s + 512],
                                         self.Y_[idx[s:s + 512]].astype(np.float64))
        knn = (votes + self.prior_) / (w.sum(axis=1, keepdims=True) + 1.0)
        z = ((X.astype(np.float64) - self.x_mean_) / self.x_scale_) @ self.coef_ + self.intercept_
        clf = _sigmoid(z)
        combined = self.knn_weight * knn + (1 - self.knn_weight) * clf
        return {"knn": knn, "classifier": clf, "combined": combined, "idx": idx, "sim": sim}

    def rank_scores(self, p: np.ndarray) -> np.ndarray:
        """float [M, T] ranking score ``p · max(0, p - prior) / (1 - prior)``."""
        lift = np.clip(p - self.prior_, 0, None) / np.clip(1 - self.prior_, 1e-9, None)
        return p * lift

    def suggest(self, X: np.ndarray, k: int = 10, exclude: Optional[Sequence[int]] = None
                ) -> list[list[dict[str, Any]]]:
        """Top-``k`` tags for each of M videos (``X`` float32 [M, D]), best first.

        Each suggestion: ``tag`` (no '#'), ``score``, ``probability``, ``lift`` (p / library
        share), ``share``, ``generic``, ``similar_videos`` (neighbours that used it) and
        ``median_likes`` (of those neighbours; None when unknown).
        """
        P = self.probabilities(X, exclude)
        scores = self.rank_scores(P["combined"])
        out = []
        for i in range(len(scores)):
            order = np.lexsort((-P["combined"][i], -scores[i]))[:k]
            used = self.Y_[P["idx"][i]]  # [K, T]
            row = []
            for j in order:
                users = P["idx"][i][used[:, j]]
                lk = self.likes_[users]
                lk = lk[~np.isnan(lk)]
                row.append({
                    "tag": str(self.vocabulary_[j]),
                    "score": float(scores[i, j]),
                    "probability": float(P["combined"][i, j]),
                    "lift": float(P["combined"][i, j] / self.prior_[j]),
                    "share": float(self.prior_[j]),
                    "generic": bool(self.prior_[j] >= self.generic_share),
                    "similar_videos": int(len(users)),
                    "median_likes": float(np.median(lk)) if len(lk) else None,
                })
            out.append(row)
        return out

    # ------------------------------------------------------------ persistence
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Fitted state without the neighbour bank (re-attach it with :meth:`attach`)."""
        params = {k: getattr(self, k) for k in ("n_neighbours", "min_count", "max_tags",
                                                "knn_weight", "C", "generic_share",
                                                "max_fit_rows", "random_state")}
        return {"params": np.array(json.dumps(params)), "vocabulary": self.vocabulary_,
                "prior": self.prior_, "coef": self.coef_, "intercept": self.intercept_,
                "x_mean": self.x_mean_, "x_scale": self.x_scale_}

    @classmethod
    def from_arrays(cls, arrays: Any) -> "HashtagSuggester":
        self = cls(**json.loads(str(arrays["params"])))
        self.vocabulary_ = np.asarray(arrays["vocabulary"]).astype(str)
        for key in ("prior", "coef", "intercept", "x_mean", "x_scale"):
            setattr(self, f"{key}_", np.asarray(arrays[key]))
        return self


# --------------------------------------------------------------------------- helpers
def nearest(Q: np.ndarray, X: np.ndarray, k: int, exclude: Optional[Sequence[int]] = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine top-k of rows of ``Q`` [M, D] among rows of ``X`` [N, D] (both unit rows).

    Returns ``idx`` int [M, k'] and ``sim`` float32 [M, k'] most similar first,
    k' = min(k, N - 1 if exclude else N); ``exclude[i]`` (or -1) is never returned for row i.
    """
    from reelscope.core.analytics.vector_index import exact_top_k

    n = len(X)
    if exclude is None:
        return exact_top_k(Q, X, max(1, min(k, n)))
    k = max(1, min(k, n - 1))
    idx, sim = exact_top_k(Q, X, k + 1)
    drop = idx == np.asarray(exclude)[:, None]
    drop[~drop.any(axis=1), -1] = True  # not among the top k+1: drop the (k+1)-th instead
    keep = ~drop
    return idx[keep].reshape(len(Q), k), sim[keep].reshape(len(Q), k)


def fit_multilabel_logistic(X: np.ndarray, Y: np.ndarray, C: float = 1.0,
                            max_iter: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Independent L2 logistic regressions for T labels, optimised together by L-BFGS.

    Minimises ``Σ_t [ C · Σ_i log(1 + exp(-s_it z_it)) + ½‖w_t‖² ]`` with
    ``z = X W + b`` and ``s = 2Y - 1`` (scikit-learn's objective per label).
    ``X`` float64 [N, P], ``Y`` float64 {0,1} [N, T]; returns ``W`` [P, T], ``b`` [T].
    """
    from scipy.optimize import minimize

    n, p = X.shape
    t = Y.shape[1]
    if t == 0:
        return np.zeros((p, 0)), np.zeros(0)
    prior = np.clip(Y.mean(axis=0), 1e-3, 1 - 1e-3)
    scale = 1.0 / (C * n)  # the objective divided by C·N keeps gradients O(1)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W, b = theta[: p * t].reshape(p, t), theta[p * t:]
        Z = X @ W + b
        value = (np.logaddexp(0, Z) - Y * Z).sum() / n + 0.5 * scale * (W * W).sum()
        G = (_sigmoid(Z) - Y) / n
        grad = np.concatenate([(X.T @ G + scale * W).ravel(), G.sum(axis=0)])
        return float(value), grad

    theta0 = np.concatenate([np.zeros(p * t), np.log(prior / (1 - prior))])
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return res.x[: p * t].reshape(p, t), res.x[p * t:]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0, -z))


def _percentile_rank(x: np.ndarray) -> np.ndarray:
    """float [N] in [0, 1] (ties averaged); NaN -> 0.5."""
    from scipy.stats import rankdata

    out = np.full(len(x), 0.5)
    ok = ~np.isnan(x)
    if ok.sum() > 1:
        out[ok] = (rankdata(x[ok]) - 1) / (ok.sum() - 1)
    return out


# ------------------------------------------------------------------------ evaluation
def evaluate_hashtags(X: np.ndarray, tags: Sequence[Sequence[str]],
                      likes: Optional[Sequence[Optional[float]]] = None,
                      ks: Sequence[int] = (1, 3, 5, 10), test_size: float = 0.2,
                      random_state: int = 0, **params: Any) -> dict[str, Any]:
    """Precision@k and recall@k on held-out videos that have at least one tag.

    Methods: ``combined`` (the suggester), ``knn`` and ``classifier`` alone, and the
    ``frequency`` baseline (the library's most frequent tags for every video). Recall
    counts all of a video's tags, including those too rare to be in the vocabulary.
    """
    X = np.asarray(X, dtype=np.float32)
    norm = [{normalise_tag(t) for t in row if normalise_tag(t)} for row in tags]
    n = len(norm)
    rng = np.random.default_rng(random_state)
    order = rng.permutation(n)
    n_test = max(1, int(round(test_size * n)))
    test = np.sort([i for i in order[:n_test] if norm[i]]).astype(int)
    train = np.sort(order[n_test:])
    lk = None if likes is None else [likes[i] for i in train]
    model = HashtagSuggester(random_state=random_state, **params).fit(
        X[train], [norm[i] for i in train], lk)
    out: dict[str, Any] = {"n_train": int(len(train)), "n_test": int(len(test)),
                           "vocabulary": int(len(model.vocabulary_)), "methods": {}}
    if len(test) == 0 or len(model.vocabulary_) == 0:
        return out
    P = model.probabilities(X[test])
    kmax = max(ks)
    rankings = {name: np.argsort(-model.rank_scores(P[name]), axis=1, kind="stable")[:, :kmax]
                for name in ("combined", "knn", "classifier")}
    rankings["frequency"] = np.tile(np.argsort(-model.prior_, kind="stable")[:kmax],
                                    (len(test), 1))
    vocab = model.vocabulary_.tolist()
    truth = [norm[i] for i in test]
    for name, ranked in rankings.items():
        row: dict[str, float] = {}
        for k in ks:
            hits = np.array([len({vocab[j] for j in r[:k]} & t) for r, t in zip(ranked, truth)])
            row[f"precision@{k}"] = float(np.mean(hits / k))
            row[f"recall@{k}"] = float(np.mean(hits / np.array([len(t) for t in truth])))
        out["methods"][name] = row
    return out


def hashtag_table(tags: Sequence[Sequence[str]], likes: Sequence[Optional[float]],
                  top: int = 20, min_count: int = 2) -> list[dict[str, Any]]:
    """The library's most used tags with their engagement.

    Per tag: ``tag``, ``videos``, ``share``, ``median_likes`` and ``like_lift`` (median
    likes of videos with the tag over the library median; > 1 means above typical).
    """
    lk = np.array([np.nan if v is None else float(v) for v in likes])
    overall = float(np.nanmedian(lk)) if np.any(~np.isnan(lk)) else float("nan")
    users: dict[str, list[int]] = {}
    for i, row in enumerate(tags):
        for t in {normalise_tag(t) for t in row if normalise_tag(t)}:
            users.setdefault(t, []).append(i)
    rows = []
    for t, members in sorted(users.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if len(members) < min_count:
            continue
        vals = lk[members]
        vals = vals[~np.isnan(vals)]
        med = float(np.median(vals)) if len(vals) else None
        lift = med / overall if med is not None and overall > 0 else None
        rows.append({"tag": t, "videos": len(members), "share": len(members) / max(1, len(tags)),
                     "median_likes": med, "like_lift": lift})
        if len(rows) >= top:
            break
    return rows
