"""The demo's six atypical patterns: full-frame fields, a particle swarm and a Lissajous
curve that resemble none of the content categories in :mod:`reelscope.demo.scenes`, so
the originality analysis has true outliers to find. Every random choice comes from the
generator passed in.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from reelscope.demo.drawing import Scene


class _Field(Scene):
    """A full-frame scalar field mapped through the palette: nothing like any category."""

    def __init__(self, rng, w, h, pal, background, duration):
        super().__init__(rng, w, h, pal, background, duration)
        stops = np.array(pal[:4], np.float32)
        pos = np.linspace(0, 1, len(stops))
        x = np.linspace(0, 1, 256)
        self.lut = np.stack([np.interp(x, pos, stops[:, k]) for k in range(3)], axis=1).astype(np.uint8)
        self.y, self.x = np.mgrid[0:h, 0:w].astype(np.float32)
        self.p = rng.uniform(0, 1, 8)

    def frame(self, t):
        v = self.field(t)  # float [h, w] in -1..1
        idx = ((v * 0.5 + 0.5) * 255).clip(0, 255).astype(np.uint8)
        return Image.fromarray(self.lut[idx])

    def field(self, t: float) -> np.ndarray:
        raise NotImplementedError


class _Spiral(_Field):
    def field(self, t):
        p = self.p
        dx, dy = self.x - self.w * (0.3 + 0.4 * p[0]), self.y - self.h * (0.3 + 0.4 * p[1])
        r, a = np.sqrt(dx * dx + dy * dy) + 1, np.arctan2(dy, dx)
        return np.sin((2 + int(p[2] * 6)) * a + (4 + 8 * p[3]) * np.log(r) - (2 + 4 * p[4]) * t)


class _Rings(_Field):
    def field(self, t):
        p = self.p
        cx = self.w * (0.5 + 0.3 * math.sin(t * (0.5 + p[0])))
        cy = self.h * (0.5 + 0.3 * math.cos(t * (0.4 + p[1])))
        r = np.sqrt((self.x - cx) ** 2 + (self.y - cy) ** 2)
        return np.sign(np.sin(r / (3 + 6 * p[2]) - (3 + 5 * p[3]) * t))


class _Plasma(_Field):
    def field(self, t):
        p, x, y = self.p, self.x / self.w * 6, self.y / self.h * 10
        v = np.sin(x * (1 + p[0]) + t) + np.sin(y * (0.5 + p[1]) - 1.3 * t)
        v += np.sin((x + y) * (0.5 + p[2]) + 0.7 * t) + np.sin(np.sqrt(x * x + y * y) * (1 + p[3]) - t)
        return v / 4


class _Mosaic(_Field):
    """Blocks flipping at random every frame: temporal white noise, unlike any scene."""

    def __init__(self, rng, w, h, pal, background, duration):
        super().__init__(rng, w, h, pal, background, duration)
        self.rng, self.cell = rng, int(rng.integers(8, 24))

    def field(self, t):
        small = self.rng.uniform(-1, 1, (self.h // self.cell + 1, self.w // self.cell + 1)).astype(np.float32)
        return np.repeat(np.repeat(small, self.cell, 0), self.cell, 1)[: self.h, : self.w]


class _Particles(Scene):
    """A swarm of dots on a random walk."""

    def __init__(self, rng, w, h, pal, background, duration):
        super().__init__(rng, w, h, pal, background, duration)
        n = int(rng.integers(80, 250))
        steps = int(duration * 60) + 2
        walk = rng.normal(0, rng.uniform(1, 3), (steps, n, 2)).cumsum(axis=0)
        start = rng.uniform((0, 0), (w, h), (n, 2))
        self.pos = (start + walk) % (w, h)
        self.r = rng.uniform(1, 3, n)
        self.cols = [pal[int(i)] for i in rng.integers(2, 6, n)]

    def draw(self, d, t):
        for (x, y), r, c in zip(self.pos[min(int(t * 60), len(self.pos) - 1)], self.r, self.cols):
            d.ellipse((x - r, y - r, x + r, y + r), fill=c)


class _Lissajous(Scene):
    """A thick morphing Lissajous curve."""

    def __init__(self, rng, w, h, pal, background, duration):
        super().__init__(rng, w, h, pal, background, duration)
        self.a, self.b = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        self.speed, self.width = rng.uniform(0.5, 2.0), int(rng.integers(2, 6))
        self.u = np.linspace(0, 2 * np.pi, 300)

    def draw(self, d, t):
        x = self.w * (0.5 + 0.42 * np.sin(self.a * self.u + self.speed * t))
        y = self.h * (0.5 + 0.42 * np.sin(self.b * self.u))
        d.line(list(zip(x.tolist(), y.tolist())), fill=self.pal[3], width=self.width)


PATTERNS: dict[str, type[Scene]] = {
    "spiral": _Spiral, "rings": _Rings, "plasma": _Plasma,
    "particles": _Particles, "lissajous": _Lissajous, "mosaic": _Mosaic,
}
