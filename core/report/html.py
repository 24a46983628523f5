"""The report as one self-contained HTML file: CSS, charts and thumbnails inline, so it
can be mailed or opened offline. Every piece of user text (ids, descriptions, hashtags,
author and sound names) goes through :func:`html.escape`, so nothing in metadata can
inject markup.
"""

from __future__ import annotations

import base64
import html
import textwrap
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from reelscope.core.numbers import format_likes
from reelscope.core.report.charts import draw_forecast, draw_scatter, png_base64

if TYPE_CHECKING:
    from reelscope.core.report.content import ReportContent, VideoCard


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
        f' · {e(c.summary.kind)} embeddings · generated {e(c.generated)}</div></header>',
        f'<section><h2>Summary</h2><div class="figures">{figures}</div>'
        f'<ul class="findings">{findings}</ul></section>',
        '<section><h2>Does originality pay?</h2>'
        f'<img class="chart" alt="originality against likes" '
        f'src="data:image/png;base64,{png_base64(draw_scatter, c)}"></section>',
        "<section><h2>Most original videos</h2>" + _cards_html(c.most) + "</section>",
        "<section><h2>Least original videos</h2>" + _cards_html(c.least) + "</section>",
        "<section><h2>Like forecast accuracy</h2>"
        + _table_html(["model", "R² (log likes)", "MAE (log)", "Spearman ρ", "interval coverage"],
                      c.model_rows(), numeric_from=1)
        + (f'<img class="chart" alt="forecast against real likes" '
           f'src="data:image/png;base64,{png_base64(draw_forecast, c)}">'
           if np.any(~np.isnan(c.forecast)) else "") + "</section>",
        "<section><h2>Hashtags</h2>"
        + _table_html(["hashtag", "videos", "share", "median likes", "likes vs typical"],
                      c.hashtag_rows(), numeric_from=1) + "</section>",
        "<section><h2>Sounds</h2>"
        + _table_html(["sound", "videos", "median likes", "growth"], c.sound_rows(),
                      numeric_from=1) + f'<p class="note">{e(c.sound_note())}</p></section>',
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

