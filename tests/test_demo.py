"""The demo library generator: real files, TikTok metadata, honest ground truth, and
structure that colour statistics cannot solve."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest

from reelscope.demo.generator import BAD_KINDS, DemoLibrary, DemoSpec, generate_demo
from reelscope.core.progress import CancelToken, Cancelled

# Sixty short videos: enough for the colour test, small enough for a few seconds.
SPEC = DemoSpec(videos=60, seed=11, min_s=2.0, max_s=2.5)
TINY = DemoSpec(videos=6, seed=7, min_s=1.0, max_s=1.0)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoLibrary:
    return generate_demo(tmp_path_factory.mktemp("demo"), SPEC, workers=2)


@pytest.fixture(scope="module")
def truth(demo) -> dict:
    return json.loads(demo.ground_truth_path.read_text())


def _frames(path: Path, count: int = 8) -> np.ndarray:
    """uint8 [count, H/4, W/4, 3]: evenly spaced decoded frames, subsampled."""
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24")[::4, ::4] for f in c.decode(video=0)]
    idx = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return np.stack([frames[i] for i in idx])


def test_files_decode_at_declared_size_and_duration(demo, truth):
    items = {m["id"]: m for m in json.loads(demo.metadata_path.read_text())}
    assert len(truth["videos"]) == SPEC.videos
    for vid, gt in truth["videos"].items():
        path = demo.folder / gt["file"]
        assert path == demo.videos_dir / f"{vid}.mp4"
        with av.open(str(path)) as c:
            v = c.streams.video[0]
            assert (v.codec_context.name, v.width, v.height) == ("h264", SPEC.width, SPEC.height)
            assert bool(c.streams.audio) == gt["has_audio"]
            decoded = sum(1 for _ in c.decode(video=0))
        assert decoded == gt["frames"]
        assert gt["duration_s"] == pytest.approx(decoded / SPEC.fps)
        assert abs(items[vid]["video"]["duration"] - gt["duration_s"]) <= 0.5
    assert sum(not g["has_audio"] for g in truth["videos"].values()) >= 1


def test_metadata_is_tiktokapi_items(demo, truth):
    items = json.loads(demo.metadata_path.read_text())
    assert isinstance(items, list) and len(items) == SPEC.videos + len(BAD_KINDS)
    for it in items:
        assert len(it["id"]) == 19 and it["id"].isdigit()
        assert isinstance(it["createTime"], int)
        assert {"duration", "width", "height"} <= it["video"].keys()
        assert {"id", "uniqueId", "nickname"} <= it["author"].keys()
        assert {"followerCount", "followingCount", "heartCount", "videoCount",
                "diggCount"} <= it["authorStats"].keys()
        assert {"id", "title", "authorName", "original"} <= it["music"].keys()
        assert {"diggCount", "shareCount", "commentCount", "playCount"} <= it["stats"].keys()
        tags = [e["hashtagName"] for e in it["textExtra"]]
        assert tags == [c["title"] for c in it["challenges"]] and tags
        for e in it["textExtra"]:  # offsets point at the "#tag" in the description
            assert it["desc"][e["start"]:e["end"]] == "#" + e["hashtagName"]
        assert it["stats"]["playCount"] >= it["stats"]["diggCount"]
    generic = sum("fyp" in [e["hashtagName"] for e in it["textExtra"]] for it in items)
    assert generic > len(items) / 4  # #fyp rides on every kind of content


def test_metadata_reads_with_the_importer(demo):
    metadata = pytest.importorskip("reelscope.core.ingest.metadata")
    result = metadata.read_metadata(demo.metadata_path)
    assert result.format == "tiktokapi" and not result.problems
    assert len(result.records) == SPEC.videos + len(BAD_KINDS)


def test_bad_files_fail_the_way_ground_truth_says(demo, truth):
    kinds = {b["kind"]: demo.folder / b["path"] for b in truth["bad_files"]}
    assert set(kinds) == set(BAD_KINDS) and sorted(demo.bad_files) == sorted(kinds.values())
    assert kinds["empty"].stat().st_size == 0
    assert not kinds["missing"].exists()
    with pytest.raises(av.error.FFmpegError):
        av.open(str(kinds["not_media"]))
    with pytest.raises(av.error.FFmpegError):
        with av.open(str(kinds["truncated"])) as c:
            for _ in c.decode(video=0):
                pass
    with av.open(str(kinds["audio_only"])) as c:
        assert not c.streams.video and len(c.streams.audio) == 1
    ids = {m["id"] for m in json.loads(demo.metadata_path.read_text())}
    assert {b["id"] for b in truth["bad_files"]} <= ids
    assert not set(truth["videos"]) & {b["id"] for b in truth["bad_files"]}


def _loo_nearest_centroid(features: np.ndarray, labels: np.ndarray) -> float:
    """Leave-one-out accuracy of a nearest-centroid classifier."""
    classes = sorted(set(labels))
    hits = 0
    for i in range(len(labels)):
        rest = np.arange(len(labels)) != i
        centroids = np.stack([features[rest & (labels == c)].mean(axis=0) for c in classes])
        hits += classes[int(np.argmin(((centroids - features[i]) ** 2).sum(axis=1)))] == labels[i]
    return hits / len(labels)


def _structure_features(frames: np.ndarray) -> np.ndarray:
    """Colour-blind features: gradient orientation per region, motion energy per region."""
    g = frames.astype(np.float32).mean(-1)  # [T, h, w]
    gy, gx = np.gradient(g, axis=(1, 2))
    mag, ang = np.hypot(gx, gy), np.arctan2(gy, gx) % np.pi
    bins = (ang / np.pi * 6).astype(int).clip(0, 5)
    h, w = g.shape[1] // 4 * 4, g.shape[2] // 2 * 2
    rows, cols = np.arange(h) * 4 // h, np.arange(w) * 2 // w
    cell = (rows[:, None] * 2 + cols[None, :])[None].repeat(len(g), 0)
    hog = np.bincount((cell * 6 + bins[:, :h, :w]).ravel(), weights=mag[:, :h, :w].ravel(), minlength=48)
    motion = np.abs(np.diff(g, axis=0)).mean(0)[:h, :w]
    motion = np.bincount(cell[0].ravel(), weights=motion.ravel(), minlength=8) / (mag.mean() + 1e-3)
    return np.concatenate([hog / (hog.sum() + 1e-6), motion])


def test_categories_not_separable_by_colour_but_by_structure(demo, truth):
    vids = [v for v, g in truth["videos"].items() if not g["is_atypical"]]
    labels = np.array([truth["videos"][v]["category"] for v in vids])
    assert len(set(labels)) >= 5
    clips = [_frames(demo.videos_dir / f"{v}.mp4") for v in vids]
    hists = []
    for f in clips:
        q = f.astype(int) // 64
        h = np.bincount((q[..., 0] * 16 + q[..., 1] * 4 + q[..., 2]).ravel(), minlength=64)
        hists.append(h / h.sum())
    colour = _loo_nearest_centroid(np.array(hists), labels)
    s = np.array([_structure_features(f) for f in clips])
    structure = _loo_nearest_centroid((s - s.mean(0)) / (s.std(0) + 1e-6), labels)
    chance = 1 / len(set(labels))
    assert colour < chance + 0.18, f"colour histograms predict the category: {colour:.2f}"
    assert structure > colour + 0.2, f"structure {structure:.2f} vs colour {colour:.2f}"


def test_sounds_reused_and_mislabelled_reuse_recorded(demo, truth):
    videos = truth["videos"].values()
    uses = Counter(g["true_sound_id"] for g in videos if g["audio_kind"] == "trending")
    assert uses and max(uses.values()) >= 3 and set(uses) <= set(truth["sounds"])
    music = {m["id"]: m["music"] for m in json.loads(demo.metadata_path.read_text())}
    marked = [(v, g) for v, g in truth["videos"].items() if g["uses_reused_sound_marked_original"]]
    assert marked
    for vid, g in marked:
        assert music[vid]["original"] is True and music[vid]["id"] == g["metadata_sound_id"]
        assert g["true_sound_id"] in truth["sounds"] and g["true_sound_id"] != g["metadata_sound_id"]
    for vid, g in truth["videos"].items():
        if g["audio_kind"] == "original":
            assert g["true_sound_id"] == f"original-{vid}" and music[vid]["original"] is True
        if g["audio_kind"] == "none":
            assert g["true_sound_id"] is None
    assert sum(g["is_atypical"] for g in videos) >= 1


def test_likes_follow_the_documented_formula(demo, truth):
    model = truth["likes_model"]
    items = {m["id"]: m for m in json.loads(demo.metadata_path.read_text())}
    log_likes, log_followers = [], []
    for vid, g in truth["videos"].items():
        lk, c = g["likes"], g["likes"]["components"]
        followers = items[vid]["authorStats"]["followerCount"]
        assert c["followers"] == pytest.approx(model["log_followers"] * math.log(followers), abs=1e-5)
        assert c["category"] == model["category"][g["category"]]
        assert c["originality"] == pytest.approx(model["originality"] * lk["originality"], abs=1e-5)
        assert sum(c.values()) == pytest.approx(lk["expected_log_likes"], abs=1e-4)
        assert lk["log_likes"] == pytest.approx(lk["expected_log_likes"] + lk["noise"], abs=1e-5)
        assert items[vid]["stats"]["diggCount"] == lk["likes"] == round(math.exp(lk["log_likes"]))
        log_likes.append(math.log1p(lk["likes"]))
        log_followers.append(math.log(followers))
    assert np.corrcoef(log_likes, log_followers)[0, 1] > 0.7
    assert model["originality"] < 0


def test_same_seed_same_library(tmp_path):
    a = generate_demo(tmp_path / "a", TINY)
    b = generate_demo(tmp_path / "b", TINY)
    assert a.metadata_path.read_bytes() == b.metadata_path.read_bytes()
    assert a.ground_truth_path.read_bytes() == b.ground_truth_path.read_bytes()
    names = sorted(p.name for p in a.videos_dir.iterdir())
    assert names == sorted(p.name for p in b.videos_dir.iterdir())
    for name in names:  # the same bytes, not just the same pictures
        assert (a.videos_dir / name).read_bytes() == (b.videos_dir / name).read_bytes(), name
    other = generate_demo(tmp_path / "c", DemoSpec(videos=6, seed=8, min_s=1.0, max_s=1.0))
    assert other.metadata_path.read_bytes() != a.metadata_path.read_bytes()


def test_rerun_skips_complete_files_and_resumes(demo):
    before = {p: p.stat().st_mtime_ns for p in demo.videos_dir.iterdir()}
    meta = demo.metadata_path.read_bytes()
    events = []
    again = generate_demo(demo.folder, SPEC, progress=events.append)
    assert events[0].done == events[0].total  # nothing was left to make: every file skipped
    assert {p: p.stat().st_mtime_ns for p in demo.videos_dir.iterdir()} == before
    assert again.metadata_path.read_bytes() == meta
    assert events and events[-1].done == events[-1].total

    # A killed run leaves a hidden partial file and misses the rest: both are put right.
    victim = sorted(p for p in demo.videos_dir.glob("*.mp4") if p.stat().st_size > 10_000)[0]
    victim.unlink()
    (demo.videos_dir / f".{victim.name}.999.partial").write_bytes(b"half")
    events.clear()
    generate_demo(demo.folder, SPEC, progress=events.append)
    assert victim.exists() and not list(demo.videos_dir.glob(".*.partial"))
    assert events[0].done == events[0].total - 1
    assert demo.metadata_path.read_bytes() == meta


def test_other_spec_in_same_folder_is_refused(demo):
    with pytest.raises(ValueError, match="different|not"):
        generate_demo(demo.folder, DemoSpec(videos=60, seed=12, min_s=2.0, max_s=2.5))


def test_cancel_stops_and_a_rerun_finishes(tmp_path):
    spec = DemoSpec(videos=24, seed=3, min_s=1.0, max_s=1.0)
    token = CancelToken()
    seen = []

    def progress(event):
        seen.append(event.done)
        if event.done >= 2:
            token.cancel()

    with pytest.raises(Cancelled):
        generate_demo(tmp_path, spec, progress=progress, cancel=token, workers=2)
    made = list((tmp_path / "videos").glob("*.mp4"))
    assert len(made) < spec.videos and not (tmp_path / "metadata.json").exists()
    demo = generate_demo(tmp_path, spec, workers=2)
    truth = json.loads(demo.ground_truth_path.read_text())
    assert all((tmp_path / g["file"]).exists() for g in truth["videos"].values())
