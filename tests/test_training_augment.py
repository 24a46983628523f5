"""Augmentations: strength 0 is the identity; a positive strength changes the tensor as stated."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reelscope.training import augment_audio as aa
from reelscope.training import augment_video as av
from reelscope.training.config import AudioAugConfig, DataStats, VideoAugConfig, make_config
from reelscope.training.data import ClipItem, ClipStore, TrainViews, audio_window

torch.set_num_threads(1)
STATS = DataStats(mean=-5.0, std=3.0, floor=-23.0, measured=True)
NO_AUDIO_AUG = AudioAugConfig(**{f: 0.0 for f in AudioAugConfig.__dataclass_fields__})
NO_VIDEO_AUG = VideoAugConfig(**{f: 0.0 for f in VideoAugConfig.__dataclass_fields__})


def _tensors(params: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.asarray(v)) for k, v in params.items()}


def _stack(params: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.stack([p[k] for p in params])) for k in params[0]}


def _frames(b=2, t=3, s=16, seed=0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).integers(30, 220, (b, t, s, s, 3), dtype=np.uint8))


# ----------------------------------------------------------------- video


def test_strength_zero_draws_identity_parameters():
    rng = np.random.default_rng(0)
    for _ in range(20):
        for name, value in av.sample_params(rng, NO_VIDEO_AUG).items():
            np.testing.assert_array_equal(value, av.identity_params(1)[name][0])
        for name, value in aa.sample_params(rng, NO_AUDIO_AUG).items():
            np.testing.assert_array_equal(value, aa.identity_params(1)[name][0])


def test_identity_video_parameters_leave_the_clip_unchanged():
    frames = _frames()
    out = av.augment_video(frames, _tensors(av.identity_params(2)), 16)
    expected = av.normalise(frames.permute(0, 1, 4, 2, 3).float() / 255)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_crop_is_the_same_box_on_every_frame_and_scale_follows_strength():
    one = _frames(b=1, t=1)
    clip = one.expand(1, 4, 16, 16, 3).contiguous()  # four identical frames
    rng = np.random.default_rng(1)
    p = av.sample_params(rng, VideoAugConfig(crop=1.0, flip=0, jitter=0, grayscale=0))
    out = av.crop_resize_flip(clip, torch.from_numpy(p["crop"])[None], torch.zeros(1), 16)
    for t in range(1, 4):
        torch.testing.assert_close(out[0, t], out[0, 0])
    assert not torch.allclose(out[0, 0], clip[0, 0].permute(2, 0, 1).float() / 255)
    areas = [np.prod(av.sample_params(rng, VideoAugConfig(crop=0.5))["crop"][2:]) for _ in range(200)]
    assert min(areas) >= 1 - 0.92 * 0.5 - 1e-6 and max(areas) <= 1.0
    areas = [np.prod(av.sample_params(rng, VideoAugConfig(crop=1.0))["crop"][2:]) for _ in range(200)]
    assert min(areas) < 0.3


def test_flip_mirrors_the_clip():
    frames = _frames()
    ident = _tensors(av.identity_params(2))
    flipped = av.crop_resize_flip(frames, ident["crop"], torch.ones(2), 16)
    plain = av.crop_resize_flip(frames, ident["crop"], torch.zeros(2), 16)
    torch.testing.assert_close(flipped, plain.flip(-1), atol=1e-5, rtol=0)


def test_colour_jitter_brightness_saturation_and_hue():
    x = torch.rand(1, 2, 3, 8, 8) * 0.5 + 0.25
    bright = av.colour_jitter(x, torch.tensor([[1.4, 1.0, 1.0, 0.0]]))
    torch.testing.assert_close(bright, (x * 1.4).clamp(0, 1))
    gray = av.colour_jitter(x, torch.tensor([[1.0, 1.0, 0.0, 0.0]]))
    torch.testing.assert_close(gray[:, :, 0], gray[:, :, 1])
    # Hue turns chroma but keeps luma (mid-range colours: no clamping) and is not identity.
    x = torch.tensor([0.6, 0.4, 0.45]).view(1, 1, 3, 1, 1).expand(1, 2, 3, 4, 4)
    turned = av.colour_jitter(x, torch.tensor([[1.0, 1.0, 1.0, 0.1]]))
    luma = torch.tensor(av.LUMA).view(1, 1, 3, 1, 1)
    torch.testing.assert_close((turned * luma).sum(2), (x * luma).sum(2), atol=1e-5, rtol=0)
    assert (turned - x).abs().max() > 0.03
    # A full turn is the identity again.
    full = av.colour_jitter(x, torch.tensor([[1.0, 1.0, 1.0, 1.0]]))
    torch.testing.assert_close(full, x, atol=1e-5, rtol=0)


def test_grayscale_flag_makes_channels_equal_only_where_set():
    x = torch.rand(2, 2, 3, 4, 4)
    out = av.to_grayscale(x, torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(out[0, :, 0], out[0, :, 2])
    torch.testing.assert_close(out[1], x[1])


# ----------------------------------------------------------------- audio


def _audio(params: dict[str, np.ndarray], mel: torch.Tensor, cfg=NO_AUDIO_AUG, frames=40, seed=None):
    return aa.augment_audio(mel, _tensors(params), frames, cfg, STATS, seed)[:, 0]


def test_identity_audio_parameters_return_the_normalised_centre():
    mel = torch.randn(2, 64, 48) - 5
    out = _audio(aa.identity_params(2), mel)
    torch.testing.assert_close(out, (aa.centre_window(mel, 40) - STATS.mean) / STATS.std, atol=1e-4, rtol=0)


def test_pitch_shift_moves_energy_up_the_mel_axis():
    mel = torch.full((1, 64, 48), -10.0)
    mel[0, 20] = 0.0
    p = aa.identity_params(1)
    p["pitch"][:] = 3.0
    out = _audio(p, mel)
    assert int(out[0].mean(1).argmax()) == 23


def test_tempo_resamples_along_time():
    ramp = torch.arange(48.0).view(1, 1, -1).expand(1, 64, 48) * 0.01
    p = aa.identity_params(1)
    p["tempo"][:] = 1.15
    out = _audio(p, ramp) * STATS.std  # undo the scale of normalisation
    slope = float((out[0, 10, 30] - out[0, 10, 10]) / 20)
    assert slope == pytest.approx(0.01 * 1.15, rel=1e-3)
    assert aa.source_frames(40, AudioAugConfig(tempo=1.0)) >= 40 * 1.15


def test_gain_adds_a_constant_and_eq_a_smooth_curve_over_bins():
    mel = torch.randn(1, 64, 48)
    p = aa.identity_params(1)
    p["gain"][:] = 0.7
    delta = (_audio(p, mel) - _audio(aa.identity_params(1), mel)) * STATS.std
    torch.testing.assert_close(delta, torch.full_like(delta, 0.7), atol=1e-4, rtol=0)
    p = aa.identity_params(1)
    p["eq"][:] = [0.5, -0.3, 0.2, 0.1]
    delta = (_audio(p, mel) - _audio(aa.identity_params(1), mel)) * STATS.std
    assert delta.std(dim=2).max() < 1e-4  # the same curve at every time
    curve = delta[0, :, 0]
    assert curve.std() > 0.1 and (curve[1:] - curve[:-1]).abs().max() < 0.1  # varies, smoothly


def test_background_noise_fills_quiet_parts_and_leaves_loud_ones():
    mel = torch.full((1, 64, 48), -20.0)
    mel[0, :, 24:] = 2.0
    p = aa.identity_params(1)
    p["noise"][:] = [1.0, 10.0, 0.0, 0.0]
    before = _audio(aa.identity_params(1), mel) * STATS.std + STATS.mean
    after = _audio(p, mel) * STATS.std + STATS.mean
    assert (after >= before - 1e-4).all()
    assert (after[0, :, :15] - before[0, :, :15]).mean() > 5  # silence got noisy
    assert (after[0, :, 30:] - before[0, :, 30:]).abs().mean() < 0.5  # loud part barely moved


def test_speech_interference_is_harmonic_and_comes_in_syllables():
    mel = torch.full((1, 64, 100), -20.0)
    p = aa.identity_params(1)
    p["speech"][:] = [1.0, 0.0, 150.0, 0.0, 4.0, 0.0, 500.0, 1500.0]
    out = _audio(p, mel, frames=90) * STATS.std + STATS.mean
    assert (out >= -20.0 - 1e-3).all()
    spectrum = out[0].max(dim=1).values
    peaks = ((spectrum[1:-1] > spectrum[:-2]) & (spectrum[1:-1] > spectrum[2:])).sum()
    assert peaks >= 4  # a harmonic stack, not a blob
    loudness = out[0].max(dim=0).values
    assert loudness.min() < -19.9 and loudness.max() > -17  # on during syllables, off between


def test_masks_are_torchaudio_masks_reproducible_per_seed():
    mel = torch.randn(4, 64, 48)
    cfg = AudioAugConfig(**{**NO_AUDIO_AUG.__dict__, "time_mask": 1.0, "freq_mask": 1.0})
    a = _audio(aa.identity_params(4), mel, cfg, seed=7)
    b = _audio(aa.identity_params(4), mel, cfg, seed=7)
    c = _audio(aa.identity_params(4), mel, cfg, seed=8)
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, c)
    zero_rows = (a == 0).all(dim=2).sum()
    zero_cols = (a == 0).all(dim=1).sum()
    assert zero_rows + zero_cols > 0
    plain = _audio(aa.identity_params(4), mel)
    assert ((a != plain) & (a != 0)).sum() == 0  # masking only ever writes the mask value


def test_audio_window_aligns_offsets_and_pads_with_silence():
    mel = np.arange(10, dtype=np.float16)[None].repeat(2, 0)
    np.testing.assert_array_equal(audio_window(mel, 5.0, 4, -23.0)[0], [3, 4, 5, 6])
    np.testing.assert_array_equal(audio_window(mel, 1.0, 4, -23.0)[0], [-23, 0, 1, 2])
    assert (audio_window(np.zeros((2, 0), np.float16), 3.0, 4, -23.0) == -23).all()


def _items(tmp_path, t=4, a=300):
    items = []
    for i in range(3):
        frames = np.zeros((t, 8, 8, 3), np.uint8) + np.arange(t, dtype=np.uint8).reshape(t, 1, 1, 1) * 10
        np.save(tmp_path / f"{i}.f.npy", frames)
        np.save(tmp_path / f"{i}.m.npy", np.tile(np.arange(a, dtype=np.float16), (64, 1)))
        items.append(ClipItem(str(i), str(tmp_path / f"{i}.f.npy"), str(tmp_path / f"{i}.m.npy"), duration=3.0))
    return items


def test_two_views_come_from_different_times_and_offset_follows_strength(tmp_path):
    store = ClipStore(_items(tmp_path))
    base = make_config("simclr", "tiny", stats=STATS)
    same = TrainViews(store, base.replace(video_aug=NO_VIDEO_AUG, audio_aug=NO_AUDIO_AUG))[(0, 1)]
    np.testing.assert_array_equal(same["frames"][0], same["frames"][1])
    # Audio window centred on the clip: mel value = frame index, clip centre in frames.
    centre_value = same["mel"][0][0, same["mel"].shape[-1] // 2]
    clip_centre_s = (same["frames"][0][:, 0, 0, 0].mean() / 10 + 0.5) / 4 * 3.0  # frame i at (i+.5)/T * 3 s
    assert abs(float(centre_value) - clip_centre_s * 100) <= 1.0
    shifted = TrainViews(store, base.replace(video_aug=VideoAugConfig(time_shift=1.0), audio_aug=NO_AUDIO_AUG))
    for epoch in range(5):
        views = shifted[(epoch, 2)]
        assert not np.array_equal(views["frames"][0], views["frames"][1])
    offset = TrainViews(store, base.replace(video_aug=NO_VIDEO_AUG, audio_aug=AudioAugConfig(offset=1.0)))
    v = offset[(0, 0)]
    assert not np.array_equal(v["mel"][0], same["mel"][0]) or not np.array_equal(v["mel"][1], same["mel"][1])
    # Deterministic in (seed, epoch, index).
    again = offset[(0, 0)]
    for k in v:
        np.testing.assert_array_equal(np.asarray(v[k]), np.asarray(again[k]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_same_result_on_cpu_and_gpu():
    frames = _frames()
    rng = np.random.default_rng(3)
    vp = _stack([av.sample_params(rng, VideoAugConfig()) for _ in range(2)])
    ap = _stack([aa.sample_params(rng, AudioAugConfig(noise=1, speech=1)) for _ in range(2)])
    mel = torch.randn(2, 64, 48)
    cfg = AudioAugConfig(time_mask=0, freq_mask=0)
    cpu_v = av.augment_video(frames, vp, 16)
    gpu_v = av.augment_video(frames.cuda(), {k: v.cuda() for k, v in vp.items()}, 16).cpu()
    torch.testing.assert_close(cpu_v, gpu_v, atol=1e-3, rtol=1e-3)
    cpu_a = aa.augment_audio(mel, ap, 40, cfg, STATS)
    gpu_a = aa.augment_audio(mel.cuda(), {k: v.cuda() for k, v in ap.items()}, 40, cfg, STATS).cpu()
    torch.testing.assert_close(cpu_a, gpu_a, atol=1e-3, rtol=1e-3)


def test_per_clip_normalisation_removes_global_brightness_and_contrast():
    x = torch.rand(2, 3, 3, 8, 8) * 0.5 + 0.25
    graded = av.colour_jitter(x, torch.tensor([[0.8, 1.3, 1.0, 0.0]] * 2))  # stays inside [0, 1]
    torch.testing.assert_close(av.normalise(graded, per_clip=True), av.normalise(x, per_clip=True),
                               atol=1e-4, rtol=1e-4)
    assert not torch.allclose(av.normalise(graded), av.normalise(x))


def test_blur_matches_torchvision_per_clip_and_its_strength_follows_config():
    from torchvision.transforms.functional import gaussian_blur as tv_blur

    torch.manual_seed(0)
    x = torch.rand(3, 2, 3, 20, 20)
    sigma = torch.tensor([0.0, 0.8, 1.6])
    out = av.gaussian_blur(x, sigma)
    torch.testing.assert_close(out[0], x[0])  # sigma 0: untouched
    radius = int(np.ceil(3 * 1.6))
    for i in (1, 2):
        ref = tv_blur(x[i], [2 * radius + 1] * 2, [float(sigma[i])] * 2)
        torch.testing.assert_close(out[i], ref, atol=1e-5, rtol=1e-5)
    # Fine texture (a 1-pixel checkerboard) loses more of its contrast the larger the sigma.
    checker = ((torch.arange(20)[:, None] + torch.arange(20)[None]) % 2).float().expand(3, 1, 3, 20, 20)
    spread = av.gaussian_blur(checker.contiguous(), torch.tensor([0.0, 0.5, 1.5])).std(dim=(1, 2, 3, 4))
    assert spread[0] > spread[1] > spread[2] and spread[2] < 0.05
    # Strength: off draws nothing; on, sigma lies within 0.1..1 of blur_sigma, with probability blur.
    rng = np.random.default_rng(0)
    assert all("blur" not in av.sample_params(rng, VideoAugConfig(blur=0)) for _ in range(50))
    draws = np.array([av.sample_params(rng, VideoAugConfig(blur=0.5, blur_sigma=0.04))["blur"] for _ in range(400)])
    assert 0.4 < (draws > 0).mean() < 0.6
    assert draws[draws > 0].min() >= 0.004 - 1e-7 and draws.max() <= 0.04 + 1e-7


def test_merge_keeps_the_moving_subject_over_another_videos_backdrop():
    # Rows 0, 1: two views of video A (a white square crossing a static backdrop);
    # rows 2, 3: video B's static backdrop; rows 4, 5: video C's.
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(6, 1, 3, 24, 24, generator=g) * 0.5).expand(6, 4, 3, 24, 24).clone()
    for t in range(4):
        x[:2, t, :, 8:14, 2 + 4 * t:8 + 4 * t] = 1.0
    donor = av.merge_donors(3, torch.device("cpu"))
    assert donor.tolist() == [2, 5, 4, 1, 0, 3]  # another video per view, a different one for each view
    share = torch.tensor([0.3, 0.0, 0.0, 0.0, 0.0, 0.0])
    y = av.merge_backgrounds(x, share, donor)
    path = torch.zeros(24, 24, dtype=torch.bool)
    path[8:14, 2:20] = True  # everywhere the square passes
    assert torch.equal(y[0][..., path], x[0][..., path])  # the subject and its track kept
    assert torch.equal(y[0][..., 20:, :], x[2][..., 20:, :])  # the rest is video B's backdrop
    kept = (y[0] == x[0]).all(dim=0).all(dim=0).float().mean()
    assert 0.25 <= float(kept) <= 0.35  # about `share` of the frame is foreground
    assert torch.equal(y[1:], x[1:])  # share 0: untouched
    assert torch.equal(av.merge_backgrounds(x[:, :1], share, donor), x[:, :1])  # one frame: no motion to go by
    # The mask is the top `share` of torch's per-pixel std over the frames, smoothed 5x5.
    noisy = torch.rand(4, 3, 3, 16, 16, generator=g)
    motion = F.avg_pool2d(noisy.std(dim=1).mean(dim=1, keepdim=True), 5, 1, 2, count_include_pad=False)
    fg = (motion.flatten(1) >= motion.flatten(1).quantile(0.75, dim=1, keepdim=True)).view(4, 1, 1, 16, 16)
    shares, rows = torch.full((4,), 0.25), torch.tensor([1, 2, 3, 0])
    torch.testing.assert_close(av.merge_backgrounds(noisy, shares, rows), torch.where(fg, noisy, noisy[rows]))
    # Strength: off draws nothing; on, the share is drawn with probability `merge`.
    rng = np.random.default_rng(0)
    assert all("merge" not in av.sample_params(rng, VideoAugConfig(merge=0)) for _ in range(50))
    draws = np.array([av.sample_params(rng, VideoAugConfig(merge=0.5, merge_share=0.4))["merge"] for _ in range(400)])
    assert 0.4 < (draws > 0).mean() < 0.6 and np.allclose(np.unique(draws), [0.0, 0.4])
