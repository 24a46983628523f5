"""A self-contained report a marketer can send: HTML (one file) or a multi-page PDF.

:func:`gather` collects everything the report shows into :class:`ReportContent`
(from the stored analysis, analysing first when needed); :func:`render_html` and
:func:`render_pdf` lay out the same content. Charts are drawn with matplotlib's Agg
canvas (no display needed); the PDF is matplotlib's PdfPages, so no external tool is
involved. Every piece of user text (ids, descriptions, hashtags, author and sound
names) goes through :func:`html.escape` in HTML and is drawn with mathtext off in the
PDF, so nothing in metadata can inject markup or formulas.
"""

from __future__ import annotations

import base64
import html
import io
import os
import textwrap
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from reelscope.core.progress import CancelToken, ProgressCallback, Reporter

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from reelscope.core.store.library import Library

PDF_PAGES = 6
A4 = (8.27, 11.69)
ACCENT = "#d43d6b"


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
    summary: dict[str, Any]
    originality: np.ndarray  # float64 [N], 0-100
    likes: np.ndarray  # float64 [N], NaN unknown
    forecast: np.ndarray  # float64 [N] out-of-fold like forecast, NaN unknown
    most: list[VideoCard] = field(default_factory=list)
    least: list[VideoCard] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)

    # ------------------------------------------------------------------ text
    def key_figures(self) -> list[tuple[str, str]]:
        s = self.summary
        out = [("videos analysed", f"{s['videos']:,}"),
               ("with likes", f"{s['videos_with_likes']:,}")]
        vs = (s.get("originality") or {}).get("vs_likes")
        if vs:
            out.append(("originality ↔ likes (ρ)", _num(vs["raw"]["rho"], 2)))
        full = _get(s, "forecast", "comparison", "models", "full")
        if full:
            out.append(("like forecast R² (held-out)", _num(full["r2"], 2)))
            out.append((f"{s['settings']['coverage'] * 100:.0f} % intervals held",
                        _pct(full["coverage"])))
        p5 = _get(s, "hashtags", "evaluation", "methods", "combined", "precision@5")
        if p5 is not None:
            out.append(("hashtag precision@5", _num(p5, 2)))
        return out

    def findings(self) -> list[str]:
        out = findings(self.summary)
        if self.most:
            out.append(f"Most original video: {self.most[0].id}; least original: "
                       f"{self.least[0].id}.")
        return out

    def method_note(self) -> str:
        r = self.run
        return (
            f"Embeddings come from run {r['id']} ({r['method']}, preset {r['preset']}): video and "
            "audio encoders trained from scratch on this library by self-supervised contrastive "
            "learning (SimCLR-style), with no labels and no downloaded weights. Originality is the "
            "percentile of a video among the library by an ensemble of outlier detectors (pyod) on "
            "those embeddings; higher means fewer videos look and sound like it. The like forecast "
            "is a ridge regression of log(1 + likes) on the PCA-reduced embedding, author statistics "
            "(followers, hearts, videos, following), duration and posting time, compared on held-out "
            "videos with an author-only and a content-only model; its intervals are cross-conformal "
            "prediction intervals. Hashtag suggestions combine a similarity- and engagement-weighted "
            "vote of the nearest library videos with a multi-label logistic regression, ranked by "
            "how far the evidence lifts a tag above its share of the library, so generic tags do not "
            "win by frequency. Correlations are Spearman's rho with bootstrap intervals.")

    def hashtag_rows(self) -> list[list[str]]:
        return [[f"#{r['tag']}", f"{r['videos']:,}", _pct(r["share"]), format_likes(r["median_likes"]),
                 _num(r["like_lift"], 2, "×")]
                for r in _get(self.summary, "hashtags", "table") or []][:15]

    def sound_rows(self) -> list[list[str]]:
        rows = _get(self.summary, "sounds", "trends") or []
        out = []
        for r in rows[:12]:
            name = r.get("title") or r.get("sound_id") or f"unnamed sound #{r['cluster']}"
            out.append([str(name), _count(r.get("n_videos")), format_likes(r.get("median_likes")),
                        _num(r.get("growth"), 2, "×")])
        return out

    def model_rows(self) -> list[list[str]]:
        comp = _get(self.summary, "forecast", "comparison", "models") or {}
        names = {"author": "Author statistics only", "content": "Content only (embedding)",
                 "full": "Full model"}
        rows = [[names[k], _num(m["r2"], 3), _num(m["mae_log"], 2), _num(m["spearman"], 2),
                 _pct(m["coverage"])] for k, m in comp.items()]
        if rows:
            rows.append(["2021 study (unseen videos)", "0.813", "–", "–", "–"])
        return rows

    def run_rows(self) -> list[list[str]]:
        return [[r["run"], r["method"], _num(r.get("forecast_r2"), 3), _num(r.get("spearman"), 2),
                 _num(r.get("hashtag_p5"), 2), _num(r.get("originality_rho"), 2)] for r in self.runs]


def findings(summary: dict[str, Any]) -> list[str]:
    """Plain-language sentences about an analysis summary (report and CLI)."""
    s, out = summary, []
    vs = (s.get("originality") or {}).get("vs_likes")
    if vs:
        raw, part = vs["raw"], vs["partial"]
        out.append(f"{_direction(raw)} (Spearman ρ = {_num(raw['rho'], 2)}, 95 % interval "
                   f"{_num(raw['ci_low'], 2)} to {_num(raw['ci_high'], 2)}, {vs['n']} videos). "
                   f"At equal follower counts ρ = {_num(part['rho'], 2)}. The 2021 study "
                   "found a slightly negative link.")
    comp = _get(s, "forecast", "comparison")
    if comp and "models" in comp:
        m = comp["models"]
        out.append(f"Likes of held-out videos ({comp['split']} split, {comp['n_test']} videos) "
                   f"are forecast with R² = {_num(m['full']['r2'], 2)} on the log scale "
                   f"(the 2021 study: {comp['reference_r2']:.3f} on unseen videos); author "
                   f"statistics alone give {_num(m['author']['r2'], 2)}, the content alone "
                   f"{_num(m['content']['r2'], 2)}.")
        out.append(f"Each forecast has a {comp['coverage_nominal'] * 100:.0f} % interval; on "
                   f"held-out videos it contained the real likes {_pct(m['full']['coverage'])} "
                   "of the time.")
    elif _get(s, "forecast", "skipped"):
        out.append("No like forecast: " + s["forecast"]["skipped"] + ".")
    ev = _get(s, "hashtags", "evaluation", "methods")
    if ev:
        out.append(f"Suggested hashtags: {_pct(ev['combined']['precision@5'])} of the top 5 "
                   "were tags the held-out video really used (suggesting the most frequent "
                   f"tags instead: {_pct(ev['frequency']['precision@5'])}).")
    return out


# ------------------------------------------------------------------- gathering
def gather(library: "Library", run_id: Optional[str] = None, cards: int = 5,
           progress: Optional[ProgressCallback] = None,
           cancel: Optional[CancelToken] = None) -> ReportContent:
    """Collect the report's content for ``run_id`` (default: newest run with embeddings)."""
    from reelscope.core.analytics.analyze import ensure_analysis, load_analysis, runs_with_embeddings

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
        s = other.summary
        runs.append({"run": r.id, "method": r.method,
                     "forecast_r2": _get(s, "forecast", "comparison", "models", "full", "r2"),
                     "spearman": _get(s, "forecast", "comparison", "models", "full", "spearman"),
                     "hashtag_p5": _get(s, "hashtags", "evaluation", "methods", "combined",
                                        "precision@5"),
                     "originality_rho": _get(s, "originality", "vs_likes", "raw", "rho")})
    return ReportContent(
        library=library.path.name or str(library.path),
        run={"id": run.id, "method": run.method, "preset": run.preset},
        generated=time.strftime("%Y-%m-%d %H:%M"),
        summary=analysis.summary, originality=orig,
        likes=np.asarray(sc["likes"], dtype=np.float64),
        forecast=np.asarray(sc.get("like_forecast", np.full(len(ids), np.nan)), dtype=np.float64),
        most=[card(i) for i in order[:cards]], least=[card(i) for i in order[::-1][:cards]],
        runs=runs)


def write_report(library: "Library", out: str | Path, run_id: Optional[str] = None,
                 progress: Optional[ProgressCallback] = None,
                 cancel: Optional[CancelToken] = None) -> Path:
    """Write ``out`` as HTML (``.html``/``.htm``) or PDF (``.pdf``); returns its path."""
    from reelscope.core.store.clipcache import atomic_write_bytes

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf"):
        raise ValueError(f"a report is .html or .pdf, not {out.name!r}")
    content = gather(library, run_id, progress=progress, cancel=cancel)
    report = Reporter("report", 1, progress, cancel)
    if suffix == ".pdf":
        render_pdf(content, out)
    else:
        atomic_write_bytes(out, render_html(content).encode("utf-8"))
    report.step(message=out.name)
    return out


# ---------------------------------------------------------------------- charts
def _figure(size: tuple[float, float]) -> "Figure":
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def draw_scatter(ax: Any, c: ReportContent) -> None:
    """Originality (x) against likes (y, log scale) with a binned median line."""
    ok = ~np.isnan(c.likes)
    x, y = c.originality[ok], c.likes[ok] + 1
    ax.scatter(x, y, s=8, alpha=0.5, color="#4b6cb7", edgecolors="none", rasterized=True)
    if len(x) >= 20:
        edges = np.linspace(0, 100, 11)
        mid, med = [], []
        for lo, hi in zip(edges[:-1], edges[1:]):
            sel = (x >= lo) & (x < hi)
            if sel.sum() >= 3:
                mid.append((lo + hi) / 2)
                med.append(np.median(y[sel]))
        ax.plot(mid, med, color=ACCENT, lw=2, label="median by originality decile")
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_yscale("log")
    ax.set_xlim(0, 100)
    ax.set_xlabel("originality (percentile in the library, higher = more original)")
    ax.set_ylabel("likes + 1 (log scale)")
    ax.grid(alpha=0.3)


def draw_forecast(ax: Any, c: ReportContent) -> None:
    """Out-of-fold forecast against real likes, log-log, with the identity line."""
    ok = ~np.isnan(c.likes) & ~np.isnan(c.forecast)
    x, y = c.forecast[ok] + 1, c.likes[ok] + 1
    ax.scatter(x, y, s=8, alpha=0.5, color="#4b6cb7", edgecolors="none", rasterized=True)
    if len(x):
        lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
        ax.plot([lo, hi], [lo, hi], color=ACCENT, lw=1.5, label="forecast = real")
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("forecast likes + 1 (model never saw the video)")
    ax.set_ylabel("real likes + 1")
    ax.grid(alpha=0.3)


def _png(draw: Any, c: ReportContent, size: tuple[float, float] = (7.5, 4.2)) -> str:
    fig = _figure(size)
    ax = fig.add_subplot()
    draw(ax, c)
    fig.tight_layout()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode("ascii")


# ------------------------------------------------------------------------ HTML
def render_html(c: ReportContent) -> str:
    """The whole report as one HTML document (CSS, charts and thumbnails inline)."""
    from reelscope.resources import path as resource

    e = _esc
    css = resource("report", "report.css").read_text(encoding="utf-8")
    figures = "".join(f'<div class="figure"><div class="value">{e(v)}</div>'
                      f'<div class="label">{e(k)}</div></div>' for k, v in c.key_figures())
    findings = "".join(f"<li>{e(f)}</li>" for f in c.findings())
    parts = [
        f'<header class="cover"><h1>Reelscope report: {e(c.library)}</h1>'
        f'<div class="meta">Run {e(c.run["id"])} ({e(c.run["method"])}, {e(c.run["preset"])})'
        f' · {e(c.summary["kind"])} embeddings · generated {e(c.generated)}</div></header>',
        f'<section><h2>Summary</h2><div class="figures">{figures}</div>'
        f'<ul class="findings">{findings}</ul></section>',
        '<section><h2>Does originality pay?</h2>'
        f'<img class="chart" alt="originality against likes" '
        f'src="data:image/png;base64,{_png(draw_scatter, c)}"></section>',
        "<section><h2>Most original videos</h2>" + _cards_html(c.most) + "</section>",
        "<section><h2>Least original videos</h2>" + _cards_html(c.least) + "</section>",
        "<section><h2>Like forecast accuracy</h2>"
        + _table_html(["model", "R² (log likes)", "MAE (log)", "Spearman ρ", "interval coverage"],
                      c.model_rows(), numeric_from=1)
        + (f'<img class="chart" alt="forecast against real likes" '
           f'src="data:image/png;base64,{_png(draw_forecast, c)}">'
           if np.any(~np.isnan(c.forecast)) else "") + "</section>",
        "<section><h2>Hashtags</h2>"
        + _table_html(["hashtag", "videos", "share", "median likes", "likes vs typical"],
                      c.hashtag_rows(), numeric_from=1) + "</section>",
        "<section><h2>Sounds</h2>"
        + _table_html(["sound", "videos", "median likes", "growth"], c.sound_rows(),
                      numeric_from=1) + "</section>",
        "<section><h2>Model comparison</h2>"
        + _table_html(["run", "method", "forecast R²", "Spearman ρ", "hashtag p@5",
                       "originality ↔ likes ρ"], c.run_rows(), numeric_from=2) + "</section>",
        f'<section><h2>Method</h2><p class="note">{e(c.method_note())}</p></section>',
        f"<footer>Made with Reelscope from the library {e(c.library)}.</footer>",
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Reelscope report: {e(c.library)}</title><style>{css}</style></head>"
            f"<body><main>{''.join(parts)}</main></body></html>\n")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _cards_html(cards: Sequence[VideoCard]) -> str:
    out = []
    for v in cards:
        img = (f'<img alt="{_esc(v.id)}" src="data:image/jpeg;base64,'
               f'{base64.b64encode(v.thumbnail).decode("ascii")}">' if v.thumbnail
               else '<div class="nothumb">no thumbnail</div>')
        desc = textwrap.shorten(v.description, 90, placeholder=" …") if v.description else ""
        out.append(f'<div class="card">{img}<div class="caption"><b>{_esc(v.id)}</b><br>'
                   f"originality {v.originality:.0f} · {_esc(format_likes(v.likes))} likes"
                   + (f"<br>@{_esc(v.author)}" if v.author else "")
                   + f'<div class="desc">{_esc(desc)}</div></div></div>')
    return f'<div class="cards">{"".join(out)}</div>'


def _table_html(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 99) -> str:
    if not rows:
        return '<p class="note">Not enough data for this table.</p>'
    th = "".join(f'<th class="{"num" if j >= numeric_from else ""}">{_esc(h)}</th>'
                 for j, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="{"num" if j >= numeric_from else ""}">'
                                    f"{_esc(x)}</td>" for j, x in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


# ------------------------------------------------------------------------- PDF
def report_figures(c: ReportContent) -> list["Figure"]:
    """The PDF's pages, A4 portrait, as matplotlib figures (also usable as PNG previews)."""
    pages = [_page_summary, _page_scatter, _page_cards, _page_forecast, _page_tables, _page_method]
    figs = []
    for n, draw in enumerate(pages, start=1):
        fig = _figure(A4)
        draw(fig, c)
        _text(fig, 0.5, 0.025, f"Reelscope · {c.library} · page {n} of {len(pages)}",
              size=8, color="#5b6472", ha="center")
        figs.append(fig)
    return figs


def render_pdf(c: ReportContent, out: Path) -> int:
    """Write the PDF (atomically); returns the number of pages."""
    from matplotlib.backends.backend_pdf import PdfPages

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    figs = report_figures(c)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing glyphs (emoji) in user text
        with PdfPages(tmp, metadata={"Title": f"Reelscope report: {c.library}",
                                     "Creator": "Reelscope"}) as pdf:
            for fig in figs:
                pdf.savefig(fig)
    os.replace(tmp, out)
    return len(figs)


def save_previews(c: ReportContent, folder: Path, dpi: int = 80) -> list[Path]:
    """PNG images of the PDF pages (``page-1.png``, ...), for docs and checks."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n, fig in enumerate(report_figures(c), start=1):
            paths.append(folder / f"page-{n}.png")
            fig.savefig(paths[-1], dpi=dpi)
    return paths


def _text(fig: "Figure", x: float, y: float, s: str, size: float = 10, **kw: Any) -> Any:
    # parse_math=False: a '$' in a description must print as '$', not start a formula.
    return fig.text(x, y, s, fontsize=size, parse_math=False, va=kw.pop("va", "top"), **kw)


def _heading(fig: "Figure", title: str) -> None:
    fig.patches.append(_band(fig))
    _text(fig, 0.07, 0.955, title, size=17, weight="bold")


def _band(fig: "Figure") -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((0.07, 0.915), 0.86, 0.004, transform=fig.transFigure, color=ACCENT)


def _paragraph(fig: "Figure", y: float, text: str, width: int = 95, size: float = 10) -> float:
    """Wrapped text from height ``y`` down; returns the height below it."""
    lines = textwrap.wrap(text, width) or [""]
    _text(fig, 0.07, y, "\n".join(lines), size=size, linespacing=1.45)
    return y - len(lines) * size * 1.45 / 72 / A4[1] - 0.012


def _table(fig: "Figure", rect: Sequence[float], header: Sequence[str],
           rows: Sequence[Sequence[str]], widths: Optional[Sequence[float]] = None) -> None:
    ax = fig.add_axes(rect)
    ax.axis("off")
    if not rows:
        ax.text(0, 1, "Not enough data for this table.", va="top", fontsize=9, color="#5b6472")
        return
    table = ax.table(cellText=[list(map(str, r)) for r in rows], colLabels=list(header),
                     loc="upper center", cellLoc="left", colLoc="left", colWidths=widths)
    table.auto_set_font_size(False)
    table.set_fontsize(8.5)
    table.scale(1, 1.35)
    for (row, _), cell in table.get_celld().items():
        cell.get_text().set_parse_math(False)
        cell.set_edgecolor("#dde1e7")
        if row == 0:
            cell.set_facecolor("#f5f6f8")
            cell.get_text().set_weight("bold")


def _page_summary(fig: "Figure", c: ReportContent) -> None:
    _text(fig, 0.07, 0.94, f"Reelscope report: {c.library}", size=22, weight="bold")
    fig.patches.append(_band(fig))
    _text(fig, 0.07, 0.905, f"Run {c.run['id']} ({c.run['method']}, {c.run['preset']}) · "
          f"{c.summary['kind']} embeddings · generated {c.generated}", size=9, color="#5b6472")
    figures = c.key_figures()
    for j, (label, value) in enumerate(figures):
        x, y = 0.07 + (j % 3) * 0.29, 0.86 - (j // 3) * 0.085
        _text(fig, x, y, value, size=20, weight="bold")
        _text(fig, x, y - 0.037, label, size=8.5, color="#5b6472")
    y = 0.86 - ((len(figures) + 2) // 3) * 0.085 - 0.02
    _text(fig, 0.07, y, "What we found", size=13, weight="bold")
    y -= 0.03
    for line in c.findings():
        y = _paragraph(fig, y, "• " + line)


def _page_scatter(fig: "Figure", c: ReportContent) -> None:
    _heading(fig, "Does originality pay?")
    ax = fig.add_axes([0.12, 0.42, 0.8, 0.45])
    draw_scatter(ax, c)
    vs = _get(c.summary, "originality", "vs_likes")
    y = 0.35
    if vs:
        y = _paragraph(fig, y, f"{_direction(vs['raw'])}. Spearman's ρ = {_num(vs['raw']['rho'], 2)}"
                       f" (95 % bootstrap interval {_num(vs['raw']['ci_low'], 2)} to "
                       f"{_num(vs['raw']['ci_high'], 2)}, {vs['n']} videos).")
        y = _paragraph(fig, y, f"Comparing authors of equal reach (what log followers leave "
                       f"unexplained): ρ = {_num(vs['partial']['rho'], 2)}.")
    _paragraph(fig, y, "Each dot is a library video. Originality is its percentile among the "
               "library by an ensemble of outlier detectors on the learned embeddings: 90 means "
               "more original than 90 % of the library.", size=9)


def _page_cards(fig: "Figure", c: ReportContent) -> None:
    from PIL import Image

    _heading(fig, "Most and least original videos")
    for block, (title, cards) in enumerate((("Most original", c.most), ("Least original", c.least))):
        top = 0.87 - block * 0.42
        _text(fig, 0.07, top, title, size=13, weight="bold")
        for j, v in enumerate(cards[:5]):
            ax = fig.add_axes([0.07 + j * 0.175, top - 0.27, 0.16, 0.24])
            if v.thumbnail:
                ax.axis("off")
                ax.imshow(np.asarray(Image.open(io.BytesIO(v.thumbnail)).convert("RGB")))
            else:
                ax.set_facecolor("#f5f6f8")
                ax.set_xticks([])
                ax.set_yticks([])
                for spine in ax.spines.values():
                    spine.set_visible(False)
                ax.text(0.5, 0.5, "no thumbnail", ha="center", va="center", fontsize=8,
                        color="#5b6472", transform=ax.transAxes)
            caption = [v.id, f"originality {v.originality:.0f}", f"{format_likes(v.likes)} likes"]
            if v.description:
                caption += textwrap.wrap(textwrap.shorten(v.description, 60, placeholder="…"), 22)[:2]
            _text(fig, 0.07 + j * 0.175, top - 0.28, "\n".join(caption), size=7.5)


def _page_forecast(fig: "Figure", c: ReportContent) -> None:
    _heading(fig, "How well can we forecast likes?")
    comp = _get(c.summary, "forecast", "comparison") or {}
    intro = ("Held-out videos the models never saw"
             + (f" ({comp['split']} split, {comp['n_test']} videos)" if "split" in comp else "")
             + ". R² and MAE on log(1 + likes); coverage: share of held-out videos whose real "
             "likes fell in the forecast interval.")
    y = _paragraph(fig, 0.89, intro)
    _table(fig, [0.07, y - 0.17, 0.86, 0.16],
           ["model", "R²", "MAE (log)", "Spearman ρ", "coverage"], c.model_rows(),
           widths=[0.4, 0.15, 0.15, 0.15, 0.15])
    if np.any(~np.isnan(c.forecast)):
        draw_forecast(fig.add_axes([0.12, 0.1, 0.8, y - 0.33]), c)


def _page_tables(fig: "Figure", c: ReportContent) -> None:
    _heading(fig, "Hashtags and sounds")
    _text(fig, 0.07, 0.89, "Most used hashtags", size=12, weight="bold")
    _table(fig, [0.07, 0.47, 0.86, 0.4], ["hashtag", "videos", "share", "median likes",
                                           "likes vs typical"], c.hashtag_rows(),
           widths=[0.36, 0.14, 0.14, 0.18, 0.18])
    _text(fig, 0.07, 0.43, "Sounds", size=12, weight="bold")
    _table(fig, [0.07, 0.08, 0.86, 0.33], ["sound", "videos", "median likes", "growth"],
           c.sound_rows(), widths=[0.46, 0.18, 0.18, 0.18])


def _page_method(fig: "Figure", c: ReportContent) -> None:
    _heading(fig, "Model comparison and method")
    rows = c.run_rows()[:20]
    height = 0.028 * (len(rows) + 1)
    _text(fig, 0.07, 0.89, "Training runs analysed in this library", size=12, weight="bold")
    _table(fig, [0.07, 0.86 - height, 0.86, height], ["run", "method", "forecast R²", "Spearman ρ",
                                                       "hashtag p@5", "orig. ↔ likes ρ"], rows,
           widths=[0.24, 0.16, 0.15, 0.15, 0.15, 0.15])
    y = 0.86 - height - 0.05
    _text(fig, 0.07, y, "Method", size=12, weight="bold")
    _paragraph(fig, y - 0.03, c.method_note(), size=9.5, width=100)


# ----------------------------------------------------------------------- format
def _get(d: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict) or d.get(key) is None:
            return None
        d = d[key]
    return d


def _num(x: Any, digits: int, suffix: str = "") -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return f"{float(x):.{digits}f}".replace("-", "−") + suffix


def _pct(x: Any) -> str:
    return "–" if x is None else f"{float(x) * 100:.0f} %"


def _count(x: Any) -> str:
    return "–" if x is None else f"{int(x):,}"


def format_likes(x: Any) -> str:
    """Likes for people: 9,870 · 12.3k · 1.2M (and – when unknown)."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    x = float(x)
    return f"{x / 1e6:.1f}M" if x >= 1e6 else f"{x / 1e3:.1f}k" if x >= 1e4 else f"{x:,.0f}"


def _direction(est: dict[str, Any]) -> str:
    """Plain words for a correlation estimate with its interval."""
    lo, hi, rho = est.get("ci_low"), est.get("ci_high"), est.get("rho")
    if rho is None or lo is None or hi is None or not np.isfinite(rho):
        return "Too few videos to relate originality and likes"
    if lo <= 0 <= hi:
        return "More original videos got about as many likes as others"
    size = "slightly " if abs(rho) < 0.3 else ""
    return f"More original videos got {size}{'more' if rho > 0 else 'fewer'} likes"
