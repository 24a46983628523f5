"""The desktop window at scale: every figure of the desktop-scale issue beside its goal and
beside the naive way measured in the same run, on a 300,000-video library and a
10,000-video one (both from bench/make_big_library.py; built when missing).

    python bench/gui.py [--big DIR] [--small DIR] [--model] [--stall-library DIR] [--skip-stalls]

Runs offscreen (QT_QPA_PLATFORM=offscreen unless a display is set). Figures:

- first paint after launch with 10,000 videos (a child process; launch -> the window's
  first paint, and -> the table drawn), naive: the same with torch, sklearn and
  hnswlib imported before the window;
- the scatter at 300,000 points: first draw, a pan/zoom repaint, a recolour, a hover
  lookup and a lasso of about 50,000 points; naive: one ScatterPlotItem with a brush per
  point, ``pointsAt`` for hover;
- the table: sort by likes and a page scroll; naive: a QTableWidget filled with the rows
  (5,000 rows filled and timed, scaled linearly: filling 300,000 takes minutes);
- a warm similar-video query with its gallery;
- a video's detail pane (forecast, originality, hashtag suggestions from the library's
  neighbour bank), the first and a second video;
- the longest event-loop stall while an import, an analysis and a training run go on
  (each long enough to take >= 10 s on this machine);
- the window's peak memory with the 300,000 library open and every view above drawn
  (``--model``: the 300,000 library with real embedding sizes, 128/128/256, as a trained
  run gives; without it the bench's 8/8/16).

It ends with one JSON line: each figure, its goal and "ok".
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

GOALS = {  # seconds (memory: MB)
    "first_paint_10k_s": 1.5, "scatter_first_draw_s": 0.5, "scatter_pan_zoom_s": 0.05,
    "scatter_recolour_s": 0.15, "hover_lookup_s": 0.005, "lasso_50k_s": 0.1,
    "table_sort_likes_s": 0.3, "table_page_scroll_s": 0.016, "similar_warm_s": 0.2,
    "stall_import_s": 0.1, "stall_analysis_s": 0.1, "stall_training_s": 0.1,
    "peak_memory_mb": 2048,
}
results: dict[str, Any] = {}


def report(name: str, value: float, naive: float | None = None, unit: str = "s") -> None:
    goal = GOALS.get(name)
    ok = goal is None or value <= goal
    results[name] = {"value": round(value, 4), "goal": goal, "ok": ok,
                     **({"naive": round(naive, 4)} if naive is not None else {})}
    scale = 1000 if unit == "s" else 1
    shown = f"{value * scale:9.1f} {'ms' if unit == 's' else unit}"
    goal_s = f"goal {goal * scale:7.1f}" if goal is not None else " " * 12
    naive_s = f"naive {naive * scale:10.1f} ({naive / value:6.1f}x)" if naive else ""
    print(f"{name:<24} {shown}  {goal_s}  {'ok ' if ok else 'MISS'}  {naive_s}", flush=True)


# ----------------------------------------------------------------- first paint
CHILD = r'''
import os, sys, time
eager = sys.argv[2] == "naive"
if eager:  # the naive app: heavy libraries imported before the window exists
    import torch, sklearn.ensemble, hnswlib  # noqa
from reelscope.desktop.app import make_app
from reelscope.desktop.main_window import MainWindow
from PySide6.QtCore import QObject, QEvent
app = make_app()
win = MainWindow()
class First(QObject):
    done = False
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Paint and not self.done:
            self.done = True
            print("painted", time.time(), flush=True)
        return False
f = First(); win.installEventFilter(f)
win.resize(1400, 900); win.show()
win.open_library(sys.argv[1])
panel = win.current_panel()
while panel.busy() or not f.done:
    app.processEvents()
    time.sleep(0.002)
app.processEvents()
print("drawn", time.time(), flush=True)
'''


def first_paint(library: Path, mode: str) -> tuple[float, float]:
    start = time.time()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(library), mode], capture_output=True,
                          text=True, timeout=300)
    marks = dict(line.split() for line in proc.stdout.splitlines() if line.split()[0] in ("painted", "drawn"))
    if "drawn" not in marks:
        raise RuntimeError(proc.stderr[-2000:])
    return float(marks["painted"]) - start, float(marks["drawn"]) - start


# ------------------------------------------------------------------ in-process
def wait(app: Any, until: Callable[[], bool], timeout: float = 300.0) -> float:
    t = time.perf_counter()
    while not until():
        app.processEvents()
        if time.perf_counter() - t > timeout:
            raise TimeoutError("the window did not finish in time")
        time.sleep(0.0005)
    return time.perf_counter() - t


def table_figures(app: Any, win: Any) -> Callable[[], None]:
    """The table's figures; returns the naive measure, run after the window's memory is read."""
    from dataclasses import replace

    panel = win.show_view("library")
    wait(app, lambda: not win.busy())
    model = panel.model
    model.set_query(replace(model.query, sort="followers"))
    wait(app, lambda: not model.waiting)
    t = time.perf_counter()
    model.set_query(replace(model.query, sort="likes", descending=True))
    wait(app, lambda: not model.waiting)
    panel.table.viewport().repaint()
    sort_s = time.perf_counter() - t
    # A page scroll over rows already read (the common case), then one that reads a page.
    bar = panel.table.verticalScrollBar()
    scroll = []
    for _ in range(5):
        t = time.perf_counter()
        bar.setValue(bar.value() + bar.pageStep())
        panel.table.viewport().repaint()
        wait(app, lambda: not model.waiting)
        scroll.append(time.perf_counter() - t)
    report("table_page_scroll_s", float(np.median(scroll)))
    rows = [model.row_at(i) for i in range(min(model.rowCount(), 200))]
    total = model.rowCount()
    return lambda: naive_table(rows, total, sort_s)


def naive_table(rows: list, total: int, sort_s: float) -> None:
    """Naive: every row in a QTableWidget (5,000 timed, scaled to the library)."""
    from PySide6.QtWidgets import QTableWidget, QTableWidgetItem

    from reelscope.desktop.video_table import COLUMNS, display

    sample = 5_000
    widget = QTableWidget(sample, len(COLUMNS))
    t = time.perf_counter()
    for i in range(sample):
        row = rows[i % len(rows)]
        for j, col in enumerate(COLUMNS):
            widget.setItem(i, j, QTableWidgetItem(display(row, col.key)))
    widget.sortItems(5)
    naive_fill = (time.perf_counter() - t) * total / sample
    widget.deleteLater()
    report("table_sort_likes_s", sort_s, naive_fill)


def similar_figure(app: Any, win: Any) -> None:
    from reelscope.core.query import video_page

    panel = win.show_view("similar")
    ids = [r.id for r in video_page(win.session.library, limit=3).rows]
    panel.show_video(ids[0])
    wait(app, lambda: not win.busy())
    t = time.perf_counter()
    panel.show_video(ids[1])
    wait(app, lambda: not win.busy() and bool(panel.gallery.ids()))
    app.processEvents()
    report("similar_warm_s", time.perf_counter() - t)


def detail_figure(app: Any, win: Any) -> None:
    """The library view's detail pane: the first video (builds the hashtag suggester's bank
    from the library) and another (warm)."""
    from reelscope.core.query import video_page

    panel = win.show_view("library")
    ids = [r.id for r in video_page(win.session.library, limit=3).rows]
    for name, vid in (("detail_first_s", ids[0]), ("detail_warm_s", ids[1])):
        t = time.perf_counter()
        panel.show_video(vid)
        wait(app, lambda: not win.busy() and panel.detail.detail is not None
             and panel.detail.detail.id == vid)
        app.processEvents()
        report(name, time.perf_counter() - t)
    if not panel.detail.suggested.text():
        raise RuntimeError("the detail pane shows no hashtag suggestions")


def scatter_figures(app: Any, win: Any) -> Callable[[], None]:
    """The scatter's figures; returns the naive measures, run after the memory is read."""
    from PySide6.QtCore import QPointF

    panel = win.show_view("scatter")
    t = time.perf_counter()
    wait(app, lambda: not win.busy() and getattr(panel, "view", None) is not None)
    canvas = panel.canvas
    canvas.viewport().repaint()
    # First draw: the arrays in, the canvas painted (the query that reads them is timed apart).
    t = time.perf_counter()
    panel._plot()
    canvas.viewport().repaint()
    first = time.perf_counter() - t
    vb = canvas.vb
    (x0, x1), (y0, y1) = vb.viewRange()
    pans = []  # one frame of a pan: the new range, then the canvas painted once
    for k in range(5):
        app.processEvents()
        t = time.perf_counter()
        vb.setRange(xRange=(x0 + k, x1 + k), yRange=(y0, y1), padding=0)
        canvas.viewport().repaint()
        pans.append(time.perf_counter() - t)
    vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
    combo = panel.colour_by if hasattr(panel, "colour_by") else None
    t = time.perf_counter()
    if combo is not None:
        combo.setCurrentIndex((combo.currentIndex() + 1) % combo.count())
    else:
        panel._plot(recolour=True)
    app.processEvents()
    canvas.viewport().repaint()
    recolour = time.perf_counter() - t
    xs, ys = np.asarray(canvas.xs), np.asarray(canvas.ys)
    rng = np.random.default_rng(0)
    picks = rng.choice(np.flatnonzero(np.isfinite(xs) & np.isfinite(ys)), 500)
    scene = [vb.mapViewToScene(QPointF(xs[i], ys[i])) for i in picks]
    t = time.perf_counter()
    for p in scene:
        canvas.point_at(p)
    hover = (time.perf_counter() - t) / len(scene)
    # A lasso (a square) holding about 50,000 points: the x band around the median.
    finite = np.isfinite(xs) & np.isfinite(ys)
    lo, hi = np.quantile(xs[finite], [0.4, 0.4 + 50_000 / finite.sum()])
    ylo, yhi = ys[finite].min() - 1, ys[finite].max() + 1
    square = np.array([[lo, ylo], [hi, ylo], [hi, yhi], [lo, yhi]])
    t = time.perf_counter()
    chosen = canvas.in_lasso(square)
    lasso = time.perf_counter() - t
    report("scatter_first_draw_s", first)
    report("scatter_pan_zoom_s", float(np.median(pans)))
    report("scatter_recolour_s", recolour)
    report("hover_lookup_s", hover)
    report("lasso_50k_s", lasso)
    results["lasso_points"] = int(len(chosen))
    results["scatter_points"] = int(finite.sum())
    probe = (float(xs[picks[0]]), float(ys[picks[0]]))
    return lambda: naive_scatter(xs[finite], ys[finite], probe, first, recolour, hover)


def naive_scatter(xs: np.ndarray, ys: np.ndarray, probe: tuple[float, float], first: float, recolour: float,
                  hover: float) -> None:
    """Naive: one plain ScatterPlotItem with a brush per point; pointsAt for hover."""
    import pyqtgraph as pg
    from PySide6.QtCore import QPointF

    rng = np.random.default_rng(1)
    finite = np.ones(len(xs), dtype=bool)
    plot = pg.PlotWidget()
    plot.resize(1000, 700)
    plot.show()
    brushes = [pg.mkBrush(pg.intColor(int(g) % 10)) for g in rng.integers(0, 10, len(xs))]
    t = time.perf_counter()
    item = pg.ScatterPlotItem(x=xs[finite], y=ys[finite], brush=[b for b, f in zip(brushes, finite) if f],
                              size=5, pxMode=True)
    plot.addItem(item)
    plot.viewport().repaint()
    naive_first = time.perf_counter() - t
    t = time.perf_counter()
    item.pointsAt(QPointF(*probe))
    naive_hover = time.perf_counter() - t
    t = time.perf_counter()
    item.setBrush([pg.mkBrush(pg.intColor(int(g) % 7)) for g in rng.integers(0, 7, int(finite.sum()))])
    plot.viewport().repaint()
    naive_recolour = time.perf_counter() - t
    plot.close()
    report("scatter_first_draw_s", first, naive_first)
    report("scatter_recolour_s", recolour, naive_recolour)
    report("hover_lookup_s", hover, naive_hover)


# ---------------------------------------------------------------------- stalls
class StallMeter:
    """The longest gap between ticks of a 5 ms timer while something runs."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.last = time.perf_counter()
        self.worst = 0.0
        self.timer = QTimer()
        self.timer.timeout.connect(self.tick)

    def tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self.last)
        self.last = now

    def __enter__(self) -> "StallMeter":
        self.last, self.worst = time.perf_counter(), 0.0
        self.timer.start(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.stop()


def stall_figures(app: Any, source_videos: Path, analysis_library: Path, work: Path) -> None:
    import functools

    from reelscope.desktop.import_dialog import start_import
    from reelscope.desktop.main_window import MainWindow
    from reelscope.desktop.process_jobs import analyze_job

    win = MainWindow()
    win.resize(1400, 900)
    win.show()
    # Import: a folder of real videos into a new library, through the window's import.
    job = start_import(win, work / "imported", [source_videos], [], None, create=True)
    with StallMeter() as meter:
        took = wait(app, lambda: job.outcome is not None, timeout=1800)
    report("stall_import_s", meter.worst)
    results["import_seconds"] = round(took, 1)
    wait(app, lambda: win.session.library is not None and not win.busy())
    # Analysis: `analyze` of the 10,000-video library as the Training view's "Analyse again".
    win.open_library(analysis_library)
    path = win.session.path

    analyse = functools.partial(analyze_job, library=path)  # as the window's "Analyse again" runs it
    job = win.jobs.start("Analysing", analyse, process=True)
    with StallMeter() as meter:
        took = wait(app, lambda: job.outcome is not None, timeout=1800)
    report("stall_analysis_s", meter.worst)
    results["analysis_seconds"] = round(took, 1)
    # Training: the Training view's chain (child process) on the imported library.
    win.open_library(work / "imported")
    training = win.show_view("training")
    wait(app, lambda: not win.busy())
    training.start_training(method="av-simclr", preset="tiny", time_budget_min=0.25, device="cpu")
    with StallMeter() as meter:
        took = wait(app, lambda: training.stage is not None, timeout=60)
        took += wait(app, lambda: training.stage is None, timeout=1800)
    report("stall_training_s", meter.worst)
    results["training_seconds"] = round(took, 1)
    win.close()


def run_stalls(app: Any, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="reelscope-bench-gui-") as tmp:
        work = Path(tmp)
        videos = args.videos
        if videos is None:
            from reelscope.demo.generator import DemoSpec, generate_demo

            videos = generate_demo(work / "demo", DemoSpec(videos=120, seed=3)).videos_dir
        analysis_copy = work / "analysis-10k"
        shutil.copytree(args.small, analysis_copy)
        stall_figures(app, videos, analysis_copy, work)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--big", type=Path, default=Path(tempfile.gettempdir()) / "reelscope-bench-300k")
    ap.add_argument("--small", type=Path, default=Path(tempfile.gettempdir()) / "reelscope-bench-10k")
    ap.add_argument("--videos", type=Path, default=None,
                    help="a folder of real videos for the import stall (default: a generated demo)")
    ap.add_argument("--model", action="store_true",
                    help="the 300,000 library with real weights and embedding sizes (make_big_library --model)")
    ap.add_argument("--skip-stalls", action="store_true")
    ap.add_argument("--only-stalls", action="store_true", help="only the event-loop stalls during jobs")
    args = ap.parse_args()
    from make_big_library import ensure

    ensure(args.small, 10_000)
    if args.only_stalls:
        from reelscope.desktop.app import make_app

        run_stalls(make_app(), args)
        print(json.dumps({"bench": "gui-stalls", "cpus": os.cpu_count(), **results}))
        return
    ensure(args.big, 300_000, model=args.model)
    painted, drawn = first_paint(args.small, "app")
    naive_painted, naive_drawn = first_paint(args.small, "naive")
    report("first_paint_10k_s", painted, naive_painted)
    results["table_drawn_10k_s"] = round(drawn, 3)
    results["table_drawn_10k_naive_s"] = round(naive_drawn, 3)
    print(f"{'(table drawn, 10k)':<24} {drawn * 1000:9.1f} ms  naive {naive_drawn * 1000:.1f} ms")

    from reelscope.desktop.app import make_app
    from reelscope.desktop.main_window import MainWindow

    app = make_app()
    win = MainWindow()
    win.resize(1400, 900)
    win.show()
    win.open_library(args.big)
    wait(app, lambda: not win.busy())
    naive_table_fn = table_figures(app, win)
    naive_scatter_fn = scatter_figures(app, win)
    similar_figure(app, win)
    detail_figure(app, win)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before any naive measure
    report("peak_memory_mb", peak, unit="MB")
    win.close()
    print("the naive ways, measured in the same run (each figure printed again with its ratio):")
    naive_table_fn()
    naive_scatter_fn()
    if not args.skip_stalls:  # in a fresh process, as a user's window is: one library, not 300,000 videos' leftovers
        cmd = [sys.executable, __file__, "--small", str(args.small), "--only-stalls"]
        if args.videos:
            cmd += ["--videos", str(args.videos)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        for line in out.stdout.splitlines():
            if line.startswith("{"):
                stalls = json.loads(line)
                results.update({k: v for k, v in stalls.items() if k not in ("bench", "cpus")})
            else:
                print(line, flush=True)
    print(json.dumps({"bench": "gui", "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
                      "embedding_sizes": "real" if args.model else "bench",
                      "ok": all(r["ok"] for r in results.values() if isinstance(r, dict)), **results}))


if __name__ == "__main__":
    main()
