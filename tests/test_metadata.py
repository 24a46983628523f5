"""Metadata importers: every format from realistic fixture files, bad rows, hashtags, ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reelscope.core.store.library import Library
from reelscope.core.ingest.metadata import (
    MetadataError,
    MetadataResult,
    hashtags_in_text,
    id_from_filename,
    normalise_hashtag,
    read_metadata,
)
from reelscope.core.store.models import Author, Sound

FIXTURES = Path(__file__).parent / "fixtures" / "metadata"


def problems_of(result: MetadataResult) -> list[tuple[int, str, str]]:
    return [(p.row, p.severity, p.reason) for p in result.problems]


def assert_problems(result: MetadataResult, expected: list[tuple[int, str]]) -> None:
    """Each problem has the expected row and a reason containing the given text."""
    got = problems_of(result)
    assert [row for row, _, _ in got] == [row for row, _ in expected], got
    for (row, _, reason), (_, text) in zip(got, expected):
        assert text in reason, (row, reason)
    assert all(p.job == "metadata" for p in result.problems)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ TikTokApi
def test_tiktokapi_itemlist_values_and_extra():
    path = FIXTURES / "tiktokapi_itemlist.json"
    result = read_metadata(path)
    assert result.format == "tiktokapi"
    assert [r.id for r in result.records] == [
        "7234567890123456789", "7234567890123456790", "7234567890123456793"]

    first = result.records[0]
    assert first.source == "tiktokapi"
    assert first.description == "Morning routine ☕ with @coffee.lab #FYP #MorningRoutine #Café"
    assert first.posted_at == 1683000000
    assert first.duration == 15.0
    assert (first.likes, first.shares, first.comments, first.plays) == (15300, 210, 342, 250100)
    assert first.author == Author("6812345678901234567", "sunny.days", "Sunny ☀️", 120500, 321,
                                  2400000, 214, 5120)
    assert first.sound == Sound("7234000000000000001", "original sound - sunny.days",
                                "Sunny ☀️", True)
    # challenges, textExtra hashtags and the caption, normalised and without repeats
    assert first.hashtags == ("fyp", "morningroutine", "café")
    # unmapped fields stay where the file had them; mapped ones are gone
    extra = first.extra
    assert extra["video"]["bitrate"] == 1093219 and "duration" not in extra["video"]
    assert extra["author"] == {"avatarThumb": extra["author"]["avatarThumb"],
                               "signature": "coffee, mornings & small wins", "verified": False,
                               "secUid": "MS4wLjABAAAAx9Yz3kq1fTq0n6bJ7o0Qh9kW2H2fV0oZk2p1Jm3y8",
                               "privateAccount": False}
    assert extra["music"]["duration"] == 15 and "title" not in extra["music"]
    assert [m["userUniqueId"] for m in extra["textExtra"]] == ["coffee.lab"]  # the @mention
    assert extra["stickersOnItem"][0]["stickerText"] == ["good morning"]
    assert "stats" not in extra and "challenges" not in extra and "desc" not in extra
    json.dumps(extra)  # it is stored as JSON

    second = result.records[1]
    assert second.posted_at == 1683086400  # createTime as a string
    assert second.duration == 9.5
    assert second.sound.original is False
    assert second.hashtags == ("latteart", "fyp")  # '＃ＦＹＰ' in the caption is fullwidth

    newer = result.records[2]  # statsV2 / authorStatsV2 carry counts as strings
    assert (newer.likes, newer.shares, newer.comments, newer.plays) == (8800, 120, 95, 143000)
    assert newer.author.followers == 45000 and newer.author.hearts == 990000
    assert newer.extra["statsV2"] == {"collectCount": "310"}

    assert_problems(result, [(3, "not a plausible post id"),
                             (4, "author: expected an object, got a list"),
                             (5, "stats.diggCount: 'lots' is not a number")])
    assert all(p.path == str(path) for p in result.problems)


def test_tiktokapi_json_lines_bad_line_and_duplicate():
    result = read_metadata(FIXTURES / "tiktokapi_items.jsonl")
    assert result.format == "tiktokapi"
    # the repeated id replaces the first row and takes its place in file order
    assert [r.id for r in result.records] == ["7301000000000000002", "7301000000000000001"]
    replaced = result.records[1]
    assert replaced.likes == 6100 and replaced.plays == 70500
    assert replaced.hashtags == ("fitness", "homeworkout")
    assert result.records[0].hashtags == ("stretch",)
    assert_problems(result, [(3, "line is not JSON"),
                             (5, "stats.commentCount: '-5' is negative"),
                             (6, "duplicate id 7301000000000000001: replaces row 1")])
    assert [p.severity for p in result.problems] == ["error", "error", "warning"]


@pytest.mark.parametrize("wrap", [
    lambda items: {"items": items},
    lambda items: {"data": {"itemList": items}, "hasMore": False},
    lambda items: items[0],  # a single item saved on its own
])
def test_tiktokapi_wrappers(tmp_path, wrap):
    items = json.loads((FIXTURES / "tiktokapi_itemlist.json").read_text("utf-8"))["itemList"][:1]
    result = read_metadata(write(tmp_path, "dump.json", json.dumps(wrap(items))))
    assert result.format == "tiktokapi"
    assert [r.id for r in result.records] == ["7234567890123456789"]


# ---------------------------------------------------------------------- Apify
def test_apify_csv_with_split_hashtag_columns():
    result = read_metadata(FIXTURES / "apify_tiktok_export.csv")
    assert result.format == "apify"
    assert [r.id for r in result.records] == [
        "7270000000000000001", "7270000000000000002", "7270000000000000006"]
    first, second, third = result.records
    assert first.source == "apify"
    assert first.description == "Repotting my monstera 🌿 #PlantTok #monstera"
    assert first.posted_at == 1694000000
    assert (first.likes, first.shares, first.comments, first.plays) == (25100, 980, 412, 410000)
    assert first.author == Author("6900000000000000001", "plant.dad", "Plant Dad 🌿", 88200, 190,
                                  1900000, 260, 310)
    assert first.sound == Sound("7270000000000000801", "original sound - plant.dad",
                                "Plant Dad 🌿", True)
    assert first.hashtags == ("planttok", "monstera")
    assert first.duration == 34.0
    assert first.extra == {
        "authorMeta.avatar": "https://p16-sign-va.tiktokcdn.com/avt/plant1.jpeg",
        "authorMeta.verified": "false", "isAd": "false", "videoMeta.height": "1024",
        "videoMeta.width": "576",
        "webVideoUrl": "https://www.tiktok.com/@plant.dad/video/7270000000000000001"}

    # scraped display numbers, an ISO date when createTime is blank, a quoted caption
    assert (second.likes, second.shares, second.comments, second.plays) == (15000, 3400, 1234,
                                                                            1200000)
    assert second.author.followers == 88200 and second.author.hearts == 1900000
    assert second.posted_at == 1694109600  # 2023-09-07T18:00:00Z
    assert second.description == "Watering schedule, explained 💧 #PlantCare #Café"
    assert second.hashtags == ("plantcare", "café")
    assert second.sound.original is False
    assert second.extra["mentions.0"] == "@leafy.life"

    # no authorMeta/id: the handle is the author id; '＃ＦＹＰ' and emoji-wrapped tags fold
    assert third.author.id == "succulent.sara" and third.author.digg_count is None
    assert third.hashtags == ("fyp", "succulents", "cactus")
    assert third.sound.original is True  # "TRUE"

    assert_problems(result, [(3, "missing id"),
                             (4, "diggCount: 'lots' is not a number"),
                             (5, "createTime: 'yesterday' is not a date")])


def test_apify_excel_semicolon_csv_with_bom():
    result = read_metadata(FIXTURES / "apify_excel_semicolon.csv")
    assert result.format == "apify"
    assert [r.id for r in result.records] == [
        "7290000000000000001", "7290000000000000003", "7290000000000000004"]
    lunch, snacks, objects = result.records
    assert lunch.posted_at == 1696230900  # '2023-10-02 07:15:00' without a zone is UTC
    assert (lunch.likes, lunch.plays) == (3100, 52000)  # '3 100', '52 000'
    assert lunch.author == Author("mum.hacks", "mum.hacks", None, 41000, 210, 600000, 150, None)
    assert lunch.sound == Sound("7290000000000000500", "original sound - mum.hacks", None, True)
    assert lunch.hashtags == ("lunchbox", "momhacks")  # a JSON list in one cell
    assert snacks.likes == 2100  # '2,1K' with a decimal comma
    assert snacks.sound is None
    assert snacks.hashtags == ("fyp", "school", "snacks", "lunchbox")
    assert objects.hashtags == ("mealprep", "lunchbox")  # a JSON list of {"name": ...}
    assert_problems(result, [(2, "looks like a number a spreadsheet rounded")])


def test_apify_json_nested_records():
    result = read_metadata(FIXTURES / "apify_dataset.json")
    assert result.format == "apify"
    assert [r.id for r in result.records] == [
        "7280000000000000001", "7280000000000000002", "7280000000000000005"]
    first, second, third = result.records
    assert first.posted_at == 1695222245  # createTimeISO 2023-09-20T15:04:05.000Z
    assert first.author == Author("7012345678901234567", "crumb.and.co", "Crumb & Co Bakery",
                                  230000, 150, 4100000, 380, 900)
    assert first.sound == Sound("7280000000000000900", "original sound", "Crumb & Co Bakery", True)
    assert first.hashtags == ("bakery", "sourdough")
    assert first.extra["authorMeta.signature"] == "Sourdough every day 🍞"
    assert first.extra["searchHashtag.views"] == 4100000000
    assert first.extra["mentions"] == [] and "hashtags" not in first.extra
    assert second.hashtags == ("baking", "croissant")  # a list of plain strings
    assert third.author.id == "flour.power"
    assert (third.author.followers, third.author.hearts) == (12500, 1100000)
    assert (third.likes, third.plays, third.duration) == (2450, 40000, 14.6)
    assert third.sound.original is True
    assert_problems(result, [(3, "authorMeta: expected an object, got a list"),
                             (4, "shareCount: '-3' is negative")])


# ----------------------------------------------------------------- plain CSV
def test_plain_csv():
    result = read_metadata(FIXTURES / "reelscope_posts.csv")
    assert result.format == "csv"
    assert [r.id for r in result.records] == ["clip_0001", "clip_0002", "clip_0006"]
    sale, bts, review = result.records
    assert sale.source == "csv"
    assert sale.posted_at == 1709287200
    assert sale.author == Author("acme_store", "acme.store", None, 15200, 80, 310000, 120, None)
    assert sale.sound == Sound("snd-001", "Upbeat Promo", "Stock Audio", False)
    assert (sale.likes, sale.shares, sale.comments, sale.plays, sale.duration) == (
        1520, 44, 31, 22000, 14.5)
    assert sale.hashtags == ("spring", "sale", "café", "springsale")
    assert sale.extra == {"campaign": "spring24"}
    assert bts.posted_at == 1709460000 and bts.sound.original is True
    assert bts.hashtags == ("bts", "warehouse") and bts.extra == {}
    assert review.author is None and review.sound is None and review.hashtags == ()
    assert (review.likes, review.plays, review.posted_at) == (2300, 31000, 1709683200)
    assert_problems(result, [(3, "id 'clips/0003' is not a plausible post id"),
                             (4, "posted_at: '31/02/2024' is not a date"),
                             (5, "likes: '-4' is negative")])


def test_plain_csv_tab_separated_and_case_insensitive_header(tmp_path):
    path = write(tmp_path, "posts.tsv", "ID\tLikes\tPlays\tHashtags\n"
                                        "a1\t1.2M\t15K\t#One,two\n"
                                        "a2\t\t\t\n"
                                        "..\t1\t1\t\n")
    result = read_metadata(path)
    assert result.format == "csv"
    assert [(r.id, r.likes, r.plays, r.hashtags) for r in result.records] == [
        ("a1", 1200000, 15000, ("one", "two")), ("a2", None, None, ())]
    assert_problems(result, [(3, "not a plausible post id")])


@pytest.mark.parametrize("column, value, reason", [
    ("likes", "lots", "likes: 'lots' is not a number"),
    ("likes", "12.5", "likes: '12.5' is not a whole number"),
    ("shares", "-1", "shares: '-1' is negative"),
    ("plays", "99999999999999999999", "implausibly large"),
    ("sound_original", "maybe", "sound_original: 'maybe' is not true or false"),
    ("duration", "long", "duration: 'long' is not a number of seconds"),
    ("posted_at", "99999999999999999", "not a plausible posting time"),
    ("hashtags", "[fyp", "not valid JSON"),
])
def test_plain_csv_bad_values(tmp_path, column, value, reason):
    path = write(tmp_path, "posts.csv", f"id,sound_id,{column}\nok1,s1,\nbad1,s1,\"{value}\"\n")
    result = read_metadata(path)
    assert [r.id for r in result.records] == ["ok1"]
    assert_problems(result, [(2, reason)])


def test_extra_cells_beyond_header_are_a_bad_row(tmp_path):
    path = write(tmp_path, "posts.csv", "id,description,likes\nv1,hi,3\nv2,hi, there,4\n")
    result = read_metadata(path)
    assert [r.id for r in result.records] == ["v1"]
    assert_problems(result, [(2, "row has 4 cells but the header has 3")])


def test_json_wrong_types_are_bad_rows(tmp_path):
    rows = [
        {"id": 7000000000000000001, "desc": "int id is fine", "stats": {"diggCount": 5}},
        {"id": 7.0e18, "desc": "float id lost its digits"},
        {"id": "7000000000000000003", "desc": ["not", "text"]},
        {"id": "7000000000000000004", "desc": "x", "music": "not an object"},
        {"id": "7000000000000000005", "desc": "x", "challenges": {"title": "fyp"}},
        {"id": "7000000000000000006", "desc": "x", "stats": {"diggCount": True}},
        "not an object",
    ]
    result = read_metadata(write(tmp_path, "items.json", json.dumps(rows)))
    assert [(r.id, r.likes) for r in result.records] == [("7000000000000000001", 5)]
    assert_problems(result, [(2, "floating-point number"),
                             (3, "desc: expected text, got a list"),
                             (4, "music: expected an object, got text"),
                             (5, "challenges: expected a list, got an object"),
                             (6, "stats.diggCount: expected a number, got true/false"),
                             (7, "record: expected an object, got text")])


# ------------------------------------------------------------- not metadata
@pytest.mark.parametrize("name, content, message", [
    ("empty.json", b"", "is empty"),
    ("blank.csv", b"  \n\n", "is empty"),
    ("clip.json", b"\x00\x00\x00\x18ftypmp42\x00\x00", "binary data"),
    ("latin1.csv", "id,description\n1,caf\u00e9\n".encode("cp1252"), "not UTF-8 text"),
    ("sales.csv", b"order,customer,total\n1,ann,9.99\n",
     "unknown columns ('order', 'customer', 'total')"),
    ("noid.csv", b"description,likes\nhi,3\n", "no 'id' column"),
    ("config.json", b'{"theme": "dark", "size": 3}', "no list of posts"),
    ("other.json", b'[{"name": "x", "price": 3}]', "not TikTokApi or Apify posts"),
    ("broken.json", b'[{"id": "1", "desc": ', "not valid JSON"),
    ("nothing.json", b"[]", "holds no records"),
    ("nested.json", b'{"data": {"itemList": []}}', "holds no records"),
    ("utf16blank.csv", "  \n".encode("utf-16"), "is empty"),
])
def test_not_metadata_raises(tmp_path, name, content, message):
    path = write(tmp_path, name, content)
    with pytest.raises(MetadataError) as info:
        read_metadata(path)
    assert str(path) in str(info.value) and message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_metadata(tmp_path / "nope.json")


def test_utf16_with_bom_is_read(tmp_path):
    path = write(tmp_path, "excel.csv", "id\tlikes\nv1\t7\n".encode("utf-16"))
    assert [(r.id, r.likes) for r in read_metadata(path).records] == [("v1", 7)]


# ------------------------------------------------------------------ hashtags
@pytest.mark.parametrize("raw, expected", [
    ("#FYP", "fyp"),
    ("fyp", "fyp"),
    ("#Café", "café"),
    ("#Cafe\u0301", "café"),  # decomposed accent composes
    ("#ＦＹＰ", "fyp"),  # fullwidth
    ("＃ＦＹＰ", "fyp"),  # fullwidth '#'
    ("🔥fyp🔥", "fyp"),
    ("#love❤️", "love"),  # emoji with a variation selector
    ("#fyp!!", "fyp"),
    ("#हिंदी", "हिंदी"),  # the trailing vowel sign is kept
    ("#Straße", "strasse"),
    ("#small business", "smallbusiness"),
    ("#2024", "2024"),
    ("#", None),
    ("🔥", None),
    ("", None),
])
def test_normalise_hashtag(raw, expected):
    assert normalise_hashtag(raw) == expected


def test_hashtags_in_text():
    text = ("New drop!! #FYP#Viral see page#section &#39; #Café ＃ＦＹＰ #dance🕺 "
            "# alone #हिंदी। (#ad) #under_score")
    assert hashtags_in_text(text) == ["fyp", "viral", "café", "dance", "हिंदी", "ad",
                                      "under_score"]
    assert hashtags_in_text("") == []


# ------------------------------------------------------------------- ids
KNOWN = {"7234567890123456789", "7234567890123456780", "clip_0001", "Cx-ab_12", "12"}


@pytest.mark.parametrize("name, expected", [
    ("7234567890123456789.mp4", "7234567890123456789"),
    ("clip_0001.MOV", "clip_0001"),
    ("tiktok_7234567890123456789_final.mp4", "7234567890123456789"),
    ("vid7234567890123456789(1).mp4", "7234567890123456789"),
    ("/home/ann/exports/7234567890123456789.mp4", "7234567890123456789"),
    ("C:\\Users\\ann\\tiktok_7234567890123456789.mp4", "7234567890123456789"),
    ("reel_Cx-ab_12.mp4", "Cx-ab_12"),
    ("clip_12_7234567890123456789.mp4", "7234567890123456789"),  # the longest known id wins
    ("7234567890123456789_7234567890123456780.mp4", None),  # two equally good: ambiguous
    ("72345678901234567890.mp4", None),  # a longer digit run is a different id
    ("holiday.mp4", None),
])
def test_id_from_filename(name, expected):
    assert id_from_filename(name, KNOWN) == expected


def test_id_from_filename_needs_a_known_id():
    assert id_from_filename("7234567890123456789.mp4", set()) is None


# ------------------------------------------------------------- round trip
def test_round_trip_into_library(tmp_path):
    result = read_metadata(FIXTURES / "tiktokapi_itemlist.json")
    lib = Library.create(tmp_path / "lib")
    assert lib.save_metadata(result.records) == 3
    assert lib.save_metadata(read_metadata(FIXTURES / "reelscope_posts.csv").records) == 3
    db = lib.db

    post = next(db.query("SELECT * FROM posts WHERE video_id = '7234567890123456789'"))
    assert post["author_id"] == "6812345678901234567"
    assert post["sound_id"] == "7234000000000000001"
    assert (post["posted_at"], post["meta_duration"], post["source"]) == (1683000000, 15.0,
                                                                          "tiktokapi")
    assert json.loads(post["extra"])["author"]["signature"] == "coffee, mornings & small wins"

    author = next(db.query("SELECT * FROM authors WHERE id = '6812345678901234567'"))
    assert (author["unique_id"], author["nickname"], author["followers"], author["hearts"],
            author["video_count"], author["digg_count"]) == ("sunny.days", "Sunny ☀️", 120500,
                                                             2400000, 214, 5120)
    sound = next(db.query("SELECT * FROM sounds WHERE id = '7234000000000000001'"))
    assert (sound["title"], sound["author_name"], sound["original"]) == (
        "original sound - sunny.days", "Sunny ☀️", 1)

    engagement = {r["video_id"]: (r["likes"], r["shares"], r["comments"], r["plays"])
                  for r in db.query("SELECT * FROM engagement")}
    assert engagement["7234567890123456789"] == (15300, 210, 342, 250100)
    assert engagement["clip_0006"] == (2300, 15, 40, 31000)
    assert len(engagement) == 6

    tags = [r["tag"] for r in db.query(
        "SELECT h.tag FROM video_hashtags v JOIN hashtags h ON h.id = v.hashtag_id "
        "WHERE v.video_id = '7234567890123456789' ORDER BY h.tag")]
    assert tags == ["café", "fyp", "morningroutine"]
    # 'café' from both files is one hashtag row shared by two posts
    shared = next(db.query("SELECT COUNT(*) AS n FROM video_hashtags v JOIN hashtags h "
                           "ON h.id = v.hashtag_id WHERE h.tag = 'café'"))
    assert shared["n"] == 2
    assert next(db.query("SELECT COUNT(*) AS n FROM authors"))["n"] == 3
    # nothing in the metadata created files outside the library folder or the videos table
    assert next(db.query("SELECT COUNT(*) AS n FROM videos"))["n"] == 0
    assert lib.metadata_ids() == {r.id for r in result.records} | {"clip_0001", "clip_0002",
                                                                    "clip_0006"}


def test_tiktokapi_older_shapes(tmp_path):
    """Handle-only authors, millisecond times and author stats without an author."""
    rows = [
        {"id": "7100000000000000001", "desc": "", "createTime": 1650000000000, "author": "old.api",
         "authorStats": {"followerCount": "3B"}},
        {"id": "7100000000000000002", "desc": "#solo", "authorStats": {"followerCount": 9}},
    ]
    result = read_metadata(write(tmp_path, "old.jsonl", "\n".join(map(json.dumps, rows))))
    old, solo = result.records
    assert old.author == Author("old.api", "old.api", followers=3_000_000_000)
    assert old.posted_at == 1650000000 and old.description is None
    assert solo.author is None
    assert solo.extra == {"authorStats": {"followerCount": 9}}  # kept, not lost
    assert result.problems == []


def test_plain_author_columns_without_author_id_stay_in_extra(tmp_path):
    path = write(tmp_path, "posts.csv", "id,author_name,followers,likes\nv1,ann,12,3\n")
    (record,) = read_metadata(path).records
    assert record.author is None and record.likes == 3
    assert record.extra == {"author_name": "ann", "followers": "12"}
