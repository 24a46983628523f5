"""The Videos view shows what core's paged query returns: order, filters, totals, and the
selected video's detail — with user text shown literally."""

from __future__ import annotations

from PySide6.QtCore import Qt

from conftest import wait_drawn

from reelscope.core import query as q
from reelscope.core.store.library import Library


def _panel(window, qtbot):
    panel = window.show_view("library")
    wait_drawn(qtbot, window)
    return panel


def _ids(panel, n):
    return [panel.model.row_at(i).id for i in range(n)]


def test_the_table_pages_through_the_query_in_its_order(opened, qtbot, synthetic_library):
    panel = _panel(opened, qtbot)
    with Library.open(synthetic_library, read_only=True) as lib:
        page = q.video_page(lib, limit=300)
    assert panel.model.rowCount() == page.total == 120
    assert _ids(panel, 50) == [r.id for r in page.rows[:50]]  # likes, most first
    assert panel.model.row_at(250 % 120) is not None
    panel.table.sortByColumn(7, Qt.SortOrder.AscendingOrder)  # originality, least first
    wait_drawn(qtbot, opened)
    with Library.open(synthetic_library, read_only=True) as lib:
        by_orig = q.video_page(lib, sort="originality", descending=False, limit=20)
    assert _ids(panel, 20) == [r.id for r in by_orig.rows]
    assert "120 videos" in panel.count_label.text()


def test_filters_narrow_the_table_as_the_query_does(opened, qtbot, synthetic_library):
    panel = _panel(opened, qtbot)
    panel.hashtag.setText("#topic1")
    panel.orig_min.setValue(40)
    qtbot.waitUntil(lambda: panel.model.query.filters.get("hashtag") == "#topic1"
                    and panel.model.query.filters.get("originality_min") == 40, timeout=5000)
    wait_drawn(qtbot, opened)
    with Library.open(synthetic_library, read_only=True) as lib:
        page = q.video_page(lib, hashtag="topic1", originality_min=40, limit=200)
    assert 0 < page.total < 120
    assert panel.model.rowCount() == page.total
    assert set(_ids(panel, page.total)) == {r.id for r in page.rows}
    assert "match the filters" in panel.count_label.text()
    panel.clear_filters()
    wait_drawn(qtbot, opened)
    assert panel.model.rowCount() == 120


def test_an_author_chosen_elsewhere_filters_the_table(opened, qtbot):
    opened.show_view("authors")
    opened.session.filter_requested.emit({"author": "a3"})
    assert opened.current_panel().name == "library"
    panel = opened.current_panel()
    wait_drawn(qtbot, opened)
    rows = [panel.model.row_at(i) for i in range(panel.model.rowCount())]
    assert rows and all(r.author_id == "a3" for r in rows)


def test_selecting_a_video_shows_its_detail_with_text_as_plain_text(opened, qtbot, synthetic_library):
    panel = _panel(opened, qtbot)
    opened.session.select("v000")  # its caption is an HTML/script payload
    qtbot.waitUntil(lambda: panel.detail.detail is not None and panel.detail.detail.id == "v000", timeout=10_000)
    wait_drawn(qtbot, opened)
    with Library.open(synthetic_library, read_only=True) as lib:
        detail = q.video_detail(lib, "v000", k=12)
    assert detail.description and "<" in detail.description
    assert panel.detail.caption.textFormat() == Qt.TextFormat.PlainText
    assert panel.detail.caption.text().startswith(detail.description)
    assert panel.detail.forecast.text() == detail.forecast.explanation
    assert panel.detail.similar.ids() == [n.id for n in detail.similar]
    assert panel.detail.title.text() == "v000"


def test_the_date_filter_starts_at_the_librarys_own_dates(opened, qtbot, synthetic_library):
    """Not "a year ago to today": the demo's posts are from 2023, and a date box far from
    them would make the first use of the filter hide everything."""
    from datetime import datetime, timezone

    panel = _panel(opened, qtbot)
    with Library.open(synthetic_library, read_only=True) as lib:
        first, last = q.posted_range(lib)
    day = lambda t: datetime.fromtimestamp(t, tz=timezone.utc).date()  # noqa: E731
    assert panel.date_from.date().toPython() == day(first)
    assert panel.date_to.date().toPython() == day(last)
    panel.use_dates.setChecked(True)  # the whole span: nothing is filtered out
    qtbot.waitUntil(lambda: panel.model.query.filters.get("posted_from") is not None, timeout=5000)
    wait_drawn(qtbot, opened)
    assert panel.model.rowCount() == 120
