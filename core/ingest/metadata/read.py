"""Reading one metadata file: its text, the records in its JSON, JSON lines or CSV, each
mapped by the format detected from the content.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from reelscope.core.store.models import PostMetadata, Problem
from reelscope.core.ingest.metadata.formats import PARSERS, csv_format, json_format
from reelscope.core.ingest.metadata.problems import MetadataError, RowError, problem_at

_WRAPPER_KEYS = ("itemList", "items", "data", "aweme_list", "results", "posts", "videos")


@dataclass
class MetadataResult:
    """What :func:`read_metadata` found in one file."""

    format: str  # "tiktokapi" | "apify" | "csv"
    records: list[PostMetadata] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


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
    parse = PARSERS[fmt]
    kept: dict[str, tuple[int, PostMetadata]] = {}
    for row, raw in rows:
        try:
            record = parse(raw)
        except RowError as exc:
            problems.append(problem_at(path, row, str(exc)))
            continue
        earlier = kept.pop(record.id, None)
        if earlier is not None:
            problems.append(problem_at(path, row, f"duplicate id {record.id}: replaces row "
                                       f"{earlier[0]}", severity="warning"))
        kept[record.id] = (row, record)
    problems.sort(key=lambda p: p.row or 0)
    return MetadataResult(fmt, [record for _, record in kept.values()], problems)


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
    except RecursionError:  # a junk file, or one built to crash readers: never metadata
        raise MetadataError(f"{path}: JSON nested too deeply to be metadata") from None
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
                problems.append(problem_at(path, number, reason))
            except RecursionError:
                problems.append(problem_at(path, number, "line nested too deeply to be a post"))
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
    return json_format(path, [r for _, r in rows]), rows, problems


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


def _parse_csv(path: Path, text: str) -> tuple[str, list[tuple[int, Any]], list[Problem]]:
    header_line = text.lstrip("\r\n").split("\n", 1)[0]
    try:
        # The header decides the delimiter: the candidate that splits it into the most columns.
        delimiter = max(",;\t", key=lambda d: len(next(csv.reader([header_line], delimiter=d))))
        reader = csv.reader(io.StringIO(text.lstrip("\r\n"), newline=""), delimiter=delimiter)
        header = [h.strip().replace("/", ".") for h in next(reader)]
    except csv.Error as exc:  # e.g. a first line past csv's field limit: no header at all
        raise MetadataError(f"{path}: its first line is not a CSV header ({exc})") from None
    fmt = csv_format(path, header)
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
            problems.append(problem_at(path, number, f"unreadable CSV row ({exc})"))
            continue
        if not any(c.strip() for c in cells):
            number -= 1  # blank lines are not records
            continue
        if len(cells) > len(header):
            problems.append(problem_at(
                path, number, f"row has {len(cells)} cells but the header has {len(header)} "
                "(an unquoted delimiter inside a caption?)"))
            continue
        rows.append((number, {h: c.strip() for h, c in zip(header, cells) if h and c.strip()}))
    return fmt, rows, problems
