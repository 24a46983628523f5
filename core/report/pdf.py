"""The report as a multi-page A4 PDF, written with matplotlib's PdfPages so no external
tool is involved; the same pages serve as PNG previews. User text is drawn with mathtext
off, so nothing in metadata can start a formula.
"""

from __future__ import annotations

import io
import textwrap
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from reelscope.core.numbers import format_likes
from reelscope.core.report.charts import ACCENT, draw_forecast, draw_scatter, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from reelscope.core.report.content import ReportContent

PDF_PAGES = 6
A4 = (8.27, 11.69)


def report_figures(c: ReportContent) -> list["Figure"]:
    """The PDF's pages, A4 portrait, as matplotlib figures (also usable as PNG previews)."""
    pages = [_page_summary, _page_scatter, _page_cards, _page_forecast, _page_tables, _page_method]
    figs = []
    for n, draw in enumerate(pages, start=1):
        fig = new_figure(A4)
        draw(fig, c)
        _text(fig, 0.5, 0.025, f"Reelscope · {c.library} · page {n} of {len(pages)}",
              size=8, color="#5b6472", ha="center")
        figs.append(fig)
    return figs


def render_pdf(c: ReportContent, out: Path) -> int:
    """Write the PDF (atomically); returns the number of pages."""
    from matplotlib.backends.backend_pdf import PdfPages

    from reelscope.training.files import atomic_path

    figs = report_figures(c)
    with warnings.catch_warnings(), atomic_path(out) as tmp:
        warnings.simplefilter("ignore")  # missing glyphs (emoji) in user text
        with PdfPages(tmp, metadata={"Title": f"Reelscope report: {c.library}",
                                     "Creator": "Reelscope"}) as pdf:
            for fig in figs:
                pdf.savefig(fig)
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
          f"{c.summary.kind} embeddings · generated {c.generated}", size=9, color="#5b6472")
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
    y = 0.35
    for line in c.originality_notes():
        y = _paragraph(fig, y, line)
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
    y = _paragraph(fig, 0.89, c.forecast_note())
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
    top = _paragraph(fig, 0.405, c.sound_note(), width=100, size=9)
    _table(fig, [0.07, 0.06, 0.86, top - 0.06], ["sound", "videos", "median likes", "growth"],
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

