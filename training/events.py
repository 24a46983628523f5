"""The training package's own small progress interface (it cannot import reelscope.core).

A job takes ``progress`` — any callable accepting a :class:`TrainEvent` — and
``should_stop`` — a callable returning True once the caller wants it to stop.
``reelscope.core.train`` adapts both to core's Reporter/Progress/CancelToken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class TrainEvent:
    """One progress event.

    ``stage``: "prepare", "train", "checkpoint" or "embed"; ``done``/``total`` count
    steps (train) or videos (embed), ``total`` None when unknown; ``eta_s`` the
    estimated seconds left; ``metrics`` live figures (loss, lr, samples/s, epoch...).
    """

    stage: str
    done: int
    total: Optional[int] = None
    message: str = ""
    eta_s: Optional[float] = None
    metrics: dict[str, Any] = field(default_factory=dict)


ProgressFn = Callable[[TrainEvent], None]
StopFn = Callable[[], bool]


def no_progress(_: TrainEvent) -> None:
    pass


def never_stop() -> bool:
    return False
