"""The demo's draft check: a few demo videos are kept out of the library and, once the
library is analysed, checked as drafts through the same code as ``reelscope predict``.

Their real likes are known (the demo's ground truth), so the first command a new user
runs shows the draft check at work and how far to trust it: each forecast beside the
likes the video really got, and whether those fell inside the forecast's interval.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

if TYPE_CHECKING:
    from reelscope.demo.generator import DemoLibrary
    from reelscope.core.store.library import Library
    from reelscope.core.progress import CancelToken, ProgressCallback


@dataclass(frozen=True)
class DraftCheck:
    """One held-back demo video checked as a draft: the forecast beside the real likes."""

    id: str
    file: str
    likes: int  # what the video really got (ground truth)
    forecast: Optional[float]
    low: Optional[float]
    high: Optional[float]
    coverage: Optional[float]
    originality: Optional[float]
    error: Optional[str] = None

    @property
    def inside(self) -> Optional[bool]:
        if self.low is None or self.high is None:
            return None
        return self.low <= self.likes <= self.high

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"inside": self.inside}


def pick_drafts(demo: "DemoLibrary", count: int) -> list[Path]:
    """``count`` good demo videos with sound, spread evenly over posting time (deterministic)."""
    if count <= 0:
        return []
    videos = json.loads(demo.ground_truth_path.read_text())["videos"]
    good = sorted((v["created"], vid) for vid, v in videos.items() if v["has_audio"])
    if len(good) <= 2 * count:  # a tiny demo keeps most of its videos for training
        count = max(0, len(good) // 3)
    picks = [good[round((i + 0.5) * len(good) / count)][1] for i in range(count)] if count else []
    return [demo.folder / videos[vid]["file"] for vid in picks]


def hold_back_drafts(demo: "DemoLibrary", library: "Library", count: int, metadata_out: Path) -> list[Path]:
    """Choose ``count`` demo videos to keep out of the library as drafts (never one an
    older import already holds) and write the library's metadata file without their rows
    to ``metadata_out``. Returns the drafts' paths."""
    from reelscope.training.files import write_bytes_atomic

    imported = {v.id for v in library.videos()}
    drafts = [p for p in pick_drafts(demo, count) if p.stem not in imported]
    held = {p.stem for p in drafts}
    items = [it for it in json.loads(demo.metadata_path.read_text()) if str(it.get("id")) not in held]
    write_bytes_atomic(metadata_out, json.dumps(items, ensure_ascii=False).encode())
    return drafts


def check_drafts(library: "Library", run_id: str, demo: "DemoLibrary", drafts: Sequence[Path],
                 progress: Optional["ProgressCallback"] = None,
                 cancel: Optional["CancelToken"] = None) -> list[DraftCheck]:
    """Predict each draft with run ``run_id`` (as ``reelscope predict FILE --metadata`` does:
    the author's statistics and posting time come from the demo's metadata) and pair the
    forecast with the likes the video really got."""
    from reelscope.core.analytics.predict import predict_files

    truth = json.loads(demo.ground_truth_path.read_text())["videos"]
    results = predict_files(library, list(drafts), run_id, metadata=demo.metadata_path,
                            progress=progress, cancel=cancel)
    out = []
    for path, r in zip(drafts, results):
        vid = Path(path).stem
        likes = r.get("likes") or {}
        out.append(DraftCheck(
            id=vid, file=str(path), likes=int(truth[vid]["likes"]["likes"]),
            forecast=likes.get("forecast"), low=likes.get("low"), high=likes.get("high"),
            coverage=likes.get("coverage"), originality=r.get("originality"), error=r.get("error")))
    return out


def format_drafts(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Lines for the terminal from :meth:`DraftCheck.as_json` rows: each draft's forecast
    and interval beside its real likes."""
    from reelscope.core.numbers import format_likes

    if not rows:
        return []
    checks = [DraftCheck(**{k: r[k] for k in DraftCheck.__dataclass_fields__}) for r in rows]
    coverage = next((c.coverage for c in checks if c.coverage is not None), None)
    interval = f"{coverage * 100:.0f} % interval" if coverage is not None else "interval"
    lines = [f"Draft check: {len(checks)} demo videos kept out of the library, checked as new uploads",
             f"  {'video':<21} {'forecast':>9}  {interval:>20}  {'real likes':>10}"]
    for c in checks:
        if c.error or c.forecast is None:
            lines.append(f"  {c.id:<21} {c.error or 'no forecast (no likes in the library)'}")
            continue
        span = f"{format_likes(c.low)}–{format_likes(c.high)}"
        mark = "inside" if c.inside else "outside"
        lines.append(f"  {c.id:<21} {format_likes(c.forecast):>9}  {span:>20}  "
                     f"{format_likes(c.likes):>10}  {mark}")
    judged = [c for c in checks if c.inside is not None]
    if judged:
        lines.append(f"  Real likes inside the interval: {sum(c.inside for c in judged)} of {len(judged)}")
    return lines
