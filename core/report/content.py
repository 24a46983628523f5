"""What the report says: :func:`gather` collects everything the report shows into
:class:`ReportContent` (from the stored analysis, analysing first when needed), whose
methods word it as figures, sentences and table rows; :func:`findings` puts an analysis
summary into plain sentences for the report and the CLI alike.

The layouts live beside it: :mod:`.html` (one self-contained file) and :mod:`.pdf` (A4
pages), both drawing their charts with :mod:`.charts`; :func:`.write.write_report`
picks one by the file's suffix. Numbers are worded by :mod:`reelscope.core.numbers`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from reelscope.core.numbers import format_count, format_likes, format_number, format_percent
from reelscope.core.progress import CancelToken, ProgressCallback

# Re-exported: the CLI, core's script API and docs/ANALYTICS.md import these from here.
from reelscope.core.report.html import render_html
from reelscope.core.report.pdf import render_pdf
from reelscope.core.report.write import write_report

if TYPE_CHECKING:
    from reelscope.core.analytics.results import AnalysisSummary, Correlation
    from reelscope.core.store.library import Library

__all__ = ["VideoCard", "ReportContent", "findings", "gather",
           "write_report", "render_html", "render_pdf", "format_likes"]


@dataclass
class VideoCard:
    id: str
    originality: float
    likes: Optional[float]
    description: str
    author: str
    thumbnail: Optional[bytes]  # JPEG


@dataclass
class ReportContent:
    """Everything the report shows; built by :func:`gather`."""

    library: str
    run: dict[str, Any]
    generated: str
    summary: "AnalysisSummary"
    originality: np.ndarray  # float64 [N], 0-100
    likes: np.ndarray  # float64 [N], NaN unknown
    forecast: np.ndarray  # float64 [N] out-of-fold like forecast, NaN unknown
    most: list[VideoCard] = field(default_factory=list)
    least: list[VideoCard] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)

    # ------------------------------------------------------------------ text
    def key_figures(self) -> list[tuple[str, str]]:
        s = self.summary
        out = [("videos analysed", f"{s.videos:,}"),
               ("with likes", f"{s.videos_with_likes:,}")]
        vs = s.originality.vs_likes
        if vs:
            out.append(("originality ↔ likes (ρ)", format_number(vs.raw.rho, 2)))
        full = s.forecast.model("full")
        if full:
            out.append(("like forecast R² (held-out)", format_number(full.r2, 2)))
            out.append((f"{s.settings.coverage * 100:.0f} % intervals held",
                        format_percent(full.coverage)))
        p5 = s.hashtags.evaluation.precision("combined", 5) if s.hashtags.evaluation else None
        if p5 is not None:
            out.append(("hashtag precision@5", format_number(p5, 2)))
        return out

    def findings(self) -> list[str]:
        out = findings(self.summary)
        if self.most:
            out.append(f"Most original video: {self.most[0].id}; least original: "
                       f"{self.least[0].id}.")
            why = (self.summary.originality.reasons or {}).get(self.most[0].id)
            if why:
                out.append(f"Why {self.most[0].id} is original: {why}")
        return out

    def method_note(self) -> str:
        r = self.run
        return (
            f"Embeddings come from run {r['id']} ({r['method']}, preset {r['preset']}): video and "
            "audio encoders trained from scratch on this library by self-supervised contrastive "
            "learning (SimCLR-style), with no labels and no downloaded weights. Originality is the "
            "percentile of a video among the library by an ensemble of outlier measures on those "
            "embeddings (neighbour distance, local density, whitened PCA and isolation forest on "
            "the picture, neighbour distance on the sound; ranks combined by Fisher's method); "
            "higher means fewer videos look and sound like it. The like forecast "
            "is a ridge regression of log(1 + likes) on the PCA-reduced embedding, author statistics "
            "(followers, hearts, videos, following), duration and posting time, compared on held-out "
            "videos with an author-only and a content-only model; its intervals are cross-conformal "
            "prediction intervals. Hashtag suggestions combine a similarity- and engagement-weighted "
            "vote of the nearest library videos with a multi-label logistic regression, ranked by "
            "how far the evidence lifts a tag above its share of the library, so generic tags do not "
            "win by frequency. Correlations are Spearman's rho with bootstrap intervals.")

    def originality_notes(self) -> list[str]:
        """Sentences under the originality-against-likes chart (none without an estimate)."""
        vs = self.summary.originality.vs_likes
        if not vs:
            return []
        return [f"{_direction(vs.raw)}. Spearman's ρ = {format_number(vs.raw.rho, 2)}"
                f" (95 % bootstrap interval {format_number(vs.raw.ci_low, 2)} to "
                f"{format_number(vs.raw.ci_high, 2)}, {vs.n} videos).",
                f"Comparing authors of equal reach (what log followers leave "
                f"unexplained): ρ = {format_number(vs.partial.rho, 2)}."]

    def forecast_note(self) -> str:
        """What the like forecast table measures, on which held-out videos."""
        comp = self.summary.forecast.comparison
        return ("Held-out videos the models never saw"
                + (f" ({comp.split} split, {comp.n_test} videos)" if comp and comp.split else "")
                + ". R² and MAE on log(1 + likes); coverage: share of held-out videos whose real "
                "likes fell in the forecast interval.")

    def hashtag_rows(self) -> list[list[str]]:
        return [[f"#{r.tag}", f"{r.videos:,}", format_percent(r.share),
                 format_likes(r.median_likes), format_number(r.like_lift, 2, "×")]
                for r in self.summary.hashtags.table][:15]

    def sound_rows(self) -> list[list[str]]:
        """The most used sounds, each named by its most common title (as the window does)."""
        from reelscope.core.analytics.sounds import group_names

        trends = self.summary.sounds.trends or []
        names = group_names(trends)
        return [[names[r.cluster], format_count(r.n_videos), format_likes(r.median_likes),
                 format_number(r.growth, 2, "×")] for r in trends[:12]]

    def sound_note(self) -> str:
        """One sentence under the sound table: how much is reused, and how many posts
        call a reused sound their own."""
        s = self.summary.sounds
        reused = s.reused_clusters if s.reused_clusters is not None else len(s.trends or ())
        if s.error or not reused:
            return s.error or "No two videos share a sound (by their audio)."
        text = f"{format_count(reused)} sound{'s are' if reused != 1 else ' is'} reused"
        if s.videos_reusing_a_sound is not None:
            text += f" by {format_count(s.videos_reusing_a_sound)} videos"
        text += ", grouped by their audio whatever the metadata says"
        original = s.mislabelled_original
        if original is None:  # analyses before the count was kept: the listed mismatches
            original = sum(m.metadata_original for m in s.mismatches or ())
        if original:
            text += (f"; {format_count(original)} post{'s' if original != 1 else ''} "
                     f"call{'' if original != 1 else 's'} a reused sound 'original sound'")
        return text + "."

    def model_rows(self) -> list[list[str]]:
        comp = self.summary.forecast.comparison
        names = {"author": "Author statistics only", "content": "Content only (embedding)",
                 "full": "Full model"}
        rows = [[names[k], format_number(m.r2, 3), format_number(m.mae_log, 2),
                 format_number(m.spearman, 2), format_percent(m.coverage)]
                for k, m in (comp.models if comp else {}).items()]
        if rows:
            rows.append(["2021 study (unseen videos)", "0.813", "–", "–", "–"])
        return rows

    def run_rows(self) -> list[list[str]]:
        return [[r["run"], r["method"], format_number(r.get("forecast_r2"), 3),
                 format_number(r.get("spearman"), 2), format_number(r.get("hashtag_p5"), 2),
                 format_number(r.get("originality_rho"), 2)] for r in self.runs]


def originality_finding(summary: "AnalysisSummary") -> Optional[str]:
    """Does originality go with likes, in one plain sentence beside the 2021 study's
    finding (None without an estimate). The report, the CLI and the window's plot say it
    in these words."""
    vs = summary.originality.vs_likes
    if not vs:
        return None
    raw, part = vs.raw, vs.partial
    return (f"{_direction(raw)} (Spearman ρ = {format_number(raw.rho, 2)}, 95 % interval "
            f"{format_number(raw.ci_low, 2)} to {format_number(raw.ci_high, 2)}, "
            f"{vs.n} videos). At equal follower counts ρ = {format_number(part.rho, 2)}. "
            "The 2021 study found a slightly negative link.")


def findings(summary: "AnalysisSummary") -> list[str]:
    """Plain-language sentences about an analysis (report and CLI)."""
    first = originality_finding(summary)
    out = [first] if first else []
    comp = summary.forecast.comparison
    if comp and comp.models:
        m = comp.models
        out.append(f"Likes of held-out videos ({comp.split} split, {comp.n_test} videos) "
                   f"are forecast with R² = {format_number(m['full'].r2, 2)} on the log scale "
                   f"(the 2021 study: {comp.reference_r2:.3f} on unseen videos); author "
                   f"statistics alone give {format_number(m['author'].r2, 2)}, the content alone "
                   f"{format_number(m['content'].r2, 2)}.")
        level = f"{comp.coverage_nominal * 100:.0f}"
        article = "an" if level.startswith("8") or level in ("11", "18") else "a"
        out.append(f"Each forecast has {article} {level} % interval; on "
                   "held-out videos it contained the real likes "
                   f"{format_percent(m['full'].coverage)} of the time." + _interval_detail(comp))
    elif summary.forecast.skipped:
        out.append("No like forecast: " + summary.forecast.skipped + ".")
    ev = summary.hashtags.evaluation
    if ev and ev.methods:
        out.append(f"Suggested hashtags: {format_percent(ev.precision('combined', 3))} of the top 3 and "
                   f"{format_percent(ev.precision('combined', 5))} of the top 5 "
                   "were tags the held-out video really used (the most frequent tags instead: "
                   f"{format_percent(ev.precision('frequency', 3))} and "
                   f"{format_percent(ev.precision('frequency', 5))}; the nearest videos' tags: "
                   f"{format_percent(ev.precision('knn', 3))} and {format_percent(ev.precision('knn', 5))}).")
    return out


def _interval_detail(comp: Any) -> str:
    """Median width and the coverage per follower-count bin, when the analysis has them."""
    parts = []
    width = comp.models["full"].width_ratio if "full" in comp.models else None
    if width:
        parts.append(f" A typical interval spans {format_number(width, 1)}x from its low to its high end.")
    bins = comp.coverage_by_bin or []
    if len(bins) >= 2:
        def span(b: Any) -> str:
            lo = "" if b.followers_from is None else format_count(b.followers_from)
            hi = "" if b.followers_to is None else format_count(b.followers_to)
            return f"{lo}–{hi}" if lo and hi else (f"under {hi}" if hi else f"{lo} and more")
        parts.append(" By follower count (out-of-fold): " + "; ".join(
            f"{span(b)} followers {format_percent(b.coverage)} of {b.videos}" for b in bins) + ".")
    return "".join(parts)


# ------------------------------------------------------------------- gathering
def gather(library: "Library", run_id: Optional[str] = None, cards: int = 5,
           progress: Optional[ProgressCallback] = None,
           cancel: Optional[CancelToken] = None) -> ReportContent:
    """Collect the report's content for ``run_id`` (default: newest run with embeddings)."""
    from reelscope.core.analytics.analyze import ensure_analysis, load_analysis
    from reelscope.core.analytics.data import runs_with_embeddings

    analysis = ensure_analysis(library, run_id, progress, cancel)
    run = library.run(analysis.run_id)
    sc = analysis.scores
    ids = [str(i) for i in sc["ids"]]
    orig = np.asarray(sc["originality"], dtype=np.float64)
    order = np.argsort(-orig, kind="stable")
    videos = {v.id: v for v in library.videos()}

    def card(i: int) -> VideoCard:
        v = videos.get(ids[i])
        thumb = None
        if v is not None and v.content_hash:
            path = library.cache.thumb_path(v.content_hash)
            thumb = path.read_bytes() if path.exists() else None
        likes = float(sc["likes"][i])
        return VideoCard(ids[i], float(orig[i]), None if np.isnan(likes) else likes,
                         (v.description or "") if v else "",
                         (v.author.unique_id or v.author.id) if v and v.author else "", thumb)

    runs = []
    for r in runs_with_embeddings(library):
        other = analysis if r.id == analysis.run_id else load_analysis(library, r.id)
        if other is None:
            continue
        s = other.result
        full, ev, vs = s.forecast.model("full"), s.hashtags.evaluation, s.originality.vs_likes
        runs.append({"run": r.id, "method": r.method,
                     "forecast_r2": full.r2 if full else None,
                     "spearman": full.spearman if full else None,
                     "hashtag_p5": ev.precision("combined", 5) if ev else None,
                     "originality_rho": vs.raw.rho if vs else None})
    return ReportContent(
        library=library.path.name or str(library.path),
        run={"id": run.id, "method": run.method, "preset": run.preset},
        generated=time.strftime("%Y-%m-%d %H:%M"),
        summary=analysis.result, originality=orig,
        likes=np.asarray(sc["likes"], dtype=np.float64),
        forecast=np.asarray(sc.get("like_forecast", np.full(len(ids), np.nan)), dtype=np.float64),
        most=[card(i) for i in order[:cards]], least=[card(i) for i in order[::-1][:cards]],
        runs=runs)


# ----------------------------------------------------------------------- words
def _direction(est: "Correlation") -> str:
    """Plain words for a correlation estimate with its interval."""
    lo, hi, rho = est.ci_low, est.ci_high, est.rho
    if rho is None or lo is None or hi is None or not np.isfinite(rho):
        return "Too few videos to relate originality and likes"
    if lo <= 0 <= hi:
        return "More original videos got about as many likes as others"
    size = "slightly " if abs(rho) < 0.3 else ""
    return f"More original videos got {size}{'more' if rho > 0 else 'fewer'} likes"
