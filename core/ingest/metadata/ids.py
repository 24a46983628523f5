"""Post ids: checking the ones a file gives, and finding the id a video's file name holds."""

from __future__ import annotations

import re
from typing import Any, Iterator, Optional

from reelscope.core.ingest.metadata.coerce import MISSING
from reelscope.core.ingest.metadata.problems import RowError, kind_of, short_repr

# Ids become parts of file names elsewhere, so only characters that are safe in a file
# name on every platform; no leading or trailing dot, and no '..' (checked separately).
_ID_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9_-])?")
_SPREADSHEET_NUMBER = re.compile(r"\d+(?:[.,]\d+)?[eE]\+?\d+")


def to_post_id(value: Any) -> str:
    if isinstance(value, float):
        raise RowError(f"id {value!r} is a floating-point number, so its digits are lost; "
                       "export ids as strings")
    if isinstance(value, bool) or isinstance(value, (list, dict)):
        raise RowError(f"id: expected text or a whole number, got {kind_of(value)}")
    text = "" if value is None else str(value).strip()
    if not text or text.casefold() in MISSING:
        raise RowError("missing id")
    if _SPREADSHEET_NUMBER.fullmatch(text):
        raise RowError(f"id {text!r} looks like a number a spreadsheet rounded; "
                       "format the id column as text")
    if not _ID_RE.fullmatch(text) or ".." in text:
        raise RowError(f"id {short_repr(text)} is not a plausible post id (only letters, digits, "
                       "'.', '_' and '-' are allowed)")
    return text


def id_from_filename(name: str, known_ids: set[str]) -> Optional[str]:
    """The metadata id a video file belongs to, or None.

    The file stem itself, or a known id inside the name between separators
    (``'tiktok_7234567890123456789_final.mp4'``) or as a run of six or more digits
    (``'vid7234567890123456789.mp4'``). When several known ids fit, the longest wins;
    a tie between different ids is ambiguous and gives None.
    """
    base = re.split(r"[\\/]", name)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    for candidate in (base, stem, base.split(".", 1)[0]):
        if candidate in known_ids:
            return candidate
    matches = {c for c in _id_candidates(stem) if c in known_ids}
    if not matches:
        return None
    longest = max(len(m) for m in matches)
    best = [m for m in matches if len(m) == longest]
    return best[0] if len(best) == 1 else None


def _id_candidates(stem: str) -> Iterator[str]:
    """Pieces of a file stem that may be an id: spans between separators, long digit runs."""
    cuts = [i for i, ch in enumerate(stem) if not ch.isascii() or not ch.isalnum()][:40]
    starts = [0] + [i + 1 for i in cuts]
    ends = cuts + [len(stem)]
    for s in starts:
        for e in ends:
            if e > s:
                yield stem[s:e]
    yield from re.findall(r"[0-9]{6,}", stem)
