"""Encoders, registry, config round trips, the LR schedule, and weights that load without pickle."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from reelscope.training import checkpoint as ckpt
from reelscope.training.config import CONFIG_VERSION, PRESETS, TrainConfig, make_config
from reelscope.training.encoders import (AUDIO_ENCODERS, VIDEO_ENCODERS, TemporalConv, build_model,
                                         count_parameters)
from reelscope.training.methods import METHOD_CLASSES, build_method
from reelscope.training.schedule import lr_at

torch.set_num_threads(1)


def test_temporal_conv_equals_a_3x1x1_conv3d():
    torch.manual_seed(0)
    tc = TemporalConv(3, 5)
    conv = torch.nn.Conv3d(3, 5, (3, 1, 1), padding=(1, 0, 0), bias=False)
    with torch.no_grad():  # tap k of the 1x1 conv is slice k of the 3D kernel
        conv.weight.copy_(tc.taps.weight.view(3, 5, 3).permute(1, 2, 0).reshape(5, 3, 3, 1, 1))
    x = torch.randn(2, 3, 4, 6, 6)  # [B, C, T, H, W]
    expected = conv(x)
    frames = x.transpose(1, 2).reshape(8, 3, 6, 6)
    got = tc(frames, 4).view(2, 4, 5, 6, 6).transpose(1, 2)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_compact_encoders_shapes_and_sizes(preset):
    cfg = make_config("av-simclr", preset)
    model = build_model(cfg)
    v = torch.randn(2, 3, cfg.clip_frames, cfg.frame_size, cfg.frame_size)
    a = torch.randn(2, 1, 64, cfg.audio_frames)
    assert model.video(v).shape == (2, model.video.out_dim)
    assert model.audio(a).shape == (2, model.audio.out_dim)
    assert model.video_head(model.video(v)).shape == (2, 128)
    if preset == "small":  # "a few hundred thousand parameters" per encoder
        assert 2e5 < count_parameters(model.video) < 1e6
        assert 1e5 < count_parameters(model.audio) < 1e6


def test_registry_has_torchvision_video_resnets_built_from_scratch():
    assert {"compact2plus1d", "r2plus1d_18", "r3d_18"} <= set(VIDEO_ENCODERS)
    assert "audio_cnn" in AUDIO_ENCODERS
    cfg = make_config("simclr", "base")
    assert cfg.video_encoder == "r2plus1d_18"
    enc = VIDEO_ENCODERS["r3d_18"](cfg)
    assert enc.out_dim == 512
    assert enc(torch.randn(1, 3, 2, 32, 32)).shape == (1, 512)


def test_group_norm_variant_has_no_batchnorm():
    model = build_model(make_config("simclr", "tiny", norm="group"))
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())


def test_every_method_builds_and_returns_named_losses():
    cfg = make_config("simclr", "tiny")
    batch = {
        "v1": torch.randn(4, 3, 2, 32, 32), "v2": torch.randn(4, 3, 2, 32, 32),
        "a1": torch.randn(4, 1, 64, 32), "a2": torch.randn(4, 1, 64, 32),
        "has_audio": torch.tensor([True, True, False, True]),
    }
    for name in METHOD_CLASSES:
        method = build_method(build_model(cfg.replace(method=name)), cfg.replace(method=name))
        out = method(batch)
        assert {"loss", "video", "audio"} <= set(out)
        assert torch.isfinite(out["loss"])
        out["loss"].backward()
        method.after_step(0.5)
    assert "cross" in build_method(build_model(cfg), cfg.replace(method="av-simclr"))(batch)


@pytest.mark.parametrize("method", ["simclr", "av-simclr"])
def test_nearest_neighbour_positives_mix_into_the_video_term_only(method):
    cfg = make_config(method, "tiny", nn_weight=0.25, nn_support=6)
    torch.manual_seed(0)
    method_ = build_method(build_model(cfg), cfg)
    batch = {
        "v1": torch.randn(4, 3, 2, 32, 32), "v2": torch.randn(4, 3, 2, 32, 32),
        "a1": torch.randn(4, 1, 64, 32), "a2": torch.randn(4, 1, 64, 32),
        "has_audio": torch.ones(4, dtype=torch.bool), "index": torch.tensor([3, 1, 4, 0]),
    }
    method_(batch)  # fills the support set with this batch's first views
    assert method_.neighbours.support_ids.tolist() == [3, 1, 4, 0, -1, -1]
    out = method_(batch)
    plain = out["video"] * cfg.w_video + out["audio"] * cfg.w_audio + out.get("cross", 0) * cfg.w_cross
    expected = plain + cfg.w_video * 0.25 * (out["neighbours"] - out["video"])
    torch.testing.assert_close(out["loss"], expected)
    assert any(name.endswith("neighbours.support") for name in method_.state_dict())  # checkpointed
    assert build_method(build_model(cfg), cfg.replace(nn_weight=0.0)).neighbours is None


def test_config_round_trip_version_and_unknown_keys():
    cfg = make_config("moco", "small", epochs=3)
    again = TrainConfig.from_json(cfg.to_json())
    assert again == cfg
    d = json.loads(cfg.to_json())
    d["version"] = CONFIG_VERSION + 1
    with pytest.raises(ValueError, match="newer"):
        TrainConfig.from_dict(d)
    with pytest.raises(ValueError, match="unknown TrainConfig keys: bogus"):
        TrainConfig.from_dict({"bogus": 1})
    with pytest.raises(ValueError, match="unknown method"):
        make_config("nope", "small")
    assert set(PRESETS) == {"tiny", "small", "base"}


def test_lr_schedule_warmup_then_cosine():
    assert lr_at(0.0, 1.0, 0.1) == 0.0
    assert lr_at(0.05, 1.0, 0.1) == pytest.approx(0.5)
    assert lr_at(0.1, 1.0, 0.1) == pytest.approx(1.0)
    assert lr_at(0.55, 1.0, 0.1, 0.0) == pytest.approx(0.5)
    assert lr_at(1.0, 1.0, 0.1, 0.01) == pytest.approx(0.01)
    assert lr_at(2.0, 1.0, 0.1, 0.01) == pytest.approx(0.01)
    values = [lr_at(p / 100, 1.0, 0.1) for p in range(10, 101)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_weights_are_safetensors_plus_json_and_load_without_pickle(tmp_path, monkeypatch):
    cfg = make_config("simclr", "tiny")
    model = build_model(cfg)
    ckpt.save_weights(tmp_path, model, cfg)
    assert (tmp_path / "model.safetensors").read_bytes()[8:9] == b"{"  # safetensors: JSON header
    json.loads((tmp_path / "config.json").read_text())

    def no_pickle(*a, **k):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(torch, "load", no_pickle)
    monkeypatch.setattr("pickle.load", no_pickle)
    monkeypatch.setattr("pickle.loads", no_pickle)
    loaded, cfg2 = ckpt.load_model(tmp_path)
    assert cfg2 == cfg
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        torch.testing.assert_close(a, b, msg=k)


def test_motion_input_sees_frame_differences_so_a_static_backdrop_cancels():
    from reelscope.training.encoders import frame_differences

    clip = torch.zeros(1, 3, 4, 8, 8)
    clip[:, :, :, 2:4, 2:4] = 5.0  # a static square
    clip[:, :, 2:, 6, 6] = 1.0  # a pixel switching on at frame 2
    d = frame_differences(clip)
    assert d.shape == clip.shape and d[:, :, :, 2:4, 2:4].abs().max() == 0
    assert d[0, 0, :, 6, 6].tolist() == [0.0, 1.0, 0.0, 0.0]  # x[t+1]-x[t], last repeated
    assert frame_differences(clip[:, :, :1]).abs().max() == 0  # one frame: no motion
    cfg = make_config("av-simclr", "tiny", motion_input=True)
    video = build_model(cfg).video
    assert video.stem[0].in_channels == 6
    assert video(torch.randn(2, 3, cfg.clip_frames, 32, 32)).shape == (2, video.out_dim)


def test_embedding_averages_clips_spread_over_the_whole_video(tmp_path):
    from reelscope.training.data import embed_starts
    from reelscope.training.embed import embed_items
    from reelscope.training.loop import prepare_data
    from reelscope.training.synthetic import write_synthetic_items

    assert embed_starts(5, 1) == [2] and embed_starts(5, 3) == [0, 2, 4] and embed_starts(2, 9) == [0, 1]
    items = write_synthetic_items(tmp_path, 4)[0]
    cfg, store = prepare_data(make_config("av-simclr", "tiny", clip_frames=2, embed_batch=3), items)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    starts = embed_starts(store.frame_shape[0] - 1, 3)
    assert len(starts) == 3
    single = embed_items(model, cfg.replace(embed_clips=1, embed_flip=False), store)
    multi = embed_items(model, cfg.replace(embed_clips=3, embed_flip=False), store)
    flipped = embed_items(model, cfg.replace(embed_clips=3, embed_flip=True), store)
    # Independently: slice each clip out of the cache, embed it alone, average.
    from reelscope.training.augment_video import normalise

    frames = torch.from_numpy(store._frames).float().div(255)  # [N, T, S, S, 3]
    per_clip = []
    with torch.no_grad():
        for s in starts:
            x = frames[:, s:s + 2].permute(0, 1, 4, 2, 3)  # [N, Tc, 3, S, S]
            x = torch.nn.functional.interpolate(x.flatten(0, 1), size=cfg.frame_size, mode="bilinear",
                                                align_corners=False).view(4, 2, 3, cfg.frame_size, cfg.frame_size)
            per_clip.append(model.video(normalise(x, cfg.clip_norm)))
    per_clip_t = torch.stack(per_clip, 1)
    torch.testing.assert_close(torch.from_numpy(multi["visual"]), per_clip_t.mean(1), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(torch.from_numpy(single["visual"]), per_clip_t[:, 1], atol=1e-4, rtol=1e-4)
    assert not torch.allclose(per_clip_t[:, 0], per_clip_t[:, 2])  # the clips really differ
    assert not np.allclose(flipped["visual"], multi["visual"])


def test_older_configs_load_as_they_were_trained_and_embedded():
    stored = json.loads(make_config("av-simclr", "small").to_json())
    for key in ("w_cross", "predictor_lr_mult"):
        stored.pop(key)
    stored["version"] = 4  # a version-4 run keeps the cross-modal weight it was trained with
    cfg = TrainConfig.from_dict(stored)
    assert (cfg.w_cross, cfg.predictor_lr_mult) == (1.0, 1.0) and make_config().w_cross == 2.0
    for key in ("nn_weight", "nn_support", "precision"):
        stored.pop(key)
    for key in ("merge", "merge_share"):
        stored["video_aug"].pop(key)
    stored["version"] = 2  # a version-2 run resumes without the later background merging
    cfg = TrainConfig.from_dict(stored)
    assert (cfg.video_aug.merge, cfg.nn_weight, cfg.motion_input, cfg.embed_clips) == (0.0, 0.0, True, 3)
    assert cfg.precision == "auto"  # how a run executes, like its device: today's default
    for key in ("motion_input", "embed_clips", "embed_flip"):
        stored.pop(key)
    stored["video_aug"].pop("blur")
    stored["version"] = 1
    cfg = TrainConfig.from_dict(stored)
    assert (cfg.motion_input, cfg.embed_clips, cfg.embed_flip, cfg.video_aug.blur) == (False, 1, False, 0.0)
    assert cfg.video_aug.merge == 0.0 and cfg.version == CONFIG_VERSION
    assert build_model(cfg).video.stem[0].in_channels == 3  # v1 weights load into this model


def test_precision_auto_is_bf16_on_cuda_and_on_cpus_where_native_bf16_pays(monkeypatch):
    from reelscope.training import precision as loop

    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    cfg = make_config("av-simclr", "tiny")
    assert loop.resolve_precision("fp32", cuda) == "fp32" and loop.resolve_precision("bf16", cuda) == "bf16"
    for native in (False, True):  # emulated bf16 is never trained in, even when asked for
        monkeypatch.setattr(loop, "cpu_has_native_bf16", lambda: native)
        assert loop.resolve_precision("bf16", cpu) == ("bf16" if native else "fp32")
    monkeypatch.undo()
    monkeypatch.setattr(loop, "native_bf16", lambda d: True)
    assert loop.resolve_precision("auto", cuda) == "bf16"
    monkeypatch.setattr(loop, "native_bf16", lambda d: False)
    assert loop.resolve_precision("auto", cuda) == "fp32"  # a card without bf16 (before Ampere)
    monkeypatch.undo()
    for pays in (False, True):
        monkeypatch.setattr(loop, "cpu_bf16_pays", lambda c: pays)
        assert loop.resolve_precision("auto", cpu, cfg) == ("bf16" if pays else "fp32")
    assert loop.resolve_precision("auto", cpu) == "fp32"  # nothing to time: the safe choice
    monkeypatch.undo()
    timed = []
    monkeypatch.setattr(loop, "_bf16_pays_for", lambda key: timed.append(key) or True)
    monkeypatch.setattr(loop, "cpu_has_native_bf16", lambda: False)
    assert loop.cpu_bf16_pays(cfg) is False and not timed  # emulated bf16 is never taken, nor timed
    monkeypatch.setattr(loop, "cpu_has_native_bf16", lambda: True)
    assert loop.cpu_bf16_pays(cfg) is True and len(timed) == 1
    monkeypatch.undo()
    if loop.cpu_has_native_bf16():  # emulated bf16 backward can corrupt the heap (precision.py)
        assert isinstance(loop._bf16_pays_for.__wrapped__(timed[0]), bool)  # the real timing, on that key
        with torch.no_grad():  # as inside embedding: the probe builds its own graph (issue 12)
            assert isinstance(loop._bf16_pays_for.__wrapped__(timed[0]), bool)
    with pytest.raises(ValueError, match="unknown precision 'fp16'"):
        loop.resolve_precision("fp16", cpu)
    assert isinstance(loop.autocast_for(cpu, "bf16"), torch.autocast)
    assert PRESETS["tiny"]["precision"] == "fp32"  # tests compute alike on every machine


@pytest.mark.parametrize("method", ["byol", "simsiam"])
def test_predictors_learn_at_their_own_rate_only_when_asked(method):
    from reelscope.training.loop import build_training

    cfg = make_config(method, "tiny", predictor_lr_mult=10.0, lr=1e-3)
    _, module, optimizer = build_training(cfg, torch.device("cpu"))
    predictors = {id(p) for n, p in module.named_parameters() if "predictor" in n}
    assert predictors
    for group in optimizer.param_groups:
        in_predictor = {id(p) in predictors for p in group["params"]}
        assert len(in_predictor) == 1  # a group is all predictor or none of it
        assert group["lr_mult"] == (10.0 if in_predictor.pop() else 1.0)
        assert group["weight_decay"] == (cfg.weight_decay if group["params"][0].ndim > 1 else 0.0)
    assert sum(len(g["params"]) for g in optimizer.param_groups) == sum(1 for p in module.parameters() if p.requires_grad)
    _, _, plain = build_training(cfg.replace(predictor_lr_mult=1.0), torch.device("cpu"))
    assert len(plain.param_groups) == 2  # the groups of runs from before the multiplier existed
