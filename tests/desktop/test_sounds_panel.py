"""The Sounds & trends view shows the stored sound analysis as core left it: one row per
reused sound with its numbers, the selected sound's videos, the mislabelled posts, and
titles from metadata shown literally."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import wait_drawn


@pytest.fixture
def sounds(opened, qtbot):
    panel = opened.show_view("sounds")
    wait_drawn(qtbot, opened)
    from reelscope.core.analytics.analyze import load_analysis

    analysis = load_analysis(opened.session.library, opened.session.run_id)
    return panel, analysis


def _row_of(panel, cluster: int) -> int:
    from PySide6.QtCore import Qt

    return next(r for r in range(panel.table.rowCount())
                if panel.table.item(r, 0).data(Qt.ItemDataRole.UserRole) == cluster)


def test_one_row_per_reused_sound_with_core_numbers(sounds):
    from reelscope.desktop.sounds_panel import display_names, growth_text
    from reelscope.desktop.widgets import format_date, likes_text

    panel, analysis = sounds
    result = analysis.result.sounds
    assert result.error is None and result.trends
    assert panel.stack.currentIndex() == 1
    assert panel.table.rowCount() == len(result.trends)
    for t in result.trends:
        row = _row_of(panel, t.cluster)
        shown = [panel.table.item(row, c).text() for c in range(6)]
        assert shown == [display_names(result.trends)[t.cluster], f"{t.n_videos:,}", growth_text(t.growth), format_date(t.first_use),
                         format_date(t.last_use), likes_text(t.median_likes)]
    # the most used sound comes first
    uses = [int(panel.table.item(r, 1).text().replace(",", "")) for r in range(panel.table.rowCount())]
    assert uses == sorted(uses, reverse=True)
    assert f"{result.reused_clusters:,} sound" in panel.summary.text()
    assert f"by {result.videos_reusing_a_sound:,} videos" in panel.summary.text()


def test_mislabelled_posts_listed_with_their_reason(sounds):
    """The synthetic library's metadata agrees with its audio, so two mislabelled posts
    are planted in the stored result the view is given."""
    from reelscope.core.analytics.results import SoundMismatch
    from reelscope.desktop.sounds_panel import SoundsData, display_names, mismatch_videos
    from reelscope.desktop.widgets import plain_tooltip

    panel, analysis = sounds
    result = analysis.result.sounds
    trend = result.trends[0]
    planted = [SoundMismatch(trend.video_ids[0], 0, trend.cluster, "s-own", trend.sound_id, True,
                             "metadata says original sound, but the audio matches 3 other video(s)"),
               SoundMismatch(trend.video_ids[1], 1, trend.cluster, "s-other", trend.sound_id, False,
                             "metadata names sound s-other, but the audio matches sound x")]
    library = panel.session.library
    panel.session.wait_idle()
    panel._on_loaded(SoundsData(result=replace(result, mismatches=planted, metadata_mismatches=2,
                                               mislabelled_original=1),
                                members={t.cluster: list(t.video_ids) for t in result.trends},
                                videos=mismatch_videos(library, planted)))
    assert panel.mismatches.rowCount() == 2
    rows = {panel.mismatches.item(r, 4).toolTip(): r for r in range(2)}
    assert set(rows) == {plain_tooltip(m.reason) for m in planted}  # core's reason in the tooltip
    first = rows[plain_tooltip(planted[0].reason)]
    name = display_names(result.trends)[trend.cluster]
    assert panel.mismatches.item(first, 2).text() == "original sound"
    assert panel.mismatches.item(first, 3).text() == name
    assert panel.mismatches.item(first, 4).text() == (  # the why in the sounds' names, not their ids
        f"Its metadata says original sound, but the audio is {name}, heard in {trend.n_videos - 1} other videos")
    video = library.get(planted[0].id)
    assert panel.mismatches.item(first, 1).text() == (video.author.unique_id or video.author.id)
    assert "2 posts name a different sound than the audio, 1 calling a reused sound 'original'" \
        in panel.summary.text()


def test_selecting_a_sound_fills_the_gallery_with_its_videos(sounds, qtbot):
    import numpy as np

    panel, analysis = sounds
    labels, ids = analysis.scores["sound_cluster"], analysis.scores["ids"]
    for t in analysis.result.sounds.trends[:3]:
        panel.table.selectRow(_row_of(panel, t.cluster))
        qtbot.waitUntil(lambda: not panel.busy() and panel.gallery.count() == t.n_videos, timeout=10_000)
        shown = panel.gallery.ids()
        assert shown[:len(t.video_ids)] == list(t.video_ids)  # oldest first, as core lists them
        assert set(shown) == {str(ids[i]) for i in np.flatnonzero(labels == t.cluster)}
        from reelscope.desktop.sounds_panel import display_names

        assert panel.gallery_title.text().startswith(display_names(analysis.result.sounds.trends)[t.cluster] + ":")
    with qtbot.waitSignal(panel.session.gallery_requested, timeout=2000) as sig:
        panel.open_button.click()
    assert sig.args[1] == panel.gallery.ids()


def test_titles_with_markup_are_shown_literally(sounds, qtbot):
    from reelscope.desktop.sounds_panel import SoundsData

    panel, analysis = sounds
    result = analysis.result.sounds
    first = replace(result.trends[0], title="<b>x</b>")
    data = SoundsData(result=replace(result, trends=[first] + list(result.trends[1:])),
                      members={first.cluster: list(first.video_ids)})
    panel._on_loaded(data)
    row = _row_of(panel, first.cluster)
    assert panel.table.item(row, 0).text() == "<b>x</b>"
    panel.table.selectRow(row)
    assert panel.gallery_title.text().startswith("<b>x</b>:")
    from PySide6.QtCore import Qt

    assert panel.gallery_title.textFormat() == Qt.TextFormat.PlainText


def test_a_failed_clustering_is_said_in_plain_words(sounds):
    from reelscope.core.analytics.results import SoundResult
    from reelscope.desktop.sounds_panel import SoundsData

    panel, _ = sounds
    panel._on_loaded(SoundsData(result=SoundResult(error="sound clustering failed: no videos to cluster")))
    assert panel.stack.currentIndex() == 0
    assert "sound clustering failed: no videos to cluster" in panel.empty.label.text()
    panel._on_loaded(SoundsData(note="no run", has_run=False))
    assert panel.empty.label.text().startswith("No training run yet")
    assert panel.empty.button.text() == "Train now"


def test_groups_sharing_a_title_are_told_apart():
    from types import SimpleNamespace

    from reelscope.desktop.sounds_panel import display_names

    trends = [SimpleNamespace(cluster=c, title=t, sound_id=s, n_videos=n) for c, t, s, n in
              ((0, "Wild Shuffle", "s1", 9), (3, "Wild Shuffle", "s1", 4), (4, None, "s9", 3),
               (5, "Sugar Glow", "s2", 3), (6, None, None, 2), (7, None, None, 2))]
    assert display_names(trends) == {0: "Wild Shuffle #0", 3: "Wild Shuffle #3", 4: "Unnamed sound (3 videos)",
                                     5: "Sugar Glow", 6: "Unnamed sound (2 videos) #6",
                                     7: "Unnamed sound (2 videos) #7"}


def test_each_sound_is_named_by_its_title_and_an_untitled_one_by_its_size(sounds):
    """The synthetic library's six sounds are titled "Song 0".."Song 5" in every post."""
    from reelscope.desktop.sounds_panel import SoundsData

    panel, analysis = sounds
    result = analysis.result.sounds
    shown = {panel.table.item(r, 0).text() for r in range(panel.table.rowCount())}
    assert shown == {t.title for t in result.trends} and all(t.startswith("Song ") for t in shown)
    untitled = replace(result.trends[0], title=None)
    panel._on_loaded(SoundsData(result=replace(result, trends=[untitled] + list(result.trends[1:])),
                                members={untitled.cluster: list(untitled.video_ids)}))
    row = _row_of(panel, untitled.cluster)
    assert panel.table.item(row, 0).text() == f"Unnamed sound ({untitled.n_videos} videos)"
    panel.table.selectRow(row)
    assert panel.gallery_title.text().startswith(f"Unnamed sound ({untitled.n_videos} videos):")
