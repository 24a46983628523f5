"""Decoded frames as pictures: squashed to the clip cache's squares, and thumbnails."""

from __future__ import annotations

import io

import numpy as np


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Turn an [H, W, 3] picture by ``rotation`` degrees counterclockwise."""
    return np.ascontiguousarray(np.rot90(image, k=rotation // 90)) if rotation else image


def square_rgb(frame, size: int, rotation: int) -> np.ndarray:
    """uint8 [size, size, 3] RGB, the whole picture squashed (swscale), upright.

    Squashing to a square commutes with quarter turns, so the (cheap) turn
    happens after the resize, on the small image.
    """
    rgb = frame.to_ndarray(width=size, height=size, format="rgb24", interpolation="AREA")
    return _upright(rgb, rotation)


def thumbnail_jpeg(frame, width: int, rotation: int) -> bytes:
    """JPEG bytes of ``frame`` upright, ``width`` pixels wide, aspect kept."""
    from PIL import Image

    turned = rotation in (90, -90)
    shown_w, shown_h = (frame.height, frame.width) if turned else (frame.width, frame.height)
    height = max(2, round(width * shown_h / shown_w))
    coded = (height, width) if turned else (width, height)
    rgb = frame.to_ndarray(width=coded[0], height=coded[1], format="rgb24", interpolation="AREA")
    out = io.BytesIO()
    Image.fromarray(_upright(rgb, rotation)).save(out, format="JPEG", quality=85)
    return out.getvalue()
