"""The learning-rate schedule: linear warmup then cosine decay, as a pure function.

It is a function of *progress* p in [0, 1] rather than of the step, so the same
curve serves a run sized in epochs (p = step / total steps) and a run sized by
a time budget (p = training seconds / budget): the schedule is laid over
whatever the run is allowed to do.
"""

from __future__ import annotations

import math


def lr_at(progress: float, base_lr: float, warmup: float = 0.05, final_frac: float = 0.01) -> float:
    """Learning rate at ``progress`` (0 = start, 1 = end of the planned training).

    Rises linearly from 0 over the first ``warmup`` fraction, then follows half a
    cosine from ``base_lr`` down to ``final_frac * base_lr`` at progress 1 (and stays there).
    """
    p = min(max(progress, 0.0), 1.0)
    if warmup > 0 and p < warmup:
        return base_lr * p / warmup
    span = max(1.0 - warmup, 1e-12)
    cosine = 0.5 * (1 + math.cos(math.pi * (p - warmup) / span))
    final = final_frac * base_lr
    return final + (base_lr - final) * cosine
