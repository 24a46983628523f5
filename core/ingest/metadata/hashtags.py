"""Hashtags: their canonical form, the ones in a caption, and a post's merged list."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Iterable, Optional

from reelscope.core.ingest.metadata.coerce import is_blank
from reelscope.core.ingest.metadata.problems import RowError, kind_of, short_repr


def normalise_hashtag(tag: str) -> Optional[str]:
    """The canonical form of a hashtag: ``'#FYP'`` -> ``'fyp'``; None when nothing is left.

    NFKC folds fullwidth and compatibility forms, casefold lowers every script, and the
    ends are trimmed to the first and last letter, digit or underscore — so '#', emoji and
    punctuation around a tag go, while combining marks after a letter (Indic vowel signs)
    stay. Whitespace inside is removed: a hashtag cannot contain it.
    """
    text = unicodedata.normalize("NFKC", str(tag))
    text = unicodedata.normalize("NFKC", text.casefold())
    text = "".join(text.split())
    start = next((i for i, ch in enumerate(text) if _is_core_char(ch)), None)
    if start is None:
        return None
    end = max(i for i, ch in enumerate(text) if _is_core_char(ch)) + 1
    while end < len(text) and unicodedata.category(text[end]).startswith("M"):
        end += 1
    return text[start:end]


def hashtags_in_text(text: str) -> list[str]:
    """Normalised ``#words`` in a caption, in order, without repeats.

    A tag runs over letters, digits, marks and underscores in any script, so
    ``'#fyp#viral'`` gives two tags and ``'#fyp🔥'`` gives ``'fyp'``. A '#' glued to a
    preceding word (``'page#section'``) or an HTML entity (``'&#39;'``) is not a tag.
    """
    text = unicodedata.normalize("NFKC", text or "")
    found: list[str] = []
    i, last_tag_end = 0, -1
    while (i := text.find("#", i)) != -1:
        j = i + 1
        while j < len(text) and _is_tag_char(text[j]):
            j += 1
        before = text[i - 1] if i > 0 else " "
        glued = _is_tag_char(before) and last_tag_end != i
        if j > i + 1 and before != "&" and not glued:
            tag = normalise_hashtag(text[i + 1 : j])
            if tag and tag not in found:
                found.append(tag)
            last_tag_end = j
        i = max(j, i + 1)
    return found


def tag_list(value: Any, label: str) -> list[Any]:
    """Raw hashtags from a JSON list (of strings or {"name": ...}) or a separated string."""
    if is_blank(value):
        return []
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise RowError(f"{label}: {short_repr(text)} starts like a JSON list but is "
                               "not valid JSON") from None
        else:
            return [t for t in re.split(r"[\s,;#]+", text) if t]
    if not isinstance(value, list):
        raise RowError(f"{label}: expected a list of hashtags, got {kind_of(value)}")
    return [(item.get("name") or item.get("title")) if isinstance(item, dict) else item
            for item in value]


def merge_tags(tags: Iterable[Any], description: Optional[str]) -> tuple[str, ...]:
    """Listed tags first, then the caption's, normalised and without repeats."""
    merged: dict[str, None] = {}
    for tag in tags:
        if tag is not None and not isinstance(tag, (list, dict)):
            normal = normalise_hashtag(str(tag))
            if normal:
                merged[normal] = None
    for tag in hashtags_in_text(description or ""):
        merged[tag] = None
    return tuple(merged)


def _is_core_char(ch: str) -> bool:
    return ch == "_" or unicodedata.category(ch)[0] in "LN"


def _is_tag_char(ch: str) -> bool:
    # Zero-width (non-)joiners belong inside words in Indic and Persian scripts.
    return ch in "_\u200c\u200d" or unicodedata.category(ch)[0] in "LNM"
