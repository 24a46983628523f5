"""Sounds and trends: which videos reuse the same audio, whatever the metadata says.

Platforms label a reused song inconsistently — a repost's metadata often says
"original sound" and gives it a fresh sound id. The audio embeddings do not
lie: :func:`sound_clusters` links every video to its nearest audio neighbours
above a similarity threshold and takes the connected groups as sounds, then
lists the videos whose metadata disagrees with their group. :func:`sound_trends`
summarises each reused sound over time and :func:`trend_typicality` says how
typical one video is of its sound's trend.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

import numpy as np

if TYPE_CHECKING:
    from reelscope.core.store.models import Video


def sound_clusters(
    audio: np.ndarray,
    ids: Sequence[str],
    metadata_sound_ids: Sequence[Optional[str]],
    threshold: Optional[float] = None,
    *,
    metadata_original: Optional[Sequence[bool]] = None,
    k: int = 10,
    exact_below: int = 5000,
) -> dict[str, Any]:
    """Group videos that reuse the same sound, from audio embeddings.

    Parameters
    ----------
    audio : float32 [N, D] audio embeddings (rows are L2-normalised here).
    ids : N video ids.
    metadata_sound_ids : N sound ids from the metadata (None when absent).
    threshold : cosine similarity above which two videos share a sound.
        None picks it from the data (see :func:`pick_threshold`).
    metadata_original : optional N flags "metadata says original sound". When
        not given, a video counts as original if its sound id is missing or
        no other video in the library has it.
    k : neighbours looked at per video; the graph stays O(N k).

    Returns
    -------
    dict with
        ``ids`` list[str] [N];
        ``labels`` int64 [N] — the sound cluster of each video, 0 = the most
            used; every video has one (a sound nobody reuses is its own cluster);
        ``sizes`` int64 [C] videos per cluster; ``reused`` bool [N] (cluster size >= 2);
        ``cluster_sound`` list [C] — the metadata sound id most members of a
            reused cluster share, or None (a single video's, or nobody's);
        ``mismatches`` list[dict] — videos in a reused cluster whose metadata
            sound differs from the cluster's: {"id", "index", "cluster",
            "metadata_sound", "audio_sound", "metadata_original", "reason"};
        ``threshold`` float; ``threshold_method`` str.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from reelscope.core.analytics.vector_index import VectorIndex

    X = np.asarray(audio, dtype=np.float32)
    n = len(X)
    ids = [str(i) for i in ids]
    sound_ids = [None if s is None or str(s) == "" else str(s) for s in metadata_sound_ids]
    if not (len(ids) == n == len(sound_ids)):
        raise ValueError(f"{n} audio rows, {len(ids)} ids, {len(sound_ids)} metadata sound ids")
    if n == 0:
        raise ValueError("no videos to cluster")
    # Clusters need connectivity, not the exact top-k: the default graph is plenty.
    index = VectorIndex(X.shape[1], exact_below=exact_below, ef_search=max(32, k))
    index.add([str(i) for i in range(n)], X)
    labels_nn, sims = index.search(X, k + 1)
    not_self = labels_nn != np.arange(n)[:, None]
    nearest = np.where(not_self, sims, -np.inf).max(axis=1) if n > 1 else np.full(n, -1.0)

    method = "given"
    if threshold is None:
        sample = np.random.default_rng(0).choice(n, min(n, 20_000), replace=False)
        threshold, method = pick_threshold(nearest, index.vectors([str(i) for i in sample]))
    keep = not_self & (sims >= threshold)
    rows = np.repeat(np.arange(n), keep.sum(axis=1))
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, labels_nn[keep])), shape=(n, n))
    _, components = connected_components(graph, directed=False)
    return sound_groups(components, ids, sound_ids, threshold, method, metadata_original=metadata_original)


def sound_groups(
    components: np.ndarray,
    ids: Sequence[str],
    metadata_sound_ids: Sequence[Optional[str]],
    threshold: float,
    threshold_method: str,
    *,
    metadata_original: Optional[Sequence[bool]] = None,
    sure: Optional[Sequence[bool]] = None,
) -> dict[str, Any]:
    """The result of :func:`sound_clusters` from any grouping of the videos.

    ``components`` int [N]: a group label per video (any numbering; alone = its own
    label) — from the embedding graph above or from
    :func:`reelscope.core.analytics.sound_match.cluster_matches`. Relabels them by
    size (0 = the most used) and compares them with the metadata. ``sure`` bool [N]:
    which videos belong to their group firmly enough to contradict their metadata
    (default: all); the others stay in their group but are not listed as mismatches.
    """
    ids = [str(i) for i in ids]
    sound_ids = [None if s is None or str(s) == "" else str(s) for s in metadata_sound_ids]
    components = np.asarray(components, dtype=np.int64)
    _, components = np.unique(components, return_inverse=True)
    sizes_raw = np.bincount(components)
    order = np.argsort(-sizes_raw, kind="stable")  # relabel: 0 = the most used sound
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    labels = rank[components].astype(np.int64)
    sizes = sizes_raw[order].astype(np.int64)

    if metadata_original is None:
        uses = Counter(s for s in sound_ids if s is not None)
        original = np.array([s is None or uses[s] < 2 for s in sound_ids])
    else:
        original = np.asarray(metadata_original, dtype=bool)
    cluster_sound, mismatches = _compare_with_metadata(ids, sound_ids, original, labels, sizes)
    if sure is not None:
        sure = np.asarray(sure, dtype=bool)
        mismatches = [m for m in mismatches if sure[m["index"]]]
    return {
        "ids": ids,
        "labels": labels,
        "sizes": sizes,
        "reused": sizes[labels] >= 2,
        "cluster_sound": cluster_sound,
        "mismatches": mismatches,
        "threshold": float(threshold),
        "threshold_method": threshold_method,
    }


def pick_threshold(nearest: np.ndarray, sample: np.ndarray, seed: int = 0) -> tuple[float, str]:
    """Similarity above which two videos count as the same sound, and how it was chosen.

    ``nearest`` float [N]: each video's similarity to its closest other video;
    ``sample`` float32 [m, D] unit rows for chance similarities. Reused sounds
    make ``nearest`` bimodal (near-copies vs. everything else); Otsu's split
    separates the modes. The threshold is never below chance — five robust
    standard deviations (MAD) above the median similarity of random pairs —
    and when the histogram is not clearly two-humped (Otsu's separability
    < 0.75, the value for a uniform spread) the chance bound alone is used.
    The method says which bound won: "otsu" or "chance".
    """
    rng = np.random.default_rng(seed)
    m = len(sample)
    if m >= 2:
        a, b = rng.integers(0, m, 4000), rng.integers(0, m, 4000)
        pairs = np.einsum("ij,ij->i", sample[a[a != b]], sample[b[a != b]])
        # Median and MAD: the pairs include some true reuses, which must not widen "chance".
        centre = float(np.median(pairs))
        spread = 1.4826 * float(np.median(np.abs(pairs - centre)))
        chance = min(0.99, centre + 5 * spread)
    else:
        chance = 0.9
    finite = nearest[np.isfinite(nearest)]
    if len(finite) < 3:
        return chance, "chance"
    split, separability = _otsu(finite)
    if separability >= 0.75 and split > chance:
        return float(split), "otsu"
    return float(chance), "chance"


def _otsu(values: np.ndarray, bins: int = 256) -> tuple[float, float]:
    """(threshold, between-class / total variance) of a 1-D sample."""
    hist, edges = np.histogram(values, bins=bins)
    p = hist / hist.sum()
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    mu = np.cumsum(p * centres)
    total_mu, total_var = mu[-1], float(values.var())
    w1 = 1.0 - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mu * w0 - mu) ** 2 / (w0 * w1)
    between = np.nan_to_num(between[:-1], nan=0.0, posinf=0.0)
    if total_var <= 0 or not len(between):
        return float(values.max()), 0.0
    best = int(np.argmax(between))
    return float(edges[best + 1]), float(between[best] / total_var)


def _compare_with_metadata(
    ids: list[str], sound_ids: list[Optional[str]], original: np.ndarray, labels: np.ndarray, sizes: np.ndarray
) -> tuple[list[Optional[str]], list[dict[str, Any]]]:
    cluster_sound: list[Optional[str]] = [None] * len(sizes)
    members: dict[int, list[int]] = {}
    for i, c in enumerate(labels):
        if sizes[c] >= 2:
            members.setdefault(int(c), []).append(i)
    mismatches = []
    for c, rows in members.items():
        named = Counter(sound_ids[i] for i in rows if sound_ids[i] is not None)
        top, count = named.most_common(1)[0] if named else (None, 0)
        sound = top if count >= 2 else None  # one video's label does not name a shared sound
        cluster_sound[c] = sound
        for i in rows:
            if sound_ids[i] == sound and sound is not None:
                continue
            others = len(rows) - 1
            if sound is None:
                reason = f"its audio matches {others} other video(s) that metadata lists under different sounds"
            elif original[i]:
                reason = f"metadata says original sound, but the audio matches {others} other video(s) using sound {sound}"
            else:
                reason = f"metadata names sound {sound_ids[i]}, but the audio matches sound {sound}"
            mismatches.append(
                {
                    "id": ids[i],
                    "index": i,
                    "cluster": c,
                    "metadata_sound": sound_ids[i],
                    "audio_sound": sound,
                    "metadata_original": bool(original[i]),
                    "reason": reason,
                }
            )
    return cluster_sound, mismatches


def sound_trends(videos: "Iterable[Video]", clusters: dict[str, Any], min_videos: int = 2) -> list[dict[str, Any]]:
    """One summary per reused sound, the most used first.

    ``clusters`` is what :func:`sound_clusters` returned; ``videos`` the records of (at
    least) the clustered videos, for their dates, likes and sound titles. Each dict holds
    ``cluster``, ``sound_id`` and ``title`` (from the metadata, may be None),
    ``n_videos``, ``video_ids`` (oldest first), ``first_use`` / ``last_use``
    (unix seconds, None when no dates are known), ``uses_first_third`` /
    ``uses_last_third`` of the span from first to last use, ``growth`` (their
    ratio: above 1 the sound is catching on, below 1 it is fading; None with
    fewer than 3 dated uses or no span) and ``median_likes`` (None if unknown).
    """
    videos = {v.id: v for v in videos}
    labels = np.asarray(clusters["labels"])
    by_cluster: dict[int, list[str]] = {}
    for vid, c in zip(clusters["ids"], labels):
        by_cluster.setdefault(int(c), []).append(vid)
    out = []
    for c, members in by_cluster.items():
        if len(members) < min_videos:
            continue
        known = [videos[v] for v in members if v in videos]
        sound_id = clusters["cluster_sound"][c]
        title = group_title(known, sound_id)
        dated = sorted((v.posted_at, v.id) for v in known if v.posted_at is not None)
        times = np.array([t for t, _ in dated], dtype=np.float64)
        likes = [v.likes for v in known if v.likes is not None]
        first, last, growth, early, late = None, None, None, None, None
        if len(times):
            first, last = int(times[0]), int(times[-1])
            third = (last - first) / 3.0
            early = int(np.sum(times <= first + third))
            late = int(np.sum(times >= last - third))
            if len(times) >= 3 and last > first:
                growth = late / early
        undated = sorted(set(members) - {vid for _, vid in dated})
        out.append(
            {
                "cluster": c,
                "sound_id": sound_id,
                "title": title,
                "n_videos": len(members),
                "video_ids": [vid for _, vid in dated] + undated,
                "first_use": first,
                "last_use": last,
                "uses_first_third": early,
                "uses_last_third": late,
                "growth": growth,
                "median_likes": float(np.median(likes)) if likes else None,
            }
        )
    out.sort(key=lambda t: (-t["n_videos"], t["cluster"]))
    return out


def group_title(videos: "Sequence[Video]", sound_id: Optional[str] = None) -> Optional[str]:
    """What a group of videos sharing a sound is called: the most common title their
    metadata gives it, leaving out "original sound - …" labels unless nothing else
    names it (reposts often call a trending song their own)."""
    titles = Counter(v.sound.title for v in videos if v.sound and v.sound.title)
    if not titles:
        return None
    named = Counter({t: n for t, n in titles.items() if not t.lower().startswith("original sound")})
    pick = named or titles
    best = max(pick.values())
    # Ties go to the title of the sound id most members share, then alphabetically.
    tied = sorted(t for t, n in pick.items() if n == best)
    for v in videos:
        if v.sound and v.sound.id == sound_id and v.sound.title in tied:
            return v.sound.title
    return tied[0]


def group_name(title: Optional[str], n_videos: int) -> str:
    """What the app calls a group of videos sharing a sound: its title
    (:func:`group_title`), else "Unnamed sound (N videos)"."""
    return title or f"Unnamed sound ({n_videos:,} videos)"


def group_names(trends: "Iterable[Any]") -> dict[int, str]:
    """cluster -> the name the report and the window show for each trend
    (:class:`~reelscope.core.analytics.results.SoundTrend`): :func:`group_name`, with
    the group's number added where several groups would read the same — one song cut
    differently, whose audio is counted apart ("Golden Loop #8", "Golden Loop #14")."""
    names = {t.cluster: group_name(t.title, t.n_videos) for t in trends}
    counts = Counter(names.values())
    return {c: name + (f" #{c}" if counts[name] > 1 else "") for c, name in names.items()}


def trend_typicality(audio_or_fused: np.ndarray, clusters: dict[str, Any], video_index: int) -> float:
    """0-100: how typical video ``video_index`` is within its sound's trend.

    ``audio_or_fused`` float32 [N, D] in the row order of ``clusters``. The
    video's cosine to its cluster's mean direction is ranked among its
    cluster-mates': 100 = the most typical take on the sound, near 0 = the
    most unusual. NaN when nobody else uses the sound (no trend to compare).
    """
    labels = np.asarray(clusters["labels"])
    members = np.flatnonzero(labels == labels[video_index])
    if len(members) < 2:
        return float("nan")
    scores = trend_typicality_all(np.asarray(audio_or_fused)[members], np.zeros(len(members), np.int64))
    return float(scores[int(np.searchsorted(members, video_index))])


def trend_typicality_all(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """float64 [N] typicality of every row of float32 [N, D] within int [N] ``labels``.

    Same definition as :func:`trend_typicality`, for the whole library at once
    (percentile (rank + 0.5) / size, so a two-video sound gives 25 and 75).
    """
    X = np.asarray(X, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    n_groups = int(labels.max()) + 1 if len(labels) else 0
    blocks = [slice(s, s + 65_536) for s in range(0, len(X), 65_536)]  # no [N, D] temporaries

    def unit(rows: slice) -> np.ndarray:
        return X[rows] / np.maximum(np.linalg.norm(X[rows], axis=1, keepdims=True), 1e-12)

    centroids = np.zeros((n_groups, X.shape[1]), dtype=np.float64)
    for rows in blocks:
        np.add.at(centroids, labels[rows], unit(rows))
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    sims = np.empty(len(X), dtype=np.float64)
    for rows in blocks:
        sims[rows] = np.einsum("ij,ij->i", unit(rows), centroids[labels[rows]])
    order = np.lexsort((sims, labels))  # by group, then similarity
    counts = np.bincount(labels, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(labels), dtype=np.float64)
    rank[order] = np.arange(len(labels)) - starts[labels[order]]
    out = 100.0 * (rank + 0.5) / counts[labels]
    out[counts[labels] < 2] = np.nan
    return out
