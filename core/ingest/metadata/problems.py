"""What goes wrong in a metadata file: a file that is not metadata (:class:`MetadataError`),
a row that cannot be used (:class:`RowError`, kept as a :class:`Problem`), and the
wording of both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reelscope.core.store.models import Problem

JOB = "metadata"


class MetadataError(ValueError):
    """A file that is not metadata at all (empty, binary, unknown columns), and why."""


class RowError(ValueError):
    """One record cannot be used; the message is the reason shown to the user."""


def kind_of(value: Any) -> str:
    """What a value is, in the user's words: 'a list', 'text', 'a number'..."""
    names = {list: "a list", dict: "an object", str: "text", bool: "true/false",
             type(None): "nothing"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else
                     type(value).__name__)


def short_repr(value: Any, limit: int = 40) -> str:
    """The value quoted for a message, cut to ``limit`` characters."""
    text = repr(value) if isinstance(value, str) else repr(str(value))
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def problem_at(path: Path, row: int, reason: str, severity: str = "error") -> Problem:
    """A :class:`Problem` of the metadata job at ``row`` (1-based) of the file."""
    return Problem(JOB, str(path), reason, row=row, severity=severity)
