"""The demo library: a folder of synthetic short videos with TikTok-style metadata and the
ground truth that analytics should recover from it, generated offline from one seed.

``generate_demo(folder)`` writes::

    <folder>/videos/<id>.mp4        H.264 + AAC, vertical, 19-digit TikTok-like ids
    <folder>/metadata.json          a JSON list of TikTokApi item dicts
    <folder>/ground_truth.json      what each video really is, the likes formula, bad files
    <folder>/.demo-spec.json        the DemoSpec the folder was made with (hidden)

The world behind it (authors, trending sounds and their rise and fall, who posts what
when, how many likes it gets) is planned here in the calling process from the seed;
pictures come from :mod:`reelscope.demo.video`, sounds from
:mod:`reelscope.demo.audio`. Files are rendered in worker processes, each written
under a hidden temporary name and renamed, so an interrupted run resumes where it
stopped. docs/DEMO.md describes the content and the ground truth for users.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from reelscope.demo.audio import SAMPLE_RATE, AudioPlan, draw_audio_plan, make_recipe, render_audio
from reelscope.demo.scenes import ATYPICAL, ATYPICAL_PATTERNS, CATEGORIES
from reelscope.demo.video import Caption, VisualPlan, draw_look, render_frames
from reelscope.core.progress import CancelToken, ProgressCallback, Reporter

GROUND_TRUTH_FORMAT = "reelscope-demo-ground-truth"
GROUND_TRUTH_VERSION = 1
START_TIME = 1673222400  # 2023-01-09 00:00 UTC: first possible post
WINDOW_DAYS = 120  # posts spread over about four months
SERIAL_BELOW = 20  # fewer videos than this render in-process: a pool costs more than it saves
# One thread per file (files run in parallel); scenecut=0 keeps exactly one keyframe a
# second; cpu-independent=1 because x264's SIMD lookahead otherwise reads uninitialised
# bytes past the picture and the same frames encode differently from run to run.
X264_OPTIONS = {"preset": "veryfast", "threads": "1", "x264-params": "scenecut=0:cpu-independent=1"}

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


@dataclass
class DemoLibrary:
    """Where a generated demo lives. ``bad_files`` are the planted broken inputs,
    including the path of the one metadata row whose file is missing."""

    folder: Path
    videos_dir: Path
    metadata_path: Path
    ground_truth_path: Path
    bad_files: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class _Job:
    """One media file to write: a good video, or a real one broken on purpose."""

    path: str
    kind: str  # "video" | "truncated" | "audio_only"
    visual: VisualPlan
    audio: AudioPlan


def generate_demo(
    folder: str | Path,
    spec: DemoSpec = DemoSpec(),
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    workers: Optional[int] = None,
) -> DemoLibrary:
    """Generate (or finish generating) the demo library in ``folder``.

    Re-running with the same spec skips every file already complete; a different
    spec in a non-empty demo folder is refused rather than mixed in. Raises
    :class:`~reelscope.core.progress.Cancelled` when ``cancel`` is set; files
    finished so far are kept. ``workers`` defaults to the CPU count.
    """
    if spec.videos < 1 or spec.min_s <= 0 or spec.max_s < spec.min_s:
        raise ValueError(f"invalid demo spec: {spec}")
    if spec.width % 2 or spec.height % 2:
        raise ValueError("width and height must be even for H.264 4:2:0")
    folder = Path(folder)
    videos_dir = folder / "videos"
    videos_dir.mkdir(parents=True, exist_ok=True)
    _claim_folder(folder, spec)
    world = _World(spec)
    for stale in videos_dir.glob(".*.partial"):  # left by a killed run
        stale.unlink(missing_ok=True)

    for item in world.bad:
        path = videos_dir / f"{item['id']}.mp4"
        if item["kind"] == "empty" and not path.exists():
            path.touch()
        elif item["kind"] == "not_media" and not path.exists():
            _atomic_write(path, b"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head>"
                                b"<body><h1>Access denied</h1></body></html>\n")
    jobs = world.jobs(videos_dir)
    todo = [job for job in jobs if not Path(job.path).exists()]
    reporter = Reporter("generate demo", len(jobs), progress, cancel, done=len(jobs) - len(todo))
    reporter.update(message=f"{len(jobs) - len(todo)} already complete" if len(todo) < len(jobs) else "")
    _run(todo, reporter, workers)

    metadata_path, truth_path = folder / "metadata.json", folder / "ground_truth.json"
    _atomic_write(metadata_path, _dumps(world.metadata()))
    _atomic_write(truth_path, _dumps(world.ground_truth()))
    return DemoLibrary(folder, videos_dir, metadata_path, truth_path,
                       [videos_dir / f"{b['id']}.mp4" for b in world.bad])


# ------------------------------------------------------------ the world
class _World:
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

    def jobs(self, videos_dir: Path) -> list[_Job]:
        out = [_Job(str(videos_dir / f"{p['id']}.mp4"), "video", p["visual"], p["audio"]) for p in self.posts]
        for item in self.bad:
            if item["kind"] in ("truncated", "audio_only"):
                post = item["post"]
                audio = post["audio"]
                if item["kind"] == "audio_only" and audio.kind == "none":
                    audio = draw_audio_plan(np.random.default_rng([self.spec.seed, 3]), "original", None)
                out.append(_Job(str(videos_dir / f"{post['id']}.mp4"), item["kind"], post["visual"], audio))
        return out

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
                    else round(a.voiceover_db, 2), "snr_db": round(a.snr_db, 2), "eq": a.eq},
                "hashtags": p["hashtags"],
                "look": {"filter": v.look.filter, "hue_deg": round(v.look.hue_deg, 1),
                         "captions": len(v.captions)},
                "likes": {"expected_log_likes": round(p["expected"], 6),
                          "components": {k: round(x, 6) for k, x in p["parts"].items()},
                          "sound_popularity": round(p["popularity"], 6), "originality": p["originality"],
                          "noise": round(p["noise"], 6), "log_likes": round(p["expected"] + p["noise"], 6),
                          "likes": p["likes"]},
            }
        return {
            "format": GROUND_TRUTH_FORMAT, "version": GROUND_TRUTH_VERSION, "spec": asdict(self.spec),
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


# ------------------------------------------------------------- writing
def _run(jobs: list[_Job], reporter: Reporter, workers: Optional[int]) -> None:
    """Render ``jobs``, in a process pool when there are many; progress after each file."""
    if not jobs:
        return
    n = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    if n == 1 or len(jobs) < SERIAL_BELOW:
        for job in jobs:
            reporter.check()
            _make_file(job)
            reporter.step(message=Path(job.path).name)
        return
    # spawn: the caller may hold threads (Qt, torch) that fork would copy mid-lock.
    pool = ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"))
    try:
        pending: set[Future] = {pool.submit(_make_file, job) for job in jobs}
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                reporter.step(message=Path(future.result()).name)
            reporter.check()  # notice a cancel even while a slow file renders
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # running files finish and are kept
        raise
    pool.shutdown(wait=True)


def _make_file(job: _Job) -> str:
    """Render and encode one file under a hidden temporary name, then rename it into place."""
    final = Path(job.path)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.partial")
    v = job.visual
    audio = render_audio(job.audio, v.frames / v.fps)
    from reelscope.demo.videowriter import write_video

    write_video(tmp, render_frames(v), v.fps, audio=audio, sample_rate=SAMPLE_RATE, gop=v.fps,
                options=X264_OPTIONS, container_format="mp4")
    if job.kind == "truncated":
        data = tmp.read_bytes()
        tmp.write_bytes(data[: len(data) // 2])
    elif job.kind == "audio_only":
        _keep_audio_only(tmp)
    os.replace(tmp, final)
    return str(final)


def _keep_audio_only(path: Path) -> None:
    """Remux ``path`` with its audio stream alone (packets copied, nothing re-encoded)."""
    import av

    out_path = path.with_name(path.name.replace(".partial", ".audio.partial"))  # swept like the rest
    with av.open(str(path)) as src, av.open(str(out_path), "w", format="mp4") as dst:
        stream = dst.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux(src.streams.audio[0]):
            if packet.dts is None:
                continue
            packet.stream = stream
            dst.mux(packet)
    os.replace(out_path, path)


def _claim_folder(folder: Path, spec: DemoSpec) -> None:
    """Record the spec in ``folder``; refuse a folder already holding a different demo."""
    marker = folder / ".demo-spec.json"
    wanted = json.dumps(asdict(spec), sort_keys=True)
    if marker.exists():
        found = marker.read_text()
        if json.loads(found) != json.loads(wanted):
            raise ValueError(f"{folder} holds a demo made with {found.strip()}, not {wanted}; "
                             "use an empty folder or the same spec")
        return
    if any((folder / "videos").glob("*.mp4")):
        raise ValueError(f"{folder / 'videos'} already holds videos that are not from a demo")
    _atomic_write(marker, wanted.encode())


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _dumps(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


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


def _main(argv: Optional[list[str]] = None) -> None:
    """``python -m reelscope.demo.generator FOLDER [--videos N] [--seed S]``: generate, print the time."""
    import argparse
    import resource
    import time

    parser = argparse.ArgumentParser(prog="python -m reelscope.demo.generator", description=_main.__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--videos", type=int, default=DemoSpec.videos)
    parser.add_argument("--seed", type=int, default=DemoSpec.seed)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    demo = generate_demo(args.folder, DemoSpec(videos=args.videos, seed=args.seed), workers=args.workers)
    wall = time.perf_counter() - started
    cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    print(f"{args.videos} videos in {demo.videos_dir}: {wall:.1f} s wall, {cpu:.1f} s CPU "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    _main()
