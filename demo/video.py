"""Picture synthesis for the demo library: a category's scene under per-video colour
grading, camera moves, sensor noise and captions that hide what colour could tell.

Every video is drawn from one integer seed. A scene (:mod:`reelscope.demo.scenes`)
draws its structure in colours from a random per-video palette (no category owns a colour),
then a virtual camera crops/zooms/shakes, a colour grade (hue rotation over the whole
circle, saturation, contrast, filters) and sensor noise are applied, and caption bars
are laid over the graded picture the way an editing app would. The hard demo
(:func:`harden_visual_plan`) grades harder, lets the hue wander and adds drifting stickers.
See docs/DEMO.md.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, replace
from typing import Iterator, Optional

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont

from reelscope.demo.scenes import Colour, make_scene

FILTERS: tuple[str, ...] = ("none", "sepia", "grayscale", "warm", "cool", "fade")
_FILTER_P = (0.45, 0.1, 0.1, 0.12, 0.12, 0.11)


@dataclass(frozen=True)
class Look:
    """Per-video colour grade and camera, independent of the content category."""

    hue_deg: float
    saturation: float
    contrast: float
    brightness: float  # added after contrast, in 0..255 units
    filter: str
    noise_sd: float  # sensor noise, 0..255 units
    vignette: float  # 0 = none, 0.5 = corners at half brightness
    zoom: float  # crop zoom at the start (>= 1)
    zoom_end: float  # ... and at the end: a slow push-in or pull-out
    center: tuple[float, float]  # crop centre as a fraction of the free margin
    shake_px: float  # handheld shake amplitude
    hue_drift_deg: float = 0.0  # the hard demo's grade wanders this far in hue over the video


@dataclass(frozen=True)
class Sticker:
    """An overlay an editing app lays on top (emoji-like shape), drifting and maybe blinking;
    positions are fractions of the frame, velocities fractions per second."""

    shape: str  # "disc" | "box" | "star" | "ring"
    colour: tuple[int, int, int]
    size: float  # fraction of the frame width
    x: float
    y: float
    vx: float
    vy: float
    blink_hz: float  # 0 = always shown


@dataclass(frozen=True)
class Caption:
    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class VisualPlan:
    """Everything needed to draw one video's frames; ``pattern`` only for atypical videos."""

    category: str
    pattern: Optional[str]
    seed: int
    width: int
    height: int
    fps: int
    frames: int
    look: Look
    captions: tuple[Caption, ...] = ()
    stickers: tuple[Sticker, ...] = ()


def draw_look(rng: np.random.Generator) -> Look:
    """A random grade and camera, drawn the same way for every category."""
    zoom = float(rng.uniform(1.0, 1.3)) if rng.random() < 0.6 else 1.0
    zoom_end = float(np.clip(zoom + rng.uniform(-0.2, 0.3), 1.0, 1.5)) if rng.random() < 0.35 else zoom
    shake = float(rng.uniform(1.0, 4.0)) if rng.random() < 0.25 else 0.0
    return Look(
        hue_deg=float(rng.uniform(0, 360)),
        saturation=float(rng.uniform(0.5, 1.4)),
        contrast=float(rng.uniform(0.75, 1.3)),
        brightness=float(rng.uniform(-30, 30)),
        filter=str(rng.choice(FILTERS, p=_FILTER_P)),
        noise_sd=float(rng.uniform(0, 7)),
        vignette=float(rng.uniform(0.2, 0.6)) if rng.random() < 0.25 else 0.0,
        zoom=zoom,
        zoom_end=zoom_end,
        center=(float(rng.random()), float(rng.random())),
        shake_px=shake,
    )


def harden_visual_plan(rng: np.random.Generator, plan: VisualPlan) -> VisualPlan:
    """The hard demo's edit of ``plan``: a stronger grade (wider saturation, contrast and
    brightness, a filter more often, a hue that wanders during the video, more noise and
    vignette), a moving camera, and 2-5 drifting stickers over the picture."""
    lk = plan.look
    zoom = float(rng.uniform(1.1, 1.5))
    look = replace(
        lk,
        saturation=float(rng.uniform(0.2, 1.8)), contrast=float(rng.uniform(0.5, 1.6)),
        brightness=float(rng.uniform(-60, 60)),
        filter=str(rng.choice(FILTERS, p=(0.2, 0.16, 0.16, 0.16, 0.16, 0.16))),
        noise_sd=float(rng.uniform(3, 14)), vignette=float(rng.uniform(0.2, 0.7)) if rng.random() < 0.6 else 0.0,
        zoom=zoom, zoom_end=float(np.clip(zoom + rng.uniform(-0.3, 0.3), 1.0, 1.8)),
        shake_px=float(rng.uniform(2, 8)) if rng.random() < 0.7 else 0.0,
        hue_drift_deg=float(rng.uniform(-120, 120)),
    )
    stickers = []
    for _ in range(int(rng.integers(2, 6))):
        r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.4, 1.0), rng.uniform(0.5, 1.0))
        speed = rng.uniform(0.0, 0.25)
        angle = rng.uniform(0, 2 * np.pi)
        stickers.append(Sticker(str(rng.choice(_STICKER_SHAPES)), (int(r * 255), int(g * 255), int(b * 255)),
                                float(rng.uniform(0.12, 0.35)), float(rng.random()), float(rng.random()),
                                float(speed * math.cos(angle)), float(speed * math.sin(angle)),
                                float(rng.uniform(0.5, 3.0)) if rng.random() < 0.4 else 0.0))
    return replace(plan, look=look, stickers=tuple(stickers))


def render_frames(plan: VisualPlan) -> Iterator[np.ndarray]:
    """Yield ``plan.frames`` uint8 [H, W, 3] RGB frames."""
    rng = np.random.default_rng(plan.seed)
    w, h = plan.width, plan.height
    palette = _palette(rng)
    background = _background(rng, w, h, palette)
    duration = plan.frames / plan.fps
    scene = make_scene(plan.category, plan.pattern, rng, w, h, palette, background, duration)
    camera = _Camera(plan.look, w, h, duration)
    grade = _Grade(plan.look, w, h, rng)
    captions = _CaptionLayer(plan.captions, w, h, rng)
    stickers = _StickerLayer(plan.stickers, w, h) if plan.stickers else None
    for i in range(plan.frames):
        t = i / plan.fps
        if plan.look.hue_drift_deg:
            grade.set_hue(plan.look.hue_deg + plan.look.hue_drift_deg * t / duration)
        frame = grade(camera(scene.frame(t), t), i)
        if stickers is not None:
            stickers.apply(frame, t)
        captions.apply(frame, t)
        yield frame


# ---------------------------------------------------------------- colours
def _palette(rng: np.random.Generator, n: int = 6) -> list[Colour]:
    """``n`` unrelated random colours; roles (background, figure, accents) index into it."""
    out = []
    for _ in range(n):
        r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.15, 0.95), rng.uniform(0.2, 0.98))
        out.append((int(r * 255), int(g * 255), int(b * 255)))
    return out


def _background(rng: np.random.Generator, w: int, h: int, pal: list[Colour]) -> np.ndarray:
    """A category-independent backdrop texture: uint8 [h, w, 3]."""
    a, b = np.array(pal[0], np.float32), np.array(pal[1], np.float32)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    kind = rng.integers(6)
    if kind == 0:  # flat
        f = np.zeros((h, w), np.float32)
    elif kind == 1:  # gradient at a random angle
        ang = rng.uniform(0, 2 * np.pi)
        f = (x * math.cos(ang) + y * math.sin(ang))
        f = (f - f.min()) / (np.ptp(f) + 1e-6)
    elif kind == 2:  # stripes
        ang, period = rng.uniform(0, np.pi), rng.uniform(8, 40)
        f = (np.sin((x * math.cos(ang) + y * math.sin(ang)) * 2 * np.pi / period) > 0).astype(np.float32)
        f *= rng.uniform(0.2, 0.8)
    elif kind == 3:  # checker
        s = int(rng.integers(8, 32))
        f = (((x // s) + (y // s)) % 2).astype(np.float32) * rng.uniform(0.15, 0.6)
    elif kind == 4:  # smooth blobs: random low-res field upsampled
        small = rng.random((int(rng.integers(3, 8)), int(rng.integers(3, 8)))).astype(np.float32)
        f = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC),
                       np.float32) / 255.0
    else:  # bokeh dots
        img = Image.new("L", (w, h), 0)
        d = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(6, 20))):
            cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(4, 20)
            d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=int(rng.uniform(80, 255)))
        f = np.asarray(img, np.float32) / 255.0
    out = a[None, None, :] * (1 - f[..., None]) + b[None, None, :] * f[..., None]
    return out.clip(0, 255).astype(np.uint8)


# ------------------------------------------------- camera, grade, captions
class _Camera:
    """Crop-zoom with a slow push and handheld shake, resampled back to the frame size."""

    def __init__(self, look: Look, w: int, h: int, duration: float) -> None:
        self.look, self.w, self.h, self.duration = look, w, h, max(duration, 1e-3)

    def __call__(self, image: Image.Image, t: float) -> Image.Image:
        lk = self.look
        z = lk.zoom + (lk.zoom_end - lk.zoom) * t / self.duration
        if z <= 1.0 and lk.shake_px == 0:
            return image
        z = max(z, 1.0 + 2 * lk.shake_px / self.w)  # keep room for the shake
        bw, bh = self.w / z, self.h / z
        x0 = (self.w - bw) * lk.center[0] + lk.shake_px * math.sin(7.1 * t) * math.sin(2.3 * t + 1)
        y0 = (self.h - bh) * lk.center[1] + lk.shake_px * math.sin(5.3 * t + 2) * math.cos(1.7 * t)
        x0, y0 = min(max(x0, 0.0), self.w - bw), min(max(y0, 0.0), self.h - bh)
        return image.resize((self.w, self.h), Image.BILINEAR, box=(x0, y0, x0 + bw, y0 + bh))


_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_FILTER_MATRIX = {
    "none": np.eye(3, dtype=np.float32),
    "sepia": np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], np.float32),
    "grayscale": np.tile(_LUMA, (3, 1)),
    "warm": np.diag([1.12, 1.0, 0.82]).astype(np.float32),
    "cool": np.diag([0.85, 1.0, 1.15]).astype(np.float32),
    "fade": np.eye(3, dtype=np.float32) * 0.8 + 0.2 * np.tile(_LUMA, (3, 1)),
}


class _Grade:
    """Colour matrix (hue rotation, saturation, filter), contrast, vignette and noise."""

    def __init__(self, look: Look, w: int, h: int, rng: np.random.Generator) -> None:
        self.look = look
        self.set_hue(look.hue_deg)
        self.vignette = None
        if look.vignette:
            y, x = np.mgrid[0:h, 0:w].astype(np.float32)
            r2 = ((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2
            gain = (1 - look.vignette * np.clip(r2 / 2, 0, 1)) * 255
            self.vignette = Image.fromarray(np.repeat(gain[..., None], 3, 2).astype(np.uint8))
        # A small bank of noise frames, cycled: fresh noise per frame costs more than it adds.
        self.noise = (np.round(rng.standard_normal((4, h, w, 1)) * look.noise_sd).astype(np.int16)
                      if look.noise_sd > 0.5 else None)

    def set_hue(self, hue_deg: float) -> None:
        """Rebuild the colour matrix for a hue rotation of ``hue_deg`` degrees."""
        look = self.look
        a = math.radians(hue_deg)
        k = np.ones(3, np.float32) / math.sqrt(3)  # rotate about the grey axis
        kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]], np.float32)
        hue = np.eye(3, dtype=np.float32) + math.sin(a) * kx + (1 - math.cos(a)) * (kx @ kx)
        sat = look.saturation * np.eye(3, dtype=np.float32) + (1 - look.saturation) * np.tile(_LUMA, (3, 1))
        m = _FILTER_MATRIX[look.filter] @ sat @ hue
        # Fold contrast into the matrix and offset: out = c*(M x - 128) + 128 + b; Pillow
        # applies a 3x4 matrix in C, three times faster than numpy on frames this small.
        lift = 20 if look.filter == "fade" else 0  # faded blacks
        offset = 128 * (1 - look.contrast) + look.brightness + lift
        self.matrix = tuple(float(v) for row in look.contrast * m for v in (*row, offset))

    def __call__(self, image: Image.Image, i: int) -> np.ndarray:
        """The graded picture as a writable uint8 [H, W, 3] array."""
        image = image.convert("RGB", self.matrix)
        if self.vignette is not None:
            image = ImageChops.multiply(image, self.vignette)
        if self.noise is None:
            return np.array(image)
        noise = self.noise[i % 4] if i % 8 < 4 else self.noise[i % 4][::-1]
        return np.clip(np.asarray(image).astype(np.int16) + noise, 0, 255).astype(np.uint8)


class _CaptionLayer:
    """Text bars composited over the graded frame, as an editing app lays them."""

    def __init__(self, captions: tuple[Caption, ...], w: int, h: int, rng: np.random.Generator) -> None:
        self.bars = []
        font = ImageFont.load_default(size=max(8, int(w * rng.uniform(0.065, 0.09))))
        dark = rng.random() < 0.6
        for cap in captions:
            box = font.getbbox(cap.text)
            tw, th = box[2] - box[0] + 8, box[3] - box[1] + 8
            tw = min(tw, w)
            layer = Image.new("RGBA", (tw, th), (0, 0, 0, 160) if dark else (255, 255, 255, 190))
            ImageDraw.Draw(layer).text((4 - box[0], 4 - box[1]), cap.text, font=font,
                                       fill=(255, 255, 255, 255) if dark else (0, 0, 0, 255))
            rgba = np.asarray(layer, np.float32)
            x = int(rng.uniform(0, w - tw + 1))
            y = int(rng.uniform(0.08, 0.88) * (h - th))
            self.bars.append((cap, x, y, rgba[..., :3], rgba[..., 3:] / 255.0))

    def apply(self, frame: np.ndarray, t: float) -> None:
        for cap, x, y, rgb, alpha in self.bars:
            if cap.start_s <= t < cap.end_s:
                region = frame[y:y + rgb.shape[0], x:x + rgb.shape[1]]
                region[:] = (region * (1 - alpha) + rgb * alpha).astype(np.uint8)


_STICKER_SHAPES = ("disc", "box", "star", "ring")


class _StickerLayer:
    """Stickers drawn once as RGBA sprites, composited where each has drifted to (bouncing
    off the frame's edges), blinking ones shown half of each period."""

    def __init__(self, stickers: tuple[Sticker, ...], w: int, h: int) -> None:
        self.w, self.h, self.items = w, h, []
        for st in stickers:
            s = max(4, int(st.size * w))
            img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
            d = ImageDraw.Draw(img)
            fill = (*st.colour, 255)
            if st.shape == "disc":
                d.ellipse((0, 0, s - 1, s - 1), fill=fill, outline=(255, 255, 255, 255), width=max(1, s // 12))
            elif st.shape == "box":
                d.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 5, fill=fill)
            elif st.shape == "ring":
                d.ellipse((0, 0, s - 1, s - 1), outline=fill, width=max(2, s // 5))
            else:  # five-pointed star
                c = (s - 1) / 2
                pts = [(c + c * (1 if k % 2 == 0 else 0.45) * math.sin(k * math.pi / 5),
                        c - c * (1 if k % 2 == 0 else 0.45) * math.cos(k * math.pi / 5)) for k in range(10)]
                d.polygon(pts, fill=fill)
            rgba = np.asarray(img, np.float32)
            self.items.append((st, s, rgba[..., :3], rgba[..., 3:] / 255.0))

    def apply(self, frame: np.ndarray, t: float) -> None:
        for st, s, rgb, alpha in self.items:
            if st.blink_hz and (t * st.blink_hz) % 1.0 >= 0.5:
                continue
            x = int(_bounce(st.x + st.vx * t) * (self.w - s))
            y = int(_bounce(st.y + st.vy * t) * (self.h - s))
            region = frame[y:y + s, x:x + s]
            a = alpha[:region.shape[0], :region.shape[1]]
            region[:] = (region * (1 - a) + rgb[:region.shape[0], :region.shape[1]] * a).astype(np.uint8)


def _bounce(u: float) -> float:
    """Fold a position in fractions of the free range back into 0..1, as a ball off walls."""
    u = u % 2.0
    return 2.0 - u if u > 1.0 else u
