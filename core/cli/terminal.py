"""Renders core progress events as terminal progress bars (on stderr) and handles Ctrl-C."""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from typing import Iterator, Optional

from reelscope.core.progress import CancelToken, Progress


class TerminalProgress:
    """A progress callback drawing one tqdm bar per stage; silent when ``quiet``."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._bars: dict[str, object] = {}

    def __call__(self, event: Progress) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        bar = self._bars.get(event.stage)
        if bar is None:
            self.close()  # one live bar at a time: a new stage finishes the previous one
            bar = tqdm(total=event.total, desc=event.stage, unit="", file=sys.stderr,
                       dynamic_ncols=True, leave=True)
            self._bars[event.stage] = bar
        if event.total is not None and bar.total != event.total:
            bar.total = event.total
        bar.n = event.done
        postfix = {k: _short(v) for k, v in event.metrics.items()}
        if event.message:
            postfix["at"] = event.message[-40:]
        bar.set_postfix(postfix, refresh=False)
        bar.refresh()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


def _short(v: object) -> object:
    return f"{v:.4g}" if isinstance(v, float) else v


@contextmanager
def cancel_on_interrupt() -> Iterator[CancelToken]:
    """First Ctrl-C asks the job to stop cleanly at its next step; a second one kills."""
    token = CancelToken()
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Optional[object]) -> None:
        if token.cancelled:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        print("\nstopping after the current step (Ctrl-C again to abort)", file=sys.stderr)
        token.cancel()

    signal.signal(signal.SIGINT, handler)
    try:
        yield token
    finally:
        signal.signal(signal.SIGINT, previous)
