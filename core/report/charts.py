"""The report's charts, shared by the HTML and the PDF: matplotlib figures on the Agg
canvas, so no display is needed. The HTML embeds them as PNG, the PDF draws them on its
pages; matplotlib itself is imported only when a figure is made.
"""

from __future__ import annotations

import base64
import io
import warnings
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from reelscope.core.report.content import ReportContent

ACCENT = "#d43d6b"


def new_figure(size: tuple[float, float]) -> "Figure":
    """A matplotlib figure of ``size`` inches on its own Agg canvas (no pyplot state)."""
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


def png_base64(draw: Callable[[Any, ReportContent], None], c: ReportContent,
               size: tuple[float, float] = (7.5, 4.2)) -> str:
    """One chart drawn alone as a PNG, base64-encoded for an inline ``data:`` URL."""
    fig = new_figure(size)
    ax = fig.add_subplot()
    draw(ax, c)
    fig.tight_layout()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode("ascii")
