"""Taking one raw record apart: mapped fields are taken out, the rest stays as extra."""

from __future__ import annotations

from typing import Any, Optional

from reelscope.core.ingest.metadata.coerce import to_count, to_text
from reelscope.core.ingest.metadata.problems import RowError, kind_of


class Fields:
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
            raise RowError(f"{'.'.join(path)}: expected an object, got {kind_of(value)}")
        return value

    def text(self, *path: str) -> Optional[str]:
        return to_text(self.take(*path), ".".join(path))

    def count(self, *path: str) -> Optional[int]:
        return to_count(self.take(*path), ".".join(path))

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
                raise RowError(f"{label}: expected an object, got {kind_of(child)}")
            node = child
        return node, _find_key(node, path[-1])


def as_object(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise RowError(f"record: expected an object, got {kind_of(raw)}")
    return raw


def as_list(value: Any, label: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RowError(f"{label}: expected a list, got {kind_of(value)}")
    return value


def take_first(f: Fields, *paths: tuple[str, ...]) -> Any:
    """The first of several spellings that is present (taken; the others stay in extra)."""
    for path in paths:
        if f.peek(*path) is not None:
            return f.take(*path)
    return None


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys (lists stay values), as Apify's CSV export spells them."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
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
