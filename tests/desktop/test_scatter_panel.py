"""The Originality vs likes view shows core's arrays and stored correlation, and its
hover, click, box, lasso, legend, toggle and CSV export act on the right videos."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest
from conftest import wait_drawn
from PySide6.QtCore import QPointF, QRectF, Qt


@pytest.fixture
def scatter(opened, qtbot):
    panel = opened.show_view("scatter")
    wait_drawn(qtbot, opened)
    assert panel.stack.currentWidget() is panel.page
    return panel


@pytest.fixture
def core_data(opened):
    """What core says, read independently of the panel."""
    from reelscope.core.query import scatter_data

    return scatter_data(opened.session.library, "run-a")


def plotted(data) -> np.ndarray:
    return np.isfinite(data.originality) & np.isfinite(data.likes)


def drawn_rows(scatter) -> np.ndarray:
    """Rows of core's arrays the scatter item draws (its per-point ``data``)."""
    return scatter.canvas.item.data["data"].astype(np.int64)


def test_plot_holds_every_video_with_originality_and_likes(scatter, core_data):
    both = plotted(core_data)
    assert 0 < both.sum() <= len(core_data)
    assert len(scatter.canvas.item.data) == both.sum()
    assert sorted(drawn_rows(scatter)) == list(np.flatnonzero(both))
    shown_y = scatter.canvas.ys[scatter.canvas.shown]
    assert np.allclose(10 ** shown_y - 1, core_data.likes[both])
    legend_total = sum(int(scatter.legend.item(i).text().rsplit("(", 1)[1].rstrip(")").replace(",", ""))
                       for i in range(scatter.legend.count()))
    assert legend_total == both.sum()


def test_the_sentence_carries_the_stored_rho_and_the_reference(scatter, opened):
    from reelscope.core.analytics.analyze import load_analysis
    from reelscope.core.numbers import format_number

    vs = load_analysis(opened.session.library, "run-a").result.originality.vs_likes
    text = scatter.finding.text()
    assert f"ρ = {format_number(vs.raw.rho, 2)}" in text
    assert f"{format_number(vs.raw.ci_low, 2)} to {format_number(vs.raw.ci_high, 2)}" in text
    assert "2021 study found a slightly negative link" in text


def test_colour_by_sound_lists_the_most_used_sounds(scatter, core_data):
    scatter.colour_by.setCurrentIndex(scatter.colour_by.findData("sound"))
    labels = [scatter.legend.item(i).text() for i in range(scatter.legend.count())]
    assert labels[0].startswith(core_data.sounds[0] + " (")
    for sound in core_data.sounds[:6]:
        assert any(label.startswith(sound + " (") for label in labels)
    assert "Sound" in scatter.legend_title.text()
    # Unticking the first sound hides its videos from the plot.
    first = scatter.legend.item(0)
    first.setCheckState(Qt.CheckState.Unchecked)
    drawn = drawn_rows(scatter)
    assert not np.any(core_data.sound_codes[drawn] == 0)
    assert len(drawn) == np.sum(plotted(core_data) & (core_data.sound_codes != 0))


def test_box_and_lasso_select_exactly_the_points_inside(scatter, core_data, qtbot):
    x = core_data.originality.astype(float)
    y = np.log10(1 + core_data.likes)
    x0, x1 = 20.0, 70.0
    y0, y1 = np.nanpercentile(y, 20), np.nanpercentile(y, 80)
    inside = plotted(core_data) & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    expected = sorted(core_data.ids[inside])
    assert 3 <= len(expected) < plotted(core_data).sum()

    scatter.canvas.vb.box_drawn.emit(QRectF(QPointF(x0, y0), QPointF(x1, y1)))
    assert sorted(scatter.selected_ids()) == expected
    assert scatter.selection_label.text() == f"Selection: {len(expected)} videos"
    with qtbot.waitSignal(scatter.session.gallery_requested, timeout=5000) as signal:
        qtbot.mouseClick(scatter.open_gallery, Qt.MouseButton.LeftButton)
    title, ids = signal.args
    assert title == f"{len(expected)} videos selected on the plot"
    assert sorted(ids) == expected

    scatter.clear_selection.click()
    assert scatter.selected_ids() == []
    # The same square drawn as a lasso, then a triangle: its lower-left half.
    scatter.canvas.vb.lasso_drawn.emit(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]))
    assert sorted(scatter.selected_ids()) == expected
    scatter.canvas.vb.lasso_drawn.emit(np.array([[x0, y0], [x1, y0], [x0, y1]]))
    below = inside & ((x - x0) / (x1 - x0) + (y - y0) / (y1 - y0) < 1)
    assert sorted(scatter.selected_ids()) == sorted(core_data.ids[below])


def point_in_view(scatter, core_data):
    """A plotted point with no other point within 20 px, and its scene position."""
    canvas = scatter.canvas
    pos = [canvas.vb.mapViewToScene(QPointF(canvas.xs[i], canvas.ys[i])) for i in canvas.shown]
    xy = np.array([[p.x(), p.y()] for p in pos])
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    k = int(np.argmax(d.min(axis=1)))
    assert d[k].min() > 20
    return int(canvas.shown[k]), pos[k]


def test_hover_finds_the_point_under_the_cursor(scatter, core_data):
    index, scene_pos = point_in_view(scatter, core_data)
    canvas = scatter.canvas
    assert canvas.point_at(canvas.vb.mapSceneToView(scene_pos)) == index
    assert canvas.point_at(canvas.vb.mapSceneToView(scene_pos + QPointF(4, -3))) == index
    canvas.scene().sigMouseMoved.emit(scene_pos)
    assert canvas.card.isVisible()
    assert str(core_data.ids[index]) in canvas.card.text.text()
    assert "likes" in canvas.card.text.text()
    canvas.scene().sigMouseMoved.emit(scene_pos + QPointF(canvas.width(), 0))
    assert not canvas.card.isVisible()


def test_clicking_a_point_selects_its_video(scatter, core_data, qtbot):
    index, scene_pos = point_in_view(scatter, core_data)
    canvas = scatter.canvas
    widget_pos = canvas.mapFromScene(scene_pos)
    with qtbot.waitSignal(scatter.session.video_selected, timeout=5000) as signal:
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=widget_pos)
    assert signal.args == [str(core_data.ids[index])]
    ring = canvas.ring.data
    assert len(ring) == 1 and np.isclose(ring["x"][0], canvas.xs[index])


def test_csv_export_writes_the_selection_and_defuses_formulas(scatter, core_data, tmp_path):
    from reelscope.desktop.scatter_panel import ScatterView

    data = scatter.view.data
    authors = ("=HYPERLINK(\"http://x\")",) + data.authors[1:]
    scatter.view = ScatterView(dataclasses.replace(data, authors=authors), scatter.view.vs_likes,
                               scatter.view.finding)
    rows = np.flatnonzero(plotted(core_data))[:7]
    rows = np.union1d(rows, np.flatnonzero(core_data.author_codes == 0)[:2])
    scatter.set_selection(rows)
    out = tmp_path / "sel.csv"
    assert scatter.export_csv(out) == len(rows)
    with open(out, newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == ["id", "likes", "originality", "followers", "author", "sound", "category"]
    assert [r["id"] for r in table] == [str(core_data.ids[i]) for i in rows]
    for r, i in zip(table, rows):
        assert float(r["likes"]) == pytest.approx(core_data.likes[i], abs=0.5)
        assert float(r["originality"]) == pytest.approx(core_data.originality[i], abs=0.006)
        if core_data.author_codes[i] == 0:
            assert r["author"] == "'" + authors[0]
        else:
            assert r["author"] == core_data.authors[core_data.author_codes[i]]
    assert any(r["author"].startswith("'=") for r in table)
    png = tmp_path / "plot.png"
    assert scatter.export_png(png) and png.stat().st_size > 1000


def test_equal_follower_counts_remove_the_follower_effect():
    from reelscope.desktop.scatter_panel import equal_follower_likes

    followers = np.array([10.0, 100.0, 1_000.0, 10_000.0, np.nan, 100_000.0])
    likes = np.expm1(0.5 * np.log1p(followers) + 2.0)  # likes fully explained by followers
    likes[4] = 50.0
    adjusted, median = equal_follower_likes(likes, followers)
    known = np.isfinite(followers)
    centre = np.median(np.log1p(followers[known]))
    assert np.allclose(adjusted[known], np.expm1(0.5 * centre + 2.0))
    assert np.isnan(adjusted[4])
    assert median == pytest.approx(np.expm1(centre))


def test_the_toggle_plots_likes_at_equal_follower_counts(scatter, core_data):
    from reelscope.desktop.scatter_panel import equal_follower_likes

    raw = scatter.canvas.ys.copy()
    scatter.likes_mode.setCurrentIndex(scatter.likes_mode.findData("equal"))
    adjusted, _ = equal_follower_likes(core_data.likes, core_data.followers)
    expected = np.log10(1 + adjusted)
    assert np.allclose(scatter.canvas.ys, expected, equal_nan=True)
    assert not np.allclose(scatter.canvas.ys, raw, equal_nan=True)
    label = scatter.canvas.getPlotItem().getAxis("left").labelText
    assert "equal follower counts" in label
    scatter.likes_mode.setCurrentIndex(scatter.likes_mode.findData("raw"))
    assert np.allclose(scatter.canvas.ys, raw, equal_nan=True)


def test_a_library_without_a_run_offers_training(window, qtbot, tmp_path):
    from reelscope.core.store.library import Library

    Library.create(tmp_path / "lib").close()
    assert window.open_library(tmp_path / "lib")
    panel = window.show_view("scatter")
    wait_drawn(qtbot, window)
    assert panel.stack.currentWidget() is panel.empty
    assert "No training run yet" in panel.empty.label.text()
    panel.empty.button.click()
    assert window.current_panel().name == "training"


def test_an_unanalysed_run_says_so_with_core_note(window, qtbot, tmp_path):
    from test_cli_analytics import build_library

    build_library(tmp_path / "lib", n=30).close()
    assert window.open_library(tmp_path / "lib")
    panel = window.show_view("scatter")
    wait_drawn(qtbot, window)
    assert panel.stack.currentWidget() is panel.empty
    text = panel.empty.label.text()
    assert text.startswith("Not analysed yet")
    assert "reelscope analyze --run run-a" in text
    assert panel.empty.button.text() == "Analyse now"


def test_follower_colours_are_decades_with_a_legend(scatter, core_data):
    scatter.colour_by.setCurrentIndex(scatter.colour_by.findData("followers"))
    labels = [scatter.legend.item(i).text() for i in range(scatter.legend.count())]
    decades = np.floor(np.log10(core_data.followers[plotted(core_data)])).astype(int)
    assert len(labels) == len(np.unique(decades))
    assert all(label.split(" (")[0].endswith("followers") for label in labels)
    assert sum(int(label.rsplit("(", 1)[1].rstrip(")").replace(",", "")) for label in labels) == \
        plotted(core_data).sum()
