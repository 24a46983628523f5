"""The three metadata formats: how each is recognised from its field names, and how its
records map to :class:`PostMetadata` (``docs/METADATA.md`` lists every column).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from reelscope.core.store.models import Author, PostMetadata, Sound
from reelscope.core.ingest.metadata.coerce import (
    is_blank,
    to_count,
    to_duration,
    to_flag,
    to_text,
    to_timestamp,
)
from reelscope.core.ingest.metadata.fields import Fields, as_list, as_object, flatten, take_first
from reelscope.core.ingest.metadata.hashtags import merge_tags, tag_list
from reelscope.core.ingest.metadata.ids import to_post_id
from reelscope.core.ingest.metadata.problems import MetadataError, RowError, kind_of, short_repr

FORMATS = ("tiktokapi", "apify", "csv")

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


def json_format(path: Path, records: list[Any]) -> str:
    """tiktokapi or apify, by which format's field names the first records carry."""
    tiktok = apify = 0
    for record in [r for r in records if isinstance(r, dict)][:50]:
        keys = {str(k).casefold() for k in record}
        tiktok += len(keys & _TIKTOK_KEYS)
        apify += len(keys & _APIFY_KEYS) + sum(k.startswith(_APIFY_PREFIXES) for k in keys)
    if tiktok == apify == 0:
        sample = next((r for r in records if isinstance(r, dict)), None)
        fields = ", ".join(short_repr(k) for k in list(sample or {})[:8]) or "no objects"
        raise MetadataError(f"{path}: JSON records are not TikTokApi or Apify posts "
                            f"(fields: {fields}); see docs/METADATA.md")
    return "tiktokapi" if tiktok >= apify else "apify"


def csv_format(path: Path, header: list[str]) -> str:
    """apify or csv, by which format's column names the header carries; it must have an id."""
    keys = {h.casefold() for h in header}
    apify = len(keys & _APIFY_KEYS) + sum(k.startswith(_APIFY_PREFIXES) for k in keys)
    plain = len(keys & _PLAIN_KEYS)
    if apify == plain == 0:
        shown = ", ".join(short_repr(h) for h in header[:8])
        raise MetadataError(f"{path}: unknown columns ({shown}); expected TikTok metadata "
                            "exported by Apify or Reelscope's CSV, see docs/METADATA.md")
    if "id" not in keys:
        raise MetadataError(f"{path}: no 'id' column, so rows cannot be matched to videos")
    return "apify" if apify > plain else "csv"


def _from_tiktokapi(raw: Any) -> PostMetadata:
    f = Fields(as_object(raw))
    post_id = to_post_id(f.take("id"))
    description = f.text("desc")
    posted_at = to_timestamp(f.take("createTime"), "createTime")
    duration = to_duration(f.take("video", "duration") if f.object("video") else None,
                           "video.duration")

    author = None
    author_value = f.peek("author")
    if isinstance(author_value, str):  # older dumps: the @handle alone
        author_value = {"uniqueId": f.take("author")}
        f.put("author", author_value)
    f.object("author")
    f.object("authorStats")
    author_id = to_text(f.peek("author", "id"), "author.id") or to_text(
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
            hearts=to_count(take_first(f, (stats, "heartCount"), (stats, "heart")),
                            f"{stats}.heartCount"),
            video_count=f.count(stats, "videoCount"),
            digg_count=f.count(stats, "diggCount"),
        )

    sound = None
    f.object("music")
    sound_id = to_text(f.peek("music", "id"), "music.id")
    if sound_id:
        f.take("music", "id")
        sound = Sound(sound_id, f.text("music", "title"), f.text("music", "authorName"),
                      to_flag(f.take("music", "original"), "music.original"))

    stats = "stats" if f.peek("stats") is not None else "statsV2"
    f.object(stats)
    likes, shares, comments, plays = (
        f.count(stats, name) for name in ("diggCount", "shareCount", "commentCount", "playCount")
    )

    tags: list[Any] = []
    for item in as_list(f.take("challenges"), "challenges"):
        tags.append(item.get("title") if isinstance(item, dict) else item)
    mentions = []  # textExtra also holds @mentions, which are kept in extra
    for item in as_list(f.take("textExtra"), "textExtra"):
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
        duration=duration, hashtags=merge_tags(tags, description), extra=f.rest(),
    )


def _from_apify(raw: Any) -> PostMetadata:
    record = as_object(raw)
    for group in ("authorMeta", "musicMeta", "videoMeta"):
        value = record.get(group)
        if value is not None and not isinstance(value, dict):
            raise RowError(f"{group}: expected an object, got {kind_of(value)}")
    # Apify JSON nests authorMeta etc.; its CSV flattens them. Flatten both the same way.
    f = Fields(flatten(record))
    post_id = to_post_id(f.take("id"))
    description = f.text("text")
    created, created_iso = f.take("createTime"), f.take("createTimeISO")
    posted_at = (to_timestamp(created, "createTime") if not is_blank(created)
                 else to_timestamp(created_iso, "createTimeISO"))
    duration = to_duration(f.take("videoMeta.duration"), "videoMeta.duration")

    author = None
    author_id = to_text(f.peek("authorMeta.id"), "authorMeta.id") or to_text(
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
    sound_id = to_text(f.peek("musicMeta.musicId"), "musicMeta.musicId")
    if sound_id:
        f.take("musicMeta.musicId")
        sound = Sound(sound_id, f.text("musicMeta.musicName"), f.text("musicMeta.musicAuthor"),
                      to_flag(f.take("musicMeta.musicOriginal"), "musicMeta.musicOriginal"))

    tags = tag_list(f.take("hashtags"), "hashtags")
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
        hashtags=merge_tags(tags, description), extra=f.rest(),
    )


def _from_plain(raw: Any) -> PostMetadata:
    f = Fields(as_object(raw))
    post_id = to_post_id(f.take("id"))
    description = f.text("description")
    posted_at = to_timestamp(f.take("posted_at"), "posted_at")
    author = None
    author_id = to_text(f.take("author_id"), "author_id")
    if author_id:
        author = Author(
            id=author_id, unique_id=f.text("author_name"), nickname=f.text("author_nickname"),
            followers=f.count("followers"), following=f.count("following"),
            hearts=f.count("author_likes"), video_count=f.count("author_videos"),
        )
    sound = None
    sound_id = to_text(f.take("sound_id"), "sound_id")
    if sound_id:
        sound = Sound(sound_id, f.text("sound_title"), f.text("sound_author"),
                      to_flag(f.take("sound_original"), "sound_original"))
    return PostMetadata(
        id=post_id, source="csv", description=description, posted_at=posted_at,
        author=author, sound=sound, likes=f.count("likes"), shares=f.count("shares"),
        comments=f.count("comments"), plays=f.count("plays"),
        duration=to_duration(f.take("duration"), "duration"),
        hashtags=merge_tags(tag_list(f.take("hashtags"), "hashtags"), description),
        extra=f.rest(),
    )


PARSERS = {"tiktokapi": _from_tiktokapi, "apify": _from_apify, "csv": _from_plain}
