"""Hashtag suggestions on synthetic clusters with known tags and a frequent generic tag."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

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
    # lifts below the prior have their own weight ("less than usual" may say less)
    np.testing.assert_allclose(blend(members, avail, {"prior": 1.0, "knn": 1.0, "knn_down": 0.0})[0],
                               [0.9, 0.5])


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


def test_a_bank_of_rows_in_place_is_the_bank_of_their_copy():
    """fit/attach with ``rows`` (the bank searched inside the caller's array, issue 16)
    learn and suggest what they do on a copy of those rows (the same neighbours and tags;
    numbers equal to float32 rounding: the rows' scores come from a product of every row)."""
    X, tags, likes, _ = clustered(n=400)
    rng = np.random.default_rng(3)
    rows = np.sort(rng.choice(400, 300, replace=False))
    authors = [f"a{i % 23}" for i in rows]
    captions = [f"clip number {i % 5} of cluster" for i in rows]
    pick = [tags[i] for i in rows], [likes[i] for i in rows], authors, captions
    copy = HashtagSuggester(n_neighbours=5).fit(X[rows], *pick)
    view = HashtagSuggester(n_neighbours=5).fit(X, *pick, rows=rows)
    assert view.X_ is X and copy.weights_ == pytest.approx(view.weights_, rel=1e-6, abs=1e-9)
    for key, value in copy.to_arrays().items():
        if value.dtype.kind == "f":
            np.testing.assert_allclose(value, view.to_arrays()[key], rtol=1e-6, atol=1e-9, err_msg=key)
    q, mine = X[rows[:20]], np.arange(20)
    a = copy.probabilities(q, exclude=mine, authors=authors[:20], captions=captions[:20])
    b = view.probabilities(q, exclude=mine, authors=authors[:20], captions=captions[:20])
    np.testing.assert_array_equal(a["idx"], b["idx"])
    np.testing.assert_allclose(a["combined"], b["combined"], rtol=1e-6, atol=1e-9)
    tags_of = lambda m: [[t["tag"] for t in row] for row in m.suggest(q[:3], k=5)]  # noqa: E731
    assert tags_of(copy) == tags_of(view)


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


def sounded(n: int = 600, n_sounds: int = 20, seed: int = 4):
    """Random embeddings (content says nothing); half the videos use one of ``n_sounds``
    shared sounds, each with its own challenge tag (p=0.7), the rest a sound of their
    own; #fyp at 50 %, a random topic tag t<k> (of 4) on every video."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    shared = rng.random(n) < 0.5
    sound = np.where(shared, rng.integers(0, n_sounds, n), n_sounds + np.arange(n))
    tags = []
    for s, sh in zip(sound, shared):
        row = [f"t{rng.integers(4)}"]
        row += [f"snd{s}"] if sh and rng.random() < 0.7 else []
        row += ["fyp"] if rng.random() < 0.5 else []
        tags.append(row)
    return X, tags, sound, shared


def test_sound_member_suggests_the_tag_of_the_shared_sound():
    X, tags, sound, shared = sounded()
    model = HashtagSuggester().fit(X[:500], tags[:500], sounds=sound[:500].astype(float))
    assert model.weights_["sound"] > 0.3, model.weights_
    assert model.cv_["blend"]["precision@3"] > model.cv_["frequency"]["precision@3"] + 0.05, model.cv_
    test = np.arange(500, 600)
    P = model.probabilities(X[test], sounds=sound[test])
    assert np.array_equal(P["available"]["sound"], shared[test])  # a sound of one's own: no evidence
    out = model.suggest(X[test], k=2, sounds=sound[test])
    top = [{x["tag"] for x in row} for row in out]
    on_shared = [f"snd{s}" in t for t, s, sh in zip(top, sound[test], shared[test]) if sh]
    assert np.mean(on_shared) > 0.85  # beside #fyp (50 %) where the group used it less
    s = next(row[0] for row, sh in zip(out, shared[test]) if sh)
    assert s["sound_videos"] >= 5  # the group's videos that used it
    assert all(row[0]["sound_videos"] is None for row, sh in zip(out, shared[test]) if not sh)
    blind = model.suggest(X[test], k=2)  # sound unknown: no challenge tag comes up
    assert not any(x["tag"].startswith("snd") for row in blind for x in row)
    # a library video (its bank row excluded) has its own sound: the others' tags, not its own
    own = model.probabilities(X[:50], exclude=np.arange(50))
    assert np.array_equal(own["available"]["sound"], shared[:50])
    alone = model.probabilities(X[:50], exclude=np.arange(50), sounds=[None] * 50)
    assert not alone["available"]["sound"].any()


def test_stored_suggester_from_before_the_sound_member_still_loads():
    """A file whose blend has one weight per member and none for sound: loaded with sound
    groups attached, it blends as it did (each lift times its one weight; sound left out)."""
    X, tags, sound, _ = sounded(n=300)
    model = HashtagSuggester(n_neighbours=5).fit(X, tags)
    arrays = model.to_arrays()
    weights = {k: v for k, v in json.loads(str(arrays["weights"])).items()
               if k != "sound" and not k.endswith("_down")}
    arrays["weights"] = np.array(json.dumps(weights))
    with np.load(_npz(arrays), allow_pickle=False) as z:
        again = HashtagSuggester.from_arrays(z).attach(X, tags, sounds=sound)
    P = again.probabilities(X[:20], sounds=sound[:20])
    assert P["available"]["sound"].any()
    base = np.log(P["prior"] / (1 - P["prior"]))
    ref = weights["intercept"] + weights["prior"] * base
    for name in ("knn", "classifier", "caption", "author"):
        p = np.clip(P[name], 1e-4, 1 - 1e-4)
        ref = ref + weights[name] * P["available"][name][:, None] * (np.log(p / (1 - p)) - base)
    np.testing.assert_allclose(P["combined"], 1 / (1 + np.exp(-ref)), rtol=1e-6)


def _npz(arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    return buf


def test_a_draft_finds_the_sound_group_of_its_song():
    """Library: 3 songs x 4 reposts and 2 speech posts, grouped as analyze groups them;
    a new repost of song 1 gets song 1's group, a new speech post none."""
    from reelscope.core.analytics.predict import draft_sound_groups
    from reelscope.core.analytics.sound_match import cluster_matches, match_prints
    from reelscope.core.ingest.media.soundprint import SAMPLE_RATE, sound_print
    from reelscope.demo.audio import make_recipe, render_music, render_speech

    rng = np.random.default_rng(5)

    def song(recipe, speed=1.0, semitones=0.0):
        n = int(rng.uniform(5, 7) * SAMPLE_RATE)
        x = render_music(recipe, n, SAMPLE_RATE, speed, 2 ** (semitones / 12), float(rng.uniform(0, recipe.loop_s)))
        x = x + 0.03 * rng.standard_normal(n) * np.abs(x).max()
        return sound_print((0.1 * x / np.abs(x).max()).astype(np.float32))

    def speech():
        v = render_speech(rng, int(6 * SAMPLE_RATE), SAMPLE_RATE)
        return sound_print((0.1 * v / np.abs(v).max()).astype(np.float32))

    recipes = [make_recipe(rng, 200 + k) for k in range(3)]
    prints = [song(r, *e) for r in recipes for e in ((1.0, 0.0), (1.08, 1.3), (1.0, -2.0), (0.95, 0.0))]
    prints += [speech(), speech(), None]  # None: a video whose file could not be read
    labels, threshold, _ = cluster_matches(match_prints([p for p in prints if p is not None]))
    labels = list(labels) + [None]
    groups = draft_sound_groups([song(recipes[1], 1.05, 0.8), speech(), None], prints, labels, threshold)
    assert groups[0] == labels[4] and labels[4] == labels[7] != labels[0]
    assert groups[1] is None and groups[2] is None


def test_large_libraries_bound_the_cross_validation_banks_and_the_evaluation(monkeypatch):
    """At scale each cross-validation fold refits its bank from a sample of CV_BANK_ROWS
    videos and the held-out evaluation scores at most MAX_HELD_OUT drafts, in batches, on
    X[rows] without a copy of X: memory bounded at 300,000 videos (issue 16), quality kept."""
    import reelscope.core.analytics.hashtags as hashtags

    X, tags, likes, _ = clustered(n=1200)
    banks: list[int] = []
    real = hashtags.HashtagSuggester._fit_core

    padded = np.vstack([np.zeros((7, X.shape[1]), np.float32), X])  # rows index past them
    in_place: list[bool] = []

    def spy(self, X, *args, **kwargs):
        out = real(self, X, *args, **kwargs)
        banks.append(len(self.Y_))
        in_place.append(self.X_ is padded)  # each bank searches the caller's array, no copy
        return out

    monkeypatch.setattr(hashtags.HashtagSuggester, "_fit_core", spy)
    monkeypatch.setattr(hashtags, "CV_BANK_ROWS", 400)
    monkeypatch.setattr(hashtags, "MAX_HELD_OUT", 100)
    res = evaluate_hashtags(padded, tags, likes, ks=(3,), rows=np.arange(7, 7 + len(X)))
    assert res["n_test"] <= 100 and res["n_train"] == 960
    assert banks[0] == 960 and banks[1:] and max(banks[1:]) == 400
    assert all(in_place)
    m = res["methods"]
    assert m["combined"]["precision@3"] > m["frequency"]["precision@3"] + 0.2, m
