"""How good are a run's embeddings? Probe accuracy, retrieval, like forecast and hashtags.

Every number is measured on videos the fitted part never saw:

- ``probe``: a linear probe (multinomial logistic regression on standardised
  embeddings) predicting a label column, stratified k-fold accuracy next to the
  majority-class share;
- ``retrieval``: each video with a shared attribute (by default the same sound) asks
  for its nearest neighbours; recall@k and mean average precision, next to the
  expected mAP of a random ranking;
- ``forecast``: :func:`reelscope.core.analytics.forecast_eval.compare_models` on a held-out split;
- ``hashtags``: :func:`reelscope.core.analytics.hashtags.evaluate_hashtags` on held-out videos.

:func:`evaluate_library` runs all four for each run and embedding kind so that runs
compare side by side; its JSON keys are documented in ``docs/ANALYTICS.md``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from reelscope.core.analytics.results import ComparisonRow, Evaluation, KindEvaluation, RunEvaluation, jsonable

from reelscope.core.progress import CancelToken, ProgressCallback, Reporter

if TYPE_CHECKING:
    from reelscope.core.store.library import Library
    from reelscope.core.store.models import Video

#: Label columns with a meaning of their own; any other name is looked up in the
#: metadata's extra fields (e.g. the demo's ``category``).
BUILTIN_COLUMNS = ("author", "sound", "first_hashtag", "has_audio")


def label_values(videos: Sequence["Video"], column: str,
                 labels: Optional[dict[str, Any]] = None) -> list[Optional[str]]:
    """The label of each video, None where unknown.

    ``labels`` (id -> label, e.g. from ``--labels FILE.json``) wins over ``column``.
    """
    if labels is not None:
        return [None if labels.get(v.id) is None else str(labels[v.id]) for v in videos]
    getters = {
        "author": lambda v: v.author.id if v.author else None,
        "sound": lambda v: v.sound.id if v.sound else None,
        "sound_id": lambda v: v.sound.id if v.sound else None,
        "author_id": lambda v: v.author.id if v.author else None,
        "first_hashtag": lambda v: v.hashtags[0] if v.hashtags else None,
        "has_audio": lambda v: None if v.has_audio is None else str(v.has_audio),
    }
    get = getters.get(column, lambda v: v.extra.get(column))
    out = []
    for v in videos:
        value = get(v)
        out.append(None if value is None or value == "" else str(value))
    return out


def read_labels_file(path: str | Path, column: Optional[str] = None) -> dict[str, str]:
    """Video id -> label from a JSON file.

    Either a flat object ``{"id": "label", ...}`` or per-video records
    ``{"id": {"category": ..., ...}}`` — optionally under a ``"videos"`` key, as in the
    demo's ``ground_truth.json`` — from which ``column`` (default ``category``) is taken.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, dict) and isinstance(data.get("videos"), dict):
        data = data["videos"]
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold one JSON object mapping video id to label")
    field = column or "category"
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = value.get(field)
        if value is not None and not isinstance(value, (list, dict)):
            out[str(key)] = str(value)
    if not out:
        raise ValueError(f"{path} gives no labels" + (f" in field {field!r}" if column else ""))
    return out


# ----------------------------------------------------------------------- probe
def linear_probe(X: np.ndarray, labels: Sequence[Optional[str]], n_folds: int = 5,
                 max_rows: int = 20_000, random_state: int = 0) -> Optional[dict[str, Any]]:
    """Stratified k-fold accuracy of a logistic regression from ``X`` float32 [N, D] to labels.

    Videos without a label, and classes with fewer than 2 videos, are left out.
    Returns None when fewer than 2 classes remain.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.array([lab if lab is not None else "" for lab in labels], dtype=object)
    keep = y != ""
    values, counts = np.unique(y[keep].astype(str), return_counts=True)
    common = set(values[counts >= 2].tolist())
    keep &= np.array([lab in common for lab in y])
    rows = np.flatnonzero(keep)
    if len(common) < 2:
        return None
    rng = np.random.default_rng(random_state)
    if len(rows) > max_rows:
        rows = np.sort(rng.choice(rows, max_rows, replace=False))
    Xk, yk = np.asarray(X, dtype=np.float64)[rows], y[rows].astype(str)
    folds = int(min(n_folds, np.unique(yk, return_counts=True)[1].min()))
    folds = max(2, folds)
    split = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    correct = 0
    for train, test in split.split(Xk, yk):
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
        clf.fit(Xk[train], yk[train])
        correct += int((clf.predict(Xk[test]) == yk[test]).sum())
    _, class_counts = np.unique(yk, return_counts=True)
    return {"accuracy": correct / len(yk), "majority_baseline": float(class_counts.max() / len(yk)),
            "classes": int(len(class_counts)), "videos": int(len(yk)), "folds": folds}


# ------------------------------------------------------------------- retrieval
def retrieval_metrics(X: np.ndarray, groups: Sequence[Optional[str]],
                      ks: Sequence[int] = (1, 5, 10), max_queries: int = 2000,
                      random_state: int = 0) -> Optional[dict[str, Any]]:
    """Recall@k and mAP where videos sharing a group (e.g. sound id) are relevant.

    ``X`` float32 [N, D] unit rows. Queries are videos whose group has another member
    (at most ``max_queries``, sampled); each ranks all other videos by cosine. recall@k
    is the share of a query's relevant videos in its top k, averaged over queries;
    ``random_map`` is the mAP a random ranking would expect. None without queries.
    """
    g = np.array([x if x is not None else "" for x in groups], dtype=object).astype(str)
    values, inverse, counts = np.unique(g, return_inverse=True, return_counts=True)
    group_size = counts[inverse]
    queries = np.flatnonzero((g != "") & (group_size >= 2))
    if len(queries) == 0:
        return None
    rng = np.random.default_rng(random_state)
    if len(queries) > max_queries:
        queries = np.sort(rng.choice(queries, max_queries, replace=False))
    X = np.asarray(X, dtype=np.float32)
    n = len(X)
    recall = {k: [] for k in ks}
    aps, random_aps = [], []
    block = max(1, min(256, 4_000_000 // max(n, 1)))  # [block, N] int64 rankings stay ~32 MB
    for start in range(0, len(queries), block):
        q = queries[start:start + block]
        S = X[q] @ X.T
        S[np.arange(len(q)), q] = -np.inf  # never retrieve itself
        order = np.argsort(-S, axis=1, kind="stable")[:, : n - 1]
        rel = inverse[order] == inverse[q][:, None]  # [Q, N-1] bool
        n_rel = rel.sum(axis=1)
        for k in ks:
            recall[k].extend((rel[:, :k].sum(axis=1) / n_rel).tolist())
        hits = np.cumsum(rel, axis=1)
        precision_at_hit = np.where(rel, hits / np.arange(1, n), 0.0)
        aps.extend((precision_at_hit.sum(axis=1) / n_rel).tolist())
        random_aps.extend((n_rel / (n - 1)).tolist())
    out: dict[str, Any] = {f"recall@{k}": float(np.mean(recall[k])) for k in ks}
    out.update({"map": float(np.mean(aps)), "random_map": float(np.mean(random_aps)),
                "queries": int(len(queries))})
    return out


# ---------------------------------------------------------------- whole library
def evaluate_run(data: Any, kind: str, label: Optional[Sequence[Optional[str]]],
                 relevance: Sequence[Optional[str]], split: str = "random",
                 coverage: float = 0.8, sounds: Optional[Sequence[Any]] = None) -> KindEvaluation:
    """All four evaluations of one run's ``kind`` embeddings (``data``: an AnalysisData).
    ``sounds``: each video's detected sound group (the stored analysis' ``sound_cluster``),
    for the hashtag suggester's same-sound member; None leaves it out."""
    from reelscope.core.analytics.forecast_eval import compare_models
    from reelscope.core.analytics.hashtags import evaluate_hashtags

    X = data.kind(kind)
    out: dict[str, Any] = {
        "probe": linear_probe(X, label) if label is not None else None,
        "retrieval": retrieval_metrics(X, relevance),
        "forecast": None,
        "hashtags": None,
    }
    rows = data.with_likes()
    if len(rows) >= 20:
        try:
            out["forecast"] = compare_models(
                data.features(kind).take(rows), data.likes[rows], split=split,
                groups=[data.authors[i] for i in rows], times=[data.posted_at[i] for i in rows],
                coverage=coverage)
        except ValueError as exc:  # e.g. a time split without posting times
            out["forecast"] = {"error": str(exc)}
    tagged = data.with_tags()
    if len(tagged) >= 20:
        res = evaluate_hashtags(X[tagged], [data.tags[i] for i in tagged],
                                [data.likes_or_none(i) for i in tagged], ks=(1, 3, 5, 10),
                                authors=[data.authors[i] for i in tagged],
                                captions=[data.videos[i].description for i in tagged],
                                sounds=None if sounds is None else [sounds[i] for i in tagged])
        out["hashtags"] = res if res["methods"] else None
    return KindEvaluation.from_json(jsonable(out))


def evaluate_library(library: "Library", run_ids: Optional[Sequence[str]] = None,
                     kinds: Sequence[str] = ("visual", "audio", "fused"),
                     label: Optional[str] = None, labels_file: Optional[str | Path] = None,
                     relevance: str = "sound", split: str = "random", coverage: float = 0.8,
                     progress: Optional[ProgressCallback] = None,
                     cancel: Optional[CancelToken] = None) -> Evaluation:
    """Evaluate each run (default: every run with embeddings) and kind; see docs/ANALYTICS.md."""
    from reelscope.core.analytics.data import load_data, runs_with_embeddings

    runs = runs_with_embeddings(library)
    if run_ids:
        known = {r.id for r in runs}
        missing = [r for r in run_ids if r not in known]
        if missing:
            raise KeyError(f"no embeddings for run(s) {', '.join(missing)} in {library.path}")
        runs = [r for r in runs if r.id in set(run_ids)]
    if not runs:
        raise FileNotFoundError(f"no embeddings in {library.path}; run 'reelscope train' "
                                "then 'reelscope embed' first")
    mapping = read_labels_file(labels_file, label) if labels_file else None
    label_name = (f"{Path(labels_file).name}" + (f":{label}" if label else "")
                  if mapping is not None else label)
    report = Reporter("evaluate", len(runs) * len(kinds), progress, cancel)
    evaluated: list[RunEvaluation] = []
    comparison: list[ComparisonRow] = []
    for run in runs:
        data = load_data(library, run.id)
        labels = (label_values(data.videos, label or "", mapping)
                  if (label or mapping is not None) else None)
        groups = label_values(data.videos, relevance)
        sounds = _sound_groups(library, run.id, data.ids)
        results: dict[str, KindEvaluation] = {}
        for kind in kinds:
            report.check()
            results[kind] = evaluate_run(data, kind, labels, groups, split, coverage, sounds)
            comparison.append(ComparisonRow.of(run.id, run.method, kind, results[kind]))
            report.step(message=f"{run.id} {kind}")
        evaluated.append(RunEvaluation(run.id, run.method, run.preset, len(data.ids), results))
    return Evaluation(str(library.path), label_name, relevance, split, evaluated, comparison)


def _sound_groups(library: "Library", run_id: str, ids: Sequence[str]) -> Optional[list[Any]]:
    """Each video's sound group from the run's stored analysis (None without one): the same
    evidence the suggester uses in ``analyze`` and ``predict``."""
    from reelscope.core.analytics.analyze import load_analysis

    analysis = load_analysis(library, run_id)
    labels = analysis.scores.get("sound_cluster") if analysis is not None else None
    if labels is None:
        return None
    of = {str(i): x for i, x in zip(analysis.scores["ids"], labels)}
    return [of.get(str(i)) for i in ids]
