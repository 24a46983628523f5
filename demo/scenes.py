"""The demo's content categories as drawing code: each scene draws one category's
structure and motion with Pillow, in colours from a per-video palette it is handed,
so shape and movement — never colour — tell the categories apart.

Six categories (a dancing stick figure, a stirred pan seen from above, a windy
landscape, a talking head, a side-scrolling game, a turning box being unboxed) here, and
six atypical patterns that resemble none of them in :mod:`reelscope.demo.patterns`; the
:class:`~reelscope.demo.drawing.Scene` base and the shared drawing helpers are in
:mod:`reelscope.demo.drawing`. Every random choice comes from the generator passed in,
so a seed fixes the whole video. See docs/DEMO.md.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from reelscope.demo.drawing import Colour, Scene, limb, segment, shaded
from reelscope.demo.patterns import PATTERNS

CATEGORIES: tuple[str, ...] = ("dance", "cooking", "nature", "talking_head", "gaming", "product")
ATYPICAL = "atypical"
ATYPICAL_PATTERNS: tuple[str, ...] = ("spiral", "rings", "plasma", "particles", "lissajous", "mosaic")


def make_scene(category: str, pattern: Optional[str], rng: np.random.Generator, w: int, h: int,
               palette: list[Colour], background: np.ndarray, duration: float) -> "Scene":
    """The scene for ``category`` (or atypical ``pattern``), its layout drawn from ``rng``."""
    cls = PATTERNS[pattern or ATYPICAL_PATTERNS[0]] if category == ATYPICAL else _SCENES[category]
    return cls(rng, w, h, palette, background, duration)


class _Dance(Scene):
    """One to three jointed stick figures swinging limbs on a beat."""

    def __init__(self, rng, w, h, pal, background, duration):
        super().__init__(rng, w, h, pal, background, duration)
        n = int(rng.choice([1, 1, 1, 2, 3]))
        self.beat = 2 * np.pi * rng.uniform(85, 145) / 60  # rad/s of the dance beat
        self.style = int(rng.integers(3))
        self.floor = h * rng.uniform(0.78, 0.95) if rng.random() < 0.5 else None
        self.dancers = []
        for i in range(n):
            height = h * rng.uniform(0.35, 0.62) / (1.0 if n == 1 else 1.25)
            self.dancers.append(dict(
                x=w * (i + 0.5) / n + rng.uniform(-0.08, 0.08) * w,
                foot=h * rng.uniform(0.75, 0.93),
                L=height,
                phase=rng.uniform(0, 0.6) + (0.0 if rng.random() < 0.7 else np.pi),
                width=max(2, int(height * rng.uniform(0.035, 0.06))),
                body=pal[2], head=pal[int(rng.choice([2, 3]))],
            ))

    def draw(self, d, t):
        if self.floor is not None:
            d.rectangle((0, self.floor, self.w, self.h), fill=self.pal[4])
        for k in self.dancers:
            self._figure(d, k, self.beat * t + k["phase"])

    def _figure(self, d, k, b):
        L, lw, col = k["L"], k["width"], k["body"]
        s = math.sin(b)
        bob = 0.04 * L * abs(math.sin(b))
        hip = (k["x"] + 0.07 * L * math.sin(b / 2), k["foot"] - 0.42 * L - bob)
        lean = 0.15 * math.sin(b / 2)
        neck = (hip[0] + 0.32 * L * math.sin(lean), hip[1] - 0.32 * L * math.cos(lean))
        if self.style == 0:  # waving arms, stepping legs
            arms = (-(0.7 + 0.9 * (0.5 + 0.5 * s)), 0.7 + 0.9 * (0.5 - 0.5 * s))
            bends = (0.8 * math.sin(b + 1), -0.8 * math.sin(b + 1))
            legs = (-0.25 + 0.2 * s, 0.25 + 0.2 * s)
        elif self.style == 1:  # jumping jacks
            o = 0.5 + 0.5 * s
            arms, bends = (-(0.3 + 2.5 * o), 0.3 + 2.5 * o), (0.0, 0.0)
            legs = (-(0.08 + 0.4 * o), 0.08 + 0.4 * o)
            hip = (hip[0], hip[1] - 0.05 * L * o)
        else:  # alternating punches up
            arms = (-(0.4 + 2.4 * max(0.0, s)), 0.4 + 2.4 * max(0.0, -s))
            bends, legs = (-0.9 * max(0.0, -s), 0.9 * max(0.0, s)), (-0.3, 0.3 + 0.15 * s)
        for ang, bend in zip(arms, bends):
            j, tip = limb(neck, ang, bend, 0.17 * L, 0.15 * L)
            segment(d, neck, j, col, lw)
            segment(d, j, tip, col, lw)
        for ang in legs:
            j, tip = limb(hip, ang, -0.35 * ang, 0.22 * L, 0.22 * L)
            segment(d, hip, j, col, lw)
            segment(d, j, tip, col, lw)
        segment(d, hip, neck, col, lw + 1)
        r = 0.09 * L
        hc = (neck[0] + r * math.sin(lean), neck[1] - r * 1.1)
        d.ellipse((hc[0] - r, hc[1] - r, hc[0] + r, hc[1] + r), fill=k["head"])


class _Cooking(Scene):
    """Top-down round pan, small items circling as a spoon stirs them."""

    def __init__(self, rng, w, h, pal, background, duration):
        super().__init__(rng, w, h, pal, background, duration)
        self.c = (w * rng.uniform(0.38, 0.62), h * rng.uniform(0.35, 0.65))
        self.R = w * rng.uniform(0.3, 0.46)
        self.handle = rng.uniform(0, 2 * np.pi)
        self.omega = rng.choice([-1, 1]) * rng.uniform(0.8, 2.5)
        n = int(rng.integers(5, 15))
        self.items = [dict(r=self.R * rng.uniform(0.1, 0.78), a=rng.uniform(0, 2 * np.pi),
                           size=self.R * rng.uniform(0.06, 0.14), square=rng.random() < 0.4,
                           col=pal[int(rng.choice([4, 5]))], wob=rng.uniform(0, 2 * np.pi))
                      for _ in range(n)]
        self.board = None
        if rng.random() < 0.4:  # a cutting board beside the pan
            bx = rng.uniform(0, w * 0.6)
            by = rng.choice([rng.uniform(0, h * 0.12), rng.uniform(h * 0.8, h * 0.9)])
            self.board = (bx, by, bx + w * rng.uniform(0.3, 0.5), by + h * rng.uniform(0.08, 0.14))

    def draw(self, d, t):
        (cx, cy), R, pal = self.c, self.R, self.pal
        if self.board:
            d.rectangle(self.board, fill=pal[1], outline=pal[3])
        hx, hy = math.cos(self.handle), math.sin(self.handle)
        d.line(((cx + hx * R, cy + hy * R), (cx + hx * 1.9 * R, cy + hy * 1.9 * R)), fill=pal[3],
               width=max(3, int(R * 0.16)))
        d.ellipse((cx - R, cy - R, cx + R, cy + R), fill=pal[2], outline=pal[3], width=max(2, int(R * 0.08)))
        for it in self.items:
            # Inner items turn faster, as stirred food does, with a little wobble.
            a = it["a"] + self.omega * t * (1.2 - 0.6 * it["r"] / R)
            r = it["r"] * (1 + 0.08 * math.sin(3 * t + it["wob"]))
            x, y, s = cx + r * math.cos(a), cy + r * math.sin(a), it["size"]
            (d.rectangle if it["square"] else d.ellipse)((x - s, y - s, x + s, y + s), fill=it["col"])
        a = self.omega * t * 1.1
        tip = (cx + 0.55 * R * math.cos(a), cy + 0.55 * R * math.sin(a))
        end = (cx + 1.6 * R * math.cos(a + 0.5), cy + 1.6 * R * math.sin(a + 0.5))
        d.line((tip, end), fill=pal[5], width=max(2, int(R * 0.07)))
        br = R * 0.12
        d.ellipse((tip[0] - br, tip[1] - br, tip[0] + br, tip[1] + br), fill=pal[5])


class _Nature(Scene):
    """A horizon with drifting cloud blobs and grass strokes swaying in a travelling wave."""

    def __init__(self, rng, w, h, pal, background, duration):
        super().__init__(rng, w, h, pal, background, duration)
        y0 = h * rng.uniform(0.35, 0.65)
        amp, k, ph = h * rng.uniform(0.0, 0.05, 3), rng.uniform(0.5, 3, 3), rng.uniform(0, 6.3, 3)
        xs = np.linspace(0, w, 24)
        ys = y0 + sum(amp[i] * np.sin(2 * np.pi * k[i] * xs / w + ph[i]) for i in range(3))
        self.ground = [(float(x), float(y)) for x, y in zip(xs, ys)] + [(w, h), (0, h)]
        self.ground_y = lambda x: float(np.interp(x, xs, ys))
        self.sun = (w * rng.uniform(0.1, 0.9), y0 * rng.uniform(0.2, 0.7), w * rng.uniform(0.06, 0.12)) \
            if rng.random() < 0.5 else None
        self.cloud_v = rng.choice([-1, 1]) * rng.uniform(5, 20)
        self.clouds = []
        for _ in range(int(rng.integers(2, 6))):
            cx, cy, s = rng.uniform(0, w), y0 * rng.uniform(0.1, 0.8), w * rng.uniform(0.08, 0.16)
            puffs = [(rng.uniform(-1.2, 1.2) * s, rng.uniform(-0.4, 0.4) * s, s * rng.uniform(0.5, 0.9))
                     for _ in range(int(rng.integers(3, 6)))]
            self.clouds.append((cx, cy, puffs))
        n = int(rng.integers(25, 70))
        self.grass_f = rng.uniform(0.3, 1.0)
        self.grass = []
        for _ in range(n):
            x = rng.uniform(0, w)
            base = self.ground_y(x) + rng.uniform(0.02, 1.0) ** 2 * (h - self.ground_y(x))
            self.grass.append((x, base, h * rng.uniform(0.04, 0.12)))
        self.grass_amp = rng.uniform(0.2, 0.5)
        self.trees = [(rng.uniform(0, w), w * rng.uniform(0.08, 0.14))
                      for _ in range(int(rng.integers(0, 3)))]

    def draw(self, d, t):
        pal, w = self.pal, self.w
        if self.sun:
            x, y, r = self.sun
            d.ellipse((x - r, y - r, x + r, y + r), fill=pal[4])
        span = w * 1.6
        for cx, cy, puffs in self.clouds:
            x0 = (cx + self.cloud_v * t + 0.3 * w) % span - 0.3 * w  # wrap around the sky
            for dx, dy, r in puffs:
                d.ellipse((x0 + dx - r, cy + dy - r * 0.7, x0 + dx + r, cy + dy + r * 0.7), fill=pal[3])
        d.polygon(self.ground, fill=pal[2])
        for x, r in self.trees:
            gy = self.ground_y(x)
            sway = 0.05 * r * math.sin(1.3 * t + x)
            d.line(((x, gy), (x + sway, gy - 2.2 * r)), fill=pal[5], width=max(2, int(r * 0.3)))
            d.ellipse((x + sway - r, gy - 3.2 * r, x + sway + r, gy - 1.6 * r), fill=pal[5])
        for x, base, length in self.grass:
            sway = self.grass_amp * length * math.sin(2 * np.pi * self.grass_f * t - 0.05 * x)
            d.line(((x, base), (x + sway, base - length)), fill=pal[5], width=2)


class _TalkingHead(Scene):
    """An oval face on shoulders, mouth opening in speech-like bursts, eyes blinking."""

    def __init__(self, rng, w, h, pal, background, duration):
        super().__init__(rng, w, h, pal, background, duration)
        self.cx, self.cy = w * rng.uniform(0.38, 0.62), h * rng.uniform(0.3, 0.46)
        self.fw = w * rng.uniform(0.3, 0.48)
        self.fh = self.fw * rng.uniform(1.2, 1.45)
        self.shoulder_w = w * rng.uniform(0.7, 1.1)
        self.hair = rng.random() < 0.65
        self.cols = dict(skin=pal[2], shirt=pal[3], hair=pal[4], feature=pal[5])
        # Mouth opening at 50 Hz: syllables at 3.5..6 per second, grouped in phrases with pauses.
        steps = int(duration * 50) + 2
        env = np.zeros(steps, np.float32)
        pos, rate = 0, rng.uniform(3.5, 6.0)
        while pos < steps:
            for _ in range(int(rng.integers(3, 10))):
                n = int(50 / rate * rng.uniform(0.7, 1.3))
                hump = np.sin(np.linspace(0, np.pi, max(n, 2)))
                env[pos:pos + n] = rng.uniform(0.4, 1.0) * hump[:len(env[pos:pos + n])]
                pos += n
            pos += int(50 * rng.uniform(0.15, 0.6))
        self.mouth = env
        self.blinks = np.cumsum(rng.uniform(1.5, 4.5, 8))
        self.bob = (rng.uniform(0.5, 1.2), rng.uniform(0, 6.3), w * rng.uniform(0.005, 0.02))

    def draw(self, d, t):
        f, ph, amp = self.bob
        cx = self.cx + amp * math.sin(2 * np.pi * f * t * 0.5 + ph)
        cy = self.cy + amp * 0.6 * math.sin(2 * np.pi * f * t + ph)
        fw, fh, c = self.fw, self.fh, self.cols
        sw, top = self.shoulder_w, cy + fh * 0.62
        d.ellipse((cx - sw / 2, top, cx + sw / 2, top + self.h * 0.5), fill=c["shirt"])
        d.rectangle((cx - fw * 0.15, cy + fh * 0.3, cx + fw * 0.15, top + fh * 0.1), fill=c["skin"])
        if self.hair:
            d.ellipse((cx - fw * 0.56, cy - fh * 0.56, cx + fw * 0.56, cy + fh * 0.2), fill=c["hair"])
        d.ellipse((cx - fw / 2, cy - fh / 2, cx + fw / 2, cy + fh / 2), fill=c["skin"])
        ey, ex, er = cy - fh * 0.08, fw * 0.2, max(1.5, fw * 0.06)
        blinking = np.any(np.abs(self.blinks - t) < 0.08)
        for sx in (-1, 1):
            x = cx + sx * ex
            if blinking:
                d.line(((x - er, ey), (x + er, ey)), fill=c["feature"], width=2)
            else:
                d.ellipse((x - er, ey - er, x + er, ey + er), fill=c["feature"])
        mo = float(self.mouth[min(int(t * 50), len(self.mouth) - 1)])
        my, mw = cy + fh * 0.25, fw * 0.18
        open_h = 1.5 + fh * 0.12 * mo
        d.ellipse((cx - mw, my - open_h / 2, cx + mw, my + open_h / 2), fill=c["feature"])


class _Gaming(Scene):
    """A side-scrolling tile world with a jumping sprite, coins and a score bar."""

    def __init__(self, rng, w, h, pal, background, duration):
        super().__init__(rng, w, h, pal, background, duration)
        self.tile = int(rng.integers(10, 22))
        self.speed = rng.uniform(25, 70)
        self.cols = 64  # the world repeats every 64 columns
        rows_max = max(3, h // self.tile // 3)
        heights, cur = [], int(rng.integers(2, rows_max + 1))
        for _ in range(self.cols):
            if rng.random() < 0.25:
                cur = int(np.clip(cur + rng.choice([-1, 1]), 1, rows_max))
            heights.append(cur)
        self.heights = heights
        self.platforms = [(int(rng.integers(self.cols)), int(rng.integers(2, 5)),
                           int(rng.integers(rows_max + 2, rows_max + 6)))
                          for _ in range(int(rng.integers(3, 8)))]
        self.coins = [(int(rng.integers(self.cols)), int(rng.integers(rows_max + 1, rows_max + 5)))
                      for _ in range(10)]
        self.jump = (rng.uniform(0.45, 0.9), self.tile * rng.uniform(2.0, 4.0))
        self.sprite_x = w * rng.uniform(0.2, 0.45)
        self.hud = rng.random() < 0.7
        self.backdrop = rng.random() < 0.5  # a far grid scrolling at half speed (parallax)

    def draw(self, d, t):
        T, pal, h = self.tile, self.pal, self.h
        shift = self.speed * t
        if self.backdrop:
            G = 2 * T
            for gx in np.arange(-(shift / 2) % G, self.w, G):
                d.line(((gx, 0), (gx, h)), fill=pal[1], width=1)
            for gy in range(0, h, G):
                d.line(((0, gy), (self.w, gy)), fill=pal[1], width=1)
        first = int(shift // T)
        off = shift - first * T
        for c in range(self.w // T + 2):
            col = (first + c) % self.cols
            x = c * T - off
            for r in range(self.heights[col]):
                y = h - (r + 1) * T
                top = r == self.heights[col] - 1
                d.rectangle((x, y, x + T - 1, y + T - 1), fill=pal[4] if top else pal[2], outline=pal[3])
        for start, length, row in self.platforms:
            for k in range(length):
                x = ((start + k) * T - shift) % (self.cols * T)
                if x < self.w + T:
                    d.rectangle((x, h - row * T, x + T - 1, h - row * T + T - 1), fill=pal[2], outline=pal[3])
        for cc, row in self.coins:
            x = (cc * T - shift) % (self.cols * T) + T / 2
            if x < self.w + T:
                y, r = h - row * T + T / 2 + 2 * math.sin(4 * t + cc), T * 0.3
                d.ellipse((x - r, y - r, x + r, y + r), fill=pal[5])
        period, height = self.jump
        col = int((shift + self.sprite_x) // T) % self.cols
        ground = h - self.heights[col] * T
        s = T * 1.2
        y = ground - s - height * abs(math.sin(np.pi * t / period))
        x = self.sprite_x
        d.rectangle((x, y, x + s, y + s), fill=pal[5], outline=pal[3])
        d.rectangle((x + s * 0.6, y + s * 0.2, x + s * 0.8, y + s * 0.45), fill=pal[0])
        if self.hud:
            d.rectangle((0, 0, self.w, T * 1.1), fill=pal[3])
            for k in range(3):
                d.rectangle((4 + k * T, 3, 4 + k * T + T * 0.6, T * 0.8), fill=pal[5])
            d.text((self.w * 0.55, 2), f"{int(t * 37) * 10:05d}", fill=pal[0])


class _Product(Scene):
    """A box on a table turning about its vertical axis, lid opening, camera zooming."""

    def __init__(self, rng, w, h, pal, background, duration):
        super().__init__(rng, w, h, pal, background, duration)
        self.dims = np.array([rng.uniform(0.35, 0.6), rng.uniform(0.25, 0.55), rng.uniform(0.25, 0.5)]) * w
        self.c = (w * rng.uniform(0.4, 0.6), h * rng.uniform(0.42, 0.6))
        self.theta0, self.omega = rng.uniform(0, 2 * np.pi), rng.choice([-1, 1]) * rng.uniform(0.4, 1.4)
        self.elev = rng.uniform(0.25, 0.6)  # looking down on the box
        self.zoom = (rng.uniform(0.8, 1.1), rng.uniform(-0.3, 0.5))
        self.lid = (rng.uniform(0.5, 2.0), rng.uniform(1.0, 2.5)) if rng.random() < 0.6 else None
        self.table = h * rng.uniform(0.62, 0.8)
        self.label = rng.random() < 0.6

    def _project(self, p: np.ndarray, th: float, s: float) -> np.ndarray:
        """[N, 3] box coordinates (y up) -> [N, 2] image points under rotation and elevation."""
        ct, st, ce, se = math.cos(th), math.sin(th), math.cos(self.elev), math.sin(self.elev)
        x = p[:, 0] * ct + p[:, 2] * st
        z = -p[:, 0] * st + p[:, 2] * ct
        y = p[:, 1] * ce - z * se
        return np.stack([self.c[0] + s * x, self.c[1] - s * y], axis=1)

    def draw(self, d, t):
        pal = self.pal
        d.rectangle((0, self.table, self.w, self.h), fill=pal[1])
        s = self.zoom[0] * (1 + self.zoom[1] * t / max(self.duration, 1e-3))
        th = self.theta0 + self.omega * t
        a, b, c = self.dims / 2
        corners = np.array([[x, y, z] for x in (-a, a) for y in (-b, b) for z in (-c, c)])
        faces = {  # vertex indices, outward normal in box coordinates
            "front": ((1, 3, 7, 5), (0, 0, 1)), "back": ((0, 4, 6, 2), (0, 0, -1)),
            "left": ((0, 2, 3, 1), (-1, 0, 0)), "right": ((4, 5, 7, 6), (1, 0, 0)),
            "top": ((2, 6, 7, 3), (0, 1, 0)),
        }
        pts = self._project(corners, th, s)
        ct, st = math.cos(th), math.sin(th)
        lid_open = self.lid is not None and t > self.lid[0]
        for name, (idx, n) in faces.items():
            # Back-face culling: view direction is +z after rotation, tilted by the elevation.
            nz = -n[0] * st + n[2] * ct
            facing = nz * math.cos(self.elev) + n[1] * math.sin(self.elev)
            if facing <= 0:
                continue
            shade = 0.55 + 0.45 * facing
            col = pal[0] if (name == "top" and lid_open) else shaded(pal[2], shade)
            d.polygon([tuple(pts[i]) for i in idx], fill=col, outline=shaded(pal[3], 0.8))
            if self.label and name in ("front", "right"):
                quad = pts[list(idx)]
                centre = quad.mean(axis=0)
                d.polygon([tuple(centre + 0.45 * (q - centre)) for q in quad], fill=shaded(pal[4], shade))
        if lid_open:
            ang = min(1.0, (t - self.lid[0]) / self.lid[1]) * 2.0  # hinge on the back top edge
            lid = np.array([[-a, b, -c], [a, b, -c]], np.float64)
            far = np.array([[a, b + 2 * c * math.sin(ang), -c + 2 * c * math.cos(ang)],
                            [-a, b + 2 * c * math.sin(ang), -c + 2 * c * math.cos(ang)]])
            quad = self._project(np.vstack([lid[:2], far]), th, s)
            d.polygon([tuple(p) for p in quad], fill=shaded(pal[2], 0.85), outline=shaded(pal[3], 0.8))


_SCENES: dict[str, type[Scene]] = {
    "dance": _Dance, "cooking": _Cooking, "nature": _Nature,
    "talking_head": _TalkingHead, "gaming": _Gaming, "product": _Product,
}
