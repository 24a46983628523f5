"""Predict for new video files: likes, hashtags, similar library videos, originality.

:func:`predict_files` decodes and embeds the files with a run's encoder (one call,
:func:`embed_files`), then hands the vectors to :func:`predict_embedded`, which needs
no media or torch and is what tests and the desktop window call directly. Nothing in
the library changes unless ``add=True``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from reelscope.core.progress import CancelToken, ProgressCallback, Reporter

if TYPE_CHECKING:
    from reelscope.core.analytics.analyze import Analysis
    from reelscope.core.analytics.data import AnalysisData
    from reelscope.core.store.library import Library
    from reelscope.core.ingest.media.soundprint import SoundPrint
    from reelscope.core.store.models import Author, PostMetadata


@dataclass
class NewVideo:
    """A video outside the library, embedded with the run's encoder.

    ``vectors``: kind -> float32 [D] (at least the analysis kind); the rest is
    what its metadata or the command line says (None when unknown).
    """

    file: str
    vectors: dict[str, np.ndarray]
    duration: Optional[float] = None
    posted_at: Optional[int] = None
    author: Optional["Author"] = None
    hashtags: tuple[str, ...] = ()
    id: Optional[str] = None
    caption: Optional[str] = None  # the post's text, for the hashtag suggestions
    warnings: list[str] = field(default_factory=list)
    sound: Optional[np.ndarray] = None  # its sound print (SoundPrint.to_array), for its sound group


def predict_embedded(library: "Library", analysis: "Analysis", data: "AnalysisData",
                     videos: Sequence[NewVideo], k: int = 10, n_tags: int = 10
                     ) -> list[dict[str, Any]]:
    """The prediction for each embedded video (keys in docs/ANALYTICS.md)."""
    from reelscope.core.analytics.analyze import originality_inputs
    from reelscope.core.analytics.forecast import author_features, context_features, explain_forecast
    from reelscope.core.analytics.forecast import LikeFeatures
    from reelscope.core.analytics.vector_index import exact_top_k, row_norms

    if not videos:
        return []
    kind = analysis.result.kind
    Q = np.stack([np.asarray(v.vectors[kind], dtype=np.float32) for v in videos])
    Q /= np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), 1e-12)

    # Exact neighbours over the embeddings in memory: a few drafts against every video take
    # milliseconds, where loading the saved graph would hold hundreds of MB at 300k videos.
    bank = data.kind(kind)
    rows, sims = exact_top_k(Q, bank, k, norms=row_norms(bank))
    similar = [[(data.ids[r], float(v)) for r, v in zip(rr, ss)] for rr, ss in zip(rows, sims)]
    likes_of = {vid: data.likes_or_none(i) for i, vid in enumerate(data.ids)}
    scorer = analysis.originality_scorer(data)
    drafts = originality_inputs(lambda m: np.stack([np.asarray(v.vectors[m], np.float32) for v in videos]))
    originality = scorer.score(drafts)
    authors = [(v.author.unique_id or v.author.id) if v.author else None for v in data.videos]

    forecaster = analysis.forecaster()
    forecasts: list[Optional[dict[str, Any]]] = [None] * len(videos)
    if forecaster is not None:
        def stat(name: str) -> list[Optional[float]]:
            return [getattr(v.author, name) if v.author else None for v in videos]

        features = LikeFeatures(
            Q, author_features(stat("followers"), stat("hearts"), stat("video_count"),
                               stat("following")),
            context_features([v.duration for v in videos], [v.posted_at for v in videos]))
        forecasts = forecaster.forecast(features)

    suggester = analysis.suggester(data)
    tags = suggester.suggest(Q, k=n_tags, authors=[v.author.id if v.author else None for v in videos],
                             captions=[v.caption for v in videos],
                             given=[v.hashtags for v in videos],
                             sounds=_sound_groups(library, analysis, data, videos)) \
        if suggester is not None else [[] for _ in videos]

    out = []
    for i, video in enumerate(videos):
        neighbours = [{"id": vid, "score": float(s), "likes": likes_of.get(vid)}
                      for vid, s in similar[i]]
        likes = None
        if forecasts[i] is not None:
            f = forecasts[i]
            likes = {key: f[key] for key in ("forecast", "low", "high", "coverage", "model",
                                             "author_baseline", "content_uplift")}
            likes["explanation"] = {
                "author_baseline": f["author_baseline"],
                "content_uplift": f["content_uplift"],
                "nearest": neighbours[:5],
                "text": explain_forecast(f, neighbours),
            }
        out.append({
            "file": video.file,
            "id": video.id,
            "likes": likes,
            "hashtags": [dict(t, used=t["tag"] in video.hashtags) for t in tags[i]],
            "similar": [{"id": nb["id"], "score": nb["score"]} for nb in neighbours],
            "originality": float(originality["ensemble"][i]),
            "originality_detectors": {name: float(values[i]) for name, values in
                                      originality.items() if name != "ensemble"},
            "originality_reasons": scorer.explain({m: x[i] for m, x in drafts.items()}, data.ids, authors),
            "run": analysis.run_id,
            "warnings": list(video.warnings),
        })
    return out


def _sound_groups(library: "Library", analysis: "Analysis", data: "AnalysisData",
                  videos: Sequence[NewVideo]) -> Optional[list[Optional[int]]]:
    """Each new video's sound group in the stored analysis (:func:`draft_sound_groups`);
    None when no video has a print or the analysis grouped sounds without prints."""
    from reelscope.core.analytics.sound_match import library_prints
    from reelscope.core.ingest.media.soundprint import SoundPrint

    sounds = analysis.result.sounds
    labels = analysis.scores.get("sound_cluster")
    if labels is None or sounds.threshold is None or sounds.threshold_method != "alignment" \
            or all(v.sound is None for v in videos):
        return None
    label_of = {str(i): x for i, x in zip(analysis.scores["ids"], labels)}
    drafts = [None if v.sound is None else SoundPrint.from_array(v.sound) for v in videos]
    return draft_sound_groups(drafts, library_prints(library, data.videos),
                              [label_of.get(i) for i in data.ids], sounds.threshold)


def draft_sound_groups(drafts: Sequence[Optional["SoundPrint"]],
                       prints: Sequence[Optional["SoundPrint"]], labels: Sequence[Any],
                       threshold: float, candidates: int = 20) -> list[Optional[int]]:
    """The sound group of each draft: the label of the library video whose notes match
    its own best, when that match is as strong as the edges that build groups
    (``threshold + CORE_MARGIN``, :func:`~reelscope.core.analytics.sound_match.cluster_matches`);
    None without a print or such a match.

    ``prints``/``labels``: the library videos' prints (None where unreadable) and group
    labels (None/NaN unknown). Only videos of shared groups (two or more) are searched —
    a sound one video uses says nothing of its tags, and indexing is most of the cost.
    The landmark index proposes ``candidates``, the alignment check scores them, as
    :func:`~reelscope.core.analytics.sound_match.match_prints` does.
    """
    from collections import Counter

    from reelscope.core.analytics.hashtags import sound_key
    from reelscope.core.analytics.sound_match import CORE_MARGIN, SoundIndex, verify

    keys = [sound_key(x) for x in labels]
    size = Counter(k for k, p in zip(keys, prints) if k is not None and p is not None and not p.empty)
    index, rows = SoundIndex(), []
    for i, p in enumerate(prints):
        if p is not None and not p.empty and size.get(keys[i], 0) >= 2:
            index.add(p)
            rows.append(i)
    out: list[Optional[int]] = []
    for q in drafts:
        found = index.search(q, k=candidates)[0] if q is not None and not q.empty and rows else []
        if not len(found):
            out.append(None)
            continue
        strength = verify(q, [prints[rows[r]] for r in found], index.last_shift, index.last_tempo)
        best = int(np.argmax(strength))
        out.append(keys[rows[found[best]]] if strength[best] >= threshold + CORE_MARGIN else None)
    return out


# ------------------------------------------------------------------- from files
def author_from_stats(followers: Optional[int] = None, following: Optional[int] = None,
                      hearts: Optional[int] = None, videos: Optional[int] = None,
                      base: Optional["Author"] = None) -> Optional["Author"]:
    """An Author from command-line statistics, overriding ``base`` (from metadata)."""
    from dataclasses import replace

    from reelscope.core.store.models import Author

    given = {k: v for k, v in (("followers", followers), ("following", following),
                               ("hearts", hearts), ("video_count", videos)) if v is not None}
    if base is None and not given:
        return None
    return replace(base or Author(id="(command line)"), **given)


def metadata_for_files(files: Sequence[Path], metadata: Optional[Path]
                       ) -> dict[Path, "PostMetadata"]:
    """The metadata record of each file, matched by id in the file name."""
    if metadata is None:
        return {}
    from reelscope.core.ingest.metadata import id_from_filename, read_metadata

    records = {r.id: r for r in read_metadata(metadata).records}
    out = {}
    for f in files:
        vid = id_from_filename(Path(f).name, set(records))
        if vid is not None:
            out[Path(f)] = records[vid]
    return out


def embed_files(library: "Library", run_id: str, files: Sequence[Path],
                progress: Optional[ProgressCallback] = None,
                cancel: Optional[CancelToken] = None) -> list[Any]:
    """Decode ``files`` and embed them with run ``run_id``'s encoder.

    Returns per file either ``(decoded media, {kind: float32 [D]})`` or an error string.
    The one place that touches media decoding and torch, and it does so in a worker
    process, a file at a time (progress and cancel between files): torch and the encoder
    (about 500 MB resident, never given back) stay out of this process, which at 300,000
    videos needs its memory for the library's own data (docs/RELIABILITY.md).
    """
    from contextlib import nullcontext

    from reelscope.core.workers import worker_pool

    report = Reporter("decode", len(files), progress, cancel)
    out: list[Any] = []
    if not files:
        return out
    # EMBED_IN_WORKER False: tests that fake this machine's precision inside their process
    with worker_pool(1) if EMBED_IN_WORKER else nullcontext() as pool:
        for f in files:
            args = (str(library.path), run_id, str(f))
            out.append(pool.submit(_embed_file, *args).result() if pool else _embed_file(*args))
            report.step(message=Path(f).name)
    return out


EMBED_IN_WORKER = True  # False: embed_files runs the encoder in this process


def _embed_file(library_path: str, run_id: str, file: str) -> Any:
    """In the worker: one file's ``(decoded media, vectors)``, or why it cannot be read."""
    import os

    import torch

    from reelscope.core.ingest.media import decode_for_cache
    from reelscope.core.store.library import Library

    # The pool's one-thread limit is for decoders; the encoder may use every core. The
    # caller's setting is put back: run in-process (tests), it must not leak.
    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        with Library.open(library_path, read_only=True) as library:
            try:
                decoded = decode_for_cache(Path(file), library.cache.spec)
            except Exception as exc:  # any unreadable file becomes a per-file message
                return f"cannot decode {file}: {exc}"
            return decoded, embed_decoded(library, run_id, [decoded])[0]
    finally:
        torch.set_num_threads(threads)


def embed_decoded(library: "Library", run_id: str, decoded: Sequence[Any],
                  cancel: Optional[CancelToken] = None) -> list[dict[str, np.ndarray]]:
    """``{kind: float32 [D]}`` for each DecodedMedia, by run ``run_id``'s encoders.

    The decoded arrays go through the same cache-entry files training reads (in a
    temporary folder that is removed afterwards), so new files are embedded exactly
    like library videos.
    """
    import tempfile

    from reelscope.core.store.clipcache import atomic_save_npy
    from reelscope.training.data import ClipItem
    from reelscope.training.embed import embed_run

    run_dir = library.path / library.run(run_id).dir
    with tempfile.TemporaryDirectory(prefix="reelscope-predict-") as tmp:
        items = []
        for i, d in enumerate(decoded):
            frames, mel = Path(tmp) / f"{i}.frames.npy", Path(tmp) / f"{i}.mel.npy"
            atomic_save_npy(frames, d.frames)
            atomic_save_npy(mel, np.asarray(d.mel, dtype=np.float16))
            items.append(ClipItem(f"new{i}", str(frames), str(mel), tuple(d.frame_times),
                                  d.info.duration))
        stop = (lambda: cancel.cancelled) if cancel is not None else None
        arrays = embed_run(run_dir, items, should_stop=stop)
    return [{k: arrays[k][i] for k in arrays} for i in range(len(decoded))]


def predict_files(library: "Library", files: Sequence[str | Path], run_id: Optional[str] = None,
                  metadata: Optional[str | Path] = None, author: Optional[dict[str, int]] = None,
                  add: bool = False, k: int = 10,
                  progress: Optional[ProgressCallback] = None,
                  cancel: Optional[CancelToken] = None) -> list[dict[str, Any]]:
    """Predict for each file; files that cannot be read get ``{"file", "error"}``.

    ``author``: command-line statistics (followers, following, hearts, videos) that
    override the metadata's. With ``add`` the files are then imported into the library
    and their embeddings stored with the run's (:func:`add_to_library`), so later
    ``similar`` and ``analyze`` calls see them; each result's ``id`` becomes the
    library id, and a file the import refused gets a warning instead.
    """
    from reelscope.core.analytics.analyze import ensure_analysis
    from reelscope.core.analytics.data import load_data

    paths = [Path(f) for f in files]
    analysis = ensure_analysis(library, run_id, progress, cancel)
    data = load_data(library, analysis.run_id)
    meta = metadata_for_files(paths, Path(metadata) if metadata else None)
    embedded = embed_files(library, analysis.run_id, paths, progress, cancel)
    videos, errors = [], {}
    for path, item in zip(paths, embedded):
        if isinstance(item, str):
            errors[str(path)] = item
            continue
        decoded, vectors = item
        rec = meta.get(path)
        info = getattr(decoded, "info", None)
        videos.append(NewVideo(
            file=str(path), vectors=vectors,
            duration=getattr(info, "duration", None) or (rec.duration if rec else None),
            posted_at=rec.posted_at if rec else None,
            author=author_from_stats(**(author or {}), base=rec.author if rec else None),
            hashtags=tuple(rec.hashtags) if rec else (),
            id=rec.id if rec else None,
            caption=rec.description if rec else None,
            warnings=list(getattr(decoded, "warnings", []) or []),
            sound=getattr(decoded, "sound", None),
        ))
    results = {r["file"]: r for r in predict_embedded(library, analysis, data, videos, k)}
    if add:
        # after predicting, so a new file is not listed as its own nearest neighbour
        added, refused = add_to_library(library, analysis.run_id, [Path(v.file) for v in videos],
                                        [v.vectors for v in videos], metadata, progress, cancel)
        for file, video_id in added.items():
            results[file]["id"] = video_id
        for file, reason in refused.items():
            results[file]["warnings"].append("not added to the library: " + reason)
    return [results.get(str(p)) or {"file": str(p), "error": errors[str(p)]} for p in paths]


def add_to_library(library: "Library", run_id: str, paths: Sequence[Path],
                   vectors: Sequence[dict[str, np.ndarray]],
                   metadata: Optional[str | Path] = None,
                   progress: Optional[ProgressCallback] = None,
                   cancel: Optional[CancelToken] = None
                   ) -> tuple[dict[str, str], dict[str, str]]:
    """Import ``paths`` (with ``metadata``) and bring run ``run_id``'s embeddings up to date.

    ``vectors``: per path ``{kind: float32 [D]}`` from :func:`embed_files`, i.e. the
    run's encoder on the same cache entry an import writes, so they are stored as the
    new videos' embeddings instead of re-embedding the whole library. Only when some
    library video would still lack an embedding (the stored file was stale) is the
    library re-embedded with :func:`reelscope.core.encoding.train.embed`.

    Returns ``(added, refused)``: ``str(path)`` -> the video id it was imported as, and
    ``str(path)`` -> why the import did not take it.
    """
    from reelscope.core.encoding.train import embed
    from reelscope.core.ingest import import_files
    from reelscope.core.store.embeddings import KINDS, Embeddings, load_embeddings, save_embeddings

    report = import_files(library, paths, metadata, progress=progress, cancel=cancel)
    failed = {str(Path(p.path).resolve()): p.reason for p in report.errors}
    id_of_path = {v.path: v.id for v in library.videos()}
    added: dict[str, str] = {}
    refused: dict[str, str] = {}
    known: dict[str, dict[str, np.ndarray]] = {}
    for path, vecs in zip(paths, vectors):
        key = str(Path(path).resolve())
        if key in id_of_path:
            added[str(path)] = id_of_path[key]
            known[id_of_path[key]] = vecs
        else:
            refused[str(path)] = failed.get(key, "the import did not record it")
    if not known:
        return added, refused

    emb = load_embeddings(library, run_id)
    stored = emb.index_of()
    videos = library.videos()
    ids = [v.id for v in videos if v.id in known or v.id in stored]
    unembedded = [v for v in videos if v.id not in known and v.id not in stored
                  and v.content_hash and library.cache.has(v.content_hash)]
    if unembedded:
        embed(library, run_id, progress=progress, cancel=cancel)
        return added, refused

    def row(vid: str, kind: str) -> np.ndarray:
        return known[vid][kind] if vid in known else emb.kind(kind)[stored[vid]]

    # library order, so train.embed later finds the file current and keeps it
    parts = {kind: np.stack([row(vid, kind) for vid in ids]).astype(np.float32) for kind in KINDS}
    save_embeddings(library.path / library.run(run_id).dir,
                    Embeddings(run_id, np.array(ids, dtype=str), parts["visual"], parts["audio"],
                               parts["fused"]))
    return added, refused
