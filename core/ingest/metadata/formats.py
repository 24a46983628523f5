"""Read the post metadata that scrapers export, whichever tool wrote it.

Three formats are recognised from the content (not the file extension); see
``docs/METADATA.md`` for every column:

* ``tiktokapi`` — item dicts as TikTokApi / TikTok's web API return them: a JSON list,
  a JSON object wrapping one (``{"itemList": [...]}``), or JSON lines;
* ``apify`` — flat records from Apify's TikTok scraper, as CSV or JSON;
* ``csv`` — Reelscope's own plain CSV.

A row that cannot be used becomes a :class:`Problem` naming its row and the reason, and
the other rows still import; only a file that is not metadata at all raises
:class:`MetadataError`. Fields we do not map are kept in ``PostMetadata.extra``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from reelscope.core.store.models import Author, PostMetadata, Problem, Sound

JOB = "metadata"
FORMATS = ("tiktokapi", "apify", "csv")

# Ids become parts of file names elsewhere, so only characters that are safe in a file
# name on every platform; no leading or trailing dot, and no '..' (checked separately).
_ID_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9_-])?")
_SPREADSHEET_NUMBER = re.compile(r"\d+(?:[.,]\d+)?[eE]\+?\d+")
# Thousands grouped by ',' or ' '; a decimal point or comma ("1.2K", Excel's "2,1K").
_COUNT_RE = re.compile(r"(\d{1,3}(?:[, ]\d{3})+|\d+)([.,]\d+)?\s*([kmb])?", re.IGNORECASE)
_MULTIPLIERS = {None: 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
_MAX_COUNT = 10**15  # far above any real count, far below SQLite's 2**63 limit
_LATEST_TIME = 4102444800  # 2100-01-01: later "seconds" are really milliseconds or junk
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_MISSING = frozenset({"null", "none", "nan", "n/a", "na"})  # never a count, date or flag
_WRAPPER_KEYS = ("itemList", "items", "data", "aweme_list", "results", "posts", "videos")

# Field names that identify a format (casefolded); "id" and "hashtags" are shared.
_TIKTOK_KEYS = frozenset(
    {"desc", "stats", "statsv2", "music", "video", "challenges", "textextra", "authorstats",
     "author"}
)
_APIFY_KEYS = frozenset(
    {"text", "authormeta", "musicmeta", "videometa", "diggcount", "sharecount", "playcount",
     "commentcount", "webvideourl", "createtimeiso", "mentions"}
)
_APIFY_PREFIXES = ("authormeta.", "musicmeta.", "videometa.", "hashtags.")
_PLAIN_COLUMNS = (
    "id", "description", "posted_at", "author_id", "author_name", "author_nickname",
    "followers", "following", "author_likes", "author_videos", "sound_id", "sound_title",
    "sound_author", "sound_original", "likes", "shares", "comments", "plays", "duration",
    "hashtags",
)
_PLAIN_KEYS = frozenset(_PLAIN_COLUMNS) - {"id", "hashtags"}


class MetadataError(ValueError):
    """A file that is not metadata at all (empty, binary, unknown columns), and why."""


@dataclass
class MetadataResult:
    """What :func:`read_metadata` found in one file."""

    format: str  # "tiktokapi" | "apify" | "csv"
    records: list[PostMetadata] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class _RowError(ValueError):
    """One record cannot be used; the message is the reason shown to the user."""


# ---------------------------------------------------------------------- public
def read_metadata(path: str | Path) -> MetadataResult:
    """Parse a metadata file, detecting its format from the content.

    Good rows come back in file order (a repeated id replaces the earlier row, with a
    warning); bad rows become problems with their 1-based row number. Raises
    :class:`MetadataError` for a file that is not metadata and lets
    ``FileNotFoundError`` through for a missing one.
    """
    path = Path(path)
    text = _read_text(path)
    fmt, rows, problems = _parse_container(path, text)
    parse = _PARSERS[fmt]
    kept: dict[str, tuple[int, PostMetadata]] = {}
    for row, raw in rows:
        try:
            record = parse(raw)
        except _RowError as exc:
            problems.append(_problem(path, row, str(exc)))
            continue
        earlier = kept.pop(record.id, None)
        if earlier is not None:
            problems.append(_problem(path, row, f"duplicate id {record.id}: replaces row "
                                     f"{earlier[0]}", severity="warning"))
        kept[record.id] = (row, record)
    problems.sort(key=lambda p: p.row or 0)
    return MetadataResult(fmt, [record for _, record in kept.values()], problems)


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


# ---------------------------------------------------------------- file level
def _read_text(path: Path) -> str:
    """The file as text: UTF-8 with or without BOM, or UTF-16 with BOM (Excel)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise MetadataError(f"{path}: cannot read metadata file: {exc.strerror or exc}") from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise MetadataError(f"{path}: damaged UTF-16 text ({exc.reason})") from exc
    elif b"\x00" in data:
        raise MetadataError(f"{path}: binary data, not a metadata file (JSON or CSV expected)")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise MetadataError(
                f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                "save it as UTF-8 (in Excel: 'CSV UTF-8')"
            ) from exc
    if not text.strip():
        raise MetadataError(f"{path}: metadata file is empty")
    return text


def _parse_container(path: Path, text: str) -> tuple[str, list[tuple[int, Any]], list[Problem]]:
    """The format, the raw records with their row numbers, and unreadable rows."""
    stripped = text.lstrip()
    if stripped[:1] in ("[", "{"):
        return _parse_json(path, text)
    return _parse_csv(path, text)


def _parse_json(path: Path, text: str) -> tuple[str, list[tuple[int, Any]], list[Problem]]:
    problems: list[Problem] = []
    try:
        document = json.loads(text)
    except json.JSONDecodeError as whole_error:
        if not text.lstrip().startswith("{"):
            raise MetadataError(f"{path}: not valid JSON ({whole_error})") from None
        # JSON lines: one record per line, and a broken line spoils only itself.
        rows: list[tuple[int, Any]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                reason = f"line is not JSON ({exc.msg} at column {exc.colno})"
                problems.append(_problem(path, number, reason))
        if not rows:
            raise MetadataError(f"{path}: not valid JSON ({whole_error})") from None
    else:
        records = _unwrap(document)
        if records is None:
            raise MetadataError(f"{path}: JSON holds no list of posts (expected a list of "
                                "objects or an object such as {\"itemList\": [...]})")
        rows = list(enumerate(records, start=1))
    if not rows:
        raise MetadataError(f"{path}: metadata file holds no records")
    return _json_format(path, [r for _, r in rows]), rows, problems


def _unwrap(document: Any, nested: bool = False) -> Optional[list[Any]]:
    """The list of records inside a JSON document, whichever wrapper the scraper used."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        return None
    for key in _WRAPPER_KEYS:
        inner = document.get(key)
        if isinstance(inner, list):
            return inner
        if isinstance(inner, dict) and not nested and (found := _unwrap(inner, True)) is not None:
            return found
    if nested:
        return None
    if "id" in document:
        return [document]  # a single item saved on its own
    lists = [v for v in document.values() if isinstance(v, list) and v
             and all(isinstance(x, dict) for x in v)]
    return lists[0] if len(lists) == 1 else None


def _json_format(path: Path, records: list[Any]) -> str:
    """tiktokapi or apify, by which format's field names the first records carry."""
    tiktok = apify = 0
    for record in [r for r in records if isinstance(r, dict)][:50]:
        keys = {str(k).casefold() for k in record}
        tiktok += len(keys & _TIKTOK_KEYS)
        apify += len(keys & _APIFY_KEYS) + sum(k.startswith(_APIFY_PREFIXES) for k in keys)
    if tiktok == apify == 0:
        sample = next((r for r in records if isinstance(r, dict)), None)
        fields = ", ".join(_short(k) for k in list(sample or {})[:8]) or "no objects"
        raise MetadataError(f"{path}: JSON records are not TikTokApi or Apify posts "
                            f"(fields: {fields}); see docs/METADATA.md")
    return "tiktokapi" if tiktok >= apify else "apify"


def _parse_csv(path: Path, text: str) -> tuple[str, list[tuple[int, Any]], list[Problem]]:
    header_line = text.lstrip("\r\n").split("\n", 1)[0]
    # The header decides the delimiter: the candidate that splits it into the most columns.
    delimiter = max(",;\t", key=lambda d: len(next(csv.reader([header_line], delimiter=d))))
    reader = csv.reader(io.StringIO(text.lstrip("\r\n"), newline=""), delimiter=delimiter)
    header = [h.strip().replace("/", ".") for h in next(reader)]
    fmt = _csv_format(path, header)
    rows: list[tuple[int, Any]] = []
    problems: list[Problem] = []
    number = 0
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(_problem(path, number, f"unreadable CSV row ({exc})"))
            continue
        if not any(c.strip() for c in cells):
            number -= 1  # blank lines are not records
            continue
        if len(cells) > len(header):
            problems.append(_problem(
                path, number, f"row has {len(cells)} cells but the header has {len(header)} "
                "(an unquoted delimiter inside a caption?)"))
            continue
        rows.append((number, {h: c.strip() for h, c in zip(header, cells) if h and c.strip()}))
    return fmt, rows, problems


def _csv_format(path: Path, header: list[str]) -> str:
    keys = {h.casefold() for h in header}
    apify = len(keys & _APIFY_KEYS) + sum(k.startswith(_APIFY_PREFIXES) for k in keys)
    plain = len(keys & _PLAIN_KEYS)
    if apify == plain == 0:
        shown = ", ".join(_short(h) for h in header[:8])
        raise MetadataError(f"{path}: unknown columns ({shown}); expected TikTok metadata "
                            "exported by Apify or Reelscope's CSV, see docs/METADATA.md")
    if "id" not in keys:
        raise MetadataError(f"{path}: no 'id' column, so rows cannot be matched to videos")
    return "apify" if apify > plain else "csv"


# ------------------------------------------------------------------- records
class _Fields:
    """One raw record being taken apart: mapped fields are taken out, the rest is extra.

    Keys match case-insensitively because spreadsheets and scrapers disagree on case.
    Labels in error messages are the field's path as the file spells it.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = _copy_objects(data)

    def peek(self, *path: str) -> Any:
        parent, key = self._locate(path)
        return None if key is None else parent[key]

    def take(self, *path: str) -> Any:
        parent, key = self._locate(path)
        return None if key is None else parent.pop(key)

    def put(self, key: str, value: Any) -> None:
        self._data[key] = value

    def keys(self) -> list[str]:
        return list(self._data)

    def object(self, *path: str) -> Optional[dict[str, Any]]:
        """A nested object, checked to be one (a list there is a bad row, not a crash)."""
        value = self.peek(*path)
        if value is not None and not isinstance(value, dict):
            raise _RowError(f"{'.'.join(path)}: expected an object, got {_kind(value)}")
        return value

    def text(self, *path: str) -> Optional[str]:
        return _text(self.take(*path), ".".join(path))

    def count(self, *path: str) -> Optional[int]:
        return _count(self.take(*path), ".".join(path))

    def rest(self) -> dict[str, Any]:
        return _prune(self._data)

    def _locate(self, path: tuple[str, ...]) -> tuple[dict[str, Any], Optional[str]]:
        node = self._data
        for depth, name in enumerate(path[:-1]):
            key = _find_key(node, name)
            child = None if key is None else node[key]
            if child is None:
                return node, None
            if not isinstance(child, dict):
                label = ".".join(path[: depth + 1])
                raise _RowError(f"{label}: expected an object, got {_kind(child)}")
            node = child
        return node, _find_key(node, path[-1])


def _from_tiktokapi(raw: Any) -> PostMetadata:
    f = _Fields(_as_object(raw))
    post_id = _post_id(f.take("id"))
    description = f.text("desc")
    posted_at = _timestamp(f.take("createTime"), "createTime")
    duration = _duration(f.take("video", "duration") if f.object("video") else None,
                         "video.duration")

    author = None
    author_value = f.peek("author")
    if isinstance(author_value, str):  # older dumps: the @handle alone
        author_value = {"uniqueId": f.take("author")}
        f.put("author", author_value)
    f.object("author")
    f.object("authorStats")
    author_id = _text(f.peek("author", "id"), "author.id") or _text(
        f.peek("author", "uniqueId"), "author.uniqueId")
    if author_id:
        f.take("author", "id")
        stats = "authorStats" if f.peek("authorStats") is not None else "authorStatsV2"
        f.object(stats)
        author = Author(
            id=author_id,
            unique_id=f.text("author", "uniqueId"),
            nickname=f.text("author", "nickname"),
            followers=f.count(stats, "followerCount"),
            following=f.count(stats, "followingCount"),
            hearts=_count(_take_first(f, (stats, "heartCount"), (stats, "heart")),
                          f"{stats}.heartCount"),
            video_count=f.count(stats, "videoCount"),
            digg_count=f.count(stats, "diggCount"),
        )

    sound = None
    f.object("music")
    sound_id = _text(f.peek("music", "id"), "music.id")
    if sound_id:
        f.take("music", "id")
        sound = Sound(sound_id, f.text("music", "title"), f.text("music", "authorName"),
                      _flag(f.take("music", "original"), "music.original"))

    stats = "stats" if f.peek("stats") is not None else "statsV2"
    f.object(stats)
    likes, shares, comments, plays = (
        f.count(stats, name) for name in ("diggCount", "shareCount", "commentCount", "playCount")
    )

    tags: list[Any] = []
    for item in _as_list(f.take("challenges"), "challenges"):
        tags.append(item.get("title") if isinstance(item, dict) else item)
    mentions = []  # textExtra also holds @mentions, which are kept in extra
    for item in _as_list(f.take("textExtra"), "textExtra"):
        name = item.get("hashtagName") if isinstance(item, dict) else None
        if name:
            tags.append(name)
        else:
            mentions.append(item)
    if mentions:
        f.put("textExtra", mentions)

    return PostMetadata(
        id=post_id, source="tiktokapi", description=description, posted_at=posted_at,
        author=author, sound=sound, likes=likes, shares=shares, comments=comments, plays=plays,
        duration=duration, hashtags=_merge_tags(tags, description), extra=f.rest(),
    )


def _from_apify(raw: Any) -> PostMetadata:
    record = _as_object(raw)
    for group in ("authorMeta", "musicMeta", "videoMeta"):
        value = record.get(group)
        if value is not None and not isinstance(value, dict):
            raise _RowError(f"{group}: expected an object, got {_kind(value)}")
    # Apify JSON nests authorMeta etc.; its CSV flattens them. Flatten both the same way.
    f = _Fields(_flatten(record))
    post_id = _post_id(f.take("id"))
    description = f.text("text")
    created, created_iso = f.take("createTime"), f.take("createTimeISO")
    posted_at = (_timestamp(created, "createTime") if not _blank(created)
                 else _timestamp(created_iso, "createTimeISO"))
    duration = _duration(f.take("videoMeta.duration"), "videoMeta.duration")

    author = None
    author_id = _text(f.peek("authorMeta.id"), "authorMeta.id") or _text(
        f.peek("authorMeta.name"), "authorMeta.name")
    if author_id:
        f.take("authorMeta.id")
        author = Author(
            id=author_id,
            unique_id=f.text("authorMeta.name"),
            nickname=f.text("authorMeta.nickName"),
            followers=f.count("authorMeta.fans"),
            following=f.count("authorMeta.following"),
            hearts=f.count("authorMeta.heart"),
            video_count=f.count("authorMeta.video"),
            digg_count=f.count("authorMeta.digg"),
        )

    sound = None
    sound_id = _text(f.peek("musicMeta.musicId"), "musicMeta.musicId")
    if sound_id:
        f.take("musicMeta.musicId")
        sound = Sound(sound_id, f.text("musicMeta.musicName"), f.text("musicMeta.musicAuthor"),
                      _flag(f.take("musicMeta.musicOriginal"), "musicMeta.musicOriginal"))

    tags = _tag_list(f.take("hashtags"), "hashtags")
    # Apify CSV spreads the list over columns hashtags/0/name, hashtags/1/name, ...
    split = sorted((int(m[1]), m[2] or "name", k) for k in f.keys()
                   if (m := re.fullmatch(r"hashtags\.(\d+)(?:\.(\w+))?", k, re.IGNORECASE)))
    for _, part, key in split:
        value = f.take(key)
        if part.casefold() == "name":
            tags.append(value)

    return PostMetadata(
        id=post_id, source="apify", description=description, posted_at=posted_at,
        author=author, sound=sound, likes=f.count("diggCount"), shares=f.count("shareCount"),
        comments=f.count("commentCount"), plays=f.count("playCount"), duration=duration,
        hashtags=_merge_tags(tags, description), extra=f.rest(),
    )


def _from_plain(raw: Any) -> PostMetadata:
    f = _Fields(_as_object(raw))
    post_id = _post_id(f.take("id"))
    description = f.text("description")
    posted_at = _timestamp(f.take("posted_at"), "posted_at")
    author = None
    author_id = _text(f.take("author_id"), "author_id")
    if author_id:
        author = Author(
            id=author_id, unique_id=f.text("author_name"), nickname=f.text("author_nickname"),
            followers=f.count("followers"), following=f.count("following"),
            hearts=f.count("author_likes"), video_count=f.count("author_videos"),
        )
    sound = None
    sound_id = _text(f.take("sound_id"), "sound_id")
    if sound_id:
        sound = Sound(sound_id, f.text("sound_title"), f.text("sound_author"),
                      _flag(f.take("sound_original"), "sound_original"))
    return PostMetadata(
        id=post_id, source="csv", description=description, posted_at=posted_at,
        author=author, sound=sound, likes=f.count("likes"), shares=f.count("shares"),
        comments=f.count("comments"), plays=f.count("plays"),
        duration=_duration(f.take("duration"), "duration"),
        hashtags=_merge_tags(_tag_list(f.take("hashtags"), "hashtags"), description),
        extra=f.rest(),
    )


_PARSERS = {"tiktokapi": _from_tiktokapi, "apify": _from_apify, "csv": _from_plain}


# -------------------------------------------------------------------- values
def _post_id(value: Any) -> str:
    if isinstance(value, float):
        raise _RowError(f"id {value!r} is a floating-point number, so its digits are lost; "
                        "export ids as strings")
    if isinstance(value, bool) or isinstance(value, (list, dict)):
        raise _RowError(f"id: expected text or a whole number, got {_kind(value)}")
    text = "" if value is None else str(value).strip()
    if not text or text.casefold() in _MISSING:
        raise _RowError("missing id")
    if _SPREADSHEET_NUMBER.fullmatch(text):
        raise _RowError(f"id {text!r} looks like a number a spreadsheet rounded; "
                        "format the id column as text")
    if not _ID_RE.fullmatch(text) or ".." in text:
        raise _RowError(f"id {_short(text)} is not a plausible post id (only letters, digits, "
                        "'.', '_' and '-' are allowed)")
    return text


def _text(value: Any, label: str) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        raise _RowError(f"{label}: expected text, got {_kind(value)}")
    text = str(value).strip()
    return text or None


def _count(value: Any, label: str) -> Optional[int]:
    """A non-negative count; scrapers' display forms "1.2M", "15K" and "1,234" parse."""
    if _blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _RowError(f"{label}: expected a number, got {_kind(value)}")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise _RowError(f"{label}: {value!r} is not a whole number")
        number = Decimal(int(value))
    else:
        text = unicodedata.normalize("NFKC", value).strip()
        negative = text.startswith("-")
        match = _COUNT_RE.fullmatch(text.lstrip("+-").strip())
        if not match:
            raise _RowError(f"{label}: {_short(value)} is not a number")
        fraction = (match[2] or "").replace(",", ".")
        number = Decimal(match[1].replace(",", "").replace(" ", "") + fraction)
        suffix = match[3].casefold() if match[3] else None
        if suffix is None and number != number.to_integral_value():
            raise _RowError(f"{label}: {_short(value)} is not a whole number")
        number = (number * _MULTIPLIERS[suffix]).to_integral_value()
        if negative:
            number = -number
    if number < 0:
        raise _RowError(f"{label}: {_short(value)} is negative")
    if number > _MAX_COUNT:
        raise _RowError(f"{label}: {_short(value)} is implausibly large")
    return int(number)


def _duration(value: Any, label: str) -> Optional[float]:
    if _blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _RowError(f"{label}: expected seconds, got {_kind(value)}")
    try:
        seconds = float(value)
    except ValueError:
        raise _RowError(f"{label}: {_short(value)} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise _RowError(f"{label}: {_short(value)} is not a valid duration")
    return seconds


def _timestamp(value: Any, label: str) -> Optional[int]:
    """Unix seconds (UTC) from unix seconds, milliseconds or an ISO-8601 string."""
    if _blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _RowError(f"{label}: expected a date, got {_kind(value)}")
    if isinstance(value, str) and not re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _RowError(f"{label}: {_short(value)} is not a date (expected ISO 8601 or "
                            "unix seconds)") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)  # exports without a zone are UTC
        seconds = moment.timestamp()
    else:
        seconds = float(value)
    if math.isfinite(seconds) and seconds > 1e11:
        seconds /= 1000  # milliseconds: no post is from after the year 5000
    if not math.isfinite(seconds) or not 0 <= seconds < _LATEST_TIME:
        raise _RowError(f"{label}: {_short(value)} is not a plausible posting time")
    return int(seconds)


def _flag(value: Any, label: str) -> Optional[bool]:
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, str)) and str(value).strip().casefold() in _TRUE | _FALSE:
        return str(value).strip().casefold() in _TRUE
    raise _RowError(f"{label}: {_short(value)} is not true or false")


def _tag_list(value: Any, label: str) -> list[Any]:
    """Raw hashtags from a JSON list (of strings or {"name": ...}) or a separated string."""
    if _blank(value):
        return []
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise _RowError(f"{label}: {_short(text)} starts like a JSON list but is "
                                "not valid JSON") from None
        else:
            return [t for t in re.split(r"[\s,;#]+", text) if t]
    if not isinstance(value, list):
        raise _RowError(f"{label}: expected a list of hashtags, got {_kind(value)}")
    return [(item.get("name") or item.get("title")) if isinstance(item, dict) else item
            for item in value]


def _merge_tags(tags: Iterable[Any], description: Optional[str]) -> tuple[str, ...]:
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


# ------------------------------------------------------------------- helpers
def _as_object(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _RowError(f"record: expected an object, got {_kind(raw)}")
    return raw


def _as_list(value: Any, label: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _RowError(f"{label}: expected a list, got {_kind(value)}")
    return value


def _take_first(f: _Fields, *paths: tuple[str, ...]) -> Any:
    """The first of several spellings that is present (taken; the others stay in extra)."""
    for path in paths:
        if f.peek(*path) is not None:
            return f.take(*path)
    return None


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys (lists stay values), as Apify's CSV export spells them."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _copy_objects(value: Any) -> Any:
    """A copy of the nested dicts that taking fields mutates; lists are never mutated, so
    they are shared (copy.deepcopy of every value was half the import time)."""
    if isinstance(value, dict):
        return {k: _copy_objects(v) for k, v in value.items()}
    return value


def _prune(value: Any) -> Any:
    """Drop nulls, blanks and objects left empty after their fields were taken."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, "", {})}
    return value


def _find_key(mapping: dict[str, Any], name: str) -> Optional[str]:
    if name in mapping:
        return name
    folded = name.casefold()
    return next((k for k in mapping if isinstance(k, str) and k.casefold() == folded), None)


def _blank(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, str) and (not value.strip() or value.strip().casefold() in _MISSING)


def _is_core_char(ch: str) -> bool:
    return ch == "_" or unicodedata.category(ch)[0] in "LN"


def _is_tag_char(ch: str) -> bool:
    # Zero-width (non-)joiners belong inside words in Indic and Persian scripts.
    return ch in "_\u200c\u200d" or unicodedata.category(ch)[0] in "LNM"


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


def _kind(value: Any) -> str:
    names = {list: "a list", dict: "an object", str: "text", bool: "true/false",
             type(None): "nothing"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else
                     type(value).__name__)


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value) if isinstance(value, str) else repr(str(value))
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _problem(path: Path, row: int, reason: str, severity: str = "error") -> Problem:
    return Problem(JOB, str(path), reason, row=row, severity=severity)
