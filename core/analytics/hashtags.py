"""Hashtag suggestions: a blend of five kinds of evidence, weighed by cross-validation.

Each *member* estimates, for a query video and every tag t of the vocabulary, the
probability that the video carries t:

- ``knn``: the nearest library videos (cosine similarity of embeddings) vote for their
  tags, weighted by similarity; a pseudo-count of the tag's library share keeps a thin
  vote from reaching 0 or 1;
- ``classifier``: one L2 logistic regression per tag on the embedding, fitted jointly
  by L-BFGS (the same objective as one-vs-rest, one optimiser call);
- ``caption``: how often library videos whose caption has the same words carry t
  (the mean over the draft's known words, smoothed towards the tag's share);
- ``author``: how often the author's own library videos carry t (smoothed likewise);
- ``cooccurrence``: how often t goes with the tags the user already chose;
- ``sound``: how often the library videos that use the same sound carry t (the groups
  of :mod:`reelscope.core.analytics.sound_match`; only groups of two or more bank
  videos count: a sound nobody else uses says nothing), smoothed likewise;
- ``prior``: the tag's share of the library.

The suggestion is their weighted mean, over the members a query has evidence for (a
draft without an author, a caption or a shared sound skips those). The weights are not
constants: ``fit`` chooses them by K-fold cross-validation inside the library — every
member is refitted without a fold and scores it, then a coordinate search picks the
weights that maximise precision@3 on the held-out videos (the co-occurrence weight on
the same folds with one of each video's tags given). The folds' precision@3/@5 of the blend and of the two
baselines (the most frequent tags; the neighbours' votes alone) are kept in ``cv_``.

A tag is *generic* (#fyp) when many videos use it and content does not predict it: the
cross-validated content members rank its users barely above its non-users (AUC). Generic
tags are shown apart, with their evidence: the share of the library using them and the
median likes of library videos with and without them.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional, Sequence

import numpy as np

MEMBERS = ("knn", "classifier", "caption", "author", "sound", "cooccurrence", "prior")
LIFT_MEMBERS = ("knn", "classifier", "caption", "author", "sound", "cooccurrence")
BARE_MEMBERS = ("knn", "classifier", "caption", "author", "sound")  # a draft: no tags chosen yet
_WORD = re.compile(r"(?<![#@\w])[^\W_]{2,}", re.UNICODE)


CLASSIFIER_DIMS = 32  # principal directions the per-tag classifier is fitted on


def normalise_tag(tag: str) -> str:
    """``'#FYP '`` -> ``'fyp'``; ``''`` when nothing of a tag is left (the importer's rule)."""
    from reelscope.core.ingest.metadata import normalise_hashtag

    return normalise_hashtag(tag) or ""


def normalised_rows(tags: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    """Each row's distinct normalised tags (:func:`normalise_tag`, empty ones dropped) as
    a sorted tuple. Each distinct tag is normalised once and its string shared: a set per
    row held ~120 MB at 300,000 videos, and normalising every use took seconds."""
    done: dict[str, str] = {}
    out = []
    for row in tags:
        names = set()
        for t in row:
            name = done.get(t)
            if name is None:
                name = done[t] = normalise_tag(t)
            if name:
                names.add(name)
        out.append(tuple(sorted(names)))
    return out


def sound_key(label: Any) -> Optional[Any]:
    """A sound group label as a dict key: None for None or NaN (no group known), an int
    for a whole float (``scores.npz`` stores labels as float64)."""
    if label is None:
        return None
    if isinstance(label, (float, np.floating)):
        return None if np.isnan(label) else int(label)
    return int(label) if isinstance(label, np.integer) else label


def caption_words(text: Optional[str]) -> set[str]:
    """Lower-case words of a caption, without its #hashtags and @mentions."""
    return {w.lower() for w in _WORD.findall(text or "")}


# The cross-validation that sets the blend's weights refits the bank once per fold; past
# this many videos each fold's bank is a random sample of them (a fold's copy of 200,000
# videos' embeddings, tags and captions held over a GB at 300,000 videos).
CV_BANK_ROWS = 50_000


class HashtagSuggester:
    """Blend of neighbour votes, a per-tag classifier, caption words, the author's habits,
    the sound's habits, co-occurrence with chosen tags and the library prior (weights by
    cross-validation).

    Parameters
    ----------
    n_neighbours: library videos that vote.
    min_count: a tag needs this many videos to be suggested.
    max_tags: at most this many (most frequent) tags form the vocabulary.
    C: inverse L2 penalty of the classifier (as in scikit-learn).
    smoothing: the least pseudo-count of the tag's share in the caption, author, sound and
        co-occurrence rates (each tag's own comes from how much those groups differ).
    generic_share: a tag on at least this share of videos can be generic ...
    generic_auc: ... when the content members rank its users above non-users no better than this.
    cv_folds: folds of the weight search (< 2: no search, equal weights of knn and classifier).
    cv_rows: at most this many (random) videos are scored in the search.
    max_fit_rows: the classifier is fitted on at most this many (random) videos.
    random_state: seed for the samples and folds.

    Learned state: ``vocabulary_`` (str [T]), ``prior_`` (float [T], library share),
    ``coef_`` (float [P, T]), ``intercept_`` [T], ``x_mean_``/``x_scale_`` [P], ``weights_``
    (member -> weight), ``generic_`` (bool [T]), ``content_auc_`` (float [T]), ``cv_``
    (dict). The neighbour bank and its counts come from :meth:`attach`.
    """

    def __init__(self, n_neighbours: int = 20, min_count: int = 3, max_tags: int = 200,
                 C: float = 1.0, smoothing: float = 0.5, generic_share: float = 0.05,
                 generic_auc: float = 0.65, cv_folds: int = 5, cv_rows: int = 3000,
                 max_fit_rows: int = 20_000, random_state: int = 0, knn_weight: float = 0.5) -> None:
        self.n_neighbours = n_neighbours
        self.min_count = min_count
        self.max_tags = max_tags
        self.C = C
        self.smoothing = smoothing
        self.generic_share = generic_share
        self.generic_auc = generic_auc
        self.cv_folds = cv_folds
        self.cv_rows = cv_rows
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state
        self.knn_weight = knn_weight  # only for files stored before the blend had weights

    # ---------------------------------------------------------------- fitting
    def fit(self, X: np.ndarray, tags: Sequence[Sequence[str]],
            likes: Optional[Sequence[Optional[float]]] = None,
            authors: Optional[Sequence[Optional[str]]] = None,
            captions: Optional[Sequence[Optional[str]]] = None,
            sounds: Optional[Sequence[Any]] = None,
            rows: Optional[np.ndarray] = None) -> "HashtagSuggester":
        """``X`` float32 [N, D] L2-normalised embeddings; ``tags[i]``, ``likes[i]``,
        ``authors[i]`` (an id), ``captions[i]`` (the post's text) and ``sounds[i]`` (its
        sound group's label, None or NaN when unknown) of video i. ``rows``: the videos
        are ``X[rows]`` instead (the other arguments are theirs); X is not copied."""
        norm = normalised_rows(tags)
        counts: dict[str, int] = {}
        for row in norm:
            for t in row:
                counts[t] = counts.get(t, 0) + 1
        frequent = sorted((t for t, c in counts.items() if c >= self.min_count),
                          key=lambda t: (-counts[t], t))[: self.max_tags]
        self.vocabulary_ = np.array(frequent, dtype=str)
        self.prior_ = np.array([counts[t] / max(1, len(norm)) for t in frequent])
        self._fit_core(X, norm, likes, authors, captions, self.max_fit_rows, sounds, rows)
        self.weights_ = _linear_weights(self.knn_weight)
        self.given_weights_: Optional[dict[str, float]] = None
        self.cv_: dict[str, Any] = {}
        self.content_auc_ = np.full(len(frequent), np.nan)
        if self.cv_folds >= 2 and len(norm) >= 2 * self.cv_folds and len(frequent):
            self._cross_validate(X, norm, likes, authors, captions, sounds, rows)
        self.generic_ = (self.prior_ >= self.generic_share) & ~(self.content_auc_ > self.generic_auc)
        return self

    def _fit_core(self, X: np.ndarray, tags: Sequence[Sequence[str]], likes: Any, authors: Any,
                  captions: Any, max_rows: int, sounds: Any = None,
                  bank_rows: Optional[np.ndarray] = None) -> None:
        """Bank (``X[bank_rows]``, or X) and classifier on the current vocabulary (what
        each fold refits)."""
        self.attach(X, tags, likes, authors, captions, sounds, rows=bank_rows)
        rng = np.random.default_rng(self.random_state)
        rows = np.arange(len(self.Y_))
        if len(rows) > max_rows:
            rows = np.sort(rng.choice(rows, max_rows, replace=False))
        self.knn_a_ = self._neighbour_pseudo_counts(rng)
        Xf = self.bank_vectors(rows).astype(np.float64)
        self.x_mean_ = Xf.mean(axis=0)
        self.x_scale_ = Xf.std(axis=0)
        self.x_scale_[self.x_scale_ < 1e-12] = 1.0
        Xs = (Xf - self.x_mean_) / self.x_scale_
        # The classifier sees the leading principal directions only: a few hundred tags
        # times the full width is more weights than a library has posts to fit them with,
        # and each cross-validation fold refits it. Folded back: coef_ stays [P, T].
        basis = np.linalg.svd(Xs, full_matrices=False)[2][:CLASSIFIER_DIMS].T  # [P, k]
        coef, self.intercept_ = fit_multilabel_logistic(Xs @ basis, self.Y_[rows].astype(np.float64), self.C)
        self.coef_ = basis @ coef

    def _neighbour_pseudo_counts(self, rng: np.random.Generator, sample: int = 2000) -> np.ndarray:
        """float [T]: :func:`_pseudo_counts` with the bank's neighbourhoods (of up to
        ``sample`` videos, each without itself) as the groups."""
        n = len(self.Y_)
        if n < 3:
            return np.full(len(self.prior_), 1e4)
        rows = np.sort(rng.choice(n, min(n, sample), replace=False))
        idx, _ = nearest(self.bank_vectors(rows), self.X_, self.n_neighbours, rows, self.bank_rows_)
        counts = self.Y_[idx].sum(axis=1).astype(np.float64)  # [S, T]
        return _pseudo_counts(counts, np.full(len(rows), float(idx.shape[1])), self.smoothing)

    def attach(self, X: np.ndarray, tags: Sequence[Sequence[str]],
               likes: Optional[Sequence[Optional[float]]] = None,
               authors: Optional[Sequence[Optional[str]]] = None,
               captions: Optional[Sequence[Optional[str]]] = None,
               sounds: Optional[Sequence[Any]] = None,
               rows: Optional[np.ndarray] = None) -> "HashtagSuggester":
        """Set the bank: the library videos that vote, and the caption, author, sound and
        co-occurrence counts (after :meth:`from_arrays`; authors, captions and sounds —
        each video's sound group label, None/NaN when unknown — may be None).

        ``rows``: the bank is ``X[rows]`` (the other arguments are theirs), searched in
        place: at 300,000 videos a copy of the tagged videos' embeddings is 300 MB."""
        self.X_ = np.asarray(X, dtype=np.float32)
        self.bank_rows_ = None if rows is None else np.asarray(rows, dtype=np.int64)
        n = len(self.X_) if rows is None else len(self.bank_rows_)
        column = {t: j for j, t in enumerate(self.vocabulary_.tolist())}
        self.Y_ = np.zeros((n, len(column)), dtype=bool)
        seen: dict[str, Optional[int]] = {}  # each distinct tag normalised once (537k uses at 300k videos)
        for i, row in enumerate(tags):
            for t in row:
                j = seen[t] if t in seen else seen.setdefault(t, column.get(normalise_tag(t)))
                if j is not None:
                    self.Y_[i, j] = True
        self.likes_ = np.array([np.nan if v is None else float(v) for v in
                                (likes if likes is not None else [None] * n)])
        self.tag_n_ = self.Y_.sum(axis=0, dtype=np.float64)
        self.cooc_ = np.zeros((len(column), len(column)))  # [T, T], a block of videos at a time
        for s in range(0, n, 32_768):  # float32 holds these 0/1 sums exactly (< 2^24 videos)
            Yb = self.Y_[s : s + 32_768].astype(np.float32)
            self.cooc_ += Yb.T @ Yb
        self.author_of_, self.author_counts_, self.author_n_ = _group_counts(
            [[a] if a is not None else [] for a in (authors or [None] * n)], self.Y_)
        shared: dict[str, str] = {}  # each word's string once, each caption's words a sorted tuple
        words = [tuple(sorted(shared.setdefault(w, w) for w in caption_words(c)))
                 for c in (captions or [None] * n)]
        self.words_of_, self.word_counts_, self.word_n_ = _group_counts(words, self.Y_, min_count=2)
        # how far each group's rate is pulled to the tag's share: per tag, from how much
        # the groups really differ (an author's own tag: little; #fyp: to the share)
        self.author_a_ = _pseudo_counts(self.author_counts_, self.author_n_, self.smoothing)
        self.word_a_ = _pseudo_counts(self.word_counts_, self.word_n_, self.smoothing)
        # a sound only one bank video uses is no group: min_count=2
        self.bank_sound_ = [sound_key(s) for s in (sounds if sounds is not None else [None] * n)]
        self.sound_of_, self.sound_counts_, self.sound_n_ = _group_counts(
            [[s] if s is not None else [] for s in self.bank_sound_], self.Y_, min_count=2)
        self.sound_a_ = _pseudo_counts(self.sound_counts_, self.sound_n_, self.smoothing)
        self.cooc_a_ = _pseudo_counts(self.cooc_, self.tag_n_, self.smoothing)
        self.bank_author_ = [a for a in (authors or [None] * n)]
        self.bank_words_ = words
        self.like_with_, self.like_without_ = _likes_with_without(self.Y_, self.likes_)
        return self

    def bank_vectors(self, rows: np.ndarray) -> np.ndarray:
        """float32 [len(rows), D]: the embeddings of bank videos ``rows`` (a copy)."""
        return self.X_[rows if self.bank_rows_ is None else self.bank_rows_[rows]]

    # ------------------------------------------------------------- predicting
    def members(self, X: np.ndarray, exclude: Optional[Sequence[int]] = None,
                authors: Optional[Sequence[Optional[str]]] = None,
                captions: Optional[Sequence[Optional[str]]] = None,
                given: Optional[Sequence[Sequence[str]]] = None,
                sounds: Optional[Sequence[Any]] = None) -> dict[str, Any]:
        """Each member's per-tag probabilities for M videos.

        ``X`` float32 [M, D]; ``exclude[i]`` a bank row that must not count for video i
        (itself, for a library video), or -1; ``authors``/``captions``/``given`` (tags the
        user chose)/``sounds`` (sound group labels) per video, or None. A library video
        without a given sound (``sounds`` None) has its bank row's. Returns float [M, T]
        per member name, ``available`` (member -> bool [M]), ``sound_hits`` (per video the
        tag counts float [T] of its sound group without itself, or None) and the
        neighbours as ``idx`` int [M, K] / ``sim`` float [M, K].
        """
        X = np.asarray(X, dtype=np.float32)
        m, t = len(X), len(self.prior_)
        ex = np.full(m, -1) if exclude is None else np.asarray(exclude, dtype=int)
        idx, sim = nearest(X, self.X_, self.n_neighbours, None if exclude is None else ex,
                           self.bank_rows_)
        w = np.clip(sim, 0, None).astype(np.float64)  # [M, K]
        votes = np.empty((m, t))
        for s in range(0, m, 512):  # bounded [512, K, T] gather
            votes[s:s + 512] = np.einsum("mk,mkt->mt", w[s:s + 512], self.Y_[idx[s:s + 512]])
        if self.knn_a_ is None:  # files stored before: one pseudo-vote of the share
            knn = (votes + self.prior_) / (w.sum(axis=1, keepdims=True) + 1.0)
        else:  # the similarity-weighted rate counts as K votes, shrunk like a group's rate
            k = idx.shape[1]
            rate = votes / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
            knn = (k * rate + self.knn_a_ * self.prior_) / (k + self.knn_a_)
        out: dict[str, Any] = {"knn": knn}
        z = ((X.astype(np.float64) - self.x_mean_) / self.x_scale_) @ self.coef_ + self.intercept_
        out["classifier"] = _sigmoid(z)
        out["prior"] = np.broadcast_to(self.prior_, (m, t))
        avail = {"knn": np.ones(m, bool), "classifier": np.ones(m, bool), "prior": np.ones(m, bool)}
        column = {v: j for j, v in enumerate(self.vocabulary_.tolist())}
        rows: dict[str, list[tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]]] = {
            "author": [], "caption": [], "cooccurrence": [], "sound": []}
        for i in range(m):
            own = self.Y_[ex[i]].astype(np.float64) if ex[i] >= 0 else None
            a = authors[i] if authors is not None else None
            g = self.author_of_.get(a) if a is not None else None
            same = own is not None and self.bank_author_[ex[i]] == a
            rows["author"].append(_rates(self.author_counts_, self.author_n_, [] if g is None else [g],
                                         own if same else None))
            known = [x for x in caption_words(captions[i]) if x in self.words_of_] \
                if captions is not None else []
            rows["caption"].append(_rates(
                self.word_counts_, self.word_n_, [self.words_of_[x] for x in known], own,
                self_words=None if own is None else [x in self.bank_words_[ex[i]] for x in known]))
            chosen = sorted({column[x] for x in (normalise_tag(y) for y in (given[i] if given else ()))
                             if x in column})
            rows["cooccurrence"].append(_rates(self.cooc_, self.tag_n_, chosen, own, diagonal=True))
            s = sound_key(sounds[i]) if sounds is not None else \
                (self.bank_sound_[ex[i]] if ex[i] >= 0 else None)
            g = self.sound_of_.get(s) if s is not None else None
            rows["sound"].append(_rates(self.sound_counts_, self.sound_n_, [] if g is None else [g],
                                        own if own is not None and self.bank_sound_[ex[i]] == s else None))
        for name, a in (("author", self.author_a_), ("caption", self.word_a_),
                        ("cooccurrence", self.cooc_a_), ("sound", self.sound_a_)):
            out[name], avail[name] = self._smooth(rows[name], a, m)
        out["available"] = avail
        out["sound_hits"] = [None if h is None else h[0] for h, _ in rows["sound"]]
        out["idx"], out["sim"] = idx, sim
        return out

    def _smooth(self, parts: list, a: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        """[M, T]: the mean over the query's groups (its author, words, chosen tags, sound) of
        each group's rate shrunk to the tag's share by ``a`` [T] pseudo-videos; the share
        where a video has no group; and bool [M] (a group or not)."""
        p, ok = np.empty((m, len(self.prior_))), np.zeros(m, bool)
        for i, (hits, n) in enumerate(parts):
            if hits is None:
                p[i] = self.prior_
                continue
            ok[i] = True
            rates = (hits + a * self.prior_) / (n[:, None] + a)
            counted = ~np.isnan(rates)
            p[i] = np.where(counted.any(axis=0),
                            np.nansum(rates, axis=0) / np.maximum(counted.sum(axis=0), 1), self.prior_)
        return p, ok

    def probabilities(self, X: np.ndarray, exclude: Optional[Sequence[int]] = None,
                      authors: Optional[Sequence[Optional[str]]] = None,
                      captions: Optional[Sequence[Optional[str]]] = None,
                      given: Optional[Sequence[Sequence[str]]] = None,
                      sounds: Optional[Sequence[Any]] = None) -> dict[str, Any]:
        """:meth:`members` plus ``combined`` float [M, T], their blend by ``weights_``."""
        P = self.members(X, exclude, authors, captions, given, sounds)
        P["combined"] = blend(P, P["available"], self.weights_)
        chose = P["available"]["cooccurrence"]
        if self.given_weights_ is not None and chose.any():
            sub = {m: P[m][chose] for m in MEMBERS}
            avail = {m: P["available"][m][chose] for m in MEMBERS}
            P["combined"][chose] = blend(sub, avail, self.given_weights_)
        return P

    def suggest(self, X: np.ndarray, k: int = 10, exclude: Optional[Sequence[int]] = None,
                authors: Optional[Sequence[Optional[str]]] = None,
                captions: Optional[Sequence[Optional[str]]] = None,
                given: Optional[Sequence[Sequence[str]]] = None,
                sounds: Optional[Sequence[Any]] = None) -> list[list[dict[str, Any]]]:
        """Top-``k`` tags for each of M videos (``X`` float32 [M, D]), most probable first.

        Each suggestion: ``tag`` (no '#'), ``score`` and ``probability`` (the blend),
        ``lift`` (p / library share), ``share``, ``generic``, ``similar_videos`` (neighbours
        that used it), ``median_likes`` (of those neighbours; None when unknown),
        ``author_videos`` (the author's library videos that used it), ``sound_videos``
        (library videos on the same sound that used it; None without a shared sound) and,
        for all tags,
        ``median_likes_with`` / ``median_likes_without`` (library videos with / without it).
        """
        P = self.probabilities(X, exclude, authors, captions, given, sounds)
        combined = P["combined"]
        sound_hits = P["sound_hits"]
        out = []
        for i in range(len(combined)):
            order = np.lexsort((-self.prior_, -combined[i]))[:k]
            used = self.Y_[P["idx"][i]]  # [K, T]
            a = authors[i] if authors is not None else None
            g = self.author_of_.get(a) if a is not None else None
            row = []
            for j in order:
                users = P["idx"][i][used[:, j]]
                lk = self.likes_[users]
                lk = lk[~np.isnan(lk)]
                row.append({
                    "tag": str(self.vocabulary_[j]),
                    "score": float(combined[i, j]),
                    "probability": float(combined[i, j]),
                    "lift": float(combined[i, j] / self.prior_[j]),
                    "share": float(self.prior_[j]),
                    "generic": bool(self.generic_[j]),
                    "similar_videos": int(len(users)),
                    "median_likes": float(np.median(lk)) if len(lk) else None,
                    "author_videos": int(self.author_counts_[g, j]) if g is not None else None,
                    "sound_videos": None if sound_hits[i] is None else int(sound_hits[i][j]),
                    "median_likes_with": _none_nan(self.like_with_[j]),
                    "median_likes_without": _none_nan(self.like_without_[j]),
                })
            out.append(row)
        return out

    def generic_tags(self) -> list[dict[str, Any]]:
        """The generic tags with their evidence: share, content AUC, median likes with/without."""
        return [{"tag": str(self.vocabulary_[j]), "share": float(self.prior_[j]),
                 "content_auc": _none_nan(self.content_auc_[j]),
                 "median_likes_with": _none_nan(self.like_with_[j]),
                 "median_likes_without": _none_nan(self.like_without_[j])}
                for j in np.flatnonzero(self.generic_)]

    # ------------------------------------------------------ cross-validation
    def _cross_validate(self, X: np.ndarray, tags: Sequence[Sequence[str]], likes: Any, authors: Any,
                        captions: Any, sounds: Any = None, at: Optional[np.ndarray] = None) -> None:
        """Out-of-fold member scores -> ``weights_``, ``cv_`` and ``content_auc_``."""
        M, A, Y, given = self.out_of_fold(X, tags, likes, authors, captions, sounds, at)
        column = {t: j for j, t in enumerate(self.vocabulary_.tolist())}
        query = np.arange(len(Y))
        self._choose(M, A, Y, given, column, query)

    def out_of_fold(self, X: np.ndarray, tags: Sequence[Sequence[str]], likes: Any, authors: Any,
                    captions: Any, sounds: Any = None, at: Optional[np.ndarray] = None
                    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray, list[list[str]]]:
        """Members' scores of up to ``cv_rows`` videos, each from a model fitted without
        its fold: (member -> float [Q, T], member -> bool [Q], truth bool [Q, T], the tag
        each video was given in the co-occurrence scenario). ``at``: video i is ``X[at[i]]``."""
        at = np.arange(len(X)) if at is None else np.asarray(at, dtype=np.int64)
        rng = np.random.default_rng(self.random_state)
        n = len(tags)
        query = rng.permutation(n)[: self.cv_rows]
        column = {t: j for j, t in enumerate(self.vocabulary_.tolist())}
        # one tag of each video with >= 2 vocabulary tags plays "already chosen"
        chosen = [sorted(t for t in tags[i] if t in column) for i in query]
        given = [[c[int(rng.integers(len(c)))]] if len(c) >= 2 else [] for c in chosen]
        parts: dict[str, list[np.ndarray]] = {m: [] for m in MEMBERS}
        avail: dict[str, list[np.ndarray]] = {m: [] for m in MEMBERS}
        order = []
        bank_rng = np.random.default_rng([self.random_state, 1])
        for fold in np.array_split(np.arange(len(query)), self.cv_folds):
            rows = query[fold]
            train = np.setdiff1d(np.arange(n), rows)
            if len(train) > CV_BANK_ROWS:  # each fold's counts and words: bounded at scale
                train = np.sort(bank_rng.choice(train, CV_BANK_ROWS, replace=False))
            sub = HashtagSuggester(**self._params())
            sub.vocabulary_, sub.prior_ = self.vocabulary_, self.prior_
            pick = (lambda seq: None if seq is None else [seq[i] for i in train])
            sub._fit_core(X, [tags[i] for i in train], pick(likes), pick(authors),
                          pick(captions), min(self.max_fit_rows, 5000), pick(sounds), at[train])
            pick = (lambda seq: None if seq is None else [seq[i] for i in rows])
            P = sub.members(X[at[rows]], authors=pick(authors), captions=pick(captions),
                            given=[given[f] for f in fold], sounds=pick(sounds))
            for name in MEMBERS:
                parts[name].append(P[name])
                avail[name].append(P["available"][name])
            order.append(fold)
        at = np.argsort(np.concatenate(order))
        M = {m: np.concatenate(parts[m])[at] for m in MEMBERS}
        A = {m: np.concatenate(avail[m])[at] for m in MEMBERS}
        Y = np.zeros((len(query), len(column)), dtype=bool)
        for r, i in enumerate(query):
            for t in tags[i]:
                if t in column:
                    Y[r, column[t]] = True
        return M, A, Y, given

    def _choose(self, M: dict[str, np.ndarray], A: dict[str, np.ndarray], Y: np.ndarray,
                given: list[list[str]], column: dict[str, int], query: np.ndarray) -> None:
        weights = stack_weights(M, A, Y, BARE_MEMBERS)
        has_given = np.array([bool(g) for g in given])
        cv: dict[str, Any] = {"videos": int(len(query)), "folds": int(self.cv_folds)}
        weights["cooccurrence"] = 0.0
        if has_given.any():
            gi = np.flatnonzero(has_given)
            G = {m: M[m][gi] for m in MEMBERS}
            GA = {m: A[m][gi] for m in MEMBERS}
            drop = np.zeros((len(gi), Y.shape[1]), dtype=bool)
            for r, i in enumerate(gi):
                drop[r, column[given[i][0]]] = True
            Yg = Y[gi] & ~drop
            with_given = stack_weights(G, GA, Yg, BARE_MEMBERS + ("cooccurrence",), mask=drop)
            cv["one_tag_given"] = {
                "videos": int(len(gi)),
                "blend": _precisions(blend(G, GA, with_given), Yg, drop),
                "blend_without_cooccurrence": _precisions(blend(G, GA, weights), Yg, drop)}
            # the co-occurrence weight joins the draft's weights only where it helps there
            if cv["one_tag_given"]["blend"]["precision@3"] >= \
                    cv["one_tag_given"]["blend_without_cooccurrence"]["precision@3"]:
                self.given_weights_ = with_given
        self.weights_ = weights
        cv["blend"] = _precisions(blend(M, A, weights), Y)
        cv["knn"] = _precisions(M["knn"], Y)
        cv["frequency"] = _precisions(M["prior"], Y)
        self.cv_ = cv
        content = 0.5 * (M["knn"] + M["classifier"])
        self.content_auc_ = np.array([_auc(content[:, j], Y[:, j]) for j in range(Y.shape[1])])

    def _params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("n_neighbours", "min_count", "max_tags", "C",
                                              "smoothing", "generic_share", "generic_auc",
                                              "cv_folds", "cv_rows", "max_fit_rows",
                                              "random_state", "knn_weight")}

    # ------------------------------------------------------------ persistence
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Fitted state without the neighbour bank (re-attach it with :meth:`attach`)."""
        return {"params": np.array(json.dumps(self._params())), "vocabulary": self.vocabulary_,
                "prior": self.prior_, "coef": self.coef_, "intercept": self.intercept_,
                "x_mean": self.x_mean_, "x_scale": self.x_scale_,
                "weights": np.array(json.dumps(self.weights_)),
                "given_weights": np.array(json.dumps(self.given_weights_)), "knn_a": self.knn_a_,
                "cv": np.array(json.dumps(self.cv_)), "generic": self.generic_,
                "content_auc": self.content_auc_}

    @classmethod
    def from_arrays(cls, arrays: Any) -> "HashtagSuggester":
        params = json.loads(str(arrays["params"]))
        known = set(cls().__dict__)
        self = cls(**{k: v for k, v in params.items() if k in known})
        self.vocabulary_ = np.asarray(arrays["vocabulary"]).astype(str)
        self.knn_a_ = np.asarray(arrays["knn_a"]) if "knn_a" in set(getattr(arrays, "files", arrays)) else None
        for key in ("prior", "coef", "intercept", "x_mean", "x_scale"):
            setattr(self, f"{key}_", np.asarray(arrays[key]))
        files = set(getattr(arrays, "files", arrays))
        if "weights" in files:  # older files: knn and classifier, the old share rule
            self.weights_ = json.loads(str(arrays["weights"]))
            self.given_weights_ = json.loads(str(arrays["given_weights"]))
            self.cv_ = json.loads(str(arrays["cv"]))
            self.generic_ = np.asarray(arrays["generic"]).astype(bool)
            self.content_auc_ = np.asarray(arrays["content_auc"], dtype=np.float64)
        else:
            self.weights_ = _linear_weights(self.knn_weight)
            self.given_weights_ = None
            self.cv_ = {}
            self.generic_ = self.prior_ >= params.get("generic_share", 0.2)
            self.content_auc_ = np.full(len(self.prior_), np.nan)
        return self


# --------------------------------------------------------------------------- blending
def blend(members: dict[str, np.ndarray], available: dict[str, np.ndarray],
          weights: dict[str, float]) -> np.ndarray:
    """float [M, T] blend of the members' probabilities.

    ``z = intercept + w_prior · logit(prior) + Σ_m w_m · lift_m⁺ + w_m_down · lift_m⁻``
    with ``lift_m = logit p_m - logit prior`` split into its parts above and below 0, over
    the members available for each video (a member without evidence adds nothing), and
    the blend is ``sigmoid(z)``. Two weights per member because a member's "more than
    usual" and "less than usual" are not equally telling: a sound's habits raise its
    challenge tag, while the author's never having used that tag says little against it.
    Files stored before the split have one weight (``w_m_down = w_m``); files stored
    before the blend (``form: linear``) average the probabilities instead.
    """
    if weights.get("form") == "linear":
        return weights["knn"] * members["knn"] + weights["classifier"] * members["classifier"]
    base = _logit(np.asarray(members["prior"], dtype=np.float64))
    z = weights.get("intercept", 0.0) + weights.get("prior", 1.0) * base
    for name in LIFT_MEMBERS:
        up = weights.get(name, 0.0)
        down = weights.get(f"{name}_down", up)
        if up or down:
            lift = available[name][:, None] * (_logit(members[name]) - base)
            z = z + up * np.maximum(lift, 0) + down * np.minimum(lift, 0)
    return _sigmoid(z)


def stack_weights(members: dict[str, np.ndarray], available: dict[str, np.ndarray],
                  truth: np.ndarray, names: Sequence[str], C: float = 1.0,
                  mask: Optional[np.ndarray] = None) -> dict[str, float]:
    """The :func:`blend` weights of ``names`` that fit out-of-fold member scores best: a
    logistic regression of ``truth`` (bool [M, T]) on the log-odds lifts, each split into
    its parts above and below 0 (stacking); pairs where ``mask`` is True (tags already
    chosen) are left out."""
    base = _logit(np.asarray(members["prior"], dtype=np.float64))
    lifts = [available[m][:, None] * (_logit(members[m]) - base) for m in names]
    cols = [base] + [np.maximum(x, 0) for x in lifts] + [np.minimum(x, 0) for x in lifts]
    F = np.stack([np.broadcast_to(c, truth.shape) for c in cols], axis=-1).reshape(-1, len(cols))
    y = truth.reshape(-1).astype(np.float64)
    if mask is not None:
        keep = ~mask.reshape(-1)
        F, y = F[keep], y[keep]
    W, b = fit_multilabel_logistic(F, y[:, None], C)
    k = len(names)
    return {"intercept": float(b[0]), "prior": float(W[0, 0]),
            **{m: float(W[i + 1, 0]) for i, m in enumerate(names)},
            **{f"{m}_down": float(W[k + i + 1, 0]) for i, m in enumerate(names)}}


def precision_at(scores: np.ndarray, truth: np.ndarray, k: int,
                 mask: Optional[np.ndarray] = None) -> float:
    """Mean share of the top ``k`` of ``scores`` [M, T] that ``truth`` (bool [M, T]) holds;
    tags where ``mask`` is True are never suggested (already chosen)."""
    if len(scores) == 0:
        return float("nan")
    s = np.where(mask, -np.inf, scores) if mask is not None else scores
    k = min(k, s.shape[1])
    top = np.argpartition(-s, k - 1, axis=1)[:, :k]
    return float(np.take_along_axis(truth, top, axis=1).sum(axis=1).mean() / k)


def _precisions(scores: np.ndarray, truth: np.ndarray, mask: Optional[np.ndarray] = None
                ) -> dict[str, float]:
    return {f"precision@{k}": round(precision_at(scores, truth, k, mask), 4) for k in (3, 5)}


# --------------------------------------------------------------------------- helpers
def _group_counts(groups: Sequence[Sequence[Any]], Y: np.ndarray, min_count: int = 1
                  ) -> tuple[dict[Any, int], np.ndarray, np.ndarray]:
    """key -> row, tag counts float [G, T] and video counts [G] of each key's videos
    (``Y`` [N, T] bool or 0/1)."""
    n_of: dict[Any, int] = {}
    for keys in groups:
        for k in keys:
            n_of[k] = n_of.get(k, 0) + 1
    index = {k: j for j, k in enumerate(sorted(k for k, c in n_of.items() if c >= min_count))}
    counts = np.zeros((len(index), Y.shape[1]))
    n = np.zeros(len(index))
    for i, keys in enumerate(groups):
        for k in keys:
            j = index.get(k)
            if j is not None:
                counts[j] += Y[i]
                n[j] += 1
    return index, counts, n


def _pseudo_counts(counts: np.ndarray, n: np.ndarray, floor: float) -> np.ndarray:
    """float [T]: per tag, the beta-binomial prior strength ``a = (1 - ρ) / ρ`` whose
    intra-group correlation ρ is the method-of-moments estimate from groups' rates
    (``counts`` [G, T] of ``n`` [G] videos); at least ``floor``, 1e4 when groups differ
    no more than chance."""
    N = n.sum()
    if len(n) < 2 or N <= 0:
        return np.full(counts.shape[1], 1e4)
    p = np.clip(counts.sum(axis=0) / N, 1e-9, 1 - 1e-9)
    S = np.zeros(counts.shape[1])
    for s in range(0, len(n), 4096):  # a block of groups at a time: 50,000 caption words x 200 tags
        m = n[s : s + 4096, None]
        S += (m * (counts[s : s + 4096] / np.maximum(m, 1) - p) ** 2).sum(axis=0)
    S /= p * (1 - p)
    g = float((n > 0).sum())
    n0 = N - (n ** 2).sum() / N
    rho = (S - (g - 1)) / max(n0 - (g - 1), 1e-9)
    return np.clip((1 - rho) / np.clip(rho, 1e-4, None), floor, 1e4)


def _rates(counts: np.ndarray, n: np.ndarray, groups: Sequence[int], own: Optional[np.ndarray],
           self_words: Optional[Sequence[bool]] = None, diagonal: bool = False
           ) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """(tag counts [G, T], videos [G]) of the query's groups, the query's own bank row
    taken out; ``diagonal``: a chosen tag says nothing about itself (NaN)."""
    if not groups:
        return None, None
    hits = counts[list(groups)].copy()
    size = n[list(groups)].copy()
    if own is not None:
        inside = np.ones(len(groups), bool) if self_words is None else np.asarray(self_words, bool)
        if diagonal:
            inside = own[list(groups)] > 0
        hits[inside] -= own
        size[inside] -= 1
    if diagonal:
        hits[np.arange(len(groups)), list(groups)] = np.nan
    keep = size > 0
    if not keep.any():
        return None, None
    return hits[keep], size[keep]


def _likes_with_without(Y: np.ndarray, likes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median likes of the bank videos with and without each tag (NaN when none)."""
    ok = ~np.isnan(likes)
    with_, without = np.full(Y.shape[1], np.nan), np.full(Y.shape[1], np.nan)
    for j in range(Y.shape[1]):
        a, b = likes[ok & Y[:, j]], likes[ok & ~Y[:, j]]
        if len(a):
            with_[j] = np.median(a)
        if len(b):
            without[j] = np.median(b)
    return with_, without


def _auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties half); NaN if one class."""
    from scipy.stats import rankdata

    n1 = int(positive.sum())
    n0 = len(positive) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(score)
    return float((r[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _none_nan(x: float) -> Optional[float]:
    return None if np.isnan(x) else float(x)


def nearest(Q: np.ndarray, X: np.ndarray, k: int, exclude: Optional[Sequence[int]] = None,
            rows: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine top-k of rows of ``Q`` [M, D] among rows of ``X`` [N, D] (both unit rows).

    Returns ``idx`` int [M, k'] and ``sim`` float32 [M, k'] most similar first,
    k' = min(k, N - 1 if exclude else N); ``exclude[i]`` (or -1) is never returned for row i.
    ``rows``: search ``X[rows]`` only (not copied); ``idx`` and ``exclude`` count in it.
    """
    from reelscope.core.analytics.vector_index import exact_top_k

    n = len(X) if rows is None else len(rows)
    if exclude is None:
        return exact_top_k(Q, X, max(1, min(k, n)), rows=rows)
    k = max(1, min(k, n - 1))
    idx, sim = exact_top_k(Q, X, k + 1, rows=rows)
    drop = idx == np.asarray(exclude)[:, None]
    drop[~drop.any(axis=1), -1] = True  # not among the top k+1: drop the (k+1)-th instead
    keep = ~drop
    return idx[keep].reshape(len(Q), k), sim[keep].reshape(len(Q), k)


def fit_multilabel_logistic(X: np.ndarray, Y: np.ndarray, C: float = 1.0,
                            max_iter: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Independent L2 logistic regressions for T labels, optimised together by L-BFGS.

    Minimises ``Σ_t [ C · Σ_i log(1 + exp(-s_it z_it)) + ½‖w_t‖² ]`` with
    ``z = X W + b`` and ``s = 2Y - 1`` (scikit-learn's objective per label).
    ``X`` float64 [N, P], ``Y`` float64 {0,1} [N, T]; returns ``W`` [P, T], ``b`` [T].
    """
    from scipy.optimize import minimize
    from threadpoolctl import threadpool_limits

    n, p = X.shape
    t = Y.shape[1]
    if t == 0:
        return np.zeros((p, 0)), np.zeros(0)
    prior = np.clip(Y.mean(axis=0), 1e-3, 1 - 1e-3)
    scale = 1.0 / (C * n)  # the objective divided by C·N keeps gradients O(1)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W, b = theta[: p * t].reshape(p, t), theta[p * t:]
        Z = X @ W + b
        value = (np.logaddexp(0, Z) - Y * Z).sum() / n + 0.5 * scale * (W * W).sum()
        G = (_sigmoid(Z) - Y) / n
        grad = np.concatenate([(X.T @ G + scale * W).ravel(), G.sum(axis=0)])
        return float(value), grad

    theta0 = np.concatenate([np.zeros(p * t), np.log(prior / (1 - prior))])
    # Hundreds of small products: BLAS threads only add hand-offs (10x slower on a busy
    # 2-core machine, measured), so one thread does them.
    with threadpool_limits(1):
        res = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return res.x[: p * t].reshape(p, t), res.x[p * t:]


def _linear_weights(knn_weight: float) -> dict[str, Any]:
    """The blend before cross-validation chose one: the mean of neighbour vote and classifier."""
    return {"form": "linear", "knn": knn_weight, "classifier": 1 - knn_weight}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0, -z))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p) - np.log1p(-p)


# ------------------------------------------------------------------------ evaluation
MAX_HELD_OUT = 5000  # drafts evaluate_hashtags scores at most


def evaluate_hashtags(X: np.ndarray, tags: Sequence[Sequence[str]],
                      likes: Optional[Sequence[Optional[float]]] = None,
                      ks: Sequence[int] = (1, 3, 5, 10), test_size: float = 0.2,
                      random_state: int = 0,
                      authors: Optional[Sequence[Optional[str]]] = None,
                      captions: Optional[Sequence[Optional[str]]] = None,
                      sounds: Optional[Sequence[Any]] = None,
                      rows: Optional[np.ndarray] = None,
                      **params: Any) -> dict[str, Any]:
    """Precision@k and recall@k on held-out videos that have at least one tag, each
    treated as a draft: its embedding, author, caption (without hashtags) and sound
    group known. ``rows``: the videos are ``X[rows]`` (the other arguments are theirs),
    so a caller need not copy X.

    Methods: ``combined`` (the suggester's blend), ``knn`` and ``classifier`` alone, and
    the ``frequency`` baseline (the library's most frequent tags for every video). Recall
    counts all of a video's tags, including those too rare to be in the vocabulary.
    """
    X = np.asarray(X, dtype=np.float32)
    at = np.arange(len(X)) if rows is None else np.asarray(rows, dtype=int)
    norm = normalised_rows(tags)
    n = len(norm)
    rng = np.random.default_rng(random_state)
    order = rng.permutation(n)
    n_test = max(1, int(round(test_size * n)))
    # At most MAX_HELD_OUT drafts are scored (a random sample of the held-out share): the
    # precision of 5,000 drafts is known to about +-0.01, and scoring 50,000 held [M, T]
    # matrices of every member at once (gigabytes at 300,000 videos).
    test = np.sort([i for i in order[:n_test][:MAX_HELD_OUT] if norm[i]]).astype(int)
    train = np.sort(order[n_test:])

    def pick(seq: Optional[Sequence[Any]], rows: np.ndarray) -> Optional[list[Any]]:
        return None if seq is None else [seq[i] for i in rows]

    model = HashtagSuggester(random_state=random_state, **params).fit(
        X, [norm[i] for i in train], pick(likes, train), pick(authors, train),
        pick(captions, train), pick(sounds, train), rows=at[train])
    out: dict[str, Any] = {"n_train": int(len(train)), "n_test": int(len(test)),
                           "vocabulary": int(len(model.vocabulary_)), "methods": {},
                           "weights": model.weights_}
    if len(test) == 0 or len(model.vocabulary_) == 0:
        return out
    kmax = max(ks)
    parts: dict[str, list[np.ndarray]] = {"combined": [], "knn": [], "classifier": []}
    for start in range(0, len(test), 1000):  # [1000, T] per member at a time
        batch = test[start : start + 1000]
        P = model.probabilities(X[at[batch]], authors=pick(authors, batch), captions=pick(captions, batch),
                                sounds=pick(sounds, batch))
        for name in parts:
            parts[name].append(_ranked(P[name], model.prior_, kmax))
    rankings = {name: np.concatenate(ranked) for name, ranked in parts.items()}
    rankings["frequency"] = np.tile(np.argsort(-model.prior_, kind="stable")[:kmax],
                                    (len(test), 1))
    vocab = model.vocabulary_.tolist()
    truth = [norm[i] for i in test]
    for name, ranked in rankings.items():
        row: dict[str, float] = {}
        for k in ks:
            hits = np.array([len({vocab[j] for j in r[:k]}.intersection(t)) for r, t in zip(ranked, truth)])
            row[f"precision@{k}"] = float(np.mean(hits / k))
            row[f"recall@{k}"] = float(np.mean(hits / np.array([len(t) for t in truth])))
        out["methods"][name] = row
    return out


def _ranked(p: np.ndarray, prior: np.ndarray, k: int) -> np.ndarray:
    """int [M, k]: the columns of ``p`` [M, T] by decreasing value, ties to the frequent tag."""
    key = p - 1e-12 * (np.argsort(np.argsort(-prior, kind="stable")) / max(1, len(prior)))
    return np.argsort(-key, axis=1, kind="stable")[:, :k]


def hashtag_table(tags: Sequence[Sequence[str]], likes: Sequence[Optional[float]],
                  top: int = 20, min_count: int = 2) -> list[dict[str, Any]]:
    """The library's most used tags with their engagement.

    Per tag: ``tag``, ``videos``, ``share``, ``median_likes`` and ``like_lift`` (median
    likes of videos with the tag over the library median; > 1 means above typical).
    """
    lk = np.array([np.nan if v is None else float(v) for v in likes])
    overall = float(np.nanmedian(lk)) if np.any(~np.isnan(lk)) else float("nan")
    users: dict[str, list[int]] = {}
    for i, row in enumerate(tags):
        for t in {normalise_tag(t) for t in row if normalise_tag(t)}:
            users.setdefault(t, []).append(i)
    rows = []
    for t, members in sorted(users.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if len(members) < min_count:
            continue
        vals = lk[members]
        vals = vals[~np.isnan(vals)]
        med = float(np.median(vals)) if len(vals) else None
        lift = med / overall if med is not None and overall > 0 else None
        rows.append({"tag": t, "videos": len(members), "share": len(members) / max(1, len(tags)),
                     "median_likes": med, "like_lift": lift})
        if len(rows) >= top:
            break
    return rows
