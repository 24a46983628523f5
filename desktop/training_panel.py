"""The Training view: train an encoder on the library's own videos, watch it learn, and
choose which run the analytics use.

"Train" is one chain with one progress: (1) a job prepares the run folder (or finds the
unfinished run of the same method and preset, as ``reelscope train`` resumes it); (2) the
child process trains it (``training_process.py``: JSON lines in, SIGTERM = checkpoint and
stop) while the curves follow its lines; (3) a job records the finished run, embeds every
video (core's ``train(run_id=..., resume=True)``: the checkpoint says the plan is done, so
no step is trained again) and analyses it. Nothing here reimplements core: the same
functions as ``reelscope train`` and ``reelscope analyze`` run, in the same order.
"""

from __future__ import annotations

import functools

import math
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from PySide6.QtCore import QProcess, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QComboBox, QDoubleSpinBox,
                               QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView,
                               QMessageBox, QProgressBar, QPushButton, QRadioButton, QSpinBox,
                               QSplitter, QStackedWidget, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from reelscope.desktop.errors import show_error
from reelscope.desktop.training_process import (EXIT_BUSY, EXIT_FINISHED, EXIT_STOPPED, ChildPlan,
                                                TrainingProcess, start_detached)
from reelscope.desktop.process_jobs import (analyze_job, evaluate_job, finish_training_job,
                                             prepare_training_job)
from reelscope.desktop.widgets import EmptyState, Panel, heading, plain_label

if TYPE_CHECKING:
    from reelscope.core.store.library import Library
    from reelscope.core.store.models import TrainingRun

METHODS = {  # core's methods (training/config.py METHODS), in the user's words
    "av-simclr": "Audio + video (recommended)", "simclr": "Video only (SimCLR)",
    "moco": "Video only (MoCo)", "byol": "Video only (BYOL)", "simsiam": "Video only (SimSiam)",
}
PRESETS = {"tiny": "Tiny — a quick test (seconds)", "small": "Small — a laptop CPU (minutes)",
           "base": "Base — a GPU (hours)"}
STATUS_WORDS = {"done": "Finished", "finished": "Finished", "trained": "Trained, not embedded", "cancelled": "Stopped — resumable",
                "prepared": "Unfinished — resumable", "running": "Interrupted — resumable",
                "failed": "Failed — resumable"}
SPLITS = {"random": "Random videos", "author": "Unseen authors", "time": "Newest videos"}
PROBE_LABELS = {"author": "Author", "sound": "Sound", "first_hashtag": "First hashtag"}
COMPARE_COLUMNS = (  # (ComparisonRow field, header, what it measures)
    ("probe_accuracy", "Probe accuracy", "How well a linear probe on the embedding predicts the label"),
    ("retrieval_map", "Retrieval mAP", "Similar-video search: mean average precision (same sound = relevant)"),
    ("retrieval_recall_at_10", "Recall@10", "Share of relevant videos among the 10 most similar"),
    ("forecast_r2", "Forecast R²", "Like forecast on held-out videos (1 = perfect)"),
    ("forecast_coverage", "Coverage", "Share of held-out videos whose likes fell inside the interval"),
    ("hashtag_precision_at_5", "Hashtag P@5", "Share of the 5 suggested hashtags the video really used"),
)
CLOSE_WAIT_MS = 60_000
GPU_PROBE = "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
REDRAW_MS = 150


@dataclass(frozen=True)
class TrainPlan:
    """What the user asked for: one press of Train (or Resume)."""

    method: str = "av-simclr"
    preset: str = "small"
    epochs: Optional[int] = None
    time_budget_min: Optional[float] = None
    device: str = "auto"
    run_id: Optional[str] = None  # resume exactly this run
    new: bool = False  # start a new run even when an unfinished one exists


@dataclass(frozen=True)
class PanelState:
    """What one read of the library gives the view."""

    videos: int
    runs: list["TrainingRun"]
    embedded: set[str]
    in_use: Optional[str]
    writer: Any  # the LockHolder of a writing job (another process's training), or None


class LiveCurves(QWidget):
    """Loss and throughput against the step; points appended as lines arrive, drawn at
    most every REDRAW_MS (peak downsampling and clipping keep long runs cheap)."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        import pyqtgraph as pg

        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.loss_plot, self.loss_curve = self._plot(pg, "Loss (lower = learning)", "#4f46e5")
        self.rate_plot, self.rate_curve = self._plot(pg, "Throughput (samples/s)", "#0e9f6e")
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.rate_plot)
        self.steps: list[float] = []
        self.losses: list[float] = []
        self.rates: list[float] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)

    def _plot(self, pg: Any, title: str, colour: str) -> tuple[Any, Any]:
        plot = pg.PlotWidget(self)
        plot.setBackground(None)
        plot.setTitle(title)
        plot.setLabel("bottom", "step")
        plot.showGrid(x=False, y=False)
        plot.setDownsampling(mode="peak")
        plot.setClipToView(True)
        plot.setMinimumHeight(180)
        curve = plot.plot([], [], pen=pg.mkPen(colour, width=2), connect="finite")
        return plot, curve

    def clear(self) -> None:
        self.steps, self.losses, self.rates = [], [], []
        self.redraw()

    def set_points(self, steps: list[float], losses: list[float], rates: list[float]) -> None:
        self.steps, self.losses, self.rates = list(steps), list(losses), list(rates)
        self.redraw()

    def append(self, step: float, loss: Optional[float], rate: Optional[float]) -> None:
        self.steps.append(float(step))
        self.losses.append(_number(loss))
        self.rates.append(_number(rate))
        if not self._timer.isActive():
            self._timer.start()

    def redraw(self) -> None:
        import numpy as np

        x = np.asarray(self.steps, dtype=float)
        self.loss_curve.setData(x, np.asarray(self.losses, dtype=float))
        self.rate_curve.setData(x, np.asarray(self.rates, dtype=float))

    def points(self) -> int:
        """Points the loss curve draws now (tests read it)."""
        x, _ = self.loss_curve.getData()
        return 0 if x is None else len(x)


class TrainingPanel(Panel):
    name = "training"
    title = "Training"
    _gpu_found = Signal(str)  # the CUDA device's name, "" when there is none

    def __init__(self, session, jobs, parent=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(session, jobs, parent)
        self.ask_close: Callable[[], str] = self._ask_close  # "stop", "background" or "cancel"
        self.child: Optional[TrainingProcess] = None
        self.stage: Optional[str] = None  # preparing, training, finishing, or None when idle
        self.plan: Optional[TrainPlan] = None
        self.run_id: Optional[str] = None  # the run the chain works on
        self.resumable: Optional[str] = None  # a run this session stopped
        self.background_pid: Optional[int] = None
        self.state: Optional[PanelState] = None
        self._job: Any = None
        self._closing = False
        self._gpu_probed = False
        self._last_event: Any = None
        self._gpu_found.connect(self._on_gpu_found)

        self.pages = QStackedWidget(self)
        self.empty = EmptyState("Import videos first: Reelscope trains on your own videos.",
                                "Import videos…", self._on_import)
        self.pages.addWidget(self.empty)
        self.pages.addWidget(self._build_content())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        self._update_controls()

    # ------------------------------------------------------------------ layout
    def _build_content(self) -> QWidget:
        page = QWidget(self)
        outer = QVBoxLayout(page)
        outer.addWidget(heading("Training", page))
        outer.addWidget(plain_label(
            "Reelscope learns what your videos look and sound like from the videos themselves — "
            "no labels, nothing downloaded. Train after importing; train again after importing "
            "many new videos. Training runs in its own process, so the window stays responsive.",
            page, wrap=True))
        top = QHBoxLayout()
        top.addWidget(self._build_controls(page), 0)
        right = QVBoxLayout()
        self.curve_title = plain_label("No training run yet", page)
        self.curves = LiveCurves(page)
        right.addWidget(self.curve_title)
        right.addWidget(self.curves, 1)
        top.addLayout(right, 1)
        outer.addLayout(top, 3)

        status = QHBoxLayout()
        self.stage_label = plain_label("", page, wrap=True)
        self.progress = QProgressBar(page)
        self.progress.setFixedWidth(260)
        self.progress.setVisible(False)
        status.addWidget(self.stage_label, 1)
        status.addWidget(self.progress)
        outer.addLayout(status)
        self.background_label = plain_label("", page, wrap=True)
        self.background_label.setVisible(False)
        outer.addWidget(self.background_label)

        split = QSplitter(Qt.Orientation.Vertical, page)
        split.addWidget(self._build_history(page))
        split.addWidget(self._build_comparison(page))
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        outer.addWidget(split, 4)
        return page

    def _build_controls(self, page: QWidget) -> QWidget:
        box = QGroupBox("Train a model", page)
        box.setMinimumWidth(380)
        form = QFormLayout(box)
        self.method = QComboBox(box)
        for key, text in METHODS.items():
            self.method.addItem(text, key)
        self.preset = QComboBox(box)
        for key, text in PRESETS.items():
            self.preset.addItem(text, key)
        self.preset.setCurrentIndex(1)
        self.by_time = QRadioButton("Time budget", box)
        self.by_epochs = QRadioButton("Epochs", box)
        self.by_time.setChecked(True)
        group = QButtonGroup(box)
        group.addButton(self.by_time)
        group.addButton(self.by_epochs)
        self.minutes = QDoubleSpinBox(box)
        self.minutes.setRange(0.05, 24 * 60)
        self.minutes.setDecimals(1)
        self.minutes.setValue(10.0)
        self.minutes.setSuffix(" min")
        self.epochs = QSpinBox(box)
        self.epochs.setRange(1, 10_000)
        self.epochs.setValue(20)
        self.by_time.toggled.connect(self._update_controls)
        length = QGridLayout()
        length.addWidget(self.by_time, 0, 0)
        length.addWidget(self.minutes, 0, 1)
        length.addWidget(self.by_epochs, 1, 0)
        length.addWidget(self.epochs, 1, 1)
        self.device = QComboBox(box)
        self.device.addItem("CPU", "cpu")
        self.device.setToolTip("A GPU is offered when PyTorch finds one")
        form.addRow("Method", self.method)
        form.addRow("Size", self.preset)
        form.addRow("Length", length)
        form.addRow("Device", self.device)
        buttons = QHBoxLayout()
        self.train_button = QPushButton("Train", box)
        self.train_button.setDefault(True)
        self.train_button.clicked.connect(self._on_train)
        self.cancel_button = QPushButton("Stop", box)
        self.cancel_button.setToolTip("Stop after the current step; the run keeps a checkpoint")
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button = QPushButton("Resume", box)
        self.resume_button.setToolTip("Continue the stopped run from its checkpoint")
        self.resume_button.clicked.connect(self._on_resume)
        for b in (self.train_button, self.cancel_button, self.resume_button):
            buttons.addWidget(b)
        form.addRow(buttons)

        layout = QVBoxLayout()
        layout.addWidget(box)
        layout.addWidget(self._build_analyse(page))
        layout.addStretch(1)
        holder = QWidget(page)
        holder.setLayout(layout)
        layout.setContentsMargins(0, 0, 0, 0)
        return holder

    def _build_analyse(self, page: QWidget) -> QWidget:
        box = QGroupBox("Analyse again", page)
        form = QFormLayout(box)
        self.coverage = QDoubleSpinBox(box)
        self.coverage.setRange(0.5, 0.99)
        self.coverage.setSingleStep(0.05)
        self.coverage.setValue(0.8)
        self.coverage.setToolTip("Share of videos whose likes should fall inside the forecast interval")
        self.split = QComboBox(box)
        for key, text in SPLITS.items():
            self.split.addItem(text, key)
        self.split.setToolTip("Which held-out videos the forecast's accuracy is measured on")
        self.analyse_button = QPushButton("Analyse again", box)
        self.analyse_button.setToolTip("Refit originality, the like forecast, hashtags and sounds "
                                       "for the run the analytics use")
        self.analyse_button.clicked.connect(self._on_analyse)
        form.addRow("Forecast interval covers", self.coverage)
        form.addRow("Test the forecast on", self.split)
        form.addRow(self.analyse_button)
        return box

    def _build_history(self, page: QWidget) -> QWidget:
        box = QGroupBox("Training runs", page)
        layout = QVBoxLayout(box)
        self.in_use_label = plain_label("", box, wrap=True)
        layout.addWidget(self.in_use_label)
        self.history = QTableWidget(0, 9, box)
        self.history.setHorizontalHeaderLabels(["Run", "Method", "Size", "Status", "Steps", "Final loss",
                                                "Device", "Precision", "Started"])
        self.history.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.history.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.history.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history.verticalHeader().setVisible(False)
        self.history.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.history.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.history.itemSelectionChanged.connect(self._on_run_chosen)
        layout.addWidget(self.history)
        row = QHBoxLayout()
        self.use_button = QPushButton("Use this run for the analytics", box)
        self.use_button.clicked.connect(self._on_use_run)
        self.compare_button = QPushButton("Compare runs", box)
        self.compare_button.clicked.connect(self._on_compare)
        self.probe_label = QComboBox(box)
        for key, text in PROBE_LABELS.items():
            self.probe_label.addItem(f"Probe predicts: {text}", key)
        row.addWidget(self.use_button)
        row.addStretch(1)
        row.addWidget(self.probe_label)
        row.addWidget(self.compare_button)
        layout.addLayout(row)
        return box

    def _build_comparison(self, page: QWidget) -> QWidget:
        box = QGroupBox("Comparison of runs", page)
        layout = QVBoxLayout(box)
        self.compare_note = plain_label("Press “Compare runs” to measure every run with embeddings "
                                        "side by side (higher is better in every column).", box, wrap=True)
        layout.addWidget(self.compare_note)
        self.comparison = QTableWidget(0, 3 + len(COMPARE_COLUMNS), box)
        self.comparison.setHorizontalHeaderLabels(["Run", "Method", "Embedding"] +
                                                  [c[1] for c in COMPARE_COLUMNS])
        for i, (_, _, tip) in enumerate(COMPARE_COLUMNS):
            self.comparison.horizontalHeaderItem(3 + i).setToolTip(tip)
        self.comparison.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.comparison.verticalHeader().setVisible(False)
        self.comparison.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.comparison.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.comparison)
        return box

    # ----------------------------------------------------------------- reading
    def refresh(self) -> None:
        if not self._gpu_probed:
            self._gpu_probed = True
            self._probe_gpu()
        run_id = self.session.run_id
        self.load("state", lambda library: _read_state(library, run_id), self._on_state)

    def _on_state(self, state: PanelState) -> None:
        self.state = state
        self.pages.setCurrentIndex(1 if state.videos else 0)
        self._fill_history(state)
        if self.stage is None:
            self._show_run_curve(self._chosen_run() or state.in_use)
        self._update_controls()

    def _fill_history(self, state: PanelState) -> None:
        chosen = self._chosen_run()
        self.history.setRowCount(0)
        runs = list(reversed(state.runs))  # newest first
        self.history.setRowCount(len(runs))
        for r, run in enumerate(runs):
            m = run.metrics
            status = STATUS_WORDS.get(run.status, run.status)
            if run.id == self.run_id and self.stage is not None:
                status = "Training…"
            cells = [run.id, run.method, run.preset, status, _count(m.get("steps")), _number_text(m.get("loss"), 3),
                     str(m.get("device") or "—"), str(m.get("precision") or "—"), _when(run.created_at)]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, run.id)
                if c >= 4 and c <= 5:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if run.id == state.in_use:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.history.setItem(r, c, item)
            if run.id == chosen:
                self.history.selectRow(r)
        if state.in_use:
            self.in_use_label.setText(f"The analytics use run {state.in_use} (in bold)"
                                      + ("" if self.session.run_id else ", the newest with embeddings") + ".")
        else:
            self.in_use_label.setText("No run has embeddings yet: train one to unlock the analytics.")
        writer = state.writer
        ours = self.child is not None and writer is not None and writer.pid == self.child.pid
        if writer is not None and writer.job == "train" and not ours and self.stage is None:
            self.background_label.setText(
                f"A training process (pid {writer.pid}) is working on this library since "
                f"{time.strftime('%H:%M', time.localtime(writer.started))}; it finishes on its own. "
                "Resume its run afterwards to embed and analyse it.")
            self.background_label.setVisible(True)
        else:
            self.background_label.setVisible(False)

    def _chosen_run(self) -> Optional[str]:
        items = self.history.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def _show_run_curve(self, run_id: Optional[str]) -> None:
        if run_id is None or self.session.library is None:
            self.curves.clear()
            self.curve_title.setText("No training run yet: choose a method and press Train.")
            return

        def show(points: tuple[list[float], list[float], list[float]]) -> None:
            if self.stage is None:
                self.curves.set_points(*points)
                self.curve_title.setText(f"Run {run_id}: loss and throughput by step"
                                         if points[0] else f"Run {run_id} has no logged steps")

        self.load("curve", lambda library: _read_curve(library, run_id), show)

    # ----------------------------------------------------------------- actions
    def start_training(self, method: str = "av-simclr", preset: str = "small",
                       time_budget_min: Optional[float] = None, epochs: Optional[int] = None,
                       device: str = "auto") -> None:
        """Train, embed and analyse (the welcome page calls this after building the demo);
        the controls show what runs. With neither bound, the preset's epochs."""
        _select(self.method, method)
        _select(self.preset, preset)
        if epochs is not None:
            self.by_epochs.setChecked(True)
            self.epochs.setValue(int(epochs))
        elif time_budget_min is not None:
            self.by_time.setChecked(True)
            self.minutes.setValue(float(time_budget_min))
        if device in ("cpu", "cuda"):
            _select(self.device, device)
        self._start(TrainPlan(method, preset, epochs, time_budget_min, device))

    def _on_train(self) -> None:
        by_time = self.by_time.isChecked()
        self._start(TrainPlan(self.method.currentData(), self.preset.currentData(),
                              None if by_time else self.epochs.value(),
                              self.minutes.value() if by_time else None, self.device.currentData()))

    def _on_resume(self) -> None:
        run_id = self.resumable or self._chosen_resumable()
        if run_id is None:
            return
        run = next((r for r in (self.state.runs if self.state else []) if r.id == run_id), None)
        base = self.plan if self.plan is not None and self.resumable == run_id else None
        self._start(TrainPlan(run.method if run else "", run.preset if run else "",
                              device=self.device.currentData(), run_id=run_id,
                              epochs=base.epochs if base else None,
                              time_budget_min=base.time_budget_min if base else None))

    def _chosen_resumable(self) -> Optional[str]:
        chosen = self._chosen_run()
        run = next((r for r in (self.state.runs if self.state else []) if r.id == chosen), None)
        return run.id if run is not None and run.status != "done" else None

    def cancel(self) -> None:
        """Stop what runs now: the child with a checkpoint, or the chain's job."""
        if self.child is not None and self.child.running:
            self.child.stop()
            self.stage_label.setText("Stopping after the current step (a checkpoint is written)…")
        elif self._job is not None:
            self._job.cancel()

    def _start(self, plan: TrainPlan) -> None:
        if self.stage is not None or self.session.path is None:
            return
        path = self.session.path

        prepare = functools.partial(prepare_training_job, library=path, new=plan.new, run_id=plan.run_id,
                                    method=plan.method, preset=plan.preset, epochs=plan.epochs,
                                    time_budget_min=plan.time_budget_min, device=plan.device)

        job = self.jobs.start("Preparing the training run", prepare, process=True, on_done=self._on_prepared,
                              on_cancel=lambda _: self._idle("Cancelled before training started."),
                              on_error=lambda message, _: self._idle(f"Training could not start: {message}"))
        if job is None:
            self.stage_label.setText(f"{self.jobs.writer_busy()} is running; train when it ends.")
            return
        self._job, self.plan, self.stage = job, plan, "preparing"
        self.resumable = None
        self.stage_label.setText("Preparing the run…")
        self._update_controls()

    def _on_prepared(self, run: "TrainingRun") -> None:
        from reelscope.core.store.lock import lock_file

        assert self.plan is not None and self.session.path is not None
        self._job, self.run_id, self.stage = None, run.id, "training"
        self._last_event = None
        child_plan = ChildPlan(self.session.path / run.dir, lock_file(self.session.path), self.plan.device,
                               self.plan.epochs, self.plan.time_budget_min)
        self.child = TrainingProcess(child_plan, self)
        self.child.progress.connect(self._on_child_progress)
        self.child.ended.connect(self._on_child_ended)
        self.curves.clear()
        self.curve_title.setText(f"Training run {run.id} ({run.method}, {run.preset}) — live")
        self.stage_label.setText("Starting the training process…")
        self.jobs.set_external_writer("Training", self.cancel)  # Cancel anywhere reaches the child
        self.child.start()
        self._update_controls()
        if self.state is not None:
            self._fill_history(self.state)

    def _on_child_progress(self, event: Any) -> None:
        self._last_event = event
        status = self._job_status()
        if status is not None:
            status.show_progress("Training", event)
        if event.stage == "train":
            metrics = event.metrics or {}
            self.curves.append(event.done, metrics.get("loss"), metrics.get("samples_per_s"))
            self.stage_label.setText(_describe(event, self.plan.epochs if self.plan else None))
            self.progress.setVisible(True)
            if event.total:
                self.progress.setRange(0, int(event.total))
                self.progress.setValue(min(int(event.done), int(event.total)))
        elif event.stage == "prepare":
            self.stage_label.setText(f"Preparing: {event.message}")

    def _on_child_ended(self, code: int, record: Optional[dict]) -> None:
        child = self.child
        assert child is not None
        self.jobs.set_external_writer(None)
        self.curves.redraw()
        if self._closing:
            return
        if code == EXIT_FINISHED:
            self._finish(child, record)
            return
        self.child = None
        child.deleteLater()
        if code == EXIT_STOPPED:
            step = (record or {}).get("step", self._last_event.done if self._last_event else 0)
            self.resumable = self.run_id
            self._idle(f"Stopped at step {step}; Resume continues from the checkpoint.")
        elif code == EXIT_BUSY:
            message = (record or {}).get("message", "the library is in use by another job")
            self._idle(f"Training did not start: {message}")
            show_error(self, "The library is busy", message)
        else:
            message = (record or {}).get("message") or (
                "the training process ended unexpectedly" + (f" (exit code {code})" if code >= 0 else
                                                              " (it was killed)"))
            self.resumable = self.run_id
            self._idle(f"Training failed: {message}. Resume continues from the last checkpoint.")
            show_error(self, "Training failed", message, child.stderr_tail)

    def _finish(self, child: TrainingProcess, record: Optional[dict]) -> None:
        """Step 3: record the run the child finished, embed every video, analyse."""
        assert self.plan is not None and self.session.path is not None
        path, run_id, device = self.session.path, self.run_id, self.plan.device
        split, coverage = self.split.currentData(), self.coverage.value()
        self.child = None
        child.deleteLater()

        finish = functools.partial(finish_training_job, library=path, run_id=run_id, device=device,
                                   split=split, coverage=coverage)

        self.stage = "finishing"
        self.stage_label.setText("Trained. Embedding every video and analysing…")
        self.progress.setRange(0, 0)
        job = self.jobs.start("Training", finish, process=True, on_done=self._on_finished,
                              on_cancel=lambda _: self._stopped_after_training(),
                              on_error=lambda message, _: self._stopped_after_training(message))
        if job is None:  # someone else's writing job slipped in: the run waits for Resume
            self._stopped_after_training(f"{self.jobs.writer_busy()} is running")
            return
        job.progress.connect(self._on_job_progress)
        self._job = job
        self._update_controls()

    def _on_job_progress(self, event: Any) -> None:
        words = {"embed": "Embedding every video", "analyze": "Analysing", "train": "Recording the run"}
        text = words.get(event.stage, event.stage.capitalize())
        if event.total:
            text += f": {event.done:,} of {event.total:,}"
            self.progress.setRange(0, int(event.total))
            self.progress.setValue(min(int(event.done), int(event.total)))
        if event.message:
            text += f" — {event.message}"
        self.stage_label.setText(text)

    def _stopped_after_training(self, message: str = "") -> None:
        self.resumable = self.run_id
        reason = f" ({message})" if message else ""
        self._idle(f"Trained, but not yet embedded and analysed{reason}. Resume finishes it.")

    def _on_finished(self, run_id: str) -> None:
        self._idle(f"Run {run_id} is trained, every video embedded and analysed; the analytics use it now.")
        self.session.set_run(run_id)
        self.session.notify_changed()

    def _idle(self, message: str) -> None:
        self.stage, self._job = None, None
        self.stage_label.setText(message)
        self.progress.setVisible(False)
        self._update_controls()
        self.refresh()

    def _on_analyse(self) -> None:
        path = self.session.path
        run_id = self.state.in_use if self.state else None
        if path is None or run_id is None:
            return
        split, coverage = self.split.currentData(), self.coverage.value()

        analyse = functools.partial(analyze_job, library=path, run_id=run_id, split=split, coverage=coverage)

        job = self.jobs.start("Analysing", analyse, process=True,
                              on_done=lambda r: self.stage_label.setText(f"Run {r} analysed again."))
        if job is None:
            self.stage_label.setText(f"{self.jobs.writer_busy()} is running; analyse when it ends.")

    def _on_compare(self) -> None:
        path = self.session.path
        if path is None:
            return
        label = self.probe_label.currentData()

        compare = functools.partial(evaluate_job, library=path, label=label)

        self.compare_note.setText("Comparing runs…")
        self.jobs.start("Comparing runs", compare, writes=False, process=True, on_done=self._show_comparison,
                        on_error=lambda message, _: self.compare_note.setText(f"Could not compare: {message}"))

    def _show_comparison(self, evaluation: Any) -> None:
        from reelscope.core.numbers import format_number

        rows = evaluation.comparison
        self.comparison.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = [row.run, row.method, row.kind] + [format_number(getattr(row, f), 3) for f, _, _ in COMPARE_COLUMNS]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c >= 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.comparison.setItem(r, c, item)
        label = PROBE_LABELS.get(evaluation.label or "", evaluation.label or "—")
        self.compare_note.setText(f"{len(evaluation.runs)} run(s) with embeddings, each embedding kind; the probe "
                                  f"predicts {label.lower()}, retrieval counts videos with the same "
                                  f"{evaluation.relevance} as relevant. Higher is better.")

    def _on_use_run(self) -> None:
        run_id = self._chosen_run()
        if run_id is not None and self.state is not None and run_id in self.state.embedded:
            self.session.set_run(run_id)

    def _on_run_chosen(self) -> None:
        self._update_controls()
        if self.stage is None:
            self._show_run_curve(self._chosen_run())

    def _on_import(self) -> None:
        library = getattr(self.window(), "panels", {}).get("library")
        if library is not None and hasattr(library, "import_dialog"):
            library.import_dialog()

    def _update_controls(self) -> None:
        idle = self.stage is None
        for w in (self.method, self.preset, self.by_time, self.by_epochs, self.device, self.train_button,
                  self.analyse_button):
            w.setEnabled(idle)
        self.minutes.setEnabled(idle and self.by_time.isChecked())
        self.epochs.setEnabled(idle and self.by_epochs.isChecked())
        self.cancel_button.setEnabled(not idle)
        self.resume_button.setVisible(idle and (self.resumable is not None or self._chosen_resumable() is not None))
        chosen = self._chosen_run()
        embedded = self.state.embedded if self.state else set()
        self.use_button.setEnabled(chosen is not None and chosen in embedded and
                                   chosen != (self.state.in_use if self.state else None))
        self.compare_button.setEnabled(bool(embedded))
        self.analyse_button.setEnabled(idle and self.state is not None and self.state.in_use is not None)

    # ------------------------------------------------------------------- device
    def _probe_gpu(self) -> None:
        """Ask a short-lived Python process whether PyTorch sees a CUDA device. Importing
        torch takes seconds and hundreds of MB, and an import on a thread raced PySide's
        import hook once (a crash while the window drew), so the window never imports it
        just to fill this list."""
        probe = QProcess(self)
        probe.setProgram(sys.executable)
        probe.setArguments(["-c", GPU_PROBE])
        probe.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)

        def done(code: int, status: QProcess.ExitStatus) -> None:
            try:
                text = bytes(probe.readAllStandardOutput().data()).decode("utf-8", "replace").strip()
                ok = code == 0 and status == QProcess.ExitStatus.NormalExit
                self._gpu_found.emit(text.splitlines()[-1] if ok and text else "")
                probe.deleteLater()
            except RuntimeError:  # the window closed first and took the probe with it
                pass

        probe.finished.connect(done)
        probe.start()

    def _on_gpu_found(self, name: str) -> None:
        if name and self.device.findData("cuda") < 0:
            self.device.insertItem(0, f"GPU ({name})", "cuda")
            if self.stage is None:
                self.device.setCurrentIndex(0)

    # ----------------------------------------------------------------- closing
    def confirm_close(self) -> bool:
        """The main window asks before closing: while the child trains, stop it with a
        checkpoint, keep it training in the background, or stay open."""
        child = self.child
        if child is None or not child.running:
            return True
        answer = self.ask_close()
        if answer not in ("stop", "background"):
            return False
        self._closing = True
        child.stop()
        if not child.wait(CLOSE_WAIT_MS):
            child.kill()  # the newest checkpoint still counts
            child.wait(5_000)
        if answer == "background" and child.exit_code == EXIT_STOPPED:
            # A QProcess kills its child when it is destroyed, and the child stops when its
            # pipe closes; so the run continues in a fresh, detached child from the
            # checkpoint just written (docs/TRAINING.md: the same command resumes).
            self.background_pid = start_detached(child.plan)
            self.resumable = self.run_id
        return True

    def _ask_close(self) -> str:
        if os.environ.get("REELSCOPE_NO_DIALOGS"):
            return "stop"  # tests: never a blocking dialog; the safe answer
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Training is running")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText("A model is training. Stop it with a checkpoint (Resume continues later), or keep "
                    "it training in the background after the window closes?")
        stop = box.addButton("Stop with a checkpoint", QMessageBox.ButtonRole.AcceptRole)
        background = box.addButton("Keep training in the background", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(stop)
        box.exec()
        clicked = box.clickedButton()
        return "stop" if clicked is stop else "background" if clicked is background else "cancel"

    def _job_status(self) -> Any:
        return getattr(self.window(), "job_status", None)


# ------------------------------------------------------------------ helpers
def _read_state(library: "Library", run_id: Optional[str]) -> PanelState:
    """On the query thread: counts, runs, the run the analytics use (``run_id``, the
    session's choice, else the newest with embeddings) and who holds the writing lock
    (asked only when the lock file exists: a reader creates nothing)."""
    from reelscope.core.analytics.data import resolve_run, runs_with_embeddings
    from reelscope.core.store.lock import LOCK_NAME, holder

    embedded = {r.id for r in runs_with_embeddings(library)}
    in_use: Optional[str]
    try:
        in_use = resolve_run(library, run_id).id
    except (FileNotFoundError, KeyError):
        in_use = None
    writer = holder(library.path) if (library.path / LOCK_NAME).exists() else None
    return PanelState(library.counts().get("imported", 0), library.runs(), embedded, in_use, writer)


def _read_curve(library: "Library", run_id: str) -> tuple[list[float], list[float], list[float]]:
    """A finished run's logged steps from its ``metrics.jsonl`` (step, loss, samples/s)."""
    import json

    run = library.run(run_id)
    path = library.path / run.dir / "metrics.jsonl"
    steps: list[float] = []
    losses: list[float] = []
    rates: list[float] = []
    if not path.is_file():
        return steps, losses, rates
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if "step" in record:
                steps.append(float(record["step"]))
                losses.append(_number(record.get("loss")))
                rates.append(_number(record.get("samples_per_s")))
    return steps, losses, rates


def _describe(event: Any, epochs: Optional[int] = None) -> str:
    """"Step 120 of 400 · epoch 3 of 20 · loss 4.21 · 85 samples/s · about 3:20 left"
    (``epochs``: the planned number, when the plan counts epochs)."""
    from reelscope.core.numbers import format_number

    m = event.metrics or {}
    parts = [f"Step {event.done:,}" + (f" of {event.total:,}" if event.total else "")]
    if m.get("epoch") is not None:  # the loop reports epochs completed after the step
        current = int(m["epoch"]) + 1
        parts.append(f"epoch {min(current, epochs)} of {epochs}" if epochs else f"epoch {current}")
    if m.get("loss") is not None:
        parts.append(f"loss {format_number(m['loss'], 3)}")
    if m.get("samples_per_s") is not None:
        parts.append(f"{format_number(m['samples_per_s'], 1)} samples/s")
    if event.eta_s is not None and math.isfinite(event.eta_s):
        minutes, seconds = divmod(int(event.eta_s), 60)
        parts.append(f"about {minutes}:{seconds:02d} left")
    return " · ".join(parts)


def _select(combo: QComboBox, key: str) -> None:
    index = combo.findData(key)
    if index >= 0:
        combo.setCurrentIndex(index)


def _number(x: Any) -> float:
    try:
        return float(x) if x is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _number_text(x: Any, digits: int) -> str:
    from reelscope.core.numbers import format_number

    return format_number(x, digits)


def _count(x: Any) -> str:
    return f"{int(x):,}" if isinstance(x, (int, float)) else "—"


def _when(ts: Optional[float]) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "—"
