"""The world behind the demo library, planned from one seed: authors, trending sounds and
their rise and fall, who posts what when, and how many likes it gets by the formula in
:data:`LIKES_MODEL`; then the TikTokApi-style metadata and the ground truth it all
implies. Pure and deterministic: the same :class:`DemoSpec` always plans the same world.

Pictures are planned by :mod:`reelscope.demo.video`, sounds by
:mod:`reelscope.demo.audio`; :mod:`reelscope.demo.generator` writes the files.
docs/DEMO.md describes the content and the ground truth for users.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Optional

import numpy as np

from reelscope.demo.audio import AudioPlan, draw_audio_plan, harden_audio_plan, make_recipe
from reelscope.demo.scenes import ATYPICAL, ATYPICAL_PATTERNS, CATEGORIES
from reelscope.demo.video import Caption, VisualPlan, draw_look, harden_visual_plan

GROUND_TRUTH_FORMAT = "reelscope-demo-ground-truth"
GROUND_TRUTH_VERSION = 1
START_TIME = 1673222400  # 2023-01-09 00:00 UTC: first possible post
WINDOW_DAYS = 120  # posts spread over about four months

# Shares of the library (of ``spec.videos``); each rounds to at least one video.
ATYPICAL_SHARE = 0.03
SILENT_SHARE = 0.03
MISLABELLED_SHARE = 0.03  # reuse a trending sound but say "original sound"
# Of the remaining videos, the share on a trending sound (the rest speak over original
# audio): dancers dance to trends, talking heads mostly talk.
TRENDING_SHARE = {"dance": 0.9, "cooking": 0.7, "nature": 0.75, "talking_head": 0.3, "gaming": 0.65,
                  "product": 0.6, ATYPICAL: 0.6}

# log(likes) = intercept + log_followers*ln(followers) + category[c] + sound_popularity*pop
#              + originality*orig + N(0, noise_sd), with natural logs. See docs/DEMO.md.
LIKES_MODEL: dict[str, Any] = {
    "intercept": -0.5,
    "log_followers": 0.75,
    "category": {"dance": 0.5, "cooking": 0.2, "nature": -0.25, "talking_head": -0.1,
                 "gaming": 0.1, "product": -0.45, ATYPICAL: 0.0},
    "sound_popularity": 1.0,
    "originality": -0.4,
    "originality_definition": "1.0 if the picture is atypical, plus 0.3 if the audio is unique "
                              "(original speech); 0 otherwise",
    "noise_sd": 0.75,
}

BAD_KINDS: dict[str, str] = {  # kind -> what an importer should report
    "empty": "empty file (0 bytes)",
    "not_media": "not a media file: an HTML error page saved under a .mp4 name",
    "truncated": "truncated MP4: the first half of a real file, no moov index",
    "audio_only": "no video stream: AAC audio only in an .mp4",
    "missing": "metadata row whose video file does not exist",
}


@dataclass(frozen=True)
class DemoSpec:
    """What to generate. Vertical 9:16-ish frames kept small so 300 videos take seconds."""

    videos: int = 300
    seed: int = 0
    width: int = 144
    height: int = 256
    fps: int = 15
    min_s: float = 4.0
    max_s: float = 8.0
    # Harder to read: stronger grades and stickers over the picture; reposted sounds pitched
    # and tempo-shifted independently under louder voice-over, noise, reverb, a narrow band.
    hard: bool = False


def spec_record(spec: DemoSpec) -> dict[str, Any]:
    """``spec`` as recorded in a demo folder; ``hard`` only when set, so demos made before
    the flag existed keep their exact records."""
    out = asdict(spec)
    if not spec.hard:
        del out["hard"]
    return out


# ------------------------------------------------------------ the world
class World:
    """Authors, sounds and posts planned from the seed; pure and deterministic."""

    def __init__(self, spec: DemoSpec) -> None:
        self.spec = spec
        rng = np.random.default_rng([spec.seed, 0])
        self._ids: set[str] = set()
        n = spec.videos
        self.sounds = [self._sound(rng, k) for k in range(int(np.clip(n // 15, 4, 18)))]
        self.authors = [self._author(rng) for _ in range(int(np.clip(round(n / 6), 6, 60)))]
        order = rng.permutation(n)
        counts = [max(1, round(share * n)) if n >= 10 else 0
                  for share in (ATYPICAL_SHARE, SILENT_SHARE, MISLABELLED_SHARE)]
        self.atypical = set(order[: counts[0]].tolist())
        self.silent = set(order[counts[0]: counts[0] + counts[1]].tolist())
        self.mislabelled = set(order[counts[0] + counts[1]: sum(counts)].tolist())
        self.posts = [self._post(i) for i in range(n)]
        # Broken downloads are posts like any other: their rows stay in the metadata.
        self.bad = [{"id": post["id"], "kind": kind, "post": post}
                    for kind, post in ((kind, self._post(n + k)) for k, kind in enumerate(BAD_KINDS))]
        rows = Counter(p["author"]["id"] for p in self.posts + [b["post"] for b in self.bad])
        for author in self.authors:  # the profile counts at least the posts listed here
            author["videoCount"] = max(author["videoCount"], rows[author["id"]])

    # ------------------------------------------------------------ pieces
    def _new_id(self, rng: np.random.Generator, when: int) -> str:
        """A 19-digit id the way TikTok makes them: post time in the top 32 bits."""
        while True:
            value = str((when << 32) | int(rng.integers(0, 2**32)))
            if value not in self._ids:
                self._ids.add(value)
                return value

    def _sound(self, rng: np.random.Generator, k: int) -> dict[str, Any]:
        seed = int(rng.integers(2**31))
        title = f"{_pick(rng, _SOUND_WORDS[0])} {_pick(rng, _SOUND_WORDS[1])}"
        challenge = (title.replace(" ", "") + _pick(rng, ("challenge", "dance", "trend", ""))).lower()
        aff = 0.25 + 6 * rng.dirichlet(np.full(len(CATEGORIES), 0.5))
        return {
            "id": self._new_id(rng, START_TIME - int(rng.integers(86400, 400 * 86400))),
            "title": title, "authorName": _pick(rng, _ARTISTS), "challenge": challenge,
            "recipe": make_recipe(np.random.default_rng(seed), seed),
            # Popularity over time: a bump peaking at ``peak_day``, some already fading.
            "peak_day": float(rng.uniform(-25, WINDOW_DAYS + 15)), "width_days": float(rng.uniform(8, 35)),
            "peak": float(rng.uniform(0.3, 1.0)),
            "affinity": {c: float(a) for c, a in zip(CATEGORIES, aff)},
        }

    def popularity(self, sound: dict[str, Any], when: int) -> float:
        """How hot ``sound`` is at unix time ``when``, 0..1."""
        day = (when - START_TIME) / 86400
        return sound["peak"] * math.exp(-0.5 * ((day - sound["peak_day"]) / sound["width_days"]) ** 2)

    def _author(self, rng: np.random.Generator) -> dict[str, Any]:
        handle = "".join(_pick(rng, _SYLLABLES) for _ in range(int(rng.integers(2, 4))))
        if rng.random() < 0.5:
            handle += _pick(rng, ("", ".", "_")) + str(int(rng.integers(1, 999)))
        followers = int(10 ** rng.uniform(2, 7))
        return {
            "id": self._new_id(rng, START_TIME - int(rng.integers(86400, 1500 * 86400))),
            "uniqueId": handle, "nickname": f"{_pick(rng, _FIRST)} {_pick(rng, _NICK)}",
            "followers": followers, "following": int(10 ** rng.uniform(1, 3.3)),
            "hearts": int(followers * 10 ** rng.uniform(0.3, 1.5)),
            "videoCount": int(10 ** rng.uniform(1.5, 3.2)), "digg": int(10 ** rng.uniform(1, 4.5)),
            "mix": rng.dirichlet(np.full(len(CATEGORIES), 0.4)),  # a few preferred categories
            "activity": float(rng.lognormal(0, 0.8)),
            "tag": handle.split(".")[0].split("_")[0] + "life" if rng.random() < 0.4 else None,
        }

    def _post(self, i: int) -> dict[str, Any]:
        spec = self.spec
        rng = np.random.default_rng([spec.seed, 1, i])
        weights = np.array([a["activity"] for a in self.authors])
        author = self.authors[int(rng.choice(len(self.authors), p=weights / weights.sum()))]
        atypical = i in self.atypical
        category = ATYPICAL if atypical else str(rng.choice(CATEGORIES, p=author["mix"]))
        pattern = str(rng.choice(ATYPICAL_PATTERNS)) if atypical else None
        when = START_TIME + int(rng.uniform(0, WINDOW_DAYS * 86400))
        vid = self._new_id(rng, when)
        frames = int(round(rng.uniform(spec.min_s, spec.max_s) * spec.fps))

        sound, kind = None, "original"
        if i in self.silent:
            kind = "none"
        elif i in self.mislabelled or rng.random() < TRENDING_SHARE[category]:
            kind = "trending"
            w = np.array([(self.popularity(s, when) + 0.03)
                          * (1.0 if atypical else s["affinity"][category]) for s in self.sounds])
            sound = self.sounds[int(rng.choice(len(self.sounds), p=w / w.sum()))]
        audio = draw_audio_plan(rng, kind, sound["recipe"] if sound else None)
        if i in self.mislabelled or sound is None:
            music = {"id": self._new_id(rng, when), "title": f"original sound - {author['uniqueId']}",
                     "authorName": author["nickname"], "original": True}
        else:
            music = {"id": sound["id"], "title": sound["title"], "authorName": sound["authorName"],
                     "original": False}

        tags = self._hashtags(rng, category, sound if i not in self.mislabelled else None, author)
        phrase = _pick(rng, _DESC.get(category, _DESC_GENERIC) if rng.random() < 0.6 else _DESC_GENERIC)
        captions = []
        for _ in range(int(rng.choice([0, 1, 1, 1, 2]))):
            start = float(rng.uniform(0, frames / spec.fps * 0.5))
            captions.append(Caption(_pick(rng, _CAPTIONS), start, start + float(rng.uniform(1.5, 6))))
        visual = VisualPlan(category, pattern, int(rng.integers(2**31)), spec.width, spec.height, spec.fps,
                            frames, draw_look(rng), tuple(captions))
        if spec.hard:  # its own stream: the plain demo's draws stay exactly as they were
            hard_rng = np.random.default_rng([spec.seed, 5, i])
            audio, visual = harden_audio_plan(hard_rng, audio), harden_visual_plan(hard_rng, visual)

        pop = self.popularity(sound, when) if sound is not None else 0.0
        originality = (1.0 if atypical else 0.0) + (0.3 if kind == "original" else 0.0)
        m = LIKES_MODEL
        parts = {"intercept": m["intercept"], "followers": m["log_followers"] * math.log(author["followers"]),
                 "category": m["category"][category], "sound_popularity": m["sound_popularity"] * pop,
                 "originality": m["originality"] * originality + 0.0}  # + 0.0: no "-0.0" in JSON
        expected = sum(parts.values())
        noise = float(rng.normal(0, m["noise_sd"]))
        likes = max(0, int(round(math.exp(expected + noise))))
        plays = int(likes * math.exp(rng.normal(math.log(12), 0.4))) + likes + int(rng.integers(5, 50))
        return {
            "index": i, "id": vid, "when": when, "author": author, "category": category, "pattern": pattern,
            "sound": sound, "music": music, "kind": kind, "audio": audio, "visual": visual,
            "hashtags": tags, "desc": phrase + " " + " ".join("#" + t for t in tags),
            "popularity": pop, "originality": originality, "parts": parts, "expected": expected,
            "noise": noise, "likes": likes, "plays": plays,
            "shares": int(likes * math.exp(rng.normal(math.log(0.03), 0.6))),
            "comments": int(likes * math.exp(rng.normal(math.log(0.02), 0.5))),
        }

    def _hashtags(self, rng: np.random.Generator, category: str, sound: Optional[dict[str, Any]],
                  author: dict[str, Any]) -> list[str]:
        """Content tags, the sound's challenge, generic reach tags and the author's own tag."""
        pool = _TAGS[str(rng.choice(CATEGORIES))] if category == ATYPICAL or rng.random() < 0.1 \
            else _TAGS[category]
        tags = [str(t) for t in rng.choice(pool, size=int(rng.integers(1, 4)), replace=False)]
        if category == ATYPICAL and rng.random() < 0.6:
            tags.append(_pick(rng, ("art", "abstract", "satisfying", "experimental")))
        if sound is not None and rng.random() < 0.6:
            tags.append(sound["challenge"])
        for tag, p in _GENERIC_TAGS:
            if rng.random() < p:
                tags.append(tag)
        if author["tag"] and rng.random() < 0.5:
            tags.append(author["tag"])
        return list(dict.fromkeys(tags))

    # ---------------------------------------------------------- outputs
    def metadata(self) -> list[dict[str, Any]]:
        posts = self.posts + [b["post"] for b in self.bad]
        return [_item(p, self.spec) for p in sorted(posts, key=lambda p: int(p["id"]))]

    def ground_truth(self) -> dict[str, Any]:
        videos = {}
        for p in sorted(self.posts, key=lambda p: int(p["id"])):
            a, v = p["audio"], p["visual"]
            true_sound = (p["sound"]["id"] if p["sound"] else None) if p["kind"] != "original" \
                else f"original-{p['id']}"
            videos[p["id"]] = {
                "file": f"videos/{p['id']}.mp4",
                "category": p["category"], "atypical_pattern": p["pattern"],
                "is_atypical": p["pattern"] is not None,
                "author_id": p["author"]["id"], "created": p["when"],
                "duration_s": round(v.frames / v.fps, 6), "frames": v.frames, "has_audio": a.kind != "none",
                "audio_kind": a.kind, "true_sound_id": true_sound, "metadata_sound_id": p["music"]["id"],
                "uses_reused_sound_marked_original": p["index"] in self.mislabelled,
                "sound_edit": None if a.kind != "trending" else {
                    "speed": round(a.speed, 4), "pitch_semitones": round(a.pitch_semitones, 3),
                    "offset_s": round(a.offset_s, 3), "voiceover_db": None if a.voiceover_db is None
                    else round(a.voiceover_db, 2), "snr_db": round(a.snr_db, 2), "eq": a.eq,
                    **_hard_audio_record(a)},
                "hashtags": p["hashtags"],
                "look": {"filter": v.look.filter, "hue_deg": round(v.look.hue_deg, 1),
                         "captions": len(v.captions),
                         **({"hue_drift_deg": round(v.look.hue_drift_deg, 1), "stickers": len(v.stickers)}
                            if self.spec.hard else {})},
                "likes": {"expected_log_likes": round(p["expected"], 6),
                          "components": {k: round(x, 6) for k, x in p["parts"].items()},
                          "sound_popularity": round(p["popularity"], 6), "originality": p["originality"],
                          "noise": round(p["noise"], 6), "log_likes": round(p["expected"] + p["noise"], 6),
                          "likes": p["likes"]},
            }
        return {
            "format": GROUND_TRUTH_FORMAT, "version": GROUND_TRUTH_VERSION, "spec": spec_record(self.spec),
            "categories": list(CATEGORIES) + [ATYPICAL],
            "likes_model": LIKES_MODEL | {"formula": "ln(likes) = intercept + log_followers*ln(followers) "
                                          "+ category[c] + sound_popularity*pop + originality*orig "
                                          "+ N(0, noise_sd^2)"},
            "sounds": {s["id"]: {"title": s["title"], "authorName": s["authorName"],
                                 "challenge": s["challenge"],
                                 "bpm": round(s["recipe"].bpm, 2), "loop_s": round(s["recipe"].loop_s, 3),
                                 "timbre": s["recipe"].timbre, "peak_day": round(s["peak_day"], 2),
                                 "width_days": round(s["width_days"], 2), "peak": round(s["peak"], 4),
                                 "category_affinity": {c: round(x, 4) for c, x in s["affinity"].items()}}
                       for s in self.sounds},
            "authors": {a["id"]: {"uniqueId": a["uniqueId"], "followers": a["followers"],
                                  "category_mix": {c: round(float(x), 4)
                                                   for c, x in zip(CATEGORIES, a["mix"])}}
                        for a in self.authors},
            "videos": videos,
            "bad_files": [{"id": b["id"], "path": f"videos/{b['id']}.mp4", "kind": b["kind"],
                           "in_metadata": True, "expected_error": BAD_KINDS[b["kind"]]} for b in self.bad],
        }


def _hard_audio_record(a: AudioPlan) -> dict[str, Any]:
    """The hard demo's extra sound edits, for the ground truth (nothing for a plain demo)."""
    if a.band_hz is None:
        return {}
    return {"reverb_s": round(a.reverb_s, 3), "reverb_mix": round(a.reverb_mix, 3),
            "band_hz": [round(a.band_hz[0], 1), round(a.band_hz[1], 1)]}


def _item(p: dict[str, Any], spec: DemoSpec) -> dict[str, Any]:
    """One TikTokApi-style item dict."""
    a, tags = p["author"], p["hashtags"]
    text_extra, pos = [], len(p["desc"]) - len(" ".join("#" + t for t in tags))
    for t in tags:
        text_extra.append({"start": pos, "end": pos + len(t) + 1, "hashtagName": t,
                           "hashtagId": _challenge_id(t), "type": 1})
        pos += len(t) + 2
    duration = p["visual"].frames / p["visual"].fps
    return {
        "id": p["id"], "desc": p["desc"], "createTime": p["when"],
        "video": {"id": p["id"], "width": spec.width, "height": spec.height, "duration": int(round(duration)),
                  "ratio": f"{spec.height}p", "format": "mp4", "codecType": "h264"},
        "author": {"id": a["id"], "uniqueId": a["uniqueId"], "nickname": a["nickname"],
                   "verified": a["followers"] > 1_000_000, "privateAccount": False},
        "authorStats": {"followerCount": a["followers"], "followingCount": a["following"],
                        "heartCount": a["hearts"], "videoCount": a["videoCount"], "diggCount": a["digg"]},
        "music": dict(p["music"], duration=int(round(p["sound"]["recipe"].loop_s)) if p["sound"] else
                      int(round(duration))),
        "challenges": [{"id": _challenge_id(t), "title": t, "desc": ""} for t in tags],
        "stats": {"diggCount": p["likes"], "shareCount": p["shares"], "commentCount": p["comments"],
                  "playCount": p["plays"]},
        "textExtra": text_extra,
    }


def _challenge_id(tag: str) -> str:
    """A stable numeric id per hashtag, as TikTok gives each challenge one."""
    return str(int.from_bytes(hashlib.sha1(tag.encode()).digest()[:7], "big"))


def _pick(rng: np.random.Generator, options) -> str:
    return str(options[int(rng.integers(len(options)))])


# ---------------------------------------------------------- vocabulary
_SYLLABLES = ("ka", "mi", "lo", "ze", "ra", "to", "nu", "vi", "sa", "ko", "li", "ma", "ne", "ju", "pa", "ri",
              "do", "fe", "yu", "ba")
_FIRST = ("Sunny", "Alex", "Mia", "Leo", "Noa", "Kai", "Zoe", "Max", "Ivy", "Sam", "Lu", "Remy", "Ada", "Jin")
_NICK = ("Bakes", "Moves", "Outdoors", "Talks", "Plays", "Reviews", "Vibes", "Daily", "Studio", "Life", "TV",
         "Lab")
_ARTISTS = ("DJ Koru", "Lumen", "The Paper Kites Club", "Nova Rae", "BASSMNT", "Milo & Fern", "Yuzu",
            "Kiki Loop", "Static Bloom", "Orchid Lane", "Hollow Pines", "Tape Deck", "Neon Mirage",
            "Rico Sol")
_SOUND_WORDS = (("Midnight", "Golden", "Sugar", "Electric", "Paper", "Velvet", "Lazy", "Wild", "Cosmic",
                 "Silver", "Tiny", "Happy", "Lost", "Summer", "Crystal"),
                ("Bounce", "Drive", "Steps", "Rush", "Dream", "Groove", "Shuffle", "Waves", "Loop", "Glow",
                 "Switch", "Hearts", "Skies", "Rain", "Echo"))
_TAGS: dict[str, tuple[str, ...]] = {
    "dance": ("dance", "dancechallenge", "choreo", "dancer", "moves"),
    "cooking": ("cooking", "recipe", "foodtok", "easyrecipe", "homecooking"),
    "nature": ("nature", "naturelovers", "outdoors", "landscape", "hiking"),
    "talking_head": ("storytime", "pov", "advice", "motivation", "talk"),
    "gaming": ("gaming", "gamer", "gameplay", "retrogaming", "speedrun"),
    "product": ("unboxing", "review", "tech", "haul", "musthave"),
}
_DESC: dict[str, tuple[str, ...]] = {
    "dance": ("new moves just dropped", "learned this in 10 min", "tutorial at the end"),
    "cooking": ("easiest dinner ever", "grandma's secret recipe", "15 minute meal"),
    "nature": ("take me back here", "morning walk views", "nature never disappoints"),
    "talking_head": ("let me tell you what happened", "unpopular opinion", "things nobody tells you"),
    "gaming": ("this level took me hours", "new personal best", "wait for the end"),
    "product": ("unboxing the new one", "worth the hype?", "honest review"),
}
_GENERIC_TAGS = (("fyp", 0.55), ("foryou", 0.45), ("viral", 0.3), ("foryoupage", 0.2), ("trending", 0.15))
_DESC_GENERIC = ("had to post this", "part 2?", "ok but why is this so good", "day 14 of posting",
                 "trying the trend", "you asked for it", "🔥🔥🔥", "no caption needed")
_CAPTIONS = ("wait for it", "POV: you tried it", "day 3 of this", "part 2", "link in bio",
             "watch till the end", "no way", "rate it 1-10", "new trend?", "storytime", "sound on",
             "I can't believe this")
