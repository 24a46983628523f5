"""The Embedding map view shows core's PCA map at once, computes and swaps to the stored
t-SNE map in the background (or on the button while another job writes), and its hover,
click, box, lasso and legend act on the right videos."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF, Qt


@pytest.fixture
def library_copy(synthetic_library, tmp_path):
    """The analysed synthetic library without a stored map (computing one writes there)."""
    root = tmp_path / "lib"
    shutil.copytree(synthetic_library, root)  # copy2 keeps mtimes: the analysis stays current
    (root / "runs" / "run-a" / "analytics" / "map.npz").unlink(missing_ok=True)
    return root


def make_panel(window, qtbot):
    """The view on the window's session and jobs, shown, as the window would host it."""
    from reelscope.desktop.map_panel import MapPanel

    panel = MapPanel(window.session, window.jobs)
    qtbot.addWidget(panel)
    panel.resize(1200, 800)
    return panel


def core_map(root):
    """What core says, read independently of the panel: {id: (x, y)} and the layout."""
    from reelscope.core.query.embedding_map import embedding_map
    from reelscope.core.store.library import Library

    with Library.open(root, read_only=True) as lib:
        found = embedding_map(lib, "run-a")
    return {str(i): tuple(p) for i, p in zip(found.layout.ids, found.layout.xy)}, found


def drawn_positions(panel) -> dict[str, tuple[float, float]]:
    rows = panel.canvas.item.data["data"].astype(np.int64)
    return {str(panel.data.ids[r]): (panel.canvas.xs[r], panel.canvas.ys[r]) for r in rows}


def assert_draws(panel, expected: dict[str, tuple[float, float]]) -> None:
    drawn = drawn_positions(panel)
    assert sorted(drawn) == sorted(expected)
    assert np.allclose([drawn[k] for k in expected], [expected[k] for k in expected], atol=1e-5)


def test_pca_at_once_then_the_tsne_map_on_the_button(window, library_copy, qtbot):
    assert window.open_library(library_copy)
    window.jobs.set_external_writer("Training")  # another writer: no job starts by itself
    panel = make_panel(window, qtbot)
    panel.show()
    qtbot.waitUntil(lambda: not panel.busy() and panel.view is not None, timeout=30_000)
    pca, found = core_map(library_copy)
    assert found.layout.method == "pca" and not found.stored
    assert panel.stack.currentWidget() is panel.page
    assert panel.finding.text().startswith("PCA of the fused embeddings: the two directions that keep")
    assert_draws(panel, pca)
    assert "Training is running" in panel.status.text()
    assert panel.compute.isVisible() and panel.compute.text() == "Compute the t-SNE map"
    map_file = library_copy / "runs" / "run-a" / "analytics" / "map.npz"
    assert not map_file.exists()  # showing the map wrote nothing

    window.jobs.set_external_writer(None)
    qtbot.mouseClick(panel.compute, Qt.MouseButton.LeftButton)
    assert panel.busy() and panel.cancel.isVisible()
    assert "computing a t-SNE map of a 120-video sample" in panel.status.text()
    qtbot.waitUntil(lambda: panel.view.map.stored and not panel.busy(), timeout=60_000)
    tsne, found = core_map(library_copy)
    assert found.stored and found.layout.method == "tsne" and map_file.exists()
    assert panel.finding.text() == "t-SNE of all 120 videos' fused embeddings: similar videos lie close together."
    assert_draws(panel, tsne)
    assert not panel.compute.isVisible() and not panel.cancel.isVisible()
    assert "Stored with the run" in panel.status.text()


def test_the_tsne_map_starts_by_itself_and_replaces_pca(window, library_copy, qtbot):
    assert window.open_library(library_copy)
    panel = make_panel(window, qtbot)
    methods = []
    on_loaded = panel._on_loaded
    panel._on_loaded = lambda view: (methods.append(view.map.layout.method), on_loaded(view))
    panel.show()
    qtbot.waitUntil(lambda: panel.view is not None and panel.view.map.stored and not panel.busy(), timeout=60_000)
    assert methods[0] == "pca" and methods[-1] == "tsne"
    assert (library_copy / "runs" / "run-a" / "analytics" / "map.npz").exists()
    # Alike videos lie together: build_library's fused embeddings are led by the audio of
    # its 6 shared sounds, so a video's nearest map neighbours use its sound.
    data = panel.data
    xy = np.column_stack([panel.canvas.xs, panel.canvas.ys])
    d = ((xy[:, None] - xy[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1)[:, :5]
    sound = data.sound_codes
    assert (sound[nearest] == sound[:, None]).mean() > 0.95


def test_cancel_keeps_pca_and_offers_the_button(window, library_copy, qtbot):
    assert window.open_library(library_copy)
    window.jobs.set_external_writer("Training")
    panel = make_panel(window, qtbot)
    panel.show()
    qtbot.waitUntil(lambda: not panel.busy() and panel.view is not None, timeout=30_000)
    window.jobs.set_external_writer(None)
    panel.start_layout()
    with qtbot.waitSignal(panel.job.ended, timeout=30_000):
        panel.cancel.click()
    qtbot.waitUntil(lambda: not panel.busy(), timeout=30_000)
    assert panel.job.outcome == "cancelled"
    assert panel.status.text() == "t-SNE map cancelled; showing PCA."
    assert panel.compute.isVisible() and panel.view.map.layout.method == "pca"
    assert not (library_copy / "runs" / "run-a" / "analytics" / "map.npz").exists()


@pytest.fixture
def mapped(window, library_copy, qtbot):
    """The panel over a stored t-SNE map (computed through core, not the view)."""
    from reelscope.core.analytics.embedding_map import compute_map
    from reelscope.core.store.library import Library

    with Library.open(library_copy) as lib:
        compute_map(lib, "run-a")
    assert window.open_library(library_copy)
    panel = make_panel(window, qtbot)
    panel.show()
    qtbot.waitUntil(lambda: panel.view is not None and not panel.busy(), timeout=30_000)
    assert panel.view.map.stored
    return panel


def point_in_view(panel):
    """A drawn point, zoomed in on until no other point is within 20 px, and its scene
    position (a t-SNE map packs alike videos tightly)."""
    canvas = panel.canvas
    xy = np.column_stack([canvas.xs, canvas.ys])
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    k = int(np.argmax(d.min(axis=1)))
    half = 4 * d[k].min()
    canvas.vb.setRange(xRange=(xy[k, 0] - half, xy[k, 0] + half), yRange=(xy[k, 1] - half, xy[k, 1] + half),
                       padding=0)
    scene = [canvas.vb.mapViewToScene(QPointF(*p)) for p in xy]
    pix = np.array([[p.x(), p.y()] for p in scene])
    gaps = np.hypot(*(pix - pix[k]).T)
    gaps[k] = np.inf
    assert gaps.min() > 20 and k in set(canvas.shown)
    return k, scene[k]


def test_hover_shows_the_video_and_a_click_selects_it(mapped, qtbot):
    panel, canvas = mapped, mapped.canvas
    index, scene_pos = point_in_view(panel)
    canvas.scene().sigMouseMoved.emit(scene_pos + QPointF(3, -2))
    assert canvas.card.isVisible()
    lines = canvas.card.text.text().splitlines()
    data = panel.data
    assert lines[0] == str(data.ids[index])
    assert lines[1].startswith(f"by {data.authors[data.author_codes[index]]} (")
    assert "originality" in lines[2] and lines[3] == f"sound: {data.sounds[data.sound_codes[index]]}"
    canvas.scene().sigMouseMoved.emit(scene_pos + QPointF(canvas.width(), 0))
    assert not canvas.card.isVisible()
    with qtbot.waitSignal(panel.session.video_selected, timeout=5000) as signal:
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(scene_pos))
    assert signal.args == [str(data.ids[index])]
    assert len(canvas.ring.data) == 1 and np.isclose(canvas.ring.data["x"][0], canvas.xs[index])


def test_box_and_lasso_open_exactly_the_videos_inside(mapped, library_copy, qtbot):
    panel = mapped
    positions, _ = core_map(library_copy)
    ids = np.array(sorted(positions))
    xy = np.array([positions[i] for i in ids])
    (x0, y0), (x1, y1) = np.percentile(xy, 25, axis=0), np.percentile(xy, 75, axis=0)
    inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    assert 3 <= inside.sum() < len(ids)

    panel.canvas.vb.box_drawn.emit(QRectF(QPointF(x0, y0), QPointF(x1, y1)))
    assert sorted(panel.selected_ids()) == list(ids[inside])
    assert panel.selection_label.text() == f"Selection: {inside.sum()} videos"
    with qtbot.waitSignal(panel.session.gallery_requested, timeout=5000) as signal:
        qtbot.mouseClick(panel.open_gallery, Qt.MouseButton.LeftButton)
    assert signal.args[0] == f"{inside.sum()} videos selected on the map"
    assert sorted(signal.args[1]) == list(ids[inside])

    panel.clear_selection.click()
    panel.canvas.vb.lasso_drawn.emit(np.array([[x0, y0], [x1, y0], [x0, y1]]))  # the lower-left half
    below = inside & ((xy[:, 0] - x0) / (x1 - x0) + (xy[:, 1] - y0) / (y1 - y0) < 1)
    assert sorted(panel.selected_ids()) == list(ids[below])


def test_colour_by_sound_and_hide_one(mapped):
    panel, data = mapped, mapped.data
    panel.colour_by.setCurrentIndex(panel.colour_by.findData("sound"))
    labels = [panel.legend.item(i).text() for i in range(panel.legend.count())]
    assert labels[0].startswith(data.sounds[0] + " (")
    assert sum(int(t.rsplit("(", 1)[1].rstrip(")")) for t in labels) == len(data)
    panel.legend.item(0).setCheckState(Qt.CheckState.Unchecked)
    drawn = panel.canvas.item.data["data"].astype(np.int64)
    assert len(drawn) == int((data.sound_codes != 0).sum()) and not np.any(data.sound_codes[drawn] == 0)


def test_a_library_without_a_run_offers_training(window, qtbot, tmp_path):
    from reelscope.core.store.library import Library

    Library.create(tmp_path / "empty").close()
    assert window.open_library(tmp_path / "empty")
    panel = make_panel(window, qtbot)
    panel.show()
    qtbot.waitUntil(lambda: panel.view is not None and not panel.busy(), timeout=30_000)
    assert panel.stack.currentWidget() is panel.empty
    assert panel.empty.label.text().startswith("No training run yet")
    assert panel.job is None


def test_align_puts_each_video_at_its_own_position():
    from reelscope.desktop.map_panel import align

    rows = np.array(["a", "c", "zz", "b"])
    ids = np.array(["c", "b", "a", "q"])
    xy = np.array([[3, 30], [2, 20], [1, 10], [9, 90]], dtype=np.float32)
    x, y = align(rows, ids, xy)
    assert np.allclose(x[[0, 1, 3]], [1, 3, 2]) and np.allclose(y[[0, 1, 3]], [10, 30, 20])
    assert np.isnan(x[2]) and np.isnan(y[2])
