"""Hashtag suggestions on synthetic clusters with known tags and a frequent generic tag."""

from __future__ import annotations

import io

import numpy as np

from reelscope.core.analytics.hashtags import (
    HashtagSuggester,
    evaluate_hashtags,
    fit_multilabel_logistic,
    hashtag_table,
    nearest,
    normalise_tag,
)


def clustered(n: int = 800, n_clusters: int = 8, d: int = 16, seed: int = 0):
    """Each cluster has 3 own tags (used with p=0.7); #fyp is on 60 % of all videos at random."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, d))
    label = rng.integers(0, n_clusters, n)
    X = centres[label] + 0.6 * rng.normal(size=(n, d))
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    tags = []
    for c in label:
        row = [f"c{c}t{j}" for j in range(3) if rng.random() < 0.7]
        if rng.random() < 0.6:
            row.append("#FYP")
        if rng.random() < 0.05:
            row.append(f"rare{rng.integers(1000)}")
        tags.append(row)
    likes = rng.lognormal(6, 1, n)
    return X, tags, likes, label


def test_precision_well_above_frequency_baseline():
    X, tags, likes, _ = clustered()
    res = evaluate_hashtags(X, tags, likes, ks=(1, 3))
    m = res["methods"]
    assert m["combined"]["precision@3"] > m["frequency"]["precision@3"] + 0.3, m
    assert m["combined"]["precision@3"] > 0.55
    assert m["combined"]["recall@3"] > 0.6
    for name in ("knn", "classifier"):
        assert m[name]["precision@3"] > m["frequency"]["precision@3"] + 0.2


def test_generic_tag_not_top_just_because_frequent():
    X, tags, likes, label = clustered()
    model = HashtagSuggester().fit(X[:600], tags[:600], likes[:600])
    assert model.vocabulary_[0] == "fyp"  # the most frequent tag ...
    out = model.suggest(X[600:], k=3)
    top = [row[0]["tag"] for row in out]
    assert np.mean([t == "fyp" for t in top]) < 0.05  # ... is almost never suggested first
    own = np.mean([row[0]["tag"].startswith(f"c{c}t") for row, c in zip(out, label[600:])])
    assert own > 0.9
    s = out[0][0]
    assert s["similar_videos"] > 0 and s["median_likes"] > 0 and s["lift"] > 1
    fyp = [x for x in model.suggest(X[600:601], k=len(model.vocabulary_))[0] if x["tag"] == "fyp"]
    assert fyp[0]["generic"] and fyp[0]["share"] > 0.5


def test_roundtrip_and_self_exclusion():
    X, tags, likes, _ = clustered(n=300)
    model = HashtagSuggester(n_neighbours=5).fit(X, tags, likes)
    buf = io.BytesIO()
    np.savez(buf, **model.to_arrays())
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        again = HashtagSuggester.from_arrays(z).attach(X, tags, likes)
    a = model.probabilities(X[:10], exclude=np.arange(10))
    b = again.probabilities(X[:10], exclude=np.arange(10))
    np.testing.assert_allclose(a["combined"], b["combined"])
    assert not np.any(a["idx"] == np.arange(10)[:, None])


def test_nearest_is_exact():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 4)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    idx, sim = nearest(X[:7], X, 4, exclude=np.arange(7))
    ref = np.argsort(-(X[:7] @ X.T + np.where(np.eye(7, 50, dtype=bool), -9, 0)), axis=1)[:, :4]
    np.testing.assert_array_equal(idx, ref)
    assert np.all(np.diff(sim, axis=1) <= 0)


def test_multilabel_logistic_matches_sklearn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    Y = (X @ rng.normal(size=(3, 2)) + rng.normal(size=(200, 2)) > 0).astype(float)
    W, b = fit_multilabel_logistic(X, Y, C=0.5)
    for t in range(2):
        ref = LogisticRegression(C=0.5, tol=1e-10, max_iter=1000).fit(X, Y[:, t])
        np.testing.assert_allclose(W[:, t], ref.coef_[0], atol=1e-3)
        np.testing.assert_allclose(b[t], ref.intercept_[0], atol=1e-3)


def test_table_and_normalise():
    assert normalise_tag(" #FoodTok ") == "foodtok"
    rows = hashtag_table([["a", "b"], ["a"], ["#A"], ["b"]], [10, 20, 30, None], min_count=2)
    assert rows[0] == {"tag": "a", "videos": 3, "share": 0.75, "median_likes": 20.0,
                       "like_lift": 1.0}
    assert rows[1]["tag"] == "b" and rows[1]["median_likes"] == 10.0
