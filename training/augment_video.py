"""Video augmentations: parameters drawn per clip on the CPU, applied in batch on any device.

Splitting *drawing* from *applying* is what makes training reproducible: the
loader draws each clip's parameters from a generator seeded by (seed, epoch,
video index, view), so the same video gets the same augmentation whatever the
batch size, worker count, DDP rank or resume point; the device then applies a
whole batch with a few tensor ops (one ``grid_sample`` for crop+resize+flip,
one 3x3 colour matrix per clip for jitter and grayscale), identically on CPU and GPU.

Chosen for how short videos vary: the same scene is reframed (crop, consistent
over the clip's frames so motion is kept), mirrored, colour-graded by filters
(strong jitter including hue, grayscale), and the interesting part of a video
is anywhere in it (two clips at different times; drawn in :mod:`.data`).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from reelscope.training.config import VideoAugConfig

# Kinetics-style normalisation constants (the same for every preset).
MEAN = (0.45, 0.45, 0.45)
STD = (0.225, 0.225, 0.225)

# ITU-R BT.601 luma weights, as torchvision's rgb_to_grayscale.
LUMA = (0.299, 0.587, 0.114)


def identity_params(n: int = 1) -> dict[str, np.ndarray]:
    """Parameters that leave a clip unchanged (used for embedding)."""
    return {
        "crop": np.tile(np.array([0.0, 0.0, 1.0, 1.0], np.float32), (n, 1)),  # cx, cy, half-w, half-h
        "flip": np.zeros(n, np.float32),
        "jitter": np.tile(np.array([1.0, 1.0, 1.0, 0.0], np.float32), (n, 1)),  # b, c, s, hue
        "gray": np.zeros(n, np.float32),
    }


def sample_params(rng: np.random.Generator, cfg: VideoAugConfig) -> dict[str, np.ndarray]:
    """Draw one view's parameters; arrays shaped for one clip (leading dim 1 dropped).

    crop: float32 [4] = centre x, centre y, half width, half height in [-1, 1] frame coords
    flip: float32 [] 0/1;  jitter: float32 [4] = brightness, contrast, saturation factors,
    hue shift in turns;  gray: float32 [] 0/1;  blur (only when ``cfg.blur`` > 0, so
    that blur off costs nothing per step): float32 [] sigma / frame size (0: none);
    merge (only when ``cfg.merge`` > 0): float32 [] foreground share (0: none).
    """
    p = {k: v[0] for k, v in identity_params(1).items()}
    if cfg.crop > 0:
        min_scale = max(0.01, 1.0 - 0.92 * min(cfg.crop, 1.0))
        for _ in range(10):  # torchvision's rejection sampling of area and aspect ratio
            area = rng.uniform(min_scale, 1.0)
            ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
            w, h = math.sqrt(area * ratio), math.sqrt(area / ratio)
            if w <= 1.0 and h <= 1.0:
                break
        else:
            w = h = math.sqrt(area)
        cx, cy = rng.uniform(-(1 - w), 1 - w), rng.uniform(-(1 - h), 1 - h)
        p["crop"] = np.array([cx, cy, w, h], np.float32)
    if rng.random() < cfg.flip:
        p["flip"] = np.float32(1.0)
    if cfg.jitter > 0 and rng.random() < cfg.jitter_p:
        s = cfg.jitter
        lo = max(0.0, 1 - 0.8 * s)
        p["jitter"] = np.array(
            [rng.uniform(lo, 1 + 0.8 * s), rng.uniform(lo, 1 + 0.8 * s),
             rng.uniform(lo, 1 + 0.8 * s), rng.uniform(-0.2 * s, 0.2 * s)],
            np.float32,
        )
    if rng.random() < cfg.grayscale:
        p["gray"] = np.float32(1.0)
    if cfg.blur > 0:  # drawn last: no blur leaves older streams as they were
        drawn = rng.random() < cfg.blur
        p["blur"] = np.float32(rng.uniform(0.1, 1.0) * cfg.blur_sigma if drawn else 0.0)
    if cfg.merge > 0:
        p["merge"] = np.float32(cfg.merge_share if rng.random() < cfg.merge else 0.0)
    return p


def crop_resize_flip(frames: torch.Tensor, crop: torch.Tensor, flip: torch.Tensor, size: int) -> torch.Tensor:
    """Crop the same box from every frame of a clip, resize to ``size``, mirror if asked.

    frames: uint8 [B, T, S, S, 3] (the cache layout);  crop: [B, 4];  flip: [B].
    Returns float [B, T, 3, size, size] in [0, 1]. One bilinear ``grid_sample``
    does all three, so the box is consistent across the clip's frames.
    """
    b, t, s, _, _ = frames.shape
    # Convert in the cache's NHWC layout (one pass) and sample from a channels-last view.
    x = frames.reshape(b * t, s, s, 3).float().permute(0, 3, 1, 2)
    sign = 1.0 - 2.0 * flip.float()
    theta = torch.zeros(b, 2, 3, device=frames.device, dtype=torch.float32)
    theta[:, 0, 0] = crop[:, 2] * sign
    theta[:, 0, 2] = crop[:, 0]
    theta[:, 1, 1] = crop[:, 3]
    theta[:, 1, 2] = crop[:, 1]
    theta = theta.repeat_interleave(t, dim=0)
    grid = F.affine_grid(theta, [b * t, 3, size, size], align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.div_(255).view(b, t, 3, size, size)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each clip's frames with its own Gaussian; ``sigma`` [B] in pixels, 0 leaves a clip as it is.

    x: float [B, T, 3, H, W]. Separable: one grouped 1-D convolution along each axis,
    every (clip, frame, channel) plane with its clip's kernel; edges are reflected.
    """
    b, t, c, h, w = x.shape
    top = float(sigma.max()) if sigma.numel() else 0.0
    if top <= 0:
        return x
    radius = max(1, min(int(math.ceil(3 * top)), (min(h, w) - 1) // 2))
    offsets = torch.arange(-radius, radius + 1, device=x.device, dtype=torch.float32)
    s = sigma.float().clamp(min=1e-6).view(-1, 1)
    kernel = torch.exp(-0.5 * (offsets / s) ** 2)
    kernel = torch.where((sigma > 0).view(-1, 1), kernel, (offsets == 0).float())  # sigma 0: identity
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(t * c, dim=0)  # [B*T*3, k]
    planes = x.reshape(1, b * t * c, h, w)
    planes = F.pad(planes, (radius, radius, 0, 0), mode="reflect")
    planes = F.conv2d(planes, kernel.view(-1, 1, 1, 2 * radius + 1), groups=b * t * c)
    planes = F.pad(planes, (0, 0, radius, radius), mode="reflect")
    planes = F.conv2d(planes, kernel.view(-1, 1, 2 * radius + 1, 1), groups=b * t * c)
    return planes.view(b, t, c, h, w)


def merge_backgrounds(x: torch.Tensor, share: torch.Tensor, donor: torch.Tensor) -> torch.Tensor:
    """Paste each clip's moving foreground onto another clip's background (FAME).

    Ding et al., "Motion-aware Contrastive Video Representation Learning via
    Foreground-background Merging", CVPR 2022. A video is told apart from the others
    most cheaply by its static backdrop; when one view shows the same moving subject
    over a different video's backdrop, the match must come from the subject.

    x: float [B, T, 3, H, W];  share: [B], the fraction of each clip's pixels kept as
    foreground (0: the clip is left as it is). The foreground is where the clip
    changes most over its frames (per-pixel standard deviation, smoothed over a 5x5
    window); clip b's background comes from clip ``donor[b]`` (int64 [B]). A
    one-frame clip shows no motion and is left as it is.
    """
    b, t, _, h, w = x.shape
    if t < 2:
        return x
    # Per-pixel std over the frames, written out: torch's std over a short outer dim
    # of a large tensor takes ~30x longer on the CPU (256 ms against 8 ms for `small`).
    deviation = x - x.mean(dim=1, keepdim=True)
    motion = deviation.square().sum(dim=1).div(t - 1).sqrt().mean(dim=1, keepdim=True)  # [B, 1, H, W]
    motion = F.avg_pool2d(motion, 5, stride=1, padding=2, count_include_pad=False).flatten(1)
    ranked = motion.sort(dim=1, descending=True).values
    k = (share.float() * h * w).long().clamp(1, h * w) - 1
    mask = (motion >= ranked.gather(1, k.view(-1, 1))) | (share <= 0).view(-1, 1)
    mask = mask.view(b, 1, 1, h, w).to(x.dtype)
    return mask * x + (1 - mask) * x[donor]


def merge_donors(n: int, device: torch.device) -> torch.Tensor:
    """Donor rows for ``n`` videos' two views laid out sample-major (row 2i + k): view k of
    video i takes the backdrop of video i + 1 + k, so the two views of a video get two
    different videos' backdrops and share nothing but their subject. int64 [2n]."""
    row = torch.arange(2 * n, device=device)
    return (row + 2 + 2 * (row % 2)) % (2 * n)


def _luma_matrix(device: torch.device) -> torch.Tensor:
    """[3, 3]: RGB -> grey replicated on all three channels."""
    return torch.tensor(LUMA, device=device, dtype=torch.float64).expand(3, 3)


def _hue_matrices(hue: torch.Tensor) -> torch.Tensor:
    """[B] hue shifts in turns -> [B, 3, 3] float64 RGB matrices rotating chroma in YIQ space.

    A rotation of the (I, Q) plane keeps luma and saturation and turns the hue
    angle, the linear analogue of torchvision's HSV hue shift; unlike HSV it is
    one matrix per clip, so it composes with the other colour operations.
    """
    rgb2yiq = torch.tensor(
        [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]],
        dtype=torch.float64, device=hue.device,
    )
    yiq2rgb = torch.linalg.inv(rgb2yiq)
    angle = hue.double() * 2 * math.pi
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = torch.zeros(hue.shape[0], 3, 3, dtype=torch.float64, device=hue.device)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2] = cos, -sin
    rot[:, 2, 1], rot[:, 2, 2] = sin, cos
    return yiq2rgb @ rot @ rgb2yiq


def colour_transform(x: torch.Tensor, jitter: torch.Tensor, gray: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Brightness, contrast, saturation, hue and grayscale of each clip as one affine map.

    x: float [B, T, 3, H, W] (only its mean grey is read, for contrast);
    jitter: [B, 4] (factors b, c, s; hue in turns);  gray: [B] 0/1.
    Returns (A [B, 3, 3], o [B, 3]) with output pixel = A @ pixel + o.

    Every step is linear in RGB: brightness ``b x``; contrast ``c x + (1-c) m`` with
    ``m`` the clip's mean grey (so all frames move together); saturation
    ``s x + (1-s) grey(x)``; hue a YIQ rotation; grayscale ``grey(x)``. Composing
    them costs one pass over the pixels instead of one per step; the result is
    clamped once at the end (torchvision clamps after every step, which differs
    only for pixels pushed out of range midway).
    """
    dev = x.device
    n = x.shape[0]
    eye = torch.eye(3, dtype=torch.float64, device=dev).expand(n, 3, 3)
    luma = _luma_matrix(dev)
    b, c, s, hue = (jitter[:, i].double() for i in range(4))
    mean_grey = (x.mean(dim=(1, 3, 4)).double() * torch.tensor(LUMA, dtype=torch.float64, device=dev)).sum(1)
    a = b.view(-1, 1, 1) * eye  # brightness
    o = torch.zeros(n, 3, dtype=torch.float64, device=dev)
    a = c.view(-1, 1, 1) * a  # contrast around the brightened mean grey
    o = o + ((1 - c) * b * mean_grey).view(-1, 1)
    sat = s.view(-1, 1, 1) * eye + (1 - s).view(-1, 1, 1) * luma
    a, o = sat @ a, (sat @ o.unsqueeze(-1)).squeeze(-1)
    rot = torch.where((hue != 0).view(-1, 1, 1), _hue_matrices(hue), eye)  # exact identity at hue 0
    a, o = rot @ a, (rot @ o.unsqueeze(-1)).squeeze(-1)
    g = torch.where((gray > 0.5).view(-1, 1, 1), luma.expand(n, 3, 3), eye)
    a, o = g @ a, (g @ o.unsqueeze(-1)).squeeze(-1)
    return a.float(), o.float()


def apply_colour(x: torch.Tensor, a: torch.Tensor, o: torch.Tensor) -> torch.Tensor:
    """x: [B, T, 3, H, W]; per-clip A [B, 3, 3], o [B, 3] -> clamp(A x + o) in [0, 1]."""
    y = torch.einsum("bij,btjhw->btihw", a, x) + o.view(-1, 1, 3, 1, 1)
    return y.clamp_(0, 1)


def colour_jitter(x: torch.Tensor, jitter: torch.Tensor) -> torch.Tensor:
    """Brightness, contrast, saturation and hue per clip; factors 1, 1, 1 and hue 0 change nothing."""
    return apply_colour(x, *colour_transform(x, jitter, torch.zeros(x.shape[0], device=x.device)))


def to_grayscale(x: torch.Tensor, gray: torch.Tensor) -> torch.Tensor:
    """x: [B, T, 3, H, W]; clips with ``gray`` == 1 become grey (3 equal channels)."""
    ident = torch.tensor([[1.0, 1.0, 1.0, 0.0]], device=x.device).expand(x.shape[0], 4)
    return apply_colour(x, *colour_transform(x, ident, gray))


def normalise(x: torch.Tensor, per_clip: bool = False) -> torch.Tensor:
    """[B, T, 3, H, W] in [0, 1] -> [B, 3, T, H, W] standardised, the encoders' layout.

    ``per_clip``: standardise each clip's channels by their own mean and std over the
    clip (all frames together, so motion and relative brightness are kept). Short
    videos wear filters and colour grades that say nothing about their content; this
    removes global brightness, contrast and colour cast before the encoder sees them,
    so a small model spends its capacity on structure and motion. Otherwise the
    fixed Kinetics-style constants.
    """
    if per_clip:
        mean = x.mean(dim=(1, 3, 4), keepdim=True)
        std = x.std(dim=(1, 3, 4), keepdim=True).clamp(min=0.02)
    else:
        mean = torch.tensor(MEAN, device=x.device, dtype=x.dtype).view(1, 1, 3, 1, 1)
        std = torch.tensor(STD, device=x.device, dtype=x.dtype).view(1, 1, 3, 1, 1)
    return ((x - mean) / std).transpose(1, 2)


def augment_video(
    frames: torch.Tensor, params: dict[str, torch.Tensor], size: int, per_clip_norm: bool = False,
    donor: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """uint8 [B, T, S, S, 3] + per-clip params -> float [B, 3, T, size, size], normalised.

    ``donor`` int64 [B]: the clip a merged clip takes its background from (default:
    the next one; see :func:`merge_donors` for a batch of two views per video)."""
    x = crop_resize_flip(frames, params["crop"], params["flip"], size)
    if "merge" in params:
        if donor is None:
            donor = torch.arange(1, x.shape[0] + 1, device=x.device) % x.shape[0]
        x = merge_backgrounds(x, params["merge"], donor)
    if "blur" in params:
        x = gaussian_blur(x, params["blur"] * size)
    x = apply_colour(x, *colour_transform(x, params["jitter"], params["gray"]))
    return normalise(x, per_clip_norm)
