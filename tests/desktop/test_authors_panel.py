"""The Authors view shows core's author_table as it is, sorts numbers as numbers, filters
by handle, and a double-click (not a single click) opens the author's videos."""

from __future__ import annotations

from PySide6.QtCore import Qt

from conftest import wait_drawn

from reelscope.core.query import author_table
from reelscope.desktop.widgets import likes_text


def shown(panel, column: int) -> list[str]:
    return [panel.proxy.index(r, column).data() for r in range(panel.proxy.rowCount())]


def open_authors(opened, qtbot):
    panel = opened.show_view("authors")
    wait_drawn(qtbot, opened)
    qtbot.waitUntil(lambda: panel.proxy.rowCount() > 0)
    return panel


def test_table_shows_author_table_values(opened, qtbot):
    panel = open_authors(opened, qtbot)
    rows = author_table(opened.session.library, opened.session.run_id)
    assert len(rows) == 15 and panel.proxy.rowCount() == len(rows)
    # most videos first, as core orders them (ties keep core's order)
    assert shown(panel, 0) == [r.handle for r in rows]
    assert shown(panel, 2) == [str(r.videos) for r in rows]
    assert shown(panel, 3) == [likes_text(r.median_likes) for r in rows]
    assert shown(panel, 4) == [f"{r.reach_adjusted_likes:.1f}" for r in rows]
    assert shown(panel, 5) == [f"{r.mean_originality:.0f}" for r in rows]
    assert shown(panel, 6) == [str(r.sounds_used) for r in rows]
    assert panel.count_label.text() == "15 authors"


def test_sorts_numbers_as_numbers_and_filters(opened, qtbot):
    panel = open_authors(opened, qtbot)
    rows = {r.handle: r for r in author_table(opened.session.library)}
    panel.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)  # followers: "27.9k" > "4,586"
    followers = [rows[h].followers for h in shown(panel, 0)]
    assert followers == sorted(followers)
    panel.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    reach = [rows[h].reach_adjusted_likes for h in shown(panel, 0)]
    assert reach == sorted(reach, reverse=True)

    qtbot.keyClicks(panel.filter, "@USER1")
    assert sorted(shown(panel, 0)) == sorted(h for h in rows if "user1" in h)
    assert panel.count_label.text() == f"{panel.proxy.rowCount()} of 15 authors"


def test_double_click_shows_the_authors_videos(opened, qtbot):
    panel = open_authors(opened, qtbot)
    requests: list[dict] = []
    opened.session.filter_requested.connect(requests.append)
    index = panel.proxy.index(2, 0)
    rect = panel.table.visualRect(index)
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert requests == []  # a single click only selects
    assert panel.show_videos.isEnabled()
    wanted = author_table(opened.session.library)[2].author_id

    with qtbot.waitSignal(opened.session.filter_requested) as signal:
        qtbot.mouseDClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert signal.args == [{"author": wanted}]
    assert opened.current_panel().name == "library"

    opened.show_view("authors")
    with qtbot.waitSignal(opened.session.filter_requested) as signal:
        panel.show_videos.click()
    assert signal.args == [{"author": wanted}]
