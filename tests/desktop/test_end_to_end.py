"""The whole mission through the window's own actions, as a new user would do it: build
and import a library (the start page's demo button), train it (tiny) from the Training
view, select videos on the plot and open them in the gallery, check a held-back draft,
export a report — and every user text on the way stays plain text."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF, QPointF, QSettings, Qt
from PySide6.QtWidgets import QLabel

from conftest import wait_drawn


@pytest.mark.slow
def test_import_train_scatter_gallery_draft_report(window, qtbot, tmp_path):
    root = tmp_path / "demo"
    QSettings().setValue("demo/dir", str(root))

    # 1. Start page: build the demo library (generation + import as one job), which opens it.
    welcome = window.show_view("welcome")
    welcome.build_demo(root, videos=36, train=False)
    job = window.jobs.current
    with qtbot.waitSignal(job.ended, timeout=300_000):
        pass
    assert job.outcome == "succeeded", job.error
    qtbot.waitUntil(lambda: window.session.library is not None, timeout=20_000)
    imported = window.session.library.counts()["imported"]
    assert imported >= 20
    videos = window.current_panel()
    assert videos.name == "library"
    wait_drawn(qtbot, window)
    assert videos.model.rowCount() >= imported
    # The detail pane shows real frames of the selected video (with or without a player).
    first = videos.model.row_at(0).id
    window.session.select(first)
    qtbot.waitUntil(lambda: videos.detail.detail is not None and videos.detail.detail.id == first, timeout=20_000)
    qtbot.waitUntil(lambda: all(not lab.pixmap().isNull() for lab in videos.detail.strip_labels), timeout=30_000)
    frame = videos.detail.strip_labels[0].pixmap().toImage()
    assert len({frame.pixel(x, frame.height() // 2) for x in range(0, frame.width(), 4)}) > 3  # not a flat box

    # 2. Training view: tiny preset, one epoch; train -> embed -> analyse in one chain.
    training = window.show_view("training")
    wait_drawn(qtbot, window)
    training.start_training(method="av-simclr", preset="tiny", epochs=1, device="cpu")
    qtbot.waitUntil(lambda: training.child is not None or training.stage is None, timeout=60_000)
    qtbot.waitUntil(lambda: training.stage is None, timeout=600_000)
    run_id = window.session.run_id
    assert run_id is not None
    run = window.session.library.run(run_id)
    assert run.status == "done"

    # 3. Originality vs likes: a box over the middle of the plot, then open it in the gallery.
    scatter = window.show_view("scatter")
    qtbot.waitUntil(lambda: getattr(scatter, "view", None) is not None and len(scatter.canvas.xs) > 0,
                    timeout=60_000)
    wait_drawn(qtbot, window)
    assert "Spearman" in scatter.finding.text()
    ys = np.asarray(scatter.canvas.ys, dtype=float)
    scatter.canvas.vb.box_drawn.emit(QRectF(QPointF(-1.0, float(np.nanmin(ys)) - 1),
                                            QPointF(101.0, float(np.nanmax(ys)) + 1)))
    chosen = scatter.selected_ids()
    assert len(chosen) >= 10
    with qtbot.waitSignal(window.session.gallery_requested, timeout=5000):
        qtbot.mouseClick(scatter.open_gallery, Qt.MouseButton.LeftButton)
    similar = window.current_panel()
    assert similar.name == "similar"
    wait_drawn(qtbot, window)
    assert sorted(similar.gallery.ids()) == sorted(chosen)

    # 4. Check a draft: a demo video the library never saw.
    known = window.session.library.video_ids()
    draft = next(p for p in sorted((root / "source" / "videos").glob("*.mp4")) if p.stem not in known)
    drafts = window.show_view("draft")
    wait_drawn(qtbot, window)
    drafts.add_files([draft])
    drafts.check()
    qtbot.waitUntil(lambda: drafts.drafts and drafts.drafts[0].result is not None, timeout=180_000)
    result = drafts.drafts[0].result
    assert "error" not in result, result
    likes = result["likes"]
    assert likes["low"] <= likes["forecast"] <= likes["high"]
    assert drafts.table.rowCount() == 1

    # 5. Reports: an HTML report of this run, opened when done (the opener is recorded).
    reports = window.show_view("reports")
    wait_drawn(qtbot, window)
    opened: list = []
    reports.opener = opened.append
    reports.format_box.setCurrentIndex(reports.format_box.findData("html"))
    reports.export()
    qtbot.waitUntil(lambda: bool(opened), timeout=180_000)
    out = opened[0]
    assert out.is_file() and out.stat().st_size > 10_000
    assert out.suffix == ".html" and run_id in out.read_text(encoding="utf-8")

    # Every label in every view shows user text literally.
    for key in ("library", "authors", "scatter", "similar", "draft", "sounds", "training", "reports"):
        window.show_view(key)
        wait_drawn(qtbot, window)
    rich = [lab for lab in window.findChildren(QLabel)
            if lab.textFormat() != Qt.TextFormat.PlainText and "<" in lab.text()
            and not lab.text().lstrip().startswith("<p")]
    assert not rich, [lab.text()[:80] for lab in rich]
