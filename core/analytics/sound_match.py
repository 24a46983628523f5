"""Same sound, however it was reposted: a landmark index over sound prints.

A repost of a trending sound is rarely the original file: apps speed it up
(the pitch follows), transpose it, start it anywhere in the loop, cut it short,
talk over it, add noise, EQ and reverb. A learned audio embedding blurs all of
that into one vector. :mod:`reelscope.core.ingest.media.soundprint` keeps the
pattern of notes instead; this module finds the same pattern in other videos:

1. :func:`landmarks` — an anchor note and three that follow it, hashed by their
   *differences* in pitch and the *ratios* of their time gaps. A transposition
   moves every peak by the same number of bins, so pitch differences do not
   change; a different start moves every time by the same amount; a tempo change
   stretches every gap by one factor, which ratios do not see.
2. :class:`SoundIndex` — an inverted index from hash to (video, span, pitch). A
   query's matches vote for (video, pitch shift, tempo); a repost piles its votes
   on one shift and tempo, chance matches scatter. Looking up one video costs a
   few thousand sorted-array searches, not a pass over the library.
3. :func:`alignment` — the index proposes, this checks: all the notes of two clips
   lined up at the proposed shift and tempo, scored against chance.
4. :func:`match_prints` and :func:`cluster_matches` — each video's closest sounds,
   and the groups of videos that share one (:mod:`reelscope.core.analytics.sounds`
   compares them with the metadata).

Measured on demo libraries (``bench/qm_sounds.py``): same-sound top-1 0.96 and
clustering ARI 0.93 on the seed the constants were chosen on, 0.94 and 0.89 on
another, where the audio embedding of a trained encoder reached under 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional, Sequence

import numpy as np

from reelscope.core.ingest.media.soundprint import N_BINS, SoundPrint
from reelscope.core.progress import Cancelled

if TYPE_CHECKING:
    from reelscope.core.store.library import Library
    from reelscope.core.store.models import Video

MIN_NOTE_FRAMES = 2  # held at one pitch for two frames (64 ms): a note, not a gliding voice

# Landmarks: an anchor peak and three of the peaks that follow it within this window.
FAN_FRAMES = (1, 32)  # 32 ms .. 1 s after the anchor
FAN_BINS = 24  # within an octave of the anchor
FAN_OUT = 5  # the nearest later peaks an anchor's landmarks are drawn from
MIN_SPAN = 6  # frames: shorter spans give too coarse a tempo-free ratio
RATIO_LEVELS = 8  # buckets for where a peak falls within the span
TEMPO_QUANT = 0.04  # log-tempo buckets when voting (4 %)
MAX_SHIFT_BINS = 14  # transpositions looked at: +-7 semitones between two posts
MAX_TEMPO = np.log(1.4)  # relative tempo looked at: each post up to ~15-20 % off the original
PROBE = (-1, 0, 1)  # ratio buckets looked up around a query's own
STOP_SHARE = 0.002  # hashes this common in the library say nothing; skipped when searching


def landmarks(p: SoundPrint) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hash int64 [L], log time span float32 [L], anchor bin int16 [L]) of a print.

    A landmark is an anchor peak and three of the :data:`FAN_OUT` peaks that
    follow it closely. Its hash holds the three pitch differences to the anchor
    (unchanged by transposition) and where the two nearer peaks fall between the
    anchor and the farthest, as fractions of that span (unchanged by tempo and
    start). The span's log is returned so a match can say what tempo it implies.
    """
    empty = np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int16)
    if len(p.times) < 4:
        return empty
    t, b = onsets(p)
    lo, hi = FAN_FRAMES
    n = len(t)
    if n < 4:
        return empty
    # For each anchor, the FAN_OUT nearest later peaks in the window (-1 where fewer).
    first = np.searchsorted(t, t + lo, side="left")
    targets = np.full((n, FAN_OUT), -1, np.int64)
    filled = np.zeros(n, np.int64)
    last = np.full(n, -1, np.int64)  # time of the latest target: one per frame keeps spans apart
    offset = 0
    # Walk forward from each anchor's first candidate; FAN_OUT hits need few steps in practice.
    while True:
        j = first + offset
        live = (j < n) & (filled < FAN_OUT)
        if not live.any():
            break
        jj = np.minimum(j, n - 1)
        live &= t[jj] - t <= hi
        if not live.any():
            break
        ok = live & (np.abs(b[jj] - b) <= FAN_BINS) & (t[jj] > last)
        rows = np.flatnonzero(ok)
        targets[rows, filled[rows]] = jj[rows]
        filled[rows] += 1
        last[rows] = t[jj[rows]]
        offset += 1
    keys, spans, anchors = [], [], []
    for x, y, z in _TRIPLES:
        have = targets[:, z] >= 0
        i = np.flatnonzero(have)
        u, v, w = targets[i, x], targets[i, y], targets[i, z]
        dw = (t[w] - t[i]).astype(np.float32)
        span_ok = dw >= MIN_SPAN
        i, u, v, w, dw = i[span_ok], u[span_ok], v[span_ok], w[span_ok], dw[span_ok]
        r1 = np.minimum(np.floor((t[u] - t[i]) / dw * RATIO_LEVELS), RATIO_LEVELS - 1).astype(np.int64)
        r2 = np.minimum(np.floor((t[v] - t[i]) / dw * RATIO_LEVELS), RATIO_LEVELS - 1).astype(np.int64)
        f1, f2, f3 = (b[u] - b[i] + 32), (b[v] - b[i] + 32), (b[w] - b[i] + 32)
        keys.append((((f1 * 64 + f2) * 64 + f3) * RATIO_LEVELS + r1) * RATIO_LEVELS + r2)
        spans.append(np.log(dw))
        anchors.append(b[i])
    if not keys:
        return empty
    return (np.concatenate(keys).astype(np.int64), np.concatenate(spans).astype(np.float32),
            np.concatenate(anchors).astype(np.int16))


def onsets(p: SoundPrint) -> tuple[np.ndarray, np.ndarray]:
    """(times int32, bins int32) of the peaks that start a note: no peak within one
    bin of it in the frame before. A held note is one event, not a run of copies."""
    t = p.times.astype(np.int32)
    b = p.bins.astype(np.int32)
    if not len(t):
        return t, b
    grid = np.zeros((int(t.max()) + 2, N_BINS + 2), bool)
    grid[t + 1, b + 1] = True
    before = grid[t, b] | grid[t, b + 1] | grid[t, b + 2]  # frame t-1, bins b-1..b+1
    # A note holds its pitch; a voice glides. Keep onsets whose bin stays lit.
    held = np.ones(len(t), bool)
    for k in range(1, MIN_NOTE_FRAMES):
        at = np.minimum(t + 1 + k, grid.shape[0] - 1)
        held &= grid[at, b + 1] & (t + 1 + k < grid.shape[0])
    keep = ~before & held
    return t[keep], b[keep]


_TRIPLES = [(x, y, z) for z in range(FAN_OUT) for y in range(z) for x in range(y)]


class SoundIndex:
    """Landmarks of many prints, searchable by hash.

    ``add`` many prints, then ``search`` a print: the best-supported videos with
    their scores. Entries are kept as sorted numpy arrays (hash, video, time, bin):
    a library of 10,000 clips of 15 s holds about 10 M entries, 160 MB.
    """

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.counts: list[int] = []  # landmarks per added video (at tempo 1)
        self._sorted: Optional[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = None

    def __len__(self) -> int:
        return len(self.counts)

    def add(self, p: SoundPrint) -> int:
        """Index one print; returns its row number."""
        row = len(self.counts)
        keys, t, b = landmarks(p)
        self._parts.append((keys, np.full(len(keys), row, np.int32), t, b))
        self.counts.append(len(keys))
        self._sorted = None
        return row

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if self._sorted is None:
            if self._parts:
                keys, rows, t, b = (np.concatenate(x) for x in zip(*self._parts))
            else:
                keys, rows, t, b = np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), \
                    np.zeros(0, np.int16)
            order = np.argsort(keys, kind="stable")
            self._sorted = (keys[order], rows[order], t[order], b[order])
            self._parts = [self._sorted]
        return self._sorted

    def search(self, p: SoundPrint, k: int = 10, exclude: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows int64 [<=k], scores float32 [<=k]) of the videos sounding most like ``p``.

        Each shared hash is a vote for (video, pitch shift, tempo): the anchors'
        pitch difference and the spans' ratio. A repost piles its votes on one
        shift and tempo; chance matches scatter. A score is the largest pile
        (with the neighbouring tempo bucket), divided by the geometric mean of
        the two videos' landmark counts: near 1 for the same recording, near 0
        for unrelated ones.
        """
        keys_all, rows_all, span_all, b_all = self._arrays()
        keys, span, b = landmarks(p)
        if not len(keys) or not len(keys_all):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        n_query = len(keys)
        keys, span, b = _probes(keys, span, b)
        lo = np.searchsorted(keys_all, keys, side="left")
        hi = np.searchsorted(keys_all, keys, side="right")
        n = hi - lo
        n[n > max(20, STOP_SHARE * len(keys_all))] = 0  # stop words
        if not n.sum():
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        which = np.repeat(np.arange(len(keys)), n)
        # Positions lo..hi-1 of every kept key, without a Python loop.
        starts = np.repeat(lo - np.cumsum(n) + n, n)
        at = starts + np.arange(len(which))
        rows = rows_all[at].astype(np.int64)
        shift = b[which].astype(np.int64) - b_all[at].astype(np.int64)
        tempo = span[which] - span_all[at]
        ok = (np.abs(shift) <= MAX_SHIFT_BINS) & (np.abs(tempo) <= MAX_TEMPO)
        if exclude is not None:
            ok &= rows != exclude
        rows, shift, tempo = rows[ok], shift[ok], tempo[ok]
        if not len(rows):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        bucket = np.floor(tempo / TEMPO_QUANT).astype(np.int64) + 64
        code = (rows * 64 + shift + 32) * 128 + bucket
        uniq, votes = np.unique(code, return_counts=True)
        nxt = np.minimum(np.searchsorted(uniq, uniq + 1), len(uniq) - 1)
        piles = votes + np.where(uniq[nxt] == uniq + 1, votes[nxt], 0)
        video = uniq // 128 // 64
        # Each video's best pile, and the shift and tempo it voted for.
        order = np.lexsort((-piles, video))
        first = np.ones(len(order), bool)
        first[1:] = video[order][1:] != video[order][:-1]
        top_code = uniq[order][first]
        found, best = video[order][first], piles[order][first].astype(np.float64)
        counts = np.asarray(self.counts, np.float64)[found]
        scores = best / np.sqrt(n_query * np.maximum(counts, 1.0))
        top = np.argsort(-scores, kind="stable")[:k]
        self.last_shift = (top_code[top] // 128 % 64 - 32).astype(np.int64)
        self.last_tempo = ((top_code[top] % 128 - 64 + 0.5) * TEMPO_QUANT).astype(np.float64)
        return found[top], scores[top].astype(np.float32)


def _probes(keys: np.ndarray, span: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each key with its ratio buckets moved by -1..+1: a peak a frame earlier or later
    in another post moves its ratio across a bucket edge."""
    L = RATIO_LEVELS
    r2, r1, base = keys % L, keys // L % L, keys // (L * L)
    out_k, out_s, out_b = [], [], []
    for d1 in PROBE:
        for d2 in PROBE:
            a1, a2 = r1 + d1, r2 + d2
            ok = (a1 >= 0) & (a1 < L) & (a2 >= 0) & (a2 < L)
            out_k.append((base[ok] * L + a1[ok]) * L + a2[ok])
            out_s.append(span[ok])
            out_b.append(b[ok])
    return np.concatenate(out_k), np.concatenate(out_s), np.concatenate(out_b)


def alignment(q: SoundPrint, c: SoundPrint, shift: int, log_tempo: float, tolerance: int = 1) -> float:
    """How strongly ``q``'s peaks line up with ``c``'s at one time offset, once ``c``
    is transposed by ``shift`` bins and played ``exp(log_tempo)`` times slower.

    Every pair of peaks on the same pitch (+-``tolerance`` bins) votes for the time
    offset between them (2-frame buckets, a bucket and its neighbour together). Two
    unrelated clips still pile up votes somewhere — held notes on common pitches —
    so the best pile is measured against the others: (best - mean) / (std + 1) of
    the piles away from it. A repost stands several units clear; chance does not.
    """
    if q.empty or c.empty:
        return 0.0
    cb = c.bins.astype(np.int64) + shift
    ct = c.times.astype(np.float64) * np.exp(log_tempo)
    qb, qt = q.bins.astype(np.int64), q.times.astype(np.float64)
    order = np.argsort(cb, kind="stable")
    cb, ct = cb[order], ct[order]
    diffs = []
    for d in range(-tolerance, tolerance + 1):
        lo = np.searchsorted(cb, qb + d, side="left")
        hi = np.searchsorted(cb, qb + d, side="right")
        n = hi - lo
        if not n.sum():
            continue
        which = np.repeat(np.arange(len(qb)), n)
        at = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(n.sum())
        diffs.append(qt[which] - ct[at])
    if not diffs:
        return 0.0
    buckets = np.floor(np.concatenate(diffs) / 2).astype(np.int64)
    counts = np.bincount(buckets - buckets.min()).astype(np.float64)
    piles = counts[:-1] + counts[1:] if len(counts) > 1 else counts
    best = int(np.argmax(piles))
    rest = np.delete(piles, np.arange(max(0, best - 2), min(len(piles), best + 3)))
    if len(rest) < 5:  # too short an overlap to tell a match from chance
        return 0.0
    return float((piles[best] - rest.mean()) / (rest.std() + 1.0))


@dataclass(frozen=True)
class SoundMatches:
    """Each video's closest sounds: ``neighbours`` int64 [N, k] rows (-1 where fewer)
    and ``scores`` float32 [N, k], best first — the :func:`alignment` strength of the
    video's peaks with the neighbour's (about 4 by chance, 6 and more for a repost)."""

    neighbours: np.ndarray
    scores: np.ndarray


def match_prints(prints: Sequence[SoundPrint], k: int = 10, candidates: int = 20,
                 progress: Optional[Callable[[int, int], None]] = None,
                 cancel: Optional[Callable[[], bool]] = None) -> SoundMatches:
    """Every print against all the others: the landmark index proposes ``candidates``
    per video, :func:`alignment` checks each at the shift and tempo its votes
    named (and one step either side), and the ``k`` best stay."""
    index = SoundIndex()
    for p in prints:
        index.add(p)
    n = len(prints)
    neighbours = np.full((n, k), -1, np.int64)
    scores = np.zeros((n, k), np.float32)
    for q, p in enumerate(prints):
        if cancel is not None and cancel():
            raise Cancelled("sound matching was cancelled")
        rows, _ = index.search(p, k=candidates, exclude=q)
        if len(rows):
            checked = verify(p, [prints[r] for r in rows], index.last_shift, index.last_tempo)
            order = np.argsort(-checked, kind="stable")[:k]
            neighbours[q, : len(order)] = rows[order]
            scores[q, : len(order)] = checked[order]
        if progress is not None and (q % 50 == 0 or q == n - 1):
            progress(q + 1, n)
    return SoundMatches(neighbours, scores)


def verify(q: SoundPrint, others: Sequence[SoundPrint], shifts: np.ndarray, tempos: np.ndarray) -> np.ndarray:
    """float32 [len(others)]: the alignment score of ``q`` with each candidate, at the
    shift and tempo the index proposed, give or take one step of each."""
    out = np.zeros(len(others), np.float32)
    if q.empty:
        return out
    for j, (c, shift, tempo) in enumerate(zip(others, shifts, tempos)):
        if c.empty:
            continue
        out[j] = max(alignment(q, c, int(shift) + ds, float(tempo) + dt)
                     for ds in (-1, 0, 1) for dt in (-TEMPO_QUANT, 0.0, TEMPO_QUANT))
    return out


CORE_MARGIN = 0.5  # alignment units above the data's split for an edge that joins groups
ATTACH_MARGIN = 0.5  # ... and below it for a lone video joining its best group


def cluster_matches(matches: SoundMatches) -> tuple[np.ndarray, float, np.ndarray]:
    """(labels int64 [N], threshold, support float [N]): videos grouped by the sound they
    share, and each video's strongest edge into its own group (0 when alone).

    Edges are symmetric: the mean of both directions' alignment where each lists the
    other, 0.8 of the one direction otherwise. Their strengths are bimodal — reposts
    vs the best chance alignment of unrelated clips — and Otsu's split of them is the
    threshold. Groups are built in two steps so one chance edge cannot chain two
    sounds together: edges a margin above the split join groups (single linkage);
    then a video still alone joins the group of its strongest edge if that edge is a
    margin below the split or better. Labels are arbitrary; alone = its own label.
    A video whose support is below ``threshold + CORE_MARGIN`` belongs to its group
    less surely (:func:`is_sure`).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from reelscope.core.analytics.sounds import _otsu

    n = len(matches.neighbours)
    rows = np.repeat(np.arange(n), matches.neighbours.shape[1])
    cols = matches.neighbours.ravel()
    w = matches.scores.ravel().astype(np.float64)
    ok = (cols >= 0) & (w > 0)
    rows, cols, w = rows[ok], cols[ok], w[ok]
    if not len(w):
        return np.arange(n, dtype=np.int64), float("inf"), np.zeros(n)
    a, b = np.minimum(rows, cols), np.maximum(rows, cols)
    key = a * n + b
    uniq, inverse, seen = np.unique(key, return_inverse=True, return_counts=True)
    total = np.bincount(inverse, weights=w)
    strength = np.where(seen >= 2, total / np.maximum(seen, 1), 0.8 * total)
    ea, eb = uniq // n, uniq % n
    threshold = _otsu(strength)[0] if len(strength) >= 3 else float(strength.max())
    core = strength >= threshold + CORE_MARGIN
    graph = coo_matrix((np.ones(int(core.sum())), (ea[core], eb[core])), shape=(n, n))
    labels = connected_components(graph, directed=False)[1].astype(np.int64)
    size = np.bincount(labels)
    # Lone videos join the group of their strongest edge, strongest edges first.
    order = np.argsort(-strength, kind="stable")
    joined = np.zeros(n, bool)
    for e in order:
        if strength[e] < threshold - ATTACH_MARGIN:
            break
        x, y = int(ea[e]), int(eb[e])
        for lone, other in ((x, y), (y, x)):
            if size[labels[lone]] == 1 and not joined[lone] and size[labels[other]] > 1:
                labels[lone] = labels[other]
                joined[lone] = True
    support = np.zeros(n)
    inside = labels[ea] == labels[eb]
    np.maximum.at(support, ea[inside], strength[inside])
    np.maximum.at(support, eb[inside], strength[inside])
    return labels, float(threshold), support


@dataclass(frozen=True)
class PrintGroups:
    """:func:`group_prints`' answer for N videos: ``labels`` int64 [N] (a video without a
    usable print is alone), ``threshold``, ``sure`` bool [N] (:func:`is_sure`; False when
    alone without a print), ``usable`` — the rows that had a print, in ``matches``' order —
    and ``matches`` among those rows."""

    labels: np.ndarray
    threshold: float
    sure: np.ndarray
    usable: list[int]
    matches: SoundMatches


def group_prints(prints: Sequence[Optional[SoundPrint]],
                 progress: Optional[Callable[[int, int], None]] = None,
                 cancel: Optional[Callable[[], bool]] = None) -> PrintGroups:
    """Match and group the videos that have a non-empty print (:func:`match_prints`,
    :func:`cluster_matches`); the others each stay alone."""
    usable = [i for i, p in enumerate(prints) if p is not None and not p.empty]
    matches = match_prints([prints[i] for i in usable], progress=progress, cancel=cancel)  # type: ignore[misc]
    labels_usable, threshold, support = cluster_matches(matches)
    labels = np.arange(len(prints), dtype=np.int64) + len(usable)  # the rest: alone
    labels[usable] = labels_usable
    sure = np.zeros(len(prints), bool)
    sure[usable] = is_sure(support, threshold)
    return PrintGroups(labels, threshold, sure, usable, matches)


def is_sure(support: np.ndarray, threshold: float) -> np.ndarray:
    """bool [N]: the video is tied to its group as firmly as the edges that build groups
    — what a claim like "this post's 'original sound' is really sound X" needs."""
    return np.asarray(support) >= threshold + CORE_MARGIN


def library_prints(library: "Library", videos: Sequence["Video"],
                   progress: Optional[Callable[[int, int], None]] = None,
                   cancel: Optional[Callable[[], bool]] = None) -> list[Optional[SoundPrint]]:
    """The sound print of each video: from the clip cache, else made from its file
    (and cached). None for a video whose file is gone or unreadable — it is left out
    of matching, not an error: its embedding still stands for it elsewhere."""
    from reelscope.core.ingest.media.decode import decode_audio
    from reelscope.core.ingest.media.errors import MediaError
    from reelscope.core.ingest.media.soundprint import sound_print

    cache = library.cache
    out: list[Optional[SoundPrint]] = []
    for i, v in enumerate(videos):
        if cancel is not None and cancel():
            raise Cancelled("reading the sound prints was cancelled")
        stored = cache.sound(v.content_hash) if v.content_hash else None
        if stored is None:
            try:
                stored = sound_print(decode_audio(v.path)).to_array()
            except (MediaError, OSError, ValueError):
                out.append(None)
                continue
            if v.content_hash and not getattr(library, "read_only", False):
                try:
                    cache.write_sound(v.content_hash, stored)
                except OSError:
                    pass  # a read-only cache: the print is made again next time
        out.append(SoundPrint.from_array(stored))
        if progress is not None and (i % 100 == 0 or i == len(videos) - 1):
            progress(i + 1, len(videos))
    return out
