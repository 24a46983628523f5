"""Typed results of the analyses: frozen dataclasses that the report, the export, the CLI
and the window read, instead of walking ``summary["a"]["b"]`` paths.

Each result is what one analysis returns (``analyze._originality`` and its siblings
build them) and what ``runs/<run>/analytics/summary.json`` stores: ``as_json()`` writes
exactly the JSON documented in docs/ANALYTICS.md (``reelscope analyze --json`` prints
it), and ``from_json()`` reads it back, nested results included. A field marked
``optional`` is left out of the JSON when it is None (e.g. ``skipped`` when nothing was
skipped); others are written as ``null``. A field whose JSON key is not a Python name
(``retrieval_recall@10``) says so in its metadata (``key``).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, TypeVar

import numpy as np

T = TypeVar("T")


def optional() -> Any:
    """A field that the JSON leaves out when it is None."""
    return field(default=None, metadata={"optional": True})


class Result:
    """Mixin: JSON in and out for the frozen dataclasses below."""

    def as_json(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.metadata.get("optional"):
                continue
            out[f.metadata.get("key", f.name)] = _to_json(value)
        return out

    @classmethod
    def from_json(cls: type[T], data: dict[str, Any]) -> T:
        hints = typing.get_type_hints(cls)
        kwargs = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            key = f.metadata.get("key", f.name)
            if key in data:
                kwargs[f.name] = _from_json(hints[f.name], data[key])
        return cls(**kwargs)


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars/arrays as Python values and NaN/inf as None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _to_json(value: Any) -> Any:
    if isinstance(value, Result):
        return value.as_json()
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def _from_json(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:  # Optional[X]
        return _from_json(next(a for a in args if a is not type(None)), value)
    if isinstance(hint, type) and issubclass(hint, Result):
        return hint.from_json(value)
    if origin is dict and len(args) == 2:
        return {k: _from_json(args[1], v) for k, v in value.items()}
    if origin in (list, tuple) and args:
        return type(value)(_from_json(args[0], v) for v in value) if origin is list \
            else tuple(_from_json(args[0], v) for v in value)
    return value


# ----------------------------------------------------------------- originality
@dataclass(frozen=True)
class Correlation(Result):
    """Spearman's rho with a percentile-bootstrap interval (None where undefined)."""

    rho: Optional[float]
    ci_low: Optional[float]
    ci_high: Optional[float]
    p_value: Optional[float] = None

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None and \
            (self.ci_low > 0 or self.ci_high < 0)


@dataclass(frozen=True)
class GroupCorrelation(Result):
    n: int
    raw: Correlation
    partial: Correlation


@dataclass(frozen=True)
class OriginalityVsLikes(Result):
    """Does originality go with likes? Raw, at equal follower counts (``partial``) and
    within sound groups."""

    n: int
    raw: Correlation
    partial: Correlation
    within_groups: Optional[Correlation] = None
    groups: dict[str, GroupCorrelation] = field(default_factory=dict)
    confidence: float = 0.95
    n_boot: int = 0
    method: str = ""


@dataclass(frozen=True)
class OriginalityResult(Result):
    """Detectors (ensemble members, ``visual_knn`` ...) used, the most and least original
    videos (ids, 10 each) and the link with likes (None with fewer than 10 liked videos).
    ``weights``: member -> its share of the ensemble; ``reasons``: id -> why, in words, for
    the most original videos (both None in analyses stored before they existed)."""

    detectors: list[str]
    most_original: list[str]
    least_original: list[str]
    vs_likes: Optional[OriginalityVsLikes] = None
    weights: Optional[dict[str, float]] = optional()
    reasons: Optional[dict[str, str]] = optional()


# -------------------------------------------------------------------- forecast
@dataclass(frozen=True)
class ModelScores(Result):
    """One forecaster on held-out videos (log-likes scale)."""

    r2: Optional[float]
    mae_log: Optional[float]
    spearman: Optional[float]
    coverage: Optional[float]
    interval_width_log: Optional[float]  # median over videos (one value before follower bins)
    width_ratio: Optional[float] = optional()  # median high/low of the intervals, on 1 + likes


@dataclass(frozen=True)
class BinCoverage(Result):
    """Real coverage of the forecast intervals for one follower-count bin (out-of-fold)."""

    followers_from: Optional[float]  # None: open end
    followers_to: Optional[float]
    videos: int
    coverage: float
    band_low: float  # binomial 95 % band of the coverage at the stated level
    band_high: float
    width_ratio: Optional[float] = optional()


@dataclass(frozen=True)
class ForecastComparison(Result):
    """Author statistics alone vs content alone vs both, on one held-out split."""

    split: Optional[str] = optional()
    n_train: Optional[int] = optional()
    n_test: Optional[int] = optional()
    coverage_nominal: Optional[float] = optional()
    models: dict[str, ModelScores] = field(default_factory=dict)
    reference_r2: Optional[float] = optional()
    error: Optional[str] = optional()
    oof_coverage: Optional[float] = optional()  # every training video, out-of-fold
    mondrian: Optional[bool] = optional()  # intervals per follower bin (else one global)
    coverage_by_bin: Optional[list[BinCoverage]] = optional()


@dataclass(frozen=True)
class ForecastResult(Result):
    """The like forecast: its held-out comparison and interval calibration, or why skipped."""

    comparison: Optional[ForecastComparison] = optional()
    videos: Optional[int] = optional()
    coverage: Optional[float] = optional()
    interval_half_width_log: Optional[float] = optional()
    n_fit: Optional[int] = optional()
    n_calibration: Optional[int] = optional()
    skipped: Optional[str] = optional()
    mondrian: Optional[bool] = optional()  # intervals per follower bin (else one global)

    def model(self, name: str = "full") -> Optional[ModelScores]:
        return self.comparison.models.get(name) if self.comparison else None


# -------------------------------------------------------------------- hashtags
@dataclass(frozen=True)
class HashtagRow(Result):
    tag: str
    videos: int
    share: float
    median_likes: Optional[float]
    like_lift: Optional[float]


@dataclass(frozen=True)
class HashtagEvaluation(Result):
    """precision@k / recall@k of each suggestion method on held-out videos."""

    methods: dict[str, dict[str, float]]
    n_train: Optional[int] = optional()
    n_test: Optional[int] = optional()
    vocabulary: Optional[int] = optional()

    def precision(self, method: str, k: int) -> Optional[float]:
        return self.methods.get(method, {}).get(f"precision@{k}")


@dataclass(frozen=True)
class GenericTag(Result):
    """A tag many videos use whatever they show (#fyp), with its evidence."""

    tag: str
    share: float
    content_auc: Optional[float] = None  # how well content tells its users apart (0.5: not at all)
    median_likes_with: Optional[float] = None
    median_likes_without: Optional[float] = None


@dataclass(frozen=True)
class HashtagBlend(Result):
    """The suggester's blend weights, chosen by cross-validation inside the library, and
    the folds' precision@3/@5 of the blend and the two baselines (``knn``: neighbour
    votes; ``frequency``: the most frequent tags), e.g. ``cv["blend"]["precision@3"]``."""

    weights: dict[str, float]
    cv: dict[str, Any]
    given_weights: Optional[dict[str, float]] = None  # when the user already chose tags


@dataclass(frozen=True)
class HashtagResult(Result):
    table: list[HashtagRow]
    evaluation: Optional[HashtagEvaluation] = optional()
    vocabulary: Optional[int] = optional()
    skipped: Optional[str] = optional()
    blend: Optional[HashtagBlend] = optional()
    generic: Optional[list[GenericTag]] = optional()


# ---------------------------------------------------------------------- sounds
@dataclass(frozen=True)
class SoundTrend(Result):
    """One reused sound (a cluster of audio embeddings) and how its use moved."""

    cluster: int
    sound_id: Optional[str]
    title: Optional[str]
    n_videos: int
    video_ids: list[str]
    first_use: Optional[int]
    last_use: Optional[int]
    uses_first_third: int
    uses_last_third: int
    growth: Optional[float]
    median_likes: Optional[float]


@dataclass(frozen=True)
class SoundMismatch(Result):
    """A video whose metadata names another sound (or "original") than its audio says."""

    id: str
    index: int
    cluster: int
    metadata_sound: Optional[str]
    audio_sound: Optional[str]
    metadata_original: bool
    reason: str


@dataclass(frozen=True)
class SoundResult(Result):
    threshold: Optional[float] = optional()
    threshold_method: Optional[str] = optional()
    clusters: Optional[int] = optional()
    reused_clusters: Optional[int] = optional()
    videos_reusing_a_sound: Optional[int] = optional()
    metadata_mismatches: Optional[int] = optional()
    mislabelled_original: Optional[int] = optional()  # of the mismatches: posts calling a reused sound original
    mismatches: Optional[list[SoundMismatch]] = optional()
    trends: Optional[list[SoundTrend]] = optional()
    error: Optional[str] = optional()


# --------------------------------------------------------------------- summary
@dataclass(frozen=True)
class AnalysisSettings(Result):
    split: str
    coverage: float
    random_state: int


@dataclass(frozen=True)
class AnalysisSummary(Result):
    """Everything ``analyze`` found for one run (``summary.json``)."""

    format: int
    run: str
    method: str
    kind: str
    created_at: float
    source: dict[str, int]
    videos: int
    not_embedded: int
    videos_with_likes: int
    videos_with_hashtags: int
    settings: AnalysisSettings
    sounds: SoundResult
    originality: OriginalityResult
    forecast: ForecastResult
    hashtags: HashtagResult


# ------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class ProbeScore(Result):
    """Linear-probe accuracy from the embedding to a label, by stratified k-fold."""

    accuracy: float
    majority_baseline: float
    classes: int
    videos: int
    folds: int


@dataclass(frozen=True)
class KindEvaluation(Result):
    """The four evaluations of one run's embeddings of one kind (None where not possible:
    no label for the probe, too few liked or tagged videos)."""

    probe: Optional[ProbeScore]
    retrieval: Optional[dict[str, float]]  # recall@1/5/10, map, random_map, queries; None: no queries
    forecast: Optional[ForecastComparison]
    hashtags: Optional[HashtagEvaluation]


@dataclass(frozen=True)
class RunEvaluation(Result):
    run: str
    method: str
    preset: str
    videos: int
    kinds: dict[str, KindEvaluation]


@dataclass(frozen=True)
class ComparisonRow(Result):
    """One flat row per run and kind: each evaluation's headline number."""

    run: str
    method: str
    kind: str
    probe_accuracy: Optional[float]
    retrieval_map: Optional[float]
    retrieval_recall_at_10: Optional[float] = field(metadata={"key": "retrieval_recall@10"})
    forecast_r2: Optional[float] = None
    forecast_spearman: Optional[float] = None
    forecast_coverage: Optional[float] = None
    forecast_width: Optional[float] = optional()  # median high/low ratio of the intervals
    hashtag_precision_at_5: Optional[float] = field(default=None, metadata={"key": "hashtag_precision@5"})
    # precision@3/@5 of the suggester and of both baselines (neighbour votes, most frequent)
    hashtags: Optional[dict[str, Optional[float]]] = optional()

    @classmethod
    def of(cls, run_id: str, method: str, kind: str, res: KindEvaluation) -> "ComparisonRow":
        full = res.forecast.models.get("full") if res.forecast else None
        retrieval = res.retrieval or {}  # None: no two videos share the relevance attribute
        return cls(run_id, method, kind,
                   probe_accuracy=res.probe.accuracy if res.probe else None,
                   retrieval_map=retrieval.get("map"),
                   retrieval_recall_at_10=retrieval.get("recall@10"),
                   forecast_r2=full.r2 if full else None,
                   forecast_spearman=full.spearman if full else None,
                   forecast_coverage=full.coverage if full else None,
                   forecast_width=full.width_ratio if full else None,
                   hashtag_precision_at_5=res.hashtags.precision("combined", 5) if res.hashtags else None,
                   hashtags={f"{name}_p{k}": res.hashtags.precision(method, k)
                             for name, method in (("ours", "combined"), ("knn", "knn"),
                                                  ("frequency", "frequency")) for k in (3, 5)}
                   if res.hashtags else None)


@dataclass(frozen=True)
class Evaluation(Result):
    """``reelscope evaluate``: every run and kind side by side (docs/ANALYTICS.md)."""

    library: str
    label: Optional[str]
    relevance: str
    split: str
    runs: list[RunEvaluation]
    comparison: list[ComparisonRow]
