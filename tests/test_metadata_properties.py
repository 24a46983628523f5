"""Property-based tests of every metadata importer (issue 16): whatever a row holds — wrong
types, missing fields, huge and negative numbers, NaN, duplicate ids, unicode and emoji,
NUL characters, very long fields, deep nesting, formula cells — reading never throws
anything but a MetadataError for a file that is not metadata at all; a good row comes
back as a record; a bad row comes back as a problem with its row number."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reelscope.core.ingest.metadata import MetadataError, read_metadata

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

weird_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "\x00nul", "🎬✨ #fyp",
                     "x" * 5000, "", " ", "NaN", "inf", "-1e308", "1e400", "0x10", "١٢٣"]),
)
weird_number = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["12k", "1.5M", "lots", "", None, True, [], {}, "  42 "]),
)
weird_value = st.one_of(weird_text, weird_number,
                        st.recursive(st.none() | st.integers(), lambda c: st.lists(c, max_size=3)
                                     | st.dictionaries(st.text(max_size=5), c, max_size=3), max_leaves=20))
row_id = st.one_of(st.from_regex(r"[0-9]{1,19}", fullmatch=True), st.sampled_from(["7", "7", "dup"]),
                   weird_text)


def tiktok_item(draw) -> dict:
    item = {"id": draw(row_id)}
    for key in draw(st.lists(st.sampled_from(["desc", "createTime", "author", "authorStats", "music",
                                              "stats", "video", "challenges", "textExtra"]),
                             unique=True, max_size=9)):
        if key in ("author", "authorStats", "music", "stats", "video"):
            item[key] = draw(st.one_of(
                st.dictionaries(st.sampled_from(["id", "uniqueId", "followerCount", "diggCount",
                                                 "heartCount", "title", "original", "duration",
                                                 "playCount", "shareCount"]), weird_value, max_size=6),
                weird_value))
        else:
            item[key] = draw(weird_value)
    return item


@st.composite
def tiktok_items(draw) -> list:
    return [tiktok_item(draw) for _ in range(draw(st.integers(min_value=1, max_value=8)))]


def _check(path: Path, n_rows: int) -> None:
    try:
        result = read_metadata(path)
    except MetadataError:
        return  # a whole file that is not metadata: refused with a message, nothing thrown
    numbered = [p.row for p in result.problems if p.severity == "error"]
    assert all(r is None or 1 <= r <= n_rows + 1 for r in numbered)
    assert len({r.id for r in result.records}) == len(result.records)  # one record per id
    for record in result.records:
        assert record.id and isinstance(record.id, str) and "\x00" not in record.id
        for count in (record.likes, record.author.followers if record.author else None):
            assert count is None or (isinstance(count, int) and count >= 0)
        json.dumps(record.extra, default=str)  # storable


@SETTINGS
@given(items=tiktok_items(), lines=st.booleans())
def test_tiktokapi_json_and_json_lines_never_throw(tmp_path_factory, items, lines):
    path = tmp_path_factory.mktemp("meta") / ("items.jsonl" if lines else "items.json")
    text = "\n".join(json.dumps(i, default=str) for i in items) if lines else json.dumps(items, default=str)
    path.write_text(text, encoding="utf-8")
    _check(path, len(items))


COLUMNS = ["id", "description", "posted_at", "author_id", "author_name", "followers", "likes",
           "shares", "comments", "plays", "duration", "hashtags", "sound_id", "sound_title"]
APIFY = ["id", "text", "createTime", "authorMeta.name", "authorMeta.fans", "diggCount",
         "musicMeta.musicId", "videoMeta.duration", "hashtags/0/name"]


@SETTINGS
@given(header=st.sampled_from([COLUMNS, APIFY]),
       rows=st.lists(st.lists(st.one_of(weird_text, weird_number.map(str)), min_size=0, max_size=16),
                     min_size=1, max_size=8),
       delimiter=st.sampled_from([",", ";", "\t"]))
def test_csv_files_never_throw(tmp_path_factory, header, rows, delimiter):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    path = tmp_path_factory.mktemp("meta") / "meta.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    _check(path, len(rows))


@pytest.mark.parametrize("text", [
    "[" * 50_000 + "]" * 50_000,                    # nesting past the parser's limit
    '{"itemList": ' + "[" * 3000 + "]" * 3000 + "}",
    "id,likes\n" + "a" * 300_000 + ",1\n",          # a field past the CSV limit
    "\x00\x01\x02 binary junk",
    "",
])
def test_hostile_whole_files_are_refused_or_read_never_thrown(tmp_path, text):
    path = tmp_path / "meta.json"
    path.write_text(text, encoding="utf-8")
    _check(path, 1)
