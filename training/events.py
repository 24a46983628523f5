"""The training package's own small progress interface (it cannot import reelscope.core).

A job takes ``progress`` — any callable accepting a :class:`TrainEvent` — and
``should_stop`` — a callable returning True once the caller wants it to stop.
``reelscope.core.encoding.train`` adapts both to core's Reporter/Progress/CancelToken.
A child process (``python -m reelscope.training RUN_DIR --progress jsonl``) sends
each event to its parent as one line of JSON (:meth:`TrainEvent.to_json`), which
the parent turns back into the same event (:meth:`TrainEvent.from_json`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class TrainEvent:
    """One progress event — the one event type of every long job in Reelscope: training
    owns it and ``reelscope.core.progress`` re-exports it as ``Progress``.

    ``stage`` names the job's phase in the user's words: "prepare", "train",
    "checkpoint" or "embed" here; "import", "analyze", "report"... in core.
    ``done``/``total`` count its units (steps, videos), ``total`` None when unknown;
    ``eta_s`` the estimated seconds left; ``metrics`` live figures (loss, lr,
    samples/s, epoch...).
    """

    stage: str
    done: int
    total: Optional[int] = None
    message: str = ""
    eta_s: Optional[float] = None
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def fraction(self) -> Optional[float]:
        """done / total in [0, 1], None when the total is unknown."""
        if not self.total:
            return None
        return min(1.0, self.done / self.total)

    def to_json(self) -> str:
        """One line of JSON: ``{"event": "progress", "stage": ..., "done": ..., "total": ...,
        "message": ..., "eta_s": ..., "metrics": {...}}`` (non-finite numbers as null)."""
        return json_line({"event": "progress", **asdict(self)})

    @classmethod
    def from_json(cls, text: str) -> "TrainEvent":
        """The event :meth:`to_json` wrote; keys it does not know are ignored."""
        record = json.loads(text)
        if record.get("event", "progress") != "progress":
            raise ValueError(f"not a progress event: {text[:80]!r}")
        return cls(**{f.name: record[f.name] for f in fields(cls) if f.name in record})


ProgressFn = Callable[[TrainEvent], None]
StopFn = Callable[[], bool]


def json_line(record: dict[str, Any]) -> str:
    """``record`` as one line of strict JSON: NaN and infinities (a diverged loss) become null."""
    return json.dumps(_finite(record))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def no_progress(_: TrainEvent) -> None:
    pass


def never_stop() -> bool:
    return False
