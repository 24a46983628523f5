"""Evaluation metrics with hand-computed answers, and label sources."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reelscope.core.analytics.evaluate import label_values, linear_probe, read_labels_file, retrieval_metrics
from reelscope.core.store.models import Author, Sound, Video


def unit(*rows):
    x = np.array(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_retrieval_perfect_and_random_baseline():
    X = unit([1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9])
    res = retrieval_metrics(X, ["a", "a", "b", "b"], ks=(1, 2))
    assert res["recall@1"] == 1.0 and res["map"] == 1.0
    assert res["random_map"] == pytest.approx(1 / 3)
    assert res["queries"] == 4


def test_retrieval_hand_computed_average_precision():
    X = unit([1, 0], [0.95, 0.05], [0.9, 0.2], [0.5, 0.5], [0, 1])
    # rankings (self left out): 0 -> 1 2 3 4;  3 -> 2 1 0 4;  4 -> 3 2 1 0
    res = retrieval_metrics(X, ["g", "x", "y", "g", "g"], ks=(1, 3, 4))
    assert res["queries"] == 3  # videos 0, 3, 4 share "g"
    assert res["recall@1"] == pytest.approx((0 + 0 + 1 / 2) / 3)
    assert res["recall@3"] == pytest.approx(1 / 2)
    assert res["recall@4"] == 1.0
    # AP: relevant at ranks 3, 4 -> (1/3 + 2/4) / 2 twice; ranks 1, 4 -> (1 + 2/4) / 2
    assert res["map"] == pytest.approx((5 / 12 + 5 / 12 + 3 / 4) / 3)
    assert res["random_map"] == pytest.approx(2 / 4)
    assert retrieval_metrics(X, ["a", "b", "c", "d", None]) is None


def test_linear_probe_separable_vs_random_labels():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 8)) * 3
    y = rng.integers(0, 3, 150)
    X = (centres[y] + rng.normal(size=(150, 8))).astype(np.float32)
    labels = [f"c{v}" for v in y]
    good = linear_probe(X, labels)
    assert good["accuracy"] > 0.95 and good["classes"] == 3 and good["folds"] == 5
    shuffled = linear_probe(X, list(rng.permutation(labels)))
    assert shuffled["accuracy"] < 0.55
    # unlabelled videos and singleton classes are left out; one class is not a probe
    few = linear_probe(X[:4], ["a", "a", "b", None])
    assert few is None
    assert linear_probe(X[:6], ["a", "a", "b", "b", "c", None])["videos"] == 4


def test_labels_from_metadata_columns_and_files(tmp_path):
    videos = [
        Video("1", "p1", "ok", author=Author("a1"), sound=Sound("s9"), hashtags=("fyp",),
              extra={"category": "dance"}),
        Video("2", "p2", "ok"),
    ]
    assert label_values(videos, "author") == ["a1", None]
    assert label_values(videos, "sound") == ["s9", None]
    assert label_values(videos, "category") == ["dance", None]
    assert label_values(videos, "first_hashtag") == ["fyp", None]
    assert label_values(videos, "author", {"2": "x"}) == [None, "x"]

    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"1": "dance", "2": 3}))
    assert read_labels_file(flat) == {"1": "dance", "2": "3"}
    truth = tmp_path / "ground_truth.json"
    truth.write_text(json.dumps({"format": "x", "videos": {
        "1": {"category": "dance", "author_id": "a1"}, "2": {"category": "nature"}}}))
    assert read_labels_file(truth) == {"1": "dance", "2": "nature"}
    assert read_labels_file(truth, "author_id") == {"1": "a1"}
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError):
        read_labels_file(bad)
