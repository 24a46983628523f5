"""How an exception reads to a user: one sentence, and the traceback for the details.
Qt-free, so a job's child process reports errors in the same words as the window."""

from __future__ import annotations

import traceback


def message_of(exc: BaseException) -> str:
    """The one-line message a user reads for ``exc`` (core's errors already say what to do)."""
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, (MemoryError, RecursionError)):
        text = f"{type(exc).__name__}: {text}"
    return text.splitlines()[0] if len(text) < 400 else text[:400] + "…"


def details_of(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
