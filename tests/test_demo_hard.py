"""The hard demo (``DemoSpec(hard=True)``, ``reelscope demo --hard``): the same world with
harder pictures and sounds, deterministic, and the plain demo left exactly as it was."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from reelscope.demo.audio import render_audio
from reelscope.demo.generator import DemoSpec, generate_demo
from reelscope.demo.video import render_frames
from reelscope.demo.world import World, spec_record

SPEC = DemoSpec(videos=120, seed=5)
HARD = replace(SPEC, hard=True)


@pytest.fixture(scope="module")
def worlds() -> tuple[World, World]:
    return World(SPEC), World(HARD)


def test_same_world_only_the_media_get_harder(worlds):
    plain, hard = worlds
    for p, h in zip(plain.posts, hard.posts):
        # Who posted what, on which sound, with which likes and tags, is the same world.
        assert (p["id"], p["category"], p["kind"], p["likes"], p["hashtags"]) == \
               (h["id"], h["category"], h["kind"], h["likes"], h["hashtags"])
        assert p["visual"].seed == h["visual"].seed and p["visual"].captions == h["visual"].captions
        assert not p["visual"].stickers and p["audio"].band_hz is None and p["audio"].reverb_s == 0
        assert p["visual"].look.hue_drift_deg == 0


def test_reposts_pitched_and_tempo_shifted_independently_under_voice_and_noise(worlds):
    plain, hard = worlds
    reposts = [h["audio"] for h in hard.posts if h["kind"] == "trending"]
    assert len(reposts) > 40
    for a in reposts:
        assert 1.0 <= abs(a.pitch_semitones) <= 3.0
        assert 0.03 <= abs(a.speed - 1) <= 0.10
        assert a.snr_db <= 15 and a.reverb_s >= 0.3 and 0 < a.reverb_mix < 1
        low, high = a.band_hz
        assert 150 <= low <= 500 and 2500 <= high <= 5000
    # Independent: pitch does not follow tempo (the plain demo's "sped up" edit ties them).
    pitch = np.array([a.pitch_semitones for a in reposts])
    tempo = np.array([12 * np.log2(a.speed) for a in reposts])
    assert not np.allclose(pitch, tempo, atol=0.05)
    assert abs(np.corrcoef(pitch, tempo)[0, 1]) < 0.5
    # Voice-over more often and louder than in the plain demo.
    plain_reposts = [p["audio"] for p in plain.posts if p["kind"] == "trending"]
    share = np.mean([a.voiceover_db is not None for a in reposts])
    assert share > 0.7 > np.mean([a.voiceover_db is not None for a in plain_reposts])
    assert min(a.voiceover_db for a in reposts if a.voiceover_db is not None) >= -3
    originals = [h["audio"] for h in hard.posts if h["kind"] == "original"]
    assert originals and all(a.snr_db <= 15 and a.band_hz is not None for a in originals)


def test_pictures_graded_harder_with_stickers(worlds):
    plain, hard = worlds
    looks = [h["visual"].look for h in hard.posts]
    assert all(2 <= len(h["visual"].stickers) <= 5 for h in hard.posts)
    assert all(lk.zoom >= 1.1 and lk.noise_sd >= 3 for lk in looks)
    assert np.mean([abs(lk.hue_drift_deg) for lk in looks]) > 30
    def spread(ls, f):
        return float(np.std([getattr(lk, f) for lk in ls]))

    plain_looks = [p["visual"].look for p in plain.posts]
    for field in ("saturation", "contrast", "brightness"):
        assert spread(looks, field) > 1.3 * spread(plain_looks, field), field
    assert np.mean([lk.filter != "none" for lk in looks]) > np.mean([lk.filter != "none" for lk in plain_looks])


def test_hard_plans_render_deterministically_and_differ_from_plain(worlds):
    plain, hard = worlds
    post = next(h for h in hard.posts if h["kind"] == "trending")
    short = replace(post["visual"], frames=6)
    a, b = np.stack(list(render_frames(short))), np.stack(list(render_frames(short)))
    assert np.array_equal(a, b)
    base = next(p for p in plain.posts if p["id"] == post["id"])
    assert not np.array_equal(a, np.stack(list(render_frames(replace(base["visual"], frames=6)))))
    x, y = render_audio(post["audio"], 1.0), render_audio(post["audio"], 1.0)
    assert np.array_equal(x, y) and np.isfinite(x).all() and np.abs(x).max() <= 1
    # The band limit leaves little energy below its high-pass corner.
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / 16000)
    assert spec[f < post["audio"].band_hz[0] / 2].sum() < 0.05 * spec.sum()


def test_ground_truth_records_the_flag_and_a_plain_record_is_unchanged(worlds):
    plain, hard = worlds
    assert "hard" not in spec_record(SPEC) and spec_record(HARD)["hard"] is True
    assert "hard" not in plain.ground_truth()["spec"]
    truth = hard.ground_truth()
    assert truth["spec"]["hard"] is True
    edits = [v["sound_edit"] for v in truth["videos"].values() if v["sound_edit"]]
    assert edits and all({"reverb_s", "reverb_mix", "band_hz"} <= e.keys() for e in edits)
    assert all("stickers" in v["look"] for v in truth["videos"].values())
    assert json.dumps(World(HARD).ground_truth()) == json.dumps(truth)


def test_hard_folder_is_its_own_demo(tmp_path):
    tiny = DemoSpec(videos=3, seed=7, min_s=1.0, max_s=1.0)
    generate_demo(tmp_path / "a", tiny)
    with pytest.raises(ValueError, match="not"):
        generate_demo(tmp_path / "a", replace(tiny, hard=True))
    made = generate_demo(tmp_path / "b", replace(tiny, hard=True))
    assert json.loads((made.folder / ".demo-spec.json").read_text())["hard"] is True
    assert "hard" not in json.loads((tmp_path / "a" / ".demo-spec.json").read_text())


def test_cli_demo_hard_generates_the_hard_variant(tmp_path, capsys):
    from reelscope.core.cli.main import main

    code = main(["demo", "--hard", "--dir", str(tmp_path / "d"), "--videos", "3", "--generate-only",
                 "--no-window", "--json", "--quiet"])
    assert code == 0
    truth = json.loads((tmp_path / "d" / "source" / "ground_truth.json").read_text())
    assert truth["spec"]["hard"] is True
    assert all(v["look"]["stickers"] >= 2 for v in truth["videos"].values())
