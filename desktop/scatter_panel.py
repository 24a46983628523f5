"""The "Originality vs likes" view: every analysed video as a point (x = originality,
y = likes on a log axis), coloured by category, sound, author or follower count, with
the stored Spearman correlation in words above it. Hover shows the video, a click
selects it everywhere, a box or lasso selects many for the gallery or a CSV.

Every number comes from core: the arrays from :func:`reelscope.core.query.scatter_data`,
rho and the sentence from the stored analysis through
:func:`reelscope.core.report.content.originality_finding`. The one computation here is a view
transform — "at equal follower counts" moves each point along the log-likes axis by
the follower effect a straight-line fit finds (:func:`equal_follower_likes`).
"""

from __future__ import annotations

import functools

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QWidget
from reelscope.desktop.points_view import PointsPanel
from reelscope.desktop.process_jobs import analyze_job
from reelscope.desktop.widgets import likes_text, plain_label

if TYPE_CHECKING:
    from reelscope.core.analytics.results import OriginalityVsLikes
    from reelscope.core.query.results import ScatterData
    from reelscope.core.store.library import Library


@dataclass(frozen=True)
class ScatterView:
    """What the view reads in one query: the arrays, the stored correlation and core's
    sentence about it (None without an analysis)."""

    data: ScatterData
    vs_likes: OriginalityVsLikes | None
    finding: str | None
    likes_equal: np.ndarray | None = None  # float64 [N], see equal_follower_likes
    median_followers: float = float("nan")


def read_scatter(library: Library, run_id: str | None) -> ScatterView:
    """Runs on the query thread: the scatter arrays, the stored analysis' finding and
    the likes at equal follower counts (so the GUI thread only draws)."""
    import matplotlib.path  # noqa: F401 - warm for the first lasso, off the GUI thread
    from reelscope.core.query import scatter_data
    from reelscope.core.query.reader import reader_for
    from reelscope.core.query.stored import stored_run
    from reelscope.core.report.content import originality_finding

    data = scatter_data(library, run_id)
    vs = finding = None
    if data.run_id is not None:
        stored, _ = stored_run(library, reader_for(library), data.run_id)
        if stored is not None and stored.analysis is not None:
            summary = stored.analysis.result
            vs = summary.originality.vs_likes
            finding = originality_finding(summary)
    likes_equal, median = equal_follower_likes(data.likes, data.followers)
    return ScatterView(data, vs, finding, likes_equal, median)


def equal_follower_likes(likes: np.ndarray, followers: np.ndarray) -> tuple[np.ndarray, float]:
    """Likes as if every author had the median follower count: log(1 + likes) minus
    slope x (log(1 + followers) - its median), the slope from a least-squares line of
    log-likes on log-followers — the same "what log followers leave unexplained" that
    core's partial correlation measures. Returns (float64 [N] adjusted likes, NaN where
    either count is unknown; the median follower count)."""
    ll, lf = np.log1p(likes), np.log1p(followers)
    both = np.isfinite(ll) & np.isfinite(lf)
    out = np.full(len(ll), np.nan)
    if not both.any():
        return out, float("nan")
    centre = float(np.median(lf[both]))
    slope = 0.0
    if both.sum() >= 3 and np.ptp(lf[both]) > 0:
        slope = float(np.polyfit(lf[both], ll[both], 1)[0])
    out[both] = np.expm1(ll[both] - slope * (lf[both] - centre))
    return np.maximum(out, 0.0), float(np.expm1(centre))


class ScatterPanel(PointsPanel):
    """Originality across, likes up; the shared hover, colours, legend and selection
    come from :class:`~reelscope.desktop.points_view.PointsPanel`."""

    name = "scatter"
    title = "Originality vs likes"
    where = "on the plot"
    png_name = "originality-vs-likes.png"

    def __init__(self, session: Any, jobs: Any, parent: QWidget | None = None) -> None:
        super().__init__(session, jobs, parent)
        self.view: ScatterView | None = None
        self.y_raw = self.y_equal = np.empty(0)
        self.median_followers = float("nan")
        self.canvas.x_limits = (-2.0, 102.0)  # the whole 0-100 originality scale, always
        self.canvas.y_floor, self.canvas.min_pad = -0.1, 0.2

    @property
    def data(self) -> ScatterData | None:
        return self.view.data if self.view is not None else None

    def _toolbar_extras(self, row: QHBoxLayout) -> None:
        row.addSpacing(12)
        row.addWidget(plain_label("Likes", self))
        self.likes_mode = QComboBox(self)
        self.likes_mode.addItem("Raw", "raw")
        self.likes_mode.addItem("At equal follower counts", "equal")
        self.likes_mode.setToolTip("Move each video up or down by what its author's follower count "
                                   "explains, as if every author had the median follower count")
        self.likes_mode.currentIndexChanged.connect(self._on_likes_mode_changed)
        row.addWidget(self.likes_mode)

    # ------------------------------------------------------------------ loading
    def refresh(self) -> None:
        run_id = self.session.run_id
        self.load("data", lambda lib: read_scatter(lib, run_id), self._on_loaded,
                  lambda message, _: self.empty.set_message(message))

    def _on_loaded(self, view: ScatterView) -> None:
        data = view.data
        self.view = view
        if data.run_id is None:
            self.empty.set_message("No training run yet — train one to learn what each video looks "
                                   "and sounds like, then see whether originality pays.",
                                   "Train now", lambda: self.window().show_view("training"))
            self.stack.setCurrentWidget(self.empty)
            return
        if not np.isfinite(data.originality).any():
            note = "\n".join(data.notes)
            self.empty.set_message("Not analysed yet." + (f"\n{note}" if note else ""),
                                   "Analyse now", self._on_analyse)
            self.stack.setCurrentWidget(self.empty)
            return
        self.stack.setCurrentWidget(self.page)
        self.y_raw = np.log10(1 + data.likes)
        adjusted, self.median_followers = view.likes_equal, view.median_followers
        if adjusted is None:
            adjusted, self.median_followers = equal_follower_likes(data.likes, data.followers)
        self.y_equal = np.log10(1 + adjusted)
        self.finding.setText(view.finding or "Too few videos with likes to relate originality and likes.")
        self._plot(recolour=True)

    def _plot(self, recolour: bool = False) -> None:
        """Coordinates for the current likes mode, drawn with the current colours."""
        equal = self.likes_mode.currentData() == "equal"
        self.show_points(self.data.originality.astype(np.float64),  # type: ignore[union-attr]
                         self.y_equal if equal else self.y_raw, recolour)
        item = self.canvas.getPlotItem()
        item.setLabel("bottom", "Originality (0–100, more original →)")
        if equal:
            item.setLabel("left", "Likes at equal follower counts (log scale)")
        else:
            item.setLabel("left", "Likes (log scale)")

    def _note_parts(self) -> list[str]:
        data = self.data
        assert data is not None
        parts = []
        no_likes = int((~np.isfinite(data.likes)).sum())
        if no_likes:
            parts.append(f"{no_likes:,} have no like count")
        if self.likes_mode.currentData() == "equal":
            parts.append(f"likes shown as if every author had {likes_text(self.median_followers)} followers "
                         "(the median)")
            no_followers = int((np.isfinite(data.likes) & ~np.isfinite(data.followers)).sum())
            if no_followers:
                parts.append(f"{no_followers:,} without a follower count are left out")
        return parts

    # ------------------------------------------------------------------- events
    def _on_likes_mode_changed(self) -> None:
        if self.view is not None and self.groups is not None:
            self._plot()

    def _on_analyse(self) -> None:
        """Run core's analysis as a writing job; the view reloads when it ends."""
        path, run_id = self.session.path, self.view.data.run_id if self.view else None

        work = functools.partial(analyze_job, library=path, run_id=run_id)
        if self.jobs.start("Analysing", work, process=True) is None:
            self.session.status_message.emit(f"{self.jobs.writer_busy()} is running; analyse when it ends")
