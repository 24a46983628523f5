"""Hashtag suggestions on synthetic clusters with known tags and a frequent generic tag."""

from __future__ import annotations

import io
import json

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


def test_generic_tag_flagged_from_data_with_evidence():
    X, tags, likes, label = clustered()
    model = HashtagSuggester().fit(X[:600], tags[:600], likes[:600])
    assert model.vocabulary_[0] == "fyp"  # the most frequent tag ...
    assert [g["tag"] for g in model.generic_tags()] == ["fyp"]  # ... the only generic one
    fyp = model.generic_tags()[0]
    assert 0.4 < fyp["content_auc"] < 0.65 and fyp["share"] > 0.5
    assert fyp["median_likes_with"] > 0 and fyp["median_likes_without"] > 0
    out = model.suggest(X[600:], k=3)
    own = np.mean([row[0]["tag"].startswith(f"c{c}t") for row, c in zip(out, label[600:])])
    assert own > 0.9  # a cluster's tags (p=0.7) rank above #fyp (p=0.6)
    s = out[0][0]
    assert s["similar_videos"] > 0 and s["median_likes"] > 0 and s["lift"] > 1 and not s["generic"]


def authored(n: int = 600, seed: int = 1):
    """Random embeddings (content says nothing); 30 authors, each with an own tag on 70 %
    of their videos; caption words 'w<k>' that give away tag 'k<k>' (p=0.8); #fyp at 50 %."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    author = rng.integers(0, 30, n)
    topic = rng.integers(0, 6, n)
    tags, captions = [], []
    for a, k in zip(author, topic):
        row = [f"own{a}"] if rng.random() < 0.7 else []
        row += [f"k{k}"] if rng.random() < 0.8 else []
        row += ["fyp"] if rng.random() < 0.5 else []
        tags.append(row or ["fyp"])
        captions.append(f"look at this w{k} thing #k{k} #fyp")
    return X, tags, [f"a{a}" for a in author], captions, author, topic


def test_blend_uses_author_and_caption_when_content_says_nothing():
    X, tags, authors, captions, author, topic = authored()
    model = HashtagSuggester().fit(X[:500], tags[:500], None, authors[:500], captions[:500])
    assert model.weights_["author"] > 0.2 and model.weights_["caption"] > 0.2, model.weights_
    cv = model.cv_
    assert cv["blend"]["precision@3"] > cv["frequency"]["precision@3"] + 0.2, cv
    assert cv["blend"]["precision@3"] > cv["knn"]["precision@3"] + 0.2, cv
    out = model.suggest(X[500:], k=2, authors=authors[500:], captions=[c.split("#")[0] for c in captions[500:]])
    got = [{s["tag"] for s in row} for row in out]
    assert np.mean([f"own{a}" in g and f"k{k}" in g for g, a, k in zip(got, author[500:], topic[500:])]) > 0.7
    bare = model.suggest(X[500:], k=2)  # without author and caption: the library's frequent tags
    assert all(row[0]["tag"] == "fyp" for row in bare)
    res = evaluate_hashtags(X, tags, authors=authors, captions=captions, ks=(3,))
    m = res["methods"]
    assert m["combined"]["precision@3"] > m["frequency"]["precision@3"] + 0.2, m


def test_chosen_tags_pull_their_companions():
    """Tags come in pairs (a<k> with b<k>): given a<k>, co-occurrence ranks b<k> first."""
    rng = np.random.default_rng(2)
    n = 400
    X = rng.normal(size=(n, 8))
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    pair = rng.integers(0, 8, n)
    tags = [[f"a{k}", f"b{k}"] + (["fyp"] if rng.random() < 0.5 else []) for k in pair]
    model = HashtagSuggester().fit(X, tags)
    assert model.given_weights_ is not None and model.given_weights_["cooccurrence"] > 0
    out = model.suggest(X[:50], k=3, given=[[f"a{k}"] for k in pair[:50]])
    assert np.mean([row[0]["tag"] == f"b{k}" for row, k in zip(out, pair[:50])]) > 0.9


def test_blend_weights_are_stacked_logits():
    members = {"prior": np.full((2, 2), 0.5), "knn": np.array([[0.9, 0.1], [0.5, 0.5]])}
    avail = {"knn": np.array([True, False])}
    from reelscope.core.analytics.hashtags import blend

    b = blend(members, avail, {"prior": 1.0, "intercept": 0.0, "knn": 1.0})
    np.testing.assert_allclose(b[0], [0.9, 0.1])
    np.testing.assert_allclose(b[1], [0.5, 0.5])  # knn unavailable: the prior
    np.testing.assert_allclose(blend(members, avail, {"prior": 1.0, "knn": 0.0})[0], [0.5, 0.5])


def test_pseudo_counts_follow_group_differences():
    from reelscope.core.analytics.hashtags import _pseudo_counts

    rng = np.random.default_rng(0)
    n = np.full(40, 10.0)
    chance = rng.binomial(10, 0.5, 40).astype(float)  # groups differ by chance only
    own = np.where(np.arange(40) < 20, 9.0, 0.0)  # half the groups use it, half never
    a = _pseudo_counts(np.stack([chance, own], axis=1), n, 0.5)
    assert a[0] > 20 and a[1] < 2  # chance: pulled well past its 10 videos to the share


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
    assert again.weights_ == model.weights_ and np.array_equal(again.generic_, model.generic_)


def test_old_stored_suggester_still_loads():
    """A file written before the blend (no weights): the mean of neighbour vote and classifier."""
    X, tags, likes, _ = clustered(n=300)
    model = HashtagSuggester(n_neighbours=5, cv_folds=0).fit(X, tags, likes)
    arrays = model.to_arrays()
    params = json.loads(str(arrays["params"]))
    for key in ("smoothing", "generic_auc", "cv_folds", "cv_rows"):
        params.pop(key)
    old = {"params": np.array(json.dumps(params)),
           **{k: arrays[k] for k in ("vocabulary", "prior", "coef", "intercept", "x_mean", "x_scale")}}
    again = HashtagSuggester.from_arrays(old).attach(X, tags, likes)
    P = again.probabilities(X[:5])
    np.testing.assert_allclose(P["combined"], 0.5 * P["knn"] + 0.5 * P["classifier"])
    assert again.suggest(X[:1], k=3)[0][0]["tag"]


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
