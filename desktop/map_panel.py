"""The "Embedding map" view: every embedded video as a point on a 2-D map of the run's
fused embeddings, so videos that look and sound alike lie close together — with the
Originality view's colours, legend, hover card, click and lasso-to-gallery
(:class:`~reelscope.desktop.points_view.PointsPanel`).

The map comes from core: :func:`reelscope.core.query.embedding_map.embedding_map` gives
the run's stored t-SNE map, or PCA computed at once when none is stored; then this view
starts :func:`reelscope.core.analytics.embedding_map.compute_map` as a writing job in
the background (t-SNE of a sample, the rest placed — the module says why) and swaps to
its map when it is stored. The only computation here is aligning the map's rows to the
rows of core's scatter arrays, whose colours and hover text the points share.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget
from reelscope.desktop.points_view import PointsPanel
from reelscope.desktop.widgets import plain_label, plain_tooltip

if TYPE_CHECKING:
    from reelscope.core.query.embedding_map import EmbeddingMap
    from reelscope.core.query.results import ScatterData
    from reelscope.core.store.library import Library

WHY_TSNE = ("PCA shows the two straight directions along which the videos differ most, at once; "
            "t-SNE keeps each video next to the videos most like it, so groups PCA draws on top of "
            "each other come apart. t-SNE is too slow for every video, so it lays out a sample and "
            "every other video is placed beside its most similar sample videos.")


@dataclass(frozen=True)
class MapView:
    """What the view reads in one query: core's scatter arrays, the map, and the map's
    coordinates aligned to the arrays' rows (``x``, ``y`` float64 [N], NaN for a video
    the map does not hold)."""

    data: ScatterData
    map: EmbeddingMap
    x: np.ndarray
    y: np.ndarray


def read_map(library: Library, run_id: str | None) -> MapView:
    """Runs on the query thread: the map (stored, else PCA now) and the scatter arrays
    its points take their colours and hover text from, aligned row by row."""
    import matplotlib.path  # noqa: F401 - warm for the first lasso, off the GUI thread
    from reelscope.core.query import scatter_data
    from reelscope.core.query.embedding_map import embedding_map

    found = embedding_map(library, run_id)
    data = scatter_data(library, found.run_id or run_id)
    if found.layout is None:
        empty = np.full(len(data), np.nan)
        return MapView(data, found, empty, empty.copy())
    x, y = align(data.ids, found.layout.ids, found.layout.xy)
    return MapView(data, found, x, y)


def align(rows: np.ndarray, ids: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) float64 [len(rows)]: the ``xy`` (float [M, 2]) row of each of ``rows``'
    ids in ``ids`` (str [M]), NaN where it has none; sorted lookups, no Python loop."""
    x = np.full(len(rows), np.nan)
    y = np.full(len(rows), np.nan)
    if not len(ids) or not len(rows):
        return x, y
    order = np.argsort(ids, kind="stable")
    by_id = ids[order]
    pos = np.minimum(np.searchsorted(by_id, rows), len(by_id) - 1)
    hit = by_id[pos] == rows
    take = order[pos[hit]]
    x[hit], y[hit] = xy[take, 0], xy[take, 1]
    return x, y


def map_job(library_path: Path, run_id: str | None) -> Any:
    """A writing job in a child process: compute and store the run's t-SNE map."""
    import functools

    from reelscope.desktop import process_jobs

    return functools.partial(process_jobs.map_job, library=library_path, run_id=run_id)


class MapPanel(PointsPanel):
    """A 2-D map of the embeddings; PCA at once, t-SNE when the background job has stored it."""

    name = "map"
    title = "Embedding map"
    where = "on the map"
    png_name = "embedding-map.png"

    def __init__(self, session: Any, jobs: Any, parent: QWidget | None = None) -> None:
        super().__init__(session, jobs, parent, likes_axis=False, axes=False)
        self.view: MapView | None = None
        self.job: Any = None  # the map job this view started, while it runs
        self._ended: tuple[str, str] | None = None  # ("done" | "failed" | "cancelled", message)
        self._job_key: tuple[str, str] | None = None  # (library, run) of the last job started here
        self._auto_started: set[tuple[str, str]] = set()  # (library, run): start by itself once
        self.finding.setToolTip(plain_tooltip(WHY_TSNE))

    @property
    def data(self) -> ScatterData | None:
        return self.view.data if self.view is not None else None

    def _header(self, layout: QVBoxLayout) -> None:
        row = QHBoxLayout()
        self.status = plain_label("", self, wrap=True)
        row.addWidget(self.status, 1)
        self.compute = QPushButton("Compute the t-SNE map", self)
        self.compute.setToolTip(plain_tooltip(WHY_TSNE))
        self.compute.clicked.connect(self.start_layout)
        row.addWidget(self.compute)
        self.cancel = QPushButton("Cancel", self)
        self.cancel.clicked.connect(self._on_cancel)
        row.addWidget(self.cancel)
        layout.addLayout(row)

    def busy(self) -> bool:
        """Loading, or computing the map this view will swap to (a screenshot waits for it)."""
        return super().busy() or (self.job is not None and self.job.running)

    # ------------------------------------------------------------------ loading
    def refresh(self) -> None:
        run_id = self.session.run_id
        self.load("map", lambda lib: read_map(lib, run_id), self._on_loaded,
                  lambda message, _: self.empty.set_message(message))

    def _on_loaded(self, view: MapView) -> None:
        self.view = view
        found = view.map
        if found.layout is None:
            self.empty.set_message("No training run yet — train one to learn what each video looks and "
                                   "sounds like, then see which videos are alike on a map.",
                                   "Train now", lambda: self.window().show_view("training"))
            self.stack.setCurrentWidget(self.empty)
            return
        self.stack.setCurrentWidget(self.page)
        self.finding.setText(found.layout.describe())
        self.show_points(view.x, view.y)
        if not found.stored and self._may_start(found):
            self.start_layout()
        self._show_status()

    def _key(self) -> tuple[str, str]:
        found = self.view.map if self.view else None
        return str(self.session.path), str(found.run_id if found else self.session.run_id)

    def _may_start(self, found: EmbeddingMap) -> bool:
        """Start the t-SNE job by itself once per library and run, never over another
        writing job: after a cancel or a failure the button starts it again."""
        key = self._key()
        if key in self._auto_started or self.jobs.writer_busy():
            return False
        self._auto_started.add(key)
        return True

    def _note_parts(self) -> list[str]:
        found = self.view.map if self.view else None
        if found is None or found.layout is None:
            return []
        missing = len(self.view.data) - int(self.plotted().sum())  # type: ignore[union-attr]
        parts = [f"{missing:,} without embeddings in run {found.run_id}"] if missing else []
        return parts + ["distances mean likeness; the axes themselves mean nothing"]

    # -------------------------------------------------------------- the job
    def start_layout(self) -> None:
        """Compute the t-SNE map in the background (a writing job with progress and
        Cancel); the view reloads when it is stored."""
        if self.session.path is None or (self.job is not None and self.job.running):
            return
        run_id = self.view.map.run_id if self.view is not None else self.session.run_id
        job = self.jobs.start("Computing the embedding map", map_job(self.session.path, run_id), process=True,
                              writes=True, on_done=self._on_job_done, on_cancel=self._on_job_cancelled,
                              on_error=self._on_job_failed)
        if job is None:
            self.session.status_message.emit(f"{self.jobs.writer_busy()} is running; compute the map when it ends")
        else:
            self.job, self._job_key, self._ended = job, self._key(), None
            self._auto_started.add(self._job_key)  # a cancel or failure is not retried by itself
            job.progress.connect(self._on_job_progress)
            job.ended.connect(self._show_status)
        self._show_status()

    def _on_job_progress(self, event: Any) -> None:
        if event.total:
            self._show_status(f"{event.stage}: {int(event.done):,} of {int(event.total):,}")
        else:
            self._show_status(f"{event.stage}" + (f" — {event.message}" if event.message else ""))

    def _on_job_done(self, _: Any) -> None:
        """Stored: the window reloads every view after a writing job, this one included."""
        self._ended = ("done", "")
        self._show_status()

    def _on_job_cancelled(self, _: Any) -> None:
        self._ended = ("cancelled", "")
        self._show_status()

    def _on_job_failed(self, message: str, _: str) -> None:
        self._ended = ("failed", message)
        self._show_status()

    def _on_cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.status.setText("Stopping after the current step…")

    def _show_status(self, step: str = "") -> None:
        """The line above the map: how it was made and what is happening to it."""
        found = self.view.map if self.view else None
        running = self.job is not None and self.job.running
        stored = found is not None and found.stored
        ended = self._ended if self._job_key == self._key() else None
        if running:
            from reelscope.core.analytics.embedding_map import SAMPLE_SIZE

            n = len(found.layout) if found is not None and found.layout is not None else 0
            text = (f"PCA now; computing a t-SNE map of a {min(n, SAMPLE_SIZE):,}-video sample in the "
                    "background" + (f", then placing the other {n - SAMPLE_SIZE:,} beside their most "
                                    "similar sample videos" if n > SAMPLE_SIZE else "")
                    + ". The map changes when it is ready.")
            if step:
                text += f" ({step})"
        elif stored:
            text = "Stored with the run; hover a point to see the video, drag a lasso to open a group."
        elif ended is not None and ended[0] == "done":
            text = "The t-SNE map is ready; loading it…"
        elif ended is not None and ended[0] == "failed":
            text = f"The t-SNE map failed: {ended[1].rstrip('.')}. Showing PCA."
        elif ended is not None:
            text = "t-SNE map cancelled; showing PCA."
        elif self.jobs.writer_busy():
            text = f"Showing PCA: {self.jobs.writer_busy()} is running; compute the t-SNE map when it ends."
        else:
            text = "; ".join(found.notes) + "." if found is not None and found.notes else ""
        self.status.setText(text)
        self.compute.setVisible(not running and not stored and (ended is None or ended[0] != "done"))
        self.cancel.setVisible(running)
