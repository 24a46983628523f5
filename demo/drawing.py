"""What every demo scene is drawn with: the :class:`Scene` base, which paints a fresh
Pillow image over the video's background each frame, and the small drawing helpers the
scenes share. Colours are RGB tuples from the per-video palette a scene is handed.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

Colour = tuple[int, int, int]


class Scene:
    """Draws one category's structure; ``frame(t)`` returns a fresh PIL image."""

    def __init__(self, rng: np.random.Generator, w: int, h: int, pal: list[Colour],
                 background: np.ndarray, duration: float) -> None:
        self.w, self.h, self.pal, self.background, self.duration = w, h, pal, background, duration

    def frame(self, t: float) -> Image.Image:
        image = Image.fromarray(self.background)
        self.draw(ImageDraw.Draw(image), t)
        return image

    def draw(self, d: ImageDraw.ImageDraw, t: float) -> None:
        raise NotImplementedError


def shaded(c: Colour, f: float) -> Colour:
    """``c`` with every channel times ``f``, kept in 0..255."""
    return tuple(int(min(255, max(0, v * f))) for v in c)  # type: ignore[return-value]


def segment(d: ImageDraw.ImageDraw, p: tuple[float, float], q: tuple[float, float], fill: Colour,
            width: int) -> None:
    """A thick line from ``p`` to ``q`` with a round joint at ``q``."""
    d.line((p, q), fill=fill, width=width)
    r = width / 2
    d.ellipse((q[0] - r, q[1] - r, q[0] + r, q[1] + r), fill=fill)  # rounded joint


def limb(origin: tuple[float, float], angle: float, bend: float, l1: float, l2: float
         ) -> tuple[tuple[float, float], tuple[float, float]]:
    """Joint and tip of a two-segment limb; angles from straight down, image y grows down."""
    j = (origin[0] + l1 * math.sin(angle), origin[1] + l1 * math.cos(angle))
    a2 = angle + bend
    return j, (j[0] + l2 * math.sin(a2), j[1] + l2 * math.cos(a2))
