"""One number formatter: likes are rounded the same way in the report, the CLI and the
window, and every figure shows "–" when it is unknown.

A minus sign is the typographic "−" (U+2212), not a hyphen. Pure Python: safe to import
anywhere, it loads nothing heavy.
"""

from __future__ import annotations

import math
from typing import Any

UNKNOWN = "–"


def format_likes(x: Any) -> str:
    """Likes for people, three significant figures or all the digits below 10,000:
    9,870 · 12.3k · 558k · 1.2M (and – when unknown)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return UNKNOWN
    x = float(x)
    if x >= 1e6:
        return f"{x / 1e6:.1f}M"
    if x >= 1e5:
        return f"{x / 1e3:.0f}k"
    return f"{x / 1e3:.1f}k" if x >= 1e4 else f"{x:,.0f}"


def format_number(x: Any, digits: int, suffix: str = "") -> str:
    """``x`` with ``digits`` decimals and a true minus sign: −0.12, 1.40×."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return UNKNOWN
    return f"{float(x):.{digits}f}".replace("-", "−") + suffix


def format_percent(x: Any) -> str:
    """A share 0..1 as whole percent: 0.834 -> "83 %"."""
    return UNKNOWN if x is None else f"{float(x) * 100:.0f} %"


def format_count(x: Any) -> str:
    """A count with thousands separators: 12,345."""
    return UNKNOWN if x is None else f"{int(x):,}"
