"""Fit and store every analysis of one training run: originality, forecast, hashtags, sounds.

:func:`analyze` writes ``runs/<run>/analytics/``::

    summary.json    what a report or window shows: settings, held-out metrics, tables
    scores.npz      per video: ids, originality (ensemble and per detector), likes,
                    like_forecast / like_low / like_high (likes; NaN where unknown)
    forecast.npz    the fitted LikeForecaster as plain arrays
    hashtags.npz    the fitted HashtagSuggester as plain arrays (its neighbour bank is
                    the run's embeddings, re-attached on load)
    originality.npz what scoring a new video needs (OriginalityScorer.to_arrays): the
                    library's member scores, neighbour densities, the models' fitting rows
    sounds.npz      each video's closest sounds by note matching (when prints exist)

No pickle anywhere. The originality models are refitted exactly from their stored
fitting rows and seed; the neighbour searches for a new video run over the embeddings. ``summary.json`` records the embeddings file it was computed from, so
:func:`load_analysis` notices when ``reelscope embed`` has run since and re-analyses.

The order is load → run each analysis → save: the run's embeddings joined to its videos
come from :mod:`reelscope.core.analytics.data`.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, TYPE_CHECKING

import numpy as np

from reelscope.core.analytics.data import AnalysisData, load_data, resolve_run
from reelscope.core.analytics.results import (AnalysisSettings, AnalysisSummary, ForecastResult, HashtagResult,
                                              OriginalityResult, SoundResult, jsonable)
from reelscope.core.progress import CancelToken, ProgressCallback, Reporter
from reelscope.core.store.lock import writing_job

# What reading a stored file that a crash cut short (or someone edited) raises.
DAMAGED = (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile)

if TYPE_CHECKING:
    from reelscope.core.analytics.forecast import LikeForecaster
    from reelscope.core.analytics.hashtags import HashtagSuggester
    from reelscope.core.analytics.sound_match import SoundMatches
    from reelscope.core.ingest.media.soundprint import SoundPrint
    from reelscope.core.store.library import Library
    from reelscope.core.store.models import TrainingRun

FOLDER = "analytics"
FORMAT_VERSION = 1
MIN_FORECAST_VIDEOS = 20
MIN_TAGGED_VIDEOS = 20


# -------------------------------------------------------------------- results
@dataclass
class Analysis:
    """A stored analysis: the typed ``result`` (``summary.json``) and ``scores`` (per-video
    arrays: ids, originality and per detector, likes, like_forecast/low/high, sound_cluster)."""

    run_id: str
    folder: Path
    result: "AnalysisSummary"
    scores: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any]:
        """The JSON form of :attr:`result` (what ``reelscope analyze --json`` prints)."""
        return self.result.as_json()

    def as_json(self) -> dict[str, Any]:
        return self.result.as_json()

    def forecaster(self) -> Optional["LikeForecaster"]:
        from reelscope.core.analytics.forecast import LikeForecaster

        return self._stored("forecast.npz", LikeForecaster.from_arrays)

    def _stored(self, name: str, build: Any) -> Any:
        """``build(arrays)`` of a stored model file, or None when it is missing or cut short
        by a crash (as if missing, until 'reelscope analyze' rewrites it)."""
        path = self.folder / name
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                return build(z)
        except DAMAGED:
            return None

    def originality_scorer(self, data: AnalysisData) -> Any:
        """The fitted originality scorer on ``data`` (the run's embeddings), as analyze
        stored it; refitted when the file is missing (older analyses) or does not fit."""
        from reelscope.core.analytics.originality import OriginalityScorer

        inputs = originality_inputs(data.kind)
        stored = self._stored("originality.npz", lambda z: OriginalityScorer.from_arrays(z, inputs))
        return stored if stored is not None else \
            originality_scorer(self.result.settings.random_state).fit(inputs)

    def sound_neighbours(self) -> Optional["SoundNeighbours"]:
        """Each video's closest sounds by note matching; None for analyses made from
        the audio embeddings alone (older ones, or libraries without readable audio)."""
        return self._stored("sounds.npz", SoundNeighbours.from_arrays)

    def suggester(self, data: AnalysisData) -> Optional["HashtagSuggester"]:
        """The fitted suggester with ``data``'s tagged videos as its neighbour bank."""
        from reelscope.core.analytics.hashtags import HashtagSuggester

        model = self._stored("hashtags.npz", HashtagSuggester.from_arrays)
        if model is None:
            return None
        rows = data.with_tags()
        kind = self.result.kind
        labels = self.scores.get("sound_cluster")
        label_of = {} if labels is None else {str(i): x for i, x in zip(self.scores["ids"], labels)}
        return model.attach(data.kind(kind), [data.tags[i] for i in rows],
                            [data.likes_or_none(i) for i in rows],
                            [data.authors[i] for i in rows],
                            [data.videos[i].description for i in rows],
                            [label_of.get(data.ids[i]) for i in rows], rows=rows)

    def score_rows(self) -> list[dict[str, Any]]:
        """One dict per video: id, originality, likes, like_forecast (None for NaN), ..."""
        keys = [k for k in self.scores if k != "ids"]
        out = []
        for i, vid in enumerate(self.scores["ids"]):
            row: dict[str, Any] = {"id": str(vid)}
            for k in keys:
                x = float(self.scores[k][i])
                row[k] = None if np.isnan(x) else x
            out.append(row)
        return out


def analysis_folder(library: "Library", run: "TrainingRun") -> Path:
    return library.path / run.dir / FOLDER


def load_analysis(library: "Library", run_id: Optional[str] = None) -> Optional[Analysis]:
    """The stored analysis of the run, or None when missing or older than its embeddings."""
    run = resolve_run(library, run_id)
    folder = analysis_folder(library, run)
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        if summary.get("format") != FORMAT_VERSION or summary.get("source") != _source(library, run):
            return None
        with np.load(folder / "scores.npz", allow_pickle=False) as z:
            scores = {k: z[k] for k in z.files}
        result = AnalysisSummary.from_json(summary)
    except DAMAGED:
        return None  # missing or damaged (a file cut short): analysed again
    return Analysis(run.id, folder, result, scores)


def ensure_analysis(library: "Library", run_id: Optional[str] = None,
                    progress: Optional[ProgressCallback] = None,
                    cancel: Optional[CancelToken] = None) -> Analysis:
    """The stored analysis, running :func:`analyze` first when it is missing or stale."""
    return load_analysis(library, run_id) or analyze(library, run_id, progress=progress,
                                                     cancel=cancel)


def _source(library: "Library", run: "TrainingRun") -> dict[str, int]:
    from reelscope.core.store.embeddings import FILE_NAME

    st = (library.path / run.dir / FILE_NAME).stat()
    return {"embeddings_mtime_ns": st.st_mtime_ns, "embeddings_size": st.st_size}


# --------------------------------------------------------------------- analyze
@dataclass(frozen=True)
class AnalysisParams:
    """What every analysis of one run is run with."""

    kind: str = "fused"  # the embedding kind the analyses use
    split: str = "random"  # the forecast comparison's held-out split: random, author or time
    coverage: float = 0.8  # nominal coverage of the forecast intervals
    random_state: int = 0


@dataclass(frozen=True)
class Outcome:
    """What one analysis returns: its typed ``result`` (a section of ``summary.json``),
    its per-video ``columns`` (float64 [N] each, stored in ``scores.npz``) and the fitted
    ``model`` to store beside them (None when there is nothing to store; :func:`analyze`
    keeps it as its file's bytes, see :func:`_packed`)."""

    result: Any
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    model: Any = None


def _packed(outcome: Outcome) -> Outcome:
    """``outcome`` with its model as the bytes of its file: a fitted model holds its
    training data (the hashtag bank: 400 MB at 300,000 videos), which need not live on
    while the other analyses run."""
    if outcome.model is None:
        return outcome
    return Outcome(outcome.result, outcome.columns, npz_bytes(outcome.model.to_arrays()))


@writing_job("analyze")
def analyze(library: "Library", run_id: Optional[str] = None, kind: str = "fused",
            split: str = "random", coverage: float = 0.8, random_state: int = 0,
            progress: Optional[ProgressCallback] = None,
            cancel: Optional[CancelToken] = None) -> Analysis:
    """Fit originality, like forecast, hashtag and sound analyses for a run and store them.

    ``kind``: the embedding kind the analyses use; ``split``: how the forecast's
    held-out comparison splits videos (random, author or time); ``coverage``: nominal
    coverage of the forecast intervals. Re-running replaces the stored results.

    Load (:func:`load_data`) -> each analysis as a pure ``run_*(data, params, progress,
    cancel) -> Outcome`` -> save; nothing is written until every analysis is done.
    """
    from reelscope.core.analytics.similar import index_for
    from reelscope.core.analytics.sound_match import library_prints
    from reelscope.training import faults
    from reelscope.training.files import sweep_temps, write_bytes_atomic

    if not 0 < coverage < 1:
        raise ValueError(f"coverage must be between 0 and 1 (0.8 means 80 %), not {coverage}")
    params = AnalysisParams(kind, split, coverage, random_state)
    report = Reporter("analyze", 6, progress, cancel)
    # The similarity index first, while nothing else is loaded: at 300,000 videos its graph
    # and vectors (~700 MB while built) on top of the analyses' data would pass 2 GB. Not
    # kept in this process: analyze never queries it.
    report.update(0, "similarity index")
    index_for(library, run_id, kind, progress=progress, cancel=cancel, keep=False)
    report.step(message="sounds")
    data = load_data(library, run_id)
    if len(data.videos) < 3:
        raise ValueError(f"run {data.run.id} has embeddings for only {len(data.videos)} "
                         "library videos; import and embed more videos first")

    def inside(step: str) -> ProgressCallback:
        """An analysis' own events, shown as messages of the analyze bar."""
        return lambda event: report.update(message=f"{step}: {event.message}")

    prints = None
    if len(data.videos) <= MAX_MATCHED_VIDEOS:
        prints = library_prints(library, data.videos,
                                cancel=(lambda: cancel.cancelled) if cancel is not None else None,
                                progress=lambda done, total: report.update(
                                    message=f"sound prints {done}/{total}"))
    sounds = _packed(run_sounds(data, params, inside("sounds"), cancel, prints=prints))
    report.step(message="originality")
    labels = sounds.columns.get("sound_cluster")
    originality = _packed(run_originality(data, params, inside("originality"), cancel,
                                          groups=None if labels is None else labels.astype(np.int64)))
    report.step(message="like forecast")
    forecast = _packed(run_forecast(data, params, inside("like forecast"), cancel))
    report.step(message="hashtags")
    hashtags = _packed(run_hashtags(data, params, inside("hashtags"), cancel, sound_groups=labels))
    report.step(message="saving")
    result = AnalysisSummary(
        format=FORMAT_VERSION, run=data.run.id, method=data.run.method, kind=kind,
        created_at=time.time(), source=_source(library, data.run), videos=len(data.videos),
        not_embedded=data.not_embedded, videos_with_likes=int(len(data.with_likes())),
        videos_with_hashtags=int(len(data.with_tags())),
        settings=AnalysisSettings(split=split, coverage=coverage, random_state=random_state),
        sounds=sounds.result, originality=originality.result, forecast=forecast.result,
        hashtags=hashtags.result)
    scores: dict[str, np.ndarray] = {"ids": np.asarray(data.ids, dtype=str), "likes": data.likes}
    for outcome in (sounds, originality, forecast):
        scores.update(outcome.columns)

    folder = analysis_folder(library, data.run)
    folder.mkdir(parents=True, exist_ok=True)
    sweep_temps(folder.parent, recursive=True)  # the run's files a killed writer left
    # The old summary must not vouch for new files: a kill while they are replaced would
    # pair it with the new scores. Without it the analysis is missing, and done again.
    (folder / "summary.json").unlink(missing_ok=True)
    for name, model in (("forecast.npz", forecast.model), ("hashtags.npz", hashtags.model),
                        ("sounds.npz", sounds.model), ("originality.npz", originality.model)):
        if model is None:
            (folder / name).unlink(missing_ok=True)
        else:
            write_bytes_atomic(folder / name, model)
    write_bytes_atomic(folder / "scores.npz", npz_bytes(scores))
    faults.point("analysis.scores")  # scores in place, summary.json not yet
    # summary.json last: its presence (with a matching source) marks a complete analysis.
    write_bytes_atomic(folder / "summary.json",
                       json.dumps(result.as_json(), indent=1, ensure_ascii=False).encode())
    report.step(message="done")
    return Analysis(data.run.id, folder, result, scores)


def originality_scorer(random_state: int = 0) -> Any:
    """The originality model every part of Reelscope uses (deterministic, refittable)."""
    from reelscope.core.analytics.originality import OriginalityScorer

    return OriginalityScorer(random_state=random_state)


def originality_inputs(vectors: Any) -> dict[str, np.ndarray]:
    """The embeddings originality reads, whatever the analysis kind: ``{"visual", "audio"}``
    taken from ``vectors(kind)`` (e.g. ``AnalysisData.kind``) or ``vectors[kind]`` (a dict)."""
    get = vectors if callable(vectors) else vectors.__getitem__
    return {kind: get(kind) for kind in ("visual", "audio")}


def run_originality(data: AnalysisData, params: AnalysisParams,
                    progress: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None,
                    groups: Optional[np.ndarray] = None) -> Outcome:
    """Originality per video (columns ``originality`` and ``originality_<member>``) from the
    visual and audio embeddings, why the most original videos are, and originality's link
    with likes, overall and within ``groups`` (sound clusters). Reports each member and
    bootstrap chunk, and stops there when cancelled."""
    from reelscope.core.analytics.originality_stats import originality_vs_likes

    report = Reporter("originality", None, progress, cancel)
    tick = lambda what: report.update(message=what)  # noqa: E731
    scorer = originality_scorer(params.random_state).fit(originality_inputs(data.kind), tick=tick)
    # Its neighbour graphs (hundreds of MB at 300k) are not stored, and a stored scorer
    # searches exactly: dropped now, not held through the bootstrap and the other analyses.
    scorer.index_ = {}
    columns = {("originality" if name == "ensemble" else f"originality_{name}"):
               np.asarray(values, dtype=np.float64) for name, values in scorer.scores_.items()}
    ens = columns["originality"]
    order = np.argsort(-ens, kind="stable")
    authors = [(v.author.unique_id or v.author.id) if v.author else None for v in data.videos]
    tick("reasons")
    out: dict[str, Any] = {"detectors": scorer.detectors,
                           "most_original": [data.ids[i] for i in order[:10]],
                           "least_original": [data.ids[i] for i in order[::-1][:10]],
                           "vs_likes": None, "weights": scorer.weights_,
                           "reasons": {data.ids[i]: scorer.explain(int(i), data.ids, authors)
                                       for i in order[:10]}}
    rows = data.with_likes()
    if len(rows) >= 10:
        out["vs_likes"] = originality_vs_likes(ens[rows], data.likes[rows], data.followers[rows],
                                               groups=None if groups is None else groups[rows],
                                               seed=params.random_state, tick=tick)
    return Outcome(OriginalityResult.from_json(jsonable(out)), columns, model=scorer)


def run_forecast(data: AnalysisData, params: AnalysisParams,
                 progress: Optional[ProgressCallback] = None,
                 cancel: Optional[CancelToken] = None) -> Outcome:
    """The like forecaster (model), its held-out comparison, and each video's forecast with
    its interval (columns ``like_forecast``, ``like_low``, ``like_high``; NaN if none)."""
    from reelscope.core.analytics.forecast import LikeForecaster
    from reelscope.core.analytics.forecast_eval import compare_models

    report = Reporter("like forecast", None, progress, cancel)
    n = len(data.videos)
    columns = {key: np.full(n, np.nan) for key in ("like_forecast", "like_low", "like_high")}
    rows = data.with_likes()
    if len(rows) < MIN_FORECAST_VIDEOS:
        return Outcome(ForecastResult(skipped=f"only {len(rows)} videos have likes; the forecast "
                                              f"needs {MIN_FORECAST_VIDEOS}"), columns)
    features, likes = data.features(params.kind), data.likes
    fit = {"coverage": params.coverage, "random_state": params.random_state}
    report.update(message="held-out comparison")
    try:
        comparison = compare_models(features.take(rows), likes[rows], split=params.split,
                                    groups=[data.authors[i] for i in rows],
                                    times=[data.posted_at[i] for i in rows], **fit)
    except ValueError as exc:  # e.g. a time split without posting times
        comparison = {"error": str(exc)}
    report.update(message="final model")
    model = LikeForecaster(**fit).fit(features.take(rows), likes[rows])
    # Library videos get a forecast from a model that never saw them: out-of-fold (the
    # forecasts that calibrated the intervals) for those with likes, the final model for
    # the rest.
    log_f = np.log1p(model.predict(features))
    log_f[rows] = np.clip(model.oof_log_, 0, None)  # log1p of likes clipped at 0
    q = model.half_width(features)  # per video: its follower bin's half-width
    columns = {"like_forecast": np.expm1(log_f), "like_low": np.expm1(np.clip(log_f - q, 0, None)),
               "like_high": np.expm1(log_f + q)}
    result = ForecastResult.from_json(jsonable({
        "comparison": comparison, "videos": int(len(rows)), "coverage": params.coverage,
        "interval_half_width_log": model.q_["full"], "n_fit": model.n_fit_,
        "n_calibration": model.n_calibration_, "mondrian": bool(model.mondrian_)}))
    return Outcome(result, columns, model)


def run_hashtags(data: AnalysisData, params: AnalysisParams,
                 progress: Optional[ProgressCallback] = None,
                 cancel: Optional[CancelToken] = None,
                 sound_groups: Optional[np.ndarray] = None) -> Outcome:
    """The hashtag table, the suggesters' held-out evaluation and the fitted suggester.

    ``sound_groups``: each video's sound group label (run_sounds' ``sound_cluster``
    column), for the suggester's same-sound member; None leaves that member out."""
    from reelscope.core.analytics.hashtags import HashtagSuggester, evaluate_hashtags, hashtag_table

    report = Reporter("hashtags", None, progress, cancel)
    table = hashtag_table(data.tags, [data.likes_or_none(i) for i in range(len(data.videos))])
    rows = data.with_tags()
    if len(rows) < MIN_TAGGED_VIDEOS:
        return Outcome(HashtagResult.from_json(jsonable({
            "table": table, "skipped": f"only {len(rows)} videos have hashtags; "
                                       f"suggestions need {MIN_TAGGED_VIDEOS}"})))
    X = data.kind(params.kind)
    tags = [data.tags[i] for i in rows]
    likes = [data.likes_or_none(i) for i in rows]
    authors = [data.authors[i] for i in rows]
    captions = [data.videos[i].description for i in rows]
    sounds = None if sound_groups is None else [sound_groups[i] for i in rows]
    report.update(message="held-out evaluation")
    evaluation = evaluate_hashtags(X, tags, likes, ks=(1, 3, 5, 10), rows=rows,
                                   random_state=params.random_state, authors=authors,
                                   captions=captions, sounds=sounds)
    report.update(message="suggester")
    model = HashtagSuggester(random_state=params.random_state).fit(X, tags, likes, authors,
                                                                   captions, sounds, rows=rows)
    if len(model.vocabulary_) == 0:
        return Outcome(HashtagResult.from_json(jsonable({
            "table": table, "evaluation": evaluation,
            "skipped": "no hashtag is used often enough to suggest"})))
    blend = {"weights": model.weights_, "cv": model.cv_, "given_weights": model.given_weights_}
    return Outcome(HashtagResult.from_json(jsonable({
        "table": table, "evaluation": evaluation, "vocabulary": int(len(model.vocabulary_)),
        "blend": blend, "generic": model.generic_tags()})), model=model)


# Note matching costs ~0.1 s per video on one core and its in-memory index ~20 bytes per
# landmark (~1,000 per clip): beyond this many videos the sound groups come from the
# audio embeddings until the index lives on disk (docs/ANALYTICS.md).
MAX_MATCHED_VIDEOS = 20_000


def run_sounds(data: AnalysisData, params: AnalysisParams,
               progress: Optional[ProgressCallback] = None,
               cancel: Optional[CancelToken] = None,
               prints: Optional[Sequence[Optional["SoundPrint"]]] = None) -> Outcome:
    """Which videos share a sound (column ``sound_cluster``), how each sound's use
    moved, and where the metadata disagrees.

    With sound ``prints`` (one per video, None where the file could not be read) the
    groups come from matching the notes themselves (:mod:`sound_match`), which survives
    transposition, tempo changes and voice-over; each video's closest sounds are kept
    (the outcome's model, ``sounds.npz``) for "similar by sound". Without prints, from
    the audio embeddings. A clustering that fails numerically is reported in the
    result, not raised: one failed analysis must not stop the rest."""
    from reelscope.core.analytics.sounds import sound_clusters, sound_groups, sound_trends

    report = Reporter("sounds", None, progress, cancel)
    original = _metadata_original(data)
    printed = sum(1 for p in prints or [] if p is not None and not p.empty)
    model = None
    try:
        if printed >= 2:
            from reelscope.core.analytics.sound_match import group_prints

            grouping = group_prints(prints,  # type: ignore[arg-type]
                                    progress=lambda done, total: report.update(
                                        message=f"matching sounds {done}/{total}"),
                                    cancel=(lambda: cancel.cancelled) if cancel is not None else None)
            clusters = sound_groups(grouping.labels, data.ids, data.sound_ids, grouping.threshold,
                                    "alignment", metadata_original=original, sure=grouping.sure)
            model = SoundNeighbours([data.ids[i] for i in grouping.usable], grouping.matches)
        else:
            report.update(message="clustering the audio embeddings")
            clusters = sound_clusters(data.kind("audio"), data.ids, data.sound_ids,
                                      metadata_original=original)
    except (ValueError, FloatingPointError) as exc:
        return Outcome(SoundResult(error=f"sound clustering failed: {exc}"))
    trends = sound_trends(data.videos, clusters)
    for t in trends:  # the summary stays small; per-video labels live in scores.npz
        t["video_ids"] = t["video_ids"][:20]
    summary = {"threshold": clusters["threshold"], "threshold_method": clusters["threshold_method"],
               "clusters": int(len(clusters["sizes"])),
               "reused_clusters": int(np.sum(np.asarray(clusters["sizes"]) >= 2)),
               "videos_reusing_a_sound": int(np.sum(clusters["reused"])),
               "metadata_mismatches": len(clusters["mismatches"]),
               "mislabelled_original": int(sum(m["metadata_original"] for m in clusters["mismatches"])),
               "mismatches": clusters["mismatches"][:50], "trends": trends[:100]}
    labels = np.asarray(clusters["labels"], dtype=np.int64)
    return Outcome(SoundResult.from_json(jsonable(summary)), {"sound_cluster": labels.astype(np.float64)},
                   model=model)


def _metadata_original(data: AnalysisData) -> list[bool]:
    """Does each post's metadata call its sound original? Its own flag where the
    metadata has one; else when it names no sound or one no other video uses."""
    from collections import Counter

    uses = Counter(s for s in data.sound_ids if s is not None)
    out = []
    for v, s in zip(data.videos, data.sound_ids):
        flag = v.sound.original if v.sound is not None else None
        out.append(bool(flag) if flag is not None else (s is None or uses[s] < 2))
    return out


@dataclass(frozen=True)
class SoundNeighbours:
    """Each matched video's closest sounds, stored as ``sounds.npz`` beside the scores:
    ``ids`` [M], ``neighbours`` int [M, k] rows into ``ids`` (-1 where fewer) and
    ``scores`` float [M, k] alignment strengths."""

    ids: list[str]
    matches: "SoundMatches"

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"ids": np.asarray(self.ids, dtype=str), "neighbours": self.matches.neighbours,
                "scores": self.matches.scores}

    def of(self, video_id: str, k: int = 10) -> list[tuple[str, float]]:
        """(id, strength) of the videos sounding most like ``video_id``, best first."""
        try:
            row = self.ids.index(video_id)
        except ValueError:
            return []
        out = []
        for r, s in zip(self.matches.neighbours[row], self.matches.scores[row]):
            if r >= 0 and len(out) < k:
                out.append((self.ids[int(r)], float(s)))
        return out

    @classmethod
    def from_arrays(cls, z: Any) -> "SoundNeighbours":
        from reelscope.core.analytics.sound_match import SoundMatches

        return cls([str(i) for i in z["ids"]], SoundMatches(np.asarray(z["neighbours"], np.int64),
                                                             np.asarray(z["scores"], np.float32)))


# --------------------------------------------------------------------- helpers
def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` file's bytes (no pickle), for an atomic write."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()
