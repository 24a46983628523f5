"""Export a run's embeddings (NPZ or CSV) and per-video scores (CSV) for other tools.

Embeddings NPZ: arrays ``ids`` (str [N]) and ``visual``, ``audio``, ``fused``
(float32 [N, D]) — the same layout as ``runs/<run>/embeddings.npz``. Embeddings CSV:
``id`` then ``visual_0..``, ``audio_0..``, ``fused_0..``. Scores CSV: ``id``,
``originality``, ``likes``, ``like_forecast``, ``like_low``, ``like_high``, one
``originality_<detector>`` column per detector, then ``author``, ``followers`` and
``sound`` from the metadata, then ``sound_cluster`` (the same-sound group the analysis
detected, 0 = the most used; empty when no other video shares the sound) and
``sound_group_title`` (the group's most common metadata title). Empty cells mean unknown. Text cells that a spreadsheet
would run as a formula are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from reelscope.core.progress import CancelToken, ProgressCallback

if TYPE_CHECKING:
    from reelscope.core.analytics.analyze import Analysis
    from reelscope.core.store.library import Library
    from reelscope.core.store.models import Video

WHAT = ("embeddings", "scores")
SCORE_COLUMNS = ("id", "originality", "likes", "like_forecast", "like_low", "like_high")
SOUND_COLUMNS = ("sound_cluster", "sound_group_title")


def export(library: "Library", what: str, out: str | Path, run_id: Optional[str] = None,
           progress: Optional[ProgressCallback] = None,
           cancel: Optional[CancelToken] = None) -> dict[str, Any]:
    """Write ``what`` (embeddings or scores) to ``out``; returns ``{"what", "out", "run", "rows"}``."""
    out = Path(out)
    if what == "embeddings":
        return export_embeddings(library, out, run_id)
    if what == "scores":
        return export_scores(library, out, run_id, progress, cancel)
    raise ValueError(f"cannot export {what!r}; choose one of {', '.join(WHAT)}")


def export_embeddings(library: "Library", out: Path, run_id: Optional[str] = None
                      ) -> dict[str, Any]:
    """The run's embeddings as ``.npz`` or ``.csv`` (chosen by the suffix of ``out``)."""
    from reelscope.training.files import write_bytes_atomic
    from reelscope.core.store.embeddings import KINDS, load_embeddings

    emb = load_embeddings(library, run_id)
    suffix = out.suffix.lower()
    if suffix == ".npz":
        buf = io.BytesIO()
        np.savez(buf, ids=np.asarray(emb.ids, dtype=str),
                 **{k: np.asarray(emb.kind(k), dtype=np.float32) for k in KINDS})
        write_bytes_atomic(out, buf.getvalue())
    elif suffix == ".csv":
        header = ["id"] + [f"{k}_{j}" for k in KINDS for j in range(emb.kind(k).shape[1])]
        matrix = np.concatenate([emb.kind(k) for k in KINDS], axis=1)
        rows = ([safe_cell(str(vid))] + [f"{x:.7g}" for x in vec]
                for vid, vec in zip(emb.ids, matrix))
        _write_csv(out, header, rows)
    else:
        raise ValueError(f"embeddings export writes .npz or .csv, not {out.name!r}")
    return {"what": "embeddings", "out": str(out), "run": emb.run_id, "rows": len(emb)}


def export_scores(library: "Library", out: Path, run_id: Optional[str] = None,
                  progress: Optional[ProgressCallback] = None,
                  cancel: Optional[CancelToken] = None) -> dict[str, Any]:
    """Per-video scores of the run's analysis as CSV (analysing first when needed)."""
    from reelscope.core.analytics.analyze import ensure_analysis

    if out.suffix.lower() != ".csv":
        raise ValueError(f"scores export writes .csv, not {out.name!r}")
    analysis = ensure_analysis(library, run_id, progress, cancel)
    rows = analysis.score_rows()
    detectors = sorted(k for k in analysis.scores if k.startswith("originality_"))
    header = list(SCORE_COLUMNS) + detectors + ["author", "followers", "sound"] + list(SOUND_COLUMNS)
    by_id = {v.id: v for v in library.videos()}
    groups, titles = shared_sounds(analysis, by_id)

    def line(row: dict[str, Any]) -> list[str]:
        v = by_id.get(row["id"])
        author = v.author if v is not None else None
        group = groups.get(row["id"])
        meta = [author.unique_id or author.id if author else None,
                author.followers if author else None,
                v.sound.id if v is not None and v.sound else None,
                group, titles.get(group) if group is not None else None]
        return [_cell(row.get(c)) for c in SCORE_COLUMNS] + \
               [_cell(row.get(c)) for c in detectors] + [_cell(x) for x in meta]

    _write_csv(out, header, (line(r) for r in rows))
    return {"what": "scores", "out": str(out), "run": analysis.run_id, "rows": len(rows)}


def shared_sounds(analysis: "Analysis", videos: dict[str, "Video"]) -> tuple[dict[str, int], dict[int, Optional[str]]]:
    """(video id -> its sound group, for videos sharing their sound with another;
    group -> its title). Titles come from the stored trends, and for groups past the
    summary's first 100 from the same rule (:func:`~reelscope.core.analytics.sounds.group_title`)."""
    from reelscope.core.analytics.sounds import group_title

    labels = analysis.scores.get("sound_cluster")
    if labels is None:
        return {}, {}
    ids = [str(v) for v in analysis.scores["ids"]]
    known = np.isfinite(labels)
    sizes = np.bincount(labels[known].astype(np.int64))
    groups = {vid: int(c) for vid, c, ok in zip(ids, labels, known) if ok and sizes[int(c)] >= 2}
    titles: dict[int, Optional[str]] = {t.cluster: t.title for t in analysis.result.sounds.trends or ()}
    members: dict[int, list["Video"]] = {}
    for vid, c in groups.items():
        if c not in titles and vid in videos:
            members.setdefault(c, []).append(videos[vid])
    titles.update({c: group_title(vs) for c, vs in members.items()})
    return groups, titles


def safe_cell(text: str) -> str:
    """Text a spreadsheet will show, not execute (=, +, -, @ and control starts)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if not np.isfinite(value) else f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return safe_cell(str(value))


def _write_csv(out: Path, header: list[str], rows: Any) -> None:
    from reelscope.training.files import write_bytes_atomic

    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_bytes_atomic(out, buf.getvalue().encode("utf-8"))
