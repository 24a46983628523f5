"""Raw field values to the types a post's metadata holds: text, counts (including the
scrapers' display forms "1.2M" and "1,234"), durations, posting times and flags.

Each takes the value and a label (the field's path as the file spells it) and raises
:class:`RowError` naming the label when the value cannot be used.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Optional

from reelscope.core.ingest.metadata.problems import RowError, kind_of, short_repr

# Thousands grouped by ',' or ' '; a decimal point or comma ("1.2K", Excel's "2,1K").
_COUNT_RE = re.compile(r"(\d{1,3}(?:[, ]\d{3})+|\d+)([.,]\d+)?\s*([kmb])?", re.IGNORECASE)
_MULTIPLIERS = {None: 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
_MAX_COUNT = 10**15  # far above any real count, far below SQLite's 2**63 limit
_LATEST_TIME = 4102444800  # 2100-01-01: later "seconds" are really milliseconds or junk
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
MISSING = frozenset({"null", "none", "nan", "n/a", "na"})  # never a count, date or flag


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, str) and (not value.strip() or value.strip().casefold() in MISSING)


def to_text(value: Any, label: str) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        raise RowError(f"{label}: expected text, got {kind_of(value)}")
    text = str(value).strip()
    return text or None


def to_count(value: Any, label: str) -> Optional[int]:
    """A non-negative count; scrapers' display forms "1.2M", "15K" and "1,234" parse."""
    if is_blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RowError(f"{label}: expected a number, got {kind_of(value)}")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise RowError(f"{label}: {value!r} is not a whole number")
        number = Decimal(int(value))
    else:
        text = unicodedata.normalize("NFKC", value).strip()
        negative = text.startswith("-")
        match = _COUNT_RE.fullmatch(text.lstrip("+-").strip())
        if not match:
            raise RowError(f"{label}: {short_repr(value)} is not a number")
        fraction = (match[2] or "").replace(",", ".")
        number = Decimal(match[1].replace(",", "").replace(" ", "") + fraction)
        suffix = match[3].casefold() if match[3] else None
        if suffix is None and number != number.to_integral_value():
            raise RowError(f"{label}: {short_repr(value)} is not a whole number")
        number = (number * _MULTIPLIERS[suffix]).to_integral_value()
        if negative:
            number = -number
    if number < 0:
        raise RowError(f"{label}: {short_repr(value)} is negative")
    if number > _MAX_COUNT:
        raise RowError(f"{label}: {short_repr(value)} is implausibly large")
    return int(number)


def to_duration(value: Any, label: str) -> Optional[float]:
    if is_blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RowError(f"{label}: expected seconds, got {kind_of(value)}")
    try:
        seconds = float(value)
    except ValueError:
        raise RowError(f"{label}: {short_repr(value)} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise RowError(f"{label}: {short_repr(value)} is not a valid duration")
    return seconds


def to_timestamp(value: Any, label: str) -> Optional[int]:
    """Unix seconds (UTC) from unix seconds, milliseconds or an ISO-8601 string."""
    if is_blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RowError(f"{label}: expected a date, got {kind_of(value)}")
    if isinstance(value, str) and not re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RowError(f"{label}: {short_repr(value)} is not a date (expected ISO 8601 or "
                           "unix seconds)") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)  # exports without a zone are UTC
        seconds = moment.timestamp()
    else:
        seconds = float(value)
    if math.isfinite(seconds) and seconds > 1e11:
        seconds /= 1000  # milliseconds: no post is from after the year 5000
    if not math.isfinite(seconds) or not 0 <= seconds < _LATEST_TIME:
        raise RowError(f"{label}: {short_repr(value)} is not a plausible posting time")
    return int(seconds)


def to_flag(value: Any, label: str) -> Optional[bool]:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, str)) and str(value).strip().casefold() in _TRUE | _FALSE:
        return str(value).strip().casefold() in _TRUE
    raise RowError(f"{label}: {short_repr(value)} is not true or false")
