"""The one timing helper of the benchmarks (each bench script imports it from beside itself)."""

from __future__ import annotations

import time
from typing import Any, Callable


def best_time(fn: Callable[[], Any], repeats: int = 1) -> tuple[float, Any]:
    """(best seconds of ``repeats`` calls, last result): the timing every bench uses."""
    best, result = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result
